//! `strict = true` (keepalived's `vrrp_strict` / `strict_mode`): what
//! keepalived resets is an error where the file says it, and what it
//! defaults differently is defaulted the same way.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use vrrpd::config::{Options, validate_text};
use vrrpd::runtime::lower::fsm_config;

const BASE: &str = "[[instance]]\nname = \"A\"\ninterface = \"eth0\"\nvrid = 1\nvirtual_addresses = [\"192.0.2.1\"]\n";

fn load(extra: &str, global: &str) -> Result<vrrpd::config::Config, String> {
    let text = format!("[global]\n{global}\n{BASE}{extra}");
    let opts = Options {
        nft: false,
        ..Options::OFFLINE
    };
    validate_text(&text, "t.toml", opts).map_err(|e| e.to_string())
}

#[test]
fn strict_defaults_follow_keepalived() {
    let cfg = load("", "strict = true\ngarp_lower_prio_repeat = 3").unwrap();
    let i = &cfg.instances[0];
    assert!(i.strict);
    // Accept_Mode off, no lower-priority announcements (even over a
    // global default), no higher_prio_send_advert.
    assert!(!i.accept);
    assert_eq!(i.garp.lower_prio_repeat, 0);
    assert_eq!(i.garp.lower_prio_delay, Duration::ZERO);
    let f = fsm_config(i)
        .primary_addr("192.0.2.9".parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap();
    assert!(f.strict());
    assert!(!f.higher_prio_send_advert());
    assert_eq!(f.lower_prio_announce().repeat, 0);
    // An instance may leave the global strict mode, and an owner accepts.
    let cfg = load("strict = false\n", "strict = true").unwrap();
    assert!(!cfg.instances[0].strict && cfg.instances[0].accept);
    let cfg = load("priority = 255\nstrict = true\n", "").unwrap();
    assert!(cfg.instances[0].accept);
    // VRRPv3 may accept explicitly.
    let cfg = load("version = 3\nstrict = true\naccept = true\n", "").unwrap();
    assert!(cfg.instances[0].accept);
}

#[test]
fn what_keepalived_resets_in_strict_mode_is_an_error() {
    let e = load(
        "strict = true\naccept = true\nauthentication = { type = \"pass\", password = \"x\" }\nunicast_peers = [\"192.0.2.7\"]\npreempt_delay = \"5s\"\ngarp_lower_prio_repeat = 2\n",
        "",
    )
    .unwrap_err();
    for needle in [
        "authentication is not allowed with strict = true",
        "unicast_peers is not allowed with strict = true",
        "preempt_delay is not allowed with strict = true",
        "a non-zero garp_lower_prio_repeat is not allowed",
        "accept = true does not exist in VRRPv2",
    ] {
        assert!(e.contains(needle), "{needle}: {e}");
    }
}
