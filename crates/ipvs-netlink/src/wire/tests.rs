//! Tests across the whole codec: requests against ipvsadm's bytes,
//! malformed and unknown input, and the fuzz oracle; helpers for the
//! tests next to each codec.

use super::daemon::info_attr;
use super::*;
use crate::types::{
    Destination, DestinationEntry, ForwardMethod, Info, Service, ServiceEntry, ServiceKey, Stats,
    SyncDaemon, SyncState, Timeouts,
};
use std::net::{IpAddr, Ipv4Addr};

pub(super) fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

/// Parses strace's `-xx` rendering of a netlink payload.
fn unhex(s: &str) -> Vec<u8> {
    s.split("\\x")
        .filter(|h| !h.is_empty())
        .map(|h| u8::from_str_radix(h, 16).expect("hex"))
        .collect()
}

/// Payloads that ipvsadm 1.31 (libnl) sent to Debian's 6.1 kernel,
/// captured with `strace -e trace=sendmsg -xx` in the VM of
/// `scripts/vm-test.sh`; ours must be the same bytes.
#[cfg(target_endian = "little")]
#[test]
fn requests_match_ipvsadm_captures() {
    // ipvsadm -A -t 10.0.0.1:80 -s rr
    let svc = Service::new(ServiceKey::tcp(Ipv4Addr::new(10, 0, 0, 1), 80), "rr");
    assert_eq!(
        encode_service(Command::NewService, &svc),
        unhex(concat!(
            r"\x01\x01\x00\x00\x54\x00\x01\x80\x06\x00\x01\x00\x02\x00\x00\x00",
            r"\x06\x00\x02\x00\x06\x00\x00\x00\x14\x00\x03\x00\x0a\x00\x00\x01",
            r"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x06\x00\x04\x00",
            r"\x00\x50\x00\x00\x07\x00\x06\x00\x72\x72\x00\x00\x0c\x00\x07\x00",
            r"\x00\x00\x00\x00\xff\xff\xff\xff\x08\x00\x08\x00\x00\x00\x00\x00",
            r"\x08\x00\x09\x00\xff\xff\xff\xff"
        ))
    );
    // ipvsadm -A -f 7 -s wrr -p 60 -M 255.255.255.0
    let svc = Service::new(ServiceKey::fwmark(7), "wrr")
        .persistent(60)
        .netmask(24);
    assert_eq!(
        encode_service(Command::NewService, &svc),
        unhex(concat!(
            r"\x01\x01\x00\x00\x38\x00\x01\x80\x06\x00\x01\x00\x02\x00\x00\x00",
            r"\x08\x00\x05\x00\x07\x00\x00\x00\x08\x00\x06\x00\x77\x72\x72\x00",
            r"\x0c\x00\x07\x00\x01\x00\x00\x00\xff\xff\xff\xff\x08\x00\x08\x00",
            r"\x3c\x00\x00\x00\x08\x00\x09\x00\xff\xff\xff\x00"
        ))
    );
    // ipvsadm --start-daemon master --mcast-interface lo --syncid 5
    assert_eq!(
        encode_daemon(&SyncDaemon::new(SyncState::Master, "lo", 5)),
        unhex(concat!(
            r"\x09\x01\x00\x00\x1c\x00\x03\x80\x08\x00\x01\x00\x01\x00\x00\x00",
            r"\x07\x00\x02\x00\x6c\x6f\x00\x00\x08\x00\x03\x00\x05\x00\x00\x00"
        ))
    );
    // ipvsadm --set 100 20 30
    let t = Timeouts {
        tcp: 100,
        tcp_fin: 20,
        udp: 30,
    };
    assert_eq!(
        encode_timeouts(&t),
        unhex(concat!(
            r"\x0c\x01\x00\x00\x08\x00\x04\x00\x64\x00\x00\x00\x08\x00\x05\x00",
            r"\x14\x00\x00\x00\x08\x00\x06\x00\x1e\x00\x00\x00"
        ))
    );
    // ipvsadm's first question: the family, then GET_INFO.
    assert_eq!(
        encode_get_family(FAMILY_NAME),
        unhex(r"\x03\x01\x00\x00\x09\x00\x02\x00\x49\x50\x56\x53\x00\x00\x00\x00")
    );
    assert_eq!(encode_empty(Command::GetInfo), unhex(r"\x0f\x01\x00\x00"));
}

pub(super) fn sample_stats() -> Stats {
    Stats {
        conns: 7,
        in_packets: 100,
        out_packets: 90,
        in_bytes: 5_000_000_000,
        out_bytes: 12345,
        cps: 1,
        in_pps: 2,
        out_pps: 3,
        in_bps: 4,
        out_bps: 5,
    }
}

#[test]
fn malformed_answers_are_errors() {
    assert_eq!(
        decode_service(&[1, 1]),
        Err(DecodeError::Truncated("generic netlink header"))
    );
    // An attribute claiming more bytes than there are.
    assert_eq!(
        decode_service(&[1, 1, 0, 0, 0x40, 0, 1, 0, 0, 0]),
        Err(DecodeError::Truncated("attribute"))
    );
    // A service without its family.
    assert_eq!(
        decode_service(&[1, 1, 0, 0, 4, 0, 1, 0]),
        Err(DecodeError::Missing("IPVS_SVC_ATTR_AF"))
    );
    // A non-contiguous IPv4 netmask.
    let svc = Service::new(ServiceKey::fwmark(3), "rr");
    let mut bytes = encode_service_answer(&ServiceEntry {
        service: svc,
        stats: Stats::default(),
    });
    let at = bytes
        .windows(8)
        .position(|w| w == [8, 0, 9, 0, 255, 255, 255, 255])
        .expect("netmask attribute");
    bytes[at + 4..at + 8].copy_from_slice(&[255, 0, 255, 0]);
    assert!(matches!(
        decode_service(&bytes),
        Err(DecodeError::BadValue {
            attr: "IPVS_SVC_ATTR_NETMASK",
            ..
        })
    ));
    // Wrong attribute sizes.
    let mut w = AttrWriter::genl(Command::SetInfo as u8, VERSION);
    w.put_u16(info_attr::VERSION, 1);
    assert!(matches!(
        decode_info(&w.finish()),
        Err(DecodeError::BadLength { .. })
    ));
}

#[test]
fn unknown_attributes_and_nested_flag_are_accepted() {
    let i = Info {
        version: 1,
        conn_table_size: 2,
    };
    let mut bytes = encode_info_answer(&i);
    bytes.extend_from_slice(&[8, 0, 0x7f, 0, 1, 2, 3, 4]);
    assert_eq!(decode_info(&bytes), Ok(i));
    // The kernel answers without NLA_F_NESTED on the outer attribute.
    let entry = ServiceEntry {
        service: Service::new(ServiceKey::tcp(Ipv4Addr::LOCALHOST, 1), "rr"),
        stats: Stats::default(),
    };
    let mut bytes = encode_service_answer(&entry);
    assert_eq!(bytes[7], 0x80);
    bytes[7] &= !0x80;
    assert_eq!(decode_service(&bytes), Ok(entry));
}

#[test]
fn decoding_arbitrary_bytes_never_panics() {
    // A small deterministic generator: mutations of valid answers and
    // pure noise, through the same oracle as the fuzz target.
    let mut seeds = vec![
        encode_service_answer(&ServiceEntry {
            service: Service::new(ServiceKey::tcp(Ipv4Addr::LOCALHOST, 80), "rr"),
            stats: sample_stats(),
        }),
        encode_dest_answer(&DestinationEntry {
            destination: Destination::new(v4(1, 1, 1, 1), 80, ForwardMethod::Masq),
            active_conns: 0,
            inactive_conns: 0,
            persist_conns: 0,
            stats: sample_stats(),
        }),
        encode_daemon_answer(&SyncDaemon::new(SyncState::Master, "eth0", 1)),
        encode_info_answer(&Info {
            version: 1,
            conn_table_size: 1,
        }),
    ];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for round in 0..4000 {
        let base = seeds[round % seeds.len()].clone();
        let mut m = base;
        for _ in 0..(next() % 4 + 1) {
            let len = m.len().max(1);
            let at = (next() as usize) % len;
            match next() % 3 {
                0 => {
                    if let Some(b) = m.get_mut(at) {
                        *b = next() as u8;
                    }
                }
                1 => m.truncate(at),
                _ => m.insert(at.min(m.len()), next() as u8),
            }
        }
        fuzz_decode(&m);
        if round % 100 == 0 {
            seeds.push(m);
        }
    }
}
