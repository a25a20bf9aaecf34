//! What `vrrpd status` shows: one typed [`Snapshot`] of the daemon,
//! serialized as the `status --json` answer (the contract the CLI and
//! tests read) and rendered as Prometheus metrics from the same value
//! (`metrics.rs`), plus the table rendering.

use std::collections::BTreeMap;

use serde::Serialize;
use vrrp_fsm::{Reason, State, Stats};

use super::hooks::HookStats;
pub use super::lateness::LatenessStatus;
use crate::control::ControlStats;

/// Everything `status` and the metrics endpoint report, at one instant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot {
    /// Every instance, by name.
    pub instances: Vec<InstanceStatus>,
    /// Every VRRP socket.
    pub interfaces: Vec<SocketStatus>,
    /// Every health check.
    pub checks: Vec<CheckRow>,
    /// Notify hooks by outcome.
    pub hooks: HookStats,
    /// The control socket's counters.
    pub control: ControlStats,
    /// The daemon itself.
    pub daemon: DaemonStatus,
}

/// One VRRP socket in `{"interfaces": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SocketStatus {
    /// Interface name.
    pub interface: String,
    /// `"ipv4"` or `"ipv6"`.
    pub family: &'static str,
    /// Source address.
    pub source: String,
    /// Unicast peers instead of multicast.
    pub unicast: bool,
    /// Packet counters.
    pub counters: SocketCountersStatus,
    /// Datagrams that did not parse, by reason.
    pub parse_errors: BTreeMap<String, u64>,
}

/// `"counters"` of a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SocketCountersStatus {
    /// Datagrams read.
    pub received: u64,
    /// Valid adverts for a VRID no instance runs here.
    pub unknown_vrid: u64,
    /// VRRPv3 IPv4 adverts with the pseudo-header checksum.
    pub v3_ipv4_with_pseudo_header: u64,
    /// VRRPv3 IPv4 adverts without it.
    pub v3_ipv4_without_pseudo_header: u64,
    /// IPv4 datagrams with a malformed IP header.
    pub bad_ip_header: u64,
    /// Datagrams larger than the receive buffer.
    pub truncated_datagrams: u64,
    /// Unicast: datagrams from an address that is not a peer.
    pub not_from_peer: u64,
}

/// One health check in `{"checks": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckRow {
    /// Check name.
    pub name: String,
    /// `"ok"` or `"failed"` (after rise/fall).
    pub state: &'static str,
    /// The check's value (`healthcheck`'s rise/fall position), if any.
    pub value: Option<i64>,
    /// The last probe's result, in words.
    pub last_result: Option<String>,
}

/// `"daemon"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DaemonStatus {
    /// Process id.
    pub pid: u32,
    /// The configuration file.
    pub config: String,
    /// Seconds since start-up.
    pub uptime_s: u64,
    /// Reloads applied.
    pub reloads: u64,
    /// Reloads refused.
    pub reload_failures: u64,
    /// Advert lateness over every instance.
    pub advert_lateness: LatenessStatus,
}

/// One instance in `{"instances": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstanceStatus {
    /// Instance name.
    pub name: String,
    /// Interface.
    pub interface: String,
    /// VRID.
    pub vrid: u8,
    /// `"ipv4"` or `"ipv6"`.
    pub family: &'static str,
    /// 2 or 3.
    pub version: u8,
    /// `"initialize"`, `"backup"`, `"master"` or `"fault"`.
    pub state: &'static str,
    /// Configured and effective priority with the reasons.
    pub priority: PriorityStatus,
    /// The current master's address (our own while master), if known.
    pub master_address: Option<String>,
    /// Counters: the state machine's, plus the daemon's.
    pub counters: BTreeMap<String, u64>,
    /// The last state change.
    pub last_transition: Option<TransitionStatus>,
    /// Maintenance mode.
    pub maintenance: bool,
    /// Whether this host holds the virtual addresses now.
    pub holds_vips: bool,
    /// The virtual addresses, as configured (`ADDR/LEN`).
    pub vips: Vec<String>,
    /// The sync group the instance belongs to.
    pub sync_group: Option<String>,
    /// The advert source address (primary address).
    pub source: String,
    /// The virtual MAC interface carrying the VIPs (`use_vmac`), if any.
    pub vmac: Option<String>,
    /// How late its adverts left against their deadlines.
    pub advert_lateness: LatenessStatus,
}

/// `"priority"` of an instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PriorityStatus {
    /// From the configuration.
    pub configured: u8,
    /// Advertised now.
    pub effective: u8,
    /// Each tracked object's part.
    pub breakdown: Vec<BreakdownItem>,
}

/// One line of a priority breakdown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BreakdownItem {
    /// Check or interface name.
    pub name: String,
    /// `"check"` or `"interface"`.
    pub kind: &'static str,
    /// Checks: `"ok"` / `"failed"`; interfaces: `"up"` / `"down"`.
    pub state: String,
    /// A number (added to the priority) or `"fault"`.
    pub contribution: serde_json::Value,
}

/// `"last_transition"` of an instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransitionStatus {
    /// State left.
    pub from: &'static str,
    /// State entered.
    pub to: &'static str,
    /// Why.
    pub reason: &'static str,
    /// When, in milliseconds since the Unix epoch.
    pub at_unix_ms: u64,
}

/// The word used for a state.
pub fn state_word(s: State) -> &'static str {
    match s {
        State::Initialize => "initialize",
        State::Backup => "backup",
        State::Master => "master",
        State::Fault => "fault",
    }
}

/// keepalived's word for a state, as passed to notify hooks.
pub fn keepalived_word(s: State) -> &'static str {
    match s {
        State::Master => "MASTER",
        State::Backup => "BACKUP",
        State::Fault => "FAULT",
        State::Initialize => "STOP",
    }
}

/// The word used for a reason.
pub fn reason_word(r: Reason) -> &'static str {
    match r {
        Reason::Startup => "startup",
        Reason::MasterDown => "master_down",
        Reason::HigherPriority => "higher_priority",
        Reason::Shutdown => "shutdown",
        Reason::InterfaceDown => "interface_down",
        Reason::CheckFault => "check_fault",
        Reason::SyncGroup => "sync_group",
        Reason::FaultCleared => "fault_cleared",
        Reason::Switchover => "switchover",
        Reason::SwitchoverAborted => "switchover_aborted",
        Reason::Maintenance => "maintenance",
        _ => "other",
    }
}

/// The state machine's counters by name.
pub fn fsm_counters(s: &Stats) -> BTreeMap<String, u64> {
    let pairs = [
        ("adverts_received", s.adverts_received),
        ("adverts_sent", s.adverts_sent),
        ("priority_zero_received", s.priority_zero_received),
        ("priority_zero_sent", s.priority_zero_sent),
        ("master_transitions", s.master_transitions),
        ("preempt_discards", s.preempt_discards),
        ("conflicts_answered", s.conflicts_answered),
        ("discarded", s.discarded),
        ("ignored_not_running", s.ignored_not_running),
        ("ttl_errors", s.ttl_errors),
        ("version_errors", s.version_errors),
        ("vrid_errors", s.vrid_errors),
        ("family_errors", s.family_errors),
        ("auth_errors", s.auth_errors),
        ("interval_errors", s.interval_errors),
        ("address_list_errors", s.address_list_errors),
        ("owner_conflicts", s.owner_conflicts),
        ("empty_address_lists", s.empty_address_lists),
        ("own_adverts", s.own_adverts),
    ];
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// Renders the `status` answer's data as a table for people.
pub fn render_table(data: &serde_json::Value) -> String {
    use std::fmt::Write;
    let mut rows = vec![
        [
            "NAME",
            "INTERFACE",
            "VRID",
            "FAMILY",
            "VER",
            "STATE",
            "PRIO",
            "MASTER",
            "FLAGS",
        ]
        .map(str::to_owned),
    ];
    let empty = Vec::new();
    let instances = data
        .get("instances")
        .and_then(|v| v.as_array())
        .unwrap_or(&empty);
    let s = |v: Option<&serde_json::Value>| -> String {
        match v {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Null) | None => "-".to_owned(),
            Some(other) => other.to_string(),
        }
    };
    for i in instances {
        let prio = i.get("priority");
        let conf = s(prio.and_then(|p| p.get("configured")));
        let eff = s(prio.and_then(|p| p.get("effective")));
        let prio = if conf == eff {
            conf
        } else {
            format!("{eff} ({conf})")
        };
        let mut flags = Vec::new();
        if i.get("maintenance").and_then(|m| m.as_bool()) == Some(true) {
            flags.push("maintenance".to_owned());
        }
        if i.get("holds_vips").and_then(|m| m.as_bool()) == Some(true) {
            flags.push("vips".to_owned());
        }
        if let Some(g) = i.get("sync_group").and_then(|g| g.as_str()) {
            flags.push(format!("group={g}"));
        }
        rows.push([
            s(i.get("name")),
            s(i.get("interface")),
            s(i.get("vrid")),
            s(i.get("family")),
            s(i.get("version")),
            s(i.get("state")).to_uppercase(),
            prio,
            s(i.get("master_address")),
            if flags.is_empty() {
                "-".to_owned()
            } else {
                flags.join(",")
            },
        ]);
    }
    let mut widths = [0usize; 9];
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in &rows {
        let mut line = String::new();
        for (i, (w, c)) in widths.iter().zip(r).enumerate() {
            if i + 1 == r.len() {
                line.push_str(c);
            } else {
                let _ = write!(line, "{c:<w$}  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> InstanceStatus {
        InstanceStatus {
            name: "VI_1".into(),
            interface: "eth0".into(),
            vrid: 51,
            family: "ipv4",
            version: 3,
            state: "master",
            priority: PriorityStatus {
                configured: 150,
                effective: 120,
                breakdown: vec![
                    BreakdownItem {
                        name: "web".into(),
                        kind: "check",
                        state: "failed".into(),
                        contribution: serde_json::json!(-30),
                    },
                    BreakdownItem {
                        name: "eth1".into(),
                        kind: "interface",
                        state: "up".into(),
                        contribution: serde_json::json!(0),
                    },
                ],
            },
            master_address: Some("192.0.2.1".into()),
            counters: fsm_counters(&Stats::default()),
            last_transition: Some(TransitionStatus {
                from: "backup",
                to: "master",
                reason: "master_down",
                at_unix_ms: 1_700_000_000_000,
            }),
            maintenance: false,
            holds_vips: true,
            vips: vec!["192.0.2.10/32".into()],
            sync_group: None,
            source: "192.0.2.1".into(),
            vmac: None,
            advert_lateness: Default::default(),
        }
    }

    #[test]
    fn status_json_has_the_contract_shape() {
        let v = serde_json::to_value(sample()).unwrap();
        assert_eq!(v["name"], "VI_1");
        assert_eq!(v["interface"], "eth0");
        assert_eq!(v["vrid"], 51);
        assert_eq!(v["family"], "ipv4");
        assert_eq!(v["version"], 3);
        assert_eq!(v["state"], "master");
        assert_eq!(v["priority"]["configured"], 150);
        assert_eq!(v["priority"]["effective"], 120);
        let b = &v["priority"]["breakdown"][0];
        for k in ["name", "kind", "state", "contribution"] {
            assert!(b.get(k).is_some(), "breakdown lacks {k}");
        }
        assert_eq!(b["contribution"], -30);
        assert_eq!(v["master_address"], "192.0.2.1");
        for k in [
            "adverts_sent",
            "adverts_received",
            "ttl_errors",
            "discarded",
        ] {
            assert!(v["counters"][k].is_u64(), "counters lack {k}");
        }
        assert_eq!(v["last_transition"]["from"], "backup");
        assert_eq!(v["last_transition"]["to"], "master");
        assert_eq!(v["last_transition"]["reason"], "master_down");
        assert!(v["last_transition"]["at_unix_ms"].is_u64());
        assert_eq!(v["maintenance"], false);
        let mut none = sample();
        none.last_transition = None;
        none.master_address = None;
        let v = serde_json::to_value(none).unwrap();
        assert!(v["last_transition"].is_null() && v["master_address"].is_null());
    }

    #[test]
    fn table_lists_every_instance() {
        let data = serde_json::json!({ "instances": [sample()] });
        let t = render_table(&data);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("NAME"));
        assert!(lines[1].starts_with("VI_1"), "{t}");
        assert!(
            lines[1].contains("MASTER") && lines[1].contains("120 (150)"),
            "{t}"
        );
    }
}
