//! Parsing and emitting [`Advert`]: the bridge between the [`Packet`] view
//! and the owned representation.

use alloc::vec::Vec;

use crate::checksum::{ChecksumCtx, ChecksumOutcome, Family};
use crate::codes::{AuthType, MessageType, RawVersion};
use crate::error::{EmitError, ParseError};
use crate::packet::{self, Packet};
use crate::repr::{Advert, Auth, VirtualAddrs};
use crate::types::{Interval, Priority, Version, Vrid};

impl VirtualAddrs {
    /// The address family.
    pub const fn family(&self) -> Family {
        match self {
            VirtualAddrs::V4(_) => Family::V4,
            VirtualAddrs::V6(_) => Family::V6,
        }
    }

    /// The number of addresses.
    pub fn len(&self) -> usize {
        match self {
            VirtualAddrs::V4(v) => v.len(),
            VirtualAddrs::V6(v) => v.len(),
        }
    }

    /// True if there are no addresses.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for VirtualAddrs {
    /// No IPv4 addresses.
    fn default() -> Self {
        VirtualAddrs::V4(Vec::new())
    }
}

/// The fixed fields of a packet that passed every check.
struct Checked {
    version: Version,
    vrid: Vrid,
    priority: Priority,
    interval: Interval,
    /// VRRPv2 auth type 1: the password is read by [`Checked::auth`].
    simple_password: bool,
    family: Family,
    outcome: ChecksumOutcome,
}

impl Checked {
    /// The authentication of a checked packet. Kept out of [`check`]'s
    /// result so that the 9-octet enum is built where it is stored (building
    /// it inside the result made a store-forwarding stall in `parse_into`).
    #[inline(always)]
    fn auth<T: AsRef<[u8]>>(&self, packet: &Packet<T>) -> Auth {
        match (self.simple_password, packet.auth_data()) {
            (true, Some(data)) => Auth::SimplePassword(data),
            // check_len_for guaranteed the 8 octets when simple_password.
            _ => Auth::None,
        }
    }
}

/// Runs every receive check that needs only the packet and its IP
/// endpoints, in the order of [RFC 9568 §7.1]: version, length, checksum,
/// then the fields.
///
/// [RFC 9568 §7.1]: https://www.rfc-editor.org/rfc/rfc9568#section-7.1
#[inline(always)]
fn check<T: AsRef<[u8]>>(packet: &Packet<T>, ctx: &ChecksumCtx) -> Result<Checked, ParseError> {
    let family = ctx.family();
    // Truncation (< 8 octets), BadVersion, V2OverIpv6, then length vs count.
    let version = packet.check_len_for(family)?;
    let outcome = packet.verify_checksum(ctx)?;
    // RFC 9568 §5.2.2 / RFC 3768 §5.3.2: only ADVERTISEMENT (1) is defined.
    match packet.msg_type() {
        MessageType::Advertisement => {}
        MessageType::Unknown(t) => return Err(ParseError::BadType(t)),
    }
    // RFC 9568 §5.2.3 / RFC 3768 §5.3.3: VRID 1-255.
    let vrid = Vrid::new(packet.vrid()).ok_or(ParseError::VridZero)?;
    let priority = Priority::new(packet.priority());
    let interval = packet.interval().ok_or(ParseError::IntervalZero)?;
    let simple_password = match version {
        // RFC 9568 §5.2.6: rsvd is ignored on reception; v3 has no auth.
        Version::V3 => false,
        // RFC 3768 §5.3.6: unknown types MUST be discarded.
        Version::V2 => match packet.auth_type() {
            // RFC 3768 §5.3.10: auth data "SHOULD be set to zero on
            // transmission and ignored on reception" for type 0.
            AuthType::None => false,
            AuthType::SimplePassword => true,
            AuthType::IpAh => return Err(ParseError::AhUnsupported),
            AuthType::Unknown(t) => return Err(ParseError::UnknownAuthType(t)),
        },
    };
    Ok(Checked {
        version,
        vrid,
        priority,
        interval,
        simple_password,
        family,
        outcome,
    })
}

impl Advert {
    /// Parses and validates a received VRRP message.
    ///
    /// The address family comes from `ctx` (the IP header of the datagram),
    /// since it is not in the VRRP header. Every check that needs only the
    /// packet is made, each with its own [`ParseError`]; checks against the
    /// local configuration are the state machine's. The second value says
    /// how the checksum matched; for VRRPv3 over IPv4 that tells which
    /// convention the peer uses ([`V3Ipv4PseudoHeader`](crate::V3Ipv4PseudoHeader)).
    ///
    /// Allocates once, for the address list; see [`Advert::parse_into`] for a
    /// receive loop that does not allocate.
    ///
    /// # Errors
    ///
    /// The checks run in this order, so one packet gets one answer:
    /// [`ParseError::Truncated`] (fewer than 8 octets),
    /// [`ParseError::BadVersion`], [`ParseError::V2OverIpv6`],
    /// [`ParseError::Truncated`] / [`ParseError::CountMismatch`] (length
    /// against the count), [`ParseError::BadChecksum`],
    /// [`ParseError::BadType`], [`ParseError::VridZero`],
    /// [`ParseError::IntervalZero`], then for VRRPv2
    /// [`ParseError::AhUnsupported`] / [`ParseError::UnknownAuthType`].
    /// The v3 reserved bits and the v2 auth data of auth type 0 are ignored.
    pub fn parse<T: AsRef<[u8]>>(
        packet: &Packet<T>,
        ctx: &ChecksumCtx,
    ) -> Result<(Advert, ChecksumOutcome), ParseError> {
        let c = check(packet, ctx)?;
        let addrs = match c.family {
            Family::V4 => VirtualAddrs::V4(packet.addrs_v4().collect()),
            Family::V6 => VirtualAddrs::V6(packet.addrs_v6().collect()),
        };
        let advert = Advert {
            version: c.version,
            vrid: c.vrid,
            priority: c.priority,
            interval: c.interval,
            addrs,
            auth: c.auth(packet),
        };
        Ok((advert, c.outcome))
    }

    /// Like [`Advert::parse`], but overwrites `self`, reusing its address
    /// vector: once the vector has grown to the largest count seen (and the
    /// family stays the same), parsing allocates nothing.
    ///
    /// On error `self` is left unchanged.
    pub fn parse_into<T: AsRef<[u8]>>(
        &mut self,
        packet: &Packet<T>,
        ctx: &ChecksumCtx,
    ) -> Result<ChecksumOutcome, ParseError> {
        let c = check(packet, ctx)?;
        match (c.family, &mut self.addrs) {
            (Family::V4, VirtualAddrs::V4(v)) => {
                let addrs = packet.addrs_v4();
                v.clear();
                v.reserve(addrs.len());
                for a in addrs {
                    v.push(a);
                }
            }
            (Family::V6, VirtualAddrs::V6(v)) => {
                let addrs = packet.addrs_v6();
                v.clear();
                v.reserve(addrs.len());
                for a in addrs {
                    v.push(a);
                }
            }
            (Family::V4, _) => self.addrs = VirtualAddrs::V4(packet.addrs_v4().collect()),
            (Family::V6, _) => self.addrs = VirtualAddrs::V6(packet.addrs_v6().collect()),
        }
        self.version = c.version;
        self.vrid = c.vrid;
        self.priority = c.priority;
        self.interval = c.interval;
        self.auth = c.auth(packet);
        Ok(c.outcome)
    }

    /// The length of the encoded message: 8 + count·(4 or 16), plus 8 octets
    /// of authentication data for VRRPv2.
    pub fn buffer_len(&self) -> usize {
        packet::message_len(self.version, self.addrs.family(), self.addrs.len())
    }

    /// Checks that the advert can be emitted with `ctx`, without writing.
    ///
    /// The checks, in order: [`EmitError::V2WithIpv6`],
    /// [`EmitError::FamilyMismatch`], [`EmitError::TooManyAddrs`],
    /// [`EmitError::IntervalNotRepresentable`], [`EmitError::AuthOnV3`].
    pub fn check_emit(&self, ctx: &ChecksumCtx) -> Result<(), EmitError> {
        let family = self.addrs.family();
        if self.version == Version::V2 && family == Family::V6 {
            return Err(EmitError::V2WithIpv6);
        }
        if family != ctx.family() {
            return Err(EmitError::FamilyMismatch);
        }
        if self.addrs.len() > usize::from(u8::MAX) {
            return Err(EmitError::TooManyAddrs(self.addrs.len()));
        }
        if !self.interval.fits_version(self.version) {
            return Err(EmitError::IntervalNotRepresentable {
                centis: self.interval.centis(),
            });
        }
        if self.version == Version::V3 && self.auth != Auth::None {
            return Err(EmitError::AuthOnV3);
        }
        Ok(())
    }

    /// Writes the advert into `packet`, whose buffer must be exactly
    /// [`buffer_len`](Advert::buffer_len) octets; every octet is written and
    /// the checksum is filled in last, in the form `ctx` asks for
    /// ([`ChecksumCtx::v3_ipv4_emit`] for VRRPv3 over IPv4). The v3 reserved
    /// bits are zero (RFC 9568 §5.2.6).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut Packet<T>,
        ctx: &ChecksumCtx,
    ) -> Result<(), EmitError> {
        self.check_emit(ctx)?;
        let needed = self.buffer_len();
        if packet.len() != needed {
            return Err(EmitError::BufferLength {
                needed,
                got: packet.len(),
            });
        }
        // check_emit bounded the count by 255.
        let count = u8::try_from(self.addrs.len()).unwrap_or(u8::MAX);
        packet.set_version(RawVersion::from(self.version));
        packet.set_msg_type(MessageType::Advertisement);
        packet.set_vrid(self.vrid.get());
        packet.set_priority(self.priority.get());
        packet.set_count(count);
        match self.version {
            Version::V2 => {
                let (auth_type, data) = match self.auth {
                    Auth::None => (AuthType::None, [0u8; 8]),
                    Auth::SimplePassword(p) => (AuthType::SimplePassword, p),
                };
                packet.set_auth_type(auth_type);
                // check_emit proved it fits.
                packet.set_adver_int(self.interval.as_secs_v2().unwrap_or(u8::MAX));
                packet.set_auth_data(data);
            }
            Version::V3 => {
                packet.set_rsvd(0);
                packet.set_max_adver_int(self.interval.centis());
            }
        }
        match &self.addrs {
            VirtualAddrs::V4(v) => {
                for (i, a) in v.iter().enumerate() {
                    packet.set_addr_v4(i, *a);
                }
            }
            VirtualAddrs::V6(v) => {
                for (i, a) in v.iter().enumerate() {
                    packet.set_addr_v6(i, *a);
                }
            }
        }
        packet.fill_checksum(ctx);
        Ok(())
    }

    /// Emits into a new vector of [`buffer_len`](Advert::buffer_len) octets.
    pub fn to_bytes(&self, ctx: &ChecksumCtx) -> Result<Vec<u8>, EmitError> {
        self.check_emit(ctx)?;
        let mut buf = alloc::vec![0u8; self.buffer_len()];
        self.emit(&mut Packet::new_unchecked(&mut buf[..]), ctx)?;
        Ok(buf)
    }
}
