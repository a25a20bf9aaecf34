//! keepalived.conf import: a sample covering the VRRP keys converts to a
//! configuration that passes `vrrpd check`, with a note for everything left
//! behind; Debian's own keepalived samples convert without a crash and into
//! TOML that parses.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use vrrp_proto::{Auth, Version};
use vrrpd::config::{CheckKind, Family, load_str};
use vrrpd::import::import_file;

#[test]
fn sample_converts_to_a_valid_config_with_notes() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/keepalived-sample.conf");
    let imported = import_file(&path).unwrap();
    let cfg =
        load_str(&imported.toml, "imported").unwrap_or_else(|e| panic!("{e}\n{}", imported.toml));

    let names: Vec<&str> = cfg.instances.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["VI_1", "VI_1_v6", "VI_2"]);
    let vi1 = &cfg.instances[0];
    assert_eq!(
        (vi1.vrid.get(), vi1.priority.get(), vi1.version),
        (51, 101, Version::V2)
    );
    // keepalived clears `nopreempt` on a `state MASTER` instance (issue 16:
    // the import reproduces keepalived's effective behaviour).
    assert!(vi1.preempt, "keepalived runs VI_1 with preempt");
    assert_eq!(vi1.auth, Auth::SimplePassword(*b"12345678"));
    assert_eq!(vi1.vips.len(), 2);
    assert_eq!(vi1.vips[0].label.as_deref(), Some("eth0:1"));
    // VI_1 is in sync group VG_1 without `sync_group_tracking_weight`:
    // keepalived zeroes interface weights and ignores weighted scripts.
    assert_eq!(vi1.track_interfaces[0].weight, 0);
    assert!(vi1.track_checks.is_empty(), "{:?}", vi1.track_checks);
    assert_eq!(
        vi1.hooks.master.as_deref(),
        Some(&["/bin/echo".to_owned(), "master".to_owned()][..])
    );
    let vi1_6 = &cfg.instances[1];
    assert_eq!(
        (vi1_6.family, vi1_6.version, vi1_6.auth),
        (Family::V6, Version::V3, Auth::None)
    );
    let vi2 = &cfg.instances[2];
    assert_eq!(
        vi2.unicast_peers,
        vec!["10.1.1.3".parse::<std::net::IpAddr>().unwrap()]
    );

    let chk = &cfg.checks[0];
    assert_eq!((chk.fall, chk.rise, chk.weight), (3, 2, -20));
    assert!(matches!(&chk.kind, CheckKind::Exec { argv, .. } if argv == &["/bin/true"]));
    assert!(matches!(&cfg.checks[2].kind, CheckKind::File { .. }));
    assert_eq!(cfg.sync_groups[0].instances, ["VI_1", "VI_2"]);

    let notes: Vec<(usize, &str)> = imported
        .notes
        .iter()
        .map(|n| (n.line, n.message.as_str()))
        .collect();
    let has =
        |line: usize, needle: &str| notes.iter().any(|(l, m)| *l == line && m.contains(needle));
    // The e-mail settings carry over (no server here: no mail yet).
    let mail = &cfg.global.mail;
    assert_eq!(mail.router_id.as_deref(), Some("LVS_DEVEL"));
    assert_eq!(mail.to, ["acassen@firewall.loc"]);
    assert_eq!(cfg.instances[0].hooks.smtp_alert, Some(true));
    assert!(
        !notes.iter().any(|(_, m)| m.contains("router_id")),
        "{notes:#?}"
    );
    assert!(has(30, "state MASTER"), "{notes:#?}");
    assert!(has(35, "keepalived clears `nopreempt`"), "{notes:#?}");
    assert!(
        has(46, "ignores the weight of tracked interface eth1"),
        "{notes:#?}"
    );
    assert!(has(51, "tracked script chk_rel"), "{notes:#?}");
    assert!(has(36, "first 8"), "{notes:#?}");
    assert!(has(29, "split into VI_1 and VI_1_v6"), "{notes:#?}");
    assert!(!has(54, "smtp_alert"), "{notes:#?}");
    // LVS is converted now; keepalived's UDP default is written out.
    assert!(has(79, "keepalived uses UDP"), "{notes:#?}");
    let lines: Vec<usize> = notes.iter().map(|(l, _)| *l).collect();
    assert!(lines.is_sorted(), "notes in file order: {lines:?}");
}

#[test]
fn broken_syntax_is_an_error_with_a_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("k.conf");
    std::fs::write(&p, "vrrp_instance X {\n  interface eth0\n").unwrap();
    let e = import_file(&p).unwrap_err().to_string();
    assert!(
        e.ends_with(":1: block 'vrrp_instance' is never closed"),
        "{e}"
    );
}

#[test]
fn debian_keepalived_samples_import_without_crashing() {
    let dir = Path::new("/usr/share/doc/keepalived/samples");
    let Ok(entries) = std::fs::read_dir(dir) else {
        eprintln!(
            "SKIP: {} not present (keepalived package not installed)",
            dir.display()
        );
        return;
    };
    let mut n = 0;
    for e in entries {
        let path = e.unwrap().path();
        if !path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("keepalived.conf")
        {
            continue;
        }
        let imported = import_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // Whatever the semantic verdict, the output is well-formed TOML.
        toml::from_str::<toml::Table>(&imported.toml)
            .unwrap_or_else(|e| panic!("{}: bad TOML: {e}\n{}", path.display(), imported.toml));
        n += 1;
    }
    assert!(n > 10, "only {n} samples");
}

#[test]
fn use_vmac_carries_over_for_ipv4() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("k.conf");
    std::fs::write(
        &p,
        "vrrp_instance VM {\n  interface eth0\n  virtual_router_id 7\n  use_vmac vr7\n  vmac_xmit_base\n  virtual_ipaddress {\n    192.0.2.7/24\n    2001:db8::7/64\n  }\n}\n\
         vrrp_instance VD {\n  interface eth0\n  virtual_router_id 8\n  use_vmac\n  virtual_ipaddress {\n    192.0.2.8/24\n  }\n}\n",
    )
    .unwrap();
    let imported = import_file(&p).unwrap();
    let cfg =
        load_str(&imported.toml, "imported").unwrap_or_else(|e| panic!("{e}\n{}", imported.toml));
    let vmacs: Vec<(&str, Option<&str>)> = cfg
        .instances
        .iter()
        .map(|i| (i.name.as_str(), i.vmac.as_deref()))
        .collect();
    assert_eq!(
        vmacs,
        [("VM", Some("vr7")), ("VM_v6", None), ("VD", Some("vrrp.8"))]
    );
    let notes: Vec<&str> = imported.notes.iter().map(|n| n.message.as_str()).collect();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("use_vmac dropped from VM_v6")),
        "{notes:#?}"
    );
    // vmac_xmit_base is what vrrpd does anyway: no note.
    assert!(
        !notes.iter().any(|n| n.contains("vmac_xmit_base")),
        "{notes:#?}"
    );
}

#[test]
fn an_address_dev_becomes_its_interface() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("k.conf");
    std::fs::write(
        &p,
        "vrrp_instance VI {\n  interface eth0\n  virtual_router_id 9\n  virtual_ipaddress {\n    192.0.2.9/24 dev eth0\n    198.51.100.9/24 dev eth1 label eth1:vip\n  }\n}\n",
    )
    .unwrap();
    let imported = import_file(&p).unwrap();
    let cfg =
        load_str(&imported.toml, "imported").unwrap_or_else(|e| panic!("{e}\n{}", imported.toml));
    let vips: Vec<(String, Option<&str>, Option<&str>)> = cfg.instances[0]
        .vips
        .iter()
        .map(|v| {
            (
                v.addr.to_string(),
                v.interface.as_deref(),
                v.label.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        vips,
        [
            ("192.0.2.9".to_owned(), None, None),
            ("198.51.100.9".to_owned(), Some("eth1"), Some("eth1:vip"))
        ]
    );
    assert!(imported.notes.is_empty(), "{:#?}", imported.notes);
}

#[test]
fn virtual_routes_carry_over_or_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("k.conf");
    std::fs::write(
        &p,
        "vrrp_instance VI {\n  interface eth0\n  virtual_router_id 9\n  virtual_ipaddress {\n    192.0.2.9/24\n  }\n  virtual_routes {\n    198.51.100.0/24 via 192.0.2.254 dev eth1 metric 5\n    to 0.0.0.0/0 gw 192.0.2.1 table 100\n    blackhole 203.0.113.1/32\n  }\n}\n",
    )
    .unwrap();
    let imported = import_file(&p).unwrap();
    let cfg =
        load_str(&imported.toml, "imported").unwrap_or_else(|e| panic!("{e}\n{}", imported.toml));
    let routes: Vec<String> = cfg.instances[0]
        .virtual_routes
        .iter()
        .map(|r| {
            format!(
                "{}/{} {:?} {:?} {:?} {:?}",
                r.to, r.prefix_len, r.via, r.interface, r.metric, r.table
            )
        })
        .collect();
    assert_eq!(
        routes,
        [
            "198.51.100.0/24 Some(192.0.2.254) Some(\"eth1\") Some(5) None",
            "0.0.0.0/0 Some(192.0.2.1) None None Some(100)"
        ]
    );
    assert!(
        imported
            .notes
            .iter()
            .any(|n| n.line == 10 && n.message.contains("blackhole 203.0.113.1/32")),
        "{:#?}",
        imported.notes
    );
}

#[test]
fn e_mail_settings_convert_with_keepalived_s_defaults_and_precedence() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("k.conf");
    std::fs::write(
        &p,
        "global_defs {\n  router_id lb1\n  notification_email {\n    ops@example.com\n    noc@example.com\n  }\n  notification_email_from vrrpd@lb1.example.com\n  smtp_server 2001:db8::25 2525\n  smtp_helo_name lb1.example.com\n  smtp_connect_timeout 12\n  smtp_alert_vrrp\n  smtp_alert off\n  no_email_faults\n}\n\
         vrrp_instance A {\n  interface eth0\n  virtual_router_id 7\n  smtp_alert off\n  virtual_ipaddress {\n    192.0.2.7/24\n  }\n}\n\
         vrrp_instance B {\n  interface eth0\n  virtual_router_id 8\n  virtual_ipaddress {\n    192.0.2.8/24\n  }\n}\n\
         vrrp_sync_group G {\n  group {\n    A\n    B\n  }\n  smtp_alert yes\n}\n",
    )
    .unwrap();
    let imported = import_file(&p).unwrap();
    let cfg =
        load_str(&imported.toml, "imported").unwrap_or_else(|e| panic!("{e}\n{}", imported.toml));
    let m = &cfg.global.mail;
    assert_eq!(m.router_id.as_deref(), Some("lb1"));
    assert_eq!(m.to, ["ops@example.com", "noc@example.com"]);
    assert_eq!(m.from.as_deref(), Some("vrrpd@lb1.example.com"));
    let server = m.server.as_ref().unwrap();
    assert_eq!((server.host.as_str(), server.port), ("2001:db8::25", 2525));
    assert_eq!(m.helo_name.as_deref(), Some("lb1.example.com"));
    assert_eq!(m.connect_timeout, std::time::Duration::from_secs(12));
    // smtp_alert_vrrp wins over smtp_alert, wherever it stands.
    assert!(m.alert_default && m.no_email_faults);
    assert_eq!(cfg.instances[0].hooks.smtp_alert, Some(false));
    assert_eq!(cfg.instances[1].hooks.smtp_alert, None);
    assert_eq!(cfg.sync_groups[0].hooks.smtp_alert, Some(true));
    assert!(!imported.changes_behaviour(), "{:#?}", imported.notes);
}
