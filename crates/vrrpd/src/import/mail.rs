//! keepalived's e-mail keywords: `global_defs`'s `router_id`,
//! `notification_email { ... }`, `notification_email_from`, `smtp_server
//! HOST [PORT]`, `smtp_connect_timeout`, `smtp_helo_name`, `smtp_alert`,
//! `smtp_alert_vrrp`, `no_email_faults`, `smtp_alert_checker` and
//! `no_checker_emails` become `[global]` keys; an instance's, sync
//! group's, virtual or real server's `smtp_alert [BOOL]` its `smtp_alert`
//! ([`AlertSwitches::lvs_default`] for the servers that set none).

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
                    if self.wide.alerts.vrrp.is_none() {
                        g.set("smtp_alert", on.to_string());
                    }
                    self.wide.alerts.global = Some(on);
                }
            }
            "smtp_alert_vrrp" => {
                if let Some(on) = self.smtp_flag(c) {
                    g.set("smtp_alert", on.to_string());
                    self.wide.alerts.vrrp = Some(on);
                }
            }
            "smtp_alert_checker" => {
                if let Some(on) = self.smtp_flag(c) {
                    g.set("smtp_alert_checker", on.to_string());
                    self.wide.alerts.checker = Some(on);
                }
            }
            "no_checker_emails" => {
                if let Some(on) = self.smtp_flag(c) {
                    g.set("no_checker_emails", on.to_string());
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

/// keepalived's global alert switches, as the file gives them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct AlertSwitches {
    /// `smtp_alert`.
    pub(super) global: Option<bool>,
    /// `smtp_alert_vrrp`.
    pub(super) vrrp: Option<bool>,
    /// `smtp_alert_checker`.
    pub(super) checker: Option<bool>,
}

impl AlertSwitches {
    /// The `smtp_alert` to write on a virtual server (`real` false) or
    /// real server (`real` true) that sets none, when the imported
    /// `[global]` would give it another default than keepalived does:
    /// `smtp_alert_vrrp` becomes the imported `smtp_alert`, which
    /// keepalived's checkers do not read.
    pub(super) fn lvs_default(self, real: bool) -> Option<bool> {
        // keepalived 2.2, check_data.c: checker, else global, else
        // virtual servers off and real servers on.
        let keepalived = self.checker.or(self.global).unwrap_or(real);
        let imported = self.checker.or(self.vrrp.or(self.global)).unwrap_or(real);
        (keepalived != imported).then_some(keepalived)
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

#[cfg(test)]
mod tests {
    use super::AlertSwitches;

    #[test]
    fn servers_get_their_own_smtp_alert_only_where_smtp_alert_vrrp_would_mislead() {
        let s = |global, vrrp, checker| AlertSwitches {
            global,
            vrrp,
            checker,
        };
        // Nothing, or keys that mean the same in both files.
        for a in [
            s(None, None, None),
            s(Some(true), None, None),
            s(Some(false), Some(false), None),
            s(None, Some(true), Some(false)),
            s(Some(true), Some(false), Some(true)),
        ] {
            assert_eq!(
                (a.lvs_default(false), a.lvs_default(true)),
                (None, None),
                "{a:?}"
            );
        }
        // smtp_alert_vrrp alone: keepalived's servers keep their defaults.
        let a = s(None, Some(true), None);
        assert_eq!(
            (a.lvs_default(false), a.lvs_default(true)),
            (Some(false), None)
        );
        let a = s(None, Some(false), None);
        assert_eq!(
            (a.lvs_default(false), a.lvs_default(true)),
            (None, Some(true))
        );
        // smtp_alert_vrrp over smtp_alert: the servers follow smtp_alert.
        let a = s(Some(false), Some(true), None);
        assert_eq!(
            (a.lvs_default(false), a.lvs_default(true)),
            (Some(false), Some(false))
        );
    }
}
