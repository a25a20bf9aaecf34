//! The daemon: `vrrpd run`.
//!
//! One thread, one `mio` loop. Its sources: the VRRP raw sockets (one per
//! interface, source address and mode, shared by every instance on it and
//! demultiplexed by VRID), the rtnetlink event socket, the health checks
//! ([`healthcheck::Checker`] on the same registry), the notify hooks'
//! pidfds ([`hooks::HookRunner`]), the control socket
//! ([`crate::control::ControlServer`]) and two self-pipes written by the
//! signal handlers (TERM/INT: stop; HUP: reload). Timers are deadlines: the
//! loop sleeps until the earliest `poll_timeout` of the routers (kept in a
//! binary heap), checks and hooks.
//!
//! At scale (docs/performance.md): sockets are read 32 datagrams per
//! `recvmmsg`, adverts are sent 32 per `sendmmsg` (`tx.rs`), a wakeup costs
//! O(log n) per due instance, and neither receiving nor sending an advert
//! allocates.
//!
//! The daemon makes no protocol decision: each instance is a
//! [`vrrp_fsm::VirtualRouter`] (or a member of a [`vrrp_fsm::SyncGroup`]);
//! the loop feeds it packets, link events, tracked priorities and time, and
//! carries out the [`vrrp_fsm::Action`]s it returns, in order.
//!
//! Start-up, stop and reload are described in `docs/operations.md`.

mod events;
pub mod hooks;
mod lifecycle;
pub mod mapping;
pub mod metrics;
mod noaccept;
mod ops;
pub mod reload;
pub mod status;
mod tx;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};
use std::io::Read;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, anyhow, bail};
use healthcheck::{Checker, Status as CheckStatus, TrackedCheck, Weight, Weighting};
use mio::net::UnixStream;
use mio::{Events, Interest, Poll, Token};
use netif::{GarpSender, Mode, NaSender, NetEvent, NetEvents, Netlink, RecvBatch, VrrpSocket};
use tracing::{debug, error, info, warn};
use vrrp_fsm::{Action, OperatorError, State, VirtualRouter};
use vrrp_proto::{Advert, ChecksumCtx, ChecksumOutcome, Packet, V3Ipv4PseudoHeader};

use crate::config::{self, Config, Instance};
use crate::control::{ControlServer, Request, Response};
use crate::sd_notify;
use hooks::{HookJob, HookRunner};
use status::{BreakdownItem, InstanceStatus, PriorityStatus, TransitionStatus};

const NETLINK: Token = Token(0);
const SIG_STOP: Token = Token(1);
const SIG_HUP: Token = Token(2);
const SOCK_BASE: usize = 16;
const MAX_SOCKS: usize = 4096;
const CONTROL_BASE: usize = SOCK_BASE + MAX_SOCKS;
const HOOK_BASE: usize = CONTROL_BASE + 1024;
const HOOK_SLOTS: usize = 256;
const METRICS_BASE: usize = HOOK_BASE + HOOK_SLOTS + 16;
const CHECK_BASE: usize = METRICS_BASE + 128;

/// How `vrrpd run` was asked to start.
#[derive(Debug, Clone)]
pub struct Options {
    /// The configuration file (re-read on SIGHUP).
    pub config_path: PathBuf,
    /// Overrides `[global] control_socket`.
    pub control_socket: Option<PathBuf>,
}

/// Runs the daemon until SIGTERM / SIGINT: start-up (errors come back
/// before anything on the host is changed, except the control socket file),
/// READY=1, the loop, the stop sequence. Returns when every instance has
/// released and the stop hooks have run (or timed out).
pub fn run(opts: &Options) -> anyhow::Result<()> {
    let mut d = Daemon::start(opts)?;
    release_free_heap();
    if let Err(e) = sd_notify::notify("READY=1") {
        warn!("sd_notify READY=1: {e}");
    }
    info!(
        "vrrpd running: {} instances, {} checks, control socket {}",
        d.cfg.instances.len(),
        d.cfg.checks.len(),
        d.control_path.display()
    );
    d.run_loop()
}

/// Hands the heap that start-up (config parsing, netlink dumps) freed back
/// to the kernel. glibc keeps freed memory in its arenas; at 1000 instances
/// that was about half of the daemon's resident heap (docs/performance.md).
#[allow(unsafe_code)] // The crate's one unsafe block (docs/decisions.md).
pub(super) fn release_free_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks glibc's own arenas; it has no
    // preconditions and is safe to call at any time from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Where a new instance goes: checked before anything changes.
#[derive(Debug, Clone)]
struct Prepared {
    ifindex: u32,
    source: IpAddr,
    mode: Mode,
}

struct Sock {
    sock: VrrpSocket,
    ifname: String,
    users: usize,
    received: u64,
    unknown_vrid: u64,
    v3_ipv4_with_pseudo_header: u64,
    v3_ipv4_without_pseudo_header: u64,
    parse_errors: BTreeMap<String, u64>,
}

struct Iface {
    mac: [u8; 6],
    na: Option<NaSender>,
}

struct Inst {
    cfg: Arc<Instance>,
    ifindex: u32,
    /// The virtual MAC interface the VIPs go on (`use_vmac`).
    vmac: Option<netif::VmacLink>,
    /// `virtual_routes` are installed (they follow `holds_vips`).
    routes_on: bool,
    sock: usize,
    unit: usize,
    member: usize,
    source: IpAddr,
    pseudo: V3Ipv4PseudoHeader,
    group: Option<String>,
    link_up: bool,
    applied_delta: i32,
    applied_fault: bool,
    last_transition: Option<TransitionStatus>,
    send_failing: bool,
    mismatch_logged: bool,
    /// The [`tx::TxQueue`] flush in which sending last failed.
    send_failed_in: u64,
    counters: InstCounters,
}

impl Inst {
    /// The interface the VIPs go on: the virtual MAC interface if any.
    fn vip_ifindex(&self) -> u32 {
        self.vmac.map_or(self.ifindex, |v| v.ifindex)
    }

    /// Its name, for logs.
    fn vip_dev(&self) -> &str {
        self.cfg.vmac.as_deref().unwrap_or(&self.cfg.interface)
    }
}

/// The daemon's own per-instance counters, beside the state machine's
/// (`vrrp_fsm::Stats`). A plain struct: a map here cost about 280 bytes per
/// instance (docs/performance.md).
#[derive(Debug, Default, Clone, Copy)]
struct InstCounters {
    send_errors: u64,
    address_errors: u64,
    addresses_restored: u64,
    route_errors: u64,
    garp_sent: u64,
    na_sent: u64,
    announce_errors: u64,
}

impl InstCounters {
    /// The counters by the names `status` and the metrics endpoint use.
    fn named(&self) -> [(&'static str, u64); 7] {
        [
            ("send_errors", self.send_errors),
            ("address_errors", self.address_errors),
            ("addresses_restored", self.addresses_restored),
            ("route_errors", self.route_errors),
            ("garp_sent", self.garp_sent),
            ("na_sent", self.na_sent),
            ("announce_errors", self.announce_errors),
        ]
    }
}

enum Fsm {
    Solo(Box<VirtualRouter>),
    Group(vrrp_fsm::SyncGroup),
}

struct Unit {
    fsm: Fsm,
    members: Vec<usize>,
    group: Option<Box<config::SyncGroup>>,
    group_state: State,
    handover_until: Option<Instant>,
    stopped: bool,
    /// The deadline last queued in [`Daemon::timers`] for this unit; a
    /// queued entry that differs from it is stale.
    deadline: Option<Instant>,
}

impl Unit {
    fn router(&self, member: usize) -> Option<&VirtualRouter> {
        match &self.fsm {
            Fsm::Solo(r) => Some(r),
            Fsm::Group(g) => g.member(member),
        }
    }

    fn routers(&self) -> Vec<&VirtualRouter> {
        match &self.fsm {
            Fsm::Solo(r) => vec![r],
            Fsm::Group(g) => g.members().iter().collect(),
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        match &self.fsm {
            Fsm::Solo(r) => r.poll_timeout(),
            Fsm::Group(g) => g.poll_timeout(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Input<'a> {
    Startup,
    Shutdown,
    Timeout,
    Advert(IpAddr, u8, &'a Advert),
    Tracked(i32),
    LinkDown,
    LinkUp,
    CheckFault(bool),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Running,
    /// Releasing: hand-overs in progress.
    Stopping,
    /// Every instance released; stop hooks running until the deadline.
    Hooks(Instant),
}

struct Daemon {
    poll: Poll,
    config_path: PathBuf,
    control_path: PathBuf,
    cfg: Config,
    nl: Netlink,
    net: NetEvents,
    net_buf: Vec<NetEvent>,
    garp: GarpSender,
    socks: Vec<Option<Sock>>,
    ifaces: HashMap<u32, Iface>,
    /// ifindex -> (name, usable).
    links: HashMap<u32, (String, bool)>,
    insts: Vec<Option<Inst>>,
    names: HashMap<String, usize>,
    units: Vec<Option<Unit>>,
    /// Every unit's next deadline, earliest first. Entries are not removed
    /// when a deadline moves; [`Daemon::refresh_deadline`] queues the new
    /// one and the old entry is skipped as stale. A wakeup costs O(log n)
    /// per due unit instead of a scan of every unit (docs/performance.md).
    timers: BinaryHeap<Reverse<(Instant, usize)>>,
    demux: HashMap<(usize, u8), Vec<usize>>,
    checker: Checker,
    hooks: HookRunner,
    control: ControlServer,
    metrics: Option<metrics::MetricsServer>,
    sig_stop: UnixStream,
    sig_hup: UnixStream,
    /// The advert each received datagram is parsed into (reused).
    rx_advert: Advert,
    /// Adverts encoded but not yet sent (see `tx.rs`).
    tx: tx::TxQueue,
    /// Receive buffers for `recvmmsg` (taken while in use).
    rx_batch: Option<Box<RecvBatch>>,
    /// The actions [`Daemon::drain`] collects (reused).
    action_buf: Vec<(usize, Action)>,
    /// Virtual MAC interfaces' parent settings (restored on drop).
    vmacs: netif::VirtualMacs,
    /// The configuration a retuned instance had before a reload, for the
    /// prefix length of the addresses it drops (`RemoveVip`; they are no
    /// longer in its configuration). `None` outside [`Daemon::try_reload`].
    retired: Option<Arc<Instance>>,
    phase: Phase,
    started: Instant,
    reloads: u64,
    reload_failures: u64,
    /// The nftables filter of Accept_Mode False, while any instance needs it.
    noaccept: Option<noaccept::NoAccept>,
}

/// A placeholder for [`Daemon::rx_advert`]; every field is overwritten by
/// the first parse.
fn scratch_advert() -> Advert {
    Advert {
        version: vrrp_proto::Version::V3,
        vrid: const {
            match vrrp_proto::Vrid::new(1) {
                Some(v) => v,
                None => panic!("1 is a VRID"),
            }
        },
        priority: vrrp_proto::Priority::RELEASE,
        interval: vrrp_proto::Interval::DEFAULT,
        addrs: vrrp_proto::VirtualAddrs::V4(Vec::new()),
        auth: vrrp_proto::Auth::None,
    }
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn signal_pipe(signals: &[libc::c_int]) -> anyhow::Result<UnixStream> {
    let (rx, tx) = std::os::unix::net::UnixStream::pair().context("signal self-pipe")?;
    rx.set_nonblocking(true).context("signal self-pipe")?;
    for &s in signals {
        let w = tx.try_clone().context("signal self-pipe")?;
        signal_hook::low_level::pipe::register(s, w)
            .with_context(|| format!("installing the handler of signal {s}"))?;
    }
    Ok(UnixStream::from_std(rx))
}

fn drain_pipe(s: &mut UnixStream) -> bool {
    let mut got = false;
    let mut b = [0u8; 64];
    loop {
        match s.read(&mut b) {
            Ok(0) => return got,
            Ok(_) => got = true,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return got,
        }
    }
}

/// The `nft` program Accept_Mode False needs, if installed.
pub fn noaccept_available() -> Option<PathBuf> {
    noaccept::find_nft()
}

/// True if an instance runs with Accept_Mode False (the owner always accepts).
fn needs_noaccept(cfg: &Config) -> bool {
    !noaccept_vips(cfg).is_empty()
}

/// The VIPs whose traffic the filter drops: those of every instance with
/// Accept_Mode False (in any state; see `noaccept`).
fn noaccept_vips(cfg: &Config) -> Vec<IpAddr> {
    cfg.instances
        .iter()
        .filter(|i| !i.accept && !i.priority.is_owner())
        .flat_map(|i| i.vips.iter().map(|v| v.addr))
        .collect()
}

fn all_vips(cfg: &Config) -> Vec<IpAddr> {
    cfg.instances
        .iter()
        .flat_map(|i| i.vips.iter().map(|v| v.addr))
        .collect()
}

fn vip_list(inst: &Instance) -> Vec<IpAddr> {
    inst.vips.iter().map(|v| v.addr).collect()
}

impl Daemon {
    fn start(opts: &Options) -> anyhow::Result<Daemon> {
        let cfg = config::load(&opts.config_path).map_err(|e| anyhow!("{e}"))?;
        let control_path = opts
            .control_socket
            .clone()
            .unwrap_or_else(|| cfg.global.control_socket.clone());
        let mut nl = Netlink::new().context("opening rtnetlink")?;
        let skip = all_vips(&cfg);
        // Everything read-only first: a missing interface or address stops
        // start-up before anything changes on the host.
        let mut prepared = HashMap::new();
        for inst in &cfg.instances {
            prepared.insert(inst.name.clone(), prepare(&mut nl, inst, &skip)?);
        }
        let link_list = nl.links().context("listing interfaces")?;
        let net = NetEvents::subscribe(&link_list).context("subscribing to link events")?;
        let poll = Poll::new().context("creating the event loop")?;
        let control = ControlServer::bind(&control_path, poll.registry(), CONTROL_BASE)
            .with_context(|| format!("control socket {}", control_path.display()))?;
        let metrics = match cfg.global.metrics_listen {
            Some(addr) => Some(
                metrics::MetricsServer::bind(addr, poll.registry(), METRICS_BASE)
                    .with_context(|| format!("metrics endpoint {addr}"))?,
            ),
            None => None,
        };
        let garp = GarpSender::new().context("opening the gratuitous ARP socket")?;
        let checker = Checker::new(poll.registry(), CHECK_BASE).context("health checks")?;
        let hooks = HookRunner::new(
            poll.registry(),
            HOOK_BASE,
            HOOK_SLOTS,
            cfg.global.notify_timeout,
        )
        .context("notify hooks")?;
        let sig_stop = signal_pipe(&[libc::SIGTERM, libc::SIGINT])?;
        let sig_hup = signal_pipe(&[libc::SIGHUP])?;
        let noaccept = if needs_noaccept(&cfg) {
            let na = noaccept::NoAccept::install()?;
            na.set(&noaccept_vips(&cfg))?;
            Some(na)
        } else {
            None
        };
        let links = link_list
            .iter()
            .map(|l| (l.ifindex, (l.name.clone(), l.is_usable())))
            .collect();
        let mut d = Daemon {
            poll,
            config_path: opts.config_path.clone(),
            control_path,
            cfg: Config {
                global: cfg.global.clone(),
                instances: Vec::new(),
                checks: Vec::new(),
                sync_groups: Vec::new(),
            },
            nl,
            net,
            net_buf: Vec::new(),
            rx_advert: scratch_advert(),
            tx: tx::TxQueue::default(),
            rx_batch: Some(Box::default()),
            action_buf: Vec::new(),
            retired: None,
            vmacs: netif::VirtualMacs::new(),
            garp,
            socks: Vec::new(),
            ifaces: HashMap::new(),
            links,
            insts: Vec::new(),
            names: HashMap::new(),
            units: Vec::new(),
            timers: BinaryHeap::new(),
            demux: HashMap::new(),
            checker,
            hooks,
            control,
            metrics,
            sig_stop,
            sig_hup,
            phase: Phase::Running,
            started: Instant::now(),
            reloads: 0,
            reload_failures: 0,
            noaccept,
        };
        let reg = d.poll.registry();
        reg.register(&mut d.net, NETLINK, Interest::READABLE)
            .context("registering netlink events")?;
        reg.register(&mut d.sig_stop, SIG_STOP, Interest::READABLE)
            .context("registering the signal pipe")?;
        reg.register(&mut d.sig_hup, SIG_HUP, Interest::READABLE)
            .context("registering the signal pipe")?;

        let now = Instant::now();
        for c in &cfg.checks {
            d.checker
                .add(mapping::check_spec(c), now)
                .with_context(|| format!("check {:?}", c.name))?;
        }
        let names: BTreeSet<String> = cfg.instances.iter().map(|i| i.name.clone()).collect();
        d.cfg = cfg;
        d.add_instances(&names, &prepared, now)?;
        Ok(d)
    }

    // ----- building instances ------------------------------------------

    fn open_sock(&mut self, p: &Prepared, ifname: &str) -> anyhow::Result<usize> {
        if let Some(i) = self.socks.iter().position(|s| {
            s.as_ref().is_some_and(|s| {
                s.sock.ifindex() == p.ifindex
                    && s.sock.source() == p.source
                    && *s.sock.mode() == p.mode
            })
        }) {
            return Ok(i);
        }
        let mut sock = VrrpSocket::open(p.ifindex, p.source, p.mode.clone())
            .with_context(|| format!("VRRP socket on {ifname}"))?;
        let i = match self.socks.iter().position(Option::is_none) {
            Some(i) => i,
            None => {
                if self.socks.len() >= MAX_SOCKS {
                    bail!("too many VRRP sockets");
                }
                self.socks.push(None);
                self.socks.len() - 1
            }
        };
        self.poll
            .registry()
            .register(&mut sock, Token(SOCK_BASE + i), Interest::READABLE)
            .context("registering a VRRP socket")?;
        if !self.ifaces.contains_key(&p.ifindex) {
            let mac = self
                .nl
                .mac(p.ifindex)
                .with_context(|| format!("MAC address of {ifname}"))?
                .unwrap_or([0; 6]);
            self.ifaces.insert(p.ifindex, Iface { mac, na: None });
        }
        if let IpAddr::V6(ll) = p.source {
            if let Some(iface) = self.ifaces.get_mut(&p.ifindex) {
                if iface.na.is_none() {
                    iface.na =
                        Some(NaSender::open(p.ifindex, ll).with_context(|| {
                            format!("neighbour advertisement socket on {ifname}")
                        })?);
                }
            }
        }
        self.socks[i] = Some(Sock {
            sock,
            ifname: ifname.to_owned(),
            users: 0,
            received: 0,
            unknown_vrid: 0,
            v3_ipv4_with_pseudo_header: 0,
            v3_ipv4_without_pseudo_header: 0,
            parse_errors: BTreeMap::new(),
        });
        Ok(i)
    }

    /// For VIPs on interfaces of their own (keepalived's `dev`): removes
    /// those a crashed run left there, and learns each interface's MAC
    /// (gratuitous ARP) and, for IPv6, opens its neighbour advertisement
    /// sender. Failures are logged: the instance runs, and adding the
    /// address reports again if the interface is missing.
    fn prepare_vip_interfaces(&mut self, inst: &Instance) {
        let mut devs: Vec<&str> = inst
            .vips
            .iter()
            .filter_map(|v| v.interface.as_deref())
            .collect();
        devs.sort_unstable();
        devs.dedup();
        for dev in devs {
            let Ok(ifindex) = netif::ifindex(dev) else {
                warn!("{}: interface {dev} does not exist", inst.name);
                continue;
            };
            let here: Vec<IpAddr> = inst
                .vips
                .iter()
                .filter(|v| v.interface.as_deref() == Some(dev))
                .map(|v| v.addr)
                .collect();
            match self.nl.remove_stale_vips(ifindex, &here) {
                Ok(stale) => {
                    for a in stale {
                        info!(
                            "{}: removed {}/{} from {dev}, left by an earlier run",
                            inst.name, a.addr, a.prefix_len
                        );
                    }
                }
                Err(e) => warn!("{}: cannot remove stale addresses on {dev}: {e}", inst.name),
            }
            if !self.ifaces.contains_key(&ifindex) {
                let mac = self.nl.mac(ifindex).ok().flatten().unwrap_or([0; 6]);
                self.ifaces.insert(ifindex, Iface { mac, na: None });
            }
            if inst.family == config::Family::V6 {
                let ll = self.nl.ipv6_link_local(ifindex, &here).ok().flatten();
                if let (Some(ll), Some(iface)) = (ll, self.ifaces.get_mut(&ifindex)) {
                    if iface.na.is_none() {
                        match NaSender::open(ifindex, ll) {
                            Ok(na) => iface.na = Some(na),
                            Err(e) => {
                                warn!("{}: neighbour advertisements on {dev}: {e}", inst.name)
                            }
                        }
                    }
                }
            }
        }
    }

    /// Builds, registers and starts the instances `names` of `self.cfg`
    /// (sync group members together).
    fn add_instances(
        &mut self,
        names: &BTreeSet<String>,
        prepared: &HashMap<String, Prepared>,
        now: Instant,
    ) -> anyhow::Result<()> {
        let cfg = self.cfg.clone();
        let mut ids = Vec::new();
        for inst in cfg.instances.iter().filter(|i| names.contains(&i.name)) {
            let p = prepared
                .get(&inst.name)
                .ok_or_else(|| anyhow!("instance {:?} was not prepared", inst.name))?;
            // VIPs of ours a crashed earlier run left behind.
            match self.nl.remove_stale_vips(p.ifindex, &vip_list(inst)) {
                Ok(stale) => {
                    for a in stale {
                        info!(
                            "{}: removed {}/{} from {}, left by an earlier run",
                            inst.name, a.addr, a.prefix_len, inst.interface
                        );
                    }
                }
                Err(e) => warn!("{}: cannot remove stale addresses: {e}", inst.name),
            }
            self.prepare_vip_interfaces(inst);
            for t in &inst.track_interfaces {
                if !self.links.values().any(|(n, _)| *n == t.name) {
                    warn!(
                        "{}: tracked interface {} does not exist; counted as down",
                        inst.name, t.name
                    );
                }
            }
            let vmac = match &inst.vmac {
                Some(name) => {
                    let link = self
                        .vmacs
                        .create(&mut self.nl, p.ifindex, name, inst.vrid)
                        .with_context(|| {
                            format!("instance {:?}: virtual MAC interface {name}", inst.name)
                        })?;
                    info!(
                        "{}: virtual MAC interface {name} on {}",
                        inst.name, inst.interface
                    );
                    Some(link)
                }
                None => None,
            };
            let sock = match self.open_sock(p, &inst.interface) {
                Ok(s) => s,
                Err(e) => {
                    if let Some(link) = &vmac {
                        let _ = self.vmacs.remove(&mut self.nl, link);
                    }
                    return Err(e);
                }
            };
            if let Some(s) = self.socks[sock].as_mut() {
                s.users += 1;
            }
            let group = cfg
                .sync_groups
                .iter()
                .find(|g| g.instances.contains(&inst.name))
                .map(|g| g.name.clone());
            let link_up = self.links.get(&p.ifindex).is_some_and(|l| l.1);
            let id = self.insts.len();
            self.insts.push(Some(Inst {
                cfg: inst.clone(),
                ifindex: p.ifindex,
                vmac,
                routes_on: false,
                sock,
                unit: usize::MAX,
                member: 0,
                source: p.source,
                pseudo: mapping::pseudo_header(inst),
                group,
                link_up,
                applied_delta: 0,
                applied_fault: false,
                last_transition: None,
                send_failing: false,
                mismatch_logged: false,
                send_failed_in: 0,
                counters: InstCounters::default(),
            }));
            self.names.insert(inst.name.clone(), id);
            ids.push(id);
        }
        // Units: sync groups first, then the rest alone.
        let mut new_units = Vec::new();
        let mut grouped = BTreeSet::new();
        for g in &cfg.sync_groups {
            let members: Vec<usize> = g
                .instances
                .iter()
                .filter_map(|n| self.names.get(n).copied())
                .filter(|id| ids.contains(id))
                .collect();
            if members.is_empty() {
                continue;
            }
            let mut routers = Vec::new();
            for &id in &members {
                routers.push(self.new_router(id)?);
                grouped.insert(id);
            }
            let sg = vrrp_fsm::SyncGroup::new(routers)
                .map_err(|e| anyhow!("sync group {:?}: {e}", g.name))?;
            new_units.push(Unit {
                fsm: Fsm::Group(sg),
                members,
                group: Some(Box::new(g.clone())),
                group_state: State::Initialize,
                handover_until: None,
                stopped: false,
                deadline: None,
            });
        }
        for &id in ids.iter().filter(|id| !grouped.contains(*id)) {
            let r = self.new_router(id)?;
            new_units.push(Unit {
                fsm: Fsm::Solo(Box::new(r)),
                members: vec![id],
                group: None,
                group_state: State::Initialize,
                handover_until: None,
                stopped: false,
                deadline: None,
            });
        }
        let mut started = Vec::new();
        for unit in new_units {
            let u = self.units.len();
            for (m, &id) in unit.members.iter().enumerate() {
                if let Some(inst) = self.insts[id].as_mut() {
                    inst.unit = u;
                    inst.member = m;
                }
            }
            self.units.push(Some(unit));
            started.push(u);
        }
        self.rebuild_demux();
        for &u in &started {
            let members = self.units[u]
                .as_ref()
                .map(|x| x.members.clone())
                .unwrap_or_default();
            for id in members {
                let down = self.insts[id].as_ref().is_some_and(|i| !i.link_up);
                if down {
                    if let Some(inst) = self.insts[id].as_ref() {
                        warn!(
                            "{}: interface {} is down: Fault",
                            inst.cfg.name, inst.cfg.interface
                        );
                    }
                    let m = self.insts[id].as_ref().map_or(0, |i| i.member);
                    self.feed(u, m, now, Input::LinkDown);
                }
                self.recompute(id, now);
            }
            self.feed(u, 0, now, Input::Startup);
        }
        Ok(())
    }

    fn new_router(&self, id: usize) -> anyhow::Result<VirtualRouter> {
        let inst = self.insts[id]
            .as_ref()
            .ok_or_else(|| anyhow!("internal: instance {id} missing"))?;
        let cfg = mapping::fsm_config(&inst.cfg, inst.source).map_err(|e| anyhow!(e))?;
        Ok(VirtualRouter::new(cfg))
    }

    fn rebuild_demux(&mut self) {
        self.demux.clear();
        for (id, inst) in self.insts.iter().enumerate() {
            if let Some(inst) = inst {
                self.demux
                    .entry((inst.sock, inst.cfg.vrid.get()))
                    .or_default()
                    .push(id);
            }
        }
    }

    // ----- feeding the state machines -----------------------------------

    fn feed(&mut self, u: usize, member: usize, now: Instant, input: Input<'_>) {
        let Some(unit) = self.units.get_mut(u).and_then(Option::as_mut) else {
            return;
        };
        match &mut unit.fsm {
            Fsm::Solo(r) => match input {
                Input::Startup => r.startup(now),
                Input::Shutdown => r.shutdown(now),
                Input::Timeout => r.handle_timeout(now),
                Input::Advert(src, ttl, adv) => r.handle_advert(now, src, ttl, adv),
                Input::Tracked(d) => r.set_tracked_priority(now, d),
                Input::LinkDown => r.interface_down(now),
                Input::LinkUp => r.interface_up(now),
                Input::CheckFault(f) => r.set_check_fault(now, f),
            },
            Fsm::Group(g) => match input {
                Input::Startup => g.startup(now),
                Input::Shutdown => g.shutdown(now),
                Input::Timeout => g.handle_timeout(now),
                Input::Advert(src, ttl, adv) => g.handle_advert(now, member, src, ttl, adv),
                Input::Tracked(d) => g.set_tracked_priority(now, member, d),
                Input::LinkDown => g.interface_down(now, member),
                Input::LinkUp => g.interface_up(now, member),
                Input::CheckFault(f) => g.set_check_fault(now, member, f),
            },
        }
        self.drain(u, now);
    }

    fn drain(&mut self, u: usize, now: Instant) {
        // Reused across calls (a nested drain finds it empty and allocates).
        let mut actions = std::mem::take(&mut self.action_buf);
        actions.clear();
        let group_change = {
            let Some(unit) = self.units.get_mut(u).and_then(Option::as_mut) else {
                return;
            };
            match &mut unit.fsm {
                Fsm::Solo(r) => {
                    while let Some(a) = r.poll_action() {
                        actions.push((unit.members[0], a));
                    }
                    None
                }
                Fsm::Group(g) => {
                    while let Some((m, a)) = g.poll_action() {
                        if let Some(&id) = unit.members.get(m) {
                            actions.push((id, a));
                        }
                    }
                    let s = g.state();
                    (s != unit.group_state).then(|| {
                        let from = unit.group_state;
                        unit.group_state = s;
                        (from, s, unit.group.clone())
                    })
                }
            }
        };
        for (id, a) in actions.drain(..) {
            self.execute(id, a, now);
        }
        self.action_buf = actions;
        self.sync_routes(u);
        self.refresh_deadline(u);
        if let Some((from, to, Some(g))) = group_change {
            info!(
                "sync group {}: {} -> {}",
                g.name,
                status::state_word(from),
                status::state_word(to)
            );
            self.group_hooks(&g, to, now);
        }
    }

    fn execute(&mut self, id: usize, action: Action, now: Instant) {
        if let Action::SendAdvert(kind) = action {
            return self.queue_advert(id, kind);
        }
        let Some(inst) = self.insts.get_mut(id).and_then(Option::as_mut) else {
            return;
        };
        let name = inst.cfg.name.clone();
        match action {
            Action::SendAdvert(_) => {}
            Action::AddVip(addr) => {
                // RFC 9568 §6.4.3: without Accept_Mode a non-owner master
                // drops traffic to the VIP; the filter already holds it
                // (`noaccept_vips`).
                let meta = vip_meta(&inst.cfg, addr, &[]);
                let p = meta.prefix_len;
                let added = inst.vip_target(&meta).and_then(|(ifindex, dev)| {
                    self.nl
                        .add_addr(ifindex, addr, p, meta.label.as_deref())
                        .map(|_| dev)
                        .map_err(|e| e.to_string())
                });
                match added {
                    Ok(dev) => info!("{name}: added {addr}/{p} to {dev}"),
                    Err(e) => {
                        inst.counters.address_errors += 1;
                        error!("{name}: cannot add {addr}/{p}: {e}");
                    }
                }
            }
            Action::RemoveVip(addr) => {
                let retired = self.retired.as_deref().map_or(&[][..], |o| &o.vips[..]);
                let meta = vip_meta(&inst.cfg, addr, retired);
                let p = meta.prefix_len;
                let removed = inst.vip_target(&meta).and_then(|(ifindex, dev)| {
                    self.nl
                        .del_addr(ifindex, addr, p)
                        .map(|_| dev)
                        .map_err(|e| e.to_string())
                });
                match removed {
                    Ok(dev) => info!("{name}: removed {addr}/{p} from {dev}"),
                    Err(e) => {
                        inst.counters.address_errors += 1;
                        error!("{name}: cannot remove {addr}/{p}: {e}");
                    }
                }
            }
            Action::SendGarp(addr) => {
                // INTEROP: without use_vmac, announce the interface's own
                // MAC, as keepalived does (see netif::driver for the
                // reasoning); with it, the virtual MAC from its interface.
                let own = vip_meta(&inst.cfg, IpAddr::V4(addr), &[]).interface;
                let (ifindex, mac) = match (inst.vmac, own) {
                    (Some(v), _) => (v.ifindex, v.mac),
                    // keepalived's `dev`: that interface's own MAC.
                    (None, Some(dev)) => {
                        let i = netif::ifindex(&dev).unwrap_or(0);
                        let mac = self.ifaces.get(&i).map(|f| f.mac);
                        let mac = mac.or_else(|| self.nl.mac(i).ok().flatten());
                        (i, mac.unwrap_or([0; 6]))
                    }
                    (None, None) => (
                        inst.ifindex,
                        self.ifaces.get(&inst.ifindex).map_or([0; 6], |i| i.mac),
                    ),
                };
                match self.garp.send(ifindex, mac, addr) {
                    Ok(()) => inst.counters.garp_sent += 1,
                    Err(e) => {
                        inst.counters.announce_errors += 1;
                        debug!("{name}: gratuitous ARP for {addr}: {e}");
                    }
                }
            }
            Action::SendUnsolicitedNa(addr) => {
                let own = vip_meta(&inst.cfg, IpAddr::V6(addr), &[]).interface;
                let ifindex = own.map_or(Some(inst.ifindex), |d| netif::ifindex(&d).ok());
                let sent = ifindex
                    .and_then(|i| self.ifaces.get(&i))
                    .and_then(|i| i.na.as_ref().map(|na| na.send(addr, i.mac, true)));
                match sent {
                    Some(Ok(())) => inst.counters.na_sent += 1,
                    Some(Err(e)) => {
                        inst.counters.announce_errors += 1;
                        debug!("{name}: neighbour advertisement for {addr}: {e}");
                    }
                    None => inst.counters.announce_errors += 1,
                }
            }
            Action::StateChanged(ch) => {
                info!(
                    "{name}: {} -> {} ({})",
                    status::state_word(ch.from),
                    status::state_word(ch.to),
                    status::reason_word(ch.reason)
                );
                inst.last_transition = Some(TransitionStatus {
                    from: status::state_word(ch.from),
                    to: status::state_word(ch.to),
                    reason: status::reason_word(ch.reason),
                    at_unix_ms: unix_ms(),
                });
                let hooks = inst.cfg.hooks.clone();
                let prio = router_of(&self.units, inst)
                    .map_or(inst.cfg.priority.get(), |r| r.priority().get());
                // Entering Initialize means the instance stopped: the
                // notify_stop hook and state STOP.
                // While the daemon stops, the hand-over's intermediate
                // changes run no hook: only notify_stop does.
                if self.phase == Phase::Running || ch.to == State::Initialize {
                    queue_hooks(&mut self.hooks, &hooks, "INSTANCE", &name, ch.to, prio, now);
                }
            }
            Action::Discarded { src, reason } => {
                debug!("{name}: discarded an advert from {src}: {reason:?}");
            }
            Action::Mismatch { src, mismatch } => {
                if inst.mismatch_logged {
                    debug!("{name}: advert from {src} disagrees: {mismatch:?}");
                } else {
                    inst.mismatch_logged = true;
                    warn!(
                        "{name}: advert from {src} disagrees with the configuration: {mismatch:?} (logged once)"
                    );
                }
            }
            _ => {}
        }
    }

    fn group_hooks(&mut self, g: &config::SyncGroup, to: State, now: Instant) {
        if self.phase != Phase::Running && to != State::Initialize {
            return;
        }
        queue_hooks(&mut self.hooks, &g.hooks, "GROUP", &g.name, to, 0, now);
    }

    /// Recomputes the tracked priority and fault of instance `id` from its
    /// checks and tracked interfaces, and tells its router if they changed.
    fn recompute(&mut self, id: usize, now: Instant) {
        let Some(inst) = self.insts.get(id).and_then(Option::as_ref) else {
            return;
        };
        let (delta, fault, _) = self.tracking(inst);
        let delta = i32::try_from(delta.clamp(-1000, 1000)).unwrap_or(0);
        let (u, m) = (inst.unit, inst.member);
        let (old_d, old_f) = (inst.applied_delta, inst.applied_fault);
        if let Some(inst) = self.insts.get_mut(id).and_then(Option::as_mut) {
            inst.applied_delta = delta;
            inst.applied_fault = fault;
        }
        if delta != old_d {
            self.feed(u, m, now, Input::Tracked(delta));
        }
        if fault != old_f {
            self.feed(u, m, now, Input::CheckFault(fault));
        }
    }

    /// (delta, fault, breakdown) of an instance's tracked objects.
    fn tracking(&self, inst: &Inst) -> (i64, bool, Vec<BreakdownItem>) {
        let mut tracked = Vec::new();
        for tc in &inst.cfg.track_checks {
            let Some(id) = self.checker.id(&tc.name) else {
                continue;
            };
            let reverse = self
                .cfg
                .checks
                .iter()
                .find(|c| c.name == tc.name)
                .is_some_and(|c| c.reverse);
            let weighting = tc.weight.and_then(|w| {
                Weight::new(w)
                    .ok()
                    .map(|weight| Weighting { weight, reverse })
            });
            tracked.push(TrackedCheck { id, weighting });
        }
        let bd = self.checker.breakdown(inst.cfg.priority.get(), &tracked);
        let mut items: Vec<BreakdownItem> = bd
            .entries
            .iter()
            .map(|e| BreakdownItem {
                name: e.name.clone(),
                kind: "check",
                state: match e.status {
                    CheckStatus::Ok => "ok".to_owned(),
                    CheckStatus::Failed => "failed".to_owned(),
                },
                contribution: match e.contribution {
                    healthcheck::Contribution::Delta(d) => serde_json::json!(d),
                    healthcheck::Contribution::Fault => serde_json::json!("fault"),
                },
            })
            .collect();
        let mut delta = bd.total_delta;
        let mut fault = bd.fault;
        for ti in &inst.cfg.track_interfaces {
            let up = self
                .links
                .values()
                .find(|(n, _)| *n == ti.name)
                .is_some_and(|(_, up)| *up);
            let contribution = if up {
                serde_json::json!(0)
            } else if ti.weight == 0 {
                fault = true;
                serde_json::json!("fault")
            } else {
                delta += i64::from(ti.weight);
                serde_json::json!(ti.weight)
            };
            items.push(BreakdownItem {
                name: ti.name.clone(),
                kind: "interface",
                state: if up { "up" } else { "down" }.to_owned(),
                contribution,
            });
        }
        (delta, fault, items)
    }

    // ----- the loop --------------------------------------------------------

    /// Queues unit `u`'s next deadline if it moved. Called after every
    /// change to a unit: [`Self::drain`] runs after each input.
    fn refresh_deadline(&mut self, u: usize) {
        let Some(unit) = self.units.get_mut(u).and_then(Option::as_mut) else {
            return;
        };
        let next = if unit.stopped {
            None
        } else {
            unit.poll_timeout()
                .into_iter()
                .chain(unit.handover_until)
                .min()
        };
        if next != unit.deadline {
            unit.deadline = next;
            if let Some(t) = next {
                self.timers.push(Reverse((t, u)));
            }
        }
    }

    /// True if a queued timer entry is the unit's current deadline.
    fn timer_is_live(&self, t: Instant, u: usize) -> bool {
        self.units
            .get(u)
            .and_then(Option::as_ref)
            .is_some_and(|x| x.deadline == Some(t))
    }

    /// The earliest unit deadline, dropping stale entries on the way.
    fn next_unit_deadline(&mut self) -> Option<Instant> {
        while let Some(&Reverse((t, u))) = self.timers.peek() {
            if self.timer_is_live(t, u) {
                return Some(t);
            }
            self.timers.pop();
        }
        None
    }

    /// Takes the units whose deadline has come, in deadline order.
    pub(super) fn take_due_units(&mut self, now: Instant) -> Vec<usize> {
        let mut due = Vec::new();
        while let Some(&Reverse((t, u))) = self.timers.peek() {
            if t > now {
                break;
            }
            self.timers.pop();
            if self.timer_is_live(t, u) {
                if let Some(unit) = self.units.get_mut(u).and_then(Option::as_mut) {
                    unit.deadline = None;
                }
                due.push(u);
            }
        }
        due
    }

    fn next_deadline(&mut self) -> Option<Instant> {
        let mut t = self.next_unit_deadline();
        for other in [self.checker.poll_timeout(), self.hooks.poll_timeout()] {
            t = match (t, other) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        if let Phase::Hooks(d) = self.phase {
            t = Some(t.map_or(d, |x| x.min(d)));
        }
        t
    }

    fn run_loop(&mut self) -> anyhow::Result<()> {
        let mut events = Events::with_capacity(256);
        loop {
            // Adverts queued outside the loop (start-up) or by the last round.
            self.flush_tx();
            let now = Instant::now();
            let timeout = self
                .next_deadline()
                .map(|t| t.saturating_duration_since(now))
                .map_or(Duration::from_secs(5), |d| d.min(Duration::from_secs(5)));
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e).context("waiting for events");
            }
            let now = Instant::now();
            for ev in events.iter() {
                let t = ev.token();
                match t {
                    NETLINK => self.on_netlink(now),
                    SIG_STOP if drain_pipe(&mut self.sig_stop) => self.begin_stop(now),
                    SIG_HUP if drain_pipe(&mut self.sig_hup) => self.reload(now),
                    Token(n) if (SOCK_BASE..SOCK_BASE + MAX_SOCKS).contains(&n) => {
                        self.on_socket(n - SOCK_BASE, now)
                    }
                    t if self.control.owns(t) => self.on_control(t, now),
                    t if self.metrics.as_ref().is_some_and(|m| m.owns(t)) => {
                        if let Some(mut m) = self.metrics.take() {
                            m.handle_event(self.poll.registry(), t, || {
                                metrics::render(&self.status_json())
                            });
                            self.metrics = Some(m);
                        }
                    }
                    t if self.hooks.owns(t) => self.hooks.handle_event(t, now),
                    t if self.checker.owns(t) => self.checker.handle_event(t, now),
                    _ => {}
                }
            }
            self.on_timers(now);
            let done = self.progress_stop(now);
            // Everything this round encoded goes out in one batch per socket.
            self.flush_tx();
            if done {
                break;
            }
        }
        info!("stopped");
        self.hooks.kill_all(Duration::from_secs(1));
        Ok(())
    }
}

impl Daemon {
    /// Installs or removes the `virtual_routes` of unit `u`'s members so
    /// that they follow the virtual addresses (after they are added, after
    /// they are removed).
    fn sync_routes(&mut self, u: usize) {
        let Some(members) = self
            .units
            .get(u)
            .and_then(Option::as_ref)
            .map(|x| x.members.clone())
        else {
            return;
        };
        for id in members {
            let Some(inst) = self.insts.get(id).and_then(Option::as_ref) else {
                continue;
            };
            if inst.cfg.virtual_routes.is_empty() {
                continue;
            }
            let holds = router_of(&self.units, inst).is_some_and(VirtualRouter::holds_vips);
            if holds != inst.routes_on {
                self.set_routes(id, holds);
            }
        }
    }

    /// Adds (`on`) or removes every `virtual_routes` entry of instance `id`.
    fn set_routes(&mut self, id: usize, on: bool) {
        let Some(inst) = self.insts.get_mut(id).and_then(Option::as_mut) else {
            return;
        };
        inst.routes_on = on;
        for r in &inst.cfg.virtual_routes {
            let oif = match (&r.interface, r.via) {
                (Some(dev), _) => match netif::ifindex(dev) {
                    Ok(i) => Some(i),
                    Err(_) => {
                        inst.counters.route_errors += 1;
                        error!(
                            "{}: route {}/{}: interface {dev} does not exist",
                            inst.cfg.name, r.to, r.prefix_len
                        );
                        continue;
                    }
                },
                (None, None) => Some(inst.vip_ifindex()),
                (None, Some(_)) => None,
            };
            let route = netif::Route {
                dst: r.to,
                prefix_len: r.prefix_len,
                gateway: r.via,
                oif,
                metric: r.metric,
                table: r.table,
            };
            let done = if on {
                self.nl.add_route(&route)
            } else {
                self.nl.del_route(&route)
            };
            match done {
                Ok(_) => info!(
                    "{}: {} route {route}",
                    inst.cfg.name,
                    if on { "added" } else { "removed" }
                ),
                Err(e) => {
                    inst.counters.route_errors += 1;
                    error!("{}: {e}", inst.cfg.name);
                }
            }
        }
    }
}

/// The router of `inst` in its unit, if the unit runs.
fn router_of<'a>(units: &'a [Option<Unit>], inst: &Inst) -> Option<&'a VirtualRouter> {
    units
        .get(inst.unit)
        .and_then(Option::as_ref)
        .and_then(|u| u.router(inst.member))
}

impl Drop for Daemon {
    /// Virtual MAC interfaces go with the daemon, on every way out (a
    /// clean stop has removed their addresses; a failed start-up or reload
    /// may not have). `vmacs` then restores the parents' ARP settings.
    fn drop(&mut self) {
        for id in 0..self.insts.len() {
            if self.insts[id].as_ref().is_some_and(|i| i.routes_on) {
                self.set_routes(id, false);
            }
        }
        let insts: Vec<Inst> = self.insts.iter_mut().filter_map(Option::take).collect();
        for inst in &insts {
            self.remove_vmac(inst);
        }
    }
}

/// Resolves an instance's interface and source address (read-only).
fn prepare(nl: &mut Netlink, inst: &Instance, skip: &[IpAddr]) -> anyhow::Result<Prepared> {
    let ifindex = netif::ifindex(&inst.interface).map_err(|_| {
        anyhow!(
            "instance {:?}: interface {:?} does not exist",
            inst.name,
            inst.interface
        )
    })?;
    let source = match inst.unicast_source {
        Some(s) => s,
        None => {
            let found = match inst.family {
                config::Family::V4 => nl
                    .primary_ipv4(ifindex, skip)
                    .with_context(|| format!("addresses of {}", inst.interface))?
                    .map(IpAddr::V4),
                config::Family::V6 => nl
                    .ipv6_link_local(ifindex, skip)
                    .with_context(|| format!("addresses of {}", inst.interface))?
                    .map(IpAddr::V6),
            };
            found.ok_or_else(|| {
                anyhow!(
                    "instance {:?}: interface {} has no {} to send from",
                    inst.name,
                    inst.interface,
                    match inst.family {
                        config::Family::V4 => "IPv4 address",
                        config::Family::V6 => "IPv6 link-local address",
                    }
                )
            })?
        }
    };
    // keepalived's `dev`: addresses on other interfaces, which must exist.
    for v in &inst.vips {
        if let Some(dev) = &v.interface {
            netif::ifindex(dev).map_err(|_| {
                anyhow!(
                    "instance {:?}: interface {dev:?} of virtual address {} does not exist",
                    inst.name,
                    v.addr
                )
            })?;
        }
    }
    let mode = if inst.unicast_peers.is_empty() {
        Mode::Multicast
    } else {
        Mode::Unicast(inst.unicast_peers.clone())
    };
    Ok(Prepared {
        ifindex,
        source,
        mode,
    })
}

/// Prefix length and label of `addr` in `inst`'s configuration, else in
/// `retired` (addresses a reload just dropped), else a host route.
/// How a VIP is installed: prefix length, label, and its own interface
/// (keepalived's `dev`) if not the instance's.
struct VipMeta {
    prefix_len: u8,
    label: Option<String>,
    interface: Option<String>,
}

/// The [`VipMeta`] of `addr` in `inst`'s configuration, else in `retired`
/// (addresses a reload just dropped), else a host route on the instance's
/// interface.
fn vip_meta(inst: &Instance, addr: IpAddr, retired: &[config::Vip]) -> VipMeta {
    match inst.vips.iter().chain(retired).find(|v| v.addr == addr) {
        Some(v) => VipMeta {
            prefix_len: v.prefix_len,
            label: v.label.clone(),
            interface: v.interface.clone(),
        },
        None => VipMeta {
            prefix_len: if addr.is_ipv4() { 32 } else { 128 },
            label: None,
            interface: None,
        },
    }
}

impl Inst {
    /// Where a VIP with `meta` goes: (interface index, name). Its own
    /// interface is looked up by name each time, so that one re-created
    /// since start-up is found.
    fn vip_target(&self, meta: &VipMeta) -> Result<(u32, String), String> {
        match &meta.interface {
            Some(dev) => netif::ifindex(dev)
                .map(|i| (i, dev.clone()))
                .map_err(|_| format!("interface {dev} does not exist")),
            None => Ok((self.vip_ifindex(), self.vip_dev().to_owned())),
        }
    }
}

/// Queues the hooks of a state change: the state's own hook, then the
/// generic `notify` with keepalived's arguments (`INSTANCE|GROUP NAME STATE
/// PRIORITY`). `Initialize` means the instance stopped (`notify_stop`,
/// state word `STOP`).
fn queue_hooks(
    runner: &mut HookRunner,
    hooks: &config::Hooks,
    kind: &str,
    name: &str,
    to: State,
    priority: u8,
    now: Instant,
) {
    let owner = format!("{kind} {name}");
    let (specific, key) = match to {
        State::Master => (&hooks.master, "notify_master"),
        State::Backup => (&hooks.backup, "notify_backup"),
        State::Fault => (&hooks.fault, "notify_fault"),
        State::Initialize => (&hooks.stop, "notify_stop"),
    };
    let what = |k: &str| format!("{} {name} {k}", kind.to_lowercase());
    if let Some(argv) = specific {
        runner.enqueue(
            &owner,
            HookJob {
                argv: argv.clone(),
                what: what(key),
            },
            now,
        );
    }
    if let Some(argv) = &hooks.generic {
        let mut argv = argv.clone();
        argv.extend([
            kind.to_owned(),
            name.to_owned(),
            status::keepalived_word(to).to_owned(),
            priority.to_string(),
        ]);
        runner.enqueue(
            &owner,
            HookJob {
                argv,
                what: what("notify"),
            },
            now,
        );
    }
}

/// Reads the daemon's configuration path for the client commands.
pub fn control_socket_of(config_path: &Path) -> Result<PathBuf, String> {
    config::load(config_path)
        .map(|c| c.global.control_socket)
        .map_err(|e| e.to_string())
}
