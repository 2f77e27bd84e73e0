//! Snapshots written in the formats other tools read. Each format is a module with
//! `write(snapshot, analysis, out)`; the analysis is the one of that same snapshot.

pub mod flamegraph;
pub mod heapsnapshot;
pub mod html;
pub mod pprof;

/// The string tables of the formats that have one (.heapsnapshot, pprof): each distinct string once, the
/// empty string at index 0, as both formats require.
#[derive(Default)]
pub(crate) struct Strings {
    pub(crate) list: Vec<String>,
    index: std::collections::HashMap<String, usize>,
}

impl Strings {
    pub(crate) fn new() -> Self {
        let mut s = Strings::default();
        s.id("");
        s
    }

    pub(crate) fn id(&mut self, s: &str) -> usize {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        self.list.push(s.to_owned());
        self.index.insert(s.to_owned(), self.list.len() - 1);
        self.list.len() - 1
    }
}

/// Whether a live block is one of the language runtime's one-time allocations (wasi-libc's argv copy) that
/// the report counts apart: exports label it `runtime`, never a leak. `runtime` is
/// [`wasmleak_report::runtime_stacks`] of the snapshot.
pub(crate) fn is_runtime(kind: wasmleak_heap::Kind, stack: u32, runtime: &[bool]) -> bool {
    kind != wasmleak_heap::Kind::Reachable && runtime.get(stack as usize).copied().unwrap_or(false)
}
