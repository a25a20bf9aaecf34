//! The `vrrpd` daemon as a library: configuration loading and validation,
//! and import of keepalived configurations.
//!
//! What is here now: the strict TOML configuration ([`config`]) used by
//! `vrrpd check`, and [`import`] of a keepalived.conf (`vrrpd
//! import-keepalived`). What is not here yet: the event loop, control socket and
//! hooks (the `run`, `status`, `switchover` and `maintenance` commands are
//! not built; see the project's issues).
#![forbid(unsafe_code)]

pub mod config;
pub mod control;
pub mod import;
pub mod sd_notify;
