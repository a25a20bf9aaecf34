//! An independent decoder: packets we emit are written to a pcap file (the
//! format written by hand here: global header + records, Ethernet link
//! type, IP headers built here) and decoded by tshark, which must find no
//! malformed packet, no warning and a good checksum in the mode it is told
//! to expect (`vrrp.v3_checksum_as_in_v2`), and the fields we wrote.
//!
//! tshark is required (CI installs it); set VRRP_SKIP_TSHARK=1 to skip.
#![allow(clippy::unwrap_used)]

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::Command;

use vrrp_proto::arp::GratuitousArp;
use vrrp_proto::checksum;
use vrrp_proto::nd::UnsolicitedNa;
use vrrp_proto::{
    Advert, Auth, ChecksumCtx, Interval, Priority, V3Ipv4PseudoHeader, Version, VirtualAddrs, Vrid,
};

const SRC4: Ipv4Addr = Ipv4Addr::new(10, 99, 2, 1);
const DST4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
const SRC6: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0xff, 0xfe99, 0x201);
const DST6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// A pcap file (LINKTYPE_ETHERNET, microsecond timestamps) in memory.
struct Pcap(Vec<u8>);

impl Pcap {
    fn new() -> Self {
        let mut b = Vec::new();
        b.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes()); // magic
        b.extend_from_slice(&2u16.to_le_bytes()); // version 2.4
        b.extend_from_slice(&4u16.to_le_bytes());
        b.extend_from_slice(&0i32.to_le_bytes()); // thiszone
        b.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
        b.extend_from_slice(&65535u32.to_le_bytes()); // snaplen
        b.extend_from_slice(&1u32.to_le_bytes()); // LINKTYPE_ETHERNET
        Pcap(b)
    }

    fn frame(&mut self, frame: &[u8]) {
        let n = self.0.len() as u32; // a distinct, increasing timestamp
        self.0.extend_from_slice(&1_700_000_000u32.to_le_bytes());
        self.0.extend_from_slice(&n.to_le_bytes());
        self.0
            .extend_from_slice(&(frame.len() as u32).to_le_bytes());
        self.0
            .extend_from_slice(&(frame.len() as u32).to_le_bytes());
        self.0.extend_from_slice(frame);
    }

    fn ethernet(&mut self, dst: [u8; 6], src: [u8; 6], ethertype: u16, payload: &[u8]) {
        let mut f = Vec::with_capacity(14 + payload.len());
        f.extend_from_slice(&dst);
        f.extend_from_slice(&src);
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(payload);
        self.frame(&f);
    }

    fn ipv4(&mut self, src: Ipv4Addr, dst: Ipv4Addr, proto: u8, payload: &[u8]) {
        let total = (20 + payload.len()) as u16;
        let mut ip = vec![0x45, 0xc0];
        ip.extend_from_slice(&total.to_be_bytes());
        ip.extend_from_slice(&[0, 1, 0, 0, 255, proto, 0, 0]);
        ip.extend_from_slice(&src.octets());
        ip.extend_from_slice(&dst.octets());
        let c = checksum::finish(checksum::sum(&ip));
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        ip.extend_from_slice(payload);
        let d = dst.octets();
        self.ethernet(
            [0x01, 0x00, 0x5e, d[1] & 0x7f, d[2], d[3]],
            [0x00, 0x00, 0x5e, 0x00, 0x01, 0x01],
            0x0800,
            &ip,
        );
    }

    fn ipv6(&mut self, src: Ipv6Addr, dst: Ipv6Addr, next: u8, payload: &[u8]) {
        let mut ip = vec![0x60, 0, 0, 0];
        ip.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        ip.extend_from_slice(&[next, 255]);
        ip.extend_from_slice(&src.octets());
        ip.extend_from_slice(&dst.octets());
        ip.extend_from_slice(payload);
        let d = dst.octets();
        self.ethernet(
            [0x33, 0x33, d[12], d[13], d[14], d[15]],
            [0x00, 0x00, 0x5e, 0x00, 0x02, 0x01],
            0x86dd,
            &ip,
        );
    }

    fn write(&self, path: &Path) {
        std::fs::write(path, &self.0).unwrap();
    }
}

fn advert(version: Version, vrid: u8, prio: u8, centis: u16, addrs: VirtualAddrs) -> Advert {
    Advert {
        version,
        vrid: Vrid::new(vrid).unwrap(),
        priority: Priority::new(prio),
        interval: Interval::from_centis(centis).unwrap(),
        addrs,
        auth: Auth::None,
    }
}

fn v4_addrs(n: u8) -> VirtualAddrs {
    VirtualAddrs::V4((0..n).map(|i| Ipv4Addr::new(10, 99, 2, 100 + i)).collect())
}

fn tshark() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("tshark"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        if std::env::var("VRRP_SKIP_TSHARK").as_deref() == Ok("1") {
            eprintln!("tshark not found; skipped because VRRP_SKIP_TSHARK=1");
            return None;
        }
        panic!(
            "tshark is required for this test (apt-get install tshark); \
             set VRRP_SKIP_TSHARK=1 to skip it"
        );
    }
    found
}

const FIELDS: &[&str] = &[
    "frame.number",
    "_ws.malformed",
    "_ws.expert.severity",
    "ip.checksum.status",
    "vrrp.version",
    "vrrp.virt_rtr_id",
    "vrrp.prio",
    "vrrp.addr_count",
    "vrrp.checksum.status",
    "vrrp.adver_int",
    "vrrp.short_adver_int",
    "vrrp.auth_string",
    "vrrp.ip_addr",
    "vrrp.ipv6_addr",
    "icmpv6.checksum.status",
    "icmpv6.nd.na.flag.o",
    "icmpv6.nd.na.flag.s",
    "arp.isgratuitous",
    "arp.opcode",
];

/// Runs tshark on `file` with the v3-IPv4 checksum preference and returns
/// one map of field name to value per frame.
fn decode(
    tshark: &Path,
    file: &Path,
    v3_as_v2: bool,
) -> Vec<std::collections::HashMap<&'static str, String>> {
    let mut cmd = Command::new(tshark);
    cmd.arg("-r")
        .arg(file)
        .arg("-n")
        .args([
            "-o",
            &format!(
                "vrrp.v3_checksum_as_in_v2:{}",
                if v3_as_v2 { "TRUE" } else { "FALSE" }
            ),
        ])
        .args(["-o", "ip.check_checksum:TRUE"])
        .args([
            "-T",
            "fields",
            "-E",
            "separator=|",
            "-E",
            "occurrence=a",
            "-E",
            "aggregator=,",
        ]);
    for f in FIELDS {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let values: Vec<&str> = line.split('|').collect();
            assert_eq!(values.len(), FIELDS.len(), "{line}");
            FIELDS
                .iter()
                .zip(values)
                .map(|(k, v)| (*k, v.to_string()))
                .collect()
        })
        .collect()
}

/// Wireshark's checksum status: 1 is PROTO_CHECKSUM_E_GOOD, 0 is BAD.
const GOOD: &str = "1";
const BAD: &str = "0";

fn assert_clean(frame: &std::collections::HashMap<&'static str, String>) {
    assert_eq!(frame["_ws.malformed"], "", "malformed: {frame:?}");
    // Severity: chat 0x200000, note 0x400000, warn 0x600000, error 0x800000.
    for s in frame["_ws.expert.severity"]
        .split(',')
        .filter(|s| !s.is_empty())
    {
        let s: u32 = s.parse().unwrap();
        assert!(s < 0x60_0000, "expert warning or error: {frame:?}");
    }
}

fn temp_pcap(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("vp-tshark-{}-{name}.pcap", std::process::id()))
}

/// Deletes the file when the test ends, also on panic.
struct Remove(PathBuf);

impl Drop for Remove {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn tshark_accepts_what_we_emit() {
    let Some(tshark) = tshark() else { return };
    let ctx4 = ChecksumCtx::ipv4(SRC4, DST4);
    let ctx6 = ChecksumCtx::ipv6(SRC6, DST6);

    // File 1: everything whose checksum form is not in question, plus v3
    // over IPv4 with the pseudo-header (tshark's default expectation).
    let mut pcap = Pcap::new();
    let v2 = Advert {
        auth: Auth::SimplePassword(*b"secret12"),
        ..advert(Version::V2, 51, 150, 300, v4_addrs(2))
    };
    pcap.ipv4(SRC4, DST4, 112, &v2.to_bytes(&ctx4).unwrap());
    let v3_1 = advert(Version::V3, 52, 200, 50, v4_addrs(1));
    pcap.ipv4(SRC4, DST4, 112, &v3_1.to_bytes(&ctx4).unwrap());
    let v3_20 = advert(Version::V3, 53, 255, 4095, v4_addrs(20));
    pcap.ipv4(SRC4, DST4, 112, &v3_20.to_bytes(&ctx4).unwrap());
    let v6 = advert(
        Version::V3,
        54,
        0,
        100,
        VirtualAddrs::V6(vec![
            "fd00:99::100".parse().unwrap(),
            "fd00:99::101".parse().unwrap(),
        ]),
    );
    pcap.ipv6(SRC6, DST6, 112, &v6.to_bytes(&ctx6).unwrap());
    let na = UnsolicitedNa {
        target: "fd00:99::100".parse().unwrap(),
        target_mac: [0, 0, 0x5e, 0, 2, 54],
        router: true,
    };
    let mut msg = [0u8; UnsolicitedNa::LEN];
    na.emit(&mut msg, SRC6, ALL_NODES).unwrap();
    pcap.ipv6(SRC6, ALL_NODES, 58, &msg);
    let garp = GratuitousArp {
        sender_mac: [0, 0, 0x5e, 0, 1, 52],
        addr: Ipv4Addr::new(10, 99, 2, 100),
    };
    let mut frame = [0u8; GratuitousArp::LEN];
    garp.emit(&mut frame).unwrap();
    pcap.frame(&frame);
    let file1 = Remove(temp_pcap("default"));
    pcap.write(&file1.0);

    let frames = decode(&tshark, &file1.0, false);
    assert_eq!(frames.len(), 6);
    for f in &frames {
        assert_clean(f);
    }
    let [f_v2, f_v3_1, f_v3_20, f_v6, f_na, f_garp] = &frames[..] else {
        unreachable!()
    };
    for (f, version, vrid, prio, count) in [
        (f_v2, "2", "51", "150", "2"),
        (f_v3_1, "3", "52", "200", "1"),
        (f_v3_20, "3", "53", "255", "20"),
        (f_v6, "3", "54", "0", "2"),
    ] {
        assert_eq!(f["vrrp.version"], version, "{f:?}");
        assert_eq!(f["vrrp.virt_rtr_id"], vrid, "{f:?}");
        assert_eq!(f["vrrp.prio"], prio, "{f:?}");
        assert_eq!(f["vrrp.addr_count"], count, "{f:?}");
        assert_eq!(f["vrrp.checksum.status"], GOOD, "{f:?}");
    }
    for f in [f_v2, f_v3_1, f_v3_20] {
        assert_eq!(f["ip.checksum.status"], GOOD, "our test IPv4 header: {f:?}");
    }
    assert_eq!(f_v2["vrrp.adver_int"], "3");
    assert_eq!(f_v2["vrrp.auth_string"], "secret12");
    assert_eq!(f_v2["vrrp.ip_addr"], "10.99.2.100,10.99.2.101");
    assert_eq!(f_v3_1["vrrp.short_adver_int"], "50");
    assert_eq!(f_v3_20["vrrp.short_adver_int"], "4095");
    assert_eq!(f_v3_20["vrrp.ip_addr"].split(',').count(), 20);
    assert_eq!(f_v6["vrrp.ipv6_addr"], "fd00:99::100,fd00:99::101");
    assert_eq!(f_na["icmpv6.checksum.status"], GOOD, "{f_na:?}");
    assert_eq!(f_na["icmpv6.nd.na.flag.o"], "1");
    assert_eq!(f_na["icmpv6.nd.na.flag.s"], "0");
    assert_eq!(f_garp["arp.isgratuitous"], "1", "{f_garp:?}");
    assert_eq!(f_garp["arp.opcode"], "1");

    // File 2: v3 over IPv4 without the pseudo-header (RFC 9568).
    let exclude = ctx4.with_v3_ipv4_emit(V3Ipv4PseudoHeader::Exclude);
    let mut pcap = Pcap::new();
    pcap.ipv4(SRC4, DST4, 112, &v3_1.to_bytes(&exclude).unwrap());
    pcap.ipv4(SRC4, DST4, 112, &v3_20.to_bytes(&exclude).unwrap());
    let file2 = Remove(temp_pcap("as-v2"));
    pcap.write(&file2.0);
    let frames = decode(&tshark, &file2.0, true);
    assert_eq!(frames.len(), 2);
    for f in &frames {
        assert_clean(f);
        assert_eq!(f["vrrp.checksum.status"], GOOD, "{f:?}");
    }
    // The oracle can fail: told to expect the other form, tshark flags
    // both files' v3-IPv4 packets as bad.
    for f in decode(&tshark, &file2.0, false) {
        assert_eq!(f["vrrp.checksum.status"], BAD, "{f:?}");
    }
    let frames = decode(&tshark, &file1.0, true);
    assert_eq!(frames[1]["vrrp.checksum.status"], BAD);
    assert_eq!(frames[0]["vrrp.checksum.status"], GOOD, "v2 is unaffected");
}
