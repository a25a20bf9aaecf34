//! Exec probes: a child in its own process group, reaped through a pidfd
//! ([`crate::process::Supervised`]).
//!
//! The child is spawned (posix_spawn, a vfork-style spawn, unless a user is
//! configured, which needs a fork to drop privileges) in a new process group
//! that it leads (`setpgid(0, 0)`, pgid = pid). Its exit is observed through
//! a pidfd (`pidfd_open(2)`, Linux 5.3+) registered with mio, so nothing
//! blocks and no SIGCHLD handler is needed.
//!
//! The whole group is sent SIGKILL on timeout (the probe ends at once as
//! timed out; the scheduler reaps the child later without blocking) and also
//! when the program exits (anything it left behind is killed). Killing
//! before reaping matters: while the leader is an unreaped zombie its pid,
//! and so the group id, cannot be reused by an unrelated process.

use std::ffi::CString;
use std::io;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};

use mio::{Registry, Token};

use super::{Detail, OsFailure, Step};
use crate::error::ConfigError;
use crate::process::Supervised;
use crate::spec::{ExecSpec, RunAs};
use crate::state::Outcome;

/// A resolved identity: uid, primary gid and supplementary groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ident {
    uid: libc::uid_t,
    gid: libc::gid_t,
    groups: Vec<libc::gid_t>,
}

/// Resolves a [`RunAs`] through the user and group databases.
pub(crate) fn resolve(run_as: &RunAs) -> Result<Ident, ConfigError> {
    match run_as {
        RunAs::Id { uid, gid } => Ok(Ident {
            uid: *uid,
            gid: *gid,
            groups: vec![*gid],
        }),
        RunAs::Name { user, group } => {
            let cuser =
                CString::new(user.as_str()).map_err(|_| ConfigError::Nul { what: "user" })?;
            let (uid, mut gid) =
                lookup_user(&cuser).ok_or_else(|| ConfigError::UnknownUser(user.clone()))?;
            if let Some(g) = group {
                let cg =
                    CString::new(g.as_str()).map_err(|_| ConfigError::Nul { what: "group" })?;
                gid = lookup_group(&cg).ok_or_else(|| ConfigError::UnknownGroup(g.clone()))?;
            }
            let groups = group_list(&cuser, gid);
            Ok(Ident { uid, gid, groups })
        }
    }
}

fn lookup_user(name: &CString) -> Option<(libc::uid_t, libc::gid_t)> {
    let mut buf = vec![0u8; 4096];
    loop {
        // SAFETY: `passwd` is a plain C struct of integers and pointers, for
        // which all-zero bytes are a valid value.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call: `name` is a
        // NUL-terminated string, `pwd` and `result` are live locals, and
        // `buf` is writable for `buf.len()` bytes.
        let rc = unsafe {
            libc::getpwnam_r(
                name.as_ptr(),
                &mut pwd,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut result,
            )
        };
        if rc == libc::ERANGE && buf.len() < (1 << 20) {
            buf.resize(buf.len() * 2, 0);
            continue;
        }
        if rc != 0 || result.is_null() {
            return None;
        }
        return Some((pwd.pw_uid, pwd.pw_gid));
    }
}

fn lookup_group(name: &CString) -> Option<libc::gid_t> {
    let mut buf = vec![0u8; 4096];
    loop {
        // SAFETY: `group` is a plain C struct of integers and pointers, for
        // which all-zero bytes are a valid value.
        let mut grp: libc::group = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::group = std::ptr::null_mut();
        // SAFETY: as in `lookup_user`: valid string, live locals, writable buffer.
        let rc = unsafe {
            libc::getgrnam_r(
                name.as_ptr(),
                &mut grp,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut result,
            )
        };
        if rc == libc::ERANGE && buf.len() < (1 << 20) {
            buf.resize(buf.len() * 2, 0);
            continue;
        }
        if rc != 0 || result.is_null() {
            return None;
        }
        return Some(grp.gr_gid);
    }
}

fn group_list(user: &CString, gid: libc::gid_t) -> Vec<libc::gid_t> {
    let mut n: libc::c_int = 32;
    loop {
        let len = usize::try_from(n).unwrap_or(32);
        let mut groups: Vec<libc::gid_t> = vec![0; len];
        let mut count = n;
        // SAFETY: `groups` has room for `count` entries; `user` is NUL-terminated.
        let rc = unsafe { libc::getgrouplist(user.as_ptr(), gid, groups.as_mut_ptr(), &mut count) };
        if rc >= 0 {
            groups.truncate(usize::try_from(count).unwrap_or(0));
            return groups;
        }
        if count <= n || count > 65536 {
            return vec![gid];
        }
        n = count;
    }
}

/// Runs in the forked child before exec (only when a user is configured):
/// drop privileges. Only async-signal-safe calls; no allocation.
fn drop_privileges(id: &Ident) -> io::Result<()> {
    // SAFETY: setgroups, setgid and setuid are async-signal-safe system
    // calls; `groups` outlives the call and its length is passed alongside.
    let failed = unsafe {
        libc::setgroups(id.groups.len(), id.groups.as_ptr()) < 0
            || libc::setgid(id.gid) < 0
            || libc::setuid(id.uid) < 0
    };
    if failed {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A running exec check: a [`Supervised`] child.
pub(crate) struct ExecProbe {
    proc: Supervised,
    /// [`ExecSpec::dynamic_exit`].
    dynamic: bool,
}

impl ExecProbe {
    /// Spawns the program and registers its pidfd.
    pub(crate) fn start(
        spec: &ExecSpec,
        ident: Option<&Ident>,
        registry: &Registry,
        token: Token,
    ) -> Result<Self, (Outcome, Detail)> {
        let fail = |op, e: &io::Error| (Outcome::Failure, Detail::Os(OsFailure::new(op, e)));
        let mut argv = spec.argv.iter();
        let Some(program) = argv.next() else {
            let e = io::Error::from(io::ErrorKind::InvalidInput);
            return Err(fail("spawn", &e));
        };
        let mut cmd = Command::new(program);
        cmd.args(argv)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if spec.clear_env {
            cmd.env_clear();
        }
        cmd.envs(spec.env.iter().map(|(k, v)| (k, v)));
        if let Some(d) = &spec.cwd {
            cmd.current_dir(d);
        }
        if let Some(id) = ident.cloned() {
            // SAFETY: the hook only makes async-signal-safe system calls and
            // does not allocate (it reads the already-built `id`).
            unsafe {
                cmd.pre_exec(move || drop_privileges(&id));
            }
        }
        // A new process group led by the child (pgid = pid), watched
        // through a pidfd; see `crate::process`.
        let proc = Supervised::spawn(cmd, registry, token).map_err(|e| fail("spawn", &e))?;
        Ok(Self {
            proc,
            dynamic: spec.dynamic_exit,
        })
    }

    pub(crate) fn on_ready(&mut self) -> Step {
        match self.proc.try_exit() {
            Ok(Some(status)) => {
                if let Some(code) = status.code() {
                    let o = if code == 0 || (self.dynamic && code >= 2) {
                        Outcome::Success
                    } else {
                        Outcome::Failure
                    };
                    Step::Done(o, Detail::Exited(code))
                } else {
                    Step::Done(
                        Outcome::Failure,
                        Detail::Signaled(status.signal().unwrap_or(0)),
                    )
                }
            }
            Ok(None) => Step::Pending,
            // ECHILD: someone else reaped it; nothing left to wait for.
            Err(e) => Step::Done(Outcome::Failure, Detail::Os(OsFailure::new("wait", &e))),
        }
    }

    /// Timeout: the whole group gets SIGKILL and the probe ends now. The
    /// scheduler keeps the child and reaps it without blocking once it is
    /// dead (a process stuck in the kernel may take a while).
    pub(crate) fn on_timeout(&mut self) -> Step {
        self.proc.kill_group();
        Step::Done(Outcome::Failure, Detail::TimedOut)
    }

    pub(crate) fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        self.proc.deregister(registry)
    }

    /// Sends SIGKILL to the child's process group (unless already reaped).
    pub(crate) fn kill(&self) {
        self.proc.kill_group();
    }

    /// Whether the child has been reaped.
    pub(crate) fn is_reaped(&self) -> bool {
        self.proc.is_reaped()
    }

    /// Kills the group (again) and reaps the child if it is dead, without
    /// blocking. Returns whether it is reaped.
    pub(crate) fn try_reap(&mut self) -> bool {
        self.proc.try_reap()
    }
}
