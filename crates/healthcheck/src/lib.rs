//! Health checks that drive VRRP priority: exec scripts, TCP connect, HTTP
//! and HTTPS GET (status, substring, MD5 of the body), ICMP echo,
//! interface state and tracked files, each with interval, timeout, rise,
//! fall, weight, `reverse` and `init_fail` in keepalived's sense, all run
//! from one non-blocking mio loop.
//!
//! # What it does
//!
//! * [`state`]: the pure part. [`CheckState::record`] applies rise/fall
//!   hysteresis to probe results; [`effective_priority`] turns check states
//!   and weights into an effective priority with a per-check breakdown
//!   ("why is my priority X"), following keepalived's documented rules
//!   (cited in the module docs).
//! * [`Checker`]: the scheduler. It owns no thread and no poll: the daemon
//!   passes its `mio::Registry`, routes readiness events to
//!   [`Checker::handle_event`], sleeps until [`Checker::poll_timeout`], calls
//!   [`Checker::handle_timeout`] and drains [`Checker::poll_event`].
//!   Children of exec checks are watched through pidfds and reaped without
//!   blocking; on timeout their whole process group is killed.
//! * [`process`]: the supervised child (own process group, pidfd, group
//!   kill, non-blocking reap) that exec checks use, public for daemons that
//!   run other children (notify hooks) the same way.
//! * [`Runner`]: the same on a private `mio::Poll`, for standalone use.
//!
//! ```no_run
//! use std::time::{Duration, Instant};
//! use healthcheck::{CheckKind, CheckSpec, Runner, TcpSpec};
//!
//! let mut runner = Runner::new()?;
//! let id = runner.checker().add(
//!     CheckSpec::new("web", CheckKind::Tcp(TcpSpec { addr: "127.0.0.1:80".parse()? }))
//!         .interval(Duration::from_millis(500))
//!         .fall(3)
//!         .rise(2)
//!         .weight(-20),
//!     Instant::now(),
//! )?;
//! runner.run_until(Instant::now() + Duration::from_secs(5), |checker, event| {
//!     println!("{event}; {}", checker.breakdown(100, &[id.into()]));
//!     std::ops::ControlFlow::Continue(())
//! })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What it does not do
//!
//! * It does not speak VRRP or change any instance: it reports states and
//!   priorities; the daemon feeds them to `vrrp-fsm`. It depends on no
//!   `vrrp-*` crate.
//! * It reads no configuration file and does no logging; it spawns no
//!   threads and installs no signal handlers.
//! * Exec checks need Linux 5.3+ (pidfd). A program that leaves its process
//!   group (`setsid`, `setpgid`) escapes the timeout kill.
//! * The HTTP client is for health checks only: HTTP/1.1 over TCP or TLS
//!   (rustls), no redirects, no keep-alive. Like keepalived's `SSL_GET`,
//!   HTTPS checks do not verify the server's certificate.
//! * File checks poll the file at their interval (keepalived uses inotify).

pub mod checker;
pub mod error;
pub mod probe;
pub mod process;
pub mod run;
pub mod spec;
pub mod state;

pub use checker::{CheckEvent, CheckId, Checker, Stats, TrackedCheck};
pub use error::{ConfigError, Error};
pub use probe::{BodyDigest, Detail, OsFailure, ProbeResult};
pub use run::Runner;
pub use spec::{
    CheckKind, CheckSpec, ExecSpec, FileSpec, HttpSpec, IcmpMode, IcmpSpec, InterfaceSpec,
    ParamMatch, ProcessSpec, RunAs, TcpSpec, TlsSpec,
};
pub use state::{
    CheckState, Contribution, InitialState, Outcome, Policy, PriorityBreakdown, Status, Transition,
    Weight, Weighting, effective_priority,
};
