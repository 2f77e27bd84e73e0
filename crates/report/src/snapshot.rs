//! Taking a snapshot of a live heap: stacks symbolized once (allocator frames dropped), the bytes the scan
//! needs copied out of linear memory.

use rustc_hash::FxHashMap as HashMap;

use wasmleak_heap::{
    HeapState, InvalidFreeKind, RawFrame, SnapBlock, SnapFrame, SnapInvalidFree, SnapOwner, SnapStatic, Snapshot, StackId,
    StackTable,
};
use wasmleak_symbolize::Symbolizer;

use crate::hint::is_allocator_frame;

/// Interns symbolized stacks into a snapshot's frame and stack tables. Reuse one across the snapshots of a
/// run: every raw frame is symbolized once.
pub struct SnapshotTaker<'a> {
    sym: &'a Symbolizer,
    raw: FrameCache,
    /// The module's statics (DWARF), read on first use.
    statics: Option<Vec<SnapStatic>>,
    /// Frames of the host's own code (JavaScript), already symbolized: raw frames whose `func` is
    /// [`HOST_FRAME`]` + i` stand for `host[i]`.
    host: &'a [SnapFrame],
    /// Minified export names (`U`) and the names of the glue functions seen calling them (`_sqlite3_exec`).
    glue_names: HashMap<String, String>,
}

/// Raw frames symbolized: what a [`SnapshotTaker`] keeps, and a host can keep across takers (the JS runtime's
/// session keeps one for all its snapshots and the report).
pub type FrameCache = HashMap<RawFrame, Vec<SnapFrame>>;

/// An Emscripten-minified export name: one to three letters, digits, `$` or `_`.
fn is_minified(name: &str) -> bool {
    (1..=3).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '$' || c == '_')
}

/// `_sqlite3_exec` from the glue's `f._sqlite3_exec` or `_sqlite3_exec`: Emscripten names a C function's JS
/// wrapper after it, with a leading underscore.
fn glue_name(js: &str) -> Option<String> {
    let last = js.rsplit('.').next()?;
    (last.len() > 1 && last.starts_with('_') && last[1..].chars().all(|c| c.is_ascii_alphanumeric() || c == '_')).then(|| last.to_string())
}

/// Raw frames with `func >= HOST_FRAME` are host (JavaScript) frames; see [`SnapshotTaker::with_host_frames`].
pub const HOST_FRAME: u32 = 0xC000_0000;

struct Tables {
    frames: Vec<SnapFrame>,
    frame_ids: HashMap<SnapFrame, u32>,
    stacks: Vec<Vec<u32>>,
    /// By the run's stack id (they index its table): the snapshot's, `u32::MAX` until symbolized. Looked up once
    /// per block: an array, not a hash lookup (the snapshot's largest item in a profile of 300,000 blocks).
    stack_ids: Vec<u32>,
}

impl<'a> SnapshotTaker<'a> {
    pub fn new(sym: &'a Symbolizer) -> Self {
        SnapshotTaker { sym, raw: HashMap::default(), statics: None, host: &[], glue_names: HashMap::default() }
    }

    /// Start from frames symbolized before (see [`FrameCache`]); [`Self::into_cache`] gives them back.
    pub fn with_cache(mut self, cache: FrameCache) -> Self {
        self.raw = cache;
        self
    }

    pub fn into_cache(self) -> FrameCache {
        self.raw
    }

    /// Host frames the stacks may contain (JS frames between and around the wasm ones).
    pub fn with_host_frames(mut self, frames: &'a [SnapFrame]) -> Self {
        self.host = frames;
        self
    }

    fn symbolize(&mut self, raw: RawFrame) -> &[SnapFrame] {
        let sym = self.sym;
        if raw.func >= HOST_FRAME {
            let i = (raw.func - HOST_FRAME) as usize;
            return self.host.get(i..=i).unwrap_or(&[]);
        }
        self.raw.entry(raw).or_insert_with(|| {
            let offset = (raw.offset != u32::MAX).then_some(raw.offset);
            sym.symbolize(raw.func, offset)
                .into_iter()
                .map(|f| SnapFrame { function: f.function, file: f.file, line: f.line, column: f.column, inlined: f.inlined })
                .collect()
        })
    }

    fn stack(&mut self, t: &mut Tables, table: &StackTable, id: StackId) -> u32 {
        if id.is_none() {
            return u32::MAX;
        }
        if t.stack_ids[id.0 as usize] != u32::MAX {
            return t.stack_ids[id.0 as usize];
        }
        let mut frames: Vec<SnapFrame> = Vec::new();
        let mut previous_wasm: Option<String> = None;
        for &raw in table.get(id) {
            let symbolized = self.symbolize(raw).to_vec();
            // Emscripten's minified exports (`U`) are called by glue named for them (`f._sqlite3_exec`).
            if raw.func >= HOST_FRAME {
                if let (Some(export), Some(glue)) = (previous_wasm.take(), symbolized.first().and_then(|f| glue_name(&f.function))) {
                    self.glue_names.entry(export).or_insert(glue);
                }
            } else {
                previous_wasm = symbolized.last().filter(|f| f.file.is_none() && is_minified(&f.function)).map(|f| f.function.clone());
            }
            frames.extend(symbolized);
        }
        // Innermost first: drop the allocator's own frames, but keep at least one.
        let skip = frames.iter().take_while(|f| is_allocator_frame(&f.function, f.file.as_deref())).count();
        frames.drain(..skip.min(frames.len().saturating_sub(1)));
        let ids = frames
            .into_iter()
            .map(|f| {
                *t.frame_ids.entry(f.clone()).or_insert_with(|| {
                    t.frames.push(f);
                    t.frames.len() as u32 - 1
                })
            })
            .collect();
        t.stacks.push(ids);
        let s = t.stacks.len() as u32 - 1;
        t.stack_ids[id.0 as usize] = s;
        s
    }

    /// Symbolize a heap state (`table`: the run's stacks) into snapshot number `index`.
    pub fn take(&mut self, module: &str, index: u32, state: &HeapState, table: &StackTable) -> Snapshot {
        self.take_with(module, index, state, state.contents.clone(), table)
    }

    /// [`Self::take`] with the state's block contents given apart (moved out of it, or left for later: a copy of
    /// every block's bytes is the largest allocation at exit).
    pub fn take_with(&mut self, module: &str, index: u32, state: &HeapState, contents: Vec<u8>, table: &StackTable) -> Snapshot {
        let mut t = Tables { frames: Vec::new(), frame_ids: HashMap::default(), stacks: Vec::new(), stack_ids: vec![u32::MAX; table.len()] };
        let blocks = state
            .blocks
            .iter()
            .map(|b| SnapBlock { addr: b.addr, size: b.size, seq: b.seq, stack: self.stack(&mut t, table, b.stack) })
            .collect();
        let invalid_frees = state
            .invalid_frees
            .iter()
            .map(|f| SnapInvalidFree {
                double: f.kind == InvalidFreeKind::Double,
                addr: f.addr,
                stack: self.stack(&mut t, table, f.stack),
                first_free_stack: self.stack(&mut t, table, f.first_free_stack),
                alloc_stack: self.stack(&mut t, table, f.alloc_stack),
                interior: f.interior,
            })
            .collect();
        let mut profile = state.profile.clone();
        for site in &mut profile.sites {
            site.stack = self.stack(&mut t, table, StackId(site.stack));
        }
        for sample in &mut profile.samples {
            for site in &mut sample.sites {
                site.0 = self.stack(&mut t, table, StackId(site.0));
            }
        }
        let owners = state
            .owners
            .iter()
            .map(|o| SnapOwner {
                block: o.block,
                owner: o.owner,
                offset: o.offset,
                alloc_stack: self.stack(&mut t, table, o.alloc_stack),
                free_stack: self.stack(&mut t, table, o.free_stack),
            })
            .collect();
        let all = self.statics.get_or_insert_with(|| sym_statics(self.sym));
        let statics = all
            .iter()
            .filter(|s| {
                state.regions.iter().any(|r| s.address < r.start + r.bytes.len() as u64 && r.start < s.address + s.size.max(1))
            })
            .cloned()
            .collect();
        if !self.glue_names.is_empty() {
            // Every frame of a minified export, wherever it was called from.
            for f in t.frames.iter_mut().filter(|f| f.file.is_none()) {
                if let Some(glue) = self.glue_names.get(&f.function) {
                    f.function = format!("{glue} (export {})", f.function);
                }
            }
        }
        Snapshot {
            statics,
            module: module.to_string(),
            index,
            iteration: state.iteration,
            allocations: state.allocations,
            frees: state.frees,
            blocks,
            contents,
            frames: t.frames,
            stacks: t.stacks,
            regions: state.regions.clone(),
            values: state.values.clone(),
            invalid_frees,
            profile,
            owners,
        }
    }
}

fn sym_statics(sym: &Symbolizer) -> Vec<SnapStatic> {
    sym.statics().into_iter().map(|d| SnapStatic { name: d.name, address: d.address, size: d.size }).collect()
}
