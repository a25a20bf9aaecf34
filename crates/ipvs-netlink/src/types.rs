//! The typed model of the IPVS table: services, destinations (real
//! servers), statistics, the connection-sync daemon, timeouts and info.
//!
//! These are plain values; [`crate::wire`] turns them into attribute bytes
//! and back, and [`crate::Ipvs`] sends them to the kernel.

use std::fmt;
use std::net::IpAddr;

/// An address family, as IPVS carries it (`AF_INET` / `AF_INET6`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// IPv4 (`AF_INET`, 2).
    Inet,
    /// IPv6 (`AF_INET6`, 10).
    Inet6,
}

impl Family {
    /// The family of an address.
    pub fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::Inet,
            IpAddr::V6(_) => Family::Inet6,
        }
    }

    /// The `AF_*` number.
    pub fn to_raw(self) -> u16 {
        match self {
            Family::Inet => 2,
            Family::Inet6 => 10,
        }
    }

    /// The family for an `AF_*` number, if it is one IPVS knows.
    pub fn from_raw(raw: u16) -> Option<Family> {
        match raw {
            2 => Some(Family::Inet),
            10 => Some(Family::Inet6),
            _ => None,
        }
    }

    /// The longest prefix of this family (32 or 128).
    pub fn max_prefix(self) -> u8 {
        match self {
            Family::Inet => 32,
            Family::Inet6 => 128,
        }
    }
}

/// The transport protocol of an address-based virtual service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// TCP (IP protocol 6).
    Tcp,
    /// UDP (IP protocol 17).
    Udp,
    /// SCTP (IP protocol 132).
    Sctp,
}

impl Protocol {
    /// The IP protocol number.
    pub fn to_raw(self) -> u16 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Sctp => 132,
        }
    }

    /// The protocol for an IP protocol number, if IPVS balances it.
    pub fn from_raw(raw: u16) -> Option<Protocol> {
        match raw {
            6 => Some(Protocol::Tcp),
            17 => Some(Protocol::Udp),
            132 => Some(Protocol::Sctp),
            _ => None,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        })
    }
}

/// What identifies a virtual service in the kernel's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceKey {
    /// A service on an address, port and protocol (`ipvsadm -t/-u/--sctp-service`).
    Addr {
        /// The virtual address (VIP).
        addr: IpAddr,
        /// The virtual port (0 with persistence means "any port").
        port: u16,
        /// TCP, UDP or SCTP.
        protocol: Protocol,
    },
    /// A service on a firewall mark (`ipvsadm -f`), for one address family.
    Fwmark {
        /// The mark, non-zero.
        mark: u32,
        /// The address family the mark's traffic is in.
        family: Family,
    },
}

impl ServiceKey {
    /// A TCP service on `addr:port`.
    pub fn tcp(addr: impl Into<IpAddr>, port: u16) -> ServiceKey {
        ServiceKey::Addr {
            addr: addr.into(),
            port,
            protocol: Protocol::Tcp,
        }
    }

    /// A UDP service on `addr:port`.
    pub fn udp(addr: impl Into<IpAddr>, port: u16) -> ServiceKey {
        ServiceKey::Addr {
            addr: addr.into(),
            port,
            protocol: Protocol::Udp,
        }
    }

    /// An SCTP service on `addr:port`.
    pub fn sctp(addr: impl Into<IpAddr>, port: u16) -> ServiceKey {
        ServiceKey::Addr {
            addr: addr.into(),
            port,
            protocol: Protocol::Sctp,
        }
    }

    /// A firewall-mark service for IPv4 traffic.
    pub fn fwmark(mark: u32) -> ServiceKey {
        ServiceKey::Fwmark {
            mark,
            family: Family::Inet,
        }
    }

    /// A firewall-mark service for IPv6 traffic.
    pub fn fwmark6(mark: u32) -> ServiceKey {
        ServiceKey::Fwmark {
            mark,
            family: Family::Inet6,
        }
    }

    /// The address family of the service.
    pub fn family(&self) -> Family {
        match self {
            ServiceKey::Addr { addr, .. } => Family::of(addr),
            ServiceKey::Fwmark { family, .. } => *family,
        }
    }
}

/// Formats an address and port the way `ipvsadm -Ln` does (`[v6]:port`).
pub(crate) struct HostPort(pub IpAddr, pub u16);

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V4(a) => write!(f, "{a}:{}", self.1),
            IpAddr::V6(a) => write!(f, "[{a}]:{}", self.1),
        }
    }
}

impl fmt::Display for ServiceKey {
    /// `TCP 10.0.0.1:80`, `UDP [2001:db8::1]:53`, `FWM 7 IPv4`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceKey::Addr {
                addr,
                port,
                protocol,
            } => write!(f, "{protocol} {}", HostPort(*addr, *port)),
            ServiceKey::Fwmark { mark, family } => write!(
                f,
                "FWM {mark} {}",
                match family {
                    Family::Inet => "IPv4",
                    Family::Inet6 => "IPv6",
                }
            ),
        }
    }
}

/// Service flags (`IP_VS_SVC_F_*`).
///
/// The scheduler flags share bits: `SCHED1` is `sh-fallback` for the `sh`
/// scheduler and `mh-fallback` for `mh`, `SCHED2` is `sh-port` / `mh-port`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ServiceFlags(pub u32);

impl ServiceFlags {
    /// No flags.
    pub const NONE: ServiceFlags = ServiceFlags(0);
    /// `IP_VS_SVC_F_PERSISTENT`: persistent connections (`ipvsadm -p`).
    pub const PERSISTENT: ServiceFlags = ServiceFlags(0x0001);
    /// `IP_VS_SVC_F_HASHED`: set by the kernel on every service in its table.
    pub const HASHED: ServiceFlags = ServiceFlags(0x0002);
    /// `IP_VS_SVC_F_ONEPACKET`: one-packet scheduling (UDP, `ipvsadm -o`).
    pub const ONE_PACKET: ServiceFlags = ServiceFlags(0x0004);
    /// `IP_VS_SVC_F_SCHED1`: scheduler flag 1.
    pub const SCHED1: ServiceFlags = ServiceFlags(0x0008);
    /// `IP_VS_SVC_F_SCHED2`: scheduler flag 2.
    pub const SCHED2: ServiceFlags = ServiceFlags(0x0010);
    /// `IP_VS_SVC_F_SCHED3`: scheduler flag 3.
    pub const SCHED3: ServiceFlags = ServiceFlags(0x0020);
    /// `sh-fallback` (for `sh`): skip overloaded or weight-0 servers.
    pub const SH_FALLBACK: ServiceFlags = Self::SCHED1;
    /// `sh-port` (for `sh`): hash the source port too.
    pub const SH_PORT: ServiceFlags = Self::SCHED2;
    /// `mh-fallback` (for `mh`): skip unavailable servers.
    pub const MH_FALLBACK: ServiceFlags = Self::SCHED1;
    /// `mh-port` (for `mh`): hash the source port too.
    pub const MH_PORT: ServiceFlags = Self::SCHED2;

    /// True if every flag of `other` is set.
    pub fn contains(self, other: ServiceFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// These flags without `other`.
    pub fn without(self, other: ServiceFlags) -> ServiceFlags {
        ServiceFlags(self.0 & !other.0)
    }
}

impl std::ops::BitOr for ServiceFlags {
    type Output = ServiceFlags;
    fn bitor(self, rhs: ServiceFlags) -> ServiceFlags {
        ServiceFlags(self.0 | rhs.0)
    }
}

impl std::ops::BitOrAssign for ServiceFlags {
    fn bitor_assign(&mut self, rhs: ServiceFlags) {
        self.0 |= rhs.0;
    }
}

/// A virtual service: what `ipvsadm -A` / `-E` set.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Service {
    /// Address + port + protocol, or firewall mark.
    pub key: ServiceKey,
    /// The scheduler's name: `rr`, `wrr`, `lc`, `wlc`, `lblc`, `lblcr`,
    /// `dh`, `sh`, `sed`, `nq`, `fo`, `ovf`, `mh`, `twos`, ... The kernel
    /// loads `ip_vs_<name>` on demand; a name it has no module for is
    /// [`crate::Error::SchedulerUnavailable`].
    pub scheduler: String,
    /// Service flags. [`ServiceFlags::HASHED`] is the kernel's own and is
    /// ignored when sent.
    pub flags: ServiceFlags,
    /// The persistence timeout in seconds (meaningful with
    /// [`ServiceFlags::PERSISTENT`]).
    pub timeout: u32,
    /// The persistence granularity as a prefix length: clients in the same
    /// `/netmask` stick to the same real server (32 or 128: per address).
    pub netmask: u8,
    /// The persistence engine (`sip`), if any.
    pub pe_name: Option<String>,
}

impl Service {
    /// A service with scheduler `scheduler`, no flags, no persistence, and
    /// a netmask of the whole address.
    pub fn new(key: ServiceKey, scheduler: impl Into<String>) -> Service {
        Service {
            key,
            scheduler: scheduler.into(),
            flags: ServiceFlags::NONE,
            timeout: 0,
            netmask: key.family().max_prefix(),
            pe_name: None,
        }
    }

    /// Makes the service persistent for `timeout` seconds (`ipvsadm -p`).
    pub fn persistent(mut self, timeout: u32) -> Service {
        self.flags |= ServiceFlags::PERSISTENT;
        self.timeout = timeout;
        self
    }

    /// Sets the persistence granularity (`ipvsadm -M` as a prefix length).
    pub fn netmask(mut self, prefix_len: u8) -> Service {
        self.netmask = prefix_len;
        self
    }

    /// Adds service flags.
    pub fn flags(mut self, flags: ServiceFlags) -> Service {
        self.flags |= flags;
        self
    }
}

/// Traffic counters and rates of a service or destination.
///
/// Counters come from the 64-bit statistics when the kernel sends them
/// (`IPVS_*_ATTR_STATS64`), else from the 32-bit ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Stats {
    /// Connections scheduled.
    pub conns: u64,
    /// Packets in (client to real server).
    pub in_packets: u64,
    /// Packets out (real server to client).
    pub out_packets: u64,
    /// Bytes in.
    pub in_bytes: u64,
    /// Bytes out.
    pub out_bytes: u64,
    /// Connections per second (rate estimate).
    pub cps: u64,
    /// Packets in per second.
    pub in_pps: u64,
    /// Packets out per second.
    pub out_pps: u64,
    /// Bytes in per second.
    pub in_bps: u64,
    /// Bytes out per second.
    pub out_bps: u64,
}

/// A service as the kernel lists it: its settings and its statistics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceEntry {
    /// The settings.
    pub service: Service,
    /// The statistics.
    pub stats: Stats,
}

/// The IP-in-IP family of tunnels (`IP_VS_CONN_F_TUNNEL_TYPE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TunnelType {
    /// Plain IP-in-IP (the default; `ipvsadm --tun-type ipip`).
    Ipip,
    /// Generic UDP Encapsulation to a UDP port (`--tun-type gue`).
    Gue,
    /// GRE (`--tun-type gre`).
    Gre,
}

impl TunnelType {
    /// The `IP_VS_CONN_F_TUNNEL_TYPE_*` number.
    pub fn to_raw(self) -> u8 {
        match self {
            TunnelType::Ipip => 0,
            TunnelType::Gue => 1,
            TunnelType::Gre => 2,
        }
    }

    /// The tunnel type for a number, if known.
    pub fn from_raw(raw: u8) -> Option<TunnelType> {
        match raw {
            0 => Some(TunnelType::Ipip),
            1 => Some(TunnelType::Gue),
            2 => Some(TunnelType::Gre),
            _ => None,
        }
    }
}

/// Tunnel encapsulation flags (`IP_VS_TUNNEL_ENCAP_FLAG_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TunnelFlags(pub u16);

impl TunnelFlags {
    /// No checksum (`--tun-nocsum`).
    pub const NOCSUM: TunnelFlags = TunnelFlags(0);
    /// Outer checksum (`--tun-csum`).
    pub const CSUM: TunnelFlags = TunnelFlags(1);
    /// Remote checksum offload (`--tun-remcsum`, GUE only).
    pub const REMCSUM: TunnelFlags = TunnelFlags(2);
}

/// A tunnel's settings for [`ForwardMethod::Tunnel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tunnel {
    /// IPIP, GUE or GRE.
    pub kind: TunnelType,
    /// The GUE destination port (required for GUE, 0 otherwise).
    pub port: u16,
    /// Checksum flags (GUE and GRE).
    pub flags: TunnelFlags,
}

impl Tunnel {
    /// Plain IP-in-IP.
    pub const IPIP: Tunnel = Tunnel {
        kind: TunnelType::Ipip,
        port: 0,
        flags: TunnelFlags::NOCSUM,
    };
}

/// How packets reach a destination (`IP_VS_CONN_F_*` forwarding methods).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ForwardMethod {
    /// NAT / masquerading (`ipvsadm -m`, keepalived `lb_kind NAT`).
    Masq,
    /// Direct routing / gatewaying (`-g`, `lb_kind DR`).
    Route,
    /// IP tunnelling (`-i`, `lb_kind TUN`), with its encapsulation.
    Tunnel(Tunnel),
    /// The director itself (`IP_VS_CONN_F_LOCALNODE`).
    Local,
    /// Bypass (`IP_VS_CONN_F_BYPASS`; the kernel's cache bypass).
    Bypass,
}

impl ForwardMethod {
    /// The `IP_VS_CONN_F_*` forwarding number.
    pub fn to_raw(self) -> u32 {
        match self {
            ForwardMethod::Masq => 0,
            ForwardMethod::Local => 1,
            ForwardMethod::Tunnel(_) => 2,
            ForwardMethod::Route => 3,
            ForwardMethod::Bypass => 4,
        }
    }
}

/// A destination (real server) of a service: what `ipvsadm -a` / `-e` set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Destination {
    /// The real server's address (its family may differ from the
    /// service's only for tunnels).
    pub addr: IpAddr,
    /// The real server's port (the kernel uses the service's port for
    /// direct routing and tunnels).
    pub port: u16,
    /// The forwarding method.
    pub forward: ForwardMethod,
    /// The weight (0: no new connections).
    pub weight: u32,
    /// Upper connection threshold (0: none).
    pub upper_threshold: u32,
    /// Lower connection threshold (0: none).
    pub lower_threshold: u32,
}

impl Destination {
    /// A destination with weight 1 and no thresholds.
    pub fn new(addr: impl Into<IpAddr>, port: u16, forward: ForwardMethod) -> Destination {
        Destination {
            addr: addr.into(),
            port,
            forward,
            weight: 1,
            upper_threshold: 0,
            lower_threshold: 0,
        }
    }

    /// Sets the weight.
    pub fn weight(mut self, weight: u32) -> Destination {
        self.weight = weight;
        self
    }

    /// Sets the lower and upper connection thresholds.
    pub fn thresholds(mut self, lower: u32, upper: u32) -> Destination {
        self.lower_threshold = lower;
        self.upper_threshold = upper;
        self
    }
}

/// A destination as the kernel lists it: its settings, connection counts
/// and statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DestinationEntry {
    /// The settings.
    pub destination: Destination,
    /// Active connections (`ActiveConn`).
    pub active_conns: u32,
    /// Inactive connections (`InActConn`).
    pub inactive_conns: u32,
    /// Persistence templates pointing at this destination.
    pub persist_conns: u32,
    /// The statistics.
    pub stats: Stats,
}

/// The role of a connection-sync daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SyncState {
    /// Sends connection state (`IP_VS_STATE_MASTER`).
    Master,
    /// Receives connection state (`IP_VS_STATE_BACKUP`).
    Backup,
}

impl SyncState {
    /// The `IP_VS_STATE_*` number.
    pub fn to_raw(self) -> u32 {
        match self {
            SyncState::Master => 1,
            SyncState::Backup => 2,
        }
    }

    /// The state for a number, if it is one.
    pub fn from_raw(raw: u32) -> Option<SyncState> {
        match raw {
            1 => Some(SyncState::Master),
            2 => Some(SyncState::Backup),
            _ => None,
        }
    }
}

impl fmt::Display for SyncState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SyncState::Master => "master",
            SyncState::Backup => "backup",
        })
    }
}

/// A connection-sync daemon (`ipvsadm --start-daemon`).
///
/// The optional settings are left to the kernel's defaults when `None`
/// (multicast group 224.0.0.81, port 8848, TTL 1, payload from the MTU);
/// the kernel reports all of them when listing.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SyncDaemon {
    /// Master or backup.
    pub state: SyncState,
    /// The multicast interface (`--mcast-interface`).
    pub ifname: String,
    /// The sync id (`--syncid`, 0..=255 in practice).
    pub sync_id: u32,
    /// The UDP payload size (`--sync-maxlen`).
    pub max_len: Option<u16>,
    /// The multicast group (`--mcast-group`), IPv4 or IPv6.
    pub mcast_group: Option<IpAddr>,
    /// The UDP port (`--mcast-port`).
    pub mcast_port: Option<u16>,
    /// The multicast TTL (`--mcast-ttl`).
    pub mcast_ttl: Option<u8>,
}

impl SyncDaemon {
    /// A daemon with the kernel's defaults for everything optional.
    pub fn new(state: SyncState, ifname: impl Into<String>, sync_id: u32) -> SyncDaemon {
        SyncDaemon {
            state,
            ifname: ifname.into(),
            sync_id,
            max_len: None,
            mcast_group: None,
            mcast_port: None,
            mcast_ttl: None,
        }
    }
}

/// Connection timeouts in seconds (`ipvsadm --set tcp tcpfin udp`).
///
/// When set, 0 means "leave unchanged".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Timeouts {
    /// Established TCP connections.
    pub tcp: u32,
    /// TCP connections after a FIN.
    pub tcp_fin: u32,
    /// UDP "connections".
    pub udp: u32,
}

/// General IPVS information (`ipvsadm -Ln`'s first line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Info {
    /// The IPVS version as `0x00MMmmpp` (e.g. `0x010201` for 1.2.1).
    pub version: u32,
    /// The size of the connection hash table.
    pub conn_table_size: u32,
}

impl Info {
    /// The version as (major, minor, patch).
    pub fn version_triple(&self) -> (u8, u8, u8) {
        let [_, a, b, c] = self.version.to_be_bytes();
        (a, b, c)
    }
}
