//! rtnetlink: VIPs, stale VIPs, link/address events and macvlan, checked
//! against `ip` output inside network namespaces (see tests/common).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use common::{Lab, eth0};
use netif::{Error, Family, NetEvent, NetEvents, Netlink, OperState, virtual_mac};

fn ip_addr_show(lab: &Lab, ns: &str) -> String {
    lab.exec(ns, &["ip", "addr", "show", "dev", "eth0"])
}

#[test]
fn vips_come_and_go_idempotently() {
    let Some(lab) = Lab::new("vip", 1) else {
        return;
    };
    let ns = lab.hosts[0].clone();
    let v4: IpAddr = "10.99.0.100".parse().unwrap();
    let v6: IpAddr = "fd00:99::100".parse().unwrap();
    lab.run_in(&ns, move || {
        let mut nl = Netlink::new().unwrap();
        let idx = eth0();
        assert!(nl.add_addr(idx, v4, 32, Some("eth0:vip")).unwrap());
        assert!(nl.add_addr(idx, v6, 128, None).unwrap());
        // Idempotent: EEXIST is not an error.
        assert!(!nl.add_addr(idx, v4, 32, Some("eth0:vip")).unwrap());
        assert!(!nl.add_addr(idx, v6, 128, None).unwrap());
        let addrs = nl.addrs(Some(idx)).unwrap();
        let a4 = addrs.iter().find(|a| a.addr == v4).expect("v4 VIP listed");
        assert_eq!((a4.prefix_len, a4.label.as_deref()), (32, Some("eth0:vip")));
        let a6 = addrs.iter().find(|a| a.addr == v6).expect("v6 VIP listed");
        assert_eq!(a6.prefix_len, 128);
        assert_ne!(a6.flags & netif::IfAddr::F_NODAD, 0, "added with NODAD");
        assert_eq!(a6.flags & netif::IfAddr::F_TENTATIVE, 0, "usable at once");
        // The primary address is not the VIP.
        assert_eq!(
            nl.primary_ipv4(idx, &[v4]).unwrap(),
            Some("10.99.0.1".parse().unwrap())
        );
        // A label that does not start with the interface name is refused
        // before the kernel sees it; so is a label on IPv6.
        let e = nl
            .add_addr(idx, "10.99.0.101".parse().unwrap(), 32, Some("lo:x"))
            .unwrap_err();
        assert!(matches!(e, Error::InvalidLabel { .. }), "{e}");
        assert!(matches!(
            nl.add_addr(idx, v6, 128, Some("eth0:x")).unwrap_err(),
            Error::LabelOnIpv6 { .. }
        ));
        // A kernel error carries operation, interface and errno.
        let e = nl.add_addr(9999, v4, 32, None).unwrap_err();
        match e {
            Error::AddAddr {
                ifindex, source, ..
            } => {
                assert_eq!(ifindex, 9999);
                assert_eq!(source.raw_os_error(), Some(libc::ENODEV));
            }
            other => panic!("unexpected {other:?}"),
        }
    });
    let shown = ip_addr_show(&lab, &ns);
    assert!(shown.contains("inet 10.99.0.100/32"), "{shown}");
    assert!(shown.contains("eth0:vip"), "{shown}");
    assert!(shown.contains("inet6 fd00:99::100/128"), "{shown}");
    lab.run_in(&ns, move || {
        let mut nl = Netlink::new().unwrap();
        let idx = eth0();
        assert!(nl.del_addr(idx, v4, 32).unwrap());
        assert!(nl.del_addr(idx, v6, 128).unwrap());
        // Idempotent: EADDRNOTAVAIL is not an error.
        assert!(!nl.del_addr(idx, v4, 32).unwrap());
        assert!(!nl.del_addr(idx, v6, 128).unwrap());
        let addrs = nl.addrs(Some(idx)).unwrap();
        assert!(!addrs.iter().any(|a| a.addr == v4 || a.addr == v6));
    });
    let shown = ip_addr_show(&lab, &ns);
    assert!(!shown.contains("10.99.0.100"), "{shown}");
    assert!(!shown.contains("fd00:99::100"), "{shown}");
    assert!(
        shown.contains("10.99.0.1/24"),
        "host address untouched: {shown}"
    );
}

#[test]
fn stale_vips_left_by_a_crashed_run_are_found() {
    let Some(lab) = Lab::new("stale", 1) else {
        return;
    };
    let ns = lab.hosts[0].clone();
    // What a crashed earlier run leaves behind, added by someone else.
    lab.exec(
        &ns,
        &[
            "ip",
            "addr",
            "add",
            "10.99.0.150/32",
            "dev",
            "eth0",
            "label",
            "eth0:vrrp",
        ],
    );
    lab.exec(
        &ns,
        &[
            "ip",
            "addr",
            "add",
            "fd00:99::150/128",
            "dev",
            "eth0",
            "nodad",
        ],
    );
    lab.run_in(&ns, || {
        let mut nl = Netlink::new().unwrap();
        let idx = eth0();
        let all = nl.addrs(None).unwrap();
        assert!(all.iter().any(|a| a.ifindex == 1), "lo listed too");
        let mine = nl.addrs(Some(idx)).unwrap();
        assert!(mine.iter().all(|a| a.ifindex == idx));
        // Found by label...
        let labelled: Vec<_> = mine
            .iter()
            .filter(|a| a.label.as_deref() == Some("eth0:vrrp"))
            .collect();
        assert_eq!(labelled.len(), 1, "{mine:?}");
        assert_eq!(labelled[0].addr.to_string(), "10.99.0.150");
        // ...or by the configured VIPs, and removed.
        let vips: Vec<IpAddr> = vec![
            "10.99.0.150".parse().unwrap(),
            "fd00:99::150".parse().unwrap(),
            "10.99.0.151".parse().unwrap(), // not present: fine
        ];
        let removed = nl.remove_stale_vips(idx, &vips).unwrap();
        let mut got: Vec<_> = removed.iter().map(|a| (a.addr, a.prefix_len)).collect();
        got.sort();
        assert_eq!(got, vec![(vips[0], 32), (vips[1], 128)]);
        let left = nl.addrs(Some(idx)).unwrap();
        assert!(!left.iter().any(|a| vips.contains(&a.addr)));
        assert!(nl.remove_stale_vips(idx, &vips).unwrap().is_empty());
    });
    let shown = ip_addr_show(&lab, &ns);
    assert!(!shown.contains(".150"), "{shown}");
}

#[test]
fn interface_lookups() {
    let Some(lab) = Lab::new("look", 1) else {
        return;
    };
    let ns = lab.hosts[0].clone();
    let mac_line = lab.exec(&ns, &["cat", "/sys/class/net/eth0/address"]);
    let mac = mac_line.trim().to_owned();
    lab.run_in(&ns, move || {
        let mut nl = Netlink::new().unwrap();
        let idx = eth0();
        let link = nl.link_by_name("eth0").unwrap();
        assert_eq!(link.ifindex, idx);
        assert_eq!(link.name, "eth0");
        assert_eq!(link.kind.as_deref(), Some("veth"));
        let m = link.mac.unwrap();
        let s = m
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":");
        assert_eq!(s, mac);
        assert_eq!(nl.mac(idx).unwrap(), Some(m));
        assert_eq!(nl.oper_state(idx).unwrap(), OperState::Up);
        assert!(link.is_usable());
        assert_eq!(
            nl.primary_ipv4(idx, &[]).unwrap(),
            Some("10.99.0.1".parse().unwrap())
        );
        let ll = nl.ipv6_link_local(idx, &[]).unwrap().unwrap();
        assert_eq!(ll.segments()[0], 0xfe80);
        assert!(matches!(
            netif::ifindex("nosuch0"),
            Err(Error::NoSuchInterface { .. })
        ));
        assert!(nl.links().unwrap().iter().any(|l| l.name == "lo"));
        assert!(matches!(
            nl.link(9999),
            Err(Error::GetLink { ifindex: 9999, .. })
        ));
    });
}

/// Reads events until `pred` has matched every wanted item or 5 s passed.
fn collect_until(ev: &mut NetEvents, mut done: impl FnMut(&[NetEvent]) -> bool) -> Vec<NetEvent> {
    let mut poll = mio::Poll::new().unwrap();
    poll.registry()
        .register(ev, mio::Token(0), mio::Interest::READABLE)
        .unwrap();
    let mut events = mio::Events::with_capacity(8);
    let mut out = Vec::new();
    let start = Instant::now();
    while !done(&out) && start.elapsed() < Duration::from_secs(5) {
        poll.poll(&mut events, Some(Duration::from_millis(100)))
            .unwrap();
        ev.read(&mut out).unwrap();
    }
    poll.registry().deregister(ev).unwrap();
    out
}

#[test]
fn link_flap_and_foreign_address_removal_produce_events() {
    let Some(lab) = Lab::new("flap", 1) else {
        return;
    };
    let ns = lab.hosts[0].clone();
    let ns2 = ns.clone();
    let (tx, rx) = std::sync::mpsc::channel::<&'static str>();
    let (ack_tx, ack_rx) = std::sync::mpsc::channel::<()>();
    // The shell side: acts when the event side asks.
    let actor = std::thread::spawn(move || {
        let lab_exec = |args: &[&str]| {
            let mut v = vec!["ip", "netns", "exec", ns2.as_str()];
            v.extend_from_slice(args);
            common::must(&v)
        };
        while let Ok(step) = rx.recv() {
            match step {
                "del" => lab_exec(&["ip", "addr", "del", "10.99.0.100/32", "dev", "eth0"]),
                "down" => lab_exec(&["ip", "link", "set", "eth0", "down"]),
                "up" => lab_exec(&["ip", "link", "set", "eth0", "up"]),
                _ => break,
            };
            ack_tx.send(()).unwrap();
        }
    });
    let events = lab.run_in(&ns, move || {
        let mut nl = Netlink::new().unwrap();
        let idx = eth0();
        let mut ev = NetEvents::subscribe(&nl.links().unwrap()).unwrap();
        nl.add_addr(idx, "10.99.0.100".parse().unwrap(), 32, None).unwrap();
        nl.add_addr(idx, "fd00:99::100".parse().unwrap(), 128, None).unwrap();
        let added = collect_until(&mut ev, |e| {
            e.iter().filter(|e| matches!(e, NetEvent::AddrAdded(a) if a.addr.to_string().ends_with("::100") || a.addr.to_string() == "10.99.0.100")).count() == 2
        });
        tx.send("del").unwrap();
        ack_rx.recv().unwrap();
        let removed = collect_until(&mut ev, |e| {
            e.iter().any(|e| matches!(e, NetEvent::AddrRemoved(a) if a.addr.to_string() == "10.99.0.100"))
        });
        tx.send("down").unwrap();
        ack_rx.recv().unwrap();
        let down = collect_until(&mut ev, |e| {
            e.iter().any(|e| matches!(e, NetEvent::LinkDown(l) if l.ifindex == idx))
                && e.iter().any(|e| matches!(e, NetEvent::AddrRemoved(a) if a.addr.to_string() == "fd00:99::100"))
        });
        tx.send("up").unwrap();
        ack_rx.recv().unwrap();
        let up = collect_until(&mut ev, |e| {
            e.iter().any(|e| matches!(e, NetEvent::LinkUp(l) if l.ifindex == idx))
        });
        tx.send("stop").unwrap();
        (idx, added, removed, down, up)
    });
    actor.join().unwrap();
    let (idx, added, removed, down, up) = events;
    assert_eq!(
        added
            .iter()
            .filter(|e| matches!(e, NetEvent::AddrAdded(a) if a.ifindex == idx))
            .count(),
        2,
        "{added:?}"
    );
    assert!(
        removed
            .iter()
            .any(|e| matches!(e, NetEvent::AddrRemoved(a) if a.addr.to_string() == "10.99.0.100")),
        "{removed:?}"
    );
    assert!(
        down.iter()
            .any(|e| matches!(e, NetEvent::LinkDown(l) if l.ifindex == idx && !l.admin_up)),
        "{down:?}"
    );
    // The kernel flushes IPv6 addresses when the link goes down: reported
    // so the daemon can restore them.
    assert!(
        down.iter()
            .any(|e| matches!(e, NetEvent::AddrRemoved(a) if a.addr.to_string() == "fd00:99::100")),
        "{down:?}"
    );
    // Exactly one down transition, whatever number of RTM_NEWLINK came.
    assert_eq!(
        down.iter()
            .filter(|e| matches!(e, NetEvent::LinkDown(_)))
            .count(),
        1
    );
    assert!(
        up.iter().any(|e| matches!(e, NetEvent::LinkUp(l) if l.ifindex == idx && l.oper_state == OperState::Up)),
        "{up:?}"
    );
    assert_eq!(
        up.iter()
            .filter(|e| matches!(e, NetEvent::LinkUp(_)))
            .count(),
        1
    );
}

#[test]
fn macvlan_with_the_virtual_mac_comes_and_goes() {
    let Some(lab) = Lab::new("mv", 1) else { return };
    let ns = lab.hosts[0].clone();
    let vrid = vrrp_proto::Vrid::new(42).unwrap();
    let mac = virtual_mac(vrid, Family::V4);
    let idx = lab.run_in(&ns, move || {
        let mut nl = Netlink::new().unwrap();
        let parent = eth0();
        let idx = nl.create_macvlan(parent, "vrrp4.42", mac).unwrap();
        let link = nl.link(idx).unwrap();
        assert_eq!(link.mac, Some(mac));
        assert_eq!(link.kind.as_deref(), Some("macvlan"));
        assert_eq!(link.parent, Some(parent));
        assert!(!link.admin_up, "created down");
        nl.set_link_up(idx, true).unwrap();
        assert!(nl.link(idx).unwrap().admin_up);
        // Creating it twice is an error that names the interface.
        let e = nl.create_macvlan(parent, "vrrp4.42", mac).unwrap_err();
        assert!(
            matches!(&e, Error::CreateMacvlan { source, .. } if source.raw_os_error() == Some(libc::EEXIST)),
            "{e}"
        );
        idx
    });
    let shown = lab.exec(&ns, &["ip", "-d", "link", "show", "vrrp4.42"]);
    assert!(shown.contains("00:00:5e:00:01:2a"), "{shown}");
    assert!(shown.contains("macvlan mode bridge"), "{shown}");
    lab.run_in(&ns, move || {
        let mut nl = Netlink::new().unwrap();
        assert!(nl.del_link(idx).unwrap());
        assert!(!nl.del_link(idx).unwrap());
    });
    let o = lab.try_exec(&ns, &["ip", "link", "show", "vrrp4.42"]);
    assert!(!o.status.success(), "macvlan still there");
}

#[test]
fn carrier_loss_is_a_link_down_too() {
    let Some(lab) = Lab::new("carr", 1) else {
        return;
    };
    let ns = lab.hosts[0].clone();
    let br = lab.bridge.clone();
    let (tx, rx) = std::sync::mpsc::channel::<bool>();
    let (ack_tx, ack_rx) = std::sync::mpsc::channel::<()>();
    // The peer end of the veth (in the bridge namespace) goes down and up:
    // eth0 stays administratively up but loses carrier.
    let actor = std::thread::spawn(move || {
        while let Ok(up) = rx.recv() {
            let state = if up { "up" } else { "down" };
            common::must(&["ip", "netns", "exec", &br, "ip", "link", "set", "p0", state]);
            ack_tx.send(()).unwrap();
        }
    });
    let (idx, down, up) = lab.run_in(&ns, move || {
        let mut nl = Netlink::new().unwrap();
        let idx = eth0();
        let mut ev = NetEvents::subscribe(&nl.links().unwrap()).unwrap();
        tx.send(false).unwrap();
        ack_rx.recv().unwrap();
        let down = collect_until(&mut ev, |e| {
            e.iter()
                .any(|e| matches!(e, NetEvent::LinkDown(l) if l.ifindex == idx))
        });
        assert!(!nl.link(idx).unwrap().is_usable());
        tx.send(true).unwrap();
        ack_rx.recv().unwrap();
        let up = collect_until(&mut ev, |e| {
            e.iter()
                .any(|e| matches!(e, NetEvent::LinkUp(l) if l.ifindex == idx))
        });
        drop(tx);
        (idx, down, up)
    });
    actor.join().unwrap();
    let d = down
        .iter()
        .find_map(|e| match e {
            NetEvent::LinkDown(l) if l.ifindex == idx => Some(l),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no LinkDown: {down:?}"));
    assert!(d.admin_up && !d.lower_up, "{d:?}");
    assert_eq!(d.oper_state, OperState::Down, "veth without carrier: {d:?}");
    assert!(
        up.iter()
            .any(|e| matches!(e, NetEvent::LinkUp(l) if l.ifindex == idx && l.lower_up)),
        "{up:?}"
    );
}

/// 198.51.100.0/24 via 10.99.0.254 metric 50.
fn via_route() -> netif::Route {
    netif::Route {
        dst: "198.51.100.0".parse().unwrap(),
        prefix_len: 24,
        gateway: Some("10.99.0.254".parse().unwrap()),
        oif: None,
        metric: Some(50),
        table: None,
    }
}

#[test]
fn routes_come_and_go_idempotently() {
    let Some(lab) = Lab::new("rt", 1) else {
        return;
    };
    let ns = lab.hosts[0].clone();
    lab.run_in(&ns, move || {
        let mut nl = Netlink::new().unwrap();
        let via = via_route();
        let on_link = netif::Route {
            dst: "203.0.113.0".parse().unwrap(),
            prefix_len: 25,
            gateway: None,
            oif: Some(eth0()),
            metric: None,
            table: Some(1000),
        };
        let v6 = netif::Route {
            dst: "2001:db8:5::".parse().unwrap(),
            prefix_len: 48,
            gateway: Some("fd00:99::254".parse().unwrap()),
            oif: Some(eth0()),
            metric: None,
            table: None,
        };
        for r in [&via, &on_link, &v6] {
            assert!(nl.add_route(r).unwrap(), "{r}");
            assert!(!nl.add_route(r).unwrap(), "EEXIST is not an error: {r}");
        }
        // A next hop that is not on any link is refused with a clear error.
        let bad = netif::Route {
            gateway: Some("192.0.2.254".parse().unwrap()),
            ..via.clone()
        };
        let e = nl.add_route(&bad).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("adding route 198.51.100.0/24 via 192.0.2.254"),
            "{e}"
        );
    });
    let main = lab.exec(&ns, &["ip", "route", "show"]);
    assert!(
        main.contains("198.51.100.0/24 via 10.99.0.254 dev eth0"),
        "{main}"
    );
    assert!(main.contains("metric 50"), "{main}");
    let t1000 = lab.exec(&ns, &["ip", "route", "show", "table", "1000"]);
    assert!(t1000.contains("203.0.113.0/25 dev eth0"), "{t1000}");
    let v6 = lab.exec(&ns, &["ip", "-6", "route", "show"]);
    assert!(
        v6.contains("2001:db8:5::/48 via fd00:99::254 dev eth0"),
        "{v6}"
    );
    lab.run_in(&ns, move || {
        let mut nl = Netlink::new().unwrap();
        let r = via_route();
        assert!(nl.del_route(&r).unwrap());
        assert!(!nl.del_route(&r).unwrap(), "ESRCH is not an error");
    });
    let main = lab.exec(&ns, &["ip", "route", "show"]);
    assert!(!main.contains("198.51.100.0/24"), "{main}");
}
