//! Where the pointer scan starts (docs/contracts.md, leak kinds and roots). Shared by every host: the wasmtime host and the JS runtime
//! (through `wasmleak-wasm`) compute roots the same way.

use wasmleak_heap::{RootRegion, RootValue, Roots};
use crate::{Instrumented, ModuleInfo};

/// wasm-ld's default stack size, used to tell static data from the stack when the stack sits above the data.
const DEFAULT_STACK_SIZE: u64 = 64 * 1024;
/// How far below the stack pointer a leaf function may keep its frame without moving it (LLVM's wasm red zone).
const RED_ZONE: u64 = 128;

/// The stack pointer (global index, initial value) of a module whose stack lies above its static data (clang's
/// default layout) and whose static data's end nothing says (no `__data_end`, no Emscripten `__stack_end`): the
/// stack may be larger than wasm-ld's default (`-z stack-size`: Lua and QuickJS need megabytes), and its dead part,
/// below the stack pointer, full of stale pointers from frames that returned, was scanned as static data — a leaked
/// block held there read "reachable", exit 0. The rewrite then keeps the lowest the stack pointer went
/// (`Instrumented::stack_low`), and the static data ends below it.
pub fn needs_low_water(info: &ModuleInfo) -> Option<(u32, u64)> {
    let sp = info.stack_pointer()?;
    let init = info.globals.get(sp as usize)?.init? as u64;
    let stack_end_known = info.globals.iter().any(|g| g.name.as_deref() == Some("__stack_end")) || info.const_global("__data_end").is_some();
    (init > info.static_segments_end() && !stack_end_known && info.globals[sp as usize].mutable).then_some((sp, init))
}

/// Roots (docs/contracts.md, leak kinds and roots): static data up to the heap (not the dead part of the stack), the live part of the
/// shadow stack, mutable globals, and values the host holds.
pub fn roots(
    info: &ModuleInfo,
    instrumented: &Instrumented,
    globals: &[(u32, i64)],
    host: &[(String, u64)],
    lowest_block: Option<u64>,
    mem_len: u64,
) -> Roots {
    let mut r = Roots::default();
    let sp_index = info.stack_pointer();
    let sp_init = sp_index.and_then(|i| info.globals.get(i as usize)?.init).map(|v| v as u64);
    let sp_now = sp_index.and_then(|i| globals.iter().find(|g| g.0 == i)).map(|g| g.1 as u64);
    // A module with no data segment still has its zero-initialised statics (bss) where data would start.
    let (start, seg_end) = (info.static_start(), info.static_segments_end());
    {
        let heap_start = lowest_block.unwrap_or(mem_len);
        // Emscripten sets `__stack_end` (the stack's lowest address) at startup: the exact end of bss.
        let stack_end = info.globals.iter().position(|g| g.name.as_deref() == Some("__stack_end")).and_then(|i| {
            globals.iter().find(|g| g.0 == i as u32).map(|g| g.1 as u64).filter(|&v| v >= seg_end)
        });
        let end = if let Some(e) = info.const_global("__data_end").or(stack_end) {
            e
        } else {
            // The lowest the stack pointer went, less a leaf's red zone: below it, static data (or stack never used).
            let low_water = instrumented.stack_low.and_then(|i| globals.iter().find(|g| g.0 == i)).map(|g| (g.1 as u64).saturating_sub(RED_ZONE));
            match sp_init {
                // Stack above data (clang's default layout): bss runs up to the stack's bottom.
                Some(sp) if sp > seg_end => sp.saturating_sub(DEFAULT_STACK_SIZE).min(low_water.unwrap_or(u64::MAX)).max(seg_end).min(sp),
                // Stack first (rustc's layout) or no stack pointer: bss runs up to the heap.
                _ => info.const_global("__heap_base").unwrap_or(heap_start).max(seg_end),
            }
        };
        // Minus the allocator's own bookkeeping, which holds stale pointers to freed chunks, and read-only
        // data, whose bytes were fixed at link time and so cannot hold a heap pointer (but can look like one).
        let mut holes: Vec<std::ops::Range<u64>> = instrumented.allocator_statics.clone();
        holes.extend(info.data.iter().filter(|d| d.name.as_deref().is_some_and(|n| n.starts_with(".rodata"))).filter_map(
            |d| d.offset.map(|o| o..o + d.len),
        ));
        let end = end.min(mem_len);
        // An allocator over a static array: its arena (found from the code; by DWARF, [`without_static_arena`]).
        holes.extend(lowest_block.and_then(|lo| instrumented.static_bounds.arena(lo, end)));
        holes.sort_by_key(|h| h.start);
        let mut at = start;
        for hole in &holes {
            if hole.end <= at || hole.start >= end {
                continue;
            }
            if hole.start > at {
                r.regions.push(RootRegion { name: "static data".into(), start: at, end: hole.start });
            }
            at = hole.end;
        }
        if at < end {
            r.regions.push(RootRegion { name: "static data".into(), start: at, end });
        }
    }
    if let (Some(now), Some(init)) = (sp_now, sp_init) {
        if now < init {
            r.regions.push(RootRegion { name: "stack".into(), start: now, end: init.min(mem_len) });
        }
    }
    for &(idx, value) in globals {
        // (Globals of ours, `stack_low`, are no program's.)
        let Some(g) = info.globals.get(idx as usize) else { continue };
        if Some(idx) == sp_index || !g.mutable {
            continue; // immutable globals are link-time constants (__heap_base, __data_end), not pointers held
        }
        let name = g.name.clone().map_or_else(|| format!("global {idx}"), |n| format!("global {n}"));
        r.values.push(RootValue { name, value: value as u64, host: false });
    }
    for (name, value) in host {
        r.values.push(RootValue { name: name.clone(), value: *value, host: true });
    }
    r
}

/// An allocator over a static array (TLSF's `static char pool[]`, a Rust `static mut HEAP` under talc or
/// linked_list_allocator, Zig's FixedBufferAllocator): the static variable (`statics`: the module's, by DWARF)
/// that holds the lowest block the allocator handed out is its arena, not a root. Its blocks are scanned as blocks;
/// the rest is the allocator's control and headers (TLSF's free lists and end sentinel point at the header that
/// shares a live block's last word) and freed chunks with stale addresses, which held leaked blocks "reachable from
/// static pool" (allocator survey: exit 0 with a leak). Returns the arena taken out of the root regions.
pub fn without_static_arena(roots: &mut Roots, statics: &[std::ops::Range<u64>], lowest_block: Option<u64>) -> Option<std::ops::Range<u64>> {
    let lo = lowest_block?;
    let arena = statics.iter().filter(|r| r.contains(&lo)).min_by_key(|r| r.end - r.start)?.clone();
    let mut regions = Vec::with_capacity(roots.regions.len() + 1);
    for r in roots.regions.drain(..) {
        if r.end <= arena.start || r.start >= arena.end {
            regions.push(r);
            continue;
        }
        if r.start < arena.start {
            regions.push(RootRegion { name: r.name.clone(), start: r.start, end: arena.start });
        }
        if r.end > arena.end {
            regions.push(RootRegion { name: r.name, start: arena.end, end: r.end });
        }
    }
    roots.regions = regions;
    Some(arena)
}

/// Zero the words of captured root regions that still hold what a data segment put there at instantiation.
/// Those bytes were fixed at link time, before any block existed, so they cannot be a pointer the program
/// stored — but a constant table can contain values that happen to fall inside a heap block (a stripped module
/// has no `.rodata` name to exclude it by).
///
/// The aligned words a segment only partly covers count too, by their bytes inside it: binaryen drops a string's
/// trailing NUL where a segment ends, and the word there is three bytes of text and a zero from past the end —
/// "GES" of musl's "LC_MESSAGES" read 0x00534547, an address in Emscripten's heap, and held every block of a
/// leaked Lua state. A pointer the program stores is a whole aligned word, so it cannot straddle a segment's end
/// with its link-time bytes unchanged.
pub fn mask_link_time_words(info: &ModuleInfo, regions: &mut [wasmleak_heap::SnapRegion]) {
    for r in regions.iter_mut() {
        let r_end = r.start + r.bytes.len() as u64;
        for seg in &info.data {
            let Some(off) = seg.offset else { continue };
            let (lo, hi) = (off.max(r.start), (off + seg.len).min(r_end));
            if lo >= hi {
                continue;
            }
            // Every aligned word of the region that overlaps the segment, by the bytes of it inside both.
            let mut a = lo & !3;
            while a < hi {
                let (from, to) = (a.max(lo), (a + 4).min(hi));
                let (ri, si, n) = ((from - r.start) as usize, (from - off) as usize, (to - from) as usize);
                if r.bytes[ri..ri + n] == seg.init[si..si + n] {
                    r.bytes[ri..ri + n].fill(0);
                }
                a += 4;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::module::DataSegment;
    use wasmleak_heap::SnapRegion;

    /// The static variable the allocator hands blocks out of is taken out of the root regions, whole (TLSF's
    /// control at its start and sentinel at its end held a leaked block "reachable from static pool"); others stay.
    #[test]
    fn a_static_arena_is_no_root() {
        let region = |start, end| RootRegion { name: "static data".into(), start, end };
        let mut roots = Roots { regions: vec![region(0x400, 0x8000), region(0xF000, 0x10000)], values: Vec::new(), opaque: Vec::new() };
        let statics = [0x500..0x600, 0x1000..0x5000, 0x1000..0x9000];
        // The smallest static holding the lowest block.
        assert_eq!(without_static_arena(&mut roots, &statics, Some(0x1040)), Some(0x1000..0x5000));
        assert_eq!(roots.regions, vec![region(0x400, 0x1000), region(0x5000, 0x8000), region(0xF000, 0x10000)]);
        // A heap outside every static: nothing changes.
        assert_eq!(without_static_arena(&mut roots, &statics, Some(0x20000)), None);
        assert_eq!(without_static_arena(&mut roots, &statics, None), None);
        assert_eq!(roots.regions.len(), 3);
    }

    #[test]
    fn words_still_holding_their_initial_value_are_masked() {
        let mut info = ModuleInfo::default();
        let init: Vec<u8> = (1..=16).collect();
        info.data.push(DataSegment { offset: Some(0x100), len: 16, name: None, init: init.clone().into() });
        // The region starts mid-segment and runs past it; the program overwrote the word at 0x108.
        let mut bytes = init[4..].to_vec();
        bytes[4..8].copy_from_slice(&0x2000u32.to_le_bytes());
        bytes.extend_from_slice(&[9, 9, 9, 9]);
        let mut regions = vec![SnapRegion { name: "static data".into(), start: 0x104, bytes }];
        mask_link_time_words(&info, &mut regions);
        let mut want = vec![0u8; 16];
        want[4..8].copy_from_slice(&0x2000u32.to_le_bytes());
        want[12..16].copy_from_slice(&[9, 9, 9, 9]); // past the segment: untouched
        assert_eq!(regions[0].bytes, want);
    }

    /// A segment ending mid-word (binaryen drops a string's trailing NUL): the word's bytes inside it are still
    /// link-time text ("GES", then a zero past the end: 0x00534547, a heap address), masked; a word the program
    /// overwrote is kept.
    #[test]
    fn the_tail_of_a_segment_ending_mid_word_is_masked() {
        let mut info = ModuleInfo::default();
        let init = b"0123456789abGES".to_vec();
        info.data.push(DataSegment { offset: Some(0x400), len: 15, name: None, init: init.clone().into() });
        let mut bytes = init.clone();
        bytes.push(0);
        let mut regions = vec![SnapRegion { name: "static data".into(), start: 0x400, bytes: bytes.clone() }];
        mask_link_time_words(&info, &mut regions);
        assert_eq!(regions[0].bytes, vec![0u8; 16]);
        // The program stored a pointer in the last word (its bytes inside the segment changed): kept.
        bytes[12..16].copy_from_slice(&0x5000u32.to_le_bytes());
        let mut regions = vec![SnapRegion { name: "static data".into(), start: 0x400, bytes }];
        mask_link_time_words(&info, &mut regions);
        assert_eq!(regions[0].bytes[12..16], 0x5000u32.to_le_bytes());
    }
}
