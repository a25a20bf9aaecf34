//! keepalived's real-server checkers in the import: `TCP_CHECK`,
//! `HTTP_GET`, `SSL_GET` and `MISC_CHECK` with their `url` blocks, as
//! `[virtual_server.real_server.*]` tables.

use super::Impact;
use super::Node;
use super::convert::{Convert, quote};
use super::lvs::{DURATIONS, Lines, VsPort, boolean};

impl Convert {
    /// One checker block `n` of a real server, as its `table` (`tcp_check`,
    /// `http_get`, ...) after the real server's table in `out`.
    pub(super) fn checker(&mut self, n: &Node, table: &str, vs: VsPort, out: &mut String) {
        let mut t = Lines::default();
        let mut urls = Vec::new();
        for c in n.block.iter().flatten() {
            let key = c.key.as_str();
            match key {
                "connect_ip" | "virtualhost" => {
                    if let Some(v) = self.value(c) {
                        t.set(key, quote(v));
                    }
                }
                "connect_port" | "retry" | "nb_get_retry" => {
                    if let Some(v) = self.int(c) {
                        t.set(
                            if key == "nb_get_retry" { "retry" } else { key },
                            v.to_string(),
                        );
                    }
                }
                "misc_path" => {
                    let cmd = self.command(c);
                    t.set(key, quote(&cmd));
                }
                "misc_dynamic" => {
                    if let Some(b) = boolean(c) {
                        t.set(key, b.to_string());
                    }
                }
                "enable_sni" | "sni_name" if table != "ssl_get" => self.note(
                    c.line,
                    Impact::NoEffect,
                    Some(key),
                    format!("`{key}` in {} has no effect (no TLS)", n.key),
                ),
                // keepalived: the last of `enable_sni` and `sni_name` (which
                // enables it) counts.
                "enable_sni" => {
                    if let Some(b) = boolean(c) {
                        if !b {
                            t.0.retain(|(k, _)| k != "sni_name");
                        }
                        t.set(key, b.to_string());
                    }
                }
                "sni_name" => {
                    if let Some(v) = c.args.first() {
                        t.set(key, quote(v));
                    }
                    t.set("enable_sni", "true".to_owned());
                }
                k if DURATIONS.contains(&k) => {
                    if let Some(d) = self.duration(c) {
                        t.set(key, d);
                    }
                }
                "url" => urls.push(self.url(c)),
                _ => self.lvs_unsupported(table, c),
            }
        }
        if !urls.is_empty() {
            t.set("url", format!("[{}]", urls.join(", ")));
        }
        let url_names = n
            .block
            .iter()
            .flatten()
            .filter(|c| c.key == "url")
            .map(|u| u.block.iter().flatten().any(|k| k.key == "virtualhost"));
        let (some, all) = url_names.fold((false, true), |(s, a), n| (s || n, a && n));
        self.sni_without_name(n, vs, (some, all && some), &mut t);
        t.render(&format!("[virtual_server.real_server.{table}]"), out);
    }

    /// keepalived (check_ssl.c) sends as SNI `sni_name`, else a
    /// virtualhost (the url's, the check's, the virtual server's), else
    /// nothing. vrrpd's configuration wants a name for every URL, so
    /// `enable_sni` without one is dropped: with no effect if no URL had
    /// one either, else as a behaviour change (`urls`: whether some, and
    /// whether all, URLs name a virtualhost).
    fn sni_without_name(&mut self, n: &Node, vs: VsPort, urls: (bool, bool), t: &mut Lines) {
        let named = ["sni_name", "virtualhost"]
            .iter()
            .any(|k| t.get(k).is_some());
        let (some, all) = urls;
        if t.get("enable_sni") != Some("true") || named || vs.virtualhost || all {
            return;
        }
        t.0.retain(|(k, _)| k != "enable_sni");
        if some {
            self.note(
                n.line,
                Impact::Changes,
                Some("enable_sni"),
                "`enable_sni`: only some urls name a `virtualhost` (keepalived sends SNI for those only; vrrpd needs a name for every url): dropped, no SNI is sent",
            );
        } else {
            self.note(
                n.line,
                Impact::NoEffect,
                Some("enable_sni"),
                "`enable_sni` with no `sni_name` or `virtualhost`: keepalived sends no SNI then; dropped",
            );
        }
    }

    fn url(&mut self, n: &Node) -> String {
        let mut parts = Vec::new();
        for c in n.block.iter().flatten() {
            match c.key.as_str() {
                "path" | "digest" | "virtualhost" => {
                    if let Some(v) = self.value(c) {
                        parts.push(format!("{} = {}", c.key, quote(v)));
                    }
                }
                "status_code" => {
                    let v = c.args.join(" ");
                    match v.parse::<u16>() {
                        Ok(code) => parts.push(format!("status_code = {code}")),
                        Err(_) => parts.push(format!("status_code = {}", quote(&v))),
                    }
                }
                _ => self.lvs_unsupported("url", c),
            }
        }
        format!("{{ {} }}", parts.join(", "))
    }
}
