//! The validated configuration: what the daemon runs from.
//!
//! Every value here has passed the checks in [`super::load_str`]; nothing in
//! this module can hold a setting the daemon would have to reject later.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use std::sync::Arc;

use vrrp_proto::{Auth, Interval, Priority, Version, Vrid};

/// The whole configuration file, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Daemon-wide settings.
    pub global: Global,
    /// VRRP instances, in file order. Shared (`Arc`) with the daemon's
    /// per-instance state, so a running daemon holds one copy of each.
    pub instances: Vec<Arc<Instance>>,
    /// Health checks, in file order.
    pub checks: Vec<Check>,
    /// Sync groups, in file order.
    pub sync_groups: Vec<SyncGroup>,
    /// LVS virtual servers and the sync daemon (`[lvs]`,
    /// `[[virtual_server]]`).
    pub lvs: super::lvs::LvsConfig,
}

/// `[global]`: daemon-wide settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Global {
    /// Path of the Unix control socket (`vrrpd status` and friends).
    pub control_socket: PathBuf,
    /// How long a notify hook may run before it is killed.
    pub notify_timeout: Duration,
    /// Address of the Prometheus text endpoint (`GET /metrics`); `None`
    /// serves no metrics.
    pub metrics_listen: Option<SocketAddr>,
    /// A group whose members may ask for `status` over the control
    /// socket (read-only); `None`: root only.
    pub control_group: Option<String>,
    /// An advert that leaves later than this many thousandths of its
    /// interval after its deadline is logged as a warning (0: never).
    pub advert_late_warn_permille: u32,
    /// E-mail alerts (keepalived's keys); boxed, as most files set none.
    pub mail: Box<super::mail::Mail>,
    /// The announcement settings of every instance that does not set its
    /// own (keepalived's global `vrrp_garp_master_*` and
    /// `vrrp_garp_lower_prio_*`).
    pub garp: Garp,
    /// keepalived's `notify_fifo`: a FIFO that gets one line per state
    /// change (`INSTANCE "VI_1" MASTER 100`); made if missing.
    pub notify_fifo: Option<PathBuf>,
    /// keepalived's `vrrp_notify_priority_changes`: the default of
    /// instances and sync groups that do not set `notify_priority_changes`.
    pub notify_priority_changes: bool,
    /// keepalived's `fifo_write_vrrp_states_on_reload`: after a reload,
    /// write the state of every instance and sync group whose state the
    /// reload did not change to the notify FIFO.
    pub fifo_write_states_on_reload: bool,
    /// keepalived's `vrrp_startup_delay`: wait this long after start
    /// before starting the instances (for networks that come up late).
    pub startup_delay: Duration,
    /// keepalived's `vrrp_strict`: the default of every instance's
    /// `strict`.
    pub strict: bool,
    /// keepalived's `static_ipaddress`: addresses added at start and
    /// removed at exit, whatever the instances do (`interface` is set).
    pub static_addresses: Vec<Vip>,
    /// keepalived's `static_routes`: routes added at start and removed at
    /// exit.
    pub static_routes: Vec<VirtualRoute>,
    /// keepalived's `static_rules`: routing policy rules added at start and
    /// removed at exit.
    pub static_rules: Vec<Rule>,
}

/// A routing policy rule (`ip rule`): keepalived's `virtual_rules` and
/// `static_rules`.
pub use netif::Rule;

impl Global {
    /// The default control socket path.
    pub const DEFAULT_CONTROL_SOCKET: &'static str = "/run/vrrpd/control.sock";
    /// The default notify hook timeout.
    pub const DEFAULT_NOTIFY_TIMEOUT: Duration = Duration::from_secs(10);
    /// The default lateness warning: half an advert interval.
    pub const DEFAULT_ADVERT_LATE_WARN_PERMILLE: u32 = 500;
}

impl Default for Global {
    fn default() -> Self {
        Global {
            control_socket: PathBuf::from(Self::DEFAULT_CONTROL_SOCKET),
            notify_timeout: Self::DEFAULT_NOTIFY_TIMEOUT,
            metrics_listen: None,
            control_group: None,
            advert_late_warn_permille: Self::DEFAULT_ADVERT_LATE_WARN_PERMILLE,
            mail: Box::default(),
            garp: Garp::default(),
            notify_fifo: None,
            notify_priority_changes: false,
            fifo_write_states_on_reload: false,
            startup_delay: Duration::ZERO,
            strict: false,
            static_addresses: Vec::new(),
            static_routes: Vec::new(),
            static_rules: Vec::new(),
        }
    }
}

/// The address family of an instance (all its virtual addresses share
/// it): the workspace's one family type.
pub use vrrp_proto::Family;

/// One virtual address with its prefix length and optional IPv4 label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vip {
    /// The address.
    pub addr: IpAddr,
    /// Prefix length installed with it (default /32 or /128).
    pub prefix_len: u8,
    /// IPv4 address label (`ip addr add ... label eth0:vip`).
    pub label: Option<String>,
    /// The interface the address goes on when it is not the instance's
    /// (keepalived's `dev`): a router on an inside link can hold an address
    /// on an outside one.
    pub interface: Option<String>,
}

/// Which checksum a VRRPv3 IPv4 advert carries.
///
/// keepalived and FRR include the IPv4 pseudo-header (as RFC 5798 was read);
/// RFC 9568 readers leave it out. The default matches keepalived and FRR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum V3Ipv4Checksum {
    /// Include the IPv4 pseudo-header (keepalived, FRR).
    #[default]
    WithPseudoHeader,
    /// Checksum over the VRRP message only (RFC 9568 reading).
    WithoutPseudoHeader,
}

/// A route the master installs while it holds the virtual addresses, and
/// removes when it releases them (keepalived's `virtual_routes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualRoute {
    /// Destination network.
    pub to: IpAddr,
    /// Its prefix length.
    pub prefix_len: u8,
    /// Next hop; without one the route is on-link.
    pub via: Option<IpAddr>,
    /// Outgoing interface; an on-link route without one uses the
    /// instance's interface.
    pub interface: Option<String>,
    /// Route metric.
    pub metric: Option<u32>,
    /// Routing table (default: main).
    pub table: Option<u32>,
}

/// A tracked interface: down means Fault (weight 0) or a priority change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackInterface {
    /// Interface name.
    pub name: String,
    /// Weight applied while the interface is down; 0 puts the instance in Fault.
    pub weight: i32,
}

/// A tracked check with an optional per-instance weight override.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackCheck {
    /// Name of a `[[check]]`.
    pub name: String,
    /// Overrides the check's own weight for this instance.
    pub weight: Option<i32>,
}

/// Gratuitous ARP / unsolicited NA settings, keepalived's `garp_master_*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Garp {
    /// Delay before the second burst after becoming master (keepalived: 5 s).
    pub master_delay: Duration,
    /// Announcements per burst (keepalived: 5).
    pub master_repeat: u32,
    /// Period of refresh announcements while master; `None` disables them.
    pub master_refresh: Option<Duration>,
    /// Delay before the second set of announcements after a lower-priority
    /// advert was heard while master (keepalived `garp_lower_prio_delay`;
    /// its default is the global `garp_master_delay`); zero sends one set.
    pub lower_prio_delay: Duration,
    /// Announcements per address in each such set (keepalived
    /// `garp_lower_prio_repeat`; its default is the global
    /// `garp_master_repeat`); 0 sends none.
    pub lower_prio_repeat: u32,
    /// Announcements per address at each refresh (keepalived
    /// `garp_master_refresh_repeat`, default 1).
    pub master_refresh_repeat: u32,
    /// No advert in answer to a lower-priority advert while master
    /// (keepalived `lower_prio_no_advert`; strict mode implies it).
    pub lower_prio_no_advert: bool,
}

impl Default for Garp {
    fn default() -> Self {
        Garp {
            master_delay: Duration::from_secs(5),
            master_repeat: 5,
            master_refresh: None,
            lower_prio_delay: Duration::from_secs(5),
            lower_prio_repeat: 5,
            master_refresh_repeat: 1,
            lower_prio_no_advert: false,
        }
    }
}

/// Notify hooks (argv vectors, run without a shell).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Hooks {
    /// Run on entering Master.
    pub master: Option<Vec<String>>,
    /// Run on entering Backup.
    pub backup: Option<Vec<String>>,
    /// Run on entering Fault.
    pub fault: Option<Vec<String>>,
    /// Run when the instance stops.
    pub stop: Option<Vec<String>>,
    /// Run on every state change, with keepalived's arguments appended:
    /// `INSTANCE|GROUP name state priority`.
    pub generic: Option<Vec<String>>,
    /// An instance's `notify_master_rx_lower_pri`: run, without
    /// arguments, each time it hears as Master an advert of a router it
    /// wins against (keepalived's split-brain hook).
    pub master_rx_lower_pri: Option<Vec<String>>,
    /// `smtp_alert`: send an e-mail on each state change; `None` follows
    /// `[global] smtp_alert`.
    pub smtp_alert: Option<bool>,
    /// `notify_priority_changes`: write a line to the notify FIFO when
    /// the effective priority changes; `None` follows the sync group (for
    /// an instance), then `[global] notify_priority_changes`.
    pub priority_changes: Option<bool>,
}

/// One `[[instance]]`: a virtual router on one interface and family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// Unique instance name (keepalived's `vrrp_instance NAME`).
    pub name: String,
    /// Interface the instance runs on.
    pub interface: String,
    /// Virtual router identifier.
    pub vrid: Vrid,
    /// Protocol version (default 2, as keepalived).
    pub version: Version,
    /// Address family, from the virtual addresses.
    pub family: Family,
    /// Configured priority (255 = address owner).
    pub priority: Priority,
    /// Advertisement interval.
    pub advert_interval: Interval,
    /// Virtual addresses.
    pub vips: Vec<Vip>,
    /// Addresses installed and removed with the virtual addresses but not
    /// advertised (keepalived's `virtual_ipaddress_excluded`); any family.
    pub excluded_vips: Vec<Vip>,
    /// Whether the instance's own interface going down puts it in Fault
    /// (default true; false is keepalived's `dont_track_primary`).
    pub track_own_interface: bool,
    /// keepalived's `promote_secondaries`: the interface promotes a
    /// secondary address when its subnet's primary is removed, while the
    /// instance runs (default false; virtual MAC interfaces always do).
    pub promote_secondaries: bool,
    /// keepalived's `down_timer_adverts`: Master_Down_Interval in advert
    /// intervals (plus Skew_Time); 3 by the RFCs, 1 to 100.
    pub down_timer_adverts: u8,
    /// keepalived's `track_src_ip`: the instance is in Fault while its
    /// fixed source (`multicast_source` / `unicast_source`) is not on its
    /// interface.
    pub track_source: bool,
    /// Preempt a lower-priority master (default on).
    pub preempt: bool,
    /// Wait this long after start-up before preempting.
    pub preempt_delay: Duration,
    /// RFC 9568 Accept_Mode: a non-owner master accepts packets for the
    /// VIPs. Always true for now (see `docs/config.md`).
    pub accept: bool,
    /// VRRPv2 authentication.
    pub auth: Auth,
    /// Source address for unicast adverts.
    pub unicast_source: Option<IpAddr>,
    /// Source address for multicast adverts (keepalived's `mcast_src_ip`);
    /// `None` takes the interface's primary address.
    pub multicast_source: Option<IpAddr>,
    /// Unicast peers; empty means multicast.
    pub unicast_peers: Vec<IpAddr>,
    /// Tracked interfaces.
    pub track_interfaces: Vec<TrackInterface>,
    /// Tracked checks.
    pub track_checks: Vec<TrackCheck>,
    /// VRRPv3 IPv4 checksum mode.
    pub v3_ipv4_checksum: V3Ipv4Checksum,
    /// Routes installed with the virtual addresses.
    pub virtual_routes: Vec<VirtualRoute>,
    /// Routing policy rules installed with the virtual addresses
    /// (keepalived's `virtual_rules`).
    pub virtual_rules: Vec<Rule>,
    /// The virtual MAC interface (keepalived's `use_vmac`): a macvlan of
    /// this name on `interface` carries the virtual addresses with the
    /// virtual router MAC (RFC 9568 §7.3). IPv4 only.
    pub vmac: Option<String>,
    /// Gratuitous ARP / NA settings.
    pub garp: Garp,
    /// Notify hooks.
    pub hooks: Hooks,
    /// keepalived's strict mode (`strict_mode`, `vrrp_strict`): RFC rules
    /// kept strictly (see `docs/config.md`).
    pub strict: bool,
}

/// What a check probes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckKind {
    /// Run a program; exit status 0 is success.
    Exec {
        /// Program and arguments.
        argv: Vec<String>,
        /// Run through `/bin/sh -c` (the argv is joined).
        shell: bool,
        /// Run as this user.
        user: Option<String>,
        /// Extra environment.
        env: BTreeMap<String, String>,
    },
    /// TCP connect.
    Tcp {
        /// Target.
        target: SocketAddr,
    },
    /// HTTP GET.
    Http {
        /// Target.
        target: SocketAddr,
        /// Host header (default: the target address).
        host: Option<String>,
        /// Request path.
        path: String,
        /// Status codes counted as success.
        expect_status: Vec<u16>,
        /// A substring the body must contain.
        expect_body: Option<String>,
    },
    /// ICMP echo.
    Icmp {
        /// Target.
        target: IpAddr,
    },
    /// Interface operational state.
    Interface {
        /// Interface name.
        name: String,
    },
    /// keepalived `track_file`: an integer read from a file.
    File {
        /// The file.
        path: PathBuf,
    },
    /// keepalived `vrrp_track_process`: running processes that match, within
    /// a quorum (see [`healthcheck::ProcessSpec`]).
    Process {
        /// Process name (`/proc/PID/comm`), or the program of the command
        /// line when `args` or `full_command` is given.
        name: String,
        /// Arguments to match (`None`: any).
        args: Option<Vec<String>>,
        /// How `args` match.
        param_match: ParamMatch,
        /// Match the command line even without `args`.
        full_command: bool,
        /// Fewest matching processes for success.
        quorum: u32,
        /// Most matching processes for success.
        quorum_max: Option<u32>,
    },
}

/// How a process check's arguments match (keepalived's `param_match`).
pub use healthcheck::ParamMatch;

/// One `[[check]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Unique check name.
    pub name: String,
    /// What it probes.
    pub kind: CheckKind,
    /// Time between probes.
    pub interval: Duration,
    /// Time a probe may take.
    pub timeout: Duration,
    /// Successes needed to go from failed to OK.
    pub rise: u32,
    /// Failures needed to go from OK to failed.
    pub fall: u32,
    /// Priority weight, -254..=254; 0 means Fault while failing.
    pub weight: i32,
    /// Invert the result (keepalived `reverse`).
    pub reverse: bool,
    /// Start in the failed state (keepalived `init_fail`).
    pub init_fail: bool,
}

/// One `[[sync_group]]`: instances that change state together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncGroup {
    /// Unique group name.
    pub name: String,
    /// Member instance names.
    pub instances: Vec<String>,
    /// Group notify hooks.
    pub hooks: Hooks,
}
