//! LVS virtual servers on a real IPVS kernel: a client, two directors
//! running vrrpd (a VRRP pair and the virtual server on its VIP) and two
//! real servers, each in a network namespace of the lab.
//!
//! The host kernel of this project's build machines has no IPVS: there
//! these tests print SKIP and return. `scripts/vm-test.sh` runs them under
//! Debian's kernel in a VM with `IPVS_TEST_REQUIRE=1`, where a skip fails.
//!
//! NAT needs the real servers' replies to go back through the director:
//! the client sits in its own subnet (10.98.0.0/24) on the same bridge,
//! the directors forward, and the real servers route the client's subnet
//! via the VIP (so the route follows the master).
#![allow(clippy::unwrap_used)]

mod lab;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use lab::peers::Inst;
use lab::{Lab, smtp};

const VIP: &str = "10.99.0.50";
const CLIENT: &str = "10.98.0.100";

/// IPVS, root and ipvsadm, or SKIP (a failure with `IPVS_TEST_REQUIRE`).
fn ready(test: &str) -> bool {
    let why = if !Path::new("/proc/net/ip_vs").exists() {
        Some("no IPVS in this kernel (modprobe ip_vs)")
    } else if !lab::can_run() {
        Some("not root or no iproute2")
    } else if std::process::Command::new("ipvsadm")
        .arg("--version")
        .output()
        .is_err()
    {
        Some("no ipvsadm")
    } else {
        None
    };
    match why {
        None => true,
        Some(why) => {
            assert!(
                std::env::var_os("IPVS_TEST_REQUIRE").is_none(),
                "{test}: {why}, and IPVS_TEST_REQUIRE is set"
            );
            println!("SKIP {test}: {why}");
            false
        }
    }
}

/// A TCP server in a namespace that answers each line with its name; its
/// listener can be closed and reopened (established connections live on).
struct Backend {
    listening: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

impl Backend {
    fn start(ns: &str, name: &str, port: u16) -> Backend {
        let listening = Arc::new(AtomicBool::new(true));
        let stop = Arc::new(AtomicBool::new(false));
        let (l, s) = (listening.clone(), stop.clone());
        let path = format!("/run/netns/{ns}");
        let name = name.to_owned();
        std::thread::spawn(move || {
            let f = std::fs::File::open(&path).unwrap();
            nix::sched::setns(f.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
            let mut listener: Option<TcpListener> = None;
            while !s.load(Ordering::Relaxed) {
                let want = l.load(Ordering::Relaxed);
                if want && listener.is_none() {
                    if let Ok(x) = TcpListener::bind(("0.0.0.0", port)) {
                        x.set_nonblocking(true).unwrap();
                        listener = Some(x);
                    }
                } else if !want {
                    listener = None;
                }
                match listener.as_ref().map(TcpListener::accept) {
                    Some(Ok((c, _))) => {
                        let name = name.clone();
                        std::thread::spawn(move || serve(c, &name));
                    }
                    _ => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Backend { listening, stop }
    }

    fn set_listening(&self, on: bool) {
        self.listening.store(on, Ordering::Relaxed);
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn serve(c: TcpStream, name: &str) {
    c.set_nonblocking(false).ok();
    let mut w = c.try_clone().unwrap();
    for line in BufReader::new(c).lines() {
        if line.is_err() || writeln!(w, "{name}").is_err() {
            return;
        }
    }
}

/// A connection from the client to `VIP:port`, in the client's namespace.
fn connect(ns: &str, port: u16) -> Option<TcpStream> {
    let ns = ns.to_owned();
    lab::in_netns(&ns, move || {
        let a = format!("{VIP}:{port}").parse().unwrap();
        let s = TcpStream::connect_timeout(&a, Duration::from_secs(2)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
        Some(s)
    })
}

/// One line sent, one read back: the real server's name.
fn ask_on(s: &mut TcpStream) -> Option<String> {
    writeln!(s, "hi").ok()?;
    let mut line = String::new();
    BufReader::new(s.try_clone().ok()?)
        .read_line(&mut line)
        .ok()?;
    let t = line.trim().to_owned();
    (!t.is_empty()).then_some(t)
}

/// A new connection, one question.
fn ask(ns: &str, port: u16) -> Option<String> {
    ask_on(&mut connect(ns, port)?)
}

/// `ipvsadm -Ln` in `ns`, without the header lines.
fn ipvsadm(lab: &Lab, ns: &str) -> String {
    let out = lab.ns_run(ns, &["ipvsadm", "-Ln"]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(3)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The weight of real server `rs` in `ipvsadm -Ln`, or None if absent.
fn weight_of(table: &str, vs_port: u16, rs: &str) -> Option<u32> {
    let mut in_vs = false;
    for l in table.lines() {
        let w: Vec<&str> = l.split_whitespace().collect();
        if matches!(w.first(), Some(&"TCP") | Some(&"UDP") | Some(&"FWM")) {
            in_vs = w.get(1) == Some(&format!("{VIP}:{vs_port}").as_str());
        } else if in_vs && w.first() == Some(&"->") && w.get(1) == Some(&rs) {
            return w.get(3).and_then(|x| x.parse().ok());
        }
    }
    None
}

/// The lab: h0, h1 directors; h2, h3 real servers; the client in its own
/// subnet.
fn build(tag: &str, dr: bool) -> Lab {
    let lab = Lab::new(tag, 4);
    let c = lab.client.clone();
    lab.ns_run(
        &c.ns,
        &["ip", "addr", "flush", "dev", "eth0", "scope", "global"],
    );
    lab.ns_run(
        &c.ns,
        &["ip", "addr", "add", &format!("{CLIENT}/24"), "dev", "eth0"],
    );
    lab.ns_run(
        &c.ns,
        &["ip", "route", "add", "10.99.0.0/24", "dev", "eth0"],
    );
    for d in &lab.hosts[..2] {
        lab.ns_run(&d.ns, &["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
        // LVS-NAT on one network: a director that forwards a real server's
        // reply out the interface it came in on (the backup, while a real
        // server's ARP entry for the VIP still names it) would send an
        // ICMP redirect, and the real server would then answer the client
        // directly, past the director's NAT (the LVS HOWTO's advice).
        for dev in ["all", "default", "eth0"] {
            lab.ns_run(
                &d.ns,
                &[
                    "sysctl",
                    "-qw",
                    &format!("net.ipv4.conf.{dev}.send_redirects=0"),
                ],
            );
        }
        lab.ns_run(
            &d.ns,
            &["ip", "route", "add", "10.98.0.0/24", "dev", "eth0"],
        );
    }
    for r in &lab.hosts[2..] {
        if dr {
            lab.ns_run(
                &r.ns,
                &["ip", "addr", "add", &format!("{VIP}/32"), "dev", "lo"],
            );
            lab.ns_run(&r.ns, &["sysctl", "-qw", "net.ipv4.conf.all.arp_ignore=1"]);
            lab.ns_run(
                &r.ns,
                &["sysctl", "-qw", "net.ipv4.conf.all.arp_announce=2"],
            );
            lab.ns_run(
                &r.ns,
                &["ip", "route", "add", "10.98.0.0/24", "dev", "eth0"],
            );
        } else {
            lab.ns_run(&r.ns, &["ip", "route", "add", "10.98.0.0/24", "via", VIP]);
        }
    }
    lab
}

/// The virtual server on the VIP, with both real servers and TCP checks.
fn virtual_server(port: u16, kind: &str, extra: &str, rs_extra: &str) -> String {
    let mut s = format!(
        "[[virtual_server]]\naddress = \"{VIP}\"\nport = {port}\nlb_algo = \"rr\"\nlb_kind = \"{kind}\"\ndelay_loop = \"1s\"\n{extra}\n"
    );
    for rs in ["10.99.0.12", "10.99.0.13"] {
        s.push_str(&format!(
            "[[virtual_server.real_server]]\naddress = \"{rs}\"\nport = 80\n{rs_extra}\n\
             [virtual_server.real_server.tcp_check]\nconnect_timeout = \"1s\"\nretry = 1\ndelay_before_retry = \"500ms\"\nwarmup = \"0s\"\n"
        ));
    }
    s
}

fn start_director(lab: &Lab, i: usize, priority: u8, lvs: &str) {
    start_director_with(lab, i, priority, "", lvs);
}

/// A director whose `[global]` has `global` too.
fn start_director_with(lab: &Lab, i: usize, priority: u8, global: &str, lvs: &str) {
    write_director(lab, i, priority, global, lvs);
    lab.spawn_vrrpd(i, &format!("vrrpd{i}"), &[("RUST_LOG", "info")]);
}

/// Writes director `i`'s configuration (for a start or a reload).
fn write_director(lab: &Lab, i: usize, priority: u8, global: &str, lvs: &str) {
    let inst = Inst {
        extra: "garp_master_delay = \"0s\"\n".into(),
        ..Inst::v3("VI_1", 51, priority, &format!("{VIP}/24"))
    };
    lab.write_vrrpd_toml(i, global, &format!("{}\n{lvs}", inst.toml()));
}

/// Director 0 (priority 200) until it is master, then director 1 (100)
/// until it is backup. Started together, both can be master for a moment
/// (under TCG adding the VIP outlasts the Skew_Time between them), and the
/// real servers' ARP entries for the VIP can then name the backup until
/// the winner's second set of announcements (`garp_lower_prio_delay`,
/// 5 s), with replies routed past the NAT meanwhile: a start-up race these
/// tests are not about.
fn start_pair(lab: &Lab, lvs: &str) {
    start_director(lab, 0, 200, lvs);
    wait_master(lab, 0);
    start_director(lab, 1, 100, lvs);
    assert!(
        lab.wait_state(1, "VI_1", "backup", Duration::from_secs(10)),
        "director 1 never became backup:\n{}",
        lab.logs()
    );
}

fn wait_master(lab: &Lab, i: usize) {
    let ok = lab.wait_until(Duration::from_secs(20), || {
        lab.state_of(i, "VI_1").as_deref() == Some("master")
    });
    assert!(ok, "director {i} never became master:\n{}", lab.logs());
}

/// Requests alternate between the real servers (rr), both present.
fn assert_alternates(lab: &Lab, port: u16) {
    let c = lab.client.ns.clone();
    let got: Vec<String> = (0..6).filter_map(|_| ask(&c, port)).collect();
    assert_eq!(
        got.len(),
        6,
        "answers {got:?}\n{}",
        ipvsadm(lab, &lab.hosts[0].ns)
    );
    assert!(
        got.windows(2).all(|w| w[0] != w[1]),
        "not alternating: {got:?}"
    );
}

#[test]
fn nat_real_server_leaves_and_returns_within_the_bound() {
    if !ready("nat_real_server_leaves_and_returns_within_the_bound") {
        return;
    }
    let lab = build("lvn", false);
    let b2 = Backend::start(&lab.hosts[2].ns, "rs2", 80);
    let _b3 = Backend::start(&lab.hosts[3].ns, "rs3", 80);
    // Port 83: ha_suspend, so its checks run only where the VIP is.
    let vs =
        virtual_server(80, "NAT", "", "") + &virtual_server(83, "NAT", "ha_suspend = true", "");
    start_pair(&lab, &vs);
    let d0 = lab.hosts[0].ns.clone();
    assert!(
        lab.wait_until(Duration::from_secs(10), || {
            let t = ipvsadm(&lab, &d0);
            weight_of(&t, 80, "10.99.0.12:80").is_some()
                && weight_of(&t, 80, "10.99.0.13:80").is_some()
        }),
        "table: {}\n{}",
        ipvsadm(&lab, &d0),
        lab.logs()
    );
    assert_alternates(&lab, 80);

    // The bound: delay_loop + connect_timeout × (retry+1) + delay_before_retry × retry.
    let bound = Duration::from_millis(1000 + 1000 * 2 + 500);
    b2.set_listening(false);
    let t0 = Instant::now();
    let gone = lab.wait_until(bound + Duration::from_secs(2), || {
        weight_of(&ipvsadm(&lab, &d0), 80, "10.99.0.12:80").is_none()
    });
    let took = t0.elapsed();
    assert!(
        gone,
        "still in the table: {}\n{}",
        ipvsadm(&lab, &d0),
        lab.log("vrrpd0")
    );
    // Polling ipvsadm under TCG adds its own delay: allow one second.
    assert!(
        took <= bound + Duration::from_secs(1),
        "removed after {took:?}"
    );
    let c = lab.client.ns.clone();
    let got: Vec<String> = (0..3).filter_map(|_| ask(&c, 80)).collect();
    assert_eq!(got, ["rs3", "rs3", "rs3"]);
    // ha_suspend: the master's port 83 follows; the backup's (no VIP)
    // keeps its table while its port 80 follows.
    let d1 = lab.hosts[1].ns.clone();
    assert!(
        lab.wait_until(Duration::from_secs(6), || {
            weight_of(&ipvsadm(&lab, &d0), 83, "10.99.0.12:80").is_none()
                && weight_of(&ipvsadm(&lab, &d1), 80, "10.99.0.12:80").is_none()
        }),
        "master {}\nbackup {}",
        ipvsadm(&lab, &d0),
        ipvsadm(&lab, &d1)
    );
    assert_eq!(
        weight_of(&ipvsadm(&lab, &d1), 83, "10.99.0.12:80"),
        Some(1),
        "the backup's ha_suspend service changed: {}",
        ipvsadm(&lab, &d1)
    );
    let st = lab.status_json(0).unwrap();
    let rss = &st["data"]["virtual_servers"][0]["real_servers"];
    assert_eq!(rss[0]["state"], "down", "{st}");
    assert_eq!(rss[1]["state"], "up", "{st}");

    b2.set_listening(true);
    assert!(
        lab.wait_until(Duration::from_secs(4), || {
            weight_of(&ipvsadm(&lab, &d0), 80, "10.99.0.12:80") == Some(1)
        }),
        "did not return: {}",
        ipvsadm(&lab, &d0)
    );
    assert_alternates(&lab, 80);
}

#[test]
fn inhibit_on_failure_and_the_sorry_server() {
    if !ready("inhibit_on_failure_and_the_sorry_server") {
        return;
    }
    let lab = build("lvi", false);
    let b2 = Backend::start(&lab.hosts[2].ns, "rs2", 80);
    let _b3 = Backend::start(&lab.hosts[3].ns, "rs3", 80);
    let _sorry = Backend::start(&lab.hosts[3].ns, "sorry", 8080);
    let mut lvs = virtual_server(80, "NAT", "", "inhibit_on_failure = true");
    lvs.push_str(&virtual_server(
        81,
        "NAT",
        "quorum = 2\nsorry_server = \"10.99.0.13:8080\"",
        "",
    ));
    // misc_dynamic: exit status 12 sets the weight to 10.
    lvs.push_str(&format!(
        "[[virtual_server]]\naddress = \"{VIP}\"\nport = 82\ndelay_loop = \"1s\"\n\
         [[virtual_server.real_server]]\naddress = \"10.99.0.12\"\nport = 80\n\
         [virtual_server.real_server.misc_check]\nmisc_path = [\"/bin/sh\", \"-c\", \"exit 12\"]\nmisc_dynamic = true\nwarmup = \"0s\"\n"
    ));
    start_director(&lab, 0, 200, &lvs);
    wait_master(&lab, 0);
    let d0 = lab.hosts[0].ns.clone();
    assert!(
        lab.wait_until(Duration::from_secs(10), || weight_of(
            &ipvsadm(&lab, &d0),
            82,
            "10.99.0.12:80"
        ) == Some(10)),
        "misc_dynamic: {}",
        ipvsadm(&lab, &d0)
    );
    let both = |t: &str, p| {
        weight_of(t, p, "10.99.0.12:80") == Some(1) && weight_of(t, p, "10.99.0.13:80") == Some(1)
    };
    assert!(
        lab.wait_until(Duration::from_secs(10), || {
            let t = ipvsadm(&lab, &d0);
            both(&t, 80) && both(&t, 81) && weight_of(&t, 81, "10.99.0.13:8080").is_none()
        }),
        "{}",
        ipvsadm(&lab, &d0)
    );
    b2.set_listening(false);
    assert!(
        lab.wait_until(Duration::from_secs(6), || {
            let t = ipvsadm(&lab, &d0);
            weight_of(&t, 80, "10.99.0.12:80") == Some(0)
                && weight_of(&t, 81, "10.99.0.13:8080") == Some(1)
                && weight_of(&t, 81, "10.99.0.13:80").is_none()
        }),
        "inhibit / sorry server: {}\n{}",
        ipvsadm(&lab, &d0),
        lab.log("vrrpd0")
    );
    let c = lab.client.ns.clone();
    assert_eq!(ask(&c, 81).as_deref(), Some("sorry"));
    b2.set_listening(true);
    assert!(
        lab.wait_until(Duration::from_secs(6), || {
            let t = ipvsadm(&lab, &d0);
            both(&t, 80) && both(&t, 81) && weight_of(&t, 81, "10.99.0.13:8080").is_none()
        }),
        "{}",
        ipvsadm(&lab, &d0)
    );
}

#[test]
fn direct_routing_alternates() {
    if !ready("direct_routing_alternates") {
        return;
    }
    let lab = build("lvd", true);
    let _b2 = Backend::start(&lab.hosts[2].ns, "rs2", 80);
    let _b3 = Backend::start(&lab.hosts[3].ns, "rs3", 80);
    start_director(&lab, 0, 200, &virtual_server(80, "DR", "", ""));
    wait_master(&lab, 0);
    let d0 = lab.hosts[0].ns.clone();
    assert!(
        lab.wait_until(Duration::from_secs(10), || {
            let t = ipvsadm(&lab, &d0);
            t.contains("Route")
                && weight_of(&t, 80, "10.99.0.12:80").is_some()
                && weight_of(&t, 80, "10.99.0.13:80").is_some()
        }),
        "{}",
        ipvsadm(&lab, &d0)
    );
    assert_alternates(&lab, 80);
}

/// keepalived's LVS alerts against a real SMTP server (aiosmtpd on the
/// client): a real server whose check fails and recovers, and the quorum
/// that goes with it, are mailed with the router id, the servers and the
/// check; a virtual server and real servers without `smtp_alert` (the
/// global `smtp_alert_checker = false`) mail nothing; a reload that drops
/// a live real server mails its removal; `omega` mails the stop.
#[test]
fn real_server_and_quorum_alerts_reach_a_real_smtp_server() {
    const TEST: &str = "real_server_and_quorum_alerts_reach_a_real_smtp_server";
    if !ready(TEST) {
        return;
    }
    if !smtp::aiosmtpd_available() {
        assert!(
            std::env::var_os("IPVS_TEST_REQUIRE").is_none(),
            "{TEST}: no python3-aiosmtpd, and IPVS_TEST_REQUIRE is set"
        );
        return;
    }
    let lab = build("lvm", false);
    let inbox = lab.dir.path().join("inbox.jsonl");
    let c = lab.client.ns.clone();
    let out = inbox.display().to_string();
    smtp::start(&lab, &c, "smtpd", smtp::SERVER, (CLIENT, 2525), &out);
    let b2 = Backend::start(&lab.hosts[2].ns, "rs2", 80);
    let _b3 = Backend::start(&lab.hosts[3].ns, "rs3", 80);
    let global = format!(
        "router_id = \"lab-d0\"\nnotification_email = [\"ops@example.com\", \"noc@example.com\"]\n\
         notification_email_from = \"vrrpd@d0.example.com\"\nsmtp_server = \"{CLIENT}:2525\"\n\
         smtp_connect_timeout = \"10s\"\nsmtp_alert_checker = false\n"
    );
    // Port 80 mails (its own smtp_alert and its real servers'); port 81,
    // with the same real servers, follows smtp_alert_checker = false.
    let lvs = virtual_server(
        80,
        "NAT",
        "quorum = 2\nomega = true\nsmtp_alert = true",
        "smtp_alert = true",
    ) + &virtual_server(81, "NAT", "quorum = 2", "");
    // On port 82 only the real server a reload drops mails (the other
    // one goes down with port 80's).
    let port82 = virtual_server(82, "NAT", "", "").replace(
        "address = \"10.99.0.13\"\nport = 80\n",
        "address = \"10.99.0.13\"\nport = 80\nsmtp_alert = true\n",
    );
    let lvs = lvs + &port82;
    start_director_with(&lab, 0, 200, &global, &lvs);
    wait_master(&lab, 0);
    let d0 = lab.hosts[0].ns.clone();
    assert!(
        lab.wait_until(Duration::from_secs(10), || {
            let t = ipvsadm(&lab, &d0);
            weight_of(&t, 80, "10.99.0.12:80").is_some()
                && weight_of(&t, 81, "10.99.0.12:80").is_some()
        }),
        "table: {}\n{}",
        ipvsadm(&lab, &d0),
        lab.log("vrrpd0")
    );
    let want = |s: &str| {
        let (s, inbox) = (s.to_owned(), inbox.clone());
        move || smtp::subjects(&inbox).contains(&s)
    };
    let rs_down = "[lab-d0] LVS TCP 10.99.0.50:80 - real server 10.99.0.12:80 DOWN";
    let rs_up = "[lab-d0] LVS TCP 10.99.0.50:80 - real server 10.99.0.12:80 UP";
    let q_down = "[lab-d0] LVS TCP 10.99.0.50:80 - quorum DOWN";
    let q_up = "[lab-d0] LVS TCP 10.99.0.50:80 - quorum UP";

    b2.set_listening(false);
    for s in [rs_down, q_down] {
        assert!(
            lab.wait_until(Duration::from_secs(15), want(s)),
            "no mail {s:?}: {:?}\n{}",
            smtp::subjects(&inbox),
            lab.log("vrrpd0")
        );
    }
    let m = smtp::find(&inbox, rs_down).unwrap();
    let data = m["data"].as_str().unwrap();
    assert!(
        data.contains("=> tcp_check of 10.99.0.12:80 failed: "),
        "{data}"
    );
    assert_eq!(
        smtp::header(&m, "From"),
        Some("vrrpd@d0.example.com"),
        "{m}"
    );
    assert_eq!(
        smtp::header(&m, "To"),
        Some("ops@example.com, noc@example.com"),
        "{m}"
    );
    assert_eq!(smtp::header(&m, "X-Mailer"), Some("vrrpd"), "{m}");
    assert!(
        smtp::header(&m, "Date").is_some_and(|d| d.ends_with("+0000")),
        "{m}"
    );
    assert_eq!(m["from"], "vrrpd@d0.example.com");
    assert_eq!(
        m["to"],
        serde_json::json!(["ops@example.com", "noc@example.com"])
    );
    let q = smtp::find(&inbox, q_down).unwrap();
    assert!(
        q["data"]
            .as_str()
            .unwrap()
            .contains("=> quorum lost: live weight 1 is below 2 (quorum 2 - hysteresis 0) <="),
        "{q}"
    );

    b2.set_listening(true);
    for s in [rs_up, q_up] {
        assert!(
            lab.wait_until(Duration::from_secs(15), want(s)),
            "no mail {s:?}: {:?}\n{}",
            smtp::subjects(&inbox),
            lab.log("vrrpd0")
        );
    }
    let m = smtp::find(&inbox, rs_up).unwrap();
    assert!(
        m["data"]
            .as_str()
            .unwrap()
            .contains("=> tcp_check of 10.99.0.12:80 succeeded <="),
        "{m}"
    );
    // Nothing at start (the servers were as assumed), nothing of port 81
    // or of the VRRP instance (no smtp_alert), nothing twice.
    let got = smtp::subjects(&inbox);
    assert_eq!(got.len(), 4, "{got:?}");
    assert!(
        got.iter()
            .all(|s| s.starts_with("[lab-d0] LVS TCP 10.99.0.50:80 - ")),
        "{got:?}"
    );
    // Counted as sent once the server's reply is read (after the inbox).
    let sent = || {
        lab.status_json(0)
            .is_some_and(|st| st["data"]["mail"]["sent"] == 4)
    };
    assert!(
        lab.wait_until(Duration::from_secs(5), sent),
        "{:?}",
        lab.status_json(0)
    );
    let st = lab.status_json(0).unwrap();
    assert_eq!(st["data"]["mail"]["failed"], 0, "{st}");

    // A reload without port 82's second real server, which is up: one
    // mail, keepalived's "Removing"; port 80 is untouched.
    let second = port82
        .find("[[virtual_server.real_server]]\naddress = \"10.99.0.13\"")
        .unwrap();
    let reloaded = lvs.replace(&port82, &port82[..second]);
    write_director(&lab, 0, 200, &global, &reloaded);
    lab.signal("vrrpd0", nix::sys::signal::Signal::SIGHUP as i32);
    let removed = "[lab-d0] LVS TCP 10.99.0.50:82 - real server 10.99.0.13:80 DOWN";
    assert!(
        lab.wait_until(Duration::from_secs(10), want(removed)),
        "no mail {removed:?}: {:?}\n{}",
        smtp::subjects(&inbox),
        lab.log("vrrpd0")
    );
    let m = smtp::find(&inbox, removed).unwrap();
    assert!(m["data"].as_str().unwrap().contains("=> Removing"), "{m}");
    assert!(
        lab.wait_until(Duration::from_secs(5), || weight_of(
            &ipvsadm(&lab, &d0),
            82,
            "10.99.0.13:80"
        )
        .is_none()),
        "{}",
        ipvsadm(&lab, &d0)
    );
    assert_eq!(
        smtp::subjects(&inbox).len(),
        5,
        "{:?}",
        smtp::subjects(&inbox)
    );

    // omega: the stop mails both real servers of port 80 and its quorum.
    lab.signal("vrrpd0", nix::sys::signal::Signal::SIGTERM as i32);
    assert!(lab.wait_exit("vrrpd0", Duration::from_secs(20)).is_some());
    for s in [
        rs_down.replace(".12:80 DOWN", ".13:80 DOWN"),
        q_down.to_owned(),
    ] {
        let stopping = |m: &serde_json::Value| {
            smtp::header(m, "Subject") == Some(s.as_str())
                && m["data"]
                    .as_str()
                    .unwrap()
                    .contains("=> vrrpd is stopping <=")
        };
        assert!(
            lab.wait_until(Duration::from_secs(10), || smtp::mails(&inbox)
                .iter()
                .any(stopping)),
            "no stop mail {s:?}: {:?}\n{}",
            smtp::subjects(&inbox),
            lab.log("vrrpd0")
        );
    }
}

#[derive(Clone, Copy, Debug)]
enum Failover {
    Sigterm,
    LinkLoss,
}

/// Opens a connection through the VIP, fails the master over, and says
/// whether the connection still answers afterwards.
fn connection_survives(tag: &str, sync: bool, how: Failover) -> bool {
    let lab = build(tag, false);
    let _b2 = Backend::start(&lab.hosts[2].ns, "rs2", 80);
    let _b3 = Backend::start(&lab.hosts[3].ns, "rs3", 80);
    let mut lvs = String::new();
    if sync {
        lvs.push_str(
            "[lvs]\nsync_daemon = { interface = \"eth0\", instance = \"VI_1\", id = 7 }\n",
        );
    }
    // omega: a stopping director runs notify_down and quorum_down.
    let hook_log = lab.dir.path().join("omega.log");
    let hook = |word: &str| {
        format!(
            "[\"/bin/sh\", \"-c\", \"echo {word} >> {}\"]",
            hook_log.display()
        )
    };
    lvs.push_str(&virtual_server(
        80,
        "NAT",
        &format!("omega = true\nquorum_down = {}", hook("quorum")),
        &format!("notify_down = {}", hook("down")),
    ));
    start_pair(&lab, &lvs);
    let d0 = lab.hosts[0].ns.clone();
    assert!(lab.wait_until(Duration::from_secs(10), || {
        weight_of(&ipvsadm(&lab, &d0), 80, "10.99.0.13:80").is_some()
    }));
    let Some(mut s) = connect(&lab.client.ns, 80) else {
        panic!("connect through the VIP failed\n{}", diagnose(&lab));
    };
    let first = ask_on(&mut s).expect("first answer");
    // Enough packets for the sync master to send the connection
    // (sync_threshold 3), then time for the backup to learn it.
    for _ in 0..6 {
        assert_eq!(ask_on(&mut s).as_deref(), Some(first.as_str()));
    }
    let d1 = lab.hosts[1].ns.clone();
    let synced = lab.wait_until(Duration::from_secs(10), || {
        let c = lab.ns_output(&d1, &["ipvsadm", "-Lnc"]);
        String::from_utf8_lossy(&c.stdout).contains(CLIENT)
    });
    println!("{tag}: the backup knows the connection: {synced}");
    let daemons = lab.ns_output(&d0, &["ipvsadm", "-L", "--daemon"]);
    let conns = lab.ns_output(&d1, &["ipvsadm", "-Lnc"]);
    let before = format!(
        "director 0 sync daemons: {}\ndirector 1 connections: {}",
        String::from_utf8_lossy(&daemons.stdout),
        String::from_utf8_lossy(&conns.stdout)
    );
    match how {
        Failover::Sigterm => lab.signal("vrrpd0", libc::SIGTERM),
        Failover::LinkLoss => lab.set_link(&lab.hosts[0], false),
    }
    wait_master(&lab, 1);
    // Time for the new master's announcements; TCP retransmits meanwhile.
    s.set_read_timeout(Some(Duration::from_secs(8))).unwrap();
    let after = ask_on(&mut s);
    println!("{tag}: sync {sync}, {how:?}: first {first}, after {after:?}");
    if matches!(how, Failover::Sigterm) {
        let ran = lab.wait_until(Duration::from_secs(10), || {
            let t = std::fs::read_to_string(&hook_log).unwrap_or_default();
            t.matches("down").count() == 2 && t.contains("quorum")
        });
        let t = std::fs::read_to_string(&hook_log).unwrap_or_default();
        assert!(ran, "omega hooks: {t:?}\n{}", lab.log("vrrpd0"));
    }
    if sync && after.is_none() {
        println!("{before}\n{}\n{}", lab.log("vrrpd0"), lab.log("vrrpd1"));
    }
    after.as_deref() == Some(first.as_str())
}

/// What the lab's hosts see: IPVS tables and connections, neighbours,
/// addresses, and the daemons' logs.
fn diagnose(lab: &Lab) -> String {
    let mut out = String::new();
    let all = lab.hosts.iter().chain(std::iter::once(&lab.client));
    for h in all {
        for cmd in [
            &["ipvsadm", "-Ln"][..],
            &["ipvsadm", "-Lnc"],
            &["ip", "neigh"],
            &["ip", "-4", "addr"],
            &["ip", "route"],
        ] {
            let o = lab.ns_output(&h.ns, cmd);
            out.push_str(&format!(
                "== {} {}\n{}{}",
                h.ns,
                cmd.join(" "),
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ));
        }
    }
    out + &lab.logs()
}

#[test]
fn a_connection_survives_failover_with_the_sync_daemon() {
    if !ready("a_connection_survives_failover_with_the_sync_daemon") {
        return;
    }
    assert!(
        connection_survives("lvs1", true, Failover::Sigterm),
        "SIGTERM"
    );
    assert!(
        connection_survives("lvs2", true, Failover::LinkLoss),
        "link loss"
    );
}

#[test]
fn without_the_sync_daemon_the_connection_breaks() {
    if !ready("without_the_sync_daemon_the_connection_breaks") {
        return;
    }
    assert!(!connection_survives("lvs3", false, Failover::Sigterm));
}

/// keepalived's checker (`keepalived -C`) on director 0 with `conf`,
/// vrrpd on director 1 with `conf` imported.
fn start_oracle_pair(lab: &Lab, conf: &str) -> std::path::PathBuf {
    let dir = lab.dir.path();
    let ka = dir.join("ka.conf");
    std::fs::write(&ka, conf).unwrap();
    let p = |s: &str| dir.join(format!("ka.{s}.pid")).display().to_string();
    lab.spawn(
        &lab.hosts[0].ns.clone(),
        "keepalived",
        &[
            "keepalived",
            "-n",
            "-l",
            "-D",
            "-C",
            "-f",
            &ka.display().to_string(),
            "-p",
            &p("main"),
            "-r",
            &p("vrrp"),
            "-c",
            &p("chk"),
        ],
    );
    let imported = vrrpd::import::import_file(&ka).unwrap();
    lab.write_vrrpd_toml(1, "", &imported.toml);
    lab.spawn_vrrpd(1, "vrrpd1", &[("RUST_LOG", "info")]);
    ka
}

fn oracle_conf(weight: u32) -> String {
    let mut s = format!(
        "virtual_server {VIP} 80 {{\n  delay_loop 1\n  lb_algo wrr\n  lb_kind NAT\n  protocol TCP\n  persistence_timeout 30\n"
    );
    for (rs, w) in [("10.99.0.12", weight), ("10.99.0.13", 1)] {
        s.push_str(&format!(
            "  real_server {rs} 80 {{\n    weight {w}\n    TCP_CHECK {{\n      connect_timeout 1\n      retry 1\n      delay_before_retry 1\n      warmup 0\n    }}\n  }}\n"
        ));
    }
    s.push_str(&format!(
        "}}\nvirtual_server {VIP} 81 {{\n  delay_loop 1\n  lb_algo rr\n  lb_kind NAT\n  inhibit_on_failure\n  real_server 10.99.0.12 80 {{\n    TCP_CHECK {{\n      connect_timeout 1\n      warmup 0\n    }}\n  }}\n}}\n"
    ));
    // Tunnels (GUE with a checksum, a real server's own GRE) and
    // connection thresholds: `ipvsadm --tun-info --thresholds` shows them.
    s.push_str(&format!(
        "virtual_server {VIP} 82 {{\n  delay_loop 1\n  lb_algo wlc\n  lvs_method TUN type gue port 6080 csum\n  protocol TCP\n  \
         real_server 10.99.0.12 80 {{\n    uthreshold 100\n    lthreshold 10\n  }}\n  \
         real_server 10.99.0.13 80 {{\n    lvs_method TUN type gre\n  }}\n}}\n"
    ));
    s
}

/// `ipvsadm -Ln --tun-info` and `--thresholds` in `ns` for the virtual
/// server on port 82.
fn tunnels(lab: &Lab, ns: &str) -> String {
    let svc = format!("{VIP}:82");
    ["--tun-info", "--thresholds"]
        .iter()
        .map(|opt| {
            let out = lab.ns_run(ns, &["ipvsadm", "-Ln", "-t", &svc, opt]);
            String::from_utf8_lossy(&out.stdout).into_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Waits until both directors' tables agree and satisfy `pred`.
fn tables_agree(lab: &Lab, what: &str, pred: impl Fn(&str) -> bool) {
    let (d0, d1) = (lab.hosts[0].ns.clone(), lab.hosts[1].ns.clone());
    let ok = lab.wait_until(Duration::from_secs(15), || {
        let (a, b) = (ipvsadm(lab, &d0), ipvsadm(lab, &d1));
        a == b && pred(&a)
    });
    assert!(
        ok,
        "{what}: keepalived\n{}\nvrrpd\n{}\n{}",
        ipvsadm(lab, &d0),
        ipvsadm(lab, &d1),
        lab.logs()
    );
}

#[test]
fn keepalived_and_the_imported_config_make_the_same_table() {
    if !ready("keepalived_and_the_imported_config_make_the_same_table")
        || !lab::peers::keepalived_available()
    {
        return;
    }
    let lab = build("lvk", false);
    let b2 = Backend::start(&lab.hosts[2].ns, "rs2", 80);
    let _b3 = Backend::start(&lab.hosts[3].ns, "rs3", 80);
    let ka = start_oracle_pair(&lab, &oracle_conf(3));
    let both = |t: &str| {
        weight_of(t, 80, "10.99.0.12:80") == Some(3) && weight_of(t, 80, "10.99.0.13:80") == Some(1)
    };
    tables_agree(&lab, "at start", both);
    let (d0, d1) = (lab.hosts[0].ns.clone(), lab.hosts[1].ns.clone());
    let (k, v) = (tunnels(&lab, &d0), tunnels(&lab, &d1));
    assert_eq!(k, v, "tunnels and thresholds: keepalived, then vrrpd");
    assert!(
        k.contains("gue") && k.contains("6080") && k.contains("gre") && k.contains("100"),
        "{k}"
    );
    b2.set_listening(false);
    tables_agree(&lab, "after a real server failed", |t| {
        weight_of(t, 80, "10.99.0.12:80").is_none() && weight_of(t, 81, "10.99.0.12:80") == Some(0)
    });
    b2.set_listening(true);
    tables_agree(&lab, "after it returned", both);
    // A reload with a new weight while that real server is down: both
    // keep it down (not back in the table until a check passes), then
    // put it back with the new weight.
    b2.set_listening(false);
    let gone = |t: &str| weight_of(t, 80, "10.99.0.12:80").is_none();
    tables_agree(&lab, "after it failed again", gone);
    std::fs::write(&ka, oracle_conf(5)).unwrap();
    let imported = vrrpd::import::import_file(&ka).unwrap();
    lab.write_vrrpd_toml(1, "", &imported.toml);
    lab.signal("keepalived", libc::SIGHUP);
    lab.signal("vrrpd1", libc::SIGHUP);
    // Longer than the checks take to fail it again (delay_loop 1 +
    // connect_timeout 1 × 2 + delay_before_retry 1): a reload that forgot
    // the state would show it meanwhile.
    let until = Instant::now() + Duration::from_secs(6);
    while Instant::now() < until {
        for (who, ns) in [("keepalived", &d0), ("vrrpd", &d1)] {
            let t = ipvsadm(&lab, ns);
            assert!(
                gone(&t),
                "{who} put the failed real server back at reload:\n{t}"
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    tables_agree(&lab, "after a reload, the real server still down", gone);
    b2.set_listening(true);
    tables_agree(&lab, "after a reload", |t| {
        weight_of(t, 80, "10.99.0.12:80") == Some(5)
    });
}
