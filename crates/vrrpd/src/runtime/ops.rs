//! Control requests (`status`, `switchover`, `maintenance`, `reload`) and the one
//! typed [`Snapshot`] that `status` and the metrics endpoint report.

use std::time::Instant;

use healthcheck::Status as CheckStatus;
use mio::Token;
use tracing::info;
use vrrp_fsm::NodeError;

use super::status::{
    self, CheckRow, DaemonStatus, InstanceStatus, PriorityStatus, Snapshot, SocketCountersStatus,
    SocketStatus, TimersStatus,
};
use super::{Daemon, Phase, lower, tracking};
use crate::control::{Request, Response};

impl Daemon {
    pub(super) fn on_control(&mut self, token: Token, now: Instant) {
        self.control.handle_event(self.poll.registry(), token, now);
    }

    /// Answers one control request, if one is ready; false if none was.
    pub(super) fn serve_one_control(&mut self, now: Instant) -> bool {
        let Some((id, req)) = self.control.next_request(self.poll.registry(), now) else {
            return false;
        };
        if req == Request::Reload {
            // Read on a thread and applied in slices; answered by
            // `reload_done` with the summary or the reason.
            self.reload_waiters.push(id);
            self.reload(now);
            return true;
        }
        if req == Request::Status {
            // Built a slice at a time, serialized on the render thread,
            // answered in `on_rendered`.
            self.queue_status(id);
            return true;
        }
        let resp = self.answer(req, now);
        self.control.respond(self.poll.registry(), id, &resp, now);
        true
    }

    /// Queues the `status` answers the render thread finished.
    pub(super) fn on_rendered(&mut self, now: Instant) {
        while let Some((id, line)) = self.renderer.take() {
            self.control
                .respond_line(self.poll.registry(), id, line, now);
        }
    }

    fn answer(&mut self, req: Request, _now: Instant) -> Response {
        let done = match req {
            Request::Status => {
                return match serde_json::to_value(self.snapshot()) {
                    Ok(v) => Response::ok(Some(v)),
                    Err(e) => Response::error(format!("status: {e}")),
                };
            }
            Request::Switchover { instance } => self.operator(&instance, None),
            Request::Maintenance { instance, on } => self.operator(&instance, Some(on)),
            // Taken in `serve_one_control`, answered when applied.
            Request::Reload => Err("reload: not started".into()),
        };
        match done {
            Ok(msg) => Response::ok(Some(serde_json::json!({ "message": msg }))),
            Err(e) => Response::error(e),
        }
    }

    /// Switchover (`maintenance == None`) or maintenance on/off.
    fn operator(&mut self, name: &str, maintenance: Option<bool>) -> Result<String, String> {
        if self.phase != Phase::Running {
            return Err("vrrpd is stopping".into());
        }
        let id = self
            .insts
            .id(name)
            .ok_or_else(|| format!("unknown instance {name:?}"))?;
        let group = self.insts.get(id).and_then(|i| i.group.clone());
        let r: Result<(), NodeError> = self.exec.input(|node, now| match maintenance {
            None => node.request_switchover(now, id),
            Some(on) => node.set_maintenance(now, id, on),
        });
        self.handle_exec_events();
        let scope = group.map_or_else(String::new, |g| format!(" (with its sync group {g})"));
        match (r, maintenance) {
            (Ok(()), None) => {
                info!("{name}: switchover requested{scope}");
                Ok(format!("{name}: handing mastership over{scope}"))
            }
            (Ok(()), Some(on)) => {
                let w = if on { "on" } else { "off" };
                info!("{name}: maintenance {w}{scope}");
                Ok(format!("{name}: maintenance {w}{scope}"))
            }
            (Err(NodeError::Operator(e)), _) => Err(format!("{name}: {e}")),
            (Err(e), _) => Err(format!("{name}: {e}")),
        }
    }

    /// The daemon as `status` and the metrics report it.
    pub(super) fn snapshot(&self) -> Snapshot {
        let instances: Vec<InstanceStatus> = self
            .insts
            .iter()
            .filter_map(|(id, _)| self.instance_status(id))
            .collect();
        self.snapshot_of(instances)
    }

    /// The snapshot around instance rows built already (see
    /// `render::PendingStatus`).
    pub(super) fn snapshot_of(&self, mut instances: Vec<InstanceStatus>) -> Snapshot {
        instances.sort_by(|a, b| a.name.cmp(&b.name));
        let advert_lateness =
            super::lateness::overall(instances.iter().map(|i| i.advert_lateness.histogram));
        Snapshot {
            instances,
            interfaces: self.socket_status(),
            checks: self.check_rows(),
            hooks: self.hooks.stats,
            control: self.control.stats,
            daemon: DaemonStatus {
                pid: std::process::id(),
                config: self.config_path.display().to_string(),
                uptime_s: self.counters.started.elapsed().as_secs(),
                reloads: self.counters.reloads,
                reload_failures: self.counters.reload_failures,
                advert_lateness,
            },
            mail: self.mail.stats(),
            process: super::prom::ProcessStats::read(),
            history: self.history.to_vec(),
            virtual_servers: self.lvs.status(&self.checker),
        }
    }

    /// One instance's row of the snapshot.
    pub(super) fn instance_status(&self, id: vrrp_fsm::RouterId) -> Option<InstanceStatus> {
        let inst = self.insts.get(id)?;
        let r = self.exec.node().router(id)?;
        let exec = &self.exec;
        let t = tracking::tracking(&inst.cfg, &self.cfg.checks, &self.checker, |n| {
            exec.link_up(n)
        });
        let mut counters = status::fsm_counters(r.stats());
        let c = self.exec.counters(id).unwrap_or_default();
        for (k, v) in [
            ("send_errors", c.send_errors),
            ("address_errors", c.address_errors),
            ("addresses_restored", c.addresses_restored),
            ("route_errors", c.route_errors),
            ("garp_sent", c.garp_sent),
            ("na_sent", c.na_sent),
            ("announce_errors", c.announce_errors),
        ] {
            counters.insert(k.to_owned(), v);
        }
        let source = self.exec.placement(id).map(|p| p.source);
        Some(InstanceStatus {
            name: inst.cfg.name.clone(),
            interface: inst.cfg.interface.clone(),
            vrid: inst.cfg.vrid.get(),
            family: lower::family_word(inst.cfg.family),
            version: lower::version_number(inst.cfg.version),
            state: status::state_word(r.state()),
            priority: PriorityStatus {
                configured: inst.cfg.priority.get(),
                effective: r.priority().get(),
                breakdown: t.breakdown,
            },
            master_address: r.master_addr().map(|a| a.to_string()),
            counters,
            last_transition: inst.last_transition.clone(),
            maintenance: r.in_maintenance(),
            holds_vips: r.holds_vips(),
            vips: inst
                .cfg
                .vips
                .iter()
                .map(|v| format!("{}/{}", v.addr, v.prefix_len))
                .collect(),
            sync_group: inst.group.clone(),
            source: source.map(|s| s.to_string()).unwrap_or_default(),
            vmac: inst.cfg.vmac.clone(),
            advert_lateness: status::LatenessStatus::of(&c.lateness),
            timers: timers(r, inst.cfg.advert_interval),
        })
    }

    fn socket_status(&self) -> Vec<SocketStatus> {
        self.exec
            .sockets()
            .into_iter()
            .map(|s| SocketStatus {
                interface: s.interface,
                family: lower::family_word(vrrp_proto::Family::of(&s.source)),
                source: s.source.to_string(),
                unicast: s.unicast,
                counters: SocketCountersStatus {
                    received: s.counters.received,
                    unknown_vrid: s.counters.unknown_vrid,
                    v3_ipv4_with_pseudo_header: s.counters.v3_ipv4_with_pseudo_header,
                    v3_ipv4_without_pseudo_header: s.counters.v3_ipv4_without_pseudo_header,
                    bad_ip_header: s.stats.bad_ip_header,
                    truncated_datagrams: s.stats.truncated,
                    not_from_peer: s.stats.not_from_peer,
                },
                parse_errors: s.counters.parse_errors,
            })
            .collect()
    }

    fn check_rows(&self) -> Vec<CheckRow> {
        self.checker
            .ids()
            .filter_map(|id| {
                let st = self.checker.state(id)?;
                Some(CheckRow {
                    name: st.name().to_owned(),
                    state: match st.status() {
                        CheckStatus::Ok => "ok",
                        CheckStatus::Failed => "failed",
                    },
                    value: st.value(),
                    last_result: self.checker.last_result(id).map(|r| r.detail.to_string()),
                })
            })
            .collect()
    }
}

/// The protocol timers of router `r` (`advert`: its configured interval).
/// A backup's Master_Down_Timer is re-armed at each advert it accepts
/// from the master, so its deadline less Master_Down_Interval is when the
/// last one came.
fn timers(r: &vrrp_fsm::VirtualRouter, advert: vrrp_proto::Interval) -> TimersStatus {
    let ms = |cs: u32| u64::from(cs) * 10;
    let mdi = ms(r.master_down_interval_centis());
    let last = match (r.state(), r.handover_in_progress(), r.poll_timeout()) {
        (vrrp_fsm::State::Backup, false, Some(deadline)) => {
            let left = deadline.saturating_duration_since(Instant::now());
            let left = u64::try_from(left.as_millis()).unwrap_or(u64::MAX);
            mdi.checked_sub(left)
        }
        _ => None,
    };
    TimersStatus {
        advert_interval_ms: ms(u32::from(advert.centis())),
        master_advert_interval_ms: ms(u32::from(r.master_adver_interval().centis())),
        skew_time_ms: ms(r.skew_time_centis()),
        master_down_interval_ms: mdi,
        last_advert_ms_ago: last,
    }
}
