//! What the state machine asks its driver to do: [`Action`], and the states
//! and reasons it reports.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use vrrp_proto::Priority;

use crate::stats::{DiscardReason, Mismatch};

/// The state of a virtual router.
///
/// `Initialize`, `Backup` and `Master` are those of [RFC 9568 §6.4] (which
/// calls Master "Active") and [RFC 3768 §6.4]. `Fault` is an extension, as
/// in keepalived: the interface is down or a tracked check in fault mode
/// failed; the router neither sends nor listens, holds no virtual address,
/// and returns through the Startup rules of §6.4.1 when the fault clears.
///
/// [RFC 9568 §6.4]: https://www.rfc-editor.org/rfc/rfc9568#section-6.4
/// [RFC 3768 §6.4]: https://www.rfc-editor.org/rfc/rfc3768#section-6.4
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Waiting for a Startup event (RFC 9568 §6.4.1).
    Initialize,
    /// Monitoring the master (RFC 9568 §6.4.2).
    Backup,
    /// Forwarding for the virtual addresses and advertising (RFC 9568 §6.4.3).
    Master,
    /// Out of service because of a fault (extension; see the type docs).
    Fault,
}

/// Why a state changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// A Startup event (RFC 9568 §6.4.1): Initialize to Backup, or to Master
    /// for the address owner.
    Startup,
    /// The Master_Down_Timer fired (RFC 9568 §6.4.2).
    MasterDown,
    /// A master heard a better advertisement (RFC 9568 §6.4.3).
    HigherPriority,
    /// A Shutdown event (RFC 9568 §6.4.2, §6.4.3).
    Shutdown,
    /// The interface went down.
    InterfaceDown,
    /// A tracked check in fault mode (keepalived weight 0) failed.
    CheckFault,
    /// Another member of the sync group changed state.
    SyncGroup,
    /// The router's fixed source address left its interface (keepalived's
    /// `track_src_ip`).
    SourceMissing,
    /// The last fault cleared; the Startup rules apply again.
    FaultCleared,
    /// The operator handed mastership over (see the crate docs).
    Switchover,
    /// A switchover found no new master within its bound; this router
    /// resumed mastership.
    SwitchoverAborted,
    /// The operator put the router into maintenance.
    Maintenance,
}

/// A change of [`State`], reported after the other actions of the same
/// transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StateChange {
    /// The state left.
    pub from: State,
    /// The state entered.
    pub to: State,
    /// What caused it.
    pub reason: Reason,
}

/// Which advertisement a [`Action::SendAdvert`] asks for; get its contents
/// from [`VirtualRouter::advert`](crate::VirtualRouter::advert).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AdvertKind {
    /// The router's advert with its current (effective) priority.
    Current,
    /// The same advert with priority 0: this master stops (RFC 9568 §6.4.3
    /// "Send an ADVERTISEMENT with Priority = 0").
    Release,
}

/// One thing for the driver to do. Drain them with
/// [`VirtualRouter::poll_action`](crate::VirtualRouter::poll_action) after
/// every input and carry them out in order; the crate docs list the order.
///
/// Actions are small `Copy` values: no action owns memory, so queueing them
/// never allocates once the queue has its capacity.
#[must_use = "actions must be carried out by the driver"]
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Send an advertisement to 224.0.0.18 / ff02::12 with TTL / hop limit
    /// 255 (RFC 9568 §7.2). Encode
    /// [`VirtualRouter::advert(kind)`](crate::VirtualRouter::advert): the
    /// router keeps both adverts prebuilt, so nothing is cloned per advert.
    SendAdvert(AdvertKind),
    /// Install a virtual address on the interface. For IPv6 this also
    /// joins its solicited-node multicast group (RFC 9568 §6.4.2 "Compute
    /// and join the Solicited-Node multicast address"), which the kernel
    /// does when the address is added. Whether packets to it are accepted
    /// is [`VirtualRouter::accepts_vip_traffic`](crate::VirtualRouter::accepts_vip_traffic).
    AddVip(IpAddr),
    /// Remove a virtual address from the interface: a Backup "MUST NOT
    /// respond to ARP requests" / ND solicitations for it and "MUST NOT
    /// accept packets addressed to" it (RFC 9568 §6.4.2).
    RemoveVip(IpAddr),
    /// Broadcast one gratuitous ARP for this IPv4 virtual address (RFC 9568
    /// §6.4.2, erratum 7949: the message carries the virtual IPv4 address,
    /// the link-layer addresses are the virtual router MAC).
    SendGarp(Ipv4Addr),
    /// Send one unsolicited neighbour advertisement (R and O set, S clear)
    /// for this IPv6 virtual address (RFC 9568 §6.4.2).
    SendUnsolicitedNa(Ipv6Addr),
    /// The state changed.
    StateChanged(StateChange),
    /// An advertisement was discarded by a receive check (RFC 9568 §7.1 /
    /// RFC 3768 §7.1: "SHOULD log the event"). Rate-limit the log.
    Discarded {
        /// IP source of the advertisement.
        src: IpAddr,
        /// The check that failed.
        reason: DiscardReason,
    },
    /// An advertisement disagrees with the local configuration in a way the
    /// RFC says to log but still process (RFC 9568 §7.1).
    Mismatch {
        /// IP source of the advertisement.
        src: IpAddr,
        /// What disagrees.
        mismatch: Mismatch,
    },
    /// As Master, an advertisement from a router this one wins against
    /// arrived (RFC 9568 §6.4.3: lower priority, or equal and a lower
    /// address): another router acts as master. Only with
    /// [`ConfigBuilder::report_lower_priority`](crate::ConfigBuilder::report_lower_priority)
    /// (keepalived's `notify_master_rx_lower_pri`).
    LowerPriorityHeard {
        /// IP source of the advertisement.
        src: IpAddr,
        /// The priority it carried.
        priority: Priority,
    },
}
