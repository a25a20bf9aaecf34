//! The node's public value types: ids, stop modes, actions, errors,
//! counters.

use super::slab::Key;
use crate::actions::{Action, State};
use crate::router::{OperatorError, ReconfigureError};
#[cfg(doc)]
use crate::{Node, SyncGroup};

/// Identifies a virtual router in a [`Node`]. Ids of removed routers are
/// never reused for another router.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RouterId(pub(super) Key);

impl RouterId {
    /// A small number for logs (the slot; reused after removal).
    pub fn index(self) -> u32 {
        self.0.index()
    }
}

/// Identifies a sync group in a [`Node`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupId(pub(super) Key);

/// The caller's name for a receive path (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkId(pub u32);

/// How [`Node::stop`] stops a router.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stop {
    /// Shutdown now (RFC 9568 §6.4.3: a master sends priority 0 and
    /// removes its addresses).
    Now,
    /// A master that can hand over does so first (see the module docs);
    /// anything else stops now.
    HandOver,
}

/// One thing for the executor to do, in order.
#[must_use = "node actions must be carried out by the executor"]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NodeAction {
    /// An action of one router (see [`Action`]).
    Router(RouterId, Action),
    /// A sync group's state changed ([`SyncGroup::state`]), after the
    /// member actions of the same input.
    GroupChanged {
        /// The group.
        group: GroupId,
        /// Its state before.
        from: State,
        /// Its state now.
        to: State,
    },
    /// The router stopped (its last action came before); it may be
    /// removed with [`Node::remove`].
    Stopped(RouterId),
}

/// Why a [`Node`] call was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// No router (or group) has this id (any more).
    #[error("no such router")]
    NoSuchRouter,
    /// Routers are removed only once stopped (so that their last adverts
    /// can still be encoded).
    #[error("the router has not stopped")]
    NotStopped,
    /// The router is stopping or stopped.
    #[error("the router is stopping")]
    Stopping,
    /// An operator request the state machine refused.
    #[error(transparent)]
    Operator(#[from] OperatorError),
    /// A configuration the router cannot take in place.
    #[error(transparent)]
    Reconfigure(#[from] ReconfigureError),
}

/// Counters of the node itself (each router has its own [`crate::Stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeStats {
    /// Adverts for a (link, family, VRID) no router runs.
    pub unknown_vrid: u64,
}
