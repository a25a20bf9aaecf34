//! [`Node`] on a simulated LAN: hosts each run a `Node` with several
//! virtual routers (a lone one and a sync group of two), exchanging real
//! encoded adverts on a virtual clock, with graceful stops, crashes,
//! partitions and addresses removed from under a master.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use vrrp_fsm::{
    Action, Config, LinkId, Node, NodeAction, RouterId, STOP_MARGIN, State, Stop, handover_bound,
};
use vrrp_proto::{Advert, ChecksumCtx, Interval, Packet, Version};

const LINK: LinkId = LinkId(0);
const GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// VRIDs: 1 alone, 2 and 3 in a sync group on every host.
const VRIDS: [u8; 3] = [1, 2, 3];

fn vip(vrid: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, vrid))
}

fn config(vrid: u8, host: u8, priority: u8) -> Config {
    Config::builder(vrid, Version::V3)
        .priority(priority)
        .interval(Interval::from_centis(10).unwrap())
        .primary_addr(Ipv4Addr::new(10, 0, 0, host))
        .virtual_addr(vip(vrid))
        .build()
        .unwrap()
}

struct Host {
    node: Node,
    ids: BTreeMap<u8, RouterId>,
    alive: bool,
    segment: u32,
    /// Addresses installed (by `AddVip`, less `RemoveVip`).
    vips: BTreeSet<IpAddr>,
    stopped: BTreeSet<RouterId>,
    announcements: u64,
    group_changes: Vec<(State, State)>,
    priority: u8,
    addr: u8,
}

impl Host {
    fn new(addr: u8, priority: u8, now: Instant) -> Host {
        let mut node = Node::new();
        let mut ids = BTreeMap::new();
        ids.insert(1, node.add_router(LINK, config(1, addr, priority)));
        let (_, members) = node
            .add_group(vec![
                (LINK, config(2, addr, priority)),
                (LINK, config(3, addr, priority)),
            ])
            .unwrap();
        ids.insert(2, members[0]);
        ids.insert(3, members[1]);
        node.start(now, ids[&1]).unwrap();
        node.start(now, ids[&2]).unwrap();
        Host {
            node,
            ids,
            alive: true,
            segment: 0,
            vips: BTreeSet::new(),
            stopped: BTreeSet::new(),
            announcements: 0,
            group_changes: Vec::new(),
            priority,
            addr,
        }
    }

    fn state(&self, vrid: u8) -> State {
        self.node.router(self.ids[&vrid]).unwrap().state()
    }
}

struct Lan {
    now: Instant,
    hosts: Vec<Host>,
    /// (deliver at, from host, bytes)
    wire: Vec<(Instant, usize, Vec<u8>)>,
    rx: Advert,
}

impl Lan {
    fn new(priorities: &[u8]) -> Lan {
        let now = Instant::now();
        let hosts = priorities
            .iter()
            .enumerate()
            .map(|(i, &p)| Host::new(u8::try_from(i + 1).unwrap(), p, now))
            .collect();
        let mut lan = Lan {
            now,
            hosts,
            wire: Vec::new(),
            rx: Advert {
                version: Version::V3,
                vrid: vrrp_proto::Vrid::new(1).unwrap(),
                priority: vrrp_proto::Priority::new(100),
                interval: Interval::from_centis(10).unwrap(),
                addrs: vrrp_proto::VirtualAddrs::V4(vec![Ipv4Addr::new(192, 0, 2, 1)]),
                auth: vrrp_proto::Auth::None,
            },
        };
        lan.drain();
        lan
    }

    /// Carries out every queued action of every live host.
    fn drain(&mut self) {
        for h in 0..self.hosts.len() {
            while let Some(a) = self.hosts[h].node.poll_action() {
                self.apply(h, a);
            }
        }
    }

    fn apply(&mut self, h: usize, a: NodeAction) {
        let host = &mut self.hosts[h];
        match a {
            NodeAction::Router(id, action) => {
                if std::env::var("TRACE").is_ok() {
                    eprintln!("{:?} host {h} {id:?} {action:?}", self.now);
                }
                assert!(
                    !host.stopped.contains(&id),
                    "action {action:?} after Stopped"
                );
                match action {
                    Action::AddVip(v) => assert!(host.vips.insert(v), "{v} added twice"),
                    Action::RemoveVip(v) => assert!(host.vips.remove(&v), "{v} removed absent"),
                    Action::SendGarp(_) | Action::SendUnsolicitedNa(_) => host.announcements += 1,
                    Action::SendAdvert(kind) => {
                        let r = host.node.router(id).unwrap();
                        let src = r.config().primary_addr();
                        let IpAddr::V4(src4) = src else {
                            unreachable!()
                        };
                        let bytes = r
                            .advert(kind)
                            .to_bytes(&ChecksumCtx::ipv4(src4, GROUP))
                            .unwrap();
                        if host.alive {
                            let at = self.now + Duration::from_millis(1);
                            self.wire.push((at, h, bytes));
                        }
                    }
                    _ => {}
                }
            }
            NodeAction::GroupChanged { from, to, .. } => host.group_changes.push((from, to)),
            NodeAction::Stopped(id) => assert!(host.stopped.insert(id), "Stopped twice"),
            _ => {}
        }
    }

    fn next_event(&self) -> Option<Instant> {
        let timers = self
            .hosts
            .iter()
            .filter(|h| h.alive)
            .filter_map(|h| h.node.poll_timeout());
        timers.chain(self.wire.iter().map(|w| w.0)).min()
    }

    fn step(&mut self) -> bool {
        let Some(at) = self.next_event() else {
            return false;
        };
        self.now = self.now.max(at);
        let now = self.now;
        if let Some(i) = (0..self.wire.len()).find(|&i| self.wire[i].0 <= now) {
            let (_, from, bytes) = self.wire.remove(i);
            let seg = self.hosts[from].segment;
            let src = IpAddr::V4(Ipv4Addr::new(10, 0, 0, self.hosts[from].addr));
            let IpAddr::V4(src4) = src else {
                unreachable!()
            };
            let pkt = Packet::new_checked(&bytes[..]).unwrap();
            self.rx
                .parse_into(&pkt, &ChecksumCtx::ipv4(src4, GROUP))
                .unwrap();
            for to in 0..self.hosts.len() {
                let h = &mut self.hosts[to];
                if to != from && h.alive && h.segment == seg {
                    h.node.handle_advert(now, LINK, src, 255, &self.rx);
                }
            }
        } else {
            for h in self.hosts.iter_mut().filter(|h| h.alive) {
                h.node.handle_timeout(now);
            }
        }
        self.drain();
        true
    }

    fn run_for(&mut self, d: Duration, mut check: impl FnMut(&Lan)) {
        let end = self.now + d;
        let mut budget = 200_000;
        while self.next_event().is_some_and(|t| t <= end) {
            budget -= 1;
            assert!(budget > 0, "livelock");
            self.step();
            check(self);
        }
        self.now = self.now.max(end);
    }

    fn settle(&mut self) {
        self.run_for(Duration::from_secs(3), |_| {});
    }

    fn masters(&self, vrid: u8) -> Vec<usize> {
        (0..self.hosts.len())
            .filter(|&h| self.hosts[h].alive)
            .filter(|&h| {
                let host = &self.hosts[h];
                let r = host.ids.get(&vrid).and_then(|&id| host.node.router(id));
                r.is_some_and(|r| r.state() == State::Master)
            })
            .collect()
    }

    fn holders(&self, vrid: u8) -> Vec<usize> {
        (0..self.hosts.len())
            .filter(|&h| self.hosts[h].alive && self.hosts[h].vips.contains(&vip(vrid)))
            .collect()
    }

    fn stop(&mut self, h: usize, how: Stop) {
        let now = self.now;
        self.hosts[h].node.stop_all(now, how);
        self.drain();
    }

    fn crash(&mut self, h: usize) {
        let host = &mut self.hosts[h];
        host.alive = false;
        host.vips.clear();
        self.wire.retain(|w| w.1 != h);
    }

    fn restart(&mut self, h: usize) {
        let (addr, priority, now) = (self.hosts[h].addr, self.hosts[h].priority, self.now);
        let seg = self.hosts[h].segment;
        self.hosts[h] = Host::new(addr, priority, now);
        self.hosts[h].segment = seg;
        self.drain();
    }
}

#[test]
fn adverts_reach_only_the_routers_of_their_vrid() {
    let mut lan = Lan::new(&[200, 100]);
    lan.settle();
    for vrid in VRIDS {
        assert_eq!(lan.masters(vrid), vec![0], "vrid {vrid}");
        assert_eq!(lan.holders(vrid), vec![0], "vrid {vrid}");
    }
    // The sync group reported its way to Master on host 0, Backup on 1.
    assert_eq!(
        lan.hosts[0].group_changes.last(),
        Some(&(State::Backup, State::Master))
    );
    assert_eq!(
        lan.hosts[1].group_changes,
        vec![(State::Initialize, State::Backup)]
    );
    // An advert of a VRID nobody runs is counted, not delivered.
    let before = lan.hosts[1].node.stats().unknown_vrid;
    let mut adv = lan.rx.clone();
    adv.vrid = vrrp_proto::Vrid::new(99).unwrap();
    let now = lan.now;
    let src = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    assert_eq!(
        lan.hosts[1].node.handle_advert(now, LINK, src, 255, &adv),
        0
    );
    assert_eq!(
        lan.hosts[1]
            .node
            .handle_advert(now, LinkId(7), src, 255, &lan.rx.clone()),
        0
    );
    assert_eq!(lan.hosts[1].node.stats().unknown_vrid, before + 2);
}

#[test]
fn a_graceful_stop_hands_over_before_it_releases() {
    let mut lan = Lan::new(&[200, 100]);
    lan.settle();
    let t0 = lan.now;
    lan.stop(0, Stop::HandOver);
    // Make-before-break: some host holds every VIP at every step until the
    // backup has them.
    let mut stopped_at = None;
    lan.run_for(Duration::from_secs(2), |lan| {
        for vrid in VRIDS {
            assert!(!lan.holders(vrid).is_empty(), "vrid {vrid} unheld");
        }
        if stopped_at.is_none() && lan.hosts[0].node.all_stopped() {
            stopped_at = Some(lan.now);
        }
    });
    for vrid in VRIDS {
        assert_eq!(lan.holders(vrid), vec![1], "vrid {vrid}");
        assert_eq!(lan.masters(vrid), vec![1]);
        assert_eq!(lan.hosts[0].state(vrid), State::Initialize);
    }
    assert!(lan.hosts[0].node.all_stopped());
    assert_eq!(lan.hosts[0].stopped.len(), 3, "one Stopped per router");
    // It stopped as soon as the new master spoke: after the backup's
    // Skew_Time (priority 100, 100 ms: 60 ms) and one delivery, well
    // before its bound.
    let bound = handover_bound(lan.hosts[0].node.router(lan.hosts[0].ids[&1]).unwrap());
    let took = stopped_at.expect("stopped") - t0;
    assert!(took <= Duration::from_millis(62), "{took:?}");
    // Skew_Time at priority 1 and 100 ms: (255 * 10) / 256 = 9 cs.
    assert_eq!(bound, STOP_MARGIN + Duration::from_millis(90));
}

#[test]
fn a_graceful_stop_with_no_backup_releases_at_the_bound() {
    let mut lan = Lan::new(&[200]);
    lan.settle();
    let t0 = lan.now;
    lan.stop(0, Stop::HandOver);
    assert!(!lan.hosts[0].node.all_stopped(), "waits for a backup");
    assert!(lan.hosts[0].node.is_stopping(lan.hosts[0].ids[&1]));
    let mut released_at = None;
    lan.run_for(Duration::from_secs(3), |lan| {
        if released_at.is_none() && lan.hosts[0].node.all_stopped() {
            released_at = Some(lan.now);
        }
    });
    let bound = handover_bound(lan.hosts[0].node.router(lan.hosts[0].ids[&1]).unwrap());
    let released_at = released_at.expect("released");
    // A switchover with nobody to take over aborts after
    // Master_Down_Interval or ends at the bound, whichever is first.
    assert!(
        released_at - t0 <= bound,
        "{:?} > {bound:?}",
        released_at - t0
    );
    assert!(lan.hosts[0].vips.is_empty());
}

#[test]
fn stop_now_releases_at_once_and_a_second_stop_is_harmless() {
    let mut lan = Lan::new(&[200, 100]);
    lan.settle();
    lan.stop(0, Stop::HandOver);
    lan.stop(0, Stop::Now);
    assert!(lan.hosts[0].node.all_stopped());
    assert!(lan.hosts[0].vips.is_empty());
    lan.stop(0, Stop::Now);
    assert_eq!(lan.hosts[0].stopped.len(), 3);
    // Removed routers are gone; their ids answer nothing.
    let id = lan.hosts[0].ids[&1];
    assert_eq!(lan.hosts[0].node.remove(id).unwrap(), vec![id]);
    assert!(lan.hosts[0].node.router(id).is_none());
    assert!(lan.hosts[0].node.remove(id).is_err());
    // The backup took over after the priority-0 advert (Skew_Time).
    lan.run_for(Duration::from_millis(200), |_| {});
    assert_eq!(lan.masters(1), vec![1]);
}

#[test]
fn a_running_router_cannot_be_removed() {
    let mut lan = Lan::new(&[200]);
    lan.settle();
    let id = lan.hosts[0].ids[&1];
    assert!(matches!(
        lan.hosts[0].node.remove(id),
        Err(vrrp_fsm::NodeError::NotStopped)
    ));
}

#[test]
fn a_vip_removed_from_under_a_master_is_restored_and_announced() {
    let mut lan = Lan::new(&[200, 100]);
    lan.settle();
    let now = lan.now;
    let before = lan.hosts[0].announcements;
    // Someone deletes the address on the master.
    lan.hosts[0].vips.remove(&vip(2));
    let id = lan.hosts[0].ids[&2];
    assert!(lan.hosts[0].node.restore_vip(now, id, vip(2)));
    lan.drain();
    assert!(lan.hosts[0].vips.contains(&vip(2)));
    // keepalived's default garp_master_repeat: 5 announcements.
    assert_eq!(lan.hosts[0].announcements - before, 5);
    // A backup does not put back what it does not hold; nor an unknown address.
    let b = lan.hosts[1].ids[&2];
    assert!(!lan.hosts[1].node.restore_vip(now, b, vip(2)));
    assert!(!lan.hosts[0].node.restore_vip(now, id, vip(9)));
}

#[derive(Debug, Clone)]
enum Chaos {
    Stop(usize),
    StopNow(usize),
    Crash(usize),
    Restart(usize),
    Partition(usize),
    Heal,
}

fn chaos() -> impl Strategy<Value = (u16, Chaos)> {
    (
        0u16..1500,
        prop_oneof![
            (0usize..4).prop_map(Chaos::Stop),
            (0usize..4).prop_map(Chaos::StopNow),
            (0usize..4).prop_map(Chaos::Crash),
            (0usize..4).prop_map(Chaos::Restart),
            (0usize..4).prop_map(Chaos::Partition),
            Just(Chaos::Heal),
        ],
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// After any sequence of graceful and immediate stops, crashes and
    /// partitions that heals (everything restarted, one segment), every
    /// VRID has exactly one master, which alone holds its address.
    #[test]
    fn any_healed_history_ends_with_one_master_per_vrid(
        priorities in prop::collection::vec(1u8..=254, 2..=4),
        ops in prop::collection::vec(chaos(), 0..12),
    ) {
        let mut lan = Lan::new(&priorities);
        let n = lan.hosts.len();
        lan.settle();
        for (dt, op) in ops {
            lan.run_for(Duration::from_millis(u64::from(dt)), |_| {});
            match op {
                Chaos::Stop(h) => if lan.hosts[h % n].alive { lan.stop(h % n, Stop::HandOver) },
                Chaos::StopNow(h) => if lan.hosts[h % n].alive { lan.stop(h % n, Stop::Now) },
                Chaos::Crash(h) => lan.crash(h % n),
                Chaos::Restart(h) => lan.restart(h % n),
                Chaos::Partition(h) => lan.hosts[h % n].segment = 1,
                Chaos::Heal => lan.hosts.iter_mut().for_each(|h| h.segment = 0),
            }
        }
        lan.hosts.iter_mut().for_each(|h| h.segment = 0);
        for h in 0..n {
            if !lan.hosts[h].alive || lan.hosts[h].node.all_stopped() {
                lan.hosts[h].alive = true;
                lan.restart(h);
            }
        }
        lan.run_for(Duration::from_secs(5), |_| {});
        for vrid in VRIDS {
            let masters = lan.masters(vrid);
            prop_assert_eq!(masters.len(), 1, "vrid {} masters {:?}", vrid, masters);
            prop_assert_eq!(lan.holders(vrid), masters);
        }
    }
}
