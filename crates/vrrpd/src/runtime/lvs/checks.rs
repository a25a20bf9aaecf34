//! A real server's checker, lowered to the health-check crate's specs with
//! keepalived's timing: an interval of `delay_loop`, a timeout of
//! `connect_timeout`, down after `retry + 1` failures `delay_before_retry`
//! apart, up after one success, the first probe spread over `warmup`.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant};

use healthcheck::{CheckKind, CheckSpec, ExecSpec, HttpSpec, TcpSpec, TlsSpec};

use crate::config::lvs::{RealServer, RsCheck, RsCheckKind, VirtualServer};

/// The checker's name: `lvs TCP 192.0.2.1:80 10.0.0.1:80 tcp_check`.
fn name(vs: &VirtualServer, rs: &RealServer, what: &str, i: usize) -> String {
    format!("lvs {} {} {what}{i}", vs.name(), rs.addr)
}

/// When the first probe of `name` is due: spread over `warmup` by a hash
/// of the name (keepalived picks at random; a hash keeps runs
/// reproducible).
fn first_due(name: &str, warmup: Duration, now: Instant) -> Instant {
    let ms = u64::try_from(warmup.as_millis()).unwrap_or(u64::MAX);
    if ms == 0 {
        return now;
    }
    let mut h = DefaultHasher::new();
    name.hash(&mut h);
    now + Duration::from_millis(h.finish() % ms)
}

/// The weight `misc_dynamic` gives for exit status `code`: 2-255 set it
/// to `code - 2`; 0 keeps the configured one; anything else is no answer.
pub(super) fn dynamic_weight(code: i32, configured: u32) -> Option<u32> {
    match code {
        0 => Some(configured),
        2..=255 => u32::try_from(code - 2).ok(),
        _ => None,
    }
}

/// The specs of check `c` (number `i` of `rs`): one per URL for HTTP.
/// They start failed when the real server is down (`alpha`, or down
/// before a reload or a suspension), so that one success brings it back.
pub(super) fn specs(
    vs: &VirtualServer,
    rs: &RealServer,
    c: &RsCheck,
    i: usize,
    start_failed: bool,
    now: Instant,
) -> Vec<(CheckSpec, Instant)> {
    let kinds: Vec<(String, CheckKind, Duration)> = match &c.kind {
        RsCheckKind::Tcp => vec![(
            name(vs, rs, "tcp_check", i),
            CheckKind::Tcp(TcpSpec { addr: c.connect }),
            c.connect_timeout,
        )],
        RsCheckKind::Http {
            tls,
            urls,
            virtualhost,
            sni,
        } => {
            // keepalived's SSL_GET is its HTTP_GET over TLS: the same
            // request and verdict (status_code, then digest) per URL.
            let what = if *tls { "ssl_get" } else { "http_get" };
            urls.iter()
                .enumerate()
                .map(|(u, url)| {
                    let mut h = HttpSpec::new(c.connect, url.path.clone());
                    h.host = url.virtualhost.clone().or_else(|| virtualhost.clone());
                    h.expect_status = url.status.iter().flat_map(|(a, b)| *a..=*b).collect();
                    h.body_md5 = url.digest;
                    h.tls = tls.then(|| TlsSpec {
                        sni: url.sni.clone().or_else(|| sni.clone()),
                    });
                    (
                        format!("{}.{u}", name(vs, rs, what, i)),
                        CheckKind::Http(h),
                        c.connect_timeout,
                    )
                })
                .collect()
        }
        RsCheckKind::Misc {
            argv,
            timeout,
            dynamic,
        } => {
            let mut e = ExecSpec::new(argv.iter().cloned());
            e.dynamic_exit = *dynamic;
            vec![(name(vs, rs, "misc_check", i), CheckKind::Exec(e), *timeout)]
        }
    };
    kinds
        .into_iter()
        .map(|(n, kind, timeout)| {
            let due = first_due(&n, c.warmup, now);
            let spec = CheckSpec::new(n, kind)
                .interval(c.delay_loop)
                .timeout(timeout)
                .rise(1)
                .fall(c.retry.saturating_add(1))
                .weight(0)
                .init_fail(start_failed)
                .retry_interval(c.delay_before_retry);
            (spec, due)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use healthcheck::{CheckKind, TlsSpec};

    use super::{dynamic_weight, specs};

    /// The health-check specs of the first check of the first real server.
    fn lowered(toml: &str) -> Vec<CheckKind> {
        let c = crate::config::load_str(toml, "t.toml").unwrap();
        let vs = &c.lvs.virtual_servers[0];
        let rs = &vs.real_servers[0];
        specs(vs, rs, &rs.checks[0], 0, vs.alpha, Instant::now())
            .into_iter()
            .map(|(s, _)| s.kind)
            .collect()
    }

    const VS: &str = "[[virtual_server]]\naddress = \"192.0.2.1\"\nport = 443\n\
                      virtualhost = \"www.example.test\"\n\
                      [[virtual_server.real_server]]\naddress = \"10.0.0.1\"\n";

    #[test]
    fn a_url_s_virtualhost_is_its_host_and_with_enable_sni_its_sni() {
        let toml = format!(
            "{VS}[virtual_server.real_server.ssl_get]\nenable_sni = true\n\
             url = [{{ path = \"/a\", virtualhost = \"a.example.test\" }}, {{ path = \"/b\" }}]\n"
        );
        let hosts: Vec<_> = lowered(&toml)
            .into_iter()
            .map(|k| match k {
                CheckKind::Http(h) => (h.host, h.tls.and_then(|t| t.sni)),
                k => panic!("{k:?}"),
            })
            .collect();
        // URL /a its own; URL /b the virtual server's.
        let own = Some("a.example.test".to_owned());
        let vs = Some("www.example.test".to_owned());
        assert_eq!(hosts, [(own.clone(), own), (vs.clone(), vs)]);
        // Without enable_sni the URL's virtualhost is its Host only.
        let toml = toml.replace("enable_sni = true\n", "");
        let CheckKind::Http(a) = &lowered(&toml)[0] else {
            panic!()
        };
        assert_eq!(a.host.as_deref(), Some("a.example.test"));
        assert_eq!(a.tls, Some(TlsSpec { sni: None }));
    }

    #[test]
    fn ssl_get_is_http_get_over_tls_with_digest_and_sni() {
        let toml = format!(
            "{VS}[virtual_server.real_server.ssl_get]\nenable_sni = true\n\
             url = [{{ path = \"/a\", digest = \"9b3a0c85a887a256d6939da88aabd8cd\" }}, \
                    {{ path = \"/b\", status_code = 503 }}]\n"
        );
        let kinds = lowered(&toml);
        assert_eq!(kinds.len(), 2);
        let CheckKind::Http(a) = &kinds[0] else {
            panic!("{:?}", kinds[0])
        };
        assert_eq!(a.addr, "10.0.0.1:443".parse().unwrap());
        assert_eq!(a.path, "/a");
        assert_eq!(a.host.as_deref(), Some("www.example.test"));
        assert_eq!(
            a.tls,
            Some(TlsSpec {
                sni: Some("www.example.test".to_owned())
            })
        );
        assert_eq!(a.body_md5.map(|d| d[0]), Some(0x9b));
        assert_eq!(a.expect_status, (200..=299).collect::<Vec<u16>>());
        let CheckKind::Http(b) = &kinds[1] else {
            panic!("{:?}", kinds[1])
        };
        assert_eq!((b.body_md5, b.expect_status.as_slice()), (None, &[503][..]));

        // Without enable_sni: TLS, no SNI.
        let toml =
            format!("{VS}[virtual_server.real_server.ssl_get]\nurl = [{{ path = \"/\" }}]\n");
        let kinds = lowered(&toml);
        assert!(matches!(&kinds[0], CheckKind::Http(h) if h.tls == Some(TlsSpec { sni: None })));

        // http_get: no TLS, the digest compared all the same.
        let toml = format!(
            "{VS}[virtual_server.real_server.http_get]\n\
             url = [{{ path = \"/\", digest = \"9b3a0c85a887a256d6939da88aabd8cd\" }}]\n"
        );
        let kinds = lowered(&toml);
        assert!(
            matches!(&kinds[0], CheckKind::Http(h) if h.tls.is_none() && h.body_md5.is_some()),
            "{kinds:?}"
        );
    }

    #[test]
    fn misc_dynamic_weights_follow_keepalived() {
        assert_eq!(dynamic_weight(0, 5), Some(5));
        assert_eq!(dynamic_weight(1, 5), None);
        assert_eq!(dynamic_weight(12, 5), Some(10));
        assert_eq!(dynamic_weight(255, 5), Some(253));
        assert_eq!(dynamic_weight(300, 5), None);
    }
}
