//! keepalived keywords that vrrpd implements natively (issue 16, part 3):
//! each is converted to its vrrpd key with keepalived's meaning, the
//! result loads, and the import reports no behaviour change for it.
#![allow(clippy::unwrap_used)]

use std::net::IpAddr;
use std::time::Duration;

use vrrpd::config::{CheckKind, Config, Options, ParamMatch, validate_text};
use vrrpd::import::{Impact, Imported, import_file};

fn import(text: &str) -> Imported {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("keepalived.conf");
    std::fs::write(&p, text).unwrap();
    import_file(&p).unwrap()
}

fn load(i: &Imported) -> Config {
    validate_text(&i.toml, "imported", Options::OFFLINE)
        .unwrap_or_else(|e| panic!("{e}\n{}", i.toml))
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

const FILE: &str = r#"
global_defs {
  vrrp_garp_master_delay 2
  vrrp_garp_master_repeat 3
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 150
  mcast_src_ip 192.0.2.2
  dont_track_primary
  garp_lower_prio_repeat 1
  virtual_ipaddress {
    192.0.2.10/24
  }
  virtual_ipaddress_excluded {
    198.51.100.1/24 dev eth0
    2001:db8::1/64
  }
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 52
  garp_master_repeat 1
  garp_lower_prio_delay 0
  unicast_src_ip 192.0.2.2
  virtual_ipaddress {
    192.0.2.11
  }
}
"#;

#[test]
fn native_keywords_convert_with_keepalived_meaning() {
    let i = import(FILE);
    assert!(
        !i.notes.iter().any(|n| n.impact == Impact::Changes),
        "{:#?}",
        i.notes
    );
    let cfg = load(&i);
    let (a, b) = (&cfg.instances[0], &cfg.instances[1]);
    assert_eq!(a.multicast_source, Some(ip("192.0.2.2")));
    assert_eq!(a.unicast_source, None);
    assert!(!a.track_own_interface);
    let ex: Vec<(IpAddr, u8)> = a
        .excluded_vips
        .iter()
        .map(|v| (v.addr, v.prefix_len))
        .collect();
    assert_eq!(ex, [(ip("198.51.100.1"), 24), (ip("2001:db8::1"), 64)]);
    assert_eq!(a.vips.len(), 1);
    assert_eq!(a.garp.lower_prio_repeat, 1);
    // keepalived: the lower-priority delay defaults to the global
    // vrrp_garp_master_delay.
    assert_eq!(a.garp.lower_prio_delay, Duration::from_secs(2));
    assert_eq!(a.garp.master_repeat, 3);
    // keepalived keeps one source address: without peers it is the
    // multicast source.
    assert_eq!(b.multicast_source, Some(ip("192.0.2.2")));
    assert_eq!(b.garp.master_repeat, 1);
    // ... and the lower-priority repeat follows the global master repeat,
    // not the instance's own.
    assert_eq!(b.garp.lower_prio_repeat, 3);
    assert_eq!(b.garp.lower_prio_delay, Duration::ZERO);
    assert!(b.track_own_interface);
}

#[test]
fn a_mixed_instance_gives_its_excluded_addresses_to_one_twin() {
    let i = import(
        "vrrp_instance M {\n  interface eth0\n  virtual_router_id 9\n  virtual_ipaddress {\n    192.0.2.9\n    2001:db8::9\n  }\n  virtual_ipaddress_excluded {\n    198.51.100.9\n  }\n}\n",
    );
    let cfg = load(&i);
    assert_eq!(cfg.instances.len(), 2);
    assert_eq!(cfg.instances[0].excluded_vips.len(), 1);
    assert!(cfg.instances[1].excluded_vips.is_empty());
}

#[test]
fn track_process_becomes_a_process_check_with_keepalived_defaults() {
    let i = import(
        r#"
vrrp_track_process haproxy {
  process /usr/sbin/haproxy -f /etc/haproxy/
  param_match initial
  quorum 1
  quorum_max 2
  weight -50 reverse
  delay 2
}
vrrp_track_process bare {
  process nginx
}
vrrp_track_process noargs {
  process /usr/bin/foo
  param_match
  fork_delay 0.5
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  virtual_ipaddress {
    192.0.2.10
  }
  track_process {
    haproxy
    bare weight 10
    noargs
  }
}
"#,
    );
    assert!(
        !i.notes.iter().any(|n| n.impact == Impact::Changes),
        "{:#?}",
        i.notes
    );
    let cfg = load(&i);
    let by = |n: &str| cfg.checks.iter().find(|c| c.name == n).unwrap();
    let h = by("haproxy");
    match &h.kind {
        CheckKind::Process {
            name,
            args,
            param_match,
            full_command,
            quorum,
            quorum_max,
        } => {
            assert_eq!(name, "/usr/sbin/haproxy");
            assert_eq!(
                args.as_deref(),
                Some(&["-f".to_owned(), "/etc/haproxy/".to_owned()][..])
            );
            assert_eq!(*param_match, ParamMatch::Initial);
            assert!(!full_command);
            assert_eq!((*quorum, *quorum_max), (1, Some(2)));
        }
        k => panic!("{k:?}"),
    }
    assert_eq!((h.weight, h.reverse), (-50, true));
    // delay 2 at one scan a second: the state must hold for 3 scans.
    assert_eq!((h.rise, h.fall), (3, 3));
    let b = by("bare");
    assert!(matches!(
        &b.kind,
        CheckKind::Process {
            args: None,
            quorum: 1,
            quorum_max: None,
            ..
        }
    ));
    // keepalived's default weight of a process is 0 (Fault while failed).
    assert_eq!(b.weight, 0);
    let n = by("noargs");
    assert!(matches!(&n.kind, CheckKind::Process { args: Some(a), .. } if a.is_empty()));
    assert_eq!((n.rise, n.fall), (2, 1));
    let tracked: Vec<(&str, Option<i32>)> = cfg.instances[0]
        .track_checks
        .iter()
        .map(|t| (t.name.as_str(), t.weight))
        .collect();
    assert_eq!(
        tracked,
        [("haproxy", None), ("bare", Some(10)), ("noargs", None)]
    );
}

#[test]
fn the_notify_fifo_and_start_up_delay_go_to_global() {
    let i = import(
        "global_defs {\n  notify_fifo /run/ka.fifo\n  vrrp_startup_delay 2.5\n}\nvrrp_instance A {\n  interface eth0\n  virtual_router_id 1\n  virtual_ipaddress {\n    192.0.2.1\n  }\n}\n",
    );
    assert!(
        !i.notes.iter().any(|n| n.impact == Impact::Changes),
        "{:#?}",
        i.notes
    );
    let cfg = load(&i);
    assert_eq!(
        cfg.global.notify_fifo.as_deref(),
        Some(std::path::Path::new("/run/ka.fifo"))
    );
    assert_eq!(cfg.global.startup_delay, Duration::from_millis(2500));
}

#[test]
fn strict_mode_is_imported_with_keepalived_resets() {
    let i = import(
        "global_defs {\n  vrrp_strict\n  vrrp_garp_lower_prio_repeat 4\n}\nvrrp_instance A {\n  interface eth0\n  virtual_router_id 1\n  accept\n  preempt_delay 10\n  authentication {\n    auth_type PASS\n    auth_pass secret\n  }\n  virtual_ipaddress {\n    192.0.2.1\n  }\n}\nvrrp_instance B {\n  interface eth0\n  virtual_router_id 2\n  strict_mode off\n  virtual_ipaddress {\n    192.0.2.2\n  }\n}\nvrrp_instance U {\n  interface eth0\n  virtual_router_id 3\n  unicast_peer {\n    192.0.2.9\n  }\n  virtual_ipaddress {\n    192.0.2.3\n  }\n}\n",
    );
    let cfg = validate_text(
        &i.toml,
        "imported",
        Options {
            nft: false,
            ..Options::OFFLINE
        },
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", i.toml));
    let (a, b, u) = (&cfg.instances[0], &cfg.instances[1], &cfg.instances[2]);
    assert!(a.strict && !a.accept);
    assert_eq!(a.auth, vrrp_proto::Auth::None);
    assert_eq!(a.preempt_delay, Duration::ZERO);
    assert_eq!(a.garp.lower_prio_repeat, 0);
    assert!(!b.strict && b.accept);
    assert_eq!(b.garp.lower_prio_repeat, 4);
    // keepalived refuses U; the import keeps it without strict mode and
    // says that behaviour changes.
    assert!(!u.strict);
    assert!(i.changes_behaviour());
    assert!(
        i.notes.iter().any(|n| n.impact == Impact::Changes
            && n.message
                .contains("unicast peers are not supported in strict mode")),
        "{:#?}",
        i.notes
    );
}

#[test]
fn static_addresses_and_routes_go_to_global() {
    let i = import(
        "global_defs {\n  default_interface eth0\n}\nstatic_ipaddress {\n  192.0.2.200/24 dev eth0 label eth0:st\n  198.51.100.9/32\n}\nstatic_routes {\n  203.0.113.0/24 via 192.0.2.1\n}\nvrrp_instance A {\n  interface eth0\n  virtual_router_id 1\n  virtual_ipaddress {\n    192.0.2.1\n  }\n}\n",
    );
    assert!(
        !i.notes.iter().any(|n| n.impact == Impact::Changes),
        "{:#?}",
        i.notes
    );
    let cfg = load(&i);
    let a: Vec<(IpAddr, u8, Option<&str>, Option<&str>)> = cfg
        .global
        .static_addresses
        .iter()
        .map(|v| {
            (
                v.addr,
                v.prefix_len,
                v.interface.as_deref(),
                v.label.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        a,
        [
            (ip("192.0.2.200"), 24, Some("eth0"), Some("eth0:st")),
            (ip("198.51.100.9"), 32, Some("eth0"), None)
        ]
    );
    assert_eq!(cfg.global.static_routes.len(), 1);
    assert_eq!(cfg.global.static_routes[0].via, Some(ip("192.0.2.1")));
}

#[test]
fn a_duplicate_track_entry_is_ignored_as_keepalived_does() {
    let i = import(
        "vrrp_instance A {\n  interface eth0\n  virtual_router_id 1\n  track_interface {\n    eth0 weight 2\n    eth0 weight -2\n  }\n  virtual_ipaddress {\n    192.0.2.1\n  }\n}\n",
    );
    let cfg = load(&i);
    let t: Vec<(&str, i32)> = cfg.instances[0]
        .track_interfaces
        .iter()
        .map(|t| (t.name.as_str(), t.weight))
        .collect();
    assert_eq!(t, [("eth0", 2)]);
    assert!(i.notes.iter().any(|n| n.message.contains("tracked twice")));
}

#[test]
fn rules_are_imported_with_keepalived_preferences() {
    let i = import(
        "static_rules {\n  from 192.0.2.0/24 table 1\n  to 198.51.100.0/24 iif eth0 fwmark 3 pref 50 lookup 5\n  from 192.0.2./24 table 1\n  from 192.0.2.0/24 goto 7\n}\nvrrp_instance A {\n  interface eth0\n  virtual_router_id 1\n  virtual_ipaddress {\n    192.0.2.1\n  }\n  virtual_rules {\n    to 203.0.113.0/24 table 2\n  }\n}\n",
    );
    let cfg = load(&i);
    let s = &cfg.global.static_rules;
    assert_eq!(s.len(), 2, "{s:?}");
    assert_eq!((s[0].priority, s[0].table), (Some(16384), 1));
    assert_eq!(s[0].from, Some((ip("192.0.2.0"), 24)));
    assert_eq!(
        (s[1].priority, s[1].table, s[1].fwmark, s[1].iif.as_deref()),
        (Some(50), 5, Some(3), Some("eth0"))
    );
    let v = &cfg.instances[0].virtual_rules;
    assert_eq!((v[0].priority, v[0].table), (Some(16383), 2));
    // The bad address is skipped as keepalived skips it; `goto` is not
    // carried and says so.
    assert!(
        i.notes
            .iter()
            .any(|n| n.impact == Impact::NoEffect && n.message.contains("192.0.2./24"))
    );
    assert!(
        i.notes
            .iter()
            .any(|n| n.impact == Impact::Changes && n.message.contains("`goto`"))
    );
}

#[test]
fn refresh_repeat_and_lower_prio_no_advert_are_imported() {
    let i = import(
        "global_defs {\n  vrrp_garp_master_refresh_repeat 3\n  vrrp_lower_prio_no_advert\n}\nvrrp_instance A {\n  interface eth0\n  virtual_router_id 1\n  garp_master_refresh 60\n  virtual_ipaddress {\n    192.0.2.1\n  }\n}\nvrrp_instance B {\n  interface eth0\n  virtual_router_id 2\n  lower_prio_no_advert false\n  garp_master_refresh_repeat 1\n  virtual_ipaddress {\n    192.0.2.2\n  }\n}\n",
    );
    let cfg = load(&i);
    let (a, b) = (&cfg.instances[0].garp, &cfg.instances[1].garp);
    assert_eq!((a.master_refresh_repeat, a.lower_prio_no_advert), (3, true));
    assert_eq!(
        (b.master_refresh_repeat, b.lower_prio_no_advert),
        (1, false)
    );
}

/// keepalived's FIFO options carry over where the file has a FIFO, and are
/// dropped with a "no effect" note where it has none (keepalived writes
/// their lines nowhere then).
#[test]
fn fifo_options_carry_over_with_a_fifo_and_are_dropped_without() {
    let body = |globals: &str| {
        format!(
            "global_defs {{\n{globals}  vrrp_notify_priority_changes\n  fifo_write_vrrp_states_on_reload\n}}\n\
             vrrp_instance A {{\n  interface eth0\n  virtual_router_id 1\n  notify_priority_changes off\n  virtual_ipaddress {{\n    192.0.2.1\n  }}\n}}\n\
             vrrp_instance B {{\n  interface eth0\n  virtual_router_id 2\n  virtual_ipaddress {{\n    192.0.2.2\n  }}\n}}\n\
             vrrp_instance C {{\n  interface eth0\n  virtual_router_id 3\n  virtual_ipaddress {{\n    192.0.2.3\n  }}\n}}\n\
             vrrp_sync_group G {{\n  group {{\n    B\n    C\n  }}\n  notify_priority_changes true\n}}\n"
        )
    };
    // The FIFO after the options, in the same block: still a FIFO file.
    let with = import(&body("").replace(
        "  fifo_write_vrrp_states_on_reload\n",
        "  fifo_write_vrrp_states_on_reload\n  vrrp_notify_fifo /run/ka.fifo\n",
    ));
    assert!(
        !with
            .notes
            .iter()
            .any(|n| n.message.contains("priority_changes")
                || n.message.contains("states_on_reload")),
        "{:#?}",
        with.notes
    );
    let cfg = load(&with);
    assert!(cfg.global.notify_priority_changes && cfg.global.fifo_write_states_on_reload);
    assert_eq!(cfg.instances[0].hooks.priority_changes, Some(false));
    assert_eq!(cfg.instances[1].hooks.priority_changes, None);
    assert_eq!(cfg.sync_groups[0].hooks.priority_changes, Some(true));

    let without = import(&body(""));
    let cfg = load(&without);
    assert!(!cfg.global.notify_priority_changes && !cfg.global.fifo_write_states_on_reload);
    assert_eq!(cfg.instances[0].hooks.priority_changes, None);
    assert_eq!(cfg.sync_groups[0].hooks.priority_changes, None);
    let dropped: Vec<_> = without
        .notes
        .iter()
        .filter(|n| n.message.contains("no notify FIFO"))
        .collect();
    assert_eq!(dropped.len(), 4, "{:#?}", without.notes);
    assert!(dropped.iter().all(|n| n.impact == Impact::NoEffect));
}

/// `promote_secondaries` and `notify_master_rx_lower_pri` carry over.
#[test]
fn promote_secondaries_and_the_split_brain_hook_carry_over() {
    let i = import(
        "vrrp_instance A {\n  interface eth0\n  virtual_router_id 1\n  promote_secondaries\n\
         notify_master_rx_lower_pri /bin/true\n  virtual_ipaddress {\n    192.0.2.1\n  }\n}\n",
    );
    assert!(
        !i.notes.iter().any(|n| n.impact == Impact::Changes),
        "{:#?}",
        i.notes
    );
    let cfg = load(&i);
    assert!(cfg.instances[0].promote_secondaries);
    assert_eq!(
        cfg.instances[0].hooks.master_rx_lower_pri,
        Some(vec!["/bin/true".to_owned()])
    );
}

/// keepalived's `vrrp_down_timer_adverts` (global default) and
/// `down_timer_adverts` (per instance) carry over to the state machine;
/// out of range is refused.
#[test]
fn down_timer_adverts_carry_over() {
    let i = import(
        "global_defs {\n  vrrp_down_timer_adverts 5\n}\n\
         vrrp_instance A {\n  interface eth0\n  virtual_router_id 1\n  virtual_ipaddress {\n    192.0.2.1\n  }\n}\n\
         vrrp_instance B {\n  interface eth0\n  virtual_router_id 2\n  down_timer_adverts 2\n  virtual_ipaddress {\n    192.0.2.2\n  }\n}\n",
    );
    assert!(
        !i.notes.iter().any(|n| n.impact == Impact::Changes),
        "{:#?}",
        i.notes
    );
    let cfg = load(&i);
    let fsm = |n: usize| {
        vrrpd::runtime::lower::fsm_config(&cfg.instances[n])
            .primary_addr(std::net::Ipv4Addr::new(192, 0, 2, 9))
            .build()
            .unwrap()
            .down_timer_adverts()
    };
    assert_eq!((fsm(0), fsm(1)), (5, 2));
    let bad = i
        .toml
        .replace("down_timer_adverts = 2", "down_timer_adverts = 101");
    let err = validate_text(&bad, "t", Options::OFFLINE).unwrap_err();
    assert!(
        err.to_string()
            .contains("down_timer_adverts must be between 1 and 100"),
        "{err}"
    );
}

/// `track_src_ip` follows `mcast_src_ip` / `unicast_src_ip`; without one
/// it has nothing to follow and is dropped with a note.
#[test]
fn track_src_ip_carries_over_with_a_source() {
    let inst = |extra: &str| {
        format!(
            "vrrp_instance A {{\n  interface eth0\n  virtual_router_id 1\n  track_src_ip\n{extra}  virtual_ipaddress {{\n    192.0.2.1\n  }}\n}}\n"
        )
    };
    let with = import(&inst("  mcast_src_ip 192.0.2.9\n"));
    assert!(load(&with).instances[0].track_source);
    let without = import(&inst(""));
    assert!(!load(&without).instances[0].track_source);
    let notes: Vec<_> = without
        .notes
        .iter()
        .filter(|n| n.message.contains("track_src_ip"))
        .collect();
    assert_eq!(notes.len(), 1, "{notes:#?}");
    assert_eq!(notes[0].impact, Impact::NoEffect);
}
