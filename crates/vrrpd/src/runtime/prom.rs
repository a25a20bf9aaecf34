//! The Prometheus text exposition of a [`Snapshot`], following the
//! Prometheus naming conventions:
//!
//! - no `instance` label (Prometheus sets its own; ours is
//!   `vrrp_instance`);
//! - one metric per counter, named `..._total`; a label splits a metric
//!   only where summing over it means something (outcomes of one kind of
//!   event, drop reasons of one kind of packet);
//! - every series exists from start-up, at 0;
//! - `vrrpd_up`, `vrrpd_build_info` and the standard `process_*` metrics
//!   (CPU, memory, file descriptors, start time) read from `/proc/self`.
//!
//! `docs/operations.md` maps keepalived-exporter's names to these.

use std::fmt::Write as _;

use serde::Serialize;

use super::status::{InstanceStatus, Snapshot, SocketStatus};

/// The reasons a datagram fails to parse (`vrrp_proto::ParseError`'s
/// variants, as the executor names them), so each has a series at 0.
const PARSE_ERRORS: [&str; 9] = [
    "truncated",
    "count_mismatch",
    "bad_version",
    "bad_type",
    "vrid_zero",
    "bad_checksum",
    "interval_zero",
    "unknown_auth_type",
    "ah_unsupported",
];

/// The process's own resource use, from `/proc/self` (zeros where it
/// cannot be read).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct ProcessStats {
    /// User plus system CPU time, in seconds.
    pub cpu_seconds: f64,
    /// Resident set size, in bytes.
    pub resident_bytes: u64,
    /// Virtual memory size, in bytes.
    pub virtual_bytes: u64,
    /// Open file descriptors.
    pub open_fds: u64,
    /// The file descriptor limit (soft).
    pub max_fds: u64,
    /// Start time, in seconds since the Unix epoch.
    pub start_time_seconds: f64,
}

impl ProcessStats {
    /// Reads this process's figures.
    pub fn read() -> Self {
        let mut p = ProcessStats::default();
        let tick = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
            .ok()
            .flatten()
            .filter(|t| *t > 0)
            .and_then(|t| u64::try_from(t).ok())
            .map_or(100.0, to_f64);
        let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
            .ok()
            .flatten()
            .and_then(|t| u64::try_from(t).ok())
            .unwrap_or(4096);
        if let Ok(stat) = std::fs::read_to_string("/proc/self/stat") {
            // Fields after the command name, which may hold spaces.
            let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
            let f: Vec<&str> = rest.split_whitespace().collect();
            let num = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            // rest[0] is field 3 (state): utime 14, stime 15, starttime 22,
            // vsize 23, rss 24.
            p.cpu_seconds = to_f64(num(11) + num(12)) / tick;
            p.virtual_bytes = num(20);
            p.resident_bytes = num(21) * page;
            let boot = std::fs::read_to_string("/proc/stat")
                .ok()
                .and_then(|s| {
                    s.lines()
                        .find_map(|l| l.strip_prefix("btime ")?.trim().parse::<u64>().ok())
                })
                .unwrap_or(0);
            p.start_time_seconds = to_f64(boot) + to_f64(num(19)) / tick;
        }
        p.open_fds = std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as u64);
        p.max_fds = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
            .map_or(0, |(soft, _)| soft);
        p
    }
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// One metric family: `# HELP`, `# TYPE` and its samples (`labels` without
/// braces; empty for none).
fn family(out: &mut String, name: &str, kind: &str, help: &str, rows: Vec<(String, f64)>) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    for (labels, v) in rows {
        if labels.is_empty() {
            let _ = writeln!(out, "{name} {v}");
        } else {
            let _ = writeln!(out, "{name}{{{labels}}} {v}");
        }
    }
}

fn flag(on: bool) -> f64 {
    f64::from(u8::from(on))
}

/// Integers as the float the text format carries.
#[allow(clippy::cast_precision_loss)] // exact below 2^53, ample for counters
fn to_f64(v: u64) -> f64 {
    v as f64
}

fn ms_to_s(ms: u64) -> f64 {
    to_f64(ms) / 1000.0
}

/// What each per-instance counter counts (the `status` JSON's key).
fn counter_help(key: &str) -> &'static str {
    match key {
        "adverts_received" => "Adverts received for the instance.",
        "adverts_sent" => "Adverts sent.",
        "priority_zero_received" => "Adverts with priority 0 (a master releasing) received.",
        "priority_zero_sent" => "Adverts with priority 0 sent (releasing).",
        "master_transitions" => "Transitions to Master.",
        "preempt_discards" => "Adverts from a lower-priority master ignored (preemption).",
        "conflicts_answered" => "Adverts from another master answered.",
        "discarded" => "Adverts discarded, all reasons.",
        "ignored_not_running" => "Adverts ignored while the instance was not running.",
        "ttl_errors" => "Adverts with a TTL / hop limit other than 255.",
        "version_errors" => "Adverts of the other VRRP version.",
        "vrid_errors" => "Adverts with a wrong VRID.",
        "family_errors" => "Adverts of the other address family.",
        "auth_errors" => "VRRPv2 adverts failing authentication.",
        "interval_errors" => "VRRPv2 adverts with another advert interval.",
        "address_list_errors" => "Adverts whose address list differs from ours.",
        "owner_conflicts" => "Adverts claiming ownership of our addresses.",
        "empty_address_lists" => "Adverts with no address.",
        "own_adverts" => "Our own adverts looped back.",
        "send_errors" => "Adverts that could not be sent.",
        "address_errors" => "Virtual addresses that could not be added or removed.",
        "addresses_restored" => "Virtual addresses restored after being removed while master.",
        "route_errors" => "Virtual routes that could not be added or removed.",
        "garp_sent" => "Gratuitous ARP packets sent.",
        "na_sent" => "Unsolicited neighbour advertisements sent.",
        "announce_errors" => "Gratuitous ARP / NA that could not be sent.",
        _ => "An instance counter (see `vrrpd status --json`).",
    }
}

/// Renders the Prometheus text exposition of a [`Snapshot`], the same
/// value `status --json` serializes.
pub fn render(snap: &Snapshot) -> String {
    let mut out = String::new();
    family(
        &mut out,
        "vrrpd_up",
        "gauge",
        "1 while vrrpd runs and answers.",
        vec![(String::new(), 1.0)],
    );
    let build = format!("version=\"{}\"", esc(env!("CARGO_PKG_VERSION")));
    family(
        &mut out,
        "vrrpd_build_info",
        "gauge",
        "Always 1; the version in a label.",
        vec![(build, 1.0)],
    );
    instances(&mut out, &snap.instances);
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
        "1 while the health check passes (after rise/fall), 0 while it fails.",
        rows,
    );
    out.push_str(&super::lvs::status::render_prom(&snap.virtual_servers));
    daemon(&mut out, snap);
    process(&mut out, &snap.process);
    out
}

fn instances(out: &mut String, insts: &[InstanceStatus]) {
    let label = |i: &InstanceStatus| {
        format!(
            "vrrp_instance=\"{}\",interface=\"{}\",vrid=\"{}\",family=\"{}\"",
            esc(&i.name),
            esc(&i.interface),
            i.vrid,
            i.family
        )
    };
    let rows = insts
        .iter()
        .flat_map(|i| {
            ["initialize", "backup", "master", "fault"]
                .map(|s| (format!("{},state=\"{s}\"", label(i)), flag(i.state == s)))
        })
        .collect();
    family(
        out,
        "vrrpd_instance_state",
        "gauge",
        "1 for the instance's current state, 0 for the others.",
        rows,
    );
    type Gauge = (&'static str, &'static str, fn(&InstanceStatus) -> f64);
    let gauges: [Gauge; 8] = [
        (
            "vrrpd_instance_priority",
            "Effective (advertised) priority.",
            |i| f64::from(i.priority.effective),
        ),
        (
            "vrrpd_instance_configured_priority",
            "Configured priority.",
            |i| f64::from(i.priority.configured),
        ),
        (
            "vrrpd_instance_holds_vips",
            "1 while this host holds the instance's virtual addresses.",
            |i| flag(i.holds_vips),
        ),
        (
            "vrrpd_instance_maintenance",
            "1 while the instance is in maintenance mode.",
            |i| flag(i.maintenance),
        ),
        (
            "vrrpd_instance_last_transition_timestamp_seconds",
            "When the instance last changed state (0: not since start-up).",
            |i| {
                i.last_transition
                    .as_ref()
                    .map_or(0.0, |t| ms_to_s(t.at_unix_ms))
            },
        ),
        (
            "vrrpd_instance_advert_interval_seconds",
            "Configured advertisement interval.",
            |i| ms_to_s(i.timers.advert_interval_ms),
        ),
        (
            "vrrpd_instance_master_down_interval_seconds",
            "Master_Down_Interval (RFC 9568 6.1).",
            |i| ms_to_s(i.timers.master_down_interval_ms),
        ),
        (
            "vrrpd_instance_skew_time_seconds",
            "Skew_Time (RFC 9568 6.1).",
            |i| ms_to_s(i.timers.skew_time_ms),
        ),
    ];
    for (name, help, value) in gauges {
        let rows = insts.iter().map(|i| (label(i), value(i))).collect();
        family(out, name, "gauge", help, rows);
    }
    // One metric per counter; every instance has every key.
    let keys: std::collections::BTreeSet<&String> =
        insts.iter().flat_map(|i| i.counters.keys()).collect();
    for k in keys {
        let rows = insts
            .iter()
            .map(|i| (label(i), to_f64(i.counters.get(k).copied().unwrap_or(0))))
            .collect();
        let name = format!("vrrpd_instance_{k}_total");
        family(out, &name, "counter", counter_help(k), rows);
    }
    let lateness: Vec<_> = insts
        .iter()
        .map(|i| (label(i), i.advert_lateness))
        .collect();
    super::lateness::render_metrics(out, &lateness);
}

fn sockets(out: &mut String, socks: &[SocketStatus]) {
    let label = |f: &SocketStatus| {
        format!(
            "interface=\"{}\",family=\"{}\",source=\"{}\"",
            esc(&f.interface),
            f.family,
            esc(&f.source)
        )
    };
    type Get = fn(&SocketStatus) -> u64;
    let counters: [(&str, &str, Get); 7] = [
        ("received", "Datagrams read from the VRRP socket.", |f| {
            f.counters.received
        }),
        (
            "unknown_vrid",
            "Valid adverts for a VRID no instance here runs.",
            |f| f.counters.unknown_vrid,
        ),
        (
            "v3_ipv4_with_pseudo_header",
            "VRRPv3 IPv4 adverts checksummed with the IPv4 pseudo-header.",
            |f| f.counters.v3_ipv4_with_pseudo_header,
        ),
        (
            "v3_ipv4_without_pseudo_header",
            "VRRPv3 IPv4 adverts checksummed without the pseudo-header.",
            |f| f.counters.v3_ipv4_without_pseudo_header,
        ),
        (
            "bad_ip_header",
            "IPv4 datagrams with a malformed IP header.",
            |f| f.counters.bad_ip_header,
        ),
        (
            "truncated_datagrams",
            "Datagrams larger than the receive buffer.",
            |f| f.counters.truncated_datagrams,
        ),
        (
            "not_from_peer",
            "Unicast datagrams from an address that is not a peer.",
            |f| f.counters.not_from_peer,
        ),
    ];
    for (k, help, get) in counters {
        let rows = socks.iter().map(|f| (label(f), to_f64(get(f)))).collect();
        family(
            out,
            &format!("vrrpd_socket_{k}_total"),
            "counter",
            help,
            rows,
        );
    }
    let mut rows = Vec::new();
    for f in socks {
        let mut reasons: std::collections::BTreeMap<&str, u64> =
            PARSE_ERRORS.iter().map(|r| (*r, 0)).collect();
        for (k, v) in &f.parse_errors {
            reasons.insert(k, *v);
        }
        for (r, v) in reasons {
            rows.push((format!("{},reason=\"{}\"", label(f), esc(r)), to_f64(v)));
        }
    }
    family(
        out,
        "vrrpd_socket_parse_errors_total",
        "counter",
        "Datagrams dropped before reaching an instance, by reason.",
        rows,
    );
}

fn daemon(out: &mut String, snap: &Snapshot) {
    let h = &snap.hooks;
    let one = |v: u64| vec![(String::new(), to_f64(v))];
    family(
        out,
        "vrrpd_hooks_started_total",
        "counter",
        "Notify hooks started.",
        one(h.started),
    );
    let rows = [
        ("succeeded", h.succeeded),
        ("failed", h.failed),
        ("timed_out", h.timed_out),
    ]
    .map(|(k, v)| (format!("result=\"{k}\""), to_f64(v)))
    .into();
    family(
        out,
        "vrrpd_hooks_finished_total",
        "counter",
        "Notify hooks finished, by outcome.",
        rows,
    );
    let d = &snap.daemon;
    let rows = [("applied", d.reloads), ("refused", d.reload_failures)]
        .map(|(k, v)| (format!("result=\"{k}\""), to_f64(v)))
        .into();
    family(
        out,
        "vrrpd_reloads_total",
        "counter",
        "Configuration reloads, by outcome.",
        rows,
    );
    let c = &snap.control;
    family(
        out,
        "vrrpd_control_requests_total",
        "counter",
        "Control socket requests answered.",
        one(c.requests),
    );
    family(
        out,
        "vrrpd_control_bad_requests_total",
        "counter",
        "Control socket requests rejected as malformed or too long.",
        one(c.bad_requests),
    );
    family(
        out,
        "vrrpd_control_refused_connections_total",
        "counter",
        "Control socket connections refused (not allowed, or too many).",
        one(c.refused),
    );
    let m = &snap.mail;
    family(
        out,
        "vrrpd_mail_queued_total",
        "counter",
        "E-mail alerts queued for the mail worker.",
        one(m.queued),
    );
    let rows = [
        ("sent", m.sent),
        ("failed", m.failed),
        ("dropped", m.dropped),
    ]
    .map(|(k, v)| (format!("result=\"{k}\""), to_f64(v)))
    .into();
    family(
        out,
        "vrrpd_mail_alerts_total",
        "counter",
        "E-mail alerts by outcome (dropped: the queue was full).",
        rows,
    );
    family(
        out,
        "vrrpd_mail_retries_total",
        "counter",
        "Second attempts to deliver an e-mail alert.",
        one(m.retried),
    );
}

fn process(out: &mut String, p: &ProcessStats) {
    let one = |v: f64| vec![(String::new(), v)];
    family(
        out,
        "process_cpu_seconds_total",
        "counter",
        "Total user and system CPU time spent in seconds.",
        one(p.cpu_seconds),
    );
    family(
        out,
        "process_resident_memory_bytes",
        "gauge",
        "Resident memory size in bytes.",
        one(to_f64(p.resident_bytes)),
    );
    family(
        out,
        "process_virtual_memory_bytes",
        "gauge",
        "Virtual memory size in bytes.",
        one(to_f64(p.virtual_bytes)),
    );
    family(
        out,
        "process_open_fds",
        "gauge",
        "Number of open file descriptors.",
        one(to_f64(p.open_fds)),
    );
    family(
        out,
        "process_max_fds",
        "gauge",
        "Maximum number of open file descriptors.",
        one(to_f64(p.max_fds)),
    );
    family(
        out,
        "process_start_time_seconds",
        "gauge",
        "Start time of the process since unix epoch in seconds.",
        one(p.start_time_seconds),
    );
}

#[cfg(test)]
#[path = "prom_tests.rs"]
mod tests;
