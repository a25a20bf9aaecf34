//! Links (interfaces): [`Link`] and its state, names and indexes, and
//! macvlan interfaces with a VRRP virtual MAC.

use std::io;

use neli::consts::nl::NlmF;
use neli::consts::rtnl::{Iff, Ifla, IflaInfo, RtAddrFamily, Rtm};
use neli::rtnl::{Ifinfomsg, IfinfomsgBuilder};
use neli::types::{Buffer, RtBuffer};

use super::attr::{attr, cstr, invalid, u32_ne};
use super::{MAX_IFNAME_LEN, Netlink};
use crate::error::{Error, Family, Result};

/// `IFLA_MACVLAN_MODE`, inside `IFLA_INFO_DATA` of a macvlan link.
const IFLA_MACVLAN_MODE: u16 = 1;
/// `MACVLAN_MODE_BRIDGE`: macvlans on one parent talk to each other directly.
const MACVLAN_MODE_BRIDGE: u32 = 4;

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

impl Netlink {
    /// Reads the link attributes of interface `ifindex`.
    pub fn link(&mut self, ifindex: u32) -> Result<Link> {
        let wrap = |source| Error::GetLink { ifindex, source };
        let req = link_msg(ifindex)
            .and_then(|b| b.build().map_err(invalid))
            .map_err(wrap)?;
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
        let req = link_msg(ifindex)
            .and_then(|b| b.build().map_err(invalid))
            .map_err(wrap)?;
        self.change(Rtm::Dellink, NlmF::empty(), req, libc::ENODEV)
            .map_err(wrap)
    }

    /// Sets interface `ifindex` administratively up or down.
    pub fn set_link_up(&mut self, ifindex: u32, up: bool) -> Result<()> {
        let wrap = |source| Error::GetLink { ifindex, source };
        let b = link_msg(ifindex).map_err(wrap)?;
        let req = if up { b.up() } else { b.down() }
            .build()
            .map_err(|e| wrap(invalid(e)))?;
        self.request(Rtm::Newlink, NlmF::empty(), req)
            .map_err(wrap)?;
        Ok(())
    }
}

/// The start of a message about interface `ifindex` (`ENODEV` for an
/// index no interface can have).
fn link_msg(ifindex: u32) -> io::Result<IfinfomsgBuilder> {
    let idx = i32::try_from(ifindex).map_err(|_| io::Error::from_raw_os_error(libc::ENODEV))?;
    Ok(IfinfomsgBuilder::default()
        .ifi_family(RtAddrFamily::Unspecified)
        .ifi_index(idx))
}

/// The `RTM_NEWLINK` payload that creates macvlan `name` on `parent`.
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
    fn interface_names_follow_the_kernel_rules() {
        assert!(validate_ifname("veth0").is_ok());
        assert!(validate_ifname("a23456789012345").is_ok());
        for bad in ["", "a234567890123456", "a/b", "a b", ".", "..", "a:b"] {
            assert!(validate_ifname(bad).is_err(), "{bad:?}");
        }
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
}
