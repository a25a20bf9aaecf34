//! State-machine benchmarks: adverts handled per second by a backup and by
//! a master (its Adver_Timer, and answering a lower-priority master), the
//! same through the codec (emit → bytes → parse_into → handle_advert), and
//! the simulated LAN (8 routers, 60 virtual seconds, real packets). The
//! zero-allocation claim is proved by `crates/vrrp-fsm/tests/alloc.rs`.
//!
//! `cargo bench -p vrrp-benches --bench fsm -- --warm-up-time 1 --measurement-time 3`
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use vrrp_fsm::sim::{Lan, sim_config};
use vrrp_fsm::{AdvertKind, Config, State, VirtualRouter};
use vrrp_proto::{Advert, ChecksumCtx, Interval, Packet, Priority, Version};

fn config(host: u8, prio: u8, addrs: u8) -> Config {
    Config::builder(51, Version::V3)
        .priority(prio)
        .primary_addr(Ipv4Addr::new(192, 0, 2, host))
        .virtual_addrs((0..addrs).map(|i| Ipv4Addr::new(198, 51, 100, i)))
        .build()
        .unwrap()
}

/// A started master (priority 200) and its advert.
fn master(base: Instant, addrs: u8) -> (VirtualRouter, Advert) {
    let mut m = VirtualRouter::new(config(1, 200, addrs));
    m.startup(base);
    m.handle_timeout(base + Duration::from_millis(3210));
    while m.poll_action().is_some() {}
    assert_eq!(m.state(), State::Master);
    let adv = m.advert(AdvertKind::Current).clone();
    (m, adv)
}

fn backup(base: Instant, addrs: u8) -> VirtualRouter {
    let mut b = VirtualRouter::new(config(2, 100, addrs));
    b.startup(base);
    while b.poll_action().is_some() {}
    b
}

fn bench_fsm(c: &mut Criterion) {
    let mut g = c.benchmark_group("fsm");
    g.throughput(Throughput::Elements(1));
    for addrs in [1u8, 20] {
        // Backup: one accepted advert per iteration (timer reset).
        let base = Instant::now();
        let (_, adv) = master(base, addrs);
        let mut b = backup(base, addrs);
        let src = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        let mut now = base;
        g.bench_function(format!("backup_handle_advert/{addrs}_addrs"), |bench| {
            bench.iter(|| {
                now += Duration::from_millis(10);
                b.handle_advert(now, src, 255, black_box(&adv));
                while let Some(a) = b.poll_action() {
                    let _ = black_box(a);
                }
            })
        });
        assert_eq!(b.state(), State::Backup);

        // Master: Adver_Timer fires, one SendAdvert drained per iteration.
        let (mut m, _) = master(base, addrs);
        let mut now = base + Duration::from_secs(4);
        g.bench_function(format!("master_adver_timer/{addrs}_addrs"), |bench| {
            bench.iter(|| {
                now += Duration::from_secs(1);
                m.handle_timeout(now);
                while let Some(a) = m.poll_action() {
                    black_box(m.advert(AdvertKind::Current));
                    let _ = black_box(a);
                }
            })
        });

        // Master answering a lower-priority master's advert (split brain).
        let (mut m, mut lower) = master(base, addrs);
        lower.priority = Priority::new(100);
        let mut now = base + Duration::from_secs(4);
        g.bench_function(
            format!("master_handle_lower_advert/{addrs}_addrs"),
            |bench| {
                bench.iter(|| {
                    now += Duration::from_millis(10);
                    m.handle_advert(now, src, 255, black_box(&lower));
                    while let Some(a) = m.poll_action() {
                        let _ = black_box(a);
                    }
                })
            },
        );
        assert_eq!(m.state(), State::Master);

        // Through the codec: emit into a reused buffer, parse into a reused
        // Advert, hand to the backup.
        let (mut m, _) = master(base, addrs);
        let mut b = backup(base, addrs);
        let ctx = ChecksumCtx::ipv4(Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(224, 0, 0, 18));
        let mut buf = vec![0u8; m.advert(AdvertKind::Current).buffer_len()];
        let mut rx = m.advert(AdvertKind::Current).clone();
        let mut now = base + Duration::from_secs(4);
        g.bench_function(format!("wire_round_trip/{addrs}_addrs"), |bench| {
            bench.iter(|| {
                now += Duration::from_secs(1);
                m.handle_timeout(now);
                while let Some(a) = m.poll_action() {
                    if let vrrp_fsm::Action::SendAdvert(kind) = a {
                        let mut pkt = Packet::new_unchecked(&mut buf[..]);
                        m.advert(kind).emit(&mut pkt, &ctx).unwrap();
                        let pkt = Packet::new_checked(&buf[..]).unwrap();
                        rx.parse_into(&pkt, &ctx).unwrap();
                        b.handle_advert(now, src, 255, &rx);
                    }
                }
                while let Some(a) = b.poll_action() {
                    let _ = black_box(a);
                }
            })
        });
        assert_eq!(b.state(), State::Backup);
    }
    g.finish();

    // The simulated LAN: 8 routers, 60 virtual seconds after start-up.
    let mut g = c.benchmark_group("lan");
    g.sample_size(20);
    g.bench_function("8_routers_60s", |bench| {
        bench.iter(|| {
            let mut lan = Lan::new(Instant::now(), 1);
            lan.keep_trace = false;
            for h in 1..=8u8 {
                lan.add(
                    sim_config(Version::V3, false, 1, h, 10 * h, Interval::DEFAULT)
                        .build()
                        .unwrap(),
                );
            }
            lan.start_all().unwrap();
            lan.run_until(Duration::from_secs(60), 1_000_000).unwrap();
            black_box(lan.steps())
        })
    });
    g.finish();
}

criterion_group!(benches, bench_fsm);
criterion_main!(benches);
