//! Raw IP protocol 112 sockets that carry VRRP advertisements.
//!
//! One [`VrrpSocket`] serves one interface and one address family, for every
//! virtual router on that interface: [`VrrpSocket::recv`] returns
//! `(ifindex, src, dst, ttl, payload)` and the caller demultiplexes by VRID.
//! [`VrrpSocket::recv_batch`] and [`VrrpSocket::send_batch`] do the same 32
//! datagrams per system call (`recvmmsg` / `sendmmsg`), for hosts that run
//! hundreds of instances per interface.
//!
//! What the socket does for the RFC rules:
//! - joins 224.0.0.18 / ff02::12 on its interface only ([RFC 9568 §5.1.1.2],
//!   §5.1.2.2), unless it runs in unicast mode;
//! - sends with TTL / hop limit 255 ([RFC 9568 §5.1.1.3], §5.1.2.3) from the
//!   interface's primary IPv4 address or IPv6 link-local address
//!   ([RFC 9568 §5.1.1.1], §5.1.2.1), chosen per packet with
//!   `IP_PKTINFO` / `IPV6_PKTINFO`;
//! - reports the received TTL / hop limit, so that the caller can discard
//!   anything but 255 ([RFC 9568 §7.1]);
//! - lets the kernel compute and verify the IPv6 checksum
//!   (`IPV6_CHECKSUM`, offset 6); IPv4 checksums are the codec's job;
//! - is bound to its device (`SO_BINDTODEVICE`), has multicast loopback
//!   off, is non-blocking, and has a receive buffer of [`RECV_BUFFER`]
//!   bytes, enough for a burst of adverts for every VRID.
//!
//! [RFC 9568 §5.1.1.1]: https://www.rfc-editor.org/rfc/rfc9568#section-5.1.1.1
//! [RFC 9568 §5.1.1.2]: https://www.rfc-editor.org/rfc/rfc9568#section-5.1.1.2
//! [RFC 9568 §5.1.1.3]: https://www.rfc-editor.org/rfc/rfc9568#section-5.1.1.3
//! [RFC 9568 §5.1.2.1]: https://www.rfc-editor.org/rfc/rfc9568#section-5.1.2.1
//! [RFC 9568 §7.1]: https://www.rfc-editor.org/rfc/rfc9568#section-7.1

use std::io::{self, IoSlice, IoSliceMut};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, RawFd};

use nix::sys::socket::{
    ControlMessage, ControlMessageOwned, MsgFlags, SockaddrIn, SockaddrIn6, SockaddrStorage,
    recvmsg, sendmsg, setsockopt as nix_setsockopt, sockopt,
};
use socket2::{Domain, Protocol, Socket, Type};

use crate::error::{Error, Family, Result};
use crate::sys;

mod batch;
use batch::Item;
pub use batch::RecvBatch;

/// IANA protocol number of VRRP ([RFC 9568 §5.1.1.4]).
///
/// [RFC 9568 §5.1.1.4]: https://www.rfc-editor.org/rfc/rfc9568#section-5.1.1.4
pub const IPPROTO_VRRP: i32 = 112;
/// The IPv4 multicast group of VRRP, 224.0.0.18 ([RFC 9568 §5.1.1.2]).
///
/// [RFC 9568 §5.1.1.2]: https://www.rfc-editor.org/rfc/rfc9568#section-5.1.1.2
pub const VRRP_GROUP_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// The IPv6 multicast group of VRRP, ff02::12 ([RFC 9568 §5.1.2.2]).
///
/// [RFC 9568 §5.1.2.2]: https://www.rfc-editor.org/rfc/rfc9568#section-5.1.2.2
pub const VRRP_GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
/// The TTL / hop limit VRRP sends with and requires on receipt
/// ([RFC 9568 §5.1.1.3], §5.1.2.3, §7.1).
///
/// [RFC 9568 §5.1.1.3]: https://www.rfc-editor.org/rfc/rfc9568#section-5.1.1.3
pub const VRRP_TTL: u8 = 255;
/// Offset of the checksum in the VRRP header, for `IPV6_CHECKSUM`.
const VRRP_CHECKSUM_OFFSET: i32 = 6;

/// The receive buffer a [`VrrpSocket`] asks for: room for a burst of
/// several peers' adverts for all 255 VRIDs (the kernel doubles the value
/// for its own bookkeeping; memory is only used while datagrams queue).
pub const RECV_BUFFER: libc::c_int = 2 << 20;

/// Where advertisements go and whom they are accepted from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Mode {
    /// Send to the VRRP group, receive from anyone on the link (the RFC).
    #[default]
    Multicast,
    /// Send a copy to each peer and accept only packets from them
    /// (keepalived's `unicast_peer`, for networks without multicast).
    /// The multicast group is not joined.
    Unicast(Vec<IpAddr>),
}

/// One received datagram, borrowed from the caller's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received<'a> {
    /// The interface it arrived on.
    pub ifindex: u32,
    /// The sender's address.
    pub src: IpAddr,
    /// The destination address (the group, or ours in unicast mode).
    pub dst: IpAddr,
    /// The IPv4 TTL or IPv6 hop limit it arrived with; 0 if the kernel did
    /// not report it. Anything but [`VRRP_TTL`] must be discarded
    /// ([RFC 9568 §7.1]).
    ///
    /// [RFC 9568 §7.1]: https://www.rfc-editor.org/rfc/rfc9568#section-7.1
    pub ttl: u8,
    /// The VRRP message (the IPv4 header is stripped).
    pub payload: &'a [u8],
}

/// Counters of datagrams the socket read and did not return.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SocketStats {
    /// IPv4 datagrams with a malformed IP header.
    pub bad_ip_header: u64,
    /// Datagrams larger than the caller's buffer.
    pub truncated: u64,
    /// Unicast mode: datagrams from an address that is not a peer.
    pub not_from_peer: u64,
}

/// A raw protocol-112 socket for one interface and one address family.
#[derive(Debug)]
pub struct VrrpSocket {
    sock: Socket,
    ifindex: u32,
    family: Family,
    src: IpAddr,
    mode: Mode,
    cmsg: Vec<u8>,
    stats: SocketStats,
}

impl VrrpSocket {
    /// Opens the socket for interface `ifindex`, sending from `src` (the
    /// interface's primary IPv4 address or its IPv6 link-local address; the
    /// family of `src` picks the family of the socket).
    ///
    /// The socket is non-blocking; register it with mio and call
    /// [`VrrpSocket::recv`] until it returns `Ok(None)`.
    pub fn open(ifindex: u32, src: IpAddr, mode: Mode) -> Result<Self> {
        let family = Family::of(&src);
        let open_err = |source| Error::OpenSocket {
            what: "VRRP raw",
            ifindex,
            source,
        };
        let opt = |option| opt(option, ifindex);
        if let Mode::Unicast(peers) = &mode {
            if let Some(&peer) = peers.iter().find(|p| Family::of(p) != family) {
                return Err(Error::PeerFamily { ifindex, peer });
            }
        }
        let domain = match family {
            Family::V4 => Domain::IPV4,
            Family::V6 => Domain::IPV6,
        };
        let sock = Socket::new(
            domain,
            Type::RAW.nonblocking().cloexec(),
            Some(Protocol::from(IPPROTO_VRRP)),
        )
        .map_err(open_err)?;
        let fd = sock.as_raw_fd();
        let idx = i32::try_from(ifindex)
            .map_err(|_| open_err(io::Error::from_raw_os_error(libc::ENODEV)))?;
        sys::bind_to_device(&sock, ifindex).map_err(opt("SO_BINDTODEVICE"))?;
        // One socket carries every VRID of its interface: a peer that
        // starts, stops or takes over sends one advert per VRID at once
        // (255 per interface and family), which overflows the default
        // buffer. SO_RCVBUFFORCE passes net.core.rmem_max with
        // CAP_NET_ADMIN; without it, SO_RCVBUF gets what the limit allows.
        if sys::setsockopt(fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, &RECV_BUFFER).is_err() {
            sock.set_recv_buffer_size(RECV_BUFFER as usize)
                .map_err(opt("SO_RCVBUF"))?;
        }
        let multicast = matches!(mode, Mode::Multicast);
        match src {
            IpAddr::V4(src4) => set_up_v4(&sock, src4, idx, multicast, ifindex)?,
            IpAddr::V6(_) => set_up_v6(&sock, multicast, ifindex)?,
        }
        let cmsg = nix::cmsg_space!(libc::in6_pktinfo, libc::c_int, libc::in_pktinfo);
        Ok(VrrpSocket {
            sock,
            ifindex,
            family,
            src,
            mode,
            cmsg,
            stats: SocketStats::default(),
        })
    }

    /// The interface this socket serves.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// The address family of this socket.
    pub fn family(&self) -> Family {
        self.family
    }

    /// The source address packets are sent from.
    pub fn source(&self) -> IpAddr {
        self.src
    }

    /// Changes the source address (e.g. after the primary address changed).
    /// The family must stay the same.
    pub fn set_source(&mut self, src: IpAddr) -> Result<()> {
        if Family::of(&src) != self.family {
            return Err(Error::NoSourceAddress {
                ifindex: self.ifindex,
                family: self.family,
            });
        }
        self.src = src;
        Ok(())
    }

    /// The socket's mode.
    pub fn mode(&self) -> &Mode {
        &self.mode
    }

    /// Datagrams read but not returned, by reason.
    pub fn stats(&self) -> SocketStats {
        self.stats
    }

    /// Where [`VrrpSocket::send`] sends: the group in multicast mode, every
    /// peer in unicast mode.
    pub fn destinations(&self) -> impl Iterator<Item = IpAddr> + '_ {
        let group = match (&self.mode, self.family) {
            (Mode::Multicast, Family::V4) => Some(IpAddr::V4(VRRP_GROUP_V4)),
            (Mode::Multicast, Family::V6) => Some(IpAddr::V6(VRRP_GROUP_V6)),
            (Mode::Unicast(_), _) => None,
        };
        let peers = match &self.mode {
            Mode::Unicast(p) => p.as_slice(),
            Mode::Multicast => &[],
        };
        group.into_iter().chain(peers.iter().copied())
    }

    /// Sends one VRRP message (`payload` starts at the VRRP header) to every
    /// [`destination`](VrrpSocket::destinations), trying all of them and
    /// returning the first error.
    ///
    /// The VRRPv3-over-IPv4 checksum may cover the destination address (the
    /// pseudo-header, see `vrrp_proto::V3Ipv4PseudoHeader`): with more than
    /// one unicast peer, encode per destination and use
    /// [`VrrpSocket::send_to`]. IPv6 checksums are the kernel's, so one
    /// payload serves every destination.
    pub fn send(&self, payload: &[u8]) -> Result<()> {
        let mut first_err = None;
        for dst in self.destinations() {
            if let Err(e) = self.send_to(dst, payload) {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// Sends one VRRP message to `dst` with TTL / hop limit 255, from the
    /// configured source address, out of this socket's interface.
    pub fn send_to(&self, dst: IpAddr, payload: &[u8]) -> Result<()> {
        let err = |source| Error::Send {
            ifindex: self.ifindex,
            dst,
            source,
        };
        let fd = self.sock.as_raw_fd();
        let iov = [IoSlice::new(payload)];
        let r = match (self.src, dst) {
            (IpAddr::V4(src), IpAddr::V4(d)) => {
                let info = libc::in_pktinfo {
                    ipi_ifindex: i32::try_from(self.ifindex).unwrap_or(0),
                    ipi_spec_dst: libc::in_addr {
                        s_addr: u32::from_ne_bytes(src.octets()),
                    },
                    ipi_addr: libc::in_addr { s_addr: 0 },
                };
                let cm = [ControlMessage::Ipv4PacketInfo(&info)];
                let to = SockaddrIn::from(SocketAddrV4::new(d, 0));
                sendmsg(fd, &iov, &cm, MsgFlags::MSG_DONTWAIT, Some(&to))
            }
            (IpAddr::V6(src), IpAddr::V6(d)) => {
                let info = libc::in6_pktinfo {
                    ipi6_addr: libc::in6_addr {
                        s6_addr: src.octets(),
                    },
                    ipi6_ifindex: self.ifindex,
                };
                let cm = [ControlMessage::Ipv6PacketInfo(&info)];
                let scope = if needs_scope(&d) { self.ifindex } else { 0 };
                let to = SockaddrIn6::from(SocketAddrV6::new(d, 0, 0, scope));
                sendmsg(fd, &iov, &cm, MsgFlags::MSG_DONTWAIT, Some(&to))
            }
            _ => return Err(err(io::Error::from_raw_os_error(libc::EAFNOSUPPORT))),
        };
        r.map(|_| ()).map_err(|e| err(e.into()))
    }

    /// Reads the next datagram into `buf`. Returns `Ok(None)` when nothing
    /// is pending (the socket would block). Datagrams that cannot be VRRP
    /// (malformed IPv4 header, truncated, or from a non-peer in unicast
    /// mode) are skipped and counted in [`VrrpSocket::stats`].
    ///
    /// `buf` should hold the largest datagram the link carries (e.g. 1500
    /// bytes, or 65535 to be safe).
    pub fn recv<'b>(&mut self, buf: &'b mut [u8]) -> Result<Option<Received<'b>>> {
        let (start, end, src, dst, ttl, ifindex) = loop {
            match self.recv_one(buf)? {
                None => return Ok(None),
                Some(meta) => {
                    if let Some(ok) = self.admit(meta) {
                        break ok;
                    }
                }
            }
        };
        Ok(Some(Received {
            ifindex,
            src,
            dst,
            ttl,
            payload: &buf[start..end],
        }))
    }

    fn recv_one(&mut self, buf: &mut [u8]) -> Result<Option<Meta>> {
        let fd = self.sock.as_raw_fd();
        let ifindex = self.ifindex;
        let family = self.family;
        let cap = buf.len();
        let (len, truncated, ttl, dst, rx_ifindex, src) = {
            let mut iov = [IoSliceMut::new(buf)];
            let msg = match recvmsg::<SockaddrStorage>(
                fd,
                &mut iov,
                Some(&mut self.cmsg),
                MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_TRUNC,
            ) {
                Ok(m) => m,
                Err(nix::errno::Errno::EAGAIN) => return Ok(None),
                Err(nix::errno::Errno::EINTR) => return Ok(Some(Meta::Skip)),
                Err(e) => {
                    return Err(Error::Recv {
                        ifindex,
                        source: e.into(),
                    });
                }
            };
            let truncated = msg.flags.contains(MsgFlags::MSG_TRUNC) || msg.bytes > cap;
            let mut ttl = 0u8;
            let mut dst = None;
            let mut rx_ifindex = ifindex;
            if let Ok(cmsgs) = msg.cmsgs() {
                for c in cmsgs {
                    match c {
                        ControlMessageOwned::Ipv6HopLimit(h) => ttl = u8::try_from(h).unwrap_or(0),
                        ControlMessageOwned::Ipv6PacketInfo(i) => {
                            dst = Some(IpAddr::V6(Ipv6Addr::from(i.ipi6_addr.s6_addr)));
                            rx_ifindex = i.ipi6_ifindex;
                        }
                        ControlMessageOwned::Ipv4PacketInfo(i) => {
                            rx_ifindex = u32::try_from(i.ipi_ifindex).unwrap_or(ifindex);
                        }
                        _ => {}
                    }
                }
            }
            let src = msg.address.as_ref().and_then(|a| match family {
                Family::V4 => a.as_sockaddr_in().map(|s| IpAddr::V4(s.ip())),
                Family::V6 => a.as_sockaddr_in6().map(|s| IpAddr::V6(s.ip())),
            });
            (msg.bytes, truncated, ttl, dst, rx_ifindex, src)
        };
        let raw = sys::RecvMeta {
            len,
            truncated,
            src,
            hop_limit: Some(ttl),
            dst6: match dst {
                Some(IpAddr::V6(d)) => Some(d),
                _ => None,
            },
            ifindex: Some(rx_ifindex),
        };
        Ok(Some(self.classify(buf, &raw)))
    }

    /// Turns what the kernel said about one datagram in `buf` into a
    /// [`Meta`], counting what cannot be VRRP.
    fn classify(&mut self, buf: &[u8], m: &sys::RecvMeta) -> Meta {
        if m.truncated {
            self.stats.truncated += 1;
            return Meta::Skip;
        }
        let rx_ifindex = m.ifindex.unwrap_or(self.ifindex);
        let Some(bytes) = buf.get(..m.len) else {
            self.stats.truncated += 1;
            return Meta::Skip;
        };
        match self.family {
            // IPv4 raw sockets deliver the IP header: validate it, take
            // the addresses and TTL from it, and strip it.
            Family::V4 => match vrrp_proto::ip::Ipv4Datagram::parse(bytes) {
                Ok(d) => Meta::Ok {
                    start: d.header_len,
                    end: d.header_len + d.payload.len(),
                    src: IpAddr::V4(d.src),
                    dst: IpAddr::V4(d.dst),
                    ttl: d.ttl,
                    ifindex: rx_ifindex,
                },
                Err(_) => {
                    self.stats.bad_ip_header += 1;
                    Meta::Skip
                }
            },
            Family::V6 => match (m.src, m.dst6) {
                (Some(src @ IpAddr::V6(_)), Some(dst)) => Meta::Ok {
                    start: 0,
                    end: m.len,
                    src,
                    dst: IpAddr::V6(dst),
                    ttl: m.hop_limit.unwrap_or(0),
                    ifindex: rx_ifindex,
                },
                _ => Meta::Skip,
            },
        }
    }

    /// Applies the unicast peer filter to a classified datagram.
    fn admit(&mut self, meta: Meta) -> Option<(usize, usize, IpAddr, IpAddr, u8, u32)> {
        let Meta::Ok {
            start,
            end,
            src,
            dst,
            ttl,
            ifindex,
        } = meta
        else {
            return None;
        };
        if let Mode::Unicast(peers) = &self.mode {
            if !peers.contains(&src) {
                self.stats.not_from_peer += 1;
                return None;
            }
        }
        Some((start, end, src, dst, ttl, ifindex))
    }

    /// Reads up to 32 pending datagrams with one `recvmmsg` call into
    /// `batch`, replacing what it held. Returns how many datagrams were
    /// read, including those skipped and counted as for
    /// [`VrrpSocket::recv`]; 0 when nothing is pending. A return of
    /// [`RecvBatch::CAPACITY`] means more may be waiting.
    pub fn recv_batch(&mut self, batch: &mut RecvBatch) -> Result<usize> {
        batch.items.clear();
        let fd = self.sock.as_raw_fd();
        let n = sys::recvmmsg(fd, &mut batch.data, batch.slot, &mut batch.meta).map_err(|e| {
            Error::Recv {
                ifindex: self.ifindex,
                source: e,
            }
        })?;
        for i in 0..n {
            let off = i * batch.slot;
            let Some(slot) = batch.data.get(off..off + batch.slot) else {
                break;
            };
            let meta = self.classify(slot, &batch.meta[i]);
            if let Some((start, end, src, dst, ttl, ifindex)) = self.admit(meta) {
                batch.items.push(Item {
                    start: off + start,
                    end: off + end,
                    src,
                    dst,
                    ttl,
                    ifindex,
                });
            }
        }
        Ok(n)
    }

    /// Sends several VRRP messages with one `sendmmsg` call per 32, each
    /// as [`VrrpSocket::send_to`] would. `on_error(i, e)` is called for each
    /// message `msgs[i]` the kernel refused; the others are still sent.
    /// Returns how many were sent.
    pub fn send_batch(
        &self,
        msgs: &[(IpAddr, &[u8])],
        mut on_error: impl FnMut(usize, Error),
    ) -> usize {
        let fd = self.sock.as_raw_fd();
        let blank = sys::SendItem {
            dst: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            scope: 0,
            payload: &[],
        };
        let mut items = [blank; sys::MMSG_MAX];
        let mut sent = 0;
        let mut i = 0;
        while let Some(&(first_dst, _)) = msgs.get(i) {
            // Fill from msgs[i..]; a destination of the wrong family ends
            // the call and is reported when it comes first.
            let mut k = 0;
            for &(dst, payload) in msgs[i..].iter().take(sys::MMSG_MAX) {
                if Family::of(&dst) != self.family {
                    break;
                }
                let scope = match dst {
                    IpAddr::V6(d) if needs_scope(&d) => self.ifindex,
                    _ => 0,
                };
                items[k] = sys::SendItem {
                    dst,
                    scope,
                    payload,
                };
                k += 1;
            }
            let result = if k == 0 {
                Err(io::Error::from_raw_os_error(libc::EAFNOSUPPORT))
            } else {
                sys::sendmmsg(fd, self.src, self.ifindex, &items[..k])
            };
            match result {
                Ok(n) if n > 0 => {
                    sent += n;
                    i += n;
                }
                // The kernel reports the error of the first message of a
                // call; the next call starts after it.
                other => {
                    let source = other
                        .err()
                        .unwrap_or_else(|| io::Error::from_raw_os_error(libc::EIO));
                    on_error(
                        i,
                        Error::Send {
                            ifindex: self.ifindex,
                            dst: first_dst,
                            source,
                        },
                    );
                    i += 1;
                }
            }
        }
        sent
    }
}

enum Meta {
    Skip,
    Ok {
        start: usize,
        end: usize,
        src: IpAddr,
        dst: IpAddr,
        ttl: u8,
        ifindex: u32,
    },
}
/// The error of setting socket option `option` on `ifindex`'s socket.
fn opt(option: &'static str, ifindex: u32) -> impl Fn(io::Error) -> Error {
    move |source| Error::SetSockOpt {
        option,
        ifindex,
        source,
    }
}

/// IPv4 options: TTL 255 (RFC 9568 §5.1.1.3), sent from `src4` on
/// interface `idx`, packet info on receive, and the group if `multicast`.
fn set_up_v4(sock: &Socket, src4: Ipv4Addr, idx: i32, multicast: bool, ifindex: u32) -> Result<()> {
    let fd = sock.as_raw_fd();
    let opt = |option| opt(option, ifindex);
    sock.set_ttl_v4(u32::from(VRRP_TTL))
        .map_err(opt("IP_TTL"))?;
    sock.set_multicast_ttl_v4(u32::from(VRRP_TTL))
        .map_err(opt("IP_MULTICAST_TTL"))?;
    sock.set_multicast_loop_v4(false)
        .map_err(opt("IP_MULTICAST_LOOP"))?;
    let mif = mreqn(Ipv4Addr::UNSPECIFIED, src4, idx);
    sys::setsockopt(fd, libc::IPPROTO_IP, libc::IP_MULTICAST_IF, &mif)
        .map_err(opt("IP_MULTICAST_IF"))?;
    nix_setsockopt(sock, sockopt::Ipv4PacketInfo, &true)
        .map_err(|e| opt("IP_PKTINFO")(e.into()))?;
    if multicast {
        // ip_mreqn with the ifindex: the group is joined on this
        // interface only (RFC 9568 §5.1.1.2).
        let m = mreqn(VRRP_GROUP_V4, Ipv4Addr::UNSPECIFIED, idx);
        sys::setsockopt(fd, libc::IPPROTO_IP, libc::IP_ADD_MEMBERSHIP, &m)
            .map_err(opt("IP_ADD_MEMBERSHIP"))?;
    }
    Ok(())
}

/// IPv6 options: hop limit 255 (RFC 9568 §5.1.2.3), the interface, packet
/// info and hop limit on receive, the kernel's checksum, and the group if
/// `multicast`.
fn set_up_v6(sock: &Socket, multicast: bool, ifindex: u32) -> Result<()> {
    let fd = sock.as_raw_fd();
    let opt = |option| opt(option, ifindex);
    sock.set_unicast_hops_v6(u32::from(VRRP_TTL))
        .map_err(opt("IPV6_UNICAST_HOPS"))?;
    sock.set_multicast_hops_v6(u32::from(VRRP_TTL))
        .map_err(opt("IPV6_MULTICAST_HOPS"))?;
    sock.set_multicast_loop_v6(false)
        .map_err(opt("IPV6_MULTICAST_LOOP"))?;
    sock.set_multicast_if_v6(ifindex)
        .map_err(opt("IPV6_MULTICAST_IF"))?;
    sock.set_recv_hoplimit_v6(true)
        .map_err(opt("IPV6_RECVHOPLIMIT"))?;
    nix_setsockopt(sock, sockopt::Ipv6RecvPacketInfo, &true)
        .map_err(|e| opt("IPV6_RECVPKTINFO")(e.into()))?;
    // The kernel computes the checksum (with the IPv6 pseudo
    // header, RFC 9568 §5.2.8) on send and drops bad ones on
    // receive.
    sys::setsockopt(
        fd,
        libc::IPPROTO_IPV6,
        libc::IPV6_CHECKSUM,
        &VRRP_CHECKSUM_OFFSET,
    )
    .map_err(opt("IPV6_CHECKSUM"))?;
    if multicast {
        sock.join_multicast_v6(&VRRP_GROUP_V6, ifindex)
            .map_err(opt("IPV6_JOIN_GROUP"))?;
    }
    Ok(())
}

fn mreqn(group: Ipv4Addr, addr: Ipv4Addr, ifindex: i32) -> libc::ip_mreqn {
    libc::ip_mreqn {
        imr_multiaddr: libc::in_addr {
            s_addr: u32::from_ne_bytes(group.octets()),
        },
        imr_address: libc::in_addr {
            s_addr: u32::from_ne_bytes(addr.octets()),
        },
        imr_ifindex: ifindex,
    }
}

/// True for IPv6 destinations that need a scope id (link-local unicast and
/// link- or interface-local multicast).
pub(crate) fn needs_scope(a: &Ipv6Addr) -> bool {
    crate::rtnl::is_link_local(a) || (a.is_multicast() && matches!(a.segments()[0] & 0x000f, 1 | 2))
}

impl AsRawFd for VrrpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

source_by_fd!(VrrpSocket);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_is_needed_for_link_scoped_destinations() {
        assert!(needs_scope(&VRRP_GROUP_V6));
        assert!(needs_scope(&"ff02::1".parse().unwrap()));
        assert!(needs_scope(&"fe80::1".parse().unwrap()));
        assert!(!needs_scope(&"fd00:99::1".parse().unwrap()));
        assert!(!needs_scope(&"ff05::1".parse().unwrap()));
    }
}
