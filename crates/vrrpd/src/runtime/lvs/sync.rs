//! The IPVS connection-sync daemon tied to a VRRP instance (keepalived's
//! `lvs_sync_daemon INTERFACE INSTANCE`): master while the instance is
//! master, backup otherwise, so that the backup director knows the
//! connections when it takes over.

use ipvs_netlink::{SyncDaemon, SyncState};
use tracing::{info, warn};
use vrrp_fsm::State;

use super::Lvs;

/// Which sync daemons run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct SyncRole {
    master: bool,
    backup: bool,
}

impl Lvs {
    fn sync_set(&mut self, state: SyncState, on: bool) {
        let Some(cfg) = self.cfg.sync_daemon.clone() else {
            return;
        };
        let Some(ipvs) = self.ipvs.as_mut() else {
            return;
        };
        let running = match state {
            SyncState::Master => &mut self.sync.master,
            SyncState::Backup => &mut self.sync.backup,
        };
        if *running == on {
            return;
        }
        let r = if on {
            ipvs.start_sync_daemon(&SyncDaemon::new(
                state,
                cfg.interface.clone(),
                u32::from(cfg.id),
            ))
        } else {
            ipvs.stop_sync_daemon(state)
        };
        match r {
            Ok(()) => {
                *running = on;
                let word = if on { "started" } else { "stopped" };
                info!(
                    "LVS: sync daemon {state:?} {word} on {} (id {})",
                    cfg.interface, cfg.id
                );
            }
            Err(e) => warn!("LVS: sync daemon {state:?}: {e}"),
        }
    }

    /// At start: backup, until the instance becomes master.
    pub(super) fn sync_start_backup(&mut self) {
        self.sync_set(SyncState::Backup, true);
    }

    /// Stops both sync daemons.
    pub(super) fn sync_stop_all(&mut self) {
        self.sync_set(SyncState::Master, false);
        self.sync_set(SyncState::Backup, false);
    }

    /// Instance `name` entered `to`: the sync daemon follows it.
    pub(in crate::runtime) fn instance_state(&mut self, name: &str, to: State) {
        if self
            .cfg
            .sync_daemon
            .as_ref()
            .is_none_or(|s| s.instance != name)
        {
            return;
        }
        match to {
            State::Master => {
                self.sync_set(SyncState::Backup, false);
                self.sync_set(SyncState::Master, true);
            }
            State::Backup | State::Fault => {
                self.sync_set(SyncState::Master, false);
                self.sync_set(SyncState::Backup, true);
            }
            State::Initialize => self.sync_stop_all(),
        }
    }
}
