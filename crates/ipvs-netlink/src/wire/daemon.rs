//! The director's global state: connection-sync daemons (start, stop,
//! list), connection timeouts (get, set) and version information.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::attr::{AttrWriter, Attrs, expect_cmd, message, nested, require};
use super::{Command, DecodeError, cmd_attr};
use crate::types::{Info, SyncDaemon, SyncState, Timeouts};

/// Sync daemon attributes (`IPVS_DAEMON_ATTR_*`).
mod daemon_attr {
    pub(super) const STATE: u16 = 1;
    pub(super) const MCAST_IFN: u16 = 2;
    pub(super) const SYNC_ID: u16 = 3;
    pub(super) const SYNC_MAXLEN: u16 = 4;
    pub(super) const MCAST_GROUP: u16 = 5;
    pub(super) const MCAST_GROUP6: u16 = 6;
    pub(super) const MCAST_PORT: u16 = 7;
    pub(super) const MCAST_TTL: u16 = 8;
}

/// Info attributes (`IPVS_INFO_ATTR_*`).
pub(super) mod info_attr {
    pub(in crate::wire) const VERSION: u16 = 1;
    pub(in crate::wire) const CONN_TAB_SIZE: u16 = 2;
}

/// `NewDaemon`: start the sync daemon `d`.
pub fn encode_daemon(d: &SyncDaemon) -> Vec<u8> {
    message(Command::NewDaemon, |w| {
        w.nest(cmd_attr::DAEMON, |w| put_daemon(w, d));
    })
}

/// Every setting of sync daemon `d`.
fn put_daemon(w: &mut AttrWriter, d: &SyncDaemon) {
    w.put_u32(daemon_attr::STATE, d.state.to_raw());
    w.put_str(daemon_attr::MCAST_IFN, &d.ifname);
    w.put_u32(daemon_attr::SYNC_ID, d.sync_id);
    if let Some(v) = d.max_len {
        w.put_u16(daemon_attr::SYNC_MAXLEN, v);
    }
    match d.mcast_group {
        Some(IpAddr::V4(a)) => w.put(daemon_attr::MCAST_GROUP, &a.octets()),
        Some(IpAddr::V6(a)) => w.put(daemon_attr::MCAST_GROUP6, &a.octets()),
        None => {}
    }
    if let Some(v) = d.mcast_port {
        w.put_u16(daemon_attr::MCAST_PORT, v);
    }
    if let Some(v) = d.mcast_ttl {
        w.put_u8(daemon_attr::MCAST_TTL, v);
    }
}

/// `DelDaemon`: stop the sync daemon in role `state`.
pub fn encode_daemon_stop(state: SyncState) -> Vec<u8> {
    message(Command::DelDaemon, |w| {
        w.nest(cmd_attr::DAEMON, |w| {
            w.put_u32(daemon_attr::STATE, state.to_raw());
        });
    })
}

/// `SetConfig`: set the timeouts (0 leaves one unchanged).
pub fn encode_timeouts(t: &Timeouts) -> Vec<u8> {
    message(Command::SetConfig, |w| {
        w.put_u32(cmd_attr::TIMEOUT_TCP, t.tcp);
        w.put_u32(cmd_attr::TIMEOUT_TCP_FIN, t.tcp_fin);
        w.put_u32(cmd_attr::TIMEOUT_UDP, t.udp);
    })
}

/// Decodes one daemon of a `GetDaemon` answer (command `NewDaemon`).
pub fn decode_daemon(payload: &[u8]) -> Result<SyncDaemon, DecodeError> {
    let attrs = expect_cmd(payload, Command::NewDaemon)?;
    let bytes = nested(attrs, cmd_attr::DAEMON, "IPVS_CMD_ATTR_DAEMON")?;
    let mut state = None;
    let mut ifname = None;
    let mut sync_id = None;
    let mut d = SyncDaemon::new(SyncState::Master, "", 0);
    for a in Attrs::new(bytes) {
        let a = a?;
        match a.ty {
            daemon_attr::STATE => {
                let raw = a.u32("IPVS_DAEMON_ATTR_STATE")?;
                state = Some(SyncState::from_raw(raw).ok_or(DecodeError::BadValue {
                    attr: "IPVS_DAEMON_ATTR_STATE",
                    value: u64::from(raw),
                })?);
            }
            daemon_attr::MCAST_IFN => ifname = Some(a.str("IPVS_DAEMON_ATTR_MCAST_IFN")?),
            daemon_attr::SYNC_ID => sync_id = Some(a.u32("IPVS_DAEMON_ATTR_SYNC_ID")?),
            daemon_attr::SYNC_MAXLEN => d.max_len = Some(a.u16("IPVS_DAEMON_ATTR_SYNC_MAXLEN")?),
            daemon_attr::MCAST_GROUP => {
                let b = a.fixed::<4>("IPVS_DAEMON_ATTR_MCAST_GROUP")?;
                d.mcast_group = Some(IpAddr::V4(Ipv4Addr::from(b)));
            }
            daemon_attr::MCAST_GROUP6 => {
                let b = a.fixed::<16>("IPVS_DAEMON_ATTR_MCAST_GROUP6")?;
                d.mcast_group = Some(IpAddr::V6(Ipv6Addr::from(b)));
            }
            daemon_attr::MCAST_PORT => d.mcast_port = Some(a.u16("IPVS_DAEMON_ATTR_MCAST_PORT")?),
            daemon_attr::MCAST_TTL => d.mcast_ttl = Some(a.u8("IPVS_DAEMON_ATTR_MCAST_TTL")?),
            _ => {}
        }
    }
    d.state = state.ok_or(DecodeError::Missing("IPVS_DAEMON_ATTR_STATE"))?;
    d.ifname = ifname
        .ok_or(DecodeError::Missing("IPVS_DAEMON_ATTR_MCAST_IFN"))?
        .to_owned();
    d.sync_id = sync_id.ok_or(DecodeError::Missing("IPVS_DAEMON_ATTR_SYNC_ID"))?;
    Ok(d)
}

/// Decodes a `GetConfig` answer (command `SetConfig`).
pub fn decode_timeouts(payload: &[u8]) -> Result<Timeouts, DecodeError> {
    let attrs = expect_cmd(payload, Command::SetConfig)?;
    let mut t = Timeouts::default();
    for a in Attrs::new(attrs) {
        let a = a?;
        match a.ty {
            cmd_attr::TIMEOUT_TCP => t.tcp = a.u32("IPVS_CMD_ATTR_TIMEOUT_TCP")?,
            cmd_attr::TIMEOUT_TCP_FIN => t.tcp_fin = a.u32("IPVS_CMD_ATTR_TIMEOUT_TCP_FIN")?,
            cmd_attr::TIMEOUT_UDP => t.udp = a.u32("IPVS_CMD_ATTR_TIMEOUT_UDP")?,
            _ => {}
        }
    }
    Ok(t)
}

/// Decodes a `GetInfo` answer (command `SetInfo`).
pub fn decode_info(payload: &[u8]) -> Result<Info, DecodeError> {
    let attrs = expect_cmd(payload, Command::SetInfo)?;
    let version = require(attrs, info_attr::VERSION, "IPVS_INFO_ATTR_VERSION")?
        .u32("IPVS_INFO_ATTR_VERSION")?;
    let conn_table_size = require(
        attrs,
        info_attr::CONN_TAB_SIZE,
        "IPVS_INFO_ATTR_CONN_TAB_SIZE",
    )?
    .u32("IPVS_INFO_ATTR_CONN_TAB_SIZE")?;
    Ok(Info {
        version,
        conn_table_size,
    })
}

/// Encodes `d` the way the kernel answers `GetDaemon`.
pub fn encode_daemon_answer(d: &SyncDaemon) -> Vec<u8> {
    let mut b = encode_daemon(d);
    if let Some(c) = b.first_mut() {
        *c = Command::NewDaemon as u8;
    }
    b
}

/// Encodes `t` the way the kernel answers `GetConfig`.
pub fn encode_timeouts_answer(t: &Timeouts) -> Vec<u8> {
    encode_timeouts(t)
}

/// Encodes `i` the way the kernel answers `GetInfo`.
pub fn encode_info_answer(i: &Info) -> Vec<u8> {
    message(Command::SetInfo, |w| {
        w.put_u32(info_attr::VERSION, i.version);
        w.put_u32(info_attr::CONN_TAB_SIZE, i.conn_table_size);
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::tests::v4;

    #[test]
    fn daemons_timeouts_info_round_trip() {
        let mut d = SyncDaemon::new(SyncState::Backup, "eth1", 9);
        assert_eq!(decode_daemon(&encode_daemon_answer(&d)), Ok(d.clone()));
        d.max_len = Some(1472);
        d.mcast_group = Some("ff02::8".parse().expect("addr"));
        d.mcast_port = Some(8848);
        d.mcast_ttl = Some(2);
        assert_eq!(decode_daemon(&encode_daemon_answer(&d)), Ok(d.clone()));
        d.mcast_group = Some(v4(224, 0, 0, 81));
        assert_eq!(decode_daemon(&encode_daemon_answer(&d)), Ok(d.clone()));
        // A request is not an answer.
        assert_eq!(
            decode_daemon(&encode_daemon_stop(SyncState::Master)),
            Err(DecodeError::UnexpectedCommand(Command::DelDaemon as u8))
        );

        let t = Timeouts {
            tcp: 900,
            tcp_fin: 120,
            udp: 300,
        };
        assert_eq!(decode_timeouts(&encode_timeouts_answer(&t)), Ok(t));
        let i = Info {
            version: 0x010201,
            conn_table_size: 4096,
        };
        assert_eq!(decode_info(&encode_info_answer(&i)), Ok(i));
        assert_eq!(i.version_triple(), (1, 2, 1));
    }
}
