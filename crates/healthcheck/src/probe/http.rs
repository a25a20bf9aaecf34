//! A small non-blocking HTTP/1.1 GET client.
//!
//! Request: `GET <path> HTTP/1.1`, `Host`, `Connection: close`. Response:
//! the status line (RFC 9112 §4) is parsed as soon as the header section is
//! complete; the body is read only when a substring must be found, until the
//! end given by Content-Length, the last chunk of a chunked body (RFC 9112
//! §7.1), or the connection close, and never past `max_response` bytes.

use std::io::{self, Read, Write};
use std::net::SocketAddr;

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};

use super::tcp::{connect, connect_state};
use super::{Detail, OsFailure, Step};
use crate::spec::HttpSpec;
use crate::state::Outcome;

enum Phase {
    Connecting,
    Writing(usize),
    Reading,
}

/// An HTTP check in progress.
pub(crate) struct HttpProbe {
    pub(crate) stream: TcpStream,
    phase: Phase,
    request: Vec<u8>,
    response: Vec<u8>,
    max: usize,
    expect: Vec<u16>,
    needle: Option<Vec<u8>>,
}

/// The Host header value for `addr` (RFC 9110 §7.2: host and port).
fn default_host(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) => format!("{}:{}", a.ip(), a.port()),
        SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
    }
}

impl HttpProbe {
    pub(crate) fn start(
        spec: &HttpSpec,
        registry: &Registry,
        token: Token,
    ) -> Result<Self, (Outcome, Detail)> {
        let stream = connect(
            spec.addr,
            registry,
            token,
            Interest::READABLE | Interest::WRITABLE,
        )?;
        let host = spec.host.clone().unwrap_or_else(|| default_host(spec.addr));
        let request = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nUser-Agent: vrrpd-healthcheck\r\nAccept: */*\r\n\r\n",
            spec.path, host
        )
        .into_bytes();
        Ok(Self {
            stream,
            phase: Phase::Connecting,
            request,
            response: Vec::with_capacity(1024),
            max: spec.max_response.max(64),
            expect: spec.expect_status.clone(),
            needle: spec.body_contains.clone(),
        })
    }

    fn os(op: &'static str, e: &io::Error) -> Step {
        Step::Done(Outcome::Failure, Detail::Os(OsFailure::new(op, e)))
    }

    pub(crate) fn on_ready(&mut self) -> Step {
        loop {
            match self.phase {
                Phase::Connecting => match connect_state(&self.stream) {
                    Ok(true) => self.phase = Phase::Writing(0),
                    Ok(false) => return Step::Pending,
                    Err(e) => return Self::os("connect", &e),
                },
                Phase::Writing(off) => match self.stream.write(&self.request[off..]) {
                    Ok(0) => return Self::os("send", &io::Error::from(io::ErrorKind::WriteZero)),
                    Ok(n) if off + n >= self.request.len() => self.phase = Phase::Reading,
                    Ok(n) => self.phase = Phase::Writing(off + n),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Step::Pending,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Self::os("send", &e),
                },
                Phase::Reading => {
                    let mut chunk = [0u8; 4096];
                    let room = self.max - self.response.len();
                    let want = room.min(chunk.len());
                    match self.stream.read(&mut chunk[..want]) {
                        Ok(0) => return self.finish(true),
                        Ok(n) => {
                            self.response.extend_from_slice(&chunk[..n]);
                            if self.response.len() >= self.max {
                                return self.finish(true);
                            }
                            if let Some(step) = self.try_finish() {
                                return step;
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Step::Pending,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Self::os("recv", &e),
                    }
                }
            }
        }
    }

    /// Finishes early if what has been read is enough.
    fn try_finish(&self) -> Option<Step> {
        let head = parse_head(&self.response)?;
        match head {
            Err(why) => Some(Step::Done(Outcome::Failure, Detail::HttpMalformed(why))),
            Ok(h) => {
                if self.needle.is_none() {
                    return Some(self.verdict(h.status, None));
                }
                let body = &self.response[h.body_start..];
                let complete = match h.framing {
                    Framing::Length(n) => body.len() >= n,
                    Framing::Chunked => decode_chunked(body).1,
                    Framing::UntilClose => false,
                };
                complete.then(|| self.finish(false))
            }
        }
    }

    /// Evaluates the response read so far (at EOF, at the cap, or when complete).
    fn finish(&self, eof: bool) -> Step {
        match parse_head(&self.response) {
            None if eof => Step::Done(
                Outcome::Failure,
                Detail::HttpMalformed("connection closed before the end of the header section"),
            ),
            None => Step::Pending,
            Some(Err(why)) => Step::Done(Outcome::Failure, Detail::HttpMalformed(why)),
            Some(Ok(h)) => {
                let matched = self.needle.as_ref().map(|needle| {
                    let raw = &self.response[h.body_start..];
                    let body: std::borrow::Cow<'_, [u8]> = match h.framing {
                        Framing::Chunked => decode_chunked(raw).0.into(),
                        Framing::Length(n) => raw[..n.min(raw.len())].into(),
                        Framing::UntilClose => raw.into(),
                    };
                    contains(&body, needle)
                });
                self.verdict(h.status, matched)
            }
        }
    }

    fn verdict(&self, status: u16, body_matched: Option<bool>) -> Step {
        let status_ok = if self.expect.is_empty() {
            (200..=299).contains(&status)
        } else {
            self.expect.contains(&status)
        };
        let ok = status_ok && body_matched.unwrap_or(true);
        Step::Done(
            if ok {
                Outcome::Success
            } else {
                Outcome::Failure
            },
            Detail::HttpStatus {
                status,
                body_matched,
            },
        )
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

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

/// Decodes a chunked body (RFC 9112 §7.1) as far as it is available; the
/// flag tells whether the last (zero-size) chunk was seen.
fn decode_chunked(mut raw: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    loop {
        let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") else {
            return (out, false);
        };
        let size_field = raw[..eol].split(|&b| b == b';').next().unwrap_or_default();
        let Some(size) = std::str::from_utf8(trim(size_field))
            .ok()
            .and_then(|s| usize::from_str_radix(s, 16).ok())
        else {
            return (out, false);
        };
        raw = &raw[eol + 2..];
        if size == 0 {
            return (out, true);
        }
        let take = size.min(raw.len());
        out.extend_from_slice(&raw[..take]);
        if raw.len() < size + 2 {
            return (out, false);
        }
        raw = &raw[size + 2..];
    }
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn chunked() {
        assert_eq!(
            decode_chunked(b"5\r\nhello\r\n6;x=y\r\n world\r\n0\r\n\r\n"),
            (b"hello world".to_vec(), true)
        );
        assert_eq!(decode_chunked(b"5\r\nhel"), (b"hel".to_vec(), false));
        assert_eq!(decode_chunked(b"zz\r\n"), (Vec::new(), false));
    }

    #[test]
    fn substring() {
        assert!(contains(b"abc", b""));
        assert!(contains(b"xxhealthyxx", b"healthy"));
        assert!(!contains(b"heal", b"healthy"));
    }
}
