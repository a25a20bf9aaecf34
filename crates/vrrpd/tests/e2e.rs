//! End-to-end: vrrpd hosts and a client in network namespaces on one bridge.
//! Every test drives the real binary (`vrrpd run`, `vrrpd status --json`,
//! signals, link state) and measures what the client sees.
//!
//! Timing bounds follow RFC 9568 §6.1 for a 100 ms advertisement interval:
//! Master_Down_Interval = 3 × 100 ms + Skew_Time, where Skew_Time =
//! (256 − priority) × 100 ms / 256 (61 ms at priority 100). The client
//! sends one datagram per millisecond, so "lost" counts milliseconds.
#![allow(clippy::unwrap_used)]

mod lab;

use std::net::IpAddr;
use std::time::Duration;

use lab::Lab;
use lab::peers::Inst;

const VIP4: &str = "10.99.0.200";
const VIP6: &str = "fd00:99::200";
const T: Duration = Duration::from_secs(10);

fn vip4() -> IpAddr {
    VIP4.parse().unwrap()
}

/// Two hosts, host 0 at priority `p0`, host 1 at `p1`, one v3 instance.
fn pair(tag: &str, p0: u8, p1: u8) -> Lab {
    pair_with(tag, p0, p1, "")
}

/// As [`pair`], with `extra` TOML lines in both instances.
fn pair_with(tag: &str, p0: u8, p1: u8, extra: &str) -> Lab {
    let lab = Lab::new(tag, 2);
    for (i, prio) in [(0, p0), (1, p1)] {
        let mut inst = Inst::v3("VI_1", 42, prio, &format!("{VIP4}/24"));
        inst.extra = extra.into();
        lab.start_vrrpd(i, &format!("vrrpd{i}"), &[inst], "");
    }
    lab
}

fn elected(lab: &Lab, holder: usize) {
    assert!(
        lab.wait_vip_only_on(holder, vip4(), T),
        "host {holder} never became the only VIP holder:\n{}",
        lab.logs()
    );
    assert!(
        lab.wait_state(holder, "VI_1", "master", T),
        "status of host {holder} never said master:\n{}",
        lab.logs()
    );
    assert!(
        lab.wait_state(1 - holder, "VI_1", "backup", T),
        "status of host {} never said backup:\n{}",
        1 - holder,
        lab.logs()
    );
}

#[test]
fn higher_priority_wins_and_status_reports_it() {
    if !lab::can_run() {
        return;
    }
    let lab = pair("el", 200, 100);
    elected(&lab, 0);
    let st = lab.status(0).unwrap();
    let vi = &st[0];
    assert_eq!(vi["name"], "VI_1");
    assert_eq!(vi["vrid"], 42);
    assert_eq!(vi["family"], "ipv4");
    assert_eq!(vi["version"], 3);
    assert_eq!(vi["priority"]["configured"], 200);
    assert_eq!(vi["priority"]["effective"], 200);
    let backup = &lab.status(1).unwrap()[0];
    assert_eq!(
        backup["master_address"],
        lab.hosts[0].v4.to_string(),
        "{backup}"
    );
    assert!(backup["counters"].is_object());
    let last = &vi["last_transition"];
    assert_eq!(last["to"], "master", "{vi}");
    // The table form names the instance and its state too.
    let (code, table, _) = lab.vrrpd_cli(0, &["status"]);
    assert_eq!(code, 0);
    assert!(
        table.contains("VI_1") && table.to_lowercase().contains("master"),
        "{table}"
    );
}

#[test]
fn link_loss_fails_over_within_the_rfc_bound() {
    if !lab::can_run() {
        return;
    }
    let lab = pair("ll", 200, 100);
    elected(&lab, 0);
    lab.start_responders();
    let prober = lab.start_prober(vip4(), Duration::from_millis(1));
    assert!(prober.wait_for_host(0, T), "client never reached host 0");
    lab.set_link(&lab.hosts[0], false);
    assert!(
        prober.wait_for_host(1, T),
        "client never reached host 1:\n{}",
        lab.logs()
    );
    let report = prober.finish();
    let outage = report.longest_outage();
    eprintln!(
        "vrrpd link-loss outage seen by the client: {outage:?} ({} lost)",
        report.lost()
    );
    // Master_Down_Interval 361 ms from the last advert heard; 100 ms margin
    // for the gratuitous ARP and scheduling on a loaded CI machine.
    assert!(
        outage <= Duration::from_millis(461),
        "outage {outage:?} exceeds 3×advert + skew + margin:\n{}",
        lab.logs()
    );
    assert!(
        outage >= Duration::from_millis(250),
        "outage {outage:?} is shorter than the protocol allows"
    );
    // The isolated master goes to Fault (its link is down) and gives up the VIP.
    assert!(
        lab.wait_state(0, "VI_1", "fault", T),
        "host 0 not in fault:\n{}",
        lab.logs()
    );
    assert!(lab.wait_until(T, || !lab.has_addr(&lab.hosts[0], vip4())));
    // Link back: host 0 preempts (priority 200 > 100).
    lab.set_link(&lab.hosts[0], true);
    assert!(
        lab.wait_vip_only_on(0, vip4(), T),
        "host 0 did not take the VIP back:\n{}",
        lab.logs()
    );
}

#[test]
fn sigterm_hands_over_without_losing_traffic() {
    if !lab::can_run() {
        return;
    }
    let lab = pair("st", 200, 100);
    elected(&lab, 0);
    lab.start_responders();
    let prober = lab.start_prober(vip4(), Duration::from_millis(1));
    assert!(prober.wait_for_host(0, T));
    lab.signal("vrrpd0", libc_sigterm());
    let status = lab
        .wait_exit("vrrpd0", T)
        .expect("vrrpd0 did not exit after SIGTERM");
    assert_eq!(status.code(), Some(0), "{}", lab.logs());
    assert!(
        !lab.has_addr(&lab.hosts[0], vip4()),
        "VIP left behind after SIGTERM"
    );
    assert!(
        prober.wait_for_host(1, T),
        "client never reached host 1:\n{}",
        lab.logs()
    );
    let report = prober.finish();
    eprintln!(
        "SIGTERM hand-over: {} datagrams lost, longest outage {:?}",
        report.lost(),
        report.longest_outage()
    );
    // keepalived loses the whole Skew_Time here (61 ms at priority 100).
    assert!(
        report.longest_outage() < Duration::from_millis(61),
        "hand-over lost {:?}:\n{}",
        report.longest_outage(),
        lab.logs()
    );
}

#[test]
fn switchover_moves_mastership_without_losing_traffic() {
    if !lab::can_run() {
        return;
    }
    let lab = pair("sw", 200, 100);
    elected(&lab, 0);
    lab.start_responders();
    let prober = lab.start_prober(vip4(), Duration::from_millis(1));
    assert!(prober.wait_for_host(0, T));
    let (code, out, err) = lab.vrrpd_cli(0, &["switchover", "VI_1"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        lab.wait_vip_only_on(1, vip4(), T),
        "VIP did not move:\n{}",
        lab.logs()
    );
    assert!(prober.wait_for_host(1, T));
    // The old master must not preempt straight back.
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        lab.has_addr(&lab.hosts[1], vip4()) && !lab.has_addr(&lab.hosts[0], vip4()),
        "{}",
        lab.logs()
    );
    let report = prober.finish();
    eprintln!(
        "switchover: {} datagrams lost, longest outage {:?}",
        report.lost(),
        report.longest_outage()
    );
    assert!(
        report.longest_outage() < Duration::from_millis(61),
        "switchover lost {:?}",
        report.longest_outage()
    );
    // An unknown instance is refused with exit code 1.
    let (code, _, err) = lab.vrrpd_cli(0, &["switchover", "NOPE"]);
    assert_eq!(code, 1, "{err}");
}

#[test]
fn sigkill_leaves_a_stale_vip_that_the_next_start_removes() {
    if !lab::can_run() {
        return;
    }
    let lab = pair("sk", 200, 100);
    elected(&lab, 0);
    lab.signal("vrrpd0", 9);
    lab.wait_exit("vrrpd0", T).expect("SIGKILL");
    // Host 1 takes over after Master_Down_Interval; host 0 still has the
    // VIP in its kernel (nobody removed it).
    assert!(lab.wait_state(1, "VI_1", "master", T), "{}", lab.logs());
    assert!(
        lab.has_addr(&lab.hosts[0], vip4()),
        "expected a stale VIP on host 0"
    );
    // Restart host 0 at a lower priority: it must clean up at start and stay backup.
    lab.start_vrrpd(
        0,
        "vrrpd0.2",
        &[Inst::v3("VI_1", 42, 50, &format!("{VIP4}/24"))],
        "",
    );
    assert!(lab.wait_state(0, "VI_1", "backup", T), "{}", lab.logs());
    assert!(
        lab.wait_vip_only_on(1, vip4(), T),
        "stale VIP not removed:\n{}",
        lab.logs()
    );
}

#[test]
fn failing_tracked_check_lowers_priority_and_moves_the_vip() {
    if !lab::can_run() {
        return;
    }
    let lab = Lab::new("tc", 2);
    let flag = lab.dir.path().join("h0-healthy");
    std::fs::write(&flag, "").unwrap();
    let check = format!(
        "[[check]]\nname = \"svc\"\ntype = \"exec\"\ncommand = [\"/usr/bin/test\", \"-e\", \"{}\"]\ninterval = \"100ms\"\ntimeout = \"1s\"\nfall = 2\nrise = 2\nweight = -150\n",
        flag.display()
    );
    let mut i0 = Inst::v3("VI_1", 42, 200, &format!("{VIP4}/24"));
    i0.extra = "track_checks = [\"svc\"]\n".into();
    lab.start_vrrpd(0, "vrrpd0", &[i0], &check);
    lab.start_vrrpd(
        1,
        "vrrpd1",
        &[Inst::v3("VI_1", 42, 100, &format!("{VIP4}/24"))],
        "",
    );
    elected(&lab, 0);
    std::fs::remove_file(&flag).unwrap();
    assert!(
        lab.wait_vip_only_on(1, vip4(), T),
        "VIP did not move on check failure:\n{}",
        lab.logs()
    );
    let st = &lab.status(0).unwrap()[0];
    assert_eq!(st["priority"]["effective"], 50, "{st}");
    let breakdown = st["priority"]["breakdown"].as_array().unwrap();
    assert!(
        breakdown
            .iter()
            .any(|b| b["name"] == "svc" && b["contribution"] == -150),
        "{st}"
    );
    // Healthy again: priority 200 and preempt bring the VIP back.
    std::fs::write(&flag, "").unwrap();
    assert!(
        lab.wait_vip_only_on(0, vip4(), T),
        "VIP did not come back:\n{}",
        lab.logs()
    );
}

#[test]
fn nopreempt_keeps_the_current_master_and_preempt_takes_over() {
    if !lab::can_run() {
        return;
    }
    let lab = Lab::new("np", 2);
    lab.start_vrrpd(
        1,
        "vrrpd1",
        &[Inst::v3("VI_1", 42, 100, &format!("{VIP4}/24"))],
        "",
    );
    assert!(lab.wait_state(1, "VI_1", "master", T), "{}", lab.logs());
    let mut high = Inst::v3("VI_1", 42, 200, &format!("{VIP4}/24"));
    high.preempt = false;
    lab.start_vrrpd(0, "vrrpd0", &[high.clone()], "");
    assert!(lab.wait_state(0, "VI_1", "backup", T), "{}", lab.logs());
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        lab.has_addr(&lab.hosts[1], vip4()) && !lab.has_addr(&lab.hosts[0], vip4()),
        "nopreempt took over:\n{}",
        lab.logs()
    );
    // Restart host 0 with preempt: it takes over.
    lab.signal("vrrpd0", libc_sigterm());
    lab.wait_exit("vrrpd0", T).unwrap();
    high.preempt = true;
    lab.start_vrrpd(0, "vrrpd0.2", &[high], "");
    assert!(
        lab.wait_vip_only_on(0, vip4(), T),
        "preempt did not take over:\n{}",
        lab.logs()
    );
}

#[test]
fn ipv6_vip_fails_over_and_clients_follow() {
    if !lab::can_run() {
        return;
    }
    let lab = Lab::new("v6", 2);
    let vip: IpAddr = VIP6.parse().unwrap();
    lab.start_vrrpd(
        0,
        "vrrpd0",
        &[Inst::v3("VI_6", 42, 200, &format!("{VIP6}/64"))],
        "",
    );
    lab.start_vrrpd(
        1,
        "vrrpd1",
        &[Inst::v3("VI_6", 42, 100, &format!("{VIP6}/64"))],
        "",
    );
    assert!(lab.wait_vip_only_on(0, vip, T), "{}", lab.logs());
    assert!(lab.wait_state(0, "VI_6", "master", T), "{}", lab.logs());
    assert_eq!(lab.status(0).unwrap()[0]["family"], "ipv6");
    lab.start_responders();
    let prober = lab.start_prober(vip, Duration::from_millis(1));
    assert!(
        prober.wait_for_host(0, T),
        "client never reached host 0 over IPv6"
    );
    lab.set_link(&lab.hosts[0], false);
    assert!(
        prober.wait_for_host(1, T),
        "client did not follow the VIP (unsolicited NA?):\n{}",
        lab.logs()
    );
    let report = prober.finish();
    eprintln!("IPv6 link-loss outage: {:?}", report.longest_outage());
    assert!(
        report.longest_outage() <= Duration::from_millis(461),
        "{:?}",
        report.longest_outage()
    );
}

#[test]
fn reload_changes_one_instance_and_leaves_the_other_alone() {
    if !lab::can_run() {
        return;
    }
    let lab = Lab::new("rl", 2);
    let a0 = Inst::v3("VI_A", 1, 200, "10.99.0.201/24");
    let b0 = Inst::v3("VI_B", 2, 200, "10.99.0.202/24");
    lab.start_vrrpd(0, "vrrpd0", &[a0.clone(), b0.clone()], "");
    lab.start_vrrpd(
        1,
        "vrrpd1",
        &[
            Inst::v3("VI_A", 1, 100, "10.99.0.201/24"),
            Inst::v3("VI_B", 2, 100, "10.99.0.202/24"),
        ],
        "",
    );
    assert!(
        lab.wait_state(0, "VI_A", "master", T) && lab.wait_state(0, "VI_B", "master", T),
        "{}",
        lab.logs()
    );
    let vip_a: IpAddr = "10.99.0.201".parse().unwrap();
    let vip_b: IpAddr = "10.99.0.202".parse().unwrap();
    assert!(lab.wait_vip_only_on(0, vip_a, T) && lab.wait_vip_only_on(0, vip_b, T));
    let before = lab.status(0).unwrap();
    let a_since = before.iter().find(|v| v["name"] == "VI_A").unwrap()["last_transition"].clone();
    lab.start_responders();
    let prober = lab.start_prober(vip_a, Duration::from_millis(1));
    assert!(prober.wait_for_host(0, T));

    // An invalid config is rejected and changes nothing.
    std::fs::write(lab.dir.path().join("h0.toml"), "[[instance]]\nname = 1\n").unwrap();
    lab.signal("vrrpd0", libc_sighup());
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        lab.wait_state(0, "VI_B", "master", T),
        "invalid reload disturbed VI_B:\n{}",
        lab.logs()
    );

    // VI_B drops to priority 50 on host 0: it moves to host 1; VI_A stays.
    let mut b_low = b0.clone();
    b_low.priority = 50;
    lab.write_vrrpd_config(0, &[a0, b_low], "");
    lab.signal("vrrpd0", libc_sighup());
    assert!(
        lab.wait_vip_only_on(1, vip_b, T),
        "VI_B did not move after reload:\n{}",
        lab.logs()
    );
    assert!(lab.wait_state(0, "VI_B", "backup", T));
    let after = lab.status(0).unwrap();
    let a = after.iter().find(|v| v["name"] == "VI_A").unwrap();
    assert_eq!(a["state"], "master");
    assert_eq!(
        a["last_transition"], a_since,
        "VI_A was restarted by the reload"
    );
    let report = prober.finish();
    assert_eq!(report.holders(), vec![0], "VI_A moved during the reload");
    assert_eq!(report.lost(), 0, "VI_A lost traffic during the reload");
}

#[test]
fn maintenance_releases_and_returns_mastership() {
    if !lab::can_run() {
        return;
    }
    let lab = pair("mt", 200, 100);
    elected(&lab, 0);
    let (code, out, err) = lab.vrrpd_cli(0, &["maintenance", "VI_1", "on"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(lab.wait_vip_only_on(1, vip4(), T), "{}", lab.logs());
    assert_eq!(lab.status(0).unwrap()[0]["maintenance"], true);
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        !lab.has_addr(&lab.hosts[0], vip4()),
        "took over while in maintenance"
    );
    let (code, _, _) = lab.vrrpd_cli(0, &["maintenance", "VI_1", "off"]);
    assert_eq!(code, 0);
    assert!(
        lab.wait_vip_only_on(0, vip4(), T),
        "did not return after maintenance:\n{}",
        lab.logs()
    );
}

#[test]
fn a_config_naming_a_missing_interface_changes_nothing() {
    if !lab::can_run() {
        return;
    }
    let lab = Lab::new("bi", 1);
    let mut inst = Inst::v3("VI_1", 42, 200, &format!("{VIP4}/24"));
    inst.extra = String::new();
    let cfg = lab.write_vrrpd_config(0, &[inst], "");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("interface = \"eth0\"", "interface = \"nope0\"");
    std::fs::write(&cfg, text).unwrap();
    let before = lab.addrs(&lab.hosts[0]);
    let out = lab.ns_output(
        &lab.hosts[0].ns,
        &[
            lab::peers::vrrpd_bin(),
            "run",
            "-c",
            &cfg.display().to_string(),
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nope0"), "{err}");
    assert_eq!(lab.addrs(&lab.hosts[0]), before);
}

#[test]
fn accept_false_drops_traffic_to_the_vip_on_a_non_owner_master() {
    if !lab::can_run() {
        return;
    }
    let lab = pair_with("na", 200, 100, "accept = false\n");
    elected(&lab, 0);
    let nft = |i: usize| {
        String::from_utf8_lossy(
            &lab.ns_output(
                &lab.hosts[i].ns,
                &["nft", "list", "set", "inet", "vrrpd", "vips4"],
            )
            .stdout,
        )
        .into_owned()
    };
    assert!(
        nft(0).contains(VIP4),
        "VIP not filtered on the master: {}",
        nft(0)
    );
    // The backup filters it already: a takeover runs no `nft`.
    assert!(
        nft(1).contains(VIP4),
        "VIP not filtered on the backup before a takeover: {}",
        nft(1)
    );
    lab.start_responders();
    // RFC 9568 §6.4.3: the non-owner master does not accept traffic to the VIP...
    let to_vip = lab.start_prober(vip4(), Duration::from_millis(5));
    // ...but its own address still answers.
    let to_host = lab.start_prober(lab.hosts[0].v4, Duration::from_millis(5));
    std::thread::sleep(Duration::from_millis(800));
    let (vip_report, host_report) = (to_vip.finish(), to_host.finish());
    assert!(
        vip_report.holders().is_empty(),
        "the VIP answered: {:?}",
        vip_report.holders()
    );
    assert!(
        vip_report.lost() > 100,
        "too few probes: {}",
        vip_report.lost()
    );
    assert_eq!(host_report.holders(), vec![0]);
    // ARP for the VIP is still answered (it is not IP): the client knows the master's MAC.
    let neigh = lab.ns_run(&lab.client.ns, &["ip", "neigh", "show", VIP4]);
    assert!(
        String::from_utf8_lossy(&neigh.stdout).contains("lladdr"),
        "{}",
        String::from_utf8_lossy(&neigh.stdout)
    );
    // The VIP still moves and stays filtered; a clean stop deletes the table.
    sigterm_exits_0(&lab, "vrrpd0");
    assert!(lab.wait_vip_only_on(1, vip4(), T), "{}", lab.logs());
    // The new master drops traffic to the VIP from its first moment.
    let to_vip = lab.start_prober(vip4(), Duration::from_millis(5));
    std::thread::sleep(Duration::from_millis(500));
    let vip_report = to_vip.finish();
    assert!(
        vip_report.holders().is_empty() && vip_report.lost() > 50,
        "the VIP answered on the new master: {:?}, {} lost",
        vip_report.holders(),
        vip_report.lost()
    );
    let tables = lab.ns_output(&lab.hosts[0].ns, &["nft", "list", "tables"]);
    assert!(
        !String::from_utf8_lossy(&tables.stdout).contains("vrrpd"),
        "table left behind on host 0"
    );
}

/// Sends SIGTERM to `name` and asserts that it exits with status 0.
fn sigterm_exits_0(lab: &Lab, name: &str) {
    lab.signal(name, libc_sigterm());
    assert_eq!(
        lab.wait_exit(name, T).and_then(|s| s.code()),
        Some(0),
        "{}",
        lab.logs()
    );
}

fn libc_sigterm() -> i32 {
    15
}

fn libc_sighup() -> i32 {
    1
}

#[test]
fn use_vmac_keeps_one_mac_for_the_vip_across_a_failover() {
    if !lab::can_run() {
        return;
    }
    let lab = pair_with("vm", 200, 100, "use_vmac = true\n");
    let out = |i: usize, args: &[&str]| {
        String::from_utf8_lossy(&lab.ns_output(&lab.hosts[i].ns, args).stdout).into_owned()
    };
    let on_vmac = |i: usize| out(i, &["ip", "-o", "addr", "show", "dev", "vrrp.42"]);
    assert!(
        lab.wait_state(0, "VI_1", "master", T) && lab.wait_until(T, || on_vmac(0).contains(VIP4)),
        "host 0 never became master with the VIP on vrrp.42:\n{}",
        lab.logs()
    );
    assert!(lab.wait_state(1, "VI_1", "backup", T), "{}", lab.logs());
    // RFC 9568 §7.3: 00-00-5E-00-01-{VRID}; the VIP is on the macvlan, and
    // the parent answers ARP only for its own addresses.
    let link = out(0, &["ip", "-d", "link", "show", "vrrp.42"]);
    assert!(
        link.contains("00:00:5e:00:01:2a") && link.contains("macvlan"),
        "{link}"
    );
    assert!(!out(0, &["ip", "-o", "addr", "show", "dev", "eth0"]).contains(VIP4));
    let arp_ignore = |i: usize| {
        out(i, &["cat", "/proc/sys/net/ipv4/conf/eth0/arp_ignore"])
            .trim()
            .to_owned()
    };
    assert_eq!(arp_ignore(0), "1");
    // The backup has its macvlan, without IPv6 (it never sends from the
    // virtual MAC) and without the VIP.
    let backup = on_vmac(1);
    assert!(
        !backup.contains(VIP4) && !backup.contains("inet6"),
        "{backup}"
    );

    lab.start_responders();
    let prober = lab.start_prober(vip4(), Duration::from_millis(2));
    assert!(prober.wait_for_host(0, T), "client never reached host 0");
    let neigh = || out_client(&lab, &["ip", "neigh", "show", VIP4]);
    assert!(neigh().contains("00:00:5e:00:01:2a"), "{}", neigh());

    // SIGTERM: host 1 takes over with the same MAC; host 0 removes its
    // macvlan and gives eth0 its ARP settings back.
    sigterm_exits_0(&lab, "vrrpd0");
    assert!(
        prober.wait_for_host(1, T),
        "client never reached host 1:\n{}",
        lab.logs()
    );
    let report = prober.finish();
    assert_eq!(report.holders(), vec![0, 1]);
    assert!(neigh().contains("00:00:5e:00:01:2a"), "{}", neigh());
    assert!(on_vmac(1).contains(VIP4));
    assert!(
        !lab.ns_output(&lab.hosts[0].ns, &["ip", "link", "show", "vrrp.42"])
            .status
            .success(),
        "host 0's macvlan stayed"
    );
    assert_eq!(arp_ignore(0), "0");
    eprintln!(
        "use_vmac: graceful-stop outage {:?} ({} probes lost)",
        report.longest_outage(),
        report.lost()
    );
    assert!(report.longest_outage() < Duration::from_secs(1));
}

fn out_client(lab: &Lab, args: &[&str]) -> String {
    String::from_utf8_lossy(&lab.ns_output(&lab.client.ns, args).stdout).into_owned()
}

#[test]
fn virtual_routes_follow_the_master() {
    if !lab::can_run() {
        return;
    }
    let lab = pair_with(
        "vr",
        200,
        100,
        "virtual_routes = [{ to = \"198.51.100.0/24\", via = \"10.99.0.254\", metric = 7 }, { to = \"203.0.113.0/25\", table = 100 }]\n",
    );
    elected(&lab, 0);
    let routes = |i: usize| {
        let main = lab.ns_output(&lab.hosts[i].ns, &["ip", "route", "show"]);
        let t100 = lab.ns_output(&lab.hosts[i].ns, &["ip", "route", "show", "table", "100"]);
        let main = String::from_utf8_lossy(&main.stdout).into_owned();
        let t100 = String::from_utf8_lossy(&t100.stdout).into_owned();
        (
            main.contains("198.51.100.0/24 via 10.99.0.254 dev eth0") && main.contains("metric 7"),
            t100.contains("203.0.113.0/25 dev eth0"),
        )
    };
    assert!(
        lab.wait_until(T, || routes(0) == (true, true)),
        "routes not on the master: {:?}\n{}",
        routes(0),
        lab.logs()
    );
    assert_eq!(routes(1), (false, false), "routes on the backup");
    // The master stops: the routes move with the VIP.
    sigterm_exits_0(&lab, "vrrpd0");
    assert!(lab.wait_vip_only_on(1, vip4(), T), "{}", lab.logs());
    assert!(
        lab.wait_until(T, || routes(1) == (true, true)),
        "routes not on the new master: {:?}\n{}",
        routes(1),
        lab.logs()
    );
    assert_eq!(routes(0), (false, false), "routes left on the old master");
    let st = lab.instance_status(1, "VI_1").unwrap();
    assert_eq!(st["counters"]["route_errors"], 0, "{st}");
}
