//! The scheduler: runs every check on its interval from one mio loop.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::fmt;
use std::time::{Duration, Instant};

use mio::{Registry, Token};

use crate::error::{ConfigError, Error};
use crate::probe::exec::{ExecProbe, Ident};
use crate::probe::http::HttpProbe;
use crate::probe::icmp::IcmpProbe;
use crate::probe::tcp::TcpProbe;
use crate::probe::{Detail, InFlight, ProbeResult, Step, exec, file, iface, procs};
use crate::spec::{CheckKind, CheckSpec};
use crate::state::{
    CheckState, PriorityBreakdown, Status, Tracked, Transition, Weighting, effective_priority,
};

/// Identifies a check inside one [`Checker`]. Ids are never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CheckId(usize);

impl CheckId {
    /// The index (also the token offset).
    pub fn index(self) -> usize {
        self.0
    }
}

impl fmt::Display for CheckId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// A check changed state (or, for a file check, value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckEvent {
    /// Which check.
    pub id: CheckId,
    /// Its name.
    pub name: String,
    /// The change.
    pub transition: Transition,
    /// The probe result that completed it.
    pub result: ProbeResult,
    /// When it was recorded.
    pub at: Instant,
}

impl fmt::Display for CheckEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "check {} {} -> {} ({})",
            self.name, self.transition.from, self.transition.to, self.result.detail
        )?;
        if let Some(v) = self.transition.new_value {
            write!(f, " value {v}")?;
        }
        Ok(())
    }
}

/// One check an instance tracks, with an optional weighting override
/// (keepalived lets `track_script` override the script's weight).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrackedCheck {
    /// The check.
    pub id: CheckId,
    /// Overrides the check's own weight/reverse when set.
    pub weighting: Option<Weighting>,
}

impl From<CheckId> for TrackedCheck {
    fn from(id: CheckId) -> Self {
        Self {
            id,
            weighting: None,
        }
    }
}

/// Scheduler counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Probes started.
    pub started: u64,
    /// Probes finished (any outcome).
    pub finished: u64,
    /// Probes that timed out.
    pub timeouts: u64,
    /// Starts skipped because the previous probe of the check was still running.
    pub overruns: u64,
}

struct Slot {
    spec: CheckSpec,
    ident: Option<Ident>,
    state: CheckState,
    /// When the next probe is due (its scheduled start).
    next_due: Instant,
    /// Start of the probe in flight.
    started: Instant,
    inflight: Option<InFlight>,
    /// Sequence of the live heap entry for this slot (older entries are stale).
    timer_seq: u64,
    icmp_seq: u16,
    last_result: Option<ProbeResult>,
}

/// Runs checks on their intervals, non-blocking, from the caller's mio loop.
///
/// Contract (sans-IO style, like `vrrp-fsm`):
/// 1. Create it with the loop's [`Registry`] and a token base; it uses tokens
///    `token_base + check index` and nothing below `token_base`.
/// 2. Route every event whose token satisfies [`Checker::owns`] to
///    [`Checker::handle_event`].
/// 3. Poll with a timeout no later than [`Checker::poll_timeout`] and call
///    [`Checker::handle_timeout`] after every wake-up (early or repeated
///    calls are harmless).
/// 4. After either call, drain [`Checker::poll_event`] until `None` and
///    recompute priorities with [`Checker::breakdown`].
///
/// Exec probes spawn a child: the loop waits while the kernel execs it
/// (posix_spawn; about 0.2-1 ms, more on a loaded machine), the only step
/// that is not a non-blocking socket operation or a small sysfs / file read.
/// Children are reaped through pidfds: none is left as a zombie; removing a
/// check or dropping the checker kills the process groups still running.
pub struct Checker {
    registry: Registry,
    token_base: usize,
    slots: Vec<Option<Slot>>,
    names: HashMap<String, CheckId>,
    heap: BinaryHeap<Reverse<(Instant, usize, u64)>>,
    seq: u64,
    events: VecDeque<CheckEvent>,
    stats: Stats,
    lateness: Option<Vec<Duration>>,
    /// Exec children killed but not reaped yet (timeouts, removed checks).
    orphans: Vec<ExecProbe>,
    orphan_wake: Option<Instant>,
    /// Probes started per [`Checker::handle_timeout`] call at most.
    start_limit: usize,
}

/// How often killed-but-unreaped children are polled.
const ORPHAN_POLL: Duration = Duration::from_millis(20);

impl fmt::Debug for Checker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Checker")
            .field("token_base", &self.token_base)
            .field("checks", &self.names.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Checker {
    /// A checker registering its sources with `registry` under tokens
    /// `token_base..`.
    pub fn new(registry: &Registry, token_base: usize) -> Result<Self, Error> {
        Ok(Self {
            registry: registry
                .try_clone()
                .map_err(|e| Error::io("clone mio registry", e))?,
            token_base,
            slots: Vec::new(),
            names: HashMap::new(),
            heap: BinaryHeap::new(),
            seq: 0,
            events: VecDeque::new(),
            stats: Stats::default(),
            lateness: None,
            orphans: Vec::new(),
            orphan_wake: None,
            start_limit: usize::MAX,
        })
    }

    /// Starts at most `n` probes per [`Checker::handle_timeout`] call (at
    /// least one); the others stay due, and [`Checker::poll_timeout`]
    /// says so, so the caller comes back at once. An event loop that must
    /// not be held long (starting an exec probe forks a process) bounds
    /// its work this way when many checks fall due together.
    pub fn set_start_limit(&mut self, n: usize) {
        self.start_limit = n.max(1);
    }

    /// Adds a check whose first probe is due at `first_due` (pass "now" to
    /// probe at once, or spread many checks over an interval). Validates the
    /// spec and resolves the exec user.
    pub fn add(&mut self, spec: CheckSpec, first_due: Instant) -> Result<CheckId, Error> {
        let now = first_due;
        let cfg = |source| Error::Config {
            name: spec.name.clone(),
            source,
        };
        let policy = spec.validate().map_err(cfg)?;
        if self.names.contains_key(&spec.name) {
            return Err(cfg(ConfigError::DuplicateName(spec.name.clone())));
        }
        let ident = match &spec.kind {
            CheckKind::Exec(e) => e
                .user
                .as_ref()
                .map(exec::resolve)
                .transpose()
                .map_err(cfg)?,
            _ => None,
        };
        let idx = self.slots.len();
        if self.token_base.checked_add(idx).is_none() {
            return Err(Error::TokensExhausted);
        }
        let id = CheckId(idx);
        self.names.insert(spec.name.clone(), id);
        self.slots.push(Some(Slot {
            state: CheckState::new(spec.name.clone(), policy),
            spec,
            ident,
            next_due: now,
            started: now,
            inflight: None,
            timer_seq: 0,
            icmp_seq: 0,
            last_result: None,
        }));
        self.arm(idx, now);
        Ok(id)
    }

    /// Removes a check, aborting its probe (an exec child's group is killed
    /// and the child reaped without blocking).
    pub fn remove(&mut self, id: CheckId) -> bool {
        let Some(slot) = self.slots.get_mut(id.0).and_then(Option::take) else {
            return false;
        };
        self.names.remove(&slot.spec.name);
        if let Some(p) = slot.inflight {
            self.finish_probe(p, Instant::now());
        }
        true
    }

    /// Looks a check up by name.
    pub fn id(&self, name: &str) -> Option<CheckId> {
        self.names.get(name).copied()
    }

    /// Ids of all checks, in the order added.
    pub fn ids(&self) -> impl Iterator<Item = CheckId> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_some())
            .map(|(i, _)| CheckId(i))
    }

    /// The spec of a check.
    pub fn spec(&self, id: CheckId) -> Option<&CheckSpec> {
        self.slot(id).map(|s| &s.spec)
    }

    /// The pure state of a check.
    pub fn state(&self, id: CheckId) -> Option<&CheckState> {
        self.slot(id).map(|s| &s.state)
    }

    /// The last probe result of a check.
    pub fn last_result(&self, id: CheckId) -> Option<&ProbeResult> {
        self.slot(id).and_then(|s| s.last_result.as_ref())
    }

    /// Whether a probe of the check is running.
    pub fn in_flight(&self, id: CheckId) -> bool {
        self.slot(id).is_some_and(|s| s.inflight.is_some())
    }

    fn slot(&self, id: CheckId) -> Option<&Slot> {
        self.slots.get(id.0).and_then(Option::as_ref)
    }

    /// Whether `token` belongs to this checker.
    pub fn owns(&self, token: Token) -> bool {
        token.0 >= self.token_base
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Starts (or stops) recording, for each probe start, how late it started
    /// compared with its schedule (timer slip). Off by default.
    pub fn record_lateness(&mut self, on: bool) {
        self.lateness = on.then(Vec::new);
    }

    /// Takes the lateness samples recorded so far.
    pub fn take_lateness(&mut self) -> Vec<Duration> {
        self.lateness
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// The earliest instant at which [`Checker::handle_timeout`] has work.
    /// May be earlier than needed (stale entries), never later.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let timer = self.heap.peek().map(|Reverse((t, _, _))| *t);
        match (timer, self.orphan_wake) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Number of killed exec children still waiting to be reaped.
    pub fn unreaped_children(&self) -> usize {
        self.orphans.len()
    }

    fn finish_probe(&mut self, p: InFlight, now: Instant) {
        if let Some(orphan) = p.finish(&self.registry) {
            self.orphans.push(orphan);
            self.orphan_wake.get_or_insert(now + ORPHAN_POLL);
        }
    }

    fn reap_orphans(&mut self, now: Instant) {
        if self.orphans.is_empty() {
            return;
        }
        self.orphans.retain_mut(|p| !p.try_reap());
        self.orphan_wake = (!self.orphans.is_empty()).then(|| now + ORPHAN_POLL);
    }

    /// The next change of check state, if any.
    pub fn poll_event(&mut self) -> Option<CheckEvent> {
        self.events.pop_front()
    }

    /// Priority breakdown for an instance with configured priority `base`
    /// that tracks `checks` (unknown ids are skipped).
    pub fn breakdown(&self, base: u8, checks: &[TrackedCheck]) -> PriorityBreakdown {
        effective_priority(
            base,
            checks.iter().filter_map(|t| {
                self.state(t.id).map(|state| Tracked {
                    state,
                    weighting: t.weighting.unwrap_or(state.policy().weighting),
                })
            }),
        )
    }

    /// Priority breakdown over all checks with their own weights.
    pub fn breakdown_all(&self, base: u8) -> PriorityBreakdown {
        let ids: Vec<TrackedCheck> = self.ids().map(TrackedCheck::from).collect();
        self.breakdown(base, &ids)
    }

    /// A readiness event for `token` (ignored unless [`Checker::owns`] it and a
    /// probe of that check is running).
    pub fn handle_event(&mut self, token: Token, now: Instant) {
        let Some(idx) = token.0.checked_sub(self.token_base) else {
            return;
        };
        let Some(Some(slot)) = self.slots.get_mut(idx) else {
            return;
        };
        let Some(p) = slot.inflight.as_mut() else {
            return;
        };
        if let Step::Done(outcome, detail) = p.on_ready() {
            self.complete(idx, outcome, detail, now);
        }
    }

    /// Starts due probes and expires timed-out ones.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.orphan_wake.is_some_and(|t| t <= now) {
            self.reap_orphans(now);
        }
        let mut started = 0;
        while let Some(&Reverse((t, idx, seq))) = self.heap.peek() {
            if t > now || started >= self.start_limit {
                break;
            }
            self.heap.pop();
            let Some(Some(slot)) = self.slots.get_mut(idx) else {
                continue;
            };
            if slot.timer_seq != seq {
                continue;
            }
            if let Some(p) = slot.inflight.as_mut() {
                // The probe's deadline.
                self.stats.timeouts += 1;
                let (o, d) = p.on_timeout();
                self.complete(idx, o, d, now);
            } else {
                started += 1;
                self.start(idx, now);
            }
        }
    }

    fn arm(&mut self, idx: usize, at: Instant) {
        self.seq += 1;
        if let Some(Some(slot)) = self.slots.get_mut(idx) {
            slot.timer_seq = self.seq;
            self.heap.push(Reverse((at, idx, self.seq)));
        }
    }

    fn start(&mut self, idx: usize, now: Instant) {
        let token = Token(self.token_base + idx);
        let Some(Some(slot)) = self.slots.get_mut(idx) else {
            return;
        };
        let due = slot.next_due;
        if let Some(l) = self.lateness.as_mut() {
            l.push(now.saturating_duration_since(due));
        }
        self.stats.started += 1;
        // Fixed-rate schedule: the next start is one interval after this
        // one's scheduled start; missed slots are skipped, not bunched.
        let interval = slot.spec.interval;
        let mut next = due + interval;
        if next <= now {
            let behind = now.saturating_duration_since(due).as_nanos() / interval.as_nanos().max(1);
            let skip = u32::try_from(behind).unwrap_or(u32::MAX);
            next = due + interval.saturating_mul(skip.saturating_add(1));
            if next <= now {
                next = now + interval;
            }
        }
        slot.next_due = next;
        slot.started = now;
        let started = match &slot.spec.kind {
            CheckKind::Exec(e) => {
                ExecProbe::start(e, slot.ident.as_ref(), &self.registry, token).map(InFlight::Exec)
            }
            CheckKind::Tcp(t) => TcpProbe::start(t.addr, &self.registry, token).map(InFlight::Tcp),
            CheckKind::Http(h) => {
                HttpProbe::start(h, &self.registry, token).map(|p| InFlight::Http(Box::new(p)))
            }
            CheckKind::Icmp(i) => {
                slot.icmp_seq = slot.icmp_seq.wrapping_add(1);
                IcmpProbe::start(i, slot.icmp_seq, &self.registry, token).map(InFlight::Icmp)
            }
            CheckKind::Interface(i) => Err(iface::probe(i)),
            CheckKind::File(f) => Err(file::probe(f)),
            CheckKind::Process(p) => Err(procs::probe(p)),
        };
        match started {
            Ok(p) => {
                slot.inflight = Some(p);
                let deadline = now + slot.spec.timeout;
                self.arm(idx, deadline);
            }
            Err((outcome, detail)) => self.complete(idx, outcome, detail, now),
        }
    }

    fn complete(
        &mut self,
        idx: usize,
        outcome: crate::state::Outcome,
        detail: Detail,
        now: Instant,
    ) {
        let Some(Some(slot)) = self.slots.get_mut(idx) else {
            return;
        };
        let probe = slot.inflight.take();
        self.stats.finished += 1;
        let result = ProbeResult {
            outcome,
            detail,
            elapsed: now.saturating_duration_since(slot.started),
        };
        if let Some(transition) = slot.state.record(now, outcome) {
            self.events.push_back(CheckEvent {
                id: CheckId(idx),
                name: slot.spec.name.clone(),
                transition,
                result: result.clone(),
                at: now,
            });
        }
        slot.last_result = Some(result);
        // A failure short of `fall`: retry after the retry interval
        // (keepalived's `delay_before_retry`), then back to the interval.
        let retrying = outcome == crate::state::Outcome::Failure
            && slot.state.status() == crate::state::Status::Ok
            && slot.state.streak() > 0;
        if let Some(d) = slot.spec.retry_interval.filter(|_| retrying) {
            slot.next_due = now + d;
        }
        // If the probe overran its interval, skip to the next slot after now.
        let interval = slot.spec.interval;
        if slot.next_due <= now {
            self.stats.overruns += 1;
            let behind = now.saturating_duration_since(slot.next_due).as_nanos()
                / interval.as_nanos().max(1);
            let skip = u32::try_from(behind).unwrap_or(u32::MAX);
            slot.next_due += interval.saturating_mul(skip.saturating_add(1));
        }
        let at = slot.next_due;
        self.arm(idx, at);
        if let Some(p) = probe {
            self.finish_probe(p, now);
        }
    }

    /// Number of checks currently failed.
    pub fn failed_count(&self) -> usize {
        self.slots
            .iter()
            .flatten()
            .filter(|s| s.state.status() == Status::Failed)
            .count()
    }
}

impl Drop for Checker {
    /// Kills running exec checks and reaps them, waiting at most about a
    /// second in all for children that do not die at once.
    fn drop(&mut self) {
        let now = Instant::now();
        let running: Vec<InFlight> = self
            .slots
            .iter_mut()
            .flatten()
            .filter_map(|s| s.inflight.take())
            .collect();
        for p in running {
            self.finish_probe(p, now);
        }
        let deadline = now + Duration::from_secs(1);
        while !self.orphans.is_empty() && Instant::now() < deadline {
            self.orphans.retain_mut(|p| !p.try_reap());
            if !self.orphans.is_empty() {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
}
