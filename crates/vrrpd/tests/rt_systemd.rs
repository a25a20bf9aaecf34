//! What systemd sees of `vrrpd run` (lab tag `msd`): readiness, `STATUS=`
//! lines with the instances' states, `WATCHDOG=1` at half of
//! `WATCHDOG_USEC`, and `vrrpd reload` (the unit's `ExecReload=`) that
//! exits non-zero on an invalid file while the old configuration keeps
//! running. The test binds the notification socket itself. A live scrape
//! of the metrics passes `promtool check metrics`.
//!
//! Needs root and `ip netns`; skips with a message otherwise.
#![allow(clippy::unwrap_used)]

mod lab;

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use lab::Lab;
use lab::peers::Inst;

const VIP: &str = "10.99.0.200/24";

/// Every datagram received within `within`.
fn drain(rx: &UnixDatagram, within: Duration) -> Vec<String> {
    let until = Instant::now() + within;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < until {
        rx.set_read_timeout(Some(
            until
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(1)),
        ))
        .unwrap();
        if let Ok(n) = rx.recv(&mut buf) {
            got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    }
    got
}

/// `promtool check metrics` on `text`, if promtool is installed.
fn promtool_check(text: &str) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let Ok(mut child) = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        eprintln!("SKIP: promtool is not installed (scripts/setup.sh installs it)");
        return;
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty() && out.stdout.is_empty(),
        "promtool: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn systemd_gets_status_watchdog_pings_and_a_truthful_reload() {
    if !lab::can_run() {
        return;
    }
    let lab = Lab::new("msd", 1);
    let notify = lab.dir.path().join("notify.sock");
    let rx = UnixDatagram::bind(&notify).unwrap();
    let inst = |prio: u8| Inst::v3("VI_1", 42, prio, VIP).toml();
    let global = "metrics_listen = \"127.0.0.1:19651\"\n";
    lab.write_vrrpd_toml(0, global, &inst(200));
    let sock = notify.display().to_string();
    // 400 ms: a ping every 200 ms.
    let spawned = Instant::now();
    lab.spawn_vrrpd(
        0,
        "vrrpd0",
        &[
            ("RUST_LOG", "debug"),
            ("NOTIFY_SOCKET", sock.as_str()),
            ("WATCHDOG_USEC", "400000"),
        ],
    );
    assert!(
        lab.wait_state(0, "VI_1", "master", Duration::from_secs(10)),
        "{}",
        lab.log("vrrpd0")
    );
    // What was sent since the start is queued in the socket; the pings
    // go on at 200 ms.
    let all = drain(&rx, Duration::from_millis(1100));
    assert!(all.iter().any(|m| m == "READY=1"), "{all:?}");
    assert!(all.iter().any(|m| m == "STATUS=VI_1 master"), "{all:?}");
    let pings = all.iter().filter(|m| *m == "WATCHDOG=1").count();
    let most = usize::try_from(spawned.elapsed().as_millis() / 200).unwrap() + 2;
    assert!(
        (4..=most).contains(&pings),
        "{pings} pings, at most {most}: {all:?}"
    );

    // A live scrape passes promtool's checks too.
    let out = lab.ns_output(
        &lab.hosts[0].ns,
        &[
            "bash",
            "-c",
            "exec 3<>/dev/tcp/127.0.0.1/19651; printf 'GET /metrics HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3",
        ],
    );
    let scrape = String::from_utf8_lossy(&out.stdout).into_owned();
    let body = scrape
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    assert!(body.contains("vrrpd_up 1"), "{scrape}");
    promtool_check(body);

    // A reload that changes the priority: exit 0, a summary, the daemon
    // says RELOADING=1 then READY=1.
    lab.write_vrrpd_toml(0, global, &inst(150));
    let (code, out, err) = lab.vrrpd_cli(0, &["reload"]);
    assert_eq!(code, 0, "{out}{err}\n{}", lab.log("vrrpd0"));
    assert!(out.contains("1 retuned in place"), "{out}");
    let msgs = drain(&rx, Duration::from_millis(300));
    let r = msgs.iter().position(|m| m == "RELOADING=1");
    let y = msgs.iter().rposition(|m| m == "READY=1");
    assert!(matches!((r, y), (Some(r), Some(y)) if r < y), "{msgs:?}");
    let st = lab.instance_status(0, "VI_1").unwrap();
    assert_eq!(st["priority"]["configured"], 150, "{st}");

    // An invalid file: exit 1 with the reason; the old configuration runs on.
    lab.write_vrrpd_toml(0, global, &format!("{}priorty = 3\n", inst(100)));
    let (code, out, err) = lab.vrrpd_cli(0, &["reload"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("priorty"), "{err}");
    let st = lab.instance_status(0, "VI_1").unwrap();
    assert_eq!(st["priority"]["configured"], 150, "{st}");
    assert_eq!(st["state"], "master", "{st}");
    let d = &lab.status_json(0).unwrap()["data"]["daemon"];
    assert_eq!(
        (d["reloads"].as_u64(), d["reload_failures"].as_u64()),
        (Some(1), Some(1)),
        "{d}"
    );

    // A transition sends the new states: maintenance makes it backup.
    drain(&rx, Duration::from_millis(10));
    let (code, _, err) = lab.vrrpd_cli(0, &["maintenance", "VI_1", "on"]);
    assert_eq!(code, 0, "{err}");
    let msgs = drain(&rx, Duration::from_millis(500));
    assert!(msgs.iter().any(|m| m == "STATUS=VI_1 backup"), "{msgs:?}");
    // The history says why.
    let h = &lab.status_json(0).unwrap()["data"]["history"];
    let last = h.as_array().unwrap().last().unwrap();
    assert_eq!(
        (last["from"].as_str(), last["to"].as_str()),
        (Some("master"), Some("backup")),
        "{h}"
    );
    assert_eq!(last["reason"], "maintenance", "{h}");
    assert!(h.as_array().unwrap().len() >= 3, "{h}");
    // The table shows the VIP and the history.
    let (_, table, _) = lab.vrrpd_cli(0, &["status"]);
    assert!(
        table.contains("10.99.0.200/24") && table.contains("maintenance"),
        "{table}"
    );
}
