//! The end-to-end lab, checked against the reference implementation: two
//! keepalived hosts share a VIP, the client sees the master answer, and when
//! the master's link goes down the backup takes over within the RFC bound.
//! This is also the baseline that vrrpd's own end-to-end tests compare with.
#![allow(clippy::unwrap_used)]

mod lab;

use std::net::IpAddr;
use std::time::Duration;

use lab::Lab;

fn keepalived_available() -> bool {
    let ok = std::process::Command::new("keepalived")
        .arg("--version")
        .output()
        .is_ok();
    if !ok {
        eprintln!("SKIP: keepalived is not installed (scripts/setup.sh installs it)");
    }
    ok
}

/// A keepalived VRRPv3 config for one host; `prio` decides the master.
fn keepalived_conf(vip: IpAddr, prio: u8, advert: &str) -> String {
    format!(
        "global_defs {{\n  vrrp_garp_master_repeat 1\n  vrrp_garp_master_delay 0\n}}\n\
         vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 42\n  version 3\n  priority {prio}\n  advert_int {advert}\n  virtual_ipaddress {{\n    {vip}/24\n  }}\n}}\n"
    )
}

fn start_keepalived(lab: &Lab, host: usize, conf: &str) {
    let dir = lab.dir.path();
    let cfg = dir.join(format!("ka{host}.conf"));
    std::fs::write(&cfg, conf).unwrap();
    let p = |s: &str| dir.join(format!("ka{host}.{s}.pid")).display().to_string();
    let ns = lab.hosts[host].ns.clone();
    lab.spawn(
        &ns,
        &format!("keepalived{host}"),
        &[
            "keepalived",
            "-n",
            "-l",
            "-D",
            "-G",
            "-P",
            "-f",
            &cfg.display().to_string(),
            "-p",
            &p("main"),
            "-r",
            &p("vrrp"),
            "-c",
            &p("chk"),
        ],
    );
}

#[test]
fn keepalived_pair_fails_over_on_link_loss() {
    if !lab::can_run() || !keepalived_available() {
        return;
    }
    let lab = Lab::new("ka", 2);
    let vip: IpAddr = "10.99.0.200".parse().unwrap();
    start_keepalived(&lab, 0, &keepalived_conf(vip, 200, "0.1"));
    start_keepalived(&lab, 1, &keepalived_conf(vip, 100, "0.1"));
    assert!(
        lab.wait_until(Duration::from_secs(10), || lab.has_addr(&lab.hosts[0], vip)),
        "host 0 never took the VIP:\n{}",
        lab.log("keepalived0")
    );
    lab.start_responders();
    let prober = lab.start_prober(vip, Duration::from_millis(1));
    assert!(
        prober.wait_for_host(0, Duration::from_secs(5)),
        "client never reached host 0"
    );
    lab.set_link(&lab.hosts[0], false);
    assert!(
        prober.wait_for_host(1, Duration::from_secs(5)),
        "client never reached host 1:\n{}",
        lab.log("keepalived1")
    );
    let report = prober.finish();
    assert_eq!(report.holders(), vec![0, 1]);
    // RFC 9568 §6.1: Master_Down_Interval = 3 * 100 ms + Skew_Time (≈61 ms at
    // priority 100), counted from the last advert heard, which was up to one
    // interval before the link went down; allow for ARP and scheduling.
    let outage = report.longest_outage();
    eprintln!(
        "keepalived link-loss outage seen by the client: {outage:?} ({} probes lost)",
        report.lost()
    );
    assert!(
        outage >= Duration::from_millis(250),
        "outage {outage:?} is shorter than the RFC allows"
    );
    assert!(outage < Duration::from_millis(1500), "outage {outage:?}");
}
