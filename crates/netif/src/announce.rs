//! Announcing that this router now holds the virtual addresses: gratuitous
//! ARP for IPv4 ([RFC 9568 §6.4.1] (3)), unsolicited neighbour
//! advertisements for IPv6 ([RFC 9568 §6.4.1] (4), [RFC 4861 §7.2.6]).
//!
//! The frames themselves come from `vrrp-proto`'s builders; this module only
//! opens the sockets and sends the bytes.
//!
//! [RFC 9568 §6.4.1]: https://www.rfc-editor.org/rfc/rfc9568#section-6.4.1
//! [RFC 4861 §7.2.6]: https://www.rfc-editor.org/rfc/rfc4861#section-7.2.6

use std::io::{self, IoSlice};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV6};
use std::os::fd::AsRawFd;

use nix::sys::socket::{ControlMessage, MsgFlags, SockaddrIn6, sendmsg};
use socket2::{Domain, Protocol, Socket, Type};

use crate::error::{Error, Result};
use crate::sys;

/// `ETH_P_ARP`.
const ETH_P_ARP: u16 = 0x0806;
/// `ICMP6_FILTER` (from `<netinet/icmp6.h>`), at level `IPPROTO_ICMPV6`.
const ICMP6_FILTER: i32 = 1;
/// All-nodes multicast, where unsolicited NAs go ([RFC 4861 §7.2.6]).
///
/// [RFC 4861 §7.2.6]: https://www.rfc-editor.org/rfc/rfc4861#section-7.2.6
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// A send-only `AF_PACKET` socket for gratuitous ARP.
///
/// It is opened with protocol 0, so the kernel delivers it no frames, and it
/// never asks for promiscuous mode. One sender serves every interface: the
/// interface is chosen per frame.
#[derive(Debug)]
pub struct GarpSender {
    sock: Socket,
}

impl GarpSender {
    /// Opens the socket.
    pub fn new() -> Result<Self> {
        let sock = Socket::new(
            Domain::PACKET,
            Type::RAW.nonblocking().cloexec(),
            Some(Protocol::from(0)),
        )
        .map_err(|source| Error::OpenSocket {
            what: "AF_PACKET",
            ifindex: 0,
            source,
        })?;
        Ok(GarpSender { sock })
    }

    /// Sends a complete Ethernet frame (destination MAC first) out of
    /// interface `ifindex`. `addr` only labels errors.
    pub fn send_frame(&self, ifindex: u32, addr: Ipv4Addr, frame: &[u8]) -> Result<()> {
        sys::send_frame(self.sock.as_raw_fd(), ifindex, ETH_P_ARP, frame).map_err(|source| {
            Error::SendGarp {
                ifindex,
                addr,
                source,
            }
        })
    }

    /// Builds a gratuitous ARP for `addr` from `sender_mac` (the interface's
    /// MAC, or the virtual MAC) and sends it out of `ifindex`.
    pub fn send(&self, ifindex: u32, sender_mac: [u8; 6], addr: Ipv4Addr) -> Result<()> {
        let garp = vrrp_proto::arp::GratuitousArp { sender_mac, addr };
        let mut buf = vec![0u8; garp.buffer_len()];
        garp.emit(&mut buf).map_err(|source| Error::Emit {
            what: "gratuitous ARP",
            source,
        })?;
        self.send_frame(ifindex, addr, &buf)
    }
}

/// A send-only ICMPv6 raw socket for unsolicited neighbour advertisements on
/// one interface: bound to the device, hop limit 255 (which receivers
/// require, [RFC 4861 §7.1.2]), source = the interface's link-local
/// address, destination ff02::1. An `ICMP6_FILTER` that blocks every type
/// keeps the kernel from queueing received ICMPv6 on it.
///
/// [RFC 4861 §7.1.2]: https://www.rfc-editor.org/rfc/rfc4861#section-7.1.2
#[derive(Debug)]
pub struct NaSender {
    sock: Socket,
    ifindex: u32,
    src: Ipv6Addr,
}

impl NaSender {
    /// Opens the socket for interface `ifindex`, sending from `src` (its
    /// link-local address).
    pub fn open(ifindex: u32, src: Ipv6Addr) -> Result<Self> {
        let opt = |option: &'static str| {
            move |source: io::Error| Error::SetSockOpt {
                option,
                ifindex,
                source,
            }
        };
        let sock = Socket::new(
            Domain::IPV6,
            Type::RAW.nonblocking().cloexec(),
            Some(Protocol::ICMPV6),
        )
        .map_err(|source| Error::OpenSocket {
            what: "ICMPv6 raw",
            ifindex,
            source,
        })?;
        let fd = sock.as_raw_fd();
        sys::bind_to_device(&sock, ifindex).map_err(opt("SO_BINDTODEVICE"))?;
        sock.set_multicast_hops_v6(255)
            .map_err(opt("IPV6_MULTICAST_HOPS"))?;
        sock.set_unicast_hops_v6(255)
            .map_err(opt("IPV6_UNICAST_HOPS"))?;
        sock.set_multicast_loop_v6(false)
            .map_err(opt("IPV6_MULTICAST_LOOP"))?;
        sock.set_multicast_if_v6(ifindex)
            .map_err(opt("IPV6_MULTICAST_IF"))?;
        let block_all = [u32::MAX; 8];
        sys::setsockopt(fd, libc::IPPROTO_ICMPV6, ICMP6_FILTER, &block_all)
            .map_err(opt("ICMP6_FILTER"))?;
        Ok(NaSender { sock, ifindex, src })
    }

    /// The interface this sender serves.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// The link-local source address.
    pub fn source(&self) -> Ipv6Addr {
        self.src
    }

    /// Changes the source address (the link-local address changed).
    pub fn set_source(&mut self, src: Ipv6Addr) {
        self.src = src;
    }

    /// Sends an ICMPv6 message (starting at the ICMPv6 type) to ff02::1.
    /// The kernel fills in the ICMPv6 checksum. `target` only labels errors.
    pub fn send_message(&self, target: Ipv6Addr, msg: &[u8]) -> Result<()> {
        let info = libc::in6_pktinfo {
            ipi6_addr: libc::in6_addr {
                s6_addr: self.src.octets(),
            },
            ipi6_ifindex: self.ifindex,
        };
        let cm = [ControlMessage::Ipv6PacketInfo(&info)];
        let to = SockaddrIn6::from(SocketAddrV6::new(ALL_NODES, 0, 0, self.ifindex));
        sendmsg(
            self.sock.as_raw_fd(),
            &[IoSlice::new(msg)],
            &cm,
            MsgFlags::MSG_DONTWAIT,
            Some(&to),
        )
        .map(|_| ())
        .map_err(|e| Error::SendNa {
            ifindex: self.ifindex,
            addr: target,
            source: e.into(),
        })
    }

    /// Builds an unsolicited NA for `target` with `target_mac` (the
    /// interface's MAC, or the virtual MAC) and the Router flag set as
    /// `router` ([RFC 9568 §6.4.1] (4): set for a router), and sends it.
    ///
    /// [RFC 9568 §6.4.1]: https://www.rfc-editor.org/rfc/rfc9568#section-6.4.1
    pub fn send(&self, target: Ipv6Addr, target_mac: [u8; 6], router: bool) -> Result<()> {
        let na = vrrp_proto::nd::UnsolicitedNa {
            target,
            target_mac,
            router,
        };
        let mut buf = vec![0u8; na.buffer_len()];
        na.emit(&mut buf, self.src, ALL_NODES)
            .map_err(|source| Error::Emit {
                what: "unsolicited NA",
                source,
            })?;
        self.send_message(target, &buf)
    }
}
