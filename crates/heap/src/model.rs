use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::owners::{Freed, FreedRegion, Owner};
use crate::profile::{AllocProfile, ProfileCounters};
use crate::stacks::{StackId, StackTable};

/// A live heap block: what the program asked the allocator for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Block {
    pub addr: u64,
    /// Requested size (malloc's argument, `Layout::size`), not the allocator's chunk size — except where code the
    /// hooks do not see resized the block in place ([`crate::chunk_sizes`]: then its chunk's usable size).
    pub size: u64,
    /// Sequence number of the event that created the block (alloc or realloc); events are numbered from 0
    /// in the order the hooks fired, frees included (not `free(NULL)`, which does nothing): with the address,
    /// what tells one block from a later one at the same address in another snapshot.
    pub seq: u64,
    pub stack: StackId,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvalidFreeKind {
    /// The address was a block that had already been freed (and not reallocated since).
    Double,
    /// The address was never returned by the allocator (or points inside a block).
    Invalid,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidFree {
    pub kind: InvalidFreeKind,
    pub addr: u64,
    /// Sequence number of the bad free event.
    pub seq: u64,
    pub stack: StackId,
    /// For double frees: the block's allocation and its first free; for an interior pointer, the block's
    /// allocation.
    pub alloc_stack: StackId,
    pub first_free_stack: StackId,
    /// An invalid free of an address inside a live block: (offset into it, its size).
    pub interior: Option<(u64, u64)>,
}

/// `Slot::c` of an address whose last block was freed (the rest of it is then the block's size).
const FREED_BIT: u32 = 1 << 31;
/// The stack in `Slot::c`: the id + 1, so that `StackId::NONE` is 0 and the flag stays clear.
const STACK_BITS: u32 = FREED_BIT - 1;

fn pack(stack: StackId) -> u32 {
    debug_assert!(stack.is_none() || stack.0 < STACK_BITS - 1, "2^31 distinct stacks");
    stack.0.wrapping_add(1) & STACK_BITS
}

fn unpack(c: u32) -> StackId {
    StackId((c & STACK_BITS).wrapping_sub(1))
}

/// What the model keeps per address the allocator ever returned, in 12 bytes (with its 4-byte key, 16 a
/// table entry): the live block there, or the last block freed there, so a second free of the address can be
/// told from an invalid one, and freed memory can name the block it belonged to. Addresses and sizes are
/// 32-bit (the instrumenter refuses memory64).
#[derive(Clone, Copy, Debug)]
struct Slot {
    /// Live: the low 32 bits of the block's sequence number (see [`HeapModel::full_seq`]). Freed: its
    /// (allocation stack, free stack) pair, interned (`HeapModel::pairs`).
    a: u32,
    /// Live: the requested size. Freed: the low 32 bits of the free's sequence number.
    size: u32,
    /// Live: the allocation stack ([`pack`]). Freed: [`FREED_BIT`] and the size (up to 2³¹ − 1;
    /// 0 for the old block of a realloc, whose contents moved).
    c: u32,
}

impl Slot {
    fn is_live(&self) -> bool {
        self.c & FREED_BIT == 0
    }
}

/// Words at the start of a freed block the hosts read before the allocator runs (it writes its free lists
/// over the first 8 bytes, and may hand the memory out again at once): a struct's first members.
pub const HEAD_WORDS: usize = 4;

/// A block freed while its first words held the address of a live block: read by the host just before the
/// allocator ran, so the freed owner of a lost block is found even when its memory no longer says so.
#[derive(Clone, Copy, Debug)]
struct Held {
    /// The address it held.
    block: u32,
    owner: u32,
    offset: u32,
    alloc_stack: StackId,
    free_stack: StackId,
    free_seq: u64,
}

/// Interned (allocation stack, free stack) pairs: a freed slot has room for one number, and frees repeat a
/// few pairs (the last one is looked up first).
#[derive(Default, Debug, Clone)]
struct Pairs {
    list: Vec<(StackId, StackId)>,
    ids: rustc_hash::FxHashMap<(StackId, StackId), u32>,
    last: Option<(StackId, StackId, u32)>,
}

impl Pairs {
    fn id(&mut self, alloc: StackId, free: StackId) -> u32 {
        if let Some((a, f, id)) = self.last {
            if (a, f) == (alloc, free) {
                return id;
            }
        }
        let next = self.list.len() as u32;
        let id = *self.ids.entry((alloc, free)).or_insert(next);
        if id == next {
            self.list.push((alloc, free));
        }
        self.last = Some((alloc, free, id));
        id
    }
}

/// Every address the allocator ever returned, by 64 KiB page of the 32-bit address space: a small table per page,
/// keyed by the address's low 16 bits. One table for the whole heap cost a growing heap a move of every slot into
/// fresh pages at each doubling (tables of 1, 2 and 4 MB before the 9 MB one of 300,000 blocks) and a sort of
/// them all at exit; a page's table grows in the cache, and the live blocks come out in address order page by
/// page, each page's sorted on its own (`examples/model_bench growing`/`sorted`, BENCHMARKS.md session 25).
#[derive(Default, Debug, Clone)]
struct Slots {
    /// Per page of the address space, its table's index in `tables` + 1 (0: no slot there). Allocated zeroed at
    /// the first insert: 256 KB of address space, of which the pages touched are those of the heap's pages.
    page_of: Vec<u32>,
    /// The tables, in the order their pages were first used, with the page's number.
    tables: Vec<(u32, PageSlots)>,
}

type PageSlots = HashMap<u16, Slot, BuildHasherDefault<OffsetHasher>>;

/// Addresses per page of [`Slots`] (64 KiB).
const PAGE_BITS: u32 = 16;

impl Slots {
    fn table(&self, addr: u32) -> Option<&PageSlots> {
        let t = *self.page_of.get((addr >> PAGE_BITS) as usize)?;
        (t != 0).then(|| &self.tables[t as usize - 1].1)
    }

    fn table_mut(&mut self, addr: u32) -> Option<&mut PageSlots> {
        let t = *self.page_of.get((addr >> PAGE_BITS) as usize)?;
        (t != 0).then(|| &mut self.tables[t as usize - 1].1)
    }

    fn get(&self, addr: &u32) -> Option<&Slot> {
        self.table(*addr)?.get(&(*addr as u16))
    }

    fn get_mut(&mut self, addr: &u32) -> Option<&mut Slot> {
        self.table_mut(*addr)?.get_mut(&(*addr as u16))
    }

    fn insert(&mut self, addr: u32, slot: Slot) -> Option<Slot> {
        if self.page_of.is_empty() {
            self.page_of = vec![0; 1 << (32 - PAGE_BITS)];
        }
        let page = (addr >> PAGE_BITS) as usize;
        if self.page_of[page] == 0 {
            // As many slots as the page used before this one: a heap grows page after page with blocks alike, and
            // a table sized at once is not rehashed on the way (a fifth of a growing heap's time).
            let like = self.tables.last().map_or(0, |(_, t)| t.len());
            self.tables.push((page as u32, PageSlots::with_capacity_and_hasher(like, Default::default())));
            self.page_of[page] = self.tables.len() as u32;
        }
        self.tables[self.page_of[page] as usize - 1].1.insert(addr as u16, slot)
    }

    fn remove(&mut self, addr: &u32) -> Option<Slot> {
        self.table_mut(*addr)?.remove(&(*addr as u16))
    }

    /// Every slot, by page in the order pages were first used (not in address order).
    fn iter(&self) -> impl Iterator<Item = (u32, &Slot)> + '_ {
        self.tables.iter().flat_map(|(page, t)| t.iter().map(move |(&low, s)| (page << PAGE_BITS | low as u32, s)))
    }

    /// The tables in address order.
    fn pages_in_order(&self) -> impl Iterator<Item = (u32, &PageSlots)> + '_ {
        let mut order: Vec<u32> = self.tables.iter().map(|(page, _)| *page).collect();
        order.sort_unstable();
        order.into_iter().map(move |page| (page, &self.tables[self.page_of[page as usize] as usize - 1].1))
    }

    /// Bytes of the tables (buckets × (entry + control byte), as hashbrown lays them out) and the 4 KiB pages of the
    /// page index that have an entry (the rest was never touched).
    fn memory_bytes(&self) -> usize {
        let mut index_pages: Vec<u32> = self.tables.iter().map(|(page, _)| page / 1024).collect();
        index_pages.sort_unstable();
        index_pages.dedup();
        index_pages.len() * 4096 + self.tables.iter().map(|(_, t)| table_bytes::<u16, Slot>(t.capacity())).sum::<usize>()
    }
}

/// What hashbrown allocates for a table of this capacity: it keeps 1/8 of its buckets free, a power of two
/// buckets, each an entry and a control byte, plus one control group.
fn table_bytes<K, V>(cap: usize) -> usize {
    let buckets = if cap == 0 { 0 } else if cap < 8 { (cap + 1).next_power_of_two() } else { (cap * 8 / 7).next_power_of_two() };
    buckets * (std::mem::size_of::<(K, V)>() + 1) + 16
}

/// The offset of an address in its 64 KiB page: the bucket is the offset in 8-byte units, its low 3 bits above
/// (blocks allocated one after another land in neighbouring buckets, and 8-aligned blocks fill them all); the top
/// 7 bits, hashbrown's tag within a group, are a full mix.
#[derive(Default, Clone, Copy)]
struct OffsetHasher(u64);

impl Hasher for OffsetHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, _: &[u8]) {
        unreachable!("only offsets are hashed")
    }
    fn write_u16(&mut self, v: u16) {
        let v = v as u64;
        self.0 = (v >> 3 | (v & 7) << 13) | (v.wrapping_mul(0x9E37_79B9_7F4A_7C15) & (0x7F << 57));
    }
}

/// Addresses (the full sequence numbers of the oldest live blocks): a multiply whose high half is folded into the
/// low bits hashbrown takes its buckets from (an aligned address leaves the product's low bits zero); far cheaper
/// than SipHash.
#[derive(Default, Clone, Copy)]
pub(crate) struct AddrHasher(u64);

impl Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u32(&mut self, v: u32) {
        let h = (v as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = h ^ (h >> 32);
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (v ^ (v >> 29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type AddrMap<V> = HashMap<u32, V, BuildHasherDefault<AddrHasher>>;

/// Live blocks by address, fed by allocator events in program order.
#[derive(Default, Debug, Clone)]
pub struct HeapModel {
    pub stacks: StackTable,
    /// Every address the allocator ever returned: the live block there, or the last block freed there.
    /// One table lookup an event, in its page's table (this is the hot path of a tracked run).
    slots: Slots,
    /// Full sequence numbers of the live blocks older than 2³¹ events, which their slot's 32 bits no longer
    /// tell (filled every 2³¹ events; empty in all but very long runs).
    old_seqs: AddrMap<u64>,
    /// The (allocation stack, free stack) pairs of freed slots.
    pairs: Pairs,
    /// The highest address the allocator returned: with `lowest_block`, what a word must be within to be a
    /// block's address.
    highest_block: u64,
    /// Freed blocks whose first words held addresses, as they were freed: appended, not looked up (a free
    /// costs no search), and checked at the end — the block at the address then is the one held only if it was
    /// allocated before the free. Cleared of stale entries when it doubles (`held_limit`).
    held: Vec<Held>,
    held_limit: usize,
    live: usize,
    pub invalid_frees: Vec<InvalidFree>,
    /// Total allocation events (realloc to a new size counts as one allocation and one free).
    pub allocations: u64,
    pub frees: u64,
    /// Next event sequence number.
    pub seq: u64,
    /// Lowest address the allocator ever returned: a fallback end for the static-data root region.
    pub lowest_block: Option<u64>,
    /// Allocations at an address that was still a live block (see `insert`).
    pub reissued: u64,
    profile: ProfileCounters,
}

impl HeapModel {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn alloc(&mut self, addr: u64, size: u64, stack: StackId) {
        let seq = self.bump();
        if addr == 0 {
            return; // allocation failure
        }
        self.insert(addr, size, seq, stack);
    }

    /// A free. `free(NULL)` does nothing and is no event: it takes no sequence number (the buffered hooks never
    /// record one, so `--stacks walk`, which reports every call, numbers events as they do).
    pub fn free(&mut self, addr: u64, stack: StackId) {
        if addr == 0 {
            return;
        }
        let seq = self.bump();
        self.remove_as(addr, seq, stack, true, None);
    }

    /// A free, with the block's first [`HEAD_WORDS`] 4-byte words as they were before the allocator ran: where
    /// the model looks for the live blocks this one owned (see [`crate::owners`]).
    pub fn free_with_head(&mut self, addr: u64, stack: StackId, head: [u32; HEAD_WORDS]) {
        if addr == 0 {
            return;
        }
        let seq = self.bump();
        self.remove_as(addr, seq, stack, true, Some(head));
    }

    /// `realloc(old, size) -> new`. `new == 0` with `size > 0` is a failure and leaves `old` alone;
    /// `old == 0` is a plain allocation; `size == 0` with `new == 0` frees `old`. `new == old` where no block
    /// lives is nothing: a resize in place that the allocator answered without looking at the pointer, which an
    /// optimised caller may leave undefined (Zig's `Allocator.resize`: `Role::ZigResize`); checked reallocs never
    /// get here with a pointer that is not a block.
    pub fn realloc(&mut self, old: u64, new: u64, size: u64, stack: StackId) {
        let seq = self.bump();
        if new == 0 {
            if size == 0 && old != 0 {
                self.remove_as(old, seq, stack, true, None);
            }
            return;
        }
        if old != 0 && !self.remove_live(old, seq, stack, false, None) {
            if new == old {
                return;
            }
            self.record_invalid(old, seq, stack);
        }
        self.insert(new, size, seq, stack);
    }

    /// The live block at `from` is at `to` now, `size` bytes: moved by the allocator itself, not by the program
    /// (dlmalloc's aligned allocation inlined into a caller takes a larger block from the hooked malloc, gives its
    /// leading part back and hands out an aligned block inside it; hosts see that split at the next event:
    /// js/src/tracker.mjs `settle`, crates/host `split_chunks`). The same block — sequence number and stack — so no allocation or
    /// free is counted. Nothing happens unless `from` is live and `to` is not.
    pub fn moved(&mut self, from: u64, to: u64, size: u64) {
        let (from, to) = (from as u32, to as u32);
        let Some(slot) = self.slots.get(&from).copied().filter(Slot::is_live) else { return };
        if self.slots.get(&to).is_some_and(Slot::is_live) {
            return;
        }
        self.slots.remove(&from);
        let size = size.min(u32::MAX as u64) as u32;
        self.profile.resize(from, to, slot.size as u64, size as u64, unpack(slot.c));
        self.slots.insert(to, Slot { size, ..slot });
        if let Some(seq) = self.old_seqs.remove(&from) {
            self.old_seqs.insert(to, seq);
        }
        self.lowest_block = Some(self.lowest_block.map_or(to as u64, |l| l.min(to as u64)));
        self.highest_block = self.highest_block.max(to as u64);
    }

    /// Give the live block at `addr` its allocation stack, when a host resolves stacks lazily (the JS runtime
    /// captures them at allocation but symbolizes only blocks still live at a snapshot). Not an event.
    pub fn set_stack(&mut self, addr: u64, stack: StackId) -> bool {
        match self.slots.get_mut(&(addr as u32)) {
            Some(s) if s.is_live() => {
                let from = unpack(s.c);
                s.c = (s.c & !STACK_BITS) | pack(stack);
                self.profile.restack(s.size as u64, from, stack);
                true
            }
            _ => false,
        }
    }

    pub fn live_blocks(&self) -> impl Iterator<Item = Block> + '_ {
        self.slots.iter().filter(|(_, s)| s.is_live()).map(|(a, s)| self.block(a, s))
    }

    /// Live blocks sorted by address (what the analysis wants): page by page, a crowded page's by a counting sort
    /// of their offsets (a bitmap of the page's addresses) rather than a sort of the blocks: 300,000 live blocks,
    /// on the critical path of `check`'s heap at exit, 13 → 7–9 ms (`model_bench sorted` 26 → 19 ns a block).
    pub fn live_sorted(&self) -> Vec<Block> {
        /// Fewer blocks on a page than this are sorted: the bitmap's 1,024 words cost more.
        const CROWDED: usize = 256;
        let mut v: Vec<Block> = Vec::with_capacity(self.live);
        let (mut offsets, mut position) = (Vec::new(), Vec::new());
        let mut page_blocks: Vec<Block> = Vec::new();
        for (page, t) in self.slots.pages_in_order() {
            let base = page << PAGE_BITS;
            if t.len() < CROWDED {
                let from = v.len();
                v.extend(t.iter().filter(|(_, s)| s.is_live()).map(|(&low, s)| self.block(base | low as u32, s)));
                v[from..].sort_unstable_by_key(|b| b.addr);
                continue;
            }
            if offsets.is_empty() {
                offsets = vec![0u64; (1 << PAGE_BITS) / 64];
                position = vec![0u16; 1 << PAGE_BITS];
            }
            page_blocks.clear();
            for (&low, s) in t.iter().filter(|(_, s)| s.is_live()) {
                // At most one slot per offset: a page's live blocks number at most 2^16, their positions fit.
                position[low as usize] = page_blocks.len() as u16;
                offsets[low as usize / 64] |= 1 << (low % 64);
                page_blocks.push(self.block(base | low as u32, s));
            }
            for (w, word) in offsets.iter_mut().enumerate() {
                let mut bits = std::mem::take(word);
                while bits != 0 {
                    let low = w * 64 + bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    v.push(page_blocks[position[low] as usize]);
                }
            }
        }
        v
    }

    /// What every site allocated so far, temporary allocations and the peak (see [`crate::profile`]).
    pub fn profile(&self) -> AllocProfile {
        self.profile.profile()
    }

    /// The host's clock, in milliseconds from the start of the run: stamps the growth samples taken from now
    /// on, so growth has a rate per second. A host calls it now and then (with each batch of events).
    pub fn set_clock(&mut self, ms: u64) {
        self.profile.set_clock(ms);
    }

    /// Requested bytes of the live blocks.
    pub fn live_bytes(&self) -> u64 {
        self.profile.live_bytes()
    }

    pub fn live_count(&self) -> usize {
        self.live
    }

    pub fn block_at(&self, addr: u64) -> Option<Block> {
        self.slots.get(&(addr as u32)).filter(|s| s.is_live()).map(|s| self.block(addr as u32, s))
    }

    /// Bytes the model holds: its address table (buckets × (entry + control byte), as hashbrown lays it out),
    /// the stacks, the allocation profile. What tracking costs per live block, for BENCHMARKS.md.
    pub fn memory_bytes(&self) -> usize {
        self.slots.memory_bytes()
            + table_bytes::<u32, u64>(self.old_seqs.capacity())
            + self.held.capacity() * std::mem::size_of::<Held>()
            + self.pairs.list.capacity() * 8
            + table_bytes::<(StackId, StackId), u32>(self.pairs.ids.capacity())
            + self.stacks.memory_bytes()
            + self.profile.memory_bytes()
            + self.invalid_frees.capacity() * std::mem::size_of::<InvalidFree>()
    }

    /// The freed memory not handed out again and the owners read at free time, for [`crate::owners`].
    pub fn freed(&self) -> Freed {
        let mut regions: Vec<FreedRegion> = self
            .slots
            .iter()
            .filter(|(_, s)| !s.is_live() && s.c != FREED_BIT)
            .map(|(addr, s)| {
                let (alloc_stack, free_stack) = self.pairs.list[s.a as usize];
                let addr = addr as u64;
                FreedRegion {
                    owner: addr,
                    start: addr,
                    end: addr + (s.c & !FREED_BIT) as u64,
                    alloc_stack,
                    free_stack,
                    free_seq: self.recent_seq(s.size),
                }
            })
            .collect();
        regions.sort_unstable_by_key(|r| r.start);
        let mut held: Vec<Owner> = self
            .held
            .iter()
            .filter(|h| self.still_held(h))
            .map(|h| Owner {
                block: h.block as u64,
                owner: h.owner as u64,
                offset: h.offset as u64,
                alloc_stack: h.alloc_stack,
                free_stack: h.free_stack,
                free_seq: h.free_seq,
            })
            .collect();
        held.sort_unstable_by_key(|o| o.block);
        Freed { regions, held }
    }

    fn block(&self, addr: u32, s: &Slot) -> Block {
        Block { addr: addr as u64, size: s.size as u64, seq: self.full_seq(addr, s.a), stack: unpack(s.c) }
    }

    /// A live block's sequence number from its low 32 bits: the latest number with those bits, unless the
    /// block was old enough to be written down in full.
    fn full_seq(&self, addr: u32, low: u32) -> u64 {
        if !self.old_seqs.is_empty() {
            if let Some(&seq) = self.old_seqs.get(&addr) {
                return seq;
            }
        }
        self.recent_seq(low)
    }

    /// The latest sequence number whose low 32 bits are `low`.
    fn recent_seq(&self, low: u32) -> u64 {
        let last = self.seq.saturating_sub(1);
        last.saturating_sub((last as u32).wrapping_sub(low) as u64)
    }

    fn bump(&mut self) -> u64 {
        let s = self.seq;
        self.profile.tick(s);
        self.seq += 1;
        if s > 0 && s & 0x7FFF_FFFF == 0 {
            self.keep_old_seqs();
        }
        s
    }

    /// Every 2³¹ events: write down the full sequence numbers of the live blocks at least 2³¹ events old, before
    /// their 32 bits could be mistaken for a later block's.
    fn keep_old_seqs(&mut self) {
        let now = self.seq;
        let old: Vec<(u32, u64)> = self
            .slots
            .iter()
            .filter(|(a, s)| s.is_live() && !self.old_seqs.contains_key(a))
            .map(|(a, s)| (a, self.full_seq(a, s.a)))
            .filter(|&(_, seq)| now - seq >= 1 << 31)
            .collect();
        self.old_seqs.extend(old);
    }

    fn insert(&mut self, addr: u64, size: u64, seq: u64, stack: StackId) {
        self.allocations += 1;
        self.lowest_block = Some(self.lowest_block.map_or(addr, |l| l.min(addr)));
        self.highest_block = self.highest_block.max(addr);
        let key = addr as u32;
        let slot = Slot { a: seq as u32, size: size.min(u32::MAX as u64) as u32, c: pack(stack) };
        // An address handed out twice without a free in between means we missed a free (an allocator
        // entry point we did not hook), or, in a threaded run, that a realloc which moved the block away from it
        // reports later: the newer block wins, and the older one counts as freed.
        let old = self.slots.insert(key, slot);
        match old {
            Some(s) if s.is_live() => {
                self.profile.free(key, s.size as u64, unpack(s.c), false);
                self.frees += 1;
                self.reissued += 1;
            }
            _ => self.live += 1,
        }
        self.profile.alloc(key, slot.size as u64, stack, seq);
        if !self.old_seqs.is_empty() {
            self.old_seqs.remove(&key);
        }
    }

    /// `plain`: a free, not the old half of a realloc. `head`: the block's first words before the free.
    fn remove_as(&mut self, addr: u64, seq: u64, stack: StackId, plain: bool, head: Option<[u32; HEAD_WORDS]>) {
        if !self.remove_live(addr, seq, stack, plain, head) {
            self.record_invalid(addr, seq, stack);
        }
    }

    /// Free the live block at `addr`; false when none lives there.
    fn remove_live(&mut self, addr: u64, seq: u64, stack: StackId, plain: bool, head: Option<[u32; HEAD_WORDS]>) -> bool {
        let key = addr as u32;
        if let Some(slot) = self.slots.get_mut(&key) {
            if slot.is_live() {
                let was = *slot;
                // The old half of a realloc moved its contents: a copy, not an owner (size 0; see `freed`).
                let size = if plain { was.size.min(!FREED_BIT) } else { 0 };
                *slot = Slot { a: self.pairs.id(unpack(was.c), stack), size: seq as u32, c: FREED_BIT | size };
                self.profile.free(key, was.size as u64, unpack(was.c), plain);
                self.frees += 1;
                self.live -= 1;
                if !self.old_seqs.is_empty() {
                    self.old_seqs.remove(&key);
                }
                if let Some(head) = head {
                    let owner = Held { block: 0, owner: key, offset: 0, alloc_stack: unpack(was.c), free_stack: stack, free_seq: seq };
                    self.hold(owner, was.size, head);
                }
                return true;
            }
        }
        false
    }

    /// A free of `addr`, where no block lives: a double free, or an invalid one.
    fn record_invalid(&mut self, addr: u64, seq: u64, stack: StackId) {
        let key = addr as u32;
        let bad = match self.slots.get(&key) {
            Some(f) => InvalidFree {
                kind: InvalidFreeKind::Double,
                addr,
                seq,
                stack,
                alloc_stack: self.pairs.list[f.a as usize].0,
                first_free_stack: self.pairs.list[f.a as usize].1,
                interior: None,
            },
            None => {
                // Rare, so a linear search is fine: is it a pointer into the middle of a live block?
                let inside = self.live_blocks().find(|b| b.addr < addr && addr < b.addr + b.size);
                InvalidFree {
                    kind: InvalidFreeKind::Invalid,
                    addr,
                    seq,
                    stack,
                    alloc_stack: inside.map_or(StackId::NONE, |b| b.stack),
                    first_free_stack: StackId::NONE,
                    interior: inside.map(|b| (addr - b.addr, b.size)),
                }
            }
        };
        self.invalid_frees.push(bad);
    }
    /// Remember `owner` as the holder of the addresses its first words (inside its `size` bytes) held.
    fn hold(&mut self, owner: Held, size: u32, head: [u32; HEAD_WORDS]) {
        let (lowest, highest) = (self.lowest_block.unwrap_or(u64::MAX), self.highest_block);
        for (k, w) in head.into_iter().enumerate() {
            let offset = 4 * k as u32;
            // Data, not an address the allocator returned (they are 4-aligned but for rare allocators, whose
            // owners go unnamed here).
            if offset + 4 > size || w & 3 != 0 || (w as u64) < lowest || (w as u64) > highest || w == owner.owner {
                continue;
            }
            self.held.push(Held { block: w, offset, ..owner });
        }
        if self.held.len() >= self.held_limit {
            let held = std::mem::take(&mut self.held);
            self.held = held.into_iter().filter(|h| self.still_held(h)).collect();
            self.held_limit = (2 * self.held.len()).max(1024);
        }
    }

    /// Whether the live block at a held address now is the one that was held: allocated before the free.
    fn still_held(&self, h: &Held) -> bool {
        self.slots.get(&h.block).is_some_and(|s| s.is_live() && self.full_seq(h.block, s.a) < h.free_seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stacks::RawFrame;

    fn stacks() -> (StackTable, StackId, StackId, StackId) {
        let mut t = StackTable::default();
        let a = t.intern(&[RawFrame { func: 1, offset: 10 }]);
        let b = t.intern(&[RawFrame { func: 2, offset: 20 }]);
        let c = t.intern(&[RawFrame { func: 3, offset: 30 }, RawFrame { func: 1, offset: 10 }]);
        (t, a, b, c)
    }

    #[test]
    fn alloc_and_free() {
        let (_, s1, s2, _) = stacks();
        let mut m = HeapModel::new();
        m.alloc(100, 16, s1);
        m.alloc(200, 32, s1);
        m.alloc(0, 8, s1); // failed allocation: an event, no block
        assert_eq!(m.seq, 3);
        assert_eq!(m.live_count(), 2);
        assert_eq!(m.block_at(200), Some(Block { addr: 200, size: 32, seq: 1, stack: s1 }));
        m.free(100, s2);
        m.free(0, s2); // free(NULL): nothing, and no event (the buffered hooks never record one)
        assert_eq!(m.live_count(), 1);
        assert_eq!(m.live_sorted(), vec![Block { addr: 200, size: 32, seq: 1, stack: s1 }]);
        assert_eq!((m.allocations, m.frees, m.seq), (2, 1, 4));
        m.free_with_head(0, s2, [0; HEAD_WORDS]);
        m.alloc(300, 8, s1);
        assert_eq!((m.seq, m.block_at(300).map(|b| b.seq)), (5, Some(4)));
        assert!(m.invalid_frees.is_empty());
        assert_eq!(m.lowest_block, Some(100));
    }

    #[test]
    fn slots_by_page_keep_every_address() {
        let (_, s1, s2, _) = stacks();
        let mut m = HeapModel::new();
        // The same offsets in pages far apart, a page's first and last addresses, pages used out of order.
        let addrs: Vec<u64> = [7u64, 1, 0xFFFF, 2, 0x1_0000 >> 16]
            .iter()
            .flat_map(|&page| [0u64, 8, 0xFFF8].map(move |off| (page << 16) + off))
            .filter(|&a| a != 0)
            .collect();
        for &a in &addrs {
            m.alloc(a, 8, s1);
        }
        let mut want = addrs.clone();
        want.sort_unstable();
        want.dedup();
        assert_eq!(m.live_sorted().iter().map(|b| b.addr).collect::<Vec<_>>(), want);
        m.free(0x2_FFF8, s2);
        m.free(0x2_FFF8, s2); // double
        m.free(0x2_0010, s2); // a page with slots, an address without one
        m.free(0x3_0000, s2); // a page without slots
        let kinds: Vec<_> = m.invalid_frees.iter().map(|f| (f.kind, f.addr)).collect();
        assert_eq!(
            kinds,
            [(InvalidFreeKind::Double, 0x2_FFF8), (InvalidFreeKind::Invalid, 0x2_0010), (InvalidFreeKind::Invalid, 0x3_0000)]
        );
        assert!(m.block_at(0x2_FFF8).is_none());
        assert_eq!(m.block_at(0xFFFF_FFF8).map(|b| b.size), Some(8));
        assert_eq!(m.live_count(), want.len() - 1);
        assert_eq!(m.live_sorted().len(), want.len() - 1);
        assert_eq!(m.freed().regions.iter().map(|r| r.start).collect::<Vec<_>>(), [0x2_FFF8]);
    }

    #[test]
    fn live_sorted_is_sorted() {
        let mut m = HeapModel::new();
        for a in [500, 100, 300, 200, 400] {
            m.alloc(a, 8, StackId::NONE);
        }
        let addrs: Vec<u64> = m.live_sorted().iter().map(|b| b.addr).collect();
        assert_eq!(addrs, vec![100, 200, 300, 400, 500]);
        // Many: addresses in shuffled order, across 64 KiB pages and up to 4 GiB.
        let mut big = HeapModel::new();
        let mut want = Vec::new();
        for i in 0..10_000u64 {
            let a = (i.wrapping_mul(2_654_435_761) % 1_000_003) * 4096 % (1 << 32) & !7;
            if !want.contains(&a) && a != 0 {
                big.alloc(a, i, StackId::NONE);
                want.push(a);
            }
        }
        want.sort_unstable();
        let got: Vec<u64> = big.live_sorted().iter().map(|b| b.addr).collect();
        assert_eq!(got, want);
        assert!(big.live_sorted().iter().all(|b| b.size == big.block_at(b.addr).unwrap().size));
        assert_eq!(m.live_blocks().count(), 5);
        // Crowded pages (the counting sort): every 4-byte address of one page, shuffled, a third of them freed again
        // (their slots stay in the table), beside a page with a few blocks.
        let mut crowded = HeapModel::new();
        for i in 0..16_384u64 {
            crowded.alloc(0x3_0000 + (i * 7919 % 16_384) * 4, 4, StackId::NONE);
        }
        for i in (0..16_384u64).step_by(3) {
            crowded.free(0x3_0000 + i * 4, StackId::NONE);
        }
        for a in [0x5_0010, 0x1_0020, 0x5_0008] {
            crowded.alloc(a, 8, StackId::NONE);
        }
        // A second crowded page, after the first: the bitmap starts empty again.
        for i in (0..300u64).rev() {
            crowded.alloc(0x7_0000 + i * 16, 16, StackId::NONE);
        }
        let mut want: Vec<Block> = crowded.live_blocks().collect();
        want.sort_unstable_by_key(|b| b.addr);
        assert_eq!(want.len(), 16_384 - 5_462 + 3 + 300);
        assert_eq!(crowded.live_sorted(), want);
    }

    #[test]
    fn double_free_keeps_the_allocation_and_first_free() {
        let (_, s1, s2, s3) = stacks();
        let mut m = HeapModel::new();
        m.alloc(100, 16, s1); // seq 0
        m.free(100, s2); // seq 1
        m.free(100, s3); // seq 2: double
        m.free(100, s3); // seq 3: double again, same first free
        assert_eq!(m.frees, 1);
        assert_eq!(m.invalid_frees.len(), 2);
        let d = &m.invalid_frees[0];
        assert_eq!(
            *d,
            InvalidFree {
                kind: InvalidFreeKind::Double,
                addr: 100,
                seq: 2,
                stack: s3,
                alloc_stack: s1,
                first_free_stack: s2,
                interior: None,
            }
        );
        assert_eq!(m.invalid_frees[1].seq, 3);
        assert_eq!(m.invalid_frees[1].first_free_stack, s2);
    }

    #[test]
    fn invalid_free_of_unknown_or_interior_address() {
        let (_, s1, s2, _) = stacks();
        let mut m = HeapModel::new();
        m.alloc(100, 16, s1);
        m.free(108, s2); // inside a live block
        m.free(4000, s2); // never allocated
        assert_eq!(m.live_count(), 1);
        assert_eq!(m.frees, 0);
        let kinds: Vec<_> = m.invalid_frees.iter().map(|f| (f.kind, f.addr, f.seq)).collect();
        assert_eq!(kinds, vec![(InvalidFreeKind::Invalid, 108, 1), (InvalidFreeKind::Invalid, 4000, 2)]);
        // Inside a live block: that block's allocation, and where in it.
        let f = &m.invalid_frees[0];
        assert_eq!((f.alloc_stack, f.interior), (s1, Some((8, 16))));
        assert_eq!(f.first_free_stack, StackId::NONE);
        let f = &m.invalid_frees[1];
        assert_eq!((f.alloc_stack, f.interior), (StackId::NONE, None));
    }

    #[test]
    fn reuse_after_free_is_not_a_double_free() {
        let (_, s1, s2, s3) = stacks();
        let mut m = HeapModel::new();
        m.alloc(100, 16, s1); // 0
        m.free(100, s2); // 1
        m.alloc(100, 24, s3); // 2: the allocator hands the address out again
        m.free(100, s2); // 3: fine
        assert!(m.invalid_frees.is_empty());
        m.free(100, s1); // 4: double free of the *second* block
        let d = &m.invalid_frees[0];
        assert_eq!((d.kind, d.alloc_stack, d.first_free_stack), (InvalidFreeKind::Double, s3, s2));
    }

    #[test]
    fn realloc_moves_and_resizes() {
        let (_, s1, s2, _) = stacks();
        let mut m = HeapModel::new();
        m.alloc(100, 16, s1); // 0
        m.realloc(100, 300, 64, s2); // 1: moved
        assert_eq!(m.block_at(100), None);
        assert_eq!(m.block_at(300), Some(Block { addr: 300, size: 64, seq: 1, stack: s2 }));
        m.realloc(300, 300, 128, s2); // 2: in place
        assert_eq!(m.block_at(300), Some(Block { addr: 300, size: 128, seq: 2, stack: s2 }));
        assert_eq!(m.live_count(), 1);
        assert_eq!((m.allocations, m.frees), (3, 2));
        // The old address of a moved block was freed by the realloc: freeing it again is a double free.
        m.free(100, s1); // 3
        assert_eq!(m.invalid_frees.len(), 1);
        let d = &m.invalid_frees[0];
        assert_eq!((d.kind, d.alloc_stack, d.first_free_stack), (InvalidFreeKind::Double, s1, s2));
        // In place: no stale "freed" record for a live block.
        m.free(300, s1);
        assert_eq!(m.invalid_frees.len(), 1);
    }

    #[test]
    fn a_block_the_allocator_moved_keeps_its_sequence_and_stack() {
        let (_, s1, s2, _) = stacks();
        let mut m = HeapModel::new();
        m.alloc(1000, 180, s1); // 0: memalign's inner malloc
        m.alloc(2000, 8, s2); // 1
        m.moved(1000, 1024, 108); // the aligned block inside it
        assert_eq!(m.block_at(1000), None);
        assert_eq!(m.block_at(1024), Some(Block { addr: 1024, size: 108, seq: 0, stack: s1 }));
        assert_eq!((m.allocations, m.frees, m.live_count(), m.live_bytes()), (2, 0, 2, 116));
        assert_eq!(site(&m, s1).allocated_bytes, 108);
        m.moved(2000, 1024, 8); // onto a live block: not a move
        assert_eq!(m.block_at(2000).map(|b| b.size), Some(8));
        m.free(1024, s2); // the program frees the aligned block: a plain free
        assert!(m.invalid_frees.is_empty());
        m.alloc(1000, 16, s2); // the leader's address again: not a live block's any more
        assert_eq!(m.reissued, 0);
    }

    #[test]
    fn realloc_of_null_is_malloc() {
        let mut m = HeapModel::new();
        m.realloc(0, 100, 8, StackId::NONE);
        assert_eq!(m.block_at(100).map(|b| b.size), Some(8));
        assert_eq!((m.allocations, m.frees), (1, 0));
        assert!(m.invalid_frees.is_empty());
    }

    #[test]
    fn failed_realloc_keeps_the_old_block() {
        let (_, s1, s2, _) = stacks();
        let mut m = HeapModel::new();
        m.alloc(100, 16, s1);
        m.realloc(100, 0, 1 << 30, s2);
        assert_eq!(m.block_at(100), Some(Block { addr: 100, size: 16, seq: 0, stack: s1 }));
        assert_eq!((m.allocations, m.frees, m.seq), (1, 0, 2));
        assert!(m.invalid_frees.is_empty());
    }

    #[test]
    fn realloc_to_zero_frees() {
        let (_, s1, s2, _) = stacks();
        let mut m = HeapModel::new();
        m.alloc(100, 16, s1); // 0
        m.realloc(100, 0, 0, s2); // 1: frees, returns NULL
        assert_eq!(m.live_count(), 0);
        assert_eq!((m.allocations, m.frees), (1, 1));
        m.free(100, s1); // 2: double
        assert_eq!(m.invalid_frees[0].kind, InvalidFreeKind::Double);
        assert_eq!(m.invalid_frees[0].first_free_stack, s2);
        // An allocator whose realloc(p, 0) returns a fresh minimal block: free + zero-size allocation.
        m.alloc(200, 16, s1);
        m.realloc(200, 400, 0, s2);
        assert_eq!(m.block_at(400).map(|b| b.size), Some(0));
        assert_eq!(m.block_at(200), None);
    }

    #[test]
    fn a_resize_in_place_of_no_block_is_nothing() {
        // Zig's resize: the pointer an optimised caller passes may be anything (the allocator never reads it).
        let (_, s1, s2, _) = stacks();
        let mut m = HeapModel::new();
        m.alloc(100, 16, s1);
        m.realloc(300, 300, 64, s2);
        assert!(m.invalid_frees.is_empty());
        assert_eq!((m.block_at(300), m.live_sorted().len()), (None, 1));
        // In place where a block lives: resized.
        m.realloc(100, 100, 48, s2);
        assert_eq!(m.block_at(100).map(|b| b.size), Some(48));
    }

    #[test]
    fn realloc_of_a_freed_pointer_is_a_double_free() {
        let (_, s1, s2, s3) = stacks();
        let mut m = HeapModel::new();
        m.alloc(100, 16, s1);
        m.free(100, s2);
        m.realloc(100, 200, 32, s3);
        assert_eq!(m.invalid_frees.len(), 1);
        assert_eq!(m.invalid_frees[0].kind, InvalidFreeKind::Double);
        assert_eq!(m.block_at(200).map(|b| b.size), Some(32));
    }

    /// A block's sequence number is kept in 32 bits and rebuilt from the model's; blocks alive across 2³²
    /// events keep theirs (written down in full every 2³¹ events).
    #[test]
    fn sequence_numbers_past_32_bits() {
        let mut m = HeapModel::new();
        m.alloc(100, 8, StackId::NONE); // seq 0, lives on
        m.seq = (1 << 31) - 1;
        m.alloc(200, 8, StackId::NONE); // seq 2³¹ − 1; the next event is the 2³¹th
        m.free(200, StackId::NONE); // seq 2³¹: the block at 100 (2³¹ events old) is written down
        m.seq = (1 << 32) + 5;
        m.alloc(300, 8, StackId::NONE);
        m.seq = (3 << 31) + 7;
        m.alloc(400, 8, StackId::NONE);
        let seqs: Vec<(u64, u64)> = m.live_sorted().iter().map(|b| (b.addr, b.seq)).collect();
        assert_eq!(seqs, vec![(100, 0), (300, (1 << 32) + 5), (400, (3 << 31) + 7)]);
        // Freed, the block's record goes.
        m.free(100, StackId::NONE);
        assert!(m.old_seqs.is_empty());
    }

    fn site(m: &HeapModel, s: StackId) -> crate::SiteProfile {
        m.profile().sites.into_iter().find(|p| p.stack == s.0).unwrap_or_default()
    }

    /// Totals per site, temporary allocations (a free right after its own allocation), and each site's share
    /// of the peak, which a later free does not change.
    #[test]
    fn allocation_profile() {
        let (_, s1, s2, s3) = stacks();
        let mut m = HeapModel::new();
        m.alloc(100, 10, s1); // event 0
        m.free(100, s1); // temporary
        m.alloc(100, 20, s1);
        m.alloc(200, 30, s2);
        m.free(100, s1); // not temporary: another allocation came between
        m.alloc(300, 5, s3); // live: 30 + 5
        m.alloc(400, 40, s2); // event 6, peak: s2 70, s3 5 = 75
        m.free(400, s2); // temporary
        m.free(200, s2);
        m.alloc(500, 50, s1); // live 55: not a peak
        m.realloc(500, 600, 60, s1); // not temporary (a realloc, not a free); live 65
        let p = m.profile();
        assert_eq!((p.peak_bytes, p.peak_blocks, p.peak_event), (75, 3, 6));
        assert_eq!((p.allocated_bytes, p.temporary_blocks), (10 + 20 + 30 + 5 + 40 + 50 + 60, 2));
        let s = site(&m, s1);
        assert_eq!((s.allocated_blocks, s.allocated_bytes, s.temporary_blocks, s.peak_blocks, s.peak_bytes), (4, 140, 1, 0, 0));
        let s = site(&m, s2);
        assert_eq!((s.allocated_blocks, s.allocated_bytes, s.temporary_blocks, s.peak_blocks, s.peak_bytes), (2, 70, 1, 2, 70));
        let s = site(&m, s3);
        assert_eq!((s.allocated_blocks, s.peak_blocks, s.peak_bytes), (1, 1, 5));
        // A new peak moves every site's share, touched or not since.
        m.alloc(700, 100, s2); // live 165
        let p = m.profile();
        assert_eq!((p.peak_bytes, p.peak_blocks), (165, 3));
        assert_eq!((site(&m, s1).peak_bytes, site(&m, s2).peak_bytes, site(&m, s3).peak_bytes), (60, 100, 5));
        // A block given its own stack later takes its counts along.
        assert!(m.set_stack(700, s3));
        assert_eq!((site(&m, s2).allocated_bytes, site(&m, s3).allocated_bytes), (70, 105));
    }

    #[test]
    fn stack_table_interns() {
        let (mut t, a, _, c) = stacks();
        assert_eq!(t.intern(&[RawFrame { func: 1, offset: 10 }]), a);
        assert_eq!(t.len(), 3);
        assert_eq!(t.get(c).len(), 2);
        assert!(t.get(StackId::NONE).is_empty());
    }
}
