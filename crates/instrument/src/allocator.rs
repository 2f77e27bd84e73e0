//! Which functions of a module are allocator entry points, and what each one means.

use std::fmt;

/// What an entry point does, which decides how its wrapper reports it (docs/contracts.md, the hook ABI).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Role {
    /// `(size) -> ptr`: malloc, operator new
    Malloc,
    /// `(n, size) -> ptr`
    Calloc,
    /// `(ptr, size) -> ptr`
    Realloc,
    /// `(ptr)`: free, operator delete (extra params ignored)
    Free,
    /// `(align, size) -> ptr`: aligned_alloc, memalign
    AlignedAlloc,
    /// `(ptr*, align, size) -> errno`
    PosixMemalign,
    /// `(size, align) -> ptr`: __rust_alloc, __rust_alloc_zeroed, operator new(size, align_val_t)
    RustAlloc,
    /// `(ptr, size, align)`
    RustDealloc,
    /// `(ptr, old_size, align, new_size) -> ptr`
    RustRealloc,
    /// `(self, size, align) -> ptr`: the `dlmalloc` crate's `Dlmalloc::malloc`/`calloc` (Rust on wasm32-unknown-unknown)
    SelfAlloc,
    /// `(self, ptr, size, align)`: `Dlmalloc::free`
    SelfFree,
    /// `(self, ptr, old_size, old_align, new_size) -> ptr`: `Dlmalloc::realloc`
    SelfRealloc,
    /// `(self, size) -> ptr`: the `dlmalloc` crate's inner `dlmalloc::dlmalloc::Dlmalloc::malloc`, what is left of
    /// the allocator when a `#[global_allocator]` (`dlmalloc::GlobalDlmalloc`) is inlined into its callers
    DlAlloc,
    /// `(self, align, size) -> ptr`: the inner `Dlmalloc::memalign`
    DlMemalign,
    /// `(self, ptr)`: the inner `Dlmalloc::free`
    DlFree,
    /// `(self, ptr, size) -> ptr`: the inner `Dlmalloc::realloc`
    DlRealloc,
    /// `(self, align, size) -> ptr`: a `#[global_allocator]`'s `<X as GlobalAlloc>::alloc` (and `alloc_zeroed`),
    /// its `Layout` passed as (align, size) — hooked only where the shims' calls show that order
    GlobalAlloc,
    /// `(self, ptr, align, size)`: `<X as GlobalAlloc>::dealloc`
    GlobalDealloc,
    /// `(self, ptr, align, size, new_size) -> ptr`: `<X as GlobalAlloc>::realloc`
    GlobalRealloc,
    /// `(ptr, size) -> ptr` over blocks with an 8-byte header its callers never see: `ptr` and the result
    /// point 8 bytes into their blocks, which are `size + 8` bytes (SQLite's `sqlite3MemRealloc`, with
    /// dlrealloc inlined into it; its malloc and free go through the hooked ones with the header included).
    HeaderRealloc,
    /// Zig's `std.mem.Allocator` vtable functions of its wasm heap (`heap.BrkAllocator`, older `heap.WasmAllocator`),
    /// which `page_allocator`, `DebugAllocator`, `ArenaAllocator` reach through the vtable and Zig's libc malloc
    /// calls directly: `(ctx, len, alignment, ret_addr) -> ptr`. Debug builds pass a hidden parameter first, so the
    /// parameters are counted from the last: [`Role::zig_param`].
    ZigAlloc,
    /// `(ctx, ptr, len, alignment, ret_addr)`
    ZigFree,
    /// `(ctx, ptr, len, alignment, new_len, ret_addr) -> bool`: resized in place, or not at all
    ZigResize,
    /// `(ctx, ptr, len, alignment, new_len, ret_addr) -> ptr`: moved or resized; null leaves the block as it was
    ZigRemap,
}

/// A demangled Rust path without its crates' disambiguators (`dlmalloc[ce1e1277b7e64b33]::` → `dlmalloc::`).
fn without_hashes(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut skipping = false;
    for c in path.chars() {
        match c {
            '[' => skipping = true,
            ']' if skipping => skipping = false,
            _ if !skipping => out.push(c),
            _ => {}
        }
    }
    out
}

/// The header [`Role::HeaderRealloc`] hides.
pub const REALLOC_HEADER: i32 = 8;

impl Role {
    /// Number of i32 params and results the role's signature has.
    pub fn signature(self) -> (usize, usize) {
        match self {
            Role::Malloc => (1, 1),
            Role::Calloc | Role::Realloc | Role::HeaderRealloc | Role::AlignedAlloc | Role::RustAlloc => (2, 1),
            Role::Free => (1, 0),
            Role::PosixMemalign => (3, 1),
            Role::RustDealloc => (3, 0),
            Role::RustRealloc => (4, 1),
            Role::SelfAlloc => (3, 1),
            Role::SelfFree => (4, 0),
            Role::SelfRealloc => (5, 1),
            Role::DlAlloc => (2, 1),
            Role::DlMemalign | Role::DlRealloc => (3, 1),
            Role::DlFree => (2, 0),
            Role::GlobalAlloc => (3, 1),
            Role::GlobalDealloc => (4, 0),
            Role::GlobalRealloc => (5, 1),
            Role::ZigAlloc => (4, 1),
            Role::ZigFree => (5, 0),
            Role::ZigResize | Role::ZigRemap => (6, 1),
        }
    }

    /// Where a Zig vtable function of `nparams` parameters takes what the hooks need, counted from its last parameter
    /// (`ret_addr`): `(pointer, size)` — the block and the new length of a resize or remap, the length of an
    /// allocation (its block is the result), the block of a free.
    pub fn zig_param(self, nparams: u32) -> (u32, u32) {
        let n = nparams;
        match self {
            Role::ZigAlloc => (0, n.saturating_sub(3)),
            Role::ZigFree => (n.saturating_sub(4), n.saturating_sub(3)),
            _ => (n.saturating_sub(5), n.saturating_sub(2)),
        }
    }

    /// The role to try when the signature does not fit: LTO drops the `self` argument of `Dlmalloc`'s
    /// methods when the allocator is a single static, leaving plain `malloc(size)` / `free(ptr)` shapes.
    pub fn without_self(self) -> Option<Role> {
        match self {
            Role::SelfAlloc => Some(Role::Malloc),
            Role::SelfFree => Some(Role::Free),
            Role::SelfRealloc => Some(Role::Realloc),
            Role::DlAlloc => Some(Role::Malloc),
            Role::DlMemalign => Some(Role::AlignedAlloc),
            Role::DlFree => Some(Role::Free),
            Role::DlRealloc => Some(Role::Realloc),
            _ => None,
        }
    }

    /// Zig's `std.mem.Allocator` vtable functions of its wasm heap.
    pub fn is_zig(self) -> bool {
        matches!(self, Role::ZigAlloc | Role::ZigFree | Role::ZigResize | Role::ZigRemap)
    }

    pub fn is_free(self) -> bool {
        matches!(self, Role::Free | Role::RustDealloc | Role::SelfFree | Role::DlFree | Role::GlobalDealloc | Role::ZigFree)
    }

    pub fn is_realloc(self) -> bool {
        matches!(
            self,
            Role::Realloc
                | Role::HeaderRealloc
                | Role::RustRealloc
                | Role::SelfRealloc
                | Role::DlRealloc
                | Role::GlobalRealloc
                | Role::ZigResize
                | Role::ZigRemap
        )
    }

    /// Free roles may take extra params (sized/aligned operator delete); everything else must match exactly.
    pub fn accepts(self, params: usize, results: usize) -> bool {
        let (p, r) = self.signature();
        match self {
            Role::Free => (1..=3).contains(&params) && results == 0,
            Role::Malloc => (params == p || params == 2) && results == r,
            // Debug builds pass a hidden parameter first.
            _ if self.is_zig() => (params == p || params == p + 1) && results == r,
            _ => params == p && results == r,
        }
    }
}

impl Role {
    /// The role as the JSON of `wasmleak inspect --format json` names it.
    pub fn id(self) -> &'static str {
        match self {
            Role::Malloc => "malloc",
            Role::Calloc => "calloc",
            Role::Realloc => "realloc",
            Role::Free => "free",
            Role::AlignedAlloc => "aligned_alloc",
            Role::PosixMemalign => "posix_memalign",
            Role::RustAlloc => "rust_alloc",
            Role::RustDealloc => "rust_dealloc",
            Role::RustRealloc => "rust_realloc",
            Role::SelfAlloc | Role::DlAlloc | Role::DlMemalign => "dlmalloc_alloc",
            Role::SelfFree | Role::DlFree => "dlmalloc_free",
            Role::SelfRealloc | Role::DlRealloc => "dlmalloc_realloc",
            Role::GlobalAlloc => "global_alloc",
            Role::GlobalDealloc => "global_dealloc",
            Role::GlobalRealloc => "global_realloc",
            Role::HeaderRealloc => "header_realloc",
            Role::ZigAlloc => "zig_alloc",
            Role::ZigFree => "zig_free",
            Role::ZigResize => "zig_resize",
            Role::ZigRemap => "zig_remap",
        }
    }
}

impl Evidence {
    /// How the entry point was found, as `inspect --format json` says it.
    pub fn source(&self) -> &'static str {
        match self {
            Evidence::NameSection => "name section",
            Evidence::Export => "export",
            Evidence::Dwarf => "dwarf",
            Evidence::User => "command line",
            Evidence::Fingerprint { .. } => "code shape",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Role::Malloc => "malloc",
            Role::Calloc => "calloc",
            Role::Realloc => "realloc",
            Role::Free => "free",
            Role::AlignedAlloc => "aligned_alloc",
            Role::PosixMemalign => "posix_memalign",
            Role::RustAlloc => "rust alloc",
            Role::RustDealloc => "rust dealloc",
            Role::RustRealloc => "rust realloc",
            Role::SelfAlloc | Role::DlAlloc => "dlmalloc alloc",
            Role::DlMemalign => "dlmalloc memalign",
            Role::SelfFree | Role::DlFree => "dlmalloc free",
            Role::SelfRealloc | Role::DlRealloc => "dlmalloc realloc",
            Role::GlobalAlloc => "GlobalAlloc alloc",
            Role::GlobalDealloc => "GlobalAlloc dealloc",
            Role::GlobalRealloc => "GlobalAlloc realloc",
            Role::HeaderRealloc => "realloc (8-byte header)",
            Role::ZigAlloc => "Zig alloc",
            Role::ZigFree => "Zig free",
            Role::ZigResize => "Zig resize",
            Role::ZigRemap => "Zig remap",
        };
        f.write_str(s)
    }
}

/// How an entry point was recognised, so `inspect` can say how sure it is.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Evidence {
    NameSection,
    Export,
    Dwarf,
    /// Named by the user with `--alloc-fn` etc.
    User,
    /// Recognised from the shape of the code (stripped modules): how sure, and why.
    Fingerprint { confidence: Confidence, reason: String },
}

/// How sure a fingerprint is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub enum Confidence {
    Low,
    Medium,
    High,
}

impl fmt::Display for Confidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        })
    }
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Evidence::NameSection => "name section",
            Evidence::Export => "export",
            Evidence::Dwarf => "DWARF",
            Evidence::User => "command line",
            Evidence::Fingerprint { confidence, reason } => {
                return write!(f, "code shape, confidence {confidence}: {reason}");
            }
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EntryPoint {
    pub func: u32,
    pub name: String,
    pub role: Role,
    pub evidence: Evidence,
    /// What calling it in a scratch instance of the module showed (`None`: not tried, or not needed).
    pub confirmed: Option<String>,
}

/// Whether some entry point is named by the module itself (name section, DWARF) or by the user: the allocator is
/// then known, not guessed from exports (which can be glue-facing forwarders) or the code's shape.
pub fn named(eps: &[EntryPoint]) -> bool {
    eps.iter().any(|e| matches!(e.evidence, Evidence::NameSection | Evidence::Dwarf | Evidence::User))
}

/// Whether a run that saw no allocation at all may say the program did not allocate: the allocator is named (see
/// [`named`]), and it is the one Rust's `alloc` code reaches when the module has that code. A Rust
/// `#[global_allocator]` inlined into the program (a bump allocator over a static array, LTO) leaves
/// `alloc::raw_vec` and the named C `malloc` behind, and every allocation went past it: "0 allocations", exit 0 on
/// a leak (allocator survey).
pub fn allocator_known(info: &crate::ModuleInfo, eps: &[EntryPoint]) -> bool {
    named(eps) && !rust_allocations_elsewhere(info, eps)
}

/// The module has Rust's `alloc` code (by its names) and no Rust allocator entry point is hooked: Rust's
/// allocations may go past the hooked (C) allocator, to a `#[global_allocator]` inlined into the program.
pub(crate) fn rust_allocations_elsewhere(info: &crate::ModuleInfo, eps: &[EntryPoint]) -> bool {
    // By identifiers both manglings keep as they are: demangling every name of a large module is slow in the JS
    // runtime's unoptimized code (see `role_of`).
    let rust_alloc_code = info
        .func_names
        .values()
        .any(|n| (n.contains("raw_vec") && n.contains("alloc")) || n.contains("alloc_error_handler") || n.contains("handle_alloc_error"));
    let rust_entry = eps.iter().any(|e| {
        matches!(e.role, Role::RustAlloc | Role::RustDealloc | Role::RustRealloc | Role::GlobalAlloc | Role::GlobalDealloc | Role::GlobalRealloc)
    });
    rust_alloc_code && !rust_entry
}

/// One sentence for reports when the allocator was recognised by its code (a stripped module), or None: which
/// functions, as what, and whether calling them confirmed it.
pub fn shape_note(eps: &[EntryPoint]) -> Option<String> {
    let confidence = eps.iter().find_map(|e| match &e.evidence {
        Evidence::Fingerprint { confidence, .. } => Some(*confidence),
        _ => None,
    })?;
    let list: Vec<String> = eps.iter().map(|e| format!("func {} as {}", e.func, e.role)).collect();
    let confirmed = eps.iter().all(|e| e.confirmed.is_some());
    Some(format!(
        "allocator found by its code shape{} (confidence {confidence}): {}; `wasmleak inspect` says how",
        if confirmed { " and confirmed by calling it in a scratch instance" } else { "" },
        list.join(", ")
    ))
}

/// The role of a function by its (raw or demangled) name. Names are matched exactly: a function that merely
/// mentions malloc is not an allocator.
pub fn role_of(name: &str) -> Option<Role> {
    // wasm-bindgen rewrites the name section with v0 names demangled with their crate hashes:
    // `__rustc[1963b85898d4d9c3]::__rdl_alloc`.
    let unhashed = wasmleak_symbolize::without_crate_hashes(name);
    let name: &str = &unhashed;
    // Rust allocator shims: `__rust_alloc`, and since 2025 mangled v0 names that demangle to
    // `__rustc::__rust_alloc` (raw: `_RNvCs..._7___rustc12___rust_alloc`).
    let rust = name
        .strip_prefix("__rustc::")
        .or_else(|| {
            // v0 identifiers that start with `_` get a `_` separator after their length: `12___rust_alloc`.
            let (_, tail) = name.rsplit_once("___rustc")?;
            tail.trim_start_matches(|c: char| c.is_ascii_digit()).strip_prefix('_')
        })
        .unwrap_or(name);
    // `__rdl_*` (std's System allocator) and `__rg_*` (a #[global_allocator]'s) are what `__rust_*` forward to,
    // and what is left of them after LTO inlines the forwarders: the same layer, the same arguments.
    let by_rust = match rust {
        "__rust_alloc" | "__rust_alloc_zeroed" | "__rdl_alloc" | "__rdl_alloc_zeroed" | "__rg_alloc" | "__rg_alloc_zeroed" => {
            Some(Role::RustAlloc)
        }
        "__rust_dealloc" | "__rdl_dealloc" | "__rg_dealloc" => Some(Role::RustDealloc),
        "__rust_realloc" | "__rdl_realloc" | "__rg_realloc" => Some(Role::RustRealloc),
        _ => None,
    };
    if by_rust.is_some() {
        return by_rust;
    }
    // The `dlmalloc` crate, which Rust's std uses on wasm32-unknown-unknown, and `dlmalloc::GlobalDlmalloc` as a
    // #[global_allocator]: what is left of the allocator once its forwarders are inlined. Its public type
    // `dlmalloc::Dlmalloc` takes sizes and alignments (`malloc(self, size, align)`); the inner one,
    // `dlmalloc::dlmalloc::Dlmalloc`, does not (`malloc(self, size)`, `free(self, ptr)`). With LTO `self` may be
    // gone too (a single static), which the roles' fallbacks take.
    // Demangled only when the type's name is in it (both manglings keep identifiers as they are): a module has
    // thousands of names, and demangling each took most of discovery in the JS runtime's unoptimized code.
    if (name.starts_with("_R") || name.starts_with("_ZN") || name.starts_with('<')) && name.contains("Dlmalloc") {
        let demangled = without_hashes(&format!("{:#}", rustc_demangle::demangle(name)));
        if demangled.contains("dlmalloc::Dlmalloc") {
            let inner = demangled.contains("dlmalloc::dlmalloc::Dlmalloc");
            let method = demangled.rsplit("::").next().unwrap_or("");
            return match (method, inner) {
                ("malloc", true) => Some(Role::DlAlloc),
                ("malloc" | "calloc", false) => Some(Role::SelfAlloc),
                ("memalign", true) => Some(Role::DlMemalign),
                ("memalign", false) => Some(Role::AlignedAlloc),
                ("free", true) => Some(Role::DlFree),
                ("free", false) => Some(Role::SelfFree),
                ("realloc", true) => Some(Role::DlRealloc),
                ("realloc", false) => Some(Role::SelfRealloc),
                _ => None,
            };
        }
    }
    // wasm-ld writes C++ names demangled into the name section: `operator new(unsigned long)`.
    if let Some(args) = name.strip_prefix("operator new").or_else(|| name.strip_prefix("operator new[]"))
        && (args.starts_with('(') || args.starts_with("[](")) {
            return Some(if args.contains("align_val_t") { Role::RustAlloc } else { Role::Malloc });
        }
    if let Some(args) = name.strip_prefix("operator delete")
        && (args.starts_with('(') || args.starts_with("[](")) {
            return Some(Role::Free);
        }
    // `wasm-ld --wrap=malloc` (napi-rs' wasm32-wasi builds wrap the whole family, for emnapi's heap bookkeeping)
    // sends every call of `malloc` to `__wrap_malloc`: the program's malloc is the wrapper. musl's and
    // Emscripten's `__libc_malloc` are the same function under libc's internal name.
    let name = name.strip_prefix("__wrap_").unwrap_or(name);
    let name = name.strip_prefix("__libc_").filter(|c| matches!(*c, "malloc" | "calloc" | "realloc" | "free" | "memalign")).unwrap_or(name);
    // Emscripten's fastcomp (asm2wasm) exported the C names with an underscore: `_malloc`, `_free`.
    let name = match name.strip_prefix('_') {
        Some(c) if matches!(c, "malloc" | "calloc" | "realloc" | "free" | "memalign" | "posix_memalign" | "aligned_alloc") => c,
        _ => name,
    };
    // Zig's wasm heap, under its libc malloc and behind std's `page_allocator` (which `DebugAllocator` and
    // `ArenaAllocator` use by default): programs reach it through the `std.mem.Allocator` vtable, unseen by malloc's
    // hooks (Zig survey: `-lc` programs that leaked through page_allocator read clean).
    if let Some(method) = ["heap.BrkAllocator.", "heap.WasmAllocator.", "heap.WasmPageAllocator."]
        .iter()
        .find_map(|t| name.strip_prefix(t))
    {
        return match method {
            "alloc" => Some(Role::ZigAlloc),
            "free" => Some(Role::ZigFree),
            "resize" => Some(Role::ZigResize),
            "remap" => Some(Role::ZigRemap),
            _ => None,
        };
    }
    // Zig's own libc allocator (`lib/c/malloc.zig`) names its functions by their Zig path: `c.malloc.calloc`.
    // mimalloc overriding malloc: the functions carry their own names (`malloc` is an alias of `mi_malloc`).
    Some(match name {
        // (emmalloc's own names stand where -Oz merged `malloc`/`free` into them.)
        "malloc" | "dlmalloc" | "emscripten_builtin_malloc" | "c.malloc.malloc" | "mi_malloc" | "mi_zalloc" | "emmalloc_malloc" => Role::Malloc,
        // (size) -> ptr, page-aligned: Zig's own (a function of its own, not a memalign call the hooks would see).
        "valloc" | "c.malloc.valloc" => Role::Malloc,
        "calloc" | "dlcalloc" | "emscripten_builtin_calloc" | "c.malloc.calloc" | "mi_calloc" | "emmalloc_calloc" => Role::Calloc,
        "realloc" | "dlrealloc" | "emscripten_builtin_realloc" | "c.malloc.realloc" | "mi_realloc" | "emmalloc_realloc" => Role::Realloc,
        "free" | "dlfree" | "emscripten_builtin_free" | "c.malloc.free" | "mi_free" | "emmalloc_free" => Role::Free,
        "mi_malloc_aligned" | "mi_zalloc_aligned" => Role::RustAlloc, // (size, alignment) -> ptr
        "mi_aligned_alloc" | "mi_memalign" => Role::AlignedAlloc,
        "mi_posix_memalign" => Role::PosixMemalign,
        // dlmalloc's `internal_memalign` (its state argument folded away) is called directly where the others are
        // inlined (libc++'s aligned `operator new`); emmalloc's memalign is its core, which malloc calls too.
        "aligned_alloc" | "memalign" | "dlmemalign" | "emscripten_builtin_memalign" | "internal_memalign" | "emmalloc_memalign"
        | "c.malloc.aligned_alloc" | "c.malloc.memalign" => Role::AlignedAlloc,
        "posix_memalign" | "dlposix_memalign" | "c.malloc.posix_memalign" => Role::PosixMemalign,
        // C++ operator new / delete, wasm32 (j = unsigned int) and wasm64 (m) manglings, and demangled forms.
        "_Znwj" | "_Znaj" | "_Znwm" | "_Znam" | "_ZnwjRKSt9nothrow_t" | "_ZnajRKSt9nothrow_t"
        | "_ZnwmRKSt9nothrow_t" | "_ZnamRKSt9nothrow_t" => Role::Malloc,
        "_ZnwjSt11align_val_t" | "_ZnajSt11align_val_t" | "_ZnwmSt11align_val_t" | "_ZnamSt11align_val_t" => {
            Role::RustAlloc // (size, align) -> ptr: same shape
        }
        "_ZdlPv" | "_ZdaPv" | "_ZdlPvj" | "_ZdaPvj" | "_ZdlPvm" | "_ZdaPvm" | "_ZdlPvSt11align_val_t"
        | "_ZdaPvSt11align_val_t" | "_ZdlPvjSt11align_val_t" | "_ZdaPvjSt11align_val_t"
        | "_ZdlPvmSt11align_val_t" | "_ZdaPvmSt11align_val_t" | "_ZdlPvRKSt9nothrow_t"
        | "_ZdaPvRKSt9nothrow_t" => Role::Free,
        _ => return None,
    })
}

/// Names the finder looks for, for the error message when it finds none.
pub const LOOKED_FOR: &str = "malloc/calloc/realloc/free/aligned_alloc/posix_memalign/valloc (also as __wrap_… and \
__libc_…, mimalloc's mi_… and Zig's c.malloc.…), \
__rust_alloc/__rust_dealloc/__rust_realloc/__rust_alloc_zeroed (also as __rustc::…, and std's __rdl_* and a \
#[global_allocator]'s __rg_* they forward to), the dlmalloc crate's methods, operator new/delete";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_by_name() {
        assert_eq!(role_of("malloc"), Some(Role::Malloc));
        assert_eq!(role_of("__rust_alloc"), Some(Role::RustAlloc));
        assert_eq!(role_of("__rustc::__rust_dealloc"), Some(Role::RustDealloc));
        assert_eq!(role_of("_RNvCs691rhTbG0Ee_7___rustc12___rust_alloc"), Some(Role::RustAlloc));
        assert_eq!(role_of("_RNvCs691rhTbG0Ee_7___rustc14___rust_realloc"), Some(Role::RustRealloc));
        assert_eq!(role_of("_RNvCs691rhTbG0Ee_7___rustc19___rust_alloc_zeroed"), Some(Role::RustAlloc));
        assert_eq!(role_of("_Znwj"), Some(Role::Malloc));
        assert_eq!(role_of("_ZdlPvj"), Some(Role::Free));
        assert_eq!(role_of("operator new(unsigned long)"), Some(Role::Malloc));
        assert_eq!(role_of("operator new[](unsigned long)"), Some(Role::Malloc));
        assert_eq!(role_of("operator new(unsigned long, std::align_val_t)"), Some(Role::RustAlloc));
        assert_eq!(role_of("operator delete(void*, unsigned long)"), Some(Role::Free));
        assert_eq!(role_of("operator delete[](void*)"), Some(Role::Free));
        assert_eq!(role_of("my_malloc_wrapper"), None);
        assert_eq!(role_of("_malloc"), Some(Role::Malloc));
        assert_eq!(role_of("_free"), Some(Role::Free));
        assert_eq!(role_of("__malloc"), None);
        // Zig's libc allocator by its Zig path; mimalloc overriding malloc, by its own names (found by a survey:
        // Zig's calloc went unhooked and wasi-libc's argv array was called lost; mimalloc was refused).
        assert_eq!(role_of("c.malloc.calloc"), Some(Role::Calloc));
        assert_eq!(role_of("c.malloc.aligned_alloc"), Some(Role::AlignedAlloc));
        assert_eq!(role_of("c.malloc.posix_memalign"), Some(Role::PosixMemalign));
        assert_eq!(role_of("c.malloc.valloc"), Some(Role::Malloc));
        assert_eq!(role_of("mi_malloc"), Some(Role::Malloc));
        assert_eq!(role_of("mi_free"), Some(Role::Free));
        assert_eq!(role_of("mi_malloc_aligned"), Some(Role::RustAlloc));
        // The inner `dlmalloc::dlmalloc::Dlmalloc` (no sizes or alignments), and the public `dlmalloc::Dlmalloc`.
        let dl = "_RNvMs0_NtCsjqx8TIyZbP9_8dlmalloc8dlmallocINtB5_8DlmallocNtNtB7_3sys6SystemE6mallocCsebHcaeoSrxy_3std";
        assert_eq!(role_of(dl), Some(Role::DlAlloc));
        assert_eq!(role_of(&dl.replace("E6malloc", "E4free")), Some(Role::DlFree));
        assert_eq!(role_of(&dl.replace("E6malloc", "E7realloc")), Some(Role::DlRealloc));
        assert_eq!(role_of("_ZN8dlmalloc8dlmalloc17Dlmalloc$LT$A$GT$4free17hbfd52a56cc6767caE"), Some(Role::DlFree));
        assert_eq!(role_of("_ZN8dlmalloc17Dlmalloc$LT$A$GT$4free17hbfd52a56cc6767caE"), Some(Role::SelfFree));
        assert_eq!(role_of("_ZN8dlmalloc17Dlmalloc$LT$A$GT$6calloc17hbfd52a56cc6767caE"), Some(Role::SelfAlloc));
        assert_eq!(role_of("__rdl_alloc"), Some(Role::RustAlloc));
        assert_eq!(role_of("__rustc[1963b85898d4d9c3]::__rdl_realloc"), Some(Role::RustRealloc));
        assert_eq!(role_of("<dlmalloc[ce1e1277b7e64b33]::dlmalloc::Dlmalloc<dlmalloc[ce1e1277b7e64b33]::sys::System>>::memalign"), Some(Role::DlMemalign));
        assert_eq!(role_of("__rustc::__rdl_dealloc"), Some(Role::RustDealloc));
        assert_eq!(role_of("__wrap_malloc"), Some(Role::Malloc));
        assert_eq!(role_of("__wrap_posix_memalign"), Some(Role::PosixMemalign));
        assert_eq!(role_of("__wrap___libc_free"), Some(Role::Free));
        assert_eq!(role_of("__libc_calloc"), Some(Role::Calloc));
        assert_eq!(role_of("__wrap_sbrk"), None);
        assert_eq!(role_of("__wrap_malloc_usable_size"), None);
        assert_eq!(role_of("__libc_start_main"), None);
        assert_eq!(role_of("internal_memalign"), Some(Role::AlignedAlloc));
    }
}
