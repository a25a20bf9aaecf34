//! The VRRP state machine, sans-IO: VRRPv3 ([RFC 9568]) and VRRPv2
//! ([RFC 3768]) virtual routers, with the keepalived extensions operators
//! rely on (nopreempt, preempt_delay, tracked priority, fault state,
//! gratuitous ARP repeats, sync groups) plus operator switchover and
//! maintenance mode.
//!
//! # What this crate does not do
//!
//! No networking code, no sockets, no threads, no clock and no randomness:
//! time comes in as a `now: Instant` argument on every input, packets come
//! in as parsed [`vrrp_proto::Advert`]s and go out as [`Action`]s for the
//! driver to carry out. It does not install addresses, send ARP or run
//! health checks; it does not parse or checksum packets (that is
//! `vrrp_proto`); it does not decide what Accept_Mode means for packet
//! filtering (it carries the flag, [`Config::accept_mode`], and answers
//! [`VirtualRouter::accepts_vip_traffic`]). It never allocates per
//! advertisement in steady state (`tests/alloc.rs` proves it with a
//! counting allocator). It uses `std` only for `std::time::Instant`, the
//! time type of its inputs; nothing else needs more than `alloc`.
//!
//! # Using it
//!
//! One [`VirtualRouter`] per (interface, VRID, address family), built from a
//! validated [`Config`]. The contract, as in quinn-proto:
//!
//! 1. After any input (`startup`, `shutdown`, `handle_advert`,
//!    `handle_timeout`, `set_tracked_priority`, `interface_down`/`_up`,
//!    `set_check_fault`, `set_source_present`, `request_switchover`, `resume_preemption`,
//!    `set_maintenance`, `reconfigure`), drain
//!    [`VirtualRouter::poll_action`] until `None`, then re-read
//!    [`VirtualRouter::poll_timeout`] and call
//!    [`VirtualRouter::handle_timeout`] when that instant comes.
//! 2. `now` never decreases (checked by `debug_assert!`, clamped in release
//!    builds).
//! 3. `handle_timeout` may be called early or more than once; with no
//!    expired deadline it does nothing.
//! 4. [`Action::SendAdvert`] names an [`AdvertKind`]; encode
//!    [`VirtualRouter::advert`]`(kind)` with `vrrp_proto` and send it with
//!    TTL / hop limit 255 to 224.0.0.18 / ff02::12 from the primary
//!    address. The router keeps both adverts (current priority and
//!    priority 0) prebuilt, so no address list is cloned per advert; the
//!    advert reflects the router at the time of the drain, which rule 1
//!    makes the time the action was queued.
//! 5. Before calling `handle_advert`, the driver parses the packet with
//!    `vrrp_proto` (length, type, checksum, count, zero interval are its
//!    checks) and passes the IP source and the received TTL / hop limit;
//!    the router does the §7.1 checks that need local state
//!    ([`DiscardReason`]), counts them in [`Stats`] and reports them as
//!    [`Action::Discarded`] / [`Action::Mismatch`] for logging.
//! 6. Nothing is random: the RFC needs no jitter (Skew_Time already
//!    separates backups), so there is no seed to configure.
//!
//! # Action order
//!
//! Actions of one input come out in this fixed order:
//!
//! * **Becoming Master** (Startup as owner, Master_Down_Timer, sync group,
//!   aborted switchover, which skips the `AddVip`s because it never
//!   dropped the addresses): `AddVip` for each address (configured order) →
//!   `SendAdvert(Current)` → `repeat` rounds of `SendGarp` /
//!   `SendUnsolicitedNa` (each round: every address in order) →
//!   `StateChanged`. The RFC steps (advert, then ARP/NA; RFC 9568 §6.4.1,
//!   §6.4.2) keep their order; the address install, which the RFC leaves
//!   implicit in "while in Master", comes first so that traffic drawn in
//!   has somewhere to land.
//! * **Leaving Master for Backup** on a better advert (RFC 9568 §6.4.3):
//!   `SendAdvert(Current)` (only with
//!   [`ConfigBuilder::higher_prio_send_advert`], on by default) →
//!   `RemoveVip`… → `StateChanged`.
//! * **Shutdown / Fault from Master**: `SendAdvert(Release)` →
//!   `RemoveVip`… → `StateChanged`.
//! * **Switchover / maintenance from Master**: `SendAdvert(Release)` →
//!   `StateChanged(Master → Backup)`; the `RemoveVip`s come later, when the
//!   new master is heard or the bound expires.
//! * **Reconfigure** while holding the addresses: `AddVip` (new ones) →
//!   `RemoveVip` (dropped ones) → announcement rounds of the new ones
//!   (Master only). Unchanged addresses are not touched.
//! * **Master timers**: `SendAdvert(Current)` (Adver_Timer); announcement
//!   rounds (second burst, refresh).
//! * **Master hearing a lower-priority master** (split brain):
//!   `LowerPriorityHeard` (only with
//!   [`ConfigBuilder::report_lower_priority`]) → `SendAdvert(Current)` →
//!   announcement rounds (at most once per Advertisement_Interval).
//! * **Receive-check problems**: `Mismatch` / `Discarded` come before
//!   anything the advert causes.
//! * `StateChanged` is always the last action of its transition.
//!
//! # Timing
//!
//! [`skew_time`] and [`master_down_interval`] compute in integer
//! centiseconds, truncating: v3 `((256 - Priority) * Master_Adver_Interval)
//! / 256`, v2 `((256 - Priority) * 100) / 256` (RFC 3768's `(256 -
//! Priority) / 256` seconds). Master_Down_Interval is `3 *
//! Master_Adver_Interval + Skew_Time` (keepalived's `down_timer_adverts`,
//! [`ConfigBuilder::down_timer_adverts`], replaces the 3). A VRRPv3 backup learns
//! Master_Adver_Interval from the adverts it accepts (RFC 9568 §6.4.2); a
//! VRRPv2 router discards adverts with another interval (RFC 3768 §7.1).
//!
//! # Receive checks (RFC 9568 §7.1 and RFC 3768 §7.1, followed as written)
//!
//! Discarded and counted: TTL/hop limit not 255, version, VRID, address
//! family, own looped-back adverts, empty address list (erratum 8299);
//! VRRPv2 also: authentication mismatch, interval mismatch, address-list
//! mismatch from a non-owner, and any advert received by the owner.
//! Reported but processed: VRRPv3 interval and address-list mismatches, and
//! (VRRPv3, erratum 8298) adverts received by the owner; a VRRPv2
//! address-list mismatch from the owner (priority 255).
//!
//! # Extensions beyond the RFCs
//!
//! * **Fault** ([`State::Fault`]): interface down, a fault-mode check, or
//!   a fixed source address gone (keepalived's `track_src_ip`).
//!   A master entering Fault sends priority 0 and drops its addresses;
//!   leaving Fault applies the Startup rules.
//! * **nopreempt** ([`ConfigBuilder::preempt`]`(false)`): Preempt_Mode
//!   False; a higher-priority backup does not take over from a live
//!   lower-priority master. The owner always preempts.
//! * **preempt_delay** (keepalived semantics): a backup that would preempt
//!   keeps accepting a lower-priority master's adverts until the delay,
//!   counted from start-up (or leaving Fault), or from the first
//!   lower-priority advert after the last higher-or-equal one, has passed;
//!   then it discards them and takes over after Master_Down_Interval.
//! * **Tracked priority** ([`VirtualRouter::set_tracked_priority`]): base +
//!   delta clamped to 1..=254; the owner stays 255.
//! * **Announcements** ([`AnnounceConfig`]): keepalived's
//!   `garp_master_repeat` (5), `garp_master_delay` (5 s),
//!   `garp_master_refresh` (off), `garp_master_refresh_repeat` (1).
//! * **Split brain heals**: a master hearing a lower-priority master
//!   answers at once with its own advert (RFC 9568 §6.4.3; also applied to
//!   VRRPv2) so the other yields within one round trip, and re-announces
//!   its addresses so that client caches converge back to it. When the
//!   winner's advert reaches the loser first, the loser (keepalived's
//!   `higher_prio_send_advert`, on by default here) sends one last advert
//!   as it steps down, so the winner still hears the conflict and
//!   re-announces.
//! * **Sync groups** ([`SyncGroup`]): keepalived `vrrp_sync_group`.
//!
//! # Switchover (hand-over on request)
//!
//! [`VirtualRouter::request_switchover`] on the master:
//!
//! 1. The master sends a priority-0 advert and reports `Master → Backup`
//!    (reason [`Reason::Switchover`]); it stops advertising but **keeps the
//!    virtual addresses** (make-before-break), so packets that still reach
//!    it are served.
//! 2. Backups receiving priority 0 set their Master_Down_Timer to Skew_Time
//!    (RFC 9568 §6.4.2), so the best backup (smallest skew = highest
//!    priority) becomes master after Skew_Time (< one
//!    Master_Adver_Interval) instead of Master_Down_Interval, and announces
//!    the addresses.
//! 3. When the old master hears the new master's advert it removes the
//!    addresses (`RemoveVip`…).
//! 4. If no advert from a new master arrives within Master_Down_Interval,
//!    nobody could take over: the switchover is aborted and the router
//!    resumes Master ([`Reason::SwitchoverAborted`]) without ever having
//!    dropped the addresses.
//! 5. Afterwards the router is *yielded*: it behaves as Preempt_Mode False
//!    (accepts the new, possibly lower-priority master) until it becomes
//!    Master again by any path (e.g. the new master fails, or releases) or
//!    [`VirtualRouter::resume_preemption`] is called. Without this it would
//!    preempt back one Master_Down_Interval later.
//!
//! # Maintenance
//!
//! [`VirtualRouter::set_maintenance`]`(now, true)`: a master releases as in
//! a switchover, but when the bound expires the addresses are removed
//! anyway; the router stays Backup, keeps listening, never arms its
//! Master_Down_Timer and never takes over, even if no master remains.
//! `set_maintenance(now, false)` re-applies the Backup start-up rules
//! (Master_Down_Timer = Master_Down_Interval, preempt_delay restarted).
//! The owner cannot be put in maintenance or switched over
//! ([`OperatorError::Owner`]): lower its priority instead.
//!
//! # Example: two routers on an in-memory network
//!
//! ```
//! use std::net::{IpAddr, Ipv4Addr};
//! use std::time::{Duration, Instant};
//! use vrrp_fsm::{Action, Config, State, VirtualRouter};
//! use vrrp_proto::Version;
//!
//! let vip = Ipv4Addr::new(192, 0, 2, 100);
//! let make = |prio: u8, last: u8| {
//!     let cfg = Config::builder(7, Version::V3)
//!         .priority(prio)
//!         .primary_addr(Ipv4Addr::new(192, 0, 2, last))
//!         .virtual_addr(vip)
//!         .build()
//!         .expect("valid config");
//!     VirtualRouter::new(cfg)
//! };
//! let mut routers = [make(200, 1), make(100, 2)];
//!
//! // The driver's clock: a base instant plus offsets.
//! let base = Instant::now();
//! let mut now = base;
//! for r in &mut routers {
//!     r.startup(now);
//! }
//!
//! // Run 10 virtual seconds: deliver every advert to the other router at
//! // once, fire timers when due.
//! while now < base + Duration::from_secs(10) {
//!     let mut wire = Vec::new(); // (sender, src, advert)
//!     for (i, r) in routers.iter_mut().enumerate() {
//!         while let Some(action) = r.poll_action() {
//!             if let Action::SendAdvert(kind) = action {
//!                 let src = r.config().primary_addr();
//!                 wire.push((i, src, r.advert(kind).clone()));
//!             }
//!         }
//!     }
//!     if !wire.is_empty() {
//!         for (from, src, adv) in wire {
//!             routers[1 - from].handle_advert(now, src, 255, &adv);
//!         }
//!         continue; // drain what the deliveries caused
//!     }
//!     now = routers.iter().filter_map(|r| r.poll_timeout()).min().expect("timers armed");
//!     for r in &mut routers {
//!         r.handle_timeout(now);
//!     }
//! }
//!
//! // The higher priority won after Master_Down_Interval; the other backs up.
//! assert_eq!(routers[0].state(), State::Master);
//! assert_eq!(routers[1].state(), State::Backup);
//! assert!(routers[0].holds_vips() && !routers[1].holds_vips());
//! assert_eq!(routers[1].master_addr(), Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))));
//! ```
//!
//! # Many routers: [`Node`] (bring your own I/O)
//!
//! A host usually runs several virtual routers, some in sync groups.
//! [`Node`] owns them all, as quinn-proto's `Endpoint` owns connections:
//! typed ids ([`RouterId`], [`GroupId`]), adverts demultiplexed by (link,
//! family, VRID), one deadline for all, sync-group state changes and the
//! end of a graceful stop as actions ([`NodeAction`]), and addresses put
//! back when they disappear from under a master ([`Node::restore_vip`]).
//! An executor only moves bytes and addresses: `netif::executor` is the
//! Linux one; this is the whole contract for your own:
//!
//! ```
//! use std::net::{IpAddr, Ipv4Addr};
//! use std::time::{Duration, Instant};
//! use vrrp_fsm::{Action, Config, LinkId, Node, NodeAction, State, Stop};
//! use vrrp_proto::Version;
//!
//! let config = |vrid: u8, prio: u8, me: u8| {
//!     Config::builder(vrid, Version::V3)
//!         .priority(prio)
//!         .primary_addr(Ipv4Addr::new(192, 0, 2, me))
//!         .virtual_addr(Ipv4Addr::new(198, 51, 100, vrid))
//!         .build()
//!         .expect("valid config")
//! };
//! // Two hosts, each running VRIDs 1 and 2 on one link (say, one socket).
//! let link = LinkId(0);
//! let mut hosts = [Node::new(), Node::new()];
//! let t0 = Instant::now();
//! for (i, node) in hosts.iter_mut().enumerate() {
//!     let me = u8::try_from(i + 1).expect("small");
//!     let prio = if i == 0 { 200 } else { 100 };
//!     for vrid in [1, 2] {
//!         let id = node.add_router(link, config(vrid, prio, me));
//!         node.start(t0, id).expect("start");
//!     }
//! }
//! let mut now = t0;
//! let mut stopped = false;
//! while now < t0 + Duration::from_secs(6) {
//!     // Drain each host's actions; "send" adverts to the other host.
//!     let mut wire = Vec::new();
//!     for (i, node) in hosts.iter_mut().enumerate() {
//!         while let Some(action) = node.poll_action() {
//!             if let NodeAction::Router(id, Action::SendAdvert(kind)) = action {
//!                 let r = node.router(id).expect("live router");
//!                 wire.push((i, r.config().primary_addr(), r.advert(kind).clone()));
//!             }
//!         }
//!     }
//!     for (from, src, adv) in &wire {
//!         hosts[1 - from].handle_advert(now, link, *src, 255, adv);
//!     }
//!     if !wire.is_empty() {
//!         continue;
//!     }
//!     // After 4 s, host 0 stops gracefully: it hands over first.
//!     if !stopped && now >= t0 + Duration::from_secs(4) {
//!         hosts[0].stop_all(now, Stop::HandOver);
//!         stopped = true;
//!         continue;
//!     }
//!     now = hosts.iter().filter_map(Node::poll_timeout).min().expect("timers armed");
//!     for node in &mut hosts {
//!         node.handle_timeout(now);
//!     }
//! }
//! assert!(hosts[0].all_stopped());
//! assert!(hosts[1].routers().all(|(_, r)| r.state() == State::Master));
//! ```
//!
//! [RFC 9568]: https://www.rfc-editor.org/rfc/rfc9568
//! [RFC 3768]: https://www.rfc-editor.org/rfc/rfc3768
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

mod actions;
mod config;
mod node;
mod router;
mod stats;
mod sync;
mod timers;

#[cfg(feature = "sim")]
#[doc(hidden)]
pub mod sim;

#[cfg(test)]
mod tests;

pub use actions::{Action, AdvertKind, Reason, State, StateChange};
pub use config::{
    AnnounceConfig, Config, ConfigBuilder, ConfigError, LowerPrioAnnounce, MAX_PREEMPT_DELAY,
};
pub use node::{
    GroupId, LinkId, Node, NodeAction, NodeError, NodeStats, RouterId, RouterMap, STOP_MARGIN,
    Stop, handover_bound,
};
pub use router::{OperatorError, ReconfigureError, VirtualRouter};
pub use stats::{DiscardReason, Mismatch, Stats};
pub use sync::{SyncGroup, SyncGroupError};
pub use timers::{master_down_interval, skew_time};
