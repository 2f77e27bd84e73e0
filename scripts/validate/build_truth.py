#!/usr/bin/env python3
"""Regenerate truth.json from the fetched modules (scripts/validate/fetch.sh first).

  build_truth.py [CACHE] > truth.json

Facts measured from the bytes (sha256, size, name section, shared memory, memory64) are computed here. The allocator
lists come from two sources:
  * modules with a `name` section: every function whose name is an allocator entry point (names.py patterns,
    mapped to a role by ROLE_RULES below) — the names are the truth;
  * stripped modules: the MANUAL table below, which records conclusions reached by hand from the JS glue
    (glue.py) and the call graph (names.py tree/func/bysig, dlcore.py), each with its evidence.
MANUAL entries are also used for named modules to add exports (glue-facing names) and notes.
Function indices are wasm function indices (imports first), as `wasm-objdump -x` prints them.
"""
import hashlib
import json
import os
import re
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
import names  # noqa: E402

CACHE = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("WASMLEAK_VALIDATE_CACHE", "/var/tmp/wasmleak-validate")

# (regex on the function's name, role) — first match wins. None = not an allocator entry point (see NOT_RULES).
ROLE_RULES = [
    (r"^__wbindgen_malloc(\.command_export)?$", "wbindgen_malloc"),
    (r"^__wbindgen_free(\.command_export)?$", "wbindgen_free"),
    (r"^__wbindgen_realloc(\.command_export)?$", "wbindgen_realloc"),
    (r"(^|::|_)__rust_alloc_zeroed$|19___rust_alloc_zeroed$", "rust_alloc_zeroed"),
    (r"(^|::|_)__rust_alloc$|12___rust_alloc$", "rust_alloc"),
    (r"(^|::|_)__rust_dealloc$|14___rust_dealloc$", "rust_dealloc"),
    (r"(^|::|_)__rust_realloc$|14___rust_realloc$", "rust_realloc"),
    (r"__rdl_alloc_zeroed$|13___rdl_alloc_zeroed$", "rdl_alloc_zeroed"),
    (r"__rdl_alloc$|11___rdl_alloc$", "rdl_alloc"),
    (r"__rdl_dealloc$|13___rdl_dealloc$", "rdl_dealloc"),
    (r"__rdl_realloc$|13___rdl_realloc$", "rdl_realloc"),
    (r"dlmalloc::Dlmalloc(<.*?>+)?::malloc(::h[0-9a-f]+)?$|8dlmalloc8dlmalloc.*E6mallocC", "malloc"),
    (r"dlmalloc::Dlmalloc(<.*?>+)?::free(::h[0-9a-f]+)?$|8dlmalloc8dlmalloc.*E4freeC", "free"),
    (r"dlmalloc::Dlmalloc(<.*?>+)?::realloc(::h[0-9a-f]+)?$|8dlmalloc8dlmalloc.*E7reallocC", "realloc"),
    (r"dlmalloc::Dlmalloc(<.*?>+)?::calloc(::h[0-9a-f]+)?$|8dlmalloc8dlmalloc.*E6callocC", "calloc"),
    (r"dlmalloc::Dlmalloc(<.*?>+)?::memalign(::h[0-9a-f]+)?$|8dlmalloc8dlmalloc.*E8memalignC", "memalign"),
    (r"GlobalDlmalloc as core::alloc::global::GlobalAlloc>::alloc(::h[0-9a-f]+)?$", "rust_alloc"),
    (r"GlobalDlmalloc as core::alloc::global::GlobalAlloc>::dealloc(::h[0-9a-f]+)?$", "rust_dealloc"),
    (r"GlobalDlmalloc as core::alloc::global::GlobalAlloc>::realloc(::h[0-9a-f]+)?$", "rust_realloc"),
    (r"wee_alloc.*::(alloc|alloc_impl)(::h[0-9a-f]+)?$", "rust_alloc"),
    (r"wee_alloc.*::dealloc(::h[0-9a-f]+)?$", "rust_dealloc"),
    (r"^(malloc|dlmalloc|emscripten_builtin_malloc|__libc_malloc|malloc\.command_export)$", "malloc"),
    (r"^(free|dlfree|emscripten_builtin_free|__libc_free|free\.command_export)$", "free"),
    (r"^(calloc|dlcalloc|emscripten_builtin_calloc|__libc_calloc|calloc\.command_export)$", "calloc"),
    (r"^(realloc|dlrealloc|emscripten_builtin_realloc|__libc_realloc|realloc\.command_export)$", "realloc"),
    (r"^(memalign|dlmemalign|emscripten_builtin_memalign|internal_memalign|emmalloc_memalign)$", "memalign"),
    (r"^(aligned_alloc|dlaligned_alloc)$", "aligned_alloc"),
    (r"^(posix_memalign|dlposix_memalign)$", "posix_memalign"),
    (r"^emmalloc_free$", "free"),
    (r"^emmalloc_malloc$", "malloc"),
    (r"^emmalloc_realloc$", "realloc"),
    (r"^emmalloc_calloc$", "calloc"),
    (r"^operator new(\[\])?\(unsigned long(, std::nothrow_t const&)?\)$|^_Zn[wa]m(RKSt9nothrow_t)?$", "operator_new"),
    (r"^operator new(\[\])?\(unsigned long, std::align_val_t", "operator_new_aligned"),
    (r"^operator delete(\[\])?\(void\*(, unsigned long)?\)$|^_Zd[la]Pv(m)?$", "operator_delete"),
    (r"^operator delete(\[\])?\(void\*, (unsigned long, )?std::align_val_t", "operator_delete_aligned"),
    (r"^heap\.WasmAllocator\.alloc$|^heap\.\w+\.alloc$", "zig_alloc"),
    (r"^heap\.WasmAllocator\.resize$|^heap\.\w+\.resize$", "zig_resize"),
    (r"^heap\.WasmAllocator\.remap$|^heap\.\w+\.remap$", "zig_remap"),
    (r"^heap\.WasmAllocator\.free$|^heap\.\w+\.free$", "zig_free"),
    (r"^runtime\.alloc$", "gc_alloc"),
    (r"^main\.alloc#wasmexport$", "export_alloc"),
]

# names that look allocator-shaped but are not entry points
NOT_RULES = [
    (r"dispose_chunk|unlink_chunk|insert_large_chunk|insert_small_chunk|release_unused_segments|sys_trim|"
     r"prepend_alloc|try_realloc_chunk|tmalloc_(small|large)|add_segment|init_top|init_bins|sys_alloc$|"
     r"E(13dispose_chunk|12unlink_chunk|18insert_large_chunk|23release_unused_segments|8sys_trim)C",
     "dlmalloc internal: works on the allocator state but is not an entry point (called from malloc/free/memalign)"),
    (r"^(sbrk|emscripten_resize_heap)$", "grows the heap for the allocator (memory.grow / host import); not an allocation API"),
    (r"^_?_?(emscripten_stack_alloc|stackAlloc)$", "stack allocator for the JS glue (moves the stack pointer); allocator-shaped (i32)->i32 but not heap"),
    (r"^__externref_table_alloc$|^__externref_table_dealloc", "wasm-bindgen externref table slot allocator, not linear memory"),
    (r"^__wbindgen_exn_store", "wasm-bindgen exception store: (i32)->() export next to the allocator exports, not free"),
    (r"__rust_alloc_error_handler|__rust_no_alloc_shim_is_unstable|__rdl_oom|__rg_oom", "allocation-failure hook / linker shim, never allocates"),
    (r"std::rt::cleanup|std::sys::.*::once|Once::call|rt::lang_start", "runtime one-time init/cleanup over static state"),
    (r"^(main|__main_argc_argv|__original_main|main\.command_export|__main_void)$", "main(argc, argv): (i32,i32)->i32 but not an allocator"),
    (r"^runtime\.(markRoots|markRoot|runGC|GC|sweep|findGlobals|growHeap|startMark)$", "TinyGo GC internals"),
    (r"^hb_(malloc|calloc|realloc|free)_impl$|^(png_malloc|png_free|sqlite3_(malloc|free|realloc)\w*|vips_malloc|av_(malloc|free|realloc)\w*)$",
     "library wrapper over the C allocator (hooking it as well double-counts)"),
]

HEX = re.compile(r"::h[0-9a-f]{16}$")


def role_of(name):
    for rx, role in ROLE_RULES:
        if re.search(rx, name):
            return role
    return None


def not_why(name):
    for rx, why in NOT_RULES:
        if re.search(rx, name):
            return why
    return None


# ------------------------------------------------------------------------------------------------------
# MANUAL: conclusions for stripped modules (and additions for named ones).
# alloc: (func index, role, name/description, evidence); notalloc: (func index, name, why)
# ------------------------------------------------------------------------------------------------------
WBG_CHAIN = ("call graph: {exp} -> func {core} (the only function reached that executes/reaches memory.grow, "
             "~4.5 KB, dlmalloc crate layout)")

MANUAL = {
    "automerge": dict(heap="malloc-like", notes="Rust dlmalloc crate 0.2 (GlobalDlmalloc) behind __rdl_*/__rust_*; all names present."),
    "biome": dict(heap="malloc-like", notes="Names are Rust v0-mangled (`_RNvCs..._7___rustc12___rust_alloc`, "
                  "`_RNvMs0_NtCs..._8dlmalloc8dlmallocINtB5_8Dlmalloc...E6mallocCs..._3std`). Every export is a "
                  "wasm-ld `<name>.command_export` wrapper around the real function; the glue calls "
                  "wasm.__wbindgen_malloc_command_export / __wbindgen_free_command_export / __wbindgen_realloc_command_export.",
                  extra_exports=True),
    "swc": dict(heap="malloc-like",
                alloc=[(13503, "wbindgen_malloc", "__wbindgen_export_0", "wasm.js: passStringToWasm0(arg, wasm.__wbindgen_export_0, wasm.__wbindgen_export_1)"),
                       (14820, "wbindgen_realloc", "__wbindgen_export_1", "wasm.js: passStringToWasm0(..., wasm.__wbindgen_export_1) as realloc"),
                       (12788, "wbindgen_free", "__wbindgen_export_3", "wasm.js: `if (arg0 !== 0) { wasm.__wbindgen_export_3(arg0, arg1, 1); }`; calls func 3275 (free)"),
                       (713, "malloc", "<dlmalloc::Dlmalloc>::malloc (inlined __rust_alloc target)", "reached from __wbindgen_export_0 directly and via 6993 (memalign); only memory.grow path; 4.7 KB"),
                       (3275, "free", "<dlmalloc::Dlmalloc>::free", "called by __wbindgen_export_3 and by __rdl_realloc (3716); shares unlink_chunk 7310 with malloc"),
                       (6993, "memalign", "<dlmalloc::Dlmalloc>::memalign", "(i32,i32)->i32 calling malloc 713 and dispose_chunk 4197"),
                       (3716, "rdl_realloc", "__rdl_realloc (dlmalloc realloc inlined)", "target of __wbindgen_export_1; calls malloc/free/memalign/memcpy"),
                       (15374, "wrapper_malloc", "exchange_malloc-like `malloc(size) or handle_alloc_error(8, size)`",
                        "26-byte (i32)->i32: `r = call 713 (malloc)(size); if r == 0 { call 16157(8, size) (handle_alloc_error, unreachable) }; return r`; 2 callers")],
                notalloc=[(16105, "__wbindgen_export_2", "(i32)->() anonymised export used as `wasm.__wbindgen_export_2(addHeapObject(e))` = __wbindgen_exn_store, not free"),
                          (4197, "dispose_chunk", "dlmalloc internal (i32,i32)->()"),
                          (7310, "unlink_chunk", "dlmalloc internal (i32,i32)->()")],
                notes="Name section present but holds only 2 function names; wasm-bindgen 0.2.100 anonymised exports. "
                      "__wbindgen_export_3 (free) is 107 bytes because the size-check of the dealloc was inlined into it."),
    "tiktoken": dict(heap="malloc-like",
                     alloc=[(848, "wbindgen_malloc", "__wbindgen_export_1", "tiktoken_bg.js: passStringToWasm0(arg, wasm.__wbindgen_export_1, wasm.__wbindgen_export_2)"),
                            (1034, "wbindgen_realloc", "__wbindgen_export_2", "tiktoken_bg.js: third argument of passStringToWasm0"),
                            (1162, "wbindgen_free", "__wbindgen_export_3", "tiktoken_bg.js: `wasm.__wbindgen_export_3(r0, r1 * 1, 1)` in finally"),
                            (25, "malloc", "<dlmalloc::Dlmalloc>::malloc", WBG_CHAIN.format(exp="__wbindgen_export_1", core=25)),
                            (167, "free", "<dlmalloc::Dlmalloc>::free", "__wbindgen_export_3 -> 793 (size-checked dealloc) -> 167; 769 bytes, calls unlink_chunk 310 like malloc"),
                            (793, "rust_dealloc", "__rdl_dealloc-like size-checked free wrapper", "(i32,i32,i32)->() between __wbindgen_export_3 and free; panics (966) on bad layout"),
                            (283, "memalign", "<dlmalloc::Dlmalloc>::memalign", "calls malloc 25 and dispose_chunk 262"),
                            (136, "rdl_realloc", "__rdl_realloc", "target of __wbindgen_export_2; calls malloc, free, memalign")],
                     notalloc=[(262, "dispose_chunk", "dlmalloc internal"), (310, "unlink_chunk", "dlmalloc internal")],
                     notes="Exports anonymised (__wbindgen_export_0 is the externref/heap-object helper, not an allocator)."),
    "resvg": dict(heap="malloc-like",
                  alloc=[(1242, "wbindgen_malloc", "__wbindgen_malloc", "export name"),
                         (1298, "wbindgen_realloc", "__wbindgen_realloc", "export name"),
                         (1406, "wbindgen_free", "__wbindgen_free", "export name"),
                         (102, "malloc", "<dlmalloc::Dlmalloc>::malloc", WBG_CHAIN.format(exp="__wbindgen_malloc", core=102) + "; 195 callers (Rust code calls it directly after LTO)"),
                         (398, "free", "<dlmalloc::Dlmalloc>::free", "__wbindgen_free (12 bytes) forwards to it; 314 callers"),
                         (766, "memalign", "<dlmalloc::Dlmalloc>::memalign", "calls malloc 102 and dispose_chunk 496"),
                         (499, "rdl_realloc", "__rdl_realloc", "target of __wbindgen_realloc; calls malloc, free, memalign, memcpy")],
                  notalloc=[(496, "dispose_chunk", "dlmalloc internal (i32,i32)->()"), (804, "unlink_chunk", "dlmalloc internal"), (919, "insert_large_chunk", "dlmalloc internal")],
                  notes="No distinct __rust_alloc: it is inlined everywhere; hooking only __wbindgen_malloc misses Rust-internal allocations."),
    "brotli-wasm": dict(heap="malloc-like",
                        alloc=[(784, "wbindgen_malloc", "__wbindgen_malloc", "export name; old 1-argument form (size)"),
                               (827, "wbindgen_realloc", "__wbindgen_realloc", "export name; old 3-argument form"),
                               (850, "wbindgen_free", "__wbindgen_free", "export name; old 2-argument form (ptr, len)"),
                               (873, "rust_alloc", "__rust_alloc", "9-byte forwarder (size, align) -> 230"),
                               (230, "rdl_alloc", "__rdl_alloc (memalign inlined)", "align >= 9 ? memalign path : call 20"),
                               (862, "rust_realloc", "__rust_realloc", "12-byte forwarder -> 115"),
                               (115, "rdl_realloc", "__rdl_realloc", "calls 230, 20 and free 82"),
                               (20, "malloc", "<dlmalloc::Dlmalloc>::malloc (dlmalloc 0.1)", "4.2 KB (i32)->i32; reaches memory.grow via 771 (sys::alloc)"),
                               (82, "free", "<dlmalloc::Dlmalloc>::free (dlmalloc 0.1)", "__wbindgen_free forwards to it; 918 bytes")],
                        notalloc=[(771, "dlmalloc::sys::alloc", "(i32,i32)->() that executes memory.grow; the allocator's page source, not an entry point")],
                        notes="Old dlmalloc 0.1 layout: many tiny accessor functions (chunk helpers 7-30 bytes) that a shape finder sees as (i32)->i32."),
    "jsquash-png": dict(heap="malloc-like",
                        alloc=[(139, "wbindgen_malloc", "__wbindgen_malloc", "export name"),
                               (192, "wbindgen_free", "__wbindgen_free", "export name"),
                               (11, "malloc", "<dlmalloc::Dlmalloc>::malloc", WBG_CHAIN.format(exp="__wbindgen_malloc", core=11)),
                               (28, "free", "<dlmalloc::Dlmalloc>::free", "132 -> 28; 764 bytes; calls unlink_chunk 48/insert_large_chunk 61 like malloc"),
                               (132, "rust_dealloc", "__rdl_dealloc (size-checked)", "(ptr, size): asserts the chunk size then calls free 28"),
                               (44, "memalign", "<dlmalloc::Dlmalloc>::memalign", "calls malloc 11 and 39 (dispose_chunk)"),
                               (25, "rdl_realloc", "__rdl_realloc (dlmalloc realloc inlined)",
                                "(ptr, old_size, align, new_size)->ptr, 857 bytes, 3 callers: resizes the chunk in place (writes dlmalloc chunk heads, "
                                "top/dv state 1108436..1108448) or calls memalign 44 (align >= 9) / malloc 11, memcpy 216 of min(old, new) and free 28; "
                                "panics (157) with dlmalloc's 'assertion failed: psize >= size + min_overhead' checks")],
                        notalloc=[(39, "dispose_chunk", "dlmalloc internal")],
                        notes="No __wbindgen_realloc export (the glue never grows a string)."),
    "photon": dict(heap="malloc-like", notes="Legacy-mangled names with hashes."),
    "ywasm": dict(heap="malloc-like",
                  alloc=[(927, "wbindgen_malloc", "__wbindgen_malloc", "export name"),
                         (974, "wbindgen_realloc", "__wbindgen_realloc", "export name"),
                         (1042, "wbindgen_free", "__wbindgen_free", "export name"),
                         (1075, "rdl_alloc", "__rust_alloc/__rdl_alloc", "(size, align): calls malloc 84 or memalign 380; also called by Rust code"),
                         (84, "malloc", "<dlmalloc::Dlmalloc>::malloc", WBG_CHAIN.format(exp="__wbindgen_malloc", core=84)),
                         (224, "free", "<dlmalloc::Dlmalloc>::free", "__wbindgen_free forwards to it"),
                         (380, "memalign", "<dlmalloc::Dlmalloc>::memalign", "calls malloc and dispose_chunk 344"),
                         (1038, "rdl_realloc", "__rdl_realloc", "target of __wbindgen_realloc")],
                  notalloc=[(344, "dispose_chunk", "dlmalloc internal")]),
    "ruff-fmt": dict(heap="malloc-like",
                     alloc=[(2393, "wbindgen_malloc", "__wbindgen_export", "ruff_fmt_bg.js: passStringToWasm0(arg, wasm.__wbindgen_export, wasm.__wbindgen_export2)"),
                            (2215, "wbindgen_realloc", "__wbindgen_export2", "third argument of passStringToWasm0"),
                            (2279, "wbindgen_free", "__wbindgen_export4", "ruff_fmt_bg.js: wasm.__wbindgen_export4(deferred4_0, deferred4_1, 1)"),
                            (2287, "rdl_alloc", "__rust_alloc/__rdl_alloc", "called by __wbindgen_export; calls memalign 404 / malloc 54"),
                            (54, "malloc", "<dlmalloc::Dlmalloc>::malloc", WBG_CHAIN.format(exp="__wbindgen_export", core=54)),
                            (191, "free", "<dlmalloc::Dlmalloc>::free", "__wbindgen_export4 -> 2216 (size-checked dealloc) -> 191"),
                            (404, "memalign", "<dlmalloc::Dlmalloc>::memalign", "calls malloc 54 and dispose_chunk"),
                            (2135, "rdl_realloc", "__rdl_realloc", "target of __wbindgen_export2")],
                     notalloc=[(2430, "__wbindgen_export3", "(i32)->() export between the allocator exports: `wasm.__wbindgen_export3(addHeapObject(e))` = __wbindgen_exn_store, not free"),
                               (2134, "func 2134", "()->() called first by every export (lazy static init via call_indirect), not an allocator")],
                     notes="wasm-bindgen 0.2.120 anonymises as __wbindgen_export, __wbindgen_export2, ... (no _N suffix, no underscore)."),
    "html-rewriter": dict(heap="malloc-like",
                          alloc=[(688, "wbindgen_malloc", "__wbindgen_malloc", "export name (1-argument form)"),
                                 (742, "wbindgen_realloc", "__wbindgen_realloc", "export name"),
                                 (777, "wbindgen_free", "__wbindgen_free", "export name (2-argument form)"),
                                 (784, "rust_alloc", "__rust_alloc", "9-byte forwarder -> 318"),
                                 (318, "rdl_alloc", "__rdl_alloc (memalign inlined)", "calls malloc 47"),
                                 (774, "rust_realloc", "__rust_realloc", "13-byte forwarder -> 200"),
                                 (200, "rdl_realloc", "__rdl_realloc", "calls 318, 47 and free 143"),
                                 (47, "malloc", "<dlmalloc::Dlmalloc>::malloc (dlmalloc 0.1)", "4.4 KB; reaches memory.grow via 683"),
                                 (143, "free", "<dlmalloc::Dlmalloc>::free (dlmalloc 0.1)", "__wbindgen_free forwards to it")],
                          notalloc=[(683, "dlmalloc::sys::alloc", "(i32,i32)->() that executes memory.grow")],
                          notes="wasm-bindgen 0.2.74, rustc 1.55. Asyncify-transformed (asyncify_* exports)."),
    "wasm-brotli": dict(heap="malloc-like", notes="wasm-bindgen 0.2.54 (2019); names present."),
    "lightningcss": dict(heap="malloc-like",
                         alloc=[(118, "napi_wasm_malloc", "napi_wasm_malloc", "export name; the napi-wasm glue allocates through it"),
                                (56, "malloc", "<dlmalloc::Dlmalloc>::malloc", "napi_wasm_malloc -> 56; 4.7 KB; the only function that reaches memory.grow"),
                                (116, "free", "<dlmalloc::Dlmalloc>::free", "most-called (i32)->() of free's size (2139 callers); calls unlink_chunk 124 which malloc also calls"),
                                (123, "memalign", "<dlmalloc::Dlmalloc>::memalign / __rdl_alloc", "(i32,i32)->i32 calling malloc 56 and dispose_chunk 125; 770 callers"),
                                (122, "rdl_realloc", "__rdl_realloc (dlmalloc realloc inlined; asyncify-instrumented)",
                                 "(ptr, old_size, align, new_size)->ptr, 1276 bytes, 33 callers: in-place chunk resize over dlmalloc state 1191616..1191628, "
                                 "else memalign 123(align, new_size) when align >= 9 or malloc 56(new_size), memory.copy of min(old, new), free 116; "
                                 "same body as jsquash-png's func 25 plus asyncify save/restore")],
                         notes="Rust wasm32-unknown-unknown with napi-wasm (imports `env`), no wasm-bindgen: no __wbindgen_* names, free is not exported."),
    "argon2-browser": dict(heap="malloc-like",
                           alloc=[(9, "malloc", "dlmalloc (export f)", "argon2.js: `_malloc=Module[\"_malloc\"]=function(){return(_malloc=Module[\"_malloc\"]=Module[\"asm\"][\"f\"])...`; 5.8 KB"),
                                  (8, "free", "dlfree (export g)", "argon2.js: `_free ... Module[\"asm\"][\"g\"]`; shares dlmalloc state addresses 4000.. with malloc"),
                                  (30, "realloc", "dlrealloc", "(i32,i32)->i32 calling malloc and free, MAX_REQUEST check (-64) first")]),
    "zstd": dict(heap="malloc-like",
                 alloc=[(111, "malloc", "dlmalloc (export s)", "zstd.js: `_malloc = Module['_malloc'] = wasmExports['s']`"),
                        (24, "free", "dlfree (export t)", "zstd.js: `_free = Module['_free'] = wasmExports['t']`; shares state addresses with malloc")]),
    "vips": dict(heap="malloc-like",
                 alloc=[(148, "malloc", "malloc|emscripten_builtin_malloc|__libc_malloc (mimalloc)", "export names; 103-byte entry into mimalloc's generic path (func 534)"),
                        (108, "free", "free|_ZdlPv|_ZdaPv|emscripten_builtin_free|__libc_free (mimalloc)", "export names"),
                        (446, "calloc", "emscripten_builtin_calloc|__libc_calloc", "export names"),
                        (412, "realloc", "emscripten_builtin_realloc|__libc_realloc", "export names"),
                        (109, "operator_new", "_Znwm|_Znam", "export names"),
                        (100, "operator_delete", "_ZdlPvm", "export name")],
                 notalloc=[(135, "vips_malloc", "libvips wrapper over malloc (g_malloc-style)")],
                 notes="Shared memory (pthreads): expected refusal. Allocator is mimalloc (emscripten -sMALLOC=mimalloc), not dlmalloc/emmalloc: malloc calls a 4-argument (i32,i32,i32,i32)->i32 generic path (func 534), the shape of _mi_malloc_generic(heap, size, zero, huge_alignment). "
                       "MAIN_MODULE build: exports keep their real names."),
    "canvaskit": dict(heap="malloc-like",
                      alloc=[(308, "malloc", "emscripten_builtin_malloc/dlmalloc (export Ad)", "canvaskit.js: `Ad=u._malloc=ie.Ad`; same body as the named profiling build's emscripten_builtin_malloc"),
                             (238, "free", "emscripten_builtin_free/dlfree (export Bd)", "canvaskit.js: `hc=u._free=ie.Bd`"),
                             (1621, "realloc", "emscripten_builtin_realloc", "dlcore.py: calls malloc+free, MAX_REQUEST check; 1054 bytes = profiling build's emscripten_builtin_realloc"),
                             (2672, "calloc", "emscripten_builtin_calloc", "dlcore.py: 0xffff overflow check then malloc; 91 bytes"),
                             (5878, "memalign", "internal_memalign", "dlcore.py: calls malloc and dispose_chunk 2673, not free"),
                             (239, "operator_new", "operator new(unsigned long)",
                              "18-byte (i32)->i32: `p = call 5737 (operator_new_impl)(size); if !p call 860 (abort path, unreachable)`; 841 callers; "
                              "same body as the profiling build's named `operator new(unsigned long)` (func 239 there)"),
                             (5737, "wrapper_malloc", "operator_new_impl(unsigned long)",
                              "53-byte (i32)->i32: `n = max(size, 1); loop { p = malloc 308(n); if p or no new_handler (i32.load 1825052) break; call_indirect handler }; return p`; "
                              "same body as the profiling build's named operator_new_impl (func 4841)"),
                             (254, "wrapper_free", "operator delete(void*) / deleting destructors folded by ICF",
                              "7-byte (i32)->(): `call 238 (free)(p)` only; no direct callers, 303 table slots (vtable deleting destructors); "
                              "same body as the profiling build's func 255"),
                             (11461, "operator_delete", "operator delete(void*, unsigned long)",
                              "7-byte (i32,i32)->(): `call 238 (free)(p)`, size ignored; 1 table slot; same body as the profiling build's named "
                              "`operator delete(void*, unsigned long)` (func 9459)")],
                      notalloc=[(2673, "dispose_chunk", "dlmalloc internal (i32,i32)->()")]),
    "canvaskit-profiling": dict(heap="malloc-like",
                                alloc=[(255, "wrapper_free", "~__func() (ICF-folded deleting destructors / operator delete(void*))",
                                        "7-byte (i32)->(): `call 238 (emscripten_builtin_free)(p)` only; no direct callers, 319 table slots; the name section "
                                        "keeps one of the folded names"),
                                       (4841, "wrapper_malloc", "operator_new_impl(unsigned long)",
                                        "name section; 53 bytes: `n = max(size, 1); loop { p = emscripten_builtin_malloc 309(n); if p or no new_handler "
                                        "(i32.load 1985020) break; call_indirect handler }; return p`; called by operator new 239")],
                                notes="Profiling build: same code as bin/full/canvaskit.wasm plus names; exports minified (Ad=malloc, Bd=free). "
                                      "internal_memalign 4886 is reached only from std::__libcpp_allocate (4354, aligned operator new inlined) and __mmap (5327); "
                                      "there is no separate posix_memalign/aligned_alloc."),
    "sqlite": dict(heap="malloc-like",
                   alloc=[(2717, "malloc", "malloc", "export name"), (2719, "free", "free", "export name"),
                          (2720, "realloc", "realloc", "export name"),
                          (2722, "memalign", "emscripten_builtin_memalign", "export name; forwards to internal_memalign 2723"),
                          (2723, "memalign", "internal_memalign", "dlcore.py: calls malloc and dispose_chunk 2724")],
                   notalloc=[(69, "sqlite3_malloc", "SQLite wrapper over malloc via sqlite3_mem_methods (call_indirect)"),
                             (72, "sqlite3_free", "SQLite wrapper over free"), (73, "sqlite3_realloc", "SQLite wrapper over realloc"),
                             (701, "sqlite3__wasm_pstack_alloc", "SQLite's JS-side pseudo-stack allocator (i32)->i32"),
                             (2724, "dispose_chunk", "dlmalloc internal")]),
    "sharp": dict(heap="malloc-like",
                  alloc=[(196, "malloc", "dlmalloc (export lb)", "sharp-wasm32.node.js: `_malloc=Module[\"_malloc\"]=wasmExports[\"lb\"]`"),
                         (116, "free", "dlfree (export kb)", "`_free=Module[\"_free\"]=wasmExports[\"kb\"]`"),
                         (640, "realloc", "dlrealloc", "dlcore.py"), (585, "calloc", "dlcalloc", "dlcore.py"),
                         (7479, "memalign", "internal_memalign", "dlcore.py; emscripten_builtin_memalign export tb (4600) forwards to it"),
                         (4600, "memalign", "emscripten_builtin_memalign (export tb)", "glue: `_emscripten_builtin_memalign=wasmExports[\"tb\"]`")],
                  notalloc=[(12378, "_emscripten_stack_alloc (export Fb)", "stack allocator")],
                  notes="Shared memory (pthreads): expected refusal. dlmalloc with USE_LOCKS."),
    "sqljs": dict(heap="malloc-like",
                  alloc=[(244, "malloc", "dlmalloc (export La)", "sql-wasm.js: `ha=k._malloc=c.La`"),
                         (243, "free", "dlfree (export Ma)", "sql-wasm.js: `ja=k._free=c.Ma`"),
                         (1265, "memalign", "internal_memalign (export Oa = emscripten_builtin_memalign)", "dlcore.py: calls malloc and dispose_chunk 643"),
                         (1829, "header_realloc", "sqlite3MemRealloc (dlrealloc inlined)",
                          "(pPrior, nByte)->ptr, table-only (sqlite3_mem_methods): works on pPrior-8 with nByte+8 (malloc 244 if pPrior-8 == 0, "
                          "-64 MAX_REQUEST check, in-place dlmalloc chunk resize, else malloc 244(nByte+8) + memcpy 645 + free 243(pPrior-8)), "
                          "stores nByte as i64 at the block start and returns block+8; on failure logs 'failed memory resize %u to %u bytes' "
                          "(sqlite3_log 136). No standalone realloc exists in this build.")],
                  notalloc=[(643, "dispose_chunk", "dlmalloc internal")],
                  notes="SQLite's mem1.c allocator keeps an 8-byte size header: sqlite3MemMalloc/sqlite3MemFree go through malloc 244/free 243 "
                        "with the header included; sqlite3MemRealloc (1829) has dlrealloc inlined, so it is the only realloc path."),
    "sqljs-debug": dict(heap="malloc-like",
                        alloc=[(2236, "malloc", "malloc", "export name"), (2238, "free", "free", "export name"),
                               (2239, "calloc", "calloc", "dlcore.py (0xffff overflow check)"),
                               (2242, "memalign", "emscripten_builtin_memalign", "export name"),
                               (2243, "memalign", "internal_memalign", "dlcore.py"),
                               (2240, "realloc", "dlrealloc",
                                "(i32,i32)->i32, 140 bytes: `if !p return malloc 2236(n)`; `n >= -64` -> errno 48, return 0; try_realloc_chunk 2241(p-8, padded n) "
                                "in place, else malloc 2236(n) + memcpy 2176 + free 2238(p); its only caller is sqlite3MemRealloc 1745 (table-only)")],
                        notalloc=[(2253, "_emscripten_stack_alloc", "stack allocator"), (68, "sqlite3_free", "SQLite wrapper"),
                                  (2244, "dispose_chunk", "dlmalloc internal"),
                                  (2241, "try_realloc_chunk", "dlmalloc internal (i32,i32)->i32 called only by dlrealloc 2240: resizes a chunk in place, returns the chunk or 0")],
                        notes="Built without -O/minification of exports but with no name section."),
    "manifold": dict(heap="malloc-like",
                     alloc=[(39, "malloc", "dlmalloc (export M)", "manifold.js: `_malloc=wasmExports[\"M\"]`"),
                            (34, "free", "dlfree (export N)", "manifold.js: `_free=wasmExports[\"N\"]`"),
                            (35, "operator_new", "operator new(unsigned long)",
                             "18-byte (i32)->i32: `p = call 80 (operator_new_impl)(size); if !p { call 302 -> import a.C = __abort_js }`; 205 callers"),
                            (80, "wrapper_malloc", "operator_new_impl(unsigned long)",
                             "51-byte (i32)->i32: `n = max(size, 1); loop { p = malloc 39(n); if p or no new_handler (i32.load 38304) break; call_indirect handler }; return p`"),
                            (48, "wrapper_free", "operator delete(void*) / deleting destructors folded by ICF",
                             "6-byte (i32)->(): `call 34 (free)(p)` only; no direct callers, 39 table slots")],
                     notes="No realloc/calloc/memalign: the only (i32,i32)->i32 / (i32,i32,i32)->i32 callers of malloc 39 and free 34 are "
                           "embind/std::string marshalling helpers."),
    "blake3": dict(heap="malloc-like", notes="Emscripten C with name section; exports minified (h=malloc, o=free)."),
    "webp-enc": dict(heap="malloc-like",
                     alloc=[(25, "malloc", "dlmalloc (export z)", "webp_enc.js: `_malloc=function(){return(_malloc=Module[\"asm\"][\"z\"])`"),
                            (23, "free", "dlfree (export A)", "webp_enc.js: `Module[\"asm\"][\"A\"]`"),
                            (42, "calloc", "dlcalloc", "dlcore.py"),
                            (28, "operator_new", "operator new(unsigned long) (operator_new_impl inlined)",
                             "54-byte (i32)->i32: `n = max(size, 1); loop { p = malloc 25(n); if p return p; h = i32.load 44560 (new_handler); if !h break; call_indirect h }; "
                             "call 6 (import a.g = _abort)`"),
                            (64, "wrapper_free", "operator delete(void*) / deleting destructors folded by ICF",
                             "6-byte (i32)->(): `call 23 (free)(p)` only; no direct callers, 5 table slots")],
                     notes="No realloc or memalign: no (i32,i32)->i32 function calls both malloc 25 and free 23."),
    "avif-dec": dict(heap="malloc-like",
                     alloc=[(36, "malloc", "dlmalloc (export I)", "avif_dec.js: `_malloc=a0=>(_malloc=wasmExports[\"I\"])(a0)`"),
                            (32, "free", "dlfree (export J)", "avif_dec.js"), (292, "realloc", "dlrealloc", "dlcore.py"),
                            (106, "wrapper_free", "operator delete(void*) / deleting destructors folded by ICF",
                             "6-byte (i32)->(): `call 32 (free)(p)` only; no direct callers, 4 table slots")],
                     notalloc=[(297, "func 297 (libaom-style frame-buffer getter)",
                                "(i32,i32,i32)->i32 table callback: frees a pooled buffer via its stored base (ptr-4) and allocates malloc(size+11) "
                                "aligned to 8 with the base stored at ptr-4, then memsets; returns a status code, not a block")],
                     notes="No calloc or memalign entry points found: no other (i32,i32)->i32 caller of malloc 36 has the calloc/memalign shape."),
    "avif-enc-mt": dict(heap="malloc-like",
                        alloc=[(56, "malloc", "dlmalloc (export ga)", "avif_enc_mt.js glue"), (55, "free", "dlfree (export ha)", "avif_enc_mt.js glue"),
                               (314, "realloc", "dlrealloc", "dlcore.py"), (126, "calloc", "dlcalloc", "dlcore.py")],
                        notes="Shared memory (pthreads): expected refusal."),
    "mozjpeg-enc": dict(heap="malloc-like",
                        alloc=[(34, "malloc", "dlmalloc (export F)", "mozjpeg_enc.js: `_malloc=a0=>(_malloc=wasmExports[\"F\"])(a0)`"),
                               (33, "free", "dlfree (export G)", "mozjpeg_enc.js"), (111, "realloc", "dlrealloc", "dlcore.py"),
                               (30, "operator_new", "operator new(unsigned long) (operator_new_impl inlined)",
                                "71-byte (i32)->i32: `n = max(size, 1); loop { p = malloc 34(n); if p break; h = i32.load 85720 (new_handler); if !h { p = 0; break }; "
                                "call_indirect h }; if !p call 61 -> 97 -> import a.o = _abort`; 4 callers"),
                               (59, "wrapper_free", "operator delete(void*) / deleting destructors folded by ICF",
                                "6-byte (i32)->(): `call 33 (free)(p)` only; no direct callers, 4 table slots")],
                        notes="No calloc or memalign: the other callers of malloc 34 with allocator-like signatures (45, 65) are libjpeg's "
                              "pool allocators (alloc_small/alloc_large, MAX_ALLOC_CHUNK 1000000001 checks), not entry points."),
    "zxing-reader": dict(heap="malloc-like",
                         alloc=[(90, "malloc", "dlmalloc (export ta)", "dist/cjs/reader/index.js: `on=i._malloc=e.ta`"),
                                (70, "free", "dlfree (export ua)", "`sn=i._free=e.ua`"), (174, "realloc", "dlrealloc", "dlcore.py"),
                                (71, "operator_new", "operator new(unsigned long)",
                                 "46-byte (i32)->i32: `p = malloc 90(max(size, 1)); if !p { e = __cxa_allocate_exception 74(4); *e = 194564 (bad_alloc vtable); "
                                 "__cxa_throw (import 17)(e, 194660, 34) }`; 114 callers"),
                                (495, "operator_new", "operator new[](unsigned long)", "6-byte (i32)->i32: `call 71 (operator new)(size)` only; 1 table slot"),
                                (84, "wrapper_free", "operator delete(void*) / deleting destructors folded by ICF",
                                 "6-byte (i32)->(): `call 70 (free)(p)` only; no direct callers, 42 table slots")],
                         notalloc=[(317, "embind std::string toWireType", "(i32,i32)->i32 that mallocs len+4, stores len and copies the string: "
                                    "a length-prefixed string, not an allocation API")],
                         notes="No calloc or memalign entry points found (only realloc 174 besides malloc/free)."),
    "clang-format": dict(heap="malloc-like",
                         alloc=[(93, "malloc", "dlmalloc (export ca)", "clang-format.js: `_malloc = wasmExports[\"ca\"]`"),
                                (53, "free", "dlfree (export da)", "clang-format.js: `_free = wasmExports[\"da\"]`"),
                                (371, "realloc", "dlrealloc", "dlcore.py"), (669, "calloc", "dlcalloc", "dlcore.py"),
                                (1592, "operator_new_aligned", "operator new(size_t, align_val_t) impl (aligned_alloc/posix_memalign/internal_memalign inlined)",
                                 "(size, align)->ptr, NOT memalign(align, size): `align = max(align, 4); n = max(size, 1)`; loop: rounds n up to a multiple of align, "
                                 "align == 8 -> malloc 93(n), else the inlined posix_memalign checks and internal_memalign (malloc 93 + dispose_chunk 856, "
                                 "returns chunk+8); retries through the new_handler at 1209680. Callers: 164 (LLVM allocate_buffer: calls 225 with 'Buffer allocation failed' on null) "
                                 "and 1593 (operator new(size, align_val_t), aborts on null). The block is round_up(size, align) bytes."),
                                (58, "operator_new", "operator new(unsigned long)",
                                 "18-byte (i32)->i32: `p = call 542 (operator_new_impl)(size); if !p call 1075 -> 67 -> 674 -> import a.R = __abort_js`; 167 callers"),
                                (542, "wrapper_malloc", "operator_new_impl(unsigned long)",
                                 "52-byte (i32)->i32: `n = max(size, 1); loop { p = malloc 93(n); if p or no new_handler (i32.load 1209680) break; call_indirect handler }; return p`"),
                                (78, "wrapper_free", "operator delete(void*) / deleting destructors folded by ICF",
                                 "6-byte (i32)->(): `call 53 (free)(p)` only; no direct callers, 88 table slots")],
                         notalloc=[(856, "dispose_chunk", "dlmalloc internal")],
                         notes="dlcore.py's 'memalign' pick (1592) turned out to be aligned operator new with everything inlined: its parameters are "
                               "(size, align). There is no separate internal_memalign/posix_memalign/aligned_alloc."),
    "ffmpeg": dict(heap="malloc-like",
                   alloc=[(167, "malloc", "dlmalloc (export ta)", "ffmpeg-core.js: `_malloc=Module[\"_malloc\"]=...Module[\"asm\"][\"sa\"/\"ta\"]`; export ta, 5.4 KB"),
                          (75, "free", "dlfree (not exported)", "most-called (i32)->() of 1-2.5 KB (713 callers), no calls, shares dlmalloc state addresses 14542088.. with malloc"),
                          (236, "realloc", "dlrealloc", "dlcore.py"), (159, "calloc", "dlcalloc", "dlcore.py"),
                          (5949, "memalign", "internal_memalign", "dlcore.py; export Ba (3079, emscripten_builtin_memalign) forwards to it"),
                          (3079, "memalign", "emscripten_builtin_memalign (export Ba)", "calls malloc or internal_memalign"),
                          (628, "posix_memalign", "posix_memalign",
                           "(i32,i32,i32)->i32, 109 bytes: align == 8 -> malloc 167(size); else returns 28 (EINVAL) unless align is a power-of-two multiple of 4, "
                           "48 (ENOMEM) if size > -64 - align, else internal_memalign 5949(max(align, 16), size); stores the block through param 0 and returns 0; "
                           "16 callers (av_malloc and friends)"),
                          (154, "operator_new", "operator new(unsigned long) (operator_new_impl inlined)",
                           "56-byte (i32)->i32: `n = max(size, 1); loop { p = malloc 167(n); if p return p; h = i32.load 14542596 (new_handler); if !h break; "
                           "call_indirect h }; call 0 (import a.a = _abort)`; 44 callers"),
                          (280, "wrapper_free", "operator delete(void*) / deleting destructors folded by ICF",
                           "6-byte (i32)->(): `call 75 (free)(p)` only; no direct callers, 79 table slots")],
                   notalloc=[(3078, "dispose_chunk", "dlmalloc internal"),
                             (288, "vpx_calloc-like aligned calloc (func 288)",
                              "(n, size)->ptr that calls malloc 167(n*size + 11), rounds the result up to 8, stores the malloc pointer at ptr-4 and memsets n*size: "
                              "returns a pointer 4..11 bytes past a hidden header (its free, func 136, frees *(ptr-4)); libvpx's vpx_calloc shape "
                              "(2147418112 size limit, 8-byte DEFAULT_ALIGNMENT). Hooking it as calloc(n, size) misplaces the block."),
                             (136, "vpx_free-like (func 136)", "(i32)->(): `if p free 75(*(p-4))`: frees the header pointer of func 288's blocks, not p")],
                   notes="free is not exported and the glue never calls _free: a finder must locate dlfree from the code."),
    "tfjs": dict(heap="malloc-like",
                 alloc=[(554, "malloc", "malloc (emmalloc)", "export name; 9 bytes: calls emmalloc_memalign 552 with the default alignment"),
                        (556, "free", "free (emmalloc)", "export name; 7 bytes: forwards to emmalloc_free 555"),
                        (552, "memalign", "emmalloc_memalign", "(align, size); calls attempt_allocate 553 and claim_more_memory 551"),
                        (555, "free", "emmalloc_free", "338-byte body behind free")],
                 notalloc=[(551, "claim_more_memory", "emmalloc internal: sbrk-based heap growth, (i32)->i32"),
                           (553, "attempt_allocate", "emmalloc internal (i32,i32,i32)->i32")],
                 notes="emmalloc (-sMALLOC=emmalloc), not dlmalloc: the exported malloc is a 9-byte forwarder. No plain realloc/calloc: "
                       "the only resize path is func 312, a table-only (context, ptr, size)->ptr callback (the shape of XNNPACK's default reallocate) with "
                       "emmalloc_realloc inlined (size 0 frees via 555, null ptr -> emmalloc_memalign 552(8, size), otherwise in-place region resize "
                       "or memalign 552 + memcpy 510 + free 555); its in-place path changes a block's size without calling a hooked function. "
                       "Its siblings 311 (context, size) and 314 (context, align, size) only forward size to malloc 554."),
    "tfjs-threaded": dict(heap="malloc-like",
                          alloc=[(646, "malloc", "malloc (emmalloc)", "export name; forwards to 644"), (648, "free", "free (emmalloc)", "export name"),
                                 (644, "memalign", "emmalloc_memalign", "calls attempt_allocate 645 / claim_more_memory 643")],
                          notes="Shared memory (pthreads): expected refusal. emmalloc with locks."),
    "ort": dict(heap="malloc-like",
                alloc=[(232, "malloc", "dlmalloc (export Db)", "ort-wasm-simd-threaded.mjs: `Oc=h._malloc=c.Db`"),
                       (101, "free", "dlfree (export Cb)", "`Nc=h._free=c.Cb`"), (697, "realloc", "dlrealloc", "dlcore.py"),
                       (4767, "memalign", "internal_memalign", "dlcore.py")],
                notalloc=[(2354, "dispose_chunk", "dlmalloc internal")],
                notes="Shared memory (pthreads): expected refusal. The asyncify/jsep/jspi variants in the same tarball are also threaded."),
    "tree-sitter": dict(heap="malloc-like",
                        alloc=[(34, "malloc", "malloc", "export name"), (51, "free", "free", "export name"),
                               (94, "realloc", "realloc", "export name"), (42, "calloc", "calloc", "export name")],
                        notalloc=[(168, "_emscripten_stack_alloc", "stack allocator")],
                        notes="MAIN_MODULE=2 (dylink.0, imports env.memory): grammar side modules allocate through these exports."),
    "tree-sitter-debug": dict(heap="malloc-like"),
    "libsodium": dict(heap="malloc-like",
                      alloc=[(276, "malloc", "dlmalloc (export Ee)", "libsodium.js: `C._malloc=A.Ee,C._free=A.Fe` (the glue block that matches this module's exports)"),
                             (199, "free", "dlfree (export Fe)", "libsodium.js: `C._free=A.Fe`; shares dlmalloc state addresses with malloc")],
                      notes="Module is a base64 string inside dist/modules/libsodium.js. The file has two glue copies with different minified names "
                            "(`g._malloc=A.Fe,g._free=A.Ge` is the other one); only Ee/Fe match this module's signatures."),
    "quickjs": dict(heap="malloc-like",
                    alloc=[(150, "malloc", "dlmalloc (export v)", "emscripten-module.cjs: `c._malloc=b.v`"),
                           (142, "free", "dlfree (export M)", "emscripten-module.cjs: `c._free=b.M`"),
                           (775, "realloc", "dlrealloc", "dlcore.py")],
                    notes="QuickJS's own JS heap sits on top of this malloc (js_def_malloc calls malloc)."),
    "esbuild": dict(heap="gc-runtime", alloc=[],
                    notalloc=[(1541, "runtime.growMemory-like (func 1541)", "the only function that executes memory.grow (Go runtime page allocator)")],
                    notes="Go (GOOS=js): garbage-collected heap, no malloc/free. Every Go function has the signature (i32)->i32 "
                          "(stack-pointer in, pause-flag out), so a shape-based finder sees thousands of 'malloc-shaped' functions; "
                          "the right answer is to refuse."),
    "gofmt": dict(heap="gc-runtime",
                  alloc=[(506, "export_alloc", "alloc (main.alloc#wasmexport)", "export name; the JS wrapper allocates its input buffer with it, freed by dispose()")],
                  notalloc=[(507, "dispose (main.dispose#wasmexport)", "()->(): drops the buffer references, not free(ptr)")],
                  notes="TinyGo 0.40.1, GC heap (runtime.alloc); no free. Ground truth is 'gc-runtime': hooking runtime.alloc as malloc without a free would report everything as leaked."),
    "sh-syntax": dict(heap="gc-runtime",
                      notes="TinyGo 0.42 js/wasm target: exported malloc/free/calloc/realloc (`malloc.command_export` etc.) are TinyGo's "
                            "libc shims over the GC heap (allocations are kept alive in a map until free). runtime.alloc is the GC allocator."),
    "as-sha256": dict(heap="none",
                      notalloc=[(10, "__alloc (stub runtime, func 10)", "AssemblyScript stub-runtime bump allocator; only called from the start/init function 22, never freed"),
                                (9, "func 9", "(i32,i32)->i32 that executes memory.grow for the bump allocator")],
                      notes="AssemblyScript with --runtime stub: static buffers only, no allocation API exported."),
    "rabin": dict(heap="gc-runtime",
                  alloc=[(10, "gc_alloc", "__alloc", "export name (AssemblyScript 0.1x ARC runtime: __alloc(size, id))")],
                  notalloc=[(11, "__retain", "(i32)->i32 refcount increment, not an allocator"),
                            (12, "__release", "(i32)->() refcount decrement: frees only when the count reaches zero — free-shaped but not free"),
                            (51, "__collect", "cycle collector entry")],
                  notes="AssemblyScript ARC runtime (pre-0.18): managed heap with reference counting."),
    "md4w-small": dict(heap="malloc-like",
                       alloc=[(86, "malloc", "malloc", "export name (md4w's C shim over Zig's allocator)"),
                              (89, "free", "free", "export name"), (88, "realloc", "realloc", "export name"),
                              (74, "zig_alloc", "heap.WasmAllocator.alloc", "same signature (i32,i32,i32,i32)->i32 and role as md4w-fast's named heap.WasmAllocator.alloc; calls the memory.grow function 81"),
                              (73, "zig_resize", "heap.WasmAllocator.resize", "(i32 x6)->i32, called by realloc; matches md4w-fast's named resize"),
                              (65, "zig_free", "heap.WasmAllocator.free", "(i32 x5)->(), called by free; matches md4w-fast's named free")],
                       notalloc=[(81, "heap.WasmAllocator.allocBigPages-like", "(i32)->i32 that executes memory.grow")],
                       notes="Zig WasmAllocator reached through the std.mem.Allocator vtable (call_indirect) as well as directly."),
    "md4w-fast": dict(heap="malloc-like", notes="Zig WasmAllocator; malloc/free/realloc are md4w's exported C shims."),
    "ghostty": dict(heap="malloc-like",
                    alloc=[(474, "export_alloc", "ghostty_wasm_alloc_u8_array", "export name; ghostty-web.js allocates its buffers through ghostty_wasm_alloc_*"),
                           (475, "export_free", "ghostty_wasm_free_u8_array", "export name"),
                           (472, "export_alloc", "ghostty_wasm_alloc_opaque", "export name"), (473, "export_free", "ghostty_wasm_free_opaque", "export name"),
                           (96, "zig_alloc", "heap.WasmAllocator.alloc (vtable)", "(i32,i32,i32,i32)->i32 that calls the memory.grow function 569, same shape as md4w's named heap.WasmAllocator.alloc")],
                    notalloc=[(569, "WasmAllocator big-page grow", "(i32)->i32 that executes memory.grow"),
                              (141, "ghostty_terminal_free", "object destructor export (i32)->(), frees many blocks — not the allocator's free"),
                              (2, "ghostty_key_event_free", "object destructor export (i32)->()")],
                    notes="Zig, stripped; there is no malloc/free at all: the JS allocates through per-type ghostty_wasm_alloc_*/free_* exports. "
                          "Zig's resize/free vtable functions were not pinned down (only reached through call_indirect)."),
    "flite": dict(heap="malloc-like", notes="wasi-sdk (clang 13) wasi-libc dlmalloc: malloc/free/calloc are 10-byte forwarders to dlmalloc/dlfree."),
    "yosys": dict(heap="malloc-like",
                  alloc=[(17901, "malloc", "malloc (wasi-libc forwarder)", "10-byte (i32)->i32 that only calls 17902; 5122 callers; layout identical to flite's named malloc->dlmalloc"),
                         (17902, "malloc", "dlmalloc", "5.4 KB (i32)->i32; reaches memory.grow (17973, sbrk)"),
                         (17904, "free", "free (wasi-libc forwarder)", "10-byte forwarder to 17905; 2843 callers"),
                         (17905, "free", "dlfree", "most-called 1-2.5 KB (i32)->() sharing the dlmalloc state address 13636504 with dlmalloc"),
                         (17906, "calloc", "calloc", "dlcore.py (0xffff overflow check)"),
                         (17907, "realloc", "realloc", "dlcore.py (calls malloc and free, MAX_REQUEST check)"),
                         (17895, "operator_new", "operator new(unsigned long)",
                          "84-byte (i32)->i32: `n = max(size, 1); loop { p = malloc 17901(n); if p return p; h = std::get_new_handler 17854(); if !h break; "
                          "call_indirect h }; call 17868('bad_alloc was thrown in -fno-exceptions mode', 0)` (libc++abi abort_message, unreachable); 2479 callers"),
                         (17897, "operator_new", "operator new[](unsigned long)", "10-byte (i32)->i32 forwarder to operator new 17895; 45 callers"),
                         (17898, "operator_delete", "operator delete(void*)", "10-byte (i32)->() forwarder to free 17904; 5140 callers")],
                  notalloc=[(17973, "sbrk", "executes memory.grow for dlmalloc")],
                  notes="wasi-sdk C++ (WASI command, only _start and memory exported). Only 2 exports: a finder has nothing but code shape. "
                        "No memalign/posix_memalign/aligned_alloc: dlmalloc 17902 has only 3 callers (malloc 17901, calloc 17906, realloc 17907)."),
    "oxc-parser": dict(heap="malloc-like",
                       alloc=[(1158, "malloc", "__wrap_malloc", "export name (wasm-ld --wrap=malloc; the wrapped allocator was not identified)"),
                              (1406, "free", "__wrap_free", "export name"), (1038, "calloc", "__wrap_calloc", "export name"),
                              (1154, "realloc", "__wrap_realloc", "export name"), (1153, "aligned_alloc", "__wrap_aligned_alloc", "export name"),
                              (1113, "posix_memalign", "__wrap_posix_memalign", "export name"),
                              (1157, "malloc", "__wrap___libc_malloc", "export name"), (1405, "free", "__wrap___libc_free", "export name"),
                              (1037, "calloc", "__wrap___libc_calloc", "export name")],
                       notalloc=[(1354, "__wrap_sbrk", "heap growth"), (1415, "__wrap_malloc_usable_size", "query, not allocation")],
                       notes="Shared memory (wasm32-wasip1-threads): expected refusal. Allocator exports are `__wrap_*` names."),
    "hash-wasm-md5": dict(heap="none", alloc=[], notes="Static buffers only (Hash_GetBuffer returns a fixed address); no allocator."),
    "xxhash": dict(heap="none", alloc=[], notes="Hand-written; 10 functions, no allocator, no memory.grow."),
}


def sig(m, f):
    return m.sig(f)


def build(mid, row):
    path = os.path.join(CACHE, "modules", mid + ".wasm")
    data = open(path, "rb").read()
    m = names.Module(data)
    man = MANUAL.get(mid, {})
    mem = m.memories[0] if m.memories else {}
    out = dict(id=mid, package=row["package"], version=row["version"], file=row["path_in_tarball"],
               sha256=hashlib.sha256(data).hexdigest(), bytes=len(data), toolchain=row["toolchain"],
               names="name section" if m.has_name_section and len(m.names) > 10 else "stripped",
               shared_memory=bool(mem.get("shared")), memory64=bool(mem.get("memory64")),
               heap=man.get("heap", "malloc-like"), allocator=[], not_allocator=[], notes="")
    if m.has_name_section and len(m.names) <= 10:
        out["names"] = "stripped"
    seen = set()
    if out["names"] == "name section":
        for i, n in sorted(m.names.items()):
            r = role_of(n)
            if r:
                out["allocator"].append(dict(func=i, role=r, name=n, signature=sig(m, i),
                                             evidence="name section" + ("; export " + ",".join(m.export_names[i]) if i in m.export_names else "")))
                seen.add(i)
        for i, n in sorted(m.names.items()):
            if i in seen:
                continue
            w = not_why(n)
            if w:
                out["not_allocator"].append(dict(func=i, name=n, signature=sig(m, i), why=w))
    for f, role, nm, ev in man.get("alloc", []):
        if f in seen and out["names"] == "name section":
            continue
        out["allocator"].append(dict(func=f, role=role, name=nm, signature=sig(m, f), evidence=ev))
        seen.add(f)
    nseen = {d["func"] for d in out["not_allocator"]}
    for f, nm, why in man.get("notalloc", []):
        if f not in nseen:
            out["not_allocator"].append(dict(func=f, name=nm, signature=sig(m, f), why=why))
    # stack allocator exports are always worth listing
    for n, k, i in m.exports:
        if k == 0 and re.search(r"stack_alloc|stackAlloc", n) and i not in nseen and i not in {d["func"] for d in out["not_allocator"]}:
            out["not_allocator"].append(dict(func=i, name="export " + n, signature=sig(m, i), why="stack allocator for the JS glue"))
    out["notes"] = man.get("notes", "")
    if out["shared_memory"]:
        out["notes"] = ("Shared memory: expected to be refused. " + out["notes"]).strip() if "expected refusal" not in out["notes"] else out["notes"]
    return out


def main():
    rows = []
    with open(os.path.join(here, "packages.tsv")) as fh:
        hdr = fh.readline().rstrip("\n").split("\t")
        for line in fh:
            if line.strip():
                rows.append(dict(zip(hdr, line.rstrip("\n").split("\t"))))
    mods = {}
    for row in rows:
        mods[row["id"]] = build(row["id"], row)
    doc = dict(
        about="Ground truth for scripts/validate: allocator entry points of published npm wasm modules. Function indices "
              "count imported functions first (wasm-objdump -x numbering). Generated by build_truth.py from the modules "
              "fetched by fetch.sh plus the manual conclusions recorded in build_truth.py (MANUAL).",
        modules=mods)
    json.dump(doc, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
