//! A deterministic simulated LAN of virtual routers (feature `sim`).
//!
//! Not part of the stable API: it exists for this crate's tests, the
//! `fsm_sequence` fuzz target and the benchmarks. Routers run on a virtual
//! clock (one base [`Instant`] plus offsets) and exchange **real encoded
//! packets**: every `SendAdvert` is emitted with `vrrp_proto` into bytes
//! (with a real checksum), and every delivery is parsed back with
//! `Advert::parse_into` and a receiver-side `ChecksumCtx` before it reaches
//! the receiver's `handle_advert`. Faults come from a seeded PRNG (loss,
//! duplication, reordering) plus scripted partitions, crashes, link
//! changes and priority changes. Invariants are checked after every step.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use vrrp_proto::{Advert, Auth, ChecksumCtx, Interval, Packet, Version};

use crate::{Action, Config, VirtualRouter};

mod check;

/// splitmix64: a tiny, good-enough, seedable PRNG.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (`n > 0`; 0 gives 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }
    /// True with probability `pct` percent.
    pub fn chance(&mut self, pct: u8) -> bool {
        pct > 0 && self.below(100) < u64::from(pct)
    }
}

/// Random network faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetFaults {
    /// Percent of deliveries lost.
    pub loss_pct: u8,
    /// Percent of deliveries duplicated.
    pub dup_pct: u8,
    /// Percent of deliveries delayed by up to `reorder_window` extra.
    pub reorder_pct: u8,
    /// Base one-way latency.
    pub latency: Duration,
    /// Extra delay of a reordered delivery, at most.
    pub reorder_window: Duration,
}

impl Default for NetFaults {
    fn default() -> Self {
        NetFaults {
            loss_pct: 0,
            dup_pct: 0,
            reorder_pct: 0,
            latency: Duration::ZERO,
            reorder_window: Duration::from_millis(50),
        }
    }
}

/// One router of the LAN and what the harness observed of it.
#[derive(Debug)]
pub struct SimRouter {
    /// The state machine.
    pub router: VirtualRouter,
    /// False after a crash (the router is no longer polled or delivered to).
    pub alive: bool,
    /// Routers hear each other only within the same segment.
    pub segment: u32,
    /// Addresses installed by `AddVip` and not yet removed.
    pub vips: Vec<IpAddr>,
    /// Announcements (GARP / NA) sent.
    pub announcements: u64,
    rx: Advert,
}

/// One harness event in the trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceEvent {
    /// Virtual time since the base instant.
    pub at: Duration,
    /// The node.
    pub node: usize,
    /// What it did.
    pub action: Action,
}

/// A failure of the simulation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimError {
    /// An invariant did not hold after a step.
    Invariant {
        /// Virtual time.
        at: Duration,
        /// What failed.
        what: String,
    },
    /// The step budget ran out before the target time (livelock).
    StepBudget {
        /// Virtual time reached.
        at: Duration,
    },
    /// A packet the harness emitted did not encode or parse.
    Codec(String),
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimError::Invariant { at, what } => write!(f, "invariant at {at:?}: {what}"),
            SimError::StepBudget { at } => write!(f, "step budget exhausted at {at:?}"),
            SimError::Codec(e) => write!(f, "codec: {e}"),
        }
    }
}

impl std::error::Error for SimError {}

#[derive(Debug)]
struct InFlight {
    at: Instant,
    seq: u64,
    from: usize,
    to: usize,
    src: IpAddr,
    ttl: u8,
    bytes: Vec<u8>,
}

/// The simulated LAN.
#[derive(Debug)]
pub struct Lan {
    base: Instant,
    now: Instant,
    /// The routers.
    pub nodes: Vec<SimRouter>,
    in_flight: Vec<InFlight>,
    rng: SplitMix64,
    /// Random network faults, changeable between steps.
    pub faults: NetFaults,
    /// Every action, in order.
    pub trace: Vec<TraceEvent>,
    /// Longest a same-segment dual-master conflict may last before it is an
    /// invariant failure; `None` disables the check (e.g. under loss).
    pub conflict_bound: Option<Duration>,
    conflict_since: Vec<(u8, u32, Instant)>,
    seq: u64,
    steps: u64,
    /// Keep the trace (off for benchmarks).
    pub keep_trace: bool,
}

/// The multicast destination of a family.
fn group(primary: IpAddr) -> IpAddr {
    match primary {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18)),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12)),
    }
}

fn ctx(src: IpAddr, dst: IpAddr) -> ChecksumCtx {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => ChecksumCtx::ipv4(s, d),
        (IpAddr::V6(s), IpAddr::V6(d)) => ChecksumCtx::ipv6(s, d),
        // Mixed families never happen: Config checks them.
        (IpAddr::V4(s), IpAddr::V6(_)) => ChecksumCtx::ipv4(s, Ipv4Addr::new(224, 0, 0, 18)),
        (IpAddr::V6(s), IpAddr::V4(_)) => ChecksumCtx::ipv6(s, Ipv6Addr::LOCALHOST),
    }
}

impl Lan {
    /// An empty LAN whose clock starts at `base`, with PRNG `seed`.
    pub fn new(base: Instant, seed: u64) -> Self {
        Lan {
            base,
            now: base,
            nodes: Vec::new(),
            in_flight: Vec::new(),
            rng: SplitMix64::new(seed),
            faults: NetFaults::default(),
            trace: Vec::new(),
            conflict_bound: Some(Duration::from_secs(1)),
            conflict_since: Vec::new(),
            seq: 0,
            steps: 0,
            keep_trace: true,
        }
    }

    /// The current virtual instant.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Virtual time since the base instant.
    pub fn elapsed(&self) -> Duration {
        self.now - self.base
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Adds a router (in Initialize) on segment 0; returns its index.
    pub fn add(&mut self, cfg: Config) -> usize {
        let rx = Advert {
            version: cfg.version(),
            vrid: cfg.vrid(),
            priority: cfg.priority(),
            interval: cfg.interval(),
            addrs: cfg.virtual_addrs().clone(),
            auth: Auth::None,
        };
        self.nodes.push(SimRouter {
            router: VirtualRouter::new(cfg),
            alive: true,
            segment: 0,
            vips: Vec::new(),
            announcements: 0,
            rx,
        });
        self.nodes.len() - 1
    }

    /// Runs `f` on a live node's router at the current instant, then drains.
    pub fn with<F: FnOnce(&mut VirtualRouter, Instant)>(
        &mut self,
        i: usize,
        f: F,
    ) -> Result<(), SimError> {
        let now = self.now;
        if let Some(n) = self.nodes.get_mut(i).filter(|n| n.alive) {
            f(&mut n.router, now);
        }
        self.drain_all()?;
        self.check()
    }

    /// Startup of node `i`.
    pub fn start(&mut self, i: usize) -> Result<(), SimError> {
        self.with(i, |r, now| r.startup(now))
    }

    /// Startup of every node.
    pub fn start_all(&mut self) -> Result<(), SimError> {
        for i in 0..self.nodes.len() {
            self.start(i)?;
        }
        Ok(())
    }

    /// Crash: the node stops at once, without a Shutdown event; whatever it
    /// had installed dies with it. Packets it already sent are still
    /// delivered; packets to it are lost.
    pub fn crash(&mut self, i: usize) {
        if let Some(n) = self.nodes.get_mut(i) {
            n.alive = false;
            n.vips.clear();
        }
        self.in_flight.retain(|p| p.to != i);
    }

    /// Restart a crashed node from its configuration and start it.
    pub fn restart(&mut self, i: usize) -> Result<(), SimError> {
        if let Some(n) = self.nodes.get_mut(i).filter(|n| !n.alive) {
            let cfg = n.router.config().clone();
            n.router = VirtualRouter::new(cfg);
            n.alive = true;
            n.vips.clear();
        }
        self.start(i)
    }

    /// Moves node `i` to `segment` (a partition when segments differ).
    /// Packets already in flight across the cut are lost.
    pub fn set_segment(&mut self, i: usize, segment: u32) {
        if let Some(n) = self.nodes.get_mut(i) {
            n.segment = segment;
        }
    }

    /// Puts every node back on segment 0.
    pub fn heal(&mut self) {
        for n in &mut self.nodes {
            n.segment = 0;
        }
    }

    /// The next instant something happens.
    fn next_event(&self) -> Option<Instant> {
        let timers = self
            .nodes
            .iter()
            .filter(|n| n.alive)
            .filter_map(|n| n.router.poll_timeout());
        let packets = self.in_flight.iter().map(|p| p.at);
        timers.chain(packets).min()
    }

    /// One step: the earliest delivery, or all timers due at the earliest
    /// deadline. Returns false when nothing is scheduled.
    pub fn step(&mut self) -> Result<bool, SimError> {
        let Some(at) = self.next_event() else {
            return Ok(false);
        };
        self.steps += 1;
        self.now = self.now.max(at);
        let now = self.now;
        // Deliveries first (earliest, then in send order).
        let next_pkt = self
            .in_flight
            .iter()
            .enumerate()
            .filter(|(_, p)| p.at <= now)
            .min_by_key(|(_, p)| (p.at, p.seq))
            .map(|(i, _)| i);
        if let Some(idx) = next_pkt {
            let p = self.in_flight.swap_remove(idx);
            self.deliver(p)?;
        } else {
            for n in self.nodes.iter_mut().filter(|n| n.alive) {
                n.router.handle_timeout(now);
            }
        }
        self.drain_all()?;
        self.check()?;
        Ok(true)
    }

    /// Runs exactly `n` steps (fewer if nothing is scheduled).
    pub fn run_bounded(&mut self, n: u64) -> Result<(), SimError> {
        for _ in 0..n {
            if !self.step()? {
                break;
            }
        }
        Ok(())
    }

    /// Runs until virtual time `t` after the base, failing if that takes
    /// more than `max_steps` steps (a livelock fails instead of hanging).
    pub fn run_until(&mut self, t: Duration, max_steps: u64) -> Result<(), SimError> {
        let target = self.base + t;
        let mut budget = max_steps;
        while self.next_event().is_some_and(|e| e <= target) {
            if budget == 0 {
                return Err(SimError::StepBudget { at: self.elapsed() });
            }
            budget -= 1;
            self.step()?;
        }
        self.now = self.now.max(target);
        Ok(())
    }

    /// Runs for `d` more virtual time.
    pub fn run_for(&mut self, d: Duration, max_steps: u64) -> Result<(), SimError> {
        let t = self.elapsed() + d;
        self.run_until(t, max_steps)
    }

    fn deliver(&mut self, p: InFlight) -> Result<(), SimError> {
        let now = self.now;
        let from_segment = self.nodes.get(p.from).map(|n| n.segment);
        let Some(to) = self.nodes.get_mut(p.to) else {
            return Ok(());
        };
        if !to.alive || from_segment != Some(to.segment) {
            return Ok(());
        }
        let rctx = ctx(p.src, group(p.src));
        let pkt = Packet::new_checked(&p.bytes[..]).map_err(|e| SimError::Codec(e.to_string()))?;
        to.rx
            .parse_into(&pkt, &rctx)
            .map_err(|e| SimError::Codec(e.to_string()))?;
        let rx = &to.rx;
        to.router.handle_advert(now, p.src, p.ttl, rx);
        Ok(())
    }

    /// Drains every live node's actions: applies VIP changes, sends adverts.
    fn drain_all(&mut self) -> Result<(), SimError> {
        for i in 0..self.nodes.len() {
            if !self.nodes[i].alive {
                continue;
            }
            while let Some(action) = self.nodes[i].router.poll_action() {
                if self.keep_trace {
                    self.trace.push(TraceEvent {
                        at: self.now - self.base,
                        node: i,
                        action,
                    });
                }
                self.apply(i, action)?;
            }
        }
        Ok(())
    }

    fn apply(&mut self, i: usize, action: Action) -> Result<(), SimError> {
        let at = self.elapsed();
        match action {
            Action::AddVip(a) => {
                let n = &mut self.nodes[i];
                if n.vips.contains(&a) {
                    return Err(SimError::Invariant {
                        at,
                        what: format!("node {i} added {a} twice"),
                    });
                }
                n.vips.push(a);
            }
            Action::RemoveVip(a) => {
                let n = &mut self.nodes[i];
                let Some(pos) = n.vips.iter().position(|v| *v == a) else {
                    return Err(SimError::Invariant {
                        at,
                        what: format!("node {i} removed absent {a}"),
                    });
                };
                n.vips.swap_remove(pos);
            }
            Action::SendGarp(_) | Action::SendUnsolicitedNa(_) => {
                self.nodes[i].announcements += 1;
            }
            Action::SendAdvert(kind) => self.send(i, kind)?,
            _ => {}
        }
        Ok(())
    }

    fn send(&mut self, i: usize, kind: crate::AdvertKind) -> Result<(), SimError> {
        let (bytes, src, vrid, v6) = {
            let r = &self.nodes[i].router;
            let adv = r.advert(kind);
            let src = r.config().primary_addr();
            let mut bytes = vec![0u8; adv.buffer_len()];
            let mut pkt = Packet::new_unchecked(&mut bytes[..]);
            adv.emit(&mut pkt, &ctx(src, group(src)))
                .map_err(|e| SimError::Codec(e.to_string()))?;
            (bytes, src, adv.vrid, src.is_ipv6())
        };
        let seg = self.nodes[i].segment;
        for to in 0..self.nodes.len() {
            let n = &self.nodes[to];
            // The daemon demultiplexes by VRID and family before the FSM.
            if to == i || !n.alive || n.segment != seg {
                continue;
            }
            if n.router.config().vrid() != vrid || n.router.config().primary_addr().is_ipv6() != v6
            {
                continue;
            }
            if self.rng.chance(self.faults.loss_pct) {
                continue;
            }
            let copies = if self.rng.chance(self.faults.dup_pct) {
                2
            } else {
                1
            };
            for _ in 0..copies {
                let mut at = self.now + self.faults.latency;
                if self.rng.chance(self.faults.reorder_pct) {
                    let w = self.faults.reorder_window.as_micros().max(1) as u64;
                    at += Duration::from_micros(self.rng.below(w));
                }
                self.seq += 1;
                self.in_flight.push(InFlight {
                    at,
                    seq: self.seq,
                    from: i,
                    to,
                    src,
                    ttl: 255,
                    bytes: bytes.clone(),
                });
            }
        }
        Ok(())
    }
}

/// A config for simulated router `host` (1-based address suffix) of `vrid`.
pub fn sim_config(
    version: Version,
    v6: bool,
    vrid: u8,
    host: u8,
    priority: u8,
    interval: Interval,
) -> crate::ConfigBuilder {
    let b = Config::builder(vrid, version)
        .priority(priority)
        .interval(interval);
    if v6 {
        b.primary_addr(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, u16::from(host)))
            .virtual_addr(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0x100, u16::from(vrid)))
            .virtual_addr(Ipv6Addr::new(
                0x2001,
                0xdb8,
                0,
                0,
                0,
                0,
                0x100,
                u16::from(vrid),
            ))
    } else {
        b.primary_addr(Ipv4Addr::new(10, 99, 0, host))
            .virtual_addr(Ipv4Addr::new(10, 99, 100, vrid))
            .virtual_addr(Ipv4Addr::new(10, 99, 101, vrid))
    }
}

/// Interprets arbitrary bytes as a scenario and runs it: the engine of the
/// `fsm_sequence` fuzz target. Never panics on any input; returns the
/// first invariant failure (or a step-budget overrun, i.e. a livelock).
///
/// * byte 0: router count, `2 + b % 7` (2..=8);
/// * byte 1: flags: bit 0 VRRPv2 (else v3), bit 1 IPv6 (v3 only), bit 2
///   loss/duplication/reordering on, bits 3..8 the v3 interval
///   (`20 + 10 * (b >> 3)` cs);
/// * then two bytes per router: priority (0 is the owner for the first
///   router, 100 for the others; 255 becomes 254) and a preempt byte (odd
///   means nopreempt);
/// * then 3-byte ops `[op, arg, dt]`: the clock first advances `dt * 20`
///   ms, then `op % 12` selects crash, restart, partition, heal, tracked
///   priority, interface down/up, switchover, maintenance, shutdown,
///   startup or a check fault, applied to router `arg % n`.
///
/// At the end everything is healed, restarted and un-faulted, and the LAN
/// must converge within 30 virtual seconds.
pub fn run_script(base: Instant, data: &[u8]) -> Result<(), SimError> {
    let mut bytes = data.iter().copied();
    let mut next = move || bytes.next();
    let n = 2 + usize::from(next().unwrap_or(0) % 7);
    let flags = next().unwrap_or(0);
    let version = if flags & 1 != 0 {
        Version::V2
    } else {
        Version::V3
    };
    let v6 = flags & 2 != 0 && version == Version::V3;
    let lossy = flags & 4 != 0;
    let interval = match version {
        Version::V2 => Interval::DEFAULT,
        Version::V3 => {
            Interval::from_centis(20 + u16::from(flags >> 3) * 10).unwrap_or(Interval::DEFAULT)
        }
    };
    let mut lan = Lan::new(base, u64::from(flags) << 8 | n as u64);
    lan.keep_trace = false;
    if lossy {
        lan.faults = NetFaults {
            loss_pct: 10,
            dup_pct: 5,
            reorder_pct: 10,
            ..NetFaults::default()
        };
        lan.conflict_bound = None;
    } else {
        lan.conflict_bound = Some(interval.to_duration() * 4);
    }
    for h in 0..n {
        let p = match next().unwrap_or(100) {
            0 if h == 0 => 255,
            0 => 100,
            255 => 254,
            p => p,
        };
        let cfg = sim_config(version, v6, 1, h as u8 + 1, p, interval)
            .preempt(next().unwrap_or(0) & 1 == 0)
            .build()
            .map_err(|e| SimError::Codec(e.to_string()))?;
        lan.add(cfg);
    }
    lan.start_all()?;
    let budget = 200_000;
    while let (Some(op), Some(arg), Some(dt)) = (next(), next(), next()) {
        lan.run_for(Duration::from_millis(u64::from(dt) * 20), budget)?;
        let i = usize::from(arg) % n;
        match op % 12 {
            0 => lan.crash(i),
            1 => lan.restart(i)?,
            2 => lan.set_segment(i, u32::from(arg >> 4) % 3),
            3 => lan.heal(),
            4 => lan.with(i, |r, now| {
                r.set_tracked_priority(now, i32::from(arg as i8))
            })?,
            5 => lan.with(i, |r, now| r.interface_down(now))?,
            6 => lan.with(i, |r, now| r.interface_up(now))?,
            7 => lan.with(i, |r, now| {
                let _ = r.request_switchover(now);
            })?,
            8 => lan.with(i, |r, now| {
                let _ = r.set_maintenance(now, arg & 0x80 != 0);
            })?,
            9 => lan.with(i, |r, now| r.shutdown(now))?,
            10 => lan.with(i, |r, now| r.startup(now))?,
            _ => lan.with(i, |r, now| r.set_check_fault(now, arg & 0x80 != 0))?,
        }
    }
    // Quiesce: heal, restore everything, and require convergence.
    lan.heal();
    lan.faults = NetFaults::default();
    for i in 0..n {
        if !lan.nodes[i].alive {
            lan.restart(i)?;
        }
        lan.with(i, |r, now| {
            r.interface_up(now);
            r.set_check_fault(now, false);
            let _ = r.set_maintenance(now, false);
            r.startup(now);
        })?;
    }
    lan.conflict_bound = Some(interval.to_duration() * 4);
    lan.run_for(Duration::from_secs(30), budget)?;
    lan.check_converged()
}
