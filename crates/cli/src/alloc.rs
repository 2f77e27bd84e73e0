//! wasmleak's own allocator: the system's, with large blocks backed by huge pages where the kernel leaves that
//! to the program (transparent huge pages in `madvise` mode, the default of many distributions).
//!
//! Why: the heap at exit of a large run is copied into fresh buffers (the live blocks in address order, their
//! bytes, the memory image the pointer scan reads, the analysis' arrays). Each 4 KiB page of a fresh buffer
//! costs a page fault, ~2.5 µs on this project's machines: 300,000 live blocks made ~25,000 of them, a fifth of
//! `check`'s time (BENCHMARKS.md). A 2 MiB page costs one. The guest's own memory is wasmtime's and is left
//! as it is, so the guest runs as it would without wasmleak.

use std::alloc::{GlobalAlloc, Layout, System};

/// Blocks from this size up have their 2 MiB-aligned interior advised.
const LARGE: usize = 4 << 20;

pub struct HugePages;

fn advise(p: *mut u8, size: usize) {
    if size >= LARGE {
        wasmleak_host::huge_pages(p, size);
    }
}

// SAFETY: every call is the system allocator's; `advise` only adds advice to the pages of the block returned.
unsafe impl GlobalAlloc for HugePages {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        advise(p, layout.size());
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        advise(p, layout.size());
        p
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        unsafe { System.dealloc(p, layout) }
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, layout, new_size) };
        advise(q, new_size);
        q
    }
}
