//! What `vrrpd status` shows: one typed [`Snapshot`] of the daemon,
//! serialized as the `status --json` answer (the contract the CLI and
//! tests read) and rendered as Prometheus metrics from the same value
//! (`metrics.rs`), plus the table rendering.

use std::collections::{BTreeMap, VecDeque};

use serde::Serialize;
use vrrp_fsm::{Reason, State, Stats};

use super::hooks::HookStats;
pub use super::lateness::LatenessStatus;
use super::prom::ProcessStats;
use crate::control::ControlStats;
use crate::mail::MailStats;

pub use super::lvs::status::{RealServerStatus, VirtualServerStatus};

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
    /// E-mail alerts by outcome.
    pub mail: MailStats,
    /// The process's resource use.
    pub process: ProcessStats,
    /// The most recent state changes, oldest first (at most
    /// [`HISTORY_LEN`]).
    pub history: Vec<HistoryEntry>,
    /// LVS virtual servers and their real servers.
    pub virtual_servers: Vec<VirtualServerStatus>,
}

/// State changes kept for `status` (the answer to "why did it fail over
/// at 3 am?" without the logs).
pub const HISTORY_LEN: usize = 64;

/// State changes the table shows (all of them are in the JSON).
const TABLE_HISTORY: usize = 10;

/// One state change in `{"history": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryEntry {
    /// Instance name.
    pub instance: String,
    /// State left.
    pub from: &'static str,
    /// State entered.
    pub to: &'static str,
    /// Why (the state machine's reason).
    pub reason: &'static str,
    /// When, in milliseconds since the Unix epoch.
    pub at_unix_ms: u64,
    /// The priority the instance advertised then.
    pub priority: u8,
    /// The master it knew of right after the change (its own address
    /// when it became master), if any.
    pub master_address: Option<String>,
}

/// The bounded record of recent state changes.
#[derive(Debug, Clone, Default)]
pub struct History {
    entries: VecDeque<HistoryEntry>,
}

impl History {
    /// Records `e`, forgetting the oldest beyond [`HISTORY_LEN`].
    pub fn push(&mut self, e: HistoryEntry) {
        if self.entries.len() == HISTORY_LEN {
            self.entries.pop_front();
        }
        self.entries.push_back(e);
    }

    /// Oldest first.
    pub fn to_vec(&self) -> Vec<HistoryEntry> {
        self.entries.iter().cloned().collect()
    }
}

/// `"timers"` of an instance (RFC 9568 §6.1 names), in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TimersStatus {
    /// The configured Advertisement_Interval.
    pub advert_interval_ms: u64,
    /// Master_Adver_Interval (a VRRPv3 backup learns the master's).
    pub master_advert_interval_ms: u64,
    /// Skew_Time.
    pub skew_time_ms: u64,
    /// Master_Down_Interval.
    pub master_down_interval_ms: u64,
    /// A backup: how long ago the master's last advert was accepted
    /// (Master_Down_Timer was re-armed); `null` otherwise.
    pub last_advert_ms_ago: Option<u64>,
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
    /// Protocol timers.
    pub timers: TimersStatus,
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
        Reason::SourceMissing => "source_missing",
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

/// Lays rows out in columns two spaces apart (the last one unpadded).
fn columns(rows: &[Vec<String>]) -> String {
    use std::fmt::Write;
    let n = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0usize; n];
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in rows {
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

/// A JSON value as a table cell (`-` for none).
fn cell(v: Option<&serde_json::Value>) -> String {
    match v {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Null) | None => "-".to_owned(),
        Some(other) => other.to_string(),
    }
}

/// Milliseconds as seconds with two decimals (`"3.61s"`), `-` for none.
fn secs(v: Option<&serde_json::Value>) -> String {
    v.and_then(serde_json::Value::as_u64).map_or_else(
        || "-".to_owned(),
        |ms| format!("{}.{:02}s", ms / 1000, ms % 1000 / 10),
    )
}

/// Renders the `status` answer's data as a table for people: one row per
/// instance (with its VIPs, Skew_Time, Master_Down_Interval and the age of
/// the last advert a backup accepted), then the recent state changes, if any.
pub fn render_table(data: &serde_json::Value) -> String {
    let head = [
        "NAME",
        "INTERFACE",
        "VRID",
        "FAMILY",
        "VER",
        "STATE",
        "PRIO",
        "MASTER",
        "VIPS",
        "SKEW",
        "DOWN-INT",
        "LAST-ADV",
        "FLAGS",
    ];
    let mut rows = vec![head.map(str::to_owned).to_vec()];
    let empty = Vec::new();
    let list = |k: &str| data.get(k).and_then(|v| v.as_array()).unwrap_or(&empty);
    rows.extend(list("instances").iter().map(instance_row));
    let mut out = columns(&rows);
    out.push_str(&super::lvs::status::render_table(data));
    out.push_str(&history_table(list("history")));
    out
}

/// One instance's row of the table.
fn instance_row(i: &serde_json::Value) -> Vec<String> {
    let prio = i.get("priority");
    let conf = cell(prio.and_then(|p| p.get("configured")));
    let eff = cell(prio.and_then(|p| p.get("effective")));
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
    let vips: Vec<&str> = i
        .get("vips")
        .and_then(|v| v.as_array())
        .map(|v| v.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    let or_dash = |v: Vec<String>| {
        if v.is_empty() {
            "-".to_owned()
        } else {
            v.join(",")
        }
    };
    let timers = i.get("timers");
    vec![
        cell(i.get("name")),
        cell(i.get("interface")),
        cell(i.get("vrid")),
        cell(i.get("family")),
        cell(i.get("version")),
        cell(i.get("state")).to_uppercase(),
        prio,
        cell(i.get("master_address")),
        or_dash(vips.iter().map(|v| (*v).to_owned()).collect()),
        secs(timers.and_then(|t| t.get("skew_time_ms"))),
        secs(timers.and_then(|t| t.get("master_down_interval_ms"))),
        secs(timers.and_then(|t| t.get("last_advert_ms_ago"))),
        or_dash(flags),
    ]
}

/// The newest state changes, as a second table (empty without history).
fn history_table(history: &[serde_json::Value]) -> String {
    if history.is_empty() {
        return String::new();
    }
    let mut rows = vec![
        [
            "AT (UTC)", "INSTANCE", "FROM", "TO", "REASON", "PRIO", "MASTER",
        ]
        .map(str::to_owned)
        .to_vec(),
    ];
    for h in history.iter().rev().take(TABLE_HISTORY) {
        let at = h.get("at_unix_ms").and_then(serde_json::Value::as_u64);
        rows.push(vec![
            at.map_or_else(|| "-".to_owned(), utc_time),
            cell(h.get("instance")),
            cell(h.get("from")),
            cell(h.get("to")),
            cell(h.get("reason")),
            cell(h.get("priority")),
            cell(h.get("master_address")),
        ]);
    }
    let mut out = String::from("\nrecent state changes, newest first:\n");
    out.push_str(&columns(&rows));
    if history.len() > TABLE_HISTORY {
        let more = history.len() - TABLE_HISTORY;
        out.push_str(&format!("({more} older in `vrrpd status --json`)\n"));
    }
    out
}

/// `26 Nov 2026 11:06:27.123` (UTC) for milliseconds since the epoch.
fn utc_time(ms: u64) -> String {
    let date = crate::mail::rfc5322_date(ms / 1000);
    // "Thu, 26 Nov 2026 11:06:27 +0000" -> "26 Nov 2026 11:06:27.123"
    let mid = date.get(5..25).unwrap_or(&date);
    format!("{mid}.{:03}", ms % 1000)
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
            timers: TimersStatus {
                advert_interval_ms: 1000,
                master_advert_interval_ms: 1000,
                skew_time_ms: 410,
                master_down_interval_ms: 3410,
                last_advert_ms_ago: Some(250),
            },
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
        assert!(lines[1].contains("192.0.2.10/32"), "{t}");
        let cells: Vec<&str> = lines[1].split_whitespace().collect();
        let timers = cells.windows(3).any(|w| w == ["0.41s", "3.41s", "0.25s"]);
        assert!(timers, "skew, down interval, last advert: {t}");
    }

    #[test]
    fn timers_are_in_the_json() {
        let v = serde_json::to_value(sample()).unwrap();
        assert_eq!(v["timers"]["skew_time_ms"], 410);
        assert_eq!(v["timers"]["master_down_interval_ms"], 3410);
        assert_eq!(v["timers"]["master_advert_interval_ms"], 1000);
        assert_eq!(v["timers"]["last_advert_ms_ago"], 250);
        assert_eq!(v["vips"][0], "192.0.2.10/32");
    }

    fn entry(n: u64) -> HistoryEntry {
        HistoryEntry {
            instance: format!("VI_{n}"),
            from: "backup",
            to: "master",
            reason: "master_down",
            at_unix_ms: 1_795_690_000_000 + n,
            priority: 100,
            master_address: None,
        }
    }

    #[test]
    fn history_is_bounded_and_shown_newest_first() {
        let mut h = History::default();
        for n in 0..(HISTORY_LEN as u64 + 10) {
            h.push(entry(n));
        }
        let v = h.to_vec();
        assert_eq!(v.len(), HISTORY_LEN);
        assert_eq!(v[0].instance, "VI_10");
        assert_eq!(
            v[HISTORY_LEN - 1].instance,
            format!("VI_{}", HISTORY_LEN + 9)
        );
        let data = serde_json::json!({ "instances": [sample()], "history": [entry(1), entry(2)] });
        let t = render_table(&data);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[4].starts_with("AT (UTC)"), "{t}");
        assert!(
            lines[5].starts_with("26 Nov 2026 10:46:40.002  VI_2"),
            "{t}"
        );
        assert!(
            lines[6].contains("VI_1") && lines[6].contains("master_down"),
            "{t}"
        );
        let many: Vec<HistoryEntry> = (0..15).map(entry).collect();
        let t = render_table(&serde_json::json!({ "instances": [], "history": many }));
        assert!(t.contains("  VI_14  ") && !t.contains("  VI_4  "), "{t}");
        assert!(t.ends_with("(5 older in `vrrpd status --json`)\n"), "{t}");
    }
}
