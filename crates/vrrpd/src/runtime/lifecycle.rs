//! Stopping (make-before-break) and reloading (by difference).

use super::*;

impl Daemon {
    // ----- stop ------------------------------------------------------------

    pub(super) fn begin_stop(&mut self, now: Instant) {
        if self.phase != Phase::Running {
            info!("second stop signal: releasing at once");
            let handing: Vec<usize> = self
                .units
                .iter()
                .enumerate()
                .filter(|(_, u)| u.as_ref().is_some_and(|u| u.handover_until.is_some()))
                .map(|(i, _)| i)
                .collect();
            for u in handing {
                self.stop_unit(u, now, false);
            }
            return;
        }
        if let Err(e) = sd_notify::notify("STOPPING=1") {
            debug!("sd_notify STOPPING=1: {e}");
        }
        info!("stopping: releasing every instance");
        self.phase = Phase::Stopping;
        for u in 0..self.units.len() {
            self.stop_unit(u, now, true);
        }
    }

    /// Stops unit `u`; with `handover`, a master that is not the owner first
    /// hands over (make-before-break) and is stopped by
    /// [`Self::progress_stop`] once a new master is heard or the bound passes.
    pub(super) fn stop_unit(&mut self, u: usize, now: Instant, handover: bool) {
        let Some(unit) = self.units.get_mut(u).and_then(Option::as_mut) else {
            return;
        };
        if unit.stopped {
            return;
        }
        if handover && unit.handover_until.is_none() {
            let (ok, bound) = match &mut unit.fsm {
                Fsm::Solo(r) => {
                    let can =
                        r.state() == State::Master && !r.config().is_owner() && !r.in_maintenance();
                    let bound = mapping::stop_handover_bound(r.config());
                    (can && r.request_switchover(now).is_ok(), bound)
                }
                Fsm::Group(g) => {
                    let bound = g
                        .members()
                        .iter()
                        .map(|r| mapping::stop_handover_bound(r.config()))
                        .max()
                        .unwrap_or(Duration::from_secs(4));
                    let can = g.members().iter().any(|r| r.state() == State::Master)
                        && g.members().iter().all(|r| !r.in_maintenance());
                    (can && g.request_switchover(now).is_ok(), bound)
                }
            };
            if ok {
                unit.handover_until = Some(now + bound);
                self.drain(u, now);
                return;
            }
        }
        if let Some(unit) = self.units.get_mut(u).and_then(Option::as_mut) {
            unit.handover_until = None;
            unit.stopped = true;
        }
        // `feed` skips nothing for stopped units: the shutdown goes through.
        self.feed(u, 0, now, Input::Shutdown);
    }

    /// Advances the stop sequence; true when the daemon may exit.
    pub(super) fn progress_stop(&mut self, now: Instant) -> bool {
        match self.phase {
            Phase::Running => false,
            Phase::Stopping => {
                let done: Vec<usize> = self
                    .units
                    .iter()
                    .enumerate()
                    .filter_map(|(i, u)| {
                        let u = u.as_ref()?;
                        let until = u.handover_until?;
                        let rs = u.routers();
                        let released = rs.iter().all(|r| !r.holds_vips());
                        let resumed = rs.iter().any(|r| r.state() == State::Master);
                        (released || resumed || now >= until).then_some(i)
                    })
                    .collect();
                for u in done {
                    self.stop_unit(u, now, false);
                }
                if self.units.iter().flatten().all(|u| u.stopped) {
                    let deadline =
                        now + self.cfg.global.notify_timeout + Duration::from_millis(500);
                    self.phase = Phase::Hooks(deadline);
                    return self.hooks.is_idle();
                }
                false
            }
            Phase::Hooks(deadline) => {
                if self.hooks.is_idle() {
                    return true;
                }
                if now >= deadline {
                    warn!("stop hooks still running at the deadline; killing them");
                    return true;
                }
                false
            }
        }
    }

    // ----- reload ------------------------------------------------------------

    pub(super) fn reload(&mut self, now: Instant) {
        if self.phase != Phase::Running {
            return;
        }
        info!("SIGHUP: reloading {}", self.config_path.display());
        let _ = sd_notify::notify("RELOADING=1");
        match self.try_reload(now) {
            Ok(summary) => {
                self.reloads += 1;
                info!("reloaded: {summary}");
            }
            Err(e) => {
                self.reload_failures += 1;
                error!("reload refused, still running the previous configuration: {e:#}");
            }
        }
        release_free_heap();
        let _ = sd_notify::notify("READY=1");
    }

    pub(super) fn try_reload(&mut self, now: Instant) -> anyhow::Result<String> {
        let new = config::load(&self.config_path).map_err(|e| anyhow!("\n{e}"))?;
        let plan = reload::plan(&self.cfg, &new);
        if plan.is_noop() && new.global == self.cfg.global {
            return Ok("no change".into());
        }
        // Check everything that could fail before touching anything.
        let skip = all_vips(&new);
        let starting: BTreeSet<String> = plan.add.iter().chain(&plan.restart).cloned().collect();
        let mut prepared = HashMap::new();
        for inst in new.instances.iter().filter(|i| starting.contains(&i.name)) {
            prepared.insert(inst.name.clone(), prepare(&mut self.nl, inst, &skip)?);
        }
        for c in new
            .checks
            .iter()
            .filter(|c| plan.checks_add.contains(&c.name) || plan.checks_replace.contains(&c.name))
        {
            mapping::check_spec(c)
                .validate()
                .map_err(|e| anyhow!("check {:?}: {e}", c.name))?;
        }
        // Retuned instances: their new state-machine configuration, from
        // the address they already send from.
        let mut retuned = Vec::with_capacity(plan.retune.len());
        for name in &plan.retune {
            let (Some(&id), Some(ni)) = (
                self.names.get(name),
                new.instances.iter().find(|i| &i.name == name),
            ) else {
                continue;
            };
            let Some(inst) = self.insts.get(id).and_then(Option::as_ref) else {
                continue;
            };
            retuned.push(Retune {
                id,
                fsm_cfg: mapping::fsm_config(ni, inst.source).map_err(|e| anyhow!(e))?,
                routes_changed: ni.virtual_routes != inst.cfg.virtual_routes,
                old: inst.cfg.clone(),
            });
        }
        if needs_noaccept(&new) && self.noaccept.is_none() {
            self.noaccept = Some(noaccept::NoAccept::install()?);
        }
        // The filter holds the old and the new Accept_Mode False VIPs while
        // instances change, then only the new ones.
        let filtered = noaccept_vips(&new);
        if let Some(na) = &self.noaccept {
            let mut both = noaccept_vips(&self.cfg);
            for a in &filtered {
                if !both.contains(a) {
                    both.push(*a);
                }
            }
            na.set(&both)?;
        }
        if new.global.control_socket != self.cfg.global.control_socket {
            warn!("control_socket changed: takes effect at the next restart");
        }
        if new.global.metrics_listen != self.cfg.global.metrics_listen {
            warn!("metrics_listen changed: takes effect at the next restart");
        }

        // Retuned instances whose routes change withdraw the old ones now,
        // while their configuration still names them; `sync_routes` adds
        // the new ones when the retune is drained.
        for r in retuned.iter().filter(|r| r.routes_changed) {
            if self
                .insts
                .get(r.id)
                .and_then(Option::as_ref)
                .is_some_and(|i| i.routes_on)
            {
                self.set_routes(r.id, false);
            }
        }
        // Stop what goes away or restarts (whole units).
        self.drop_instances(plan.remove.iter().chain(&plan.restart), now);
        // Checks.
        for name in plan.checks_remove.iter().chain(&plan.checks_replace) {
            if let Some(id) = self.checker.id(name) {
                self.checker.remove(id);
            }
        }
        for c in new
            .checks
            .iter()
            .filter(|c| plan.checks_add.contains(&c.name) || plan.checks_replace.contains(&c.name))
        {
            if let Err(e) = self.checker.add(mapping::check_spec(c), now) {
                error!("check {:?} not started: {e}", c.name);
            }
        }
        self.hooks.set_timeout(new.global.notify_timeout);
        let old_global = self.cfg.global.clone();
        self.cfg = new;
        self.cfg.global.control_socket = old_global.control_socket;
        self.cfg.global.metrics_listen = old_global.metrics_listen;
        // In-place updates (and kept instances: same settings).
        for inst in self.insts.iter_mut().flatten() {
            if let Some(c) = self.cfg.instances.iter().find(|c| c.name == inst.cfg.name) {
                inst.cfg = c.clone();
            }
        }
        for unit in self.units.iter_mut().flatten() {
            if let Some(g) = &unit.group {
                if let Some(ng) = self.cfg.sync_groups.iter().find(|x| x.name == g.name) {
                    unit.group = Some(Box::new(ng.clone()));
                }
            }
        }
        self.retune(retuned, now);
        self.rebuild_demux();
        self.add_instances(&starting, &prepared, now).context(
            "starting the new and changed instances failed after the old ones were stopped",
        )?;
        for id in 0..self.insts.len() {
            self.recompute(id, now);
        }
        if let Some(na) = &self.noaccept {
            if let Err(e) = na.set(&filtered) {
                // The union stays: traffic to dropped VIPs, which no
                // instance holds any more, is still filtered.
                warn!("{e:#}");
            }
        }
        Ok(format!(
            "{} kept, {} updated in place, {} retuned in place, {} restarted, {} added, {} removed; checks: {} added, {} replaced, {} removed",
            plan.keep.len(),
            plan.update.len(),
            plan.retune.len(),
            plan.restart.len(),
            plan.add.len(),
            plan.remove.len(),
            plan.checks_add.len(),
            plan.checks_replace.len(),
            plan.checks_remove.len()
        ))
    }

    /// Hands each retuned instance (its `cfg` already replaced) its new
    /// state-machine configuration: `VirtualRouter::reconfigure` keeps the
    /// state and moves only the addresses that changed.
    fn retune(&mut self, retuned: Vec<Retune>, now: Instant) {
        for Retune {
            id, fsm_cfg, old, ..
        } in retuned
        {
            let Some(inst) = self.insts.get_mut(id).and_then(Option::as_mut) else {
                continue;
            };
            inst.pseudo = mapping::pseudo_header(&inst.cfg);
            let (u, member) = (inst.unit, inst.member);
            let name = inst.cfg.name.clone();
            let Some(unit) = self.units.get_mut(u).and_then(Option::as_mut) else {
                continue;
            };
            let r = match &mut unit.fsm {
                Fsm::Solo(r) => r.reconfigure(now, fsm_cfg),
                Fsm::Group(g) => g.reconfigure(now, member, fsm_cfg),
            };
            match r {
                Ok(()) => info!("{name}: reconfigured in place"),
                // The plan only retunes what the router takes in place.
                Err(e) => error!("{name}: not reconfigured: {e}"),
            }
            self.retired = Some(old);
            self.drain(u, now);
            self.retired = None;
        }
    }

    /// Stops (immediately: priority 0 from a master, addresses removed,
    /// stop hooks) and drops the instances named, with every member of
    /// their units.
    pub(super) fn drop_instances<'a>(
        &mut self,
        names: impl IntoIterator<Item = &'a String>,
        now: Instant,
    ) {
        let units: BTreeSet<usize> = names
            .into_iter()
            .filter_map(|n| self.names.get(n))
            .filter_map(|&id| self.insts[id].as_ref().map(|i| i.unit))
            .collect();
        for u in units {
            self.stop_unit(u, now, false);
            let members = self.units[u].take().map(|x| x.members).unwrap_or_default();
            for id in members {
                if let Some(inst) = self.insts[id].take() {
                    self.names.remove(&inst.cfg.name);
                    self.release_sock(inst.sock);
                    self.remove_vmac(&inst);
                }
            }
        }
    }

    /// Deletes an instance's virtual MAC interface (its VIPs are gone).
    pub(super) fn remove_vmac(&mut self, inst: &Inst) {
        if let (Some(link), Some(name)) = (&inst.vmac, &inst.cfg.vmac) {
            match self.vmacs.remove(&mut self.nl, link) {
                Ok(()) => info!("{}: removed virtual MAC interface {name}", inst.cfg.name),
                Err(e) => warn!("{}: cannot remove {name}: {e}", inst.cfg.name),
            }
        }
    }

    pub(super) fn release_sock(&mut self, i: usize) {
        let gone = match self.socks.get_mut(i).and_then(Option::as_mut) {
            Some(s) => {
                s.users = s.users.saturating_sub(1);
                s.users == 0
            }
            None => false,
        };
        if gone {
            if let Some(mut s) = self.socks[i].take() {
                let _ = self.poll.registry().deregister(&mut s.sock);
            }
        }
    }
}

/// An instance a reload changes in place (`reload::Plan::retune`).
struct Retune {
    id: usize,
    /// Its new state-machine configuration.
    fsm_cfg: vrrp_fsm::Config,
    /// Its `virtual_routes` change: a master swaps them.
    routes_changed: bool,
    /// Its configuration before the reload (the prefix lengths of the
    /// addresses it drops).
    old: Arc<Instance>,
}
