//! systemd readiness notification (`sd_notify(3)` protocol, without libsystemd).
//!
//! With `Type=notify` in the unit, systemd waits for `READY=1` before it
//! considers vrrpd started, and `STOPPING=1` tells it a stop is under way.
//! With `WatchdogSec=`, [`Watchdog`] sends `WATCHDOG=1` from the daemon's
//! loop at half the interval; the loop also sends a `STATUS=` line with the
//! instances' states on each change. Outside systemd (`NOTIFY_SOCKET`
//! unset) every call does nothing.

use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::{Duration, Instant};

/// Sends `state` (e.g. `"READY=1"`) to `$NOTIFY_SOCKET`, if it is set.
pub fn notify(state: &str) -> io::Result<()> {
    match std::env::var_os("NOTIFY_SOCKET") {
        Some(path) => notify_to(&path.to_string_lossy(), state),
        None => Ok(()),
    }
}

/// Sends `state` to the notification socket `path`; a leading `@` names an
/// abstract socket, as systemd writes it.
pub fn notify_to(path: &str, state: &str) -> io::Result<()> {
    let addr = match path.strip_prefix('@') {
        Some(name) => SocketAddr::from_abstract_name(name.as_bytes())?,
        None => SocketAddr::from_pathname(path)?,
    };
    let sock = UnixDatagram::unbound()?;
    // systemd reads at once; a full queue must not stall the loop.
    sock.set_nonblocking(true)?;
    sock.send_to_addr(state.as_bytes(), &addr)?;
    Ok(())
}

/// systemd's watchdog (`WatchdogSec=` sets `WATCHDOG_USEC`): pinged with
/// `WATCHDOG=1` at half the interval, from the loop, so a stuck loop stops
/// the pings and systemd restarts the daemon.
#[derive(Debug, Clone)]
pub struct Watchdog {
    socket: String,
    period: Duration,
    next: Instant,
}

impl Watchdog {
    /// The watchdog systemd asks for, if any: `NOTIFY_SOCKET` and
    /// `WATCHDOG_USEC` set, and `WATCHDOG_PID` (when set) this process.
    pub fn from_env() -> Option<Self> {
        let socket = std::env::var("NOTIFY_SOCKET").ok()?;
        let usec = std::env::var("WATCHDOG_USEC").ok()?;
        let pid = std::env::var("WATCHDOG_PID").ok();
        Self::new(
            socket,
            &usec,
            pid.as_deref(),
            std::process::id(),
            Instant::now(),
        )
    }

    /// The watchdog of `WATCHDOG_USEC = usec` for process `me`; `None` when
    /// the value is not a positive number or `pid` names another process.
    pub fn new(
        socket: String,
        usec: &str,
        pid: Option<&str>,
        me: u32,
        now: Instant,
    ) -> Option<Self> {
        if pid.is_some_and(|p| p.trim().parse::<u32>().ok() != Some(me)) {
            return None;
        }
        let usec: u64 = usec.trim().parse().ok().filter(|u| *u > 0)?;
        let period = Duration::from_micros(usec / 2);
        Some(Watchdog {
            socket,
            period,
            next: now,
        })
    }

    /// The interval between pings (half of `WATCHDOG_USEC`).
    pub fn period(&self) -> Duration {
        self.period
    }

    /// When the next ping is due.
    pub fn next(&self) -> Instant {
        self.next
    }

    /// Sends `WATCHDOG=1` if it is due; true if one was sent.
    pub fn ping_if_due(&mut self, now: Instant) -> bool {
        if now < self.next {
            return false;
        }
        self.next = now + self.period;
        notify_to(&self.socket, "WATCHDOG=1").is_ok()
    }
}

/// The `STATUS=` line of the daemon: each instance's state, by name
/// (`VI_1 master, VI_2 backup`), cut to stay one short line.
pub fn status_line<'a>(states: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    const MAX: usize = 200;
    let mut parts: Vec<String> = states
        .into_iter()
        .map(|(name, state)| format!("{name} {state}"))
        .collect();
    parts.sort();
    let mut out = String::from("STATUS=");
    for (i, p) in parts.iter().enumerate() {
        let sep = if i == 0 { "" } else { ", " };
        if out.len() + sep.len() + p.len() > MAX {
            out.push_str(&format!("{sep}and {} more", parts.len() - i));
            break;
        }
        out.push_str(sep);
        out.push_str(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_reaches_a_path_socket_and_an_abstract_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let rx = UnixDatagram::bind(&path).unwrap();
        notify_to(&path.to_string_lossy(), "READY=1").unwrap();
        let mut buf = [0u8; 64];
        let n = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");

        let name = format!("vrrpd-test-{}", std::process::id());
        let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let rx = UnixDatagram::bind_addr(&addr).unwrap();
        notify_to(&format!("@{name}"), "STOPPING=1").unwrap();
        let n = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"STOPPING=1");
    }

    #[test]
    fn a_missing_socket_is_an_error_not_a_panic() {
        assert!(notify_to("/nonexistent/notify", "READY=1").is_err());
    }

    #[test]
    fn the_watchdog_pings_at_half_the_interval_and_only_for_its_pid() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let rx = UnixDatagram::bind(&path).unwrap();
        rx.set_nonblocking(true).unwrap();
        let t0 = Instant::now();
        let sock = path.to_string_lossy().into_owned();
        assert!(Watchdog::new(sock.clone(), "2000000", Some("1"), 2, t0).is_none());
        assert!(Watchdog::new(sock.clone(), "0", None, 2, t0).is_none());
        assert!(Watchdog::new(sock.clone(), "x", None, 2, t0).is_none());
        let mut w = Watchdog::new(sock, "2000000", Some("2"), 2, t0).unwrap();
        assert_eq!(w.period(), Duration::from_secs(1));
        assert!(w.ping_if_due(t0));
        assert_eq!(w.next(), t0 + Duration::from_secs(1));
        assert!(!w.ping_if_due(t0 + Duration::from_millis(999)));
        assert!(w.ping_if_due(t0 + Duration::from_secs(1)));
        let mut buf = [0u8; 64];
        for _ in 0..2 {
            let n = rx.recv(&mut buf).unwrap();
            assert_eq!(&buf[..n], b"WATCHDOG=1");
        }
        assert!(rx.recv(&mut buf).is_err(), "one ping too many");
    }

    #[test]
    fn the_status_line_names_every_state_and_stays_short() {
        assert_eq!(
            status_line([("VI_2", "backup"), ("VI_1", "master")]),
            "STATUS=VI_1 master, VI_2 backup"
        );
        let many: Vec<(String, &str)> = (0..100)
            .map(|i| (format!("inst{i:03}"), "backup"))
            .collect();
        let line = status_line(many.iter().map(|(n, s)| (n.as_str(), *s)));
        assert!(line.len() < 230 && line.ends_with(" more"), "{line}");
    }
}
