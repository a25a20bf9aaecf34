//! The control socket: `vrrpd status`, `switchover`, `maintenance` and
//! `reload`.
//!
//! Protocol: one JSON object per line in each direction over a Unix stream
//! socket. A request is `{"cmd": "status"}`, `{"cmd": "switchover",
//! "instance": "VI_1"}` or `{"cmd": "maintenance", "instance": "VI_1", "on":
//! true}` or `{"cmd": "reload"}`; every answer is `{"ok": true,
//! "version": "...", ...}` or `{"ok": false, "version": "...", "error":
//! "..."}`. Root is served everything; members of `[global] control_group`
//! only `status` (the socket file is mode 0600, or 0660 with that group;
//! the server also checks the peer's credentials, `SO_PEERCRED`).
//!
//! The server ([`ControlServer`], in `control/server.rs`) is a mio source
//! set owned by the daemon loop; it never blocks, and it defends the loop:
//! see its documentation for the limits (request size, connections, idle
//! time-out, requests per round).

pub(crate) mod idle;
mod server;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use server::{
    Access, ConnId, ControlServer, ControlStats, IDLE_TIMEOUT, MAX_CONNECTIONS,
    MAX_CONNECTIONS_PER_PEER, MAX_OUTPUT_BACKLOG, MAX_REQUEST,
};

/// The daemon's version, in every answer.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

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
    /// The answering daemon's version ([`VERSION`]).
    #[serde(default)]
    pub version: String,
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
            version: VERSION.to_owned(),
            error: None,
            data,
        }
    }

    /// A refusal with its reason.
    pub fn error(why: impl Into<String>) -> Self {
        Response {
            ok: false,
            version: VERSION.to_owned(),
            error: Some(why.into()),
            data: None,
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

/// The server's answer when every connection is busy ([`ControlServer`]).
pub const BUSY: &str = "too many busy control connections";

/// The server's last line on an idle connection it closed to make room for
/// a new one ([`ControlServer`]).
pub const EVICTED: &str = "closed to make room for a newer connection";

/// Client side: sends one request and reads one answer. A daemon whose
/// connections are all busy, or that closed this one to make room before
/// reading it, is asked again a few times, 50 ms apart (an evicted
/// connection had nothing unanswered: asking again is safe).
pub fn request(path: &Path, req: &Request, timeout: Duration) -> io::Result<Response> {
    let mut tries = 0;
    loop {
        let answer = request_once(path, req, timeout)?;
        let busy = !answer.ok && matches!(answer.error.as_deref(), Some(BUSY | EVICTED));
        tries += 1;
        if !busy || tries >= 5 {
            return Ok(answer);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One attempt of [`request`].
fn request_once(path: &Path, req: &Request, timeout: Duration) -> io::Result<Response> {
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
