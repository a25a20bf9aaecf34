//! Readiness and timer handling: VRRP packets, netlink events, timers of
//! the routers, checks and hooks.

use super::*;

/// Netlink events kept buffered between reads (`on_netlink`).
const NET_BUF_KEEP: usize = 64;

impl Daemon {
    pub(super) fn on_timers(&mut self, now: Instant) {
        for u in self.take_due_units(now) {
            let fsm_due = self
                .units
                .get(u)
                .and_then(Option::as_ref)
                .is_some_and(|x| !x.stopped && x.poll_timeout().is_some_and(|t| t <= now));
            if fsm_due {
                self.feed(u, 0, now, Input::Timeout);
            } else {
                // A hand-over bound: `progress_stop` acts on it.
                self.refresh_deadline(u);
            }
        }
        self.checker.handle_timeout(now);
        let mut changed = BTreeSet::new();
        while let Some(ev) = self.checker.poll_event() {
            info!("{ev}");
            changed.insert(ev.name);
        }
        if !changed.is_empty() {
            let ids: Vec<usize> = self
                .insts
                .iter()
                .enumerate()
                .filter(|(_, i)| {
                    i.as_ref().is_some_and(|i| {
                        i.cfg.track_checks.iter().any(|t| changed.contains(&t.name))
                    })
                })
                .map(|(id, _)| id)
                .collect();
            for id in ids {
                self.recompute(id, now);
            }
        }
        self.hooks.handle_timeout(now);
        let _ = self.hooks.take_finished();
    }

    /// Reads every pending datagram of socket `si`, 32 per `recvmmsg`, and
    /// hands each advert to the instances of its VRID as it is read. The
    /// buffers and the parsed advert are reused: receiving allocates
    /// nothing (docs/performance.md).
    pub(super) fn on_socket(&mut self, si: usize, now: Instant) {
        let Some(mut batch) = self.rx_batch.take() else {
            return;
        };
        let mut adv = std::mem::replace(&mut self.rx_advert, scratch_advert());
        while let Some(s) = self.socks.get_mut(si).and_then(Option::as_mut) {
            let read = match s.sock.recv_batch(&mut batch) {
                Ok(n) => n,
                Err(e) => {
                    debug!("{}: receive error: {e}", s.ifname);
                    break;
                }
            };
            for r in batch.iter() {
                let Some(s) = self.socks.get_mut(si).and_then(Option::as_mut) else {
                    break;
                };
                if let Some(vrid) = parse_received(s, &r, &mut adv) {
                    self.dispatch_advert(si, vrid, r.src, r.ttl, &adv, now);
                }
            }
            // Fewer than a full batch: the socket is drained (a datagram
            // that arrives later raises a new readiness event).
            if read < RecvBatch::CAPACITY {
                break;
            }
        }
        self.rx_batch = Some(batch);
        self.rx_advert = adv;
    }

    /// Feeds one advert to every running instance of `vrid` on socket `si`.
    fn dispatch_advert(
        &mut self,
        si: usize,
        vrid: u8,
        src: IpAddr,
        ttl: u8,
        adv: &Advert,
        now: Instant,
    ) {
        let key = (si, vrid);
        let Some(n) = self.demux.get(&key).map(Vec::len) else {
            if let Some(s) = self.socks.get_mut(si).and_then(Option::as_mut) {
                s.unknown_vrid += 1;
            }
            return;
        };
        // By index: feeding borrows the daemon, and the list is short
        // (one instance per VRID unless several share an interface).
        for k in 0..n {
            let Some(&id) = self.demux.get(&key).and_then(|v| v.get(k)) else {
                break;
            };
            let Some(inst) = self.insts.get(id).and_then(Option::as_ref) else {
                continue;
            };
            let (u, m) = (inst.unit, inst.member);
            if self
                .units
                .get(u)
                .and_then(Option::as_ref)
                .is_some_and(|x| x.stopped)
            {
                continue;
            }
            self.feed(u, m, now, Input::Advert(src, ttl, adv));
        }
    }

    pub(super) fn on_netlink(&mut self, now: Instant) {
        let mut evs = std::mem::take(&mut self.net_buf);
        evs.clear();
        if let Err(e) = self.net.read(&mut evs) {
            warn!("netlink events: {e}");
        }
        let mut addr_ifaces = BTreeSet::new();
        for ev in &evs {
            match ev {
                NetEvent::LinkUp(l) => self.link_changed(l.ifindex, &l.name, true, now),
                NetEvent::LinkDown(l) => self.link_changed(l.ifindex, &l.name, false, now),
                NetEvent::LinkRemoved { ifindex, name } => {
                    self.link_changed(*ifindex, name, false, now);
                    self.links.remove(ifindex);
                    self.vmac_removed(*ifindex);
                }
                NetEvent::AddrRemoved(a) => {
                    addr_ifaces.insert(a.ifindex);
                    self.addr_removed(a.ifindex, a.addr);
                }
                NetEvent::AddrAdded(a) => {
                    addr_ifaces.insert(a.ifindex);
                    // A re-created interface may get its address after it
                    // came up.
                    if let Some((name, true)) = self.links.get(&a.ifindex).cloned() {
                        self.follow_recreated(a.ifindex, &name, now);
                    }
                }
                NetEvent::Overrun => {
                    warn!("netlink events were lost; re-reading the interfaces");
                    match self.nl.links() {
                        Ok(links) => {
                            for l in links {
                                self.link_changed(l.ifindex, &l.name, l.is_usable(), now);
                            }
                        }
                        Err(e) => error!("cannot list interfaces: {e}"),
                    }
                }
                _ => {}
            }
        }
        for ifindex in addr_ifaces {
            self.check_sources(ifindex, now);
        }
        // Keep the buffer for the next read, but not the size of a burst
        // (adding 1000 VIPs at start-up queues 1000 address events): link
        // and address events are rare, a burst can pay its allocation.
        evs.clear();
        evs.shrink_to(NET_BUF_KEEP);
        self.net_buf = evs;
    }

    pub(super) fn link_changed(&mut self, ifindex: u32, name: &str, up: bool, now: Instant) {
        let old = self.links.insert(ifindex, (name.to_owned(), up));
        if old.as_ref().is_some_and(|(n, u)| n == name && *u == up) {
            return;
        }
        let used =
            self.insts.iter().flatten().any(|i| {
                i.ifindex == ifindex || i.cfg.track_interfaces.iter().any(|t| t.name == name)
            });
        let word = if up { "up" } else { "down" };
        if used {
            info!("interface {name} is {word}");
        } else {
            debug!("interface {name} is {word}");
        }
        let ids: Vec<usize> = (0..self.insts.len()).collect();
        for id in ids {
            let Some(inst) = self.insts[id].as_mut() else {
                continue;
            };
            if inst.ifindex == ifindex && inst.link_up != up {
                inst.link_up = up;
                let (u, m) = (inst.unit, inst.member);
                self.feed(u, m, now, if up { Input::LinkUp } else { Input::LinkDown });
            }
            let tracks = self.insts[id]
                .as_ref()
                .is_some_and(|i| i.cfg.track_interfaces.iter().any(|t| t.name == name));
            if tracks {
                self.recompute(id, now);
            }
        }
        if up {
            self.follow_recreated(ifindex, name, now);
        }
    }

    /// An interface that instances run on was deleted and created again
    /// (it has a new index): once it is up and has a source address, those
    /// instances (with their sync groups) are restarted on it. Until then
    /// they stay in Fault.
    pub(super) fn follow_recreated(&mut self, ifindex: u32, name: &str, now: Instant) {
        if self.phase != Phase::Running {
            return;
        }
        let stale_units: BTreeSet<usize> = self
            .insts
            .iter()
            .flatten()
            .filter(|i| i.cfg.interface == name && i.ifindex != ifindex)
            .map(|i| i.unit)
            .collect();
        if stale_units.is_empty() {
            return;
        }
        let names = self.unit_member_names(stale_units);
        let prepared = match self.prepare_named(&names) {
            Ok(p) => p,
            Err(e) => {
                debug!("interface {name} was re-created but is not ready: {e:#}");
                return;
            }
        };
        let list: Vec<&str> = names.iter().map(String::as_str).collect();
        info!(
            "interface {name} was re-created (index {ifindex}); restarting {}",
            list.join(", ")
        );
        if let Err(e) = self.restart_named(&names, &prepared, now) {
            error!("cannot restart the instances on {name}: {e:#}");
        }
    }

    /// The names of every member of `units` (whole units restart together).
    fn unit_member_names(&self, units: impl IntoIterator<Item = usize>) -> BTreeSet<String> {
        units
            .into_iter()
            .filter_map(|u| self.units.get(u).and_then(Option::as_ref))
            .flat_map(|u| u.members.iter())
            .filter_map(|&id| self.insts.get(id).and_then(Option::as_ref))
            .map(|i| i.cfg.name.clone())
            .collect()
    }

    /// Resolves interface and source of the instances `names` again,
    /// read-only: the first failure is returned and nothing is changed.
    fn prepare_named(
        &mut self,
        names: &BTreeSet<String>,
    ) -> anyhow::Result<HashMap<String, Prepared>> {
        let skip = all_vips(&self.cfg);
        let mut prepared = HashMap::new();
        for inst in self
            .cfg
            .instances
            .iter()
            .filter(|i| names.contains(&i.name))
        {
            prepared.insert(inst.name.clone(), prepare(&mut self.nl, inst, &skip)?);
        }
        Ok(prepared)
    }

    /// Stops the instances `names` and starts them again from `prepared`.
    fn restart_named(
        &mut self,
        names: &BTreeSet<String>,
        prepared: &HashMap<String, Prepared>,
        now: Instant,
    ) -> anyhow::Result<()> {
        self.drop_instances(names, now);
        self.rebuild_demux();
        self.add_instances(names, prepared, now)
    }

    /// Someone deleted an instance's virtual MAC interface: make it again
    /// and, if the instance holds its VIPs, put them back and announce
    /// them (as for a VIP removed by hand, below).
    pub(super) fn vmac_removed(&mut self, ifindex: u32) {
        for id in 0..self.insts.len() {
            let Some(inst) = self.insts[id].as_ref() else {
                continue;
            };
            let (Some(link), Some(name)) = (inst.vmac, inst.cfg.vmac.clone()) else {
                continue;
            };
            if link.ifindex != ifindex {
                continue;
            }
            let (parent, vrid, iname) = (inst.ifindex, inst.cfg.vrid, inst.cfg.name.clone());
            let holds = router_of(&self.units, inst).is_some_and(VirtualRouter::holds_vips);
            // Forget the old one (its parent settings go back if it was the
            // last; `create` makes them again).
            let _ = self.vmacs.remove(&mut self.nl, &link);
            let link = match self.vmacs.create(&mut self.nl, parent, &name, vrid) {
                Ok(l) => l,
                Err(e) => {
                    // The parent went too: restarting on its return
                    // (`follow_recreated`) makes the macvlan again.
                    warn!(
                        "{iname}: virtual MAC interface {name} was deleted; cannot recreate it: {e}"
                    );
                    continue;
                }
            };
            warn!("{iname}: virtual MAC interface {name} was deleted; recreated");
            let Some(inst) = self.insts[id].as_mut() else {
                continue;
            };
            inst.vmac = Some(link);
            if !holds {
                continue;
            }
            for v in &inst.cfg.vips {
                match self
                    .nl
                    .add_addr(link.ifindex, v.addr, v.prefix_len, v.label.as_deref())
                {
                    Ok(_) => inst.counters.addresses_restored += 1,
                    Err(e) => {
                        inst.counters.address_errors += 1;
                        error!("{iname}: cannot add {}/{}: {e}", v.addr, v.prefix_len);
                    }
                }
                if let IpAddr::V4(a) = v.addr {
                    match self.garp.send(link.ifindex, link.mac, a) {
                        Ok(()) => inst.counters.garp_sent += 1,
                        Err(_) => inst.counters.announce_errors += 1,
                    }
                }
            }
        }
    }

    /// An address disappeared: if it is a VIP of a master on a usable link
    /// (someone removed it, or a link flap flushed an IPv6 address), put it
    /// back.
    pub(super) fn addr_removed(&mut self, ifindex: u32, addr: IpAddr) {
        if !self.links.get(&ifindex).is_some_and(|l| l.1) {
            return;
        }
        for inst in self.insts.iter_mut().flatten() {
            if !inst.cfg.vips.iter().any(|v| v.addr == addr) {
                continue;
            }
            let meta = vip_meta(&inst.cfg, addr, &[]);
            if inst.vip_target(&meta).map(|t| t.0) != Ok(ifindex) {
                continue;
            }
            let holds = router_of(&self.units, inst).is_some_and(VirtualRouter::holds_vips);
            if !holds {
                continue;
            }
            let p = meta.prefix_len;
            match self.nl.add_addr(ifindex, addr, p, meta.label.as_deref()) {
                Ok(true) => {
                    inst.counters.addresses_restored += 1;
                    warn!(
                        "{}: {addr}/{p} was removed from {} while master; restored",
                        inst.cfg.name,
                        meta.interface.as_deref().unwrap_or(inst.vip_dev())
                    );
                }
                Ok(false) => {}
                Err(e) => error!("{}: cannot restore {addr}/{p}: {e}", inst.cfg.name),
            }
        }
    }

    /// Addresses of `ifindex` changed: instances that send from the
    /// interface's own address (no `unicast_source`) and whose source is no
    /// longer the one vrrpd would pick (the primary IPv4 address, or the
    /// IPv6 link-local address) are restarted with the new one. The
    /// source is the state machine's primary address (tie-breaks and own
    /// advert detection), so it cannot change in place. A source that
    /// disappears without a replacement changes nothing (sends fail and are
    /// counted until it is back).
    pub(super) fn check_sources(&mut self, ifindex: u32, now: Instant) {
        if self.phase != Phase::Running {
            return;
        }
        let affected: Vec<(String, IpAddr)> = self
            .insts
            .iter()
            .flatten()
            .filter(|i| i.ifindex == ifindex && i.cfg.unicast_source.is_none())
            .map(|i| (i.cfg.name.clone(), i.source))
            .collect();
        if affected.is_empty() {
            return;
        }
        let skip = all_vips(&self.cfg);
        let v4 = if affected.iter().any(|(_, s)| s.is_ipv4()) {
            self.nl
                .primary_ipv4(ifindex, &skip)
                .ok()
                .flatten()
                .map(IpAddr::V4)
        } else {
            None
        };
        let v6 = if affected.iter().any(|(_, s)| s.is_ipv6()) {
            self.nl
                .ipv6_link_local(ifindex, &skip)
                .ok()
                .flatten()
                .map(IpAddr::V6)
        } else {
            None
        };
        let changed: Vec<(String, IpAddr, IpAddr)> = affected
            .into_iter()
            .filter_map(|(n, old)| {
                let new = if old.is_ipv4() { v4 } else { v6 }?;
                (new != old).then_some((n, old, new))
            })
            .collect();
        if changed.is_empty() {
            return;
        }
        let units: Vec<usize> = changed
            .iter()
            .filter_map(|(n, _, _)| self.names.get(n))
            .filter_map(|&id| self.insts[id].as_ref().map(|i| i.unit))
            .collect();
        let names = self.unit_member_names(units);
        let prepared = match self.prepare_named(&names) {
            Ok(p) => p,
            Err(e) => {
                debug!("source address change on ifindex {ifindex}: {e:#}");
                return;
            }
        };
        for (n, old, new) in &changed {
            warn!(
                "{n}: the interface's address changed from {old} to {new}; restarting the instance"
            );
        }
        if let Err(e) = self.restart_named(&names, &prepared, now) {
            error!("cannot restart the instances after an address change: {e:#}");
        }
    }
}

/// Parses one received datagram into `adv`, counting it on socket `s`;
/// returns its VRID, or `None` (counted by reason) if it is not a valid
/// advert.
fn parse_received(s: &mut Sock, r: &netif::Received<'_>, adv: &mut Advert) -> Option<u8> {
    s.received += 1;
    let ctx = match (r.src, r.dst) {
        (IpAddr::V4(a), IpAddr::V4(b)) => ChecksumCtx::ipv4(a, b),
        (IpAddr::V6(a), IpAddr::V6(b)) => ChecksumCtx::ipv6(a, b),
        _ => return None,
    };
    let parsed = Packet::new_checked(r.payload)
        .and_then(|p| adv.parse_into(&p, &ctx).map(|o| (p.vrid(), o)));
    match parsed {
        Ok((vrid, outcome)) => {
            match outcome {
                ChecksumOutcome::V3Ipv4(V3Ipv4PseudoHeader::Include) => {
                    s.v3_ipv4_with_pseudo_header += 1
                }
                ChecksumOutcome::V3Ipv4(V3Ipv4PseudoHeader::Exclude) => {
                    s.v3_ipv4_without_pseudo_header += 1
                }
                _ => {}
            }
            Some(vrid)
        }
        Err(e) => {
            let key = status::parse_error_key(&e);
            debug!("{}: dropped a VRRP packet from {}: {e}", s.ifname, r.src);
            *s.parse_errors.entry(key).or_default() += 1;
            None
        }
    }
}
