//! Sans-IO encoding and decoding of IPVS generic netlink payloads.
//!
//! Everything here works on byte slices and vectors, with no socket: a
//! request is the *payload* of a netlink message (the 4-byte generic
//! netlink header, then attributes), to be sent with the IPVS family id as
//! the netlink message type; an answer is decoded from the same payload.
//! The layouts are those of the kernel's UAPI header
//! `include/uapi/linux/ip_vs.h` (and `genetlink.h` for the controller).
//!
//! Attributes are in host byte order except ports (and the IPv4
//! persistence netmask, and the IPv4 sync group), which are in network
//! byte order, as in the kernel.
//!
//! Decoding never panics: any input gives a value or a [`DecodeError`].
//! Attributes this crate does not know are skipped, so newer kernels can
//! add some.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::types::{
    Destination, DestinationEntry, Family, ForwardMethod, Info, Protocol, Service, ServiceEntry,
    ServiceFlags, ServiceKey, Stats, SyncDaemon, SyncState, Timeouts, Tunnel, TunnelFlags,
    TunnelType,
};

/// The generic netlink family name of IPVS (`IPVS_GENL_NAME`).
pub const FAMILY_NAME: &str = "IPVS";
/// `IPVS_GENL_VERSION`.
pub const VERSION: u8 = 1;
/// The generic netlink controller's fixed family id (`GENL_ID_CTRL`).
pub const GENL_ID_CTRL: u16 = 0x10;

/// The length of the generic netlink header (`struct genlmsghdr`).
pub const GENL_HDRLEN: usize = 4;
/// `NLA_F_NESTED | NLA_F_NET_BYTEORDER`: flag bits of an attribute type.
const NLA_TYPE_MASK: u16 = 0x3fff;
/// `NLA_F_NESTED`.
const NLA_F_NESTED: u16 = 0x8000;

/// IPVS generic netlink commands (`IPVS_CMD_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Command {
    /// Add a service.
    NewService = 1,
    /// Edit a service.
    SetService = 2,
    /// Delete a service.
    DelService = 3,
    /// Get one service, or dump all.
    GetService = 4,
    /// Add a destination.
    NewDest = 5,
    /// Edit a destination.
    SetDest = 6,
    /// Delete a destination.
    DelDest = 7,
    /// Dump a service's destinations.
    GetDest = 8,
    /// Start a sync daemon.
    NewDaemon = 9,
    /// Stop a sync daemon.
    DelDaemon = 10,
    /// Dump the sync daemons.
    GetDaemon = 11,
    /// Set the timeouts.
    SetConfig = 12,
    /// Get the timeouts.
    GetConfig = 13,
    /// The command of a `GetInfo` answer.
    SetInfo = 14,
    /// Get version and connection table size.
    GetInfo = 15,
    /// Zero the counters.
    Zero = 16,
    /// Remove every service.
    Flush = 17,
}

/// Top-level attributes (`IPVS_CMD_ATTR_*`).
mod cmd_attr {
    pub(super) const SERVICE: u16 = 1;
    pub(super) const DEST: u16 = 2;
    pub(super) const DAEMON: u16 = 3;
    pub(super) const TIMEOUT_TCP: u16 = 4;
    pub(super) const TIMEOUT_TCP_FIN: u16 = 5;
    pub(super) const TIMEOUT_UDP: u16 = 6;
}

/// Service attributes (`IPVS_SVC_ATTR_*`).
mod svc_attr {
    pub(super) const AF: u16 = 1;
    pub(super) const PROTOCOL: u16 = 2;
    pub(super) const ADDR: u16 = 3;
    pub(super) const PORT: u16 = 4;
    pub(super) const FWMARK: u16 = 5;
    pub(super) const SCHED_NAME: u16 = 6;
    pub(super) const FLAGS: u16 = 7;
    pub(super) const TIMEOUT: u16 = 8;
    pub(super) const NETMASK: u16 = 9;
    pub(super) const STATS: u16 = 10;
    pub(super) const PE_NAME: u16 = 11;
    pub(super) const STATS64: u16 = 12;
}

/// Destination attributes (`IPVS_DEST_ATTR_*`).
mod dest_attr {
    pub(super) const ADDR: u16 = 1;
    pub(super) const PORT: u16 = 2;
    pub(super) const FWD_METHOD: u16 = 3;
    pub(super) const WEIGHT: u16 = 4;
    pub(super) const U_THRESH: u16 = 5;
    pub(super) const L_THRESH: u16 = 6;
    pub(super) const ACTIVE_CONNS: u16 = 7;
    pub(super) const INACT_CONNS: u16 = 8;
    pub(super) const PERSIST_CONNS: u16 = 9;
    pub(super) const STATS: u16 = 10;
    pub(super) const ADDR_FAMILY: u16 = 11;
    pub(super) const STATS64: u16 = 12;
    pub(super) const TUN_TYPE: u16 = 13;
    pub(super) const TUN_PORT: u16 = 14;
    pub(super) const TUN_FLAGS: u16 = 15;
}

/// Sync daemon attributes (`IPVS_DAEMON_ATTR_*`).
mod daemon_attr {
    pub(super) const STATE: u16 = 1;
    pub(super) const MCAST_IFN: u16 = 2;
    pub(super) const SYNC_ID: u16 = 3;
    pub(super) const SYNC_MAXLEN: u16 = 4;
    pub(super) const MCAST_GROUP: u16 = 5;
    pub(super) const MCAST_GROUP6: u16 = 6;
    pub(super) const MCAST_PORT: u16 = 7;
    pub(super) const MCAST_TTL: u16 = 8;
}

/// Info attributes (`IPVS_INFO_ATTR_*`).
mod info_attr {
    pub(super) const VERSION: u16 = 1;
    pub(super) const CONN_TAB_SIZE: u16 = 2;
}

/// Generic netlink controller: `CTRL_CMD_GETFAMILY`, `CTRL_ATTR_FAMILY_*`.
mod ctrl {
    pub(super) const CMD_NEWFAMILY: u8 = 1;
    pub(super) const CMD_GETFAMILY: u8 = 3;
    pub(super) const ATTR_FAMILY_ID: u16 = 1;
    pub(super) const ATTR_FAMILY_NAME: u16 = 2;
}

/// `IP_VS_SCHEDNAME_MAXLEN` and `IP_VS_PENAME_MAXLEN`, including the NUL.
pub const SCHED_NAME_MAXLEN: usize = 16;
/// `IP_VS_IFNAME_MAXLEN`, including the NUL.
pub const IFNAME_MAXLEN: usize = 16;
/// `IP_VS_CONN_F_FWD_MASK`.
const FWD_MASK: u32 = 0x7;

/// Why bytes from the kernel could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The payload is shorter than its headers say.
    #[error("truncated {0}")]
    Truncated(&'static str),
    /// An attribute has the wrong size.
    #[error("attribute {attr} has {len} bytes, expected {expected}")]
    BadLength {
        /// The attribute's name.
        attr: &'static str,
        /// Its length.
        len: usize,
        /// What was expected.
        expected: &'static str,
    },
    /// A required attribute is missing.
    #[error("missing attribute {0}")]
    Missing(&'static str),
    /// An attribute has a value this crate cannot represent.
    #[error("attribute {attr} has an unknown value {value}")]
    BadValue {
        /// The attribute's name.
        attr: &'static str,
        /// The value.
        value: u64,
    },
    /// A text attribute is not NUL-terminated UTF-8.
    #[error("attribute {0} is not a NUL-terminated string")]
    BadString(&'static str),
    /// The message is an answer to another command.
    #[error("unexpected command {0}")]
    UnexpectedCommand(u8),
}

// ---------------------------------------------------------------------------
// Attribute writing

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
}

fn inet_addr_bytes(addr: IpAddr) -> [u8; 16] {
    let mut b = [0u8; 16];
    match addr {
        IpAddr::V4(a) => b[..4].copy_from_slice(&a.octets()),
        IpAddr::V6(a) => b = a.octets(),
    }
    b
}

// ---------------------------------------------------------------------------
// Attribute reading

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
    fn fixed<const N: usize>(&self, name: &'static str) -> Result<[u8; N], DecodeError> {
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
fn find(attrs: &[u8], ty: u16) -> Result<Option<Attr<'_>>, DecodeError> {
    for a in Attrs::new(attrs) {
        let a = a?;
        if a.ty == ty {
            return Ok(Some(a));
        }
    }
    Ok(None)
}

// ---------------------------------------------------------------------------
// The generic netlink controller

/// The request for the id of family `name` (`CTRL_CMD_GETFAMILY`), to send
/// to [`GENL_ID_CTRL`].
pub fn encode_get_family(name: &str) -> Vec<u8> {
    let mut w = AttrWriter::genl(ctrl::CMD_GETFAMILY, 1);
    w.put_str(ctrl::ATTR_FAMILY_NAME, name);
    w.finish()
}

/// The family id in the controller's answer (`CTRL_CMD_NEWFAMILY`).
pub fn decode_family_id(payload: &[u8]) -> Result<u16, DecodeError> {
    let (cmd, attrs) = split_genl(payload)?;
    if cmd != ctrl::CMD_NEWFAMILY {
        return Err(DecodeError::UnexpectedCommand(cmd));
    }
    find(attrs, ctrl::ATTR_FAMILY_ID)?
        .ok_or(DecodeError::Missing("CTRL_ATTR_FAMILY_ID"))?
        .u16("CTRL_ATTR_FAMILY_ID")
}

// ---------------------------------------------------------------------------
// Requests

/// Netmask attribute value: IPv4 as a network-order mask, IPv6 as a
/// host-order prefix length (as the kernel reads it).
fn netmask_bytes(family: Family, prefix: u8) -> [u8; 4] {
    match family {
        Family::Inet => {
            let p = u32::from(prefix.min(32));
            let mask = if p == 0 { 0 } else { u32::MAX << (32 - p) };
            mask.to_be_bytes()
        }
        Family::Inet6 => u32::from(prefix.min(128)).to_ne_bytes(),
    }
}

fn put_service_key(w: &mut AttrWriter, key: &ServiceKey) {
    w.put_u16(svc_attr::AF, key.family().to_raw());
    match key {
        ServiceKey::Addr {
            addr,
            port,
            protocol,
        } => {
            w.put_u16(svc_attr::PROTOCOL, protocol.to_raw());
            w.put_inet_addr(svc_attr::ADDR, *addr);
            w.put_be16(svc_attr::PORT, *port);
        }
        ServiceKey::Fwmark { mark, .. } => w.put_u32(svc_attr::FWMARK, *mark),
    }
}

/// The nested `IPVS_CMD_ATTR_SERVICE` with only the key.
fn put_service_key_nest(w: &mut AttrWriter, key: &ServiceKey) {
    let n = w.begin_nested(cmd_attr::SERVICE);
    put_service_key(w, key);
    w.end_nested(n);
}

/// A request that carries no attributes (`GetInfo`, `GetConfig`, `Flush`,
/// `Zero`, and dumps of services or daemons).
pub fn encode_empty(cmd: Command) -> Vec<u8> {
    AttrWriter::genl(cmd as u8, VERSION).finish()
}

/// `NewService` or `SetService` with every setting of `svc`.
///
/// The flags are sent with a full mask, so the service ends with exactly
/// these flags (the kernel adds `HASHED`).
pub fn encode_service(cmd: Command, svc: &Service) -> Vec<u8> {
    let mut w = AttrWriter::genl(cmd as u8, VERSION);
    let n = w.begin_nested(cmd_attr::SERVICE);
    put_service_key(&mut w, &svc.key);
    w.put_str(svc_attr::SCHED_NAME, &svc.scheduler);
    if let Some(pe) = &svc.pe_name {
        w.put_str(svc_attr::PE_NAME, pe);
    }
    let flags = svc.flags.without(ServiceFlags::HASHED).0;
    let mut fl = [0u8; 8];
    fl[..4].copy_from_slice(&flags.to_ne_bytes());
    fl[4..].copy_from_slice(&u32::MAX.to_ne_bytes());
    w.put(svc_attr::FLAGS, &fl);
    w.put_u32(svc_attr::TIMEOUT, svc.timeout);
    w.put(
        svc_attr::NETMASK,
        &netmask_bytes(svc.key.family(), svc.netmask),
    );
    w.end_nested(n);
    w.finish()
}

/// A request naming one service: `DelService`, `GetService` (one), or the
/// `GetDest` dump of its destinations.
pub fn encode_service_key(cmd: Command, key: &ServiceKey) -> Vec<u8> {
    let mut w = AttrWriter::genl(cmd as u8, VERSION);
    put_service_key_nest(&mut w, key);
    w.finish()
}

/// `NewDest` or `SetDest`: destination `dest` of service `key`, every
/// setting included.
pub fn encode_dest(cmd: Command, key: &ServiceKey, dest: &Destination) -> Vec<u8> {
    let mut w = AttrWriter::genl(cmd as u8, VERSION);
    put_service_key_nest(&mut w, key);
    let n = w.begin_nested(cmd_attr::DEST);
    w.put_u16(dest_attr::ADDR_FAMILY, Family::of(&dest.addr).to_raw());
    w.put_inet_addr(dest_attr::ADDR, dest.addr);
    w.put_be16(dest_attr::PORT, dest.port);
    w.put_u32(dest_attr::FWD_METHOD, dest.forward.to_raw());
    w.put_u32(dest_attr::WEIGHT, dest.weight);
    if let ForwardMethod::Tunnel(t) = dest.forward {
        w.put_u8(dest_attr::TUN_TYPE, t.kind.to_raw());
        w.put_be16(dest_attr::TUN_PORT, t.port);
        w.put_u16(dest_attr::TUN_FLAGS, t.flags.0);
    }
    w.put_u32(dest_attr::U_THRESH, dest.upper_threshold);
    w.put_u32(dest_attr::L_THRESH, dest.lower_threshold);
    w.end_nested(n);
    w.finish()
}

/// `DelDest`: destination `addr:port` of service `key`.
pub fn encode_dest_key(cmd: Command, key: &ServiceKey, addr: IpAddr, port: u16) -> Vec<u8> {
    let mut w = AttrWriter::genl(cmd as u8, VERSION);
    put_service_key_nest(&mut w, key);
    let n = w.begin_nested(cmd_attr::DEST);
    w.put_u16(dest_attr::ADDR_FAMILY, Family::of(&addr).to_raw());
    w.put_inet_addr(dest_attr::ADDR, addr);
    w.put_be16(dest_attr::PORT, port);
    w.end_nested(n);
    w.finish()
}

/// `NewDaemon`: start the sync daemon `d`.
pub fn encode_daemon(d: &SyncDaemon) -> Vec<u8> {
    let mut w = AttrWriter::genl(Command::NewDaemon as u8, VERSION);
    let n = w.begin_nested(cmd_attr::DAEMON);
    w.put_u32(daemon_attr::STATE, d.state.to_raw());
    w.put_str(daemon_attr::MCAST_IFN, &d.ifname);
    w.put_u32(daemon_attr::SYNC_ID, d.sync_id);
    if let Some(v) = d.max_len {
        w.put_u16(daemon_attr::SYNC_MAXLEN, v);
    }
    match d.mcast_group {
        Some(IpAddr::V4(a)) => w.put(daemon_attr::MCAST_GROUP, &a.octets()),
        Some(IpAddr::V6(a)) => w.put(daemon_attr::MCAST_GROUP6, &a.octets()),
        None => {}
    }
    if let Some(v) = d.mcast_port {
        w.put_u16(daemon_attr::MCAST_PORT, v);
    }
    if let Some(v) = d.mcast_ttl {
        w.put_u8(daemon_attr::MCAST_TTL, v);
    }
    w.end_nested(n);
    w.finish()
}

/// `DelDaemon`: stop the sync daemon in role `state`.
pub fn encode_daemon_stop(state: SyncState) -> Vec<u8> {
    let mut w = AttrWriter::genl(Command::DelDaemon as u8, VERSION);
    let n = w.begin_nested(cmd_attr::DAEMON);
    w.put_u32(daemon_attr::STATE, state.to_raw());
    w.end_nested(n);
    w.finish()
}

/// `SetConfig`: set the timeouts (0 leaves one unchanged).
pub fn encode_timeouts(t: &Timeouts) -> Vec<u8> {
    let mut w = AttrWriter::genl(Command::SetConfig as u8, VERSION);
    w.put_u32(cmd_attr::TIMEOUT_TCP, t.tcp);
    w.put_u32(cmd_attr::TIMEOUT_TCP_FIN, t.tcp_fin);
    w.put_u32(cmd_attr::TIMEOUT_UDP, t.udp);
    w.finish()
}

// ---------------------------------------------------------------------------
// Answers

fn expect_cmd(payload: &[u8], cmd: Command) -> Result<&[u8], DecodeError> {
    let (c, attrs) = split_genl(payload)?;
    if c != cmd as u8 {
        return Err(DecodeError::UnexpectedCommand(c));
    }
    Ok(attrs)
}

fn nested<'a>(attrs: &'a [u8], ty: u16, name: &'static str) -> Result<&'a [u8], DecodeError> {
    Ok(find(attrs, ty)?.ok_or(DecodeError::Missing(name))?.payload)
}

/// Decodes a nested `IPVS_*_ATTR_STATS` (32-bit counters, 64-bit bytes)
/// or `STATS64` (all 64-bit) into `Stats`.
fn decode_stats(bytes: &[u8], wide: bool) -> Result<Stats, DecodeError> {
    let mut s = Stats::default();
    for a in Attrs::new(bytes) {
        let a = a?;
        let get = |name| -> Result<u64, DecodeError> {
            if wide {
                a.u64(name)
            } else {
                a.u32(name).map(u64::from)
            }
        };
        match a.ty {
            1 => s.conns = get("STATS_ATTR_CONNS")?,
            2 => s.in_packets = get("STATS_ATTR_INPKTS")?,
            3 => s.out_packets = get("STATS_ATTR_OUTPKTS")?,
            4 => s.in_bytes = a.u64("STATS_ATTR_INBYTES")?,
            5 => s.out_bytes = a.u64("STATS_ATTR_OUTBYTES")?,
            6 => s.cps = get("STATS_ATTR_CPS")?,
            7 => s.in_pps = get("STATS_ATTR_INPPS")?,
            8 => s.out_pps = get("STATS_ATTR_OUTPPS")?,
            9 => s.in_bps = get("STATS_ATTR_INBPS")?,
            10 => s.out_bps = get("STATS_ATTR_OUTBPS")?,
            _ => {}
        }
    }
    Ok(s)
}

/// Statistics from the 64-bit set if present, else the 32-bit one.
fn pick_stats(s32: Option<&[u8]>, s64: Option<&[u8]>) -> Result<Stats, DecodeError> {
    match (s64, s32) {
        (Some(b), _) => decode_stats(b, true),
        (None, Some(b)) => decode_stats(b, false),
        (None, None) => Ok(Stats::default()),
    }
}

fn family_attr(a: &Attr<'_>, name: &'static str) -> Result<Family, DecodeError> {
    let raw = a.u16(name)?;
    Family::from_raw(raw).ok_or(DecodeError::BadValue {
        attr: name,
        value: u64::from(raw),
    })
}

/// Decodes the nested service attributes (the contents of
/// `IPVS_CMD_ATTR_SERVICE`).
pub fn decode_service_attrs(bytes: &[u8]) -> Result<ServiceEntry, DecodeError> {
    let mut af = None;
    let mut protocol = None;
    let mut addr = None;
    let mut port = None;
    let mut fwmark = None;
    let mut sched = None;
    let mut flags = None;
    let mut timeout = 0;
    let mut netmask = None;
    let mut pe_name = None;
    let mut s32 = None;
    let mut s64 = None;
    for a in Attrs::new(bytes) {
        let a = a?;
        match a.ty {
            svc_attr::AF => af = Some(family_attr(&a, "IPVS_SVC_ATTR_AF")?),
            svc_attr::PROTOCOL => protocol = Some(a.u16("IPVS_SVC_ATTR_PROTOCOL")?),
            svc_attr::ADDR => addr = Some(a),
            svc_attr::PORT => port = Some(a.be16("IPVS_SVC_ATTR_PORT")?),
            svc_attr::FWMARK => fwmark = Some(a.u32("IPVS_SVC_ATTR_FWMARK")?),
            svc_attr::SCHED_NAME => sched = Some(a.str("IPVS_SVC_ATTR_SCHED_NAME")?),
            svc_attr::FLAGS => {
                let b = a.payload.get(..4).ok_or(DecodeError::BadLength {
                    attr: "IPVS_SVC_ATTR_FLAGS",
                    len: a.payload.len(),
                    expected: "8",
                })?;
                flags = Some(u32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
            }
            svc_attr::TIMEOUT => timeout = a.u32("IPVS_SVC_ATTR_TIMEOUT")?,
            svc_attr::NETMASK => netmask = Some(a.fixed::<4>("IPVS_SVC_ATTR_NETMASK")?),
            svc_attr::PE_NAME => pe_name = Some(a.str("IPVS_SVC_ATTR_PE_NAME")?.to_owned()),
            svc_attr::STATS => s32 = Some(a.payload),
            svc_attr::STATS64 => s64 = Some(a.payload),
            _ => {}
        }
    }
    let family = af.ok_or(DecodeError::Missing("IPVS_SVC_ATTR_AF"))?;
    let key = match fwmark.filter(|&m| m != 0) {
        Some(mark) => ServiceKey::Fwmark { mark, family },
        None => {
            let raw = protocol.ok_or(DecodeError::Missing("IPVS_SVC_ATTR_PROTOCOL"))?;
            let protocol = Protocol::from_raw(raw).ok_or(DecodeError::BadValue {
                attr: "IPVS_SVC_ATTR_PROTOCOL",
                value: u64::from(raw),
            })?;
            let addr = addr
                .ok_or(DecodeError::Missing("IPVS_SVC_ATTR_ADDR"))?
                .inet_addr("IPVS_SVC_ATTR_ADDR", family)?;
            let port = port.ok_or(DecodeError::Missing("IPVS_SVC_ATTR_PORT"))?;
            ServiceKey::Addr {
                addr,
                port,
                protocol,
            }
        }
    };
    let netmask = match netmask {
        None => family.max_prefix(),
        Some(b) => match family {
            Family::Inet => {
                let m = u32::from_be_bytes(b);
                let p = m.leading_ones();
                if m.checked_shl(p).unwrap_or(0) != 0 {
                    return Err(DecodeError::BadValue {
                        attr: "IPVS_SVC_ATTR_NETMASK",
                        value: u64::from(m),
                    });
                }
                p as u8
            }
            Family::Inet6 => {
                let p = u32::from_ne_bytes(b);
                u8::try_from(p)
                    .ok()
                    .filter(|&p| p <= 128)
                    .ok_or(DecodeError::BadValue {
                        attr: "IPVS_SVC_ATTR_NETMASK",
                        value: u64::from(p),
                    })?
            }
        },
    };
    Ok(ServiceEntry {
        service: Service {
            key,
            scheduler: sched
                .ok_or(DecodeError::Missing("IPVS_SVC_ATTR_SCHED_NAME"))?
                .to_owned(),
            flags: ServiceFlags(flags.ok_or(DecodeError::Missing("IPVS_SVC_ATTR_FLAGS"))?),
            timeout,
            netmask,
            pe_name,
        },
        stats: pick_stats(s32, s64)?,
    })
}

/// Decodes one service of a `GetService` answer (command `NewService`).
pub fn decode_service(payload: &[u8]) -> Result<ServiceEntry, DecodeError> {
    let attrs = expect_cmd(payload, Command::NewService)?;
    decode_service_attrs(nested(attrs, cmd_attr::SERVICE, "IPVS_CMD_ATTR_SERVICE")?)
}

/// Decodes the nested destination attributes; `service_family` is used
/// when the kernel does not say the destination's own family.
pub fn decode_dest_attrs(
    bytes: &[u8],
    service_family: Family,
) -> Result<DestinationEntry, DecodeError> {
    let mut addr = None;
    let mut af = None;
    let mut port = None;
    let mut fwd = None;
    let mut weight = None;
    let mut uth = 0;
    let mut lth = 0;
    let mut active = 0;
    let mut inactive = 0;
    let mut persist = 0;
    let mut tun_type = 0;
    let mut tun_port = 0;
    let mut tun_flags = 0;
    let mut s32 = None;
    let mut s64 = None;
    for a in Attrs::new(bytes) {
        let a = a?;
        match a.ty {
            dest_attr::ADDR => addr = Some(a),
            dest_attr::PORT => port = Some(a.be16("IPVS_DEST_ATTR_PORT")?),
            dest_attr::FWD_METHOD => fwd = Some(a.u32("IPVS_DEST_ATTR_FWD_METHOD")?),
            dest_attr::WEIGHT => weight = Some(a.u32("IPVS_DEST_ATTR_WEIGHT")?),
            dest_attr::U_THRESH => uth = a.u32("IPVS_DEST_ATTR_U_THRESH")?,
            dest_attr::L_THRESH => lth = a.u32("IPVS_DEST_ATTR_L_THRESH")?,
            dest_attr::ACTIVE_CONNS => active = a.u32("IPVS_DEST_ATTR_ACTIVE_CONNS")?,
            dest_attr::INACT_CONNS => inactive = a.u32("IPVS_DEST_ATTR_INACT_CONNS")?,
            dest_attr::PERSIST_CONNS => persist = a.u32("IPVS_DEST_ATTR_PERSIST_CONNS")?,
            dest_attr::STATS => s32 = Some(a.payload),
            dest_attr::ADDR_FAMILY => af = Some(family_attr(&a, "IPVS_DEST_ATTR_ADDR_FAMILY")?),
            dest_attr::STATS64 => s64 = Some(a.payload),
            dest_attr::TUN_TYPE => tun_type = a.u8("IPVS_DEST_ATTR_TUN_TYPE")?,
            dest_attr::TUN_PORT => tun_port = a.be16("IPVS_DEST_ATTR_TUN_PORT")?,
            dest_attr::TUN_FLAGS => tun_flags = a.u16("IPVS_DEST_ATTR_TUN_FLAGS")?,
            _ => {}
        }
    }
    let family = af.unwrap_or(service_family);
    let addr = addr
        .ok_or(DecodeError::Missing("IPVS_DEST_ATTR_ADDR"))?
        .inet_addr("IPVS_DEST_ATTR_ADDR", family)?;
    let fwd = fwd.ok_or(DecodeError::Missing("IPVS_DEST_ATTR_FWD_METHOD"))?;
    let forward = match fwd & FWD_MASK {
        0 => ForwardMethod::Masq,
        1 => ForwardMethod::Local,
        2 => ForwardMethod::Tunnel(Tunnel {
            kind: TunnelType::from_raw(tun_type).ok_or(DecodeError::BadValue {
                attr: "IPVS_DEST_ATTR_TUN_TYPE",
                value: u64::from(tun_type),
            })?,
            port: tun_port,
            flags: TunnelFlags(tun_flags),
        }),
        3 => ForwardMethod::Route,
        4 => ForwardMethod::Bypass,
        other => {
            return Err(DecodeError::BadValue {
                attr: "IPVS_DEST_ATTR_FWD_METHOD",
                value: u64::from(other),
            });
        }
    };
    Ok(DestinationEntry {
        destination: Destination {
            addr,
            port: port.ok_or(DecodeError::Missing("IPVS_DEST_ATTR_PORT"))?,
            forward,
            weight: weight.ok_or(DecodeError::Missing("IPVS_DEST_ATTR_WEIGHT"))?,
            upper_threshold: uth,
            lower_threshold: lth,
        },
        active_conns: active,
        inactive_conns: inactive,
        persist_conns: persist,
        stats: pick_stats(s32, s64)?,
    })
}

/// Decodes one destination of a `GetDest` answer (command `NewDest`).
pub fn decode_dest(
    payload: &[u8],
    service_family: Family,
) -> Result<DestinationEntry, DecodeError> {
    let attrs = expect_cmd(payload, Command::NewDest)?;
    decode_dest_attrs(
        nested(attrs, cmd_attr::DEST, "IPVS_CMD_ATTR_DEST")?,
        service_family,
    )
}

/// Decodes one daemon of a `GetDaemon` answer (command `NewDaemon`).
pub fn decode_daemon(payload: &[u8]) -> Result<SyncDaemon, DecodeError> {
    let attrs = expect_cmd(payload, Command::NewDaemon)?;
    let bytes = nested(attrs, cmd_attr::DAEMON, "IPVS_CMD_ATTR_DAEMON")?;
    let mut state = None;
    let mut ifname = None;
    let mut sync_id = None;
    let mut d = SyncDaemon::new(SyncState::Master, "", 0);
    for a in Attrs::new(bytes) {
        let a = a?;
        match a.ty {
            daemon_attr::STATE => {
                let raw = a.u32("IPVS_DAEMON_ATTR_STATE")?;
                state = Some(SyncState::from_raw(raw).ok_or(DecodeError::BadValue {
                    attr: "IPVS_DAEMON_ATTR_STATE",
                    value: u64::from(raw),
                })?);
            }
            daemon_attr::MCAST_IFN => ifname = Some(a.str("IPVS_DAEMON_ATTR_MCAST_IFN")?),
            daemon_attr::SYNC_ID => sync_id = Some(a.u32("IPVS_DAEMON_ATTR_SYNC_ID")?),
            daemon_attr::SYNC_MAXLEN => d.max_len = Some(a.u16("IPVS_DAEMON_ATTR_SYNC_MAXLEN")?),
            daemon_attr::MCAST_GROUP => {
                let b = a.fixed::<4>("IPVS_DAEMON_ATTR_MCAST_GROUP")?;
                d.mcast_group = Some(IpAddr::V4(Ipv4Addr::from(b)));
            }
            daemon_attr::MCAST_GROUP6 => {
                let b = a.fixed::<16>("IPVS_DAEMON_ATTR_MCAST_GROUP6")?;
                d.mcast_group = Some(IpAddr::V6(Ipv6Addr::from(b)));
            }
            daemon_attr::MCAST_PORT => d.mcast_port = Some(a.u16("IPVS_DAEMON_ATTR_MCAST_PORT")?),
            daemon_attr::MCAST_TTL => d.mcast_ttl = Some(a.u8("IPVS_DAEMON_ATTR_MCAST_TTL")?),
            _ => {}
        }
    }
    d.state = state.ok_or(DecodeError::Missing("IPVS_DAEMON_ATTR_STATE"))?;
    d.ifname = ifname
        .ok_or(DecodeError::Missing("IPVS_DAEMON_ATTR_MCAST_IFN"))?
        .to_owned();
    d.sync_id = sync_id.ok_or(DecodeError::Missing("IPVS_DAEMON_ATTR_SYNC_ID"))?;
    Ok(d)
}

/// Decodes a `GetConfig` answer (command `SetConfig`).
pub fn decode_timeouts(payload: &[u8]) -> Result<Timeouts, DecodeError> {
    let attrs = expect_cmd(payload, Command::SetConfig)?;
    let mut t = Timeouts::default();
    for a in Attrs::new(attrs) {
        let a = a?;
        match a.ty {
            cmd_attr::TIMEOUT_TCP => t.tcp = a.u32("IPVS_CMD_ATTR_TIMEOUT_TCP")?,
            cmd_attr::TIMEOUT_TCP_FIN => t.tcp_fin = a.u32("IPVS_CMD_ATTR_TIMEOUT_TCP_FIN")?,
            cmd_attr::TIMEOUT_UDP => t.udp = a.u32("IPVS_CMD_ATTR_TIMEOUT_UDP")?,
            _ => {}
        }
    }
    Ok(t)
}

/// Decodes a `GetInfo` answer (command `SetInfo`).
pub fn decode_info(payload: &[u8]) -> Result<Info, DecodeError> {
    let attrs = expect_cmd(payload, Command::SetInfo)?;
    let version = find(attrs, info_attr::VERSION)?
        .ok_or(DecodeError::Missing("IPVS_INFO_ATTR_VERSION"))?
        .u32("IPVS_INFO_ATTR_VERSION")?;
    let conn_table_size = find(attrs, info_attr::CONN_TAB_SIZE)?
        .ok_or(DecodeError::Missing("IPVS_INFO_ATTR_CONN_TAB_SIZE"))?
        .u32("IPVS_INFO_ATTR_CONN_TAB_SIZE")?;
    Ok(Info {
        version,
        conn_table_size,
    })
}

// ---------------------------------------------------------------------------
// Answers built the way the kernel builds them (for tests and fuzzing)

/// Encodes `entry` the way the kernel answers `GetService` (a
/// `NewService` message with the statistics), so that decoding can be
/// tested without a kernel.
pub fn encode_service_answer(entry: &ServiceEntry) -> Vec<u8> {
    let svc = &entry.service;
    let mut w = AttrWriter::genl(Command::NewService as u8, VERSION);
    let n = w.begin_nested(cmd_attr::SERVICE);
    put_service_key(&mut w, &svc.key);
    w.put_str(svc_attr::SCHED_NAME, &svc.scheduler);
    if let Some(pe) = &svc.pe_name {
        w.put_str(svc_attr::PE_NAME, pe);
    }
    let mut fl = [0u8; 8];
    fl[..4].copy_from_slice(&svc.flags.0.to_ne_bytes());
    fl[4..].copy_from_slice(&u32::MAX.to_ne_bytes());
    w.put(svc_attr::FLAGS, &fl);
    w.put_u32(svc_attr::TIMEOUT, svc.timeout);
    w.put(
        svc_attr::NETMASK,
        &netmask_bytes(svc.key.family(), svc.netmask),
    );
    put_stats(&mut w, svc_attr::STATS, svc_attr::STATS64, &entry.stats);
    w.end_nested(n);
    w.finish()
}

/// Encodes `entry` the way the kernel answers `GetDest`.
pub fn encode_dest_answer(entry: &DestinationEntry) -> Vec<u8> {
    let d = &entry.destination;
    let mut w = AttrWriter::genl(Command::NewDest as u8, VERSION);
    let n = w.begin_nested(cmd_attr::DEST);
    w.put_inet_addr(dest_attr::ADDR, d.addr);
    w.put_be16(dest_attr::PORT, d.port);
    w.put_u32(dest_attr::FWD_METHOD, d.forward.to_raw());
    w.put_u32(dest_attr::WEIGHT, d.weight);
    let t = match d.forward {
        ForwardMethod::Tunnel(t) => t,
        _ => Tunnel::IPIP,
    };
    w.put_u8(dest_attr::TUN_TYPE, t.kind.to_raw());
    w.put_be16(dest_attr::TUN_PORT, t.port);
    w.put_u16(dest_attr::TUN_FLAGS, t.flags.0);
    w.put_u32(dest_attr::U_THRESH, d.upper_threshold);
    w.put_u32(dest_attr::L_THRESH, d.lower_threshold);
    w.put_u32(dest_attr::ACTIVE_CONNS, entry.active_conns);
    w.put_u32(dest_attr::INACT_CONNS, entry.inactive_conns);
    w.put_u32(dest_attr::PERSIST_CONNS, entry.persist_conns);
    w.put_u16(dest_attr::ADDR_FAMILY, Family::of(&d.addr).to_raw());
    put_stats(&mut w, dest_attr::STATS, dest_attr::STATS64, &entry.stats);
    w.end_nested(n);
    w.finish()
}

/// Encodes `d` the way the kernel answers `GetDaemon`.
pub fn encode_daemon_answer(d: &SyncDaemon) -> Vec<u8> {
    let mut b = encode_daemon(d);
    if let Some(c) = b.first_mut() {
        *c = Command::NewDaemon as u8;
    }
    b
}

/// Encodes `t` the way the kernel answers `GetConfig`.
pub fn encode_timeouts_answer(t: &Timeouts) -> Vec<u8> {
    encode_timeouts(t)
}

/// Encodes `i` the way the kernel answers `GetInfo`.
pub fn encode_info_answer(i: &Info) -> Vec<u8> {
    let mut w = AttrWriter::genl(Command::SetInfo as u8, VERSION);
    w.put_u32(info_attr::VERSION, i.version);
    w.put_u32(info_attr::CONN_TAB_SIZE, i.conn_table_size);
    w.finish()
}

fn put_stats(w: &mut AttrWriter, ty32: u16, ty64: u16, s: &Stats) {
    let vals = [
        s.conns,
        s.in_packets,
        s.out_packets,
        s.in_bytes,
        s.out_bytes,
        s.cps,
        s.in_pps,
        s.out_pps,
        s.in_bps,
        s.out_bps,
    ];
    let n = w.begin_nested(ty32);
    for (i, v) in vals.iter().enumerate() {
        let ty = i as u16 + 1;
        if ty == 4 || ty == 5 {
            w.put(ty, &v.to_ne_bytes());
        } else {
            // The 32-bit set truncates, as the kernel does.
            w.put_u32(ty, *v as u32);
        }
    }
    w.end_nested(n);
    let n = w.begin_nested(ty64);
    for (i, v) in vals.iter().enumerate() {
        w.put(i as u16 + 1, &v.to_ne_bytes());
    }
    w.end_nested(n);
}

/// Decodes `data` as every kind of IPVS answer; for the fuzzer and for
/// tests. Never panics; a successful decode re-encodes and decodes to the
/// same value.
#[doc(hidden)]
pub fn fuzz_decode(data: &[u8]) {
    if let Ok(e) = decode_service(data) {
        let again = decode_service(&encode_service_answer(&e));
        assert_eq!(again.as_ref().ok(), Some(&e), "service round trip");
    }
    for fam in [Family::Inet, Family::Inet6] {
        if let Ok(e) = decode_dest(data, fam) {
            let again = decode_dest(&encode_dest_answer(&e), fam);
            assert_eq!(again.as_ref().ok(), Some(&e), "destination round trip");
        }
    }
    if let Ok(d) = decode_daemon(data) {
        let again = decode_daemon(&encode_daemon_answer(&d));
        assert_eq!(again.as_ref().ok(), Some(&d), "daemon round trip");
    }
    let _ = decode_timeouts(data);
    let _ = decode_info(data);
    let _ = decode_family_id(data);
    for a in Attrs::new(data).flatten() {
        let _ = a.str("x");
        let _ = a.inet_addr("x", Family::Inet6);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(a, b, c, d))
    }

    /// `ipvsadm -A -t 10.0.0.1:80 -s rr`, laid out by hand from
    /// `ip_vs.h` (x86 byte order for the host-order fields).
    #[cfg(target_endian = "little")]
    #[test]
    fn new_service_golden_bytes() {
        let svc = Service::new(ServiceKey::tcp(Ipv4Addr::new(10, 0, 0, 1), 80), "rr");
        let got = encode_service(Command::NewService, &svc);
        #[rustfmt::skip]
        let want: Vec<u8> = vec![
            0x01, 0x01, 0x00, 0x00,             // genl: NEW_SERVICE, version 1
            0x54, 0x00, 0x01, 0x80,             // IPVS_CMD_ATTR_SERVICE (nested), 84 bytes
            0x06, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, // AF = AF_INET
            0x06, 0x00, 0x02, 0x00, 0x06, 0x00, 0x00, 0x00, // PROTOCOL = TCP
            0x14, 0x00, 0x03, 0x00, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // ADDR
            0x06, 0x00, 0x04, 0x00, 0x00, 0x50, 0x00, 0x00, // PORT = 80, big endian
            0x07, 0x00, 0x06, 0x00, b'r', b'r', 0x00, 0x00, // SCHED_NAME "rr\0"
            0x0c, 0x00, 0x07, 0x00, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, // FLAGS, mask
            0x08, 0x00, 0x08, 0x00, 0, 0, 0, 0,             // TIMEOUT = 0
            0x08, 0x00, 0x09, 0x00, 0xff, 0xff, 0xff, 0xff, // NETMASK = /32
        ];
        assert_eq!(got, want);
    }

    /// `ipvsadm -a -t 10.0.0.1:80 -r 10.0.1.2:8080 -m -w 3 -x 10 -y 5`.
    #[cfg(target_endian = "little")]
    #[test]
    fn new_dest_golden_bytes() {
        let key = ServiceKey::tcp(Ipv4Addr::new(10, 0, 0, 1), 80);
        let d = Destination::new(Ipv4Addr::new(10, 0, 1, 2), 8080, ForwardMethod::Masq)
            .weight(3)
            .thresholds(5, 10);
        let got = encode_dest(Command::NewDest, &key, &d);
        #[rustfmt::skip]
        let want: Vec<u8> = vec![
            0x05, 0x01, 0x00, 0x00,
            0x30, 0x00, 0x01, 0x80,             // SERVICE (key only), 48 bytes
            0x06, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00,
            0x06, 0x00, 0x02, 0x00, 0x06, 0x00, 0x00, 0x00,
            0x14, 0x00, 0x03, 0x00, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0x06, 0x00, 0x04, 0x00, 0x00, 0x50, 0x00, 0x00,
            0x48, 0x00, 0x02, 0x80,             // DEST, 72 bytes
            0x06, 0x00, 0x0b, 0x00, 0x02, 0x00, 0x00, 0x00, // ADDR_FAMILY
            0x14, 0x00, 0x01, 0x00, 10, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0x06, 0x00, 0x02, 0x00, 0x1f, 0x90, 0x00, 0x00, // PORT 8080
            0x08, 0x00, 0x03, 0x00, 0, 0, 0, 0,             // FWD_METHOD = MASQ
            0x08, 0x00, 0x04, 0x00, 3, 0, 0, 0,             // WEIGHT
            0x08, 0x00, 0x05, 0x00, 10, 0, 0, 0,            // U_THRESH
            0x08, 0x00, 0x06, 0x00, 5, 0, 0, 0,             // L_THRESH
        ];
        assert_eq!(got, want);
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn family_request_and_answer() {
        assert_eq!(
            encode_get_family("IPVS"),
            vec![3, 1, 0, 0, 9, 0, 2, 0, b'I', b'P', b'V', b'S', 0, 0, 0, 0]
        );
        // CTRL_CMD_NEWFAMILY with FAMILY_NAME then FAMILY_ID = 0x1b.
        let answer = [
            1, 2, 0, 0, 9, 0, 2, 0, b'I', b'P', b'V', b'S', 0, 0, 0, 0, 6, 0, 1, 0, 0x1b, 0, 0, 0,
        ];
        assert_eq!(decode_family_id(&answer), Ok(0x1b));
        assert_eq!(
            decode_family_id(&answer[..16]),
            Err(DecodeError::Missing("CTRL_ATTR_FAMILY_ID"))
        );
    }

    /// Parses strace's `-xx` rendering of a netlink payload.
    fn unhex(s: &str) -> Vec<u8> {
        s.split("\\x")
            .filter(|h| !h.is_empty())
            .map(|h| u8::from_str_radix(h, 16).expect("hex"))
            .collect()
    }

    /// Payloads that ipvsadm 1.31 (libnl) sent to Debian's 6.1 kernel,
    /// captured with `strace -e trace=sendmsg -xx` in the VM of
    /// `scripts/vm-test.sh`; ours must be the same bytes.
    #[cfg(target_endian = "little")]
    #[test]
    fn requests_match_ipvsadm_captures() {
        // ipvsadm -A -t 10.0.0.1:80 -s rr
        let svc = Service::new(ServiceKey::tcp(Ipv4Addr::new(10, 0, 0, 1), 80), "rr");
        assert_eq!(
            encode_service(Command::NewService, &svc),
            unhex(concat!(
                r"\x01\x01\x00\x00\x54\x00\x01\x80\x06\x00\x01\x00\x02\x00\x00\x00",
                r"\x06\x00\x02\x00\x06\x00\x00\x00\x14\x00\x03\x00\x0a\x00\x00\x01",
                r"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x06\x00\x04\x00",
                r"\x00\x50\x00\x00\x07\x00\x06\x00\x72\x72\x00\x00\x0c\x00\x07\x00",
                r"\x00\x00\x00\x00\xff\xff\xff\xff\x08\x00\x08\x00\x00\x00\x00\x00",
                r"\x08\x00\x09\x00\xff\xff\xff\xff"
            ))
        );
        // ipvsadm -A -f 7 -s wrr -p 60 -M 255.255.255.0
        let svc = Service::new(ServiceKey::fwmark(7), "wrr")
            .persistent(60)
            .netmask(24);
        assert_eq!(
            encode_service(Command::NewService, &svc),
            unhex(concat!(
                r"\x01\x01\x00\x00\x38\x00\x01\x80\x06\x00\x01\x00\x02\x00\x00\x00",
                r"\x08\x00\x05\x00\x07\x00\x00\x00\x08\x00\x06\x00\x77\x72\x72\x00",
                r"\x0c\x00\x07\x00\x01\x00\x00\x00\xff\xff\xff\xff\x08\x00\x08\x00",
                r"\x3c\x00\x00\x00\x08\x00\x09\x00\xff\xff\xff\x00"
            ))
        );
        // ipvsadm --start-daemon master --mcast-interface lo --syncid 5
        assert_eq!(
            encode_daemon(&SyncDaemon::new(SyncState::Master, "lo", 5)),
            unhex(concat!(
                r"\x09\x01\x00\x00\x1c\x00\x03\x80\x08\x00\x01\x00\x01\x00\x00\x00",
                r"\x07\x00\x02\x00\x6c\x6f\x00\x00\x08\x00\x03\x00\x05\x00\x00\x00"
            ))
        );
        // ipvsadm --set 100 20 30
        let t = Timeouts {
            tcp: 100,
            tcp_fin: 20,
            udp: 30,
        };
        assert_eq!(
            encode_timeouts(&t),
            unhex(concat!(
                r"\x0c\x01\x00\x00\x08\x00\x04\x00\x64\x00\x00\x00\x08\x00\x05\x00",
                r"\x14\x00\x00\x00\x08\x00\x06\x00\x1e\x00\x00\x00"
            ))
        );
        // ipvsadm's first question: the family, then GET_INFO.
        assert_eq!(
            encode_get_family(FAMILY_NAME),
            unhex(r"\x03\x01\x00\x00\x09\x00\x02\x00\x49\x50\x56\x53\x00\x00\x00\x00")
        );
        assert_eq!(encode_empty(Command::GetInfo), unhex(r"\x0f\x01\x00\x00"));
    }

    #[test]
    fn v4_netmask_is_a_network_order_mask_v6_a_prefix_length() {
        assert_eq!(netmask_bytes(Family::Inet, 24), [255, 255, 255, 0]);
        assert_eq!(netmask_bytes(Family::Inet, 0), [0, 0, 0, 0]);
        assert_eq!(netmask_bytes(Family::Inet6, 64), 64u32.to_ne_bytes());
    }

    fn sample_stats() -> Stats {
        Stats {
            conns: 7,
            in_packets: 100,
            out_packets: 90,
            in_bytes: 5_000_000_000,
            out_bytes: 12345,
            cps: 1,
            in_pps: 2,
            out_pps: 3,
            in_bps: 4,
            out_bps: 5,
        }
    }

    #[test]
    fn services_round_trip() {
        let services = [
            Service::new(ServiceKey::tcp(Ipv4Addr::new(192, 0, 2, 1), 80), "rr"),
            Service::new(ServiceKey::udp(Ipv6Addr::LOCALHOST, 53), "wlc")
                .persistent(300)
                .netmask(64),
            Service::new(ServiceKey::sctp(Ipv4Addr::new(192, 0, 2, 9), 9), "sh")
                .flags(ServiceFlags::SH_PORT | ServiceFlags::SH_FALLBACK | ServiceFlags::HASHED),
            Service::new(ServiceKey::fwmark(7), "wrr")
                .persistent(60)
                .netmask(24),
            Service::new(ServiceKey::fwmark6(8), "mh").flags(ServiceFlags::ONE_PACKET),
            Service {
                pe_name: Some("sip".into()),
                ..Service::new(ServiceKey::udp(Ipv4Addr::new(192, 0, 2, 3), 5060), "rr")
                    .persistent(10)
            },
        ];
        for svc in services {
            let entry = ServiceEntry {
                service: svc,
                stats: sample_stats(),
            };
            let bytes = encode_service_answer(&entry);
            assert_eq!(decode_service(&bytes), Ok(entry.clone()), "{entry:?}");
            // The request carries the same settings (its nested service
            // decodes to the same, without statistics).
            let req = encode_service(Command::NewService, &entry.service);
            let (cmd, attrs) = split_genl(&req).expect("header");
            assert_eq!(cmd, Command::NewService as u8);
            let inner = nested(attrs, cmd_attr::SERVICE, "svc").expect("nested");
            let mut want = entry.service.clone();
            want.flags = want.flags.without(ServiceFlags::HASHED);
            assert_eq!(
                decode_service_attrs(inner).map(|e| e.service),
                Ok(want),
                "request"
            );
        }
    }

    #[test]
    fn destinations_round_trip() {
        let tunnels = [
            ForwardMethod::Masq,
            ForwardMethod::Route,
            ForwardMethod::Local,
            ForwardMethod::Bypass,
            ForwardMethod::Tunnel(Tunnel::IPIP),
            ForwardMethod::Tunnel(Tunnel {
                kind: TunnelType::Gue,
                port: 6080,
                flags: TunnelFlags::REMCSUM,
            }),
            ForwardMethod::Tunnel(Tunnel {
                kind: TunnelType::Gre,
                port: 0,
                flags: TunnelFlags::CSUM,
            }),
        ];
        for (i, fwd) in tunnels.into_iter().enumerate() {
            let addr = if i % 2 == 0 {
                v4(10, 0, 0, i as u8)
            } else {
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, i as u16))
            };
            let entry = DestinationEntry {
                destination: Destination::new(addr, 8000 + i as u16, fwd)
                    .weight(i as u32)
                    .thresholds(2, 20),
                active_conns: 1,
                inactive_conns: 2,
                persist_conns: 3,
                stats: sample_stats(),
            };
            let bytes = encode_dest_answer(&entry);
            // The destination's own family wins over the service's.
            assert_eq!(decode_dest(&bytes, Family::Inet), Ok(entry));
            let req = encode_dest(Command::NewDest, &ServiceKey::fwmark(1), &entry.destination);
            let (_, attrs) = split_genl(&req).expect("header");
            let inner = nested(attrs, cmd_attr::DEST, "dest").expect("nested");
            assert_eq!(
                decode_dest_attrs(inner, Family::Inet).map(|e| e.destination),
                Ok(entry.destination)
            );
        }
    }

    #[test]
    fn stats_fall_back_to_32_bit_set() {
        let mut w = AttrWriter::genl(Command::NewDest as u8, VERSION);
        let n = w.begin_nested(cmd_attr::DEST);
        w.put_inet_addr(dest_attr::ADDR, v4(1, 2, 3, 4));
        w.put_be16(dest_attr::PORT, 80);
        w.put_u32(dest_attr::FWD_METHOD, 3);
        w.put_u32(dest_attr::WEIGHT, 1);
        let s = w.begin_nested(dest_attr::STATS);
        w.put_u32(1, 42);
        w.put(4, &99u64.to_ne_bytes());
        w.end_nested(s);
        w.end_nested(n);
        let e = decode_dest(&w.finish(), Family::Inet).expect("decodes");
        assert_eq!(e.stats.conns, 42);
        assert_eq!(e.stats.in_bytes, 99);
        assert_eq!(e.destination.forward, ForwardMethod::Route);
    }

    #[test]
    fn daemons_timeouts_info_round_trip() {
        let mut d = SyncDaemon::new(SyncState::Backup, "eth1", 9);
        assert_eq!(decode_daemon(&encode_daemon_answer(&d)), Ok(d.clone()));
        d.max_len = Some(1472);
        d.mcast_group = Some("ff02::8".parse().expect("addr"));
        d.mcast_port = Some(8848);
        d.mcast_ttl = Some(2);
        assert_eq!(decode_daemon(&encode_daemon_answer(&d)), Ok(d.clone()));
        d.mcast_group = Some(v4(224, 0, 0, 81));
        assert_eq!(decode_daemon(&encode_daemon_answer(&d)), Ok(d.clone()));
        // A request is not an answer.
        assert_eq!(
            decode_daemon(&encode_daemon_stop(SyncState::Master)),
            Err(DecodeError::UnexpectedCommand(Command::DelDaemon as u8))
        );

        let t = Timeouts {
            tcp: 900,
            tcp_fin: 120,
            udp: 300,
        };
        assert_eq!(decode_timeouts(&encode_timeouts_answer(&t)), Ok(t));
        let i = Info {
            version: 0x010201,
            conn_table_size: 4096,
        };
        assert_eq!(decode_info(&encode_info_answer(&i)), Ok(i));
        assert_eq!(i.version_triple(), (1, 2, 1));
    }

    #[test]
    fn malformed_answers_are_errors() {
        assert_eq!(
            decode_service(&[1, 1]),
            Err(DecodeError::Truncated("generic netlink header"))
        );
        // An attribute claiming more bytes than there are.
        assert_eq!(
            decode_service(&[1, 1, 0, 0, 0x40, 0, 1, 0, 0, 0]),
            Err(DecodeError::Truncated("attribute"))
        );
        // A service without its family.
        assert_eq!(
            decode_service(&[1, 1, 0, 0, 4, 0, 1, 0]),
            Err(DecodeError::Missing("IPVS_SVC_ATTR_AF"))
        );
        // A non-contiguous IPv4 netmask.
        let svc = Service::new(ServiceKey::fwmark(3), "rr");
        let mut bytes = encode_service_answer(&ServiceEntry {
            service: svc,
            stats: Stats::default(),
        });
        let at = bytes
            .windows(8)
            .position(|w| w == [8, 0, 9, 0, 255, 255, 255, 255])
            .expect("netmask attribute");
        bytes[at + 4..at + 8].copy_from_slice(&[255, 0, 255, 0]);
        assert!(matches!(
            decode_service(&bytes),
            Err(DecodeError::BadValue {
                attr: "IPVS_SVC_ATTR_NETMASK",
                ..
            })
        ));
        // Wrong attribute sizes.
        let mut w = AttrWriter::genl(Command::SetInfo as u8, VERSION);
        w.put_u16(info_attr::VERSION, 1);
        assert!(matches!(
            decode_info(&w.finish()),
            Err(DecodeError::BadLength { .. })
        ));
    }

    #[test]
    fn unknown_attributes_and_nested_flag_are_accepted() {
        let i = Info {
            version: 1,
            conn_table_size: 2,
        };
        let mut bytes = encode_info_answer(&i);
        bytes.extend_from_slice(&[8, 0, 0x7f, 0, 1, 2, 3, 4]);
        assert_eq!(decode_info(&bytes), Ok(i));
        // The kernel answers without NLA_F_NESTED on the outer attribute.
        let entry = ServiceEntry {
            service: Service::new(ServiceKey::tcp(Ipv4Addr::LOCALHOST, 1), "rr"),
            stats: Stats::default(),
        };
        let mut bytes = encode_service_answer(&entry);
        assert_eq!(bytes[7], 0x80);
        bytes[7] &= !0x80;
        assert_eq!(decode_service(&bytes), Ok(entry));
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics() {
        // A small deterministic generator: mutations of valid answers and
        // pure noise, through the same oracle as the fuzz target.
        let mut seeds = vec![
            encode_service_answer(&ServiceEntry {
                service: Service::new(ServiceKey::tcp(Ipv4Addr::LOCALHOST, 80), "rr"),
                stats: sample_stats(),
            }),
            encode_dest_answer(&DestinationEntry {
                destination: Destination::new(v4(1, 1, 1, 1), 80, ForwardMethod::Masq),
                active_conns: 0,
                inactive_conns: 0,
                persist_conns: 0,
                stats: sample_stats(),
            }),
            encode_daemon_answer(&SyncDaemon::new(SyncState::Master, "eth0", 1)),
            encode_info_answer(&Info {
                version: 1,
                conn_table_size: 1,
            }),
        ];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..4000 {
            let base = seeds[round % seeds.len()].clone();
            let mut m = base;
            for _ in 0..(next() % 4 + 1) {
                let len = m.len().max(1);
                let at = (next() as usize) % len;
                match next() % 3 {
                    0 => {
                        if let Some(b) = m.get_mut(at) {
                            *b = next() as u8;
                        }
                    }
                    1 => m.truncate(at),
                    _ => m.insert(at.min(m.len()), next() as u8),
                }
            }
            fuzz_decode(&m);
            if round % 100 == 0 {
                seeds.push(m);
            }
        }
    }
}
