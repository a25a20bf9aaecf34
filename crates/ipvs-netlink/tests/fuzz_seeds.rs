//! The fuzz target `ipvs_decode` starts from kernel-style answers built by
//! this crate; this test keeps the committed copies in
//! `fuzz/corpus/seeds/ipvs_decode/` equal to what the encoders make, and
//! runs the fuzz oracle over each. `IPVS_WRITE_SEEDS=1` rewrites them.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use ipvs_netlink::wire;
use ipvs_netlink::{
    Destination, DestinationEntry, ForwardMethod, Info, Service, ServiceEntry, ServiceFlags,
    ServiceKey, Stats, SyncDaemon, SyncState, Timeouts, Tunnel, TunnelFlags, TunnelType,
};

fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let stats = Stats {
        conns: 3,
        in_packets: 30,
        out_packets: 25,
        in_bytes: 3000,
        out_bytes: 9000,
        cps: 1,
        in_pps: 2,
        out_pps: 3,
        in_bps: 400,
        out_bps: 500,
    };
    let dest = |forward| DestinationEntry {
        destination: Destination::new(Ipv4Addr::new(10, 0, 1, 2), 80, forward)
            .weight(2)
            .thresholds(1, 9),
        active_conns: 1,
        inactive_conns: 2,
        persist_conns: 0,
        stats,
    };
    vec![
        (
            "service_tcp_rr",
            wire::encode_service_answer(&ServiceEntry {
                service: Service::new(ServiceKey::tcp(Ipv4Addr::new(10, 0, 0, 1), 80), "rr")
                    .flags(ServiceFlags::HASHED),
                stats,
            }),
        ),
        (
            "service_fwmark6_persistent",
            wire::encode_service_answer(&ServiceEntry {
                service: Service::new(ServiceKey::fwmark6(7), "sh")
                    .persistent(300)
                    .netmask(64)
                    .flags(ServiceFlags::SH_PORT | ServiceFlags::HASHED),
                stats: Stats::default(),
            }),
        ),
        (
            "dest_masq",
            wire::encode_dest_answer(&dest(ForwardMethod::Masq)),
        ),
        (
            "dest_gue",
            wire::encode_dest_answer(&dest(ForwardMethod::Tunnel(Tunnel {
                kind: TunnelType::Gue,
                port: 6080,
                flags: TunnelFlags::CSUM,
            }))),
        ),
        (
            "daemon_backup",
            wire::encode_daemon_answer(&SyncDaemon {
                max_len: Some(1472),
                mcast_group: Some(Ipv4Addr::new(224, 0, 0, 81).into()),
                mcast_port: Some(8848),
                mcast_ttl: Some(1),
                ..SyncDaemon::new(SyncState::Backup, "eth0", 5)
            }),
        ),
        (
            "timeouts",
            wire::encode_timeouts_answer(&Timeouts {
                tcp: 900,
                tcp_fin: 120,
                udp: 300,
            }),
        ),
        (
            "info",
            wire::encode_info_answer(&Info {
                version: 0x010201,
                conn_table_size: 4096,
            }),
        ),
    ]
}

#[test]
fn fuzz_seeds_are_current() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/seeds/ipvs_decode");
    let write = std::env::var_os("IPVS_WRITE_SEEDS").is_some();
    if write {
        std::fs::create_dir_all(&dir).expect("seed dir");
    } else if !dir.exists() {
        println!("SKIP: no {} (not in the workspace)", dir.display());
        return;
    }
    for (name, bytes) in seeds() {
        wire::fuzz_decode(&bytes);
        let path = dir.join(name);
        if write {
            std::fs::write(&path, &bytes).expect("write seed");
        } else {
            let committed = std::fs::read(&path).unwrap_or_else(|e| {
                panic!("{}: {e} (IPVS_WRITE_SEEDS=1 writes it)", path.display())
            });
            assert_eq!(
                committed, bytes,
                "{name} is stale (IPVS_WRITE_SEEDS=1 rewrites it)"
            );
        }
    }
}
