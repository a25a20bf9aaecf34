//! The crate's error type: every variant names the operation, the interface
//! (or other object) and carries the OS error that made it fail.

use std::io;
use std::net::IpAddr;

pub(crate) use vrrp_proto::Family;

/// Everything that can go wrong in netif.
///
/// Kernel and netlink failures keep the OS error (`source`), so callers can
/// match on [`io::Error::raw_os_error`]. Netlink messages the kernel sent but
/// that could not be decoded are reported as [`io::ErrorKind::InvalidData`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No interface has this name.
    #[error("no interface named {name:?}")]
    NoSuchInterface {
        /// The name looked up.
        name: String,
    },
    /// The interface has no address usable as a VRRP source address
    /// (a primary IPv4 address, or an IPv6 link-local address).
    #[error("interface {ifindex} has no {family} source address")]
    NoSourceAddress {
        /// The interface.
        ifindex: u32,
        /// Which family was missing.
        family: Family,
    },
    /// Opening a socket failed.
    #[error("opening {what} socket on interface {ifindex}: {source}")]
    OpenSocket {
        /// Which kind of socket.
        what: &'static str,
        /// The interface it was for (0: none yet).
        ifindex: u32,
        /// The OS error.
        source: io::Error,
    },
    /// A unicast peer's family differs from the socket's.
    #[error("unicast peer {peer} on interface {ifindex} is not of the socket's family")]
    PeerFamily {
        /// The interface.
        ifindex: u32,
        /// The peer.
        peer: IpAddr,
    },
    /// Setting a socket option failed.
    #[error("setting {option} on interface {ifindex}: {source}")]
    SetSockOpt {
        /// The option, e.g. `"IP_ADD_MEMBERSHIP"`.
        option: &'static str,
        /// The interface the socket serves.
        ifindex: u32,
        /// The OS error.
        source: io::Error,
    },
    /// Sending a VRRP packet failed.
    #[error("sending VRRP to {dst} on interface {ifindex}: {source}")]
    Send {
        /// The interface.
        ifindex: u32,
        /// The destination address.
        dst: IpAddr,
        /// The OS error.
        source: io::Error,
    },
    /// Receiving from a socket failed (other than `WouldBlock`).
    #[error("receiving on interface {ifindex}: {source}")]
    Recv {
        /// The interface.
        ifindex: u32,
        /// The OS error.
        source: io::Error,
    },
    /// Sending a gratuitous ARP failed.
    #[error("sending gratuitous ARP for {addr} on interface {ifindex}: {source}")]
    SendGarp {
        /// The interface.
        ifindex: u32,
        /// The announced address.
        addr: std::net::Ipv4Addr,
        /// The OS error.
        source: io::Error,
    },
    /// Sending an unsolicited neighbour advertisement failed.
    #[error("sending unsolicited NA for {addr} on interface {ifindex}: {source}")]
    SendNa {
        /// The interface.
        ifindex: u32,
        /// The announced address.
        addr: std::net::Ipv6Addr,
        /// The OS error.
        source: io::Error,
    },
    /// Opening or configuring a netlink socket failed.
    #[error("netlink socket: {source}")]
    NetlinkSocket {
        /// The OS error.
        source: io::Error,
    },
    /// Adding an address failed.
    #[error("adding {addr}/{prefix_len} to interface {ifindex}: {source}")]
    AddAddr {
        /// The interface.
        ifindex: u32,
        /// The address.
        addr: IpAddr,
        /// Its prefix length.
        prefix_len: u8,
        /// The OS error.
        source: io::Error,
    },
    /// Adding or removing a route failed.
    #[error("{op} route {route}: {source}")]
    Route {
        /// `adding` or `removing`.
        op: &'static str,
        /// The route.
        route: crate::route::Route,
        /// The OS error.
        source: io::Error,
    },
    /// Adding or removing a routing policy rule failed.
    #[error("{op} rule {rule}: {source}")]
    Rule {
        /// `adding` or `removing`.
        op: &'static str,
        /// The rule (boxed: it is the largest field of any error).
        rule: Box<crate::rule::Rule>,
        /// The OS error.
        source: io::Error,
    },
    /// Removing an address failed.
    #[error("removing {addr}/{prefix_len} from interface {ifindex}: {source}")]
    DelAddr {
        /// The interface.
        ifindex: u32,
        /// The address.
        addr: IpAddr,
        /// Its prefix length.
        prefix_len: u8,
        /// The OS error.
        source: io::Error,
    },
    /// Listing addresses failed.
    #[error("listing addresses of interface {ifindex}: {source}")]
    ListAddrs {
        /// The interface (0: all interfaces).
        ifindex: u32,
        /// The OS error.
        source: io::Error,
    },
    /// Reading an interface's link attributes failed.
    #[error("reading link of interface {ifindex}: {source}")]
    GetLink {
        /// The interface.
        ifindex: u32,
        /// The OS error.
        source: io::Error,
    },
    /// An IPv4 address label does not fit the kernel's rules.
    #[error(
        "invalid address label {label:?} for interface {ifname:?}: it must start with the interface name and be at most 15 bytes"
    )]
    InvalidLabel {
        /// The label given.
        label: String,
        /// The interface's name.
        ifname: String,
    },
    /// An address label was given for an IPv6 address (the kernel has
    /// labels for IPv4 only).
    #[error("address labels exist for IPv4 only, not for {addr}")]
    LabelOnIpv6 {
        /// The IPv6 address.
        addr: IpAddr,
    },
    /// A prefix length is too long for the family.
    #[error("prefix length {prefix_len} is too long for {addr}")]
    InvalidPrefixLen {
        /// The address.
        addr: IpAddr,
        /// The prefix length given.
        prefix_len: u8,
    },
    /// An interface name is empty, too long or contains `/`, NUL or spaces.
    #[error("invalid interface name {name:?}")]
    InvalidIfName {
        /// The name given.
        name: String,
    },
    /// Creating a macvlan interface failed.
    #[error("creating macvlan {name:?} on interface {parent}: {source}")]
    CreateMacvlan {
        /// The new interface's name.
        name: String,
        /// The parent interface.
        parent: u32,
        /// The OS error.
        source: io::Error,
    },
    /// Deleting an interface failed.
    #[error("deleting interface {ifindex}: {source}")]
    DelLink {
        /// The interface.
        ifindex: u32,
        /// The OS error.
        source: io::Error,
    },
    /// A frame or message could not be encoded (a bug in the caller's
    /// arguments, e.g. an advert whose family does not match the socket).
    #[error("encoding {what}: {source}")]
    Emit {
        /// What was being encoded.
        what: &'static str,
        /// The codec's error.
        source: vrrp_proto::EmitError,
    },
    /// A router configuration was rejected (executor only).
    #[cfg(feature = "executor")]
    #[error("invalid router configuration: {source}")]
    Config {
        /// Why.
        source: vrrp_fsm::ConfigError,
    },
    /// Reading or writing a sysctl (e.g. `arp_ignore`) failed.
    #[error("sysctl {path}: {source}")]
    Sysctl {
        /// The `/proc/sys` file.
        path: String,
        /// The OS error.
        source: io::Error,
    },
    /// The combination asked for is not supported.
    #[error("not supported: {what}")]
    Unsupported {
        /// What.
        what: &'static str,
    },
    /// Reading link/address events failed.
    #[error("reading netlink events: {source}")]
    Events {
        /// The OS error.
        source: io::Error,
    },
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
