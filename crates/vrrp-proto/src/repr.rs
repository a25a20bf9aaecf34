//! The owned, validated advertisement: [`Advert`], with [`Advert::parse`],
//! [`Advert::parse_into`], [`Advert::buffer_len`] and [`Advert::emit`].
//!
//! `Advert` holds no derived wire fields: the address count, the checksum,
//! the type and the v3 reserved bits are computed by `emit`, and the
//! address family comes from the [`ChecksumCtx`](crate::ChecksumCtx) (the IP header), not from
//! the VRRP header.

use alloc::vec::Vec;
use core::net::{Ipv4Addr, Ipv6Addr};

use crate::types::{Interval, Priority, Version, Vrid};

/// The virtual addresses an advertisement carries; one family per advert.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum VirtualAddrs {
    /// IPv4 virtual addresses (VRRPv2, or VRRPv3 over IPv4).
    V4(Vec<Ipv4Addr>),
    /// IPv6 virtual addresses (VRRPv3 over IPv6 only).
    V6(Vec<Ipv6Addr>),
}

/// VRRPv2 authentication ([RFC 3768 §5.3.6]); VRRPv3 has none.
///
/// [RFC 3768 §5.3.6]: https://www.rfc-editor.org/rfc/rfc3768#section-5.3.6
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Auth {
    /// Authentication type 0: no authentication; the 8 auth-data octets are zero.
    None,
    /// Authentication type 1: a plain-text password of up to 8 octets,
    /// zero-padded on the wire.
    SimplePassword([u8; 8]),
}

/// One VRRP advertisement, owned and validated.
///
/// Built by [`Advert::parse`] / [`Advert::parse_into`] from a received
/// [`Packet`](crate::Packet), or by hand to send with [`Advert::emit`].
/// Every field holds only values the RFCs allow, but not every combination
/// can be sent: [`Advert::check_emit`] says why not (IPv6 or a sub-second
/// interval in VRRPv2, authentication in VRRPv3, more than 255 addresses).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Advert {
    /// Protocol version.
    pub version: Version,
    /// Virtual router identifier.
    pub vrid: Vrid,
    /// Sender's priority for this virtual router.
    pub priority: Priority,
    /// Advertisement interval, in centiseconds for both versions (v2's whole
    /// seconds are converted at parse; `emit` refuses what a version cannot
    /// carry). For v3 this is Max Adver Int (RFC 9568 §5.2.7).
    pub interval: Interval,
    /// The virtual addresses.
    pub addrs: VirtualAddrs,
    /// VRRPv2 authentication; always [`Auth::None`] for VRRPv3.
    pub auth: Auth,
}
