//! The executor inside a tokio service: its one file descriptor is
//! registered with `AsyncFd`, and a `select!` waits for it, for the next
//! protocol deadline, and for Ctrl-C (which hands mastership over before
//! exiting). The service's own work would be more branches of the same
//! `select!`.
//!
//! Usage: `tokio IFACE PRIORITY VIP...` (as root).

use std::time::{Duration, Instant};

use netif::executor::{Event, Executor, RouterSpec};
use tokio::io::unix::AsyncFd;
use vrrp_fsm::{Config, State, Stop};
use vrrp_proto::Version;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: tokio IFACE PRIORITY VIP...";
    let ifname = args.next().ok_or(usage)?;
    let priority: u8 = args.next().ok_or(usage)?.parse()?;
    let vips = args
        .map(|a| a.parse::<std::net::IpAddr>())
        .collect::<Result<Vec<_>, _>>()?;

    let mut exec = Executor::new()?;
    let cfg = Config::builder(51, Version::V3)
        .priority(priority)
        .virtual_addrs(vips.iter().copied());
    let id = exec.add_router(cfg, RouterSpec::on(&ifname).with_vips(vips))?;
    // SAFETY: the AsyncFd owns the executor, whose epoll descriptor stays
    // open for as long as the executor lives.
    let mut fd = unsafe { AsyncFd::register(exec) }.map_err(|e| e.into_parts().1)?;
    let mut stopping = false;
    loop {
        let exec = fd.get_mut();
        let deadline = exec
            .poll_timeout()
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(1));
        tokio::select! {
            ready = fd.readable() => ready?.clear_ready(),
            () = tokio::time::sleep_until(deadline.into()) => {}
            _ = tokio::signal::ctrl_c(), if !stopping => {
                stopping = true;
                fd.get_mut().stop_all(Stop::HandOver);
            }
        }
        let exec = fd.get_mut();
        exec.process()?;
        while let Some(event) = exec.poll_event() {
            if let Event::StateChanged { change, .. } = event {
                let active = exec.node().router(id).map(|r| r.state()) == Some(State::Master);
                println!("{:?} -> {:?} (serving: {active})", change.from, change.to);
            }
        }
        if stopping && exec.all_stopped() {
            return Ok(());
        }
    }
}
