//! A small fixed-size latency histogram: log-linear buckets (four per power of two of
//! microseconds, from 1 µs to about 2 minutes): a bucket is a quarter of its power of
//! two wide, so a quantile read from it is within 25 % of the truth, in a few hundred
//! bytes and with no allocation per sample.

use std::time::Duration;

/// Sub-buckets per power of two.
const SUB_BUCKETS: usize = 4;
/// Powers of two of microseconds covered: up to 2^27 µs ≈ 134 s; longer lands in the last.
const OCTAVES: usize = 27;
const BUCKETS: usize = SUB_BUCKETS * OCTAVES;

/// Counts of samples per latency bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LatencyHistogram {
    counts: [u32; BUCKETS],
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        LatencyHistogram {
            counts: [0; BUCKETS],
        }
    }
}

impl LatencyHistogram {
    pub(crate) fn record(&mut self, latency: Duration) {
        let bucket = bucket_of(latency.as_micros().min(u128::from(u64::MAX)) as u64);
        self.counts[bucket] = self.counts[bucket].saturating_add(1);
    }

    pub(crate) fn merge(&mut self, other: &LatencyHistogram) {
        for (mine, theirs) in self.counts.iter_mut().zip(other.counts.iter()) {
            *mine = mine.saturating_add(*theirs);
        }
    }

    pub(crate) fn count(&self) -> u64 {
        self.counts.iter().map(|&count| u64::from(count)).sum()
    }

    /// The `q` quantile (0 to 1), interpolated within its bucket; `None` when empty.
    pub(crate) fn quantile(&self, q: f64) -> Option<Duration> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut below = 0u64;
        for (bucket, &count) in self.counts.iter().enumerate() {
            let count = u64::from(count);
            if count > 0 && below + count >= rank {
                let (lower, upper) = bounds(bucket);
                let share = (rank - below) as f64 / count as f64;
                let micros = lower + (upper - lower) * share;
                return Some(Duration::from_nanos((micros * 1_000.0) as u64));
            }
            below += count;
        }
        None
    }
}

/// The bucket of a latency of `micros`: its power of two, then which quarter of it.
fn bucket_of(micros: u64) -> usize {
    let micros = micros.max(1);
    let octave = (63 - micros.leading_zeros()) as usize;
    let quarter = if octave >= 2 {
        (micros >> (octave - 2)) & 3
    } else {
        (micros << (2 - octave)) & 3
    } as usize;
    (octave * SUB_BUCKETS + quarter).min(BUCKETS - 1)
}

/// The lower and upper bound of `bucket`, in microseconds.
fn bounds(bucket: usize) -> (f64, f64) {
    let octave = (bucket / SUB_BUCKETS) as i32;
    let quarter = (bucket % SUB_BUCKETS) as f64;
    let base = 2f64.powi(octave);
    let width = base / SUB_BUCKETS as f64;
    (base + width * quarter, base + width * (quarter + 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn micros(value: u64) -> Duration {
        Duration::from_micros(value)
    }

    #[test]
    fn buckets_are_ordered_and_contain_their_samples() {
        let mut previous = 0;
        for value in [
            1,
            2,
            3,
            4,
            5,
            7,
            8,
            100,
            1_000,
            65_535,
            1_000_000,
            100_000_000,
        ] {
            let bucket = bucket_of(value);
            assert!(bucket >= previous, "{value}");
            previous = bucket;
            let (lower, upper) = bounds(bucket);
            assert!(
                lower <= value as f64 && (value as f64) < upper,
                "{value}: {lower}..{upper}"
            );
        }
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn quantiles_land_within_a_quarter_of_the_value() {
        let mut histogram = LatencyHistogram::default();
        for _ in 0..98 {
            histogram.record(micros(1_000));
        }
        histogram.record(micros(50_000));
        histogram.record(micros(50_000));
        assert_eq!(histogram.count(), 100);
        // 1,000 µs lies in the bucket [896, 1024); 50,000 µs in [49,152, 57,344).
        let p50 = histogram.quantile(0.5).unwrap().as_micros() as f64;
        assert!((896.0..1_024.0).contains(&p50), "{p50}");
        let p99 = histogram.quantile(0.99).unwrap().as_micros() as f64;
        assert!((49_152.0..=57_344.0).contains(&p99), "{p99}");
        for (estimate, truth) in [(p50, 1_000.0), (p99, 50_000.0)] {
            assert!(
                (estimate - truth).abs() < truth / 4.0,
                "{estimate} vs {truth}"
            );
        }
    }

    #[test]
    fn an_empty_histogram_has_no_quantiles_and_merging_adds_counts() {
        let mut a = LatencyHistogram::default();
        assert_eq!(a.quantile(0.5), None);
        let mut b = LatencyHistogram::default();
        b.record(micros(10));
        b.record(micros(10));
        a.merge(&b);
        a.merge(&b);
        assert_eq!(a.count(), 4);
    }
}
