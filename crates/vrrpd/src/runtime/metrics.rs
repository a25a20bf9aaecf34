//! The Prometheus text endpoint (`[global] metrics_listen`): `GET
//! /metrics` over plain HTTP/1.0-style exchanges (one request per
//! connection), served from the daemon's mio loop without blocking.
//!
//! The metrics are rendered from the same typed [`Snapshot`] that
//! `vrrpd status --json` serializes ([`render`]), so the two never
//! disagree and a renamed field cannot silently drop a metric.

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Interest, Registry, Token};

use crate::control::{Written, write_pending};

use super::status::{InstanceStatus, Snapshot, SocketStatus};

/// Connections served at once; when full, the longest-silent one is
/// closed for a new one.
const MAX_CONNECTIONS: usize = 32;
/// The longest request head read.
const MAX_REQUEST: usize = 8 * 1024;
/// A connection silent this long is closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections accepted per readiness event; the rest wait a round.
const ACCEPT_SLICE: usize = 16;
/// A rendered body is reused for scrapes this close together, so a
/// scrape storm renders once per this period, not once per request.
const RENDER_REUSE: Duration = Duration::from_millis(100);

struct Conn {
    stream: TcpStream,
    inbuf: Vec<u8>,
    outbuf: Vec<u8>,
    answered: bool,
    readable: bool,
    last_active: Instant,
}

/// The listening socket and its connections. Readiness only marks a
/// connection; the loop answers one request at a time
/// ([`MetricsServer::next_answer`]) within its budget.
pub struct MetricsServer {
    listener: TcpListener,
    base: usize,
    next: usize,
    conns: HashMap<Token, Conn>,
    ready: VecDeque<Token>,
    accept_pending: bool,
    rendered: Option<(Instant, String)>,
}

impl MetricsServer {
    /// Binds `addr` and registers it; tokens `base..=base + 4 *
    /// MAX_CONNECTIONS` are used.
    pub fn bind(addr: SocketAddr, registry: &Registry, base: usize) -> io::Result<Self> {
        let mut listener = TcpListener::bind(addr)?;
        registry.register(&mut listener, Token(base), Interest::READABLE)?;
        Ok(MetricsServer {
            listener,
            base,
            next: 0,
            conns: HashMap::new(),
            ready: VecDeque::new(),
            accept_pending: false,
            rendered: None,
        })
    }

    /// True if `token` is the server's.
    pub fn owns(&self, token: Token) -> bool {
        (self.base..=self.base + 4 * MAX_CONNECTIONS).contains(&token.0)
    }

    /// Handles readiness: accepts a slice of connections, or marks one
    /// readable and writes what it has pending.
    pub fn handle_event(&mut self, registry: &Registry, token: Token, now: Instant) {
        if token.0 == self.base {
            self.accept_pending = true;
            self.accept(registry, now);
            return;
        }
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        if !conn.answered {
            conn.readable = true;
            if !self.ready.contains(&token) {
                self.ready.push_back(token);
            }
        }
        self.flush(registry, token, now);
    }

    /// True if connections or requests wait for the loop.
    pub fn has_backlog(&self) -> bool {
        self.accept_pending || !self.ready.is_empty()
    }

    /// Accepts another slice of pending connections, if any wait.
    pub fn accept_more(&mut self, registry: &Registry, now: Instant) {
        if self.accept_pending {
            self.accept(registry, now);
        }
    }

    /// Reads the next ready connection's request and answers it once its
    /// head is complete; `body` renders the metrics (at most once per
    /// [`RENDER_REUSE`]). False if no connection was ready.
    pub fn next_answer(
        &mut self,
        registry: &Registry,
        now: Instant,
        body: impl FnOnce() -> String,
    ) -> bool {
        let Some(token) = self.ready.pop_front() else {
            return false;
        };
        let Some(conn) = self.conns.get_mut(&token) else {
            return true;
        };
        let closed = read_head(conn);
        conn.readable = false;
        let head_done = conn.inbuf.windows(4).any(|w| w == b"\r\n\r\n")
            || conn.inbuf.windows(2).any(|w| w == b"\n\n");
        if head_done || conn.inbuf.len() > MAX_REQUEST {
            let fresh = self
                .rendered
                .as_ref()
                .is_some_and(|(at, _)| now.saturating_duration_since(*at) < RENDER_REUSE);
            if !fresh {
                self.rendered = Some((now, body()));
            }
            let text = self.rendered.as_ref().map_or("", |(_, b)| b.as_str());
            conn.outbuf = respond(&conn.inbuf, &|| text.to_owned());
            conn.answered = true;
            conn.last_active = now;
        } else if closed {
            self.close(registry, token);
            return true;
        }
        self.flush(registry, token, now);
        true
    }

    /// When the next connection would time out.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.conns
            .values()
            .map(|c| c.last_active + IDLE_TIMEOUT)
            .min()
    }

    /// Closes connections silent for [`IDLE_TIMEOUT`].
    pub fn handle_timeout(&mut self, registry: &Registry, now: Instant) {
        let stale: Vec<Token> = self
            .conns
            .iter()
            .filter(|(_, c)| now.saturating_duration_since(c.last_active) >= IDLE_TIMEOUT)
            .map(|(t, _)| *t)
            .collect();
        for t in stale {
            self.close(registry, t);
        }
    }

    fn accept(&mut self, registry: &Registry, now: Instant) {
        for _ in 0..ACCEPT_SLICE {
            let (mut stream, _) = match self.listener.accept() {
                Ok(s) => s,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    self.accept_pending = false;
                    return;
                }
            };
            if self.conns.len() >= MAX_CONNECTIONS {
                self.evict_oldest(registry);
            }
            let Some(token) = self.alloc() else {
                continue;
            };
            if registry
                .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
                .is_ok()
            {
                let conn = Conn {
                    stream,
                    inbuf: Vec::new(),
                    outbuf: Vec::new(),
                    answered: false,
                    readable: true,
                    last_active: now,
                };
                self.conns.insert(token, conn);
                self.ready.push_back(token);
            }
        }
    }

    fn evict_oldest(&mut self, registry: &Registry) {
        let oldest = self
            .conns
            .iter()
            .min_by_key(|(_, c)| c.last_active)
            .map(|(t, _)| *t);
        if let Some(t) = oldest {
            self.close(registry, t);
        }
    }

    fn alloc(&mut self) -> Option<Token> {
        let span = 4 * MAX_CONNECTIONS;
        for _ in 0..span {
            let t = Token(self.base + 1 + self.next);
            self.next = (self.next + 1) % span;
            if !self.conns.contains_key(&t) {
                return Some(t);
            }
        }
        None
    }

    fn flush(&mut self, registry: &Registry, token: Token, now: Instant) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        let had = conn.outbuf.len();
        match write_pending(&mut conn.stream, &mut conn.outbuf) {
            Written::All => {}
            Written::WouldBlock => {
                if conn.outbuf.len() < had {
                    conn.last_active = now;
                }
                return;
            }
            Written::Failed => return self.close(registry, token),
        }
        if conn.answered {
            self.close(registry, token);
        }
    }

    fn close(&mut self, registry: &Registry, token: Token) {
        if let Some(mut c) = self.conns.remove(&token) {
            let _ = registry.deregister(&mut c.stream);
        }
        self.ready.retain(|t| *t != token);
    }
}

/// Reads what a request head needs (at most [`MAX_REQUEST`] bytes); true
/// if the peer closed or failed.
fn read_head(conn: &mut Conn) -> bool {
    let mut buf = [0u8; 2048];
    while conn.inbuf.len() <= MAX_REQUEST {
        match io::Read::read(&mut conn.stream, &mut buf) {
            Ok(0) => return true,
            Ok(n) => conn
                .inbuf
                .extend_from_slice(buf.get(..n).unwrap_or_default()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return true,
        }
    }
    false
}

fn respond(head: &[u8], body: &impl Fn() -> String) -> Vec<u8> {
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (status, ctype, text) = match (method, path.split('?').next().unwrap_or("")) {
        ("GET", "/metrics") => ("200 OK", "text/plain; version=0.0.4; charset=utf-8", body()),
        ("GET", _) => ("404 Not Found", "text/plain", "try /metrics\n".to_owned()),
        _ => (
            "405 Method Not Allowed",
            "text/plain",
            "GET only\n".to_owned(),
        ),
    };
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    )
    .into_bytes()
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// One metric family: `# HELP`, `# TYPE` and its samples.
fn family(out: &mut String, name: &str, kind: &str, help: &str, rows: Vec<(String, f64)>) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    for (labels, v) in rows {
        let _ = writeln!(out, "{name}{{{labels}}} {v}");
    }
}

fn flag(on: bool) -> f64 {
    f64::from(u8::from(on))
}

/// Counter values as samples (`u64` to the float the text format carries).
#[allow(clippy::cast_precision_loss)] // exact below 2^53, ample for counters
fn count(v: u64) -> f64 {
    v as f64
}

/// Renders the Prometheus text exposition of a [`Snapshot`], the same
/// value `status --json` serializes.
pub fn render(snap: &Snapshot) -> String {
    let mut out = String::new();
    let label = |i: &InstanceStatus| {
        format!(
            "instance=\"{}\",interface=\"{}\",vrid=\"{}\",family=\"{}\"",
            esc(&i.name),
            esc(&i.interface),
            i.vrid,
            i.family
        )
    };
    let insts = &snap.instances;
    let rows = insts
        .iter()
        .flat_map(|i| {
            ["initialize", "backup", "master", "fault"]
                .map(|s| (format!("{},state=\"{s}\"", label(i)), flag(i.state == s)))
        })
        .collect();
    family(
        &mut out,
        "vrrpd_instance_state",
        "gauge",
        "1 for the instance's current state.",
        rows,
    );
    let rows = insts
        .iter()
        .flat_map(|i| {
            [
                ("configured", i.priority.configured),
                ("effective", i.priority.effective),
            ]
            .map(|(k, v)| (format!("{},kind=\"{k}\"", label(i)), f64::from(v)))
        })
        .collect();
    family(
        &mut out,
        "vrrpd_instance_priority",
        "gauge",
        "Configured and effective (advertised) priority.",
        rows,
    );
    let rows = insts
        .iter()
        .map(|i| (label(i), flag(i.holds_vips)))
        .collect();
    family(
        &mut out,
        "vrrpd_instance_holds_vips",
        "gauge",
        "1 while this host holds the instance's virtual addresses.",
        rows,
    );
    let rows = insts
        .iter()
        .map(|i| (label(i), flag(i.maintenance)))
        .collect();
    family(
        &mut out,
        "vrrpd_instance_maintenance",
        "gauge",
        "1 while the instance is in maintenance mode.",
        rows,
    );
    let rows = insts
        .iter()
        .filter_map(|i| {
            let t = i.last_transition.as_ref()?;
            Some((label(i), count(t.at_unix_ms) / 1000.0))
        })
        .collect();
    family(
        &mut out,
        "vrrpd_instance_last_transition_timestamp_seconds",
        "gauge",
        "When the instance last changed state.",
        rows,
    );
    let rows = insts
        .iter()
        .flat_map(|i| {
            i.counters
                .iter()
                .map(move |(k, v)| (format!("{},counter=\"{}\"", label(i), esc(k)), count(*v)))
        })
        .collect();
    family(
        &mut out,
        "vrrpd_instance_events_total",
        "counter",
        "Per-instance counters (adverts sent and received, discards by reason, ...).",
        rows,
    );
    sockets(&mut out, &snap.interfaces);
    let rows = snap
        .checks
        .iter()
        .map(|c| (format!("check=\"{}\"", esc(&c.name)), flag(c.state == "ok")))
        .collect();
    family(
        &mut out,
        "vrrpd_check_up",
        "gauge",
        "1 while the health check is passing (after rise/fall).",
        rows,
    );
    let h = &snap.hooks;
    let rows = [
        ("started", h.started),
        ("succeeded", h.succeeded),
        ("failed", h.failed),
        ("timed_out", h.timed_out),
    ]
    .map(|(k, v)| (format!("result=\"{k}\""), count(v)))
    .into();
    family(
        &mut out,
        "vrrpd_hooks_total",
        "counter",
        "Notify hooks by outcome.",
        rows,
    );
    let d = &snap.daemon;
    let rows = [
        ("reloads", d.reloads),
        ("reload_failures", d.reload_failures),
    ]
    .map(|(k, v)| (format!("kind=\"{k}\""), count(v)))
    .into();
    family(
        &mut out,
        "vrrpd_reloads_total",
        "counter",
        "Configuration reloads (SIGHUP), applied or refused.",
        rows,
    );
    let lateness: Vec<_> = insts
        .iter()
        .map(|i| (label(i), i.advert_lateness))
        .collect();
    super::lateness::render_metrics(&mut out, &lateness);
    out
}

fn sockets(out: &mut String, socks: &[SocketStatus]) {
    let mut rows = Vec::new();
    let mut errs = Vec::new();
    for f in socks {
        let l = format!(
            "interface=\"{}\",family=\"{}\",source=\"{}\"",
            esc(&f.interface),
            f.family,
            esc(&f.source)
        );
        let c = &f.counters;
        for (k, v) in [
            ("received", c.received),
            ("unknown_vrid", c.unknown_vrid),
            ("v3_ipv4_with_pseudo_header", c.v3_ipv4_with_pseudo_header),
            (
                "v3_ipv4_without_pseudo_header",
                c.v3_ipv4_without_pseudo_header,
            ),
            ("bad_ip_header", c.bad_ip_header),
            ("truncated_datagrams", c.truncated_datagrams),
            ("not_from_peer", c.not_from_peer),
        ] {
            rows.push((format!("{l},counter=\"{k}\""), count(v)));
        }
        for (k, v) in &f.parse_errors {
            errs.push((format!("{l},reason=\"{}\"", esc(k)), count(*v)));
        }
    }
    family(
        out,
        "vrrpd_socket_events_total",
        "counter",
        "Per-socket counters (packets received, unknown VRIDs, checksum forms, ...).",
        rows,
    );
    family(
        out,
        "vrrpd_socket_parse_errors_total",
        "counter",
        "Packets dropped before reaching an instance, by reason.",
        errs,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::hooks::HookStats;

    fn data() -> Snapshot {
        use super::super::status::*;
        Snapshot {
            instances: vec![InstanceStatus {
                name: "VI_1".into(),
                interface: "eth0".into(),
                vrid: 51,
                family: "ipv4",
                version: 3,
                state: "master",
                priority: PriorityStatus {
                    configured: 150,
                    effective: 120,
                    breakdown: vec![],
                },
                master_address: None,
                counters: [
                    ("adverts_sent".to_owned(), 12),
                    ("ttl_errors".to_owned(), 0),
                ]
                .into(),
                last_transition: Some(TransitionStatus {
                    from: "backup",
                    to: "master",
                    reason: "master_down",
                    at_unix_ms: 1500,
                }),
                maintenance: false,
                holds_vips: true,
                vips: vec![],
                sync_group: None,
                source: "192.0.2.1".into(),
                vmac: None,
                advert_lateness: Default::default(),
            }],
            interfaces: vec![SocketStatus {
                interface: "eth0".into(),
                family: "ipv4",
                source: "192.0.2.1".into(),
                unicast: false,
                counters: SocketCountersStatus {
                    received: 7,
                    unknown_vrid: 0,
                    v3_ipv4_with_pseudo_header: 0,
                    v3_ipv4_without_pseudo_header: 0,
                    bad_ip_header: 0,
                    truncated_datagrams: 0,
                    not_from_peer: 0,
                },
                parse_errors: [("bad_checksum".to_owned(), 2)].into(),
            }],
            checks: vec![CheckRow {
                name: "web".into(),
                state: "failed",
                value: None,
                last_result: None,
            }],
            hooks: HookStats {
                started: 1,
                succeeded: 1,
                failed: 0,
                timed_out: 0,
            },
            control: Default::default(),
            daemon: DaemonStatus {
                pid: 1,
                config: "x".into(),
                uptime_s: 0,
                reloads: 2,
                reload_failures: 1,
                advert_lateness: Default::default(),
            },
        }
    }

    #[test]
    fn status_data_renders_as_prometheus_text() {
        let t = render(&data());
        let l = "instance=\"VI_1\",interface=\"eth0\",vrid=\"51\",family=\"ipv4\"";
        for line in [
            format!("vrrpd_instance_state{{{l},state=\"master\"}} 1"),
            format!("vrrpd_instance_state{{{l},state=\"backup\"}} 0"),
            format!("vrrpd_instance_priority{{{l},kind=\"effective\"}} 120"),
            format!("vrrpd_instance_holds_vips{{{l}}} 1"),
            format!("vrrpd_instance_last_transition_timestamp_seconds{{{l}}} 1.5"),
            format!("vrrpd_instance_events_total{{{l},counter=\"adverts_sent\"}} 12"),
            "vrrpd_socket_parse_errors_total{interface=\"eth0\",family=\"ipv4\",source=\"192.0.2.1\",reason=\"bad_checksum\"} 2".to_owned(),
            "vrrpd_check_up{check=\"web\"} 0".to_owned(),
            "vrrpd_hooks_total{result=\"started\"} 1".to_owned(),
            "vrrpd_reloads_total{kind=\"reload_failures\"} 1".to_owned(),
            "# TYPE vrrpd_instance_events_total counter".to_owned(),
        ] {
            assert!(t.lines().any(|x| x == line), "missing {line:?} in\n{t}");
        }
    }

    #[test]
    fn only_get_metrics_is_served() {
        let body = || "x 1\n".to_owned();
        let ok = String::from_utf8(respond(b"GET /metrics HTTP/1.1\r\n\r\n", &body)).unwrap();
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n") && ok.ends_with("\r\n\r\nx 1\n"));
        assert!(ok.contains("Content-Length: 4\r\n"));
        let nf = String::from_utf8(respond(b"GET / HTTP/1.1\r\n\r\n", &body)).unwrap();
        assert!(nf.starts_with("HTTP/1.1 404"));
        let post = String::from_utf8(respond(b"POST /metrics HTTP/1.1\r\n\r\n", &body)).unwrap();
        assert!(post.starts_with("HTTP/1.1 405"));
    }
}
