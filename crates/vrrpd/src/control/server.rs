//! The control socket's server side: a mio source set that never blocks
//! and never keeps the daemon's loop busy for long.
//!
//! Its defences, each a constant below:
//! * a request line is at most [`MAX_REQUEST`] bytes; a longer one gets an
//!   error answer and the connection is closed;
//! * at most [`MAX_CONNECTIONS`] connections, [`MAX_CONNECTIONS_PER_PEER`]
//!   of one user; when full, the connection idle the longest (no request
//!   being read, no answer being written) is closed to make room, and
//!   only when none is idle is the new one refused. Root may also close a
//!   busy connection of another user, so root always gets in;
//! * a connection silent for [`IDLE_TIMEOUT`] is closed;
//! * readiness only marks a connection; the loop pulls requests one at a
//!   time ([`ControlServer::next_request`]), round-robin over connections,
//!   as many as its budget allows, and reads from a connection only what
//!   it needs for its next request. A connection whose answers are not
//!   read ([`MAX_OUTPUT_BACKLOG`]) is not read from either: the kernel's
//!   socket buffer fills and the client's writes block (backpressure).

use std::collections::{HashMap, VecDeque};
use std::io::{self, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mio::net::{UnixListener, UnixStream};
use mio::{Interest, Registry, Token};
use serde::Serialize;

use super::{Request, Response, Written, idle, write_pending};

/// The longest request line accepted.
pub const MAX_REQUEST: usize = 64 * 1024;
/// Connections open at once.
pub const MAX_CONNECTIONS: usize = 64;
/// Connections of one user (peer uid) open at once.
pub const MAX_CONNECTIONS_PER_PEER: usize = 32;
/// A connection with no traffic for this long is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// Unsent answers above which a connection's further requests wait.
pub const MAX_OUTPUT_BACKLOG: usize = 1024 * 1024;
/// Connections accepted per readiness event; the rest wait a round.
const ACCEPT_SLICE: usize = 16;
/// Bytes read per `read` call.
const READ_CHUNK: usize = 4096;

/// What a peer may ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Root: everything.
    Full,
    /// A member of `control_group`: `status` only.
    ReadOnly,
}

/// Identifies one client connection of a [`ControlServer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConnId(Token);

struct Conn {
    stream: UnixStream,
    uid: u32,
    access: Access,
    inbuf: Vec<u8>,
    outbuf: Vec<u8>,
    /// The socket may have unread bytes (edge seen, not read to the end).
    readable: bool,
    /// The peer closed its side.
    eof: bool,
    /// Close once `outbuf` is flushed.
    closing: bool,
    /// A request was taken and its answer is not queued yet: the next
    /// waits, so answers keep the order of the requests.
    awaiting: bool,
    last_active: Instant,
    /// When it was accepted.
    accepted: Instant,
    /// It has sent a request.
    asked: bool,
}

/// How long a new connection that has not asked anything yet is safe from
/// eviction: a client connects, then writes; a busy machine may schedule
/// the write a little later.
const NEW_CONNECTION_GRACE: Duration = Duration::from_millis(100);

impl Conn {
    /// Nothing to read (as far as the server knows), nothing being
    /// answered or written: may be closed to make room. A new connection
    /// is not idle until its first read found nothing, and not before it
    /// asked something or [`NEW_CONNECTION_GRACE`] passed.
    fn idle(&self, now: Instant) -> bool {
        !self.readable
            && self.inbuf.is_empty()
            && self.outbuf.is_empty()
            && !self.closing
            && !self.awaiting
            && (self.asked || now.saturating_duration_since(self.accepted) >= NEW_CONNECTION_GRACE)
    }

    /// Has a request to parse, or bytes to read, and room for the answer.
    fn has_work(&self) -> bool {
        !self.closing
            && !self.awaiting
            && self.outbuf.len() < MAX_OUTPUT_BACKLOG
            && (self.readable || self.inbuf.contains(&b'\n'))
    }
}

/// Counters of the control socket, for `status` and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ControlStats {
    /// Requests answered.
    pub requests: u64,
    /// Requests rejected as malformed, too long or not allowed.
    pub bad_requests: u64,
    /// Connections refused (not allowed, or too many busy ones).
    pub refused: u64,
    /// Connections closed to make room for a new one.
    pub evicted: u64,
    /// Connections closed after [`IDLE_TIMEOUT`] of silence.
    pub timed_out: u64,
}

/// The listening control socket and its connections.
pub struct ControlServer {
    path: PathBuf,
    listener: UnixListener,
    listener_token: Token,
    accept_pending: bool,
    next_token: usize,
    token_base: usize,
    conns: HashMap<Token, Conn>,
    /// Connections with work, served in this order.
    ready: VecDeque<Token>,
    allowed_uid: u32,
    /// `control_group`: its id and member names.
    group: Option<(u32, Vec<String>)>,
    /// Counters.
    pub stats: ControlStats,
}

impl ControlServer {
    /// Binds `path` (replacing a stale socket file, never another kind of
    /// file), sets it to mode 0600 (0660 and `group` if given: its members
    /// get `status`) and registers it. Tokens from `token_base` to
    /// `token_base + 1 + MAX_CONNECTIONS * 4` are used.
    pub fn bind(
        path: &Path,
        registry: &Registry,
        token_base: usize,
        group: Option<&str>,
    ) -> io::Result<Self> {
        let mut s = Self::bind_for_uid(path, registry, token_base, 0)?;
        if let Some(name) = group {
            s.set_group(name)?;
        }
        Ok(s)
    }

    /// As [`ControlServer::bind`] without a group, serving peers with
    /// `uid` fully (tests use their own uid; the daemon uses 0).
    pub fn bind_for_uid(
        path: &Path,
        registry: &Registry,
        token_base: usize,
        uid: u32,
    ) -> io::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        remove_stale(path)?;
        let mut listener = UnixListener::bind(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        let listener_token = Token(token_base);
        registry.register(&mut listener, listener_token, Interest::READABLE)?;
        Ok(ControlServer {
            path: path.to_owned(),
            listener,
            listener_token,
            accept_pending: false,
            next_token: token_base + 1,
            token_base,
            conns: HashMap::new(),
            ready: VecDeque::new(),
            allowed_uid: uid,
            group: None,
            stats: ControlStats::default(),
        })
    }

    /// Gives group `name` read-only access: the socket file becomes
    /// `root:name` mode 0660.
    fn set_group(&mut self, name: &str) -> io::Result<()> {
        let g = nix::unistd::Group::from_name(name)
            .map_err(io::Error::from)?
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("control_group {name:?}: no such group"),
                )
            })?;
        std::os::unix::fs::chown(&self.path, None, Some(g.gid.as_raw()))?;
        std::fs::set_permissions(&self.path, std::fs::Permissions::from_mode(0o660))?;
        self.group = Some((g.gid.as_raw(), g.mem));
        Ok(())
    }

    /// True if `token` belongs to this server.
    pub fn owns(&self, token: Token) -> bool {
        token == self.listener_token || self.conns.contains_key(&token)
    }

    /// Handles readiness of `token`: accepts (a slice of) new connections,
    /// or marks a connection readable and writes what it has pending.
    /// Requests are taken with [`ControlServer::next_request`].
    pub fn handle_event(&mut self, registry: &Registry, token: Token, now: Instant) {
        if token == self.listener_token {
            self.accept_pending = true;
            self.accept(registry, now);
            return;
        }
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        conn.readable = true;
        if conn.has_work() && !self.ready.contains(&token) {
            self.ready.push_back(token);
        }
        self.flush(registry, token, now);
    }

    /// True if requests or connections are waiting: the loop comes back
    /// without sleeping.
    pub fn has_backlog(&self) -> bool {
        self.accept_pending || !self.ready.is_empty()
    }

    /// Accepts another slice of pending connections, if any wait.
    pub fn accept_more(&mut self, registry: &Registry, now: Instant) {
        if self.accept_pending {
            self.accept(registry, now);
        }
    }

    /// The next request of the connection whose turn it is, reading only
    /// what that request needs; `None` when no connection has one ready.
    /// A malformed, overlong or not-allowed request is answered here.
    pub fn next_request(&mut self, registry: &Registry, now: Instant) -> Option<(ConnId, Request)> {
        while let Some(token) = self.ready.pop_front() {
            let got = self.read_request(token, now);
            let again = self.conns.get(&token).is_some_and(Conn::has_work);
            if again {
                self.ready.push_back(token);
            }
            self.flush(registry, token, now);
            if let Some(req) = got {
                return Some((ConnId(token), req));
            }
        }
        None
    }

    /// Reads connection `token` up to its next complete line and parses
    /// it.
    fn read_request(&mut self, token: Token, now: Instant) -> Option<Request> {
        let conn = self.conns.get_mut(&token)?;
        loop {
            let line = take_line(conn)?;
            conn.last_active = now;
            let Some(line) = line else {
                self.stats.bad_requests += 1;
                let why = format!("request longer than {MAX_REQUEST} bytes");
                return refuse(conn, &why);
            };
            let text = String::from_utf8_lossy(&line);
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            return match serde_json::from_str::<Request>(text) {
                Ok(req) if conn.access == Access::ReadOnly && req != Request::Status => {
                    self.stats.bad_requests += 1;
                    queue(
                        conn,
                        &Response::error("permission denied: only root may ask this"),
                    );
                    None
                }
                Ok(req) => {
                    self.stats.requests += 1;
                    conn.awaiting = true;
                    conn.asked = true;
                    Some(req)
                }
                Err(e) => {
                    self.stats.bad_requests += 1;
                    refuse(conn, &format!("bad request: {e}"))
                }
            };
        }
    }

    /// Sends `response` to connection `id` (if it is still open): the
    /// answer to the request [`ControlServer::next_request`] last gave
    /// for it.
    pub fn respond(&mut self, registry: &Registry, id: ConnId, response: &Response, now: Instant) {
        let mut line = serde_json::to_vec(response).unwrap_or_default();
        line.push(b'\n');
        self.respond_line(registry, id, line, now);
    }

    /// As [`ControlServer::respond`], with the answer already serialized
    /// (one JSON line, newline included).
    pub fn respond_line(&mut self, registry: &Registry, id: ConnId, line: Vec<u8>, now: Instant) {
        if let Some(conn) = self.conns.get_mut(&id.0) {
            conn.outbuf.extend_from_slice(&line);
            conn.awaiting = false;
            self.flush(registry, id.0, now);
        }
    }

    /// When the next connection would time out.
    pub fn poll_timeout(&self) -> Option<Instant> {
        idle::next_timeout(self.conns.values().map(|c| c.last_active))
    }

    /// Closes connections silent for [`IDLE_TIMEOUT`].
    pub fn handle_timeout(&mut self, registry: &Registry, now: Instant) {
        let stale = idle::timed_out(self.conns.iter().map(|(t, c)| (*t, c.last_active)), now);
        for t in stale {
            self.stats.timed_out += 1;
            self.close(registry, t);
        }
    }

    fn accept(&mut self, registry: &Registry, now: Instant) {
        for _ in 0..ACCEPT_SLICE {
            let (stream, _) = match self.listener.accept() {
                Ok(s) => s,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    self.accept_pending = false;
                    return;
                }
            };
            self.admit(registry, stream, now);
        }
    }

    /// Serves a new connection if its peer may connect and there is (or
    /// can be made) room; otherwise answers with one error line.
    fn admit(&mut self, registry: &Registry, mut stream: UnixStream, now: Instant) {
        let cred = peer_cred(&stream);
        let access = cred.and_then(|(uid, gid)| self.access_of(uid, gid));
        let (Some((uid, _)), Some(access)) = (cred, access) else {
            self.stats.refused += 1;
            let why = if self.group.is_some() {
                "permission denied: the control socket serves root and control_group only"
            } else {
                "permission denied: the control socket serves root only"
            };
            return refuse_now(&mut stream, why);
        };
        if !self.make_room(registry, uid, access, now) {
            self.stats.refused += 1;
            return refuse_now(&mut stream, super::BUSY);
        }
        let token = self.alloc_token();
        if registry
            .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
            .is_ok()
        {
            let conn = Conn {
                stream,
                uid,
                access,
                inbuf: Vec::new(),
                outbuf: Vec::new(),
                readable: true,
                eof: false,
                closing: false,
                awaiting: false,
                last_active: now,
                accepted: now,
                asked: false,
            };
            self.conns.insert(token, conn);
            self.ready.push_back(token);
        }
    }

    fn access_of(&self, uid: u32, gid: u32) -> Option<Access> {
        if uid == self.allowed_uid {
            return Some(Access::Full);
        }
        let (g, members) = self.group.as_ref()?;
        let name = || {
            nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
                .ok()
                .flatten()
                .map(|u| u.name)
        };
        (gid == *g || name().is_some_and(|n| members.contains(&n))).then_some(Access::ReadOnly)
    }

    /// Makes room for one more connection of `uid`: closes its own
    /// longest-idle one if it is at its share, any longest-idle one if
    /// the server is full (for root, a busy one of another user if none
    /// is idle). False if no room could be made.
    fn make_room(&mut self, registry: &Registry, uid: u32, access: Access, now: Instant) -> bool {
        let mine = self.conns.values().filter(|c| c.uid == uid).count();
        if mine >= MAX_CONNECTIONS_PER_PEER
            && !self.evict(registry, |c| c.uid == uid && c.idle(now))
        {
            return false;
        }
        if self.conns.len() < MAX_CONNECTIONS {
            return true;
        }
        self.evict(registry, |c| c.idle(now))
            || (access == Access::Full && self.evict(registry, |c| c.access != Access::Full))
    }

    /// Closes the longest-silent connection that `pick` selects.
    fn evict(&mut self, registry: &Registry, pick: impl Fn(&Conn) -> bool) -> bool {
        let victim = self
            .conns
            .iter()
            .filter(|(_, c)| pick(c))
            .min_by_key(|(_, c)| c.last_active)
            .map(|(t, _)| *t);
        let Some(t) = victim else {
            return false;
        };
        if let Some(c) = self.conns.get_mut(&t) {
            queue(c, &Response::error(super::EVICTED));
            let _ = write_pending(&mut c.stream, &mut c.outbuf);
        }
        self.stats.evicted += 1;
        self.close(registry, t);
        true
    }

    fn alloc_token(&mut self) -> Token {
        let span = 1 + MAX_CONNECTIONS * 4;
        loop {
            let t = Token(self.next_token);
            self.next_token += 1;
            if self.next_token >= self.token_base + span {
                self.next_token = self.token_base + 1;
            }
            if !self.conns.contains_key(&t) {
                return t;
            }
        }
    }

    fn flush(&mut self, registry: &Registry, token: Token, now: Instant) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        let had = conn.outbuf.len();
        match write_pending(&mut conn.stream, &mut conn.outbuf) {
            Written::All => {}
            Written::WouldBlock => {
                if conn.outbuf.len() < had {
                    conn.last_active = now;
                }
                return;
            }
            Written::Failed => return self.close(registry, token),
        }
        if had > 0 {
            conn.last_active = now;
        }
        let done = conn.closing || (conn.eof && !conn.awaiting && !conn.inbuf.contains(&b'\n'));
        if done {
            self.close(registry, token);
        } else if conn.has_work() && !self.ready.contains(&token) {
            // Answers drained: requests held back by them may go on.
            self.ready.push_back(token);
        }
    }

    fn close(&mut self, registry: &Registry, token: Token) {
        if let Some(mut conn) = self.conns.remove(&token) {
            let _ = registry.deregister(&mut conn.stream);
        }
        self.ready.retain(|t| *t != token);
    }

    /// Open connections.
    pub fn connections(&self) -> usize {
        self.conns.len()
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Removes a socket file nobody answers on (left over from a crash);
/// refuses any other kind of file, and a live socket.
fn remove_stale(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::FileTypeExt;
    match std::fs::symlink_metadata(path) {
        Ok(meta) if !meta.file_type().is_socket() => Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} exists and is not a socket", path.display()),
        )),
        Ok(_) if std::os::unix::net::UnixStream::connect(path).is_ok() => Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!("{} is in use: is another vrrpd running?", path.display()),
        )),
        Ok(_) => std::fs::remove_file(path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// The next line of `conn`, reading only until one is complete: `None`
/// if none is yet (or the peer is gone), `Some(None)` if it is longer
/// than [`MAX_REQUEST`].
fn take_line(conn: &mut Conn) -> Option<Option<Vec<u8>>> {
    loop {
        if let Some(nl) = conn.inbuf.iter().position(|&b| b == b'\n') {
            return Some(Some(conn.inbuf.drain(..=nl).collect()));
        }
        if conn.inbuf.len() > MAX_REQUEST {
            return Some(None);
        }
        if !conn.readable {
            return None;
        }
        let mut buf = [0u8; READ_CHUNK];
        match conn.stream.read(&mut buf) {
            Ok(0) => {
                conn.readable = false;
                conn.eof = true;
            }
            Ok(n) => conn
                .inbuf
                .extend_from_slice(buf.get(..n).unwrap_or_default()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => conn.readable = false,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => {
                conn.readable = false;
                conn.eof = true;
            }
        }
    }
}

/// Answers `why` and closes the connection after it.
fn refuse(conn: &mut Conn, why: &str) -> Option<Request> {
    queue(conn, &Response::error(why));
    conn.closing = true;
    conn.inbuf.clear();
    None
}

/// One error line to a connection that is not served.
fn refuse_now(stream: &mut UnixStream, why: &str) {
    let mut line = serde_json::to_vec(&Response::error(why)).unwrap_or_default();
    line.push(b'\n');
    let _ = io::Write::write(stream, &line);
}

fn queue(conn: &mut Conn, response: &Response) {
    // Serialising our own types cannot fail; an empty line is the fallback.
    let mut line = serde_json::to_vec(response).unwrap_or_default();
    line.push(b'\n');
    conn.outbuf.extend_from_slice(&line);
}

fn peer_cred(stream: &UnixStream) -> Option<(u32, u32)> {
    use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
    getsockopt(stream, PeerCredentials)
        .ok()
        .map(|c| (c.uid(), c.gid()))
}

#[cfg(test)]
mod tests;
