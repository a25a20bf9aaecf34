//! Unsolicited Neighbor Advertisement: the ICMPv6 message a new IPv6 master
//! sends for each virtual address.
//!
//! [RFC 9568 §6.4.1] and §6.4.2: on becoming active, the router sends, for
//! each virtual IPv6 address, an unsolicited Neighbor Advertisement with the
//! Router flag set, the Solicited flag clear, the Override flag set, the
//! virtual address as target and the virtual router MAC as Target
//! Link-Layer Address. The message layout is [RFC 4861 §4.4].
//!
//! INTEROP: keepalived 2.2 sends the Router flag clear unless the interface
//! forwards (see the golden vector `keepalived_na.bin`); hence `router` is a
//! field, not a constant.
//!
//! Only the ICMPv6 message is built here; the IPv6 header (hop limit 255,
//! destination ff02::1) is the socket's.
//!
//! [RFC 9568 §6.4.1]: https://www.rfc-editor.org/rfc/rfc9568#section-6.4.1
//! [RFC 4861 §4.4]: https://www.rfc-editor.org/rfc/rfc4861#section-4.4

use core::net::Ipv6Addr;

use crate::checksum::{self, IP_PROTOCOL_ICMPV6};
use crate::error::EmitError;

//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |     Type      |     Code      |          Checksum             |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |R|S|O|                     Reserved                            |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                                                               |
// +                                                               +
// |                                                               |
// +                       Target Address                          +
// |                                                               |
// +                                                               +
// |                                                               |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |   Options ...   (Target Link-Layer Address, RFC 4861 §4.6.1:
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |  Type (2)     |  Length (1)   |    Link-Layer Address ...     |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |              ... (6 octets for Ethernet)                      |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
mod field {
    use core::ops::Range;
    pub(super) const TYPE: usize = 0;
    pub(super) const CODE: usize = 1;
    pub(super) const CHECKSUM: Range<usize> = 2..4;
    pub(super) const FLAGS: usize = 4;
    pub(super) const TARGET: Range<usize> = 8..24;
    pub(super) const OPTIONS: usize = 24;
    /// Fixed part (RFC 4861 §7.1.2: "ICMP length ... is 24 or more octets").
    pub(super) const MIN_LEN: usize = 24;
    /// Fixed part plus one 8-octet Target Link-Layer Address option.
    pub(super) const LEN: usize = 32;
}

/// ICMPv6 type of a Neighbor Advertisement.
pub const ICMPV6_NEIGHBOR_ADVERT: u8 = 136;
/// Option type: Target Link-Layer Address (RFC 4861 §4.6.1).
pub const OPT_TARGET_LL_ADDR: u8 = 2;
const FLAG_ROUTER: u8 = 0x80;
const FLAG_SOLICITED: u8 = 0x40;
const FLAG_OVERRIDE: u8 = 0x20;

/// Why a message is not a valid unsolicited Neighbor Advertisement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum NdError {
    /// Shorter than 24 octets (RFC 4861 §7.1.2), or an option runs past the
    /// end of the message.
    #[error("truncated neighbour advertisement: needed {needed} octets, got {got}")]
    Truncated {
        /// Octets needed.
        needed: usize,
        /// Octets present.
        got: usize,
    },
    /// ICMPv6 type is not 136.
    #[error("ICMPv6 type {0} is not a neighbour advertisement")]
    NotNeighborAdvert(u8),
    /// ICMP Code is not 0 (RFC 4861 §7.1.2).
    #[error("ICMPv6 code {0} is not 0")]
    BadCode(u8),
    /// The ICMPv6 checksum does not verify (RFC 4861 §7.1.2).
    #[error("bad ICMPv6 checksum")]
    BadChecksum,
    /// The target is a multicast address (RFC 4861 §7.1.2).
    #[error("target address is multicast")]
    MulticastTarget,
    /// The Solicited flag is set: not unsolicited; to a multicast
    /// destination also invalid (RFC 4861 §7.1.2).
    #[error("solicited flag set")]
    Solicited,
    /// An option with length 0 (RFC 4861 §7.1.2).
    #[error("neighbour discovery option with length 0")]
    ZeroLengthOption,
    /// No Target Link-Layer Address option for Ethernet (type 2, length 1);
    /// an unsolicited advertisement must carry it (RFC 4861 §4.4, §7.2.6).
    #[error("no Ethernet target link-layer address option")]
    MissingTargetLinkLayerAddr,
    /// The Override flag is clear: valid ND, but not the announcement VRRP
    /// sends, which must replace cached entries (RFC 9568 §6.4.2).
    #[error("override flag clear")]
    NotOverride,
}

/// An unsolicited Neighbor Advertisement announcing that `target` is at
/// `target_mac`.
///
/// ```
/// use vrrp_proto::nd::UnsolicitedNa;
///
/// let na = UnsolicitedNa {
///     target: "2001:db8::10".parse()?,
///     target_mac: [0x00, 0x00, 0x5e, 0x00, 0x02, 0x33], // IPv6 virtual MAC, VRID 51
///     router: true,
/// };
/// let (src, dst) = ("fe80::1".parse()?, "ff02::1".parse()?);
/// let mut msg = [0u8; UnsolicitedNa::LEN];
/// na.emit(&mut msg, src, dst)?;
/// assert_eq!(UnsolicitedNa::parse(&msg, src, dst)?, na);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UnsolicitedNa {
    /// The virtual IPv6 address.
    pub target: Ipv6Addr,
    /// The MAC it is at (the virtual router MAC 00:00:5e:00:02:VRID, or the
    /// interface MAC).
    pub target_mac: [u8; 6],
    /// The Router flag (RFC 9568 §6.4.2 sets it).
    pub router: bool,
}

impl UnsolicitedNa {
    /// The message length: 24 octets plus one 8-octet option.
    pub const LEN: usize = field::LEN;

    /// The length [`emit`](UnsolicitedNa::emit) writes: [`UnsolicitedNa::LEN`].
    pub const fn buffer_len(&self) -> usize {
        Self::LEN
    }

    /// Writes the ICMPv6 message into `buf` (exactly
    /// [`LEN`](UnsolicitedNa::LEN) octets): type 136, code 0, Override set,
    /// Solicited clear, Router as given, the target, and a Target Link-Layer
    /// Address option; the checksum covers the IPv6 pseudo-header of
    /// `src` → `dst` (RFC 4443 §2.3). A raw ICMPv6 socket recomputes it, but
    /// the bytes are right on their own.
    pub fn emit(&self, buf: &mut [u8], src: Ipv6Addr, dst: Ipv6Addr) -> Result<(), EmitError> {
        if buf.len() != Self::LEN {
            return Err(EmitError::BufferLength {
                needed: Self::LEN,
                got: buf.len(),
            });
        }
        buf.fill(0);
        buf[field::TYPE] = ICMPV6_NEIGHBOR_ADVERT;
        buf[field::CODE] = 0;
        buf[field::FLAGS] = FLAG_OVERRIDE | if self.router { FLAG_ROUTER } else { 0 };
        buf[field::TARGET].copy_from_slice(&self.target.octets());
        let opt = &mut buf[field::OPTIONS..field::LEN];
        opt[0] = OPT_TARGET_LL_ADDR;
        opt[1] = 1;
        opt[2..8].copy_from_slice(&self.target_mac);
        let c = icmpv6_sum(buf, src, dst);
        buf[field::CHECKSUM].copy_from_slice(&checksum::finish(c).to_be_bytes());
        Ok(())
    }

    /// Validates an ICMPv6 message received from `src` to `dst` as an
    /// unsolicited Neighbor Advertisement.
    ///
    /// Applies the checks of RFC 4861 §7.1.2 that concern the message
    /// itself (length ≥ 24, code 0, checksum, target not multicast, S clear
    /// for a multicast destination, no zero-length option); the IP hop limit
    /// of 255 is the socket's to check. Also requires what makes it the
    /// announcement VRRP sends: S clear, O set, and an Ethernet Target
    /// Link-Layer Address option. Unknown options are skipped; under
    /// `cfg(fuzzing)` the checksum is not verified.
    pub fn parse(msg: &[u8], src: Ipv6Addr, dst: Ipv6Addr) -> Result<UnsolicitedNa, NdError> {
        if msg.len() < field::MIN_LEN {
            return Err(NdError::Truncated {
                needed: field::MIN_LEN,
                got: msg.len(),
            });
        }
        if msg[field::TYPE] != ICMPV6_NEIGHBOR_ADVERT {
            return Err(NdError::NotNeighborAdvert(msg[field::TYPE]));
        }
        if msg[field::CODE] != 0 {
            return Err(NdError::BadCode(msg[field::CODE]));
        }
        if !cfg!(fuzzing) && !checksum::is_valid(icmpv6_sum(msg, src, dst)) {
            return Err(NdError::BadChecksum);
        }
        let mut t = [0u8; 16];
        t.copy_from_slice(&msg[field::TARGET]);
        let target = Ipv6Addr::from(t);
        if target.is_multicast() {
            return Err(NdError::MulticastTarget);
        }
        let flags = msg[field::FLAGS];
        if flags & FLAG_SOLICITED != 0 {
            return Err(NdError::Solicited);
        }
        let mut target_mac = None;
        let mut rest = &msg[field::OPTIONS..];
        while !rest.is_empty() {
            if rest.len() < 2 {
                return Err(NdError::Truncated {
                    needed: msg.len() - rest.len() + 2,
                    got: msg.len(),
                });
            }
            let len = usize::from(rest[1]) * 8;
            if len == 0 {
                return Err(NdError::ZeroLengthOption);
            }
            let Some(opt) = rest.get(..len) else {
                return Err(NdError::Truncated {
                    needed: msg.len() - rest.len() + len,
                    got: msg.len(),
                });
            };
            if opt[0] == OPT_TARGET_LL_ADDR && len == 8 && target_mac.is_none() {
                let mut mac = [0u8; 6];
                mac.copy_from_slice(&opt[2..8]);
                target_mac = Some(mac);
            }
            rest = &rest[len..];
        }
        let target_mac = target_mac.ok_or(NdError::MissingTargetLinkLayerAddr)?;
        if flags & FLAG_OVERRIDE == 0 {
            return Err(NdError::NotOverride);
        }
        Ok(UnsolicitedNa {
            target,
            target_mac,
            router: flags & FLAG_ROUTER != 0,
        })
    }
}

/// The ICMPv6 sum over the IPv6 pseudo-header and `msg` (RFC 4443 §2.3).
fn icmpv6_sum(msg: &[u8], src: Ipv6Addr, dst: Ipv6Addr) -> u16 {
    let len = u32::try_from(msg.len()).unwrap_or(u32::MAX);
    checksum::combine(&[
        checksum::pseudo_header_v6(src, dst, IP_PROTOCOL_ICMPV6, len),
        checksum::sum(msg),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
    const DST: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

    fn sample() -> (UnsolicitedNa, [u8; 32]) {
        let na = UnsolicitedNa {
            target: Ipv6Addr::new(0xfd00, 0x99, 0, 0, 0, 0, 0, 0x100),
            target_mac: [0, 0, 0x5e, 0, 2, 0x35],
            router: true,
        };
        let mut b = [0u8; 32];
        na.emit(&mut b, SRC, DST).unwrap();
        (na, b)
    }

    /// Recomputes the checksum after a test edits the message.
    fn fix(b: &mut [u8]) {
        b[2..4].copy_from_slice(&[0, 0]);
        let c = checksum::finish(icmpv6_sum(b, SRC, DST));
        b[2..4].copy_from_slice(&c.to_be_bytes());
    }

    #[test]
    fn emit_layout_and_flags() {
        let (na, b) = sample();
        assert_eq!(&b[..2], &[136, 0]);
        assert_eq!(&b[4..8], &[0xa0, 0, 0, 0], "R and O set, S clear");
        assert_eq!(&b[8..24], &na.target.octets());
        assert_eq!(&b[24..32], &[2, 1, 0, 0, 0x5e, 0, 2, 0x35]);
        assert!(checksum::is_valid(icmpv6_sum(&b, SRC, DST)));
        let mut nr = [0u8; 32];
        UnsolicitedNa {
            router: false,
            ..na
        }
        .emit(&mut nr, SRC, DST)
        .unwrap();
        assert_eq!(nr[4], 0x20);
        assert_eq!(
            na.emit(&mut [0u8; 31], SRC, DST),
            Err(EmitError::BufferLength {
                needed: 32,
                got: 31
            })
        );
    }

    #[test]
    fn parse_skips_unknown_options() {
        let (na, b) = sample();
        let mut m = b.to_vec();
        // A nonce option (type 14, 8 octets) before and after.
        m.splice(24..24, [14u8, 1, 1, 2, 3, 4, 5, 6]);
        m.extend_from_slice(&[14, 1, 9, 9, 9, 9, 9, 9]);
        fix(&mut m);
        assert_eq!(UnsolicitedNa::parse(&m, SRC, DST), Ok(na));
    }

    #[test]
    fn every_error_variant() {
        let (_, b) = sample();
        let p = |m: &[u8]| UnsolicitedNa::parse(m, SRC, DST);
        assert_eq!(
            p(&b[..23]),
            Err(NdError::Truncated {
                needed: 24,
                got: 23
            })
        );
        let mut m = b;
        m[0] = 135;
        assert_eq!(p(&m), Err(NdError::NotNeighborAdvert(135)));
        let mut m = b;
        m[1] = 1;
        assert_eq!(p(&m), Err(NdError::BadCode(1)));
        let mut m = b;
        m[31] ^= 1;
        assert_eq!(p(&m), Err(NdError::BadChecksum));
        assert!(
            UnsolicitedNa::parse(&b, DST, SRC).is_ok(),
            "the pseudo-header sum is symmetric in src and dst"
        );
        assert_eq!(
            UnsolicitedNa::parse(&b, SRC, Ipv6Addr::LOCALHOST),
            Err(NdError::BadChecksum)
        );
        let mut m = b;
        m[8] = 0xff;
        fix(&mut m);
        assert_eq!(p(&m), Err(NdError::MulticastTarget));
        let mut m = b;
        m[4] |= 0x40;
        fix(&mut m);
        assert_eq!(p(&m), Err(NdError::Solicited));
        let mut m = b;
        m[25] = 0;
        fix(&mut m);
        assert_eq!(p(&m), Err(NdError::ZeroLengthOption));
        let mut m = b;
        m[25] = 2;
        fix(&mut m);
        assert_eq!(
            p(&m),
            Err(NdError::Truncated {
                needed: 40,
                got: 32
            })
        );
        let mut m = b.to_vec();
        m.push(2);
        fix(&mut m);
        assert_eq!(
            p(&m),
            Err(NdError::Truncated {
                needed: 34,
                got: 33
            })
        );
        let mut m = b;
        m[24] = 1; // a Source Link-Layer Address option instead
        fix(&mut m);
        assert_eq!(p(&m), Err(NdError::MissingTargetLinkLayerAddr));
        let mut m = b[..24].to_vec();
        fix(&mut m);
        assert_eq!(p(&m), Err(NdError::MissingTargetLinkLayerAddr));
        let mut m = b;
        m[4] &= !0x20;
        fix(&mut m);
        assert_eq!(p(&m), Err(NdError::NotOverride));
    }
}
