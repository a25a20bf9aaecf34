//! The owned, validated advertisement: [`Advert`].
//!
//! CONTRACT (pinned for the other crates; the codec helper fills in parse/emit):
//! fields are public, hold no derived wire fields (no count, no checksum, no
//! type byte); those are computed by `emit`.

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
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Advert {
    /// Protocol version.
    pub version: Version,
    /// Virtual router identifier.
    pub vrid: Vrid,
    /// Sender's priority for this virtual router.
    pub priority: Priority,
    /// Advertisement interval (v2: whole seconds; v3: Max Advertise Interval).
    pub interval: Interval,
    /// The virtual addresses.
    pub addrs: VirtualAddrs,
    /// VRRPv2 authentication; always [`Auth::None`] for VRRPv3.
    pub auth: Auth,
}
