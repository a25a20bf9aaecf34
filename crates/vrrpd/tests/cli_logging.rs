//! `RUST_LOG` handling of `vrrpd run` (docs/operations.md, "Running it"):
//! levels and `target=level` directives are accepted; anything else is
//! reported once and logging falls back to `info`. And the log format
//! (docs/operations.md, "Logs"): syslog priority prefixes and no timestamp
//! when stderr is the journal stream systemd announced in `JOURNAL_STREAM`,
//! timestamps and no prefix otherwise. No privileges needed: the runs stop
//! at a configuration file that does not exist.

use std::os::unix::fs::MetadataExt;
use std::process::{Command, Stdio};

/// Runs `vrrpd run` on a missing file with `RUST_LOG=spec`; returns the
/// exit code and stderr.
fn run_with(spec: &str) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vrrpd"))
        .args(["run", "-c", "/nonexistent/vrrpd-test.toml"])
        .args(["-s", "/nonexistent/vrrpd-test.sock"])
        .env("RUST_LOG", spec)
        .env_remove("JOURNAL_STREAM")
        .output()
        .expect("vrrpd runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_bad_rust_log_is_reported_and_info_is_used() {
    let (code, err) = run_with("vrrpd=loud");
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("WARN"), "{err}");
    assert!(err.contains("RUST_LOG=\"vrrpd=loud\" ignored"), "{err}");
    assert!(err.contains("logging at info"), "{err}");
    // The run itself still reports why it stopped.
    assert!(err.contains("cannot read the file"), "{err}");
}

#[test]
fn levels_and_per_target_directives_are_accepted() {
    for spec in ["debug", "warn", "info,vrrpd=debug,netif=warn", "off", ""] {
        let (code, err) = run_with(spec);
        assert_eq!(code, Some(1), "{spec:?}: {err}");
        assert!(!err.contains("ignored"), "{spec:?} was rejected: {err}");
        assert!(err.contains("cannot read the file"), "{spec:?}: {err}");
    }
}

/// Runs `vrrpd run` on a missing file with a bad `RUST_LOG` (so that one
/// WARN line and one start-up error are written) and stderr going to a
/// file; `journal(dev, ino)` of that file gives `JOURNAL_STREAM`'s value, or
/// `None` to leave it unset. Returns stderr's lines.
fn run_logging_to_file(journal: impl Fn(u64, u64) -> Option<String>) -> Vec<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("stderr");
    let file = std::fs::File::create(&path).expect("stderr file");
    let meta = file.metadata().expect("fstat");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vrrpd"));
    cmd.args(["run", "-c", "/nonexistent/vrrpd-test.toml"])
        .args(["-s", "/nonexistent/vrrpd-test.sock"])
        .env("RUST_LOG", "vrrpd=loud")
        .env_remove("JOURNAL_STREAM")
        .stdout(Stdio::null())
        .stderr(Stdio::from(file));
    if let Some(value) = journal(meta.dev(), meta.ino()) {
        cmd.env("JOURNAL_STREAM", value);
    }
    let status = cmd.status().expect("vrrpd runs");
    assert_eq!(status.code(), Some(1));
    let text = std::fs::read_to_string(&path).expect("stderr");
    text.lines().map(str::to_owned).collect()
}

/// `2026-11-26T10:41:20.123456Z`-like: tracing's default timestamp.
fn starts_with_timestamp(line: &str) -> bool {
    let b = line.as_bytes();
    b.len() > 20
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
}

#[test]
fn under_journald_lines_carry_a_priority_and_no_timestamp() {
    let lines = run_logging_to_file(|dev, ino| Some(format!("{dev}:{ino}")));
    assert_eq!(lines.len(), 2, "{lines:#?}");
    // The WARN event: priority 4, the level, the target, the message.
    assert!(
        lines[0].starts_with("<4>WARN vrrpd: RUST_LOG=\"vrrpd=loud\" ignored"),
        "{lines:#?}"
    );
    // The start-up failure: priority 3.
    assert!(lines[1].starts_with("<3>vrrpd: "), "{lines:#?}");
    assert!(lines[1].contains("cannot read the file"), "{lines:#?}");
    for line in &lines {
        assert!(!line.contains("\x1b["), "no colours: {line:?}");
        let rest = line.split_once('>').map_or(line.as_str(), |(_, r)| r);
        assert!(!starts_with_timestamp(rest), "no timestamp: {line:?}");
        assert!(!rest.contains(" WARN "), "level once, first: {line:?}");
    }
}

#[test]
fn elsewhere_lines_carry_a_timestamp_and_no_priority() {
    // Not set, and set for another stream (a child of a service whose
    // stderr went elsewhere): both are plain text.
    for journal in [None, Some("1:1")] {
        let lines = run_logging_to_file(|_, _| journal.map(str::to_owned));
        assert_eq!(lines.len(), 2, "{journal:?}: {lines:#?}");
        assert!(starts_with_timestamp(&lines[0]), "{journal:?}: {lines:#?}");
        assert!(lines[0].contains(" WARN "), "{journal:?}: {lines:#?}");
        assert!(lines[1].starts_with("vrrpd: "), "{journal:?}: {lines:#?}");
        for line in &lines {
            assert!(!line.starts_with('<'), "{journal:?}: {line:?}");
        }
    }
}
