//! `/proc/sys` files netif changes and gives back. [`Sysctls`] holds a
//! file at a value for as many holders as ask and writes the old value
//! back after the last one (or at drop): the executor's
//! `promote_secondaries`, and the parent settings of virtual MAC
//! interfaces (`vmac.rs`).
//!
//! `promote_secondaries` matters because Linux removes every secondary
//! address of a subnet with its primary one unless the interface promotes
//! secondaries. A virtual address added to an interface that has no other
//! address in its subnet becomes that subnet's primary; an address added
//! later (by hand, or by another router) is then removed with it when the
//! router leaves Master.

use crate::error::{Error, Result};

/// Held sysctl files: (path, old value, holders).
#[derive(Debug, Default)]
pub(crate) struct Sysctls {
    held: Vec<(String, String, usize)>,
}

impl Sysctls {
    /// Sets `path` to `value` for one more holder; the first remembers the
    /// old value.
    pub(crate) fn hold(&mut self, path: &str, value: &str) -> Result<()> {
        if let Some(h) = self.held.iter_mut().find(|h| h.0 == path) {
            h.2 += 1;
            return Ok(());
        }
        let old = std::fs::read_to_string(path).map_err(|source| sysctl_err(path, source))?;
        write(path, value)?;
        self.held.push((path.to_owned(), old.trim().to_owned(), 1));
        Ok(())
    }

    /// One holder of `path` less; the last writes the old value back (an
    /// interface that is gone has nothing to write back to).
    pub(crate) fn release(&mut self, path: &str) -> Result<()> {
        let Some(i) = self.held.iter().position(|h| h.0 == path) else {
            return Ok(());
        };
        let Some(h) = self.held.get_mut(i) else {
            return Ok(());
        };
        h.2 = h.2.saturating_sub(1);
        if h.2 > 0 {
            return Ok(());
        }
        let (path, old, _) = self.held.swap_remove(i);
        write_back(&path, &old)
    }

    /// Writes every held file back; the errors of those that failed.
    pub(crate) fn restore(&mut self) -> Vec<Error> {
        std::mem::take(&mut self.held)
            .into_iter()
            .filter_map(|(path, old, _)| write_back(&path, &old).err())
            .collect()
    }
}

impl Drop for Sysctls {
    fn drop(&mut self) {
        let _ = self.restore();
    }
}

/// Writes `value` to the sysctl file `path`.
pub(crate) fn write(path: &str, value: &str) -> Result<()> {
    std::fs::write(path, value).map_err(|source| sysctl_err(path, source))
}

fn write_back(path: &str, old: &str) -> Result<()> {
    match std::fs::write(path, old) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        r => r.map_err(|source| sysctl_err(path, source)),
    }
}

fn sysctl_err(path: &str, source: std::io::Error) -> Error {
    Error::Sysctl {
        path: path.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_holder_writes_the_old_value_back() {
        let dir = std::env::temp_dir().join(format!("netif-sysctl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("promote_secondaries");
        let p = path.to_str().expect("utf-8");
        std::fs::write(&path, "0\n").expect("write");
        let read = || std::fs::read_to_string(&path).expect("read");
        let mut s = Sysctls::default();
        s.hold(p, "1").expect("hold");
        s.hold(p, "1").expect("hold again");
        assert_eq!(read(), "1");
        s.release(p).expect("release");
        assert_eq!(read(), "1", "one holder left");
        s.release(p).expect("release");
        assert_eq!(read(), "0", "the old value, without its newline");
        // Dropping writes back what is still held.
        s.hold(p, "1").expect("hold");
        drop(s);
        assert_eq!(read(), "0");
        // A file that is not there is an error to hold, not to give back.
        let mut s = Sysctls::default();
        let gone = dir.join("gone");
        assert!(s.hold(gone.to_str().expect("utf-8"), "1").is_err());
        s.hold(p, "1").expect("hold");
        std::fs::remove_file(&path).expect("remove");
        assert!(s.release(p).is_ok());
        assert!(s.restore().is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
