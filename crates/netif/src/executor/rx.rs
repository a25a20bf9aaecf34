//! Receiving: every pending datagram of a socket, 32 per `recvmmsg`,
//! parsed into one reused [`Advert`] and handed to the node as it is read.

use std::net::IpAddr;
use std::time::Instant;

use vrrp_fsm::LinkId;
use vrrp_proto::{Advert, ChecksumCtx, ChecksumOutcome, Packet, V3Ipv4PseudoHeader};

use super::{Event, Executor, SocketCounters};
use crate::socket::{Received, RecvBatch};

/// A placeholder for the reused advert; every field is overwritten by the
/// first parse.
pub(super) fn scratch_advert() -> Advert {
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

impl Executor {
    /// Reads every pending datagram of socket `i`. The buffers and the
    /// parsed advert are reused: receiving allocates nothing.
    pub(super) fn on_socket(&mut self, i: usize) {
        let Some(mut batch) = self.rx_batch.take() else {
            return;
        };
        let mut adv = std::mem::replace(&mut self.rx_advert, scratch_advert());
        let link = LinkId(u32::try_from(i).unwrap_or(u32::MAX));
        let now = Instant::now();
        while let Some(s) = self.socks.get_mut(i).and_then(Option::as_mut) {
            let read = match s.sock.recv_batch(&mut batch) {
                Ok(n) => n,
                Err(error) => {
                    self.out.push_back(Event::Error {
                        router: None,
                        error,
                    });
                    break;
                }
            };
            for r in batch.iter() {
                let Some(s) = self.socks.get_mut(i).and_then(Option::as_mut) else {
                    break;
                };
                if parse_received(&mut s.counters, &r, &mut adv) {
                    let fed = self.node.handle_advert(now, link, r.src, r.ttl, &adv);
                    if fed == 0 {
                        if let Some(s) = self.socks.get_mut(i).and_then(Option::as_mut) {
                            s.counters.unknown_vrid += 1;
                        }
                    }
                    self.drain_bounded();
                }
            }
            // Fewer than a full batch: the socket is drained (a datagram
            // that arrives later raises a new readiness event).
            if read < RecvBatch::CAPACITY {
                break;
            }
        }
        self.rx_batch = Some(batch);
        self.rx_advert = adv;
    }
}

/// Parses one datagram into `adv`, counting it; false (counted by reason)
/// if it is not a valid advert (RFC 9568 §7.1 checks that need only the
/// packet: length, version and type, checksum, count).
fn parse_received(c: &mut SocketCounters, r: &Received<'_>, adv: &mut Advert) -> bool {
    c.received += 1;
    let ctx = match (r.src, r.dst) {
        (IpAddr::V4(a), IpAddr::V4(b)) => ChecksumCtx::ipv4(a, b),
        (IpAddr::V6(a), IpAddr::V6(b)) => ChecksumCtx::ipv6(a, b),
        _ => return false,
    };
    match Packet::new_checked(r.payload).and_then(|p| adv.parse_into(&p, &ctx)) {
        Ok(ChecksumOutcome::V3Ipv4(V3Ipv4PseudoHeader::Include)) => {
            c.v3_ipv4_with_pseudo_header += 1;
            true
        }
        Ok(ChecksumOutcome::V3Ipv4(V3Ipv4PseudoHeader::Exclude)) => {
            c.v3_ipv4_without_pseudo_header += 1;
            true
        }
        Ok(_) => true,
        Err(e) => {
            *c.parse_errors.entry(parse_error_key(&e)).or_default() += 1;
            false
        }
    }
}

/// A parse error's variant name in snake case (`bad_checksum`), the key of
/// [`SocketCounters::parse_errors`].
pub(super) fn parse_error_key(e: &vrrp_proto::ParseError) -> String {
    let debug = format!("{e:?}");
    let mut out = String::with_capacity(debug.len() + 4);
    for (i, c) in debug
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .enumerate()
    {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_error_keys_are_snake_case() {
        use vrrp_proto::ParseError;
        assert_eq!(parse_error_key(&ParseError::BadChecksum), "bad_checksum");
        assert_eq!(
            parse_error_key(&ParseError::Truncated { needed: 8, got: 2 }),
            "truncated"
        );
        assert_eq!(parse_error_key(&ParseError::BadVersion(9)), "bad_version");
    }
}
