//! The instrumenter and the leak analysis for JavaScript hosts (Node, browsers): this crate compiles to
//! `wasm32-unknown-unknown` (`cargo build --release --target wasm32-unknown-unknown -p wasmleak-wasm`) and
//! `js/src/index.mjs` loads it. The JS side only records hook events and stacks; every decision — where the
//! allocator is, how the module is rewritten, what is a root, what leaked — is the Rust code the CLI runs.
//!
//! The ABI is plain C, no wasm-bindgen:
//! - `wl_alloc(len) -> ptr`, `wl_free(ptr, len)`: buffers in this module's memory for inputs.
//! - `wl_instrument(ptr, len) -> handle`: parse, find the allocator, rewrite. Output 0 is the instrumented
//!   module (empty on error), output 1 the metadata JSON (or `{"error": "..."}`).
//! - `wl_report(handle, json_ptr, json_len, events_ptr, events_len, mem_ptr, mem_len) -> status` (0 ok):
//!   `events` are little-endian u32 quintuples `[kind, a, b, c, stack]` (kind 1 alloc(ptr=a, size=b),
//!   2 free(ptr=a), 3 realloc(old=a, new=b, size=c); stack indexes the JSON's `stacks`, `u32::MAX` none);
//!   `mem` is the final linear memory image. Output 2 is the JSON report of DESIGN.md §4 (or `{"error"}`).
//! - `wl_out_ptr(handle, i)`, `wl_out_len(handle, i)`: read an output; `wl_release(handle)` drops it all.
//!
//! The handle keeps the original module and the instrumentation (its `CodeMap`) alive between calls.

use std::cell::RefCell;
use std::collections::HashMap;

use serde::Deserialize;
use serde_json::json;
use wasmleak_heap::{analyze, growth, HeapModel, HeapState, Memory, RawFrame, Snapshot, StackId};
use wasmleak_instrument::{find_allocator, instrument, roots, Instrumented, ModuleInfo, Overrides};
use wasmleak_report::{build, to_json, SnapshotTaker};
use wasmleak_symbolize::{NameSource, Symbolizer};

struct Entry {
    original: Vec<u8>,
    state: Option<(ModuleInfo, Instrumented)>,
    outputs: [Vec<u8>; 3],
}

thread_local! {
    static HANDLES: RefCell<Vec<Option<Entry>>> = const { RefCell::new(Vec::new()) };
}

fn error_json(msg: impl std::fmt::Display) -> Vec<u8> {
    json!({ "error": msg.to_string() }).to_string().into_bytes()
}

/// A buffer of `len` bytes in this module's memory (for inputs the JS side writes).
#[unsafe(no_mangle)]
pub extern "C" fn wl_alloc(len: usize) -> *mut u8 {
    let mut v = Vec::<u8>::with_capacity(len.max(1));
    let p = v.as_mut_ptr();
    std::mem::forget(v);
    p
}

/// # Safety
/// `ptr` and `len` must come from one `wl_alloc(len)` call, freed once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wl_free(ptr: *mut u8, len: usize) {
    drop(unsafe { Vec::from_raw_parts(ptr, 0, len.max(1)) });
}

unsafe fn input<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if len == 0 { &[] } else { unsafe { std::slice::from_raw_parts(ptr, len) } }
}

/// Instrument the module at `ptr..ptr+len`; returns a handle (never 0).
///
/// # Safety
/// `ptr..ptr+len` must be readable memory of this module (a `wl_alloc` buffer).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wl_instrument(ptr: *const u8, len: usize) -> u32 {
    let original = unsafe { input(ptr, len) }.to_vec();
    let (state, outputs) = match instrument_module(&original) {
        Ok((info, mut ins, meta)) => {
            // The rewritten bytes live on as output 0 only; the report needs the map, globals and statics.
            let bytes = std::mem::take(&mut ins.bytes);
            (Some((info, ins)), [bytes, meta, Vec::new()])
        }
        Err(e) => (None, [Vec::new(), error_json(e), Vec::new()]),
    };
    HANDLES.with(|h| {
        let mut h = h.borrow_mut();
        h.push(Some(Entry { original, state, outputs }));
        h.len() as u32
    })
}

/// Parse, find the allocator (names, DWARF, code shape) and rewrite, exactly as `wasmleak check` does.
pub fn instrument_module(bytes: &[u8]) -> Result<(ModuleInfo, Instrumented, Vec<u8>), String> {
    let info = ModuleInfo::parse(bytes).map_err(|e| e.to_string())?;
    let sym = Symbolizer::new(bytes).map_err(|e| format!("reading names: {e}"))?;
    let dwarf: HashMap<u32, String> = sym
        .function_names()
        .into_iter()
        .filter(|n| n.source == NameSource::Dwarf)
        .map(|n| (n.index, n.raw))
        .collect();
    let eps = find_allocator(bytes, &info, &dwarf, &Overrides::default()).map_err(|e| e.to_string())?;
    let ins = instrument(bytes, &info, &eps).map_err(|e| format!("instrumenting: {e}"))?;
    let meta = json!({
        "entry_points": ins.entry_points.iter().map(|e| json!({
            "func": e.func, "name": e.name, "role": e.role.to_string(), "evidence": e.evidence.to_string(),
        })).collect::<Vec<_>>(),
        "exported_globals": ins.exported_globals.iter().map(|(i, n)| json!([i, n])).collect::<Vec<_>>(),
        "memory_export": ins.memory_export,
    });
    Ok((info, ins, meta.to_string().into_bytes()))
}

#[unsafe(no_mangle)]
pub extern "C" fn wl_out_ptr(handle: u32, i: u32) -> *const u8 {
    with_entry(handle, |e| e.outputs.get(i as usize).map_or(std::ptr::null(), |o| o.as_ptr()))
}

#[unsafe(no_mangle)]
pub extern "C" fn wl_out_len(handle: u32, i: u32) -> usize {
    with_entry(handle, |e| e.outputs.get(i as usize).map_or(0, |o| o.len()))
}

#[unsafe(no_mangle)]
pub extern "C" fn wl_release(handle: u32) {
    HANDLES.with(|h| {
        if let Some(slot) = h.borrow_mut().get_mut((handle as usize).wrapping_sub(1)) {
            *slot = None;
        }
    })
}

fn with_entry<R: Default>(handle: u32, f: impl FnOnce(&mut Entry) -> R) -> R {
    HANDLES.with(|h| {
        h.borrow_mut().get_mut((handle as usize).wrapping_sub(1)).and_then(|s| s.as_mut()).map(f).unwrap_or_default()
    })
}

/// What the JS side recorded besides the events and the memory image.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Recorded {
    /// Module name in the report.
    pub module: String,
    /// Stacks as captured in the *instrumented* module: `[func_index, module_offset]`, innermost first.
    pub stacks: Vec<Vec<[u32; 2]>>,
    /// `[global index, value]` of the exported globals (`exported_globals` of the metadata).
    pub globals: Vec<(u32, i64)>,
    /// `[name, value]`: pointers the host holds.
    pub host_values: Vec<(String, u64)>,
    /// Completed iterations (1 for a command that returned).
    pub iteration: u64,
    pub exit: RecordedExit,
    pub notes: Vec<String>,
}

#[derive(Deserialize)]
#[serde(default)]
pub struct RecordedExit {
    pub status: String,
    pub code: Option<i32>,
    pub message: String,
}

impl Default for RecordedExit {
    fn default() -> Self {
        RecordedExit { status: "returned".into(), code: None, message: "returned".into() }
    }
}

/// Produce the report; 0 when output 2 is a report, 1 when it is `{"error"}`.
///
/// # Safety
/// Every `ptr..ptr+len` pair must be readable memory of this module.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wl_report(
    handle: u32,
    json_ptr: *const u8,
    json_len: usize,
    events_ptr: *const u8,
    events_len: usize,
    mem_ptr: *const u8,
    mem_len: usize,
) -> u32 {
    let (json, events, mem) = unsafe { (input(json_ptr, json_len), input(events_ptr, events_len), input(mem_ptr, mem_len)) };
    with_entry(handle, |e| {
        let out = match &e.state {
            None => Err("the module was not instrumented".to_string()),
            Some((info, ins)) => serde_json::from_slice::<Recorded>(json)
                .map_err(|err| format!("bad recording: {err}"))
                .and_then(|rec| report(&e.original, info, ins, &rec, events, mem)),
        };
        let (status, bytes) = match out {
            Ok(r) => (0, r.into_bytes()),
            Err(msg) => (1, error_json(msg)),
        };
        e.outputs[2] = bytes;
        status
    })
}

/// Replay the events into a heap model and report exactly as `wasmleak check` does (crates/cli/src/check.rs).
pub fn report(
    original: &[u8],
    info: &ModuleInfo,
    ins: &Instrumented,
    rec: &Recorded,
    events: &[u8],
    mem: &[u8],
) -> Result<String, String> {
    let sym = Symbolizer::new(original).map_err(|e| format!("reading names: {e}"))?;
    let mut model = HeapModel::new();
    // Map the instrumented frames back to the original module, as the wasmtime host does when capturing.
    let mut frames = Vec::new();
    let ids: Vec<StackId> = rec
        .stacks
        .iter()
        .map(|s| {
            frames.clear();
            for &[func, offset] in s {
                let Some(func) = ins.map.original_func(func) else { continue };
                let offset = ins.map.original_offset(offset).unwrap_or(u32::MAX);
                frames.push(RawFrame { func, offset });
            }
            model.stacks.intern(&frames)
        })
        .collect();
    if !events.len().is_multiple_of(20) {
        return Err(format!("the event buffer has {} bytes, not a multiple of 20", events.len()));
    }
    for ev in events.chunks_exact(20) {
        let w = |i: usize| u32::from_le_bytes(ev[i * 4..i * 4 + 4].try_into().unwrap());
        let stack = ids.get(w(4) as usize).copied().unwrap_or(StackId::NONE);
        match w(0) {
            1 => model.alloc(w(1) as u64, w(2) as u64, stack),
            2 => model.free(w(1) as u64, stack),
            3 => model.realloc(w(1) as u64, w(2) as u64, w(3) as u64, stack),
            k => return Err(format!("unknown event kind {k}")),
        }
    }
    let blocks = model.live_sorted();
    let roots = roots(info, ins, &rec.globals, &rec.host_values, model.lowest_block, mem.len() as u64);
    let (contents, mut regions, values) = Snapshot::capture_memory(&blocks, Memory { bytes: mem }, &roots);
    wasmleak_instrument::mask_link_time_words(info, &mut regions);
    let state = HeapState {
        iteration: rec.iteration,
        blocks,
        allocations: model.allocations,
        frees: model.frees,
        invalid_frees: model.invalid_frees.clone(),
        roots,
        contents,
        regions,
        values,
    };
    let mut taker = SnapshotTaker::new(&sym);
    let snaps = vec![taker.take(&rec.module, 1, &state, &model.stacks)];
    let snap = &snaps[0];
    let (image, roots, blocks) = snap.memory_image();
    let analysis = analyze(blocks, Memory { bytes: &image }, &roots);
    let status = match rec.exit.status.as_str() {
        "exited" => "exited",
        "trap" => "trap",
        "timeout" => "timeout",
        "memory-limit" => "memory-limit",
        _ => "returned",
    };
    let exit = wasmleak_report::Exit { status, code: rec.exit.code, message: rec.exit.message.clone() };
    let mut notes = rec.notes.clone();
    if !sym.has_dwarf() {
        notes.push("the module has no DWARF: stacks show function names without file:line (build with debug info, e.g. -g or debug = 1, for lines)".into());
    }
    let mut report = build(snap, &analysis, exit, notes);
    report.apply_growth(&growth(&snaps));
    Ok(to_json(&report))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/../../fixtures/wasm/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    fn call_instrument(bytes: &[u8]) -> (u32, serde_json::Value) {
        let p = wl_alloc(bytes.len());
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, bytes.len()) };
        let h = unsafe { wl_instrument(p, bytes.len()) };
        unsafe { wl_free(p, bytes.len()) };
        let meta = unsafe { std::slice::from_raw_parts(wl_out_ptr(h, 1), wl_out_len(h, 1)) };
        (h, serde_json::from_slice(meta).unwrap())
    }

    #[test]
    fn instrument_then_report_through_the_c_abi() {
        let (h, meta) = call_instrument(&fixture("c_patterns.wasm"));
        assert!(meta.get("error").is_none(), "{meta}");
        assert!(wl_out_len(h, 0) > 0);
        assert_eq!(meta["memory_export"], "wasmleak:memory");
        // One malloc(24) whose pointer nothing holds (an all-zero memory): lost, with its (empty) stack.
        let json = br#"{"module":"m.wasm","stacks":[[]],"iteration":1}"#;
        let mut events = Vec::new();
        for w in [1u32, 0x20000, 24, 0, 0] {
            events.extend_from_slice(&w.to_le_bytes());
        }
        let mem = vec![0u8; 0x30000];
        let status = unsafe {
            wl_report(h, json.as_ptr(), json.len(), events.as_ptr(), events.len(), mem.as_ptr(), mem.len())
        };
        let out: serde_json::Value =
            serde_json::from_slice(unsafe { std::slice::from_raw_parts(wl_out_ptr(h, 2), wl_out_len(h, 2)) }).unwrap();
        assert_eq!(status, 0, "{out}");
        assert_eq!(out["summary"]["lost_blocks"], 1, "{out}");
        assert_eq!(out["summary"]["lost_bytes"], 24, "{out}");
        // A malformed event buffer is an error, not a panic.
        let status = unsafe { wl_report(h, json.as_ptr(), json.len(), events.as_ptr(), 7, mem.as_ptr(), mem.len()) };
        assert_eq!(status, 1);
        wl_release(h);
        assert_eq!(wl_out_len(h, 0), 0);
    }

    #[test]
    fn a_bad_module_is_a_json_error() {
        let (h, meta) = call_instrument(b"not wasm");
        assert!(meta["error"].as_str().is_some_and(|e| !e.is_empty()), "{meta}");
        assert_eq!(wl_out_len(h, 0), 0);
        wl_release(h);
    }
}
