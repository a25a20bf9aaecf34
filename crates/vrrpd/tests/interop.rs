//! Interoperability with keepalived (Debian's package) as the peer: VRRPv2
//! with a password, VRRPv3 over IPv4 and over IPv6, and VRRPv3 with a
//! virtual MAC on both sides; vrrpd as master and as backup. Both must agree on one master (exactly one VIP holder, the one
//! with the higher priority), and each must take over when the other's link
//! goes down.
#![allow(clippy::unwrap_used)]

mod lab;

use std::net::IpAddr;
use std::time::Duration;

use lab::Lab;
use lab::peers::{Inst, keepalived_available};

#[derive(Clone, Copy, Debug)]
enum Flavour {
    V2Pass,
    V3Ipv4,
    V3Ipv6,
}

fn inst(f: Flavour, prio: u8) -> (Inst, IpAddr) {
    match f {
        Flavour::V2Pass => {
            let mut i = Inst::v2("VI_1", 51, prio, "10.99.0.210/24");
            i.password = Some("s3cret".into());
            (i, "10.99.0.210".parse().unwrap())
        }
        Flavour::V3Ipv4 => (
            Inst::v3("VI_1", 52, prio, "10.99.0.211/24"),
            "10.99.0.211".parse().unwrap(),
        ),
        Flavour::V3Ipv6 => (
            Inst::v3("VI_1", 53, prio, "fd00:99::211/64"),
            "fd00:99::211".parse().unwrap(),
        ),
    }
}

/// Host 0 runs vrrpd, host 1 keepalived; `vrrpd_master` picks who has the
/// higher priority.
fn interop(tag: &str, f: Flavour, vrrpd_master: bool) {
    if !lab::can_run() || !keepalived_available() {
        return;
    }
    let (hi, lo) = (200, 100);
    let (p_vrrpd, p_ka) = if vrrpd_master { (hi, lo) } else { (lo, hi) };
    let lab = Lab::new(tag, 2);
    let (vi_vrrpd, vip) = inst(f, p_vrrpd);
    let (vi_ka, _) = inst(f, p_ka);
    lab.start_keepalived(1, &[vi_ka]);
    lab.start_vrrpd(0, "vrrpd0", &[vi_vrrpd], "");
    let (master, backup) = if vrrpd_master { (0, 1) } else { (1, 0) };
    let t = match f {
        Flavour::V2Pass => Duration::from_secs(15),
        _ => Duration::from_secs(10),
    };
    assert!(
        lab.wait_vip_only_on(master, vip, t),
        "{f:?}: host {master} never became the only VIP holder:\n{}",
        lab.logs()
    );
    let vrrpd_state = if vrrpd_master { "master" } else { "backup" };
    assert!(
        lab.wait_state(0, "VI_1", vrrpd_state, t),
        "{f:?}: vrrpd not {vrrpd_state}:\n{}",
        lab.logs()
    );
    // Stable: no flapping for a few intervals.
    std::thread::sleep(match f {
        Flavour::V2Pass => Duration::from_secs(3),
        _ => Duration::from_millis(800),
    });
    assert!(
        lab.has_addr(&lab.hosts[master], vip) && !lab.has_addr(&lab.hosts[backup], vip),
        "{f:?}: flapped:\n{}",
        lab.logs()
    );
    if !vrrpd_master {
        let st = &lab.status(0).unwrap()[0];
        assert_eq!(
            st["master_address"],
            keepalived_source(&lab, f).as_str(),
            "{st}"
        );
    }
    // The master loses its link: the backup takes over.
    lab.set_link(&lab.hosts[master], false);
    assert!(
        lab.wait_until(t, || lab.has_addr(&lab.hosts[backup], vip)),
        "{f:?}: host {backup} did not take over:\n{}",
        lab.logs()
    );
    if !vrrpd_master {
        assert!(lab.wait_state(0, "VI_1", "master", t), "{}", lab.logs());
    }
}

/// The address vrrpd should report for the keepalived master: its IPv4
/// primary address, or for IPv6 its link-local address (RFC 9568 §5.1.2.1).
fn keepalived_source(lab: &Lab, f: Flavour) -> String {
    match f {
        Flavour::V3Ipv6 => {
            let out = lab.ns_run(
                &lab.hosts[1].ns,
                &[
                    "ip", "-6", "-o", "addr", "show", "dev", "eth0", "scope", "link",
                ],
            );
            String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .find(|w| w.starts_with("fe80"))
                .and_then(|w| w.split('/').next())
                .unwrap_or_default()
                .to_owned()
        }
        _ => lab.hosts[1].v4.to_string(),
    }
}

#[test]
fn v2_password_vrrpd_master_keepalived_backup() {
    interop("i2m", Flavour::V2Pass, true);
}

#[test]
fn v2_password_keepalived_master_vrrpd_backup() {
    interop("i2b", Flavour::V2Pass, false);
}

#[test]
fn v3_ipv4_vrrpd_master_keepalived_backup() {
    interop("i4m", Flavour::V3Ipv4, true);
}

#[test]
fn v3_ipv4_keepalived_master_vrrpd_backup() {
    interop("i4b", Flavour::V3Ipv4, false);
}

#[test]
fn v3_ipv6_vrrpd_master_keepalived_backup() {
    interop("i6m", Flavour::V3Ipv6, true);
}

#[test]
fn v3_ipv6_keepalived_master_vrrpd_backup() {
    interop("i6b", Flavour::V3Ipv6, false);
}

/// Both sides with a virtual MAC (keepalived's `use_vmac`, vrrpd's
/// `use_vmac = true`): they agree on the master, the VIP sits on the
/// master's macvlan, and the client's neighbour entry keeps the virtual MAC
/// when the master's link goes down and the other side takes over.
fn interop_vmac(tag: &str, vrrpd_master: bool) {
    if !lab::can_run() || !keepalived_available() {
        return;
    }
    let (p_vrrpd, p_ka) = if vrrpd_master { (200, 100) } else { (100, 200) };
    let (master, backup) = if vrrpd_master { (0, 1) } else { (1, 0) };
    let lab = Lab::new(tag, 2);
    let vip: IpAddr = "10.99.0.212".parse().unwrap();
    let inst = |prio| Inst {
        extra: "use_vmac = true\n".into(),
        keepalived_extra: "  use_vmac\n".into(),
        ..Inst::v3("VI_1", 54, prio, "10.99.0.212/24")
    };
    lab.start_keepalived(1, &[inst(p_ka)]);
    lab.start_vrrpd(0, "vrrpd0", &[inst(p_vrrpd)], "");
    let on_vmac = |i: usize| {
        let out = lab.ns_output(
            &lab.hosts[i].ns,
            &["ip", "-o", "addr", "show", "dev", "vrrp.54"],
        );
        String::from_utf8_lossy(&out.stdout).contains("10.99.0.212/24")
    };
    let t = Duration::from_secs(10);
    let vrrpd_state = if vrrpd_master { "master" } else { "backup" };
    assert!(
        lab.wait_until(t, || on_vmac(master) && !on_vmac(backup))
            && lab.wait_state(0, "VI_1", vrrpd_state, t),
        "host {master} never became the only holder on vrrp.54:\n{}",
        lab.logs()
    );
    lab.start_responders();
    let prober = lab.start_prober(vip, Duration::from_millis(2));
    assert!(
        prober.wait_for_host(master as u8, t),
        "client never reached host {master}"
    );
    let neigh = || {
        let out = lab.ns_output(&lab.client.ns, &["ip", "neigh", "show", "10.99.0.212"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(neigh().contains("00:00:5e:00:01:36"), "{}", neigh());
    lab.set_link(&lab.hosts[master], false);
    assert!(
        prober.wait_for_host(backup as u8, t),
        "client never reached host {backup}:\n{}",
        lab.logs()
    );
    assert!(on_vmac(backup));
    assert!(neigh().contains("00:00:5e:00:01:36"), "{}", neigh());
    let report = prober.finish();
    assert_eq!(report.holders(), vec![master as u8, backup as u8]);
}

#[test]
fn use_vmac_keepalived_master_vrrpd_backup() {
    interop_vmac("ivb", false);
}

#[test]
fn use_vmac_vrrpd_master_keepalived_backup() {
    interop_vmac("ivm", true);
}
