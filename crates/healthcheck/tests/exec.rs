//! Exec checks: exit status, timeout killing the process group, hysteresis,
//! environment, user.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{TempDir, drive, proc_state, run_for};
use healthcheck::{
    CheckKind, CheckSpec, ConfigError, Detail, Error, ExecSpec, Outcome, RunAs, Runner, Status,
};

fn exec(name: &str, spec: ExecSpec) -> CheckSpec {
    CheckSpec::new(name, CheckKind::Exec(spec))
        .interval(Duration::from_millis(50))
        .timeout(Duration::from_secs(5))
}

#[test]
fn exit_status_decides() {
    let mut r = Runner::new().unwrap();
    let now = Instant::now();
    let t = r
        .checker()
        .add(exec("true", ExecSpec::new(["true"])), now)
        .unwrap();
    let f = r
        .checker()
        .add(exec("false", ExecSpec::new(["false"])), now)
        .unwrap();
    let three = r
        .checker()
        .add(exec("three", ExecSpec::shell("exit 3")), now)
        .unwrap();
    let missing = r
        .checker()
        .add(
            exec("missing", ExecSpec::new(["/nonexistent/hc-check"])),
            now,
        )
        .unwrap();
    // `true` never changes state (checks start OK), so wait for every
    // check's first result rather than for a number of transitions.
    let all = [t, f, three, missing];
    let (ev, ok) = drive(&mut r, Duration::from_secs(5), |c, _| {
        all.iter().all(|id| c.last_result(*id).is_some())
    });
    assert!(ok, "{ev:?}");
    let c = r.checker();
    assert_eq!(c.state(t).unwrap().status(), Status::Ok);
    assert_eq!(c.last_result(t).unwrap().detail, Detail::Exited(0));
    assert_eq!(c.state(f).unwrap().status(), Status::Failed);
    assert_eq!(c.last_result(f).unwrap().detail, Detail::Exited(1));
    assert_eq!(c.last_result(three).unwrap().detail, Detail::Exited(3));
    match &c.last_result(missing).unwrap().detail {
        Detail::Os(e) => assert_eq!((e.op, e.errno), ("spawn", Some(libc::ENOENT))),
        d => panic!("{d:?}"),
    }
}

#[test]
fn no_shell_unless_asked() {
    // Without a shell, "$X" and ';' are plain arguments to `test`.
    let mut r = Runner::new().unwrap();
    let now = Instant::now();
    let argv = r
        .checker()
        .add(
            exec("argv", ExecSpec::new(["test", "$X", "=", "$X;false"])),
            now,
        )
        .unwrap();
    let shell = r
        .checker()
        .add(
            exec("shell", ExecSpec::shell("test \"$X\" = \"\"; false")),
            now,
        )
        .unwrap();
    let (_, ok) = drive(&mut r, Duration::from_secs(5), |c, _| {
        c.last_result(argv).is_some() && c.last_result(shell).is_some()
    });
    assert!(ok);
    assert_eq!(
        r.checker().last_result(argv).unwrap().detail,
        Detail::Exited(1)
    );
    assert_eq!(
        r.checker().last_result(shell).unwrap().detail,
        Detail::Exited(1)
    );
}

#[test]
fn hanging_script_is_killed_with_its_group() {
    let dir = TempDir::new("hang");
    let pids = dir.path("pids");
    // The shell starts a background grandchild and a foreground sleep.
    let script = format!(
        "sleep 300 & echo $! > {p}; sleep 301 & echo $! >> {p}; echo $$ >> {p}; wait",
        p = pids.display()
    );
    let mut r = Runner::new().unwrap();
    let id = r
        .checker()
        .add(
            exec("hang", ExecSpec::shell(script))
                .interval(Duration::from_secs(10))
                .timeout(Duration::from_millis(300)),
            Instant::now(),
        )
        .unwrap();
    // A fast in-process check on the same loop keeps running while the
    // script hangs: nothing blocks.
    let marker = dir.path("marker");
    std::fs::write(&marker, "1").unwrap();
    let fast = r
        .checker()
        .add(
            CheckSpec::new(
                "fast",
                CheckKind::File(healthcheck::FileSpec { path: marker }),
            )
            .interval(Duration::from_millis(10)),
            Instant::now(),
        )
        .unwrap();
    let t0 = Instant::now();
    let (ev, ok) = drive(&mut r, Duration::from_secs(5), |_, ev| {
        ev.iter().any(|e| e.id == id)
    });
    let took = t0.elapsed();
    let ev: Vec<_> = ev.into_iter().filter(|e| e.id == id).collect();
    let fast_results = r.checker().state(fast).unwrap().results();
    assert!(
        fast_results >= 20,
        "fast check starved: {fast_results} results in {took:?}"
    );
    assert!(ok, "no event");
    assert_eq!(ev[0].transition.to, Status::Failed);
    assert_eq!(ev[0].result.detail, Detail::TimedOut);
    assert!(
        took >= Duration::from_millis(290) && took < Duration::from_secs(2),
        "{took:?}"
    );
    assert!(!r.checker().in_flight(id));
    let list: Vec<i32> = std::fs::read_to_string(&pids)
        .unwrap()
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    assert_eq!(list.len(), 3, "{list:?}");
    // Everyone in the group is dead: gone, or a zombie of some other reaper
    // (the grandchildren were re-parented away from us).
    let deadline = Instant::now() + Duration::from_secs(2);
    for pid in list {
        loop {
            match proc_state(pid) {
                None | Some('Z') | Some('X') => break,
                Some(s) => {
                    assert!(
                        Instant::now() < deadline,
                        "pid {pid} still alive in state {s}"
                    );
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        }
    }
    assert_eq!(r.checker().stats().timeouts, 1);
    // The killed shell is reaped by the loop, without blocking it.
    let (_, ok) = drive(&mut r, Duration::from_secs(2), |c, _| {
        c.unreaped_children() == 0
    });
    assert!(ok);
}

#[test]
fn leftover_processes_are_killed_on_exit() {
    let dir = TempDir::new("leftover");
    let pidfile = dir.path("pid");
    let script = format!("sleep 300 & echo $! > {}; exit 0", pidfile.display());
    let mut r = Runner::new().unwrap();
    let id = r
        .checker()
        .add(
            exec("leftover", ExecSpec::shell(script)).interval(Duration::from_secs(10)),
            Instant::now(),
        )
        .unwrap();
    let (_, ok) = drive(&mut r, Duration::from_secs(5), |c, _| {
        c.last_result(id).is_some()
    });
    assert!(ok);
    assert_eq!(
        r.checker().last_result(id).unwrap().outcome,
        Outcome::Success
    );
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(2);
    while !matches!(proc_state(pid), None | Some('Z') | Some('X')) {
        assert!(Instant::now() < deadline, "background child {pid} survived");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn flapping_script_is_held_by_hysteresis() {
    let dir = TempDir::new("flap");
    let counter = dir.path("n");
    let mode = dir.path("mode");
    std::fs::write(&mode, "flap").unwrap();
    // Alternates success/failure while mode is "flap"; always fails on "fail".
    let script = format!(
        "n=$(cat {c} 2>/dev/null || echo 0); echo $((n+1)) > {c}; \
         [ \"$(cat {m})\" = fail ] && exit 1; [ $((n % 2)) -eq 0 ]",
        c = counter.display(),
        m = mode.display()
    );
    let mut r = Runner::new().unwrap();
    let id = r
        .checker()
        .add(
            exec("flap", ExecSpec::shell(script))
                .interval(Duration::from_millis(50))
                .rise(2)
                .fall(2)
                .weight(-50),
            Instant::now(),
        )
        .unwrap();
    let (ev, ok) = drive(&mut r, Duration::from_secs(10), |c, _| {
        c.state(id).unwrap().results() >= 12
    });
    assert!(ok, "too few results");
    assert!(ev.is_empty(), "flapping changed state: {ev:?}");
    assert_eq!(r.checker().breakdown(100, &[id.into()]).effective, 100);

    std::fs::write(&mode, "fail").unwrap();
    let before = r.checker().state(id).unwrap().results();
    let (ev, ok) = drive(&mut r, Duration::from_secs(5), |_, ev| !ev.is_empty());
    assert!(ok);
    assert_eq!(ev[0].transition.to, Status::Failed);
    let after = r.checker().state(id).unwrap().results();
    // At most fall (2) failures plus one possibly-in-flight result from flap mode.
    assert!(after - before <= 3, "{before} -> {after}");
    assert_eq!(r.checker().breakdown(100, &[id.into()]).effective, 50);
}

#[test]
fn environment_is_passed_and_can_be_cleared() {
    let mut r = Runner::new().unwrap();
    let now = Instant::now();
    let with = r
        .checker()
        .add(
            exec(
                "env",
                ExecSpec::new([
                    "/bin/sh",
                    "-c",
                    "test \"$HC_VAR\" = 'a b' && test -n \"$HOME$PATH\"",
                ])
                .env("HC_VAR", "a b"),
            ),
            now,
        )
        .unwrap();
    let mut cleared = ExecSpec::new(["/bin/sh", "-c", "test -z \"$HOME\" && test \"$ONLY\" = 1"])
        .env("ONLY", "1");
    cleared.clear_env = true;
    let cl = r.checker().add(exec("cleared", cleared), now).unwrap();
    let (_, ok) = drive(&mut r, Duration::from_secs(5), |c, _| {
        c.last_result(with).is_some() && c.last_result(cl).is_some()
    });
    assert!(ok);
    assert_eq!(
        r.checker().last_result(with).unwrap().detail,
        Detail::Exited(0)
    );
    assert_eq!(
        r.checker().last_result(cl).unwrap().detail,
        Detail::Exited(0)
    );
}

#[test]
fn runs_as_configured_user() {
    if !common::is_root() {
        eprintln!("SKIP: not root, cannot switch user");
        return;
    }
    let mut r = Runner::new().unwrap();
    let now = Instant::now();
    let by_name = r
        .checker()
        .add(
            exec(
                "nobody",
                ExecSpec::new([
                    "/bin/sh",
                    "-c",
                    "test \"$(id -u)\" = 65534 && test \"$(id -G)\" = 65534",
                ]),
            )
            .kind_user(RunAs::Name {
                user: "nobody".into(),
                group: Some("nogroup".into()),
            }),
            now,
        )
        .unwrap();
    let by_id = r
        .checker()
        .add(
            exec(
                "ids",
                ExecSpec::new(["/bin/sh", "-c", "test \"$(id -u):$(id -g)\" = 4242:4343"]),
            )
            .kind_user(RunAs::Id {
                uid: 4242,
                gid: 4343,
            }),
            now,
        )
        .unwrap();
    let as_root = r
        .checker()
        .add(
            exec(
                "root",
                ExecSpec::new(["/bin/sh", "-c", "test \"$(id -u)\" = 65534"]),
            ),
            now,
        )
        .unwrap();
    let (_, ok) = drive(&mut r, Duration::from_secs(5), |c, _| {
        [by_name, by_id, as_root]
            .iter()
            .all(|&i| c.last_result(i).is_some())
    });
    assert!(ok);
    let c = r.checker();
    assert_eq!(c.last_result(by_name).unwrap().detail, Detail::Exited(0));
    assert_eq!(c.last_result(by_id).unwrap().detail, Detail::Exited(0));
    assert_eq!(c.last_result(as_root).unwrap().detail, Detail::Exited(1));

    let err = r
        .checker()
        .add(
            exec("ghost", ExecSpec::new(["true"])).kind_user(RunAs::Name {
                user: "hc-no-such-user".into(),
                group: None,
            }),
            now,
        )
        .unwrap_err();
    assert!(
        matches!(&err, Error::Config { source: ConfigError::UnknownUser(u), .. } if u == "hc-no-such-user"),
        "{err}"
    );
}

#[test]
fn invalid_specs_are_rejected() {
    let mut r = Runner::new().unwrap();
    let now = Instant::now();
    let bad = [
        (
            exec("e", ExecSpec::new(Vec::<String>::new())),
            ConfigError::EmptyCommand,
        ),
        (
            exec("w", ExecSpec::new(["true"])).weight(255),
            ConfigError::WeightOutOfRange(255),
        ),
        (
            exec("r", ExecSpec::new(["true"])).rise(0),
            ConfigError::ZeroRiseFall("rise"),
        ),
        (
            exec("i", ExecSpec::new(["true"])).interval(Duration::from_millis(5)),
            ConfigError::IntervalTooShort {
                kind: "exec",
                got_ms: 5,
                min_ms: 50,
            },
        ),
        (
            exec("t", ExecSpec::new(["true"])).timeout(Duration::ZERO),
            ConfigError::ZeroTimeout,
        ),
    ];
    for (spec, want) in bad {
        match r.checker().add(spec, now) {
            Err(Error::Config { source, .. }) => assert_eq!(source, want),
            other => panic!("{other:?}"),
        }
    }
    r.checker()
        .add(exec("dup", ExecSpec::new(["true"])), now)
        .unwrap();
    assert!(matches!(
        r.checker().add(exec("dup", ExecSpec::new(["true"])), now),
        Err(Error::Config {
            source: ConfigError::DuplicateName(_),
            ..
        })
    ));
    let _ = run_for(&mut r, Duration::from_millis(100));
}

trait WithUser {
    fn kind_user(self, u: RunAs) -> Self;
}

impl WithUser for CheckSpec {
    fn kind_user(mut self, u: RunAs) -> Self {
        if let CheckKind::Exec(e) = &mut self.kind {
            e.user = Some(u);
        }
        self
    }
}

#[test]
fn dynamic_exit_statuses_succeed_from_two_on() {
    let mut r = Runner::new().unwrap();
    let now = Instant::now();
    let mut dynamic = |name: &str, script: &str| {
        let mut e = ExecSpec::shell(script);
        e.dynamic_exit = true;
        r.checker().add(exec(name, e), now).unwrap()
    };
    let seven = dynamic("seven", "exit 7");
    let one = dynamic("one", "exit 1");
    let plain = r
        .checker()
        .add(exec("plain", ExecSpec::shell("exit 7")), now)
        .unwrap();
    let all = [seven, one, plain];
    let (ev, ok) = drive(&mut r, Duration::from_secs(5), |c, _| {
        all.iter().all(|id| c.last_result(*id).is_some())
    });
    assert!(ok, "{ev:?}");
    let c = r.checker();
    assert_eq!(c.last_result(seven).unwrap().outcome, Outcome::Success);
    assert_eq!(c.last_result(seven).unwrap().detail, Detail::Exited(7));
    assert_eq!(c.last_result(one).unwrap().outcome, Outcome::Failure);
    assert_eq!(c.last_result(plain).unwrap().outcome, Outcome::Failure);
}
