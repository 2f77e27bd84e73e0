//! A snapshot of the heap at one moment: every live block with its allocation stack (symbolized, so the
//! file stands alone), the bytes the pointer scan needs (block contents and root regions), and the roots.
//! The analysis runs on a snapshot exactly as on a live run.
//!
//! File format: the 8-byte magic `WLSNAP\0\0`, a little-endian u32 format version, then the snapshot in
//! postcard encoding. Readers refuse other versions with a message naming both. After it
//! comes the allocation profile, in postcard too: added later within version 1, so readers that predate it
//! stop before it, and files without it (or with one this version cannot read) read with an empty profile.
//! The freed owners ([`SnapOwner`]) follow it, then the times of the profile's samples, added the same way.

use serde::{Deserialize, Serialize};

use crate::analysis::{analyze, Analysis, HeapBytes, Memory, RootRegion, RootValue, Roots};
use crate::model::Block;
use crate::owners::Owner;
use crate::profile::AllocProfile;
use crate::stacks::StackId;

pub const MAGIC: &[u8; 8] = b"WLSNAP\0\0";
pub const FORMAT_VERSION: u32 = 1;

/// A symbolized frame (innermost first in a stack).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SnapFrame {
    pub function: String,
    pub file: Option<String>,
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub inlined: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapBlock {
    pub addr: u64,
    pub size: u64,
    /// Allocation event number: the same block keeps it across the snapshots of one run.
    pub seq: u64,
    /// Index into `Snapshot::stacks`, `u32::MAX` when not captured.
    pub stack: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapRegion {
    pub name: String,
    pub start: u64,
    pub bytes: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapValue {
    pub name: String,
    pub value: u64,
    pub host: bool,
}

/// A static variable (named from DWARF) inside the snapshot's root regions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapStatic {
    /// Demangled, qualified (`rust_lib::CACHE`, `static_buffer`).
    pub name: String,
    pub address: u64,
    /// Bytes (0: unknown).
    pub size: u64,
}

/// A double or invalid free seen before the snapshot (stacks index `Snapshot::stacks`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapInvalidFree {
    pub double: bool,
    pub addr: u64,
    pub stack: u32,
    pub first_free_stack: u32,
    pub alloc_stack: u32,
    /// Into a live block: (offset, block size).
    pub interior: Option<(u64, u64)>,
}

/// The freed block that last held a live block's address (see [`crate::owners`]); stacks index
/// `Snapshot::stacks`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapOwner {
    /// The live block's address.
    pub block: u64,
    /// The freed block's address and the offset in it of the word that held `block`.
    pub owner: u64,
    pub offset: u64,
    pub alloc_stack: u32,
    pub free_stack: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub module: String,
    /// 1-based number of the snapshot in its run.
    pub index: u32,
    /// Iterations of the repeated action completed when it was taken (`--invoke --repeat`); for a command,
    /// 0 before `_start` and 1 at its end.
    pub iteration: u64,
    /// Allocator events so far.
    pub allocations: u64,
    pub frees: u64,
    /// Live blocks, sorted by address.
    pub blocks: Vec<SnapBlock>,
    /// Every block's bytes, in block order (block i's bytes start at the sum of the sizes before it).
    pub contents: Vec<u8>,
    pub frames: Vec<SnapFrame>,
    /// Frame indices, innermost first, allocator frames dropped.
    pub stacks: Vec<Vec<u32>>,
    /// Root regions with their bytes (static data, the live stack).
    pub regions: Vec<SnapRegion>,
    pub values: Vec<SnapValue>,
    pub invalid_frees: Vec<SnapInvalidFree>,
    /// Static variables inside the root regions, sorted by address (empty without DWARF variables).
    pub statics: Vec<SnapStatic>,
    /// Every allocation up to the snapshot, by site (stacks index `stacks`); written after the rest.
    #[serde(skip)]
    pub profile: AllocProfile,
    /// Freed owners of live blocks, sorted by block (the snapshot at exit has them); written after the profile.
    #[serde(skip)]
    pub owners: Vec<SnapOwner>,
}

/// The heap at one moment as a host saw it, before its stacks are symbolized into a [`Snapshot`].
#[derive(Clone, Debug, Default)]
pub struct HeapState {
    pub iteration: u64,
    /// Live blocks sorted by address (stacks are the run's `StackTable` ids).
    pub blocks: Vec<Block>,
    pub allocations: u64,
    pub frees: u64,
    pub invalid_frees: Vec<crate::model::InvalidFree>,
    pub roots: Roots,
    /// What [`Snapshot::capture_memory`] copied (empty when the host only needed the live set, or left the bytes
    /// in memory: `in_memory`).
    pub contents: Vec<u8>,
    /// The blocks' bytes were not copied: they are still in the guest's memory, which the host kept (`check`'s
    /// state at exit: 300,000 blocks were a 12 MB copy, read once by the analysis). `contents` is empty; the
    /// analysis is given that memory ([`HeapState::analyze_in`]).
    pub in_memory: bool,
    pub regions: Vec<SnapRegion>,
    pub values: Vec<SnapValue>,
    /// Sites' stacks are the run's `StackTable` ids.
    pub profile: AllocProfile,
    /// The freed block that last held each live block's address (only in the state at exit; see
    /// [`crate::owners`]), sorted by block.
    pub owners: Vec<Owner>,
    /// Blocks whose size was read from the allocator's chunk headers: resized in place by code the hooks do not
    /// see ([`crate::chunk_sizes`]).
    pub resized: usize,
}

impl HeapState {
    /// The analysis of this heap ([`crate::analyze`]), read from the copied bytes in place. Blocks keep the
    /// run's stack ids: nothing needs symbolizing first.
    pub fn analyze(&self) -> Analysis {
        self.analyze_in(None)
    }

    /// [`HeapState::analyze`] of a state whose blocks' bytes may have been left in the guest's memory
    /// (`in_memory`): `memory` is then that memory image (a state with copies ignores it).
    pub fn analyze_in(&self, memory: Option<&[u8]>) -> Analysis {
        analyze(self.blocks.clone(), self.bytes(memory), &self.roots)
    }

    /// [`HeapState::analyze_in`] without copying the blocks, which must be in address order (as hosts take them):
    /// the pointer scan on every core first, then `scanned()`, then the rest on this thread
    /// ([`crate::analysis::analyze_sorted_scan_first`]). The result's `blocks` is empty until
    /// [`Analysis::with_blocks`] gives it these.
    pub fn analyze_sorted_scan_first(&self, memory: Option<&[u8]>, scanned: impl FnOnce()) -> Analysis {
        crate::analysis::analyze_sorted_scan_first(&self.blocks, self.bytes(memory), &self.roots, scanned)
    }

    /// Where the blocks' bytes are: the copies, or `memory` when they were left there (`in_memory`).
    fn bytes<'a>(&'a self, memory: Option<&'a [u8]>) -> StateBytes<'a> {
        if !self.in_memory {
            return StateBytes::Copied(Copied::new(self.blocks.iter().map(|b| (b.addr, b.size)), &self.contents, &self.regions));
        }
        let memory = memory.expect("the blocks' bytes are in the guest's memory: analyze_in(Some(memory))");
        StateBytes::InMemory(InMemory { memory: Memory { bytes: memory }, regions: &self.regions })
    }
}

/// A heap state's bytes, wherever the host left them ([`HeapState::bytes`]).
enum StateBytes<'a> {
    Copied(Copied<'a>),
    InMemory(InMemory<'a>),
}

impl HeapBytes for StateBytes<'_> {
    fn block(&self, i: usize, b: &Block) -> &[u8] {
        match self {
            StateBytes::Copied(c) => c.block(i, b),
            StateBytes::InMemory(m) => m.block(i, b),
        }
    }

    fn region(&self, start: u64, end: u64) -> &[u8] {
        match self {
            StateBytes::Copied(c) => c.region(start, end),
            StateBytes::InMemory(m) => m.region(start, end),
        }
    }
}

/// A heap whose blocks are read in the memory image itself, and its root regions in their copies (which the host
/// masked: `mask_link_time_words`).
struct InMemory<'a> {
    memory: Memory<'a>,
    regions: &'a [SnapRegion],
}

impl HeapBytes for InMemory<'_> {
    fn block(&self, i: usize, b: &Block) -> &[u8] {
        self.memory.block(i, b)
    }

    fn region(&self, start: u64, end: u64) -> &[u8] {
        region_bytes(self.regions, start, end)
    }
}

/// The copied bytes of a root region `[start, end)` from `start`.
fn region_bytes(regions: &[SnapRegion], start: u64, end: u64) -> &[u8] {
    let Some(r) = regions.iter().find(|r| r.start <= start && start < r.start + r.bytes.len() as u64) else {
        return &[];
    };
    let from = (start - r.start) as usize;
    let to = (end.saturating_sub(r.start) as usize).clamp(from, r.bytes.len());
    &r.bytes[from..to]
}

/// A heap's bytes as a host copied them ([`Snapshot::capture_memory`]): each block's in `contents`, in block
/// order, and the root regions'. The analysis reads them where they are: laying them out at their addresses
/// first took a fresh buffer as large as the heap, and its time (300,000 live blocks: ~6 ms, on the critical
/// path of `check`).
struct Copied<'a> {
    /// Where each block's bytes start in `contents`, in the order the blocks came, and where the last ends.
    offsets: Vec<usize>,
    /// (address, position) in address order, when the blocks did not come in it (a snapshot read from a file
    /// may not): the analysis numbers blocks by address. `None`: its numbers are the positions.
    by_addr: Option<Vec<(u64, usize)>>,
    contents: &'a [u8],
    regions: &'a [SnapRegion],
}

impl<'a> Copied<'a> {
    fn new(blocks: impl Iterator<Item = (u64, u64)> + Clone, contents: &'a [u8], regions: &'a [SnapRegion]) -> Copied<'a> {
        let mut offsets = Vec::with_capacity(blocks.size_hint().0 + 1);
        offsets.push(0usize);
        let (mut last, mut sorted) = (0u64, true);
        for (addr, size) in blocks.clone() {
            sorted &= last <= addr;
            last = addr;
            offsets.push(offsets[offsets.len() - 1].saturating_add(size as usize));
        }
        // Hosts copy blocks in address order already.
        let by_addr = (!sorted).then(|| {
            let mut v: Vec<(u64, usize)> = blocks.enumerate().map(|(j, (addr, _))| (addr, j)).collect();
            v.sort_by_key(|e| e.0);
            v
        });
        Copied { offsets, by_addr, contents, regions }
    }
}

impl HeapBytes for Copied<'_> {
    fn block(&self, i: usize, b: &Block) -> &[u8] {
        let j = match &self.by_addr {
            None => i,
            // The same position in address order, unless addresses repeat.
            Some(v) => match v.get(i) {
                Some(&(addr, j)) if addr == b.addr => j,
                _ => match v.binary_search_by_key(&b.addr, |e| e.0) {
                    Ok(k) => v[k].1,
                    Err(_) => return &[],
                },
            },
        };
        let (Some(&at), Some(&end)) = (self.offsets.get(j), self.offsets.get(j + 1)) else { return &[] };
        let rest = self.contents.get(at..).unwrap_or_default();
        &rest[..(end - at).min(rest.len())]
    }

    fn region(&self, start: u64, end: u64) -> &[u8] {
        region_bytes(self.regions, start, end)
    }
}

#[derive(Debug)]
pub enum SnapshotError {
    NotASnapshot,
    Version { found: u32, supported: u32 },
    Corrupt(String),
}

impl std::fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SnapshotError::NotASnapshot => f.write_str("not a wasmleak snapshot (no WLSNAP header)"),
            SnapshotError::Version { found, supported } => write!(
                f,
                "snapshot format version {found}, but this wasmleak reads version {supported}: take the snapshot again with this version"
            ),
            SnapshotError::Corrupt(e) => write!(f, "the snapshot is truncated or corrupt: {e}"),
        }
    }
}

impl std::error::Error for SnapshotError {}

impl Snapshot {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.contents.len() + self.blocks.len() * 16 + 64);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        let out = postcard::to_extend(self, out).expect("a snapshot is plain data");
        let out = postcard::to_extend(&self.profile, out).expect("a profile is plain data");
        let out = postcard::to_extend(&self.owners, out).expect("owners are plain data");
        postcard::to_extend(&self.profile.sample_ms, out).expect("times are plain data")
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Snapshot, SnapshotError> {
        if bytes.len() < 12 || &bytes[..8] != MAGIC {
            return Err(SnapshotError::NotASnapshot);
        }
        let found = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
        if found != FORMAT_VERSION {
            return Err(SnapshotError::Version { found, supported: FORMAT_VERSION });
        }
        let corrupt = |e: postcard::Error| SnapshotError::Corrupt(e.to_string());
        let (mut snap, rest): (Snapshot, _) = postcard::take_from_bytes(&bytes[12..]).map_err(corrupt)?;
        // The profile is an addition: one this version cannot read (cut short, or written by a later version
        // that added to it) leaves the snapshot without a profile rather than unreadable.
        if let Ok((profile, rest)) = postcard::take_from_bytes(rest) {
            snap.profile = profile;
            if let Ok((owners, rest)) = postcard::take_from_bytes(rest) {
                snap.owners = owners;
                let ms: Vec<u64> = postcard::from_bytes(rest).unwrap_or_default();
                if ms.len() == snap.profile.samples.len() {
                    snap.profile.sample_ms = ms;
                }
            }
        }
        snap.check().map_err(SnapshotError::Corrupt)?;
        Ok(snap)
    }

    /// What every reader of a snapshot relies on, checked once when it is loaded (a damaged file that still
    /// decodes must not make `diff` or `report` index out of bounds, or allocate an image of 500 GB): blocks in
    /// address order within a 32-bit memory with all their bytes, regions within it, stack and frame numbers
    /// that exist.
    fn check(&self) -> Result<(), String> {
        const SPACE: u64 = 1 << 32;
        let stack_ok = |s: u32| s == u32::MAX || (s as usize) < self.stacks.len();
        let mut bytes = 0u64;
        let mut last = 0u64;
        for b in &self.blocks {
            if b.addr.checked_add(b.size).is_none_or(|end| end > SPACE) || b.addr < last {
                return Err(format!("block {:#x} (+{}) is out of order or past a 32-bit memory", b.addr, b.size));
            }
            if !stack_ok(b.stack) {
                return Err(format!("block {:#x} has stack {}, of {}", b.addr, b.stack, self.stacks.len()));
            }
            last = b.addr;
            bytes += b.size;
        }
        if bytes != self.contents.len() as u64 {
            return Err(format!("the blocks hold {bytes} bytes, the contents {}", self.contents.len()));
        }
        if let Some(r) = self.regions.iter().find(|r| r.start.checked_add(r.bytes.len() as u64).is_none_or(|end| end > SPACE)) {
            return Err(format!("region {} at {:#x} is past a 32-bit memory", r.name, r.start));
        }
        if self.stacks.iter().flatten().any(|&f| f as usize >= self.frames.len()) {
            return Err(format!("a stack names a frame past the {} there are", self.frames.len()));
        }
        let stacks = self.invalid_frees.iter().flat_map(|f| [f.stack, f.first_free_stack, f.alloc_stack])
            .chain(self.owners.iter().flat_map(|o| [o.alloc_stack, o.free_stack]))
            .chain(self.profile.sites.iter().map(|s| s.stack))
            .chain(self.profile.samples.iter().flat_map(|s| s.sites.iter().map(|x| x.0)));
        if let Some(s) = stacks.into_iter().find(|&s| !stack_ok(s)) {
            return Err(format!("stack {s} does not exist (there are {})", self.stacks.len()));
        }
        Ok(())
    }

    /// The frames of stack `s` (`u32::MAX`: none).
    pub fn stack(&self, s: u32) -> impl Iterator<Item = &SnapFrame> {
        self.stacks.get(s as usize).into_iter().flatten().map(|&f| &self.frames[f as usize])
    }

    /// Names of the roots in the analysis' numbering: regions first, then values.
    pub fn root_names(&self) -> Vec<String> {
        self.regions
            .iter()
            .map(|r| format!("{} ({:#x}..{:#x})", r.name, r.start, r.start + r.bytes.len() as u64))
            .chain(self.values.iter().map(|v| v.name.clone()))
            .collect()
    }

    /// The static variable holding address `addr`, with the offset of `addr` in it (the smallest, when
    /// statics nest).
    pub fn static_at(&self, addr: u64) -> Option<(&SnapStatic, u64)> {
        let i = self.statics.partition_point(|s| s.address <= addr);
        self.statics[..i]
            .iter()
            .rev()
            .take(64)
            .filter(|s| addr < s.address + s.size.max(1))
            .min_by_key(|s| s.size)
            .map(|s| (s, addr - s.address))
    }

    /// `static rust_lib::CACHE (+8)` for an address inside a named static, `None` otherwise.
    pub fn static_name(&self, addr: u64) -> Option<String> {
        self.static_at(addr).map(|(s, off)| if off == 0 { format!("static {}", s.name) } else { format!("static {} (+{off})", s.name) })
    }

    /// How to name the word of root `root` (numbered like [`Self::root_names`]) at `addr` that holds a
    /// pointer: `static rust_lib::CACHE (+8), word at 0x100408` when a static covers it, else
    /// `static data (0x..0x..), word at 0x100408`; for a value root (`addr` None), its name.
    pub fn root_word_name(&self, root: u32, addr: Option<u64>) -> String {
        let names = self.root_names();
        let name = names.get(root as usize).cloned().unwrap_or_else(|| format!("root {root}"));
        match addr {
            Some(a) => match self.static_name(a) {
                Some(s) => format!("{s}, word at {a:#x}"),
                None => format!("{name}, word at {a:#x}"),
            },
            None => name,
        }
    }

    pub fn live_bytes(&self) -> u64 {
        self.blocks.iter().map(|b| b.size).sum()
    }

    /// The roots as the analysis takes them: the regions whose bytes the snapshot holds, and the values.
    pub fn roots(&self) -> Roots {
        Roots {
            regions: self
                .regions
                .iter()
                .map(|r| RootRegion { name: r.name.clone(), start: r.start, end: r.start + r.bytes.len() as u64 })
                .collect(),
            values: self.values.iter().map(|v| RootValue { name: v.name.clone(), value: v.value, host: v.host }).collect(),
            opaque: Vec::new(),
        }
    }

    /// The analysis of this snapshot's heap ([`crate::analyze`]), exactly as of the live run it was taken from
    /// (`stack` of its blocks indexes this snapshot's stacks).
    pub fn analyze(&self) -> Analysis {
        let bytes = Copied::new(self.blocks.iter().map(|b| (b.addr, b.size)), &self.contents, &self.regions);
        let blocks = self.blocks.iter().map(|b| Block { addr: b.addr, size: b.size, seq: b.seq, stack: StackId(b.stack) });
        analyze(blocks.collect(), bytes, &self.roots())
    }

    /// Copy what a snapshot needs out of a live memory image.
    pub fn capture_memory(blocks: &[Block], mem: Memory<'_>, roots: &Roots) -> (Vec<u8>, Vec<SnapRegion>, Vec<SnapValue>) {
        let (regions, values) = Snapshot::capture_roots(mem, roots);
        (Snapshot::capture_contents(blocks, mem, roots), regions, values)
    }

    /// The blocks' bytes of [`Snapshot::capture_memory`]: each block's in address order (an opaque block's and
    /// those past the end of memory zero).
    pub fn capture_contents(blocks: &[Block], mem: Memory<'_>, roots: &Roots) -> Vec<u8> {
        let total: usize = blocks.iter().map(|b| b.size as usize).sum();
        // Zeroed (fresh pages, not written twice): the bytes past the end of memory and an opaque block's stay so.
        let mut contents = vec![0u8; total];
        let copy = |blocks: &[Block], out: &mut [u8]| {
            let mut at = 0;
            for b in blocks {
                let start = (b.addr as usize).min(mem.bytes.len());
                let end = ((b.addr + b.size) as usize).min(mem.bytes.len());
                if !roots.opaque.contains(&b.addr) {
                    out[at..at + (end - start)].copy_from_slice(&mem.bytes[start..end]);
                }
                at += b.size as usize;
            }
        };
        // A host waits for this at exit: many blocks are copied on two cores.
        let mid = blocks.len() / 2;
        let (low, high) = contents.split_at_mut(blocks[..mid].iter().map(|b| b.size as usize).sum());
        crate::both_for(blocks.len(), || copy(&blocks[..mid], low), || copy(&blocks[mid..], high));
        contents
    }

    /// The root regions' bytes and the root values of [`Snapshot::capture_memory`].
    pub fn capture_roots(mem: Memory<'_>, roots: &Roots) -> (Vec<SnapRegion>, Vec<SnapValue>) {
        let regions = roots
            .regions
            .iter()
            .map(|r| {
                let s = (r.start as usize).min(mem.bytes.len());
                let e = (r.end as usize).min(mem.bytes.len()).max(s);
                SnapRegion { name: r.name.clone(), start: r.start, bytes: mem.bytes[s..e].to_vec() }
            })
            .collect();
        let values =
            roots.values.iter().map(|v| SnapValue { name: v.name.clone(), value: v.value, host: v.host }).collect();
        (regions, values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::SiteProfile;

    /// The analysis reads a heap state's copied bytes in place and finds what it finds on the memory they were
    /// copied from: edges and their offsets (a block at an address that is not 4-aligned, a block running past
    /// the end of memory), roots, a cycle, the pointer values on the paths.
    #[test]
    fn the_copied_bytes_analyse_as_the_memory() {
        let mut mem = vec![0u8; 0x400];
        let mut put = |at: usize, v: u32| mem[at..at + 4].copy_from_slice(&v.to_le_bytes());
        put(0x14, 0x100); // static data → A
        put(0x104, 0x202); // A → B
        put(0x108, 0x300); // A → C
        put(0x204, 0x104); // B (at 0x202) → inside A
        put(0x240, 0x250); // E → F
        put(0x254, 0x240); // F → E: a lost cycle
        put(0x3fc, 0x220); // C → D, C's last word in memory (C runs past the end)
        let block = |addr, size| Block { addr, size, seq: addr, stack: StackId(0) };
        let blocks = vec![block(0x100, 16), block(0x202, 10), block(0x220, 8), block(0x240, 8), block(0x250, 8), block(0x300, 0x200)];
        let roots = Roots { regions: vec![RootRegion { name: "static data".into(), start: 0x10, end: 0x30 }], values: Vec::new(), opaque: Vec::new() };
        let want = analyze(blocks.clone(), Memory { bytes: &mem }, &roots);
        let (contents, regions, values) = Snapshot::capture_memory(&blocks, Memory { bytes: &mem }, &roots);
        let state = HeapState { blocks: blocks.clone(), roots, contents: contents.clone(), regions: regions.clone(), ..Default::default() };
        assert_eq!(format!("{:?}", state.analyze()), format!("{want:?}"));
        assert_eq!(want.cycle_count(), 1);
        assert_eq!(want.edges_with_offsets(1).collect::<Vec<_>>(), vec![(0, 2)]);
        let snap = Snapshot {
            blocks: blocks.iter().map(|b| SnapBlock { addr: b.addr, size: b.size, seq: b.seq, stack: 0 }).collect(),
            contents,
            regions,
            values,
            ..Default::default()
        };
        assert_eq!(format!("{:?}", snap.analyze()), format!("{want:?}"));
    }

    /// Many blocks are copied on two threads: the bytes are those of a copy block by block, an opaque block's and
    /// those past the end of memory zero.
    #[test]
    fn many_blocks_copy_as_one_by_one() {
        let n = crate::TWO_THREADS + 10;
        let mut blocks = Vec::new();
        let mut at = 64u64;
        for k in 0..n as u64 {
            let size = 4 + (k * 7) % 29;
            blocks.push(Block { addr: at, size, seq: k, stack: StackId(0) });
            at += size + (k % 3);
        }
        blocks.last_mut().expect("blocks").size = 24;
        // The last block runs 10 bytes past the end of memory.
        let end = blocks.last().map_or(0, |b| b.addr + b.size);
        let mem: Vec<u8> = (0..end - 10).map(|i| (i * 31 % 251) as u8 + 1).collect();
        let opaque = blocks[n / 2].addr;
        let roots = Roots { regions: Vec::new(), values: Vec::new(), opaque: vec![opaque] };
        let (contents, _, _) = Snapshot::capture_memory(&blocks, Memory { bytes: &mem }, &roots);
        let mut want = Vec::new();
        for b in &blocks {
            for a in b.addr..b.addr + b.size {
                want.push(if b.addr == opaque { 0 } else { mem.get(a as usize).copied().unwrap_or(0) });
            }
        }
        assert_eq!(contents.len(), want.len());
        assert!(contents == want);
        assert_eq!(&contents[contents.len() - 10..], &[0; 10]);
    }

    /// The profile follows the rest of the file: it reads back, and a file written before it existed (the
    /// same bytes without it) reads with an empty profile; a reader that predates it stops before it.
    #[test]
    fn the_profile_is_appended() {
        let mut snap = Snapshot { module: "m.wasm".into(), index: 2, allocations: 7, ..Default::default() };
        snap.blocks.push(SnapBlock { addr: 0x100, size: 8, seq: 3, stack: 0 });
        snap.stacks.push(Vec::new());
        snap.contents = vec![1; 8];
        snap.profile.peak_bytes = 24;
        snap.profile.sites.push(SiteProfile { stack: 0, allocated_blocks: 7, allocated_bytes: 56, temporary_blocks: 2, peak_blocks: 3, peak_bytes: 24 });
        let bytes = snap.to_bytes();
        assert_eq!(Snapshot::from_bytes(&bytes).unwrap(), snap);
        let without = Snapshot { profile: AllocProfile::default(), ..snap.clone() };
        let old = {
            let out = bytes[..12].to_vec();
            postcard::to_extend(&without, out).unwrap()
        };
        assert!(bytes.starts_with(&old));
        assert_eq!(Snapshot::from_bytes(&old).unwrap(), without);
        let (predating, rest): (Snapshot, _) = postcard::take_from_bytes(&bytes[12..]).unwrap();
        assert_eq!((predating.blocks.len(), rest.is_empty()), (1, false));
        // A profile cut short: the snapshot still reads, without it.
        assert_eq!(Snapshot::from_bytes(&bytes[..bytes.len() - 3]).unwrap(), without);
        // The owners come after the profile, the same way.
        snap.owners.push(SnapOwner { block: 0x100, owner: 0x200, offset: 8, alloc_stack: 0, free_stack: 0 });
        let bytes = snap.to_bytes();
        assert_eq!(Snapshot::from_bytes(&bytes).unwrap(), snap);
        let cut = Snapshot::from_bytes(&bytes[..bytes.len() - 2]).unwrap();
        assert_eq!((cut.profile, cut.owners.len()), (snap.profile.clone(), 0));
        assert!(matches!(Snapshot::from_bytes(&old[..old.len() - 1]), Err(SnapshotError::Corrupt(_))));
    }
}
