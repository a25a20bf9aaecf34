//! Proof of zero heap allocations per advertisement in steady state, with a
//! counting global allocator: a master's Adver_Timer → `SendAdvert` → emit
//! into a reused buffer → parse into a reused `Advert` → a backup's
//! `handle_advert`, and a master answering lower-priority adverts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use vrrp_fsm::{Action, Config, State, VirtualRouter};
use vrrp_proto::{Advert, ChecksumCtx, Packet, Priority, Version};

struct Counting;

thread_local! {
    /// Allocations made by this thread (tests run on parallel threads).
    /// Const-initialised and without a destructor, so using it allocates
    /// nothing itself.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// per-thread counter has no effect on the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn config(version: Version, host: u8, prio: u8) -> Config {
    Config::builder(1, version)
        .priority(prio)
        .primary_addr(Ipv4Addr::new(10, 99, 0, host))
        .virtual_addrs((1..=20).map(|i| Ipv4Addr::new(10, 99, 100, i)))
        .build()
        .expect("valid")
}

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

/// One full advert round trip through the codec; returns adverts handled.
fn round(
    master: &mut VirtualRouter,
    backup: &mut VirtualRouter,
    now: Instant,
    buf: &mut [u8],
    rx: &mut Advert,
    tx_ctx: &ChecksumCtx,
) -> u64 {
    let mut handled = 0;
    master.handle_timeout(now);
    while let Some(a) = master.poll_action() {
        if let Action::SendAdvert(kind) = a {
            let mut pkt = Packet::new_unchecked(&mut *buf);
            master.advert(kind).emit(&mut pkt, tx_ctx).expect("emit");
            let pkt = Packet::new_checked(&*buf).expect("length");
            rx.parse_into(&pkt, tx_ctx).expect("parse");
            backup.handle_advert(now, IpAddr::V4(Ipv4Addr::new(10, 99, 0, 1)), 255, rx);
            handled += 1;
        }
    }
    while backup.poll_action().is_some() {}
    handled
}

#[test]
fn the_counter_sees_allocations() {
    let before = allocations();
    let v = std::hint::black_box(vec![1u8; 64]);
    drop(v);
    assert!(allocations() > before);
}

#[test]
fn steady_state_adverts_allocate_nothing() {
    for version in [Version::V2, Version::V3] {
        let base = Instant::now();
        let mut master = VirtualRouter::new(config(version, 1, 200));
        let mut backup = VirtualRouter::new(config(version, 2, 100));
        master.startup(base);
        backup.startup(base);
        let t = base + Duration::from_millis(3210);
        master.handle_timeout(t);
        assert_eq!(master.state(), State::Master);
        let ctx = ChecksumCtx::ipv4(Ipv4Addr::new(10, 99, 0, 1), Ipv4Addr::new(224, 0, 0, 18));
        let mut buf = vec![0u8; master.advert(vrrp_fsm::AdvertKind::Current).buffer_len()];
        let mut rx = master.advert(vrrp_fsm::AdvertKind::Current).clone();
        // Warm up (drains the transition, grows nothing further).
        let mut now = t;
        for _ in 0..10 {
            round(&mut master, &mut backup, now, &mut buf, &mut rx, &ctx);
            now += Duration::from_secs(1);
        }
        let before = allocations();
        let mut handled = 0;
        for _ in 0..10_000 {
            handled += round(&mut master, &mut backup, now, &mut buf, &mut rx, &ctx);
            now += Duration::from_secs(1);
        }
        let during = allocations() - before;
        assert_eq!(handled, 10_000);
        assert_eq!(backup.state(), State::Backup);
        assert_eq!(
            during, 0,
            "{version}: {during} allocations for {handled} adverts"
        );
    }
}

#[test]
fn master_answering_lower_priority_adverts_allocates_nothing() {
    let base = Instant::now();
    let mut master = VirtualRouter::new(config(Version::V3, 1, 255));
    master.startup(base);
    while master.poll_action().is_some() {}
    let mut lower = master.advert(vrrp_fsm::AdvertKind::Current).clone();
    lower.priority = Priority::new(100);
    let src = IpAddr::V4(Ipv4Addr::new(10, 99, 0, 2));
    let mut now = base;
    for _ in 0..200 {
        now += Duration::from_millis(10);
        master.handle_advert(now, src, 255, &lower);
        master.handle_timeout(now);
        while master.poll_action().is_some() {}
    }
    let before = allocations();
    for _ in 0..10_000 {
        now += Duration::from_millis(10);
        master.handle_advert(now, src, 255, &lower);
        master.handle_timeout(now);
        while master.poll_action().is_some() {}
    }
    assert_eq!(allocations() - before, 0);
    assert_eq!(master.state(), State::Master);
    assert!(master.stats().conflicts_answered >= 10_000);
}

#[test]
fn a_node_of_many_routers_allocates_nothing_per_advert() {
    use vrrp_fsm::{LinkId, Node, NodeAction};
    let base = Instant::now();
    let cfg = |vrid: u8, host: u8, prio: u8| {
        Config::builder(vrid, Version::V3)
            .priority(prio)
            .primary_addr(Ipv4Addr::new(10, 99, 0, host))
            .virtual_addr(Ipv4Addr::new(10, 99, 100, vrid))
            .build()
            .expect("valid")
    };
    let cfg_advert = || {
        VirtualRouter::new(cfg(1, 1, 200))
            .advert(vrrp_fsm::AdvertKind::Current)
            .clone()
    };
    let (mut a, mut b) = (Node::new(), Node::new());
    for vrid in 1..=50 {
        let ia = a.add_router(LinkId(0), cfg(vrid, 1, 200));
        let ib = b.add_router(LinkId(0), cfg(vrid, 2, 100));
        a.start(base, ia).expect("start");
        b.start(base, ib).expect("start");
    }
    let src = IpAddr::V4(Ipv4Addr::new(10, 99, 0, 1));
    let ctx = ChecksumCtx::ipv4(Ipv4Addr::new(10, 99, 0, 1), Ipv4Addr::new(224, 0, 0, 18));
    let mut buf = vec![0u8; 64];
    let mut rx = cfg_advert();
    // Each advert goes through the codec into one reused advert, as the
    // executor's receive path does.
    let step = |a: &mut Node, b: &mut Node, now: Instant, buf: &mut Vec<u8>, rx: &mut Advert| {
        a.handle_timeout(now);
        b.handle_timeout(now);
        while let Some(x) = a.poll_action() {
            let NodeAction::Router(id, Action::SendAdvert(kind)) = x else {
                continue;
            };
            let Some(r) = a.router(id) else { continue };
            let adv = r.advert(kind);
            let bytes = &mut buf[..adv.buffer_len()];
            adv.emit(&mut Packet::new_unchecked(&mut *bytes), &ctx)
                .expect("emit");
            let pkt = Packet::new_checked(&*bytes).expect("length");
            rx.parse_into(&pkt, &ctx).expect("parse");
            b.handle_advert(now, LinkId(0), src, 255, rx);
        }
        while b.poll_action().is_some() {}
    };
    // Converge and warm up.
    let mut now = base;
    for _ in 0..100 {
        now += Duration::from_millis(100);
        step(&mut a, &mut b, now, &mut buf, &mut rx);
    }
    assert!(a.routers().all(|(_, r)| r.state() == State::Master));
    let before = allocations();
    for _ in 0..1_000 {
        now += Duration::from_millis(1000);
        step(&mut a, &mut b, now, &mut buf, &mut rx);
    }
    assert_eq!(allocations() - before, 0, "allocations in steady state");
    assert!(b.routers().all(|(_, r)| r.state() == State::Backup));
}
