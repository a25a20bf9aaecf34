//! Protocol timing in integer centiseconds ([`skew_time`],
//! [`master_down_interval`]) and the router's table of deadlines.

use std::time::{Duration, Instant};

use vrrp_proto::{Interval, Priority, Version};

/// Skew_Time in centiseconds, rounded down.
///
/// * VRRPv3, [RFC 9568 §6.1]: `((256 - Priority) * Master_Adver_Interval) / 256`
///   with Master_Adver_Interval in centiseconds.
/// * VRRPv2, [RFC 3768 §6.1]: `(256 - Priority) / 256` seconds, which is
///   `((256 - Priority) * 100) / 256` centiseconds; `master_adver_interval`
///   is not used.
///
/// Integer arithmetic, no floats; the quotient is truncated (rounded
/// towards zero), so e.g. priority 100 with a 1 s interval gives 60 cs
/// (exact value 60.9375). The product is at most 256 × 25500, far inside
/// `u32`.
///
/// [RFC 9568 §6.1]: https://www.rfc-editor.org/rfc/rfc9568#section-6.1
/// [RFC 3768 §6.1]: https://www.rfc-editor.org/rfc/rfc3768#section-6.1
pub fn skew_time(version: Version, priority: Priority, master_adver_interval: Interval) -> u32 {
    let weight = 256 - u32::from(priority.get());
    match version {
        Version::V3 => weight * u32::from(master_adver_interval.centis()) / 256,
        Version::V2 => weight * 100 / 256,
    }
}

/// Master_Down_Interval in centiseconds: `(3 * Master_Adver_Interval) +
/// Skew_Time` ([RFC 9568 §6.1]; [RFC 3768 §6.1] with
/// Advertisement_Interval).
///
/// [RFC 9568 §6.1]: https://www.rfc-editor.org/rfc/rfc9568#section-6.1
/// [RFC 3768 §6.1]: https://www.rfc-editor.org/rfc/rfc3768#section-6.1
pub fn master_down_interval(
    version: Version,
    priority: Priority,
    master_adver_interval: Interval,
) -> u32 {
    down_interval(3, version, priority, master_adver_interval)
}

/// As [`master_down_interval`] with `adverts` intervals instead of 3
/// (keepalived's `down_timer_adverts`).
pub(crate) fn down_interval(
    adverts: u8,
    version: Version,
    priority: Priority,
    master_adver_interval: Interval,
) -> u32 {
    u32::from(adverts) * u32::from(master_adver_interval.centis())
        + skew_time(version, priority, master_adver_interval)
}

/// Centiseconds as a [`Duration`].
pub(crate) fn centis(cs: u32) -> Duration {
    Duration::from_millis(u64::from(cs) * 10)
}

/// The deadlines a router may have armed. Order matters: when several
/// expire at the same instant they fire in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timer {
    /// The make-before-break bound of a switchover or maintenance release.
    Handover = 0,
    /// Master_Down_Timer (Backup).
    MasterDown = 1,
    /// Adver_Timer (Master).
    Adver = 2,
    /// Second announcement burst (keepalived `garp_master_delay`).
    AnnounceDelay = 3,
    /// Periodic announcement (keepalived `garp_master_refresh`).
    AnnounceRefresh = 4,
    /// Second set of announcements after a lower-priority advert
    /// (keepalived `garp_lower_prio_delay`).
    LowerPrioAnnounce = 5,
}

const TIMERS: [Timer; 6] = [
    Timer::Handover,
    Timer::MasterDown,
    Timer::Adver,
    Timer::AnnounceDelay,
    Timer::AnnounceRefresh,
    Timer::LowerPrioAnnounce,
];

/// A deadline per [`Timer`]; arming sets it, stopping clears it.
#[derive(Debug, Clone, Default)]
pub(crate) struct TimerTable {
    deadlines: [Option<Instant>; 6],
}

impl TimerTable {
    pub(crate) fn set(&mut self, t: Timer, at: Option<Instant>) {
        self.deadlines[t as usize] = at;
    }
    pub(crate) fn stop(&mut self, t: Timer) {
        self.deadlines[t as usize] = None;
    }
    pub(crate) fn stop_all(&mut self) {
        self.deadlines = [None; 6];
    }
    /// The earliest deadline.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.deadlines.iter().flatten().min().copied()
    }
    /// The first expired timer (earliest deadline, then table order),
    /// cleared, with the deadline it had.
    pub(crate) fn pop_expired(&mut self, now: Instant) -> Option<(Timer, Instant)> {
        let mut best: Option<(Instant, Timer)> = None;
        for t in TIMERS {
            if let Some(at) = self.deadlines[t as usize] {
                if at <= now && best.is_none_or(|(b, _)| at < b) {
                    best = Some((at, t));
                }
            }
        }
        let (at, t) = best?;
        self.stop(t);
        Some((t, at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(c: u16) -> Interval {
        Interval::from_centis(c).expect("non-zero")
    }

    #[test]
    fn skew_time_v3_matches_rfc_9568_formula_for_all_priorities() {
        for p in 1..=254u8 {
            for c in [1u16, 7, 100, 255, 4095] {
                let exact = (256.0 - f64::from(p)) * f64::from(c) / 256.0;
                let got = skew_time(Version::V3, Priority::new(p), iv(c));
                assert_eq!(f64::from(got), exact.floor(), "p={p} c={c}");
                assert_eq!(
                    master_down_interval(Version::V3, Priority::new(p), iv(c)),
                    3 * u32::from(c) + got
                );
            }
        }
    }

    #[test]
    fn skew_time_v2_matches_rfc_3768_formula_for_all_priorities() {
        for p in 1..=254u8 {
            // (256 - p) / 256 seconds, in centiseconds, truncated.
            let exact_cs = (256.0 - f64::from(p)) / 256.0 * 100.0;
            for secs in [1u8, 3, 255] {
                let i = Interval::from_secs_v2(secs).expect("non-zero");
                let got = skew_time(Version::V2, Priority::new(p), i);
                assert_eq!(f64::from(got), exact_cs.floor(), "p={p}");
                assert_eq!(
                    master_down_interval(Version::V2, Priority::new(p), i),
                    300 * u32::from(secs) + got
                );
            }
        }
        assert_eq!(
            skew_time(Version::V2, Priority::new(100), Interval::DEFAULT),
            60
        );
        assert_eq!(
            skew_time(Version::V2, Priority::new(254), Interval::DEFAULT),
            0
        );
        assert_eq!(
            skew_time(Version::V2, Priority::new(1), Interval::DEFAULT),
            99
        );
    }

    #[test]
    fn timer_table_pops_earliest_then_table_order() {
        let base = Instant::now();
        let mut t = TimerTable::default();
        assert_eq!(t.next(), None);
        t.set(Timer::Adver, Some(base + Duration::from_secs(2)));
        t.set(Timer::MasterDown, Some(base + Duration::from_secs(1)));
        t.set(Timer::Handover, Some(base + Duration::from_secs(2)));
        assert_eq!(t.next(), Some(base + Duration::from_secs(1)));
        assert_eq!(t.pop_expired(base), None);
        let later = base + Duration::from_secs(5);
        assert_eq!(t.pop_expired(later).map(|x| x.0), Some(Timer::MasterDown));
        assert_eq!(t.pop_expired(later).map(|x| x.0), Some(Timer::Handover));
        assert_eq!(t.pop_expired(later).map(|x| x.0), Some(Timer::Adver));
        assert_eq!(t.pop_expired(later), None);
    }
}
