//! The server against real sockets in a temporary directory.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream as StdStream;

use mio::{Events, Poll};

use super::*;
use crate::control::request;

fn server() -> (tempfile::TempDir, PathBuf, Poll, ControlServer) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sock");
    let poll = Poll::new().unwrap();
    let uid = nix::unistd::getuid().as_raw();
    let server = ControlServer::bind_for_uid(&path, poll.registry(), 100, uid).unwrap();
    (dir, path, poll, server)
}

/// Runs the server for `rounds` rounds of 10 ms, answering at most
/// `per_round` requests each round; returns the requests seen.
fn serve(s: &mut ControlServer, poll: &mut Poll, rounds: usize, per_round: usize) -> Vec<Request> {
    let mut got = Vec::new();
    let mut events = Events::with_capacity(64);
    for _ in 0..rounds {
        let wait = if s.has_backlog() { 0 } else { 10 };
        poll.poll(&mut events, Some(Duration::from_millis(wait)))
            .unwrap();
        let now = Instant::now();
        for ev in events.iter() {
            s.handle_event(poll.registry(), ev.token(), now);
        }
        s.accept_more(poll.registry(), now);
        for _ in 0..per_round {
            let Some((id, req)) = s.next_request(poll.registry(), now) else {
                break;
            };
            let answer = Response::ok(Some(serde_json::json!({"echo": format!("{req:?}")})));
            s.respond(poll.registry(), id, &answer, now);
            got.push(req);
        }
        s.handle_timeout(poll.registry(), now);
    }
    got
}

fn read_line(s: StdStream) -> String {
    let mut line = String::new();
    let _ = BufReader::new(s).read_line(&mut line);
    line
}

#[test]
fn requests_round_trip_with_the_version_and_garbage_gets_an_error() {
    let (_d, path, mut poll, mut server) = server();
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let p = path.clone();
    let client = std::thread::spawn(move || {
        let sw = Request::Switchover {
            instance: "VI_1".into(),
        };
        let a = request(&p, &sw, Duration::from_secs(5)).unwrap();
        let mut s = StdStream::connect(&p).unwrap();
        s.write_all(b"{\"cmd\":\"reboot\"}\n").unwrap();
        (a, read_line(s))
    });
    let got = serve(&mut server, &mut poll, 100, 10);
    let (a, bad) = client.join().unwrap();
    assert_eq!(
        got,
        [Request::Switchover {
            instance: "VI_1".into()
        }]
    );
    assert!(a.ok);
    assert_eq!(a.version, crate::control::VERSION);
    let bad: Response = serde_json::from_str(&bad).unwrap();
    assert!(!bad.ok);
    assert!(!bad.version.is_empty());
    assert!(bad.error.unwrap().contains("unknown variant `reboot`"));
    assert_eq!((server.stats.bad_requests, server.stats.requests), (1, 1));
}

#[test]
fn a_peer_with_another_uid_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sock");
    let mut poll = Poll::new().unwrap();
    let other = nix::unistd::getuid().as_raw().wrapping_add(1);
    let mut server = ControlServer::bind_for_uid(&path, poll.registry(), 100, other).unwrap();
    let p = path.clone();
    let client = std::thread::spawn(move || request(&p, &Request::Status, Duration::from_secs(5)));
    assert!(serve(&mut server, &mut poll, 50, 10).is_empty());
    let answer = client.join().unwrap().unwrap();
    assert!(!answer.ok);
    assert!(answer.error.unwrap().contains("root only"));
    assert_eq!(server.stats.refused, 1);
}

#[test]
fn an_overlong_request_is_rejected() {
    let (_d, path, mut poll, mut server) = server();
    let client = std::thread::spawn(move || {
        let mut s = StdStream::connect(&path).unwrap();
        let _ = s.write_all(&vec![b'x'; MAX_REQUEST + 10]);
        read_line(s)
    });
    assert!(serve(&mut server, &mut poll, 100, 10).is_empty());
    let line = client.join().unwrap();
    assert!(line.contains("request longer than"), "{line}");
    assert_eq!(server.connections(), 0);
}

#[test]
fn pipelined_requests_are_taken_only_as_fast_as_the_loop_answers() {
    let (_d, path, mut poll, mut server) = server();
    let mut s = StdStream::connect(&path).unwrap();
    s.set_nonblocking(true).unwrap();
    // Far more than one round answers; the writer gets only what fits.
    let burst = b"{\"cmd\":\"status\"}\n".repeat(200_000);
    let written = s.write(&burst).unwrap_or(0);
    assert!(written > 0);
    let got = serve(&mut server, &mut poll, 5, 3);
    assert_eq!(got.len(), 15, "three per round");
    // Answers queue up to the backlog limit, then reading stops.
    assert!(server.has_backlog() || server.connections() == 1);
}

#[test]
fn idle_connections_are_evicted_for_a_new_one_and_time_out() {
    let (_d, path, mut poll, mut server) = server();
    let idle: Vec<StdStream> = (0..MAX_CONNECTIONS_PER_PEER)
        .map(|_| StdStream::connect(&path).unwrap())
        .collect();
    serve(&mut server, &mut poll, 10, 10);
    assert_eq!(server.connections(), MAX_CONNECTIONS_PER_PEER);
    // Silent new connections are safe from eviction for a grace period.
    std::thread::sleep(super::NEW_CONNECTION_GRACE);
    let refused_before = server.stats.refused;
    let p = path.clone();
    let client = std::thread::spawn(move || request(&p, &Request::Status, Duration::from_secs(5)));
    let got = serve(&mut server, &mut poll, 50, 10);
    assert_eq!(got, [Request::Status]);
    assert!(client.join().unwrap().unwrap().ok);
    assert_eq!(server.stats.evicted, 1);
    assert_eq!(server.stats.refused, refused_before);
    // Time passes: every silent connection goes.
    let later = Instant::now() + IDLE_TIMEOUT;
    server.handle_timeout(poll.registry(), later);
    assert_eq!(server.connections(), 0);
    assert!(server.stats.timed_out >= 30);
    drop(idle);
}

#[test]
fn a_regular_file_at_the_socket_path_is_not_removed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sock");
    std::fs::write(&path, "precious").unwrap();
    let poll = Poll::new().unwrap();
    let e = ControlServer::bind(&path, poll.registry(), 100, None)
        .err()
        .unwrap();
    assert!(e.to_string().contains("is not a socket"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious");
}

#[test]
fn a_group_member_gets_status_only() {
    let (_d, path, mut poll, mut server) = server();
    // This process's own gid stands for the control group; a uid that is
    // not "root" for this server makes it a member, not the owner.
    let gid = nix::unistd::getgid().as_raw();
    server.allowed_uid = nix::unistd::getuid().as_raw().wrapping_add(1);
    server.group = Some((gid, Vec::new()));
    let p = path.clone();
    let client = std::thread::spawn(move || {
        let st = request(&p, &Request::Status, Duration::from_secs(5)).unwrap();
        let m = Request::Maintenance {
            instance: "VI_1".into(),
            on: true,
        };
        (st, request(&p, &m, Duration::from_secs(5)).unwrap())
    });
    let got = serve(&mut server, &mut poll, 100, 10);
    let (st, m) = client.join().unwrap();
    assert_eq!(got, [Request::Status]);
    assert!(st.ok);
    assert!(!m.ok);
    assert!(m.error.unwrap().contains("only root"));
}

#[test]
fn connections_with_unread_requests_are_not_evicted_and_the_client_retries() {
    let (_d, path, mut poll, mut server) = server();
    let busy: Vec<StdStream> = (0..MAX_CONNECTIONS_PER_PEER)
        .map(|_| {
            let mut s = StdStream::connect(&path).unwrap();
            s.write_all(b"{\"cmd\":\"status\"}\n").unwrap();
            s
        })
        .collect();
    let p = path.clone();
    let client = std::thread::spawn(move || request(&p, &Request::Status, Duration::from_secs(5)));
    // The loop accepts but answers nothing: every connection stays busy.
    let mut events = Events::with_capacity(64);
    for _ in 0..60 {
        poll.poll(&mut events, Some(Duration::from_millis(10)))
            .unwrap();
        let now = Instant::now();
        for ev in events.iter() {
            server.handle_event(poll.registry(), ev.token(), now);
        }
        server.accept_more(poll.registry(), now);
    }
    let answer = client.join().unwrap().unwrap();
    assert!(!answer.ok);
    assert_eq!(answer.error.as_deref(), Some(crate::control::BUSY));
    assert_eq!(server.stats.refused, 5, "asked five times");
    assert_eq!(server.stats.evicted, 0);
    assert_eq!(server.connections(), MAX_CONNECTIONS_PER_PEER);
    // Served, they become idle and make room.
    assert_eq!(
        serve(&mut server, &mut poll, 20, 64).len(),
        MAX_CONNECTIONS_PER_PEER
    );
    let p = path.clone();
    let client = std::thread::spawn(move || request(&p, &Request::Status, Duration::from_secs(5)));
    serve(&mut server, &mut poll, 50, 10);
    assert!(client.join().unwrap().unwrap().ok);
    assert_eq!(server.stats.evicted, 1);
    drop(busy);
}
