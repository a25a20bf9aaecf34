//! The one Linux executor: runs a [`vrrp_fsm::Node`] (many virtual
//! routers and sync groups) on real sockets. `vrrpd` and embedding
//! services run this same code.
//!
//! ```no_run
//! use std::time::Duration;
//! use netif::executor::{Event, Executor, RouterSpec};
//! use vrrp_fsm::{Config, State};
//! use vrrp_proto::Version;
//!
//! let mut exec = Executor::new()?;
//! let vip = "192.0.2.100".parse::<std::net::IpAddr>()?;
//! let cfg = Config::builder(51, Version::V3).priority(150).virtual_addr(vip);
//! let spec = RouterSpec::on("eth0").with_vips([vip]);
//! let id = exec.add_router(cfg, spec)?;
//! loop {
//!     exec.run_once(Some(Duration::from_secs(1)))?;
//!     while let Some(ev) = exec.poll_event() {
//!         if let Event::StateChanged { change, .. } = ev {
//!             println!("now {:?}", change.to);
//!         }
//!     }
//!     let _active = exec.node().router(id).map(|r| r.state()) == Some(State::Master);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What it does
//!
//! * **Packets.** One [`VrrpSocket`] per (interface, source address,
//!   mode), shared by every router on it; each socket is one
//!   [`vrrp_fsm::LinkId`] of the node. Datagrams are read 32 per
//!   `recvmmsg`, parsed into one reused [`Advert`] and handed to the node,
//!   which demultiplexes them by VRID; adverts are encoded into one arena
//!   and sent 32 per `sendmmsg` at the end of each round. Neither receiving
//!   nor sending allocates in steady state.
//! * **Addresses.** `AddVip` / `RemoveVip` go through rtnetlink with each
//!   address's prefix length, label and interface ([`VipSpec`]); the
//!   interface is the router's, its virtual MAC interface
//!   ([`RouterSpec::vmac`]), or the address's own (keepalived's `dev`).
//!   Addresses of a router left on the host by a crashed run are removed
//!   when it is added. `virtual_routes` ([`RouteSpec`]) follow the
//!   addresses: installed after them, removed after them.
//! * **Announcements.** Gratuitous ARP from the interface that carries the
//!   address (with its MAC, or the virtual MAC), unsolicited NA with the
//!   interface's MAC.
//! * **Link and address events.** A router's interface going down or up
//!   is [`Node::set_link_up`]; an address removed from under a master is
//!   [`Node::restore_vip`] (put back and announced per the router's
//!   announcement settings); a deleted virtual MAC interface is made again;
//!   an interface deleted and created again, or a changed source address
//!   (when the source is not fixed), restarts the routers on it
//!   ([`Node::reset`]). Every link change is reported ([`Event::Link`]),
//!   for tracked interfaces.
//!
//! # Running it
//!
//! * Its own loop: [`Executor::run_once`] waits for packets, netlink
//!   events or the next deadline and handles them.
//! * A caller's loop: the executor is one file descriptor
//!   ([`AsRawFd`]; also a mio [`Source`](mio::event::Source)): register it
//!   for readability, and when it is ready or [`Executor::poll_timeout`]
//!   comes, call [`Executor::process`]. With tokio, wrap the fd in
//!   `AsyncFd` (see `examples/tokio.rs`).
//!
//! After either, drain [`Executor::poll_event`]. Inputs from outside
//! (tracked priority, switchover, maintenance, stop, reconfiguration) go
//! through [`Executor::input`], which carries out what they cause.
//!
//! # What it does not do
//!
//! No protocol decisions (all in `vrrp-fsm`), no configuration files, no
//! health checks, no hooks, no signals, no threads, no logging (everything
//! worth a log line is an [`Event`]), no IPv6 virtual MAC. Everything runs
//! in the caller's thread and network namespace.

mod act;
mod event;
pub mod lateness;
mod net;
mod place;
mod rx;
mod sock;
mod spec;
mod tx;

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};
use vrrp_fsm::{ConfigBuilder, LinkId, Node, NodeAction, NodeError, RouterId, RouterMap, Stop};
use vrrp_proto::{Advert, Family};

use crate::announce::{GarpSender, NaSender};
use crate::error::{Error, Result};
use crate::events::{NetEvent, NetEvents};
use crate::rtnl::{Netlink, ifindex};
use crate::socket::{RecvBatch, VrrpSocket};
use crate::vmac::{VirtualMacs, VmacLink};

pub use event::{Event, RouterCounters, SocketCounters, SocketInfo};
pub use lateness::Lateness;

/// [`Executor::set_late_warning`]'s default: half an advert interval.
pub const DEFAULT_LATE_WARN_PERMILLE: u32 = 500;
pub use spec::{Placement, RouteSpec, RouterSpec, VipSpec};

const NETLINK: Token = Token(0);

/// Events kept queued capacity for between bursts.
const KEEP_EVENTS: usize = 64;

struct Sock {
    sock: VrrpSocket,
    ifname: String,
    users: usize,
    counters: SocketCounters,
}

struct Iface {
    mac: [u8; 6],
    na: Option<NaSender>,
}

/// A router's I/O: where its packets and addresses go.
struct Placed {
    spec: RouterSpec,
    link: LinkId,
    ifindex: u32,
    source: IpAddr,
    vmac: Option<VmacLink>,
    routes_on: bool,
    /// Addresses a reconfiguration just dropped (their prefix lengths and
    /// interfaces, for the `RemoveVip`s it causes).
    retired: Vec<VipSpec>,
    counters: RouterCounters,
    send_failing: bool,
    /// The [`tx::TxQueue`] flush in which sending last failed.
    send_failed_in: u64,
    /// The `promote_secondaries` file it holds.
    promoted: Option<String>,
}

/// Runs a [`Node`] on Linux. See the module docs.
pub struct Executor {
    poll: Poll,
    events: Events,
    node: Node,
    nl: Netlink,
    net: NetEvents,
    net_buf: Vec<NetEvent>,
    garp: GarpSender,
    ifaces: HashMap<u32, Iface>,
    /// ifindex -> (name, usable).
    links: HashMap<u32, (String, bool)>,
    /// Index = `LinkId`; token = index + 1.
    socks: Vec<Option<Sock>>,
    placed: RouterMap<Placed>,
    vmacs: VirtualMacs,
    sysctls: crate::sysctl::Sysctls,
    tx: tx::TxQueue,
    rx_batch: Option<Box<RecvBatch>>,
    rx_advert: Advert,
    out: VecDeque<Event>,
    shut_down: bool,
    /// [`Event::AdvertLate`] above this fraction of the interval, in ‰.
    late_warn_permille: u32,
    /// Node actions the timer path left for the next rounds, in order.
    deferred: VecDeque<NodeAction>,
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("routers", &self.node.len())
            .field("sockets", &self.socks.iter().flatten().count())
            .finish()
    }
}

fn io_err(source: std::io::Error) -> Error {
    Error::NetlinkSocket { source }
}

impl Executor {
    /// Opens the netlink handles and the ARP socket, in the calling
    /// thread's network namespace.
    pub fn new() -> Result<Self> {
        let poll = Poll::new().map_err(io_err)?;
        let mut nl = Netlink::new()?;
        let links = nl.links()?;
        let mut net = NetEvents::subscribe(&links)?;
        poll.registry()
            .register(&mut net, NETLINK, Interest::READABLE)
            .map_err(io_err)?;
        Ok(Executor {
            poll,
            events: Events::with_capacity(256),
            node: Node::new(),
            nl,
            net,
            net_buf: Vec::new(),
            garp: GarpSender::new()?,
            ifaces: HashMap::new(),
            links: links
                .iter()
                .map(|l| (l.ifindex, (l.name.clone(), l.is_usable())))
                .collect(),
            socks: Vec::new(),
            placed: RouterMap::new(),
            vmacs: VirtualMacs::new(),
            sysctls: crate::sysctl::Sysctls::default(),
            tx: tx::TxQueue::default(),
            late_warn_permille: DEFAULT_LATE_WARN_PERMILLE,
            deferred: VecDeque::new(),
            rx_batch: Some(Box::default()),
            rx_advert: rx::scratch_advert(),
            out: VecDeque::new(),
            shut_down: false,
        })
    }

    // ----- routers -------------------------------------------------------------

    /// Checks, without changing anything, where a router would run: its
    /// interface, its source address (the interface's primary IPv4 address
    /// or IPv6 link-local address unless [`RouterSpec::source`] fixes it),
    /// and the interfaces of its addresses. `family` is the family of its
    /// virtual addresses.
    pub fn resolve(&mut self, spec: &RouterSpec, family: Family) -> Result<Placement> {
        let index = ifindex(&spec.interface)?;
        for v in &spec.vips {
            if let Some(dev) = &v.interface {
                ifindex(dev)?;
            }
        }
        let ifindex = index;
        let source = match spec.source {
            Some(s) => s,
            None => self.pick_source(ifindex, family, &spec.vip_addrs())?,
        };
        Ok(Placement { ifindex, source })
    }

    fn pick_source(&mut self, ifindex: u32, family: Family, skip: &[IpAddr]) -> Result<IpAddr> {
        let found = match family {
            Family::V4 => self.nl.primary_ipv4(ifindex, skip)?.map(IpAddr::V4),
            Family::V6 => self.nl.ipv6_link_local(ifindex, skip)?.map(IpAddr::V6),
        };
        found.ok_or(Error::NoSourceAddress { ifindex, family })
    }

    /// Adds a router and starts it: resolves its placement (as
    /// [`Executor::resolve`]), fills in the configuration's primary address
    /// with the source, removes addresses of its left by an earlier run,
    /// makes its virtual MAC interface, opens (or shares) its socket.
    pub fn add_router(&mut self, cfg: ConfigBuilder, spec: RouterSpec) -> Result<RouterId> {
        let (family, _) = spec::probe(&cfg)?;
        let at = self.resolve(&spec, family)?;
        let ids = self.add_unit(vec![(cfg, spec, at)], false)?;
        let id = ids.first().copied().ok_or(Error::Unsupported {
            what: "an empty router list",
        })?;
        self.start(id);
        Ok(id)
    }

    /// Adds a sync group of routers and starts it; ids in the order given.
    pub fn add_group(
        &mut self,
        members: Vec<(ConfigBuilder, RouterSpec)>,
    ) -> Result<Vec<RouterId>> {
        let mut placed = Vec::with_capacity(members.len());
        for (cfg, spec) in members {
            let (family, _) = spec::probe(&cfg)?;
            let at = self.resolve(&spec, family)?;
            placed.push((cfg, spec, at));
        }
        let ids = self.add_unit(placed, true)?;
        if let Some(&first) = ids.first() {
            self.start(first);
        }
        Ok(ids)
    }

    /// Adds routers with placements already resolved (see
    /// [`Executor::resolve`]; a caller that resolves everything first
    /// changes nothing on the host when one fails), as a sync group if
    /// `group`, without starting them: inputs given before
    /// [`Executor::start`] (tracked priority, faults) apply from the
    /// start.
    pub fn add_resolved(
        &mut self,
        members: Vec<(ConfigBuilder, RouterSpec, Placement)>,
        group: bool,
    ) -> Result<Vec<RouterId>> {
        self.add_unit(members, group)
    }

    fn add_unit(
        &mut self,
        members: Vec<(ConfigBuilder, RouterSpec, Placement)>,
        group: bool,
    ) -> Result<Vec<RouterId>> {
        let mut built = Vec::with_capacity(members.len());
        let mut made: Vec<Placed> = Vec::with_capacity(members.len());
        for (cfg, spec, at) in members {
            let placed = cfg
                .primary_addr(at.source)
                .build()
                .map_err(|source| Error::Config { source })
                .and_then(|cfg| {
                    let vrid = cfg.vrid();
                    self.place(spec, at, vrid).map(|p| (cfg, p))
                });
            match placed {
                Ok((cfg, p)) => {
                    built.push(cfg);
                    made.push(p);
                }
                Err(e) => {
                    for p in made {
                        self.unplace(&p);
                    }
                    return Err(e);
                }
            }
        }
        let ids = if group {
            let members = made.iter().map(|p| p.link).zip(built).collect();
            match self.node.add_group(members) {
                Ok((_, ids)) => ids,
                Err(_) => {
                    for p in made {
                        self.unplace(&p);
                    }
                    return Err(Error::Unsupported {
                        what: "a sync group with an address owner or no member",
                    });
                }
            }
        } else {
            made.iter()
                .zip(built)
                .map(|(p, cfg)| self.node.add_router(p.link, cfg))
                .collect()
        };
        let now = Instant::now();
        for (id, p) in ids.iter().zip(made) {
            let up = !p.spec.track_link || self.links.get(&p.ifindex).is_some_and(|l| l.1);
            self.placed.insert(*id, p);
            if !up {
                let _ = self.node.set_link_up(now, *id, false);
            }
        }
        self.follow_sources(now, &ids);
        self.drain(now);
        Ok(ids)
    }

    /// Starts a router added with [`Executor::add_resolved`] (with its
    /// sync group).
    pub fn start(&mut self, id: RouterId) {
        self.input(|node, now| {
            let _ = node.start(now, id);
        });
    }

    /// Removes a stopped router with the rest of its sync group: its
    /// socket is closed when no router uses it any more, its virtual MAC
    /// interface deleted.
    pub fn remove(&mut self, id: RouterId) -> std::result::Result<Vec<RouterId>, NodeError> {
        let removed = self.node.remove(id)?;
        for r in &removed {
            if let Some(p) = self.placed.remove(*r) {
                if p.routes_on {
                    self.withdraw_routes(*r, &p);
                }
                self.unplace(&p);
            }
        }
        Ok(removed)
    }

    /// Applies a changed state-machine configuration and placement in
    /// place ([`Node::reconfigure`]): the primary address is kept, so is
    /// the socket; addresses and routes follow the new spec. The caller
    /// must restart a router whose interface, source, mode, virtual MAC,
    /// `promote_secondaries`, `track_source` or family changes instead.
    pub fn reconfigure(
        &mut self,
        id: RouterId,
        cfg: ConfigBuilder,
        spec: RouterSpec,
    ) -> std::result::Result<(), ReconfigureFailed> {
        let now = Instant::now();
        let Some(p) = self.placed.get(id) else {
            return Err(ReconfigureFailed::Node(NodeError::NoSuchRouter));
        };
        let cfg = cfg
            .primary_addr(p.source)
            .build()
            .map_err(ReconfigureFailed::Config)?;
        if p.routes_on && (p.spec.routes != spec.routes || p.spec.rules != spec.rules) {
            if let Some(p) = self.placed.remove(id) {
                self.withdraw_routes(id, &p);
                self.placed.insert(
                    id,
                    Placed {
                        routes_on: false,
                        ..p
                    },
                );
            }
        }
        if let Some(p) = self.placed.get_mut(id) {
            let old = std::mem::replace(&mut p.spec, spec);
            p.retired = old.vips;
        }
        let r = self.node.reconfigure(now, id, cfg);
        self.drain(now);
        if let Some(p) = self.placed.get_mut(id) {
            p.retired.clear();
        }
        // New routes of a router that holds its addresses go in now.
        self.sync_routes(id);
        r.map_err(ReconfigureFailed::Node)
    }

    /// Gives back the spare capacity that adding many routers at once left
    /// in the node's and the executor's tables (they grow by doubling):
    /// call it after a start-up or reload that added routers. Changes no
    /// behaviour.
    pub fn shrink_to_fit(&mut self) {
        self.node.shrink_to_fit();
        self.placed.shrink_to_fit();
        self.socks.shrink_to_fit();
    }

    // ----- observers ----------------------------------------------------------

    /// The node (routers, groups, their states and stats).
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// What the executor counted for a router.
    pub fn counters(&self, id: RouterId) -> Option<RouterCounters> {
        self.placed.get(id).map(|p| p.counters)
    }

    /// Reports [`Event::AdvertLate`] for adverts that leave later than
    /// `permille` thousandths of their router's advert interval after
    /// their deadline (default [`DEFAULT_LATE_WARN_PERMILLE`]; 0 reports
    /// none). Lateness is measured and counted either way
    /// ([`RouterCounters::lateness`]).
    pub fn set_late_warning(&mut self, permille: u32) {
        self.late_warn_permille = permille;
    }

    /// Where a router runs: its interface and source address.
    pub fn placement(&self, id: RouterId) -> Option<Placement> {
        self.placed.get(id).map(|p| Placement {
            ifindex: p.ifindex,
            source: p.source,
        })
    }

    /// The spec a router runs with.
    pub fn spec(&self, id: RouterId) -> Option<&RouterSpec> {
        self.placed.get(id).map(|p| &p.spec)
    }

    /// Whether an interface is usable, by name (as last reported by the
    /// kernel); `None` if there is no such interface.
    pub fn link_up(&self, name: &str) -> Option<bool> {
        self.links.values().find(|(n, _)| n == name).map(|l| l.1)
    }

    // ----- inputs and the loop --------------------------------------------------

    /// Gives the node an input (tracked priority, switchover, maintenance,
    /// stop, …) at the current time, then carries out what it causes.
    pub fn input<R>(&mut self, f: impl FnOnce(&mut Node, Instant) -> R) -> R {
        let now = Instant::now();
        let r = f(&mut self.node, now);
        self.drain(now);
        r
    }

    /// Stops every router ([`Node::stop_all`]); with [`Stop::HandOver`] the
    /// masters hand over first, and [`Executor::all_stopped`] says when
    /// the last one is done.
    pub fn stop_all(&mut self, how: Stop) {
        self.input(|node, now| node.stop_all(now, how));
    }

    /// True when every router has stopped.
    pub fn all_stopped(&self) -> bool {
        self.node.all_stopped()
    }

    /// The next event; `None` when drained.
    pub fn poll_event(&mut self) -> Option<Event> {
        let ev = self.out.pop_front();
        if ev.is_none() && self.out.capacity() > KEEP_EVENTS {
            // A takeover of a thousand routers queues thousands of events;
            // keep the memory of a normal round, not of the burst.
            self.out.shrink_to(KEEP_EVENTS);
        }
        ev
    }

    /// When [`Executor::process`] must run next (besides readiness).
    pub fn poll_timeout(&self) -> Option<Instant> {
        if !self.deferred.is_empty() {
            // Work left from a burst: come back at once.
            return Some(Instant::now());
        }
        self.node.poll_timeout()
    }

    /// Handles whatever is ready (packets, netlink events) and every due
    /// deadline, then sends what that produced. Never blocks.
    pub fn process(&mut self) -> Result<()> {
        self.handle_ready(Some(Duration::ZERO))?;
        self.handle_timers();
        Ok(())
    }

    /// Waits for packets, netlink events or the next deadline (at most
    /// `max_wait`), and handles them: the blocking loop's one round.
    pub fn run_once(&mut self, max_wait: Option<Duration>) -> Result<()> {
        let now = Instant::now();
        let mut wait = self
            .node
            .poll_timeout()
            .map(|d| d.saturating_duration_since(now));
        if let Some(m) = max_wait {
            wait = Some(wait.map_or(m, |w| w.min(m)));
        }
        self.handle_ready(wait)?;
        self.handle_timers();
        Ok(())
    }

    fn handle_ready(&mut self, wait: Option<Duration>) -> Result<()> {
        loop {
            match self.poll.poll(&mut self.events, wait) {
                Ok(()) => break,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io_err(e)),
            }
        }
        let mut tokens = [Token(0); 256];
        let mut n = 0;
        for (slot, ev) in tokens.iter_mut().zip(self.events.iter()) {
            *slot = ev.token();
            n += 1;
        }
        for &t in tokens.get(..n).unwrap_or_default() {
            if t == NETLINK {
                self.on_netlink();
            } else if let Some(i) = t.0.checked_sub(1) {
                self.on_socket(i);
            }
        }
        // Edge-triggered: more events than fit were left for the next call,
        // which the ready file descriptor triggers.
        Ok(())
    }

    fn handle_timers(&mut self) {
        let now = Instant::now();
        if self.node.poll_timeout().is_some_and(|t| t <= now) {
            self.node.handle_timeout(now);
        }
        self.drain_bounded();
        self.flush_tx();
    }

    /// Shuts every router down at once (priority 0 from masters, addresses
    /// and routes removed), deletes the virtual MAC interfaces and
    /// restores their parents' settings. Called by `Drop` too.
    pub fn shutdown(&mut self) {
        if self.shut_down {
            return;
        }
        self.shut_down = true;
        let now = Instant::now();
        self.node.stop_all(now, Stop::Now);
        self.drain(now);
        self.flush_tx();
        let ids: Vec<RouterId> = self.placed.keys().collect();
        for id in ids {
            let _ = self.remove(id);
        }
        for error in self
            .vmacs
            .restore()
            .into_iter()
            .chain(self.sysctls.restore())
        {
            self.out.push_back(Event::Error {
                router: None,
                error,
            });
        }
    }
}

/// Why [`Executor::reconfigure`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReconfigureFailed {
    /// The configuration does not build.
    #[error("invalid router configuration: {0}")]
    Config(vrrp_fsm::ConfigError),
    /// The node refused it (then the router must be restarted instead).
    #[error(transparent)]
    Node(NodeError),
}

impl AsRawFd for Executor {
    /// The executor's own epoll file descriptor: readable when a socket or
    /// the netlink event socket is.
    fn as_raw_fd(&self) -> RawFd {
        self.poll.as_raw_fd()
    }
}

source_by_fd!(Executor);

impl Drop for Executor {
    fn drop(&mut self) {
        self.shutdown();
    }
}
