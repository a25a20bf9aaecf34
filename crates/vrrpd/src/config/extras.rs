//! The keys that carry keepalived's extensions onto an instance:
//! announcement settings (with their `[global]` defaults), excluded
//! addresses and the multicast source address.

use std::net::IpAddr;
use std::time::Duration;

use toml::Spanned;

use super::model::Rule;
use super::model::{Family, Garp, Vip};
use super::raw::{Dur, NameOr, RawInstance, RawRule, RawVip};
use super::validate::Cx;
use vrrp_proto::{Priority, Version};

/// The announcement keys of a table (`[global]` or `[[instance]]`).
pub(crate) struct GarpKeys<'a> {
    pub(crate) master_delay: Option<&'a Spanned<Dur>>,
    pub(crate) master_repeat: Option<&'a Spanned<u32>>,
    pub(crate) master_refresh: Option<&'a Spanned<Dur>>,
    pub(crate) lower_prio_delay: Option<&'a Spanned<Dur>>,
    pub(crate) lower_prio_repeat: Option<&'a Spanned<u32>>,
    pub(crate) master_refresh_repeat: Option<&'a Spanned<u32>>,
    pub(crate) lower_prio_no_advert: Option<&'a Spanned<bool>>,
}

impl Cx {
    /// keepalived's `track_src_ip`: it follows a fixed source, so one must
    /// be set.
    pub(crate) fn track_source(&mut self, ri: &RawInstance) -> bool {
        let Some(t) = &ri.track_source else {
            return false;
        };
        let fixed = ri.multicast_source.is_some() || ri.unicast_source.is_some();
        if *t.get_ref() && !fixed {
            self.at(
                t,
                "track_source follows a fixed source address: set `multicast_source` or `unicast_source`",
            );
        }
        *t.get_ref()
    }

    /// keepalived's `down_timer_adverts`: 1 to 100 intervals, default 3
    /// (the RFCs' Master_Down_Interval).
    pub(crate) fn down_timer_adverts(&mut self, ri: &RawInstance) -> u8 {
        let Some(n) = &ri.down_timer_adverts else {
            return 3;
        };
        match u8::try_from(*n.get_ref()) {
            Ok(v) if (1..=100).contains(&v) => v,
            _ => {
                self.at(
                    n,
                    "down_timer_adverts must be between 1 and 100 (the RFCs' Master_Down_Interval is 3 intervals)",
                );
                3
            }
        }
    }

    /// keepalived's announcement keys, over `base` (the global defaults
    /// for an instance, keepalived's built-in ones for `[global]`).
    pub(crate) fn garp(&mut self, base: &Garp, keys: GarpKeys<'_>) -> Garp {
        let mut garp = base.clone();
        if let Some(d) = keys.master_delay {
            garp.master_delay = d.get_ref().0;
        }
        if let Some(r) = keys.master_repeat {
            if *r.get_ref() == 0 || *r.get_ref() > 100 {
                self.at(r, "garp_master_repeat must be between 1 and 100");
            }
            garp.master_repeat = *r.get_ref();
        }
        if let Some(d) = keys.master_refresh {
            let d0 = d.get_ref().0;
            if !d0.is_zero() && d0 < Duration::from_secs(1) {
                self.at(d, "garp_master_refresh must be 0 (off) or at least 1s");
            }
            garp.master_refresh = (!d0.is_zero()).then_some(d0);
        }
        if let Some(d) = keys.lower_prio_delay {
            garp.lower_prio_delay = d.get_ref().0;
        }
        if let Some(r) = keys.lower_prio_repeat {
            if *r.get_ref() > 100 {
                self.at(r, "garp_lower_prio_repeat must be between 0 (none) and 100");
            }
            garp.lower_prio_repeat = *r.get_ref();
        }
        if let Some(r) = keys.master_refresh_repeat {
            if *r.get_ref() == 0 || *r.get_ref() > 100 {
                self.at(r, "garp_master_refresh_repeat must be between 1 and 100");
            }
            garp.master_refresh_repeat = *r.get_ref();
        }
        if let Some(n) = keys.lower_prio_no_advert {
            garp.lower_prio_no_advert = *n.get_ref();
        }
        garp
    }

    /// keepalived's `virtual_ipaddress_excluded`: written as
    /// `virtual_addresses`, of any family, at most as many as keepalived
    /// allows in all (no advert carries them).
    pub(crate) fn excluded(
        &mut self,
        ri: &RawInstance,
        vmac: Option<&str>,
        interface: Option<&str>,
    ) -> Vec<Vip> {
        let Some(list) = &ri.virtual_addresses_excluded else {
            return Vec::new();
        };
        let vip_dev = vmac.or(interface).unwrap_or("");
        let out: Vec<Vip> = list
            .get_ref()
            .iter()
            .filter_map(|v| self.vip(v, vip_dev, vmac.is_some()))
            .collect();
        let listed: Vec<IpAddr> = ri
            .virtual_addresses
            .iter()
            .flat_map(|l| l.get_ref())
            .filter_map(|v| {
                v.get_ref()
                    .0
                    .address
                    .get_ref()
                    .split('/')
                    .next()?
                    .parse()
                    .ok()
            })
            .collect();
        for (i, (v, raw)) in out.iter().zip(list.get_ref()).enumerate() {
            if listed.contains(&v.addr) || out[..i].iter().any(|o| o.addr == v.addr) {
                self.at(
                    raw,
                    format!(
                        "{} is listed twice (an excluded address is installed once)",
                        v.addr
                    ),
                );
            }
        }
        out
    }

    /// keepalived's `mcast_src_ip`: the source of multicast adverts.
    pub(crate) fn multicast_source(&mut self, ri: &RawInstance, family: Family) -> Option<IpAddr> {
        let s = ri.multicast_source.as_ref()?;
        let a = self.ip(s, family, "multicast_source")?;
        if !ri.unicast_peers.is_empty() {
            self.at(
                s,
                "multicast_source has no effect with unicast_peers (use unicast_source)",
            );
        }
        if let IpAddr::V6(v6) = a {
            // RFC 9568 §7.2: IPv6 adverts come from a link-local address.
            if !v6.is_unicast_link_local() {
                self.at(
                    s,
                    "an IPv6 multicast_source must be a link-local address (RFC 9568 §7.2)",
                );
            }
        }
        Some(a)
    }

    /// keepalived's strict mode (`vrrp_strict`, `strict_mode`): what
    /// keepalived resets with a warning is an error here, where the file
    /// says it; what it defaults differently is defaulted the same way.
    /// keepalived's rules (vrrp.c, when an instance is completed): no
    /// authentication, no unicast peers, no `preempt_delay`, Accept_Mode off
    /// by default (and never on in VRRPv2, which has none: RFC 3768), no
    /// lower-priority announcements.
    pub(crate) fn strict_rules(
        &mut self,
        spanned: &Spanned<RawInstance>,
        version: Version,
        priority: Priority,
        accept: &mut bool,
        garp: &mut Garp,
    ) {
        let ri = spanned.get_ref();
        let why = "is not allowed with strict = true (keepalived's vrrp_strict)";
        if let Some(a) = &ri.authentication {
            self.at(a, format!("authentication {why}"));
        }
        if let Some(p) = ri.unicast_peers.first() {
            self.at(
                p,
                format!("unicast_peers {why}: strict mode is multicast only"),
            );
        }
        if let Some(d) = &ri.preempt_delay {
            self.at(d, format!("preempt_delay {why}"));
        }
        if let Some(r) = ri
            .garp_lower_prio_repeat
            .as_ref()
            .filter(|r| *r.get_ref() != 0)
        {
            self.at(r, format!("a non-zero garp_lower_prio_repeat {why}"));
        }
        if let Some(d) = ri
            .garp_lower_prio_delay
            .as_ref()
            .filter(|d| !d.get_ref().0.is_zero())
        {
            self.at(d, format!("a non-zero garp_lower_prio_delay {why}"));
        }
        garp.lower_prio_repeat = 0;
        garp.lower_prio_delay = Duration::ZERO;
        if let Some(n) = ri.lower_prio_no_advert.as_ref().filter(|n| !*n.get_ref()) {
            self.at(n, format!("lower_prio_no_advert = false {why}"));
        }
        garp.lower_prio_no_advert = true;
        if priority.is_owner() {
            return;
        }
        match &ri.accept {
            Some(a) if *a.get_ref() && version == Version::V2 => {
                self.at(a, "accept = true does not exist in VRRPv2 (RFC 3768) and strict mode keeps to it: use version = 3 or leave accept out");
            }
            Some(_) => {}
            None => {
                // Accept_Mode off by default: the nftables filter drops
                // traffic to the addresses, as `accept = false` does.
                *accept = false;
                if let Some(st) = &ri.strict {
                    self.nft_needed(st);
                } else {
                    self.nft_needed(spanned);
                }
            }
        }
    }

    /// keepalived's `static_ipaddress` entry: an address, its interface
    /// (required: there is no instance to take it from), an optional label.
    pub(crate) fn static_address(&mut self, a: &Spanned<RawVip>) -> Option<Vip> {
        let Some(dev) = &a.get_ref().interface else {
            self.at(a, "a static address needs `interface`");
            return None;
        };
        let entry = Spanned::new(
            a.span(),
            NameOr(RawVip {
                address: a.get_ref().address.clone(),
                label: a.get_ref().label.clone(),
                interface: Some(dev.clone()),
            }),
        );
        let mut v = self.vip(&entry, dev.get_ref(), false)?;
        v.interface = Some(dev.get_ref().clone());
        Some(v)
    }

    /// A routing policy rule: `table` required, networks written with their
    /// host bits zero, one family (`default_v6` when no network says).
    pub(crate) fn rule(&mut self, r: &Spanned<RawRule>, default_v6: bool) -> Option<Rule> {
        let rr = r.get_ref();
        let Some(table) = &rr.table else {
            self.at(
                r,
                "a rule needs `table` (the routing table it sends traffic to)",
            );
            return None;
        };
        if *table.get_ref() == 0 {
            self.at(table, "table 0 is not a routing table");
        }
        let from = rr.from.as_ref().and_then(|f| self.network(f));
        let to = rr.to.as_ref().and_then(|t| self.network(t));
        for i in [&rr.iif, &rr.oif].into_iter().flatten() {
            self.interface_name(i);
        }
        let ipv6 = match (from, to) {
            (Some((a, _)), Some((b, _))) if a.is_ipv6() != b.is_ipv6() => {
                self.at(r, "`from` and `to` of a rule are of one address family");
                return None;
            }
            (Some((a, _)), _) | (None, Some((a, _))) => a.is_ipv6(),
            (None, None) => default_v6,
        };
        Some(Rule {
            ipv6,
            from,
            to,
            iif: rr.iif.as_ref().map(|i| i.get_ref().clone()),
            oif: rr.oif.as_ref().map(|o| o.get_ref().clone()),
            fwmark: rr.fwmark.as_ref().map(|m| *m.get_ref()),
            priority: rr.priority.as_ref().map(|p| *p.get_ref()),
            table: *table.get_ref(),
        })
    }

    /// `ADDR[/LEN]`, host bits zero.
    fn network(&mut self, s: &Spanned<String>) -> Option<(IpAddr, u8)> {
        let text = s.get_ref();
        let (a, l) = text.split_once('/').unwrap_or((text.as_str(), ""));
        let Ok(addr) = a.parse::<IpAddr>() else {
            self.at(
                s,
                format!("{text:?} is not a network (write e.g. \"192.0.2.0/24\")"),
            );
            return None;
        };
        let max: u8 = if addr.is_ipv4() { 32 } else { 128 };
        let len = if l.is_empty() {
            Some(max)
        } else {
            l.parse::<u8>().ok().filter(|n| *n <= max)
        };
        let Some(len) = len else {
            self.at(s, format!("{text:?}: prefix length must be 0 to {max}"));
            return None;
        };
        let host = match addr {
            IpAddr::V4(v) => u32::from(v) & u32::MAX.checked_shr(u32::from(len)).unwrap_or(0) != 0,
            IpAddr::V6(v) => {
                u128::from(v) & u128::MAX.checked_shr(u32::from(len)).unwrap_or(0) != 0
            }
        };
        if host {
            self.at(
                s,
                format!("{text:?} has host bits set: the network is written with them zero"),
            );
            return None;
        }
        Some((addr, len))
    }
}
