//! Errors: each names the operation and the service or destination it was
//! about, and the kernel's answers that have a clear meaning get their own
//! variant instead of an errno.

use std::fmt;
use std::io;

use crate::wire::DecodeError;

/// The operation an [`Error`] happened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Op {
    /// Opening the socket and resolving the IPVS family.
    Open,
    /// [`crate::Ipvs::info`].
    Info,
    /// [`crate::Ipvs::add_service`].
    AddService,
    /// [`crate::Ipvs::edit_service`].
    EditService,
    /// [`crate::Ipvs::delete_service`].
    DeleteService,
    /// [`crate::Ipvs::get_service`].
    GetService,
    /// [`crate::Ipvs::list_services`].
    ListServices,
    /// [`crate::Ipvs::add_destination`].
    AddDestination,
    /// [`crate::Ipvs::edit_destination`].
    EditDestination,
    /// [`crate::Ipvs::delete_destination`].
    DeleteDestination,
    /// [`crate::Ipvs::list_destinations`].
    ListDestinations,
    /// [`crate::Ipvs::start_sync_daemon`].
    StartSyncDaemon,
    /// [`crate::Ipvs::stop_sync_daemon`].
    StopSyncDaemon,
    /// [`crate::Ipvs::list_sync_daemons`].
    ListSyncDaemons,
    /// [`crate::Ipvs::timeouts`].
    GetTimeouts,
    /// [`crate::Ipvs::set_timeouts`].
    SetTimeouts,
    /// [`crate::Ipvs::flush`].
    Flush,
    /// [`crate::Ipvs::zero`].
    Zero,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Open => "open IPVS",
            Op::Info => "get IPVS info",
            Op::AddService => "add service",
            Op::EditService => "edit service",
            Op::DeleteService => "delete service",
            Op::GetService => "get service",
            Op::ListServices => "list services",
            Op::AddDestination => "add destination",
            Op::EditDestination => "edit destination",
            Op::DeleteDestination => "delete destination",
            Op::ListDestinations => "list destinations",
            Op::StartSyncDaemon => "start sync daemon",
            Op::StopSyncDaemon => "stop sync daemon",
            Op::ListSyncDaemons => "list sync daemons",
            Op::GetTimeouts => "get timeouts",
            Op::SetTimeouts => "set timeouts",
            Op::Flush => "flush",
            Op::Zero => "zero counters",
        })
    }
}

/// An error of this crate.
///
/// `target` fields describe what the operation was about, e.g.
/// `TCP 10.0.0.1:80` or `TCP 10.0.0.1:80 -> 10.0.1.2:80` (empty for
/// operations on the whole table).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The kernel has no IPVS: the `IPVS` generic netlink family does not
    /// exist (the `ip_vs` module is not loaded, or not built).
    #[error("the kernel has no IPVS (generic netlink family \"IPVS\" not found): modprobe ip_vs")]
    NotAvailable,
    /// The netlink socket could not be opened or used.
    #[error("{op}: netlink socket: {source}")]
    Socket {
        /// The operation.
        op: Op,
        /// The system error.
        source: io::Error,
    },
    /// The kernel has no module for this scheduler (`ip_vs_<name>`).
    #[error(
        "{op} {target}: the kernel has no scheduler {scheduler:?} (module ip_vs_{scheduler} not found)"
    )]
    SchedulerUnavailable {
        /// The operation.
        op: Op,
        /// The service.
        target: String,
        /// The scheduler's name.
        scheduler: String,
    },
    /// The service or destination is already there (`EEXIST`).
    #[error("{op} {target}: already exists")]
    Exists {
        /// The operation.
        op: Op,
        /// The service or destination.
        target: String,
    },
    /// The service does not exist (`ESRCH`).
    #[error("{op} {target}: no such service")]
    NoSuchService {
        /// The operation.
        op: Op,
        /// The service.
        target: String,
    },
    /// The destination does not exist (`ENOENT` on a destination).
    #[error("{op} {target}: no such destination")]
    NoSuchDestination {
        /// The operation.
        op: Op,
        /// The destination.
        target: String,
    },
    /// No sync daemon runs in that role (`ESRCH` on a stop).
    #[error("{op} {target}: not running")]
    NotRunning {
        /// The operation.
        op: Op,
        /// The daemon's role.
        target: String,
    },
    /// A value this crate refuses before asking the kernel.
    #[error("{op} {target}: {reason}")]
    Invalid {
        /// The operation.
        op: Op,
        /// What it was about.
        target: String,
        /// Why it is refused.
        reason: String,
    },
    /// Any other refusal from the kernel, with its errno.
    #[error("{op} {target}: {source}")]
    Kernel {
        /// The operation.
        op: Op,
        /// What it was about.
        target: String,
        /// The kernel's error (`io::Error::raw_os_error` is the errno).
        source: io::Error,
    },
    /// The kernel's answer could not be decoded.
    #[error("{op} {target}: cannot decode the kernel's answer: {source}")]
    Decode {
        /// The operation.
        op: Op,
        /// What it was about.
        target: String,
        /// What was wrong.
        source: DecodeError,
    },
}

impl Error {
    /// The errno of a kernel refusal, if this error is one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Kernel { source, .. } | Error::Socket { source, .. } => source.raw_os_error(),
            Error::Exists { .. } => Some(17),
            Error::NoSuchService { .. } | Error::NotRunning { .. } => Some(3),
            Error::NoSuchDestination { .. } | Error::SchedulerUnavailable { .. } => Some(2),
            _ => None,
        }
    }
}

/// This crate's `Result`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
