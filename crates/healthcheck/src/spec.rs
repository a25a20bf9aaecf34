//! Check definitions: what to probe, how often, and how results move priority.

use std::ffi::OsString;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::error::ConfigError;
use crate::state::{InitialState, Policy, ValueKind, Weight, Weighting};

/// Minimum interval of checks that run in-process (TCP, HTTP, ICMP, interface, file).
pub const MIN_INTERVAL_IN_PROCESS: Duration = Duration::from_millis(10);
/// Minimum interval of exec checks (each run forks a process).
pub const MIN_INTERVAL_EXEC: Duration = Duration::from_millis(50);
/// Default cap on the HTTP response bytes read (status line, headers and body).
pub const DEFAULT_HTTP_MAX_RESPONSE: usize = 64 * 1024;

/// One health check: what to probe, how often, and its rise/fall/weight policy.
///
/// Defaults (from [`CheckSpec::new`]): interval 1 s, timeout 1 s, rise 1,
/// fall 1, weight 0 (fault while failing), no reverse, assumed OK at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckSpec {
    /// Unique name (used in events and priority breakdowns).
    pub name: String,
    /// What to probe.
    pub kind: CheckKind,
    /// Time between probe starts.
    pub interval: Duration,
    /// A probe still running after this long is a failure (exec: its process
    /// group is killed). Not used by the interface and file kinds, which are
    /// read synchronously.
    pub timeout: Duration,
    /// Consecutive successes to become OK.
    pub rise: u32,
    /// Consecutive failures to become failed.
    pub fall: u32,
    /// Weight, -254..=254 (see [`crate::state`] for the sign rules).
    pub weight: i32,
    /// keepalived `reverse`.
    pub reverse: bool,
    /// keepalived `init_fail`: assume failed until `rise` successes.
    pub init_fail: bool,
    /// keepalived's `delay_before_retry`: after a failure that has not yet
    /// reached `fall`, the next probe comes after this rather than at the
    /// next interval (`None`: at the interval).
    pub retry_interval: Option<Duration>,
}

impl CheckSpec {
    /// A check with the defaults listed on the type.
    pub fn new(name: impl Into<String>, kind: CheckKind) -> Self {
        Self {
            name: name.into(),
            kind,
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            rise: 1,
            fall: 1,
            weight: 0,
            reverse: false,
            init_fail: false,
            retry_interval: None,
        }
    }

    /// Sets the retry interval (keepalived's `delay_before_retry`).
    pub fn retry_interval(mut self, d: Duration) -> Self {
        self.retry_interval = Some(d);
        self
    }

    /// Sets the interval.
    pub fn interval(mut self, d: Duration) -> Self {
        self.interval = d;
        self
    }
    /// Sets the timeout.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }
    /// Sets rise.
    pub fn rise(mut self, n: u32) -> Self {
        self.rise = n;
        self
    }
    /// Sets fall.
    pub fn fall(mut self, n: u32) -> Self {
        self.fall = n;
        self
    }
    /// Sets the weight.
    pub fn weight(mut self, w: i32) -> Self {
        self.weight = w;
        self
    }
    /// Sets keepalived's `reverse`.
    pub fn reverse(mut self, r: bool) -> Self {
        self.reverse = r;
        self
    }
    /// Sets keepalived's `init_fail`.
    pub fn init_fail(mut self, f: bool) -> Self {
        self.init_fail = f;
        self
    }

    /// Validates every field and returns the pure policy.
    pub fn validate(&self) -> Result<Policy, ConfigError> {
        let weight = Weight::new(self.weight)?;
        let min = match self.kind {
            CheckKind::Exec(_) => MIN_INTERVAL_EXEC,
            _ => MIN_INTERVAL_IN_PROCESS,
        };
        if self.interval < min {
            return Err(ConfigError::IntervalTooShort {
                kind: self.kind.name(),
                got_ms: self.interval.as_millis(),
                min_ms: min.as_millis(),
            });
        }
        if self.timeout.is_zero() {
            return Err(ConfigError::ZeroTimeout);
        }
        self.kind.validate()?;
        let policy = Policy {
            rise: self.rise,
            fall: self.fall,
            weighting: Weighting {
                weight,
                reverse: self.reverse,
            },
            initial: if self.init_fail {
                InitialState::Failed
            } else {
                InitialState::Ok
            },
            kind: match self.kind {
                CheckKind::File(_) => ValueKind::FileValue,
                _ => ValueKind::Status,
            },
        };
        policy.validate()?;
        Ok(policy)
    }
}

/// What a check probes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckKind {
    /// Run a program; exit status 0 is success.
    Exec(ExecSpec),
    /// TCP connect.
    Tcp(TcpSpec),
    /// HTTP/1.1 GET, over TCP or TLS.
    Http(HttpSpec),
    /// ICMP / ICMPv6 echo.
    Icmp(IcmpSpec),
    /// Interface operational state.
    Interface(InterfaceSpec),
    /// Integer in a file (keepalived `track_file`).
    File(FileSpec),
    /// Running processes (keepalived `vrrp_track_process`).
    Process(ProcessSpec),
}

impl CheckKind {
    /// Short name of the kind ("exec", "tcp", ...).
    pub fn name(&self) -> &'static str {
        match self {
            CheckKind::Exec(_) => "exec",
            CheckKind::Tcp(_) => "tcp",
            CheckKind::Http(_) => "http",
            CheckKind::Icmp(_) => "icmp",
            CheckKind::Interface(_) => "interface",
            CheckKind::File(_) => "file",
            CheckKind::Process(_) => "process",
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        match self {
            CheckKind::Exec(e) => e.validate(),
            CheckKind::Http(h) => h.validate(),
            CheckKind::Interface(i) => {
                let n = &i.name;
                if n.is_empty() || n.len() > 15 || n.contains('/') || n == "." || n == ".." {
                    Err(ConfigError::BadInterface(n.clone()))
                } else {
                    Ok(())
                }
            }
            CheckKind::Process(p) => p.validate(),
            CheckKind::Tcp(_) | CheckKind::Icmp(_) | CheckKind::File(_) => Ok(()),
        }
    }
}

/// Run a program directly (no shell unless you ask for one with [`ExecSpec::shell`]).
///
/// The child gets its own process group (`setpgid(0, 0)`), /dev/null
/// for stdin, stdout and stderr, and is killed (the whole group, SIGKILL)
/// when it times out. When the program exits, any process it left behind in
/// its group is killed too: a health check must not leave processes running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecSpec {
    /// Program and arguments; `argv[0]` is looked up in `PATH` if it has no '/'.
    pub argv: Vec<OsString>,
    /// Variables to set (added to the inherited environment unless `clear_env`).
    pub env: Vec<(OsString, OsString)>,
    /// Start from an empty environment.
    pub clear_env: bool,
    /// Run as this user (requires privileges to switch).
    pub user: Option<RunAs>,
    /// Working directory.
    pub cwd: Option<PathBuf>,
    /// keepalived's `misc_dynamic`: exit statuses 2-255 succeed too (the
    /// caller reads the status from [`crate::Detail::Exited`]); 1 fails.
    pub dynamic_exit: bool,
}

impl ExecSpec {
    /// Runs `argv` directly.
    pub fn new<I, S>(argv: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        Self {
            argv: argv.into_iter().map(Into::into).collect(),
            env: Vec::new(),
            clear_env: false,
            user: None,
            cwd: None,
            dynamic_exit: false,
        }
    }

    /// Runs `command` with `/bin/sh -c` (only when you want a shell).
    pub fn shell(command: impl Into<OsString>) -> Self {
        Self::new([
            OsString::from("/bin/sh"),
            OsString::from("-c"),
            command.into(),
        ])
    }

    /// Adds an environment variable.
    pub fn env(mut self, k: impl Into<OsString>, v: impl Into<OsString>) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }

    /// Sets the user to run as.
    pub fn user(mut self, user: RunAs) -> Self {
        self.user = Some(user);
        self
    }

    fn validate(&self) -> Result<(), ConfigError> {
        use std::os::unix::ffi::OsStrExt;
        if self.argv.is_empty() || self.argv[0].is_empty() {
            return Err(ConfigError::EmptyCommand);
        }
        if self.argv.iter().any(|a| a.as_bytes().contains(&0)) {
            return Err(ConfigError::Nul { what: "argv" });
        }
        if self.env.iter().any(|(k, v)| {
            k.as_bytes().contains(&0) || v.as_bytes().contains(&0) || k.as_bytes().contains(&b'=')
        }) {
            return Err(ConfigError::Nul { what: "env" });
        }
        Ok(())
    }
}

/// The identity an exec check runs under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunAs {
    /// Numeric ids; supplementary groups are cleared.
    Id {
        /// User id.
        uid: u32,
        /// Group id.
        gid: u32,
    },
    /// A user name, resolved when the check is added (its primary group and
    /// supplementary groups from the group database), with an optional group
    /// name overriding the primary group (keepalived `user USERNAME [GROUPNAME]`).
    Name {
        /// User name.
        user: String,
        /// Group name.
        group: Option<String>,
    },
}

/// TCP connect check: success once the three-way handshake completes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpSpec {
    /// Target address and port.
    pub addr: SocketAddr,
}

/// HTTP/1.1 GET check, over TCP or, with [`HttpSpec::tls`], TLS
/// (keepalived's `HTTP_GET` and `SSL_GET`).
///
/// Sends `GET path HTTP/1.1` with `Host` and `Connection: close` and reads
/// the status line. Success, checked in keepalived's order: the status is
/// in `expect_status` (or 200..=299 when empty), then the body contains
/// `body_contains` and its MD5 is `body_md5`, for those that are given. The
/// body is read only for those two, until its Content-Length, its last
/// chunk (chunked bodies are decoded) or the close; a wrong status fails
/// without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSpec {
    /// Server address and port.
    pub addr: SocketAddr,
    /// Host header value (defaults to the address).
    pub host: Option<String>,
    /// Request path, starting with '/'.
    pub path: String,
    /// Accepted status codes; empty means any 2xx.
    pub expect_status: Vec<u16>,
    /// A byte string the body must contain.
    pub body_contains: Option<Vec<u8>>,
    /// The MD5 the body must have (keepalived's `digest`, as its `genhash`
    /// or `md5sum` of the body prints it). The body is digested as it
    /// streams, whatever its length.
    pub body_md5: Option<[u8; 16]>,
    /// Cap on the bytes kept: the header section, and the part of the body
    /// searched for `body_contains`.
    pub max_response: usize,
    /// Speak TLS (HTTPS); `None`: plain HTTP.
    pub tls: Option<TlsSpec>,
}

/// TLS settings of an HTTPS check, with keepalived's `SSL_GET` semantics:
/// TLS 1.2 or 1.3, **no verification of the server's certificate** (the
/// check is about the service answering; keepalived never verifies it
/// either), a full handshake each time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsSpec {
    /// The server name sent in the client hello (SNI, keepalived's
    /// `enable_sni` / `sni_name`); `None` sends none. Must be a DNS name.
    pub sni: Option<String>,
}

impl TlsSpec {
    /// Whether `name` can be sent as SNI: a DNS name, not an IP address
    /// (RFC 6066 §3) and without a port.
    pub fn is_valid_sni(name: &str) -> bool {
        crate::probe::tls::is_dns_name(name)
    }
}

impl HttpSpec {
    /// GET `path` from `addr`, any 2xx.
    pub fn new(addr: SocketAddr, path: impl Into<String>) -> Self {
        Self {
            addr,
            host: None,
            path: path.into(),
            expect_status: Vec::new(),
            body_contains: None,
            body_md5: None,
            max_response: DEFAULT_HTTP_MAX_RESPONSE,
            tls: None,
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if !self.path.starts_with('/') || self.path.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(ConfigError::BadHttpPath(self.path.clone()));
        }
        if let Some(h) = &self.host {
            if h.is_empty() || h.bytes().any(|b| b <= b' ' || b == 0x7f) {
                return Err(ConfigError::BadHttpHost(h.clone()));
            }
        }
        if let Some(s) = self
            .expect_status
            .iter()
            .find(|s| !(100..=599).contains(*s))
        {
            return Err(ConfigError::BadHttpStatus(*s));
        }
        if let Some(name) = self.tls.as_ref().and_then(|t| t.sni.as_ref()) {
            if !TlsSpec::is_valid_sni(name) {
                return Err(ConfigError::BadSni(name.clone()));
            }
        }
        Ok(())
    }
}

/// Which ICMP socket to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IcmpMode {
    /// Unprivileged datagram socket first, raw socket if that is refused.
    #[default]
    Auto,
    /// `socket(AF_INET[6], SOCK_DGRAM, IPPROTO_ICMP[V6])`: needs the process
    /// group in `net.ipv4.ping_group_range` (also governs IPv6).
    Datagram,
    /// Raw socket: needs CAP_NET_RAW.
    Raw,
}

/// ICMP echo check: success when a reply with our identifier and sequence arrives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IcmpSpec {
    /// Target.
    pub addr: IpAddr,
    /// Socket kind.
    pub mode: IcmpMode,
}

/// Interface state check.
///
/// Reads `<sysfs_net>/<name>/operstate`: "up" is success; "unknown" (what
/// loopback and some tunnels report) is success when `<name>/carrier` reads
/// 1; anything else ("down", "lowerlayerdown", "dormant", "notpresent",
/// "testing") and a missing interface are failures. sysfs shows the network
/// namespace of the process that mounted it, so run in the namespace of the
/// interface (as `ip netns exec` arranges).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceSpec {
    /// Interface name.
    pub name: String,
    /// sysfs directory of interfaces (default `/sys/class/net`).
    pub sysfs_net: PathBuf,
}

impl InterfaceSpec {
    /// Watches `name` under `/sys/class/net`.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            sysfs_net: PathBuf::from("/sys/class/net"),
        }
    }
}

/// File check with keepalived `track_file` semantics (see [`crate::state`]).
///
/// The file is read at every interval (keepalived uses inotify; polling
/// keeps this kind free of extra descriptors). Its content must be one
/// decimal integer, optionally signed and surrounded by white space. A file
/// that is missing, unreadable or not an integer is a failure, and a failed
/// file check puts the instance in Fault, since its value is unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSpec {
    /// The file.
    pub path: PathBuf,
}

/// How the configured arguments of a [`ProcessSpec`] match a command line
/// (keepalived's `param_match`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ParamMatch {
    /// The arguments are exactly those configured (keepalived's default).
    #[default]
    Exact,
    /// The first arguments are those configured; more may follow
    /// (`param_match partial`).
    Partial,
    /// As `Partial`, and the last configured argument may be a prefix of
    /// the process's (`param_match initial`).
    Initial,
}

/// Process check with keepalived `vrrp_track_process` semantics: success
/// while the number of running processes that match is within
/// `quorum..=quorum_max`.
///
/// A process matches by its name (`/proc/PID/comm`, at most 15 bytes, as
/// keepalived compares it) unless `args` is given or `full_command` is set;
/// then its command line (`/proc/PID/cmdline`) must start with `name`
/// exactly, followed by `args` as [`ParamMatch`] says. Zombies do not count
/// (keepalived ignores them; `pgrep` does not). An exact match, not a
/// pattern: `ssh` does not match `sshd`.
///
/// keepalived follows processes through the kernel's process connector;
/// this probe scans `/proc` once per interval instead (one `readdir` plus a
/// small read per process, and the command line only where it is needed),
/// which needs no privileges beyond reading `/proc`, no socket, and no
/// state that a lost event could corrupt. keepalived's `fork_delay` and
/// `terminate_delay` become the check's rise and fall at that interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessSpec {
    /// The process name, or the program of its command line.
    pub name: String,
    /// Arguments to match; `None` matches any (by name only, unless
    /// `full_command`). `Some(vec![])` means "no arguments".
    pub args: Option<Vec<String>>,
    /// How `args` match.
    pub param_match: ParamMatch,
    /// Match the command line even without `args` (keepalived's
    /// `full_command`).
    pub full_command: bool,
    /// Fewest matching processes for success (default 1).
    pub quorum: u32,
    /// Most matching processes for success (`None`: no limit).
    pub quorum_max: Option<u32>,
    /// The `/proc` directory (default `/proc`).
    pub proc_dir: PathBuf,
}

impl ProcessSpec {
    /// At least one process named `name`.
    pub fn new(name: impl Into<String>) -> Self {
        ProcessSpec {
            name: name.into(),
            args: None,
            param_match: ParamMatch::Exact,
            full_command: false,
            quorum: 1,
            quorum_max: None,
            proc_dir: PathBuf::from("/proc"),
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.name.is_empty() {
            return Err(ConfigError::BadProcess("the process name is empty"));
        }
        if self.quorum_max.is_some_and(|m| m < self.quorum) {
            return Err(ConfigError::BadProcess("quorum_max is below quorum"));
        }
        Ok(())
    }
}
