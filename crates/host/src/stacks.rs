use wasmleak_heap::RawFrame;
use wasmleak_instrument::CodeMap;
use wasmtime::{AsContext, WasmBacktrace};

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
