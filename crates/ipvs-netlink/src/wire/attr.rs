//! Netlink attribute lists: [`AttrWriter`] builds them, [`Attrs`] reads
//! them, and a few helpers find the attributes a decoder needs.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{Command, DecodeError, VERSION};
use crate::types::Family;

/// `NLA_F_NESTED | NLA_F_NET_BYTEORDER`: flag bits of an attribute type.
const NLA_TYPE_MASK: u16 = 0x3fff;
/// `NLA_F_NESTED`.
const NLA_F_NESTED: u16 = 0x8000;

/// Builds a list of netlink attributes (`struct nlattr` + payload, each
/// padded to 4 bytes), with nesting.
#[derive(Debug, Default, Clone)]
pub struct AttrWriter {
    buf: Vec<u8>,
}

impl AttrWriter {
    /// An empty list after a generic netlink header for `cmd`.
    pub fn genl(cmd: u8, version: u8) -> AttrWriter {
        AttrWriter {
            buf: vec![cmd, version, 0, 0],
        }
    }

    /// The bytes written so far.
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }

    /// One attribute with raw payload bytes.
    pub fn put(&mut self, ty: u16, data: &[u8]) {
        let len = 4 + data.len();
        // Attribute payloads here are at most a few dozen bytes: `Ipvs`
        // refuses names longer than the kernel's 16-byte fields before
        // encoding, so the saturation below is never reached from there.
        let len16 = u16::try_from(len).unwrap_or(u16::MAX);
        self.buf.extend_from_slice(&len16.to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.pad();
    }

    fn pad(&mut self) {
        while self.buf.len() % 4 != 0 {
            self.buf.push(0);
        }
    }

    /// A `u8` attribute.
    pub fn put_u8(&mut self, ty: u16, v: u8) {
        self.put(ty, &[v]);
    }

    /// A `u16` attribute in host byte order.
    pub fn put_u16(&mut self, ty: u16, v: u16) {
        self.put(ty, &v.to_ne_bytes());
    }

    /// A `u16` attribute in network byte order (ports).
    pub fn put_be16(&mut self, ty: u16, v: u16) {
        self.put(ty, &v.to_be_bytes());
    }

    /// A `u32` attribute in host byte order.
    pub fn put_u32(&mut self, ty: u16, v: u32) {
        self.put(ty, &v.to_ne_bytes());
    }

    /// A NUL-terminated string attribute.
    pub fn put_str(&mut self, ty: u16, s: &str) {
        let mut v = Vec::with_capacity(s.len() + 1);
        v.extend_from_slice(s.as_bytes());
        v.push(0);
        self.put(ty, &v);
    }

    /// An address as `union nf_inet_addr` (16 bytes, IPv4 in the first 4).
    pub fn put_inet_addr(&mut self, ty: u16, addr: IpAddr) {
        self.put(ty, &inet_addr_bytes(addr));
    }

    /// Starts a nested attribute (type flagged `NLA_F_NESTED`, as libnl
    /// and therefore ipvsadm send it); close it with
    /// [`AttrWriter::end_nested`].
    pub fn begin_nested(&mut self, ty: u16) -> usize {
        let at = self.buf.len();
        self.buf.extend_from_slice(&[0, 0]);
        self.buf
            .extend_from_slice(&(ty | NLA_F_NESTED).to_ne_bytes());
        at
    }

    /// Ends the nested attribute started at `at`, writing its length.
    pub fn end_nested(&mut self, at: usize) {
        let len = u16::try_from(self.buf.len() - at).unwrap_or(u16::MAX);
        if let Some(slot) = self.buf.get_mut(at..at + 2) {
            slot.copy_from_slice(&len.to_ne_bytes());
        }
    }

    /// A nested attribute `ty` holding the attributes `body` writes
    /// ([`AttrWriter::begin_nested`] and [`AttrWriter::end_nested`]
    /// around it).
    pub(super) fn nest(&mut self, ty: u16, body: impl FnOnce(&mut AttrWriter)) {
        let at = self.begin_nested(ty);
        body(self);
        self.end_nested(at);
    }
}

/// An IPVS message for `cmd`: the generic netlink header, then the
/// attributes `body` writes.
pub(super) fn message(cmd: Command, body: impl FnOnce(&mut AttrWriter)) -> Vec<u8> {
    let mut w = AttrWriter::genl(cmd as u8, VERSION);
    body(&mut w);
    w.finish()
}

fn inet_addr_bytes(addr: IpAddr) -> [u8; 16] {
    let mut b = [0u8; 16];
    match addr {
        IpAddr::V4(a) => b[..4].copy_from_slice(&a.octets()),
        IpAddr::V6(a) => b = a.octets(),
    }
    b
}

/// One attribute: its type (without the flag bits) and payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attr<'a> {
    /// The attribute type, `NLA_F_*` flags removed.
    pub ty: u16,
    /// The payload (without padding).
    pub payload: &'a [u8],
}

/// Iterates over a list of attributes; stops with an error on a malformed
/// header (and yields nothing after it).
#[derive(Debug, Clone)]
pub struct Attrs<'a> {
    rest: &'a [u8],
}

impl<'a> Attrs<'a> {
    /// The attributes in `bytes`.
    pub fn new(bytes: &'a [u8]) -> Attrs<'a> {
        Attrs { rest: bytes }
    }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<Attr<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.len() < 4 {
            // Trailing bytes shorter than a header are padding.
            self.rest = &[];
            return None;
        }
        let len = usize::from(u16::from_ne_bytes([self.rest[0], self.rest[1]]));
        let ty = u16::from_ne_bytes([self.rest[2], self.rest[3]]) & NLA_TYPE_MASK;
        if len < 4 || len > self.rest.len() {
            self.rest = &[];
            return Some(Err(DecodeError::Truncated("attribute")));
        }
        let payload = &self.rest[4..len];
        let padded = (len + 3) & !3;
        self.rest = self.rest.get(padded..).unwrap_or(&[]);
        Some(Ok(Attr { ty, payload }))
    }
}

impl<'a> Attr<'a> {
    pub(super) fn fixed<const N: usize>(&self, name: &'static str) -> Result<[u8; N], DecodeError> {
        self.payload
            .get(..N)
            .and_then(|s| <[u8; N]>::try_from(s).ok())
            .filter(|_| self.payload.len() == N)
            .ok_or(DecodeError::BadLength {
                attr: name,
                len: self.payload.len(),
                expected: match N {
                    1 => "1",
                    2 => "2",
                    4 => "4",
                    8 => "8",
                    _ => "16",
                },
            })
    }

    /// The payload as a `u8`.
    pub fn u8(&self, name: &'static str) -> Result<u8, DecodeError> {
        Ok(self.fixed::<1>(name)?[0])
    }

    /// The payload as a host-order `u16`.
    pub fn u16(&self, name: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_ne_bytes(self.fixed(name)?))
    }

    /// The payload as a network-order `u16`.
    pub fn be16(&self, name: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.fixed(name)?))
    }

    /// The payload as a host-order `u32`.
    pub fn u32(&self, name: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_ne_bytes(self.fixed(name)?))
    }

    /// The payload as a host-order `u64`.
    pub fn u64(&self, name: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_ne_bytes(self.fixed(name)?))
    }

    /// The payload as a NUL-terminated UTF-8 string.
    pub fn str(&self, name: &'static str) -> Result<&'a str, DecodeError> {
        let end = self
            .payload
            .iter()
            .position(|&b| b == 0)
            .ok_or(DecodeError::BadString(name))?;
        std::str::from_utf8(&self.payload[..end]).map_err(|_| DecodeError::BadString(name))
    }

    /// The payload as a `union nf_inet_addr` of family `family`.
    pub fn inet_addr(&self, name: &'static str, family: Family) -> Result<IpAddr, DecodeError> {
        match family {
            Family::Inet => {
                let b = self.payload.get(..4).ok_or(DecodeError::BadLength {
                    attr: name,
                    len: self.payload.len(),
                    expected: "4 or 16",
                })?;
                Ok(IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3])))
            }
            Family::Inet6 => {
                let b: [u8; 16] = self
                    .payload
                    .get(..16)
                    .and_then(|s| s.try_into().ok())
                    .ok_or(DecodeError::BadLength {
                        attr: name,
                        len: self.payload.len(),
                        expected: "16",
                    })?;
                Ok(IpAddr::V6(Ipv6Addr::from(b)))
            }
        }
    }
}

/// Splits a generic netlink payload into its command and its attributes.
pub fn split_genl(payload: &[u8]) -> Result<(u8, &[u8]), DecodeError> {
    match payload {
        [cmd, _version, _, _, rest @ ..] => Ok((*cmd, rest)),
        _ => Err(DecodeError::Truncated("generic netlink header")),
    }
}

/// Finds attribute `ty` among `attrs` (the first one; errors on a
/// malformed list).
pub(super) fn find(attrs: &[u8], ty: u16) -> Result<Option<Attr<'_>>, DecodeError> {
    for a in Attrs::new(attrs) {
        let a = a?;
        if a.ty == ty {
            return Ok(Some(a));
        }
    }
    Ok(None)
}

/// The attributes of `payload`, an answer that must carry command `cmd`.
pub(super) fn expect_cmd(payload: &[u8], cmd: Command) -> Result<&[u8], DecodeError> {
    let (c, attrs) = split_genl(payload)?;
    if c != cmd as u8 {
        return Err(DecodeError::UnexpectedCommand(c));
    }
    Ok(attrs)
}

/// Attribute `ty` (`name`) among `attrs`, which must be there.
pub(super) fn require<'a>(
    attrs: &'a [u8],
    ty: u16,
    name: &'static str,
) -> Result<Attr<'a>, DecodeError> {
    find(attrs, ty)?.ok_or(DecodeError::Missing(name))
}

/// The payload of the nested attribute `ty` (`name`), which must be there.
pub(super) fn nested<'a>(
    attrs: &'a [u8],
    ty: u16,
    name: &'static str,
) -> Result<&'a [u8], DecodeError> {
    Ok(require(attrs, ty, name)?.payload)
}

/// The payload as an address family (`AF_INET`, `AF_INET6`).
pub(super) fn family_attr(a: &Attr<'_>, name: &'static str) -> Result<Family, DecodeError> {
    let raw = a.u16(name)?;
    Family::from_raw(raw).ok_or(DecodeError::BadValue {
        attr: name,
        value: u64::from(raw),
    })
}
