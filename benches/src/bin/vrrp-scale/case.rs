//! One measured case: build the topology, start a daemon pair, measure
//! convergence, steady-state CPU and memory, failover on link loss and on
//! graceful stop, then stop everything and check nothing is left behind.
//! Also the stress case (a busy core while the pair runs).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::daemon::{Daemon, Kind, Setup};
use crate::probe::{self, Outage, Prober};
use crate::sys::{self, Mem};
use crate::topo::{Topology, VipView, instance};

/// Settings shared by every case.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    /// The vrrpd binary.
    pub(crate) vrrpd: PathBuf,
    /// This binary (re-executed as responder and spinner).
    pub(crate) exe: PathBuf,
    /// Namespace name prefix (`vsc<pid>`).
    pub(crate) prefix: String,
    /// Scratch directory for configs and logs.
    pub(crate) work: PathBuf,
    /// Where to copy daemon logs, if anywhere.
    pub(crate) keep_logs: Option<PathBuf>,
    /// Length of the steady-state window.
    pub(crate) cpu_secs: u64,
    /// Put every veth in threaded-NAPI mode (see `Topology::build`).
    pub(crate) threaded_napi: bool,
}

/// Results of one (daemon, instances, interval) case.
#[derive(Debug, Clone)]
pub(crate) struct CaseResult {
    /// The daemon.
    pub(crate) kind: Kind,
    /// Instances and interval.
    pub(crate) setup: Setup,
    /// Start to all VIPs on a and none on b.
    pub(crate) converge: Option<Duration>,
    /// CPU % of the master's processes over the steady window.
    pub(crate) cpu_a: Option<f64>,
    /// CPU % of the backup's processes.
    pub(crate) cpu_b: Option<f64>,
    /// Memory of the master's processes at the end of the window.
    pub(crate) mem_a: Option<Mem>,
    /// Memory of the backup's processes.
    pub(crate) mem_b: Option<Mem>,
    /// Processes of each daemon (a + b).
    pub(crate) procs: usize,
    /// State transitions logged from start to convergence (a + b); the
    /// ideal is 3 × N (a: to backup, to master; b: to backup).
    pub(crate) startup_transitions: Option<usize>,
    /// State transitions logged in the steady window (a + b).
    pub(crate) spurious: Option<usize>,
    /// Changes of the VIP counts seen by polling in the steady window.
    pub(crate) vip_changes: Option<usize>,
    /// Client outage when the master loses its link.
    pub(crate) link: Option<Outage>,
    /// Client outage when the master stops (SIGTERM).
    pub(crate) stop: Option<Outage>,
    /// SIGTERM to exit of the master.
    pub(crate) exit_time: Option<Duration>,
    /// What went wrong (the case failed outright).
    pub(crate) errors: Vec<String>,
}

impl CaseResult {
    fn new(kind: Kind, setup: Setup) -> CaseResult {
        CaseResult {
            kind,
            setup,
            converge: None,
            cpu_a: None,
            cpu_b: None,
            mem_a: None,
            mem_b: None,
            procs: 0,
            startup_transitions: None,
            spurious: None,
            vip_changes: None,
            link: None,
            stop: None,
            exit_time: None,
            errors: Vec::new(),
        }
    }
}

/// Results of a stress case.
#[derive(Debug, Clone)]
pub(crate) struct StressResult {
    /// The daemon.
    pub(crate) kind: Kind,
    /// Instances and interval.
    pub(crate) setup: Setup,
    /// Length of the busy window, s.
    pub(crate) secs: u64,
    /// Start to converged.
    pub(crate) converge: Option<Duration>,
    /// CPU % of the master during the busy window.
    pub(crate) cpu_a: Option<f64>,
    /// CPU % of the backup during the busy window.
    pub(crate) cpu_b: Option<f64>,
    /// Transitions logged by a and by b during the window.
    pub(crate) spurious: Option<(usize, usize)>,
    /// Changes of the VIP counts seen by polling.
    pub(crate) vip_changes: Option<usize>,
    /// What went wrong.
    pub(crate) errors: Vec<String>,
}

/// The Master_Down_Interval of the backup (priority 100), RFC 9568 §6.1:
/// 3 × Master_Adver_Interval + Skew_Time.
pub(crate) fn master_down(interval_ms: u32) -> Duration {
    Duration::from_millis(3 * u64::from(interval_ms)) + skew(interval_ms)
}

/// The backup's Skew_Time, RFC 9568 §6.1: ((256 − Priority) ×
/// Master_Adver_Interval) / 256, with priority 100.
pub(crate) fn skew(interval_ms: u32) -> Duration {
    Duration::from_micros(u64::from(interval_ms) * 1000 * (256 - 100) / 256)
}

/// A scratch directory for one case; on drop its logs are copied to the
/// keep-logs directory (if any) and it is removed.
struct Scratch {
    dir: PathBuf,
    label: String,
    keep: Option<PathBuf>,
}

impl Scratch {
    fn new(ctx: &Ctx, label: &str) -> Result<Scratch> {
        let dir = ctx.work.join(label);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Scratch {
            dir,
            label: label.to_owned(),
            keep: ctx.keep_logs.clone(),
        })
    }

    fn logs(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map(|d| {
                d.flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|e| e == "log"))
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    /// Prints the end of every log (after a failure).
    fn print_tails(&self) {
        for p in self.logs() {
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            eprintln!("--- {} (last lines)", p.display());
            for l in &lines[lines.len().saturating_sub(15)..] {
                eprintln!("    {l}");
            }
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some(keep) = &self.keep {
            let _ = std::fs::create_dir_all(keep);
            for p in self.logs() {
                if let Some(name) = p.file_name() {
                    let dest = keep.join(format!("{}-{}", self.label, name.to_string_lossy()));
                    let _ = std::fs::copy(&p, dest);
                }
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A helper process (responder, spinner), killed on drop.
struct Helper(Child);

impl Helper {
    fn spawn(ctx: &Ctx, ns: Option<&str>, args: &[&str]) -> Result<Helper> {
        let mut cmd = match ns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(&ctx.exe);
                c
            }
            None => Command::new(&ctx.exe),
        };
        cmd.args(args).stdin(Stdio::null()).stdout(Stdio::null());
        sys::die_with_parent(&mut cmd, libc::SIGKILL);
        let child = cmd
            .spawn()
            .with_context(|| format!("starting helper {args:?}"))?;
        Ok(Helper(child))
    }

    fn wait(&mut self, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if let Ok(Some(_)) = self.0.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn label(kind: Kind, s: Setup) -> String {
    format!("{}-n{}-{}ms", kind.name(), s.n, s.interval_ms)
}

fn interval(s: Setup) -> Duration {
    Duration::from_millis(u64::from(s.interval_ms))
}

/// Runs one case; errors are recorded in the result, never returned.
pub(crate) fn run_case(ctx: &Ctx, kind: Kind, setup: Setup) -> CaseResult {
    let mut r = CaseResult::new(kind, setup);
    let scratch = match Scratch::new(ctx, &label(kind, setup)) {
        Ok(s) => s,
        Err(e) => {
            r.errors.push(format!("{e:#}"));
            return r;
        }
    };
    if let Err(e) = case_body(ctx, &scratch.dir, &mut r) {
        progress(&format!("{}: FAILED: {e:#}", scratch.label));
        if sys::check_interrupted().is_ok() {
            scratch.print_tails();
        }
        r.errors.push(format!("{e:#}"));
    }
    r
}

/// Prints a progress line with the time of day.
pub(crate) fn progress(msg: &str) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    eprintln!(
        "[{:02}:{:02}:{:02}] {msg}",
        secs / 3600 % 24,
        secs / 60 % 60,
        secs % 60
    );
}

/// Both hosts' VIP views.
fn views(topo: &Topology) -> Result<(VipView, VipView)> {
    Ok((topo.vips("a")?, topo.vips("b")?))
}

fn ensure_alive(a: &mut Daemon, b: &mut Daemon) -> Result<()> {
    for (host, d) in [("a", a), ("b", b)] {
        if !d.alive() {
            bail!(
                "{} on {host} exited unexpectedly; log tail:\n{}",
                d.kind.name(),
                d.log_tail(10)
            );
        }
    }
    Ok(())
}

/// Starts the pair and waits until a holds every VIP and b none.
fn start_and_converge(
    ctx: &Ctx,
    dir: &Path,
    topo: &Topology,
    kind: Kind,
    setup: Setup,
) -> Result<(Daemon, Daemon, Duration)> {
    let t0 = Instant::now();
    let mut a = Daemon::start(kind, &ctx.vrrpd, &topo.ns("a"), dir, "a", setup, 200)?;
    let mut b = Daemon::start(kind, &ctx.vrrpd, &topo.ns("b"), dir, "b", setup, 100)?;
    let timeout = Duration::from_secs(30) + 5 * interval(setup);
    let mut last = (VipView::default(), VipView::default());
    let ok = sys::wait_until(timeout, Duration::from_millis(20), || {
        ensure_alive(&mut a, &mut b)?;
        last = views(topo)?;
        Ok(last.0.count == setup.n && last.1.count == 0)
    })?;
    if !ok {
        bail!(
            "timeout: not converged after {:.1} s (a holds {}/{} VIPs, b holds {})",
            timeout.as_secs_f64(),
            last.0.count,
            setup.n,
            last.1.count
        );
    }
    Ok((a, b, t0.elapsed()))
}

/// Counts changes of the (a, b) VIP counts, polled every `every` for
/// `window`, starting from the converged view.
fn watch_vips(
    topo: &Topology,
    n: usize,
    window: Duration,
    every: Duration,
    mut each: impl FnMut() -> Result<()>,
) -> Result<usize> {
    let end = Instant::now() + window;
    let mut prev = (n, 0);
    let mut changes = 0;
    while Instant::now() < end {
        sys::sleep(every.min(end.saturating_duration_since(Instant::now())))?;
        each()?;
        let (a, b) = views(topo)?;
        let now = (a.count, b.count);
        if now != prev {
            changes += 1;
            prev = now;
        }
    }
    Ok(changes)
}

fn case_body(ctx: &Ctx, dir: &Path, r: &mut CaseResult) -> Result<()> {
    let (kind, setup) = (r.kind, r.setup);
    let name = label(kind, setup);
    let iv = interval(setup);
    progress(&format!("{name}: building topology"));
    let topo = Topology::build(&ctx.prefix, setup.n, ctx.threaded_napi)?;
    let _responders = [
        Helper::spawn(ctx, Some(&topo.ns("a")), &["respond", "--id", "1"])?,
        Helper::spawn(ctx, Some(&topo.ns("b")), &["respond", "--id", "2"])?,
    ];
    progress(&format!("{name}: starting the pair"));
    let (mut a, mut b, conv) = start_and_converge(ctx, dir, &topo, kind, setup)?;
    r.converge = Some(conv);
    r.startup_transitions = Some(a.transitions(0, a.log_len())? + b.transitions(0, b.log_len())?);
    progress(&format!(
        "{name}: converged in {:.2} s; steady window {} s",
        conv.as_secs_f64(),
        ctx.cpu_secs
    ));
    sys::sleep(Duration::from_secs(2))?;

    // Steady state: CPU, memory, spurious transitions.
    let (la, lb) = (a.log_len(), b.log_len());
    let (ta, tb) = (sys::cpu_times(&a.pids()), sys::cpu_times(&b.pids()));
    let t = Instant::now();
    let changes = watch_vips(
        &topo,
        setup.n,
        Duration::from_secs(ctx.cpu_secs),
        Duration::from_secs(1),
        || ensure_alive(&mut a, &mut b),
    )?;
    let (pa, pb) = (a.pids(), b.pids());
    let (ta2, tb2) = (sys::cpu_times(&pa), sys::cpu_times(&pb));
    let wall = t.elapsed().as_secs_f64();
    let (la2, lb2) = (a.log_len(), b.log_len());
    r.cpu_a = Some(sys::cpu_seconds(&ta, &ta2) / wall * 100.0);
    r.cpu_b = Some(sys::cpu_seconds(&tb, &tb2) / wall * 100.0);
    r.mem_a = Some(sys::memory(&pa));
    r.mem_b = Some(sys::memory(&pb));
    r.procs = pa.len() + pb.len();
    r.spurious = Some(a.transitions(la, la2)? + b.transitions(lb, lb2)?);
    r.vip_changes = Some(changes);
    ensure_alive(&mut a, &mut b)?;

    // Link loss on a's segment 0 (instance 0's interface).
    progress(&format!("{name}: link loss"));
    let vip0 = SocketAddr::from((instance(0).2, probe::PORT));
    let period = Duration::from_millis(1);
    let prober = Prober::start(&topo.ns("c"), vip0, period)?;
    if !sys::wait_until(Duration::from_secs(3), Duration::from_millis(10), || {
        Ok(prober.last_host() == 1)
    })? {
        bail!("before link loss: the client gets no answer from a on {vip0}");
    }
    sys::sleep(Duration::from_millis(300) + iv)?;
    topo.set_link("a", 0, false)?;
    let timeout = Duration::from_secs(10) + 5 * iv;
    if !sys::wait_until(timeout, Duration::from_millis(10), || {
        Ok(prober.last_host() == 2 && topo.vips("b")?.vip0)
    })? {
        bail!("link loss: b did not take over {vip0} within {timeout:?}");
    }
    sys::sleep(Duration::from_millis(500))?;
    r.link = Some(probe::outage(&prober.finish()));
    topo.set_link("a", 0, true)?;
    let timeout = Duration::from_secs(30) + 5 * iv;
    let mut last = (VipView::default(), VipView::default());
    if !sys::wait_until(timeout, Duration::from_millis(20), || {
        ensure_alive(&mut a, &mut b)?;
        last = views(&topo)?;
        Ok(last.0.count == setup.n && last.1.count == 0)
    })? {
        bail!(
            "after the link came back, a did not preempt within {timeout:?} (a {}/{}, b {})",
            last.0.count,
            setup.n,
            last.1.count
        );
    }

    // Graceful stop of a.
    progress(&format!("{name}: graceful stop of the master"));
    let prober = Prober::start(&topo.ns("c"), vip0, period)?;
    if !sys::wait_until(Duration::from_secs(5), Duration::from_millis(10), || {
        Ok(prober.last_host() == 1)
    })? {
        bail!("before the stop: the client gets no answer from a on {vip0}");
    }
    sys::sleep(Duration::from_millis(300) + iv)?;
    let t = Instant::now();
    a.terminate();
    let mut exited: Option<Duration> = None;
    let timeout = Duration::from_secs(20) + 5 * iv;
    let done = sys::wait_until(timeout, Duration::from_millis(5), || {
        if exited.is_none() && !a.alive() {
            exited = Some(t.elapsed());
        }
        if exited.is_none() || prober.last_host() != 2 {
            return Ok(false);
        }
        let (va, vb) = views(&topo)?;
        Ok(va.count == 0 && vb.vip0)
    })?;
    r.exit_time = exited;
    if !done {
        bail!(
            "graceful stop: not done within {timeout:?} (a exited: {}, client answered by host {})",
            exited.is_some(),
            prober.last_host()
        );
    }
    sys::sleep(Duration::from_millis(500))?;
    r.stop = Some(probe::outage(&prober.finish()));

    // Stop b, and check that nothing is left.
    progress(&format!("{name}: stopping the backup"));
    if !b.stop(Duration::from_secs(10)) {
        bail!("b did not exit within 10 s of SIGTERM (killed)");
    }
    let (va, vb) = views(&topo)?;
    if va.count + vb.count > 0 {
        bail!(
            "VIPs left after both daemons stopped: a {}, b {}",
            va.count,
            vb.count
        );
    }
    progress(&format!("{name}: done"));
    Ok(())
}

/// Runs the stress case; errors are recorded in the result.
pub(crate) fn run_stress(ctx: &Ctx, kind: Kind, setup: Setup, secs: u64) -> StressResult {
    let mut r = StressResult {
        kind,
        setup,
        secs,
        converge: None,
        cpu_a: None,
        cpu_b: None,
        spurious: None,
        vip_changes: None,
        errors: Vec::new(),
    };
    let scratch = match Scratch::new(ctx, &format!("stress-{}", label(kind, setup))) {
        Ok(s) => s,
        Err(e) => {
            r.errors.push(format!("{e:#}"));
            return r;
        }
    };
    if let Err(e) = stress_body(ctx, &scratch.dir, &mut r) {
        progress(&format!("{}: FAILED: {e:#}", scratch.label));
        if sys::check_interrupted().is_ok() {
            scratch.print_tails();
        }
        r.errors.push(format!("{e:#}"));
    }
    r
}

fn stress_body(ctx: &Ctx, dir: &Path, r: &mut StressResult) -> Result<()> {
    let (kind, setup) = (r.kind, r.setup);
    let name = format!("stress {}", label(kind, setup));
    progress(&format!("{name}: building topology"));
    let topo = Topology::build(&ctx.prefix, setup.n, ctx.threaded_napi)?;
    let (mut a, mut b, conv) = start_and_converge(ctx, dir, &topo, kind, setup)?;
    r.converge = Some(conv);
    progress(&format!(
        "{name}: converged in {:.2} s; one core busy for {} s",
        conv.as_secs_f64(),
        r.secs
    ));
    sys::sleep(Duration::from_secs(2))?;
    let (la, lb) = (a.log_len(), b.log_len());
    let (ta, tb) = (sys::cpu_times(&a.pids()), sys::cpu_times(&b.pids()));
    let t = Instant::now();
    let secs = r.secs.to_string();
    let mut spinner = Helper::spawn(ctx, None, &["spin", "--secs", &secs])?;
    let changes = watch_vips(
        &topo,
        setup.n,
        Duration::from_secs(r.secs),
        Duration::from_millis(250),
        || ensure_alive(&mut a, &mut b),
    )?;
    let (pa, pb) = (a.pids(), b.pids());
    let (ta2, tb2) = (sys::cpu_times(&pa), sys::cpu_times(&pb));
    let wall = t.elapsed().as_secs_f64();
    let (la2, lb2) = (a.log_len(), b.log_len());
    spinner.wait(Duration::from_secs(2));
    r.cpu_a = Some(sys::cpu_seconds(&ta, &ta2) / wall * 100.0);
    r.cpu_b = Some(sys::cpu_seconds(&tb, &tb2) / wall * 100.0);
    r.spurious = Some((a.transitions(la, la2)?, b.transitions(lb, lb2)?));
    r.vip_changes = Some(changes);
    ensure_alive(&mut a, &mut b)?;
    progress(&format!("{name}: stopping"));
    a.terminate();
    b.terminate();
    let a_ok = a.stop(Duration::from_secs(10));
    let b_ok = b.stop(Duration::from_secs(10));
    if !(a_ok && b_ok) {
        bail!("a daemon did not exit within 10 s of SIGTERM (killed)");
    }
    let (va, vb) = views(&topo)?;
    if va.count + vb.count > 0 {
        bail!(
            "VIPs left after both daemons stopped: a {}, b {}",
            va.count,
            vb.count
        );
    }
    progress(&format!("{name}: done"));
    Ok(())
}

/// `vrrp-scale spin`: keeps one core busy for `secs` seconds.
pub(crate) fn spin(secs: f64) {
    let end = Instant::now() + Duration::from_secs_f64(secs.max(0.0));
    let mut x: u64 = 0;
    while Instant::now() < end {
        for _ in 0..10_000 {
            x = std::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_bounds() {
        // RFC 9568 §6.1 with priority 100: Skew_Time = 156/256 × interval.
        assert_eq!(skew(100), Duration::from_micros(60_937));
        assert_eq!(master_down(100), Duration::from_micros(360_937));
        assert_eq!(master_down(1000), Duration::from_micros(3_609_375));
    }
}
