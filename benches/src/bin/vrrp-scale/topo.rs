//! The lab topology: a bridge namespace with one bridge per segment, two
//! VRRP hosts (`a`, master; `b`, backup) and a client (`c`), each with one
//! veth interface `eth<k>` per segment. Removed on drop.
//!
//! Addresses: segment k is 10.(100+k).0.0/16; a is .0.1, b .0.2, the client
//! .0.200. Instance i lives on segment i / 250 with VRID i % 250 + 1 and VIP
//! 10.(100+k).1.(VRID)/32. Segments are separate bridges (separate L2
//! domains), because a VRID may appear once per interface and family.

use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::process::Command;

use anyhow::{Context, Result};

use crate::sys;

/// Instances per segment (at most 255 VRIDs per interface and family).
pub(crate) const PER_SEGMENT: usize = 250;

/// Where instance `i` lives: (segment, VRID, VIP).
pub(crate) fn instance(i: usize) -> (usize, u8, Ipv4Addr) {
    let seg = i / PER_SEGMENT;
    let vrid = (i % PER_SEGMENT + 1) as u8;
    (seg, vrid, Ipv4Addr::new(10, (100 + seg) as u8, 1, vrid))
}

/// Number of segments needed for `n` instances.
pub(crate) fn segments(n: usize) -> usize {
    n.div_ceil(PER_SEGMENT).max(1)
}

/// The host roles.
pub(crate) const HOSTS: [(&str, u8); 3] = [("a", 1), ("b", 2), ("c", 200)];

/// A built topology; namespaces are deleted on drop.
#[derive(Debug)]
pub(crate) struct Topology {
    prefix: String,
    created: Vec<String>,
    vips: HashSet<Ipv4Addr>,
}

/// VIPs seen on a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct VipView {
    /// How many of the case's VIPs the host holds.
    pub(crate) count: usize,
    /// Whether it holds instance 0's VIP (the probed one).
    pub(crate) vip0: bool,
}

impl Topology {
    /// Builds the namespaces for `n` instances under `prefix`.
    ///
    /// With `threaded_napi`, every veth end receives through NAPI polled by
    /// its own kernel thread (`napi/<dev>`). By default a veth delivers a
    /// frame inside the sender's `sendmsg`: the bridge, netfilter and the
    /// peers' whole receive path then run in the sending daemon's system
    /// time, and at 1000 instances that was over 70 % of the master's CPU
    /// (docs/performance.md). On real hardware a NIC and a switch do that
    /// work, so the comparison measures the daemons, not the simulated
    /// network. GRO turns NAPI on for a veth; `rx-udp-gro-forwarding` is
    /// also needed, or veth bypasses NAPI for socket-owned frames.
    pub(crate) fn build(prefix: &str, n: usize, threaded_napi: bool) -> Result<Topology> {
        remove_namespaces(prefix);
        let mut topo = Topology {
            prefix: prefix.to_owned(),
            created: Vec::new(),
            vips: (0..n).map(|i| instance(i).2).collect(),
        };
        let br = topo.ns("br");
        for role in ["br", "a", "b", "c"] {
            let ns = topo.ns(role);
            sys::run(&["ip", "netns", "add", &ns])?;
            topo.created.push(ns.clone());
            sys::run(&["ip", "-n", &ns, "link", "set", "lo", "up"])?;
        }
        // The client updates its neighbour entry from gratuitous ARP.
        let c = topo.ns("c");
        sys::run(&[
            "ip",
            "netns",
            "exec",
            &c,
            "sysctl",
            "-qw",
            "net.ipv4.conf.all.arp_accept=1",
            "net.ipv4.conf.default.arp_accept=1",
        ])?;
        for k in 0..segments(n) {
            let bridge = format!("br{k}");
            sys::run(&[
                "ip",
                "-n",
                &br,
                "link",
                "add",
                &bridge,
                "type",
                "bridge",
                "stp_state",
                "0",
                "forward_delay",
                "0",
            ])?;
            sys::run(&["ip", "-n", &br, "link", "set", &bridge, "up"])?;
            for (role, host) in HOSTS {
                let ns = topo.ns(role);
                let port = format!("{role}{k}");
                let ifname = format!("eth{k}");
                sys::run(&[
                    "ip", "-n", &br, "link", "add", &port, "type", "veth", "peer", "name", &ifname,
                    "netns", &ns,
                ])?;
                sys::run(&[
                    "ip", "-n", &br, "link", "set", &port, "master", &bridge, "up",
                ])?;
                let addr = format!("10.{}.0.{host}/16", 100 + k);
                sys::run(&["ip", "-n", &ns, "addr", "add", &addr, "dev", &ifname])?;
                sys::run(&["ip", "-n", &ns, "link", "set", &ifname, "up"])?;
                if threaded_napi {
                    threaded_napi_on(&br, &port)?;
                    threaded_napi_on(&ns, &ifname)?;
                }
            }
        }
        if threaded_napi {
            // Nothing in the lab needs the bridge to call iptables; the
            // sysctls exist only if br_netfilter is loaded.
            let _ = sys::run(&[
                "ip",
                "netns",
                "exec",
                &br,
                "sysctl",
                "-qw",
                "net.bridge.bridge-nf-call-iptables=0",
                "net.bridge.bridge-nf-call-ip6tables=0",
                "net.bridge.bridge-nf-call-arptables=0",
            ]);
        }
        Ok(topo)
    }

    /// The namespace name of `role` (`br`, `a`, `b`, `c`).
    pub(crate) fn ns(&self, role: &str) -> String {
        format!("{}-{role}", self.prefix)
    }

    /// Which of the case's VIPs host `role` holds now.
    pub(crate) fn vips(&self, role: &str) -> Result<VipView> {
        let out = sys::run(&["ip", "-n", &self.ns(role), "-o", "-4", "addr", "show"])?;
        Ok(count_view(&out, &self.vips))
    }

    /// Takes host `role`'s interface on segment `seg` down or up.
    pub(crate) fn set_link(&self, role: &str, seg: usize, up: bool) -> Result<()> {
        let ifname = format!("eth{seg}");
        let state = if up { "up" } else { "down" };
        sys::run(&["ip", "-n", &self.ns(role), "link", "set", &ifname, state])
            .map(|_| ())
            .with_context(|| format!("link {state} on {role}"))
    }
}

/// Makes veth `dev` in namespace `ns` receive through NAPI polled by a
/// kernel thread of its own.
fn threaded_napi_on(ns: &str, dev: &str) -> Result<()> {
    sys::run(&[
        "ip",
        "netns",
        "exec",
        ns,
        "ethtool",
        "-K",
        dev,
        "gro",
        "on",
        "rx-udp-gro-forwarding",
        "on",
    ])
    .context("ethtool (bash scripts/setup.sh installs it; or pass --charge-network)")?;
    sys::run(&[
        "ip",
        "netns",
        "exec",
        ns,
        "sh",
        "-c",
        &format!("echo 1 > /sys/class/net/{dev}/threaded"),
    ])
    .map(|_| ())
}

impl Drop for Topology {
    fn drop(&mut self) {
        for ns in self.created.iter().rev() {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// Deletes namespaces named `<prefix>-*` (only this harness's own prefix,
/// which contains its pid), left over if a process with the same pid crashed.
pub(crate) fn remove_namespaces(prefix: &str) {
    let Ok(list) = sys::run(&["ip", "netns", "list"]) else {
        return;
    };
    let mine = format!("{prefix}-");
    for line in list.lines() {
        if let Some(name) = line.split_whitespace().next() {
            if name.starts_with(&mine) {
                let _ = Command::new("ip").args(["netns", "del", name]).status();
            }
        }
    }
}

/// Which of `vips` appear in `ip -o -4 addr show` output (each VIP once,
/// with prefix length 32).
fn count_view(ip_output: &str, vips: &HashSet<Ipv4Addr>) -> VipView {
    let mut seen = HashSet::new();
    for line in ip_output.lines() {
        let mut words = line.split_whitespace();
        while let Some(w) = words.next() {
            if w != "inet" {
                continue;
            }
            let Some(cidr) = words.next() else { break };
            let Some((addr, len)) = cidr.split_once('/') else {
                continue;
            };
            if len != "32" {
                continue;
            }
            if let Ok(a) = addr.parse::<Ipv4Addr>() {
                if vips.contains(&a) {
                    seen.insert(a);
                }
            }
        }
    }
    VipView {
        count: seen.len(),
        vip0: seen.contains(&instance(0).2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instances_are_unique_and_in_their_segment() {
        let all: HashSet<_> = (0..1000).map(|i| instance(i).2).collect();
        assert_eq!(all.len(), 1000);
        assert_eq!(instance(0), (0, 1, Ipv4Addr::new(10, 100, 1, 1)));
        assert_eq!(instance(249), (0, 250, Ipv4Addr::new(10, 100, 1, 250)));
        assert_eq!(instance(250), (1, 1, Ipv4Addr::new(10, 101, 1, 1)));
        assert_eq!(instance(999), (3, 250, Ipv4Addr::new(10, 103, 1, 250)));
        assert_eq!(segments(1), 1);
        assert_eq!(segments(250), 1);
        assert_eq!(segments(251), 2);
        assert_eq!(segments(1000), 4);
    }

    #[test]
    fn counts_only_case_vips() {
        let vips: HashSet<_> = (0..3).map(|i| instance(i).2).collect();
        let out = "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever\n\
                   2: eth0    inet 10.100.0.1/16 brd 10.100.255.255 scope global eth0\\ x\n\
                   2: eth0    inet 10.100.1.1/32 scope global eth0\\       valid_lft forever\n\
                   2: eth0    inet 10.100.1.3/32 scope global eth0\\       valid_lft forever\n\
                   2: eth0    inet 10.100.1.9/32 scope global eth0\\       valid_lft forever\n";
        assert_eq!(
            count_view(out, &vips),
            VipView {
                count: 2,
                vip0: true
            }
        );
        assert_eq!(count_view("", &vips), VipView::default());
    }
}
