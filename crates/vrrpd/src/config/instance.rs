//! One `[[instance]]`: its keys and the rules within it.

use super::facts::Facts;
use std::collections::HashMap;
use std::net::IpAddr;
use std::ops::Range;
use std::time::Duration;

use toml::Spanned;
use vrrp_proto::{Auth, Interval, Priority, Version, Vrid};

use super::extras::GarpKeys;
use super::model::{
    Family, Garp, Instance, Rule, TrackCheck, TrackInterface, V3Ipv4Checksum, Vip, VirtualRoute,
};
use super::raw::{self, Dur, NameOr, Partial, RawInstance};
use super::validate::Cx;

impl Cx {
    /// Checks one instance: the instance if it is valid, and in any case
    /// what the rules between instances need.
    pub(crate) fn instance(
        &mut self,
        spanned: &Spanned<RawInstance>,
        check_names: &HashMap<String, usize>,
        garp_base: &Garp,
        global_strict: bool,
    ) -> (Option<Instance>, Facts) {
        let before = self.diags.len();
        let ri = spanned.get_ref();
        let (name, interface, vrid) = self.identity(spanned);
        let version = self.version(ri);
        let priority = self.priority(ri);
        let advert_interval = self.advert_interval(ri.advert_interval.as_ref(), version);
        let vmac = self.vmac(ri, interface.as_deref().unwrap_or(""));
        let (vips, family) = self.vips(spanned, version, vmac.as_deref(), interface.as_deref());
        if let (Family::V6, Some(u), Some(_)) = (family, &ri.use_vmac, &vmac) {
            self.at(u, "use_vmac is supported for IPv4 instances only");
        }
        let facts = Facts::of(
            ri,
            name.as_deref(),
            vrid.is_some(),
            family,
            &vips,
            vmac.as_deref(),
        );
        let (preempt, preempt_delay) = self.preempt(ri, priority);
        // RFC 3768 §5.3.6: authentication is VRRPv2 only; RFC 9568 removed it.
        let auth = match &ri.authentication {
            None => Auth::None,
            Some(a) => self.auth(a, version),
        };
        let (unicast_source, unicast_peers) = self.unicast(ri, family);
        let (virtual_routes, virtual_rules) = self.routes_and_rules(ri, family);
        let track_interfaces = self.track_interfaces(ri);
        let track_checks = self.track_checks(ri, check_names);
        let v3_ipv4_checksum = self.v3_checksum(ri, version, family);
        let garp = self.instance_garp(ri, garp_base);
        let excluded_vips = self.excluded(ri, vmac.as_deref(), interface.as_deref());
        let multicast_source = self.multicast_source(ri, family);
        let track_own_interface = ri.track_own_interface.as_ref().is_none_or(|t| *t.get_ref());
        let mut accept = self.accept(ri, priority);
        let mut garp = garp;
        let strict = ri.strict.as_ref().map_or(global_strict, |s| *s.get_ref());
        if strict {
            self.strict_rules(spanned, version, priority, &mut accept, &mut garp);
        }
        let mut hooks = self.hooks(ri);
        hooks.master_rx_lower_pri = ri
            .notify_master_rx_lower_pri
            .as_ref()
            .map(|a| self.argv(a, "notify_master_rx_lower_pri"));

        if self.diags.len() != before {
            return (None, facts);
        }
        let (Some(name), Some(interface), Some(vrid), Some(advert_interval)) =
            (name, interface, vrid, advert_interval)
        else {
            return (None, facts);
        };
        let inst = Instance {
            name,
            interface,
            vrid,
            version,
            family,
            priority,
            advert_interval,
            // Exactly sized: a daemon keeps a thousand of these.
            vips: vips
                .into_iter()
                .map(|(v, _)| v)
                .collect::<Vec<_>>()
                .into_boxed_slice()
                .into_vec(),
            excluded_vips,
            track_own_interface,
            promote_secondaries: ri
                .promote_secondaries
                .as_ref()
                .is_some_and(|p| *p.get_ref()),
            down_timer_adverts: self.down_timer_adverts(ri),
            track_source: self.track_source(ri),
            multicast_source,
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
            virtual_rules,
            vmac,
            garp,
            hooks,
            strict,
        };
        (Some(inst), facts)
    }

    /// The instance's `virtual_routes` and `virtual_rules`.
    fn routes_and_rules(
        &mut self,
        ri: &RawInstance,
        family: Family,
    ) -> (Vec<VirtualRoute>, Vec<Rule>) {
        let routes = ri
            .virtual_routes
            .iter()
            .filter_map(|r| self.route(r))
            .collect();
        let rules = ri
            .virtual_rules
            .iter()
            .filter_map(|r| self.rule(r, family == Family::V6))
            .collect();
        (routes, rules)
    }

    /// An instance's name, interface and VRID, with their rules.
    fn identity(
        &mut self,
        spanned: &Spanned<RawInstance>,
    ) -> (Option<String>, Option<String>, Option<Vrid>) {
        let ri = spanned.get_ref();
        let name = self.required(spanned, ri.name.as_ref(), "an instance", "name");
        if let Some(n) = &ri.name {
            if n.get_ref().is_empty() {
                self.at(n, "an instance name cannot be empty");
            }
        }
        let interface = self.required(spanned, ri.interface.as_ref(), "an instance", "interface");
        if let Some(i) = &ri.interface {
            self.interface_name(i);
            self.interface_exists(i);
        }
        self.required(spanned, ri.vrid.as_ref(), "an instance", "vrid");
        // RFC 9568 §5.2.3 / RFC 3768 §5.3.3: VRID 1-255.
        let vrid = ri.vrid.as_ref().and_then(|v| {
            let vrid = Vrid::new(*v.get_ref());
            if vrid.is_none() {
                self.at(v, "vrid must be between 1 and 255 (RFC 9568 §5.2.3)");
            }
            vrid
        });
        (name, interface, vrid)
    }

    /// An instance's announcement settings over the global defaults.
    fn instance_garp(&mut self, ri: &RawInstance, garp_base: &Garp) -> Garp {
        self.garp(
            garp_base,
            GarpKeys {
                master_delay: ri.garp_master_delay.as_ref(),
                master_repeat: ri.garp_master_repeat.as_ref(),
                master_refresh: ri.garp_master_refresh.as_ref(),
                lower_prio_delay: ri.garp_lower_prio_delay.as_ref(),
                lower_prio_repeat: ri.garp_lower_prio_repeat.as_ref(),
                master_refresh_repeat: ri.garp_master_refresh_repeat.as_ref(),
                lower_prio_no_advert: ri.lower_prio_no_advert.as_ref(),
            },
        )
    }

    /// A required key: its value, or a problem at the table's start.
    pub(crate) fn required<T: Clone, U: Partial>(
        &mut self,
        table: &Spanned<U>,
        value: Option<&Spanned<T>>,
        what: &str,
        key: &str,
    ) -> Option<T> {
        // A key left out for a wrong value is not missing: it was reported.
        if value.is_none() && !table.get_ref().dropped().iter().any(|k| k == key) {
            self.at(table, format!("{what} needs `{key}`"));
        }
        value.map(|v| v.get_ref().clone())
    }

    fn version(&mut self, ri: &RawInstance) -> Version {
        match &ri.version {
            None => Version::V2,
            Some(v) if *v.get_ref() == 2 => Version::V2,
            Some(v) if *v.get_ref() == 3 => Version::V3,
            Some(v) => {
                self.at(
                    v,
                    format!(
                        "version must be 2 (RFC 3768) or 3 (RFC 9568), not {}",
                        v.get_ref()
                    ),
                );
                Version::V2
            }
        }
    }

    fn priority(&mut self, ri: &RawInstance) -> Priority {
        // RFC 9568 §6.1: priority 1-254 for backups, 255 for the owner; 0 is
        // reserved for a master that leaves and cannot be configured.
        match &ri.priority {
            None => Priority::DEFAULT,
            Some(p) if *p.get_ref() == 0 => {
                self.at(
                    p,
                    "priority 0 is reserved for a leaving master (RFC 9568 §5.2.4); use 1 to 254, or 255 for the address owner",
                );
                Priority::DEFAULT
            }
            Some(p) => Priority::new(*p.get_ref()),
        }
    }

    /// keepalived's use_vmac: the VIPs go on a macvlan named vmac_name
    /// (default `vrrp.<VRID>`, as keepalived names it).
    fn vmac(&mut self, ri: &RawInstance, interface: &str) -> Option<String> {
        match (&ri.use_vmac, &ri.vmac_name) {
            (Some(u), name) if *u.get_ref() => Some(match name {
                Some(n) => {
                    self.interface_name(n);
                    if n.get_ref() == interface {
                        self.at(n, "vmac_name must differ from the instance's interface");
                    }
                    n.get_ref().clone()
                }
                None => format!("vrrp.{}", ri.vrid.as_ref().map_or(0, |v| *v.get_ref())),
            }),
            (_, Some(n)) => {
                self.at(n, "vmac_name needs use_vmac = true");
                None
            }
            _ => None,
        }
    }

    /// Virtual addresses: one family per instance, v2 is IPv4 only.
    fn vips(
        &mut self,
        spanned: &Spanned<RawInstance>,
        version: Version,
        vmac: Option<&str>,
        interface: Option<&str>,
    ) -> (Vec<(Vip, Range<usize>)>, Family) {
        let ri = spanned.get_ref();
        let Some(list) = &ri.virtual_addresses else {
            if !ri.dropped.iter().any(|k| k == "virtual_addresses") {
                self.at(spanned, "an instance needs `virtual_addresses`");
            }
            return (Vec::new(), Family::V4);
        };
        // Labels start with the name of the interface the VIPs go on.
        let vip_dev = vmac.or(interface).unwrap_or("");
        let vips: Vec<(Vip, Range<usize>)> = list
            .get_ref()
            .iter()
            .filter_map(|v| Some((self.vip(v, vip_dev, vmac.is_some())?, v.span())))
            .collect();
        if list.get_ref().is_empty() {
            self.at(list, "an instance needs at least one virtual address");
        }
        if vips.len() > 255 {
            self.at(
                list,
                "at most 255 virtual addresses fit in one advertisement (8-bit count, RFC 9568 §5.2.5)",
            );
        }
        let family = match vips.first().map(|(v, _)| v.addr) {
            Some(IpAddr::V6(_)) => Family::V6,
            _ => Family::V4,
        };
        for (vip, span) in &vips {
            if vip.addr.is_ipv4() != (family == Family::V4) {
                self.error(
                    span,
                    "an instance carries one address family (RFC 9568 §7.1); put IPv6 addresses in an instance of their own",
                );
            }
        }
        if family == Family::V6 && version == Version::V2 {
            self.at(
                list,
                "VRRPv2 carries IPv4 only (RFC 3768); set version = 3 for IPv6",
            );
        }
        (vips, family)
    }

    fn preempt(&mut self, ri: &RawInstance, priority: Priority) -> (bool, Duration) {
        let preempt = ri.preempt.as_ref().is_none_or(|p| *p.get_ref());
        let delay = ri
            .preempt_delay
            .as_ref()
            .map_or(Duration::ZERO, |d| d.get_ref().0);
        if let (false, Some(p)) = (preempt, &ri.preempt) {
            if priority.is_owner() {
                self.at(
                    p,
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
        (preempt, delay)
    }

    fn unicast(&mut self, ri: &RawInstance, family: Family) -> (Option<IpAddr>, Vec<IpAddr>) {
        let source = ri
            .unicast_source
            .as_ref()
            .and_then(|s| self.ip(s, family, "unicast_source"));
        let peers: Vec<IpAddr> = ri
            .unicast_peers
            .iter()
            .filter_map(|p| self.ip(p, family, "unicast peer"))
            .collect();
        if let (Some(s), true) = (&ri.unicast_source, peers.is_empty()) {
            if source.is_some() {
                self.at(s, "unicast_source has no effect without unicast_peers");
            }
        }
        (source, peers)
    }

    fn track_interfaces(&mut self, ri: &RawInstance) -> Vec<TrackInterface> {
        let mut out = Vec::new();
        for t in &ri.track_interfaces {
            let NameOr(rt) = t.get_ref();
            if rt.name.is_empty() || rt.name.len() > 15 || rt.name.contains(['/', ' ']) {
                self.at(t, format!("{:?} is not a valid interface name", rt.name));
            } else {
                self.interface_exists(&Spanned::new(t.span(), rt.name.clone()));
            }
            if let Some(w) = &rt.weight {
                self.weight(w);
            }
            out.push(TrackInterface {
                name: rt.name.clone(),
                weight: rt.weight.as_ref().map_or(0, |w| *w.get_ref()),
            });
        }
        out
    }

    fn track_checks(
        &mut self,
        ri: &RawInstance,
        check_names: &HashMap<String, usize>,
    ) -> Vec<TrackCheck> {
        let mut out = Vec::new();
        for t in &ri.track_checks {
            let NameOr(rt) = t.get_ref();
            if !check_names.contains_key(&rt.name) {
                self.no_such(t, "check", &rt.name, check_names);
            }
            if let Some(w) = &rt.weight {
                self.weight(w);
            }
            out.push(TrackCheck {
                name: rt.name.clone(),
                weight: rt.weight.as_ref().map(|w| *w.get_ref()),
            });
        }
        out
    }

    fn v3_checksum(
        &mut self,
        ri: &RawInstance,
        version: Version,
        family: Family,
    ) -> V3Ipv4Checksum {
        let Some(s) = &ri.v3_ipv4_checksum else {
            return V3Ipv4Checksum::default();
        };
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

    /// RFC 9568 §6.4.3 Accept_Mode. Default true, as keepalived behaves
    /// without `vrrp_strict`: VIPs usually carry services. False drops
    /// traffic to the VIPs with an nftables filter, so `nft` must exist.
    fn accept(&mut self, ri: &RawInstance, priority: Priority) -> bool {
        match &ri.accept {
            Some(a) if !*a.get_ref() => {
                if priority.is_owner() {
                    self.at(a, "accept = false has no effect on the address owner (RFC 9568 §6.4.3: the owner always accepts)");
                } else {
                    self.nft_needed(a);
                }
                false
            }
            _ => true,
        }
    }

    pub(crate) fn interface_name(&mut self, name: &Spanned<String>) {
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

    pub(crate) fn vip(
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
            self.interface_exists(i);
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

    pub(crate) fn route(&mut self, r: &Spanned<raw::RawRoute>) -> Option<VirtualRoute> {
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
            self.interface_exists(i);
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

    pub(crate) fn ip(&mut self, s: &Spanned<String>, family: Family, what: &str) -> Option<IpAddr> {
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

    pub(crate) fn weight(&mut self, w: &Spanned<i32>) {
        if !(-254..=254).contains(w.get_ref()) {
            self.at(
                w,
                "weight must be between -254 and 254 (0 means Fault while failing)",
            );
        }
    }
}
