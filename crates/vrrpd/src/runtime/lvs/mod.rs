//! LVS virtual servers on kernel IPVS: the real servers' checks run on the
//! daemon's [`Checker`] (never blocking VRRP), their results become the
//! table vrrpd wants (`plan.rs`, pure), and the difference goes to the
//! kernel through `ipvs_netlink`. vrrpd owns the services it configures
//! and those it recorded in its state file (`<control socket>.lvs`);
//! other services in the kernel are never touched.
//!
//! Netlink requests to IPVS are blocking but short (one request per
//! changed service or destination); the table is read only at start and
//! at reload.

mod alerts;
mod checks;
pub(crate) mod plan;
pub(crate) mod status;
mod suspend;
mod sync;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::anyhow;
use healthcheck::{CheckEvent, CheckId, Checker, Status};
use ipvs_netlink::Ipvs;
use tracing::{info, warn};

use super::hooks::{HookJob, HookRunner};
use crate::config::lvs::{LvsConfig, VirtualServer};
use plan::{KeyOrd, Op, RsLive, Table};

/// The running state of one real server.
#[derive(Debug, Clone)]
struct RsRun {
    /// Its checks on the checker.
    checks: Vec<CheckId>,
    /// Those of them with `misc_dynamic`.
    dynamic: Vec<CheckId>,
    /// Which checker (and URL) each of them is, for the alerts.
    parts: BTreeMap<CheckId, alerts::CheckPart>,
    /// Up or down, and its weight.
    live: RsLive,
}

/// What a virtual server changed by a reload had: its real servers'
/// states (by address) and its quorum.
#[derive(Debug, Default)]
struct Before {
    up: HashMap<SocketAddr, bool>,
    quorum_up: bool,
}

/// The running state of one virtual server.
#[derive(Debug, Clone)]
struct VsRun {
    cfg: VirtualServer,
    quorum_up: bool,
    rs: Vec<RsRun>,
    /// `ha_suspend` and the virtual address is not here: no checks run.
    suspended: bool,
}

/// Everything LVS of the daemon.
pub(super) struct Lvs {
    cfg: LvsConfig,
    ipvs: Option<Ipvs>,
    vss: Vec<VsRun>,
    /// Check → (virtual server, real server) indexes.
    by_check: BTreeMap<CheckId, (usize, usize)>,
    /// The kernel's table as vrrpd last left it, for the services it owns.
    applied: BTreeMap<KeyOrd, Table>,
    /// The state file listing the services vrrpd owns.
    state_file: PathBuf,
    sync: sync::SyncRole,
    /// E-mail alerts not yet taken by the daemon (`alerts.rs`).
    alerts: Vec<crate::mail::LvsAlert>,
}

impl std::fmt::Debug for Lvs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lvs")
            .field("virtual_servers", &self.vss.len())
            .finish_non_exhaustive()
    }
}

/// The state file of the services vrrpd owns: next to the control socket
/// (`control.sock.lvs`), so that daemons with their own sockets keep their
/// own records.
pub(super) fn state_file(control: &Path) -> PathBuf {
    let mut s = control.as_os_str().to_owned();
    s.push(".lvs");
    PathBuf::from(s)
}

/// Reads the owned service keys from the state file (one a line).
fn read_owned(path: &Path) -> BTreeSet<KeyOrd> {
    std::fs::read_to_string(path)
        .map(|t| {
            t.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(|l| KeyOrd(l.to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// Loads `ip_vs_<name>` for each scheduler, up front: loaded on demand
/// inside the kernel's IPVS lock it can deadlock with a namespace being
/// torn down (Debian's 6.1, docs/decisions.md).
fn load_schedulers(cfg: &LvsConfig) {
    let names: BTreeSet<&str> = cfg
        .virtual_servers
        .iter()
        .map(|v| v.scheduler.as_str())
        .collect();
    for n in names {
        let m = format!("ip_vs_{n}");
        let loaded = Path::new("/sys/module").join(&m).exists();
        if loaded {
            continue;
        }
        match std::process::Command::new("modprobe").arg(&m).status() {
            Ok(s) if s.success() => info!("loaded kernel module {m}"),
            Ok(s) => warn!("modprobe {m}: {s}"),
            Err(e) => warn!("modprobe {m}: {e}"),
        }
    }
}

impl Lvs {
    /// Nothing configured, nothing owned: no IPVS handle is opened.
    fn empty(state_file: PathBuf) -> Lvs {
        Lvs {
            cfg: LvsConfig::default(),
            ipvs: None,
            vss: Vec::new(),
            by_check: BTreeMap::new(),
            applied: BTreeMap::new(),
            state_file,
            sync: sync::SyncRole::default(),
            alerts: Vec::new(),
        }
    }

    /// Start-up: the checks are added to `checker`, the kernel's table is
    /// read and brought to what the configuration wants (only owned
    /// services change), and the sync daemon starts as backup.
    pub(super) fn start(
        cfg: &LvsConfig,
        state_file: PathBuf,
        checker: &mut Checker,
        now: Instant,
    ) -> anyhow::Result<Lvs> {
        let mut lvs = Lvs::empty(state_file);
        let owned = read_owned(&lvs.state_file);
        if cfg.virtual_servers.is_empty() && cfg.sync_daemon.is_none() && owned.is_empty() {
            return Ok(lvs);
        }
        load_schedulers(cfg);
        lvs.ipvs = Some(Ipvs::new().map_err(|e| anyhow!("LVS: {e}"))?);
        lvs.cfg = cfg.clone();
        for vs in &cfg.virtual_servers {
            lvs.add_vs(vs.clone(), &Before::default(), checker, now)?;
        }
        let have = lvs.read_kernel(&owned)?;
        lvs.applied = have.clone();
        let want = lvs.wanted_all();
        let ops = plan::diff(&want, &have, &owned);
        if !ops.is_empty() {
            info!(
                "LVS: {} changes to bring the kernel table in step",
                ops.len()
            );
        }
        lvs.apply(ops);
        lvs.save_owned();
        lvs.sync_start_backup();
        lvs.start_alerts();
        Ok(lvs)
    }

    /// Adds a virtual server's run state and its checks.
    /// Adds virtual server `vs` and its checks. A real server in `was`
    /// (from before a reload that changed the virtual server) keeps its
    /// state, as keepalived's reload keeps its real servers' (a failed one
    /// does not come back until a check passes), and so does the quorum;
    /// the others start up, or down with `alpha`.
    fn add_vs(
        &mut self,
        vs: VirtualServer,
        was: &Before,
        checker: &mut Checker,
        now: Instant,
    ) -> anyhow::Result<()> {
        let vi = self.vss.len();
        let rs_runs: Vec<RsRun> = vs
            .real_servers
            .iter()
            .map(|rs| RsRun {
                checks: Vec::new(),
                dynamic: Vec::new(),
                parts: BTreeMap::new(),
                live: RsLive {
                    up: rs.checks.is_empty() || was.up.get(&rs.addr).copied().unwrap_or(!vs.alpha),
                    weight: rs.weight,
                },
            })
            .collect();
        let live: Vec<RsLive> = rs_runs.iter().map(|r| r.live).collect();
        // keepalived starts a virtual server with its quorum up only at
        // `quorum + hysteresis`.
        let quorum_up = plan::quorum_after(&vs, was.quorum_up, plan::live_weight(&live));
        // ha_suspend: no checks until the virtual address is on this host.
        let suspended = vs.ha_suspend;
        self.vss.push(VsRun {
            cfg: vs,
            quorum_up,
            rs: rs_runs,
            suspended,
        });
        if !suspended {
            self.add_checks(vi, checker, now)?;
        }
        Ok(())
    }

    /// The kernel's services of interest (those configured or owned), with
    /// their destinations.
    fn read_kernel(&mut self, owned: &BTreeSet<KeyOrd>) -> anyhow::Result<BTreeMap<KeyOrd, Table>> {
        let Some(ipvs) = self.ipvs.as_mut() else {
            return Ok(BTreeMap::new());
        };
        let wanted: BTreeSet<KeyOrd> = self.vss.iter().map(|v| KeyOrd::from(&v.cfg.key)).collect();
        let mut out = BTreeMap::new();
        let services = ipvs
            .list_services()
            .map_err(|e| anyhow!("LVS: reading the kernel table: {e}"))?;
        for s in services {
            let k = KeyOrd::from(&s.service.key);
            if !wanted.contains(&k) && !owned.contains(&k) {
                continue;
            }
            let dests = ipvs
                .list_destinations(&s.service.key)
                .map_err(|e| anyhow!("LVS: reading the kernel table: {e}"))?
                .into_iter()
                .map(|d| {
                    let d = d.destination;
                    (std::net::SocketAddr::new(d.addr, d.port), d)
                })
                .collect();
            out.insert(
                k,
                Table {
                    service: s.service,
                    dests,
                },
            );
        }
        Ok(out)
    }

    fn wanted_one(v: &VsRun) -> Table {
        let live: Vec<RsLive> = v.rs.iter().map(|r| r.live).collect();
        plan::wanted(&v.cfg, &live, v.quorum_up)
    }

    fn wanted_all(&self) -> BTreeMap<KeyOrd, Table> {
        self.vss
            .iter()
            .map(|v| (KeyOrd::from(&v.cfg.key), Self::wanted_one(v)))
            .collect()
    }

    /// Sends `ops` to the kernel, keeping [`Lvs::applied`] in step with
    /// what succeeded. A failure is logged; the next change retries.
    fn apply(&mut self, ops: Vec<Op>) {
        let Some(ipvs) = self.ipvs.as_mut() else {
            return;
        };
        for op in ops {
            let r = match &op {
                Op::AddService(s) => ipvs.add_service(s),
                Op::EditService(s) => ipvs.edit_service(s),
                Op::DelService(k) => ipvs.delete_service(k),
                Op::AddDest(k, d) => ipvs.add_destination(k, d),
                Op::EditDest(k, d) => ipvs.edit_destination(k, d),
                Op::DelDest(k, a) => ipvs.delete_destination(k, a.ip(), a.port()),
            };
            if let Err(e) = r {
                warn!("LVS: {op:?}: {e}");
                continue;
            }
            record(&mut self.applied, op);
        }
    }

    fn save_owned(&self) {
        let text: String = self.applied.keys().map(|k| format!("{}\n", k.0)).collect();
        if let Err(e) = std::fs::write(&self.state_file, text) {
            warn!("LVS: writing {}: {e}", self.state_file.display());
        }
    }

    /// A check changed state: its real server may go up or down, the
    /// quorum may change, hooks run, alerts are collected, and the service
    /// is brought in step. False if the check is not an LVS one.
    pub(super) fn on_check_event(
        &mut self,
        ev: &CheckEvent,
        checker: &Checker,
        hooks: &mut HookRunner,
        now: Instant,
    ) -> bool {
        let Some(&(vi, ri)) = self.by_check.get(&ev.id) else {
            return false;
        };
        let Some(rs) = self.vss.get(vi).and_then(|v| v.rs.get(ri)) else {
            return true;
        };
        let up = rs
            .checks
            .iter()
            .all(|id| checker.state(*id).is_none_or(|s| s.status() == Status::Ok));
        self.on_check_alert((vi, ri), ev, checker, up);
        let Some(v) = self.vss.get_mut(vi) else {
            return true;
        };
        let Some(rs) = v.rs.get_mut(ri) else {
            return true;
        };
        if up == rs.live.up {
            return true;
        }
        rs.live.up = up;
        let rcfg = &v.cfg.real_servers[ri];
        let vname = v.cfg.name();
        let word = if up { "up" } else { "down" };
        info!(
            "LVS {vname}: real server {} is {word} ({})",
            rcfg.addr, ev.result.detail
        );
        let hook = if up {
            &rcfg.notify_up
        } else {
            &rcfg.notify_down
        };
        if let Some(argv) = hook {
            let what = format!("LVS {vname} real server {} notify_{word}", rcfg.addr);
            let job = HookJob {
                argv: argv.clone(),
                what,
            };
            hooks.enqueue(&format!("LVS {vname}"), job, now);
        }
        self.update_quorum(vi, hooks, now);
        self.sync_vs(vi);
        true
    }

    /// Virtual server `vi`'s quorum after a change of its live weight:
    /// gained or lost (keepalived's hysteresis), logged, mailed and its
    /// hook run.
    fn update_quorum(&mut self, vi: usize, hooks: &mut HookRunner, now: Instant) {
        let Some(v) = self.vss.get_mut(vi) else {
            return;
        };
        let live: Vec<RsLive> = v.rs.iter().map(|r| r.live).collect();
        let q = plan::quorum_after(&v.cfg, v.quorum_up, plan::live_weight(&live));
        if q == v.quorum_up {
            return;
        }
        v.quorum_up = q;
        let vname = v.cfg.name();
        let word = if q { "gained" } else { "lost" };
        warn!("LVS {vname}: quorum {word}");
        let alert = alerts::quorum_alert(&v.cfg, q, plan::live_weight(&live), false);
        self.alerts.push(alert);
        let hook = if q {
            &v.cfg.quorum_up
        } else {
            &v.cfg.quorum_down
        };
        if let Some(argv) = hook {
            let job = HookJob {
                argv: argv.clone(),
                what: format!("LVS {vname} quorum_{}", if q { "up" } else { "down" }),
            };
            hooks.enqueue(&format!("LVS {vname}"), job, now);
        }
    }

    /// Brings virtual server `vi`'s kernel service in step with its
    /// wanted table.
    fn sync_vs(&mut self, vi: usize) {
        let Some(v) = self.vss.get(vi) else {
            return;
        };
        let want = Self::wanted_one(v);
        let key = KeyOrd::from(&v.cfg.key);
        let ops = match self.applied.get(&key) {
            Some(have) => plan::diff_one(&want, have),
            None => {
                let mut ops = vec![Op::AddService(want.service.clone())];
                ops.extend(
                    want.dests
                        .values()
                        .map(|d| Op::AddDest(want.service.key, *d)),
                );
                ops
            }
        };
        self.apply(ops);
    }

    /// After the checks ran: `misc_dynamic` results set their real
    /// servers' weights (keepalived: exit status - 2); the quorum of the
    /// virtual servers whose weights changed is weighed again (keepalived's
    /// `update_quorum_state` after a weight change) and their services are
    /// brought in step.
    pub(super) fn after_checks(&mut self, checker: &Checker, hooks: &mut HookRunner, now: Instant) {
        let mut changed = Vec::new();
        for (vi, v) in self.vss.iter_mut().enumerate() {
            for (rs, cfg) in v.rs.iter_mut().zip(&v.cfg.real_servers) {
                let Some(id) = rs.dynamic.first() else {
                    continue;
                };
                let code = match checker.last_result(*id).map(|r| &r.detail) {
                    Some(healthcheck::Detail::Exited(c)) => *c,
                    _ => continue,
                };
                if let Some(w) = checks::dynamic_weight(code, cfg.weight) {
                    if w != rs.live.weight {
                        info!(
                            "LVS {}: real server {} weight {w} (misc_dynamic)",
                            v.cfg.name(),
                            cfg.addr
                        );
                        rs.live.weight = w;
                        changed.push(vi);
                    }
                }
            }
        }
        changed.dedup();
        for vi in changed {
            self.update_quorum(vi, hooks, now);
            self.sync_vs(vi);
        }
    }

    /// A reload: virtual servers whose configuration is unchanged keep
    /// their checks and state; the others are rebuilt; the kernel gets only
    /// the difference (untouched services keep their connections).
    pub(super) fn reload(
        &mut self,
        cfg: &LvsConfig,
        checker: &mut Checker,
        now: Instant,
    ) -> anyhow::Result<()> {
        if self.ipvs.is_none() && !cfg.virtual_servers.is_empty() {
            self.ipvs = Some(Ipvs::new().map_err(|e| anyhow!("LVS: {e}"))?);
        }
        load_schedulers(cfg);
        let old = std::mem::take(&mut self.vss);
        self.by_check.clear();
        let mut kept: BTreeMap<KeyOrd, VsRun> = BTreeMap::new();
        let mut was: BTreeMap<KeyOrd, Before> = BTreeMap::new();
        for v in old {
            if cfg.virtual_servers.contains(&v.cfg) {
                kept.insert(KeyOrd::from(&v.cfg.key), v);
            } else {
                let new = cfg.virtual_servers.iter().find(|n| n.key == v.cfg.key);
                let up = v.rs.iter().map(|r| r.live.up);
                self.alerts.extend(alerts::removed_alerts(&v.cfg, up, new));
                let states = v.cfg.real_servers.iter().zip(&v.rs);
                let states = states.map(|(c, r)| (c.addr, r.live.up)).collect();
                let before = Before {
                    up: states,
                    quorum_up: v.quorum_up,
                };
                was.insert(KeyOrd::from(&v.cfg.key), before);
                for r in &v.rs {
                    for id in &r.checks {
                        checker.remove(*id);
                    }
                }
            }
        }
        for vs in &cfg.virtual_servers {
            match kept.remove(&KeyOrd::from(&vs.key)) {
                Some(run) => {
                    let vi = self.vss.len();
                    for (ri, r) in run.rs.iter().enumerate() {
                        for id in &r.checks {
                            self.by_check.insert(*id, (vi, ri));
                        }
                    }
                    self.vss.push(run);
                }
                None => {
                    let before = was.remove(&KeyOrd::from(&vs.key)).unwrap_or_default();
                    self.add_vs(vs.clone(), &before, checker, now)?;
                }
            }
        }
        let owned: BTreeSet<KeyOrd> = self.applied.keys().cloned().collect();
        let have = self.applied.clone();
        let ops = plan::diff(&self.wanted_all(), &have, &owned);
        info!("LVS: reload: {} changes", ops.len());
        self.apply(ops);
        self.save_owned();
        let sync_changed = self.cfg.sync_daemon != cfg.sync_daemon;
        if sync_changed {
            self.sync_stop_all();
        }
        self.cfg = cfg.clone();
        if sync_changed {
            self.sync_start_backup();
        }
        Ok(())
    }

    /// The stop: removes the owned services (unless `keep_on_stop`) and
    /// stops the sync daemons.
    pub(super) fn stop(&mut self) {
        self.sync_stop_all();
        if self.cfg.keep_on_stop || self.applied.is_empty() {
            return;
        }
        let ops: Vec<Op> = self
            .applied
            .values()
            .map(|t| Op::DelService(t.service.key))
            .collect();
        info!("LVS: removing {} virtual services", ops.len());
        self.apply(ops);
        self.save_owned();
    }
}

/// Records a successful `op` in the cached table.
fn record(applied: &mut BTreeMap<KeyOrd, Table>, op: Op) {
    match op {
        Op::AddService(s) | Op::EditService(s) => {
            let e = applied
                .entry(KeyOrd::from(&s.key))
                .or_insert_with(|| Table {
                    service: s.clone(),
                    dests: BTreeMap::new(),
                });
            e.service = s;
        }
        Op::DelService(k) => {
            applied.remove(&KeyOrd::from(&k));
        }
        Op::AddDest(k, d) | Op::EditDest(k, d) => {
            if let Some(t) = applied.get_mut(&KeyOrd::from(&k)) {
                t.dests.insert(std::net::SocketAddr::new(d.addr, d.port), d);
            }
        }
        Op::DelDest(k, a) => {
            if let Some(t) = applied.get_mut(&KeyOrd::from(&k)) {
                t.dests.remove(&a);
            }
        }
    }
}
