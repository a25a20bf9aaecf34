//! keepalived import loses nothing silently: every defect of issue 16, the
//! keyword table against docs/migration.md, Debian's samples, the exit
//! status, and generated files whose import always parses and loads.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use proptest::prelude::*;
use vrrpd::config::{Config, Options, validate_text};
use vrrpd::import::keywords::KEYWORDS;
use vrrpd::import::{Impact, Imported, import_file};

fn import(text: &str) -> (Imported, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("keepalived.conf");
    std::fs::write(&p, text).unwrap();
    (import_file(&p).unwrap(), dir)
}

fn load(i: &Imported) -> Config {
    validate_text(&i.toml, "imported", Options::OFFLINE)
        .unwrap_or_else(|e| panic!("{e}\n{}", i.toml))
}

fn has_note(i: &Imported, line: usize, impact: Impact, needle: &str) -> bool {
    i.notes
        .iter()
        .any(|n| n.line == line && n.impact == impact && n.message.contains(needle))
}

const VI: &str =
    "  interface eth0\n  virtual_router_id 1\n  virtual_ipaddress {\n    192.0.2.1/24\n  }\n";

#[test]
fn an_unknown_block_keyword_is_named_and_changes_behaviour() {
    let (i, _d) = import(&format!(
        "VRRP_instance VI_1 {{\n{VI}}}\nvrrp_instnace VI_2 {{\n{VI}}}\n"
    ));
    assert!(i.changes_behaviour());
    assert!(
        has_note(
            &i,
            1,
            Impact::Changes,
            "unknown keyword `VRRP_instance`; did you mean `vrrp_instance`?"
        ),
        "{:#?}",
        i.notes
    );
    assert!(
        has_note(&i, 8, Impact::Changes, "did you mean `vrrp_instance`"),
        "{:#?}",
        i.notes
    );
    // Nothing else is imported: the TOML configures nothing, which check says.
    let e = validate_text(&i.toml, "imported", Options::OFFLINE).unwrap_err();
    assert!(e.to_string().contains("configures nothing"), "{e}");
}

#[test]
fn track_file_in_either_spelling_and_with_track_script_in_one_list() {
    let (i, _d) = import(&format!(
        "vrrp_script chk {{\n  script /bin/true\n}}\ntrack_file drain {{\n  file /run/drain\n}}\nvrrp_track_file old {{\n  file /run/old\n  weight -5\n}}\n\
         vrrp_instance VI_1 {{\n{VI}  track_script {{\n    chk\n  }}\n  track_file {{\n    drain weight -10\n    old\n  }}\n}}\n"
    ));
    let cfg = load(&i);
    let names: Vec<(&str, Option<i32>)> = cfg.instances[0]
        .track_checks
        .iter()
        .map(|t| (t.name.as_str(), t.weight))
        .collect();
    assert_eq!(names, [("chk", None), ("drain", Some(-10)), ("old", None)]);
    assert_eq!(cfg.checks.len(), 3);
    assert!(!i.changes_behaviour(), "{:#?}", i.notes);
}

#[test]
fn sync_group_members_may_share_a_line() {
    let (i, _d) = import(&format!(
        "vrrp_instance VI_B {{\n{VI}}}\nvrrp_instance VI_C {{\n  interface eth0\n  virtual_router_id 2\n  virtual_ipaddress {{\n    192.0.2.2/24\n  }}\n}}\nvrrp_sync_group G {{\n  group {{ VI_B VI_C }}\n}}\n"
    ));
    let cfg = load(&i);
    assert_eq!(cfg.sync_groups[0].instances, ["VI_B", "VI_C"]);
}

#[test]
fn relative_notify_programs_are_resolved_like_scripts() {
    let (i, _d) = import(&format!(
        "vrrp_instance VI_1 {{\n{VI}  notify_master \"true master\"\n  notify nosuchprogram-vrrpd\n}}\n"
    ));
    let t = &i.toml;
    assert!(
        t.contains("notify_master = \"/usr/bin/true master\"")
            || t.contains("notify_master = \"/bin/true master\""),
        "{t}"
    );
    assert!(
        has_note(&i, 7, Impact::Converted, "resolved to"),
        "{:#?}",
        i.notes
    );
    assert!(
        has_note(&i, 8, Impact::Changes, "not found on PATH"),
        "{:#?}",
        i.notes
    );
}

#[test]
fn words_after_a_value_are_noted_and_the_value_kept() {
    let (i, _d) = import(&format!(
        "vrrp_script chk {{\n  script /bin/true\n  interval 2 //执行间隔\n}}\nvrrp_instance VI_1 {{\n{VI}  priority 150 # comment\n  priority 120\n}}\n"
    ));
    let cfg = load(&i);
    assert_eq!(cfg.checks[0].interval, std::time::Duration::from_secs(2));
    assert!(
        has_note(&i, 3, Impact::NoEffect, "//执行间隔"),
        "{:#?}",
        i.notes
    );
    // Given twice: the last one counts, as in keepalived (and no TOML
    // duplicate key).
    assert_eq!(cfg.instances[0].priority.get(), 120);
}

#[test]
fn keepalived_overrides_are_reproduced() {
    // state MASTER clears nopreempt and preempt_delay.
    let (i, _d) = import(&format!(
        "vrrp_instance VI_1 {{\n{VI}  state MASTER\n  nopreempt\n  preempt_delay 10\n}}\n"
    ));
    let cfg = load(&i);
    assert!(cfg.instances[0].preempt);
    assert!(cfg.instances[0].preempt_delay.is_zero());
    assert!(
        has_note(&i, 8, Impact::Converted, "clears `nopreempt`"),
        "{:#?}",
        i.notes
    );
    // An owner keeps preempt; weighted tracking is dropped.
    let (i, _d) = import(&format!(
        "vrrp_script w {{\n  script /bin/true\n  weight 10\n}}\nvrrp_instance VI_1 {{\n{VI}  priority 255\n  nopreempt\n  track_script {{\n    w\n  }}\n}}\n"
    ));
    let cfg = load(&i);
    assert!(cfg.instances[0].preempt);
    assert!(cfg.instances[0].track_checks.is_empty());
    // A sync group with sync_group_tracking_weight keeps the weights.
    let group = |extra: &str| {
        format!(
            "vrrp_script w {{\n  script /bin/true\n  weight 10\n}}\nvrrp_instance A {{\n{VI}  track_script {{\n    w\n  }}\n  track_interface {{\n    eth1 weight -20\n  }}\n}}\n\
             vrrp_instance B {{\n  interface eth0\n  virtual_router_id 2\n  virtual_ipaddress {{\n    192.0.2.2/24\n  }}\n}}\nvrrp_sync_group G {{\n  group {{\n    A\n    B\n  }}\n{extra}}}\n"
        )
    };
    let (i, _d) = import(&group(""));
    let a = &load(&i).instances[0];
    assert!(a.track_checks.is_empty());
    assert_eq!(a.track_interfaces[0].weight, 0);
    let (i, _d) = import(&group("  sync_group_tracking_weight\n"));
    let a = &load(&i).instances[0];
    assert_eq!(a.track_checks[0].name, "w");
    assert_eq!(a.track_interfaces[0].weight, -20);
}

#[test]
fn includes_follow_globs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("conf.d")).unwrap();
    std::fs::write(
        dir.path().join("conf.d/a.conf"),
        format!("vrrp_instance A {{\n{VI}}}\n"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("conf.d/b.conf"),
        "vrrp_instance B {\n  interface eth0\n  virtual_router_id 2\n  virtual_ipaddress {\n    192.0.2.2/24\n  }\n}\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("conf.d/b.conf.bak"), "garbage {\n").unwrap();
    let main = dir.path().join("keepalived.conf");
    std::fs::write(&main, "include conf.d/*.conf\n").unwrap();
    let i = import_file(&main).unwrap();
    let names: Vec<String> = load(&i).instances.iter().map(|i| i.name.clone()).collect();
    assert_eq!(names, ["A", "B"]);
}

fn migration_doc() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/migration.md"))
        .unwrap()
}

#[test]
fn every_keyword_of_the_table_is_explained_in_the_migration_guide() {
    let doc = migration_doc();
    assert!(KEYWORDS.len() > 250, "{}", KEYWORDS.len());
    for (block, kw, fate, why) in KEYWORDS {
        assert!(
            doc.contains(&format!("| `{kw}` |")),
            "`{kw}` ({block}) missing from docs/migration.md"
        );
        assert!(!why.is_empty(), "`{kw}` ({fate:?}) has no reason");
    }
}

#[test]
fn debian_samples_report_only_keywords_the_guide_explains() {
    let dir = Path::new("/usr/share/doc/keepalived/samples");
    let Ok(entries) = std::fs::read_dir(dir) else {
        eprintln!(
            "SKIP: {} not present (keepalived package not installed)",
            dir.display()
        );
        return;
    };
    let doc = migration_doc();
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("keepalived.conf")
        })
        .collect();
    files.sort();
    assert!(files.len() > 10);
    for path in files {
        let i = import_file(&path).unwrap();
        for n in &i.notes {
            let kw = n.keyword.as_deref().unwrap_or_else(|| {
                panic!(
                    "{}:{}: a note without its keyword: {}",
                    path.display(),
                    n.line,
                    n.message
                )
            });
            assert!(
                doc.contains(&format!("`{kw}`")),
                "{}:{}: `{kw}` is not explained in docs/migration.md ({})",
                path.display(),
                n.line,
                n.message
            );
        }
        toml::from_str::<toml::Table>(&i.toml)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}

#[test]
fn the_exit_status_says_whether_behaviour_changes() {
    let dir = tempfile::tempdir().unwrap();
    let run = |text: &str| {
        let p = dir.path().join("k.conf");
        std::fs::write(&p, text).unwrap();
        Command::new(env!("CARGO_BIN_EXE_vrrpd"))
            .args(["import-keepalived", p.to_str().unwrap()])
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(run(&format!("vrrp_instance A {{\n{VI}}}\n")), Some(0));
    assert_eq!(
        run(&format!("vrrp_instance A {{\n{VI}  debug 2\n}}\n")),
        Some(0)
    );
    assert_eq!(
        run(&format!("vrrp_instance A {{\n{VI}  track_bfd B\n}}\n")),
        Some(3)
    );
    // LVS alone is a configuration now; nothing at all is not.
    assert_eq!(run("virtual_server 192.0.2.1 80 {\n}\n"), Some(0));
    assert_eq!(run("global_defs {\n}\n"), Some(1));
    assert_eq!(run("vrrp_instance A {\n"), Some(1));
}

/// A keepalived statement: a known instance keyword with a valid value, a
/// valid value with junk after it, or an unknown keyword.
fn instance_line() -> impl Strategy<Value = String> {
    prop_oneof![
        (1u8..=254).prop_map(|p| format!("priority {p}")),
        (1u8..=10).prop_map(|s| format!("advert_int {s}")),
        Just("nopreempt".to_owned()),
        Just("state MASTER".to_owned()),
        Just("state BACKUP".to_owned()),
        (0u16..300).prop_map(|d| format!("preempt_delay {d}")),
        Just("no_accept".to_owned()),
        Just("accept".to_owned()),
        "[a-z_]{3,12}".prop_map(|k| format!("{k} 1")),
        (1u8..=100).prop_map(|n| format!("garp_master_repeat {n} junk")),
        Just("track_script {\n    chk weight 5\n    chk2\n  }".to_owned()),
        Just("track_interface {\n    eth1 weight -10\n  }".to_owned()),
        Just("authentication {\n    auth_type PASS\n    auth_pass secret99\n  }".to_owned()),
        Just("notify_master /bin/echo".to_owned()),
        Just("unicast_peer {\n    192.0.2.200\n  }".to_owned()),
        Just("virtual_routes {\n    198.51.100.0/24 via 192.0.2.254\n  }".to_owned()),
    ]
}

fn keepalived_file() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(prop::collection::vec(instance_line(), 0..8), 1..4),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(instances, v6, group)| {
            let mut s = String::from("vrrp_script chk {\n  script /bin/true\n  weight -5\n}\n");
            for (n, lines) in instances.iter().enumerate() {
                s.push_str(&format!(
                    "vrrp_instance VI_{n} {{\n  interface eth0\n  virtual_router_id {}\n  virtual_ipaddress {{\n    192.0.2.{}/24\n",
                    n + 1,
                    n + 1
                ));
                if v6 {
                    s.push_str(&format!("    2001:db8::{}/64\n", n + 1));
                }
                s.push_str("  }\n");
                for l in lines {
                    s.push_str(&format!("  {l}\n"));
                }
                s.push_str("}\n");
            }
            if group && instances.len() > 1 {
                s.push_str("vrrp_sync_group G {\n  group {\n    VI_0 VI_1\n  }\n}\n");
            }
            s
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the keepalived file, the TOML parses; made of valid values,
    /// it loads, and everything not carried over is in the report.
    #[test]
    fn generated_keepalived_files_import_to_toml_that_loads(text in keepalived_file()) {
        let (i, _d) = import(&text);
        prop_assert!(toml::from_str::<toml::Table>(&i.toml).is_ok(), "{}", i.toml);
        let loaded = validate_text(&i.toml, "imported", Options::OFFLINE);
        prop_assert!(loaded.is_ok(), "{}\n---\n{}\n---\n{:#?}", loaded.unwrap_err(), i.toml, i.notes);
    }
}

/// Any word: keywords, numbers, addresses, and text TOML must escape.
fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(KEYWORDS.iter().map(|k| k.1.to_owned()).collect::<Vec<_>>()),
        "[0-9]{1,4}",
        "192\\.0\\.2\\.[0-9]{1,3}(/[0-9]{1,2})?",
        // (An unbalanced `"` is a syntax error with its line, tested apart.)
        "[a-zA-Z_\\\\é]{1,8}",
        Just("\"a \\\\ b\"".to_owned()),
    ]
}

/// Nested statements of random words, braces balanced.
fn soup() -> impl Strategy<Value = String> {
    fn line() -> impl Strategy<Value = String> {
        prop::collection::vec(word(), 1..4).prop_map(|w| w.join(" "))
    }
    fn block() -> impl Strategy<Value = String> {
        (line(), prop::collection::vec(line(), 0..6))
            .prop_map(|(head, body)| format!("{head} {{\n{}\n}}", body.join("\n")))
    }
    let top = prop_oneof![
        line(),
        block(),
        (word(), prop::collection::vec(block(), 0..3))
            .prop_map(|(k, inner)| format!("{k} X {{\n{}\n}}", inner.join("\n"))),
    ];
    prop::collection::vec(top, 0..8).prop_map(|v| v.join("\n") + "\n")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Whatever keepalived-like text comes in, the import does not fail and
    /// its TOML parses (whether it loads is `vrrpd check`'s verdict).
    #[test]
    fn any_statement_soup_imports_to_toml_that_parses(text in soup()) {
        let (i, _d) = import(&text);
        prop_assert!(toml::from_str::<toml::Table>(&i.toml).is_ok(), "{}\n---\n{}", text, i.toml);
        for n in &i.notes {
            prop_assert!(n.keyword.is_some(), "{n:?}");
        }
    }
}
