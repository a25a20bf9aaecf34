//! Differential testing against keepalived (issue 16, part 4): for each
//! keepalived configuration of the corpus, a keepalived pair runs the
//! original in namespaces, then a vrrpd pair runs `vrrpd
//! import-keepalived`'s conversion of the very same files, and the test
//! compares what the LAN sees at three moments: at start, after the
//! master's tracked check fails, and after the (new) master stops. What is
//! compared is which host holds each address (virtual and excluded).
//!
//! The corpus exercises the keywords converted natively (`mcast_src_ip`,
//! `virtual_ipaddress_excluded`, `dont_track_primary`, the global and
//! per-instance `garp_*` settings, unicast peers, VRRPv3), and Debian's
//! samples (`/usr/share/doc/keepalived/samples`) that run in the lab: the
//! same file on both hosts (equal priorities: the higher primary address
//! wins), compared at start and after the master stops. Each case takes
//! about 30 s; by default one sample runs, `VRRPD_DIFF_ALL=1` runs every
//! sample that fits the lab (a few minutes).
#![allow(clippy::unwrap_used)]

mod lab;

use std::net::IpAddr;
use std::process::Command;
use std::time::Duration;

use lab::Lab;
use lab::peers::{keepalived_available, vrrpd_bin};

/// One configuration of the corpus: the keepalived.conf of host `i`
/// (`{PRIO}`, `{SELF}`, `{PEER}` and `{FLAG}` filled in per host) and the
/// addresses to watch.
struct Case {
    name: &'static str,
    conf: &'static str,
    watch: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        name: "multicast source, excluded address, dont_track_primary",
        conf: r#"
global_defs {
  vrrp_garp_master_repeat 2
  vrrp_garp_master_delay 1
}
vrrp_script chk {
  script "/usr/bin/test -e {FLAG}"
  interval 1
  fall 1
  rise 1
  weight -60
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority {PRIO}
  advert_int 1
  mcast_src_ip {SELF}
  dont_track_primary
  garp_lower_prio_repeat 1
  virtual_ipaddress {
    10.99.0.200/24
  }
  virtual_ipaddress_excluded {
    10.99.1.200/24
  }
  track_script {
    chk
  }
}
"#,
        watch: &["10.99.0.200", "10.99.1.200"],
    },
    Case {
        name: "VRRPv3 over unicast, lower-priority announcements",
        conf: r#"
global_defs {
  vrrp_garp_lower_prio_repeat 1
  vrrp_garp_lower_prio_delay 2
}
vrrp_script chk {
  script "/usr/bin/test -e {FLAG}"
  interval 1
  fall 1
  rise 1
  weight -60
}
vrrp_instance VI_2 {
  interface eth0
  version 3
  virtual_router_id 52
  priority {PRIO}
  advert_int 1
  unicast_src_ip {SELF}
  unicast_peer {
    {PEER}
  }
  virtual_ipaddress {
    10.99.0.201/24
  }
  track_script {
    chk
  }
}
"#,
        watch: &["10.99.0.201"],
    },
];

/// Which daemon runs the pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Impl {
    Keepalived,
    Vrrpd,
}

/// Who holds each watched address (host index), at each moment.
type Seen = Vec<Vec<Option<usize>>>;

#[test]
fn imported_configurations_behave_as_keepalived() {
    if !lab::can_run() || !keepalived_available() {
        return;
    }
    for case in CASES {
        let ka = observe(case, Impl::Keepalived);
        let vd = observe(case, Impl::Vrrpd);
        eprintln!("{}: keepalived {ka:?}, vrrpd {vd:?}", case.name);
        assert_eq!(vd, ka, "{}: vrrpd differs from keepalived", case.name);
        // The corpus is meant to move the addresses: a case where nothing
        // happens would compare nothing.
        assert_eq!(ka[0][0], Some(0), "{}: host 0 starts as master", case.name);
        assert_eq!(ka[1][0], Some(1), "{}: the check moves it", case.name);
        assert_eq!(ka[2][0], Some(0), "{}: the stop moves it back", case.name);
    }
}

/// Runs `case` on a fresh lab with `which`, and reports who holds what.
fn observe(case: &Case, which: Impl) -> Seen {
    let lab = Lab::new("kw", 2);
    let watch: Vec<IpAddr> = case.watch.iter().map(|a| a.parse().unwrap()).collect();
    let flag = |i: usize| lab.dir.path().join(format!("flag{i}"));
    for i in 0..2 {
        std::fs::write(flag(i), "").unwrap();
        let conf = case
            .conf
            .replace("{PRIO}", if i == 0 { "150" } else { "100" })
            .replace("{SELF}", &lab.hosts[i].v4.to_string())
            .replace("{PEER}", &lab.hosts[1 - i].v4.to_string())
            .replace("{FLAG}", &flag(i).display().to_string());
        let path = lab.dir.path().join(format!("ka{i}.conf"));
        std::fs::write(&path, conf).unwrap();
        start(&lab, i, &path, which);
    }
    let name = |i: usize| format!("{which:?}{i}");
    let mut seen = Vec::new();
    // 1. At start: the higher priority (host 0) holds everything.
    seen.push(settle(&lab, &watch, Some(0)));
    // 2. Host 0's check fails: 150 - 60 < 100, host 1 takes over.
    std::fs::remove_file(flag(0)).unwrap();
    seen.push(settle(&lab, &watch, Some(1)));
    // 3. The master (host 1) stops: host 0 takes over, failed check or not.
    lab.signal(&name(1), 15);
    assert!(
        lab.wait_exit(&name(1), Duration::from_secs(10)).is_some(),
        "{which:?} on host 1 did not stop:\n{}",
        lab.log(&name(1))
    );
    seen.push(settle(&lab, &watch, Some(0)));
    lab.signal(&name(0), 15);
    let _ = lab.wait_exit(&name(0), Duration::from_secs(10));
    seen
}

/// Waits (bounded) for the first address to be on `expect` only, then a
/// little longer for the rest to settle, and reports the holders.
fn settle(lab: &Lab, watch: &[IpAddr], expect: Option<usize>) -> Vec<Option<usize>> {
    let holder = |a: IpAddr| -> Option<usize> {
        let on: Vec<usize> = (0..lab.hosts.len())
            .filter(|i| lab.has_addr(&lab.hosts[*i], a))
            .collect();
        match on[..] {
            [one] => Some(one),
            _ => None,
        }
    };
    lab.wait_until(Duration::from_secs(8), || holder(watch[0]) == expect);
    std::thread::sleep(Duration::from_millis(1500));
    watch.iter().map(|a| holder(*a)).collect()
}

/// Starts `which` on host `i` with the keepalived file `conf` (vrrpd runs
/// its import).
fn start(lab: &Lab, i: usize, conf: &std::path::Path, which: Impl) {
    start_with(lab, i, conf, which, false);
}

/// As [`start`]; `changes_ok` accepts an import that reports behaviour
/// changes (Debian's samples send e-mail, which vrrpd does not).
fn start_with(lab: &Lab, i: usize, conf: &std::path::Path, which: Impl, changes_ok: bool) {
    let ns = lab.hosts[i].ns.clone();
    let dir = lab.dir.path();
    match which {
        Impl::Keepalived => {
            let p = |s: &str| dir.join(format!("ka{i}.{s}.pid")).display().to_string();
            lab.spawn(
                &ns,
                &format!("Keepalived{i}"),
                &[
                    "keepalived",
                    "-n",
                    "-l",
                    "-D",
                    "-P",
                    "-f",
                    &conf.display().to_string(),
                    "-p",
                    &p("main"),
                    "-r",
                    &p("vrrp"),
                    "-c",
                    &p("chk"),
                ],
            );
        }
        Impl::Vrrpd => {
            let out = Command::new(vrrpd_bin())
                .arg("import-keepalived")
                .arg(conf)
                .output()
                .unwrap();
            let code = out.status.code();
            assert!(
                code == Some(0) || (changes_ok && code == Some(3)),
                "the import failed or reports a behaviour change:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let toml = String::from_utf8(out.stdout).unwrap();
            let sock = format!("control_socket = \"{}\"\n", lab.control_socket(i).display());
            let toml = if toml.contains("[global]\n") {
                toml.replacen("[global]\n", &format!("[global]\n{sock}"), 1)
            } else {
                format!("[global]\n{sock}\n{toml}")
            };
            let path = lab.vrrpd_config_path(i);
            std::fs::write(&path, toml).unwrap();
            lab.spawn_vrrpd(i, &format!("Vrrpd{i}"), &[("RUST_LOG", "info")]);
        }
    }
}

/// Debian's samples with VRRP only (or VRRP beside parts that do not move
/// addresses), in the order they run with `VRRPD_DIFF_ALL=1`; the first
/// always runs.
const SAMPLES: &[&str] = &[
    "keepalived.conf.vrrp.sync",
    "keepalived.conf.vrrp",
    "keepalived.conf.vrrp.localcheck",
    "keepalived.conf.vrrp.scripts",
    "keepalived.conf.track_interface",
    "keepalived.conf.vrrp.routes",
    "keepalived.conf.vrrp.static_ipaddress",
    "keepalived.conf.vrrp.rules",
    "keepalived.conf.IPv6",
];

#[test]
fn debian_samples_behave_as_keepalived() {
    if !lab::can_run() || !keepalived_available() {
        return;
    }
    let all = std::env::var_os("VRRPD_DIFF_ALL").is_some();
    let dir = std::path::Path::new("/usr/share/doc/keepalived/samples");
    let mut compared = 0;
    for name in SAMPLES.iter().take(if all { SAMPLES.len() } else { 1 }) {
        let Ok(text) = std::fs::read_to_string(dir.join(name)) else {
            eprintln!("SKIP {name}: not installed");
            continue;
        };
        // The lab's hosts have one interface, and no notify programs
        // (which do not move addresses).
        let mut text = text;
        for n in 1..=9 {
            text = text.replace(&format!("eth{n}"), "eth0");
        }
        let text: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("notify"))
            .map(|l| format!("{l}\n"))
            .collect();
        let Some(watch) = sample_vips(&text) else {
            eprintln!("SKIP {name}: its import does not run on this host");
            continue;
        };
        let ka = observe_sample(&text, &watch, Impl::Keepalived);
        let vd = observe_sample(&text, &watch, Impl::Vrrpd);
        eprintln!("{name}: keepalived {ka:?}, vrrpd {vd:?}");
        assert_eq!(vd, ka, "{name}: vrrpd differs from keepalived");
        if ka[0].iter().all(Option::is_none) {
            // Agreed, but on nothing (e.g. an instance on a VLAN the lab
            // does not have): not counted as compared.
            eprintln!("{name}: neither runs it in the lab");
            continue;
        }
        compared += 1;
    }
    assert!(compared > 0 || !dir.exists(), "no sample was compared");
}

/// The addresses the import of `text` installs, if vrrpd can run it here.
fn sample_vips(text: &str) -> Option<Vec<IpAddr>> {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("k.conf");
    std::fs::write(&p, text).unwrap();
    let out = Command::new(vrrpd_bin())
        .arg("import-keepalived")
        .arg(&p)
        .output()
        .unwrap();
    let toml = String::from_utf8(out.stdout).ok()?;
    let opts = vrrpd::config::Options {
        interfaces: false,
        ..vrrpd::config::Options::DAEMON
    };
    let cfg = match vrrpd::config::validate_text(&toml, "imported", opts) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return None;
        }
    };
    let mut v: Vec<IpAddr> = cfg
        .instances
        .iter()
        .flat_map(|i| i.vips.iter().chain(&i.excluded_vips).map(|v| v.addr))
        .collect();
    v.dedup();
    (!v.is_empty()).then_some(v)
}

/// The same sample on both hosts: who holds what at start, and after the
/// holder of the first address stops.
fn observe_sample(text: &str, watch: &[IpAddr], which: Impl) -> Seen {
    let lab = Lab::new("kws", 2);
    // Host 1 (the higher address) first, then host 0: with equal
    // priorities who wins is otherwise a race. (Started the other way,
    // keepalived's `state MASTER` lets the later, higher-addressed router
    // take over, where vrrpd, which does not carry `state`, keeps the
    // first master: a known difference, see docs/migration.md.)
    for i in [1, 0] {
        let path = lab.dir.path().join(format!("ka{i}.conf"));
        std::fs::write(&path, text).unwrap();
        start_with(&lab, i, &path, which, true);
        if i == 1 {
            settle_quiet(&lab, watch);
        }
    }
    let name = |i: usize| format!("{which:?}{i}");
    let first = settle_quiet(&lab, watch);
    let master = first[0].unwrap_or(1);
    lab.signal(&name(master), 15);
    let _ = lab.wait_exit(&name(master), Duration::from_secs(10));
    let second = settle_quiet(&lab, watch);
    lab.signal(&name(1 - master), 15);
    let _ = lab.wait_exit(&name(1 - master), Duration::from_secs(10));
    vec![first, second]
}

/// The holders once nothing changed for 4 s (at most 20 s): the samples'
/// one-second adverts elect a master within about 3.6 s.
fn settle_quiet(lab: &Lab, watch: &[IpAddr]) -> Vec<Option<usize>> {
    let now = || -> Vec<Option<usize>> {
        watch
            .iter()
            .map(|a| {
                let on: Vec<usize> = (0..lab.hosts.len())
                    .filter(|i| lab.has_addr(&lab.hosts[*i], *a))
                    .collect();
                match on[..] {
                    [one] => Some(one),
                    _ => None,
                }
            })
            .collect()
    };
    let start = std::time::Instant::now();
    let mut last = now();
    let mut since = std::time::Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(250));
        let cur = now();
        if cur != last {
            last = cur;
            since = std::time::Instant::now();
        } else if since.elapsed() >= Duration::from_secs(4) && last.iter().any(Option::is_some) {
            break;
        }
    }
    last
}
