//! What this host must have for the file to run: interfaces, programs,
//! `nft`. Reported as their own group ([`super::Group::Host`]); each check
//! is switched by [`super::Options`].

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use toml::Spanned;

use super::validate::Cx;

/// Where `nft` is looked for (no PATH lookup: the daemon runs it by path).
const NFT_PATHS: [&str; 3] = ["/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft"];

/// The `nft` program `accept = false` needs, if installed: what `check`
/// looks for and what the runtime's filter runs.
pub fn nft_program() -> Option<PathBuf> {
    NFT_PATHS.iter().map(PathBuf::from).find(|p| p.is_file())
}

impl Cx {
    /// The interface `name` exists on this host (when asked to check).
    pub(crate) fn interface_exists(&mut self, name: &Spanned<String>) {
        if !self.opts.interfaces {
            return;
        }
        let n = name.get_ref();
        // An invalid name is the file's problem, reported elsewhere.
        if n.is_empty() || n.contains(['/', '\0']) || n == "." || n == ".." {
            return;
        }
        if !Path::new("/sys/class/net").join(n).exists() {
            self.host(name, format!("there is no interface {n} on this host"));
        }
    }

    /// The program `prog` (an absolute path) exists and is executable.
    pub(crate) fn program_exists<T>(&mut self, at: &Spanned<T>, what: &str, prog: &str) {
        if !self.opts.programs {
            return;
        }
        if let Err(why) = executable(Path::new(prog)) {
            self.host(at, format!("{what}: {why}"));
        }
    }

    /// `nft` is installed, for `accept = false`.
    pub(crate) fn nft_needed<T>(&mut self, at: &Spanned<T>) {
        if self.opts.nft && nft_program().is_none() {
            self.host(
                at,
                "accept = false needs nftables: install the `nftables` package (the `nft` program)",
            );
        }
    }
}

/// Checks that `path` is an executable regular file.
fn executable(path: &Path) -> Result<(), String> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("{shown}: {e}"))?;
    if !meta.is_file() {
        return Err(format!("{shown} is not a regular file"));
    }
    if meta.permissions().mode() & 0o111 == 0 {
        return Err(format!("{shown} is not executable"));
    }
    Ok(())
}
