//! FRR's VRRP daemon (Debian's frr 8.4) as a peer on a lab host.
//!
//! FRR keeps the VIPs on a macvlan device with the virtual MAC and puts that
//! device into `protodown` while it is Backup (FRR's `doc/user/vrrp.rst`);
//! it needs `zebra` beside `vrrpd`. Both run in the foreground under the
//! lab (killed with it), as FRR's own `frr` user, with their sockets,
//! configuration and pid files in a directory of the lab.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::Lab;

/// FRR's daemons, as Debian installs them.
const ZEBRA: &str = "/usr/lib/frr/zebra";
const VRRPD: &str = "/usr/lib/frr/vrrpd";

/// True if FRR's zebra and vrrpd are installed; prints why not.
pub fn frr_available() -> bool {
    let ok = Path::new(ZEBRA).is_file()
        && Path::new(VRRPD).is_file()
        && Command::new("id")
            .arg("frr")
            .output()
            .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("SKIP: FRR is not installed (scripts/setup.sh installs it)");
    }
    ok
}

/// One FRR virtual router (one address family: FRR's IPv4 and IPv6
/// routers of a VRID are independent).
#[derive(Debug, Clone)]
pub struct FrrRouter {
    /// VRID.
    pub vrid: u8,
    /// 2 or 3.
    pub version: u8,
    /// Priority (1-254; FRR reserves 255).
    pub priority: u8,
    /// Advertisement interval in milliseconds (multiple of 10).
    pub advert_ms: u32,
    /// The virtual address, with its prefix length (IPv6 needs version 3).
    pub vip: String,
}

impl FrrRouter {
    fn is_v6(&self) -> bool {
        self.vip.contains(':')
    }

    /// The macvlan device holding the VIP (FRR finds it by its MAC).
    pub fn device(&self) -> String {
        format!("vrrp{}-{}", if self.is_v6() { 6 } else { 4 }, self.vrid)
    }

    /// RFC 9568 §7.3 virtual MAC: 00-00-5E-00-01-{VRID} for IPv4,
    /// 00-00-5E-00-02-{VRID} for IPv6.
    fn mac(&self) -> String {
        let family = if self.is_v6() { 2 } else { 1 };
        format!("00:00:5e:00:{family:02x}:{:02x}", self.vrid)
    }

    fn config(&self, ifname: &str) -> String {
        let v = self.vrid;
        let addr = self.vip.split('/').next().unwrap_or(&self.vip);
        let kind = if self.is_v6() { "ipv6" } else { "ip" };
        format!(
            "interface {ifname}\n vrrp {v} version {}\n vrrp {v} priority {}\n vrrp {v} advertisement-interval {}\n vrrp {v} {kind} {addr}\n",
            self.version, self.priority, self.advert_ms
        )
    }
}

impl Lab {
    /// Starts FRR (zebra and vrrpd) with `router` on host `i`: creates the
    /// macvlan device with the virtual MAC and the VIP, then the daemons.
    /// Process names: `zebra{i}`, `frr{i}`.
    pub fn start_frr(&self, i: usize, router: &FrrRouter) {
        let h = self.hosts[i].clone();
        let dev = router.device();
        let mac = router.mac();
        // The macvlan's link-local address (FRR's IPv6 source) must be
        // usable at once: no duplicate address detection on new devices.
        self.ns_run(
            &h.ns,
            &["sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0"],
        );
        self.ns_run(
            &h.ns,
            &[
                "ip", "link", "add", &dev, "link", &h.ifname, "type", "macvlan", "mode", "bridge",
            ],
        );
        self.ns_run(&h.ns, &["ip", "link", "set", &dev, "addrgenmode", "random"]);
        self.ns_run(&h.ns, &["ip", "link", "set", &dev, "address", &mac]);
        self.ns_run(&h.ns, &["ip", "addr", "add", &router.vip, "dev", &dev]);
        self.ns_run(&h.ns, &["ip", "link", "set", &dev, "up"]);

        // FRR drops to its own user: the lab directory must let it through
        // to a directory of its own.
        let dir = self.frr_dir(i);
        std::fs::create_dir_all(&dir).unwrap();
        super::run(&["chmod", "0711", &self.dir.path().display().to_string()]);
        std::fs::write(dir.join("zebra.conf"), format!("hostname frr{i}\n")).unwrap();
        std::fs::write(
            dir.join("vrrpd.conf"),
            format!("hostname frr{i}\n{}", router.config(&h.ifname)),
        )
        .unwrap();
        super::run(&["chown", "-R", "frr:frr", &dir.display().to_string()]);
        let d = dir.display().to_string();
        let zserv = format!("{d}/zserv.api");
        let common = |conf: &str, pid: &str| {
            vec![
                "-P".to_owned(),
                "0".to_owned(),
                "--vty_socket".to_owned(),
                d.clone(),
                "-z".to_owned(),
                zserv.clone(),
                "-f".to_owned(),
                format!("{d}/{conf}"),
                "-i".to_owned(),
                format!("{d}/{pid}"),
                "--log".to_owned(),
                "stdout".to_owned(),
            ]
        };
        let args = |bin: &'static str, rest: Vec<String>| {
            let mut v = vec![bin.to_owned()];
            v.extend(rest);
            v
        };
        let zebra = args(ZEBRA, common("zebra.conf", "zebra.pid"));
        let zebra: Vec<&str> = zebra.iter().map(String::as_str).collect();
        self.spawn(&h.ns, &format!("zebra{i}"), &zebra);
        // vrrpd needs zebra's socket (it retries, but slowly).
        let deadline = Instant::now() + Duration::from_secs(5);
        while !Path::new(&zserv).exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let vrrpd = args(VRRPD, common("vrrpd.conf", "vrrpd.pid"));
        let vrrpd: Vec<&str> = vrrpd.iter().map(String::as_str).collect();
        self.spawn(&h.ns, &format!("frr{i}"), &vrrpd);
    }

    fn frr_dir(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("frr{i}"))
    }

    /// `ip -d link show` of `router`'s macvlan device on host `i`.
    fn frr_link(&self, i: usize, router: &FrrRouter) -> Option<String> {
        let out = self.ns_output(
            &self.hosts[i].ns,
            &["ip", "-d", "link", "show", &router.device()],
        );
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// True while FRR on host `i` is Master of `router`: its macvlan device
    /// is up and not in protodown (FRR's Backup).
    pub fn frr_is_master(&self, i: usize, router: &FrrRouter) -> bool {
        self.frr_link(i, router)
            .is_some_and(|t| t.contains("LOWER_UP") && !t.contains("protodown on"))
    }

    /// True while FRR on host `i` holds `router`'s macvlan device in
    /// protodown (FRR's Backup state, once it has started).
    pub fn frr_in_protodown(&self, i: usize, router: &FrrRouter) -> bool {
        self.frr_link(i, router)
            .is_some_and(|t| t.contains("protodown on"))
    }
}
