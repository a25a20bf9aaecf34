//! ICMP echo against loopback (raw and datagram sockets) and against an
//! unreachable address inside a namespace of our own.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use common::{Netns, drive, inner, is_root};
use healthcheck::{
    CheckKind, CheckSpec, Detail, IcmpMode, IcmpSpec, Outcome, Runner, Status, TcpSpec,
};

fn icmp(name: &str, addr: &str, mode: IcmpMode) -> CheckSpec {
    let addr: IpAddr = addr.parse().unwrap();
    CheckSpec::new(name, CheckKind::Icmp(IcmpSpec { addr, mode }))
        .interval(Duration::from_millis(20))
        .timeout(Duration::from_millis(300))
        .init_fail(true)
}

/// Runs the checks until each has `n` results; returns the runner.
fn results(specs: Vec<CheckSpec>, n: u64) -> Runner {
    let mut r = Runner::new().unwrap();
    let now = Instant::now();
    let ids: Vec<_> = specs
        .into_iter()
        .map(|s| r.checker().add(s, now).unwrap())
        .collect();
    let (_, ok) = drive(&mut r, Duration::from_secs(10), |c, _| {
        ids.iter().all(|&i| c.state(i).unwrap().results() >= n)
    });
    assert!(ok, "checks did not produce {n} results");
    r
}

fn assert_all_replies(r: &mut Runner) {
    let ids: Vec<_> = r.checker().ids().collect();
    for id in ids {
        let c = r.checker();
        let name = c.spec(id).unwrap().name.clone();
        let res = c.last_result(id).unwrap();
        assert_eq!(res.outcome, Outcome::Success, "{name}: {}", res.detail);
        assert!(
            matches!(res.detail, Detail::EchoReply { .. }),
            "{name}: {}",
            res.detail
        );
        assert_eq!(c.state(id).unwrap().status(), Status::Ok, "{name}");
    }
}

#[test]
fn loopback_raw_sockets() {
    if !is_root() {
        eprintln!("SKIP: raw ICMP sockets need root");
        return;
    }
    let mut r = results(
        vec![
            icmp("v4-raw", "127.0.0.1", IcmpMode::Raw),
            icmp("v6-raw", "::1", IcmpMode::Raw),
            icmp("v4-auto", "127.0.0.1", IcmpMode::Auto),
            icmp("v6-auto", "::1", IcmpMode::Auto),
            // Two checks on the same target: replies are matched by id and sequence.
            icmp("v4-raw-2", "127.0.0.1", IcmpMode::Raw),
        ],
        5,
    );
    assert_all_replies(&mut r);
}

#[test]
fn namespace_datagram_and_unreachable() {
    let Some(ns) = Netns::new("hc-icmp") else {
        return;
    };
    // A veth pair inside the namespace: 10.99.7.1/24 on hc-u0, and a
    // permanent neighbour entry for 10.99.7.2 with a MAC nobody has, so
    // packets to it leave hc-u0 and are dropped by the peer: probes time out.
    // Unprivileged ping sockets are enabled for every group here.
    assert!(ns.ip(&[
        "link", "add", "hc-u0", "type", "veth", "peer", "name", "hc-u1"
    ]));
    assert!(ns.ip(&["link", "set", "hc-u0", "up"]));
    assert!(ns.ip(&["link", "set", "hc-u1", "up"]));
    assert!(ns.ip(&["addr", "add", "10.99.7.1/24", "dev", "hc-u0"]));
    assert!(ns.ip(&[
        "neigh",
        "add",
        "10.99.7.2",
        "lladdr",
        "02:00:5e:63:07:02",
        "dev",
        "hc-u0",
        "nud",
        "permanent"
    ]));
    assert!(ns.exec(&[
        "sysctl",
        "-q",
        "-w",
        "net.ipv4.ping_group_range=0 2147483647"
    ]));
    ns.run_inner_test("inner_icmp_in_namespace");
}

#[test]
#[ignore = "runs inside the hc-icmp namespace, started by namespace_datagram_and_unreachable"]
fn inner_icmp_in_namespace() {
    if !inner() {
        return;
    }
    let mut r = results(
        vec![
            icmp("v4-dgram", "127.0.0.1", IcmpMode::Datagram),
            icmp("v6-dgram", "::1", IcmpMode::Datagram),
            icmp("v4-local", "10.99.7.1", IcmpMode::Datagram),
        ],
        5,
    );
    assert_all_replies(&mut r);

    let mut r = Runner::new().unwrap();
    let now = Instant::now();
    let spec = icmp("unreach-dgram", "10.99.7.2", IcmpMode::Datagram)
        .init_fail(false)
        .fall(2)
        .interval(Duration::from_millis(100))
        .timeout(Duration::from_millis(200));
    let a = r.checker().add(spec, now).unwrap();
    let spec = icmp("unreach-raw", "10.99.7.2", IcmpMode::Raw)
        .init_fail(false)
        .interval(Duration::from_millis(100))
        .timeout(Duration::from_millis(200));
    let b = r.checker().add(spec, now).unwrap();
    let tcp = CheckSpec::new(
        "tcp-unreach",
        CheckKind::Tcp(TcpSpec {
            addr: "10.99.7.2:80".parse().unwrap(),
        }),
    )
    .interval(Duration::from_millis(100))
    .timeout(Duration::from_millis(200));
    let c = r.checker().add(tcp, now).unwrap();
    let t0 = Instant::now();
    let (ev, ok) = drive(&mut r, Duration::from_secs(5), |_, ev| {
        [a, b, c].iter().all(|id| ev.iter().any(|e| e.id == *id))
    });
    assert!(ok, "{ev:?}");
    for e in &ev {
        assert_eq!(e.transition.to, Status::Failed, "{e}");
        assert_eq!(e.result.detail, Detail::TimedOut, "{e}");
    }
    // fall=2 with 100 ms interval and 200 ms timeout: about 0.3..0.5 s.
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    println!("inner icmp ok");
}
