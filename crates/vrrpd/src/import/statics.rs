//! keepalived's `static_ipaddress` and `static_routes` blocks to
//! `static_addresses` and `static_routes` in `[global]`.

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
