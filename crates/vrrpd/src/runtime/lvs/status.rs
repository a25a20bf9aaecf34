//! What `vrrpd status` and the metrics show of LVS: each virtual server,
//! its quorum and its real servers with their state, weight and last
//! check result.

use healthcheck::Checker;
use serde::Serialize;

use super::Lvs;

/// One virtual server in the status snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VirtualServerStatus {
    /// `TCP 192.0.2.1:80` or `FWM 1`.
    pub name: String,
    /// The scheduler.
    pub scheduler: String,
    /// The quorum is held.
    pub quorum_up: bool,
    /// Sum of the weights of the real servers that are up.
    pub live_weight: u64,
    /// Its real servers, in configuration order.
    pub real_servers: Vec<RealServerStatus>,
}

/// One real server in the status snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RealServerStatus {
    /// Address and port.
    pub address: String,
    /// `up` or `down`.
    pub state: &'static str,
    /// The weight it has in the kernel (0 when inhibited, or when down).
    pub weight: u32,
    /// The last result of its checks (the first failing one, if any).
    pub last_check: Option<String>,
}

impl Lvs {
    /// The status of every virtual server.
    pub(in crate::runtime) fn status(&self, checker: &Checker) -> Vec<VirtualServerStatus> {
        self.vss
            .iter()
            .map(|v| {
                let key = super::KeyOrd::from(&v.cfg.key);
                let applied = self.applied.get(&key);
                let live: Vec<_> = v.rs.iter().map(|r| r.live).collect();
                let real_servers = v
                    .cfg
                    .real_servers
                    .iter()
                    .zip(&v.rs)
                    .map(|(c, r)| {
                        let weight = applied
                            .and_then(|t| t.dests.get(&c.addr))
                            .map_or(0, |d| d.weight);
                        let results: Vec<_> = r
                            .checks
                            .iter()
                            .filter_map(|id| checker.last_result(*id))
                            .collect();
                        let last = results
                            .iter()
                            .find(|x| x.outcome == healthcheck::Outcome::Failure)
                            .or(results.first())
                            .map(|x| x.detail.to_string());
                        RealServerStatus {
                            address: c.addr.to_string(),
                            state: if r.live.up { "up" } else { "down" },
                            weight,
                            last_check: last,
                        }
                    })
                    .collect();
                VirtualServerStatus {
                    name: v.cfg.name(),
                    scheduler: v.cfg.scheduler.clone(),
                    quorum_up: v.quorum_up,
                    live_weight: super::plan::live_weight(&live),
                    real_servers,
                }
            })
            .collect()
    }
}

/// The LVS part of `vrrpd status`'s table, from its JSON: one line per
/// real server under its virtual server. Empty without virtual servers.
pub(crate) fn render_table(data: &serde_json::Value) -> String {
    let Some(list) = data.get("virtual_servers").and_then(|v| v.as_array()) else {
        return String::new();
    };
    if list.is_empty() {
        return String::new();
    }
    let s = |v: Option<&serde_json::Value>| match v {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Null) | None => "-".to_owned(),
        Some(v) => v.to_string(),
    };
    let mut rows = vec![
        [
            "VIRTUAL SERVER",
            "SCHED",
            "QUORUM",
            "REAL SERVER",
            "STATE",
            "WEIGHT",
            "LAST CHECK",
        ]
        .map(str::to_owned)
        .to_vec(),
    ];
    for v in list {
        let quorum = match v.get("quorum_up").and_then(serde_json::Value::as_bool) {
            Some(true) => "up",
            _ => "lost",
        };
        let empty = Vec::new();
        let rss = v
            .get("real_servers")
            .and_then(|r| r.as_array())
            .unwrap_or(&empty);
        for (i, r) in rss.iter().enumerate() {
            let (name, sched, q) = if i == 0 {
                (s(v.get("name")), s(v.get("scheduler")), quorum.to_owned())
            } else {
                (String::new(), String::new(), String::new())
            };
            rows.push(vec![
                name,
                sched,
                q,
                s(r.get("address")),
                s(r.get("state")).to_uppercase(),
                s(r.get("weight")),
                s(r.get("last_check")),
            ]);
        }
    }
    let widths: Vec<usize> = (0..7)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::from("\nvirtual servers:\n");
    for r in rows {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// The LVS metrics, Prometheus text: per real server, up and weight.
pub(crate) fn render_prom(vss: &[VirtualServerStatus]) -> String {
    if vss.is_empty() {
        return String::new();
    }
    let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    let mut up = String::from(
        "# HELP vrrpd_lvs_real_server_up 1 while the real server's checks pass.\n\
         # TYPE vrrpd_lvs_real_server_up gauge\n",
    );
    let mut weight = String::from(
        "# HELP vrrpd_lvs_real_server_weight The real server's weight in the kernel table.\n\
         # TYPE vrrpd_lvs_real_server_weight gauge\n",
    );
    let mut quorum = String::from(
        "# HELP vrrpd_lvs_quorum_up 1 while the virtual server holds its quorum.\n\
         # TYPE vrrpd_lvs_quorum_up gauge\n",
    );
    for v in vss {
        let vl = format!("virtual_server=\"{}\"", esc(&v.name));
        quorum.push_str(&format!(
            "vrrpd_lvs_quorum_up{{{vl}}} {}\n",
            u8::from(v.quorum_up)
        ));
        for r in &v.real_servers {
            let l = format!("{vl},real_server=\"{}\"", esc(&r.address));
            let u = u8::from(r.state == "up");
            up.push_str(&format!("vrrpd_lvs_real_server_up{{{l}}} {u}\n"));
            weight.push_str(&format!(
                "vrrpd_lvs_real_server_weight{{{l}}} {}\n",
                r.weight
            ));
        }
    }
    quorum + &up + &weight
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap() -> Vec<VirtualServerStatus> {
        vec![VirtualServerStatus {
            name: "TCP 192.0.2.1:80".into(),
            scheduler: "rr".into(),
            quorum_up: true,
            live_weight: 1,
            real_servers: vec![
                RealServerStatus {
                    address: "10.0.0.1:80".into(),
                    state: "up",
                    weight: 1,
                    last_check: Some("connected".into()),
                },
                RealServerStatus {
                    address: "10.0.0.2:80".into(),
                    state: "down",
                    weight: 0,
                    last_check: None,
                },
            ],
        }]
    }

    #[test]
    fn table_and_metrics_show_each_real_server() {
        let json = serde_json::json!({ "virtual_servers": snap() });
        let t = render_table(&json);
        assert!(t.contains("TCP 192.0.2.1:80  rr"), "{t}");
        assert!(
            t.lines()
                .any(|l| l.contains("10.0.0.2:80") && l.contains("DOWN")),
            "{t}"
        );
        let p = render_prom(&snap());
        assert!(p.contains(
            "vrrpd_lvs_real_server_up{virtual_server=\"TCP 192.0.2.1:80\",real_server=\"10.0.0.2:80\"} 0"
        ));
        assert!(p.contains("vrrpd_lvs_quorum_up{virtual_server=\"TCP 192.0.2.1:80\"} 1"));
    }
}
