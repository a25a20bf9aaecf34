//! What the owner of a [`VirtualRouter`] tells it besides adverts and
//! time: tracked priority, link and check faults, operator requests
//! (switchover, maintenance), reconfiguration and VIP restores.

use std::net::IpAddr;
use std::time::Instant;

use vrrp_proto::{Advert, Priority, Version};

use super::{Handover, OperatorError, ReconfigureError, VirtualRouter};
use crate::actions::{Action, Reason, State};
use crate::config::Config;
use crate::timers::Timer;

impl VirtualRouter {
    /// Sets the tracked-priority delta: the sum of the weights of tracked
    /// objects, computed by the caller (keepalived `track_script` /
    /// `track_interface` weights). The effective priority is
    /// `base + delta` clamped to 1..=254; the owner's stays 255.
    ///
    /// Takes effect in the next advert and the next timer computation, as in
    /// keepalived: a backup that now outranks the master preempts by
    /// discarding its adverts (RFC 9568 §6.4.2).
    pub fn set_tracked_priority(&mut self, now: Instant, delta: i32) {
        let _ = self.clock(now);
        self.tracked_delta = delta;
        if self.cfg.is_owner() {
            // The owner's priority is never adjusted (RFC 9568 §5.2.4: the
            // owner MUST use 255).
            return;
        }
        let p = i64::from(self.cfg.priority.get()) + i64::from(delta);
        let p = p.clamp(1, 254) as u8;
        self.priority = Priority::new(p);
        self.advert.priority = self.priority;
    }

    /// The tracked delta last set.
    pub fn tracked_delta(&self) -> i32 {
        self.tracked_delta
    }

    /// The interface went down: Fault (extension).
    pub fn interface_down(&mut self, now: Instant) {
        let now = self.clock(now);
        self.faults.link_down = true;
        self.reconcile_faults(now);
    }

    /// The interface came up: leaves Fault if no other fault remains.
    pub fn interface_up(&mut self, now: Instant) {
        let now = self.clock(now);
        self.faults.link_down = false;
        self.reconcile_faults(now);
    }

    /// A tracked check in fault mode (keepalived: weight 0) failed (`true`)
    /// or recovered (`false`).
    pub fn set_check_fault(&mut self, now: Instant, faulted: bool) {
        let now = self.clock(now);
        self.faults.check = faulted;
        self.reconcile_faults(now);
    }

    /// Whether the router's fixed source address is on its interface
    /// (keepalived's `track_src_ip`): while it is not, the router is in
    /// Fault (as for a down interface: a master sends priority 0 first).
    pub fn set_source_present(&mut self, now: Instant, present: bool) {
        let now = self.clock(now);
        self.faults.source_missing = !present;
        self.reconcile_faults(now);
    }

    /// Operator switchover: hand mastership to the best backup now.
    ///
    /// Sequence (see the crate docs): send a priority-0 advert so that
    /// backups wait only Skew_Time (RFC 9568 §6.4.2), become Backup but keep
    /// the addresses (make-before-break) until an advert from the new
    /// master arrives, then remove them. If none arrives within
    /// Master_Down_Interval the switchover is aborted and this router
    /// resumes Master. Afterwards the router does not preempt back
    /// ([`is_yielded`](Self::is_yielded)).
    pub fn request_switchover(&mut self, now: Instant) -> Result<(), OperatorError> {
        let now = self.clock(now);
        if self.cfg.is_owner() {
            return Err(OperatorError::Owner);
        }
        if self.maintenance {
            return Err(OperatorError::InMaintenance);
        }
        if self.state != State::Master {
            return Err(OperatorError::NotMaster);
        }
        self.yielded = true;
        self.release_master(now, Handover::Switchover, Reason::Switchover);
        Ok(())
    }

    /// Ends the no-preempt-back period that follows a switchover.
    pub fn resume_preemption(&mut self, now: Instant) {
        let _ = self.clock(now);
        self.yielded = false;
    }

    /// Applies a changed configuration in place (a reload), keeping the
    /// state: a master stays master and only the virtual addresses that
    /// changed move (`AddVip` for new ones, then `RemoveVip` for dropped
    /// ones, then announcements of the new ones), so a reload never moves
    /// an unchanged address. Priority, interval, preempt settings,
    /// authentication and announcement settings take effect from the next
    /// advert or timer. The VRID, version, family and ownership cannot
    /// change ([`ReconfigureError`]).
    pub fn reconfigure(&mut self, now: Instant, cfg: Config) -> Result<(), ReconfigureError> {
        let now = self.clock(now);
        if cfg.vrid != self.cfg.vrid {
            return Err(ReconfigureError::Vrid);
        }
        if cfg.version != self.cfg.version {
            return Err(ReconfigureError::Version);
        }
        if cfg.primary.is_ipv4() != self.cfg.primary.is_ipv4() {
            return Err(ReconfigureError::Family);
        }
        if cfg.is_owner() != self.cfg.is_owner() {
            return Err(ReconfigureError::Ownership);
        }
        let old = std::mem::replace(&mut self.cfg, cfg);
        let n = self.cfg.addr_count();
        let want = 2 * (8 + n * (usize::from(self.cfg.announce.repeat) + 3));
        self.actions
            .reserve(want.saturating_sub(self.actions.len()));
        self.advert = Advert {
            version: self.cfg.version,
            vrid: self.cfg.vrid,
            priority: self.priority,
            interval: self.cfg.interval,
            addrs: self.cfg.addrs.clone(),
            auth: self.cfg.auth,
        };
        self.release = Advert {
            priority: Priority::RELEASE,
            ..self.advert.clone()
        };
        // Recompute the effective priority from the new base.
        let delta = self.tracked_delta;
        self.set_tracked_priority(now, delta);
        if self.cfg.is_owner() {
            self.priority = Priority::OWNER;
            self.advert.priority = Priority::OWNER;
        }
        if self.state != State::Master && self.cfg.version == Version::V2 {
            self.master_adver_interval = self.cfg.interval;
        }
        if self.vips_installed {
            let added: Vec<IpAddr> = self
                .cfg
                .installed()
                .filter(|a| !old.installed().any(|o| o == *a))
                .collect();
            let removed: Vec<IpAddr> = old
                .installed()
                .filter(|a| !self.cfg.installed().any(|o| o == *a))
                .collect();
            for a in &added {
                self.push(Action::AddVip(*a));
            }
            for a in &removed {
                self.push(Action::RemoveVip(*a));
            }
            if self.state == State::Master {
                for _ in 0..self.cfg.announce.repeat {
                    for a in &added {
                        match a {
                            IpAddr::V4(a) => self.push(Action::SendGarp(*a)),
                            IpAddr::V6(a) => self.push(Action::SendUnsolicitedNa(*a)),
                        }
                    }
                }
            }
        }
        if self.state == State::Master && old.interval != self.cfg.interval {
            self.arm_adver(now);
        }
        Ok(())
    }

    /// Maintenance mode on or off.
    ///
    /// On: a master releases as in a switchover (priority 0, addresses kept
    /// until a new master is heard or the bound expires, then removed);
    /// the router then stays Backup, never takes over and sends nothing.
    /// Off: the router behaves as after start-up: Master_Down_Timer set to
    /// Master_Down_Interval, preempting normally.
    pub fn set_maintenance(&mut self, now: Instant, on: bool) -> Result<(), OperatorError> {
        let now = self.clock(now);
        if on == self.maintenance {
            return Ok(());
        }
        if on {
            if self.cfg.is_owner() {
                return Err(OperatorError::Owner);
            }
            self.maintenance = true;
            self.wants_master = false;
            match self.state {
                State::Master => {
                    self.release_master(now, Handover::Maintenance, Reason::Maintenance)
                }
                State::Backup => {
                    if self.handover == Some(Handover::Switchover) {
                        self.handover = Some(Handover::Maintenance);
                    }
                    self.timers.stop(Timer::MasterDown);
                }
                State::Initialize | State::Fault => {}
            }
        } else {
            self.maintenance = false;
            if self.state == State::Backup {
                self.arm_master_down(now);
                self.preempt_at = self.cfg.preempt_delay.and_then(|d| now.checked_add(d));
            }
        }
        Ok(())
    }

    /// A virtual address this router holds disappeared from the host
    /// without this router removing it (an operator's `ip addr del`, or a
    /// link flap that flushed an IPv6 address). RFC 9568 §6.4.3: while
    /// Master the router "MUST respond to ARP requests" / ND solicitations
    /// for its addresses and "MUST forward" for them, which it cannot do
    /// without them; so a router that holds its addresses puts this one
    /// back (`AddVip`) and announces it as on becoming Master
    /// ([`AnnounceConfig::repeat`](crate::AnnounceConfig::repeat) gratuitous
    /// ARPs or unsolicited NAs), so that caches that followed another
    /// owner of the address come back. Returns false (and queues nothing)
    /// if the router does not hold its addresses or `addr` is not one of
    /// them.
    pub fn restore_vip(&mut self, now: Instant, addr: IpAddr) -> bool {
        let _ = self.clock(now);
        if !self.vips_installed || !self.cfg.installed().any(|a| a == addr) {
            return false;
        }
        self.stats.vips_restored += 1;
        self.push(Action::AddVip(addr));
        for _ in 0..self.cfg.announce.repeat {
            self.push(match addr {
                IpAddr::V4(a) => Action::SendGarp(a),
                IpAddr::V6(a) => Action::SendUnsolicitedNa(a),
            });
        }
        true
    }
}
