//! A small non-blocking HTTP/1.1 GET client, over TCP or TLS.
//!
//! Request: `GET <path> HTTP/1.1`, `Host`, `Connection: close`. The
//! response is judged by [`response`] as it arrives. Over TLS
//! ([`crate::spec::TlsSpec`], keepalived's `SSL_GET`), rustls's
//! `ClientConnection` sits between the socket and the same request and
//! response: it is pumped on every readiness event until the socket would
//! block, so the handshake, like the rest, never blocks the caller's loop.

use std::io::{self, Read, Write};

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use rustls::ClientConnection;

use super::tcp::{connect, connect_state};
use super::{Detail, OsFailure, Step, tls};
use crate::spec::HttpSpec;
use crate::state::Outcome;

mod response;

use response::Response;

/// What carries the request and response.
enum Transport {
    /// Plain TCP; this much of the request is written.
    Plain { written: usize },
    /// TLS over the TCP stream (boxed: a session is a few kilobytes).
    Tls(Box<ClientConnection>),
}

/// An HTTP check in progress.
pub(crate) struct HttpProbe {
    pub(crate) stream: TcpStream,
    connected: bool,
    transport: Transport,
    request: Vec<u8>,
    response: Response,
}

/// The Host header value for `addr` (RFC 9110 §7.2: host and port).
fn default_host(addr: std::net::SocketAddr) -> String {
    match addr {
        std::net::SocketAddr::V4(a) => format!("{}:{}", a.ip(), a.port()),
        std::net::SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
    }
}

fn os(op: &'static str, e: &io::Error) -> Step {
    Step::Done(Outcome::Failure, Detail::Os(OsFailure::new(op, e)))
}

fn tls_failure(handshake: bool, reason: String) -> Step {
    Step::Done(Outcome::Failure, Detail::Tls { handshake, reason })
}

impl HttpProbe {
    pub(crate) fn start(
        spec: &HttpSpec,
        registry: &Registry,
        token: Token,
    ) -> Result<Self, (Outcome, Detail)> {
        let transport = match &spec.tls {
            None => Transport::Plain { written: 0 },
            Some(t) => match tls::connect(t.sni.as_deref(), spec.addr.ip()) {
                Ok(c) => Transport::Tls(Box::new(c)),
                Err(e) => {
                    return Err((
                        Outcome::Failure,
                        Detail::Tls {
                            handshake: true,
                            reason: e.to_string(),
                        },
                    ));
                }
            },
        };
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
            connected: false,
            transport,
            request,
            response: Response::new(spec),
        })
    }

    pub(crate) fn on_ready(&mut self) -> Step {
        if !self.connected {
            match connect_state(&self.stream) {
                Ok(true) => self.connected = true,
                Ok(false) => return Step::Pending,
                Err(e) => return os("connect", &e),
            }
            if let Transport::Tls(conn) = &mut self.transport {
                // rustls keeps the request until the handshake is done.
                if let Err(e) = conn.writer().write_all(&self.request) {
                    return os("send", &e);
                }
            }
        }
        let Self {
            stream,
            transport,
            request,
            response,
            ..
        } = self;
        match transport {
            Transport::Plain { written } => plain(stream, written, request, response),
            Transport::Tls(conn) => over_tls(stream, conn, response),
        }
    }
}

/// Writes the request, then reads until the verdict or the socket would block.
fn plain(
    stream: &mut TcpStream,
    written: &mut usize,
    request: &[u8],
    response: &mut Response,
) -> Step {
    while *written < request.len() {
        match stream.write(&request[*written..]) {
            Ok(0) => return os("send", &io::Error::from(io::ErrorKind::WriteZero)),
            Ok(n) => *written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Step::Pending,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return os("send", &e),
        }
    }
    let mut chunk = [0u8; 8192];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return response.eof(),
            Ok(n) => {
                if let Some(step) = response.feed(&chunk[..n]) {
                    return step;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Step::Pending,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return os("recv", &e),
        }
    }
}

/// Pumps the TLS session: sends what it has to send (the client hello,
/// the request once the handshake is done, alerts), reads records, and
/// feeds the plaintext to the response, until the verdict or the socket
/// would block.
fn over_tls(stream: &mut TcpStream, conn: &mut ClientConnection, response: &mut Response) -> Step {
    let mut chunk = [0u8; 8192];
    loop {
        while conn.wants_write() {
            match conn.write_tls(stream) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return os("send", &e),
            }
        }
        let got = match conn.read_tls(stream) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Step::Pending,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return os("recv", &e),
        };
        if let Err(e) = conn.process_new_packets() {
            // rustls has queued an alert for the server; best effort.
            let _ = conn.write_tls(stream);
            // INTEROP: keepalived judges what it read before a TLS error
            // after the handshake; here the error fails the check. The two
            // differ only for a body cut by a bad record, whose digest or
            // substring would not match anyway.
            return tls_failure(conn.is_handshaking(), e.to_string());
        }
        if conn.is_handshaking() {
            if got == 0 {
                return tls_failure(true, "the server closed the connection".to_owned());
            }
            continue;
        }
        loop {
            match conn.reader().read(&mut chunk) {
                // close_notify: the response is complete.
                Ok(0) => return response.eof(),
                Ok(n) => {
                    if let Some(step) = response.feed(&chunk[..n]) {
                        return step;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                // INTEROP: a close without close_notify ends the response,
                // as in keepalived (SSL_ERROR_SYSCALL) and most clients.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return response.eof(),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return os("recv", &e),
            }
        }
        if got == 0 {
            return response.eof();
        }
    }
}
