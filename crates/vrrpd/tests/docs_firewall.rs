//! The nftables rule set in docs/operations.md ("Firewalls") is valid:
//! `nft -c` (check only, nothing is loaded) accepts it. Needs root and the
//! `nft` program (scripts/setup.sh); prints SKIP otherwise.

use std::io::Write;
use std::process::{Command, Stdio};

/// The fenced block of the "Firewalls" section that holds the rule set.
fn ruleset() -> String {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/operations.md"
    ))
    .expect("docs/operations.md");
    let section = text
        .split("\n## Firewalls\n")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("a Firewalls section");
    let block = section
        .split("```")
        .nth(1)
        .expect("a fenced block in the Firewalls section");
    assert!(block.contains("table inet filter"), "{block}");
    assert!(block.contains("meta l4proto 112"), "{block}");
    block.trim_start_matches(|c| c != '\n').to_owned()
}

#[test]
fn the_documented_nftables_rules_pass_nft_check() {
    let rules = ruleset();
    if !nix::unistd::Uid::effective().is_root() {
        eprintln!("SKIP: nft -c needs root");
        return;
    }
    let mut child = match Command::new("nft")
        .args(["-c", "-f", "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("SKIP: nft not runnable ({e}); scripts/setup.sh installs nftables");
            return;
        }
    };
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(rules.as_bytes())
        .expect("write rules");
    let out = child.wait_with_output().expect("nft");
    assert!(
        out.status.success(),
        "nft -c rejected the documented rules:\n{rules}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
