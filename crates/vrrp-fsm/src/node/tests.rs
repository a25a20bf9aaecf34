//! Unit tests of [`Node`]'s bookkeeping; the protocol behaviour is tested
//! on the simulated LAN (`tests/node_lan.rs`).

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use vrrp_proto::{Interval, Version};

use super::*;

fn cfg(vrid: u8, ms: u16) -> Config {
    Config::builder(vrid, Version::V3)
        .priority(100)
        .interval(Interval::from_centis(ms / 10).expect("interval"))
        .primary_addr(Ipv4Addr::new(10, 0, 0, 1))
        .virtual_addr(Ipv4Addr::new(192, 0, 2, vrid))
        .build()
        .expect("config")
}

fn drain(node: &mut Node) -> Vec<NodeAction> {
    std::iter::from_fn(|| node.poll_action()).collect()
}

#[test]
fn the_deadline_is_the_earliest_of_every_router() {
    let now = Instant::now();
    let mut node = Node::new();
    let slow = node.add_router(LinkId(0), cfg(1, 1000));
    let fast = node.add_router(LinkId(0), cfg(2, 100));
    assert_eq!(node.poll_timeout(), None, "nothing started");
    node.start(now, slow).expect("start");
    let t_slow = node.router(slow).and_then(VirtualRouter::poll_timeout);
    assert_eq!(node.poll_timeout(), t_slow);
    node.start(now, fast).expect("start");
    let t_fast = node.router(fast).and_then(VirtualRouter::poll_timeout);
    assert!(t_fast < t_slow);
    assert_eq!(node.poll_timeout(), t_fast);
    // Stopping the fast one leaves the slow one's deadline on top.
    node.stop(now, fast, Stop::Now).expect("stop");
    assert_eq!(node.poll_timeout(), t_slow);
    let acts = drain(&mut node);
    assert_eq!(acts.last(), Some(&NodeAction::Stopped(fast)));
    assert_eq!(node.remove(fast).expect("remove"), vec![fast]);
    assert_eq!(node.len(), 1);
    // The fast router's removal did not disturb the other's timers.
    node.handle_timeout(now + Duration::from_secs(5));
    assert_eq!(
        node.router(slow).map(VirtualRouter::state),
        Some(State::Master)
    );
}

#[test]
fn a_group_reports_its_state_and_its_members() {
    let now = Instant::now();
    let mut node = Node::new();
    let (g, ids) = node
        .add_group(vec![(LinkId(0), cfg(1, 100)), (LinkId(1), cfg(2, 100))])
        .expect("group");
    assert_eq!(node.members(g), &ids[..]);
    assert_eq!(node.group_of(ids[1]), Some(g));
    assert_eq!(node.link(ids[1]), Some(LinkId(1)));
    node.start(now, ids[1]).expect("start");
    let acts = drain(&mut node);
    assert!(acts.contains(&NodeAction::GroupChanged {
        group: g,
        from: State::Initialize,
        to: State::Backup
    }));
    node.handle_timeout(now + Duration::from_secs(2));
    let acts = drain(&mut node);
    // The group change comes after its members' actions.
    assert_eq!(
        acts.last(),
        Some(&NodeAction::GroupChanged {
            group: g,
            from: State::Backup,
            to: State::Master
        })
    );
    assert_eq!(node.group_state(g), Some(State::Master));
    // Operator requests reach the whole group; a stopping group refuses them.
    node.stop(now + Duration::from_secs(2), ids[0], Stop::HandOver)
        .expect("stop");
    assert!(node.is_stopping(ids[1]));
    assert_eq!(
        node.request_switchover(now + Duration::from_secs(2), ids[1]),
        Err(NodeError::Stopping)
    );
}

#[test]
fn a_graceful_stop_waits_for_the_slowest_backup_skew_plus_a_margin() {
    // v3, 50 cs: a priority-1 backup waits 255 * 50 / 256 = 49 cs.
    let v3 = VirtualRouter::new(cfg(1, 500));
    assert_eq!(handover_bound(&v3), Duration::from_millis(490 + 250));
    // v2: Skew_Time is (256 - 1) / 256 s whatever the interval.
    let v2 = Config::builder(1, Version::V2)
        .interval(Interval::from_centis(300).expect("interval"))
        .primary_addr(Ipv4Addr::new(10, 0, 0, 1))
        .virtual_addr(Ipv4Addr::new(192, 0, 2, 9))
        .build()
        .expect("config");
    assert_eq!(
        handover_bound(&VirtualRouter::new(v2)),
        Duration::from_millis(990 + 250)
    );
}

#[test]
fn reset_keeps_ids_and_tracking_and_takes_a_new_primary() {
    let now = Instant::now();
    let mut node = Node::new();
    let id = node.add_router(LinkId(0), cfg(1, 100));
    node.set_tracked_priority(now, id, -20).expect("tracked");
    node.start(now, id).expect("start");
    assert_eq!(
        node.reset(now, id, |_, c| c.clone()),
        Err(NodeError::NotStopped)
    );
    node.stop(now, id, Stop::Now).expect("stop");
    let new = Ipv4Addr::new(10, 0, 0, 9);
    node.reset(now, id, |_, c| c.with_primary_addr(new.into()).expect("v4"))
        .expect("reset");
    node.start(now, id).expect("start");
    let r = node.router(id).expect("same id");
    assert_eq!(r.config().primary_addr(), std::net::IpAddr::V4(new));
    assert_eq!(r.priority().get(), 80, "the tracked delta carried over");
    assert_eq!(r.state(), State::Backup);
    assert!(!node.is_stopping(id));
    // A reset may not change what adverts are demultiplexed by.
    node.stop(now, id, Stop::Now).expect("stop");
    let other = cfg(2, 100);
    assert!(node.reset(now, id, |_, _| other.clone()).is_err());
}

#[test]
fn a_router_map_answers_only_the_exact_id() {
    let mut node = Node::new();
    let a = node.add_router(LinkId(0), cfg(1, 100));
    let b = node.add_router(LinkId(0), cfg(2, 100));
    let mut m = RouterMap::new();
    assert_eq!(m.insert(b, "b"), None);
    assert_eq!(m.insert(a, "a"), None);
    assert_eq!(m.insert(a, "a2"), Some("a"));
    assert_eq!((m.len(), m.get(a), m.get(b)), (2, Some(&"a2"), Some(&"b")));
    assert_eq!(m.keys().collect::<Vec<_>>(), vec![a, b]);
    // The slot of a removed router is reused by the next one; the old id
    // does not see the new value.
    let now = Instant::now();
    node.stop(now, a, Stop::Now).expect("stop");
    node.remove(a).expect("remove");
    assert_eq!(m.remove(a), Some("a2"));
    let c = node.add_router(LinkId(0), cfg(3, 100));
    assert_eq!(c.index(), a.index());
    m.insert(c, "c");
    assert_eq!(m.get(a), None);
    assert_eq!(m.get(c), Some(&"c"));
    assert_eq!(m.remove(a), None);
    assert!(m.contains_key(c) && !m.is_empty());
}

#[test]
fn shrinking_after_a_bulk_add_gives_capacity_back_and_changes_nothing() {
    let now = Instant::now();
    let mut node = Node::new();
    // 130 routers: the tables doubled to 256 slots on the way.
    let ids: Vec<RouterId> = (1..=130u8)
        .map(|v| node.add_router(LinkId(0), cfg(v, 100)))
        .collect();
    let mut m = RouterMap::new();
    for (i, id) in ids.iter().enumerate() {
        m.insert(*id, i);
    }
    assert!(m.slots_capacity() > 130 && node.routers.slots_capacity() > 130);
    node.shrink_to_fit();
    m.shrink_to_fit();
    assert_eq!(m.slots_capacity(), 130);
    assert_eq!(node.routers.slots_capacity(), 130);
    assert_eq!(node.units.slots_capacity(), 130);
    // Every id still reaches its router and its value.
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(m.get(*id), Some(&i));
        assert_eq!(
            node.router(*id).map(|r| r.config().vrid().get()),
            u8::try_from(i + 1).ok()
        );
    }
    // And the node still runs them: all start, and all become Master.
    for id in &ids {
        node.start(now, *id).expect("start");
    }
    node.handle_timeout(now + Duration::from_secs(5));
    assert!(
        ids.iter()
            .all(|id| node.router(*id).map(VirtualRouter::state) == Some(State::Master))
    );
}
