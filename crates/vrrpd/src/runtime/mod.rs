//! The daemon: `vrrpd run`.
//!
//! One thread, one `mio` loop, whose sources are: the
//! [`netif::executor::Executor`] (one file descriptor for every VRRP
//! socket and the netlink event socket; it runs the `vrrp_fsm::Node` of
//! every instance and sync group), the health checks
//! ([`healthcheck::Checker`]), the notify hooks' pidfds
//! ([`hooks::HookRunner`]), the control socket
//! ([`crate::control::ControlServer`]), the metrics endpoint, and two
//! self-pipes written by the signal handlers (TERM/INT: stop; HUP:
//! reload). The loop sleeps until the earliest deadline of the executor,
//! the checks and the hooks.
//!
//! What the daemon does itself: lower the configuration to the executor's
//! types (`lower.rs`), feed tracked priorities and faults from checks and
//! interfaces (`tracking.rs`), turn executor events into logs, hooks and
//! status (`events.rs`), answer the control socket (`ops.rs`), start, stop
//! and reload instances (`lifecycle.rs`, `reload.rs`, `apply.rs`), and
//! the Accept_Mode False filter (`noaccept.rs`). What it does not do: any
//! protocol decision, packet handling or address change: those are the
//! state machine's and the executor's.
//!
//! Start-up, stop and reload are described in `docs/operations.md`, the
//! layout in `docs/architecture.md`.

mod apply;
mod events;
pub mod fifo;
pub mod hooks;
mod instances;
mod lateness;
mod lifecycle;
pub mod lower;
mod lvs;
pub mod metrics;
mod noaccept;
mod ops;
mod prom;
pub mod reload;
mod reload_worker;
mod render;
pub mod statics;
pub mod status;
mod tracking;

use std::io::Read;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, anyhow};
use healthcheck::Checker;
use mio::net::UnixStream;
use mio::{Events, Interest, Poll, Token};
use netif::executor::Executor;
use tracing::{info, warn};

use crate::config::{self, Config};
use crate::control::ControlServer;
use crate::sd_notify;
use hooks::HookRunner;
use instances::Instances;

/// The loop's tokens: fixed ones first, then a range per server.
mod tokens {
    use mio::Token;
    /// The executor's epoll descriptor.
    pub(super) const EXECUTOR: Token = Token(0);
    /// SIGTERM / SIGINT.
    pub(super) const SIG_STOP: Token = Token(1);
    /// SIGHUP.
    pub(super) const SIG_HUP: Token = Token(2);
    /// A worker thread finished: the reload reader or the renderer.
    pub(super) const WORKERS: Token = Token(3);
    /// The control socket and its connections.
    pub(super) const CONTROL_BASE: usize = 16;
    /// Notify hooks' pidfds.
    pub(super) const HOOK_BASE: usize = CONTROL_BASE + 1024;
    /// Hook slots.
    pub(super) const HOOK_SLOTS: usize = 256;
    /// The metrics endpoint and its connections.
    pub(super) const METRICS_BASE: usize = HOOK_BASE + HOOK_SLOTS + 16;
    /// Health checks (open-ended).
    pub(super) const CHECK_BASE: usize = METRICS_BASE + 128;
}

/// How `vrrpd run` was asked to start.
#[derive(Debug, Clone)]
pub struct Options {
    /// The configuration file (re-read on SIGHUP).
    pub config_path: PathBuf,
    /// Overrides `[global] control_socket`.
    pub control_socket: Option<PathBuf>,
}

/// Runs the daemon until SIGTERM / SIGINT: start-up (errors come back
/// before anything on the host is changed, except the control socket file),
/// READY=1, the loop, the stop sequence. Returns when every instance has
/// released and the stop hooks have run (or timed out).
pub fn run(opts: &Options) -> anyhow::Result<()> {
    let Some(mut d) = Daemon::start(opts)? else {
        info!("stopped during the start-up delay: nothing was started");
        return Ok(());
    };
    release_free_heap();
    if let Err(e) = sd_notify::notify("READY=1") {
        warn!("sd_notify READY=1: {e}");
    }
    info!(
        "vrrpd running: {} instances, {} checks, control socket {}",
        d.cfg.instances.len(),
        d.cfg.checks.len(),
        d.control_path.display()
    );
    d.run_loop()
}

/// Hands the heap that start-up (config parsing, netlink dumps) freed back
/// to the kernel. glibc keeps freed memory in its arenas; at 1000 instances
/// that was about half of the daemon's resident heap (docs/performance.md).
#[allow(unsafe_code)] // The crate's one unsafe block (docs/decisions.md).
pub(super) fn release_free_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks glibc's own arenas; it has no
    // preconditions and is safe to call at any time from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Reads the daemon's configuration path for the client commands.
pub fn control_socket_of(config_path: &Path) -> Result<PathBuf, String> {
    config::load(config_path)
        .map(|c| c.global.control_socket)
        .map_err(|e| e.to_string())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Running,
    /// Releasing: hand-overs in progress.
    Stopping,
    /// Every instance released; stop hooks running until the deadline.
    Hooks(Instant),
}

/// Counters of the daemon itself.
#[derive(Debug, Clone, Copy)]
struct Counters {
    started: Instant,
    reloads: u64,
    reload_failures: u64,
}

struct Daemon {
    poll: Poll,
    config_path: PathBuf,
    control_path: PathBuf,
    cfg: Config,
    exec: Executor,
    insts: Instances,
    checker: Checker,
    hooks: HookRunner,
    control: ControlServer,
    metrics: Option<metrics::MetricsServer>,
    sig_stop: UnixStream,
    sig_hup: UnixStream,
    phase: Phase,
    counters: Counters,
    /// The nftables filter of Accept_Mode False, while any instance needs it.
    noaccept: Option<noaccept::NoAccept>,
    /// Reads, parses and validates configurations off the loop.
    reloader: reload_worker::ReloadWorker,
    /// A reload being applied, slice by slice.
    applying: Option<apply::Applying>,
    /// `vrrpd reload` clients waiting for the reload's outcome.
    reload_waiters: Vec<crate::control::ConnId>,
    /// Serializes `status` answers off the loop.
    renderer: render::Renderer,
    /// `status` answers being built, a slice per round.
    pending_status: std::collections::VecDeque<render::PendingStatus>,
    /// Rate limit of the late-advert warning.
    late_warn: lateness::LateWarn,
    /// E-mail alerts (a worker thread; `crate::mail`).
    mail: crate::mail::Mailer,
    /// Recent state changes, for `status`.
    history: status::History,
    /// systemd's watchdog, when the unit sets `WatchdogSec=`.
    watchdog: Option<sd_notify::Watchdog>,
    /// keepalived's notify FIFO, if configured.
    fifo: Option<fifo::NotifyFifo>,
    /// keepalived's static addresses and routes, removed when dropped
    /// (after the instances have stopped: declared last).
    _statics: statics::Statics,
    /// LVS virtual servers on kernel IPVS (`lvs/`).
    lvs: lvs::Lvs,
}

/// How long the loop works on requests (control, metrics) before it
/// returns to the timers: a small fraction of the shortest advert
/// interval (10 ms), however much is queued.
const SLICE: Duration = Duration::from_millis(2);

/// No probe starts when an advert is due this soon (see
/// `start_due_checks`).
const SPAWN_GUARD: Duration = Duration::from_millis(20);
/// ... unless probes have waited this long.
const SPAWN_MAX_DELAY: Duration = Duration::from_millis(250);

/// The pause between two rounds that only serve queued requests.
const BACKLOG_PAUSE: Duration = Duration::from_millis(1);

/// Health-check probes started per `Checker::handle_timeout` call: an
/// exec probe forks, so 500 checks falling due together would hold the
/// loop for a good part of a second. The loop starts them one at a time
/// for at most [`SLICE`], adverts first; the rest start next round.
const CHECK_STARTS_PER_ROUND: usize = 1;

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn signal_pipe(signals: &[libc::c_int]) -> anyhow::Result<UnixStream> {
    let (rx, tx) = std::os::unix::net::UnixStream::pair().context("signal self-pipe")?;
    rx.set_nonblocking(true).context("signal self-pipe")?;
    for &s in signals {
        let w = tx.try_clone().context("signal self-pipe")?;
        signal_hook::low_level::pipe::register(s, w)
            .with_context(|| format!("installing the handler of signal {s}"))?;
    }
    Ok(UnixStream::from_std(rx))
}

/// keepalived's `vrrp_startup_delay`: waits `delay` before anything is
/// started, waking early for a stop signal; false if one came.
fn wait_startup_delay(sig_stop: &mut UnixStream, delay: Duration) -> anyhow::Result<bool> {
    if delay.is_zero() {
        return Ok(true);
    }
    info!("start-up delay: starting the instances in {delay:?}");
    let mut poll = Poll::new().context("start-up delay")?;
    poll.registry()
        .register(sig_stop, tokens::SIG_STOP, Interest::READABLE)
        .context("start-up delay")?;
    let deadline = Instant::now() + delay;
    let mut events = Events::with_capacity(4);
    let mut stopped = false;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match poll.poll(&mut events, Some(left)) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).context("start-up delay"),
            Ok(()) => {}
        }
        if !events.is_empty() && drain_pipe(sig_stop) {
            stopped = true;
            break;
        }
    }
    poll.registry()
        .deregister(sig_stop)
        .context("start-up delay")?;
    Ok(!stopped)
}

fn drain_pipe(s: &mut UnixStream) -> bool {
    let mut got = false;
    let mut b = [0u8; 64];
    loop {
        match s.read(&mut b) {
            Ok(0) => return got,
            Ok(_) => got = true,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return got,
        }
    }
}

/// The VIPs whose traffic the Accept_Mode False filter drops: those of
/// every instance with `accept = false` (in any state; see `noaccept`).
fn noaccept_vips(cfg: &Config) -> Vec<IpAddr> {
    cfg.instances
        .iter()
        .filter(|i| !i.accept && !i.priority.is_owner())
        .flat_map(|i| i.vips.iter().map(|v| v.addr))
        .collect()
}

/// keepalived's notify FIFO, if configured (made if missing).
fn open_fifo(cfg: &Config) -> anyhow::Result<Option<fifo::NotifyFifo>> {
    let Some(p) = &cfg.global.notify_fifo else {
        return Ok(None);
    };
    let fifo = fifo::NotifyFifo::open(p).with_context(|| format!("notify FIFO {}", p.display()))?;
    Ok(Some(fifo))
}

/// The control socket and, if configured, the metrics endpoint.
fn bind_servers(
    reg: &mio::Registry,
    cfg: &Config,
    control_path: &Path,
) -> anyhow::Result<(ControlServer, Option<metrics::MetricsServer>)> {
    let group = cfg.global.control_group.as_deref();
    let control = ControlServer::bind(control_path, reg, tokens::CONTROL_BASE, group)
        .with_context(|| format!("control socket {}", control_path.display()))?;
    let metrics = match cfg.global.metrics_listen {
        Some(addr) => Some(
            metrics::MetricsServer::bind(addr, reg, tokens::METRICS_BASE)
                .with_context(|| format!("metrics endpoint {addr}"))?,
        ),
        None => None,
    };
    Ok((control, metrics))
}

/// The Accept_Mode False filter, holding every `accept = false` VIP,
/// while any instance needs it.
fn install_noaccept(cfg: &Config) -> anyhow::Result<Option<noaccept::NoAccept>> {
    let filtered = noaccept_vips(cfg);
    if filtered.is_empty() {
        return Ok(None);
    }
    let na = noaccept::NoAccept::install()?;
    na.set(&filtered)?;
    Ok(Some(na))
}

impl Daemon {
    /// Starts the daemon; `None` if a stop signal came during the
    /// start-up delay.
    fn start(opts: &Options) -> anyhow::Result<Option<Daemon>> {
        let cfg = config::load(&opts.config_path).map_err(|e| anyhow!("{e}"))?;
        let mut sig_stop = signal_pipe(&[libc::SIGTERM, libc::SIGINT])?;
        if !wait_startup_delay(&mut sig_stop, cfg.global.startup_delay)? {
            return Ok(None);
        }
        let fifo = open_fifo(&cfg)?;
        let control_path = opts
            .control_socket
            .clone()
            .unwrap_or_else(|| cfg.global.control_socket.clone());
        let mut exec = Executor::new().context("opening netlink and the ARP socket")?;
        // keepalived adds its static addresses and routes before any
        // instance starts.
        let statics = statics::Statics::install(&cfg.global);
        // Everything else read-only first: a missing interface or address
        // stops start-up before anything else changes on the host (the
        // static entries are removed again when `statics` is dropped).
        let names = cfg.instances.iter().map(|i| i.name.clone()).collect();
        let placements = lifecycle::resolve(&mut exec, &cfg, &names)?;
        let poll = Poll::new().context("creating the event loop")?;
        let reg = poll.registry();
        let (control, metrics) = bind_servers(reg, &cfg, &control_path)?;
        let mut checker = Checker::new(reg, tokens::CHECK_BASE).context("health checks")?;
        checker.set_start_limit(CHECK_STARTS_PER_ROUND);
        let lvs_state = lvs::state_file(&control_path);
        let lvs = lvs::Lvs::start(&cfg.lvs, lvs_state, &mut checker, Instant::now())?;
        let timeout = cfg.global.notify_timeout;
        let hooks = HookRunner::new(reg, tokens::HOOK_BASE, tokens::HOOK_SLOTS, timeout)
            .context("notify hooks")?;
        let mut sig_hup = signal_pipe(&[libc::SIGHUP])?;
        let noaccept = install_noaccept(&cfg)?;
        // One waker per poll (mio): the workers share it.
        let waker = std::sync::Arc::new(
            mio::Waker::new(reg, tokens::WORKERS).context("the workers' waker")?,
        );
        let reloader = reload_worker::ReloadWorker::new(waker.clone());
        let renderer = render::Renderer::new(waker)?;
        exec.set_late_warning(cfg.global.advert_late_warn_permille);
        reg.register(&mut exec, tokens::EXECUTOR, Interest::READABLE)
            .context("registering the executor")?;
        reg.register(&mut sig_stop, tokens::SIG_STOP, Interest::READABLE)
            .context("registering the signal pipe")?;
        reg.register(&mut sig_hup, tokens::SIG_HUP, Interest::READABLE)
            .context("registering the signal pipe")?;
        let mut d = Daemon {
            poll,
            config_path: opts.config_path.clone(),
            control_path,
            cfg,
            exec,
            insts: Instances::default(),
            checker,
            hooks,
            control,
            metrics,
            sig_stop,
            sig_hup,
            phase: Phase::Running,
            counters: Counters {
                started: Instant::now(),
                reloads: 0,
                reload_failures: 0,
            },
            noaccept,
            reloader,
            applying: None,
            reload_waiters: Vec::new(),
            renderer,
            pending_status: std::collections::VecDeque::new(),
            late_warn: lateness::LateWarn::default(),
            mail: crate::mail::Mailer::default(),
            history: status::History::default(),
            watchdog: sd_notify::Watchdog::from_env(),
            fifo,
            _statics: statics,
            lvs,
        };
        let now = Instant::now();
        for c in &d.cfg.checks {
            d.checker
                .add(lower::check_spec(c), now)
                .with_context(|| format!("check {:?}", c.name))?;
        }
        d.add_instances(&names, placements)?;
        d.send_lvs_alerts();
        Ok(Some(d))
    }

    /// The earliest deadline of the executor, the checks, the hooks and
    /// the stop sequence.
    fn next_deadline(&self) -> Option<Instant> {
        let stop = match self.phase {
            Phase::Hooks(d) => Some(d),
            _ => None,
        };
        // Requests or a reload waiting: come back after a short pause, so
        // that a flood takes at most about two thirds of a CPU and leaves
        // the rest to the host (and to the peers on a shared machine).
        let now = Instant::now();
        let backlog = self.has_backlog().then(|| now + BACKLOG_PAUSE);
        let exec = self.exec.poll_timeout();
        // Probes held back for an advert (`start_due_checks`) wait for it.
        let advert_soon = exec.is_some_and(|t| t <= now + SPAWN_GUARD);
        let checks = self.checker.poll_timeout().map(|t| match exec {
            Some(e) if advert_soon && t + SPAWN_MAX_DELAY > now => t.max(e),
            _ => t,
        });
        [
            backlog,
            exec,
            checks,
            self.hooks.poll_timeout(),
            self.control.poll_timeout(),
            self.metrics.as_ref().and_then(|m| m.poll_timeout()),
            self.watchdog.as_ref().map(sd_notify::Watchdog::next),
            stop,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn run_loop(&mut self) -> anyhow::Result<()> {
        let mut events = Events::with_capacity(256);
        loop {
            let now = Instant::now();
            let timeout = self
                .next_deadline()
                .map(|t| t.saturating_duration_since(now))
                .map_or(Duration::from_secs(5), |d| d.min(Duration::from_secs(5)));
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e).context("waiting for events");
            }
            // The protocol first: packets, link events and due adverts,
            // before anything else this wakeup brought.
            let mut round = lateness::Round::start();
            self.run_executor();
            round.lap("executor");
            let now = Instant::now();
            for ev in events.iter() {
                self.dispatch(ev.token(), now);
            }
            round.lap("events");
            self.on_timers(now);
            round.lap("checks and hooks");
            self.run_executor();
            self.serve_requests();
            round.lap("requests");
            self.run_executor();
            self.continue_apply(now);
            round.lap("reload");
            self.settle_lvs_sync();
            round.end();
            if let Some(w) = &mut self.watchdog {
                w.ping_if_due(Instant::now());
            }
            if self.progress_stop(now) {
                break;
            }
        }
        self.lvs.stop();
        info!("stopped");
        self.hooks.kill_all(Duration::from_secs(1));
        // The stop alerts: a short, bounded wait, never the SMTP time-out.
        self.mail.finish(Duration::from_secs(2));
        Ok(())
    }

    fn dispatch(&mut self, t: Token, now: Instant) {
        match t {
            tokens::EXECUTOR => {}
            tokens::SIG_STOP if drain_pipe(&mut self.sig_stop) => self.begin_stop(now),
            tokens::SIG_HUP if drain_pipe(&mut self.sig_hup) => self.reload(now),
            tokens::WORKERS => {
                self.on_rendered(now);
                self.reload_read(now);
            }
            t if self.control.owns(t) => self.on_control(t, now),
            t if self.metrics.as_ref().is_some_and(|m| m.owns(t)) => self.on_metrics(t, now),
            t if self.hooks.owns(t) => self.hooks.handle_event(t, now),
            t if self.checker.owns(t) => self.checker.handle_event(t, now),
            _ => {}
        }
    }

    /// The LVS sync daemons follow their instance once the executor has
    /// nothing due (or after a bound): a takeover's addresses and first
    /// advert go out before the kernel's sync threads are started or
    /// stopped.
    fn settle_lvs_sync(&mut self) {
        let Some(overdue) = self.lvs.sync_pending(Instant::now()) else {
            return;
        };
        if overdue || self.exec.poll_timeout().is_none_or(|t| t > Instant::now()) {
            self.lvs.settle_sync();
        }
    }

    /// Lets the executor handle what is ready and due, then the events it
    /// reports.
    fn run_executor(&mut self) {
        if let Err(e) = self.exec.process() {
            warn!("VRRP I/O: {e}");
        }
        self.handle_exec_events();
    }

    fn on_metrics(&mut self, t: Token, now: Instant) {
        if let Some(m) = self.metrics.as_mut() {
            m.handle_event(self.poll.registry(), t, now);
        }
    }

    /// Control requests or scrapes waiting for the loop.
    fn has_backlog(&self) -> bool {
        self.control.has_backlog()
            || self.metrics.as_ref().is_some_and(|m| m.has_backlog())
            || self.is_applying()
            || !self.pending_status.is_empty()
    }

    /// Answers queued control requests and scrapes, one of each in turn,
    /// for at most [`SLICE`]; adverts that fall due meanwhile go first.
    /// What is left waits for the next round (the loop does not sleep).
    fn serve_requests(&mut self) {
        let start = Instant::now();
        let reg = self.poll.registry();
        self.control.accept_more(reg, start);
        if let Some(m) = self.metrics.as_mut() {
            m.accept_more(reg, start);
            m.handle_timeout(reg, start);
        }
        self.control.handle_timeout(reg, start);
        loop {
            let now = Instant::now();
            if now.saturating_duration_since(start) >= SLICE {
                return;
            }
            if self.exec.poll_timeout().is_some_and(|t| t <= now) {
                self.run_executor();
            }
            let answered = self.serve_one_control(now);
            let scraped = self.serve_one_scrape(now);
            let built = self.build_status(start + SLICE);
            if !answered && !scraped && !built {
                return;
            }
        }
    }

    fn serve_one_scrape(&mut self, now: Instant) -> bool {
        let Some(mut m) = self.metrics.take() else {
            return false;
        };
        let done = m.next_answer(self.poll.registry(), now, || {
            metrics::render(&self.snapshot())
        });
        self.metrics = Some(m);
        done
    }

    /// Checks and hooks whose deadline came; instances tracking a check
    /// that changed get their priority recomputed.
    fn on_timers(&mut self, now: Instant) {
        self.start_due_checks(now);
        let mut changed = Vec::new();
        while let Some(ev) = self.checker.poll_event() {
            // A check that starts failing is an operator's business.
            if ev.transition.to == healthcheck::Status::Failed {
                warn!("{ev}");
            } else {
                info!("{ev}");
            }
            if self
                .lvs
                .on_check_event(&ev, &self.checker, &mut self.hooks, now)
            {
                continue;
            }
            changed.push(ev.name);
        }
        self.send_lvs_alerts();
        self.lvs.after_checks(&self.checker, &mut self.hooks, now);
        if !changed.is_empty() {
            let ids: Vec<_> = self
                .insts
                .iter()
                .filter(|(_, i)| i.cfg.track_checks.iter().any(|t| changed.contains(&t.name)))
                .map(|(id, _)| id)
                .collect();
            for id in ids {
                self.recompute(id);
            }
        }
        self.hooks.handle_timeout(now);
        let _ = self.hooks.take_finished();
    }

    /// Starts the probes that are due, one at a time, for at most
    /// [`SLICE`], running the executor between them when an advert is due.
    /// Starting an exec probe waits for the child's `exec` (the scheduler
    /// decides how long), so no probe starts when an advert is due within
    /// [`SPAWN_GUARD`], unless probes have waited [`SPAWN_MAX_DELAY`].
    fn start_due_checks(&mut self, now: Instant) {
        let start = Instant::now();
        let overdue = self
            .checker
            .poll_timeout()
            .is_some_and(|t| t + SPAWN_MAX_DELAY <= now);
        loop {
            let advert_soon = self
                .exec
                .poll_timeout()
                .is_some_and(|t| t <= Instant::now() + SPAWN_GUARD);
            if advert_soon && !overdue {
                return;
            }
            self.checker.handle_timeout(now);
            let more = self.checker.poll_timeout().is_some_and(|t| t <= now);
            if !more || start.elapsed() >= SLICE {
                return;
            }
            if self
                .exec
                .poll_timeout()
                .is_some_and(|t| t <= Instant::now())
            {
                self.run_executor();
            }
        }
    }

    /// Recomputes the tracked priority and fault of instance `id` from its
    /// checks and tracked interfaces, and tells its router if they changed.
    fn recompute(&mut self, id: vrrp_fsm::RouterId) {
        let Some(inst) = self.insts.get(id) else {
            return;
        };
        let exec = &self.exec;
        let t = tracking::tracking(&inst.cfg, &self.cfg.checks, &self.checker, |n| {
            exec.link_up(n)
        });
        let (delta, fault) = (t.clamped_delta(), t.fault);
        let (old_d, old_f) = (inst.applied_delta, inst.applied_fault);
        if let Some(inst) = self.insts.get_mut(id) {
            inst.applied_delta = delta;
            inst.applied_fault = fault;
        }
        if delta != old_d {
            let before = self.exec.node().router(id).map(|r| r.priority());
            self.exec
                .input(|node, now| node.set_tracked_priority(now, id, delta).ok());
            self.note_priority(id, before);
        }
        if fault != old_f {
            self.exec
                .input(|node, now| node.set_check_fault(now, id, fault).ok());
        }
    }
}
