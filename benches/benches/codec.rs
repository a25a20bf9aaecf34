//! Codec micro-benchmarks: parse + verify and emit of VRRP adverts with 1
//! and 20 addresses (VRRPv3 IPv4 in both checksum forms, VRRPv2, VRRPv3
//! IPv6), through the allocation-free view path, `parse_into` with a warm
//! vector, `parse` (which allocates the address list) and `emit` into a
//! caller's buffer.
//!
//! `cargo bench -p vrrp-benches --bench codec -- --warm-up-time 1 --measurement-time 3`
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::net::{Ipv4Addr, Ipv6Addr};

use criterion::{Criterion, criterion_group, criterion_main};
use vrrp_proto::{
    Advert, Auth, ChecksumCtx, Interval, Packet, Priority, V3Ipv4PseudoHeader, Version,
    VirtualAddrs, Vrid,
};

fn advert(version: Version, addrs: VirtualAddrs, auth: Auth) -> Advert {
    Advert {
        version,
        vrid: Vrid::new(51).unwrap(),
        priority: Priority::new(100),
        interval: Interval::from_centis(100).unwrap(),
        addrs,
        auth,
    }
}

fn v4(n: u8) -> VirtualAddrs {
    VirtualAddrs::V4((0..n).map(|i| Ipv4Addr::new(192, 0, 2, 10 + i)).collect())
}

fn v6(n: u16) -> VirtualAddrs {
    VirtualAddrs::V6(
        (0..n)
            .map(|i| Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x10 + i))
            .collect(),
    )
}

fn bench_case(c: &mut Criterion, name: &str, a: &Advert, ctx: &ChecksumCtx) {
    let bytes = a.to_bytes(ctx).unwrap();
    let mut group = c.benchmark_group(name);

    // The view path: length check, checksum, every getter, every address.
    group.bench_function("view_verify", |b| {
        b.iter(|| {
            let p = Packet::new_checked(black_box(&bytes[..])).unwrap();
            let how = p.verify_checksum(ctx).unwrap();
            let mut acc = u32::from(p.vrid()) + u32::from(p.priority());
            acc += u32::from(p.interval().map_or(0, Interval::centis));
            match ctx.family() {
                vrrp_proto::Family::V4 => {
                    for x in p.addrs_v4() {
                        acc = acc.wrapping_add(x.to_bits());
                    }
                }
                vrrp_proto::Family::V6 => {
                    for x in p.addrs_v6() {
                        acc = acc.wrapping_add(x.to_bits() as u32);
                    }
                }
            }
            black_box((how, acc))
        })
    });

    // Full validation into a reused Advert (no allocation once warm).
    let mut target = a.clone();
    group.bench_function("parse_into", |b| {
        b.iter(|| {
            let p = Packet::new_checked(black_box(&bytes[..])).unwrap();
            black_box(target.parse_into(&p, ctx).unwrap());
        })
    });

    // Full validation into a new Advert (allocates the address vector).
    group.bench_function("parse", |b| {
        b.iter(|| {
            let p = Packet::new_checked(black_box(&bytes[..])).unwrap();
            black_box(Advert::parse(&p, ctx).unwrap())
        })
    });

    let mut out = vec![0u8; a.buffer_len()];
    group.bench_function("emit", |b| {
        b.iter(|| {
            black_box(a)
                .emit(&mut Packet::new_unchecked(&mut out[..]), ctx)
                .unwrap();
            black_box(&out);
        })
    });
    group.finish();
}

fn codec(c: &mut Criterion) {
    let ctx4 = ChecksumCtx::ipv4(Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(224, 0, 0, 18));
    let ctx4x = ctx4.with_v3_ipv4_emit(V3Ipv4PseudoHeader::Exclude);
    let ctx6 = ChecksumCtx::ipv6("fe80::1".parse().unwrap(), "ff02::12".parse().unwrap());
    let pw = Auth::SimplePassword(*b"secret12");
    bench_case(
        c,
        "v3_ipv4_1addr",
        &advert(Version::V3, v4(1), Auth::None),
        &ctx4,
    );
    bench_case(
        c,
        "v3_ipv4_20addr",
        &advert(Version::V3, v4(20), Auth::None),
        &ctx4,
    );
    bench_case(
        c,
        "v3_ipv4_nopseudo_1addr",
        &advert(Version::V3, v4(1), Auth::None),
        &ctx4x,
    );
    bench_case(c, "v2_1addr", &advert(Version::V2, v4(1), pw), &ctx4);
    bench_case(c, "v2_20addr", &advert(Version::V2, v4(20), pw), &ctx4);
    bench_case(
        c,
        "v3_ipv6_1addr",
        &advert(Version::V3, v6(1), Auth::None),
        &ctx6,
    );
    bench_case(
        c,
        "v3_ipv6_20addr",
        &advert(Version::V3, v6(20), Auth::None),
        &ctx6,
    );
}

criterion_group!(benches, codec);
criterion_main!(benches);
