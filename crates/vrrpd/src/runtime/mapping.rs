//! From the validated configuration to the libraries' types: one
//! [`vrrp_fsm::Config`] per instance, one [`healthcheck::CheckSpec`] per
//! check. Pure functions, unit-tested.

use std::net::IpAddr;
use std::time::Duration;

use healthcheck::{
    CheckSpec, ExecSpec, FileSpec, HttpSpec, IcmpMode, IcmpSpec, InterfaceSpec, RunAs, TcpSpec,
};
use vrrp_fsm::AnnounceConfig;
use vrrp_proto::{Priority, V3Ipv4PseudoHeader, Version};

use crate::config::{Check, CheckKind, Instance, V3Ipv4Checksum};

/// Builds the state machine's configuration of `inst`, whose adverts go out
/// from `primary` (the interface's primary IPv4 address or IPv6 link-local
/// address, or the configured unicast source).
pub fn fsm_config(inst: &Instance, primary: IpAddr) -> Result<vrrp_fsm::Config, String> {
    let repeat = u8::try_from(inst.garp.master_repeat.clamp(1, 255)).unwrap_or(u8::MAX);
    let announce = AnnounceConfig {
        repeat,
        second_burst_delay: (!inst.garp.master_delay.is_zero()).then_some(inst.garp.master_delay),
        refresh: inst.garp.master_refresh.filter(|d| !d.is_zero()),
        refresh_repeat: 1,
    };
    vrrp_fsm::Config::builder(inst.vrid.get(), inst.version)
        .priority(inst.priority.get())
        .interval(inst.advert_interval)
        .virtual_addrs(inst.vips.iter().map(|v| v.addr))
        .primary_addr(primary)
        .preempt(inst.preempt)
        .preempt_delay((!inst.preempt_delay.is_zero()).then_some(inst.preempt_delay))
        .accept_mode(inst.accept)
        .auth(inst.auth)
        .announce(announce)
        .build()
        .map_err(|e| format!("instance {:?}: {e}", inst.name))
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

/// How long the stop sequence waits for a new master after this master's
/// priority-0 advert before it shuts the instance down anyway.
///
/// A live backup receiving priority 0 sets its Master_Down_Timer to
/// Skew_Time (RFC 9568 §6.4.2, RFC 3768 §6.4.2), at most the skew of
/// priority 1: `255 * Master_Adver_Interval / 256` (v3) or `255/256 s`
/// (v2). The wait is that plus [`STOP_MARGIN`] for scheduling and the new
/// master's advert to arrive; a master without a backup is so delayed by
/// about one advert interval, not by Master_Down_Interval.
pub fn stop_handover_bound(cfg: &vrrp_fsm::Config) -> Duration {
    let skew = vrrp_fsm::skew_time(cfg.version(), Priority::MIN_BACKUP, cfg.interval());
    Duration::from_millis(u64::from(skew) * 10) + STOP_MARGIN
}

/// Slack added to the worst Skew_Time in [`stop_handover_bound`].
pub const STOP_MARGIN: Duration = Duration::from_millis(250);

#[cfg(test)]
mod tests {
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
        let f = fsm_config(inst, primary).unwrap();
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
        // A primary of the wrong family is refused with the instance's name.
        let e = fsm_config(inst, "fe80::1".parse().unwrap()).unwrap_err();
        assert!(e.contains("VI_1"), "{e}");
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
    fn stop_waits_for_the_slowest_backup_skew_plus_a_margin() {
        let cfg = load_str(CFG, "t.toml").unwrap();
        let f = fsm_config(&cfg.instances[0], "192.0.2.1".parse().unwrap()).unwrap();
        // v3, 50 cs: a priority-1 backup waits 255 * 50 / 256 = 49 cs.
        assert_eq!(stop_handover_bound(&f), Duration::from_millis(490 + 250));
        let v2 = load_str(
            "[[instance]]\nname = \"a\"\ninterface = \"eth0\"\nvrid = 1\nadvert_interval = \"3s\"\nvirtual_addresses = [\"192.0.2.9\"]\n",
            "t.toml",
        )
        .unwrap();
        let f = fsm_config(&v2.instances[0], "192.0.2.1".parse().unwrap()).unwrap();
        // v2: Skew_Time is (256 - 1) / 256 s whatever the interval.
        assert_eq!(stop_handover_bound(&f), Duration::from_millis(990 + 250));
    }
}
