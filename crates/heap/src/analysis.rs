//! Conservative pointer scan of linear memory, reachability from roots, and the leak kinds.

use crate::model::Block;

/// The linear memory image: byte `i` is address `i`.
#[derive(Clone, Copy, Debug)]
pub struct Memory<'a> {
    pub bytes: &'a [u8],
}

/// Where the pointer scan reads a heap's bytes: a memory image ([`Memory`]), or the bytes a heap state or a
/// snapshot copied block by block ([`crate::HeapState::analyze`]), which need not be laid out at their addresses
/// first.
pub trait HeapBytes: Sync {
    /// The bytes of `blocks[i]` (the blocks in address order) from its address: fewer where memory ended.
    fn block(&self, i: usize, b: &Block) -> &[u8];
    /// The bytes of a root region `[start, end)` from `start`: fewer where memory ended.
    fn region(&self, start: u64, end: u64) -> &[u8];
}

impl HeapBytes for Memory<'_> {
    fn block(&self, _: usize, b: &Block) -> &[u8] {
        self.region(b.addr, b.addr.saturating_add(b.size))
    }

    fn region(&self, start: u64, end: u64) -> &[u8] {
        let len = self.bytes.len() as u64;
        let start = start.min(len);
        &self.bytes[start as usize..end.clamp(start, len) as usize]
    }
}

/// A range of memory whose aligned words are roots: static data/bss ("data"), the live shadow stack ("stack").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootRegion {
    pub name: String,
    pub start: u64,
    pub end: u64,
}

/// A single value that is a root if it points into a live block: a wasm global, or a value the host holds
/// (a pointer an invoked export returned to the embedder / JavaScript).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootValue {
    pub name: String,
    pub value: u64,
    /// Held by the host (kind `host`), as opposed to a wasm global (kind `reachable`).
    pub host: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Roots {
    pub regions: Vec<RootRegion>,
    pub values: Vec<RootValue>,
    /// Blocks (by address) that hold data, never pointers, and that a root keeps: Emscripten's WebIDL binder glue's
    /// argument buffer, a byte copy of the arrays the app passes. Their bytes are not captured (zeros in the
    /// snapshot): scanned, the copy's words rooted whatever they happened to point at.
    pub opaque: Vec<u64>,
}

/// The leak kinds (docs/contracts.md, "Leak kinds and roots").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Lost,
    Indirect,
    Cycle,
    Host,
    Reachable,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Lost => "lost",
            Kind::Indirect => "indirect",
            Kind::Cycle => "cycle",
            Kind::Host => "host",
            Kind::Reachable => "reachable",
        }
    }

    /// `leaked_*` in the JSON summary counts these.
    pub fn is_leak(self) -> bool {
        !matches!(self, Kind::Reachable)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockClass {
    pub kind: Kind,
    /// For `Cycle` blocks: which cycle (strongly connected group) they belong to; equal ids, same cycle.
    pub cycle: Option<u32>,
    /// Only pointers into the middle of the block were found, none to its start (memcheck's "possibly").
    pub interior_only: bool,
    /// For `Reachable`/`Host` blocks: index of the root that holds it — regions first, then values, in the
    /// order of [`Roots`] (first root that reaches it in a breadth-first search from all roots).
    pub root: Option<u32>,
    /// The block lies on a ring of unreachable blocks (a `Cycle`, or an `Indirect` one `on_cycle`) of which a block
    /// is a reference count's header (an `Rc`'s, an `Arc`'s, a `shared_ptr`'s control block): a reference cycle,
    /// not a ring of plain pointers (a container's nodes pointing back at it, a doubly linked list).
    pub counted: bool,
    /// For `Indirect` blocks: the block also lies on a cycle of unreachable blocks (a ring an `Rc` the lost owner
    /// held points into): freeing the owner frees it only if that breaks the cycle — not for reference counts.
    pub on_cycle: bool,
}

/// Who holds one pointer of a retainer path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Holder {
    /// Root number `index` (regions first, then values, as [`BlockClass::root`]). `addr` is the address of
    /// the word holding the pointer for a region root, `None` for a value root (a global, a host value).
    Root { index: u32, addr: Option<u64> },
    /// `blocks[index]` holds the pointer in the aligned word at byte `offset` from the block's start.
    Block { index: usize, offset: u64 },
}

/// One pointer of a retainer path: `holder` contains the word `value`, which points into `blocks[target]`
/// (`value - blocks[target].addr` is the interior offset, 0 for a pointer to the start).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PathStep {
    pub holder: Holder,
    pub value: u64,
    pub target: usize,
}

/// Parent encoding: `NONE`, a root (`ROOT_BIT | root index`) or a block index.
const NONE: u32 = u32::MAX;
const ROOT_BIT: u32 = 1 << 31;

// Per-block states while analysing.
const UNSEEN: u8 = 0;
const REACHABLE: u8 = 1;
const HOST: u8 = 2;
const LOST: u8 = 3;
const INDIRECT: u8 = 4;
const CYCLE: u8 = 5;

// Per-block "pointed at" flags.
const PTR_START: u8 = 1;
const PTR_INTERIOR: u8 = 2;

#[derive(Clone, Debug)]
pub struct Analysis {
    /// Live blocks sorted by address.
    pub blocks: Vec<Block>,
    /// `classes[i]` classifies `blocks[i]`.
    pub classes: Vec<BlockClass>,
    /// Pointer graph in CSR form: the edges of block `i` are `edge_targets[edge_offsets[i]..edge_offsets[i+1]]`,
    /// one per pointer word, in address order (duplicates kept).
    edge_offsets: Vec<u32>,
    edge_targets: Vec<u32>,
    /// Byte offset of each edge's pointer word inside its holder (parallel to `edge_targets`).
    edge_at: Vec<u32>,
    /// Breadth-first-search parent of each block: `NONE`, `ROOT_BIT | root`, or a block index.
    /// Reachable/Host blocks: from the roots (shortest path). Indirect blocks: from the lost/cyclic blocks
    /// that own them. Lost and Cycle blocks: `NONE`.
    parent: Vec<u32>,
    /// Region root: address of the word; value root: 0; block parent: byte offset of the word in the parent.
    parent_at: Vec<u32>,
    /// The pointer value that links the parent to the block.
    parent_val: Vec<u32>,
    n_regions: u32,
    n_cycles: u32,
}

impl Analysis {
    /// The result of [`analyze_sorted`] with the blocks it analysed, in the same order.
    pub fn with_blocks(mut self, blocks: Vec<Block>) -> Analysis {
        assert_eq!(blocks.len(), self.classes.len(), "the blocks analysed");
        self.blocks = blocks;
        self
    }

    /// Number of distinct cycles (ids of `Cycle` blocks are `0..cycle_count()`).
    pub fn cycle_count(&self) -> u32 {
        self.n_cycles
    }

    /// Number of edges (pointer words found inside live blocks).
    pub fn edge_count(&self) -> usize {
        self.edge_targets.len()
    }

    /// Blocks that block `i` points into, one entry per pointer word, in address order (duplicates kept;
    /// may contain `i` itself).
    pub fn edges_from(&self, i: usize) -> &[u32] {
        let a = self.edge_offsets[i] as usize;
        let b = self.edge_offsets[i + 1] as usize;
        &self.edge_targets[a..b]
    }

    /// Block `i`'s edges with the byte offset of each pointer word inside block `i`: `(target, offset)`.
    pub fn edges_with_offsets(&self, i: usize) -> impl Iterator<Item = (u32, u32)> + '_ {
        let a = self.edge_offsets[i] as usize;
        let b = self.edge_offsets[i + 1] as usize;
        self.edge_targets[a..b].iter().copied().zip(self.edge_at[a..b].iter().copied())
    }

    /// Blocks holding at least one pointer into block `i`, ascending, each once. Linear in the number of edges.
    pub fn referrers(&self, i: usize) -> Vec<usize> {
        let i = i as u32;
        (0..self.blocks.len()).filter(|&u| self.edges_from(u).contains(&i)).collect()
    }

    /// Index of the live block containing `addr` (a zero-size block contains its own address).
    pub fn block_containing(&self, addr: u64) -> Option<usize> {
        let n = self.blocks.partition_point(|b| b.addr <= addr);
        let i = n.checked_sub(1)?;
        let b = &self.blocks[i];
        (addr - b.addr < b.size.max(1)).then_some(i)
    }

    /// How block `i` is held: for `Reachable`/`Host` blocks the chain root → … → block (the first step's
    /// holder is a [`Holder::Root`], a shortest chain); for `Indirect` blocks the chain from the lost or
    /// cyclic block that owns it (the first step's holder is that block); empty for `Lost` and `Cycle`
    /// blocks. The last step's `target` is `i`.
    pub fn retainer_path(&self, i: usize) -> Vec<PathStep> {
        let mut path = Vec::new();
        let mut cur = i;
        loop {
            let p = self.parent[cur];
            if p == NONE {
                break;
            }
            let value = self.parent_val[cur] as u64;
            if p & ROOT_BIT != 0 {
                let index = p & !ROOT_BIT;
                let addr = (index < self.n_regions).then_some(self.parent_at[cur] as u64);
                path.push(PathStep { holder: Holder::Root { index, addr }, value, target: cur });
                break;
            }
            let holder = Holder::Block { index: p as usize, offset: self.parent_at[cur] as u64 };
            path.push(PathStep { holder, value, target: cur });
            cur = p as usize;
            if path.len() > self.blocks.len() {
                unreachable!("retainer path loops");
            }
        }
        path.reverse();
        path
    }
}

/// Sorted block starts with a bucket table over the address span: finds the block a word points into in
/// O(1) for evenly spread heaps and O(log k) for a bucket holding k blocks.
struct Index {
    /// `[start, len]` per block, `len = max(size, 1)` clamped to the 32-bit address space (a zero-size block
    /// is hit by its own address). Interleaved: one cache line per lookup.
    spans: Vec<[u32; 2]>,
    /// `buckets[b]` = last block whose start is <= `lo + (b << shift)`; one extra entry at the end.
    buckets: Vec<u32>,
    lo: u32,
    /// `hi - lo` where `hi` is the highest block end.
    span: u32,
    shift: u32,
}

impl Index {
    /// `array_cookie(i)`: block `i` is what C++ `new T[0]` allocates for a `T` with a destructor — one word, the
    /// element count, 0 — whose pointer, the one the program keeps, is the block's end. LeakSanitizer counts that
    /// pointer as the block's (`IsSpecialCaseOfOperatorNew0`); so does this (LSan survey: valgrind's
    /// leak_cpp_interior read it lost).
    fn new(blocks: &[Block], array_cookie: impl Fn(usize) -> bool) -> Index {
        // Only blocks below 4 GiB can be pointed at by a 32-bit word; `blocks` is sorted, so they are a prefix.
        let n = blocks.partition_point(|b| b.addr <= u32::MAX as u64);
        let mut spans = Vec::with_capacity(n);
        let mut hi = 0u64;
        for (i, b) in blocks[..n].iter().enumerate() {
            // (The next block's start is still found first: the last start at or below a word wins.)
            let end_too = (b.size == 4 && array_cookie(i)) as u64;
            let len = (b.size.max(1) + end_too).min((1u64 << 32) - b.addr);
            hi = hi.max(b.addr + len);
            spans.push([b.addr as u32, len.min(u32::MAX as u64) as u32]);
        }
        if n == 0 {
            return Index { spans, buckets: vec![0, 0], lo: 0, span: 0, shift: 0 };
        }
        let lo = spans[0][0];
        let full = hi - lo as u64;
        let span = full.min(u32::MAX as u64) as u32;
        let mut shift = 0u32;
        while ((span as u64 - 1) >> shift) + 1 > n as u64 {
            shift += 1;
        }
        let nb = (((span as u64 - 1) >> shift) + 1) as usize;
        let mut buckets = Vec::with_capacity(nb + 1);
        let mut j = 0usize;
        for b in 0..nb {
            let base = lo as u64 + ((b as u64) << shift);
            while j + 1 < n && spans[j + 1][0] as u64 <= base {
                j += 1;
            }
            buckets.push(j as u32);
        }
        buckets.push((n - 1) as u32);
        Index { spans, buckets, lo, span, shift }
    }

    /// The fast reject: `v` is outside `[lowest start, highest end)`.
    #[inline(always)]
    fn in_span(&self, v: u32) -> bool {
        v.wrapping_sub(self.lo) < self.span
    }

    /// The range of blocks `[i0, i1]` that holds the last block starting at or below `v` (in span).
    #[inline(always)]
    fn bucket(&self, v: u32) -> (u32, u32) {
        let b = (v.wrapping_sub(self.lo) >> self.shift) as usize;
        (self.buckets[b], self.buckets[b + 1])
    }

    /// The block `v` points into; `v` must pass [`Index::in_span`].
    #[inline(always)]
    fn find(&self, v: u32) -> Option<usize> {
        let (i0, i1) = self.bucket(v);
        let i = self.resolve(v, i0 as usize, i1 as usize);
        let [start, len] = self.spans[i];
        (v.wrapping_sub(start) < len).then_some(i)
    }

    /// The last block in `[i0, i1]` starting at or below `v`.
    #[inline(always)]
    fn resolve(&self, v: u32, i0: usize, i1: usize) -> usize {
        // Buckets hold about one block: one branch-free step settles most lookups.
        let next = (i0 + 1).min(i1);
        let i = i0 + (next != i0 && self.spans[next][0] <= v) as usize;
        if i == i1 || self.spans[i + 1][0] > v {
            i
        } else {
            i + self.spans[i + 1..=i1].partition_point(|s| s[0] <= v)
        }
    }

    #[inline(always)]
    fn start(&self, i: usize) -> u32 {
        self.spans[i][0]
    }

    #[inline(always)]
    fn lookup(&self, v: u32) -> Option<usize> {
        if self.in_span(v) { self.find(v) } else { None }
    }
}

/// Words gathered per step of the branch-free filter.
const GATHER: usize = 256;
/// Candidates resolved together.
const BATCH: usize = 2048;

/// Candidate words (inside the blocks' span) waiting to be looked up. Looking them up in passes (bucket
/// loads for all, then span loads for all) keeps many independent cache misses in flight instead of one
/// at a time behind mispredicted branches.
struct Batch {
    v: Vec<u32>,
    at: Vec<u32>,
    holder: Vec<u32>,
    lo_hi: Vec<(u32, u32)>,
    /// `gather`'s scratch, kept: a fresh array per block was a 2 KiB memset each (a fifth of the scan).
    tmp: Box<[(u32, u32); GATHER]>,
}

impl Default for Batch {
    fn default() -> Batch {
        Batch { v: Vec::new(), at: Vec::new(), holder: Vec::new(), lo_hi: Vec::new(), tmp: Box::new([(0, 0); GATHER]) }
    }
}

impl Batch {
    /// Append the in-span words of `bytes` (at most `GATHER` words, at byte offset `at` of block `holder`).
    #[inline(always)]
    fn gather(&mut self, idx: &Index, bytes: &[u8], at: u32, holder: u32) {
        let tmp = &mut *self.tmp;
        let mut k = 0usize;
        let mut off = at;
        for v in words(bytes) {
            tmp[k & (GATHER - 1)] = (v, off);
            k += idx.in_span(v) as usize;
            off += 4;
        }
        for &(v, off) in &tmp[..k] {
            self.v.push(v);
            self.at.push(off);
            self.holder.push(holder);
        }
    }

    fn flush(
        &mut self,
        idx: &Index,
        targets: &mut Vec<u32>,
        edge_at: &mut Vec<u32>,
        counts: &mut [u32],
        first: u32,
        flags: &mut [u8],
    ) {
        // Pass 1: the bucket of every candidate.
        self.lo_hi.clear();
        self.lo_hi.extend(self.v.iter().map(|&v| idx.bucket(v)));
        // Pass 2: the block of every candidate.
        for j in 0..self.v.len() {
            let v = self.v[j];
            let (i0, i1) = self.lo_hi[j];
            let i = idx.resolve(v, i0 as usize, i1 as usize);
            let [start, len] = idx.spans[i];
            self.lo_hi[j].0 = if v.wrapping_sub(start) < len { i as u32 } else { NONE };
            self.lo_hi[j].1 = (v == start) as u32;
        }
        // Pass 3: the edges, in scan order. A block's pointer into its own middle (a string's pointer to its
        // inline buffer, or stale bytes of the block freed before at that address) neither keeps it alive nor
        // makes a cycle: no edge.
        for j in 0..self.v.len() {
            let (t, at_start) = self.lo_hi[j];
            if t != NONE && !(t == self.holder[j] && at_start == 0) {
                targets.push(t);
                edge_at.push(self.at[j]);
                counts[(self.holder[j] - first) as usize + 1] += 1;
                flags[t as usize] |= if at_start != 0 { PTR_START } else { PTR_INTERIOR };
            }
        }
        self.v.clear();
        self.at.clear();
        self.holder.clear();
    }
}

/// The aligned words fully inside `bytes`, which start at address `addr`: the byte offset of the first, and the
/// bytes they span.
fn aligned_words(addr: u64, bytes: &[u8]) -> (usize, &[u8]) {
    let skip = (addr.wrapping_neg() & 3) as usize;
    let rest = bytes.get(skip..).unwrap_or_default();
    (skip, &rest[..rest.len() & !3])
}

#[inline(always)]
fn words(bytes: &[u8]) -> impl Iterator<Item = u32> + '_ {
    bytes.chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().unwrap()))
}

/// One thread's share of the pointer scan.
struct Scan {
    /// `counts[i - first + 1]`: edges of block i of this share (`first`, its first block). The first share's is
    /// as long as the whole CSR's offsets, and becomes them; a later one's, only its own (fresh pages are slow).
    counts: Vec<u32>,
    first: usize,
    targets: Vec<u32>,
    at: Vec<u32>,
    flags: Vec<u8>,
}

fn scan(blocks: &[Block], range: std::ops::Range<usize>, idx: &Index, mem: &impl HeapBytes) -> Scan {
    let n = blocks.len();
    let (first, len) = (range.start, if range.start == 0 { n } else { range.len() });
    let mut s = Scan { counts: filled(0, len + 1), first, targets: Vec::new(), at: Vec::new(), flags: filled(0, n) };
    let mut batch = Batch::default();
    for bi in range {
        let b = &blocks[bi];
        let (skip, bytes) = aligned_words(b.addr, mem.block(bi, b));
        let mut at = skip as u32;
        for chunk in bytes.chunks(4 * GATHER) {
            batch.gather(idx, chunk, at, bi as u32);
            at += chunk.len() as u32;
            if batch.v.len() >= BATCH {
                batch.flush(idx, &mut s.targets, &mut s.at, &mut s.counts, first as u32, &mut s.flags);
            }
        }
    }
    batch.flush(idx, &mut s.targets, &mut s.at, &mut s.counts, first as u32, &mut s.flags);
    s
}

/// Below this many bytes of blocks a second thread costs more than it saves, when the caller's own work has the
/// other core meanwhile ([`analyze_sorted`]).
const PARALLEL_MIN_BYTES: u64 = 16 << 20;
/// The same when the other core waits for the scan ([`analyze_sorted_scan_first`]): a thread's start (~0.1 ms).
const PARALLEL_MIN_BYTES_IDLE: u64 = 1 << 20;

/// `n` copies of `v`, written now. For an array read before it is written: `vec![0; n]` is fresh pages that the
/// first read maps to the kernel's zero page and the first write faults again (a copy, and a TLB flush on every
/// core the process runs on) — [`tarjan`] over a zeroed array took 6.7 ms for 300,000 leaked blocks, filled 3.5.
fn filled<T: Copy>(v: T, n: usize) -> Vec<T> {
    let mut a = Vec::with_capacity(n);
    a.resize(n, v);
    a
}

/// Block ranges of about equal bytes, one per thread (one on wasm32, which has none), when there are `min_bytes`.
fn split_for_threads(blocks: &[Block], min_bytes: u64) -> Vec<std::ops::Range<usize>> {
    let total: u64 = blocks.iter().map(|b| b.size).sum();
    let threads = if cfg!(target_arch = "wasm32") || total < min_bytes {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get()).min(2)
    };
    if threads == 1 {
        return vec![0..blocks.len()];
    }
    let mut acc = 0u64;
    let mid = blocks.iter().position(|b| {
        acc += b.size;
        acc >= total / 2
    });
    let mid = mid.map_or(blocks.len(), |m| m + 1);
    vec![0..mid, mid..blocks.len()]
}

/// Classify every live block (docs/contracts.md, leak kinds and roots). `blocks` may come in any order; the result is sorted by address.
///
/// Pointers are the 4-byte-aligned little-endian 32-bit words fully inside a live block or a root region
/// whose value falls inside a live block (interior pointers count, one past the end does not; a zero-size
/// block is pointed at by its own address). If blocks overlap (a missed free), a value is attributed to the
/// block with the highest start at or below it.
pub fn analyze(mut blocks: Vec<Block>, mem: impl HeapBytes, roots: &Roots) -> Analysis {
    // Blocks in address order keep their positions (`HeapBytes::block` may count on them), equal addresses too.
    if !blocks.is_sorted_by_key(|b| b.addr) {
        blocks.sort_by_key(|b| b.addr);
    }
    analyze_sorted(&blocks, mem, roots).with_blocks(blocks)
}

/// [`analyze`] of blocks already in address order, read where they are rather than moved into the result: its
/// `blocks` is left empty, for the caller to put them in with [`Analysis::with_blocks`] once it no longer shares
/// them (`check` builds the heap at exit's snapshot from them meanwhile: 300,000 blocks are 9.6 MB not copied).
pub fn analyze_sorted(blocks: &[Block], mem: impl HeapBytes, roots: &Roots) -> Analysis {
    analyze_in_steps(blocks, mem, roots, PARALLEL_MIN_BYTES, || {})
}

/// [`analyze_sorted`] for a caller whose other work can wait for the pointer scan: the scan (a third of the
/// analysis) takes both cores, then `scanned` is called — the caller's work starts on the other core — and the
/// rest goes on on this one. `check` takes its snapshots from then on: beside the scan, they halved its cores.
pub fn analyze_sorted_scan_first(blocks: &[Block], mem: impl HeapBytes, roots: &Roots, scanned: impl FnOnce()) -> Analysis {
    analyze_in_steps(blocks, mem, roots, PARALLEL_MIN_BYTES_IDLE, scanned)
}

fn analyze_in_steps(blocks: &[Block], mem: impl HeapBytes, roots: &Roots, parallel_min: u64, scanned: impl FnOnce()) -> Analysis {
    assert!(blocks.is_sorted_by_key(|b| b.addr), "blocks in address order");
    let n = blocks.len();
    assert!(n < ROOT_BIT as usize, "too many blocks");
    let mem = &mem;
    let idx = Index::new(blocks, |i| mem.block(i, &blocks[i]).get(..4) == Some(&[0u8; 4][..]));

    // 1. The pointer graph (CSR), and how each block is pointed at. Large heaps are scanned on two threads,
    // each over half of the bytes; their edges concatenate in block order.
    let ranges = split_for_threads(blocks, parallel_min);
    let parts: Vec<Scan> = if ranges.len() == 1 {
        vec![scan(blocks, ranges[0].clone(), &idx, mem)]
    } else {
        std::thread::scope(|sc| {
            let handles: Vec<_> = ranges
                .into_iter()
                .map(|r| {
                    let idx = &idx;
                    sc.spawn(move || scan(blocks, r, idx, mem))
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("a scan thread panicked")).collect()
        })
    };
    let mut parts = parts.into_iter();
    let first = parts.next().expect("at least one part");
    let (mut flags, mut edge_offsets, mut edge_targets, mut edge_at) = (first.flags, first.counts, first.targets, first.at);
    for p in parts {
        for (f, g) in flags.iter_mut().zip(&p.flags) {
            *f |= g;
        }
        edge_offsets[p.first + 1..p.first + p.counts.len()].copy_from_slice(&p.counts[1..]);
        edge_targets.extend_from_slice(&p.targets);
        edge_at.extend_from_slice(&p.at);
    }
    for i in 0..n {
        edge_offsets[i + 1] += edge_offsets[i];
    }
    scanned();
    let edges = Csr { offsets: &edge_offsets, targets: &edge_targets, at: &edge_at };

    // 2. Reachability: breadth-first from all strong roots at once, then from the host values.
    let n_regions = roots.regions.len() as u32;
    let mut w = Walk {
        state: filled(UNSEEN, n),
        parent: vec![NONE; n],
        parent_at: vec![0u32; n],
        parent_val: vec![0u32; n],
        root_of: vec![NONE; n],
        // Every block enters it at most once before it is reset (sized up front: no copy as it grows).
        queue: Vec::with_capacity(n),
        head: 0,
    };
    for (r, region) in roots.regions.iter().enumerate() {
        let (skip, bytes) = aligned_words(region.start, mem.region(region.start, region.end));
        let a = region.start + skip as u64;
        for (k, v) in words(bytes).enumerate() {
            // A word of a live block is no root: an allocator over a static array (emballoc, Emscripten's
            // -sMALLOC=none with the program's own arena) hands out blocks inside static data, and the leaked
            // ones held each other there.
            if idx.lookup((a + 4 * k as u64) as u32).is_some() {
                continue;
            }
            if let Some(t) = idx.lookup(v) {
                flags[t] |= if v == idx.start(t) { PTR_START } else { PTR_INTERIOR };
                w.seed(t, v, r as u32, (a + 4 * k as u64) as u32, REACHABLE);
            }
        }
    }
    let value_roots = |host: bool| {
        roots.values.iter().enumerate().filter(move |(_, rv)| rv.host == host).filter_map(|(j, rv)| {
            let v = u32::try_from(rv.value).ok()?;
            Some((idx.lookup(v)?, v, n_regions + j as u32))
        })
    };
    for (t, v, r) in value_roots(false) {
        flags[t] |= if v == idx.start(t) { PTR_START } else { PTR_INTERIOR };
        w.seed(t, v, r, 0, REACHABLE);
    }
    w.bfs(&edges, REACHABLE, true);
    // Host values are seeded after the strong search: a block reachable from both is `Reachable`.
    for (t, v, r) in value_roots(true) {
        flags[t] |= if v == idx.start(t) { PTR_START } else { PTR_INTERIOR };
        w.seed(t, v, r, 0, HOST);
    }
    w.bfs(&edges, HOST, true);

    // 3. Strongly connected components of the unreachable blocks (still `UNSEEN`).
    let (comp, n_comp) = tarjan(&edges, &w.state);
    let mut comp_size = filled(0u32, n_comp);
    // An edge from another unreachable component comes in. A block's pointer to itself makes no cycle, as under
    // LeakSanitizer ("only external pointers count"): Zig's aligned allocations keep their block's start inside
    // it, a bump arena's chunk footer points at its chunk, an empty circular list head at itself — all lost, where
    // a cycle's hint (a weak back edge) was wrong and `--fail-on lost` let them pass. An Rc holding itself is
    // `lost` too; the report's hint says what it is (wasmleak_report's `hint`).
    let mut entered = filled(false, n_comp);
    // Whether a ring of blocks counts references (`BlockClass::counted`): a block of it is a reference count's
    // header — Rust's `RcBox`/`ArcInner` (strong and weak counts first), libc++'s shared_ptr control block (its
    // vtable, then the owners and weak owners less one; and a shared_ptr, the object's address then the control
    // block's, points at it: a class with a vtable and two small fields first is no control block). A forgotten
    // `new std::list`/`map`/`unordered_map`, whose nodes point back at the container, is a ring of plain pointers:
    // its fix is to free the structure, not a weak back edge (C++ survey).
    let lowest = blocks.first().map_or(0, |b| b.addr);
    let word_of = |i: usize, at: usize| {
        mem.block(i, &blocks[i]).get(at..at + 4).map(|w| u32::from_le_bytes(w.try_into().unwrap()))
    };
    // A count in a leaked ring is small; below wasm-ld's and Emscripten's first static address (1024), so that a
    // vtable's address (a C++ object's first word) is not read as one.
    let small = |v: Option<u32>| v.is_some_and(|v| v < 1024);
    let rc_box = |i: usize| [word_of(i, 0), word_of(i, 4)].iter().all(|&v| small(v) && v != Some(0));
    let control_like = |i: usize| word_of(i, 0).is_some_and(|v| v != 0 && (v as u64) < lowest) && small(word_of(i, 4)) && small(word_of(i, 8));
    // `u` holds a shared_ptr to control block `c` at byte `at`: the word before is the object's address — inside
    // the control block (`make_shared`: past its 12 bytes, aligned) or the one it keeps (`shared_ptr(new T)`).
    let shared_ptr_to = |u: usize, c: usize, at: u32| {
        let Some(obj) = at.checked_sub(4).and_then(|a| word_of(u, a as usize)) else { return false };
        let start = blocks[c].addr as u32;
        obj == start.wrapping_add(12) || obj == start.wrapping_add(16) || Some(obj) == word_of(c, 12).filter(|&p| p != 0)
    };
    let mut counted = filled(false, n_comp);
    for u in 0..n {
        if w.state[u] != UNSEEN {
            continue;
        }
        let cu = comp[u];
        comp_size[cu as usize] += 1;
        // (Once a ring is known to count references, its other blocks need not be read.)
        if !counted[cu as usize] {
            counted[cu as usize] = rc_box(u);
        }
        let (a, b) = edges.range(u);
        for (&t, &at) in edges.targets[a..b].iter().zip(&edges.at[a..b]) {
            let t = t as usize;
            if w.state[t] != UNSEEN {
                continue;
            }
            if comp[t] != cu {
                entered[comp[t] as usize] = true;
            }
            if !counted[comp[t] as usize] && control_like(t) && shared_ptr_to(u, t, at) {
                counted[comp[t] as usize] = true;
            }
        }
    }
    // Sources of the condensation: lost (trivial) or cycle (cyclic); ids of cycles in address order.
    let mut cycle_id = vec![NONE; n_comp];
    let mut n_cycles = 0u32;
    for (u, &c) in comp.iter().enumerate() {
        if w.state[u] != UNSEEN {
            continue;
        }
        let c = c as usize;
        if entered[c] {
            continue;
        }
        if comp_size[c] > 1 {
            if cycle_id[c] == NONE {
                cycle_id[c] = n_cycles;
                n_cycles += 1;
            }
            w.state[u] = CYCLE;
        } else {
            w.state[u] = LOST;
        }
        w.queue.push(u as u32);
    }
    // Everything else unreachable is owned by a source: breadth-first from the sources for the paths.
    w.bfs(&edges, INDIRECT, false);
    w.queue = Vec::new();
    for s in w.state.iter_mut() {
        if *s == UNSEEN {
            *s = INDIRECT; // not reached: cannot happen in a DAG, but never leave a block unclassified
        }
    }

    // 4. The pointer values on the parent links, read back from memory.
    for t in 0..n {
        let p = w.parent[t];
        if p != NONE && p & ROOT_BIT == 0 {
            let at = w.parent_at[t] as usize;
            let bytes = mem.block(p as usize, &blocks[p as usize]);
            w.parent_val[t] = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        }
    }

    let class = |i: usize| {
        let (kind, cycle, root) = match w.state[i] {
            REACHABLE => (Kind::Reachable, None, Some(w.root_of[i])),
            HOST => (Kind::Host, None, Some(w.root_of[i])),
            LOST => (Kind::Lost, None, None),
            CYCLE => (Kind::Cycle, Some(cycle_id[comp[i] as usize]), None),
            _ => (Kind::Indirect, None, None),
        };
        let c = comp[i] as usize;
        let on_cycle = kind == Kind::Indirect && c < n_comp && comp_size[c] > 1;
        let counted = c < n_comp && comp_size[c] > 1 && counted[c];
        BlockClass { kind, cycle, interior_only: flags[i] == PTR_INTERIOR, root, on_cycle, counted }
    };
    // Many blocks' classes are written on two cores (300,000 are 6 MB of fresh pages: 4 → 2 ms).
    let mut classes: Vec<BlockClass> = Vec::with_capacity(n);
    let (low, high) = classes.spare_capacity_mut()[..n].split_at_mut(n / 2);
    let fill = |part: &mut [std::mem::MaybeUninit<BlockClass>], from: usize| {
        for (k, c) in part.iter_mut().enumerate() {
            c.write(class(from + k));
        }
    };
    crate::both_for(n, || fill(low, 0), || fill(high, n / 2));
    // SAFETY: both parts, all `n` elements, were written.
    unsafe { classes.set_len(n) };

    let Walk { parent, parent_at, parent_val, .. } = w;
    let blocks = Vec::new();
    Analysis { blocks, classes, edge_offsets, edge_targets, edge_at, parent, parent_at, parent_val, n_regions, n_cycles }
}

struct Csr<'a> {
    offsets: &'a [u32],
    targets: &'a [u32],
    at: &'a [u32],
}

impl Csr<'_> {
    #[inline(always)]
    fn range(&self, u: usize) -> (usize, usize) {
        (self.offsets[u] as usize, self.offsets[u + 1] as usize)
    }
    #[inline(always)]
    fn of(&self, u: usize) -> &[u32] {
        let (a, b) = self.range(u);
        &self.targets[a..b]
    }
}

/// Per-block search state shared by the breadth-first searches.
struct Walk {
    state: Vec<u8>,
    parent: Vec<u32>,
    parent_at: Vec<u32>,
    parent_val: Vec<u32>,
    root_of: Vec<u32>,
    queue: Vec<u32>,
    head: usize,
}

impl Walk {
    /// Root `r` holds the pointer `v` to block `t` (in the word at `at` for a region).
    fn seed(&mut self, t: usize, v: u32, r: u32, at: u32, mark: u8) {
        if self.state[t] == UNSEEN {
            self.state[t] = mark;
            self.parent[t] = ROOT_BIT | r;
            self.parent_at[t] = at;
            self.parent_val[t] = v;
            self.root_of[t] = r;
            self.queue.push(t as u32);
        }
    }

    /// Breadth-first from `queue[head..]`: every `UNSEEN` block found gets `mark` and its parent.
    fn bfs(&mut self, edges: &Csr<'_>, mark: u8, inherit_root: bool) {
        while self.head < self.queue.len() {
            let u = self.queue[self.head] as usize;
            self.head += 1;
            let (a, b) = edges.range(u);
            for k in a..b {
                let t = edges.targets[k] as usize;
                if self.state[t] == UNSEEN {
                    self.state[t] = mark;
                    self.parent[t] = u as u32;
                    self.parent_at[t] = edges.at[k];
                    if inherit_root {
                        self.root_of[t] = self.root_of[u];
                    }
                    self.queue.push(t as u32);
                }
            }
        }
    }
}

/// The strongly connected components of the blocks whose state is `UNSEEN` (edges to other blocks ignored).
/// Returns each block's component (`NONE` for the others), numbered in the order they complete, and the number
/// of components.
///
/// Pearce's space-efficient form of Tarjan's algorithm ("A space-efficient algorithm for finding strongly
/// connected components", IPL 2016): one array holds a block's visit index while its component is open and the
/// component's number once it is done — numbers count down from `n` and indices up from 1, so a done block never
/// looks lower than an open one; no on-stack flag, low-link or separate component array (300,000 leaked blocks:
/// 3.6 → 1.2 MB of fresh pages, and 5.2 → 3.5 ms on the critical path of `check`). Unvisited is `NONE`, not 0
/// ([`filled`] says why).
fn tarjan(edges: &Csr<'_>, state: &[u8]) -> (Vec<u32>, usize) {
    let n = state.len();
    let mut rindex = vec![NONE; n];
    let mut index = 1u32;
    // The next component's number; one past the last used once all are done (n_comp = n - c).
    let mut c = n as u32;
    let mut stack: Vec<u32> = Vec::new();
    let mut calls: Vec<(u32, u32, bool)> = Vec::new(); // (block, next edge, no lower index reached yet)
    // A block with no edge inside the subgraph is a component of its own (most leaked blocks).
    let is_leaf = |v: usize| edges.of(v).iter().all(|&t| state[t as usize] != UNSEEN);
    for s in 0..n {
        if state[s] != UNSEEN || rindex[s] != NONE {
            continue;
        }
        if is_leaf(s) {
            c -= 1;
            rindex[s] = c;
            continue;
        }
        rindex[s] = index;
        index += 1;
        calls.push((s as u32, edges.offsets[s], true));
        while let Some(top) = calls.last_mut() {
            let v = top.0 as usize;
            let pos = top.1 as usize;
            if pos < edges.offsets[v + 1] as usize {
                top.1 += 1;
                let w = edges.targets[pos] as usize;
                if state[w] != UNSEEN {
                    continue;
                }
                if rindex[w] == NONE {
                    if is_leaf(w) {
                        c -= 1;
                        rindex[w] = c;
                    } else {
                        rindex[w] = index;
                        index += 1;
                        calls.push((w as u32, edges.offsets[w], true));
                    }
                } else if rindex[w] < rindex[v] {
                    rindex[v] = rindex[w];
                    top.2 = false;
                }
                continue;
            }
            let (v, _, root) = calls.pop().expect("a frame");
            let v = v as usize;
            if root {
                // v and the blocks above it on the stack (visited after it, not yet done) make one component.
                index -= 1;
                c -= 1;
                while let Some(&t) = stack.last() {
                    if rindex[v] > rindex[t as usize] {
                        break;
                    }
                    stack.pop();
                    rindex[t as usize] = c;
                    index -= 1;
                }
                rindex[v] = c;
            } else {
                stack.push(v as u32);
            }
            if let Some(parent) = calls.last_mut() {
                if rindex[v] < rindex[parent.0 as usize] {
                    rindex[parent.0 as usize] = rindex[v];
                    parent.2 = false;
                }
            }
        }
    }
    // Numbers in completion order, from 0.
    let last = (n as u32).wrapping_sub(1);
    for (r, &st) in rindex.iter_mut().zip(state) {
        *r = if st == UNSEEN { last - *r } else { NONE };
    }
    (rindex, (n as u32 - c) as usize)
}



