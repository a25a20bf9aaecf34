//! Import of a keepalived.conf into vrrpd's TOML.
//!
//! Covers the VRRP side of keepalived: `vrrp_instance`, `vrrp_script`,
//! `vrrp_track_file`, `vrrp_sync_group` and the `global_defs` keys that change
//! VRRP behaviour. Everything else (LVS `virtual_server`, SMTP alerts, BFD,
//! `static_ipaddress`, ...) is listed as not carried over, with its line, so
//! an operator knows exactly what to look at. The produced TOML is validated
//! by the same loader as `vrrpd check`.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// One statement of keepalived's configuration: a keyword, its arguments and,
/// for blocks, the statements inside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// 1-based line of the keyword.
    pub line: usize,
    /// The keyword (or, inside list blocks such as `virtual_ipaddress`, the item).
    pub key: String,
    /// The words after the keyword on the same line.
    pub args: Vec<String>,
    /// The statements of a `{ ... }` block, if the statement opens one.
    pub block: Option<Vec<Node>>,
}

/// Something the import could not carry over, or changed on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The file the statement is in.
    pub file: PathBuf,
    /// 1-based line in that file.
    pub line: usize,
    /// What happened to it.
    pub message: String,
}

/// Why an import failed outright (unreadable file, unbalanced braces).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file's syntax is broken.
    #[error("{path}:{line}: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// The result of an import.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The TOML text.
    pub toml: String,
    /// What was not carried over or was changed, in file order.
    pub notes: Vec<Note>,
}

/// Splits keepalived text into statements. `#` and `!` start comments;
/// double quotes group words; `{` and `}` are tokens of their own.
pub fn parse(text: &str) -> Result<Vec<Node>, (usize, String)> {
    let mut stack: Vec<(Node, Vec<Node>)> = Vec::new();
    let mut top: Vec<Node> = Vec::new();
    // The last statement seen, kept back until we know whether a `{` (on the
    // same line or the next) opens a block for it.
    let mut pending: Option<Node> = None;
    for (i, raw_line) in text.lines().enumerate() {
        let line = i + 1;
        let tokens = tokenize(raw_line).map_err(|m| (line, m))?;
        let mut words: Vec<String> = Vec::new();
        let statement = |words: &mut Vec<String>| -> Option<Node> {
            if words.is_empty() {
                return None;
            }
            let key = words.remove(0);
            Some(Node {
                line,
                key,
                args: std::mem::take(words),
                block: None,
            })
        };
        for tok in tokens {
            match tok.as_str() {
                "{" => {
                    let opener = match statement(&mut words) {
                        Some(node) => {
                            if let Some(p) = pending.take() {
                                push(&mut stack, &mut top, p);
                            }
                            node
                        }
                        None => pending
                            .take()
                            .ok_or_else(|| (line, "'{' without a keyword before it".to_owned()))?,
                    };
                    stack.push((opener, Vec::new()));
                }
                "}" => {
                    for node in [pending.take(), statement(&mut words)]
                        .into_iter()
                        .flatten()
                    {
                        push(&mut stack, &mut top, node);
                    }
                    let Some((mut node, children)) = stack.pop() else {
                        return Err((line, "'}' without a matching '{'".to_owned()));
                    };
                    node.block = Some(children);
                    push(&mut stack, &mut top, node);
                }
                _ => words.push(tok),
            }
        }
        if let Some(node) = statement(&mut words) {
            if let Some(p) = pending.replace(node) {
                push(&mut stack, &mut top, p);
            }
        }
    }
    if let Some(p) = pending.take() {
        push(&mut stack, &mut top, p);
    }
    if let Some((open, _)) = stack.last() {
        return Err((open.line, format!("block '{}' is never closed", open.key)));
    }
    Ok(top)
}

fn push(stack: &mut [(Node, Vec<Node>)], top: &mut Vec<Node>, node: Node) {
    match stack.last_mut() {
        Some((_, children)) => children.push(node),
        None => top.push(node),
    }
}

fn tokenize(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '#' | '!' if cur.is_empty() => break,
            '"' => {
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some(c) => cur.push(c),
                        None => return Err("unterminated double quote".to_owned()),
                    }
                }
                out.push(std::mem::take(&mut cur));
            }
            '{' | '}' => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                out.push(c.to_string());
            }
            c if c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    Ok(out)
}

/// Reads `path` (following `include` statements of literal paths) and
/// converts it.
pub fn import_file(path: &Path) -> Result<Imported, ImportError> {
    let mut notes = Vec::new();
    let nodes = read_with_includes(path, &mut notes, 0)?;
    let mut out = convert(&nodes, &mut notes);
    out.notes.splice(0..0, notes);
    Ok(out)
}

type Sourced = (PathBuf, Node);

fn read_with_includes(
    path: &Path,
    notes: &mut Vec<Note>,
    depth: usize,
) -> Result<Vec<Sourced>, ImportError> {
    let text = std::fs::read_to_string(path).map_err(|source| ImportError::Read {
        path: path.to_owned(),
        source,
    })?;
    let nodes = parse(&text).map_err(|(line, message)| ImportError::Syntax {
        path: path.to_owned(),
        line,
        message,
    })?;
    let mut out = Vec::new();
    for n in nodes {
        if n.key == "include" {
            let Some(target) = n.args.first() else {
                continue;
            };
            let target = path.parent().unwrap_or(Path::new("/")).join(target);
            if depth >= 8 || target.to_string_lossy().contains(['*', '?', '[']) {
                notes.push(Note {
                    file: path.to_owned(),
                    line: n.line,
                    message: format!(
                        "include {} was not followed (globs and deep nesting are not imported)",
                        target.display()
                    ),
                });
                continue;
            }
            out.extend(read_with_includes(&target, notes, depth + 1)?);
        } else {
            out.push((path.to_owned(), n));
        }
    }
    Ok(out)
}

/// Converts parsed statements (with the file each came from) to TOML.
pub fn convert(nodes: &[Sourced], notes: &mut Vec<Note>) -> Imported {
    let mut cx = Convert {
        notes: Vec::new(),
        file: PathBuf::new(),
        default_version: 2,
    };
    let mut checks = String::new();
    let mut instances = String::new();
    let mut groups = String::new();
    // global_defs first: vrrp_version changes the instances' default.
    for (file, n) in nodes {
        cx.file = file.clone();
        if n.key == "global_defs" {
            cx.global_defs(n);
        }
    }
    for (file, n) in nodes {
        cx.file = file.clone();
        match n.key.as_str() {
            "global_defs" => {}
            "vrrp_script" => cx.script(n, &mut checks),
            "vrrp_track_file" => cx.track_file(n, &mut checks),
            "vrrp_instance" => cx.instance(n, &mut instances),
            "vrrp_sync_group" => cx.sync_group(n, &mut groups),
            "virtual_server" | "virtual_server_group" => cx.skip(
                n,
                "LVS virtual servers are out of scope (vrrpd does VRRP only)",
            ),
            other => cx.skip(n, &format!("`{other}` is not imported")),
        }
    }
    let mut toml = String::from("# Imported from keepalived.conf by `vrrpd import-keepalived`.\n");
    for part in [checks, instances, groups] {
        if !part.is_empty() {
            toml.push('\n');
            toml.push_str(&part);
        }
    }
    notes.extend(cx.notes);
    notes.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    Imported {
        toml,
        notes: std::mem::take(notes),
    }
}

struct Convert {
    notes: Vec<Note>,
    file: PathBuf,
    default_version: u8,
}

fn quote(s: &str) -> String {
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

fn quote_list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let v: Vec<String> = items.into_iter().map(quote).collect();
    format!("[{}]", v.join(", "))
}

/// keepalived durations are (fractional) seconds.
fn secs(s: &str) -> Option<String> {
    let v: f64 = s.parse().ok()?;
    if !v.is_finite() || v < 0.0 {
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
    fn note(&mut self, line: usize, message: impl Into<String>) {
        self.notes.push(Note {
            file: self.file.clone(),
            line,
            message: message.into(),
        });
    }

    fn skip(&mut self, n: &Node, why: &str) {
        self.note(n.line, format!("not carried over: {why}"));
    }

    fn arg<'a>(&mut self, n: &'a Node) -> Option<&'a str> {
        let a = n.args.first().map(String::as_str);
        if a.is_none() {
            self.note(n.line, format!("`{}` has no value; skipped", n.key));
        }
        a
    }

    fn global_defs(&mut self, n: &Node) {
        for c in n.block.iter().flatten() {
            match c.key.as_str() {
                "vrrp_version" => match c.args.first().map(String::as_str) {
                    Some("2") => self.default_version = 2,
                    Some("3") => self.default_version = 3,
                    _ => self.note(c.line, "vrrp_version must be 2 or 3; kept 2"),
                },
                "router_id"
                | "notification_email"
                | "notification_email_from"
                | "smtp_server"
                | "smtp_connect_timeout"
                | "enable_script_security"
                | "script_user" => self.skip(c, &format!("`{}` has no vrrpd equivalent", c.key)),
                other => self.skip(c, &format!("global `{other}` is not imported")),
            }
        }
    }

    fn script(&mut self, n: &Node, out: &mut String) {
        let Some(name) = n.args.first() else {
            self.note(n.line, "vrrp_script without a name; skipped");
            return;
        };
        let mut body = String::new();
        let mut has_command = false;
        for c in n.block.iter().flatten() {
            match c.key.as_str() {
                "script" => {
                    // keepalived 2.x splits `script` into words and runs it
                    // without a shell; a shell is only used if the script
                    // itself is one.
                    let cmd = c.args.join(" ");
                    let first = crate::config::split_command(&cmd)
                        .ok()
                        .and_then(|v| v.into_iter().next());
                    if cmd.contains(['<', '>', '|', '&', ';', '$', '`']) {
                        // Shell syntax only works through a shell.
                        let _ = writeln!(body, "command = {}\nshell = true", quote(&cmd));
                        self.note(
                            c.line,
                            "script uses shell syntax: imported with shell = true",
                        );
                        has_command = true;
                        continue;
                    }
                    match first {
                        Some(p) if !p.starts_with('/') => {
                            let resolved = which(&p);
                            match resolved {
                                Some(abs) => {
                                    let rest = cmd.trim_start().get(p.len()..).unwrap_or("");
                                    let _ = writeln!(
                                        body,
                                        "command = {}",
                                        quote(&format!("{}{rest}", abs.display()))
                                    );
                                    self.note(c.line, format!("script program {p:?} resolved to {} (vrrpd does no PATH lookup)", abs.display()));
                                }
                                None => {
                                    let _ = writeln!(body, "command = {}", quote(&cmd));
                                    self.note(c.line, format!("script program {p:?} is not an absolute path and was not found on PATH: fix it"));
                                }
                            }
                        }
                        _ => {
                            let _ = writeln!(body, "command = {}", quote(&cmd));
                        }
                    }
                    has_command = true;
                }
                "interval" | "timeout" => match c.args.first().and_then(|a| secs(a)) {
                    Some(d) => {
                        let _ = writeln!(body, "{} = {d}", c.key);
                    }
                    None => self.note(
                        c.line,
                        format!("`{}` needs a number of seconds; skipped", c.key),
                    ),
                },
                "weight" => {
                    if let Some(w) = self.arg(c) {
                        let _ = writeln!(body, "weight = {w}");
                        if c.args.get(1).map(String::as_str) == Some("reverse") {
                            body.push_str("reverse = true\n");
                        }
                    }
                }
                "rise" | "fall" => {
                    if let Some(v) = self.arg(c) {
                        let _ = writeln!(body, "{} = {v}", c.key);
                    }
                }
                "user" => {
                    if let Some(u) = self.arg(c) {
                        let _ = writeln!(body, "user = {}", quote(u));
                        if c.args.len() > 1 {
                            self.note(c.line, "a group after the user is not imported; the user's primary group is used");
                        }
                    }
                }
                "init_fail" => body.push_str("init_fail = true\n"),
                other => self.skip(c, &format!("vrrp_script key `{other}` is not imported")),
            }
        }
        if !has_command {
            self.note(n.line, format!("vrrp_script {name} has no script; skipped"));
            return;
        }
        let _ = writeln!(
            out,
            "[[check]]\nname = {}\ntype = \"exec\"\n{body}",
            quote(name)
        );
    }

    fn track_file(&mut self, n: &Node, out: &mut String) {
        let Some(name) = n.args.first() else {
            self.note(n.line, "vrrp_track_file without a name; skipped");
            return;
        };
        let mut body = String::new();
        for c in n.block.iter().flatten() {
            match c.key.as_str() {
                "file" => {
                    if let Some(p) = self.arg(c) {
                        let _ = writeln!(body, "path = {}", quote(p));
                    }
                }
                "weight" => {
                    if let Some(w) = self.arg(c) {
                        let _ = writeln!(body, "weight = {w}");
                    }
                }
                other => self.skip(c, &format!("vrrp_track_file key `{other}` is not imported")),
            }
        }
        let _ = writeln!(
            out,
            "[[check]]\nname = {}\ntype = \"file\"\ninterval = \"1s\"\n{body}",
            quote(name)
        );
    }

    fn instance(&mut self, n: &Node, out: &mut String) {
        let Some(name) = n.args.first() else {
            self.note(n.line, "vrrp_instance without a name; skipped");
            return;
        };
        let mut body = String::new();
        // `use_vmac` lines: vrrpd's virtual MAC interfaces are IPv4 only.
        let mut vmac = String::new();
        let mut auth_line = None;
        let mut version = self.default_version;
        let mut v4: Vec<String> = Vec::new();
        let mut v6: Vec<String> = Vec::new();
        let mut interface = None;
        for c in n.block.iter().flatten() {
            let key = c.key.as_str();
            match key {
                "interface" => {
                    if let Some(i) = self.arg(c) {
                        interface = Some(i.to_owned());
                        let _ = writeln!(body, "interface = {}", quote(i));
                    }
                }
                "virtual_router_id" => {
                    if let Some(v) = self.arg(c) {
                        let _ = writeln!(body, "vrid = {v}");
                    }
                }
                "priority" => {
                    if let Some(v) = self.arg(c) {
                        let _ = writeln!(body, "priority = {v}");
                    }
                }
                "advert_int" => match c.args.first().and_then(|a| secs(a)) {
                    Some(d) => {
                        let _ = writeln!(body, "advert_interval = {d}");
                    }
                    None => self.note(c.line, "advert_int needs a number of seconds; skipped"),
                },
                "version" => match c.args.first().map(String::as_str) {
                    Some("2") => version = 2,
                    Some("3") => version = 3,
                    _ => self.note(c.line, "version must be 2 or 3; skipped"),
                },
                "state" => {
                    if c.args.first().map(String::as_str) == Some("MASTER") {
                        self.note(
                            c.line,
                            "`state MASTER` is not carried over: the priority decides who is master (RFC 9568 §6.4.1), as it does in keepalived once the instances hear each other",
                        );
                    }
                }
                "nopreempt" => body.push_str("preempt = false\n"),
                "preempt" => body.push_str("preempt = true\n"),
                "preempt_delay" => match c.args.first().and_then(|a| secs(a)) {
                    Some(d) => {
                        let _ = writeln!(body, "preempt_delay = {d}");
                    }
                    None => self.note(c.line, "preempt_delay needs a number of seconds; skipped"),
                },
                "accept" => body.push_str("accept = true\n"),
                "no_accept" => body.push_str("accept = false\n"),
                "authentication" => {
                    let mut kind = None;
                    let mut pass = None;
                    for a in c.block.iter().flatten() {
                        match a.key.as_str() {
                            "auth_type" => kind = a.args.first().cloned(),
                            "auth_pass" => pass = a.args.first().cloned(),
                            other => self
                                .skip(a, &format!("authentication key `{other}` is not imported")),
                        }
                    }
                    match (kind.as_deref(), pass) {
                        (Some("PASS"), Some(p)) => {
                            let p: String = if p.len() > 8 {
                                self.note(c.line, "auth_pass is longer than 8 bytes; keepalived sends only the first 8, so only those were kept");
                                p.chars()
                                    .take_while({
                                        let mut n = 0;
                                        move |ch| {
                                            n += ch.len_utf8();
                                            n <= 8
                                        }
                                    })
                                    .collect()
                            } else {
                                p
                            };
                            auth_line = Some((
                                c.line,
                                format!(
                                    "authentication = {{ type = \"pass\", password = {} }}\n",
                                    quote(&p)
                                ),
                            ));
                        }
                        (Some("AH"), _) => self.skip(
                            c,
                            "AH authentication is not supported (RFC 3768 removed it)",
                        ),
                        _ => self.skip(c, "authentication without auth_type PASS and auth_pass"),
                    }
                }
                "virtual_ipaddress" => {
                    for a in c.block.iter().flatten() {
                        self.vip(a, interface.as_deref(), &mut v4, &mut v6);
                    }
                }
                "unicast_src_ip" => {
                    if let Some(v) = self.arg(c) {
                        let _ = writeln!(body, "unicast_source = {}", quote(v));
                    }
                }
                "unicast_peer" => {
                    let peers: Vec<&str> =
                        c.block.iter().flatten().map(|p| p.key.as_str()).collect();
                    for p in c.block.iter().flatten().filter(|p| !p.args.is_empty()) {
                        self.note(
                            p.line,
                            "unicast peer options (min_ttl, max_ttl) are not imported",
                        );
                    }
                    let _ = writeln!(body, "unicast_peers = {}", quote_list(peers));
                }
                "track_interface" => {
                    let items = self.weighted_list(c);
                    let _ = writeln!(body, "track_interfaces = [{}]", items.join(", "));
                }
                "track_script" | "track_file" => {
                    let items = self.weighted_list(c);
                    let _ = writeln!(body, "track_checks = [{}]", items.join(", "));
                }
                "notify_master" | "notify_backup" | "notify_fault" | "notify_stop" | "notify" => {
                    let cmd = c.args.join(" ");
                    let _ = writeln!(body, "{key} = {}", quote(&cmd));
                }
                "garp_master_delay" | "garp_master_refresh" => {
                    match c.args.first().and_then(|a| secs(a)) {
                        Some(d) => {
                            let _ = writeln!(body, "{key} = {d}");
                        }
                        None => {
                            self.note(c.line, format!("{key} needs a number of seconds; skipped"))
                        }
                    }
                }
                "virtual_routes" => {
                    let routes: Vec<String> = c
                        .block
                        .iter()
                        .flatten()
                        .filter_map(|r| self.route(r))
                        .collect();
                    if !routes.is_empty() {
                        let _ = writeln!(body, "virtual_routes = [{}]", routes.join(", "));
                    }
                }
                "garp_master_repeat" => {
                    if let Some(v) = self.arg(c) {
                        let _ = writeln!(body, "garp_master_repeat = {v}");
                    }
                }
                "use_vmac" => {
                    let _ = writeln!(vmac, "use_vmac = true");
                    if let Some(name) = c.args.first() {
                        let _ = writeln!(vmac, "vmac_name = {}", quote(name));
                    }
                }
                // vrrpd always sends adverts from the base interface.
                "vmac_xmit_base" => {}
                "dont_track_primary" => self.skip(
                    c,
                    "dont_track_primary: vrrpd always tracks the instance's interface",
                ),
                other => self.skip(c, &format!("vrrp_instance key `{other}` is not imported")),
            }
        }
        let mut write_one = |out: &mut String,
                             name: &str,
                             addrs: &[String],
                             version: u8,
                             ipv6: bool| {
            let vmac = match (ipv6, vmac.is_empty()) {
                (false, _) => vmac.as_str(),
                (true, true) => "",
                (true, false) => {
                    self.note(
                        n.line,
                        format!("use_vmac dropped from {name}: vrrpd supports it for IPv4 only"),
                    );
                    ""
                }
            };
            // RFC 9568 removed authentication: it only goes to a v2 instance.
            let auth = match (&auth_line, version) {
                (Some((_, a)), 2) => a.as_str(),
                (Some((line, _)), _) => {
                    self.note(
                        *line,
                        format!("authentication dropped from {name}: VRRPv3 has none (RFC 9568)"),
                    );
                    ""
                }
                (None, _) => "",
            };
            let _ = writeln!(
                out,
                "[[instance]]\nname = {}\nversion = {version}\n{body}{vmac}{auth}virtual_addresses = [{}]\n",
                quote(name),
                addrs.join(", ")
            );
        };
        match (v4.is_empty(), v6.is_empty()) {
            (false, true) => write_one(out, name, &v4, version, false),
            (true, false) => write_one(out, name, &v6, 3, true),
            (false, false) => {
                let name6 = format!("{name}_v6");
                write_one(out, name, &v4, version, false);
                write_one(out, &name6, &v6, 3, true);
                self.note(n.line, format!("instance {name} mixes IPv4 and IPv6: split into {name} and {name6} (one family per VRRP router, RFC 9568 §7.1); add {name6} to its sync group if it has one"));
            }
            (true, true) => self.note(
                n.line,
                format!("instance {name} has no virtual_ipaddress; skipped"),
            ),
        }
        if version == 2 && v4.is_empty() && !v6.is_empty() {
            self.note(
                n.line,
                format!("instance {name} has IPv6 addresses only: imported as VRRPv3"),
            );
        }
    }

    fn vip(
        &mut self,
        a: &Node,
        interface: Option<&str>,
        v4: &mut Vec<String>,
        v6: &mut Vec<String>,
    ) {
        let text = a.key.as_str();
        let addr_part = text.split('/').next().unwrap_or(text);
        let Ok(ip) = addr_part.parse::<IpAddr>() else {
            self.note(a.line, format!("{text:?} is not an address; skipped"));
            return;
        };
        let mut label = None;
        let mut dev = None;
        let mut args = a.args.iter();
        while let Some(word) = args.next() {
            match word.as_str() {
                "label" => label = args.next().cloned(),
                "dev" => {
                    dev = args
                        .next()
                        .filter(|d| Some(d.as_str()) != interface)
                        .cloned();
                }
                other => {
                    self.note(a.line, format!("{text}: option `{other}` is not imported"));
                    args.next();
                }
            }
        }
        let mut keys = Vec::new();
        if let Some(l) = label {
            keys.push(format!("label = {}", quote(&l)));
        }
        if let Some(d) = dev {
            keys.push(format!("interface = {}", quote(&d)));
        }
        let entry = if keys.is_empty() {
            quote(text)
        } else {
            format!("{{ address = {}, {} }}", quote(text), keys.join(", "))
        };
        if ip.is_ipv4() {
            v4.push(entry);
        } else {
            v6.push(entry);
        }
    }

    /// One `virtual_routes` line: `[to] NET [via|gw ADDR] [dev IF]
    /// [metric N] [table N]`. A route with anything else (a source, a
    /// route type, a named table, ...) is skipped with a note rather than
    /// imported as a different route.
    fn route(&mut self, r: &Node) -> Option<String> {
        let words: Vec<&str> = std::iter::once(r.key.as_str())
            .chain(r.args.iter().map(String::as_str))
            .collect();
        let mut it = words.iter().copied().peekable();
        if it.peek() == Some(&"to") {
            it.next();
        }
        let dst = it.next().unwrap_or_default();
        if dst
            .split('/')
            .next()
            .and_then(|a| a.parse::<IpAddr>().ok())
            .is_none()
        {
            self.note(r.line, format!("route `{}` is not imported (only `[to] NETWORK [via ADDR] [dev IF] [metric N] [table N]`)", words.join(" ")));
            return None;
        }
        let mut keys = vec![format!("to = {}", quote(dst))];
        while let Some(w) = it.next() {
            let v = it.next();
            let numeric = v.filter(|v| v.parse::<u32>().is_ok());
            match (w, v, numeric) {
                ("via" | "gw", Some(v), _) => keys.push(format!("via = {}", quote(v))),
                ("dev", Some(v), _) => keys.push(format!("interface = {}", quote(v))),
                ("metric" | "table", _, Some(n)) => keys.push(format!("{w} = {n}")),
                _ => {
                    self.note(
                        r.line,
                        format!(
                            "route `{}`: option `{w}` is not imported; route skipped",
                            words.join(" ")
                        ),
                    );
                    return None;
                }
            }
        }
        Some(format!("{{ {} }}", keys.join(", ")))
    }

    /// `track_interface` / `track_script` entries: `NAME [weight N]`.
    fn weighted_list(&mut self, c: &Node) -> Vec<String> {
        let mut items = Vec::new();
        for t in c.block.iter().flatten() {
            match (t.args.first().map(String::as_str), t.args.get(1)) {
                (None, _) => items.push(quote(&t.key)),
                (Some("weight"), Some(w)) if w.parse::<i32>().is_ok() => {
                    items.push(format!("{{ name = {}, weight = {w} }}", quote(&t.key)));
                    if t.args.get(2).map(String::as_str) == Some("reverse") {
                        self.note(t.line, format!("{}: `reverse` on a track entry is not imported; set reverse on the check", t.key));
                    }
                }
                _ => {
                    self.note(
                        t.line,
                        format!(
                            "{}: options {:?} not understood; tracked without them",
                            t.key, t.args
                        ),
                    );
                    items.push(quote(&t.key));
                }
            }
        }
        items
    }

    fn sync_group(&mut self, n: &Node, out: &mut String) {
        let Some(name) = n.args.first() else {
            self.note(n.line, "vrrp_sync_group without a name; skipped");
            return;
        };
        let mut bare_members = Vec::new();
        let mut body = String::new();
        for c in n.block.iter().flatten() {
            match c.key.as_str() {
                "group" => {
                    let members: Vec<&str> =
                        c.block.iter().flatten().map(|m| m.key.as_str()).collect();
                    let _ = writeln!(body, "instances = {}", quote_list(members));
                }
                key @ ("notify_master" | "notify_backup" | "notify_fault" | "notify_stop"
                | "notify") => {
                    let _ = writeln!(body, "{key} = {}", quote(&c.args.join(" ")));
                }
                "smtp_alert"
                | "global_tracking"
                | "sync_group_tracking_weight"
                | "track_script"
                | "track_interface"
                | "track_file"
                | "notify_fifo"
                | "notify_priority_changes" => self.skip(
                    c,
                    &format!("vrrp_sync_group key `{}` is not imported", c.key),
                ),
                // Old syntax: members listed directly in the group block.
                member if c.args.is_empty() && c.block.is_none() => bare_members.push(member),
                other => self.skip(c, &format!("vrrp_sync_group key `{other}` is not imported")),
            }
        }
        if !bare_members.is_empty() {
            let _ = writeln!(body, "instances = {}", quote_list(bare_members));
        }
        let _ = writeln!(out, "[[sync_group]]\nname = {}\n{body}", quote(name));
    }
}

fn which(prog: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(prog))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizer_handles_comments_quotes_and_braces() {
        assert_eq!(
            tokenize("a \"b c\" {d} # x").unwrap(),
            vec!["a", "b c", "{", "d", "}"]
        );
        assert_eq!(tokenize("! all comment").unwrap(), Vec::<String>::new());
        assert!(tokenize("x \"open").is_err());
    }

    #[test]
    fn parser_builds_nested_blocks_and_rejects_unbalanced_ones() {
        let nodes = parse("a 1 {\n b {\n c\n }\n}\nd\n").unwrap();
        assert_eq!(nodes.len(), 2);
        let a = &nodes[0];
        assert_eq!(
            (a.key.as_str(), a.args.as_slice(), a.line),
            ("a", &["1".to_owned()][..], 1)
        );
        let b = &a.block.as_ref().unwrap()[0];
        assert_eq!(b.block.as_ref().unwrap()[0].key, "c");
        // A brace on its own line opens the block of the line before.
        let nodes = parse("a\n{\n b\n}\n").unwrap();
        assert_eq!(nodes[0].block.as_ref().unwrap()[0].key, "b");
        assert_eq!(parse("a {\n").unwrap_err().0, 1);
        assert_eq!(parse("}\n").unwrap_err().0, 1);
    }

    #[test]
    fn seconds_become_durations() {
        assert_eq!(secs("1").as_deref(), Some("\"1s\""));
        assert_eq!(secs("0.1").as_deref(), Some("\"100ms\""));
        assert_eq!(secs("x"), None);
        assert_eq!(secs("-1"), None);
    }
}
