//! Sync groups on two hosts: each host runs a `SyncGroup` of two virtual
//! routers (VRID 1 and VRID 2); adverts go through the real codec to the
//! other host's member of the same VRID. Checks keepalived's
//! `vrrp_sync_group` semantics end to end: master together, fault follows,
//! backup follows, and no split of one host's VRIDs across hosts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use vrrp_fsm::{Action, Config, State, SyncGroup, VirtualRouter};
use vrrp_proto::{Advert, ChecksumCtx, Packet, Version};

fn member(vrid: u8, host: u8, prio: u8) -> VirtualRouter {
    VirtualRouter::new(
        Config::builder(vrid, Version::V3)
            .priority(prio)
            .primary_addr(Ipv4Addr::new(10, 99, 0, host))
            .virtual_addr(Ipv4Addr::new(10, 99, 100, vrid))
            .build()
            .expect("valid"),
    )
}

struct TwoHosts {
    hosts: [SyncGroup; 2],
    now: Instant,
    base: Instant,
}

impl TwoHosts {
    fn new(prios: [[u8; 2]; 2]) -> Self {
        let base = Instant::now();
        let hosts = [0usize, 1].map(|h| {
            SyncGroup::new(vec![
                member(1, h as u8 + 1, prios[h][0]),
                member(2, h as u8 + 1, prios[h][1]),
            ])
            .expect("group")
        });
        TwoHosts {
            hosts,
            now: base,
            base,
        }
    }

    /// Drains both hosts, delivering adverts (encoded and parsed) to the
    /// other host's member of the same VRID, until quiet.
    fn drain(&mut self) {
        loop {
            let mut wire: Vec<(usize, usize, IpAddr, Vec<u8>)> = Vec::new();
            for h in 0..2 {
                while let Some((m, a)) = self.hosts[h].poll_action() {
                    if let Action::SendAdvert(kind) = a {
                        let r = self.hosts[h].member(m).expect("member");
                        let src = r.config().primary_addr();
                        let IpAddr::V4(s4) = src else { unreachable!() };
                        let ctx = ChecksumCtx::ipv4(s4, Ipv4Addr::new(224, 0, 0, 18));
                        let adv = r.advert(kind);
                        let mut buf = vec![0u8; adv.buffer_len()];
                        adv.emit(&mut Packet::new_unchecked(&mut buf[..]), &ctx)
                            .expect("emit");
                        wire.push((h, m, src, buf));
                    }
                }
            }
            if wire.is_empty() {
                return;
            }
            for (h, m, src, buf) in wire {
                let IpAddr::V4(s4) = src else { unreachable!() };
                let ctx = ChecksumCtx::ipv4(s4, Ipv4Addr::new(224, 0, 0, 18));
                let (adv, _) = Advert::parse(&Packet::new_checked(&buf[..]).expect("len"), &ctx)
                    .expect("parse");
                self.hosts[1 - h].handle_advert(self.now, m, src, 255, &adv);
            }
        }
    }

    fn run_until(&mut self, t: Duration) {
        self.drain();
        loop {
            let next = self.hosts.iter().filter_map(SyncGroup::poll_timeout).min();
            match next {
                Some(n) if n <= self.base + t => {
                    self.now = n;
                    for h in &mut self.hosts {
                        h.handle_timeout(n);
                    }
                    self.drain();
                    self.check();
                }
                _ => break,
            }
        }
        self.now = self.base + t;
    }

    /// A host's members are never split between Master and Backup for long:
    /// checked at every instant as "no host has exactly one Master member
    /// while the other host also has one" (the VRIDs split across hosts).
    fn check(&self) {
        let masters = |h: &SyncGroup| {
            h.members()
                .iter()
                .filter(|m| m.state() == State::Master)
                .count()
        };
        let (a, b) = (masters(&self.hosts[0]), masters(&self.hosts[1]));
        assert!(
            !(a == 1 && b == 1),
            "VRIDs split across hosts at {:?}",
            self.now - self.base
        );
    }

    fn states(&self, h: usize) -> Vec<State> {
        self.hosts[h]
            .members()
            .iter()
            .map(VirtualRouter::state)
            .collect()
    }
}

#[test]
fn sync_groups_fail_over_and_back_together() {
    let mut lan = TwoHosts::new([[200, 200], [100, 100]]);
    for h in &mut lan.hosts {
        h.startup(lan.now);
    }
    lan.run_until(Duration::from_secs(10));
    assert_eq!(lan.states(0), [State::Master, State::Master]);
    assert_eq!(lan.states(1), [State::Backup, State::Backup]);

    // VRID 1's interface on host 0 goes down: both members go to Fault,
    // both release (priority 0), and host 1 takes both over.
    let now = lan.now;
    lan.hosts[0].interface_down(now, 0);
    lan.drain();
    assert_eq!(lan.states(0), [State::Fault, State::Fault]);
    lan.run_until(Duration::from_secs(12));
    assert_eq!(lan.states(1), [State::Master, State::Master]);

    // Recovery: host 0 preempts both back, together.
    let now = lan.now;
    lan.hosts[0].interface_up(now, 0);
    lan.drain();
    assert_eq!(lan.states(0), [State::Backup, State::Backup]);
    lan.run_until(Duration::from_secs(20));
    assert_eq!(lan.states(0), [State::Master, State::Master]);
    assert_eq!(lan.states(1), [State::Backup, State::Backup]);

    // Host 0's VRID 2 drops below host 1's: host 1's VRID 2 wants Master,
    // but its VRID 1 does not (host 0 still wins there), so host 1 holds
    // back and nothing splits.
    let now = lan.now;
    lan.hosts[0].set_tracked_priority(now, 1, -150);
    lan.run_until(Duration::from_secs(40));
    assert_eq!(lan.states(0), [State::Master, State::Master]);
    assert_eq!(lan.states(1), [State::Backup, State::Backup]);

    // Host 0's VRID 1 drops too: now both of host 1's members want Master
    // and take over together; host 0's members follow to Backup.
    let now = lan.now;
    lan.hosts[0].set_tracked_priority(now, 0, -150);
    lan.run_until(Duration::from_secs(60));
    assert_eq!(lan.states(1), [State::Master, State::Master]);
    assert_eq!(lan.states(0), [State::Backup, State::Backup]);

    // A group switchover on host 1 hands both VRIDs to host 0 (lower now),
    // and host 1 does not preempt back.
    let now = lan.now;
    lan.hosts[1].request_switchover(now).expect("master");
    lan.run_until(Duration::from_secs(65));
    assert_eq!(lan.states(0), [State::Master, State::Master]);
    assert_eq!(lan.states(1), [State::Backup, State::Backup]);
}
