//! Validation of `[lvs]` and `[[virtual_server]]` (`lvs.rs`): every
//! problem with its position, keepalived's defaults filled in.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use ipvs_netlink::{Family, ForwardMethod, Protocol, ServiceKey};
use toml::Spanned;

use super::lvs::{
    DEFAULT_DELAY_LOOP, LvsConfig, RawLvs, RawRealServer, RawVirtualServer, RealServer,
    SyncDaemonConfig, VirtualServer,
};
use super::raw::Argv;
use super::validate::Cx;

/// The schedulers IPVS has (keepalived's list).
const SCHEDULERS: [&str; 14] = [
    "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos",
];

/// Defaults a virtual server passes to its checkers.
pub(super) struct CheckDefaults {
    pub(super) delay_loop: Duration,
    pub(super) connect_timeout: Option<Duration>,
    pub(super) retry: Option<u32>,
    pub(super) delay_before_retry: Option<Duration>,
    pub(super) warmup: Option<Duration>,
    pub(super) virtualhost: Option<String>,
}

impl Cx {
    /// `[lvs]` and every `[[virtual_server]]`; `instances` are the names
    /// of the file's instances (for `sync_daemon.instance`).
    pub(crate) fn lvs(
        &mut self,
        raw: Option<&Spanned<RawLvs>>,
        vss: &[Spanned<RawVirtualServer>],
        instances: &HashMap<String, usize>,
    ) -> LvsConfig {
        let mut out = LvsConfig::default();
        if let Some(l) = raw.map(Spanned::get_ref) {
            out.keep_on_stop = l.keep_on_stop.as_ref().is_some_and(|b| *b.get_ref());
            if let Some(s) = &l.sync_daemon {
                let s = s.get_ref();
                if !instances.contains_key(s.instance.get_ref()) {
                    let name = s.instance.get_ref().clone();
                    self.no_such(&s.instance, "instance", &name, instances);
                }
                out.sync_daemon = Some(SyncDaemonConfig {
                    interface: s.interface.get_ref().clone(),
                    instance: s.instance.get_ref().clone(),
                    id: s.id.as_ref().map_or(0, |i| *i.get_ref()),
                });
            }
        }
        let mut seen: HashMap<ServiceKey, usize> = HashMap::new();
        for v in vss {
            let Some(vs) = self.virtual_server(v) else {
                continue;
            };
            if let Some(&first) = seen.get(&vs.key) {
                self.dup(
                    v,
                    format!("virtual server {} is already defined", vs.name()),
                    first,
                );
                continue;
            }
            seen.insert(vs.key, v.span().start);
            out.virtual_servers.push(vs);
        }
        out
    }

    fn virtual_server(&mut self, spanned: &Spanned<RawVirtualServer>) -> Option<VirtualServer> {
        let before = self.diags.len();
        let r = spanned.get_ref();
        let key = self.vs_key(spanned)?;
        let scheduler = r.lb_algo.as_ref().map_or("wlc", |s| s.get_ref().as_str());
        if let Some(s) = r
            .lb_algo
            .as_ref()
            .filter(|_| !SCHEDULERS.contains(&scheduler))
        {
            let hint = super::suggest::closest(scheduler, SCHEDULERS)
                .map_or_else(String::new, |k| format!("; did you mean {k:?}?"));
            self.at(s, format!("unknown lb_algo {scheduler:?}{hint}"));
        }
        let forward = self.forwarding(
            r.lb_kind.as_ref(),
            r.tunnel.as_ref(),
            ForwardMethod::Masq,
            "lb_kind",
        );
        let sorry_forward = self.forwarding(
            r.sorry_server_lb_kind.as_ref(),
            r.sorry_server_tunnel.as_ref(),
            forward,
            "sorry_server_lb_kind",
        );
        let max_prefix = key.family().max_prefix();
        let granularity = r.persistence_granularity.as_ref().and_then(|g| {
            let p = prefix_of(g.get_ref(), max_prefix);
            if p.is_none() {
                self.at(
                    g,
                    format!(
                        "persistence_granularity must be a netmask (\"255.255.255.0\") or a prefix length up to {max_prefix}"
                    ),
                );
            }
            p
        });
        let delay_loop = dur(r.delay_loop.as_ref()).unwrap_or(DEFAULT_DELAY_LOOP);
        if delay_loop.is_zero() {
            if let Some(d) = &r.delay_loop {
                self.at(d, "delay_loop must be greater than zero");
            }
        }
        let sorry_server = r.sorry_server.as_ref().and_then(|s| {
            let a = socket_or_ip(s.get_ref(), port_of(&key));
            match a {
                None => self.at(s, "sorry_server must be ADDRESS or ADDRESS:PORT"),
                Some(a) => {
                    self.forwarded_port(s, a.port(), sorry_forward, &key, "the sorry server")
                }
            }
            a
        });
        let defaults = CheckDefaults {
            delay_loop,
            connect_timeout: dur(r.connect_timeout.as_ref()),
            retry: r.retry.as_ref().map(|x| *x.get_ref()),
            delay_before_retry: dur(r.delay_before_retry.as_ref()),
            warmup: dur(r.warmup.as_ref()),
            virtualhost: r.virtualhost.as_ref().map(|v| v.get_ref().clone()),
        };
        let real_servers = self.real_servers(r, &key, forward, &defaults);
        let vs = VirtualServer {
            key,
            scheduler: scheduler.to_owned(),
            forward,
            persistence_timeout: r.persistence_timeout.as_ref().map(|t| *t.get_ref()),
            persistence_granularity: granularity,
            delay_loop,
            quorum: r.quorum.as_ref().map_or(1, |q| *q.get_ref()),
            hysteresis: r.hysteresis.as_ref().map_or(0, |h| *h.get_ref()),
            quorum_up: self.hook(r.quorum_up.as_ref()),
            quorum_down: self.hook(r.quorum_down.as_ref()),
            sorry_server,
            sorry_server_inhibit: flag(r.sorry_server_inhibit.as_ref()),
            sorry_forward,
            alpha: flag(r.alpha.as_ref()),
            omega: flag(r.omega.as_ref()),
            smtp_alert: r.smtp_alert.as_ref().map(|b| *b.get_ref()),
            ha_suspend: flag(r.ha_suspend.as_ref()),
            virtualhost: defaults.virtualhost.clone(),
            real_servers,
        };
        (self.diags.len() == before).then_some(vs)
    }

    /// The real servers of `r`, each once (a second of the same address
    /// and port is an error).
    fn real_servers(
        &mut self,
        r: &RawVirtualServer,
        key: &ServiceKey,
        forward: ForwardMethod,
        defaults: &CheckDefaults,
    ) -> Vec<RealServer> {
        let inhibit = flag(r.inhibit_on_failure.as_ref());
        let mut out = Vec::new();
        let mut seen: HashMap<SocketAddr, usize> = HashMap::new();
        for rs in &r.real_server {
            let Some(x) = self.real_server(rs, key, forward, inhibit, defaults) else {
                continue;
            };
            if let Some(&first) = seen.get(&x.addr) {
                self.dup(
                    rs,
                    format!("real server {} is already in this virtual server", x.addr),
                    first,
                );
                continue;
            }
            seen.insert(x.addr, rs.span().start);
            out.push(x);
        }
        out
    }

    /// The service key: `address` + `port` + `protocol`, or `fwmark`.
    fn vs_key(&mut self, spanned: &Spanned<RawVirtualServer>) -> Option<ServiceKey> {
        let r = spanned.get_ref();
        let protocol = match r.protocol.as_ref() {
            None => Protocol::Tcp,
            Some(p) => match p.get_ref().to_ascii_uppercase().as_str() {
                "TCP" => Protocol::Tcp,
                "UDP" => Protocol::Udp,
                "SCTP" => Protocol::Sctp,
                other => {
                    self.at(
                        p,
                        format!("protocol must be TCP, UDP or SCTP, not {other:?}"),
                    );
                    Protocol::Tcp
                }
            },
        };
        match (&r.address, &r.fwmark) {
            (Some(a), None) => {
                let Ok(addr) = a.get_ref().parse::<IpAddr>() else {
                    self.at(a, format!("{:?} is not an IP address", a.get_ref()));
                    return None;
                };
                let port = r.port.as_ref().map_or(0, |p| *p.get_ref());
                if port == 0 && r.persistence_timeout.is_none() {
                    self.at(
                        a,
                        "a virtual server on an address needs `port` (port 0 only with persistence_timeout)",
                    );
                }
                Some(ServiceKey::Addr {
                    addr,
                    port,
                    protocol,
                })
            }
            (None, Some(m)) => {
                if *m.get_ref() == 0 {
                    self.at(m, "fwmark must be greater than zero");
                }
                if let Some(p) = &r.port {
                    self.at(p, "a firewall-mark virtual server has no `port`");
                }
                let v6 = r.real_server.iter().any(|rs| {
                    rs.get_ref()
                        .address
                        .as_ref()
                        .is_some_and(|a| a.get_ref().contains(':'))
                });
                Some(if v6 {
                    ServiceKey::fwmark6(*m.get_ref())
                } else {
                    ServiceKey::fwmark(*m.get_ref())
                })
            }
            (Some(a), Some(_)) => {
                self.at(a, "a virtual server has `address` or `fwmark`, not both");
                None
            }
            (None, None) => {
                if !spanned
                    .get_ref()
                    .dropped
                    .iter()
                    .any(|k| k == "address" || k == "fwmark")
                {
                    self.at(
                        spanned,
                        "a virtual server needs `address` (with `port`) or `fwmark`",
                    );
                }
                None
            }
        }
    }

    fn real_server(
        &mut self,
        spanned: &Spanned<RawRealServer>,
        vs: &ServiceKey,
        forward: ForwardMethod,
        inhibit: bool,
        d: &CheckDefaults,
    ) -> Option<RealServer> {
        let r = spanned.get_ref();
        let Some(a) = &r.address else {
            self.at(spanned, "a real server needs `address`");
            return None;
        };
        let Ok(ip) = a.get_ref().parse::<IpAddr>() else {
            self.at(a, format!("{:?} is not an IP address", a.get_ref()));
            return None;
        };
        let forward = self.forwarding(r.lb_kind.as_ref(), r.tunnel.as_ref(), forward, "lb_kind");
        let tunnel = matches!(forward, ForwardMethod::Tunnel(_));
        if !tunnel && Family::of(&ip) != vs.family() {
            self.at(
                a,
                "a real server's address family must be the virtual server's (except with lb_kind TUN)",
            );
        }
        if let Some(p) = &r.port {
            self.forwarded_port(p, *p.get_ref(), forward, vs, "a real server");
        }
        let port = r
            .port
            .as_ref()
            .map_or_else(|| port_of(vs), |p| *p.get_ref());
        let addr = SocketAddr::new(ip, port);
        let mut checks = Vec::new();
        let tables = [
            ("tcp_check", &r.tcp_check),
            ("http_get", &r.http_get),
            ("ssl_get", &r.ssl_get),
            ("misc_check", &r.misc_check),
        ];
        for (kind, c) in tables {
            if let Some(c) = c {
                checks.extend(self.rs_check(kind, c, addr, d));
            }
        }
        Some(RealServer {
            addr,
            weight: r.weight.as_ref().map_or(1, |w| *w.get_ref()),
            forward,
            upper_threshold: r.uthreshold.as_ref().map_or(0, |t| *t.get_ref()),
            lower_threshold: r.lthreshold.as_ref().map_or(0, |t| *t.get_ref()),
            inhibit_on_failure: r
                .inhibit_on_failure
                .as_ref()
                .map_or(inhibit, |b| *b.get_ref()),
            notify_up: self.hook(r.notify_up.as_ref()),
            notify_down: self.hook(r.notify_down.as_ref()),
            smtp_alert: r.smtp_alert.as_ref().map(|b| *b.get_ref()),
            checks,
        })
    }

    /// DR and tunnels deliver the packet as the client sent it: the real
    /// server receives the virtual port, and a firewall-mark service has
    /// none. keepalived resets such a port with a warning (check_data.c);
    /// here it is an error, so that the file says what the kernel does.
    fn forwarded_port<T>(
        &mut self,
        at: &Spanned<T>,
        port: u16,
        forward: ForwardMethod,
        vs: &ServiceKey,
        who: &str,
    ) {
        if matches!(forward, ForwardMethod::Masq) || port == port_of(vs) {
            return;
        }
        let message = match vs {
            ServiceKey::Addr { port: v, .. } => format!(
                "with lb_kind DR or TUN {who} receives the virtual port {v}: give port {v} or none"
            ),
            ServiceKey::Fwmark { .. } => {
                format!("with lb_kind DR or TUN {who} of a firewall-mark service has no port")
            }
        };
        self.at(at, message);
    }

    fn hook(&mut self, a: Option<&Spanned<Argv>>) -> Option<Vec<String>> {
        let a = a?;
        if a.get_ref().0.is_empty() {
            self.at(a, "a hook command cannot be empty");
            return None;
        }
        Some(a.get_ref().0.clone())
    }
}

pub(super) fn dur(d: Option<&Spanned<super::raw::Dur>>) -> Option<Duration> {
    d.map(|d| d.get_ref().0)
}

pub(super) fn flag(b: Option<&Spanned<bool>>) -> bool {
    b.is_some_and(|b| *b.get_ref())
}

fn port_of(k: &ServiceKey) -> u16 {
    match k {
        ServiceKey::Addr { port, .. } => *port,
        ServiceKey::Fwmark { .. } => 0,
    }
}

/// `"10.0.0.9:80"`, `"[::1]:80"` or a bare address with `default_port`.
pub(crate) fn socket_or_ip(s: &str, default_port: u16) -> Option<SocketAddr> {
    s.parse::<SocketAddr>().ok().or_else(|| {
        s.parse::<IpAddr>()
            .ok()
            .map(|ip| SocketAddr::new(ip, default_port))
    })
}

/// A netmask (`255.255.255.0`) or prefix length as a prefix length.
pub(crate) fn prefix_of(s: &str, max: u8) -> Option<u8> {
    if let Ok(n) = s.parse::<u8>() {
        return (n <= max).then_some(n);
    }
    let bits: u128 = match s.parse::<IpAddr>().ok()? {
        IpAddr::V4(a) => u128::from(u32::from(a)) << 96,
        IpAddr::V6(a) => u128::from(a),
    };
    let n = bits.leading_ones();
    (bits.count_ones() == n)
        .then(|| u8::try_from(n).ok())
        .flatten()
        .filter(|p| *p <= max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::lvs::DEFAULT_CONNECT_TIMEOUT;

    #[test]
    fn netmasks_and_prefixes() {
        assert_eq!(prefix_of("255.255.255.0", 32), Some(24));
        assert_eq!(prefix_of("24", 32), Some(24));
        assert_eq!(prefix_of("255.0.255.0", 32), None);
        assert_eq!(prefix_of("33", 32), None);
    }

    #[test]
    fn problems_have_positions_and_defaults_are_keepalived_s() {
        let text = "[[virtual_server]]\naddress = \"192.0.2.1\"\nport = 80\nlb_algo = \"rrr\"\n\
                    [[virtual_server.real_server]]\naddress = \"10.0.0.1\"\n\
                    [virtual_server.real_server.http_get]\nurl = [{ path = \"/\", digest = \"zz\" }]\n";
        let e = crate::config::load_str(text, "t.toml")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("t.toml:4:11"), "{e}");
        assert!(e.contains("did you mean \"rr\""), "{e}");
        assert!(e.contains("digest is an MD5 sum"), "{e}");
        let ok = "[[virtual_server]]\naddress = \"192.0.2.1\"\nport = 80\n\
                  [[virtual_server.real_server]]\naddress = \"10.0.0.1\"\n\
                  [virtual_server.real_server.tcp_check]\n";
        let c = crate::config::load_str(ok, "t").map_err(|e| e.to_string());
        let vs = c.as_ref().map(|c| c.lvs.virtual_servers[0].clone());
        let vs = vs.as_ref().map_err(Clone::clone);
        assert_eq!(vs.map(|v| v.scheduler.as_str()), Ok("wlc"));
        let chk = vs.map(|v| v.real_servers[0].checks[0].clone());
        assert_eq!(chk.as_ref().map(|c| c.retry), Ok(1));
        assert_eq!(
            chk.as_ref().map(|c| c.connect_timeout),
            Ok(DEFAULT_CONNECT_TIMEOUT)
        );
        assert_eq!(
            chk.map(|c| c.delay_before_retry),
            Ok(Duration::from_secs(1))
        );
    }
}
