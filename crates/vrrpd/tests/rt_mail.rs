//! E-mail alerts end to end (lab tag `mail`/`mlh`): a real SMTP server
//! (Debian's `python3-aiosmtpd`) on the lab's client host receives
//! keepalived's subjects and headers on each transition; a server that
//! never answers and an address nobody answers on do not slow a failover
//! or its hooks.
//!
//! Needs root, `ip netns` and python3-aiosmtpd (scripts/setup.sh installs
//! it); skips with a message otherwise.
#![allow(clippy::unwrap_used)]

mod lab;

use std::time::{Duration, Instant};

use lab::Lab;
use lab::peers::Inst;
use lab::smtp::{self, SERVER, aiosmtpd_available, header, mails, subjects};

const VIP: &str = "10.99.0.200/24";

/// A TCP server that accepts and never says a word.
const SILENT: &str = r#"
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(64)
print("ready", flush=True)
held = []
while True:
    c, _ = s.accept()
    held.append(c)
"#;

/// Starts `script` on the client host at 10.99.0.100:`port`.
fn start_server(lab: &Lab, name: &str, script: &str, port: u16, out: &str) {
    let ns = lab.client.ns.clone();
    smtp::start(lab, &ns, name, script, ("10.99.0.100", port), out);
}

/// Host `i`'s configuration: alerts to `server`, instance VI_1 at
/// `priority` with a notify hook; with `group`, VI_2 too and both in sync
/// group G (which mails too).
fn config(lab: &Lab, i: usize, priority: u8, server: &str, timeout: &str, group: bool) {
    let global = format!(
        "router_id = \"lab-h{i}\"\nnotification_email = [\"ops@example.com\", \"noc@example.com\"]\nnotification_email_from = \"vrrpd@h{i}.example.com\"\nsmtp_server = \"{server}\"\nsmtp_connect_timeout = \"{timeout}\"\n"
    );
    let inst = Inst {
        extra: format!(
            "smtp_alert = true\ngarp_master_delay = \"0s\"\nnotify = {}\n",
            lab.notify_hook()
        ),
        ..Inst::v3("VI_1", 42, priority, VIP)
    };
    let mut body = inst.toml();
    if group {
        body.push_str(&Inst::v3("VI_2", 43, priority, "10.99.0.201/24").toml());
        body.push_str(
            "[[sync_group]]\nname = \"G\"\ninstances = [\"VI_1\", \"VI_2\"]\nsmtp_alert = true\n",
        );
    }
    lab.write_vrrpd_toml(i, &global, &body);
}

#[test]
fn each_transition_mails_keepalived_s_subject_and_headers() {
    if !lab::can_run() || !aiosmtpd_available() {
        return;
    }
    let lab = Lab::new("mail", 2);
    let inbox = lab.dir.path().join("inbox.jsonl");
    start_server(&lab, "smtpd", SERVER, 2525, &inbox.display().to_string());
    config(&lab, 0, 200, "10.99.0.100:2525", "5s", true);
    config(&lab, 1, 100, "10.99.0.100:2525", "5s", true);
    lab.spawn_vrrpd(0, "vrrpd0", &[("RUST_LOG", "debug")]);
    lab.spawn_vrrpd(1, "vrrpd1", &[("RUST_LOG", "debug")]);
    let want = |s: &str| {
        let s = s.to_owned();
        let inbox = inbox.clone();
        move || subjects(&inbox).contains(&s)
    };
    for s in [
        "[lab-h0] VRRP Instance VI_1 - Entering MASTER state",
        "[lab-h1] VRRP Instance VI_1 - Entering BACKUP state",
        "[lab-h0] VRRP Group G - Entering MASTER state",
    ] {
        assert!(
            lab.wait_until(Duration::from_secs(10), want(s)),
            "no mail {s:?}: {:?}\n{}",
            subjects(&inbox),
            lab.log("vrrpd0")
        );
    }
    // The headers keepalived writes, and the envelope.
    let all = mails(&inbox);
    let m = all
        .iter()
        .find(|m| {
            header(m, "Subject") == Some("[lab-h0] VRRP Instance VI_1 - Entering MASTER state")
        })
        .unwrap();
    assert_eq!(header(m, "From"), Some("vrrpd@h0.example.com"), "{m}");
    assert_eq!(
        header(m, "To"),
        Some("ops@example.com, noc@example.com"),
        "{m}"
    );
    assert_eq!(header(m, "X-Mailer"), Some("vrrpd"), "{m}");
    assert!(
        header(m, "Date").is_some_and(|d| d.ends_with("+0000")),
        "{m}"
    );
    assert_eq!(m["from"], "vrrpd@h0.example.com");
    assert_eq!(
        m["to"],
        serde_json::json!(["ops@example.com", "noc@example.com"])
    );
    assert!(
        m["data"]
            .as_str()
            .unwrap()
            .contains("=> VRRP Instance is now owning VRRP VIPs <="),
        "{m}"
    );

    let g = all
        .iter()
        .find(|m| header(m, "Subject") == Some("[lab-h0] VRRP Group G - Entering MASTER state"))
        .unwrap();
    assert!(
        g["data"]
            .as_str()
            .unwrap()
            .contains("=> All VRRP group instances are now in MASTER state <="),
        "{g}"
    );

    // A switchover (of the whole group): the old master mails BACKUP, the
    // new one MASTER.
    let (code, _, err) = lab.vrrpd_cli(0, &["switchover", "VI_1"]);
    assert_eq!(code, 0, "{err}");
    for s in [
        "[lab-h0] VRRP Instance VI_1 - Entering BACKUP state",
        "[lab-h1] VRRP Instance VI_1 - Entering MASTER state",
        "[lab-h1] VRRP Group G - Entering MASTER state",
    ] {
        assert!(
            lab.wait_until(Duration::from_secs(10), want(s)),
            "no mail {s:?}: {:?}",
            subjects(&inbox)
        );
    }
    // VI_2 sets no smtp_alert and the global default is off: no mail.
    assert!(
        !subjects(&inbox).iter().any(|s| s.contains("VI_2")),
        "{:?}",
        subjects(&inbox)
    );
    // A stop mails "Stopping" before the daemon exits.
    lab.signal("vrrpd1", nix::sys::signal::Signal::SIGTERM as i32);
    assert!(lab.wait_exit("vrrpd1", Duration::from_secs(10)).is_some());
    assert!(
        lab.wait_until(
            Duration::from_secs(5),
            want("[lab-h1] VRRP Instance VI_1 - Stopping")
        ),
        "{:?}",
        subjects(&inbox)
    );
    // keepalived mails a state once: no state twice in a row from h0.
    let s0: Vec<String> = subjects(&inbox)
        .into_iter()
        .filter(|s| s.starts_with("[lab-h0]"))
        .collect();
    let mut dedup = s0.clone();
    dedup.dedup();
    assert_eq!(s0, dedup);
    let st = lab.status_json(0).unwrap();
    assert!(st["data"]["mail"]["sent"].as_u64().unwrap() >= 2, "{st}");
    assert_eq!(st["data"]["mail"]["failed"], 0, "{st}");
}

/// Measures how long after host 0's link goes down host 1 is master and
/// its notify_master hook has run, with the mail server at `server`.
fn failover_time(lab: &Lab, server: &str) -> Duration {
    config(lab, 0, 200, server, "30s", false);
    config(lab, 1, 100, server, "30s", false);
    lab.spawn_vrrpd(0, "vrrpd0", &[("RUST_LOG", "debug")]);
    lab.spawn_vrrpd(1, "vrrpd1", &[("RUST_LOG", "debug")]);
    assert!(
        lab.wait_state(0, "VI_1", "master", Duration::from_secs(10)),
        "{}",
        lab.log("vrrpd0")
    );
    assert!(lab.wait_state(1, "VI_1", "backup", Duration::from_secs(10)));
    // Both daemons' first alerts are now stuck on the server.
    std::thread::sleep(Duration::from_millis(500));
    let t0 = Instant::now();
    lab.set_link(&lab.hosts[0], false);
    let hooked = lab.wait_until(Duration::from_secs(10), || {
        lab.hook_log()
            .lines()
            .any(|l| l == "INSTANCE VI_1 MASTER 100")
    });
    let took = t0.elapsed();
    eprintln!("failover with mail server {server}: {took:?}");
    assert!(hooked, "no master hook on h1: {}", lab.hook_log());
    assert_eq!(lab.state_of(1, "VI_1").as_deref(), Some("master"));
    // The worker is still waiting on the server (30 s time-out), the
    // status answers at once and counts nothing as sent.
    let t1 = Instant::now();
    let st = lab.status_json(1).unwrap();
    assert!(t1.elapsed() < Duration::from_secs(1));
    assert_eq!(st["data"]["mail"]["sent"], 0, "{st}");
    assert!(st["data"]["mail"]["queued"].as_u64().unwrap() >= 2, "{st}");
    took
}

#[test]
fn a_silent_or_unreachable_mail_server_does_not_slow_failover() {
    if !lab::can_run() {
        return;
    }
    // Master_Down_Interval at 100 ms adverts is about 0.36 s; the hook
    // runs right after. 1.5 s leaves room for a loaded CI machine and is
    // far below the 30 s SMTP time-out a blocking sender would wait.
    let bound = Duration::from_millis(1500);
    {
        let lab = Lab::new("mlh", 2);
        start_server(&lab, "silent", SILENT, 2525, "-");
        let took = failover_time(&lab, "10.99.0.100:2525");
        assert!(took < bound, "failover took {took:?} with a silent server");
    }
    {
        // Nobody has 10.99.0.250: connecting waits on ARP.
        let lab = Lab::new("mld", 2);
        let took = failover_time(&lab, "10.99.0.250:25");
        assert!(took < bound, "failover took {took:?} with no server");
    }
}
