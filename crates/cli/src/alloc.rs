//! wasmleak's own allocator: the system's, with its memory backed by huge pages where the kernel leaves that to
//! the program (transparent huge pages in `madvise` mode, the default of many distributions).
//!
//! Why: the heap at exit of a large run is copied into fresh buffers (the live blocks in address order, their
//! bytes, the analysis' arrays, the snapshot's). Each 4 KiB page of a fresh buffer costs a page fault, ~2 µs on
//! this project's machines: 300,000 live blocks made ~15,000 of them, a fifth of `check`'s time (BENCHMARKS.md).
//! A 2 MiB page costs one. The guest's own memory is wasmtime's (mapped by wasmtime, never allocated here) and
//! is left as it is, so the guest runs as it would without wasmleak.
//!
//! glibc's allocator takes its memory three ways, each advised once, when first seen: blocks of 4 MiB and more
//! mapped on their own (their 2 MiB-aligned interior); the main arena's heap, grown by `brk` in steps of
//! `TOP_PAD` (each new part of it); the arenas of other threads, 64 MiB regions aligned to their size (the whole
//! region). What glibc does with `GLIBC_TUNABLES=glibc.malloc.hugetlb=1`, which a program cannot set for itself.

use std::alloc::{GlobalAlloc, Layout, System};

/// Blocks from this size up have their 2 MiB-aligned interior advised.
const LARGE: usize = 4 << 20;
/// Blocks from this size up have the region they came from advised, when it is new: smaller ones reach a new
/// region's untouched pages too slowly to matter, and are most of the calls.
const REGION: usize = 4 << 10;

pub struct HugePages;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod glibc {
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// How far the main arena's heap grows at a time: a large step keeps most of each new part untouched until
    /// advised (glibc writes only the next chunk's header into it before the advice).
    const TOP_PAD: usize = 64 << 20;
    /// glibc's `HEAP_MAX_SIZE` on 64-bit targets: a non-main arena's heap is reserved at this size and alignment.
    const HEAP_MAX: usize = 64 << 20;
    /// glibc's chunk header bits, in the word before a block: mapped on its own; from a non-main arena.
    const IS_MMAPPED: usize = 0x2;
    const NON_MAIN_ARENA: usize = 0x4;

    /// The end of the main arena's heap as last advised.
    static BRK: AtomicUsize = AtomicUsize::new(0);
    /// Non-main arena heaps advised (their bases); a few threads allocate, so a few are enough.
    static HEAPS: [AtomicUsize; 32] = [const { AtomicUsize::new(0) }; 32];

    pub fn init() {
        // SAFETY: mallopt only changes the allocator's parameters.
        unsafe { libc::mallopt(libc::M_TOP_PAD, TOP_PAD as libc::c_int) };
    }

    /// Advise the memory of the region glibc took block `p` from, the first time it is seen.
    pub fn advise_region(p: *mut u8) {
        if p.is_null() {
            return;
        }
        // SAFETY: every block glibc returns is preceded by its chunk's size word.
        let size_word = unsafe { (p as *const usize).sub(1).read() };
        if size_word & IS_MMAPPED != 0 {
            return;
        }
        if size_word & NON_MAIN_ARENA != 0 {
            let base = p as usize & !(HEAP_MAX - 1);
            for slot in &HEAPS {
                match slot.compare_exchange(0, base, Ordering::Relaxed, Ordering::Relaxed) {
                    Ok(_) => {
                        wasmleak_host::huge_pages(base as *mut u8, HEAP_MAX);
                        return;
                    }
                    Err(b) if b == base => return,
                    Err(_) => {}
                }
            }
            return;
        }
        // SAFETY: sbrk(0) only reads the current break.
        let end = unsafe { libc::sbrk(0) } as usize;
        let advised = BRK.load(Ordering::Relaxed);
        if end > advised && BRK.compare_exchange(advised, end, Ordering::Relaxed, Ordering::Relaxed).is_ok() {
            let from = if advised == 0 { p as usize } else { advised };
            wasmleak_host::huge_pages(from as *mut u8, end - from);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod glibc {
    pub fn init() {}
    pub fn advise_region(_: *mut u8) {}
}

/// Set the allocator's parameters; before anything large is allocated.
pub fn init() {
    glibc::init();
}

fn advise(p: *mut u8, size: usize) {
    if size >= LARGE {
        wasmleak_host::huge_pages(p, size);
    } else if size >= REGION {
        glibc::advise_region(p);
    }
}

// SAFETY: every call is the system allocator's; `advise` only adds advice to the pages of the region the block
// came from, and reads the word glibc keeps before it.
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
