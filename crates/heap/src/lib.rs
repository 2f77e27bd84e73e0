//! The heap model and the leak analysis.
//!
//! Data flows in one direction: a host feeds allocator events into a [`HeapModel`]; at the end (or at any
//! snapshot) the host hands the live blocks plus their bytes and the roots to [`analyze`], which
//! classifies every live block as one of the leak kinds (docs/contracts.md, "Leak kinds and roots").
//!
//! Nothing here depends on a wasm engine: this crate compiles for `wasm32-unknown-unknown` so the Node and
//! browser runtimes run the same analysis as the CLI.

mod analysis;
mod chunks;
mod growth;
mod live;
mod model;
mod owners;
mod profile;
mod snapshot;
mod stacks;

pub use analysis::{analyze, analyze_sorted, analyze_sorted_scan_first, Analysis, BlockClass, HeapBytes, Holder, Kind, Memory, PathStep, RootRegion, RootValue, Roots};
pub use chunks::{chunk_sizes, resized_note};
pub use growth::{growth, sampled_growth, Growth, SampledGrowth, MIN_SAMPLES};
pub use live::LiveSet;
pub use model::{Block, HeapModel, InvalidFree, InvalidFreeKind, HEAD_WORDS};
pub use owners::{owners, Freed, FreedRegion, Owner};
pub use profile::{AllocProfile, ProfileSample, SiteProfile};
pub use snapshot::{HeapState, SnapBlock, SnapInvalidFree, SnapFrame, SnapOwner, SnapRegion, SnapStatic, SnapValue, Snapshot, SnapshotError, FORMAT_VERSION};
pub use stacks::{RawFrame, StackId, StackTable};

/// The name of a host value read from a stack slot JavaScript allocated (the JS runtime's `idle` state; its word's
/// address follows): the report's hint names what holds such blocks.
pub const JS_STACK_SLOT: &str = "a stack slot JavaScript allocated (stackAlloc)";

/// How a threaded run names the root of a block a thread still running at the end allocated or was handed at
/// start: "thread {N}, {THREAD_HELD}" (wasm locals cannot be read, so such a block is not called lost). Reports
/// count the reachable blocks held so apart (`summary.thread_held_*`).
pub const THREAD_HELD: &str = "still running at the end (it may hold this in a local variable, which cannot be read)";

/// From this many blocks, work on all of them at exit (reading their chunk headers, copying their bytes, writing
/// their classes) is split over two cores ([`both_for`]).
pub(crate) const TWO_THREADS: usize = 1 << 16;

/// `a` and `b`, two halves of work on `n` blocks: at once ([`both`]) from [`TWO_THREADS`] blocks, one after the
/// other on this thread below (and on wasm32, which has no threads).
pub(crate) fn both_for<A: Send, B>(n: usize, a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B) -> (A, B) {
    if cfg!(target_arch = "wasm32") || n < TWO_THREADS {
        (a(), b())
    } else {
        both(a, b)
    }
}

/// `a` and `b` at once: `a` on another thread, `b` on this one; both on this one when no thread can be started.
pub fn both<A: Send, B>(a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B) -> (A, B) {
    // Whichever thread takes `a` runs it: this one too, when the other cannot be started.
    let a = std::sync::Mutex::new(Some(a));
    let run_a = || a.lock().unwrap_or_else(|e| e.into_inner()).take().map(|f| f());
    std::thread::scope(|s| {
        let other = std::thread::Builder::new().spawn_scoped(s, run_a);
        let rb = b();
        let ra = match other.ok().and_then(|h| h.join().ok()).flatten() {
            Some(ra) => ra,
            None => run_a().expect("run on this thread when not on the other"),
        };
        (ra, rb)
    })
}
