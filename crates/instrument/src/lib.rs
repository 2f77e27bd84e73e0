//! Find a module's allocator entry points and rewrite the module so each of them also calls a hook import
//! (DESIGN.md §4 hook ABI): `wasmleak.alloc(ptr, size)`, `wasmleak.free(ptr)`, `wasmleak.realloc(old, new, size)`,
//! and, only when asked ([`InstrumentOptions::iteration`]), `wasmleak.iteration()` after every return of the
//! function that runs one iteration of the program's loop.
//!
//! The rewrite also exports memory 0 as `wasmleak:memory` and every i32 global as `wasmleak:global:N`, so a
//! host can read the roots (the shadow-stack pointer, TLS bases) without knowing the module.

mod allocator;
mod codemap;
mod fingerprint;
mod module;
mod rewrite;
mod roots;
mod statics;

use std::collections::HashMap;

pub use allocator::{role_of, Confidence, EntryPoint, Evidence, Role, LOOKED_FOR};
pub use codemap::CodeMap;
pub use roots::{mask_link_time_words, roots};
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
    #[error("unsupported module: {0}")]
    Unsupported(String),
    #[error(
        "no allocator found: looked for {LOOKED_FOR} in the name section, the exports and DWARF{found}. \
         Name the entry points by hand with --alloc-fn/--free-fn/--realloc-fn NAME|INDEX \
         (`wasmleak inspect` lists the module's functions)"
    )]
    NoAllocator { found: String },
    #[error("{0}")]
    BadOverride(String),
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
#[derive(Clone, Debug)]
pub struct Instrumented {
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
    find(None, info, extra_names, overrides)
}

/// The allocator entry points of a module: by name ([`find_allocator_by_name`]), and when no names
/// identify the allocator (stripped modules), by the shape of its code: the entry points then carry [`Evidence::Fingerprint`] with a confidence.
pub fn find_allocator(
    bytes: &[u8],
    info: &ModuleInfo,
    extra_names: &HashMap<u32, String>,
    overrides: &Overrides,
) -> Result<Vec<EntryPoint>, Error> {
    find(Some(bytes), info, extra_names, overrides)
}

fn find(
    bytes: Option<&[u8]>,
    info: &ModuleInfo,
    extra_names: &HashMap<u32, String>,
    overrides: &Overrides,
) -> Result<Vec<EntryPoint>, Error> {
    if info.imports.iter().any(|i| i.module == HOOK_MODULE) {
        return Err(Error::AlreadyInstrumented);
    }
    if let Some(m) = info.memories.first() {
        if m.memory64 {
            return Err(Error::Unsupported("64-bit memory (memory64) is not supported yet".into()));
        }
        if m.shared {
            return Err(Error::Unsupported(
                "shared memory (wasm threads) is not supported yet: allocations from several threads cannot be ordered"
                    .into(),
            ));
        }
    } else {
        return Err(Error::Unsupported("the module has no linear memory, so it has no heap to check".into()));
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
        match Some(role).filter(|&r| fits(r)).or_else(|| role.without_self().filter(|&r| fits(r))) {
            Some(role) => found.push(EntryPoint { func, name: name.to_string(), role, evidence }),
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
            let func = match spec.parse::<u32>() {
                Ok(i) if i < info.num_funcs() => i,
                Ok(i) => {
                    return Err(Error::BadOverride(format!(
                        "function index {i} is out of range: the module has {} functions",
                        info.num_funcs()
                    )));
                }
                Err(_) => names.iter().find(|(_, n, _)| *n == spec).map(|(f, _, _)| *f).ok_or_else(|| {
                    Error::BadOverride(format!(
                        "no function named `{spec}` (by name section, DWARF or export); `wasmleak inspect` lists them"
                    ))
                })?,
            };
            let params = info.func_signature(func).map_or(0, |s| s.0.len());
            let role = match kind {
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
    let has_alloc = found.iter().any(|e| !e.role.is_free());
    let has_free = found.iter().any(|e| e.role.is_free() || e.role.is_realloc());
    if !has_alloc || !has_free {
        let mut note = String::new();
        let no_user = found.iter().all(|e| e.evidence != Evidence::User);
        let mut shape_note = String::new();
        if let Some(bytes) = bytes
            && no_user
        {
            match fingerprint::fingerprint(bytes, info)? {
                Ok(eps) => return Ok(eps),
                Err(why) => {
                    shape_note = format!("; from the shape of the code: {why} (pass the index of the allocator's functions: --alloc-fn N --free-fn N)")
                }
            }
        }
        if !found.is_empty() {
            let list: Vec<String> = found.iter().map(|e| format!("{} ({})", e.name, e.role)).collect();
            note = format!(" (found only {}, which cannot tell allocations from frees)", list.join(", "));
        }
        if !rejected.is_empty() {
            note.push_str(&format!("; rejected: {}", rejected.join("; ")));
        }
        if !info.func_names.is_empty() || !extra_names.is_empty() {
            return Err(Error::NoAllocator { found: format!("{note}{shape_note}") });
        }
        return Err(Error::NoAllocator {
            found: format!("{note}; the module has no name section and no DWARF (stripped){shape_note}"),
        });
    }
    found.sort_by_key(|e| e.func);
    Ok(found)
}

/// What the rewrite adds beyond the allocator hooks.
#[derive(Clone, Debug, Default)]
pub struct InstrumentOptions {
    /// Wrap this function (index in the original module) so each of its returns calls the optional hook
    /// import `wasmleak.iteration()` (type `[] -> []`): one iteration of the program's own loop, for
    /// snapshots of a command that never returns to the host between iterations. Calls, `ref.func`, tables,
    /// exports and start all go through the wrapper, as for the allocator entry points.
    pub iteration: Option<u32>,
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
    if let Some(f) = options.iteration {
        check_iteration_function(info, entry_points, f)?;
    }
    let mut out = rewrite::rewrite(bytes, info, entry_points, options.iteration)?;
    out.allocator_statics = statics::allocator_statics(bytes, info, entry_points)?;
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

