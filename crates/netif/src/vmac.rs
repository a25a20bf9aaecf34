//! Virtual MAC interfaces, as keepalived's `use_vmac` makes them: a macvlan
//! device in bridge mode on the router's interface, with the virtual router
//! MAC 00:00:5e:00:01:{VRID} ([RFC 9568 §7.3]), that carries the virtual
//! addresses, so that neighbours keep one MAC for them across failovers.
//!
//! The parent's ARP settings are changed so that only the macvlan answers
//! for the virtual addresses: `arp_ignore=1` on the parent and the macvlan
//! (answer only for addresses configured on the receiving interface) and
//! `arp_announce=2` on the parent (its own ARP requests never name a virtual
//! address). [`VirtualMacs`] remembers the parent's old values and writes
//! them back when the parent's last macvlan is removed, or when dropped.
//! Adverts keep going out of the parent interface, from its primary address
//! (keepalived's `vmac_xmit_base`). IPv4 only:
//! IPv6 is disabled on the macvlan, so that a backup's copy (every router
//! has one) never sends from the virtual MAC.
//!
//! [RFC 9568 §7.3]: https://www.rfc-editor.org/rfc/rfc9568#section-7.3

use vrrp_proto::Vrid;

use crate::error::{Error, Family, Result};
use crate::rtnl::{Netlink, ifindex, virtual_mac};
use crate::sysctl::{self, Sysctls};

/// The parent's settings while it has macvlans (see the module docs).
const PARENT_KNOBS: [(&str, &str); 2] = [("arp_ignore", "1"), ("arp_announce", "2")];

/// One macvlan made by [`VirtualMacs::create`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VmacLink {
    /// Its interface index: the virtual addresses go here, and gratuitous
    /// ARP leaves from here.
    pub ifindex: u32,
    /// Its hardware address, the virtual router MAC.
    pub mac: [u8; 6],
    /// The interface it sits on.
    pub parent: u32,
}

/// Makes virtual MAC interfaces and keeps the parent settings they changed,
/// to restore them on drop. Removing a macvlan is the owner's call
/// ([`VirtualMacs::remove`]), after its addresses are gone.
#[derive(Debug, Default)]
pub struct VirtualMacs {
    /// Parents with at least one live macvlan.
    parents: Vec<Parent>,
    /// The parents' settings, with their old values.
    sysctls: Sysctls,
}

/// A parent interface's live macvlans and the settings files they hold.
#[derive(Debug)]
struct Parent {
    ifindex: u32,
    live: usize,
    paths: Vec<String>,
}

impl VirtualMacs {
    /// Nothing changed yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Creates the macvlan `name` with `vrid`'s IPv4 virtual MAC on
    /// interface `parent` (replacing an interface of that name that a
    /// crashed run left) and applies the ARP settings of the module docs.
    pub fn create(
        &mut self,
        nl: &mut Netlink,
        parent: u32,
        name: &str,
        vrid: Vrid,
    ) -> Result<VmacLink> {
        if let Ok(old) = ifindex(name) {
            nl.del_link(old)?;
        }
        let mac = virtual_mac(vrid, Family::V4);
        let idx = nl.create_macvlan(parent, name, mac)?;
        match self.configure(nl, parent, name, idx) {
            Ok(()) => {
                if let Some(p) = self.parents.iter_mut().find(|p| p.ifindex == parent) {
                    p.live += 1;
                }
                Ok(VmacLink {
                    ifindex: idx,
                    mac,
                    parent,
                })
            }
            Err(e) => {
                // Leave nothing half made behind.
                let _ = nl.del_link(idx);
                if let Some(i) = self
                    .parents
                    .iter()
                    .position(|p| p.ifindex == parent && p.live == 0)
                {
                    let _ = self.release(i);
                }
                Err(e)
            }
        }
    }

    /// The settings of a new macvlan `name` (index `idx`) and its parent,
    /// then up.
    fn configure(&mut self, nl: &mut Netlink, parent: u32, name: &str, idx: u32) -> Result<()> {
        // No IPv6 on it: its link-local address (the same on every router,
        // being made from the virtual MAC), DAD and MLD would be sent from
        // the virtual MAC by backups too, and switches would learn the
        // virtual MAC at a backup's port. It is created down, so nothing
        // has left yet.
        let v6 = format!("/proc/sys/net/ipv6/conf/{name}/disable_ipv6");
        if std::path::Path::new(&v6).exists() {
            sysctl::write(&v6, "1")?;
        }
        // The parent's settings, once while it has macvlans.
        if !self.parents.iter().any(|p| p.ifindex == parent) {
            let parent_name = nl.link(parent)?.name;
            let mut paths: Vec<String> = Vec::new();
            for (knob, value) in PARENT_KNOBS {
                let path = format!("/proc/sys/net/ipv4/conf/{parent_name}/{knob}");
                if let Err(e) = self.sysctls.hold(&path, value) {
                    for p in &paths {
                        let _ = self.sysctls.release(p);
                    }
                    return Err(e);
                }
                paths.push(path);
            }
            self.parents.push(Parent {
                ifindex: parent,
                live: 0,
                paths,
            });
        }
        sysctl::write(&format!("/proc/sys/net/ipv4/conf/{name}/arp_ignore"), "1")?;
        // Its addresses are all virtual ones: removing one never takes the
        // others of its subnet along (keepalived sets this on its vmacs).
        sysctl::write(
            &format!("/proc/sys/net/ipv4/conf/{name}/promote_secondaries"),
            "1",
        )?;
        nl.set_link_up(idx, true)
    }

    /// Deletes a macvlan made by [`VirtualMacs::create`] (absent is fine);
    /// the parent's settings go back when this was its last one.
    pub fn remove(&mut self, nl: &mut Netlink, link: &VmacLink) -> Result<()> {
        let deleted = nl.del_link(link.ifindex).map(drop);
        let Some(i) = self.parents.iter().position(|p| p.ifindex == link.parent) else {
            return deleted;
        };
        let p = &mut self.parents[i];
        p.live = p.live.saturating_sub(1);
        if p.live > 0 {
            return deleted;
        }
        let restored = self.release(i);
        deleted.and(restored.into_iter().next().map_or(Ok(()), Err))
    }

    /// Forgets parent `i`, writing its settings back; the errors.
    fn release(&mut self, i: usize) -> Vec<Error> {
        let p = self.parents.swap_remove(i);
        p.paths
            .iter()
            .filter_map(|path| self.sysctls.release(path).err())
            .collect()
    }

    /// Writes every parent's settings back; the errors of those that failed.
    pub fn restore(&mut self) -> Vec<Error> {
        self.parents.clear();
        self.sysctls.restore()
    }
}

impl Drop for VirtualMacs {
    fn drop(&mut self) {
        let _ = self.restore();
    }
}
