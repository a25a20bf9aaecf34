//! `ip::Ipv4Datagram::parse` against an independent decoder (etherparse):
//! on arbitrary, mostly plausible IPv4 headers both agree on acceptance
//! (etherparse's structural checks + its own header checksum + no
//! fragmentation) and on every field when they accept.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use vrrp_proto::ip::{IpError, Ipv4Datagram};

/// A header with mostly sensible fields, a payload, and a correct checksum
/// unless `break_checksum`.
fn datagram() -> impl Strategy<Value = Vec<u8>> {
    (
        prop_oneof![9 => Just(4u8), 1 => 0..16u8],
        prop_oneof![6 => Just(5u8), 3 => 5..16u8, 1 => 0..5u8],
        prop::collection::vec(any::<u8>(), 0..64),
        -8i32..8,
        prop_oneof![6 => Just(0u16), 2 => Just(0x4000u16), 2 => any::<u16>()],
        any::<u8>(),
        prop_oneof![Just(112u8), Just(58u8), Just(6u8)],
        any::<[u8; 8]>(),
        any::<bool>(),
        0..6usize,
    )
        .prop_map(
            |(version, ihl, payload, len_delta, frag, ttl, proto, addrs, break_checksum, pad)| {
                let header_len = usize::from(ihl) * 4;
                let mut b = vec![0u8; header_len.max(20)];
                b[0] = (version << 4) | ihl;
                let total = (header_len.max(20) + payload.len()) as i32 + len_delta;
                b[2..4].copy_from_slice(&(total.clamp(0, 65535) as u16).to_be_bytes());
                b[4..6].copy_from_slice(&[0x12, 0x34]);
                b[6..8].copy_from_slice(&frag.to_be_bytes());
                b[8] = ttl;
                b[9] = proto;
                b[12..20].copy_from_slice(&addrs);
                let hl = header_len.clamp(20, b.len());
                let c = !vrrp_proto::checksum::sum(&b[..hl]);
                b[10..12].copy_from_slice(&c.to_be_bytes());
                if break_checksum {
                    b[10] ^= 0x01;
                }
                b.extend_from_slice(&payload);
                b.extend(std::iter::repeat_n(0u8, pad));
                b
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(5000))]

    #[test]
    fn agrees_with_etherparse(bytes in datagram()) {
        let ours = Ipv4Datagram::parse(&bytes);
        let theirs = etherparse::Ipv4Slice::from_slice(&bytes);
        let theirs_ok = match &theirs {
            Ok(s) => {
                let h = s.header();
                h.to_header().calc_header_checksum() == h.header_checksum()
                    && !h.is_fragmenting_payload()
            }
            Err(_) => false,
        };
        prop_assert_eq!(ours.is_ok(), theirs_ok, "ours {:?}", ours);
        if let (Ok(d), Ok(s)) = (ours, theirs) {
            let h = s.header();
            prop_assert_eq!(d.src, h.source_addr());
            prop_assert_eq!(d.dst, h.destination_addr());
            prop_assert_eq!(d.ttl, h.ttl());
            prop_assert_eq!(d.protocol, h.protocol().0);
            prop_assert_eq!(d.header_len, h.slice().len());
            prop_assert_eq!(d.payload, s.payload().payload);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..80)) {
        match Ipv4Datagram::parse(&bytes) {
            Ok(d) => prop_assert!(d.header_len + d.payload.len() <= bytes.len()),
            Err(IpError::Truncated { needed, got }) => prop_assert!(needed > got),
            Err(_) => {}
        }
    }
}
