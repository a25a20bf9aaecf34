//! The Prometheus text endpoint (`[global] metrics_listen`): `GET
//! /metrics` over plain HTTP/1.0-style exchanges (one request per
//! connection), served from the daemon's mio loop without blocking.
//!
//! The metrics are rendered from the same typed snapshot that
//! `vrrpd status --json` serializes ([`render`], in `prom.rs`), so the
//! two never disagree and a renamed field cannot silently drop a metric.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;

use mio::net::{TcpListener, TcpStream};
use mio::{Interest, Registry, Token};

use crate::control::{Written, read_available, write_pending};

pub use super::prom::{ProcessStats, render};

/// Connections served at once; more are closed at once.
const MAX_CONNECTIONS: usize = 16;
/// The longest request head read.
const MAX_REQUEST: usize = 8 * 1024;

struct Conn {
    stream: TcpStream,
    inbuf: Vec<u8>,
    outbuf: Vec<u8>,
    answered: bool,
}

/// The listening socket and its connections.
pub struct MetricsServer {
    listener: TcpListener,
    base: usize,
    next: usize,
    conns: HashMap<Token, Conn>,
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
        })
    }

    /// True if `token` is the server's.
    pub fn owns(&self, token: Token) -> bool {
        (self.base..=self.base + 4 * MAX_CONNECTIONS).contains(&token.0)
    }

    /// Handles readiness; `body` renders the metrics when a request is
    /// complete.
    pub fn handle_event(&mut self, registry: &Registry, token: Token, body: impl Fn() -> String) {
        if token.0 == self.base {
            self.accept(registry);
            return;
        }
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        let closed = !conn.answered && read_available(&mut conn.stream, &mut conn.inbuf);
        if !conn.answered {
            let head_done = conn.inbuf.windows(4).any(|w| w == b"\r\n\r\n")
                || conn.inbuf.windows(2).any(|w| w == b"\n\n");
            if head_done || conn.inbuf.len() > MAX_REQUEST {
                conn.outbuf = respond(&conn.inbuf, &body);
                conn.answered = true;
            } else if closed {
                self.close(registry, token);
                return;
            }
        }
        self.flush(registry, token);
    }

    fn accept(&mut self, registry: &Registry) {
        loop {
            let (mut stream, _) = match self.listener.accept() {
                Ok(s) => s,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return,
            };
            if self.conns.len() >= MAX_CONNECTIONS {
                continue;
            }
            let Some(token) = self.alloc() else {
                continue;
            };
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
                        answered: false,
                    },
                );
            }
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

    fn flush(&mut self, registry: &Registry, token: Token) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        match write_pending(&mut conn.stream, &mut conn.outbuf) {
            Written::All => {}
            Written::WouldBlock => return,
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
    }
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
