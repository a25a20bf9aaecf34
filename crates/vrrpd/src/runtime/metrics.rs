//! The Prometheus text endpoint (`[global] metrics_listen`): `GET
//! /metrics` over plain HTTP/1.0-style exchanges (one request per
//! connection), served from the daemon's mio loop without blocking.
//!
//! The metrics are rendered from the same data as `vrrpd status --json`
//! ([`render`]), so the two never disagree.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io;
use std::net::SocketAddr;

use mio::net::{TcpListener, TcpStream};
use mio::{Interest, Registry, Token};
use serde_json::Value;

use crate::control::{Written, read_available, write_pending};

/// Connections served at once; more are closed at once.
const MAX_CONNECTIONS: usize = 16;
/// The longest request head read.
const MAX_REQUEST: usize = 8 * 1024;

struct Conn {
    stream: TcpStream,
    inbuf: Vec<u8>,
    outbuf: Vec<u8>,
    answered: bool,
}

/// The listening socket and its connections.
pub struct MetricsServer {
    listener: TcpListener,
    base: usize,
    next: usize,
    conns: HashMap<Token, Conn>,
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
        })
    }

    /// True if `token` is the server's.
    pub fn owns(&self, token: Token) -> bool {
        (self.base..=self.base + 4 * MAX_CONNECTIONS).contains(&token.0)
    }

    /// Handles readiness; `body` renders the metrics when a request is
    /// complete.
    pub fn handle_event(&mut self, registry: &Registry, token: Token, body: impl Fn() -> String) {
        if token.0 == self.base {
            self.accept(registry);
            return;
        }
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        let closed = !conn.answered && read_available(&mut conn.stream, &mut conn.inbuf);
        if !conn.answered {
            let head_done = conn.inbuf.windows(4).any(|w| w == b"\r\n\r\n")
                || conn.inbuf.windows(2).any(|w| w == b"\n\n");
            if head_done || conn.inbuf.len() > MAX_REQUEST {
                conn.outbuf = respond(&conn.inbuf, &body);
                conn.answered = true;
            } else if closed {
                self.close(registry, token);
                return;
            }
        }
        self.flush(registry, token);
    }

    fn accept(&mut self, registry: &Registry) {
        loop {
            let (mut stream, _) = match self.listener.accept() {
                Ok(s) => s,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return,
            };
            if self.conns.len() >= MAX_CONNECTIONS {
                continue;
            }
            let Some(token) = self.alloc() else {
                continue;
            };
            if registry
                .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
                .is_ok()
            {
                self.conns.insert(
                    token,
                    Conn {
                        stream,
                        inbuf: Vec::new(),
                        outbuf: Vec::new(),
                        answered: false,
                    },
                );
            }
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

    fn flush(&mut self, registry: &Registry, token: Token) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        match write_pending(&mut conn.stream, &mut conn.outbuf) {
            Written::All => {}
            Written::WouldBlock => return,
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
    }
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

fn num(v: &Value) -> Option<f64> {
    v.as_f64()
}

/// Renders the Prometheus text exposition of a `status` answer's data.
pub fn render(data: &Value) -> String {
    let mut out = String::new();
    let empty = Vec::new();
    let arr = |k: &str| data.get(k).and_then(Value::as_array).unwrap_or(&empty);
    let mut metric = |name: &str, kind: &str, help: &str, rows: Vec<(String, f64)>| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for (labels, v) in rows {
            let _ = writeln!(out, "{name}{{{labels}}} {v}");
        }
    };
    let instances = arr("instances");
    let label = |i: &Value| {
        format!(
            "instance=\"{}\",interface=\"{}\",vrid=\"{}\",family=\"{}\"",
            esc(i["name"].as_str().unwrap_or("")),
            esc(i["interface"].as_str().unwrap_or("")),
            i["vrid"],
            esc(i["family"].as_str().unwrap_or(""))
        )
    };
    let mut rows = Vec::new();
    for i in instances {
        for s in ["initialize", "backup", "master", "fault"] {
            let on = i["state"].as_str() == Some(s);
            rows.push((
                format!("{},state=\"{s}\"", label(i)),
                f64::from(u8::from(on)),
            ));
        }
    }
    metric(
        "vrrpd_instance_state",
        "gauge",
        "1 for the instance's current state.",
        rows,
    );
    let rows = instances
        .iter()
        .flat_map(|i| {
            ["configured", "effective"]
                .into_iter()
                .filter_map(move |k| {
                    num(&i["priority"][k]).map(|v| (format!("{},kind=\"{k}\"", label(i)), v))
                })
        })
        .collect();
    metric(
        "vrrpd_instance_priority",
        "gauge",
        "Configured and effective (advertised) priority.",
        rows,
    );
    let flag = |k: &str| {
        instances
            .iter()
            .map(|i| (label(i), f64::from(u8::from(i[k].as_bool() == Some(true)))))
            .collect::<Vec<_>>()
    };
    metric(
        "vrrpd_instance_holds_vips",
        "gauge",
        "1 while this host holds the instance's virtual addresses.",
        flag("holds_vips"),
    );
    metric(
        "vrrpd_instance_maintenance",
        "gauge",
        "1 while the instance is in maintenance mode.",
        flag("maintenance"),
    );
    let rows = instances
        .iter()
        .filter_map(|i| num(&i["last_transition"]["at_unix_ms"]).map(|ms| (label(i), ms / 1000.0)))
        .collect();
    metric(
        "vrrpd_instance_last_transition_timestamp_seconds",
        "gauge",
        "When the instance last changed state.",
        rows,
    );
    let rows = instances
        .iter()
        .flat_map(|i| {
            i["counters"]
                .as_object()
                .into_iter()
                .flatten()
                .filter_map(move |(k, v)| {
                    num(v).map(|v| (format!("{},counter=\"{}\"", label(i), esc(k)), v))
                })
        })
        .collect();
    metric(
        "vrrpd_instance_events_total",
        "counter",
        "Per-instance counters (adverts sent and received, discards by reason, ...).",
        rows,
    );
    let mut rows = Vec::new();
    let mut errs = Vec::new();
    for f in arr("interfaces") {
        let l = format!(
            "interface=\"{}\",family=\"{}\",source=\"{}\"",
            esc(f["interface"].as_str().unwrap_or("")),
            esc(f["family"].as_str().unwrap_or("")),
            esc(f["source"].as_str().unwrap_or(""))
        );
        for (k, v) in f["counters"].as_object().into_iter().flatten() {
            if let Some(v) = num(v) {
                rows.push((format!("{l},counter=\"{}\"", esc(k)), v));
            }
        }
        for (k, v) in f["parse_errors"].as_object().into_iter().flatten() {
            if let Some(v) = num(v) {
                errs.push((format!("{l},reason=\"{}\"", esc(k)), v));
            }
        }
    }
    metric(
        "vrrpd_socket_events_total",
        "counter",
        "Per-socket counters (packets received, unknown VRIDs, checksum forms, ...).",
        rows,
    );
    metric(
        "vrrpd_socket_parse_errors_total",
        "counter",
        "Packets dropped before reaching an instance, by reason.",
        errs,
    );
    let rows = arr("checks")
        .iter()
        .map(|c| {
            (
                format!("check=\"{}\"", esc(c["name"].as_str().unwrap_or(""))),
                f64::from(u8::from(c["state"].as_str() == Some("ok"))),
            )
        })
        .collect();
    metric(
        "vrrpd_check_up",
        "gauge",
        "1 while the health check is passing (after rise/fall).",
        rows,
    );
    let rows = data["hooks"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| num(v).map(|v| (format!("result=\"{}\"", esc(k)), v)))
        .collect();
    metric(
        "vrrpd_hooks_total",
        "counter",
        "Notify hooks by outcome.",
        rows,
    );
    let d = &data["daemon"];
    let rows = ["reloads", "reload_failures"]
        .into_iter()
        .filter_map(|k| num(&d[k]).map(|v| (format!("kind=\"{k}\""), v)))
        .collect();
    metric(
        "vrrpd_reloads_total",
        "counter",
        "Configuration reloads (SIGHUP), applied or refused.",
        rows,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> Value {
        serde_json::json!({
            "instances": [{
                "name": "VI_1", "interface": "eth0", "vrid": 51, "family": "ipv4",
                "state": "master",
                "priority": {"configured": 150, "effective": 120, "breakdown": []},
                "counters": {"adverts_sent": 12, "ttl_errors": 0},
                "last_transition": {"from": "backup", "to": "master", "reason": "master_down", "at_unix_ms": 1500},
                "maintenance": false, "holds_vips": true
            }],
            "interfaces": [{"interface": "eth0", "family": "ipv4", "source": "192.0.2.1",
                "counters": {"received": 7}, "parse_errors": {"bad_checksum": 2}}],
            "checks": [{"name": "web", "state": "failed"}],
            "hooks": {"started": 1, "succeeded": 1, "failed": 0, "timed_out": 0},
            "daemon": {"reloads": 2, "reload_failures": 1}
        })
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
