//! `status` answers without holding the loop: the loop builds the typed
//! [`Snapshot`]'s instance rows a few at a time within its slice
//! ([`PendingStatus`]; at 350 instances a debug build needs tens of
//! milliseconds for all of them), and one worker thread turns the snapshot
//! into JSON text, then wakes the loop with the finished line. The
//! control server takes no further request from a connection until its
//! answer is queued, so answers stay in request order. The rows of one
//! answer may be read a few milliseconds apart.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::Instant;

use anyhow::Context;
use mio::Waker;

use vrrp_fsm::RouterId;

use super::Daemon;
use super::status::{InstanceStatus, Snapshot};
use crate::control::{ConnId, Response};

/// Instance rows built per time check.
const ROWS_PER_STEP: usize = 8;

/// A `status` answer being built.
pub(super) struct PendingStatus {
    id: ConnId,
    ids: Vec<RouterId>,
    next: usize,
    built: Vec<InstanceStatus>,
}

impl Daemon {
    /// Queues a `status` answer for connection `id`.
    pub(super) fn queue_status(&mut self, id: ConnId) {
        let ids = self.insts.ids();
        let built = Vec::with_capacity(ids.len());
        self.pending_status.push_back(PendingStatus {
            id,
            ids,
            next: 0,
            built,
        });
    }

    /// Builds rows of the queued `status` answers until `until`, and hands
    /// each finished snapshot to the render thread; false if none was
    /// queued.
    pub(super) fn build_status(&mut self, until: Instant) -> bool {
        if self.pending_status.is_empty() {
            return false;
        }
        while let Some(mut p) = self.pending_status.pop_front() {
            while p.next < p.ids.len() {
                if Instant::now() >= until {
                    self.pending_status.push_front(p);
                    return true;
                }
                let end = (p.next + ROWS_PER_STEP).min(p.ids.len());
                for &rid in p.ids.get(p.next..end).unwrap_or_default() {
                    p.built.extend(self.instance_status(rid));
                }
                p.next = end;
            }
            let snap = self.snapshot_of(p.built);
            if let Err(snap) = self.renderer.submit(p.id, snap) {
                let line = status_line(&snap);
                let now = Instant::now();
                self.control
                    .respond_line(self.poll.registry(), p.id, line, now);
            }
        }
        true
    }
}

/// A rendered answer: for whom, and the JSON line.
pub(super) type Rendered = (ConnId, Vec<u8>);

/// The loop's handle on the render thread.
pub(super) struct Renderer {
    jobs: Sender<(ConnId, Box<Snapshot>)>,
    done: Receiver<Rendered>,
}

impl Renderer {
    /// Starts the thread; finished answers wake the loop with `waker`.
    pub(super) fn new(waker: Arc<Waker>) -> anyhow::Result<Self> {
        let (jobs, rx) = channel::<(ConnId, Box<Snapshot>)>();
        let (tx, done) = channel();
        std::thread::Builder::new()
            .name("vrrpd-render".into())
            .spawn(move || {
                while let Ok((id, snap)) = rx.recv() {
                    if tx.send((id, status_line(&snap))).is_err() {
                        return;
                    }
                    let _ = waker.wake();
                }
            })
            .context("starting the render thread")?;
        Ok(Renderer { jobs, done })
    }

    /// Queues `snap` to be rendered as connection `id`'s answer; the
    /// snapshot comes back if the thread is gone.
    pub(super) fn submit(&self, id: ConnId, snap: Snapshot) -> Result<(), Box<Snapshot>> {
        self.jobs.send((id, Box::new(snap))).map_err(|e| e.0.1)
    }

    /// A finished answer, if any.
    pub(super) fn take(&self) -> Option<Rendered> {
        self.done.try_recv().ok()
    }
}

/// The `status` answer line for `snap`.
pub(super) fn status_line(snap: &Snapshot) -> Vec<u8> {
    let resp = match serde_json::to_value(snap) {
        Ok(v) => Response::ok(Some(v)),
        Err(e) => Response::error(format!("status: {e}")),
    };
    // Serialising our own types cannot fail; an empty line is the fallback.
    let mut line = serde_json::to_vec(&resp).unwrap_or_default();
    line.push(b'\n');
    line
}
