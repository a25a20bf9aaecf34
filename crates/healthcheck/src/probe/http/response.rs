//! The response side of an HTTP check, independent of the transport (TCP
//! or TLS): the bytes are fed as they arrive, and the verdict comes as soon
//! as it is known.
//!
//! The status line and headers (RFC 9112 §4, §5) are kept until the header
//! section is complete. The body is read only when something is computed
//! over it (the substring, the MD5), until the end given by Content-Length,
//! the last chunk of a chunked body (RFC 9112 §7.1), or the connection
//! close. It is decoded as it streams: the MD5 covers a body of any length
//! without keeping it; only the substring search keeps up to `max` bytes.

use md5::{Digest, Md5};

use super::super::{BodyDigest, Detail, Step};
use crate::spec::HttpSpec;
use crate::state::Outcome;

/// The longest line a chunked body may hold while it is being decoded
/// (a chunk-size line or a trailer field).
const MAX_CHUNK_LINE: usize = 8 * 1024;

/// How the end of the body is found (RFC 9112 §6.3).
#[derive(Debug, PartialEq, Eq)]
enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

#[derive(Debug, PartialEq, Eq)]
struct Head {
    status: u16,
    body_start: usize,
    framing: Framing,
}

/// Where a body being read stands.
enum Body {
    /// Content-Length: this many bytes are still to come.
    Length(usize),
    /// Chunked: the decoder, and the undecoded tail of what was read.
    Chunked(Chunked, Vec<u8>),
    /// Until the server closes the connection.
    UntilClose,
}

/// The response of one HTTP check, fed as it arrives.
pub(super) struct Response {
    /// The header section until it is complete.
    head_buf: Vec<u8>,
    /// The status and the body's state, once the header section is read.
    body: Option<(u16, Body)>,
    /// Cap on the header section and on the body kept for `needle`.
    max: usize,
    expect: Vec<u16>,
    needle: Option<Vec<u8>>,
    /// The body's beginning, kept for the substring search.
    kept: Vec<u8>,
    expect_md5: Option<[u8; 16]>,
    md5: Option<Md5>,
}

impl Response {
    pub(super) fn new(spec: &HttpSpec) -> Self {
        Self {
            head_buf: Vec::with_capacity(1024),
            body: None,
            max: spec.max_response.max(64),
            expect: spec.expect_status.clone(),
            needle: spec.body_contains.clone(),
            kept: Vec::new(),
            expect_md5: spec.body_md5,
            md5: spec.body_md5.map(|_| Md5::new()),
        }
    }

    fn status_ok(&self, status: u16) -> bool {
        if self.expect.is_empty() {
            (200..=299).contains(&status)
        } else {
            self.expect.contains(&status)
        }
    }

    /// Takes the next bytes of the response; `Some` once the verdict is known.
    pub(super) fn feed(&mut self, data: &[u8]) -> Option<Step> {
        if self.body.is_none() {
            self.head_buf.extend_from_slice(data);
            let head = match parse_head(&self.head_buf) {
                None if self.head_buf.len() > self.max => {
                    return Some(malformed("the header section is longer than max_response"));
                }
                None => return None,
                Some(Err(why)) => return Some(malformed(why)),
                Some(Ok(h)) => h,
            };
            // keepalived checks the status first: a wrong one fails
            // whatever the body holds, so the body is not read.
            if !self.status_ok(head.status) || (self.needle.is_none() && self.md5.is_none()) {
                return Some(self.verdict(head.status));
            }
            let body = match head.framing {
                Framing::Length(n) => Body::Length(n),
                Framing::Chunked => Body::Chunked(Chunked::Size, Vec::new()),
                Framing::UntilClose => Body::UntilClose,
            };
            self.body = Some((head.status, body));
            let rest = self.head_buf.split_off(head.body_start);
            self.head_buf = Vec::new();
            return self.body_bytes(&rest);
        }
        self.body_bytes(data)
    }

    /// The connection ended (closed, or TLS close_notify): the verdict on
    /// what was read. A body cut short is judged as it is (its MD5 will not
    /// match), as keepalived does.
    pub(super) fn eof(&mut self) -> Step {
        match &self.body {
            None => malformed("connection closed before the end of the header section"),
            Some((status, _)) => self.verdict(*status),
        }
    }

    fn body_bytes(&mut self, data: &[u8]) -> Option<Step> {
        let (status, body) = self.body.as_mut()?;
        let status = *status;
        let (md5, kept, max) = (&mut self.md5, &mut self.kept, self.max);
        let needle = self.needle.is_some();
        let mut sink = |bytes: &[u8]| {
            if let Some(h) = md5.as_mut() {
                h.update(bytes);
            }
            if needle {
                let room = max.saturating_sub(kept.len());
                kept.extend_from_slice(&bytes[..room.min(bytes.len())]);
            }
        };
        let complete = match body {
            Body::Length(left) => {
                let take = (*left).min(data.len());
                sink(&data[..take]);
                *left -= take;
                *left == 0
            }
            Body::UntilClose => {
                sink(data);
                false
            }
            // INTEROP: keepalived digests the bytes after the header
            // section as they come; it asks in HTTP/1.0 by default, so they
            // are never chunked. This client asks in HTTP/1.1 and digests
            // the decoded chunks: the same body, so the same MD5 as
            // keepalived's `genhash` gives.
            Body::Chunked(decoder, pending) => {
                pending.extend_from_slice(data);
                match decoder.decode(pending, &mut sink) {
                    Err(why) => return Some(malformed(why)),
                    Ok(used) => {
                        pending.drain(..used);
                    }
                }
                if pending.len() > MAX_CHUNK_LINE {
                    return Some(malformed("a chunk-size or trailer line is too long"));
                }
                *decoder == Chunked::Done
            }
        };
        // Only a substring is looked for: the kept beginning is all it needs.
        let enough = self.md5.is_none() && self.kept.len() >= self.max;
        (complete || enough).then(|| self.verdict(status))
    }

    /// The verdict: status accepted, then the substring, then the MD5
    /// (keepalived 2.x: `status_code`, default 200-299, and `digest` must
    /// both hold).
    fn verdict(&mut self, status: u16) -> Step {
        let status_ok = self.status_ok(status);
        let read_body = status_ok && self.body.is_some();
        let body_matched = self
            .needle
            .as_ref()
            .filter(|_| read_body)
            .map(|n| contains(&self.kept, n));
        let digest = match (self.md5.take(), self.expect_md5) {
            (Some(h), Some(want)) if read_body => {
                let md5: [u8; 16] = h.finalize().into();
                Some(BodyDigest {
                    md5,
                    matched: md5 == want,
                })
            }
            _ => None,
        };
        let ok =
            status_ok && body_matched.unwrap_or(true) && digest.as_ref().is_none_or(|d| d.matched);
        Step::Done(
            if ok {
                Outcome::Success
            } else {
                Outcome::Failure
            },
            Detail::HttpStatus {
                status,
                body_matched,
                digest,
            },
        )
    }
}

fn malformed(why: &'static str) -> Step {
    Step::Done(Outcome::Failure, Detail::HttpMalformed(why))
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

/// Parses the status line and headers. `None`: the header section is not
/// complete yet. Interim 1xx responses are not expected for a GET without
/// `Expect` and are reported as the status.
fn parse_head(buf: &[u8]) -> Option<Result<Head, &'static str>> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = &buf[..end];
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let status_line = lines.next().unwrap_or_default();
    // RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ]
    let Some(rest) = status_line.strip_prefix(b"HTTP/1.") else {
        return Some(Err("status line does not start with HTTP/1.x"));
    };
    if rest.len() < 5 || !rest[0].is_ascii_digit() || rest[1] != b' ' {
        return Some(Err("bad HTTP version or missing space"));
    }
    let code = &rest[2..5];
    if !code.iter().all(u8::is_ascii_digit) || rest.get(5).is_some_and(|&b| b != b' ') {
        return Some(Err("status code is not three digits"));
    }
    let status = code
        .iter()
        .fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0'));
    if !(100..=599).contains(&status) {
        return Some(Err("status code out of range"));
    }
    let mut framing = Framing::UntilClose;
    for line in lines {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return Some(Err("header line without ':'"));
        };
        let name = &line[..colon];
        let value = trim(&line[colon + 1..]);
        if name.eq_ignore_ascii_case(b"transfer-encoding") {
            // RFC 9112 §6.3: chunked as the final coding wins over Content-Length.
            if value.len() >= 7 && value[value.len() - 7..].eq_ignore_ascii_case(b"chunked") {
                framing = Framing::Chunked;
            }
        } else if name.eq_ignore_ascii_case(b"content-length") && framing != Framing::Chunked {
            let Some(n) = std::str::from_utf8(value).ok().and_then(|s| s.parse().ok()) else {
                return Some(Err("bad Content-Length"));
            };
            framing = Framing::Length(n);
        }
    }
    Some(Ok(Head {
        status,
        body_start: end + 4,
        framing,
    }))
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// An incremental decoder of the chunked transfer coding (RFC 9112 §7.1):
/// `chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF`, ended by a
/// zero-size chunk, trailer fields and an empty line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunked {
    /// Before a chunk-size line.
    Size,
    /// Inside chunk-data: this many bytes are left.
    Data(usize),
    /// After chunk-data: the CRLF that closes it.
    DataEnd,
    /// After the last chunk: trailer fields until an empty line.
    Trailer,
    /// The body is complete.
    Done,
}

impl Chunked {
    /// Decodes what it can of `input`, passing chunk data to `out`, and
    /// returns how many bytes it used; the rest (part of a line) is to be
    /// given again with what follows.
    fn decode(&mut self, input: &[u8], out: &mut impl FnMut(&[u8])) -> Result<usize, &'static str> {
        let mut pos = 0;
        loop {
            let rest = &input[pos..];
            match *self {
                Chunked::Done => return Ok(pos),
                Chunked::Size => {
                    let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else {
                        return Ok(pos);
                    };
                    let field = rest[..eol].split(|&b| b == b';').next().unwrap_or_default();
                    let field = trim(field);
                    if field.is_empty() || !field.iter().all(u8::is_ascii_hexdigit) {
                        return Err("bad chunk size");
                    }
                    let size = std::str::from_utf8(field)
                        .ok()
                        .and_then(|s| usize::from_str_radix(s, 16).ok())
                        .ok_or("chunk size too large")?;
                    pos += eol + 2;
                    *self = if size == 0 {
                        Chunked::Trailer
                    } else {
                        Chunked::Data(size)
                    };
                }
                Chunked::Data(left) => {
                    if rest.is_empty() {
                        return Ok(pos);
                    }
                    let take = left.min(rest.len());
                    out(&rest[..take]);
                    pos += take;
                    *self = if take == left {
                        Chunked::DataEnd
                    } else {
                        Chunked::Data(left - take)
                    };
                }
                Chunked::DataEnd => {
                    if rest.len() < 2 {
                        return Ok(pos);
                    }
                    if &rest[..2] != b"\r\n" {
                        return Err("chunk data is not followed by CRLF");
                    }
                    pos += 2;
                    *self = Chunked::Size;
                }
                Chunked::Trailer => {
                    let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else {
                        return Ok(pos);
                    };
                    pos += eol + 2;
                    if eol == 0 {
                        *self = Chunked::Done;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;

    #[test]
    fn head_parsing() {
        assert_eq!(parse_head(b"HTTP/1.1 200 OK\r\n"), None);
        let h = parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
            .unwrap()
            .unwrap();
        assert_eq!(
            h,
            Head {
                status: 200,
                body_start: 38,
                framing: Framing::Length(5)
            }
        );
        let h = parse_head(b"HTTP/1.0 503\r\n\r\n").unwrap().unwrap();
        assert_eq!((h.status, h.framing), (503, Framing::UntilClose));
        let h = parse_head(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\ncontent-length: 3\r\n\r\n",
        )
        .unwrap()
        .unwrap();
        assert_eq!(h.framing, Framing::Chunked);
        assert!(parse_head(b"SSH-2.0-OpenSSH\r\n\r\n").unwrap().is_err());
        assert!(parse_head(b"HTTP/1.1 2000 OK\r\n\r\n").unwrap().is_err());
        assert!(parse_head(b"HTTP/1.1 099 X\r\n\r\n").unwrap().is_err());
        assert!(
            parse_head(b"HTTP/1.1 200 OK\r\nbroken\r\n\r\n")
                .unwrap()
                .is_err()
        );
        assert!(
            parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n")
                .unwrap()
                .is_err()
        );
    }

    /// Decodes `input` handed over in pieces of `step` bytes, as reads would.
    fn dechunk(input: &[u8], step: usize) -> (Vec<u8>, Chunked, Result<(), &'static str>) {
        let mut d = Chunked::Size;
        let mut pending = Vec::new();
        let mut out = Vec::new();
        for piece in input.chunks(step) {
            pending.extend_from_slice(piece);
            match d.decode(&pending, &mut |b: &[u8]| out.extend_from_slice(b)) {
                Ok(n) => {
                    pending.drain(..n);
                }
                Err(e) => return (out, d, Err(e)),
            }
        }
        (out, d, Ok(()))
    }

    #[test]
    fn chunked_in_any_pieces() {
        let body = b"5\r\nhello\r\n6;x=y\r\n world\r\n0\r\nTrailer: 1\r\n\r\n";
        for step in 1..=body.len() {
            let (out, d, r) = dechunk(body, step);
            assert_eq!(
                (out.as_slice(), d, r),
                (&b"hello world"[..], Chunked::Done, Ok(()))
            );
        }
        let (out, d, r) = dechunk(b"5\r\nhel", 2);
        assert_eq!(
            (out.as_slice(), d, r),
            (&b"hel"[..], Chunked::Data(2), Ok(()))
        );
        assert_eq!(dechunk(b"zz\r\n", 4).2, Err("bad chunk size"));
        assert_eq!(dechunk(b"+5\r\nhello\r\n", 64).2, Err("bad chunk size"));
        assert_eq!(
            dechunk(b"2\r\nabX\r\n", 64).2,
            Err("chunk data is not followed by CRLF")
        );
        assert_eq!(
            dechunk(b"fffffffffffffffffffff\r\n", 64).2,
            Err("chunk size too large")
        );
    }

    #[test]
    fn substring() {
        assert!(contains(b"abc", b""));
        assert!(contains(b"xxhealthyxx", b"healthy"));
        assert!(!contains(b"heal", b"healthy"));
    }

    fn spec() -> HttpSpec {
        HttpSpec::new(SocketAddr::from(([127, 0, 0, 1], 80)), "/")
    }

    /// Feeds `raw` in pieces of `step` bytes; `None`: the verdict waits for EOF.
    fn judge(spec: &HttpSpec, raw: &[u8], step: usize) -> Option<(Outcome, Detail)> {
        let mut r = Response::new(spec);
        for piece in raw.chunks(step) {
            if let Some(Step::Done(o, d)) = r.feed(piece) {
                return Some((o, d));
            }
        }
        None
    }

    fn judge_at_eof(spec: &HttpSpec, raw: &[u8]) -> (Outcome, Detail) {
        let mut r = Response::new(spec);
        if let Some(Step::Done(o, d)) = r.feed(raw) {
            return (o, d);
        }
        match r.eof() {
            Step::Done(o, d) => (o, d),
            Step::Pending => panic!("pending at EOF"),
        }
    }

    // `printf 'all healthy' | md5sum`
    const HEALTHY_MD5: [u8; 16] = [
        0xeb, 0x3c, 0x6b, 0x56, 0xb9, 0xc3, 0xaa, 0x46, 0x94, 0x2c, 0x68, 0x98, 0x32, 0x3a, 0xe1,
        0x6a,
    ];

    #[test]
    fn digest_over_every_framing_and_split() {
        let mut s = spec();
        s.body_md5 = Some(HEALTHY_MD5);
        let bodies: [&[u8]; 2] = [
            b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nall healthyEXTRA",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nall\r\n8\r\n healthy\r\n0\r\n\r\n",
        ];
        for raw in bodies {
            for step in [1, 2, 7, raw.len()] {
                let (o, d) = judge(&s, raw, step).unwrap();
                assert_eq!(o, Outcome::Success, "{d}");
                assert_eq!(
                    d,
                    Detail::HttpStatus {
                        status: 200,
                        body_matched: None,
                        digest: Some(BodyDigest {
                            md5: HEALTHY_MD5,
                            matched: true
                        })
                    }
                );
            }
        }
        // Until close: the verdict comes at EOF.
        let raw = b"HTTP/1.0 200 OK\r\n\r\nall healthy";
        assert!(judge(&s, raw, 3).is_none());
        assert_eq!(judge_at_eof(&s, raw).0, Outcome::Success);
        // Another body, or one cut short: the MD5 differs.
        for raw in [
            &b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\ndegraded"[..],
            b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nall heal",
        ] {
            let (o, d) = judge_at_eof(&s, raw);
            assert_eq!(o, Outcome::Failure);
            assert!(
                matches!(
                    d,
                    Detail::HttpStatus {
                        digest: Some(BodyDigest { matched: false, .. }),
                        ..
                    }
                ),
                "{d:?}"
            );
        }
    }

    #[test]
    fn status_comes_before_the_digest() {
        let mut s = spec();
        s.body_md5 = Some(HEALTHY_MD5);
        // The right body with a wrong status fails at the header section.
        let raw = b"HTTP/1.1 500 Oops\r\nContent-Length: 11\r\n\r\nall healthy";
        let (o, d) = judge(&s, raw, raw.len()).unwrap();
        assert_eq!(o, Outcome::Failure);
        assert_eq!(
            d,
            Detail::HttpStatus {
                status: 500,
                body_matched: None,
                digest: None
            }
        );
        // Unless 500 is accepted: then the digest decides.
        s.expect_status = vec![500];
        assert_eq!(judge(&s, raw, 5).unwrap().0, Outcome::Success);
        let raw = b"HTTP/1.1 500 Oops\r\nContent-Length: 3\r\n\r\nbad";
        assert_eq!(judge(&s, raw, 5).unwrap().0, Outcome::Failure);
    }

    #[test]
    fn a_digested_body_has_no_cap() {
        let mut s = spec();
        s.max_response = 64;
        let body = vec![b'x'; 100_000];
        s.body_md5 = Some(Md5::digest(&body).into());
        let mut raw =
            format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
        raw.extend_from_slice(&body);
        let (o, d) = judge(&s, &raw, 4096).unwrap();
        assert_eq!(o, Outcome::Success, "{d}");
        // Without a digest, the substring search reads no further than max.
        s.body_md5 = None;
        s.body_contains = Some(b"y".to_vec());
        let mut r = Response::new(&s);
        let head_len = raw.len() - body.len();
        assert!(r.feed(&raw[..head_len + 10]).is_none());
        assert!(matches!(
            r.feed(&raw[head_len + 10..head_len + 100]),
            Some(Step::Done(
                Outcome::Failure,
                Detail::HttpStatus {
                    body_matched: Some(false),
                    ..
                }
            ))
        ));
    }

    #[test]
    fn no_header_section() {
        let s = spec();
        assert_eq!(
            judge_at_eof(&s, b"HTTP/1.1 200 OK\r\n"),
            (
                Outcome::Failure,
                Detail::HttpMalformed("connection closed before the end of the header section")
            )
        );
        let mut s = spec();
        s.max_response = 64;
        let long = format!("HTTP/1.1 200 OK\r\nX: {}\r\n\r\n", "a".repeat(100));
        assert!(matches!(
            judge(&s, long.as_bytes(), 10),
            Some((Outcome::Failure, Detail::HttpMalformed(_)))
        ));
    }
}
