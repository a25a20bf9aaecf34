//! Shared helpers of the integration tests.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use healthcheck::{CheckEvent, Checker, Runner};

/// Drives `runner` until `done(checker, events so far)` holds or `limit`
/// passes; returns the events seen and whether `done` held.
pub fn drive(
    runner: &mut Runner,
    limit: Duration,
    mut done: impl FnMut(&Checker, &[CheckEvent]) -> bool,
) -> (Vec<CheckEvent>, bool) {
    let deadline = Instant::now() + limit;
    let mut events = Vec::new();
    loop {
        if done(runner.checker(), &events) {
            return (events, true);
        }
        let now = Instant::now();
        if now >= deadline {
            return (events, false);
        }
        let _ = runner
            .turn(
                (deadline - now).min(Duration::from_millis(20)),
                &mut |_, ev| {
                    events.push(ev);
                    ControlFlow::Continue(())
                },
            )
            .unwrap();
    }
}

/// Runs for exactly `d`, collecting events.
pub fn run_for(runner: &mut Runner, d: Duration) -> Vec<CheckEvent> {
    drive(runner, d, |_, _| false).0
}

/// A fresh temporary directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("hc-test-{}-{tag}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Runs a command, returning whether it succeeded.
pub fn sh(args: &[&str]) -> bool {
    Command::new(args[0])
        .args(&args[1..])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// A network namespace deleted on drop (even when the test fails).
pub struct Netns {
    pub name: String,
}

impl Netns {
    /// Creates `name` (prefix `hc-`), or returns `None` (printing why) if
    /// namespaces are unavailable.
    pub fn new(name: &str) -> Option<Self> {
        assert!(name.starts_with("hc-"));
        if !is_root() {
            eprintln!("SKIP: not root, cannot create network namespace {name}");
            return None;
        }
        let _ = Command::new("ip").args(["netns", "del", name]).output();
        if !sh(&["ip", "netns", "add", name]) {
            eprintln!("SKIP: `ip netns add {name}` failed");
            return None;
        }
        let ns = Self {
            name: name.to_owned(),
        };
        assert!(ns.ip(&["link", "set", "lo", "up"]));
        Some(ns)
    }

    /// `ip -n NAME args...`
    pub fn ip(&self, args: &[&str]) -> bool {
        let mut v = vec!["ip", "-n", &self.name];
        v.extend_from_slice(args);
        sh(&v)
    }

    /// `ip netns exec NAME args...`
    pub fn exec(&self, args: &[&str]) -> bool {
        let mut v = vec!["ip", "netns", "exec", &self.name];
        v.extend_from_slice(args);
        sh(&v)
    }

    /// Re-runs the ignored test `test_name` of this test binary inside the
    /// namespace (`ip netns exec` also remounts /sys for it), with HC_INNER=1.
    pub fn run_inner_test(&self, test_name: &str) {
        let exe = std::env::current_exe().unwrap();
        let out = Command::new("ip")
            .args(["netns", "exec", &self.name])
            .arg(exe)
            .args([
                test_name,
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("HC_INNER", "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        println!("--- inner {test_name} stdout:\n{stdout}\n--- stderr:\n{stderr}");
        assert!(out.status.success(), "inner test {test_name} failed");
        assert!(
            stdout.contains("1 passed"),
            "inner test {test_name} did not run"
        );
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// True when run by [`Netns::run_inner_test`].
pub fn inner() -> bool {
    if std::env::var_os("HC_INNER").is_none() {
        eprintln!("SKIP: inner test; run through its outer test");
        return false;
    }
    true
}

/// Process state letter of `pid` from /proc, or None if it does not exist.
pub fn proc_state(pid: i32) -> Option<char> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &s[s.rfind(')')? + 2..];
    after.chars().next()
}

/// Pids of zombie children of this process.
pub fn zombie_children() -> Vec<i32> {
    let me = std::process::id() as i32;
    let mut v = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(close) = s.rfind(')') else { continue };
        let mut f = s[close + 2..].split(' ');
        let state = f.next().unwrap_or("");
        let ppid: i32 = f.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        if ppid == me && state == "Z" {
            v.push(pid);
        }
    }
    v
}

/// CPU time (user+system) of this process and its reaped children.
pub fn cpu_time() -> (Duration, Duration) {
    fn get(who: libc::c_int) -> Duration {
        // SAFETY: all-zero is a valid rusage; getrusage writes into it.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: `ru` is a live local.
        unsafe { libc::getrusage(who, &mut ru) };
        let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, (t.tv_usec as u32) * 1000);
        tv(ru.ru_utime) + tv(ru.ru_stime)
    }
    (get(libc::RUSAGE_SELF), get(libc::RUSAGE_CHILDREN))
}

/// p50, p99, max of samples.
pub fn percentiles(mut v: Vec<Duration>) -> (Duration, Duration, Duration) {
    if v.is_empty() {
        return (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    }
    v.sort();
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.99), *v.last().unwrap())
}
