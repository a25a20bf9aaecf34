//! The executor in-process, on a thread inside a namespace (see
//! tests/common): VIP restore, link flap to Fault and back, release on
//! shutdown, unicast, virtual MAC.
#![cfg(feature = "executor")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::Lab;
use netif::executor::{Event, Executor, RouterSpec};
use vrrp_fsm::{Config, Reason, State};
use vrrp_proto::{Interval, Version};

/// An executor running on its own thread inside a namespace until stopped;
/// its events come out of `events`. Stopping (or dropping) shuts it down.
struct Running {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
    events: Receiver<Event>,
}

impl Running {
    fn start(ns: &str, prio: u8, interval_cs: u16, vip: &str) -> Running {
        Self::start_with(ns, prio, interval_cs, vip, |s| s)
    }

    fn start_with(
        ns: &str,
        prio: u8,
        interval_cs: u16,
        vip: &str,
        spec: impl FnOnce(RouterSpec) -> RouterSpec + Send + 'static,
    ) -> Running {
        let path = format!("/run/netns/{ns}");
        let vip: std::net::IpAddr = vip.parse().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = channel();
        let stop2 = stop.clone();
        let handle = std::thread::spawn(move || {
            common::enter(&path);
            let mut x = Executor::new().unwrap();
            let cfg = Config::builder(10, Version::V3)
                .priority(prio)
                .interval(Interval::from_centis(interval_cs).unwrap())
                .virtual_addr(vip);
            x.add_router(cfg, spec(RouterSpec::on("eth0").with_vips([vip])))
                .unwrap();
            while !stop2.load(Ordering::Relaxed) {
                x.run_once(Some(Duration::from_millis(20))).unwrap();
                while let Some(ev) = x.poll_event() {
                    let _ = tx.send(ev);
                }
            }
            x.shutdown();
            while let Some(ev) = x.poll_event() {
                let _ = tx.send(ev);
            }
        });
        Running {
            stop,
            handle: Some(handle),
            events: rx,
        }
    }

    /// Waits for an event matching `pred`; panics after `limit`.
    fn expect(&self, limit: Duration, what: &str, pred: impl Fn(&Event) -> bool) -> Instant {
        let start = Instant::now();
        let mut seen = Vec::new();
        while let Some(left) = limit.checked_sub(start.elapsed()) {
            match self.events.recv_timeout(left) {
                Ok(e) if pred(&e) => return Instant::now(),
                Ok(e) => seen.push(format!("{e:?}")),
                Err(_) => break,
            }
        }
        panic!("no {what} within {limit:?}; saw {seen:#?}");
    }

    fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            h.join().unwrap();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn to_state(e: &Event, to: State) -> bool {
    matches!(e, Event::StateChanged { change, .. } if change.to == to)
}

fn has(lab: &Lab, ns: &str, vip: &str) -> bool {
    lab.exec(ns, &["ip", "addr", "show", "dev", "eth0"])
        .contains(&format!(" {vip}/"))
}

#[test]
fn the_executor_restores_a_removed_vip_and_follows_the_link() {
    let Some(lab) = Lab::new("drv", 1) else {
        return;
    };
    let ns = lab.hosts[0].clone();
    let vip = "10.99.0.100";
    // A VIP left by a crashed run: the executor removes it at start-up.
    lab.exec(&ns, &["ip", "addr", "add", "10.99.0.100/32", "dev", "eth0"]);
    let r = Running::start(&ns, 100, 20, vip);
    r.expect(Duration::from_secs(2), "Backup", |e| {
        to_state(e, State::Backup)
    });
    assert!(!has(&lab, &ns, vip), "stale VIP removed at start-up");
    r.expect(Duration::from_secs(3), "Master", |e| {
        to_state(e, State::Master)
    });
    assert!(has(&lab, &ns, vip));

    // Someone removes the VIP: it comes back.
    lab.exec(&ns, &["ip", "addr", "del", "10.99.0.100/32", "dev", "eth0"]);
    r.expect(
        Duration::from_secs(3),
        "VipRestored",
        |e| matches!(e, Event::VipRestored { addr, .. } if addr.to_string() == vip),
    );
    assert!(has(&lab, &ns, vip));

    // Link down: Fault, VIP gone; link up: back to Master with the VIP.
    lab.exec(&ns, &["ip", "link", "set", "eth0", "down"]);
    r.expect(Duration::from_secs(3), "Fault", |e| {
        matches!(e, Event::StateChanged { change, .. }
            if change.to == State::Fault && change.reason == Reason::InterfaceDown)
    });
    assert!(!has(&lab, &ns, vip), "VIP removed in Fault");
    lab.exec(&ns, &["ip", "link", "set", "eth0", "up"]);
    r.expect(Duration::from_secs(5), "Master again", |e| {
        to_state(e, State::Master)
    });
    assert!(has(&lab, &ns, vip));
}

#[test]
fn shutdown_releases_mastership_at_once() {
    let Some(lab) = Lab::new("rel", 2) else {
        return;
    };
    let (a, b) = (lab.hosts[0].clone(), lab.hosts[1].clone());
    let vip = "10.99.0.100";
    // 1 s adverts: Master_Down_Interval is 3.6 s for B, its Skew_Time 0.6 s.
    let mut ra = Running::start(&a, 200, 100, vip);
    let rb = Running::start(&b, 100, 100, vip);
    ra.expect(Duration::from_secs(6), "A Master", |e| {
        to_state(e, State::Master)
    });
    rb.expect(Duration::from_secs(2), "B Backup", |e| {
        to_state(e, State::Backup)
    });
    let t0 = Instant::now();
    ra.stop(); // sends priority 0 and removes the VIP (RFC 9568 §6.4.3)
    assert!(!has(&lab, &a, vip), "VIP removed on shutdown");
    let t1 = rb.expect(Duration::from_secs(5), "B Master", |e| {
        to_state(e, State::Master)
    });
    let took = t1.duration_since(t0);
    eprintln!("takeover after release: {} ms", took.as_millis());
    // RFC 9568 §6.4.2: on priority 0 a backup waits Skew_Time only.
    assert!(took < Duration::from_millis(2000), "took {took:?}");
    assert!(has(&lab, &b, vip));
}

#[test]
fn unicast_peers_with_per_destination_checksums() {
    let Some(lab) = Lab::new("uni", 3) else {
        return;
    };
    let vip = "10.99.0.100";
    let addrs: Vec<std::net::IpAddr> = (0..3).map(|i| lab.v4(i).parse().unwrap()).collect();
    let start = |i: usize, prio: u8| {
        let peers = addrs
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, a)| *a);
        let peers: Vec<std::net::IpAddr> = peers.collect();
        Running::start_with(&lab.hosts[i], prio, 20, vip, move |s| RouterSpec {
            unicast_peers: peers,
            ..s
        })
    };
    let ra = start(0, 200);
    let rb = start(1, 100);
    let rc = start(2, 50);
    ra.expect(Duration::from_secs(5), "A Master", |e| {
        to_state(e, State::Master)
    });
    rb.expect(Duration::from_secs(2), "B Backup", |e| {
        to_state(e, State::Backup)
    });
    rc.expect(Duration::from_secs(2), "C Backup", |e| {
        to_state(e, State::Backup)
    });
    // With VRRPv3 over IPv4 the checksum covers the destination: if either
    // peer got a copy encoded for the other, it would drop every advert and
    // take over after Master_Down_Interval (~0.7 s). Nobody may move.
    std::thread::sleep(Duration::from_millis(1500));
    for (name, r) in [("B", &rb), ("C", &rc)] {
        while let Ok(e) = r.events.try_recv() {
            assert!(
                !matches!(e, Event::StateChanged { .. }),
                "{name} changed state: {e:?}"
            );
        }
    }
    assert!(has(&lab, &lab.hosts[0], vip));
    assert!(!has(&lab, &lab.hosts[1], vip) && !has(&lab, &lab.hosts[2], vip));
    drop(ra);
}

#[test]
fn vmac_router_answers_arp_with_the_virtual_mac() {
    let Some(lab) = Lab::new("vmac", 2) else {
        return;
    };
    let (a, client) = (lab.hosts[0].clone(), lab.hosts[1].clone());
    let vip = "10.99.0.100";
    let spec = |s| RouterSpec {
        vmac: Some("vr4.10".into()),
        ..s
    };
    let knobs = |lab: &Lab| {
        ["arp_ignore", "arp_announce"]
            .map(|k| lab.exec(&a, &["cat", &format!("/proc/sys/net/ipv4/conf/eth0/{k}")]))
    };
    let before = knobs(&lab);
    let mut ra = Running::start_with(&a, 100, 20, vip, spec);
    ra.expect(Duration::from_secs(5), "Master", |e| {
        to_state(e, State::Master)
    });
    let link = lab.exec(&a, &["ip", "-d", "addr", "show", "dev", "vr4.10"]);
    assert!(link.contains("00:00:5e:00:01:0a"), "{link}");
    assert!(link.contains("macvlan mode bridge"), "{link}");
    assert!(
        link.contains(&format!(" {vip}/32")),
        "VIP on the macvlan: {link}"
    );
    assert!(!has(&lab, &a, vip), "VIP not on the parent");
    // A client resolving the VIP learns the virtual MAC, and only it.
    lab.exec(&client, &["ping", "-c", "1", "-W", "2", vip]);
    let neigh = lab.exec(&client, &["ip", "neigh", "show", vip, "dev", "eth0"]);
    assert!(neigh.contains("00:00:5e:00:01:0a"), "{neigh}");
    // The parent's own address still resolves to the parent's MAC.
    let a_mac = lab.exec(&a, &["cat", "/sys/class/net/eth0/address"]);
    lab.exec(&client, &["ping", "-c", "1", "-W", "2", &lab.v4(0)]);
    let neigh = lab.exec(&client, &["ip", "neigh", "show", &lab.v4(0), "dev", "eth0"]);
    assert!(neigh.contains(a_mac.trim()), "{neigh}");
    ra.stop();
    let o = lab.try_exec(&a, &["ip", "link", "show", "vr4.10"]);
    assert!(!o.status.success(), "macvlan removed on shutdown");
    assert_eq!(before, knobs(&lab), "arp_ignore and arp_announce restored");
}
