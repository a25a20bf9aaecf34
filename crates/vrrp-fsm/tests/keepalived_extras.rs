//! keepalived extensions around the RFC state machine:
//! `virtual_ipaddress_excluded` (installed and announced with the virtual
//! addresses, never advertised) and `garp_lower_prio_repeat` /
//! `garp_lower_prio_delay` (what a master announces when it hears a
//! lower-priority advert). Each test asserts the exact action sequence.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use vrrp_fsm::{
    Action, AdvertKind, AnnounceConfig, Config, ConfigBuilder, ConfigError, LowerPrioAnnounce,
    State, VirtualRouter,
};
use vrrp_proto::{Advert, Auth, Interval, Priority, Version, VirtualAddrs, Vrid};

const PRIMARY: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
const LOWER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 5));
const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);
const EX4: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 7);
const EX6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 7);

fn one_burst() -> AnnounceConfig {
    AnnounceConfig {
        repeat: 1,
        second_burst_delay: None,
        refresh: None,
        refresh_repeat: 1,
    }
}

fn builder(prio: u8) -> ConfigBuilder {
    Config::builder(7, Version::V3)
        .priority(prio)
        .primary_addr(PRIMARY)
        .virtual_addr(VIP)
        .announce(one_burst())
}

fn drain(r: &mut VirtualRouter) -> Vec<Action> {
    std::iter::from_fn(|| r.poll_action()).collect()
}

fn adv(prio: u8) -> Advert {
    Advert {
        version: Version::V3,
        vrid: Vrid::new(7).expect("non-zero"),
        priority: Priority::new(prio),
        interval: Interval::DEFAULT,
        addrs: VirtualAddrs::V4(vec![VIP]),
        auth: Auth::None,
    }
}

/// A router of priority 255 (master at start-up), drained.
fn master(b: ConfigBuilder, t0: Instant) -> VirtualRouter {
    let mut r = VirtualRouter::new(b.build().expect("valid"));
    r.startup(t0);
    drain(&mut r);
    assert_eq!(r.state(), State::Master);
    r
}

#[test]
fn excluded_addresses_are_installed_announced_and_removed_but_not_advertised() {
    let t0 = Instant::now();
    let cfg = builder(255).excluded_addrs([IpAddr::V4(EX4), IpAddr::V6(EX6)]);
    let mut r = VirtualRouter::new(cfg.build().expect("valid"));
    r.startup(t0);
    let acts = drain(&mut r);
    assert_eq!(
        acts[..6],
        [
            Action::AddVip(VIP.into()),
            Action::AddVip(EX4.into()),
            Action::AddVip(EX6.into()),
            Action::SendAdvert(AdvertKind::Current),
            Action::SendGarp(VIP),
            Action::SendGarp(EX4),
        ]
    );
    assert_eq!(acts[6], Action::SendUnsolicitedNa(EX6));
    // The advert carries the virtual address only (keepalived: evip is
    // never in the packet, so peers need not list it).
    assert_eq!(
        r.advert(AdvertKind::Current).addrs,
        VirtualAddrs::V4(vec![VIP])
    );
    assert_eq!(
        r.config().excluded_addrs(),
        [IpAddr::V4(EX4), IpAddr::V6(EX6)]
    );
    // A lost excluded address is put back like a virtual one.
    assert!(r.restore_vip(t0, EX4.into()));
    assert_eq!(
        drain(&mut r),
        [Action::AddVip(EX4.into()), Action::SendGarp(EX4)]
    );
    r.shutdown(t0 + Duration::from_secs(1));
    let acts = drain(&mut r);
    assert_eq!(
        acts[..4],
        [
            Action::SendAdvert(AdvertKind::Release),
            Action::RemoveVip(VIP.into()),
            Action::RemoveVip(EX4.into()),
            Action::RemoveVip(EX6.into()),
        ]
    );
}

#[test]
fn an_excluded_address_listed_twice_is_refused() {
    let twice = builder(100)
        .excluded_addrs([IpAddr::V4(VIP)])
        .build()
        .expect_err("duplicate");
    assert_eq!(twice, ConfigError::DuplicateAddress(VIP.into()));
    let twice = builder(100)
        .excluded_addrs([IpAddr::V4(EX4), IpAddr::V4(EX4)])
        .build()
        .expect_err("duplicate");
    assert_eq!(twice, ConfigError::DuplicateAddress(EX4.into()));
}

#[test]
fn a_reload_moves_only_the_excluded_addresses_that_changed() {
    let t0 = Instant::now();
    let mut r = master(builder(255).excluded_addrs([IpAddr::V4(EX4)]), t0);
    let new = builder(255)
        .excluded_addrs([IpAddr::V6(EX6)])
        .build()
        .expect("valid");
    r.reconfigure(t0, new).expect("same router");
    assert_eq!(
        drain(&mut r),
        [
            Action::AddVip(EX6.into()),
            Action::RemoveVip(EX4.into()),
            Action::SendUnsolicitedNa(EX6),
        ]
    );
}

#[test]
fn lower_priority_advert_gets_keepalived_repeat_then_delayed_second_set() {
    let t0 = Instant::now();
    let lower = LowerPrioAnnounce {
        repeat: 2,
        delay: Some(Duration::from_secs(5)),
    };
    let mut r = master(builder(255).lower_prio_announce(Some(lower)), t0);
    let t1 = t0 + Duration::from_millis(100);
    r.handle_advert(t1, LOWER, 255, &adv(100));
    let acts = drain(&mut r);
    // Owner in VRRPv3: the conflict is logged, then answered.
    let tail: Vec<_> = acts
        .into_iter()
        .filter(|a| !matches!(a, Action::Mismatch { .. }))
        .collect();
    assert_eq!(
        tail,
        [
            Action::SendAdvert(AdvertKind::Current),
            Action::SendGarp(VIP),
            Action::SendGarp(VIP),
        ]
    );
    // The second set comes after garp_lower_prio_delay (the Adver_Timer
    // fires first and sends its adverts).
    let t2 = t1 + Duration::from_secs(5);
    r.handle_timeout(t2);
    let garps = drain(&mut r)
        .into_iter()
        .filter(|a| matches!(a, Action::SendGarp(_)))
        .count();
    assert_eq!(garps, 2);
}

#[test]
fn lower_priority_repeat_zero_sends_the_advert_only() {
    let t0 = Instant::now();
    let lower = LowerPrioAnnounce {
        repeat: 0,
        delay: Some(Duration::from_secs(5)),
    };
    let mut r = master(builder(255).lower_prio_announce(Some(lower)), t0);
    let t1 = t0 + Duration::from_millis(100);
    r.handle_advert(t1, LOWER, 255, &adv(100));
    let sent: Vec<_> = drain(&mut r)
        .into_iter()
        .filter(|a| !matches!(a, Action::Mismatch { .. }))
        .collect();
    assert_eq!(sent, [Action::SendAdvert(AdvertKind::Current)]);
    // No second set is armed: the next deadline is the Adver_Timer.
    assert_eq!(r.poll_timeout(), Some(t1 + Duration::from_secs(1)));
}

#[test]
fn without_the_setting_a_conflict_announces_the_master_repeat_once() {
    let t0 = Instant::now();
    let mut r = master(builder(255), t0);
    assert_eq!(
        r.config().lower_prio_announce(),
        LowerPrioAnnounce {
            repeat: 1,
            delay: None
        }
    );
    r.handle_advert(t0, LOWER, 255, &adv(100));
    let garps = drain(&mut r)
        .into_iter()
        .filter(|a| matches!(a, Action::SendGarp(_)))
        .count();
    assert_eq!(garps, 1);
}

#[test]
fn leaving_master_cancels_the_second_set() {
    let t0 = Instant::now();
    let lower = LowerPrioAnnounce {
        repeat: 1,
        delay: Some(Duration::from_secs(2)),
    };
    let cfg = builder(150).lower_prio_announce(Some(lower));
    let mut r = VirtualRouter::new(cfg.build().expect("valid"));
    r.startup(t0);
    // Master_Down_Interval for priority 150 at 1 s: 341 cs.
    let t1 = t0 + Duration::from_secs(4);
    r.handle_timeout(t1);
    drain(&mut r);
    assert_eq!(r.state(), State::Master);
    r.handle_advert(t1, LOWER, 255, &adv(100));
    drain(&mut r);
    r.handle_advert(t1 + Duration::from_secs(1), LOWER, 255, &adv(200));
    drain(&mut r);
    assert_eq!(r.state(), State::Backup);
    // The second set was due at t1 + 2 s; Master_Down_Timer is not.
    r.handle_timeout(t1 + Duration::from_secs(3));
    assert!(
        !drain(&mut r)
            .iter()
            .any(|a| matches!(a, Action::SendGarp(_)))
    );
}

#[test]
fn strict_mode_discards_lower_priority_adverts_without_an_answer() {
    let t0 = Instant::now();
    // A master that is not the owner hears a lower priority.
    let cfg = builder(150).strict(true);
    let mut r = VirtualRouter::new(cfg.build().expect("valid"));
    r.startup(t0);
    let t1 = t0 + Duration::from_secs(4);
    r.handle_timeout(t1);
    drain(&mut r);
    assert_eq!(r.state(), State::Master);
    r.handle_advert(t1, LOWER, 255, &adv(100));
    assert_eq!(drain(&mut r), []);
    assert_eq!(r.stats().lower_prio_ignored, 1);
    assert_eq!(r.stats().conflicts_answered, 0);
    // The same without strict mode answers (RFC 9568 §6.4.3).
    let mut plain = VirtualRouter::new(builder(150).build().expect("valid"));
    plain.startup(t0);
    plain.handle_timeout(t1);
    drain(&mut plain);
    plain.handle_advert(t1, LOWER, 255, &adv(100));
    assert!(drain(&mut plain).contains(&Action::SendAdvert(AdvertKind::Current)));
}

#[test]
fn a_strict_owner_ignores_every_advert_in_vrrpv3_too() {
    let t0 = Instant::now();
    let mut r = master(builder(255).strict(true), t0);
    r.handle_advert(t0, LOWER, 255, &adv(254));
    let acts = drain(&mut r);
    assert!(
        acts.iter().all(|a| matches!(a, Action::Discarded { .. })),
        "{acts:?}"
    );
    assert_eq!(r.state(), State::Master);
}

#[test]
fn lower_prio_no_advert_announces_without_an_advert() {
    let t0 = Instant::now();
    let mut r = master(builder(255).lower_prio_no_advert(true), t0);
    r.handle_advert(t0, LOWER, 255, &adv(100));
    let sent: Vec<_> = drain(&mut r)
        .into_iter()
        .filter(|a| !matches!(a, Action::Mismatch { .. }))
        .collect();
    assert_eq!(sent, [Action::SendGarp(VIP)]);
}

/// keepalived's `notify_master_rx_lower_pri`: asked for, a master reports
/// each advert of a router it wins against, before answering it; in
/// strict mode (no answer) too. Not asked for, nothing is reported.
#[test]
fn a_master_reports_lower_priority_adverts_only_when_asked() {
    let t0 = Instant::now();
    // Priority 200: master once its Master_Down_Timer expired.
    let up = |b: ConfigBuilder| {
        let mut r = VirtualRouter::new(b.build().expect("valid"));
        r.startup(t0);
        r.handle_timeout(t0 + Duration::from_secs(5));
        drain(&mut r);
        assert_eq!(r.state(), State::Master);
        r
    };
    let t1 = t0 + Duration::from_secs(6);
    let heard = |mut r: VirtualRouter, prio: u8| {
        r.handle_advert(t1, LOWER, 255, &adv(prio));
        drain(&mut r)
    };
    let reports = |acts: &[Action]| {
        acts.iter()
            .filter(|a| matches!(a, Action::LowerPriorityHeard { .. }))
            .cloned()
            .collect::<Vec<_>>()
    };
    let want = [Action::LowerPriorityHeard {
        src: LOWER,
        priority: Priority::new(100),
    }];
    let acts = heard(up(builder(200).report_lower_priority(true)), 100);
    assert_eq!(reports(&acts), want);
    // The report comes first, then the answer.
    assert_eq!(acts.first(), want.first(), "{acts:?}");
    assert!(acts.contains(&Action::SendAdvert(vrrp_fsm::AdvertKind::Current)));
    // Strict mode does not answer, but reports.
    let strict = builder(200).report_lower_priority(true).strict(true);
    assert_eq!(reports(&heard(up(strict), 100)), want);
    // The address owner too (VRRPv3 logs the conflict, then answers).
    let owner = master(builder(255).report_lower_priority(true), t0);
    assert_eq!(reports(&heard(owner, 100)), want);
    // Not asked for: nothing. A higher priority: the master steps down.
    assert!(reports(&heard(up(builder(200)), 100)).is_empty());
    let acts = heard(up(builder(200).report_lower_priority(true)), 250);
    assert!(reports(&acts).is_empty(), "{acts:?}");
}

/// keepalived's `down_timer_adverts`: Master_Down_Interval is n advert
/// intervals plus Skew_Time (3 by the RFCs); 1 to 100.
#[test]
fn down_timer_adverts_sets_the_master_down_interval() {
    let t0 = Instant::now();
    let backup = |b: ConfigBuilder| {
        let mut r = VirtualRouter::new(b.build().expect("valid"));
        r.startup(t0);
        assert_eq!(r.state(), State::Backup);
        r
    };
    // Priority 200, 1 s: Skew_Time = (56 * 100) / 256 = 21 cs.
    let rfc = backup(builder(200));
    assert_eq!(rfc.master_down_interval_centis(), 3 * 100 + 21);
    assert_eq!(rfc.poll_timeout(), Some(t0 + Duration::from_millis(3210)));
    let five = backup(builder(200).down_timer_adverts(5));
    assert_eq!(five.master_down_interval_centis(), 5 * 100 + 21);
    assert_eq!(five.poll_timeout(), Some(t0 + Duration::from_millis(5210)));
    for bad in [0, 101] {
        assert_eq!(
            builder(200).down_timer_adverts(bad).build().err(),
            Some(vrrp_fsm::ConfigError::DownTimerAdverts(bad))
        );
    }
}

/// keepalived's `track_src_ip`: while the fixed source address is off the
/// interface the router is in Fault, a master releasing first (priority
/// 0) as for a down interface; when it is back, the Startup rules apply.
#[test]
fn a_missing_source_address_is_a_fault() {
    let t0 = Instant::now();
    let mut r = master(builder(255), t0);
    let t1 = t0 + Duration::from_millis(100);
    r.set_source_present(t1, false);
    let acts = drain(&mut r);
    assert_eq!(r.state(), State::Fault);
    assert!(
        acts.contains(&Action::SendAdvert(vrrp_fsm::AdvertKind::Release)),
        "{acts:?}"
    );
    assert!(
        acts.contains(&Action::RemoveVip(IpAddr::V4(VIP))),
        "{acts:?}"
    );
    let reason = acts.iter().find_map(|a| match a {
        Action::StateChanged(c) => Some(c.reason),
        _ => None,
    });
    assert_eq!(reason, Some(vrrp_fsm::Reason::SourceMissing));
    // Reported again while missing: nothing new.
    r.set_source_present(t1, false);
    assert!(drain(&mut r).is_empty());
    r.set_source_present(t1 + Duration::from_millis(100), true);
    drain(&mut r);
    assert_eq!(r.state(), State::Master, "the owner starts as Master again");
}
