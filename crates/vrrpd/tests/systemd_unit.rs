//! `packaging/vrrpd.service` (docs/operations.md, "Under systemd"): the
//! sandbox rates at most 4.0 in `systemd-analyze security` while the unit
//! still grants what vrrpd and its hooks need. No privileges needed;
//! `systemd-analyze` comes with Debian's systemd package (scripts/setup.sh).

use std::path::PathBuf;
use std::process::Command;

fn unit_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../packaging/vrrpd.service")
}

/// The unit's `Key=value` settings in order (comments and sections dropped).
fn settings() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(unit_path()).expect("packaging/vrrpd.service");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('['))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

/// The last value of `key` (systemd's rule for single-valued settings).
fn last(key: &str) -> Option<String> {
    settings()
        .into_iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

/// Every word of every `key=` line.
fn words(key: &str) -> Vec<String> {
    settings()
        .into_iter()
        .filter(|(k, _)| k == key)
        .flat_map(|(_, v)| v.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
        .collect()
}

#[test]
fn exposure_is_at_most_4() {
    let out = match Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--no-pager"])
        .arg(unit_path())
        .output()
    {
        Ok(out) => out,
        Err(e) => {
            eprintln!("SKIP: systemd-analyze not runnable ({e}); install Debian's systemd package");
            return;
        }
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("Overall exposure level for vrrpd.service:"))
        .unwrap_or_else(|| {
            panic!(
                "no overall exposure in:\n{text}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let score: f64 = line
        .split_once("vrrpd.service:")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unparsable: {line}"));
    assert!(score <= 4.0, "exposure {score} > 4.0:\n{text}");
}

#[test]
fn the_sandbox_still_grants_what_vrrpd_needs() {
    assert_eq!(last("Type").as_deref(), Some("notify"));
    assert_eq!(
        last("ExecStart").as_deref(),
        Some("/usr/sbin/vrrpd run -c /etc/vrrpd/vrrpd.toml")
    );
    // Raw sockets, netlink changes.
    for cap in ["CAP_NET_ADMIN", "CAP_NET_RAW"] {
        assert!(
            words("AmbientCapabilities").iter().any(|c| c == cap),
            "{cap}"
        );
        assert!(
            words("CapabilityBoundingSet").iter().any(|c| c == cap),
            "{cap}"
        );
    }
    // Hooks and exec checks that run as another user.
    for cap in ["CAP_SETUID", "CAP_SETGID", "CAP_KILL"] {
        assert!(
            words("CapabilityBoundingSet").iter().any(|c| c == cap),
            "{cap}"
        );
    }
    for family in ["AF_UNIX", "AF_NETLINK", "AF_PACKET", "AF_INET", "AF_INET6"] {
        assert!(
            words("RestrictAddressFamilies").iter().any(|f| f == family),
            "{family}"
        );
    }
    // The control socket's directory is writable.
    assert_eq!(last("RuntimeDirectory").as_deref(), Some("vrrpd"));
    // use_vmac writes /proc/sys; VRRP needs the host's network.
    assert_ne!(last("ProtectKernelTunables").as_deref(), Some("yes"));
    assert_ne!(last("PrivateNetwork").as_deref(), Some("yes"));
    assert_ne!(last("PrivateUsers").as_deref(), Some("yes"));
    // Documentation= names what the package installs.
    let docs = words("Documentation");
    assert!(docs.iter().any(|d| d == "man:vrrpd(8)"), "{docs:?}");
    assert!(
        docs.iter()
            .any(|d| d == "file:///usr/share/doc/vrrpd/operations.md"),
        "{docs:?}"
    );
}
