//! Smoke test of `vrrpd run` on two hosts in network namespaces (prefix
//! `vdd`): the higher priority becomes master and holds the VIP, `vrrpd
//! status --json` says so, and after SIGTERM the master exits 0 having
//! removed its VIP while the other host takes it over.
//!
//! Needs root and `ip netns`; skips with a message otherwise.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_vrrpd");

fn can_run() -> bool {
    let root = std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false);
    root && Command::new("ip")
        .args(["netns", "list"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn sh(args: &[&str]) {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Deletes the namespaces and kills the daemons it started, even on failure.
struct Lab {
    namespaces: Vec<String>,
    children: Vec<Child>,
    dir: tempfile::TempDir,
}

impl Drop for Lab {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for ns in &self.namespaces {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

impl Lab {
    fn new(tag: &str) -> Lab {
        let pid = std::process::id();
        let br = format!("vdd{tag}br{pid}");
        let mut lab = Lab {
            namespaces: Vec::new(),
            children: Vec::new(),
            dir: tempfile::tempdir().unwrap(),
        };
        sh(&["ip", "netns", "add", &br]);
        lab.namespaces.push(br.clone());
        sh(&["ip", "-n", &br, "link", "add", "br0", "type", "bridge"]);
        sh(&["ip", "-n", &br, "link", "set", "br0", "up"]);
        lab
    }

    fn bridge(&self) -> String {
        self.namespaces[0].clone()
    }

    /// Adds host `name` with eth0 = `addr` (CIDR) on the bridge.
    fn host(&mut self, name: &str, addr: &str) -> String {
        let pid = std::process::id();
        let ns = format!("vdd{name}{pid}");
        let br = self.bridge();
        sh(&["ip", "netns", "add", &ns]);
        self.namespaces.push(ns.clone());
        let peer = format!("v{name}{pid}");
        sh(&[
            "ip", "-n", &ns, "link", "add", "eth0", "type", "veth", "peer", "name", &peer, "netns",
            &br,
        ]);
        sh(&["ip", "-n", &br, "link", "set", &peer, "master", "br0", "up"]);
        sh(&["ip", "-n", &ns, "addr", "add", addr, "dev", "eth0"]);
        sh(&["ip", "-n", &ns, "link", "set", "eth0", "up"]);
        sh(&["ip", "-n", &ns, "link", "set", "lo", "up"]);
        ns
    }

    fn config(&self, name: &str, priority: u8) -> (PathBuf, PathBuf) {
        let sock = self.dir.path().join(format!("{name}.sock"));
        let path = self.dir.path().join(format!("{name}.toml"));
        let text = format!(
            r#"
[global]
control_socket = "{}"
metrics_listen = "127.0.0.1:19650"

[[instance]]
name = "VI_1"
interface = "eth0"
vrid = 42
version = 3
priority = {priority}
advert_interval = "100ms"
virtual_addresses = ["10.99.7.100/24"]
garp_master_delay = "0s"
"#,
            sock.display()
        );
        std::fs::write(&path, text).unwrap();
        (path, sock)
    }

    fn start(&mut self, ns: &str, cfg: &Path) -> usize {
        let log = std::fs::File::create(self.dir.path().join(format!("{ns}.log"))).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", ns, BIN, "run", "-c"])
            .arg(cfg)
            .env("RUST_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.children.push(child);
        self.children.len() - 1
    }

    fn log(&self, ns: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("{ns}.log"))).unwrap_or_default()
    }
}

fn has_vip(ns: &str) -> bool {
    let out = Command::new("ip")
        .args(["-n", ns, "-o", "addr", "show", "dev", "eth0"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).contains("10.99.7.100/24")
}

fn status(sock: &Path) -> Option<serde_json::Value> {
    let out = Command::new(BIN)
        .args(["status", "--json", "-s"])
        .arg(sock)
        .output()
        .unwrap();
    if !out.status.success() {
        return None;
    }
    serde_json::from_slice(&out.stdout).ok()
}

fn state_of(sock: &Path) -> Option<String> {
    let v = status(sock)?;
    v["data"]["instances"][0]["state"]
        .as_str()
        .map(str::to_owned)
}

fn wait_for(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    f()
}

#[test]
fn master_holds_the_vip_and_hands_it_over_on_sigterm() {
    if !can_run() {
        eprintln!("skipped: needs root and `ip netns`");
        return;
    }
    let t0 = Instant::now();
    let mut lab = Lab::new("s");
    let a = lab.host("a", "10.99.7.1/24");
    let b = lab.host("b", "10.99.7.2/24");
    let (cfg_a, sock_a) = lab.config("a", 200);
    let (cfg_b, sock_b) = lab.config("b", 100);
    let ia = lab.start(&a, &cfg_a);
    lab.start(&b, &cfg_b);

    let ok = wait_for(Duration::from_secs(10), || {
        has_vip(&a) && state_of(&sock_a).as_deref() == Some("master")
    });
    assert!(ok, "a never became master:\n{}", lab.log(&a));
    assert!(
        wait_for(Duration::from_secs(5), || state_of(&sock_b).as_deref()
            == Some("backup")),
        "b is not backup:\n{}",
        lab.log(&b)
    );
    assert!(!has_vip(&b));

    // The contract fields.
    let st = status(&sock_a).unwrap();
    assert_eq!(st["ok"], true);
    let i = &st["data"]["instances"][0];
    assert_eq!(i["name"], "VI_1");
    assert_eq!(i["interface"], "eth0");
    assert_eq!(i["vrid"], 42);
    assert_eq!(i["family"], "ipv4");
    assert_eq!(i["version"], 3);
    assert_eq!(i["priority"]["configured"], 200);
    assert_eq!(i["priority"]["effective"], 200);
    assert!(i["priority"]["breakdown"].is_array());
    assert_eq!(i["master_address"], "10.99.7.1");
    assert!(i["counters"]["adverts_sent"].as_u64().unwrap() > 0);
    assert_eq!(i["last_transition"]["to"], "master");
    assert_eq!(i["maintenance"], false);
    let sb = status(&sock_b).unwrap();
    assert_eq!(sb["data"]["instances"][0]["master_address"], "10.99.7.1");
    assert!(
        sb["data"]["instances"][0]["counters"]["adverts_received"]
            .as_u64()
            .unwrap()
            > 0
    );

    // The Prometheus endpoint (inside the namespace) says the same.
    let out = Command::new("ip")
        .args(["netns", "exec", &a, "bash", "-c"])
        .arg("exec 3<>/dev/tcp/127.0.0.1/19650; printf 'GET /metrics HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
    assert!(
        text.contains(
            "vrrpd_instance_state{instance=\"VI_1\",interface=\"eth0\",vrid=\"42\",family=\"ipv4\",state=\"master\"} 1"
        ),
        "{text}"
    );

    // An unknown instance is refused with exit 1, a dead socket is exit 2.
    let out = Command::new(BIN)
        .args(["switchover", "nope", "-s"])
        .arg(&sock_a)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown instance"));
    let out = Command::new(BIN)
        .args(["status", "-s", "/nonexistent/vdd.sock"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));

    // SIGTERM the master: it exits 0 without the VIP; b takes it over.
    let pid = lab.children[ia].id();
    // `ip netns exec` execs the daemon, so this pid is vrrpd's.
    sh(&["kill", "-TERM", &pid.to_string()]);
    let stopped = Instant::now();
    let mut exit = None;
    wait_for(Duration::from_secs(10), || {
        exit = lab.children[ia].try_wait().unwrap();
        exit.is_some()
    });
    let exit = exit.unwrap_or_else(|| panic!("a did not exit:\n{}", lab.log(&a)));
    assert!(exit.success(), "a exited with {exit}:\n{}", lab.log(&a));
    assert!(!has_vip(&a), "a left its VIP behind");
    assert!(
        wait_for(Duration::from_secs(3), || has_vip(&b)),
        "b did not take the VIP:\n{}",
        lab.log(&b)
    );
    assert_eq!(state_of(&sock_b).as_deref(), Some("master"));
    eprintln!(
        "stop to exit {:?}; whole test {:?}",
        stopped.elapsed(),
        t0.elapsed()
    );
    assert!(lab.log(&a).contains("switchover"), "{}", lab.log(&a));
    if std::env::var_os("VDD_SHOW_LOGS").is_some() {
        eprintln!("--- a ---\n{}\n--- b ---\n{}", lab.log(&a), lab.log(&b));
    }
}
