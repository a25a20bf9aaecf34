//! keepalived's `static_ipaddress`, `static_routes` and `static_rules`:
//! addresses, routes and rules that belong to the host, not to an
//! instance. As keepalived does
//! (vrrp_daemon.c), they are added when the daemon starts, before any
//! instance, and removed when it exits; unlike virtual addresses they never
//! move. Only what this daemon added is removed: an address or route that
//! was already there is left as it was.

use netif::{Netlink, Route, Rule, ifindex};
use tracing::{info, warn};

use crate::config::{Global, Vip, VirtualRoute};

/// What was added, to be removed at exit.
#[derive(Debug)]
pub struct Statics {
    nl: Option<Netlink>,
    addrs: Vec<(u32, Vip)>,
    routes: Vec<Route>,
    rules: Vec<Rule>,
}

impl Statics {
    /// Adds the static addresses, then the static routes, of `g`. A
    /// failure is logged and the rest still added (keepalived does the
    /// same); the instances do not depend on them.
    pub fn install(g: &Global) -> Statics {
        let mut s = Statics {
            nl: None,
            addrs: Vec::new(),
            routes: Vec::new(),
            rules: Vec::new(),
        };
        if g.static_addresses.is_empty() && g.static_routes.is_empty() && g.static_rules.is_empty()
        {
            return s;
        }
        let mut nl = match Netlink::new() {
            Ok(nl) => nl,
            Err(e) => {
                warn!("static addresses and routes: {e}");
                return s;
            }
        };
        for v in &g.static_addresses {
            let dev = v.interface.as_deref().unwrap_or_default();
            let added = ifindex(dev).and_then(|i| {
                nl.add_addr(i, v.addr, v.prefix_len, v.label.as_deref())
                    .map(|new| (i, new))
            });
            match added {
                Ok((i, true)) => {
                    info!("static address {}/{} added on {dev}", v.addr, v.prefix_len);
                    s.addrs.push((i, v.clone()));
                }
                Ok((_, false)) => info!("static address {} already on {dev}", v.addr),
                Err(e) => warn!("static address {}: {e}", v.addr),
            }
        }
        for r in &g.static_routes {
            let added = kernel_route(r).and_then(|k| nl.add_route(&k).map(|new| (k, new)));
            match added {
                Ok((k, true)) => {
                    info!("static route {}/{} added", r.to, r.prefix_len);
                    s.routes.push(k);
                }
                Ok((_, false)) => info!("static route {}/{} already there", r.to, r.prefix_len),
                Err(e) => warn!("static route {}/{}: {e}", r.to, r.prefix_len),
            }
        }
        for r in &g.static_rules {
            match nl.add_rule(r) {
                Ok(true) => {
                    info!("static rule {r} added");
                    s.rules.push(r.clone());
                }
                Ok(false) => info!("static rule {r} already there"),
                Err(e) => warn!("static rule: {e}"),
            }
        }
        s.nl = Some(nl);
        s
    }
}

impl Drop for Statics {
    /// Rules first, then routes (they may use the addresses), then the
    /// addresses.
    fn drop(&mut self) {
        let Some(nl) = &mut self.nl else { return };
        for r in self.rules.drain(..).rev() {
            if let Err(e) = nl.del_rule(&r) {
                warn!("static rule: {e}");
            }
        }
        for r in self.routes.drain(..).rev() {
            if let Err(e) = nl.del_route(&r) {
                warn!("static route {}/{}: {e}", r.dst, r.prefix_len);
            }
        }
        for (i, v) in self.addrs.drain(..).rev() {
            if let Err(e) = nl.del_addr(i, v.addr, v.prefix_len) {
                warn!("static address {}: {e}", v.addr);
            }
        }
    }
}

/// The kernel's form of a static route (its interface looked up now).
fn kernel_route(r: &VirtualRoute) -> netif::Result<Route> {
    let oif = r.interface.as_deref().map(ifindex).transpose()?;
    Ok(Route {
        dst: r.to,
        prefix_len: r.prefix_len,
        gateway: r.via,
        oif,
        metric: r.metric,
        table: r.table,
    })
}
