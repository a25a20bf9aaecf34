//! `vrrp_instance` to `[[instance]]`, with keepalived's own overrides
//! applied as keepalived applies them.

use std::net::IpAddr;

use super::Impact;
use super::Node;
use super::convert::{Convert, Table, quote, quote_list};

mod strict;

/// A tracked object as written: `NAME [weight N]`.
#[derive(Debug, Clone)]
struct Tracked {
    name: String,
    weight: Option<i64>,
    line: usize,
    /// `track_interface`, `track_script`, `track_file` or `track_process`.
    kind: &'static str,
}

/// An instance being read.
#[derive(Debug, Default)]
struct Inst {
    /// Line of `vrrp_instance`.
    line: usize,
    body: Table,
    vmac: Table,
    version: Option<u8>,
    interface: Option<String>,
    priority: Option<i64>,
    /// Line of `state MASTER`.
    state_master: Option<usize>,
    /// Line of `nopreempt` (a later `preempt` clears it).
    nopreempt: Option<usize>,
    preempt_delay: Option<(usize, String)>,
    auth: Option<(usize, String)>,
    /// `unicast_src_ip` and `unicast_peer`s: (address, line).
    source: Option<(String, usize)>,
    peers: Vec<(String, usize)>,
    /// `virtual_routes`: (is IPv6, TOML entry).
    routes: Vec<(bool, String)>,
    v4: Vec<String>,
    v6: Vec<String>,
    /// `virtual_ipaddress_excluded`, either family.
    excluded: Vec<String>,
    /// `strict_mode [on|off]`: (line, on).
    strict: Option<(usize, bool)>,
    tracked: Vec<Tracked>,
    /// Line of `track_src_ip`.
    track_src: Option<usize>,
}

impl Convert {
    pub(super) fn instance(&mut self, n: &Node, out: &mut String) {
        let Some(name) = n.args.first() else {
            self.note(
                n.line,
                Impact::Changes,
                Some("vrrp_instance"),
                "vrrp_instance without a name; skipped",
            );
            return;
        };
        let mut i = Inst {
            line: n.line,
            ..Inst::default()
        };
        for c in n.block.iter().flatten() {
            self.instance_key(c, &mut i);
        }
        if i.interface.is_none() {
            if let Some(d) = self.wide.interface.clone() {
                i.body.set("interface", quote(&d));
                i.interface = Some(d);
            }
        }
        let strict = self.strict_overrides(name, &mut i);
        if let (Some(line), None) = (i.track_src, &i.source) {
            let why = "`track_src_ip` without `mcast_src_ip` / `unicast_src_ip`: no source address to follow; dropped";
            self.note(line, Impact::NoEffect, Some("track_src_ip"), why);
        } else if i.track_src.is_some() {
            i.body.set("track_source", "true".to_owned());
        }
        // The global defaults of instance keys, unless set here.
        for (k, v) in self.wide.instance_defaults.entries() {
            if !i.body.has(k) {
                i.body.set(k, v.to_owned());
            }
        }
        if strict {
            // keepalived: strict mode sends no lower-priority announcements,
            // whatever the global defaults say.
            i.body.remove("garp_lower_prio_repeat");
            i.body.remove("garp_lower_prio_delay");
        }
        self.keepalived_overrides(name, &mut i);
        self.write_instance(n, name, &i, out);
    }

    fn instance_key(&mut self, c: &Node, i: &mut Inst) {
        let key = c.key.as_str();
        match key {
            "interface" => {
                if let Some(v) = self.value(c) {
                    i.interface = Some(v.to_owned());
                    i.body.set("interface", quote(v));
                }
            }
            "virtual_router_id" => self.int_key(c, &mut i.body, "vrid"),
            "priority" => {
                i.priority = self.int(c);
                if let Some(p) = i.priority {
                    i.body.set("priority", p.to_string());
                }
            }
            "advert_int" => self.dur_key(c, &mut i.body, "advert_interval"),
            "version" => match self.value(c) {
                Some("2") => i.version = Some(2),
                Some("3") => i.version = Some(3),
                _ => self.note(
                    c.line,
                    Impact::Changes,
                    Some(key),
                    "version must be 2 or 3; skipped",
                ),
            },
            "state" => {
                if self.value(c) == Some("MASTER") {
                    i.state_master = Some(c.line);
                    self.note(
                        c.line,
                        Impact::NoEffect,
                        Some(key),
                        "`state MASTER` is not carried over: the priority decides who is master (RFC 9568 §6.4.1), as it does in keepalived once the instances hear each other",
                    );
                }
            }
            "nopreempt" => i.nopreempt = Some(c.line),
            "notify_priority_changes" => self.priority_changes(c, &mut i.body),
            "smtp_alert" => {
                if let Some(on) = self.smtp_flag(c) {
                    i.body.set("smtp_alert", on.to_string());
                }
            }
            "preempt" => i.nopreempt = None,
            "preempt_delay" => {
                if let Some(d) = self.duration(c) {
                    i.preempt_delay = Some((c.line, d));
                }
            }
            "accept" => {
                i.body.set("accept", "true".to_owned());
            }
            "no_accept" => {
                i.body.set("accept", "false".to_owned());
            }
            "authentication" => self.authentication(c, i),
            "virtual_ipaddress" => {
                for a in c.block.iter().flatten() {
                    self.vip(a, i.interface.as_deref(), &mut i.v4, &mut i.v6);
                }
            }
            // keepalived reads both into one source address (`saddr`).
            "unicast_src_ip" | "mcast_src_ip" => {
                if let Some(v) = self.value(c) {
                    i.source = Some((v.to_owned(), c.line));
                }
            }
            "unicast_peer" => {
                i.peers = c
                    .block
                    .iter()
                    .flatten()
                    .map(|p| (p.key.clone(), p.line))
                    .collect();
                for p in c.block.iter().flatten().filter(|p| !p.args.is_empty()) {
                    self.note(
                        p.line,
                        Impact::Changes,
                        Some("unicast_peer"),
                        "unicast peer options (min_ttl, max_ttl) are not imported",
                    );
                }
            }
            "track_interface" | "track_script" | "track_file" | "track_process" => {
                let kind = match key {
                    "track_interface" => "track_interface",
                    "track_script" => "track_script",
                    "track_process" => "track_process",
                    _ => "track_file",
                };
                self.tracked(c, kind, &mut i.tracked);
            }
            "notify_master"
            | "notify_backup"
            | "notify_fault"
            | "notify_stop"
            | "notify"
            | "notify_master_rx_lower_pri" => {
                let cmd = self.command(c);
                i.body.set(key, quote(&cmd));
            }
            _ => self.instance_extra_key(c, i),
        }
    }

    /// The rest of an instance's keywords: announcements, excluded
    /// addresses, strict mode, rules and routes, virtual MAC.
    fn instance_extra_key(&mut self, c: &Node, i: &mut Inst) {
        let key = c.key.as_str();
        match key {
            "garp_master_delay" | "garp_master_refresh" => self.dur_key(c, &mut i.body, key),
            "garp_master_repeat"
            | "garp_lower_prio_repeat"
            | "garp_master_refresh_repeat"
            | "down_timer_adverts" => self.int_key(c, &mut i.body, key),
            "lower_prio_no_advert" => {
                let on = super::convert::flag_on(c);
                i.body.set(key, on.to_string());
            }
            "garp_lower_prio_delay" => self.dur_key(c, &mut i.body, key),
            "virtual_ipaddress_excluded" => {
                let mut ex = Vec::new();
                for a in c.block.iter().flatten() {
                    let mut ex6 = Vec::new();
                    self.vip(a, i.interface.as_deref(), &mut ex, &mut ex6);
                    ex.append(&mut ex6);
                }
                i.excluded.extend(ex);
            }
            "strict_mode" => {
                let on = !matches!(
                    c.args.first().map(String::as_str),
                    Some("off" | "false" | "no" | "0")
                );
                i.strict = Some((c.line, on));
            }
            "dont_track_primary" => {
                i.body.set("track_own_interface", "false".to_owned());
            }
            "track_src_ip" => i.track_src = Some(c.line),
            "promote_secondaries" => {
                i.body.set("promote_secondaries", "true".to_owned());
            }
            "virtual_rules" => {
                let rules: Vec<String> = c
                    .block
                    .iter()
                    .flatten()
                    .filter_map(|r| self.rule(r, "virtual_rules"))
                    .collect();
                if !rules.is_empty() {
                    i.body
                        .set("virtual_rules", format!("[{}]", rules.join(", ")));
                }
            }
            "virtual_routes" => {
                i.routes = c
                    .block
                    .iter()
                    .flatten()
                    .filter_map(|r| self.route(r))
                    .collect();
            }
            // What vrrpd always does: nothing to write.
            "vmac_xmit_base" => {}
            "use_vmac" => {
                i.vmac.set("use_vmac", "true".to_owned());
                if let Some(name) = c.args.first() {
                    i.vmac.set("vmac_name", quote(name));
                }
            }
            _ => self.keyword("vrrp_instance", c),
        }
    }

    fn int_key(&mut self, c: &Node, t: &mut Table, key: &str) {
        if let Some(v) = self.int(c) {
            t.set(key, v.to_string());
        }
    }

    fn dur_key(&mut self, c: &Node, t: &mut Table, key: &str) {
        if let Some(d) = self.duration(c) {
            t.set(key, d);
        }
    }

    fn authentication(&mut self, c: &Node, i: &mut Inst) {
        let mut kind = None;
        let mut pass = None;
        for a in c.block.iter().flatten() {
            match a.key.as_str() {
                "auth_type" => kind = self.value(a).map(str::to_owned),
                "auth_pass" => pass = self.value(a).map(str::to_owned),
                _ => self.keyword("vrrp_instance", a),
            }
        }
        match (kind.as_deref(), pass) {
            (Some("PASS"), Some(p)) => {
                let p: String = if p.len() > 8 {
                    self.note(c.line, Impact::Converted, Some("auth_pass"), "auth_pass is longer than 8 bytes; keepalived sends only the first 8, so only those were kept");
                    let mut n = 0;
                    p.chars()
                        .take_while(|ch| {
                            n += ch.len_utf8();
                            n <= 8
                        })
                        .collect()
                } else {
                    p
                };
                i.auth = Some((
                    c.line,
                    format!("{{ type = \"pass\", password = {} }}", quote(&p)),
                ));
            }
            (Some("AH"), _) => self.note(
                c.line,
                Impact::Changes,
                Some("auth_type"),
                "AH authentication is not supported (RFC 3768 removed it)",
            ),
            _ => self.note(
                c.line,
                Impact::Changes,
                Some("authentication"),
                "authentication without auth_type PASS and auth_pass; skipped",
            ),
        }
    }

    /// `track_*` entries: `NAME [weight N [reverse]]`.
    fn tracked(&mut self, c: &Node, kind: &'static str, out: &mut Vec<Tracked>) {
        for t in c.block.iter().flatten() {
            let weight = match (t.args.first().map(String::as_str), t.args.get(1)) {
                (None, _) => None,
                (Some("weight"), Some(w)) if w.parse::<i64>().is_ok() => {
                    if t.args.get(2).map(String::as_str) == Some("reverse") {
                        self.note(t.line, Impact::Changes, Some(kind), format!("{}: `reverse` on a track entry is not imported; set reverse on the check", t.key));
                    }
                    w.parse::<i64>().ok()
                }
                _ => {
                    self.note(
                        t.line,
                        Impact::Changes,
                        Some(kind),
                        format!(
                            "{}: options {:?} not understood; tracked without them",
                            t.key, t.args
                        ),
                    );
                    None
                }
            };
            let known = match kind {
                "track_script" => self.wide.script_weights.contains_key(&t.key),
                "track_file" => self.wide.file_weights.contains_key(&t.key),
                "track_process" => self.wide.process_weights.contains_key(&t.key),
                _ => true,
            };
            if !known {
                let what = kind.trim_start_matches("track_");
                self.note(t.line, Impact::Changes, Some(kind), format!("there is no usable {what} named {:?}: keepalived ignores the entry, and so does the import", t.key));
                continue;
            }
            if out.iter().any(|o| o.kind == kind && o.name == t.key) {
                // keepalived (vrrp_track.c, track_file.c): "duplicate
                // track_... - ignoring"; the first entry counts.
                self.note(t.line, Impact::Converted, Some(kind), format!("{} is tracked twice: keepalived ignores the second entry, and so does the import", t.key));
                continue;
            }
            out.push(Tracked {
                name: t.key.clone(),
                weight,
                line: t.line,
                kind,
            });
        }
    }

    /// What keepalived 2.2.7 changes itself when it loads an instance
    /// (`vrrp_complete_instance`): reproduced, each with a note.
    fn keepalived_overrides(&mut self, name: &str, i: &mut Inst) {
        let owner = i.priority == Some(255);
        if let (Some(line), Some(_)) = (i.nopreempt, i.state_master) {
            self.note(line, Impact::Converted, Some("nopreempt"), "keepalived clears `nopreempt` on an instance with `state MASTER`: imported with preempt, as keepalived runs it");
            i.nopreempt = None;
        }
        if let (Some(line), true) = (i.nopreempt, owner) {
            self.note(line, Impact::Converted, Some("nopreempt"), "keepalived clears `nopreempt` on an address owner (priority 255): imported with preempt");
            i.nopreempt = None;
        }
        if let Some((line, _)) = &i.preempt_delay {
            let why = if i.state_master.is_some() {
                Some("with `state MASTER`")
            } else if i.nopreempt.is_some() {
                Some("with `nopreempt`")
            } else {
                None
            };
            if let Some(why) = why {
                self.note(
                    *line,
                    Impact::Converted,
                    Some("preempt_delay"),
                    format!("keepalived clears `preempt_delay` {why}: not imported"),
                );
                i.preempt_delay = None;
            }
        }
        if i.nopreempt.is_some() {
            i.body.set("preempt", "false".to_owned());
        }
        if let Some((_, d)) = &i.preempt_delay {
            i.body.set("preempt_delay", d.clone());
        }
        let member = self.wide.members.get(name).copied();
        let why = match (member, owner) {
            (Some(false), _) => "in a sync group without `sync_group_tracking_weight`",
            (_, true) => "on an address owner (priority 255)",
            _ => return,
        };
        let tracked = std::mem::take(&mut i.tracked);
        for t in tracked {
            if let Some(t) = self.unweighted(t, why, owner && member != Some(false)) {
                i.tracked.push(t);
            }
        }
    }

    /// keepalived's treatment of a weighted tracked object on a sync-group
    /// member or an owner: interfaces lose their weight (an owner stops
    /// tracking them), weighted scripts are ignored, a track file with the
    /// default weight gets weight 0 and one with another weight is ignored.
    fn unweighted(&mut self, mut t: Tracked, why: &str, owner: bool) -> Option<Tracked> {
        let effective = match t.kind {
            "track_script" => t
                .weight
                .unwrap_or_else(|| self.wide.script_weights.get(&t.name).copied().unwrap_or(0)),
            "track_file" => t
                .weight
                .unwrap_or_else(|| self.wide.file_weights.get(&t.name).copied().unwrap_or(1)),
            "track_process" => t
                .weight
                .unwrap_or_else(|| self.wide.process_weights.get(&t.name).copied().unwrap_or(0)),
            _ => t.weight.unwrap_or(0),
        };
        if effective == 0 {
            return Some(t);
        }
        let kept = match (t.kind, owner) {
            ("track_interface", false) => {
                t.weight = None;
                Some("imported without its weight (down means Fault)")
            }
            ("track_file", _) if effective == 1 => {
                t.weight = Some(0);
                Some("imported with weight 0 (a non-zero value means Fault)")
            }
            _ => None,
        };
        let (impact, what) = (Impact::Converted, kept.unwrap_or("not tracked"));
        self.note(t.line, impact, Some(t.kind), format!("keepalived ignores the weight of tracked {} {} {why}: {what}, as keepalived runs it", t.kind.trim_start_matches("track_"), t.name));
        kept.map(|_| t)
    }

    fn write_instance(&mut self, n: &Node, name: &str, i: &Inst, out: &mut String) {
        let version = i.version.or(self.wide.version).unwrap_or(2);
        let mut body = i.body.clone();
        let items = |kind: &[&str]| -> String {
            let v: Vec<String> = i
                .tracked
                .iter()
                .filter(|t| kind.contains(&t.kind))
                .map(|t| match t.weight {
                    Some(w) => format!("{{ name = {}, weight = {w} }}", quote(&t.name)),
                    None => quote(&t.name),
                })
                .collect();
            format!("[{}]", v.join(", "))
        };
        if !i.excluded.is_empty() {
            body.set(
                "virtual_addresses_excluded",
                format!("[{}]", i.excluded.join(", ")),
            );
        }
        if i.tracked.iter().any(|t| t.kind == "track_interface") {
            body.set("track_interfaces", items(&["track_interface"]));
        }
        if i.tracked.iter().any(|t| t.kind != "track_interface") {
            body.set(
                "track_checks",
                items(&["track_script", "track_file", "track_process"]),
            );
        }
        match (i.v4.is_empty(), i.v6.is_empty()) {
            (false, true) => self.write_one(out, name, &body, i, &i.v4, version, false),
            (true, false) => self.write_one(out, name, &body, i, &i.v6, 3, true),
            (false, false) => {
                let name6 = format!("{name}_v6");
                self.write_one(out, name, &body, i, &i.v4, version, false);
                // Excluded addresses are installed once: by the IPv4 twin.
                let mut body6 = body.clone();
                body6.remove("virtual_addresses_excluded");
                self.write_one(out, &name6, &body6, i, &i.v6, 3, true);
                self.note(n.line, Impact::Changes, Some("virtual_ipaddress"), format!("instance {name} mixes IPv4 and IPv6: keepalived 2.2.7 ignores the addresses of the other family (\"address family must match\"); the import keeps them, split into {name} and {name6} (one family per VRRP router, RFC 9568 §7.1): drop {name6} to run as keepalived did, or add it to {name}'s sync group"));
            }
            (true, true) => self.note(
                n.line,
                Impact::Changes,
                Some("vrrp_instance"),
                format!("instance {name} has no virtual_ipaddress; skipped"),
            ),
        }
        if version == 2 && i.v4.is_empty() && !i.v6.is_empty() {
            self.note(
                n.line,
                Impact::Converted,
                Some("version"),
                format!("instance {name} has IPv6 addresses only: imported as VRRPv3"),
            );
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn write_one(
        &mut self,
        out: &mut String,
        name: &str,
        body: &Table,
        i: &Inst,
        addrs: &[String],
        version: u8,
        ipv6: bool,
    ) {
        let mut t = Table::default();
        t.set("name", quote(name));
        t.set("version", version.to_string());
        let mut all = body.clone();
        if ipv6 {
            if i.vmac.has("use_vmac") {
                self.note(
                    i.line,
                    Impact::Changes,
                    Some("use_vmac"),
                    format!("use_vmac dropped from {name}: vrrpd supports it for IPv4 only"),
                );
            }
        } else {
            for k in ["use_vmac", "vmac_name"] {
                if let Some(v) = v_get(&i.vmac, k) {
                    all.set(k, v);
                }
            }
        }
        // RFC 9568 removed authentication: it only goes to a v2 instance.
        match (&i.auth, version) {
            (Some((_, a)), 2) => {
                all.set("authentication", a.clone());
            }
            (Some((line, _)), _) => self.note(
                *line,
                Impact::Changes,
                Some("authentication"),
                format!("authentication dropped from {name}: VRRPv3 has none (RFC 9568)"),
            ),
            (None, _) => {}
        }
        self.same_family(&mut all, i, ipv6);
        all.set("virtual_addresses", format!("[{}]", addrs.join(", ")));
        for (k, v) in all.entries() {
            t.set(k, v.to_owned());
        }
        t.render("instance", out);
    }

    /// Unicast addresses and routes of the instance's family; keepalived
    /// skips those of the other family ("MUST be of the same family").
    fn same_family(&mut self, t: &mut Table, i: &Inst, ipv6: bool) {
        let fits = |a: &str| a.parse::<IpAddr>().map_or(true, |ip| ip.is_ipv6() == ipv6);
        let mut peers = Vec::new();
        for (p, line) in &i.peers {
            if fits(p) {
                peers.push(p.as_str());
            } else {
                self.note(*line, Impact::NoEffect, Some("unicast_peer"), format!("unicast peer {p} is not of the instance's address family: keepalived skips it, and so does the import"));
            }
        }
        if !peers.is_empty() {
            t.set("unicast_peers", quote_list(peers.iter().copied()));
        }
        if let Some((s, line)) = &i.source {
            if fits(s) {
                // keepalived's one source address: unicast or multicast.
                let key = if peers.is_empty() {
                    "multicast_source"
                } else {
                    "unicast_source"
                };
                t.set(key, quote(s));
            } else {
                self.note(*line, Impact::NoEffect, Some("unicast_src_ip"), format!("unicast_src_ip {s} is not of the instance's address family: keepalived skips it, and so does the import"));
            }
        }
        let routes: Vec<&str> = i
            .routes
            .iter()
            .filter(|(v6, _)| *v6 == ipv6)
            .map(|(_, r)| r.as_str())
            .collect();
        if !routes.is_empty() {
            t.set("virtual_routes", format!("[{}]", routes.join(", ")));
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
            self.note(
                a.line,
                Impact::Changes,
                Some("virtual_ipaddress"),
                format!("{text:?} is not an address; skipped"),
            );
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
                        .cloned()
                }
                other => {
                    self.note(
                        a.line,
                        Impact::Changes,
                        Some("virtual_ipaddress"),
                        format!("{text}: option `{other}` is not imported"),
                    );
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
        // keepalived adds a repeated address once (the second add fails).
        let same = |e: &String| {
            e == &quote(text) || e.starts_with(&format!("{{ address = {},", quote(text)))
        };
        if v4.iter().chain(v6.iter()).any(same) {
            self.note(
                a.line,
                Impact::NoEffect,
                Some("virtual_ipaddress"),
                format!("{text} is listed twice: keepalived adds it once, as the first line says"),
            );
            return;
        }
        let entry = if keys.is_empty() {
            quote(text)
        } else {
            format!("{{ address = {}, {} }}", quote(text), keys.join(", "))
        };
        if ip.is_ipv4() {
            v4.push(entry)
        } else {
            v6.push(entry)
        }
    }
}

fn v_get(t: &Table, key: &str) -> Option<String> {
    t.entries()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.to_owned())
}
