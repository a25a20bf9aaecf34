//! The end-to-end lab, checked against the reference implementation: two
//! keepalived hosts share a VIP, the client sees the master answer, and when
//! the master's link goes down the backup takes over within the RFC bound.
//! This is also the baseline that vrrpd's own end-to-end tests compare with.
#![allow(clippy::unwrap_used)]

mod lab;

use std::net::IpAddr;
use std::time::Duration;

use lab::Lab;
use lab::peers::{Inst, keepalived_available};

#[test]
fn keepalived_pair_fails_over_on_link_loss() {
    if !lab::can_run() || !keepalived_available() {
        return;
    }
    let lab = Lab::new("ka", 2);
    let vip: IpAddr = "10.99.0.200".parse().unwrap();
    lab.start_keepalived(0, &[Inst::v3("VI_1", 42, 200, "10.99.0.200/24")]);
    lab.start_keepalived(1, &[Inst::v3("VI_1", 42, 100, "10.99.0.200/24")]);
    assert!(
        lab.wait_vip_only_on(0, vip, Duration::from_secs(10)),
        "host 0 never became the only VIP holder:\n{}",
        lab.logs()
    );
    lab.start_responders();
    let prober = lab.start_prober(vip, Duration::from_millis(1));
    assert!(
        prober.wait_for_host(0, Duration::from_secs(5)),
        "client never reached host 0"
    );
    lab.set_link(&lab.hosts[0], false);
    assert!(
        prober.wait_for_host(1, Duration::from_secs(5)),
        "client never reached host 1:\n{}",
        lab.logs()
    );
    let report = prober.finish();
    assert_eq!(report.holders(), vec![0, 1]);
    // RFC 9568 §6.1: Master_Down_Interval = 3 * 100 ms + Skew_Time (≈61 ms at
    // priority 100), counted from the last advert heard, which was up to one
    // interval before the link went down; allow for ARP and scheduling.
    let outage = report.longest_outage();
    eprintln!(
        "keepalived link-loss outage seen by the client: {outage:?} ({} probes lost)",
        report.lost()
    );
    assert!(
        outage >= Duration::from_millis(250),
        "outage {outage:?} is shorter than the RFC allows"
    );
    assert!(outage < Duration::from_millis(1500), "outage {outage:?}");
}
