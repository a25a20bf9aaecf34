//! Health check throughput: probes per second, and per CPU-second (one core),
//! for the TCP connect and exec kinds, all driven by one mio loop.
//!
//! `cargo bench -p vrrp-benches --bench healthcheck` (harness-less; prints a
//! table). `HC_BENCH_SECS` sets the measuring time per kind (default 3).
#![allow(clippy::unwrap_used, missing_docs)]

use std::net::TcpListener;
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use healthcheck::{CheckKind, CheckSpec, ExecSpec, Runner, TcpSpec};

fn cpu(who: libc::c_int) -> Duration {
    // SAFETY: all-zero is a valid rusage, and getrusage only writes into it.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a live local.
    unsafe { libc::getrusage(who, &mut ru) };
    let tv = |t: libc::timeval| {
        Duration::new(
            u64::try_from(t.tv_sec).unwrap(),
            u32::try_from(t.tv_usec).unwrap() * 1000,
        )
    };
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn bench(label: &str, checks: usize, interval: Duration, kind: impl Fn() -> CheckKind, secs: f64) {
    let mut r = Runner::new().unwrap();
    let t0 = Instant::now();
    for i in 0..checks {
        let first = t0 + interval.mul_f64(i as f64 / checks as f64);
        let spec = CheckSpec::new(format!("{label}{i}"), kind())
            .interval(interval)
            .timeout(Duration::from_secs(1));
        r.checker().add(spec, first).unwrap();
    }
    // Warm up.
    let _ = r
        .run_until(Instant::now() + Duration::from_millis(300), |_, _| {
            ControlFlow::Continue(())
        })
        .unwrap();
    let before = r.checker().stats().finished;
    let (s0, c0, w0) = (
        cpu(libc::RUSAGE_SELF),
        cpu(libc::RUSAGE_CHILDREN),
        Instant::now(),
    );
    let _ = r
        .run_until(w0 + Duration::from_secs_f64(secs), |_, _| {
            ControlFlow::Continue(())
        })
        .unwrap();
    let wall = w0.elapsed().as_secs_f64();
    let (s1, c1) = (cpu(libc::RUSAGE_SELF), cpu(libc::RUSAGE_CHILDREN));
    let n = (r.checker().stats().finished - before) as f64;
    let own = (s1 - s0).as_secs_f64();
    let children = (c1 - c0).as_secs_f64();
    let failed = r.checker().failed_count();
    println!(
        "{label:5} {checks:4} checks @ {:>3} ms: {:8.0} checks/s wall, {:8.0} checks/s per core (loop only, {:4.0}% CPU), \
         {:8.0} checks/s per core incl. children; failed {failed}",
        interval.as_millis(),
        n / wall,
        n / own.max(1e-9),
        100.0 * own / wall,
        n / (own + children).max(1e-9),
    );
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` runs briefly.
    let quick = !std::env::args().any(|a| a == "--bench");
    let secs: f64 = std::env::var("HC_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if quick { 0.2 } else { 3.0 });
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in listener.incoming() {
            drop(s);
        }
    });
    for n in [100, 300] {
        bench(
            "tcp",
            n,
            Duration::from_millis(10),
            || CheckKind::Tcp(TcpSpec { addr }),
            secs,
        );
    }
    for n in [20, 60] {
        bench(
            "exec",
            n,
            Duration::from_millis(50),
            || CheckKind::Exec(ExecSpec::new(["/bin/true"])),
            secs,
        );
    }
}
