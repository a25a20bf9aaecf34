//! Unit tests: one per row of the RFC 9568 §6.4 state tables (named after
//! the rule), the §7.1 receive checks, and the extensions. Each drives
//! inputs with explicit instants and asserts the exact action sequence and
//! the next `poll_timeout()`.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use vrrp_proto::{Advert, Auth, Interval, Priority, Version, VirtualAddrs, Vrid};

use crate::*;

const PRIMARY: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
const HIGHER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 20));
const LOWER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 5));
const VIP_A: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);
const VIP_B: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 101);

fn quiet() -> AnnounceConfig {
    AnnounceConfig {
        repeat: 1,
        second_burst_delay: None,
        refresh: None,
        refresh_repeat: 1,
    }
}

fn builder(version: Version, prio: u8) -> ConfigBuilder {
    Config::builder(7, version)
        .priority(prio)
        .primary_addr(PRIMARY)
        .virtual_addrs([VIP_A, VIP_B])
        .announce(quiet())
}

fn router(version: Version, prio: u8) -> VirtualRouter {
    VirtualRouter::new(builder(version, prio).build().expect("valid"))
}

fn adv(version: Version, prio: u8, interval_cs: u16) -> Advert {
    Advert {
        version,
        vrid: Vrid::new(7).expect("non-zero"),
        priority: Priority::new(prio),
        interval: Interval::from_centis(interval_cs).expect("non-zero"),
        addrs: VirtualAddrs::V4(vec![VIP_A, VIP_B]),
        auth: Auth::None,
    }
}

fn drain(r: &mut VirtualRouter) -> Vec<Action> {
    std::iter::from_fn(|| r.poll_action()).collect()
}

fn cs(n: u64) -> Duration {
    Duration::from_millis(n * 10)
}

fn changed(from: State, to: State, reason: Reason) -> Action {
    Action::StateChanged(StateChange { from, to, reason })
}

fn become_master_actions(from: State, reason: Reason) -> Vec<Action> {
    vec![
        Action::AddVip(VIP_A.into()),
        Action::AddVip(VIP_B.into()),
        Action::SendAdvert(AdvertKind::Current),
        Action::SendGarp(VIP_A),
        Action::SendGarp(VIP_B),
        changed(from, State::Master, reason),
    ]
}

/// A started VRRPv3 backup of priority 100 (MDI = 300 + 60 = 360 cs).
fn backup(t0: Instant) -> VirtualRouter {
    let mut r = router(Version::V3, 100);
    r.startup(t0);
    drain(&mut r);
    r
}

/// A VRRPv3 master of priority 100, master since `t0 + 360 cs`.
fn master(t0: Instant) -> (VirtualRouter, Instant) {
    let mut r = backup(t0);
    let t = t0 + cs(360);
    r.handle_timeout(t);
    drain(&mut r);
    assert_eq!(r.state(), State::Master);
    (r, t)
}

// ----- RFC 9568 §6.4.1 Initialize ------------------------------------------

#[test]
fn initialize_startup_owner_sends_advert_announces_and_becomes_master() {
    let t0 = Instant::now();
    let mut r = router(Version::V3, 255);
    r.startup(t0);
    assert_eq!(
        drain(&mut r),
        become_master_actions(State::Initialize, Reason::Startup)
    );
    // (140) Set the Adver_Timer to Advertisement_Interval.
    assert_eq!(r.poll_timeout(), Some(t0 + cs(100)));
    assert!(r.holds_vips());
}

#[test]
fn adver_timer_advert_carries_its_deadline_and_others_none() {
    let t0 = Instant::now();
    let mut r = router(Version::V3, 255);
    r.startup(t0);
    let _ = drain(&mut r);
    // The first advert of a new master has no deadline.
    assert_eq!(r.advert_due(), None);
    // The Adver_Timer fires 30 ms late: the advert names the deadline it
    // missed, and the next one is armed from when it fired.
    r.handle_timeout(t0 + cs(103));
    assert_eq!(drain(&mut r), vec![Action::SendAdvert(AdvertKind::Current)]);
    assert_eq!(r.advert_due(), Some(t0 + cs(100)));
    assert_eq!(r.poll_timeout(), Some(t0 + cs(203)));
    // A release is not timer-driven.
    r.shutdown(t0 + cs(150));
    let _ = drain(&mut r);
    assert_eq!(r.advert_due(), None);
}

#[test]
fn initialize_startup_non_owner_sets_master_down_timer_and_becomes_backup() {
    let t0 = Instant::now();
    let mut r = router(Version::V3, 100);
    r.startup(t0);
    assert_eq!(
        drain(&mut r),
        vec![changed(State::Initialize, State::Backup, Reason::Startup)]
    );
    // Master_Adver_Interval = Advertisement_Interval; Master_Down_Interval =
    // 3 * 100 + (156 * 100) / 256 = 360 cs.
    assert_eq!(r.master_adver_interval().centis(), 100);
    assert_eq!(r.poll_timeout(), Some(t0 + cs(360)));
}

#[test]
fn initialize_ignores_adverts_and_timeouts_before_startup() {
    let t0 = Instant::now();
    let mut r = router(Version::V3, 100);
    r.handle_advert(t0, HIGHER, 255, &adv(Version::V3, 200, 100));
    r.handle_timeout(t0 + cs(1000));
    assert_eq!(drain(&mut r), vec![]);
    assert_eq!(r.poll_timeout(), None);
    assert_eq!(r.stats().ignored_not_running, 1);
}

// ----- RFC 9568 §6.4.2 Backup ----------------------------------------------

#[test]
fn backup_shutdown_cancels_master_down_timer_and_goes_initialize() {
    let t0 = Instant::now();
    let mut r = backup(t0);
    r.shutdown(t0 + cs(10));
    assert_eq!(
        drain(&mut r),
        vec![changed(State::Backup, State::Initialize, Reason::Shutdown)]
    );
    assert_eq!(r.poll_timeout(), None);
}

#[test]
fn backup_master_down_timer_fires_sends_advert_announces_and_becomes_master() {
    let t0 = Instant::now();
    let mut r = backup(t0);
    // Early: nothing happens (contract rule 3).
    r.handle_timeout(t0 + cs(359));
    assert_eq!(drain(&mut r), vec![]);
    let t = t0 + cs(360);
    r.handle_timeout(t);
    assert_eq!(
        drain(&mut r),
        become_master_actions(State::Backup, Reason::MasterDown)
    );
    assert_eq!(r.poll_timeout(), Some(t + cs(100)));
    // Twice: nothing more.
    r.handle_timeout(t);
    assert_eq!(drain(&mut r), vec![]);
}

#[test]
fn backup_recv_priority_zero_sets_master_down_timer_to_skew_time() {
    let t0 = Instant::now();
    let mut r = backup(t0);
    let t = t0 + cs(100);
    r.handle_advert(t, HIGHER, 255, &adv(Version::V3, 0, 100));
    assert_eq!(drain(&mut r), vec![]);
    // Skew_Time = (156 * 100) / 256 = 60 cs.
    assert_eq!(r.poll_timeout(), Some(t + cs(60)));
    assert_eq!(r.stats().priority_zero_received, 1);
}

#[test]
fn backup_recv_higher_priority_learns_interval_and_resets_master_down_timer() {
    let t0 = Instant::now();
    let mut r = backup(t0);
    let t = t0 + cs(100);
    r.handle_advert(t, HIGHER, 255, &adv(Version::V3, 200, 50));
    // The v3 interval mismatch is reported (RFC 9568 §7.1) but processed.
    assert_eq!(
        drain(&mut r),
        vec![Action::Mismatch {
            src: HIGHER,
            mismatch: Mismatch::Interval
        }]
    );
    assert_eq!(r.master_adver_interval().centis(), 50);
    // Master_Down_Interval = 3 * 50 + (156 * 50) / 256 = 150 + 30.
    assert_eq!(r.poll_timeout(), Some(t + cs(180)));
    assert_eq!(r.master_addr(), Some(HIGHER));
}

#[test]
fn backup_recv_equal_priority_resets_master_down_timer() {
    let t0 = Instant::now();
    let mut r = backup(t0);
    let t = t0 + cs(300);
    r.handle_advert(t, LOWER, 255, &adv(Version::V3, 100, 100));
    assert_eq!(drain(&mut r), vec![]);
    assert_eq!(r.poll_timeout(), Some(t + cs(360)));
}

#[test]
fn backup_recv_lower_priority_with_preempt_discards_advert() {
    let t0 = Instant::now();
    let mut r = backup(t0);
    r.handle_advert(t0 + cs(300), HIGHER, 255, &adv(Version::V3, 50, 100));
    assert_eq!(drain(&mut r), vec![]);
    // The timer runs on: this router preempts at the original deadline.
    assert_eq!(r.poll_timeout(), Some(t0 + cs(360)));
    assert_eq!(r.stats().preempt_discards, 1);
}

#[test]
fn backup_recv_lower_priority_without_preempt_resets_master_down_timer() {
    let t0 = Instant::now();
    let mut r = VirtualRouter::new(
        builder(Version::V3, 100)
            .preempt(false)
            .build()
            .expect("valid"),
    );
    r.startup(t0);
    drain(&mut r);
    let t = t0 + cs(300);
    r.handle_advert(t, HIGHER, 255, &adv(Version::V3, 50, 100));
    assert_eq!(drain(&mut r), vec![]);
    assert_eq!(r.poll_timeout(), Some(t + cs(360)));
}

// ----- RFC 9568 §6.4.3 Master ----------------------------------------------

#[test]
fn master_shutdown_cancels_adver_timer_sends_priority_zero_and_goes_initialize() {
    let t0 = Instant::now();
    let (mut r, t) = master(t0);
    r.shutdown(t + cs(10));
    assert_eq!(
        drain(&mut r),
        vec![
            Action::SendAdvert(AdvertKind::Release),
            Action::RemoveVip(VIP_A.into()),
            Action::RemoveVip(VIP_B.into()),
            changed(State::Master, State::Initialize, Reason::Shutdown),
        ]
    );
    assert_eq!(r.poll_timeout(), None);
    assert_eq!(r.advert(AdvertKind::Release).priority, Priority::RELEASE);
    assert_eq!(r.stats().priority_zero_sent, 1);
}

#[test]
fn master_adver_timer_fires_sends_advert_and_resets_adver_timer() {
    let t0 = Instant::now();
    let (mut r, t) = master(t0);
    let t1 = t + cs(100);
    r.handle_timeout(t1);
    assert_eq!(drain(&mut r), vec![Action::SendAdvert(AdvertKind::Current)]);
    assert_eq!(r.poll_timeout(), Some(t1 + cs(100)));
    assert_eq!(r.advert(AdvertKind::Current).priority, Priority::new(100));
}

#[test]
fn master_recv_priority_zero_sends_advert_and_resets_adver_timer() {
    let t0 = Instant::now();
    let (mut r, t) = master(t0);
    let t1 = t + cs(40);
    r.handle_advert(t1, HIGHER, 255, &adv(Version::V3, 0, 100));
    assert_eq!(drain(&mut r), vec![Action::SendAdvert(AdvertKind::Current)]);
    assert_eq!(r.poll_timeout(), Some(t1 + cs(100)));
    assert_eq!(r.state(), State::Master);
}

#[test]
fn master_recv_higher_priority_cancels_adver_timer_and_becomes_backup() {
    let t0 = Instant::now();
    let (mut r, t) = master(t0);
    let t1 = t + cs(40);
    r.handle_advert(t1, LOWER, 255, &adv(Version::V3, 101, 200));
    assert_eq!(
        drain(&mut r),
        vec![
            Action::Mismatch {
                src: LOWER,
                mismatch: Mismatch::Interval
            },
            Action::SendAdvert(AdvertKind::Current),
            Action::RemoveVip(VIP_A.into()),
            Action::RemoveVip(VIP_B.into()),
            changed(State::Master, State::Backup, Reason::HigherPriority),
        ]
    );
    // Master_Adver_Interval from the advert: 3 * 200 + (156 * 200) / 256.
    assert_eq!(r.master_adver_interval().centis(), 200);
    assert_eq!(r.poll_timeout(), Some(t1 + cs(600 + 121)));
}

#[test]
fn master_recv_equal_priority_from_higher_address_becomes_backup() {
    let t0 = Instant::now();
    // The RFC's silent step-down (keepalived higher_prio_send_advert off).
    let mut r = VirtualRouter::new(
        builder(Version::V3, 100)
            .higher_prio_send_advert(false)
            .build()
            .expect("valid"),
    );
    r.startup(t0);
    let t = t0 + cs(360);
    r.handle_timeout(t);
    drain(&mut r);
    let t1 = t + cs(40);
    r.handle_advert(t1, HIGHER, 255, &adv(Version::V3, 100, 100));
    assert_eq!(
        drain(&mut r),
        vec![
            Action::RemoveVip(VIP_A.into()),
            Action::RemoveVip(VIP_B.into()),
            changed(State::Master, State::Backup, Reason::HigherPriority),
        ]
    );
    assert_eq!(r.poll_timeout(), Some(t1 + cs(360)));
}

#[test]
fn master_recv_lower_priority_discards_and_sends_advert_immediately() {
    let t0 = Instant::now();
    let (mut r, t) = master(t0);
    let t1 = t + cs(40);
    r.handle_advert(t1, HIGHER, 255, &adv(Version::V3, 99, 100));
    // RFC 9568 §6.4.3: assert the Active state at once; then re-announce.
    assert_eq!(
        drain(&mut r),
        vec![
            Action::SendAdvert(AdvertKind::Current),
            Action::SendGarp(VIP_A),
            Action::SendGarp(VIP_B)
        ]
    );
    assert_eq!(r.poll_timeout(), Some(t1 + cs(100)));
    assert_eq!(r.state(), State::Master);
    // A second conflict within one interval: advert only, no announcement.
    r.handle_advert(t1 + cs(50), HIGHER, 255, &adv(Version::V3, 99, 100));
    assert_eq!(drain(&mut r), vec![Action::SendAdvert(AdvertKind::Current)]);
    assert_eq!(r.stats().conflicts_answered, 2);
}

#[test]
fn master_recv_equal_priority_from_lower_address_sends_advert_immediately() {
    let t0 = Instant::now();
    let (mut r, t) = master(t0);
    let t1 = t + cs(40);
    r.handle_advert(t1, LOWER, 255, &adv(Version::V3, 100, 100));
    assert_eq!(
        drain(&mut r),
        vec![
            Action::SendAdvert(AdvertKind::Current),
            Action::SendGarp(VIP_A),
            Action::SendGarp(VIP_B)
        ]
    );
    assert_eq!(r.state(), State::Master);
}

// ----- RFC 9568 §7.1 / RFC 3768 §7.1 receive checks ----------------------

fn discarded(src: IpAddr, reason: DiscardReason) -> Vec<Action> {
    vec![Action::Discarded { src, reason }]
}

#[test]
fn receive_ttl_not_255_is_discarded() {
    let t0 = Instant::now();
    let mut r = backup(t0);
    r.handle_advert(t0 + cs(300), HIGHER, 254, &adv(Version::V3, 200, 100));
    assert_eq!(drain(&mut r), discarded(HIGHER, DiscardReason::TtlNot255));
    assert_eq!(r.poll_timeout(), Some(t0 + cs(360)));
    assert_eq!(
        (
            r.stats().ttl_errors,
            r.stats().discarded,
            r.stats().adverts_received
        ),
        (1, 1, 0)
    );
}

#[test]
fn receive_version_vrid_family_and_own_adverts_are_discarded() {
    let t0 = Instant::now();
    let mut r = backup(t0);
    let t = t0 + cs(300);
    r.handle_advert(t, HIGHER, 255, &adv(Version::V2, 200, 100));
    let mut other_vrid = adv(Version::V3, 200, 100);
    other_vrid.vrid = Vrid::new(8).expect("non-zero");
    r.handle_advert(t, HIGHER, 255, &other_vrid);
    r.handle_advert(
        t,
        IpAddr::V6("fe80::1".parse().expect("addr")),
        255,
        &adv(Version::V3, 200, 100),
    );
    r.handle_advert(t, IpAddr::V4(PRIMARY), 255, &adv(Version::V3, 200, 100));
    let mut empty = adv(Version::V3, 200, 100);
    empty.addrs = VirtualAddrs::V4(vec![]);
    r.handle_advert(t, HIGHER, 255, &empty);
    let v6 = IpAddr::V6("fe80::1".parse().expect("addr"));
    assert_eq!(
        drain(&mut r),
        vec![
            Action::Discarded {
                src: HIGHER,
                reason: DiscardReason::VersionMismatch
            },
            Action::Discarded {
                src: HIGHER,
                reason: DiscardReason::VridMismatch
            },
            Action::Discarded {
                src: v6,
                reason: DiscardReason::AddressFamily
            },
            Action::Discarded {
                src: IpAddr::V4(PRIMARY),
                reason: DiscardReason::OwnAdvert
            },
            Action::Discarded {
                src: HIGHER,
                reason: DiscardReason::EmptyAddressList
            },
        ]
    );
    assert_eq!(r.poll_timeout(), Some(t0 + cs(360)));
    let s = r.stats();
    assert_eq!(
        (
            s.version_errors,
            s.vrid_errors,
            s.family_errors,
            s.own_adverts,
            s.empty_address_lists,
            s.discarded
        ),
        (1, 1, 1, 1, 1, 5)
    );
}

fn v2_backup(t0: Instant, auth: Auth) -> VirtualRouter {
    let mut r = VirtualRouter::new(builder(Version::V2, 100).auth(auth).build().expect("valid"));
    r.startup(t0);
    drain(&mut r);
    r
}

#[test]
fn receive_v2_authentication_mismatch_is_discarded() {
    let t0 = Instant::now();
    let mut r = v2_backup(t0, Auth::SimplePassword(*b"secret\0\0"));
    r.handle_advert(t0 + cs(100), HIGHER, 255, &adv(Version::V2, 200, 100));
    assert_eq!(
        drain(&mut r),
        discarded(HIGHER, DiscardReason::AuthMismatch)
    );
    let mut ok = adv(Version::V2, 200, 100);
    ok.auth = Auth::SimplePassword(*b"secret\0\0");
    let t = t0 + cs(200);
    r.handle_advert(t, HIGHER, 255, &ok);
    assert_eq!(drain(&mut r), vec![]);
    // v2: Master_Down_Interval = 3 * 100 + (156 * 100) / 256 = 360 cs.
    assert_eq!(r.poll_timeout(), Some(t + cs(360)));
}

#[test]
fn receive_v2_interval_mismatch_is_discarded() {
    let t0 = Instant::now();
    let mut r = v2_backup(t0, Auth::None);
    r.handle_advert(t0 + cs(100), HIGHER, 255, &adv(Version::V2, 200, 200));
    assert_eq!(
        drain(&mut r),
        discarded(HIGHER, DiscardReason::IntervalMismatch)
    );
    assert_eq!(r.poll_timeout(), Some(t0 + cs(360)));
    assert_eq!(r.master_adver_interval().centis(), 100);
}

#[test]
fn receive_v2_address_list_mismatch_is_discarded_unless_sender_is_owner() {
    let t0 = Instant::now();
    let mut r = v2_backup(t0, Auth::None);
    let mut a = adv(Version::V2, 200, 100);
    a.addrs = VirtualAddrs::V4(vec![VIP_A]);
    r.handle_advert(t0 + cs(100), HIGHER, 255, &a);
    assert_eq!(
        drain(&mut r),
        discarded(HIGHER, DiscardReason::AddressListMismatch)
    );
    assert_eq!(r.poll_timeout(), Some(t0 + cs(360)));
    // From the owner: logged, then processed (RFC 3768 §7.1).
    a.priority = Priority::OWNER;
    let t = t0 + cs(200);
    r.handle_advert(t, HIGHER, 255, &a);
    assert_eq!(
        drain(&mut r),
        vec![Action::Mismatch {
            src: HIGHER,
            mismatch: Mismatch::AddressList
        }]
    );
    assert_eq!(r.poll_timeout(), Some(t + cs(360)));
}

#[test]
fn receive_v3_address_list_mismatch_is_reported_and_processed() {
    let t0 = Instant::now();
    let mut r = backup(t0);
    let mut a = adv(Version::V3, 200, 100);
    a.addrs = VirtualAddrs::V4(vec![VIP_B, VIP_A]); // order does not matter
    let t = t0 + cs(100);
    r.handle_advert(t, HIGHER, 255, &a);
    assert_eq!(drain(&mut r), vec![]);
    a.addrs = VirtualAddrs::V4(vec![VIP_A]);
    r.handle_advert(t, HIGHER, 255, &a);
    assert_eq!(
        drain(&mut r),
        vec![Action::Mismatch {
            src: HIGHER,
            mismatch: Mismatch::AddressList
        }]
    );
    assert_eq!(r.poll_timeout(), Some(t + cs(360)));
    assert_eq!(r.stats().address_list_errors, 1);
}

#[test]
fn receive_v2_owner_discards_every_advert() {
    let t0 = Instant::now();
    let mut r = VirtualRouter::new(builder(Version::V2, 255).build().expect("valid"));
    r.startup(t0);
    drain(&mut r);
    r.handle_advert(t0 + cs(10), HIGHER, 255, &adv(Version::V2, 0, 100));
    assert_eq!(
        drain(&mut r),
        discarded(HIGHER, DiscardReason::LocalIsOwner)
    );
    assert_eq!(r.poll_timeout(), Some(t0 + cs(100)));
    // Another router acting as master: discarded for the state machine, but
    // the owner asserts itself and re-announces (split brain heals).
    let t = t0 + cs(20);
    r.handle_advert(t, HIGHER, 255, &adv(Version::V2, 200, 100));
    assert_eq!(
        drain(&mut r),
        vec![
            Action::Discarded {
                src: HIGHER,
                reason: DiscardReason::LocalIsOwner
            },
            Action::SendAdvert(AdvertKind::Current),
            Action::SendGarp(VIP_A),
            Action::SendGarp(VIP_B),
        ]
    );
    assert_eq!(r.poll_timeout(), Some(t + cs(100)));
    assert_eq!(r.state(), State::Master);
    assert!(r.accepts_vip_traffic());
}

#[test]
fn receive_v3_owner_reports_conflict_and_processes_erratum_8298() {
    let t0 = Instant::now();
    let mut r = router(Version::V3, 255);
    r.startup(t0);
    drain(&mut r);
    let t = t0 + cs(10);
    r.handle_advert(t, LOWER, 255, &adv(Version::V3, 255, 100));
    assert_eq!(
        drain(&mut r),
        vec![
            Action::Mismatch {
                src: LOWER,
                mismatch: Mismatch::OwnerConflict
            },
            Action::SendAdvert(AdvertKind::Current),
            Action::SendGarp(VIP_A),
            Action::SendGarp(VIP_B),
        ]
    );
    assert_eq!(r.state(), State::Master);
}

// ----- Extensions -------------------------------------------------------------

#[test]
fn tracked_priority_is_clamped_to_1_254_and_never_touches_the_owner() {
    let t0 = Instant::now();
    let mut r = backup(t0);
    r.set_tracked_priority(t0, 50);
    assert_eq!(r.priority().get(), 150);
    assert_eq!(r.advert(AdvertKind::Current).priority.get(), 150);
    r.set_tracked_priority(t0, 500);
    assert_eq!(r.priority().get(), 254);
    r.set_tracked_priority(t0, -500);
    assert_eq!(r.priority().get(), 1);
    r.set_tracked_priority(t0, 0);
    assert_eq!(r.priority().get(), 100);
    assert_eq!(r.advert(AdvertKind::Release).priority.get(), 0);
    let mut owner = router(Version::V3, 255);
    owner.set_tracked_priority(t0, -100);
    assert_eq!(owner.priority().get(), 255);
    assert_eq!(owner.advert(AdvertKind::Current).priority.get(), 255);
    assert_eq!(owner.tracked_delta(), -100);
}

#[test]
fn tracked_priority_raise_makes_a_backup_preempt() {
    let t0 = Instant::now();
    let mut r = backup(t0);
    let a = adv(Version::V3, 120, 100);
    r.handle_advert(t0 + cs(100), HIGHER, 255, &a);
    assert_eq!(r.poll_timeout(), Some(t0 + cs(460)));
    r.set_tracked_priority(t0 + cs(150), 30);
    // Now 130 > 120: the master's adverts are discarded; the timer runs out.
    r.handle_advert(t0 + cs(200), HIGHER, 255, &a);
    assert_eq!(r.poll_timeout(), Some(t0 + cs(460)));
    r.handle_timeout(t0 + cs(460));
    assert_eq!(r.state(), State::Master);
}

#[test]
fn preempt_delay_follows_keepalived_semantics() {
    let t0 = Instant::now();
    let cfg = builder(Version::V3, 200)
        .preempt_delay(Some(Duration::from_secs(10)))
        .build()
        .expect("valid");
    let mut r = VirtualRouter::new(cfg);
    r.startup(t0);
    drain(&mut r);
    let low = adv(Version::V3, 100, 100);
    // Within 10 s of start-up, a lower-priority master is accepted.
    for s in 1..10u64 {
        let t = t0 + Duration::from_secs(s);
        r.handle_advert(t, HIGHER, 255, &low);
        assert_eq!(r.poll_timeout(), Some(t + cs(300 + 21)), "second {s}");
        assert_eq!(r.state(), State::Backup);
    }
    // From 10 s on it is discarded: the timer set at 9 s runs out.
    r.handle_advert(t0 + Duration::from_secs(10), HIGHER, 255, &low);
    assert_eq!(r.stats().preempt_discards, 1);
    r.handle_timeout(t0 + Duration::from_secs(9) + cs(321));
    assert_eq!(r.state(), State::Master);
    assert!(drain(&mut r).contains(&changed(State::Backup, State::Master, Reason::MasterDown)));
}

#[test]
fn preempt_delay_restarts_after_a_higher_priority_master() {
    let t0 = Instant::now();
    let cfg = builder(Version::V3, 200)
        .preempt_delay(Some(Duration::from_secs(5)))
        .build()
        .expect("valid");
    let mut r = VirtualRouter::new(cfg);
    r.startup(t0);
    // A better master clears the delay; the next lower master starts it anew.
    r.handle_advert(
        t0 + Duration::from_secs(20),
        HIGHER,
        255,
        &adv(Version::V3, 250, 100),
    );
    let low = adv(Version::V3, 100, 100);
    r.handle_advert(t0 + Duration::from_secs(21), HIGHER, 255, &low);
    r.handle_advert(t0 + Duration::from_secs(25), HIGHER, 255, &low);
    assert_eq!(r.stats().preempt_discards, 0);
    r.handle_advert(t0 + Duration::from_secs(26), HIGHER, 255, &low);
    assert_eq!(r.stats().preempt_discards, 1);
}

#[test]
fn interface_down_on_master_releases_and_enters_fault_then_recovers_as_backup() {
    let t0 = Instant::now();
    let (mut r, t) = master(t0);
    r.interface_down(t + cs(10));
    assert_eq!(
        drain(&mut r),
        vec![
            Action::SendAdvert(AdvertKind::Release),
            Action::RemoveVip(VIP_A.into()),
            Action::RemoveVip(VIP_B.into()),
            changed(State::Master, State::Fault, Reason::InterfaceDown),
        ]
    );
    assert_eq!(r.poll_timeout(), None);
    r.handle_advert(t + cs(20), HIGHER, 255, &adv(Version::V3, 200, 100));
    assert_eq!(drain(&mut r), vec![]);
    // A check fault too: the interface coming up is not enough.
    r.set_check_fault(t + cs(30), true);
    r.interface_up(t + cs(40));
    assert_eq!(drain(&mut r), vec![]);
    let t2 = t + cs(50);
    r.set_check_fault(t2, false);
    assert_eq!(
        drain(&mut r),
        vec![changed(State::Fault, State::Backup, Reason::FaultCleared)]
    );
    assert_eq!(r.poll_timeout(), Some(t2 + cs(360)));
}

#[test]
fn fault_before_startup_starts_in_fault_and_owner_recovers_to_master() {
    let t0 = Instant::now();
    let mut r = router(Version::V3, 255);
    r.set_check_fault(t0, true);
    r.startup(t0);
    assert_eq!(
        drain(&mut r),
        vec![changed(State::Initialize, State::Fault, Reason::CheckFault)]
    );
    r.set_check_fault(t0 + cs(10), false);
    assert_eq!(
        drain(&mut r),
        become_master_actions(State::Fault, Reason::FaultCleared)
    );
}

#[test]
fn announcements_follow_keepalived_repeat_delay_and_refresh() {
    let t0 = Instant::now();
    let announce = AnnounceConfig {
        repeat: 3,
        second_burst_delay: Some(Duration::from_secs(5)),
        refresh: Some(Duration::from_secs(60)),
        refresh_repeat: 2,
    };
    let cfg = builder(Version::V3, 255)
        .announce(announce)
        .build()
        .expect("valid");
    let mut r = VirtualRouter::new(cfg);
    r.startup(t0);
    let garps = |v: &[Action]| {
        v.iter()
            .filter(|a| matches!(a, Action::SendGarp(_)))
            .count()
    };
    let first = drain(&mut r);
    assert_eq!(garps(&first), 6);
    assert_eq!(
        first[3..9],
        [
            Action::SendGarp(VIP_A),
            Action::SendGarp(VIP_B),
            Action::SendGarp(VIP_A),
            Action::SendGarp(VIP_B),
            Action::SendGarp(VIP_A),
            Action::SendGarp(VIP_B)
        ]
    );
    let mut total = 0;
    let mut t = t0;
    while t < t0 + Duration::from_secs(121) {
        t = r.poll_timeout().expect("armed");
        r.handle_timeout(t);
        let a = drain(&mut r);
        if t == t0 + Duration::from_secs(5) {
            assert_eq!(garps(&a), 6, "second burst at 5 s");
        }
        if t == t0 + Duration::from_secs(60) || t == t0 + Duration::from_secs(120) {
            assert_eq!(garps(&a), 4, "refresh");
        }
        total += garps(&a);
    }
    assert_eq!(total, 6 + 4 + 4);
    assert_eq!(
        Config::builder(1, Version::V3).build().map(|_| ()),
        Err(ConfigError::NoVirtualAddresses)
    );
    assert_eq!(AnnounceConfig::default().repeat, 5);
}

#[test]
fn switchover_is_make_before_break_and_does_not_preempt_back() {
    let t0 = Instant::now();
    let cfg = builder(Version::V3, 200).build().expect("valid");
    let mut r = VirtualRouter::new(cfg);
    r.startup(t0);
    let t = t0 + cs(300 + 21);
    r.handle_timeout(t);
    drain(&mut r);
    assert_eq!(r.state(), State::Master);
    let ts = t + cs(30);
    r.request_switchover(ts).expect("master");
    assert_eq!(
        drain(&mut r),
        vec![
            Action::SendAdvert(AdvertKind::Release),
            changed(State::Master, State::Backup, Reason::Switchover)
        ]
    );
    // Addresses kept until the new master is heard, bounded by MDI (321 cs).
    assert!(r.holds_vips() && r.handover_in_progress());
    assert_eq!(r.poll_timeout(), Some(ts + cs(321)));
    // The new master (priority 100, lower) is heard: break, then accept it.
    let tn = ts + cs(61);
    r.handle_advert(tn, HIGHER, 255, &adv(Version::V3, 100, 100));
    assert_eq!(
        drain(&mut r),
        vec![
            Action::RemoveVip(VIP_A.into()),
            Action::RemoveVip(VIP_B.into())
        ]
    );
    assert!(!r.holds_vips() && r.is_yielded());
    assert_eq!(r.poll_timeout(), Some(tn + cs(321)));
    // Yielded: lower-priority adverts keep being accepted (no preempt back).
    for k in 1..10u64 {
        r.handle_advert(tn + cs(100 * k), HIGHER, 255, &adv(Version::V3, 100, 100));
        r.handle_timeout(tn + cs(100 * k));
    }
    assert_eq!(r.state(), State::Backup);
    assert_eq!(r.stats().preempt_discards, 0);
    // If the new master dies, this router takes over again and preempts anew.
    let dead = tn + cs(900) + cs(321);
    r.handle_timeout(dead);
    assert_eq!(r.state(), State::Master);
    assert!(!r.is_yielded());
}

#[test]
fn switchover_without_a_taker_is_aborted_and_mastership_resumes() {
    let t0 = Instant::now();
    let (mut r, t) = master(t0);
    r.request_switchover(t).expect("master");
    drain(&mut r);
    r.handle_timeout(t + cs(359));
    assert_eq!(drain(&mut r), vec![]);
    let ta = t + cs(360);
    r.handle_timeout(ta);
    // No AddVip: the addresses never left.
    assert_eq!(
        drain(&mut r),
        vec![
            Action::SendAdvert(AdvertKind::Current),
            Action::SendGarp(VIP_A),
            Action::SendGarp(VIP_B),
            changed(State::Backup, State::Master, Reason::SwitchoverAborted),
        ]
    );
    assert_eq!(r.poll_timeout(), Some(ta + cs(100)));
}

#[test]
fn operator_requests_are_refused_where_they_make_no_sense() {
    let t0 = Instant::now();
    let mut b = backup(t0);
    assert_eq!(b.request_switchover(t0), Err(OperatorError::NotMaster));
    let mut owner = router(Version::V3, 255);
    owner.startup(t0);
    assert_eq!(owner.request_switchover(t0), Err(OperatorError::Owner));
    assert_eq!(owner.set_maintenance(t0, true), Err(OperatorError::Owner));
    b.set_maintenance(t0, true).expect("ok");
    assert_eq!(b.request_switchover(t0), Err(OperatorError::InMaintenance));
}

#[test]
fn maintenance_releases_and_never_takes_over_until_turned_off() {
    let t0 = Instant::now();
    let (mut r, t) = master(t0);
    r.set_maintenance(t, true).expect("not owner");
    assert_eq!(
        drain(&mut r),
        vec![
            Action::SendAdvert(AdvertKind::Release),
            changed(State::Master, State::Backup, Reason::Maintenance)
        ]
    );
    // Nobody takes over: at the bound the addresses go anyway.
    r.handle_timeout(t + cs(360));
    assert_eq!(
        drain(&mut r),
        vec![
            Action::RemoveVip(VIP_A.into()),
            Action::RemoveVip(VIP_B.into())
        ]
    );
    assert_eq!(r.poll_timeout(), None);
    r.handle_advert(t + cs(400), HIGHER, 255, &adv(Version::V3, 0, 100));
    r.handle_timeout(t + Duration::from_secs(100));
    assert_eq!(r.state(), State::Backup);
    assert_eq!(drain(&mut r), vec![]);
    let toff = t + Duration::from_secs(100);
    r.set_maintenance(toff, false).expect("ok");
    assert_eq!(r.poll_timeout(), Some(toff + cs(360)));
    r.handle_timeout(toff + cs(360));
    assert_eq!(r.state(), State::Master);
}

/// A sync group of VRID 7 at priority 100 (member 0) and VRID 8 at 50.
fn group_pair() -> SyncGroup {
    let a = VirtualRouter::new(builder(Version::V3, 100).build().expect("valid"));
    let b = VirtualRouter::new(
        Config::builder(8, Version::V3)
            .priority(50)
            .primary_addr(PRIMARY)
            .virtual_addr(Ipv4Addr::new(192, 0, 2, 200))
            .announce(quiet())
            .build()
            .expect("valid"),
    );
    SyncGroup::new(vec![a, b]).expect("group")
}

#[test]
fn sync_group_members_go_master_together_and_follow_backup_and_fault() {
    let t0 = Instant::now();
    let mut g = group_pair();
    g.startup(t0);
    while g.poll_action().is_some() {}
    // Member 0 (MDI 360) wants Master first but waits for member 1 (MDI
    // 300 + 99 = 399).
    g.handle_timeout(t0 + cs(360));
    assert_eq!(g.poll_action(), None);
    assert_eq!(g.state(), State::Backup);
    g.handle_timeout(t0 + cs(399));
    let acts: Vec<_> = std::iter::from_fn(|| g.poll_action()).collect();
    assert!(acts.contains(&(0, changed(State::Backup, State::Master, Reason::SyncGroup))));
    assert!(
        acts.contains(&(1, changed(State::Backup, State::Master, Reason::MasterDown)))
            || acts.contains(&(1, changed(State::Backup, State::Master, Reason::SyncGroup)))
    );
    assert_eq!(g.state(), State::Master);
    // Member 0 hears a better master: member 1 follows to Backup, releasing.
    let t = t0 + cs(450);
    g.handle_advert(t, 0, HIGHER, 255, &adv(Version::V3, 200, 100));
    let acts: Vec<_> = std::iter::from_fn(|| g.poll_action()).collect();
    assert!(acts.contains(&(
        0,
        changed(State::Master, State::Backup, Reason::HigherPriority)
    )));
    assert!(acts.contains(&(1, Action::SendAdvert(AdvertKind::Release))));
    assert!(acts.contains(&(1, changed(State::Master, State::Backup, Reason::SyncGroup))));
    // A fault on member 1 takes member 0 to Fault too, and back.
    g.interface_down(t + cs(10), 1);
    assert_eq!(g.state(), State::Fault);
    assert!(g.members().iter().all(|m| m.state() == State::Fault));
    g.interface_up(t + cs(20), 1);
    assert!(g.members().iter().all(|m| m.state() == State::Backup));
    assert!(g.poll_timeout().is_some());
    let owner = router(Version::V3, 255);
    assert_eq!(
        SyncGroup::new(vec![owner]).map(|_| ()),
        Err(SyncGroupError::OwnerMember(0))
    );
    assert_eq!(
        SyncGroup::new(vec![]).map(|_| ()),
        Err(SyncGroupError::Empty)
    );
}

#[test]
fn config_builder_rejects_invalid_configurations() {
    let base = || {
        Config::builder(1, Version::V3)
            .primary_addr(PRIMARY)
            .virtual_addr(VIP_A)
    };
    assert!(base().build().is_ok());
    assert_eq!(
        Config::builder(0, Version::V3).build(),
        Err(ConfigError::VridZero)
    );
    assert_eq!(base().priority(0).build(), Err(ConfigError::PriorityZero));
    let half = Interval::from_centis(50).expect("non-zero");
    assert_eq!(
        Config::builder(1, Version::V2)
            .primary_addr(PRIMARY)
            .virtual_addr(VIP_A)
            .interval(half)
            .build(),
        Err(ConfigError::IntervalInvalid {
            centis: 50,
            version: Version::V2
        })
    );
    let big = Interval::from_centis(4096).expect("non-zero");
    assert!(matches!(
        base().interval(big).build(),
        Err(ConfigError::IntervalInvalid { .. })
    ));
    let v6: IpAddr = "fe80::1".parse().expect("addr");
    let g6: IpAddr = "2001:db8::1".parse().expect("addr");
    assert_eq!(
        base().virtual_addr(v6).build(),
        Err(ConfigError::MixedFamilies)
    );
    assert_eq!(
        base().virtual_addr(VIP_A).build(),
        Err(ConfigError::DuplicateAddress(VIP_A.into()))
    );
    assert_eq!(
        Config::builder(1, Version::V2)
            .primary_addr(v6)
            .virtual_addr(v6)
            .build(),
        Err(ConfigError::V2WithIpv6)
    );
    // INTEROP (keepalived): a global-only IPv6 list is accepted.
    let global_only = Config::builder(1, Version::V3)
        .primary_addr(v6)
        .virtual_addr(g6)
        .build()
        .expect("global-only IPv6 VIPs are accepted");
    assert_eq!(
        global_only.virtual_addrs(),
        &VirtualAddrs::V6(vec!["2001:db8::1".parse().expect("addr")])
    );
    assert_eq!(
        Config::builder(1, Version::V3)
            .primary_addr(g6)
            .virtual_addr(v6)
            .build(),
        Err(ConfigError::PrimaryNotLinkLocal)
    );
    assert_eq!(
        Config::builder(1, Version::V3)
            .primary_addr(PRIMARY)
            .virtual_addr(v6)
            .build(),
        Err(ConfigError::PrimaryFamily)
    );
    assert_eq!(
        Config::builder(1, Version::V3).virtual_addr(VIP_A).build(),
        Err(ConfigError::MissingPrimaryAddress)
    );
    assert_eq!(
        base().auth(Auth::SimplePassword([1; 8])).build(),
        Err(ConfigError::AuthOnV3)
    );
    assert_eq!(
        base()
            .preempt_delay(Some(Duration::from_secs(1001)))
            .build(),
        Err(ConfigError::PreemptDelayTooLong)
    );
    let bad = AnnounceConfig {
        repeat: 0,
        ..AnnounceConfig::default()
    };
    assert_eq!(base().announce(bad).build(), Err(ConfigError::RepeatZero));
    let bad = AnnounceConfig {
        refresh: Some(Duration::ZERO),
        ..AnnounceConfig::default()
    };
    assert_eq!(base().announce(bad).build(), Err(ConfigError::RefreshZero));
    let many = (0..=255u8).map(|i| Ipv4Addr::new(10, 0, 0, i));
    assert!(matches!(
        Config::builder(1, Version::V3)
            .primary_addr(PRIMARY)
            .virtual_addrs(many)
            .build(),
        Err(ConfigError::TooManyAddresses {
            count: 256,
            max: 255
        })
    ));
    let c = base()
        .accept_mode(true)
        .preempt(false)
        .build()
        .expect("valid");
    assert!(c.accept_mode() && !c.preempt() && c.preempt_delay().is_none());
    assert_eq!(c.vrid().get(), 1);
}

#[test]
fn sync_group_member_reconfigures_in_place_and_the_group_follows() {
    let t0 = Instant::now();
    let mut g = group_pair();
    g.startup(t0);
    g.handle_timeout(t0 + cs(360));
    g.handle_timeout(t0 + cs(399));
    while g.poll_action().is_some() {}
    assert_eq!(g.state(), State::Master);

    // Member 0 gets a lower priority and one more address: it stays
    // Master and only the new address moves.
    let t = t0 + cs(400);
    let vip_c = Ipv4Addr::new(192, 0, 2, 102);
    let new = Config::builder(7, Version::V3)
        .priority(40)
        .primary_addr(PRIMARY)
        .virtual_addrs([VIP_A, VIP_B, vip_c])
        .announce(quiet())
        .build()
        .expect("valid");
    g.reconfigure(t, 0, new).expect("same router");
    let acts: Vec<_> = std::iter::from_fn(|| g.poll_action()).collect();
    assert_eq!(
        acts,
        vec![
            (0, Action::AddVip(vip_c.into())),
            (0, Action::SendGarp(vip_c))
        ]
    );
    assert_eq!(g.state(), State::Master);
    assert_eq!(g.member(0).map(|m| m.priority().get()), Some(40));

    // An advert at 60, which member 0 ignored at 100, now takes it to
    // Backup, and member 1 follows.
    g.handle_advert(t + cs(10), 0, HIGHER, 255, &adv(Version::V3, 60, 100));
    let acts: Vec<_> = std::iter::from_fn(|| g.poll_action()).collect();
    assert!(acts.contains(&(
        0,
        changed(State::Master, State::Backup, Reason::HigherPriority)
    )));
    assert!(acts.contains(&(1, changed(State::Master, State::Backup, Reason::SyncGroup))));

    // What a router cannot take in place, a member cannot either.
    let owner = builder(Version::V3, 255).build().expect("valid");
    assert_eq!(
        g.reconfigure(t + cs(20), 0, owner),
        Err(ReconfigureError::Ownership)
    );
    let other = Config::builder(9, Version::V3)
        .primary_addr(PRIMARY)
        .virtual_addr(VIP_A)
        .build()
        .expect("valid");
    assert_eq!(
        g.reconfigure(t + cs(20), 1, other),
        Err(ReconfigureError::Vrid)
    );
    assert_eq!(g.poll_action(), None);
}

#[test]
fn reconfigure_moves_only_changed_addresses_and_keeps_the_state() {
    let t0 = Instant::now();
    let (mut r, t) = master(t0);
    let vip_c = Ipv4Addr::new(192, 0, 2, 102);
    let new = Config::builder(7, Version::V3)
        .priority(120)
        .primary_addr(PRIMARY)
        .virtual_addrs([VIP_B, vip_c])
        .announce(quiet())
        .build()
        .expect("valid");
    r.set_tracked_priority(t, -10);
    r.reconfigure(t + cs(10), new).expect("same router");
    assert_eq!(
        drain(&mut r),
        vec![
            Action::AddVip(vip_c.into()),
            Action::RemoveVip(VIP_A.into()),
            Action::SendGarp(vip_c)
        ]
    );
    assert_eq!(r.state(), State::Master);
    assert_eq!(r.priority().get(), 110);
    assert_eq!(
        r.advert(AdvertKind::Current).addrs,
        VirtualAddrs::V4(vec![VIP_B, vip_c])
    );
    assert_eq!(r.advert(AdvertKind::Release).priority, Priority::RELEASE);
    // Unchanged configuration: nothing at all.
    let same = r.config().clone();
    r.reconfigure(t + cs(20), same).expect("same");
    assert_eq!(drain(&mut r), vec![]);
    let other = Config::builder(8, Version::V3)
        .primary_addr(PRIMARY)
        .virtual_addr(VIP_A)
        .build()
        .expect("valid");
    assert_eq!(
        r.reconfigure(t + cs(30), other),
        Err(ReconfigureError::Vrid)
    );
    let owner = builder(Version::V3, 255).build().expect("valid");
    assert_eq!(
        r.reconfigure(t + cs(30), owner),
        Err(ReconfigureError::Ownership)
    );
    let v2 = builder(Version::V2, 100).build().expect("valid");
    assert_eq!(
        r.reconfigure(t + cs(30), v2),
        Err(ReconfigureError::Version)
    );
}
