//! Virtual services: requests that add, edit, name or delete one, and
//! the kernel's answers that list them.

use super::attr::{AttrWriter, Attrs, expect_cmd, family_attr, message, nested};
use super::stats::{pick_stats, put_stats};
use super::{Command, DecodeError, cmd_attr};
use crate::types::{Family, Protocol, Service, ServiceEntry, ServiceFlags, ServiceKey};

/// Service attributes (`IPVS_SVC_ATTR_*`).
mod svc_attr {
    pub(super) const AF: u16 = 1;
    pub(super) const PROTOCOL: u16 = 2;
    pub(super) const ADDR: u16 = 3;
    pub(super) const PORT: u16 = 4;
    pub(super) const FWMARK: u16 = 5;
    pub(super) const SCHED_NAME: u16 = 6;
    pub(super) const FLAGS: u16 = 7;
    pub(super) const TIMEOUT: u16 = 8;
    pub(super) const NETMASK: u16 = 9;
    pub(super) const STATS: u16 = 10;
    pub(super) const PE_NAME: u16 = 11;
    pub(super) const STATS64: u16 = 12;
}

/// Netmask attribute value: IPv4 as a network-order mask, IPv6 as a
/// host-order prefix length (as the kernel reads it).
fn netmask_bytes(family: Family, prefix: u8) -> [u8; 4] {
    match family {
        Family::Inet => {
            let p = u32::from(prefix.min(32));
            let mask = if p == 0 { 0 } else { u32::MAX << (32 - p) };
            mask.to_be_bytes()
        }
        Family::Inet6 => u32::from(prefix.min(128)).to_ne_bytes(),
    }
}

/// The attributes that name service `key`.
fn put_service_key(w: &mut AttrWriter, key: &ServiceKey) {
    w.put_u16(svc_attr::AF, key.family().to_raw());
    match key {
        ServiceKey::Addr {
            addr,
            port,
            protocol,
        } => {
            w.put_u16(svc_attr::PROTOCOL, protocol.to_raw());
            w.put_inet_addr(svc_attr::ADDR, *addr);
            w.put_be16(svc_attr::PORT, *port);
        }
        ServiceKey::Fwmark { mark, .. } => w.put_u32(svc_attr::FWMARK, *mark),
    }
}

/// The nested `IPVS_CMD_ATTR_SERVICE` with only the key.
pub(super) fn put_service_key_nest(w: &mut AttrWriter, key: &ServiceKey) {
    w.nest(cmd_attr::SERVICE, |w| put_service_key(w, key));
}

/// Every setting of `svc`, with `flags` for its flags (sent with a full
/// mask).
fn put_service(w: &mut AttrWriter, svc: &Service, flags: ServiceFlags) {
    put_service_key(w, &svc.key);
    w.put_str(svc_attr::SCHED_NAME, &svc.scheduler);
    if let Some(pe) = &svc.pe_name {
        w.put_str(svc_attr::PE_NAME, pe);
    }
    let mut fl = [0u8; 8];
    fl[..4].copy_from_slice(&flags.0.to_ne_bytes());
    fl[4..].copy_from_slice(&u32::MAX.to_ne_bytes());
    w.put(svc_attr::FLAGS, &fl);
    w.put_u32(svc_attr::TIMEOUT, svc.timeout);
    w.put(
        svc_attr::NETMASK,
        &netmask_bytes(svc.key.family(), svc.netmask),
    );
}

/// `NewService` or `SetService` with every setting of `svc`.
///
/// The flags are sent with a full mask, so the service ends with exactly
/// these flags (the kernel adds `HASHED`).
pub fn encode_service(cmd: Command, svc: &Service) -> Vec<u8> {
    let flags = svc.flags.without(ServiceFlags::HASHED);
    message(cmd, |w| {
        w.nest(cmd_attr::SERVICE, |w| put_service(w, svc, flags));
    })
}

/// A request naming one service: `DelService`, `GetService` (one), or the
/// `GetDest` dump of its destinations.
pub fn encode_service_key(cmd: Command, key: &ServiceKey) -> Vec<u8> {
    message(cmd, |w| put_service_key_nest(w, key))
}

/// Decodes the nested service attributes (the contents of
/// `IPVS_CMD_ATTR_SERVICE`).
pub fn decode_service_attrs(bytes: &[u8]) -> Result<ServiceEntry, DecodeError> {
    let mut af = None;
    let mut protocol = None;
    let mut addr = None;
    let mut port = None;
    let mut fwmark = None;
    let mut sched = None;
    let mut flags = None;
    let mut timeout = 0;
    let mut netmask = None;
    let mut pe_name = None;
    let mut s32 = None;
    let mut s64 = None;
    for a in Attrs::new(bytes) {
        let a = a?;
        match a.ty {
            svc_attr::AF => af = Some(family_attr(&a, "IPVS_SVC_ATTR_AF")?),
            svc_attr::PROTOCOL => protocol = Some(a.u16("IPVS_SVC_ATTR_PROTOCOL")?),
            svc_attr::ADDR => addr = Some(a),
            svc_attr::PORT => port = Some(a.be16("IPVS_SVC_ATTR_PORT")?),
            svc_attr::FWMARK => fwmark = Some(a.u32("IPVS_SVC_ATTR_FWMARK")?),
            svc_attr::SCHED_NAME => sched = Some(a.str("IPVS_SVC_ATTR_SCHED_NAME")?),
            svc_attr::FLAGS => {
                let b = a.payload.get(..4).ok_or(DecodeError::BadLength {
                    attr: "IPVS_SVC_ATTR_FLAGS",
                    len: a.payload.len(),
                    expected: "8",
                })?;
                flags = Some(u32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
            }
            svc_attr::TIMEOUT => timeout = a.u32("IPVS_SVC_ATTR_TIMEOUT")?,
            svc_attr::NETMASK => netmask = Some(a.fixed::<4>("IPVS_SVC_ATTR_NETMASK")?),
            svc_attr::PE_NAME => pe_name = Some(a.str("IPVS_SVC_ATTR_PE_NAME")?.to_owned()),
            svc_attr::STATS => s32 = Some(a.payload),
            svc_attr::STATS64 => s64 = Some(a.payload),
            _ => {}
        }
    }
    let family = af.ok_or(DecodeError::Missing("IPVS_SVC_ATTR_AF"))?;
    let key = match fwmark.filter(|&m| m != 0) {
        Some(mark) => ServiceKey::Fwmark { mark, family },
        None => {
            let raw = protocol.ok_or(DecodeError::Missing("IPVS_SVC_ATTR_PROTOCOL"))?;
            let protocol = Protocol::from_raw(raw).ok_or(DecodeError::BadValue {
                attr: "IPVS_SVC_ATTR_PROTOCOL",
                value: u64::from(raw),
            })?;
            let addr = addr
                .ok_or(DecodeError::Missing("IPVS_SVC_ATTR_ADDR"))?
                .inet_addr("IPVS_SVC_ATTR_ADDR", family)?;
            let port = port.ok_or(DecodeError::Missing("IPVS_SVC_ATTR_PORT"))?;
            ServiceKey::Addr {
                addr,
                port,
                protocol,
            }
        }
    };
    let netmask = match netmask {
        None => family.max_prefix(),
        Some(b) => match family {
            Family::Inet => {
                let m = u32::from_be_bytes(b);
                let p = m.leading_ones();
                if m.checked_shl(p).unwrap_or(0) != 0 {
                    return Err(DecodeError::BadValue {
                        attr: "IPVS_SVC_ATTR_NETMASK",
                        value: u64::from(m),
                    });
                }
                p as u8
            }
            Family::Inet6 => {
                let p = u32::from_ne_bytes(b);
                u8::try_from(p)
                    .ok()
                    .filter(|&p| p <= 128)
                    .ok_or(DecodeError::BadValue {
                        attr: "IPVS_SVC_ATTR_NETMASK",
                        value: u64::from(p),
                    })?
            }
        },
    };
    Ok(ServiceEntry {
        service: Service {
            key,
            scheduler: sched
                .ok_or(DecodeError::Missing("IPVS_SVC_ATTR_SCHED_NAME"))?
                .to_owned(),
            flags: ServiceFlags(flags.ok_or(DecodeError::Missing("IPVS_SVC_ATTR_FLAGS"))?),
            timeout,
            netmask,
            pe_name,
        },
        stats: pick_stats(s32, s64)?,
    })
}

/// Decodes one service of a `GetService` answer (command `NewService`).
pub fn decode_service(payload: &[u8]) -> Result<ServiceEntry, DecodeError> {
    let attrs = expect_cmd(payload, Command::NewService)?;
    decode_service_attrs(nested(attrs, cmd_attr::SERVICE, "IPVS_CMD_ATTR_SERVICE")?)
}

/// Encodes `entry` the way the kernel answers `GetService` (a
/// `NewService` message with the statistics), so that decoding can be
/// tested without a kernel.
pub fn encode_service_answer(entry: &ServiceEntry) -> Vec<u8> {
    let svc = &entry.service;
    message(Command::NewService, |w| {
        w.nest(cmd_attr::SERVICE, |w| {
            put_service(w, svc, svc.flags);
            put_stats(w, svc_attr::STATS, svc_attr::STATS64, &entry.stats);
        });
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::split_genl;
    use crate::wire::tests::sample_stats;
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// `ipvsadm -A -t 10.0.0.1:80 -s rr`, laid out by hand from
    /// `ip_vs.h` (x86 byte order for the host-order fields).
    #[cfg(target_endian = "little")]
    #[test]
    fn new_service_golden_bytes() {
        let svc = Service::new(ServiceKey::tcp(Ipv4Addr::new(10, 0, 0, 1), 80), "rr");
        let got = encode_service(Command::NewService, &svc);
        #[rustfmt::skip]
        let want: Vec<u8> = vec![
            0x01, 0x01, 0x00, 0x00,             // genl: NEW_SERVICE, version 1
            0x54, 0x00, 0x01, 0x80,             // IPVS_CMD_ATTR_SERVICE (nested), 84 bytes
            0x06, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, // AF = AF_INET
            0x06, 0x00, 0x02, 0x00, 0x06, 0x00, 0x00, 0x00, // PROTOCOL = TCP
            0x14, 0x00, 0x03, 0x00, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // ADDR
            0x06, 0x00, 0x04, 0x00, 0x00, 0x50, 0x00, 0x00, // PORT = 80, big endian
            0x07, 0x00, 0x06, 0x00, b'r', b'r', 0x00, 0x00, // SCHED_NAME "rr\0"
            0x0c, 0x00, 0x07, 0x00, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, // FLAGS, mask
            0x08, 0x00, 0x08, 0x00, 0, 0, 0, 0,             // TIMEOUT = 0
            0x08, 0x00, 0x09, 0x00, 0xff, 0xff, 0xff, 0xff, // NETMASK = /32
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn v4_netmask_is_a_network_order_mask_v6_a_prefix_length() {
        assert_eq!(netmask_bytes(Family::Inet, 24), [255, 255, 255, 0]);
        assert_eq!(netmask_bytes(Family::Inet, 0), [0, 0, 0, 0]);
        assert_eq!(netmask_bytes(Family::Inet6, 64), 64u32.to_ne_bytes());
    }

    #[test]
    fn services_round_trip() {
        let services = [
            Service::new(ServiceKey::tcp(Ipv4Addr::new(192, 0, 2, 1), 80), "rr"),
            Service::new(ServiceKey::udp(Ipv6Addr::LOCALHOST, 53), "wlc")
                .persistent(300)
                .netmask(64),
            Service::new(ServiceKey::sctp(Ipv4Addr::new(192, 0, 2, 9), 9), "sh")
                .flags(ServiceFlags::SH_PORT | ServiceFlags::SH_FALLBACK | ServiceFlags::HASHED),
            Service::new(ServiceKey::fwmark(7), "wrr")
                .persistent(60)
                .netmask(24),
            Service::new(ServiceKey::fwmark6(8), "mh").flags(ServiceFlags::ONE_PACKET),
            Service {
                pe_name: Some("sip".into()),
                ..Service::new(ServiceKey::udp(Ipv4Addr::new(192, 0, 2, 3), 5060), "rr")
                    .persistent(10)
            },
        ];
        for svc in services {
            let entry = ServiceEntry {
                service: svc,
                stats: sample_stats(),
            };
            let bytes = encode_service_answer(&entry);
            assert_eq!(decode_service(&bytes), Ok(entry.clone()), "{entry:?}");
            // The request carries the same settings (its nested service
            // decodes to the same, without statistics).
            let req = encode_service(Command::NewService, &entry.service);
            let (cmd, attrs) = split_genl(&req).expect("header");
            assert_eq!(cmd, Command::NewService as u8);
            let inner = nested(attrs, cmd_attr::SERVICE, "svc").expect("nested");
            let mut want = entry.service.clone();
            want.flags = want.flags.without(ServiceFlags::HASHED);
            assert_eq!(
                decode_service_attrs(inner).map(|e| e.service),
                Ok(want),
                "request"
            );
        }
    }
}
