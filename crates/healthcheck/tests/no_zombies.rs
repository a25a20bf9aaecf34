//! After many exec checks (normal exits and timeouts), no zombie children remain.
//! A separate test binary so that no other test's children are around.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{drive, zombie_children};
use healthcheck::{CheckKind, CheckSpec, ExecSpec, Runner};

#[test]
fn no_zombies_after_many_exec_checks() {
    let mut r = Runner::new().unwrap();
    let now = Instant::now();
    let mut ids = Vec::new();
    for i in 0..10 {
        let spec = match i % 3 {
            0 => ExecSpec::new(["true"]),
            1 => ExecSpec::new(["false"]),
            _ => ExecSpec::shell("sleep 5 & sleep 5"),
        };
        let s = CheckSpec::new(format!("c{i}"), CheckKind::Exec(spec))
            .interval(Duration::from_millis(50))
            .timeout(Duration::from_millis(100));
        ids.push(r.checker().add(s, now).unwrap());
    }
    let (_, ok) = drive(&mut r, Duration::from_secs(20), |c, _| {
        ids.iter().all(|&i| c.state(i).unwrap().results() >= 10)
    });
    assert!(ok, "not enough results: {:?}", r.checker().stats());
    let stats = r.checker().stats();
    assert!(stats.finished >= 100 && stats.timeouts >= 30, "{stats:?}");
    // Removing checks with probes in flight kills them; the loop reaps them
    // without blocking.
    for id in ids {
        r.checker().remove(id);
    }
    let (_, ok) = drive(&mut r, Duration::from_secs(2), |c, _| {
        c.unreaped_children() == 0
    });
    assert!(
        ok,
        "{} children not reaped",
        r.checker().unreaped_children()
    );
    assert_eq!(zombie_children(), Vec::<i32>::new());
    drop(r);
    assert_eq!(zombie_children(), Vec::<i32>::new());
}
