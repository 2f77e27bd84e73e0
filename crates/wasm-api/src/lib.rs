//! The instrumenter and the leak analysis for JavaScript hosts (Node, browsers): this crate compiles to
//! `wasm32-unknown-unknown` (`cargo build --release --target wasm32-unknown-unknown -p wasmleak-wasm`) and
//! `js/src/index.mjs` loads it. The JS side only records hook events and stacks; every decision — where the
//! allocator is, how the module is rewritten, what is a root, what leaked, what grew — is the Rust code the
//! CLI runs.
//!
//! The ABI is plain C, no wasm-bindgen. Every call that produces something returns a handle (never 0) whose
//! outputs are read with `wl_out_ptr(handle, i)` / `wl_out_len(handle, i)`; `wl_release(handle)` drops it.
//! - `wl_alloc(len) -> ptr`, `wl_free(ptr, len)`: buffers in this module's memory for inputs.
//! - `wl_instrument(ptr, len) -> module`: parse, find the allocator, rewrite. Output 0 is the instrumented
//!   module (empty on error), output 1 the metadata JSON (or `{"error": "...", "status", "heap"}`).
//! - `wl_instrument_with(ptr, len, opts, opts_len) -> module`: the same with the user's entry points
//!   (`{"alloc": ["25"], "free": ["31"], ...}`, as `--alloc-fn` & co. take them).
//! - `wl_instrument_debug(ptr, len, opts, opts_len, dbg, dbg_len) -> module`: and the names and DWARF of a debug
//!   file (used when its code is the module's).
//!   The `wl_instrument*` handles have output 2: what the instrumentation found (JSON), which `wl_restore` takes.
//! - `wl_restore(ptr, len, state, state_len) -> module`: the module as `wl_instrument*` made it from the same
//!   bytes, from its output 2, without instrumenting it again (a host that cached the instrumented module):
//!   output 1 is `{}` (or `{"error"}`), output 0 empty.
//! - `wl_session(module) -> session`: the heap of one instance of that module.
//! - `wl_record(session, json, events) -> status` (0 ok; else output 0 is `{"error"}`): appends the stacks
//!   and JS frames captured since the last call (`{"stacks": [[[func, offset] | [4294967295, js_frame]]],
//!   "js_frames": [{"function", "file", "line", "column"}]}`, numbered on from the previous calls) and applies
//!   the events: little-endian u32 quintuples `[kind, a, b, c, stack]` (kind 1 alloc(ptr=a, size=b),
//!   2 free(ptr=a), 3 realloc(old=a, new=b, size=c), 4 the allocation stack of the live block at `a`, resolved
//!   later (not an allocator event), 5 free(ptr=a) of a live block whose first four words held b, c and the
//!   first two of the next quintuple (which is no event) before the allocator ran: each the address of a live
//!   block, or 0), 6 the host's clock: `a` milliseconds from the start of the run (not an allocator event), 7 the
//!   live block at `a` is at `b` now, `c` bytes: moved by the allocator itself, not an event of the program's
//!   (`HeapModel::moved`); `stack` numbers the stacks, `u32::MAX` none).
//! - `wl_snapshot(session, json, mem) -> status`: `json` is [`State`], `mem` the linear memory image.
//!   Output 0 is the `.wlsnap` file (the format `wasmleak check --save` writes), output 1 a summary JSON. The
//!   session keeps the snapshot's live set for the growth verdict.
//! - `wl_report(session, json, mem) -> status`: `json` is [`State`] plus `exit` and `notes`; output 0 is the
//!   JSON report of docs/contracts.md for the heap now, with growth over the session's snapshots, output 1 the
//!   same report as `wasmleak check` prints it.
//! - `wl_diff(a, a_len, b, b_len, opts, opts_len) -> handle`: two `.wlsnap` files compared like `wasmleak
//!   diff`; output 0 is the JSON (`{module, before, after, rows}` or `{"error"}`), output 1 the text.

use std::cell::RefCell;
use std::rc::Rc;

use serde::Deserialize;
use serde_json::json;
use wasmleak_heap::{growth, owners, Block, HeapModel, HeapState, Memory, RawFrame, RootValue, SnapFrame, Snapshot, StackId};
use wasmleak_instrument::exit::held_at_exit;
use wasmleak_instrument::{discover, instrument_with, roots, Discovery, InstrumentOptions, Instrumented, ModuleInfo, Overrides};
use wasmleak_report::{build, FrameCache, diff_by, diff_json, diff_text, to_json, to_text, GroupBy, Report, SnapshotTaker, SortBy, TextOptions, HOST_FRAME, debug_info_note};
use wasmleak_symbolize::Symbolizer;

/// An instrumented module: what reports need to map frames back and find the roots.
pub struct Module {
    pub original: Vec<u8>,
    pub info: ModuleInfo,
    pub ins: Instrumented,
    pub sym: Symbolizer,
}

/// One instance's heap, fed by `wl_record`.
pub struct Session {
    module: Rc<Module>,
    model: HeapModel,
    /// JS stack number → the model's stack.
    stacks: Vec<StackId>,
    js_frames: Vec<SnapFrame>,
    /// The snapshots taken so far, without their memory bytes (growth needs only the live sets), thinned.
    snaps: Vec<Snapshot>,
    /// Snapshots taken (numbers them).
    taken: u32,
    /// Only snapshots numbered a multiple of this are kept (see `keep`).
    stride: u32,
    /// The stacks' wasm frames symbolized so far: each snapshot, and the report, symbolizes only frames none before
    /// it had (a run with periodic snapshots symbolized every frame again at each).
    symbolized: RefCell<FrameCache>,
}

/// Snapshots a session keeps for the growth verdict.
pub const MAX_KEPT: usize = 32;

enum Object {
    Module(Rc<Module>),
    Session(Box<Session>),
    Plain,
}

struct Entry {
    object: Object,
    outputs: Vec<Vec<u8>>,
}

thread_local! {
    static HANDLES: RefCell<Vec<Option<Entry>>> = const { RefCell::new(Vec::new()) };
}

fn error_json(msg: impl std::fmt::Display) -> Vec<u8> {
    json!({ "error": msg.to_string() }).to_string().into_bytes()
}

fn new_handle(object: Object, outputs: Vec<Vec<u8>>) -> u32 {
    HANDLES.with(|h| {
        let mut h = h.borrow_mut();
        h.push(Some(Entry { object, outputs }));
        h.len() as u32
    })
}

fn with_entry<R: Default>(handle: u32, f: impl FnOnce(&mut Entry) -> R) -> R {
    HANDLES.with(|h| {
        h.borrow_mut().get_mut((handle as usize).wrapping_sub(1)).and_then(|s| s.as_mut()).map(f).unwrap_or_default()
    })
}

/// The message of the panic that trapped the last call: a panic is a trap here (no unwinding), and the trap
/// alone says only "unreachable"; the JS side reads this to say what failed (`wl_panic_ptr`, `wl_panic_len`).
static PANIC: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());

/// Keep each panic's message for the JS side. Called once, after instantiation.
#[unsafe(no_mangle)]
pub extern "C" fn wl_init() {
    std::panic::set_hook(Box::new(|info| {
        if let Ok(mut p) = PANIC.lock() {
            *p = info.to_string();
        }
    }));
}

#[unsafe(no_mangle)]
pub extern "C" fn wl_panic_ptr() -> *const u8 {
    PANIC.lock().map_or(std::ptr::null(), |p| p.as_ptr())
}

#[unsafe(no_mangle)]
pub extern "C" fn wl_panic_len() -> usize {
    PANIC.lock().map_or(0, |p| p.len())
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

/// Instrument the module at `ptr..ptr+len`; returns a handle (never 0).
///
/// # Safety
/// `ptr..ptr+len` must be readable memory of this module (a `wl_alloc` buffer).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wl_instrument(ptr: *const u8, len: usize) -> u32 {
    unsafe { wl_instrument_with(ptr, len, b"{}".as_ptr(), 2) }
}

/// [`wl_instrument`] with options: `{alloc, free, realloc, calloc, aligned_alloc, posix_memalign}`, each a list
/// of function names or indices (`wasmleak node --alloc-fn N`), as `wasmleak check` takes them.
///
/// # Safety
/// Both ranges must be readable memory of this module (`wl_alloc` buffers).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wl_instrument_with(ptr: *const u8, len: usize, opts_ptr: *const u8, opts_len: usize) -> u32 {
    unsafe { wl_instrument_debug(ptr, len, opts_ptr, opts_len, std::ptr::null(), 0) }
}

/// [`wl_instrument_with`], symbolizing with the names and DWARF of `dbg` (the module's unstripped build or its
/// separate DWARF file, `wasmleak node --debug-file`) when its code is the module's; empty: none.
///
/// # Safety
/// Every range must be readable memory of this module (`wl_alloc` buffers); `dbg_len` 0 needs no pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wl_instrument_debug(
    ptr: *const u8,
    len: usize,
    opts_ptr: *const u8,
    opts_len: usize,
    dbg_ptr: *const u8,
    dbg_len: usize,
) -> u32 {
    let original = unsafe { input(ptr, len) }.to_vec();
    let debug = if dbg_len == 0 { &[][..] } else { unsafe { input(dbg_ptr, dbg_len) } };
    match instrument_outputs(original, unsafe { input(opts_ptr, opts_len) }, debug) {
        Ok((module, outputs)) => new_handle(Object::Module(Rc::new(module)), outputs.into()),
        Err(meta) => new_handle(Object::Plain, vec![Vec::new(), meta]),
    }
}

/// What `wl_instrument_debug` outputs for a module it could instrument — `[bytes, meta, state]` — or else the
/// meta that says why not. `wasmleak node` runs this natively for the JS runtime, whose copy in wasm takes
/// 2–7× as long when cold (js/src/analysis.mjs `RemoteAnalysis.instrument`): the outputs must be the same either way.
pub fn instrument_outputs(original: Vec<u8>, options: &[u8], debug: &[u8]) -> Result<(Module, [Vec<u8>; 3]), Vec<u8>> {
    let (overrides, threads) = match serde_json::from_slice::<AllocatorOptions>(options) {
        Ok(o) => (Overrides::from(&o), o.threads),
        Err(e) => return Err(error_json(format!("bad options: {e}"))),
    };
    let (mut module, meta) = instrument_module_with(original, &overrides, debug, threads)?;
    let bytes = std::mem::take(&mut module.ins.bytes);
    let state = serde_json::to_vec(&module.ins).unwrap_or_default();
    Ok((module, [bytes, meta, state]))
}

/// A module as [`wl_instrument_with`] made it from these bytes, from its output 2 (see the crate's doc).
///
/// # Safety
/// Both ranges must be readable memory of this module (`wl_alloc` buffers).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wl_restore(ptr: *const u8, len: usize, state_ptr: *const u8, state_len: usize) -> u32 {
    let original = unsafe { input(ptr, len) }.to_vec();
    let restored = (|| -> Result<Module, String> {
        let ins: Instrumented = serde_json::from_slice(unsafe { input(state_ptr, state_len) }).map_err(|e| format!("a bad state: {e}"))?;
        let info = ModuleInfo::parse(&original).map_err(|e| e.to_string())?;
        let sym = Symbolizer::new(&original).map_err(|e| format!("reading names: {e}"))?;
        Ok(Module { original, info, ins, sym })
    })();
    match restored {
        Ok(module) => new_handle(Object::Module(Rc::new(module)), vec![Vec::new(), b"{}".to_vec()]),
        Err(e) => new_handle(Object::Plain, vec![Vec::new(), error_json(format!("restoring a cached module: {e}"))]),
    }
}

/// The allocator options of `wl_instrument_with`.
#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct AllocatorOptions {
    alloc: Vec<String>,
    free: Vec<String>,
    realloc: Vec<String>,
    calloc: Vec<String>,
    aligned_alloc: Vec<String>,
    posix_memalign: Vec<String>,
    /// The host feeds the events of every thread to one model in order (js/src/threads.mjs): a module with
    /// shared memory is instrumented for it instead of refused.
    threads: bool,
}

impl From<&AllocatorOptions> for Overrides {
    fn from(o: &AllocatorOptions) -> Self {
        Overrides {
            alloc: o.alloc.clone(),
            free: o.free.clone(),
            realloc: o.realloc.clone(),
            calloc: o.calloc.clone(),
            aligned_alloc: o.aligned_alloc.clone(),
            posix_memalign: o.posix_memalign.clone(),
        }
    }
}

/// Parse, find the allocator (names, DWARF, code shape) and rewrite, exactly as `wasmleak check` does.
pub fn instrument_module(original: Vec<u8>) -> Result<(Module, Vec<u8>), String> {
    instrument_module_with(original, &Overrides::default(), &[], false).map_err(|e| {
        serde_json::from_slice::<serde_json::Value>(&e).ok().and_then(|v| v["error"].as_str().map(str::to_string)).unwrap_or_default()
    })
}

/// [`instrument_module`] with the user's entry points; the error is the JSON `{error, status, heap}`: `status`
/// as `wasmleak inspect --format json` says it (`not_found`, `language_runtime`, `unsupported`, `malformed`),
/// `heap`: the module grows a linear-memory heap (so leaving it untracked hides what a leak checker is for).
fn instrument_module_with(original: Vec<u8>, overrides: &Overrides, debug: &[u8], threads: bool) -> Result<(Module, Vec<u8>), Vec<u8>> {
    let refuse = |status: &str, heap: bool, msg: String| json!({"error": msg, "status": status, "heap": heap}).to_string().into_bytes();
    let info = ModuleInfo::parse(&original).map_err(|e| refuse("malformed", false, e.to_string()))?;
    // A debug file that is not this module's build (another module of the app) is left out.
    let with_debug = (!debug.is_empty()).then(|| Symbolizer::with_debug_file(&original, debug, "the debug file").ok()).flatten();
    let sym = match with_debug {
        Some(s) => s,
        None => Symbolizer::new(&original).map_err(|e| refuse("malformed", false, format!("reading names: {e}")))?,
    };
    // Read only on the way out with an error (it scans the code).
    let heap = || !wasmleak_instrument::heapless(&original, &info, &sym);
    // With a debug file every name it has is the finder's (the module's own name section is empty).
    let names: std::collections::HashMap<u32, String> = if sym.debug_source().is_some() {
        sym.function_names().into_iter().map(|n| (n.index, n.raw)).collect()
    } else {
        sym.dwarf_function_names()
    };
    let found = discover(&original, &info, &names, overrides, &Discovery::default()).map_err(|e| {
        let status = match &e {
            wasmleak_instrument::Error::LanguageRuntime(_) => "language_runtime",
            wasmleak_instrument::Error::Unsupported(_) => "unsupported",
            wasmleak_instrument::Error::NoAllocator { .. } => "not_found",
            _ => "malformed",
        };
        refuse(status, heap(), e.to_string())
    })?;
    let eps = found.entry_points;
    // Frees are checked before the allocator sees them (js/src/tracker.mjs answers `wasmleak.check`), and every
    // event carries its calling-context id, so the tracker captures a V8 stack once per context.
    let shared = info.threaded();
    let options =
        InstrumentOptions { checked_frees: true, contexts: true, fused_free: true, threads: threads && shared, ..InstrumentOptions::default() };
    let mut ins = instrument_with(&original, &info, &eps, &options).map_err(|e| {
        // A threaded module is refused here, its allocator found.
        let status = if matches!(e, wasmleak_instrument::Error::Unsupported(_)) { "unsupported" } else { "malformed" };
        refuse(status, heap(), format!("instrumenting: {e}"))
    })?;
    ins.discovery_notes = found.notes;
    let meta = json!({
        "entry_points": ins.entry_points.iter().map(|e| json!({
            "func": e.func, "name": e.name, "role": e.role.to_string(), "evidence": e.evidence.to_string(),
        })).collect::<Vec<_>>(),
        "exported_globals": ins.exported_globals.iter().map(|(i, n)| json!([i, n])).collect::<Vec<_>>(),
        "memory_export": ins.memory_export,
        "ctx_export": ins.ctx_export,
        "debug_file": sym.debug_source().is_some(),
        "threads": options.threads,
        "splits": ins.splits,
    });
    Ok((Module { original, info, ins, sym }, meta.to_string().into_bytes()))
}

/// Load what the report will need of the module's names and DWARF now (`Symbolizer::prepare`): called by the
/// JS runtime's analysis thread while the program runs. Nothing for other handles.
#[unsafe(no_mangle)]
pub extern "C" fn wl_prepare(module: u32) {
    if let Some(module) = with_entry(module, |e| match &e.object {
        Object::Module(m) => Some(m.clone()),
        _ => None,
    }) {
        module.sym.prepare();
    }
}

/// A new session for an instance of `module` (a `wl_instrument` handle); 0 when it is not one.
#[unsafe(no_mangle)]
pub extern "C" fn wl_session(module: u32) -> u32 {
    let Some(module) = with_entry(module, |e| match &e.object {
        Object::Module(m) => Some(m.clone()),
        _ => None,
    }) else {
        return 0;
    };
    new_handle(Object::Session(Box::new(Session::new(module))), vec![Vec::new(), Vec::new()])
}

/// Run `f` on a session; its `Ok` outputs (or the error as output 0) replace the handle's outputs.
fn on_session(handle: u32, f: impl FnOnce(&mut Session) -> Result<Vec<Vec<u8>>, String>) -> u32 {
    with_entry(handle, |e| {
        let result = match &mut e.object {
            Object::Session(s) => f(s),
            _ => Err("not a session handle".to_string()),
        };
        Some(match result {
            Ok(outputs) => {
                e.outputs = outputs;
                0
            }
            Err(msg) => {
                e.outputs = vec![error_json(msg)];
                1
            }
        })
    })
    .unwrap_or(1) // released or never issued
}

/// # Safety
/// Every `ptr..ptr+len` pair must be readable memory of this module.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wl_record(session: u32, json_ptr: *const u8, json_len: usize, ev_ptr: *const u8, ev_len: usize) -> u32 {
    let (json, events) = unsafe { (input(json_ptr, json_len), input(ev_ptr, ev_len)) };
    on_session(session, |s| {
        let rec: Recorded = serde_json::from_slice(json).map_err(|e| format!("bad recording: {e}"))?;
        s.record(rec, events)?;
        Ok(Vec::new())
    })
}

/// # Safety
/// Every `ptr..ptr+len` pair must be readable memory of this module.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wl_snapshot(session: u32, json_ptr: *const u8, json_len: usize, mem_ptr: *const u8, mem_len: usize) -> u32 {
    let (json, mem) = unsafe { (input(json_ptr, json_len), input(mem_ptr, mem_len)) };
    on_session(session, |s| {
        let state: State = serde_json::from_slice(json).map_err(|e| format!("bad state: {e}"))?;
        let snap = s.snapshot(&state, mem, false);
        let summary = json!({
            "index": snap.index, "iteration": snap.iteration, "blocks": snap.blocks.len(), "bytes": snap.live_bytes(),
            "allocations": snap.allocations, "frees": snap.frees,
        });
        let bytes = snap.to_bytes();
        s.keep(snap);
        Ok(vec![bytes, summary.to_string().into_bytes()])
    })
}

/// # Safety
/// Every `ptr..ptr+len` pair must be readable memory of this module.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wl_report(session: u32, json_ptr: *const u8, json_len: usize, mem_ptr: *const u8, mem_len: usize) -> u32 {
    let (json, mem) = unsafe { (input(json_ptr, json_len), input(mem_ptr, mem_len)) };
    on_session(session, |s| {
        let state: State = serde_json::from_slice(json).map_err(|e| format!("bad state: {e}"))?;
        let report = s.report(&state, mem);
        let text = TextOptions { show_reachable: state.show_reachable, profile_sites: state.profile, ..TextOptions::default() };
        Ok(vec![to_json(&report).into_bytes(), to_text(&report, &text).into_bytes()])
    })
}

/// Options of `wl_diff`, as `wasmleak diff` takes them.
#[derive(Deserialize, Default)]
#[serde(default)]
struct DiffOpts {
    /// `site` (default) or `type`.
    by: Option<String>,
    filter: Option<String>,
    /// `delta-bytes` (default), `delta-count`, `new`, `freed`, `size`.
    sort: Option<String>,
    /// Keep rows that did not change.
    all: bool,
}

/// # Safety
/// Every `ptr..ptr+len` pair must be readable memory of this module.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wl_diff(a_ptr: *const u8, a_len: usize, b_ptr: *const u8, b_len: usize, opts_ptr: *const u8, opts_len: usize) -> u32 {
    let (a, b, opts) = unsafe { (input(a_ptr, a_len), input(b_ptr, b_len), input(opts_ptr, opts_len)) };
    match diff(a, b, opts) {
        Ok((json, text)) => new_handle(Object::Plain, vec![json.into_bytes(), text.into_bytes()]),
        Err(e) => new_handle(Object::Plain, vec![error_json(e), Vec::new()]),
    }
}

fn diff(a: &[u8], b: &[u8], opts: &[u8]) -> Result<(String, String), String> {
    let a = Snapshot::from_bytes(a).map_err(|e| format!("the first snapshot: {e}"))?;
    let b = Snapshot::from_bytes(b).map_err(|e| format!("the second snapshot: {e}"))?;
    let opts: DiffOpts = if opts.is_empty() {
        DiffOpts::default()
    } else {
        serde_json::from_slice(opts).map_err(|e| format!("bad diff options: {e}"))?
    };
    let by = match opts.by.as_deref() {
        None | Some("site") => GroupBy::Site,
        Some("type") => GroupBy::Type,
        Some(o) => return Err(format!("by: {o:?} is not `site` or `type`")),
    };
    let sort = match opts.sort.as_deref() {
        None | Some("delta-bytes") => SortBy::DeltaBytes,
        Some("delta-count") => SortBy::DeltaBlocks,
        Some("new") => SortBy::New,
        Some("freed") => SortBy::Freed,
        Some("size") => SortBy::Size,
        Some(o) => return Err(format!("sort: {o:?} is not one of delta-bytes, delta-count, new, freed, size")),
    };
    let rows: Vec<_> = diff_by(&a, &b, opts.filter.as_deref(), sort, by).into_iter().filter(|r| opts.all || r.changed()).collect();
    Ok((diff_json(&a, &b, &rows).to_string(), diff_text(&a, &b, &rows, by)))
}

/// Stacks and JS frames captured since the previous `wl_record`.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Recorded {
    /// Innermost first, as captured in the *instrumented* module: `[func_index, module_offset]`, or
    /// `[u32::MAX, i]` for `js_frames[i]` (numbered on across calls).
    pub stacks: Vec<Vec<[u32; 2]>>,
    pub js_frames: Vec<JsFrame>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct JsFrame {
    pub function: String,
    pub file: Option<String>,
    pub line: Option<u32>,
    pub column: Option<u32>,
}

/// With no call into the module running, its stack holds only what JavaScript allocated there (Emscripten's
/// `stackAlloc`, kept for good: sql.js reads every database and statement handle from one such slot, an
/// out-parameter of `sqlite3_open`): values JS holds, not the program's. The stack region stops being a root
/// of its own, and each of its words that points into a live block becomes a host value (docs/contracts.md).
/// Before, the slot's last handle made that database, and what stale words inside it reach, still reachable:
/// databases never closed passed as clean.
fn js_stack_slots(roots: &mut wasmleak_heap::Roots, blocks: &[wasmleak_heap::Block], mem: &[u8]) {
    let Some(i) = roots.regions.iter().position(|r| r.name == "stack") else { return };
    let region = roots.regions.remove(i);
    let (start, end) = ((region.start.next_multiple_of(4)) as usize, (region.end as usize).min(mem.len()));
    for at in (start..end.saturating_sub(3)).step_by(4) {
        let v = u32::from_le_bytes(mem[at..at + 4].try_into().unwrap()) as u64;
        let k = blocks.partition_point(|b| b.addr <= v);
        if k > 0 && (v < blocks[k - 1].addr + blocks[k - 1].size || v == blocks[k - 1].addr) {
            roots.values.push(RootValue { name: format!("{} at {at:#x}", wasmleak_heap::JS_STACK_SLOT), value: v, host: true });
        }
    }
}

/// The instance as the host sees it when a snapshot or the report is taken.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct State {
    /// Module name in the report.
    pub module: String,
    /// `[global index, value]` of the exported globals (`exported_globals` of the metadata).
    pub globals: Vec<(u32, i64)>,
    /// `[name, value]`: pointers the host holds.
    pub host_values: Vec<(String, u64)>,
    /// For each of `host_values` (when given): the number of allocator events before the host got it. A value
    /// inside a block allocated later is stale (JS got it from an older block at that address) and not a root.
    pub host_value_seqs: Vec<u64>,
    /// `[name, value]`: pointers the JS runtime or glue keeps for the module's lifetime (Embind's registration
    /// data): roots like static data — what they hold is `reachable`, not a leak.
    pub runtime_values: Vec<(String, u64)>,
    /// Blocks (by address) the glue keeps that hold data, never pointers (the WebIDL binder glue's argument
    /// buffer): not scanned (`Roots::opaque`).
    pub opaque_values: Vec<u64>,
    /// Completed iterations of the repeated action (snapshots: their number by default).
    pub iteration: Option<u64>,
    pub exit: RecordedExit,
    /// When the guest called WASI `proc_exit`: its wasm frames still running then, `[func, module offset]` in
    /// the instrumented module, innermost first (wasmleak_instrument::exit).
    pub exit_frames: Vec<(u32, u32)>,
    pub notes: Vec<String>,
    /// The text report lists every reachable group (`--show-reachable`).
    pub show_reachable: bool,
    /// Allocation sites the text report lists (`--profile N`).
    pub profile: usize,
    /// What fails the run (`wasmleak node --suppressions/--baseline/--fail-on`).
    pub policy: Option<PolicyState>,
    /// No call into the instance is running (JS called no export that has not returned, and the module did
    /// not end in exit()): what lies on its stack then was put there by JavaScript (`stackAlloc`), see
    /// `js_stack_slots`.
    pub idle: bool,
    /// How many times JS called the instance's exports (unknown: None). A module the app never called did
    /// nothing: no allocator call is then no sign of a wrong hook.
    pub calls: Option<u64>,
}

/// [`wasmleak_report::Policy`] as JSON: the suppressions file's text, baseline keys, `--fail-on` kinds.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PolicyState {
    pub suppressions: String,
    pub baseline: Option<Vec<String>>,
    pub fail_on: Option<Vec<String>>,
}

impl PolicyState {
    fn policy(&self) -> Result<wasmleak_report::Policy, String> {
        let mut p = wasmleak_report::Policy::default();
        p.suppressions = wasmleak_report::Suppressions::parse(&self.suppressions, "suppressions")?;
        p.baseline = self.baseline.as_ref().map(|b| b.iter().cloned().collect());
        if let Some(kinds) = &self.fail_on {
            p.fail_on = wasmleak_report::Policy::parse_fail_on(&kinds.join(","))?;
        }
        Ok(p)
    }
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

const JS_FRAME: u32 = u32::MAX;

/// The host values that can still point at what they pointed at when the host got them: not those inside a
/// block allocated since (`blocks` sorted by address).
fn current_host_values(state: &State, blocks: &[Block]) -> Vec<(String, u64)> {
    if state.host_value_seqs.len() != state.host_values.len() {
        return state.host_values.clone();
    }
    state
        .host_values
        .iter()
        .zip(&state.host_value_seqs)
        .filter(|&((_, v), &seq)| {
            let i = blocks.partition_point(|b| b.addr <= *v);
            let newer = i > 0 && {
                let b = &blocks[i - 1];
                *v < b.addr + b.size.max(1) && b.seq >= seq
            };
            !newer
        })
        .map(|(h, _)| h.clone())
        .collect()
}

impl Session {
    pub fn new(module: Rc<Module>) -> Session {
        Session {
            module,
            model: HeapModel::new(),
            stacks: Vec::new(),
            js_frames: Vec::new(),
            snaps: Vec::new(),
            taken: 0,
            stride: 1,
            symbolized: RefCell::default(),
        }
    }

    /// Apply what the host recorded since the last call.
    pub fn record(&mut self, rec: Recorded, events: &[u8]) -> Result<(), String> {
        if !events.len().is_multiple_of(20) {
            return Err(format!("the event buffer has {} bytes, not a multiple of 20", events.len()));
        }
        self.js_frames.extend(rec.js_frames.into_iter().map(|f| SnapFrame {
            function: f.function,
            file: f.file,
            line: f.line,
            column: f.column,
            inlined: false,
        }));
        // Map the instrumented frames back to the original module, as the wasmtime host does when capturing.
        let map = &self.module.ins.map;
        let mut frames = Vec::new();
        for s in &rec.stacks {
            frames.clear();
            for &[func, offset] in s {
                if func == JS_FRAME {
                    if (offset as usize) < self.js_frames.len() {
                        frames.push(RawFrame { func: HOST_FRAME + offset, offset: u32::MAX });
                    }
                    continue;
                }
                let Some(func) = map.original_func(func) else { continue };
                let offset = map.original_offset(offset).unwrap_or(u32::MAX);
                frames.push(RawFrame { func, offset });
            }
            self.stacks.push(self.model.stacks.intern(&frames));
        }
        let mut events = events.chunks_exact(20);
        while let Some(ev) = events.next() {
            let w = |i: usize| u32::from_le_bytes(ev[i * 4..i * 4 + 4].try_into().unwrap());
            let stack = self.stacks.get(w(4) as usize).copied().unwrap_or(StackId::NONE);
            match w(0) {
                1 => self.model.alloc(w(1) as u64, w(2) as u64, stack),
                2 => self.model.free(w(1) as u64, stack),
                3 => self.model.realloc(w(1) as u64, w(2) as u64, w(3) as u64, stack),
                4 => {
                    self.model.set_stack(w(1) as u64, stack);
                }
                6 => self.model.set_clock(w(1) as u64),
                // An aligned block the allocator split off the live block at w(1) (tracker.mjs `settle`).
                7 => self.model.moved(w(1) as u64, w(2) as u64, w(3) as u64),
                5 => {
                    // The third and fourth words are the next quintuple's first two.
                    let more = events.next().ok_or("a free's first words are cut short")?;
                    let m = |i: usize| u32::from_le_bytes(more[i * 4..i * 4 + 4].try_into().unwrap());
                    self.model.free_with_head(w(1) as u64, stack, [w(2), w(3), m(0), m(1)]);
                }
                k => return Err(format!("unknown event kind {k}")),
            }
        }
        Ok(())
    }

    /// The heap now, as snapshot number `snaps.len() + 1`.
    /// `last`: the heap at the end, whose blocks also get their freed owners (see `wasmleak_heap::owners`).
    pub fn snapshot(&self, state: &State, mem: &[u8], last: bool) -> Snapshot {
        self.take(state, self.heap_state(state, mem, last))
    }

    fn take(&self, state: &State, heap: HeapState) -> Snapshot {
        let cache = self.symbolized.take();
        let mut taker = SnapshotTaker::new(&self.module.sym).with_host_frames(&self.js_frames).with_cache(cache);
        let snap = taker.take(&state.module, self.taken + 1, &heap, &self.model.stacks);
        *self.symbolized.borrow_mut() = taker.into_cache();
        snap
    }

    fn heap_state(&self, state: &State, mem: &[u8], last: bool) -> HeapState {
        let m = &*self.module;
        let model = &self.model;
        let index = self.taken + 1;
        let mut blocks = model.live_sorted();
        let resized = if m.ins.dlmalloc { wasmleak_heap::chunk_sizes(&mut blocks, Memory { bytes: mem }) } else { 0 };
        let held = current_host_values(state, &blocks);
        let mut roots = roots(&m.info, &m.ins, &state.globals, &held, model.lowest_block, mem.len() as u64);
        // Only the static that holds the lowest block (not a copy of every static at each snapshot).
        let arena: Vec<std::ops::Range<u64>> =
            model.lowest_block.and_then(|lo| m.sym.static_at(lo)).map(|s| s.address..s.address + s.size).into_iter().collect();
        wasmleak_instrument::without_static_arena(&mut roots, &arena, model.lowest_block);
        if state.idle {
            js_stack_slots(&mut roots, &blocks, mem);
        }
        roots.values.extend(state.runtime_values.iter().map(|(name, v)| RootValue { name: name.clone(), value: *v, host: false }));
        roots.opaque.clone_from(&state.opaque_values);
        let (contents, mut regions, values) = Snapshot::capture_memory(&blocks, Memory { bytes: mem }, &roots);
        wasmleak_instrument::mask_link_time_words(&m.info, &mut regions);
        let owners = if last { owners(&blocks, &model.freed(), Memory { bytes: mem }, &roots) } else { Vec::new() };
        HeapState {
            owners,
            resized,
            iteration: state.iteration.unwrap_or(index as u64),
            blocks,
            allocations: model.allocations,
            frees: model.frees,
            invalid_frees: model.invalid_frees.clone(),
            profile: model.profile(),
            roots,
            contents,
            in_memory: false,
            regions,
            values,
        }
    }

    /// Keep a snapshot's live set for the growth verdict: those numbered a multiple of `stride`, at most
    /// [`MAX_KEPT`]; past that the stride doubles and the others go, so the snapshots of a long run (taken
    /// periodically) stay bounded and evenly spaced, as growth's consecutive intervals want.
    pub fn keep(&mut self, mut snap: Snapshot) {
        self.taken += 1;
        if snap.index % self.stride != 0 {
            return;
        }
        snap.contents = Vec::new();
        snap.regions = Vec::new();
        self.snaps.push(snap);
        if self.snaps.len() > MAX_KEPT {
            self.stride *= 2;
            let stride = self.stride;
            self.snaps.retain(|s| s.index % stride == 0);
        }
    }

    /// The report of the heap now, as `wasmleak check` builds it, with growth over the snapshots taken so far.
    pub fn report(&self, state: &State, mem: &[u8]) -> Report {
        let m = &*self.module;
        let mut heap = self.heap_state(state, mem, true);
        // A guest that called exit() inside its functions: what they may hold in their locals (as `check` does).
        let held = if state.exit_frames.is_empty() || m.info.threaded() {
            Vec::new()
        } else {
            held_at_exit(&mut heap, None, &[(wasmleak_instrument::exit::Ending::Exit, &state.exit_frames)], &self.model.stacks, &m.ins, &m.info, &m.original)
        };
        let resized = heap.resized;
        let snap = self.take(state, heap);
        let analysis = snap.analyze();
        let status = match state.exit.status.as_str() {
            "exited" => "exited",
            "trap" => "trap",
            "timeout" => "timeout",
            "memory-limit" => "memory-limit",
            _ => "returned",
        };
        let exit = wasmleak_report::Exit { status, code: state.exit.code, message: state.exit.message.clone() };
        let mut notes = state.notes.clone();
        notes.extend(held);
        if resized > 0 {
            notes.push(wasmleak_heap::resized_note(resized));
        }
        notes.extend(wasmleak_instrument::shape_note(&self.module.ins.entry_points));
        notes.extend(self.module.ins.discovery_notes.iter().cloned());
        let sym = &self.module.sym;
        let names = sym.num_names() > 0;
        notes.extend(debug_info_note(sym.has_dwarf(), sym.dwarf_maps_code(), names).map(String::from));
        let mut report = build(&snap, &analysis, exit, notes);
        if state.calls == Some(0) {
            report.nothing_to_judge("the app never called this module (no export was called): nothing ran, nothing to judge");
        }
        if wasmleak_instrument::allocator_known(&self.module.info, &self.module.ins.entry_points) {
            report.allocator_named();
        }
        report.frees_not_seen(if self.module.info.threaded() { 0 } else { self.model.reissued });
        if let Some(free) = &self.module.ins.empty_free {
            report.free_does_nothing(free);
        }
        report.apply_growth(&growth(&self.snaps), self.snaps.len());
        match state.policy.as_ref().map(PolicyState::policy) {
            Some(Ok(policy)) => report.apply_policy(&policy),
            Some(Err(e)) => report.notes.push(format!("the suppressions, baseline or --fail-on were not applied: {e}")),
            None => report.apply_policy(&wasmleak_report::Policy::default()),
        }
        report
    }
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

    fn out(h: u32, i: u32) -> Vec<u8> {
        let (p, n) = (wl_out_ptr(h, i), wl_out_len(h, i));
        if n == 0 { Vec::new() } else { unsafe { std::slice::from_raw_parts(p, n) }.to_vec() }
    }

    fn out_json(h: u32, i: u32) -> serde_json::Value {
        serde_json::from_slice(&out(h, i)).unwrap()
    }

    fn events(evs: &[[u32; 5]]) -> Vec<u8> {
        evs.iter().flatten().flat_map(|w| w.to_le_bytes()).collect()
    }

    fn record(s: u32, json: &[u8], ev: &[u8]) -> u32 {
        unsafe { wl_record(s, json.as_ptr(), json.len(), ev.as_ptr(), ev.len()) }
    }

    fn snapshot(s: u32, json: &[u8], mem: &[u8]) -> u32 {
        unsafe { wl_snapshot(s, json.as_ptr(), json.len(), mem.as_ptr(), mem.len()) }
    }

    fn report(s: u32, json: &[u8], mem: &[u8]) -> u32 {
        unsafe { wl_report(s, json.as_ptr(), json.len(), mem.as_ptr(), mem.len()) }
    }

    /// What the instrumentation found (output 2) takes up a module without instrumenting it again: the same
    /// session and report as the instrumented handle's; a state that is not one is an error.
    #[test]
    fn a_module_restored_from_its_state_reports_as_the_instrumented_one() {
        let bytes = fixture("c_patterns.wasm");
        let (h, _) = call_instrument(&bytes);
        let state = out(h, 2);
        assert!(!state.is_empty());
        let restore = |state: &[u8]| {
            let (p, sp) = (wl_alloc(bytes.len()), wl_alloc(state.len().max(1)));
            unsafe {
                std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, bytes.len());
                std::ptr::copy_nonoverlapping(state.as_ptr(), sp, state.len());
            }
            let r = unsafe { wl_restore(p, bytes.len(), sp, state.len()) };
            unsafe {
                wl_free(p, bytes.len());
                wl_free(sp, state.len().max(1));
            }
            r
        };
        let r = restore(&state);
        assert_eq!(out_json(r, 1), serde_json::json!({}));
        let json = br#"{"stacks":[[[4294967295,0]]],"js_frames":[{"function":"leakOnce","file":"/app/main.mjs","line":12,"column":3}]}"#;
        let mem = vec![0u8; 0x30000];
        let reports: Vec<serde_json::Value> = [h, r]
            .into_iter()
            .map(|m| {
                let s = wl_session(m);
                assert_eq!(record(s, json, &events(&[[1, 0x20000, 24, 0, 0]])), 0);
                assert_eq!(report(s, br#"{"module":"m.wasm"}"#, &mem), 0);
                out_json(s, 0)
            })
            .collect();
        assert_eq!(reports[0], reports[1]);
        assert_eq!(reports[1]["summary"]["lost_blocks"], 1, "{}", reports[1]);
        assert!(out_json(restore(b"{"), 1)["error"].as_str().is_some_and(|e| e.contains("a bad state")));
    }

    #[test]
    fn instrument_then_report_through_the_c_abi() {
        let (h, meta) = call_instrument(&fixture("c_patterns.wasm"));
        assert!(meta.get("error").is_none(), "{meta}");
        assert!(wl_out_len(h, 0) > 0);
        assert_eq!(meta["memory_export"], "wasmleak:memory");
        let s = wl_session(h);
        assert_ne!(s, 0);
        // One malloc(24) whose pointer nothing holds (an all-zero memory): lost, with a JS frame for a stack.
        let json = br#"{"stacks":[[[4294967295,0]]],"js_frames":[{"function":"leakOnce","file":"/app/main.mjs","line":12,"column":3}]}"#;
        assert_eq!(record(s, json, &events(&[[1, 0x20000, 24, 0, 0]])), 0);
        let mem = vec![0u8; 0x30000];
        let status = report(s, br#"{"module":"m.wasm"}"#, &mem);
        let r = out_json(s, 0);
        assert_eq!(status, 0, "{r}");
        assert_eq!(r["summary"]["lost_blocks"], 1, "{r}");
        assert_eq!(r["summary"]["lost_bytes"], 24, "{r}");
        assert_eq!(r["groups"][0]["stack"][0]["function"], "leakOnce", "{r}");
        assert_eq!(r["groups"][0]["stack"][0]["file"], "/app/main.mjs", "{r}");
        assert_eq!(r["groups"][0]["stack"][0]["line"], 12, "{r}");
        // A malformed event buffer is an error, not a panic.
        assert_eq!(record(s, b"{}", &[0; 7]), 1);
        assert!(out_json(s, 0)["error"].as_str().unwrap().contains("multiple of 20"));
        wl_release(s);
        assert_eq!(record(s, b"{}", &[]), 1, "a released session");
        wl_release(h);
        assert_eq!(wl_out_len(h, 0), 0);
        assert_eq!(wl_session(h), 0, "a released module");
    }

    /// Three snapshots, one more 16-byte block each time: the .wlsnap files are the CLI's format, the diff
    /// names the new block, and the report says the site grows by 16 B per iteration.
    #[test]
    fn snapshots_diff_and_growth() {
        let (h, _) = call_instrument(&fixture("c_patterns.wasm"));
        let s = wl_session(h);
        let mem = vec![0u8; 0x30000];
        let json = br#"{"stacks":[[[4294967295,0]]],"js_frames":[{"function":"grow","file":"/app/main.mjs","line":7}]}"#;
        assert_eq!(record(s, json, &[]), 0);
        let mut files = Vec::new();
        for k in 0..3u32 {
            assert_eq!(record(s, b"{}", &events(&[[1, 0x20000 + 16 * k, 16, 0, 0]])), 0);
            assert_eq!(snapshot(s, br#"{"module":"m.wasm"}"#, &mem), 0);
            let summary = out_json(s, 1);
            assert_eq!(summary["index"], k + 1);
            assert_eq!(summary["iteration"], k + 1);
            assert_eq!(summary["bytes"], 16 * (k + 1));
            let snap = Snapshot::from_bytes(&out(s, 0)).unwrap();
            assert_eq!(snap.blocks.len() as u32, k + 1);
            files.push(out(s, 0));
        }
        let opts = br#"{"by":"site"}"#;
        let d = unsafe { wl_diff(files[0].as_ptr(), files[0].len(), files[2].as_ptr(), files[2].len(), opts.as_ptr(), opts.len()) };
        let j = out_json(d, 0);
        assert_eq!(j["rows"][0]["delta_bytes"], 32, "{j}");
        assert_eq!(j["rows"][0]["new_blocks"], 2, "{j}");
        assert!(String::from_utf8(out(d, 1)).unwrap().contains("grow (/app/main.mjs:7)"));
        wl_release(d);
        let bad = unsafe { wl_diff(files[0].as_ptr(), 3, files[2].as_ptr(), files[2].len(), opts.as_ptr(), opts.len()) };
        assert!(out_json(bad, 0)["error"].as_str().unwrap().contains("first snapshot"));
        assert_eq!(report(s, br#"{"module":"m.wasm"}"#, &mem), 0);
        let r = out_json(s, 0);
        let g = &r["groups"][0];
        assert_eq!(g["growing"], true, "{r}");
        assert_eq!(g["blocks"], 3, "{r}");
    }

    /// A long run of periodic snapshots keeps at most MAX_KEPT, evenly spaced, up to date within the spacing.
    #[test]
    fn kept_snapshots_are_thinned_evenly() {
        let (h, _) = call_instrument(&fixture("c_patterns.wasm"));
        let module = with_entry(h, |e| match &e.object {
            Object::Module(m) => Some(m.clone()),
            _ => None,
        })
        .unwrap();
        let mut s = Session::new(module);
        for k in 1..=100u32 {
            let snap = s.snapshot(&State::default(), &[], false);
            assert_eq!(snap.index, k);
            s.keep(snap);
            assert!(s.snaps.len() <= MAX_KEPT);
            // The latest kept lags the latest taken by less than the stride.
            assert!(k - s.snaps.last().unwrap().index < s.stride);
        }
        let idx: Vec<u32> = s.snaps.iter().map(|x| x.index).collect();
        let gaps: std::collections::BTreeSet<u32> = idx.windows(2).map(|w| w[1] - w[0]).collect();
        assert_eq!(gaps.len(), 1, "evenly spaced: {idx:?}");
        wl_release(h);
    }

    #[test]
    fn a_bad_module_is_a_json_error() {
        let (h, meta) = call_instrument(b"not wasm");
        assert!(meta["error"].as_str().is_some_and(|e| !e.is_empty()), "{meta}");
        assert_eq!(wl_out_len(h, 0), 0);
        wl_release(h);
    }
}
