//! keepalived's LVS side in the import: `virtual_server` (address + port,
//! `fwmark` or `group`), `virtual_server_group`, `real_server` and
//! `lvs_sync_daemon`; the checkers are in `lvs_check.rs`. What is not
//! carried over is named in a note.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::IpAddr;

use super::Impact;
use super::Node;
use super::convert::{Convert, quote};

/// `key = value` lines of one TOML table, in order.
#[derive(Debug, Default)]
pub(super) struct Lines(pub(super) Vec<(String, String)>);

impl Lines {
    pub(super) fn set(&mut self, k: &str, v: String) {
        match self.0.iter_mut().find(|(x, _)| x == k) {
            Some(e) => e.1 = v,
            None => self.0.push((k.to_owned(), v)),
        }
    }

    pub(super) fn get(&self, k: &str) -> Option<&str> {
        self.0.iter().find(|(x, _)| x == k).map(|(_, v)| v.as_str())
    }

    pub(super) fn render(&self, header: &str, out: &mut String) {
        let _ = writeln!(out, "{header}");
        for (k, v) in &self.0 {
            let _ = writeln!(out, "{k} = {v}");
        }
    }
}

/// The most addresses one range may expand to.
const RANGE_MAX: u32 = 256;

/// keepalived's address range: `A.B.C.D-E` (D to E in the last octet) or
/// `X:..:Y-Z` (Y to Z in the last group, hexadecimal).
fn expand_range(range: &str) -> Result<Vec<IpAddr>, String> {
    let (first, last) = range
        .rsplit_once('-')
        .ok_or_else(|| "not a range".to_owned())?;
    let first: IpAddr = first
        .parse()
        .map_err(|_| format!("{first:?} is not an IP address"))?;
    let (start, end) = match first {
        IpAddr::V4(a) => (u32::from(a.octets()[3]), last.parse::<u8>().map(u32::from)),
        IpAddr::V6(a) => (
            u32::from(a.segments()[7]),
            u16::from_str_radix(last, 16).map(u32::from),
        ),
    };
    let end = end.map_err(|_| format!("{last:?} does not end the range"))?;
    if end < start || end - start >= RANGE_MAX {
        return Err(format!(
            "the end must follow the start, at most {RANGE_MAX} addresses"
        ));
    }
    Ok((start..=end)
        .filter_map(|i| match first {
            IpAddr::V4(a) => {
                let [x, y, z, _] = a.octets();
                u8::try_from(i).ok().map(|w| IpAddr::from([x, y, z, w]))
            }
            IpAddr::V6(a) => {
                let mut g = a.segments();
                g[7] = u16::try_from(i).ok()?;
                Some(IpAddr::from(g))
            }
        })
        .collect())
}

/// `lb_kind` / `lvs_method KIND [type T] [port P] [nocsum|csum|remcsum]`
/// as `{prefix}lb_kind` and `{prefix}tunnel = { .. }`. The words are
/// carried as written: `vrrpd check` reports what keepalived would refuse.
fn forwarding(c: &Node, prefix: &str, t: &mut Lines) {
    let Some(kind) = c.args.first() else {
        return;
    };
    t.set(
        &format!("{prefix}lb_kind"),
        quote(&kind.to_ascii_uppercase()),
    );
    let mut fields = Vec::new();
    let mut words = c.args.iter().skip(1);
    while let Some(w) = words.next() {
        match w.as_str() {
            // A word without its value is carried as "", which `vrrpd
            // check` names (keepalived refuses it too).
            "type" => {
                let v = words.next().map_or("", String::as_str);
                fields.push(format!("type = {}", quote(v)));
            }
            "port" => {
                let v = words.next().map_or("", String::as_str);
                let v = v
                    .parse::<u16>()
                    .map_or_else(|_| quote(v), |p| p.to_string());
                fields.push(format!("port = {v}"));
            }
            other => fields.push(format!("checksum = {}", quote(other))),
        }
    }
    if !fields.is_empty() {
        t.set(
            &format!("{prefix}tunnel"),
            format!("{{ {} }}", fields.join(", ")),
        );
    }
}

/// Whether the forwarding method that the last of `keys` in `n`'s block
/// names is NAT; `default` without one.
fn is_nat(n: &Node, keys: &[&str], default: bool) -> bool {
    n.block
        .iter()
        .flatten()
        .rfind(|c| keys.contains(&c.key.as_str()))
        .map_or(default, |c| {
            c.args
                .first()
                .is_some_and(|k| k.eq_ignore_ascii_case("NAT"))
        })
}

/// What a real server's conversion needs from its virtual server: its
/// port (none for a firewall mark), whether its method is NAT, and whether
/// it names a virtualhost.
#[derive(Debug, Clone, Copy)]
pub(super) struct VsPort {
    port: Option<u16>,
    nat: bool,
    /// The virtual server has a `virtualhost` (an SNI name for `enable_sni`).
    pub(super) virtualhost: bool,
}

/// keepalived's optional boolean: no word or `true`/`on`/`yes` is true.
pub(super) fn boolean(n: &Node) -> Option<bool> {
    match n.args.first().map(|s| s.to_ascii_lowercase()).as_deref() {
        None | Some("true" | "on" | "yes") => Some(true),
        Some("false" | "off" | "no") => Some(false),
        Some(_) => None,
    }
}

/// The keys of a virtual server and its checkers that convert one to one
/// (same name, a duration).
pub(super) const DURATIONS: [&str; 5] = [
    "delay_loop",
    "connect_timeout",
    "delay_before_retry",
    "warmup",
    "misc_timeout",
];

impl Convert {
    /// `lvs_sync_daemon INTERFACE [inst] INSTANCE [id N] ...` in
    /// `global_defs`: true if it was this keyword.
    pub(super) fn lvs_global(&mut self, c: &Node, lvs: &mut String) -> bool {
        if c.key != "lvs_sync_daemon" {
            return false;
        }
        let mut words = c.args.iter().map(String::as_str).peekable();
        let iface = words.next();
        if words.peek() == Some(&"inst") {
            words.next();
        }
        let inst = words.next();
        let mut id = None;
        while let Some(w) = words.next() {
            match w {
                "id" => id = words.next().and_then(|v| v.parse::<u8>().ok()),
                other => {
                    let v = words.next().unwrap_or("");
                    self.note(
                        c.line,
                        Impact::NoEffect,
                        Some("lvs_sync_daemon"),
                        format!(
                            "`lvs_sync_daemon`: `{other} {v}` is not carried over (the kernel's default is used)"
                        ),
                    );
                }
            }
        }
        let (Some(iface), Some(inst)) = (iface, inst) else {
            self.note(
                c.line,
                Impact::Changes,
                Some("lvs_sync_daemon"),
                "`lvs_sync_daemon` needs an interface and a VRRP instance; skipped",
            );
            return true;
        };
        let id = id.map_or_else(String::new, |i| format!(", id = {i}"));
        *lvs = format!(
            "[lvs]\nsync_daemon = {{ interface = {}, instance = {}{id} }}\n\n",
            quote(iface),
            quote(inst)
        );
        true
    }

    /// The members of every `virtual_server_group`, by name.
    pub(super) fn vs_groups(nodes: &[&Node]) -> HashMap<String, Vec<Vec<String>>> {
        nodes
            .iter()
            .filter(|n| n.key == "virtual_server_group")
            .filter_map(|n| {
                let name = n.args.first()?.clone();
                let members = n
                    .block
                    .iter()
                    .flatten()
                    .map(|m| {
                        let mut w = vec![m.key.clone()];
                        w.extend(m.args.iter().cloned());
                        w
                    })
                    .collect();
                Some((name, members))
            })
            .collect()
    }

    /// One `virtual_server` block: one `[[virtual_server]]` per address
    /// (a group gives one per member).
    pub(super) fn virtual_server(
        &mut self,
        n: &Node,
        groups: &HashMap<String, Vec<Vec<String>>>,
        out: &mut String,
    ) {
        let keys: Vec<Vec<String>> = match n.args.first().map(String::as_str) {
            Some("group") => {
                let name = n.args.get(1).cloned().unwrap_or_default();
                match groups.get(&name) {
                    Some(m) => m.clone(),
                    None => {
                        self.note(
                            n.line,
                            Impact::Changes,
                            Some("virtual_server"),
                            format!("`virtual_server group {name}`: no such virtual_server_group; skipped"),
                        );
                        return;
                    }
                }
            }
            Some(_) => vec![n.args.clone()],
            None => {
                self.note(
                    n.line,
                    Impact::Changes,
                    Some("virtual_server"),
                    "`virtual_server` without an address; skipped",
                );
                return;
            }
        };
        for k in keys {
            let mut head = Lines::default();
            match k.first().map(String::as_str) {
                Some("fwmark") => match k.get(1).and_then(|m| m.parse::<u32>().ok()) {
                    Some(m) => head.set("fwmark", m.to_string()),
                    None => {
                        self.note(
                            n.line,
                            Impact::Changes,
                            Some("virtual_server"),
                            "`fwmark` needs a number; skipped",
                        );
                        continue;
                    }
                },
                Some(range) if range.contains('-') => {
                    self.vs_range(n, range, k.get(1), out);
                    continue;
                }
                Some(addr) => {
                    head.set("address", quote(addr));
                    if let Some(p) = k.get(1).and_then(|p| p.parse::<u16>().ok()) {
                        head.set("port", p.to_string());
                    }
                }
                None => continue,
            }
            self.vs_body(n, head, out);
        }
    }

    /// A group's address range (keepalived: `192.0.2.30-40` ends at .40;
    /// in IPv6 the last group, in hex): one virtual server per address,
    /// as keepalived makes one IPVS service per address.
    fn vs_range(&mut self, n: &Node, range: &str, port: Option<&String>, out: &mut String) {
        let addrs = match expand_range(range) {
            Ok(a) => a,
            Err(why) => {
                self.note(
                    n.line,
                    Impact::Changes,
                    Some("virtual_server_group"),
                    format!("address range {range}: {why}; skipped"),
                );
                return;
            }
        };
        self.note(
            n.line,
            Impact::Converted,
            Some("virtual_server_group"),
            format!(
                "address range {range}: {} virtual servers, one per address",
                addrs.len()
            ),
        );
        for a in addrs {
            let mut head = Lines::default();
            head.set("address", quote(&a.to_string()));
            if let Some(p) = port.and_then(|p| p.parse::<u16>().ok()) {
                head.set("port", p.to_string());
            }
            self.vs_body(n, head, out);
        }
    }

    fn vs_body(&mut self, n: &Node, mut t: Lines, out: &mut String) {
        let mut rss = String::new();
        let vs = VsPort {
            port: t.get("port").and_then(|p| p.parse().ok()),
            nat: is_nat(n, &["lb_kind", "lvs_method"], true),
            virtualhost: n.block.iter().flatten().any(|c| c.key == "virtualhost"),
        };
        for c in n.block.iter().flatten() {
            let key = c.key.as_str();
            match key {
                "lb_algo" | "lvs_sched" => {
                    if let Some(v) = self.value(c) {
                        t.set("lb_algo", quote(v));
                    }
                }
                "lb_kind" | "lvs_method" => forwarding(c, "", &mut t),
                "sorry_server_lvs_method" => forwarding(c, "sorry_server_", &mut t),
                "protocol" => {
                    if let Some(v) = self.value(c) {
                        t.set("protocol", quote(&v.to_ascii_uppercase()));
                    }
                }
                "persistence_timeout" => {
                    // keepalived: no value means 6 minutes.
                    let v = c.args.first().map_or(Some(360), |v| v.parse::<u32>().ok());
                    if let Some(v) = v {
                        t.set(key, v.to_string());
                    }
                }
                "quorum" | "hysteresis" | "retry" | "nb_get_retry" => {
                    if let Some(v) = self.int(c) {
                        t.set(
                            if key == "nb_get_retry" { "retry" } else { key },
                            v.to_string(),
                        );
                    }
                }
                "persistence_granularity" | "virtualhost" => {
                    if let Some(v) = self.value(c) {
                        t.set(key, quote(v));
                    }
                }
                "quorum_up" | "quorum_down" => {
                    let cmd = self.command(c);
                    t.set(key, quote(&cmd));
                }
                "sorry_server" => self.sorry_server(n, c, vs, &mut t),
                "alpha"
                | "omega"
                | "inhibit_on_failure"
                | "ha_suspend"
                | "sorry_server_inhibit"
                | "smtp_alert" => {
                    if let Some(b) = boolean(c) {
                        t.set(key, b.to_string());
                    }
                }
                k if DURATIONS.contains(&k) => {
                    if let Some(d) = self.duration(c) {
                        t.set(key, d);
                    }
                }
                "real_server" => self.real_server(c, vs, &mut rss),
                _ => self.lvs_unsupported("virtual_server", c),
            }
        }
        // keepalived 2.2.7 logs "no protocol set - defaulting to UDP" for
        // an address without `protocol` (vrrpd's own default is TCP).
        let has_proto = n.block.iter().flatten().any(|c| c.key == "protocol");
        if !has_proto && t.0.iter().any(|(k, _)| k == "address") {
            t.set("protocol", quote("UDP"));
            self.note(
                n.line,
                Impact::Converted,
                Some("virtual_server"),
                "no `protocol`: keepalived uses UDP; written as protocol = \"UDP\"",
            );
        }
        self.alert_default(&mut t, false);
        t.render("[[virtual_server]]", out);
        out.push_str(&rss);
        out.push('\n');
    }

    /// `sorry_server IP [PORT]`; with DR or TUN, keepalived's port rule
    /// (see [`Convert::real_server`]).
    fn sorry_server(&mut self, vsn: &Node, c: &Node, vs: VsPort, t: &mut Lines) {
        let Some(ip) = c.args.first() else {
            return;
        };
        let nat = is_nat(vsn, &["sorry_server_lvs_method"], vs.nat);
        let port = c
            .args
            .get(1)
            .filter(|p| nat || p.parse::<u16>().ok() == vs.port);
        if let (Some(p), None) = (c.args.get(1), port) {
            self.note(
                c.line,
                Impact::Converted,
                Some("sorry_server"),
                format!("sorry server port {p}: with DR or TUN keepalived uses the virtual server's; left out"),
            );
        }
        let a = match port {
            Some(p) if ip.contains(':') => format!("[{ip}]:{p}"),
            Some(p) => format!("{ip}:{p}"),
            None => ip.clone(),
        };
        t.set("sorry_server", quote(&a));
    }

    fn real_server(&mut self, n: &Node, vs: VsPort, out: &mut String) {
        let mut t = Lines::default();
        let Some(addr) = n.args.first() else {
            self.note(
                n.line,
                Impact::Changes,
                Some("real_server"),
                "`real_server` without an address; skipped",
            );
            return;
        };
        t.set("address", quote(addr));
        let nat = is_nat(n, &["lvs_method"], vs.nat);
        if let Some(p) = n.args.get(1).and_then(|p| p.parse::<u16>().ok()) {
            match vs.port.filter(|&v| !nat && v != p) {
                // keepalived (check_data.c): DR and tunnels deliver the
                // virtual port; a different one is reset, with a warning.
                Some(v) => self.note(
                    n.line,
                    Impact::Converted,
                    Some("real_server"),
                    format!(
                        "real server {addr} port {p}: with DR or TUN keepalived uses the virtual port {v}; written as {v}"
                    ),
                ),
                None if !nat && vs.port.is_none() => self.note(
                    n.line,
                    Impact::Converted,
                    Some("real_server"),
                    format!(
                        "real server {addr} port {p}: with DR or TUN a firewall-mark service has no port (keepalived clears it); left out"
                    ),
                ),
                None => t.set("port", p.to_string()),
            }
        }
        let mut checks = String::new();
        let mut seen = Vec::new();
        for c in n.block.iter().flatten() {
            let key = c.key.as_str();
            match key {
                "weight" => {
                    if let Some(v) = self.int(c) {
                        t.set(key, v.to_string());
                    }
                }
                "inhibit_on_failure" | "smtp_alert" => {
                    if let Some(b) = boolean(c) {
                        t.set(key, b.to_string());
                    }
                }
                "lvs_method" => forwarding(c, "", &mut t),
                "uthreshold" | "lthreshold" => {
                    if let Some(v) = self.int(c) {
                        t.set(key, v.to_string());
                    }
                }
                "notify_up" | "notify_down" => {
                    let cmd = self.command(c);
                    t.set(key, quote(&cmd));
                }
                "TCP_CHECK" | "HTTP_GET" | "SSL_GET" | "MISC_CHECK" => {
                    let table = key.to_ascii_lowercase();
                    if seen.contains(&table) {
                        self.note(
                            c.line,
                            Impact::Changes,
                            Some(key),
                            format!("a second {key} of one real server is not carried over"),
                        );
                        continue;
                    }
                    seen.push(table.clone());
                    self.checker(c, &table, vs, &mut checks);
                }
                _ => self.lvs_unsupported("real_server", c),
            }
        }
        self.alert_default(&mut t, true);
        t.render("[[virtual_server.real_server]]", out);
        out.push_str(&checks);
    }

    /// A virtual (`real` false) or real server without `smtp_alert` gets
    /// keepalived's default written out where the imported `[global]`
    /// would give another ([`super::mail::AlertSwitches::lvs_default`]).
    fn alert_default(&self, t: &mut Lines, real: bool) {
        if t.0.iter().any(|(k, _)| k == "smtp_alert") {
            return;
        }
        if let Some(b) = self.wide.alerts.lvs_default(real) {
            t.set("smtp_alert", b.to_string());
        }
    }

    pub(super) fn lvs_unsupported(&mut self, block: &str, c: &Node) {
        self.note(
            c.line,
            Impact::Changes,
            Some(&c.key),
            format!(
                "`{}` in {block} is not carried over (not implemented in vrrpd's LVS)",
                c.key
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs(r: &str) -> Result<Vec<String>, String> {
        expand_range(r).map(|v| v.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn ranges_expand_in_the_last_octet_or_group() {
        assert_eq!(
            addrs("192.0.2.30-32"),
            Ok(vec![
                "192.0.2.30".into(),
                "192.0.2.31".into(),
                "192.0.2.32".into()
            ])
        );
        assert_eq!(
            addrs("2001:db8::fe-100"),
            Ok(vec![
                "2001:db8::fe".into(),
                "2001:db8::ff".into(),
                "2001:db8::100".into()
            ])
        );
        assert!(addrs("192.0.2.30-20").is_err());
        assert!(addrs("192.0.2.30-256").is_err());
        assert!(addrs("192.0.2.x-3").is_err());
        assert!(addrs("2001:db8::1-ffff").is_err(), "over {RANGE_MAX}");
    }

    #[test]
    fn a_tunnel_word_without_its_value_is_carried_for_check_to_name() {
        let node = |args: &[&str]| Node {
            key: "lvs_method".into(),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            block: None,
            line: 1,
        };
        let mut t = Lines::default();
        forwarding(
            &node(&["TUN", "type", "gue", "port", "6080", "csum"]),
            "",
            &mut t,
        );
        assert_eq!(
            t.get("tunnel"),
            Some("{ type = \"gue\", port = 6080, checksum = \"csum\" }")
        );
        let mut t = Lines::default();
        forwarding(&node(&["TUN", "type"]), "", &mut t);
        assert_eq!(t.get("tunnel"), Some("{ type = \"\" }"));
        assert_eq!(t.get("lb_kind"), Some("\"TUN\""));
    }
}
