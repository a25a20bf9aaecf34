//! `packaging/vrrpd.toml`, the commented sample the Debian package installs
//! as /etc/vrrpd/vrrpd.toml: it passes `vrrpd check` as shipped, and so
//! does every commented-out setting in it once uncommented, so that an
//! operator who enables one gets a working line.

use std::path::PathBuf;

fn sample_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../packaging/vrrpd.toml")
}

#[test]
fn the_sample_passes_check_as_shipped() {
    let cfg = vrrpd::config::load(&sample_path()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.instances.len(), 1);
    assert!(cfg.checks.is_empty());
}

/// `# key = value` and `# [[table]]` lines become settings; prose stays.
fn uncommented(text: &str) -> (String, usize) {
    let mut n = 0;
    let lines: Vec<&str> = text
        .lines()
        .map(|line| match line.strip_prefix("# ") {
            Some(rest)
                if rest.starts_with("[[")
                    || rest.split_once(" = ").is_some_and(|(k, _)| {
                        k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                    }) =>
            {
                n += 1;
                rest
            }
            _ => line,
        })
        .collect();
    (lines.join("\n"), n)
}

#[test]
fn every_commented_setting_is_valid_when_enabled() {
    let text = std::fs::read_to_string(sample_path()).expect("sample");
    let (enabled, n) = uncommented(&text);
    assert!(n >= 10, "only {n} commented settings found:\n{enabled}");
    let cfg = vrrpd::config::load_str(&enabled, "vrrpd.toml (all enabled)")
        .unwrap_or_else(|e| panic!("{e}\n{enabled}"));
    assert_eq!(cfg.instances.len(), 1);
    assert_eq!(cfg.checks.len(), 1);
}
