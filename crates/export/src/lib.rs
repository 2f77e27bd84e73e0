//! Snapshots written in the formats other tools read. Each format is a module with
//! `write(snapshot, analysis, out)`; the analysis is the one of that same snapshot.

pub mod flamegraph;
pub mod heapsnapshot;
pub mod html;
pub mod pprof;

/// Whether a live block is one of the language runtime's one-time allocations (wasi-libc's argv copy) that
/// the report counts apart: exports label it `runtime`, never a leak. `runtime` is
/// [`wasmleak_report::runtime_stacks`] of the snapshot.
pub(crate) fn is_runtime(kind: wasmleak_heap::Kind, stack: u32, runtime: &[bool]) -> bool {
    kind != wasmleak_heap::Kind::Reachable && runtime.get(stack as usize).copied().unwrap_or(false)
}
