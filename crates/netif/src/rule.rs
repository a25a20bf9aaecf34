//! [`Rule`]: a routing policy rule (`ip rule`), keepalived's
//! `virtual_rules` and `static_rules`, and its rtnetlink message.
//!
//! A rule message is a `struct fib_rule_hdr` (linux/fib_rules.h) with
//! `FRA_*` attributes. Its header has the layout of a route's `struct
//! rtmsg` (family, dst_len, src_len, tos, table, two reserved bytes,
//! action, flags), so it is built with the route message type: the
//! reserved bytes are zero and the action `FR_ACT_TO_TBL` (1) sits where
//! a route's type would.

use std::io;
use std::net::IpAddr;

use neli::consts::rtnl::{RtAddrFamily, RtScope, RtTable, Rta, Rtn, Rtprot};
use neli::rtnl::{Rtmsg, RtmsgBuilder};
use neli::types::{Buffer, RtBuffer};

/// `FRA_IIFNAME` (linux/fib_rules.h).
const FRA_IIFNAME: u16 = 3;
/// `FRA_PRIORITY`.
const FRA_PRIORITY: u16 = 6;
/// `FRA_FWMARK`.
const FRA_FWMARK: u16 = 10;
/// `FRA_TABLE`.
const FRA_TABLE: u16 = 15;
/// `FRA_OIFNAME`.
const FRA_OIFNAME: u16 = 17;
/// `FRA_DST`.
const FRA_DST: u16 = 1;
/// `FRA_SRC`.
const FRA_SRC: u16 = 2;

/// A routing policy rule: traffic that matches (`from`, `to`, `iif`,
/// `oif`, `fwmark`) looks up `table`. keepalived's `virtual_rules` and
/// `static_rules` with their common options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// IPv6 (else IPv4); follows `from` / `to` when they are given.
    pub ipv6: bool,
    /// Source network.
    pub from: Option<(IpAddr, u8)>,
    /// Destination network.
    pub to: Option<(IpAddr, u8)>,
    /// Incoming interface.
    pub iif: Option<String>,
    /// Outgoing interface.
    pub oif: Option<String>,
    /// Firewall mark.
    pub fwmark: Option<u32>,
    /// Preference (`ip rule ... priority N`); the kernel picks one if
    /// `None`, which keepalived advises against.
    pub priority: Option<u32>,
    /// The table to look up.
    pub table: u32,
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(p) = self.priority {
            write!(f, "priority {p} ")?;
        }
        if let Some((a, l)) = self.from {
            write!(f, "from {a}/{l} ")?;
        }
        if let Some((a, l)) = self.to {
            write!(f, "to {a}/{l} ")?;
        }
        if let Some(i) = &self.iif {
            write!(f, "iif {i} ")?;
        }
        if let Some(o) = &self.oif {
            write!(f, "oif {o} ")?;
        }
        if let Some(m) = self.fwmark {
            write!(f, "fwmark {m} ")?;
        }
        write!(f, "table {}", self.table)
    }
}

fn invalid<E: std::fmt::Display>(e: E) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, e.to_string())
}

fn attr<P: neli::ToBytes + neli::Size>(
    ty: u16,
    payload: P,
) -> io::Result<neli::rtnl::Rtattr<Rta, Buffer>> {
    neli::rtnl::RtattrBuilder::default()
        .rta_type(Rta::from(ty))
        .rta_payload(payload)
        .build()
        .map_err(invalid)
}

fn ip_bytes(a: IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

/// An interface name as the kernel wants it: NUL-terminated.
fn ifname(name: &str) -> Vec<u8> {
    let mut v = name.as_bytes().to_vec();
    v.push(0);
    v
}

/// The `RTM_NEWRULE` / `RTM_DELRULE` payload of `r`.
pub(crate) fn rule_msg(r: &Rule) -> io::Result<Rtmsg> {
    let mut attrs = RtBuffer::<Rta, Buffer>::new();
    if let Some((a, _)) = r.from {
        attrs.push(attr(FRA_SRC, Buffer::from(ip_bytes(a)))?);
    }
    if let Some((a, _)) = r.to {
        attrs.push(attr(FRA_DST, Buffer::from(ip_bytes(a)))?);
    }
    if let Some(i) = &r.iif {
        attrs.push(attr(FRA_IIFNAME, Buffer::from(ifname(i)))?);
    }
    if let Some(o) = &r.oif {
        attrs.push(attr(FRA_OIFNAME, Buffer::from(ifname(o)))?);
    }
    if let Some(m) = r.fwmark {
        attrs.push(attr(FRA_FWMARK, m)?);
    }
    if let Some(p) = r.priority {
        attrs.push(attr(FRA_PRIORITY, p)?);
    }
    attrs.push(attr(FRA_TABLE, r.table)?);
    let family = if r.ipv6 {
        RtAddrFamily::Inet6
    } else {
        RtAddrFamily::Inet
    };
    RtmsgBuilder::default()
        .rtm_family(family)
        .rtm_dst_len(r.to.map_or(0, |(_, l)| l))
        .rtm_src_len(r.from.map_or(0, |(_, l)| l))
        .rtm_tos(0)
        // The 8-bit field says "see FRA_TABLE" for tables above 255.
        .rtm_table(u8::try_from(r.table).map_or(RtTable::Unspec, RtTable::from))
        // fib_rule_hdr's res1 and res2: zero.
        .rtm_protocol(Rtprot::Unspec)
        .rtm_scope(RtScope::Universe)
        // FR_ACT_TO_TBL = 1 = RTN_UNICAST.
        .rtm_type(Rtn::Unicast)
        .rtattrs(attrs)
        .build()
        .map_err(invalid)
}
