//! Applying a reload ([`super::reload::Plan`]): everything that can fail
//! is checked before anything changes; then instances are dropped,
//! retuned in place and added, checks replaced, and the Accept_Mode False
//! filter moved across.

use std::collections::BTreeSet;
use std::time::Instant;

use anyhow::{Context, anyhow};
use tracing::{error, info, warn};

use super::reload::{self, Plan};
use super::{Daemon, Phase, lifecycle, lower, noaccept, noaccept_vips, release_free_heap};
use crate::config::{self, Config};
use crate::sd_notify;

impl Daemon {
    /// SIGHUP or `vrrpd reload`: reload by difference, or refuse and keep
    /// running; the summary or the reason.
    pub(super) fn reload(&mut self, now: Instant) -> Result<String, String> {
        if self.phase != Phase::Running {
            return Err("vrrpd is stopping".into());
        }
        info!("reloading {}", self.config_path.display());
        let _ = sd_notify::notify("RELOADING=1");
        let done = match self.try_reload(now) {
            Ok(summary) => {
                self.counters.reloads += 1;
                info!("reloaded: {summary}");
                Ok(summary)
            }
            Err(e) => {
                self.counters.reload_failures += 1;
                error!("reload refused, still running the previous configuration: {e:#}");
                Err(format!("{e:#}"))
            }
        };
        release_free_heap();
        let _ = sd_notify::notify("READY=1");
        done
    }

    fn try_reload(&mut self, now: Instant) -> anyhow::Result<String> {
        // One log record for a refused file: the count and the first problem.
        let new = config::load(&self.config_path).map_err(|e| anyhow!("{}", e.summary()))?;
        let plan = reload::plan(&self.cfg, &new);
        if plan.is_noop() && new.global == self.cfg.global && new.lvs == self.cfg.lvs {
            return Ok("no change".into());
        }
        // Check everything that could fail before touching anything.
        let starting: BTreeSet<String> = plan.add.iter().chain(&plan.restart).cloned().collect();
        let placements = lifecycle::resolve(&mut self.exec, &new, &starting)?;
        for c in new.checks.iter().filter(|c| replaced(&plan, &c.name)) {
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
        self.replace_checks(&plan, &new, now);
        self.lvs.reload(&new.lvs, &mut self.checker, now)?;
        self.hooks.set_timeout(new.global.notify_timeout);
        let (control, metrics) = (
            self.cfg.global.control_socket.clone(),
            self.cfg.global.metrics_listen,
        );
        self.cfg = new;
        self.cfg.global.control_socket = control;
        self.cfg.global.metrics_listen = metrics;
        self.take_new_settings(&plan);
        self.add_instances(&starting, placements).context(
            "starting the new and changed instances failed after the old ones were stopped",
        )?;
        for id in self.insts.ids() {
            self.recompute(id);
        }
        if let Some(na) = &self.noaccept {
            if let Err(e) = na.set(&filtered) {
                // The union stays: traffic to dropped VIPs, which no
                // instance holds any more, is still filtered.
                warn!("{e:#}");
            }
        }
        Ok(summary(&plan))
    }

    fn warn_restart_only(&self, new: &Config) {
        if new.global.control_socket != self.cfg.global.control_socket {
            warn!("control_socket changed: takes effect at the next restart");
        }
        if new.global.metrics_listen != self.cfg.global.metrics_listen {
            warn!("metrics_listen changed: takes effect at the next restart");
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
