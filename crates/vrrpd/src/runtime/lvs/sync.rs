//! The IPVS connection-sync daemon tied to a VRRP instance (keepalived's
//! `lvs_sync_daemon INTERFACE INSTANCE`): master while the instance is
//! master, backup otherwise, so that the backup director knows the
//! connections when it takes over.

use std::time::{Duration, Instant};

use ipvs_netlink::{SyncDaemon, SyncState};
use tracing::{info, warn};
use vrrp_fsm::State;

use super::Lvs;

/// Which sync daemons run, and what the instance's last state asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct SyncRole {
    master: bool,
    backup: bool,
    /// The instance's state not yet followed (see [`Lvs::settle_sync`]),
    /// and since when.
    wanted: Option<(State, Instant)>,
}

/// How long a state change waits at most for the executor to be idle
/// before the sync daemons follow it anyway.
const SETTLE_MAX: Duration = Duration::from_secs(1);

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

    /// Instance `name` entered `to`: the sync daemon is to follow it.
    /// Only noted here: starting or stopping a kernel sync thread takes
    /// tens of milliseconds (more under emulation), and the instance's
    /// first advert as master must not wait for it. The loop calls
    /// [`Lvs::settle_sync`] once the protocol's work is done.
    pub(in crate::runtime) fn instance_state(&mut self, name: &str, to: State) {
        if self
            .cfg
            .sync_daemon
            .as_ref()
            .is_some_and(|s| s.instance == name)
        {
            let since = self.sync.wanted.map_or_else(Instant::now, |(_, t)| t);
            self.sync.wanted = Some((to, since));
        }
    }

    /// Whether a state change waits for [`Lvs::settle_sync`]: `Some(true)`
    /// once it has waited [`SETTLE_MAX`] (settle now, busy or not).
    pub(in crate::runtime) fn sync_pending(&self, now: Instant) -> Option<bool> {
        self.sync
            .wanted
            .map(|(_, since)| now.saturating_duration_since(since) >= SETTLE_MAX)
    }

    /// The sync daemons follow the instance's last state: master while it
    /// is master, backup otherwise, none while it is initializing.
    pub(in crate::runtime) fn settle_sync(&mut self) {
        let Some((to, _)) = self.sync.wanted.take() else {
            return;
        };
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

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::config::lvs::SyncDaemonConfig;

    #[test]
    fn a_state_change_waits_for_the_loop_at_most_a_bound() {
        let mut lvs = Lvs::empty(PathBuf::from("/nonexistent/vrrpd.sock.lvs"));
        lvs.cfg.sync_daemon = Some(SyncDaemonConfig {
            interface: "eth0".into(),
            instance: "VI_1".into(),
            id: 7,
        });
        let now = Instant::now();
        lvs.instance_state("VI_2", State::Master);
        assert_eq!(lvs.sync_pending(now), None, "another instance");
        lvs.instance_state("VI_1", State::Master);
        lvs.instance_state("VI_1", State::Backup);
        assert_eq!(lvs.sync_pending(now), Some(false));
        let later = Instant::now() + SETTLE_MAX;
        assert_eq!(lvs.sync_pending(later), Some(true));
        assert_eq!(lvs.sync.wanted.map(|(s, _)| s), Some(State::Backup));
        lvs.settle_sync();
        assert_eq!(lvs.sync_pending(now), None);
    }
}
