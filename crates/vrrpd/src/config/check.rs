//! `[[check]]` and `[[sync_group]]`, and the commands of hooks and checks.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

use super::model::{Check, CheckKind, Hooks, ParamMatch, SyncGroup};
use super::raw::{Argv, HookKeys, RawCheck, RawSyncGroup};
use super::validate::Cx;

/// A check's interval, timeout, rise, fall and weight.
struct Timing {
    interval: Duration,
    timeout: Duration,
    rise: u32,
    fall: u32,
    weight: i32,
}

/// The values of a check's `type`.
const CHECK_TYPES: [&str; 7] = [
    "exec",
    "tcp",
    "http",
    "icmp",
    "interface",
    "file",
    "process",
];

impl Cx {
    /// A command: its program must be an absolute path (a rule of the
    /// file) naming an executable (a rule of the host).
    pub(crate) fn argv(&mut self, a: &Spanned<Argv>, what: &str) -> Vec<String> {
        let argv = a.get_ref().0.clone();
        if let Some(prog) = argv.first() {
            if Path::new(prog).is_absolute() {
                self.program_exists(a, what, prog);
            } else {
                self.at(
                    a,
                    format!("{what}: {prog:?} must be an absolute path (no PATH lookup is done)"),
                );
            }
        }
        argv
    }

    pub(crate) fn hooks<T: HookKeys>(&mut self, raw: &T) -> Hooks {
        let mut out = Hooks {
            smtp_alert: raw.smtp_alert(),
            priority_changes: raw.priority_changes().map(|b| *b.get_ref()),
            ..Hooks::default()
        };
        for (key, value) in raw.hook_keys() {
            let Some(a) = value else { continue };
            let argv = Some(self.argv(a, key));
            match key {
                "notify_master" => out.master = argv,
                "notify_backup" => out.backup = argv,
                "notify_fault" => out.fault = argv,
                "notify_stop" => out.stop = argv,
                _ => out.generic = argv,
            }
        }
        out
    }

    pub(crate) fn check(&mut self, spanned: &Spanned<RawCheck>) -> Option<Check> {
        let before = self.diags.len();
        let rc = spanned.get_ref();
        let name = self.required(spanned, rc.name.as_ref(), "a check", "name");
        let Some(kind_key) = &rc.kind else {
            self.at(
                spanned,
                "a check needs `type` (exec, tcp, http, icmp, interface, file or process)",
            );
            return None;
        };
        let allowed = self.check_type(kind_key)?;
        self.foreign_check_keys(rc, kind_key.get_ref(), allowed);
        let timing = self.check_timing(rc);
        if let Some(n) = rc.name.as_ref().filter(|n| n.get_ref().is_empty()) {
            self.at(n, "a check name cannot be empty");
        }
        let kind = self.check_kind(rc, kind_key)?;
        if self.diags.len() != before {
            return None;
        }
        Some(Check {
            name: name?,
            kind,
            interval: timing.interval,
            timeout: timing.timeout,
            rise: timing.rise,
            fall: timing.fall,
            weight: timing.weight,
            reverse: rc.reverse.as_ref().is_some_and(|r| *r.get_ref()),
            init_fail: rc.init_fail.as_ref().is_some_and(|r| *r.get_ref()),
        })
    }

    /// The keys a check of `type` takes; an unknown type is reported
    /// (with the closest known one) and gives `None`.
    fn check_type(&mut self, kind_key: &Spanned<String>) -> Option<&'static [&'static str]> {
        Some(match kind_key.get_ref().as_str() {
            "exec" => &["command", "shell", "user", "env"],
            "tcp" => &["address", "port"],
            "http" => &[
                "address",
                "port",
                "host",
                "path",
                "expect_status",
                "expect_body",
            ],
            "icmp" => &["address"],
            "interface" => &["interface"],
            "file" => &["path"],
            "process" => &[
                "process",
                "args",
                "param_match",
                "full_command",
                "quorum",
                "quorum_max",
            ],
            other => {
                let hint = super::suggest::closest(other, CHECK_TYPES)
                    .map_or_else(String::new, |k| format!("; did you mean {k:?}?"));
                self.at(
                    kind_key,
                    format!(
                        "unknown check type {other:?} (exec, tcp, http, icmp, interface, file, process){hint}"
                    ),
                );
                return None;
            }
        })
    }

    /// A key of another kind of check is a mistake, not something to
    /// ignore.
    fn foreign_check_keys(&mut self, rc: &RawCheck, kind: &str, allowed: &[&str]) {
        let present: [(&str, Option<Range<usize>>); 17] = [
            ("command", rc.command.as_ref().map(Spanned::span)),
            ("shell", rc.shell.as_ref().map(Spanned::span)),
            ("user", rc.user.as_ref().map(Spanned::span)),
            ("env", rc.env.as_ref().map(Spanned::span)),
            ("address", rc.address.as_ref().map(Spanned::span)),
            ("port", rc.port.as_ref().map(Spanned::span)),
            ("host", rc.host.as_ref().map(Spanned::span)),
            ("path", rc.path.as_ref().map(Spanned::span)),
            (
                "expect_status",
                rc.expect_status.as_ref().map(Spanned::span),
            ),
            ("expect_body", rc.expect_body.as_ref().map(Spanned::span)),
            ("interface", rc.interface.as_ref().map(Spanned::span)),
            ("process", rc.process.as_ref().map(Spanned::span)),
            ("args", rc.args.as_ref().map(Spanned::span)),
            ("param_match", rc.param_match.as_ref().map(Spanned::span)),
            ("full_command", rc.full_command.as_ref().map(Spanned::span)),
            ("quorum", rc.quorum.as_ref().map(Spanned::span)),
            ("quorum_max", rc.quorum_max.as_ref().map(Spanned::span)),
        ];
        for (key, span) in present {
            if let Some(span) = span {
                if !allowed.contains(&key) {
                    self.error(&span, format!("{key} is not a key of a {kind} check"));
                }
            }
        }
    }

    /// Interval, timeout, rise, fall and weight, with their rules.
    fn check_timing(&mut self, rc: &RawCheck) -> Timing {
        let interval = rc
            .interval
            .as_ref()
            .map_or(Duration::from_secs(1), |d| d.get_ref().0);
        if let Some(d) = &rc.interval {
            if d.get_ref().0 < Duration::from_millis(10) {
                self.at(d, "interval must be at least 10ms");
            }
        }
        let timeout = rc.timeout.as_ref().map_or(interval, |d| d.get_ref().0);
        if let Some(d) = &rc.timeout {
            if d.get_ref().0.is_zero() {
                self.at(d, "timeout must be greater than zero");
            }
        }
        for r in [&rc.rise, &rc.fall].into_iter().flatten() {
            if *r.get_ref() == 0 {
                self.at(r, "rise and fall count probes and must be at least 1");
            }
        }
        if let Some(w) = &rc.weight {
            self.weight(w);
        }
        Timing {
            interval,
            timeout,
            rise: rc.rise.as_ref().map_or(1, |r| *r.get_ref()),
            fall: rc.fall.as_ref().map_or(1, |r| *r.get_ref()),
            weight: rc.weight.as_ref().map_or(0, |w| *w.get_ref()),
        }
    }

    /// "a {kind} check needs `key`", at the check's `type`.
    fn needs(&mut self, kind_key: &Spanned<String>, key: &str) {
        let kind = kind_key.get_ref();
        self.at(kind_key, format!("a {kind} check needs `{key}`"));
    }

    /// The check's `address` as an IP address.
    fn check_ip(&mut self, rc: &RawCheck, kind_key: &Spanned<String>) -> Option<IpAddr> {
        let Some(a) = &rc.address else {
            self.needs(kind_key, "address");
            return None;
        };
        match a.get_ref().parse::<IpAddr>() {
            Ok(ip) => Some(ip),
            Err(_) => {
                self.at(a, format!("{:?} is not an IP address", a.get_ref()));
                None
            }
        }
    }

    /// What the check probes, by `type` (known to be valid).
    fn check_kind(&mut self, rc: &RawCheck, kind_key: &Spanned<String>) -> Option<CheckKind> {
        Some(match kind_key.get_ref().as_str() {
            "exec" => {
                let Some(c) = &rc.command else {
                    self.needs(kind_key, "command");
                    return None;
                };
                let shell = rc.shell.as_ref().is_some_and(|s| *s.get_ref());
                let argv = if shell {
                    c.get_ref().0.clone()
                } else {
                    self.argv(c, "command")
                };
                CheckKind::Exec {
                    argv,
                    shell,
                    user: rc.user.as_ref().map(|u| u.get_ref().clone()),
                    env: rc
                        .env
                        .as_ref()
                        .map_or_else(BTreeMap::new, |e| e.get_ref().clone()),
                }
            }
            "tcp" => CheckKind::Tcp {
                target: self.check_target(rc, kind_key, None)?,
            },
            "http" => {
                let target = self.check_target(rc, kind_key, Some(80))?;
                self.http_check(rc, target)
            }
            "icmp" => CheckKind::Icmp {
                target: self.check_ip(rc, kind_key)?,
            },
            "interface" => {
                let Some(i) = &rc.interface else {
                    self.needs(kind_key, "interface");
                    return None;
                };
                self.interface_name(i);
                self.interface_exists(i);
                CheckKind::Interface {
                    name: i.get_ref().clone(),
                }
            }
            "process" => self.process_check(rc, kind_key)?,
            _ => {
                let Some(p) = &rc.path else {
                    self.needs(kind_key, "path");
                    return None;
                };
                if !Path::new(p.get_ref()).is_absolute() {
                    self.at(p, "a file check's path must be absolute");
                }
                CheckKind::File {
                    path: PathBuf::from(p.get_ref()),
                }
            }
        })
    }

    /// Address and port of a TCP or HTTP check.
    fn check_target(
        &mut self,
        rc: &RawCheck,
        kind_key: &Spanned<String>,
        default_port: Option<u16>,
    ) -> Option<SocketAddr> {
        let ip = self.check_ip(rc, kind_key);
        let port = rc.port.as_ref().map(|p| *p.get_ref()).or(default_port);
        if port.is_none() {
            self.needs(kind_key, "port");
        }
        if let Some(p) = &rc.port {
            if *p.get_ref() == 0 {
                self.at(p, "port must be 1 to 65535");
            }
        }
        Some(SocketAddr::new(ip?, port?))
    }

    /// The HTTP part of an HTTP check: path, expected status, host.
    fn http_check(&mut self, rc: &RawCheck, target: SocketAddr) -> CheckKind {
        let path = rc
            .path
            .as_ref()
            .map_or_else(|| "/".to_owned(), |p| p.get_ref().clone());
        if let Some(p) = &rc.path {
            if !p.get_ref().starts_with('/') || p.get_ref().contains([' ', '\r', '\n']) {
                self.at(
                    p,
                    "an HTTP path starts with '/' and has no spaces or line breaks",
                );
            }
        }
        let expect_status = rc
            .expect_status
            .as_ref()
            .map_or_else(|| vec![200], |s| s.get_ref().clone());
        if let Some(s) = &rc.expect_status {
            if s.get_ref().is_empty() || s.get_ref().iter().any(|c| !(100..=599).contains(c)) {
                self.at(
                    s,
                    "expect_status is a list of HTTP status codes (100 to 599)",
                );
            }
        }
        if let Some(h) = &rc.host {
            if h.get_ref().is_empty() || h.get_ref().contains([' ', '\r', '\n']) {
                self.at(h, "host must be a host name without spaces or line breaks");
            }
        }
        CheckKind::Http {
            target,
            host: rc.host.as_ref().map(|h| h.get_ref().clone()),
            path,
            expect_status,
            expect_body: rc.expect_body.as_ref().map(|b| b.get_ref().clone()),
        }
    }

    /// keepalived's `vrrp_track_process`: a name (or program), optional
    /// arguments and how they match, and the quorum.
    fn process_check(&mut self, rc: &RawCheck, kind_key: &Spanned<String>) -> Option<CheckKind> {
        let Some(p) = &rc.process else {
            self.at(kind_key, "a process check needs `process`");
            return None;
        };
        if p.get_ref().is_empty() {
            self.at(p, "process names a process: it cannot be empty");
        }
        let param_match = match rc.param_match.as_ref().map(|m| m.get_ref().as_str()) {
            None | Some("exact") => ParamMatch::Exact,
            Some("partial") => ParamMatch::Partial,
            Some("initial") => ParamMatch::Initial,
            Some(other) => {
                if let Some(m) = &rc.param_match {
                    self.at(
                        m,
                        format!("param_match must be \"exact\", \"partial\" or \"initial\", not {other:?}"),
                    );
                }
                ParamMatch::Exact
            }
        };
        if let (Some(m), None) = (&rc.param_match, &rc.args) {
            self.at(m, "param_match needs `args` (use `args = []` for none)");
        }
        let quorum = rc.quorum.as_ref().map_or(1, |q| *q.get_ref());
        let quorum_max = rc.quorum_max.as_ref().map(|q| *q.get_ref());
        if let (Some(q), Some(max)) = (&rc.quorum_max, quorum_max) {
            if max < quorum {
                self.at(
                    q,
                    format!("quorum_max ({max}) must be at least quorum ({quorum})"),
                );
            }
        }
        Some(CheckKind::Process {
            name: p.get_ref().clone(),
            args: rc.args.as_ref().map(|a| a.get_ref().clone()),
            param_match,
            full_command: rc.full_command.as_ref().is_some_and(|f| *f.get_ref()),
            quorum,
            quorum_max,
        })
    }

    /// One sync group; `member_of` maps each instance already in a group
    /// to that group and the position where it was listed.
    pub(crate) fn sync_group(
        &mut self,
        spanned: &Spanned<RawSyncGroup>,
        instance_names: &HashMap<String, usize>,
        member_of: &mut HashMap<String, (String, usize)>,
    ) -> Option<SyncGroup> {
        let before = self.diags.len();
        let rg = spanned.get_ref();
        let name = self.required(spanned, rg.name.as_ref(), "a sync group", "name");
        let group = name.clone().unwrap_or_default();
        let list = self.required(spanned, rg.instances.as_ref(), "a sync group", "instances");
        if let Some(l) = rg.instances.as_ref().filter(|l| l.get_ref().len() < 2) {
            self.at(l, "a sync group needs at least two instances");
        }
        let mut members = Vec::new();
        for m in list.iter().flatten() {
            let n = m.get_ref();
            if !instance_names.contains_key(n) {
                self.no_such(m, "instance", n, instance_names);
            } else if let Some((g, first)) = member_of.get(n) {
                let msg = format!("instance {n:?} is already in sync group {g:?}");
                self.dup(m, msg, *first);
            } else {
                member_of.insert(n.clone(), (group.clone(), m.span().start));
            }
            members.push(n.clone());
        }
        let hooks = self.hooks(rg);
        if self.diags.len() != before {
            return None;
        }
        Some(SyncGroup {
            name: name?,
            instances: members,
            hooks,
        })
    }
}
