//! Validation of a real server's checkers (`tcp_check`, `http_get`,
//! `ssl_get`, `misc_check`): keepalived's defaults, URLs with their status
//! codes and digests, and SNI.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use healthcheck::TlsSpec;
use toml::Spanned;

use super::lvs::{
    DEFAULT_CONNECT_TIMEOUT, RawRsCheck, RawUrl, RsCheck, RsCheckKind, StatusCodes, UrlCheck,
};
use super::lvs_check::{CheckDefaults, dur, flag};
use super::validate::Cx;

impl Cx {
    pub(super) fn rs_check(
        &mut self,
        kind: &str,
        spanned: &Spanned<RawRsCheck>,
        rs: SocketAddr,
        d: &CheckDefaults,
    ) -> Option<RsCheck> {
        let c = spanned.get_ref();
        let http = kind == "http_get" || kind == "ssl_get";
        let misc = kind == "misc_check";
        let wrong = |present: bool, key: &str, cx: &mut Cx| {
            if present {
                cx.at(spanned, format!("`{key}` does not belong in {kind}"));
            }
        };
        wrong(!http && !c.url.is_empty(), "url", self);
        wrong(!http && c.virtualhost.is_some(), "virtualhost", self);
        let ssl = kind == "ssl_get";
        wrong(!ssl && c.enable_sni.is_some(), "enable_sni", self);
        wrong(!ssl && c.sni_name.is_some(), "sni_name", self);
        wrong(!misc && c.misc_path.is_some(), "misc_path", self);
        wrong(!misc && c.misc_timeout.is_some(), "misc_timeout", self);
        wrong(!misc && c.misc_dynamic.is_some(), "misc_dynamic", self);
        let ip = match &c.connect_ip {
            None => rs.ip(),
            Some(s) => match s.get_ref().parse::<IpAddr>() {
                Ok(ip) => ip,
                Err(_) => {
                    self.at(
                        s,
                        format!("connect_ip {:?} is not an IP address", s.get_ref()),
                    );
                    rs.ip()
                }
            },
        };
        let port = c.connect_port.as_ref().map_or(rs.port(), |p| *p.get_ref());
        if port == 0 && !misc {
            self.at(
                spanned,
                format!("{kind} needs a port: the real server's `port` or `connect_port`"),
            );
        }
        let kind_out = if misc {
            let Some(argv) = c.misc_path.as_ref() else {
                self.at(spanned, "misc_check needs `misc_path`");
                return None;
            };
            RsCheckKind::Misc {
                argv: argv.get_ref().0.clone(),
                timeout: dur(c.misc_timeout.as_ref()).unwrap_or(DEFAULT_CONNECT_TIMEOUT),
                dynamic: flag(c.misc_dynamic.as_ref()),
            }
        } else if http {
            if c.url.is_empty() {
                self.at(spanned, format!("{kind} needs at least one `url`"));
            }
            // keepalived: with enable_sni and no sni_name, a URL's own
            // virtualhost is its SNI.
            let by_url =
                ssl && c.sni_name.is_none() && c.enable_sni.as_ref().is_some_and(|e| *e.get_ref());
            let urls: Vec<UrlCheck> = c.url.iter().filter_map(|u| self.url(u, by_url)).collect();
            let all_named = by_url && !urls.is_empty() && urls.iter().all(|u| u.sni.is_some());
            let virtualhost = c
                .virtualhost
                .as_ref()
                .map(|v| v.get_ref().clone())
                .or_else(|| d.virtualhost.clone());
            RsCheckKind::Http {
                tls: ssl,
                urls,
                sni: if ssl && !all_named {
                    self.sni(c, virtualhost.as_deref())
                } else {
                    None
                },
                virtualhost,
            }
        } else {
            RsCheckKind::Tcp
        };
        // keepalived's defaults: retry 1 (0 for MISC_CHECK),
        // delay_before_retry 3 s for HTTP / SSL and 1 s otherwise.
        let retry_default = if misc { 0 } else { 1 };
        let dbr_default = Duration::from_secs(if http { 3 } else { 1 });
        let delay_loop = dur(c.delay_loop.as_ref()).unwrap_or(d.delay_loop);
        Some(RsCheck {
            kind: kind_out,
            connect: SocketAddr::new(ip, port),
            connect_timeout: dur(c.connect_timeout.as_ref())
                .or(d.connect_timeout)
                .unwrap_or(DEFAULT_CONNECT_TIMEOUT),
            retry: c
                .retry
                .as_ref()
                .map(|r| *r.get_ref())
                .or(d.retry)
                .unwrap_or(retry_default),
            delay_before_retry: dur(c.delay_before_retry.as_ref())
                .or(d.delay_before_retry)
                .unwrap_or(dbr_default),
            warmup: dur(c.warmup.as_ref()).or(d.warmup).unwrap_or(delay_loop),
            delay_loop,
        })
    }

    /// The SNI of an `ssl_get` (keepalived: `sni_name`, else with
    /// `enable_sni` the virtualhost of the check, else of the virtual
    /// server). A name that cannot be sent, or no name to send, is an
    /// error rather than a silent client hello without one.
    fn sni(&mut self, c: &RawRsCheck, virtualhost: Option<&str>) -> Option<String> {
        let enable = c.enable_sni.as_ref().map(|e| *e.get_ref());
        if let Some(n) = &c.sni_name {
            if let Some(e) = c.enable_sni.as_ref().filter(|_| enable == Some(false)) {
                self.at(
                    e,
                    "`enable_sni = false` contradicts `sni_name`, which sends SNI",
                );
            }
            if !TlsSpec::is_valid_sni(n.get_ref()) {
                self.at(
                    n,
                    format!(
                        "sni_name {:?} is not a DNS name (SNI names a host: no address, no port)",
                        n.get_ref()
                    ),
                );
            }
            return Some(n.get_ref().clone());
        }
        let e = c.enable_sni.as_ref().filter(|_| enable == Some(true))?;
        match virtualhost {
            Some(v) if TlsSpec::is_valid_sni(v) => Some(v.to_owned()),
            Some(v) => {
                self.at(
                    e,
                    format!(
                        "enable_sni would send the virtualhost {v:?}, which is not a DNS name (an address, or a port); set `sni_name`"
                    ),
                );
                None
            }
            None => {
                self.at(
                    e,
                    "enable_sni needs a name to send: `sni_name`, or a `virtualhost` here or on the virtual server",
                );
                None
            }
        }
    }

    /// One `url`; `sni_by_url`: its `virtualhost` is also its SNI.
    fn url(&mut self, u: &Spanned<RawUrl>, sni_by_url: bool) -> Option<UrlCheck> {
        let r = u.get_ref();
        if !r.path.get_ref().starts_with('/') {
            self.at(&r.path, "a url path starts with '/'");
        }
        let status = match &r.status_code {
            None => vec![(200, 299)],
            Some(s) => match status_ranges(s.get_ref()) {
                Some(v) => v,
                None => {
                    self.at(
                        s,
                        "status_code is a code (200) or a list of codes and ranges (\"200-299 503\") between 100 and 599",
                    );
                    return None;
                }
            },
        };
        let digest = match &r.digest {
            None => None,
            Some(d) => match md5_hex(d.get_ref()) {
                Some(x) => Some(x),
                None => {
                    self.at(d, "digest is an MD5 sum: 32 hexadecimal digits");
                    return None;
                }
            },
        };
        let virtualhost = r.virtualhost.as_ref().map(|v| v.get_ref().clone());
        let sni = match (&r.virtualhost, sni_by_url) {
            (Some(v), true) if TlsSpec::is_valid_sni(v.get_ref()) => Some(v.get_ref().clone()),
            (Some(v), true) => {
                self.at(
                    v,
                    format!(
                        "enable_sni would send this url's virtualhost {:?}, which is not a DNS name (an address, or a port); set `sni_name`",
                        v.get_ref()
                    ),
                );
                None
            }
            _ => None,
        };
        Some(UrlCheck {
            path: r.path.get_ref().clone(),
            status,
            digest,
            virtualhost,
            sni,
        })
    }
}

fn status_ranges(s: &StatusCodes) -> Option<Vec<(u16, u16)>> {
    let ok = |c: u16| (100..=599).contains(&c);
    match s {
        StatusCodes::One(c) => ok(*c).then(|| vec![(*c, *c)]),
        StatusCodes::Text(t) => {
            let mut out = Vec::new();
            for w in t.split_whitespace() {
                let (a, b) = match w.split_once('-') {
                    Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
                    None => {
                        let c = w.parse().ok()?;
                        (c, c)
                    }
                };
                if !ok(a) || !ok(b) || a > b {
                    return None;
                }
                out.push((a, b));
            }
            (!out.is_empty()).then_some(out)
        }
    }
}

fn md5_hex(s: &str) -> Option<[u8; 16]> {
    let s = s.trim();
    if s.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes() {
        let t = StatusCodes::Text("200-299 503".into());
        assert_eq!(status_ranges(&t), Some(vec![(200, 299), (503, 503)]));
        assert_eq!(status_ranges(&StatusCodes::Text("299-200".into())), None);
        assert_eq!(status_ranges(&StatusCodes::One(42)), None);
    }

    fn sni_of(check: &str) -> Result<Option<String>, String> {
        let text = format!(
            "[[virtual_server]]\naddress = \"192.0.2.1\"\nport = 443\n{}\
             [[virtual_server.real_server]]\naddress = \"10.0.0.1\"\n\
             [virtual_server.real_server.ssl_get]\nurl = [{{ path = \"/\" }}]\n{check}",
            if check.contains("VSHOST") {
                "virtualhost = \"vs.example.test\"\n"
            } else {
                ""
            }
        )
        .replace("# VSHOST\n", "");
        let c = crate::config::load_str(&text, "t.toml").map_err(|e| e.to_string())?;
        match &c.lvs.virtual_servers[0].real_servers[0].checks[0].kind {
            RsCheckKind::Http { sni, .. } => Ok(sni.clone()),
            k => panic!("{k:?}"),
        }
    }

    /// The first URL's SNI and the check's, with URLs `urls` (TOML).
    fn url_sni(urls: &str) -> Result<(Option<String>, Option<String>), String> {
        let text = format!(
            "[[virtual_server]]\naddress = \"192.0.2.1\"\nport = 443\n\
             [[virtual_server.real_server]]\naddress = \"10.0.0.1\"\n\
             [virtual_server.real_server.ssl_get]\nenable_sni = true\nurl = [{urls}]\n"
        );
        let c = crate::config::load_str(&text, "t.toml").map_err(|e| e.to_string())?;
        match &c.lvs.virtual_servers[0].real_servers[0].checks[0].kind {
            RsCheckKind::Http { urls, sni, .. } => Ok((urls[0].sni.clone(), sni.clone())),
            k => panic!("{k:?}"),
        }
    }

    #[test]
    fn a_url_s_virtualhost_names_its_sni() {
        // Every URL names one: no name is needed elsewhere.
        assert_eq!(
            url_sni("{ path = \"/\", virtualhost = \"u.example.test\" }"),
            Ok((Some("u.example.test".into()), None))
        );
        // One URL without: it needs the check's or the virtual server's.
        let e = url_sni("{ path = \"/\", virtualhost = \"u.example.test\" }, { path = \"/b\" }");
        assert!(
            e.as_ref()
                .is_err_and(|e| e.contains("enable_sni needs a name to send")),
            "{e:?}"
        );
        // An address cannot be an SNI.
        let e = url_sni("{ path = \"/\", virtualhost = \"192.0.2.9\" }");
        assert!(
            e.as_ref()
                .is_err_and(|e| e.contains("this url's virtualhost")),
            "{e:?}"
        );
    }

    #[test]
    fn sni_follows_keepalived() {
        assert_eq!(sni_of(""), Ok(None));
        assert_eq!(
            sni_of("sni_name = \"a.example.test\"\n"),
            Ok(Some("a.example.test".into()))
        );
        // enable_sni: the check's virtualhost, else the virtual server's.
        assert_eq!(
            sni_of("enable_sni = true\nvirtualhost = \"rs.example.test\"\n# VSHOST\n"),
            Ok(Some("rs.example.test".into()))
        );
        assert_eq!(
            sni_of("enable_sni = true\n# VSHOST\n"),
            Ok(Some("vs.example.test".into()))
        );
        // sni_name wins over the virtualhost.
        assert_eq!(
            sni_of("enable_sni = true\nsni_name = \"n.example.test\"\n# VSHOST\n"),
            Ok(Some("n.example.test".into()))
        );
        assert_eq!(sni_of("enable_sni = false\n# VSHOST\n"), Ok(None));
        let err = |check: &str| sni_of(check).err().unwrap_or_default();
        assert!(
            err("enable_sni = true\n").contains("t.toml:8:14: enable_sni needs a name to send"),
            "{}",
            err("enable_sni = true\n")
        );
        assert!(err("sni_name = \"10.0.0.1\"\n").contains("is not a DNS name"));
        assert!(
            err("enable_sni = true\nvirtualhost = \"www.example.test:8443\"\n")
                .contains("set `sni_name`")
        );
        assert!(
            err("enable_sni = false\nsni_name = \"a.example.test\"\n")
                .contains("contradicts `sni_name`")
        );
        // Only in ssl_get.
        let text = "[[virtual_server]]\naddress = \"192.0.2.1\"\nport = 80\n\
                    [[virtual_server.real_server]]\naddress = \"10.0.0.1\"\n\
                    [virtual_server.real_server.http_get]\nurl = [{ path = \"/\" }]\nenable_sni = true\n";
        let e = crate::config::load_str(text, "t.toml")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.contains("`enable_sni` does not belong in http_get"),
            "{e}"
        );
    }

    #[test]
    fn digests() {
        let d = md5_hex("9b3a0c85a887a256d6939da88aabd8cd");
        assert_eq!(d.map(|d| d[0]), Some(0x9b));
        assert_eq!(md5_hex("xyz"), None);
    }
}
