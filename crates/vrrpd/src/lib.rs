//! The `vrrpd` daemon as a library: configuration loading and validation.
//!
//! What is here now: the strict TOML configuration ([`config`]) used by
//! `vrrpd check`. What is not here yet: the event loop, control socket and
//! hooks (the `run`, `status`, `switchover` and `maintenance` commands are
//! not built; see the project's issues).
#![forbid(unsafe_code)]

pub mod config;
