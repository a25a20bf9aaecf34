//! keepalived's notify FIFO (`notify_fifo`): one line per state change,
//! `INSTANCE "VI_1" MASTER 100` or `GROUP "G1" BACKUP 0`, for a reader
//! that follows every change without a process per change.
//!
//! As keepalived does: the FIFO is made (mode 0644) if the path does not
//! exist, and removed at exit if vrrpd made it; it is opened read-write
//! and non-blocking, so that a missing reader neither blocks the daemon
//! nor makes writes fail, and a full FIFO drops the line (keepalived
//! ignores `EAGAIN` too). A path that exists and is not a FIFO is refused,
//! and a symbolic link is not followed.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use tracing::debug;
use vrrp_fsm::State;

use super::status::keepalived_word;

/// An open notify FIFO.
#[derive(Debug)]
pub struct NotifyFifo {
    file: File,
    path: PathBuf,
    made: bool,
}

impl NotifyFifo {
    /// Opens the FIFO at `path`, making it first if it does not exist.
    pub fn open(path: &Path) -> io::Result<NotifyFifo> {
        let made = match std::fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_fifo() => false,
            Ok(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{} exists and is not a FIFO", path.display()),
                ));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o644))
                    .map_err(io::Error::from)?;
                true
            }
            Err(e) => return Err(e),
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(path)?;
        Ok(NotifyFifo {
            file,
            path: path.to_owned(),
            made,
        })
    }

    /// Writes the line of a state change of `name` (`kind` `"INSTANCE"` or
    /// `"GROUP"`; a group's priority is 0, as keepalived writes it).
    pub fn state_changed(&mut self, kind: &str, name: &str, to: State, priority: u8) {
        let line = fifo_line(kind, name, to, priority);
        // One write(2) of less than PIPE_BUF bytes is atomic: a reader
        // never sees half a line.
        if let Err(e) = self.file.write_all(line.as_bytes()) {
            debug!("notify FIFO {}: {e}", self.path.display());
        }
    }
}

impl Drop for NotifyFifo {
    fn drop(&mut self) {
        if self.made {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// keepalived's line: `TYPE "NAME" STATE PRIORITY` and a newline.
pub fn fifo_line(kind: &str, name: &str, to: State, priority: u8) -> String {
    format!("{kind} \"{name}\" {} {priority}\n", keepalived_word(to))
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn lines_are_keepalived_lines() {
        assert_eq!(
            fifo_line("INSTANCE", "VI_1", State::Master, 100),
            "INSTANCE \"VI_1\" MASTER 100\n"
        );
        assert_eq!(
            fifo_line("GROUP", "G", State::Initialize, 0),
            "GROUP \"G\" STOP 0\n"
        );
    }

    #[test]
    fn the_fifo_is_made_written_without_a_reader_and_removed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("notify");
        let mut f = NotifyFifo::open(&path).expect("open");
        // No reader yet: the write neither blocks nor fails.
        f.state_changed("INSTANCE", "VI_1", State::Backup, 90);
        let mut r = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&path)
            .expect("reader");
        f.state_changed("INSTANCE", "VI_1", State::Master, 90);
        let mut got = String::new();
        let _ = r.read_to_string(&mut got);
        assert_eq!(
            got,
            "INSTANCE \"VI_1\" BACKUP 90\nINSTANCE \"VI_1\" MASTER 90\n"
        );
        drop(f);
        assert!(!path.exists());
        // A regular file is refused and left alone.
        std::fs::write(&path, "x").expect("write");
        assert!(NotifyFifo::open(&path).is_err());
        assert!(path.exists());
    }
}
