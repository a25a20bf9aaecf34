//! keepalived's notify FIFO (`notify_fifo`): one line per state change,
//! `INSTANCE "VI_1" MASTER 100` or `GROUP "G1" BACKUP 0`, for a reader
//! that follows every change without a process per change. With
//! `notify_priority_changes`, an instance's effective-priority changes too
//! (`INSTANCE "VI_1" MASTER_PRIORITY 90`, `BACKUP_PRIORITY` in any other
//! state, as keepalived's `send_instance_priority_notifies`); with
//! `fifo_write_states_on_reload`, a reload writes the state of every
//! instance and group it did not change (keepalived's `vrrp_init_state`).
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
use vrrp_fsm::{RouterId, State};
use vrrp_proto::Priority;

use super::Daemon;
use super::reload::Plan;
use super::status::keepalived_word;
use crate::config::{Config, Instance};

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
        self.write_line(&fifo_line(kind, name, keepalived_word(to), priority));
    }

    /// Writes an instance's effective-priority change (`state` is the
    /// instance's state then).
    pub fn priority_changed(&mut self, name: &str, state: State, priority: u8) {
        let word = match state {
            State::Master => "MASTER_PRIORITY",
            _ => "BACKUP_PRIORITY",
        };
        self.write_line(&fifo_line("INSTANCE", name, word, priority));
    }

    /// As Master, instance `name` (at `priority`) heard an advert of a
    /// router it wins against: keepalived's `MASTER_RX_LOWER_PRI` line.
    pub fn lower_priority_heard(&mut self, name: &str, priority: u8) {
        self.write_line(&fifo_line(
            "INSTANCE",
            name,
            "MASTER_RX_LOWER_PRI",
            priority,
        ));
    }

    fn write_line(&mut self, line: &str) {
        // One write(2) of less than PIPE_BUF bytes is atomic: a reader
        // never sees half a line.
        if let Err(e) = self.file.write_all(line.as_bytes()) {
            debug!("notify FIFO {}: {e}", self.path.display());
        }
    }
}

/// Whether instance `inst` writes its priority changes: its own
/// `notify_priority_changes`, else its sync group's, else `[global]`'s
/// (keepalived's order, `vrrp.c`).
pub fn writes_priority_changes(cfg: &Config, inst: &Instance, group: Option<&str>) -> bool {
    let of_group = || {
        let g = cfg
            .sync_groups
            .iter()
            .find(|g| Some(g.name.as_str()) == group)?;
        g.hooks.priority_changes
    };
    inst.hooks
        .priority_changes
        .or_else(of_group)
        .unwrap_or(cfg.global.notify_priority_changes)
}

impl Daemon {
    /// After instance `id`'s tracked priority was given to its router:
    /// the priority line, if the effective priority moved from `before`
    /// and the instance writes them.
    pub(super) fn note_priority(&mut self, id: RouterId, before: Option<Priority>) {
        let (Some(fifo), Some(inst)) = (&mut self.fifo, self.insts.get(id)) else {
            return;
        };
        let Some(r) = self.exec.node().router(id) else {
            return;
        };
        if Some(r.priority()) == before
            || !writes_priority_changes(&self.cfg, &inst.cfg, inst.group.as_deref())
        {
            return;
        }
        fifo.priority_changed(&inst.cfg.name, r.state(), r.priority().get());
    }

    /// After a reload, with `fifo_write_states_on_reload`: the state of
    /// every instance the reload left running (kept, updated, retuned)
    /// and of every sync group whose members all were.
    pub(super) fn reload_state_lines(&mut self, plan: &Plan) {
        if !self.cfg.global.fifo_write_states_on_reload {
            return;
        }
        let Some(fifo) = &mut self.fifo else {
            return;
        };
        let kept = |n: &String| {
            plan.keep.contains(n) || plan.update.contains(n) || plan.retune.contains(n)
        };
        let node = self.exec.node();
        for (id, inst) in self.insts.iter() {
            if let (true, Some(r)) = (kept(&inst.cfg.name), node.router(id)) {
                fifo.state_changed("INSTANCE", &inst.cfg.name, r.state(), r.priority().get());
            }
        }
        for g in &self.cfg.sync_groups {
            let state = (g.instances.iter().all(kept))
                .then(|| self.insts.id(g.instances.first()?))
                .flatten()
                .and_then(|id| node.group_state(node.group_of(id)?));
            if let Some(s) = state {
                fifo.state_changed("GROUP", &g.name, s, 0);
            }
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

/// keepalived's line: `TYPE "NAME" WORD PRIORITY` and a newline (`WORD`
/// a state, or an event such as `MASTER_PRIORITY`).
pub fn fifo_line(kind: &str, name: &str, word: &str, priority: u8) -> String {
    format!("{kind} \"{name}\" {word} {priority}\n")
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn lines_are_keepalived_lines() {
        assert_eq!(
            fifo_line("INSTANCE", "VI_1", keepalived_word(State::Master), 100),
            "INSTANCE \"VI_1\" MASTER 100\n"
        );
        assert_eq!(
            fifo_line("GROUP", "G", keepalived_word(State::Initialize), 0),
            "GROUP \"G\" STOP 0\n"
        );
    }

    fn instance(name: &str, vrid: u8, extra: &str) -> String {
        format!(
            "[[instance]]\nname = \"{name}\"\ninterface = \"eth0\"\nvrid = {vrid}\npriority = 100\nvirtual_addresses = [\"192.0.2.{vrid}/24\"]\n{extra}\n"
        )
    }

    #[test]
    fn priority_lines_follow_the_instance_then_the_group_then_global() {
        let text = format!(
            "[global]\nnotify_fifo = \"/run/n.fifo\"\nnotify_priority_changes = true\n\n{}{}{}{}\
             [[sync_group]]\nname = \"G\"\ninstances = [\"grouped\", \"own\"]\nnotify_priority_changes = false\n",
            instance("plain", 1, ""),
            instance("off", 2, "notify_priority_changes = false"),
            instance("grouped", 3, ""),
            instance("own", 4, "notify_priority_changes = true"),
        );
        let cfg = crate::config::load_str(&text, "t.toml").expect("loads");
        let wants = |name: &str, group: Option<&str>| {
            let inst = cfg
                .instances
                .iter()
                .find(|i| i.name == name)
                .expect("instance");
            writes_priority_changes(&cfg, inst, group)
        };
        assert!(wants("plain", None), "the global default");
        assert!(!wants("off", None), "the instance's own");
        assert!(!wants("grouped", Some("G")), "the group's");
        assert!(
            wants("own", Some("G")),
            "the instance's own wins over its group's"
        );
    }

    #[test]
    fn fifo_options_without_a_fifo_are_errors() {
        for (global, extra) in [
            ("notify_priority_changes = true\n", ""),
            ("fifo_write_states_on_reload = true\n", ""),
            ("", "notify_priority_changes = true"),
        ] {
            let text = format!("[global]\n{global}\n{}", instance("a", 1, extra));
            let err = crate::config::load_str(&text, "t.toml").expect_err("needs the FIFO");
            assert!(err.to_string().contains("set `notify_fifo`"), "{err}");
        }
        // Off needs nothing.
        let text = format!(
            "[global]\nnotify_priority_changes = false\n\n{}",
            instance("a", 1, "")
        );
        assert!(crate::config::load_str(&text, "t.toml").is_ok());
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
        f.priority_changed("VI_1", State::Master, 80);
        f.priority_changed("VI_1", State::Fault, 70);
        let mut got = String::new();
        let _ = r.read_to_string(&mut got);
        assert_eq!(
            got,
            "INSTANCE \"VI_1\" BACKUP 90\nINSTANCE \"VI_1\" MASTER 90\n\
             INSTANCE \"VI_1\" MASTER_PRIORITY 80\nINSTANCE \"VI_1\" BACKUP_PRIORITY 70\n"
        );
        drop(f);
        assert!(!path.exists());
        // A regular file is refused and left alone.
        std::fs::write(&path, "x").expect("write");
        assert!(NotifyFifo::open(&path).is_err());
        assert!(path.exists());
    }
}
