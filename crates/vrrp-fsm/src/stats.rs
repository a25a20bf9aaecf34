//! Counters: [`Stats`], and the receive-check outcomes they count
//! ([`DiscardReason`], [`Mismatch`]).

/// Why a received advertisement was discarded: one variant per receive
/// check of [RFC 9568 §7.1] and [RFC 3768 §7.1] that needs local state.
///
/// Checks that need only the packet (length, checksum, type, count field,
/// zero interval) are done by `vrrp_proto` before the state machine sees
/// the advert; the driver counts those.
///
/// [RFC 9568 §7.1]: https://www.rfc-editor.org/rfc/rfc9568#section-7.1
/// [RFC 3768 §7.1]: https://www.rfc-editor.org/rfc/rfc3768#section-7.1
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DiscardReason {
    /// IPv4 TTL or IPv6 hop limit not 255 (RFC 9568 §7.1, RFC 3768 §7.1).
    TtlNot255,
    /// The advert's version is not the configured one (RFC 9568 §7.1:
    /// "MUST verify that the VRRP version is 3"; RFC 3768: 2).
    VersionMismatch,
    /// The VRID is not this virtual router's (RFC 9568 §7.1).
    VridMismatch,
    /// The source or the addresses are of the other address family
    /// (RFC 9568 §5.2.9).
    AddressFamily,
    /// VRRPv2 authentication type or data does not match (RFC 3768 §7.1,
    /// §5.3.6).
    AuthMismatch,
    /// VRRPv2 interval differs from the configured one (RFC 3768 §7.1:
    /// "MUST discard").
    IntervalMismatch,
    /// VRRPv2 address list differs and the sender is not the owner
    /// (RFC 3768 §7.1: "the receiver MUST drop the packet").
    AddressListMismatch,
    /// VRRPv2: this router is the address owner (RFC 3768 §7.1: "MUST verify
    /// that ... the local router is not the IP Address owner").
    LocalIsOwner,
    /// No address in the advert (RFC 9568 §5.2.5, erratum 8299).
    EmptyAddressList,
    /// The advert carries this router's own primary address as source: our
    /// own multicast looped back.
    OwnAdvert,
}

/// A disagreement that RFC 9568 §7.1 says to log but not to act on: the
/// advert is still processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Mismatch {
    /// VRRPv3 interval differs from the configured one; a backup still
    /// learns it (RFC 9568 §6.4.2).
    Interval,
    /// The address list differs (RFC 9568 §7.1 "MAY verify"; in VRRPv2 only
    /// reported when the sender is the owner, see
    /// [`DiscardReason::AddressListMismatch`]).
    AddressList,
    /// VRRPv3: this router is the owner and heard another advert for its
    /// VRID. RFC 9568 erratum 8298 turns this from a discard into "SHOULD
    /// ... log the event", so duplicate owners resolve by election.
    OwnerConflict,
}

/// Counters of one virtual router (names after the VRRPv3 MIB, RFC 6527).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Stats {
    /// Adverts that passed the receive checks and were processed.
    pub adverts_received: u64,
    /// `SendAdvert` actions queued (either kind).
    pub adverts_sent: u64,
    /// Processed adverts with priority 0.
    pub priority_zero_received: u64,
    /// Release adverts (priority 0) queued.
    pub priority_zero_sent: u64,
    /// Transitions into Master.
    pub master_transitions: u64,
    /// Lower-priority adverts a preempting backup discarded (RFC 9568
    /// §6.4.2 "Discard the ADVERTISEMENT"): normal operation, not an error.
    pub preempt_discards: u64,
    /// Adverts a master answered at once because they came from a lower
    /// priority master (split brain; RFC 9568 §6.4.3).
    pub conflicts_answered: u64,
    /// Lower-priority adverts a strict-mode master discarded without an
    /// answer (keepalived `lower_prio_no_advert`).
    pub lower_prio_ignored: u64,
    /// Adverts discarded by a receive check, all reasons together.
    pub discarded: u64,
    /// Adverts received while in Initialize or Fault (ignored).
    pub ignored_not_running: u64,
    /// TTL / hop limit errors.
    pub ttl_errors: u64,
    /// Version mismatches.
    pub version_errors: u64,
    /// VRID mismatches.
    pub vrid_errors: u64,
    /// Address family errors.
    pub family_errors: u64,
    /// VRRPv2 authentication failures.
    pub auth_errors: u64,
    /// Interval mismatches, discarded (VRRPv2) or only reported (VRRPv3).
    pub interval_errors: u64,
    /// Address list mismatches, discarded (VRRPv2) or only reported.
    pub address_list_errors: u64,
    /// Adverts received by the owner (discarded in VRRPv2, reported in v3).
    pub owner_conflicts: u64,
    /// Adverts with no address.
    pub empty_address_lists: u64,
    /// Own adverts looped back.
    pub own_adverts: u64,
    /// Addresses put back after they disappeared from under a router that
    /// holds them ([`VirtualRouter::restore_vip`](crate::VirtualRouter::restore_vip)).
    pub vips_restored: u64,
}
