//! Routes and routing policy rules: adding and removing them.

use std::io;

use neli::consts::nl::NlmF;
use neli::consts::rtnl::{RtAddrFamily, RtScope, RtTable, Rta, Rtm, Rtn, Rtprot};
use neli::rtnl::{Rtmsg, RtmsgBuilder};
use neli::types::{Buffer, RtBuffer};

use super::addrs::check_prefix;
use super::attr::{attr, invalid, ip_bytes};
use super::{Netlink, Route};
use crate::error::{Error, Result};

impl Netlink {
    /// Adds `route` (to the main table unless it names one). Returns
    /// `Ok(false)` if it was already there (`EEXIST` is not an error).
    pub fn add_route(&mut self, route: &Route) -> Result<bool> {
        let wrap = |source| Error::Route {
            op: "adding",
            route: route.clone(),
            source,
        };
        check_prefix(route.dst, route.prefix_len)?;
        let msg = route_msg(route).map_err(wrap)?;
        match self.request(Rtm::Newroute, NlmF::CREATE | NlmF::EXCL, msg) {
            Ok(_) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => Ok(false),
            Err(e) => Err(wrap(e)),
        }
    }

    /// Removes `route`. Returns `Ok(false)` if it was not there (`ESRCH`
    /// is not an error).
    pub fn del_route(&mut self, route: &Route) -> Result<bool> {
        let wrap = |source| Error::Route {
            op: "removing",
            route: route.clone(),
            source,
        };
        check_prefix(route.dst, route.prefix_len)?;
        let msg = route_msg(route).map_err(wrap)?;
        match self.request(Rtm::Delroute, NlmF::empty(), msg) {
            Ok(_) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Ok(false),
            Err(e) => Err(wrap(e)),
        }
    }

    /// Adds routing policy `rule`. Returns `Ok(false)` if it was already
    /// there (`EEXIST` is not an error).
    pub fn add_rule(&mut self, rule: &crate::rule::Rule) -> Result<bool> {
        let wrap = |source| Error::Rule {
            op: "adding",
            rule: Box::new(rule.clone()),
            source,
        };
        let msg = crate::rule::rule_msg(rule).map_err(wrap)?;
        match self.request(Rtm::Newrule, NlmF::CREATE | NlmF::EXCL, msg) {
            Ok(_) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => Ok(false),
            Err(e) => Err(wrap(e)),
        }
    }

    /// Removes routing policy `rule`. Returns `Ok(false)` if it was not
    /// there (`ENOENT` is not an error).
    pub fn del_rule(&mut self, rule: &crate::rule::Rule) -> Result<bool> {
        let wrap = |source| Error::Rule {
            op: "removing",
            rule: Box::new(rule.clone()),
            source,
        };
        let msg = crate::rule::rule_msg(rule).map_err(wrap)?;
        match self.request(Rtm::Delrule, NlmF::empty(), msg) {
            Ok(_) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
            Err(e) => Err(wrap(e)),
        }
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
