//! The `vrrpd` daemon as a library: the strict TOML configuration, the
//! runtime behind `vrrpd run`, the control socket, and import of keepalived
//! configurations.
//!
//! What is here:
//! - [`config`]: the configuration, validated with `file:line:column`
//!   diagnostics (`vrrpd check`).
//! - [`runtime`]: `vrrpd run`: one single-threaded mio loop driving a
//!   `vrrp_fsm::VirtualRouter` per instance (and `vrrp_fsm::SyncGroup`s)
//!   on `netif`'s sockets, with `healthcheck` checks, notify hooks
//!   ([`runtime::hooks`]), reload by difference ([`runtime::reload`]),
//!   make-before-break stop, the status model ([`runtime::status`]) and
//!   the Prometheus endpoint ([`runtime::metrics`]).
//!   `docs/operations.md` describes its behaviour.
//! - [`control`]: the control socket protocol (`vrrpd status`,
//!   `switchover`, `maintenance`), server and client.
//! - [`sd_notify`]: readiness notification to systemd.
//! - [`import`]: keepalived.conf to TOML (`vrrpd import-keepalived`).
//!
//! What is not here: protocol decisions (they are `vrrp-fsm`'s; the daemon
//! only carries out its actions), packet formats (`vrrp-proto`), socket and
//! netlink code (`netif`), probes (`healthcheck`). Not implemented yet:
//! a virtual MAC (`use_vmac`) for IPv6 instances.
#![deny(unsafe_code)]

pub mod config;
pub mod control;
pub mod import;
pub mod runtime;
pub mod sd_notify;
