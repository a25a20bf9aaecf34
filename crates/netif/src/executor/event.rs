//! What the executor reports: [`Event`]s, and the counters it keeps per
//! router and per socket.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use vrrp_fsm::{DiscardReason, GroupId, LinkId, Mismatch, RouterId, State, StateChange};

use super::lateness::Lateness;
use crate::error::Error;
use crate::rtnl::Route;
use crate::socket::SocketStats;

/// What the executor reports, in order. Each is worth a log line.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// A router changed state.
    StateChanged {
        /// Which router.
        router: RouterId,
        /// From, to and why.
        change: StateChange,
    },
    /// A sync group changed state, after its members' changes.
    GroupChanged {
        /// Which group.
        group: GroupId,
        /// State before.
        from: State,
        /// State now.
        to: State,
    },
    /// A router stopped; it can be removed ([`Executor::remove`](super::Executor::remove)).
    Stopped {
        /// Which router.
        router: RouterId,
    },
    /// A router discarded an advert (RFC 9568 §7.1: "SHOULD log").
    Discarded {
        /// Which router.
        router: RouterId,
        /// The advert's source.
        src: IpAddr,
        /// Why.
        reason: DiscardReason,
    },
    /// An advert disagreed with the configuration but was processed.
    Mismatch {
        /// Which router.
        router: RouterId,
        /// The advert's source.
        src: IpAddr,
        /// What disagreed.
        mismatch: Mismatch,
    },
    /// As Master, the router heard an advert of a router it wins against
    /// (only for routers whose configuration asks,
    /// [`vrrp_fsm::ConfigBuilder::report_lower_priority`]).
    LowerPriorityHeard {
        /// Which router.
        router: RouterId,
        /// The advert's source.
        src: IpAddr,
        /// The priority it carried.
        priority: vrrp_proto::Priority,
    },
    /// A virtual address was added or removed.
    Vip {
        /// Which router.
        router: RouterId,
        /// The address and prefix length.
        addr: IpAddr,
        /// Its prefix length.
        prefix_len: u8,
        /// The interface name.
        interface: String,
        /// Added (true) or removed.
        added: bool,
    },
    /// A virtual address left on the host by an earlier run was removed
    /// when a router with it was added.
    StaleVipRemoved {
        /// The interface.
        ifindex: u32,
        /// The address.
        addr: IpAddr,
        /// Its prefix length.
        prefix_len: u8,
    },
    /// A virtual address that disappeared while the router held it was
    /// put back.
    VipRestored {
        /// Which router.
        router: RouterId,
        /// The address.
        addr: IpAddr,
    },
    /// A route of [`RouterSpec::routes`](super::RouterSpec::routes) was installed or withdrawn.
    Route {
        /// Which router.
        router: RouterId,
        /// The route.
        route: Route,
        /// Installed (true) or withdrawn.
        added: bool,
    },
    /// A rule of [`RouterSpec::rules`](super::RouterSpec::rules) was installed or withdrawn.
    Rule {
        /// Which router.
        router: RouterId,
        /// The rule.
        rule: crate::Rule,
        /// Installed (true) or withdrawn.
        added: bool,
    },
    /// A link changed (every interface, not only the routers').
    Link {
        /// Its index.
        ifindex: u32,
        /// Its name.
        name: String,
        /// Usable (administratively up with a carrier).
        up: bool,
    },
    /// A virtual MAC interface was deleted by someone else and made again.
    VmacRecreated {
        /// Which router.
        router: RouterId,
        /// The interface name.
        name: String,
    },
    /// Routers were restarted on their interface: it was deleted and
    /// created again, or its source address changed.
    Restarted {
        /// Every router restarted (whole sync groups).
        routers: Vec<RouterId>,
        /// Why, in words.
        why: String,
    },
    /// Sending adverts failed for a router that sent before (logged once
    /// until [`Event::SendRecovered`]).
    SendFailing {
        /// Which router.
        router: RouterId,
        /// The first error.
        error: Error,
    },
    /// An advert left later after its deadline than the warning threshold
    /// ([`Executor::set_late_warning`](super::Executor::set_late_warning)).
    AdvertLate {
        /// Which router.
        router: RouterId,
        /// How late it left.
        late: Duration,
        /// The router's advert interval.
        interval: Duration,
    },
    /// A router whose sends failed sends again.
    SendRecovered {
        /// Which router.
        router: RouterId,
    },
    /// Carrying out an action failed; the router goes on.
    Error {
        /// The router whose action failed, if any.
        router: Option<RouterId>,
        /// What failed.
        error: Error,
    },
}

/// Per-router counters of what the executor did for it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RouterCounters {
    /// Adverts the kernel refused (or that could not be encoded).
    pub send_errors: u64,
    /// Virtual address changes that failed.
    pub address_errors: u64,
    /// Virtual addresses put back after they disappeared.
    pub addresses_restored: u64,
    /// Route changes that failed.
    pub route_errors: u64,
    /// Gratuitous ARPs sent.
    pub garp_sent: u64,
    /// Unsolicited NAs sent.
    pub na_sent: u64,
    /// Announcements that failed.
    pub announce_errors: u64,
    /// How late its adverts left against their deadlines.
    pub lateness: Lateness,
}

/// Per-socket counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SocketCounters {
    /// Datagrams read.
    pub received: u64,
    /// Valid adverts for a VRID no router on the socket runs.
    pub unknown_vrid: u64,
    /// VRRPv3 IPv4 adverts whose checksum covered the pseudo-header.
    pub v3_ipv4_with_pseudo_header: u64,
    /// VRRPv3 IPv4 adverts whose checksum did not.
    pub v3_ipv4_without_pseudo_header: u64,
    /// Datagrams that did not parse, by reason (`vrrp_proto::ParseError`
    /// variant in snake case).
    pub parse_errors: BTreeMap<String, u64>,
}

/// One socket as [`Executor::sockets`](super::Executor::sockets) reports it.
#[derive(Debug, Clone)]
pub struct SocketInfo {
    /// The link id of the node's routers on it.
    pub link: LinkId,
    /// Interface name.
    pub interface: String,
    /// Source address.
    pub source: IpAddr,
    /// Unicast peers instead of multicast.
    pub unicast: bool,
    /// What the executor counted.
    pub counters: SocketCounters,
    /// What the socket itself skipped.
    pub stats: SocketStats,
}
