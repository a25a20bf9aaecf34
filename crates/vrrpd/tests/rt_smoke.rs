//! Smoke test of `vrrpd run` on two hosts in network namespaces (the shared
//! lab, tag `rts`): the higher priority becomes master and holds the VIP, `vrrpd
//! status --json` says so, and after SIGTERM the master exits 0 having
//! removed its VIP while the other host takes it over.
//!
//! Needs root and `ip netns`; skips with a message otherwise.
#![allow(clippy::unwrap_used)]

mod lab;

use std::process::Command;
use std::time::{Duration, Instant};

use lab::Lab;
use lab::peers::{Inst, vrrpd_bin};

const VIP: &str = "10.99.0.200/24";

/// Writes and starts host `i`'s daemon (process `vrrpd{i}`).
fn start(lab: &Lab, i: usize, priority: u8) {
    lab.write_vrrpd_toml(
        i,
        "metrics_listen = \"127.0.0.1:19650\"\n",
        &Inst {
            extra: "garp_master_delay = \"0s\"\n".into(),
            ..Inst::v3("VI_1", 42, priority, VIP)
        }
        .toml(),
    );
    lab.spawn_vrrpd(i, &format!("vrrpd{i}"), &[("RUST_LOG", "debug")]);
}

#[test]
fn master_holds_the_vip_and_hands_it_over_on_sigterm() {
    if !lab::can_run() {
        eprintln!("skipped: needs root and `ip netns`");
        return;
    }
    let t0 = Instant::now();
    let lab = Lab::new("rts", 2);
    let (a, b) = (&lab.hosts[0], &lab.hosts[1]);
    start(&lab, 0, 200);
    start(&lab, 1, 100);

    let ok = lab.wait_until(Duration::from_secs(10), || {
        lab.has_cidr(a, VIP) && lab.state_of(0, "VI_1").as_deref() == Some("master")
    });
    assert!(ok, "a never became master:\n{}", lab.log("vrrpd0"));
    assert!(
        lab.wait_until(Duration::from_secs(5), || lab
            .state_of(1, "VI_1")
            .as_deref()
            == Some("backup")),
        "b is not backup:\n{}",
        lab.log("vrrpd1")
    );
    assert!(!lab.has_cidr(b, VIP));

    // The contract fields.
    let st = lab.status_json(0).unwrap();
    assert_eq!(st["ok"], true);
    let i = &st["data"]["instances"][0];
    assert_eq!(i["name"], "VI_1");
    assert_eq!(i["interface"], "eth0");
    assert_eq!(i["vrid"], 42);
    assert_eq!(i["family"], "ipv4");
    assert_eq!(i["version"], 3);
    assert_eq!(i["priority"]["configured"], 200);
    assert_eq!(i["priority"]["effective"], 200);
    assert!(i["priority"]["breakdown"].is_array());
    assert_eq!(i["master_address"], a.v4.to_string());
    assert!(i["counters"]["adverts_sent"].as_u64().unwrap() > 0);
    assert_eq!(i["last_transition"]["to"], "master");
    assert_eq!(i["maintenance"], false);
    let sb = lab.status_json(1).unwrap();
    assert_eq!(
        sb["data"]["instances"][0]["master_address"],
        a.v4.to_string()
    );
    assert!(
        sb["data"]["instances"][0]["counters"]["adverts_received"]
            .as_u64()
            .unwrap()
            > 0
    );

    // The Prometheus endpoint (inside the namespace) says the same.
    let out = lab.ns_output(
        &a.ns,
        &[
            "bash",
            "-c",
            "exec 3<>/dev/tcp/127.0.0.1/19650; printf 'GET /metrics HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
    assert!(
        text.contains(
            "vrrpd_instance_state{vrrp_instance=\"VI_1\",interface=\"eth0\",vrid=\"42\",family=\"ipv4\",state=\"master\"} 1"
        ),
        "{text}"
    );

    // An unknown instance is refused with exit 1, a dead socket is exit 2.
    let (code, _, err) = lab.vrrpd_cli(0, &["switchover", "nope"]);
    assert_eq!(code, 1);
    assert!(err.contains("unknown instance"));
    let out = Command::new(vrrpd_bin())
        .args(["status", "-s", "/nonexistent/vdd.sock"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));

    // SIGTERM the master: it exits 0 without the VIP; b takes it over.
    lab.signal("vrrpd0", nix::libc::SIGTERM);
    let stopped = Instant::now();
    let exit = lab
        .wait_exit("vrrpd0", Duration::from_secs(10))
        .unwrap_or_else(|| panic!("a did not exit:\n{}", lab.log("vrrpd0")));
    assert!(
        exit.success(),
        "a exited with {exit}:\n{}",
        lab.log("vrrpd0")
    );
    assert!(!lab.has_cidr(a, VIP), "a left its VIP behind");
    assert!(
        lab.wait_until(Duration::from_secs(3), || lab.has_cidr(b, VIP)),
        "b did not take the VIP:\n{}",
        lab.log("vrrpd1")
    );
    assert_eq!(lab.state_of(1, "VI_1").as_deref(), Some("master"));
    eprintln!(
        "stop to exit {:?}; whole test {:?}",
        stopped.elapsed(),
        t0.elapsed()
    );
    assert!(
        lab.log("vrrpd0").contains("switchover"),
        "{}",
        lab.log("vrrpd0")
    );
    if std::env::var_os("VDD_SHOW_LOGS").is_some() {
        eprintln!(
            "--- a ---\n{}\n--- b ---\n{}",
            lab.log("vrrpd0"),
            lab.log("vrrpd1")
        );
    }
}
