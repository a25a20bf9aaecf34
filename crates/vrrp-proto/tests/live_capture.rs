//! Re-records the golden vectors from live keepalived and FRR (running
//! tests/fixtures/capture.sh into a temp dir, in namespaces with a per-run
//! suffix) and checks that today's peers still send what the committed
//! fixtures say: the same adverts with the same checksum form, the same
//! GARP and NA bytes.
//!
//! Needs root, `ip netns`, keepalived, FRR, tcpdump and python3; skips with
//! a message when one is missing. Takes about 12 seconds.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use vrrp_proto::fuzzing::vrrp_in_datagram;
use vrrp_proto::{Advert, Packet};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn missing_prerequisite() -> Option<String> {
    // Root without libc: the second Uid field of /proc/self/status is the
    // effective uid.
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let euid_root = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(2))
        == Some("0");
    if !euid_root {
        return Some("not root".into());
    }
    let ok = |cmd: &str, args: &[&str]| {
        Command::new(cmd)
            .args(args)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !ok("ip", &["netns", "list"]) {
        return Some("`ip netns` unavailable".into());
    }
    for (tool, args) in [
        ("keepalived", &["--version"][..]),
        ("tcpdump", &["--version"][..]),
        ("python3", &["--version"][..]),
        ("/usr/lib/frr/vrrpd", &["--version"][..]),
    ] {
        if !ok(tool, args) {
            return Some(format!("{tool} not runnable"));
        }
    }
    None
}

/// Removes the output directory even if the test panics.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn live_peers_still_match_the_golden_vectors() {
    if let Some(why) = missing_prerequisite() {
        eprintln!("skipping live capture: {why}");
        return;
    }
    let out = TempDir(std::env::temp_dir().join(format!("vp-live-{}", std::process::id())));
    std::fs::create_dir_all(&out.0).unwrap();
    // capture.sh deletes its namespaces and kills its processes on exit;
    // `timeout` bounds it (and its trap still runs on SIGTERM).
    let run = Command::new("timeout")
        .args(["-s", "TERM", "60", "bash"])
        .arg(fixtures().join("capture.sh"))
        .arg(&out.0)
        .env(
            "VP_NS_SUFFIX",
            format!("-t{}", std::process::id() % 100_000),
        )
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "capture.sh failed:\n{}\n{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );

    let mut compared = 0;
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "bin") {
            continue;
        }
        let name = path.file_name().unwrap();
        let golden = std::fs::read(&path).unwrap();
        let live = std::fs::read(out.0.join(name))
            .unwrap_or_else(|e| panic!("{name:?} not recorded: {e}"));
        match (vrrp_in_datagram(&golden), vrrp_in_datagram(&live)) {
            (Some((g, gctx)), Some((l, lctx))) => {
                // IP Identification may differ; the adverts and the checksum
                // form must not.
                let g = Advert::parse(&Packet::new_checked(g).unwrap(), &gctx).unwrap();
                let l = Advert::parse(&Packet::new_checked(l).unwrap(), &lctx).unwrap();
                assert_eq!(g, l, "{name:?}");
            }
            _ => assert_eq!(golden, live, "{name:?}"),
        }
        compared += 1;
    }
    assert_eq!(compared, 8);
}
