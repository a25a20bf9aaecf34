//! Helpers the rtnetlink messages share: attributes out, values in.

use std::io::{self, Cursor};
use std::net::IpAddr;

use neli::rtnl::RtattrBuilder;
use neli::types::Buffer;
use neli::{FromBytesWithInput, Size, ToBytes};

/// A message that neli could not build or parse, as an `io::Error`.
pub(super) fn invalid<E: std::fmt::Display>(e: E) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

/// One attribute `ty` with `payload`.
pub(super) fn attr<T, P>(ty: T, payload: P) -> io::Result<neli::rtnl::Rtattr<T, Buffer>>
where
    T: neli::consts::rtnl::RtaType,
    P: Size + ToBytes,
{
    RtattrBuilder::default()
        .rta_type(ty)
        .rta_payload(payload)
        .build()
        .map_err(invalid)
}

/// An address as attribute payload: 4 or 16 bytes, network order.
pub(super) fn ip_bytes(a: IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

/// A string attribute, up to its NUL (lossy UTF-8).
pub(super) fn cstr(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// A host-order `u32` attribute; `None` if it is too short.
pub(super) fn u32_ne(bytes: &[u8]) -> Option<u32> {
    Some(u32::from_ne_bytes(bytes.get(..4)?.try_into().ok()?))
}

/// An address attribute: IPv4 from 4 bytes, IPv6 from 16, else `None`.
pub(super) fn ip_from(p: &[u8]) -> Option<IpAddr> {
    match p.len() {
        4 => <[u8; 4]>::try_from(p).ok().map(|o| IpAddr::V4(o.into())),
        16 => <[u8; 16]>::try_from(p).ok().map(|o| IpAddr::V6(o.into())),
        _ => None,
    }
}

/// Decodes a netlink payload (`Ifaddrmsg`, `Ifinfomsg`) from raw bytes (for the event socket).
pub(crate) fn decode<P>(buf: &[u8]) -> Option<P>
where
    P: FromBytesWithInput<Input = usize>,
{
    P::from_bytes_with_input(&mut Cursor::new(buf), buf.len()).ok()
}
