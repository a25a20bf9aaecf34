//! [`VirtualRouter`]: the per-(interface, VRID, family) state machine.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::Instant;

use vrrp_proto::{Advert, Interval, Priority};

use crate::actions::{Action, AdvertKind, Reason, State, StateChange};
use crate::config::Config;
use crate::stats::Stats;
use crate::timers::{self, Timer, TimerTable};

mod operator;
mod receive;

/// Why an operator request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum OperatorError {
    /// A switchover needs a router that is Master.
    #[error("only a master can hand over mastership")]
    NotMaster,
    /// The address owner (priority 255) always preempts (RFC 9568 §6.1) and
    /// holds the addresses as its own; lower its priority to move it aside.
    #[error("the address owner (priority 255) cannot hand over or enter maintenance")]
    Owner,
    /// The router is in maintenance already; end it first.
    #[error("the router is in maintenance")]
    InMaintenance,
}

/// Why [`VirtualRouter::reconfigure`] refused a new configuration: these
/// changes make it another virtual router; build a new one instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ReconfigureError {
    /// The VRID changed.
    #[error("the VRID cannot change; build a new router")]
    Vrid,
    /// The protocol version changed.
    #[error("the VRRP version cannot change; build a new router")]
    Version,
    /// The address family changed.
    #[error("the address family cannot change; build a new router")]
    Family,
    /// The router would become, or stop being, the address owner.
    #[error("address ownership (priority 255) cannot change; build a new router")]
    Ownership,
}

/// What a make-before-break release is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Handover {
    /// Operator switchover: resume Master if nobody takes over in time.
    Switchover,
    /// Maintenance: drop the addresses when the bound expires regardless.
    Maintenance,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Faults {
    link_down: bool,
    check: bool,
    sync: bool,
    source_missing: bool,
}

impl Faults {
    fn any(self) -> bool {
        self.own() || self.sync
    }
    fn own(self) -> bool {
        self.link_down || self.check || self.source_missing
    }
    fn reason(self) -> Reason {
        if self.link_down {
            Reason::InterfaceDown
        } else if self.source_missing {
            Reason::SourceMissing
        } else if self.check {
            Reason::CheckFault
        } else {
            Reason::SyncGroup
        }
    }
}

/// One VRRP virtual router: a pure state machine for one (interface, VRID,
/// address family). See the crate docs for the calling contract.
#[derive(Debug, Clone)]
pub struct VirtualRouter {
    cfg: Config,
    state: State,
    started: bool,
    /// Effective priority: base plus tracked delta, clamped (owner: 255).
    priority: Priority,
    tracked_delta: i32,
    /// Master_Adver_Interval (RFC 9568 §6.1).
    master_adver_interval: Interval,
    timers: TimerTable,
    actions: VecDeque<Action>,
    advert: Advert,
    release: Advert,
    stats: Stats,
    faults: Faults,
    maintenance: bool,
    /// After a switchover: behave as Preempt_Mode False until next Master.
    yielded: bool,
    handover: Option<Handover>,
    vips_installed: bool,
    preempt_at: Option<Instant>,
    sync_gated: bool,
    wants_master: bool,
    last_now: Option<Instant>,
    last_conflict_announce: Option<Instant>,
    master_addr: Option<IpAddr>,
    /// The Adver_Timer deadline behind the latest `SendAdvert`, if a timer
    /// caused it.
    advert_due: Option<Instant>,
}

impl VirtualRouter {
    /// A router in Initialize; nothing happens until [`startup`](Self::startup).
    pub fn new(cfg: Config) -> Self {
        let advert = Advert {
            version: cfg.version,
            vrid: cfg.vrid,
            priority: cfg.priority,
            interval: cfg.interval,
            addrs: cfg.addrs.clone(),
            auth: cfg.auth,
        };
        let release = Advert {
            priority: Priority::RELEASE,
            ..advert.clone()
        };
        VirtualRouter {
            priority: cfg.priority,
            master_adver_interval: cfg.interval,
            cfg,
            state: State::Initialize,
            started: false,
            tracked_delta: 0,
            timers: TimerTable::default(),
            // Empty until first used: the queue grows to the largest burst
            // this router has needed (a transition with its announcements)
            // and keeps that capacity, so steady-state adverts allocate
            // nothing (tests/alloc.rs) and a router that only ever listens
            // as Backup holds a few bytes, not a transition's worth
            // (docs/performance.md, memory).
            actions: VecDeque::new(),
            advert,
            release,
            stats: Stats::default(),
            faults: Faults::default(),
            maintenance: false,
            yielded: false,
            handover: None,
            vips_installed: false,
            preempt_at: None,
            sync_gated: false,
            wants_master: false,
            last_now: None,
            last_conflict_announce: None,
            master_addr: None,
            advert_due: None,
        }
    }

    // ----- observers -------------------------------------------------------

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }
    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }
    /// The effective priority (base + tracked delta clamped to 1..=254;
    /// always 255 for the owner).
    pub fn priority(&self) -> Priority {
        self.priority
    }
    /// Master_Adver_Interval: the configured interval, or the one learned
    /// from the master (VRRPv3 backup, RFC 9568 §6.4.2).
    pub fn master_adver_interval(&self) -> Interval {
        self.master_adver_interval
    }
    /// Skew_Time for the current priority and Master_Adver_Interval, in
    /// centiseconds ([`skew_time`](crate::skew_time)).
    pub fn skew_time_centis(&self) -> u32 {
        timers::skew_time(self.cfg.version, self.priority, self.master_adver_interval)
    }
    /// Master_Down_Interval for the current priority and
    /// Master_Adver_Interval, in centiseconds (with
    /// [`Config::down_timer_adverts`] intervals, 3 by the RFCs).
    pub fn master_down_interval_centis(&self) -> u32 {
        timers::down_interval(
            self.cfg.down_timer_adverts,
            self.cfg.version,
            self.priority,
            self.master_adver_interval,
        )
    }
    /// The advert to encode for an [`Action::SendAdvert`]. Both kinds are
    /// kept prebuilt, so sending allocates nothing.
    pub fn advert(&self, kind: AdvertKind) -> &Advert {
        match kind {
            AdvertKind::Current => &self.advert,
            AdvertKind::Release => &self.release,
        }
    }
    /// The deadline of the Adver_Timer that queued the latest
    /// [`Action::SendAdvert`], or `None` when that advert had no deadline
    /// (the first advert of a new master, a priority-0 release).
    ///
    /// A driver that reads it when it carries the action out can measure
    /// how late the advert left: `sent - due`. The state machine itself
    /// reads no clock; `now - due` at the timer's firing is the part of
    /// the lateness the driver's loop caused before calling
    /// [`VirtualRouter::handle_timeout`].
    pub fn advert_due(&self) -> Option<Instant> {
        self.advert_due
    }
    /// Counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }
    /// True while the virtual addresses are installed (as far as the actions
    /// issued say): in Master, and during a make-before-break handover.
    pub fn holds_vips(&self) -> bool {
        self.vips_installed
    }
    /// True while a switchover or maintenance release keeps the addresses
    /// until a new master is heard or the bound expires.
    pub fn handover_in_progress(&self) -> bool {
        self.handover.is_some()
    }
    /// True in maintenance mode.
    pub fn in_maintenance(&self) -> bool {
        self.maintenance
    }
    /// True after a switchover, until this router is master again or
    /// [`resume_preemption`](Self::resume_preemption) is called: the router
    /// does not preempt the master it handed over to.
    pub fn is_yielded(&self) -> bool {
        self.yielded
    }
    /// True while a fault-mode check holds the router in Fault
    /// ([`set_check_fault`](Self::set_check_fault)).
    pub fn check_fault(&self) -> bool {
        self.faults.check
    }
    /// True if any fault (interface, check, sync group) is active.
    pub fn is_faulted(&self) -> bool {
        self.faults.any()
    }
    /// RFC 9568 §6.4.3: while Master, the router "MUST accept packets
    /// addressed to the IPvX address(es) associated with the virtual router
    /// if it is the IPvX address owner or if Accept_Mode is True";
    /// otherwise it must not. False outside Master. Enforcing it is the
    /// driver's job.
    pub fn accepts_vip_traffic(&self) -> bool {
        self.state == State::Master && (self.cfg.is_owner() || self.cfg.accept_mode)
    }
    /// Source address of the last advert accepted from a master, if any.
    pub fn master_addr(&self) -> Option<IpAddr> {
        match self.state {
            State::Master => Some(self.cfg.primary),
            _ => self.master_addr,
        }
    }

    // ----- outputs ---------------------------------------------------------

    /// The next action, in the documented order; `None` when drained.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The earliest armed deadline; call [`handle_timeout`](Self::handle_timeout)
    /// at (or after) it.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    // ----- inputs ----------------------------------------------------------

    /// The Startup event (RFC 9568 §6.4.1). Ignored unless in Initialize.
    pub fn startup(&mut self, now: Instant) {
        let now = self.clock(now);
        if self.state != State::Initialize {
            return;
        }
        self.started = true;
        if self.faults.any() {
            // Extension: a router faulted before start-up goes to Fault.
            self.change_state(State::Fault, self.faults.reason());
            return;
        }
        self.start(now, Reason::Startup);
    }

    /// The Shutdown event (RFC 9568 §6.4.2, §6.4.3): back to Initialize.
    pub fn shutdown(&mut self, now: Instant) {
        let _ = self.clock(now);
        self.started = false;
        match self.state {
            State::Initialize => {}
            State::Master => {
                // RFC 9568 §6.4.3: "If a Shutdown event is received, then:
                // Cancel the Adver_Timer, Send an ADVERTISEMENT with
                // Priority = 0, Transition to the {Initialize} state."
                self.timers.stop_all();
                self.send_advert(AdvertKind::Release);
                self.remove_vips();
                self.change_state(State::Initialize, Reason::Shutdown);
            }
            State::Backup => {
                // RFC 9568 §6.4.2: "If a Shutdown event is received, then:
                // Cancel the Master_Down_Timer, Transition to the
                // {Initialize} state." Addresses kept by a handover go too.
                self.timers.stop_all();
                self.handover = None;
                self.remove_vips();
                self.change_state(State::Initialize, Reason::Shutdown);
            }
            State::Fault => {
                self.timers.stop_all();
                self.change_state(State::Initialize, Reason::Shutdown);
            }
        }
        self.wants_master = false;
        self.master_addr = None;
    }

    /// Any expired deadline fires; calling early or twice does nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.clock(now);
        while let Some((timer, due)) = self.timers.pop_expired(now) {
            self.fire(now, timer, due);
        }
    }

    /// A received advertisement (already parsed and checksum-verified by
    /// `vrrp_proto`). `src` is the IP source address, `ttl` the IPv4 TTL or
    /// IPv6 hop limit it arrived with.
    pub fn handle_advert(&mut self, now: Instant, src: IpAddr, ttl: u8, adv: &Advert) {
        let now = self.clock(now);
        if matches!(self.state, State::Initialize | State::Fault) {
            // Initialize (RFC 9568 §6.4.1) has no advert rule; Fault is out
            // of service.
            self.stats.ignored_not_running += 1;
            return;
        }
        if !self.receive_checks(now, src, ttl, adv) {
            return;
        }
        self.stats.adverts_received += 1;
        if adv.priority.is_release() {
            self.stats.priority_zero_received += 1;
        }
        match self.state {
            State::Backup => self.backup_recv(now, src, adv),
            State::Master => self.master_recv(now, src, adv),
            State::Initialize | State::Fault => {}
        }
    }

    // ----- crate-internal hooks for SyncGroup ------------------------------

    pub(crate) fn set_sync_gated(&mut self, gated: bool) {
        self.sync_gated = gated;
    }
    pub(crate) fn wants_master(&self) -> bool {
        self.state == State::Master || (self.state == State::Backup && self.wants_master)
    }
    pub(crate) fn own_fault(&self) -> bool {
        self.faults.own()
    }
    pub(crate) fn force_master(&mut self, now: Instant) {
        let now = self.clock(now);
        if self.state == State::Backup && !self.maintenance {
            self.become_master(now, Reason::SyncGroup);
        }
    }
    pub(crate) fn force_backup(&mut self, now: Instant) {
        let now = self.clock(now);
        if self.state == State::Master {
            self.master_adver_interval = self.cfg.interval;
            self.leave_master(now, true, Reason::SyncGroup);
        }
    }
    pub(crate) fn set_sync_fault(&mut self, now: Instant, faulted: bool) {
        let now = self.clock(now);
        if self.faults.sync != faulted {
            self.faults.sync = faulted;
            self.reconcile_faults(now);
        }
    }

    // ----- internals ---------------------------------------------------------

    /// Contract rule 2: `now` never decreases (debug assertion; clamped in
    /// release builds).
    fn clock(&mut self, now: Instant) -> Instant {
        let now = match self.last_now {
            Some(last) => {
                debug_assert!(now >= last, "time went backwards");
                now.max(last)
            }
            None => now,
        };
        self.last_now = Some(now);
        now
    }

    fn push(&mut self, a: Action) {
        self.actions.push_back(a);
    }

    fn change_state(&mut self, to: State, reason: Reason) {
        let from = self.state;
        self.state = to;
        if to == State::Master {
            self.stats.master_transitions += 1;
        }
        self.push(Action::StateChanged(StateChange { from, to, reason }));
    }

    fn send_advert(&mut self, kind: AdvertKind) {
        // Set again by the Adver_Timer right after, when it is the cause.
        self.advert_due = None;
        self.stats.adverts_sent += 1;
        if kind == AdvertKind::Release {
            self.stats.priority_zero_sent += 1;
        }
        self.push(Action::SendAdvert(kind));
    }

    /// Installs the virtual addresses, then the excluded ones.
    fn add_vips(&mut self) {
        if self.vips_installed {
            return;
        }
        self.vips_installed = true;
        let actions = &mut self.actions;
        actions.extend(self.cfg.installed().map(Action::AddVip));
    }

    fn remove_vips(&mut self) {
        if !self.vips_installed {
            return;
        }
        self.vips_installed = false;
        let actions = &mut self.actions;
        actions.extend(self.cfg.installed().map(Action::RemoveVip));
    }

    /// `rounds` announcements per address: gratuitous ARP (RFC 9568 §6.4.1
    /// / §6.4.2, IPv4) or unsolicited NA (IPv6), addresses in configured
    /// order within each round, excluded addresses last (keepalived
    /// announces those too).
    fn announce(&mut self, rounds: u8) {
        for _ in 0..rounds {
            let actions = &mut self.actions;
            actions.extend(self.cfg.installed().map(|a| match a {
                IpAddr::V4(a) => Action::SendGarp(a),
                IpAddr::V6(a) => Action::SendUnsolicitedNa(a),
            }));
        }
    }

    fn arm_adver(&mut self, now: Instant) {
        let d = self.cfg.interval.to_duration();
        self.timers.set(Timer::Adver, now.checked_add(d));
    }

    fn arm_master_down(&mut self, now: Instant) {
        let d = timers::centis(self.master_down_interval_centis());
        self.timers.set(Timer::MasterDown, now.checked_add(d));
    }

    /// The Startup rules of RFC 9568 §6.4.1, also used when a fault clears.
    fn start(&mut self, now: Instant, reason: Reason) {
        if self.cfg.is_owner() {
            // RFC 9568 §6.4.1: "If the Priority = 255 ... Send an
            // ADVERTISEMENT, broadcast a gratuitous ARP / send unsolicited
            // NA, Set the Adver_Timer to Advertisement_Interval, Transition
            // to the {Master} state."
            self.become_master(now, reason);
        } else {
            // RFC 9568 §6.4.1: "else: Set Master_Adver_Interval to
            // Advertisement_Interval, Set the Master_Down_Timer to
            // Master_Down_Interval, Transition to the {Backup} state."
            self.master_adver_interval = self.cfg.interval;
            self.wants_master = false;
            self.master_addr = None;
            if !self.maintenance {
                self.arm_master_down(now);
            }
            // keepalived: preempt_delay counts from start-up.
            self.preempt_at = self.cfg.preempt_delay.and_then(|d| now.checked_add(d));
            self.change_state(State::Backup, reason);
        }
    }

    /// Entering Master: install, advertise, announce, arm timers.
    fn become_master(&mut self, now: Instant, reason: Reason) {
        // Addresses first so that traffic drawn by the advert or the
        // announcements has somewhere to land (no RFC step orders it; the
        // RFC's "While in Master" rules assume it).
        self.add_vips();
        self.send_advert(AdvertKind::Current);
        self.announce(self.cfg.announce.repeat);
        self.timers.stop(Timer::MasterDown);
        self.timers.stop(Timer::Handover);
        self.arm_adver(now);
        self.timers.set(
            Timer::AnnounceDelay,
            self.cfg
                .announce
                .second_burst_delay
                .and_then(|d| now.checked_add(d)),
        );
        self.timers.set(
            Timer::AnnounceRefresh,
            self.cfg.announce.refresh.and_then(|d| now.checked_add(d)),
        );
        self.handover = None;
        self.yielded = false;
        self.wants_master = false;
        self.preempt_at = None;
        self.master_adver_interval = self.cfg.interval;
        self.change_state(State::Master, reason);
    }

    /// Master to Backup (RFC 9568 §6.4.3 / sync group): stop advertising,
    /// optionally release, drop the addresses, arm Master_Down_Timer.
    fn leave_master(&mut self, now: Instant, release: bool, reason: Reason) {
        self.timers.stop(Timer::Adver);
        self.timers.stop(Timer::AnnounceDelay);
        self.timers.stop(Timer::AnnounceRefresh);
        self.timers.stop(Timer::LowerPrioAnnounce);
        if release {
            self.send_advert(AdvertKind::Release);
        }
        self.remove_vips();
        if !self.maintenance {
            self.arm_master_down(now);
        }
        self.change_state(State::Backup, reason);
    }

    /// Switchover / maintenance: priority 0, Backup, addresses kept until a
    /// new master is heard or Master_Down_Interval passes.
    fn release_master(&mut self, now: Instant, kind: Handover, reason: Reason) {
        self.timers.stop(Timer::Adver);
        self.timers.stop(Timer::AnnounceDelay);
        self.timers.stop(Timer::AnnounceRefresh);
        self.timers.stop(Timer::LowerPrioAnnounce);
        self.master_adver_interval = self.cfg.interval;
        self.send_advert(AdvertKind::Release);
        self.handover = Some(kind);
        let d = timers::centis(self.master_down_interval_centis());
        self.timers.set(Timer::Handover, now.checked_add(d));
        self.master_addr = None;
        self.change_state(State::Backup, reason);
    }

    fn fire(&mut self, now: Instant, timer: Timer, due: Instant) {
        match (timer, self.state) {
            (Timer::Adver, State::Master) => {
                // RFC 9568 §6.4.3: "If the Adver_Timer fires, then: Send an
                // ADVERTISEMENT, Reset the Adver_Timer to
                // Advertisement_Interval."
                self.send_advert(AdvertKind::Current);
                self.advert_due = Some(due);
                self.arm_adver(now);
            }
            (Timer::MasterDown, State::Backup) => {
                if self.maintenance {
                    return;
                }
                if self.sync_gated {
                    // keepalived vrrp_sync_group: go Master only when every
                    // member wants to; wait another Master_Down_Interval.
                    self.wants_master = true;
                    self.arm_master_down(now);
                    return;
                }
                // RFC 9568 §6.4.2: "If the Master_Down_Timer fires, then:
                // Send an ADVERTISEMENT, gratuitous ARP / unsolicited NA,
                // Set the Adver_Timer to Advertisement_Interval, Transition
                // to the {Master} state."
                self.become_master(now, Reason::MasterDown);
            }
            (Timer::AnnounceDelay, State::Master) => {
                // keepalived garp_master_delay: the second burst.
                self.announce(self.cfg.announce.repeat);
            }
            (Timer::LowerPrioAnnounce, State::Master) => {
                // keepalived garp_lower_prio_delay: the second set.
                self.announce(self.cfg.lower_prio_announce().repeat);
            }
            (Timer::AnnounceRefresh, State::Master) => {
                // keepalived garp_master_refresh.
                self.announce(self.cfg.announce.refresh_repeat);
                self.timers.set(
                    Timer::AnnounceRefresh,
                    self.cfg.announce.refresh.and_then(|d| now.checked_add(d)),
                );
            }
            (Timer::Handover, State::Backup) => match self.handover.take() {
                Some(Handover::Switchover) if !self.maintenance => {
                    // No new master within the bound: resume, keeping the
                    // addresses (make-before-break never broke).
                    self.become_master(now, Reason::SwitchoverAborted);
                }
                Some(_) => {
                    self.remove_vips();
                    if !self.maintenance {
                        self.arm_master_down(now);
                    }
                }
                None => {}
            },
            // A timer that does not apply to the current state: stale.
            _ => {}
        }
    }

    fn reconcile_faults(&mut self, now: Instant) {
        if !self.started {
            return;
        }
        let faulted = self.faults.any();
        match (faulted, self.state) {
            (true, State::Master) => {
                // Extension (keepalived): a master entering Fault sends
                // priority 0 so that a backup takes over after Skew_Time.
                self.timers.stop_all();
                self.send_advert(AdvertKind::Release);
                self.remove_vips();
                self.change_state(State::Fault, self.faults.reason());
            }
            (true, State::Backup) => {
                self.timers.stop_all();
                self.handover = None;
                self.remove_vips();
                self.wants_master = false;
                self.change_state(State::Fault, self.faults.reason());
            }
            (false, State::Fault) => {
                // Leaving Fault applies the Startup rules (RFC 9568 §6.4.1).
                self.start(now, Reason::FaultCleared);
            }
            _ => {}
        }
    }
}
