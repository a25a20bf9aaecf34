//! The executor's sockets: one per (interface, source, mode), shared by
//! the routers on it, and what it knows of their interfaces (MAC, NA
//! sender); stale addresses of an earlier run.

use std::net::IpAddr;

use mio::{Interest, Token};
use vrrp_fsm::LinkId;

use super::{Event, Executor, Iface, Placement, RouterSpec, Sock, SocketCounters, SocketInfo};
use crate::announce::NaSender;
use crate::error::{Error, Result};
use crate::socket::{Mode, VrrpSocket};

impl Executor {
    pub(super) fn open_sock(&mut self, spec: &RouterSpec, at: Placement) -> Result<LinkId> {
        let mode = spec.mode();
        let found = self.socks.iter().position(|s| {
            s.as_ref().is_some_and(|s| {
                s.sock.ifindex() == at.ifindex
                    && s.sock.source() == at.source
                    && *s.sock.mode() == mode
            })
        });
        if let Some(i) = found {
            return Ok(LinkId(u32::try_from(i).unwrap_or(u32::MAX)));
        }
        let mut sock = VrrpSocket::open(at.ifindex, at.source, mode)?;
        let i = match self.socks.iter().position(Option::is_none) {
            Some(i) => i,
            None => {
                self.socks.push(None);
                self.socks.len() - 1
            }
        };
        self.poll
            .registry()
            .register(&mut sock, Token(i + 1), Interest::READABLE)
            .map_err(|source| Error::OpenSocket {
                what: "mio registration",
                ifindex: at.ifindex,
                source,
            })?;
        self.learn_iface(at.ifindex, Some(at.source));
        self.socks[i] = Some(Sock {
            sock,
            ifname: spec.interface.clone(),
            users: 0,
            counters: SocketCounters::default(),
        });
        Ok(LinkId(u32::try_from(i).unwrap_or(u32::MAX)))
    }

    /// Learns an interface's MAC and, given an IPv6 link-local address,
    /// opens its neighbour advertisement sender.
    pub(super) fn learn_iface(&mut self, ifindex: u32, ll: Option<IpAddr>) {
        if !self.ifaces.contains_key(&ifindex) {
            let mac = self.nl.mac(ifindex).ok().flatten().unwrap_or([0; 6]);
            self.ifaces.insert(ifindex, Iface { mac, na: None });
        }
        if let (Some(IpAddr::V6(ll)), Some(iface)) = (ll, self.ifaces.get_mut(&ifindex)) {
            if iface.na.is_none() {
                match NaSender::open(ifindex, ll) {
                    Ok(na) => iface.na = Some(na),
                    Err(error) => self.out.push_back(Event::Error {
                        router: None,
                        error,
                    }),
                }
            }
        }
    }

    pub(super) fn release_sock(&mut self, link: LinkId) {
        let i = link.0 as usize;
        let gone = match self.socks.get_mut(i).and_then(Option::as_mut) {
            Some(s) => {
                s.users = s.users.saturating_sub(1);
                s.users == 0
            }
            None => false,
        };
        if gone {
            if let Some(mut s) = self.socks.get_mut(i).and_then(Option::take) {
                let _ = self.poll.registry().deregister(&mut s.sock);
            }
        }
    }

    /// Removes addresses of the router that an earlier run left behind, on
    /// its interface and on the interfaces of its own addresses; learns
    /// those interfaces' MACs (and NA senders) for announcements.
    pub(super) fn remove_stale(&mut self, spec: &RouterSpec, ifindex: u32) {
        let mut targets = vec![(ifindex, spec.vip_addrs())];
        let mut devs: Vec<&str> = spec
            .vips
            .iter()
            .filter_map(|v| v.interface.as_deref())
            .collect();
        devs.sort_unstable();
        devs.dedup();
        for dev in devs {
            let Ok(i) = crate::rtnl::ifindex(dev) else {
                continue;
            };
            let here = spec
                .vips
                .iter()
                .filter(|v| v.interface.as_deref() == Some(dev))
                .map(|v| v.addr)
                .collect::<Vec<_>>();
            let ll = if here.iter().any(IpAddr::is_ipv6) {
                self.nl
                    .ipv6_link_local(i, &here)
                    .ok()
                    .flatten()
                    .map(IpAddr::V6)
            } else {
                None
            };
            self.learn_iface(i, ll);
            targets.push((i, here));
        }
        for (i, addrs) in targets {
            match self.nl.remove_stale_vips(i, &addrs) {
                Ok(gone) => {
                    for a in gone {
                        self.out.push_back(Event::StaleVipRemoved {
                            ifindex: i,
                            addr: a.addr,
                            prefix_len: a.prefix_len,
                        });
                    }
                }
                Err(error) => self.out.push_back(Event::Error {
                    router: None,
                    error,
                }),
            }
        }
    }

    /// Every socket with its counters.
    pub fn sockets(&self) -> Vec<SocketInfo> {
        self.socks
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let s = s.as_ref()?;
                Some(SocketInfo {
                    link: LinkId(u32::try_from(i).ok()?),
                    interface: s.ifname.clone(),
                    source: s.sock.source(),
                    unicast: matches!(s.sock.mode(), Mode::Unicast(_)),
                    counters: s.counters.clone(),
                    stats: s.sock.stats(),
                })
            })
            .collect()
    }
}
