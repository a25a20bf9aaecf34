//! TCP and HTTP checks against real local servers.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{drive, run_for};
use healthcheck::{CheckKind, CheckSpec, Detail, HttpSpec, Outcome, Runner, Status, TcpSpec};

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
            body_matched: Some(true)
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
            body_matched: Some(false)
        }
    );
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
            body_matched: None
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
