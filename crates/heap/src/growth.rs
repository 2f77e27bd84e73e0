//! Growth over a series of snapshots of one run: which allocation sites hold more live bytes at every
//! snapshot than at the one before. Comparing consecutive snapshots (never against the start of the run)
//! keeps one-time work of the first iterations — lazy statics, warm caches — out of the verdict.

use std::collections::HashMap;

use crate::snapshot::{SnapFrame, Snapshot};

/// A site whose live bytes rose between every pair of consecutive snapshots, or, over eight snapshots or more, by
/// quarters of the series as [`sampled_growth`] judges samples and still within the second half (snapshots taken
/// more often than the app's work adds to the cache — a timer's — see some pairs unchanged; a cache that filled
/// up and stayed so through the second half is not growing).
#[derive(Clone, Debug, PartialEq)]
pub struct Growth {
    /// The allocation stack, innermost first.
    pub stack: Vec<SnapFrame>,
    /// Live blocks and bytes at each snapshot, in order.
    pub blocks: Vec<u64>,
    pub bytes: Vec<u64>,
    /// From the first snapshot to the last, per iteration of the repeated action.
    pub bytes_per_iteration: f64,
    pub blocks_per_iteration: f64,
}

/// Growing sites, fastest first. Needs three snapshots or more (two intervals), in iteration order.
pub fn growth(snaps: &[Snapshot]) -> Vec<Growth> {
    if snaps.len() < 3 {
        return Vec::new();
    }
    let n = snaps.len();
    let mut series: HashMap<Vec<SnapFrame>, (Vec<u64>, Vec<u64>)> = HashMap::new();
    for (k, snap) in snaps.iter().enumerate() {
        let mut per_stack: HashMap<u32, (u64, u64)> = HashMap::new();
        for b in &snap.blocks {
            let e = per_stack.entry(b.stack).or_default();
            e.0 += 1;
            e.1 += b.size;
        }
        for (stack, (blocks, bytes)) in per_stack {
            let frames: Vec<SnapFrame> = snap.stack(stack).cloned().collect();
            let e = series.entry(frames).or_insert_with(|| (vec![0; n], vec![0; n]));
            e.0[k] += blocks;
            e.1[k] += bytes;
        }
    }
    let iterations = snaps[n - 1].iteration.saturating_sub(snaps[0].iteration).max(1) as f64;
    let mut out: Vec<Growth> = series
        .into_iter()
        .filter(|(_, (_, bytes))| {
            bytes.windows(2).all(|w| w[1] > w[0]) || (n >= MIN_SAMPLES && rises_by_quarters(bytes) && still_rising(bytes))
        })
        .map(|(stack, (blocks, bytes))| Growth {
            bytes_per_iteration: (bytes[n - 1] - bytes[0]) as f64 / iterations,
            blocks_per_iteration: (blocks[n - 1] as f64 - blocks[0] as f64) / iterations,
            stack,
            blocks,
            bytes,
        })
        .collect();
    out.sort_by(|a, b| b.bytes_per_iteration.total_cmp(&a.bytes_per_iteration));
    out
}

/// The least a series held in each part rose: the minimum over the first quarter < over the second quarter < over
/// the second half, by at least 256 bytes and 10% of the first (see [`sampled_growth`]). `bytes` has
/// [`MIN_SAMPLES`] values or more.
fn rises_by_quarters(bytes: &[u64]) -> bool {
    let n = bytes.len();
    let min = |v: &[u64]| v.iter().copied().min().unwrap_or(0);
    let (m1, m2, mh) = (min(&bytes[..n / 4]), min(&bytes[n / 4..n / 2]), min(&bytes[n / 2..]));
    m1 < m2 && m2 < mh && mh - m1 >= MIN_GROWTH.max(m1 / 10)
}

/// The last value of a series is above the least of its second half (from the value just before it: a `Vec`
/// that doubled right at the middle still counts): the site held more at the end than at some point since.
fn still_rising(bytes: &[u64]) -> bool {
    let from = (bytes.len() / 2).saturating_sub(1);
    bytes[bytes.len() - 1] > bytes[from..].iter().copied().min().unwrap_or(0)
}

/// A site the event-clock samples show growing (see [`sampled_growth`]).
#[derive(Clone, Debug, PartialEq)]
pub struct SampledGrowth {
    /// The site's stack, as the samples number it (a snapshot's stack index).
    pub stack: u32,
    /// Over the second half of the run: live bytes and blocks added per 1,000 allocator events.
    pub bytes_per_1000_events: f64,
    pub blocks_per_1000_events: f64,
    /// The same per second of the host's clock, when the samples have times spanning some of it.
    pub bytes_per_second: Option<f64>,
    pub blocks_per_second: Option<f64>,
}

/// Samples a verdict needs, and the least growth that counts (bytes).
pub const MIN_SAMPLES: usize = 8;
const MIN_GROWTH: u64 = 256;

/// Growth without snapshots, from the allocation profile's samples of every site's live bytes on the event
/// clock. A site grows when the least it held in each part of the run rose: the minimum over the first
/// quarter < over the second quarter < over the second half. Minima ignore churn (blocks freed and allocated
/// again) and the transient peak of a buffer being copied into a bigger one; a `Vec` that keeps doubling
/// passes (with steady growth a doubling falls in every half of the run), a cache filled once at start-up
/// (warm-up) or a bounded cache that filled early does not (flat after the first quarter). The growth must
/// also be at least 256 bytes and 10% of what the site held at first.
/// `sample_ms`: when each sample was taken (ms), or empty.
pub fn sampled_growth(samples: &[crate::ProfileSample], sample_ms: &[u64]) -> Vec<SampledGrowth> {
    let n = samples.len();
    if n < MIN_SAMPLES {
        return Vec::new();
    }
    let mut series: HashMap<u32, (Vec<u64>, Vec<u64>)> = HashMap::new();
    for (k, s) in samples.iter().enumerate() {
        for &(stack, bytes, blocks) in &s.sites {
            let e = series.entry(stack).or_insert_with(|| (vec![0; n], vec![0; n]));
            e.0[k] = bytes;
            e.1[k] = blocks;
        }
    }
    let half = n / 2;
    // The least-squares slope over the second half (from the sample before it, as `still_rising` looks), per
    // 1,000 events (or per second): churn averages out.
    let slope_by = |x: &dyn Fn(usize) -> f64, v: &[u64]| {
        let pts: Vec<(f64, f64)> = (half - 1..n).map(|k| (x(k), v[k] as f64)).collect();
        let m = pts.len() as f64;
        let (sx, sy) = pts.iter().fold((0.0, 0.0), |(a, b), p| (a + p.0, b + p.1));
        let (mx, my) = (sx / m, sy / m);
        let (num, den) = pts.iter().fold((0.0, 0.0), |(a, b), p| (a + (p.0 - mx) * (p.1 - my), b + (p.0 - mx) * (p.0 - mx)));
        if den > 0.0 { num / den } else { 0.0 }
    };
    let per_1000_events = |k: usize| samples[k].event as f64 / 1000.0;
    let per_second = |k: usize| sample_ms[k] as f64 / 1000.0;
    let slope = |v: &[u64]| slope_by(&per_1000_events, v);
    // At least 10 ms between the second half's first and last sample, or the clock says too little.
    let timed = sample_ms.len() == n && sample_ms[n - 1] >= sample_ms[half] + 10;
    let per_s = |v: &[u64]| timed.then(|| slope_by(&per_second, v));
    let mut out: Vec<SampledGrowth> = series
        .into_iter()
        // Still rising within the second half, as for snapshots: a bounded cache that filled up by 40% of the
        // run rose from quarter to quarter, and was flat since ("GROWING by 0 B per 1,000 allocator events").
        .filter(|(_, (bytes, _))| rises_by_quarters(bytes) && still_rising(bytes) && slope(bytes) > 0.0)
        .map(|(stack, (bytes, blocks))| SampledGrowth {
            stack,
            bytes_per_1000_events: slope(&bytes),
            blocks_per_1000_events: slope(&blocks),
            bytes_per_second: per_s(&bytes),
            blocks_per_second: per_s(&blocks),
        })
        .collect();
    out.sort_by(|a, b| b.bytes_per_1000_events.total_cmp(&a.bytes_per_1000_events).then(a.stack.cmp(&b.stack)));
    out
}

#[cfg(test)]
mod sampled_tests {
    use super::*;
    use crate::ProfileSample;

    /// 40 samples, 1,000 events apart, of one site whose live bytes follow `f`.
    fn series(f: impl Fn(u64) -> u64) -> Vec<ProfileSample> {
        (0..40u64).map(|k| ProfileSample { event: k * 1000, sites: vec![(7, f(k), f(k) / 16)] }).collect()
    }

    #[test]
    fn growing_and_steady_sites() {
        // A cache: 64 bytes more per sample, with churn on top.
        let g = sampled_growth(&series(|k| 1000 + 64 * k + (k % 3) * 500), &[]);
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].stack, 7);
        assert!((g[0].bytes_per_1000_events - 64.0).abs() < 16.0, "{g:?}");
        assert_eq!(g[0].bytes_per_second, None);
        // With the host's clock: a sample every 20 ms, 64 bytes each, is 3,200 B/s.
        let ms: Vec<u64> = (0..40).map(|k| 20 * k).collect();
        let g = sampled_growth(&series(|k| 1000 + 64 * k + (k % 3) * 500), &ms);
        assert!((g[0].bytes_per_second.unwrap() - 3200.0).abs() < 800.0, "{g:?}");
        // A clock that did not move: no rate per second.
        assert_eq!(sampled_growth(&series(|k| 1000 + 64 * k), &[5; 40])[0].bytes_per_second, None);
        // A Vec that keeps doubling (its buffer: the next power of two above 100 bytes per sample).
        assert_eq!(sampled_growth(&series(|k| (100 * (k + 1)).next_power_of_two()), &[]).len(), 1);
        // Warm-up then flat; steady churn; a bounded cache filled in the first quarter.
        assert!(sampled_growth(&series(|k| if k < 5 { 1000 * k } else { 5000 }), &[]).is_empty());
        assert!(sampled_growth(&series(|k| 4000 + (k % 5) * 700), &[]).is_empty());
        assert!(sampled_growth(&series(|k| (k * 800).min(6400)), &[]).is_empty());
        // A bounded cache that filled up by 40% of the run: it rose from quarter to quarter, and not since.
        assert!(sampled_growth(&series(|k| (k * 800).min(16 * 800)), &[]).is_empty());
        // Too little growth to count.
        assert!(sampled_growth(&series(|k| 100_000 + k * 2), &[]).is_empty());
        // Too few samples.
        assert!(sampled_growth(&series(|k| 1000 * k)[..6], &[]).is_empty());
    }
}

#[cfg(test)]
mod snapshot_tests {
    use super::*;
    use crate::{SnapBlock, SnapFrame};

    /// Snapshots of one site holding `bytes[k]` in 64-byte blocks at snapshot k (iteration k).
    fn snaps(bytes: &[u64]) -> Vec<Snapshot> {
        let frame = SnapFrame { function: "cache_insert".into(), file: None, line: None, column: None, inlined: false };
        bytes
            .iter()
            .enumerate()
            .map(|(k, &b)| Snapshot {
                index: k as u32 + 1,
                iteration: k as u64,
                frames: vec![frame.clone()],
                stacks: vec![vec![0]],
                blocks: (0..b / 64).map(|i| SnapBlock { addr: 0x10000 + 64 * i, size: 64, seq: i, stack: 0 }).collect(),
                ..Default::default()
            })
            .collect()
    }

    #[test]
    fn growing_sites_between_snapshots() {
        // Every pair rose, a little: growing (three snapshots are enough).
        assert_eq!(growth(&snaps(&[64, 128, 192])).len(), 1);
        // A timer's snapshots, more often than the cache grows: some pairs unchanged, rising by quarters.
        let g = growth(&snaps(&[0, 512, 512, 1024, 1024, 1536, 2048, 2048, 2560, 3072]));
        assert_eq!(g.len(), 1, "{g:?}");
        assert!((g[0].bytes_per_iteration - 3072.0 / 9.0).abs() < 1e-9);
        // The same with fewer than eight snapshots: every pair must rise.
        assert!(growth(&snaps(&[0, 512, 512, 1024, 1536])).is_empty());
        // Filled over the first 40% (a bounded cache, a snapshot per call), then flat through the second half.
        assert!(growth(&snaps(&[64, 128, 192, 256, 320, 384, 448, 512, 512, 512, 512, 512, 512, 512, 512, 512])).is_empty());
        // Filled early, then flat; warm-up, then flat; churn.
        assert!(growth(&snaps(&[0, 1024, 2048, 2048, 2048, 2048, 2048, 2048, 2048, 2048])).is_empty());
        assert!(growth(&snaps(&[2048, 4096, 4096, 4096, 4096, 4096, 4096, 4096])).is_empty());
        assert!(growth(&snaps(&[1024, 2048, 1024, 2048, 1024, 2048, 1024, 2048, 1024])).is_empty());
    }
}
