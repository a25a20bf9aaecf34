//! Destinations (real servers): requests that add, edit or delete one,
//! and the kernel's answers that list a service's destinations.

use std::net::IpAddr;

use super::attr::{AttrWriter, Attrs, expect_cmd, family_attr, message, nested};
use super::service::put_service_key_nest;
use super::stats::{pick_stats, put_stats};
use super::{Command, DecodeError, cmd_attr};
use crate::types::{
    Destination, DestinationEntry, Family, ForwardMethod, ServiceKey, Tunnel, TunnelFlags,
    TunnelType,
};

/// Destination attributes (`IPVS_DEST_ATTR_*`).
mod dest_attr {
    pub(super) const ADDR: u16 = 1;
    pub(super) const PORT: u16 = 2;
    pub(super) const FWD_METHOD: u16 = 3;
    pub(super) const WEIGHT: u16 = 4;
    pub(super) const U_THRESH: u16 = 5;
    pub(super) const L_THRESH: u16 = 6;
    pub(super) const ACTIVE_CONNS: u16 = 7;
    pub(super) const INACT_CONNS: u16 = 8;
    pub(super) const PERSIST_CONNS: u16 = 9;
    pub(super) const STATS: u16 = 10;
    pub(super) const ADDR_FAMILY: u16 = 11;
    pub(super) const STATS64: u16 = 12;
    pub(super) const TUN_TYPE: u16 = 13;
    pub(super) const TUN_PORT: u16 = 14;
    pub(super) const TUN_FLAGS: u16 = 15;
}

/// `IP_VS_CONN_F_FWD_MASK`.
const FWD_MASK: u32 = 0x7;

/// `NewDest` or `SetDest`: destination `dest` of service `key`, every
/// setting included.
pub fn encode_dest(cmd: Command, key: &ServiceKey, dest: &Destination) -> Vec<u8> {
    let tunnel = match dest.forward {
        ForwardMethod::Tunnel(t) => Some(t),
        _ => None,
    };
    message(cmd, |w| {
        put_service_key_nest(w, key);
        w.nest(cmd_attr::DEST, |w| {
            w.put_u16(dest_attr::ADDR_FAMILY, Family::of(&dest.addr).to_raw());
            put_dest(w, dest, tunnel);
        });
    })
}

/// `DelDest`: destination `addr:port` of service `key`.
pub fn encode_dest_key(cmd: Command, key: &ServiceKey, addr: IpAddr, port: u16) -> Vec<u8> {
    message(cmd, |w| {
        put_service_key_nest(w, key);
        w.nest(cmd_attr::DEST, |w| {
            w.put_u16(dest_attr::ADDR_FAMILY, Family::of(&addr).to_raw());
            w.put_inet_addr(dest_attr::ADDR, addr);
            w.put_be16(dest_attr::PORT, port);
        });
    })
}

/// Every setting of `d`, with the tunnel attributes of `tunnel` if there
/// is one.
fn put_dest(w: &mut AttrWriter, d: &Destination, tunnel: Option<Tunnel>) {
    w.put_inet_addr(dest_attr::ADDR, d.addr);
    w.put_be16(dest_attr::PORT, d.port);
    w.put_u32(dest_attr::FWD_METHOD, d.forward.to_raw());
    w.put_u32(dest_attr::WEIGHT, d.weight);
    if let Some(t) = tunnel {
        w.put_u8(dest_attr::TUN_TYPE, t.kind.to_raw());
        w.put_be16(dest_attr::TUN_PORT, t.port);
        w.put_u16(dest_attr::TUN_FLAGS, t.flags.0);
    }
    w.put_u32(dest_attr::U_THRESH, d.upper_threshold);
    w.put_u32(dest_attr::L_THRESH, d.lower_threshold);
}

/// Decodes the nested destination attributes; `service_family` is used
/// when the kernel does not say the destination's own family.
pub fn decode_dest_attrs(
    bytes: &[u8],
    service_family: Family,
) -> Result<DestinationEntry, DecodeError> {
    let mut addr = None;
    let mut af = None;
    let mut port = None;
    let mut fwd = None;
    let mut weight = None;
    let mut uth = 0;
    let mut lth = 0;
    let mut active = 0;
    let mut inactive = 0;
    let mut persist = 0;
    let mut tun_type = 0;
    let mut tun_port = 0;
    let mut tun_flags = 0;
    let mut s32 = None;
    let mut s64 = None;
    for a in Attrs::new(bytes) {
        let a = a?;
        match a.ty {
            dest_attr::ADDR => addr = Some(a),
            dest_attr::PORT => port = Some(a.be16("IPVS_DEST_ATTR_PORT")?),
            dest_attr::FWD_METHOD => fwd = Some(a.u32("IPVS_DEST_ATTR_FWD_METHOD")?),
            dest_attr::WEIGHT => weight = Some(a.u32("IPVS_DEST_ATTR_WEIGHT")?),
            dest_attr::U_THRESH => uth = a.u32("IPVS_DEST_ATTR_U_THRESH")?,
            dest_attr::L_THRESH => lth = a.u32("IPVS_DEST_ATTR_L_THRESH")?,
            dest_attr::ACTIVE_CONNS => active = a.u32("IPVS_DEST_ATTR_ACTIVE_CONNS")?,
            dest_attr::INACT_CONNS => inactive = a.u32("IPVS_DEST_ATTR_INACT_CONNS")?,
            dest_attr::PERSIST_CONNS => persist = a.u32("IPVS_DEST_ATTR_PERSIST_CONNS")?,
            dest_attr::STATS => s32 = Some(a.payload),
            dest_attr::ADDR_FAMILY => af = Some(family_attr(&a, "IPVS_DEST_ATTR_ADDR_FAMILY")?),
            dest_attr::STATS64 => s64 = Some(a.payload),
            dest_attr::TUN_TYPE => tun_type = a.u8("IPVS_DEST_ATTR_TUN_TYPE")?,
            dest_attr::TUN_PORT => tun_port = a.be16("IPVS_DEST_ATTR_TUN_PORT")?,
            dest_attr::TUN_FLAGS => tun_flags = a.u16("IPVS_DEST_ATTR_TUN_FLAGS")?,
            _ => {}
        }
    }
    let family = af.unwrap_or(service_family);
    let addr = addr
        .ok_or(DecodeError::Missing("IPVS_DEST_ATTR_ADDR"))?
        .inet_addr("IPVS_DEST_ATTR_ADDR", family)?;
    let fwd = fwd.ok_or(DecodeError::Missing("IPVS_DEST_ATTR_FWD_METHOD"))?;
    let forward = match fwd & FWD_MASK {
        0 => ForwardMethod::Masq,
        1 => ForwardMethod::Local,
        2 => ForwardMethod::Tunnel(Tunnel {
            kind: TunnelType::from_raw(tun_type).ok_or(DecodeError::BadValue {
                attr: "IPVS_DEST_ATTR_TUN_TYPE",
                value: u64::from(tun_type),
            })?,
            port: tun_port,
            flags: TunnelFlags(tun_flags),
        }),
        3 => ForwardMethod::Route,
        4 => ForwardMethod::Bypass,
        other => {
            return Err(DecodeError::BadValue {
                attr: "IPVS_DEST_ATTR_FWD_METHOD",
                value: u64::from(other),
            });
        }
    };
    Ok(DestinationEntry {
        destination: Destination {
            addr,
            port: port.ok_or(DecodeError::Missing("IPVS_DEST_ATTR_PORT"))?,
            forward,
            weight: weight.ok_or(DecodeError::Missing("IPVS_DEST_ATTR_WEIGHT"))?,
            upper_threshold: uth,
            lower_threshold: lth,
        },
        active_conns: active,
        inactive_conns: inactive,
        persist_conns: persist,
        stats: pick_stats(s32, s64)?,
    })
}

/// Decodes one destination of a `GetDest` answer (command `NewDest`).
pub fn decode_dest(
    payload: &[u8],
    service_family: Family,
) -> Result<DestinationEntry, DecodeError> {
    let attrs = expect_cmd(payload, Command::NewDest)?;
    decode_dest_attrs(
        nested(attrs, cmd_attr::DEST, "IPVS_CMD_ATTR_DEST")?,
        service_family,
    )
}

/// Encodes `entry` the way the kernel answers `GetDest`.
pub fn encode_dest_answer(entry: &DestinationEntry) -> Vec<u8> {
    let d = &entry.destination;
    // The kernel always sends the tunnel attributes (IPIP's when the
    // destination has no tunnel).
    let tunnel = match d.forward {
        ForwardMethod::Tunnel(t) => t,
        _ => Tunnel::IPIP,
    };
    message(Command::NewDest, |w| {
        w.nest(cmd_attr::DEST, |w| {
            put_dest(w, d, Some(tunnel));
            w.put_u32(dest_attr::ACTIVE_CONNS, entry.active_conns);
            w.put_u32(dest_attr::INACT_CONNS, entry.inactive_conns);
            w.put_u32(dest_attr::PERSIST_CONNS, entry.persist_conns);
            w.put_u16(dest_attr::ADDR_FAMILY, Family::of(&d.addr).to_raw());
            put_stats(w, dest_attr::STATS, dest_attr::STATS64, &entry.stats);
        });
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::tests::{sample_stats, v4};
    use crate::wire::{VERSION, split_genl};
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// `ipvsadm -a -t 10.0.0.1:80 -r 10.0.1.2:8080 -m -w 3 -x 10 -y 5`.
    #[cfg(target_endian = "little")]
    #[test]
    fn new_dest_golden_bytes() {
        let key = ServiceKey::tcp(Ipv4Addr::new(10, 0, 0, 1), 80);
        let d = Destination::new(Ipv4Addr::new(10, 0, 1, 2), 8080, ForwardMethod::Masq)
            .weight(3)
            .thresholds(5, 10);
        let got = encode_dest(Command::NewDest, &key, &d);
        #[rustfmt::skip]
        let want: Vec<u8> = vec![
            0x05, 0x01, 0x00, 0x00,
            0x30, 0x00, 0x01, 0x80,             // SERVICE (key only), 48 bytes
            0x06, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00,
            0x06, 0x00, 0x02, 0x00, 0x06, 0x00, 0x00, 0x00,
            0x14, 0x00, 0x03, 0x00, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0x06, 0x00, 0x04, 0x00, 0x00, 0x50, 0x00, 0x00,
            0x48, 0x00, 0x02, 0x80,             // DEST, 72 bytes
            0x06, 0x00, 0x0b, 0x00, 0x02, 0x00, 0x00, 0x00, // ADDR_FAMILY
            0x14, 0x00, 0x01, 0x00, 10, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0x06, 0x00, 0x02, 0x00, 0x1f, 0x90, 0x00, 0x00, // PORT 8080
            0x08, 0x00, 0x03, 0x00, 0, 0, 0, 0,             // FWD_METHOD = MASQ
            0x08, 0x00, 0x04, 0x00, 3, 0, 0, 0,             // WEIGHT
            0x08, 0x00, 0x05, 0x00, 10, 0, 0, 0,            // U_THRESH
            0x08, 0x00, 0x06, 0x00, 5, 0, 0, 0,             // L_THRESH
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn destinations_round_trip() {
        let tunnels = [
            ForwardMethod::Masq,
            ForwardMethod::Route,
            ForwardMethod::Local,
            ForwardMethod::Bypass,
            ForwardMethod::Tunnel(Tunnel::IPIP),
            ForwardMethod::Tunnel(Tunnel {
                kind: TunnelType::Gue,
                port: 6080,
                flags: TunnelFlags::REMCSUM,
            }),
            ForwardMethod::Tunnel(Tunnel {
                kind: TunnelType::Gre,
                port: 0,
                flags: TunnelFlags::CSUM,
            }),
        ];
        for (i, fwd) in tunnels.into_iter().enumerate() {
            let addr = if i % 2 == 0 {
                v4(10, 0, 0, i as u8)
            } else {
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, i as u16))
            };
            let entry = DestinationEntry {
                destination: Destination::new(addr, 8000 + i as u16, fwd)
                    .weight(i as u32)
                    .thresholds(2, 20),
                active_conns: 1,
                inactive_conns: 2,
                persist_conns: 3,
                stats: sample_stats(),
            };
            let bytes = encode_dest_answer(&entry);
            // The destination's own family wins over the service's.
            assert_eq!(decode_dest(&bytes, Family::Inet), Ok(entry));
            let req = encode_dest(Command::NewDest, &ServiceKey::fwmark(1), &entry.destination);
            let (_, attrs) = split_genl(&req).expect("header");
            let inner = nested(attrs, cmd_attr::DEST, "dest").expect("nested");
            assert_eq!(
                decode_dest_attrs(inner, Family::Inet).map(|e| e.destination),
                Ok(entry.destination)
            );
        }
    }

    #[test]
    fn stats_fall_back_to_32_bit_set() {
        let mut w = AttrWriter::genl(Command::NewDest as u8, VERSION);
        let n = w.begin_nested(cmd_attr::DEST);
        w.put_inet_addr(dest_attr::ADDR, v4(1, 2, 3, 4));
        w.put_be16(dest_attr::PORT, 80);
        w.put_u32(dest_attr::FWD_METHOD, 3);
        w.put_u32(dest_attr::WEIGHT, 1);
        let s = w.begin_nested(dest_attr::STATS);
        w.put_u32(1, 42);
        w.put(4, &99u64.to_ne_bytes());
        w.end_nested(s);
        w.end_nested(n);
        let e = decode_dest(&w.finish(), Family::Inet).expect("decodes");
        assert_eq!(e.stats.conns, 42);
        assert_eq!(e.stats.in_bytes, 99);
        assert_eq!(e.destination.forward, ForwardMethod::Route);
    }
}
