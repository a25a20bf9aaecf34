//! `vrrpd run` with a sync group and tracked objects on one host in a
//! network namespace (prefix `vdd`): the group becomes master together and
//! its group hook runs with keepalived's arguments; a tracked interface with
//! weight 0 going down takes the whole group to Fault (addresses removed)
//! and back; maintenance of one member moves the group.
//!
//! Needs root and `ip netns`; skips with a message otherwise.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
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

struct Host {
    ns: String,
    child: Option<Child>,
    dir: tempfile::TempDir,
}

impl Drop for Host {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
    }
}

impl Host {
    fn sock(&self) -> PathBuf {
        self.dir.path().join("c.sock")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("vrrpd.log")).unwrap_or_default()
    }

    fn hooks(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("hooks.log")).unwrap_or_default()
    }

    fn has(&self, vip: &str) -> bool {
        let out = Command::new("ip")
            .args(["-n", &self.ns, "-o", "addr", "show", "dev", "eth0"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).contains(&format!("{vip}/32"))
    }

    fn cli(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::new(BIN)
            .args(args)
            .arg("-s")
            .arg(self.sock())
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn states(&self) -> Vec<(String, String)> {
        let (code, out, _) = self.cli(&["status", "--json"]);
        if code != 0 {
            return Vec::new();
        }
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v["data"]["instances"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["name"].as_str().unwrap().to_owned(),
                    i["state"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    fn all_in(&self, state: &str) -> bool {
        let s = self.states();
        !s.is_empty() && s.iter().all(|(_, st)| st == state)
    }
}

fn wait_for(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(30));
    }
    f()
}

#[test]
fn sync_group_moves_together_with_tracking_and_maintenance() {
    if !can_run() {
        eprintln!("skipped: needs root and `ip netns`");
        return;
    }
    let ns = format!("vddg{}", std::process::id());
    sh(&["ip", "netns", "add", &ns]);
    let mut h = Host {
        ns: ns.clone(),
        child: None,
        dir: tempfile::tempdir().unwrap(),
    };
    for (a, b) in [("eth0", "eth0p"), ("eth1", "eth1p")] {
        sh(&[
            "ip", "-n", &ns, "link", "add", a, "type", "veth", "peer", "name", b,
        ]);
    }
    sh(&[
        "ip",
        "-n",
        &ns,
        "addr",
        "add",
        "10.99.10.1/24",
        "dev",
        "eth0",
    ]);
    for l in ["eth0", "eth0p", "eth1", "eth1p", "lo"] {
        sh(&["ip", "-n", &ns, "link", "set", l, "up"]);
    }
    let log = h.dir.path().join("hooks.log");
    let inst = |name: &str, vrid: u8, vip: &str| {
        format!(
            r#"
[[instance]]
name = "{name}"
interface = "eth0"
vrid = {vrid}
version = 3
priority = 150
advert_interval = "100ms"
virtual_addresses = ["{vip}"]
garp_master_delay = "0s"
track_interfaces = ["eth1"]
"#
        )
    };
    let cfg = format!(
        r#"[global]
control_socket = "{sock}"
{a}{b}
[[sync_group]]
name = "G"
instances = ["VI_A", "VI_B"]
notify = ["/bin/sh", "-c", "echo \"$*\" >> {log}", "hook"]
"#,
        sock = h.sock().display(),
        a = inst("VI_A", 1, "10.99.10.100"),
        b = inst("VI_B", 2, "10.99.10.101"),
        log = log.display()
    );
    let path = h.dir.path().join("vrrpd.toml");
    std::fs::write(&path, cfg).unwrap();
    let err = std::fs::File::create(h.dir.path().join("vrrpd.log")).unwrap();
    h.child = Some(
        Command::new("ip")
            .args(["netns", "exec", &ns, BIN, "run", "-c"])
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .unwrap(),
    );

    assert!(
        wait_for(Duration::from_secs(10), || h.all_in("master")
            && h.has("10.99.10.100")
            && h.has("10.99.10.101")),
        "group never became master: {:?}\n{}",
        h.states(),
        h.log()
    );
    assert!(
        wait_for(Duration::from_secs(3), || h
            .hooks()
            .contains("GROUP G MASTER 0")),
        "{}",
        h.hooks()
    );

    // Tracked interface (weight 0) down: the group goes to Fault, VIPs go.
    sh(&["ip", "-n", &ns, "link", "set", "eth1", "down"]);
    assert!(
        wait_for(Duration::from_secs(5), || h.all_in("fault")
            && !h.has("10.99.10.100")
            && !h.has("10.99.10.101")),
        "not in fault: {:?}\n{}",
        h.states(),
        h.log()
    );
    let (_, out, _) = h.cli(&["status", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let b = &v["data"]["instances"][0]["priority"]["breakdown"][0];
    assert_eq!(
        (&b["name"], &b["kind"], &b["state"], &b["contribution"]),
        (
            &serde_json::json!("eth1"),
            &serde_json::json!("interface"),
            &serde_json::json!("down"),
            &serde_json::json!("fault")
        )
    );
    sh(&["ip", "-n", &ns, "link", "set", "eth1", "up"]);
    assert!(
        wait_for(Duration::from_secs(10), || h.all_in("master")),
        "did not recover: {:?}\n{}",
        h.states(),
        h.log()
    );

    // Maintenance of one member moves the whole group; the CLI says so.
    let (code, out, err) = h.cli(&["maintenance", "VI_A", "on"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("sync group G"), "{out}");
    assert!(
        wait_for(Duration::from_secs(5), || h.all_in("backup")
            && !h.has("10.99.10.100")
            && !h.has("10.99.10.101")),
        "maintenance: {:?}\n{}",
        h.states(),
        h.log()
    );
    let (code, _, err) = h.cli(&["switchover", "VI_B"]);
    assert_eq!(code, 1, "a group in maintenance cannot hand over");
    assert!(!err.is_empty());
    let (code, _, _) = h.cli(&["maintenance", "VI_A", "off"]);
    assert_eq!(code, 0);
    assert!(
        wait_for(Duration::from_secs(10), || h.all_in("master")),
        "{:?}\n{}",
        h.states(),
        h.log()
    );

    let pid = h.child.as_ref().unwrap().id().to_string();
    sh(&["kill", "-TERM", &pid]);
    let mut exit = None;
    wait_for(Duration::from_secs(10), || {
        exit = h.child.as_mut().unwrap().try_wait().unwrap();
        exit.is_some()
    });
    assert!(exit.is_some_and(|e| e.success()), "{}", h.log());
    assert!(!h.has("10.99.10.100") && !h.has("10.99.10.101"));
    let hooks = h.hooks();
    let order: Vec<&str> = hooks.lines().collect();
    assert_eq!(order.first(), Some(&"GROUP G BACKUP 0"), "{hooks}");
    assert!(order.contains(&"GROUP G FAULT 0"), "{hooks}");
    assert_eq!(order.last(), Some(&"GROUP G STOP 0"), "{hooks}");
}
