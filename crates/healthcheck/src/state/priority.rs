//! The priority a set of checks gives an instance: each check's
//! [`Contribution`], and [`effective_priority`] with keepalived's clamping
//! (see the parent module for the rules).

use std::fmt;

use super::{CheckState, PRIORITY_MAX_BACKUP, PRIORITY_MIN, PRIORITY_OWNER, Status, Weighting};

/// How one check moves the priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Contribution {
    /// Added to the base priority (may be negative or zero).
    Delta(i64),
    /// The instance must be in Fault while this holds.
    Fault,
}

impl fmt::Display for Contribution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Contribution::Delta(d) => write!(f, "{d:+}"),
            Contribution::Fault => f.write_str("fault"),
        }
    }
}

/// One check tracked by an instance, with the weighting the instance uses.
#[derive(Debug, Clone, Copy)]
pub struct Tracked<'a> {
    /// The check's state.
    pub state: &'a CheckState,
    /// Weighting (the check's default or an instance override).
    pub weighting: Weighting,
}

impl<'a> From<&'a CheckState> for Tracked<'a> {
    fn from(state: &'a CheckState) -> Self {
        Self {
            state,
            weighting: state.policy.weighting,
        }
    }
}

/// One line of a priority breakdown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakdownEntry {
    /// Check name.
    pub name: String,
    /// Settled status.
    pub status: Status,
    /// File value, for file checks.
    pub value: Option<i64>,
    /// Weighting applied.
    pub weighting: Weighting,
    /// What it contributes.
    pub contribution: Contribution,
}

/// Answer to "why is my priority X": base, each check, sum, clamp, fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorityBreakdown {
    /// Configured priority.
    pub base: u8,
    /// The base is 255 (address owner): weights are ignored.
    pub owner: bool,
    /// Sum of all deltas (before clamping).
    pub total_delta: i64,
    /// The priority to advertise: base + deltas clamped to 1..=254, or 255 for an owner.
    pub effective: u8,
    /// Some check demands Fault.
    pub fault: bool,
    /// Per-check lines, in the order given.
    pub entries: Vec<BreakdownEntry>,
}

impl fmt::Display for PriorityBreakdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "base {}", self.base)?;
        for e in &self.entries {
            write!(f, ", {} {} {}", e.name, e.status, e.contribution)?;
        }
        write!(f, " => {}", self.effective)?;
        if self.owner {
            f.write_str(" (owner, weights ignored)")?;
        }
        if self.fault {
            f.write_str(" FAULT")?;
        }
        Ok(())
    }
}

/// Effective priority of an instance with configured priority `base` that
/// tracks `checks`: base + the contributions, clamped to 1..=254; an owner
/// (255) stays 255. `fault` is set if any check demands Fault (this applies
/// to owners too: a failing weight-0 check takes an owner to Fault).
pub fn effective_priority<'a>(
    base: u8,
    checks: impl IntoIterator<Item = Tracked<'a>>,
) -> PriorityBreakdown {
    let mut entries = Vec::new();
    let mut total: i64 = 0;
    let mut fault = false;
    for t in checks {
        let c = t.state.contribution(t.weighting);
        match c {
            Contribution::Delta(d) => total = total.saturating_add(d),
            Contribution::Fault => fault = true,
        }
        entries.push(BreakdownEntry {
            name: t.state.name.clone(),
            status: t.state.status,
            value: t.state.value,
            weighting: t.weighting,
            contribution: c,
        });
    }
    let owner = base == PRIORITY_OWNER;
    let effective = if owner {
        PRIORITY_OWNER
    } else {
        let p = i64::from(base).saturating_add(total);
        let p = p.clamp(i64::from(PRIORITY_MIN), i64::from(PRIORITY_MAX_BACKUP));
        // Clamped into 1..=254 just above.
        u8::try_from(p).unwrap_or(PRIORITY_MAX_BACKUP)
    };
    PriorityBreakdown {
        base,
        owner,
        total_delta: total,
        effective,
        fault,
        entries,
    }
}
