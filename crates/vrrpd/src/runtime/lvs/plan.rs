//! The pure half of LVS: the table vrrpd wants (from the configuration and
//! the real servers' states) and the operations that bring a kernel table
//! to it, touching only the services vrrpd owns.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

use ipvs_netlink::{Destination, Service, ServiceFlags, ServiceKey};

use crate::config::lvs::VirtualServer;

/// One service and its destinations, as wanted or as the kernel has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Table {
    /// The service's settings.
    pub(crate) service: Service,
    /// Its destinations by address.
    pub(crate) dests: BTreeMap<SocketAddr, Destination>,
}

/// A change to the kernel's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Op {
    /// Add a service.
    AddService(Service),
    /// Change a service's scheduler, flags or persistence.
    EditService(Service),
    /// Remove a service (with its destinations).
    DelService(ServiceKey),
    /// Add a destination.
    AddDest(ServiceKey, Destination),
    /// Change a destination's weight, method or thresholds.
    EditDest(ServiceKey, Destination),
    /// Remove a destination.
    DelDest(ServiceKey, SocketAddr),
}

/// The live state of a real server that the table depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RsLive {
    /// All its checks pass.
    pub(crate) up: bool,
    /// Its weight now (the configured one, or `misc_dynamic`'s).
    pub(crate) weight: u32,
}

/// The quorum of a virtual server after `live` weight is seen, with
/// keepalived's hysteresis: gained at `quorum + hysteresis` (also the
/// state a virtual server starts in), lost below `quorum - hysteresis` or
/// when no live weight is left (keepalived's `update_quorum_state` and
/// `set_quorum_states`, check/ipwrapper.c).
pub(crate) fn quorum_after(vs: &VirtualServer, was_up: bool, live: u64) -> bool {
    let q = u64::from(vs.quorum);
    let h = u64::from(vs.hysteresis);
    if was_up {
        live > 0 && live >= q.saturating_sub(h)
    } else {
        live >= q + h
    }
}

/// The live weight: the sum of the weights of the real servers that are up.
pub(crate) fn live_weight(live: &[RsLive]) -> u64 {
    live.iter()
        .filter(|r| r.up)
        .map(|r| u64::from(r.weight))
        .sum()
}

/// The service settings of `vs`.
pub(crate) fn service_of(vs: &VirtualServer) -> Service {
    let mut s = Service::new(vs.key, vs.scheduler.clone());
    if let Some(t) = vs.persistence_timeout {
        s = s.persistent(t);
    }
    if let Some(p) = vs.persistence_granularity {
        s = s.netmask(p);
    }
    s
}

/// What `vs` should look like in the kernel, given the state of its real
/// servers (`live`, in the order of `vs.real_servers`) and its quorum.
pub(crate) fn wanted(vs: &VirtualServer, live: &[RsLive], quorum_up: bool) -> Table {
    let mut dests = BTreeMap::new();
    let sorry_in = !quorum_up && vs.sorry_server.is_some();
    for (rs, l) in vs.real_servers.iter().zip(live) {
        // With the quorum lost and a sorry server, every real server is
        // brought down (keepalived's rule).
        let up = l.up && !sorry_in;
        let weight = if up {
            l.weight
        } else if rs.inhibit_on_failure {
            0
        } else {
            continue;
        };
        let mut d = Destination::new(rs.addr.ip(), rs.addr.port(), rs.forward).weight(weight);
        d.upper_threshold = rs.upper_threshold;
        d.lower_threshold = rs.lower_threshold;
        dests.insert(rs.addr, d);
    }
    if let Some(sorry) = vs.sorry_server {
        let weight = if sorry_in {
            Some(1)
        } else if vs.sorry_server_inhibit {
            Some(0)
        } else {
            None
        };
        if let Some(w) = weight {
            let d = Destination::new(sorry.ip(), sorry.port(), vs.sorry_forward).weight(w);
            dests.insert(sorry, d);
        }
    }
    Table {
        service: service_of(vs),
        dests,
    }
}

/// Whether two services' settings agree (the kernel's own HASHED flag
/// aside).
fn same_service(a: &Service, b: &Service) -> bool {
    a.scheduler == b.scheduler
        && a.flags.without(ServiceFlags::HASHED) == b.flags.without(ServiceFlags::HASHED)
        && (!a.flags.contains(ServiceFlags::PERSISTENT) || a.timeout == b.timeout)
        && a.netmask == b.netmask
}

/// Whether two destinations' settings agree. The kernel reports the
/// service's port for direct routing and tunnels, so only the method
/// (with a tunnel's type, port and checksum), the weight and the
/// thresholds count.
fn same_dest(a: &Destination, b: &Destination) -> bool {
    a.forward == b.forward
        && a.weight == b.weight
        && a.upper_threshold == b.upper_threshold
        && a.lower_threshold == b.lower_threshold
}

/// The operations that turn the services of `have` that vrrpd owns (keys
/// in `owned` or in `want`) into `want`. Services of `have` that are
/// neither wanted nor owned are left alone.
pub(crate) fn diff(
    want: &BTreeMap<KeyOrd, Table>,
    have: &BTreeMap<KeyOrd, Table>,
    owned: &BTreeSet<KeyOrd>,
) -> Vec<Op> {
    let mut ops = Vec::new();
    for (k, h) in have {
        if !want.contains_key(k) && owned.contains(k) {
            ops.push(Op::DelService(h.service.key));
        }
    }
    for (k, w) in want {
        match have.get(k) {
            None => {
                ops.push(Op::AddService(w.service.clone()));
                for d in w.dests.values() {
                    ops.push(Op::AddDest(w.service.key, *d));
                }
            }
            Some(h) => ops.extend(diff_one(w, h)),
        }
    }
    ops
}

/// The operations that turn one service `have` into `want`.
pub(crate) fn diff_one(want: &Table, have: &Table) -> Vec<Op> {
    let key = want.service.key;
    let mut ops = Vec::new();
    if !same_service(&want.service, &have.service) {
        ops.push(Op::EditService(want.service.clone()));
    }
    for (a, h) in &have.dests {
        if !want.dests.contains_key(a) {
            ops.push(Op::DelDest(key, SocketAddr::new(h.addr, h.port)));
        }
    }
    for (a, w) in &want.dests {
        match have.dests.get(a) {
            None => ops.push(Op::AddDest(key, *w)),
            Some(h) if h.forward.to_raw() != w.forward.to_raw() => {
                ops.push(Op::DelDest(key, *a));
                ops.push(Op::AddDest(key, *w));
            }
            Some(h) if !same_dest(w, h) => ops.push(Op::EditDest(key, *w)),
            Some(_) => {}
        }
    }
    ops
}

/// A [`ServiceKey`] with an order, for maps and the state file:
/// `tcp:192.0.2.1:80`, `udp:[2001:db8::1]:53`, `fwm:1`, `fwm6:1`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct KeyOrd(pub(crate) String);

impl From<&ServiceKey> for KeyOrd {
    fn from(k: &ServiceKey) -> KeyOrd {
        KeyOrd(match k {
            ServiceKey::Addr {
                addr,
                port,
                protocol,
            } => format!(
                "{}:{}",
                protocol.to_string().to_lowercase(),
                SocketAddr::new(*addr, *port)
            ),
            ServiceKey::Fwmark { mark, family } => match family {
                ipvs_netlink::Family::Inet => format!("fwm:{mark}"),
                ipvs_netlink::Family::Inet6 => format!("fwm6:{mark}"),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str;

    fn vs(extra: &str, rs_extra: &str) -> VirtualServer {
        let text = format!(
            "[[virtual_server]]\naddress = \"192.0.2.1\"\nport = 80\nlb_algo = \"rr\"\n{extra}\n\
             [[virtual_server.real_server]]\naddress = \"10.0.0.1\"\nweight = 2\n{rs_extra}\n\
             [[virtual_server.real_server]]\naddress = \"10.0.0.2\"\nweight = 3\n{rs_extra}\n"
        );
        match load_str(&text, "t") {
            Ok(c) => c.lvs.virtual_servers[0].clone(),
            Err(e) => panic!("{e}"),
        }
    }

    fn a(s: &str) -> SocketAddr {
        s.parse().unwrap_or_else(|_| panic!("{s}"))
    }

    const UP: RsLive = RsLive {
        up: true,
        weight: 0,
    };

    fn live(v: &VirtualServer, up: [bool; 2]) -> Vec<RsLive> {
        v.real_servers
            .iter()
            .zip(up)
            .map(|(r, up)| RsLive {
                up,
                weight: r.weight,
            })
            .collect()
    }

    #[test]
    fn a_failed_server_leaves_or_gets_weight_zero() {
        let v = vs("", "");
        let t = wanted(&v, &live(&v, [true, false]), true);
        assert_eq!(
            t.dests.keys().copied().collect::<Vec<_>>(),
            [a("10.0.0.1:80")]
        );
        let v = vs("", "inhibit_on_failure = true");
        let t = wanted(&v, &live(&v, [true, false]), true);
        assert_eq!(t.dests.get(&a("10.0.0.2:80")).map(|d| d.weight), Some(0));
        assert_eq!(t.dests.get(&a("10.0.0.1:80")).map(|d| d.weight), Some(2));
        let _ = UP;
    }

    #[test]
    fn quorum_loss_brings_the_sorry_server_in() {
        let v = vs(
            "quorum = 3\nhysteresis = 1\nsorry_server = \"10.0.0.9:8080\"",
            "",
        );
        // 2 alive: below quorum - hysteresis? 2 >= 3 - 1, so still up.
        assert!(quorum_after(&v, true, 2));
        assert!(!quorum_after(&v, true, 1));
        // Regained only at quorum + hysteresis.
        assert!(!quorum_after(&v, false, 3));
        assert!(quorum_after(&v, false, 4));
        // No live weight loses it, whatever quorum - hysteresis says.
        let v1 = vs("quorum = 1\nhysteresis = 1", "");
        assert!(quorum_after(&v1, true, 1));
        assert!(!quorum_after(&v1, true, 0));
        assert!(!quorum_after(&v1, false, 1), "gained at 2");
        let t = wanted(&v, &live(&v, [true, false]), false);
        assert_eq!(
            t.dests.keys().copied().collect::<Vec<_>>(),
            [a("10.0.0.9:8080")]
        );
        let t = wanted(&v, &live(&v, [true, true]), true);
        assert!(!t.dests.contains_key(&a("10.0.0.9:8080")));
    }

    #[test]
    fn diff_leaves_foreign_services_and_removes_owned_ones() {
        let v = vs("", "");
        let want_t = wanted(&v, &live(&v, [true, true]), true);
        let mut want = BTreeMap::new();
        want.insert(KeyOrd::from(&v.key), want_t.clone());
        let foreign = Table {
            service: Service::new(ServiceKey::tcp(a("198.51.100.1:1").ip(), 1), "wlc"),
            dests: BTreeMap::new(),
        };
        let old = Table {
            service: Service::new(ServiceKey::tcp(a("198.51.100.2:1").ip(), 1), "wlc"),
            dests: BTreeMap::new(),
        };
        let mut have = BTreeMap::new();
        have.insert(KeyOrd::from(&foreign.service.key), foreign);
        have.insert(KeyOrd::from(&old.service.key), old.clone());
        let owned = BTreeSet::from([KeyOrd::from(&old.service.key)]);
        let ops = diff(&want, &have, &owned);
        assert_eq!(ops[0], Op::DelService(old.service.key));
        assert!(matches!(ops[1], Op::AddService(_)));
        assert_eq!(ops.len(), 4, "{ops:?}");
        // Nothing to do once the kernel agrees.
        have.insert(KeyOrd::from(&v.key), want_t.clone());
        have.remove(&KeyOrd::from(&old.service.key));
        assert!(diff(&want, &have, &owned).is_empty());
        // A weight that differs is edited, not re-added.
        let mut changed = want_t.clone();
        if let Some(d) = changed.dests.get_mut(&a("10.0.0.1:80")) {
            d.weight = 7;
        }
        let ops = diff_one(&want_t, &changed);
        assert!(matches!(ops.as_slice(), [Op::EditDest(_, d)] if d.weight == 2));
    }
}
