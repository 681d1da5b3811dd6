//! Latency summaries: percentiles by sorting (nearest-rank), in milliseconds.

use std::time::Duration;

/// The `p`-th percentile (0–100) of `sorted` (ascending), by the nearest-rank method: the
/// smallest sample such that at least `p` % of the samples are less than or equal to it.
/// `p = 0` gives the minimum, `p = 100` the maximum; `None` for no samples.
pub fn percentile(sorted: &[Duration], p: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let p = p.clamp(0.0, 100.0);
    let n = sorted.len();
    // Rank is 1-based: ceil(p/100 · n), at least 1. Done in integers on per-mille steps so
    // that for example p95 of 200 samples is exactly rank 190, not 190.00000000000003 → 191.
    let per_mille = (p * 10.0).round() as u64;
    let rank = (per_mille * n as u64).div_ceil(1000).max(1);
    let index = usize::try_from(rank - 1).unwrap_or(usize::MAX).min(n - 1);
    sorted.get(index).copied()
}

/// Summary of a set of wall times.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Summary {
    /// Number of samples.
    pub n: usize,
    /// Minimum, ms.
    pub min_ms: f64,
    /// Median (nearest rank), ms.
    pub p50_ms: f64,
    /// 95th percentile, ms.
    pub p95_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Maximum, ms.
    pub max_ms: f64,
    /// Arithmetic mean, ms.
    pub mean_ms: f64,
}

impl Summary {
    /// Summarizes `samples` (any order); `None` if empty.
    pub fn of(samples: &[Duration]) -> Option<Summary> {
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();
        let ms = |p: f64| percentile(&sorted, p).map_or(0.0, |d| d.as_secs_f64() * 1000.0);
        if sorted.is_empty() {
            return None;
        }
        let total: Duration = sorted.iter().sum();
        Some(Summary {
            n: sorted.len(),
            min_ms: ms(0.0),
            p50_ms: ms(50.0),
            p95_ms: ms(95.0),
            p99_ms: ms(99.0),
            max_ms: ms(100.0),
            mean_ms: total.as_secs_f64() * 1000.0 / sorted.len() as f64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|&v| Duration::from_millis(v)).collect()
    }

    #[test]
    fn percentile_of_nothing_is_none() {
        assert_eq!(percentile(&[], 50.0), None);
        assert!(Summary::of(&[]).is_none());
    }

    #[test]
    fn percentile_nearest_rank_on_1_to_100() {
        let sorted = ms(&(1..=100).collect::<Vec<_>>());
        assert_eq!(percentile(&sorted, 0.0), Some(Duration::from_millis(1)));
        assert_eq!(percentile(&sorted, 50.0), Some(Duration::from_millis(50)));
        assert_eq!(percentile(&sorted, 95.0), Some(Duration::from_millis(95)));
        assert_eq!(percentile(&sorted, 99.0), Some(Duration::from_millis(99)));
        assert_eq!(percentile(&sorted, 99.9), Some(Duration::from_millis(100)));
        assert_eq!(percentile(&sorted, 100.0), Some(Duration::from_millis(100)));
    }

    #[test]
    fn percentile_of_200_samples_has_no_float_off_by_one() {
        let sorted = ms(&(1..=200).collect::<Vec<_>>());
        // rank ceil(0.95 * 200) = 190 exactly.
        assert_eq!(percentile(&sorted, 95.0), Some(Duration::from_millis(190)));
        assert_eq!(percentile(&sorted, 99.0), Some(Duration::from_millis(198)));
        assert_eq!(percentile(&sorted, 50.0), Some(Duration::from_millis(100)));
    }

    #[test]
    fn percentile_of_small_sets() {
        let one = ms(&[7]);
        for p in [0.0, 1.0, 50.0, 99.0, 100.0] {
            assert_eq!(percentile(&one, p), Some(Duration::from_millis(7)));
        }
        let three = ms(&[1, 2, 3]);
        assert_eq!(percentile(&three, 50.0), Some(Duration::from_millis(2)));
        assert_eq!(percentile(&three, 34.0), Some(Duration::from_millis(2)));
        assert_eq!(percentile(&three, 33.0), Some(Duration::from_millis(1)));
        // Out-of-range p is clamped.
        assert_eq!(percentile(&three, -5.0), Some(Duration::from_millis(1)));
        assert_eq!(percentile(&three, 250.0), Some(Duration::from_millis(3)));
    }

    #[test]
    fn summary_sorts_its_input() {
        let summary = Summary::of(&ms(&[30, 10, 20, 40]))
            .map(|s| (s.n, s.min_ms, s.p50_ms, s.max_ms, s.mean_ms));
        assert_eq!(summary, Some((4, 10.0, 20.0, 40.0, 25.0)));
    }
}
