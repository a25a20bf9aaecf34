//! The view path (`Packet::new_checked`, checksum verification, getters,
//! address iterators) and `Advert::parse_into` with a warmed vector make no
//! heap allocation: a counting global allocator proves it.
#![allow(clippy::unwrap_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;
use std::net::{Ipv4Addr, Ipv6Addr};

use vrrp_proto::{
    Advert, Auth, ChecksumCtx, Interval, Packet, Priority, Version, VirtualAddrs, Vrid,
};

thread_local! {
    // Per thread, so the test harness's own threads do not count.
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

struct Counting;

// SAFETY: forwards every call to the system allocator unchanged; only
// counts allocations of the calling thread.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_in(f: impl FnOnce()) -> usize {
    let before = ALLOCS.with(Cell::get);
    f();
    ALLOCS.with(Cell::get) - before
}

fn advert(version: Version, addrs: VirtualAddrs) -> Advert {
    Advert {
        version,
        vrid: Vrid::new(51).unwrap(),
        priority: Priority::new(100),
        interval: Interval::from_centis(100).unwrap(),
        addrs,
        auth: Auth::None,
    }
}

#[test]
fn view_path_and_warm_parse_into_do_not_allocate() {
    let ctx4 = ChecksumCtx::ipv4(Ipv4Addr::new(10, 99, 3, 1), Ipv4Addr::new(224, 0, 0, 18));
    let ctx6 = ChecksumCtx::ipv6("fe80::1".parse().unwrap(), "ff02::12".parse().unwrap());
    let v4: Vec<Ipv4Addr> = (0..20).map(|i| Ipv4Addr::new(10, 99, 3, 100 + i)).collect();
    let v6: Vec<Ipv6Addr> = (0..20u16)
        .map(|i| Ipv6Addr::new(0xfd00, 0x99, 0, 0, 0, 0, 0, i))
        .collect();
    let cases = [
        (
            advert(Version::V3, VirtualAddrs::V4(v4[..1].to_vec())),
            ctx4,
        ),
        (advert(Version::V3, VirtualAddrs::V4(v4.clone())), ctx4),
        (advert(Version::V2, VirtualAddrs::V4(v4.clone())), ctx4),
        (advert(Version::V3, VirtualAddrs::V6(v6.clone())), ctx6),
    ];
    for (a, ctx) in &cases {
        let bytes = a.to_bytes(ctx).unwrap();

        // The view path.
        let n = allocations_in(|| {
            let p = Packet::new_checked(&bytes[..]).unwrap();
            black_box(p.verify_checksum(ctx).unwrap());
            black_box((
                p.version(),
                p.msg_type(),
                p.vrid(),
                p.priority(),
                p.interval(),
            ));
            black_box((p.count(), p.checksum(), p.auth_type(), p.auth_data()));
            let mut sum = 0u64;
            for x in p.addrs_v4() {
                sum += u64::from(x.to_bits());
            }
            for x in p.addrs_v6() {
                sum += x.to_bits() as u64;
            }
            black_box(sum);
        });
        assert_eq!(n, 0, "view path allocated for {a:?}");

        // parse_into, after one warm-up parse sized the vector.
        let mut target = advert(Version::V3, a.addrs.clone());
        target
            .parse_into(&Packet::new_checked(&bytes[..]).unwrap(), ctx)
            .unwrap();
        let n = allocations_in(|| {
            for _ in 0..100 {
                let p = Packet::new_checked(&bytes[..]).unwrap();
                black_box(target.parse_into(&p, ctx).unwrap());
            }
        });
        assert_eq!(n, 0, "parse_into allocated for {a:?}");
        assert_eq!(&target, a);

        // Emitting into a caller's buffer does not allocate either.
        let mut out = vec![0u8; a.buffer_len()];
        let n = allocations_in(|| {
            a.emit(&mut Packet::new_unchecked(&mut out[..]), ctx)
                .unwrap();
        });
        assert_eq!(n, 0, "emit allocated for {a:?}");
        assert_eq!(out, bytes);
    }

    // The counter works: parse (not _into) allocates the address vector.
    let (a, ctx) = &cases[1];
    let bytes = a.to_bytes(ctx).unwrap();
    let n = allocations_in(|| {
        black_box(Advert::parse(&Packet::new_checked(&bytes[..]).unwrap(), ctx).unwrap());
    });
    assert_eq!(n, 1);
}
