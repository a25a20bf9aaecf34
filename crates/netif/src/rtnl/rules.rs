//! The rtnetlink message of a routing policy rule ([`Rule`]).
//!
//! A rule message is a `struct fib_rule_hdr` (linux/fib_rules.h) with
//! `FRA_*` attributes. Its header has the layout of a route's `struct
//! rtmsg` (family, dst_len, src_len, tos, table, two reserved bytes,
//! action, flags), so it is built with the route message type: the
//! reserved bytes are zero and the action `FR_ACT_TO_TBL` (1) sits where
//! a route's type would.

use std::io;

use neli::consts::rtnl::{RtAddrFamily, RtScope, RtTable, Rta, Rtn, Rtprot};
use neli::rtnl::{Rtmsg, RtmsgBuilder};
use neli::types::{Buffer, RtBuffer};

use super::attr::{attr, invalid, ip_bytes};
use crate::rule::Rule;

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
        attrs.push(attr(Rta::from(FRA_SRC), Buffer::from(ip_bytes(a)))?);
    }
    if let Some((a, _)) = r.to {
        attrs.push(attr(Rta::from(FRA_DST), Buffer::from(ip_bytes(a)))?);
    }
    if let Some(i) = &r.iif {
        attrs.push(attr(Rta::from(FRA_IIFNAME), Buffer::from(ifname(i)))?);
    }
    if let Some(o) = &r.oif {
        attrs.push(attr(Rta::from(FRA_OIFNAME), Buffer::from(ifname(o)))?);
    }
    if let Some(m) = r.fwmark {
        attrs.push(attr(Rta::from(FRA_FWMARK), m)?);
    }
    if let Some(p) = r.priority {
        attrs.push(attr(Rta::from(FRA_PRIORITY), p)?);
    }
    attrs.push(attr(Rta::from(FRA_TABLE), r.table)?);
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
