//! Link and address events: interfaces going down and up, addresses
//! removed from under a master, deleted virtual MAC interfaces,
//! interfaces deleted and created again, changed source addresses.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::time::Instant;

use vrrp_fsm::{RouterId, Stop};
use vrrp_proto::Family;

use super::{Event, Executor, Placed, Placement};
use crate::error::{Error, Result};
use crate::events::NetEvent;

/// Netlink events kept buffered between reads.
const NET_BUF_KEEP: usize = 64;

impl Executor {
    pub(super) fn on_netlink(&mut self) {
        let mut evs = std::mem::take(&mut self.net_buf);
        evs.clear();
        if let Err(error) = self.net.read(&mut evs) {
            self.out.push_back(Event::Error {
                router: None,
                error,
            });
        }
        let now = Instant::now();
        let mut addr_ifaces = BTreeSet::new();
        for ev in &evs {
            match ev {
                NetEvent::LinkUp(l) => self.link_changed(now, l.ifindex, &l.name, true),
                NetEvent::LinkDown(l) => self.link_changed(now, l.ifindex, &l.name, false),
                NetEvent::LinkRemoved { ifindex, name } => {
                    self.link_changed(now, *ifindex, name, false);
                    self.links.remove(ifindex);
                    self.ifaces.remove(ifindex);
                    self.vmac_removed(now, *ifindex);
                }
                NetEvent::AddrRemoved(a) => {
                    addr_ifaces.insert(a.ifindex);
                    self.addr_removed(now, a.ifindex, a.addr);
                }
                NetEvent::AddrAdded(a) => {
                    addr_ifaces.insert(a.ifindex);
                }
                NetEvent::Overrun => self.reread_links(now),
            }
        }
        // Once per interface and read, not per event: a takeover of a
        // thousand addresses brings a thousand events.
        for ifindex in addr_ifaces {
            // A re-created interface may get its address after it came up.
            if let Some((name, true)) = self.links.get(&ifindex).cloned() {
                self.follow_recreated(now, ifindex, &name);
            }
            self.check_sources(now, ifindex);
            self.follow_sources_on(now, ifindex);
        }
        // Keep the buffer, but not the size of a burst (adding 1000
        // addresses queues 1000 address events).
        evs.clear();
        evs.shrink_to(NET_BUF_KEEP);
        self.net_buf = evs;
        self.drain_bounded();
    }

    /// The placed routers on interface `ifindex` that `pick` selects.
    fn routers_on(&self, ifindex: u32, pick: impl Fn(&Placed) -> bool) -> Vec<RouterId> {
        self.placed
            .iter()
            .filter(|(_, p)| p.ifindex == ifindex && pick(p))
            .map(|(id, _)| id)
            .collect()
    }

    /// Routers with `track_source` on interface `ifindex`: each is told
    /// whether its fixed source address is there.
    fn follow_sources_on(&mut self, now: Instant, ifindex: u32) {
        let ids = self.routers_on(ifindex, |p| p.spec.track_source);
        self.follow_sources(now, &ids);
    }

    /// Tells each of `ids` that has `track_source` and a fixed source
    /// whether that address is on its interface: one address dump per
    /// interface.
    pub(super) fn follow_sources(&mut self, now: Instant, ids: &[RouterId]) {
        let mut by_iface: BTreeMap<u32, Vec<(RouterId, IpAddr)>> = BTreeMap::new();
        for &id in ids {
            let Some(p) = self.placed.get(id) else {
                continue;
            };
            if let Some(src) = p.spec.source.filter(|_| p.spec.track_source) {
                by_iface.entry(p.ifindex).or_default().push((id, src));
            }
        }
        for (ifindex, routers) in by_iface {
            match self.nl.addrs(Some(ifindex)) {
                Ok(addrs) => {
                    for (id, src) in routers {
                        let present = addrs.iter().any(|a| a.addr == src);
                        let _ = self.node.set_source_present(now, id, present);
                    }
                }
                Err(error) => self.out.push_back(Event::Error {
                    router: routers.first().map(|(id, _)| *id),
                    error,
                }),
            }
        }
    }

    /// Events were lost: the link states are read again.
    fn reread_links(&mut self, now: Instant) {
        match self.nl.links() {
            Ok(links) => {
                for l in links {
                    self.link_changed(now, l.ifindex, &l.name, l.is_usable());
                }
            }
            Err(error) => self.out.push_back(Event::Error {
                router: None,
                error,
            }),
        }
    }

    fn link_changed(&mut self, now: Instant, ifindex: u32, name: &str, up: bool) {
        let old = self.links.insert(ifindex, (name.to_owned(), up));
        if old.as_ref().is_some_and(|(n, u)| n == name && *u == up) {
            return;
        }
        self.out.push_back(Event::Link {
            ifindex,
            name: name.to_owned(),
            up,
        });
        let on_it = self.routers_on(ifindex, |p| p.spec.track_link);
        for id in on_it {
            let _ = self.node.set_link_up(now, id, up);
        }
        if up {
            self.follow_recreated(now, ifindex, name);
        }
    }

    /// Someone deleted a router's virtual MAC interface: it is made again
    /// and, if the router holds its addresses, they are put back and
    /// announced ([`vrrp_fsm::Node::restore_vip`]).
    fn vmac_removed(&mut self, now: Instant, ifindex: u32) {
        let hit: Vec<RouterId> = self
            .placed
            .iter()
            .filter(|(_, p)| p.vmac.is_some_and(|v| v.ifindex == ifindex))
            .map(|(id, _)| id)
            .collect();
        for id in hit {
            let Some(p) = self.placed.get(id) else {
                continue;
            };
            let (Some(link), Some(name)) = (p.vmac, p.spec.vmac.clone()) else {
                continue;
            };
            let Some(vrid) = self.node.router(id).map(|r| r.config().vrid()) else {
                continue;
            };
            // Forget the old one (its parent's settings go back if it was
            // the last; `create` sets them again).
            let _ = self.vmacs.remove(&mut self.nl, &link);
            let made = self.vmacs.create(&mut self.nl, link.parent, &name, vrid);
            let link = match made {
                Ok(l) => l,
                Err(error) => {
                    // The parent went too: restarting on its return
                    // (`follow_recreated`) makes the macvlan again.
                    if let Some(p) = self.placed.get_mut(id) {
                        p.vmac = None;
                    }
                    self.out.push_back(Event::Error {
                        router: Some(id),
                        error,
                    });
                    continue;
                }
            };
            let own: Vec<IpAddr> = match self.placed.get_mut(id) {
                Some(p) => {
                    p.vmac = Some(link);
                    let on_vmac = |a: &IpAddr| p.spec.vip(*a, &[]).interface.is_none();
                    self.node
                        .router(id)
                        .map(|r| vrrp_addrs(r.config()).into_iter().filter(on_vmac).collect())
                        .unwrap_or_default()
                }
                None => continue,
            };
            self.out
                .push_back(Event::VmacRecreated { router: id, name });
            for a in own {
                self.restore(now, id, a);
            }
        }
    }

    /// An address disappeared: a router that holds it on that interface
    /// (someone removed it, or a link flap flushed an IPv6 address) puts
    /// it back.
    fn addr_removed(&mut self, now: Instant, ifindex: u32, addr: IpAddr) {
        if !self.links.get(&ifindex).is_some_and(|l| l.1) {
            return;
        }
        let hit: Vec<RouterId> = self
            .placed
            .iter()
            .filter(|(id, _)| {
                self.node
                    .router(*id)
                    .is_some_and(|r| r.holds_vips() && has_vip(r.config(), addr))
            })
            .filter(|(_, p)| {
                let vip = p.spec.vip(addr, &[]);
                let target = match vip.interface.as_deref() {
                    Some(dev) => crate::rtnl::ifindex(dev).ok(),
                    None => Some(p.vmac.map_or(p.ifindex, |v| v.ifindex)),
                };
                target == Some(ifindex)
            })
            .map(|(id, _)| id)
            .collect();
        for id in hit {
            self.restore(now, id, addr);
        }
    }

    fn restore(&mut self, now: Instant, id: RouterId, addr: IpAddr) {
        if self.node.restore_vip(now, id, addr) {
            if let Some(p) = self.placed.get_mut(id) {
                p.counters.addresses_restored += 1;
            }
            self.out.push_back(Event::VipRestored { router: id, addr });
        }
    }

    /// An interface that routers run on was deleted and created again (it
    /// has a new index): once it is up and has a source address, those
    /// routers (with their sync groups) restart on it.
    fn follow_recreated(&mut self, now: Instant, ifindex: u32, name: &str) {
        let stale: Vec<RouterId> = self
            .placed
            .iter()
            .filter(|(_, p)| p.spec.interface == name && p.ifindex != ifindex)
            .map(|(id, _)| id)
            .collect();
        if stale.is_empty() {
            return;
        }
        let Ok(at) = self.resolve_all(&stale, |_| None) else {
            // Not ready yet (no address): a later event retries.
            return;
        };
        let why = format!("interface {name} was re-created (index {ifindex})");
        self.restart(now, at, why);
    }

    /// Addresses of `ifindex` changed: routers that send from the
    /// interface's own address (no fixed source) and whose source is no
    /// longer the one it would pick restart with the new one. A source
    /// that disappears without a replacement changes nothing (sends fail
    /// and are counted until it is back).
    fn check_sources(&mut self, now: Instant, ifindex: u32) {
        let mine: Vec<(RouterId, IpAddr)> = self
            .placed
            .iter()
            .filter(|(_, p)| p.ifindex == ifindex && p.spec.source.is_none())
            .map(|(id, p)| (id, p.source))
            .collect();
        if mine.is_empty() {
            return;
        }
        let skip = self.all_vips();
        // One netlink dump per family, not per router.
        let mut picked: [Option<Option<IpAddr>>; 2] = [None, None];
        let mut changed = Vec::new();
        for (id, old) in mine {
            let family = Family::of(&old);
            let slot = usize::from(family == Family::V6);
            let new = match picked[slot] {
                Some(p) => p,
                None => {
                    let p = self.pick_source(ifindex, family, &skip).ok();
                    picked[slot] = Some(p);
                    p
                }
            };
            if let Some(new) = new.filter(|n| *n != old) {
                changed.push((id, old, new));
            }
        }
        let Some(&(_, old, new)) = changed.first() else {
            return;
        };
        let ids: Vec<RouterId> = changed.iter().map(|c| c.0).collect();
        let Ok(at) = self.resolve_all(&ids, |_| None) else {
            return;
        };
        let why = format!("the interface's address changed from {old} to {new}");
        self.restart(now, at, why);
    }

    /// Every address of every router (never picked as a source).
    fn all_vips(&self) -> Vec<IpAddr> {
        self.placed
            .values()
            .flat_map(|p| p.spec.vip_addrs())
            .chain(
                self.node
                    .routers()
                    .flat_map(|(_, r)| vrrp_addrs(r.config())),
            )
            .collect()
    }

    /// The placements of `ids` and the other members of their sync groups,
    /// resolved again (read-only); the first failure is returned.
    fn resolve_all(
        &mut self,
        ids: &[RouterId],
        fixed: impl Fn(RouterId) -> Option<Placement>,
    ) -> Result<HashMap<RouterId, Placement>> {
        let mut all: Vec<RouterId> = Vec::new();
        for &id in ids {
            let members = match self.node.group_of(id) {
                Some(g) => self.node.members(g).to_vec(),
                None => vec![id],
            };
            for m in members {
                if !all.contains(&m) {
                    all.push(m);
                }
            }
        }
        let mut out = HashMap::new();
        for id in all {
            let at = match fixed(id) {
                Some(at) => at,
                None => {
                    let spec = self.placed.get(id).map(|p| p.spec.clone());
                    let family = self
                        .node
                        .router(id)
                        .map(|r| Family::of(&r.config().primary_addr()));
                    let (Some(spec), Some(family)) = (spec, family) else {
                        continue;
                    };
                    self.resolve(&spec, family)?
                }
            };
            out.insert(id, at);
        }
        Ok(out)
    }

    /// Stops the routers of `at` (whole sync groups) and starts them again
    /// in their new placements, with their new source as primary address.
    fn restart(&mut self, now: Instant, at: HashMap<RouterId, Placement>, why: String) {
        let mut routers: Vec<RouterId> = at.keys().copied().collect();
        routers.sort_unstable();
        let mut units: Vec<RouterId> = Vec::new();
        for &id in &routers {
            let first = self
                .node
                .group_of(id)
                .and_then(|g| self.node.members(g).first().copied())
                .unwrap_or(id);
            if !units.contains(&first) {
                units.push(first);
            }
        }
        self.out.push_back(Event::Restarted {
            routers: routers.clone(),
            why,
        });
        for &id in &units {
            let _ = self.node.stop(now, id, Stop::Now);
        }
        self.drain(now);
        self.flush_tx();
        for &id in &routers {
            if let Err(error) = self.replace(id, at.get(&id).copied()) {
                self.out.push_back(Event::Error {
                    router: Some(id),
                    error,
                });
            }
        }
        for &id in &units {
            let members = match self.node.group_of(id) {
                Some(g) => self.node.members(g).to_vec(),
                None => vec![id],
            };
            // A member whose I/O could not be placed again stays stopped
            // with its group (its error was reported).
            if !members.iter().all(|m| self.placed.contains_key(*m)) {
                continue;
            }
            let reset = self.node.reset(now, id, |m, old| {
                at.get(&m)
                    .and_then(|p| old.with_primary_addr(p.source).ok())
                    .unwrap_or_else(|| old.clone())
            });
            if reset.is_err() {
                continue;
            }
            for m in members {
                let up = self.placed.get(m).is_some_and(|p| {
                    !p.spec.track_link || self.links.get(&p.ifindex).is_some_and(|l| l.1)
                });
                let _ = self.node.set_link_up(now, m, up);
            }
            let _ = self.node.start(now, id);
        }
        self.drain(now);
    }

    /// Moves a stopped router's I/O to a new placement.
    fn replace(&mut self, id: RouterId, at: Option<Placement>) -> Result<()> {
        let (Some(at), Some(old)) = (at, self.placed.remove(id)) else {
            return Ok(());
        };
        let vrid = self
            .node
            .router(id)
            .map(|r| r.config().vrid())
            .ok_or(Error::Unsupported {
                what: "restarting a removed router",
            })?;
        if old.routes_on {
            self.withdraw_routes(id, &old);
        }
        self.unplace(&old);
        let mut new = self.place(old.spec, at, vrid)?;
        new.counters = old.counters;
        self.placed.insert(id, new);
        Ok(())
    }
}

/// True if `addr` is one of the configuration's virtual addresses (no
/// allocation: this runs for every router on every address event).
fn has_vip(cfg: &vrrp_fsm::Config, addr: IpAddr) -> bool {
    match (cfg.virtual_addrs(), addr) {
        (vrrp_proto::VirtualAddrs::V4(v), IpAddr::V4(a)) => v.contains(&a),
        (vrrp_proto::VirtualAddrs::V6(v), IpAddr::V6(a)) => v.contains(&a),
        _ => false,
    }
}

/// The virtual addresses of a state-machine configuration.
fn vrrp_addrs(cfg: &vrrp_fsm::Config) -> Vec<IpAddr> {
    match cfg.virtual_addrs() {
        vrrp_proto::VirtualAddrs::V4(v) => v.iter().map(|a| IpAddr::V4(*a)).collect(),
        vrrp_proto::VirtualAddrs::V6(v) => v.iter().map(|a| IpAddr::V6(*a)).collect(),
    }
}
