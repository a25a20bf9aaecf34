//! rtnetlink requests through neli: virtual addresses, interface lookups and
//! macvlan interfaces.
//!
//! [`Netlink`] owns one blocking `NETLINK_ROUTE` socket and sends one
//! request at a time, waiting for the kernel's answer (an ACK, an error or
//! the end of a dump). It is meant for configuration changes, not for a
//! fast path; link and address *events* come from
//! [`crate::events::NetEvents`], which is non-blocking.

use std::io::{self, Cursor};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use neli::consts::nl::NlmF;
use neli::consts::rtnl::{
    Ifa, IfaF, Iff, Ifla, IflaInfo, RtAddrFamily, RtScope, RtTable, Rta, Rtm, Rtn, Rtprot,
};
use neli::consts::socket::NlFamily;
use neli::err::SocketError;
use neli::nl::{NlPayload, NlmsghdrBuilder};
use neli::rtnl::{
    Ifaddrmsg, IfaddrmsgBuilder, Ifinfomsg, IfinfomsgBuilder, RtattrBuilder, Rtmsg, RtmsgBuilder,
};
use neli::socket::synchronous::NlSocketHandle;
use neli::types::{Buffer, RtBuffer};
use neli::utils::Groups;
use neli::{FromBytesWithInput, Size, ToBytes};

use crate::error::{Error, Family, Result};
pub use crate::route::Route;

/// `IFNAMSIZ - 1`: the longest interface name (and IPv4 address label).
pub const MAX_IFNAME_LEN: usize = 15;

/// `IFLA_MACVLAN_MODE`, inside `IFLA_INFO_DATA` of a macvlan link.
const IFLA_MACVLAN_MODE: u16 = 1;
/// `MACVLAN_MODE_BRIDGE`: macvlans on one parent talk to each other directly.
const MACVLAN_MODE_BRIDGE: u32 = 4;
/// `IFA_F_NODAD` as carried in the 32-bit `IFA_FLAGS` attribute.
const IFA_F_NODAD_U32: u32 = 0x02;

/// An address as the kernel reports it on one interface.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IfAddr {
    /// The interface the address is on.
    pub ifindex: u32,
    /// The address itself (`IFA_LOCAL` for IPv4, `IFA_ADDRESS` for IPv6).
    pub addr: IpAddr,
    /// The prefix length.
    pub prefix_len: u8,
    /// The IPv4 label (`IFA_LABEL`), e.g. `eth0:vip`; `None` for IPv6.
    pub label: Option<String>,
    /// The `IFA_F_*` flags (from `IFA_FLAGS` when present).
    pub flags: u32,
    /// The scope (`RT_SCOPE_*`: 0 universe, 253 link, 254 host).
    pub scope: u8,
}

impl IfAddr {
    /// `IFA_F_SECONDARY`: an IPv4 address that is not the first of its subnet.
    pub const F_SECONDARY: u32 = 0x01;
    /// `IFA_F_NODAD`: duplicate address detection was skipped.
    pub const F_NODAD: u32 = 0x02;
    /// `IFA_F_TENTATIVE`: IPv6 DAD has not finished.
    pub const F_TENTATIVE: u32 = 0x40;
    /// `IFA_F_PERMANENT`: configured, not learned by autoconfiguration.
    pub const F_PERMANENT: u32 = 0x80;

    /// True for an IPv4 address that is not the primary of its subnet.
    pub fn is_secondary(&self) -> bool {
        self.flags & Self::F_SECONDARY != 0
    }
}

/// An interface's operational state (`IFLA_OPERSTATE`, RFC 2863 values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OperState {
    /// `IF_OPER_UNKNOWN` (drivers that do not report it; look at `running`).
    Unknown,
    /// `IF_OPER_NOTPRESENT`.
    NotPresent,
    /// `IF_OPER_DOWN`.
    Down,
    /// `IF_OPER_LOWERLAYERDOWN` (e.g. a macvlan whose parent is down).
    LowerLayerDown,
    /// `IF_OPER_TESTING`.
    Testing,
    /// `IF_OPER_DORMANT`.
    Dormant,
    /// `IF_OPER_UP`.
    Up,
    /// A value this crate does not know.
    Other(u8),
}

impl From<u8> for OperState {
    fn from(v: u8) -> Self {
        match v {
            0 => OperState::Unknown,
            1 => OperState::NotPresent,
            2 => OperState::Down,
            3 => OperState::LowerLayerDown,
            4 => OperState::Testing,
            5 => OperState::Dormant,
            6 => OperState::Up,
            o => OperState::Other(o),
        }
    }
}

/// What the kernel says about one interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The interface index.
    pub ifindex: u32,
    /// The interface name.
    pub name: String,
    /// The hardware address, if the link type has a 6-byte one.
    pub mac: Option<[u8; 6]>,
    /// `IFF_UP`: administratively up.
    pub admin_up: bool,
    /// `IFF_RUNNING`: the kernel considers the interface operational.
    pub running: bool,
    /// `IFF_LOWER_UP`: the driver signals carrier.
    pub lower_up: bool,
    /// `IFLA_OPERSTATE`.
    pub oper_state: OperState,
    /// `IFLA_MTU`.
    pub mtu: Option<u32>,
    /// `IFLA_LINK`: the parent interface (macvlan, veth peer index...).
    pub parent: Option<u32>,
    /// `IFLA_INFO_KIND`, e.g. `"veth"` or `"macvlan"`.
    pub kind: Option<String>,
}

impl Link {
    /// True if VRRP can run on the interface: administratively up, and
    /// operationally up (or of unknown operational state but running, as
    /// for drivers that do not report `IFLA_OPERSTATE`).
    pub fn is_usable(&self) -> bool {
        self.admin_up
            && match self.oper_state {
                OperState::Up => true,
                OperState::Unknown => self.running,
                _ => false,
            }
    }
}

/// The interface index for `name` (`if_nametoindex(3)`).
pub fn ifindex(name: &str) -> Result<u32> {
    validate_ifname(name)?;
    nix::net::if_::if_nametoindex(name).map_err(|_| Error::NoSuchInterface {
        name: name.to_owned(),
    })
}

/// Checks an interface name the way the kernel does (`dev_valid_name`).
pub fn validate_ifname(name: &str) -> Result<()> {
    let bad = name.is_empty()
        || name.len() > MAX_IFNAME_LEN
        || name == "."
        || name == ".."
        || name
            .bytes()
            .any(|b| b == b'/' || b == b':' || b == 0 || b.is_ascii_whitespace());
    if bad {
        return Err(Error::InvalidIfName {
            name: name.to_owned(),
        });
    }
    Ok(())
}

/// Checks an IPv4 address label for interface `ifname`: the kernel requires
/// it to start with the interface name and to fit `IFNAMSIZ`.
pub fn validate_label(label: &str, ifname: &str) -> Result<()> {
    if !label.starts_with(ifname) || label.len() > MAX_IFNAME_LEN || label.contains('\0') {
        return Err(Error::InvalidLabel {
            label: label.to_owned(),
            ifname: ifname.to_owned(),
        });
    }
    Ok(())
}

/// The VRRP virtual MAC address for `vrid`: `00:00:5e:00:01:{vrid}` for IPv4
/// and `00:00:5e:00:02:{vrid}` for IPv6 ([RFC 9568 §7.3]).
///
/// [RFC 9568 §7.3]: https://www.rfc-editor.org/rfc/rfc9568#section-7.3
pub fn virtual_mac(vrid: vrrp_proto::Vrid, family: Family) -> [u8; 6] {
    let f = match family {
        Family::V4 => 0x01,
        Family::V6 => 0x02,
    };
    [0x00, 0x00, 0x5e, 0x00, f, vrid.get()]
}

/// Converts a neli socket error into an `io::Error`, keeping the OS error
/// where there is one.
pub(crate) fn sock_err(e: SocketError) -> io::Error {
    match e {
        SocketError::Io(arc) => match arc.raw_os_error() {
            Some(code) => io::Error::from_raw_os_error(code),
            None => io::Error::new(arc.kind(), arc.to_string()),
        },
        other => io::Error::new(io::ErrorKind::InvalidData, other.to_string()),
    }
}

fn invalid<E: std::fmt::Display>(e: E) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

/// A blocking rtnetlink handle for configuration requests.
pub struct Netlink {
    sock: NlSocketHandle,
    seq: u32,
}

impl std::fmt::Debug for Netlink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Netlink")
            .field("pid", &self.sock.pid())
            .finish()
    }
}

impl Netlink {
    /// Opens a `NETLINK_ROUTE` socket in the calling thread's network namespace.
    pub fn new() -> Result<Self> {
        let sock =
            NlSocketHandle::connect(NlFamily::Route, None, Groups::empty()).map_err(|e| {
                Error::NetlinkSocket {
                    source: sock_err(e),
                }
            })?;
        // Strict checking makes the kernel honour ifindex filters in dumps
        // (Linux >= 4.20); older kernels ignore it and we filter ourselves.
        let _ = sock.enable_strict_checking(true);
        Ok(Netlink { sock, seq: 0 })
    }

    /// Sends one request and collects the answer: every payload of a dump,
    /// or nothing for an acknowledged change. Kernel errors come back as
    /// `io::Error::from_raw_os_error(errno)`.
    fn request<P>(&mut self, ty: Rtm, flags: NlmF, payload: P) -> io::Result<Vec<P>>
    where
        P: Size + ToBytes + FromBytesWithInput<Input = usize> + std::fmt::Debug,
    {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let dump = flags.contains(NlmF::DUMP);
        let flags = flags | NlmF::REQUEST | if dump { NlmF::empty() } else { NlmF::ACK };
        let msg = NlmsghdrBuilder::default()
            .nl_type(ty)
            .nl_flags(flags)
            .nl_seq(seq)
            .nl_payload(NlPayload::Payload(payload))
            .build()
            .map_err(invalid)?;
        self.sock.send(&msg).map_err(sock_err)?;
        let mut out = Vec::new();
        loop {
            let (iter, _) = self.sock.recv::<u16, Buffer>().map_err(sock_err)?;
            for m in iter {
                let m = m.map_err(sock_err)?;
                if *m.nl_seq() != seq {
                    // A late answer to an earlier request; not ours.
                    continue;
                }
                let ty: u16 = *m.nl_type();
                let len = (*m.nl_len() as usize).saturating_sub(16);
                match m.nl_payload() {
                    NlPayload::Err(e) => return Err(io::Error::from_raw_os_error(-*e.error())),
                    NlPayload::Ack(_) => return Ok(out),
                    NlPayload::DumpExtAck(_) => return Ok(out),
                    NlPayload::Empty => {
                        if ty == libc::NLMSG_DONE as u16 {
                            return Ok(out);
                        }
                    }
                    NlPayload::Payload(buf) => {
                        if ty == libc::NLMSG_DONE as u16 {
                            // Some kernels put an error code in DONE.
                            return Ok(out);
                        }
                        if ty == libc::NLMSG_NOOP as u16 {
                            continue;
                        }
                        let p = P::from_bytes_with_input(
                            &mut Cursor::new(buf.as_ref()),
                            len.min(buf.as_ref().len()),
                        )
                        .map_err(invalid)?;
                        out.push(p);
                    }
                }
            }
        }
    }

    /// Adds `addr/prefix_len` to interface `ifindex`.
    ///
    /// IPv4 addresses may carry a `label` (which must start with the
    /// interface name, see [`validate_label`]); IPv6 addresses are added with
    /// `IFA_F_NODAD`, so that they are usable at once (a VIP moves between
    /// routers and must not wait for, or fail, duplicate address detection).
    ///
    /// Returns `Ok(true)` if the address was added and `Ok(false)` if it was
    /// already there (`EEXIST` is not an error).
    pub fn add_addr(
        &mut self,
        ifindex: u32,
        addr: IpAddr,
        prefix_len: u8,
        label: Option<&str>,
    ) -> Result<bool> {
        check_prefix(addr, prefix_len)?;
        let wrap = |source| Error::AddAddr {
            ifindex,
            addr,
            prefix_len,
            source,
        };
        if let Some(label) = label {
            if addr.is_ipv6() {
                return Err(Error::LabelOnIpv6 { addr });
            }
            let link = self.link(ifindex)?;
            validate_label(label, &link.name)?;
        }
        let msg = addr_msg(ifindex, addr, prefix_len, label).map_err(wrap)?;
        match self.request(Rtm::Newaddr, NlmF::CREATE | NlmF::EXCL, msg) {
            Ok(_) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => Ok(false),
            Err(e) => Err(wrap(e)),
        }
    }

    /// Adds `route` (to the main table unless it names one). Returns
    /// `Ok(false)` if it was already there (`EEXIST` is not an error).
    pub fn add_route(&mut self, route: &Route) -> Result<bool> {
        let wrap = |source| Error::Route {
            op: "adding",
            route: route.clone(),
            source,
        };
        check_prefix(route.dst, route.prefix_len)?;
        let msg = route_msg(route).map_err(wrap)?;
        match self.request(Rtm::Newroute, NlmF::CREATE | NlmF::EXCL, msg) {
            Ok(_) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => Ok(false),
            Err(e) => Err(wrap(e)),
        }
    }

    /// Adds routing policy `rule`. Returns `Ok(false)` if it was already
    /// there (`EEXIST` is not an error).
    pub fn add_rule(&mut self, rule: &crate::rule::Rule) -> Result<bool> {
        let wrap = |source| Error::Rule {
            op: "adding",
            rule: Box::new(rule.clone()),
            source,
        };
        let msg = crate::rule::rule_msg(rule).map_err(wrap)?;
        match self.request(Rtm::Newrule, NlmF::CREATE | NlmF::EXCL, msg) {
            Ok(_) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => Ok(false),
            Err(e) => Err(wrap(e)),
        }
    }

    /// Removes routing policy `rule`. Returns `Ok(false)` if it was not
    /// there (`ENOENT` is not an error).
    pub fn del_rule(&mut self, rule: &crate::rule::Rule) -> Result<bool> {
        let wrap = |source| Error::Rule {
            op: "removing",
            rule: Box::new(rule.clone()),
            source,
        };
        let msg = crate::rule::rule_msg(rule).map_err(wrap)?;
        match self.request(Rtm::Delrule, NlmF::empty(), msg) {
            Ok(_) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
            Err(e) => Err(wrap(e)),
        }
    }

    /// Removes `route`. Returns `Ok(false)` if it was not there (`ESRCH`
    /// is not an error).
    pub fn del_route(&mut self, route: &Route) -> Result<bool> {
        let wrap = |source| Error::Route {
            op: "removing",
            route: route.clone(),
            source,
        };
        check_prefix(route.dst, route.prefix_len)?;
        let msg = route_msg(route).map_err(wrap)?;
        match self.request(Rtm::Delroute, NlmF::empty(), msg) {
            Ok(_) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Ok(false),
            Err(e) => Err(wrap(e)),
        }
    }

    /// Removes `addr/prefix_len` from interface `ifindex`.
    ///
    /// Returns `Ok(true)` if it was removed and `Ok(false)` if it was not
    /// there (`EADDRNOTAVAIL` is not an error).
    pub fn del_addr(&mut self, ifindex: u32, addr: IpAddr, prefix_len: u8) -> Result<bool> {
        check_prefix(addr, prefix_len)?;
        let wrap = |source| Error::DelAddr {
            ifindex,
            addr,
            prefix_len,
            source,
        };
        let msg = addr_msg(ifindex, addr, prefix_len, None).map_err(wrap)?;
        match self.request(Rtm::Deladdr, NlmF::empty(), msg) {
            Ok(_) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::EADDRNOTAVAIL) => Ok(false),
            Err(e) => Err(wrap(e)),
        }
    }

    /// Lists the addresses of one interface (`Some(ifindex)`) or of all
    /// interfaces (`None`), both families.
    pub fn addrs(&mut self, ifindex: Option<u32>) -> Result<Vec<IfAddr>> {
        let idx = ifindex.unwrap_or(0);
        let wrap = |source| Error::ListAddrs {
            ifindex: idx,
            source,
        };
        let req = IfaddrmsgBuilder::default()
            .ifa_family(RtAddrFamily::Unspecified)
            .ifa_prefixlen(0)
            .ifa_scope(RtScope::Universe)
            .ifa_index(idx)
            .build()
            .map_err(|e| wrap(invalid(e)))?;
        let msgs = self.request(Rtm::Getaddr, NlmF::DUMP, req).map_err(wrap)?;
        Ok(msgs
            .iter()
            .filter_map(parse_ifaddr)
            .filter(|a| ifindex.is_none_or(|i| a.ifindex == i))
            .collect())
    }

    /// Removes from interface `ifindex` every address in `vips` (whatever
    /// its prefix length), e.g. the VIPs a crashed earlier run left behind,
    /// and returns what was removed.
    pub fn remove_stale_vips(&mut self, ifindex: u32, vips: &[IpAddr]) -> Result<Vec<IfAddr>> {
        let stale: Vec<IfAddr> = self
            .addrs(Some(ifindex))?
            .into_iter()
            .filter(|a| vips.contains(&a.addr))
            .collect();
        for a in &stale {
            self.del_addr(ifindex, a.addr, a.prefix_len)?;
        }
        Ok(stale)
    }

    /// Reads the link attributes of interface `ifindex`.
    pub fn link(&mut self, ifindex: u32) -> Result<Link> {
        let wrap = |source| Error::GetLink { ifindex, source };
        let idx =
            i32::try_from(ifindex).map_err(|_| wrap(io::Error::from_raw_os_error(libc::ENODEV)))?;
        let req = IfinfomsgBuilder::default()
            .ifi_family(RtAddrFamily::Unspecified)
            .ifi_index(idx)
            .build()
            .map_err(|e| wrap(invalid(e)))?;
        // A non-dump GETLINK answers with the message and no ACK; ask for
        // the ACK explicitly through `request`, which adds NLM_F_ACK.
        let msgs = self
            .request(Rtm::Getlink, NlmF::empty(), req)
            .map_err(wrap)?;
        msgs.iter()
            .find_map(parse_link)
            .ok_or_else(|| wrap(io::Error::from_raw_os_error(libc::ENODEV)))
    }

    /// Lists all interfaces.
    pub fn links(&mut self) -> Result<Vec<Link>> {
        let wrap = |source| Error::GetLink { ifindex: 0, source };
        let req = IfinfomsgBuilder::default()
            .ifi_family(RtAddrFamily::Unspecified)
            .build()
            .map_err(|e| wrap(invalid(e)))?;
        let msgs = self.request(Rtm::Getlink, NlmF::DUMP, req).map_err(wrap)?;
        Ok(msgs.iter().filter_map(parse_link).collect())
    }

    /// Looks an interface up by name.
    pub fn link_by_name(&mut self, name: &str) -> Result<Link> {
        let idx = ifindex(name)?;
        self.link(idx)
    }

    /// The interface's MAC address.
    pub fn mac(&mut self, ifindex: u32) -> Result<Option<[u8; 6]>> {
        Ok(self.link(ifindex)?.mac)
    }

    /// The interface's operational state.
    pub fn oper_state(&mut self, ifindex: u32) -> Result<OperState> {
        Ok(self.link(ifindex)?.oper_state)
    }

    /// The interface's primary IPv4 address: the first non-secondary
    /// address the kernel lists, skipping `skip` (pass the VIPs, so that a
    /// VIP is never taken for the primary address).
    pub fn primary_ipv4(&mut self, ifindex: u32, skip: &[IpAddr]) -> Result<Option<Ipv4Addr>> {
        let addrs = self.addrs(Some(ifindex))?;
        let pick = |secondary_ok: bool| {
            addrs.iter().find_map(|a| match a.addr {
                IpAddr::V4(v4)
                    if (secondary_ok || !a.is_secondary()) && !skip.contains(&a.addr) =>
                {
                    Some(v4)
                }
                _ => None,
            })
        };
        Ok(pick(false).or_else(|| pick(true)))
    }

    /// The interface's IPv6 link-local address (not tentative, not a VIP in
    /// `skip`), as VRRPv3 over IPv6 requires for the source ([RFC 9568 §5.1.2.1]).
    ///
    /// [RFC 9568 §5.1.2.1]: https://www.rfc-editor.org/rfc/rfc9568#section-5.1.2.1
    pub fn ipv6_link_local(&mut self, ifindex: u32, skip: &[IpAddr]) -> Result<Option<Ipv6Addr>> {
        let addrs = self.addrs(Some(ifindex))?;
        Ok(addrs.iter().find_map(|a| match a.addr {
            IpAddr::V6(v6)
                if is_link_local(&v6)
                    && a.flags & IfAddr::F_TENTATIVE == 0
                    && !skip.contains(&a.addr) =>
            {
                Some(v6)
            }
            _ => None,
        }))
    }

    /// Creates a macvlan interface `name` in bridge mode on `parent`, with
    /// hardware address `mac` (e.g. [`virtual_mac`]), administratively down
    /// (so that its settings can be made before it sends anything; see
    /// [`Netlink::set_link_up`]). Returns the new interface's index.
    ///
    /// Bridge mode lets the macvlan and other macvlans on the same parent
    /// reach each other; the parent itself cannot reach its macvlans (a
    /// Linux macvlan property), which is why VRRP keeps its sockets on the
    /// interface that should carry the virtual MAC.
    pub fn create_macvlan(&mut self, parent: u32, name: &str, mac: [u8; 6]) -> Result<u32> {
        validate_ifname(name)?;
        let wrap = |source| Error::CreateMacvlan {
            name: name.to_owned(),
            parent,
            source,
        };
        let msg = macvlan_msg(parent, name, mac).map_err(wrap)?;
        self.request(Rtm::Newlink, NlmF::CREATE | NlmF::EXCL, msg)
            .map_err(wrap)?;
        ifindex(name).map_err(|_| wrap(io::Error::from_raw_os_error(libc::ENODEV)))
    }

    /// Deletes interface `ifindex` (e.g. a macvlan made by
    /// [`Netlink::create_macvlan`]). Returns `Ok(false)` if it did not exist.
    pub fn del_link(&mut self, ifindex: u32) -> Result<bool> {
        let wrap = |source| Error::DelLink { ifindex, source };
        let idx =
            i32::try_from(ifindex).map_err(|_| wrap(io::Error::from_raw_os_error(libc::ENODEV)))?;
        let req = IfinfomsgBuilder::default()
            .ifi_family(RtAddrFamily::Unspecified)
            .ifi_index(idx)
            .build()
            .map_err(|e| wrap(invalid(e)))?;
        match self.request(Rtm::Dellink, NlmF::empty(), req) {
            Ok(_) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(false),
            Err(e) => Err(wrap(e)),
        }
    }

    /// Sets interface `ifindex` administratively up or down.
    pub fn set_link_up(&mut self, ifindex: u32, up: bool) -> Result<()> {
        let wrap = |source| Error::GetLink { ifindex, source };
        let idx =
            i32::try_from(ifindex).map_err(|_| wrap(io::Error::from_raw_os_error(libc::ENODEV)))?;
        let b = IfinfomsgBuilder::default()
            .ifi_family(RtAddrFamily::Unspecified)
            .ifi_index(idx);
        let req = if up { b.up() } else { b.down() }
            .build()
            .map_err(|e| wrap(invalid(e)))?;
        self.request(Rtm::Newlink, NlmF::empty(), req)
            .map_err(wrap)?;
        Ok(())
    }
}

/// True for fe80::/10.
pub(crate) fn is_link_local(a: &Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

fn check_prefix(addr: IpAddr, prefix_len: u8) -> Result<()> {
    let max = if addr.is_ipv4() { 32 } else { 128 };
    if prefix_len > max {
        return Err(Error::InvalidPrefixLen { addr, prefix_len });
    }
    Ok(())
}

fn attr<T, P>(ty: T, payload: P) -> io::Result<neli::rtnl::Rtattr<T, Buffer>>
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

fn ip_bytes(a: IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

fn route_msg(r: &Route) -> io::Result<Rtmsg> {
    let mut attrs = RtBuffer::<Rta, Buffer>::new();
    attrs.push(attr(Rta::Dst, Buffer::from(ip_bytes(r.dst)))?);
    if let Some(g) = r.gateway {
        attrs.push(attr(Rta::Gateway, Buffer::from(ip_bytes(g)))?);
    }
    if let Some(i) = r.oif {
        attrs.push(attr(Rta::Oif, i)?);
    }
    if let Some(m) = r.metric {
        attrs.push(attr(Rta::Priority, m)?);
    }
    let table = r.table.unwrap_or(u32::from(libc::RT_TABLE_MAIN));
    attrs.push(attr(Rta::Table, table)?);
    let family = if r.dst.is_ipv4() {
        RtAddrFamily::Inet
    } else {
        RtAddrFamily::Inet6
    };
    // A route without a next hop is on-link.
    let scope = if r.gateway.is_some() {
        RtScope::Universe
    } else {
        RtScope::Link
    };
    RtmsgBuilder::default()
        .rtm_family(family)
        .rtm_dst_len(r.prefix_len)
        .rtm_src_len(0)
        .rtm_tos(0)
        // The 8-bit field says "see RTA_TABLE" for tables above 255.
        .rtm_table(u8::try_from(table).map_or(RtTable::Unspec, RtTable::from))
        .rtm_protocol(Rtprot::Static)
        .rtm_scope(scope)
        .rtm_type(Rtn::Unicast)
        .rtattrs(attrs)
        .build()
        .map_err(invalid)
}

fn addr_msg(
    ifindex: u32,
    addr: IpAddr,
    prefix_len: u8,
    label: Option<&str>,
) -> io::Result<Ifaddrmsg> {
    let mut attrs = RtBuffer::<Ifa, Buffer>::new();
    let (family, flags, scope) = match addr {
        IpAddr::V4(v4) => {
            attrs.push(attr(Ifa::Local, v4.octets())?);
            attrs.push(attr(Ifa::Address, v4.octets())?);
            if let Some(l) = label {
                attrs.push(attr(Ifa::Label, l)?);
            }
            let scope = if v4.is_loopback() {
                RtScope::Host
            } else {
                RtScope::Universe
            };
            (RtAddrFamily::Inet, IfaF::empty(), scope)
        }
        IpAddr::V6(v6) => {
            attrs.push(attr(Ifa::Address, v6.octets())?);
            // IFA_F_NODAD fits in the 8-bit ifa_flags; IFA_FLAGS carries it
            // too for kernels that read only the 32-bit attribute.
            attrs.push(attr(Ifa::Flags, IFA_F_NODAD_U32)?);
            let scope = if is_link_local(&v6) {
                RtScope::Link
            } else {
                RtScope::Universe
            };
            (RtAddrFamily::Inet6, IfaF::NODAD, scope)
        }
    };
    IfaddrmsgBuilder::default()
        .ifa_family(family)
        .ifa_prefixlen(prefix_len)
        .ifa_flags(flags)
        .ifa_scope(scope)
        .ifa_index(ifindex)
        .rtattrs(attrs)
        .build()
        .map_err(invalid)
}

fn macvlan_msg(parent: u32, name: &str, mac: [u8; 6]) -> io::Result<Ifinfomsg> {
    let mut data = RtBuffer::<u16, Buffer>::new();
    data.push(attr(IFLA_MACVLAN_MODE, MACVLAN_MODE_BRIDGE)?);
    let mut info = RtBuffer::<IflaInfo, Buffer>::new();
    info.push(attr(IflaInfo::Kind, "macvlan")?);
    info.push(attr(IflaInfo::Data, data)?);
    let mut attrs = RtBuffer::<Ifla, Buffer>::new();
    attrs.push(attr(Ifla::Ifname, name)?);
    attrs.push(attr(Ifla::Link, parent)?);
    attrs.push(attr(Ifla::Address, mac)?);
    attrs.push(attr(Ifla::Linkinfo, info)?);
    IfinfomsgBuilder::default()
        .ifi_family(RtAddrFamily::Unspecified)
        .rtattrs(attrs)
        .build()
        .map_err(invalid)
}

fn cstr(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

fn u32_ne(bytes: &[u8]) -> Option<u32> {
    Some(u32::from_ne_bytes(bytes.get(..4)?.try_into().ok()?))
}

/// Decodes one `RTM_NEWADDR`/`RTM_DELADDR` payload.
pub(crate) fn parse_ifaddr(m: &Ifaddrmsg) -> Option<IfAddr> {
    let mut local = None;
    let mut address = None;
    let mut label = None;
    let mut flags32 = None;
    for a in m.rtattrs().iter() {
        let p = a.rta_payload().as_ref();
        match *a.rta_type() {
            Ifa::Local => local = ip_from(p),
            Ifa::Address => address = ip_from(p),
            Ifa::Label => label = Some(cstr(p)),
            Ifa::Flags => flags32 = u32_ne(p),
            _ => {}
        }
    }
    // IPv4: IFA_LOCAL is the interface's own address (IFA_ADDRESS is the
    // peer on point-to-point links); IPv6 reports IFA_ADDRESS only.
    let addr = local.or(address)?;
    let flags = flags32.unwrap_or(u32::from(m.ifa_flags().bits()));
    Some(IfAddr {
        ifindex: *m.ifa_index(),
        addr,
        prefix_len: *m.ifa_prefixlen(),
        label,
        flags,
        scope: u8::from(*m.ifa_scope()),
    })
}

fn ip_from(p: &[u8]) -> Option<IpAddr> {
    match p.len() {
        4 => <[u8; 4]>::try_from(p).ok().map(|o| IpAddr::V4(o.into())),
        16 => <[u8; 16]>::try_from(p).ok().map(|o| IpAddr::V6(o.into())),
        _ => None,
    }
}

/// Decodes one `RTM_NEWLINK` payload.
pub(crate) fn parse_link(m: &Ifinfomsg) -> Option<Link> {
    let ifindex = u32::try_from(*m.ifi_index()).ok()?;
    let flags = *m.ifi_flags();
    let mut link = Link {
        ifindex,
        name: String::new(),
        mac: None,
        admin_up: flags.contains(Iff::UP),
        running: flags.contains(Iff::RUNNING),
        lower_up: flags.contains(Iff::LOWERUP),
        oper_state: OperState::Unknown,
        mtu: None,
        parent: None,
        kind: None,
    };
    for a in m.rtattrs().iter() {
        let p = a.rta_payload().as_ref();
        match *a.rta_type() {
            Ifla::Ifname => link.name = cstr(p),
            Ifla::Address => link.mac = <[u8; 6]>::try_from(p).ok(),
            Ifla::Operstate => {
                link.oper_state = p.first().map_or(OperState::Unknown, |&b| b.into())
            }
            Ifla::Mtu => link.mtu = u32_ne(p),
            Ifla::Link => link.parent = u32_ne(p),
            Ifla::Linkinfo => {
                if let Ok(h) = a.get_attr_handle::<IflaInfo>() {
                    if let Some(k) = h.get_attribute(IflaInfo::Kind) {
                        link.kind = Some(cstr(k.rta_payload().as_ref()));
                    }
                }
            }
            _ => {}
        }
    }
    Some(link)
}

/// Decodes a netlink payload (`Ifaddrmsg`, `Ifinfomsg`) from raw bytes (for the event socket).
pub(crate) fn decode<P>(buf: &[u8]) -> Option<P>
where
    P: FromBytesWithInput<Input = usize>,
{
    P::from_bytes_with_input(&mut Cursor::new(buf), buf.len()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_mac_follows_rfc_9568_7_3() {
        let vrid = vrrp_proto::Vrid::new(0x2a).unwrap();
        assert_eq!(virtual_mac(vrid, Family::V4), [0, 0, 0x5e, 0, 1, 0x2a]);
        assert_eq!(virtual_mac(vrid, Family::V6), [0, 0, 0x5e, 0, 2, 0x2a]);
    }

    #[test]
    fn labels_must_start_with_the_interface_name() {
        assert!(validate_label("eth0:vip", "eth0").is_ok());
        assert!(validate_label("eth0", "eth0").is_ok());
        assert!(matches!(
            validate_label("eth1:vip", "eth0"),
            Err(Error::InvalidLabel { .. })
        ));
        assert!(validate_label("eth0:0123456789a", "eth0").is_err());
    }

    #[test]
    fn interface_names_follow_the_kernel_rules() {
        assert!(validate_ifname("veth0").is_ok());
        assert!(validate_ifname("a23456789012345").is_ok());
        for bad in ["", "a234567890123456", "a/b", "a b", ".", "..", "a:b"] {
            assert!(validate_ifname(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn address_messages_round_trip_through_the_decoder() {
        let v4: IpAddr = "10.99.1.1".parse().unwrap();
        let m = addr_msg(7, v4, 24, Some("eth0:v")).unwrap();
        let a = parse_ifaddr(&m).unwrap();
        assert_eq!((a.ifindex, a.addr, a.prefix_len), (7, v4, 24));
        assert_eq!(a.label.as_deref(), Some("eth0:v"));
        let v6: IpAddr = "fd00:99::1".parse().unwrap();
        let m = addr_msg(3, v6, 64, None).unwrap();
        let a = parse_ifaddr(&m).unwrap();
        assert_eq!((a.ifindex, a.addr, a.prefix_len), (3, v6, 64));
        assert_eq!(a.flags & IfAddr::F_NODAD, IfAddr::F_NODAD);
    }

    #[test]
    fn usable_means_admin_up_and_operationally_up() {
        let mut l = Link {
            ifindex: 2,
            name: "eth0".into(),
            mac: None,
            admin_up: true,
            running: true,
            lower_up: true,
            oper_state: OperState::Up,
            mtu: None,
            parent: None,
            kind: None,
        };
        assert!(l.is_usable());
        l.oper_state = OperState::LowerLayerDown;
        assert!(!l.is_usable());
        // Drivers without operstate: IFF_RUNNING decides.
        l.oper_state = OperState::Unknown;
        assert!(l.is_usable());
        l.running = false;
        assert!(!l.is_usable());
        l.running = true;
        l.oper_state = OperState::Up;
        l.admin_up = false;
        assert!(!l.is_usable());
        assert_eq!(OperState::from(6), OperState::Up);
        assert_eq!(OperState::from(2), OperState::Down);
        assert_eq!(OperState::from(9), OperState::Other(9));
    }

    #[test]
    fn prefix_lengths_are_checked_per_family() {
        assert!(check_prefix("10.0.0.1".parse().unwrap(), 32).is_ok());
        assert!(check_prefix("10.0.0.1".parse().unwrap(), 33).is_err());
        assert!(check_prefix("::1".parse().unwrap(), 128).is_ok());
        assert!(check_prefix("::1".parse().unwrap(), 129).is_err());
    }
}
