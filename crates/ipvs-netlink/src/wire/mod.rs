//! Sans-IO encoding and decoding of IPVS generic netlink payloads.
//!
//! Everything here works on byte slices and vectors, with no socket: a
//! request is the *payload* of a netlink message (the 4-byte generic
//! netlink header, then attributes), to be sent with the IPVS family id as
//! the netlink message type; an answer is decoded from the same payload.
//! The layouts are those of the kernel's UAPI header
//! `include/uapi/linux/ip_vs.h` (and `genetlink.h` for the controller).
//!
//! Attributes are in host byte order except ports (and the IPv4
//! persistence netmask, and the IPv4 sync group), which are in network
//! byte order, as in the kernel.
//!
//! Decoding never panics: any input gives a value or a [`DecodeError`].
//! Attributes this crate does not know are skipped, so newer kernels can
//! add some.
//!
//! The code is split by concern: [`AttrWriter`] and [`Attrs`] write and
//! read attribute lists, and one file each holds the generic netlink
//! controller, services, destinations, statistics, and the sync daemons
//! with the global settings (timeouts, version).

mod attr;
mod ctrl;
mod daemon;
mod dest;
mod service;
mod stats;
#[cfg(test)]
mod tests;

pub use attr::{Attr, AttrWriter, Attrs, split_genl};
pub use ctrl::{decode_family_id, encode_get_family};
pub use daemon::{
    decode_daemon, decode_info, decode_timeouts, encode_daemon, encode_daemon_answer,
    encode_daemon_stop, encode_info_answer, encode_timeouts, encode_timeouts_answer,
};
pub use dest::{decode_dest, decode_dest_attrs, encode_dest, encode_dest_answer, encode_dest_key};
pub use service::{
    decode_service, decode_service_attrs, encode_service, encode_service_answer, encode_service_key,
};

use crate::types::Family;

/// The generic netlink family name of IPVS (`IPVS_GENL_NAME`).
pub const FAMILY_NAME: &str = "IPVS";
/// `IPVS_GENL_VERSION`.
pub const VERSION: u8 = 1;
/// The generic netlink controller's fixed family id (`GENL_ID_CTRL`).
pub const GENL_ID_CTRL: u16 = 0x10;

/// The length of the generic netlink header (`struct genlmsghdr`).
pub const GENL_HDRLEN: usize = 4;

/// IPVS generic netlink commands (`IPVS_CMD_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Command {
    /// Add a service.
    NewService = 1,
    /// Edit a service.
    SetService = 2,
    /// Delete a service.
    DelService = 3,
    /// Get one service, or dump all.
    GetService = 4,
    /// Add a destination.
    NewDest = 5,
    /// Edit a destination.
    SetDest = 6,
    /// Delete a destination.
    DelDest = 7,
    /// Dump a service's destinations.
    GetDest = 8,
    /// Start a sync daemon.
    NewDaemon = 9,
    /// Stop a sync daemon.
    DelDaemon = 10,
    /// Dump the sync daemons.
    GetDaemon = 11,
    /// Set the timeouts.
    SetConfig = 12,
    /// Get the timeouts.
    GetConfig = 13,
    /// The command of a `GetInfo` answer.
    SetInfo = 14,
    /// Get version and connection table size.
    GetInfo = 15,
    /// Zero the counters.
    Zero = 16,
    /// Remove every service.
    Flush = 17,
}

/// Top-level attributes (`IPVS_CMD_ATTR_*`).
mod cmd_attr {
    pub(super) const SERVICE: u16 = 1;
    pub(super) const DEST: u16 = 2;
    pub(super) const DAEMON: u16 = 3;
    pub(super) const TIMEOUT_TCP: u16 = 4;
    pub(super) const TIMEOUT_TCP_FIN: u16 = 5;
    pub(super) const TIMEOUT_UDP: u16 = 6;
}

/// `IP_VS_SCHEDNAME_MAXLEN` and `IP_VS_PENAME_MAXLEN`, including the NUL.
pub const SCHED_NAME_MAXLEN: usize = 16;
/// `IP_VS_IFNAME_MAXLEN`, including the NUL.
pub const IFNAME_MAXLEN: usize = 16;

/// Why bytes from the kernel could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The payload is shorter than its headers say.
    #[error("truncated {0}")]
    Truncated(&'static str),
    /// An attribute has the wrong size.
    #[error("attribute {attr} has {len} bytes, expected {expected}")]
    BadLength {
        /// The attribute's name.
        attr: &'static str,
        /// Its length.
        len: usize,
        /// What was expected.
        expected: &'static str,
    },
    /// A required attribute is missing.
    #[error("missing attribute {0}")]
    Missing(&'static str),
    /// An attribute has a value this crate cannot represent.
    #[error("attribute {attr} has an unknown value {value}")]
    BadValue {
        /// The attribute's name.
        attr: &'static str,
        /// The value.
        value: u64,
    },
    /// A text attribute is not NUL-terminated UTF-8.
    #[error("attribute {0} is not a NUL-terminated string")]
    BadString(&'static str),
    /// The message is an answer to another command.
    #[error("unexpected command {0}")]
    UnexpectedCommand(u8),
}

/// A request that carries no attributes (`GetInfo`, `GetConfig`, `Flush`,
/// `Zero`, and dumps of services or daemons).
pub fn encode_empty(cmd: Command) -> Vec<u8> {
    attr::message(cmd, |_| {})
}

/// Decodes `data` as every kind of IPVS answer; for the fuzzer and for
/// tests. Never panics; a successful decode re-encodes and decodes to the
/// same value.
#[doc(hidden)]
pub fn fuzz_decode(data: &[u8]) {
    if let Ok(e) = decode_service(data) {
        let again = decode_service(&encode_service_answer(&e));
        assert_eq!(again.as_ref().ok(), Some(&e), "service round trip");
    }
    for fam in [Family::Inet, Family::Inet6] {
        if let Ok(e) = decode_dest(data, fam) {
            let again = decode_dest(&encode_dest_answer(&e), fam);
            assert_eq!(again.as_ref().ok(), Some(&e), "destination round trip");
        }
    }
    if let Ok(d) = decode_daemon(data) {
        let again = decode_daemon(&encode_daemon_answer(&d));
        assert_eq!(again.as_ref().ok(), Some(&d), "daemon round trip");
    }
    let _ = decode_timeouts(data);
    let _ = decode_info(data);
    let _ = decode_family_id(data);
    for a in Attrs::new(data).flatten() {
        let _ = a.str("x");
        let _ = a.inet_addr("x", Family::Inet6);
    }
}
