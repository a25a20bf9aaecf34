//! The receive path: RFC 9568 §7.1 / RFC 3768 §7.1 checks, then the
//! advert rules of the Backup (§6.4.2) and Master (§6.4.3) states.

use std::net::IpAddr;
use std::time::Instant;

use vrrp_proto::{Advert, Version, VirtualAddrs};

use super::VirtualRouter;
use crate::actions::{Action, AdvertKind, Reason, State};
use crate::stats::{DiscardReason, Mismatch};
use crate::timers::{self, Timer};

impl VirtualRouter {
    /// RFC 9568 §7.1 / RFC 3768 §7.1 receive checks that need local state.
    /// Returns false if the advert is to be discarded.
    pub(super) fn receive_checks(
        &mut self,
        now: Instant,
        src: IpAddr,
        ttl: u8,
        adv: &Advert,
    ) -> bool {
        self.header_checks(src, ttl, adv)
            && self.owner_checks(now, src, adv)
            && self.content_checks(src, adv)
    }

    /// What the packet says about itself: TTL, version, VRID, family, and
    /// whether it is our own.
    fn header_checks(&mut self, src: IpAddr, ttl: u8, adv: &Advert) -> bool {
        // RFC 9568 §7.1: "MUST verify that the IP TTL is 255" / "IPv6 Hop
        // Limit is 255" (RFC 3768 §7.1 likewise).
        if ttl != 255 {
            self.stats.ttl_errors += 1;
            return self.discard(src, DiscardReason::TtlNot255);
        }
        // RFC 9568 §7.1: "MUST verify that the VRRP version is 3" (RFC 3768:
        // 2). A v2/v3 mixed-mode (§8.4) is not implemented.
        if adv.version != self.cfg.version {
            self.stats.version_errors += 1;
            return self.discard(src, DiscardReason::VersionMismatch);
        }
        // RFC 9568 §7.1: "MUST verify that the VRID is configured on the
        // receiving interface".
        if adv.vrid != self.cfg.vrid {
            self.stats.vrid_errors += 1;
            return self.discard(src, DiscardReason::VridMismatch);
        }
        // RFC 9568 §5.2.9: addresses of the family of the IP header.
        let fam_ok = matches!(
            (&self.cfg.addrs, &adv.addrs, src),
            (VirtualAddrs::V4(_), VirtualAddrs::V4(_), IpAddr::V4(_))
                | (VirtualAddrs::V6(_), VirtualAddrs::V6(_), IpAddr::V6(_))
        );
        if !fam_ok {
            self.stats.family_errors += 1;
            return self.discard(src, DiscardReason::AddressFamily);
        }
        if src == self.cfg.primary {
            self.stats.own_adverts += 1;
            return self.discard(src, DiscardReason::OwnAdvert);
        }
        true
    }

    /// The local router owns the addresses: RFC 3768 discards, RFC 9568
    /// (erratum 8298) logs.
    fn owner_checks(&mut self, now: Instant, src: IpAddr, adv: &Advert) -> bool {
        let v2 = self.cfg.version == Version::V2;
        if self.cfg.is_owner() {
            self.stats.owner_conflicts += 1;
            if v2 || self.cfg.strict {
                // RFC 3768 §7.1: "MUST verify that the VRID is configured on
                // the receiving interface and the local router is not the IP
                // Address owner".
                self.discard(src, DiscardReason::LocalIsOwner);
                if self.state == State::Master && !adv.priority.is_release() && !self.cfg.strict {
                    // INTEROP: discarded for the state machine, but a
                    // non-zero advert proves another router acts as master
                    // (split brain). Assert ourselves as RFC 9568 §6.4.3
                    // does, and re-announce, or the owner would never heal.
                    self.heard_lower(src, adv);
                    self.answer_conflict(now);
                }
                return false;
            }
            // RFC 9568 §7.1 as amended by erratum 8298: "SHOULD verify that
            // the local router is not the IPvX address owner ... and log".
            self.push(Action::Mismatch {
                src,
                mismatch: Mismatch::OwnerConflict,
            });
        }
        true
    }

    /// What the packet carries against the local configuration:
    /// authentication, address list, interval.
    fn content_checks(&mut self, src: IpAddr, adv: &Advert) -> bool {
        let v2 = self.cfg.version == Version::V2;
        // RFC 3768 §7.1: "MUST verify that the Auth Type matches the locally
        // configured authentication method".
        if v2 && adv.auth != self.cfg.auth {
            self.stats.auth_errors += 1;
            return self.discard(src, DiscardReason::AuthMismatch);
        }
        // RFC 9568 §5.2.5 (erratum 8299): a count of 0 MUST be ignored.
        let empty = match &adv.addrs {
            VirtualAddrs::V4(v) => v.is_empty(),
            VirtualAddrs::V6(v) => v.is_empty(),
        };
        if empty {
            self.stats.empty_address_lists += 1;
            return self.discard(src, DiscardReason::EmptyAddressList);
        }
        // RFC 9568 §7.1: "MAY verify that the IPvX address(es) associated
        // with the VRID are valid ... SHOULD log". RFC 3768 §7.1 adds: "If
        // the packet was not generated by the address owner ... the
        // receiver MUST drop the packet, otherwise continue processing."
        if !same_addrs(&self.cfg.addrs, &adv.addrs) {
            self.stats.address_list_errors += 1;
            if v2 && !adv.priority.is_owner() {
                return self.discard(src, DiscardReason::AddressListMismatch);
            }
            self.push(Action::Mismatch {
                src,
                mismatch: Mismatch::AddressList,
            });
        }
        if adv.interval != self.cfg.interval {
            self.stats.interval_errors += 1;
            if v2 {
                // RFC 3768 §7.1: "MUST verify that the Adver Interval in the
                // packet is the same as the locally configured ... MUST
                // discard".
                return self.discard(src, DiscardReason::IntervalMismatch);
            }
            // RFC 9568: log only; a backup learns the master's interval.
            self.push(Action::Mismatch {
                src,
                mismatch: Mismatch::Interval,
            });
        }
        true
    }

    fn discard(&mut self, src: IpAddr, reason: DiscardReason) -> bool {
        self.stats.discarded += 1;
        self.push(Action::Discarded { src, reason });
        false
    }

    pub(super) fn backup_recv(&mut self, now: Instant, src: IpAddr, adv: &Advert) {
        if self.handover.is_some() && !adv.priority.is_release() {
            // Make-before-break: the new master is heard, drop the
            // addresses kept through the handover.
            self.handover = None;
            self.timers.stop(Timer::Handover);
            self.remove_vips();
        }
        if self.maintenance {
            // Maintenance: listen, never take over.
            if !adv.priority.is_release() {
                self.master_addr = Some(src);
            }
            return;
        }
        if adv.priority.is_release() {
            // RFC 9568 §6.4.2: "If the Priority in the ADVERTISEMENT is
            // zero, then: Set the Master_Down_Timer to Skew_Time."
            let d = timers::centis(self.skew_time_centis());
            self.timers.set(Timer::MasterDown, now.checked_add(d));
            self.master_addr = None;
            return;
        }
        let local = self.priority;
        let preempt = (self.cfg.preempt && !self.yielded) || self.cfg.is_owner();
        let mut accept = !preempt || adv.priority >= local;
        if let Some(delay) = self.cfg.preempt_delay {
            if adv.priority >= local {
                // keepalived: a master at least as good stops the delay.
                self.preempt_at = None;
            } else if preempt {
                match self.preempt_at {
                    // keepalived: the delay starts when a lower priority
                    // master is first seen (or at start-up).
                    None => {
                        self.preempt_at = now.checked_add(delay);
                        accept = true;
                    }
                    Some(t) if now < t => accept = true,
                    Some(_) => {}
                }
            }
        }
        if accept {
            // RFC 9568 §6.4.2: "If Preempt_Mode is False, or if the
            // Priority in the ADVERTISEMENT is greater than or equal to the
            // local Priority, then: Set Master_Adver_Interval to Adver
            // Interval contained in the ADVERTISEMENT, Recompute the
            // Master_Down_Interval, Reset the Master_Down_Timer to
            // Master_Down_Interval."
            // RFC 3768 has no interval learning (a v2 mismatch was discarded).
            if self.cfg.version == Version::V3 {
                self.master_adver_interval = adv.interval;
            }
            self.arm_master_down(now);
            self.wants_master = false;
            self.master_addr = Some(src);
        } else {
            // RFC 9568 §6.4.2: "else: Discard the ADVERTISEMENT." The
            // Master_Down_Timer runs on and this router preempts.
            self.stats.preempt_discards += 1;
        }
    }

    pub(super) fn master_recv(&mut self, now: Instant, src: IpAddr, adv: &Advert) {
        if adv.priority.is_release() {
            // RFC 9568 §6.4.3: "If the Priority in the ADVERTISEMENT is
            // zero, then: Send an ADVERTISEMENT, Reset the Adver_Timer to
            // Advertisement_Interval."
            self.send_advert(AdvertKind::Current);
            self.arm_adver(now);
            return;
        }
        let local = self.priority;
        let better =
            adv.priority > local || (adv.priority == local && addr_gt(src, self.cfg.primary));
        if better {
            // RFC 9568 §6.4.3: "If the Priority in the ADVERTISEMENT is
            // greater than the local Priority or the Priority in the
            // ADVERTISEMENT is equal to the local Priority and the primary
            // IPvX address of the sender is greater than the local primary
            // IPvX address, then: Cancel Adver_Timer, Set
            // Master_Adver_Interval to Adver Interval contained in the
            // ADVERTISEMENT, Recompute the Skew_Time, Recompute the
            // Master_Down_Interval, Set Master_Down_Timer to
            // Master_Down_Interval, Transition to the {Backup} state."
            self.master_adver_interval = match self.cfg.version {
                Version::V3 => adv.interval,
                Version::V2 => self.cfg.interval,
            };
            self.master_addr = Some(src);
            if self.cfg.higher_prio_send_advert {
                // Extension (keepalived higher_prio_send_advert): one last
                // advert so that the winner learns of the split brain and
                // re-announces the addresses (see the else branch).
                self.send_advert(AdvertKind::Current);
            }
            self.leave_master(now, false, Reason::HigherPriority);
        } else {
            // RFC 9568 §6.4.3: "else: Discard ADVERTISEMENT, Send an
            // ADVERTISEMENT immediately to assert the {Active} state".
            // INTEROP: RFC 3768 only discards; we answer in v2 as well so a
            // split brain heals within one round trip. keepalived's strict
            // mode discards only (`lower_prio_no_advert`).
            self.heard_lower(src, adv);
            if self.cfg.strict {
                self.stats.lower_prio_ignored += 1;
            } else {
                self.answer_conflict(now);
            }
        }
    }

    /// As Master, an advert of a router this one wins against: reported
    /// if asked (keepalived's `notify_master_rx_lower_pri`).
    fn heard_lower(&mut self, src: IpAddr, adv: &Advert) {
        if self.cfg.report_lower_priority {
            self.push(Action::LowerPriorityHeard {
                src,
                priority: adv.priority,
            });
        }
    }

    /// A lower-priority master was heard: send an advert now, reset the
    /// Adver_Timer (RFC 9568 §6.4.3), and re-announce the addresses so that
    /// client caches that followed the other master converge back
    /// (keepalived's `garp_lower_prio_repeat`, and `garp_lower_prio_delay`
    /// for a second set; here at most once per Advertisement_Interval, so
    /// that a stream of such adverts cannot turn into a flood).
    fn answer_conflict(&mut self, now: Instant) {
        self.stats.conflicts_answered += 1;
        if !self.cfg.lower_prio_no_advert {
            self.send_advert(AdvertKind::Current);
            self.arm_adver(now);
        }
        let due = self
            .last_conflict_announce
            .and_then(|t| t.checked_add(self.cfg.interval.to_duration()))
            .is_none_or(|t| now >= t);
        if due {
            self.last_conflict_announce = Some(now);
            let lower = self.cfg.lower_prio_announce();
            self.announce(lower.repeat);
            let second = lower.delay.filter(|_| lower.repeat > 0);
            self.timers.set(
                Timer::LowerPrioAnnounce,
                second.and_then(|d| now.checked_add(d)),
            );
        }
    }
}

/// Same addresses, in any order (RFC 9568 §7.1 compares the list; order is
/// only recommended to be the same).
fn same_addrs(a: &VirtualAddrs, b: &VirtualAddrs) -> bool {
    fn same<T: PartialEq>(a: &[T], b: &[T]) -> bool {
        a.len() == b.len() && (a == b || a.iter().all(|x| b.contains(x)))
    }
    match (a, b) {
        (VirtualAddrs::V4(a), VirtualAddrs::V4(b)) => same(a, b),
        (VirtualAddrs::V6(a), VirtualAddrs::V6(b)) => same(a, b),
        _ => false,
    }
}

/// RFC 9568 §6.4.3: "based on an unsigned integer comparison of the IPvX
/// addresses in network byte order".
fn addr_gt(a: IpAddr, b: IpAddr) -> bool {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => a.to_bits() > b.to_bits(),
        (IpAddr::V6(a), IpAddr::V6(b)) => a.to_bits() > b.to_bits(),
        _ => false,
    }
}
