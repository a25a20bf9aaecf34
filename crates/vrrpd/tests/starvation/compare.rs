//! The reload and check abuses against vrrpd and keepalived (not in CI:
//! `bash benches/starvation/run.sh`), measured the same way from outside.

use std::time::{Duration, Instant};

use super::lab::{self, Lab, peers::Inst};
use super::{T, VIP, checks_toml, renice_this_thread, spawn_daemon, vip};

/// Which daemon a comparison lab runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Daemon {
    Vrrpd,
    Keepalived,
}

/// keepalived.conf for host `i`: VI_1 (VRID 42) at `prio`, plus `extra`.
fn keepalived_conf(prio: u8, extra: &str) -> String {
    format!(
        "global_defs {{\n  vrrp_garp_master_repeat 1\n  vrrp_garp_master_delay 1\n  script_user root\n}}\n\
         vrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 42\n  version 3\n  \
         priority {prio}\n  advert_int 0.1\n  virtual_ipaddress {{\n    {VIP}/24\n  }}\n}}\n{extra}"
    )
}

/// `n` vrrp_scripts passing while `flag` exists and one printing 8 MB,
/// tracked by an instance only the master has (as [`checks_toml`]).
fn keepalived_checks(n: usize, flag: &str) -> String {
    let mut s = String::from(
        "vrrp_script chatty {\n  script \"/bin/sh -c 'head -c 8000000 /dev/zero; true'\"\n  interval 1\n}\n",
    );
    let mut tracked = String::from("    chatty weight 0\n");
    for k in 0..n {
        s.push_str(&format!(
            "vrrp_script flip{k} {{\n  script \"/usr/bin/test -e {flag}\"\n  interval 1\n  weight -1\n}}\n"
        ));
        tracked.push_str(&format!("    flip{k}\n"));
    }
    s.push_str(&format!(
        "vrrp_instance SOLO {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 99\n  version 3\n  \
         priority 200\n  advert_int 0.1\n  virtual_ipaddress {{\n    10.99.3.1/24\n  }}\n  track_script {{\n{tracked}  }}\n}}\n"
    ));
    s
}

/// `count` keepalived instances: invalid (VRID 0) or valid (VRIDs 101…).
fn keepalived_instances(count: usize, valid: bool) -> String {
    (0..count)
        .map(|k| {
            let vrid = if valid { 101 + (k % 155) } else { 0 };
            let vip = if k < 155 {
                format!("10.99.4.{}/24", k + 1)
            } else {
                format!("fd00:99:4::{}/64", k - 154)
            };
            format!(
                "vrrp_instance NEW_{k} {{\n  state BACKUP\n  interface eth0\n  virtual_router_id {vrid}\n  version 3\n  \
                 priority 200\n  advert_int 0.1\n  virtual_ipaddress {{\n    {vip}\n  }}\n}}\n"
            )
        })
        .collect()
}

/// A comparison lab: host 0 master, host 1 backup, both `daemon`, and
/// tcpdump on the client recording every advert.
fn comparison_pair(daemon: Daemon) -> Lab {
    renice_this_thread(-10);
    let tag = if daemon == Daemon::Vrrpd { "s3" } else { "s4" };
    let lab = Lab::new(tag, 2);
    lab.start_responders();
    let ns = lab.client.ns.clone();
    lab.spawn(
        &ns,
        "tcpdump",
        &["tcpdump", "-i", "eth0", "-n", "-tt", "-l", "ip proto 112"],
    );
    for (i, prio) in [(0, 200), (1, 100)] {
        match daemon {
            Daemon::Vrrpd => {
                lab.write_vrrpd_config(i, &[Inst::v3("VI_1", 42, prio, &format!("{VIP}/24"))], "");
                spawn_daemon(&lab, i);
            }
            Daemon::Keepalived => {
                std::fs::write(ka_path(&lab, i), keepalived_conf(prio, "")).unwrap();
                spawn_keepalived(&lab, i);
            }
        }
        if i == 0 {
            assert!(
                lab.wait_vip_only_on(0, vip(), T),
                "no master:\n{}",
                lab.logs()
            );
        }
    }
    std::thread::sleep(Duration::from_secs(2));
    lab
}

fn ka_path(lab: &Lab, i: usize) -> std::path::PathBuf {
    lab.dir.path().join(format!("ka{i}.conf"))
}

fn spawn_keepalived(lab: &Lab, i: usize) {
    let p = |s: &str| {
        lab.dir
            .path()
            .join(format!("ka{i}.{s}.pid"))
            .display()
            .to_string()
    };
    let cfg = ka_path(lab, i).display().to_string();
    let ns = lab.hosts[i].ns.clone();
    let args = [
        "nice",
        "-n",
        "-15",
        "keepalived",
        "-n",
        "-l",
        "-D",
        "-P",
        "-f",
        &cfg,
        "-p",
        &p("main"),
        "-r",
        &p("vrrp"),
        "-c",
        &p("chk"),
    ];
    lab.spawn(&ns, &format!("d{i}"), &args);
}

/// Seconds since the epoch, as tcpdump's `-tt` prints them.
fn epoch() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// From the client's capture between `t0` and `t1`: the longest gap
/// between two adverts of VRID 42 from host 0, and whether host 1 sent
/// any (it became master).
fn wire(lab: &Lab, t0: f64, t1: f64) -> (Duration, bool) {
    let text = lab.log("tcpdump");
    let (mut last, mut gap, mut backup_sent) = (None::<f64>, 0.0f64, false);
    for l in text.lines() {
        let Some(t) = l.split(' ').next().and_then(|t| t.parse::<f64>().ok()) else {
            continue;
        };
        if t < t0 || t > t1 || !l.contains("vrid 42,") {
            continue;
        }
        if l.contains(&format!("IP {} >", lab.hosts[1].v4)) && !l.contains("prio 0,") {
            backup_sent = true;
        }
        if l.contains(&format!("IP {} >", lab.hosts[0].v4)) {
            if let Some(p) = last {
                gap = gap.max(t - p);
            }
            last = Some(t);
        }
    }
    (Duration::from_secs_f64(gap), backup_sent)
}

/// Runs one abuse against the comparison lab's master; one result line.
fn compare_case(lab: &Lab, daemon: Daemon, name: &str, abuse: impl FnOnce()) -> String {
    let prober = lab.start_prober(vip(), Duration::from_millis(1));
    std::thread::sleep(Duration::from_millis(300));
    let t0 = epoch();
    let started = Instant::now();
    abuse();
    let took = started.elapsed();
    std::thread::sleep(Duration::from_millis(500));
    let t1 = epoch();
    let report = prober.finish();
    std::thread::sleep(Duration::from_millis(300));
    let (gap, takeover) = wire(lab, t0, t1);
    format!(
        "| {name} | {daemon:?} | {took:.1?} | {:.0?} | {} | {} | {} |",
        gap,
        if takeover { "yes" } else { "no" },
        report.lost(),
        report
            .holders()
            .iter()
            .map(|h| format!("host {h}"))
            .collect::<Vec<_>>()
            .join(" → ")
    )
}

/// Reloads host 0 with `text` as its configuration and waits `settle`.
fn reload_with(lab: &Lab, daemon: Daemon, text: &str, settle: Duration) {
    match daemon {
        Daemon::Vrrpd => {
            let (global, body) = text.split_once("\n\n").unwrap_or(("", text));
            lab.write_vrrpd_toml(0, global, body);
            lab.signal("vrrpd0", libc::SIGHUP);
        }
        Daemon::Keepalived => {
            std::fs::write(ka_path(lab, 0), text).unwrap();
            lab.signal("d0", libc::SIGHUP);
        }
    }
    std::thread::sleep(settle);
}

fn comparison(daemon: Daemon) -> Vec<String> {
    let lab = comparison_pair(daemon);
    let flag = lab.dir.path().join("flip").display().to_string();
    let vi1 = Inst::v3("VI_1", 42, 200, &format!("{VIP}/24")).toml();
    let base = match daemon {
        Daemon::Vrrpd => format!("\n\n{vi1}"),
        Daemon::Keepalived => keepalived_conf(200, ""),
    };
    let invalid = match daemon {
        Daemon::Vrrpd => {
            let bad: String = (0..10_000)
                .map(|k| format!("[[instance]]\nname = \"bad{k}\"\ninterface = \"eth0\"\nvrid = 0\nvirtual_addresses = [\"10.99.2.1\"]\n\n"))
                .collect();
            format!("\n\n{vi1}{bad}")
        }
        Daemon::Keepalived => keepalived_conf(200, &keepalived_instances(10_000, false)),
    };
    let added = match daemon {
        Daemon::Vrrpd => {
            let more: String = (0..250)
                .map(|k| {
                    let (vrid, vip) = if k < 155 {
                        (101 + k, format!("10.99.4.{}/24", k + 1))
                    } else {
                        (k - 154, format!("fd00:99:4::{}/64", k - 154))
                    };
                    format!("[[instance]]\nname = \"NEW_{k}\"\ninterface = \"eth0\"\nvrid = {vrid}\nversion = 3\npriority = 200\nadvert_interval = \"100ms\"\nvirtual_addresses = [\"{vip}\"]\n\n")
                })
                .collect();
            format!("\n\n{vi1}{more}")
        }
        Daemon::Keepalived => keepalived_conf(200, &keepalived_instances(250, true)),
    };
    let checks = match daemon {
        Daemon::Vrrpd => format!("\n\n{vi1}{}", checks_toml(500, &flag)),
        Daemon::Keepalived => keepalived_conf(200, &keepalived_checks(500, &flag)),
    };
    let s = Duration::from_secs(3);
    let mut rows = Vec::new();
    rows.push(compare_case(
        &lab,
        daemon,
        "reload adding 250 instances",
        || {
            reload_with(&lab, daemon, &added, s);
        },
    ));
    reload_with(&lab, daemon, &base, s);
    rows.push(compare_case(
        &lab,
        daemon,
        "reload adding 501 checks (one printing 8 MB)",
        || {
            reload_with(&lab, daemon, &checks, s);
        },
    ));
    rows.push(compare_case(
        &lab,
        daemon,
        "500 checks flipping at once",
        || {
            std::fs::write(&flag, "").unwrap();
            std::thread::sleep(Duration::from_millis(2500));
            std::fs::remove_file(&flag).unwrap();
            std::thread::sleep(Duration::from_millis(2500));
        },
    ));
    // Last: keepalived exits on it (docs/performance.md).
    rows.push(compare_case(
        &lab,
        daemon,
        "reload of 10,000 invalid instances",
        || {
            reload_with(&lab, daemon, &invalid, s);
        },
    ));
    // The master's log, for the record (the lab's directory goes with it).
    let _ = std::fs::create_dir_all("/tmp/vrrpd-lab-logs");
    let name = if daemon == Daemon::Vrrpd {
        "vrrpd0"
    } else {
        "d0"
    };
    let keep = format!("/tmp/vrrpd-lab-logs/starvation-{daemon:?}-host0.log");
    let _ = std::fs::copy(lab.log_path(name), keep);
    rows
}

/// The reload and check abuses against vrrpd and keepalived, measured the
/// same way from outside: the longest gap between the master's adverts on
/// the wire (100 ms when on time), whether the backup advertised (took
/// over), and the client's losses. `bash benches/starvation/run.sh`.
#[test]
#[ignore = "comparison with keepalived, minutes long: bash benches/starvation/run.sh"]
fn vrrpd_and_keepalived_under_the_same_abuse() {
    if !lab::can_run() || !lab::peers::keepalived_available() {
        return;
    }
    let mut rows = comparison(Daemon::Vrrpd);
    rows.extend(comparison(Daemon::Keepalived));
    println!(
        "| abuse | daemon | abuse took | longest advert gap | backup took over | client lost (ms) | VIP held by |"
    );
    println!("|---|---|---|---|---|---|---|");
    for r in rows {
        println!("{r}");
    }
}
