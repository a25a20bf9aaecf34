//! Failover embedded in a service: one VRRPv3 virtual router (VRID 51,
//! 200 ms adverts) on an interface; the process holds the virtual address
//! while it is master and prints every state change. On SIGTERM or Ctrl-C
//! it hands mastership over (priority 0, addresses kept until the backup
//! has taken over) and exits without leaving the address behind.
//!
//! Usage: `failover IFACE PRIORITY VIP...` (as root, or with CAP_NET_RAW
//! and CAP_NET_ADMIN). For IPv6, RFC 9568 §5.2.9 wants a link-local first
//! VIP, e.g. `fe80::51 2001:db8::51`; a global-only list also works, as
//! keepalived sends it. Run it on two hosts with different priorities; stop
//! or kill the master and the other takes the address over.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use netif::executor::{Event, Executor, RouterSpec};
use vrrp_fsm::{Config, Stop};
use vrrp_proto::{Interval, Version};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: failover IFACE PRIORITY VIP...";
    let ifname = args.next().ok_or(usage)?;
    let priority: u8 = args.next().ok_or(usage)?.parse()?;
    let vips = args
        .map(|a| a.parse::<std::net::IpAddr>())
        .collect::<Result<Vec<_>, _>>()?;

    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, Arc::clone(&stop))?;
    }
    let cfg = Config::builder(51, Version::V3)
        .priority(priority)
        .interval(Interval::from_centis(20).ok_or("interval")?)
        .virtual_addrs(vips.iter().copied());
    let mut exec = Executor::new()?;
    exec.add_router(cfg, RouterSpec::on(&ifname).with_vips(vips))?;
    let mut stopping = false;
    while !(stopping && exec.all_stopped()) {
        if stop.load(Ordering::Relaxed) && !stopping {
            stopping = true;
            exec.stop_all(Stop::HandOver);
        }
        exec.run_once(Some(Duration::from_millis(100)))?;
        while let Some(event) = exec.poll_event() {
            match event {
                Event::StateChanged { change, .. } => {
                    println!("vrid 51: {:?} -> {:?}", change.from, change.to);
                }
                Event::Error { error, .. } => eprintln!("error: {error}"),
                _ => {}
            }
        }
    }
    println!("stopped");
    Ok(())
}
