//! An embeddable driver: runs one or more `vrrp-fsm` routers on netif's
//! sockets with one mio loop, and hands state changes to the caller.
//!
//! ```no_run
//! use std::time::Duration;
//! use netif::driver::{Driver, DriverEvent, RouterOptions};
//! use vrrp_fsm::{Config, State};
//! use vrrp_proto::Version;
//!
//! let mut driver = Driver::new()?;
//! let cfg = Config::builder(51, Version::V3)
//!     .priority(150)
//!     .virtual_addr("192.0.2.100".parse::<std::net::IpAddr>()?);
//! let id = driver.add_router("eth0", cfg, RouterOptions::default())?;
//! loop {
//!     for ev in driver.poll(Some(Duration::from_secs(1)))? {
//!         if let DriverEvent::StateChanged { change, .. } = ev {
//!             println!("now {:?}", change.to);
//!         }
//!     }
//!     let _active = driver.state(id) == Some(State::Master);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! What it does per [`Action`]: adverts go out on the shared
//! [`VrrpSocket`] of the router's interface and family, VIPs are added and
//! removed with [`Netlink`] (with the router's prefix length and label),
//! gratuitous ARP and unsolicited NA carry the interface's MAC. Received
//! adverts are parsed with `vrrp-proto` and handed to every router with the
//! packet's VRID on that socket, with the received TTL. Link down/up events
//! become `interface_down` / `interface_up`; a VIP that someone else removes
//! while the router is master is put back.
//!
//! What it does not do: virtual MAC for IPv6 routers (IPv4 has
//! [`RouterOptions::vmac`]), sync groups, health checks, signals, or
//! threads. Everything runs in the
//! caller's thread and network namespace.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};
use vrrp_fsm::{
    Action, Config, ConfigBuilder, ConfigError, DiscardReason, Mismatch, StateChange, VirtualRouter,
};
use vrrp_proto::{Advert, ChecksumCtx, Packet, V3Ipv4PseudoHeader, Vrid};

use crate::announce::{GarpSender, NaSender};
use crate::error::{Error, Family, Result};
use crate::events::{NetEvent, NetEvents};
use crate::rtnl::{Netlink, ifindex};
use crate::socket::{Mode, VrrpSocket};
use crate::vmac::{VirtualMacs, VmacLink};

const NETLINK: Token = Token(0);

/// Identifies a router added to a [`Driver`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RouterId(usize);

/// How one router's addresses and packets are handled beyond its
/// `vrrp-fsm` configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouterOptions {
    /// Prefix length of the virtual addresses; `None` is /32 or /128.
    pub prefix_len: Option<u8>,
    /// IPv4 address label (must start with the interface name).
    pub label: Option<String>,
    /// Unicast peers instead of multicast (keepalived `unicast_peer`).
    pub unicast_peers: Vec<IpAddr>,
    /// The VRRPv3-over-IPv4 checksum form to send (see
    /// [`V3Ipv4PseudoHeader`]); received adverts are accepted in either form.
    pub v3_ipv4_checksum: V3Ipv4PseudoHeader,
    /// IPv4 only: the name of a macvlan interface (bridge mode) that the
    /// driver creates on the router's interface with the virtual MAC
    /// 00:00:5e:00:01:VRID ([RFC 9568 §7.3]), and removes on shutdown. The
    /// virtual addresses go on it and gratuitous ARP announces the virtual
    /// MAC; adverts still go out of the parent interface, from its primary
    /// address. Like keepalived's `use_vmac`, the driver sets `arp_ignore=1`
    /// on the parent and the macvlan (so that only the macvlan answers ARP
    /// for the virtual addresses, with the virtual MAC) and `arp_announce=2`
    /// on the parent (so that its own ARP requests never name a virtual
    /// address), and restores the parent's values on shutdown.
    ///
    /// [RFC 9568 §7.3]: https://www.rfc-editor.org/rfc/rfc9568#section-7.3
    pub vmac: Option<String>,
}

/// What the driver reports to its caller.
#[derive(Debug)]
#[non_exhaustive]
pub enum DriverEvent {
    /// A router changed state.
    StateChanged {
        /// Which router.
        router: RouterId,
        /// Its VRID.
        vrid: Vrid,
        /// The interface it runs on.
        ifindex: u32,
        /// From, to and why.
        change: StateChange,
    },
    /// A router discarded an advert (RFC 9568 §7.1 "SHOULD log").
    Discarded {
        /// Which router.
        router: RouterId,
        /// The advert's source.
        src: IpAddr,
        /// Why.
        reason: DiscardReason,
    },
    /// An advert disagreed with the configuration but was processed.
    Mismatch {
        /// Which router.
        router: RouterId,
        /// The advert's source.
        src: IpAddr,
        /// What disagreed.
        mismatch: Mismatch,
    },
    /// A virtual address that someone else removed was put back.
    VipRestored {
        /// Which router.
        router: RouterId,
        /// The address.
        addr: IpAddr,
    },
    /// Carrying out an action failed; the router goes on.
    Error {
        /// The router whose action failed, if any.
        router: Option<RouterId>,
        /// What failed.
        error: Error,
    },
}

struct Sock {
    sock: VrrpSocket,
    /// Index into `Driver::ifaces`.
    iface: usize,
}

struct Iface {
    ifindex: u32,
    mac: [u8; 6],
    na: Option<NaSender>,
}

struct Slot {
    router: VirtualRouter,
    sock: usize,
    /// The interface the sockets are on (the parent, with a vmac).
    ifindex: u32,
    /// The interface the virtual addresses go on.
    vip_ifindex: u32,
    vmac: Option<VmacLink>,
    prefix_len: u8,
    label: Option<String>,
    v3_ipv4_checksum: V3Ipv4PseudoHeader,
    stopped: bool,
}

/// Runs `vrrp-fsm` routers on real sockets. See the module docs.
pub struct Driver {
    poll: Poll,
    events: Events,
    nl: Netlink,
    net: NetEvents,
    garp: GarpSender,
    ifaces: Vec<Iface>,
    socks: Vec<Sock>,
    routers: Vec<Slot>,
    by_key: HashMap<(usize, u8), Vec<usize>>,
    buf: Vec<u8>,
    net_buf: Vec<NetEvent>,
    out: Vec<DriverEvent>,
    shut_down: bool,
    /// Virtual MAC interfaces' parent settings, restored on shutdown.
    vmacs: VirtualMacs,
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("routers", &self.routers.len())
            .field("sockets", &self.socks.len())
            .finish()
    }
}

fn io_err(source: std::io::Error) -> Error {
    Error::NetlinkSocket { source }
}

impl Driver {
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
        Ok(Driver {
            poll,
            events: Events::with_capacity(64),
            nl,
            net,
            garp: GarpSender::new()?,
            ifaces: Vec::new(),
            socks: Vec::new(),
            routers: Vec::new(),
            by_key: HashMap::new(),
            buf: vec![0; 65535],
            net_buf: Vec::new(),
            out: Vec::new(),
            shut_down: false,
            vmacs: VirtualMacs::new(),
        })
    }

    /// Adds a router on interface `ifname` and starts it.
    ///
    /// The driver fills in the configuration's primary address from the
    /// interface (its primary IPv4 address, or its IPv6 link-local address,
    /// after the family of the virtual addresses). Virtual addresses of this
    /// router that are already on the interface (left by a crashed earlier
    /// run) are removed first; the router adds them back when it becomes
    /// master.
    pub fn add_router(
        &mut self,
        ifname: &str,
        cfg: ConfigBuilder,
        opts: RouterOptions,
    ) -> Result<RouterId> {
        let idx = ifindex(ifname)?;
        // Probe the family with a throwaway build (the builder has no
        // getters): the primary address only fills in the blank.
        let probe = match cfg.clone().primary_addr(Ipv4Addr::UNSPECIFIED).build() {
            Err(ConfigError::PrimaryFamily) => cfg
                .clone()
                .primary_addr(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1))
                .build(),
            other => other,
        }
        .map_err(|source| Error::Config { source })?;
        let family = match probe.virtual_addrs() {
            vrrp_proto::VirtualAddrs::V4(_) => Family::V4,
            vrrp_proto::VirtualAddrs::V6(_) => Family::V6,
        };
        let vips = vip_list(&probe);
        let primary = self.source_addr(idx, family, &vips)?;
        let cfg = cfg
            .primary_addr(primary)
            .build()
            .map_err(|source| Error::Config { source })?;
        self.add_router_config(idx, cfg, opts)
    }

    /// Adds a router on interface `ifindex` with a complete configuration
    /// (whose primary address must be the interface's primary IPv4 or IPv6
    /// link-local address), and starts it.
    pub fn add_router_config(
        &mut self,
        ifindex: u32,
        cfg: Config,
        opts: RouterOptions,
    ) -> Result<RouterId> {
        let vips = vip_list(&cfg);
        let family = match cfg.virtual_addrs() {
            vrrp_proto::VirtualAddrs::V4(_) => Family::V4,
            vrrp_proto::VirtualAddrs::V6(_) => Family::V6,
        };
        let prefix_len = opts.prefix_len.unwrap_or(match family {
            Family::V4 => 32,
            Family::V6 => 128,
        });
        let mode = if opts.unicast_peers.is_empty() {
            Mode::Multicast
        } else {
            Mode::Unicast(opts.unicast_peers.clone())
        };
        let sock = self.socket_for(ifindex, cfg.primary_addr(), mode)?;
        let vmac = match &opts.vmac {
            Some(name) => Some(self.make_vmac(ifindex, name, cfg.vrid(), family)?),
            None => None,
        };
        let vip_ifindex = vmac.as_ref().map_or(ifindex, |v| v.ifindex);
        // Stale VIPs from an earlier run go; the router re-adds them as master.
        self.nl.remove_stale_vips(ifindex, &vips)?;
        if vip_ifindex != ifindex {
            self.nl.remove_stale_vips(vip_ifindex, &vips)?;
        }
        let usable = self.nl.link(ifindex)?.is_usable();
        let vrid = cfg.vrid().get();
        let mut router = VirtualRouter::new(cfg);
        let now = Instant::now();
        if !usable {
            router.interface_down(now);
        }
        router.startup(now);
        let id = self.routers.len();
        self.routers.push(Slot {
            router,
            sock,
            ifindex,
            vip_ifindex,
            vmac,
            prefix_len,
            label: opts.label,
            v3_ipv4_checksum: opts.v3_ipv4_checksum,
            stopped: false,
        });
        self.by_key.entry((sock, vrid)).or_default().push(id);
        self.drain(id);
        Ok(RouterId(id))
    }

    /// The state of router `id`.
    pub fn state(&self, id: RouterId) -> Option<vrrp_fsm::State> {
        self.routers.get(id.0).map(|s| s.router.state())
    }

    /// The state machine of router `id`, for inputs the driver does not
    /// make itself (tracked priority, switchover, maintenance). Actions it
    /// queues are carried out on the next [`Driver::poll`].
    pub fn router_mut(&mut self, id: RouterId) -> Option<&mut VirtualRouter> {
        self.routers.get_mut(id.0).map(|s| &mut s.router)
    }

    /// Waits for packets, netlink events or the next router deadline (at
    /// most `max_wait`), handles them, and returns what happened.
    pub fn poll(&mut self, max_wait: Option<Duration>) -> Result<Vec<DriverEvent>> {
        // Actions queued through router_mut() since the last call.
        for id in 0..self.routers.len() {
            self.drain(id);
        }
        let now = Instant::now();
        let deadline = self
            .routers
            .iter()
            .filter_map(|s| s.router.poll_timeout())
            .min();
        let mut wait = deadline.map(|d| d.saturating_duration_since(now));
        if let Some(m) = max_wait {
            wait = Some(wait.map_or(m, |w| w.min(m)));
        }
        match self.poll.poll(&mut self.events, wait) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_err(e)),
        }
        let tokens: Vec<Token> = self.events.iter().map(|e| e.token()).collect();
        for t in tokens {
            if t == NETLINK {
                self.handle_netlink();
            } else if let Some(i) = t.0.checked_sub(1) {
                self.handle_socket(i);
            }
        }
        let now = Instant::now();
        for id in 0..self.routers.len() {
            self.routers[id].router.handle_timeout(now);
            self.drain(id);
        }
        Ok(std::mem::take(&mut self.out))
    }

    /// Shuts every router down (a master sends priority 0 and removes its
    /// addresses, RFC 9568 §6.4.3) and returns the last events. Called by
    /// `Drop` too, if not called before.
    pub fn shutdown(&mut self) -> Vec<DriverEvent> {
        if !self.shut_down {
            self.shut_down = true;
            let now = Instant::now();
            for id in 0..self.routers.len() {
                self.routers[id].router.shutdown(now);
                self.drain(id);
                self.routers[id].stopped = true;
                if let Some(v) = self.routers[id].vmac.take() {
                    if let Err(error) = self.vmacs.remove(&mut self.nl, &v) {
                        self.out.push(DriverEvent::Error {
                            router: Some(RouterId(id)),
                            error,
                        });
                    }
                }
            }
            for error in self.vmacs.restore() {
                self.out.push(DriverEvent::Error {
                    router: None,
                    error,
                });
            }
        }
        std::mem::take(&mut self.out)
    }

    /// Creates the macvlan `name` with the virtual MAC on `parent` (see
    /// [`RouterOptions::vmac`] and [`VirtualMacs`]).
    fn make_vmac(
        &mut self,
        parent: u32,
        name: &str,
        vrid: Vrid,
        family: Family,
    ) -> Result<VmacLink> {
        if family == Family::V6 {
            return Err(Error::Unsupported {
                what: "virtual MAC for IPv6 routers in the driver",
            });
        }
        self.vmacs.create(&mut self.nl, parent, name, vrid)
    }

    fn source_addr(&mut self, ifindex: u32, family: Family, vips: &[IpAddr]) -> Result<IpAddr> {
        let a = match family {
            Family::V4 => self.nl.primary_ipv4(ifindex, vips)?.map(IpAddr::V4),
            Family::V6 => self.nl.ipv6_link_local(ifindex, vips)?.map(IpAddr::V6),
        };
        a.ok_or(Error::NoSourceAddress { ifindex, family })
    }

    fn iface_for(&mut self, ifindex: u32) -> Result<usize> {
        if let Some(i) = self.ifaces.iter().position(|f| f.ifindex == ifindex) {
            return Ok(i);
        }
        let link = self.nl.link(ifindex)?;
        self.ifaces.push(Iface {
            ifindex,
            mac: link.mac.unwrap_or([0; 6]),
            na: None,
        });
        Ok(self.ifaces.len() - 1)
    }

    fn socket_for(&mut self, ifindex: u32, src: IpAddr, mode: Mode) -> Result<usize> {
        let family = Family::of(&src);
        if let Some(i) = self.socks.iter().position(|s| {
            s.sock.ifindex() == ifindex && s.sock.family() == family && *s.sock.mode() == mode
        }) {
            return Ok(i);
        }
        let iface = self.iface_for(ifindex)?;
        let mut sock = VrrpSocket::open(ifindex, src, mode)?;
        let i = self.socks.len();
        self.poll
            .registry()
            .register(&mut sock, Token(i + 1), Interest::READABLE)
            .map_err(|source| Error::OpenSocket {
                what: "mio registration",
                ifindex,
                source,
            })?;
        if let IpAddr::V6(ll) = src {
            if self.ifaces[iface].na.is_none() {
                self.ifaces[iface].na = Some(NaSender::open(ifindex, ll)?);
            }
        }
        self.socks.push(Sock { sock, iface });
        Ok(i)
    }

    fn handle_socket(&mut self, i: usize) {
        let Some(s) = self.socks.get_mut(i) else {
            return;
        };
        let mut buf = std::mem::take(&mut self.buf);
        let mut batch = Vec::new();
        loop {
            match s.sock.recv(&mut buf) {
                Ok(Some(r)) => {
                    let ctx = match (r.src, r.dst) {
                        (IpAddr::V4(src), IpAddr::V4(dst)) => ChecksumCtx::ipv4(src, dst),
                        (IpAddr::V6(src), IpAddr::V6(dst)) => ChecksumCtx::ipv6(src, dst),
                        _ => continue,
                    };
                    let Ok(pkt) = Packet::new_checked(r.payload) else {
                        continue;
                    };
                    let vrid = pkt.vrid();
                    if let Ok((adv, _)) = Advert::parse(&pkt, &ctx) {
                        batch.push((vrid, r.src, r.ttl, adv));
                    }
                }
                Ok(None) => break,
                Err(error) => {
                    self.out.push(DriverEvent::Error {
                        router: None,
                        error,
                    });
                    break;
                }
            }
        }
        self.buf = buf;
        let now = Instant::now();
        for (vrid, src, ttl, adv) in batch {
            let ids = self.by_key.get(&(i, vrid)).cloned().unwrap_or_default();
            for id in ids {
                if !self.routers[id].stopped {
                    self.routers[id].router.handle_advert(now, src, ttl, &adv);
                    self.drain(id);
                }
            }
        }
    }

    fn handle_netlink(&mut self) {
        let mut evs = std::mem::take(&mut self.net_buf);
        evs.clear();
        if let Err(error) = self.net.read(&mut evs) {
            self.out.push(DriverEvent::Error {
                router: None,
                error,
            });
        }
        let now = Instant::now();
        for ev in &evs {
            match ev {
                NetEvent::LinkDown(l) => self.for_iface(l.ifindex, |r| r.interface_down(now)),
                NetEvent::LinkUp(l) => self.for_iface(l.ifindex, |r| r.interface_up(now)),
                NetEvent::AddrRemoved(a) => {
                    // A link going down flushes IPv6 addresses; the routers
                    // go to Fault and re-add them when they are master again.
                    if !self.nl.link(a.ifindex).is_ok_and(|l| l.is_usable()) {
                        continue;
                    }
                    for id in 0..self.routers.len() {
                        let s = &self.routers[id];
                        if s.vip_ifindex == a.ifindex
                            && !s.stopped
                            && s.router.holds_vips()
                            && vip_list(s.router.config()).contains(&a.addr)
                        {
                            let (p, l) = (s.prefix_len, s.label.clone());
                            match self.nl.add_addr(a.ifindex, a.addr, p, l.as_deref()) {
                                Ok(_) => self.out.push(DriverEvent::VipRestored {
                                    router: RouterId(id),
                                    addr: a.addr,
                                }),
                                Err(error) => self.out.push(DriverEvent::Error {
                                    router: Some(RouterId(id)),
                                    error,
                                }),
                            }
                        }
                    }
                }
                NetEvent::Overrun => {
                    // Events were lost: re-read the link states.
                    match self.nl.links() {
                        Ok(links) => {
                            for l in links {
                                let up = l.is_usable();
                                self.for_iface(l.ifindex, |r| {
                                    if up {
                                        r.interface_up(now)
                                    } else {
                                        r.interface_down(now)
                                    }
                                });
                            }
                        }
                        Err(error) => self.out.push(DriverEvent::Error {
                            router: None,
                            error,
                        }),
                    }
                }
                _ => {}
            }
        }
        self.net_buf = evs;
    }

    fn for_iface(&mut self, ifindex: u32, mut f: impl FnMut(&mut VirtualRouter)) {
        for id in 0..self.routers.len() {
            if self.routers[id].ifindex == ifindex && !self.routers[id].stopped {
                f(&mut self.routers[id].router);
                self.drain(id);
            }
        }
    }

    /// Carries out every queued action of router `id`, in order.
    fn drain(&mut self, id: usize) {
        while let Some(action) = self.routers[id].router.poll_action() {
            if let Err(error) = self.execute(id, action) {
                self.out.push(DriverEvent::Error {
                    router: Some(RouterId(id)),
                    error,
                });
            }
        }
    }

    fn execute(&mut self, id: usize, action: Action) -> Result<()> {
        let slot = &self.routers[id];
        let ifindex = slot.ifindex;
        let vip_ifindex = slot.vip_ifindex;
        match action {
            Action::SendAdvert(kind) => {
                let s = &self.socks[slot.sock].sock;
                let adv = slot.router.advert(kind);
                let dsts: Vec<IpAddr> = s.destinations().collect();
                // The checksum may cover the destination (pseudo-header), so
                // each destination gets its own encoding.
                for dst in dsts {
                    let bytes = encode(adv, s.source(), dst, slot.v3_ipv4_checksum)?;
                    s.send_to(dst, &bytes)?;
                }
            }
            Action::AddVip(addr) => {
                let (p, l) = (slot.prefix_len, slot.label.clone());
                self.nl.add_addr(vip_ifindex, addr, p, l.as_deref())?;
            }
            Action::RemoveVip(addr) => {
                let p = slot.prefix_len;
                self.nl.del_addr(vip_ifindex, addr, p)?;
            }
            Action::SendGarp(addr) => {
                let iface = self.socks[slot.sock].iface;
                // INTEROP: without a vmac, announce the interface's own MAC,
                // as keepalived does without use_vmac. RFC 9568 §6.4.2
                // (erratum 7949) names the virtual router MAC, but
                // announcing a MAC that no interface answers to would
                // blackhole the VIP; with RouterOptions::vmac the macvlan
                // announces the virtual MAC.
                match &slot.vmac {
                    Some(v) => self.garp.send(v.ifindex, v.mac, addr)?,
                    None => self.garp.send(ifindex, self.ifaces[iface].mac, addr)?,
                }
            }
            Action::SendUnsolicitedNa(addr) => {
                let iface = &self.ifaces[self.socks[slot.sock].iface];
                if let Some(na) = &iface.na {
                    na.send(addr, iface.mac, true)?;
                }
            }
            Action::StateChanged(change) => {
                let vrid = slot.router.config().vrid();
                self.out.push(DriverEvent::StateChanged {
                    router: RouterId(id),
                    vrid,
                    ifindex,
                    change,
                });
            }
            Action::Discarded { src, reason } => self.out.push(DriverEvent::Discarded {
                router: RouterId(id),
                src,
                reason,
            }),
            Action::Mismatch { src, mismatch } => self.out.push(DriverEvent::Mismatch {
                router: RouterId(id),
                src,
                mismatch,
            }),
            _ => {}
        }
        Ok(())
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

fn vip_list(cfg: &Config) -> Vec<IpAddr> {
    match cfg.virtual_addrs() {
        vrrp_proto::VirtualAddrs::V4(v) => v.iter().map(|a| IpAddr::V4(*a)).collect(),
        vrrp_proto::VirtualAddrs::V6(v) => v.iter().map(|a| IpAddr::V6(*a)).collect(),
    }
}

fn encode(adv: &Advert, src: IpAddr, dst: IpAddr, v4mode: V3Ipv4PseudoHeader) -> Result<Vec<u8>> {
    let ctx = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => ChecksumCtx::ipv4(s, d).with_v3_ipv4_emit(v4mode),
        (IpAddr::V6(s), IpAddr::V6(d)) => ChecksumCtx::ipv6(s, d),
        _ => ChecksumCtx::ipv6(Ipv6Addr::UNSPECIFIED, Ipv6Addr::UNSPECIFIED),
    };
    adv.to_bytes(&ctx).map_err(|source| Error::Emit {
        what: "VRRP advertisement",
        source,
    })
}
