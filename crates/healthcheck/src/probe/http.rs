//! A small non-blocking HTTP/1.1 GET client.
//!
//! Request: `GET <path> HTTP/1.1`, `Host`, `Connection: close`. The
//! response is judged by [`response`] as it arrives.

use std::io::{self, Read, Write};
use std::net::SocketAddr;

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};

use super::tcp::{connect, connect_state};
use super::{Detail, OsFailure, Step};
use crate::spec::HttpSpec;
use crate::state::Outcome;

mod response;

use response::Response;

/// An HTTP check in progress.
pub(crate) struct HttpProbe {
    pub(crate) stream: TcpStream,
    connected: bool,
    /// This much of the request is written.
    written: usize,
    request: Vec<u8>,
    response: Response,
}

/// The Host header value for `addr` (RFC 9110 §7.2: host and port).
fn default_host(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) => format!("{}:{}", a.ip(), a.port()),
        SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
    }
}

fn os(op: &'static str, e: &io::Error) -> Step {
    Step::Done(Outcome::Failure, Detail::Os(OsFailure::new(op, e)))
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
            connected: false,
            written: 0,
            request,
            response: Response::new(spec),
        })
    }

    /// Connects, writes the request, then reads until the verdict or the
    /// socket would block.
    pub(crate) fn on_ready(&mut self) -> Step {
        if !self.connected {
            match connect_state(&self.stream) {
                Ok(true) => self.connected = true,
                Ok(false) => return Step::Pending,
                Err(e) => return os("connect", &e),
            }
        }
        while self.written < self.request.len() {
            match self.stream.write(&self.request[self.written..]) {
                Ok(0) => return os("send", &io::Error::from(io::ErrorKind::WriteZero)),
                Ok(n) => self.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Step::Pending,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return os("send", &e),
            }
        }
        let mut chunk = [0u8; 8192];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return self.response.eof(),
                Ok(n) => {
                    if let Some(step) = self.response.feed(&chunk[..n]) {
                        return step;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Step::Pending,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return os("recv", &e),
            }
        }
    }
}
