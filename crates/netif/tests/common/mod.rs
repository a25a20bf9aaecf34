//! Network-namespace lab for netif's integration tests.
//!
//! Topology: one bridge namespace (`br0`, multicast snooping off) and N host
//! namespaces, each with one veth `eth0` whose peer `pN` is a port of
//! `br0`. Hosts get 10.99.0.(N+1)/24 and fd00:99::(N+1)/64, IPv6 DAD is
//! off so addresses are usable at once.
//!
//! How tests enter a namespace: a thread's network namespace is per thread,
//! so [`Lab::run_in`] spawns a dedicated thread that calls
//! `setns(CLONE_NEWNET)` (nix::sched::setns) on `/run/netns/<name>` and runs
//! the test body there; every socket and netlink handle the body opens lives
//! in that namespace. Shell commands run through `ip netns exec`.
//!
//! Names are unique per test and process (`nif-<tag>-<pid>-<role>`), so
//! cargo's parallel tests never collide; interface names are the same short
//! ones in every namespace. [`Lab`]'s `Drop` deletes every namespace it
//! made (which also deletes the veths), even when the test panics.
//!
//! Tests skip (print a message and return) when not root or when `ip netns`
//! does not work.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::fs::File;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// One lab; dropping it deletes its namespaces.
pub struct Lab {
    pub bridge: String,
    pub hosts: Vec<String>,
    created: Vec<String>,
}

pub fn sh(args: &[&str]) -> Output {
    Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("running {args:?}: {e}"))
}

pub fn must(args: &[&str]) -> String {
    let o = sh(args);
    assert!(
        o.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn can_run() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return false;
    }
    Command::new("ip")
        .args(["netns", "list"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

impl Lab {
    /// Builds a lab with `n` hosts, or returns `None` (after printing why)
    /// when namespaces are not available.
    pub fn new(tag: &str, n: usize) -> Option<Lab> {
        if !can_run() {
            eprintln!("SKIP: needs root and `ip netns`");
            return None;
        }
        let pid = std::process::id();
        let mut lab = Lab {
            bridge: format!("nif-{tag}-{pid}-br"),
            hosts: (0..n).map(|i| format!("nif-{tag}-{pid}-h{i}")).collect(),
            created: Vec::new(),
        };
        let br = lab.bridge.clone();
        must(&["ip", "netns", "add", &br]);
        lab.created.push(br.clone());
        lab.exec(
            &br,
            &[
                "ip",
                "link",
                "add",
                "br0",
                "type",
                "bridge",
                "mcast_snooping",
                "0",
            ],
        );
        lab.exec(&br, &["ip", "link", "set", "br0", "up"]);
        for i in 0..n {
            let h = lab.hosts[i].clone();
            must(&["ip", "netns", "add", &h]);
            lab.created.push(h.clone());
            for k in ["all", "default"] {
                lab.exec(
                    &h,
                    &["sysctl", "-qw", &format!("net.ipv6.conf.{k}.accept_dad=0")],
                );
            }
            let port = format!("p{i}");
            must(&[
                "ip", "link", "add", "eth0", "netns", &h, "type", "veth", "peer", "name", &port,
                "netns", &br,
            ]);
            lab.exec(&br, &["ip", "link", "set", &port, "master", "br0"]);
            lab.exec(&br, &["ip", "link", "set", &port, "up"]);
            lab.exec(&h, &["ip", "link", "set", "lo", "up"]);
            lab.exec(&h, &["ip", "link", "set", "eth0", "up"]);
            lab.exec(
                &h,
                &[
                    "ip",
                    "addr",
                    "add",
                    &format!("{}/24", lab.v4(i)),
                    "dev",
                    "eth0",
                ],
            );
            lab.exec(
                &h,
                &[
                    "ip",
                    "addr",
                    "add",
                    &format!("{}/64", lab.v6(i)),
                    "dev",
                    "eth0",
                    "nodad",
                ],
            );
        }
        // Wait for every host's link-local address and carrier.
        for i in 0..n {
            let h = lab.hosts[i].clone();
            lab.wait_for(Duration::from_secs(5), || {
                let out = lab.exec(
                    &h,
                    &["ip", "-6", "addr", "show", "dev", "eth0", "scope", "link"],
                );
                out.contains("fe80") && !out.contains("tentative")
            });
        }
        Some(lab)
    }

    pub fn v4(&self, i: usize) -> String {
        format!("10.99.0.{}", i + 1)
    }

    pub fn v6(&self, i: usize) -> String {
        format!("fd00:99::{}", i + 1)
    }

    /// Runs a command inside namespace `ns`; panics on failure.
    pub fn exec(&self, ns: &str, args: &[&str]) -> String {
        let mut v = vec!["ip", "netns", "exec", ns];
        v.extend_from_slice(args);
        must(&v)
    }

    /// Runs a command inside namespace `ns`; returns its output.
    pub fn try_exec(&self, ns: &str, args: &[&str]) -> Output {
        let mut v = vec!["ip", "netns", "exec", ns];
        v.extend_from_slice(args);
        sh(&v)
    }

    /// Runs `f` on a thread that has entered namespace `ns`.
    pub fn run_in<T: Send + 'static>(&self, ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
        let path = format!("/run/netns/{ns}");
        let h = std::thread::spawn(move || {
            enter(&path);
            f()
        });
        match h.join() {
            Ok(v) => v,
            Err(p) => std::panic::resume_unwind(p),
        }
    }

    /// Polls `cond` every 20 ms until it holds; panics after `limit`.
    pub fn wait_for(&self, limit: Duration, mut cond: impl FnMut() -> bool) {
        let start = Instant::now();
        while !cond() {
            assert!(
                start.elapsed() < limit,
                "condition not met within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Moves the calling thread into the network namespace at `path`.
pub fn enter(path: &str) {
    let f = File::open(path).unwrap_or_else(|e| panic!("open {path}: {e}"));
    nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
}

impl Drop for Lab {
    fn drop(&mut self) {
        for ns in self.created.iter().rev() {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

/// The ifindex of `eth0` in the calling thread's namespace.
pub fn eth0() -> u32 {
    netif::ifindex("eth0").unwrap()
}
