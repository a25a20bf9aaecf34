//! Advert lateness: how long after its Adver_Timer deadline an advert left.
//!
//! The state machine names the deadline
//! ([`vrrp_fsm::VirtualRouter::advert_due`]); the executor stamps the
//! moment the advert was handed to the kernel (after its `sendmmsg`) and
//! records the difference here. Everything that delays an advert shows up
//! in it: a daemon loop busy with other work before it ran the executor,
//! the executor's own round (netlink, other routers' adverts), the send.
//!
//! [`Lateness`] is a fixed-bucket histogram: `Copy`, no allocation per
//! advert, mergeable (sum of buckets), and its buckets are those of a
//! Prometheus histogram.

use std::time::Duration;

/// Upper bounds of the buckets, in microseconds; a last bucket holds the rest.
pub const BOUNDS_US: [u64; 14] = [
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 2_500_000,
];

/// A histogram of advert lateness (see the module docs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lateness {
    /// Adverts per bucket: `buckets[i]` counts those at most
    /// `BOUNDS_US[i]` late (and more than the bound before); the last one
    /// those later than every bound.
    pub buckets: [u64; BOUNDS_US.len() + 1],
    /// Adverts recorded.
    pub count: u64,
    /// Sum of their lateness, in microseconds.
    pub sum_us: u64,
    /// The latest one, in microseconds.
    pub max_us: u64,
}

impl Lateness {
    /// Records one advert `late` after its deadline.
    pub fn record(&mut self, late: Duration) {
        let us = u64::try_from(late.as_micros()).unwrap_or(u64::MAX);
        let i = BOUNDS_US
            .iter()
            .position(|&b| us <= b)
            .unwrap_or(BOUNDS_US.len());
        if let Some(b) = self.buckets.get_mut(i) {
            *b += 1;
        }
        self.count += 1;
        self.sum_us = self.sum_us.saturating_add(us);
        self.max_us = self.max_us.max(us);
    }

    /// Adds `other`'s adverts to these (the daemon's overall histogram).
    pub fn merge(&mut self, other: &Lateness) {
        for (a, b) in self.buckets.iter_mut().zip(other.buckets) {
            *a += b;
        }
        self.count += other.count;
        self.sum_us = self.sum_us.saturating_add(other.sum_us);
        self.max_us = self.max_us.max(other.max_us);
    }

    /// The `q` quantile (0.0..=1.0) in microseconds, as the upper bound of
    /// the bucket it falls in (never more than the maximum seen); 0 when
    /// nothing was recorded.
    pub fn quantile_us(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = rank_of(self.count, q);
        let mut seen = 0;
        for (i, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                let bound = BOUNDS_US.get(i).copied().unwrap_or(self.max_us);
                return bound.min(self.max_us);
            }
        }
        self.max_us
    }
}

/// The 1-based rank of quantile `q` among `count` values.
fn rank_of(count: u64, q: f64) -> u64 {
    let q = q.clamp(0.0, 1.0);
    // Exact in integers: q to parts per million.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let ppm = (q * 1_000_000.0).round() as u64;
    let rank = (u128::from(count) * u128::from(ppm)).div_ceil(1_000_000);
    u64::try_from(rank).unwrap_or(count).clamp(1, count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn quantiles_are_bucket_bounds_capped_by_the_maximum() {
        let mut h = Lateness::default();
        assert_eq!(h.quantile_us(0.5), 0);
        for _ in 0..98 {
            h.record(Duration::from_micros(80));
        }
        h.record(ms(7));
        h.record(ms(300));
        assert_eq!(h.count, 100);
        assert_eq!(h.quantile_us(0.5), 100);
        assert_eq!(h.quantile_us(0.99), 10_000);
        assert_eq!(h.quantile_us(1.0), 300_000);
        assert_eq!(h.max_us, 300_000);
        assert_eq!(h.buckets[0], 98);
        assert_eq!(h.buckets[6], 1);
        assert_eq!(h.buckets[11], 1);
    }

    #[test]
    fn beyond_the_last_bound_and_merging() {
        let mut a = Lateness::default();
        a.record(Duration::from_secs(9));
        assert_eq!(a.buckets[BOUNDS_US.len()], 1);
        assert_eq!(a.quantile_us(0.5), 9_000_000);
        let mut b = Lateness::default();
        b.record(ms(1));
        b.merge(&a);
        assert_eq!((b.count, b.max_us, b.sum_us), (2, 9_000_000, 9_001_000));
        assert_eq!(b.quantile_us(0.5), 1_000);
    }
}
