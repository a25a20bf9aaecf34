//! Outgoing adverts: encoded when a state machine asks for one, sent in one
//! `sendmmsg` per socket and 32 messages, when 32 are queued or the loop
//! round ends.
//!
//! With 1000 instances on 4 interfaces, the advert timers of a master fall
//! due together (they were started by the same event), so a round sends
//! hundreds of adverts; batching turns them into a few system calls
//! (docs/performance.md). An advert waits at most for 31 others, or for
//! the end of its round.

use std::net::{IpAddr, Ipv4Addr};

use anyhow::anyhow;
use tracing::{debug, info, warn};
use vrrp_fsm::AdvertKind;
use vrrp_proto::{ChecksumCtx, Packet};

use super::{Daemon, router_of};

/// Messages per `sendmmsg` call (netif's batch size).
const CHUNK: usize = 32;

/// Encoded adverts waiting for [`Daemon::flush_tx`]. The buffers are kept
/// between rounds, so steady-state sending allocates nothing.
#[derive(Debug, Default)]
pub(super) struct TxQueue {
    /// The encoded messages, back to back.
    arena: Vec<u8>,
    items: Vec<TxItem>,
    /// Flushes so far (instances remember the one in which they failed).
    flushes: u64,
}

#[derive(Debug, Clone, Copy)]
struct TxItem {
    sock: usize,
    inst: usize,
    /// Order of queueing, kept within a socket.
    seq: usize,
    dst: IpAddr,
    start: usize,
    end: usize,
}

impl Daemon {
    /// Encodes instance `id`'s advert of `kind` once per destination of its
    /// socket and queues it.
    pub(super) fn queue_advert(&mut self, id: usize, kind: AdvertKind) {
        if let Err(e) = self.encode_advert(id, kind) {
            self.note_send_error(id, &e);
        }
        // A round can be long (a takeover of 1000 instances adds 1000 VIPs
        // through netlink): send each full batch at once instead of holding
        // the first adverts until the round ends.
        if self.tx.items.len() >= CHUNK {
            self.flush_tx();
        }
    }

    fn encode_advert(&mut self, id: usize, kind: AdvertKind) -> anyhow::Result<()> {
        let inst = self
            .insts
            .get(id)
            .and_then(Option::as_ref)
            .ok_or_else(|| anyhow!("internal: instance missing"))?;
        let r = router_of(&self.units, inst).ok_or_else(|| anyhow!("internal: router missing"))?;
        let s = self
            .socks
            .get(inst.sock)
            .and_then(Option::as_ref)
            .ok_or_else(|| anyhow!("internal: socket missing"))?;
        let adv = r.advert(kind);
        let src = s.sock.source();
        let q = &mut self.tx;
        for dst in s.sock.destinations() {
            let ctx = match (src, dst) {
                (IpAddr::V4(a), IpAddr::V4(b)) => {
                    ChecksumCtx::ipv4(a, b).with_v3_ipv4_emit(inst.pseudo)
                }
                (IpAddr::V6(a), IpAddr::V6(b)) => ChecksumCtx::ipv6(a, b),
                _ => continue,
            };
            let start = q.arena.len();
            let end = start + adv.buffer_len();
            q.arena.resize(end, 0);
            let bytes = q.arena.get_mut(start..end).unwrap_or_default();
            if let Err(e) = adv.emit(&mut Packet::new_unchecked(bytes), &ctx) {
                q.arena.truncate(start);
                return Err(anyhow!("encoding: {e}"));
            }
            let seq = q.items.len();
            q.items.push(TxItem {
                sock: inst.sock,
                inst: id,
                seq,
                dst,
                start,
                end,
            });
        }
        Ok(())
    }

    /// Sends every queued advert: per socket, in queueing order, 32 per
    /// system call. A refused message is counted against its instance.
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
                let mut msgs: [(IpAddr, &[u8]); CHUNK] =
                    [(IpAddr::V4(Ipv4Addr::UNSPECIFIED), &[]); CHUNK];
                for (m, t) in msgs.iter_mut().zip(part) {
                    *m = (t.dst, q.arena.get(t.start..t.end).unwrap_or_default());
                }
                let mut failed: [Option<netif::Error>; CHUNK] = Default::default();
                match part
                    .first()
                    .and_then(|t| self.socks.get(t.sock))
                    .and_then(Option::as_ref)
                {
                    Some(s) => {
                        s.sock.send_batch(&msgs[..part.len()], |k, e| {
                            if let Some(f) = failed.get_mut(k) {
                                *f = Some(e);
                            }
                        });
                    }
                    None => {
                        for t in part {
                            self.note_send_error(t.inst, &anyhow!("internal: socket missing"));
                            self.mark_failed(t.inst, flush);
                        }
                        continue;
                    }
                }
                for (t, f) in part.iter().zip(failed.iter_mut()) {
                    if let Some(e) = f.take() {
                        self.note_send_error(t.inst, &anyhow::Error::from(e));
                        self.mark_failed(t.inst, flush);
                    }
                }
            }
        }
        // An instance that had no failure in this flush sends again.
        for t in &q.items {
            if let Some(inst) = self.insts.get_mut(t.inst).and_then(Option::as_mut) {
                if inst.send_failing && inst.send_failed_in != flush {
                    info!("{}: sending adverts works again", inst.cfg.name);
                    inst.send_failing = false;
                }
            }
        }
        q.items.clear();
        q.arena.clear();
        self.tx = q;
    }

    fn mark_failed(&mut self, id: usize, flush: u64) {
        if let Some(inst) = self.insts.get_mut(id).and_then(Option::as_mut) {
            inst.send_failed_in = flush;
        }
    }

    fn note_send_error(&mut self, id: usize, e: &anyhow::Error) {
        let Some(inst) = self.insts.get_mut(id).and_then(Option::as_mut) else {
            return;
        };
        inst.counters.send_errors += 1;
        // The priority-0 advert of a master whose link just went down cannot
        // leave; the fault is already logged, once per instance.
        if inst.send_failing || !inst.link_up {
            debug!("{}: cannot send advert: {e:#}", inst.cfg.name);
        } else {
            warn!("{}: cannot send advert: {e:#}", inst.cfg.name);
            inst.send_failing = true;
        }
    }
}
