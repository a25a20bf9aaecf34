//! What `vrrpd status` shows: the JSON shapes (the contract the CLI and
//! tests read) and the table rendering.

use std::collections::BTreeMap;

use serde::Serialize;
use vrrp_fsm::{Reason, State, Stats};

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

/// A parse error's counter name: its variant in snake case
/// (`BadChecksum` → `bad_checksum`).
pub fn parse_error_key(e: &vrrp_proto::ParseError) -> String {
    let debug = format!("{e:?}");
    let variant: String = debug
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let mut out = String::with_capacity(variant.len() + 4);
    for (i, c) in variant.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
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

    #[test]
    fn parse_error_keys_are_snake_case() {
        assert_eq!(
            parse_error_key(&vrrp_proto::ParseError::BadChecksum),
            "bad_checksum"
        );
        assert_eq!(
            parse_error_key(&vrrp_proto::ParseError::Truncated { needed: 8, got: 2 }),
            "truncated"
        );
        assert_eq!(
            parse_error_key(&vrrp_proto::ParseError::BadVersion(9)),
            "bad_version"
        );
    }
}
