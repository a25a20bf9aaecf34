//! Operating-system helpers: running commands, signals, and process
//! accounting from `/proc` (CPU time, resident and proportional memory,
//! process trees).

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// Set by SIGINT / SIGTERM: every wait loop checks it and unwinds, so the
/// drop guards remove namespaces and stop daemons.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_sig: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Installs SIGINT and SIGTERM handlers that set the interrupted flag.
pub(crate) fn install_signal_handlers() {
    let handler = on_signal as extern "C" fn(libc::c_int);
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the handler only stores to an atomic, which is
        // async-signal-safe.
        unsafe {
            libc::signal(sig, handler as libc::sighandler_t);
        }
    }
}

/// Fails if the harness was asked to stop (SIGINT / SIGTERM).
pub(crate) fn check_interrupted() -> Result<()> {
    if INTERRUPTED.load(Ordering::SeqCst) {
        bail!("interrupted");
    }
    Ok(())
}

/// Sleeps `d`, waking every 50 ms to fail early if interrupted.
pub(crate) fn sleep(d: Duration) -> Result<()> {
    let end = Instant::now() + d;
    loop {
        check_interrupted()?;
        let now = Instant::now();
        if now >= end {
            return Ok(());
        }
        std::thread::sleep((end - now).min(Duration::from_millis(50)));
    }
}

/// Polls `pred` every `every` until it returns true (then `Ok(true)`) or
/// `timeout` passes (then `Ok(false)`). Errors from `pred` are returned.
pub(crate) fn wait_until(
    timeout: Duration,
    every: Duration,
    mut pred: impl FnMut() -> Result<bool>,
) -> Result<bool> {
    let end = Instant::now() + timeout;
    loop {
        if pred()? {
            return Ok(true);
        }
        if Instant::now() >= end {
            return Ok(false);
        }
        sleep(every)?;
    }
}

/// Runs a command and returns its standard output; fails with its
/// standard error if it exits non-zero.
pub(crate) fn run(args: &[&str]) -> Result<String> {
    let (prog, rest) = args.split_first().context("empty command")?;
    let out = Command::new(prog)
        .args(rest)
        .output()
        .with_context(|| format!("running {args:?}"))?;
    if !out.status.success() {
        bail!(
            "{} failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Makes the child receive `sig` when the harness dies, so nothing outlives
/// a killed harness. The setting survives `exec` (of non-set-user-ID
/// programs, which `ip` and the daemons are).
pub(crate) fn die_with_parent(cmd: &mut Command, sig: libc::c_int) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, sig as libc::c_ulong, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Sends `sig` to `pid` (a process this harness started).
pub(crate) fn kill(pid: u32, sig: libc::c_int) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: plain system call on a pid we started.
    unsafe { libc::kill(pid, sig) == 0 }
}

/// Kernel clock ticks per second (for `/proc/PID/stat` times).
pub(crate) fn clk_tck() -> f64 {
    // SAFETY: sysconf has no memory effects.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as f64 } else { 100.0 }
}

/// The fields of `/proc/PID/stat` the harness uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProcStat {
    /// Parent pid.
    pub(crate) ppid: u32,
    /// utime + stime, in clock ticks.
    pub(crate) ticks: u64,
}

/// Parses one `/proc/PID/stat` line. The command name is in parentheses
/// and may contain spaces or parentheses, so fields are counted after the
/// last `)`: state, ppid, ... utime is field 14 and stime field 15 (proc(5)).
pub(crate) fn parse_stat(text: &str) -> Option<ProcStat> {
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // f[0] is field 3 (state), so field n is f[n - 3].
    let ppid = f.get(1)?.parse().ok()?;
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some(ProcStat {
        ppid,
        ticks: utime + stime,
    })
}

fn read_stat(pid: u32) -> Option<ProcStat> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// `root` and all its descendants that are alive now (threads are counted
/// in their process's times, so only processes are listed).
pub(crate) fn process_tree(root: u32) -> Vec<u32> {
    let mut parent_of: Vec<(u32, u32)> = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            if let Some(st) = read_stat(pid) {
                parent_of.push((pid, st.ppid));
            }
        }
    }
    descendants(root, &parent_of)
}

/// `root` plus every pid whose chain of parents leads to it.
pub(crate) fn descendants(root: u32, parent_of: &[(u32, u32)]) -> Vec<u32> {
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        let p = out[i];
        for &(pid, ppid) in parent_of {
            if ppid == p && !out.contains(&pid) {
                out.push(pid);
            }
        }
        i += 1;
    }
    out
}

/// On-CPU time of a process in nanoseconds: the sum over its threads of
/// `/proc/PID/task/TID/schedstat` (nanosecond resolution), or utime +
/// stime from `/proc/PID/stat` (clock-tick resolution) where schedstat is
/// unavailable.
fn cpu_ns(pid: u32) -> Option<u64> {
    let mut total = 0u64;
    let mut found = false;
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for t in tasks.flatten() {
            let text = std::fs::read_to_string(t.path().join("schedstat")).unwrap_or_default();
            if let Some(ns) = text
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
            {
                total += ns;
                found = true;
            }
        }
    }
    if found {
        return Some(total);
    }
    let ticks = read_stat(pid)?.ticks;
    Some((ticks as f64 * 1e9 / clk_tck()) as u64)
}

/// On-CPU time (ns) of each pid that still exists.
pub(crate) fn cpu_times(pids: &[u32]) -> HashMap<u32, u64> {
    pids.iter()
        .filter_map(|&p| cpu_ns(p).map(|t| (p, t)))
        .collect()
}

/// CPU seconds used between two [`cpu_times`] snapshots: processes present
/// at the end count from their start value (or from zero if they are new).
pub(crate) fn cpu_seconds(start: &HashMap<u32, u64>, end: &HashMap<u32, u64>) -> f64 {
    let ns: u64 = end
        .iter()
        .map(|(pid, t)| t.saturating_sub(start.get(pid).copied().unwrap_or(0)))
        .sum();
    ns as f64 / 1e9
}

/// Resident and proportional memory of a set of processes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Mem {
    /// Sum of VmRSS, kB.
    pub(crate) rss_kb: u64,
    /// Sum of Pss from smaps_rollup, kB.
    pub(crate) pss_kb: u64,
}

/// The value in kB of the first line starting with `key` in a
/// `/proc/PID/status` or `smaps_rollup` text.
pub(crate) fn kb_field(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Sums VmRSS and Pss over `pids` (processes that vanished count as 0).
pub(crate) fn memory(pids: &[u32]) -> Mem {
    let mut m = Mem::default();
    for p in pids {
        if let Ok(s) = std::fs::read_to_string(format!("/proc/{p}/status")) {
            m.rss_kb += kb_field(&s, "VmRSS:").unwrap_or(0);
        }
        if let Ok(s) = std::fs::read_to_string(format!("/proc/{p}/smaps_rollup")) {
            m.pss_kb += kb_field(&s, "Pss:").unwrap_or(0);
        }
    }
    m
}

/// Machine description for the report header.
pub(crate) fn machine_info(vrrpd: &str) -> Vec<(String, String)> {
    let first_line = |args: &[&str]| -> String {
        let Some((prog, rest)) = args.split_first() else {
            return String::new();
        };
        match Command::new(prog).args(rest).output() {
            Ok(o) => {
                let text = format!(
                    "{}{}",
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                );
                text.lines().next().unwrap_or("").trim().to_owned()
            }
            Err(e) => format!("unavailable ({e})"),
        }
    };
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "unknown".into());
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    vec![
        (
            "date".into(),
            first_line(&["date", "-u", "+%Y-%m-%dT%H:%M:%SZ"]),
        ),
        ("nproc".into(), nproc.to_string()),
        ("cpu".into(), cpu),
        ("kernel".into(), kernel),
        (
            "keepalived".into(),
            first_line(&["keepalived", "--version"]),
        ),
        ("vrrpd".into(), first_line(&[vrrpd, "--version"])),
        ("vrrpd build".into(), linkage(Path::new(vrrpd))),
    ]
}

/// "static" or "dynamic" for an ELF64 executable: dynamic when it names a
/// program interpreter (a `PT_INTERP` program header, i.e. ld.so). The
/// report says which build was measured, because shared libraries are a
/// large share of a small daemon's resident memory.
pub(crate) fn linkage(path: &Path) -> String {
    const PT_INTERP: u32 = 3;
    let Ok(bytes) = std::fs::read(path) else {
        return "unknown (unreadable)".into();
    };
    let u16_at = |o: usize| {
        bytes
            .get(o..o + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    let u32_at = |o: usize| {
        bytes
            .get(o..o + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let u64_at = |o: usize| {
        bytes
            .get(o..o + 8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(u64::from_le_bytes)
    };
    // ELF64, little-endian: e_phoff at 0x20, e_phentsize at 0x36, e_phnum at 0x38.
    if bytes.get(..6) != Some(b"\x7fELF\x02\x01".as_slice()) {
        return "unknown (not a little-endian ELF64 file)".into();
    }
    let (Some(phoff), Some(entsize), Some(num)) = (u64_at(0x20), u16_at(0x36), u16_at(0x38)) else {
        return "unknown (truncated ELF header)".into();
    };
    let interp = (0..usize::from(num)).any(|i| {
        usize::try_from(phoff)
            .ok()
            .and_then(|off| u32_at(off + i * usize::from(entsize)))
            == Some(PT_INTERP)
    });
    if interp {
        "dynamic (shared libc, ld.so)".into()
    } else {
        "static (no shared libraries)".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linkage_tells_static_from_dynamic() {
        // This test binary is linked like the toolchain's default target.
        let me = std::env::current_exe().expect("own path");
        let expect = if cfg!(target_env = "gnu") {
            "dynamic"
        } else {
            "static"
        };
        assert!(linkage(&me).starts_with(expect), "{}", linkage(&me));
        let dir = std::env::temp_dir().join(format!("linkage-{}", std::process::id()));
        std::fs::write(&dir, b"#!/bin/sh\n").expect("write");
        assert!(linkage(&dir).starts_with("unknown"));
        let _ = std::fs::remove_file(&dir);
        assert!(linkage(Path::new("/nonexistent/vrrpd")).starts_with("unknown"));
    }

    #[test]
    fn stat_with_spaces_and_parens_in_name() {
        let line = "4242 (keep (alive) d) S 4000 4242 4242 0 -1 4194560 300 0 0 0 \
                    17 5 0 0 20 0 1 0 123456 10000000 400 18446744073709551615";
        assert_eq!(
            parse_stat(line),
            Some(ProcStat {
                ppid: 4000,
                ticks: 22
            })
        );
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat("1 (x) S"), None);
    }

    #[test]
    fn tree_follows_grandchildren_only() {
        let parents = [(10, 1), (11, 10), (12, 11), (13, 1), (14, 12)];
        let mut t = descendants(10, &parents);
        t.sort_unstable();
        assert_eq!(t, vec![10, 11, 12, 14]);
    }

    #[test]
    fn cpu_counts_new_and_old_processes() {
        let start: HashMap<u32, u64> = [(1, 100_000_000), (2, 50)].into();
        let end: HashMap<u32, u64> = [(1, 150_000_000), (3, 10_000_000)].into();
        let s = cpu_seconds(&start, &end);
        assert!((s - 0.06).abs() < 1e-9);
    }

    #[test]
    fn own_cpu_time_grows() {
        let me = std::process::id();
        let t0 = cpu_times(&[me]);
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = std::hint::black_box(x ^ i);
        }
        let t1 = cpu_times(&[me]);
        assert!(cpu_seconds(&t0, &t1) > 0.0);
        assert!(cpu_times(&[u32::MAX]).is_empty());
    }

    #[test]
    fn kb_fields() {
        let status = "Name:\tvrrpd\nVmRSS:\t    5120 kB\nThreads:\t1\n";
        assert_eq!(kb_field(status, "VmRSS:"), Some(5120));
        assert_eq!(kb_field(status, "Pss:"), None);
    }
}
