//! Property tests: any valid advert emits and parses back unchanged, in
//! every checksum mode; any mutation of an emitted advert either fails to
//! parse or parses to an advert that re-emits consistently; parsing never
//! panics.
#![allow(clippy::unwrap_used)]

use std::net::{Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use vrrp_proto::{
    Advert, Auth, ChecksumCtx, ChecksumOutcome, Interval, Packet, Priority, V3Ipv4Accept,
    V3Ipv4PseudoHeader, Version, VirtualAddrs, Vrid,
};

fn vrid() -> impl Strategy<Value = Vrid> {
    (1..=255u8).prop_map(|v| Vrid::new(v).unwrap())
}

/// A valid advert together with a context it can be emitted in.
fn advert_and_ctx() -> impl Strategy<Value = (Advert, ChecksumCtx)> {
    let v2 = (
        vrid(),
        any::<u8>(),
        1..=255u8,
        prop::collection::vec(any::<[u8; 4]>().prop_map(Ipv4Addr::from), 0..=20),
        prop::option::of(any::<[u8; 8]>()),
        any::<[u8; 4]>(),
        any::<[u8; 4]>(),
    )
        .prop_map(|(vrid, prio, secs, addrs, pw, s, d)| {
            (
                Advert {
                    version: Version::V2,
                    vrid,
                    priority: Priority::new(prio),
                    interval: Interval::from_secs_v2(secs).unwrap(),
                    addrs: VirtualAddrs::V4(addrs),
                    auth: pw.map_or(Auth::None, Auth::SimplePassword),
                },
                ChecksumCtx::ipv4(s.into(), d.into()),
            )
        });
    let v3_v4 = (
        vrid(),
        any::<u8>(),
        1..=4095u16,
        prop::collection::vec(any::<[u8; 4]>().prop_map(Ipv4Addr::from), 0..=20),
        any::<[u8; 4]>(),
        any::<[u8; 4]>(),
        any::<bool>(),
    )
        .prop_map(|(vrid, prio, cs, addrs, s, d, include)| {
            let mode = if include {
                V3Ipv4PseudoHeader::Include
            } else {
                V3Ipv4PseudoHeader::Exclude
            };
            (
                Advert {
                    version: Version::V3,
                    vrid,
                    priority: Priority::new(prio),
                    interval: Interval::from_centis(cs).unwrap(),
                    addrs: VirtualAddrs::V4(addrs),
                    auth: Auth::None,
                },
                ChecksumCtx::ipv4(s.into(), d.into()).with_v3_ipv4_emit(mode),
            )
        });
    let v3_v6 = (
        vrid(),
        any::<u8>(),
        1..=4095u16,
        prop::collection::vec(any::<[u8; 16]>().prop_map(Ipv6Addr::from), 0..=20),
        any::<[u8; 16]>(),
        any::<[u8; 16]>(),
    )
        .prop_map(|(vrid, prio, cs, addrs, s, d)| {
            (
                Advert {
                    version: Version::V3,
                    vrid,
                    priority: Priority::new(prio),
                    interval: Interval::from_centis(cs).unwrap(),
                    addrs: VirtualAddrs::V6(addrs),
                    auth: Auth::None,
                },
                ChecksumCtx::ipv6(s.into(), d.into()),
            )
        });
    prop_oneof![v2, v3_v4, v3_v6]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn emit_then_parse_is_identity((advert, ctx) in advert_and_ctx()) {
        let bytes = advert.to_bytes(&ctx).unwrap();
        prop_assert_eq!(bytes.len(), advert.buffer_len());
        let packet = Packet::new_checked(&bytes[..]).unwrap();
        let (back, how) = Advert::parse(&packet, &ctx).unwrap();
        prop_assert_eq!(&back, &advert);
        let expected = match (advert.version, ctx.family()) {
            (Version::V3, vrrp_proto::Family::V4) => ChecksumOutcome::V3Ipv4(ctx.v3_ipv4_emit),
            _ => ChecksumOutcome::Valid,
        };
        // A packet valid under both IPv4 forms (pseudo-header sum of ±0)
        // is reported as Include; that is the only allowed deviation.
        if how != expected {
            prop_assert_eq!(how, ChecksumOutcome::V3Ipv4(V3Ipv4PseudoHeader::Include));
        }
        // The receiver that only accepts the sender's form agrees.
        let only = match ctx.v3_ipv4_emit {
            V3Ipv4PseudoHeader::Include => V3Ipv4Accept::Include,
            V3Ipv4PseudoHeader::Exclude => V3Ipv4Accept::Exclude,
        };
        prop_assert!(Advert::parse(&packet, &ctx.with_v3_ipv4_accept(only)).is_ok());
        // parse_into from a different starting value gives the same.
        let mut reused = Advert { addrs: VirtualAddrs::V6(Vec::new()), ..advert.clone() };
        reused.parse_into(&packet, &ctx).unwrap();
        prop_assert_eq!(&reused, &advert);
    }

    #[test]
    fn a_mutated_advert_errors_or_re_emits_consistently(
        (advert, ctx) in advert_and_ctx(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut bytes = advert.to_bytes(&ctx).unwrap();
        for (i, x) in flips {
            let i = i.index(bytes.len());
            bytes[i] ^= x;
        }
        // Without verification the mutation reaches every field check.
        let ctx = ctx.with_verify(false);
        let Ok(packet) = Packet::new_checked(&bytes[..]) else { return Ok(()); };
        if let Ok((a, _)) = Advert::parse(&packet, &ctx) {
            let again = a.to_bytes(&ctx).unwrap();
            prop_assert_eq!(again.len(), bytes.len());
            let (b, _) = Advert::parse(&Packet::new_checked(&again[..]).unwrap(), &ctx).unwrap();
            prop_assert_eq!(a, b);
        }
    }

    #[test]
    fn parsing_arbitrary_bytes_never_panics(
        bytes in prop::collection::vec(any::<u8>(), 0..400),
        s in any::<[u8; 16]>(),
        v6 in any::<bool>(),
    ) {
        let ctx = if v6 {
            ChecksumCtx::ipv6(s.into(), "ff02::12".parse().unwrap())
        } else {
            ChecksumCtx::ipv4(Ipv4Addr::new(s[0], s[1], s[2], s[3]), Ipv4Addr::new(224, 0, 0, 18))
        };
        let packet = Packet::new_unchecked(&bytes[..]);
        let _ = Advert::parse(&packet, &ctx);
        let _ = Advert::parse(&packet, &ctx.with_verify(false));
        vrrp_proto::fuzzing::advert_parse(&bytes);
        vrrp_proto::fuzzing::arp_nd_parse(&bytes);
        let _ = vrrp_proto::ip::Ipv4Datagram::parse(&bytes);
    }
}
