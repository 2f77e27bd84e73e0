//! The allocation profile: what every allocation site allocated over the run, not only what is live at the
//! end. Counted as the events arrive (a few adds per event), so every host gets it with the heap model.
//!
//! - **allocated**: blocks and bytes each site asked for (a realloc to a new size is one more allocation);
//! - **temporary**: blocks freed with no other allocation in between (heaptrack's definition): a
//!   `malloc`/`free` pair around a short computation, worth a stack buffer or a reused one;
//! - **peak**: the largest live heap of the run (requested bytes), and each site's share of it at that moment;
//! - **samples**: every site's live bytes and blocks on the event clock, for growth without snapshots.

use serde::{Deserialize, Serialize};

use crate::stacks::StackId;

/// One site's totals. `stack` is a [`StackId`] in a [`crate::HeapState`], an index into `Snapshot::stacks`
/// in a [`crate::Snapshot`] (`u32::MAX`: not captured).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteProfile {
    pub stack: u32,
    pub allocated_blocks: u64,
    pub allocated_bytes: u64,
    pub temporary_blocks: u64,
    /// Live blocks and bytes of the site when the whole heap was at its peak.
    pub peak_blocks: u64,
    pub peak_bytes: u64,
}

/// The run's allocation profile up to one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocProfile {
    pub allocated_bytes: u64,
    pub temporary_blocks: u64,
    /// The largest live heap so far: requested bytes, blocks, and the number of the event that reached it.
    pub peak_bytes: u64,
    pub peak_blocks: u64,
    pub peak_event: u64,
    /// Sites that allocated at least once, in no particular order.
    pub sites: Vec<SiteProfile>,
    /// Every site's live bytes and blocks on the allocator-event clock (every 1,024 events at first, at most
    /// 64 kept, evenly spaced), oldest first: what tells growth without a snapshot ([`crate::sampled_growth`]).
    pub samples: Vec<ProfileSample>,
    /// When each sample was taken, in milliseconds from the start of the run, as the host's clock said
    /// (empty when the host gave none). Not in the profile's encoding: `.wlsnap` appends it after the rest.
    #[serde(skip)]
    pub sample_ms: Vec<u64>,
}

/// The live heap per site at one allocator event: `(stack, live bytes, live blocks)` of the sites with any.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileSample {
    pub event: u64,
    pub sites: Vec<(u32, u64, u64)>,
}

/// Samples kept: when full, every other one is dropped and the interval doubles.
pub const MAX_SAMPLES: usize = 64;
/// Events between samples at first.
const FIRST_INTERVAL: u64 = 1024;

#[derive(Clone, Copy, Debug, Default)]
struct Counters {
    allocated_blocks: u64,
    allocated_bytes: u64,
    temporary_blocks: u64,
    live_blocks: u64,
    live_bytes: u64,
    /// The site's live blocks and bytes at the peak numbered `peak_gen` (see [`ProfileCounters::touch`]).
    peak_blocks: u64,
    peak_bytes: u64,
    peak_gen: u64,
}

/// The profile as the heap model keeps it while events arrive.
#[derive(Clone, Debug, Default)]
pub(crate) struct ProfileCounters {
    /// By stack id.
    sites: Vec<Counters>,
    /// Blocks without a stack (`--stacks off`).
    none: Counters,
    live_bytes: u64,
    live_blocks: u64,
    allocated_bytes: u64,
    temporary_blocks: u64,
    peak_bytes: u64,
    peak_blocks: u64,
    peak_event: u64,
    /// Peaks reached so far. Copying every site's live counters at each new peak would cost O(sites) per
    /// event in a growing heap; instead a site copies them itself the next time it changes (or at the end)
    /// if a peak was reached since it last did.
    peak_gen: u64,
    /// The address of the last allocation while no free or allocation has followed it.
    last_alloc: Option<u32>,
    samples: Vec<ProfileSample>,
    sample_ms: Vec<u64>,
    /// The host's clock (ms from the start of the run), when it gives one: what the next sample is stamped with.
    clock_ms: Option<u64>,
    /// The event of the next sample, and the events between samples.
    next_sample: u64,
    interval: u64,
}

impl ProfileCounters {
    /// Site `stack`'s counters, with its share of the latest peak written down before they change.
    fn touch(&mut self, stack: StackId) -> &mut Counters {
        let latest = self.peak_gen;
        let c = if stack.is_none() {
            &mut self.none
        } else {
            let i = stack.0 as usize;
            if i >= self.sites.len() {
                self.sites.resize(i + 1, Counters::default());
            }
            &mut self.sites[i]
        };
        if c.peak_gen != latest {
            c.peak_gen = latest;
            c.peak_blocks = c.live_blocks;
            c.peak_bytes = c.live_bytes;
        }
        c
    }

    pub(crate) fn alloc(&mut self, addr: u32, size: u64, stack: StackId, seq: u64) {
        let c = self.touch(stack);
        c.allocated_blocks += 1;
        c.allocated_bytes += size;
        c.live_blocks += 1;
        c.live_bytes += size;
        self.allocated_bytes += size;
        self.live_blocks += 1;
        self.live_bytes += size;
        self.last_alloc = Some(addr);
        if self.live_bytes > self.peak_bytes {
            self.peak_bytes = self.live_bytes;
            self.peak_blocks = self.live_blocks;
            self.peak_event = seq;
            self.peak_gen += 1;
        }
    }

    /// A live block freed (`plain`: by free, not by a realloc that moved or resized it).
    pub(crate) fn free(&mut self, addr: u32, size: u64, stack: StackId, plain: bool) {
        let temporary = plain && self.last_alloc == Some(addr);
        self.last_alloc = None;
        let c = self.touch(stack);
        c.live_blocks = c.live_blocks.saturating_sub(1);
        c.live_bytes = c.live_bytes.saturating_sub(size);
        if temporary {
            c.temporary_blocks += 1;
            self.temporary_blocks += 1;
        }
        self.live_blocks = self.live_blocks.saturating_sub(1);
        self.live_bytes = self.live_bytes.saturating_sub(size);
    }

    /// A live block moved (and resized) by the allocator, not the program (`HeapModel::moved`): what it
    /// counts as allocated and live follows its size now; still the last allocation if it was.
    pub(crate) fn resize(&mut self, from: u32, to: u32, was: u64, size: u64, stack: StackId) {
        if self.last_alloc == Some(from) {
            self.last_alloc = Some(to);
        }
        let c = self.touch(stack);
        c.allocated_bytes = (c.allocated_bytes + size).saturating_sub(was);
        c.live_bytes = (c.live_bytes + size).saturating_sub(was);
        self.allocated_bytes = (self.allocated_bytes + size).saturating_sub(was);
        self.live_bytes = (self.live_bytes + size).saturating_sub(was);
    }

    /// A live block's stack, given later (the JS runtime's per-allocation captures): its counts move along.
    pub(crate) fn restack(&mut self, size: u64, from: StackId, to: StackId) {
        let c = self.touch(from);
        c.allocated_blocks = c.allocated_blocks.saturating_sub(1);
        c.allocated_bytes = c.allocated_bytes.saturating_sub(size);
        c.live_blocks = c.live_blocks.saturating_sub(1);
        c.live_bytes = c.live_bytes.saturating_sub(size);
        let c = self.touch(to);
        c.allocated_blocks += 1;
        c.allocated_bytes += size;
        c.live_blocks += 1;
        c.live_bytes += size;
    }

    pub(crate) fn live_bytes(&self) -> u64 {
        self.live_bytes
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        self.sites.capacity() * std::mem::size_of::<Counters>()
            + self.samples.iter().map(|s| s.sites.capacity() * 24).sum::<usize>()
    }

    /// Called with every event's number: on the event clock (every 1,024 events at first, the interval
    /// doubling whenever [`MAX_SAMPLES`] are kept, so a run of any length has 32 to 64 evenly spaced samples),
    /// write down every site's live bytes and blocks — counters only, no memory is copied.
    #[inline]
    pub(crate) fn tick(&mut self, seq: u64) {
        if seq < self.next_sample {
            return;
        }
        if self.interval == 0 {
            self.interval = FIRST_INTERVAL;
            self.next_sample = FIRST_INTERVAL;
            return;
        }
        self.sample(seq);
    }

    fn sample(&mut self, seq: u64) {
        let mut sites: Vec<(u32, u64, u64)> =
            self.sites.iter().enumerate().filter(|(_, c)| c.live_blocks > 0).map(|(i, c)| (i as u32, c.live_bytes, c.live_blocks)).collect();
        if self.none.live_blocks > 0 {
            sites.push((StackId::NONE.0, self.none.live_bytes, self.none.live_blocks));
        }
        self.samples.push(ProfileSample { event: seq, sites });
        if let Some(ms) = self.clock_ms {
            self.sample_ms.push(ms);
        }
        if self.samples.len() >= MAX_SAMPLES {
            let kept: Vec<ProfileSample> = std::mem::take(&mut self.samples).into_iter().skip(1).step_by(2).collect();
            self.samples = kept;
            self.sample_ms = std::mem::take(&mut self.sample_ms).into_iter().skip(1).step_by(2).collect();
            self.interval *= 2;
        }
        self.next_sample = seq + self.interval;
    }

    pub(crate) fn profile(&self) -> AllocProfile {
        let latest = self.peak_gen;
        let site = |stack: u32, c: &Counters| {
            let (peak_blocks, peak_bytes) =
                if c.peak_gen == latest { (c.peak_blocks, c.peak_bytes) } else { (c.live_blocks, c.live_bytes) };
            SiteProfile {
                stack,
                allocated_blocks: c.allocated_blocks,
                allocated_bytes: c.allocated_bytes,
                temporary_blocks: c.temporary_blocks,
                peak_blocks,
                peak_bytes,
            }
        };
        let sites = self
            .sites
            .iter()
            .enumerate()
            .map(|(i, c)| site(i as u32, c))
            .chain(std::iter::once(site(StackId::NONE.0, &self.none)))
            .filter(|s| s.allocated_blocks > 0)
            .collect();
        AllocProfile {
            allocated_bytes: self.allocated_bytes,
            temporary_blocks: self.temporary_blocks,
            peak_bytes: self.peak_bytes,
            peak_blocks: self.peak_blocks,
            peak_event: self.peak_event,
            sites,
            samples: self.samples.clone(),
            // Stamps for every sample, or none (a clock given only part of the run says nothing reliable).
            sample_ms: if self.sample_ms.len() == self.samples.len() { self.sample_ms.clone() } else { Vec::new() },
        }
    }

    pub(crate) fn set_clock(&mut self, ms: u64) {
        self.clock_ms = Some(ms);
    }
}
