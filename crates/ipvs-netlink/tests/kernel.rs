//! Tests against a real IPVS kernel, checked against `ipvsadm`'s view.
//!
//! Each test runs in a network namespace of its own (`unshare` of its
//! thread), so it starts from an empty IPVS table, runs in parallel with
//! the others and leaves nothing behind: the namespaces are anonymous and
//! go away with their threads. Without IPVS (this project's build hosts),
//! without root or without `ipvsadm`, a test prints `SKIP` and returns;
//! `scripts/vm-test.sh` runs them under Debian's kernel in a VM, with
//! `IPVS_TEST_REQUIRE=1`, which turns every skip into a failure.
//!
//! The one test that means something on a kernel without IPVS is
//! [`open_without_ipvs_is_one_clear_error`].

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use ipvs_netlink::{
    Destination, Error, ForwardMethod, Ipvs, Service, ServiceEntry, ServiceFlags, ServiceKey,
    SyncDaemon, SyncState, Timeouts, Tunnel, TunnelFlags, TunnelType,
};

fn have_ipvs() -> bool {
    Path::new("/proc/net/ip_vs").exists()
}

/// Skips (prints why and returns `None`) unless IPVS, root and ipvsadm
/// are there; with `IPVS_TEST_REQUIRE=1` a missing one is a failure.
fn skip_unless_ready(test: &str) -> Option<()> {
    let why = if !have_ipvs() {
        Some("no IPVS in this kernel (modprobe ip_vs)")
    } else if unsafe { libc::geteuid() } != 0 {
        Some("not root")
    } else if Command::new("ipvsadm").arg("--version").output().is_err() {
        Some("no ipvsadm")
    } else {
        None
    };
    match why {
        None => Some(()),
        Some(why) => {
            assert!(
                std::env::var_os("IPVS_TEST_REQUIRE").is_none(),
                "{test}: {why}, and IPVS_TEST_REQUIRE is set"
            );
            println!("SKIP {test}: {why}");
            None
        }
    }
}

/// Moves the calling thread into a new network namespace with `lo` up.
fn enter_new_netns() {
    let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
    assert_eq!(
        rc,
        0,
        "unshare(CLONE_NEWNET): {}",
        std::io::Error::last_os_error()
    );
    sh(&["ip", "link", "set", "lo", "up"]);
}

/// A fresh namespace and a handle on its (empty) IPVS table.
fn setup(test: &str) -> Option<Ipvs> {
    skip_unless_ready(test)?;
    enter_new_netns();
    let mut ipvs = Ipvs::new().expect("open IPVS");
    assert!(ipvs.list_services().expect("list").is_empty());
    Some(ipvs)
}

/// Runs a command in the calling thread's namespace; fails the test if it
/// fails. Returns its standard output.
fn sh(argv: &[&str]) -> String {
    let out = Command::new(argv[0])
        .args(&argv[1..])
        .output()
        .unwrap_or_else(|e| panic!("{argv:?}: {e}"));
    assert!(
        out.status.success(),
        "{argv:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn ipvsadm(args: &[&str]) -> String {
    let mut argv = vec!["ipvsadm"];
    argv.extend_from_slice(args);
    sh(&argv)
}

/// The lines of `ipvsadm -Ln [extra]` without the header, with runs of
/// spaces collapsed to one.
fn table(extra: &[&str]) -> Vec<String> {
    let mut args = vec!["-Ln"];
    args.extend_from_slice(extra);
    ipvsadm(&args)
        .lines()
        .skip(3)
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

fn assert_has(lines: &[String], want: &str) {
    assert!(
        lines.iter().any(|l| l == want),
        "ipvsadm has no line {want:?}; it has:\n{}",
        lines.join("\n")
    );
}

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

#[test]
fn open_without_ipvs_is_one_clear_error() {
    match Ipvs::new() {
        Err(Error::NotAvailable) => {
            assert!(!have_ipvs(), "NotAvailable although /proc/net/ip_vs exists");
            let msg = Error::NotAvailable.to_string();
            assert!(msg.contains("modprobe ip_vs"), "{msg}");
        }
        Ok(mut ipvs) => {
            assert!(have_ipvs(), "IPVS opened but /proc/net/ip_vs is missing");
            let info = ipvs.info().expect("info");
            assert!(info.version_triple() >= (1, 2, 0), "{info:?}");
        }
        Err(e) => panic!("neither IPVS nor NotAvailable: {e}"),
    }
}

#[test]
fn info_matches_ipvsadm() {
    let Some(mut ipvs) = setup("info_matches_ipvsadm") else {
        return;
    };
    let info = ipvs.info().expect("info");
    let (a, b, c) = info.version_triple();
    let first = ipvsadm(&["-Ln"]);
    let want = format!(
        "IP Virtual Server version {a}.{b}.{c} (size={})",
        info.conn_table_size
    );
    assert_eq!(first.lines().next(), Some(want.as_str()));
}

#[test]
fn services_add_get_edit_delete() {
    let Some(mut ipvs) = setup("services_add_get_edit_delete") else {
        return;
    };
    let v6: IpAddr = "2001:db8::1".parse().expect("addr");
    let services = [
        (
            Service::new(ServiceKey::tcp(Ipv4Addr::new(10, 0, 0, 1), 80), "rr"),
            "TCP 10.0.0.1:80 rr",
        ),
        (
            Service::new(ServiceKey::udp(v6, 53), "wlc")
                .persistent(300)
                .netmask(64),
            "UDP [2001:db8::1]:53 wlc persistent 300 mask 64",
        ),
        (
            Service::new(ServiceKey::sctp(Ipv4Addr::new(10, 0, 0, 2), 9), "sh")
                .flags(ServiceFlags::SH_PORT | ServiceFlags::SH_FALLBACK),
            "SCTP 10.0.0.2:9 sh (sh-fallback,sh-port)",
        ),
        (
            Service::new(ServiceKey::fwmark(7), "wrr")
                .persistent(60)
                .netmask(24),
            "FWM 7 wrr persistent 60 mask 255.255.255.0",
        ),
        (
            Service::new(ServiceKey::fwmark6(8), "mh").flags(ServiceFlags::MH_PORT),
            "FWM 8 IPv6 mh (mh-port)",
        ),
        (
            Service::new(ServiceKey::udp(Ipv4Addr::new(10, 0, 0, 3), 53), "rr")
                .flags(ServiceFlags::ONE_PACKET),
            "UDP 10.0.0.3:53 rr ops",
        ),
    ];
    for (svc, _) in &services {
        ipvs.add_service(svc).expect("add");
    }
    let lines = table(&[]);
    for (svc, line) in &services {
        assert_has(&lines, line);
        let got = ipvs.get_service(&svc.key).expect("get");
        let mut want = svc.clone();
        want.flags |= ServiceFlags::HASHED;
        assert_eq!(got.service, want);
    }
    let listed = ipvs.list_services().expect("list");
    assert_eq!(listed.len(), services.len());

    // Adding again is Exists, naming the service.
    let e = ipvs.add_service(&services[0].0).expect_err("twice");
    assert!(matches!(e, Error::Exists { .. }), "{e:?}");
    assert!(e.to_string().contains("TCP 10.0.0.1:80"), "{e}");

    // Edit: another scheduler, persistence on, then off again.
    let key = services[0].0.key;
    let edited = Service::new(key, "wlc").persistent(120).netmask(16);
    ipvs.edit_service(&edited).expect("edit");
    assert_has(
        &table(&[]),
        "TCP 10.0.0.1:80 wlc persistent 120 mask 255.255.0.0",
    );
    assert_eq!(
        ipvs.get_service(&key).expect("get").service,
        edited.clone().flags(ServiceFlags::HASHED)
    );
    ipvs.edit_service(&Service::new(key, "lc")).expect("edit");
    assert_has(&table(&[]), "TCP 10.0.0.1:80 lc");

    // Delete each; afterwards get, delete and edit say NoSuchService.
    for (svc, _) in &services {
        ipvs.delete_service(&svc.key).expect("delete");
    }
    assert!(ipvs.list_services().expect("list").is_empty());
    assert!(table(&[]).is_empty());
    for r in [
        ipvs.get_service(&key).map(drop),
        ipvs.delete_service(&key),
        ipvs.edit_service(&edited),
    ] {
        assert!(matches!(r, Err(Error::NoSuchService { .. })), "{r:?}");
    }
}

/// The scheduler modules this kernel has (loadable or built in).
fn kernel_has_scheduler(name: &str) -> bool {
    let release = sh(&["uname", "-r"]);
    let dir = format!("/lib/modules/{}/kernel/net/netfilter/ipvs", release.trim());
    let module = format!("ip_vs_{name}.ko");
    let loadable = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with(&module))
        })
        .unwrap_or(false);
    let builtin =
        std::fs::read_to_string(format!("/lib/modules/{}/modules.builtin", release.trim()))
            .map(|b| b.lines().any(|l| l.ends_with(&format!("/{module}"))))
            .unwrap_or(false);
    loadable || builtin
}

#[test]
fn every_scheduler_the_kernel_has_and_a_clear_error_for_the_others() {
    let Some(mut ipvs) = setup("every_scheduler_the_kernel_has_and_a_clear_error_for_the_others")
    else {
        return;
    };
    let all = [
        "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh",
        "twos", "nosuch",
    ];
    let mut present = 0;
    for (i, name) in all.iter().enumerate() {
        let key = ServiceKey::tcp(Ipv4Addr::new(10, 1, 0, i as u8 + 1), 80);
        let r = ipvs.add_service(&Service::new(key, *name));
        if kernel_has_scheduler(name) {
            r.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_has(&table(&[]), &format!("TCP 10.1.0.{}:80 {name}", i + 1));
            present += 1;
        } else {
            match r {
                Err(e @ Error::SchedulerUnavailable { .. }) => {
                    let msg = e.to_string();
                    assert!(msg.contains(&format!("ip_vs_{name}")), "{msg}");
                    assert!(msg.contains(&format!("10.1.0.{}:80", i + 1)), "{msg}");
                }
                other => panic!("{name}: expected SchedulerUnavailable, got {other:?}"),
            }
        }
    }
    // Debian's kernel has at least the classic ones.
    assert!(present >= 11, "only {present} schedulers");
}

#[test]
fn destinations_every_forwarding_method_and_thresholds() {
    let Some(mut ipvs) = setup("destinations_every_forwarding_method_and_thresholds") else {
        return;
    };
    let key = ServiceKey::tcp(Ipv4Addr::new(10, 0, 0, 1), 80);
    ipvs.add_service(&Service::new(key, "wrr"))
        .expect("add service");
    let gue = Tunnel {
        kind: TunnelType::Gue,
        port: 6080,
        flags: TunnelFlags::REMCSUM,
    };
    let gre = Tunnel {
        kind: TunnelType::Gre,
        port: 0,
        flags: TunnelFlags::CSUM,
    };
    let dests = [
        Destination::new(v4(10, 0, 1, 2), 8080, ForwardMethod::Masq)
            .weight(3)
            .thresholds(5, 10),
        Destination::new(v4(10, 0, 1, 3), 80, ForwardMethod::Route).weight(0),
        Destination::new(v4(10, 0, 1, 4), 80, ForwardMethod::Tunnel(gue)),
        Destination::new(v4(10, 0, 1, 5), 80, ForwardMethod::Tunnel(gre)),
        Destination::new(v4(10, 0, 1, 6), 80, ForwardMethod::Tunnel(Tunnel::IPIP)),
    ];
    for d in &dests {
        ipvs.add_destination(&key, d)
            .unwrap_or_else(|e| panic!("{d:?}: {e}"));
    }
    let lines = table(&[]);
    for want in [
        "-> 10.0.1.2:8080 Masq 3 0 0",
        "-> 10.0.1.3:80 Route 0 0 0",
        "-> 10.0.1.4:80 Tunnel 1 0 0",
        "-> 10.0.1.5:80 Tunnel 1 0 0",
        "-> 10.0.1.6:80 Tunnel 1 0 0",
    ] {
        assert_has(&lines, want);
    }
    let th = table(&["--thresholds"]);
    assert_has(&th, "-> 10.0.1.2:8080 10 5 0 0");
    let tun = table(&["--tun-info"]);
    assert!(
        tun.iter()
            .any(|l| l.starts_with("-> 10.0.1.4:80 Tunnel gue:6080")),
        "{tun:?}"
    );
    assert_has(&tun, "-> 10.0.1.5:80 Tunnel gre:+c 1 0 0");
    assert_has(&tun, "-> 10.0.1.6:80 Tunnel ipip 1 0 0");

    // The other direction: the same destinations made by ipvsadm on a
    // second service read back equal to ours.
    ipvsadm(&["-A", "-t", "10.0.0.100:80", "-s", "wrr"]);
    for args in [
        "-r 10.0.1.2:8080 -m -w 3 -x 10 -y 5",
        "-r 10.0.1.3:80 -g -w 0",
        "-r 10.0.1.4:80 -i --tun-type gue --tun-port 6080 --tun-remcsum",
        "-r 10.0.1.5:80 -i --tun-type gre --tun-csum",
        "-r 10.0.1.6:80 -i",
    ] {
        let mut argv = vec!["-a", "-t", "10.0.0.100:80"];
        argv.extend(args.split_whitespace());
        ipvsadm(&argv);
    }
    let theirs = ipvs
        .list_destinations(&ServiceKey::tcp(Ipv4Addr::new(10, 0, 0, 100), 80))
        .expect("list");
    assert_eq!(theirs.len(), dests.len());
    for d in &dests {
        assert!(
            theirs.iter().any(|e| &e.destination == d),
            "ipvsadm's version of {d:?} differs: {theirs:?}"
        );
    }

    let listed = ipvs.list_destinations(&key).expect("list");
    assert_eq!(listed.len(), dests.len());
    for d in &dests {
        let got = listed
            .iter()
            .find(|e| e.destination.addr == d.addr)
            .unwrap_or_else(|| panic!("{} not listed", d.addr));
        assert_eq!(&got.destination, d);
        assert_eq!(got.active_conns, 0);
    }

    // Local and bypass are kept as given.
    let local = Destination::new(v4(10, 0, 1, 7), 80, ForwardMethod::Local);
    let bypass = Destination::new(v4(10, 0, 1, 8), 80, ForwardMethod::Bypass);
    for d in [local, bypass] {
        ipvs.add_destination(&key, &d)
            .unwrap_or_else(|e| panic!("{d:?}: {e}"));
        let got = ipvs.list_destinations(&key).expect("list");
        assert!(got.iter().any(|e| e.destination == d), "{d:?} in {got:?}");
    }
    assert_has(&table(&[]), "-> 10.0.1.7:80 Local 1 0 0");
    for d in [local, bypass] {
        ipvs.delete_destination(&key, d.addr, d.port)
            .expect("delete");
    }

    // Twice: Exists. Edit: weight and thresholds.
    assert!(matches!(
        ipvs.add_destination(&key, &dests[0]),
        Err(Error::Exists { .. })
    ));
    let edited = dests[0].weight(7).thresholds(0, 100);
    ipvs.edit_destination(&key, &edited).expect("edit");
    assert_has(&table(&[]), "-> 10.0.1.2:8080 Masq 7 0 0");
    assert_has(&table(&["--thresholds"]), "-> 10.0.1.2:8080 100 0 0 0");
    let got = ipvs.list_destinations(&key).expect("list");
    assert!(got.iter().any(|e| e.destination == edited));

    // A lower threshold above the upper one is refused before the kernel.
    let bad = dests[0].thresholds(10, 5);
    assert!(matches!(
        ipvs.edit_destination(&key, &bad),
        Err(Error::Invalid { .. })
    ));

    // Delete; deleting or editing again says which destination is missing.
    ipvs.delete_destination(&key, dests[1].addr, 80)
        .expect("delete");
    assert!(
        !table(&["-t", "10.0.0.1:80"])
            .iter()
            .any(|l| l.contains("10.0.1.3"))
    );
    assert!(
        !ipvs
            .list_destinations(&key)
            .expect("list")
            .iter()
            .any(|e| e.destination.addr == dests[1].addr)
    );
    let e = ipvs
        .delete_destination(&key, dests[1].addr, 80)
        .expect_err("again");
    assert!(matches!(e, Error::NoSuchDestination { .. }), "{e:?}");
    assert!(e.to_string().contains("10.0.1.3:80"), "{e}");
    assert!(matches!(
        ipvs.edit_destination(&key, &dests[1]),
        Err(Error::NoSuchDestination { .. })
    ));
    // A destination of a service that does not exist.
    let other = ServiceKey::tcp(Ipv4Addr::new(10, 9, 9, 9), 80);
    assert!(matches!(
        ipvs.add_destination(&other, &dests[0]),
        Err(Error::NoSuchService { .. })
    ));
    assert!(matches!(
        ipvs.list_destinations(&other),
        Err(Error::NoSuchService { .. })
    ));
}

#[test]
fn ipv6_and_fwmark_destinations() {
    let Some(mut ipvs) = setup("ipv6_and_fwmark_destinations") else {
        return;
    };
    let vip: IpAddr = "2001:db8::1".parse().expect("addr");
    let rs: IpAddr = "2001:db8::2".parse().expect("addr");
    let key6 = ServiceKey::tcp(vip, 443);
    ipvs.add_service(&Service::new(key6, "rr")).expect("add");
    let d6 = Destination::new(rs, 8443, ForwardMethod::Masq).weight(2);
    ipvs.add_destination(&key6, &d6).expect("add dest");
    assert_has(&table(&[]), "-> [2001:db8::2]:8443 Masq 2 0 0");
    let listed = ipvs.list_destinations(&key6).expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].destination, d6);

    let mark = ServiceKey::fwmark(42);
    ipvs.add_service(&Service::new(mark, "wlc")).expect("add");
    let d = Destination::new(v4(10, 0, 2, 2), 0, ForwardMethod::Route).weight(5);
    ipvs.add_destination(&mark, &d).expect("add dest");
    assert_has(&table(&[]), "FWM 42 wlc");
    assert_has(&table(&[]), "-> 10.0.2.2:0 Route 5 0 0");
    let listed = ipvs.list_destinations(&mark).expect("list");
    assert_eq!(listed[0].destination, d);
    ipvs.delete_destination(&mark, d.addr, 0).expect("delete");
    assert!(ipvs.list_destinations(&mark).expect("list").is_empty());
}

#[test]
fn large_dumps_come_in_several_messages() {
    let Some(mut ipvs) = setup("large_dumps_come_in_several_messages") else {
        return;
    };
    // Far more than one receive buffer holds (a service is ~300 bytes).
    const SERVICES: u16 = 400;
    const DESTS: u16 = 300;
    for i in 0..SERVICES {
        let key = ServiceKey::tcp(Ipv4Addr::new(10, 3, (i >> 8) as u8, i as u8), 80);
        ipvs.add_service(&Service::new(key, "wlc")).expect("add");
    }
    let key = ServiceKey::tcp(Ipv4Addr::new(10, 3, 0, 0), 80);
    for i in 0..DESTS {
        let d = Destination::new(
            Ipv4Addr::new(10, 4, (i >> 8) as u8, i as u8),
            8080,
            ForwardMethod::Masq,
        )
        .weight(u32::from(i));
        ipvs.add_destination(&key, &d).expect("add dest");
    }
    let services = ipvs.list_services().expect("list");
    assert_eq!(services.len(), usize::from(SERVICES));
    let dests = ipvs.list_destinations(&key).expect("list dests");
    assert_eq!(dests.len(), usize::from(DESTS));
    let mut weights: Vec<u32> = dests.iter().map(|d| d.destination.weight).collect();
    weights.sort_unstable();
    assert_eq!(weights, (0..u32::from(DESTS)).collect::<Vec<_>>());
    // ipvsadm agrees on the count.
    let lines = table(&[]);
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("TCP ")).count(),
        usize::from(SERVICES)
    );
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("-> ")).count(),
        usize::from(DESTS)
    );
}

#[test]
fn persistence_engine_sip() {
    let Some(mut ipvs) = setup("persistence_engine_sip") else {
        return;
    };
    let key = ServiceKey::udp(Ipv4Addr::new(10, 0, 0, 4), 5060);
    let svc = Service {
        pe_name: Some("sip".into()),
        ..Service::new(key, "rr").persistent(10)
    };
    ipvs.add_service(&svc).expect("add");
    assert_eq!(
        ipvs.get_service(&key).expect("get").service,
        svc.clone().flags(ServiceFlags::HASHED)
    );
    let lines = table(&[]);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("UDP 10.0.0.4:5060 rr persistent 10") && l.contains("pe sip")),
        "{lines:?}"
    );
    // An unknown engine is refused, naming both names.
    let bad = Service {
        pe_name: Some("nosuch".into()),
        ..Service::new(ServiceKey::udp(Ipv4Addr::new(10, 0, 0, 5), 5060), "rr").persistent(10)
    };
    let e = ipvs.add_service(&bad).expect_err("unknown engine");
    assert!(matches!(e, Error::Invalid { .. }), "{e:?}");
    assert!(e.to_string().contains("\"nosuch\""), "{e}");
}

#[test]
fn flush_removes_every_service() {
    let Some(mut ipvs) = setup("flush_removes_every_service") else {
        return;
    };
    for i in 1..=3 {
        let key = ServiceKey::udp(Ipv4Addr::new(10, 2, 0, i), 53);
        ipvs.add_service(&Service::new(key, "rr")).expect("add");
    }
    assert_eq!(table(&[]).len(), 3);
    ipvs.flush().expect("flush");
    assert!(table(&[]).is_empty());
    assert!(ipvs.list_services().expect("list").is_empty());
}

#[test]
fn timeouts_get_and_set() {
    let Some(mut ipvs) = setup("timeouts_get_and_set") else {
        return;
    };
    let parse = || -> Vec<u32> {
        let out = ipvsadm(&["-Ln", "--timeout"]);
        let line = out
            .lines()
            .find(|l| l.starts_with("Timeout (tcp tcpfin udp):"))
            .unwrap_or_else(|| panic!("no timeout line in {out}"));
        line.split(':')
            .nth(1)
            .unwrap_or_default()
            .split_whitespace()
            .map(|n| n.parse().expect("number"))
            .collect()
    };
    let before = ipvs.timeouts().expect("get");
    assert_eq!(parse(), vec![before.tcp, before.tcp_fin, before.udp]);
    let t = Timeouts {
        tcp: 100,
        tcp_fin: 20,
        udp: 30,
    };
    ipvs.set_timeouts(&t).expect("set");
    assert_eq!(ipvs.timeouts().expect("get"), t);
    assert_eq!(parse(), vec![100, 20, 30]);
    // 0 leaves a value unchanged.
    ipvs.set_timeouts(&Timeouts {
        tcp: 0,
        tcp_fin: 0,
        udp: 45,
    })
    .expect("set");
    assert_eq!(parse(), vec![100, 20, 45]);
}

#[test]
fn sync_daemons_start_list_stop() {
    let Some(mut ipvs) = setup("sync_daemons_start_list_stop") else {
        return;
    };
    sh(&["ip", "link", "add", "sync0", "type", "dummy"]);
    sh(&["ip", "link", "set", "sync0", "up", "multicast", "on"]);
    assert!(ipvs.list_sync_daemons().expect("list").is_empty());
    ipvs.start_sync_daemon(&SyncDaemon::new(SyncState::Master, "sync0", 5))
        .expect("start master");
    let backup = SyncDaemon {
        max_len: Some(1400),
        mcast_group: Some(v4(224, 0, 0, 99)),
        mcast_port: Some(9000),
        mcast_ttl: Some(3),
        ..SyncDaemon::new(SyncState::Backup, "sync0", 6)
    };
    ipvs.start_sync_daemon(&backup).expect("start backup");

    let listed = ipvs.list_sync_daemons().expect("list");
    assert_eq!(listed.len(), 2, "{listed:?}");
    let master = listed
        .iter()
        .find(|d| d.state == SyncState::Master)
        .expect("master listed");
    assert_eq!((master.ifname.as_str(), master.sync_id), ("sync0", 5));
    // The kernel fills in its defaults for what was not given.
    assert_eq!(master.mcast_group, Some(v4(224, 0, 0, 81)));
    assert_eq!(master.mcast_port, Some(8848));
    let got_backup = listed
        .iter()
        .find(|d| d.state == SyncState::Backup)
        .expect("backup listed");
    assert_eq!(got_backup, &backup);

    let out = ipvsadm(&["-Ln", "--daemon"]);
    assert!(
        out.contains("master sync daemon (mcast=sync0, syncid=5"),
        "{out}"
    );
    assert!(
        out.contains("backup sync daemon (mcast=sync0, syncid=6, maxlen=1400, group=224.0.0.99, port=9000, ttl=3)"),
        "{out}"
    );

    // Twice: Exists.
    assert!(matches!(
        ipvs.start_sync_daemon(&SyncDaemon::new(SyncState::Master, "sync0", 5)),
        Err(Error::Exists { .. })
    ));
    ipvs.stop_sync_daemon(SyncState::Master)
        .expect("stop master");
    let listed = ipvs.list_sync_daemons().expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].state, SyncState::Backup);
    ipvs.stop_sync_daemon(SyncState::Backup)
        .expect("stop backup");
    assert!(ipvs.list_sync_daemons().expect("list").is_empty());
    // An IPv6 multicast group.
    let v6 = SyncDaemon {
        mcast_group: Some("ff02::8".parse().expect("addr")),
        mcast_port: Some(8850),
        ..SyncDaemon::new(SyncState::Backup, "sync0", 7)
    };
    ipvs.start_sync_daemon(&v6).expect("start v6 backup");
    let listed = ipvs.list_sync_daemons().expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].mcast_group, v6.mcast_group);
    assert_eq!(listed[0].mcast_port, Some(8850));
    let out = ipvsadm(&["-Ln", "--daemon"]);
    assert!(
        out.contains("syncid=7") && out.contains("group=ff02::8"),
        "{out}"
    );
    ipvs.stop_sync_daemon(SyncState::Backup)
        .expect("stop v6 backup");
    let e = ipvs
        .stop_sync_daemon(SyncState::Backup)
        .expect_err("stopped already");
    assert!(matches!(e, Error::NotRunning { .. }), "{e:?}");
    assert_eq!(e.to_string(), "stop sync daemon backup: not running");
    // An interface that does not exist: the kernel's errno, with context.
    let e = ipvs
        .start_sync_daemon(&SyncDaemon::new(SyncState::Master, "nosuch0", 1))
        .expect_err("no such interface");
    assert!(
        e.to_string()
            .starts_with("start sync daemon master on nosuch0"),
        "{e}"
    );
    assert!(!ipvsadm(&["-Ln", "--daemon"]).contains("sync daemon"));
}

// ---------------------------------------------------------------------------
// Traffic: a client, a NAT director (this thread) and two real servers,
// each in a namespace of its own thread, joined by veth pairs.

/// A thread in a namespace of its own, told what to run once the director
/// has given it its interface.
struct Host {
    tid: i32,
    go: mpsc::Sender<()>,
    done: thread::JoinHandle<Vec<String>>,
}

fn spawn_host<F>(setup_cmds: Vec<Vec<String>>, work: F) -> Host
where
    F: FnOnce() -> Vec<String> + Send + 'static,
{
    let (tid_tx, tid_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let done = thread::spawn(move || {
        enter_new_netns();
        tid_tx.send(unsafe { libc::gettid() }).expect("send tid");
        go_rx.recv().expect("go");
        for c in &setup_cmds {
            let argv: Vec<&str> = c.iter().map(String::as_str).collect();
            sh(&argv);
        }
        work()
    });
    let tid = tid_rx.recv().expect("tid");
    Host {
        tid,
        go: go_tx,
        done,
    }
}

fn cmds(list: &[&str]) -> Vec<Vec<String>> {
    list.iter()
        .map(|c| c.split_whitespace().map(str::to_owned).collect())
        .collect()
}

/// A real server: says on `listening` once it listens, then answers `n`
/// connections with its name.
fn real_server(name: &'static str, n: usize, listening: mpsc::Sender<()>) -> Vec<String> {
    let l = TcpListener::bind("0.0.0.0:80").expect("bind :80");
    listening.send(()).expect("listening");
    let mut seen = Vec::new();
    for _ in 0..n {
        let (mut s, peer) = l.accept().expect("accept");
        s.write_all(format!("{name}\n").as_bytes()).expect("write");
        seen.push(peer.ip().to_string());
    }
    seen
}

/// The client: `n` connections to `vip`, one after the other; the
/// answers.
fn client_requests(vip: SocketAddr, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| {
            let mut s = TcpStream::connect_timeout(&vip, Duration::from_secs(5))
                .expect("connect to the VIP");
            s.set_read_timeout(Some(Duration::from_secs(5)))
                .expect("timeout");
            let mut answer = String::new();
            s.read_to_string(&mut answer).expect("read");
            answer.trim().to_owned()
        })
        .collect()
}

/// The hosts of a traffic test: a client and two real servers, which say
/// on `listening` once they listen.
struct Lab {
    client: Host,
    rs1: Host,
    rs2: Host,
    listening: mpsc::Receiver<()>,
}

impl Lab {
    /// Joins each host to the director (this thread) by a veth pair,
    /// `dcl`–`cl`, `drs1`–`rs1` and `drs2`–`rs2`, and sets the director's
    /// end with `ip link set <end> <link_set>`.
    fn link(&self, link_set: &[&str]) {
        for (here, there, host) in [
            ("dcl", "cl", &self.client),
            ("drs1", "rs1", &self.rs1),
            ("drs2", "rs2", &self.rs2),
        ] {
            let tid = host.tid.to_string();
            sh(&[
                "ip", "link", "add", here, "type", "veth", "peer", "name", there, "netns", &tid,
            ]);
            let mut argv = vec!["ip", "link", "set", here];
            argv.extend_from_slice(link_set);
            sh(&argv);
        }
    }

    /// Sends the client's `requests` and checks that the answers alternate
    /// between the real servers (round robin) and that the real servers
    /// saw the client as `client_ip`; returns the answers.
    fn run(self, requests: usize, client_ip: &str) -> Vec<String> {
        // Real servers first: the client starts once both listen.
        self.rs1.go.send(()).expect("go");
        self.rs2.go.send(()).expect("go");
        for _ in 0..2 {
            self.listening
                .recv_timeout(Duration::from_secs(30))
                .expect("a real server listens");
        }
        self.client.go.send(()).expect("go");

        let answers = self.client.done.join().expect("client");
        let seen1 = self.rs1.done.join().expect("rs1");
        let seen2 = self.rs2.done.join().expect("rs2");
        assert_eq!(answers.len(), requests);
        for pair in answers.windows(2) {
            assert_ne!(pair[0], pair[1], "rr must alternate: {answers:?}");
        }
        for peer in seen1.iter().chain(&seen2) {
            assert_eq!(peer, client_ip);
        }
        answers
    }
}

/// Adds the round-robin service `key` with the real servers `rs` on port
/// 80, reached by `forward`.
fn add_rr_service(ipvs: &mut Ipvs, key: ServiceKey, rs: [IpAddr; 2], forward: ForwardMethod) {
    ipvs.add_service(&Service::new(key, "rr"))
        .expect("add service");
    for rs in rs {
        ipvs.add_destination(&key, &Destination::new(rs, 80, forward))
            .expect("add destination");
    }
}

/// Service `key` once its statistics count `requests` connections, each
/// with at least 3 packets in. The kernel folds its per-CPU counters into
/// what it reports every 2 s (the rate estimator), so this waits for them.
fn served(ipvs: &mut Ipvs, key: &ServiceKey, requests: usize) -> ServiceEntry {
    let mut svc = ipvs.get_service(key).expect("get");
    for _ in 0..50 {
        if svc.stats.conns >= requests as u64 {
            break;
        }
        thread::sleep(Duration::from_millis(200));
        svc = ipvs.get_service(key).expect("get");
    }
    assert_eq!(svc.stats.conns, requests as u64, "{:?}", svc.stats);
    assert!(
        svc.stats.in_packets >= 3 * requests as u64,
        "{:?}",
        svc.stats
    );
    svc
}

#[test]
fn dr_traffic_alternates_between_real_servers_with_rr() {
    let Some(mut ipvs) = setup("dr_traffic_alternates_between_real_servers_with_rr") else {
        return;
    };
    const REQUESTS: usize = 6;
    // One LAN (a bridge in the director's namespace). The real servers hold
    // the VIP on lo and neither answer nor announce ARP for it, so that
    // the client reaches the director, which forwards at layer 2; the real
    // servers answer the client directly, from the VIP.
    let (listening, listen_rx) = mpsc::channel();
    let real = |ip: &str, name: &'static str| {
        let listening = listening.clone();
        spawn_host(
            cmds(&[
                "sysctl -qw net.ipv4.conf.all.arp_ignore=1",
                "sysctl -qw net.ipv4.conf.all.arp_announce=2",
                "ip addr add 10.20.0.100/32 dev lo",
                &format!("ip addr add {ip}/24 dev {name}"),
                &format!("ip link set {name} up"),
            ]),
            move || real_server(name, REQUESTS / 2, listening),
        )
    };
    let lab = Lab {
        rs1: real("10.20.0.11", "rs1"),
        rs2: real("10.20.0.12", "rs2"),
        client: spawn_host(
            cmds(&["ip addr add 10.20.0.2/24 dev cl", "ip link set cl up"]),
            || client_requests(SocketAddr::new(v4(10, 20, 0, 100), 80), REQUESTS),
        ),
        listening: listen_rx,
    };
    sh(&["ip", "link", "add", "br0", "type", "bridge"]);
    sh(&["ip", "link", "set", "br0", "up"]);
    sh(&["ip", "addr", "add", "10.20.0.1/24", "dev", "br0"]);
    sh(&["ip", "addr", "add", "10.20.0.100/32", "dev", "br0"]);
    lab.link(&["master", "br0", "up"]);
    let key = ServiceKey::tcp(Ipv4Addr::new(10, 20, 0, 100), 80);
    add_rr_service(
        &mut ipvs,
        key,
        [v4(10, 20, 0, 11), v4(10, 20, 0, 12)],
        ForwardMethod::Route,
    );
    lab.run(REQUESTS, "10.20.0.2");
    // Only the client's half goes through the director with DR: packets
    // in, none out.
    let svc = served(&mut ipvs, &key, REQUESTS);
    assert_eq!(svc.stats.out_packets, 0, "{:?}", svc.stats);
}

#[test]
fn nat_traffic_alternates_between_real_servers_with_rr() {
    let Some(mut ipvs) = setup("nat_traffic_alternates_between_real_servers_with_rr") else {
        return;
    };
    const REQUESTS: usize = 6;
    // One subnet per host, 10.10.<n>.0/24, with the director at .1 and
    // the host at .2 (0: the client, 1 and 2: the real servers).
    let (listening, listen_rx) = mpsc::channel();
    let real = |n: u8, name: &'static str| {
        let listening = listening.clone();
        spawn_host(
            cmds(&[
                &format!("ip addr add 10.10.{n}.2/24 dev {name}"),
                &format!("ip link set {name} up"),
                &format!("ip route add default via 10.10.{n}.1"),
            ]),
            move || real_server(name, REQUESTS / 2, listening),
        )
    };
    let lab = Lab {
        rs1: real(1, "rs1"),
        rs2: real(2, "rs2"),
        client: spawn_host(
            cmds(&[
                "ip addr add 10.10.0.2/24 dev cl",
                "ip link set cl up",
                "ip route add default via 10.10.0.1",
            ]),
            || client_requests(SocketAddr::new(v4(10, 10, 0, 1), 80), REQUESTS),
        ),
        listening: listen_rx,
    };
    // The director: this thread's namespace.
    lab.link(&["up"]);
    sh(&["ip", "addr", "add", "10.10.0.1/24", "dev", "dcl"]);
    sh(&["ip", "addr", "add", "10.10.1.1/24", "dev", "drs1"]);
    sh(&["ip", "addr", "add", "10.10.2.1/24", "dev", "drs2"]);
    std::fs::write("/proc/sys/net/ipv4/ip_forward", "1").expect("ip_forward");

    let key = ServiceKey::tcp(Ipv4Addr::new(10, 10, 0, 1), 80);
    add_rr_service(
        &mut ipvs,
        key,
        [v4(10, 10, 1, 2), v4(10, 10, 2, 2)],
        ForwardMethod::Masq,
    );
    // NAT keeps the client's address: the real servers saw 10.10.0.2.
    let answers = lab.run(REQUESTS, "10.10.0.2");
    assert!(
        answers.iter().all(|a| a == "rs1" || a == "rs2"),
        "{answers:?}"
    );
    // The statistics count what went through.
    let svc = served(&mut ipvs, &key, REQUESTS);
    assert!(svc.stats.out_bytes > 0);
    for d in ipvs.list_destinations(&key).expect("list") {
        assert_eq!(d.stats.conns, (REQUESTS / 2) as u64, "{d:?}");
    }
    let stats = table(&["--stats"]);
    assert!(
        stats
            .iter()
            .any(|l| l.starts_with(&format!("TCP 10.10.0.1:80 {REQUESTS} "))),
        "{stats:?}"
    );

    // Zero: the counters start again from nothing.
    ipvs.zero().expect("zero");
    let svc = ipvs.get_service(&key).expect("get");
    assert_eq!(svc.stats.conns, 0, "{:?}", svc.stats);
    assert!(
        table(&["--stats"])
            .iter()
            .any(|l| l == "TCP 10.10.0.1:80 0 0 0 0 0")
    );
}

#[test]
fn service_keys_display_as_ipvsadm_does() {
    // Display forms used in errors and by the daemon's logs.
    assert_eq!(
        ServiceKey::udp(Ipv6Addr::LOCALHOST, 53).to_string(),
        "UDP [::1]:53"
    );
    assert_eq!(ServiceKey::fwmark(3).to_string(), "FWM 3 IPv4");
}
