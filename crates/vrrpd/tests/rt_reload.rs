//! `vrrpd run` on one host in a network namespace (prefix `vdd`): SIGHUP
//! reloads by difference (an invalid file changes nothing, an unchanged
//! instance keeps its state and VIP, a new one starts, a removed one
//! releases), notify hooks get keepalived's arguments in order, and
//! SIGTERM with no backup still exits 0 without VIPs.
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
    fn new(tag: &str) -> Host {
        let ns = format!("vdd{tag}{}", std::process::id());
        sh(&["ip", "netns", "add", &ns]);
        let h = Host {
            ns,
            child: None,
            dir: tempfile::tempdir().unwrap(),
        };
        h.add_eth0();
        sh(&["ip", "-n", &h.ns, "link", "set", "lo", "up"]);
        h
    }

    fn add_eth0(&self) {
        let ns = self.ns.as_str();
        sh(&[
            "ip", "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p",
        ]);
        sh(&["ip", "-n", ns, "addr", "add", "10.99.8.1/24", "dev", "eth0"]);
        for l in ["eth0", "eth0p"] {
            sh(&["ip", "-n", ns, "link", "set", l, "up"]);
        }
    }

    fn sock(&self) -> PathBuf {
        self.dir.path().join("c.sock")
    }

    fn hook_log(&self) -> PathBuf {
        self.dir.path().join("hooks.log")
    }

    fn cfg(&self) -> PathBuf {
        self.dir.path().join("vrrpd.toml")
    }

    fn instance(&self, name: &str, vrid: u8, vip: &str) -> String {
        format!(
            r#"
[[instance]]
name = "{name}"
interface = "eth0"
vrid = {vrid}
version = 3
priority = 150
advert_interval = "100ms"
virtual_addresses = ["{vip}/24"]
garp_master_delay = "0s"
notify = ["/bin/sh", "-c", "echo \"$*\" >> {log}", "hook"]
"#,
            log = self.hook_log().display()
        )
    }

    fn write(&self, body: &str) {
        let text = format!(
            "[global]\ncontrol_socket = \"{}\"\nnotify_timeout = \"2s\"\n{body}",
            self.sock().display()
        );
        std::fs::write(self.cfg(), text).unwrap();
    }

    fn start(&mut self) {
        let log = std::fs::File::create(self.dir.path().join("vrrpd.log")).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", &self.ns, BIN, "run", "-c"])
            .arg(self.cfg())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    fn signal(&self, sig: &str) {
        let pid = self.child.as_ref().unwrap().id().to_string();
        sh(&["kill", sig, &pid]);
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("vrrpd.log")).unwrap_or_default()
    }

    fn has(&self, vip: &str) -> bool {
        let out = Command::new("ip")
            .args(["-n", &self.ns, "-o", "addr", "show", "dev", "eth0"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).contains(&format!("{vip}/24"))
    }

    fn status(&self) -> serde_json::Value {
        let out = Command::new(BIN)
            .args(["status", "--json", "-s"])
            .arg(self.sock())
            .output()
            .unwrap();
        assert!(out.status.success(), "status failed:\n{}", self.log());
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn instance_status(&self, name: &str) -> Option<serde_json::Value> {
        self.status()["data"]["instances"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == name)
            .cloned()
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

fn reloads(h: &Host) -> (u64, u64) {
    let d = &h.status()["data"]["daemon"];
    (
        d["reloads"].as_u64().unwrap(),
        d["reload_failures"].as_u64().unwrap(),
    )
}

#[test]
fn sighup_reloads_by_difference_and_hooks_run_in_order() {
    if !can_run() {
        eprintln!("skipped: needs root and `ip netns`");
        return;
    }
    let mut h = Host::new("r");
    let vi1 = h.instance("VI_1", 1, "10.99.8.100");
    let vi2 = h.instance("VI_2", 2, "10.99.8.101");
    h.write(&vi1);
    h.start();
    assert!(
        wait_for(Duration::from_secs(10), || h.has("10.99.8.100")
            && h.instance_status("VI_1")
                .is_some_and(|i| i["state"] == "master")),
        "VI_1 never became master:\n{}",
        h.log()
    );
    let since = h.instance_status("VI_1").unwrap()["last_transition"].clone();

    // An invalid file: logged, nothing changes.
    std::fs::write(h.cfg(), "[[instance]]\nname = 1\n").unwrap();
    h.signal("-HUP");
    assert!(
        wait_for(Duration::from_secs(5), || reloads(&h).1 == 1),
        "{}",
        h.log()
    );
    assert!(h.log().contains("reload refused"), "{}", h.log());
    assert_eq!(h.instance_status("VI_1").unwrap()["last_transition"], since);

    // Add VI_2; VI_1 is untouched (same transition, VIP never removed).
    h.write(&format!("{vi1}{vi2}"));
    h.signal("-HUP");
    let mut vip_lost = false;
    let ok = wait_for(Duration::from_secs(10), || {
        vip_lost |= !h.has("10.99.8.100");
        h.has("10.99.8.101")
            && h.instance_status("VI_2")
                .is_some_and(|i| i["state"] == "master")
    });
    assert!(ok, "VI_2 never became master:\n{}", h.log());
    assert!(!vip_lost, "VI_1's VIP went away during the reload");
    let vi1_now = h.instance_status("VI_1").unwrap();
    assert_eq!(vi1_now["state"], "master");
    assert_eq!(vi1_now["last_transition"], since);
    assert_eq!(reloads(&h), (1, 1));

    // Remove VI_1: it releases its VIP.
    h.write(&vi2);
    h.signal("-HUP");
    assert!(
        wait_for(Duration::from_secs(5), || !h.has("10.99.8.100")),
        "VI_1's VIP stayed:\n{}",
        h.log()
    );
    assert!(h.instance_status("VI_1").is_none());
    assert!(h.has("10.99.8.101"));

    // SIGTERM without a backup: the hand-over finds nobody, the instance
    // releases anyway and the daemon exits 0.
    let t = Instant::now();
    h.signal("-TERM");
    let mut exit = None;
    wait_for(Duration::from_secs(10), || {
        exit = h.child.as_mut().unwrap().try_wait().unwrap();
        exit.is_some()
    });
    let exit = exit.unwrap_or_else(|| panic!("did not exit:\n{}", h.log()));
    assert!(exit.success(), "{exit}:\n{}", h.log());
    let took = t.elapsed();
    assert!(took < Duration::from_secs(5), "stop took {took:?}");
    assert!(!h.has("10.99.8.101"));

    // Hooks: keepalived's arguments, in the order of the changes.
    let hooks = std::fs::read_to_string(h.hook_log()).unwrap();
    let lines: Vec<&str> = hooks.lines().collect();
    let vi1: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.contains("VI_1"))
        .collect();
    assert_eq!(
        vi1,
        [
            "INSTANCE VI_1 BACKUP 150",
            "INSTANCE VI_1 MASTER 150",
            "INSTANCE VI_1 STOP 150"
        ],
        "{hooks}"
    );
    let vi2: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.contains("VI_2"))
        .collect();
    // The stop's hand-over attempt (no backup answers) runs no hook: only STOP.
    assert_eq!(
        vi2,
        [
            "INSTANCE VI_2 BACKUP 150",
            "INSTANCE VI_2 MASTER 150",
            "INSTANCE VI_2 STOP 150"
        ],
        "{hooks}"
    );
    eprintln!("SIGTERM without backup: exit after {took:?}");
}

#[test]
fn a_recreated_interface_is_followed() {
    if !can_run() {
        eprintln!("skipped: needs root and `ip netns`");
        return;
    }
    let mut h = Host::new("i");
    let vi1 = h.instance("VI_1", 1, "10.99.8.100");
    h.write(&vi1);
    h.start();
    let state = |h: &Host| {
        h.instance_status("VI_1")
            .map(|i| i["state"].as_str().unwrap_or("").to_owned())
    };
    assert!(
        wait_for(Duration::from_secs(10), || h.has("10.99.8.100")
            && state(&h).as_deref() == Some("master")),
        "{}",
        h.log()
    );
    sh(&["ip", "-n", &h.ns, "link", "del", "eth0"]);
    assert!(
        wait_for(Duration::from_secs(5), || state(&h).as_deref()
            == Some("fault")),
        "not in fault after the interface was deleted:\n{}",
        h.log()
    );
    h.add_eth0();
    assert!(
        wait_for(Duration::from_secs(10), || h.has("10.99.8.100")
            && state(&h).as_deref() == Some("master")),
        "not master again on the new interface: {:?}\n{}",
        state(&h),
        h.log()
    );
    assert!(h.log().contains("was re-created"), "{}", h.log());
    h.signal("-TERM");
    let mut exit = None;
    wait_for(Duration::from_secs(10), || {
        exit = h.child.as_mut().unwrap().try_wait().unwrap();
        exit.is_some()
    });
    assert!(exit.is_some_and(|e| e.success()), "{}", h.log());
    assert!(!h.has("10.99.8.100"));
}

#[test]
fn a_changed_primary_address_is_followed() {
    if !can_run() {
        eprintln!("skipped: needs root and `ip netns`");
        return;
    }
    let mut h = Host::new("p");
    sh(&[
        "ip",
        "netns",
        "exec",
        &h.ns,
        "sysctl",
        "-qw",
        "net.ipv4.conf.eth0.promote_secondaries=1",
    ]);
    let vi1 = h.instance("VI_1", 1, "10.99.8.100");
    h.write(&vi1);
    h.start();
    let field = |h: &Host, k: &str| {
        h.instance_status("VI_1")
            .map(|i| i[k].as_str().unwrap_or("").to_owned())
    };
    assert!(
        wait_for(Duration::from_secs(10), || h.has("10.99.8.100")
            && field(&h, "state").as_deref() == Some("master")),
        "{}",
        h.log()
    );
    assert_eq!(field(&h, "source").as_deref(), Some("10.99.8.1"));
    // A second address changes nothing; removing the first one makes it
    // the source.
    sh(&[
        "ip",
        "-n",
        &h.ns,
        "addr",
        "add",
        "10.99.8.2/24",
        "dev",
        "eth0",
    ]);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(field(&h, "source").as_deref(), Some("10.99.8.1"));
    sh(&[
        "ip",
        "-n",
        &h.ns,
        "addr",
        "del",
        "10.99.8.1/24",
        "dev",
        "eth0",
    ]);
    assert!(
        wait_for(Duration::from_secs(10), || field(&h, "source").as_deref()
            == Some("10.99.8.2")
            && field(&h, "state").as_deref() == Some("master")
            && h.has("10.99.8.100")),
        "{:?} {:?}\n{}",
        field(&h, "source"),
        field(&h, "state"),
        h.log()
    );
    h.signal("-TERM");
    let mut exit = None;
    wait_for(Duration::from_secs(10), || {
        exit = h.child.as_mut().unwrap().try_wait().unwrap();
        exit.is_some()
    });
    assert!(exit.is_some_and(|e| e.success()), "{}", h.log());
    assert!(!h.has("10.99.8.100"));
    // Exactly one restart: no loop on the address events it causes.
    assert_eq!(
        h.log().matches("the interface's address changed").count(),
        1,
        "{}",
        h.log()
    );
    if std::env::var_os("VDD_SHOW_LOGS").is_some() {
        eprintln!("{}", h.log());
    }
}
