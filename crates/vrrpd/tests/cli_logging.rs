//! `RUST_LOG` handling of `vrrpd run` (docs/operations.md, "Running it"):
//! levels and `target=level` directives are accepted; anything else is
//! reported once and logging falls back to `info`. No privileges needed:
//! the runs stop at a configuration file that does not exist.

use std::process::Command;

/// Runs `vrrpd run` on a missing file with `RUST_LOG=spec`; returns the
/// exit code and stderr.
fn run_with(spec: &str) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vrrpd"))
        .args(["run", "-c", "/nonexistent/vrrpd-test.toml"])
        .args(["-s", "/nonexistent/vrrpd-test.sock"])
        .env("RUST_LOG", spec)
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
