//! [`Node`]: the sans-IO owner of every virtual router and sync group of
//! one host, as quinn-proto's `Endpoint` owns connections.
//!
//! A driver that runs more than one [`VirtualRouter`] needs the same
//! things around them: find the routers an advert is for, keep one
//! deadline for all of them, turn a sync group's state into events, stop
//! gracefully (hand over, then release), and put back addresses that
//! disappeared from under a master. `Node` does all of it without I/O, so
//! that every executor (the `netif` one, an embedder's own) behaves the
//! same and every rule is tested on the simulated LAN.
//!
//! # Contract
//!
//! As for [`VirtualRouter`]: after any input, drain
//! [`Node::poll_action`] until `None`, then re-read [`Node::poll_timeout`]
//! and call [`Node::handle_timeout`] when it comes. Actions name the
//! router they belong to; encode a [`Action::SendAdvert`] with
//! [`Node::router`]`(id).advert(kind)` when you drain it.
//!
//! # Links
//!
//! A [`LinkId`] is the caller's name for the receive path a router
//! listens on: typically one raw socket (an interface, a family and a
//! source address). [`Node::handle_advert`] hands an advert to the routers
//! of (link, family, VRID). Two receive paths that see the same packets
//! (two sockets on one interface) must be two links, or their routers
//! would hear each advert twice.
//!
//! # Stopping
//!
//! [`Node::stop`] with [`Stop::HandOver`] is the make-before-break stop of
//! a master: it sends priority 0 and keeps its addresses
//! ([`VirtualRouter::request_switchover`]); the router (with its sync
//! group) is shut down once a new master is heard, the switchover is
//! aborted, or the bound passes: the longest Skew_Time any backup can have
//! (priority 1, RFC 9568 §6.1) plus [`STOP_MARGIN`]. A backup, an owner,
//! a router in maintenance and a faulted router stop at once
//! ([`Stop::Now`]: priority 0 from a master, addresses removed). Each
//! stopped router reports [`NodeAction::Stopped`] after its last action.

mod map;
mod slab;
#[cfg(test)]
mod tests;
mod types;
mod unit;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use vrrp_proto::{Advert, Family};

use crate::actions::State;
use crate::config::Config;
use crate::router::{OperatorError, ReconfigureError, VirtualRouter};
use crate::sync::{SyncGroup, SyncGroupError};
pub use map::RouterMap;
use slab::{Key, Slab};
pub use types::{GroupId, LinkId, NodeAction, NodeError, NodeStats, RouterId, Stop};
pub use unit::handover_bound;
use unit::{
    Fsm, Input, Phase, Slot, Unit, drain_unit, feed_group, feed_router, shut_down, start_handover,
};

/// Slack added to the longest Skew_Time in a graceful stop's bound
/// ([`Stop::HandOver`]): the new master's first advert needs a moment to
/// arrive after its Master_Down_Timer fires.
pub const STOP_MARGIN: Duration = Duration::from_millis(250);

/// Queued actions kept capacity for between bursts.
const KEEP_ACTIONS: usize = 256;

/// The virtual routers and sync groups of one host. See the module docs.
#[derive(Debug, Clone, Default)]
pub struct Node {
    routers: Slab<Slot>,
    units: Slab<Unit>,
    demux: BTreeMap<(LinkId, Family, u8), Vec<RouterId>>,
    /// Every unit's next deadline, earliest first; an entry that is not
    /// its unit's current `deadline` is stale and skipped, so a wakeup
    /// costs O(log n) per due unit.
    timers: BinaryHeap<Reverse<(Instant, Key)>>,
    queue: VecDeque<NodeAction>,
    last_now: Option<Instant>,
    stats: NodeStats,
}

impl Node {
    /// An empty node.
    pub fn new() -> Self {
        Node::default()
    }

    // ----- building ----------------------------------------------------------

    /// Adds a router listening on `link`, in Initialize; start it with
    /// [`Node::start`].
    pub fn add_router(&mut self, link: LinkId, cfg: Config) -> RouterId {
        let unit = self.units.insert(Unit {
            fsm: Fsm::Solo(Box::new(VirtualRouter::new(cfg))),
            members: Vec::with_capacity(1),
            group_state: State::Initialize,
            phase: Phase::Running,
            stop_reported: false,
            deadline: None,
        });
        self.attach(unit, 0, link)
    }

    /// Adds a sync group ([`SyncGroup`]) of routers, in Initialize; the
    /// ids come back in the order given. Start it with [`Node::start`] on
    /// any member.
    pub fn add_group(
        &mut self,
        members: Vec<(LinkId, Config)>,
    ) -> Result<(GroupId, Vec<RouterId>), SyncGroupError> {
        let links: Vec<LinkId> = members.iter().map(|(l, _)| *l).collect();
        let routers = members
            .into_iter()
            .map(|(_, c)| VirtualRouter::new(c))
            .collect();
        let group = SyncGroup::new(routers)?;
        let unit = self.units.insert(Unit {
            fsm: Fsm::Group(group),
            members: Vec::with_capacity(links.len()),
            group_state: State::Initialize,
            phase: Phase::Running,
            stop_reported: false,
            deadline: None,
        });
        let ids = links
            .into_iter()
            .enumerate()
            .map(|(m, link)| self.attach(unit, m, link))
            .collect();
        Ok((GroupId(unit), ids))
    }

    fn attach(&mut self, unit: Key, member: usize, link: LinkId) -> RouterId {
        let id = RouterId(self.routers.insert(Slot { unit, member, link }));
        if let Some(u) = self.units.get_mut(unit) {
            u.members.push(id);
            if let Some(r) = u.member(member) {
                let key = (
                    link,
                    Family::of(&r.config().primary_addr()),
                    r.config().vrid().get(),
                );
                self.demux.entry(key).or_default().push(id);
            }
        }
        id
    }

    /// Gives back the spare capacity that adding many routers left in the
    /// node's tables (they grow by doubling). For a daemon that adds a
    /// thousand routers at start-up, this is a good part of its memory
    /// (docs/performance.md); calling it changes no behaviour.
    pub fn shrink_to_fit(&mut self) {
        self.routers.shrink_to_fit();
        self.units.shrink_to_fit();
        for ids in self.demux.values_mut() {
            ids.shrink_to_fit();
        }
        self.timers.shrink_to_fit();
    }

    /// Startup (RFC 9568 §6.4.1) of the router and the rest of its sync
    /// group. Inputs given before (interface down, tracked priority) are
    /// taken into account.
    pub fn start(&mut self, now: Instant, id: RouterId) -> Result<(), NodeError> {
        self.input(now, id, Input::Startup)
    }

    /// Builds a stopped router (with every member of its sync group) again
    /// from new configurations, keeping the ids: `f` gets each member's id
    /// and old configuration and returns its new one. The tracked priority
    /// and check faults carry over; the rest starts afresh, in Initialize,
    /// as a new router would (a new primary address cannot be changed in
    /// place: it is the router's identity in elections). Start it again
    /// with [`Node::start`].
    pub fn reset(
        &mut self,
        now: Instant,
        id: RouterId,
        mut f: impl FnMut(RouterId, &Config) -> Config,
    ) -> Result<(), NodeError> {
        let now = self.clock(now);
        let key = self.routers.get(id.0).ok_or(NodeError::NoSuchRouter)?.unit;
        let unit = self.units.get(key).ok_or(NodeError::NoSuchRouter)?;
        if unit.phase != Phase::Stopped {
            return Err(NodeError::NotStopped);
        }
        let members = unit.members.clone();
        let mut rebuilt = Vec::with_capacity(members.len());
        for (&m, old) in members.iter().zip(unit.routers()) {
            let cfg = f(m, old.config());
            // The demultiplexing key (family, VRID) stays.
            if cfg.vrid() != old.config().vrid() {
                return Err(ReconfigureError::Vrid.into());
            }
            if cfg.primary_addr().is_ipv4() != old.config().primary_addr().is_ipv4() {
                return Err(ReconfigureError::Family.into());
            }
            let mut r = VirtualRouter::new(cfg);
            r.set_tracked_priority(now, old.tracked_delta());
            r.set_check_fault(now, old.check_fault());
            while r.poll_action().is_some() {}
            rebuilt.push(r);
        }
        let fsm = match unit.fsm {
            Fsm::Solo(_) => rebuilt.into_iter().next().map(|r| Fsm::Solo(Box::new(r))),
            Fsm::Group(_) => SyncGroup::new(rebuilt).ok().map(Fsm::Group),
        }
        .ok_or(NodeError::NoSuchRouter)?;
        if let Some(unit) = self.units.get_mut(key) {
            unit.fsm = fsm;
            unit.phase = Phase::Running;
            unit.stop_reported = false;
            unit.group_state = State::Initialize;
        }
        Ok(())
    }

    /// Removes a stopped router with every member of its sync group;
    /// returns the ids removed.
    pub fn remove(&mut self, id: RouterId) -> Result<Vec<RouterId>, NodeError> {
        let slot = *self.routers.get(id.0).ok_or(NodeError::NoSuchRouter)?;
        let unit = self.units.get(slot.unit).ok_or(NodeError::NoSuchRouter)?;
        if unit.phase != Phase::Stopped && unit.state() != State::Initialize {
            return Err(NodeError::NotStopped);
        }
        let unit = self
            .units
            .remove(slot.unit)
            .ok_or(NodeError::NoSuchRouter)?;
        for m in &unit.members {
            self.routers.remove(m.0);
        }
        self.demux.retain(|_, ids| {
            ids.retain(|i| !unit.members.contains(i));
            !ids.is_empty()
        });
        self.prune_timers();
        Ok(unit.members)
    }

    // ----- observers ---------------------------------------------------------

    /// The state machine of a router (its state, advert, stats).
    pub fn router(&self, id: RouterId) -> Option<&VirtualRouter> {
        let slot = self.routers.get(id.0)?;
        self.units.get(slot.unit)?.member(slot.member)
    }

    /// Every router with its id.
    pub fn routers(&self) -> impl Iterator<Item = (RouterId, &VirtualRouter)> + '_ {
        self.routers.iter().filter_map(|(k, s)| {
            let r = self.units.get(s.unit)?.member(s.member)?;
            Some((RouterId(k), r))
        })
    }

    /// Number of routers.
    pub fn len(&self) -> usize {
        self.routers.len()
    }

    /// True if the node has no router.
    pub fn is_empty(&self) -> bool {
        self.routers.len() == 0
    }

    /// The link a router listens on.
    pub fn link(&self, id: RouterId) -> Option<LinkId> {
        self.routers.get(id.0).map(|s| s.link)
    }

    /// The sync group of a router, if it is in one.
    pub fn group_of(&self, id: RouterId) -> Option<GroupId> {
        let slot = self.routers.get(id.0)?;
        let unit = self.units.get(slot.unit)?;
        matches!(unit.fsm, Fsm::Group(_)).then_some(GroupId(slot.unit))
    }

    /// A sync group's state ([`SyncGroup::state`]).
    pub fn group_state(&self, group: GroupId) -> Option<State> {
        let unit = self.units.get(group.0)?;
        matches!(unit.fsm, Fsm::Group(_)).then(|| unit.state())
    }

    /// The members of a sync group, in the order they were added.
    pub fn members(&self, group: GroupId) -> &[RouterId] {
        self.units.get(group.0).map_or(&[], |u| &u.members[..])
    }

    /// True while the router is handing over or stopped ([`Node::stop`]).
    pub fn is_stopping(&self, id: RouterId) -> bool {
        self.unit_of(id).is_some_and(|u| u.phase != Phase::Running)
    }

    /// True once the router has stopped.
    pub fn is_stopped(&self, id: RouterId) -> bool {
        self.unit_of(id).is_some_and(|u| u.phase == Phase::Stopped)
    }

    /// True when every router has stopped (or there is none).
    pub fn all_stopped(&self) -> bool {
        self.units.iter().all(|(_, u)| u.phase == Phase::Stopped)
    }

    /// The node's own counters.
    pub fn stats(&self) -> &NodeStats {
        &self.stats
    }

    fn unit_of(&self, id: RouterId) -> Option<&Unit> {
        self.units.get(self.routers.get(id.0)?.unit)
    }

    // ----- outputs -----------------------------------------------------------

    /// The next action; `None` when drained.
    pub fn poll_action(&mut self) -> Option<NodeAction> {
        let a = self.queue.pop_front();
        if a.is_none() && self.queue.capacity() > KEEP_ACTIONS {
            // A burst (a thousand routers taking over at once) does not
            // keep its memory (docs/performance.md).
            self.queue.shrink_to(KEEP_ACTIONS);
        }
        a
    }

    /// The earliest deadline of any router (or stop bound).
    pub fn poll_timeout(&self) -> Option<Instant> {
        // Every mutation prunes stale entries off the top.
        self.timers.peek().map(|Reverse((t, _))| *t)
    }

    fn is_live(&self, t: Instant, u: Key) -> bool {
        self.units.get(u).is_some_and(|x| x.deadline == Some(t))
    }

    // ----- inputs ------------------------------------------------------------

    /// An advert received on `link` (parsed and checksum-verified by
    /// `vrrp_proto`), for every running router of (link, the source's
    /// family, VRID). Returns how many routers it was given to; 0 means
    /// no router runs that VRID there (counted in
    /// [`NodeStats::unknown_vrid`]).
    pub fn handle_advert(
        &mut self,
        now: Instant,
        link: LinkId,
        src: IpAddr,
        ttl: u8,
        adv: &Advert,
    ) -> usize {
        let key = (link, Family::of(&src), adv.vrid.get());
        let n = self.demux.get(&key).map_or(0, Vec::len);
        if n == 0 {
            self.stats.unknown_vrid += 1;
            return 0;
        }
        let mut fed = 0;
        // By index: feeding borrows the node, and the list is short (one
        // router per VRID unless a configuration repeats one).
        for k in 0..n {
            let Some(&id) = self.demux.get(&key).and_then(|v| v.get(k)) else {
                break;
            };
            if !self.is_stopped(id) && self.input(now, id, Input::Advert(src, ttl, adv)).is_ok() {
                fed += 1;
            }
        }
        fed
    }

    /// Fires every due deadline: router timers and graceful-stop bounds.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.clock(now);
        while let Some(&Reverse((t, u))) = self.timers.peek() {
            if t > now {
                break;
            }
            self.timers.pop();
            if !self.is_live(t, u) {
                continue;
            }
            if let Some(unit) = self.units.get_mut(u) {
                unit.deadline = None;
                if unit.phase != Phase::Stopped {
                    match &mut unit.fsm {
                        Fsm::Solo(r) => r.handle_timeout(now),
                        Fsm::Group(g) => g.handle_timeout(now),
                    }
                }
            }
            self.after_input(u, now);
        }
        self.prune_timers();
    }

    /// The tracked-priority delta of a router
    /// ([`VirtualRouter::set_tracked_priority`]).
    pub fn set_tracked_priority(
        &mut self,
        now: Instant,
        id: RouterId,
        delta: i32,
    ) -> Result<(), NodeError> {
        self.input(now, id, Input::Tracked(delta))
    }

    /// A fault-mode check of a router failed or recovered
    /// ([`VirtualRouter::set_check_fault`]).
    pub fn set_check_fault(
        &mut self,
        now: Instant,
        id: RouterId,
        faulted: bool,
    ) -> Result<(), NodeError> {
        self.input(now, id, Input::CheckFault(faulted))
    }

    /// Whether a router's fixed source address is on its interface
    /// ([`VirtualRouter::set_source_present`]).
    pub fn set_source_present(
        &mut self,
        now: Instant,
        id: RouterId,
        present: bool,
    ) -> Result<(), NodeError> {
        self.input(now, id, Input::SourcePresent(present))
    }

    /// The interface of a router went down or came up.
    pub fn set_link_up(&mut self, now: Instant, id: RouterId, up: bool) -> Result<(), NodeError> {
        self.input(now, id, if up { Input::LinkUp } else { Input::LinkDown })
    }

    /// Hands mastership over ([`VirtualRouter::request_switchover`]); for a
    /// sync group member, the whole group hands over.
    pub fn request_switchover(&mut self, now: Instant, id: RouterId) -> Result<(), NodeError> {
        self.operate(now, id, |fsm| match fsm {
            Fsm::Solo(r) => r.request_switchover(now),
            Fsm::Group(g) => g.request_switchover(now),
        })
    }

    /// Maintenance on or off ([`VirtualRouter::set_maintenance`]); for a
    /// sync group member, the whole group.
    pub fn set_maintenance(
        &mut self,
        now: Instant,
        id: RouterId,
        on: bool,
    ) -> Result<(), NodeError> {
        self.operate(now, id, |fsm| match fsm {
            Fsm::Solo(r) => r.set_maintenance(now, on),
            Fsm::Group(g) => g.set_maintenance(now, on),
        })
    }

    /// Applies a changed configuration in place
    /// ([`VirtualRouter::reconfigure`], [`SyncGroup::reconfigure`]).
    pub fn reconfigure(
        &mut self,
        now: Instant,
        id: RouterId,
        cfg: Config,
    ) -> Result<(), NodeError> {
        let now = self.clock(now);
        let slot = *self.routers.get(id.0).ok_or(NodeError::NoSuchRouter)?;
        let unit = self
            .units
            .get_mut(slot.unit)
            .ok_or(NodeError::NoSuchRouter)?;
        let r = match &mut unit.fsm {
            Fsm::Solo(r) => r.reconfigure(now, cfg),
            Fsm::Group(g) => g.reconfigure(now, slot.member, cfg),
        };
        self.after_input(slot.unit, now);
        Ok(r?)
    }

    /// An address of the router disappeared from the host: a router that
    /// holds its addresses puts it back and announces it
    /// ([`VirtualRouter::restore_vip`]). Returns true if it does.
    pub fn restore_vip(&mut self, now: Instant, id: RouterId, addr: IpAddr) -> bool {
        let now = self.clock(now);
        let Some(slot) = self.routers.get(id.0).copied() else {
            return false;
        };
        let Some(unit) = self.units.get_mut(slot.unit) else {
            return false;
        };
        let restored = match &mut unit.fsm {
            Fsm::Solo(r) => r.restore_vip(now, addr),
            Fsm::Group(g) => g.restore_vip(now, slot.member, addr),
        };
        self.after_input(slot.unit, now);
        restored
    }

    /// Stops a router with the rest of its sync group (see the module
    /// docs). Stopping a stopped router does nothing; [`Stop::Now`] on a
    /// router that is handing over releases it at once.
    pub fn stop(&mut self, now: Instant, id: RouterId, how: Stop) -> Result<(), NodeError> {
        let now = self.clock(now);
        let unit_key = self.routers.get(id.0).ok_or(NodeError::NoSuchRouter)?.unit;
        let unit = self
            .units
            .get_mut(unit_key)
            .ok_or(NodeError::NoSuchRouter)?;
        match (unit.phase, how) {
            (Phase::Stopped, _) | (Phase::HandingOver { .. }, Stop::HandOver) => return Ok(()),
            (Phase::Running, Stop::HandOver) if start_handover(unit, now) => {}
            _ => shut_down(unit, now),
        }
        self.after_input(unit_key, now);
        Ok(())
    }

    /// [`Node::stop`] of every router.
    pub fn stop_all(&mut self, now: Instant, how: Stop) {
        for u in self.units.keys() {
            if let Some(&id) = self.units.get(u).and_then(|x| x.members.first()) {
                let _ = self.stop(now, id, how);
            }
        }
    }

    // ----- internals ---------------------------------------------------------

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

    /// One input to one router (its group rules apply), then its actions.
    fn input(&mut self, now: Instant, id: RouterId, input: Input<'_>) -> Result<(), NodeError> {
        let now = self.clock(now);
        let slot = *self.routers.get(id.0).ok_or(NodeError::NoSuchRouter)?;
        let unit = self
            .units
            .get_mut(slot.unit)
            .ok_or(NodeError::NoSuchRouter)?;
        match &mut unit.fsm {
            Fsm::Solo(r) => feed_router(r, now, input),
            Fsm::Group(g) => feed_group(g, slot.member, now, input),
        }
        self.after_input(slot.unit, now);
        Ok(())
    }

    fn operate(
        &mut self,
        now: Instant,
        id: RouterId,
        f: impl FnOnce(&mut Fsm) -> Result<(), OperatorError>,
    ) -> Result<(), NodeError> {
        let now = self.clock(now);
        let slot = *self.routers.get(id.0).ok_or(NodeError::NoSuchRouter)?;
        let unit = self
            .units
            .get_mut(slot.unit)
            .ok_or(NodeError::NoSuchRouter)?;
        if unit.phase != Phase::Running {
            return Err(NodeError::Stopping);
        }
        let r = f(&mut unit.fsm);
        self.after_input(slot.unit, now);
        Ok(r?)
    }

    /// After any input to unit `u`: its actions into the queue, the end of
    /// a hand-over, the group's state change, `Stopped`, its deadline.
    fn after_input(&mut self, u: Key, now: Instant) {
        let Some(unit) = self.units.get_mut(u) else {
            return;
        };
        drain_unit(unit, &mut self.queue);
        if let Phase::HandingOver { until } = unit.phase {
            let released = unit.routers().all(|r| !r.holds_vips());
            let resumed = unit.routers().any(|r| r.state() == State::Master);
            if released || resumed || now >= until {
                shut_down(unit, now);
                drain_unit(unit, &mut self.queue);
            }
        }
        if matches!(unit.fsm, Fsm::Group(_)) {
            let to = unit.state();
            if to != unit.group_state {
                let from = std::mem::replace(&mut unit.group_state, to);
                self.queue.push_back(NodeAction::GroupChanged {
                    group: GroupId(u),
                    from,
                    to,
                });
            }
        }
        if unit.phase == Phase::Stopped && !unit.stop_reported {
            unit.stop_reported = true;
            for &id in &unit.members {
                self.queue.push_back(NodeAction::Stopped(id));
            }
        }
        let until = match unit.phase {
            Phase::HandingOver { until } => Some(until),
            _ => None,
        };
        let next = match unit.phase {
            Phase::Stopped => None,
            _ => unit.poll_timeout().into_iter().chain(until).min(),
        };
        if next != unit.deadline {
            unit.deadline = next;
            if let Some(t) = next {
                self.timers.push(Reverse((t, u)));
            }
        }
        self.prune_timers();
    }

    /// Drops stale entries from the top of the heap, so that its top is
    /// always the earliest live deadline ([`Node::poll_timeout`] peeks).
    fn prune_timers(&mut self) {
        while let Some(&Reverse((t, u))) = self.timers.peek() {
            if self.is_live(t, u) {
                return;
            }
            self.timers.pop();
        }
    }
}
