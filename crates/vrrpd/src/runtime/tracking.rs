//! Tracked objects: an instance's checks and interfaces, turned into the
//! priority delta and fault the state machine takes (keepalived's
//! `track_script` / `track_interface` rules, computed by `healthcheck`).

use healthcheck::{Checker, Status as CheckStatus, TrackedCheck, Weight, Weighting};

use crate::config::{Check, Instance};

use super::status::BreakdownItem;

/// What an instance's tracked objects add up to.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Tracking {
    /// The sum of the weights of failed checks and down interfaces.
    pub(super) delta: i64,
    /// A weight-0 object failed: the instance goes to Fault.
    pub(super) fault: bool,
    /// Each object's part, for `status`.
    pub(super) breakdown: Vec<BreakdownItem>,
}

impl Tracking {
    /// The delta as the state machine takes it (bounded: it is clamped to
    /// 1..=254 with the base priority anyway).
    pub(super) fn clamped_delta(&self) -> i32 {
        i32::try_from(self.delta.clamp(-1000, 1000)).unwrap_or(0)
    }
}

/// The tracking of `inst`: its checks' states in `checker` (with the
/// per-instance weights of `track_checks`, keeping the check's `reverse`),
/// and its interfaces' states from `link_up` (by name; a missing
/// interface counts as down).
pub(super) fn tracking(
    inst: &Instance,
    checks: &[Check],
    checker: &Checker,
    link_up: impl Fn(&str) -> Option<bool>,
) -> Tracking {
    let tracked: Vec<TrackedCheck> = inst
        .track_checks
        .iter()
        .filter_map(|tc| {
            let id = checker.id(&tc.name)?;
            let reverse = checks
                .iter()
                .find(|c| c.name == tc.name)
                .is_some_and(|c| c.reverse);
            let weighting = tc.weight.and_then(|w| {
                Weight::new(w)
                    .ok()
                    .map(|weight| Weighting { weight, reverse })
            });
            Some(TrackedCheck { id, weighting })
        })
        .collect();
    let bd = checker.breakdown(inst.priority.get(), &tracked);
    let mut breakdown: Vec<BreakdownItem> = bd
        .entries
        .iter()
        .map(|e| BreakdownItem {
            name: e.name.clone(),
            kind: "check",
            state: match e.status {
                CheckStatus::Ok => "ok".to_owned(),
                CheckStatus::Failed => "failed".to_owned(),
            },
            contribution: match e.contribution {
                healthcheck::Contribution::Delta(d) => serde_json::json!(d),
                healthcheck::Contribution::Fault => serde_json::json!("fault"),
            },
        })
        .collect();
    let (mut delta, mut fault) = (bd.total_delta, bd.fault);
    for ti in &inst.track_interfaces {
        let up = link_up(&ti.name).unwrap_or(false);
        // keepalived: a down interface with weight 0 is a fault; otherwise
        // its weight is added.
        let contribution = if up {
            serde_json::json!(0)
        } else if ti.weight == 0 {
            fault = true;
            serde_json::json!("fault")
        } else {
            delta += i64::from(ti.weight);
            serde_json::json!(ti.weight)
        };
        breakdown.push(BreakdownItem {
            name: ti.name.clone(),
            kind: "interface",
            state: if up { "up" } else { "down" }.to_owned(),
            contribution,
        });
    }
    Tracking {
        delta,
        fault,
        breakdown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str;

    #[test]
    fn down_interfaces_add_their_weight_or_fault() {
        let cfg = load_str(
            r#"
[[instance]]
name = "a"
interface = "eth0"
vrid = 1
priority = 100
virtual_addresses = ["192.0.2.9"]
track_interfaces = [{ name = "eth1", weight = -20 }, { name = "eth2", weight = 0 }, { name = "eth3", weight = 5 }]
"#,
            "t.toml",
        )
        .unwrap();
        let poll = mio::Poll::new().unwrap();
        let checker = Checker::new(poll.registry(), 100).unwrap();
        let inst = &cfg.instances[0];
        let all_up = tracking(inst, &cfg.checks, &checker, |_| Some(true));
        assert_eq!((all_up.delta, all_up.fault), (0, false));
        assert_eq!(all_up.breakdown.len(), 3);
        let t = tracking(inst, &cfg.checks, &checker, |n| Some(n == "eth3"));
        assert_eq!((t.delta, t.fault), (-20, true));
        assert_eq!(t.breakdown[1].contribution, serde_json::json!("fault"));
        // A missing interface counts as down.
        let t = tracking(inst, &cfg.checks, &checker, |_| None);
        assert_eq!((t.delta, t.fault), (-15, true));
        assert_eq!(t.clamped_delta(), -15);
    }
}
