//! The `vrrpd` daemon as a library: the strict TOML configuration, the
//! runtime behind `vrrpd run`, the control socket, and import of keepalived
//! configurations.
//!
//! What is here:
//! - [`config`]: the configuration, validated with `file:line:column`
//!   diagnostics (`vrrpd check`).
//! - [`runtime`]: `vrrpd run`: one single-threaded mio loop around
//!   `netif`'s executor (which runs every instance and sync group as one
//!   `vrrp_fsm::Node`), with `healthcheck` checks feeding tracked
//!   priorities, notify hooks ([`runtime::hooks`]), reload by difference
//!   ([`runtime::reload`]), make-before-break stop, one typed status
//!   snapshot ([`runtime::status`]) behind both `status --json` and the
//!   Prometheus endpoint ([`runtime::metrics`]). `docs/operations.md`
//!   describes its behaviour, `docs/architecture.md` its layout.
//! - [`control`]: the control socket protocol (`vrrpd status`,
//!   `switchover`, `maintenance`), server and client.
//! - [`sd_notify`]: readiness notification to systemd.
//! - [`mail`]: e-mail alerts on state changes, sent by a worker thread.
//! - [`import`]: keepalived.conf to TOML (`vrrpd import-keepalived`).
//!
//! What is not here: protocol decisions (they are `vrrp-fsm`'s), packet
//! formats (`vrrp-proto`), sockets, packet handling, addresses and link
//! events (`netif`'s executor), probes (`healthcheck`). Not implemented yet:
//! a virtual MAC (`use_vmac`) for IPv6 instances.
#![deny(unsafe_code)]

pub mod config;
pub mod control;
pub mod import;
pub mod mail;
pub mod runtime;
pub mod sd_notify;
