//! The client's view: a UDP responder on each VRRP host answers with the
//! host's id; a prober in the client namespace sends one numbered datagram
//! per millisecond to a VIP and records who answered which probe.

use std::fs::File;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};

/// The UDP port the responders listen on.
pub(crate) const PORT: u16 = 7777;

/// `vrrp-scale respond`: answers every datagram of at least 8 bytes with
/// its first 8 bytes (the sequence number) followed by `id`. Runs until
/// killed.
pub(crate) fn respond(id: u8, port: u16) -> Result<()> {
    let sock = UdpSocket::bind(("0.0.0.0", port)).with_context(|| format!("bind port {port}"))?;
    let mut buf = [0u8; 64];
    loop {
        let Ok((n, from)) = sock.recv_from(&mut buf) else {
            continue;
        };
        if n >= 8 {
            buf[8] = id;
            let _ = sock.send_to(&buf[..9], from);
        }
    }
}

/// Creates a UDP socket inside network namespace `ns` (it stays there).
fn socket_in_netns(ns: &str) -> Result<UdpSocket> {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || -> Result<UdpSocket> {
        let file = File::open(&path).with_context(|| format!("open {path}"))?;
        // SAFETY: setns on this thread only, with a valid namespace fd.
        let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        if rc != 0 {
            bail!("setns {path}: {}", std::io::Error::last_os_error());
        }
        Ok(UdpSocket::bind("0.0.0.0:0")?)
    })
    .join()
    .map_err(|_| anyhow!("namespace thread panicked"))?
}

/// One probe: when it was sent (since the prober started) and which host
/// answered it, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Probe {
    /// Send time.
    pub(crate) sent: Duration,
    /// Id of the host that answered.
    pub(crate) host: Option<u8>,
}

/// A running prober; stopped by [`Prober::finish`] or on drop.
#[derive(Debug)]
pub(crate) struct Prober {
    record: Arc<Mutex<Vec<Probe>>>,
    last_host: Arc<AtomicU8>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Prober {
    /// Starts probing `target` from namespace `ns` every `period`.
    pub(crate) fn start(ns: &str, target: SocketAddr, period: Duration) -> Result<Prober> {
        let sock = socket_in_netns(ns)?;
        sock.set_read_timeout(Some(Duration::from_millis(20)))?;
        let sender = sock.try_clone()?;
        let record = Arc::new(Mutex::new(Vec::<Probe>::with_capacity(65_536)));
        let last_host = Arc::new(AtomicU8::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let start = Instant::now();
        let (rec, st) = (record.clone(), stop.clone());
        // Paced by absolute deadlines, so a late wake-up does not shift the
        // schedule.
        let send = std::thread::spawn(move || {
            let mut seq: u64 = 0;
            let mut next = Instant::now();
            while !st.load(Ordering::Relaxed) {
                let now = Instant::now();
                if now < next {
                    std::thread::sleep(next - now);
                    continue;
                }
                rec.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(Probe {
                        sent: now - start,
                        host: None,
                    });
                let _ = sender.send_to(&seq.to_be_bytes(), target);
                seq += 1;
                next += period;
            }
        });
        let (rec, st, last) = (record.clone(), stop.clone(), last_host.clone());
        let recv = std::thread::spawn(move || {
            let mut buf = [0u8; 64];
            while !st.load(Ordering::Relaxed) {
                let Ok(n) = sock.recv(&mut buf) else {
                    continue;
                };
                if n < 9 {
                    continue;
                }
                let mut seq = [0u8; 8];
                seq.copy_from_slice(&buf[..8]);
                let Ok(seq) = usize::try_from(u64::from_be_bytes(seq)) else {
                    continue;
                };
                if let Some(p) = rec
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get_mut(seq)
                {
                    p.host.get_or_insert(buf[8]);
                }
                last.store(buf[8], Ordering::Relaxed);
            }
        });
        Ok(Prober {
            record,
            last_host,
            stop,
            threads: vec![send, recv],
        })
    }

    /// The host that sent the latest reply (0: none yet).
    pub(crate) fn last_host(&self) -> u8 {
        self.last_host.load(Ordering::Relaxed)
    }

    /// Stops probing (after 50 ms for replies in flight); every probe.
    pub(crate) fn finish(mut self) -> Vec<Probe> {
        std::thread::sleep(Duration::from_millis(50));
        self.halt();
        std::mem::take(&mut *self.record.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Prober {
    fn drop(&mut self) {
        self.halt();
    }
}

/// What the client saw across an event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Outage {
    /// Longest time without an answered probe: from the first unanswered
    /// probe of a run to the next answered one (0 if none was lost).
    pub(crate) longest: Duration,
    /// Unanswered probes (the trailing ones, possibly in flight, excluded).
    pub(crate) lost: usize,
    /// Probes sent.
    pub(crate) sent: usize,
}

/// Computes the outage from a probe record. Probes after the last answered
/// one are not counted (still in flight when probing stopped, or the
/// failover never completed, which the caller checks separately).
pub(crate) fn outage(probes: &[Probe]) -> Outage {
    let last_answered = probes.iter().rposition(|p| p.host.is_some());
    let upto = last_answered.map_or(0, |i| i + 1);
    let mut longest = Duration::ZERO;
    let mut lost = 0;
    let mut gap_start: Option<Duration> = None;
    for p in &probes[..upto] {
        match (p.host, gap_start) {
            (None, None) => {
                gap_start = Some(p.sent);
                lost += 1;
            }
            (None, Some(_)) => lost += 1,
            (Some(_), Some(s)) => {
                longest = longest.max(p.sent.saturating_sub(s));
                gap_start = None;
            }
            (Some(_), None) => {}
        }
    }
    Outage {
        longest,
        lost,
        sent: probes.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(hosts: &[Option<u8>]) -> Vec<Probe> {
        hosts
            .iter()
            .enumerate()
            .map(|(i, &host)| Probe {
                sent: Duration::from_millis(i as u64),
                host,
            })
            .collect()
    }

    #[test]
    fn no_loss_is_zero() {
        let o = outage(&rec(&[Some(1), Some(1), Some(2)]));
        assert_eq!(o.longest, Duration::ZERO);
        assert_eq!(o.lost, 0);
    }

    #[test]
    fn longest_run_from_first_lost_to_next_answer() {
        let r = rec(&[
            Some(1),
            None,
            Some(1),
            None,
            None,
            None,
            Some(2),
            Some(2),
            None,
        ]);
        let o = outage(&r);
        // Probes 3, 4, 5 lost; probe 6 answered: 3 ms without service.
        assert_eq!(o.longest, Duration::from_millis(3));
        // The trailing unanswered probe is in flight, not lost.
        assert_eq!(o.lost, 4);
        assert_eq!(o.sent, 9);
    }

    #[test]
    fn nothing_answered() {
        let o = outage(&rec(&[None, None]));
        assert_eq!(o.longest, Duration::ZERO);
        assert_eq!(o.lost, 0);
    }
}
