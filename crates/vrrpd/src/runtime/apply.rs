//! Applying a reload ([`super::reload::Plan`]) in slices, so that the
//! loop never stays away from the adverts for long:
//!
//! 1. **resolving** (read-only): where each new or restarted instance will
//!    run, a few instances per loop round; the first that cannot be placed
//!    refuses the reload before anything changed;
//! 2. **switching** (one step): checks validated, the Accept_Mode False
//!    filter widened, instances dropped and retuned, checks replaced, the
//!    configuration swapped;
//! 3. **adding**: the new and restarted instances, one instance or sync
//!    group at a time, a few per round;
//! 4. the filter narrowed, priorities recomputed, "reloaded" logged.
//!
//! A round's share ends after [`super::SLICE`]; the loop comes back at once
//! (it has a backlog) after it has run the executor. A SIGHUP during an
//! apply reloads again once it is done.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::Instant;

use anyhow::anyhow;
use netif::executor::Placement;
use tracing::{debug, error, info, warn};

use super::reload::{self, Plan};
use super::{Daemon, Phase, SLICE, lifecycle, lower, noaccept, noaccept_vips, release_free_heap};
use crate::config::Config;
use crate::control::Response;
use crate::sd_notify;

/// A reload being applied (see the module docs).
pub(super) struct Applying {
    plan: Plan,
    /// The new configuration, until it is switched in.
    new: Option<Config>,
    /// Instances to start, in order; `resolved` of them are resolved.
    starting: Vec<String>,
    resolved: usize,
    at: HashMap<String, Placement>,
    /// After the switch: what to add, one instance or sync group each.
    units: VecDeque<BTreeSet<String>>,
    started: Instant,
    /// A SIGHUP came meanwhile.
    again: bool,
}

impl Daemon {
    /// SIGHUP or `vrrpd reload`: the file is read, parsed and validated on
    /// a worker thread ([`super::reload_worker`]); [`Daemon::reload_read`]
    /// applies it.
    pub(super) fn reload(&mut self, now: Instant) {
        if self.phase != Phase::Running {
            self.answer_reload_waiters(&Err(anyhow!("vrrpd is stopping")), now);
            return;
        }
        if let Some(a) = self.applying.as_mut() {
            info!("SIGHUP: reloading again once the current reload is applied");
            a.again = true;
            return;
        }
        info!("SIGHUP: reloading {}", self.config_path.display());
        let _ = sd_notify::notify("RELOADING=1");
        if !self.reloader.start(&self.config_path) {
            self.counters.reload_failures += 1;
            error!("reload refused: cannot start the thread that reads the configuration");
            let _ = sd_notify::notify("READY=1");
        }
    }

    /// The worker read the file: plan the reload and start applying it, or
    /// refuse it and keep running.
    pub(super) fn reload_read(&mut self, now: Instant) {
        let Some((read, again)) = self.reloader.take() else {
            return;
        };
        if self.phase != Phase::Running {
            return;
        }
        match read {
            Ok(new) => self.begin_apply(new, again),
            Err(e) => self.reload_done(Err(anyhow!("{e}")), again, now),
        }
    }

    fn begin_apply(&mut self, new: Config, again: bool) {
        let plan = reload::plan(&self.cfg, &new);
        if plan.is_noop() && new.global == self.cfg.global && new.lvs == self.cfg.lvs {
            self.reload_state_lines(&plan);
            return self.reload_done(Ok("no change".into()), again, Instant::now());
        }
        let starting: Vec<String> = plan.add.iter().chain(&plan.restart).cloned().collect();
        self.applying = Some(Applying {
            plan,
            new: Some(new),
            starting,
            resolved: 0,
            at: HashMap::new(),
            units: VecDeque::new(),
            started: Instant::now(),
            again,
        });
    }

    /// True while a reload is being applied (the loop does not sleep).
    pub(super) fn is_applying(&self) -> bool {
        self.applying.is_some()
    }

    /// Applies the next slice of the reload in progress.
    pub(super) fn continue_apply(&mut self, now: Instant) {
        let Some(mut a) = self.applying.take() else {
            return;
        };
        if self.phase != Phase::Running {
            return;
        }
        let slice_start = Instant::now();
        let step = self.apply_slice(&mut a, slice_start, now);
        match step {
            Ok(false) => self.applying = Some(a),
            Ok(true) => {
                debug!("reload applied in {:?}", a.started.elapsed());
                self.reload_done(Ok(summary(&a.plan)), a.again, now);
            }
            Err(e) => self.reload_done(Err(e), a.again, now),
        }
    }

    /// One slice; true when the reload is complete.
    fn apply_slice(
        &mut self,
        a: &mut Applying,
        slice_start: Instant,
        now: Instant,
    ) -> anyhow::Result<bool> {
        let within = || slice_start.elapsed() < SLICE;
        if let Some(new) = &a.new {
            while a.resolved < a.starting.len() && within() {
                let one: BTreeSet<String> =
                    a.starting.get(a.resolved).cloned().into_iter().collect();
                a.at.extend(lifecycle::resolve(&mut self.exec, new, &one)?);
                a.resolved += 1;
            }
            if a.resolved < a.starting.len() {
                return Ok(false);
            }
            let new = a
                .new
                .take()
                .ok_or_else(|| anyhow!("reload: no configuration"))?;
            self.switch_to(new, &a.plan, now)?;
            a.units = units(&self.cfg, &a.starting);
            return Ok(false);
        }
        while within() {
            let Some(unit) = a.units.pop_front() else {
                self.finish_apply();
                self.reload_state_lines(&a.plan);
                return Ok(true);
            };
            let at = unit
                .iter()
                .filter_map(|n| a.at.remove(n).map(|p| (n.clone(), p)))
                .collect();
            if let Err(e) = self.add_instances(&unit, at) {
                // The old instances are gone already: go on with the rest.
                error!("reload: starting {unit:?} failed: {e:#}");
            }
        }
        Ok(false)
    }

    /// Answers the `vrrpd reload` clients with `outcome`.
    fn answer_reload_waiters(&mut self, outcome: &anyhow::Result<String>, now: Instant) {
        let resp = match outcome {
            Ok(summary) => Response::ok(Some(serde_json::json!({ "message": summary }))),
            Err(e) => Response::error(format!("{e:#}")),
        };
        for id in std::mem::take(&mut self.reload_waiters) {
            self.control.respond(self.poll.registry(), id, &resp, now);
        }
    }

    fn reload_done(&mut self, outcome: anyhow::Result<String>, again: bool, now: Instant) {
        self.answer_reload_waiters(&outcome, now);
        match outcome {
            Ok(summary) => {
                self.counters.reloads += 1;
                info!("reloaded: {summary}");
            }
            Err(e) => {
                self.counters.reload_failures += 1;
                error!("reload refused, still running the previous configuration: {e:#}");
            }
        }
        release_free_heap();
        let _ = sd_notify::notify("READY=1");
        if again {
            // A SIGHUP came meanwhile: the file may have changed.
            self.reload(now);
        }
    }

    /// Checks what could still fail, then drops, retunes and replaces,
    /// and swaps the configuration in.
    fn switch_to(&mut self, new: Config, plan: &Plan, now: Instant) -> anyhow::Result<()> {
        for c in new.checks.iter().filter(|c| replaced(plan, &c.name)) {
            lower::check_spec(c)
                .validate()
                .map_err(|e| anyhow!("check {:?}: {e}", c.name))?;
        }
        let filtered = noaccept_vips(&new);
        if !filtered.is_empty() && self.noaccept.is_none() {
            self.noaccept = Some(noaccept::NoAccept::install()?);
        }
        // The filter holds the old and the new Accept_Mode False VIPs while
        // instances change, then only the new ones.
        if let Some(na) = &self.noaccept {
            let mut both = noaccept_vips(&self.cfg);
            both.extend(
                filtered
                    .iter()
                    .filter(|a| !both.contains(a))
                    .copied()
                    .collect::<Vec<_>>(),
            );
            na.set(&both)?;
        }
        self.warn_restart_only(&new);
        self.drop_instances(plan.remove.iter().chain(&plan.restart));
        self.replace_checks(plan, &new, now);
        self.lvs.reload(&new.lvs, &mut self.checker, now)?;
        // The real servers the reload dropped while they were up.
        self.send_lvs_alerts();
        self.hooks.set_timeout(new.global.notify_timeout);
        self.exec
            .set_late_warning(new.global.advert_late_warn_permille);
        let (control, metrics, group) = (
            self.cfg.global.control_socket.clone(),
            self.cfg.global.metrics_listen,
            self.cfg.global.control_group.clone(),
        );
        self.cfg = new;
        self.cfg.global.control_group = group;
        self.cfg.global.control_socket = control;
        self.cfg.global.metrics_listen = metrics;
        self.take_new_settings(plan);
        Ok(())
    }

    /// After the last instance was added: priorities recomputed, the
    /// filter narrowed to the new configuration's VIPs.
    fn finish_apply(&mut self) {
        for id in self.insts.ids() {
            self.recompute(id);
        }
        if let Some(na) = &self.noaccept {
            if let Err(e) = na.set(&noaccept_vips(&self.cfg)) {
                // The union stays: traffic to dropped VIPs, which no
                // instance holds any more, is still filtered.
                warn!("{e:#}");
            }
        }
    }

    fn warn_restart_only(&self, new: &Config) {
        if new.global.control_socket != self.cfg.global.control_socket {
            warn!("control_socket changed: takes effect at the next restart");
        }
        if new.global.metrics_listen != self.cfg.global.metrics_listen {
            warn!("metrics_listen changed: takes effect at the next restart");
        }
        if new.global.control_group != self.cfg.global.control_group {
            warn!("control_group changed: takes effect at the next restart");
        }
    }

    fn replace_checks(&mut self, plan: &Plan, new: &Config, now: Instant) {
        for name in plan.checks_remove.iter().chain(&plan.checks_replace) {
            if let Some(id) = self.checker.id(name) {
                self.checker.remove(id);
            }
        }
        for c in new.checks.iter().filter(|c| replaced(plan, &c.name)) {
            if let Err(e) = self.checker.add(lower::check_spec(c), now) {
                error!("check {:?} not started: {e}", c.name);
            }
        }
    }

    /// Kept and updated instances take their new configuration (hooks,
    /// tracking); retuned ones are reconfigured in place: the state, the
    /// timers, the sockets and the unchanged addresses stay.
    fn take_new_settings(&mut self, plan: &Plan) {
        let running: Vec<_> = self.insts.ids();
        for id in running {
            let Some(inst) = self.insts.get_mut(id) else {
                continue;
            };
            let Some(new) = self.cfg.instances.iter().find(|c| c.name == inst.cfg.name) else {
                continue;
            };
            inst.cfg = new.clone();
            inst.group = self
                .cfg
                .sync_groups
                .iter()
                .find(|g| g.instances.contains(&new.name))
                .map(|g| g.name.clone());
            if !plan.retune.contains(&new.name) {
                continue;
            }
            let (cfg, spec) = (lower::fsm_config(new), lower::router_spec(new));
            let name = new.name.clone();
            match self.exec.reconfigure(id, cfg, spec) {
                Ok(()) => info!("{name}: reconfigured in place"),
                // The plan only retunes what the router takes in place.
                Err(e) => error!("{name}: not reconfigured: {e}"),
            }
            self.handle_exec_events();
        }
    }
}

/// A check the reload starts (new or changed).
fn replaced(plan: &Plan, name: &String) -> bool {
    plan.checks_add.contains(name) || plan.checks_replace.contains(name)
}

/// The instances of `starting` as units to add: a sync group's members
/// together, the others one by one.
fn units(cfg: &Config, starting: &[String]) -> VecDeque<BTreeSet<String>> {
    let mut out = VecDeque::new();
    let mut grouped = BTreeSet::new();
    for g in &cfg.sync_groups {
        let members: BTreeSet<String> = g
            .instances
            .iter()
            .filter(|m| starting.contains(m))
            .cloned()
            .collect();
        if !members.is_empty() {
            grouped.extend(members.iter().cloned());
            out.push_back(members);
        }
    }
    for n in starting.iter().filter(|n| !grouped.contains(*n)) {
        out.push_back(BTreeSet::from([n.clone()]));
    }
    out
}

fn summary(plan: &Plan) -> String {
    format!(
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
    )
}
