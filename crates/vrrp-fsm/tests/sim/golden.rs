//! Golden traces: a scenario's complete action trace (virtual time, node,
//! action) compared line by line with `golden/<scenario>/trace.jsonl`;
//! `golden/<scenario>/description.txt` draws the topology and the script.
//! `VRRP_UPDATE_GOLDEN=1 cargo test -p vrrp-fsm --test lan golden`
//! regenerates the files. Nothing is replayed: the routers run and exchange
//! packets on the virtual clock, and any behaviour change shows up here.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use vrrp_fsm::sim::Lan;
use vrrp_proto::Version;

use super::{BUDGET, cfg};

fn render(lan: &Lan) -> String {
    let mut out = String::new();
    for e in &lan.trace {
        let action = format!("{:?}", e.action).replace('"', "'");
        out.push_str(&format!(
            "{{\"t_ms\":{},\"node\":{},\"action\":\"{}\"}}\n",
            e.at.as_millis(),
            e.node,
            action
        ));
    }
    out
}

fn check_golden(name: &str, got: &str) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sim/golden")
        .join(name);
    let path = dir.join("trace.jsonl");
    if std::env::var_os("VRRP_UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(&dir).expect("golden dir");
        std::fs::write(&path, got).expect("write golden");
        return;
    }
    let want =
        std::fs::read_to_string(&path).expect("golden file (VRRP_UPDATE_GOLDEN=1 creates it)");
    for (i, (w, g)) in want.lines().zip(got.lines()).enumerate() {
        assert_eq!(w, g, "{name}: line {} differs", i + 1);
    }
    assert_eq!(
        want.lines().count(),
        got.lines().count(),
        "{name}: trace length differs"
    );
}

#[test]
fn golden_election_failover() {
    let mut lan = Lan::new(Instant::now(), 1);
    for (h, p) in [(1u8, 100u8), (2, 200), (3, 150)] {
        lan.add(cfg(Version::V3, h, p));
    }
    lan.start_all().expect("start");
    lan.run_until(Duration::from_secs(6), BUDGET).expect("run");
    lan.crash(1);
    lan.run_until(Duration::from_secs(12), BUDGET).expect("run");
    lan.with(2, |r, now| r.shutdown(now)).expect("shutdown");
    lan.run_until(Duration::from_secs(16), BUDGET).expect("run");
    lan.check_converged().expect("converged");
    check_golden("election_failover", &render(&lan));
}
