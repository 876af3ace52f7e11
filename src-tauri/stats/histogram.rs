//! Duration buckets for percentiles. Below 100 ms there is one bucket per millisecond, so small
//! durations are exact; from 100 ms on each bucket starts 2% after the previous one, so every
//! duration in a bucket is within 1% of the bucket's geometric middle, which is what a
//! percentile reports. The stats migration builds the same table in SQL (`stats_buckets`), for
//! the triggers; a test checks that both agree.

use std::sync::LazyLock;

/// Durations below this (ms) have a bucket each; the bucket id is the duration.
const EXACT_BELOW: i64 = 100;

/// The first duration (ms) of each bucket from [`EXACT_BELOW`] on: bucket `EXACT_BELOW + k`
/// starts at `LOWER_BOUNDS[k]`. Built with the migration's arithmetic (start at 100.0, times
/// 1.02 until past 1e11, each rounded up), so the doubles and hence the bounds are the same.
static LOWER_BOUNDS: LazyLock<Vec<i64>> = LazyLock::new(|| {
    let mut bounds = Vec::with_capacity(1100);
    let mut x = EXACT_BELOW as f64;
    loop {
        bounds.push(x.ceil() as i64);
        if x >= 1e11 {
            return bounds;
        }
        x *= 1.02;
    }
});

/// The bucket a duration falls in.
pub fn bucket_of(ms: i64) -> usize {
    if ms < EXACT_BELOW {
        return ms.max(0) as usize;
    }
    let k = LOWER_BOUNDS.partition_point(|lo| *lo <= ms) - 1;
    EXACT_BELOW as usize + k
}

/// The value a percentile reports for a bucket: the duration itself below 100 ms, else the
/// geometric middle of the bucket's first and last whole millisecond.
pub fn representative(bucket: usize) -> f64 {
    if bucket < EXACT_BELOW as usize {
        return bucket as f64;
    }
    let k = bucket - EXACT_BELOW as usize;
    let Some(&lo) = LOWER_BOUNDS.get(k) else {
        return *LOWER_BOUNDS.last().unwrap_or(&0) as f64;
    };
    let hi = LOWER_BOUNDS.get(k + 1).map_or(lo, |next| next - 1);
    ((lo as f64) * (hi as f64)).sqrt()
}

/// The `(lo, bucket)` rows of the migration's `stats_buckets` table.
pub fn table() -> impl Iterator<Item = (i64, usize)> {
    LOWER_BOUNDS
        .iter()
        .enumerate()
        .map(|(k, lo)| (*lo, EXACT_BELOW as usize + k))
}

/// Counts of finished attempts per bucket; mergeable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Histogram {
    counts: Vec<u64>,
}

impl Histogram {
    pub fn add(&mut self, bucket: usize, n: u64) {
        if bucket >= self.counts.len() {
            self.counts.resize(bucket + 1, 0);
        }
        self.counts[bucket] += n;
    }

    pub fn record(&mut self, ms: i64) {
        self.add(bucket_of(ms), 1);
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (bucket, n) in other.counts.iter().enumerate() {
            if *n > 0 {
                self.add(bucket, *n);
            }
        }
    }

    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The nearest-rank percentile (`p` in 0..=1): the smallest duration such that at least
    /// `p` of all durations are at or below it, as its bucket's representative.
    pub fn percentile(&self, p: f64) -> Option<f64> {
        let total = self.count();
        let rank = nearest_rank(total, p)?;
        let mut seen = 0;
        for (bucket, n) in self.counts.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return Some(representative(bucket));
            }
        }
        None
    }
}

/// The 1-based rank of the `p` percentile among `total` sorted values (nearest-rank method).
pub fn nearest_rank(total: u64, p: f64) -> Option<u64> {
    if total == 0 {
        return None;
    }
    let rank = (p.clamp(0.0, 1.0) * total as f64).ceil() as u64;
    Some(rank.clamp(1, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_durations_are_exact_and_larger_ones_within_one_percent() {
        for ms in 0..100 {
            assert_eq!(representative(bucket_of(ms)), ms as f64);
        }
        let mut ms = 100;
        while ms < 50_000_000 {
            let shown = representative(bucket_of(ms));
            let error = (shown - ms as f64).abs() / ms as f64;
            assert!(error <= 0.01, "{ms} ms is shown as {shown} ({error})");
            ms += 1 + ms / 997;
        }
    }

    #[test]
    fn buckets_are_ordered_and_cover_every_duration() {
        let bounds: Vec<i64> = table().map(|(lo, _)| lo).collect();
        assert_eq!(bounds[0], 100);
        assert!(bounds.windows(2).all(|w| w[0] < w[1]));
        assert!(*bounds.last().unwrap() >= 100_000_000_000);
        assert_eq!(bucket_of(-5), 0);
        assert_eq!(bucket_of(99), 99);
        assert_eq!(bucket_of(100), 100);
        assert_eq!(bucket_of(101), 100);
        assert_eq!(bucket_of(102), 101);
        assert!(bucket_of(i64::MAX) >= bucket_of(100_000_000_000));
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let mut h = Histogram::default();
        for ms in 1..=10 {
            h.record(ms);
        }
        assert_eq!(h.percentile(0.5), Some(5.0));
        assert_eq!(h.percentile(0.95), Some(10.0));
        assert_eq!(h.percentile(0.0), Some(1.0));
        assert_eq!(Histogram::default().percentile(0.5), None);
        let mut other = Histogram::default();
        other.record(40);
        h.merge(&other);
        assert_eq!(h.count(), 11);
        assert_eq!(h.percentile(1.0), Some(40.0));
    }
}
