//! Running VRRP speakers on lab hosts: vrrpd (the binary under test) and
//! keepalived (the reference peer), with helpers to read vrrpd's status.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use super::Lab;

/// The vrrpd binary built for this test run.
pub fn vrrpd_bin() -> &'static str {
    env!("CARGO_BIN_EXE_vrrpd")
}

/// True if keepalived can be run; prints why not.
pub fn keepalived_available() -> bool {
    let ok = Command::new("keepalived").arg("--version").output().is_ok();
    if !ok {
        eprintln!("SKIP: keepalived is not installed (scripts/setup.sh installs it)");
    }
    ok
}

/// One VRRP instance as the tests describe it; rendered to vrrpd TOML or to
/// keepalived.conf.
#[derive(Debug, Clone)]
pub struct Inst {
    /// Instance name.
    pub name: String,
    /// VRID.
    pub vrid: u8,
    /// 2 or 3.
    pub version: u8,
    /// Priority.
    pub priority: u8,
    /// Advertisement interval in milliseconds.
    pub advert_ms: u32,
    /// Virtual addresses with prefix, e.g. "10.99.0.200/24".
    pub vips: Vec<String>,
    /// Preempt.
    pub preempt: bool,
    /// v2 password.
    pub password: Option<String>,
    /// Extra TOML lines for vrrpd (tracking, hooks, ...).
    pub extra: String,
    /// Extra lines inside keepalived's `vrrp_instance` block.
    pub keepalived_extra: String,
}

impl Inst {
    /// A VRRPv3 instance with a 100 ms interval.
    pub fn v3(name: &str, vrid: u8, priority: u8, vip: &str) -> Inst {
        Inst {
            name: name.into(),
            vrid,
            version: 3,
            priority,
            advert_ms: 100,
            vips: vec![vip.into()],
            preempt: true,
            password: None,
            extra: String::new(),
            keepalived_extra: String::new(),
        }
    }

    /// A VRRPv2 instance with a 1 s interval (the v2 minimum).
    pub fn v2(name: &str, vrid: u8, priority: u8, vip: &str) -> Inst {
        Inst {
            version: 2,
            advert_ms: 1000,
            ..Inst::v3(name, vrid, priority, vip)
        }
    }

    /// This instance as a vrrpd `[[instance]]` table on `eth0`.
    pub fn toml(&self) -> String {
        let vips: Vec<String> = self.vips.iter().map(|v| format!("\"{v}\"")).collect();
        let mut s = format!(
            "[[instance]]\nname = \"{}\"\ninterface = \"eth0\"\nvrid = {}\nversion = {}\npriority = {}\nadvert_interval = \"{}ms\"\nvirtual_addresses = [{}]\npreempt = {}\n",
            self.name,
            self.vrid,
            self.version,
            self.priority,
            self.advert_ms,
            vips.join(", "),
            self.preempt
        );
        if let Some(p) = &self.password {
            s.push_str(&format!(
                "authentication = {{ type = \"pass\", password = \"{p}\" }}\n"
            ));
        }
        s.push_str(&self.extra);
        s.push('\n');
        s
    }

    fn keepalived(&self) -> String {
        let vips: Vec<String> = self.vips.iter().map(|v| format!("    {v}\n")).collect();
        let auth = match &self.password {
            Some(p) => {
                format!("  authentication {{\n    auth_type PASS\n    auth_pass {p}\n  }}\n")
            }
            None => String::new(),
        };
        let preempt = if self.preempt { "" } else { "  nopreempt\n" };
        format!(
            "vrrp_instance {} {{\n  state BACKUP\n  interface eth0\n  virtual_router_id {}\n  version {}\n  priority {}\n  advert_int {}\n{preempt}{auth}{}  virtual_ipaddress {{\n{}  }}\n}}\n",
            self.name,
            self.vrid,
            self.version,
            self.priority,
            f64::from(self.advert_ms) / 1000.0,
            self.keepalived_extra,
            vips.concat()
        )
    }
}

impl Lab {
    /// The control socket path of host `i`.
    pub fn control_socket(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("h{i}.sock"))
    }

    /// Path of host `i`'s vrrpd config file.
    pub fn vrrpd_config_path(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("h{i}.toml"))
    }

    /// Writes host `i`'s vrrpd config (control socket in the lab dir,
    /// `tail` appended after the instances) and returns its path.
    pub fn write_vrrpd_config(&self, i: usize, insts: &[Inst], tail: &str) -> PathBuf {
        let mut body = String::new();
        for inst in insts {
            body.push_str(&inst.toml());
        }
        body.push_str(tail);
        self.write_vrrpd_toml(i, "", &body)
    }

    /// Writes host `i`'s vrrpd config from raw TOML: a `[global]` table
    /// with the lab's control socket plus `global` lines, then `body`
    /// (instances, sync groups, ...). Returns its path.
    pub fn write_vrrpd_toml(&self, i: usize, global: &str, body: &str) -> PathBuf {
        let text = format!(
            "[global]\ncontrol_socket = \"{}\"\n{global}\n{body}",
            self.control_socket(i).display()
        );
        let path = self.vrrpd_config_path(i);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Starts vrrpd on host `i` with `insts`; the process is named `vrrpd{i}`
    /// (a restart gets a new name: `vrrpd{i}.{n}`).
    pub fn start_vrrpd(&self, i: usize, name: &str, insts: &[Inst], tail: &str) {
        self.write_vrrpd_config(i, insts, tail);
        self.spawn_vrrpd(i, name, &[("RUST_LOG", "debug")]);
    }

    /// Starts vrrpd on host `i` with the config file already written there
    /// (see [`Lab::write_vrrpd_toml`]), as process `name`, with `env`.
    pub fn spawn_vrrpd(&self, i: usize, name: &str, env: &[(&str, &str)]) {
        let ns = self.hosts[i].ns.clone();
        let cfg = self.vrrpd_config_path(i).display().to_string();
        let args = [vrrpd_bin(), "run", "-c", cfg.as_str()];
        self.spawn_env(&ns, name, &args, env);
    }

    /// Path of the file the [`Lab::notify_hook`] command appends to.
    pub fn hook_log_path(&self) -> PathBuf {
        self.dir.path().join("hooks.log")
    }

    /// A TOML `notify` command that appends its arguments, one call per
    /// line, to [`Lab::hook_log_path`].
    pub fn notify_hook(&self) -> String {
        format!(
            r#"["/bin/sh", "-c", "echo \"$*\" >> {}", "hook"]"#,
            self.hook_log_path().display()
        )
    }

    /// What the notify hooks logged so far.
    pub fn hook_log(&self) -> String {
        std::fs::read_to_string(self.hook_log_path()).unwrap_or_default()
    }

    /// Starts keepalived (VRRP only, foreground) on host `i`.
    pub fn start_keepalived(&self, i: usize, insts: &[Inst]) {
        let dir = self.dir.path();
        let conf: String = insts.iter().map(Inst::keepalived).collect();
        let cfg = dir.join(format!("ka{i}.conf"));
        std::fs::write(
            &cfg,
            format!("global_defs {{\n  vrrp_garp_master_repeat 1\n  vrrp_garp_master_delay 1\n}}\n{conf}"),
        )
        .unwrap();
        let p = |s: &str| dir.join(format!("ka{i}.{s}.pid")).display().to_string();
        let ns = self.hosts[i].ns.clone();
        self.spawn(
            &ns,
            &format!("keepalived{i}"),
            &[
                "keepalived",
                "-n",
                "-l",
                "-D",
                "-G",
                "-P",
                "-f",
                &cfg.display().to_string(),
                "-p",
                &p("main"),
                "-r",
                &p("vrrp"),
                "-c",
                &p("chk"),
            ],
        );
    }

    /// Runs `vrrpd ARGS -s <host i's socket>` and returns (exit code, stdout, stderr).
    pub fn vrrpd_cli(&self, i: usize, args: &[&str]) -> (i32, String, String) {
        let out = Command::new(vrrpd_bin())
            .args(args)
            .arg("-s")
            .arg(self.control_socket(i))
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// `vrrpd status --json` of host `i`, the whole document, or None if
    /// the daemon does not answer.
    pub fn status_json(&self, i: usize) -> Option<serde_json::Value> {
        let (code, out, _) = self.vrrpd_cli(i, &["status", "--json"]);
        if code != 0 {
            return None;
        }
        serde_json::from_str(&out).ok()
    }

    /// `vrrpd status --json` of host `i`: the instances array, or None if
    /// the daemon does not answer.
    pub fn status(&self, i: usize) -> Option<Vec<serde_json::Value>> {
        self.status_json(i)?["data"]["instances"]
            .as_array()
            .cloned()
    }

    /// The status of instance `name` on host `i`, None if the daemon has no
    /// such instance. Panics (with the logs) if the daemon does not answer.
    pub fn instance_status(&self, i: usize, name: &str) -> Option<serde_json::Value> {
        let all = self
            .status(i)
            .unwrap_or_else(|| panic!("host {i}: status failed:\n{}", self.logs()));
        all.into_iter().find(|v| v["name"] == name)
    }

    /// (name, state) of every instance on host `i`; empty if the daemon does
    /// not answer.
    pub fn states(&self, i: usize) -> Vec<(String, String)> {
        self.status(i)
            .unwrap_or_default()
            .iter()
            .map(|v| {
                (
                    v["name"].as_str().unwrap_or_default().to_owned(),
                    v["state"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    /// True if host `i` has instances and all of them are in `state`.
    pub fn all_in_state(&self, i: usize, state: &str) -> bool {
        let s = self.states(i);
        !s.is_empty() && s.iter().all(|(_, st)| st == state)
    }

    /// The state host `i` reports for instance `name`.
    pub fn state_of(&self, i: usize, name: &str) -> Option<String> {
        self.status(i)?
            .iter()
            .find(|v| v["name"] == name)
            .and_then(|v| v["state"].as_str().map(str::to_owned))
    }

    /// Waits until host `i` reports `state` for `name`.
    pub fn wait_state(&self, i: usize, name: &str, state: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.state_of(i, name).as_deref() == Some(state) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(30));
        }
        false
    }

    /// Waits until exactly host `holder` (and no other) has `vip`.
    pub fn wait_vip_only_on(&self, holder: usize, vip: IpAddr, timeout: Duration) -> bool {
        self.wait_until(timeout, || {
            self.hosts
                .iter()
                .enumerate()
                .all(|(i, h)| self.has_addr(h, vip) == (i == holder))
        })
    }

    /// Every process log, for assertion messages.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        if let Ok(entries) = std::fs::read_dir(self.dir.path()) {
            let mut names: Vec<_> = entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "log"))
                .collect();
            names.sort();
            for p in names {
                let text = std::fs::read_to_string(&p).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(60).collect();
                out.push_str(&format!(
                    "--- {} (last {} lines)\n",
                    p.display(),
                    tail.len()
                ));
                for l in tail.iter().rev() {
                    out.push_str(l);
                    out.push('\n');
                }
            }
        }
        out
    }
}
