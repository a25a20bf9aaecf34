//! A throwaway network lab for end-to-end tests: hosts in network namespaces
//! joined by veth pairs to a bridge in its own namespace, plus a client that
//! measures, from outside, which host answers on a virtual IP and for how
//! long nobody did.
//!
//! Everything the lab creates (namespaces, processes) is removed on drop,
//! also when the test panics. Namespace names are `vd<tag><pid>-<role>`, so
//! concurrent tests and concurrent runs do not collide.
#![allow(dead_code, clippy::unwrap_used, unreachable_pub)]

use std::fs::File;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub mod frr;
pub mod peers;
pub mod smtp;

/// The UDP port the responders listen on.
pub const ECHO_PORT: u16 = 7777;

/// True if this process can build namespaces (root, `ip` present).
pub fn can_run() -> bool {
    let root = nix_uid_is_root();
    let ip = Command::new("ip").arg("-V").output().is_ok();
    if !(root && ip) {
        eprintln!("SKIP: namespace tests need root and iproute2");
    }
    root && ip
}

fn nix_uid_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// Runs a command, panicking with its output if it fails.
pub fn run(args: &[&str]) -> Output {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// One host of the lab.
#[derive(Debug, Clone)]
pub struct Host {
    /// Namespace name.
    pub ns: String,
    /// Interface inside the namespace.
    pub ifname: String,
    /// The bridge-side peer (in the bridge namespace).
    pub bridge_port: String,
    /// Primary IPv4 address.
    pub v4: IpAddr,
    /// Global IPv6 address.
    pub v6: IpAddr,
}

/// The lab: a bridge namespace, N hosts and a client.
pub struct Lab {
    /// Name prefix of every namespace.
    pub prefix: String,
    /// The bridge namespace.
    pub bridge_ns: String,
    /// The VRRP hosts.
    pub hosts: Vec<Host>,
    /// The client host (not running VRRP).
    pub client: Host,
    children: Mutex<Vec<(String, Child)>>,
    stop: Arc<AtomicBool>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    /// A scratch directory removed with the lab.
    pub dir: tempfile::TempDir,
}

impl Lab {
    /// Builds a lab with `n` hosts named after `tag` (at most 4 characters).
    pub fn new(tag: &str, n: usize) -> Lab {
        assert!(tag.len() <= 4 && n <= 9);
        let prefix = format!("vd{tag}{}", std::process::id() % 100_000);
        let bridge_ns = format!("{prefix}-br");
        let mut lab = Lab {
            bridge_ns: bridge_ns.clone(),
            hosts: Vec::new(),
            client: Host {
                ns: format!("{prefix}-c"),
                ifname: "eth0".into(),
                bridge_port: "p-c".into(),
                v4: "10.99.0.100".parse().unwrap(),
                v6: "fd00:99::100".parse().unwrap(),
            },
            prefix,
            children: Mutex::new(Vec::new()),
            stop: Arc::new(AtomicBool::new(false)),
            threads: Mutex::new(Vec::new()),
            dir: tempfile::tempdir().unwrap(),
        };
        // Remove leftovers of an earlier run with the same pid, then build.
        lab.cleanup_namespaces();
        run(&["ip", "netns", "add", &bridge_ns]);
        lab.ns_run(&bridge_ns, &["ip", "link", "add", "br0", "type", "bridge"]);
        // No STP listening delay: ports forward at once.
        lab.ns_run(
            &bridge_ns,
            &[
                "ip",
                "link",
                "set",
                "br0",
                "type",
                "bridge",
                "forward_delay",
                "0",
                "stp_state",
                "0",
            ],
        );
        lab.ns_run(&bridge_ns, &["ip", "link", "set", "br0", "up"]);
        for i in 0..n {
            let host = Host {
                ns: format!("{}-h{i}", lab.prefix),
                ifname: "eth0".into(),
                bridge_port: format!("p-h{i}"),
                v4: format!("10.99.0.{}", 10 + i).parse().unwrap(),
                v6: format!("fd00:99::{}", 10 + i).parse().unwrap(),
            };
            lab.add_host(&host);
            lab.hosts.push(host);
        }
        let client = lab.client.clone();
        lab.add_host(&client);
        lab
    }

    fn add_host(&self, h: &Host) {
        run(&["ip", "netns", "add", &h.ns]);
        run(&[
            "ip",
            "-n",
            &self.bridge_ns,
            "link",
            "add",
            &h.bridge_port,
            "type",
            "veth",
            "peer",
            "name",
            &h.ifname,
            "netns",
            &h.ns,
        ]);
        self.ns_run(
            &self.bridge_ns,
            &["ip", "link", "set", &h.bridge_port, "master", "br0", "up"],
        );
        self.ns_run(&h.ns, &["ip", "link", "set", "lo", "up"]);
        self.ns_run(&h.ns, &["sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0"]);
        self.ns_run(
            &h.ns,
            &[
                "sysctl",
                "-qw",
                &format!("net.ipv6.conf.{}.accept_dad=0", h.ifname),
            ],
        );
        // Accept gratuitous ARP, so that a VIP move updates the neighbour entry.
        self.ns_run(&h.ns, &["sysctl", "-qw", "net.ipv4.conf.all.arp_accept=1"]);
        self.ns_run(
            &h.ns,
            &[
                "sysctl",
                "-qw",
                &format!("net.ipv4.conf.{}.arp_accept=1", h.ifname),
            ],
        );
        self.ns_run(
            &h.ns,
            &[
                "ip",
                "addr",
                "add",
                &format!("{}/24", h.v4),
                "dev",
                &h.ifname,
            ],
        );
        self.ns_run(
            &h.ns,
            &[
                "ip",
                "addr",
                "add",
                &format!("{}/64", h.v6),
                "dev",
                &h.ifname,
                "nodad",
            ],
        );
        self.ns_run(&h.ns, &["ip", "link", "set", &h.ifname, "up"]);
    }

    /// Runs `args` inside namespace `ns`, panicking on failure.
    pub fn ns_run(&self, ns: &str, args: &[&str]) -> Output {
        let mut full = vec!["ip", "netns", "exec", ns];
        full.extend_from_slice(args);
        run(&full)
    }

    /// Runs `args` inside namespace `ns` and returns the output, failed or not.
    pub fn ns_output(&self, ns: &str, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", ns])
            .args(args)
            .output()
            .unwrap()
    }

    /// Starts a long-running process in `ns`; it is killed when the lab drops.
    /// Its output goes to `<lab dir>/<name>.log`.
    pub fn spawn(&self, ns: &str, name: &str, args: &[&str]) -> u32 {
        self.spawn_env(ns, name, args, &[])
    }

    /// As [`Lab::spawn`], with extra environment variables.
    pub fn spawn_env(&self, ns: &str, name: &str, args: &[&str], env: &[(&str, &str)]) -> u32 {
        let log = self.log_path(name);
        let out = File::create(&log).unwrap();
        let err = out.try_clone().unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", ns])
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("{args:?}: {e}"));
        let pid = child.id();
        self.children.lock().unwrap().push((name.to_owned(), child));
        pid
    }

    /// Path of a spawned process's log.
    pub fn log_path(&self, name: &str) -> PathBuf {
        self.dir.path().join(format!("{name}.log"))
    }

    /// The log of a spawned process so far.
    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.log_path(name)).unwrap_or_default()
    }

    /// Sends `signal` to the process started as `name` (by its pid).
    pub fn signal(&self, name: &str, signal: i32) {
        let children = self.children.lock().unwrap();
        let (_, child) = children
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no process {name}"));
        // `ip netns exec` execs the command, so the pid is the process itself.
        let rc = unsafe_kill(child.id(), signal);
        assert!(rc, "kill {name}");
    }

    /// Waits up to `timeout` for the process `name` to exit; its status.
    pub fn wait_exit(&self, name: &str, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            {
                let mut children = self.children.lock().unwrap();
                let (_, child) = children.iter_mut().find(|(n, _)| n == name)?;
                if let Ok(Some(status)) = child.try_wait() {
                    return Some(status);
                }
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Takes the host's bridge port down (its link is lost) or up.
    pub fn set_link(&self, host: &Host, up: bool) {
        let state = if up { "up" } else { "down" };
        self.ns_run(
            &self.bridge_ns,
            &["ip", "link", "set", &host.bridge_port, state],
        );
    }

    /// The addresses on a host's interface, as `ip -o addr` prints them.
    pub fn addrs(&self, host: &Host) -> String {
        String::from_utf8_lossy(
            &self
                .ns_run(&host.ns, &["ip", "-o", "addr", "show", "dev", &host.ifname])
                .stdout,
        )
        .into_owned()
    }

    /// True if `addr` is configured on the host's interface.
    pub fn has_addr(&self, host: &Host, addr: IpAddr) -> bool {
        self.addrs(host)
            .split_whitespace()
            .any(|w| w.split('/').next() == Some(&addr.to_string()))
    }

    /// True if `cidr` (address and prefix length, e.g. `10.99.0.200/32`) is
    /// configured on the host's interface.
    pub fn has_cidr(&self, host: &Host, cidr: &str) -> bool {
        self.addrs(host).split_whitespace().any(|w| w == cidr)
    }

    /// Waits until `pred` holds, polling every 20 ms; false on timeout.
    pub fn wait_until(&self, timeout: Duration, mut pred: impl FnMut() -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if pred() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        pred()
    }

    /// Starts a UDP responder on every host: it answers each datagram with
    /// the host's index, so the client sees who holds the VIP.
    pub fn start_responders(&self) {
        for (i, h) in self.hosts.iter().enumerate() {
            let sock = in_netns(&h.ns, || UdpSocket::bind(("::", ECHO_PORT)).unwrap());
            sock.set_read_timeout(Some(Duration::from_millis(50)))
                .unwrap();
            let stop = self.stop.clone();
            let t = std::thread::spawn(move || {
                let mut buf = [0u8; 64];
                while !stop.load(Ordering::Relaxed) {
                    if let Ok((n, from)) = sock.recv_from(&mut buf) {
                        if n >= 8 {
                            buf[8] = i as u8;
                            let _ = sock.send_to(&buf[..9], from);
                        }
                    }
                }
            });
            self.threads.lock().unwrap().push(t);
        }
    }

    /// Starts a client that sends a datagram to `vip` every `period` and
    /// records which host answered each one.
    pub fn start_prober(&self, vip: IpAddr, period: Duration) -> Prober {
        let sock = in_netns(&self.client.ns, move || {
            let bind: SocketAddr = if vip.is_ipv4() {
                "0.0.0.0:0".parse().unwrap()
            } else {
                "[::]:0".parse().unwrap()
            };
            UdpSocket::bind(bind).unwrap()
        });
        sock.set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let record = Arc::new(Mutex::new(Vec::<Probe>::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let start = Instant::now();
        let target = SocketAddr::new(vip, ECHO_PORT);
        // Sender: paced by absolute deadlines, so a slow iteration does not
        // stretch the schedule.
        let (rec, st) = (record.clone(), stop.clone());
        let sender = sock.try_clone().unwrap();
        let t = std::thread::spawn(move || {
            let mut seq: u64 = 0;
            let mut next = Instant::now();
            while !st.load(Ordering::Relaxed) {
                let now = Instant::now();
                if now < next {
                    std::thread::sleep(next - now);
                    continue;
                }
                rec.lock().unwrap().push(Probe {
                    sent: now - start,
                    host: None,
                });
                let _ = sender.send_to(&seq.to_be_bytes(), target);
                seq += 1;
                next += period;
            }
        });
        // Receiver: marks which host answered each probe.
        let (rec, st) = (record.clone(), stop.clone());
        let r = std::thread::spawn(move || {
            let mut buf = [0u8; 64];
            while !st.load(Ordering::Relaxed) {
                if let Ok(n) = sock.recv(&mut buf) {
                    if n >= 9 {
                        let s = u64::from_be_bytes(buf[..8].try_into().unwrap()) as usize;
                        if let Some(p) = rec.lock().unwrap().get_mut(s) {
                            p.host.get_or_insert(buf[8]);
                        }
                    }
                }
            }
        });
        self.threads.lock().unwrap().push(r);
        Prober {
            record,
            stop,
            thread: Some(t),
            period,
        }
    }

    fn cleanup_namespaces(&self) {
        let list = Command::new("ip").args(["netns", "list"]).output();
        if let Ok(out) = list {
            for line in String::from_utf8_lossy(&out.stdout).lines() {
                let name = line.split_whitespace().next().unwrap_or("");
                if name.starts_with(&format!("{}-", self.prefix)) {
                    let _ = Command::new("ip").args(["netns", "del", name]).status();
                }
            }
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Ok(mut children) = self.children.lock() {
            for (_, c) in children.iter_mut() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
        if let Ok(mut threads) = self.threads.lock() {
            for t in threads.drain(..) {
                let _ = t.join();
            }
        }
        if std::thread::panicking() {
            // Leave the logs where a developer can read them.
            let keep = self.dir.path().to_owned();
            eprintln!("lab logs kept in {}", keep.display());
            let _ = std::fs::create_dir_all("/tmp/vrrpd-lab-logs");
            if let Ok(entries) = std::fs::read_dir(&keep) {
                for e in entries.flatten() {
                    let _ = std::fs::copy(
                        e.path(),
                        PathBuf::from("/tmp/vrrpd-lab-logs").join(format!(
                            "{}-{}",
                            self.prefix,
                            e.file_name().to_string_lossy()
                        )),
                    );
                }
            }
        }
        self.cleanup_namespaces();
    }
}

/// One probe datagram: when it was sent and which host answered, if any.
#[derive(Debug, Clone, Copy)]
pub struct Probe {
    /// Time since the prober started.
    pub sent: Duration,
    /// Index of the host that answered.
    pub host: Option<u8>,
}

/// A running client prober.
pub struct Prober {
    record: Arc<Mutex<Vec<Probe>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    period: Duration,
}

impl Prober {
    /// The host that answered the latest answered probe.
    pub fn current_host(&self) -> Option<u8> {
        let rec = self.record.lock().unwrap();
        // Skip the last few, whose answers may still be in flight.
        rec.iter().rev().skip(20).find_map(|p| p.host)
    }

    /// Waits until `host` answers probes (checked on recent probes).
    pub fn wait_for_host(&self, host: u8, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.current_host() == Some(host) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Stops probing and returns the record.
    pub fn finish(mut self) -> ProbeReport {
        std::thread::sleep(Duration::from_millis(50));
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let probes = std::mem::take(&mut *self.record.lock().unwrap());
        ProbeReport {
            probes,
            period: self.period,
        }
    }
}

impl Drop for Prober {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What the client saw.
#[derive(Debug)]
pub struct ProbeReport {
    /// Every probe, in order.
    pub probes: Vec<Probe>,
    /// Time between probes.
    pub period: Duration,
}

impl ProbeReport {
    /// Probes that got no answer, not counting the last 10 (in flight).
    pub fn lost(&self) -> usize {
        let n = self.probes.len().saturating_sub(10);
        self.probes[..n].iter().filter(|p| p.host.is_none()).count()
    }

    /// The longest run of unanswered probes, as time from the first lost
    /// probe to the next answered one.
    pub fn longest_outage(&self) -> Duration {
        let mut worst = Duration::ZERO;
        let mut start: Option<Duration> = None;
        for p in &self.probes {
            match (p.host, start) {
                (None, None) => start = Some(p.sent),
                (Some(_), Some(s)) => {
                    worst = worst.max(p.sent - s);
                    start = None;
                }
                _ => {}
            }
        }
        worst
    }

    /// The hosts that answered, in the order they took over.
    pub fn holders(&self) -> Vec<u8> {
        let mut out: Vec<u8> = Vec::new();
        for h in self.probes.iter().filter_map(|p| p.host) {
            if out.last() != Some(&h) {
                out.push(h);
            }
        }
        out
    }
}

/// Runs `f` on a thread that has entered namespace `ns`; sockets it creates
/// stay in that namespace after the thread ends.
pub fn in_netns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        nix::sched::setns(file.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        f()
    })
    .join()
    .unwrap()
}

fn unsafe_kill(pid: u32, signal: i32) -> bool {
    let Ok(sig) = nix::sys::signal::Signal::try_from(signal) else {
        return false;
    };
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), sig).is_ok()
}
