//! Fuzz entry points (hidden; used by the `fuzz/` targets and by tests that
//! replay their seeds). Each function panics if and only if an oracle fails.
//!
//! Inputs are whole IP datagrams (or, for ARP, Ethernet frames), so the
//! golden vectors in `tests/fixtures/` are seeds as they are, and the IP
//! helpers are fuzzed on the way.

use core::net::Ipv6Addr;

use crate::arp::GratuitousArp;
use crate::checksum::{ChecksumCtx, IP_PROTOCOL_ICMPV6, IP_PROTOCOL_VRRP};
use crate::ip::Ipv4Datagram;
use crate::nd::UnsolicitedNa;
use crate::packet::Packet;
use crate::repr::{Advert, Auth, VirtualAddrs};
use crate::types::{Interval, Priority, Version, Vrid};

/// Splits a fixed IPv6 header (no extension headers) into source,
/// destination, next header and payload (Payload Length respected).
pub fn split_ipv6(datagram: &[u8]) -> Option<(Ipv6Addr, Ipv6Addr, u8, &[u8])> {
    let header = datagram.get(..40)?;
    if header[0] >> 4 != 6 {
        return None;
    }
    let len = usize::from(u16::from_be_bytes([header[4], header[5]]));
    let payload = datagram.get(40..40 + len)?;
    let mut s = [0u8; 16];
    let mut d = [0u8; 16];
    s.copy_from_slice(&header[8..24]);
    d.copy_from_slice(&header[24..40]);
    Some((Ipv6Addr::from(s), Ipv6Addr::from(d), header[6], payload))
}

/// The VRRP payload and checksum context of an IPv4 or IPv6 datagram
/// carrying protocol 112.
pub fn vrrp_in_datagram(datagram: &[u8]) -> Option<(&[u8], ChecksumCtx)> {
    match datagram.first()? >> 4 {
        4 => {
            let d = Ipv4Datagram::parse(datagram).ok()?;
            (d.protocol == IP_PROTOCOL_VRRP).then(|| (d.payload, d.checksum_ctx()))
        }
        6 => {
            let (src, dst, next, payload) = split_ipv6(datagram)?;
            (next == IP_PROTOCOL_VRRP).then(|| (payload, ChecksumCtx::ipv6(src, dst)))
        }
        _ => None,
    }
}

/// `advert_parse`: bytes → `Packet::new_checked` → `Advert::parse`; on
/// success, `emit` → `parse` gives the same advert, and the emitted bytes
/// equal the input except the checksum, the v3 reserved bits and (v2 auth
/// type 0) the ignored authentication data. `parse_into` agrees with
/// `parse`.
pub fn advert_parse(data: &[u8]) {
    let Some((payload, ctx)) = vrrp_in_datagram(data) else {
        return;
    };
    let Ok(packet) = Packet::new_checked(payload) else {
        return;
    };
    let parsed = Advert::parse(&packet, &ctx);

    // parse_into over a vector of the other family and one of the same.
    let mut reused = Advert {
        version: Version::V3,
        vrid: Vrid::new(1).unwrap_or_else(|| unreachable!()),
        priority: Priority::DEFAULT,
        interval: Interval::DEFAULT,
        addrs: VirtualAddrs::V6(alloc::vec::Vec::new()),
        auth: Auth::None,
    };
    let before = reused.clone();
    match (&parsed, reused.parse_into(&packet, &ctx)) {
        (Ok((a, oa)), Ok(ob)) => assert_eq!((a, *oa), (&reused, ob)),
        (Err(ea), Err(eb)) => {
            assert_eq!(*ea, eb);
            assert_eq!(reused, before, "parse_into changed its target on error");
        }
        (a, b) => panic!("parse {a:?} and parse_into {b:?} disagree"),
    }
    let Ok((advert, _)) = parsed else {
        return;
    };

    let out = match advert.to_bytes(&ctx) {
        Ok(out) => out,
        Err(e) => panic!("a parsed advert must re-emit: {e:?} for {advert:?}"),
    };
    assert_eq!(out.len(), payload.len());
    assert_eq!(out.len(), advert.buffer_len());
    let masked = |b: &[u8]| {
        let mut b = alloc::vec::Vec::from(b);
        b[6] = 0;
        b[7] = 0;
        match advert.version {
            Version::V3 => b[4] &= 0x0f,
            Version::V2 => {
                if advert.auth == Auth::None {
                    let n = b.len();
                    b[n - 8..].fill(0);
                }
            }
        }
        b
    };
    assert_eq!(masked(&out), masked(payload));
    match Packet::new_checked(&out[..]).map(|p| Advert::parse(&p, &ctx)) {
        Ok(Ok((again, _))) => assert_eq!(again, advert),
        other => panic!("re-emitted advert does not parse: {other:?}"),
    }
}

/// `arp_nd_parse`: an Ethernet frame with EtherType ARP goes to
/// `GratuitousArp::parse`, an IPv6 datagram carrying ICMPv6 to
/// `UnsolicitedNa::parse`; on success, emit → parse round-trips and the
/// emitted bytes equal the input in every field the codec models.
pub fn arp_nd_parse(data: &[u8]) {
    if data.get(12..14) == Some(&[0x08, 0x06]) {
        let Ok(garp) = GratuitousArp::parse(data) else {
            return;
        };
        let mut out = [0u8; GratuitousArp::LEN];
        if let Err(e) = garp.emit(&mut out) {
            panic!("emit failed: {e:?}");
        }
        assert_eq!(GratuitousArp::parse(&out), Ok(garp));
        // Operation (request or reply) and target MAC are not modelled.
        assert_eq!(out[..20], data[..20]);
        assert_eq!(out[22..32], data[22..32]);
        assert_eq!(out[38..42], data[38..42]);
    } else if let Some((src, dst, next, msg)) = split_ipv6(data) {
        if next != IP_PROTOCOL_ICMPV6 {
            return;
        }
        let Ok(na) = UnsolicitedNa::parse(msg, src, dst) else {
            return;
        };
        let mut out = [0u8; UnsolicitedNa::LEN];
        if let Err(e) = na.emit(&mut out, src, dst) {
            panic!("emit failed: {e:?}");
        }
        match UnsolicitedNa::parse(&out, src, dst) {
            Ok(again) => assert_eq!(again, na),
            Err(e) => panic!("re-emitted NA does not parse: {e:?}"),
        }
        // Type, code, R/S/O flags and target; reserved bits and other
        // options are not modelled.
        assert_eq!(out[..2], msg[..2]);
        assert_eq!(out[4] & 0xe0, msg[4] & 0xe0);
        assert_eq!(out[8..24], msg[8..24]);
    }
}
