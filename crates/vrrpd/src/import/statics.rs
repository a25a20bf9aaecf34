//! keepalived's `static_ipaddress`, `static_routes` and `static_rules`
//! blocks to `static_addresses`, `static_routes` and `static_rules` in
//! `[global]`, and rule lines (`virtual_rules` too) to rule tables.

use std::net::IpAddr;

use super::convert::{Convert, quote};
use super::{Impact, Node};

impl Convert {
    /// `static_ipaddress { ADDR[/LEN] [dev IF] [label L] ... }`: an entry
    /// per address, on `dev`, else `default_interface`, else `eth0` (as
    /// keepalived defaults it).
    pub(super) fn static_addresses(&mut self, n: &Node) {
        let mut out = Vec::new();
        for a in n.block.iter().flatten() {
            let text = a.key.as_str();
            let addr = text.split('/').next().unwrap_or(text);
            if addr.parse::<IpAddr>().is_err() {
                self.note(
                    a.line,
                    Impact::Changes,
                    Some("static_ipaddress"),
                    format!("{text:?} is not an address; skipped"),
                );
                continue;
            }
            let mut dev = None;
            let mut label = None;
            let mut args = a.args.iter();
            while let Some(word) = args.next() {
                match word.as_str() {
                    "dev" => dev = args.next().cloned(),
                    "label" => label = args.next().cloned(),
                    other => {
                        self.note(
                            a.line,
                            Impact::Changes,
                            Some("static_ipaddress"),
                            format!("{text}: option `{other}` is not imported"),
                        );
                        args.next();
                    }
                }
            }
            let dev = dev
                .or_else(|| self.wide.interface.clone())
                .unwrap_or_else(|| "eth0".to_owned());
            let mut entry = format!("{{ address = {}, interface = {}", quote(text), quote(&dev));
            if let Some(l) = label {
                entry.push_str(&format!(", label = {}", quote(&l)));
            }
            entry.push_str(" }");
            out.push(entry);
        }
        self.append_global("static_addresses", out);
    }

    /// `static_routes { ... }`: as `virtual_routes` are read.
    pub(super) fn static_routes(&mut self, n: &Node) {
        let out: Vec<String> = n
            .block
            .iter()
            .flatten()
            .filter_map(|r| self.route(r).map(|(_, e)| e))
            .collect();
        self.append_global("static_routes", out);
    }

    /// `static_rules { ... }`.
    pub(super) fn static_rules(&mut self, n: &Node) {
        let out: Vec<String> = n
            .block
            .iter()
            .flatten()
            .filter_map(|r| self.rule(r, "static_rules"))
            .collect();
        self.append_global("static_rules", out);
    }

    /// One rule line (`from X to Y iif I oif O fwmark M priority P table T`,
    /// keepalived's `ip rule` words) as a TOML table; a rule with a word
    /// vrrpd does not carry is skipped with a note.
    pub(super) fn rule(&mut self, r: &Node, keyword: &str) -> Option<String> {
        let words: Vec<&str> = std::iter::once(r.key.as_str())
            .chain(r.args.iter().map(String::as_str))
            .collect();
        let mut keys: Vec<String> = Vec::new();
        let mut table = None;
        let mut it = words.iter();
        while let Some(w) = it.next() {
            let key = match *w {
                "from" | "to" | "iif" | "oif" | "fwmark" => *w,
                "dev" => "iif",
                "priority" | "preference" | "pref" => "priority",
                "table" | "lookup" => "table",
                // The family follows the networks, as vrrpd reads them.
                "inet6" | "inet" => continue,
                other => {
                    let line = words.join(" ");
                    self.note(
                        r.line,
                        Impact::Changes,
                        Some(keyword),
                        format!("rule `{line}`: `{other}` is not imported; rule skipped"),
                    );
                    return None;
                }
            };
            let Some(v) = it.next() else {
                self.note(
                    r.line,
                    Impact::Changes,
                    Some(keyword),
                    format!(
                        "rule `{}`: `{key}` without a value; rule skipped",
                        words.join(" ")
                    ),
                );
                return None;
            };
            match key {
                "from" | "to" if *v == "all" => {}
                "from" | "to" => {
                    let (a, l) = v.split_once('/').unwrap_or((v, ""));
                    let ok =
                        a.parse::<IpAddr>().is_ok() && (l.is_empty() || l.parse::<u8>().is_ok());
                    if !ok {
                        self.note(r.line, Impact::NoEffect, Some(keyword), format!("rule `{}`: {v:?} is not an address: keepalived skips the rule, and so does the import", words.join(" ")));
                        return None;
                    }
                    keys.push(format!("{key} = {}", quote(v)));
                }
                "iif" | "oif" => keys.push(format!("{key} = {}", quote(v))),
                _ => match v.parse::<u32>() {
                    Ok(n) if key == "table" => table = Some(n),
                    Ok(n) => keys.push(format!("{key} = {n}")),
                    Err(_) => {
                        self.note(r.line, Impact::Changes, Some(keyword), format!("rule `{}`: {key} {v:?} is not a number (named tables and masks are not imported); rule skipped", words.join(" ")));
                        return None;
                    }
                },
            }
        }
        let Some(t) = table else {
            self.note(
                r.line,
                Impact::Changes,
                Some(keyword),
                format!("rule `{}` names no table; rule skipped", words.join(" ")),
            );
            return None;
        };
        if !keys.iter().any(|k| k.starts_with("priority =")) {
            // keepalived: "Rule has no preference specified - setting to
            // 16384", one lower for each such rule after it.
            let p = self.wide.next_rule_pref();
            self.note(
                r.line,
                Impact::Converted,
                Some(keyword),
                format!(
                    "rule `{}` has no preference: keepalived gives it {p}, and so does the import",
                    words.join(" ")
                ),
            );
            keys.push(format!("priority = {p}"));
        }
        keys.push(format!("table = {t}"));
        Some(format!("{{ {} }}", keys.join(", ")))
    }

    /// One `virtual_routes` line: `[to] NET [via|gw ADDR] [dev IF]
    /// [metric N] [table N]`. A route with anything else (a source, a
    /// route type, a named table, ...) is skipped with a note rather than
    /// imported as a different route.
    pub(super) fn route(&mut self, r: &Node) -> Option<(bool, String)> {
        let words: Vec<&str> = std::iter::once(r.key.as_str())
            .chain(r.args.iter().map(String::as_str))
            .collect();
        let mut it = words.iter().copied().peekable();
        if it.peek() == Some(&"to") {
            it.next();
        }
        let dst = it.next().unwrap_or_default();
        let Some(to) = dst.split('/').next().and_then(|a| a.parse::<IpAddr>().ok()) else {
            self.note(r.line, Impact::Changes, Some("virtual_routes"), format!("route `{}` is not imported (only `[to] NETWORK [via ADDR] [dev IF] [metric N] [table N]`)", words.join(" ")));
            return None;
        };
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
                        Impact::Changes,
                        Some("virtual_routes"),
                        format!(
                            "route `{}`: option `{w}` is not imported; route skipped",
                            words.join(" ")
                        ),
                    );
                    return None;
                }
            }
        }
        Some((to.is_ipv6(), format!("{{ {} }}", keys.join(", "))))
    }

    /// Appends TOML entries to a list of `[global]` (blocks may repeat).
    fn append_global(&mut self, key: &str, entries: Vec<String>) {
        if entries.is_empty() {
            return;
        }
        let old = self
            .wide
            .global
            .entries()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.trim_start_matches('[').trim_end_matches(']').to_owned());
        let mut all: Vec<String> = old.into_iter().filter(|o| !o.is_empty()).collect();
        all.extend(entries);
        self.wide.global.set(key, format!("[{}]", all.join(", ")));
    }
}
