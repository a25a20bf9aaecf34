//! LVS: `[lvs]` and `[[virtual_server]]` (kernel IPVS services whose real
//! servers are health-checked), with keepalived's meaning for every key.
//! The TOML shapes are here; their validation is `lvs_check.rs`.

use std::net::SocketAddr;
use std::time::Duration;

use ipvs_netlink::{ForwardMethod, ServiceKey};
use serde::Deserialize;
use toml::Spanned;

use super::raw::{Argv, Dur, Partial};

/// keepalived's `delay_loop` default.
pub const DEFAULT_DELAY_LOOP: Duration = Duration::from_secs(60);
/// keepalived's `connect_timeout` default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Everything LVS of a configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LvsConfig {
    /// `[lvs] sync_daemon`: the IPVS connection-sync daemon, master on the
    /// director that is master of `instance`, backup elsewhere.
    pub sync_daemon: Option<SyncDaemonConfig>,
    /// `[lvs] keep_on_stop`: leave the services in the kernel when vrrpd
    /// stops (for a restart without a blip).
    pub keep_on_stop: bool,
    /// The virtual servers, in file order.
    pub virtual_servers: Vec<VirtualServer>,
}

/// keepalived's `lvs_sync_daemon INTERFACE INSTANCE [id ID]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncDaemonConfig {
    /// The interface the sync messages use.
    pub interface: String,
    /// The VRRP instance whose state picks master or backup.
    pub instance: String,
    /// The sync id (0-255).
    pub id: u8,
}

/// One `[[virtual_server]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualServer {
    /// Address, port and protocol, or firewall mark.
    pub key: ServiceKey,
    /// `lb_algo`: the scheduler.
    pub scheduler: String,
    /// `lb_kind`: the default forwarding method of its real servers.
    pub forward: ForwardMethod,
    /// `persistence_timeout` in seconds, if persistent.
    pub persistence_timeout: Option<u32>,
    /// `persistence_granularity` as a prefix length.
    pub persistence_granularity: Option<u8>,
    /// `delay_loop`: the default interval of the checks.
    pub delay_loop: Duration,
    /// `quorum`: the live weight needed to serve.
    pub quorum: u32,
    /// `hysteresis` around the quorum.
    pub hysteresis: u32,
    /// `quorum_up` hook.
    pub quorum_up: Option<Vec<String>>,
    /// `quorum_down` hook.
    pub quorum_down: Option<Vec<String>>,
    /// `sorry_server`: put in when the quorum is lost.
    pub sorry_server: Option<SocketAddr>,
    /// `sorry_server_inhibit`: the sorry server stays with weight 0 rather
    /// than being removed.
    pub sorry_server_inhibit: bool,
    /// `sorry_server_lb_kind` (keepalived `sorry_server_lvs_method`): how
    /// packets reach the sorry server (default: the virtual server's).
    pub sorry_forward: ForwardMethod,
    /// `alpha`: real servers start down until their first check passes.
    pub alpha: bool,
    /// `omega`: run the down / quorum hooks at stop.
    pub omega: bool,
    /// `smtp_alert`: mail quorum changes; `None` follows `[global]`
    /// ([`crate::config::Mail::virtual_server_alerts`]).
    pub smtp_alert: Option<bool>,
    /// `ha_suspend`: checks run only while the virtual address is local.
    pub ha_suspend: bool,
    /// `virtualhost`: the default Host header of HTTP / SSL checks.
    pub virtualhost: Option<String>,
    /// The real servers, in file order.
    pub real_servers: Vec<RealServer>,
}

impl VirtualServer {
    /// A name for logs and status: `TCP 192.0.2.1:80` or `FWM 1`.
    pub fn name(&self) -> String {
        match self.key {
            ServiceKey::Addr {
                protocol,
                addr,
                port,
            } => format!("{protocol} {}", SocketAddr::new(addr, port)),
            ServiceKey::Fwmark { mark, .. } => format!("FWM {mark}"),
        }
    }
}

/// One `[[virtual_server.real_server]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealServer {
    /// Address and port (port 0 for a firewall-mark service without one).
    pub addr: SocketAddr,
    /// `weight` (default 1).
    pub weight: u32,
    /// Forwarding method: its own `lb_kind` (keepalived's real-server
    /// `lvs_method`), else the virtual server's.
    pub forward: ForwardMethod,
    /// `uthreshold`: the kernel sends it no new connections above this
    /// many (0: no limit).
    pub upper_threshold: u32,
    /// `lthreshold`: below this many connections it takes new ones again
    /// (0: no limit).
    pub lower_threshold: u32,
    /// `inhibit_on_failure`: weight 0 instead of removal when it fails.
    pub inhibit_on_failure: bool,
    /// `notify_up` hook.
    pub notify_up: Option<Vec<String>>,
    /// `notify_down` hook.
    pub notify_down: Option<Vec<String>>,
    /// `smtp_alert`: mail its checks' changes; `None` follows `[global]`
    /// ([`crate::config::Mail::real_server_alerts`]).
    pub smtp_alert: Option<bool>,
    /// Its checks; all must pass for it to be up. None: always up.
    pub checks: Vec<RsCheck>,
}

/// One checker of a real server, with keepalived's timing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsCheck {
    /// What it probes.
    pub kind: RsCheckKind,
    /// `connect_ip` / `connect_port` (default: the real server's).
    pub connect: SocketAddr,
    /// `connect_timeout` (default 5 s).
    pub connect_timeout: Duration,
    /// `retry`: further attempts after a failure before the server is
    /// down.
    pub retry: u32,
    /// `delay_before_retry`: the wait before each of those attempts.
    pub delay_before_retry: Duration,
    /// `warmup`: the first check starts within this (spread).
    pub warmup: Duration,
    /// `delay_loop`: the interval between checks.
    pub delay_loop: Duration,
}

/// The checker kinds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RsCheckKind {
    /// `tcp_check`: the connection is accepted.
    Tcp,
    /// `http_get` (`tls` false) or `ssl_get` (`tls` true).
    Http {
        /// TLS (`ssl_get`).
        tls: bool,
        /// The URLs; each must answer as told.
        urls: Vec<UrlCheck>,
        /// Host header.
        virtualhost: Option<String>,
        /// The server name sent in the TLS client hello (`ssl_get` with
        /// `sni_name`, or `enable_sni` and the virtualhost); `None`: none.
        sni: Option<String>,
    },
    /// `misc_check`: a program; exit 0 is up.
    Misc {
        /// `misc_path`.
        argv: Vec<String>,
        /// `misc_timeout`.
        timeout: Duration,
        /// `misc_dynamic`: exit codes 2-255 set the weight to code - 2.
        dynamic: bool,
    },
}

/// One `url` of an HTTP / SSL check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlCheck {
    /// The path.
    pub path: String,
    /// `status_code`: accepted ranges (default 200-299).
    pub status: Vec<(u16, u16)>,
    /// `digest`: MD5 of the body, as keepalived's `genhash` prints it.
    pub digest: Option<[u8; 16]>,
    /// `virtualhost`: this URL's `Host` header, over the check's and the
    /// virtual server's (keepalived's order, `check_http.c`).
    pub virtualhost: Option<String>,
    /// With `enable_sni` and no `sni_name`: this URL's `virtualhost` as
    /// its SNI (keepalived's order, `check_ssl.c`); `None`: the check's.
    pub sni: Option<String>,
}

// ----- the TOML shapes ------------------------------------------------------

/// `[lvs]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLvs {
    #[serde(skip)]
    pub(crate) dropped: Vec<String>,
    pub(crate) sync_daemon: Option<Spanned<RawSync>>,
    pub(crate) keep_on_stop: Option<Spanned<bool>>,
}

/// `[lvs] sync_daemon = { ... }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSync {
    pub(crate) interface: Spanned<String>,
    pub(crate) instance: Spanned<String>,
    pub(crate) id: Option<Spanned<u8>>,
}

/// `[[virtual_server]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawVirtualServer {
    #[serde(skip)]
    pub(crate) dropped: Vec<String>,
    pub(crate) address: Option<Spanned<String>>,
    pub(crate) port: Option<Spanned<u16>>,
    pub(crate) fwmark: Option<Spanned<u32>>,
    pub(crate) protocol: Option<Spanned<String>>,
    pub(crate) delay_loop: Option<Spanned<Dur>>,
    pub(crate) lb_algo: Option<Spanned<String>>,
    pub(crate) lb_kind: Option<Spanned<String>>,
    pub(crate) persistence_timeout: Option<Spanned<u32>>,
    pub(crate) persistence_granularity: Option<Spanned<String>>,
    pub(crate) quorum: Option<Spanned<u32>>,
    pub(crate) hysteresis: Option<Spanned<u32>>,
    pub(crate) quorum_up: Option<Spanned<Argv>>,
    pub(crate) quorum_down: Option<Spanned<Argv>>,
    pub(crate) sorry_server: Option<Spanned<String>>,
    pub(crate) sorry_server_inhibit: Option<Spanned<bool>>,
    pub(crate) sorry_server_lb_kind: Option<Spanned<String>>,
    pub(crate) sorry_server_tunnel: Option<Spanned<RawTunnel>>,
    pub(crate) tunnel: Option<Spanned<RawTunnel>>,
    pub(crate) alpha: Option<Spanned<bool>>,
    pub(crate) omega: Option<Spanned<bool>>,
    pub(crate) smtp_alert: Option<Spanned<bool>>,
    pub(crate) inhibit_on_failure: Option<Spanned<bool>>,
    pub(crate) ha_suspend: Option<Spanned<bool>>,
    pub(crate) virtualhost: Option<Spanned<String>>,
    pub(crate) connect_timeout: Option<Spanned<Dur>>,
    pub(crate) retry: Option<Spanned<u32>>,
    pub(crate) delay_before_retry: Option<Spanned<Dur>>,
    pub(crate) warmup: Option<Spanned<Dur>>,
    #[serde(default)]
    pub(crate) real_server: Vec<Spanned<RawRealServer>>,
}

/// `[[virtual_server.real_server]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRealServer {
    pub(crate) address: Option<Spanned<String>>,
    pub(crate) port: Option<Spanned<u16>>,
    pub(crate) weight: Option<Spanned<u32>>,
    pub(crate) lb_kind: Option<Spanned<String>>,
    pub(crate) tunnel: Option<Spanned<RawTunnel>>,
    pub(crate) uthreshold: Option<Spanned<u32>>,
    pub(crate) lthreshold: Option<Spanned<u32>>,
    pub(crate) inhibit_on_failure: Option<Spanned<bool>>,
    pub(crate) notify_up: Option<Spanned<Argv>>,
    pub(crate) notify_down: Option<Spanned<Argv>>,
    pub(crate) smtp_alert: Option<Spanned<bool>>,
    pub(crate) tcp_check: Option<Spanned<RawRsCheck>>,
    pub(crate) http_get: Option<Spanned<RawRsCheck>>,
    pub(crate) ssl_get: Option<Spanned<RawRsCheck>>,
    pub(crate) misc_check: Option<Spanned<RawRsCheck>>,
}

/// `tunnel = { type, port, checksum }` beside `lb_kind = "TUN"`
/// (keepalived's `lvs_method TUN type gue port 6080 csum`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTunnel {
    #[serde(rename = "type")]
    pub(crate) kind: Option<Spanned<String>>,
    pub(crate) port: Option<Spanned<u16>>,
    pub(crate) checksum: Option<Spanned<String>>,
}

/// A checker table (`tcp_check`, `http_get`, `ssl_get`, `misc_check`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRsCheck {
    pub(crate) connect_ip: Option<Spanned<String>>,
    pub(crate) connect_port: Option<Spanned<u16>>,
    pub(crate) connect_timeout: Option<Spanned<Dur>>,
    pub(crate) retry: Option<Spanned<u32>>,
    pub(crate) delay_before_retry: Option<Spanned<Dur>>,
    pub(crate) warmup: Option<Spanned<Dur>>,
    pub(crate) delay_loop: Option<Spanned<Dur>>,
    pub(crate) virtualhost: Option<Spanned<String>>,
    pub(crate) enable_sni: Option<Spanned<bool>>,
    pub(crate) sni_name: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) url: Vec<Spanned<RawUrl>>,
    pub(crate) misc_path: Option<Spanned<Argv>>,
    pub(crate) misc_timeout: Option<Spanned<Dur>>,
    pub(crate) misc_dynamic: Option<Spanned<bool>>,
}

/// One `url = [{ path, status_code, digest }]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawUrl {
    pub(crate) path: Spanned<String>,
    pub(crate) status_code: Option<Spanned<StatusCodes>>,
    pub(crate) digest: Option<Spanned<String>>,
    pub(crate) virtualhost: Option<Spanned<String>>,
}

/// `status_code = 200` or `"200-299 503"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum StatusCodes {
    One(u16),
    Text(String),
}

impl Partial for RawLvs {
    fn dropped_mut(&mut self) -> &mut Vec<String> {
        &mut self.dropped
    }
    fn dropped(&self) -> &[String] {
        &self.dropped
    }
}

impl Partial for RawVirtualServer {
    fn dropped_mut(&mut self) -> &mut Vec<String> {
        &mut self.dropped
    }
    fn dropped(&self) -> &[String] {
        &self.dropped
    }
}
