//! The Internet checksum ([RFC 1071]) and the checksum contexts of VRRP.
//!
//! Every checksum in this crate (VRRP v2 and v3, the IPv4 header, ICMPv6)
//! goes through the one routine here: [`sum`] adds bytes as big-endian 16-bit
//! words in ones' complement arithmetic, [`combine`] adds partial sums,
//! [`pseudo_header_v4`] / [`pseudo_header_v6`] sum the pseudo-headers, and
//! [`finish`] turns a sum into the value written on the wire.
//!
//! A message is intact when the sum over everything the checksum covers,
//! including the checksum field itself, is `0xffff` ([`is_valid`]).
//!
//! [RFC 1071]: https://www.rfc-editor.org/rfc/rfc1071

use core::net::{Ipv4Addr, Ipv6Addr};

/// The IP protocol number of VRRP, 112 ([RFC 9568 §5.1.1.4], [RFC 3768 §5.2.4]);
/// also the IPv6 Next Header value in the pseudo-header.
///
/// [RFC 9568 §5.1.1.4]: https://www.rfc-editor.org/rfc/rfc9568#section-5.1.1.4
/// [RFC 3768 §5.2.4]: https://www.rfc-editor.org/rfc/rfc3768#section-5.2.4
pub const IP_PROTOCOL_VRRP: u8 = 112;

/// The IPv6 Next Header value of ICMPv6, 58.
pub const IP_PROTOCOL_ICMPV6: u8 = 58;

/// Folds a wide accumulator of 16-bit (or 32-bit) words into a 16-bit ones'
/// complement sum. Because 2^16 ≡ 1 (mod 0xffff), adding 32-bit big-endian
/// words and folding gives the same result as adding 16-bit words.
#[inline]
const fn fold(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// The ones' complement sum of `data` taken as big-endian 16-bit words; an
/// odd final byte is padded with a zero byte ([RFC 1071 §1]).
///
/// The result is not complemented: pass it to [`combine`] or [`finish`].
///
/// [RFC 1071 §1]: https://www.rfc-editor.org/rfc/rfc1071#section-1
#[inline]
pub fn sum(data: &[u8]) -> u16 {
    let mut acc: u64 = 0;
    let mut words = data.chunks_exact(4);
    for w in &mut words {
        acc += u64::from(u32::from_be_bytes([w[0], w[1], w[2], w[3]]));
    }
    let rest = words.remainder();
    let mut pairs = rest.chunks_exact(2);
    for p in &mut pairs {
        acc += u64::from(u16::from_be_bytes([p[0], p[1]]));
    }
    if let [last] = pairs.remainder() {
        acc += u64::from(*last) << 8;
    }
    fold(acc)
}

/// Adds partial ones' complement sums ([RFC 1071 §2 (B)], associativity).
///
/// Each part must start at an even offset of the covered data, as the
/// pseudo-header and a message do.
///
/// [RFC 1071 §2 (B)]: https://www.rfc-editor.org/rfc/rfc1071#section-2
#[inline]
pub fn combine(parts: &[u16]) -> u16 {
    let mut acc: u64 = 0;
    for p in parts {
        acc += u64::from(*p);
    }
    fold(acc)
}

/// The checksum to write into a field that was zero while `sum` was taken:
/// the ones' complement of the sum.
#[inline]
pub const fn finish(sum: u16) -> u16 {
    !sum
}

/// True if the sum over all covered data, checksum field included, shows no
/// error (all ones).
#[inline]
pub const fn is_valid(sum: u16) -> bool {
    sum == 0xffff
}

/// The sum of the IPv4 pseudo-header: source, destination, zero, protocol,
/// upper-layer length ([RFC 768], as used by RFC 5798 §5.2.8 for VRRPv3).
///
/// [RFC 768]: https://www.rfc-editor.org/rfc/rfc768
#[inline]
pub fn pseudo_header_v4(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, length: u16) -> u16 {
    let s = src.to_bits();
    let d = dst.to_bits();
    let acc = u64::from(s) + u64::from(d) + u64::from(protocol) + u64::from(length);
    fold(acc)
}

/// The sum of the IPv6 pseudo-header ([RFC 8200 §8.1]): source, destination,
/// 32-bit upper-layer packet length, three zero octets, next header.
///
/// [RFC 8200 §8.1]: https://www.rfc-editor.org/rfc/rfc8200#section-8.1
#[inline]
pub fn pseudo_header_v6(src: Ipv6Addr, dst: Ipv6Addr, next_header: u8, length: u32) -> u16 {
    let s = src.to_bits();
    let d = dst.to_bits();
    let mut acc: u64 = 0;
    for a in [s, d] {
        acc += (a >> 96) as u64 & 0xffff_ffff;
        acc += (a >> 64) as u64 & 0xffff_ffff;
        acc += (a >> 32) as u64 & 0xffff_ffff;
        acc += a as u64 & 0xffff_ffff;
    }
    acc += u64::from(length) + u64::from(next_header);
    fold(acc)
}

/// The IP source and destination of an advertisement: the address family of
/// a VRRP packet is not in the VRRP header, so it comes from here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoints {
    /// VRRPv2, or VRRPv3 over IPv4.
    V4 {
        /// IP source address of the datagram.
        src: Ipv4Addr,
        /// IP destination address (224.0.0.18, or a unicast peer).
        dst: Ipv4Addr,
    },
    /// VRRPv3 over IPv6.
    V6 {
        /// IPv6 source address (the sender's link-local address).
        src: Ipv6Addr,
        /// IPv6 destination address (ff02::12, or a unicast peer).
        dst: Ipv6Addr,
    },
}

impl Endpoints {
    /// The address family of these endpoints.
    pub const fn family(&self) -> Family {
        match self {
            Endpoints::V4 { .. } => Family::V4,
            Endpoints::V6 { .. } => Family::V6,
        }
    }
}

/// An IP address family: the one family type of the workspace (`netif`
/// and `vrrpd` re-export it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// IPv4; addresses are 4 octets.
    V4,
    /// IPv6; addresses are 16 octets.
    V6,
}

impl Family {
    /// The family of `addr`.
    pub const fn of(addr: &core::net::IpAddr) -> Self {
        match addr {
            core::net::IpAddr::V4(_) => Family::V4,
            core::net::IpAddr::V6(_) => Family::V6,
        }
    }

    /// The length of one address of this family in octets.
    pub const fn addr_len(self) -> usize {
        match self {
            Family::V4 => 4,
            Family::V6 => 16,
        }
    }
}

impl core::fmt::Display for Family {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        })
    }
}

/// Whether a VRRPv3-over-IPv4 checksum covers the IPv4 pseudo-header.
///
/// INTEROP: [RFC 5798 §5.2.8] says the checksum includes "a pseudo-header",
/// and keepalived 2.2 and FRR's vrrpd 8.4 compute
/// it that way by default (the golden vectors in `tests/fixtures/` show
/// both). [RFC 9568 §5.2.8] changed the text so that IPv4
/// does *not* use a pseudo-header (as VRRPv2 never did), and holo and
/// RFC 9568 readers follow it. See FRR issue #12390 and keepalived issue
/// #2324. Neither side accepts the other's packets, so the choice is
/// configuration, not code.
///
/// [RFC 5798 §5.2.8]: https://www.rfc-editor.org/rfc/rfc5798#section-5.2.8
/// [RFC 9568 §5.2.8]: https://www.rfc-editor.org/rfc/rfc9568#section-5.2.8
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum V3Ipv4PseudoHeader {
    /// Include the IPv4 pseudo-header (RFC 5798 text; keepalived and FRR
    /// default). The default, because it is what deployed peers send.
    #[default]
    Include,
    /// Checksum over the VRRP message only (RFC 9568 text).
    Exclude,
}

impl core::fmt::Display for V3Ipv4PseudoHeader {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            V3Ipv4PseudoHeader::Include => "with IPv4 pseudo-header (RFC 5798)",
            V3Ipv4PseudoHeader::Exclude => "without pseudo-header (RFC 9568)",
        })
    }
}

/// Which VRRPv3-over-IPv4 checksum forms a receiver accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum V3Ipv4Accept {
    /// Only checksums that include the IPv4 pseudo-header.
    Include,
    /// Only checksums over the VRRP message alone.
    Exclude,
    /// Either form; [`ChecksumOutcome::V3Ipv4`] says which one matched. The
    /// pseudo-header form is tried first; a packet valid under both (the
    /// pseudo-header sum is then ±0) is reported as `Include`.
    #[default]
    Either,
}

impl V3Ipv4Accept {
    const fn allows(self, mode: V3Ipv4PseudoHeader) -> bool {
        matches!(
            (self, mode),
            (V3Ipv4Accept::Either, _)
                | (V3Ipv4Accept::Include, V3Ipv4PseudoHeader::Include)
                | (V3Ipv4Accept::Exclude, V3Ipv4PseudoHeader::Exclude)
        )
    }
}

/// What checksum verification found for an accepted packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChecksumOutcome {
    /// Valid, and the form is fixed by the version and family: VRRPv2 (VRRP
    /// message only, [RFC 3768 §5.3.8]) or VRRPv3 over IPv6 (with the IPv6
    /// pseudo-header, [RFC 9568 §5.2.8]).
    ///
    /// [RFC 3768 §5.3.8]: https://www.rfc-editor.org/rfc/rfc3768#section-5.3.8
    /// [RFC 9568 §5.2.8]: https://www.rfc-editor.org/rfc/rfc9568#section-5.2.8
    Valid,
    /// Valid VRRPv3 over IPv4, computed in this form.
    V3Ipv4(V3Ipv4PseudoHeader),
    /// Not checked: [`ChecksumCtx::verify`] was false (the kernel checked it,
    /// e.g. `IPV6_CHECKSUM`), or the crate was built with `cfg(fuzzing)`.
    NotVerified,
}

impl core::fmt::Display for ChecksumOutcome {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ChecksumOutcome::Valid => f.write_str("valid"),
            ChecksumOutcome::V3Ipv4(mode) => write!(f, "valid, {mode}"),
            ChecksumOutcome::NotVerified => f.write_str("not verified"),
        }
    }
}

/// Everything the VRRP checksum depends on besides the VRRP message, plus the
/// checksum policy.
///
/// ```
/// use core::net::Ipv4Addr;
/// use vrrp_proto::{ChecksumCtx, V3Ipv4Accept, V3Ipv4PseudoHeader};
///
/// let ctx = ChecksumCtx::ipv4(Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(224, 0, 0, 18))
///     .with_v3_ipv4_emit(V3Ipv4PseudoHeader::Exclude)
///     .with_v3_ipv4_accept(V3Ipv4Accept::Either);
/// assert!(ctx.verify);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChecksumCtx {
    /// IP source and destination; they also give the address family.
    pub endpoints: Endpoints,
    /// The form `emit` uses for VRRPv3 over IPv4.
    pub v3_ipv4_emit: V3Ipv4PseudoHeader,
    /// The forms `parse` accepts for VRRPv3 over IPv4.
    pub v3_ipv4_accept: V3Ipv4Accept,
    /// Verify the checksum on parse. Set to false only where something else
    /// already did (an IPv6 raw socket with `IPV6_CHECKSUM` drops bad packets
    /// in the kernel).
    pub verify: bool,
}

impl ChecksumCtx {
    /// A context for IPv4 with the defaults: emit VRRPv3 with the
    /// pseudo-header, accept either form, verify.
    pub const fn ipv4(src: Ipv4Addr, dst: Ipv4Addr) -> Self {
        ChecksumCtx {
            endpoints: Endpoints::V4 { src, dst },
            v3_ipv4_emit: V3Ipv4PseudoHeader::Include,
            v3_ipv4_accept: V3Ipv4Accept::Either,
            verify: true,
        }
    }

    /// A context for IPv6 (the VRRPv3-over-IPv4 settings do not apply).
    pub const fn ipv6(src: Ipv6Addr, dst: Ipv6Addr) -> Self {
        ChecksumCtx {
            endpoints: Endpoints::V6 { src, dst },
            v3_ipv4_emit: V3Ipv4PseudoHeader::Include,
            v3_ipv4_accept: V3Ipv4Accept::Either,
            verify: true,
        }
    }

    /// Sets the form `emit` uses for VRRPv3 over IPv4.
    pub const fn with_v3_ipv4_emit(mut self, mode: V3Ipv4PseudoHeader) -> Self {
        self.v3_ipv4_emit = mode;
        self
    }

    /// Sets the forms `parse` accepts for VRRPv3 over IPv4.
    pub const fn with_v3_ipv4_accept(mut self, accept: V3Ipv4Accept) -> Self {
        self.v3_ipv4_accept = accept;
        self
    }

    /// Sets whether `parse` verifies the checksum.
    pub const fn with_verify(mut self, verify: bool) -> Self {
        self.verify = verify;
        self
    }

    /// The address family of the endpoints.
    pub const fn family(&self) -> Family {
        self.endpoints.family()
    }

    /// The sum of the pseudo-header a VRRPv3 message of `len` octets is
    /// checksummed with in `mode`; 0 when there is none.
    #[inline]
    pub(crate) fn v3_pseudo_sum(&self, len: usize, mode: V3Ipv4PseudoHeader) -> u16 {
        match self.endpoints {
            Endpoints::V4 { src, dst } => match mode {
                V3Ipv4PseudoHeader::Include => {
                    // A VRRP message fits an IPv4 datagram, so len < 2^16;
                    // saturate rather than truncate if a caller lies.
                    let len = u16::try_from(len).unwrap_or(u16::MAX);
                    pseudo_header_v4(src, dst, IP_PROTOCOL_VRRP, len)
                }
                V3Ipv4PseudoHeader::Exclude => 0,
            },
            Endpoints::V6 { src, dst } => {
                let len = u32::try_from(len).unwrap_or(u32::MAX);
                pseudo_header_v6(src, dst, IP_PROTOCOL_VRRP, len)
            }
        }
    }

    /// Verifies a VRRPv3 message whose own sum (checksum field included) is
    /// `msg_sum`; `None` if no accepted form matches.
    #[inline]
    pub(crate) fn check_v3(&self, len: usize, msg_sum: u16) -> Option<ChecksumOutcome> {
        match self.endpoints {
            Endpoints::V6 { .. } => {
                let ph = self.v3_pseudo_sum(len, V3Ipv4PseudoHeader::Include);
                is_valid(combine(&[ph, msg_sum])).then_some(ChecksumOutcome::Valid)
            }
            Endpoints::V4 { .. } => {
                for mode in [V3Ipv4PseudoHeader::Include, V3Ipv4PseudoHeader::Exclude] {
                    if self.v3_ipv4_accept.allows(mode) {
                        let ph = self.v3_pseudo_sum(len, mode);
                        if is_valid(combine(&[ph, msg_sum])) {
                            return Some(ChecksumOutcome::V3Ipv4(mode));
                        }
                    }
                }
                None
            }
        }
    }

    /// True if verification is to run: `verify` is set and this is not a
    /// fuzzing build (smoltcp's convention, so the fuzzer reaches past the
    /// checksum).
    #[inline]
    pub(crate) const fn should_verify(&self) -> bool {
        self.verify && !cfg!(fuzzing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 1071 §3 worked example: 00 01 f2 03 f4 f5 f6 f7 sums to 0xddf2.
    #[test]
    fn rfc_1071_example() {
        assert_eq!(
            sum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            0xddf2
        );
    }

    fn naive(data: &[u8]) -> u16 {
        let mut acc: u32 = 0;
        for chunk in data.chunks(2) {
            let w = u16::from_be_bytes([chunk[0], *chunk.get(1).unwrap_or(&0)]);
            acc += u32::from(w);
            acc = (acc & 0xffff) + (acc >> 16);
        }
        acc as u16
    }

    #[test]
    fn sum_matches_a_naive_word_loop_for_every_length_and_alignment() {
        let data: alloc::vec::Vec<u8> = (0..300u32).map(|i| (i * 151 + 7) as u8).collect();
        for start in 0..4 {
            for end in start..data.len() {
                let s = &data[start..end];
                // ±0: 0x0000 and 0xffff are the same ones' complement number.
                let (a, b) = (sum(s), naive(s));
                assert!(
                    a == b || (a | b) == 0xffff && (a == 0 || b == 0),
                    "{start}..{end}"
                );
            }
        }
        assert_eq!(sum(&[0xff; 64]), 0xffff);
    }

    #[test]
    fn combine_is_the_sum_of_the_concatenation() {
        let a = [0x12u8, 0x34, 0xff, 0xff, 0x80, 0x01];
        let b = [0xfeu8, 0xdc, 0x00, 0x09];
        let mut ab = alloc::vec::Vec::from(a);
        ab.extend_from_slice(&b);
        assert_eq!(combine(&[sum(&a), sum(&b)]), sum(&ab));
    }

    #[test]
    fn pseudo_headers_match_their_byte_layouts() {
        let s4 = Ipv4Addr::new(192, 0, 2, 1);
        let d4 = Ipv4Addr::new(224, 0, 0, 18);
        let mut b = [0u8; 12];
        b[0..4].copy_from_slice(&s4.octets());
        b[4..8].copy_from_slice(&d4.octets());
        b[9] = 112;
        b[10..12].copy_from_slice(&20u16.to_be_bytes());
        assert_eq!(pseudo_header_v4(s4, d4, 112, 20), sum(&b));

        let s6: Ipv6Addr = "fe80::1:2:3:4".parse().unwrap();
        let d6: Ipv6Addr = "ff02::12".parse().unwrap();
        let mut b = [0u8; 40];
        b[0..16].copy_from_slice(&s6.octets());
        b[16..32].copy_from_slice(&d6.octets());
        b[32..36].copy_from_slice(&0x0001_0020u32.to_be_bytes());
        b[39] = 112;
        assert_eq!(pseudo_header_v6(s6, d6, 112, 0x0001_0020), sum(&b));
    }

    #[test]
    fn outcomes_print_what_a_peer_sends() {
        use alloc::string::ToString;
        let o = ChecksumOutcome::V3Ipv4(V3Ipv4PseudoHeader::Exclude);
        assert_eq!(o.to_string(), "valid, without pseudo-header (RFC 9568)");
        assert_eq!(ChecksumOutcome::NotVerified.to_string(), "not verified");
    }

    #[test]
    fn accept_policy_table() {
        use V3Ipv4Accept as A;
        use V3Ipv4PseudoHeader as M;
        assert!(A::Either.allows(M::Include) && A::Either.allows(M::Exclude));
        assert!(A::Include.allows(M::Include) && !A::Include.allows(M::Exclude));
        assert!(!A::Exclude.allows(M::Include) && A::Exclude.allows(M::Exclude));
    }
}
