//! `vrrpd run` with a sync group and tracked objects on one host in a
//! network namespace (the shared lab, tag `rtg`): the group becomes master together and
//! its group hook runs with keepalived's arguments; a tracked interface with
//! weight 0 going down takes the whole group to Fault (addresses removed)
//! and back; maintenance of one member moves the group.
//!
//! Needs root and `ip netns`; skips with a message otherwise.
#![allow(clippy::unwrap_used)]

mod lab;

use std::time::Duration;

use lab::Lab;
use lab::peers::Inst;

/// The daemon's process name in the lab.
const D: &str = "vrrpd0";

#[test]
fn sync_group_moves_together_with_tracking_and_maintenance() {
    if !lab::can_run() {
        eprintln!("skipped: needs root and `ip netns`");
        return;
    }
    let lab = Lab::new("rtg", 1);
    let h0 = &lab.hosts[0];
    let ns = h0.ns.clone();
    // eth1: the tracked interface, a veth pair inside the namespace.
    lab.ns_run(
        &ns,
        &[
            "ip", "link", "add", "eth1", "type", "veth", "peer", "name", "eth1p",
        ],
    );
    for l in ["eth1", "eth1p"] {
        lab.ns_run(&ns, &["ip", "link", "set", l, "up"]);
    }
    let has = |vip: &str| lab.has_cidr(h0, &format!("{vip}/32"));
    let inst = |name: &str, vrid: u8, vip: &str| {
        Inst {
            extra: "garp_master_delay = \"0s\"\ntrack_interfaces = [\"eth1\"]\n".into(),
            ..Inst::v3(name, vrid, 150, vip)
        }
        .toml()
    };
    let body = format!(
        r#"{a}{b}
[[sync_group]]
name = "G"
instances = ["VI_A", "VI_B"]
notify = {hook}
"#,
        a = inst("VI_A", 1, "10.99.10.100"),
        b = inst("VI_B", 2, "10.99.10.101"),
        hook = lab.notify_hook()
    );
    lab.write_vrrpd_toml(0, "", &body);
    lab.spawn_vrrpd(0, D, &[]);

    assert!(
        lab.wait_until(Duration::from_secs(10), || lab.all_in_state(0, "master")
            && has("10.99.10.100")
            && has("10.99.10.101")),
        "group never became master: {:?}\n{}",
        lab.states(0),
        lab.log(D)
    );
    assert!(
        lab.wait_until(Duration::from_secs(3), || lab
            .hook_log()
            .contains("GROUP G MASTER 0")),
        "{}",
        lab.hook_log()
    );

    // Tracked interface (weight 0) down: the group goes to Fault, VIPs go.
    lab.ns_run(&ns, &["ip", "link", "set", "eth1", "down"]);
    assert!(
        lab.wait_until(Duration::from_secs(5), || lab.all_in_state(0, "fault")
            && !has("10.99.10.100")
            && !has("10.99.10.101")),
        "not in fault: {:?}\n{}",
        lab.states(0),
        lab.log(D)
    );
    let v = lab.status_json(0).unwrap();
    let b = &v["data"]["instances"][0]["priority"]["breakdown"][0];
    assert_eq!(
        (&b["name"], &b["kind"], &b["state"], &b["contribution"]),
        (
            &serde_json::json!("eth1"),
            &serde_json::json!("interface"),
            &serde_json::json!("down"),
            &serde_json::json!("fault")
        )
    );
    lab.ns_run(&ns, &["ip", "link", "set", "eth1", "up"]);
    assert!(
        lab.wait_until(Duration::from_secs(10), || lab.all_in_state(0, "master")),
        "did not recover: {:?}\n{}",
        lab.states(0),
        lab.log(D)
    );

    // Maintenance of one member moves the whole group; the CLI says so.
    let (code, out, err) = lab.vrrpd_cli(0, &["maintenance", "VI_A", "on"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("sync group G"), "{out}");
    assert!(
        lab.wait_until(Duration::from_secs(5), || lab.all_in_state(0, "backup")
            && !has("10.99.10.100")
            && !has("10.99.10.101")),
        "maintenance: {:?}\n{}",
        lab.states(0),
        lab.log(D)
    );
    let (code, _, err) = lab.vrrpd_cli(0, &["switchover", "VI_B"]);
    assert_eq!(code, 1, "a group in maintenance cannot hand over");
    assert!(!err.is_empty());
    let (code, _, _) = lab.vrrpd_cli(0, &["maintenance", "VI_A", "off"]);
    assert_eq!(code, 0);
    assert!(
        lab.wait_until(Duration::from_secs(10), || lab.all_in_state(0, "master")),
        "{:?}\n{}",
        lab.states(0),
        lab.log(D)
    );

    lab.signal(D, nix::libc::SIGTERM);
    let exit = lab.wait_exit(D, Duration::from_secs(10));
    assert!(exit.is_some_and(|e| e.success()), "{}", lab.log(D));
    assert!(!has("10.99.10.100") && !has("10.99.10.101"));
    let hooks = lab.hook_log();
    let order: Vec<&str> = hooks.lines().collect();
    assert_eq!(order.first(), Some(&"GROUP G BACKUP 0"), "{hooks}");
    assert!(order.contains(&"GROUP G FAULT 0"), "{hooks}");
    assert_eq!(order.last(), Some(&"GROUP G STOP 0"), "{hooks}");
}
