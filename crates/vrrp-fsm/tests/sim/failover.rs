//! Measured failover time (master crash → new master's first advert) equals
//! RFC 9568 §6.1 / RFC 3768 §6.1 Master_Down_Interval = 3 ×
//! Master_Adver_Interval + Skew_Time, exactly, on the virtual clock.

use std::time::{Duration, Instant};

use vrrp_fsm::sim::{Lan, sim_config};
use vrrp_fsm::{Action, AdvertKind, State, master_down_interval};
use vrrp_proto::{Interval, Priority, Version};

use super::{BUDGET, first_advert, interval};

/// Two routers: a master of priority 255 (host 1) and a backup of
/// `backup_prio` (host 2). The master crashes at the instant it sends an
/// advert (after 10 s); returns the measured failover time.
fn measure(version: Version, backup_prio: u8, iv: Interval) -> Duration {
    let mut lan = Lan::new(Instant::now(), 7);
    lan.add(
        sim_config(version, false, 1, 1, 255, iv)
            .build()
            .expect("valid"),
    );
    lan.add(
        sim_config(version, false, 1, 2, backup_prio, iv)
            .build()
            .expect("valid"),
    );
    lan.start_all().expect("start");
    assert_eq!(lan.nodes[0].router.state(), State::Master);
    // Step until the master sends an advert at or after 10 s, then crash it
    // at that very instant (the advert is already on the wire).
    let crash_at = loop {
        let before = lan.trace.len();
        assert!(lan.step().expect("invariants"), "nothing scheduled");
        let sent = lan.trace[before..]
            .iter()
            .find(|e| {
                e.node == 0
                    && e.action == Action::SendAdvert(AdvertKind::Current)
                    && e.at >= Duration::from_secs(10)
            })
            .map(|e| e.at);
        if let Some(t) = sent {
            lan.crash(0);
            break t;
        }
    };
    lan.run_for(Duration::from_secs(60), BUDGET).expect("run");
    assert_eq!(lan.nodes[1].router.state(), State::Master);
    let took_over = first_advert(&lan, 1, crash_at).expect("new master advertised");
    took_over - crash_at
}

fn expected(version: Version, prio: u8, iv: Interval) -> Duration {
    Duration::from_millis(u64::from(master_down_interval(version, Priority::new(prio), iv)) * 10)
}

#[test]
fn failover_time_equals_master_down_interval_v3() {
    for iv in [interval(100), interval(37), interval(5)] {
        for prio in [254u8, 200, 150, 100, 50, 1] {
            let got = measure(Version::V3, prio, iv);
            assert_eq!(
                got,
                expected(Version::V3, prio, iv),
                "v3 prio {prio} interval {iv}"
            );
            // Spelled out: 3 * MAI + ((256 - p) * MAI) / 256 centiseconds.
            let c = u64::from(iv.centis());
            let want = 3 * c + (256 - u64::from(prio)) * c / 256;
            assert_eq!(got, Duration::from_millis(want * 10));
        }
    }
}

#[test]
fn failover_time_equals_master_down_interval_v2() {
    for secs in [1u8, 2] {
        let iv = Interval::from_secs_v2(secs).expect("non-zero");
        for prio in [254u8, 200, 100, 1] {
            let got = measure(Version::V2, prio, iv);
            // RFC 3768: 3 * Advertisement_Interval + (256 - p) / 256 s.
            let want = 300 * u64::from(secs) + (256 - u64::from(prio)) * 100 / 256;
            assert_eq!(
                got,
                Duration::from_millis(want * 10),
                "v2 prio {prio} {secs}s"
            );
            assert_eq!(got, expected(Version::V2, prio, iv));
        }
    }
}

#[test]
fn backup_learns_master_interval_and_fails_over_with_it_v3() {
    // The backup is configured with 1 s but the master advertises 0.5 s:
    // the backup's Master_Down_Interval follows the learned interval.
    let mut lan = Lan::new(Instant::now(), 3);
    lan.add(
        sim_config(Version::V3, false, 1, 1, 255, interval(50))
            .build()
            .expect("valid"),
    );
    lan.add(
        sim_config(Version::V3, false, 1, 2, 100, interval(100))
            .build()
            .expect("valid"),
    );
    lan.start_all().expect("start");
    lan.run_until(Duration::from_secs(5), BUDGET).expect("run");
    assert_eq!(lan.nodes[1].router.master_adver_interval().centis(), 50);
    // The last advert was sent at 5.0 s (every 0.5 s from 0); crash now.
    lan.crash(0);
    let crash_at = Duration::from_secs(5);
    lan.run_for(Duration::from_secs(10), BUDGET).expect("run");
    let took_over = first_advert(&lan, 1, crash_at).expect("took over");
    assert_eq!(
        took_over - crash_at,
        Duration::from_millis((150 + 156 * 50 / 256) * 10)
    );
}

#[test]
fn release_on_shutdown_hands_over_after_skew_time() {
    // RFC 9568 §6.4.3 / §6.4.2: priority 0 on shutdown; the backup waits
    // only Skew_Time.
    for version in [Version::V2, Version::V3] {
        let mut lan = super::lan(version, &[255, 100]);
        lan.run_until(Duration::from_millis(10_050), BUDGET)
            .expect("run");
        let t = lan.elapsed();
        lan.with(0, |r, now| r.shutdown(now)).expect("shutdown");
        lan.run_for(Duration::from_secs(5), BUDGET).expect("run");
        let took = first_advert(&lan, 1, t).expect("took over") - t;
        assert_eq!(took, Duration::from_millis(60 * 10), "{version}");
    }
}
