//! The allocation profile of a report: every site that allocated during the run (not only the ones with
//! blocks left), what it allocated in total, how much of it was temporary, and its share of the peak heap.

use rustc_hash::FxHashMap as HashMap;

use serde::Serialize;
use wasmleak_heap::Snapshot;

use crate::build::{frames, site, Frame};

#[derive(Clone, Debug, Serialize)]
pub struct Profile {
    pub allocated_blocks: u64,
    pub allocated_bytes: u64,
    /// Blocks freed with no other allocation in between (heaptrack's "temporary").
    pub temporary_blocks: u64,
    /// The largest live heap of the run (requested bytes) and the allocator event that reached it.
    pub peak_bytes: u64,
    pub peak_blocks: u64,
    pub peak_event: u64,
    /// Largest allocated bytes first.
    pub sites: Vec<ProfileSite>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ProfileSite {
    pub allocated_blocks: u64,
    pub allocated_bytes: u64,
    pub temporary_blocks: u64,
    /// The site's live blocks and bytes when the whole heap was at its peak.
    pub peak_blocks: u64,
    pub peak_bytes: u64,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub ty: Option<String>,
    /// The innermost frame that is the program's own code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site: Option<Frame>,
    /// Innermost first, allocator frames dropped.
    pub stack: Vec<Frame>,
}

/// The snapshot's profile, sites merged by symbolized stack; `None` for a snapshot file written before
/// wasmleak kept one (it has allocations but no sites).
pub fn profile(snap: &Snapshot) -> Option<Profile> {
    profile_typed(snap, &crate::types::stack_types(snap))
}

/// [`profile`] with the snapshot's [`crate::stack_types`] already worked out (the report's groups need them too).
pub(crate) fn profile_typed(snap: &Snapshot, types: &[Option<String>]) -> Option<Profile> {
    let p = &snap.profile;
    if p.sites.is_empty() && snap.allocations > 0 {
        return None;
    }
    let mut sites: Vec<ProfileSite> = Vec::new();
    let mut by_frames: HashMap<Vec<Frame>, usize> = HashMap::default();
    for s in &p.sites {
        let stack = frames(snap, s.stack);
        let i = *by_frames.entry(stack.clone()).or_insert_with(|| {
            sites.push(ProfileSite {
                allocated_blocks: 0,
                allocated_bytes: 0,
                temporary_blocks: 0,
                peak_blocks: 0,
                peak_bytes: 0,
                ty: types.get(s.stack as usize).cloned().flatten(),
                site: site(&stack),
                stack,
            });
            sites.len() - 1
        });
        let t = &mut sites[i];
        t.allocated_blocks += s.allocated_blocks;
        t.allocated_bytes += s.allocated_bytes;
        t.temporary_blocks += s.temporary_blocks;
        t.peak_blocks += s.peak_blocks;
        t.peak_bytes += s.peak_bytes;
    }
    sites.sort_by(|a, b| b.allocated_bytes.cmp(&a.allocated_bytes).then(b.allocated_blocks.cmp(&a.allocated_blocks)));
    Some(Profile {
        allocated_blocks: sites.iter().map(|s| s.allocated_blocks).sum(),
        allocated_bytes: p.allocated_bytes,
        temporary_blocks: p.temporary_blocks,
        peak_bytes: p.peak_bytes,
        peak_blocks: p.peak_blocks,
        peak_event: p.peak_event,
        sites,
    })
}
