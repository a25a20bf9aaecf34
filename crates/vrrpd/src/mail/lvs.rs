//! E-mail alerts of LVS: a real server's check that fails or recovers, a
//! virtual server that loses or regains its quorum, and (with `omega`)
//! the stop. When they are sent follows keepalived 2.2 (`check_*.c`,
//! `ipwrapper.c`): a real server mails each change of one of its checkers
//! (the subject says whether the real server is now UP or DOWN, the body
//! which check changed and why); `no_checker_emails` keeps only the
//! changes that move the real server itself. The wording is vrrpd's own,
//! in the form of the VRRP alerts: `[ROUTER_ID] LVS TCP 192.0.2.10:80 -
//! real server 10.0.0.11:80 DOWN`.

use std::net::SocketAddr;

use super::{Mailer, Text};
use crate::config::Mail;

/// Whose alert it is, which decides the `smtp_alert` that applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LvsSource {
    /// A virtual server's quorum ([`Mail::virtual_server_alerts`]).
    VirtualServer,
    /// A real server's check ([`Mail::real_server_alerts`]).
    RealServer {
        /// The real server itself went up or down (false: one of its
        /// checks changed while another kept it down).
        changed: bool,
    },
}

/// An LVS event worth an alert, as the LVS runtime reports it; the mailer
/// decides from the configuration whether it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LvsAlert {
    /// Whose alert.
    pub source: LvsSource,
    /// That server's own `smtp_alert`.
    pub own: Option<bool>,
    /// What it says.
    pub text: Text,
}

impl LvsAlert {
    /// Whether `mail` sends it: the override rules of
    /// [`Mail::virtual_server_alerts`] / [`Mail::real_server_alerts`],
    /// and `no_checker_emails`.
    pub fn wanted(&self, mail: &Mail) -> bool {
        match self.source {
            LvsSource::VirtualServer => mail.virtual_server_alerts(self.own),
            LvsSource::RealServer { changed } => {
                mail.real_server_alerts(self.own) && (changed || !mail.no_checker_emails)
            }
        }
    }

    /// True if a key asked for it explicitly (not only keepalived's
    /// default for real servers), so that a missing server is worth a
    /// warning.
    fn asked(&self, mail: &Mail) -> bool {
        self.own.or(mail.checker_default) == Some(true)
    }
}

impl Mailer {
    /// Queues an LVS alert if `mail` says so (never blocks).
    pub fn lvs(&mut self, mail: &Mail, alert: LvsAlert) {
        if alert.asked(mail) {
            self.warn_unsendable(mail, &alert.text.subject);
        }
        if alert.wanted(mail) {
            self.queue_text(mail, alert.text);
        }
    }
}

fn up_down(up: bool) -> &'static str {
    if up { "UP" } else { "DOWN" }
}

/// The alert of a check of real server `rs` of virtual server `vs` (named
/// as in the logs, `TCP 192.0.2.10:80`) that changed: `check` names it
/// (`tcp_check of 10.0.0.11:80`), `failure` says why it failed (`None`:
/// it passes now), `rs_up` is the real server's state after the change.
pub fn real_server_text(
    vs: &str,
    rs: SocketAddr,
    rs_up: bool,
    check: &str,
    failure: Option<&str>,
) -> Text {
    let body = match failure {
        Some(why) => format!("=> {check} failed: {why} <="),
        None if rs_up => format!("=> {check} succeeded <="),
        None => format!("=> {check} succeeded; another check still fails <="),
    };
    Text {
        subject: format!("LVS {vs} - real server {rs} {}", up_down(rs_up)),
        body,
    }
}

/// A virtual server's quorum figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuorumFigures {
    /// `quorum`.
    pub quorum: u32,
    /// `hysteresis`.
    pub hysteresis: u32,
    /// The live weight now (the sum of the weights of the real servers
    /// that are up).
    pub live: u64,
}

/// The alert of virtual server `vs` gaining (`up`) or losing its quorum;
/// `starting`: the daemon starts without it (and puts in the sorry
/// server).
pub fn quorum_text(vs: &str, up: bool, f: QuorumFigures, starting: bool) -> Text {
    let (q, h, live) = (f.quorum, f.hysteresis, f.live);
    let body = match (up, starting) {
        (true, _) => format!(
            "=> quorum gained: live weight {live} reaches {} (quorum {q} + hysteresis {h}) <=",
            u64::from(q) + u64::from(h)
        ),
        (false, false) => format!(
            "=> quorum lost: live weight {live} is below {} (quorum {q} - hysteresis {h}) <=",
            q.saturating_sub(h)
        ),
        (false, true) => {
            format!("=> starting without quorum: live weight {live} is below quorum {q} <=")
        }
    };
    Text {
        subject: format!("LVS {vs} - quorum {}", up_down(up)),
        body,
    }
}

/// The alerts of the stop with `omega`: real server `rs` (or, with
/// `None`, the virtual server's quorum) goes DOWN because vrrpd stops.
pub fn stop_text(vs: &str, rs: Option<SocketAddr>) -> Text {
    let subject = match rs {
        Some(rs) => format!("LVS {vs} - real server {rs} DOWN"),
        None => format!("LVS {vs} - quorum DOWN"),
    };
    Text {
        subject,
        body: "=> vrrpd is stopping <=".to_owned(),
    }
}

/// A real server that was up leaves the table because a reload dropped it
/// (keepalived's `=> Removing <=` alert, `ipwrapper.c`).
pub fn removed_text(vs: &str, rs: SocketAddr) -> Text {
    Text {
        subject: format!("LVS {vs} - real server {rs} DOWN"),
        body: "=> Removing: the reloaded configuration no longer has it <=".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SmtpServer;

    fn mail() -> Mail {
        Mail {
            router_id: Some("lb1".into()),
            to: vec!["ops@example.com".into()],
            server: Some(SmtpServer {
                host: "127.0.0.1".into(),
                port: 1,
            }),
            ..Mail::default()
        }
    }

    const RS: &str = "10.0.0.11:80";

    #[test]
    fn real_server_texts_name_the_servers_the_state_and_the_check() {
        let rs = RS.parse().unwrap();
        let t = real_server_text(
            "TCP 192.0.2.10:80",
            rs,
            false,
            "tcp_check of 10.0.0.11:80",
            Some("connection refused"),
        );
        assert_eq!(
            t.subject,
            "LVS TCP 192.0.2.10:80 - real server 10.0.0.11:80 DOWN"
        );
        assert_eq!(
            t.body,
            "=> tcp_check of 10.0.0.11:80 failed: connection refused <="
        );
        let t = real_server_text("FWM 1", rs, true, "http_get of 10.0.0.11:80", None);
        assert_eq!(t.subject, "LVS FWM 1 - real server 10.0.0.11:80 UP");
        assert_eq!(t.body, "=> http_get of 10.0.0.11:80 succeeded <=");
        let t = real_server_text("FWM 1", rs, false, "misc_check /bin/probe", None);
        assert!(t.subject.ends_with(" DOWN"), "{t:?}");
        assert_eq!(
            t.body,
            "=> misc_check /bin/probe succeeded; another check still fails <="
        );
        // With the router id, through the common path.
        let a = super::super::alert(&mail(), t, 0).unwrap();
        assert_eq!(a.subject, "[lb1] LVS FWM 1 - real server 10.0.0.11:80 DOWN");
    }

    #[test]
    fn quorum_and_stop_texts() {
        let f = QuorumFigures {
            quorum: 3,
            hysteresis: 1,
            live: 4,
        };
        let t = quorum_text("TCP 192.0.2.10:80", true, f, false);
        assert_eq!(t.subject, "LVS TCP 192.0.2.10:80 - quorum UP");
        assert_eq!(
            t.body,
            "=> quorum gained: live weight 4 reaches 4 (quorum 3 + hysteresis 1) <="
        );
        let t = quorum_text(
            "TCP 192.0.2.10:80",
            false,
            QuorumFigures { live: 1, ..f },
            false,
        );
        assert_eq!(t.subject, "LVS TCP 192.0.2.10:80 - quorum DOWN");
        assert_eq!(
            t.body,
            "=> quorum lost: live weight 1 is below 2 (quorum 3 - hysteresis 1) <="
        );
        let t = quorum_text("FWM 1", false, QuorumFigures { live: 0, ..f }, true);
        assert_eq!(
            t.body,
            "=> starting without quorum: live weight 0 is below quorum 3 <="
        );
        let t = stop_text("FWM 1", Some(RS.parse().unwrap()));
        assert_eq!(t.subject, "LVS FWM 1 - real server 10.0.0.11:80 DOWN");
        assert_eq!(t.body, "=> vrrpd is stopping <=");
        assert_eq!(stop_text("FWM 1", None).subject, "LVS FWM 1 - quorum DOWN");
    }

    fn alert(source: LvsSource, own: Option<bool>) -> LvsAlert {
        LvsAlert {
            source,
            own,
            text: stop_text("FWM 1", None),
        }
    }

    #[test]
    fn no_checker_emails_keeps_only_real_server_changes() {
        let changed = LvsSource::RealServer { changed: true };
        let check_only = LvsSource::RealServer { changed: false };
        let m = mail();
        // Real servers alert by default, virtual servers do not.
        assert!(alert(changed, None).wanted(&m) && alert(check_only, None).wanted(&m));
        assert!(!alert(LvsSource::VirtualServer, None).wanted(&m));
        assert!(alert(LvsSource::VirtualServer, Some(true)).wanted(&m));
        let m = Mail {
            no_checker_emails: true,
            ..mail()
        };
        assert!(alert(changed, None).wanted(&m) && !alert(check_only, None).wanted(&m));
        assert!(alert(LvsSource::VirtualServer, Some(true)).wanted(&m));
        assert!(!alert(changed, Some(false)).wanted(&m));
    }

    #[test]
    fn lvs_alerts_are_queued_and_counted_without_blocking() {
        let mut m = Mailer::new(8);
        let t0 = std::time::Instant::now();
        m.lvs(
            &mail(),
            alert(LvsSource::RealServer { changed: true }, None),
        );
        m.lvs(&mail(), alert(LvsSource::VirtualServer, None));
        assert!(t0.elapsed() < std::time::Duration::from_millis(50));
        assert_eq!(m.stats().queued, 1);
        // Without a server nothing is queued, even when asked for.
        let off = Mail {
            server: None,
            ..mail()
        };
        m.lvs(&off, alert(LvsSource::VirtualServer, Some(true)));
        assert_eq!(m.stats().queued, 1);
        m.finish(std::time::Duration::from_secs(5));
    }
}
