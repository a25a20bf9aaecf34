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

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use vrrp_proto::{Advert, Family, Priority};

use crate::actions::{Action, State};
use crate::config::Config;
use crate::router::{OperatorError, ReconfigureError, VirtualRouter};
use crate::sync::{SyncGroup, SyncGroupError};
use crate::timers;
pub use map::RouterMap;
use slab::{Key, Slab};

/// Slack added to the longest Skew_Time in a graceful stop's bound
/// ([`Stop::HandOver`]): the new master's first advert needs a moment to
/// arrive after its Master_Down_Timer fires.
pub const STOP_MARGIN: Duration = Duration::from_millis(250);

/// Queued actions kept capacity for between bursts.
const KEEP_ACTIONS: usize = 256;

/// Identifies a virtual router in a [`Node`]. Ids of removed routers are
/// never reused for another router.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RouterId(Key);

impl RouterId {
    /// A small number for logs (the slot; reused after removal).
    pub fn index(self) -> u32 {
        self.0.index()
    }
}

/// Identifies a sync group in a [`Node`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupId(Key);

/// The caller's name for a receive path (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkId(pub u32);

/// How [`Node::stop`] stops a router.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stop {
    /// Shutdown now (RFC 9568 §6.4.3: a master sends priority 0 and
    /// removes its addresses).
    Now,
    /// A master that can hand over does so first (see the module docs);
    /// anything else stops now.
    HandOver,
}

/// One thing for the executor to do, in order.
#[must_use = "node actions must be carried out by the executor"]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NodeAction {
    /// An action of one router (see [`Action`]).
    Router(RouterId, Action),
    /// A sync group's state changed ([`SyncGroup::state`]), after the
    /// member actions of the same input.
    GroupChanged {
        /// The group.
        group: GroupId,
        /// Its state before.
        from: State,
        /// Its state now.
        to: State,
    },
    /// The router stopped (its last action came before); it may be
    /// removed with [`Node::remove`].
    Stopped(RouterId),
}

/// Why a [`Node`] call was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// No router (or group) has this id (any more).
    #[error("no such router")]
    NoSuchRouter,
    /// Routers are removed only once stopped (so that their last adverts
    /// can still be encoded).
    #[error("the router has not stopped")]
    NotStopped,
    /// The router is stopping or stopped.
    #[error("the router is stopping")]
    Stopping,
    /// An operator request the state machine refused.
    #[error(transparent)]
    Operator(#[from] OperatorError),
    /// A configuration the router cannot take in place.
    #[error(transparent)]
    Reconfigure(#[from] ReconfigureError),
}

/// Counters of the node itself (each router has its own [`crate::Stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeStats {
    /// Adverts for a (link, family, VRID) no router runs.
    pub unknown_vrid: u64,
}

#[derive(Debug, Clone)]
enum Fsm {
    Solo(Box<VirtualRouter>),
    Group(SyncGroup),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Running,
    HandingOver { until: Instant },
    Stopped,
}

/// A lone router or a sync group: what changes state together.
#[derive(Debug, Clone)]
struct Unit {
    fsm: Fsm,
    members: Vec<RouterId>,
    group_state: State,
    phase: Phase,
    /// `Stopped` actions were queued for the members.
    stop_reported: bool,
    /// The deadline queued in [`Node::timers`]; other entries are stale.
    deadline: Option<Instant>,
}

impl Unit {
    fn member(&self, m: usize) -> Option<&VirtualRouter> {
        match &self.fsm {
            Fsm::Solo(r) => (m == 0).then_some(&**r),
            Fsm::Group(g) => g.member(m),
        }
    }

    fn routers(&self) -> impl Iterator<Item = &VirtualRouter> + '_ {
        let (solo, group) = match &self.fsm {
            Fsm::Solo(r) => (Some(&**r), &[][..]),
            Fsm::Group(g) => (None, g.members()),
        };
        solo.into_iter().chain(group)
    }

    fn poll_timeout(&self) -> Option<Instant> {
        match &self.fsm {
            Fsm::Solo(r) => r.poll_timeout(),
            Fsm::Group(g) => g.poll_timeout(),
        }
    }

    fn state(&self) -> State {
        match &self.fsm {
            Fsm::Solo(r) => r.state(),
            Fsm::Group(g) => g.state(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    unit: Key,
    member: usize,
    link: LinkId,
}

/// An input for one member of a unit.
#[derive(Debug, Clone, Copy)]
enum Input<'a> {
    Startup,
    Advert(IpAddr, u8, &'a Advert),
    Tracked(i32),
    LinkDown,
    LinkUp,
    CheckFault(bool),
}

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

/// Starts a graceful stop of a running unit; false if it cannot hand over
/// (then the caller shuts it down).
fn start_handover(unit: &mut Unit, now: Instant) -> bool {
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

fn shut_down(unit: &mut Unit, now: Instant) {
    unit.phase = Phase::Stopped;
    match &mut unit.fsm {
        Fsm::Solo(r) => r.shutdown(now),
        Fsm::Group(g) => g.shutdown(now),
    }
}

fn drain_unit(unit: &mut Unit, queue: &mut VecDeque<NodeAction>) {
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

fn feed_router(r: &mut VirtualRouter, now: Instant, input: Input<'_>) {
    match input {
        Input::Startup => r.startup(now),
        Input::Advert(src, ttl, adv) => r.handle_advert(now, src, ttl, adv),
        Input::Tracked(d) => r.set_tracked_priority(now, d),
        Input::LinkDown => r.interface_down(now),
        Input::LinkUp => r.interface_up(now),
        Input::CheckFault(f) => r.set_check_fault(now, f),
    }
}

fn feed_group(g: &mut SyncGroup, m: usize, now: Instant, input: Input<'_>) {
    match input {
        Input::Startup => g.startup(now),
        Input::Advert(src, ttl, adv) => g.handle_advert(now, m, src, ttl, adv),
        Input::Tracked(d) => g.set_tracked_priority(now, m, d),
        Input::LinkDown => g.interface_down(now, m),
        Input::LinkUp => g.interface_up(now, m),
        Input::CheckFault(f) => g.set_check_fault(now, m, f),
    }
}
