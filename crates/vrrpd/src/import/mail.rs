//! keepalived's e-mail keywords: `global_defs`'s `router_id`,
//! `notification_email { ... }`, `notification_email_from`, `smtp_server
//! HOST [PORT]`, `smtp_connect_timeout`, `smtp_helo_name`, `smtp_alert`,
//! `smtp_alert_vrrp` and `no_email_faults` become `[global]` keys; an
//! instance's or sync group's `smtp_alert [BOOL]` its `smtp_alert`.

use super::Node;
use super::convert::{Convert, Table, quote, quote_list};

impl Convert {
    /// Converts `c` into the imported `[global]` if it is a mail keyword of
    /// `global_defs`; false if it is not one.
    pub(super) fn mail_global(&mut self, c: &Node) -> bool {
        let mut g = std::mem::take(&mut self.wide.global);
        let known = self.mail_key(c, &mut g);
        self.wide.global = g;
        known
    }

    fn mail_key(&mut self, c: &Node, g: &mut Table) -> bool {
        match c.key.as_str() {
            key @ ("router_id" | "notification_email_from" | "smtp_helo_name") => {
                if let Some(v) = self.value(c) {
                    g.set(key, quote(v));
                }
            }
            "notification_email" => {
                let to: Vec<&str> = c
                    .block
                    .iter()
                    .flatten()
                    .map(|n| n.key.as_str())
                    .chain(c.args.iter().map(String::as_str))
                    .collect();
                g.set("notification_email", quote_list(to));
            }
            "smtp_server" => {
                let Some(host) = c.args.first() else {
                    let _ = self.value(c);
                    return true;
                };
                let server = match c.args.get(1) {
                    Some(p) if host.contains(':') => format!("[{host}]:{p}"),
                    Some(p) => format!("{host}:{p}"),
                    None => host.clone(),
                };
                g.set("smtp_server", quote(&server));
            }
            "smtp_connect_timeout" => {
                if let Some(d) = self.duration(c) {
                    g.set("smtp_connect_timeout", d);
                }
            }
            // `smtp_alert_vrrp` is the VRRP side's default and wins over
            // `smtp_alert` wherever it stands.
            "smtp_alert" => {
                if let Some(on) = self.smtp_flag(c) {
                    if !self.wide.alert_vrrp {
                        g.set("smtp_alert", on.to_string());
                    }
                }
            }
            "smtp_alert_vrrp" => {
                if let Some(on) = self.smtp_flag(c) {
                    g.set("smtp_alert", on.to_string());
                    self.wide.alert_vrrp = true;
                }
            }
            "no_email_faults" => {
                g.set("no_email_faults", "true".to_owned());
            }
            _ => return false,
        }
        true
    }

    /// keepalived's `smtp_alert [on|off|true|false|yes|no]`: no word is on.
    pub(super) fn smtp_flag(&mut self, c: &Node) -> Option<bool> {
        let Some(v) = c.args.first() else {
            return Some(true);
        };
        match v.to_ascii_lowercase().as_str() {
            "on" | "true" | "yes" => Some(true),
            "off" | "false" | "no" => Some(false),
            _ => {
                self.keyword_unreadable(c);
                None
            }
        }
    }

    fn keyword_unreadable(&mut self, c: &Node) {
        self.note(
            c.line,
            super::Impact::Changes,
            Some(&c.key),
            format!("`{} {}`: not on or off; skipped", c.key, c.args.join(" ")),
        );
    }
}

/// The `[global]` table of the imported file, if it has a key.
pub(super) fn render_global(g: &Table, out: &mut String) {
    let mut any = false;
    for (k, v) in g.entries() {
        if !any {
            out.push_str("[global]\n");
            any = true;
        }
        out.push_str(&format!("{k} = {v}\n"));
    }
    if any {
        out.push('\n');
    }
}
