//! Lowering the validated configuration to the libraries' types: per
//! instance a [`vrrp_fsm::ConfigBuilder`] (the executor fills in the
//! primary address) and a [`RouterSpec`] (where its packets, addresses and
//! routes go), per check a [`healthcheck::CheckSpec`]. Pure functions,
//! unit-tested.

use healthcheck::{
    CheckSpec, ExecSpec, FileSpec, HttpSpec, IcmpMode, IcmpSpec, InterfaceSpec, ProcessSpec, RunAs,
    TcpSpec,
};
use netif::executor::{RouteSpec, RouterSpec, VipSpec};
use vrrp_fsm::{AnnounceConfig, ConfigBuilder, LowerPrioAnnounce};
use vrrp_proto::{Family, V3Ipv4PseudoHeader, Version};

use crate::config::{Check, CheckKind, Instance, V3Ipv4Checksum};

/// The state machine's configuration of `inst`, all but its primary
/// address (the interface's primary IPv4 address or IPv6 link-local
/// address, or the configured unicast source, chosen by the executor).
pub fn fsm_config(inst: &Instance) -> ConfigBuilder {
    let repeat = u8::try_from(inst.garp.master_repeat.clamp(1, 255)).unwrap_or(u8::MAX);
    let announce = AnnounceConfig {
        repeat,
        second_burst_delay: (!inst.garp.master_delay.is_zero()).then_some(inst.garp.master_delay),
        refresh: inst.garp.master_refresh.filter(|d| !d.is_zero()),
        refresh_repeat: u8::try_from(inst.garp.master_refresh_repeat.clamp(1, 255))
            .unwrap_or(u8::MAX),
    };
    vrrp_fsm::Config::builder(inst.vrid.get(), inst.version)
        .priority(inst.priority.get())
        .interval(inst.advert_interval)
        .virtual_addrs(inst.vips.iter().map(|v| v.addr))
        .preempt(inst.preempt)
        .preempt_delay((!inst.preempt_delay.is_zero()).then_some(inst.preempt_delay))
        .accept_mode(inst.accept)
        .auth(inst.auth)
        .announce(announce)
        .excluded_addrs(inst.excluded_vips.iter().map(|v| v.addr))
        .strict(inst.strict)
        .lower_prio_no_advert(inst.garp.lower_prio_no_advert)
        // For the FIFO's MASTER_RX_LOWER_PRI and notify_master_rx_lower_pri.
        .report_lower_priority(true)
        .down_timer_adverts(inst.down_timer_adverts)
        // keepalived: strict mode clears higher_prio_send_advert.
        .higher_prio_send_advert(!inst.strict)
        .lower_prio_announce(Some(LowerPrioAnnounce {
            repeat: u8::try_from(inst.garp.lower_prio_repeat).unwrap_or(u8::MAX),
            delay: (!inst.garp.lower_prio_delay.is_zero()).then_some(inst.garp.lower_prio_delay),
        }))
}

/// Where `inst`'s packets, addresses and routes go. Excluded addresses
/// are installed as the virtual ones are (the state machine says when).
pub fn router_spec(inst: &Instance) -> RouterSpec {
    RouterSpec {
        interface: inst.interface.clone(),
        source: inst.unicast_source.or(inst.multicast_source),
        unicast_peers: inst.unicast_peers.clone(),
        v3_ipv4_checksum: pseudo_header(inst),
        vips: inst
            .vips
            .iter()
            .chain(&inst.excluded_vips)
            .map(|v| VipSpec {
                addr: v.addr,
                prefix_len: v.prefix_len,
                label: v.label.clone(),
                interface: v.interface.clone(),
            })
            .collect(),
        vmac: inst.vmac.clone(),
        routes: inst
            .virtual_routes
            .iter()
            .map(|r| RouteSpec {
                dst: r.to,
                prefix_len: r.prefix_len,
                gateway: r.via,
                interface: r.interface.clone(),
                metric: r.metric,
                table: r.table,
            })
            .collect(),
        rules: inst.virtual_rules.clone(),
        track_link: inst.track_own_interface,
        promote_secondaries: inst.promote_secondaries,
        track_source: inst.track_source,
    }
}

/// The address family of an instance.
pub fn family(inst: &Instance) -> Family {
    inst.family
}

/// The VRRPv3-over-IPv4 checksum form this instance emits.
pub fn pseudo_header(inst: &Instance) -> V3Ipv4PseudoHeader {
    match inst.v3_ipv4_checksum {
        V3Ipv4Checksum::WithPseudoHeader => V3Ipv4PseudoHeader::Include,
        V3Ipv4Checksum::WithoutPseudoHeader => V3Ipv4PseudoHeader::Exclude,
    }
}

/// Builds the health-check specification of `check`.
pub fn check_spec(check: &Check) -> CheckSpec {
    let kind = match &check.kind {
        CheckKind::Exec {
            argv,
            shell,
            user,
            env,
        } => {
            let mut spec = if *shell {
                ExecSpec::shell(argv.join(" "))
            } else {
                ExecSpec::new(argv.iter().map(String::as_str))
            };
            for (k, v) in env {
                spec = spec.env(k.as_str(), v.as_str());
            }
            if let Some(u) = user {
                let (user, group) = match u.split_once(':') {
                    Some((u, g)) => (u.to_owned(), Some(g.to_owned())),
                    None => (u.clone(), None),
                };
                spec = spec.user(RunAs::Name { user, group });
            }
            healthcheck::CheckKind::Exec(spec)
        }
        CheckKind::Tcp { target } => healthcheck::CheckKind::Tcp(TcpSpec { addr: *target }),
        CheckKind::Http {
            target,
            host,
            path,
            expect_status,
            expect_body,
        } => {
            let mut spec = HttpSpec::new(*target, path.clone());
            spec.host = host.clone();
            spec.expect_status = expect_status.clone();
            spec.body_contains = expect_body.as_ref().map(|b| b.as_bytes().to_vec());
            healthcheck::CheckKind::Http(spec)
        }
        CheckKind::Icmp { target } => healthcheck::CheckKind::Icmp(IcmpSpec {
            addr: *target,
            mode: IcmpMode::default(),
        }),
        CheckKind::Interface { name } => {
            healthcheck::CheckKind::Interface(InterfaceSpec::new(name.clone()))
        }
        CheckKind::File { path } => healthcheck::CheckKind::File(FileSpec { path: path.clone() }),
        CheckKind::Process {
            name,
            args,
            param_match,
            full_command,
            quorum,
            quorum_max,
        } => healthcheck::CheckKind::Process(ProcessSpec {
            args: args.clone(),
            param_match: *param_match,
            full_command: *full_command,
            quorum: *quorum,
            quorum_max: *quorum_max,
            ..ProcessSpec::new(name.clone())
        }),
    };
    CheckSpec::new(check.name.clone(), kind)
        .interval(check.interval)
        .timeout(check.timeout)
        .rise(check.rise)
        .fall(check.fall)
        .weight(check.weight)
        .reverse(check.reverse)
        .init_fail(check.init_fail)
}

/// The family word used in status output.
pub fn family_word(f: crate::config::Family) -> &'static str {
    match f {
        crate::config::Family::V4 => "ipv4",
        crate::config::Family::V6 => "ipv6",
    }
}

/// The version number used in status output.
pub fn version_number(v: Version) -> u8 {
    match v {
        Version::V2 => 2,
        _ => 3,
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;
    use std::time::Duration;

    use super::*;
    use crate::config::load_str;

    const CFG: &str = r#"
[[check]]
name = "web"
type = "http"
address = "127.0.0.1"
port = 8080
path = "/health"
expect_status = [200, 204]
interval = "2s"
weight = -30

[[check]]
name = "script"
type = "exec"
command = "/bin/true --flag"
user = "nobody:nogroup"

[[instance]]
name = "VI_1"
interface = "eth0"
vrid = 51
version = 3
priority = 150
advert_interval = "500ms"
virtual_addresses = ["192.0.2.10/24", "192.0.2.11"]
preempt_delay = "3s"
garp_master_repeat = 2
garp_master_delay = "0s"
v3_ipv4_checksum = "without-pseudo-header"
"#;

    #[test]
    fn instance_maps_to_fsm_config() {
        let cfg = load_str(CFG, "t.toml").unwrap();
        let inst = &cfg.instances[0];
        let primary: IpAddr = "192.0.2.1".parse().unwrap();
        let f = fsm_config(inst).primary_addr(primary).build().unwrap();
        assert_eq!(f.vrid().get(), 51);
        assert_eq!(f.version(), Version::V3);
        assert_eq!(f.priority().get(), 150);
        assert_eq!(f.interval().centis(), 50);
        assert_eq!(f.primary_addr(), primary);
        assert_eq!(f.preempt_delay(), Some(Duration::from_secs(3)));
        assert!(f.preempt());
        assert_eq!(f.addr_count(), 2);
        let a = f.announce();
        assert_eq!(a.repeat, 2);
        assert_eq!(a.second_burst_delay, None);
        assert_eq!(pseudo_header(inst), V3Ipv4PseudoHeader::Exclude);
        // A primary of the wrong family is refused.
        let ll: IpAddr = "fe80::1".parse().unwrap();
        assert!(fsm_config(inst).primary_addr(ll).build().is_err());
        // Addresses keep their prefix lengths for the executor.
        let spec = router_spec(inst);
        assert_eq!(spec.interface, "eth0");
        assert_eq!(spec.vips[0].prefix_len, 24);
        assert_eq!(spec.vips[1].prefix_len, 32);
        assert_eq!(spec.v3_ipv4_checksum, V3Ipv4PseudoHeader::Exclude);
        assert_eq!(family(inst), Family::V4);
    }

    #[test]
    fn checks_map_to_specs() {
        let cfg = load_str(CFG, "t.toml").unwrap();
        let web = check_spec(&cfg.checks[0]);
        assert_eq!(web.name, "web");
        assert_eq!(web.interval, Duration::from_secs(2));
        assert_eq!(web.weight, -30);
        match web.kind {
            healthcheck::CheckKind::Http(h) => {
                assert_eq!(h.addr, "127.0.0.1:8080".parse().unwrap());
                assert_eq!(h.path, "/health");
                assert_eq!(h.expect_status, vec![200, 204]);
            }
            k => panic!("{k:?}"),
        }
        let script = check_spec(&cfg.checks[1]);
        match script.kind {
            healthcheck::CheckKind::Exec(e) => {
                assert_eq!(e.argv, vec!["/bin/true", "--flag"]);
                assert_eq!(
                    e.user,
                    Some(RunAs::Name {
                        user: "nobody".into(),
                        group: Some("nogroup".into())
                    })
                );
            }
            k => panic!("{k:?}"),
        }
    }

    #[test]
    fn keepalived_extras_are_lowered() {
        let text = r#"
[global]
garp_master_repeat = 3
garp_master_delay = "2s"

[[instance]]
name = "A"
interface = "eth0"
vrid = 1
virtual_addresses = ["192.0.2.10"]
virtual_addresses_excluded = ["198.51.100.1/24", "2001:db8::1/64"]
multicast_source = "192.0.2.2"
track_own_interface = false
garp_lower_prio_repeat = 0

[[instance]]
name = "B"
interface = "eth0"
vrid = 2
virtual_addresses = ["192.0.2.11"]
garp_master_repeat = 1
"#;
        let cfg = load_str(text, "t.toml").unwrap();
        let (a, b) = (&cfg.instances[0], &cfg.instances[1]);
        let primary: IpAddr = "192.0.2.2".parse().unwrap();
        let fa = fsm_config(a).primary_addr(primary).build().unwrap();
        // Excluded addresses: installed, not advertised.
        assert_eq!(fa.addr_count(), 1);
        assert_eq!(
            fa.excluded_addrs(),
            [
                "198.51.100.1".parse::<IpAddr>().unwrap(),
                "2001:db8::1".parse().unwrap()
            ]
        );
        assert_eq!(fa.lower_prio_announce().repeat, 0);
        // Global defaults reach the instances that do not set their own.
        assert_eq!(fa.announce().repeat, 3);
        assert_eq!(
            fa.announce().second_burst_delay,
            Some(Duration::from_secs(2))
        );
        let fb = fsm_config(b).primary_addr(primary).build().unwrap();
        assert_eq!(fb.announce().repeat, 1);
        // keepalived: the lower-priority set follows the global master
        // settings, not the instance's.
        assert_eq!(fb.lower_prio_announce().repeat, 3);
        assert_eq!(fb.lower_prio_announce().delay, Some(Duration::from_secs(2)));
        let sa = router_spec(a);
        assert_eq!(sa.source, Some(primary));
        assert!(!sa.track_link);
        assert_eq!(sa.vips.len(), 3);
        assert_eq!(sa.vips[1].prefix_len, 24);
        assert!(router_spec(b).track_link);
        assert_eq!(router_spec(b).source, None);
    }

    #[test]
    fn keepalived_extras_are_checked() {
        let bad = r#"
[[instance]]
name = "A"
interface = "eth0"
vrid = 1
virtual_addresses = ["192.0.2.10"]
virtual_addresses_excluded = ["192.0.2.10"]
multicast_source = "2001:db8::1"
unicast_peers = ["192.0.2.3"]
garp_lower_prio_repeat = 101
"#;
        let e = load_str(bad, "t.toml").unwrap_err().to_string();
        assert!(e.contains("192.0.2.10 is listed twice"), "{e}");
        assert!(
            e.contains("multicast_source 2001:db8::1 is not of the instance's address family"),
            "{e}"
        );
        assert!(
            e.contains("garp_lower_prio_repeat must be between 0"),
            "{e}"
        );
    }

    #[test]
    fn process_checks_map_to_process_specs() {
        let text = r#"
[[check]]
name = "p"
type = "process"
process = "/usr/sbin/haproxy"
args = ["-f"]
param_match = "partial"
quorum = 2
quorum_max = 3
weight = -20
"#;
        let cfg = load_str(text, "t.toml").unwrap();
        match check_spec(&cfg.checks[0]).kind {
            healthcheck::CheckKind::Process(p) => {
                assert_eq!(p.name, "/usr/sbin/haproxy");
                assert_eq!(p.args, Some(vec!["-f".to_owned()]));
                assert_eq!(p.param_match, healthcheck::ParamMatch::Partial);
                assert_eq!((p.quorum, p.quorum_max), (2, Some(3)));
            }
            k => panic!("{k:?}"),
        }
        let bad = "[[check]]\nname = \"p\"\ntype = \"process\"\nprocess = \"x\"\nquorum = 3\nquorum_max = 1\nparam_match = \"fuzzy\"\n";
        let e = load_str(bad, "t.toml").unwrap_err().to_string();
        assert!(
            e.contains("quorum_max (1) must be at least quorum (3)"),
            "{e}"
        );
        assert!(e.contains("param_match must be"), "{e}");
    }
}
