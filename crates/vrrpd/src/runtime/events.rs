//! What the executor reports, turned into log lines, notify hooks, status
//! and tracked-interface changes.

use std::net::IpAddr;
use std::time::Instant;

use netif::executor::Event;
use tracing::{debug, error, info, warn};
use vrrp_fsm::{GroupId, RouterId, State, StateChange};
use vrrp_proto::Priority;

use super::hooks::{HookJob, queue_state_hooks};
use super::status::{self, HistoryEntry, TransitionStatus};
use super::{Daemon, Phase, unix_ms};
use crate::sd_notify;

impl Daemon {
    /// Handles every event the executor queued.
    pub(super) fn handle_exec_events(&mut self) {
        let mut changed = false;
        while let Some(ev) = self.exec.poll_event() {
            changed |= matches!(ev, Event::StateChanged { .. });
            self.on_exec_event(ev);
        }
        // One STATUS= line per batch, not per instance (1000 instances
        // change together at start-up).
        if changed {
            self.notify_status();
        }
    }

    fn on_exec_event(&mut self, ev: Event) {
        match ev {
            Event::StateChanged { router, change } => self.state_changed(router, change),
            Event::GroupChanged { group, from, to } => self.group_changed(group, from, to),
            Event::Vip {
                router,
                addr,
                prefix_len,
                interface,
                added,
            } => {
                let name = self.insts.name(router);
                if added {
                    info!("{name}: added {addr}/{prefix_len} to {interface}");
                } else {
                    info!("{name}: removed {addr}/{prefix_len} from {interface}");
                }
                let now = Instant::now();
                self.lvs.vip_changed(addr, added, &mut self.checker, now);
            }
            Event::VipRestored { router, addr } => {
                warn!(
                    "{}: {addr} was removed while master; restored",
                    self.insts.name(router)
                );
            }
            Event::StaleVipRemoved {
                ifindex,
                addr,
                prefix_len,
            } => info!(
                "removed {addr}/{prefix_len} from interface {ifindex}, left by an earlier run"
            ),
            Event::Route {
                router,
                route,
                added,
            } => {
                let word = if added { "added" } else { "removed" };
                info!("{}: {word} route {route}", self.insts.name(router));
            }
            Event::Link { name, up, .. } => self.link_changed(&name, up),
            Event::VmacRecreated { router, name } => warn!(
                "{}: virtual MAC interface {name} was deleted; recreated",
                self.insts.name(router)
            ),
            Event::Restarted { routers, why } => {
                let names: Vec<&str> = routers.iter().map(|r| self.insts.name(*r)).collect();
                warn!("{why}; restarting {}", names.join(", "));
            }
            Event::SendFailing { router, error } => {
                warn!("{}: cannot send advert: {error}", self.insts.name(router));
            }
            Event::SendRecovered { router } => {
                info!("{}: sending adverts works again", self.insts.name(router));
            }
            Event::Discarded {
                router,
                src,
                reason,
            } => debug!(
                "{}: discarded an advert from {src}: {reason:?}",
                self.insts.name(router)
            ),
            Event::Mismatch {
                router,
                src,
                mismatch,
            } => self.mismatch(router, src, mismatch),
            Event::LowerPriorityHeard {
                router,
                src,
                priority,
            } => self.heard_lower(router, src, priority),
            Event::Error { router, error } => self.exec_error(router, &error),
            Event::AdvertLate {
                router,
                late,
                interval,
            } => self.advert_late(router, late, interval),
            Event::Stopped { .. } => {}
            _ => {}
        }
    }

    fn exec_error(&mut self, router: Option<RouterId>, error: &netif::Error) {
        let name = router.map_or("vrrpd", |r| self.insts.name(r));
        match error {
            netif::Error::AddAddr {
                addr, prefix_len, ..
            } => error!("{name}: cannot add {addr}/{prefix_len}: {error}"),
            netif::Error::DelAddr {
                addr, prefix_len, ..
            } => error!("{name}: cannot remove {addr}/{prefix_len}: {error}"),
            _ => error!("{name}: {error}"),
        }
    }

    /// As Master, `router` heard `src` advertise `priority`, which it wins
    /// against (keepalived's `MASTER_RX_LOWER_PRI`): the FIFO line, and
    /// the instance's `notify_master_rx_lower_pri` (no arguments).
    fn heard_lower(&mut self, router: RouterId, src: IpAddr, priority: Priority) {
        let Some(inst) = self.insts.get(router) else {
            return;
        };
        let name = inst.cfg.name.clone();
        let ours = self
            .exec
            .node()
            .router(router)
            .map_or(0, |r| r.priority().get());
        debug!(
            "{name}: master heard priority {} from {src} (ours {ours})",
            priority.get()
        );
        if let Some(f) = &mut self.fifo {
            f.lower_priority_heard(&name, ours);
        }
        if let Some(argv) = &inst.cfg.hooks.master_rx_lower_pri {
            let job = HookJob {
                argv: argv.clone(),
                what: format!("instance {name} notify_master_rx_lower_pri"),
            };
            self.hooks
                .enqueue(&format!("INSTANCE {name}"), job, Instant::now());
        }
    }

    fn mismatch(&mut self, router: RouterId, src: std::net::IpAddr, m: vrrp_fsm::Mismatch) {
        let Some(inst) = self.insts.get_mut(router) else {
            return;
        };
        let name = &inst.cfg.name;
        if inst.mismatch_logged {
            debug!("{name}: advert from {src} disagrees: {m:?}");
        } else {
            inst.mismatch_logged = true;
            warn!(
                "{name}: advert from {src} disagrees with the configuration: {m:?} (logged once)"
            );
        }
    }

    fn state_changed(&mut self, router: RouterId, ch: StateChange) {
        let now = Instant::now();
        let prio = self.exec.node().router(router).map(|r| r.priority().get());
        let running = self.phase == Phase::Running;
        let Some(inst) = self.insts.get_mut(router) else {
            return;
        };
        let name = inst.cfg.name.clone();
        self.lvs.instance_state(&name, ch.to);
        let Some(inst) = self.insts.get_mut(router) else {
            return;
        };
        let line = format!(
            "{name}: {} -> {} ({})",
            status::state_word(ch.from),
            status::state_word(ch.to),
            status::reason_word(ch.reason)
        );
        if ch.from == State::Master && ch.to != State::Initialize {
            warn!("{line}");
        } else {
            info!("{line}");
        }
        let at_unix_ms = unix_ms();
        inst.last_transition = Some(TransitionStatus {
            from: status::state_word(ch.from),
            to: status::state_word(ch.to),
            reason: status::reason_word(ch.reason),
            at_unix_ms,
        });
        let master = self
            .exec
            .node()
            .router(router)
            .and_then(|r| r.master_addr());
        self.history.push(HistoryEntry {
            instance: name.clone(),
            from: status::state_word(ch.from),
            to: status::state_word(ch.to),
            reason: status::reason_word(ch.reason),
            at_unix_ms,
            priority: prio.unwrap_or(inst.cfg.priority.get()),
            master_address: master.map(|a| a.to_string()),
        });
        // While the daemon stops, the hand-over's intermediate changes run
        // no hook: only notify_stop does (entering Initialize).
        if running || ch.to == State::Initialize {
            let prio = prio.unwrap_or(inst.cfg.priority.get());
            let hooks = &inst.cfg.hooks;
            queue_state_hooks(&mut self.hooks, hooks, "INSTANCE", &name, ch.to, prio, now);
            if let Some(f) = &mut self.fifo {
                f.state_changed("INSTANCE", &name, ch.to, prio);
            }
        }
        // Off the VRRP path: formatting and a non-blocking queue push; the
        // same changes as the hooks (a stop's hand-over mails only "Stopping").
        if running || ch.to == State::Initialize {
            let own = inst.cfg.hooks.smtp_alert;
            let mail = &self.cfg.global.mail;
            self.mail.state_change(mail, own, "INSTANCE", &name, ch.to);
        }
    }

    /// Tells systemd each instance's state (`STATUS=`, see `systemctl
    /// status`).
    fn notify_status(&self) {
        if std::env::var_os("NOTIFY_SOCKET").is_none() {
            return;
        }
        let node = self.exec.node();
        let states = self.insts.iter().map(|(id, i)| {
            let s = node
                .router(id)
                .map_or("-", |r| status::state_word(r.state()));
            (i.cfg.name.as_str(), s)
        });
        let _ = sd_notify::notify(&sd_notify::status_line(states));
    }

    fn group_changed(&mut self, group: GroupId, from: State, to: State) {
        let member = self.exec.node().members(group).first().copied();
        let Some(name) = member.and_then(|m| self.insts.get(m)?.group.clone()) else {
            return;
        };
        info!(
            "sync group {name}: {} -> {}",
            status::state_word(from),
            status::state_word(to)
        );
        if self.phase != Phase::Running && to != State::Initialize {
            return;
        }
        if let Some(g) = self.cfg.sync_groups.iter().find(|g| g.name == name) {
            let now = Instant::now();
            queue_state_hooks(&mut self.hooks, &g.hooks, "GROUP", &name, to, 0, now);
            let mail = &self.cfg.global.mail;
            self.mail
                .state_change(mail, g.hooks.smtp_alert, "GROUP", &name, to);
        }
        if let Some(f) = &mut self.fifo {
            f.state_changed("GROUP", &name, to, 0);
        }
    }

    /// Hands the LVS alerts collected since the last call to the mail
    /// worker (formatting and a non-blocking queue push, as for the
    /// instances).
    pub(super) fn send_lvs_alerts(&mut self) {
        for a in self.lvs.take_alerts() {
            self.mail.lvs(&self.cfg.global.mail, a);
        }
    }

    /// A link changed: instances tracking it get their priority
    /// recomputed.
    fn link_changed(&mut self, name: &str, up: bool) {
        let word = if up { "up" } else { "down" };
        let tracking: Vec<RouterId> = self
            .insts
            .iter()
            .filter(|(_, i)| i.cfg.track_interfaces.iter().any(|t| t.name == name))
            .map(|(id, _)| id)
            .collect();
        let used = !tracking.is_empty() || self.insts.iter().any(|(_, i)| i.cfg.interface == name);
        if used {
            info!("interface {name} is {word}");
        } else {
            debug!("interface {name} is {word}");
        }
        for id in tracking {
            self.recompute(id);
        }
    }
}
