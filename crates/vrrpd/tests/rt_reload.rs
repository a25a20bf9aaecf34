//! `vrrpd run` on one host in a network namespace (the shared lab,
//! tags `rtr`, `rti`, `rtp`): SIGHUP
//! reloads by difference (an invalid file changes nothing, an unchanged
//! instance keeps its state and VIP, a new one starts, a removed one
//! releases, a priority or address change is applied in place against a
//! second host, tag `rtt`), notify hooks get keepalived's arguments in
//! order, and
//! SIGTERM with no backup still exits 0 without VIPs.
//!
//! Needs root and `ip netns`; skips with a message otherwise.
#![allow(clippy::unwrap_used)]

mod lab;

use std::time::{Duration, Instant};

use lab::Lab;
use lab::peers::Inst;
use nix::libc::{SIGHUP, SIGTERM};

/// The daemon's process name in the lab.
const D: &str = "vrrpd0";

/// An instance with a notify hook logging to the lab's hook log.
fn instance(lab: &Lab, name: &str, vrid: u8, vip: &str) -> String {
    Inst {
        extra: format!(
            "garp_master_delay = \"0s\"\nnotify = {}\n",
            lab.notify_hook()
        ),
        ..Inst::v3(name, vrid, 150, &format!("{vip}/24"))
    }
    .toml()
}

/// Writes host 0's config with `body` as the instances.
fn write(lab: &Lab, body: &str) {
    lab.write_vrrpd_toml(0, "notify_timeout = \"2s\"", body);
}

/// Writes host 0's config with `body` and starts vrrpd there.
fn start(lab: &Lab, body: &str) {
    write(lab, body);
    lab.spawn_vrrpd(0, D, &[]);
}

/// True if host 0 has `vip`/24.
fn has(lab: &Lab, vip: &str) -> bool {
    lab.has_cidr(&lab.hosts[0], &format!("{vip}/24"))
}

fn reloads(lab: &Lab) -> (u64, u64) {
    let st = lab
        .status_json(0)
        .unwrap_or_else(|| panic!("status failed:\n{}", lab.log(D)));
    let d = &st["data"]["daemon"];
    (
        d["reloads"].as_u64().unwrap(),
        d["reload_failures"].as_u64().unwrap(),
    )
}

/// Sends SIGTERM and asserts a clean exit within 10 s.
fn stop(lab: &Lab) {
    lab.signal(D, SIGTERM);
    let exit = lab.wait_exit(D, Duration::from_secs(10));
    assert!(exit.is_some_and(|e| e.success()), "{}", lab.log(D));
}

#[test]
fn sighup_reloads_by_difference_and_hooks_run_in_order() {
    if !lab::can_run() {
        eprintln!("skipped: needs root and `ip netns`");
        return;
    }
    let h = Lab::new("rtr", 1);
    let vi1 = instance(&h, "VI_1", 1, "10.99.0.200");
    let vi2 = instance(&h, "VI_2", 2, "10.99.0.201");
    start(&h, &vi1);
    assert!(
        h.wait_until(Duration::from_secs(10), || has(&h, "10.99.0.200")
            && h.instance_status(0, "VI_1")
                .is_some_and(|i| i["state"] == "master")),
        "VI_1 never became master:\n{}",
        h.log(D)
    );
    let since = h.instance_status(0, "VI_1").unwrap()["last_transition"].clone();

    // An invalid file: logged, nothing changes.
    std::fs::write(h.vrrpd_config_path(0), "[[instance]]\nname = 1\n").unwrap();
    h.signal(D, SIGHUP);
    assert!(
        h.wait_until(Duration::from_secs(5), || reloads(&h).1 == 1),
        "{}",
        h.log(D)
    );
    assert!(h.log(D).contains("reload refused"), "{}", h.log(D));
    assert_eq!(
        h.instance_status(0, "VI_1").unwrap()["last_transition"],
        since
    );

    // Add VI_2; VI_1 is untouched (same transition, VIP never removed).
    write(&h, &format!("{vi1}{vi2}"));
    h.signal(D, SIGHUP);
    let mut vip_lost = false;
    let ok = h.wait_until(Duration::from_secs(10), || {
        vip_lost |= !has(&h, "10.99.0.200");
        has(&h, "10.99.0.201")
            && h.instance_status(0, "VI_2")
                .is_some_and(|i| i["state"] == "master")
    });
    assert!(ok, "VI_2 never became master:\n{}", h.log(D));
    assert!(!vip_lost, "VI_1's VIP went away during the reload");
    let vi1_now = h.instance_status(0, "VI_1").unwrap();
    assert_eq!(vi1_now["state"], "master");
    assert_eq!(vi1_now["last_transition"], since);
    assert_eq!(reloads(&h), (1, 1));

    // Remove VI_1: it releases its VIP.
    write(&h, &vi2);
    h.signal(D, SIGHUP);
    assert!(
        h.wait_until(Duration::from_secs(5), || !has(&h, "10.99.0.200")),
        "VI_1's VIP stayed:\n{}",
        h.log(D)
    );
    assert!(h.instance_status(0, "VI_1").is_none());
    assert!(has(&h, "10.99.0.201"));

    // SIGTERM without a backup: the hand-over finds nobody, the instance
    // releases anyway and the daemon exits 0.
    let t = Instant::now();
    h.signal(D, SIGTERM);
    let exit = h
        .wait_exit(D, Duration::from_secs(10))
        .unwrap_or_else(|| panic!("did not exit:\n{}", h.log(D)));
    assert!(exit.success(), "{exit}:\n{}", h.log(D));
    let took = t.elapsed();
    assert!(took < Duration::from_secs(5), "stop took {took:?}");
    assert!(!has(&h, "10.99.0.201"));

    // Hooks: keepalived's arguments, in the order of the changes.
    let hooks = std::fs::read_to_string(h.hook_log_path()).unwrap();
    let lines: Vec<&str> = hooks.lines().collect();
    let vi1: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.contains("VI_1"))
        .collect();
    assert_eq!(
        vi1,
        [
            "INSTANCE VI_1 BACKUP 150",
            "INSTANCE VI_1 MASTER 150",
            "INSTANCE VI_1 STOP 150"
        ],
        "{hooks}"
    );
    let vi2: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.contains("VI_2"))
        .collect();
    // The stop's hand-over attempt (no backup answers) runs no hook: only STOP.
    assert_eq!(
        vi2,
        [
            "INSTANCE VI_2 BACKUP 150",
            "INSTANCE VI_2 MASTER 150",
            "INSTANCE VI_2 STOP 150"
        ],
        "{hooks}"
    );
    eprintln!("SIGTERM without backup: exit after {took:?}");
}

#[test]
fn a_recreated_interface_is_followed() {
    if !lab::can_run() {
        eprintln!("skipped: needs root and `ip netns`");
        return;
    }
    let h = Lab::new("rti", 1);
    start(&h, &instance(&h, "VI_1", 1, "10.99.0.200"));
    let ns = h.hosts[0].ns.clone();
    let state = |h: &Lab| {
        h.instance_status(0, "VI_1")
            .map(|i| i["state"].as_str().unwrap_or("").to_owned())
    };
    assert!(
        h.wait_until(Duration::from_secs(10), || has(&h, "10.99.0.200")
            && state(&h).as_deref() == Some("master")),
        "{}",
        h.log(D)
    );
    h.ns_run(&ns, &["ip", "link", "del", "eth0"]);
    assert!(
        h.wait_until(Duration::from_secs(5), || state(&h).as_deref()
            == Some("fault")),
        "not in fault after the interface was deleted:\n{}",
        h.log(D)
    );
    // A new eth0 (a veth pair inside the namespace) with the same address.
    h.ns_run(
        &ns,
        &[
            "ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p",
        ],
    );
    let primary = format!("{}/24", h.hosts[0].v4);
    h.ns_run(&ns, &["ip", "addr", "add", &primary, "dev", "eth0"]);
    for l in ["eth0", "eth0p"] {
        h.ns_run(&ns, &["ip", "link", "set", l, "up"]);
    }
    assert!(
        h.wait_until(Duration::from_secs(10), || has(&h, "10.99.0.200")
            && state(&h).as_deref() == Some("master")),
        "not master again on the new interface: {:?}\n{}",
        state(&h),
        h.log(D)
    );
    assert!(h.log(D).contains("was re-created"), "{}", h.log(D));
    stop(&h);
    assert!(!has(&h, "10.99.0.200"));
}

#[test]
fn a_changed_primary_address_is_followed() {
    if !lab::can_run() {
        eprintln!("skipped: needs root and `ip netns`");
        return;
    }
    let h = Lab::new("rtp", 1);
    let ns = h.hosts[0].ns.clone();
    h.ns_run(
        &ns,
        &["sysctl", "-qw", "net.ipv4.conf.eth0.promote_secondaries=1"],
    );
    start(&h, &instance(&h, "VI_1", 1, "10.99.0.200"));
    let field = |h: &Lab, k: &str| {
        h.instance_status(0, "VI_1")
            .map(|i| i[k].as_str().unwrap_or("").to_owned())
    };
    let first = h.hosts[0].v4.to_string();
    let second = "10.99.0.12";
    assert!(
        h.wait_until(Duration::from_secs(10), || has(&h, "10.99.0.200")
            && field(&h, "state").as_deref() == Some("master")),
        "{}",
        h.log(D)
    );
    assert_eq!(field(&h, "source").as_deref(), Some(first.as_str()));
    // A second address changes nothing; removing the first one makes it
    // the source.
    h.ns_run(
        &ns,
        &["ip", "addr", "add", &format!("{second}/24"), "dev", "eth0"],
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(field(&h, "source").as_deref(), Some(first.as_str()));
    h.ns_run(
        &ns,
        &["ip", "addr", "del", &format!("{first}/24"), "dev", "eth0"],
    );
    assert!(
        h.wait_until(Duration::from_secs(10), || field(&h, "source").as_deref()
            == Some(second)
            && field(&h, "state").as_deref() == Some("master")
            && has(&h, "10.99.0.200")),
        "{:?} {:?}\n{}",
        field(&h, "source"),
        field(&h, "state"),
        h.log(D)
    );
    stop(&h);
    assert!(!has(&h, "10.99.0.200"));
    // Exactly one restart: no loop on the address events it causes.
    assert_eq!(
        h.log(D).matches("the interface's address changed").count(),
        1,
        "{}",
        h.log(D)
    );
    if std::env::var_os("VDD_SHOW_LOGS").is_some() {
        eprintln!("{}", h.log(D));
    }
}

/// Host 0's VI_1 at `priority` with `vips`, notify hook to the lab's log.
fn vi1(lab: &Lab, priority: u8, vips: &[&str]) -> String {
    Inst {
        vips: vips.iter().map(|v| format!("{v}/24")).collect(),
        extra: format!(
            "garp_master_delay = \"0s\"\nnotify = {}\n",
            lab.notify_hook()
        ),
        ..Inst::v3("VI_1", 1, priority, "unused")
    }
    .toml()
}

/// VI_1's state on `host`, empty while the daemon does not answer yet.
fn state(lab: &Lab, host: usize) -> String {
    lab.status_json(host)
        .and_then(|s| {
            s["data"]["instances"]
                .as_array()?
                .iter()
                .find(|i| i["name"] == "VI_1")
                .and_then(|i| i["state"].as_str().map(str::to_owned))
        })
        .unwrap_or_default()
}

#[test]
fn sighup_retunes_priority_and_addresses_without_a_restart() {
    if !lab::can_run() {
        eprintln!("skipped: needs root and `ip netns`");
        return;
    }
    let h = Lab::new("rtt", 2);
    let (a, b) = ("10.99.0.200", "10.99.0.202");
    start(&h, &vi1(&h, 150, &[a]));
    h.write_vrrpd_toml(1, "", &Inst::v3("VI_1", 1, 100, &format!("{a}/24")).toml());
    h.spawn_vrrpd(1, "vrrpd1", &[]);
    assert!(
        h.wait_until(Duration::from_secs(10), || state(&h, 0) == "master"
            && state(&h, 1) == "backup"
            && has(&h, a)),
        "no master/backup pair:\n{}",
        h.logs()
    );
    let reload = |body: &str, n: u64| {
        write(&h, body);
        h.signal(D, SIGHUP);
        assert!(
            h.wait_until(Duration::from_secs(5), || reloads(&h) == (n, 0)),
            "reload {n} not applied:\n{}",
            h.log(D)
        );
    };

    // Priority below the peer's: the peer preempts (RFC 9568 §6.4.3), and
    // host 0 follows to Backup without going through Initialize.
    reload(&vi1(&h, 50, &[a]), 1);
    assert!(
        h.wait_until(Duration::from_secs(5), || state(&h, 1) == "master"
            && state(&h, 0) == "backup"
            && !has(&h, a)),
        "the peer did not take over:\n{}",
        h.logs()
    );
    let st = h.instance_status(0, "VI_1").unwrap();
    assert_eq!(st["priority"]["configured"], 50);
    assert_eq!(st["priority"]["effective"], 50);
    assert!(h.log(D).contains("1 retuned in place"), "{}", h.log(D));

    // Back above it: host 0 preempts again.
    reload(&vi1(&h, 150, &[a]), 2);
    assert!(
        h.wait_until(Duration::from_secs(5), || state(&h, 0) == "master"
            && state(&h, 1) == "backup"
            && has(&h, a)),
        "host 0 did not preempt back:\n{}",
        h.logs()
    );
    let since = h.instance_status(0, "VI_1").unwrap()["last_transition"].clone();

    // A second address: added with its prefix, the first never leaves.
    write(&h, &vi1(&h, 150, &[a, b]));
    h.signal(D, SIGHUP);
    let mut lost = false;
    let ok = h.wait_until(Duration::from_secs(5), || {
        lost |= !has(&h, a);
        reloads(&h) == (3, 0) && has(&h, b)
    });
    assert!(ok, "{b} not added:\n{}", h.log(D));
    assert!(!lost, "{a} went away while {b} was added");
    // The first dropped: removed from the kernel with its /24.
    reload(&vi1(&h, 150, &[b]), 4);
    assert!(
        h.wait_until(Duration::from_secs(5), || !has(&h, a)),
        "{a} stayed:\n{}",
        h.addrs(&h.hosts[0])
    );
    assert!(has(&h, b));
    let st = h.instance_status(0, "VI_1").unwrap();
    assert_eq!(st["state"], "master");
    assert_eq!(st["last_transition"], since);
    assert_eq!(st["vips"], serde_json::json!([format!("{b}/24")]));

    stop(&h);
    // No restart in between: no STOP until the real one, and each state
    // change once.
    let hooks = std::fs::read_to_string(h.hook_log_path()).unwrap();
    let lines: Vec<&str> = hooks.lines().collect();
    assert_eq!(
        lines,
        [
            "INSTANCE VI_1 BACKUP 150",
            "INSTANCE VI_1 MASTER 150",
            "INSTANCE VI_1 BACKUP 50",
            "INSTANCE VI_1 MASTER 150",
            "INSTANCE VI_1 STOP 150"
        ],
        "{hooks}"
    );
}

#[test]
fn a_reload_updates_the_accept_false_filter_in_one_step() {
    if !lab::can_run() {
        eprintln!("skipped: needs root and `ip netns`");
        return;
    }
    let h = Lab::new("rtn", 1);
    let open = instance(&h, "VI_1", 1, "10.99.0.200");
    let closed = |vip: &str| {
        Inst {
            extra: "accept = false\n".into(),
            ..Inst::v3("VI_2", 2, 150, &format!("{vip}/24"))
        }
        .toml()
    };
    let set = |h: &Lab| {
        let out = h.ns_output(
            &h.hosts[0].ns,
            &["nft", "list", "set", "inet", "vrrpd", "vips4"],
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    start(&h, &open);
    assert!(
        h.wait_until(Duration::from_secs(10), || has(&h, "10.99.0.200")),
        "{}",
        h.log(D)
    );
    // Accept_Mode True only: no table.
    assert!(!set(&h).contains("10.99"), "{}", set(&h));

    // An instance with accept = false arrives: its VIP is filtered, the
    // other instance's is not.
    write(&h, &format!("{open}{}", closed("10.99.0.201")));
    h.signal(D, SIGHUP);
    assert!(
        h.wait_until(Duration::from_secs(5), || reloads(&h) == (1, 0)
            && has(&h, "10.99.0.201")),
        "{}",
        h.log(D)
    );
    let s = set(&h);
    assert!(
        s.contains("10.99.0.201") && !s.contains("10.99.0.200"),
        "{s}"
    );

    // Its address changes: the filter holds exactly the new one.
    write(&h, &format!("{open}{}", closed("10.99.0.202")));
    h.signal(D, SIGHUP);
    assert!(
        h.wait_until(Duration::from_secs(5), || reloads(&h) == (2, 0)
            && has(&h, "10.99.0.202")
            && !has(&h, "10.99.0.201")),
        "{}",
        h.log(D)
    );
    let s = set(&h);
    assert!(
        s.contains("10.99.0.202") && !s.contains("10.99.0.201"),
        "{s}"
    );

    // Gone again: nothing filtered.
    write(&h, &open);
    h.signal(D, SIGHUP);
    assert!(
        h.wait_until(Duration::from_secs(5), || reloads(&h) == (3, 0)),
        "{}",
        h.log(D)
    );
    assert!(!set(&h).contains("10.99.0.20"), "{}", set(&h));
    stop(&h);
}

#[test]
fn a_reload_moves_the_vips_off_and_onto_a_virtual_mac() {
    if !lab::can_run() {
        eprintln!("skipped: needs root and `ip netns`");
        return;
    }
    let h = Lab::new("rtv", 1);
    let plain = instance(&h, "VI_1", 1, "10.99.0.200");
    let vmac = format!("{}\nuse_vmac = true\n\n", plain.trim_end());
    let on_vmac = |h: &Lab| {
        let out = h.ns_output(
            &h.hosts[0].ns,
            &["ip", "-o", "addr", "show", "dev", "vrrp.1"],
        );
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).contains("10.99.0.200"))
    };
    start(&h, &vmac);
    assert!(
        h.wait_until(Duration::from_secs(10), || on_vmac(&h) == Some(true)),
        "{}",
        h.log(D)
    );
    assert!(!has(&h, "10.99.0.200"));

    let arp_ignore = |h: &Lab| {
        let out = h.ns_output(
            &h.hosts[0].ns,
            &["cat", "/proc/sys/net/ipv4/conf/eth0/arp_ignore"],
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    assert_eq!(arp_ignore(&h), "1");

    // use_vmac off: the instance restarts on eth0, the macvlan goes, and
    // eth0 gets its ARP settings back.
    write(&h, &plain);
    h.signal(D, SIGHUP);
    assert!(
        h.wait_until(Duration::from_secs(5), || reloads(&h) == (1, 0)
            && has(&h, "10.99.0.200")
            && on_vmac(&h).is_none()),
        "{}",
        h.log(D)
    );
    assert_eq!(arp_ignore(&h), "0");
    // And on again.
    write(&h, &vmac);
    h.signal(D, SIGHUP);
    assert!(
        h.wait_until(Duration::from_secs(5), || reloads(&h) == (2, 0)
            && on_vmac(&h) == Some(true)
            && !has(&h, "10.99.0.200")),
        "{}",
        h.log(D)
    );
    assert_eq!(arp_ignore(&h), "1");
    stop(&h);
    assert_eq!(on_vmac(&h), None, "macvlan left after stop");
    assert_eq!(arp_ignore(&h), "0");
}

#[test]
fn a_deleted_virtual_mac_interface_is_recreated_with_its_vips() {
    if !lab::can_run() {
        eprintln!("skipped: needs root and `ip netns`");
        return;
    }
    let h = Lab::new("rtd", 1);
    let plain = instance(&h, "VI_1", 1, "10.99.0.200");
    start(&h, &format!("{}\nuse_vmac = true\n\n", plain.trim_end()));
    let on_vmac = |h: &Lab| {
        let out = h.ns_output(
            &h.hosts[0].ns,
            &["ip", "-o", "addr", "show", "dev", "vrrp.1"],
        );
        String::from_utf8_lossy(&out.stdout).contains("10.99.0.200/24")
    };
    assert!(
        h.wait_until(Duration::from_secs(10), || on_vmac(&h)),
        "{}",
        h.log(D)
    );
    let ns = h.hosts[0].ns.clone();
    h.ns_run(&ns, &["ip", "link", "del", "vrrp.1"]);
    assert!(
        h.wait_until(Duration::from_secs(5), || on_vmac(&h)),
        "vrrp.1 and its VIP did not come back:\n{}",
        h.log(D)
    );
    let st = h.instance_status(0, "VI_1").unwrap();
    assert_eq!(st["state"], "master");
    assert!(
        st["counters"]["addresses_restored"].as_u64().unwrap() >= 1,
        "{st}"
    );
    let link = h.ns_output(&ns, &["ip", "-d", "link", "show", "vrrp.1"]);
    assert!(String::from_utf8_lossy(&link.stdout).contains("00:00:5e:00:01:01"));
    assert!(!h.log(D).contains("cannot add"), "{}", h.log(D));
    stop(&h);
}

#[test]
fn an_address_on_another_interface_follows_the_instance() {
    if !lab::can_run() {
        eprintln!("skipped: needs root and `ip netns`");
        return;
    }
    let h = Lab::new("rto", 1);
    let ns = h.hosts[0].ns.clone();
    let body = Inst {
        vips: vec!["10.99.0.200/24".into()],
        extra: "garp_master_delay = \"0s\"\n".into(),
        ..Inst::v3("VI_1", 1, 150, "unused")
    }
    .toml()
    .replace(
        "virtual_addresses = [\"10.99.0.200/24\"]",
        "virtual_addresses = [\"10.99.0.200/24\", { address = \"198.51.100.1/24\", interface = \"ext0\" }]",
    );
    // A missing interface stops start-up, naming it, before any change.
    write(&h, &body);
    let cfg = h.vrrpd_config_path(0).display().to_string();
    let out = h.ns_output(&ns, &[lab::peers::vrrpd_bin(), "run", "-c", &cfg]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("\"ext0\""), "{err}");
    assert!(!has(&h, "10.99.0.200"));

    h.ns_run(
        &ns,
        &[
            "ip", "link", "add", "ext0", "type", "veth", "peer", "name", "ext1",
        ],
    );
    h.ns_run(&ns, &["ip", "link", "set", "ext0", "up"]);
    h.ns_run(&ns, &["ip", "link", "set", "ext1", "up"]);
    let on_ext0 = |h: &Lab| {
        let out = h.ns_output(&ns, &["ip", "-o", "addr", "show", "dev", "ext0"]);
        String::from_utf8_lossy(&out.stdout).contains("198.51.100.1/24")
    };
    h.spawn_vrrpd(0, D, &[]);
    assert!(
        h.wait_until(Duration::from_secs(10), || on_ext0(&h)
            && has(&h, "10.99.0.200")),
        "{}",
        h.log(D)
    );
    // Removed by hand while master: put back on its own interface.
    h.ns_run(
        &ns,
        &["ip", "addr", "del", "198.51.100.1/24", "dev", "ext0"],
    );
    assert!(
        h.wait_until(Duration::from_secs(5), || on_ext0(&h)),
        "not restored:\n{}",
        h.log(D)
    );
    let st = h.instance_status(0, "VI_1").unwrap();
    assert!(
        st["counters"]["addresses_restored"].as_u64().unwrap() >= 1,
        "{st}"
    );
    // A stop removes both.
    stop(&h);
    assert!(!on_ext0(&h) && !has(&h, "10.99.0.200"));
}

#[test]
fn a_reload_swaps_virtual_routes_in_place() {
    if !lab::can_run() {
        eprintln!("skipped: needs root and `ip netns`");
        return;
    }
    let h = Lab::new("rtw", 1);
    let with = |to: &str| {
        format!(
            "{}\nvirtual_routes = [{{ to = \"{to}\", via = \"10.99.0.254\" }}]\n\n",
            instance(&h, "VI_1", 1, "10.99.0.200").trim_end()
        )
    };
    let routes = |h: &Lab| {
        let out = h.ns_output(&h.hosts[0].ns, &["ip", "route", "show"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    start(&h, &with("198.51.100.0/24"));
    assert!(
        h.wait_until(Duration::from_secs(10), || routes(&h)
            .contains("198.51.100.0/24 via 10.99.0.254")),
        "{}",
        h.log(D)
    );
    let since = h.instance_status(0, "VI_1").unwrap()["last_transition"].clone();
    write(&h, &with("203.0.113.0/24"));
    h.signal(D, SIGHUP);
    assert!(
        h.wait_until(Duration::from_secs(5), || reloads(&h) == (1, 0)
            && routes(&h).contains("203.0.113.0/24 via 10.99.0.254")
            && !routes(&h).contains("198.51.100.0/24")),
        "{}\n{}",
        routes(&h),
        h.log(D)
    );
    assert!(h.log(D).contains("1 retuned in place"), "{}", h.log(D));
    assert_eq!(
        h.instance_status(0, "VI_1").unwrap()["last_transition"],
        since
    );
    stop(&h);
    assert!(!routes(&h).contains("203.0.113.0/24"), "{}", routes(&h));
}
