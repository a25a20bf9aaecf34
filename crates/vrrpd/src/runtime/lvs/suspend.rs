//! A virtual server's checks on the checker, and `ha_suspend`: while the
//! virtual address is not on this host (a backup director), its checks do
//! not run and its table stays as it is (keepalived's meaning).

use std::net::IpAddr;
use std::time::Instant;

use anyhow::Context;
use healthcheck::Checker;
use ipvs_netlink::ServiceKey;
use tracing::info;

use super::alerts::CheckPart;
use super::{HookJob, HookRunner, Lvs, checks};
use crate::config::lvs::RsCheckKind;

impl Lvs {
    /// Adds the checks of virtual server `vi` to `checker`.
    pub(super) fn add_checks(
        &mut self,
        vi: usize,
        checker: &mut Checker,
        now: Instant,
    ) -> anyhow::Result<()> {
        let Some(v) = self.vss.get_mut(vi) else {
            return Ok(());
        };
        for (ri, (rs, run)) in v.cfg.real_servers.iter().zip(&mut v.rs).enumerate() {
            for (ci, c) in rs.checks.iter().enumerate() {
                let is_dyn = matches!(c.kind, RsCheckKind::Misc { dynamic: true, .. });
                let start_failed = !run.live.up;
                let specs = checks::specs(&v.cfg, rs, c, ci, start_failed, now);
                for (url, (spec, due)) in specs.into_iter().enumerate() {
                    let name = spec.name.clone();
                    let id = checker
                        .add(spec, due)
                        .with_context(|| format!("LVS check {name}"))?;
                    self.by_check.insert(id, (vi, ri));
                    run.checks.push(id);
                    let part = CheckPart { checker: ci, url };
                    run.parts.insert(id, part);
                    if is_dyn {
                        run.dynamic.push(id);
                    }
                }
            }
        }
        Ok(())
    }

    /// Removes the checks of virtual server `vi` from `checker`.
    pub(super) fn remove_checks(&mut self, vi: usize, checker: &mut Checker) {
        let Some(v) = self.vss.get_mut(vi) else {
            return;
        };
        for run in &mut v.rs {
            for id in run.checks.drain(..) {
                checker.remove(id);
                self.by_check.remove(&id);
            }
            run.dynamic.clear();
            run.parts.clear();
        }
    }

    /// An address was added to or removed from this host: virtual servers
    /// with `ha_suspend` on it resume or suspend their checks.
    pub(in crate::runtime) fn vip_changed(
        &mut self,
        addr: IpAddr,
        added: bool,
        checker: &mut Checker,
        now: Instant,
    ) {
        for vi in 0..self.vss.len() {
            let v = &self.vss[vi];
            let on_addr = matches!(v.cfg.key, ServiceKey::Addr { addr: a, .. } if a == addr);
            if !v.cfg.ha_suspend || !on_addr || v.suspended != added {
                continue;
            }
            let name = v.cfg.name();
            if added {
                info!("LVS {name}: {addr} is here; checks resume (ha_suspend)");
                if let Err(e) = self.add_checks(vi, checker, now) {
                    tracing::warn!("LVS {name}: {e:#}");
                }
            } else {
                info!("LVS {name}: {addr} left; checks suspended (ha_suspend)");
                self.remove_checks(vi, checker);
            }
            self.vss[vi].suspended = !added;
        }
    }

    /// keepalived's `omega`: at stop, the `notify_down` hook of every real
    /// server that is up, and the `quorum_down` hook of every virtual
    /// server, whatever its quorum was (queued before the stop's hand-over;
    /// the stop waits for hooks), and their e-mail alerts.
    pub(in crate::runtime) fn omega(&mut self, hooks: &mut HookRunner, now: Instant) {
        self.omega_alerts();
        for v in self.vss.iter().filter(|v| v.cfg.omega) {
            let vname = v.cfg.name();
            let owner = format!("LVS {vname}");
            for (rs, run) in v.cfg.real_servers.iter().zip(&v.rs) {
                if let Some(argv) = rs.notify_down.as_ref().filter(|_| run.live.up) {
                    let what = format!("LVS {vname} real server {} notify_down (omega)", rs.addr);
                    let job = HookJob {
                        argv: argv.clone(),
                        what,
                    };
                    hooks.enqueue(&owner, job, now);
                }
            }
            // keepalived (update_vs_notifies): stopping takes the quorum
            // down whatever it was, and runs its hook.
            if let Some(argv) = v.cfg.quorum_down.as_ref() {
                let job = HookJob {
                    argv: argv.clone(),
                    what: format!("LVS {vname} quorum_down (omega)"),
                };
                hooks.enqueue(&owner, job, now);
            }
        }
    }
}
