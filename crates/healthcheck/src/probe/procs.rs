//! Process probes (keepalived `vrrp_track_process`): count the running
//! processes that match, once per interval, from `/proc`.

use std::path::Path;

use super::{Detail, OsFailure};
use crate::spec::{ParamMatch, ProcessSpec};
use crate::state::Outcome;

/// The kernel's limit on `/proc/PID/comm` (TASK_COMM_LEN 16 with the NUL).
const COMM_LEN: usize = 15;

/// Counts the matching processes now.
pub(crate) fn probe(spec: &ProcessSpec) -> (Outcome, Detail) {
    let entries = match std::fs::read_dir(&spec.proc_dir) {
        Ok(e) => e,
        Err(e) => {
            return (
                Outcome::Failure,
                Detail::Os(OsFailure::new("read /proc", &e)),
            );
        }
    };
    let by_cmdline = spec.full_command || spec.args.is_some();
    let mut count: u32 = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        // A process that exits while it is read is simply not counted.
        if matches_process(&entry.path(), spec, by_cmdline) == Some(true) {
            count = count.saturating_add(1);
        }
    }
    let ok = count >= spec.quorum && spec.quorum_max.is_none_or(|m| count <= m);
    let outcome = if ok {
        Outcome::Success
    } else {
        Outcome::Failure
    };
    (outcome, Detail::Processes(count))
}

/// Whether the process at `dir` (`/proc/PID`) matches; `None` if it went
/// away or is a zombie.
fn matches_process(dir: &Path, spec: &ProcessSpec, by_cmdline: bool) -> Option<bool> {
    let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
    // "PID (comm) S ...": the state follows the last ')'.
    let state = stat.rsplit_once(')')?.1.trim_start().chars().next()?;
    if state == 'Z' || state == 'X' {
        return None;
    }
    if by_cmdline {
        let raw = std::fs::read(dir.join("cmdline")).ok()?;
        Some(cmdline_matches(&raw, spec))
    } else {
        let comm = std::fs::read_to_string(dir.join("comm")).ok()?;
        Some(comm_matches(comm.trim_end_matches('\n'), &spec.name))
    }
}

/// The process name against the configured one, as the kernel truncates
/// names to 15 bytes.
pub(crate) fn comm_matches(comm: &str, name: &str) -> bool {
    let cut = |s: &str| -> Vec<u8> { s.bytes().take(COMM_LEN).collect() };
    cut(comm) == cut(name)
}

/// A NUL-separated command line against the program and arguments.
pub(crate) fn cmdline_matches(raw: &[u8], spec: &ProcessSpec) -> bool {
    let raw = raw.strip_suffix(&[0]).unwrap_or(raw);
    if raw.is_empty() {
        // Kernel threads have no command line.
        return false;
    }
    let mut words = raw.split(|b| *b == 0);
    if words.next() != Some(spec.name.as_bytes()) {
        return false;
    }
    let Some(want) = &spec.args else {
        return true;
    };
    let have: Vec<&[u8]> = words.collect();
    match spec.param_match {
        ParamMatch::Exact => {
            have.len() == want.len() && have.iter().zip(want).all(|(h, w)| *h == w.as_bytes())
        }
        ParamMatch::Partial => {
            have.len() >= want.len() && have.iter().zip(want).all(|(h, w)| *h == w.as_bytes())
        }
        ParamMatch::Initial => {
            let Some((last, first)) = want.split_last() else {
                return true;
            };
            have.len() >= want.len()
                && have.iter().zip(first).all(|(h, w)| *h == w.as_bytes())
                && have[first.len()].starts_with(last.as_bytes())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, args: Option<&[&str]>, m: ParamMatch) -> ProcessSpec {
        ProcessSpec {
            args: args.map(|a| a.iter().map(|s| (*s).to_owned()).collect()),
            param_match: m,
            ..ProcessSpec::new(name)
        }
    }

    #[test]
    fn names_match_exactly_up_to_the_kernel_limit() {
        assert!(comm_matches("nginx", "nginx"));
        // keepalived: an exact match, not pgrep's pattern.
        assert!(!comm_matches("sshd", "ssh"));
        assert!(comm_matches("a-very-long-nam", "a-very-long-name-indeed"));
    }

    #[test]
    fn command_lines_match_as_param_match_says() {
        let line = b"/usr/sbin/haproxy\0-f\0/etc/haproxy/haproxy.cfg\0";
        let exact = spec(
            "/usr/sbin/haproxy",
            Some(&["-f", "/etc/haproxy/haproxy.cfg"]),
            ParamMatch::Exact,
        );
        assert!(cmdline_matches(line, &exact));
        let short = spec("/usr/sbin/haproxy", Some(&["-f"]), ParamMatch::Exact);
        assert!(!cmdline_matches(line, &short));
        let partial = spec("/usr/sbin/haproxy", Some(&["-f"]), ParamMatch::Partial);
        assert!(cmdline_matches(line, &partial));
        let initial = spec(
            "/usr/sbin/haproxy",
            Some(&["-f", "/etc/haproxy/"]),
            ParamMatch::Initial,
        );
        assert!(cmdline_matches(line, &initial));
        let none = spec("/usr/sbin/haproxy", Some(&[]), ParamMatch::Exact);
        assert!(!cmdline_matches(line, &none));
        let any = ProcessSpec {
            full_command: true,
            ..ProcessSpec::new("/usr/sbin/haproxy")
        };
        assert!(cmdline_matches(line, &any));
        assert!(!cmdline_matches(b"", &any));
        assert!(!cmdline_matches(b"haproxy\0", &any));
    }

    #[test]
    fn quorum_counts_this_process() {
        // This test binary runs (once at least) under its own comm name.
        let comm = std::fs::read_to_string("/proc/self/comm").unwrap_or_default();
        let comm = comm.trim_end();
        let mut s = ProcessSpec::new(comm);
        let (o, d) = probe(&s);
        assert_eq!(o, Outcome::Success, "{d}");
        s.quorum_max = Some(0);
        s.quorum = 0;
        assert_eq!(probe(&s).0, Outcome::Failure);
        let missing = ProcessSpec::new("no-such-process-x");
        assert_eq!(probe(&missing), (Outcome::Failure, Detail::Processes(0)));
    }
}
