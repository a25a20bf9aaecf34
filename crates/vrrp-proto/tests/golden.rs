//! Golden vectors recorded from keepalived 2.2.7 and FRR 8.4.4 vrrpd (see
//! tests/fixtures/README.md): every fixture is parsed through the view and
//! the owned representation, checked against the configuration that
//! produced it, rebuilt through the setters and re-emitted byte for byte.
#![allow(clippy::unwrap_used)]

use std::net::{Ipv4Addr, Ipv6Addr};

use vrrp_proto::arp::GratuitousArp;
use vrrp_proto::fuzzing::split_ipv6;
use vrrp_proto::ip::Ipv4Datagram;
use vrrp_proto::nd::UnsolicitedNa;
use vrrp_proto::{
    Advert, Auth, AuthType, ChecksumCtx, ChecksumOutcome, Interval, MessageType, Packet,
    ParseError, Priority, RawVersion, V3Ipv4Accept, V3Ipv4PseudoHeader, Version, VirtualAddrs,
    Vrid,
};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn v4(a: u8, b: u8, c: u8, d: u8) -> Ipv4Addr {
    Ipv4Addr::new(a, b, c, d)
}

fn advert(
    version: Version,
    vrid: u8,
    prio: u8,
    centis: u16,
    addrs: VirtualAddrs,
    auth: Auth,
) -> Advert {
    Advert {
        version,
        vrid: Vrid::new(vrid).unwrap(),
        priority: Priority::new(prio),
        interval: Interval::from_centis(centis).unwrap(),
        addrs,
        auth,
    }
}

/// Rebuilds `payload` through the view's setters from what the getters
/// read, then checks the checksum the setters' `fill_checksum` computes.
fn rebuild_through_setters(payload: &[u8], ctx: &ChecksumCtx) {
    let src = Packet::new_checked(payload).unwrap();
    let mut buf = vec![0u8; payload.len()];
    let mut dst = Packet::new_unchecked(&mut buf[..]);
    dst.set_version(src.version());
    dst.set_msg_type(src.msg_type());
    dst.set_vrid(src.vrid());
    dst.set_priority(src.priority());
    dst.set_count(src.count());
    match src.version() {
        RawVersion::V2 => {
            dst.set_auth_type(src.auth_type());
            dst.set_adver_int(src.adver_int());
            for (i, a) in src.addrs_v4().enumerate() {
                assert!(dst.set_addr_v4(i, a));
            }
            assert!(dst.set_auth_data(src.auth_data().unwrap()));
        }
        _ => {
            dst.set_rsvd(src.rsvd());
            dst.set_max_adver_int(src.max_adver_int());
            if ctx.family() == vrrp_proto::Family::V4 {
                for (i, a) in src.addrs_v4().enumerate() {
                    assert!(dst.set_addr_v4(i, a));
                }
            } else {
                for (i, a) in src.addrs_v6().enumerate() {
                    assert!(dst.set_addr_v6(i, a));
                }
            }
        }
    }
    dst.set_checksum(src.checksum());
    assert_eq!(buf, payload, "setters rebuild the bytes");
    let mut dst = Packet::new_unchecked(&mut buf[..]);
    dst.fill_checksum(ctx);
    assert_eq!(
        dst.checksum(),
        src.checksum(),
        "fill_checksum recomputes it"
    );
}

/// Parses an IPv4 fixture, checks the IP header and the advert, re-emits.
fn check_ipv4(name: &str, src: Ipv4Addr, expected: &Advert, outcome: ChecksumOutcome) {
    let bytes = fixture(name);
    let ip = Ipv4Datagram::parse(&bytes).unwrap();
    assert_eq!((ip.src, ip.dst), (src, v4(224, 0, 0, 18)), "{name}");
    assert_eq!(
        (ip.ttl, ip.protocol),
        (255, 112),
        "{name}: RFC 9568 §5.1.1.3"
    );
    let ctx = ip.checksum_ctx();
    let packet = Packet::new_checked(ip.payload).unwrap();
    assert_eq!(packet.msg_type(), MessageType::Advertisement);
    let (got, how) = Advert::parse(&packet, &ctx).unwrap();
    assert_eq!(&got, expected, "{name}");
    assert_eq!(how, outcome, "{name}");
    rebuild_through_setters(ip.payload, &ctx);

    let mode = match outcome {
        ChecksumOutcome::V3Ipv4(m) => m,
        _ => V3Ipv4PseudoHeader::Include,
    };
    let out = got.to_bytes(&ctx.with_v3_ipv4_emit(mode)).unwrap();
    assert_eq!(out, ip.payload, "{name}: re-emitted bytes");

    let mut reused = advert(
        Version::V3,
        1,
        1,
        1,
        VirtualAddrs::V4(Vec::with_capacity(8)),
        Auth::None,
    );
    assert_eq!(reused.parse_into(&packet, &ctx), Ok(outcome));
    assert_eq!(&reused, expected);
}

#[test]
fn keepalived_v2_with_simple_password() {
    let expected = advert(
        Version::V2,
        51,
        150,
        100,
        VirtualAddrs::V4(vec![v4(10, 99, 1, 100), v4(10, 99, 1, 101)]),
        Auth::SimplePassword(*b"secret12"),
    );
    check_ipv4(
        "keepalived_v2_pass.bin",
        v4(10, 99, 1, 1),
        &expected,
        ChecksumOutcome::Valid,
    );
    let p = fixture("keepalived_v2_pass.bin");
    let view = Packet::new_checked(&p[20..]).unwrap();
    assert_eq!(view.auth_type(), AuthType::SimplePassword);
    assert_eq!(view.adver_int(), 1);
}

#[test]
fn keepalived_v2_priority_zero_on_shutdown() {
    let expected = advert(
        Version::V2,
        51,
        0,
        100,
        VirtualAddrs::V4(vec![v4(10, 99, 1, 100), v4(10, 99, 1, 101)]),
        Auth::SimplePassword(*b"secret12"),
    );
    check_ipv4(
        "keepalived_v2_pass_prio0.bin",
        v4(10, 99, 1, 1),
        &expected,
        ChecksumOutcome::Valid,
    );
}

fn keepalived_v3_ipv4_advert(prio: u8) -> Advert {
    advert(
        Version::V3,
        52,
        prio,
        50,
        VirtualAddrs::V4(vec![
            v4(10, 99, 1, 110),
            v4(10, 99, 1, 111),
            v4(10, 99, 1, 112),
        ]),
        Auth::None,
    )
}

#[test]
fn keepalived_v3_ipv4_includes_the_pseudo_header() {
    let include = ChecksumOutcome::V3Ipv4(V3Ipv4PseudoHeader::Include);
    check_ipv4(
        "keepalived_v3_ipv4.bin",
        v4(10, 99, 1, 1),
        &keepalived_v3_ipv4_advert(200),
        include,
    );
    check_ipv4(
        "keepalived_v3_ipv4_prio0.bin",
        v4(10, 99, 1, 1),
        &keepalived_v3_ipv4_advert(0),
        include,
    );
}

#[test]
fn frr_v3_ipv4_includes_the_pseudo_header() {
    let expected = advert(
        Version::V3,
        54,
        120,
        30,
        VirtualAddrs::V4(vec![v4(10, 99, 1, 120)]),
        Auth::None,
    );
    check_ipv4(
        "frr_v3_ipv4.bin",
        v4(10, 99, 1, 2),
        &expected,
        ChecksumOutcome::V3Ipv4(V3Ipv4PseudoHeader::Include),
    );
}

#[test]
fn v3_ipv4_accept_policy_on_real_peers() {
    for name in ["keepalived_v3_ipv4.bin", "frr_v3_ipv4.bin"] {
        let bytes = fixture(name);
        let ip = Ipv4Datagram::parse(&bytes).unwrap();
        let packet = Packet::new_checked(ip.payload).unwrap();
        let ctx = ip.checksum_ctx();
        // An RFC 9568 reader (no pseudo-header) rejects what they send...
        let strict = ctx.with_v3_ipv4_accept(V3Ipv4Accept::Exclude);
        assert_eq!(
            Advert::parse(&packet, &strict).unwrap_err(),
            ParseError::BadChecksum
        );
        let include = ctx.with_v3_ipv4_accept(V3Ipv4Accept::Include);
        assert!(Advert::parse(&packet, &include).is_ok());
        // ...and verification can be left to someone else.
        let (_, how) = Advert::parse(&packet, &strict.with_verify(false)).unwrap();
        assert_eq!(how, ChecksumOutcome::NotVerified);

        // Emitted the RFC 9568 way, only the checksum differs, and only an
        // Exclude/Either receiver takes it.
        let (adv, _) = Advert::parse(&packet, &ctx).unwrap();
        let other = adv
            .to_bytes(&ctx.with_v3_ipv4_emit(V3Ipv4PseudoHeader::Exclude))
            .unwrap();
        assert_eq!(other[..6], ip.payload[..6]);
        assert_eq!(other[8..], ip.payload[8..]);
        assert_ne!(other[6..8], ip.payload[6..8]);
        let p2 = Packet::new_checked(&other[..]).unwrap();
        assert_eq!(
            Advert::parse(&p2, &ctx).unwrap().1,
            ChecksumOutcome::V3Ipv4(V3Ipv4PseudoHeader::Exclude)
        );
        assert_eq!(
            Advert::parse(&p2, &include).unwrap_err(),
            ParseError::BadChecksum
        );
    }
}

#[test]
fn keepalived_v3_ipv6() {
    let bytes = fixture("keepalived_v3_ipv6.bin");
    let (src, dst, next, payload) = split_ipv6(&bytes).unwrap();
    assert_eq!(bytes[7], 255, "hop limit, RFC 9568 §5.1.2.3");
    assert_eq!(next, 112);
    assert_eq!(src, "fe80::ff:fe99:101".parse::<Ipv6Addr>().unwrap());
    assert_eq!(dst, "ff02::12".parse::<Ipv6Addr>().unwrap());
    let ctx = ChecksumCtx::ipv6(src, dst);
    let packet = Packet::new_checked(payload).unwrap();
    assert_eq!(packet.implied_family(), Some(vrrp_proto::Family::V6));
    let (got, how) = Advert::parse(&packet, &ctx).unwrap();
    let expected = advert(
        Version::V3,
        53,
        100,
        100,
        VirtualAddrs::V6(vec![
            "fd00:99::100".parse().unwrap(),
            "fd00:99::101".parse().unwrap(),
        ]),
        Auth::None,
    );
    assert_eq!(got, expected);
    assert_eq!(how, ChecksumOutcome::Valid);
    rebuild_through_setters(payload, &ctx);
    assert_eq!(got.to_bytes(&ctx).unwrap(), payload);
    // The IPv6 pseudo-header is not optional: another source breaks it.
    let wrong = ChecksumCtx::ipv6("fe80::2".parse().unwrap(), dst);
    assert_eq!(
        Advert::parse(&packet, &wrong).unwrap_err(),
        ParseError::BadChecksum
    );
    // Read as IPv4 the length cannot match the count.
    let as_v4 = ChecksumCtx::ipv4(v4(10, 99, 1, 1), v4(224, 0, 0, 18));
    assert_eq!(
        Advert::parse(&packet, &as_v4).unwrap_err(),
        ParseError::CountMismatch {
            count: 2,
            len: payload.len()
        }
    );
}

#[test]
fn keepalived_gratuitous_arp_is_a_broadcast_request() {
    let bytes = fixture("keepalived_garp.bin");
    let garp = GratuitousArp::parse(&bytes).unwrap();
    assert_eq!(
        garp,
        GratuitousArp {
            sender_mac: [0x02, 0, 0, 0x99, 0x01, 0x01],
            addr: v4(10, 99, 1, 100),
        }
    );
    assert_eq!(u16::from_be_bytes([bytes[20], bytes[21]]), 1, "request");
    let mut out = vec![0u8; garp.buffer_len()];
    garp.emit(&mut out).unwrap();
    assert_eq!(out, bytes);
}

#[test]
fn keepalived_unsolicited_na() {
    let bytes = fixture("keepalived_na.bin");
    let (src, dst, next, msg) = split_ipv6(&bytes).unwrap();
    assert_eq!((next, bytes[7]), (58, 255));
    let target: Ipv6Addr = "fd00:99::100".parse().unwrap();
    assert_eq!((src, dst), (target, "ff02::1".parse().unwrap()));
    let na = UnsolicitedNa::parse(msg, src, dst).unwrap();
    assert_eq!(
        na,
        UnsolicitedNa {
            target,
            target_mac: [0x02, 0, 0, 0x99, 0x01, 0x01],
            router: false,
        }
    );
    let mut out = vec![0u8; na.buffer_len()];
    na.emit(&mut out, src, dst).unwrap();
    assert_eq!(out, msg);
}

#[test]
fn every_fixture_is_a_clean_fuzz_seed() {
    let dir = format!("{}/tests/fixtures", env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "bin") {
            let bytes = std::fs::read(&path).unwrap();
            vrrp_proto::fuzzing::advert_parse(&bytes);
            vrrp_proto::fuzzing::arp_nd_parse(&bytes);
            n += 1;
        }
    }
    assert_eq!(n, 8, "all eight fixtures present");
}
