//! Typed errors: what failed and why.

use std::io;

/// An invalid check definition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Weight outside -254..=254.
    #[error("weight {0} is out of range -254..=254")]
    WeightOutOfRange(i32),
    /// `rise` or `fall` is zero.
    #[error("{0} must be at least 1")]
    ZeroRiseFall(&'static str),
    /// Interval below the minimum for its kind.
    #[error("interval {got_ms} ms is below the minimum of {min_ms} ms for {kind} checks")]
    IntervalTooShort {
        /// Check kind.
        kind: &'static str,
        /// Configured interval in milliseconds.
        got_ms: u128,
        /// Minimum in milliseconds.
        min_ms: u128,
    },
    /// Timeout is zero.
    #[error("timeout must be greater than zero")]
    ZeroTimeout,
    /// Exec check with an empty argv.
    #[error("exec check has an empty command")]
    EmptyCommand,
    /// A string contains a NUL byte.
    #[error("{what} contains a NUL byte")]
    Nul {
        /// Which field.
        what: &'static str,
    },
    /// A user name that does not exist.
    #[error("unknown user {0:?}")]
    UnknownUser(String),
    /// A group name that does not exist.
    #[error("unknown group {0:?}")]
    UnknownGroup(String),
    /// HTTP path that does not start with '/'.
    #[error("HTTP path {0:?} must start with '/'")]
    BadHttpPath(String),
    /// HTTP host with characters not allowed in a Host header.
    #[error("HTTP host {0:?} is not a valid Host header value")]
    BadHttpHost(String),
    /// A TLS server name (SNI) that is not a DNS name.
    #[error("TLS server name {0:?} is not a DNS name")]
    BadSni(String),
    /// HTTP expected status not in 100..=599.
    #[error("HTTP status {0} is not in 100..=599")]
    BadHttpStatus(u16),
    /// Interface name empty, too long, or with '/'.
    #[error("interface name {0:?} is invalid")]
    BadInterface(String),
    /// A process check that cannot match (empty name, quorum_max < quorum).
    #[error("invalid process check: {0}")]
    BadProcess(&'static str),
    /// Name already used by another check in the same checker.
    #[error("a check named {0:?} already exists")]
    DuplicateName(String),
}

/// Errors of the checker and its probes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The check definition is invalid.
    #[error("check {name:?}: {source}")]
    Config {
        /// Check name.
        name: String,
        /// Why.
        #[source]
        source: ConfigError,
    },
    /// A system call failed.
    #[error("{op}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Out of mio tokens.
    #[error("no free mio token above the configured base")]
    TokensExhausted,
}

impl Error {
    pub(crate) fn io(op: &'static str, source: io::Error) -> Self {
        Self::Io { op, source }
    }
}
