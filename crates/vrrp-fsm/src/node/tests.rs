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
