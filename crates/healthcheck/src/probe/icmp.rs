//! ICMP (RFC 792) and ICMPv6 (RFC 4443 §4) echo probes.
//!
//! With a datagram ("ping") socket the kernel fills in the checksum and
//! replaces the identifier with the socket's local port, so the identifier to
//! match is read back with getsockname; replies come without an IP header.
//! With a raw IPv4 socket the replies include the IPv4 header and every echo
//! reply on the host is seen, so identifier and sequence are both matched.
//! Raw ICMPv6 sockets get no IP header and the kernel computes the checksum
//! (RFC 3542 §3.1).

use std::io::{self, Read};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Instant;

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use socket2::{Domain, Protocol, Socket, Type};

use super::{Detail, OsFailure, Step};
use crate::spec::{IcmpMode, IcmpSpec};
use crate::state::Outcome;

const ECHO_REQUEST_V4: u8 = 8;
const ECHO_REPLY_V4: u8 = 0;
const ECHO_REQUEST_V6: u8 = 128;
const ECHO_REPLY_V6: u8 = 129;
const PAYLOAD: &[u8; 16] = b"vrrp-healthcheck";

static NEXT_ID: AtomicU16 = AtomicU16::new(0);

/// RFC 1071 Internet checksum.
pub(crate) fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(u16::from_be_bytes([*last, 0]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    // Folded into 16 bits just above.
    !(sum as u16)
}

/// Builds an echo request.
pub(crate) fn echo_request(v6: bool, id: u16, seq: u16) -> Vec<u8> {
    let mut p = Vec::with_capacity(8 + PAYLOAD.len());
    p.push(if v6 { ECHO_REQUEST_V6 } else { ECHO_REQUEST_V4 });
    p.push(0);
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(PAYLOAD);
    if !v6 {
        let c = checksum(&p);
        p[2..4].copy_from_slice(&c.to_be_bytes());
    }
    p
}

/// Whether `buf` (as received) is the echo reply to (id, seq).
pub(crate) fn is_reply(buf: &[u8], v6: bool, has_ip_header: bool, id: u16, seq: u16) -> bool {
    let icmp = if has_ip_header {
        let Some(&vihl) = buf.first() else {
            return false;
        };
        let ihl = usize::from(vihl & 0x0f) * 4;
        if vihl >> 4 != 4 || ihl < 20 {
            return false;
        }
        buf.get(ihl..).unwrap_or_default()
    } else {
        buf
    };
    if icmp.len() < 8 {
        return false;
    }
    let want = if v6 { ECHO_REPLY_V6 } else { ECHO_REPLY_V4 };
    icmp[0] == want
        && icmp[1] == 0
        && u16::from_be_bytes([icmp[4], icmp[5]]) == id
        && u16::from_be_bytes([icmp[6], icmp[7]]) == seq
}

fn open(v6: bool, ty: Type) -> io::Result<Socket> {
    let (domain, proto) = if v6 {
        (Domain::IPV6, Protocol::ICMPV6)
    } else {
        (Domain::IPV4, Protocol::ICMPV4)
    };
    Socket::new(domain, ty.cloexec(), Some(proto))
}

/// An echo request in flight.
pub(crate) struct IcmpProbe {
    sock: Socket,
    v6: bool,
    raw: bool,
    id: u16,
    seq: u16,
    sent: Instant,
}

impl IcmpProbe {
    pub(crate) fn start(
        spec: &IcmpSpec,
        seq: u16,
        registry: &Registry,
        token: Token,
    ) -> Result<Self, (Outcome, Detail)> {
        let fail = |op, e: &io::Error| (Outcome::Failure, Detail::Os(OsFailure::new(op, e)));
        let v6 = spec.addr.is_ipv6();
        let (sock, raw) = match spec.mode {
            IcmpMode::Datagram => (
                open(v6, Type::DGRAM).map_err(|e| fail("socket", &e))?,
                false,
            ),
            IcmpMode::Raw => (open(v6, Type::RAW).map_err(|e| fail("socket", &e))?, true),
            IcmpMode::Auto => match open(v6, Type::DGRAM) {
                Ok(s) => (s, false),
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::EACCES | libc::EPERM | libc::EPROTONOSUPPORT)
                    ) =>
                {
                    (open(v6, Type::RAW).map_err(|e| fail("socket", &e))?, true)
                }
                Err(e) => return Err(fail("socket", &e)),
            },
        };
        sock.set_nonblocking(true).map_err(|e| fail("socket", &e))?;
        let target = SocketAddr::new(spec.addr, 0);
        sock.connect(&target.into())
            .map_err(|e| fail("connect", &e))?;
        // Raw sockets see every echo reply on the host: use an identifier
        // unlikely to collide with other pingers (pid mixed with a counter).
        let id = if raw {
            (std::process::id() as u16) ^ NEXT_ID.fetch_add(1, Ordering::Relaxed).rotate_left(8)
        } else {
            0
        };
        let pkt = echo_request(v6, id, seq);
        let sent = Instant::now();
        sock.send(&pkt).map_err(|e| fail("send", &e))?;
        let id = if raw {
            id
        } else {
            // The kernel uses the ping socket's local "port" as the identifier.
            let local = sock.local_addr().map_err(|e| fail("getsockname", &e))?;
            local.as_socket().map(|a| a.port()).unwrap_or(0)
        };
        let fd = sock.as_raw_fd();
        registry
            .register(&mut SourceFd(&fd), token, Interest::READABLE)
            .map_err(|e| fail("register", &e))?;
        Ok(Self {
            sock,
            v6,
            raw,
            id,
            seq,
            sent,
        })
    }

    pub(crate) fn on_ready(&mut self) -> Step {
        let mut buf = [0u8; 1500];
        loop {
            match (&self.sock).read(&mut buf) {
                Ok(n) => {
                    let has_ip = self.raw && !self.v6;
                    if is_reply(&buf[..n], self.v6, has_ip, self.id, self.seq) {
                        return Step::Done(
                            Outcome::Success,
                            Detail::EchoReply {
                                rtt: self.sent.elapsed(),
                            },
                        );
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Step::Pending,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // ICMP errors (unreachable) surface as socket errors.
                Err(e) => {
                    return Step::Done(Outcome::Failure, Detail::Os(OsFailure::new("recv", &e)));
                }
            }
        }
    }

    pub(crate) fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        let fd = self.sock.as_raw_fd();
        registry.deregister(&mut SourceFd(&fd))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_rfc1071_example() {
        // RFC 1071 §3 example words 0001 f203 f4f5 f6f7: sum ddf2, checksum 220d.
        assert_eq!(
            checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            0x220d
        );
        // A packet with its checksum filled in sums to zero.
        let p = echo_request(false, 0x1234, 7);
        assert_eq!(checksum(&p), 0);
    }

    #[test]
    fn reply_matching() {
        let mut r = echo_request(false, 9, 3);
        r[0] = ECHO_REPLY_V4;
        assert!(is_reply(&r, false, false, 9, 3));
        assert!(!is_reply(&r, false, false, 9, 4));
        assert!(!is_reply(&r, false, false, 8, 3));
        let mut with_ip = vec![0x45u8];
        with_ip.resize(20, 0);
        with_ip.extend_from_slice(&r);
        assert!(is_reply(&with_ip, false, true, 9, 3));
        assert!(!is_reply(&with_ip[..10], false, true, 9, 3));
        let req = echo_request(false, 9, 3);
        assert!(
            !is_reply(&req, false, false, 9, 3),
            "a request is not a reply"
        );
        let mut r6 = echo_request(true, 1, 2);
        r6[0] = ECHO_REPLY_V6;
        assert!(is_reply(&r6, true, false, 1, 2));
    }
}
