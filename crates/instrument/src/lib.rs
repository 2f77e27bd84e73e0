//! Find a module's allocator entry points and rewrite the module so each of them also calls a hook import
//! (docs/contracts.md, the hook ABI): `wasmleak.alloc(ptr, size)`, `wasmleak.free(ptr)`, `wasmleak.realloc(old, new, size)`,
//! and, only when asked ([`InstrumentOptions::iteration`]), `wasmleak.iteration()` after every return of the
//! function that runs one iteration of the program's loop.
//!
//! The rewrite also exports memory 0 as `wasmleak:memory` and every i32 global as `wasmleak:global:N`, so a
//! host can read the roots (the shadow-stack pointer, TLS bases) without knowing the module.

mod allocator;
pub mod buffered;
mod codemap;
mod context;
mod confirm;
pub mod exit;
mod fingerprint;
mod module;
mod pointers;
mod probe;
mod rewrite;
mod roots;
mod runtime;
mod statics;
mod zig;

use std::collections::{HashMap, HashSet};

pub use allocator::{allocator_known, named, role_of, shape_note, Confidence, EntryPoint, Evidence, Role, LOOKED_FOR};
pub use codemap::CodeMap;
pub use roots::{mask_link_time_words, roots, without_static_arena};
pub use statics::Bounds;
pub use runtime::language_runtime;
pub use module::{DataSegment, Export, Global, Import, Memory, ModuleInfo, Section};

/// Import module name of the hooks, and prefix of the exports the rewrite adds.
pub const HOOK_MODULE: &str = "wasmleak";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("not a WebAssembly module (no `\\0asm` header)")]
    NotWasm,
    #[error("this is a WebAssembly component, not a core module; wasmleak instruments core modules (extract the core module first, e.g. with `wasm-tools component unbundle`)")]
    Component,
    #[error("malformed module: {0}")]
    Malformed(#[from] wasmparser::BinaryReaderError),
    #[error("not a valid module: {0}")]
    Invalid(String),
    #[error("unsupported module: {0}")]
    Unsupported(String),
    /// `why`: one sentence; `detail`: what was looked for and tried (`wasmleak inspect` shows it).
    #[error(
        "no allocator found: {why}. `wasmleak inspect` shows what was tried; if you know the allocator, name it: \
         --alloc-fn NAME|INDEX --free-fn NAME|INDEX"
    )]
    NoAllocator { why: String, detail: Vec<String> },
    #[error("{0}")]
    BadOverride(String),
    /// The heap is a garbage-collected runtime's (Go, TinyGo, AssemblyScript, WasmGC): nothing to hook.
    #[error("{0}")]
    LanguageRuntime(String),
    #[error("{0}")]
    BadIteration(String),
    #[error("this module was already instrumented by wasmleak (it imports the `wasmleak` hooks): pass the original module")]
    AlreadyInstrumented,
    #[error("internal error while rewriting: {0}")]
    Internal(String),
}

impl From<wasm_encoder::reencode::Error<std::convert::Infallible>> for Error {
    fn from(e: wasm_encoder::reencode::Error<std::convert::Infallible>) -> Self {
        match e {
            wasm_encoder::reencode::Error::ParseError(p) => Error::Malformed(p),
            other => Error::Unsupported(other.to_string()),
        }
    }
}

/// Entry points named by the user: a function name (raw or demangled) or an index.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub alloc: Vec<String>,
    pub free: Vec<String>,
    pub realloc: Vec<String>,
    pub calloc: Vec<String>,
    pub aligned_alloc: Vec<String>,
    pub posix_memalign: Vec<String>,
}

/// The rewritten module and what a host needs to interpret its hook calls.
/// Serializable without its bytes: what a host keeps with a cached instrumented module, to take up a session of it
/// without instrumenting it again (crates/wasm-api `wl_restore`).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Instrumented {
    #[serde(skip)]
    pub bytes: Vec<u8>,
    pub entry_points: Vec<EntryPoint>,
    /// The function whose returns call `wasmleak.iteration` (original index), when asked.
    pub iteration: Option<u32>,
    pub map: CodeMap,
    /// (global index, export name) for every i32 global.
    pub exported_globals: Vec<(u32, String)>,
    pub memory_export: String,
    /// Static memory the allocator's private code uses for its own bookkeeping: not a root.
    pub allocator_statics: Vec<std::ops::Range<u64>>,
    /// The constant static addresses the code uses, the allocator's and the rest's: where an arena in static memory
    /// (a pool the allocator carves blocks from) begins and ends when no debug info names it ([`roots`]).
    #[serde(default)]
    pub static_bounds: Bounds,
    /// The global of ours (exported as `wasmleak:stack_low`, listed in `exported_globals`) that holds the lowest the
    /// stack pointer went, where the stack lies above the static data with no end known ([`roots`]).
    #[serde(default)]
    pub stack_low: Option<u32>,
    /// A hooked free whose own body is empty ([`empty_free`]): the program's frees are not seen.
    #[serde(default)]
    pub empty_free: Option<String>,
    /// With calling contexts: the export name of the context global (i64), which a host may reset to 0 when an
    /// exception ended a call into the module (the id is then stale until the next call returns).
    pub ctx_export: Option<String>,
    /// With calling contexts: how many function bodies keep the id.
    pub context_functions: usize,
    /// With calling contexts: how many calls are free edges, which leave the id as it is (context.rs).
    #[serde(default)]
    pub free_edges: usize,
    /// Events are buffered in the module (`buffered.rs`): the host drains the buffer.
    pub buffered: bool,
    /// An aligned allocation seems inlined into a caller of `malloc`, which splits the blocks it gets
    /// (statics.rs `splits_after_malloc`): hosts watch for that (docs/contracts.md, "Blocks the allocator
    /// splits"); elsewhere they need not.
    #[serde(default = "yes")]
    pub splits: bool,
    /// The allocator is dlmalloc (wasi-libc's, Emscripten's, the Rust `dlmalloc` crate's: by its names or its
    /// shape): a live block's size can be read from its chunk header (`wasmleak_heap::chunk_sizes`), where code
    /// the hooks do not see — a `realloc` inlined into its one caller — resized it in place.
    #[serde(default)]
    pub dlmalloc: bool,
    /// What the allocator's discovery noticed ([`Discovered::notes`]: a module that never frees, say), for the
    /// report; a host that discovered the allocator itself sets it.
    #[serde(default)]
    pub discovery_notes: Vec<String>,
}

impl Instrumented {
    /// All of it but the module's bytes (empty), for what reads the rest beside a run (a host's heap states): the
    /// bytes are the size of the module (flite's 21 MB), copied at the start of the run for nothing.
    pub fn without_bytes(&self) -> Instrumented {
        let Instrumented {
            bytes: _,
            entry_points,
            iteration,
            map,
            exported_globals,
            memory_export,
            allocator_statics,
            static_bounds,
            stack_low,
            empty_free,
            ctx_export,
            context_functions,
            free_edges,
            buffered,
            splits,
            dlmalloc,
            discovery_notes,
        } = self;
        Instrumented {
            bytes: Vec::new(),
            entry_points: entry_points.clone(),
            iteration: *iteration,
            map: map.clone(),
            exported_globals: exported_globals.clone(),
            memory_export: memory_export.clone(),
            allocator_statics: allocator_statics.clone(),
            static_bounds: static_bounds.clone(),
            stack_low: *stack_low,
            empty_free: empty_free.clone(),
            ctx_export: ctx_export.clone(),
            context_functions: *context_functions,
            free_edges: *free_edges,
            buffered: *buffered,
            splits: *splits,
            dlmalloc: *dlmalloc,
            discovery_notes: discovery_notes.clone(),
        }
    }
}

/// Whether the allocator behind `entry_points` is dlmalloc: named so (`dlmalloc`, `dlfree`, the Rust crate's
/// `dlmalloc::…`), found by its shape, or wasi-libc's `malloc` beside a function named `dlmalloc` — and every
/// entry point is it, or Rust's shims going to std's System allocator on it (a `#[global_allocator]` of the
/// program's own, in a module that also links wasi-libc's dlmalloc, makes blocks without chunk headers, or with a
/// header of its own before them).
pub(crate) fn is_dlmalloc(info: &ModuleInfo, entry_points: &[EntryPoint], scan: &statics::Scan) -> bool {
    if !links_dlmalloc(info, entry_points) {
        return false;
    }
    let linked = info.func_names.values().any(|n| n == "dlmalloc" || n == "dlfree");
    // Rust's allocator shims (`__rust_alloc`…) are dlmalloc's when they go to std's System allocator (`__rdl_alloc`…,
    // which calls malloc with the size asked) or to the `dlmalloc` crate's `GlobalDlmalloc`: a `#[global_allocator]`
    // of the program's own may put a header of its own before the block (`rust_galloc_header`), or not use malloc.
    let std_or_crate = |n: &String| {
        let d = wasmleak_symbolize::demangle(n);
        d.contains("__rdl_") || d.contains("GlobalDlmalloc")
    };
    let to_std = |f: u32| {
        let nimp = info.num_imported_funcs;
        let mut seen = HashSet::from([f]);
        let mut todo = vec![f];
        while let Some(g) = todo.pop() {
            for &c in g.checked_sub(nimp).and_then(|i| scan.callees.get(i as usize)).into_iter().flatten() {
                if info.func_names.get(&c).is_some_and(std_or_crate) {
                    return true;
                }
                if seen.len() < 16 && seen.insert(c) {
                    todo.push(c);
                }
            }
        }
        false
    };
    entry_points.iter().all(|e| dl_named(&e.name) || by_shape(e) || (linked && libc(&e.name)) || (linked && to_std(e.func)))
}

fn libc(n: &str) -> bool {
    matches!(n, "malloc" | "free" | "calloc" | "realloc" | "aligned_alloc" | "posix_memalign" | "memalign")
}

fn dl_named(n: &str) -> bool {
    n.strip_prefix("dl").is_some_and(libc) || wasmleak_symbolize::demangle(n).contains("dlmalloc::")
}

fn by_shape(e: &EntryPoint) -> bool {
    e.evidence.to_string().contains("dlmalloc-shaped")
}

/// dlmalloc is in the module (beside other allocators, maybe: C++'s `operator new` over it, a Rust
/// `#[global_allocator]` of the program's own): a function named `dlmalloc`/`dlfree`, or an entry point named
/// or shaped as dlmalloc's.
pub(crate) fn links_dlmalloc(info: &ModuleInfo, entry_points: &[EntryPoint]) -> bool {
    info.func_names.values().any(|n| n == "dlmalloc" || n == "dlfree") || entry_points.iter().any(|e| dl_named(&e.name) || by_shape(e))
}

fn yes() -> bool {
    true
}

/// Every function name the finder can use: name section first, then DWARF (`extra`), then exports.
fn candidate_names<'a>(info: &'a ModuleInfo, extra: &'a HashMap<u32, String>) -> Vec<(u32, &'a str, Evidence)> {
    let mut names: Vec<(u32, &str, Evidence)> = Vec::new();
    for (&f, n) in &info.func_names {
        names.push((f, n.as_str(), Evidence::NameSection));
    }
    for (&f, n) in extra {
        names.push((f, n.as_str(), Evidence::Dwarf));
    }
    for e in &info.exports {
        if e.kind == wasmparser::ExternalKind::Func {
            names.push((e.index, e.name.as_str(), Evidence::Export));
        }
    }
    names
}

/// The allocator entry points of a module by name only: name section, `extra_names` (function names found
/// elsewhere, DWARF) and exports. [`find_allocator`] also recognises a nameless allocator by its code.
pub fn find_allocator_by_name(
    info: &ModuleInfo,
    extra_names: &HashMap<u32, String>,
    overrides: &Overrides,
) -> Result<Vec<EntryPoint>, Error> {
    find(None, info, extra_names, overrides, &Discovery::default()).map(|d| d.entry_points)
}

/// The allocator entry points of a module: by name ([`find_allocator_by_name`]), and when no names
/// identify the allocator (stripped modules), by the shape of its code: the entry points then carry [`Evidence::Fingerprint`] with a confidence.
pub fn find_allocator(
    bytes: &[u8],
    info: &ModuleInfo,
    extra_names: &HashMap<u32, String>,
    overrides: &Overrides,
) -> Result<Vec<EntryPoint>, Error> {
    discover(bytes, info, extra_names, overrides, &Discovery::default()).map(|d| d.entry_points)
}

/// How [`discover`] may recognise a nameless allocator.
#[derive(Clone, Debug)]
pub struct Discovery {
    /// Confirm what the code's shape suggests by calling the candidates in a scratch instance of the module
    /// (on by default; off only to look at the shape analysis alone).
    pub experiments: bool,
}

impl Default for Discovery {
    fn default() -> Self {
        Discovery { experiments: true }
    }
}

/// What [`discover`] found: the entry points, and notes on how (what looked like an entry point but did not
/// behave as one, a missing free, experiments that could not run).
#[derive(Clone, Debug, Default)]
pub struct Discovered {
    pub entry_points: Vec<EntryPoint>,
    pub notes: Vec<String>,
    /// More for `inspect` only: candidates left out while what they build on, or another of their role, is hooked
    /// (a run's report does without them).
    pub details: Vec<String>,
}

/// [`find_allocator`] with the discovery options spelled out, and the notes `inspect` shows.
pub fn discover(
    bytes: &[u8],
    info: &ModuleInfo,
    extra_names: &HashMap<u32, String>,
    overrides: &Overrides,
    discovery: &Discovery,
) -> Result<Discovered, Error> {
    info.done.validate(bytes)?;
    find(Some(bytes), info, extra_names, overrides, discovery)
}

/// `work` over the function bodies in two parts, about half the code each, the second on another core — or over
/// all of them, and then over none, below 32 KiB of code, where starting a thread costs more than it saves. The
/// results in body order. A 30 MB module's per-body passes (the code scan, the rewrite) took twice as long on one.
pub(crate) fn by_halves<T: Send>(bodies: &[wasmparser::FunctionBody<'_>], work: impl Fn(std::ops::Range<usize>) -> T + Sync) -> (T, T) {
    let n = bodies.len();
    match halfway(bodies) {
        Some(half) => wasmleak_heap::both(|| work(0..half), || work(half..n)),
        None => (work(0..n), work(n..n)),
    }
}

/// Where [`by_halves`] splits `bodies`; `None` to keep them on one core.
fn halfway(bodies: &[wasmparser::FunctionBody<'_>]) -> Option<usize> {
    let total: usize = bodies.iter().map(|b| b.range().len()).sum();
    if total < 32 << 10 {
        return None;
    }
    let mut sum = 0;
    bodies.iter().position(|b| {
        sum += b.range().len();
        sum >= total / 2
    }).map(|i| i + 1)
}

/// Every feature wasmparser knows (legacy exceptions, GC, threads…): what is valid wasm is read; whether it can
/// be tracked or run is for the later steps to say. The analyses of code assume valid code (a call's function
/// index exists…): the entry points that take bytes check it first.
pub fn validate(bytes: &[u8]) -> Result<(), Error> {
    // The module first, then its bodies on two cores ([`by_halves`]); the error reported is the first in the
    // module's order, as one pass over it would find it.
    let mut validator = wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all());
    let (mut funcs, mut bodies) = (Vec::new(), Vec::new());
    let mut later = Ok(());
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        match payload.and_then(|p| validator.payload(&p)) {
            Ok(wasmparser::ValidPayload::Func(func, body)) => {
                funcs.push(std::sync::Mutex::new(Some(func)));
                bodies.push(body);
            }
            Ok(_) => {}
            Err(e) => {
                later = Err(e);
                break;
            }
        }
    }
    let (first, second) = by_halves(&bodies, |range| {
        let mut allocs = wasmparser::FuncValidatorAllocations::default();
        for i in range {
            let func = funcs[i].lock().unwrap_or_else(|e| e.into_inner()).take().expect("each body validated once");
            let mut v = func.into_validator(allocs);
            v.validate(&bodies[i])?;
            allocs = v.into_allocations();
        }
        Ok(())
    });
    first.and(second).and(later).map_err(|e: wasmparser::BinaryReaderError| Error::Invalid(e.to_string()))
}

fn find(
    bytes: Option<&[u8]>,
    info: &ModuleInfo,
    extra_names: &HashMap<u32, String>,
    overrides: &Overrides,
    discovery: &Discovery,
) -> Result<Discovered, Error> {
    let mut found = find_all(bytes, info, extra_names, overrides, discovery)?;
    // The user named the entry points of a garbage-collected runtime (AssemblyScript's `__alloc`/`__free`): its
    // objects the collector has not swept yet look unreachable, and are not leaks.
    if let Some(what) = runtime::language_runtime(info) {
        found.notes.push(format!(
            "{what}. Its allocation functions were named: objects its collector had not swept yet look unreachable \
             (lost), and are not leaks"
        ));
    }
    if let Some(bytes) = bytes {
        let s = statics::scan(bytes, info)?;
        let eps = with_forwarded(&s, info, extra_names, found.entry_points);
        let eps = one_cxx_layer(&s, info, eps);
        let eps = without_covered(&s, info, eps);
        let mut eps = one_layer_under_rust_shims(&s, info, eps);
        if let Some(why) = bypassed_rust_shims(&s, info, extra_names, &eps) {
            // The `GlobalAlloc` impl under the shims, where it is a function of its own, is the way in the
            // program's inlined code takes too: hooked, every path is seen.
            let with_impl = [eps.clone(), global_alloc_impls(&s, info, extra_names, &eps)].concat();
            if with_impl.len() == eps.len() || bypassed_rust_shims(&s, info, extra_names, &with_impl).is_some() {
                return Err(Error::NoAllocator { why, detail: Vec::new() });
            }
            eps = with_impl;
            eps.sort_by_key(|e| e.func);
        }
        // The allocator's own code, which the checks below ask about (once): what its entry points call, whoever else
        // calls it too (mimalloc's `_mi_prim_alloc`, which grows the memory, and `mi_page_extend_free` are reached from
        // its process and thread initialisation as well: taken for another allocator, every optimised mimalloc build
        // was refused).
        let own = std::cell::OnceCell::new();
        let own = || own.get_or_init(|| s.reached(info.num_imported_funcs, eps.iter().map(|e| e.func)));
        let why = bypassed_c_entry(&s, info, extra_names, &eps)
            .or_else(|| second_heap(&s, info, extra_names, &eps, own()))
            // (Zig's before the general one: they name what went where in Zig's terms.)
            .or_else(|| inlined_zig_heap(&s, info, extra_names, &eps, own()))
            .or_else(|| zig_second_heap(&s, info, extra_names, &eps, own()))
            .or_else(|| zig_libc_malloc(&s, info, &eps, own()))
            .or_else(|| inlined_entry(&s, info, extra_names, &eps, own()))
            .or_else(|| zig_fixed_buffer(info, extra_names, &eps))
            .or_else(|| rust_past_c_allocator(bytes, &eps));
        if let Some(why) = why {
            return Err(Error::NoAllocator { why, detail: Vec::new() });
        }
        found.notes.extend(zig_c_allocator_note(info, extra_names, &eps));
        found.entry_points = eps;
    }
    Ok(found)
}

/// Zig's `std.heap.c_allocator` asks malloc for at least `max_align_t`'s 16 bytes, and for more than asked where it
/// aligns by hand: the blocks seen are malloc's (Zig survey: three 1-byte `create(u8)` read 48 B). In the module
/// only where the program uses it.
fn zig_c_allocator_note(info: &ModuleInfo, extra_names: &HashMap<u32, String>, eps: &[EntryPoint]) -> Option<String> {
    let used = info.func_names.values().chain(extra_names.values()).any(|n| n.starts_with("heap.c_allocator_impl."));
    (used && eps.iter().any(|e| e.role == Role::Malloc)).then(|| {
        "blocks Zig's std.heap.c_allocator allocated are counted as it asked malloc for them: at least 16 bytes each, \
         and more than the program asked for where it aligns them itself (alignments above 16)"
            .to_string()
    })
}

/// The entry points are Zig's: its wasm heap, or its libc's malloc over it.
fn zig_heap(info: &ModuleInfo, extra_names: &HashMap<u32, String>, eps: &[EntryPoint]) -> bool {
    eps.iter().any(|e| e.role.is_zig())
        || eps.iter().any(|e| func_name(info, extra_names, e.func).is_some_and(|n| n.starts_with("c.malloc.")))
}

/// Zig's `FixedBufferAllocator` hands out parts of a buffer the program gives it (a static array, a stack array)
/// and calls no allocator: what the program allocates there is never seen (Zig survey: its leaks read "0 leaked",
/// exit 0, once Zig's heap was hooked). In the module only where the program uses it.
fn zig_fixed_buffer(info: &ModuleInfo, extra_names: &HashMap<u32, String>, eps: &[EntryPoint]) -> Option<String> {
    if eps.iter().any(|e| e.evidence == Evidence::User) || !zig_heap(info, extra_names, eps) {
        return None;
    }
    let names = info.func_names.iter().chain(extra_names.iter());
    let (&f, _) = names.filter(|(_, n)| n.as_str() == "heap.FixedBufferAllocator.alloc").min_by_key(|(f, _)| **f)?;
    Some(format!(
        "the program allocates through Zig's FixedBufferAllocator ({}), which hands out parts of a buffer of the \
         program's own and calls no allocator: what it allocates there would never be seen. Check a build that \
         gives that code std.heap.page_allocator or std.heap.c_allocator",
        func_label(info, extra_names, f)
    ))
}

/// An allocator of the program's own beside the one found, by its interface's names: a pair of functions, one
/// named for allocating (`pool_alloc`, `umm_malloc`, `tlsf_malloc`) that takes a number and returns one, one named for
/// freeing (`pool_free`) that returns nothing, both called from the program and neither reaching the hooked entry
/// points (their memory is not malloc's: a pool over a static array). Their blocks would never be seen: the
/// allocator survey's C programs with TLSF, umm_malloc or a pool of their own beside wasi-libc's malloc read the
/// libc's argv copy and nothing else, exit 0 on every leak. `own`: the found allocator's code (its entry points and
/// all they call), never another's.
fn own_allocator_api(
    s: &statics::Scan,
    info: &ModuleInfo,
    extra_names: &HashMap<u32, String>,
    eps: &[EntryPoint],
    own: &HashSet<u32>,
) -> Option<String> {
    let nimp = info.num_imported_funcs;
    let is_ep = |f: u32| eps.iter().any(|e| e.func == f);
    // C's and Zig's names, whose last word is what the function does (`pool_alloc`, `umm_malloc`, `A_free`): an
    // allocator's internals in Rust or C++ (wee_alloc's `FreeCell::into_allocated_cell`) are methods.
    let own_name = |f: u32| {
        let raw = func_name(info, extra_names, f)?;
        // Mangled names (C++, Rust) are methods: left out before any demangling (slow on a large module).
        if raw.contains("::") || raw.contains('(') || raw.starts_with("_Z") || raw.starts_with("_R") {
            return None;
        }
        // Zig's std: its allocator interface's stubs (`mem.Allocator.noAlloc`, `unreachableFree`) and its allocators
        // over another (`heap.ArenaAllocator.free`; `FixedBufferAllocator` is refused on its own) are no heap of their
        // own (Zig survey: every named ReleaseFast build was refused for them); `undefined_weak:` names a stub
        // wasm-ld made for a weak symbol nothing defines.
        if ["mem.Allocator.", "heap.", "undefined_weak:"].iter().any(|p| raw.starts_with(p)) {
            return None;
        }
        Some(raw.rsplit('.').next().unwrap_or(raw).to_ascii_lowercase())
    };
    let sig = |f: u32| info.func_signature(f);
    let i32s = |ts: &[wasmparser::ValType]| ts.iter().all(|t| *t == wasmparser::ValType::I32);
    let called = |f: u32| s.escaping.contains(&f) || s.callees.iter().any(|cs| cs.contains(&f));
    // A function that calls through a pointer may reach malloc that way (FreeType's `ft_mem_qrealloc`, tree-sitter's
    // `ts_malloc`): only code that surely does not is another allocator (not through an assertion's failure path:
    // [`failing`]).
    let candidate = |f: u32| !is_ep(f) && !own.contains(&f) && called(f) && !may_reach(s, nimp, eps, f, &|c| !failing(info, extra_names, c));
    let allocs: Vec<u32> = (nimp..info.num_funcs())
        .filter(|&f| {
            own_name(f).is_some_and(|n| n.ends_with("alloc") || n.ends_with("allocate"))
                && sig(f).is_some_and(|(ps, rs)| !ps.is_empty() && i32s(ps) && rs.len() == 1 && i32s(rs))
                && candidate(f)
        })
        .collect();
    let frees: Vec<u32> = (nimp..info.num_funcs())
        .filter(|&f| {
            own_name(f).is_some_and(|n| n.ends_with("free") || n.ends_with("dealloc") || n.ends_with("deallocate"))
                && sig(f).is_some_and(|(ps, rs)| !ps.is_empty() && i32s(ps) && rs.is_empty())
                && candidate(f)
        })
        .collect();
    if allocs.is_empty() || frees.is_empty() {
        return None;
    }
    let names = |fs: &[u32]| {
        let mut v: Vec<String> = fs.iter().take(3).map(|&f| func_name(info, extra_names, f).map_or_else(|| format!("func {f}"), |n| format!("`{}`", wasmleak_symbolize::demangle(n)))).collect();
        if fs.len() > 3 {
            v.push(format!("{} more", fs.len() - 3));
        }
        v.join(", ")
    };
    // No pair is proposed: a helper named like a free (TLSF's `block_set_free`) must not become the user's hook.
    Some(format!(
        "functions named for allocating ({}) and freeing ({}) that reach neither it nor anything through a pointer look \
         like an allocator of the program's own — if it is one, name its entry points (--alloc-fn/--free-fn, `wasmleak \
         inspect --functions` lists the functions); if not, name the allocator found the same way",
        names(&allocs),
        names(&frees)
    ))
}

/// A C allocator entry point that is not the only way in: what it calls, the program also calls itself — its body
/// inlined into the program's own code (allocator survey: umm_malloc and TLSF exported as `malloc`/`free` at -O2,
/// the program's allocation wrapper calling `umm_malloc`/`tlsf_malloc` itself), or the allocator's own interface
/// used beside it (Zig code calling `std.heap.WasmAllocator` under Zig's libc `malloc`, md4w). Those allocations are
/// never seen, and their frees were "invalid" and withheld from the allocator, or nothing was seen at all (exit 0
/// on a leak). Told by a callee of the entry point, allocator-like (it grows memory, or is named for allocating or
/// freeing), that code outside the allocator calls.
fn bypassed_c_entry(s: &statics::Scan, info: &ModuleInfo, extra_names: &HashMap<u32, String>, eps: &[EntryPoint]) -> Option<String> {
    let nimp = info.num_imported_funcs;
    if eps.iter().any(|e| e.evidence == Evidence::User) {
        return None;
    }
    let is_ep = |f: u32| eps.iter().any(|e| e.func == f);
    let (under, callers) = under_entry_points(s, info, &is_ep);
    // By its own name, the last segment of its path, ending in what it does (a C++ `std::allocator<char>` in a template
    // argument says nothing, nor `__cxa_allocate_exception`) — and not itself over the entry points (libc++abi's
    // exception allocation calls malloc: a layer above it, which operator new and a `throw` both call).
    let allocator_like = |f: u32| {
        let named = func_name(info, extra_names, f).is_some_and(|n| {
            let n = wasmleak_symbolize::demangle(n);
            let head = &n[..n.find(['(', '<', '[']).unwrap_or(n.len())];
            let own = head.rsplit([':', '.']).next().unwrap_or(head).to_ascii_lowercase();
            ["alloc", "allocate", "free", "dealloc"].iter().any(|w| own.ends_with(w))
        });
        // (Not through an assertion's failure path, which prints — stdio's buffers are malloc's — and aborts: TLSF's
        // asserts made `tlsf_malloc` look like a layer over malloc.)
        (s.grows_here(f, nimp) || named) && !may_reach(s, nimp, eps, f, &|c| !failing(info, extra_names, c))
    };
    let c_entry = |e: &EntryPoint| matches!(e.role, Role::Malloc | Role::Calloc | Role::Realloc | Role::Free);
    for e in eps.iter().filter(|e| c_entry(e)) {
        for c in s.callees_of(e.func, nimp) {
            if is_ep(c) || !allocator_like(c) {
                continue;
            }
            let outside = callers.get(&c).and_then(|cs| cs.iter().copied().find(|&k| k != c && !is_ep(k) && !under.contains(&k)));
            if let Some(by) = outside {
                return Some(format!(
                    "{} is not the only way into the allocator: {} calls {}, which {} calls, itself — its body inlined \
                     into the program's own code, or the allocator's own interface used beside it (Zig's \
                     std.heap allocator under its libc malloc) — so the allocations and frees made there would \
                     never be seen. Build with the allocator out of line (-O0/-O1, or `__attribute__((noinline))` on \
                     it), or name the functions under it (--alloc-fn/--free-fn; `--alloc-fn 'NAME(ctx, size)'` when \
                     one takes a context first)",
                    e.name,
                    func_label(info, extra_names, by),
                    func_label(info, extra_names, c),
                    e.name
                ));
            }
        }
    }
    None
}

/// Another heap beside the allocator found, which the program's own code uses: its blocks would never be seen,
/// and a run that made them all there read "0 allocations" — exit 0 on a leak (allocator survey: a Rust
/// `#[global_allocator]` — wee_alloc, lol_alloc, rlsf, a bump or buddy allocator — built with LTO, its
/// `GlobalAlloc` impl called straight from the program while only wasi-libc's named `malloc` was hooked). Told by
/// a function outside the allocator's own code that grows the memory while Rust's allocations may go past the
/// hooked allocator, or by a `GlobalAlloc` impl the program calls that is not the hooked one's (an allocator over a
/// static array grows nothing). Entry points the user named are taken as they are.
fn second_heap(s: &statics::Scan, info: &ModuleInfo, extra_names: &HashMap<u32, String>, eps: &[EntryPoint], own: &HashSet<u32>) -> Option<String> {
    if eps.is_empty() || eps.iter().any(|e| e.evidence == Evidence::User) {
        return None;
    }
    let nimp = info.num_imported_funcs;
    let name = |f: u32| func_label(info, extra_names, f);
    // Memory grown outside the allocator is another heap only where Rust's allocations may be going past the hooked
    // C allocator (a program may grow memory for its own use: a buffer, a --max-memory test).
    let grows = allocator::rust_allocations_elsewhere(info, eps);
    let found = list(eps);
    if let Some(why) = own_allocator_api(s, info, extra_names, eps, &own) {
        return Some(format!("the entry points found ({found}) would not see every allocation: {why}"));
    }
    let other = (0..s.grows.len() as u32)
        .map(|i| i + nimp)
        .find(|&f| grows && s.grows_here(f, nimp) && !own.contains(&f))
        .map(|f| format!("{} grows the memory itself", name(f)))
        .or_else(|| {
            // One over the hooked allocator (a tracing wrapper over `System`) is a layer of it, not another heap.
            // Demangled only when the trait's name is in it (both manglings keep identifiers): see `role_of`.
            let named_impl = |f: &u32| func_name(info, extra_names, *f).is_some_and(|n| n.contains("GlobalAlloc"));
            (nimp..info.num_funcs()).filter(|f| !own.contains(f) && named_impl(f)).find_map(|f| {
                let n = format!("{:#}", rustc_demangle::demangle(func_name(info, extra_names, f)?));
                let (ty, method) = n.rsplit_once(" as core::alloc::global::GlobalAlloc>::")?;
                let own = !ty.starts_with("<std::alloc::System") && !ty.starts_with("<alloc::");
                (own && !may_reach(s, nimp, eps, f, &|_| true) && matches!(method, "alloc" | "alloc_zeroed" | "dealloc" | "realloc"))
                    .then(|| format!("the #[global_allocator]'s {} is called from the program's own code", name(f)))
            })
        })?;
    Some(format!(
        "the entry points found ({found}) would not see every allocation: {other} — another allocator (a Rust #[global_allocator] whose \
         functions were inlined past Rust's allocator shims, by LTO or opt-level 2 and up; an arena of the program's \
         own), whose blocks would never be seen. Build with the allocator out of line (without LTO, or opt-level 0 or \
         1), or name its functions (--alloc-fn/--free-fn: a Rust allocator's methods that take a `Layout` are read as such)"
    ))
}

/// A stripped Rust program whose allocator was found by its shape as a C malloc, free and calloc alone: Rust's
/// `System` allocator, where it is the global one, brings realloc and an aligned allocation along (its
/// `__rdl_realloc` and over-aligned `__rdl_alloc` call them), and Rust's shims are found beside them. Without
/// those, the program's `#[global_allocator]` is another one (a bump or buddy allocator over a static array,
/// inlined into the program), and the C malloc only serves a call into C: "1 allocation, 0 leaked", exit 0, while
/// every Rust allocation went unseen (allocator survey: buddy_system_allocator, linked_list_allocator, a bump).
/// Told by Rust's standard library in the data (its panic locations) — names, where there are any, tell the
/// rest ([`second_heap`]).
fn rust_past_c_allocator(bytes: &[u8], eps: &[EntryPoint]) -> Option<String> {
    let by_shape = !eps.is_empty() && eps.iter().all(|e| matches!(e.evidence, Evidence::Fingerprint { .. }));
    if !by_shape || !eps.iter().all(|e| matches!(e.role, Role::Malloc | Role::Calloc | Role::Free)) || !has_rust_std(bytes) {
        return None;
    }
    Some(format!(
        "the entry points found ({}) are a C allocator's, and nothing of Rust's System allocator goes to it (no \
         realloc or aligned allocation beside them, no Rust allocator shim): this Rust program's \
         #[global_allocator] is another one, without names, whose blocks would never be seen. Check a build that \
         keeps its names (without strip), or name its functions (--alloc-fn/--free-fn: a Rust allocator's methods \
         that take a `Layout` are read as such)",
        list(eps)
    ))
}

/// The module's data holds Rust's standard library's source paths (its panic locations).
fn has_rust_std(bytes: &[u8]) -> bool {
    let needles: [&[u8]; 3] = [b"library/std/src/", b"library/core/src/", b"library/alloc/src/"];
    wasmparser::Parser::new(0).parse_all(bytes).any(|p| match p {
        Ok(wasmparser::Payload::DataSection(r)) => {
            let d = &bytes[r.range()];
            needles.iter().any(|n| memchr::memmem::find(d, n).is_some())
        }
        _ => false,
    })
}

/// Largest body of an entry point taken as one a compiler may have inlined whole (clang's inliner takes functions
/// up to a few hundred instructions): dlmalloc's or emmalloc's entry points are far larger, or only call.
const INLINABLE_OPS: usize = 300;

/// A small allocator entry point whose body was also inlined into the program's code: a bump allocator's `malloc`
/// defined in the program's own file, called out of line from one place (through a pointer, from libc) and inlined
/// at -O2 into the others. The allocations made there were never seen: "0 allocations", exit 0 on a leak. Told by
/// a function outside the allocator's own code that reads and writes a static the entry point itself writes (the
/// bump's `top`) — what only an allocator does to its state — and calls no entry point: a layer over the allocator
/// (`--wrap=malloc`'s wrappers, counting calls in a static the hooked wrapper counts in too) is not. Entry points
/// too large to inline, or that only call (emmalloc's `malloc`), are left to [`bypassed_c_entry`]; entry points the
/// user named are taken as they are.
fn inlined_entry(s: &statics::Scan, info: &ModuleInfo, extra_names: &HashMap<u32, String>, eps: &[EntryPoint], own: &HashSet<u32>) -> Option<String> {
    if eps.iter().any(|e| e.evidence == Evidence::User) {
        return None;
    }
    let nimp = info.num_imported_funcs;
    let at = |v, f| statics::addresses(v, f, nimp);
    for e in eps {
        let Some(d) = e.func.checked_sub(nimp) else { continue };
        if s.ops.get(d as usize).is_none_or(|&n| n > INLINABLE_OPS) {
            continue;
        }
        let state = at(&s.stores, e.func);
        let inlined = (nimp..info.num_funcs())
            .filter(|&f| !own.contains(&f) && !s.callees_of(f, nimp).any(|c| eps.iter().any(|e| e.func == c)))
            .find_map(|f| state.iter().find(|a| at(&s.stores, f).contains(a) && at(&s.loads, f).contains(a)).map(|&a| (f, a)));
        if let Some((f, a)) = inlined {
            return Some(format!(
                "{} looks inlined into the program's own code: {} reads and writes the static at {a:#x}, which {} \
                 writes (the allocator's state), so the allocations and frees made there would never be seen. Build \
                 with the allocator out of line: `__attribute__((noinline))` on it, or -O0",
                e.name,
                func_label(info, extra_names, f),
                e.name
            ));
        }
    }
    None
}

/// Zig's wasm heap inlined into the program's code: where `page_allocator` (or a `DebugAllocator`/`ArenaAllocator`
/// over it) is known at compile time, ReleaseSafe and ReleaseFast builds call its vtable functions directly and inline
/// them, so part of the allocations and frees never go through the hooked ones (Zig survey: a clean ReleaseSafe
/// program read 3 blocks leaked, 10 allocations and 4 frees; a double free went unseen). Told by a function outside
/// the allocator's own code that writes the allocator's state, or addresses it: the statics its Zig entry points
/// write and the bases of their free lists (indexed by size class, which an inlined copy folds into its offsets).
fn inlined_zig_heap(s: &statics::Scan, info: &ModuleInfo, extra_names: &HashMap<u32, String>, eps: &[EntryPoint], own: &HashSet<u32>) -> Option<String> {
    if eps.iter().any(|e| e.evidence == Evidence::User) {
        return None;
    }
    let nimp = info.num_imported_funcs;
    let zig: Vec<&EntryPoint> = eps.iter().filter(|e| e.role.is_zig()).collect();
    let stores = |f| statics::addresses(&s.stores, f, nimp);
    let loads = |f| statics::addresses(&s.loads, f, nimp);
    let addressed = |f| statics::addresses(&s.addressed, f, nimp);
    // What they write, and the bases both a Zig alloc and a Zig free address (the free lists, which an inlined copy
    // indexes by `i32.const base; i32.add` where the size class is known only at run time: md4w's `render` frees its
    // buffers with WasmAllocator.free inlined, 3 of 6 blocks a call freed unseen, the run ended with no verdict).
    // Not everything they read: a Debug build's read the stack protector's canary (`i32.load offset=A`: never a
    // base), which libc writes.
    let bases = |role: Option<Role>| -> HashSet<u64> {
        let n = |v: &[u64], a: &u64| v.iter().filter(|&x| x == a).count();
        let bases = move |f: u32| addressed(f).iter().filter(move |a| n(addressed(f), a) > n(loads(f), a) + n(stores(f), a));
        zig.iter().filter(|e| role.is_none_or(|r| e.role == r)).flat_map(|e| bases(e.func)).copied().collect()
    };
    let mut state: Vec<u64> = zig.iter().flat_map(|e| stores(e.func).iter().copied()).collect();
    state.extend(bases(Some(Role::ZigAlloc)).intersection(&bases(Some(Role::ZigFree))));
    let (mut lo, hi) = (*state.iter().min()?, *state.iter().max()?);
    // The arrays below those, which the entry points only address as bases (BrkAllocator's `frees`, 52 bytes under
    // its first written word).
    let near = bases(None);
    while let Some(&a) = near.iter().filter(|&&a| a < lo && a + 64 >= lo).min() {
        lo = a;
    }
    // Arrays indexed by size class (BrkAllocator's last has 16 words): an inlined copy folds a constant index into the
    // base, past the bases the entry points use (or below, 12 bytes under `frees` in a ReleaseFast main). No further:
    // the program's globals lie on either side. (An inlined free may not read what it writes: two frees of one
    // block fold into one store.)
    let state = lo..hi + 64;
    let (f, a) = (nimp..info.num_funcs())
        .filter(|f| !own.contains(f))
        .find_map(|f| stores(f).iter().chain(addressed(f)).find(|a| state.contains(a)).map(|&a| (f, a)))?;
    Some(format!(
        "Zig's heap ({}) looks inlined into the program's own code: {} works on its state at {a:#x}, so allocations \
         and frees made there would never be seen. Build with -O Debug, or allocate through std.heap.c_allocator with -lc \
         (malloc, which the hooks see)",
        func_label(info, extra_names, zig[0].func),
        func_label(info, extra_names, f),
    ))
}

/// Beside Zig's heap, a function outside its code that grows the memory: a second allocator, its blocks never seen
/// (npm restty's ghostty core: its 458,752-byte terminal pages come from a page pool inlined into 7 functions, each
/// popping its own free list or growing the memory by 7 pages; a terminal never destroyed read 209 KB, not 668 KB).
fn zig_second_heap(s: &statics::Scan, info: &ModuleInfo, extra_names: &HashMap<u32, String>, eps: &[EntryPoint], own: &HashSet<u32>) -> Option<String> {
    let zig = eps.iter().filter(|e| e.role.is_zig() && e.evidence != Evidence::User).min_by_key(|e| e.role != Role::ZigAlloc)?;
    let nimp = info.num_imported_funcs;
    let f = (nimp..info.num_funcs()).find(|&f| s.grows_here(f, nimp) && !own.contains(&f))?;
    Some(format!(
        "Zig's heap ({}) is not the only allocator: {} grows the memory itself, outside it (a page pool inlined into the \
         program, or an allocator of its own), and what it hands out would never be seen",
        func_label(info, extra_names, zig.func),
        func_label(info, extra_names, f),
    ))
}

/// Zig's heap found without names (by its vtable) with a caller of malloc's signature that calls its alloc directly:
/// Zig's libc malloc, which hands out the block past a header of its own — hooked under it, every malloc'd block
/// would be seen at its header, pointed to only from inside (the Zig survey's stripped `-lc` builds read libc's
/// environment blocks lost) — or the program's own code with the heap's calls devirtualised. Which one cannot be
/// told without names. (What the module exports as malloc is hooked as such: md4w's shims over the vtable.)
fn zig_libc_malloc(s: &statics::Scan, info: &ModuleInfo, eps: &[EntryPoint], own: &HashSet<u32>) -> Option<String> {
    let alloc = eps.iter().find(|e| e.role == Role::ZigAlloc && matches!(e.evidence, Evidence::Fingerprint { .. }))?;
    let nimp = info.num_imported_funcs;
    let f = (nimp..info.num_funcs())
        .find(|&f| !own.contains(&f) && fingerprint::sig_is(info, f, 1, 1) && s.callees_of(f, nimp).any(|c| c == alloc.func))?;
    Some(format!(
        "Zig's heap (found by its std.mem.Allocator vtable: alloc func {}) has a malloc-like caller, func {f}, that calls \
         it directly: Zig's libc malloc, which adds a header of its own (its blocks would be seen at their headers), or \
         the program's code with the heap inlined into it — without names, which cannot be told. --debug-file with the \
         unstripped build names them",
        alloc.func
    ))
}

/// `func N `name``, demangled, or `func N` for a function without a name: how refusals name functions.
fn func_label(info: &ModuleInfo, extra_names: &HashMap<u32, String>, f: u32) -> String {
    func_name(info, extra_names, f).map_or_else(|| format!("func {f}"), |n| format!("func {f} `{}`", wasmleak_symbolize::demangle(n)))
}

/// A program's way out on an error, which prints (stdio's buffers are malloc's) and ends it: no way memory comes from.
fn failing(info: &ModuleInfo, extra_names: &HashMap<u32, String>, f: u32) -> bool {
    func_name(info, extra_names, f).is_some_and(|n| matches!(n.as_str(), "__assert_fail" | "abort" | "exit" | "_Exit"))
}

/// A function's name: the name section's, else one found elsewhere (`extra_names`: DWARF, a `--debug-file`).
/// A stripped module checked with its unstripped build's names must find what the named build finds.
fn func_name<'a>(info: &'a ModuleInfo, extra_names: &'a HashMap<u32, String>, f: u32) -> Option<&'a String> {
    info.func_names.get(&f).or_else(|| extra_names.get(&f))
}

/// Adds what an entry point only forwards to (its parameters passed on, in order, to one call whose result it
/// returns), as the same role: an exported `malloc` that forwards to the allocator the program's own code calls
/// (napi-rs exports `malloc` → `__wrap_malloc` for its JS glue) would otherwise see only the glue's allocations.
/// The target is dropped again by [`without_covered`] when nothing else calls it.
fn with_forwarded(s: &statics::Scan, info: &ModuleInfo, extra_names: &HashMap<u32, String>, mut eps: Vec<EntryPoint>) -> Vec<EntryPoint> {
    let mut i = 0;
    while i < eps.len() {
        let e = &eps[i];
        let target = e.func.checked_sub(info.num_imported_funcs).and_then(|d| s.forwards_to.get(d as usize).copied().flatten());
        if let Some(t) = target.filter(|&t| t >= info.num_imported_funcs && !eps.iter().any(|x| x.func == t))
            && info.func_signature(t) == info.func_signature(e.func)
        {
            // Named after the chain's first entry point: `func 19, what malloc forwards to`, not what forwards to that.
            let root = e.name.split_once(", what ").map_or(e.name.as_str(), |(_, r)| r.trim_end_matches(" forwards to"));
            let name = func_name(info, extra_names, t).cloned().unwrap_or_else(|| format!("func {t}, what {root} forwards to"));
            let ep = EntryPoint { func: t, name, ..e.clone() };
            eps.push(ep);
        }
        i += 1;
    }
    eps.sort_by_key(|e| e.func);
    eps
}

/// Rust's allocator shims (`__rust_alloc` & co.) over the C allocator (`malloc`, `posix_memalign`, `free`) with
/// nothing of std's in between (`__rdl_*`): a `#[global_allocator]` that calls `System` (or std's, folded in by
/// LTO). Such an allocator may move pointers (a header in front of each block, as size-tracking allocators put
/// there), and a release build inlines it into the program's own code, which then calls `malloc` and `free`
/// directly while std's precompiled code still calls the shims: hooked at both layers, a block allocated at one
/// and freed at the other is an "invalid free" and a "leak" that never were. Every allocation reaches the C
/// layer, so only it is hooked — unless the shims also call something that grows memory on its own (an
/// allocator of their own for some sizes), which the C layer would not see.
fn one_layer_under_rust_shims(s: &statics::Scan, info: &ModuleInfo, eps: Vec<EntryPoint>) -> Vec<EntryPoint> {
    let nimp = info.num_imported_funcs;
    let shim = |e: &EntryPoint| is_rust_shim(e) && e.evidence != Evidence::User;
    // The C allocator's entry points (not the `dlmalloc` crate's methods, whose roles can be the same): not a
    // Rust symbol, mangled or not.
    let c_layer = |e: &EntryPoint| {
        !shim(e)
            && !e.name.contains("::")
            && rustc_demangle::try_demangle(&e.name).is_err()
            && matches!(e.role, Role::Malloc | Role::Calloc | Role::Realloc | Role::Free | Role::AlignedAlloc | Role::PosixMemalign)
    };
    let ep = |f: u32| eps.iter().find(|e| e.func == f);
    let shims: Vec<&EntryPoint> = eps.iter().filter(|e| shim(e)).collect();
    if shims.is_empty() || !eps.iter().any(|e| c_layer(e) && e.role.is_free()) {
        return eps;
    }
    // From the shims down to the entry points they reach: only C ones (or the shims again, a panic's message),
    // none of std's `__rdl_*`, and no memory grown on the way.
    let other_way = |c: u32| match ep(c) {
        Some(e) => !c_layer(e) && !shim(e),
        None => info.func_names.get(&c).is_some_and(|n| n.contains("__rdl_")) || s.grows_here(c, nimp),
    };
    if shims.iter().any(|e| reaches(s, nimp, e.func, &|c| ep(c).is_none(), &other_way)) {
        return eps;
    }
    // And each shim gets to the C layer through the allocator's own code (what only the shims call, or a
    // `GlobalAlloc` impl or `System`'s), not only through a panic's message (which reaches `malloc` from any of
    // them, an arena under them or not): its allocations from an allocating shim, its frees from a freeing one.
    let (under, _) = under_entry_points(s, info, &|f| ep(f).is_some());
    let allocator_code = |f: u32| {
        under.contains(&f)
            || info.func_names.get(&f).is_some_and(|n| {
                let n = format!("{:#}", rustc_demangle::demangle(n));
                n.contains("GlobalAlloc>::") || n.contains("std::sys::alloc") || n.contains("std::alloc::System")
            })
    };
    let direct = |e: &&EntryPoint| {
        let wanted = |c: u32| ep(c).is_some_and(|x| c_layer(x) && x.role.is_free() == (e.role == Role::RustDealloc));
        reaches(s, nimp, e.func, &allocator_code, &wanted)
    };
    if !shims.iter().all(direct) {
        return eps;
    }
    eps.into_iter().filter(|e| !shim(e)).collect()
}

/// `__rust_alloc` & co. (and a `#[global_allocator]`'s `__rg_*`), named so.
fn is_rust_shim(e: &EntryPoint) -> bool {
    matches!(e.role, Role::RustAlloc | Role::RustDealloc | Role::RustRealloc) && (e.name.contains("__rust_") || e.name.contains("__rg_"))
}

/// Whether direct calls from `from`, passing only through functions `through` accepts, reach one `hit` accepts.
fn reaches(s: &statics::Scan, nimp: u32, from: u32, through: &dyn Fn(u32) -> bool, hit: &dyn Fn(u32) -> bool) -> bool {
    let (mut seen, mut todo) = (std::collections::HashSet::from([from]), vec![from]);
    while let Some(f) = todo.pop() {
        for c in s.callees_of(f, nimp) {
            if hit(c) {
                return true;
            }
            if through(c) && seen.insert(c) {
                todo.push(c);
            }
        }
    }
    false
}

/// Whether `f` may get its memory from the entry points `eps`: a direct call, through callees `through` accepts, reaches
/// one, or `f` or such a callee calls through a pointer (which may).
fn may_reach(s: &statics::Scan, nimp: u32, eps: &[EntryPoint], f: u32, through: &dyn Fn(u32) -> bool) -> bool {
    let indirect = |c: u32| s.indirect_here(c, nimp);
    indirect(f) || reaches(s, nimp, f, through, &|c| eps.iter().any(|e| e.func == c) || indirect(c))
}

type Callers = HashMap<u32, Vec<u32>>;

/// Not reached other than by direct calls, and every caller is an entry point or itself only called under one.
fn only_under(s: &statics::Scan, callers: &Callers, is_ep: &dyn Fn(u32) -> bool, under: &std::collections::HashSet<u32>, f: u32) -> bool {
    !s.escaping.contains(&f) && callers.get(&f).is_some_and(|cs| !cs.is_empty() && cs.iter().all(|&c| c != f && (is_ep(c) || under.contains(&c))))
}

/// The functions, not entry points themselves, only ever called under entry points (see [`only_under`]), and
/// every function's direct callers.
fn under_entry_points(s: &statics::Scan, info: &ModuleInfo, is_ep: &dyn Fn(u32) -> bool) -> (std::collections::HashSet<u32>, Callers) {
    let nimp = info.num_imported_funcs;
    let mut callers: Callers = HashMap::new();
    for (i, cs) in s.callees.iter().enumerate() {
        for &c in cs {
            callers.entry(c).or_default().push(i as u32 + nimp);
        }
    }
    let mut under = std::collections::HashSet::new();
    loop {
        let before = under.len();
        for &f in callers.keys() {
            if !is_ep(f) && !under.contains(&f) && only_under(s, &callers, is_ep, &under, f) {
                under.insert(f);
            }
        }
        if under.len() == before {
            break;
        }
    }
    (under, callers)
}

/// Rust's allocator shims (`__rust_alloc` & co.) are hooked, but the `#[global_allocator]` under them is also
/// reached without them: a release build inlines it into the program's own code, which then calls what the shims
/// call (`lol_alloc`'s `memory_grow`, `talc`'s `Talc::malloc`) itself. The allocations made there would never be
/// seen — their blocks missing from the report, and the frees made there making blocks look leaked. Says which
/// function does so; None when every function under the shims that grows memory is called only under them.
fn bypassed_rust_shims(s: &statics::Scan, info: &ModuleInfo, extra_names: &HashMap<u32, String>, eps: &[EntryPoint]) -> Option<String> {
    let nimp = info.num_imported_funcs;
    if eps.iter().any(|e| e.evidence == Evidence::User) {
        return None;
    }
    let shims: Vec<&EntryPoint> = eps.iter().filter(|e| is_rust_shim(e)).collect();
    if shims.is_empty() {
        return None; // no Rust shims (C, C++, Emscripten): nothing to look for, and no call graph to walk
    }
    let is_ep = |f: u32| eps.iter().any(|e| e.func == f);
    // Grows memory, itself or through what it calls, short of an entry point.
    let grows = |f: u32| s.grows_here(f, nimp) || reaches(s, nimp, f, &|c| !is_ep(c), &|c| !is_ep(c) && s.grows_here(c, nimp));
    let (under, callers) = under_entry_points(s, info, &is_ep);
    // Reached other than under an entry point: a caller that is neither one nor only called under one.
    let outside_caller = |f: u32| {
        if s.escaping.contains(&f) {
            return Some(f);
        }
        callers.get(&f)?.iter().copied().find(|&c| c != f && !is_ep(c) && !under.contains(&c))
    };
    let name = |f: u32| func_label(info, extra_names, f);
    let refuse = |shim: &EntryPoint, how: String| {
        let shim = format!("{:#}", rustc_demangle::demangle(&shim.name));
        format!(
            "Rust's allocator shims ({shim}…) are not the only way in: the #[global_allocator] under them is inlined \
             into the program's own code ({how}), so the allocations and frees made there cannot be seen; build the \
             module to check with the allocator out of line (opt-level 0 or 1, or without the custom \
             #[global_allocator])"
        )
    };
    let statics_of = |f| statics::addresses(&s.addressed, f, nimp);
    // The `#[global_allocator]`'s `GlobalAlloc` impl itself, by its name: an allocator over a static array
    // (emballoc) never grows memory, and the program's inlined code calls its `alloc`/`dealloc` directly.
    let impl_named = |f: u32| func_name(info, extra_names, f).is_some_and(|n| format!("{:#}", rustc_demangle::demangle(n)).contains("as core::alloc::global::GlobalAlloc>::"));
    for shim in &shims {
        for c in s.callees_of(shim.func, nimp) {
            if is_ep(c) || !(grows(c) || impl_named(c)) {
                continue;
            }
            if let Some(by) = outside_caller(c) {
                return Some(refuse(shim, format!("{} calls {}, which the shims call and which grows memory", name(by), name(c))));
            }
        }
        // The whole allocator inlined into the shim (an arena in static memory: nothing of the allocator's called
        // from it): its state is what the program's own copies of it use too.
        if !s.callees_of(shim.func, nimp).any(|c| is_ep(c) || under.contains(&c)) {
            let state: std::collections::HashSet<u64> = statics_of(shim.func).iter().copied().collect();
            let other = (nimp..info.num_funcs())
                .filter(|&f| !is_ep(f) && !under.contains(&f))
                .find(|&f| statics_of(f).iter().any(|a| state.contains(a)));
            if let Some(by) = other {
                return Some(refuse(shim, format!("{} uses the allocator's state in static memory, as the shims do", name(by))));
            }
        }
    }
    None
}

/// The `#[global_allocator]`'s `<X as GlobalAlloc>::{alloc, alloc_zeroed, dealloc, realloc}` that Rust's shims
/// call, as entry points. Its `Layout` argument is two i32s whose order is rustc's to choose: an impl is taken
/// only where a shim's call shows (align, size) — `__rust_alloc(size, align)` passing its size last,
/// `__rust_dealloc(ptr, size, align)` its size last — as rustc passes it today (wee_alloc's
/// `dealloc(self, ptr, align, size)`).
fn global_alloc_impls(s: &statics::Scan, info: &ModuleInfo, extra_names: &HashMap<u32, String>, eps: &[EntryPoint]) -> Vec<EntryPoint> {
    let nimp = info.num_imported_funcs;
    let mut out: Vec<EntryPoint> = Vec::new();
    for shim in eps.iter().filter(|e| is_rust_shim(e)) {
        let Some(calls) = shim.func.checked_sub(nimp).and_then(|d| s.calls.get(d as usize)) else { continue };
        for &(callee, last) in calls {
            let Some(raw) = func_name(info, extra_names, callee) else { continue };
            let name = format!("{:#}", rustc_demangle::demangle(raw));
            let Some((_, method)) = name.rsplit_once("as core::alloc::global::GlobalAlloc>::") else { continue };
            // The shim's size parameter: 0 for `__rust_alloc(size, align)`, 1 for the others.
            let (role, size_param) = match (method, shim.role) {
                ("alloc" | "alloc_zeroed", Role::RustAlloc) => (Role::GlobalAlloc, 0),
                ("dealloc", Role::RustDealloc) => (Role::GlobalDealloc, 1),
                ("realloc", Role::RustRealloc) => (Role::GlobalRealloc, 3),
                _ => continue,
            };
            let (p, r) = role.signature();
            let fits = info.func_signature(callee).is_some_and(|(ps, rs)| ps.len() == p && rs.len() == r && ps.iter().chain(rs).all(|t| *t == wasmparser::ValType::I32));
            // Realloc's last argument is the new size: its order shows nothing, so it comes with an alloc's proof.
            let order_shown = role == Role::GlobalRealloc || last == Some(size_param);
            if fits && order_shown && !out.iter().chain(eps).any(|e| e.func == callee) {
                out.push(EntryPoint { func: callee, name, role, evidence: shim.evidence.clone(), confirmed: None });
            }
        }
    }
    // An impl whose order no call showed is not taken alone.
    if !out.iter().any(|e| e.role == Role::GlobalAlloc) || !out.iter().any(|e| e.role == Role::GlobalDealloc) {
        return Vec::new();
    }
    out
}

/// C++'s `operator new`/`delete` over `malloc`/`free`: hooked as the outer layer, unless a program's replacement
/// moves the pointer on its way down (a size header: `free((char*)p - 16)`). Then the block `operator new` returns
/// is not `malloc`'s, and where clang inlined the program's `operator new` into its callers (-O1 and up: only
/// `malloc` left to see) while `operator delete` stayed a function, every delete looked like an invalid free of an
/// interior pointer — skipped, so clean programs leaked every block (C++ survey). Both layers are then the C ones.
fn one_cxx_layer(s: &statics::Scan, info: &ModuleInfo, eps: Vec<EntryPoint>) -> Vec<EntryPoint> {
    let cxx = |e: &EntryPoint| {
        let d = wasmleak_symbolize::demangle(&e.name);
        d.starts_with("operator new") || d.starts_with("operator delete")
    };
    let c_frees: HashSet<u32> = eps.iter().filter(|e| !cxx(e) && e.role.is_free()).map(|e| e.func).collect();
    let one_param = |f: u32| info.func_signature(f).is_some_and(|sig| sig.0.len() == 1);
    // A delete that calls the C free with anything but its own pointer parameter (local 0) as it came in.
    let moves = eps.iter().filter(|e| cxx(e) && e.role.is_free()).any(|e| {
        let Some(d) = e.func.checked_sub(info.num_imported_funcs) else { return false };
        let rewritten = s.sets_first.get(d as usize).copied().unwrap_or(true);
        s.calls.get(d as usize).into_iter().flatten().any(|&(callee, last)| {
            c_frees.contains(&callee) && one_param(callee) && (last != Some(0) || rewritten)
        })
    });
    if !moves || c_frees.is_empty() {
        return eps;
    }
    // What the user named stays.
    eps.into_iter().filter(|e| !cxx(e) || e.evidence == Evidence::User).collect()
}

/// Drops the entry points that are only ever called under other entry points: every caller is one, or is itself
/// only called under one (`__rdl_alloc` under `__rust_alloc`, the `dlmalloc` crate's `memalign` and `malloc`
/// under `__rdl_alloc`, wasi-libc's `dlmalloc` under `malloc`). The guard makes the outermost call report, so
/// their hooks would never fire; what is left is the outermost layer the program calls, whatever the names or
/// the shape proposed. Functions reached other than by direct calls (exported, in a table) and what the user
/// named stay.
fn without_covered(s: &statics::Scan, info: &ModuleInfo, eps: Vec<EntryPoint>) -> Vec<EntryPoint> {
    let is_ep = |f: u32| eps.iter().any(|e| e.func == f);
    let (under, callers) = under_entry_points(s, info, &is_ep);
    let covered = |f: u32| only_under(s, &callers, &is_ep, &under, f);
    // Keep what the user named and the entry points called from outside; none left means they only call each
    // other (or nothing calls them), and then all stay.
    let kept: Vec<EntryPoint> = eps.iter().filter(|e| e.evidence == Evidence::User || !covered(e.func)).cloned().collect();
    if kept.is_empty() { eps } else { kept }
}

fn find_all(
    bytes: Option<&[u8]>,
    info: &ModuleInfo,
    extra_names: &HashMap<u32, String>,
    overrides: &Overrides,
    discovery: &Discovery,
) -> Result<Discovered, Error> {
    if info.imports.iter().any(|i| i.module == HOOK_MODULE) {
        return Err(Error::AlreadyInstrumented);
    }
    if let Some(m) = info.memories.first() {
        if m.memory64 {
            return Err(Error::Unsupported("64-bit memory (memory64) is not supported yet".into()));
        }
    } else {
        return Err(Error::Unsupported("the module has no linear memory, so it has no heap to check".into()));
    }
    let user_named = [&overrides.alloc, &overrides.free, &overrides.realloc, &overrides.calloc, &overrides.aligned_alloc, &overrides.posix_memalign]
        .iter()
        .any(|l| !l.is_empty());
    if !user_named && let Some(what) = runtime::language_runtime(info) {
        return Err(Error::LanguageRuntime(what));
    }
    let names = candidate_names(info, extra_names);
    let mut found: Vec<EntryPoint> = Vec::new();
    let mut rejected = Vec::new();
    let mut add = |func: u32, name: &str, role: Role, evidence: Evidence, found: &mut Vec<EntryPoint>| {
        if found.iter().any(|e| e.func == func) {
            return;
        }
        if func < info.num_imported_funcs {
            rejected.push(format!("{name} is imported, not defined in the module"));
            return;
        }
        let fits = |role: Role| match info.func_signature(func) {
            Some((p, r)) => p.iter().chain(r).all(|t| *t == wasmparser::ValType::I32) && role.accepts(p.len(), r.len()),
            None => false,
        };
        // A memalign taking the size alone had its alignment folded into a constant (Emscripten -Oz: emmalloc's
        // `malloc` is `emmalloc_memalign(8, size)`, specialised into one function): a malloc.
        let specialised = || (role == Role::AlignedAlloc).then_some(Role::Malloc).filter(|&r| fits(r));
        match Some(role).filter(|&r| fits(r)).or_else(|| role.without_self().filter(|&r| fits(r))).or_else(specialised) {
            Some(role) => found.push(EntryPoint { func, name: name.to_string(), role, evidence, confirmed: None }),
            None => rejected.push(format!("{name} (function {func}) does not have the signature of {role}")),
        }
    };
    // A user-named function's role follows from its signature: (size, align) allocators are Rust-shaped.
    let by_params = |params: usize, short: Role, long: Role, long_params: usize| {
        if params == long_params { long } else { short }
    };
    for (list, kind) in [
        (&overrides.alloc, 0),
        (&overrides.free, 1),
        (&overrides.realloc, 2),
        (&overrides.calloc, 3),
        (&overrides.aligned_alloc, 4),
        (&overrides.posix_memalign, 5),
    ] {
        for spec in list {
            // `NAME(ctx, …)`: a C allocator's API that takes its context first (`tlsf_malloc(tlsf, size)`,
            // `tlsf_free(tlsf, ptr)`): the size or pointer after it.
            let (spec, context_first) = match spec.strip_suffix(')').and_then(|s| s.rsplit_once('(')) {
                Some((name, params)) if params.trim_start().starts_with("ctx") => (name.trim_end(), true),
                _ => (spec.as_str(), false),
            };
            // `func[N]`, as wasmleak's own messages name a function, is index N.
            let index = spec.strip_prefix("func[").and_then(|r| r.strip_suffix(']')).unwrap_or(spec);
            let func = match index.parse::<u32>() {
                Ok(i) if i < info.num_funcs() => i,
                Ok(i) => {
                    return Err(Error::BadOverride(format!(
                        "function index {i} is out of range: the module has {} functions",
                        info.num_funcs()
                    )));
                }
                // As the module has it, or demangled as `inspect --functions` prints it.
                Err(_) => names
                    .iter()
                    .find(|(_, n, _)| *n == spec)
                    .or_else(|| names.iter().find(|(_, n, _)| wasmleak_symbolize::demangle(n) == *spec))
                    .map(|(f, _, _)| *f)
                    // Or the last part of one name only (`__rust_alloc` for `__rustc::__rust_alloc`).
                    .or_else(|| {
                        let tail = format!("::{spec}");
                        let mut matching = names.iter().filter(|(_, n, _)| wasmleak_symbolize::demangle(n).ends_with(&tail)).map(|(f, _, _)| *f);
                        let first = matching.next()?;
                        matching.all(|f| f == first).then_some(first)
                    })
                    .ok_or_else(|| {
                        Error::BadOverride(format!(
                            "no function named `{spec}` (by name section, DWARF or export); `wasmleak inspect --functions` \
                             lists them"
                        ))
                    })?,
            };
            let params = info.func_signature(func).map_or(0, |s| s.0.len());
            // A Rust function that takes a `Layout` gets it as (align, size), after `self` when it has one: the size
            // is the last parameter (wee_alloc's `GlobalAlloc::alloc(align, size)` and talc's `Talc::malloc(layout)`
            // read as `(size, align)` made every block 1 B). Not the shims (`__rust_alloc(size, align)`) nor the
            // dlmalloc crate's `malloc(self, size, align)`, which take the size first.
            let global_alloc = info.func_names.get(&func).or_else(|| extra_names.get(&func)).is_some_and(|n| {
                // Rust's legacy mangling ends in a hash (`17h…E`); C++'s `_ZN…E` goes on with the parameter types.
                let rust = n.starts_with("_R") || (n.starts_with("_ZN") && n.ends_with('E') && n.contains("17h"));
                let d = format!("{:#}", rustc_demangle::demangle(n));
                rust && d.contains("::") && !d.contains("__rust_") && !d.contains("__rdl_") && !d.contains("__rg_") && !d.contains("dlmalloc")
            });
            let role = match kind {
                0 if context_first && params == 2 => Role::DlAlloc,
                0 if context_first && params == 3 => Role::SelfAlloc,
                1 if context_first => Role::DlFree,
                2 if context_first => Role::DlRealloc,
                0 if global_alloc && params == 2 => Role::AlignedAlloc,
                0 if global_alloc && params == 3 => Role::GlobalAlloc,
                // (self, ptr, layout), (self, ptr, layout, new_size): the pointer after `self`.
                1 if global_alloc && params == 4 => Role::GlobalDealloc,
                2 if global_alloc && params == 5 => Role::GlobalRealloc,
                0 => by_params(params, Role::Malloc, Role::RustAlloc, 2),
                1 => Role::Free,
                2 => by_params(params, Role::Realloc, Role::RustRealloc, 4),
                3 => Role::Calloc,
                4 => Role::AlignedAlloc,
                _ => Role::PosixMemalign,
            };
            let before = found.len();
            add(func, spec, role, Evidence::User, &mut found);
            if found.len() == before {
                return Err(Error::BadOverride(format!(
                    "`{spec}` cannot be used as {role}: {}",
                    rejected.last().map(String::as_str).unwrap_or("unexpected signature")
                )));
            }
        }
    }
    for (func, name, evidence) in names {
        if let Some(role) = role_of(name) {
            add(func, name, role, evidence, &mut found);
        }
    }
    // Without names, Zig's heap by its std.mem.Allocator vtable: beside the malloc/free a Zig library exports for its
    // host (md4w), the program's own allocations go through it, unseen by the exports' hooks.
    if let Some(bytes) = bytes.filter(|_| !named(&found) && !found.iter().any(|e| e.role.is_zig())) {
        match zig::vtable_heap(&*statics::scan(bytes, info)?, info) {
            Ok(Some(eps)) => found.extend(eps.into_iter().filter(|e| !found.iter().any(|x| x.func == e.func)).collect::<Vec<_>>()),
            Ok(None) => {}
            Err(why) => return Err(Error::NoAllocator { why, detail: Vec::new() }),
        }
    }
    let has_alloc = found.iter().any(|e| !e.role.is_free());
    let has_free = found.iter().any(|e| e.role.is_free() || e.role.is_realloc());
    let user = found.iter().any(|e| e.evidence == Evidence::User);
    let mut notes: Vec<String> = Vec::new();
    // Named by the name section or DWARF: the names are the allocator. Named only by exports (Emscripten exports
    // malloc and free for its glue, and nothing else), the module is stripped as far as its realloc, calloc and
    // memalign go: the shape finds those, the exports' names winning where both speak.
    let by_exports_only = found.iter().all(|e| e.evidence == Evidence::Export);
    if has_alloc && has_free && !(by_exports_only && bytes.is_some()) {
        found.sort_by_key(|e| e.func);
        return Ok(Discovered { entry_points: found, notes, details: Vec::new() });
    }
    let mut shape: Option<fingerprint::Refusal> = None;
    // Entry points named on the command line are the user's word: the shape is not asked to add to them (a
    // free named without its malloc, or the reverse, is refused below).
    if let Some(bytes) = bytes.filter(|_| !user) {
        match fingerprint::fingerprint(bytes, info, discovery.experiments)? {
            Ok(found_by_shape) => {
                // Names win where they say something: the shape adds what they do not name.
                let mut eps = found.clone();
                for e in found_by_shape.entry_points {
                    match eps.iter_mut().find(|n| n.func == e.func) {
                        Some(named) => named.confirmed = e.confirmed,
                        None => eps.push(e),
                    }
                }
                eps.sort_by_key(|e| e.func);
                if found.is_empty() {
                    if let Some(f) = grows_outside(bytes, info, &eps)? {
                        return Err(Error::NoAllocator {
                            why: format!(
                                "the allocator found by its code ({}) is not the only way in: func {f} grows the \
                                 memory itself and is reached outside it — another allocator (a Rust \
                                 #[global_allocator] of its own, an arena over sbrk), or an entry point of this one \
                                 its code did not show (Zig's libc calloc beside its malloc), whose blocks would never \
                                 be seen. --debug-file with the unstripped build names them (or --calloc-fn and the \
                                 like, once `wasmleak dis` shows which function it is)",
                                list(&eps)
                            ),
                            detail: Vec::new(),
                        });
                    }
                }
                return Ok(Discovered { entry_points: eps, notes: found_by_shape.notes, details: found_by_shape.details });
            }
            // The exports named both sides: they stand, whatever the shape says.
            Err(_) if has_alloc && has_free => {
                found.sort_by_key(|e| e.func);
                return Ok(Discovered { entry_points: found, notes, details: Vec::new() });
            }
            Err(r) => shape = Some(r),
        }
        // Named but one-sided: a program that never frees (wasm-ld drops `free` when nothing calls it) or never
        // allocates (it only frees what it did not allocate). What is there is tracked — unless the missing
        // side is only missing its name, inlined into a caller (the allocations would never be seen to end).
        if has_alloc != has_free && !found.is_empty() {
            // The side that is there, and the other one looked for in the code that is not the allocator's.
            let present: Vec<u32> = found.iter().filter(|e| e.role.is_free() == has_free).map(|e| e.func).collect();
            if let Some((f, n)) = fingerprint::other_side_inlined(bytes, info, &present)? {
                let (side, what) = if has_alloc { ("a free", "free seems inlined into it, so frees") } else {
                    // Emscripten -O2 --profiling-funcs: malloc's one caller (a string constructor) got it inlined,
                    // `dlfree` kept its name — every free was called invalid and withheld from the allocator.
                    ("malloc", "malloc seems inlined into it, so allocations")
                };
                let name = info.func_names.get(&f).map(|n| format!(" ({})", wasmleak_symbolize::demangle(n))).unwrap_or_default();
                return Err(Error::NoAllocator {
                    why: format!(
                        "it names only {}, and func {f}{name}, which is not an allocator entry point, uses the \
                         allocator's state {n} times as only {side} does: {what} could not be seen",
                        list(&found)
                    ),
                    detail: Vec::new(),
                });
            }
            notes.push(one_sided_note(has_alloc, "by name"));
            found.sort_by_key(|e| e.func);
            return Ok(Discovered { entry_points: found, notes, details: Vec::new() });
        }
    }
    // An Emscripten side module (web-tree-sitter's grammars) has no allocator of its own: what it allocates goes
    // through the main module's malloc, which it imports — and which the main module's hooks see.
    if info.sections.iter().any(|s| s.id == 0 && s.name == "dylink.0") {
        let imports_malloc = info.imports.iter().any(|i| i.kind == "func" && matches!(i.name.as_str(), "malloc" | "free"));
        return Err(Error::NoAllocator {
            why: format!(
                "it is a side module (Emscripten dynamic linking: a `dylink.0` section) with no allocator of its own{}",
                if imports_malloc {
                    ": it allocates through the malloc/free it imports from the main module, whose tracking sees its blocks"
                } else {
                    " and no malloc/free imported: it does not allocate (the main module's tracking covers the heap)"
                }
            ),
            detail: Vec::new(),
        });
    }
    let stripped = info.func_names.is_empty() && extra_names.is_empty();
    let mut why = if stripped {
        "the module has no function names (no name section, no DWARF that names its functions: stripped)".to_string()
    } else {
        "no function is named as an allocator entry point".to_string()
    };
    if !found.is_empty() {
        why = format!("it names only {}, which cannot tell allocations from frees", list(&found));
    }
    let mut detail = vec![format!("names looked for (name section, DWARF, exports): {LOOKED_FOR}")];
    detail.extend(rejected.iter().map(|r| format!("rejected: {r}")));
    if let Some(r) = shape {
        why = format!("{why}; from its code: {}", r.why);
        detail.extend(r.detail);
    }
    let wasm_bindgen = info.exports.iter().any(|e| e.name.starts_with("__wbindgen_malloc") || e.name.starts_with("__wbindgen_export"));
    if stripped && wasm_bindgen {
        why.push_str(
            "; it is a wasm-bindgen module whose Rust allocator is not dlmalloc-shaped (wee_alloc, another \
             #[global_allocator], or an old dlmalloc crate): its unstripped build names __rust_alloc (--debug-file)",
        );
    }
    // Zig's std allocators (`heap.PageAllocator.alloc`, `heap.ArenaAllocator.free`…) take the allocator and an
    // alignment, not malloc's arguments, and --alloc-fn cannot name them: say what can be tracked instead.
    let zig = info.func_names.values().any(|n| n.starts_with("heap.") && n.contains("Allocator."));
    if zig {
        why.push_str(
            "; it is a Zig program whose std allocators (std.heap.*) are not malloc-shaped (they take the allocator \
             and an alignment), so --alloc-fn cannot name them either: link libc (-lc) and allocate with \
             std.heap.c_allocator to have its allocations tracked",
        );
    }
    Err(Error::NoAllocator { why, detail })
}

/// A function that grows the memory and is not the allocator's own code (called only from inside its entry
/// points): a second allocator. A stripped Rust program with a `#[global_allocator]` of its own (talc, lol_alloc)
/// still links wasi-libc's dlmalloc, which the shape finds — the Rust heap never goes through it, and a run that
/// reached libc's malloc a few times (an environment variable read) was called clean.
fn grows_outside(bytes: &[u8], info: &ModuleInfo, eps: &[EntryPoint]) -> Result<Option<u32>, Error> {
    let nimp = info.num_imported_funcs;
    let scan = statics::scan(bytes, info)?;
    let private = statics::allocator_private(&scan, nimp, eps);
    Ok((0..scan.grows.len() as u32).filter(|&i| scan.grows[i as usize]).map(|i| i + nimp).find(|f| !private.contains(f)))
}

fn list(eps: &[EntryPoint]) -> String {
    eps.iter().map(|e| format!("{} ({})", e.name, e.role)).collect::<Vec<_>>().join(", ")
}

fn one_sided_note(has_alloc: bool, how: &str) -> String {
    if has_alloc {
        format!("the module has no free ({how}): every block it allocates stays live to the end")
    } else {
        format!("the module has no allocation function ({how}): every free it makes is of a block it did not allocate")
    }
}

/// A hooked Rust dealloc whose own body is empty — a bump allocator's `dealloc`, or the `__rust_dealloc` shim
/// compiled to nothing over it: the compiler dropped every call of it where it saw that body, so the program's frees are not
/// seen and the blocks it let go look leaked (allocator survey: a clean program at opt-level z, 26 blocks "lost").
/// Its name (or `func[N]`), when there is one.
pub fn empty_free(bytes: &[u8], info: &ModuleInfo, eps: &[EntryPoint]) -> Option<String> {
    let scan = statics::scan(bytes, info).ok()?;
    let nimp = info.num_imported_funcs;
    // Rust's: a C `free` that does nothing is written so (a toy allocator's), and its calls in other objects stay.
    let rust = |r: Role| matches!(r, Role::RustDealloc | Role::GlobalDealloc);
    let ep = eps.iter().filter(|e| rust(e.role) && e.func >= nimp).find(|e| scan.ops.get((e.func - nimp) as usize) == Some(&1))?;
    Some(info.func_names.get(&ep.func).map_or_else(|| format!("func[{}]", ep.func), |n| format!("`{}` (func {})", wasmleak_symbolize::demangle(n), ep.func)))
}

/// Whether a module conclusively has no heap: it neither grows nor measures its memory, nor exports an allocator
/// ([`has_heap`]), and its functions have names, none of them an allocator's word — or, without names, its code
/// never follows or hands out an address it read from its static data (`pointers`: a hash context kept there). A
/// named module with an `alloc`/`free` function of its own (a pool over a static array: a Rust `#[global_allocator]`
/// over a `static` arena, C's umm_malloc), or a stripped one whose code keeps addresses in static data, may have an
/// allocator wasmleak does not know: not heapless (a host that left such a module untracked as heapless passed leaks
/// in it; allocator survey).
pub fn heapless(bytes: &[u8], info: &ModuleInfo, sym: &wasmleak_symbolize::Symbolizer) -> bool {
    // No linear memory at all (Emscripten's `addFunction` compiles such stubs): nothing to leak from.
    info.memories.is_empty()
        || (!has_heap(bytes, info)
            && (no_allocator_of_its_own(info, sym)
                || keeps_no_state(bytes, info)
                || (!names_every_function(info, sym) && pointers::static_heap_use(bytes, info).is_none())))
}

/// The module keeps no state of its own: no code uses a fixed address of its memory or sets a global (the stack
/// pointer aside) — it works only on memory its host hands it (xxhash-wasm, hand-written: JS writes the input and
/// reads the digest). An allocator, whatever its kind, keeps its state somewhere; names or not, there is none (npm
/// survey: its module was "a module with a heap not tracked", exit 2, for every app that hashed with it).
fn keeps_no_state(bytes: &[u8], info: &ModuleInfo) -> bool {
    // Any constant its code may use as a static address counts (`i32.const A`, a value, `i32.store` is -O0's store).
    statics::scan(bytes, info).is_ok_and(|s| !s.sets_global && s.addressed.iter().all(Vec::is_empty))
}

/// The half of [`heapless`] that reads the names: every function has one, and none is an allocator's word.
pub fn no_allocator_of_its_own(info: &ModuleInfo, sym: &wasmleak_symbolize::Symbolizer) -> bool {
    let names = sym.function_names();
    let allocator_word = |n: &str| {
        let n = n.to_ascii_lowercase();
        ["alloc", "free", "arena", "pool", "heap", "sbrk", "new", "delete"].iter().any(|w| n.contains(w))
    };
    names_every_function(info, sym)
        && !names.iter().any(|f| allocator_word(&f.raw) || allocator_word(&f.demangled))
}

/// Every function the module defines has a name (the name section's, DWARF's or a `--debug-file`'s).
pub fn names_every_function(info: &ModuleInfo, sym: &wasmleak_symbolize::Symbolizer) -> bool {
    let imported = info.num_imported_funcs;
    let defined = info.num_funcs().saturating_sub(imported);
    defined > 0 && sym.function_names().iter().filter(|f| f.index >= imported).count() as u32 >= defined
}

/// The module has a heap, whatever manages it: it grows its linear memory (`memory.grow`, or Emscripten's
/// `emscripten_resize_heap` import), or reads the memory's size (`memory.size`: an `sbrk` checks the break
/// against it — Emscripten's does so in a module built without memory growth, whose imports -O3 and up rename,
/// so the import's name is not there to tell), or exports an allocator for its host.
pub fn has_heap(bytes: &[u8], info: &ModuleInfo) -> bool {
    if info.imports.iter().any(|i| i.kind == "func" && i.name == "emscripten_resize_heap") {
        return true;
    }
    // An allocator exported for the host (a heap in a static array grows nothing: wasm-bindgen over emballoc).
    let allocating_export = |n: &str| matches!(n, "malloc" | "_malloc" | "free" | "_free") || n.starts_with("__wbindgen_malloc");
    if info.exports.iter().any(|e| e.kind == wasmparser::ExternalKind::Func && allocating_export(&e.name)) {
        return true;
    }
    wasmparser::Parser::new(0).parse_all(bytes).any(|p| match p {
        Ok(wasmparser::Payload::CodeSectionEntry(body)) => body
            .get_operators_reader()
            .map(|r| {
                r.into_iter()
                    .any(|op| matches!(op, Ok(wasmparser::Operator::MemoryGrow { .. } | wasmparser::Operator::MemorySize { .. })))
            })
            .unwrap_or(false),
        _ => false,
    })
}

/// What the rewrite adds beyond the allocator hooks.
#[derive(Clone, Debug, Default)]
pub struct InstrumentOptions {
    /// Wrap this function (index in the original module) so each of its returns calls the optional hook
    /// import `wasmleak.iteration()` (type `[] -> []`): one iteration of the program's own loop, for
    /// snapshots of a command that never returns to the host between iterations. Calls, `ref.func`, tables,
    /// exports and start all go through the wrapper, as for the allocator entry points.
    pub iteration: Option<u32>,
    /// Add the checked-free hook import `wasmleak.check(ptr) -> i32` (type `[i32] -> [i32]`, after the
    /// others): called at the outermost allocator layer before a free or realloc of a non-null pointer, it
    /// returns 1 when the pointer is a live block, and 0 otherwise — then the host records an invalid free and
    /// the wrapper skips the allocator (free returns, realloc returns 0), so a bad free is reported instead of
    /// corrupting or trapping the allocator, and the program goes on (README.md: an invalid free is not handed to the allocator).
    pub checked_frees: bool,
    /// Keep a calling-context id (`context.rs`) and report it with every event: the hook imports become
    /// `alloc_ctx(ptr, size, ctx_lo, ctx_hi)`, `free_ctx(ptr, ctx_lo, ctx_hi)` and
    /// `realloc_ctx(old, new, size, ctx_lo, ctx_hi)` (same positions, all i32), and the id's i64 global is
    /// exported as `wasmleak:ctx`. Equal ids mean the same chain of call sites (up to a 2⁻⁶⁴ collision), so a
    /// host walks the stack once per id.
    pub contexts: bool,
    /// Record events into a memory of the module's own and call the host only when that buffer is full, for a
    /// context not seen before, or for what the in-module live bitmap cannot decide (`buffered.rs`). Implies
    /// calling contexts and checked frees; needs multi-memory in the host (wasmtime: on by default).
    pub buffered: bool,
    /// With checked frees and calling contexts (not buffered): a free of a non-null pointer makes one host call,
    /// `free_check_ctx(ptr, ctx_lo, ctx_hi) -> i32` (added after `check`), instead of `check` then `free_ctx`: the
    /// host records the free and returns 1, or records an invalid free and returns 0 (the allocator is skipped).
    /// Half the host calls of a free, for hosts where a call costs more than the event (the JS runtime).
    pub fused_free: bool,
    /// Instrument a module with shared memory (wasm threads) for a host that runs every thread's instance
    /// against one recorder, which orders the events of all threads (`wasmleak-host`). Each instance has its own
    /// globals, so calling-context ids are per thread; buffered hooks are refused (their buffer and live bitmap
    /// would be per instance, so a block allocated on one thread and freed on another would look invalid).
    pub threads: bool,
    /// With `threads`: every `memory.atomic.wait32/64` on memory 0 becomes a call of the hook import
    /// `wasmleak.wait32(addr: i64, expected: i32, timeout_ns: i64) -> i32` (`wait64`: expected i64; both are
    /// imported, after every other hook, when the code has a wait), with the effective address and the
    /// instruction's result: the host waits in the module's place, so it can wake a thread waiting at the end
    /// of the run and stop it where it is, its frames known (`exit::held_at_exit`). For a host that provides
    /// them (`wasmleak-host`); the JS runtime does not.
    pub waits: bool,
    /// Buffered as modules were before the ring (2026-12-07): one segment, the context table after it, no
    /// `wasmleak:limit` export. For the tests of hosts, which still run such modules.
    #[doc(hidden)]
    pub before_ring: bool,
}

/// Rewrite `bytes` so every entry point reports to the hooks.
pub fn instrument(bytes: &[u8], info: &ModuleInfo, entry_points: &[EntryPoint]) -> Result<Instrumented, Error> {
    instrument_with(bytes, info, entry_points, &InstrumentOptions::default())
}

/// [`instrument`], plus what `options` asks for. With default options the output is byte-identical to
/// [`instrument`]'s.
pub fn instrument_with(
    bytes: &[u8],
    info: &ModuleInfo,
    entry_points: &[EntryPoint],
    options: &InstrumentOptions,
) -> Result<Instrumented, Error> {
    info.done.validate(bytes)?;
    // Discovery reads a threaded module (`inspect` shows its allocator); tracking it needs one heap model fed by
    // every thread in the allocator's order: per-event hooks into a host that orders them (`threads`).
    if info.threaded() && options.threads && options.buffered {
        return Err(Error::Unsupported(
            "shared memory (wasm threads): buffered hooks keep their events per instance, so each thread would have its \
             own; instrument a threaded module without --buffered"
                .into(),
        ));
    }
    if info.threaded() && !options.threads {
        let found = entry_points.iter().map(|e| format!("{} (function {})", e.role, e.func)).collect::<Vec<_>>().join(", ");
        return Err(Error::Unsupported(format!(
            "shared memory (wasm threads): tracking a threaded module is not supported yet (allocations from several \
             threads cannot be ordered in this host yet); its allocator was found: {found}. `wasmleak check` runs \
             wasi-threads modules; a build without threads (no -pthread, no +atomics) can be checked anywhere"
        )));
    }
    if let Some(f) = options.iteration {
        check_iteration_function(info, entry_points, f)?;
    }
    let mut out = rewrite::rewrite(bytes, info, entry_points, options)?;
    (out.allocator_statics, out.static_bounds) = statics::allocator_state(bytes, info, entry_points)?;
    out.empty_free = empty_free(bytes, info, entry_points);
    Ok(out)
}

/// Whether function `f` can be wrapped as the iteration function: defined in the module (not imported),
/// and not an allocator entry point (those are wrapped already).
pub fn check_iteration_function(info: &ModuleInfo, entry_points: &[EntryPoint], f: u32) -> Result<(), Error> {
    let name = || info.func_names.get(&f).map_or(format!("function {f}"), |n| format!("function {f} ({n})"));
    if f >= info.num_funcs() {
        return Err(Error::BadIteration(format!(
            "--iteration: function index {f} is out of range: the module has {} functions (`wasmleak inspect --functions` lists them)",
            info.num_funcs()
        )));
    }
    if f < info.num_imported_funcs {
        let import = info.imports.iter().filter(|i| i.kind == "func").nth(f as usize);
        let what = import.map_or(name(), |i| format!("function {f} ({}::{})", i.module, i.name));
        return Err(Error::BadIteration(format!(
            "--iteration: {what} is imported, so it has no body to wrap; name the module's own function that runs one \
             iteration (the one that calls it)"
        )));
    }
    if let Some(ep) = entry_points.iter().find(|e| e.func == f) {
        return Err(Error::BadIteration(format!(
            "--iteration: {} is an allocator entry point ({}), not one iteration of the program; name the function \
             the program's loop calls once per iteration",
            name(),
            ep.role
        )));
    }
    Ok(())
}


/// Calls functions of `bytes` in one scratch instance (what the allocator experiments do), in order: each
/// result, or why the call failed. For looking at what a function does when discovery and a user disagree.
#[doc(hidden)]
pub fn scratch_calls(bytes: &[u8], calls: &[(u32, Vec<i32>)]) -> Result<Vec<Result<Option<i32>, String>>, String> {
    let info = ModuleInfo::parse(bytes).map_err(|e| e.to_string())?;
    let funcs: Vec<u32> = calls.iter().map(|c| c.0).collect();
    let lab = probe::Lab::new(bytes, &info, &funcs, None)?;
    let mut s = lab.fresh(lab.init())?;
    Ok(calls.iter().map(|(f, args)| s.call(*f, args).map_err(|e| e.to_string())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A heap is told by what sizes it: growing memory, Emscripten's import by its name, or an `sbrk` reading the
    /// memory's size (a build without memory growth at -O3, whose imports are renamed `a.a`, `a.b`…).
    #[test]
    fn a_module_that_reads_its_memory_size_has_a_heap() {
        let has = |wat: &str| {
            let bytes = wat::parse_str(wat).unwrap();
            has_heap(&bytes, &ModuleInfo::parse(&bytes).unwrap())
        };
        assert!(has(r#"(module (memory 1) (func (result i32) i32.const 1 memory.grow))"#));
        assert!(has(r#"(module (import "a" "a" (func (param i32) (result i32))) (memory 1)
            (func $sbrk (param i32) (result i32) local.get 0 memory.size i32.const 16 i32.shl i32.gt_u))"#));
        assert!(has(r#"(module (import "env" "emscripten_resize_heap" (func (param i32) (result i32))) (memory 1))"#));
        assert!(!has(r#"(module (import "a" "b" (func (param i32) (result i32))) (memory 1)
            (func (param i32) (result i32) local.get 0 i32.load))"#));
        // A heap in a static array that grows nothing, its allocator exported for the host (wasm-bindgen).
        assert!(has(r#"(module (memory 1) (func (export "__wbindgen_malloc") (param i32 i32) (result i32) i32.const 1024))"#));
    }

    /// A Zig program whose std allocators are not malloc-shaped: the refusal says what can be tracked instead.
    #[test]
    fn a_zig_std_allocator_refusal_says_to_use_the_c_allocator() {
        let bytes = wat::parse_str(
            r#"(module (memory 1)
                (func $heap.PageAllocator.alloc (param i32 i32 i32 i32) (result i32) i32.const 0 memory.grow)
                (func $main (export "_start") i32.const 16 i32.const 8 i32.const 0 i32.const 0 call $heap.PageAllocator.alloc drop))"#,
        )
        .unwrap();
        let info = ModuleInfo::parse(&bytes).unwrap();
        let e = discover(&bytes, &info, &Default::default(), &Overrides::default(), &Discovery::default()).unwrap_err();
        assert!(e.to_string().contains("it is a Zig program") && e.to_string().contains("std.heap.c_allocator"), "{e}");
    }
}
