//! [`SyncGroup`]: virtual routers that change state together (keepalived's
//! `vrrp_sync_group`).

use std::net::IpAddr;
use std::time::Instant;

use vrrp_proto::Advert;

use crate::actions::{Action, State};
use crate::config::Config;
use crate::router::{OperatorError, ReconfigureError, VirtualRouter};

/// Why a sync group could not be formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum SyncGroupError {
    /// A group needs at least one member.
    #[error("a sync group needs at least one member")]
    Empty,
    /// The address owner goes to Master at once and never waits for
    /// anybody (RFC 9568 §6.4.1), which a group cannot honour.
    #[error("member {0} is an address owner (priority 255)")]
    OwnerMember(usize),
    /// Members must start in Initialize, so the group sees every transition.
    #[error("member {0} has already been started")]
    AlreadyStarted(usize),
}

/// Virtual routers on one host that fail over together, with keepalived's
/// `vrrp_sync_group` semantics:
///
/// * **Master together.** A member whose Master_Down_Timer fires does not
///   go Master on its own: it "wants Master" and waits another
///   Master_Down_Interval. When every member wants Master (or is Master),
///   all go Master in the same input.
/// * **Backup follows.** When a member leaves Master for Backup (it heard a
///   better master, or a switchover), every other Master member goes Backup
///   too, sending a priority-0 advert so that its peer takes over after
///   Skew_Time.
/// * **Fault follows.** While any member has a fault of its own (interface
///   down, fault-mode check), the others are held in Fault too; they leave
///   it together when the last fault clears.
///
/// The group owns its members; inputs name a member by index (the order of
/// [`SyncGroup::new`]) and [`poll_action`](Self::poll_action) returns the
/// member index with each action. Members cannot be address owners.
#[derive(Debug, Clone)]
pub struct SyncGroup {
    members: Vec<VirtualRouter>,
    cursor: usize,
    /// Member states before the current input (reused buffer).
    before: Vec<State>,
}

impl SyncGroup {
    /// A group of routers, all still in Initialize.
    pub fn new(members: Vec<VirtualRouter>) -> Result<Self, SyncGroupError> {
        if members.is_empty() {
            return Err(SyncGroupError::Empty);
        }
        for (i, m) in members.iter().enumerate() {
            if m.config().is_owner() {
                return Err(SyncGroupError::OwnerMember(i));
            }
            if m.state() != State::Initialize {
                return Err(SyncGroupError::AlreadyStarted(i));
            }
        }
        let mut members = members;
        for m in &mut members {
            m.set_sync_gated(true);
        }
        let before = Vec::with_capacity(members.len());
        Ok(SyncGroup {
            members,
            cursor: 0,
            before,
        })
    }

    /// The members, in index order.
    pub fn members(&self) -> &[VirtualRouter] {
        &self.members
    }

    /// One member (for [`VirtualRouter::advert`], state and stats).
    pub fn member(&self, index: usize) -> Option<&VirtualRouter> {
        self.members.get(index)
    }

    /// The group's state: Fault if any member is faulted, Master if all are
    /// Master, Initialize if any is, else Backup.
    pub fn state(&self) -> State {
        let states = || self.members.iter().map(VirtualRouter::state);
        if states().any(|s| s == State::Fault) {
            State::Fault
        } else if states().all(|s| s == State::Master) {
            State::Master
        } else if states().any(|s| s == State::Initialize) {
            State::Initialize
        } else {
            State::Backup
        }
    }

    /// Startup of every member.
    pub fn startup(&mut self, now: Instant) {
        self.each(now, |m| m.startup(now));
    }

    /// Shutdown of every member.
    pub fn shutdown(&mut self, now: Instant) {
        self.each(now, |m| m.shutdown(now));
    }

    /// Expired deadlines of every member.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.each(now, |m| m.handle_timeout(now));
    }

    /// An advert for member `index` (out-of-range indices are ignored).
    pub fn handle_advert(
        &mut self,
        now: Instant,
        index: usize,
        src: IpAddr,
        ttl: u8,
        adv: &Advert,
    ) {
        self.one(now, index, |m| m.handle_advert(now, src, ttl, adv));
    }

    /// Tracked-priority delta of member `index`.
    pub fn set_tracked_priority(&mut self, now: Instant, index: usize, delta: i32) {
        self.one(now, index, |m| m.set_tracked_priority(now, delta));
    }

    /// Interface down for member `index`.
    pub fn interface_down(&mut self, now: Instant, index: usize) {
        self.one(now, index, |m| m.interface_down(now));
    }

    /// Interface up for member `index`.
    pub fn interface_up(&mut self, now: Instant, index: usize) {
        self.one(now, index, |m| m.interface_up(now));
    }

    /// Fault-mode check of member `index`.
    pub fn set_check_fault(&mut self, now: Instant, index: usize, faulted: bool) {
        self.one(now, index, |m| m.set_check_fault(now, faulted));
    }

    /// [`VirtualRouter::set_source_present`] for member `index`, then the
    /// group rules.
    pub fn set_source_present(&mut self, now: Instant, index: usize, present: bool) {
        self.one(now, index, |m| m.set_source_present(now, present));
    }

    /// Applies a changed configuration to member `index` in place (a
    /// reload), as [`VirtualRouter::reconfigure`] does for a lone router,
    /// then applies the group rules: a member whose new priority loses
    /// Master to a peer takes the others to Backup with it, as any other
    /// input would. An out-of-range index changes nothing.
    pub fn reconfigure(
        &mut self,
        now: Instant,
        index: usize,
        cfg: Config,
    ) -> Result<(), ReconfigureError> {
        let mut result = Ok(());
        self.one(now, index, |m| result = m.reconfigure(now, cfg));
        result
    }

    /// [`VirtualRouter::restore_vip`] for member `index` (no group rule is
    /// involved: no state changes).
    pub fn restore_vip(&mut self, now: Instant, index: usize, addr: IpAddr) -> bool {
        self.cursor = 0;
        self.members
            .get_mut(index)
            .is_some_and(|m| m.restore_vip(now, addr))
    }

    /// Switchover of the whole group: every Master member hands over.
    pub fn request_switchover(&mut self, now: Instant) -> Result<(), OperatorError> {
        if !self.members.iter().any(|m| m.state() == State::Master) {
            return Err(OperatorError::NotMaster);
        }
        let mut result = Ok(());
        self.each(now, |m| {
            if m.state() == State::Master {
                if let Err(e) = m.request_switchover(now) {
                    result = Err(e);
                }
            }
        });
        result
    }

    /// Maintenance of the whole group.
    pub fn set_maintenance(&mut self, now: Instant, on: bool) -> Result<(), OperatorError> {
        let mut result = Ok(());
        self.each(now, |m| {
            if let Err(e) = m.set_maintenance(now, on) {
                result = Err(e);
            }
        });
        result
    }

    /// The next action and the index of the member it belongs to; members
    /// are drained in index order.
    pub fn poll_action(&mut self) -> Option<(usize, Action)> {
        while self.cursor < self.members.len() {
            if let Some(a) = self.members[self.cursor].poll_action() {
                return Some((self.cursor, a));
            }
            self.cursor += 1;
        }
        self.cursor = 0;
        None
    }

    /// The earliest deadline of any member.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.members
            .iter()
            .filter_map(VirtualRouter::poll_timeout)
            .min()
    }

    fn one(&mut self, now: Instant, index: usize, f: impl FnOnce(&mut VirtualRouter)) {
        self.snapshot();
        if let Some(m) = self.members.get_mut(index) {
            f(m);
        }
        self.reconcile(now);
    }

    fn each(&mut self, now: Instant, mut f: impl FnMut(&mut VirtualRouter)) {
        self.snapshot();
        for m in &mut self.members {
            f(m);
        }
        self.reconcile(now);
    }

    fn snapshot(&mut self) {
        self.before.clear();
        self.before
            .extend(self.members.iter().map(VirtualRouter::state));
    }

    /// Applies the group rules until nothing changes (each rule only moves
    /// members towards one target, so this ends within a few rounds).
    fn reconcile(&mut self, now: Instant) {
        self.cursor = 0;
        // Fault follows.
        let any_fault = self.members.iter().any(VirtualRouter::own_fault);
        for m in &mut self.members {
            m.set_sync_fault(now, any_fault);
        }
        // Backup follows: a member went Master -> Backup in this input.
        let dropped = self
            .members
            .iter()
            .zip(&self.before)
            .any(|(m, b)| *b == State::Master && m.state() == State::Backup);
        if dropped {
            for m in &mut self.members {
                m.force_backup(now);
            }
        }
        // Master together.
        let all_want = self.members.iter().all(VirtualRouter::wants_master);
        let some_backup = self.members.iter().any(|m| m.state() == State::Backup);
        if !dropped && all_want && some_backup {
            for m in &mut self.members {
                m.force_master(now);
            }
        }
    }
}
