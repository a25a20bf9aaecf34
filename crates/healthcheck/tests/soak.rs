//! Many checks on one loop: timer slip and CPU.
//!
//! The default test is short (2 s). `HC_SOAK=1 cargo test -p vrrp-healthcheck
//! --release --test soak -- --nocapture` runs the 30 s soak (200 checks at
//! 100 ms; `HC_SOAK_EXEC` sets how many of them are exec checks, default 50,
//! the rest TCP) and prints lateness percentiles and CPU use.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::{cpu_time, percentiles, run_for, zombie_children};
use healthcheck::{CheckKind, CheckSpec, ExecSpec, Runner, Status, TcpSpec};

struct Report {
    probes: u64,
    p50: Duration,
    p99: Duration,
    max: Duration,
    cpu_self: Duration,
    cpu_children: Duration,
    failed: usize,
    overruns: u64,
}

/// The soaks measure CPU and scan /proc: never run two at once.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn soak(total: usize, n_exec: usize, interval: Duration, run: Duration) -> Report {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in listener.incoming() {
            drop(s);
        }
    });
    let mut r = Runner::new().unwrap();
    let t0 = Instant::now();
    for i in 0..total {
        let kind = if i < n_exec {
            CheckKind::Exec(ExecSpec::new(["true"]))
        } else {
            CheckKind::Tcp(TcpSpec { addr })
        };
        // Spread the first probes evenly over one interval, as a daemon would.
        let first = t0 + interval.mul_f64(i as f64 / total as f64);
        let spec = CheckSpec::new(format!("c{i}"), kind)
            .interval(interval)
            .timeout(Duration::from_secs(1))
            .fall(3)
            .weight(-1);
        r.checker().add(spec, first).unwrap();
    }
    // Warm up one interval, then measure.
    let _ = run_for(&mut r, interval);
    r.checker().record_lateness(true);
    let (cpu0, ch0) = cpu_time();
    let events = run_for(&mut r, run);
    let (cpu1, ch1) = cpu_time();
    let lateness = r.checker().take_lateness();
    let probes = lateness.len() as u64;
    let (p50, p99, max) = percentiles(lateness);
    let failed = r.checker().failed_count();
    assert!(
        events.iter().all(|e| e.transition.to == Status::Ok),
        "{events:?}"
    );
    let overruns = r.checker().stats().overruns;
    drop(r);
    assert_eq!(zombie_children(), Vec::<i32>::new());
    Report {
        probes,
        p50,
        p99,
        max,
        cpu_self: cpu1 - cpu0,
        cpu_children: ch1 - ch0,
        failed,
        overruns,
    }
}

fn print(tag: &str, total: usize, n_exec: usize, run: Duration, r: &Report) {
    let secs = run.as_secs_f64();
    println!(
        "{tag}: {total} checks ({n_exec} exec, {} tcp) at 100 ms for {secs:.0} s: {} probes ({:.0}/s), \
         lateness p50 {:?} p99 {:?} max {:?}; CPU self {:?} ({:.1}% of a core), children {:?}; \
         failed {} overruns {}",
        total - n_exec,
        r.probes,
        r.probes as f64 / secs,
        r.p50,
        r.p99,
        r.max,
        r.cpu_self,
        100.0 * r.cpu_self.as_secs_f64() / secs,
        r.cpu_children,
        r.failed,
        r.overruns
    );
}

#[test]
fn short_soak_slip_is_bounded() {
    let (total, n_exec, run) = (200, 20, Duration::from_secs(2));
    let r = soak(total, n_exec, Duration::from_millis(100), run);
    print("short soak", total, n_exec, run, &r);
    assert_eq!(r.failed, 0);
    // 200 checks x 10/s x 2 s = 4000 starts; allow for a slow shared machine.
    assert!(r.probes >= 3000, "only {} probes", r.probes);
    // Loose bounds: the machine is shared and this may be a debug build.
    assert!(r.p99 < Duration::from_millis(100), "p99 {:?}", r.p99);
    assert!(r.max < Duration::from_secs(1), "max {:?}", r.max);
}

#[test]
fn long_soak() {
    if std::env::var_os("HC_SOAK").is_none() {
        eprintln!("SKIP: set HC_SOAK=1 for the 30 s soak");
        return;
    }
    let n_exec = std::env::var("HC_SOAK_EXEC")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50);
    let run = Duration::from_secs(30);
    let r = soak(200, n_exec, Duration::from_millis(100), run);
    print("soak", 200, n_exec, run, &r);
    assert_eq!(r.failed, 0);
}
