//! Sending: adverts are encoded when the node asks for them and sent in
//! one `sendmmsg` per socket and 32 messages, when 32 are queued or the
//! round ends.
//!
//! With 1000 routers on a few interfaces, a master's advert timers fall
//! due together (they were started by the same event), so a round sends
//! hundreds of adverts; batching turns them into a few system calls
//! (docs/performance.md). An advert waits at most for 31 others, or for
//! the end of its round.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use vrrp_fsm::{AdvertKind, RouterId};
use vrrp_proto::{ChecksumCtx, Packet};

use super::{Event, Executor};
use crate::error::Error;

/// Messages per `sendmmsg` call (the socket's batch size).
const CHUNK: usize = 32;

/// Encoded adverts waiting for [`Executor::flush_tx`]. The buffers are
/// kept between rounds, so steady-state sending allocates nothing.
#[derive(Debug, Default)]
pub(super) struct TxQueue {
    /// The encoded messages, back to back.
    arena: Vec<u8>,
    items: Vec<TxItem>,
    /// Flushes so far (routers remember the one in which they failed).
    flushes: u64,
}

#[derive(Debug, Clone, Copy)]
struct TxItem {
    sock: usize,
    router: RouterId,
    /// Order of queueing, kept within a socket.
    seq: usize,
    dst: IpAddr,
    start: usize,
    end: usize,
    /// The Adver_Timer deadline it answers (first destination only).
    due: Option<Instant>,
}

impl Executor {
    /// Encodes router `id`'s advert of `kind` once per destination of its
    /// socket (the checksum may cover the destination) and queues it.
    pub(super) fn queue_advert(&mut self, id: RouterId, kind: AdvertKind) {
        if let Err(e) = self.encode_advert(id, kind) {
            self.note_send_error(id, e);
        }
        // A round can be long (a takeover of 1000 routers adds 1000
        // addresses through netlink): send each full batch at once.
        if self.tx.items.len() >= CHUNK {
            self.flush_tx();
        }
    }

    fn encode_advert(&mut self, id: RouterId, kind: AdvertKind) -> Result<(), Error> {
        let missing = Error::Unsupported {
            what: "an advert of a router without a socket",
        };
        let (Some(p), Some(r)) = (self.placed.get(id), self.node.router(id)) else {
            return Err(missing);
        };
        let sock = p.link.0 as usize;
        let Some(s) = self.socks.get(sock).and_then(Option::as_ref) else {
            return Err(missing);
        };
        let adv = r.advert(kind);
        let mut due = match kind {
            AdvertKind::Current => r.advert_due(),
            AdvertKind::Release => None,
        };
        let src = s.sock.source();
        let q = &mut self.tx;
        for dst in s.sock.destinations() {
            let ctx = match (src, dst) {
                (IpAddr::V4(a), IpAddr::V4(b)) => {
                    ChecksumCtx::ipv4(a, b).with_v3_ipv4_emit(p.spec.v3_ipv4_checksum)
                }
                (IpAddr::V6(a), IpAddr::V6(b)) => ChecksumCtx::ipv6(a, b),
                _ => continue,
            };
            let start = q.arena.len();
            let end = start + adv.buffer_len();
            q.arena.resize(end, 0);
            let bytes = q.arena.get_mut(start..end).unwrap_or_default();
            if let Err(source) = adv.emit(&mut Packet::new_unchecked(bytes), &ctx) {
                q.arena.truncate(start);
                return Err(Error::Emit {
                    what: "VRRP advertisement",
                    source,
                });
            }
            let seq = q.items.len();
            q.items.push(TxItem {
                sock,
                router: id,
                seq,
                dst,
                start,
                end,
                due: due.take(),
            });
        }
        Ok(())
    }

    /// Sends every queued advert: per socket, in queueing order, 32 per
    /// system call. A refused message is counted against its router.
    pub(super) fn flush_tx(&mut self) {
        if self.tx.items.is_empty() {
            return;
        }
        let mut q = std::mem::take(&mut self.tx);
        q.flushes += 1;
        let flush = q.flushes;
        q.items.sort_unstable_by_key(|t| (t.sock, t.seq));
        for chunk in q.items.chunk_by(|a, b| a.sock == b.sock) {
            for part in chunk.chunks(CHUNK) {
                self.send_part(&q.arena, part, flush);
            }
        }
        self.record_lateness(&q.items, Instant::now());
        // A router that had no failure in this flush sends again.
        for t in &q.items {
            if let Some(p) = self.placed.get_mut(t.router) {
                if p.send_failing && p.send_failed_in != flush {
                    p.send_failing = false;
                    self.out
                        .push_back(Event::SendRecovered { router: t.router });
                }
            }
        }
        q.items.clear();
        q.arena.clear();
        self.tx = q;
    }

    fn send_part(&mut self, arena: &[u8], part: &[TxItem], flush: u64) {
        let mut msgs: [(IpAddr, &[u8]); CHUNK] = [(IpAddr::V4(Ipv4Addr::UNSPECIFIED), &[]); CHUNK];
        for (m, t) in msgs.iter_mut().zip(part) {
            *m = (t.dst, arena.get(t.start..t.end).unwrap_or_default());
        }
        let mut failed: [Option<Error>; CHUNK] = Default::default();
        let sock = part
            .first()
            .and_then(|t| self.socks.get(t.sock))
            .and_then(Option::as_ref);
        match sock {
            Some(s) => {
                s.sock.send_batch(&msgs[..part.len()], |k, e| {
                    if let Some(f) = failed.get_mut(k) {
                        *f = Some(e);
                    }
                });
            }
            None => {
                for f in failed.iter_mut().take(part.len()) {
                    *f = Some(Error::Unsupported {
                        what: "an advert of a closed socket",
                    });
                }
            }
        }
        for (t, f) in part.iter().zip(failed.iter_mut()) {
            if let Some(e) = f.take() {
                self.note_send_error(t.router, e);
                if let Some(p) = self.placed.get_mut(t.router) {
                    p.send_failed_in = flush;
                }
            }
        }
    }

    /// Records how late each timer-driven advert of `items` left (`sent`
    /// is when its batch was handed to the kernel), and reports those
    /// later than the warning threshold.
    fn record_lateness(&mut self, items: &[TxItem], sent: Instant) {
        for t in items {
            let Some(due) = t.due else { continue };
            let late = sent.saturating_duration_since(due);
            let Some(p) = self.placed.get_mut(t.router) else {
                continue;
            };
            p.counters.lateness.record(late);
            let interval = self
                .node
                .router(t.router)
                .map_or(Duration::ZERO, |r| r.config().interval().to_duration());
            let limit = interval * self.late_warn_permille / 1000;
            if self.late_warn_permille > 0 && late > limit {
                self.out.push_back(Event::AdvertLate {
                    router: t.router,
                    late,
                    interval,
                });
            }
        }
    }

    fn note_send_error(&mut self, id: RouterId, error: Error) {
        let link_up = self.router_link_up(id);
        let Some(p) = self.placed.get_mut(id) else {
            return;
        };
        p.counters.send_errors += 1;
        // The priority-0 advert of a master whose link just went down
        // cannot leave; the fault is reported already, once per router.
        if !p.send_failing && link_up {
            p.send_failing = true;
            self.out.push_back(Event::SendFailing { router: id, error });
        }
    }

    fn router_link_up(&self, id: RouterId) -> bool {
        self.placed
            .get(id)
            .and_then(|p| self.links.get(&p.ifindex))
            .is_some_and(|l| l.1)
    }
}
