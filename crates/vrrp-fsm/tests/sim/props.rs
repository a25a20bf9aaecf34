//! Property tests over random topologies (2 to 8 routers): convergence
//! within a bounded virtual time, after a chaotic phase of loss,
//! duplication, reordering, partitions, crashes and priority changes.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use vrrp_fsm::master_down_interval;
use vrrp_fsm::sim::{Lan, NetFaults, sim_config};
use vrrp_proto::{Interval, Priority, Version};

use super::BUDGET;

#[derive(Debug, Clone)]
struct Router {
    priority: u8,
    preempt: bool,
}

#[derive(Debug, Clone)]
enum Chaos {
    Crash(usize),
    Restart(usize),
    Partition(usize, u32),
    Heal,
    Priority(usize, i32),
    LinkDown(usize),
    LinkUp(usize),
}

fn router() -> impl Strategy<Value = Router> {
    (prop_oneof![1 => Just(255u8), 9 => 1u8..=254], any::<bool>()).prop_map(
        |(priority, preempt)| Router {
            priority,
            preempt: preempt || priority == 255,
        },
    )
}

fn chaos() -> impl Strategy<Value = (u16, Chaos)> {
    let ev = prop_oneof![
        (0usize..8).prop_map(Chaos::Crash),
        (0usize..8).prop_map(Chaos::Restart),
        ((0usize..8), (0u32..3)).prop_map(|(i, s)| Chaos::Partition(i, s)),
        Just(Chaos::Heal),
        ((0usize..8), (-150i32..150)).prop_map(|(i, d)| Chaos::Priority(i, d)),
        (0usize..8).prop_map(Chaos::LinkDown),
        (0usize..8).prop_map(Chaos::LinkUp),
    ];
    (0u16..3000, ev)
}

/// Builds the LAN: at most one owner (the first 255 wins; others become 254).
fn build(routers: &[Router], v2: bool, interval_cs: u16, seed: u64) -> Lan {
    let version = if v2 { Version::V2 } else { Version::V3 };
    let iv = if v2 {
        Interval::DEFAULT
    } else {
        Interval::from_centis(interval_cs).expect("non-zero")
    };
    let mut lan = Lan::new(Instant::now(), seed);
    let mut owner_seen = false;
    for (h, r) in routers.iter().enumerate() {
        let mut p = r.priority;
        if p == 255 {
            if owner_seen {
                p = 254;
            }
            owner_seen = true;
        }
        let cfg = sim_config(version, false, 1, h as u8 + 1, p, iv)
            .preempt(r.preempt)
            .build()
            .expect("valid");
        lan.add(cfg);
    }
    lan
}

proptest! {
    // 48 cases by default (fast in CI); PROPTEST_CASES overrides.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(48),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// From a cold start, every topology elects one master, with the
    /// highest priority when all preempt, within the largest
    /// Master_Down_Interval plus one interval; invariants hold at every step.
    #[test]
    fn cold_start_converges_within_master_down_interval(
        routers in proptest::collection::vec(router(), 2..=8),
        v2 in any::<bool>(),
        interval_cs in 20u16..=200,
        seed in any::<u64>(),
    ) {
        let mut lan = build(&routers, v2, interval_cs, seed);
        lan.start_all().expect("start");
        let version = if v2 { Version::V2 } else { Version::V3 };
        let iv = lan.nodes[0].router.config().interval();
        let bound_cs = master_down_interval(version, Priority::new(1), iv) + u32::from(iv.centis());
        lan.run_until(Duration::from_millis(u64::from(bound_cs) * 10), BUDGET).expect("run");
        // Routers that start together contend at the same time, so equal
        // priorities are broken by the higher primary address.
        lan.check_converged_with(true).expect("converged");
    }

    /// After arbitrary chaos under loss, duplication and reordering, once
    /// the network heals and everything is back up, the LAN converges
    /// within a bounded time (2 × Master_Down_Interval + 2 intervals).
    #[test]
    fn converges_after_chaos(
        routers in proptest::collection::vec(router(), 2..=8),
        v2 in any::<bool>(),
        interval_cs in 20u16..=150,
        seed in any::<u64>(),
        loss in 0u8..40,
        events in proptest::collection::vec(chaos(), 0..25),
    ) {
        let n = routers.len();
        let mut lan = build(&routers, v2, interval_cs, seed);
        lan.faults = NetFaults {
            loss_pct: loss,
            dup_pct: loss / 2,
            reorder_pct: loss,
            latency: Duration::from_millis(1),
            reorder_window: Duration::from_millis(100),
        };
        lan.conflict_bound = None;
        lan.start_all().expect("start");
        for (dt, ev) in events {
            lan.run_for(Duration::from_millis(u64::from(dt) * 10), BUDGET).expect("run");
            match ev {
                Chaos::Crash(i) => lan.crash(i % n),
                Chaos::Restart(i) => lan.restart(i % n).expect("restart"),
                Chaos::Partition(i, s) => lan.set_segment(i % n, s),
                Chaos::Heal => lan.heal(),
                Chaos::Priority(i, d) => lan.with(i % n, |r, now| r.set_tracked_priority(now, d)).expect("prio"),
                Chaos::LinkDown(i) => lan.with(i % n, |r, now| r.interface_down(now)).expect("down"),
                Chaos::LinkUp(i) => lan.with(i % n, |r, now| r.interface_up(now)).expect("up"),
            }
        }
        // Calm: heal, no loss, everything up.
        lan.heal();
        lan.faults = NetFaults::default();
        for i in 0..n {
            if !lan.nodes[i].alive {
                lan.restart(i).expect("restart");
            }
            lan.with(i, |r, now| r.interface_up(now)).expect("up");
        }
        let version = if v2 { Version::V2 } else { Version::V3 };
        let iv = lan.nodes[0].router.config().interval();
        lan.conflict_bound = Some(iv.to_duration() * 2);
        let bound_cs = 2 * master_down_interval(version, Priority::new(1), iv) + 2 * u32::from(iv.centis());
        lan.run_for(Duration::from_millis(u64::from(bound_cs) * 10), BUDGET).expect("run");
        lan.check_converged().expect("converged");
    }
}
