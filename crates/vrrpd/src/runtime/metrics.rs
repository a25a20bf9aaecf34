//! The Prometheus text endpoint (`[global] metrics_listen`): `GET
//! /metrics` over plain HTTP/1.0-style exchanges (one request per
//! connection), served from the daemon's mio loop without blocking.
//!
//! The metrics are rendered from the same typed snapshot that
//! `vrrpd status --json` serializes ([`render`], in `prom.rs`), so the
//! two never disagree and a renamed field cannot silently drop a metric.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Interest, Registry, Token};

use crate::control::{Written, idle, write_pending};

pub use super::prom::{ProcessStats, render};

/// Connections served at once; when full, the longest-silent one is
/// closed for a new one.
const MAX_CONNECTIONS: usize = 32;
/// The longest request head read.
const MAX_REQUEST: usize = 8 * 1024;
/// Connections accepted per readiness event; the rest wait a round.
const ACCEPT_SLICE: usize = 16;
/// A rendered body is reused for scrapes this close together, so a
/// scrape storm renders once per this period, not once per request.
const RENDER_REUSE: Duration = Duration::from_millis(100);

struct Conn {
    stream: TcpStream,
    inbuf: Vec<u8>,
    outbuf: Vec<u8>,
    answered: bool,
    readable: bool,
    last_active: Instant,
}

/// The listening socket and its connections. Readiness only marks a
/// connection; the loop answers one request at a time
/// ([`MetricsServer::next_answer`]) within its budget.
pub struct MetricsServer {
    listener: TcpListener,
    base: usize,
    next: usize,
    conns: HashMap<Token, Conn>,
    ready: VecDeque<Token>,
    accept_pending: bool,
    rendered: Option<(Instant, String)>,
}

impl MetricsServer {
    /// Binds `addr` and registers it; tokens `base..=base + 4 *
    /// MAX_CONNECTIONS` are used.
    pub fn bind(addr: SocketAddr, registry: &Registry, base: usize) -> io::Result<Self> {
        let mut listener = TcpListener::bind(addr)?;
        registry.register(&mut listener, Token(base), Interest::READABLE)?;
        Ok(MetricsServer {
            listener,
            base,
            next: 0,
            conns: HashMap::new(),
            ready: VecDeque::new(),
            accept_pending: false,
            rendered: None,
        })
    }

    /// True if `token` is the server's.
    pub fn owns(&self, token: Token) -> bool {
        (self.base..=self.base + 4 * MAX_CONNECTIONS).contains(&token.0)
    }

    /// Handles readiness: accepts a slice of connections, or marks one
    /// readable and writes what it has pending.
    pub fn handle_event(&mut self, registry: &Registry, token: Token, now: Instant) {
        if token.0 == self.base {
            self.accept_pending = true;
            self.accept(registry, now);
            return;
        }
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        if !conn.answered {
            conn.readable = true;
            if !self.ready.contains(&token) {
                self.ready.push_back(token);
            }
        }
        self.flush(registry, token, now);
    }

    /// True if connections or requests wait for the loop.
    pub fn has_backlog(&self) -> bool {
        self.accept_pending || !self.ready.is_empty()
    }

    /// Accepts another slice of pending connections, if any wait.
    pub fn accept_more(&mut self, registry: &Registry, now: Instant) {
        if self.accept_pending {
            self.accept(registry, now);
        }
    }

    /// Reads the next ready connection's request and answers it once its
    /// head is complete; `body` renders the metrics (at most once per
    /// `RENDER_REUSE`). False if no connection was ready.
    pub fn next_answer(
        &mut self,
        registry: &Registry,
        now: Instant,
        body: impl FnOnce() -> String,
    ) -> bool {
        let Some(token) = self.ready.pop_front() else {
            return false;
        };
        let Some(conn) = self.conns.get_mut(&token) else {
            return true;
        };
        let closed = read_head(conn);
        conn.readable = false;
        let head_done = conn.inbuf.windows(4).any(|w| w == b"\r\n\r\n")
            || conn.inbuf.windows(2).any(|w| w == b"\n\n");
        if head_done || conn.inbuf.len() > MAX_REQUEST {
            let fresh = self
                .rendered
                .as_ref()
                .is_some_and(|(at, _)| now.saturating_duration_since(*at) < RENDER_REUSE);
            if !fresh {
                self.rendered = Some((now, body()));
            }
            let text = self.rendered.as_ref().map_or("", |(_, b)| b.as_str());
            conn.outbuf = respond(&conn.inbuf, &|| text.to_owned());
            conn.answered = true;
            conn.last_active = now;
        } else if closed {
            self.close(registry, token);
            return true;
        }
        self.flush(registry, token, now);
        true
    }

    /// When the next connection would time out.
    pub fn poll_timeout(&self) -> Option<Instant> {
        idle::next_timeout(self.conns.values().map(|c| c.last_active))
    }

    /// Closes connections silent for the control socket's `IDLE_TIMEOUT`.
    pub fn handle_timeout(&mut self, registry: &Registry, now: Instant) {
        let stale = idle::timed_out(self.conns.iter().map(|(t, c)| (*t, c.last_active)), now);
        for t in stale {
            self.close(registry, t);
        }
    }

    fn accept(&mut self, registry: &Registry, now: Instant) {
        for _ in 0..ACCEPT_SLICE {
            let (mut stream, _) = match self.listener.accept() {
                Ok(s) => s,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    self.accept_pending = false;
                    return;
                }
            };
            if self.conns.len() >= MAX_CONNECTIONS {
                self.evict_oldest(registry);
            }
            let Some(token) = self.alloc() else {
                continue;
            };
            if registry
                .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
                .is_ok()
            {
                let conn = Conn {
                    stream,
                    inbuf: Vec::new(),
                    outbuf: Vec::new(),
                    answered: false,
                    readable: true,
                    last_active: now,
                };
                self.conns.insert(token, conn);
                self.ready.push_back(token);
            }
        }
    }

    fn evict_oldest(&mut self, registry: &Registry) {
        let oldest = self
            .conns
            .iter()
            .min_by_key(|(_, c)| c.last_active)
            .map(|(t, _)| *t);
        if let Some(t) = oldest {
            self.close(registry, t);
        }
    }

    fn alloc(&mut self) -> Option<Token> {
        let span = 4 * MAX_CONNECTIONS;
        for _ in 0..span {
            let t = Token(self.base + 1 + self.next);
            self.next = (self.next + 1) % span;
            if !self.conns.contains_key(&t) {
                return Some(t);
            }
        }
        None
    }

    fn flush(&mut self, registry: &Registry, token: Token, now: Instant) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        let had = conn.outbuf.len();
        match write_pending(&mut conn.stream, &mut conn.outbuf) {
            Written::All => {}
            Written::WouldBlock => {
                if conn.outbuf.len() < had {
                    conn.last_active = now;
                }
                return;
            }
            Written::Failed => return self.close(registry, token),
        }
        if conn.answered {
            self.close(registry, token);
        }
    }

    fn close(&mut self, registry: &Registry, token: Token) {
        if let Some(mut c) = self.conns.remove(&token) {
            let _ = registry.deregister(&mut c.stream);
        }
        self.ready.retain(|t| *t != token);
    }
}

/// Reads what a request head needs (at most [`MAX_REQUEST`] bytes); true
/// if the peer closed or failed.
fn read_head(conn: &mut Conn) -> bool {
    let mut buf = [0u8; 2048];
    while conn.inbuf.len() <= MAX_REQUEST {
        match io::Read::read(&mut conn.stream, &mut buf) {
            Ok(0) => return true,
            Ok(n) => conn
                .inbuf
                .extend_from_slice(buf.get(..n).unwrap_or_default()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return true,
        }
    }
    false
}

fn respond(head: &[u8], body: &impl Fn() -> String) -> Vec<u8> {
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (status, ctype, text) = match (method, path.split('?').next().unwrap_or("")) {
        ("GET", "/metrics") => ("200 OK", "text/plain; version=0.0.4; charset=utf-8", body()),
        ("GET", _) => ("404 Not Found", "text/plain", "try /metrics\n".to_owned()),
        _ => (
            "405 Method Not Allowed",
            "text/plain",
            "GET only\n".to_owned(),
        ),
    };
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_get_metrics_is_served() {
        let body = || "x 1\n".to_owned();
        let ok = String::from_utf8(respond(b"GET /metrics HTTP/1.1\r\n\r\n", &body)).unwrap();
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n") && ok.ends_with("\r\n\r\nx 1\n"));
        assert!(ok.contains("Content-Length: 4\r\n"));
        let nf = String::from_utf8(respond(b"GET / HTTP/1.1\r\n\r\n", &body)).unwrap();
        assert!(nf.starts_with("HTTP/1.1 404"));
        let post = String::from_utf8(respond(b"POST /metrics HTTP/1.1\r\n\r\n", &body)).unwrap();
        assert!(post.starts_with("HTTP/1.1 405"));
    }
}
