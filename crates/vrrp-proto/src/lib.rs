//! Sans-IO codecs for VRRP: version 2 ([RFC 3768]) and version 3
//! ([RFC 9568]) advertisements over IPv4 and IPv6, their checksums, and the
//! gratuitous ARP and unsolicited neighbour advertisement frames a new
//! master sends.
//!
//! Two layers, as in smoltcp's `wire` module:
//!
//! * [`Packet`] is a zero-copy view over a buffer: checked length, getters,
//!   setters on mutable buffers, addresses as iterators over the buffer,
//!   and [`Packet::verify_checksum`]. Nothing on this path allocates.
//! * [`Advert`] is the owned, validated advertisement, with
//!   [`Advert::parse`] (every receive rule that can be checked on the packet
//!   alone, one [`ParseError`] variant each), [`Advert::parse_into`] (the
//!   same, reusing the address vector: no allocation in a steady receive
//!   loop), [`Advert::buffer_len`] and [`Advert::emit`] ([`EmitError`]).
//!
//! The address family is not in the VRRP header; it comes from the IP
//! header, through the [`ChecksumCtx`] that also carries the addresses the
//! checksum needs and the policy for the VRRPv3-over-IPv4 pseudo-header
//! ambiguity ([`V3Ipv4PseudoHeader`]). [`ip::Ipv4Datagram`] splits what an
//! IPv4 raw socket returns; [`arp::GratuitousArp`] and
//! [`nd::UnsolicitedNa`] build and check the announcements.
//!
//! ```
//! use core::net::Ipv4Addr;
//! use vrrp_proto::{
//!     Advert, Auth, ChecksumCtx, ChecksumOutcome, Interval, Packet, Priority,
//!     V3Ipv4PseudoHeader, Version, VirtualAddrs, Vrid,
//! };
//!
//! let advert = Advert {
//!     version: Version::V3,
//!     vrid: Vrid::new(51).ok_or("vrid")?,
//!     priority: Priority::new(150),
//!     interval: Interval::from_centis(100).ok_or("interval")?,
//!     addrs: VirtualAddrs::V4(vec![Ipv4Addr::new(192, 0, 2, 10)]),
//!     auth: Auth::None,
//! };
//! // The IP addresses of the datagram this will travel in.
//! let ctx = ChecksumCtx::ipv4(Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(224, 0, 0, 18))
//!     .with_v3_ipv4_emit(V3Ipv4PseudoHeader::Exclude);
//!
//! let mut buf = vec![0u8; advert.buffer_len()];
//! advert.emit(&mut Packet::new_unchecked(&mut buf[..]), &ctx)?;
//!
//! // The receiver: check the view, then build the owned advert.
//! let packet = Packet::new_checked(&buf[..])?;
//! assert_eq!(packet.vrid(), 51);
//! let (received, outcome) = Advert::parse(&packet, &ctx)?;
//! assert_eq!(received, advert);
//! assert_eq!(outcome, ChecksumOutcome::V3Ipv4(V3Ipv4PseudoHeader::Exclude));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What this crate does not do
//!
//! * No sockets, no I/O of any kind: bytes in, bytes out. Opening raw
//!   sockets, checking the received TTL / hop limit of 255, multicast
//!   membership and sending frames are the `netif` crate's.
//! * No clock, no timers, no randomness: the protocol state machine
//!   (`vrrp-fsm`) owns time; this crate only converts intervals.
//! * No checks against local configuration (does the VRID match, is the
//!   address list ours, does a v2 interval match): those decide what a
//!   router does with a valid packet, and belong to the state machine.
//! * No IP Authentication Header (VRRPv2 auth type 2): recognised and
//!   rejected with [`ParseError::AhUnsupported`].
//! * No allocation on the view path ([`Packet`], checksum verification);
//!   [`Advert::parse`] allocates only the address vector, and
//!   [`Advert::parse_into`] not even that once warmed up.
//!
//! The crate is `no_std` with `alloc`; the default `std` feature adds
//! nothing to the codec (errors implement `core::error::Error`).
//!
//! [RFC 3768]: https://www.rfc-editor.org/rfc/rfc3768
//! [RFC 9568]: https://www.rfc-editor.org/rfc/rfc9568
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod advert;
pub mod arp;
pub mod checksum;
mod codes;
mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod ip;
pub mod nd;
mod packet;
mod repr;
mod types;

pub use checksum::{
    ChecksumCtx, ChecksumOutcome, Endpoints, Family, V3Ipv4Accept, V3Ipv4PseudoHeader,
};
pub use codes::{AuthType, MessageType, RawVersion};
pub use error::{EmitError, ParseError};
pub use packet::{AUTH_DATA_LEN, AddrsV4, AddrsV6, HEADER_LEN, Packet, message_len};
pub use repr::{Advert, Auth, VirtualAddrs};
pub use types::{Interval, Priority, Version, Vrid};
