//! Every receive rule and every emit error, one test each, plus exhaustive
//! loops over the small domains (priority, VRID, v2 and v3 intervals, the
//! version/type nibbles and the v2 auth type).
#![allow(clippy::unwrap_used)]

use std::net::{Ipv4Addr, Ipv6Addr};

use vrrp_proto::{
    Advert, Auth, ChecksumCtx, ChecksumOutcome, EmitError, Interval, Packet, ParseError, Priority,
    V3Ipv4PseudoHeader, Version, VirtualAddrs, Vrid,
};

const SRC4: Ipv4Addr = Ipv4Addr::new(10, 99, 1, 1);
const DST4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
const SRC6: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
const DST6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

fn ctx4() -> ChecksumCtx {
    ChecksumCtx::ipv4(SRC4, DST4)
}

fn ctx6() -> ChecksumCtx {
    ChecksumCtx::ipv6(SRC6, DST6)
}

fn v3_ipv4() -> Advert {
    Advert {
        version: Version::V3,
        vrid: Vrid::new(7).unwrap(),
        priority: Priority::new(100),
        interval: Interval::from_centis(100).unwrap(),
        addrs: VirtualAddrs::V4(vec![
            Ipv4Addr::new(10, 99, 1, 100),
            Ipv4Addr::new(10, 99, 1, 101),
        ]),
        auth: Auth::None,
    }
}

fn v2() -> Advert {
    Advert {
        version: Version::V2,
        auth: Auth::SimplePassword(*b"pw\0\0\0\0\0\0"),
        ..v3_ipv4()
    }
}

fn v3_ipv6() -> Advert {
    Advert {
        addrs: VirtualAddrs::V6(vec!["fd00:99::100".parse().unwrap()]),
        ..v3_ipv4()
    }
}

/// Parses `bytes` as a message received with `ctx`.
fn parse(bytes: &[u8], ctx: &ChecksumCtx) -> Result<Advert, ParseError> {
    let p = Packet::new_unchecked(bytes);
    Advert::parse(&p, ctx).map(|(a, _)| a)
}

/// Applies `edit` to the emitted bytes of `a`, then fixes the checksum, so
/// that the error seen is the edited rule's and not BadChecksum.
fn edited(a: &Advert, ctx: &ChecksumCtx, edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut b = a.to_bytes(ctx).unwrap();
    edit(&mut b);
    if b.len() >= 8 {
        Packet::new_unchecked(&mut b[..]).fill_checksum(ctx);
    }
    b
}

#[test]
fn truncated() {
    for (a, ctx) in [(v3_ipv4(), ctx4()), (v2(), ctx4()), (v3_ipv6(), ctx6())] {
        let b = a.to_bytes(&ctx).unwrap();
        for len in 0..b.len() {
            let needed = if len < 8 { 8 } else { b.len() };
            assert_eq!(
                parse(&b[..len], &ctx),
                Err(ParseError::Truncated { needed, got: len }),
                "{a:?} cut to {len}"
            );
        }
    }
}

#[test]
fn count_mismatch() {
    for (a, ctx) in [(v3_ipv4(), ctx4()), (v2(), ctx4()), (v3_ipv6(), ctx6())] {
        let b = edited(&a, &ctx, |b| b.extend_from_slice(&[0, 0, 0, 0]));
        assert_eq!(
            parse(&b, &ctx),
            Err(ParseError::CountMismatch {
                count: a.addrs.len() as u8,
                len: b.len()
            })
        );
        // A count below the addresses present is the same rule.
        let b = edited(&a, &ctx, |b| b[3] -= 1);
        assert_eq!(
            parse(&b, &ctx),
            Err(ParseError::CountMismatch {
                count: a.addrs.len() as u8 - 1,
                len: b.len()
            })
        );
    }
}

#[test]
fn bad_version_for_every_other_nibble() {
    for version in 0..16u8 {
        let b = edited(&v3_ipv4(), &ctx4(), |b| b[0] = (version << 4) | 1);
        match version {
            3 => assert!(parse(&b, &ctx4()).is_ok()),
            // Same length as v3 with 2 addresses? v2 needs 8 more octets.
            2 => assert_eq!(
                parse(&b, &ctx4()),
                Err(ParseError::Truncated {
                    needed: 24,
                    got: 16
                })
            ),
            _ => assert_eq!(parse(&b, &ctx4()), Err(ParseError::BadVersion(version))),
        }
    }
}

#[test]
fn v2_over_ipv6() {
    let b = edited(&v3_ipv6(), &ctx6(), |b| b[0] = 0x21);
    assert_eq!(parse(&b, &ctx6()), Err(ParseError::V2OverIpv6));
}

#[test]
fn bad_type_for_every_other_nibble() {
    for t in 0..16u8 {
        let b = edited(&v3_ipv4(), &ctx4(), |b| b[0] = 0x30 | t);
        if t == 1 {
            assert!(parse(&b, &ctx4()).is_ok());
        } else {
            assert_eq!(parse(&b, &ctx4()), Err(ParseError::BadType(t)));
        }
    }
}

#[test]
fn vrid_zero_and_every_other_vrid() {
    for vrid in 0..=255u8 {
        let b = edited(&v3_ipv4(), &ctx4(), |b| b[1] = vrid);
        match Vrid::new(vrid) {
            None => assert_eq!(parse(&b, &ctx4()), Err(ParseError::VridZero)),
            Some(v) => assert_eq!(parse(&b, &ctx4()).unwrap().vrid, v),
        }
    }
}

#[test]
fn bad_checksum_in_each_mode() {
    for (a, ctx) in [(v3_ipv4(), ctx4()), (v2(), ctx4()), (v3_ipv6(), ctx6())] {
        let mut b = a.to_bytes(&ctx).unwrap();
        b[2] ^= 0x01; // priority changed, checksum stale
        assert_eq!(parse(&b, &ctx), Err(ParseError::BadChecksum));
        assert!(parse(&b, &ctx.with_verify(false)).is_ok());
    }
}

#[test]
fn interval_zero() {
    let b = edited(&v3_ipv4(), &ctx4(), |b| b[4..6].copy_from_slice(&[0xf0, 0]));
    assert_eq!(parse(&b, &ctx4()), Err(ParseError::IntervalZero));
    let b = edited(&v2(), &ctx4(), |b| b[5] = 0);
    assert_eq!(parse(&b, &ctx4()), Err(ParseError::IntervalZero));
}

#[test]
fn v2_auth_types() {
    for t in 0..=255u8 {
        let b = edited(&v2(), &ctx4(), |b| b[4] = t);
        let got = parse(&b, &ctx4());
        match t {
            0 => assert_eq!(got.unwrap().auth, Auth::None),
            1 => assert_eq!(got.unwrap().auth, Auth::SimplePassword(*b"pw\0\0\0\0\0\0")),
            2 => assert_eq!(got, Err(ParseError::AhUnsupported)),
            _ => assert_eq!(got, Err(ParseError::UnknownAuthType(t))),
        }
    }
}

#[test]
fn v2_auth_data_is_ignored_for_type_0() {
    // RFC 3768 §5.3.10: "ignored on reception".
    let a = Advert {
        auth: Auth::None,
        ..v2()
    };
    let b = edited(&a, &ctx4(), |b| {
        let n = b.len();
        b[n - 8..].copy_from_slice(b"garbage!");
    });
    assert_eq!(parse(&b, &ctx4()), Ok(a));
}

#[test]
fn v3_reserved_bits_are_ignored_on_receive_and_zero_on_send() {
    // RFC 9568 §5.2.6.
    for rsvd in 0..16u8 {
        let b = edited(&v3_ipv4(), &ctx4(), |b| b[4] |= rsvd << 4);
        let a = parse(&b, &ctx4()).unwrap();
        assert_eq!(a, v3_ipv4());
        assert_eq!(a.to_bytes(&ctx4()).unwrap()[4] >> 4, 0);
    }
}

#[test]
fn every_priority_round_trips() {
    for p in 0..=255u8 {
        for (a, ctx) in [(v3_ipv4(), ctx4()), (v2(), ctx4()), (v3_ipv6(), ctx6())] {
            let a = Advert {
                priority: Priority::new(p),
                ..a
            };
            let b = a.to_bytes(&ctx).unwrap();
            assert_eq!(b[2], p);
            assert_eq!(parse(&b, &ctx), Ok(a));
        }
    }
}

#[test]
fn every_v3_interval_round_trips_through_the_wire() {
    for c in 1..=Interval::MAX_V3_CENTIS {
        let a = Advert {
            interval: Interval::from_centis(c).unwrap(),
            ..v3_ipv4()
        };
        let b = a.to_bytes(&ctx4()).unwrap();
        assert_eq!(u16::from_be_bytes([b[4], b[5]]), c);
        let back = parse(&b, &ctx4()).unwrap();
        assert_eq!(back.interval.to_duration().as_millis(), u128::from(c) * 10);
        assert_eq!(back, a);
    }
    let too_long = Advert {
        interval: Interval::from_centis(4096).unwrap(),
        ..v3_ipv4()
    };
    assert_eq!(
        too_long.to_bytes(&ctx4()),
        Err(EmitError::IntervalNotRepresentable { centis: 4096 })
    );
}

#[test]
fn every_v2_interval_round_trips_and_sub_second_is_refused() {
    for s in 1..=255u8 {
        let a = Advert {
            interval: Interval::from_secs_v2(s).unwrap(),
            ..v2()
        };
        let b = a.to_bytes(&ctx4()).unwrap();
        assert_eq!(b[5], s);
        assert_eq!(
            parse(&b, &ctx4()).unwrap().interval.centis(),
            u16::from(s) * 100
        );
    }
    for c in [1u16, 50, 150, 25501] {
        let a = Advert {
            interval: Interval::from_centis(c).unwrap(),
            ..v2()
        };
        assert_eq!(
            a.to_bytes(&ctx4()),
            Err(EmitError::IntervalNotRepresentable { centis: c })
        );
    }
}

#[test]
fn every_address_count_round_trips() {
    for n in 0..=255u16 {
        let v4: Vec<Ipv4Addr> = (0..n)
            .map(|i| Ipv4Addr::from(0x0a00_0000 + u32::from(i)))
            .collect();
        let v6: Vec<Ipv6Addr> = (0..n)
            .map(|i| Ipv6Addr::from(0xfd00_u128 << 112 | u128::from(i)))
            .collect();
        for (a, ctx) in [
            (
                Advert {
                    addrs: VirtualAddrs::V4(v4.clone()),
                    ..v3_ipv4()
                },
                ctx4(),
            ),
            (
                Advert {
                    addrs: VirtualAddrs::V4(v4.clone()),
                    ..v2()
                },
                ctx4(),
            ),
            (
                Advert {
                    addrs: VirtualAddrs::V6(v6.clone()),
                    ..v3_ipv6()
                },
                ctx6(),
            ),
        ] {
            let b = a.to_bytes(&ctx).unwrap();
            assert_eq!(b.len(), a.buffer_len());
            assert_eq!(b[3], n as u8);
            assert_eq!(parse(&b, &ctx), Ok(a));
        }
    }
}

#[test]
fn emit_errors() {
    let too_many = Advert {
        addrs: VirtualAddrs::V4(vec![Ipv4Addr::LOCALHOST; 256]),
        ..v3_ipv4()
    };
    assert_eq!(
        too_many.to_bytes(&ctx4()),
        Err(EmitError::TooManyAddrs(256))
    );

    let v2_v6 = Advert {
        version: Version::V2,
        ..v3_ipv6()
    };
    assert_eq!(v2_v6.to_bytes(&ctx6()), Err(EmitError::V2WithIpv6));
    assert_eq!(v3_ipv6().to_bytes(&ctx4()), Err(EmitError::FamilyMismatch));
    assert_eq!(v3_ipv4().to_bytes(&ctx6()), Err(EmitError::FamilyMismatch));

    let auth_v3 = Advert {
        auth: Auth::SimplePassword([1; 8]),
        ..v3_ipv4()
    };
    assert_eq!(auth_v3.to_bytes(&ctx4()), Err(EmitError::AuthOnV3));

    let a = v3_ipv4();
    for len in [0, a.buffer_len() - 1, a.buffer_len() + 1] {
        let mut buf = vec![0u8; len];
        assert_eq!(
            a.emit(&mut Packet::new_unchecked(&mut buf[..]), &ctx4()),
            Err(EmitError::BufferLength {
                needed: a.buffer_len(),
                got: len
            })
        );
    }
}

#[test]
fn emit_writes_every_octet() {
    // A dirty buffer gives the same bytes as a clean one.
    for (a, ctx) in [(v3_ipv4(), ctx4()), (v2(), ctx4()), (v3_ipv6(), ctx6())] {
        let clean = a.to_bytes(&ctx).unwrap();
        let mut dirty = vec![0xa5u8; a.buffer_len()];
        a.emit(&mut Packet::new_unchecked(&mut dirty[..]), &ctx)
            .unwrap();
        assert_eq!(dirty, clean);
    }
}

#[test]
fn parse_into_reuses_and_leaves_the_target_alone_on_error() {
    let ctx = ctx4();
    let good = v3_ipv4().to_bytes(&ctx).unwrap();
    let mut target = v3_ipv6();
    assert_eq!(
        target.parse_into(&Packet::new_unchecked(&good[..]), &ctx),
        Ok(ChecksumOutcome::V3Ipv4(V3Ipv4PseudoHeader::Include))
    );
    assert_eq!(target, v3_ipv4());
    let mut bad = good.clone();
    bad[1] = 0;
    Packet::new_unchecked(&mut bad[..]).fill_checksum(&ctx);
    let before = target.clone();
    assert_eq!(
        target.parse_into(&Packet::new_unchecked(&bad[..]), &ctx),
        Err(ParseError::VridZero)
    );
    assert_eq!(target, before);
}

#[test]
fn reasons_are_distinct_snake_case_names() {
    let all = [
        ParseError::Truncated { needed: 8, got: 0 },
        ParseError::CountMismatch { count: 1, len: 9 },
        ParseError::BadVersion(4),
        ParseError::V2OverIpv6,
        ParseError::BadType(2),
        ParseError::VridZero,
        ParseError::BadChecksum,
        ParseError::IntervalZero,
        ParseError::UnknownAuthType(3),
        ParseError::AhUnsupported,
    ];
    let names: std::collections::HashSet<_> = all.iter().map(ParseError::reason).collect();
    assert_eq!(names.len(), all.len());
    assert!(names.iter().all(|n| {
        n.bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit())
    }));
}

#[test]
fn error_messages_are_human_readable() {
    let e = ParseError::Truncated {
        needed: 20,
        got: 12,
    };
    assert_eq!(
        e.to_string(),
        "truncated VRRP packet: needed 20 octets, got 12"
    );
    let e: &dyn std::error::Error = &EmitError::AuthOnV3;
    assert_eq!(e.to_string(), "VRRPv3 has no authentication");
}
