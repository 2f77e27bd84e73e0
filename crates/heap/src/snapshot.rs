//! A snapshot of the heap at one moment: every live block with its allocation stack (symbolized, so the
//! file stands alone), the bytes the pointer scan needs (block contents and root regions), and the roots.
//! The analysis runs on a snapshot exactly as on a live run.
//!
//! File format: the 8-byte magic `WLSNAP\0\0`, a little-endian u32 format version, then the snapshot in
//! postcard encoding. Readers refuse other versions with a message naming both.

use serde::{Deserialize, Serialize};

use crate::analysis::{Memory, RootRegion, RootValue, Roots};
use crate::model::Block;
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
    /// What [`Snapshot::capture_memory`] copied (empty when the host only needed the live set).
    pub contents: Vec<u8>,
    pub regions: Vec<SnapRegion>,
    pub values: Vec<SnapValue>,
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
        postcard::to_extend(self, out).expect("a snapshot is plain data")
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Snapshot, SnapshotError> {
        if bytes.len() < 12 || &bytes[..8] != MAGIC {
            return Err(SnapshotError::NotASnapshot);
        }
        let found = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
        if found != FORMAT_VERSION {
            return Err(SnapshotError::Version { found, supported: FORMAT_VERSION });
        }
        postcard::from_bytes(&bytes[12..]).map_err(|e| SnapshotError::Corrupt(e.to_string()))
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

    /// A memory image holding the blocks' and root regions' bytes at their addresses (zeros elsewhere),
    /// the roots, and the blocks, ready for [`crate::analyze`].
    pub fn memory_image(&self) -> (Vec<u8>, Roots, Vec<Block>) {
        let end = self
            .blocks
            .iter()
            .map(|b| b.addr + b.size)
            .chain(self.regions.iter().map(|r| r.start + r.bytes.len() as u64))
            .max()
            .unwrap_or(0);
        let mut mem = vec![0u8; end as usize];
        let mut at = 0usize;
        for b in &self.blocks {
            let n = b.size as usize;
            mem[b.addr as usize..b.addr as usize + n].copy_from_slice(&self.contents[at..at + n]);
            at += n;
        }
        for r in &self.regions {
            mem[r.start as usize..r.start as usize + r.bytes.len()].copy_from_slice(&r.bytes);
        }
        let roots = Roots {
            regions: self
                .regions
                .iter()
                .map(|r| RootRegion { name: r.name.clone(), start: r.start, end: r.start + r.bytes.len() as u64 })
                .collect(),
            values: self.values.iter().map(|v| RootValue { name: v.name.clone(), value: v.value, host: v.host }).collect(),
        };
        (mem, roots, self.analysis_blocks())
    }

    /// The blocks as the analysis takes them (`stack` indexes this snapshot's stacks).
    pub fn analysis_blocks(&self) -> Vec<Block> {
        self.blocks.iter().map(|b| Block { addr: b.addr, size: b.size, seq: b.seq, stack: StackId(b.stack) }).collect()
    }

    /// Copy what a snapshot needs out of a live memory image.
    pub fn capture_memory(blocks: &[Block], mem: Memory<'_>, roots: &Roots) -> (Vec<u8>, Vec<SnapRegion>, Vec<SnapValue>) {
        let mut contents = Vec::with_capacity(blocks.iter().map(|b| b.size as usize).sum());
        for b in blocks {
            let start = (b.addr as usize).min(mem.bytes.len());
            let end = ((b.addr + b.size) as usize).min(mem.bytes.len());
            contents.extend_from_slice(&mem.bytes[start..end]);
            contents.resize(contents.len() + (b.size as usize - (end - start)), 0);
        }
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
        (contents, regions, values)
    }
}
