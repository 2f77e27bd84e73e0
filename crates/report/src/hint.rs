//! Recognising frames (allocator, library, user) and naming the pattern a group shows, with its fix.

use wasmleak_heap::Kind;
use wasmleak_symbolize::without_crate_hashes;

use crate::build::{Frame, Group};

/// Source files of the allocator glue (Rust's `Global`, `System`, dlmalloc).
const ALLOCATOR_FILES: &[&str] = &["library/alloc/src/alloc.rs", "library/std/src/alloc.rs", "library/std/src/sys/alloc/", "/dlmalloc-"];

/// Source files of the languages' own libraries.
const LIBRARY_FILES: &[&str] = &[
    "library/alloc/", "library/core/", "library/std/", "/rustc/", "/.cargo/registry/", "libc-bottom-half/",
    // The crates std itself vendors (its HashMap is hashbrown's), as rustc's DWARF names them.
    "/rust/deps/",
    "libc-top-half/", "/c++/v1/", "/libcxx/", "/libcxxabi/", "emscripten/system/", "/wasi-libc/",
    // A package's JS glue (Embind's invokers, wasm-bindgen's classes): the app's line that called it is the site.
    "/node_modules/",
    // The C sources Zig ships (`zig cc`: lib/libc/musl/…, lib/libc/wasi/…); its own .zig ones: `is_library_frame`.
    "/lib/libc/musl/", "/lib/libc/wasi/",
];

/// Frames that only forward to the allocator: dropped from the top of every stack.
pub(crate) fn is_allocator_frame(function: &str, file: Option<&str>) -> bool {
    if file.is_some_and(|p| ALLOCATOR_FILES.iter().any(|a| p.contains(a))) {
        return true;
    }
    is_allocator_name(&without_crate_hashes(function))
}

fn is_allocator_name(f: &str) -> bool {
    let f = f.strip_prefix("__rustc::").unwrap_or(f);
    matches!(
        f,
        "malloc" | "calloc" | "realloc" | "free" | "aligned_alloc" | "posix_memalign" | "memalign"
            | "dlmalloc" | "dlfree" | "dlrealloc" | "dlcalloc" | "internal_memalign"
            | "__rust_alloc" | "__rust_dealloc" | "__rust_realloc" | "__rust_alloc_zeroed"
            | "alloc" | "alloc_zeroed" | "alloc_impl" | "allocate" | "allocate_zeroed" | "exchange_malloc"
            | "grow_impl" | "dealloc" | "deallocate"
            | "alloc::alloc::alloc" | "alloc::alloc::alloc_zeroed" | "alloc::alloc::realloc"
            | "alloc::alloc::dealloc" | "alloc::alloc::exchange_malloc"
    ) || f.starts_with("__rdl_")
        || f.starts_with("__rg_")
        || f.starts_with("operator new")
        || f.starts_with("operator delete")
        || f.starts_with("alloc::alloc::Global::")
        || f.starts_with("<alloc::alloc::Global as core::alloc::Allocator>::")
        || f.starts_with("std::sys::alloc::")
        || f.starts_with("std::sys::pal::wasi::alloc::")
        || f.starts_with("<std::alloc::System as core::alloc::global::GlobalAlloc>::")
        || f.starts_with("dlmalloc::")
        || f.starts_with("<dlmalloc::")
        // Zig's own libc allocator (lib/c/malloc.zig): `c.malloc.reallocarray`, `c.malloc.aligned_alloc`…
        || f.starts_with("c.malloc.")
        // Zig's std allocators that only forward, and their interface, without DWARF (named by their std paths):
        // `heap.BrkAllocator.alloc`, `heap.c_allocator_impl.alloc`, `mem.Allocator.allocBytesAligned`. (The layers
        // over them — ArenaAllocator, DebugAllocator — stay: library frames, which the report's note looks for.)
        || ["heap.BrkAllocator.", "heap.WasmAllocator.", "heap.PageAllocator.", "heap.c_allocator_impl.", "mem.Allocator."]
            .iter()
            .any(|p| f.starts_with(p))
}

/// Frames of the language's own libraries (Rust std/alloc/core, libc, libc++): the site is the first frame
/// that is not one of these.
pub(crate) fn is_library_frame(function: &str, file: Option<&str>) -> bool {
    const PREFIXES: &[&str] = &[
        "alloc::", "core::", "std::", "<alloc::", "<core::", "<std::", "hashbrown::", "<hashbrown::",
        "dlmalloc::", "<dlmalloc::", "__cxa_", "__cxx", "_start", "__main_void", "__main_argc_argv", "__libc_",
        "__wasi_", "__rust_", "__rustc::", "__rdl_", "__rg_", "wasi_thread_start",
        // libtest, the harness of `cargo test` (its modules by name: a C++ `namespace test` is the program's own).
        "test::run_test", "test::__rust_begin_short_backtrace", "test::console::", "test::test_main", "test::term::",
        "test::types::", "<test::types::", "test::event::", "<test::event::", "test::formatters::", "<test::formatters::",
        "test::helpers::", "test::bench::", "test::stats::", "test::time::", "test::cli::", "test::filter_tests",
        // wasm-bindgen's crates: without DWARF (a release build) their frames have no registry path to tell them by.
        "wasm_bindgen::", "<wasm_bindgen::", "js_sys::", "<js_sys::", "wasm_bindgen_futures::", "web_sys::",
        // Zig's std without DWARF, by its namespaces (the program's own functions are named after its files).
        "start.", "debug.", "fmt.", "mem.", "heap.", "array_list.", "hash_map.", "Io.", "os.", "posix.", "math.", "sort.",
    ];
    if let Some(file) = file {
        // Zig's std and libc written in Zig: lib/std/heap.zig, lib/c/string.zig.
        let zig = file.ends_with(".zig") && (file.contains("/lib/std/") || file.contains("/lib/c/"));
        return zig || LIBRARY_FILES.iter().any(|l| file.contains(l)) || is_allocator_frame(function, Some(file));
    }
    let function = without_crate_hashes(function);
    let function = without_return_type(&function);
    PREFIXES.iter().any(|p| function.starts_with(p)) || is_allocator_frame(&function, None) || is_std_impl(&function)
}

/// `void* std::__2::__libcpp_operator_new<unsigned long>(unsigned long)` → `std::__2::…`: a demangled function
/// template's name starts with its return type. Only before the name's first `<` or `(`, so the template
/// arguments of the program's own `f<std::string>(…)` do not count.
fn without_return_type(function: &str) -> &str {
    let head = &function[..function.find(['<', '(']).unwrap_or(function.len())];
    match head.rfind(' ') {
        Some(i) if !head.starts_with("operator") && !head[..i].contains("::") => &function[i + 1..],
        _ => function,
    }
}

/// `<u8 as alloc::vec::spec_from_elem::SpecFromElem>::from_elem`: std's impl of std's trait for a std or
/// primitive type (what `vec![x; n]` calls when not inlined). `<app::Node as core::ops::Drop>::drop` is the
/// program's own.
fn is_std_impl(function: &str) -> bool {
    let Some((self_ty, rest)) = function.strip_prefix('<').and_then(|f| f.split_once(" as ")) else { return false };
    let std_path = |p: &str| ["alloc::", "core::", "std::"].iter().any(|s| p.starts_with(s));
    let self_ty = self_ty.trim_start_matches('&').trim_start_matches("mut ");
    let primitive = self_ty.starts_with('[')
        || self_ty.starts_with('(')
        || matches!(
            self_ty.split('<').next().unwrap_or(self_ty),
            "u8" | "u16" | "u32" | "u64" | "u128" | "usize" | "i8" | "i16" | "i32" | "i64" | "i128" | "isize" | "f32"
                | "f64" | "bool" | "char" | "str"
        );
    std_path(rest) && (primitive || std_path(self_ty))
}

/// A stripped module's function without a name (`func[230]`).
pub(crate) fn is_unnamed(function: &str) -> bool {
    function.strip_prefix("func[").and_then(|r| r.strip_suffix(']')).is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
}

/// The index of a stack's site (`(function, file)` innermost first): the first frame of the program's own
/// code that has a name — in a stripped module the export that was called (`decompressstream_new`) says more
/// than `func[230]` — else the first of the program's own code, else the first.
pub(crate) fn site_index<'a>(frames: impl Iterator<Item = (&'a str, Option<&'a str>)> + Clone) -> usize {
    let harness = harness_main(frames.clone());
    let own = |(f, file): &(&str, Option<&str>)| !is_library_frame(f, *file) && harness != Some(*f);
    // An Emscripten export minified to one or two characters (`_`, `Ca`) names nothing either: the app's JS line
    // that called it does (quickjs-emscripten's groups were sited at `_`).
    let minified = |(f, file): &(&str, Option<&str>)| file.is_none() && (1..=2).contains(&f.len()) && f.chars().all(|c| c.is_ascii_alphanumeric() || c == '$' || c == '_');
    // Emscripten's JS glue between the app and the module names nothing of the program's either: its exception
    // trampolines (`invoke_vi`, every site of a stripped -fexceptions build), the `callMain` that runs main: the
    // innermost wasm function, unnamed or not, says more.
    let glue = |(f, file): &(&str, Option<&str>)| {
        file.is_some()
            && (matches!(
                *f,
                "callMain" | "doRun" | "run" | "runCaller" | "ccall" | "removeRunDependency" | "receiveInstance"
                    | "receiveInstantiationResult" | "callRuntimeCallbacks" | "initRuntime" | "preMain" | "postRun"
            )
                || f.starts_with("dynCall_")
                // The pthread worker's message handler that starts the thread's function (Emscripten's worker.js).
                || (matches!(*f, "self.onmessage" | "onmessage" | "(anonymous)" | "invokeEntryPoint")
                    && file.is_some_and(|p| p.ends_with(".worker.js")))
                || f.trim_start_matches('_').strip_prefix("invoke_").is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase())))
    };
    // wasi-libc's start of every program (`_start`, `__main_void`, which calls main): under every stack, it names no
    // site — in a stripped build, where the symbolizer still knows it (by the WASI imports it calls) and nothing
    // else has a name, every leak was sited there, one key for all (`--baseline` passed new leaks; crates survey).
    let start = |(f, file): &(&str, Option<&str>)| {
        // (A name several functions share carries its index: `__main_void (func[37])`.)
        let name = f.split_once(" (func[").map_or(*f, |(n, _)| n);
        file.is_none() && matches!(name, "_start" | "__main_void" | "_initialize")
    };
    let glue = |fr: &(&str, Option<&str>)| glue(fr) || start(fr);
    // Without DWARF a C library a Rust crate bundles (SQLite's `sqlite3MemMalloc`, zlib's `zcalloc`, `strdup`) has no
    // file to tell it by: under the program's own Rust code, C functions are the library's. Every SQLite leak of a
    // release build was sited (and keyed: `--baseline` passed new ones) at sqlite3MemMalloc (crates survey).
    let rust = |f: &str| f.contains("::") && !f.contains('(');
    let own_rust = frames.clone().position(|fr| own(&fr) && rust(fr.0) && fr.1.is_none());
    let own = |i: usize, fr: &(&str, Option<&str>)| own(fr) && !(fr.1.is_none() && !fr.0.contains("::") && own_rust.is_some_and(|r| i < r));
    let first = |pick: &dyn Fn(usize, &(&str, Option<&str>)) -> bool| frames.clone().enumerate().position(|(i, fr)| pick(i, &fr));
    first(&|i, fr| own(i, fr) && !is_unnamed(fr.0) && !minified(fr) && !glue(fr))
        .or_else(|| first(&|i, fr| own(i, fr) && !glue(fr)))
        .or_else(|| first(&|i, fr| own(i, fr)))
        .unwrap_or(0)
}

/// The `main` the test harness generates for a `cargo test` binary (the frame that calls libtest's `test_main`):
/// none of the program's code, though it carries the crate's name.
fn harness_main<'a>(frames: impl Iterator<Item = (&'a str, Option<&'a str>)>) -> Option<&'a str> {
    let mut inner: Option<&str> = None;
    for (f, _) in frames {
        if inner.is_some_and(|i| i.starts_with("test::test_main")) && f.ends_with("::main") {
            return Some(f);
        }
        inner = Some(f);
    }
    None
}

/// Whether a freed block that held a lost block's address lived inside one call the block's allocation was not
/// part of: its allocation and free stacks go through the same functions from the outermost frame down to one,
/// the call it lived in, and the block's stack does not go into that call. Scratch that pointed at the block while
/// the call ran, not the owner that dropped it: nlohmann::json's parser keeps a `vector<json*>` of the values it
/// fills, the first the object `new json(json::parse(…))` constructs in place, and frees it as the parse returns
/// (C++ library survey: "owner freed first: a vector<basic_json*>" for a `new json` the program forgot). An owner
/// the block was handed to inside the call (`consume(new T)` storing it in a holder that is deleted there) is
/// not named either: no owner, rather than a wrong one. Functions, not lines, are compared (a module without DWARF
/// has none); stacks innermost first; stacks cut short by the frame limit, which do not share their outermost
/// function, say nothing.
pub(crate) fn scratch_of_another_call(alloc: &[Frame], free: &[Frame], block: &[Frame]) -> bool {
    fn outer(s: &[Frame], k: usize) -> Option<&str> {
        s.iter().rev().nth(k).map(|f| f.function.as_str())
    }
    let common = (0..).take_while(|&k| outer(alloc, k).is_some() && outer(alloc, k) == outer(free, k)).count();
    common > 0 && !(0..common).all(|k| outer(block, k) == outer(alloc, k))
}

/// Whether a stack has a frame of the program's own code (not the language's libraries, nor a test harness's).
pub(crate) fn has_own_frame(stack: &[Frame]) -> bool {
    let harness = harness_main(stack.iter().map(|f| (f.function.as_str(), f.file.as_deref())));
    stack.iter().any(|f| !is_library_frame(&f.function, f.file.as_deref()) && harness != Some(f.function.as_str()))
}

/// A buffer of bytes the language's library allocated for the program, before any frame of its own code: Rust's
/// `std::io` (stdout's `LineWriter`, a `BufWriter`) and `String`, C++'s stream buffers and `std::string`. It holds
/// bytes, and past what was written into it its capacity is stale memory of earlier blocks, whose pointers can
/// name a block at the same address now: such a buffer owns nothing.
pub(crate) fn is_byte_buffer(stack: &[Frame]) -> bool {
    const PREFIXES: &[&str] = &[
        "std::io::", "<std::io::", "alloc::string::", "<alloc::string::", "std::__2::basic_filebuf", "std::__2::basic_streambuf",
        "std::__2::basic_stringbuf", "std::__2::basic_string<",
    ];
    stack.iter().take_while(|f| is_library_frame(&f.function, f.file.as_deref())).any(|f| {
        let function = without_crate_hashes(&f.function);
        let function = without_return_type(&function);
        // (An `io::Error` with a payload boxes it: that box holds the payload's address.)
        PREFIXES.iter().any(|p| function.starts_with(p)) && !function.contains("std::io::error::")
    })
}

/// Allocations the language runtime makes once for itself: wasi-libc's argv copy, which `__main_void`
/// allocates itself (so it is the innermost frame once the allocator's are dropped) before calling `main`.
/// In a module without names the symbolizer recognises `__main_void` by the WASI imports it calls.
pub(crate) fn is_runtime_startup(stack: &[Frame]) -> bool {
    // wasi-libc's argv copy; the one closure wasm-bindgen-futures' task queue hands to JS when it starts (kept
    // for the life of the module) — allocated by the queue itself, not by a task it runs: the queue's frames come
    // before any frame of the program's own code (wasm-bindgen's externref shims have no file, hence their names).
    let library = |f: &Frame| is_library_frame(&f.function, f.file.as_deref()) || f.function.starts_with("wasm_bindgen::");
    let queue = |f: &Frame| f.function.starts_with("js_sys::futures::queue::") || f.function.starts_with("wasm_bindgen_futures::queue::");
    // And a thread's bookkeeping libc allocates itself (Emscripten's pthread_create: the thread-specific data array;
    // emscripten_tls_init: its TLS block): the runtime frees the thread's struct and stack at exit when the thread
    // is still running, or ends the process, and these, which only that struct pointed to, read "lost" at the
    // program's pthread_create line — on clean programs (Emscripten threads survey).
    let thread_bookkeeping = |f: &Frame| matches!(f.function.as_str(), "__pthread_create" | "emscripten_tls_init" | "_emscripten_tls_init");
    // Emscripten's libc builds `environ` once, in a static constructor (standalone builds, which never free it).
    let environ = |f: &Frame| f.function == "__emscripten_environ_constructor";
    stack.first().is_some_and(|f| f.function == "__main_void" || thread_bookkeeping(f) || environ(f))
        || stack.iter().take_while(|f| library(f)).any(queue)
}

/// The language runtime's frames around the program's `main` (Rust's `lang_start` and its `catch_unwind`
/// plumbing, wasi-libc's `__main_void` and `_start`, Emscripten's `callMain`): what every stack ends with,
/// folded in the text report.
pub(crate) fn is_runtime_frame(f: &Frame) -> bool {
    const PREFIXES: &[&str] = &[
        "std::rt::lang_start",
        "std::sys::backtrace::__rust_begin_short_backtrace",
        "std::panicking::catch_unwind",
        "std::panicking::try",
        "std::panic::catch_unwind",
        "core::ops::function::FnOnce::call_once",
        "<&dyn core::ops::function::Fn<(), Output = i32>",
        "__rust_begin_short_backtrace",
        "__main_void",
        "__main_argc_argv",
        "_start",
        "__wasm_call_ctors",
        // wasi-libc's thread entry, every thread's outermost frames.
        "wasi_thread_start",
        "__wasi_thread_start_C",
    ];
    let name = f.function.as_str();
    // wasi-libc's `__original_main` calls `main` with argc/argv; Emscripten's is the program's own main, renamed.
    let libc_main = name == "__original_main" && f.file.as_deref().is_some_and(|file| file.contains("libc-bottom-half"));
    libc_main || PREFIXES.iter().any(|p| name.starts_with(p))
}

/// `Holder::Holder(int)` → `Holder`: the site is a C++ constructor.
fn constructor_class(function: &str) -> Option<&str> {
    let head = function.split('(').next()?;
    let (scope, name) = head.rsplit_once("::")?;
    let class = scope.rsplit("::").next()?;
    (class == name).then_some(class)
}

fn mentions(g: &Group, needles: &[&str]) -> bool {
    g.stack.iter().any(|f| needles.iter().any(|n| f.function.contains(n)))
}

/// An `Rc`/`Arc`/`shared_ptr` allocation, by its type or its stack.
fn reference_counted(g: &Group) -> bool {
    const NEEDLES: &[&str] = &["Rc<", "rc::Rc", "Rc::new", "Arc<", "sync::Arc", "shared_ptr", "make_shared", "__shared_"];
    g.ty.as_deref().is_some_and(|t| NEEDLES.iter().any(|n| t.contains(n))) || mentions(g, NEEDLES)
}

/// The lost block is the buffer of a libc++ container or smart pointer (its allocation went through one), which its
/// own destructor frees: when its owner was freed without it, the owner's destructor did not run at all.
fn self_freeing_member(g: &Group) -> bool {
    const OWNERS: &[&str] = &[
        "std::__2::vector<", "std::__2::basic_string<", "std::__2::__tree<", "std::__2::__hash_table<",
        "std::__2::deque<", "std::__2::__list_imp<", "std::__2::__split_buffer<", "std::__2::__shared_ptr_emplace<",
        "std::__2::unique_ptr<", "std::__2::__function::",
    ];
    g.stack.iter().any(|f| OWNERS.iter().any(|o| f.function.contains(o)))
}

/// A frame of C++ code: its source file's extension, or a demangled name with its parameter list (Rust paths have
/// none).
pub(crate) fn cxx_frame(function: &str, file: Option<&str>) -> bool {
    function.contains('(') || file.is_some_and(|p| [".cpp", ".cc", ".cxx", ".hpp"].iter().any(|e| p.ends_with(e)))
}

/// A lost block whose address a freed block held: the owner was freed without freeing it (a C++ class without
/// the destructor, a `vector<T*>` destroyed without deleting its elements, a Rust `Drop` that forgets a raw pointer, a C
/// struct freed before its members).
fn owner_hint(g: &Group) -> String {
    let Some(o) = &g.freed_owner else { return String::new() };
    let freed_at = crate::build::site(&o.free_stack).map(|f| format!(" in `{}`", f.function)).unwrap_or_default();
    let all = || g.stack.iter().chain(&o.alloc_stack).chain(&o.free_stack);
    let file_is = |exts: &[&str]| all().any(|f| f.file.as_deref().is_some_and(|p| exts.iter().any(|e| p.ends_with(e))));
    // Demangled C++ names carry their parameter list; Rust paths do not.
    let rust = file_is(&[".rs"]) || (!file_is(&[".c", ".cpp", ".cc", ".cxx", ".h", ".hpp"]) && all().any(|f| f.function.contains("::") && !f.function.contains('(')));
    let cpp = !rust && all().any(|f| cxx_frame(&f.function, f.file.as_deref()));
    let vector = o.alloc_stack.iter().any(|f| f.function.contains("vector<"));
    // The member's class: the owner's type, or the class whose constructor allocated this block.
    let class = o.ty.clone().or_else(|| g.site.as_ref().and_then(|s| constructor_class(&s.function)).map(str::to_string));
    let owner = match &o.ty {
        Some(t) => format!("the {t} that held its address"),
        None => "the block that held its address".to_string(),
    };
    let allocated = o.site.as_ref().map(|s| format!(" (allocated in `{}`)", s.function)).unwrap_or_default();
    if vector {
        format!("lost: the std::vector that held these pointers was destroyed{freed_at} without deleting its elements; if it owned them, delete them first, or hold std::unique_ptr in the vector (if it only pointed at them, a work list, their owner dropped them elsewhere)")
    } else if rust {
        format!("lost: {owner}{allocated} was dropped{freed_at} without freeing this: its Drop does not reclaim the raw pointer — reclaim it there (drop(unsafe {{ Box::from_raw(ptr) }})), or hold a Box instead")
    } else if cpp && self_freeing_member(g) {
        // A std container or smart pointer frees its own buffer in its destructor: the owner's destructor never ran.
        let base = class.map(|c| format!(" (a base of {c})")).unwrap_or_default();
        format!("lost: {owner}{allocated} was deleted{freed_at} without its destructor running, so this member (a std container's or smart pointer's buffer, which frees itself) was never freed: it was deleted through a pointer to a base class{base} whose destructor is not virtual — make that destructor virtual — or freed with free()/operator delete on a void*")
    } else if cpp {
        match class {
            // Which one cannot be told from memory (a destructor that was not called and one that is missing leave the
            // same bytes): both are said (C++ survey: RapidJSON's Document, which frees its allocator, deleted through
            // a base without a virtual destructor, read "lacks the destructor").
            Some(c) => format!("lost: {owner}{allocated} was deleted{freed_at} without freeing this: {c} lacks the destructor that frees this member — add ~{c}() (or hold the member in std::unique_ptr / std::vector); if it has one, it was deleted through a pointer to a base class whose destructor is not virtual — make that destructor virtual"),
            None => format!("lost: {owner}{allocated} was deleted{freed_at} without freeing this: free it in the owner's destructor, or hold it in std::unique_ptr"),
        }
    } else {
        format!("lost: {owner}{allocated} was freed{freed_at} without freeing this: if it owned this block, free the member before freeing its owner (a destroy function that frees both); if it only pointed at it (a work list, a scratch array), the pointer that owned it was dropped elsewhere")
    }
}

/// One sentence: the pattern and the fix.
pub(crate) fn hint(kind: Kind, g: &Group) -> String {
    match kind {
        Kind::Cycle => {
            // Weak references point at some of them: the back edges may be weak already (a tree whose root Rc
            // was mem::forget-ed reads as a cycle to a pointer scan, Weak pointers being pointers).
            if g.weak_referenced > 0 {
                "Rc/Arc blocks that point at each other — but Weak references point at some of them (their weak counts are above 1): if the back edges are already Weak, no strong cycle keeps them, and a strong handle to the structure was forgotten (mem::forget, Rc::into_raw, a leaked owner): find where its root Rc/Arc went; otherwise make the back edge a Weak (Rc::downgrade / Arc::downgrade)".into()
            } else if mentions(g, &["Arc<", "sync::Arc", "arc::Arc"]) {
                "Arc reference cycle: these blocks only point at each other, so their strong counts never reach zero; make the back edge (child→parent, observer→subject) a std::sync::Weak (Arc::downgrade)".into()
            } else if mentions(g, &["Rc<", "rc::Rc", "Rc::new"]) {
                "Rc reference cycle: these blocks only point at each other, so their strong counts never reach zero; make the back edge (child→parent) a std::rc::Weak (Rc::downgrade)".into()
            } else if mentions(g, &["shared_ptr", "make_shared", "__shared_"]) {
                "shared_ptr cycle: these objects own each other, so no use count reaches zero; make the back edge a std::weak_ptr".into()
            } else if g.counted > 0 {
                "reference cycle: these blocks only point at each other, and one of them is a reference count's header (an Rc's or a shared_ptr's control block), so no count reaches zero; make the back edge weak (Weak / weak_ptr)".into()
            } else {
                // No reference count among them: a container's nodes pointing back at it (libc++'s list, map,
                // unordered_map keep their end node inside the container), a doubly linked list.
                "cycle of plain pointers (no reference count among them: a container whose nodes point back at it, a doubly linked list): nothing freed the structure — delete or free its owner, the block allocated first (a forgotten `new std::list/map/…`, a list never destroyed)".into()
            }
        }
        Kind::Lost if g.freed_owner.is_some() => owner_hint(g),
        // A block pointing only at itself is lost (no cycle), but a reference-counted one that holds a strong
        // reference to itself never reaches a zero count: that is the bug to fix.
        Kind::Lost if g.self_referencing > 0 && reference_counted(g) => {
            "lost: a reference-counted value holding a strong reference to itself (Rc/Arc/shared_ptr), so its count never reaches zero: make that self-reference a Weak (Rc::downgrade / weak_ptr)".into()
        }
        Kind::Lost => {
            if mentions(g, &["mem::forget", "forget<"]) {
                "lost: mem::forget dropped the only owner without freeing; let the value drop (or ManuallyDrop::drop / Box::from_raw it later)".into()
            } else if g.stack.iter().any(|f| {
                // `Box<T,A>::leak`, `Vec::leak`, `String::leak`: the method, not any function whose name starts so
                // (`app::leak_block` read "Box::leak gives up ownership on purpose").
                let name = f.function.split('<').next().unwrap_or(&f.function);
                let method = |tail: &str| f.function.ends_with(tail) || f.function.contains(&format!("{tail}<"));
                method(">::leak") || name.ends_with("::leak")
            }) {
                "lost: Box::leak gives up ownership on purpose, once per call here; keep the Box (or leak once into a static) instead".into()
            } else if g.stack.iter().any(|f| f.function.contains("::") || f.file.as_deref().is_some_and(|p| p.ends_with(".rs"))) && mentions(g, &["alloc::", "Box", "Vec", "Rc", "String"]) {
                "lost: no pointer to these blocks remains anywhere (mem::forget, Box::into_raw / leak, or ManuallyDrop never dropped); let the owner drop".into()
            } else if let Some(class) = g.site.as_ref().and_then(|s| constructor_class(&s.function)) {
                format!("lost: allocated in the constructor of {class}, and nothing points to it any more: if the {class} object was deleted, {class} lacks the destructor that frees this member — add ~{class}() (or hold the member in std::unique_ptr / std::vector)")
            } else if g.stack.iter().any(|f| f.file.as_deref().is_some_and(|p| p.ends_with(".cpp") || p.ends_with(".cc") || p.ends_with(".cxx"))) {
                "lost: allocated with new and never deleted, and no pointer to it remains; own it with std::unique_ptr (or delete it on every path)".into()
            } else {
                "lost: allocated and never freed, and no pointer to it remains; free it on every path out of the function (error paths too)".into()
            }
        }
        // A ring an Rc the lost owner held points into: dropping the owner only lowers one count.
        Kind::Indirect if g.on_cycle > 0 => "indirectly lost, and these blocks also form a cycle among themselves: if they are reference-counted (Rc/Arc/shared_ptr), fixing the owner leaves the cycle leaked — make its back edge weak (Weak/weak_ptr) too; otherwise freeing the owner's structure as a whole frees them".into(),
        Kind::Indirect => "indirectly lost: only reachable from leaked blocks (a lost object's members, or a cycle's children); fixing the owner fixes these — or, if the owner is freed, it lacks the destructor/Drop that frees them".into(),
        Kind::Host if g.root.as_deref().is_some_and(|r| r.starts_with("closure handed to JS")) => {
            "held by the host: a Rust closure handed to JavaScript and never dropped (Closure::forget / Closure::into_js_value, or a Closure::once_into_js never called): only the JS function keeps it; keep the Closure (e.g. in the struct that registers the listener) and drop it when done, after removing the listener — the glue's FinalizationRegistry frees it only if JS drops the function and a GC runs, which is not a guarantee".into()
        }
        Kind::Host if g.root.as_deref().is_some_and(|r| r.starts_with("object handed to JS")) => {
            "held by the host: wasm-bindgen objects Rust handed to JavaScript (returned in a Vec, as a JsValue, or passed to a JS function) that JS never .free()d: call .free() on each when done (or `using` them) — the glue's FinalizationRegistry frees them only if a GC runs, which is not a guarantee".into()
        }
        Kind::Host if g.root.as_deref().is_some_and(|r| r.starts_with(wasmleak_heap::JS_STACK_SLOT)) => {
            "held by the host: the only pointer is in a stack slot JavaScript allocated (Emscripten's stackAlloc: an out-parameter the glue reads a handle from, as sql.js does for every database and statement), and the object was never closed or freed: call the library's close/free/delete on each object when done".into()
        }
        Kind::Host => {
            let by = g.root.as_deref().and_then(|r| r.strip_prefix("returned by ")).and_then(|r| r.split(' ').next());
            match by {
                Some(export) => format!("held by the host: the only pointer is the one `{export}` returned to the embedder/JavaScript; call the matching destroy function (wasm-bindgen: .free(), Embind: .delete()) when done — a FinalizationRegistry is not a guarantee"),
                None => "held by the host: only a value the embedder/JavaScript holds points here; call the matching destroy function (.free() / .delete()) when done — a FinalizationRegistry is not a guarantee".into(),
            }
        }
        Kind::Reachable if g.growing => format!(
            "reachable but growing: {} keeps every block, and more with each iteration (a cache or collection never pruned); bound it (an LRU, a size cap) or remove entries when done",
            g.root.as_deref().unwrap_or("a root")
        ),
        Kind::Reachable => match g.root.as_deref() {
            Some(root) => format!("still reachable from {root} at exit; fine if it is a one-time allocation, a leak if it grows with work done (a cache or global collection): bound or clear it"),
            None => "still reachable at exit; fine if it is a one-time allocation, a leak if it grows with work done (a cache or global collection): bound or clear it".into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(function: &str, file: Option<&str>) -> Frame {
        Frame { function: function.into(), file: file.map(Into::into), line: None, column: None, inlined: false }
    }

    fn is_allocator(f: &Frame) -> bool {
        is_allocator_frame(&f.function, f.file.as_deref())
    }

    fn is_library(f: &Frame) -> bool {
        is_library_frame(&f.function, f.file.as_deref())
    }

    /// `Box::leak` is the method, not any function whose name starts with `leak` (a pool's `leak_block` read
    /// "Box::leak gives up ownership on purpose": threads survey).
    #[test]
    fn box_leak_is_the_method() {
        let lost = |f: &str| Group { kind: "lost", stack: vec![frame(f, None), frame("app::main", None)], ..Default::default() };
        assert!(hint(Kind::Lost, &lost("alloc::boxed::Box<T,A>::leak")).contains("Box::leak gives up"));
        assert!(hint(Kind::Lost, &lost("alloc::boxed::Box<T,A>::leak<u8>")).contains("Box::leak gives up"));
        assert!(!hint(Kind::Lost, &lost("app::leak_block")).contains("Box::leak"));
        assert!(!hint(Kind::Lost, &lost("<app::Pool as app::Alloc>::leak_all")).contains("Box::leak"));
    }

    /// A lost block pointing at itself: an `Rc` that holds a clone of itself is told to use `Weak`; anything
    /// else (an empty circular list head) gets the plain lost hint, not a cycle's.
    #[test]
    fn a_self_referencing_rc_is_told_to_use_weak() {
        let g = |ty: &str| Group { kind: "lost", ty: Some(ty.into()), self_referencing: 1, ..Group::default() };
        assert!(hint(Kind::Lost, &g("Rc<RefCell<app::Node>>")).contains("strong reference to itself"));
        assert!(!hint(Kind::Lost, &g("list_head")).contains("itself"), "{}", hint(Kind::Lost, &g("list_head")));
        let not_self = Group { self_referencing: 0, ..g("Rc<RefCell<app::Node>>") };
        assert!(!hint(Kind::Lost, &not_self).contains("itself"));
    }

    /// An Emscripten export minified to one or two characters is passed over for the site, as an unnamed
    /// function is: the app's line that called it says more (quickjs-emscripten: `_`). Longer names stay.
    #[test]
    fn a_minified_export_is_not_the_site() {
        let stack = [("func[499]", None), ("_", None), ("newString", Some("/app/node_modules/quickjs-emscripten-core/dist/x.mjs")), ("(anonymous)", Some("/app/quickjs.mjs"))];
        assert_eq!(site_index(stack.iter().copied()), 3);
        let named = [("func[499]", None), ("add", None), ("(anonymous)", Some("/app/x.mjs"))];
        assert_eq!(site_index(named.iter().copied()), 1);
    }

    /// A package's glue under node_modules, and Zig's std and libc, are libraries: the site is the caller.
    #[test]
    fn package_glue_and_zig_std_are_libraries() {
        assert!(is_library(&frame("(anonymous)", Some("/app/node_modules/yoga-layout/dist/binaries/yoga-wasm-base64-esm.js"))));
        assert!(is_library(&frame("heap.c_allocator_impl.remap", Some("/usr/lib/zig/lib/std/heap.zig"))));
        assert!(is_library(&frame("c.string.strdup", Some("/x/ziglang/lib/c/string.zig"))));
        assert!(!is_library(&frame("main", Some("/app/lib/c/main.c"))));
        assert!(is_allocator(&frame("c.malloc.reallocarray", None)));
    }

    /// A member that is a std container's buffer frees itself: when it is lost behind a deleted owner, the owner's
    /// destructor never ran (a base without a virtual destructor) — not a destructor to add (C++ survey).
    #[test]
    fn a_lost_container_buffer_means_the_destructor_never_ran() {
        let member = |f: &str| Group { stack: vec![frame(f, None), frame("make_bad(int)", None)], ..Group::default() };
        assert!(self_freeing_member(&member("std::__2::vector<Point, std::__2::allocator<Point>>::reserve(unsigned long)")));
        assert!(!self_freeing_member(&member("Holder::Holder(int)")));
    }

    #[test]
    fn constructors() {
        assert_eq!(constructor_class("Holder::Holder(int)"), Some("Holder"));
        assert_eq!(constructor_class("ns::Widget::Widget(unsigned int)"), Some("Widget"));
        assert_eq!(constructor_class("make_widget(unsigned int)"), None);
        assert_eq!(constructor_class("Holder::reset()"), None);
    }

    #[test]
    fn the_site_is_the_first_named_frame_of_the_program() {
        let at = |fs: &[(&'static str, Option<&'static str>)]| site_index(fs.iter().copied());
        // Stripped wasm-bindgen module: internal functions are unnamed, the export is not.
        assert_eq!(at(&[("func[230]", None), ("func[873]", None), ("decompressstream_new", None), ("new DecompressStream", Some("glue.js"))]), 2);
        // Nothing named of the program's own: its first frame.
        assert_eq!(at(&[("func[17]", None), ("func[29]", None), ("__main_void", None), ("_start", None)]), 0);
        // Library frames are skipped as before.
        assert_eq!(at(&[("alloc::alloc::alloc", Some("library/alloc/src/alloc.rs")), ("app::make", Some("src/lib.rs"))]), 1);
        // Without DWARF, C under the program's Rust is a bundled library's (rusqlite's SQLite): the Rust caller is the
        // site. A C program's C is its own, and so is C whose file DWARF names outside any registry.
        let sqlite = [("sqlite3MemMalloc", None), ("sqlite3_mprintf", None), ("sq::main", None), ("std::rt::lang_start", None)];
        assert_eq!(at(&sqlite), 2);
        assert_eq!(at(&[("make", None), ("main", None), ("__main_void", None)]), 0);
        assert_eq!(at(&[("make", Some("src/make.c")), ("app::main", Some("src/main.rs"))]), 0);
        assert!(!is_unnamed("func[12]x") && is_unnamed("func[7]"));
        // Emscripten's glue names nothing of the program's (a stripped -fexceptions build): the wasm frame does.
        assert_eq!(at(&[("func[31]", None), ("invoke_vi", Some("/app/a.js")), ("func[12]", None), ("callMain", Some("/app/a.js"))]), 0);
        assert_eq!(at(&[("func[31]", None), ("callMain", Some("/app/a.js")), ("run", Some("/app/a.js"))]), 0);
        assert_eq!(at(&[("func[72]", None), ("runCaller", Some("/app/a.js")), ("removeRunDependency", Some("/app/a.js"))]), 0);
        // A thread's stack ends in wasi-libc's thread entry, an export even when stripped: no site (a threads survey:
        // stripped C and Rust release builds were all sited at `wasi_thread_start`).
        assert_eq!(at(&[("func[14]", None), ("func[57]", None), ("wasi_thread_start", None)]), 0);
        assert_eq!(at(&[("func[57]", None), ("__wasi_thread_start_C", None), ("wasi_thread_start", None)]), 0);
        assert_eq!(
            at(&[("std::sys::backtrace::__rust_begin_short_backtrace", None), ("__wasi_thread_start_C", None), ("wasi_thread_start", None)]),
            0
        );
        // `cargo test --release`: the test's body inlined into std's `FnOnce::call_once`, libtest's frames, and the
        // harness's generated `main` — none of them the program's (crates' suites survey: every leak was sited at
        // libtest's `__rust_begin_short_backtrace`, or at the harness's `leaks::main`).
        let test = [
            ("core::ops::function::FnOnce::call_once", None),
            ("test::__rust_begin_short_backtrace::<core::result::Result<(), alloc::string::String>, fn() -> core::result::Result<(), alloc::string::String>>", None),
            ("test::run_test", None),
            ("test::test_main_static", None),
            ("leaks::main", None),
            ("std::rt::lang_start::{{closure}}", None),
        ];
        assert_eq!(at(&test), 0);
        let frames: Vec<Frame> = test.iter().map(|(f, file)| frame(f, *file)).collect();
        assert!(!has_own_frame(&frames));
        assert!(has_own_frame(&frames[..4].iter().cloned().chain([frame("leaks::t39", None)]).collect::<Vec<_>>()));
        // A pthread worker's message handler (Emscripten's worker.js, -O2 without -g): the wasm frame says more.
        let worker = Some("/app/t.worker.js");
        assert_eq!(at(&[("func[18]", None), ("func[19]", None), ("self.onmessage", worker), ("(anonymous)", worker)]), 0);
        // An app's own function named like a trampoline's prefix stays a site.
        assert_eq!(at(&[("func[31]", None), ("invoke_handler2", Some("/app/server.js"))]), 1);
    }

    #[test]
    fn return_types_do_not_hide_library_frames() {
        assert!(is_library(&frame("void* std::__2::__libcpp_operator_new[abi:v160006]<unsigned long>(unsigned long)", None)));
        assert!(is_library(&frame("void std::__2::__libcpp_operator_delete[abi:v160006]<void*>(void*)", None)));
        assert!(!is_library(&frame("void make<std::__2::vector<int>>(int)", None)));
        assert!(!is_library(&frame("make_widgets()", None)));
        assert_eq!(without_return_type("operator delete(void*)"), "operator delete(void*)");
    }

    #[test]
    fn std_impls_are_library_frames() {
        assert!(is_library(&frame("<u8 as alloc::vec::spec_from_elem::SpecFromElem>::from_elem", None)));
        assert!(is_library(&frame("<alloc::vec::Vec<T> as core::clone::Clone>::clone", None)));
        assert!(is_library(&frame("<[u8] as alloc::borrow::ToOwned>::to_owned", None)));
        assert!(!is_library(&frame("<app::Node as core::ops::drop::Drop>::drop", None)));
        assert!(!is_library(&frame("<u8 as app::Codec>::encode", None)));
    }

    /// Scratch of a call the block was not allocated in is no owner; an owner the block was allocated beside is.
    #[test]
    fn scratch_of_a_call_the_block_passed_through() {
        let stack = |fs: &[&str]| fs.iter().map(|f| frame(f, None)).collect::<Vec<_>>();
        let root = ["__main_void", "_start"];
        let with = |fs: &[&str]| stack(&[fs, &root[..]].concat());
        // nlohmann::json: the parser's vector<json*> pointed at the object `new json(json::parse(s))` fills.
        let (alloc, free) = (with(&["vector::push_back", "sax::start_object", "json::parse", "main"]), with(&["vector::~vector", "json::parse", "main"]));
        assert!(scratch_of_another_call(&alloc, &free, &with(&["main"])));
        // A vector<T*> destroyed without deleting the Ts the same call allocated: the owner.
        let (alloc, free) = (with(&["vector::push_back", "make_widgets", "main"]), with(&["vector::~vector", "make_widgets", "main"]));
        assert!(!scratch_of_another_call(&alloc, &free, &with(&["make_widgets", "main"])));
        // An object deleted by main that kept what its constructor allocated.
        assert!(!scratch_of_another_call(&with(&["main"]), &with(&["main"]), &with(&["DataProcessor::DataProcessor", "main"])));
        // Allocated in one callee, freed in another: it lived in main, as the block did.
        assert!(!scratch_of_another_call(&with(&["make_holder", "main"]), &with(&["drop_holder", "main"]), &with(&["fill", "main"])));
        // Stacks cut short by the frame limit: their outermost functions differ, nothing is said.
        assert!(!scratch_of_another_call(&stack(&["a", "b"]), &stack(&["a", "c"]), &stack(&["x"])));
    }

    /// A buffer of bytes the library allocated for the program owns nothing; a buffer of the program's pointers does,
    /// even when only library frames made it, and so does what a program's `Write` impl allocates.
    #[test]
    fn byte_buffers_by_the_library_frames_before_the_program() {
        let stack = |names: &[&str]| names.iter().map(|n| frame(n, None)).collect::<Vec<_>>();
        let stdout = "<std::sync::once_lock::OnceLock<std::sync::reentrant_lock::ReentrantLock<core::cell::RefCell<std::io::buffered::linewriter::LineWriter<std::io::stdio::StdoutRaw>>>>>::initialize";
        assert!(is_byte_buffer(&stack(&[stdout, "std::io::stdio::_print", "app::main"])));
        assert!(is_byte_buffer(&stack(&["alloc::raw_vec::finish_grow", "alloc::string::String::push_str", "app::main"])));
        assert!(is_byte_buffer(&stack(&["operator new(unsigned long)", "std::__2::basic_string<char, std::__2::char_traits<char>, std::__2::allocator<char>>::__grow_by(unsigned long)", "main"])));
        assert!(!is_byte_buffer(&stack(&["alloc::raw_vec::finish_grow", "alloc::raw_vec::RawVec<T,A>::grow_one", "app::keep_pointers", "app::main"])));
        assert!(!is_byte_buffer(&stack(&["alloc::raw_vec::finish_grow", "<app::Log as std::io::Write>::write", "std::io::Write::write_all", "app::main"])));
        assert!(!is_byte_buffer(&stack(&["operator new(unsigned long)", "std::__2::vector<Widget*, std::__2::allocator<Widget*>>::push_back(Widget* const&)", "make_widgets()"])));
        assert!(!is_byte_buffer(&stack(&["alloc::alloc::exchange_malloc", "std::io::error::Error::_new", "app::fail"])));
    }

    #[test]
    fn frames_by_file_and_name() {
        assert!(is_allocator(&frame("alloc_impl_runtime", Some("library/alloc/src/alloc.rs"))));
        assert!(is_allocator(&frame("operator new(unsigned long)", None)));
        assert!(!is_allocator(&frame("new<T>", Some("library/alloc/src/rc.rs"))));
        assert!(is_library(&frame("new<T>", Some("library/alloc/src/rc.rs"))));
        assert!(is_library(&frame("__original_main", Some("./libc-bottom-half/sources/__original_main.c"))));
        assert!(!is_library(&frame("rust_patterns::create_leaky_tree", Some("rust/src/main.rs"))));
        assert!(!is_library(&frame("main", Some("./c/patterns.c"))));
        let argv = [frame("__main_void", None), frame("_start", Some("./build/./libc-bottom-half/crt/crt1-command.c"))];
        assert!(is_runtime_startup(&argv));
        assert!(!is_runtime_startup(&[frame("make_record", Some("./c/patterns.c")), argv[0].clone()]));
        // The program's own main (`main(argc, argv)` is `__main_argc_argv` in wasi-libc) is not the runtime.
        assert!(!is_runtime_startup(&[frame("__main_argc_argv", None), argv[0].clone(), argv[1].clone()]));
        // js-sys' task queue, made once, in a release build (no DWARF: no registry path; a wasm-bindgen-test run
        // exited 1 on a clean suite).
        let queue = ["js_sys::futures::queue::Queue::new", "core::cell::lazy::LazyCell<T,F>::really_init", "js_sys::futures::future_to_promise::{{closure}}", "wasm_bindgen::convert::closures::_::invoke"];
        assert!(is_runtime_startup(&queue.map(|f| frame(f, None))));
        assert!(!is_runtime_startup(&[frame("app::spawn_task", None), frame(queue[0], None)]));
        // Emscripten's per-thread bookkeeping, allocated by libc itself (its pthread_create's TSD array, the TLS
        // block), left behind when the runtime frees a still-running thread's struct at exit.
        let lib = "/build/emscripten/system/lib/pthread/";
        assert!(is_runtime_startup(&[frame("__pthread_create", Some(lib)), frame("__original_main", Some("t.c"))]));
        assert!(is_runtime_startup(&[frame("emscripten_tls_init", Some(lib)), frame("self.onmessage", Some("t.worker.js"))]));
        assert!(!is_runtime_startup(&[frame("worker_body", Some("t.c")), frame("__pthread_create", Some(lib))]));
    }

    /// wasm-bindgen rewrites the name section with Rust v0 names demangled with their crate hashes.
    #[test]
    fn crate_hashes_in_names() {
        assert_eq!(without_crate_hashes("__rustc[b7974e8690430dd9]::__rdl_alloc"), "__rustc::__rdl_alloc");
        assert_eq!(
            without_crate_hashes("<dlmalloc[e24a27700634d609]::dlmalloc::Dlmalloc<dlmalloc[e24a27700634d609]::sys::System>>::malloc"),
            "<dlmalloc::dlmalloc::Dlmalloc<dlmalloc::sys::System>>::malloc"
        );
        assert_eq!(without_crate_hashes("f<[u8; 4]>"), "f<[u8; 4]>");
        assert_eq!(without_crate_hashes("a[ab"), "a[ab");
        assert_eq!(without_crate_hashes("sum(int[16])"), "sum(int[16])");
        assert_eq!(without_crate_hashes("operator new[](unsigned long)"), "operator new[](unsigned long)");
        assert!(is_allocator(&frame("__rustc[b7974e8690430dd9]::__rust_alloc", None)));
        assert!(is_allocator(&frame("__rustc[b7974e8690430dd9]::__rdl_alloc_zeroed", None)));
        assert!(is_library(&frame("<dlmalloc[e24a27700634d609]::dlmalloc::Dlmalloc<dlmalloc[e24a27700634d609]::sys::System>>::malloc", None)));
        assert!(!is_library(&frame("leak_closure", None)));
    }

    fn host_group(root: &str) -> Group {
        Group {
            kind: "host",
            blocks: 2,
            bytes: 112,
            stack: vec![frame("leak_closure", None)],
            site: Some(frame("leak_closure", None)),
            root: Some(root.into()),
            ..Group::default()
        }
    }

    #[test]
    fn host_hints() {
        let closure = hint(Kind::Host, &host_group("closure handed to JS (__wbindgen_generic_0000000000000001), through 1 other block"));
        assert!(closure.contains("Closure::forget") && closure.contains("keep the Closure") && closure.contains("drop it when done"), "{closure}");
        let object = hint(Kind::Host, &host_group("returned by parser_new (call 3)"));
        assert!(object.contains("`parser_new`") && object.contains(".free()"), "{object}");
        assert!(!object.contains("Closure"));
        let wrapped = hint(Kind::Host, &host_group("object handed to JS (__wbg_parser_new), through 1 other block"));
        assert!(wrapped.contains("wasm-bindgen objects") && wrapped.contains(".free()"), "{wrapped}");
    }
}
