//! Failover embedded in a service, in about twenty lines: one VRRPv3
//! virtual router (VRID 51, 200 ms adverts) on an interface; the process
//! holds the virtual address while it is master and prints every state
//! change.
//!
//! Usage: `failover IFACE PRIORITY VIP...` (as root, or with CAP_NET_RAW
//! and CAP_NET_ADMIN). For IPv6, RFC 9568 §5.2.9 wants a link-local first
//! VIP, e.g. `fe80::51 2001:db8::51`; a global-only list also works, as
//! keepalived sends it. Run it on two hosts with different priorities; kill
//! the master and the other takes the address over.

use netif::driver::{Driver, DriverEvent, RouterOptions};
use vrrp_fsm::Config;
use vrrp_proto::{Interval, Version};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: failover IFACE PRIORITY VIP...";
    let ifname = args.next().ok_or(usage)?;
    let priority: u8 = args.next().ok_or(usage)?.parse()?;
    let vips = args.map(|a| a.parse::<std::net::IpAddr>());

    let cfg = Config::builder(51, Version::V3)
        .priority(priority)
        .interval(Interval::from_centis(20).ok_or("interval")?)
        .virtual_addrs(vips.collect::<Result<Vec<_>, _>>()?);
    let mut driver = Driver::new()?;
    driver.add_router(&ifname, cfg, RouterOptions::default())?;
    loop {
        for event in driver.poll(None)? {
            match event {
                DriverEvent::StateChanged { vrid, change, .. } => {
                    println!("vrid {vrid}: {:?} -> {:?}", change.from, change.to);
                }
                DriverEvent::Error { error, .. } => eprintln!("error: {error}"),
                _ => {}
            }
        }
    }
}
