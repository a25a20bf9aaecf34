//! The embedding example, run as two processes in two namespaces on one
//! bridge: the higher priority takes the VIP; kill it; the other takes over.
//! (The example binary is built by `cargo test`, which builds examples.)
#![cfg(feature = "executor")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use common::Lab;

/// Kills and reaps the child on drop, so no example outlives a failed test.
struct Proc {
    child: Child,
    lines: Receiver<String>,
}

impl Proc {
    fn spawn(ns: &str, args: &[&str]) -> Proc {
        let mut child = Command::new("ip")
            .args(["netns", "exec", ns])
            .arg(example())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        Proc { child, lines: rx }
    }

    /// Waits for a stdout line containing `what`; returns when it came.
    fn expect(&self, what: &str, limit: Duration) -> Instant {
        let start = Instant::now();
        let mut seen = Vec::new();
        while let Some(left) = limit.checked_sub(start.elapsed()) {
            match self.lines.recv_timeout(left) {
                Ok(l) if l.contains(what) => return Instant::now(),
                Ok(l) => seen.push(l),
                Err(_) => break,
            }
        }
        panic!("no line with {what:?} within {limit:?}; saw {seen:?}");
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn example() -> PathBuf {
    // target/<profile>/deps/embed-<hash> -> target/<profile>/examples/failover
    let exe = std::env::current_exe().unwrap();
    let p = exe
        .parent()
        .and_then(|d| d.parent())
        .unwrap()
        .join("examples")
        .join("failover");
    assert!(
        p.exists(),
        "{} missing: run `cargo test -p vrrp-netif` (which builds the examples)",
        p.display()
    );
    p
}

fn has_vip(lab: &Lab, ns: &str, vip: &str) -> bool {
    lab.exec(ns, &["ip", "addr", "show", "dev", "eth0"])
        .contains(&format!(" {vip}/"))
}

/// `vips[last]` is the one checked in `ip addr`.
fn failover(tag: &str, vips: &[&str]) {
    let vip = vips[vips.len() - 1];
    let Some(lab) = Lab::new(tag, 2) else { return };
    let (a, b) = (lab.hosts[0].clone(), lab.hosts[1].clone());
    let args = |prio: &'static str| [&["eth0", prio][..], vips].concat();
    let pa = Proc::spawn(&a, &args("200"));
    let pb = Proc::spawn(&b, &args("100"));
    pb.expect("Initialize -> Backup", Duration::from_secs(5));
    pa.expect("-> Master", Duration::from_secs(10));
    assert!(has_vip(&lab, &a, vip), "master holds the VIP");
    // Give B a few advert intervals: it must stay backup, without the VIP.
    std::thread::sleep(Duration::from_millis(600));
    assert!(!has_vip(&lab, &b, vip), "backup does not hold the VIP");
    assert!(pb.lines.try_recv().is_err(), "backup changed state");

    let killed = Instant::now();
    drop(pa); // SIGKILL: no priority-0 advert, the master just vanishes.
    let took_over = pb.expect("Backup -> Master", Duration::from_secs(10));
    lab.wait_for(Duration::from_secs(2), || has_vip(&lab, &b, vip));
    let t = took_over.duration_since(killed);
    eprintln!("{tag}: takeover {} ms after SIGKILL", t.as_millis());
    // Master_Down_Interval = 3 * 200 ms + skew (< 200 ms).
    assert!(t < Duration::from_secs(3), "took {t:?}");
}

#[test]
fn example_fails_over_ipv4() {
    failover("emb4", &["10.99.0.100"]);
}

#[test]
fn example_fails_over_ipv6() {
    // RFC 9568 §5.2.9: the first IPv6 address is link-local.
    failover("emb6", &["fe80::1:51", "fd00:99::100"]);
}

#[test]
fn example_hands_over_and_releases_on_sigterm() {
    let Some(lab) = Lab::new("embt", 2) else {
        return;
    };
    let (a, b) = (lab.hosts[0].clone(), lab.hosts[1].clone());
    let vip = "10.99.0.100";
    let mut pa = Proc::spawn(&a, &["eth0", "200", vip]);
    let pb = Proc::spawn(&b, &["eth0", "100", vip]);
    pb.expect("Initialize -> Backup", Duration::from_secs(5));
    pa.expect("-> Master", Duration::from_secs(10));
    assert!(has_vip(&lab, &a, vip));
    let pid = pa.child.id().to_string();
    let sent = Instant::now();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    // Make-before-break: B takes over after its Skew_Time (priority 100,
    // 200 ms: 120 ms), not after Master_Down_Interval (720 ms).
    let took_over = pb.expect("Backup -> Master", Duration::from_secs(3));
    let t = took_over.duration_since(sent);
    eprintln!("takeover {} ms after SIGTERM", t.as_millis());
    assert!(t < Duration::from_millis(600), "took {t:?}");
    pa.expect("stopped", Duration::from_secs(3));
    let status = pa.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(
        !has_vip(&lab, &a, vip),
        "the stopped master left the VIP behind"
    );
    assert!(has_vip(&lab, &b, vip));
}
