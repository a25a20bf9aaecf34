//! [`Packet`]: a zero-copy view of a VRRP message (the IP payload).
//!
//! The view reads and writes fields in place and never allocates. After
//! [`Packet::new_checked`] (or [`Packet::check_len`]) succeeds, no getter
//! panics; before, getters of the 8-octet fixed header may panic on a shorter
//! buffer, as with any `new_unchecked` view.

use core::net::{Ipv4Addr, Ipv6Addr};

use crate::checksum::{self, ChecksumCtx, ChecksumOutcome, Family};
use crate::codes::{AuthType, MessageType, RawVersion};
use crate::error::ParseError;
use crate::types::{Interval, Version};

// VRRPv3 ([RFC 9568 §5.1]), IPv4 or IPv6 addresses:
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |Version| Type  | Virtual Rtr ID|   Priority    |Count IPvX Addr|
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |(rsvd) |     Max Adver Int     |          Checksum             |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                                                               |
// +                                                               +
// |                       IPvX Address(es)                        |
// +                                                               +
// |                                                               |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// VRRPv2 ([RFC 3768 §5.1]), IPv4 only; octets 4 and 5 differ and 8 octets of
// authentication data follow the addresses:
//
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |Version| Type  | Virtual Rtr ID|   Priority    | Count IP Addrs|
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |   Auth Type   |   Adver Int   |          Checksum             |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                         IP Address (1)                        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                            .........                          |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                         IP Address (n)                        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                     Authentication Data (1)                   |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                     Authentication Data (2)                   |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// [RFC 9568 §5.1]: https://www.rfc-editor.org/rfc/rfc9568#section-5.1
// [RFC 3768 §5.1]: https://www.rfc-editor.org/rfc/rfc3768#section-5.1
mod field {
    /// Version (high nibble) and Type (low nibble).
    pub(super) const VER_TYPE: usize = 0;
    /// Virtual Rtr ID.
    pub(super) const VRID: usize = 1;
    /// Priority.
    pub(super) const PRIORITY: usize = 2;
    /// Count IPvX Addr.
    pub(super) const COUNT: usize = 3;
    /// v2: Auth Type. v3: rsvd (high nibble) and the top 4 bits of Max Adver Int.
    pub(super) const AUTH_TYPE_V2: usize = 4;
    /// v2: Adver Int (seconds).
    pub(super) const ADVER_INT_V2: usize = 5;
    /// v3: rsvd + Max Adver Int (12 bits, centiseconds), big-endian.
    pub(super) const RSVD_MAX_ADVER_V3: core::ops::Range<usize> = 4..6;
    /// Checksum, big-endian.
    pub(super) const CHECKSUM: core::ops::Range<usize> = 6..8;
    /// First address.
    pub(super) const ADDRS: usize = 8;
    /// v2: length of the authentication data after the addresses.
    pub(super) const AUTH_DATA_LEN: usize = 8;
    /// Length of the fixed header.
    pub(super) const HEADER_LEN: usize = 8;
}

/// The length of the fixed VRRP header, before the addresses.
pub const HEADER_LEN: usize = field::HEADER_LEN;
/// The length of the VRRPv2 authentication data after the addresses.
pub const AUTH_DATA_LEN: usize = field::AUTH_DATA_LEN;

/// The length of a VRRP message of `version` with `count` addresses of
/// `family`.
pub const fn message_len(version: Version, family: Family, count: usize) -> usize {
    let trailer = match version {
        Version::V2 => field::AUTH_DATA_LEN,
        Version::V3 => 0,
    };
    field::HEADER_LEN + count * family.addr_len() + trailer
}

/// A zero-copy view of a VRRP message in a buffer.
///
/// ```
/// use vrrp_proto::{Packet, RawVersion};
///
/// // VRRPv3, VRID 51, priority 100, one address, interval 100 cs.
/// let bytes = [0x31, 51, 100, 1, 0x00, 100, 0x00, 0x00, 192, 0, 2, 1];
/// let pkt = Packet::new_checked(&bytes[..])?;
/// assert_eq!(pkt.version(), RawVersion::V3);
/// assert_eq!(pkt.vrid(), 51);
/// assert_eq!(pkt.max_adver_int(), 100);
/// assert_eq!(pkt.addrs_v4().next(), Some("192.0.2.1".parse()?));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking anything.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps a buffer after [`check_len`](Packet::check_len).
    pub fn new_checked(buffer: T) -> Result<Packet<T>, ParseError> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the buffer holds the fixed header and that its length is
    /// what the version and Count field say, for at least one address family
    /// the version allows (the family itself is not on the wire):
    ///
    /// * shorter than 8 octets, or shorter than the header says with the
    ///   smallest address size: [`ParseError::Truncated`];
    /// * VRRPv2 must be exactly 8 + 4·count + 8 octets, VRRPv3 exactly
    ///   8 + 4·count or 8 + 16·count: else [`ParseError::CountMismatch`];
    /// * an unknown version is only checked for the fixed header (its
    ///   layout is unknown; [`Advert::parse`](crate::Advert::parse) rejects it).
    ///
    /// Afterwards no getter panics.
    #[inline]
    pub fn check_len(&self) -> Result<(), ParseError> {
        let len = self.buffer.as_ref().len();
        if len < field::HEADER_LEN {
            return Err(ParseError::Truncated {
                needed: field::HEADER_LEN,
                got: len,
            });
        }
        let count = usize::from(self.count());
        match self.version() {
            RawVersion::V2 => {
                let needed = message_len(Version::V2, Family::V4, count);
                if len < needed {
                    Err(ParseError::Truncated { needed, got: len })
                } else if len > needed {
                    Err(ParseError::CountMismatch {
                        count: self.count(),
                        len,
                    })
                } else {
                    Ok(())
                }
            }
            RawVersion::V3 => {
                let v4 = message_len(Version::V3, Family::V4, count);
                let v6 = message_len(Version::V3, Family::V6, count);
                if len < v4 {
                    Err(ParseError::Truncated {
                        needed: v4,
                        got: len,
                    })
                } else if len != v4 && len != v6 {
                    Err(ParseError::CountMismatch {
                        count: self.count(),
                        len,
                    })
                } else {
                    Ok(())
                }
            }
            RawVersion::Unknown(_) => Ok(()),
        }
    }

    /// Checks the length for a known `family` (taken from the IP header):
    /// the exact form of [`check_len`](Packet::check_len) that
    /// [`Advert::parse`](crate::Advert::parse) uses. Fails with
    /// [`ParseError::BadVersion`] for an unknown version and
    /// [`ParseError::V2OverIpv6`] for VRRPv2 with [`Family::V6`].
    #[inline]
    pub fn check_len_for(&self, family: Family) -> Result<Version, ParseError> {
        let len = self.buffer.as_ref().len();
        if len < field::HEADER_LEN {
            return Err(ParseError::Truncated {
                needed: field::HEADER_LEN,
                got: len,
            });
        }
        let version = match Version::try_from(self.version()) {
            Ok(v) => v,
            Err(x) => return Err(ParseError::BadVersion(x)),
        };
        if version == Version::V2 && family == Family::V6 {
            return Err(ParseError::V2OverIpv6);
        }
        let needed = message_len(version, family, usize::from(self.count()));
        if len < needed {
            Err(ParseError::Truncated { needed, got: len })
        } else if len > needed {
            Err(ParseError::CountMismatch {
                count: self.count(),
                len,
            })
        } else {
            Ok(version)
        }
    }

    /// Unwraps the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The whole message as bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// The length of the message in octets.
    pub fn len(&self) -> usize {
        self.buffer.as_ref().len()
    }

    /// True if the buffer is empty (never after `check_len`).
    pub fn is_empty(&self) -> bool {
        self.buffer.as_ref().is_empty()
    }

    /// The Version field.
    #[inline]
    pub fn version(&self) -> RawVersion {
        RawVersion::from(self.buffer.as_ref()[field::VER_TYPE] >> 4)
    }

    /// The Type field.
    #[inline]
    pub fn msg_type(&self) -> MessageType {
        MessageType::from(self.buffer.as_ref()[field::VER_TYPE] & 0x0f)
    }

    /// The Virtual Rtr ID field, unvalidated (0 is possible here).
    #[inline]
    pub fn vrid(&self) -> u8 {
        self.buffer.as_ref()[field::VRID]
    }

    /// The Priority field.
    #[inline]
    pub fn priority(&self) -> u8 {
        self.buffer.as_ref()[field::PRIORITY]
    }

    /// The Count IPvX Addr field.
    #[inline]
    pub fn count(&self) -> u8 {
        self.buffer.as_ref()[field::COUNT]
    }

    /// VRRPv2: the Auth Type field (octet 4).
    #[inline]
    pub fn auth_type(&self) -> AuthType {
        AuthType::from(self.buffer.as_ref()[field::AUTH_TYPE_V2])
    }

    /// VRRPv2: the Adver Int field in seconds (octet 5).
    #[inline]
    pub fn adver_int(&self) -> u8 {
        self.buffer.as_ref()[field::ADVER_INT_V2]
    }

    /// VRRPv3: the 4 reserved bits before Max Adver Int. RFC 9568 §5.2.6:
    /// "MUST be set to zero on transmission and ignored on reception."
    #[inline]
    pub fn rsvd(&self) -> u8 {
        self.buffer.as_ref()[field::RSVD_MAX_ADVER_V3.start] >> 4
    }

    /// VRRPv3: the 12-bit Max Adver Int field in centiseconds.
    #[inline]
    pub fn max_adver_int(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[4], b[5]]) & 0x0fff
    }

    /// The advertisement interval for the packet's version: Adver Int
    /// seconds (v2) or Max Adver Int centiseconds (v3); `None` for zero or an
    /// unknown version.
    #[inline]
    pub fn interval(&self) -> Option<Interval> {
        match self.version() {
            RawVersion::V2 => Interval::from_secs_v2(self.adver_int()),
            RawVersion::V3 => Interval::from_centis(self.max_adver_int()),
            RawVersion::Unknown(_) => None,
        }
    }

    /// The Checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[field::CHECKSUM.start], b[field::CHECKSUM.start + 1]])
    }

    /// The octets after the fixed header: addresses, then (v2) the
    /// authentication data.
    #[inline]
    fn body(&self) -> &[u8] {
        self.buffer.as_ref().get(field::ADDRS..).unwrap_or(&[])
    }

    /// The address octets for `family`, clipped to the buffer.
    #[inline]
    fn addr_bytes(&self, family: Family) -> &[u8] {
        let body = self.body();
        let want = usize::from(self.count()) * family.addr_len();
        &body[..want.min(body.len())]
    }

    /// The addresses read as IPv4, straight from the buffer. Yields at most
    /// Count addresses, fewer if the buffer is short.
    pub fn addrs_v4(&self) -> AddrsV4<'_> {
        AddrsV4 {
            chunks: self.addr_bytes(Family::V4).chunks_exact(4),
        }
    }

    /// The addresses read as IPv6, straight from the buffer. Yields at most
    /// Count addresses, fewer if the buffer is short.
    pub fn addrs_v6(&self) -> AddrsV6<'_> {
        AddrsV6 {
            chunks: self.addr_bytes(Family::V6).chunks_exact(16),
        }
    }

    /// VRRPv2: the 8 octets of Authentication Data after the addresses, if
    /// the buffer holds them.
    #[inline]
    pub fn auth_data(&self) -> Option<[u8; 8]> {
        let start = usize::from(self.count()) * 4;
        let b = self.body().get(start..start + field::AUTH_DATA_LEN)?;
        let mut out = [0u8; 8];
        out.copy_from_slice(b);
        Some(out)
    }

    /// The address family the length implies for a VRRPv3 packet, if only
    /// one fits (a count of 0 fits both).
    pub fn implied_family(&self) -> Option<Family> {
        let len = self.len();
        let count = usize::from(self.count());
        let v4 = len == message_len(Version::V3, Family::V4, count);
        let v6 = len == message_len(Version::V3, Family::V6, count);
        match (v4, v6) {
            (true, false) => Some(Family::V4),
            (false, true) => Some(Family::V6),
            _ => None,
        }
    }

    /// Verifies the checksum as the version and `ctx` require:
    ///
    /// * VRRPv2: over the VRRP message only ([RFC 3768 §5.3.8]);
    /// * VRRPv3 over IPv6: with the IPv6 pseudo-header ([RFC 9568 §5.2.8]);
    /// * VRRPv3 over IPv4: with and/or without the IPv4 pseudo-header, as
    ///   [`ChecksumCtx::v3_ipv4_accept`] allows; the outcome says which.
    ///
    /// With `ctx.verify == false`, or under `cfg(fuzzing)`, returns
    /// [`ChecksumOutcome::NotVerified`] without reading the packet.
    ///
    /// [RFC 3768 §5.3.8]: https://www.rfc-editor.org/rfc/rfc3768#section-5.3.8
    /// [RFC 9568 §5.2.8]: https://www.rfc-editor.org/rfc/rfc9568#section-5.2.8
    #[inline]
    pub fn verify_checksum(&self, ctx: &ChecksumCtx) -> Result<ChecksumOutcome, ParseError> {
        if !ctx.should_verify() {
            return Ok(ChecksumOutcome::NotVerified);
        }
        let bytes = self.buffer.as_ref();
        let msg_sum = checksum::sum(bytes);
        let outcome = match self.version() {
            RawVersion::V2 => checksum::is_valid(msg_sum).then_some(ChecksumOutcome::Valid),
            RawVersion::V3 => ctx.check_v3(bytes.len(), msg_sum),
            RawVersion::Unknown(x) => return Err(ParseError::BadVersion(x)),
        };
        outcome.ok_or(ParseError::BadChecksum)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the Version field (low 4 bits of the value are used).
    #[inline]
    pub fn set_version(&mut self, value: RawVersion) {
        let b = &mut self.buffer.as_mut()[field::VER_TYPE];
        *b = (*b & 0x0f) | (u8::from(value) << 4);
    }

    /// Sets the Type field (low 4 bits of the value are used).
    #[inline]
    pub fn set_msg_type(&mut self, value: MessageType) {
        let b = &mut self.buffer.as_mut()[field::VER_TYPE];
        *b = (*b & 0xf0) | (u8::from(value) & 0x0f);
    }

    /// Sets the Virtual Rtr ID field.
    #[inline]
    pub fn set_vrid(&mut self, value: u8) {
        self.buffer.as_mut()[field::VRID] = value;
    }

    /// Sets the Priority field.
    #[inline]
    pub fn set_priority(&mut self, value: u8) {
        self.buffer.as_mut()[field::PRIORITY] = value;
    }

    /// Sets the Count IPvX Addr field.
    #[inline]
    pub fn set_count(&mut self, value: u8) {
        self.buffer.as_mut()[field::COUNT] = value;
    }

    /// VRRPv2: sets the Auth Type field.
    #[inline]
    pub fn set_auth_type(&mut self, value: AuthType) {
        self.buffer.as_mut()[field::AUTH_TYPE_V2] = u8::from(value);
    }

    /// VRRPv2: sets the Adver Int field (seconds).
    #[inline]
    pub fn set_adver_int(&mut self, secs: u8) {
        self.buffer.as_mut()[field::ADVER_INT_V2] = secs;
    }

    /// VRRPv3: sets the reserved bits (low 4 bits of the value are used).
    /// RFC 9568 §5.2.6: they "MUST be set to zero on transmission".
    #[inline]
    pub fn set_rsvd(&mut self, value: u8) {
        let b = &mut self.buffer.as_mut()[field::RSVD_MAX_ADVER_V3.start];
        *b = (*b & 0x0f) | (value << 4);
    }

    /// VRRPv3: sets Max Adver Int (low 12 bits of the value are used),
    /// keeping the reserved bits.
    #[inline]
    pub fn set_max_adver_int(&mut self, centis: u16) {
        let rsvd = self.rsvd();
        let v = (u16::from(rsvd) << 12) | (centis & 0x0fff);
        self.buffer.as_mut()[field::RSVD_MAX_ADVER_V3].copy_from_slice(&v.to_be_bytes());
    }

    /// Sets the Checksum field.
    #[inline]
    pub fn set_checksum(&mut self, value: u16) {
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&value.to_be_bytes());
    }

    /// Writes IPv4 address `index`. Returns false (and writes nothing) if
    /// the buffer is too short for it.
    pub fn set_addr_v4(&mut self, index: usize, addr: Ipv4Addr) -> bool {
        self.set_addr_bytes(index, &addr.octets())
    }

    /// Writes IPv6 address `index`. Returns false (and writes nothing) if
    /// the buffer is too short for it.
    pub fn set_addr_v6(&mut self, index: usize, addr: Ipv6Addr) -> bool {
        self.set_addr_bytes(index, &addr.octets())
    }

    fn set_addr_bytes(&mut self, index: usize, octets: &[u8]) -> bool {
        let start = field::ADDRS + index * octets.len();
        match self.buffer.as_mut().get_mut(start..start + octets.len()) {
            Some(dst) => {
                dst.copy_from_slice(octets);
                true
            }
            None => false,
        }
    }

    /// VRRPv2: writes the 8 octets of Authentication Data after Count IPv4
    /// addresses. Returns false (and writes nothing) if the buffer is too
    /// short.
    pub fn set_auth_data(&mut self, data: [u8; 8]) -> bool {
        let start = field::ADDRS + usize::from(self.count()) * 4;
        match self
            .buffer
            .as_mut()
            .get_mut(start..start + field::AUTH_DATA_LEN)
        {
            Some(dst) => {
                dst.copy_from_slice(&data);
                true
            }
            None => false,
        }
    }

    /// Computes and writes the checksum for the version in the header, in
    /// the form `ctx` asks for ([`ChecksumCtx::v3_ipv4_emit`] for VRRPv3 over
    /// IPv4). Does nothing for an unknown version.
    pub fn fill_checksum(&mut self, ctx: &ChecksumCtx) {
        self.set_checksum(0);
        let bytes = self.buffer.as_ref();
        let msg = checksum::sum(bytes);
        let total = match self.version() {
            RawVersion::V2 => msg,
            RawVersion::V3 => {
                let ph = ctx.v3_pseudo_sum(bytes.len(), ctx.v3_ipv4_emit);
                checksum::combine(&[ph, msg])
            }
            RawVersion::Unknown(_) => return,
        };
        self.set_checksum(checksum::finish(total));
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// Iterator over the IPv4 addresses of a [`Packet`], read in place.
#[derive(Debug, Clone)]
pub struct AddrsV4<'a> {
    chunks: core::slice::ChunksExact<'a, u8>,
}

impl Iterator for AddrsV4<'_> {
    type Item = Ipv4Addr;

    #[inline]
    fn next(&mut self) -> Option<Ipv4Addr> {
        let c = self.chunks.next()?;
        Some(Ipv4Addr::new(c[0], c[1], c[2], c[3]))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.chunks.size_hint()
    }
}

impl ExactSizeIterator for AddrsV4<'_> {}

/// Iterator over the IPv6 addresses of a [`Packet`], read in place.
#[derive(Debug, Clone)]
pub struct AddrsV6<'a> {
    chunks: core::slice::ChunksExact<'a, u8>,
}

impl Iterator for AddrsV6<'_> {
    type Item = Ipv6Addr;

    #[inline]
    fn next(&mut self) -> Option<Ipv6Addr> {
        let c = self.chunks.next()?;
        let mut o = [0u8; 16];
        o.copy_from_slice(c);
        Some(Ipv6Addr::from(o))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.chunks.size_hint()
    }
}

impl ExactSizeIterator for AddrsV6<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    // VRRPv3 IPv4, VRID 51, prio 100, 1 addr, 100 cs, checksum 0 (not verified).
    const V3: [u8; 12] = [0x31, 51, 100, 1, 0x00, 100, 0x00, 0x00, 192, 0, 2, 1];

    #[test]
    fn getters_read_the_rfc_offsets() {
        let p = Packet::new_checked(&V3[..]).unwrap();
        assert_eq!(p.version(), RawVersion::V3);
        assert_eq!(p.msg_type(), MessageType::Advertisement);
        assert_eq!((p.vrid(), p.priority(), p.count()), (51, 100, 1));
        assert_eq!((p.rsvd(), p.max_adver_int()), (0, 100));
        assert_eq!(p.interval(), Interval::from_centis(100));
        assert_eq!(p.implied_family(), Some(Family::V4));
        assert_eq!(
            p.addrs_v4().collect::<alloc::vec::Vec<_>>(),
            [Ipv4Addr::new(192, 0, 2, 1)]
        );
        assert_eq!(p.addrs_v6().len(), 0);
    }

    #[test]
    fn setters_rebuild_the_same_bytes() {
        let mut buf = [0u8; 12];
        let mut p = Packet::new_unchecked(&mut buf[..]);
        p.set_version(RawVersion::V3);
        p.set_msg_type(MessageType::Advertisement);
        p.set_vrid(51);
        p.set_priority(100);
        p.set_count(1);
        p.set_max_adver_int(100);
        assert!(p.set_addr_v4(0, Ipv4Addr::new(192, 0, 2, 1)));
        assert!(!p.set_addr_v4(1, Ipv4Addr::new(192, 0, 2, 2)));
        assert_eq!(buf, V3);
    }

    #[test]
    fn rsvd_and_max_adver_int_do_not_clobber_each_other() {
        let mut buf = V3;
        let mut p = Packet::new_unchecked(&mut buf[..]);
        p.set_rsvd(0xf);
        p.set_max_adver_int(0xfff);
        assert_eq!((p.rsvd(), p.max_adver_int()), (0xf, 0xfff));
        p.set_max_adver_int(0x123);
        assert_eq!((p.rsvd(), p.max_adver_int()), (0xf, 0x123));
        p.set_rsvd(0);
        assert_eq!((p.rsvd(), p.max_adver_int()), (0, 0x123));
    }

    #[test]
    fn check_len_reports_truncation_and_count_mismatch() {
        for len in 0..8 {
            assert_eq!(
                Packet::new_checked(&V3[..len]).unwrap_err(),
                ParseError::Truncated {
                    needed: 8,
                    got: len
                }
            );
        }
        for len in 8..12 {
            assert_eq!(
                Packet::new_checked(&V3[..len]).unwrap_err(),
                ParseError::Truncated {
                    needed: 12,
                    got: len
                }
            );
        }
        let mut long = [0u8; 13];
        long[..12].copy_from_slice(&V3);
        assert_eq!(
            Packet::new_checked(&long[..]).unwrap_err(),
            ParseError::CountMismatch { count: 1, len: 13 }
        );
        // 8 + 16: one IPv6 address is fine for v3 without a family.
        let v6 = [&V3[..8], &[0u8; 16][..]].concat();
        let p = Packet::new_checked(&v6[..]).unwrap();
        assert_eq!(p.implied_family(), Some(Family::V6));
        assert_eq!(p.check_len_for(Family::V6), Ok(Version::V3));
        assert_eq!(
            p.check_len_for(Family::V4),
            Err(ParseError::CountMismatch { count: 1, len: 24 })
        );
        assert_eq!(
            Packet::new_unchecked(&V3[..]).check_len_for(Family::V6),
            Err(ParseError::Truncated {
                needed: 24,
                got: 12
            })
        );
    }

    #[test]
    fn getters_never_panic_after_check_len_on_any_short_buffer() {
        // Exhaustive over the first octet (version/type) and count, for every
        // length up to 8 + 255*16 + 8 in coarse steps plus the edges.
        let mut buf = alloc::vec![0u8; 8 + 255 * 16 + 8];
        for ver_type in [0x21u8, 0x31, 0x41, 0x01, 0xff] {
            for count in [0u8, 1, 2, 17, 255] {
                for len in (0..buf.len()).step_by(7).chain([12, 16, 24, 40]) {
                    buf[0] = ver_type;
                    buf[3] = count;
                    let b = &buf[..len];
                    if let Ok(p) = Packet::new_checked(b) {
                        let _ = (p.version(), p.msg_type(), p.vrid(), p.priority());
                        let _ = (p.auth_type(), p.adver_int(), p.rsvd(), p.max_adver_int());
                        let _ = (
                            p.checksum(),
                            p.interval(),
                            p.implied_family(),
                            p.auth_data(),
                        );
                        assert!(p.addrs_v4().count() <= usize::from(count));
                        assert!(p.addrs_v6().count() <= usize::from(count));
                        let _ = p.check_len_for(Family::V4);
                        let _ = p.check_len_for(Family::V6);
                    }
                }
            }
        }
    }
}
