//! Notify hooks: queued per owner (an instance or a sync group), run one at
//! a time and in order, each bounded by the global `notify_timeout`.
//!
//! Children are [`healthcheck::process::Supervised`]: each leads its own
//! process group and is watched through a pidfd registered with the
//! daemon's mio loop, so nothing here blocks. A hook still running at its
//! deadline has its whole process group killed (SIGKILL); the next hook of
//! the same owner starts at once and the killed child is reaped later,
//! without blocking. A hook that cannot be started, fails or times out is
//! logged; it never stops the queue or the daemon.

use std::collections::{HashMap, VecDeque};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use healthcheck::process::Supervised;
use mio::{Registry, Token};

/// How often killed-but-unreaped hooks are polled.
const REAP_POLL: Duration = Duration::from_millis(20);

/// One hook run: the program and its arguments, and a description for logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookJob {
    /// Program and arguments (no shell).
    pub argv: Vec<String>,
    /// What it is, for logs: e.g. `instance VI_1 notify_master`.
    pub what: String,
}

/// How a hook ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookEnd {
    /// Exited with this status code.
    Exited(i32),
    /// Killed by this signal (not by us).
    Signaled(i32),
    /// Still running at the timeout; its process group was killed.
    TimedOut,
    /// Could not be started.
    SpawnFailed(String),
    /// Its status was lost (someone else reaped it).
    Lost(String),
}

/// Counters of hook runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct HookStats {
    /// Hooks started.
    pub started: u64,
    /// Hooks that exited with status 0.
    pub succeeded: u64,
    /// Hooks that failed (non-zero status, signal, spawn error).
    pub failed: u64,
    /// Hooks killed at the timeout.
    pub timed_out: u64,
}

struct Running {
    owner: String,
    job: HookJob,
    proc: Supervised,
    deadline: Instant,
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<HookJob>,
    busy: Option<Token>,
}

/// The hook queues and the running hooks.
pub struct HookRunner {
    registry: Registry,
    token_base: usize,
    slots: usize,
    next: usize,
    timeout: Duration,
    queues: HashMap<String, Queue>,
    running: HashMap<Token, Running>,
    orphans: Vec<Supervised>,
    orphan_wake: Option<Instant>,
    /// Finished runs not yet taken by [`HookRunner::take_finished`].
    finished: Vec<(String, HookJob, HookEnd)>,
    /// Counters.
    pub stats: HookStats,
}

impl HookRunner {
    /// A runner registering pidfds with `registry` under tokens
    /// `token_base..token_base + slots` (at most `slots` hooks run at once;
    /// more wait in their queues).
    pub fn new(
        registry: &Registry,
        token_base: usize,
        slots: usize,
        timeout: Duration,
    ) -> std::io::Result<Self> {
        Ok(HookRunner {
            registry: registry.try_clone()?,
            token_base,
            slots: slots.max(1),
            next: 0,
            timeout,
            queues: HashMap::new(),
            running: HashMap::new(),
            orphans: Vec::new(),
            orphan_wake: None,
            finished: Vec::new(),
            stats: HookStats::default(),
        })
    }

    /// Changes the timeout of hooks started from now on.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// True if `token` is one of the runner's.
    pub fn owns(&self, token: Token) -> bool {
        (self.token_base..self.token_base + self.slots).contains(&token.0)
    }

    /// Queues `job` behind the other hooks of `owner`; starts it at once if
    /// none is running.
    pub fn enqueue(&mut self, owner: &str, job: HookJob, now: Instant) {
        self.queues
            .entry(owner.to_owned())
            .or_default()
            .jobs
            .push_back(job);
        self.pump(owner, now);
    }

    /// No hook running or queued (killed children may still await reaping).
    pub fn is_idle(&self) -> bool {
        self.running.is_empty() && self.queues.values().all(|q| q.jobs.is_empty())
    }

    /// Hooks waiting or running for `owner`.
    pub fn pending(&self, owner: &str) -> usize {
        self.queues
            .get(owner)
            .map_or(0, |q| q.jobs.len() + usize::from(q.busy.is_some()))
    }

    /// The earliest deadline (a hook timeout or the reaping poll).
    pub fn poll_timeout(&self) -> Option<Instant> {
        let d = self.running.values().map(|r| r.deadline).min();
        match (d, self.orphan_wake) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Readiness of a pidfd: the hook may have exited.
    pub fn handle_event(&mut self, token: Token, now: Instant) {
        let Some(r) = self.running.get_mut(&token) else {
            return;
        };
        let end = match r.proc.try_exit() {
            Ok(None) => return,
            Ok(Some(status)) => {
                use std::os::unix::process::ExitStatusExt;
                match status.code() {
                    Some(c) => HookEnd::Exited(c),
                    None => HookEnd::Signaled(status.signal().unwrap_or(0)),
                }
            }
            Err(e) => HookEnd::Lost(e.to_string()),
        };
        self.finish(token, end, now);
    }

    /// Kills hooks past their deadline and reaps killed ones.
    pub fn handle_timeout(&mut self, now: Instant) {
        let late: Vec<Token> = self
            .running
            .iter()
            .filter(|(_, r)| r.deadline <= now)
            .map(|(t, _)| *t)
            .collect();
        for t in late {
            self.finish(t, HookEnd::TimedOut, now);
        }
        if self.orphan_wake.is_some_and(|w| w <= now) {
            self.orphans.retain_mut(|p| !p.try_reap());
            self.orphan_wake = (!self.orphans.is_empty()).then(|| now + REAP_POLL);
        }
    }

    /// Finished runs since the last call: (owner, job, how it ended).
    pub fn take_finished(&mut self) -> Vec<(String, HookJob, HookEnd)> {
        std::mem::take(&mut self.finished)
    }

    /// Drops every queued hook and kills every running one (at exit),
    /// waiting at most `wait` for the killed children to be reaped.
    pub fn kill_all(&mut self, wait: Duration) {
        for q in self.queues.values_mut() {
            q.jobs.clear();
        }
        let tokens: Vec<Token> = self.running.keys().copied().collect();
        for t in tokens {
            if let Some(mut r) = self.running.remove(&t) {
                r.proc.kill_group();
                let _ = r.proc.deregister(&self.registry);
                self.orphans.push(r.proc);
            }
        }
        let deadline = Instant::now() + wait;
        while !self.orphans.is_empty() && Instant::now() < deadline {
            self.orphans.retain_mut(|p| !p.try_reap());
            if !self.orphans.is_empty() {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    }

    fn finish(&mut self, token: Token, end: HookEnd, now: Instant) {
        let Some(mut r) = self.running.remove(&token) else {
            return;
        };
        let _ = r.proc.deregister(&self.registry);
        match &end {
            HookEnd::Exited(0) => {
                self.stats.succeeded += 1;
                tracing::debug!("{}: exited with status 0", r.job.what);
            }
            HookEnd::Exited(c) => {
                self.stats.failed += 1;
                tracing::warn!("{}: exited with status {c}", r.job.what);
            }
            HookEnd::Signaled(s) => {
                self.stats.failed += 1;
                tracing::warn!("{}: killed by signal {s}", r.job.what);
            }
            HookEnd::TimedOut => {
                self.stats.timed_out += 1;
                tracing::warn!(
                    "{}: still running after {:?}; killed its process group",
                    r.job.what,
                    self.timeout
                );
            }
            HookEnd::SpawnFailed(_) | HookEnd::Lost(_) => self.stats.failed += 1,
        }
        if !r.proc.is_reaped() {
            r.proc.kill_group();
            if !r.proc.try_reap() {
                self.orphans.push(r.proc);
                self.orphan_wake.get_or_insert(now + REAP_POLL);
            }
        }
        if let Some(q) = self.queues.get_mut(&r.owner) {
            q.busy = None;
        }
        let owner = r.owner.clone();
        self.finished.push((r.owner, r.job, end));
        self.pump(&owner, now);
    }

    fn alloc_token(&mut self) -> Option<Token> {
        for _ in 0..self.slots {
            let t = Token(self.token_base + self.next);
            self.next = (self.next + 1) % self.slots;
            if !self.running.contains_key(&t) {
                return Some(t);
            }
        }
        None
    }

    /// Starts the next hook of `owner` if none of its hooks is running.
    fn pump(&mut self, owner: &str, now: Instant) {
        loop {
            let Some(q) = self.queues.get_mut(owner) else {
                return;
            };
            if q.busy.is_some() {
                return;
            }
            let Some(job) = q.jobs.pop_front() else {
                self.queues.remove(owner);
                return;
            };
            let Some(token) = self.alloc_token() else {
                // Every slot is busy: run it later (the next finished hook
                // of this owner pumps again; others poll at their end).
                if let Some(q) = self.queues.get_mut(owner) {
                    q.jobs.push_front(job);
                }
                return;
            };
            let Some((program, args)) = job.argv.split_first() else {
                self.stats.failed += 1;
                tracing::warn!("{}: empty command", job.what);
                continue;
            };
            let mut cmd = Command::new(program);
            cmd.args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::inherit());
            self.stats.started += 1;
            match Supervised::spawn(cmd, &self.registry, token) {
                Ok(proc) => {
                    tracing::debug!("{}: started (pid {})", job.what, proc.pid());
                    if let Some(q) = self.queues.get_mut(owner) {
                        q.busy = Some(token);
                    }
                    self.running.insert(
                        token,
                        Running {
                            owner: owner.to_owned(),
                            job,
                            proc,
                            deadline: now + self.timeout,
                        },
                    );
                    return;
                }
                Err(e) => {
                    self.stats.failed += 1;
                    tracing::warn!("{}: cannot start {program}: {e}", job.what);
                    self.finished.push((
                        owner.to_owned(),
                        job.clone(),
                        HookEnd::SpawnFailed(e.to_string()),
                    ));
                }
            }
        }
    }
}

impl Drop for HookRunner {
    fn drop(&mut self) {
        self.kill_all(Duration::from_secs(1));
    }
}

/// Queues the hooks of a state change of `name` (an instance, `kind`
/// `"INSTANCE"`, or a sync group, `"GROUP"`): the state's own hook, then the
/// generic `notify` with keepalived's arguments (`INSTANCE|GROUP NAME
/// STATE PRIORITY`). `Initialize` means it stopped (`notify_stop`, state
/// word `STOP`).
pub fn queue_state_hooks(
    runner: &mut HookRunner,
    hooks: &crate::config::Hooks,
    kind: &str,
    name: &str,
    to: vrrp_fsm::State,
    priority: u8,
    now: Instant,
) {
    use vrrp_fsm::State;
    let owner = format!("{kind} {name}");
    let (specific, key) = match to {
        State::Master => (&hooks.master, "notify_master"),
        State::Backup => (&hooks.backup, "notify_backup"),
        State::Fault => (&hooks.fault, "notify_fault"),
        State::Initialize => (&hooks.stop, "notify_stop"),
    };
    let what = |k: &str| format!("{} {name} {k}", kind.to_lowercase());
    if let Some(argv) = specific {
        let job = HookJob {
            argv: argv.clone(),
            what: what(key),
        };
        runner.enqueue(&owner, job, now);
    }
    if let Some(argv) = &hooks.generic {
        let mut argv = argv.clone();
        argv.extend([
            kind.to_owned(),
            name.to_owned(),
            super::status::keepalived_word(to).to_owned(),
            priority.to_string(),
        ]);
        let job = HookJob {
            argv,
            what: what("notify"),
        };
        runner.enqueue(&owner, job, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mio::{Events, Poll};

    fn sh(script: &str, what: &str) -> HookJob {
        HookJob {
            argv: vec!["/bin/sh".into(), "-c".into(), script.into()],
            what: what.into(),
        }
    }

    fn run_until_idle(poll: &mut Poll, hooks: &mut HookRunner, limit: Duration) {
        let mut events = Events::with_capacity(16);
        let end = Instant::now() + limit;
        while !hooks.is_idle() && Instant::now() < end {
            let now = Instant::now();
            let wait = hooks
                .poll_timeout()
                .map(|t| t.saturating_duration_since(now))
                .unwrap_or(Duration::from_millis(50))
                .min(Duration::from_millis(50));
            poll.poll(&mut events, Some(wait)).unwrap();
            let now = Instant::now();
            for ev in events.iter() {
                if hooks.owns(ev.token()) {
                    hooks.handle_event(ev.token(), now);
                }
            }
            hooks.handle_timeout(now);
        }
    }

    #[test]
    fn hooks_of_one_owner_run_one_at_a_time_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let mut poll = Poll::new().unwrap();
        let mut hooks = HookRunner::new(poll.registry(), 1000, 8, Duration::from_secs(10)).unwrap();
        let now = Instant::now();
        // The first sleeps longest: if they ran in parallel, the order in the
        // file would be reversed.
        for (i, delay) in [(1, "0.3"), (2, "0.1"), (3, "0")] {
            let script = format!(
                "echo start{i} >> {l}; sleep {delay}; echo end{i} >> {l}",
                l = log.display()
            );
            hooks.enqueue("VI_1", sh(&script, &format!("hook {i}")), now);
        }
        assert_eq!(hooks.pending("VI_1"), 3);
        run_until_idle(&mut poll, &mut hooks, Duration::from_secs(10));
        assert!(hooks.is_idle());
        let text = std::fs::read_to_string(&log).unwrap();
        assert_eq!(
            text.lines().collect::<Vec<_>>(),
            ["start1", "end1", "start2", "end2", "start3", "end3"]
        );
        assert_eq!(hooks.stats.succeeded, 3);
        let done: Vec<String> = hooks
            .take_finished()
            .into_iter()
            .map(|(o, j, e)| {
                assert_eq!(o, "VI_1");
                assert_eq!(e, HookEnd::Exited(0));
                j.what
            })
            .collect();
        assert_eq!(done, ["hook 1", "hook 2", "hook 3"]);
    }

    #[test]
    fn a_hanging_hook_is_killed_with_its_group_and_the_queue_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let pids = dir.path().join("pids");
        let after = dir.path().join("after");
        let mut poll = Poll::new().unwrap();
        let mut hooks =
            HookRunner::new(poll.registry(), 1000, 8, Duration::from_millis(300)).unwrap();
        let start = Instant::now();
        // A hook that leaves a grandchild in its group and hangs.
        let hang = format!(
            "sleep 60 & echo $! > {p}; echo $$ >> {p}; wait",
            p = pids.display()
        );
        hooks.enqueue("VI_1", sh(&hang, "hang"), start);
        hooks.enqueue(
            "VI_1",
            sh(&format!("touch {}", after.display()), "after"),
            start,
        );
        // Another owner is not held up by the hanging one.
        let other = dir.path().join("other");
        hooks.enqueue(
            "VI_2",
            sh(&format!("touch {}", other.display()), "other"),
            start,
        );
        run_until_idle(&mut poll, &mut hooks, Duration::from_secs(10));
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
        assert!(after.exists() && other.exists());
        assert_eq!(hooks.stats.timed_out, 1);
        let ends: Vec<(String, HookEnd)> = hooks
            .take_finished()
            .into_iter()
            .map(|(_, j, e)| (j.what, e))
            .collect();
        assert!(
            ends.contains(&("hang".into(), HookEnd::TimedOut)),
            "{ends:?}"
        );
        // Both the hook and its grandchild are gone (reaped or dead).
        std::thread::sleep(Duration::from_millis(100));
        hooks.handle_timeout(Instant::now() + Duration::from_secs(1));
        for pid in std::fs::read_to_string(&pids).unwrap().split_whitespace() {
            let pid: i32 = pid.parse().unwrap();
            let alive = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map(|s| !s.contains(") Z "))
                .unwrap_or(false);
            assert!(!alive, "pid {pid} still running");
        }
    }

    #[test]
    fn a_missing_program_is_logged_and_skipped() {
        let mut poll = Poll::new().unwrap();
        let mut hooks = HookRunner::new(poll.registry(), 1000, 8, Duration::from_secs(5)).unwrap();
        let now = Instant::now();
        hooks.enqueue(
            "G",
            HookJob {
                argv: vec!["/nonexistent/hook".into()],
                what: "missing".into(),
            },
            now,
        );
        hooks.enqueue("G", sh("exit 3", "three"), now);
        run_until_idle(&mut poll, &mut hooks, Duration::from_secs(5));
        let ends: Vec<HookEnd> = hooks.take_finished().into_iter().map(|f| f.2).collect();
        assert!(matches!(ends[0], HookEnd::SpawnFailed(_)), "{ends:?}");
        assert_eq!(ends[1], HookEnd::Exited(3));
        assert_eq!(hooks.stats.failed, 2);
    }
}
