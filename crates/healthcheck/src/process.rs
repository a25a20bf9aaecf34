//! Supervised child processes: a child in its own process group, watched
//! through a pidfd registered with the caller's mio loop, killed as a group,
//! and reaped without blocking.
//!
//! Exec checks use this, and so can a daemon running notify hooks: spawn
//! with [`Supervised::spawn`], wait for readiness of the token given, call
//! [`Supervised::try_exit`]; on a timeout call [`Supervised::kill_group`]
//! and keep calling [`Supervised::try_reap`] (e.g. from a timer) until it
//! returns true.
//!
//! The child leads a new process group (`setpgid(0, 0)`, pgid = pid). Its
//! exit is observed through a pidfd (`pidfd_open(2)`, Linux 5.3+), so no
//! SIGCHLD handler is needed and nothing blocks. The group is sent SIGKILL
//! when the leader has exited (so that nothing it left behind keeps
//! running) and on request. Killing before reaping matters: while the
//! leader is an unreaped zombie its pid, and so the group id, cannot be
//! reused by an unrelated process.
//!
//! A program that leaves its process group (`setsid`, `setpgid`) escapes
//! the group kill.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus};

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    let pid =
        libc::pid_t::try_from(pid).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: pidfd_open takes two integers and returns a new descriptor or -1.
    let rc = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = RawFd::try_from(rc).map_err(|_| io::Error::from(io::ErrorKind::InvalidData))?;
    // SAFETY: `fd` was just returned by the kernel and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// True if the child `pid` has exited (it stays a zombie: WNOWAIT).
fn has_exited(pid: libc::pid_t) -> bool {
    // SAFETY: all-zero is a valid `siginfo_t`.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: `info` is a live local; WNOWAIT leaves the child waitable.
    let rc = unsafe {
        libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    // SAFETY: waitid filled `info` (or left it zeroed); si_pid reads a plain integer.
    rc == 0 && unsafe { info.si_pid() } != 0
}

/// Sends SIGKILL to the process group led by `pid`.
fn kill_group(pid: libc::pid_t) {
    if pid <= 0 {
        return;
    }
    // SAFETY: kill has no memory-safety preconditions. The group id equals
    // the child's pid (setpgid in the child) and the child is not reaped yet,
    // so the id cannot have been reused. ESRCH (group already gone) is fine.
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
}

/// A child process leading its own process group, watched through a pidfd.
///
/// Dropping a `Supervised` whose child is not reaped leaves the child as a
/// zombie until the process exits: kill it with [`Supervised::kill_group`]
/// and call [`Supervised::try_reap`] until it returns true (or
/// [`Supervised::kill_and_reap`], which blocks briefly) before dropping.
#[derive(Debug)]
pub struct Supervised {
    child: Child,
    pid: libc::pid_t,
    pidfd: OwnedFd,
    reaped: bool,
}

impl Supervised {
    /// Spawns `cmd` as the leader of a new process group and registers its
    /// pidfd with `registry` under `token` (readable once the child exits).
    ///
    /// The caller sets up everything else on `cmd` (arguments, stdio,
    /// environment, a `pre_exec` hook). Without a `pre_exec` hook std uses a
    /// vfork-style spawn, which keeps spawning cheap for an event loop.
    pub fn spawn(mut cmd: Command, registry: &Registry, token: Token) -> io::Result<Self> {
        cmd.process_group(0);
        let child = cmd.spawn()?;
        let pid = libc::pid_t::try_from(child.id()).unwrap_or(0);
        let mut proc = match pidfd_open(child.id()) {
            Ok(pidfd) => Self {
                child,
                pid,
                pidfd,
                reaped: false,
            },
            Err(e) => {
                let mut child = child;
                kill_group(pid);
                let _ = child.wait();
                return Err(e);
            }
        };
        let raw = proc.pidfd.as_raw_fd();
        if let Err(e) = registry.register(&mut SourceFd(&raw), token, Interest::READABLE) {
            proc.kill_and_reap();
            return Err(e);
        }
        Ok(proc)
    }

    /// The child's pid (also its process group id).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Non-blocking: if the child has exited, kills what is left of its
    /// group, reaps it and returns its status; `Ok(None)` while it runs.
    /// An error means the status is lost (e.g. someone else reaped it); the
    /// child counts as reaped then.
    pub fn try_exit(&mut self) -> io::Result<Option<ExitStatus>> {
        if self.reaped || !has_exited(self.pid) {
            return Ok(None);
        }
        kill_group(self.pid);
        match self.child.try_wait() {
            Ok(Some(status)) => {
                self.reaped = true;
                Ok(Some(status))
            }
            Ok(None) => Ok(None),
            Err(e) => {
                self.reaped = true;
                Err(e)
            }
        }
    }

    /// Sends SIGKILL to the child's process group (unless already reaped).
    pub fn kill_group(&self) {
        if !self.reaped {
            kill_group(self.pid);
        }
    }

    /// Whether the child has been reaped.
    pub fn is_reaped(&self) -> bool {
        self.reaped
    }

    /// Kills the group (again) and reaps the child if it is dead, without
    /// blocking. Returns whether it is reaped.
    pub fn try_reap(&mut self) -> bool {
        if self.reaped {
            return true;
        }
        if has_exited(self.pid) {
            kill_group(self.pid);
            self.reaped = !matches!(self.child.try_wait(), Ok(None));
        }
        self.reaped
    }

    /// Kills the group and waits for the child (SIGKILL makes this short).
    pub fn kill_and_reap(&mut self) {
        if !self.reaped {
            kill_group(self.pid);
            let _ = self.child.wait();
            self.reaped = true;
        }
    }

    /// Removes the pidfd from `registry`.
    pub fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        let raw = self.pidfd.as_raw_fd();
        registry.deregister(&mut SourceFd(&raw))
    }
}
