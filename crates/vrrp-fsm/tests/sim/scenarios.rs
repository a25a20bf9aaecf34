//! Scripted scenarios: election, owner, nopreempt, preempt_delay, tracked
//! priority, partitions (split brain heals), loss, switchover, maintenance,
//! IPv6.

use std::time::{Duration, Instant};

use vrrp_fsm::sim::{Lan, NetFaults, run_script, sim_config};
use vrrp_fsm::{Action, Reason, State, StateChange};
use vrrp_proto::{Interval, Version};

use super::{BUDGET, cfg, first_advert, lan};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[test]
fn highest_priority_is_elected_for_both_versions() {
    for version in [Version::V2, Version::V3] {
        let mut lan = lan(version, &[100, 200, 150]);
        lan.run_until(secs(10), BUDGET).expect("run");
        lan.check_converged().expect("converged");
        assert_eq!(lan.master_of(1, 0), Some(1));
        assert_eq!(lan.nodes[1].vips.len(), 2);
        assert!(lan.nodes[1].announcements >= 2 * 5, "garp burst");
    }
}

#[test]
fn ipv6_v3_election_and_failover() {
    let mut lan = Lan::new(Instant::now(), 5);
    for (h, p) in [(1u8, 100u8), (2, 200), (3, 150)] {
        lan.add(
            sim_config(Version::V3, true, 1, h, p, Interval::DEFAULT)
                .build()
                .expect("valid"),
        );
    }
    lan.start_all().expect("start");
    lan.run_until(secs(10), BUDGET).expect("run");
    lan.check_converged().expect("converged");
    assert_eq!(lan.master_of(1, 0), Some(1));
    lan.crash(1);
    lan.run_for(secs(10), BUDGET).expect("run");
    lan.check_converged().expect("converged");
    assert_eq!(lan.master_of(1, 0), Some(2));
    assert!(
        lan.trace
            .iter()
            .any(|e| e.node == 2 && matches!(e.action, Action::SendUnsolicitedNa(_))),
        "IPv6 master announces with unsolicited NA"
    );
}

#[test]
fn owner_is_master_at_once_and_preempts_on_return() {
    let mut lan = lan(Version::V3, &[200, 255, 100]);
    // The owner goes Master at start-up, without waiting.
    assert_eq!(lan.master_of(1, 0), Some(1));
    lan.run_until(secs(5), BUDGET).expect("run");
    lan.crash(1);
    lan.run_for(secs(10), BUDGET).expect("run");
    assert_eq!(lan.master_of(1, 0), Some(0));
    lan.restart(1).expect("restart");
    assert_eq!(lan.nodes[1].router.state(), State::Master);
    lan.run_for(secs(1), BUDGET).expect("run");
    assert_eq!(lan.master_of(1, 0), Some(1));
    lan.check_converged().expect("converged");
}

#[test]
fn nopreempt_backup_does_not_take_over_a_live_lower_master() {
    let mut lan = Lan::new(Instant::now(), 2);
    lan.add(cfg(Version::V3, 1, 100));
    let hi = sim_config(Version::V3, false, 1, 2, 200, Interval::DEFAULT)
        .preempt(false)
        .build()
        .expect("valid");
    lan.add(hi);
    lan.start(0).expect("start");
    lan.run_until(secs(10), BUDGET).expect("run");
    lan.start(1).expect("start");
    lan.run_for(secs(60), BUDGET).expect("run");
    assert_eq!(lan.master_of(1, 0), Some(0));
    lan.check_converged().expect("one master");
    // It still takes over when the master dies.
    lan.crash(0);
    lan.run_for(secs(10), BUDGET).expect("run");
    assert_eq!(lan.master_of(1, 0), Some(1));
}

#[test]
fn preempt_delay_postpones_preemption_by_the_delay() {
    let mut lan = Lan::new(Instant::now(), 2);
    lan.add(cfg(Version::V3, 1, 100));
    let hi = sim_config(Version::V3, false, 1, 2, 200, Interval::DEFAULT)
        .preempt_delay(Some(secs(20)))
        .build()
        .expect("valid");
    lan.add(hi);
    lan.start(0).expect("start");
    lan.run_until(secs(10), BUDGET).expect("run");
    lan.start(1).expect("start");
    lan.run_until(secs(29), BUDGET).expect("run");
    assert_eq!(lan.master_of(1, 0), Some(0), "still delayed");
    lan.run_until(secs(40), BUDGET).expect("run");
    assert_eq!(lan.master_of(1, 0), Some(1), "preempted after the delay");
    let took = lan
        .trace
        .iter()
        .find(|e| {
            e.node == 1
                && matches!(
                    e.action,
                    Action::StateChanged(StateChange {
                        to: State::Master,
                        ..
                    })
                )
        })
        .map(|e| e.at)
        .expect("transition");
    // Delay from start-up (10 s) is 20 s; then one Master_Down_Interval.
    assert!(
        took >= secs(30) && took <= secs(30) + Duration::from_millis(3210),
        "{took:?}"
    );
}

#[test]
fn tracked_priority_drop_moves_mastership_and_recovery_moves_it_back() {
    let mut lan = lan(Version::V3, &[200, 150]);
    lan.run_until(secs(10), BUDGET).expect("run");
    assert_eq!(lan.master_of(1, 0), Some(0));
    lan.with(0, |r, now| r.set_tracked_priority(now, -100))
        .expect("set");
    lan.run_for(secs(10), BUDGET).expect("run");
    assert_eq!(lan.master_of(1, 0), Some(1));
    lan.check_converged().expect("converged");
    lan.with(0, |r, now| r.set_tracked_priority(now, 0))
        .expect("set");
    lan.run_for(secs(10), BUDGET).expect("run");
    assert_eq!(lan.master_of(1, 0), Some(0));
    lan.check_converged().expect("converged");
}

#[test]
fn check_fault_forces_fault_and_hands_over_after_skew_time() {
    let mut lan = lan(Version::V3, &[200, 150]);
    lan.run_until(Duration::from_millis(10_500), BUDGET)
        .expect("run");
    let t = lan.elapsed();
    lan.with(0, |r, now| r.set_check_fault(now, true))
        .expect("fault");
    assert_eq!(lan.nodes[0].router.state(), State::Fault);
    lan.run_for(secs(5), BUDGET).expect("run");
    // Priority 0 on entering Fault: the backup waits Skew_Time (41 cs).
    assert_eq!(
        first_advert(&lan, 1, t).expect("took over") - t,
        Duration::from_millis(410)
    );
    lan.with(0, |r, now| r.set_check_fault(now, false))
        .expect("clear");
    lan.run_for(secs(10), BUDGET).expect("run");
    assert_eq!(lan.master_of(1, 0), Some(0));
}

#[test]
fn split_brain_heals_and_the_winner_reannounces() {
    for version in [Version::V2, Version::V3] {
        let mut lan = lan(version, &[200, 100, 150]);
        lan.conflict_bound = Some(secs(1));
        lan.run_until(secs(10), BUDGET).expect("run");
        assert_eq!(lan.master_of(1, 0), Some(0));
        // Partition {0} | {1, 2}: both sides elect a master.
        lan.set_segment(0, 1);
        lan.run_for(secs(10), BUDGET).expect("run");
        assert_eq!(lan.master_of(1, 1), Some(0));
        assert_eq!(lan.master_of(1, 0), Some(2));
        let announced_before = lan.nodes[0].announcements;
        lan.heal();
        let healed_at = lan.elapsed();
        lan.run_for(secs(3), BUDGET).expect("run, conflict bounded");
        lan.check_converged().expect("converged");
        assert_eq!(lan.master_of(1, 0), Some(0));
        // The loser stepped down within one advert interval of the heal.
        let stepped_down = lan
            .trace
            .iter()
            .find(|e| {
                e.node == 2
                    && e.at >= healed_at
                    && matches!(
                        e.action,
                        Action::StateChanged(StateChange {
                            to: State::Backup,
                            ..
                        })
                    )
            })
            .map(|e| e.at)
            .expect("loser stepped down");
        assert!(stepped_down - healed_at <= secs(1), "{version}");
        // The winner re-announced its addresses after the conflict.
        assert!(lan.nodes[0].announcements > announced_before, "{version}");
    }
}

#[test]
fn lossy_network_with_duplicates_and_reordering_converges_when_it_calms() {
    for seed in 0..8u64 {
        let mut lan = Lan::new(Instant::now(), seed);
        for (h, p) in [(1u8, 100u8), (2, 200), (3, 150), (4, 120), (5, 180)] {
            lan.add(cfg(Version::V3, h, p));
        }
        lan.faults = NetFaults {
            loss_pct: 30,
            dup_pct: 20,
            reorder_pct: 30,
            latency: Duration::from_millis(2),
            reorder_window: Duration::from_millis(300),
        };
        lan.conflict_bound = None;
        lan.start_all().expect("start");
        lan.run_until(secs(30), BUDGET).expect("run");
        lan.crash(1);
        lan.run_for(secs(30), BUDGET).expect("run");
        lan.faults = NetFaults::default();
        lan.conflict_bound = Some(secs(2));
        lan.run_for(secs(10), BUDGET).expect("run");
        lan.check_converged().expect("converged");
        assert_eq!(lan.master_of(1, 0), Some(4), "seed {seed}");
    }
}

#[test]
fn switchover_moves_mastership_without_an_address_gap_and_sticks() {
    let mut lan = lan(Version::V3, &[200, 150, 100]);
    lan.run_until(secs(10), BUDGET).expect("run");
    assert_eq!(lan.master_of(1, 0), Some(0));
    let t = lan.elapsed();
    lan.with(0, |r, now| r.request_switchover(now).expect("master"))
        .expect("switchover");
    // Step through the hand-over: at every step some node holds the VIPs.
    while lan.elapsed() < t + secs(5) {
        lan.step().expect("invariants");
        assert!(
            lan.nodes.iter().any(|n| !n.vips.is_empty()),
            "address gap at {:?}",
            lan.elapsed()
        );
    }
    // The best backup took over after its Skew_Time: (256 - 150) * 100 / 256.
    assert_eq!(
        first_advert(&lan, 1, t).expect("new master") - t,
        Duration::from_millis(410)
    );
    assert!(lan.nodes[0].vips.is_empty());
    assert!(lan.nodes[0].router.is_yielded());
    // No preempting back.
    lan.run_for(secs(60), BUDGET).expect("run");
    assert_eq!(lan.master_of(1, 0), Some(1));
    lan.check_converged().expect("one master");
    // Until preemption resumes.
    lan.with(0, |r, now| r.resume_preemption(now))
        .expect("resume");
    lan.run_for(secs(10), BUDGET).expect("run");
    assert_eq!(lan.master_of(1, 0), Some(0));
}

#[test]
fn maintenance_keeps_a_router_out_until_released() {
    let mut lan = lan(Version::V3, &[200, 150]);
    lan.run_until(secs(10), BUDGET).expect("run");
    lan.with(0, |r, now| r.set_maintenance(now, true).expect("ok"))
        .expect("on");
    lan.run_for(secs(5), BUDGET).expect("run");
    assert_eq!(lan.master_of(1, 0), Some(1));
    assert!(lan.nodes[0].vips.is_empty());
    // Even with the other master gone, maintenance never takes over.
    lan.crash(1);
    lan.run_for(secs(30), BUDGET).expect("run");
    assert_eq!(lan.nodes[0].router.state(), State::Backup);
    assert!(lan.nodes[0].vips.is_empty());
    lan.with(0, |r, now| r.set_maintenance(now, false).expect("ok"))
        .expect("off");
    lan.run_for(secs(5), BUDGET).expect("run");
    assert_eq!(lan.master_of(1, 0), Some(0));
    assert!(lan.trace.iter().any(|e| e.node == 0
        && e.action
            == Action::StateChanged(StateChange {
                from: State::Master,
                to: State::Backup,
                reason: Reason::Maintenance
            })));
}

#[test]
fn run_bounded_stops_after_n_steps_and_run_until_fails_on_a_tiny_budget() {
    let mut lan = lan(Version::V3, &[200, 100]);
    lan.run_bounded(50).expect("run");
    assert_eq!(lan.steps(), 50);
    // A budget that cannot reach the target reports a step-budget error
    // instead of running forever.
    let err = lan.run_until(secs(3600), 10).expect_err("budget");
    assert!(matches!(err, vrrp_fsm::sim::SimError::StepBudget { .. }));
}

#[test]
fn fuzz_engine_holds_its_invariants_on_random_scripts() {
    let mut rng = vrrp_fsm::sim::SplitMix64::new(0x5eed);
    for case in 0..60 {
        let len = 8 + rng.below(120) as usize;
        let data: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        if let Err(e) = run_script(Instant::now(), &data) {
            panic!("case {case}: {e}\ninput: {data:?}");
        }
    }
}

#[test]
fn v2_owner_heals_a_split_brain_despite_discarding_adverts() {
    // RFC 3768 §7.1 makes the owner discard every advert; it still answers a
    // foreign master and re-announces, so the other side yields.
    let mut lan = lan(Version::V2, &[255, 150]);
    lan.run_until(secs(5), BUDGET).expect("run");
    lan.set_segment(0, 1);
    lan.run_for(secs(10), BUDGET).expect("run");
    assert_eq!(lan.master_of(1, 0), Some(1));
    let before = lan.nodes[0].announcements;
    lan.heal();
    lan.run_for(secs(3), BUDGET).expect("run");
    lan.check_converged().expect("converged");
    assert_eq!(lan.master_of(1, 0), Some(0));
    assert!(lan.nodes[0].announcements > before);
}
