//! Tests of the Prometheus exposition (`prom.rs`).

use super::*;
use crate::mail::MailStats;
use crate::runtime::hooks::HookStats;
use crate::runtime::status::*;

fn instance(name: &str, state: &'static str) -> InstanceStatus {
    InstanceStatus {
        name: name.into(),
        interface: "eth0".into(),
        vrid: 51,
        family: "ipv4",
        version: 3,
        state,
        priority: PriorityStatus {
            configured: 150,
            effective: 120,
            breakdown: vec![],
        },
        master_address: None,
        counters: fsm_counters(&vrrp_fsm::Stats::default())
            .into_iter()
            .map(|(k, v)| (k.clone(), if k == "adverts_sent" { 12 } else { v }))
            .collect(),
        last_transition: (state == "master").then_some(TransitionStatus {
            from: "backup",
            to: "master",
            reason: "master_down",
            at_unix_ms: 1500,
        }),
        maintenance: false,
        holds_vips: state == "master",
        vips: vec![],
        sync_group: None,
        source: "192.0.2.1".into(),
        vmac: None,
        advert_lateness: Default::default(),
        timers: TimersStatus {
            advert_interval_ms: 1000,
            master_advert_interval_ms: 1000,
            skew_time_ms: 410,
            master_down_interval_ms: 3410,
            last_advert_ms_ago: None,
        },
    }
}

fn data() -> Snapshot {
    Snapshot {
        instances: vec![instance("VI_1", "master"), instance("VI_2", "backup")],
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
        mail: MailStats {
            queued: 3,
            sent: 2,
            failed: 1,
            retried: 1,
            dropped: 0,
        },
        process: ProcessStats::read(),
        history: vec![],
        virtual_servers: vec![],
    }
}

#[test]
fn the_snapshot_renders_with_prometheus_names() {
    let t = render(&data());
    let l = "vrrp_instance=\"VI_1\",interface=\"eth0\",vrid=\"51\",family=\"ipv4\"";
    let l2 = "vrrp_instance=\"VI_2\",interface=\"eth0\",vrid=\"51\",family=\"ipv4\"";
    let sock = "interface=\"eth0\",family=\"ipv4\",source=\"192.0.2.1\"";
    for line in [
        "vrrpd_up 1".to_owned(),
        format!(
            "vrrpd_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        ),
        format!("vrrpd_instance_state{{{l},state=\"master\"}} 1"),
        format!("vrrpd_instance_state{{{l},state=\"backup\"}} 0"),
        format!("vrrpd_instance_priority{{{l}}} 120"),
        format!("vrrpd_instance_configured_priority{{{l}}} 150"),
        format!("vrrpd_instance_holds_vips{{{l}}} 1"),
        format!("vrrpd_instance_last_transition_timestamp_seconds{{{l}}} 1.5"),
        format!("vrrpd_instance_last_transition_timestamp_seconds{{{l2}}} 0"),
        format!("vrrpd_instance_master_down_interval_seconds{{{l}}} 3.41"),
        format!("vrrpd_instance_adverts_sent_total{{{l}}} 12"),
        format!("vrrpd_instance_ttl_errors_total{{{l2}}} 0"),
        "# TYPE vrrpd_instance_adverts_sent_total counter".to_owned(),
        format!("vrrpd_socket_received_total{{{sock}}} 7"),
        format!("vrrpd_socket_parse_errors_total{{{sock},reason=\"bad_checksum\"}} 2"),
        format!("vrrpd_socket_parse_errors_total{{{sock},reason=\"truncated\"}} 0"),
        "vrrpd_check_up{check=\"web\"} 0".to_owned(),
        "vrrpd_hooks_started_total 1".to_owned(),
        "vrrpd_hooks_finished_total{result=\"timed_out\"} 0".to_owned(),
        "vrrpd_reloads_total{result=\"refused\"} 1".to_owned(),
        "vrrpd_control_requests_total 0".to_owned(),
        "vrrpd_mail_alerts_total{result=\"sent\"} 2".to_owned(),
        "vrrpd_mail_alerts_total{result=\"dropped\"} 0".to_owned(),
        "vrrpd_mail_retries_total 1".to_owned(),
        "# TYPE process_cpu_seconds_total counter".to_owned(),
    ] {
        assert!(t.lines().any(|x| x == line), "missing {line:?} in\n{t}");
    }
    assert!(
        !t.contains("instance=\"") || !t.contains(",instance="),
        "{t}"
    );
    assert!(
        !t.contains("{instance=") && !t.contains("counter=\""),
        "{t}"
    );
}

#[test]
fn every_counter_ends_in_total_and_every_family_has_help() {
    let t = render(&data());
    let mut names = std::collections::BTreeSet::new();
    for l in t.lines() {
        if let Some(rest) = l.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(names.insert(name.to_owned()), "{name} declared twice");
            assert_eq!(kind == "counter", name.ends_with("_total"), "{l}");
            assert!(t.contains(&format!("# HELP {name} ")), "{name} has no help");
        }
    }
    assert!(names.len() > 40, "{}", names.len());
}

#[test]
fn process_figures_are_read_from_proc() {
    let p = ProcessStats::read();
    assert!(p.resident_bytes > 1024 * 1024, "{p:?}");
    assert!(p.virtual_bytes >= p.resident_bytes, "{p:?}");
    assert!(p.open_fds >= 3 && p.max_fds >= p.open_fds, "{p:?}");
    assert!(p.start_time_seconds > 1.6e9, "{p:?}");
    assert!(p.cpu_seconds >= 0.0, "{p:?}");
}

/// `promtool check metrics` (Debian's prometheus package, installed by
/// scripts/setup.sh) accepts the exposition with no lint complaint.
#[test]
fn promtool_accepts_the_exposition() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let Ok(mut child) = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        eprintln!("SKIP: promtool is not installed (scripts/setup.sh installs it)");
        return;
    };
    let text = render(&data());
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
