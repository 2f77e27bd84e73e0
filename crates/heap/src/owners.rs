//! The owner that dropped a block: a lost block's address found in a block that was freed.
//!
//! When an owner is freed without freeing what it points to (a C++ class without the destructor that
//! deletes its `new`ed member, a `std::vector<T*>` destroyed without deleting its elements, a Rust `Drop` that
//! forgets a `Box::into_raw` pointer), the member becomes lost — and the owner's memory usually still holds
//! its address. Two places are looked at:
//! - the first words of every freed block ([`crate::HEAD_WORDS`]), read by the host just before the allocator
//!   ran: allocators write their free-list links there (dlmalloc: 8 bytes, 24 for chunks of 256 bytes and
//!   more) and may hand the memory out again at once, and that is where a struct keeps its first members;
//! - the rest of the freed memory not handed out again, scanned at the end: a freed block's bytes, less what
//!   live blocks carved out of it since cover; a word pointing into a block counts, as in the pointer scan.
//!
//! Of all the freed blocks that held a block's address, the one freed last is its owner, and only one freed
//! after the block was allocated can be (an older one held an earlier block at the same address).

use crate::analysis::{Memory, Roots};
use crate::model::Block;
use crate::stacks::StackId;

/// A freed block that held the address of a live block when it was freed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Owner {
    /// The live block it held (the address of its start).
    pub block: u64,
    /// The freed block's address, and the byte offset in it of the word that held `block`.
    pub owner: u64,
    pub offset: u64,
    pub alloc_stack: StackId,
    pub free_stack: StackId,
    /// Sequence number of the free (see [`Block::seq`]).
    pub free_seq: u64,
}

/// The last block freed at an address: `[start, end)` were its bytes (`start` is `owner`). Live blocks carved
/// out of them since, and root regions, are left out when [`owners`] scans them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FreedRegion {
    pub owner: u64,
    pub start: u64,
    pub end: u64,
    pub alloc_stack: StackId,
    pub free_stack: StackId,
    pub free_seq: u64,
}

/// What the model knows of freed blocks, for [`owners`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Freed {
    /// Sorted by address; they may overlap (memory freed, handed out again from a lower address, freed again).
    pub regions: Vec<FreedRegion>,
    /// The latest freed block whose first words held each live block's address.
    pub held: Vec<Owner>,
}

/// For every live block (`blocks`, sorted by address) whose address a freed block held, the owner freed last,
/// sorted by `block`. `mem` is the memory now; `roots`' regions (static data, stacks) are never freed memory.
pub fn owners(blocks: &[Block], freed: &Freed, mem: Memory<'_>, roots: &Roots) -> Vec<Owner> {
    let (Some(first), Some(last)) = (blocks.first(), blocks.last()) else { return Vec::new() };
    if freed.held.is_empty() && freed.regions.is_empty() {
        return Vec::new();
    }
    let mut best: rustc_hash::FxHashMap<usize, Owner> = Default::default();
    let mut offer = |i: usize, o: Owner| {
        if o.free_seq > blocks[i].seq && best.get(&i).is_none_or(|b| b.free_seq < o.free_seq) {
            best.insert(i, o);
        }
    };
    for h in &freed.held {
        if let Ok(i) = blocks.binary_search_by_key(&h.block, |b| b.addr) {
            offer(i, *h);
        }
    }
    // The freed memory to scan: each freed block's bytes less what live blocks (carved out of it since) and
    // root regions cover. Where two freed blocks overlap, both are scanned: the one freed last wins.
    let mut pieces: Vec<(u64, u64, &FreedRegion)> = Vec::new();
    let mut in_the_way: Vec<(u64, u64)> = Vec::new();
    for r in &freed.regions {
        let end = r.end.min(mem.bytes.len() as u64);
        in_the_way.clear();
        let k = blocks.partition_point(|b| b.addr + b.size.max(1) <= r.start);
        in_the_way.extend(blocks[k..].iter().take_while(|b| b.addr < end).map(|b| (b.addr, b.addr + b.size.max(1))));
        in_the_way.extend(roots.regions.iter().filter(|g| g.start < end && r.start < g.end).map(|g| (g.start, g.end)));
        in_the_way.sort_unstable();
        let mut at = r.start;
        for &(s, e) in &in_the_way {
            if s > at {
                pieces.push((at.next_multiple_of(4), s, r));
            }
            at = at.max(e);
        }
        if at < end {
            pieces.push((at.next_multiple_of(4), end, r));
        }
    }
    pieces.retain(|p| p.0 < p.1);
    // A word that points into a live block, at its start or inside it (allocators with a header hand out
    // pointers past it: SQLite's are 8 bytes into the malloc block), as the pointer scan counts them.
    let (lo, hi) = (first.addr, last.addr + last.size.max(1));
    let containing = |v: u64| {
        let i = blocks.partition_point(|b| b.addr <= v).checked_sub(1)?;
        (v < blocks[i].addr + blocks[i].size.max(1)).then_some(i)
    };
    for (start, end, r) in pieces {
        for (k, w) in mem.bytes[start as usize..end as usize].chunks_exact(4).enumerate() {
            let v = u32::from_le_bytes(w.try_into().unwrap()) as u64;
            if v < lo || v >= hi {
                continue;
            }
            if let Some(i) = containing(v) {
                let at = start + 4 * k as u64;
                let o = Owner {
                    block: blocks[i].addr,
                    owner: r.owner,
                    offset: at - r.owner,
                    alloc_stack: r.alloc_stack,
                    free_stack: r.free_stack,
                    free_seq: r.free_seq,
                };
                offer(i, o);
            }
        }
    }
    let mut found: Vec<Owner> = best.into_values().collect();
    found.sort_unstable_by_key(|o| o.block);
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::HeapModel;
    use crate::stacks::{RawFrame, StackTable};

    fn put(mem: &mut [u8], at: usize, v: u32) {
        mem[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }

    fn find(m: &HeapModel, mem: &[u8]) -> Vec<(u64, u64, u64, StackId, StackId)> {
        let owners = owners(&m.live_sorted(), &m.freed(), Memory { bytes: mem }, &Roots::default());
        owners.iter().map(|o| (o.block, o.owner, o.offset, o.alloc_stack, o.free_stack)).collect()
    }

    fn stacks() -> [StackId; 3] {
        let mut t = StackTable::default();
        [1, 2, 3].map(|f| t.intern(&[RawFrame { func: f, offset: 0 }]))
    }

    /// The first words, read before the allocator overwrote them, name the owner; the freed memory does
    /// not have to.
    #[test]
    fn first_words_at_free_time() {
        let [s1, s2, s3] = stacks();
        let mut m = HeapModel::new();
        let mut mem = vec![0u8; 1024];
        m.alloc(100, 8, s1); // the owner
        m.alloc(200, 16, s3); // its member
        m.alloc(300, 4, s3); // what its second word points at
        m.free_with_head(100, s2, [200, 300, 0, 0]);
        put(&mut mem, 100, 0xdead); // the allocator's free list now
        assert_eq!(find(&m, &mem), vec![(200, 100, 0, s1, s2), (300, 100, 4, s1, s2)]);
        // Freed, a held block is no longer anyone's; a 4-byte owner's second word is not its own.
        m.free(200, s2);
        m.alloc(400, 4, s1);
        m.alloc(500, 8, s1);
        m.free_with_head(400, s3, [500, 500, 500, 500]);
        assert_eq!(find(&m, &mem), vec![(300, 100, 4, s1, s2), (500, 400, 0, s1, s3)]);
    }

    /// A pointer into a block counts, as in the pointer scan: an allocator with a header (SQLite's) hands out
    /// addresses 8 bytes into the malloc block.
    #[test]
    fn interior_pointers_in_freed_memory() {
        let [s1, s2, s3] = stacks();
        let mut m = HeapModel::new();
        let mut mem = vec![0u8; 1024];
        m.alloc(100, 32, s1); // the owner
        m.alloc(600, 40, s3); // the member, handed out as 608
        put(&mut mem, 112, 608);
        m.free(100, s2);
        assert_eq!(find(&m, &mem), vec![(600, 100, 12, s1, s2)]);
    }

    /// Freed memory past the first words is scanned up to the freed block's size; the owner freed last wins,
    /// and one freed before the block was allocated held an earlier block.
    #[test]
    fn freed_memory_at_the_end() {
        let [s1, s2, s3] = stacks();
        let mut m = HeapModel::new();
        let mut mem = vec![0u8; 1024];
        m.alloc(100, 32, s1); // owner A
        m.alloc(200, 32, s2); // owner B
        m.alloc(600, 8, s3); // the member, at 600
        put(&mut mem, 116, 600);
        put(&mut mem, 220, 600);
        m.free(100, s2);
        m.free(200, s3); // B freed last
        assert_eq!(find(&m, &mem), vec![(600, 200, 20, s2, s3)]);
        // A block at 700 that both held, but allocated after they were freed: a stale word, no owner.
        m.alloc(700, 8, s3);
        put(&mut mem, 124, 700);
        assert_eq!(find(&m, &mem).len(), 1);
        // A live block carved out below B's address covers B's memory: that word is the new block's.
        m.alloc(190, 40, s1);
        assert_eq!(find(&m, &mem), vec![(600, 100, 16, s1, s2)]);
        // Past a freed block's size lies an older block's memory: no owner known.
        m.alloc(900, 8, s3);
        m.alloc(800, 8, s1);
        put(&mut mem, 812, 900);
        m.free(800, s2);
        assert_eq!(find(&m, &mem).len(), 1);
        put(&mut mem, 804, 900);
        assert_eq!(find(&m, &mem)[1], (900, 800, 4, s1, s2));
        // Root regions are never freed memory.
        let roots = Roots { regions: vec![crate::RootRegion { name: "data".into(), start: 112, end: 120 }], values: vec![], opaque: Vec::new() };
        let found = owners(&m.live_sorted(), &m.freed(), Memory { bytes: &mem }, &roots);
        assert_eq!(found.iter().map(|o| o.block).collect::<Vec<_>>(), vec![900]);
    }
}
