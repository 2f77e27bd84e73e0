//! Block sizes from dlmalloc's chunk headers, where code the hooks do not see resized a block in place.
//!
//! wasm-opt inlines a function with one call site whatever its size: a program that calls `realloc` from one
//! place gets dlmalloc's realloc inside that caller, and no realloc is left to hook. Its moves go through the
//! hooked malloc and free, but a block grown or shrunk in place keeps the size the model recorded: the scan then
//! missed the pointers written past the old end (the blocks they point to read "lost": a false leak), or read
//! past a shrunk block's end into the block allocated there since (a real leak read "reachable", exit 0).
//! dlmalloc's chunk says the size: `head`, the word before the block, is the chunk's size with the in-use bit
//! (2) set, and the next chunk's `head` has its previous-in-use bit (1) set; what the program may use of it is
//! the chunk size less 4 (`malloc_usable_size`). A header that is not so consistent is left alone.

use crate::analysis::Memory;
use crate::model::Block;

/// A block's usable size beyond its recorded size by more than this is a block grown in place: dlmalloc's own
/// slack (padding to 8 bytes, 16-byte chunks at least, a remainder too small to split off) stays below it.
const GROWN_BY: u64 = 24;

/// Resize the live `blocks` (sorted by address) whose chunk header says they were resized in place: smaller
/// than recorded (shrunk), or larger by more than dlmalloc's slack (grown). Their size is then the chunk's
/// usable size. Returns how many were resized.
pub fn chunk_sizes(blocks: &mut [Block], mem: Memory<'_>) -> usize {
    // A host waits for this at exit: many blocks are read on two cores (each half reads the chunk headers of its
    // own blocks, which are cache misses; 300,000 blocks took ~2 ms on one).
    let (n, mid) = (blocks.len(), blocks.len() / 2);
    let next = blocks.get(mid).map_or(u64::MAX, |b| b.addr);
    let (low, high) = blocks.split_at_mut(mid);
    let (a, b) = crate::both_for(n, || chunk_sizes_before(low, next, mem), || chunk_sizes_before(high, u64::MAX, mem));
    a + b
}

/// [`chunk_sizes`] of consecutive blocks, the next one (if any) at `next_after`.
fn chunk_sizes_before(blocks: &mut [Block], next_after: u64, mem: Memory<'_>) -> usize {
    let word = |at: u64| -> Option<u32> {
        let at = usize::try_from(at).ok()?;
        Some(u32::from_le_bytes(mem.bytes.get(at..at.checked_add(4)?)?.try_into().ok()?))
    };
    let mut resized = 0;
    for i in 0..blocks.len() {
        let b = blocks[i];
        if b.addr % 8 != 0 || b.addr < 8 {
            continue;
        }
        let Some(head) = word(b.addr - 4) else { continue };
        let chunk = (head & !7) as u64;
        // In use, at least a minimal chunk, and the next chunk says its predecessor is in use.
        if head & 2 == 0 || chunk < 16 || word(b.addr - 8 + chunk + 4).is_none_or(|next| next & 1 == 0) {
            continue;
        }
        let usable = chunk - 4;
        let next = blocks.get(i + 1).map_or(next_after, |n| n.addr);
        if b.addr + usable > next {
            continue;
        }
        if usable < b.size || usable > b.size + GROWN_BY {
            blocks[i].size = usable;
            resized += 1;
        }
    }
    resized
}

/// The report's note when `n` live blocks at the end were resized so.
pub fn resized_note(n: usize) -> String {
    format!(
        "{n} live block(s) were resized in place by code the hooks do not see (wasm-opt inlines a `realloc` with one \
         call site into its caller): their sizes are read from the allocator's chunk headers, as malloc_usable_size \
         says — a few bytes above what was asked"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stacks::StackId;

    /// A heap image with chunks laid out as dlmalloc lays them: `(address of the block, chunk size, in use)`.
    fn heap(chunks: &[(u64, u32, bool)]) -> Vec<u8> {
        let mut mem = vec![0u8; 4096];
        let mut prev_in_use = true;
        for &(addr, size, used) in chunks {
            let head = size | if used { 2 } else { 0 } | if prev_in_use { 1 } else { 0 };
            mem[addr as usize - 4..addr as usize].copy_from_slice(&head.to_le_bytes());
            prev_in_use = used;
        }
        mem
    }

    fn block(addr: u64, size: u64) -> Block {
        Block { addr, size, seq: 0, stack: StackId(0) }
    }

    #[test]
    fn grown_and_shrunk_blocks_take_their_chunk_size() {
        // 1024: recorded 8, grown in place to a 264-byte chunk; 1288: recorded 100, its chunk 104 (slack);
        // 1392: recorded 200, shrunk to a 32-byte chunk (the rest a free chunk, then a block allocated there).
        let mem = heap(&[(1024, 264, true), (1288, 104, true), (1392, 32, true), (1424, 40, false), (1464, 16, true), (1480, 16, true)]);
        let mut blocks = vec![block(1024, 8), block(1288, 100), block(1392, 200), block(1464, 12)];
        assert_eq!(chunk_sizes(&mut blocks, Memory { bytes: &mem }), 2);
        assert_eq!(blocks.iter().map(|b| b.size).collect::<Vec<_>>(), vec![260, 100, 28, 12]);
    }

    #[test]
    fn inconsistent_headers_are_left_alone() {
        // Not in use; the next chunk not saying "previous in use"; a chunk reaching past the next block.
        let mut mem = heap(&[(1024, 264, true), (1288, 16, true)]);
        mem[1020] &= !2;
        let mut blocks = vec![block(1024, 8)];
        assert_eq!(chunk_sizes(&mut blocks, Memory { bytes: &mem }), 0);
        let mut mem = heap(&[(1024, 264, true), (1288, 16, false)]);
        mem[1284] &= !1;
        assert_eq!(chunk_sizes(&mut blocks, Memory { bytes: &mem }), 0);
        let mem = heap(&[(1024, 264, true), (1288, 16, true)]);
        let mut blocks = vec![block(1024, 8), block(1100, 8)];
        assert_eq!(chunk_sizes(&mut blocks, Memory { bytes: &mem }), 0);
        assert_eq!(blocks[0].size, 8);
    }

    /// Many blocks are read on two threads, each half on its own: the results are those of one pass over all,
    /// across the split too (the last block of the first half, whose chunk header reaches past the first block
    /// of the second, is left alone).
    #[test]
    fn many_blocks_read_in_halves_as_in_one_pass() {
        let n = crate::TWO_THREADS + 10;
        let mut chunks = Vec::new();
        let mut at = 1024u64;
        for k in 0..n {
            let grown = k % 7 == 0;
            chunks.push((at, if grown { 64u32 } else { 32 }, true));
            at += if grown { 64 } else { 32 };
        }
        let mut mem = vec![0u8; at as usize + 64];
        let mut prev_in_use = true;
        for &(addr, size, used) in &chunks {
            let head = size | if used { 2 } else { 0 } | if prev_in_use { 1 } else { 0 };
            mem[addr as usize - 4..addr as usize].copy_from_slice(&head.to_le_bytes());
            prev_in_use = used;
        }
        let mut blocks: Vec<Block> = chunks.iter().map(|&(addr, _, _)| block(addr, 20)).collect();
        // The split falls at n / 2: the block before it claims a chunk reaching past the next block.
        let last_low = n / 2 - 1;
        let head = 4096u32 | 2 | 1;
        let a = blocks[last_low].addr as usize;
        mem[a - 4..a].copy_from_slice(&head.to_le_bytes());
        let mut one_pass = blocks.clone();
        let want = chunk_sizes_before(&mut one_pass, u64::MAX, Memory { bytes: &mem });
        assert_eq!(chunk_sizes(&mut blocks, Memory { bytes: &mem }), want);
        assert_eq!(blocks, one_pass);
        assert_eq!(blocks[last_low].size, 20);
        assert_eq!((blocks[0].size, blocks[1].size), (60, 20));
    }
}
