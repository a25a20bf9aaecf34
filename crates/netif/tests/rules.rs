//! Routing policy rules through rtnetlink (keepalived's `virtual_rules` and
//! `static_rules`), checked against `ip rule` inside a network namespace.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Lab;
use netif::{Netlink, Rule};

#[test]
fn rules_come_and_go_idempotently() {
    let Some(lab) = Lab::new("rul", 1) else {
        return;
    };
    let ns = lab.hosts[0].clone();
    let v4 = Rule {
        ipv6: false,
        from: Some(("192.0.2.0".parse().unwrap(), 24)),
        to: None,
        iif: Some("eth0".into()),
        oif: None,
        fwmark: Some(7),
        priority: Some(1000),
        table: 100,
    };
    let v6 = Rule {
        ipv6: true,
        from: None,
        to: Some(("2001:db8::".parse().unwrap(), 32)),
        iif: None,
        oif: None,
        fwmark: None,
        priority: Some(1001),
        table: 1000,
    };
    let (a, b) = (v4.clone(), v6.clone());
    lab.run_in(&ns, move || {
        let mut nl = Netlink::new().unwrap();
        assert!(nl.add_rule(&a).unwrap());
        assert!(nl.add_rule(&b).unwrap());
        // EEXIST is not an error.
        assert!(!nl.add_rule(&a).unwrap());
    });
    let rules = lab.exec(&ns, &["ip", "rule", "show"]);
    assert!(
        rules.contains("1000:\tfrom 192.0.2.0/24 fwmark 0x7 iif eth0 lookup 100"),
        "{rules}"
    );
    let rules6 = lab.exec(&ns, &["ip", "-6", "rule", "show"]);
    assert!(
        rules6.contains("1001:\tfrom all to 2001:db8::/32 lookup 1000"),
        "{rules6}"
    );
    lab.run_in(&ns, move || {
        let mut nl = Netlink::new().unwrap();
        assert!(nl.del_rule(&v4).unwrap());
        assert!(nl.del_rule(&v6).unwrap());
        assert!(!nl.del_rule(&v4).unwrap());
    });
    let rules = lab.exec(&ns, &["ip", "rule", "show"]);
    assert!(!rules.contains("lookup 100\n"), "{rules}");
}
