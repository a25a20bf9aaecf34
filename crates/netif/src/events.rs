//! Link and address events from rtnetlink (`RTMGRP_LINK`,
//! `RTMGRP_IPV4_IFADDR`, `RTMGRP_IPV6_IFADDR`), non-blocking and
//! registered with mio.
//!
//! The kernel sends `RTM_NEWLINK` for every attribute change of a link;
//! [`NetEvents`] remembers each interface's last usable state and reports
//! [`NetEvent::LinkDown`] / [`NetEvent::LinkUp`] only on transitions.
//! Address events are reported as they come, so a daemon can put back a VIP
//! that someone else removed, or IPv6 VIPs that a link flap flushed.

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, RawFd};

use neli::consts::socket::NlFamily;
use neli::err::SocketError;
use neli::rtnl::{Ifaddrmsg, Ifinfomsg};
use neli::socket::synchronous::NlSocketHandle;
use neli::types::Buffer;
use neli::utils::Groups;

use crate::error::{Error, Result};
use crate::rtnl::{IfAddr, Link, decode, parse_ifaddr, parse_link, sock_err};

/// One event from the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NetEvent {
    /// The interface became usable (admin up and operationally up), or is
    /// seen for the first time in that state.
    LinkUp(Link),
    /// The interface stopped being usable (admin down, carrier lost, lower
    /// layer down). VRRP instances on it should go to Fault.
    LinkDown(Link),
    /// The interface was deleted.
    LinkRemoved {
        /// Its former index.
        ifindex: u32,
        /// Its former name, if the kernel said.
        name: String,
    },
    /// An address appeared.
    AddrAdded(IfAddr),
    /// An address disappeared (removed by someone else, or flushed by a
    /// link going down, as the kernel does for IPv6 addresses).
    AddrRemoved(IfAddr),
    /// The kernel dropped events because the socket buffer was full
    /// (`ENOBUFS`). State must be re-read with [`crate::Netlink`].
    Overrun,
}

/// A non-blocking subscription to link and address events.
pub struct NetEvents {
    sock: NlSocketHandle,
    usable: HashMap<u32, bool>,
}

impl std::fmt::Debug for NetEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetEvents")
            .field("fd", &self.sock.as_raw_fd())
            .finish()
    }
}

impl NetEvents {
    /// Subscribes to link, IPv4 address and IPv6 address events in the
    /// calling thread's network namespace.
    ///
    /// `initial` seeds the remembered link states (e.g. from
    /// [`crate::Netlink::links`]), so that the first message about an
    /// interface that was already up is not reported as a transition.
    pub fn subscribe(initial: &[Link]) -> Result<Self> {
        let groups = Groups::new_bitmask(
            (libc::RTMGRP_LINK | libc::RTMGRP_IPV4_IFADDR | libc::RTMGRP_IPV6_IFADDR) as u32,
        );
        let sock = NlSocketHandle::connect(NlFamily::Route, None, groups).map_err(|e| {
            Error::NetlinkSocket {
                source: sock_err(e),
            }
        })?;
        crate::sys::set_nonblocking(sock.as_raw_fd())
            .map_err(|source| Error::NetlinkSocket { source })?;
        // Room for a burst (a link flap flushes every IPv6 address at once).
        let _ = sock.set_recv_buffer_size(1 << 20);
        Ok(NetEvents {
            sock,
            usable: initial.iter().map(|l| (l.ifindex, l.is_usable())).collect(),
        })
    }

    /// Reads every pending event into `out`, until the socket would block.
    /// Returns how many events were appended.
    pub fn read(&mut self, out: &mut Vec<NetEvent>) -> Result<usize> {
        let before = out.len();
        loop {
            let (iter, _) = match self.sock.recv::<u16, Buffer>() {
                Ok(r) => r,
                Err(e) => {
                    let e = sock_err(e);
                    match e.raw_os_error() {
                        _ if e.kind() == io::ErrorKind::WouldBlock => break,
                        Some(libc::ENOBUFS) => {
                            out.push(NetEvent::Overrun);
                            continue;
                        }
                        Some(libc::EINTR) => continue,
                        _ => return Err(Error::Events { source: e }),
                    }
                }
            };
            let mut msgs = Vec::new();
            for m in iter {
                match m {
                    Ok(m) => msgs.push(m),
                    // A message neli cannot frame: skip the rest of this
                    // datagram rather than fail the event stream.
                    Err(SocketError::De(_)) => break,
                    Err(e) => {
                        return Err(Error::Events {
                            source: sock_err(e),
                        });
                    }
                }
            }
            for m in msgs {
                let ty = *m.nl_type();
                let Some(payload) = m.get_payload() else {
                    continue;
                };
                let bytes = payload.as_ref();
                match ty {
                    libc::RTM_NEWLINK => {
                        if let Some(link) = decode::<Ifinfomsg>(bytes).as_ref().and_then(parse_link)
                        {
                            let now = link.is_usable();
                            let before = self.usable.insert(link.ifindex, now);
                            if before != Some(now) {
                                out.push(if now {
                                    NetEvent::LinkUp(link)
                                } else {
                                    NetEvent::LinkDown(link)
                                });
                            }
                        }
                    }
                    libc::RTM_DELLINK => {
                        if let Some(link) = decode::<Ifinfomsg>(bytes).as_ref().and_then(parse_link)
                        {
                            self.usable.remove(&link.ifindex);
                            out.push(NetEvent::LinkRemoved {
                                ifindex: link.ifindex,
                                name: link.name,
                            });
                        }
                    }
                    libc::RTM_NEWADDR | libc::RTM_DELADDR => {
                        if let Some(a) = decode::<Ifaddrmsg>(bytes).as_ref().and_then(parse_ifaddr)
                        {
                            out.push(if ty == libc::RTM_NEWADDR {
                                NetEvent::AddrAdded(a)
                            } else {
                                NetEvent::AddrRemoved(a)
                            });
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(out.len() - before)
    }
}

impl AsRawFd for NetEvents {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

source_by_fd!(NetEvents);
