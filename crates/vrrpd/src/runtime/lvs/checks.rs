//! A real server's checker, lowered to the health-check crate's specs with
//! keepalived's timing: an interval of `delay_loop`, a timeout of
//! `connect_timeout`, down after `retry + 1` failures `delay_before_retry`
//! apart, up after one success, the first probe spread over `warmup`.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant};

use healthcheck::{CheckKind, CheckSpec, ExecSpec, HttpSpec, TcpSpec};
use tracing::warn;

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
        } => {
            if *tls {
                warn!(
                    "LVS {} {}: ssl_get runs as a TCP connect check (TLS is not implemented yet)",
                    vs.name(),
                    rs.addr
                );
                vec![(
                    name(vs, rs, "ssl_get", i),
                    CheckKind::Tcp(TcpSpec { addr: c.connect }),
                    c.connect_timeout,
                )]
            } else {
                urls.iter()
                    .enumerate()
                    .map(|(u, url)| {
                        if url.digest.is_some() {
                            warn!(
                                "LVS {} {}: the digest of {} is not checked yet",
                                vs.name(),
                                rs.addr,
                                url.path
                            );
                        }
                        let mut h = HttpSpec::new(c.connect, url.path.clone());
                        h.host.clone_from(virtualhost);
                        h.expect_status = url.status.iter().flat_map(|(a, b)| *a..=*b).collect();
                        (
                            format!("{}.{u}", name(vs, rs, "http_get", i)),
                            CheckKind::Http(h),
                            c.connect_timeout,
                        )
                    })
                    .collect()
            }
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
    use super::dynamic_weight;

    #[test]
    fn misc_dynamic_weights_follow_keepalived() {
        assert_eq!(dynamic_weight(0, 5), Some(5));
        assert_eq!(dynamic_weight(1, 5), None);
        assert_eq!(dynamic_weight(12, 5), Some(10));
        assert_eq!(dynamic_weight(255, 5), Some(253));
        assert_eq!(dynamic_weight(300, 5), None);
    }
}
