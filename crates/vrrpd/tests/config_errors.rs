//! Every configuration rule, hit by a file that breaks it: the error names the
//! line, the column and the reason; valid files load to the expected values.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use vrrpd::config::{CheckKind, Family, V3Ipv4Checksum, load_str};

/// Asserts that `text` is rejected with exactly one diagnostic at
/// `line:column` whose message contains `needle`.
#[track_caller]
fn rejects(text: &str, line: usize, column: usize, needle: &str) {
    let err = load_str(text, "t.toml").expect_err("config should be rejected");
    let shown = err.to_string();
    assert_eq!(
        err.diagnostics.len(),
        1,
        "expected one problem, got:\n{shown}"
    );
    let d = &err.diagnostics[0];
    assert_eq!(
        (d.line, d.column),
        (line, column),
        "wrong position:\n{shown}"
    );
    assert!(d.message.contains(needle), "{needle:?} not in:\n{shown}");
    assert!(
        shown.starts_with(&format!("t.toml:{line}:{column}: ")),
        "{shown}"
    );
}

const BASE: &str = "[[instance]]\nname = \"VI_1\"\ninterface = \"eth0\"\nvrid = 51\n";

fn inst(extra: &str) -> String {
    format!("{BASE}{extra}")
}

#[test]
fn unknown_key_is_an_error_with_its_position() {
    rejects(
        &inst("virtual_addresses = [\"192.0.2.1\"]\npriorty = 5\n"),
        6,
        1,
        "unknown field `priorty`",
    );
    rejects("[globl]\n", 1, 2, "unknown field `globl`");
    rejects(
        &inst("virtual_addresses = [{ address = \"192.0.2.1\", lable = \"x\" }]\n"),
        5,
        47,
        "unknown field `lable`",
    );
}

#[test]
fn invalid_values_are_errors_with_their_position() {
    rejects(
        &inst("virtual_addresses = [\"192.0.2.1\"]\npriority = 0\n"),
        6,
        12,
        "priority 0 is reserved",
    );
    rejects(
        &inst("virtual_addresses = [\"192.0.2.1\"]\npriority = 256\n"),
        6,
        12,
        "",
    );
    rejects(
        &(BASE.replace("vrid = 51", "vrid = 0") + "virtual_addresses = [\"192.0.2.1\"]\n"),
        4,
        8,
        "vrid must be between 1 and 255",
    );
    rejects(
        &inst("virtual_addresses = [\"192.0.2.1\"]\nversion = 4\n"),
        6,
        11,
        "version must be 2",
    );
    rejects(
        &inst("virtual_addresses = [\"192.0.2.999\"]\n"),
        5,
        22,
        "not an IP address",
    );
    rejects(
        &inst("virtual_addresses = [\"192.0.2.1/33\"]\n"),
        5,
        22,
        "prefix length must be 1 to 32",
    );
    rejects(
        &inst("virtual_addresses = [\"224.0.0.18\"]\n"),
        5,
        22,
        "cannot be a virtual address",
    );
    rejects(
        &inst("virtual_addresses = []\n"),
        5,
        21,
        "at least one virtual address",
    );
    rejects(
        &inst("virtual_addresses = [\"192.0.2.1\"]\nadvert_interval = \"fast\"\n"),
        6,
        19,
        "duration",
    );
}

#[test]
fn interval_must_fit_the_version() {
    // RFC 3768 §5.3.7: whole seconds.
    rejects(
        &inst("virtual_addresses = [\"192.0.2.1\"]\nadvert_interval = \"100ms\"\n"),
        6,
        19,
        "whole number of seconds",
    );
    rejects(
        &inst("virtual_addresses = [\"192.0.2.1\"]\nadvert_interval = 256\n"),
        6,
        19,
        "whole number of seconds",
    );
    // RFC 9568 §5.2.7: 12-bit centiseconds.
    rejects(
        &inst("version = 3\nvirtual_addresses = [\"192.0.2.1\"]\nadvert_interval = \"41s\"\n"),
        7,
        19,
        "10ms to 40.95s",
    );
    rejects(
        &inst("version = 3\nvirtual_addresses = [\"192.0.2.1\"]\nadvert_interval = \"15ms\"\n"),
        7,
        19,
        "multiple of 10ms",
    );
}

#[test]
fn families_and_versions_must_agree() {
    rejects(
        &inst("virtual_addresses = [\"2001:db8::1\"]\n"),
        5,
        21,
        "VRRPv2 carries IPv4 only",
    );
    rejects(
        &inst("version = 3\nvirtual_addresses = [\"192.0.2.1\", \"2001:db8::1\"]\n"),
        6,
        35,
        "one address family",
    );
    rejects(
        &inst(
            "version = 3\nvirtual_addresses = [\"2001:db8::1\"]\nv3_ipv4_checksum = \"without-pseudo-header\"\n",
        ),
        7,
        20,
        "only applies to VRRPv3 over IPv4",
    );
    rejects(
        &inst("version = 3\nvirtual_addresses = [\"192.0.2.1\"]\nv3_ipv4_checksum = \"maybe\"\n"),
        7,
        20,
        "must be \"with-pseudo-header\"",
    );
    rejects(
        &inst("virtual_addresses = [\"192.0.2.1\"]\nunicast_peers = [\"2001:db8::2\"]\n"),
        6,
        18,
        "not of the instance's address family",
    );
}

#[test]
fn authentication_rules_of_rfc_3768() {
    rejects(
        &inst(
            "version = 3\nvirtual_addresses = [\"192.0.2.1\"]\nauthentication = { type = \"pass\", password = \"x\" }\n",
        ),
        7,
        18,
        "VRRPv2 only",
    );
    rejects(
        &inst(
            "virtual_addresses = [\"192.0.2.1\"]\nauthentication = { type = \"pass\", password = \"123456789\" }\n",
        ),
        6,
        46,
        "1 to 8 bytes",
    );
    rejects(
        &inst("virtual_addresses = [\"192.0.2.1\"]\nauthentication = { type = \"ah\" }\n"),
        6,
        27,
        "not supported",
    );
    rejects(
        &inst("virtual_addresses = [\"192.0.2.1\"]\nauthentication = { type = \"pass\" }\n"),
        6,
        18,
        "needs a password",
    );
}

#[test]
fn preempt_settings_without_effect_are_errors() {
    rejects(
        &inst("virtual_addresses = [\"192.0.2.1\"]\npriority = 255\npreempt = false\n"),
        7,
        11,
        "no effect on the address owner",
    );
    rejects(
        &inst("virtual_addresses = [\"192.0.2.1\"]\npreempt = false\npreempt_delay = \"10s\"\n"),
        7,
        17,
        "no effect with preempt = false",
    );
}

#[test]
fn duplicates_across_instances_are_errors() {
    let two = |second: &str| {
        format!(
            "{BASE}virtual_addresses = [\"192.0.2.1\"]\n[[instance]]\nname = \"VI_2\"\ninterface = \"eth0\"\n{second}"
        )
    };
    rejects(
        &two("vrid = 51\nvirtual_addresses = [\"192.0.2.2\"]\n"),
        9,
        8,
        "VRID 51 on eth0",
    );
    rejects(
        &two("vrid = 52\nvirtual_addresses = [\"192.0.2.1\"]\n"),
        10,
        22,
        "already used by instance \"VI_1\"",
    );
    // The same VRID on another family is another virtual router (RFC 9568 §7.4).
    let ok = two("vrid = 51\nversion = 3\nvirtual_addresses = [\"2001:db8::1\"]\n");
    assert_eq!(load_str(&ok, "t.toml").unwrap().instances.len(), 2);
    let dup_name = format!(
        "{BASE}virtual_addresses = [\"192.0.2.1\"]\n{}",
        inst("vrid = 52\n").replace("vrid = 51\n", "") + "virtual_addresses = [\"192.0.2.2\"]\n"
    );
    rejects(
        &dup_name,
        7,
        8,
        "an instance named \"VI_1\" is already defined",
    );
}

#[test]
fn references_must_exist() {
    rejects(
        &inst("virtual_addresses = [\"192.0.2.1\"]\ntrack_checks = [\"nope\"]\n"),
        6,
        17,
        "no check named \"nope\"",
    );
    let group = format!(
        "{BASE}virtual_addresses = [\"192.0.2.1\"]\n[[sync_group]]\nname = \"G\"\ninstances = [\"VI_1\", \"VI_9\"]\n"
    );
    rejects(&group, 8, 22, "no instance named \"VI_9\"");
    let lonely = format!(
        "{BASE}virtual_addresses = [\"192.0.2.1\"]\n[[sync_group]]\nname = \"G\"\ninstances = [\"VI_1\"]\n"
    );
    rejects(&lonely, 8, 13, "at least two instances");
}

#[test]
fn programs_must_be_executable_absolute_paths() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("not-exec.sh");
    std::fs::write(&script, "#!/bin/sh\nexit 0\n").unwrap();
    let text = inst(&format!(
        "virtual_addresses = [\"192.0.2.1\"]\nnotify_master = \"{}\"\n",
        script.display()
    ));
    rejects(&text, 6, 17, "is not executable");
    rejects(
        &inst("virtual_addresses = [\"192.0.2.1\"]\nnotify = \"echo hi\"\n"),
        6,
        10,
        "must be an absolute path",
    );
    let check = "[[check]]\nname = \"c\"\ntype = \"exec\"\ncommand = [\"/nonexistent/probe\"]\n";
    rejects(check, 4, 11, "No such file");
}

#[test]
fn check_keys_must_belong_to_the_check_type() {
    rejects(
        "[[check]]\nname = \"c\"\ntype = \"tcp\"\naddress = \"127.0.0.1\"\nport = 80\npath = \"/x\"\n",
        6,
        8,
        "path is not a key of a tcp check",
    );
    rejects(
        "[[check]]\nname = \"c\"\ntype = \"tcp\"\naddress = \"127.0.0.1\"\n",
        3,
        8,
        "needs `port`",
    );
    rejects(
        "[[check]]\nname = \"c\"\ntype = \"smtp\"\n",
        3,
        8,
        "unknown check type",
    );
    rejects(
        "[[check]]\nname = \"c\"\ntype = \"icmp\"\naddress = \"127.0.0.1\"\nweight = 300\n",
        5,
        10,
        "between -254 and 254",
    );
    rejects(
        "[[check]]\nname = \"c\"\ntype = \"icmp\"\naddress = \"127.0.0.1\"\nfall = 0\n",
        5,
        8,
        "at least 1",
    );
    rejects(
        "[[check]]\nname = \"c\"\ntype = \"http\"\naddress = \"127.0.0.1\"\nexpect_status = [99]\n",
        5,
        17,
        "status codes",
    );
}

#[test]
fn all_problems_are_reported_not_just_the_first() {
    let text =
        inst("virtual_addresses = [\"192.0.2.1\"]\npriority = 0\ntrack_checks = [\"a\", \"b\"]\n");
    let err = load_str(&text, "t.toml").unwrap_err();
    let lines: Vec<usize> = err.diagnostics.iter().map(|d| d.line).collect();
    assert_eq!(lines, vec![6, 7, 7], "{err}");
}

#[test]
fn a_valid_file_loads_with_keepalived_defaults() {
    let text = r#"
[[check]]
name = "web"
type = "http"
address = "127.0.0.1"
port = 8080
interval = "200ms"
weight = -20

[[instance]]
name = "VI_1"
interface = "eth0"
vrid = 51
virtual_addresses = ["192.0.2.10/24", { address = "192.0.2.11", label = "eth0:vip" }]
track_checks = ["web", { name = "web", weight = 5 }]

[[instance]]
name = "VI_2"
interface = "eth0"
vrid = 52
version = 3
advert_interval = 0.1
virtual_addresses = ["192.0.2.20"]
v3_ipv4_checksum = "without-pseudo-header"
"#;
    let cfg = load_str(text, "t.toml").unwrap();
    let v1 = &cfg.instances[0];
    assert_eq!(v1.version, vrrp_proto::Version::V2);
    assert_eq!(v1.priority, vrrp_proto::Priority::DEFAULT);
    assert_eq!(v1.advert_interval.centis(), 100);
    assert!(v1.preempt);
    assert_eq!(v1.family, Family::V4);
    assert_eq!(v1.vips[0].prefix_len, 24);
    assert_eq!(v1.vips[1].prefix_len, 32);
    assert_eq!(v1.vips[1].label.as_deref(), Some("eth0:vip"));
    assert_eq!(v1.garp.master_repeat, 5);
    assert_eq!(v1.garp.master_delay, Duration::from_secs(5));
    assert_eq!(v1.track_checks[1].weight, Some(5));
    assert_eq!(v1.v3_ipv4_checksum, V3Ipv4Checksum::WithPseudoHeader);
    let v2 = &cfg.instances[1];
    assert_eq!(v2.advert_interval.centis(), 10);
    assert_eq!(v2.v3_ipv4_checksum, V3Ipv4Checksum::WithoutPseudoHeader);
    let CheckKind::Http {
        target,
        path,
        expect_status,
        ..
    } = &cfg.checks[0].kind
    else {
        panic!("not http: {:?}", cfg.checks[0].kind);
    };
    assert_eq!(target.to_string(), "127.0.0.1:8080");
    assert_eq!(path, "/");
    assert_eq!(expect_status, &vec![200]);
    assert_eq!(cfg.checks[0].interval, Duration::from_millis(200));
    assert_eq!(cfg.checks[0].timeout, Duration::from_millis(200));
}

#[test]
fn accept_mode_defaults_to_true_and_false_has_no_effect_on_the_owner() {
    let cfg = load_str(&inst("virtual_addresses = [\"192.0.2.1\"]\n"), "t.toml").unwrap();
    assert!(cfg.instances[0].accept, "Accept_Mode defaults to true");
    rejects(
        &inst("virtual_addresses = [\"192.0.2.1\"]\npriority = 255\naccept = false\n"),
        7,
        10,
        "no effect on the address owner",
    );
}

#[test]
fn virtual_mac_rules() {
    // Default name as keepalived's: vrrp.<VRID>.
    let ok = inst("virtual_addresses = [\"192.0.2.1/24\"]\nuse_vmac = true\n");
    let cfg = load_str(&ok, "t.toml").unwrap();
    assert_eq!(cfg.instances[0].vmac.as_deref(), Some("vrrp.51"));
    let named = inst(
        "virtual_addresses = [{ address = \"192.0.2.1/24\", label = \"vr51:a\" }]\nuse_vmac = true\nvmac_name = \"vr51\"\n",
    );
    let cfg = load_str(&named, "t.toml").unwrap();
    assert_eq!(cfg.instances[0].vmac.as_deref(), Some("vr51"));
    assert_eq!(cfg.instances[0].vips[0].label.as_deref(), Some("vr51:a"));
    let off = inst("virtual_addresses = [\"192.0.2.1\"]\nuse_vmac = false\n");
    assert_eq!(load_str(&off, "t.toml").unwrap().instances[0].vmac, None);

    rejects(
        &inst("version = 3\nvirtual_addresses = [\"2001:db8::1\"]\nuse_vmac = true\n"),
        7,
        12,
        "IPv4 instances only",
    );
    rejects(
        &inst("virtual_addresses = [\"192.0.2.1\"]\nvmac_name = \"vr51\"\n"),
        6,
        13,
        "vmac_name needs use_vmac = true",
    );
    rejects(
        &inst("virtual_addresses = [\"192.0.2.1\"]\nuse_vmac = true\nvmac_name = \"eth0\"\n"),
        7,
        13,
        "must differ from the instance's interface",
    );
    rejects(
        &inst("virtual_addresses = [\"192.0.2.1\"]\nuse_vmac = true\nvmac_name = \"a/b\"\n"),
        7,
        13,
        "not a valid interface name",
    );
    // Labels name the interface the addresses go on: the virtual MAC one.
    rejects(
        &inst(
            "virtual_addresses = [{ address = \"192.0.2.1\", label = \"eth0:a\" }]\nuse_vmac = true\n",
        ),
        5,
        55,
        "must start with the interface name \"vrrp.51\"",
    );
    // One virtual MAC interface per instance, never an instance's interface.
    let two = |first: &str, second: &str| {
        format!(
            "{BASE}virtual_addresses = [\"192.0.2.1\"]\n{first}[[instance]]\nname = \"VI_2\"\ninterface = \"eth1\"\nvrid = 52\nvirtual_addresses = [\"192.0.2.2\"]\n{second}"
        )
    };
    rejects(
        &two(
            "use_vmac = true\nvmac_name = \"vr\"\n",
            "use_vmac = true\nvmac_name = \"vr\"\n",
        ),
        13,
        12,
        "virtual MAC interface vr is already used by instance \"VI_1\"",
    );
    rejects(
        &two("", "use_vmac = true\nvmac_name = \"eth0\"\n"),
        11,
        12,
        "is the interface of instance \"VI_1\"",
    );
    rejects(
        &two("use_vmac = true\nvmac_name = \"eth1\"\n", ""),
        10,
        13,
        "eth1 is the virtual MAC interface of instance \"VI_1\"",
    );
}

#[test]
fn an_address_can_name_its_own_interface() {
    let ok = inst(
        "virtual_addresses = [\"192.0.2.1/24\", { address = \"198.51.100.1/24\", interface = \"ext0\", label = \"ext0:v\" }, { address = \"192.0.2.2\", interface = \"eth0\" }]\n",
    );
    let cfg = load_str(&ok, "t.toml").unwrap();
    let devs: Vec<Option<&str>> = cfg.instances[0]
        .vips
        .iter()
        .map(|v| v.interface.as_deref())
        .collect();
    // Naming the instance's own interface is the same as naming none.
    assert_eq!(devs, [None, Some("ext0"), None]);
    rejects(
        &inst("virtual_addresses = [{ address = \"192.0.2.1\", interface = \"a b\" }]\n"),
        5,
        59,
        "not a valid interface name",
    );
    // The label follows the address's interface.
    rejects(
        &inst(
            "virtual_addresses = [{ address = \"192.0.2.1\", interface = \"ext0\", label = \"eth0:v\" }]\n",
        ),
        5,
        75,
        "must start with the interface name \"ext0\"",
    );
    rejects(
        &inst(
            "virtual_addresses = [{ address = \"192.0.2.1\", interface = \"ext0\" }]\nuse_vmac = true\n",
        ),
        5,
        59,
        "cannot be combined with use_vmac",
    );
}

#[test]
fn virtual_routes_rules() {
    let ok = inst(
        "virtual_addresses = [\"192.0.2.1/24\"]\nvirtual_routes = [{ to = \"198.51.100.0/24\", via = \"192.0.2.254\", metric = 5 }, { to = \"203.0.113.7\", interface = \"eth1\", table = 100 }]\n",
    );
    let cfg = load_str(&ok, "t.toml").unwrap();
    let r = &cfg.instances[0].virtual_routes;
    assert_eq!(
        (
            r[0].to.to_string(),
            r[0].prefix_len,
            r[0].via.map(|v| v.to_string()),
            r[0].metric
        ),
        (
            "198.51.100.0".into(),
            24,
            Some("192.0.2.254".into()),
            Some(5)
        )
    );
    assert_eq!(
        (r[1].prefix_len, r[1].interface.as_deref(), r[1].table),
        (32, Some("eth1"), Some(100))
    );
    let route = |r: &str| {
        inst(&format!(
            "virtual_addresses = [\"192.0.2.1\"]\nvirtual_routes = [{r}]\n"
        ))
    };
    rejects(
        &route("{ to = \"198.51.100.1/24\" }"),
        6,
        26,
        "host bits set",
    );
    rejects(&route("{ to = \"nowhere\" }"), 6, 26, "is not a network");
    rejects(
        &route("{ to = \"198.51.100.0/33\" }"),
        6,
        26,
        "prefix length must be 0 to 32",
    );
    rejects(
        &route("{ to = \"198.51.100.0/24\", via = \"2001:db8::1\" }"),
        6,
        51,
        "next hop 2001:db8::1 is not of the instance's address family",
    );
    rejects(
        &route("{ to = \"198.51.100.0/24\", table = 0 }"),
        6,
        53,
        "table 0",
    );
    rejects(
        &route("{ to = \"198.51.100.0/24\", gateway = \"192.0.2.9\" }"),
        6,
        45,
        "unknown field `gateway`",
    );
}

#[test]
fn track_source_needs_a_fixed_source() {
    let vips = "virtual_addresses = [\"10.0.0.100/24\"]\n";
    let err = load_str(&inst(&format!("{vips}track_source = true\n")), "t.toml").unwrap_err();
    assert!(
        err.to_string()
            .contains("track_source follows a fixed source address"),
        "{err}"
    );
    let ok = inst(
        "virtual_addresses = [\"10.0.0.100/24\"]\ntrack_source = true\nmulticast_source = \"10.0.0.1\"\n",
    );
    assert!(load_str(&ok, "t.toml").unwrap().instances[0].track_source);
}
