//! From parsed keepalived statements to TOML: the file-wide settings, the
//! checks and the sync groups (instances are in `instance.rs`).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use super::keywords::{self, Fate};
use super::{Impact, Imported, Node, Note, Sourced, which};
use crate::config::closest_word;

/// The keys of one TOML table in the order first set. keepalived lets a
/// later line override an earlier one; so does [`Table::set`], which keeps
/// the output free of duplicate keys.
#[derive(Debug, Default, Clone)]
pub(super) struct Table {
    entries: Vec<(String, String)>,
}

impl Table {
    /// Sets `key` to the TOML `value`; true if it was already set.
    pub(super) fn set(&mut self, key: &str, value: String) -> bool {
        match self.entries.iter_mut().find(|(k, _)| k == key) {
            Some(e) => {
                e.1 = value;
                true
            }
            None => {
                self.entries.push((key.to_owned(), value));
                false
            }
        }
    }

    /// Unsets `key`.
    pub(super) fn remove(&mut self, key: &str) {
        self.entries.retain(|(k, _)| k != key);
    }

    /// Whether `key` is set.
    pub(super) fn has(&self, key: &str) -> bool {
        self.entries.iter().any(|(k, _)| k == key)
    }

    /// The keys and values, in order.
    pub(super) fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Appends `[[header]]` and the keys to `out`.
    pub(super) fn render(&self, header: &str, out: &mut String) {
        let _ = writeln!(out, "[[{header}]]");
        for (k, v) in &self.entries {
            let _ = writeln!(out, "{k} = {v}");
        }
        out.push('\n');
    }
}

/// What the whole file says that an instance's conversion needs.
#[derive(Debug, Default)]
pub(super) struct FileWide {
    /// `vrrp_version`.
    pub(super) version: Option<u8>,
    /// `default_interface`.
    pub(super) interface: Option<String>,
    /// Global defaults of instance keys, written into every instance that
    /// does not set its own: `vrrp_garp_master_*` and friends,
    /// `vrrp_down_timer_adverts`.
    pub(super) instance_defaults: Table,
    /// Keys of vrrpd's `[global]` (`notify_fifo`, `startup_delay`, the
    /// e-mail keys of `mail.rs`).
    pub(super) global: Table,
    /// `vrrp_strict`: every instance in strict mode unless it says not.
    pub(super) strict: bool,
    /// Sync-group members → whether their group keeps tracking weights
    /// (`sync_group_tracking_weight` / `global_tracking`).
    pub(super) members: HashMap<String, bool>,
    /// `vrrp_script` name → its weight.
    pub(super) script_weights: HashMap<String, i64>,
    /// Track file name → its weight (keepalived's default is 1).
    pub(super) file_weights: HashMap<String, i64>,
    /// `smtp_alert`, `smtp_alert_vrrp` and `smtp_alert_checker` as given
    /// (`smtp_alert_vrrp` wins over `smtp_alert` for instances).
    pub(super) alerts: super::mail::AlertSwitches,
    /// `vrrp_track_process` name → its weight (keepalived's default is 0).
    pub(super) process_weights: HashMap<String, i64>,
    /// Rules given a preference so far (keepalived counts down from 16384).
    pub(super) rules_numbered: u32,
    /// `lvs_sync_daemon` as an `[lvs]` table (`lvs.rs`).
    pub(super) lvs: String,
}

impl FileWide {
    /// The preference keepalived gives the next rule without one.
    pub(super) fn next_rule_pref(&mut self) -> u32 {
        let p = 16384u32.saturating_sub(self.rules_numbered);
        self.rules_numbered += 1;
        p
    }
}

/// The converter: notes so far, the file being read, file-wide settings.
#[derive(Debug)]
pub(super) struct Convert {
    pub(super) notes: Vec<Note>,
    pub(super) file: PathBuf,
    pub(super) wide: FileWide,
}

/// Converts parsed statements (with the file each came from) to TOML;
/// `notes` are those of reading the files (includes).
pub fn convert(nodes: &[Sourced], notes: Vec<Note>) -> Imported {
    let mut cx = Convert {
        notes,
        file: PathBuf::new(),
        wide: FileWide::default(),
    };
    for (file, n) in nodes {
        cx.file = file.clone();
        cx.survey(n);
    }
    let (mut checks, mut instances, mut groups) = (String::new(), String::new(), String::new());
    let all: Vec<&Node> = nodes.iter().map(|(_, n)| n).collect();
    let vs_groups = Convert::vs_groups(&all);
    let mut lvs = String::new();
    for (file, n) in nodes {
        cx.file = file.clone();
        match n.key.as_str() {
            "global_defs" => {}
            "vrrp_script" => cx.script(n, &mut checks),
            "vrrp_track_file" | "track_file" => cx.track_file(n, &mut checks),
            "vrrp_track_process" => cx.track_process(n, &mut checks),
            "static_ipaddress" => cx.static_addresses(n),
            "static_routes" => cx.static_routes(n),
            "static_rules" => cx.static_rules(n),
            "vrrp_instance" => cx.instance(n, &mut instances),
            "vrrp_sync_group" => cx.sync_group(n, &mut groups),
            "virtual_server" => cx.virtual_server(n, &vs_groups, &mut lvs),
            "virtual_server_group" => {}
            _ => cx.keyword("top", n),
        }
    }
    let mut toml =
        String::from("# Imported from keepalived.conf by `vrrpd import-keepalived`.\n\n");
    super::mail::render_global(&cx.wide.global, &mut toml);
    let lvs = std::mem::take(&mut cx.wide.lvs) + &lvs;
    for part in [checks, instances, groups, lvs] {
        toml.push_str(&part);
    }
    let mut notes = cx.notes;
    notes.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    Imported { toml, notes }
}

/// keepalived's optional boolean after a flag keyword (`lower_prio_no_advert
/// [true|false]`): on unless it says off.
pub(super) fn flag_on(c: &Node) -> bool {
    !matches!(
        c.args.first().map(String::as_str),
        Some("false" | "off" | "no" | "0")
    )
}

/// A TOML string.
pub(super) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A TOML list of strings.
pub(super) fn quote_list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let v: Vec<String> = items.into_iter().map(quote).collect();
    format!("[{}]", v.join(", "))
}

/// keepalived durations are (fractional) seconds.
pub(super) fn secs(s: &str) -> Option<String> {
    let v: f64 = s.parse().ok()?;
    if !v.is_finite() || !(0.0..=1e9).contains(&v) {
        return None;
    }
    let ms = (v * 1000.0).round();
    Some(if ms % 1000.0 == 0.0 {
        format!("\"{}s\"", ms / 1000.0)
    } else {
        format!("\"{ms}ms\"")
    })
}

impl Convert {
    /// A note about `keyword` (if any) at `line`.
    pub(super) fn note(
        &mut self,
        line: usize,
        impact: Impact,
        keyword: Option<&str>,
        message: impl Into<String>,
    ) {
        self.notes.push(Note {
            file: self.file.clone(),
            line,
            message: message.into(),
            impact,
            keyword: keyword.map(str::to_owned),
        });
    }

    /// A statement the conversion does not carry over: named with the reason
    /// from [`keywords::KEYWORDS`], or as unknown with the closest keyword.
    pub(super) fn keyword(&mut self, block: &str, n: &Node) {
        let key = n.key.as_str();
        match keywords::lookup(block, key) {
            Some((Fate::NoEffect, why)) => {
                self.note(
                    n.line,
                    Impact::NoEffect,
                    Some(key),
                    format!("`{key}`: {why}"),
                );
            }
            Some((Fate::Changes, why)) => self.note(
                n.line,
                Impact::Changes,
                Some(key),
                format!("`{key}` is not carried over: {why}"),
            ),
            // A converted keyword in a form the conversion cannot read.
            Some((Fate::Converted, _)) => self.note(
                n.line,
                Impact::Changes,
                Some(key),
                format!("`{key}` {:?} is not understood; skipped", n.args),
            ),
            None => self.unknown(block, n),
        }
    }

    fn unknown(&mut self, block: &str, n: &Node) {
        let key = n.key.as_str();
        let hint = closest_word(key, keywords::known_in(block))
            .map_or_else(String::new, |k| format!("; did you mean `{k}`?"));
        let what = if n.block.is_some() {
            "keepalived 2.2.7 ignores it with its whole block, and so does the import"
        } else {
            "keepalived 2.2.7 ignores it, and so does the import"
        };
        let place = if block == "top" {
            String::new()
        } else {
            format!(" in {block}")
        };
        self.note(
            n.line,
            Impact::Changes,
            Some(key),
            format!("unknown keyword `{key}`{place}{hint} ({what})"),
        );
    }

    /// The one value of a statement; words after it are noted (keepalived
    /// ignores them too), a missing value is noted and gives `None`.
    pub(super) fn value<'a>(&mut self, c: &'a Node) -> Option<&'a str> {
        let Some(v) = c.args.first() else {
            self.note(
                c.line,
                Impact::Changes,
                Some(&c.key),
                format!("`{}` has no value; skipped", c.key),
            );
            return None;
        };
        if c.args.len() > 1 {
            self.note(
                c.line,
                Impact::NoEffect,
                Some(&c.key),
                format!(
                    "`{}`: the words after the value ({}) are ignored, as keepalived ignores them",
                    c.key,
                    c.args[1..].join(" ")
                ),
            );
        }
        Some(v)
    }

    /// A whole number value.
    pub(super) fn int(&mut self, c: &Node) -> Option<i64> {
        let v = self.value(c)?;
        match v.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                self.note(
                    c.line,
                    Impact::Changes,
                    Some(&c.key),
                    format!("`{} {v}`: not a whole number; skipped", c.key),
                );
                None
            }
        }
    }

    /// A duration value in (fractional) seconds, as a TOML duration.
    pub(super) fn duration(&mut self, c: &Node) -> Option<String> {
        let v = self.value(c)?;
        let d = secs(v);
        if d.is_none() {
            self.note(
                c.line,
                Impact::Changes,
                Some(&c.key),
                format!("`{} {v}`: not a number of seconds; skipped", c.key),
            );
        }
        d
    }

    /// A command (script or hook): a relative program is looked up on PATH
    /// as keepalived does, since vrrpd runs programs by absolute path only.
    pub(super) fn command(&mut self, c: &Node) -> String {
        let cmd = c.args.join(" ");
        let first = crate::config::split_command(&cmd)
            .ok()
            .and_then(|v| v.into_iter().next());
        let Some(p) = first.filter(|p| !p.starts_with('/')) else {
            return cmd;
        };
        match which(&p) {
            Some(abs) => {
                let rest = cmd.trim_start().get(p.len()..).unwrap_or("");
                self.note(
                    c.line,
                    Impact::Converted,
                    Some(&c.key),
                    format!(
                        "program {p:?} resolved to {} (vrrpd does no PATH lookup)",
                        abs.display()
                    ),
                );
                format!("{}{rest}", abs.display())
            }
            None => {
                self.note(
                    c.line,
                    Impact::Changes,
                    Some(&c.key),
                    format!(
                        "program {p:?} is not an absolute path and was not found on PATH: fix it"
                    ),
                );
                cmd
            }
        }
    }

    /// First pass: the settings other statements depend on.
    fn survey(&mut self, n: &Node) {
        let children = n.block.iter().flatten();
        match n.key.as_str() {
            "global_defs" => self.global_defs(n),
            "vrrp_track_process" => self.survey_process(n),
            "vrrp_sync_group" => {
                let weights = children.clone().any(|c| {
                    matches!(
                        c.key.as_str(),
                        "sync_group_tracking_weight" | "global_tracking"
                    )
                });
                for m in sync_members(n) {
                    self.wide.members.insert(m.to_owned(), weights);
                }
            }
            "vrrp_script" | "vrrp_track_file" | "track_file" => {
                let Some(name) = n.args.first() else { return };
                // Only a script with a program, a file check with a file, is
                // converted (and can be tracked).
                let needed = if n.key == "vrrp_script" {
                    "script"
                } else {
                    "file"
                };
                if !children
                    .clone()
                    .any(|c| c.key == needed && !c.args.is_empty())
                {
                    return;
                }
                let w = children
                    .filter(|c| c.key == "weight")
                    .filter_map(|c| c.args.first()?.parse::<i64>().ok())
                    .next_back();
                if n.key == "vrrp_script" {
                    self.wide
                        .script_weights
                        .insert(name.clone(), w.unwrap_or(0));
                } else {
                    self.wide.file_weights.insert(name.clone(), w.unwrap_or(1));
                }
            }
            _ => {}
        }
    }

    fn global_defs(&mut self, n: &Node) {
        for c in n.block.iter().flatten() {
            match c.key.as_str() {
                "vrrp_version" => match self.value(c) {
                    Some("2") => self.wide.version = Some(2),
                    Some("3") => self.wide.version = Some(3),
                    _ => self.note(
                        c.line,
                        Impact::Changes,
                        Some("vrrp_version"),
                        "vrrp_version must be 2 or 3; kept 2",
                    ),
                },
                "default_interface" => {
                    self.wide.interface = self.value(c).map(str::to_owned);
                }
                "vrrp_garp_master_delay" | "vrrp_garp_master_refresh" => {
                    if let Some(d) = self.duration(c) {
                        self.wide.instance_defaults.set(&c.key["vrrp_".len()..], d);
                    }
                }
                "vrrp_lower_prio_no_advert" => {
                    self.wide
                        .instance_defaults
                        .set("lower_prio_no_advert", flag_on(c).to_string());
                }
                "vrrp_garp_master_repeat"
                | "vrrp_garp_lower_prio_repeat"
                | "vrrp_garp_master_refresh_repeat"
                | "vrrp_down_timer_adverts" => {
                    if let Some(v) = self.int(c) {
                        self.wide
                            .instance_defaults
                            .set(&c.key["vrrp_".len()..], v.to_string());
                    }
                }
                // vrrpd has one FIFO and only VRRP lines to write.
                "notify_fifo" | "vrrp_notify_fifo" => {
                    if let Some(p) = self.value(c) {
                        if self.wide.global.set("notify_fifo", quote(p)) {
                            self.note(c.line, Impact::Changes, Some(&c.key), "vrrpd writes one notify FIFO: the last of notify_fifo / vrrp_notify_fifo is kept");
                        }
                    }
                }
                "vrrp_strict" => self.wide.strict = true,
                "vrrp_startup_delay" => {
                    if let Some(d) = self.duration(c) {
                        self.wide.global.set("startup_delay", d);
                    }
                }
                "vrrp_garp_lower_prio_delay" => {
                    if let Some(d) = self.duration(c) {
                        self.wide.instance_defaults.set(&c.key["vrrp_".len()..], d);
                    }
                }
                _ if self.mail_global(c) => {}
                _ if self.fifo_global(c) => {}
                _ if c.key == "lvs_sync_daemon" => {
                    let mut t = String::new();
                    self.lvs_global(c, &mut t);
                    self.wide.lvs = t;
                }
                _ => self.keyword("global_defs", c),
            }
        }
        self.fifo_global_done(n);
        // keepalived: the global lower-priority settings default to the
        // global master ones, and an instance's to the global ones (never
        // to the instance's own garp_master_*).
        for (lower, master) in [
            ("garp_lower_prio_delay", "garp_master_delay"),
            ("garp_lower_prio_repeat", "garp_master_repeat"),
        ] {
            let from_master = self
                .wide
                .instance_defaults
                .entries()
                .find(|(k, _)| *k == master)
                .map(|(_, v)| v.to_owned());
            if let (false, Some(v)) = (self.wide.instance_defaults.has(lower), from_master) {
                self.wide.instance_defaults.set(lower, v);
            }
        }
    }

    fn script(&mut self, n: &Node, out: &mut String) {
        let Some(name) = n.args.first() else {
            self.note(
                n.line,
                Impact::Changes,
                Some("vrrp_script"),
                "vrrp_script without a name; skipped",
            );
            return;
        };
        let mut t = Table::default();
        t.set("name", quote(name));
        t.set("type", quote("exec"));
        for c in n.block.iter().flatten() {
            match c.key.as_str() {
                "script" => {
                    // keepalived 2.x splits `script` into words and runs it
                    // without a shell; shell syntax only works through one.
                    let cmd = c.args.join(" ");
                    if cmd.contains(['<', '>', '|', '&', ';', '$', '`']) {
                        t.set("command", quote(&cmd));
                        t.set("shell", "true".to_owned());
                        self.note(
                            c.line,
                            Impact::Converted,
                            Some("script"),
                            "script uses shell syntax: imported with shell = true",
                        );
                    } else {
                        let cmd = self.command(c);
                        t.set("command", quote(&cmd));
                    }
                }
                "interval" | "timeout" => {
                    if let Some(d) = self.duration(c) {
                        t.set(&c.key, d);
                    }
                }
                "weight" => {
                    if let Some(w) = c.args.first().and_then(|w| w.parse::<i64>().ok()) {
                        t.set("weight", w.to_string());
                        if c.args.get(1).map(String::as_str) == Some("reverse") {
                            t.set("reverse", "true".to_owned());
                        } else if c.args.len() > 1 {
                            self.value(c);
                        }
                    } else {
                        self.int(c);
                    }
                }
                "rise" | "fall" => {
                    if let Some(v) = self.int(c) {
                        t.set(&c.key, v.to_string());
                    }
                }
                "user" => {
                    if let Some(u) = c.args.first() {
                        t.set("user", quote(u));
                        if c.args.len() > 1 {
                            self.note(c.line, Impact::Changes, Some("user"), "a group after the user is not imported; the user's primary group is used");
                        }
                    }
                }
                "init_fail" => {
                    t.set("init_fail", "true".to_owned());
                }
                _ => self.keyword("vrrp_script", c),
            }
        }
        if !t.has("command") {
            self.note(
                n.line,
                Impact::Changes,
                Some("vrrp_script"),
                format!("vrrp_script {name} has no script; skipped"),
            );
            return;
        }
        t.render("check", out);
    }

    fn track_file(&mut self, n: &Node, out: &mut String) {
        let Some(name) = n.args.first() else {
            self.note(
                n.line,
                Impact::Changes,
                Some(&n.key),
                format!("{} without a name; skipped", n.key),
            );
            return;
        };
        let mut t = Table::default();
        t.set("name", quote(name));
        t.set("type", quote("file"));
        t.set("interval", quote("1s"));
        for c in n.block.iter().flatten() {
            match c.key.as_str() {
                "file" => {
                    if let Some(p) = self.value(c) {
                        t.set("path", quote(p));
                    }
                }
                "weight" => {
                    if let Some(w) = self.int(c) {
                        t.set("weight", w.to_string());
                    }
                }
                _ => self.keyword("track_file", c),
            }
        }
        if !t.has("path") {
            self.note(
                n.line,
                Impact::Changes,
                Some(&n.key),
                format!("{} {name} has no file; skipped", n.key),
            );
            return;
        }
        // keepalived's default weight of a track file is 1.
        if !t.has("weight") {
            t.set("weight", "1".to_owned());
        }
        t.render("check", out);
    }

    fn sync_group(&mut self, n: &Node, out: &mut String) {
        let Some(name) = n.args.first() else {
            self.note(
                n.line,
                Impact::Changes,
                Some("vrrp_sync_group"),
                "vrrp_sync_group without a name; skipped",
            );
            return;
        };
        let mut t = Table::default();
        t.set("name", quote(name));
        t.set("instances", quote_list(sync_members(n)));
        for c in n.block.iter().flatten() {
            match c.key.as_str() {
                "group" | "sync_group_tracking_weight" | "global_tracking" => {}
                key @ ("notify_master" | "notify_backup" | "notify_fault" | "notify_stop"
                | "notify") => {
                    let cmd = self.command(c);
                    t.set(key, quote(&cmd));
                }
                "smtp_alert" => {
                    if let Some(on) = self.smtp_flag(c) {
                        t.set("smtp_alert", on.to_string());
                    }
                }
                "notify_priority_changes" => self.priority_changes(c, &mut t),
                // Old syntax: members listed directly in the group block.
                _ if c.block.is_none()
                    && c.args.is_empty()
                    && keywords::lookup("vrrp_sync_group", &c.key).is_none() => {}
                _ => self.keyword("vrrp_sync_group", c),
            }
        }
        t.render("sync_group", out);
    }
}

/// The members of a sync group: the words of its `group` block (one per
/// line or several on a line, as keepalived accepts) or, in the old
/// syntax, bare names in the group's own block.
pub(super) fn sync_members(n: &Node) -> Vec<&str> {
    let mut out = Vec::new();
    for c in n.block.iter().flatten() {
        if c.key == "group" {
            for m in c.block.iter().flatten() {
                out.push(m.key.as_str());
                out.extend(m.args.iter().map(String::as_str));
            }
        } else if c.block.is_none()
            && c.args.is_empty()
            && keywords::lookup("vrrp_sync_group", &c.key).is_none()
        {
            out.push(c.key.as_str());
        }
    }
    out
}
