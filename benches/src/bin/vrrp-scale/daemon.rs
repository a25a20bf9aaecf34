//! The two daemons under comparison: equivalent configurations, starting
//! them in a namespace, their process trees, and their state-transition
//! log lines.

use std::fmt::Write as _;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::sys;
use crate::topo::instance;

/// Which daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// This project's daemon.
    Vrrpd,
    /// keepalived (VRRP only), the reference.
    Keepalived,
}

impl Kind {
    /// Parses `vrrpd` or `keepalived`.
    pub(crate) fn parse(s: &str) -> Result<Kind> {
        match s.trim() {
            "vrrpd" => Ok(Kind::Vrrpd),
            "keepalived" => Ok(Kind::Keepalived),
            other => bail!("unknown daemon {other:?} (vrrpd or keepalived)"),
        }
    }

    /// Its name in tables and file names.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Vrrpd => "vrrpd",
            Kind::Keepalived => "keepalived",
        }
    }
}

/// What both hosts run: `n` VRRPv3 IPv4 instances at `interval_ms`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Setup {
    /// Number of instances.
    pub(crate) n: usize,
    /// Advertisement interval, ms.
    pub(crate) interval_ms: u32,
}

/// vrrpd's TOML for one host (docs/config.md); everything not listed is
/// the default (preempt on, GARP delay 5 s, repeat 5).
pub(crate) fn vrrpd_config(s: Setup, priority: u8, socket: &Path) -> String {
    let mut t = format!("[global]\ncontrol_socket = \"{}\"\n\n", socket.display());
    for i in 0..s.n {
        let (seg, vrid, vip) = instance(i);
        let _ = write!(
            t,
            "[[instance]]\nname = \"vi{i}\"\ninterface = \"eth{seg}\"\nvrid = {vrid}\n\
             version = 3\npriority = {priority}\nadvert_interval = \"{}ms\"\n\
             virtual_addresses = [\"{vip}/32\"]\n\n",
            s.interval_ms
        );
    }
    t
}

/// keepalived's configuration for one host, equivalent to [`vrrpd_config`]
/// (keepalived's defaults: preempt, GARP delay 5 s, repeat 5).
pub(crate) fn keepalived_config(s: Setup, priority: u8) -> String {
    let mut t = String::from("global_defs {\n  vrrp_version 3\n}\n\n");
    let advert = f64::from(s.interval_ms) / 1000.0;
    for i in 0..s.n {
        let (seg, vrid, vip) = instance(i);
        let _ = write!(
            t,
            "vrrp_instance vi{i} {{\n  state BACKUP\n  interface eth{seg}\n  \
             virtual_router_id {vrid}\n  version 3\n  priority {priority}\n  \
             advert_int {advert}\n  virtual_ipaddress {{\n    {vip}/32\n  }}\n}}\n"
        );
    }
    t
}

/// Whether a log line reports a state transition of an instance: vrrpd's
/// `vi12: backup -> master (reason)`, keepalived's
/// `(vi12) Entering MASTER STATE` (also BACKUP and FAULT).
pub(crate) fn is_transition(kind: Kind, line: &str) -> bool {
    match kind {
        Kind::Vrrpd => {
            const STATES: [&str; 4] = ["initialize", "backup", "master", "fault"];
            let Some(pos) = line.find(" -> ") else {
                return false;
            };
            let before = &line[..pos];
            let after = &line[pos + 4..];
            let from = before.rsplit(' ').next().unwrap_or("");
            let to = after.split(' ').next().unwrap_or("");
            let name = before[..before.len() - from.len()].trim_end();
            STATES.contains(&from)
                && STATES.contains(&to)
                && name.ends_with(':')
                && name.rsplit(' ').next().is_some_and(|w| w.starts_with("vi"))
        }
        Kind::Keepalived => {
            line.contains("Entering MASTER STATE")
                || line.contains("Entering BACKUP STATE")
                || line.contains("Entering FAULT STATE")
        }
    }
}

/// Transition lines that start at byte offsets in `from..to` of `text`.
pub(crate) fn count_transitions(kind: Kind, text: &[u8], from: u64, to: u64) -> usize {
    let mut count = 0;
    let mut offset = 0u64;
    for line in text.split(|&b| b == b'\n') {
        if offset >= from && offset < to && is_transition(kind, &String::from_utf8_lossy(line)) {
            count += 1;
        }
        offset += line.len() as u64 + 1;
    }
    count
}

/// A running daemon on one host. Dropping it stops it (SIGTERM, then
/// SIGKILL after 10 s).
#[derive(Debug)]
pub(crate) struct Daemon {
    /// Which daemon.
    pub(crate) kind: Kind,
    child: Child,
    /// Its log (stdout and stderr).
    pub(crate) log: PathBuf,
    exited: bool,
}

impl Daemon {
    /// Writes the configuration for host `host` (`a` or `b`) into `dir` and
    /// starts the daemon in namespace `ns`.
    pub(crate) fn start(
        kind: Kind,
        vrrpd_bin: &Path,
        ns: &str,
        dir: &Path,
        host: &str,
        setup: Setup,
        priority: u8,
    ) -> Result<Daemon> {
        let log = dir.join(format!("{}-{host}.log", kind.name()));
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", ns]);
        match kind {
            Kind::Vrrpd => {
                let sock = dir.join(format!("{host}.sock"));
                let cfg = dir.join(format!("{host}.toml"));
                std::fs::write(&cfg, vrrpd_config(setup, priority, &sock))
                    .with_context(|| format!("writing {}", cfg.display()))?;
                cmd.arg(vrrpd_bin).arg("run").arg("-c").arg(&cfg);
                cmd.env("RUST_LOG", "info");
            }
            Kind::Keepalived => {
                let cfg = dir.join(format!("{host}.conf"));
                std::fs::write(&cfg, keepalived_config(setup, priority))
                    .with_context(|| format!("writing {}", cfg.display()))?;
                let pid = |s: &str| dir.join(format!("{host}.{s}.pid"));
                cmd.args(["keepalived", "-n", "-l", "-G", "-P", "-f"])
                    .arg(&cfg)
                    .arg("-p")
                    .arg(pid("main"))
                    .arg("-r")
                    .arg(pid("vrrp"))
                    .arg("-c")
                    .arg(pid("chk"));
            }
        }
        let out = File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let err = out.try_clone()?;
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        sys::die_with_parent(&mut cmd, libc::SIGTERM);
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {} in {ns}", kind.name()))?;
        Ok(Daemon {
            kind,
            child,
            log,
            exited: false,
        })
    }

    /// The pid started (`ip netns exec` execs, so this is the daemon).
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// True while the daemon's main process runs.
    pub(crate) fn alive(&mut self) -> bool {
        if self.exited {
            return false;
        }
        if let Ok(Some(_)) = self.child.try_wait() {
            self.exited = true;
        }
        !self.exited
    }

    /// The daemon and all its descendants.
    pub(crate) fn pids(&self) -> Vec<u32> {
        if self.exited {
            return Vec::new();
        }
        sys::process_tree(self.pid())
    }

    /// Current length of the log, for counting lines between two moments.
    pub(crate) fn log_len(&self) -> u64 {
        std::fs::metadata(&self.log).map_or(0, |m| m.len())
    }

    /// State transitions logged between two log lengths.
    pub(crate) fn transitions(&self, from: u64, to: u64) -> Result<usize> {
        let text =
            std::fs::read(&self.log).with_context(|| format!("reading {}", self.log.display()))?;
        Ok(count_transitions(self.kind, &text, from, to))
    }

    /// The last lines of the log, for error messages.
    pub(crate) fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Sends SIGTERM (graceful stop).
    pub(crate) fn terminate(&mut self) {
        if self.alive() {
            sys::kill(self.pid(), libc::SIGTERM);
        }
    }

    /// Stops the daemon: SIGTERM, wait up to `grace`, then SIGKILL. Returns
    /// whether it exited by itself.
    pub(crate) fn stop(&mut self, grace: Duration) -> bool {
        if !self.alive() {
            return true;
        }
        self.terminate();
        let end = Instant::now() + grace;
        while Instant::now() < end {
            if !self.alive() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.exited = true;
        false
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(10));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vrrpd_transition_lines() {
        let k = Kind::Vrrpd;
        assert!(is_transition(
            k,
            "2026-11-22T07:00:00.123Z  INFO vrrpd::runtime: vi12: backup -> master (master-down timer expired)"
        ));
        assert!(is_transition(k, "vi0: initialize -> backup (startup)"));
        assert!(!is_transition(k, "vi0: sent 3 -> 4 adverts"));
        assert!(!is_transition(k, "config: backup -> master"));
        assert!(!is_transition(k, "INFO starting 1000 instances"));
    }

    #[test]
    fn keepalived_transition_lines() {
        let k = Kind::Keepalived;
        assert!(is_transition(
            k,
            "Sun Nov 22 07:00:00 2026: (vi12) Entering MASTER STATE"
        ));
        assert!(is_transition(k, "(vi1) Entering BACKUP STATE (init)"));
        assert!(is_transition(k, "(vi1) Entering FAULT STATE"));
        assert!(!is_transition(k, "(vi1) received lower priority advert"));
    }

    #[test]
    fn counts_only_lines_starting_in_window() {
        let text = b"vi0: initialize -> backup (startup)\nvi0: backup -> master (timer)\nvi0: master -> backup (preempted)\n";
        let first = 36u64; // start of line 2
        assert_eq!(count_transitions(Kind::Vrrpd, text, 0, u64::MAX), 3);
        assert_eq!(count_transitions(Kind::Vrrpd, text, first, u64::MAX), 2);
        assert_eq!(count_transitions(Kind::Vrrpd, text, 1, first), 0);
        assert_eq!(count_transitions(Kind::Vrrpd, text, 0, first), 1);
    }

    #[test]
    fn configs_are_equivalent() {
        let s = Setup {
            n: 251,
            interval_ms: 100,
        };
        let v = vrrpd_config(s, 200, Path::new("/tmp/x.sock"));
        let k = keepalived_config(s, 200);
        assert_eq!(v.matches("[[instance]]").count(), 251);
        assert_eq!(k.matches("vrrp_instance").count(), 251);
        assert!(v.contains("name = \"vi250\"\ninterface = \"eth1\"\nvrid = 1\n"));
        assert!(k.contains(
            "vrrp_instance vi250 {\n  state BACKUP\n  interface eth1\n  virtual_router_id 1\n"
        ));
        assert!(v.contains("advert_interval = \"100ms\""));
        assert!(k.contains("advert_int 0.1\n"));
        assert!(v.contains("\"10.101.1.1/32\""));
        assert!(k.contains("    10.101.1.1/32\n"));
    }
}
