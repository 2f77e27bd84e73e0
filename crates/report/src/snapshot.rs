//! Taking a snapshot of a live heap: stacks symbolized once (allocator frames dropped), the bytes the scan
//! needs copied out of linear memory.

use rustc_hash::FxHashMap as HashMap;

use wasmleak_heap::{
    HeapState, InvalidFreeKind, RawFrame, SnapBlock, SnapFrame, SnapInvalidFree, SnapStatic, Snapshot, StackId,
    StackTable,
};
use wasmleak_symbolize::Symbolizer;

use crate::hint::is_allocator_frame;

/// Interns symbolized stacks into a snapshot's frame and stack tables. Reuse one across the snapshots of a
/// run: every raw frame is symbolized once.
pub struct SnapshotTaker<'a> {
    sym: &'a Symbolizer,
    raw: HashMap<RawFrame, Vec<SnapFrame>>,
    /// The module's statics (DWARF), read on first use.
    statics: Option<Vec<SnapStatic>>,
    /// Frames of the host's own code (JavaScript), already symbolized: raw frames whose `func` is
    /// [`HOST_FRAME`]` + i` stand for `host[i]`.
    host: &'a [SnapFrame],
}

/// Raw frames with `func >= HOST_FRAME` are host (JavaScript) frames; see [`SnapshotTaker::with_host_frames`].
pub const HOST_FRAME: u32 = 0xC000_0000;

struct Tables {
    frames: Vec<SnapFrame>,
    frame_ids: HashMap<SnapFrame, u32>,
    stacks: Vec<Vec<u32>>,
    stack_ids: HashMap<StackId, u32>,
}

impl<'a> SnapshotTaker<'a> {
    pub fn new(sym: &'a Symbolizer) -> Self {
        SnapshotTaker { sym, raw: HashMap::default(), statics: None, host: &[] }
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
        if let Some(&s) = t.stack_ids.get(&id) {
            return s;
        }
        let mut frames: Vec<SnapFrame> = Vec::new();
        for &raw in table.get(id) {
            frames.extend_from_slice(self.symbolize(raw));
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
        t.stack_ids.insert(id, s);
        s
    }

    /// Symbolize a heap state (`table`: the run's stacks) into snapshot number `index`.
    pub fn take(&mut self, module: &str, index: u32, state: &HeapState, table: &StackTable) -> Snapshot {
        let mut t = Tables { frames: Vec::new(), frame_ids: HashMap::default(), stacks: Vec::new(), stack_ids: HashMap::default() };
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
        let all = self.statics.get_or_insert_with(|| sym_statics(self.sym));
        let statics = all
            .iter()
            .filter(|s| {
                state.regions.iter().any(|r| s.address < r.start + r.bytes.len() as u64 && r.start < s.address + s.size.max(1))
            })
            .cloned()
            .collect();
        Snapshot {
            statics,
            module: module.to_string(),
            index,
            iteration: state.iteration,
            allocations: state.allocations,
            frees: state.frees,
            blocks,
            contents: state.contents.clone(),
            frames: t.frames,
            stacks: t.stacks,
            regions: state.regions.clone(),
            values: state.values.clone(),
            invalid_frees,
            profile,
        }
    }
}

fn sym_statics(sym: &Symbolizer) -> Vec<SnapStatic> {
    sym.statics().into_iter().map(|d| SnapStatic { name: d.name, address: d.address, size: d.size }).collect()
}
