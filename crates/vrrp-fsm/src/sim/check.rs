//! The harness's invariants: what [`Lan::check`] and
//! [`Lan::check_converged`] hold every simulated LAN to.

use std::net::IpAddr;

use super::{Lan, SimError, SimRouter};
use crate::State;

impl Lan {
    /// Safety invariants, checked after every step:
    /// * a node holds addresses only as Master or during a handover, and the
    ///   harness's record agrees with the router's;
    /// * a running, unfaulted address owner is Master;
    /// * two masters of one VRID on one segment do not coexist longer than
    ///   `conflict_bound`.
    pub fn check(&mut self) -> Result<(), SimError> {
        let at = self.elapsed();
        for (i, n) in self.nodes.iter().enumerate().filter(|(_, n)| n.alive) {
            let r = &n.router;
            if !n.vips.is_empty() && r.state() != State::Master && !r.handover_in_progress() {
                return Err(SimError::Invariant {
                    at,
                    what: format!("node {i} holds VIPs in {:?}", r.state()),
                });
            }
            if r.holds_vips() == n.vips.is_empty() {
                return Err(SimError::Invariant {
                    at,
                    what: format!("node {i} VIP bookkeeping differs"),
                });
            }
            if r.holds_vips() && n.vips.len() != r.config().addr_count() {
                return Err(SimError::Invariant {
                    at,
                    what: format!("node {i} holds a partial VIP set"),
                });
            }
            if r.state() == State::Master && !r.holds_vips() {
                return Err(SimError::Invariant {
                    at,
                    what: format!("node {i} is Master without VIPs"),
                });
            }
            if r.config().is_owner() && r.state() == State::Backup {
                return Err(SimError::Invariant {
                    at,
                    what: format!("owner node {i} is Backup"),
                });
            }
        }
        if let Some(bound) = self.conflict_bound {
            let mut groups: Vec<(u8, u32, usize)> = Vec::new();
            for n in self
                .nodes
                .iter()
                .filter(|n| n.alive && n.router.state() == State::Master)
            {
                let key = (n.router.config().vrid().get(), n.segment);
                match groups.iter_mut().find(|g| (g.0, g.1) == key) {
                    Some(g) => g.2 += 1,
                    None => groups.push((key.0, key.1, 1)),
                }
            }
            let now = self.now;
            self.conflict_since
                .retain(|c| groups.iter().any(|g| g.0 == c.0 && g.1 == c.1 && g.2 > 1));
            for g in groups.iter().filter(|g| g.2 > 1) {
                match self
                    .conflict_since
                    .iter()
                    .find(|c| c.0 == g.0 && c.1 == g.1)
                {
                    Some(c) if now - c.2 > bound => {
                        return Err(SimError::Invariant {
                            at,
                            what: format!(
                                "{} masters for VRID {} on segment {} since {:?}",
                                g.2,
                                g.0,
                                g.1,
                                c.2 - self.base
                            ),
                        });
                    }
                    Some(_) => {}
                    None => self.conflict_since.push((g.0, g.1, now)),
                }
            }
        }
        Ok(())
    }

    /// Convergence check: for every (VRID, segment) with a running router
    /// that is not in maintenance, exactly one Master; with preempt on
    /// everywhere (and nobody yielded), it has the highest priority; VIPs
    /// only on masters.
    pub fn check_converged(&self) -> Result<(), SimError> {
        self.check_converged_with(false)
    }

    /// [`check_converged`](Self::check_converged), and with
    /// `tie_break_by_address` the master must be the highest (priority,
    /// primary address) when all preempt: true after routers contended at
    /// the same time (a cold start), not after one joined a sitting
    /// equal-priority master.
    pub fn check_converged_with(&self, tie_break_by_address: bool) -> Result<(), SimError> {
        let at = self.elapsed();
        let mut keys: Vec<(u8, u32)> = Vec::new();
        for n in self.nodes.iter().filter(|n| n.alive) {
            let k = (n.router.config().vrid().get(), n.segment);
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        for (vrid, seg) in keys {
            let members: Vec<(usize, &SimRouter)> = self
                .nodes
                .iter()
                .enumerate()
                .filter(|(_, n)| {
                    n.alive && n.segment == seg && n.router.config().vrid().get() == vrid
                })
                .filter(|(_, n)| matches!(n.router.state(), State::Backup | State::Master))
                .collect();
            let eligible: Vec<&(usize, &SimRouter)> = members
                .iter()
                .filter(|(_, n)| !n.router.in_maintenance())
                .collect();
            if eligible.is_empty() {
                continue;
            }
            let masters: Vec<usize> = members
                .iter()
                .filter(|(_, n)| n.router.state() == State::Master)
                .map(|(i, _)| *i)
                .collect();
            if masters.len() != 1 {
                return Err(SimError::Invariant {
                    at,
                    what: format!("VRID {vrid} segment {seg}: masters {masters:?}"),
                });
            }
            let all_preempt = eligible
                .iter()
                .all(|(_, n)| n.router.config().preempt() && !n.router.is_yielded());
            // With preempt everywhere the master has the highest priority.
            // Between equal priorities a backup accepts the sitting master
            // (RFC 9568 §6.4.2: "greater than or equal"), so the address
            // only decides when they contend at the same time.
            if all_preempt {
                let key = |n: &SimRouter| {
                    let a = match n.router.config().primary_addr() {
                        IpAddr::V4(a) => u128::from(a.to_bits()),
                        IpAddr::V6(a) => a.to_bits(),
                    };
                    (
                        n.router.priority(),
                        if tie_break_by_address { a } else { 0 },
                    )
                };
                let best = eligible.iter().map(|(_, n)| key(n)).max();
                let got = key(&self.nodes[masters[0]]);
                if best != Some(got) {
                    return Err(SimError::Invariant {
                        at,
                        what: format!(
                            "VRID {vrid} segment {seg}: master {} has {got:?}, best is {best:?}",
                            masters[0]
                        ),
                    });
                }
            }
            for (i, n) in &members {
                if *i != masters[0] && !n.vips.is_empty() {
                    return Err(SimError::Invariant {
                        at,
                        what: format!("VRID {vrid}: backup {i} holds VIPs"),
                    });
                }
            }
        }
        Ok(())
    }

    /// The index of the single Master of `vrid` on `segment`, if exactly one.
    pub fn master_of(&self, vrid: u8, segment: u32) -> Option<usize> {
        let mut it = self.nodes.iter().enumerate().filter(|(_, n)| {
            n.alive
                && n.segment == segment
                && n.router.config().vrid().get() == vrid
                && n.router.state() == State::Master
        });
        let first = it.next().map(|(i, _)| i);
        if it.next().is_some() { None } else { first }
    }
}
