//! TCP connect probes.
//!
//! A non-blocking connect; success once the handshake completes. The socket
//! is then closed with SO_LINGER 0 (a RST), as HAProxy does for its connect
//! checks, so that frequent checks do not fill the local port range with
//! TIME_WAIT sockets.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};

use super::{Detail, OsFailure, Step};
use crate::state::Outcome;

/// Starts a non-blocking connect and registers it for `interest`.
pub(crate) fn connect(
    addr: SocketAddr,
    registry: &Registry,
    token: Token,
    interest: Interest,
) -> Result<TcpStream, (Outcome, Detail)> {
    let fail = |op, e: &io::Error| (Outcome::Failure, Detail::Os(OsFailure::new(op, e)));
    let mut stream = TcpStream::connect(addr).map_err(|e| fail("connect", &e))?;
    // Best effort: only affects how the socket is closed.
    let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
    registry
        .register(&mut stream, token, interest)
        .map_err(|e| fail("register", &e))?;
    Ok(stream)
}

/// Whether a connecting stream has finished connecting: `Ok(true)` when
/// connected, `Ok(false)` when still in progress, `Err` when it failed.
pub(crate) fn connect_state(stream: &TcpStream) -> io::Result<bool> {
    if let Some(e) = stream.take_error()? {
        return Err(e);
    }
    match stream.peer_addr() {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
        Err(e) => Err(e),
    }
}

/// A TCP connect in progress.
pub(crate) struct TcpProbe {
    pub(crate) stream: TcpStream,
}

impl TcpProbe {
    pub(crate) fn start(
        addr: SocketAddr,
        registry: &Registry,
        token: Token,
    ) -> Result<Self, (Outcome, Detail)> {
        connect(addr, registry, token, Interest::WRITABLE).map(|stream| Self { stream })
    }

    pub(crate) fn on_ready(&mut self) -> Step {
        match connect_state(&self.stream) {
            Ok(true) => Step::Done(Outcome::Success, Detail::Connected),
            Ok(false) => Step::Pending,
            Err(e) => Step::Done(Outcome::Failure, Detail::Os(OsFailure::new("connect", &e))),
        }
    }
}
