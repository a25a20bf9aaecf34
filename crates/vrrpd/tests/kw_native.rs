//! keepalived keywords as native vrrpd features, end to end in namespaces:
//! `multicast_source` (`mcast_src_ip`), `virtual_addresses_excluded`,
//! `track_own_interface = false` (`dont_track_primary`), `notify_fifo` and
//! `startup_delay` (`vrrp_startup_delay`), `static_addresses` and
//! `static_routes` (`static_ipaddress`, `static_routes`).
#![allow(clippy::unwrap_used)]

mod lab;

use std::fs::OpenOptions;
use std::io::Read;
use std::net::IpAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::time::{Duration, Instant};

use lab::Lab;

const VIP: &str = "10.99.0.210";
const EXCLUDED: &str = "10.99.5.1";
const SOURCE: &str = "10.99.0.50";

fn instance(prio: u8, extra: &str) -> String {
    format!(
        "[[instance]]\nname = \"VI_1\"\ninterface = \"eth0\"\nvrid = 61\nversion = 3\npriority = {prio}\nadvert_interval = \"100ms\"\nvirtual_addresses = [\"{VIP}/24\"]\n{extra}\n"
    )
}

/// A reader of the notify FIFO at `path` that never blocks.
fn open_fifo(path: &std::path::Path) -> std::fs::File {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .unwrap()
}

/// Waits up to 5 s for host 0 to hold `vip`.
fn wait_master(lab: &Lab, vip: IpAddr) {
    assert!(
        lab.wait_until(Duration::from_secs(5), || lab.has_addr(&lab.hosts[0], vip)),
        "never master:\n{}",
        lab.logs()
    );
}

#[test]
fn native_keepalived_features_work_on_the_wire() {
    if !lab::can_run() {
        return;
    }
    let lab = Lab::new("kwn", 2);
    let (vip, excluded): (IpAddr, IpAddr) = (VIP.parse().unwrap(), EXCLUDED.parse().unwrap());
    // Host 0 sends its adverts from a secondary address.
    lab.ns_run(
        &lab.hosts[0].ns,
        &["ip", "addr", "add", &format!("{SOURCE}/24"), "dev", "eth0"],
    );
    let fifo = lab.dir.path().join("notify.fifo");
    let global = format!(
        "notify_fifo = \"{}\"\nstartup_delay = \"2s\"\nstatic_addresses = [{{ address = \"10.99.7.1/24\", interface = \"eth0\" }}]\nstatic_routes = [{{ to = \"10.99.8.0/24\", via = \"10.99.0.1\" }}]\nstatic_rules = [{{ from = \"10.99.9.0/24\", table = 90, priority = 900 }}]\n",
        fifo.display()
    );
    let extra = format!(
        "virtual_addresses_excluded = [\"{EXCLUDED}/24\"]\nmulticast_source = \"{SOURCE}\"\ntrack_own_interface = false\nvirtual_rules = [{{ to = \"10.99.6.0/24\", table = 60, priority = 600 }}]\n"
    );
    lab.write_vrrpd_toml(0, &global, &instance(200, &extra));
    lab.write_vrrpd_toml(1, "", &instance(100, ""));
    let t0 = Instant::now();
    lab.spawn_vrrpd(0, "vrrpd0", &[("RUST_LOG", "debug")]);
    lab.spawn_vrrpd(1, "vrrpd1", &[("RUST_LOG", "debug")]);
    // Host 1 becomes master first: host 0 waits out its start-up delay.
    assert!(
        lab.wait_until(Duration::from_secs(3), || lab.has_addr(&lab.hosts[1], vip)),
        "host 1 never took the VIP:\n{}",
        lab.logs()
    );
    assert!(
        lab.wait_until(Duration::from_secs(6), || lab.has_addr(&lab.hosts[0], vip)
            && !lab.has_addr(&lab.hosts[1], vip)),
        "host 0 never preempted:\n{}",
        lab.logs()
    );
    assert!(
        t0.elapsed() >= Duration::from_secs(2),
        "host 0 started before its start-up delay"
    );
    // Static address and route: there while the daemon runs.
    assert!(
        lab.has_cidr(&lab.hosts[0], "10.99.7.1/24"),
        "{}",
        lab.addrs(&lab.hosts[0])
    );
    let routes = |lab: &Lab| {
        String::from_utf8_lossy(&lab.ns_run(&lab.hosts[0].ns, &["ip", "route"]).stdout).into_owned()
    };
    assert!(
        routes(&lab).contains("10.99.8.0/24 via 10.99.0.1"),
        "{}",
        routes(&lab)
    );
    // Rules: the static one always, the virtual one on the master only.
    let rules = |lab: &Lab, i: usize| {
        String::from_utf8_lossy(&lab.ns_run(&lab.hosts[i].ns, &["ip", "rule"]).stdout).into_owned()
    };
    assert!(
        rules(&lab, 0).contains("900:\tfrom 10.99.9.0/24 lookup 90"),
        "{}",
        rules(&lab, 0)
    );
    assert!(
        rules(&lab, 0).contains("600:\tfrom all to 10.99.6.0/24 lookup 60"),
        "{}",
        rules(&lab, 0)
    );
    // The excluded address goes with the instance, and only to the master.
    assert!(
        lab.has_addr(&lab.hosts[0], excluded),
        "{}",
        lab.addrs(&lab.hosts[0])
    );
    assert!(!lab.has_addr(&lab.hosts[1], excluded));
    // The backup hears host 0's adverts from the configured source, and
    // they do not carry the excluded address (no address-list mismatch).
    let st = lab.instance_status(1, "VI_1").unwrap();
    assert_eq!(st["master_address"], SOURCE, "{st}");
    assert_eq!(st["state"], "backup", "{st}");
    // The FIFO got keepalived's lines: Backup at start, then Master.
    let mut r = open_fifo(&fifo);
    let mut lines = String::new();
    let _ = r.read_to_string(&mut lines);
    assert!(
        lines.contains("INSTANCE \"VI_1\" BACKUP 200\n")
            && lines.contains("INSTANCE \"VI_1\" MASTER 200\n"),
        "{lines:?}"
    );
    // dont_track_primary: host 0's link going down is no Fault; it keeps
    // its state and its addresses.
    lab.set_link(&lab.hosts[0], false);
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(lab.state_of(0, "VI_1").as_deref(), Some("master"));
    assert!(lab.has_addr(&lab.hosts[0], vip));
    lab.set_link(&lab.hosts[0], true);
    // Stopping removes both addresses and the FIFO vrrpd made.
    lab.signal("vrrpd0", 15);
    assert!(lab.wait_exit("vrrpd0", Duration::from_secs(10)).is_some());
    assert!(!lab.has_addr(&lab.hosts[0], vip));
    assert!(!lab.has_addr(&lab.hosts[0], excluded));
    let mut tail = String::new();
    let _ = r.read_to_string(&mut tail);
    assert!(tail.contains("INSTANCE \"VI_1\" STOP"), "{tail:?}");
    assert!(!fifo.exists());
    // keepalived removes its static addresses, routes and rules at exit;
    // the virtual rule left with the addresses.
    assert!(!rules(&lab, 0).contains("lookup 90"), "{}", rules(&lab, 0));
    assert!(!rules(&lab, 0).contains("lookup 60"), "{}", rules(&lab, 0));
    assert!(!lab.has_cidr(&lab.hosts[0], "10.99.7.1/24"));
    assert!(!routes(&lab).contains("10.99.8.0/24"), "{}", routes(&lab));
}

/// keepalived's `vrrp_track_process`: a process check with weight 0 puts
/// the instance in Fault when the process goes, and back when it returns.
#[test]
fn a_process_check_follows_the_process() {
    if !lab::can_run() {
        return;
    }
    let lab = Lab::new("kwp", 1);
    let vip: IpAddr = VIP.parse().unwrap();
    let ns = lab.hosts[0].ns.clone();
    lab.spawn(&ns, "sleeper", &["/bin/sleep", "4242"]);
    let body = format!(
        "[[check]]\nname = \"sleeper\"\ntype = \"process\"\nprocess = \"/bin/sleep\"\nargs = [\"4242\"]\ninterval = \"200ms\"\n\n{}track_checks = [\"sleeper\"]\n",
        instance(200, "")
    );
    lab.write_vrrpd_toml(0, "", &body);
    lab.spawn_vrrpd(0, "vrrpd0", &[("RUST_LOG", "debug")]);
    wait_master(&lab, vip);
    lab.signal("sleeper", 9);
    assert!(
        lab.wait_until(Duration::from_secs(3), || !lab.has_addr(&lab.hosts[0], vip)),
        "the VIP stayed after the process went:\n{}",
        lab.logs()
    );
    assert_eq!(lab.state_of(0, "VI_1").as_deref(), Some("fault"));
    lab.spawn(&ns, "sleeper2", &["/bin/sleep", "4242"]);
    assert!(
        lab.wait_until(Duration::from_secs(5), || lab.has_addr(&lab.hosts[0], vip)),
        "not master again after the process came back:\n{}",
        lab.logs()
    );
}

/// keepalived's `notify_priority_changes` and
/// `fifo_write_vrrp_states_on_reload`: the FIFO gets `MASTER_PRIORITY`
/// lines when a tracked check moves the effective priority, and the
/// current state of an instance a reload left alone.
#[test]
fn the_fifo_gets_priority_changes_and_states_on_reload() {
    if !lab::can_run() {
        return;
    }
    let lab = Lab::new("kwf", 1);
    let vip: IpAddr = VIP.parse().unwrap();
    let fifo = lab.dir.path().join("notify.fifo");
    let drain = lab.dir.path().join("drain");
    std::fs::write(&drain, "0\n").unwrap();
    let global = format!(
        "notify_fifo = \"{}\"\nnotify_priority_changes = true\nfifo_write_states_on_reload = true\n",
        fifo.display()
    );
    let body = format!(
        "[[check]]\nname = \"drain\"\ntype = \"file\"\npath = \"{}\"\nweight = -1\ninterval = \"100ms\"\n\n{}track_checks = [\"drain\"]\n",
        drain.display(),
        instance(200, "")
    );
    lab.write_vrrpd_toml(0, &global, &body);
    lab.spawn_vrrpd(0, "vrrpd0", &[("RUST_LOG", "debug")]);
    wait_master(&lab, vip);
    let mut r = open_fifo(&fifo);
    let mut lines = String::new();
    let mut read_until = |want: &str| {
        lab.wait_until(Duration::from_secs(5), || {
            let _ = r.read_to_string(&mut lines);
            lines.contains(want)
        })
    };
    assert!(
        read_until("INSTANCE \"VI_1\" MASTER 200\n"),
        "{}",
        lab.logs()
    );
    // The file check takes 50 off: a priority line, in the Master state.
    std::fs::write(&drain, "50\n").unwrap();
    assert!(
        read_until("INSTANCE \"VI_1\" MASTER_PRIORITY 150\n"),
        "no priority line:\n{}",
        lab.logs()
    );
    std::fs::write(&drain, "0\n").unwrap();
    assert!(
        read_until("INSTANCE \"VI_1\" MASTER_PRIORITY 200\n"),
        "{}",
        lab.logs()
    );
    // A reload that changes nothing writes the state again.
    let before = lines.matches("INSTANCE \"VI_1\" MASTER 200\n").count();
    lab.signal("vrrpd0", 1);
    assert!(
        lab.wait_until(Duration::from_secs(5), || {
            let _ = r.read_to_string(&mut lines);
            lines.matches("INSTANCE \"VI_1\" MASTER 200\n").count() > before
        }),
        "no state line after the reload: {lines:?}\n{}",
        lab.logs()
    );
    assert_eq!(lab.state_of(0, "VI_1").as_deref(), Some("master"));
    assert!(
        !lines.contains("BACKUP_PRIORITY"),
        "the instance was master throughout: {lines:?}"
    );
    lab.signal("vrrpd0", 15);
    assert!(lab.wait_exit("vrrpd0", Duration::from_secs(10)).is_some());
}

/// keepalived's split-brain report: host 1 stops hearing host 0 (an
/// nftables rule drops VRRP on its input) and becomes master too; host 0,
/// still master, hears its lower-priority adverts, writes
/// `MASTER_RX_LOWER_PRI` to its FIFO and runs `notify_master_rx_lower_pri`.
/// When the rule goes, host 1 hears host 0 again and steps down.
#[test]
fn a_master_that_hears_a_lower_master_reports_it() {
    if !lab::can_run() {
        return;
    }
    if std::process::Command::new("nft")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIP: nft not found (scripts/setup.sh installs nftables)");
        return;
    }
    let lab = Lab::new("kwl", 2);
    let vip: IpAddr = VIP.parse().unwrap();
    let fifo = lab.dir.path().join("notify.fifo");
    let flag = lab.dir.path().join("heard");
    let hook = lab.dir.path().join("heard.sh");
    std::fs::write(
        &hook,
        format!("#!/bin/sh\necho heard >> {}\n", flag.display()),
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let global = format!("notify_fifo = \"{}\"\n", fifo.display());
    let extra = format!("notify_master_rx_lower_pri = \"{}\"\n", hook.display());
    lab.write_vrrpd_toml(0, &global, &instance(200, &extra));
    lab.write_vrrpd_toml(1, "", &instance(100, ""));
    lab.spawn_vrrpd(0, "vrrpd0", &[("RUST_LOG", "debug")]);
    assert!(
        lab.wait_until(Duration::from_secs(5), || lab.has_addr(&lab.hosts[0], vip)),
        "host 0 never master:\n{}",
        lab.logs()
    );
    lab.spawn_vrrpd(1, "vrrpd1", &[("RUST_LOG", "debug")]);
    assert!(
        lab.wait_until(Duration::from_secs(5), || lab
            .state_of(1, "VI_1")
            .as_deref()
            == Some("backup")),
        "{}",
        lab.logs()
    );
    assert!(!flag.exists(), "nothing to report yet");
    let ns1 = lab.hosts[1].ns.clone();
    for args in [
        &["nft", "add", "table", "inet", "kwl"][..],
        &[
            "nft",
            "add",
            "chain",
            "inet",
            "kwl",
            "in",
            "{ type filter hook input priority 0 ; }",
        ],
        &[
            "nft", "add", "rule", "inet", "kwl", "in", "ip", "protocol", "112", "drop",
        ],
    ] {
        lab.ns_run(&ns1, args);
    }
    assert!(
        lab.wait_until(Duration::from_secs(5), || flag.exists()),
        "no notify_master_rx_lower_pri:\n{}",
        lab.logs()
    );
    let mut r = open_fifo(&fifo);
    let mut lines = String::new();
    let _ = r.read_to_string(&mut lines);
    assert!(
        lines.contains("INSTANCE \"VI_1\" MASTER_RX_LOWER_PRI 200\n"),
        "{lines:?}"
    );
    assert_eq!(lab.state_of(0, "VI_1").as_deref(), Some("master"));
    lab.ns_run(&ns1, &["nft", "delete", "table", "inet", "kwl"]);
    assert!(
        lab.wait_until(Duration::from_secs(5), || lab
            .state_of(1, "VI_1")
            .as_deref()
            == Some("backup")
            && !lab.has_addr(&lab.hosts[1], vip)),
        "host 1 did not step down:\n{}",
        lab.logs()
    );
    assert!(lab.has_addr(&lab.hosts[0], vip));
}

/// keepalived's `promote_secondaries`: a virtual address that is the first
/// of its subnet on the interface is that subnet's primary, and Linux
/// removes the subnet's other addresses with it, unless the interface
/// promotes secondaries. Shown without the key, then with it (the setting
/// is given back at exit).
#[test]
fn promote_secondaries_keeps_the_other_addresses_of_a_vip_s_subnet() {
    if !lab::can_run() {
        return;
    }
    let lab = Lab::new("kws", 1);
    let ns = lab.hosts[0].ns.clone();
    let vip: IpAddr = "10.99.5.10".parse().unwrap();
    let other = "10.99.5.20/24";
    let knob = || {
        String::from_utf8_lossy(
            &lab.ns_run(
                &ns,
                &["cat", "/proc/sys/net/ipv4/conf/eth0/promote_secondaries"],
            )
            .stdout,
        )
        .trim()
        .to_owned()
    };
    assert_eq!(knob(), "0");
    // One run of vrrpd with `extra`: master, then a second address of the
    // VIP's subnet by hand, then stop. Whether that address survived.
    let run = |name: &str, extra: &str| {
        let body = format!(
            "[[instance]]\nname = \"VI_1\"\ninterface = \"eth0\"\nvrid = 62\nversion = 3\npriority = 200\nadvert_interval = \"100ms\"\nvirtual_addresses = [\"{vip}/24\"]\n{extra}\n"
        );
        lab.write_vrrpd_toml(0, "", &body);
        lab.spawn_vrrpd(0, name, &[("RUST_LOG", "debug")]);
        wait_master(&lab, vip);
        let during = knob();
        lab.ns_run(&ns, &["ip", "addr", "add", other, "dev", "eth0"]);
        lab.signal(name, 15);
        assert!(lab.wait_exit(name, Duration::from_secs(10)).is_some());
        assert!(!lab.has_addr(&lab.hosts[0], vip));
        let kept = lab.has_cidr(&lab.hosts[0], other);
        if kept {
            lab.ns_run(&ns, &["ip", "addr", "del", other, "dev", "eth0"]);
        }
        (during, kept)
    };
    assert_eq!(
        run("vrrpd0", ""),
        ("0".to_owned(), false),
        "the kernel's default"
    );
    assert_eq!(
        run("vrrpd1", "promote_secondaries = true"),
        ("1".to_owned(), true)
    );
    assert_eq!(knob(), "0", "given back at exit");
}

/// keepalived's `track_src_ip`: the instance is in Fault while its fixed
/// source address is off the interface, and comes back with it.
#[test]
fn track_source_faults_while_the_source_address_is_gone() {
    if !lab::can_run() {
        return;
    }
    let lab = Lab::new("kwt", 1);
    let ns = lab.hosts[0].ns.clone();
    let vip: IpAddr = VIP.parse().unwrap();
    let src = "10.99.0.60";
    lab.ns_run(
        &ns,
        &["ip", "addr", "add", &format!("{src}/24"), "dev", "eth0"],
    );
    let extra = format!("multicast_source = \"{src}\"\ntrack_source = true\n");
    lab.write_vrrpd_toml(0, "", &instance(200, &extra));
    lab.spawn_vrrpd(0, "vrrpd0", &[("RUST_LOG", "debug")]);
    let state = || lab.state_of(0, "VI_1");
    wait_master(&lab, vip);
    lab.ns_run(
        &ns,
        &["ip", "addr", "del", &format!("{src}/24"), "dev", "eth0"],
    );
    assert!(
        lab.wait_until(Duration::from_secs(3), || state().as_deref()
            == Some("fault")),
        "no fault without the source: {:?}\n{}",
        state(),
        lab.logs()
    );
    assert!(!lab.has_addr(&lab.hosts[0], vip));
    let st = lab.instance_status(0, "VI_1").unwrap();
    assert!(st.to_string().contains("source_missing"), "{st}");
    lab.ns_run(
        &ns,
        &["ip", "addr", "add", &format!("{src}/24"), "dev", "eth0"],
    );
    assert!(
        lab.wait_until(Duration::from_secs(5), || lab.has_addr(&lab.hosts[0], vip)),
        "not master again with the source back: {:?}\n{}",
        state(),
        lab.logs()
    );
    assert_eq!(state().as_deref(), Some("master"));
}
