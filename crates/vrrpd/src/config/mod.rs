//! Configuration: strict TOML in, a validated [`Config`] out.
//!
//! Loading never touches the host: it reads the file and, for executables
//! named by checks and hooks, looks at their metadata. Every problem found is
//! reported with `file:line:column` and a reason; all semantic problems are
//! collected, not just the first. See `docs/config.md` for every key.

mod model;
mod raw;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use toml::Spanned;
use vrrp_proto::{Auth, Interval, Priority, Version, Vrid};

pub use model::{
    Check, CheckKind, Config, Family, Garp, Global, Hooks, Instance, SyncGroup, TrackCheck,
    TrackInterface, V3Ipv4Checksum, Vip, VirtualRoute,
};
use raw::{Argv, Dur, HookKeys, NameOr, RawCheck, RawConfig, RawInstance, RawSyncGroup};

/// One problem in a configuration file, with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// What is wrong and, where it helps, what to write instead.
    pub message: String,
}

/// Why a configuration was rejected: one or more [`Diagnostic`]s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file name used in messages.
    pub file: String,
    /// Every problem found, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}:{}:{}: {}", self.file, d.line, d.column, d.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Splits a command string into words the way command keys are read:
/// white space separates words, `'...'` and `"..."` group them, `\\` escapes.
pub fn split_command(s: &str) -> Result<Vec<String>, String> {
    raw::split_words(s)
}

/// Reads and validates the configuration file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let file = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => load_str(&text, &file),
        Err(e) => Err(ConfigError {
            file,
            diagnostics: vec![Diagnostic {
                line: 1,
                column: 1,
                message: format!("cannot read the file: {e}"),
            }],
        }),
    }
}

/// Validates configuration `text`; `file` names it in messages.
pub fn load_str(text: &str, file: &str) -> Result<Config, ConfigError> {
    let mut cx = Cx {
        text,
        diags: Vec::new(),
    };
    let raw: RawConfig = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            cx.error(&span, e.message().trim_end().to_owned());
            return Err(cx.finish(file));
        }
    };
    let config = cx.validate(raw);
    if cx.diags.is_empty() {
        Ok(config)
    } else {
        Err(cx.finish(file))
    }
}

struct Cx<'a> {
    text: &'a str,
    diags: Vec<(usize, Diagnostic)>,
}

impl Cx<'_> {
    fn error(&mut self, span: &Range<usize>, message: impl Into<String>) {
        let offset = span.start.min(self.text.len());
        let before = self.text.get(..offset).unwrap_or("");
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
        self.diags.push((
            offset,
            Diagnostic {
                line,
                column,
                message: message.into(),
            },
        ));
    }

    fn at<T>(&mut self, v: &Spanned<T>, message: impl Into<String>) {
        self.error(&v.span(), message);
    }

    fn finish(mut self, file: &str) -> ConfigError {
        self.diags.sort_by_key(|(offset, _)| *offset);
        ConfigError {
            file: file.to_owned(),
            diagnostics: self.diags.into_iter().map(|(_, d)| d).collect(),
        }
    }

    fn validate(&mut self, raw: RawConfig) -> Config {
        let global = raw.global.map_or_else(Global::default, |g| {
            let g = g.into_inner();
            let mut out = Global::default();
            if let Some(p) = g.control_socket {
                if !Path::new(p.get_ref()).is_absolute() {
                    self.at(&p, "control_socket must be an absolute path");
                }
                out.control_socket = PathBuf::from(p.into_inner());
            }
            if let Some(t) = g.notify_timeout {
                if t.get_ref().0.is_zero() {
                    self.at(&t, "notify_timeout must be greater than zero");
                }
                out.notify_timeout = t.into_inner().0;
            }
            if let Some(m) = g.metrics_listen {
                match m.get_ref().parse::<SocketAddr>() {
                    Ok(a) => out.metrics_listen = Some(a),
                    Err(_) => self.at(
                        &m,
                        "metrics_listen must be ADDRESS:PORT, e.g. \"127.0.0.1:9650\" or \"[::1]:9650\"",
                    ),
                }
            }
            out
        });

        let checks: Vec<Check> = raw
            .checks
            .iter()
            .filter_map(|c| self.check(c.get_ref()))
            .collect();
        let mut check_names = HashSet::new();
        for c in &raw.checks {
            let name = &c.get_ref().name;
            if !check_names.insert(name.get_ref().as_str()) {
                self.at(
                    name,
                    format!("a check named {:?} is already defined", name.get_ref()),
                );
            }
        }

        let mut instances = Vec::new();
        let mut names = HashSet::new();
        let mut vrids: HashMap<(String, Family, u8), String> = HashMap::new();
        let mut vips: HashMap<IpAddr, String> = HashMap::new();
        // Interface names: those instances run on, and virtual MAC
        // interfaces, which must be new and distinct.
        let mut ifnames: HashMap<String, String> = HashMap::new();
        let mut vmacs: HashMap<String, String> = HashMap::new();
        for spanned in &raw.instances {
            let ri = spanned.get_ref();
            if !names.insert(ri.name.get_ref().as_str()) {
                self.at(
                    &ri.name,
                    format!(
                        "an instance named {:?} is already defined",
                        ri.name.get_ref()
                    ),
                );
            }
            let Some(inst) = self.instance(ri, &check_names) else {
                continue;
            };
            // Two routers with one VRID on one link and family are the same
            // virtual router (RFC 9568 §5.2.3): one of them is a mistake.
            let key = (inst.interface.clone(), inst.family, inst.vrid.get());
            if let Some(other) = vrids.get(&key) {
                self.at(
                    &ri.vrid,
                    format!(
                        "VRID {} on {} ({:?}) is already used by instance {other:?}",
                        inst.vrid, inst.interface, inst.family
                    ),
                );
            } else {
                vrids.insert(key, inst.name.clone());
            }
            for (vip, raw_vip) in inst.vips.iter().zip(ri.virtual_addresses.get_ref()) {
                if let Some(other) = vips.get(&vip.addr) {
                    self.at(
                        raw_vip,
                        format!(
                            "virtual address {} is already used by instance {other:?}",
                            vip.addr
                        ),
                    );
                } else {
                    vips.insert(vip.addr, inst.name.clone());
                }
            }
            if let Some(other) = vmacs.get(&inst.interface) {
                self.at(
                    &ri.interface,
                    format!(
                        "{} is the virtual MAC interface of instance {other:?}",
                        inst.interface
                    ),
                );
            }
            ifnames.insert(inst.interface.clone(), inst.name.clone());
            if let (Some(v), Some(at)) = (&inst.vmac, &ri.use_vmac) {
                if let Some(other) = vmacs.get(v) {
                    self.at(
                        at,
                        format!("virtual MAC interface {v} is already used by instance {other:?}"),
                    );
                } else if let Some(other) = ifnames.get(v) {
                    self.at(
                        at,
                        format!("virtual MAC interface {v} is the interface of instance {other:?}"),
                    );
                } else {
                    vmacs.insert(v.clone(), inst.name.clone());
                }
            }
            instances.push(Arc::new(inst));
        }

        let mut sync_groups = Vec::new();
        let mut group_names = HashSet::new();
        let mut member_of: HashMap<String, String> = HashMap::new();
        for g in &raw.sync_groups {
            let rg = g.get_ref();
            if !group_names.insert(rg.name.get_ref().as_str()) {
                self.at(
                    &rg.name,
                    format!(
                        "a sync group named {:?} is already defined",
                        rg.name.get_ref()
                    ),
                );
            }
            if let Some(group) = self.sync_group(rg, &names, &mut member_of) {
                sync_groups.push(group);
            }
        }

        Config {
            global,
            instances,
            checks,
            sync_groups,
        }
    }

    fn instance(&mut self, ri: &RawInstance, check_names: &HashSet<&str>) -> Option<Instance> {
        let before = self.diags.len();
        let name = ri.name.get_ref().clone();
        if name.is_empty() {
            self.at(&ri.name, "an instance name cannot be empty");
        }
        let interface = ri.interface.get_ref().clone();
        self.interface_name(&ri.interface);

        // RFC 9568 §5.2.3 / RFC 3768 §5.3.3: VRID 1-255.
        let vrid = Vrid::new(*ri.vrid.get_ref());
        if vrid.is_none() {
            self.at(&ri.vrid, "vrid must be between 1 and 255 (RFC 9568 §5.2.3)");
        }
        let version = match ri.version.as_ref().map(|v| *v.get_ref()) {
            None | Some(2) => Version::V2,
            Some(3) => Version::V3,
            Some(other) => {
                self.at(
                    ri.version.as_ref()?,
                    format!("version must be 2 (RFC 3768) or 3 (RFC 9568), not {other}"),
                );
                Version::V2
            }
        };
        // RFC 9568 §6.1: priority 1-254 for backups, 255 for the owner; 0 is
        // reserved for a master that leaves and cannot be configured.
        let priority = match &ri.priority {
            None => Priority::DEFAULT,
            Some(p) if *p.get_ref() == 0 => {
                self.at(
                    p,
                    "priority 0 is reserved for a leaving master (RFC 9568 §5.2.4); use 1 to 254, or 255 for the address owner",
                );
                Priority::DEFAULT
            }
            Some(p) => Priority::new(*p.get_ref()),
        };
        let advert_interval = self.advert_interval(ri.advert_interval.as_ref(), version);

        // keepalived's use_vmac: the VIPs go on a macvlan named vmac_name
        // (default `vrrp.<VRID>`, as keepalived names it).
        let vmac = match (&ri.use_vmac, &ri.vmac_name) {
            (Some(u), name) if *u.get_ref() => Some(match name {
                Some(n) => {
                    self.interface_name(n);
                    if *n.get_ref() == interface {
                        self.at(n, "vmac_name must differ from the instance's interface");
                    }
                    n.get_ref().clone()
                }
                None => format!("vrrp.{}", ri.vrid.get_ref()),
            }),
            (_, Some(n)) => {
                self.at(n, "vmac_name needs use_vmac = true");
                None
            }
            _ => None,
        };
        // Labels start with the name of the interface the VIPs go on.
        let vip_dev = vmac.clone().unwrap_or_else(|| interface.clone());

        // Virtual addresses: one family per instance, v2 is IPv4 only.
        let mut vips = Vec::new();
        for v in ri.virtual_addresses.get_ref() {
            if let Some(vip) = self.vip(v, &vip_dev, vmac.is_some()) {
                vips.push(vip);
            }
        }
        if ri.virtual_addresses.get_ref().is_empty() {
            self.at(
                &ri.virtual_addresses,
                "an instance needs at least one virtual address",
            );
        }
        vips.shrink_to_fit();
        if vips.len() > 255 {
            self.at(
                &ri.virtual_addresses,
                "at most 255 virtual addresses fit in one advertisement (8-bit count, RFC 9568 §5.2.5)",
            );
        }
        let family = match vips.first().map(|v| v.addr) {
            Some(IpAddr::V6(_)) => Family::V6,
            _ => Family::V4,
        };
        for (vip, raw_vip) in vips.iter().zip(ri.virtual_addresses.get_ref()) {
            let f = if vip.addr.is_ipv4() {
                Family::V4
            } else {
                Family::V6
            };
            if f != family {
                self.at(
                    raw_vip,
                    "an instance carries one address family (RFC 9568 §7.1); put IPv6 addresses in an instance of their own",
                );
            }
        }
        if let (Family::V6, Some(u)) = (family, &ri.use_vmac) {
            if vmac.is_some() {
                self.at(u, "use_vmac is supported for IPv4 instances only");
            }
        }
        if family == Family::V6 && version == Version::V2 {
            self.at(
                &ri.virtual_addresses,
                "VRRPv2 carries IPv4 only (RFC 3768); set version = 3 for IPv6",
            );
        }

        let preempt = ri.preempt.as_ref().is_none_or(|p| *p.get_ref());
        let preempt_delay = ri
            .preempt_delay
            .as_ref()
            .map_or(Duration::ZERO, |d| d.get_ref().0);
        if !preempt {
            if priority.is_owner() {
                self.at(
                    ri.preempt.as_ref()?,
                    "preempt = false has no effect on the address owner (priority 255 always takes over, RFC 9568 §6.4.2)",
                );
            }
            if let Some(d) = &ri.preempt_delay {
                self.at(d, "preempt_delay has no effect with preempt = false");
            }
        }
        if let Some(d) = &ri.preempt_delay {
            if d.get_ref().0 > Duration::from_secs(1000) {
                self.at(d, "preempt_delay must be at most 1000s (as keepalived)");
            }
        }

        // RFC 3768 §5.3.6: authentication is VRRPv2 only; RFC 9568 removed it.
        let auth = match &ri.authentication {
            None => Auth::None,
            Some(a) => self.auth(a, version),
        };

        let unicast_source = ri
            .unicast_source
            .as_ref()
            .and_then(|s| self.ip(s, family, "unicast_source"));
        let unicast_peers: Vec<IpAddr> = ri
            .unicast_peers
            .iter()
            .filter_map(|p| self.ip(p, family, "unicast peer"))
            .collect();
        if unicast_source.is_some() && unicast_peers.is_empty() {
            self.at(
                ri.unicast_source.as_ref()?,
                "unicast_source has no effect without unicast_peers",
            );
        }

        let virtual_routes = ri
            .virtual_routes
            .iter()
            .filter_map(|r| self.route(r))
            .collect();

        let mut track_interfaces = Vec::new();
        for t in &ri.track_interfaces {
            let NameOr(rt) = t.get_ref();
            if rt.name.is_empty() || rt.name.len() > 15 || rt.name.contains(['/', ' ']) {
                self.at(t, format!("{:?} is not a valid interface name", rt.name));
            }
            let weight = rt.weight.as_ref().map_or(0, |w| *w.get_ref());
            if let Some(w) = &rt.weight {
                self.weight(w);
            }
            track_interfaces.push(TrackInterface {
                name: rt.name.clone(),
                weight,
            });
        }
        let mut track_checks = Vec::new();
        for t in &ri.track_checks {
            let NameOr(rt) = t.get_ref();
            if !check_names.contains(rt.name.as_str()) {
                self.at(t, format!("there is no check named {:?}", rt.name));
            }
            if let Some(w) = &rt.weight {
                self.weight(w);
            }
            track_checks.push(TrackCheck {
                name: rt.name.clone(),
                weight: rt.weight.as_ref().map(|w| *w.get_ref()),
            });
        }

        let v3_ipv4_checksum = match &ri.v3_ipv4_checksum {
            None => V3Ipv4Checksum::default(),
            Some(s) => {
                if version != Version::V3 || family != Family::V4 {
                    self.at(s, "v3_ipv4_checksum only applies to VRRPv3 over IPv4");
                }
                match s.get_ref().as_str() {
                    "with-pseudo-header" => V3Ipv4Checksum::WithPseudoHeader,
                    "without-pseudo-header" => V3Ipv4Checksum::WithoutPseudoHeader,
                    other => {
                        self.at(
                            s,
                            format!("v3_ipv4_checksum must be \"with-pseudo-header\" or \"without-pseudo-header\", not {other:?}"),
                        );
                        V3Ipv4Checksum::default()
                    }
                }
            }
        };

        let mut garp = Garp::default();
        if let Some(d) = &ri.garp_master_delay {
            garp.master_delay = d.get_ref().0;
        }
        if let Some(r) = &ri.garp_master_repeat {
            if *r.get_ref() == 0 || *r.get_ref() > 100 {
                self.at(r, "garp_master_repeat must be between 1 and 100");
            }
            garp.master_repeat = *r.get_ref();
        }
        if let Some(d) = &ri.garp_master_refresh {
            let d0 = d.get_ref().0;
            if !d0.is_zero() && d0 < Duration::from_secs(1) {
                self.at(d, "garp_master_refresh must be 0 (off) or at least 1s");
            }
            garp.master_refresh = (!d0.is_zero()).then_some(d0);
        }
        // RFC 9568 §6.4.3 Accept_Mode. Default true, as keepalived behaves
        // without `vrrp_strict`: VIPs usually carry services. False drops
        // traffic to the VIPs with an nftables filter, so `nft` must exist.
        let accept = match &ri.accept {
            Some(a) if !*a.get_ref() => {
                if priority.is_owner() {
                    self.at(a, "accept = false has no effect on the address owner (RFC 9568 §6.4.3: the owner always accepts)");
                } else if crate::runtime::noaccept_available().is_none() {
                    self.at(a, "accept = false needs nftables: install the `nftables` package (the `nft` program)");
                }
                false
            }
            _ => true,
        };
        let hooks = self.hooks(ri);

        if self.diags.len() != before {
            return None;
        }
        Some(Instance {
            name,
            interface,
            vrid: vrid?,
            version,
            family,
            priority,
            advert_interval: advert_interval?,
            vips,
            preempt,
            preempt_delay,
            accept,
            auth,
            unicast_source,
            unicast_peers,
            track_interfaces,
            track_checks,
            v3_ipv4_checksum,
            virtual_routes,
            vmac,
            garp,
            hooks,
        })
    }

    fn interface_name(&mut self, name: &Spanned<String>) {
        let n = name.get_ref();
        // IFNAMSIZ is 16 including the terminating NUL.
        if n.is_empty() || n.len() > 15 || n.contains(['/', ' ', ':']) || n == "." || n == ".." {
            self.at(name, format!("{n:?} is not a valid interface name (1 to 15 characters, no '/', ':' or spaces)"));
        }
    }

    fn advert_interval(
        &mut self,
        raw: Option<&Spanned<Dur>>,
        version: Version,
    ) -> Option<Interval> {
        let Some(d) = raw else {
            return Some(Interval::DEFAULT);
        };
        let dur = d.get_ref().0;
        let nanos = dur.as_nanos();
        match version {
            // RFC 3768 §5.3.7: whole seconds, 8 bits.
            Version::V2 => {
                let secs = dur.as_secs();
                if dur.subsec_nanos() != 0 || secs == 0 || secs > 255 {
                    self.at(
                        d,
                        "a VRRPv2 advert_interval is a whole number of seconds from 1s to 255s (RFC 3768 §5.3.7); use version = 3 for sub-second intervals",
                    );
                    return None;
                }
                u8::try_from(secs).ok().and_then(Interval::from_secs_v2)
            }
            // RFC 9568 §5.2.7: centiseconds, 12 bits.
            Version::V3 => {
                if nanos % 10_000_000 != 0 || nanos == 0 || nanos > 40_950_000_000 {
                    self.at(
                        d,
                        "a VRRPv3 advert_interval is a multiple of 10ms from 10ms to 40.95s (RFC 9568 §5.2.7)",
                    );
                    return None;
                }
                u16::try_from(nanos / 10_000_000)
                    .ok()
                    .and_then(Interval::from_centis)
            }
        }
    }

    fn vip(
        &mut self,
        v: &Spanned<NameOr<raw::RawVip>>,
        instance_dev: &str,
        vmac: bool,
    ) -> Option<Vip> {
        let NameOr(rv) = v.get_ref();
        // A bare string has no position of its own: use the list entry's.
        let text = rv.address.get_ref();
        let (addr_text, len_text) = match text.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (text.as_str(), None),
        };
        let Ok(addr) = addr_text.parse::<IpAddr>() else {
            self.at(v, format!("{text:?} is not an IP address (write e.g. \"192.0.2.10/24\" or \"2001:db8::10/64\")"));
            return None;
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix_len = match len_text {
            None => max,
            Some(l) => match l.parse::<u8>() {
                Ok(n) if n <= max && n > 0 => n,
                _ => {
                    self.at(v, format!("{text:?}: prefix length must be 1 to {max}"));
                    return None;
                }
            },
        };
        if addr.is_unspecified() || addr.is_multicast() || addr.is_loopback() {
            self.at(v, format!("{addr} cannot be a virtual address"));
            return None;
        }
        if let IpAddr::V4(a) = addr {
            if a.is_broadcast() {
                self.at(v, format!("{addr} cannot be a virtual address"));
                return None;
            }
        }
        // keepalived's `dev`: the address on another interface.
        let own_dev = rv.interface.as_ref().map(|i| {
            self.interface_name(i);
            if vmac {
                self.at(
                    i,
                    "an address with its own interface cannot be combined with use_vmac (the virtual MAC interface carries every address)",
                );
            }
            i.get_ref().clone()
        });
        let interface = own_dev.as_deref().unwrap_or(instance_dev);
        let label = match &rv.label {
            None => None,
            Some(l) => {
                let s = l.get_ref();
                if addr.is_ipv6() {
                    self.at(l, "labels exist for IPv4 addresses only");
                } else if !s.starts_with(interface) || s.len() > 15 {
                    self.at(
                        l,
                        format!("label {s:?} must start with the interface name {interface:?} and be at most 15 characters (Linux rule)"),
                    );
                }
                Some(s.clone())
            }
        };
        Some(Vip {
            addr,
            prefix_len,
            label,
            interface: own_dev.filter(|d| d != instance_dev),
        })
    }

    fn auth(&mut self, a: &Spanned<raw::RawAuth>, version: Version) -> Auth {
        let ra = a.get_ref();
        if version != Version::V2 {
            self.at(
                a,
                "authentication exists in VRRPv2 only; RFC 9568 removed it from VRRPv3",
            );
            return Auth::None;
        }
        match ra.kind.get_ref().as_str() {
            "none" => {
                if let Some(p) = &ra.password {
                    self.at(p, "a password has no effect with type = \"none\"");
                }
                Auth::None
            }
            "pass" => {
                let Some(p) = &ra.password else {
                    self.at(a, "type = \"pass\" needs a password");
                    return Auth::None;
                };
                let bytes = p.get_ref().as_bytes();
                // RFC 3768 §5.3.10: up to 8 octets, zero-padded.
                if bytes.is_empty() || bytes.len() > 8 {
                    self.at(p, "a VRRPv2 password is 1 to 8 bytes (RFC 3768 §5.3.10)");
                    return Auth::None;
                }
                let mut out = [0u8; 8];
                out[..bytes.len()].copy_from_slice(bytes);
                Auth::SimplePassword(out)
            }
            "ah" => {
                self.at(&ra.kind, "IP Authentication Header (type 2) is not supported: it was removed by RFC 3768 §5.3.6");
                Auth::None
            }
            other => {
                self.at(
                    &ra.kind,
                    format!("authentication type must be \"pass\" or \"none\", not {other:?}"),
                );
                Auth::None
            }
        }
    }

    fn route(&mut self, r: &Spanned<raw::RawRoute>) -> Option<VirtualRoute> {
        let rr = r.get_ref();
        let text = rr.to.get_ref();
        let (a, l) = match text.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (text.as_str(), None),
        };
        let Ok(to) = a.parse::<IpAddr>() else {
            self.at(
                &rr.to,
                format!("{text:?} is not a network (write e.g. \"198.51.100.0/24\")"),
            );
            return None;
        };
        let max = if to.is_ipv4() { 32 } else { 128 };
        let prefix_len = match l.map(str::parse::<u8>) {
            None => max,
            Some(Ok(n)) if n <= max => n,
            Some(_) => {
                self.at(
                    &rr.to,
                    format!("{text:?}: prefix length must be 0 to {max}"),
                );
                return None;
            }
        };
        // The kernel refuses a destination with host bits set.
        let host_bits = match to {
            IpAddr::V4(v) => {
                u32::from(v) & u32::MAX.checked_shr(u32::from(prefix_len)).unwrap_or(0) != 0
            }
            IpAddr::V6(v) => {
                u128::from(v) & u128::MAX.checked_shr(u32::from(prefix_len)).unwrap_or(0) != 0
            }
        };
        if host_bits {
            self.at(
                &rr.to,
                format!("{text:?} has host bits set: the network is written with them zero"),
            );
            return None;
        }
        let family = if to.is_ipv4() { Family::V4 } else { Family::V6 };
        let via = match &rr.via {
            Some(v) => Some(self.ip(v, family, "next hop")?),
            None => None,
        };
        if let Some(i) = &rr.interface {
            self.interface_name(i);
        }
        if let Some(t) = &rr.table {
            if *t.get_ref() == 0 {
                self.at(
                    t,
                    "table 0 is not a routing table (the main table is 254, the default)",
                );
            }
        }
        Some(VirtualRoute {
            to,
            prefix_len,
            via,
            interface: rr.interface.as_ref().map(|i| i.get_ref().clone()),
            metric: rr.metric.as_ref().map(|m| *m.get_ref()),
            table: rr.table.as_ref().map(|t| *t.get_ref()),
        })
    }

    fn ip(&mut self, s: &Spanned<String>, family: Family, what: &str) -> Option<IpAddr> {
        match s.get_ref().parse::<IpAddr>() {
            Ok(a) if (a.is_ipv4()) == (family == Family::V4) => Some(a),
            Ok(a) => {
                self.at(
                    s,
                    format!("{what} {a} is not of the instance's address family ({family:?})"),
                );
                None
            }
            Err(_) => {
                self.at(s, format!("{what} {:?} is not an IP address", s.get_ref()));
                None
            }
        }
    }

    fn weight(&mut self, w: &Spanned<i32>) {
        if !(-254..=254).contains(w.get_ref()) {
            self.at(
                w,
                "weight must be between -254 and 254 (0 means Fault while failing)",
            );
        }
    }

    fn argv(&mut self, a: &Spanned<Argv>, what: &str) -> Vec<String> {
        let argv = a.get_ref().0.clone();
        if let Some(prog) = argv.first() {
            if let Err(why) = executable(prog) {
                self.at(a, format!("{what}: {why}"));
            }
        }
        argv
    }

    fn hooks<T: HookKeys>(&mut self, raw: &T) -> Hooks {
        let mut out = Hooks::default();
        for (key, value) in raw.hook_keys() {
            let Some(a) = value else { continue };
            let argv = Some(self.argv(a, key));
            match key {
                "notify_master" => out.master = argv,
                "notify_backup" => out.backup = argv,
                "notify_fault" => out.fault = argv,
                "notify_stop" => out.stop = argv,
                _ => out.generic = argv,
            }
        }
        out
    }

    fn check(&mut self, rc: &RawCheck) -> Option<Check> {
        let before = self.diags.len();
        let kind = rc.kind.get_ref().as_str();
        let allowed: &[&str] = match kind {
            "exec" => &["command", "shell", "user", "env"],
            "tcp" => &["address", "port"],
            "http" => &[
                "address",
                "port",
                "host",
                "path",
                "expect_status",
                "expect_body",
            ],
            "icmp" => &["address"],
            "interface" => &["interface"],
            "file" => &["path"],
            other => {
                self.at(
                    &rc.kind,
                    format!(
                        "unknown check type {other:?} (exec, tcp, http, icmp, interface, file)"
                    ),
                );
                return None;
            }
        };
        // A key of another kind is a mistake, not something to ignore.
        let present: [(&str, Option<Range<usize>>); 12] = [
            ("command", rc.command.as_ref().map(Spanned::span)),
            ("shell", rc.shell.as_ref().map(Spanned::span)),
            ("user", rc.user.as_ref().map(Spanned::span)),
            ("env", rc.env.as_ref().map(Spanned::span)),
            ("address", rc.address.as_ref().map(Spanned::span)),
            ("port", rc.port.as_ref().map(Spanned::span)),
            ("host", rc.host.as_ref().map(Spanned::span)),
            ("path", rc.path.as_ref().map(Spanned::span)),
            (
                "expect_status",
                rc.expect_status.as_ref().map(Spanned::span),
            ),
            ("expect_body", rc.expect_body.as_ref().map(Spanned::span)),
            ("interface", rc.interface.as_ref().map(Spanned::span)),
            ("", None),
        ];
        for (key, span) in present {
            if let Some(span) = span {
                if !allowed.contains(&key) {
                    self.error(&span, format!("{key} is not a key of a {kind} check"));
                }
            }
        }
        let interval = rc
            .interval
            .as_ref()
            .map_or(Duration::from_secs(1), |d| d.get_ref().0);
        if let Some(d) = &rc.interval {
            if d.get_ref().0 < Duration::from_millis(10) {
                self.at(d, "interval must be at least 10ms");
            }
        }
        let timeout = rc.timeout.as_ref().map_or(interval, |d| d.get_ref().0);
        if let Some(d) = &rc.timeout {
            if d.get_ref().0.is_zero() {
                self.at(d, "timeout must be greater than zero");
            }
        }
        let rise = rc.rise.as_ref().map_or(1, |r| *r.get_ref());
        let fall = rc.fall.as_ref().map_or(1, |r| *r.get_ref());
        for r in [&rc.rise, &rc.fall].into_iter().flatten() {
            if *r.get_ref() == 0 {
                self.at(r, "rise and fall count probes and must be at least 1");
            }
        }
        let weight = rc.weight.as_ref().map_or(0, |w| *w.get_ref());
        if let Some(w) = &rc.weight {
            self.weight(w);
        }
        let name = rc.name.get_ref().clone();
        if name.is_empty() {
            self.at(&rc.name, "a check name cannot be empty");
        }
        let need = |cx: &mut Self, key: &str| {
            cx.at(&rc.kind, format!("a {kind} check needs `{key}`"));
        };
        let target_ip = |cx: &mut Self| -> Option<IpAddr> {
            let Some(a) = &rc.address else {
                need(cx, "address");
                return None;
            };
            match a.get_ref().parse::<IpAddr>() {
                Ok(ip) => Some(ip),
                Err(_) => {
                    cx.at(a, format!("{:?} is not an IP address", a.get_ref()));
                    None
                }
            }
        };
        let kind = match kind {
            "exec" => {
                let Some(c) = &rc.command else {
                    need(self, "command");
                    return None;
                };
                let shell = rc.shell.as_ref().is_some_and(|s| *s.get_ref());
                let argv = if shell {
                    c.get_ref().0.clone()
                } else {
                    self.argv(c, "command")
                };
                CheckKind::Exec {
                    argv,
                    shell,
                    user: rc.user.as_ref().map(|u| u.get_ref().clone()),
                    env: rc
                        .env
                        .as_ref()
                        .map_or_else(BTreeMap::new, |e| e.get_ref().clone()),
                }
            }
            "tcp" | "http" => {
                let ip = target_ip(self);
                let default_port = (kind == "http").then_some(80);
                let port = rc.port.as_ref().map(|p| *p.get_ref()).or(default_port);
                if port.is_none() {
                    need(self, "port");
                }
                if let Some(p) = &rc.port {
                    if *p.get_ref() == 0 {
                        self.at(p, "port must be 1 to 65535");
                    }
                }
                let target = SocketAddr::new(ip?, port?);
                if kind == "tcp" {
                    CheckKind::Tcp { target }
                } else {
                    let path = rc
                        .path
                        .as_ref()
                        .map_or_else(|| "/".to_owned(), |p| p.get_ref().clone());
                    if let Some(p) = &rc.path {
                        if !p.get_ref().starts_with('/') || p.get_ref().contains([' ', '\r', '\n'])
                        {
                            self.at(
                                p,
                                "an HTTP path starts with '/' and has no spaces or line breaks",
                            );
                        }
                    }
                    let expect_status = rc
                        .expect_status
                        .as_ref()
                        .map_or_else(|| vec![200], |s| s.get_ref().clone());
                    if let Some(s) = &rc.expect_status {
                        if s.get_ref().is_empty()
                            || s.get_ref().iter().any(|c| !(100..=599).contains(c))
                        {
                            self.at(
                                s,
                                "expect_status is a list of HTTP status codes (100 to 599)",
                            );
                        }
                    }
                    if let Some(h) = &rc.host {
                        if h.get_ref().is_empty() || h.get_ref().contains([' ', '\r', '\n']) {
                            self.at(h, "host must be a host name without spaces or line breaks");
                        }
                    }
                    CheckKind::Http {
                        target,
                        host: rc.host.as_ref().map(|h| h.get_ref().clone()),
                        path,
                        expect_status,
                        expect_body: rc.expect_body.as_ref().map(|b| b.get_ref().clone()),
                    }
                }
            }
            "icmp" => CheckKind::Icmp {
                target: target_ip(self)?,
            },
            "interface" => {
                let Some(i) = &rc.interface else {
                    need(self, "interface");
                    return None;
                };
                self.interface_name(i);
                CheckKind::Interface {
                    name: i.get_ref().clone(),
                }
            }
            _ => {
                let Some(p) = &rc.path else {
                    need(self, "path");
                    return None;
                };
                if !Path::new(p.get_ref()).is_absolute() {
                    self.at(p, "a file check's path must be absolute");
                }
                CheckKind::File {
                    path: PathBuf::from(p.get_ref()),
                }
            }
        };
        if self.diags.len() != before {
            return None;
        }
        Some(Check {
            name,
            kind,
            interval,
            timeout,
            rise,
            fall,
            weight,
            reverse: rc.reverse.as_ref().is_some_and(|r| *r.get_ref()),
            init_fail: rc.init_fail.as_ref().is_some_and(|r| *r.get_ref()),
        })
    }

    fn sync_group(
        &mut self,
        rg: &RawSyncGroup,
        instance_names: &HashSet<&str>,
        member_of: &mut HashMap<String, String>,
    ) -> Option<SyncGroup> {
        let before = self.diags.len();
        let name = rg.name.get_ref().clone();
        if rg.instances.get_ref().len() < 2 {
            self.at(&rg.instances, "a sync group needs at least two instances");
        }
        let mut members = Vec::new();
        for m in rg.instances.get_ref() {
            let n = m.get_ref();
            if !instance_names.contains(n.as_str()) {
                self.at(m, format!("there is no instance named {n:?}"));
            } else if let Some(g) = member_of.get(n) {
                self.at(m, format!("instance {n:?} is already in sync group {g:?}"));
            } else {
                member_of.insert(n.clone(), name.clone());
            }
            members.push(n.clone());
        }
        let hooks = self.hooks(rg);
        if self.diags.len() != before {
            return None;
        }
        Some(SyncGroup {
            name,
            instances: members,
            hooks,
        })
    }
}

/// Checks that `prog` names an executable regular file by absolute path.
fn executable(prog: &str) -> Result<(), String> {
    let path = Path::new(prog);
    if !path.is_absolute() {
        return Err(format!(
            "{prog:?} must be an absolute path (no PATH lookup is done)"
        ));
    }
    let meta = std::fs::metadata(path).map_err(|e| format!("{prog}: {e}"))?;
    if !meta.is_file() {
        return Err(format!("{prog} is not a regular file"));
    }
    if meta.permissions().mode() & 0o111 == 0 {
        return Err(format!("{prog} is not executable"));
    }
    Ok(())
}
