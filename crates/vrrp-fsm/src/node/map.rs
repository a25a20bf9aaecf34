//! [`RouterMap`]: what a driver keeps per router, stored densely by the
//! router's slot rather than hashed.

use super::RouterId;

/// A map from [`RouterId`] to `V`, one vector slot per router slot: no
/// hashing and no spare buckets, which at a thousand routers is a good
/// part of a daemon's memory (docs/performance.md). An entry is found only
/// by the exact id it was inserted with (a reused slot with another
/// generation does not match).
#[derive(Debug, Clone)]
pub struct RouterMap<V> {
    slots: Vec<Option<(RouterId, V)>>,
    len: usize,
}

impl<V> Default for RouterMap<V> {
    fn default() -> Self {
        RouterMap {
            slots: Vec::new(),
            len: 0,
        }
    }
}

impl<V> RouterMap<V> {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    fn slot(id: RouterId) -> usize {
        id.index() as usize
    }

    /// Stores `value` for `id`; returns the value it replaces.
    pub fn insert(&mut self, id: RouterId, value: V) -> Option<V> {
        let i = Self::slot(id);
        if self.slots.len() <= i {
            self.slots.resize_with(i + 1, || None);
        }
        let old = self.slots.get_mut(i)?.replace((id, value));
        if old.is_none() {
            self.len += 1;
        }
        // A value of the slot's earlier router is not "replaced": it was
        // stale.
        old.filter(|(k, _)| *k == id).map(|(_, v)| v)
    }

    /// The value of `id`.
    pub fn get(&self, id: RouterId) -> Option<&V> {
        match self.slots.get(Self::slot(id)) {
            Some(Some((k, v))) if *k == id => Some(v),
            _ => None,
        }
    }

    /// The value of `id`, mutably.
    pub fn get_mut(&mut self, id: RouterId) -> Option<&mut V> {
        match self.slots.get_mut(Self::slot(id)) {
            Some(Some((k, v))) if *k == id => Some(v),
            _ => None,
        }
    }

    /// True if `id` has a value.
    pub fn contains_key(&self, id: RouterId) -> bool {
        self.get(id).is_some()
    }

    /// Takes the value of `id` out.
    pub fn remove(&mut self, id: RouterId) -> Option<V> {
        let slot = self.slots.get_mut(Self::slot(id))?;
        if !matches!(slot, Some((k, _)) if *k == id) {
            return None;
        }
        self.len -= 1;
        let v = slot.take().map(|(_, v)| v);
        // Trailing empty slots are given back.
        while matches!(self.slots.last(), Some(None)) {
            self.slots.pop();
        }
        v
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if the map is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every entry, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (RouterId, &V)> + '_ {
        self.slots.iter().flatten().map(|(k, v)| (*k, v))
    }

    /// Every entry, mutably, in slot order.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (RouterId, &mut V)> + '_ {
        self.slots.iter_mut().flatten().map(|(k, v)| (*k, v))
    }

    /// Every id, in slot order.
    pub fn keys(&self) -> impl Iterator<Item = RouterId> + '_ {
        self.iter().map(|(k, _)| k)
    }

    /// Every value, in slot order.
    pub fn values(&self) -> impl Iterator<Item = &V> + '_ {
        self.iter().map(|(_, v)| v)
    }

    /// How many slots the map has room for (tests).
    #[cfg(test)]
    pub(crate) fn slots_capacity(&self) -> usize {
        self.slots.capacity()
    }

    /// Gives back the spare capacity that growing by doubling left: call
    /// it after adding many routers at once (1025 routers otherwise keep
    /// 2048 slots).
    pub fn shrink_to_fit(&mut self) {
        self.slots.shrink_to_fit();
    }
}
