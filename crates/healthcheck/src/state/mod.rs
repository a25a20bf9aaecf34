//! Pure rise/fall hysteresis and weight/priority arithmetic.
//!
//! Nothing here does I/O or reads a clock: results and times go in, states and
//! priority breakdowns come out.
//!
//! # Semantics, and where they come from
//!
//! The rules follow keepalived's documented behaviour, keepalived.conf(5) as
//! shipped with keepalived 2.2.7 (sections "VRRP script(s)", "Track files",
//! "VRRP track processes", and the `track_interface` / `track_script` /
//! `track_bfd` comments of `vrrp_instance` and `vrrp_sync_group`):
//!
//! * **weight > 0**: after `rise` consecutive successes the weight is added to
//!   the priority; nothing is added while the check is failed.
//! * **weight < 0**: after `fall` consecutive failures the weight is
//!   subtracted from the configured priority; nothing while the check is OK.
//! * **weight = 0**: the instance goes to FAULT after `fall` consecutive
//!   failures and leaves it after `rise` successes (unless something else
//!   holds it in FAULT).
//! * **reverse**: the man page says it reverses the direction of the
//!   priority adjustment (for `track_bfd`: the priority is decreased when up
//!   and increased when down), and that `weight 0 reverse` puts the instance
//!   down while the tracked object is up, and vice versa. Here: the
//!   contribution above is negated, and for weight 0 FAULT applies while OK.
//! * **track_file**: the file holds a number. With weight 0 a non-zero value
//!   is a failure (FAULT) and zero is OK; otherwise value × weight is added
//!   to the priority, and a result below -253 puts the instance in FAULT.
//! * **clamping**: the effective priority is limited to 1..=254, and the
//!   address owner (255) is not changed (keepalived requires weight 0 on an
//!   owner's tracked files; we simply never move 255). FAULT still applies to
//!   an owner.
//! * **init_fail**: the check is assumed failed until it has `rise`
//!   successes; without it, it is assumed OK until `fall` failures.
//!
//! Choices of ours where the man page is silent: a file that cannot be read
//! or does not hold an integer counts as a failed read, and a failed file
//! check means FAULT (its value is unknown); a file value applies at once
//! (keepalived re-reads the file whenever it changes), while read failures
//! follow rise/fall.

use std::fmt;
use std::time::Instant;

use crate::error::ConfigError;

mod priority;
pub use priority::{BreakdownEntry, Contribution, PriorityBreakdown, Tracked, effective_priority};

/// The lowest tracked-file result keepalived still treats as a priority
/// adjustment; anything below it means fault (keepalived.conf(5), "Track files").
pub const FILE_FAULT_BELOW: i64 = -253;

/// The priority of the address owner (RFC 9568 §6.1: "The priority value for
/// the VRRP router that owns the IPvX address(es) ... MUST be 255").
pub const PRIORITY_OWNER: u8 = 255;
/// Highest priority a non-owner may advertise (RFC 9568 §6.1: 1-254 for backups).
pub const PRIORITY_MAX_BACKUP: u8 = 254;
/// Lowest priority a tracked instance may be lowered to (0 means "release").
pub const PRIORITY_MIN: u8 = 1;

/// A check weight, -254..=254 (0 means "fault while failing").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Weight(i16);

impl Weight {
    /// Largest magnitude accepted.
    pub const MAX: i16 = 254;

    /// Checked constructor.
    pub fn new(w: i32) -> Result<Self, ConfigError> {
        if (-i32::from(Self::MAX)..=i32::from(Self::MAX)).contains(&w) {
            // In range, so the narrowing cannot truncate.
            Ok(Self(w as i16))
        } else {
            Err(ConfigError::WeightOutOfRange(w))
        }
    }

    /// The value.
    pub fn get(self) -> i16 {
        self.0
    }
}

/// How a check's state adjusts priority: its weight and keepalived's `reverse`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Weighting {
    /// The weight (see the module docs for the sign rules).
    pub weight: Weight,
    /// keepalived's `reverse`: invert the direction of the adjustment.
    pub reverse: bool,
}

/// What one probe said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The probe succeeded (exit 0, connected, expected status, echo reply, link up).
    Success,
    /// The probe failed or timed out.
    Failure,
    /// A file check read this integer (counts as a success for rise/fall).
    Value(i64),
}

/// The settled state of a check after rise/fall hysteresis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Passing (after `rise` consecutive successes, or assumed at start).
    Ok,
    /// Failing (after `fall` consecutive failures, or assumed at start with `init_fail`).
    Failed,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Ok => "ok",
            Status::Failed => "failed",
        })
    }
}

/// What a check is assumed to be before any result (keepalived `init_fail`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum InitialState {
    /// Assume OK until `fall` failures (keepalived's default).
    #[default]
    Ok,
    /// Assume failed until `rise` successes (keepalived `init_fail`).
    Failed,
}

/// Whether the check's value is a pass/fail status or an integer read from a
/// file (`track_file` arithmetic).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ValueKind {
    /// Pass/fail checks (exec, TCP, HTTP, ICMP, interface).
    #[default]
    Status,
    /// keepalived `track_file` semantics: the value read is multiplied by the weight.
    FileValue,
}

/// Hysteresis and weighting policy of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Policy {
    /// Consecutive successes needed to go from Failed to Ok (>= 1).
    pub rise: u32,
    /// Consecutive failures needed to go from Ok to Failed (>= 1).
    pub fall: u32,
    /// Default weighting (an instance may override it per tracked check).
    pub weighting: Weighting,
    /// State assumed before the first result.
    pub initial: InitialState,
    /// Pass/fail or file value.
    pub kind: ValueKind,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            rise: 1,
            fall: 1,
            weighting: Weighting::default(),
            initial: InitialState::Ok,
            kind: ValueKind::Status,
        }
    }
}

impl Policy {
    /// Checks rise/fall are at least 1.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.rise == 0 {
            return Err(ConfigError::ZeroRiseFall("rise"));
        }
        if self.fall == 0 {
            return Err(ConfigError::ZeroRiseFall("fall"));
        }
        Ok(())
    }
}

/// A change of a check's settled state (or of its file value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// Status before.
    pub from: Status,
    /// Status after (equal to `from` when only the file value changed).
    pub to: Status,
    /// File value before (file checks only).
    pub old_value: Option<i64>,
    /// File value after (file checks only).
    pub new_value: Option<i64>,
}

/// The pure per-check state: consecutive counters, current status, file value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckState {
    name: String,
    policy: Policy,
    status: Status,
    /// Consecutive results that disagree with `status`.
    streak: u32,
    /// Results recorded so far.
    results: u64,
    value: Option<i64>,
    last_outcome: Option<Outcome>,
    last_change: Option<Instant>,
}

impl CheckState {
    /// A check in its initial state. `policy` should have passed [`Policy::validate`];
    /// a zero rise/fall is treated as 1.
    pub fn new(name: impl Into<String>, mut policy: Policy) -> Self {
        policy.rise = policy.rise.max(1);
        policy.fall = policy.fall.max(1);
        let status = match policy.initial {
            InitialState::Ok => Status::Ok,
            InitialState::Failed => Status::Failed,
        };
        Self {
            name: name.into(),
            policy,
            status,
            streak: 0,
            results: 0,
            value: None,
            last_outcome: None,
            last_change: None,
        }
    }

    /// The check's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Current settled status.
    pub fn status(&self) -> Status {
        self.status
    }

    /// Last file value read (file checks), if any.
    pub fn value(&self) -> Option<i64> {
        self.value
    }

    /// The most recent outcome, if any.
    pub fn last_outcome(&self) -> Option<Outcome> {
        self.last_outcome
    }

    /// When the status (or value) last changed, if ever.
    pub fn last_change(&self) -> Option<Instant> {
        self.last_change
    }

    /// Number of results recorded.
    pub fn results(&self) -> u64 {
        self.results
    }

    /// Consecutive results so far that disagree with the current status.
    pub fn streak(&self) -> u32 {
        self.streak
    }

    /// Feeds one probe result. Returns the transition if the settled status
    /// changed (after `rise`/`fall` consecutive results) or, for file checks,
    /// if the value read changed while OK.
    pub fn record(&mut self, now: Instant, outcome: Outcome) -> Option<Transition> {
        self.results += 1;
        self.last_outcome = Some(outcome);
        let old_value = self.value;
        let success = match outcome {
            Outcome::Success => true,
            Outcome::Failure => false,
            Outcome::Value(v) => {
                // A file value applies at once, as keepalived re-reads the file
                // whenever it changes; rise/fall only guard read failures.
                self.value = Some(v);
                true
            }
        };
        let from = self.status;
        match (self.status, success) {
            (Status::Ok, true) | (Status::Failed, false) => self.streak = 0,
            (Status::Ok, false) => {
                self.streak += 1;
                if self.streak >= self.policy.fall {
                    self.status = Status::Failed;
                    self.streak = 0;
                }
            }
            (Status::Failed, true) => {
                self.streak += 1;
                // A file check has no meaningful "rise" for a successful read
                // with a fresh value: the value is the state. Reads still honour
                // rise so that a flapping file system does not flap priority.
                if self.streak >= self.policy.rise {
                    self.status = Status::Ok;
                    self.streak = 0;
                }
            }
        }
        let value_changed = self.policy.kind == ValueKind::FileValue
            && self.status == Status::Ok
            && old_value != self.value;
        if from != self.status || value_changed {
            self.last_change = Some(now);
            Some(Transition {
                from,
                to: self.status,
                old_value,
                new_value: self.value,
            })
        } else {
            None
        }
    }

    /// The check's contribution to priority under `w`.
    pub fn contribution(&self, w: Weighting) -> Contribution {
        let weight = i64::from(w.weight.get());
        match self.policy.kind {
            ValueKind::Status => {
                let ok = self.status == Status::Ok;
                if weight == 0 {
                    // weight 0: fault while failing; with reverse, fault while OK.
                    return if ok == w.reverse {
                        Contribution::Fault
                    } else {
                        Contribution::Delta(0)
                    };
                }
                let applied = if weight > 0 { ok } else { !ok };
                let d = if applied { weight } else { 0 };
                Contribution::Delta(if w.reverse { -d } else { d })
            }
            ValueKind::FileValue => {
                let value = match (self.status, self.value) {
                    (Status::Ok, Some(v)) => v,
                    // Unreadable file (or none read yet while assumed failed):
                    // we cannot know the value, so the instance goes to fault.
                    (Status::Failed, _) => return Contribution::Fault,
                    // Assumed OK, nothing read yet: treat as 0, the value
                    // keepalived's `init_file` writes by default.
                    (Status::Ok, None) => 0,
                };
                if weight == 0 {
                    let failing = (value != 0) != w.reverse;
                    return if failing {
                        Contribution::Fault
                    } else {
                        Contribution::Delta(0)
                    };
                }
                let r = value.saturating_mul(weight);
                let r = if w.reverse { r.saturating_neg() } else { r };
                if r < FILE_FAULT_BELOW {
                    Contribution::Fault
                } else {
                    Contribution::Delta(r)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn pol(rise: u32, fall: u32, weight: i32, reverse: bool) -> Policy {
        Policy {
            rise,
            fall,
            weighting: Weighting {
                weight: Weight::new(weight).unwrap(),
                reverse,
            },
            ..Policy::default()
        }
    }

    fn t(n: u64) -> Instant {
        // A fixed base; tests only compare.
        static BASE: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
        *BASE.get_or_init(Instant::now) + Duration::from_millis(n)
    }

    #[test]
    fn weight_range() {
        assert!(Weight::new(254).is_ok());
        assert!(Weight::new(-254).is_ok());
        assert!(Weight::new(255).is_err());
        assert!(Weight::new(-255).is_err());
    }

    #[test]
    fn fall_needs_consecutive_failures() {
        let mut s = CheckState::new("c", pol(2, 3, -10, false));
        assert_eq!(s.status(), Status::Ok);
        assert_eq!(s.record(t(0), Outcome::Failure), None);
        assert_eq!(s.record(t(1), Outcome::Failure), None);
        // A success in between resets the count.
        assert_eq!(s.record(t(2), Outcome::Success), None);
        assert_eq!(s.record(t(3), Outcome::Failure), None);
        assert_eq!(s.record(t(4), Outcome::Failure), None);
        let tr = s.record(t(5), Outcome::Failure).unwrap();
        assert_eq!((tr.from, tr.to), (Status::Ok, Status::Failed));
        assert_eq!(s.last_change(), Some(t(5)));
        // rise = 2
        assert_eq!(s.record(t(6), Outcome::Success), None);
        assert_eq!(s.record(t(7), Outcome::Failure), None);
        assert_eq!(s.record(t(8), Outcome::Success), None);
        let tr = s.record(t(9), Outcome::Success).unwrap();
        assert_eq!((tr.from, tr.to), (Status::Failed, Status::Ok));
    }

    #[test]
    fn flapping_never_settles_with_hysteresis() {
        let mut s = CheckState::new("flap", pol(3, 3, 0, false));
        for i in 0..100 {
            let o = if i % 2 == 0 {
                Outcome::Failure
            } else {
                Outcome::Success
            };
            assert_eq!(s.record(t(i), o), None, "result {i}");
        }
        assert_eq!(s.status(), Status::Ok);
    }

    #[test]
    fn init_fail_needs_rise() {
        let mut p = pol(2, 1, 5, false);
        p.initial = InitialState::Failed;
        let mut s = CheckState::new("c", p);
        assert_eq!(s.status(), Status::Failed);
        assert_eq!(s.contribution(p.weighting), Contribution::Delta(0));
        assert_eq!(s.record(t(0), Outcome::Success), None);
        assert!(s.record(t(1), Outcome::Success).is_some());
        assert_eq!(s.contribution(p.weighting), Contribution::Delta(5));
    }

    #[test]
    fn weight_sign_rules() {
        let cases = [
            // (weight, reverse, status, expected)
            (10, false, Status::Ok, Contribution::Delta(10)),
            (10, false, Status::Failed, Contribution::Delta(0)),
            (-10, false, Status::Ok, Contribution::Delta(0)),
            (-10, false, Status::Failed, Contribution::Delta(-10)),
            (10, true, Status::Ok, Contribution::Delta(-10)),
            (10, true, Status::Failed, Contribution::Delta(0)),
            (-10, true, Status::Ok, Contribution::Delta(0)),
            (-10, true, Status::Failed, Contribution::Delta(10)),
            (0, false, Status::Ok, Contribution::Delta(0)),
            (0, false, Status::Failed, Contribution::Fault),
            (0, true, Status::Ok, Contribution::Fault),
            (0, true, Status::Failed, Contribution::Delta(0)),
        ];
        for (w, rev, st, want) in cases {
            let p = pol(1, 1, w, rev);
            let mut s = CheckState::new("c", p);
            if st == Status::Failed {
                s.record(t(0), Outcome::Failure);
            }
            assert_eq!(s.contribution(p.weighting), want, "w={w} rev={rev} {st:?}");
        }
    }

    fn file_state(weight: i32, reverse: bool, value: Option<i64>) -> (CheckState, Weighting) {
        let mut p = pol(1, 1, weight, reverse);
        p.kind = ValueKind::FileValue;
        let mut s = CheckState::new("f", p);
        match value {
            Some(v) => {
                s.record(t(0), Outcome::Value(v));
            }
            None => {
                s.record(t(0), Outcome::Failure);
            }
        }
        (s, p.weighting)
    }

    #[test]
    fn track_file_semantics() {
        let c = |w, r, v| {
            let (s, wt) = file_state(w, r, v);
            s.contribution(wt)
        };
        // weight 0: non-zero is failure (fault), zero is OK.
        assert_eq!(c(0, false, Some(0)), Contribution::Delta(0));
        assert_eq!(c(0, false, Some(7)), Contribution::Fault);
        assert_eq!(c(0, false, Some(-1)), Contribution::Fault);
        // weight 0 reverse: the opposite.
        assert_eq!(c(0, true, Some(0)), Contribution::Fault);
        assert_eq!(c(0, true, Some(3)), Contribution::Delta(0));
        // value * weight added.
        assert_eq!(c(1, false, Some(25)), Contribution::Delta(25));
        assert_eq!(c(-2, false, Some(10)), Contribution::Delta(-20));
        assert_eq!(c(3, true, Some(10)), Contribution::Delta(-30));
        // below -253: fault; exactly -253 is still a delta.
        assert_eq!(c(1, false, Some(-253)), Contribution::Delta(-253));
        assert_eq!(c(1, false, Some(-254)), Contribution::Fault);
        assert_eq!(c(254, false, Some(-1)), Contribution::Fault);
        // unreadable: fault.
        assert_eq!(c(1, false, None), Contribution::Fault);
        // huge values saturate rather than overflow.
        assert_eq!(c(254, false, Some(i64::MIN)), Contribution::Fault);
        assert_eq!(c(254, false, Some(i64::MAX)), Contribution::Delta(i64::MAX));
    }

    #[test]
    fn file_value_change_is_a_transition() {
        let mut p = Policy {
            kind: ValueKind::FileValue,
            ..Policy::default()
        };
        p.weighting.weight = Weight::new(1).unwrap();
        let mut s = CheckState::new("f", p);
        let tr = s.record(t(0), Outcome::Value(5)).unwrap();
        assert_eq!(
            (tr.from, tr.to, tr.old_value, tr.new_value),
            (Status::Ok, Status::Ok, None, Some(5))
        );
        assert_eq!(s.record(t(1), Outcome::Value(5)), None);
        assert!(s.record(t(2), Outcome::Value(6)).is_some());
    }

    #[test]
    fn priority_clamps_and_owner() {
        let p_up = pol(1, 1, 100, false);
        let p_down = pol(1, 1, -100, false);
        let up = CheckState::new("up", p_up);
        let mut down = CheckState::new("down", p_down);
        down.record(t(0), Outcome::Failure);

        let b = effective_priority(200, [Tracked::from(&up)]);
        assert_eq!((b.effective, b.total_delta, b.fault), (254, 100, false));
        let b = effective_priority(50, [Tracked::from(&down), Tracked::from(&down)]);
        assert_eq!((b.effective, b.total_delta), (1, -200));
        let b = effective_priority(100, [Tracked::from(&up), Tracked::from(&down)]);
        assert_eq!(b.effective, 100);
        assert_eq!(b.entries.len(), 2);
        assert_eq!(b.entries[1].contribution, Contribution::Delta(-100));
        let b = effective_priority(255, [Tracked::from(&down)]);
        assert_eq!((b.effective, b.owner), (255, true));
        let s = b.to_string();
        assert!(s.contains("owner"), "{s}");
    }

    #[test]
    fn priority_exhaustive_single_check() {
        // Every base and weight, both states: the result is always in range and
        // equals the clamped sum.
        for base in 1..=255u8 {
            for w in (-254..=254).step_by(7) {
                for failed in [false, true] {
                    let p = pol(1, 1, w, false);
                    let mut s = CheckState::new("c", p);
                    if failed {
                        s.record(t(0), Outcome::Failure);
                    }
                    let b = effective_priority(base, [Tracked::from(&s)]);
                    if base == 255 {
                        assert_eq!(b.effective, 255);
                        continue;
                    }
                    assert!((1..=254).contains(&b.effective));
                    let d = match s.contribution(p.weighting) {
                        Contribution::Delta(d) => d,
                        Contribution::Fault => {
                            assert!(b.fault);
                            0
                        }
                    };
                    assert_eq!(i64::from(b.effective), (i64::from(base) + d).clamp(1, 254));
                }
            }
        }
    }

    #[test]
    fn fault_from_weight_zero_shows_in_breakdown() {
        let p = pol(1, 2, 0, false);
        let mut s = CheckState::new("svc", p);
        s.record(t(0), Outcome::Failure);
        assert!(!effective_priority(100, [Tracked::from(&s)]).fault);
        s.record(t(1), Outcome::Failure);
        let b = effective_priority(100, [Tracked::from(&s)]);
        assert!(b.fault);
        assert_eq!(b.effective, 100);
        assert!(b.to_string().contains("svc failed fault"), "{b}");
    }
}
