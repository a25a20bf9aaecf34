//! E-mail alerts on state changes (keepalived's `smtp_alert`), sent off
//! the VRRP path.
//!
//! The daemon's loop only formats an [`Alert`] and offers it to a bounded
//! queue ([`Mailer::state_change`], which never blocks: a full queue drops the
//! alert and counts it). One worker thread, started at the first alert,
//! delivers them in order: connecting and every reply are bounded by
//! `smtp_connect_timeout`, the whole exchange by four times that; a failed
//! attempt is retried once after [`RETRY_DELAY`] unless the server refused
//! the mail outright (5xx). Each outcome has a counter ([`MailStats`]) in
//! `status` and the metrics. An unreachable or silent server therefore
//! costs the loop nothing: transitions and hooks never wait for mail.
//!
//! Subjects and bodies of VRRP alerts are keepalived's (`[router_id] VRRP
//! Instance NAME - Entering MASTER state`, ...), so mail filters written for
//! keepalived keep working; the mailer header says `vrrpd`. LVS alerts
//! (real servers up or down, quorum) are in `lvs.rs`.

mod lvs;
mod smtp;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use tracing::{info, warn};
use vrrp_fsm::State;

use crate::config::{Mail, SmtpServer};

pub use lvs::{
    LvsAlert, LvsSource, QuorumFigures, quorum_text, real_server_text, removed_text, stop_text,
};

/// Alerts waiting at most; more are dropped (and counted).
pub const QUEUE_CAPACITY: usize = 64;
/// The pause before the one retry.
pub const RETRY_DELAY: Duration = Duration::from_secs(1);

/// One mail to deliver, complete (the worker reads no configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// The SMTP server.
    pub server: SmtpServer,
    /// Bound on connecting and on each reply.
    pub timeout: Duration,
    /// The HELO name.
    pub helo: String,
    /// Envelope and header sender.
    pub from: String,
    /// Recipients.
    pub to: Vec<String>,
    /// RFC 5322 date of the event.
    pub date: String,
    /// Subject line.
    pub subject: String,
    /// Body text.
    pub body: String,
}

/// Alerts by outcome, for `status` and the metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MailStats {
    /// Alerts accepted into the queue.
    pub queued: u64,
    /// Alerts the server accepted.
    pub sent: u64,
    /// Alerts given up on (after the retry, or refused by the server).
    pub failed: u64,
    /// Second attempts made.
    pub retried: u64,
    /// Alerts dropped because the queue was full.
    pub dropped: u64,
}

#[derive(Debug, Default)]
struct Counters {
    queued: AtomicU64,
    sent: AtomicU64,
    failed: AtomicU64,
    retried: AtomicU64,
    dropped: AtomicU64,
}

/// What an alert says, before the router id (which may be the host name)
/// is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    /// The subject after `[ROUTER_ID] `.
    pub subject: String,
    /// The body.
    pub body: String,
}

/// What the loop queues: the text of an event. The worker turns it into
/// an [`Alert`], so the host name and the user database (which NSS may
/// look up over the network) are read off the loop.
#[derive(Debug)]
struct Job {
    mail: Mail,
    text: Text,
    unix_s: u64,
}

/// The loop's side of the mail worker.
#[derive(Debug)]
pub struct Mailer {
    tx: Option<SyncSender<Job>>,
    worker: Option<JoinHandle<()>>,
    counters: Arc<Counters>,
    capacity: usize,
    /// The state last mailed per instance / group (keepalived mails a
    /// state once, however often it is re-entered through others).
    last: HashMap<String, State>,
    /// "smtp_alert without a server" was logged.
    warned: bool,
}

impl Default for Mailer {
    fn default() -> Self {
        Mailer::new(QUEUE_CAPACITY)
    }
}

impl Mailer {
    /// A mailer whose queue holds `capacity` alerts; no thread runs until
    /// the first alert.
    pub fn new(capacity: usize) -> Self {
        Mailer {
            tx: None,
            worker: None,
            counters: Arc::default(),
            capacity: capacity.max(1),
            last: HashMap::new(),
            warned: false,
        }
    }

    /// Counters by outcome.
    pub fn stats(&self) -> MailStats {
        let c = &self.counters;
        MailStats {
            queued: c.queued.load(Ordering::Relaxed),
            sent: c.sent.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
            retried: c.retried.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
        }
    }

    /// Queues `job` without blocking; false if it was dropped (queue
    /// full, or the worker could not start).
    fn queue(&mut self, job: Job) -> bool {
        if self.tx.is_none() {
            let (tx, rx) = sync_channel(self.capacity);
            let counters = Arc::clone(&self.counters);
            match std::thread::Builder::new()
                .name("vrrpd-mail".into())
                .spawn(move || worker(&rx, &counters))
            {
                Ok(h) => {
                    self.tx = Some(tx);
                    self.worker = Some(h);
                }
                Err(e) => {
                    warn!("cannot start the mail worker: {e}");
                    self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                    return false;
                }
            }
        }
        let Some(tx) = &self.tx else { return false };
        match tx.try_send(job) {
            Ok(()) => {
                self.counters.queued.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(TrySendError::Full(j)) => {
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                warn!("mail queue full: the alert {:?} dropped", j.text.subject);
                false
            }
            Err(TrySendError::Disconnected(_)) => {
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                self.tx = None;
                false
            }
        }
    }

    /// Queues the alert of a state change of `what` (`"INSTANCE"` or
    /// `"GROUP"`) `name`, if `mail` says so (`own`: its `smtp_alert`) and
    /// that state was not the last one mailed for it.
    pub fn state_change(
        &mut self,
        mail: &Mail,
        own: Option<bool>,
        what: &str,
        name: &str,
        to: State,
    ) {
        if own.unwrap_or(mail.alert_default) {
            self.warn_unsendable(mail, name);
        }
        if !mail.alerts(own) || (to == State::Fault && mail.no_email_faults) {
            return;
        }
        let key = format!("{what}:{name}");
        if self.last.get(&key) == Some(&to) {
            return;
        }
        self.last.insert(key, to);
        self.queue_text(mail, state_text(what, name, to));
    }

    /// Logs once that alerts are on for `name` but cannot be sent.
    fn warn_unsendable(&mut self, mail: &Mail, name: &str) {
        if !mail.enabled() && !self.warned {
            self.warned = true;
            warn!(
                "{name}: smtp_alert is on but [global] sets no smtp_server or no notification_email: no e-mail is sent"
            );
        }
    }

    /// Queues `text`, stamped now, addressed as `mail` says.
    fn queue_text(&mut self, mail: &Mail, text: Text) {
        self.queue(Job {
            mail: mail.clone(),
            text,
            unix_s: unix_now(),
        });
    }

    /// At exit: lets the worker finish what is queued for at most `bound`
    /// (the stop alerts), then leaves it.
    pub fn finish(&mut self, bound: Duration) {
        self.tx = None;
        let Some(h) = self.worker.take() else { return };
        let until = Instant::now() + bound;
        while !h.is_finished() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
        if h.is_finished() {
            let _ = h.join();
        }
    }
}

fn worker(rx: &Receiver<Job>, c: &Counters) {
    while let Ok(job) = rx.recv() {
        let Some(alert) = alert(&job.mail, job.text, job.unix_s) else {
            c.failed.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        let bound = alert.timeout.saturating_mul(4);
        let first = smtp::deliver(&alert, Instant::now() + bound);
        let result = match first {
            Err(e) if e.transient() => {
                warn!(
                    "mail {:?} to {}: {e}; retrying in {}s",
                    alert.subject,
                    alert.server,
                    RETRY_DELAY.as_secs()
                );
                c.retried.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(RETRY_DELAY);
                smtp::deliver(&alert, Instant::now() + bound)
            }
            other => other,
        };
        match result {
            Ok(()) => {
                c.sent.fetch_add(1, Ordering::Relaxed);
                info!("mail {:?} sent to {}", alert.subject, alert.to.join(", "));
            }
            Err(e) => {
                c.failed.fetch_add(1, Ordering::Relaxed);
                warn!("mail {:?} not sent ({}): {e}", alert.subject, alert.server);
            }
        }
    }
}

/// The host name (for the default router id, sender and HELO name).
fn hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

fn user_name() -> String {
    nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map_or_else(|| "root".to_owned(), |u| u.name)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// keepalived's subject suffix and body for a state.
fn wording(what: &str, to: State) -> (&'static str, String) {
    let group = what == "GROUP";
    let word = match to {
        State::Master => "MASTER",
        State::Backup => "BACKUP",
        State::Fault => "FAULT",
        State::Initialize => {
            let body = if group {
                "=> All VRRP group instances are now stopping <="
            } else {
                "=> VRRP Instance stopping <="
            };
            return ("Stopping", body.to_owned());
        }
    };
    let subject = match to {
        State::Master => "Entering MASTER state",
        State::Backup => "Entering BACKUP state",
        _ => "Entering FAULT state",
    };
    let body = if group {
        format!("=> All VRRP group instances are now in {word} state <=")
    } else if to == State::Master {
        "=> VRRP Instance is now owning VRRP VIPs <=".to_owned()
    } else {
        "=> VRRP Instance is no longer owning VRRP VIPs <=".to_owned()
    };
    (subject, body)
}

/// The text of `what` (`"INSTANCE"` / `"GROUP"`) `name` entering `to`.
fn state_text(what: &str, name: &str, to: State) -> Text {
    let (suffix, body) = wording(what, to);
    let kind = if what == "GROUP" {
        "VRRP Group"
    } else {
        "VRRP Instance"
    };
    Text {
        subject: format!("{kind} {name} - {suffix}"),
        body,
    }
}

/// The alert of `what` (`"INSTANCE"` / `"GROUP"`) `name` entering `to` at
/// `unix_s`, addressed as `mail` says; `None` without a server.
pub fn state_alert(mail: &Mail, what: &str, name: &str, to: State, unix_s: u64) -> Option<Alert> {
    alert(mail, state_text(what, name, to), unix_s)
}

/// The alert saying `text` at `unix_s`, addressed as `mail` says, its
/// subject after the router id; `None` without a server.
pub fn alert(mail: &Mail, text: Text, unix_s: u64) -> Option<Alert> {
    let server = mail.server.clone()?;
    let host = hostname();
    let router_id = mail.router_id.clone().unwrap_or_else(|| host.clone());
    Some(Alert {
        server,
        timeout: mail.connect_timeout,
        helo: mail.helo_name.clone().unwrap_or_else(|| host.clone()),
        from: mail
            .from
            .clone()
            .unwrap_or_else(|| format!("{}@{host}", user_name())),
        to: mail.to.clone(),
        date: rfc5322_date(unix_s),
        subject: format!("[{router_id}] {}", text.subject),
        body: text.body,
    })
}

/// `Thu, 26 Nov 2026 11:06:27 +0000` (UTC) for seconds since the epoch.
pub fn rfc5322_date(unix_s: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = unix_s / 86_400;
    let secs = unix_s % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = i64::try_from(days).unwrap_or(0) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let wd = DAYS[usize::try_from(days % 7).unwrap_or(0)];
    let mon = MONTHS[usize::try_from(m - 1).unwrap_or(0)];
    format!(
        "{wd}, {d:02} {mon} {y} {:02}:{:02}:{:02} +0000",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail() -> Mail {
        Mail {
            router_id: Some("lb1".into()),
            to: vec!["ops@example.com".into(), "noc@example.com".into()],
            from: Some("vrrpd@lb1.example.com".into()),
            server: Some(SmtpServer {
                host: "127.0.0.1".into(),
                port: 1,
            }),
            connect_timeout: Duration::from_millis(200),
            helo_name: None,
            alert_default: false,
            no_email_faults: false,
            checker_default: None,
            no_checker_emails: false,
        }
    }

    #[test]
    fn dates_are_rfc5322() {
        assert_eq!(rfc5322_date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(
            rfc5322_date(1_795_690_000),
            "Thu, 26 Nov 2026 10:46:40 +0000"
        );
        assert_eq!(rfc5322_date(951_825_600), "Tue, 29 Feb 2000 12:00:00 +0000");
    }

    #[test]
    fn subjects_and_bodies_are_keepalived_s() {
        let a = state_alert(&mail(), "INSTANCE", "VI_1", State::Master, 0).unwrap();
        assert_eq!(
            a.subject,
            "[lb1] VRRP Instance VI_1 - Entering MASTER state"
        );
        assert_eq!(a.body, "=> VRRP Instance is now owning VRRP VIPs <=");
        let a = state_alert(&mail(), "INSTANCE", "VI_1", State::Backup, 0).unwrap();
        assert_eq!(a.body, "=> VRRP Instance is no longer owning VRRP VIPs <=");
        let a = state_alert(&mail(), "GROUP", "G", State::Fault, 0).unwrap();
        assert_eq!(a.subject, "[lb1] VRRP Group G - Entering FAULT state");
        assert_eq!(
            a.body,
            "=> All VRRP group instances are now in FAULT state <="
        );
        let a = state_alert(&mail(), "INSTANCE", "VI_1", State::Initialize, 0).unwrap();
        assert_eq!(a.subject, "[lb1] VRRP Instance VI_1 - Stopping");
        let m = smtp::message(&a);
        assert!(
            m.contains("\r\nTo: ops@example.com, noc@example.com\r\n\r\n"),
            "{m}"
        );
        assert!(m.starts_with("Date: Thu, 01 Jan 1970") && m.ends_with("<=\r\n.\r\n"));
    }

    #[test]
    fn a_full_queue_drops_without_blocking_and_a_state_is_mailed_once() {
        // Port 1 on loopback refuses at once; the queue still fills first.
        let mut m = Mailer::new(1);
        let cfg = Mail {
            alert_default: true,
            ..mail()
        };
        let t0 = Instant::now();
        m.state_change(&cfg, None, "INSTANCE", "VI_1", State::Backup);
        m.state_change(&cfg, None, "INSTANCE", "VI_1", State::Backup);
        for i in 0..20 {
            m.state_change(&cfg, None, "INSTANCE", &format!("X{i}"), State::Master);
        }
        assert!(
            t0.elapsed() < Duration::from_millis(100),
            "{:?}",
            t0.elapsed()
        );
        let s = m.stats();
        assert!(s.dropped > 0, "{s:?}");
        assert_eq!(s.queued + s.dropped, 21, "{s:?}");
        m.state_change(&cfg, Some(false), "INSTANCE", "off", State::Master);
        assert_eq!(m.stats().queued + m.stats().dropped, 21);
        let quiet = Mail {
            no_email_faults: true,
            ..cfg
        };
        m.state_change(&quiet, None, "INSTANCE", "f", State::Fault);
        assert_eq!(m.stats().queued + m.stats().dropped, 21);
    }

    #[test]
    fn refused_connections_are_retried_once_then_counted_as_failed() {
        let mut m = Mailer::new(4);
        m.state_change(&mail(), Some(true), "INSTANCE", "VI_1", State::Master);
        m.finish(Duration::from_secs(5));
        let s = m.stats();
        assert_eq!(
            (s.queued, s.retried, s.failed, s.sent),
            (1, 1, 1, 0),
            "{s:?}"
        );
    }

    /// A scripted SMTP server on loopback: for each connection, the
    /// replies in `script` (`None`: say nothing more and hold the
    /// connection). Returns its port and the lines it read.
    fn server(
        conns: Vec<Vec<Option<&'static str>>>,
    ) -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
        use std::io::{BufRead, BufReader, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = std::sync::Arc::clone(&seen);
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for script in conns {
                let Ok((mut s, _)) = l.accept() else { return };
                let mut r = BufReader::new(s.try_clone().unwrap());
                let mut data = false;
                for (i, reply) in script.into_iter().enumerate() {
                    // The greeting needs no command; then one per reply
                    // (the message text up to "." counts as one).
                    if i > 0 {
                        loop {
                            let mut line = String::new();
                            if r.read_line(&mut line).unwrap_or(0) == 0 {
                                break;
                            }
                            log.lock().unwrap().push(line.trim_end().to_owned());
                            if !data || line == ".\r\n" {
                                data = line.starts_with("DATA");
                                break;
                            }
                        }
                    }
                    match reply {
                        Some(text) => s.write_all(text.as_bytes()).unwrap(),
                        None => break,
                    }
                }
                held.push(s);
            }
            std::thread::sleep(Duration::from_secs(30));
        });
        (port, seen)
    }

    fn local(port: u16, timeout_ms: u64) -> Mail {
        Mail {
            server: Some(SmtpServer {
                host: "127.0.0.1".into(),
                port,
            }),
            connect_timeout: Duration::from_millis(timeout_ms),
            ..mail()
        }
    }

    const OK: [Option<&str>; 8] = [
        Some("220-hello\r\n220 there\r\n"),
        Some("250 hi\r\n"),
        Some("250 ok\r\n"),
        Some("250 ok\r\n"),
        Some("250 ok\r\n"),
        Some("354 go\r\n"),
        Some("250 queued\r\n"),
        Some("221 bye\r\n"),
    ];

    #[test]
    fn a_4xx_is_retried_and_the_second_attempt_delivers() {
        let busy = vec![Some("421 busy\r\n")];
        let (port, seen) = server(vec![busy, OK.to_vec()]);
        let mut m = Mailer::new(4);
        m.state_change(
            &local(port, 2000),
            Some(true),
            "INSTANCE",
            "VI_1",
            State::Master,
        );
        m.finish(Duration::from_secs(5));
        let s = m.stats();
        assert_eq!((s.sent, s.retried, s.failed), (1, 1, 0), "{s:?}");
        let seen = seen.lock().unwrap().clone();
        assert!(seen.iter().any(|l| l.starts_with("HELO ")), "{seen:?}");
        assert!(
            seen.contains(&"MAIL FROM:<vrrpd@lb1.example.com>".to_owned()),
            "{seen:?}"
        );
        assert!(
            seen.contains(&"RCPT TO:<noc@example.com>".to_owned()),
            "{seen:?}"
        );
        assert!(
            seen.contains(&"Subject: [lb1] VRRP Instance VI_1 - Entering MASTER state".to_owned()),
            "{seen:?}"
        );
    }

    #[test]
    fn a_5xx_is_not_retried() {
        let refuse = vec![
            Some("220 hello\r\n"),
            Some("250 hi\r\n"),
            Some("550 no such sender\r\n"),
        ];
        let (port, _) = server(vec![refuse]);
        let mut m = Mailer::new(4);
        m.state_change(
            &local(port, 2000),
            Some(true),
            "INSTANCE",
            "VI_1",
            State::Backup,
        );
        m.finish(Duration::from_secs(5));
        let s = m.stats();
        assert_eq!((s.sent, s.retried, s.failed), (0, 0, 1), "{s:?}");
    }

    #[test]
    fn a_silent_server_costs_the_time_out_twice_and_the_loop_nothing() {
        let (port, _) = server(vec![vec![None], vec![None]]);
        let mut m = Mailer::new(4);
        let t0 = Instant::now();
        m.state_change(
            &local(port, 300),
            Some(true),
            "INSTANCE",
            "VI_1",
            State::Master,
        );
        assert!(
            t0.elapsed() < Duration::from_millis(50),
            "{:?}",
            t0.elapsed()
        );
        m.finish(Duration::from_secs(5));
        let took = t0.elapsed();
        let s = m.stats();
        assert_eq!((s.sent, s.retried, s.failed), (0, 1, 1), "{s:?}");
        // Two 300 ms waits for the greeting and the 1 s pause.
        assert!(
            took >= Duration::from_millis(1500) && took < Duration::from_secs(3),
            "{took:?}"
        );
    }
}
