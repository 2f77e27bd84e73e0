use rustc_hash::FxHashMap as HashMap;

/// One frame as the host captured it: a function of the *original* module and the offset of the call
/// instruction in the original module's bytes (hosts map instrumented offsets back before interning).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RawFrame {
    pub func: u32,
    /// Byte offset from the start of the original module; `u32::MAX` when unknown.
    pub offset: u32,
}

/// Index into a [`StackTable`]. `StackId::NONE` means "not captured" (e.g. the first pass of a replay).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StackId(pub u32);

impl StackId {
    pub const NONE: StackId = StackId(u32::MAX);
    pub fn is_none(self) -> bool {
        self == StackId::NONE
    }
}

/// Every distinct call stack stored once; allocation-heavy programs repeat a few hundred stacks millions of times.
#[derive(Default, Debug, Clone)]
pub struct StackTable {
    stacks: Vec<Box<[RawFrame]>>,
    index: HashMap<Box<[RawFrame]>, StackId>,
}

impl StackTable {
    pub fn intern(&mut self, frames: &[RawFrame]) -> StackId {
        if let Some(&id) = self.index.get(frames) {
            return id;
        }
        let id = StackId(self.stacks.len() as u32);
        let boxed: Box<[RawFrame]> = frames.into();
        self.stacks.push(boxed.clone());
        self.index.insert(boxed, id);
        id
    }

    /// Frames innermost first; empty for `StackId::NONE`.
    pub fn get(&self, id: StackId) -> &[RawFrame] {
        if id.is_none() {
            return &[];
        }
        &self.stacks[id.0 as usize]
    }

    /// Bytes held: every stack twice (the list and the index's key) plus the index's buckets.
    pub fn memory_bytes(&self) -> usize {
        let frames: usize = self.stacks.iter().map(|s| s.len() * std::mem::size_of::<RawFrame>()).sum();
        let per_stack = std::mem::size_of::<Box<[RawFrame]>>() * 2 + std::mem::size_of::<StackId>() + 1;
        2 * frames + self.index.capacity() * 8 / 7 * per_stack
    }

    pub fn len(&self) -> usize {
        self.stacks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.stacks.is_empty()
    }
}
