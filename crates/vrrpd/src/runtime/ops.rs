//! Control requests (`status`, `switchover`, `maintenance`) and the status
//! data they return.

use super::*;

impl Daemon {
    // ----- control ---------------------------------------------------------

    pub(super) fn on_control(&mut self, token: Token, now: Instant) {
        let reqs = self.control.handle_event(self.poll.registry(), token);
        for (id, req) in reqs {
            let resp = self.answer(req, now);
            self.control.respond(self.poll.registry(), id, &resp);
        }
    }

    pub(super) fn answer(&mut self, req: Request, now: Instant) -> Response {
        match req {
            Request::Status => Response::ok(Some(self.status_json())),
            Request::Switchover { instance } => match self.operator(&instance, now, None) {
                Ok(msg) => Response::ok(Some(serde_json::json!({ "message": msg }))),
                Err(e) => Response::error(e),
            },
            Request::Maintenance { instance, on } => {
                match self.operator(&instance, now, Some(on)) {
                    Ok(msg) => Response::ok(Some(serde_json::json!({ "message": msg }))),
                    Err(e) => Response::error(e),
                }
            }
        }
    }

    /// Switchover (`maintenance == None`) or maintenance on/off.
    pub(super) fn operator(
        &mut self,
        name: &str,
        now: Instant,
        maintenance: Option<bool>,
    ) -> Result<String, String> {
        if self.phase != Phase::Running {
            return Err("vrrpd is stopping".into());
        }
        let id = *self
            .names
            .get(name)
            .ok_or_else(|| format!("unknown instance {name:?}"))?;
        let u = self.insts[id]
            .as_ref()
            .map(|i| i.unit)
            .ok_or_else(|| format!("unknown instance {name:?}"))?;
        let unit = self
            .units
            .get_mut(u)
            .and_then(Option::as_mut)
            .ok_or_else(|| format!("instance {name:?} is not running"))?;
        let group = unit.group.as_ref().map(|g| g.name.clone());
        let r: Result<(), OperatorError> = match (&mut unit.fsm, maintenance) {
            (Fsm::Solo(r), None) => r.request_switchover(now),
            (Fsm::Solo(r), Some(on)) => r.set_maintenance(now, on),
            (Fsm::Group(g), None) => g.request_switchover(now),
            (Fsm::Group(g), Some(on)) => g.set_maintenance(now, on),
        };
        self.drain(u, now);
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
            (Err(e), _) => Err(format!("{name}: {e}")),
        }
    }

    pub(super) fn status_json(&self) -> serde_json::Value {
        let mut instances = Vec::new();
        for inst in self.insts.iter().flatten() {
            let Some(r) = router_of(&self.units, inst) else {
                continue;
            };
            let (_, _, breakdown) = self.tracking(inst);
            let mut counters = status::fsm_counters(r.stats());
            for (k, v) in inst.counters.named() {
                counters.insert(k.to_owned(), v);
            }
            instances.push(InstanceStatus {
                name: inst.cfg.name.clone(),
                interface: inst.cfg.interface.clone(),
                vrid: inst.cfg.vrid.get(),
                family: mapping::family_word(inst.cfg.family),
                version: mapping::version_number(inst.cfg.version),
                state: status::state_word(r.state()),
                priority: PriorityStatus {
                    configured: inst.cfg.priority.get(),
                    effective: r.priority().get(),
                    breakdown,
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
                source: inst.source.to_string(),
                vmac: inst.cfg.vmac.clone(),
            });
        }
        let interfaces: Vec<serde_json::Value> = self
            .socks
            .iter()
            .flatten()
            .map(|s| {
                let st = s.sock.stats();
                serde_json::json!({
                    "interface": s.ifname,
                    "family": if s.sock.source().is_ipv4() { "ipv4" } else { "ipv6" },
                    "source": s.sock.source().to_string(),
                    "unicast": matches!(s.sock.mode(), Mode::Unicast(_)),
                    "counters": {
                        "received": s.received,
                        "unknown_vrid": s.unknown_vrid,
                        "v3_ipv4_with_pseudo_header": s.v3_ipv4_with_pseudo_header,
                        "v3_ipv4_without_pseudo_header": s.v3_ipv4_without_pseudo_header,
                        "bad_ip_header": st.bad_ip_header,
                        "truncated_datagrams": st.truncated,
                        "not_from_peer": st.not_from_peer,
                    },
                    "parse_errors": s.parse_errors,
                })
            })
            .collect();
        let checks: Vec<serde_json::Value> = self
            .checker
            .ids()
            .filter_map(|id| {
                let st = self.checker.state(id)?;
                Some(serde_json::json!({
                    "name": st.name(),
                    "state": match st.status() { CheckStatus::Ok => "ok", CheckStatus::Failed => "failed" },
                    "value": st.value(),
                    "last_result": self.checker.last_result(id).map(|r| r.detail.to_string()),
                }))
            })
            .collect();
        serde_json::json!({
            "instances": instances,
            "interfaces": interfaces,
            "checks": checks,
            "hooks": self.hooks.stats,
            "control": self.control.stats,
            "daemon": {
                "pid": std::process::id(),
                "config": self.config_path.display().to_string(),
                "uptime_s": self.started.elapsed().as_secs(),
                "reloads": self.reloads,
                "reload_failures": self.reload_failures,
            },
        })
    }
}
