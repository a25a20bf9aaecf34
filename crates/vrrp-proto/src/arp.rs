//! Gratuitous ARP: the Ethernet frame a new IPv4 master broadcasts for each
//! virtual address.
//!
//! [RFC 9568 §6.4.1] and [RFC 3768 §6.4.1] (and §6.4.2 of each, for the
//! transition from Backup): on becoming master, "broadcast
//! a gratuitous ARP request containing the virtual router MAC address for
//! each IP address associated with the virtual router". The frame is an ARP
//! *request* whose sender and target protocol addresses are both the virtual
//! address, as [RFC 5227 §3] specifies for an ARP Announcement (which also
//! explains why a request rather than a reply: every host processes a
//! broadcast request).
//!
//! [RFC 9568 §6.4.1]: https://www.rfc-editor.org/rfc/rfc9568#section-6.4.1
//! [RFC 3768 §6.4.1]: https://www.rfc-editor.org/rfc/rfc3768#section-6.4.1
//! [RFC 5227 §3]: https://www.rfc-editor.org/rfc/rfc5227#section-3

use core::net::Ipv4Addr;

use crate::error::EmitError;

// Ethernet II header followed by the ARP packet for IPv4 over Ethernet
// ([RFC 826]):
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |             Destination MAC (ff:ff:ff:ff:ff:ff)               |
// +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                               |                               |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+       Source MAC              +
// |                                                               |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |     EtherType (0x0806)        |   Hardware type (1)           |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |   Protocol type (0x0800)      | HLEN (6)      | PLEN (4)      |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |   Operation (1 = request)     |  Sender hardware address ...  |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |         ... (6 octets)                                        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |         Sender protocol address (the virtual IPv4 address)    |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |         Target hardware address (6 octets)                    |
// +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                               | Target protocol address ...   |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |   ... (= sender protocol address)
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// [RFC 826]: https://www.rfc-editor.org/rfc/rfc826
mod field {
    use core::ops::Range;
    pub(super) const ETH_DST: Range<usize> = 0..6;
    pub(super) const ETH_SRC: Range<usize> = 6..12;
    pub(super) const ETHERTYPE: Range<usize> = 12..14;
    pub(super) const HTYPE: Range<usize> = 14..16;
    pub(super) const PTYPE: Range<usize> = 16..18;
    pub(super) const HLEN: usize = 18;
    pub(super) const PLEN: usize = 19;
    pub(super) const OPER: Range<usize> = 20..22;
    pub(super) const SHA: Range<usize> = 22..28;
    pub(super) const SPA: Range<usize> = 28..32;
    pub(super) const THA: Range<usize> = 32..38;
    pub(super) const TPA: Range<usize> = 38..42;
    pub(super) const LEN: usize = 42;
}

/// EtherType of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// EtherType of IPv4 (the ARP protocol type).
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// The Ethernet broadcast address.
pub const BROADCAST_MAC: [u8; 6] = [0xff; 6];
/// ARP operation: request.
pub const OP_REQUEST: u16 = 1;
/// ARP operation: reply.
pub const OP_REPLY: u16 = 2;

/// Why a frame is not a gratuitous ARP for IPv4 over Ethernet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ArpError {
    /// Shorter than the 42 octets of an Ethernet header and an ARP packet.
    #[error("truncated ARP frame: needed {needed} octets, got {got}")]
    Truncated {
        /// Octets needed.
        needed: usize,
        /// Octets present.
        got: usize,
    },
    /// The EtherType is not ARP (0x0806).
    #[error("EtherType {0:#06x} is not ARP")]
    NotArp(u16),
    /// Not IPv4 over Ethernet: hardware type 1, protocol type 0x0800,
    /// lengths 6 and 4 (RFC 826).
    #[error("not an ARP packet for IPv4 over Ethernet")]
    NotEthernetIpv4,
    /// An operation other than request (1) or reply (2) (RFC 826).
    #[error("ARP operation {0} is neither request nor reply")]
    BadOperation(u16),
    /// Sender and target protocol addresses differ: an ordinary ARP packet,
    /// not an announcement (RFC 5227 §3).
    #[error("sender and target IP differ: not a gratuitous ARP")]
    NotGratuitous,
    /// Not sent to the Ethernet broadcast address (RFC 9568 §6.4.2:
    /// "broadcast a gratuitous ARP request").
    #[error("gratuitous ARP not sent to the broadcast address")]
    NotBroadcast,
    /// The Ethernet source differs from the ARP sender hardware address.
    #[error("Ethernet source differs from the ARP sender hardware address")]
    SenderMismatch,
}

/// A gratuitous ARP announcing that `addr` is at `sender_mac`.
///
/// ```
/// use vrrp_proto::arp::GratuitousArp;
///
/// let garp = GratuitousArp {
///     sender_mac: [0x00, 0x00, 0x5e, 0x00, 0x01, 0x33], // VRRP virtual MAC, VRID 51
///     addr: "192.0.2.10".parse()?,
/// };
/// let mut frame = [0u8; GratuitousArp::LEN];
/// garp.emit(&mut frame)?;
/// assert_eq!(GratuitousArp::parse(&frame)?, garp);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GratuitousArp {
    /// The MAC the address is now at: the virtual router MAC
    /// (00:00:5e:00:01:VRID) or, as keepalived does without `use_vmac`, the
    /// interface's own MAC. Also the Ethernet source.
    pub sender_mac: [u8; 6],
    /// The virtual IPv4 address being announced.
    pub addr: Ipv4Addr,
}

impl GratuitousArp {
    /// The frame length: 14 octets of Ethernet header and 28 of ARP, without
    /// padding or FCS (the NIC pads short frames to 60 octets).
    pub const LEN: usize = field::LEN;

    /// The length [`emit`](GratuitousArp::emit) writes: [`GratuitousArp::LEN`].
    pub const fn buffer_len(&self) -> usize {
        Self::LEN
    }

    /// Writes the complete Ethernet II frame into `buf`, which must be
    /// exactly [`LEN`](GratuitousArp::LEN) octets: broadcast destination,
    /// `sender_mac` source, an ARP request with sender and target protocol
    /// address both `addr`.
    ///
    /// INTEROP: the target hardware address is ff:ff:ff:ff:ff:ff, as
    /// keepalived 2.2 and FRR 8.4 send it (see the golden vectors);
    /// RFC 5227 §2.1.1 suggests zero for probes. Receivers ignore the field
    /// in a request (RFC 826), so either works; we match deployed peers.
    pub fn emit(&self, buf: &mut [u8]) -> Result<(), EmitError> {
        if buf.len() != Self::LEN {
            return Err(EmitError::BufferLength {
                needed: Self::LEN,
                got: buf.len(),
            });
        }
        let ip = self.addr.octets();
        buf[field::ETH_DST].copy_from_slice(&BROADCAST_MAC);
        buf[field::ETH_SRC].copy_from_slice(&self.sender_mac);
        buf[field::ETHERTYPE].copy_from_slice(&ETHERTYPE_ARP.to_be_bytes());
        buf[field::HTYPE].copy_from_slice(&1u16.to_be_bytes());
        buf[field::PTYPE].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        buf[field::HLEN] = 6;
        buf[field::PLEN] = 4;
        buf[field::OPER].copy_from_slice(&OP_REQUEST.to_be_bytes());
        buf[field::SHA].copy_from_slice(&self.sender_mac);
        buf[field::SPA].copy_from_slice(&ip);
        buf[field::THA].copy_from_slice(&BROADCAST_MAC);
        buf[field::TPA].copy_from_slice(&ip);
        Ok(())
    }

    /// Validates an Ethernet frame as a gratuitous ARP for IPv4 and returns
    /// what it announces.
    ///
    /// Accepted: requests and replies (both are used as announcements in
    /// the wild), any target hardware address, trailing padding. Rejected,
    /// each with its own [`ArpError`]: another EtherType or hardware/protocol
    /// type, unequal sender and target IP, a non-broadcast destination, and
    /// an Ethernet source other than the sender hardware address.
    pub fn parse(frame: &[u8]) -> Result<GratuitousArp, ArpError> {
        if frame.len() < field::LEN {
            return Err(ArpError::Truncated {
                needed: field::LEN,
                got: frame.len(),
            });
        }
        let be16 =
            |r: core::ops::Range<usize>| u16::from_be_bytes([frame[r.start], frame[r.start + 1]]);
        let ethertype = be16(field::ETHERTYPE);
        if ethertype != ETHERTYPE_ARP {
            return Err(ArpError::NotArp(ethertype));
        }
        if be16(field::HTYPE) != 1
            || be16(field::PTYPE) != ETHERTYPE_IPV4
            || frame[field::HLEN] != 6
            || frame[field::PLEN] != 4
        {
            return Err(ArpError::NotEthernetIpv4);
        }
        let op = be16(field::OPER);
        if op != OP_REQUEST && op != OP_REPLY {
            return Err(ArpError::BadOperation(op));
        }
        if frame[field::SPA] != frame[field::TPA] {
            return Err(ArpError::NotGratuitous);
        }
        if frame[field::ETH_DST] != BROADCAST_MAC {
            return Err(ArpError::NotBroadcast);
        }
        if frame[field::ETH_SRC] != frame[field::SHA] {
            return Err(ArpError::SenderMismatch);
        }
        let mut sender_mac = [0u8; 6];
        sender_mac.copy_from_slice(&frame[field::SHA]);
        let s = &frame[field::SPA];
        Ok(GratuitousArp {
            sender_mac,
            addr: Ipv4Addr::new(s[0], s[1], s[2], s[3]),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (GratuitousArp, [u8; 42]) {
        let g = GratuitousArp {
            sender_mac: [0, 0, 0x5e, 0, 1, 0x33],
            addr: Ipv4Addr::new(10, 99, 1, 100),
        };
        let mut b = [0u8; 42];
        g.emit(&mut b).unwrap();
        (g, b)
    }

    #[test]
    fn emit_layout() {
        let (_, b) = sample();
        let expected: [u8; 42] = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0x5e, 0, 1, 0x33, 0x08, 0x06, 0, 1, 0x08, 0,
            6, 4, 0, 1, 0, 0, 0x5e, 0, 1, 0x33, 10, 99, 1, 100, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            10, 99, 1, 100,
        ];
        assert_eq!(b, expected);
    }

    #[test]
    fn emit_needs_the_exact_length() {
        let (g, _) = sample();
        for len in [0, 41, 43, 60] {
            let mut b = alloc::vec![0u8; len];
            assert_eq!(
                g.emit(&mut b),
                Err(EmitError::BufferLength {
                    needed: 42,
                    got: len
                })
            );
        }
    }

    #[test]
    fn parse_accepts_padding_replies_and_any_target_mac() {
        let (g, b) = sample();
        let mut padded = [0u8; 60];
        padded[..42].copy_from_slice(&b);
        assert_eq!(GratuitousArp::parse(&padded), Ok(g));
        let mut reply = b;
        reply[21] = 2;
        reply[32..38].copy_from_slice(&[0; 6]);
        assert_eq!(GratuitousArp::parse(&reply), Ok(g));
    }

    #[test]
    fn every_error_variant() {
        let (_, b) = sample();
        assert_eq!(
            GratuitousArp::parse(&b[..41]),
            Err(ArpError::Truncated {
                needed: 42,
                got: 41
            })
        );
        let cases: [(usize, u8, ArpError); 8] = [
            (12, 0x86, ArpError::NotArp(0x8606)),
            (15, 6, ArpError::NotEthernetIpv4),
            (17, 6, ArpError::NotEthernetIpv4),
            (18, 8, ArpError::NotEthernetIpv4),
            (19, 16, ArpError::NotEthernetIpv4),
            (21, 3, ArpError::BadOperation(3)),
            (41, 101, ArpError::NotGratuitous),
            (0, 0x01, ArpError::NotBroadcast),
        ];
        for (at, value, err) in cases {
            let mut f = b;
            f[at] = value;
            assert_eq!(GratuitousArp::parse(&f), Err(err), "octet {at}");
        }
        let mut f = b;
        f[11] = 0x34;
        assert_eq!(GratuitousArp::parse(&f), Err(ArpError::SenderMismatch));
    }
}
