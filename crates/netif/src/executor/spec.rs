//! What the executor needs to know about a router beyond its state
//! machine: where its packets, addresses and routes go.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use vrrp_fsm::{ConfigBuilder, ConfigError};
use vrrp_proto::{Family, V3Ipv4PseudoHeader, VirtualAddrs, Vrid};

use crate::error::{Error, Result};
use crate::socket::Mode;

/// Where a router runs (see [`Executor::resolve`](super::Executor::resolve)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// Its interface.
    pub ifindex: u32,
    /// The address adverts leave from: the state machine's primary address.
    pub source: IpAddr,
}

/// One virtual address: how it is installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipSpec {
    /// The address.
    pub addr: IpAddr,
    /// Its prefix length (a host route, /32 or /128, by default).
    pub prefix_len: u8,
    /// IPv4 address label (must start with the interface name).
    pub label: Option<String>,
    /// Another interface than the router's (keepalived's `dev`); it must
    /// exist when the router is added, and is looked up by name each time
    /// the address is installed.
    pub interface: Option<String>,
}

impl VipSpec {
    /// A host route for `addr` on the router's interface.
    pub fn host(addr: IpAddr) -> Self {
        VipSpec {
            addr,
            prefix_len: if addr.is_ipv4() { 32 } else { 128 },
            label: None,
            interface: None,
        }
    }
}

/// A route installed while the router holds its addresses (keepalived's
/// `virtual_routes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSpec {
    /// Destination network.
    pub dst: IpAddr,
    /// Its prefix length.
    pub prefix_len: u8,
    /// Next hop.
    pub gateway: Option<IpAddr>,
    /// Outgoing interface by name; with neither this nor a gateway, the
    /// interface that carries the router's addresses.
    pub interface: Option<String>,
    /// Metric.
    pub metric: Option<u32>,
    /// Routing table (`None`: main).
    pub table: Option<u32>,
}

/// A router's I/O: interface, source, peers, addresses, virtual MAC,
/// routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterSpec {
    /// The interface adverts go out of and come in on.
    pub interface: String,
    /// A fixed source address; `None` takes the interface's primary IPv4
    /// address or its IPv6 link-local address, and follows it when it
    /// changes (the router restarts: the source is its identity in
    /// elections).
    pub source: Option<IpAddr>,
    /// Unicast peers instead of multicast (keepalived's `unicast_peer`).
    pub unicast_peers: Vec<IpAddr>,
    /// The VRRPv3-over-IPv4 checksum form to send (received adverts are
    /// accepted in either form).
    pub v3_ipv4_checksum: V3Ipv4PseudoHeader,
    /// How each virtual address is installed; an address of the state
    /// machine not listed here is a host route on the router's interface.
    pub vips: Vec<VipSpec>,
    /// IPv4 only: a macvlan (bridge mode) with the virtual MAC
    /// 00:00:5e:00:01:VRID ([RFC 9568 §7.3]) made on the interface, which
    /// carries the addresses and announces the virtual MAC; adverts still
    /// leave from the parent. As keepalived's `use_vmac`, `arp_ignore=1`
    /// on the parent and the macvlan and `arp_announce=2` on the parent,
    /// restored when the last macvlan of the parent goes.
    ///
    /// [RFC 9568 §7.3]: https://www.rfc-editor.org/rfc/rfc9568#section-7.3
    pub vmac: Option<String>,
    /// Routes that follow the addresses.
    pub routes: Vec<RouteSpec>,
    /// Routing policy rules that follow the addresses (keepalived's
    /// `virtual_rules`): added after the routes, removed before them.
    pub rules: Vec<crate::Rule>,
    /// Whether the interface's link state puts the router in Fault (the
    /// default). keepalived's `dont_track_primary` turns it off: the
    /// router keeps its state while its interface is down.
    pub track_link: bool,
    /// keepalived's `promote_secondaries`: while the router is placed, its
    /// interface promotes a secondary IPv4 address when the primary of its
    /// subnet is removed (`net.ipv4.conf.IF.promote_secondaries`, whatever
    /// the router's family, as keepalived sets it), so
    /// that removing a virtual address never takes another address of its
    /// subnet with it. The old value comes back when the interface's last
    /// such router goes. Virtual MAC interfaces always promote.
    pub promote_secondaries: bool,
    /// keepalived's `track_src_ip`: with a fixed [`RouterSpec::source`],
    /// the router is in Fault while that address is not on its interface
    /// ([`vrrp_fsm::Node::set_source_present`]).
    pub track_source: bool,
}

impl RouterSpec {
    /// A router on `interface`, multicast, source picked from the
    /// interface, host routes, no virtual MAC, no routes.
    pub fn on(interface: impl Into<String>) -> Self {
        RouterSpec {
            interface: interface.into(),
            source: None,
            unicast_peers: Vec::new(),
            v3_ipv4_checksum: V3Ipv4PseudoHeader::default(),
            vips: Vec::new(),
            vmac: None,
            routes: Vec::new(),
            rules: Vec::new(),
            track_link: true,
            promote_secondaries: false,
            track_source: false,
        }
    }

    /// The same with host routes for `addrs`.
    pub fn with_vips(mut self, addrs: impl IntoIterator<Item = IpAddr>) -> Self {
        self.vips.extend(addrs.into_iter().map(VipSpec::host));
        self
    }

    /// Multicast, or unicast to the peers.
    pub fn mode(&self) -> Mode {
        if self.unicast_peers.is_empty() {
            Mode::Multicast
        } else {
            Mode::Unicast(self.unicast_peers.clone())
        }
    }

    /// The addresses listed.
    pub fn vip_addrs(&self) -> Vec<IpAddr> {
        self.vips.iter().map(|v| v.addr).collect()
    }

    /// How `addr` is installed: its entry, else one of `retired`, else a
    /// host route on the router's interface.
    pub(super) fn vip(&self, addr: IpAddr, retired: &[VipSpec]) -> VipSpec {
        self.vips
            .iter()
            .chain(retired)
            .find(|v| v.addr == addr)
            .cloned()
            .unwrap_or_else(|| VipSpec::host(addr))
    }
}

/// The family and VRID of a configuration still missing its primary
/// address (a builder has no getters: build it with a stand-in).
pub(super) fn probe(cfg: &ConfigBuilder) -> Result<(Family, Vrid)> {
    let built = match cfg.clone().primary_addr(Ipv4Addr::UNSPECIFIED).build() {
        Err(ConfigError::PrimaryFamily) => cfg
            .clone()
            .primary_addr(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1))
            .build(),
        other => other,
    }
    .map_err(|source| Error::Config { source })?;
    let family = match built.virtual_addrs() {
        VirtualAddrs::V4(_) => Family::V4,
        VirtualAddrs::V6(_) => Family::V6,
    };
    Ok((family, built.vrid()))
}
