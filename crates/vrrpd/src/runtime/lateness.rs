//! Advert lateness as the daemon shows it: per instance and overall in
//! `status --json` and the metrics, and a rate-limited warning when an
//! advert leaves later than `[global] advert_late_warn` of its interval.
//!
//! The measurement itself is the executor's
//! ([`netif::executor::Lateness`]): the time from an Adver_Timer's
//! deadline to the moment its advert was handed to the kernel.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use netif::executor::Lateness;
use netif::executor::lateness::BOUNDS_US;
use serde::Serialize;
use tracing::{debug, warn};
use vrrp_fsm::RouterId;

use super::Daemon;

/// At most one warning per this period; the others are counted in it.
const WARN_EVERY: Duration = Duration::from_secs(1);

/// How late adverts left, summarized (`"advert_lateness"` in status).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LatenessStatus {
    /// Timer-driven adverts measured.
    pub adverts: u64,
    /// Median lateness, microseconds (upper bound of its bucket).
    pub p50_us: u64,
    /// 99th percentile, microseconds (upper bound of its bucket).
    pub p99_us: u64,
    /// The latest advert, microseconds.
    pub max_us: u64,
    /// The histogram, for the metrics.
    #[serde(skip)]
    pub histogram: Lateness,
}

impl LatenessStatus {
    /// The summary of a histogram.
    pub fn of(h: &Lateness) -> Self {
        LatenessStatus {
            adverts: h.count,
            p50_us: h.quantile_us(0.5),
            p99_us: h.quantile_us(0.99),
            max_us: h.max_us,
            histogram: *h,
        }
    }
}

/// The warning's rate limit.
#[derive(Debug, Default)]
pub(super) struct LateWarn {
    last: Option<Instant>,
    suppressed: u64,
}

impl Daemon {
    /// An advert left later than the warning threshold.
    pub(super) fn advert_late(&mut self, router: RouterId, late: Duration, interval: Duration) {
        let now = Instant::now();
        let w = &mut self.late_warn;
        if w.last
            .is_some_and(|t| now.saturating_duration_since(t) < WARN_EVERY)
        {
            w.suppressed += 1;
            return;
        }
        let more = std::mem::take(&mut w.suppressed);
        w.last = Some(now);
        let also = if more > 0 {
            format!(" ({more} more late adverts in the last second)")
        } else {
            String::new()
        };
        warn!(
            "{}: advert left {} ms after its deadline (interval {} ms): the loop was busy{also}",
            self.insts.name(router),
            late.as_millis(),
            interval.as_millis()
        );
    }
}

/// A loop round longer than this is logged (debug) with its phases.
const LONG_ROUND: Duration = Duration::from_millis(20);

/// Times the phases of one loop round, to name what kept the loop busy
/// when adverts were late (debug log only).
pub(super) struct Round {
    start: Instant,
    last: Instant,
    laps: [(&'static str, Duration); 6],
    n: usize,
}

impl Round {
    /// Starts timing a round.
    pub(super) fn start() -> Self {
        let now = Instant::now();
        Round {
            start: now,
            last: now,
            laps: [("", Duration::ZERO); 6],
            n: 0,
        }
    }

    /// Ends phase `what`.
    pub(super) fn lap(&mut self, what: &'static str) {
        let now = Instant::now();
        if let Some(l) = self.laps.get_mut(self.n) {
            *l = (what, now.saturating_duration_since(self.last));
            self.n += 1;
        }
        self.last = now;
    }

    /// Logs the round if it was long.
    pub(super) fn end(&self) {
        let total = self.start.elapsed();
        if total < LONG_ROUND {
            return;
        }
        let phases: Vec<String> = self
            .laps
            .iter()
            .take(self.n)
            .map(|(w, d)| format!("{w} {d:.1?}"))
            .collect();
        debug!("long loop round {total:.1?}: {}", phases.join(", "));
    }
}

/// Appends the lateness histograms (per instance and overall) in the
/// Prometheus text format.
pub(super) fn render_metrics(out: &mut String, per_instance: &[(String, LatenessStatus)]) {
    let name = "vrrpd_advert_lateness_seconds";
    let _ = writeln!(
        out,
        "# HELP {name} How long after its Adver_Timer deadline an advert was sent."
    );
    let _ = writeln!(out, "# TYPE {name} histogram");
    let mut all = Lateness::default();
    for (labels, l) in per_instance {
        all.merge(&l.histogram);
        histogram(out, name, labels, &l.histogram);
    }
    let name = "vrrpd_daemon_advert_lateness_seconds";
    let _ = writeln!(
        out,
        "# HELP {name} How long after its deadline an advert was sent, all instances."
    );
    let _ = writeln!(out, "# TYPE {name} histogram");
    histogram(out, name, "", &all);
}

/// The overall histogram of every instance's.
pub(super) fn overall(per_instance: impl Iterator<Item = Lateness>) -> LatenessStatus {
    let mut all = Lateness::default();
    for h in per_instance {
        all.merge(&h);
    }
    LatenessStatus::of(&all)
}

fn histogram(out: &mut String, name: &str, labels: &str, h: &Lateness) {
    let sep = if labels.is_empty() { "" } else { "," };
    let mut cumulative = 0;
    for (bound, n) in BOUNDS_US.iter().zip(h.buckets) {
        cumulative += n;
        let le = Duration::from_micros(*bound).as_secs_f64();
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"{le}\"}} {cumulative}"
        );
    }
    let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}", h.count);
    let sum = Duration::from_micros(h.sum_us).as_secs_f64();
    let _ = writeln!(out, "{name}_sum{{{labels}}} {sum}");
    let _ = writeln!(out, "{name}_count{{{labels}}} {}", h.count);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_render_cumulative_buckets_per_instance_and_overall() {
        let mut a = Lateness::default();
        a.record(Duration::from_micros(80));
        a.record(Duration::from_millis(70));
        let mut b = Lateness::default();
        b.record(Duration::from_secs(3));
        let rows = [
            ("instance=\"A\"".to_owned(), LatenessStatus::of(&a)),
            ("instance=\"B\"".to_owned(), LatenessStatus::of(&b)),
        ];
        let mut out = String::new();
        render_metrics(&mut out, &rows);
        for line in [
            "# TYPE vrrpd_advert_lateness_seconds histogram",
            "vrrpd_advert_lateness_seconds_bucket{instance=\"A\",le=\"0.0001\"} 1",
            "vrrpd_advert_lateness_seconds_bucket{instance=\"A\",le=\"0.05\"} 1",
            "vrrpd_advert_lateness_seconds_bucket{instance=\"A\",le=\"0.1\"} 2",
            "vrrpd_advert_lateness_seconds_bucket{instance=\"B\",le=\"2.5\"} 0",
            "vrrpd_advert_lateness_seconds_bucket{instance=\"B\",le=\"+Inf\"} 1",
            "vrrpd_advert_lateness_seconds_count{instance=\"A\"} 2",
            "vrrpd_daemon_advert_lateness_seconds_bucket{le=\"0.1\"} 2",
            "vrrpd_daemon_advert_lateness_seconds_bucket{le=\"+Inf\"} 3",
            "vrrpd_daemon_advert_lateness_seconds_count{} 3",
            "vrrpd_daemon_advert_lateness_seconds_sum{} 3.07008",
        ] {
            assert!(out.lines().any(|l| l == line), "missing {line:?} in\n{out}");
        }
        let s = LatenessStatus::of(&a);
        assert_eq!((s.adverts, s.p50_us, s.max_us), (2, 100, 70_000));
        assert_eq!(overall([a, b].into_iter()).adverts, 3);
    }
}
