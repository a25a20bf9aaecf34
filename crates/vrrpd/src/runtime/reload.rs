//! Reload by difference: what a new configuration changes.
//!
//! Instances are matched by name. An instance is
//! * **kept** when nothing about it changed: its router keeps its state,
//!   timers and addresses;
//! * **updated in place** when only what the daemon (not the state
//!   machine) uses changed: notify hooks, tracked checks and tracked
//!   interfaces (the effective priority is recomputed);
//! * **restarted** when anything the state machine or the sockets use
//!   changed (VRID, priority, addresses, timers, interface, ...), or when
//!   its sync group's membership changed (a group's members restart
//!   together);
//! * **added** or **removed** otherwise (a removed instance releases:
//!   priority 0, addresses removed).
//!
//! Checks are matched by name too: unchanged ones keep their state.

use std::collections::{BTreeMap, BTreeSet};

use crate::config::{Config, Instance, SyncGroup};

/// What a reload does, instance and check names in each list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Instances left alone.
    pub keep: Vec<String>,
    /// Instances whose hooks or tracking changed (router untouched).
    pub update: Vec<String>,
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
                if forced.contains(name) || router_part(oi) != router_part(ni) {
                    p.restart.push((*name).to_owned());
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
        assert_eq!(p.restart, ["prio"]);
        assert_eq!(p.add, ["new"]);
        assert_eq!(p.remove, ["gone"]);
        assert_eq!(p.checks_add, ["c"]);
        assert_eq!(p.checks_replace, ["b"]);
        assert!(p.checks_remove.is_empty());
    }

    #[test]
    fn a_changed_group_member_restarts_the_whole_group() {
        let new = BASE.replace(
            "name = \"g2\"\ninterface = \"eth0\"\nvrid = 6\n",
            "name = \"g2\"\ninterface = \"eth0\"\nvrid = 6\npriority = 90\n",
        );
        let p = plan(&cfg(BASE), &cfg(&new));
        assert_eq!(p.restart, ["g1", "g2"]);
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
