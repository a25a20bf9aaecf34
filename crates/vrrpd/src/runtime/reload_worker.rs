//! Reading a configuration off the loop: on SIGHUP a worker thread reads,
//! parses and validates the file (the slow part: a large or broken file
//! takes seconds), and wakes the loop with the result; the loop only
//! applies it. One read runs at a time; a SIGHUP during one asks for
//! another after it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

use mio::Waker;

use crate::config::{self, Config};

/// What the worker read: the configuration, or the one-record summary of
/// why it was refused.
pub(super) type ReadResult = Result<Config, String>;

/// The worker's handle, owned by the loop.
pub(super) struct ReloadWorker {
    waker: Arc<Waker>,
    tx: Sender<ReadResult>,
    rx: Receiver<ReadResult>,
    busy: bool,
    again: bool,
}

impl ReloadWorker {
    /// A finished read wakes the loop with `waker`.
    pub(super) fn new(waker: Arc<Waker>) -> Self {
        let (tx, rx) = channel();
        ReloadWorker {
            waker,
            tx,
            rx,
            busy: false,
            again: false,
        }
    }

    /// Starts reading `path` on a worker thread, or, if a read is running,
    /// notes that another is wanted. False if no thread could be started.
    pub(super) fn start(&mut self, path: &Path) -> bool {
        if self.busy {
            self.again = true;
            return true;
        }
        let (tx, waker, path): (_, _, PathBuf) =
            (self.tx.clone(), self.waker.clone(), path.to_owned());
        let spawned = std::thread::Builder::new()
            .name("vrrpd-reload".into())
            .spawn(move || {
                let got = config::load(&path).map_err(|e| e.summary());
                let _ = tx.send(got);
                let _ = waker.wake();
            });
        self.busy = spawned.is_ok();
        self.busy
    }

    /// The finished read, if any; and whether another was asked for
    /// meanwhile (the caller starts it).
    pub(super) fn take(&mut self) -> Option<(ReadResult, bool)> {
        let got = self.rx.try_recv().ok()?;
        self.busy = false;
        let again = std::mem::take(&mut self.again);
        Some((got, again))
    }
}
