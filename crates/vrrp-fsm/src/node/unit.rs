//! A unit: a lone router or a sync group, what changes state together;
//! and the helpers that feed, drain and stop one.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use vrrp_proto::{Advert, Priority};

use super::slab::Key;
use super::{LinkId, NodeAction, RouterId, STOP_MARGIN};
use crate::actions::State;
use crate::router::VirtualRouter;
use crate::sync::SyncGroup;
use crate::timers;

#[derive(Debug, Clone)]
pub(super) enum Fsm {
    Solo(Box<VirtualRouter>),
    Group(SyncGroup),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    Running,
    HandingOver { until: Instant },
    Stopped,
}

/// A lone router or a sync group: what changes state together.
#[derive(Debug, Clone)]
pub(super) struct Unit {
    pub(super) fsm: Fsm,
    pub(super) members: Vec<RouterId>,
    pub(super) group_state: State,
    pub(super) phase: Phase,
    /// `Stopped` actions were queued for the members.
    pub(super) stop_reported: bool,
    /// The deadline queued in [`Node::timers`]; other entries are stale.
    pub(super) deadline: Option<Instant>,
}

impl Unit {
    pub(super) fn member(&self, m: usize) -> Option<&VirtualRouter> {
        match &self.fsm {
            Fsm::Solo(r) => (m == 0).then_some(&**r),
            Fsm::Group(g) => g.member(m),
        }
    }

    pub(super) fn routers(&self) -> impl Iterator<Item = &VirtualRouter> + '_ {
        let (solo, group) = match &self.fsm {
            Fsm::Solo(r) => (Some(&**r), &[][..]),
            Fsm::Group(g) => (None, g.members()),
        };
        solo.into_iter().chain(group)
    }

    pub(super) fn poll_timeout(&self) -> Option<Instant> {
        match &self.fsm {
            Fsm::Solo(r) => r.poll_timeout(),
            Fsm::Group(g) => g.poll_timeout(),
        }
    }

    pub(super) fn state(&self) -> State {
        match &self.fsm {
            Fsm::Solo(r) => r.state(),
            Fsm::Group(g) => g.state(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Slot {
    pub(super) unit: Key,
    pub(super) member: usize,
    pub(super) link: LinkId,
}

/// An input for one member of a unit.
#[derive(Debug, Clone, Copy)]
pub(super) enum Input<'a> {
    Startup,
    Advert(IpAddr, u8, &'a Advert),
    Tracked(i32),
    LinkDown,
    LinkUp,
    CheckFault(bool),
    SourcePresent(bool),
}

/// Starts a graceful stop of a running unit; false if it cannot hand over
/// (then the caller shuts it down).
pub(super) fn start_handover(unit: &mut Unit, now: Instant) -> bool {
    let can = unit.routers().any(|r| r.state() == State::Master)
        && unit
            .routers()
            .all(|r| !r.config().is_owner() && !r.in_maintenance());
    if !can {
        return false;
    }
    let ok = match &mut unit.fsm {
        Fsm::Solo(r) => r.request_switchover(now).is_ok(),
        Fsm::Group(g) => g.request_switchover(now).is_ok(),
    };
    if ok {
        let bound = unit
            .routers()
            .map(handover_bound)
            .max()
            .unwrap_or(STOP_MARGIN);
        unit.phase = Phase::HandingOver { until: now + bound };
    }
    ok
}

/// How long a stopping master waits for a backup to take over: the
/// Skew_Time of the lowest-priority backup possible (RFC 9568 §6.1: a
/// backup that heard priority 0 takes over after its Skew_Time), plus
/// [`STOP_MARGIN`].
pub fn handover_bound(r: &VirtualRouter) -> Duration {
    let cfg = r.config();
    let skew = timers::skew_time(cfg.version(), Priority::MIN_BACKUP, cfg.interval());
    Duration::from_millis(u64::from(skew) * 10) + STOP_MARGIN
}

pub(super) fn shut_down(unit: &mut Unit, now: Instant) {
    unit.phase = Phase::Stopped;
    match &mut unit.fsm {
        Fsm::Solo(r) => r.shutdown(now),
        Fsm::Group(g) => g.shutdown(now),
    }
}

pub(super) fn drain_unit(unit: &mut Unit, queue: &mut VecDeque<NodeAction>) {
    match &mut unit.fsm {
        Fsm::Solo(r) => {
            while let Some(a) = r.poll_action() {
                if let Some(&id) = unit.members.first() {
                    queue.push_back(NodeAction::Router(id, a));
                }
            }
        }
        Fsm::Group(g) => {
            while let Some((m, a)) = g.poll_action() {
                if let Some(&id) = unit.members.get(m) {
                    queue.push_back(NodeAction::Router(id, a));
                }
            }
        }
    }
}

pub(super) fn feed_router(r: &mut VirtualRouter, now: Instant, input: Input<'_>) {
    match input {
        Input::Startup => r.startup(now),
        Input::Advert(src, ttl, adv) => r.handle_advert(now, src, ttl, adv),
        Input::Tracked(d) => r.set_tracked_priority(now, d),
        Input::LinkDown => r.interface_down(now),
        Input::LinkUp => r.interface_up(now),
        Input::CheckFault(f) => r.set_check_fault(now, f),
        Input::SourcePresent(p) => r.set_source_present(now, p),
    }
}

pub(super) fn feed_group(g: &mut SyncGroup, m: usize, now: Instant, input: Input<'_>) {
    match input {
        Input::Startup => g.startup(now),
        Input::Advert(src, ttl, adv) => g.handle_advert(now, m, src, ttl, adv),
        Input::Tracked(d) => g.set_tracked_priority(now, m, d),
        Input::LinkDown => g.interface_down(now, m),
        Input::LinkUp => g.interface_up(now, m),
        Input::CheckFault(f) => g.set_check_fault(now, m, f),
        Input::SourcePresent(p) => g.set_source_present(now, m, p),
    }
}
