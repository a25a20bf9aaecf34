//! Splitting a received IPv4 datagram into the parts VRRP needs.
//!
//! An IPv4 raw socket (protocol 112) delivers the whole datagram, IP header
//! included; [`Ipv4Datagram::parse`] validates the header and hands back the
//! addresses (for the [`ChecksumCtx`]), the TTL (RFC 9568 §7.1: "MUST verify
//! that the IPv4 TTL is 255") and the VRRP payload. IPv6 raw sockets strip
//! the header and deliver the hop limit as ancillary data, so there is no
//! IPv6 counterpart.
//!
//! Only the header is checked here, by hand: the layout is 20 octets plus
//! options, and a hand-written check gives typed errors without copying.

use core::net::Ipv4Addr;

use crate::checksum::{self, ChecksumCtx};

// IPv4 header ([RFC 791 §3.1]):
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |Version|  IHL  |Type of Service|          Total Length         |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |         Identification        |Flags|      Fragment Offset    |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |  Time to Live |    Protocol   |         Header Checksum       |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                       Source Address                          |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                    Destination Address                        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                    Options                    |    Padding    |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// [RFC 791 §3.1]: https://www.rfc-editor.org/rfc/rfc791#section-3.1
mod field {
    pub(super) const VER_IHL: usize = 0;
    pub(super) const TOTAL_LEN: usize = 2;
    pub(super) const FLAGS_FRAG: usize = 6;
    pub(super) const TTL: usize = 8;
    pub(super) const PROTOCOL: usize = 9;
    pub(super) const SRC: usize = 12;
    pub(super) const DST: usize = 16;
    pub(super) const MIN_HEADER_LEN: usize = 20;
}

/// The length of an IPv4 header without options.
pub const IPV4_MIN_HEADER_LEN: usize = field::MIN_HEADER_LEN;

/// Why an IPv4 datagram was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum IpError {
    /// Fewer octets than the header or the Total Length field say.
    #[error("truncated IPv4 datagram: needed {needed} octets, got {got}")]
    Truncated {
        /// Octets the header says there are.
        needed: usize,
        /// Octets present.
        got: usize,
    },
    /// The version nibble is not 4.
    #[error("not an IPv4 datagram (version {0})")]
    NotIpv4(u8),
    /// IHL below 5 (RFC 791 §3.1: "the minimum value for a correct header is 5").
    #[error("bad IPv4 header length {0} (32-bit words)")]
    BadHeaderLength(u8),
    /// Total Length smaller than the header.
    #[error("IPv4 total length {total} is shorter than the header ({header})")]
    BadTotalLength {
        /// The Total Length field.
        total: u16,
        /// The header length from IHL.
        header: usize,
    },
    /// The header checksum does not verify (RFC 791 §3.1).
    #[error("bad IPv4 header checksum")]
    BadHeaderChecksum,
    /// A fragment (More Fragments set or a non-zero offset). A VRRP
    /// advertisement always fits one datagram; raw sockets see fragments
    /// only if reassembly is bypassed, and a lone fragment is not a whole
    /// message.
    #[error("IPv4 fragment")]
    Fragment,
    /// The TTL is not 255. RFC 9568 §7.1 and RFC 3768 §7.1: the receiver
    /// "MUST verify that the IP TTL is 255" (so the packet was not routed).
    #[error("IPv4 TTL {0} is not 255")]
    TtlNot255(u8),
    /// The protocol is not VRRP (112, RFC 9568 §5.1.1.4).
    #[error("IP protocol {0} is not VRRP (112)")]
    NotVrrp(u8),
}

/// A validated IPv4 datagram, borrowing its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Datagram<'a> {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Time to live as received (VRRP requires 255).
    pub ttl: u8,
    /// Protocol number (112 for VRRP).
    pub protocol: u8,
    /// The header length in octets (20 plus options).
    pub header_len: usize,
    /// The payload: the octets after the header, up to Total Length (any
    /// link-layer padding after it is dropped).
    pub payload: &'a [u8],
}

impl<'a> Ipv4Datagram<'a> {
    /// Validates an IPv4 header (version, IHL, Total Length against the
    /// buffer, header checksum, no fragmentation) and splits off the payload.
    ///
    /// The buffer may be longer than Total Length; the rest is ignored.
    /// Under `cfg(fuzzing)` the header checksum is not verified.
    pub fn parse(buf: &'a [u8]) -> Result<Self, IpError> {
        if buf.len() < field::MIN_HEADER_LEN {
            return Err(IpError::Truncated {
                needed: field::MIN_HEADER_LEN,
                got: buf.len(),
            });
        }
        let version = buf[field::VER_IHL] >> 4;
        if version != 4 {
            return Err(IpError::NotIpv4(version));
        }
        let ihl = buf[field::VER_IHL] & 0x0f;
        if ihl < 5 {
            return Err(IpError::BadHeaderLength(ihl));
        }
        let header_len = usize::from(ihl) * 4;
        if buf.len() < header_len {
            return Err(IpError::Truncated {
                needed: header_len,
                got: buf.len(),
            });
        }
        let total = u16::from_be_bytes([buf[field::TOTAL_LEN], buf[field::TOTAL_LEN + 1]]);
        if usize::from(total) < header_len {
            return Err(IpError::BadTotalLength {
                total,
                header: header_len,
            });
        }
        if buf.len() < usize::from(total) {
            return Err(IpError::Truncated {
                needed: usize::from(total),
                got: buf.len(),
            });
        }
        if !cfg!(fuzzing) && !checksum::is_valid(checksum::sum(&buf[..header_len])) {
            return Err(IpError::BadHeaderChecksum);
        }
        let flags_frag = u16::from_be_bytes([buf[field::FLAGS_FRAG], buf[field::FLAGS_FRAG + 1]]);
        // Bit 2 of Flags is MF; the low 13 bits are the fragment offset.
        if flags_frag & 0x2000 != 0 || flags_frag & 0x1fff != 0 {
            return Err(IpError::Fragment);
        }
        let addr = |at: usize| Ipv4Addr::new(buf[at], buf[at + 1], buf[at + 2], buf[at + 3]);
        Ok(Ipv4Datagram {
            src: addr(field::SRC),
            dst: addr(field::DST),
            ttl: buf[field::TTL],
            protocol: buf[field::PROTOCOL],
            header_len,
            payload: &buf[header_len..usize::from(total)],
        })
    }

    /// The VRRP payload, after the IP-level receive checks of RFC 9568 §7.1
    /// (and RFC 3768 §7.1): protocol 112 ([`IpError::NotVrrp`]) and TTL 255
    /// ([`IpError::TtlNot255`]).
    pub fn vrrp_payload(&self) -> Result<&'a [u8], IpError> {
        if self.protocol != checksum::IP_PROTOCOL_VRRP {
            return Err(IpError::NotVrrp(self.protocol));
        }
        if self.ttl != 255 {
            return Err(IpError::TtlNot255(self.ttl));
        }
        Ok(self.payload)
    }

    /// A [`ChecksumCtx`] for this datagram's addresses, with the default
    /// policy ([`ChecksumCtx::ipv4`]).
    pub const fn checksum_ctx(&self) -> ChecksumCtx {
        ChecksumCtx::ipv4(self.src, self.dst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 20-octet header with a valid checksum around `payload`.
    fn datagram(payload: &[u8]) -> alloc::vec::Vec<u8> {
        let total = (20 + payload.len()) as u16;
        let mut b = alloc::vec![0x45, 0xc0];
        b.extend_from_slice(&total.to_be_bytes());
        b.extend_from_slice(&[0, 1, 0, 0, 255, 112, 0, 0, 10, 99, 1, 1, 224, 0, 0, 18]);
        let c = checksum::finish(checksum::sum(&b));
        b[10..12].copy_from_slice(&c.to_be_bytes());
        b.extend_from_slice(payload);
        b
    }

    #[test]
    fn splits_a_valid_datagram_and_drops_padding() {
        let mut b = datagram(&[1, 2, 3]);
        b.extend_from_slice(&[0; 5]); // Ethernet padding
        let d = Ipv4Datagram::parse(&b).unwrap();
        assert_eq!(d.src, Ipv4Addr::new(10, 99, 1, 1));
        assert_eq!(d.dst, Ipv4Addr::new(224, 0, 0, 18));
        assert_eq!((d.ttl, d.protocol, d.header_len), (255, 112, 20));
        assert_eq!(d.payload, &[1, 2, 3]);
        assert_eq!(d.vrrp_payload(), Ok(&[1u8, 2, 3][..]));
        assert_eq!(d.checksum_ctx(), ChecksumCtx::ipv4(d.src, d.dst));
    }

    #[test]
    fn every_error_variant() {
        let good = datagram(&[1, 2, 3]);
        assert_eq!(
            Ipv4Datagram::parse(&good[..19]),
            Err(IpError::Truncated {
                needed: 20,
                got: 19
            })
        );
        assert_eq!(
            Ipv4Datagram::parse(&good[..22]),
            Err(IpError::Truncated {
                needed: 23,
                got: 22
            })
        );
        let mut b = good.clone();
        b[0] = 0x65;
        assert_eq!(Ipv4Datagram::parse(&b), Err(IpError::NotIpv4(6)));
        let mut b = good.clone();
        b[0] = 0x44;
        assert_eq!(Ipv4Datagram::parse(&b), Err(IpError::BadHeaderLength(4)));
        let mut b = good.clone();
        b.extend_from_slice(&[0; 7]);
        b[0] = 0x46; // a 24-octet header, but Total Length 23
        assert_eq!(
            Ipv4Datagram::parse(&b),
            Err(IpError::BadTotalLength {
                total: 23,
                header: 24
            })
        );
        let mut b = good.clone();
        b[0] = 0x4f;
        assert_eq!(
            Ipv4Datagram::parse(&b),
            Err(IpError::Truncated {
                needed: 60,
                got: 23
            })
        );
        let mut b = good.clone();
        b[2..4].copy_from_slice(&19u16.to_be_bytes());
        assert_eq!(
            Ipv4Datagram::parse(&b),
            Err(IpError::BadTotalLength {
                total: 19,
                header: 20
            })
        );
        let mut b = good.clone();
        b[8] = 254; // TTL changed, checksum not updated
        assert_eq!(Ipv4Datagram::parse(&b), Err(IpError::BadHeaderChecksum));
        for flags in [0x2000u16, 0x0001, 0x3fff] {
            let mut b = good.clone();
            b[6..8].copy_from_slice(&flags.to_be_bytes());
            b[10..12].copy_from_slice(&[0, 0]);
            let c = checksum::finish(checksum::sum(&b[..20]));
            b[10..12].copy_from_slice(&c.to_be_bytes());
            assert_eq!(Ipv4Datagram::parse(&b), Err(IpError::Fragment));
        }
        let d = Ipv4Datagram::parse(&good).unwrap();
        let routed = Ipv4Datagram { ttl: 254, ..d };
        assert_eq!(routed.vrrp_payload(), Err(IpError::TtlNot255(254)));
        let tcp = Ipv4Datagram { protocol: 6, ..d };
        assert_eq!(tcp.vrrp_payload(), Err(IpError::NotVrrp(6)));
        // Don't Fragment alone is fine.
        let mut b = good.clone();
        b[6] = 0x40;
        b[10..12].copy_from_slice(&[0, 0]);
        let c = checksum::finish(checksum::sum(&b[..20]));
        b[10..12].copy_from_slice(&c.to_be_bytes());
        assert!(Ipv4Datagram::parse(&b).is_ok());
    }
}
