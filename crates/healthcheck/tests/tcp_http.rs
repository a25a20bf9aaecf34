//! TCP and HTTP checks against real local servers.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{drive, run_for};
use healthcheck::{
    BodyDigest, CheckKind, CheckSpec, Detail, HttpSpec, Outcome, ProbeResult, Runner, Status,
    TcpSpec,
};

#[test]
fn tcp_listener_comes_and_goes() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut r = Runner::new().unwrap();
    let id = r
        .checker()
        .add(
            CheckSpec::new("tcp", CheckKind::Tcp(TcpSpec { addr }))
                .interval(Duration::from_millis(30))
                .timeout(Duration::from_millis(500))
                .init_fail(true)
                .weight(10),
            Instant::now(),
        )
        .unwrap();
    // Up: Failed (init_fail) -> Ok.
    let (ev, ok) = drive(&mut r, Duration::from_secs(5), |_, ev| !ev.is_empty());
    assert!(ok, "no event");
    assert_eq!(ev[0].transition.to, Status::Ok);
    assert_eq!(ev[0].result.detail, Detail::Connected);
    assert_eq!(r.checker().breakdown(100, &[id.into()]).effective, 110);

    // Gone: connection refused -> Failed.
    drop(listener);
    let (ev, ok) = drive(&mut r, Duration::from_secs(5), |_, ev| !ev.is_empty());
    assert!(ok, "no failure event");
    assert_eq!(ev[0].transition.to, Status::Failed);
    match &ev[0].result.detail {
        Detail::Os(f) => assert_eq!(f.errno, Some(libc::ECONNREFUSED), "{f}"),
        d => panic!("unexpected {d:?}"),
    }
    assert_eq!(r.checker().breakdown(100, &[id.into()]).effective, 100);

    // Back on the same port.
    let listener = TcpListener::bind(addr).unwrap();
    let (ev, ok) = drive(&mut r, Duration::from_secs(5), |_, ev| !ev.is_empty());
    assert!(ok);
    assert_eq!(ev[0].transition.to, Status::Ok);
    drop(listener);
}

#[derive(Clone)]
struct Reply {
    status: u16,
    body: &'static str,
    chunked: bool,
    content_length: bool,
}

/// A tiny HTTP server answering whatever `reply` says; records requests.
type Shared<T> = Arc<Mutex<T>>;

fn http_server() -> (SocketAddr, Shared<Reply>, Shared<Vec<String>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let reply = Arc::new(Mutex::new(Reply {
        status: 200,
        body: "all healthy",
        chunked: false,
        content_length: true,
    }));
    let requests = Arc::new(Mutex::new(Vec::new()));
    let (rep, reqs) = (reply.clone(), requests.clone());
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            reqs.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&req).into_owned());
            let r = rep.lock().unwrap().clone();
            let reason = if r.status == 200 {
                "OK"
            } else {
                "Internal Server Error"
            };
            let mut resp = format!("HTTP/1.1 {} {reason}\r\nServer: test\r\n", r.status);
            if r.chunked {
                let (a, b) = r.body.split_at(r.body.len() / 2);
                resp += &format!(
                    "Transfer-Encoding: chunked\r\n\r\n{:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
                    a.len(),
                    b.len()
                );
            } else if r.content_length {
                resp += &format!("Content-Length: {}\r\n\r\n{}", r.body.len(), r.body);
            } else {
                resp += &format!("\r\n{}", r.body);
            }
            let _ = s.write_all(resp.as_bytes());
        }
    });
    (addr, reply, requests)
}

#[test]
fn http_200_then_500_then_body_mismatch() {
    let (addr, reply, requests) = http_server();
    let mut spec = HttpSpec::new(addr, "/health?full=1");
    spec.expect_status = vec![200];
    spec.body_contains = Some(b"healthy".to_vec());
    let mut r = Runner::new().unwrap();
    let id = r
        .checker()
        .add(
            CheckSpec::new("http", CheckKind::Http(spec))
                .interval(Duration::from_millis(30))
                .timeout(Duration::from_secs(1))
                .fall(2)
                .rise(2)
                .weight(-30),
            Instant::now(),
        )
        .unwrap();

    // 200 with the body: stays OK (no event), results are successes.
    let (_, ok) = drive(&mut r, Duration::from_secs(5), |c, _| {
        c.state(id).unwrap().results() >= 3
    });
    assert!(ok);
    let last = r.checker().last_result(id).unwrap().clone();
    assert_eq!(last.outcome, Outcome::Success);
    assert_eq!(
        last.detail,
        Detail::HttpStatus {
            status: 200,
            body_matched: Some(true),
            digest: None,
        }
    );
    {
        let reqs = requests.lock().unwrap();
        let req = &reqs[0];
        assert!(req.starts_with("GET /health?full=1 HTTP/1.1\r\n"), "{req}");
        assert!(req.contains(&format!("\r\nHost: {addr}\r\n")), "{req}");
        assert!(req.contains("\r\nConnection: close\r\n"), "{req}");
    }

    // 500: Failed after fall=2.
    reply.lock().unwrap().status = 500;
    let (ev, ok) = drive(&mut r, Duration::from_secs(5), |_, ev| !ev.is_empty());
    assert!(ok);
    assert_eq!(ev[0].transition.to, Status::Failed);
    assert!(matches!(
        ev[0].result.detail,
        Detail::HttpStatus { status: 500, .. }
    ));
    let b = r.checker().breakdown(100, &[id.into()]);
    assert_eq!(b.effective, 70, "{b}");

    // Back to 200 with a chunked healthy body: Ok after rise=2.
    *reply.lock().unwrap() = Reply {
        status: 200,
        body: "all healthy",
        chunked: true,
        content_length: false,
    };
    let (ev, ok) = drive(&mut r, Duration::from_secs(5), |_, ev| !ev.is_empty());
    assert!(ok);
    assert_eq!(ev[0].transition.to, Status::Ok);

    // 200 but a body without the substring (close-delimited): Failed.
    *reply.lock().unwrap() = Reply {
        status: 200,
        body: "degraded",
        chunked: false,
        content_length: false,
    };
    let (ev, ok) = drive(&mut r, Duration::from_secs(5), |_, ev| !ev.is_empty());
    assert!(ok);
    assert_eq!(ev[0].transition.to, Status::Failed);
    assert_eq!(
        ev[0].result.detail,
        Detail::HttpStatus {
            status: 200,
            body_matched: Some(false),
            digest: None,
        }
    );
}

/// `printf 'all healthy' | md5sum`, computed outside this code.
const HEALTHY_MD5: [u8; 16] = hex("eb3c6b56b9c3aa46942c6898323ae16a");
/// `printf 'degraded' | md5sum`.
const DEGRADED_MD5: [u8; 16] = hex("8377f5fd94f84ea08829f36e1ded3b74");

const fn hex(s: &str) -> [u8; 16] {
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("not a hex digit"),
        }
    }
    let b = s.as_bytes();
    let mut out = [0u8; 16];
    let mut i = 0;
    while i < 16 {
        out[i] = nibble(b[2 * i]) << 4 | nibble(b[2 * i + 1]);
        i += 1;
    }
    out
}

/// Runs `spec` once and returns its result.
fn probe_once(spec: HttpSpec) -> ProbeResult {
    let mut r = Runner::new().unwrap();
    let id = r
        .checker()
        .add(
            CheckSpec::new("once", CheckKind::Http(spec))
                .interval(Duration::from_secs(10))
                .timeout(Duration::from_secs(2)),
            Instant::now(),
        )
        .unwrap();
    let (_, ok) = drive(&mut r, Duration::from_secs(5), |c, _| {
        c.state(id).unwrap().results() >= 1
    });
    assert!(ok, "no result");
    r.checker().last_result(id).unwrap().clone()
}

#[test]
fn http_digest_of_the_body() {
    let (addr, reply, _) = http_server();
    let mut spec = HttpSpec::new(addr, "/");
    spec.body_md5 = Some(HEALTHY_MD5);
    let expected = |matched, md5| Detail::HttpStatus {
        status: 200,
        body_matched: None,
        digest: Some(BodyDigest { md5, matched }),
    };

    // The right body, with each framing: success.
    for (chunked, content_length) in [(false, true), (true, false), (false, false)] {
        *reply.lock().unwrap() = Reply {
            status: 200,
            body: "all healthy",
            chunked,
            content_length,
        };
        let res = probe_once(spec.clone());
        assert_eq!(res.outcome, Outcome::Success, "{}", res.detail);
        assert_eq!(res.detail, expected(true, HEALTHY_MD5));
    }

    // Another body: failure, and the detail says which MD5 came.
    reply.lock().unwrap().body = "degraded";
    let res = probe_once(spec.clone());
    assert_eq!(res.outcome, Outcome::Failure);
    assert_eq!(res.detail, expected(false, DEGRADED_MD5));
    assert_eq!(
        res.detail.to_string(),
        "HTTP 200, body MD5 8377f5fd94f84ea08829f36e1ded3b74 (not the expected one)"
    );

    // The right body with a status outside status_code: failure, the
    // status decides first (keepalived 2.x).
    *reply.lock().unwrap() = Reply {
        status: 500,
        body: "all healthy",
        chunked: false,
        content_length: true,
    };
    let res = probe_once(spec.clone());
    assert_eq!(res.outcome, Outcome::Failure);
    assert_eq!(
        res.detail,
        Detail::HttpStatus {
            status: 500,
            body_matched: None,
            digest: None
        }
    );
    // With 500 accepted, the digest decides.
    spec.expect_status = vec![500];
    assert_eq!(probe_once(spec.clone()).outcome, Outcome::Success);
    reply.lock().unwrap().body = "degraded";
    assert_eq!(probe_once(spec).outcome, Outcome::Failure);
}

#[test]
fn http_digest_of_a_body_longer_than_max_response() {
    // 200 kB, three times max_response: the MD5 covers all of it.
    let body: Vec<u8> = (0..200_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let served = body.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
                served.len()
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(&served);
        }
    });
    let md5 = std::process::Command::new("md5sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(&body)?;
            c.wait_with_output()
        })
        .unwrap();
    let hexs = String::from_utf8(md5.stdout).unwrap();
    let mut want = [0u8; 16];
    for (i, w) in want.iter_mut().enumerate() {
        *w = u8::from_str_radix(&hexs[2 * i..2 * i + 2], 16).unwrap();
    }
    let mut spec = HttpSpec::new(addr, "/");
    spec.body_md5 = Some(want);
    assert!(spec.max_response < body.len());
    let res = probe_once(spec.clone());
    assert_eq!(res.outcome, Outcome::Success, "{}", res.detail);
    want[0] ^= 1;
    spec.body_md5 = Some(want);
    assert_eq!(probe_once(spec).outcome, Outcome::Failure);
}

#[test]
fn http_status_set_and_garbage() {
    // A server speaking something else: malformed.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let _ = s.write_all(b"SSH-2.0-OpenSSH_9.6\r\n\r\n");
        }
    });
    let mut r = Runner::new().unwrap();
    let id = r
        .checker()
        .add(
            CheckSpec::new("garbage", CheckKind::Http(HttpSpec::new(addr, "/")))
                .interval(Duration::from_millis(50)),
            Instant::now(),
        )
        .unwrap();
    let (ev, ok) = drive(&mut r, Duration::from_secs(5), |_, ev| !ev.is_empty());
    assert!(ok);
    assert!(
        matches!(ev[0].result.detail, Detail::HttpMalformed(_)),
        "{:?}",
        ev[0]
    );
    assert!(r.checker().breakdown(100, &[id.into()]).fault);

    // Accepted statuses other than 2xx.
    let (addr, reply, _) = http_server();
    reply.lock().unwrap().status = 503;
    let mut spec = HttpSpec::new(addr, "/");
    spec.expect_status = vec![503];
    let id = r
        .checker()
        .add(
            CheckSpec::new("maint", CheckKind::Http(spec))
                .interval(Duration::from_millis(50))
                .init_fail(true),
            Instant::now(),
        )
        .unwrap();
    let (ev, ok) = drive(&mut r, Duration::from_secs(5), |_, ev| {
        ev.iter().any(|e| e.id == id)
    });
    assert!(ok);
    let e = ev.iter().find(|e| e.id == id).unwrap();
    assert_eq!(e.transition.to, Status::Ok);
}

#[test]
fn ipv6_tcp_and_http() {
    let Ok(l6) = TcpListener::bind("[::1]:0") else {
        eprintln!("SKIP: no IPv6 loopback");
        return;
    };
    let addr = l6.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in l6.incoming() {
            let Ok(mut s) = s else { continue };
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            let host_ok =
                String::from_utf8_lossy(&buf).contains(&format!("Host: [::1]:{}", addr.port()));
            let status = if host_ok { 204 } else { 400 };
            let _ =
                s.write_all(format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\n\r\n").as_bytes());
        }
    });
    let mut r = Runner::new().unwrap();
    let now = Instant::now();
    let t = r
        .checker()
        .add(
            CheckSpec::new("tcp6", CheckKind::Tcp(TcpSpec { addr })).init_fail(true),
            now,
        )
        .unwrap();
    let h = r
        .checker()
        .add(
            CheckSpec::new("http6", CheckKind::Http(HttpSpec::new(addr, "/"))).init_fail(true),
            now,
        )
        .unwrap();
    let (_, ok) = drive(&mut r, Duration::from_secs(5), |c, _| {
        c.state(t).unwrap().status() == Status::Ok && c.state(h).unwrap().status() == Status::Ok
    });
    let c = r.checker();
    assert!(ok, "{:?} {:?}", c.last_result(t), c.last_result(h));
    assert_eq!(
        r.checker().last_result(h).unwrap().detail,
        Detail::HttpStatus {
            status: 204,
            body_matched: None,
            digest: None,
        }
    );
}

#[test]
fn tcp_timeout_is_bounded() {
    // A listener with a full backlog never completes further handshakes on
    // Linux (SYNs are dropped), so the connect times out.
    let l = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    l.bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
        .unwrap();
    l.listen(0).unwrap();
    let addr = l.local_addr().unwrap().as_socket().unwrap();
    // Fill the backlog.
    let mut fillers = Vec::new();
    for _ in 0..4 {
        if let Ok(s) = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            fillers.push(s);
        }
    }
    let mut r = Runner::new().unwrap();
    let id = r
        .checker()
        .add(
            CheckSpec::new("tcp-timeout", CheckKind::Tcp(TcpSpec { addr }))
                .interval(Duration::from_millis(500))
                .timeout(Duration::from_millis(150)),
            Instant::now(),
        )
        .unwrap();
    let t0 = Instant::now();
    let (ev, ok) = drive(&mut r, Duration::from_secs(5), |_, ev| !ev.is_empty());
    assert!(ok);
    assert_eq!(ev[0].result.detail, Detail::TimedOut);
    assert!(t0.elapsed() < Duration::from_secs(1), "{:?}", t0.elapsed());
    assert_eq!(r.checker().stats().timeouts, 1);
    let _ = run_for(&mut r, Duration::from_millis(10));
    assert!(r.checker().state(id).is_some());
    drop(fillers);
}
