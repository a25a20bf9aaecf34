//! HTTPS checks (keepalived's SSL_GET) against a real rustls server on
//! 127.0.0.1 with a self-signed certificate made at test time: status and
//! digest, SNI, and the ways a TLS server fails (plain HTTP, a close in the
//! handshake, silence).
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::drive;
use healthcheck::{
    BodyDigest, CheckKind, CheckSpec, ConfigError, Detail, Error, HttpSpec, Outcome, ProbeResult,
    Runner, TcpSpec, TlsSpec,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// `printf 'all healthy' | md5sum`, computed outside this code.
const HEALTHY_MD5: [u8; 16] = [
    0xeb, 0x3c, 0x6b, 0x56, 0xb9, 0xc3, 0xaa, 0x46, 0x94, 0x2c, 0x68, 0x98, 0x32, 0x3a, 0xe1, 0x6a,
];

/// What the server does with the next connections.
#[derive(Clone)]
enum Mode {
    /// TLS, then this HTTP response.
    Https {
        status: u16,
        body: &'static str,
        /// Content-Length and close_notify (otherwise: the body runs to
        /// a close without close_notify).
        tidy: bool,
    },
    /// Plain HTTP: an HTTP error answers the client hello, as a web
    /// server on a plain port does.
    Plain,
    /// Reads the client hello, then closes.
    CloseInHandshake,
    /// Accepts and never answers.
    Silent,
}

struct Server {
    addr: SocketAddr,
    mode: Arc<Mutex<Mode>>,
    /// The SNI of each completed handshake (`None`: none was sent).
    sni: Arc<Mutex<Vec<Option<String>>>>,
}

fn tls_config() -> Arc<rustls::ServerConfig> {
    let ck = rcgen::generate_simple_self_signed(vec!["rs1.example.test".to_owned()]).unwrap();
    let cert = CertificateDer::from(ck.cert.der().to_vec());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .unwrap(),
    )
}

fn read_head(r: &mut impl Read) -> Option<Vec<u8>> {
    let mut req = Vec::new();
    let mut buf = [0u8; 1024];
    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
        match r.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => req.extend_from_slice(&buf[..n]),
        }
    }
    Some(req)
}

fn serve(
    mut tcp: TcpStream,
    mode: Mode,
    config: &Arc<rustls::ServerConfig>,
    sni: &Mutex<Vec<Option<String>>>,
    silent: &Mutex<Vec<TcpStream>>,
) {
    tcp.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    match mode {
        Mode::Silent => silent.lock().unwrap().push(tcp),
        Mode::CloseInHandshake => {
            let mut buf = [0u8; 512];
            let _ = tcp.read(&mut buf);
        }
        Mode::Plain => {
            let mut buf = [0u8; 512];
            let _ = tcp.read(&mut buf);
            let _ = tcp.write_all(
                b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
        Mode::Https { status, body, tidy } => {
            let conn = rustls::ServerConnection::new(Arc::clone(config)).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            if read_head(&mut tls).is_none() {
                return;
            }
            sni.lock()
                .unwrap()
                .push(tls.conn.server_name().map(str::to_owned));
            let resp = if tidy {
                format!(
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
            } else {
                format!("HTTP/1.1 {status} X\r\nConnection: close\r\n\r\n{body}")
            };
            let _ = tls.write_all(resp.as_bytes());
            if tidy {
                tls.conn.send_close_notify();
            }
            let _ = tls.flush();
        }
    }
}

fn server(mode: Mode) -> Server {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let mode = Arc::new(Mutex::new(mode));
    let sni = Arc::new(Mutex::new(Vec::new()));
    let (m, seen) = (Arc::clone(&mode), Arc::clone(&sni));
    let config = tls_config();
    std::thread::spawn(move || {
        let silent = Mutex::new(Vec::new());
        for s in l.incoming() {
            let Ok(s) = s else { continue };
            let mode = m.lock().unwrap().clone();
            serve(s, mode, &config, &seen, &silent);
        }
    });
    Server { addr, mode, sni }
}

fn https(addr: SocketAddr) -> HttpSpec {
    let mut spec = HttpSpec::new(addr, "/health");
    spec.tls = Some(TlsSpec::default());
    spec
}

/// Runs `spec` once (timeout `timeout`) and returns its result.
fn probe_once(spec: HttpSpec, timeout: Duration) -> ProbeResult {
    let mut r = Runner::new().unwrap();
    let id = r
        .checker()
        .add(
            CheckSpec::new("once", CheckKind::Http(spec))
                .interval(Duration::from_secs(10))
                .timeout(timeout),
            Instant::now(),
        )
        .unwrap();
    let (_, ok) = drive(&mut r, Duration::from_secs(10), |c, _| {
        c.state(id).unwrap().results() >= 1
    });
    assert!(ok, "no result");
    r.checker().last_result(id).unwrap().clone()
}

#[test]
fn https_status_and_digest() {
    let s = server(Mode::Https {
        status: 200,
        body: "all healthy",
        tidy: true,
    });
    let mut spec = https(s.addr);
    spec.body_md5 = Some(HEALTHY_MD5);
    let good = Detail::HttpStatus {
        status: 200,
        body_matched: None,
        digest: Some(BodyDigest {
            md5: HEALTHY_MD5,
            matched: true,
        }),
    };

    // 200 with the right digest: success, though the certificate is
    // self-signed for another name (keepalived does not verify it).
    let res = probe_once(spec.clone(), Duration::from_secs(2));
    assert_eq!(res.outcome, Outcome::Success, "{}", res.detail);
    assert_eq!(res.detail, good);
    // No SNI unless asked for.
    assert_eq!(*s.sni.lock().unwrap(), [None]);

    // The same body to the close, without close_notify: still success.
    *s.mode.lock().unwrap() = Mode::Https {
        status: 200,
        body: "all healthy",
        tidy: false,
    };
    let res = probe_once(spec.clone(), Duration::from_secs(2));
    assert_eq!(res.outcome, Outcome::Success, "{}", res.detail);
    assert_eq!(res.detail, good);

    // Another body: the digest fails.
    *s.mode.lock().unwrap() = Mode::Https {
        status: 200,
        body: "degraded",
        tidy: true,
    };
    let res = probe_once(spec.clone(), Duration::from_secs(2));
    assert_eq!(res.outcome, Outcome::Failure);
    assert!(
        matches!(
            res.detail,
            Detail::HttpStatus {
                status: 200,
                digest: Some(BodyDigest { matched: false, .. }),
                ..
            }
        ),
        "{:?}",
        res.detail
    );

    // The right body with a wrong status: the status fails first.
    *s.mode.lock().unwrap() = Mode::Https {
        status: 503,
        body: "all healthy",
        tidy: true,
    };
    let res = probe_once(spec, Duration::from_secs(2));
    assert_eq!(res.outcome, Outcome::Failure);
    assert_eq!(
        res.detail,
        Detail::HttpStatus {
            status: 503,
            body_matched: None,
            digest: None
        }
    );
}

#[test]
fn sni_is_sent_when_named() {
    let s = server(Mode::Https {
        status: 200,
        body: "ok",
        tidy: true,
    });
    let mut spec = https(s.addr);
    spec.tls = Some(TlsSpec {
        sni: Some("www.example.test".to_owned()),
    });
    let res = probe_once(spec.clone(), Duration::from_secs(2));
    assert_eq!(res.outcome, Outcome::Success, "{}", res.detail);
    assert_eq!(
        *s.sni.lock().unwrap(),
        [Some("www.example.test".to_owned())]
    );

    // An address or a name with a port is no SNI: refused when added.
    for bad in ["192.0.2.1", "www.example.test:443"] {
        spec.tls = Some(TlsSpec {
            sni: Some(bad.to_owned()),
        });
        let mut r = Runner::new().unwrap();
        let e = r
            .checker()
            .add(
                CheckSpec::new("bad", CheckKind::Http(spec.clone())),
                Instant::now(),
            )
            .unwrap_err();
        assert!(
            matches!(&e, Error::Config { source: ConfigError::BadSni(n), .. } if n == bad),
            "{e}"
        );
    }
}

#[test]
fn https_fails_on_plain_http_and_on_a_close_in_the_handshake() {
    // rustls: "received corrupt message of type InvalidContentType".
    let s = server(Mode::Plain);
    let res = probe_once(https(s.addr), Duration::from_secs(2));
    assert_eq!(res.outcome, Outcome::Failure);
    assert!(
        matches!(
            &res.detail,
            Detail::Tls {
                handshake: true,
                ..
            }
        ),
        "{:?}",
        res.detail
    );

    *s.mode.lock().unwrap() = Mode::CloseInHandshake;
    let res = probe_once(https(s.addr), Duration::from_secs(2));
    assert_eq!(res.outcome, Outcome::Failure);
    assert_eq!(
        res.detail,
        Detail::Tls {
            handshake: true,
            reason: "the server closed the connection".to_owned()
        }
    );
    assert_eq!(
        res.detail.to_string(),
        "TLS handshake failed: the server closed the connection"
    );
    // Nothing got as far as a request.
    assert!(s.sni.lock().unwrap().is_empty());
}

#[test]
fn a_silent_handshake_times_out_without_blocking_other_checks() {
    let s = server(Mode::Silent);
    // A TCP check beside it, every 20 ms, on the same loop.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut r = Runner::new().unwrap();
    let now = Instant::now();
    let tcp = r
        .checker()
        .add(
            CheckSpec::new(
                "tcp",
                CheckKind::Tcp(TcpSpec {
                    addr: l.local_addr().unwrap(),
                }),
            )
            .interval(Duration::from_millis(20)),
            now,
        )
        .unwrap();
    let id = r
        .checker()
        .add(
            CheckSpec::new("silent", CheckKind::Http(https(s.addr)))
                .interval(Duration::from_secs(10))
                .timeout(Duration::from_millis(400)),
            now,
        )
        .unwrap();
    let t0 = Instant::now();
    let (_, ok) = drive(&mut r, Duration::from_secs(5), |c, _| {
        c.state(id).unwrap().results() >= 1
    });
    assert!(ok);
    let elapsed = t0.elapsed();
    let res = r.checker().last_result(id).unwrap().clone();
    assert_eq!(res.detail, Detail::TimedOut);
    assert!(
        elapsed >= Duration::from_millis(380) && elapsed < Duration::from_secs(2),
        "{elapsed:?}"
    );
    // The TCP check kept running meanwhile.
    let n = r.checker().state(tcp).unwrap().results();
    assert!(n >= 5, "only {n} TCP results during the TLS timeout");
}
