//! Serializing `status` answers off the loop. The loop builds the typed
//! [`Snapshot`] (cheap: copies of what it holds); turning it into JSON
//! text (the expensive part with many instances and checks) happens on
//! one worker thread, which wakes the loop with the finished line. The
//! control server takes no further request from a connection until its
//! answer is queued, so answers stay in request order.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

use anyhow::Context;
use mio::Waker;

use super::status::Snapshot;
use crate::control::{ConnId, Response};

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
