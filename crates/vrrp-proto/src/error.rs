//! Why a VRRP advertisement was rejected ([`ParseError`]) or could not be
//! built ([`EmitError`]).

/// A received VRRP packet that must be discarded, one variant per rule.
///
/// These are the receive checks that need nothing but the packet and its IP
/// addresses ([RFC 9568 §7.1], [RFC 3768 §7.1]). Checks against local
/// configuration (VRID match, address list, interval mismatch in v2, IP TTL
/// of 255) belong to the state machine and the socket layer.
///
/// [RFC 9568 §7.1]: https://www.rfc-editor.org/rfc/rfc9568#section-7.1
/// [RFC 3768 §7.1]: https://www.rfc-editor.org/rfc/rfc3768#section-7.1
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The packet ends before its fixed fields, addresses (and, in v2,
    /// authentication data) do. RFC 9568 §7.1: the receiver "MUST verify that
    /// the received packet contains the complete VRRP packet (including fixed
    /// fields, and IPvX address(es))".
    #[error("truncated VRRP packet: needed {needed} octets, got {got}")]
    Truncated {
        /// Octets the header says the packet has.
        needed: usize,
        /// Octets present.
        got: usize,
    },
    /// The packet is longer than its Count IPvX Addrs field allows: the count
    /// does not describe the addresses present (RFC 9568 §5.2.5, §7.1;
    /// RFC 3768 §5.3.5, §7.1).
    #[error("address count {count} does not match the packet length {len}")]
    CountMismatch {
        /// The Count IPvX Addrs field.
        count: u8,
        /// The packet length in octets.
        len: usize,
    },
    /// Version is neither 2 nor 3. RFC 9568 §7.1: "MUST verify that the VRRP
    /// version is 3"; RFC 3768 §7.1 likewise for 2.
    #[error("unknown VRRP version {0}")]
    BadVersion(u8),
    /// A VRRPv2 packet over IPv6. VRRPv2 is defined for IPv4 only
    /// (RFC 3768 §1; RFC 9568 §1 introduces IPv6).
    #[error("VRRPv2 is IPv4 only, received over IPv6")]
    V2OverIpv6,
    /// Type is not 1 (ADVERTISEMENT). RFC 9568 §5.2.2: "Packets with unknown
    /// type MUST be discarded" (same in RFC 3768 §5.3.2).
    #[error("unknown VRRP message type {0}")]
    BadType(u8),
    /// VRID 0. RFC 9568 §5.2.3 and RFC 3768 §5.3.3: the VRID is in the range
    /// 1-255.
    #[error("VRID 0 is not a valid virtual router identifier")]
    VridZero,
    /// The checksum does not verify in any accepted form. RFC 9568 §7.1:
    /// "MUST verify the VRRP checksum"; RFC 3768 §7.1 likewise.
    #[error("bad VRRP checksum")]
    BadChecksum,
    /// Advertisement interval 0: no valid interval is zero (RFC 9568 §5.2.7,
    /// Max Adver Int; RFC 3768 §5.3.7, Adver Int, "default 1 second"); a zero
    /// interval would make Master_Down_Interval depend on Skew_Time alone.
    #[error("advertisement interval is zero")]
    IntervalZero,
    /// A VRRPv2 Auth Type other than 0, 1 or 2. RFC 3768 §5.3.6: "A packet
    /// with unknown authentication type ... MUST be discarded."
    #[error("unknown VRRPv2 authentication type {0}")]
    UnknownAuthType(u8),
    /// VRRPv2 Auth Type 2, IP Authentication Header (RFC 2338 §5.3.6.3),
    /// which RFC 3768 §5.3.6 removed and this crate does not implement. It is
    /// recognised so that the operator learns why a peer is ignored.
    #[error("VRRPv2 IP Authentication Header (auth type 2) is not supported")]
    AhUnsupported,
}

impl ParseError {
    /// A stable snake_case name for the rule, for counters and metric
    /// labels (e.g. `vrrp_discarded_total{reason="bad_checksum"}`).
    pub const fn reason(&self) -> &'static str {
        match self {
            ParseError::Truncated { .. } => "truncated",
            ParseError::CountMismatch { .. } => "count_mismatch",
            ParseError::BadVersion(_) => "bad_version",
            ParseError::V2OverIpv6 => "v2_over_ipv6",
            ParseError::BadType(_) => "bad_type",
            ParseError::VridZero => "vrid_zero",
            ParseError::BadChecksum => "bad_checksum",
            ParseError::IntervalZero => "interval_zero",
            ParseError::UnknownAuthType(_) => "unknown_auth_type",
            ParseError::AhUnsupported => "ah_unsupported",
        }
    }
}

/// An [`Advert`](crate::Advert) that cannot be encoded as asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum EmitError {
    /// VRRPv2 carries IPv4 addresses only (RFC 3768 §1, §5.3.9).
    #[error("VRRPv2 cannot carry IPv6 addresses")]
    V2WithIpv6,
    /// The addresses are of another family than the IP endpoints in the
    /// checksum context; RFC 9568 §5.2.9: the addresses are those of the
    /// family the advertisement is sent over.
    #[error("virtual addresses and IP endpoints are of different families")]
    FamilyMismatch,
    /// The interval cannot be written in this version: VRRPv2 needs whole
    /// seconds up to 255 (RFC 3768 §5.3.7), VRRPv3 at most 4095 centiseconds
    /// (RFC 9568 §5.2.7, 12 bits).
    #[error("interval of {centis} cs cannot be sent in this VRRP version")]
    IntervalNotRepresentable {
        /// The interval in centiseconds.
        centis: u16,
    },
    /// More than 255 addresses: Count IPvX Addrs is 8 bits (RFC 9568 §5.2.5,
    /// RFC 3768 §5.3.5).
    #[error("{0} addresses do not fit the 8-bit count field")]
    TooManyAddrs(usize),
    /// Authentication on VRRPv3, which has none (RFC 9568 §9.1 and
    /// appendix; RFC 5798 removed it).
    #[error("VRRPv3 has no authentication")]
    AuthOnV3,
    /// The buffer is not exactly [`buffer_len`](crate::Advert::buffer_len)
    /// octets (or the frame's fixed size).
    #[error("buffer of {got} octets, needed exactly {needed}")]
    BufferLength {
        /// Octets the message needs.
        needed: usize,
        /// Octets in the buffer given.
        got: usize,
    },
}
