//! Reload by difference: what a new configuration changes.
//!
//! Instances are matched by name. An instance is
//! * **kept** when nothing about it changed: its router keeps its state,
//!   timers and addresses;
//! * **updated in place** when only what the daemon (not the state
//!   machine) uses changed: notify hooks, tracked checks and tracked
//!   interfaces (the effective priority is recomputed);
//! * **retuned** when, beyond those, only settings the state machine takes
//!   in place changed (`VirtualRouter::reconfigure`): priority (but not
//!   to or from 255), advertisement interval, preemption and its delay,
//!   authentication, gratuitous ARP / NA settings, the VRRPv3 IPv4
//!   checksum form, `virtual_routes`, and virtual addresses added or
//!   dropped. The instance
//!   keeps its state, timers and sockets; a master adds only the new
//!   addresses, drops only the removed ones, and announces the new ones.
//!   An address kept with another prefix length or label restarts the
//!   instance (the kernel's copy would not change otherwise);
//! * **restarted** when anything else the state machine or the sockets use
//!   changed (VRID, version, family, interface, unicast peers or source,
//!   Accept_Mode, ownership), or when its sync group's membership changed
//!   (a group's members restart together);
//! * **added** or **removed** otherwise (a removed instance releases:
//!   priority 0, addresses removed).
//!
//! Checks are matched by name too: unchanged ones keep their state.

use std::collections::{BTreeMap, BTreeSet};

use vrrp_proto::Priority;

use crate::config::{Config, Instance, SyncGroup};

/// What a reload does, instance and check names in each list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Instances left alone.
    pub keep: Vec<String>,
    /// Instances whose hooks or tracking changed (router untouched).
    pub update: Vec<String>,
    /// Instances whose state-machine settings changed, applied in place
    /// (state, timers and unchanged addresses kept).
    pub retune: Vec<String>,
    /// Instances stopped and started again with the new settings.
    pub restart: Vec<String>,
    /// New instances.
    pub add: Vec<String>,
    /// Instances released and dropped.
    pub remove: Vec<String>,
    /// New checks.
    pub checks_add: Vec<String>,
    /// Checks dropped.
    pub checks_remove: Vec<String>,
    /// Checks whose definition changed (dropped and added again).
    pub checks_replace: Vec<String>,
}

impl Plan {
    /// True if the reload changes nothing at all.
    pub fn is_noop(&self) -> bool {
        self.update.is_empty()
            && self.retune.is_empty()
            && self.restart.is_empty()
            && self.add.is_empty()
            && self.remove.is_empty()
            && self.checks_add.is_empty()
            && self.checks_remove.is_empty()
            && self.checks_replace.is_empty()
    }
}

/// The instance without the settings that can change in place.
fn router_part(i: &Instance) -> Instance {
    let mut i = i.clone();
    i.hooks = Default::default();
    i.track_checks.clear();
    i.track_interfaces.clear();
    i
}

/// True if `old` can become `new` in place: they differ only in what
/// [`router_part`] leaves out and in what `VirtualRouter::reconfigure`
/// takes (see the module documentation).
fn retunable(old: &Instance, new: &Instance) -> bool {
    let o = router_part(old);
    let mut n = router_part(new);
    n.priority = o.priority;
    n.advert_interval = o.advert_interval;
    n.preempt = o.preempt;
    n.preempt_delay = o.preempt_delay;
    n.auth = o.auth;
    n.garp = o.garp.clone();
    n.v3_ipv4_checksum = o.v3_ipv4_checksum;
    n.vips.clone_from(&o.vips);
    n.virtual_routes.clone_from(&o.virtual_routes);
    let owner = |i: &Instance| i.priority == Priority::OWNER;
    // A kept address must keep its prefix length and label: the state
    // machine does not move it, so the kernel's copy would stay as it was.
    let same_kept = new.vips.iter().all(|v| {
        old.vips
            .iter()
            .find(|o| o.addr == v.addr)
            .is_none_or(|o| o == v)
    });
    n == o && owner(old) == owner(new) && same_kept
}

fn group_of<'a>(cfg: &'a Config, name: &str) -> Option<&'a SyncGroup> {
    cfg.sync_groups
        .iter()
        .find(|g| g.instances.iter().any(|m| m == name))
}

/// Computes the plan that takes a daemon running `old` to `new`.
pub fn plan(old: &Config, new: &Config) -> Plan {
    let mut p = Plan::default();
    let old_i: BTreeMap<&str, &Instance> = old
        .instances
        .iter()
        .map(|i| (i.name.as_str(), &**i))
        .collect();
    let new_i: BTreeMap<&str, &Instance> = new
        .instances
        .iter()
        .map(|i| (i.name.as_str(), &**i))
        .collect();

    // Members of groups whose membership changed restart together.
    let mut forced: BTreeSet<&str> = BTreeSet::new();
    for (name, _) in new_i.iter().filter(|(n, _)| old_i.contains_key(*n)) {
        let (og, ng) = (group_of(old, name), group_of(new, name));
        let same = match (og, ng) {
            (None, None) => true,
            (Some(a), Some(b)) => a.name == b.name && a.instances == b.instances,
            _ => false,
        };
        if !same {
            for g in [og, ng].into_iter().flatten() {
                forced.extend(g.instances.iter().map(String::as_str));
            }
        }
    }

    for (name, ni) in &new_i {
        match old_i.get(name) {
            None => p.add.push((*name).to_owned()),
            Some(oi) => {
                if forced.contains(name) {
                    p.restart.push((*name).to_owned());
                } else if router_part(oi) != router_part(ni) {
                    if retunable(oi, ni) {
                        p.retune.push((*name).to_owned());
                    } else {
                        p.restart.push((*name).to_owned());
                    }
                } else if oi != ni
                    || group_of(old, name).map(|g| &g.hooks)
                        != group_of(new, name).map(|g| &g.hooks)
                {
                    p.update.push((*name).to_owned());
                } else {
                    p.keep.push((*name).to_owned());
                }
            }
        }
    }
    p.remove = old_i
        .keys()
        .filter(|n| !new_i.contains_key(*n))
        .map(|n| (*n).to_owned())
        .collect();

    // A restarted group member restarts its whole (new) group.
    let restarting: BTreeSet<String> = p.restart.iter().cloned().collect();
    for name in &restarting {
        if let Some(g) = group_of(new, name) {
            for m in &g.instances {
                if let Some(pos) = p.keep.iter().position(|k| k == m) {
                    p.keep.remove(pos);
                    p.restart.push(m.clone());
                }
                if let Some(pos) = p.update.iter().position(|k| k == m) {
                    p.update.remove(pos);
                    p.restart.push(m.clone());
                }
                if let Some(pos) = p.retune.iter().position(|k| k == m) {
                    p.retune.remove(pos);
                    p.restart.push(m.clone());
                }
            }
        }
    }
    p.restart.sort();

    let old_c: BTreeMap<&str, _> = old.checks.iter().map(|c| (c.name.as_str(), c)).collect();
    let new_c: BTreeMap<&str, _> = new.checks.iter().map(|c| (c.name.as_str(), c)).collect();
    for (name, nc) in &new_c {
        match old_c.get(name) {
            None => p.checks_add.push((*name).to_owned()),
            Some(oc) if oc != nc => p.checks_replace.push((*name).to_owned()),
            Some(_) => {}
        }
    }
    p.checks_remove = old_c
        .keys()
        .filter(|n| !new_c.contains_key(*n))
        .map(|n| (*n).to_owned())
        .collect();
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str;

    fn cfg(text: &str) -> Config {
        load_str(text, "t.toml").unwrap()
    }

    const BASE: &str = r#"
[[check]]
name = "a"
type = "tcp"
address = "127.0.0.1"
port = 80

[[check]]
name = "b"
type = "tcp"
address = "127.0.0.1"
port = 81

[[instance]]
name = "keep"
interface = "eth0"
vrid = 1
virtual_addresses = ["192.0.2.1"]

[[instance]]
name = "hooks"
interface = "eth0"
vrid = 2
virtual_addresses = ["192.0.2.2"]

[[instance]]
name = "prio"
interface = "eth0"
vrid = 3
virtual_addresses = ["192.0.2.3"]

[[instance]]
name = "gone"
interface = "eth0"
vrid = 4
virtual_addresses = ["192.0.2.4"]

[[instance]]
name = "g1"
interface = "eth0"
vrid = 5
virtual_addresses = ["192.0.2.5"]

[[instance]]
name = "g2"
interface = "eth0"
vrid = 6
virtual_addresses = ["192.0.2.6"]

[[sync_group]]
name = "G"
instances = ["g1", "g2"]
"#;

    #[test]
    fn identical_configs_change_nothing() {
        let p = plan(&cfg(BASE), &cfg(BASE));
        assert!(p.is_noop(), "{p:?}");
        assert_eq!(p.keep.len(), 6);
    }

    #[test]
    fn each_kind_of_change_is_classified() {
        let new = BASE
            .replace(
                "name = \"hooks\"\ninterface = \"eth0\"\nvrid = 2\n",
                "name = \"hooks\"\ninterface = \"eth0\"\nvrid = 2\nnotify = \"/bin/true\"\ntrack_checks = [\"a\"]\n",
            )
            .replace(
                "name = \"prio\"\ninterface = \"eth0\"\nvrid = 3\n",
                "name = \"prio\"\ninterface = \"eth0\"\nvrid = 3\npriority = 120\n",
            )
            .replace(
                "[[instance]]\nname = \"gone\"\ninterface = \"eth0\"\nvrid = 4\nvirtual_addresses = [\"192.0.2.4\"]\n",
                "[[instance]]\nname = \"new\"\ninterface = \"eth0\"\nvrid = 7\nvirtual_addresses = [\"192.0.2.7\"]\n",
            )
            .replace("port = 81", "port = 82")
            + "\n[[check]]\nname = \"c\"\ntype = \"tcp\"\naddress = \"127.0.0.1\"\nport = 83\n";
        let p = plan(&cfg(BASE), &cfg(&new));
        assert_eq!(p.keep, ["g1", "g2", "keep"]);
        assert_eq!(p.update, ["hooks"]);
        assert_eq!(p.retune, ["prio"]);
        assert!(p.restart.is_empty());
        assert_eq!(p.add, ["new"]);
        assert_eq!(p.remove, ["gone"]);
        assert_eq!(p.checks_add, ["c"]);
        assert_eq!(p.checks_replace, ["b"]);
        assert!(p.checks_remove.is_empty());
    }

    /// BASE with `extra` added to instance `name`'s settings.
    fn with(base: &str, name: &str, vrid: u8, extra: &str) -> String {
        let head = format!("name = \"{name}\"\ninterface = \"eth0\"\nvrid = {vrid}\n");
        assert!(base.contains(&head), "{name}");
        base.replace(&head, &format!("{head}{extra}\n"))
    }

    #[test]
    fn state_machine_settings_are_retuned_and_the_rest_restarts() {
        let old = cfg(BASE);
        let retuned = [
            "priority = 120",
            "advert_interval = \"3s\"",
            "preempt = false",
            "preempt_delay = \"5s\"",
            "garp_master_repeat = 3",
        ];
        for extra in retuned {
            let p = plan(&old, &cfg(&with(BASE, "prio", 3, extra)));
            assert_eq!(p.retune, ["prio"], "{extra}");
            assert!(p.restart.is_empty(), "{extra}: {p:?}");
        }
        // Addresses added and dropped retune; tracking changes with them
        // are applied too (the instance's whole configuration is replaced).
        let vips = BASE.replace(
            "virtual_addresses = [\"192.0.2.3\"]",
            "virtual_addresses = [\"192.0.2.30/24\"]\ntrack_checks = [\"a\"]",
        );
        let p = plan(&old, &cfg(&vips));
        assert_eq!(p.retune, ["prio"]);
        let restarted = [
            "priority = 255",
            "accept = false",
            "unicast_peers = [\"192.0.2.77\"]",
            "version = 3",
        ];
        for extra in restarted {
            let p = plan(&old, &cfg(&with(BASE, "prio", 3, extra)));
            assert_eq!(p.restart, ["prio"], "{extra}");
            assert!(p.retune.is_empty(), "{extra}: {p:?}");
        }
        // A kept address with another prefix length would stay as the
        // kernel has it: restart.
        let prefix = BASE.replace("\"192.0.2.3\"", "\"192.0.2.3/24\"");
        assert_eq!(plan(&old, &cfg(&prefix)).restart, ["prio"]);
        let iface = BASE.replace(
            "name = \"prio\"\ninterface = \"eth0\"",
            "name = \"prio\"\ninterface = \"eth1\"",
        );
        assert_eq!(plan(&old, &cfg(&iface)).restart, ["prio"]);
    }

    #[test]
    fn a_changed_group_member_restarts_the_whole_group() {
        // Retuning a member leaves its partners alone.
        let p = plan(&cfg(BASE), &cfg(&with(BASE, "g2", 6, "priority = 90")));
        assert_eq!(p.retune, ["g2"]);
        assert!(p.restart.is_empty(), "{p:?}");
        // Restarting one restarts all.
        let p = plan(&cfg(BASE), &cfg(&with(BASE, "g2", 6, "accept = false")));
        assert_eq!(p.restart, ["g1", "g2"]);
        assert!(p.retune.is_empty(), "{p:?}");
        let both = with(
            &with(BASE, "g1", 5, "priority = 90"),
            "g2",
            6,
            "accept = false",
        );
        let p = plan(&cfg(BASE), &cfg(&both));
        assert_eq!(p.restart, ["g1", "g2"]);
        assert!(p.retune.is_empty(), "{p:?}");
        // A member leaving restarts the former partners; one joining restarts too.
        let new = BASE.replace(
            "instances = [\"g1\", \"g2\"]",
            "instances = [\"g1\", \"keep\"]",
        );
        let p = plan(&cfg(BASE), &cfg(&new));
        assert_eq!(p.restart, ["g1", "g2", "keep"]);
        assert_eq!(p.keep, ["gone", "hooks", "prio"]);
    }
}
