//! VRRP sockets on the wire, in network namespaces (see tests/common).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Lab, eth0};
use netif::{Mode, Netlink, RecvBatch, VRRP_GROUP_V4, VRRP_GROUP_V6, VrrpSocket};

/// RFC 1071 sum over `parts`, folded and complemented.
fn csum(parts: &[&[u8]]) -> u16 {
    let mut sum: u32 = 0;
    for p in parts {
        for c in p.chunks(2) {
            let w = if c.len() == 2 {
                u16::from_be_bytes([c[0], c[1]])
            } else {
                u16::from_be_bytes([c[0], 0])
            };
            sum += u32::from(w);
        }
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A VRRPv3 advertisement (RFC 9568 §5.1) for `vrid` with one address, the
/// checksum over the pseudo-header of `src` -> `dst`.
fn advert(vrid: u8, prio: u8, vip: IpAddr, src: IpAddr, dst: IpAddr) -> Vec<u8> {
    let mut m = vec![0x31, vrid, prio, 1, 0x00, 100, 0, 0];
    match vip {
        IpAddr::V4(a) => m.extend_from_slice(&a.octets()),
        IpAddr::V6(a) => m.extend_from_slice(&a.octets()),
    }
    let c = pseudo_csum(&m, src, dst);
    m[6..8].copy_from_slice(&c.to_be_bytes());
    m
}

fn pseudo_csum(m: &[u8], src: IpAddr, dst: IpAddr) -> u16 {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let len = (m.len() as u16).to_be_bytes();
            csum(&[&s.octets(), &d.octets(), &[0, 112], &len, m])
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let len = (m.len() as u32).to_be_bytes();
            csum(&[&s.octets(), &d.octets(), &len, &[0, 0, 0, 112], m])
        }
        _ => unreachable!(),
    }
}

/// Receives on `sock` until a packet arrives or `limit` passes.
fn recv_one(sock: &mut VrrpSocket, limit: Duration) -> Option<(IpAddr, IpAddr, u8, u32, Vec<u8>)> {
    let mut buf = vec![0u8; 65535];
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Some(r) = sock.recv(&mut buf).unwrap() {
            return Some((r.src, r.dst, r.ttl, r.ifindex, r.payload.to_vec()));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

fn sources(ifindex: u32) -> (Ipv4Addr, Ipv6Addr) {
    let mut nl = Netlink::new().unwrap();
    let v4 = nl.primary_ipv4(ifindex, &[]).unwrap().unwrap();
    let v6 = nl.ipv6_link_local(ifindex, &[]).unwrap().unwrap();
    (v4, v6)
}

#[test]
fn multicast_adverts_arrive_with_ttl_255_and_good_checksums() {
    let Some(lab) = Lab::new("mc", 2) else { return };
    let (b_ns, a_ns) = (lab.hosts[1].clone(), lab.hosts[0].clone());
    // Receivers on B, opened first (on a thread inside B, kept alive by the
    // channel until A is done sending).
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let (rtx, rrx) = std::sync::mpsc::channel();
    let b_path = format!("/run/netns/{b_ns}");
    let receiver = std::thread::spawn(move || {
        common::enter(&b_path);
        let idx = eth0();
        let (v4, v6) = sources(idx);
        let mut s4 = VrrpSocket::open(idx, v4.into(), Mode::Multicast).unwrap();
        let mut s6 = VrrpSocket::open(idx, v6.into(), Mode::Multicast).unwrap();
        rtx.send(()).unwrap();
        let r4 = recv_one(&mut s4, Duration::from_secs(5));
        let r6 = recv_one(&mut s6, Duration::from_secs(5));
        let _ = rx.recv_timeout(Duration::from_secs(10));
        (idx, r4, r6)
    });
    rrx.recv_timeout(Duration::from_secs(5)).unwrap();

    let (a4, a6) = lab.run_in(&a_ns, || {
        let idx = eth0();
        let (v4, v6) = sources(idx);
        let s4 = VrrpSocket::open(idx, v4.into(), Mode::Multicast).unwrap();
        let s6 = VrrpSocket::open(idx, v6.into(), Mode::Multicast).unwrap();
        let vip4: IpAddr = "10.99.0.100".parse().unwrap();
        let vip6: IpAddr = "fd00:99::100".parse().unwrap();
        s4.send(&advert(7, 200, vip4, v4.into(), VRRP_GROUP_V4.into()))
            .unwrap();
        // The kernel fills in the IPv6 checksum (IPV6_CHECKSUM): send zero.
        let mut m6 = advert(7, 200, vip6, v6.into(), VRRP_GROUP_V6.into());
        m6[6] = 0;
        m6[7] = 0;
        s6.send(&m6).unwrap();
        (v4, v6)
    });
    tx.send(()).unwrap();
    let (b_idx, r4, r6) = receiver.join().unwrap();

    let (src, dst, ttl, ifindex, p) = r4.expect("IPv4 advert received");
    assert_eq!(src, IpAddr::V4(a4));
    assert_eq!(dst, IpAddr::V4(VRRP_GROUP_V4));
    assert_eq!(ttl, 255);
    assert_eq!(ifindex, b_idx);
    assert_eq!(p.len(), 12, "IPv4 header stripped");
    assert_eq!(pseudo_csum(&p, src, dst), 0, "IPv4 checksum verifies");

    let (src, dst, ttl, ifindex, p) = r6.expect("IPv6 advert received");
    assert_eq!(src, IpAddr::V6(a6));
    assert!(
        a6.segments()[0] == 0xfe80,
        "sent from the link-local address"
    );
    assert_eq!(dst, IpAddr::V6(VRRP_GROUP_V6));
    assert_eq!(ttl, 255);
    assert_eq!(ifindex, b_idx);
    assert_ne!(
        u16::from_be_bytes([p[6], p[7]]),
        0,
        "kernel computed a checksum"
    );
    assert_eq!(pseudo_csum(&p, src, dst), 0, "IPv6 checksum verifies");
}

#[test]
fn tshark_sees_ttl_255_on_the_group_with_good_checksums() {
    if Command::new("tshark").arg("-v").output().is_err() {
        eprintln!("SKIP: tshark not installed");
        return;
    }
    let Some(lab) = Lab::new("ts", 2) else { return };
    let mut child = Command::new("ip")
        .args([
            "netns",
            "exec",
            &lab.hosts[1],
            "tshark",
            "-l",
            "-n",
            "-i",
            "eth0",
        ])
        .args([
            "-f",
            "ip proto 112 or ip6 proto 112",
            "-c",
            "4",
            "-a",
            "duration:15",
        ])
        .args(["-o", "vrrp.v3_checksum_as_in_v2:FALSE"])
        .args([
            "-T",
            "fields",
            "-e",
            "ip.ttl",
            "-e",
            "ip.dst",
            "-e",
            "ipv6.hlim",
        ])
        .args(["-e", "ipv6.dst", "-e", "vrrp.checksum.status"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for "Capturing on" before sending.
    let stderr = child.stderr.take().unwrap();
    let (ctx, crx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("Capturing on") {
                let _ = ctx.send(());
            }
        }
    });
    let started = crx.recv_timeout(Duration::from_secs(10)).is_ok();
    if !started {
        let _ = child.kill();
        let _ = child.wait();
        panic!("tshark did not start capturing");
    }
    let stdout = child.stdout.take().unwrap();
    let (ltx, lrx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = ltx.send(line);
        }
    });
    let a_ns = lab.hosts[0].clone();
    lab.run_in(&a_ns, move || {
        let idx = eth0();
        let (v4, v6) = sources(idx);
        let s4 = VrrpSocket::open(idx, v4.into(), Mode::Multicast).unwrap();
        let s6 = VrrpSocket::open(idx, v6.into(), Mode::Multicast).unwrap();
        let m4 = advert(
            9,
            100,
            "10.99.0.100".parse().unwrap(),
            v4.into(),
            VRRP_GROUP_V4.into(),
        );
        let m6 = advert(
            9,
            100,
            "fd00:99::100".parse().unwrap(),
            v6.into(),
            VRRP_GROUP_V6.into(),
        );
        for _ in 0..4 {
            s4.send(&m4).unwrap();
            s6.send(&m6).unwrap();
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let mut lines = Vec::new();
    while let Ok(l) = lrx.recv_timeout(Duration::from_secs(10)) {
        lines.push(l);
        if lines.len() == 4 {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let v4: Vec<_> = lines.iter().filter(|l| l.contains("224.0.0.18")).collect();
    let v6: Vec<_> = lines.iter().filter(|l| l.contains("ff02::12")).collect();
    assert!(!v4.is_empty() && !v6.is_empty(), "captured: {lines:?}");
    for l in v4 {
        let f: Vec<&str> = l.split('\t').collect();
        assert_eq!(f[0], "255", "IPv4 TTL in {l:?}");
        // 1 = good in Wireshark's checksum status.
        assert_eq!(f[4], "1", "VRRP checksum status in {l:?}");
    }
    for l in v6 {
        let f: Vec<&str> = l.split('\t').collect();
        assert_eq!(f[2], "255", "IPv6 hop limit in {l:?}");
        assert_eq!(f[4], "1", "VRRP checksum status in {l:?}");
    }
}

#[test]
fn a_packet_sent_with_ttl_64_is_reported_as_such() {
    let Some(lab) = Lab::new("ttl", 2) else {
        return;
    };
    let b_path = format!("/run/netns/{}", lab.hosts[1]);
    let (rtx, rrx) = std::sync::mpsc::channel();
    let receiver = std::thread::spawn(move || {
        common::enter(&b_path);
        let idx = eth0();
        let (v4, v6) = sources(idx);
        let mut s4 = VrrpSocket::open(idx, v4.into(), Mode::Multicast).unwrap();
        let mut s6 = VrrpSocket::open(idx, v6.into(), Mode::Multicast).unwrap();
        rtx.send(()).unwrap();
        let r4 = recv_one(&mut s4, Duration::from_secs(5));
        let r6 = recv_one(&mut s6, Duration::from_secs(5));
        (r4, r6)
    });
    rrx.recv_timeout(Duration::from_secs(5)).unwrap();
    let a_ns = lab.hosts[0].clone();
    lab.run_in(&a_ns, || {
        use socket2::{Domain, Protocol, SockAddr, Socket, Type};
        let idx = eth0();
        let (v4, v6) = sources(idx);
        // A plain raw socket with the default-ish TTL of a misbehaving (or
        // remote, routed) sender.
        let s = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(112))).unwrap();
        s.set_multicast_ttl_v4(64).unwrap();
        s.set_multicast_if_v4(&v4).unwrap();
        let m = advert(
            3,
            100,
            "10.99.0.100".parse().unwrap(),
            v4.into(),
            VRRP_GROUP_V4.into(),
        );
        s.send_to(
            &m,
            &SockAddr::from(std::net::SocketAddrV4::new(VRRP_GROUP_V4, 0)),
        )
        .unwrap();
        let s = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::from(112))).unwrap();
        s.set_multicast_hops_v6(64).unwrap();
        s.set_multicast_if_v6(idx).unwrap();
        let m = advert(
            3,
            100,
            "fd00:99::100".parse().unwrap(),
            v6.into(),
            VRRP_GROUP_V6.into(),
        );
        s.send_to(
            &m,
            &SockAddr::from(std::net::SocketAddrV6::new(VRRP_GROUP_V6, 0, 0, idx)),
        )
        .unwrap();
    });
    let (r4, r6) = receiver.join().unwrap();
    assert_eq!(r4.expect("IPv4 packet").2, 64);
    assert_eq!(r6.expect("IPv6 packet").2, 64);
}

#[test]
fn unicast_mode_sends_to_peers_and_accepts_only_them() {
    let Some(lab) = Lab::new("uc", 3) else { return };
    let a: IpAddr = lab.v4(0).parse().unwrap();
    let b: IpAddr = lab.v4(1).parse().unwrap();
    let b_path = format!("/run/netns/{}", lab.hosts[1]);
    let (rtx, rrx) = std::sync::mpsc::channel();
    let receiver = std::thread::spawn(move || {
        common::enter(&b_path);
        let idx = eth0();
        let mut s = VrrpSocket::open(idx, b, Mode::Unicast(vec![a])).unwrap();
        rtx.send(()).unwrap();
        let mut got = Vec::new();
        let start = Instant::now();
        let mut buf = vec![0u8; 2048];
        while start.elapsed() < Duration::from_secs(2) {
            while let Some(r) = s.recv(&mut buf).unwrap() {
                got.push((r.src, r.dst, r.ttl));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        (got, s.stats())
    });
    rrx.recv_timeout(Duration::from_secs(5)).unwrap();
    // C (not a peer) sends first, then A (the peer).
    for (i, ns) in [(2usize, lab.hosts[2].clone()), (0, lab.hosts[0].clone())] {
        let me: IpAddr = lab.v4(i).parse().unwrap();
        lab.run_in(&ns, move || {
            let s = VrrpSocket::open(eth0(), me, Mode::Unicast(vec![b])).unwrap();
            s.send(&advert(5, 100, "10.99.0.100".parse().unwrap(), me, b))
                .unwrap();
        });
    }
    let (got, stats) = receiver.join().unwrap();
    assert_eq!(got, vec![(a, b, 255)]);
    assert_eq!(stats.not_from_peer, 1);
}

/// One received datagram: source, destination, TTL, interface, payload.
type Got = (IpAddr, IpAddr, u8, u32, Vec<u8>);

/// Receives with `recv_batch` until `want` datagrams arrived or `limit`
/// passed; returns them and the largest batch one call returned.
fn recv_batched(sock: &mut VrrpSocket, want: usize, limit: Duration) -> (Vec<Got>, usize) {
    let mut batch = RecvBatch::new();
    let mut got = Vec::new();
    let mut largest = 0;
    let start = Instant::now();
    while got.len() < want && start.elapsed() < limit {
        let n = sock.recv_batch(&mut batch).unwrap();
        largest = largest.max(n);
        assert!(n <= RecvBatch::CAPACITY);
        got.extend(
            batch
                .iter()
                .map(|r| (r.src, r.dst, r.ttl, r.ifindex, r.payload.to_vec())),
        );
        if n == 0 {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    (got, largest)
}

#[test]
fn batches_of_adverts_go_out_and_come_in_with_one_call_per_32() {
    let Some(lab) = Lab::new("bt", 2) else { return };
    let (b_ns, a_ns) = (lab.hosts[1].clone(), lab.hosts[0].clone());
    const N: usize = 70; // two full batches and a partial one
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let (rtx, rrx) = std::sync::mpsc::channel();
    let b_path = format!("/run/netns/{b_ns}");
    let receiver = std::thread::spawn(move || {
        common::enter(&b_path);
        let idx = eth0();
        let (v4, v6) = sources(idx);
        let mut s4 = VrrpSocket::open(idx, v4.into(), Mode::Multicast).unwrap();
        let mut s6 = VrrpSocket::open(idx, v6.into(), Mode::Multicast).unwrap();
        rtx.send(()).unwrap();
        // Wait until everything is queued, so that full batches are read.
        let _ = rx.recv_timeout(Duration::from_secs(10));
        let r4 = recv_batched(&mut s4, N, Duration::from_secs(5));
        let r6 = recv_batched(&mut s6, N, Duration::from_secs(5));
        (idx, r4, r6)
    });
    rrx.recv_timeout(Duration::from_secs(5)).unwrap();

    let (a4, a6, sent, errors) = lab.run_in(&a_ns, || {
        let idx = eth0();
        let (v4, v6) = sources(idx);
        let s4 = VrrpSocket::open(idx, v4.into(), Mode::Multicast).unwrap();
        let s6 = VrrpSocket::open(idx, v6.into(), Mode::Multicast).unwrap();
        let g4 = IpAddr::V4(VRRP_GROUP_V4);
        let g6 = IpAddr::V6(VRRP_GROUP_V6);
        let m4: Vec<Vec<u8>> = (0..N)
            .map(|i| {
                let vip = IpAddr::V4(Ipv4Addr::new(10, 99, 1, i as u8));
                advert(i as u8 + 1, 100, vip, v4.into(), g4)
            })
            .collect();
        let m6: Vec<Vec<u8>> = (0..N)
            .map(|i| {
                let vip: IpAddr = format!("fd00:99::{}", i + 1).parse().unwrap();
                let mut m = advert(i as u8 + 1, 100, vip, v6.into(), g6);
                m[6] = 0;
                m[7] = 0;
                m
            })
            .collect();
        // One IPv6 destination among the IPv4 ones: reported, the rest sent.
        let mut msgs4: Vec<(IpAddr, &[u8])> = m4.iter().map(|m| (g4, &m[..])).collect();
        msgs4.insert(40, (g6, &m4[0][..]));
        let msgs6: Vec<(IpAddr, &[u8])> = m6.iter().map(|m| (g6, &m[..])).collect();
        let mut errors = Vec::new();
        let sent4 = s4.send_batch(&msgs4, |i, e| errors.push((i, e.to_string())));
        let sent6 = s6.send_batch(&msgs6, |i, e| errors.push((1000 + i, e.to_string())));
        (v4, v6, (sent4, sent6), errors)
    });
    tx.send(()).unwrap();
    let (b_idx, (r4, big4), (r6, big6)) = receiver.join().unwrap();

    assert_eq!(sent, (N, N), "every well-formed message was sent");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(
        errors[0].0, 40,
        "the wrong-family message is reported by index"
    );
    assert_eq!(r4.len(), N, "every IPv4 advert arrived");
    assert_eq!(r6.len(), N, "every IPv6 advert arrived");
    assert_eq!(big4, RecvBatch::CAPACITY, "a full IPv4 batch in one call");
    assert_eq!(big6, RecvBatch::CAPACITY, "a full IPv6 batch in one call");
    for (i, (src, dst, ttl, ifindex, p)) in r4.iter().enumerate() {
        assert_eq!(*src, IpAddr::V4(a4));
        assert_eq!(*dst, IpAddr::V4(VRRP_GROUP_V4));
        assert_eq!((*ttl, *ifindex), (255, b_idx));
        assert_eq!(p[1] as usize, i + 1, "in order, IPv4 header stripped");
        assert_eq!(pseudo_csum(p, *src, *dst), 0);
    }
    for (i, (src, dst, ttl, ifindex, p)) in r6.iter().enumerate() {
        assert_eq!(*src, IpAddr::V6(a6));
        assert_eq!(*dst, IpAddr::V6(VRRP_GROUP_V6));
        assert_eq!((*ttl, *ifindex), (255, b_idx));
        assert_eq!(p[1] as usize, i + 1);
        assert_eq!(pseudo_csum(p, *src, *dst), 0, "kernel checksum verifies");
    }
}

#[test]
fn the_receive_buffer_holds_a_burst_for_every_vrid() {
    let Some(lab) = Lab::new("rb", 1) else { return };
    let ns = lab.hosts[0].clone();
    let (v4, v6) = lab.run_in(&ns, || {
        use std::os::fd::AsRawFd;
        let idx = eth0();
        let (a4, a6) = sources(idx);
        let get = |s: &VrrpSocket| {
            let mut v: libc::c_int = 0;
            let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
            // SAFETY: a valid socket fd and an int-sized out parameter.
            let rc = unsafe {
                libc::getsockopt(
                    s.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_RCVBUF,
                    (&mut v as *mut libc::c_int).cast(),
                    &mut len,
                )
            };
            assert_eq!(rc, 0);
            v
        };
        let s4 = VrrpSocket::open(idx, a4.into(), Mode::Multicast).unwrap();
        let s6 = VrrpSocket::open(idx, a6.into(), Mode::Multicast).unwrap();
        (get(&s4), get(&s6))
    });
    // As root, SO_RCVBUFFORCE passes rmem_max; the kernel reports double.
    assert!(v4 >= netif::RECV_BUFFER, "IPv4 receive buffer {v4}");
    assert!(v6 >= netif::RECV_BUFFER, "IPv6 receive buffer {v6}");
}
