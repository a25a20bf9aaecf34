//! keepalived's `delay_before_retry`: failures short of `fall` are retried
//! after the retry interval, not at the next interval.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::drive;
use healthcheck::{CheckKind, CheckSpec, Runner, Status, TcpSpec};

fn failing_after(retry_interval: Option<Duration>) -> Duration {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let mut r = Runner::new().unwrap();
    let mut spec = CheckSpec::new("tcp", CheckKind::Tcp(TcpSpec { addr }))
        .interval(Duration::from_millis(600))
        .timeout(Duration::from_millis(200))
        .fall(3);
    if let Some(d) = retry_interval {
        spec = spec.retry_interval(d);
    }
    let t0 = Instant::now();
    r.checker().add(spec, t0).unwrap();
    let (ev, ok) = drive(&mut r, Duration::from_secs(5), |_, ev| !ev.is_empty());
    assert!(ok, "no event");
    assert_eq!(ev[0].transition.to, Status::Failed);
    t0.elapsed()
}

#[test]
fn retries_come_after_the_retry_interval() {
    // Three failures: at 0, then two retries 50 ms apart.
    let fast = failing_after(Some(Duration::from_millis(50)));
    assert!(fast < Duration::from_millis(500), "{fast:?}");
    // Without it, at the interval: 0, 600, 1200 ms.
    let slow = failing_after(None);
    assert!(slow >= Duration::from_millis(1100), "{slow:?}");
}
