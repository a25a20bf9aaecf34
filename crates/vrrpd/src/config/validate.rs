//! The rules of the file as a whole: `[global]`, names, and the rules
//! between objects (one VRID per link and family, one owner per VIP, one
//! group per instance). They run on every object that could be read, even
//! when other objects (or other keys of the same one) have errors.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use toml::Spanned;

use super::Options;
use super::diag::{Group, Pending};
use super::extras::GarpKeys;
use super::facts::Facts;
use super::model::{Config, Family, Garp, Global};
use super::raw::{HookKeys, RawConfig, RawGlobal};
use super::suggest::closest;

/// The checker: problems found so far, and what to look at.
#[derive(Debug)]
pub(crate) struct Cx {
    pub(crate) diags: Vec<Pending>,
    pub(crate) opts: Options,
}

impl Cx {
    pub(crate) fn new(opts: Options) -> Self {
        Cx {
            diags: Vec::new(),
            opts,
        }
    }

    /// A problem of the file at `span`.
    pub(crate) fn error(&mut self, span: &Range<usize>, message: impl Into<String>) {
        self.push(span.start, message.into(), Group::Config, None);
    }

    /// A problem of the file at `v`.
    pub(crate) fn at<T>(&mut self, v: &Spanned<T>, message: impl Into<String>) {
        self.error(&v.span(), message);
    }

    /// A problem of the host at `v` (a missing program or interface).
    pub(crate) fn host<T>(&mut self, v: &Spanned<T>, message: impl Into<String>) {
        self.push(v.span().start, message.into(), Group::Host, None);
    }

    /// A duplicate at `v`, whose first occurrence is at `first`.
    pub(crate) fn dup<T>(&mut self, v: &Spanned<T>, message: impl Into<String>, first: usize) {
        self.push(v.span().start, message.into(), Group::Config, Some(first));
    }

    fn push(&mut self, offset: usize, message: String, group: Group, other: Option<usize>) {
        self.diags.push(Pending {
            offset,
            message,
            group,
            other,
        });
    }

    pub(crate) fn validate(&mut self, raw: RawConfig) -> Config {
        let global = raw
            .global
            .as_ref()
            .map_or_else(Global::default, |g| self.global(g.get_ref()));
        let check_names = self.unique_names(
            raw.checks.iter().map(|c| c.get_ref().name.as_ref()),
            "a check",
        );
        let checks = raw.checks.iter().filter_map(|c| self.check(c)).collect();
        let instance_names = self.unique_names(
            raw.instances.iter().map(|i| i.get_ref().name.as_ref()),
            "an instance",
        );
        let mut across = Across::default();
        let mut instances = Vec::new();
        for ri in &raw.instances {
            let (inst, facts) = self.instance(ri, &check_names, &global.garp, global.strict);
            self.across(&mut across, &facts);
            instances.extend(inst.map(Arc::new));
        }
        self.unique_names(
            raw.sync_groups.iter().map(|g| g.get_ref().name.as_ref()),
            "a sync group",
        );
        let mut member_of = HashMap::new();
        let sync_groups = raw
            .sync_groups
            .iter()
            .filter_map(|g| self.sync_group(g, &instance_names, &mut member_of))
            .collect();
        self.fifo_users(&raw, global.notify_fifo.is_some());
        let lvs = self.lvs(raw.lvs.as_ref(), &raw.virtual_servers, &instance_names);
        if self.opts.require_instance && raw.instances.is_empty() && raw.virtual_servers.is_empty()
        {
            self.error(
                &(0..0),
                "the file configures nothing: add an [[instance]] or a [[virtual_server]] (see docs/config.md)",
            );
        }
        Config {
            global,
            instances,
            checks,
            sync_groups,
            lvs,
        }
    }

    fn global(&mut self, g: &RawGlobal) -> Global {
        let mut out = Global::default();
        if let Some(p) = &g.control_socket {
            if !Path::new(p.get_ref()).is_absolute() {
                self.at(p, "control_socket must be an absolute path");
            }
            out.control_socket = PathBuf::from(p.get_ref());
        }
        if let Some(t) = &g.notify_timeout {
            if t.get_ref().0.is_zero() {
                self.at(t, "notify_timeout must be greater than zero");
            }
            out.notify_timeout = t.get_ref().0;
        }
        if let Some(m) = &g.metrics_listen {
            match m.get_ref().parse::<SocketAddr>() {
                Ok(a) => out.metrics_listen = Some(a),
                Err(_) => self.at(
                    m,
                    "metrics_listen must be ADDRESS:PORT, e.g. \"127.0.0.1:9650\" or \"[::1]:9650\"",
                ),
            }
        }
        self.global_loop_settings(g, &mut out);
        out.mail = Box::new(self.mail(g));
        if let Some(p) = &g.notify_fifo {
            if !Path::new(p.get_ref()).is_absolute() {
                self.at(p, "notify_fifo must be an absolute path");
            }
            out.notify_fifo = Some(PathBuf::from(p.get_ref()));
        }
        self.fifo_options(g, &mut out);
        if let Some(d) = &g.startup_delay {
            // keepalived's limit is its timer range; an hour is plenty.
            if d.get_ref().0 > Duration::from_secs(3600) {
                self.at(d, "startup_delay must be at most 1h");
            }
            out.startup_delay = d.get_ref().0;
        }
        out.strict = g.strict.as_ref().is_some_and(|s| *s.get_ref());
        out.static_addresses = g
            .static_addresses
            .iter()
            .filter_map(|a| self.static_address(a))
            .collect();
        for r in &g.static_routes {
            if r.get_ref().via.is_none() && r.get_ref().interface.is_none() {
                self.at(r, "a static route needs `via` or `interface` (there is no instance interface to use)");
            }
        }
        out.static_routes = g
            .static_routes
            .iter()
            .filter_map(|r| self.route(r))
            .collect();
        out.static_rules = g
            .static_rules
            .iter()
            .filter_map(|r| self.rule(r, false))
            .collect();
        // keepalived: the global lower-priority settings default to the
        // global master ones (vrrp.c, when reading the configuration).
        let mut base = Garp::default();
        if let Some(d) = &g.garp_master_delay {
            base.lower_prio_delay = d.get_ref().0;
        }
        if let Some(r) = &g.garp_master_repeat {
            base.lower_prio_repeat = *r.get_ref();
        }
        out.garp = self.garp(
            &base,
            GarpKeys {
                master_delay: g.garp_master_delay.as_ref(),
                master_repeat: g.garp_master_repeat.as_ref(),
                master_refresh: g.garp_master_refresh.as_ref(),
                lower_prio_delay: g.garp_lower_prio_delay.as_ref(),
                lower_prio_repeat: g.garp_lower_prio_repeat.as_ref(),
                master_refresh_repeat: g.garp_master_refresh_repeat.as_ref(),
                lower_prio_no_advert: g.lower_prio_no_advert.as_ref(),
            },
        );
        out
    }

    /// `control_group` and `advert_late_warn`.
    /// The notify FIFO's options (keepalived's
    /// `vrrp_notify_priority_changes`, `fifo_write_vrrp_states_on_reload`):
    /// without a FIFO to write to they would do nothing, which is an error.
    fn fifo_options(&mut self, g: &RawGlobal, out: &mut Global) {
        for (key, value) in [
            ("notify_priority_changes", &g.notify_priority_changes),
            (
                "fifo_write_states_on_reload",
                &g.fifo_write_states_on_reload,
            ),
        ] {
            let Some(v) = value else { continue };
            if *v.get_ref() && g.notify_fifo.is_none() {
                self.at(
                    v,
                    format!("{key} writes to the notify FIFO: set `notify_fifo`"),
                );
            }
            match key {
                "notify_priority_changes" => out.notify_priority_changes = *v.get_ref(),
                _ => out.fifo_write_states_on_reload = *v.get_ref(),
            }
        }
    }

    /// Instances and sync groups that ask for priority lines need the FIFO.
    fn fifo_users(&mut self, raw: &RawConfig, fifo: bool) {
        if fifo {
            return;
        }
        let instances = raw.instances.iter().map(|i| i.get_ref().priority_changes());
        let groups = raw
            .sync_groups
            .iter()
            .map(|g| g.get_ref().priority_changes());
        for v in instances.chain(groups).flatten() {
            if *v.get_ref() {
                self.at(
                    v,
                    "notify_priority_changes writes to the notify FIFO: set `notify_fifo` in [global]",
                );
            }
        }
    }

    fn global_loop_settings(&mut self, g: &RawGlobal, out: &mut Global) {
        if let Some(grp) = &g.control_group {
            let name = grp.get_ref();
            if name.is_empty() || name.contains(|c: char| c.is_whitespace() || c == ':') {
                self.at(grp, "control_group must be a group name");
            }
            out.control_group = Some(name.clone());
        }
        if let Some(f) = &g.advert_late_warn {
            let v = *f.get_ref();
            if (0.0..=10.0).contains(&v) {
                // In range, so the product fits.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let permille = (v * 1000.0).round() as u32;
                out.advert_late_warn_permille = permille;
            } else {
                self.at(
                    f,
                    "advert_late_warn must be a fraction of the advert interval from 0 (off) to 10, e.g. 0.5",
                );
            }
        }
    }

    /// Reports names given twice (with both places); returns each name with
    /// the position of its first definition.
    fn unique_names<'a>(
        &mut self,
        names: impl Iterator<Item = Option<&'a Spanned<String>>>,
        what: &str,
    ) -> HashMap<String, usize> {
        let mut seen: HashMap<String, usize> = HashMap::new();
        for n in names.flatten() {
            match seen.get(n.get_ref()) {
                Some(&first) => self.dup(
                    n,
                    format!("{what} named {:?} is already defined", n.get_ref()),
                    first,
                ),
                None => {
                    seen.insert(n.get_ref().clone(), n.span().start);
                }
            }
        }
        seen
    }

    /// The rules between instances, on what could be read of this one.
    fn across(&mut self, a: &mut Across, f: &Facts) {
        // Two routers with one VRID on one link and family are the same
        // virtual router (RFC 9568 §5.2.3): one of them is a mistake.
        if let (Some(i), Some(v)) = (&f.interface, &f.vrid) {
            let key = (i.get_ref().clone(), f.family, *v.get_ref());
            match a.vrids.get(&key) {
                Some((other, first)) => self.dup(
                    v,
                    format!(
                        "VRID {} on {} ({}) is already used by instance {other:?}",
                        v.get_ref(),
                        i.get_ref(),
                        match f.family {
                            Family::V4 => "IPv4",
                            Family::V6 => "IPv6",
                        }
                    ),
                    *first,
                ),
                None => {
                    a.vrids.insert(key, (f.name.clone(), v.span().start));
                }
            }
        }
        for (addr, span) in &f.vips {
            match a.vips.get(addr) {
                Some((other, first)) => self.push(
                    span.start,
                    format!("virtual address {addr} is already used by instance {other:?}"),
                    Group::Config,
                    Some(*first),
                ),
                None => {
                    a.vips.insert(*addr, (f.name.clone(), span.start));
                }
            }
        }
        if let Some(i) = &f.interface {
            if let Some(other) = a.vmacs.get(i.get_ref()) {
                self.at(
                    i,
                    format!(
                        "{} is the virtual MAC interface of instance {other:?}",
                        i.get_ref()
                    ),
                );
            }
            a.ifnames.insert(i.get_ref().clone(), f.name.clone());
        }
        if let Some((v, at)) = &f.vmac {
            if let Some(other) = a.vmacs.get(v) {
                self.error(
                    at,
                    format!("virtual MAC interface {v} is already used by instance {other:?}"),
                );
            } else if let Some(other) = a.ifnames.get(v).filter(|o| **o != f.name) {
                self.error(
                    at,
                    format!("virtual MAC interface {v} is the interface of instance {other:?}"),
                );
            } else {
                a.vmacs.insert(v.clone(), f.name.clone());
            }
        }
    }

    /// "there is no X named N", with the closest known name.
    pub(crate) fn no_such<T>(
        &mut self,
        at: &Spanned<T>,
        what: &str,
        name: &str,
        known: &HashMap<String, usize>,
    ) {
        // In file order, so that a tie goes to the first definition.
        let mut names: Vec<(&String, &usize)> = known.iter().collect();
        names.sort_by_key(|(_, at)| **at);
        let hint = closest(name, names.iter().map(|(n, _)| n.as_str()))
            .map_or_else(String::new, |k| format!("; did you mean {k:?}?"));
        self.at(at, format!("there is no {what} named {name:?}{hint}"));
    }
}

/// What the rules between instances remember.
#[derive(Debug, Default)]
struct Across {
    /// (interface, family, VRID) → (instance, position of its VRID).
    vrids: HashMap<(String, Family, u8), (String, usize)>,
    /// VIP → (instance, position).
    vips: HashMap<IpAddr, (String, usize)>,
    /// Interfaces instances run on → instance.
    ifnames: HashMap<String, String>,
    /// Virtual MAC interfaces → instance.
    vmacs: HashMap<String, String>,
}

#[cfg(test)]
mod tests {
    use crate::config::load_str;

    #[test]
    fn control_group_and_advert_late_warn_are_read_and_checked() {
        let ok = load_str(
            "[global]\ncontrol_group = \"vrrpview\"\nadvert_late_warn = 0.25\n",
            "t.toml",
        )
        .unwrap();
        assert_eq!(ok.global.control_group.as_deref(), Some("vrrpview"));
        assert_eq!(ok.global.advert_late_warn_permille, 250);
        let default = load_str("", "t.toml").unwrap();
        assert_eq!(default.global.advert_late_warn_permille, 500);
        assert_eq!(default.global.control_group, None);
        for (text, why) in [
            ("advert_late_warn = 11.0", "advert_late_warn must be"),
            ("advert_late_warn = -1.0", "advert_late_warn must be"),
            (
                "control_group = \"a b\"",
                "control_group must be a group name",
            ),
            ("control_group = \"\"", "control_group must be a group name"),
        ] {
            let e = load_str(&format!("[global]\n{text}\n"), "t.toml").unwrap_err();
            assert!(e.to_string().contains(why), "{text}: {e}");
        }
    }
}
