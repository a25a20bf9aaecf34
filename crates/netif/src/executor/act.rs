//! Carrying out the node's actions: adverts, addresses, announcements,
//! routes, and the events they become.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use vrrp_fsm::{Action, NodeAction, RouterId};

use super::{Event, Executor, Placed, RouteSpec};
use crate::error::Error;
use crate::rtnl::{Route, ifindex};

/// How long [`Executor::drain_bounded`] carries out deferred actions per
/// round: a small fraction of the shortest advert interval (10 ms).
pub(super) const BURST_BUDGET: Duration = Duration::from_millis(2);

impl Executor {
    /// Carries out every queued node action (those deferred by
    /// [`Executor::drain_bounded`] first), in order, then moves the routes
    /// of the routers involved after their addresses.
    pub(super) fn drain(&mut self, _now: Instant) {
        let mut touched: Vec<RouterId> = Vec::new();
        while let Some(a) = self.deferred.pop_front() {
            self.carry_out(a, &mut touched);
        }
        while let Some(a) = self.node.poll_action() {
            self.carry_out(a, &mut touched);
        }
        for id in touched {
            self.sync_routes(id);
        }
    }

    /// As [`Executor::drain`] for the timer path, adverts first: every
    /// advert is encoded at once; the other actions (addresses,
    /// announcements, events) are carried out in order for at most
    /// [`BURST_BUDGET`], the rest in the next rounds
    /// ([`Executor::poll_timeout`] says "now" while any wait). A takeover
    /// of hundreds of routers adds hundreds of addresses through netlink;
    /// the other routers' adverts do not wait for it.
    ///
    /// A router's own actions keep their order: once one of its actions
    /// waits, its later adverts wait behind it. A router becoming master
    /// adds its addresses before the advert that tells the old master to
    /// let go of them (the documented action order, which the
    /// make-before-break hand-over relies on); only routers with nothing
    /// waiting, the steady-state advert timers, go first.
    pub(super) fn drain_bounded(&mut self) {
        let mut waiting: HashSet<RouterId> = self.deferred.iter().filter_map(router_of).collect();
        while let Some(a) = self.node.poll_action() {
            match a {
                NodeAction::Router(id, Action::SendAdvert(kind)) if !waiting.contains(&id) => {
                    self.queue_advert(id, kind)
                }
                other => {
                    if let Some(id) = router_of(&other) {
                        waiting.insert(id);
                    }
                    self.deferred.push_back(other);
                }
            }
        }
        let start = Instant::now();
        let mut touched: Vec<RouterId> = Vec::new();
        while start.elapsed() < BURST_BUDGET {
            let Some(a) = self.deferred.pop_front() else {
                break;
            };
            self.carry_out(a, &mut touched);
        }
        for id in touched {
            self.sync_routes(id);
        }
        if self.deferred.is_empty() && self.deferred.capacity() > 0 {
            // Only bursts defer: give their memory back.
            self.deferred.shrink_to_fit();
        }
    }

    fn carry_out(&mut self, a: NodeAction, touched: &mut Vec<RouterId>) {
        match a {
            NodeAction::Router(id, action) => {
                if matches!(action, Action::AddVip(_) | Action::RemoveVip(_))
                    && !touched.contains(&id)
                {
                    touched.push(id);
                }
                self.execute(id, action);
            }
            NodeAction::GroupChanged { group, from, to } => {
                self.out.push_back(Event::GroupChanged { group, from, to });
            }
            NodeAction::Stopped(router) => self.out.push_back(Event::Stopped { router }),
            _ => {}
        }
    }

    fn execute(&mut self, id: RouterId, action: Action) {
        match action {
            Action::SendAdvert(kind) => self.queue_advert(id, kind),
            Action::AddVip(addr) => self.change_vip(id, addr, true),
            Action::RemoveVip(addr) => self.change_vip(id, addr, false),
            Action::SendGarp(addr) => self.send_garp(id, addr),
            Action::SendUnsolicitedNa(addr) => self.send_na(id, addr),
            Action::StateChanged(change) => self
                .out
                .push_back(Event::StateChanged { router: id, change }),
            Action::Discarded { src, reason } => self.out.push_back(Event::Discarded {
                router: id,
                src,
                reason,
            }),
            Action::Mismatch { src, mismatch } => self.out.push_back(Event::Mismatch {
                router: id,
                src,
                mismatch,
            }),
            Action::LowerPriorityHeard { src, priority } => {
                self.out.push_back(Event::LowerPriorityHeard {
                    router: id,
                    src,
                    priority,
                });
            }
            _ => {}
        }
    }

    /// Where an address of `p` goes: (interface index, name). Its own
    /// interface is looked up by name each time, so that one re-created
    /// since is found.
    fn vip_target(p: &Placed, dev: Option<&str>) -> Result<(u32, String), Error> {
        match dev {
            Some(dev) => ifindex(dev).map(|i| (i, dev.to_owned())),
            None => Ok(match &p.vmac {
                Some(v) => (v.ifindex, p.spec.vmac.clone().unwrap_or_default()),
                None => (p.ifindex, p.spec.interface.clone()),
            }),
        }
    }

    fn change_vip(&mut self, id: RouterId, addr: IpAddr, add: bool) {
        let Some(p) = self.placed.get(id) else {
            return;
        };
        let vip = p.spec.vip(addr, &p.retired);
        let done = Self::vip_target(p, vip.interface.as_deref()).and_then(|(i, dev)| {
            let r = if add {
                self.nl
                    .add_addr(i, addr, vip.prefix_len, vip.label.as_deref())
            } else {
                self.nl.del_addr(i, addr, vip.prefix_len)
            };
            r.map(|_| dev)
        });
        match done {
            Ok(interface) => self.out.push_back(Event::Vip {
                router: id,
                addr,
                prefix_len: vip.prefix_len,
                interface,
                added: add,
            }),
            // The interface went away with the address on it: nothing to
            // remove, nothing to report.
            Err(Error::NoSuchInterface { .. }) | Err(Error::DelAddr { .. })
                if !add && !self.vip_iface_exists(id, vip.interface.as_deref()) => {}
            Err(error) => {
                if let Some(p) = self.placed.get_mut(id) {
                    p.counters.address_errors += 1;
                }
                self.out.push_back(Event::Error {
                    router: Some(id),
                    error,
                });
            }
        }
    }

    fn vip_iface_exists(&mut self, id: RouterId, dev: Option<&str>) -> bool {
        let Some(p) = self.placed.get(id) else {
            return false;
        };
        match Self::vip_target(p, dev) {
            Ok((i, _)) => self.nl.link(i).is_ok(),
            Err(_) => false,
        }
    }

    fn send_garp(&mut self, id: RouterId, addr: Ipv4Addr) {
        let Some(p) = self.placed.get(id) else {
            return;
        };
        let own = p.spec.vip(IpAddr::V4(addr), &[]).interface;
        // INTEROP: without a virtual MAC, announce the interface's own MAC,
        // as keepalived does without use_vmac. RFC 9568 §6.4.2 (erratum
        // 7949) names the virtual router MAC, but announcing a MAC no
        // interface answers to would blackhole the address; with a
        // virtual MAC interface, that interface announces the virtual MAC.
        let target = match (p.vmac, own) {
            (Some(v), _) => Ok((v.ifindex, v.mac)),
            (None, Some(dev)) => ifindex(&dev).map(|i| (i, self.mac_of(i))),
            (None, None) => Ok((p.ifindex, self.mac_of(p.ifindex))),
        };
        let sent = target.and_then(|(i, mac)| self.garp.send(i, mac, addr));
        self.count_announce(id, sent, true);
    }

    fn send_na(&mut self, id: RouterId, addr: Ipv6Addr) {
        let Some(p) = self.placed.get(id) else {
            return;
        };
        let own = p.spec.vip(IpAddr::V6(addr), &[]).interface;
        let target = match own {
            Some(dev) => ifindex(&dev),
            None => Ok(p.ifindex),
        };
        let sent = target.and_then(|i| match self.ifaces.get(&i) {
            Some(iface) => match &iface.na {
                Some(na) => na.send(addr, iface.mac, true),
                None => Err(Error::Unsupported {
                    what: "neighbour advertisements on an interface without a link-local address",
                }),
            },
            None => Err(Error::Unsupported {
                what: "neighbour advertisements on an unknown interface",
            }),
        });
        self.count_announce(id, sent, false);
    }

    fn mac_of(&mut self, ifindex: u32) -> [u8; 6] {
        if let Some(i) = self.ifaces.get(&ifindex) {
            return i.mac;
        }
        self.nl.mac(ifindex).ok().flatten().unwrap_or([0; 6])
    }

    fn count_announce(&mut self, id: RouterId, sent: Result<(), Error>, garp: bool) {
        let Some(p) = self.placed.get_mut(id) else {
            return;
        };
        match sent {
            Ok(()) if garp => p.counters.garp_sent += 1,
            Ok(()) => p.counters.na_sent += 1,
            // Announcements are repeated; a failed one is counted, not
            // reported each time.
            Err(_) => p.counters.announce_errors += 1,
        }
    }

    // ----- routes ---------------------------------------------------------------

    /// Installs or withdraws router `id`'s routes so that they follow its
    /// addresses.
    pub(super) fn sync_routes(&mut self, id: RouterId) {
        let holds = self.node.router(id).is_some_and(|r| r.holds_vips());
        let Some(p) = self.placed.get(id) else {
            return;
        };
        if (p.spec.routes.is_empty() && p.spec.rules.is_empty()) || holds == p.routes_on {
            return;
        }
        let (routes, vip_ifindex) = (p.spec.routes.clone(), vip_ifindex(p));
        let rules = p.spec.rules.clone();
        // Rules point at the routes' tables: after them in, before them out.
        let mut errors = 0;
        if !holds {
            errors += self.apply_rules(id, &rules, false);
        }
        errors += self.apply_routes(id, &routes, vip_ifindex, holds);
        if holds {
            errors += self.apply_rules(id, &rules, true);
        }
        if let Some(p) = self.placed.get_mut(id) {
            p.routes_on = holds;
            p.counters.route_errors += errors;
        }
    }

    /// Withdraws every route of `p`, which holds them.
    pub(super) fn withdraw_routes(&mut self, id: RouterId, p: &Placed) {
        let _ = self.apply_rules(id, &p.spec.rules, false);
        let _ = self.apply_routes(id, &p.spec.routes, vip_ifindex(p), false);
    }

    /// Adds or deletes `routes`; returns how many failed.
    fn apply_routes(
        &mut self,
        id: RouterId,
        routes: &[RouteSpec],
        vip_ifindex: u32,
        add: bool,
    ) -> u64 {
        let mut errors = 0;
        for r in routes {
            let done = kernel_route(r, vip_ifindex).and_then(|route| {
                let r = if add {
                    self.nl.add_route(&route)
                } else {
                    self.nl.del_route(&route)
                };
                r.map(|_| Event::Route {
                    router: id,
                    route,
                    added: add,
                })
            });
            errors += self.report(id, done);
        }
        errors
    }

    /// Adds or deletes `rules`; returns how many failed (each reported).
    fn apply_rules(&mut self, id: RouterId, rules: &[crate::Rule], add: bool) -> u64 {
        let mut errors = 0;
        for r in rules {
            let done = if add {
                self.nl.add_rule(r)
            } else {
                self.nl.del_rule(r)
            };
            let done = done.map(|_| Event::Rule {
                router: id,
                rule: r.clone(),
                added: add,
            });
            errors += self.report(id, done);
        }
        errors
    }

    /// Queues `done`'s event, or its error for router `id`; 1 if it failed.
    fn report(&mut self, id: RouterId, done: Result<Event, Error>) -> u64 {
        match done {
            Ok(ev) => {
                self.out.push_back(ev);
                0
            }
            Err(error) => {
                self.out.push_back(Event::Error {
                    router: Some(id),
                    error,
                });
                1
            }
        }
    }
}

/// The interface that carries a router's addresses.
fn vip_ifindex(p: &Placed) -> u32 {
    p.vmac.map_or(p.ifindex, |v| v.ifindex)
}

/// The router a node action belongs to, if any.
fn router_of(a: &NodeAction) -> Option<RouterId> {
    match a {
        NodeAction::Router(id, _) | NodeAction::Stopped(id) => Some(*id),
        _ => None,
    }
}

/// The kernel's form of a route: its interface by index (with neither an
/// interface nor a gateway, the one carrying the addresses).
fn kernel_route(r: &RouteSpec, vip_ifindex: u32) -> Result<Route, Error> {
    let oif = match (&r.interface, r.gateway) {
        (Some(dev), _) => Some(ifindex(dev)?),
        (None, None) => Some(vip_ifindex),
        (None, Some(_)) => None,
    };
    Ok(Route {
        dst: r.dst,
        prefix_len: r.prefix_len,
        gateway: r.gateway,
        oif,
        metric: r.metric,
        table: r.table,
    })
}
