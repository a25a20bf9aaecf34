//! The e-mail alerts of LVS, as keepalived 2.2 sends them (`check_*.c`,
//! `ipwrapper.c`): each change of a real server's checker (a checker is
//! one `tcp_check`, `http_get`, ... table; an HTTP checker with several
//! URLs changes when the first URL fails and when the last one recovers),
//! each change of a virtual server's quorum, a start without quorum when a
//! sorry server stands in, and with `omega` the stop. The LVS runtime only
//! collects them ([`Lvs::take_alerts`]); the daemon hands them to the mail
//! worker, which applies the `smtp_alert` rules.

use std::collections::BTreeMap;

use healthcheck::{CheckEvent, Checker, Detail, Status};

use super::Lvs;
use crate::config::lvs::{RealServer, RsCheck, RsCheckKind, VirtualServer};
use crate::mail::{self, LvsAlert, LvsSource, QuorumFigures};

/// Which checker of its real server a check belongs to, and which URL of
/// it (0 but for HTTP checkers, which have one check per URL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct CheckPart {
    /// The index of the checker in the real server's configuration.
    pub(super) checker: usize,
    /// The index of the URL.
    pub(super) url: usize,
}

/// How an alert names a checker: `tcp_check of 10.0.0.11:80`,
/// `misc_check /usr/local/bin/probe`.
fn label(c: &RsCheck) -> String {
    match &c.kind {
        RsCheckKind::Tcp => format!("tcp_check of {}", c.connect),
        RsCheckKind::Http { tls: false, .. } => format!("http_get of {}", c.connect),
        RsCheckKind::Http { tls: true, .. } => format!("ssl_get of {}", c.connect),
        RsCheckKind::Misc { argv, .. } => {
            format!("misc_check {}", argv.first().map_or("", String::as_str))
        }
    }
}

/// Why a check of `c` (URL `url`) failed: the probe's result, with the URL
/// for HTTP.
fn failure(c: &RsCheck, url: usize, detail: &Detail) -> String {
    match &c.kind {
        RsCheckKind::Http { urls, .. } => match urls.get(url) {
            Some(u) => format!("{detail} ({})", u.path),
            None => detail.to_string(),
        },
        _ => detail.to_string(),
    }
}

/// The alert of a quorum change of `vs` (`starting`: at start, without).
pub(super) fn quorum_alert(vs: &VirtualServer, up: bool, live: u64, starting: bool) -> LvsAlert {
    let f = QuorumFigures {
        quorum: vs.quorum,
        hysteresis: vs.hysteresis,
        live,
    };
    LvsAlert {
        source: LvsSource::VirtualServer,
        own: vs.smtp_alert,
        text: mail::quorum_text(&vs.name(), up, f, starting),
    }
}

/// The alerts of a reload that drops real servers which were up: those of
/// virtual server `old` (with each real server's `up`) that `new`, the
/// same virtual server after the reload (`None`: removed), no longer has.
/// keepalived mails these too (`clear_service_rs`, `=> Removing <=`); a
/// real server that was down or stays sends nothing.
pub(super) fn removed_alerts(
    old: &VirtualServer,
    up: impl IntoIterator<Item = bool>,
    new: Option<&VirtualServer>,
) -> Vec<LvsAlert> {
    let stays =
        |rs: &RealServer| new.is_some_and(|n| n.real_servers.iter().any(|r| r.addr == rs.addr));
    old.real_servers
        .iter()
        .zip(up)
        .filter(|(rs, up)| *up && !stays(rs))
        .map(|(rs, _)| LvsAlert {
            source: LvsSource::RealServer { changed: true },
            own: rs.smtp_alert,
            text: mail::removed_text(&old.name(), rs.addr),
        })
        .collect()
}

/// Whether check `id` going `from` → `to` moved its checker (all the
/// checks of one table, `parts`) between passing and failing: `Some(passes
/// now)`, `None` if the checker did not change (another URL of it still
/// fails). `ok` says whether another check passes.
fn checker_moved<K: Ord + Copy>(
    parts: &BTreeMap<K, CheckPart>,
    id: K,
    (from, to): (Status, Status),
    ok: impl Fn(K) -> bool,
) -> Option<bool> {
    let part = parts.get(&id)?;
    let others_ok = parts
        .iter()
        .filter(|(k, p)| p.checker == part.checker && **k != id)
        .all(|(k, _)| ok(*k));
    let was = others_ok && from == Status::Ok;
    let now = others_ok && to == Status::Ok;
    (was != now).then_some(now)
}

/// The alert of a checker of `rs` (of `vs`) that passes (`passes`) or
/// fails now; `rs_up` is the real server's state after it, `changed`
/// whether that state moved.
fn check_alert(
    vs: &VirtualServer,
    rs: &RealServer,
    c: &RsCheck,
    ev: &CheckEvent,
    url: usize,
    passes: bool,
    (rs_up, changed): (bool, bool),
) -> LvsAlert {
    let why = (!passes).then(|| failure(c, url, &ev.result.detail));
    LvsAlert {
        source: LvsSource::RealServer { changed },
        own: rs.smtp_alert,
        text: mail::real_server_text(&vs.name(), rs.addr, rs_up, &label(c), why.as_deref()),
    }
}

impl Lvs {
    /// The alerts collected since the last call, in order.
    pub(in crate::runtime) fn take_alerts(&mut self) -> Vec<LvsAlert> {
        std::mem::take(&mut self.alerts)
    }

    /// Check `ev` of real server `ri` of virtual server `vi` changed, and
    /// the real server is `rs_up` now (its state not yet recorded): an
    /// alert if its checker changed.
    pub(super) fn on_check_alert(
        &mut self,
        (vi, ri): (usize, usize),
        ev: &CheckEvent,
        checker: &Checker,
        rs_up: bool,
    ) {
        let Some(v) = self.vss.get(vi) else { return };
        let (Some(run), Some(rs)) = (v.rs.get(ri), v.cfg.real_servers.get(ri)) else {
            return;
        };
        let t = (ev.transition.from, ev.transition.to);
        let ok = |id| checker.state(id).is_none_or(|s| s.status() == Status::Ok);
        let Some(passes) = checker_moved(&run.parts, ev.id, t, ok) else {
            return;
        };
        let Some(part) = run.parts.get(&ev.id) else {
            return;
        };
        let Some(c) = rs.checks.get(part.checker) else {
            return;
        };
        let state = (rs_up, rs_up != run.live.up);
        let a = check_alert(&v.cfg, rs, c, ev, part.url, passes, state);
        self.alerts.push(a);
    }

    /// At start: a virtual server with a sorry server that starts without
    /// its quorum says so (keepalived's "starting with quorum down").
    pub(super) fn start_alerts(&mut self) {
        for v in &self.vss {
            if v.cfg.sorry_server.is_some() && !v.quorum_up {
                let live =
                    super::plan::live_weight(&v.rs.iter().map(|r| r.live).collect::<Vec<_>>());
                self.alerts.push(quorum_alert(&v.cfg, false, live, true));
            }
        }
    }

    /// The stop with `omega`: every real server that is up goes down, and
    /// every virtual server loses its quorum, each with an alert.
    pub(super) fn omega_alerts(&mut self) {
        for v in self.vss.iter().filter(|v| v.cfg.omega) {
            let name = v.cfg.name();
            for (rs, run) in v.cfg.real_servers.iter().zip(&v.rs) {
                if run.live.up {
                    self.alerts.push(LvsAlert {
                        source: LvsSource::RealServer { changed: true },
                        own: rs.smtp_alert,
                        text: mail::stop_text(&name, Some(rs.addr)),
                    });
                }
            }
            self.alerts.push(LvsAlert {
                source: LvsSource::VirtualServer,
                own: v.cfg.smtp_alert,
                text: mail::stop_text(&name, None),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(checker: usize, url: usize) -> CheckPart {
        CheckPart { checker, url }
    }

    #[test]
    fn a_checker_moves_with_its_first_failing_and_last_recovering_url() {
        use Status::{Failed, Ok};
        // Checks 1 and 2: the two URLs of checker 0; check 3: checker 1.
        let parts = BTreeMap::from([(1, part(0, 0)), (2, part(0, 1)), (3, part(1, 0))]);
        let all_ok = |_| true;
        let failing = |k| k != 2;
        assert_eq!(checker_moved(&parts, 1, (Ok, Failed), all_ok), Some(false));
        assert_eq!(checker_moved(&parts, 1, (Failed, Ok), all_ok), Some(true));
        // URL 1 fails already: URL 0 failing or recovering moves nothing.
        assert_eq!(checker_moved(&parts, 1, (Ok, Failed), failing), None);
        assert_eq!(checker_moved(&parts, 1, (Failed, Ok), failing), None);
        // Another checker failing does not hold this one down.
        assert_eq!(checker_moved(&parts, 3, (Failed, Ok), failing), Some(true));
        // A check that is not an LVS one, or no change.
        assert_eq!(checker_moved(&parts, 9, (Ok, Failed), all_ok), None);
        assert_eq!(checker_moved(&parts, 3, (Ok, Ok), all_ok), None);
    }

    /// The checks of a real server with `tables` (TOML).
    fn checks(tables: &str) -> Vec<RsCheck> {
        let text = format!(
            "[[virtual_server]]\naddress = \"192.0.2.1\"\nport = 80\n\
             [[virtual_server.real_server]]\naddress = \"10.0.0.11\"\n{tables}"
        );
        match crate::config::load_str(&text, "t") {
            Ok(c) => c.lvs.virtual_servers[0].real_servers[0].checks.clone(),
            Err(e) => panic!("{e}"),
        }
    }

    /// Virtual servers with real servers `.11`, `.12` (and `more`).
    fn vs(more: &str) -> VirtualServer {
        let text = format!(
            "[[virtual_server]]\naddress = \"192.0.2.1\"\nport = 80\n\
             [[virtual_server.real_server]]\naddress = \"10.0.0.11\"\n\
             [[virtual_server.real_server]]\naddress = \"10.0.0.12\"\nsmtp_alert = false\n{more}"
        );
        match crate::config::load_str(&text, "t") {
            Ok(c) => c.lvs.virtual_servers[0].clone(),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn a_reload_that_drops_a_live_real_server_mails_its_removal() {
        let old = vs("[[virtual_server.real_server]]\naddress = \"10.0.0.13\"\n");
        let new = vs("");
        let subjects = |a: Vec<LvsAlert>| -> Vec<(String, Option<bool>)> {
            a.into_iter().map(|a| (a.text.subject, a.own)).collect()
        };
        // .13 was up and is gone; .11 and .12 stay.
        assert_eq!(
            subjects(removed_alerts(&old, [true, true, true], Some(&new))),
            [(
                "LVS TCP 192.0.2.1:80 - real server 10.0.0.13:80 DOWN".to_owned(),
                None
            )]
        );
        // A real server that was down leaves without a mail.
        assert!(removed_alerts(&old, [true, true, false], Some(&new)).is_empty());
        // The whole virtual server gone: every live real server, with its
        // own smtp_alert for the mail rules.
        assert_eq!(
            subjects(removed_alerts(&old, [true, true, false], None)),
            [
                (
                    "LVS TCP 192.0.2.1:80 - real server 10.0.0.11:80 DOWN".to_owned(),
                    None
                ),
                (
                    "LVS TCP 192.0.2.1:80 - real server 10.0.0.12:80 DOWN".to_owned(),
                    Some(false)
                ),
            ]
        );
        let body = removed_alerts(&old, [false, false, true], None)
            .pop()
            .map(|a| a.text.body);
        assert!(body.is_some_and(|b| b.contains("Removing")));
    }

    #[test]
    fn checkers_are_named_by_kind_target_and_url() {
        let c = checks(
            "[virtual_server.real_server.tcp_check]\n\
             [virtual_server.real_server.http_get]\nurl = [{ path = \"/\" }, { path = \"/health\" }]\n\
             [virtual_server.real_server.misc_check]\nmisc_path = [\"/bin/probe\", \"-q\"]\n",
        );
        let [tcp, http, misc] = &c[..] else {
            panic!("{c:?}")
        };
        assert_eq!(label(tcp), "tcp_check of 10.0.0.11:80");
        assert_eq!(failure(tcp, 0, &Detail::TimedOut), "timed out");
        assert_eq!(label(http), "http_get of 10.0.0.11:80");
        let d = Detail::HttpStatus {
            status: 503,
            body_matched: None,
            digest: None,
        };
        assert_eq!(failure(http, 1, &d), "HTTP 503 (/health)");
        assert_eq!(label(misc), "misc_check /bin/probe");
        assert_eq!(failure(misc, 0, &Detail::Exited(1)), "exited with status 1");
    }
}
