use wasmleak_heap::RawFrame;
use wasmleak_instrument::CodeMap;
use wasmtime::{AsContext, WasmBacktrace};

/// Which events get a stack.
#[derive(Clone, Debug)]
pub(crate) enum Capture {
    None,
    All,
    /// Sorted event sequence numbers; events arrive in order, so a cursor walks the list once.
    Only { seqs: Vec<u64>, cursor: usize },
}

impl Capture {
    pub(crate) fn wants(&mut self, seq: u64) -> bool {
        match self {
            Capture::None => false,
            Capture::All => true,
            Capture::Only { seqs, cursor } => {
                while *cursor < seqs.len() && seqs[*cursor] < seq {
                    *cursor += 1;
                }
                *cursor < seqs.len() && seqs[*cursor] == seq
            }
        }
    }
}

/// The wasm frames of the current call, innermost first, in the original module's terms. Frames of code
/// wasmleak added (the allocator wrappers) are left out.
pub(crate) fn capture(store: impl AsContext, map: &CodeMap, out: &mut Vec<RawFrame>) {
    out.clear();
    let bt = WasmBacktrace::capture(store);
    for f in bt.frames() {
        let Some(func) = map.original_func(f.func_index()) else { continue };
        let offset = f.module_offset().and_then(|o| map.original_offset(o as u32)).unwrap_or(u32::MAX);
        out.push(RawFrame { func, offset });
    }
}
