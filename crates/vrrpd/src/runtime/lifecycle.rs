//! Instances coming and going: start-up (everything resolved before
//! anything changes), adding and dropping instances, and the stop
//! sequence (make-before-break).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use netif::executor::{Executor, Placement};
use tracing::{debug, info, warn};
use vrrp_fsm::{RouterId, Stop};

use super::instances::Inst;
use super::{Daemon, Phase, lower};
use crate::config::{Config, Instance};
use crate::sd_notify;

/// Where each instance of `names` runs, resolved without changing
/// anything: the first instance whose interface, source address or
/// address interface is missing stops the caller.
pub(super) fn resolve(
    exec: &mut Executor,
    cfg: &Config,
    names: &BTreeSet<String>,
) -> anyhow::Result<HashMap<String, Placement>> {
    let mut out = HashMap::new();
    for inst in cfg.instances.iter().filter(|i| names.contains(&i.name)) {
        let at = exec
            .resolve(&lower::router_spec(inst), lower::family(inst))
            .map_err(|e| anyhow!("instance {:?}: {e}", inst.name))?;
        out.insert(inst.name.clone(), at);
    }
    Ok(out)
}

impl Daemon {
    /// Adds and starts the instances `names` of the configuration, sync
    /// group members together, with their placements resolved before.
    /// Each router gets its tracked priority and faults before it starts.
    pub(super) fn add_instances(
        &mut self,
        names: &BTreeSet<String>,
        mut at: HashMap<String, Placement>,
    ) -> anyhow::Result<()> {
        let mut units: Vec<(Option<String>, Vec<Arc<Instance>>)> = Vec::new();
        let mut grouped = BTreeSet::new();
        for g in &self.cfg.sync_groups {
            let members: Vec<Arc<Instance>> = g
                .instances
                .iter()
                .filter(|n| names.contains(*n))
                .filter_map(|n| self.cfg.instances.iter().find(|i| &i.name == n).cloned())
                .collect();
            if !members.is_empty() {
                grouped.extend(members.iter().map(|m| m.name.clone()));
                units.push((Some(g.name.clone()), members));
            }
        }
        for inst in &self.cfg.instances {
            if names.contains(&inst.name) && !grouped.contains(&inst.name) {
                units.push((None, vec![inst.clone()]));
            }
        }
        // Every unit is added (sockets, addresses, tracking) before any
        // starts, so that a thousand instances start within one moment
        // rather than spread over the netlink work of adding them.
        let mut starts = Vec::with_capacity(units.len());
        for (group, members) in units {
            let mut lowered = Vec::with_capacity(members.len());
            for inst in &members {
                let p = at
                    .remove(&inst.name)
                    .ok_or_else(|| anyhow!("instance {:?} was not resolved", inst.name))?;
                lowered.push((lower::fsm_config(inst), lower::router_spec(inst), p));
            }
            let what = group.as_ref().map_or_else(
                || format!("instance {:?}", members[0].name),
                |g| format!("sync group {g:?}"),
            );
            let ids = match self.exec.add_resolved(lowered, group.is_some()) {
                Ok(ids) => ids,
                Err(e) => {
                    // What was added runs; the caller reports the rest.
                    for id in starts {
                        self.exec.start(id);
                    }
                    self.handle_exec_events();
                    return Err(e).with_context(|| what.clone());
                }
            };
            self.handle_exec_events();
            for (id, inst) in ids.iter().zip(&members) {
                self.note_new(inst);
                self.insts
                    .insert(*id, Inst::new(inst.clone(), group.clone()));
                self.recompute(*id);
            }
            starts.extend(ids.first().copied());
        }
        // The tables grew by doubling while the units were added.
        self.exec.shrink_to_fit();
        self.insts.shrink_to_fit();
        for id in starts {
            self.exec.start(id);
        }
        self.handle_exec_events();
        Ok(())
    }

    /// Warnings about an instance being added.
    fn note_new(&self, inst: &Instance) {
        for t in &inst.track_interfaces {
            if self.exec.link_up(&t.name).is_none() {
                warn!(
                    "{}: tracked interface {} does not exist; counted as down",
                    inst.name, t.name
                );
            }
        }
        if self.exec.link_up(&inst.interface) == Some(false) {
            warn!("{}: interface {} is down: Fault", inst.name, inst.interface);
        }
    }

    /// Stops at once (priority 0 from a master, addresses removed, stop
    /// hooks) and drops the instances named, with every member of their
    /// sync groups.
    pub(super) fn drop_instances<'a>(&mut self, names: impl IntoIterator<Item = &'a String>) {
        let ids: Vec<RouterId> = names.into_iter().filter_map(|n| self.insts.id(n)).collect();
        for &id in &ids {
            self.exec
                .input(|node, now| node.stop(now, id, Stop::Now).ok());
        }
        self.handle_exec_events();
        for id in ids {
            match self.exec.remove(id) {
                Ok(gone) => {
                    for r in gone {
                        self.insts.remove(r);
                    }
                }
                Err(e) => debug!("{}: {e}", self.insts.name(id)),
            }
        }
        self.handle_exec_events();
    }

    // ----- stop ----------------------------------------------------------------

    /// SIGTERM / SIGINT: every master hands over and releases
    /// (make-before-break, [`vrrp_fsm::Stop::HandOver`]); a second signal
    /// releases at once.
    pub(super) fn begin_stop(&mut self, _now: Instant) {
        if self.phase != Phase::Running {
            info!("second stop signal: releasing at once");
            self.exec.stop_all(Stop::Now);
            self.handle_exec_events();
            return;
        }
        if let Err(e) = sd_notify::notify("STOPPING=1") {
            debug!("sd_notify STOPPING=1: {e}");
        }
        info!("stopping: releasing every instance");
        self.phase = Phase::Stopping;
        self.lvs.omega(&mut self.hooks, Instant::now());
        self.send_lvs_alerts();
        self.exec.stop_all(Stop::HandOver);
        self.handle_exec_events();
    }

    /// Advances the stop sequence; true when the daemon may exit.
    pub(super) fn progress_stop(&mut self, now: Instant) -> bool {
        match self.phase {
            Phase::Running => false,
            Phase::Stopping => {
                if !self.exec.all_stopped() {
                    return false;
                }
                let deadline = now + self.cfg.global.notify_timeout + Duration::from_millis(500);
                self.phase = Phase::Hooks(deadline);
                self.hooks.is_idle()
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
}
