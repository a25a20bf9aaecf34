//! Interoperability with FRR's vrrpd (Debian's frr 8.4) as the peer: VRRPv3
//! over IPv4 and IPv6, VRRPv2 over IPv4, vrrpd as backup and as master: the two agree
//! on the master (vrrpd names FRR's address as master; FRR keeps its
//! macvlan in protodown while vrrpd is master), and each takes over when
//! the other stops.
//!
//! FRR does no VRRPv2 authentication (RFC 3768 §5.3.6 kept it only for
//! compatibility), so the v2 case has none. Needs root, `ip netns` and FRR;
//! skips with a message otherwise.
#![allow(clippy::unwrap_used)]

mod lab;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use lab::Lab;
use lab::frr::{FrrRouter, frr_available};
use lab::peers::Inst;
use nix::libc::SIGTERM;

const VRID: u8 = 5;

/// One case: protocol version and address family.
#[derive(Clone, Copy, Debug)]
enum Case {
    V3Ipv4,
    V3Ipv6,
    V2Ipv4,
}

impl Case {
    fn version(self) -> u8 {
        match self {
            Case::V2Ipv4 => 2,
            _ => 3,
        }
    }

    fn vip(self) -> IpAddr {
        match self {
            Case::V3Ipv6 => "fd00:99::200".parse().unwrap(),
            _ => "10.99.0.200".parse().unwrap(),
        }
    }

    fn vip_cidr(self) -> String {
        match self {
            Case::V3Ipv6 => format!("{}/64", self.vip()),
            _ => format!("{}/24", self.vip()),
        }
    }
}

fn interval_ms(version: u8) -> u32 {
    if version == 3 { 100 } else { 1000 }
}

fn frr(case: Case, priority: u8) -> FrrRouter {
    FrrRouter {
        vrid: VRID,
        version: case.version(),
        priority,
        advert_ms: interval_ms(case.version()),
        vip: case.vip_cidr(),
    }
}

fn ours(case: Case, priority: u8) -> Inst {
    if case.version() == 3 {
        Inst::v3("VI_1", VRID, priority, &case.vip_cidr())
    } else {
        Inst::v2("VI_1", VRID, priority, &case.vip_cidr())
    }
}

/// FRR's advert source on host 1: its IPv4 address, or for IPv6 the
/// link-local address of its macvlan device (FRR's `doc/user/vrrp.rst`).
fn frr_source(lab: &Lab, case: Case, router: &FrrRouter) -> String {
    match case {
        Case::V3Ipv6 => {
            let out = lab.ns_output(
                &lab.hosts[1].ns,
                &[
                    "ip",
                    "-6",
                    "-o",
                    "addr",
                    "show",
                    "dev",
                    &router.device(),
                    "scope",
                    "link",
                ],
            );
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            text.split_whitespace()
                .skip_while(|w| *w != "inet6")
                .nth(1)
                .and_then(|a| a.split('/').next())
                .unwrap_or_default()
                .to_owned()
        }
        _ => lab.hosts[1].v4.to_string(),
    }
}

/// RFC 9568 §6.1 Master_Down_Interval at `priority`, in ms.
fn master_down_ms(version: u8, priority: u8) -> u64 {
    let i = u64::from(interval_ms(version));
    3 * i + (256 - u64::from(priority)) * i / 256
}

/// vrrpd's VI_1 on host 0: (state, master address); empty while it does
/// not answer yet.
fn ours_state(lab: &Lab) -> (String, String) {
    lab.status_json(0)
        .and_then(|s| {
            let i = s["data"]["instances"]
                .as_array()?
                .iter()
                .find(|i| i["name"] == "VI_1")?
                .clone();
            Some((
                i["state"].as_str().unwrap_or("").to_owned(),
                i["master_address"].as_str().unwrap_or("").to_owned(),
            ))
        })
        .unwrap_or_default()
}

fn frr_master_vrrpd_backup(tag: &str, case: Case) {
    if !lab::can_run() || !frr_available() {
        return;
    }
    let version = case.version();
    let lab = Lab::new(tag, 2);
    let router = frr(case, 200);
    lab.start_frr(1, &router);
    lab.start_vrrpd(0, "vrrpd0", &[ours(case, 100)], "");
    assert!(
        lab.wait_until(Duration::from_secs(15), || lab.frr_is_master(1, &router)
            && ours_state(&lab)
                == ("backup".into(), frr_source(&lab, case, &router))),
        "FRR master / vrrpd backup not reached: {:?}\n{}",
        ours_state(&lab),
        lab.logs()
    );
    // vrrpd keeps hearing FRR: no takeover over several Master_Down_Intervals.
    std::thread::sleep(Duration::from_millis(3 * master_down_ms(version, 100)));
    assert_eq!(ours_state(&lab).0, "backup", "{}", lab.log("vrrpd0"));
    assert!(!lab.has_addr(&lab.hosts[0], case.vip()));
    if let Case::V3Ipv4 = case {
        // FRR 8.4 includes the IPv4 pseudo-header in the v3 checksum.
        let st = lab.status_json(0).unwrap();
        let c = &st["data"]["interfaces"][0]["counters"];
        assert!(c["v3_ipv4_with_pseudo_header"].as_u64().unwrap() > 0, "{c}");
        assert_eq!(c["v3_ipv4_without_pseudo_header"], 0, "{c}");
    }

    // FRR stops: vrrpd takes over.
    let t = Instant::now();
    lab.signal("frr1", SIGTERM);
    assert!(
        lab.wait_until(Duration::from_secs(10), || ours_state(&lab).0 == "master"
            && lab.has_addr(&lab.hosts[0], case.vip())),
        "vrrpd did not take over from FRR:\n{}",
        lab.logs()
    );
    let took = t.elapsed();
    eprintln!("{case:?}: vrrpd took over from a stopped FRR after {took:?}");
    let bound = Duration::from_millis(master_down_ms(version, 100) + 500);
    assert!(took < bound, "takeover took {took:?} (bound {bound:?})");
}

fn vrrpd_master_frr_backup(tag: &str, case: Case) {
    if !lab::can_run() || !frr_available() {
        return;
    }
    let version = case.version();
    let lab = Lab::new(tag, 2);
    let router = frr(case, 100);
    lab.start_vrrpd(0, "vrrpd0", &[ours(case, 200)], "");
    assert!(
        lab.wait_until(Duration::from_secs(15), || ours_state(&lab).0 == "master"
            && lab.has_addr(&lab.hosts[0], case.vip())),
        "vrrpd never became master:\n{}",
        lab.logs()
    );
    lab.start_frr(1, &router);
    // FRR starts in Backup (macvlan in protodown)...
    assert!(
        lab.wait_until(Duration::from_secs(10), || lab.frr_in_protodown(1, &router)),
        "FRR never came up in Backup:\n{}",
        lab.logs()
    );
    // ...and stays there while it hears vrrpd, well past its
    // Master_Down_Interval.
    let wait = Duration::from_millis(3 * master_down_ms(version, 100) + 1000);
    let t = Instant::now();
    while t.elapsed() < wait {
        assert!(
            !lab.frr_is_master(1, &router),
            "FRR went master beside vrrpd:\n{}",
            lab.logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(ours_state(&lab).0, "master");

    // vrrpd stops (priority 0): FRR takes over, vrrpd's VIP is gone.
    let t = Instant::now();
    lab.signal("vrrpd0", SIGTERM);
    assert!(
        lab.wait_until(Duration::from_secs(10), || lab.frr_is_master(1, &router)),
        "FRR did not take over:\n{}",
        lab.logs()
    );
    let took = t.elapsed();
    eprintln!("{case:?}: FRR took over from a stopped vrrpd after {took:?}");
    let exit = lab.wait_exit("vrrpd0", Duration::from_secs(10));
    assert!(exit.is_some_and(|e| e.success()), "{}", lab.log("vrrpd0"));
    assert!(!lab.has_addr(&lab.hosts[0], case.vip()));
    // Priority 0 lets the backup take over after Skew_Time, well inside
    // its Master_Down_Interval (RFC 9568 §6.4.2).
    let bound = Duration::from_millis(master_down_ms(version, 100));
    assert!(
        took < bound,
        "FRR took over after {took:?} (bound {bound:?})"
    );
}

#[test]
fn v3_ipv4_frr_master_vrrpd_backup() {
    frr_master_vrrpd_backup("fr3a", Case::V3Ipv4);
}

#[test]
fn v3_ipv4_vrrpd_master_frr_backup() {
    vrrpd_master_frr_backup("fr3b", Case::V3Ipv4);
}

#[test]
fn v3_ipv6_frr_master_vrrpd_backup() {
    frr_master_vrrpd_backup("fr6a", Case::V3Ipv6);
}

#[test]
fn v3_ipv6_vrrpd_master_frr_backup() {
    vrrpd_master_frr_backup("fr6b", Case::V3Ipv6);
}

#[test]
fn v2_ipv4_frr_master_vrrpd_backup() {
    frr_master_vrrpd_backup("fr2a", Case::V2Ipv4);
}

#[test]
fn v2_ipv4_vrrpd_master_frr_backup() {
    vrrpd_master_frr_backup("fr2b", Case::V2Ipv4);
}
