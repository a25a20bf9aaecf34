//! The LVS checker benchmark (not a timed test): 1,000 real servers with
//! TCP checks at `delay_loop 1`, run by vrrpd and then by keepalived's
//! checker (`keepalived -C`) on the same director, reporting CPU, memory
//! and the time from a real server's failure to its removal.
//!
//! It runs only with `LVS_BENCH=1` on an IPVS kernel, as
//! `bash benches/lvs-checks.sh` arranges (in the VM); otherwise it prints
//! SKIP. Figures: docs/performance.md.
#![allow(clippy::unwrap_used)]

mod lab;

use std::os::fd::AsFd;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token};

use lab::Lab;

const VIP: &str = "10.99.0.50";
const N: u16 = 1000;
const BASE_PORT: u16 = 10000;
const RS: &str = "10.99.0.11";
/// How long each daemon runs before it is measured.
const SETTLE: Duration = Duration::from_secs(10);
const MEASURE: Duration = Duration::from_secs(30);

/// `(utime, stime)` in clock ticks and VmRSS in KiB of `pid` and its
/// children (keepalived forks its checker).
fn usage(pid: u32) -> ((u64, u64), u64) {
    let mut pids = vec![pid];
    if let Ok(rd) = std::fs::read_dir("/proc") {
        for e in rd.flatten() {
            let Ok(p) = e.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
            let fields: Vec<&str> = stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .split_whitespace()
                .collect();
            if fields.get(1).and_then(|x| x.parse::<u32>().ok()) == Some(pid) {
                pids.push(p);
            }
        }
    }
    let (mut user, mut sys, mut rss) = (0, 0, 0);
    for p in pids {
        let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
        let f: Vec<&str> = stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        // After the name: state is field 3, utime 14, stime 15 (1-based).
        let t = |i: usize| f.get(i).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
        user += t(11);
        sys += t(12);
        let status = std::fs::read_to_string(format!("/proc/{p}/status")).unwrap_or_default();
        rss += status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            .unwrap_or(0);
    }
    ((user, sys), rss)
}

fn present(lab: &Lab, port: u16) -> bool {
    let out = lab.ns_output(
        &lab.hosts[0].ns,
        &["ipvsadm", "-Ln", "-t", &format!("{VIP}:80")],
    );
    String::from_utf8_lossy(&out.stdout).contains(&format!("{RS}:{port} "))
}

fn count(lab: &Lab) -> usize {
    let out = lab.ns_output(
        &lab.hosts[0].ns,
        &["ipvsadm", "-Ln", "-t", &format!("{VIP}:80")],
    );
    String::from_utf8_lossy(&out.stdout)
        .matches("->")
        .count()
        .saturating_sub(1)
}

/// Runs one daemon (already started as `pid`): settles, measures, fails
/// one real server and times its removal. Prints one line.
fn measure(lab: &Lab, who: &str, pid: u32, servers: &mpsc::Sender<Cmd>, victim: u16) {
    let full = lab.wait_until(Duration::from_secs(60), || count(lab) == usize::from(N));
    assert!(
        full,
        "{who}: only {} real servers in the table\n{}",
        count(lab),
        lab.logs()
    );
    std::thread::sleep(SETTLE);
    let (t0, _) = usage(pid);
    let start = Instant::now();
    std::thread::sleep(MEASURE);
    let (t1, rss) = usage(pid);
    let secs = start.elapsed().as_secs_f64();
    // Clock ticks are 1/100 s on Linux (USER_HZ).
    let pct = |a: u64, b: u64| (b - a) as f64 / 100.0 / secs * 100.0;
    let (user, sys) = (pct(t0.0, t1.0), pct(t0.1, t1.1));
    let cpu = user + sys;
    let port = BASE_PORT + victim;
    servers.send(Cmd::Close(victim)).unwrap();
    let failed = Instant::now();
    let gone = lab.wait_until(Duration::from_secs(30), || !present(lab, port));
    let removal = failed.elapsed();
    assert!(gone, "{who}: {RS}:{port} never left the table");
    println!(
        "BENCH {who}: {N} real servers, delay_loop 1 s: CPU {cpu:.1} % of one core (user {user:.1}, system {sys:.1}), RSS {rss} KiB, removal after {:.2} s (bound 4 s)",
        removal.as_secs_f64()
    );
}

/// What the real servers' thread is told.
enum Cmd {
    /// Close the listener of port `BASE_PORT + i`.
    Close(u16),
    /// Open it again.
    Open(u16),
}

/// 1,000 listeners in namespace `ns`, on one thread with one poll:
/// connections are accepted and closed at once.
fn real_servers(ns: &str) -> mpsc::Sender<Cmd> {
    let (tx, rx) = mpsc::channel();
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let f = std::fs::File::open(&path).unwrap();
        nix::sched::setns(f.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        let mut poll = Poll::new().unwrap();
        let open = |poll: &Poll, i: u16| {
            let a = format!("{RS}:{}", BASE_PORT + i).parse().unwrap();
            let mut l = TcpListener::bind(a).unwrap();
            poll.registry()
                .register(&mut l, Token(usize::from(i)), Interest::READABLE)
                .unwrap();
            Some(l)
        };
        let mut ls: Vec<Option<TcpListener>> = (0..N).map(|i| open(&poll, i)).collect();
        let mut events = Events::with_capacity(1024);
        loop {
            match rx.try_recv() {
                Ok(Cmd::Close(i)) => ls[usize::from(i)] = None,
                Ok(Cmd::Open(i)) => ls[usize::from(i)] = open(&poll, i),
                Err(mpsc::TryRecvError::Disconnected) => return,
                Err(mpsc::TryRecvError::Empty) => {}
            }
            let _ = poll.poll(&mut events, Some(Duration::from_millis(50)));
            for ev in &events {
                if let Some(Some(l)) = ls.get(ev.token().0) {
                    while l.accept().is_ok() {}
                }
            }
        }
    });
    tx
}

#[test]
fn thousand_real_servers_vrrpd_and_keepalived() {
    if std::env::var_os("LVS_BENCH").is_none() || !std::path::Path::new("/proc/net/ip_vs").exists()
    {
        println!(
            "SKIP: the LVS benchmark runs with LVS_BENCH=1 on an IPVS kernel (bash benches/lvs-checks.sh)"
        );
        return;
    }
    let lab = Lab::new("lvb", 2);
    let ns = lab.hosts[1].ns.clone();
    let servers = real_servers(&ns);
    let mut ka = format!(
        "virtual_server {VIP} 80 {{\n  delay_loop 1\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n"
    );
    for i in 0..N {
        ka.push_str(&format!(
            "  real_server {RS} {} {{\n    TCP_CHECK {{\n      connect_timeout 1\n      retry 1\n      delay_before_retry 1\n    }}\n  }}\n",
            BASE_PORT + i
        ));
    }
    ka.push_str("}\n");
    let conf = lab.dir.path().join("ka.conf");
    std::fs::write(&conf, &ka).unwrap();

    let imported = vrrpd::import::import_file(&conf).unwrap();
    lab.write_vrrpd_toml(0, "", &imported.toml);
    let cfg = lab.vrrpd_config_path(0).display().to_string();
    let d0 = lab.hosts[0].ns.clone();
    let pid = lab.spawn_env(
        &d0,
        "vrrpd",
        &[lab::peers::vrrpd_bin(), "run", "-c", &cfg],
        &[("RUST_LOG", "warn")],
    );
    measure(&lab, "vrrpd", pid, &servers, 0);
    lab.signal("vrrpd", libc::SIGTERM);
    assert!(lab.wait_exit("vrrpd", Duration::from_secs(20)).is_some());
    assert!(lab.wait_until(Duration::from_secs(10), || count(&lab) == 0));

    let p = |s: &str| {
        lab.dir
            .path()
            .join(format!("ka.{s}.pid"))
            .display()
            .to_string()
    };
    let conf_s = conf.display().to_string();
    let pid = lab.spawn(
        &d0,
        "keepalived",
        &[
            "keepalived",
            "-n",
            "-l",
            "-C",
            "-f",
            &conf_s,
            "-p",
            &p("main"),
            "-r",
            &p("vrrp"),
            "-c",
            &p("chk"),
        ],
    );
    // The victim's listener is reopened for keepalived's turn.
    servers.send(Cmd::Open(0)).unwrap();
    measure(&lab, "keepalived -C", pid, &servers, 1);
    lab.signal("keepalived", libc::SIGTERM);
    let _ = lab.wait_exit("keepalived", Duration::from_secs(20));
}
