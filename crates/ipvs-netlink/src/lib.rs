//! Linux IPVS (the kernel's layer-4 load balancer, LVS) over generic
//! netlink.
//!
//! What it does:
//! - virtual services keyed by address + port + protocol (TCP, UDP, SCTP)
//!   or by firewall mark, IPv4 and IPv6: add, edit, delete, get, list;
//!   scheduler by name (a clear [`Error::SchedulerUnavailable`] when the
//!   kernel has no module for it), persistence timeout and netmask, flags;
//! - destinations (real servers) with forwarding method (NAT, direct
//!   routing, tunnel with IPIP / GUE / GRE encapsulation, local, bypass),
//!   weight and connection thresholds; add, edit, delete, list, with
//!   connection counts and statistics (counters and rates);
//! - the connection-sync daemon (master / backup): start, stop, list;
//! - connection timeouts (get, set), version and table size, flush, zero.
//!
//! It is split the sans-IO way: [`wire`] encodes requests to bytes and
//! decodes the kernel's answers from bytes, with no socket (unit-tested and
//! fuzzed; decoding never panics); [`Ipvs`] is a blocking handle that sends
//! those bytes over a generic netlink socket through `neli`.
//!
//! What it does not do: it keeps no state and makes no decisions (no
//! reconciliation of a wanted table with the kernel's, no health checks —
//! that is the daemon's job); it does not list connections
//! (`/proc/net/ip_vs_conn`) and does not use the old `setsockopt`
//! interface. It needs `CAP_NET_ADMIN` for changes, and works in the
//! network namespace of the thread that opened the handle.
//!
//! A kernel without IPVS gives [`Error::NotAvailable`] at [`Ipvs::new`]
//! (load the module with `modprobe ip_vs`).
//!
//! ```no_run
//! use ipvs_netlink::{Destination, ForwardMethod, Ipvs, Service, ServiceKey};
//! use std::net::Ipv4Addr;
//!
//! let mut ipvs = Ipvs::new()?;
//! let key = ServiceKey::tcp(Ipv4Addr::new(192, 0, 2, 1), 80);
//! ipvs.add_service(&Service::new(key, "rr").persistent(50))?;
//! for rs in [Ipv4Addr::new(10, 0, 0, 11), Ipv4Addr::new(10, 0, 0, 12)] {
//!     ipvs.add_destination(&key, &Destination::new(rs, 80, ForwardMethod::Masq).weight(1))?;
//! }
//! for d in ipvs.list_destinations(&key)? {
//!     println!("{} active {}", d.destination.addr, d.active_conns);
//! }
//! # Ok::<(), ipvs_netlink::Error>(())
//! ```
#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod error;
mod ipvs;
mod types;
pub mod wire;

pub use error::{Error, Op, Result};
pub use ipvs::Ipvs;
pub use types::{
    Destination, DestinationEntry, Family, ForwardMethod, Info, Protocol, Service, ServiceEntry,
    ServiceFlags, ServiceKey, Stats, SyncDaemon, SyncState, Timeouts, Tunnel, TunnelFlags,
    TunnelType,
};
pub use wire::DecodeError;
