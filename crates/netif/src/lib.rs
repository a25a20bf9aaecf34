//! Linux I/O for VRRP: everything between the `vrrp-fsm` state machine and
//! the kernel.
//!
//! What it does:
//! - [`VrrpSocket`]: raw IP protocol 112 sockets, one per interface and
//!   family, shared by every virtual router on that interface: multicast
//!   group membership on that interface only, TTL / hop limit 255 on send,
//!   the received TTL / hop limit reported with every packet, explicit
//!   source address, kernel IPv6 checksums, optional unicast peers.
//!   Non-blocking and registered with mio.
//! - [`Netlink`]: rtnetlink (through `neli`) to add and remove virtual
//!   addresses (idempotently), list addresses (to find VIPs a crashed run
//!   left behind), look interfaces up, and create or delete a macvlan.
//! - [`VirtualMacs`]: the macvlan that carries a virtual MAC (keepalived's
//!   `use_vmac`), with the parent's ARP settings it needs, restored on drop.
//! - [`NetEvents`]: link up/down and address added/removed events, typed,
//!   non-blocking, registered with mio.
//! - [`GarpSender`] and [`NaSender`]: gratuitous ARP on a send-only
//!   `AF_PACKET` socket and unsolicited neighbour advertisements on an
//!   ICMPv6 raw socket, with frames built by `vrrp-proto`.
//! - [`executor`] (feature `executor`, on by default): the one Linux
//!   executor of a [`vrrp_fsm::Node`] on these parts. `vrrpd` runs it, and
//!   so can any service that embeds failover: with its own blocking loop,
//!   in a caller's mio loop, or under tokio (`examples/tokio.rs`).
//!
//! What it does not do: no protocol decisions (which packets to accept
//! beyond the socket-level rules, when to take over: that is `vrrp-fsm`),
//! no packet encoding or checksums for IPv4 (that is `vrrp-proto`), no
//! configuration files, no threads, no timers of its own, and nothing but
//! Linux. Every call works in the network namespace of the calling thread.
//!
//! Sockets need `CAP_NET_RAW`; address, link and macvlan changes need
//! `CAP_NET_ADMIN`.
//!
//! # Using the parts directly (as `vrrpd` does)
//!
//! ```no_run
//! use std::time::Duration;
//! use mio::{Events, Interest, Poll, Token};
//! use netif::{Mode, NetEvent, NetEvents, Netlink, VrrpSocket, VRRP_TTL};
//!
//! let mut nl = Netlink::new()?;
//! let eth0 = netif::ifindex("eth0")?;
//! let vip = "192.0.2.100".parse()?;
//! nl.remove_stale_vips(eth0, &[vip])?; // left by a crashed earlier run
//! let src = nl.primary_ipv4(eth0, &[vip])?.ok_or("no IPv4 address")?;
//! let mut sock = VrrpSocket::open(eth0, src.into(), Mode::Multicast)?;
//! let mut events = NetEvents::subscribe(&nl.links()?)?;
//!
//! let mut poll = Poll::new()?;
//! poll.registry().register(&mut sock, Token(0), Interest::READABLE)?;
//! poll.registry().register(&mut events, Token(1), Interest::READABLE)?;
//! let (mut ready, mut buf, mut evs) = (Events::with_capacity(8), vec![0; 65535], Vec::new());
//! loop {
//!     poll.poll(&mut ready, Some(Duration::from_millis(100)))?;
//!     // Edge-triggered: read until nothing is left.
//!     while let Some(pkt) = sock.recv(&mut buf)? {
//!         // Demultiplex by VRID (payload[1]); the state machine drops
//!         // pkt.ttl != VRRP_TTL (RFC 9568 §7.1).
//!         let _ = (pkt.src, pkt.dst, pkt.ttl == VRRP_TTL, pkt.payload);
//!     }
//!     evs.clear();
//!     events.read(&mut evs)?;
//!     for ev in &evs {
//!         if let NetEvent::LinkDown(link) = ev {
//!             println!("{} down: fault", link.name);
//!         }
//!     }
//!     nl.add_addr(eth0, vip, 32, Some("eth0:vrrp"))?; // idempotent
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Or the ready executor
//!
//! [`executor::Executor`] runs a whole [`vrrp_fsm::Node`] (many routers and
//! sync groups) on these parts; its module documentation shows the
//! blocking loop, `examples/failover.rs` a complete service that hands
//! over on SIGTERM, and `examples/tokio.rs` the same inside tokio.
//!
//! # Tests
//!
//! The integration tests (`tests/`) build throwaway network namespaces
//! (veth pairs into a bridge namespace, names `nif-<test>-<pid>-*`, deleted
//! by a `Drop` guard) and check on the wire (tshark and our own receive
//! sockets) and in the kernel (`ip addr`, `ip neigh`, `ip link`). Test
//! bodies enter a namespace on a dedicated thread with
//! `setns(CLONE_NEWNET)`; see `tests/common/mod.rs`. They need root and skip
//! with a message otherwise.

/// `mio::event::Source` for a type that is one pollable file descriptor
/// ([`AsRawFd`](std::os::fd::AsRawFd)): it registers that descriptor.
macro_rules! source_by_fd {
    ($t:ty) => {
        impl mio::event::Source for $t {
            fn register(
                &mut self,
                registry: &mio::Registry,
                token: mio::Token,
                interests: mio::Interest,
            ) -> std::io::Result<()> {
                let fd = std::os::fd::AsRawFd::as_raw_fd(self);
                mio::unix::SourceFd(&fd).register(registry, token, interests)
            }

            fn reregister(
                &mut self,
                registry: &mio::Registry,
                token: mio::Token,
                interests: mio::Interest,
            ) -> std::io::Result<()> {
                let fd = std::os::fd::AsRawFd::as_raw_fd(self);
                mio::unix::SourceFd(&fd).reregister(registry, token, interests)
            }

            fn deregister(&mut self, registry: &mio::Registry) -> std::io::Result<()> {
                let fd = std::os::fd::AsRawFd::as_raw_fd(self);
                mio::unix::SourceFd(&fd).deregister(registry)
            }
        }
    };
}

mod announce;
mod error;
mod events;
#[cfg(feature = "executor")]
pub mod executor;
mod route;
mod rtnl;
mod rule;
mod socket;
mod sys;
mod sysctl;
mod vmac;

pub use announce::{ALL_NODES, GarpSender, NaSender};
pub use error::{Error, Result};
pub use events::{NetEvent, NetEvents};
pub use rtnl::{
    IfAddr, Link, MAX_IFNAME_LEN, Netlink, OperState, Route, ifindex, validate_ifname,
    validate_label, virtual_mac,
};
pub use rule::Rule;
pub use socket::{
    IPPROTO_VRRP, Mode, RECV_BUFFER, Received, RecvBatch, SocketStats, VRRP_GROUP_V4,
    VRRP_GROUP_V6, VRRP_TTL, VrrpSocket,
};
pub use vmac::{VirtualMacs, VmacLink};
pub use vrrp_proto::Family;
