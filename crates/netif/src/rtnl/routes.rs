//! Routes and routing policy rules: adding and removing them.

use std::io;

use neli::consts::nl::NlmF;
use neli::consts::rtnl::{RtAddrFamily, RtScope, RtTable, Rta, Rtm, Rtn, Rtprot};
use neli::rtnl::{Rtmsg, RtmsgBuilder};
use neli::types::{Buffer, RtBuffer};

use super::addrs::check_prefix;
use super::attr::{attr, invalid, ip_bytes};
use super::rules::rule_msg;
use super::{Netlink, Route};
use crate::error::{Error, Result};
use crate::rule::Rule;

impl Netlink {
    /// Adds `route` (to the main table unless it names one). Returns
    /// `Ok(false)` if it was already there (`EEXIST` is not an error).
    pub fn add_route(&mut self, route: &Route) -> Result<bool> {
        check_prefix(route.dst, route.prefix_len)?;
        route_msg(route)
            .and_then(|msg| {
                self.change(Rtm::Newroute, NlmF::CREATE | NlmF::EXCL, msg, libc::EEXIST)
            })
            .map_err(|source| Error::Route {
                op: "adding",
                route: route.clone(),
                source,
            })
    }

    /// Removes `route`. Returns `Ok(false)` if it was not there (`ESRCH`
    /// is not an error).
    pub fn del_route(&mut self, route: &Route) -> Result<bool> {
        check_prefix(route.dst, route.prefix_len)?;
        route_msg(route)
            .and_then(|msg| self.change(Rtm::Delroute, NlmF::empty(), msg, libc::ESRCH))
            .map_err(|source| Error::Route {
                op: "removing",
                route: route.clone(),
                source,
            })
    }

    /// Adds routing policy `rule`. Returns `Ok(false)` if it was already
    /// there (`EEXIST` is not an error).
    pub fn add_rule(&mut self, rule: &Rule) -> Result<bool> {
        rule_msg(rule)
            .and_then(|msg| self.change(Rtm::Newrule, NlmF::CREATE | NlmF::EXCL, msg, libc::EEXIST))
            .map_err(|source| Error::Rule {
                op: "adding",
                rule: Box::new(rule.clone()),
                source,
            })
    }

    /// Removes routing policy `rule`. Returns `Ok(false)` if it was not
    /// there (`ENOENT` is not an error).
    pub fn del_rule(&mut self, rule: &Rule) -> Result<bool> {
        rule_msg(rule)
            .and_then(|msg| self.change(Rtm::Delrule, NlmF::empty(), msg, libc::ENOENT))
            .map_err(|source| Error::Rule {
                op: "removing",
                rule: Box::new(rule.clone()),
                source,
            })
    }
}

/// The `RTM_NEWROUTE` / `RTM_DELROUTE` payload of `r`.
fn route_msg(r: &Route) -> io::Result<Rtmsg> {
    let mut attrs = RtBuffer::<Rta, Buffer>::new();
    attrs.push(attr(Rta::Dst, Buffer::from(ip_bytes(r.dst)))?);
    if let Some(g) = r.gateway {
        attrs.push(attr(Rta::Gateway, Buffer::from(ip_bytes(g)))?);
    }
    if let Some(i) = r.oif {
        attrs.push(attr(Rta::Oif, i)?);
    }
    if let Some(m) = r.metric {
        attrs.push(attr(Rta::Priority, m)?);
    }
    let table = r.table.unwrap_or(u32::from(libc::RT_TABLE_MAIN));
    attrs.push(attr(Rta::Table, table)?);
    let family = if r.dst.is_ipv4() {
        RtAddrFamily::Inet
    } else {
        RtAddrFamily::Inet6
    };
    // A route without a next hop is on-link.
    let scope = if r.gateway.is_some() {
        RtScope::Universe
    } else {
        RtScope::Link
    };
    RtmsgBuilder::default()
        .rtm_family(family)
        .rtm_dst_len(r.prefix_len)
        .rtm_src_len(0)
        .rtm_tos(0)
        // The 8-bit field says "see RTA_TABLE" for tables above 255.
        .rtm_table(u8::try_from(table).map_or(RtTable::Unspec, RtTable::from))
        .rtm_protocol(Rtprot::Static)
        .rtm_scope(scope)
        .rtm_type(Rtn::Unicast)
        .rtattrs(attrs)
        .build()
        .map_err(invalid)
}
