//! A standalone driver: the [`Checker`] on its own `mio::Poll`.

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use mio::{Events, Poll};

use crate::checker::{CheckEvent, Checker};
use crate::error::Error;

/// Token base used by [`Runner`] (it has no other sources).
pub const RUNNER_TOKEN_BASE: usize = 0;

/// Owns a `mio::Poll` and a [`Checker`], for programs that only run checks.
#[derive(Debug)]
pub struct Runner {
    poll: Poll,
    events: Events,
    checker: Checker,
}

impl Runner {
    /// A runner with no checks.
    pub fn new() -> Result<Self, Error> {
        let poll = Poll::new().map_err(|e| Error::io("create mio poll", e))?;
        let checker = Checker::new(poll.registry(), RUNNER_TOKEN_BASE)?;
        Ok(Self {
            poll,
            events: Events::with_capacity(256),
            checker,
        })
    }

    /// The checker (add checks, read states).
    pub fn checker(&mut self) -> &mut Checker {
        &mut self.checker
    }

    /// Runs one loop iteration: waits at most `max_wait` (and no later than
    /// the next check deadline), dispatches readiness and timers, and passes
    /// each resulting event to `on_event`.
    pub fn turn(
        &mut self,
        max_wait: Duration,
        on_event: &mut dyn FnMut(&Checker, CheckEvent) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>, Error> {
        let now = Instant::now();
        let wait = self
            .checker
            .poll_timeout()
            .map(|t| t.saturating_duration_since(now))
            .map_or(max_wait, |d| d.min(max_wait));
        match self.poll.poll(&mut self.events, Some(wait)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io("mio poll", e)),
        }
        let now = Instant::now();
        for ev in self.events.iter() {
            self.checker.handle_event(ev.token(), now);
        }
        self.checker.handle_timeout(Instant::now());
        while let Some(ev) = self.checker.poll_event() {
            if on_event(&self.checker, ev).is_break() {
                return Ok(ControlFlow::Break(()));
            }
        }
        Ok(ControlFlow::Continue(()))
    }

    /// Runs until `deadline`, or until `on_event` breaks.
    pub fn run_until(
        &mut self,
        deadline: Instant,
        mut on_event: impl FnMut(&Checker, CheckEvent) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>, Error> {
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Ok(ControlFlow::Continue(()));
            }
            if self.turn(deadline - now, &mut on_event)?.is_break() {
                return Ok(ControlFlow::Break(()));
            }
        }
    }
}
