//! Scenarios on the simulated LAN (`vrrp_fsm::sim::Lan`): routers exchange
//! real encoded packets through `vrrp_proto`, on a virtual clock, with
//! invariants checked after every step.

mod failover;
mod golden;
mod props;
mod scenarios;

use std::time::{Duration, Instant};

use vrrp_fsm::sim::{Lan, sim_config};
use vrrp_fsm::{Action, AdvertKind, Config};
use vrrp_proto::{Interval, Version};

/// Step budget for a run: generous, but finite so a livelock fails.
pub(crate) const BUDGET: u64 = 500_000;

pub(crate) fn interval(cs: u16) -> Interval {
    Interval::from_centis(cs).expect("non-zero")
}

/// A router config: host `h` (address suffix), VRID 1.
pub(crate) fn cfg(version: Version, h: u8, prio: u8) -> Config {
    sim_config(version, false, 1, h, prio, Interval::DEFAULT)
        .build()
        .expect("valid")
}

/// A LAN of routers with the given priorities (hosts 1, 2, ...), started.
pub(crate) fn lan(version: Version, prios: &[u8]) -> Lan {
    let mut lan = Lan::new(Instant::now(), 1);
    for (i, p) in prios.iter().enumerate() {
        lan.add(cfg(version, i as u8 + 1, *p));
    }
    lan.start_all().expect("start");
    lan
}

/// Virtual time of the first `SendAdvert(Current)` by `node` at or after
/// `from`.
pub(crate) fn first_advert(lan: &Lan, node: usize, from: Duration) -> Option<Duration> {
    lan.trace
        .iter()
        .find(|e| {
            e.node == node && e.at >= from && e.action == Action::SendAdvert(AdvertKind::Current)
        })
        .map(|e| e.at)
}
