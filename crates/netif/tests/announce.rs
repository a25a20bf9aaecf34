//! Gratuitous ARP and unsolicited NA, seen by a second host's neighbour
//! table (see tests/common for the namespaces).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Lab, eth0};
use netif::{GarpSender, NaSender, Netlink};

fn mac_str(m: [u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[test]
fn gratuitous_arp_updates_the_neighbour_table_of_another_host() {
    let Some(lab) = Lab::new("garp", 2) else {
        return;
    };
    let (a, b) = (lab.hosts[0].clone(), lab.hosts[1].clone());
    // B accepts gratuitous ARP for addresses it has no entry for.
    lab.exec(&b, &["sysctl", "-qw", "net.ipv4.conf.eth0.arp_accept=1"]);
    lab.exec(&b, &["sysctl", "-qw", "net.ipv4.conf.all.arp_accept=1"]);
    let before = lab.exec(&b, &["ip", "neigh", "show", "10.99.0.100", "dev", "eth0"]);
    assert!(before.trim().is_empty(), "no entry yet: {before}");
    let mac = lab.run_in(&a, || {
        let idx = eth0();
        let mac = Netlink::new().unwrap().mac(idx).unwrap().unwrap();
        let g = GarpSender::new().unwrap();
        g.send(idx, mac, "10.99.0.100".parse().unwrap()).unwrap();
        mac
    });
    let want = mac_str(mac);
    lab.wait_for(Duration::from_secs(3), || {
        lab.exec(&b, &["ip", "neigh", "show", "10.99.0.100", "dev", "eth0"])
            .contains(&want)
    });
}

#[test]
fn unsolicited_na_overrides_an_existing_neighbour_entry() {
    let Some(lab) = Lab::new("na", 2) else { return };
    let (a, b) = (lab.hosts[0].clone(), lab.hosts[1].clone());
    // B believes the VIP is at an old MAC (the previous master).
    let old = "02:00:00:00:00:01";
    lab.exec(
        &b,
        &[
            "ip",
            "-6",
            "neigh",
            "replace",
            "fd00:99::100",
            "lladdr",
            old,
            "dev",
            "eth0",
            "nud",
            "stale",
        ],
    );
    let before = lab.exec(
        &b,
        &["ip", "-6", "neigh", "show", "fd00:99::100", "dev", "eth0"],
    );
    assert!(before.contains(old), "{before}");
    let mac = lab.run_in(&a, || {
        let idx = eth0();
        let mut nl = Netlink::new().unwrap();
        let mac = nl.mac(idx).unwrap().unwrap();
        let ll = nl.ipv6_link_local(idx, &[]).unwrap().unwrap();
        let na = NaSender::open(idx, ll).unwrap();
        na.send("fd00:99::100".parse().unwrap(), mac, true).unwrap();
        mac
    });
    let want = mac_str(mac);
    lab.wait_for(Duration::from_secs(3), || {
        let now = lab.exec(
            &b,
            &["ip", "-6", "neigh", "show", "fd00:99::100", "dev", "eth0"],
        );
        now.contains(&want) && !now.contains(old)
    });
    // The R flag was set: B now lists the VIP as a router.
    let now = lab.exec(
        &b,
        &["ip", "-6", "neigh", "show", "fd00:99::100", "dev", "eth0"],
    );
    assert!(now.contains("router"), "{now}");
}
