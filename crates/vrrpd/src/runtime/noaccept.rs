//! RFC 9568 Accept_Mode False: a master that is not the address owner must
//! not accept packets addressed to the virtual addresses (§6.4.3, "MUST NOT
//! accept packets addressed to the IPvX address(es) associated with the
//! virtual router if it is not the IPvX address owner, unless Accept_Mode is
//! True").
//!
//! The kernel accepts traffic to every address on an interface, so this
//! needs a filter: an nftables table `inet vrrpd` whose input chain drops
//! packets to the addresses in two sets (`vips4`, `vips6`). The sets hold
//! every VIP of every instance with Accept_Mode False, in every state, from
//! before the first instance starts: the input hook only sees packets to
//! addresses the host holds, so an entry for a VIP the host does not hold
//! has no effect, and one that is always there needs no `nft` run when the
//! VIP moves. A takeover therefore costs no more with `accept = false` than
//! without (an `nft` run takes about 2 ms; one per VIP at takeover held up
//! every other instance's adverts at scale). The sets change only at a
//! reload, in one `nft -f` transaction each time. Packets that only pass
//! through (the VIP used as a gateway) are not in the input hook and are
//! forwarded as usual; ARP and ND are not IP and are answered.
//!
//! The `nft` program does the work (as keepalived uses libnftnl for the same
//! rules under `vrrp_strict`); the table exists only while an instance with
//! `accept = false` is configured, and is deleted when vrrpd stops.

use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

/// The nftables table vrrpd owns.
pub(super) const TABLE: &str = "vrrpd";

/// The drop filter for VIPs of instances with Accept_Mode False.
#[derive(Debug)]
pub(super) struct NoAccept {
    nft: PathBuf,
}

impl NoAccept {
    /// Creates the table afresh (a table left by a crashed run is replaced).
    pub(super) fn install() -> anyhow::Result<Self> {
        let nft = crate::config::nft_program()
            .context("accept = false needs nftables: no `nft` program found")?;
        let script = format!(
            "add table inet {TABLE}\n\
             delete table inet {TABLE}\n\
             table inet {TABLE} {{\n\
             \tset vips4 {{ type ipv4_addr; }}\n\
             \tset vips6 {{ type ipv6_addr; }}\n\
             \tchain input {{\n\
             \t\ttype filter hook input priority filter; policy accept;\n\
             \t\tip daddr @vips4 drop\n\
             \t\tip6 daddr @vips6 drop\n\
             \t}}\n\
             }}\n"
        );
        run_script(&nft, &script)
            .context("cannot install the nftables table for accept = false")?;
        Ok(NoAccept { nft })
    }

    /// Makes the sets hold exactly `addrs` (one atomic transaction):
    /// traffic to them is dropped from now on, to any other address
    /// accepted.
    pub(super) fn set(&self, addrs: &[IpAddr]) -> anyhow::Result<()> {
        run_script(&self.nft, &set_script(addrs))
            .context("cannot update the nftables sets for accept = false")
    }
}

/// The `nft -f` script that replaces both sets' elements with `addrs`.
fn set_script(addrs: &[IpAddr]) -> String {
    let mut script = format!("flush set inet {TABLE} vips4\nflush set inet {TABLE} vips6\n");
    for v4 in [true, false] {
        let list: Vec<String> = addrs
            .iter()
            .filter(|a| a.is_ipv4() == v4)
            .map(IpAddr::to_string)
            .collect();
        // nft rejects an empty element list.
        if !list.is_empty() {
            let set = if v4 { "vips4" } else { "vips6" };
            script.push_str(&format!(
                "add element inet {TABLE} {set} {{ {} }}\n",
                list.join(", ")
            ));
        }
    }
    script
}

impl Drop for NoAccept {
    fn drop(&mut self) {
        if let Err(e) = run(&self.nft, &["delete", "table", "inet", TABLE]) {
            tracing::warn!("cannot delete the nftables table {TABLE}: {e:#}");
        }
    }
}

fn run(nft: &Path, args: &[&str]) -> anyhow::Result<()> {
    output(nft, args).map(drop)
}

fn output(nft: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new(nft)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {}", nft.display()))?;
    if !out.status.success() {
        bail!(
            "nft {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn run_script(nft: &Path, script: &str) -> anyhow::Result<()> {
    let mut child = Command::new(nft)
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {}", nft.display()))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(script.as_bytes()).context("nft -f -")?;
    }
    let out = child.wait_with_output().context("nft -f -")?;
    if !out.status.success() {
        bail!("nft -f -: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_set_script_replaces_both_sets_and_skips_empty_lists() {
        let addrs: Vec<IpAddr> = ["192.0.2.1", "2001:db8::1", "192.0.2.2"]
            .iter()
            .map(|a| a.parse().expect("address"))
            .collect();
        assert_eq!(
            set_script(&addrs),
            "flush set inet vrrpd vips4\n\
             flush set inet vrrpd vips6\n\
             add element inet vrrpd vips4 { 192.0.2.1, 192.0.2.2 }\n\
             add element inet vrrpd vips6 { 2001:db8::1 }\n"
        );
        assert_eq!(
            set_script(&[]),
            "flush set inet vrrpd vips4\nflush set inet vrrpd vips6\n"
        );
    }
}
