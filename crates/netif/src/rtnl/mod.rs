//! rtnetlink requests through neli: virtual addresses, interface lookups and
//! macvlan interfaces.
//!
//! [`Netlink`] owns one blocking `NETLINK_ROUTE` socket and sends one
//! request at a time, waiting for the kernel's answer (an ACK, an error or
//! the end of a dump). It is meant for configuration changes, not for a
//! fast path; link and address *events* come from
//! [`crate::events::NetEvents`], which is non-blocking.
//!
//! By concern: [`Netlink`]'s socket and request loop, addresses, routes
//! and routing policy rules, links (interfaces, macvlans), and the
//! attribute helpers the messages share.

mod addrs;
mod attr;
mod links;
mod routes;
mod rules;
mod socket;

pub use crate::route::Route;
pub use addrs::{IfAddr, validate_label};
pub(crate) use addrs::{is_link_local, parse_ifaddr};
pub(crate) use attr::decode;
pub(crate) use links::parse_link;
pub use links::{Link, OperState, ifindex, validate_ifname, virtual_mac};
pub use socket::Netlink;
pub(crate) use socket::sock_err;

/// `IFNAMSIZ - 1`: the longest interface name (and IPv4 address label).
pub const MAX_IFNAME_LEN: usize = 15;
