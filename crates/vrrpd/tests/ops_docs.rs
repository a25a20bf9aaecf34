//! docs/operations.md stays true: its Prometheus alert rules pass
//! `promtool check rules` (Debian's prometheus package, installed by
//! scripts/setup.sh; skipped without it) and name only metrics vrrpd
//! serves.
#![allow(clippy::unwrap_used)]

use std::process::Command;

fn yaml_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut cur: Option<String> = None;
    for line in text.lines() {
        match (&mut cur, line.trim_end()) {
            (None, "```yaml") => cur = Some(String::new()),
            (Some(_), "```") => blocks.push(cur.take().unwrap()),
            (Some(b), l) => {
                b.push_str(l);
                b.push('\n');
            }
            _ => {}
        }
    }
    blocks
}

#[test]
fn the_alert_rules_pass_promtool_and_use_served_metrics() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/operations.md");
    let doc = std::fs::read_to_string(path).unwrap();
    let blocks = yaml_blocks(&doc);
    assert_eq!(blocks.len(), 1, "one rules file expected");
    let rules = &blocks[0];
    for name in rules
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("vrrpd_"))
    {
        assert!(
            doc.contains(&format!("`{name}`"))
                || name.starts_with("vrrpd_instance_")
                    && doc.contains("`vrrpd_instance_<counter>_total`"),
            "{name} is not in the metrics table"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("vrrpd.rules.yml");
    std::fs::write(&file, rules).unwrap();
    let Ok(out) = Command::new("promtool")
        .arg("check")
        .arg("rules")
        .arg(&file)
        .output()
    else {
        eprintln!("SKIP: promtool is not installed (scripts/setup.sh installs it)");
        return;
    };
    assert!(
        out.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
