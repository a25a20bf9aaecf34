//! Idle time-outs of the daemon's stream connections (the control socket
//! and the metrics listener): both close a connection silent for
//! [`IDLE_TIMEOUT`](super::IDLE_TIMEOUT).

use std::time::Instant;

use mio::Token;

use super::IDLE_TIMEOUT;

/// When the first of connections last active at `actives` times out.
pub(crate) fn next_timeout(actives: impl Iterator<Item = Instant>) -> Option<Instant> {
    actives.map(|t| t + IDLE_TIMEOUT).min()
}

/// The connections of `conns` (token, last active) silent for
/// [`IDLE_TIMEOUT`] at `now`.
pub(crate) fn timed_out(conns: impl Iterator<Item = (Token, Instant)>, now: Instant) -> Vec<Token> {
    conns
        .filter(|(_, last)| now.saturating_duration_since(*last) >= IDLE_TIMEOUT)
        .map(|(t, _)| t)
        .collect()
}
