//! E-mail alerts: keepalived's `[global]` keys (`router_id`,
//! `notification_email`, `notification_email_from`, `smtp_server`,
//! `smtp_connect_timeout`, `smtp_helo_name`, `smtp_alert`,
//! `no_email_faults`, `smtp_alert_checker`, `no_checker_emails`) and their
//! validation. Per-instance and per-group `smtp_alert` live with the hooks
//! ([`super::Hooks::smtp_alert`]), per virtual and real server with LVS
//! ([`super::lvs::VirtualServer::smtp_alert`]).
//!
//! Which LVS alerts are sent follows keepalived 2.2 (`check_data.c`): a
//! virtual or real server's own `smtp_alert` wins; without one,
//! `smtp_alert_checker`; without that, the global `smtp_alert` if it is
//! set; and without any, virtual servers send none and real servers do
//! (keepalived keeps that last default for compatibility). A virtual
//! server's setting does not pass to its real servers.

use std::time::Duration;

use toml::Spanned;

use super::raw::{Dur, RawGlobal};
use super::validate::Cx;

/// The SMTP port used when `smtp_server` names none (keepalived's).
pub(crate) const DEFAULT_SMTP_PORT: u16 = 25;
/// keepalived's default `smtp_connect_timeout`.
pub(crate) const DEFAULT_SMTP_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Where e-mail alerts go, and how (validated `[global]` mail keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// `router_id`: the name in brackets in every subject; `None` uses the
    /// host name (keepalived's default).
    pub router_id: Option<String>,
    /// `notification_email`: the recipients. Empty sends no mail.
    pub to: Vec<String>,
    /// `notification_email_from`; `None` uses `USER@HOSTNAME`.
    pub from: Option<String>,
    /// `smtp_server`: host (address or name) and port. `None` sends no mail.
    pub server: Option<SmtpServer>,
    /// `smtp_connect_timeout`: the bound on connecting and on each reply.
    pub connect_timeout: Duration,
    /// `smtp_helo_name`; `None` uses the host name.
    pub helo_name: Option<String>,
    /// `smtp_alert`: the default of instances and sync groups that do not
    /// set their own.
    pub alert_default: bool,
    /// `no_email_faults`: entering Fault sends no alert.
    pub no_email_faults: bool,
    /// The default of virtual and real servers that set no `smtp_alert`:
    /// `smtp_alert_checker`, else `smtp_alert` if given. `None`: neither
    /// is set (see [`Mail::virtual_server_alerts`],
    /// [`Mail::real_server_alerts`]).
    pub checker_default: Option<bool>,
    /// `no_checker_emails`: a real server's check that changes while the
    /// real server stays up or down sends no alert.
    pub no_checker_emails: bool,
}

impl Default for Mail {
    fn default() -> Self {
        Mail {
            router_id: None,
            to: Vec::new(),
            from: None,
            server: None,
            connect_timeout: DEFAULT_SMTP_CONNECT_TIMEOUT,
            helo_name: None,
            alert_default: false,
            no_email_faults: false,
            checker_default: None,
            no_checker_emails: false,
        }
    }
}

impl Mail {
    /// True if alerts can be sent at all: a server and a recipient.
    pub fn enabled(&self) -> bool {
        self.server.is_some() && !self.to.is_empty()
    }

    /// Whether an instance or group with `smtp_alert = own` sends alerts.
    pub fn alerts(&self, own: Option<bool>) -> bool {
        self.enabled() && own.unwrap_or(self.alert_default)
    }

    /// Whether a virtual server with `smtp_alert = own` mails its quorum
    /// changes (off unless a key says on).
    pub fn virtual_server_alerts(&self, own: Option<bool>) -> bool {
        self.enabled() && own.or(self.checker_default).unwrap_or(false)
    }

    /// Whether a real server with `smtp_alert = own` mails its checks'
    /// changes (on unless a key says off: keepalived's default).
    pub fn real_server_alerts(&self, own: Option<bool>) -> bool {
        self.enabled() && own.or(self.checker_default).unwrap_or(true)
    }
}

/// An SMTP server: `HOST`, `HOST:PORT`, `[V6]:PORT` or a bare IPv6 address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpServer {
    /// Address or DNS name (resolved by the mail worker, never the loop).
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl std::fmt::Display for SmtpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Parses `smtp_server`.
pub(crate) fn parse_server(text: &str) -> Result<SmtpServer, String> {
    let t = text.trim();
    let bad = || {
        format!(
            "smtp_server {text:?} must be HOST or HOST:PORT, e.g. \"192.0.2.25\", \"mail.example.com:2525\" or \"[2001:db8::25]:25\""
        )
    };
    if t.is_empty() || t.contains(char::is_whitespace) {
        return Err(bad());
    }
    if let Ok(a) = t.parse::<std::net::Ipv6Addr>() {
        return Ok(SmtpServer {
            host: a.to_string(),
            port: DEFAULT_SMTP_PORT,
        });
    }
    if let Some(rest) = t.strip_prefix('[') {
        let (host, port) = rest.split_once("]:").ok_or_else(bad)?;
        let _: std::net::Ipv6Addr = host.parse().map_err(|_| bad())?;
        let port = port
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(bad)?;
        return Ok(SmtpServer {
            host: host.to_owned(),
            port,
        });
    }
    let (host, port) = match t.split_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(bad)?),
        None => (t, DEFAULT_SMTP_PORT),
    };
    let name_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_');
    if !name_ok {
        return Err(bad());
    }
    Ok(SmtpServer {
        host: host.to_owned(),
        port,
    })
}

/// A plausible mail address: `local@domain`, no spaces or angle brackets
/// (those would break the SMTP dialogue).
fn address_ok(a: &str) -> bool {
    let bad = |c: char| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',');
    matches!(a.split_once('@'), Some((l, d)) if !l.is_empty() && !d.is_empty()) && !a.contains(bad)
}

impl Cx {
    /// The mail keys of `[global]`.
    pub(crate) fn mail(&mut self, g: &RawGlobal) -> Mail {
        let mut out = Mail::default();
        if let Some(r) = &g.router_id {
            if r.get_ref().trim().is_empty() || r.get_ref().contains(['\r', '\n']) {
                self.at(r, "router_id must be a non-empty single line");
            }
            out.router_id = Some(r.get_ref().clone());
        }
        if let Some(list) = &g.notification_email {
            for a in list.get_ref() {
                if !address_ok(a.get_ref()) {
                    self.at(
                        a,
                        format!(
                            "notification_email {:?} is not a mail address (local@domain)",
                            a.get_ref()
                        ),
                    );
                }
                out.to.push(a.get_ref().clone());
            }
        }
        if let Some(f) = &g.notification_email_from {
            if !address_ok(f.get_ref()) {
                self.at(
                    f,
                    "notification_email_from must be a mail address (local@domain)",
                );
            }
            out.from = Some(f.get_ref().clone());
        }
        if let Some(s) = &g.smtp_server {
            match parse_server(s.get_ref()) {
                Ok(server) => out.server = Some(server),
                Err(e) => self.at(s, e),
            }
        }
        if let Some(t) = &g.smtp_connect_timeout {
            let d: &Spanned<Dur> = t;
            if d.get_ref().0.is_zero() {
                self.at(d, "smtp_connect_timeout must be greater than zero");
            }
            out.connect_timeout = d.get_ref().0;
        }
        if let Some(h) = &g.smtp_helo_name {
            if h.get_ref().is_empty() || h.get_ref().contains(char::is_whitespace) {
                self.at(h, "smtp_helo_name must be one word (a host name)");
            }
            out.helo_name = Some(h.get_ref().clone());
        }
        if let Some(a) = &g.smtp_alert {
            out.alert_default = *a.get_ref();
        }
        if let Some(a) = &g.no_email_faults {
            out.no_email_faults = *a.get_ref();
        }
        let flag = |f: &Option<Spanned<bool>>| f.as_ref().map(|b| *b.get_ref());
        out.checker_default = flag(&g.smtp_alert_checker).or(flag(&g.smtp_alert));
        out.no_checker_emails = flag(&g.no_checker_emails).unwrap_or(false);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_parse_with_and_without_ports() {
        let s = |h: &str, p| SmtpServer {
            host: h.into(),
            port: p,
        };
        assert_eq!(parse_server("192.0.2.25"), Ok(s("192.0.2.25", 25)));
        assert_eq!(parse_server("192.0.2.25:2525"), Ok(s("192.0.2.25", 2525)));
        assert_eq!(
            parse_server("mail.example.com"),
            Ok(s("mail.example.com", 25))
        );
        assert_eq!(parse_server("2001:db8::25"), Ok(s("2001:db8::25", 25)));
        assert_eq!(
            parse_server("[2001:db8::25]:587"),
            Ok(s("2001:db8::25", 587))
        );
        assert_eq!(s("2001:db8::25", 587).to_string(), "[2001:db8::25]:587");
        for bad in ["", "a b", "host:0", "host:x", "[::1]", "[zz]:25", "a/b"] {
            assert!(parse_server(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn alerts_need_a_server_a_recipient_and_a_yes() {
        let mut m = Mail::default();
        assert!(!m.alerts(Some(true)));
        m.server = Some(SmtpServer {
            host: "h".into(),
            port: 25,
        });
        m.to = vec!["ops@example.com".into()];
        assert!(m.alerts(Some(true)) && !m.alerts(None) && !m.alerts(Some(false)));
        m.alert_default = true;
        assert!(m.alerts(None) && !m.alerts(Some(false)));
        assert!(address_ok("a@b") && !address_ok("a b@c") && !address_ok("<a@b>"));
    }

    /// `[global]` from TOML text, through the validation.
    fn global(toml_text: &str) -> Mail {
        let g: RawGlobal = toml::from_str(toml_text).unwrap();
        let mut cx = Cx::new(crate::config::Options::OFFLINE);
        let m = cx.mail(&g);
        assert!(cx.diags.is_empty(), "{:?}", cx.diags);
        m
    }

    const SERVER: &str =
        "smtp_server = \"192.0.2.25\"\nnotification_email = [\"ops@example.com\"]\n";

    #[test]
    fn lvs_alerts_follow_keepalived_s_overrides() {
        // (global keys, own setting) -> (virtual server, real server),
        // as keepalived 2.2's check_data.c resolves them.
        let rows: [(&str, Option<bool>, bool, bool); 10] = [
            ("", None, false, true),
            ("", Some(true), true, true),
            ("", Some(false), false, false),
            ("smtp_alert = true", None, true, true),
            ("smtp_alert = false", None, false, false),
            ("smtp_alert_checker = true", None, true, true),
            (
                "smtp_alert_checker = false\nsmtp_alert = true",
                None,
                false,
                false,
            ),
            (
                "smtp_alert_checker = true\nsmtp_alert = false",
                None,
                true,
                true,
            ),
            ("smtp_alert_checker = false", Some(true), true, true),
            ("smtp_alert_checker = true", Some(false), false, false),
        ];
        for (keys, own, vs, rs) in rows {
            let m = global(&format!("{SERVER}{keys}"));
            assert_eq!(m.virtual_server_alerts(own), vs, "{keys:?} {own:?}");
            assert_eq!(m.real_server_alerts(own), rs, "{keys:?} {own:?}");
        }
        // smtp_alert_checker leaves the instances' default alone.
        let m = global(&format!("{SERVER}smtp_alert_checker = true"));
        assert!(!m.alerts(None));
        // No server or no recipient: nothing, whatever the keys say.
        let m = global("smtp_alert_checker = true\nnotification_email = [\"a@b\"]");
        assert!(!m.real_server_alerts(Some(true)) && !m.virtual_server_alerts(Some(true)));
        assert!(global(&format!("{SERVER}no_checker_emails = true")).no_checker_emails);
        assert!(!global(SERVER).no_checker_emails);
    }
}
