//! The daemon's record of each running instance, keyed by the router id
//! the executor gave it (typed, never reused for another router).

use std::collections::HashMap;
use std::sync::Arc;

use vrrp_fsm::{RouterId, RouterMap};

use crate::config::Instance;

use super::status::TransitionStatus;

/// What the daemon keeps about one instance beside its router.
#[derive(Debug)]
pub(super) struct Inst {
    /// Its configuration (shared with the loaded configuration).
    pub(super) cfg: Arc<Instance>,
    /// The sync group it belongs to.
    pub(super) group: Option<String>,
    /// The tracked-priority delta last given to its router.
    pub(super) applied_delta: i32,
    /// The fault-mode check state last given to its router.
    pub(super) applied_fault: bool,
    /// Its last state change, for `status`.
    pub(super) last_transition: Option<TransitionStatus>,
    /// A configuration mismatch was logged at WARN (later ones at DEBUG).
    pub(super) mismatch_logged: bool,
}

impl Inst {
    /// A new record for `cfg`, member of `group`.
    pub(super) fn new(cfg: Arc<Instance>, group: Option<String>) -> Self {
        Inst {
            cfg,
            group,
            applied_delta: 0,
            applied_fault: false,
            last_transition: None,
            mismatch_logged: false,
        }
    }
}

/// Every running instance, by router id and by name.
#[derive(Debug, Default)]
pub(super) struct Instances {
    by_id: RouterMap<Inst>,
    by_name: HashMap<String, RouterId>,
}

impl Instances {
    pub(super) fn insert(&mut self, id: RouterId, inst: Inst) {
        self.by_name.insert(inst.cfg.name.clone(), id);
        self.by_id.insert(id, inst);
    }

    /// Gives back the spare capacity of adding many instances at once.
    pub(super) fn shrink_to_fit(&mut self) {
        self.by_id.shrink_to_fit();
        self.by_name.shrink_to_fit();
    }

    pub(super) fn remove(&mut self, id: RouterId) -> Option<Inst> {
        let inst = self.by_id.remove(id)?;
        self.by_name.remove(&inst.cfg.name);
        Some(inst)
    }

    pub(super) fn get(&self, id: RouterId) -> Option<&Inst> {
        self.by_id.get(id)
    }

    pub(super) fn get_mut(&mut self, id: RouterId) -> Option<&mut Inst> {
        self.by_id.get_mut(id)
    }

    /// The router of the instance called `name`.
    pub(super) fn id(&self, name: &str) -> Option<RouterId> {
        self.by_name.get(name).copied()
    }

    /// The name of router `id`'s instance, or a placeholder.
    pub(super) fn name(&self, id: RouterId) -> &str {
        self.by_id.get(id).map_or("?", |i| &i.cfg.name)
    }

    /// Every instance, in no particular order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (RouterId, &Inst)> + '_ {
        self.by_id.iter()
    }

    /// Every router id.
    pub(super) fn ids(&self) -> Vec<RouterId> {
        self.by_id.keys().collect()
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use vrrp_fsm::{Config, LinkId, Node};
    use vrrp_proto::Version;

    use super::*;
    use crate::config::load_str;

    #[test]
    fn instances_are_found_by_router_and_by_name_until_removed() {
        let cfg = load_str(
            "[[instance]]\nname = \"a\"\ninterface = \"eth0\"\nvrid = 1\nvirtual_addresses = [\"192.0.2.9\"]\n",
            "t.toml",
        )
        .unwrap();
        // Ids come from a node, as the executor's do.
        let mut node = Node::new();
        let fsm = Config::builder(1, Version::V3)
            .primary_addr(Ipv4Addr::new(192, 0, 2, 1))
            .virtual_addr(Ipv4Addr::new(192, 0, 2, 9))
            .build()
            .unwrap();
        let id = node.add_router(LinkId(0), fsm);
        let mut insts = Instances::default();
        insts.insert(id, Inst::new(cfg.instances[0].clone(), Some("G".into())));
        assert_eq!(insts.id("a"), Some(id));
        assert_eq!(insts.name(id), "a");
        assert_eq!(insts.get(id).and_then(|i| i.group.as_deref()), Some("G"));
        insts.get_mut(id).unwrap().applied_delta = -10;
        assert_eq!(insts.iter().map(|(_, i)| i.applied_delta).sum::<i32>(), -10);
        assert_eq!(insts.ids(), vec![id]);
        assert!(insts.remove(id).is_some());
        assert_eq!(insts.id("a"), None);
        assert_eq!(insts.name(id), "?");
        assert!(insts.remove(id).is_none());
    }
}
