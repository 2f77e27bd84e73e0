//! Growth over a series of snapshots of one run: which allocation sites hold more live bytes at every
//! snapshot than at the one before. Comparing consecutive snapshots (never against the start of the run)
//! keeps one-time work of the first iterations — lazy statics, warm caches — out of the verdict.

use std::collections::HashMap;

use crate::snapshot::{SnapFrame, Snapshot};

/// A site whose live bytes rose between every pair of consecutive snapshots.
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
        .filter(|(_, (_, bytes))| bytes.windows(2).all(|w| w[1] > w[0]))
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
