//! Probes: the I/O of each check kind, all non-blocking.
//!
//! A probe is started by the scheduler, registers at most one mio source under
//! the check's token, and is advanced by readiness events until it yields a
//! [`ProbeResult`]. Interface and file probes are a single small read and
//! finish at once.

use std::fmt;
use std::io;
use std::time::Duration;

use mio::Registry;

use crate::state::Outcome;

pub(crate) mod exec;
pub(crate) mod file;
pub(crate) mod http;
pub(crate) mod icmp;
pub(crate) mod iface;
pub(crate) mod procs;
pub(crate) mod tcp;
pub(crate) mod tls;

/// An OS error, kept small and comparable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OsFailure {
    /// What was being done ("connect", "spawn", "read", ...).
    pub op: &'static str,
    /// The error kind.
    pub kind: io::ErrorKind,
    /// The errno, if any.
    pub errno: Option<i32>,
}

impl OsFailure {
    pub(crate) fn new(op: &'static str, e: &io::Error) -> Self {
        Self {
            op,
            kind: e.kind(),
            errno: e.raw_os_error(),
        }
    }
}

impl fmt::Display for OsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.errno {
            Some(n) => write!(f, "{}: {}", self.op, io::Error::from_raw_os_error(n)),
            None => write!(f, "{}: {}", self.op, self.kind),
        }
    }
}

/// Why a probe ended the way it did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Detail {
    /// The program exited with this status.
    Exited(i32),
    /// The program was killed by this signal (not by us).
    Signaled(i32),
    /// The probe did not finish within its timeout (exec: process group killed).
    TimedOut,
    /// A system call failed.
    Os(OsFailure),
    /// TCP handshake completed.
    Connected,
    /// HTTP response status, and what was found in the body.
    HttpStatus {
        /// Status code.
        status: u16,
        /// Whether the body contained the expected substring; `None` when
        /// no substring was configured or the status already failed.
        body_matched: Option<bool>,
        /// The body's MD5 and whether it is the expected one; `None` when
        /// no digest was configured or the status already failed.
        digest: Option<BodyDigest>,
    },
    /// The HTTP response could not be parsed.
    HttpMalformed(&'static str),
    /// The TLS session of an HTTPS check failed.
    Tls {
        /// During the handshake, before any HTTP was exchanged.
        handshake: bool,
        /// What went wrong (rustls's description of the error or alert).
        reason: String,
    },
    /// An echo reply arrived after this long.
    EchoReply {
        /// Round-trip time.
        rtt: Duration,
    },
    /// Interface state read from sysfs.
    Operstate {
        /// The operstate string.
        operstate: String,
        /// The carrier value, if readable.
        carrier: Option<bool>,
    },
    /// The file held this integer.
    FileValue(i64),
    /// The file did not hold an integer.
    FileNotInteger,
    /// This many running processes matched.
    Processes(u32),
}

impl fmt::Display for Detail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Detail::Exited(c) => write!(f, "exited with status {c}"),
            Detail::Signaled(s) => write!(f, "killed by signal {s}"),
            Detail::TimedOut => f.write_str("timed out"),
            Detail::Os(e) => write!(f, "{e}"),
            Detail::Connected => f.write_str("connected"),
            Detail::HttpStatus {
                status,
                body_matched,
                digest,
            } => {
                write!(f, "HTTP {status}")?;
                match body_matched {
                    Some(true) => f.write_str(", body matched")?,
                    Some(false) => f.write_str(", body did not match")?,
                    None => {}
                }
                match digest {
                    Some(d) => write!(f, ", {d}"),
                    None => Ok(()),
                }
            }
            Detail::HttpMalformed(why) => write!(f, "malformed HTTP response: {why}"),
            Detail::Tls {
                handshake: true,
                reason,
            } => write!(f, "TLS handshake failed: {reason}"),
            Detail::Tls {
                handshake: false,
                reason,
            } => write!(f, "TLS error: {reason}"),
            Detail::EchoReply { rtt } => write!(f, "echo reply in {rtt:?}"),
            Detail::Operstate { operstate, carrier } => {
                write!(f, "operstate {operstate}")?;
                match carrier {
                    Some(c) => write!(f, ", carrier {}", u8::from(*c)),
                    None => Ok(()),
                }
            }
            Detail::FileValue(v) => write!(f, "value {v}"),
            Detail::FileNotInteger => f.write_str("file does not hold an integer"),
            Detail::Processes(n) => write!(f, "{n} matching processes"),
        }
    }
}

/// The MD5 of an HTTP body, compared with the expected one (keepalived's
/// `digest`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyDigest {
    /// The MD5 of the body as read (decoded from chunks, up to its
    /// Content-Length or to the close).
    pub md5: [u8; 16],
    /// Whether it is the expected one.
    pub matched: bool,
}

impl fmt::Display for BodyDigest {
    /// `body MD5 9b3a…cd (expected)`, in the hex form keepalived's
    /// `genhash` prints.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("body MD5 ")?;
        for b in self.md5 {
            write!(f, "{b:02x}")?;
        }
        f.write_str(if self.matched {
            " (expected)"
        } else {
            " (not the expected one)"
        })
    }
}

/// The result of one probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeResult {
    /// Success, failure or file value.
    pub outcome: Outcome,
    /// Why.
    pub detail: Detail,
    /// How long the probe took.
    pub elapsed: Duration,
}

/// The result of advancing a probe.
pub(crate) enum Step {
    /// Waiting for more readiness.
    Pending,
    /// Finished: (outcome, detail).
    Done(Outcome, Detail),
}

/// A probe in flight.
pub(crate) enum InFlight {
    Exec(exec::ExecProbe),
    Tcp(tcp::TcpProbe),
    /// Boxed: the response state (an MD5 context, buffers) is large.
    Http(Box<http::HttpProbe>),
    Icmp(icmp::IcmpProbe),
}

impl InFlight {
    /// Called on a readiness event for the check's token.
    pub(crate) fn on_ready(&mut self) -> Step {
        match self {
            InFlight::Exec(p) => p.on_ready(),
            InFlight::Tcp(p) => p.on_ready(),
            InFlight::Http(p) => p.on_ready(),
            InFlight::Icmp(p) => p.on_ready(),
        }
    }

    /// Called when the timeout expires: the probe ends as timed out (exec:
    /// after SIGKILL to its process group).
    pub(crate) fn on_timeout(&mut self) -> (Outcome, Detail) {
        if let InFlight::Exec(p) = self {
            let _ = p.on_timeout();
        }
        (Outcome::Failure, Detail::TimedOut)
    }

    /// Removes the probe's source from the registry.
    pub(crate) fn deregister(&mut self, registry: &Registry) {
        // Deregistering a source that is about to be closed cannot usefully
        // fail; closing the descriptor removes it from epoll anyway.
        let _ = match self {
            InFlight::Exec(p) => p.deregister(registry),
            InFlight::Tcp(p) => registry.deregister(&mut p.stream),
            InFlight::Http(p) => registry.deregister(&mut p.stream),
            InFlight::Icmp(p) => p.deregister(registry),
        };
    }

    /// Ends the probe: deregisters it and, for an exec probe whose child is
    /// not reaped yet, kills its group and hands the child back for
    /// non-blocking reaping.
    pub(crate) fn finish(mut self, registry: &Registry) -> Option<exec::ExecProbe> {
        self.deregister(registry);
        match self {
            InFlight::Exec(mut p) if !p.is_reaped() => {
                p.kill();
                if p.try_reap() { None } else { Some(p) }
            }
            _ => None,
        }
    }
}
