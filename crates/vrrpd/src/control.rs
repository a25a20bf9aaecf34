//! The control socket: `vrrpd status`, `switchover`, `maintenance` and
//! `reload`.
//!
//! Protocol: one JSON object per line in each direction over a Unix stream
//! socket. A request is `{"cmd": "status"}`, `{"cmd": "switchover",
//! "instance": "VI_1"}` or `{"cmd": "maintenance", "instance": "VI_1", "on":
//! true}` or `{"cmd": "reload"}`; every answer is `{"ok": true, ...}` or
//! `{"ok": false, "error": "..."}`. The socket file is mode 0600 and the
//! server also checks the peer's credentials (`SO_PEERCRED`): only root is
//! served.
//!
//! The server is a mio source set owned by the daemon loop; it never blocks.
//! A connection that sends more than [`MAX_REQUEST`] bytes without a newline,
//! or sends garbage, gets an error answer and is closed; at most
//! [`MAX_CONNECTIONS`] connections are open at once.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use mio::net::{UnixListener, UnixStream};
use mio::{Interest, Registry, Token};
use serde::{Deserialize, Serialize};

/// The longest request line accepted.
pub const MAX_REQUEST: usize = 64 * 1024;
/// Connections served at once; more are refused.
pub const MAX_CONNECTIONS: usize = 16;

/// A request from `vrrpd status` and friends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "lowercase", deny_unknown_fields)]
pub enum Request {
    /// Every instance's state.
    Status,
    /// Hand mastership of an instance to the best backup now.
    Switchover {
        /// Instance name.
        instance: String,
    },
    /// Turn maintenance mode of an instance on or off.
    Maintenance {
        /// Instance name.
        instance: String,
        /// On or off.
        on: bool,
    },
    /// Re-read the configuration file and apply it (`vrrpd reload`); the
    /// answer says what changed, or why the file was refused (the running
    /// configuration is then kept).
    Reload,
}

/// The answer to a [`Request`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// Whether the request was carried out.
    pub ok: bool,
    /// Why not, when `ok` is false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The answer's data (for `status`: `{"instances": [...]}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

impl Response {
    /// A successful answer with `data`.
    pub fn ok(data: Option<serde_json::Value>) -> Self {
        Response {
            ok: true,
            error: None,
            data,
        }
    }

    /// A refusal with its reason.
    pub fn error(why: impl Into<String>) -> Self {
        Response {
            ok: false,
            error: Some(why.into()),
            data: None,
        }
    }
}

/// Identifies one client connection of a [`ControlServer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConnId(Token);

struct Conn {
    stream: UnixStream,
    inbuf: Vec<u8>,
    outbuf: Vec<u8>,
    /// Close once `outbuf` is flushed.
    closing: bool,
}

/// Counters of the control socket, for `status` and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ControlStats {
    /// Requests answered.
    pub requests: u64,
    /// Requests rejected as malformed or too long.
    pub bad_requests: u64,
    /// Connections refused (not root, or too many).
    pub refused: u64,
}

/// The listening control socket and its connections.
pub struct ControlServer {
    path: PathBuf,
    listener: UnixListener,
    listener_token: Token,
    next_token: usize,
    token_base: usize,
    conns: HashMap<Token, Conn>,
    allowed_uid: u32,
    /// Counters.
    pub stats: ControlStats,
}

impl ControlServer {
    /// Binds `path` (replacing a stale socket file, never another kind of
    /// file), sets it to mode 0600 and registers it. Tokens from
    /// `token_base` to `token_base + 1 + MAX_CONNECTIONS * 4` are used.
    pub fn bind(path: &Path, registry: &Registry, token_base: usize) -> io::Result<Self> {
        Self::bind_for_uid(path, registry, token_base, 0)
    }

    /// As [`ControlServer::bind`], serving peers with `uid` (tests use their
    /// own uid; the daemon always uses 0).
    pub fn bind_for_uid(
        path: &Path,
        registry: &Registry,
        token_base: usize,
        uid: u32,
    ) -> io::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        match std::fs::symlink_metadata(path) {
            Ok(meta) => {
                use std::os::unix::fs::FileTypeExt;
                if !meta.file_type().is_socket() {
                    return Err(io::Error::new(
                        io::ErrorKind::AlreadyExists,
                        format!("{} exists and is not a socket", path.display()),
                    ));
                }
                // A socket nobody answers on is left over from a crash.
                if std::os::unix::net::UnixStream::connect(path).is_ok() {
                    return Err(io::Error::new(
                        io::ErrorKind::AddrInUse,
                        format!("{} is in use: is another vrrpd running?", path.display()),
                    ));
                }
                std::fs::remove_file(path)?;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let mut listener = UnixListener::bind(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        let listener_token = Token(token_base);
        registry.register(&mut listener, listener_token, Interest::READABLE)?;
        Ok(ControlServer {
            path: path.to_owned(),
            listener,
            listener_token,
            next_token: token_base + 1,
            token_base,
            conns: HashMap::new(),
            allowed_uid: uid,
            stats: ControlStats::default(),
        })
    }

    /// True if `token` belongs to this server.
    pub fn owns(&self, token: Token) -> bool {
        token == self.listener_token || self.conns.contains_key(&token)
    }

    /// Handles readiness of `token`; returns the complete requests read.
    pub fn handle_event(&mut self, registry: &Registry, token: Token) -> Vec<(ConnId, Request)> {
        let mut out = Vec::new();
        if token == self.listener_token {
            self.accept(registry);
            return out;
        }
        let Some(conn) = self.conns.get_mut(&token) else {
            return out;
        };
        let closed = read_available(&mut conn.stream, &mut conn.inbuf);
        while !conn.closing {
            let Some(nl) = conn.inbuf.iter().position(|&b| b == b'\n') else {
                if conn.inbuf.len() > MAX_REQUEST {
                    self.stats.bad_requests += 1;
                    queue(
                        conn,
                        &Response::error(format!("request longer than {MAX_REQUEST} bytes")),
                    );
                    conn.closing = true;
                }
                break;
            };
            let line: Vec<u8> = conn.inbuf.drain(..=nl).collect();
            let text = String::from_utf8_lossy(&line);
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            match serde_json::from_str::<Request>(text) {
                Ok(req) => {
                    self.stats.requests += 1;
                    out.push((ConnId(token), req));
                }
                Err(e) => {
                    self.stats.bad_requests += 1;
                    queue(conn, &Response::error(format!("bad request: {e}")));
                    conn.closing = true;
                }
            }
        }
        if closed && out.is_empty() {
            self.close(registry, token);
        } else {
            self.flush(registry, token);
        }
        out
    }

    /// Sends `response` to connection `id` (if it is still open).
    pub fn respond(&mut self, registry: &Registry, id: ConnId, response: &Response) {
        if let Some(conn) = self.conns.get_mut(&id.0) {
            queue(conn, response);
            self.flush(registry, id.0);
        }
    }

    fn accept(&mut self, registry: &Registry) {
        loop {
            let (mut stream, _) = match self.listener.accept() {
                Ok(s) => s,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return,
            };
            let uid = peer_uid(&stream);
            if uid != Some(self.allowed_uid) || self.conns.len() >= MAX_CONNECTIONS {
                self.stats.refused += 1;
                let why = if uid != Some(self.allowed_uid) {
                    "permission denied: the control socket serves root only"
                } else {
                    "too many control connections"
                };
                let mut line = serde_json::to_vec(&Response::error(why)).unwrap_or_default();
                line.push(b'\n');
                let _ = stream.write(&line);
                continue;
            }
            let token = self.alloc_token();
            if registry
                .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
                .is_ok()
            {
                self.conns.insert(
                    token,
                    Conn {
                        stream,
                        inbuf: Vec::new(),
                        outbuf: Vec::new(),
                        closing: false,
                    },
                );
            }
        }
    }

    fn alloc_token(&mut self) -> Token {
        let span = 1 + MAX_CONNECTIONS * 4;
        loop {
            let t = Token(self.next_token);
            self.next_token += 1;
            if self.next_token >= self.token_base + span {
                self.next_token = self.token_base + 1;
            }
            if !self.conns.contains_key(&t) {
                return t;
            }
        }
    }

    fn flush(&mut self, registry: &Registry, token: Token) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        match write_pending(&mut conn.stream, &mut conn.outbuf) {
            Written::All => {}
            Written::WouldBlock => return,
            Written::Failed => return self.close(registry, token),
        }
        if conn.closing && conn.outbuf.is_empty() {
            self.close(registry, token);
        }
    }

    fn close(&mut self, registry: &Registry, token: Token) {
        if let Some(mut conn) = self.conns.remove(&token) {
            let _ = registry.deregister(&mut conn.stream);
        }
    }

    /// Open connections.
    pub fn connections(&self) -> usize {
        self.conns.len()
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Reads everything a non-blocking stream has now into `into`; true if the
/// peer closed the connection or it failed (the caller closes it).
pub(crate) fn read_available(stream: &mut impl Read, into: &mut Vec<u8>) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(n) => into.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return true,
        }
    }
}

/// What [`write_pending`] managed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Written {
    /// Everything was written.
    All,
    /// The socket is full; the rest stays queued for the next writable event.
    WouldBlock,
    /// The connection failed or wrote nothing (the caller closes it).
    Failed,
}

/// Writes as much of `out` as a non-blocking stream takes now, removing
/// what was written.
pub(crate) fn write_pending(stream: &mut impl Write, out: &mut Vec<u8>) -> Written {
    while !out.is_empty() {
        match stream.write(out) {
            Ok(0) => return Written::Failed,
            Ok(n) => {
                out.drain(..n);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Written::WouldBlock,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Written::Failed,
        }
    }
    Written::All
}

fn queue(conn: &mut Conn, response: &Response) {
    // Serialising our own types cannot fail; an empty line is the fallback.
    let mut line = serde_json::to_vec(response).unwrap_or_default();
    line.push(b'\n');
    conn.outbuf.extend_from_slice(&line);
}

fn peer_uid(stream: &UnixStream) -> Option<u32> {
    use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
    getsockopt(stream, PeerCredentials).ok().map(|c| c.uid())
}

/// Client side: sends one request and reads one answer.
pub fn request(path: &Path, req: &Request, timeout: Duration) -> io::Result<Response> {
    let mut stream = std::os::unix::net::UnixStream::connect(path).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("{}: {e} (is vrrpd running?)", path.display()),
        )
    })?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let mut line = serde_json::to_vec(req).map_err(io::Error::other)?;
    line.push(b'\n');
    // A refused peer may find the socket closed before its request is
    // written; the server's one-line refusal is still there to read.
    let written = stream.write_all(&line);
    let mut reader = BufReader::new(stream.take(16 * 1024 * 1024));
    let mut answer = String::new();
    let read = reader.read_line(&mut answer);
    if answer.is_empty() {
        written?;
        read?;
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "vrrpd closed the connection without an answer",
        ));
    }
    serde_json::from_str(&answer).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("bad answer from vrrpd: {e}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mio::{Events, Poll};

    /// A socket that takes `room` bytes, then answers with `then`.
    struct Sink {
        got: Vec<u8>,
        room: usize,
        then: Option<io::ErrorKind>,
    }

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let n = buf.len().min(self.room);
            if n == 0 {
                return self.then.map_or(Ok(0), |k| Err(k.into()));
            }
            self.room -= n;
            self.got.extend_from_slice(&buf[..n]);
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn write_pending_keeps_what_did_not_fit() {
        let sink = |room, then| Sink {
            got: Vec::new(),
            room,
            then,
        };
        let mut out = b"hello".to_vec();
        let mut s = sink(3, Some(io::ErrorKind::WouldBlock));
        assert_eq!(write_pending(&mut s, &mut out), Written::WouldBlock);
        assert_eq!(
            (s.got.as_slice(), out.as_slice()),
            (&b"hel"[..], &b"lo"[..])
        );
        s.room = 10;
        assert_eq!(write_pending(&mut s, &mut out), Written::All);
        assert_eq!((s.got.as_slice(), out.len()), (&b"hello"[..], 0));
        let mut out = b"x".to_vec();
        assert_eq!(write_pending(&mut sink(0, None), &mut out), Written::Failed);
        let reset = Some(io::ErrorKind::ConnectionReset);
        assert_eq!(
            write_pending(&mut sink(0, reset), &mut out),
            Written::Failed
        );
        assert_eq!(out, b"x");
    }

    fn serve_until(
        server: &mut ControlServer,
        poll: &mut Poll,
        want: usize,
    ) -> Vec<(ConnId, Request)> {
        let mut got = Vec::new();
        let mut events = Events::with_capacity(16);
        for _ in 0..200 {
            poll.poll(&mut events, Some(Duration::from_millis(10)))
                .unwrap();
            for ev in events.iter() {
                for (id, req) in server.handle_event(poll.registry(), ev.token()) {
                    server.respond(
                        poll.registry(),
                        id,
                        &Response::ok(Some(serde_json::json!({"echo": format!("{req:?}")}))),
                    );
                    got.push((id, req));
                }
            }
            if got.len() >= want {
                break;
            }
        }
        got
    }

    #[test]
    fn requests_round_trip_and_garbage_gets_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.sock");
        let mut poll = Poll::new().unwrap();
        let uid = nix::unistd::getuid().as_raw();
        let mut server = ControlServer::bind_for_uid(&path, poll.registry(), 100, uid).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);

        let p = path.clone();
        let client = std::thread::spawn(move || {
            let a = request(
                &p,
                &Request::Switchover {
                    instance: "VI_1".into(),
                },
                Duration::from_secs(5),
            )
            .unwrap();
            let mut s = std::os::unix::net::UnixStream::connect(&p).unwrap();
            s.write_all(b"{\"cmd\":\"reboot\"}\n").unwrap();
            let mut line = String::new();
            BufReader::new(s).read_line(&mut line).unwrap();
            (a, line)
        });
        let got = serve_until(&mut server, &mut poll, 1);
        assert_eq!(
            got[0].1,
            Request::Switchover {
                instance: "VI_1".into()
            }
        );
        // Keep serving so the garbage line is answered.
        let mut events = Events::with_capacity(16);
        for _ in 0..50 {
            poll.poll(&mut events, Some(Duration::from_millis(10)))
                .unwrap();
            for ev in events.iter() {
                let _ = server.handle_event(poll.registry(), ev.token());
            }
        }
        let (a, bad) = client.join().unwrap();
        assert!(a.ok);
        let bad: Response = serde_json::from_str(&bad).unwrap();
        assert!(!bad.ok);
        assert!(bad.error.unwrap().contains("unknown variant `reboot`"));
        assert_eq!(server.stats.bad_requests, 1);
        assert_eq!(server.stats.requests, 1);
    }

    #[test]
    fn a_peer_with_another_uid_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.sock");
        let mut poll = Poll::new().unwrap();
        let other = nix::unistd::getuid().as_raw().wrapping_add(1);
        let mut server = ControlServer::bind_for_uid(&path, poll.registry(), 100, other).unwrap();
        let p = path.clone();
        let client =
            std::thread::spawn(move || request(&p, &Request::Status, Duration::from_secs(5)));
        let mut events = Events::with_capacity(16);
        for _ in 0..50 {
            poll.poll(&mut events, Some(Duration::from_millis(10)))
                .unwrap();
            for ev in events.iter() {
                assert!(server.handle_event(poll.registry(), ev.token()).is_empty());
            }
        }
        let answer = client.join().unwrap().unwrap();
        assert!(!answer.ok);
        assert!(answer.error.unwrap().contains("root only"));
        assert_eq!(server.stats.refused, 1);
    }

    #[test]
    fn an_overlong_request_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.sock");
        let mut poll = Poll::new().unwrap();
        let uid = nix::unistd::getuid().as_raw();
        let mut server = ControlServer::bind_for_uid(&path, poll.registry(), 100, uid).unwrap();
        let p = path.clone();
        let client = std::thread::spawn(move || {
            let mut s = std::os::unix::net::UnixStream::connect(&p).unwrap();
            let _ = s.write_all(&vec![b'x'; MAX_REQUEST + 10]);
            let mut line = String::new();
            let _ = BufReader::new(s).read_line(&mut line);
            line
        });
        let mut events = Events::with_capacity(16);
        for _ in 0..100 {
            poll.poll(&mut events, Some(Duration::from_millis(10)))
                .unwrap();
            for ev in events.iter() {
                assert!(server.handle_event(poll.registry(), ev.token()).is_empty());
            }
        }
        let line = client.join().unwrap();
        assert!(line.contains("request longer than"), "{line}");
        assert_eq!(server.connections(), 0);
    }

    #[test]
    fn a_regular_file_at_the_socket_path_is_not_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.sock");
        std::fs::write(&path, "precious").unwrap();
        let poll = Poll::new().unwrap();
        let e = ControlServer::bind(&path, poll.registry(), 100)
            .err()
            .unwrap();
        assert!(e.to_string().contains("is not a socket"));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious");
    }
}
