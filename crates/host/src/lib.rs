//! The wasmtime host: runs a module (plain, or instrumented with hooks that become heap events) under WASI
//! preview1, then collects what the analysis needs — the heap model, a memory image and the roots.
//!
//! The guest runs once. Every event gets its stack: the instrumented module hands each hook a calling-context
//! id (a hash of the call sites from the entry down), and the host walks the real stack (~0.3 µs a frame) only
//! the first time it sees an id; afterwards a stack is a table lookup.

mod clock;
pub mod embed;
mod events;
mod run;
mod stacks;
mod threads;

pub use clock::Clock;
pub use run::{plain_run, tracked_run, Exit, Invoke, Outcome, Progress, RunConfig, StackMode, Stdout, MAX_ITERATION_SNAPSHOTS};

/// Ask the kernel for 2 MiB pages under `[at, at + len)` (its 2 MiB-aligned interior), where transparent huge pages
/// are left to the program (`madvise` mode, the default of many distributions): a fresh 4 KiB page costs a fault,
/// ~2 µs on this project's machines, a 2 MiB one a single fault. For wasmleak's own memory only — the guest's runs as
/// it would alone. Nothing happens elsewhere, or where the kernel refuses.
pub fn huge_pages(at: *mut u8, len: usize) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let start = (at as usize).next_multiple_of(HUGE);
        let end = (at as usize).saturating_add(len) & !(HUGE - 1);
        if !at.is_null() && end > start {
            // SAFETY: the range lies inside the caller's allocation; advice changes no contents.
            unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE) };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (at, len);
}
