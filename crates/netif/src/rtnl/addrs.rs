//! Addresses: [`IfAddr`], adding, removing and listing them, and picking
//! an interface's primary IPv4 or IPv6 link-local address.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use neli::consts::nl::NlmF;
use neli::consts::rtnl::{Ifa, IfaF, RtAddrFamily, RtScope, Rtm};
use neli::rtnl::{Ifaddrmsg, IfaddrmsgBuilder};
use neli::types::{Buffer, RtBuffer};

use super::attr::{attr, cstr, invalid, ip_from, u32_ne};
use super::{MAX_IFNAME_LEN, Netlink};
use crate::error::{Error, Result};

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

impl Netlink {
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
        self.change(Rtm::Newaddr, NlmF::CREATE | NlmF::EXCL, msg, libc::EEXIST)
            .map_err(wrap)
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
        self.change(Rtm::Deladdr, NlmF::empty(), msg, libc::EADDRNOTAVAIL)
            .map_err(wrap)
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
}

/// True for fe80::/10.
pub(crate) fn is_link_local(a: &Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

/// Checks that `prefix_len` fits the family of `addr`.
pub(super) fn check_prefix(addr: IpAddr, prefix_len: u8) -> Result<()> {
    let max = if addr.is_ipv4() { 32 } else { 128 };
    if prefix_len > max {
        return Err(Error::InvalidPrefixLen { addr, prefix_len });
    }
    Ok(())
}

/// The `RTM_NEWADDR` / `RTM_DELADDR` payload for `addr/prefix_len` on
/// `ifindex`, with `label` (IPv4 only).
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn prefix_lengths_are_checked_per_family() {
        assert!(check_prefix("10.0.0.1".parse().unwrap(), 32).is_ok());
        assert!(check_prefix("10.0.0.1".parse().unwrap(), 33).is_err());
        assert!(check_prefix("::1".parse().unwrap(), 128).is_ok());
        assert!(check_prefix("::1".parse().unwrap(), 129).is_err());
    }
}
