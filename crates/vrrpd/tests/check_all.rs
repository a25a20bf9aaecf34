//! `vrrpd check` reports every problem of a file in one run, in the user's
//! words, with the host's problems apart; odd files are refused cleanly and
//! the cost stays linear in the number of problems.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use vrrpd::config::{Checked, ConfigError, Group, Options, check_file, load_str, validate_text};

fn problems(text: &str, opts: Options) -> ConfigError {
    validate_text(text, "t.toml", opts).expect_err("should be rejected")
}

fn lines(e: &ConfigError) -> Vec<(usize, usize, String)> {
    e.diagnostics
        .iter()
        .map(|d| (d.line, d.column, d.message.clone()))
        .collect()
}

/// The file of issue 16: four mistakes, four runs of `check` before.
const FOUR: &str = r#"[[instance]]
name = "VI_1"
interface = "eth0"
vrid = 300
priorty = 100
advert_interval = "10x"
virtual_addresses = ["192.0.2.300"]
"#;

#[test]
fn four_mistakes_are_four_problems_in_one_run() {
    let e = problems(FOUR, Options::OFFLINE);
    let got = lines(&e);
    assert_eq!(got.len(), 4, "{e}");
    assert_eq!(
        got.iter().map(|(l, c, _)| (*l, *c)).collect::<Vec<_>>(),
        [(4, 8), (5, 1), (6, 19), (7, 22)],
        "{e}"
    );
    assert!(got[0].2.contains("from 1 to 255"), "{e}");
    assert!(got[1].2.contains("did you mean `priority`"), "{e}");
    assert!(got[2].2.contains("unknown duration unit"), "{e}");
    assert!(got[3].2.contains("not an IP address"), "{e}");
    let shown = e.to_string();
    for rust in ["u8", "u16", "u32", "i32", "expected a boolean"] {
        assert!(!shown.contains(rust), "Rust words in:\n{shown}");
    }
}

#[test]
fn wrong_types_are_told_in_the_users_words() {
    let text = "[[instance]]\nname = \"V\"\ninterface = \"eth0\"\nvrid = \"51\"\npriority = -1\npreempt = \"yes\"\nvirtual_addresses = [\"192.0.2.1\"]\n";
    let e = problems(text, Options::OFFLINE);
    let got = lines(&e);
    assert_eq!(got.len(), 3, "{e}");
    assert!(
        got[0]
            .2
            .starts_with("vrid must be a whole number from 1 to 255"),
        "{e}"
    );
    assert!(got[0].2.ends_with("not \"51\""), "{e}");
    assert!(
        got[1]
            .2
            .contains("priority must be a whole number from 1 to 255"),
        "{e}"
    );
    assert!(
        got[2]
            .2
            .contains("preempt must be true or false, not \"yes\""),
        "{e}"
    );
}

#[test]
fn rules_between_instances_run_although_instances_have_errors() {
    // Both instances have a mistake of their own; the duplicate VRID and
    // the duplicate address are still found, with both places named.
    let text = r#"[[instance]]
name = "A"
interface = "eth0"
vrid = 7
priority = 0
virtual_addresses = ["192.0.2.1"]

[[instance]]
name = "B"
interface = "eth0"
vrid = 7
advert_interval = "1ms"
virtual_addresses = ["192.0.2.1"]
"#;
    let e = problems(text, Options::OFFLINE);
    let got = lines(&e);
    assert_eq!(got.len(), 4, "{e}");
    assert!(
        got.iter().any(|(l, c, m)| (*l, *c) == (11, 8)
            && m.contains("VRID 7 on eth0 (IPv4)")
            && m.contains("(first at 4:8)")),
        "{e}"
    );
    assert!(
        got.iter().any(|(l, c, m)| (*l, *c) == (13, 22)
            && m.contains("192.0.2.1 is already used by instance \"A\"")
            && m.contains("(first at 6:22)")),
        "{e}"
    );
}

#[test]
fn names_given_twice_show_both_places_and_typos_get_a_suggestion() {
    let text = r#"[[check]]
name = "chk_nginx"
type = "exec"
command = "/bin/true"

[[check]]
name = "chk_nginx"
type = "exec"
command = "/bin/true"

[[instance]]
name = "A"
interface = "eth0"
vrid = 1
virtual_addresses = ["192.0.2.1"]
track_checks = ["chk_ngnix"]

[[instance]]
name = "B"
interface = "eth0"
vrid = 2
virtual_addresses = ["192.0.2.2"]

[[sync_group]]
name = "G"
instances = ["A", "b"]

[globl]
"#;
    let e = problems(text, Options::OFFLINE);
    let shown = e.to_string();
    assert!(
        shown.contains("t.toml:7:8: a check named \"chk_nginx\" is already defined (first at 2:8)"),
        "{shown}"
    );
    assert!(shown.contains("did you mean \"chk_nginx\"?"), "{shown}");
    assert!(
        shown.contains("no instance named \"b\"; did you mean \"B\"?"),
        "{shown}"
    );
    assert!(
        shown.contains("unknown field `globl`: did you mean `global`?"),
        "{shown}"
    );
    let typo = "[[instance]]\nname = \"A\"\ninterface = \"eth0\"\nvrid = 1\nvirtual_addresses = [{ address = \"192.0.2.1\", lable = \"eth0:a\" }]\n";
    assert!(
        problems(typo, Options::OFFLINE)
            .to_string()
            .contains("unknown field `lable`: did you mean `label`?")
    );
}

#[test]
fn host_problems_are_their_own_group_and_offline_skips_them() {
    let text = r#"[[instance]]
name = "A"
interface = "vrrpd-no-such0"
vrid = 1
virtual_addresses = ["192.0.2.1"]
track_interfaces = ["vrrpd-no-such1"]
notify_master = "/nonexistent/hook"
"#;
    let e = problems(text, Options::CHECK);
    let host: Vec<String> = e.of(Group::Host).map(|d| d.message.clone()).collect();
    assert_eq!(e.of(Group::Config).count(), 0, "{e}");
    assert_eq!(host.len(), 3, "{e}");
    assert!(host[0].contains("no interface vrrpd-no-such0"), "{e}");
    assert!(host[2].contains("/nonexistent/hook"), "{e}");
    assert!(validate_text(text, "t.toml", Options::OFFLINE).is_ok());
}

#[test]
fn a_file_that_configures_nothing_is_an_error() {
    for text in ["", "[global]\nnotify_timeout = \"5s\"\n"] {
        let e = problems(text, Options::OFFLINE);
        assert!(e.to_string().contains("configures nothing"), "{e}");
    }
    // A fragment (checks only) still validates as text.
    let checks = "[[check]]\nname = \"c\"\ntype = \"tcp\"\naddress = \"127.0.0.1\"\nport = 1\n";
    assert!(load_str(checks, "t").is_ok());
}

#[test]
fn odd_files_are_refused_without_blocking_or_reading_forever() {
    let dir = tempfile::tempdir().unwrap();
    let unreadable = |p: &Path| match check_file(p, Options::OFFLINE) {
        Checked::Unreadable(e) => e.to_string(),
        other => panic!("{}: {other:?}", p.display()),
    };
    assert!(unreadable(Path::new("/dev/zero")).contains("character device"));
    let fifo = dir.path().join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    assert!(unreadable(&fifo).contains("FIFO"));
    assert!(unreadable(dir.path()).contains("directory"));
    let big = dir.path().join("big.toml");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(vrrpd::config::MAX_CONFIG_BYTES + 1)
        .unwrap();
    assert!(unreadable(&big).contains("at most"));
    assert!(unreadable(&dir.path().join("missing.toml")).contains("cannot read"));
}

#[test]
fn encoding_and_nesting_errors_carry_their_position() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("latin1.toml");
    std::fs::write(&p, b"[[instance]]\nname = \"caf\xe9\"\n").unwrap();
    let Checked::Unreadable(e) = check_file(&p, Options::OFFLINE) else {
        panic!("accepted");
    };
    let d = &e.diagnostics[0];
    assert_eq!((d.line, d.column), (2, 12), "{e}");
    assert!(d.message.contains("not UTF-8"), "{e}");

    let deep = format!("x = 1\na = {}{}\n", "[".repeat(200), "]".repeat(200));
    let e = problems(&deep, Options::OFFLINE);
    let d = &e.diagnostics[0];
    assert_eq!(d.line, 2, "{e}");
    assert!(d.column > 1, "{e}");
    assert!(d.message.contains("too deeply nested"), "{e}");
}

#[test]
fn diagnostics_are_linear_in_the_number_of_problems() {
    // 10,000 errors took 2.9 s when each rescanned the text; now it is
    // one pass. The bound is loose (debug build, shared machine).
    let mut text = String::new();
    for i in 0..10_000 {
        text.push_str(&format!(
            "[[instance]]\nname = \"V{i}\"\ninterface = \"eth0\"\nvrid = 0\nvirtual_addresses = [\"10.{}.{}.1\"]\n",
            i / 256,
            i % 256
        ));
    }
    let start = Instant::now();
    let e = problems(&text, Options::OFFLINE);
    let took = start.elapsed();
    assert_eq!(e.diagnostics.len(), 10_000);
    assert_eq!(e.diagnostics[9_999].line, 49_999);
    assert!(took < Duration::from_secs(10), "{took:?}");
    // The reload's one log record.
    let s = e.summary();
    assert!(
        s.starts_with("10000 problems; first: t.toml:4:8: vrid must be between 1 and 255"),
        "{s}"
    );
    assert!(!s.contains('\n'));
}

#[test]
fn the_exit_status_says_what_kind_of_problem() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_vrrpd"))
            .args(args)
            .output()
            .unwrap()
            .status
            .code()
    };
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let ok = write(
        "ok.toml",
        "[[instance]]\nname = \"A\"\ninterface = \"lo\"\nvrid = 1\nvirtual_addresses = [\"192.0.2.1\"]\n",
    );
    let host_only = write(
        "host.toml",
        "[[instance]]\nname = \"A\"\ninterface = \"vrrpd-none0\"\nvrid = 1\nvirtual_addresses = [\"192.0.2.1\"]\n",
    );
    let bad = write("bad.toml", FOUR);
    assert_eq!(run(&["check", "-c", &ok]), Some(0));
    assert_eq!(run(&["check", "-c", &bad]), Some(1));
    assert_eq!(run(&["check", "--bogus"]), Some(2));
    assert_eq!(run(&["check", "-c", &host_only]), Some(3));
    assert_eq!(run(&["check", "--offline", "-c", &host_only]), Some(0));
    assert_eq!(run(&["check", "-c", "/dev/zero"]), Some(4));
}
