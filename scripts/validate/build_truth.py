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
                        "26-byte (i32)->i32: `r = call 713 (malloc)(size); if r == 0 { call 16157(8, size) (handle_alloc_error, unreachable) }; return r`; 2 callers")]
                      + [(f, "wrapper_memalign", "alloc(Layout{align, size}) or handle_alloc_error: (align, size) (func %d)" % f,
                          "26-byte (i32,i32)->i32: `r = call 713 (malloc)(size = param 1); if r == 0 { call 16157(align = param 0, size) "
                          "(handle_alloc_error, unreachable) }; return r`; one of 10 identical copies (15327, 15339, 15340, 15353, 15356, 15360, "
                          "15364, 15365, 15371, 15375; 15360 has 23 callers). The block is `size` bytes; found when swc-web (same code, 1.16.18) was added")
                         for f in (15327, 15339, 15340, 15353, 15356, 15360, 15364, 15365, 15371, 15375)],
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
                        (100, "operator_delete", "_ZdlPvm", "export name"),
                        (1980, "operator_new_aligned", "_ZnwmSt11align_val_t|_ZnamSt11align_val_t (mimalloc mi_new_aligned)",
                         "export names; 112-byte (size, align)->ptr: `p = 1559 (mi_malloc_aligned)(size, align)`; on NULL loops over the new_handler "
                         "(i32.atomic.load 3329656, call_indirect) or aborts"),
                        (4897, "memalign", "emscripten_builtin_memalign",
                         "export name; 9 bytes: `call 1558(align, size)`, which swaps to mi_malloc_aligned 1559(size, align)"),
                        (4898, "posix_memalign", "posix_memalign",
                         "export name; 11-byte forwarder to 1984 (mi_posix_memalign: EINVAL 28 checks, 1559(size, align), stores through param 0)"),
                        (4901, "operator_new", "_ZnwmRKSt9nothrow_t (mimalloc mi_new_nothrow)",
                         "export name; 113 bytes: inlined mi_heap_malloc_small fast path (size <= 512: pops the page free list) else "
                         "_mi_malloc_generic 534(heap, size, 0, 0), else mi_try_new 2877(heap, size, nothrow=1); the nothrow_t argument is ignored"),
                        (4902, "operator_delete", "_ZdlPvmSt11align_val_t (mimalloc mi_free_size_aligned)",
                         "export name; 21 bytes, same body as _ZdlPvm 100: `if size <= 512 call 2878 (small-page free)(p) else call 108 (free)(p)`; align ignored"),
                        # not hooked by wasmleak (internal targets of the exported forwarders, called directly by program code):
                        (1558, "memalign", "mi_memalign / aligned_alloc (align, size)",
                         "9 bytes: `call 1559(size, align)`; callers 4897, 249 (__cxa_allocate_exception), 1583, 4996 (_emscripten_tls_init)"),
                        (1984, "posix_memalign", "mi_posix_memalign", "57 bytes: EINVAL 28 checks, 1559(size, align), stores through param 0; callers 4898, 3992, 8035"),
                 ],
                 notalloc=[(135, "vips_malloc", "libvips wrapper over malloc (g_malloc-style)")],
                 notes="Shared memory (pthreads): discovery reads it; check does not track threads yet. Allocator is mimalloc (emscripten -sMALLOC=mimalloc), not dlmalloc/emmalloc: malloc calls a 4-argument (i32,i32,i32,i32)->i32 generic path (func 534), the shape of _mi_malloc_generic(heap, size, zero, huge_alignment). "
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
                         (4600, "memalign", "emscripten_builtin_memalign (export tb)", "glue: `_emscripten_builtin_memalign=wasmExports[\"tb\"]`"),
                         (139, "wrapper_free", "operator delete(void*) / deleting destructors folded by ICF",
                          "6-byte (i32)->(): `call 116 (free)(p)` only; no direct callers, 470 table slots"),
                         # not hooked by wasmleak:
                         (2125, "posix_memalign", "posix_memalign",
                          "(i32,i32,i32)->i32, 104 bytes, same body as ort's 2364: align == 8 -> malloc 196(size); EINVAL 28 / ENOMEM 48 checks; "
                          "else internal_memalign 7479(max(align, 16), size); stores through param 0; 6 callers (12575 asks for align 16)"),
                  ],
                  notalloc=[(12378, "_emscripten_stack_alloc (export Fb)", "stack allocator")],
                  notes="Shared memory (pthreads): discovery reads it; check does not track threads yet. dlmalloc with USE_LOCKS."),
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
                               (314, "realloc", "dlrealloc", "dlcore.py"), (126, "calloc", "dlcalloc", "dlcore.py"),
                               (443, "wrapper_free", "operator delete(void*) / deleting destructors folded by ICF",
                                "6-byte (i32)->(): `call 55 (free)(p)` only; no direct callers, 4 table slots (vtable deleting destructors); "
                                "the only forwarder to free 55 in the module"),
                        ],
                        notes="Shared memory (pthreads): discovery reads it; check does not track threads yet."),
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
                        (555, "free", "emmalloc_free", "338-byte body behind free"),
                        (480, "wrapper_free", "operator delete (func 480)", "body is only `local.get 0; call 556 (free)`"),
                        (565, "operator_new", "operator new (func 565)",
                         "max(size, 1), malloc 554 in a loop that calls the new_handler (call_indirect of the word at 26800) while it is set, else calls import 0 (abort): libc++'s operator new")],
                 notalloc=[(551, "claim_more_memory", "emmalloc internal: sbrk-based heap growth, (i32)->i32"),
                           (553, "attempt_allocate", "emmalloc internal (i32,i32,i32)->i32")],
                 notes="emmalloc (-sMALLOC=emmalloc), not dlmalloc: the exported malloc is a 9-byte forwarder. No plain realloc/calloc: "
                       "the only resize path is func 312, a table-only (context, ptr, size)->ptr callback (the shape of XNNPACK's default reallocate) with "
                       "emmalloc_realloc inlined (size 0 frees via 555, null ptr -> emmalloc_memalign 552(8, size), otherwise in-place region resize "
                       "or memalign 552 + memcpy 510 + free 555); its in-place path changes a block's size without calling a hooked function. "
                       "Its siblings 311 (context, size) and 314 (context, align, size) only forward size to malloc 554."),
    "tfjs-threaded": dict(heap="malloc-like",
                          alloc=[(646, "malloc", "malloc (emmalloc)", "export name; forwards to 644"), (648, "free", "free (export)", "export name; a 3-instruction forwarder to 647 that nothing in the module calls"),
                                 (647, "free", "emmalloc_free", "what export `free` 648 forwards to; the frees of the program's own code (hundreds of callers) go here"),
                                 (644, "memalign", "emmalloc_memalign", "calls attempt_allocate 645 / claim_more_memory 643"),
                                 (649, "realloc", "emmalloc_realloc", "806-byte (ptr, size)->ptr: memalign 644, free 647, memcpy 588; callers 326 (a 9-byte wrapper) and 593"),
                                 (650, "posix_memalign", "posix_memalign", "40-byte (ptr*, align, size)->errno over memalign 644")],
                          notes="Shared memory (pthreads). emmalloc with locks. Hooking only the export `free` 648 misses every free of the program's own code (they call 647)."),
    "ort": dict(heap="malloc-like",
                alloc=[(232, "malloc", "dlmalloc (export Db)", "ort-wasm-simd-threaded.mjs: `Oc=h._malloc=c.Db`"),
                       (101, "free", "dlfree (export Cb)", "`Nc=h._free=c.Cb`"), (697, "realloc", "dlrealloc", "dlcore.py"),
                       (4767, "memalign", "internal_memalign", "dlcore.py"),
                       (103, "wrapper_free", "operator delete(void*) (also the ICF-folded deleting destructors)",
                        "6-byte (i32)->(): `call 101 (free)(p)` only; 3488 direct call sites (libc++ std::string teardown "
                        "`if (s[11] < 0) call 103(*s)`) and 4013 table slots"),
                       (2364, "posix_memalign", "posix_memalign",
                        "(i32,i32,i32)->i32, 105 bytes: align == 8 -> malloc 232(size); else returns 28 (EINVAL) unless align is a power-of-two multiple of 4, "
                        "48 (ENOMEM) if size > -64 - align, else internal_memalign 4767(max(align, 16), size); stores the block through param 0 and returns 0; "
                        "same body as ffmpeg's 628; 4 callers (4956 aligned_alloc-like, 6541/6542 ask for 64-aligned scratch)"),
                       (4786, "memalign", "emscripten_builtin_memalign / dlmemalign (not exported)",
                        "23-byte (align, size)->ptr: `if align <= 8 return malloc 232(size); return internal_memalign 4767(align, size)`; "
                        "callers: 11736 (export Eb, run at start by the glue `Lc.push(I.Eb)`: allocates 648 bytes aligned 64, TLS init) "
                        "and 2815 (__mmap); same body as sharp's export tb (4600)"),
                ],
                notalloc=[(2354, "dispose_chunk", "dlmalloc internal")],
                notes="Shared memory (pthreads): discovery reads it; check does not track threads yet. The asyncify/jsep/jspi variants in the same tarball are also threaded."),
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
    "md4w-fast": dict(heap="malloc-like", notes="Zig WasmAllocator; malloc/free/realloc are md4w's exported C shims. "
                      "`render` has WasmAllocator.free inlined (its `defer allocator.free(...)`, size class known at run time): "
                      "half of its frees go past every hookable function (a tool must refuse it)."),
    "ghostty": dict(heap="malloc-like",
                    alloc=[(474, "export_alloc", "ghostty_wasm_alloc_u8_array", "export name; ghostty-web.js allocates its buffers through ghostty_wasm_alloc_*"),
                           (475, "export_free", "ghostty_wasm_free_u8_array", "export name"),
                           (472, "export_alloc", "ghostty_wasm_alloc_opaque", "export name"), (473, "export_free", "ghostty_wasm_free_opaque", "export name"),
                           (96, "zig_alloc", "heap.WasmAllocator.alloc (vtable)", "(i32,i32,i32,i32)->i32 that calls the memory.grow function 569, same shape as md4w's named heap.WasmAllocator.alloc"),
                           (570, "zig_resize", "heap.WasmAllocator.resize (vtable slot 1)", "the std.mem.Allocator vtable at 0x107b24 is table indices 1,2,3,4 = funcs 96,570,571,98 (alloc, resize, remap, free: Zig 0.14+ order); (i32 x6)->i32"),
                           (571, "zig_remap", "heap.WasmAllocator.remap (vtable slot 2)", "same vtable; (i32 x6)->i32"),
                           (98, "zig_free", "heap.WasmAllocator.free (vtable slot 3)", "same vtable; (i32 x5)->()")],
                    notalloc=[(569, "WasmAllocator big-page grow", "(i32)->i32 that executes memory.grow"),
                              (141, "ghostty_terminal_free", "object destructor export (i32)->(), frees many blocks — not the allocator's free"),
                              (2, "ghostty_key_event_free", "object destructor export (i32)->()")],
                    notes="Zig, stripped; there is no malloc/free at all: the JS allocates through per-type ghostty_wasm_alloc_*/free_* exports, "
                          "which call Zig's heap directly; the core reaches it through its std.mem.Allocator vtable (static words at 0x107b24)."),
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
                              (1037, "calloc", "__wrap___libc_calloc", "export name"),
                              (107, "malloc", "dlmalloc (wasi-libc; under napi-rs's --wrap=malloc heap-sync wrappers)",
                               "5962-byte (i32)->i32; grows memory through __wrap_sbrk 1354; callers: 2266 (real malloc), 289 (realloc), 1558 (calloc), "
                               "1999 (aligned_alloc), 603 (internal_memalign), 1512 (posix_memalign)"),
                              (2266, "malloc", "malloc (wasi-libc forwarder = __real_malloc)",
                               "6-byte forwarder to dlmalloc 107; its only callers are __wrap_malloc 1158 and __wrap___libc_malloc 1157"),
                              (2267, "free", "free (wasi-libc forwarder = __real_free)",
                               "7-byte forwarder to dlfree 216; its only callers are __wrap_free 1406 and __wrap___libc_free 1405"),
                              (289, "realloc", "dlrealloc",
                               "(ptr, size)->ptr, 1246 bytes: `if !ptr return dlmalloc 107(size)`; size >= -64 -> errno 48; in-place resize or "
                               "107 + copy + dlfree 216; only caller __wrap_realloc 1154"),
                              (1558, "calloc", "dlcalloc",
                               "104 bytes: n*size with the 65536 overflow check, dlmalloc 107, memory.fill unless the chunk needs no clearing; "
                               "callers __wrap_calloc 1038 / __wrap___libc_calloc 1037"),
                              (1999, "aligned_alloc", "aligned_alloc / dlmemalign",
                               "24-byte (align, size)->ptr: `if align <= 16 return dlmalloc 107(size); return internal_memalign 603(align, size)`; "
                               "only caller __wrap_aligned_alloc 1153"),
                              (2269, "malloc", "malloc (export)",
                               "export name `malloc`; 7-byte forwarder to __wrap_malloc 1158 (the export emnapi's JS runtime allocates through)"),
                              (2270, "free", "free (export)", "export name `free`; 7-byte forwarder to __wrap_free 1406"),
                              # not hooked by wasmleak:
                              (216, "free", "dlfree", "1762 bytes; callers: real free 2267 and dlrealloc 289 only; shares dlmalloc state with 107"),
                              (1512, "posix_memalign", "dlposix_memalign",
                               "113 bytes: align == 16 -> dlmalloc 107(size); EINVAL 28 / ENOMEM 48 checks; else internal_memalign 603(max(align, 16), size); "
                               "only caller __wrap_posix_memalign 1113 (which Rust's System alloc 1657 calls when align > 8 or align > size)"),
                              (603, "memalign", "internal_memalign",
                               "(align, size)->ptr, 539 bytes: calls dlmalloc 107 and 237 (dispose_chunk-shaped (i32,i32)->()); callers 1512, 1999"),
                       ],
                       notalloc=[(1354, "__wrap_sbrk", "heap growth"), (1415, "__wrap_malloc_usable_size", "query, not allocation")],
                       notes="Shared memory (wasm32-wasip1-threads): discovery reads it; check does not track threads yet. Allocator exports are `__wrap_*` names."),
    "hash-wasm-md5": dict(heap="none", alloc=[], notes="Static buffers only (Hash_GetBuffer returns a fixed address); no allocator."),
    "xxhash": dict(heap="none", alloc=[], notes="Hand-written; 10 functions, no allocator, no memory.grow."),
}


# ------------------------------------------------------------------------------------------------------
# Modules added in the second round (Emscripten embind/WebIDL builds, more Rust wasm-bindgen, wee_alloc, AssemblyScript
# incremental runtime, Go, Zig, wasi-sdk reactors). Same method: glue.py for the glue-facing exports, dlcore.py and the
# callers of malloc/free (every function of <= 120 bytes that calls them, and every (i32,i32)->i32 / (i32,i32,i32)->i32
# caller) for the rest.
# ------------------------------------------------------------------------------------------------------
def _opnew(f, mal, size, handler, abort, callers):
    return (f, "operator_new", "operator new(unsigned long) (operator_new_impl inlined)",
            "%d-byte (i32)->i32: `n = max(size, 1); loop { p = malloc %d(n); if p return p; h = i32.load %d (new_handler); if !h break; "
            "call_indirect h }; %s`; %d callers" % (size, mal, handler, abort, callers))


def _wfree(f, fre, size, slots, callers=0):
    return (f, "wrapper_free", "operator delete(void*) / deleting destructors folded by ICF",
            "%d-byte (i32)->(): `call %d (free)(p)` only; %s, %d table slots" % (size, fre, "no direct callers" if not callers else "%d direct callers" % callers, slots))


MANUAL.update({
    "avif-enc": dict(heap="malloc-like",
                     alloc=[(44, "malloc", "dlmalloc (export S)", "avif_enc.js: `var _malloc=a0=>(_malloc=wasmExports[\"S\"])(a0)`; 5.2 KB"),
                            (42, "free", "dlfree (export T)", "avif_enc.js: `var _free=a0=>(_free=wasmExports[\"T\"])(a0)`; shares dlmalloc state 617348.. with malloc"),
                            (373, "realloc", "dlrealloc", "dlcore.py (calls malloc and free, -64 MAX_REQUEST check); 1037 bytes"),
                            (109, "calloc", "dlcalloc", "dlcore.py (0xffff overflow check); 90 bytes"),
                            (507, "operator_new", "operator new(unsigned long) (operator_new_impl inlined)",
                             "72-byte (i32)->i32: `n = max(size, 1); loop { p = malloc 44(n); if p break; h = i32.load 923164 (new_handler); if !h { p = 0; break }; "
                             "call_indirect h }; if !p { call 457 (abort path); unreachable }`; 3 callers"),
                            _wfree(408, 42, 6, 4)],
                     notalloc=[(1327, "aom_memalign-like (func 1327)", "(align, size)->ptr that mallocs size + align + header and stores the malloc pointer "
                                "before the aligned block (libaom's aom_memalign, 2147418101 size limit): hooking it as memalign misplaces the block"),
                               (509, "std::string destructor", "(i32)->(): frees the heap buffer of a long std::string (`if (s[11] & 0x80) free(*s)`), not free(p)"),
                               (1515, "embind __getTypeName-like export R", "(i32)->i32 strdup of a type name (malloc(strlen+1) + memcpy); the JS frees it with _free")],
                     notes="Single-thread AVIF encoder (libaom + libavif), Emscripten with the arrow-function lazy glue. No memalign/posix_memalign: "
                           "libaom's aligned allocations keep their own header (func 1327)."),
    "webp-dec": dict(heap="malloc-like",
                     alloc=[(22, "malloc", "dlmalloc (export u)", "webp_dec.js: `var _malloc=function(){return(_malloc=Module[\"asm\"][\"u\"]).apply(null,arguments)}`"),
                            (18, "free", "dlfree (export v)", "webp_dec.js: `_free=Module[\"asm\"][\"v\"]`; shares dlmalloc state 11680.. with malloc"),
                            (30, "calloc", "dlcalloc", "dlcore.py (0xffff overflow check)"),
                            _opnew(56, 22, 54, 12628, "call 9 (import a.j = abort); unreachable", 1),
                            _wfree(37, 18, 6, 4)],
                     notalloc=[(54, "deleting destructor of a refcounted-string exception", "(i32)->(): runs the destructor 51 then frees p: a destructor, not free"),
                               (51, "libc++ refcounted string destructor", "(i32)->i32: drops a reference count and frees the string block ptr-12 at zero")],
                     notes="No realloc or memalign: dlcore.py finds neither, and no (i32,i32)->i32 calls both malloc 22 and free 18."),
    "jxl-dec": dict(heap="malloc-like",
                    alloc=[(45, "malloc", "dlmalloc (export y)", "jxl_dec.js: `_malloc=Module[\"asm\"][\"y\"]`"),
                           (22, "free", "dlfree (export z)", "jxl_dec.js: `_free=Module[\"asm\"][\"z\"]`; shares dlmalloc state 167296.. with malloc"),
                           _opnew(24, 45, 54, 178084, "call 0 (import a.a = abort); unreachable", 74),
                           _wfree(35, 22, 6, 49)],
                    notalloc=[(294, "JxlMemoryManager alloc callback (opaque, size)", "(i32,i32)->i32 table-only: `malloc 45(param 1)`; the first parameter is the "
                               "opaque pointer, so hooking it as malloc(size) reads the wrong argument"),
                              (295, "JxlMemoryManager free callback (opaque, ptr)", "(i32,i32)->() table-only: `free 22(param 1)`; param 0 is the opaque pointer")],
                    notes="No realloc, calloc or memalign entry points (dlcore.py finds none)."),
    "jxl-enc": dict(heap="malloc-like",
                    alloc=[(52, "malloc", "dlmalloc (export H)", "jxl_enc.js: `_malloc=Module[\"asm\"][\"H\"]`"),
                           (31, "free", "dlfree (export I)", "jxl_enc.js: `_free=Module[\"asm\"][\"I\"]`; shares dlmalloc state 76656.. with malloc"),
                           (379, "realloc", "dlrealloc", "dlcore.py; 1029 bytes"),
                           _opnew(33, 52, 54, 90672, "call 0 (import a.a = abort); unreachable", 160),
                           _wfree(44, 31, 6, 75)],
                    notalloc=[(560, "std::allocator<T>::allocate(n) for 4-byte T", "(i32)->i32: `if n >= 2^30 throw length_error; operator new 33(n * 4)`: the block is 4n bytes"),
                              (634, "malloc(size + 80) + 80 (func 634)", "(i32)->i32 allocating with an 80-byte header before the returned pointer (libjxl's CacheAligned-style header)")],
                    notes="Single-thread JPEG XL encoder. No calloc/memalign entry points found."),
    "mozjpeg-dec": dict(heap="malloc-like",
                        alloc=[(31, "malloc", "dlmalloc (export D)", "mozjpeg_dec.js: `var _malloc=a0=>(_malloc=wasmExports[\"D\"])(a0)`"),
                               (34, "free", "dlfree (export E)", "mozjpeg_dec.js: `_free=wasmExports[\"E\"]`; shares dlmalloc state 11828.. with malloc"),
                               (99, "realloc", "dlrealloc", "dlcore.py; 1035 bytes"),
                               (49, "operator_new", "operator new(unsigned long) (operator_new_impl inlined)",
                                "71-byte (i32)->i32: `n = max(size, 1); loop { p = malloc 31(n); if p break; h = i32.load 13224 (new_handler); if !h { p = 0; break }; "
                                "call_indirect h }; if !p abort`; 3 callers; same body as mozjpeg-enc's func 30"),
                               _wfree(50, 34, 6, 4)],
                        notalloc=[(69, "deleting destructor (func 69)", "(i32)->(): destructor 93 then free(p)"),
                                  (180, "embind __getTypeName-like export C", "(i32)->i32 strdup of a type name")],
                        notes="No calloc or memalign."),
    "zxing-writer": dict(heap="malloc-like",
                         alloc=[(73, "malloc", "dlmalloc (export la)", "dist/cjs/writer/index.js: `Ht=i._malloc=e.la`"),
                                (61, "free", "dlfree (export ka)", "`X=i._free=e.ka`; shares dlmalloc state 245236.. with malloc"),
                                (85, "realloc", "dlrealloc", "dlcore.py; 1044 bytes"), (129, "calloc", "dlcalloc", "dlcore.py"),
                                (81, "operator_new", "operator new(unsigned long)",
                                 "46-byte (i32)->i32: `p = malloc 73(max(size, 1)); if !p { e = __cxa_allocate_exception 79(4); *e = 244640 (bad_alloc vtable); "
                                 "__cxa_throw (import a.m)(e, 244736, 62) }`; 24 callers; same shape as zxing-reader's func 71"),
                                _wfree(119, 61, 6, 8)],
                         notalloc=[(164, "deleting destructor (func 164)", "(i32)->(): destructor 251 then free(p)")],
                         notes="Writer-only build of zxing-cpp; no memalign."),
    "yoga": dict(heap="malloc-like",
                 alloc=[(97, "malloc", "malloc (emmalloc, emmalloc_memalign inlined; export I)",
                         "yoga-wasm-base64-esm.js: `Ib=h._malloc=function(){return(Ib=h._malloc=h.asm.I).apply(null,arguments)}`; 546 bytes, calls "
                         "attempt_allocate 99 and claim_more_memory 100 (which calls import a.w = emscripten_resize_heap)"),
                        (35, "free", "free (emmalloc_free; export K)", "`S=h._free=function(){return(S=h._free=h.asm.K)...}`; 332 bytes"),
                        (30, "operator_new", "operator new(unsigned long) (operator_new_impl inlined)",
                         "51-byte (i32)->i32: `n = size ? size : 1; loop { p = malloc 97(n); if p return p; h = i32.load 8712 (new_handler); if !h break; "
                         "call_indirect h }; call 2 (import a.c = abort)`; 24 callers"),
                        (39, "operator_delete", "operator delete(void*)", "6-byte (i32)->(): `call 35 (free)(p)` only; 2 direct callers")],
                 notalloc=[(99, "attempt_allocate", "emmalloc internal (i32,i32,i32)->i32 (region list walk)"),
                           (162, "YGConfigNew-like constructor (func 162)", "(i32,i32)->i32 that calls operator new 30(520) and initialises a yoga object; "
                            "traps (abort path) when called with a size"),
                           (100, "claim_more_memory", "emmalloc internal (i32)->i32: grows the heap through emscripten_resize_heap")],
                 notes="-sMALLOC=emmalloc, not dlmalloc: malloc is a 546-byte body with no memory.grow (the heap grows through the "
                       "emscripten_resize_heap import); the heap is first set up by __wasm_call_ctors (export F calls claim_more_memory 100). "
                       "No realloc/calloc/memalign. Module is base64 in dist/binaries/yoga-wasm-base64-esm.js."),
    "draco-dec": dict(heap="malloc-like",
                      alloc=[(86, "malloc", "dlmalloc (export k)", "draco_decoder_nodejs.js: `c._malloc=e.k`"),
                             (5, "free", "dlfree (export i)", "draco_decoder_nodejs.js: `c._free=e.i`"),
                             (382, "malloc", "webidl_malloc (export j)", "`c._webidl_malloc=e.j`; 6-byte (i32)->i32 forwarder to malloc 86; the WebIDL glue allocates its temp buffers with it"),
                             (27, "wrapper_free", "webidl_free (export h) / operator delete(void*) folded by ICF",
                              "`c._webidl_free=e.h`; 6-byte (i32)->(): `call 5 (free)(p)` only; 13 table slots"),
                             (132, "wrapper_free", "VoidPtr-style __destroy__ binding (exports l, o, t)", "11-byte (i32)->(): `if (p) free 5(p)`, i.e. free(p)"),
                             _opnew(6, 86, 60, 17344, "if !p { call 60 (abort path); unreachable }", 125)],
                      notalloc=[(117, "malloc(size + 80) + 80 (func 117)", "(i32)->i32 with an 80-byte header before the returned pointer"),
                                (120, "std::string-like buffer allocator (func 120)", "(i32,i32)->(): allocates round_up(len, 8) + 8 with operator new and stores it in an object"),
                                (48, "object destructor exports (fa, ja, na, ...)", "(i32)->(): frees a member buffer, then the object")],
                      notes="Emscripten WebIDL binder (not embind). No realloc/calloc/memalign (dlcore.py finds none)."),
    "box2d": dict(heap="malloc-like",
                  alloc=[(22, "malloc", "dlmalloc (export Xu)", "Box2D.js: `a._malloc=function(){return(a._malloc=a.asm.Xu).apply(null,arguments)}`; 6 KB"),
                         (21, "free", "dlfree (export Yu)", "Box2D.js: `a._free=function(){return(a._free=a.asm.Yu)...}`; shares dlmalloc state 17040.. with malloc"),
                         (19, "operator_new", "operator new(unsigned long)", "18-byte (i32)->i32: `p = malloc 22(size); if !p { call 13 (import a.n = abort); unreachable }`; 44 callers"),
                         _wfree(23, 21, 6, 30),
                         (20, "wrapper_free", "`__destroy__` binding of trivially destructible types (export P and ~40 others)", "11-byte (i32)->(): `if (p) free 21(p)`, i.e. free(p)")],
                  notalloc=[(67, "b2BlockAllocator::Free(p, size)", "(this, p, size)->(): frees p with free 21 only above 640 bytes, else pushes it on a size-class free list"),
                            (63, "b2BlockAllocator::Allocate(size)", "(this, size)->ptr: carves blocks out of malloc'd chunks; the blocks are not malloc blocks")],
                  notes="Emscripten WebIDL binder. Box2D's b2BlockAllocator sits on top of malloc (small objects never reach malloc/free one by one). "
                        "No realloc/calloc/memalign."),
    "libheif": dict(heap="malloc-like",
                    alloc=[(95, "malloc", "dlmalloc (export Na)", "libheif.js: `Ur=t._malloc=a.Na`"),
                           (42, "free", "dlfree (export Z)", "libheif.js: `X=t._free=a.Z`; shares dlmalloc state 136376.. with malloc"),
                           (432, "realloc", "dlrealloc", "dlcore.py; 1026 bytes"),
                           (431, "posix_memalign", "dlposix_memalign",
                            "(i32,i32,i32)->i32, 290 lines of wat: `if align == 8: p = malloc 95(size)`, else 28 (EINVAL) for a bad "
                            "alignment, dlmemalign inlined (chunk split, `call 430` for the remainder), 48 (ENOMEM) when "
                            "null, else `*param0 = p; return 0`; 4 callers (found in session 20, the table had missed it)"),
                           (45, "operator_new", "operator new(unsigned long)", "18-byte (i32)->i32: `p = call 733 (operator_new_impl)(size); if !p call 162 (abort path)`; 584 callers"),
                           (733, "wrapper_malloc", "operator_new_impl(unsigned long)",
                            "51-byte (i32)->i32: `n = max(size, 1); loop { p = malloc 95(n); if p or no new_handler (i32.load 140988) break; call_indirect handler }; return p`"),
                           _wfree(51, 42, 6, 266),
                           (103, "wrapper_free", "`if (p) free(p)` (func 103)", "11-byte (i32)->(): `if (p) free 42(p)`; 22 callers, 2 table slots"),
                           (234, "operator_delete", "std::__libcpp_deallocate(p, align)", "19-byte (i32,i32)->(): `if (align > 8) free 42(p) else free 42(p)`: "
                            "aligned and plain operator delete both inlined to free; 9 callers")],
                    notalloc=[(338, "malloc(size + 80) + 80 (func 338)", "(i32)->i32 with an 80-byte header before the returned pointer"),
                              (1834, "embind __getTypeName-like", "strdup of a type name")],
                    notes="libheif with libde265/aom decoders; no calloc entry point; posix_memalign with dlmemalign inlined."),
    "harfbuzz": dict(heap="malloc-like",
                     alloc=[(29, "malloc", "dlmalloc (export malloc)", "export name; harfbuzz.js: `_malloc = wasmExports[\"malloc\"]`"),
                            (6, "free", "dlfree (export free)", "export name"),
                            (58, "realloc", "dlrealloc", "dlcore.py; 1037 bytes"), (10, "calloc", "dlcalloc", "dlcore.py; 49 callers (hb_calloc)"),
                            _wfree(233, 6, 6, 4)],
                     notalloc=[(1036, "_emscripten_stack_alloc", "stack allocator")],
                     notes="harfbuzzjs: Emscripten with wasi_snapshot_preview1 imports and unminified exports; HarfBuzz's hb_malloc/hb_free are inlined "
                           "to malloc/free. No operator new (no C++ heap objects outside hb_object)."),
    "opencv": dict(heap="malloc-like",
                   alloc=[(11613, "malloc", "dlmalloc (export malloc)", "export name; opencv.js: `Module[\"_malloc\"]=function(){return Module[\"asm\"][\"malloc\"].apply(...)}`; 6.1 KB"),
                          (11614, "free", "dlfree (export free)", "export name"),
                          (11615, "realloc", "dlrealloc (try_realloc_chunk out of line)",
                           "(i32,i32)->i32, 135 bytes: -64 MAX_REQUEST check, try_realloc_chunk 11616 in place, else malloc 11613 + memcpy + free 11614; 6 callers"),
                          (11171, "operator_new", "operator new(unsigned long) (-fno-exceptions: returns null)",
                           "51-byte (i32)->i32: `n = size ? size : 1; loop { p = malloc 11613(n); if p break; h = i32.load 1304596 (new_handler); if !h break; "
                           "call_indirect h }; return p`; 2780 callers"),
                          (1228, "wrapper_free", "operator delete(void*) / deleting destructors folded by ICF", "7-byte (i32)->(): `call 11614 (free)(p)` only; no direct callers, 784 table slots")],
                   notalloc=[(11616, "try_realloc_chunk", "dlmalloc internal, called only by dlrealloc 11615"),
                             (10336, "zlib zcalloc (opaque, items, size)", "(i32,i32,i32)->i32 table-only: `malloc(items * size)`; param 0 is zlib's opaque pointer"),
                             (11638, "export stackAlloc", "stack allocator")],
                   notes="@techstark/opencv-js ships upstream opencv.js (Emscripten ~2.0, embind) with the module base64-embedded; it imports env.memory. "
                         "cv::fastMalloc adds its own alignment header on top of malloc (not an entry point). No calloc/memalign entry points found."),
    "opencv-wasm": dict(heap="malloc-like",
                        alloc=[(10454, "malloc", "dlmalloc (export _malloc)", "export name; opencv.js: `var _malloc = Module[\"_malloc\"] = asm[\"_malloc\"]`; 7.3 KB"),
                               (10455, "free", "dlfree (export _free)", "export name"),
                               (10456, "realloc", "dlrealloc (try_realloc_chunk out of line)",
                                "(i32,i32)->i32, 136 bytes: `bytes > -65` MAX_REQUEST check (asm2wasm form), try_realloc_chunk 10457, else malloc + memcpy + free; 6 callers"),
                               (9971, "operator_new", "operator new(unsigned long) (fastcomp libc++, -fno-exceptions)",
                                "26-byte (i32)->i32: `p = malloc 10454(size ? size : 1); return p ? p : 0`; 2407 callers"),
                               (1223, "wrapper_free", "operator delete(void*) / deleting destructors folded", "7-byte (i32)->(): `call 10455 (free)(p)` only; no direct callers, 702 table slots")],
                        notalloc=[(10457, "try_realloc_chunk", "dlmalloc internal, called only by dlrealloc 10456"),
                                  (9386, "zlib zcalloc (opaque, items, size)", "(i32,i32,i32)->i32 table-only: `malloc(items * size)`"),
                                  (9516, "musl fdopen-like (func 9516)", "(fd, mode)->FILE*: fcntl/ioctl syscalls (imports ___syscall221/___syscall54), "
                                   "malloc 10454 of the FILE plus its 1024-byte buffer and memset: not calloc(n, size)"),
                                  (543, "C++ thunk (func 543; also 553, 579, 1639, 1642)", "11-byte (i32,i32,i32)->() table-only forwarders to 355-568 byte "
                                   "C++ methods (4057, 4852, 4251, 1649, 1646) that call no allocator: not __rust_dealloc-shaped entry points")],
                        notes="Emscripten fastcomp (asm2wasm) build: exports keep the C names with a leading underscore (_malloc, _free), imports env.memory "
                              "and the asm2wasm/global modules."),
    "mediapipe": dict(heap="malloc-like",
                      alloc=[(324, "malloc", "dlmalloc (export fe)", "vision_wasm_internal.js: `_malloc = Module[\"_malloc\"] = wasmExports[\"fe\"]`"),
                             (235, "free", "dlfree (export ee)", "`_free = Module[\"_free\"] = wasmExports[\"ee\"]`; shares dlmalloc state 2172536.. with malloc"),
                             (1290, "realloc", "dlrealloc", "dlcore.py; 1064 bytes, -64 check, calls malloc, free, dispose_chunk 2984"),
                             (856, "calloc", "dlcalloc", "dlcore.py"),
                             (6615, "memalign", "internal_memalign", "dlcore.py: calls malloc and dispose_chunk 2984, not free"),
                             (3981, "memalign", "emscripten_builtin_memalign (exports gg, hg = _memalign)",
                              "glue: `_memalign = wasmExports[\"hg\"]`; 23 bytes: `align <= 8 ? malloc 324(size) : internal_memalign 6615(align, size)`"),
                             (1817, "posix_memalign", "posix_memalign",
                              "(i32,i32,i32)->i32, 105 bytes: align == 8 -> malloc 324(size); EINVAL (28) unless align is a power-of-two multiple of 4; "
                              "ENOMEM (48) if size > -64 - align; else internal_memalign 6615(max(align, 16), size); stores through param 0; 7 callers"),
                             (236, "operator_new", "operator new(unsigned long)", "19-byte (i32)->i32: `p = call 1370 (operator_new_impl)(size); if !p { call 241; unreachable }`; 3717 callers"),
                             (1370, "wrapper_malloc", "operator_new_impl(unsigned long)",
                              "53-byte (i32)->i32: `n = max(size, 1); loop { p = malloc 324(n); if p or no new_handler (i32.load 2177244) break; call_indirect handler }; return p`"),
                             (243, "wrapper_free", "operator delete(void*) / deleting destructors folded by ICF", "7-byte (i32)->(): `call 235 (free)(p)` only; no direct callers, 1369 table slots")],
                      notalloc=[(2984, "dispose_chunk", "dlmalloc internal"),
                                (3479, "std::allocator<T*>::allocate(n)", "(i32)->i32: `operator new 236(n * 4)` after a length check: the block is 4n bytes"),
                                (396, "BumpPointerAllocator::allocate (demangler arena)", "(this, size)->ptr carving 16-byte-aligned pieces out of 4 KB malloc'd blocks"),
                                (7900, "zlib zcalloc (opaque, items, size)", "(i32,i32,i32)->i32 table-only: `malloc(items * size)`"),
                                (8299, "(opaque, size) allocation callback", "(i32,i32)->i32 table-only: `malloc 324(param 1)`"),
                                (9724, "(opaque, size, ...) allocation callback", "(i32,i32,i32)->i32 table-only: `malloc 324(param 1)`"),
                                (9423, "func 9423 (dlcore.py false positive)", "18.9 KB (i32,i32)->i32 starting with -64 (a stack frame size), not dlrealloc"),
                                (14484, "func 14484 (dlcore.py false positive)", "1.7 KB (i32,i32)->i32 starting with -64 (stack frame), C++ code using operator new/delete"),
                                (16055, "func 16055 (dlcore.py false positive)", "1.1 KB (i32,i32)->i32 starting with -64 (stack frame), not dlrealloc")],
                      notes="MediaPipe tasks-vision (SIMD build, no pthreads). 13 MB, 18636 functions; exports minified."),
    "re2": dict(heap="malloc-like",
                alloc=[(5372, "malloc", "dlmalloc (export malloc)", "export name; re2.js (an ASSERTIONS build): `var _malloc = Module[\"_malloc\"] = createExportWrapper(\"malloc\", asm)`; 6.2 KB"),
                       (5373, "free", "dlfree (export free)", "export name; re2.js: `var _free = Module[\"_free\"] = createExportWrapper(\"free\", asm)`"),
                       (5374, "realloc", "dlrealloc (try_realloc_chunk out of line)",
                        "(i32,i32)->i32, 140 bytes: -64 MAX_REQUEST check first, try_realloc_chunk 5375, else malloc 5372 + memcpy 5385 + free 5373; 4 callers"),
                       (5259, "operator_new", "operator new(unsigned long) (operator_new_impl inlined)",
                        "51-byte (i32)->i32: `n = size ? size : 1; loop { p = malloc 5372(n); if p return p; h = std::get_new_handler 5326(); if !h break; "
                        "call_indirect h }; call 14 (import env.abort)`; 59 callers"),
                       (5260, "operator_new", "operator new[](unsigned long)", "7-byte (i32)->i32 forwarder to operator new 5259; 10 callers"),
                       (5261, "operator_delete", "operator delete(void*)", "7-byte (i32)->(): `call 5373 (free)(p)`; 75 callers"),
                       (5262, "operator_delete", "operator delete[](void*)", "7-byte (i32)->(): `call 5373 (free)(p)`; 13 callers"),
                       (5329, "wrapper_free", "deleting destructor folded into free", "7-byte (i32)->(): `call 5373 (free)(p)` only; 1 table slot, no direct callers")],
                notalloc=[(5375, "try_realloc_chunk", "dlmalloc internal, called only by dlrealloc 5374"),
                          (5399, "export stackAlloc", "stack allocator")],
                notes="Emscripten ~2.0 (no ICF: operator new/delete stay separate functions). Imports env.memory. No calloc/memalign."),
    "markdown-wasm": dict(heap="malloc-like",
                          alloc=[(93, "realloc", "wrealloc (export d)", "markdown.node.js: `U=n._wrealloc=function(){return(U=n._wrealloc=n.asm.d)...}`; "
                                  "8-byte (i32,i32)->i32: `call 5 (realloc)(p, size)`; the JS allocates with wrealloc(0, size)"),
                                 (91, "wrapper_free", "wfree (export e)", "`L=n._wfree=...n.asm.e`; 6-byte (i32)->(): `call 3 (free)(p)`"),
                                 (5, "realloc", "dlrealloc", "dlcore.py; 1032 bytes, -64 check, calls malloc 7 and free 3"),
                                 (7, "malloc", "dlmalloc (not exported)", "the large (i32)->i32 (5.8 KB) that wrealloc reaches through realloc 5 and that calls sbrk 12; "
                                  "shares dlmalloc state 7532.. with free 3"),
                                 (3, "free", "dlfree (not exported)", "wfree forwards to it; 1575 bytes")],
                          notalloc=[(12, "sbrk", "grows the heap for dlmalloc")],
                          notes="No malloc or free export: the package exports its own wrealloc/wfree and allocates with wrealloc(NULL, n)."),
    "nostr-secp256k1": dict(heap="malloc-like",
                            alloc=[(26, "malloc", "dlmalloc (export i)", "secp256k1.js: `_malloc=wasmExports[\"i\"]`"),
                                   (42, "free", "dlfree (export j)", "secp256k1.js: `_free=wasmExports[\"j\"]`; shares dlmalloc state 36172.. with malloc")],
                            notes="libsecp256k1 with the Emscripten arrow glue; C only, no realloc/calloc/memalign (malloc's only other caller is context creation)."),
    "rapier2d": dict(heap="malloc-like",
                     alloc=[(2217, "wbindgen_malloc", "__wbindgen_export3", "rapier_wasm2d_bg.js: passArray*ToWasm0(arg, wasm.__wbindgen_export3)"),
                            (2402, "wbindgen_free", "__wbindgen_export2", "rapier_wasm2d_bg.js: `wasm.__wbindgen_export2(r0, r1 * 4, 4)` after getArray*FromWasm0"),
                            (2535, "rdl_alloc", "__rust_alloc/__rdl_alloc", "26-byte (size, align): `align >= 9 ? memalign 764(align, size) : malloc 82(size)`; 359 callers"),
                            (2536, "rdl_alloc_zeroed", "__rdl_alloc_zeroed", "64-byte (size, align): __rdl_alloc then memory.fill 0 unless the chunk is fresh from the system; 25 callers"),
                            (82, "malloc", "<dlmalloc::Dlmalloc>::malloc", WBG_CHAIN.format(exp="__wbindgen_export3", core=82)),
                            (474, "free", "<dlmalloc::Dlmalloc>::free", "reached from __wbindgen_export2 through 2514; 807 bytes"),
                            (764, "memalign", "<dlmalloc::Dlmalloc>::memalign", "(align, size): calls malloc 82 and dispose_chunk 678"),
                            (2514, "rust_dealloc", "__rdl_dealloc (size-checked)", "(ptr, size, align)->(): checks the dlmalloc chunk size against size then free 474; 442 callers"),
                            (2457, "rdl_realloc", "__rdl_realloc (dlrealloc inlined)", "(ptr, old_size, align, new_size)->ptr, 895 bytes, 41 callers: in-place chunk resize, "
                             "else memalign 764/malloc 82 + copy + free 474")],
                     notalloc=[(2470, "__wbindgen_export", "(i32)->() export used as `wasm.__wbindgen_export(addHeapObject(e))` = __wbindgen_exn_store"),
                               (1891, "export reserve_memory", "(i32)->(): Vec::with_capacity(n) then drop: allocates and frees, not an allocation API"),
                               (678, "dispose_chunk", "dlmalloc internal")],
                     notes="wasm-bindgen 0.2.129 anonymises exports as __wbindgen_export, __wbindgen_export2, ...; no __wbindgen_realloc (the glue never grows a string)."),
    "oxipng": dict(heap="malloc-like",
                   alloc=[(164, "wbindgen_malloc", "__wbindgen_malloc", "export name"),
                          (233, "wbindgen_free", "__wbindgen_free", "export name; (ptr, len, align) -> 150"),
                          (4, "malloc", "<dlmalloc::Dlmalloc>::malloc", WBG_CHAIN.format(exp="__wbindgen_malloc", core=4)),
                          (34, "free", "<dlmalloc::Dlmalloc>::free", "reached through 150; 764 bytes"),
                          (55, "memalign", "<dlmalloc::Dlmalloc>::memalign", "(align, size): calls malloc 4 and dispose_chunk 48"),
                          (150, "rust_dealloc", "__rdl_dealloc (size-checked)", "(ptr, size)->(): asserts the chunk size then free 34; 40 callers"),
                          (24, "rdl_realloc", "__rdl_realloc (dlrealloc inlined)", "(ptr, old_size, align, new_size)->ptr, 857 bytes: calls malloc 4, free 34, memalign 55")],
                   notalloc=[(218, "C-side malloc shim with a size header (func 218)", "(i32)->i32 table-only: `p = malloc 4(size + 4); *p = size; return p + 4`: "
                              "the returned pointer is 4 bytes into the block"),
                             (223, "C-side free shim (func 223)", "(i32)->() table-only: `__rdl_dealloc 150(p - 4, *(p - 4) + 4)`: frees the block before p"),
                             (48, "dispose_chunk", "dlmalloc internal")],
                   notes="Rust + C (libdeflate) built with wasm-bindgen; single-thread build (codec/pkg). The C code allocates through the size-header "
                         "shims 218/223 (table callbacks), which sit on top of the Rust allocator."),
    "jsquash-resize": dict(heap="malloc-like",
                           alloc=[(33, "wbindgen_malloc", "__wbindgen_malloc", "export name"),
                                  (55, "wbindgen_free", "__wbindgen_free", "export name; 11 bytes -> free 7"),
                                  (1, "malloc", "<dlmalloc::Dlmalloc>::malloc", WBG_CHAIN.format(exp="__wbindgen_malloc", core=1)),
                                  (7, "free", "<dlmalloc::Dlmalloc>::free", "__wbindgen_free forwards to it"),
                                  (12, "memalign", "<dlmalloc::Dlmalloc>::memalign", "calls malloc 1 and dispose_chunk 11"),
                                  (6, "rdl_realloc", "__rdl_realloc (dlrealloc inlined)", "(ptr, old_size, align, new_size)->ptr, 703 bytes: calls malloc, free, memalign")],
                           notalloc=[(11, "dispose_chunk", "dlmalloc internal")],
                           notes="No imports at all; free-standing Rust resize crate."),
    "lol-html": dict(heap="malloc-like",
                     alloc=[(515, "wbindgen_malloc", "__wbindgen_malloc", "export name"),
                            (599, "wbindgen_free", "__wbindgen_free", "export name"),
                            (561, "wbindgen_realloc", "__wbindgen_realloc", "export name"),
                            (610, "rdl_alloc", "__rust_alloc/__rdl_alloc", "26-byte (size, align): align >= 9 ? memalign 242 : malloc 34; 80 callers"),
                            (496, "malloc", "alloc_zeroed(size) for align <= 8 (func 496)", "42-byte (i32)->i32: `p = malloc 34(size); if p and the chunk is not fresh memory, memset(p, 0, size)`"),
                            (34, "malloc", "<dlmalloc::Dlmalloc>::malloc", WBG_CHAIN.format(exp="__wbindgen_malloc", core=34)),
                            (153, "free", "<dlmalloc::Dlmalloc>::free", "reached through 623; 769 bytes"),
                            (242, "memalign", "<dlmalloc::Dlmalloc>::memalign", "calls malloc 34 and dispose_chunk 212"),
                            (623, "rust_dealloc", "__rdl_dealloc (size-checked)", "(ptr, size, align)->(): checks the chunk size then free 153; 187 callers"),
                            (597, "rdl_realloc", "__rdl_realloc (dlrealloc inlined)", "target of __wbindgen_realloc; 866 bytes; calls malloc, free, memalign")],
                     notalloc=[(212, "dispose_chunk", "dlmalloc internal"), (575, "Layout::is_size_align_valid", "(size, align)->bool, called by the wbindgen exports")]),
    "swc-web": dict(heap="malloc-like",
                    alloc=[(13469, "wbindgen_malloc", "__wbindgen_export_0", "wasm.js: passStringToWasm0(arg, wasm.__wbindgen_export_0, wasm.__wbindgen_export_1)"),
                           (14787, "wbindgen_realloc", "__wbindgen_export_1", "third argument of passStringToWasm0"),
                           (12758, "wbindgen_free", "__wbindgen_export_3", "wasm.js: `wasm.__wbindgen_export_3(deferred.., .., 1)`; calls free 3275"),
                           (717, "malloc", "<dlmalloc::Dlmalloc>::malloc", WBG_CHAIN.format(exp="__wbindgen_export_0", core=717)),
                           (3275, "free", "<dlmalloc::Dlmalloc>::free", "called by __wbindgen_export_3 and by __rdl_realloc 3711"),
                           (6983, "memalign", "<dlmalloc::Dlmalloc>::memalign", "(align, size): calls malloc 717 and dispose_chunk 4187"),
                           (3711, "rdl_realloc", "__rdl_realloc (dlrealloc inlined)", "target of __wbindgen_export_1; 903 bytes"),
                           (15341, "wrapper_malloc", "`malloc(size) or handle_alloc_error(8, size)`",
                            "26-byte (i32)->i32: `r = malloc 717(size); if !r { call 16123(8, size) (handle_alloc_error) }`; same as swc's 15374")]
                          + [(f, "wrapper_memalign", "alloc(Layout{align, size}) or handle_alloc_error: (align, size) (func %d)" % f,
                              "26-byte (i32,i32)->i32: `r = malloc 717(size = param 1); if !r { call 16123(align = param 0, size) (handle_alloc_error) }`; "
                              "one of 10 identical copies (15294, 15306, 15307, 15320, 15323, 15327, 15331, 15332, 15338, 15342)")
                             for f in (15294, 15306, 15307, 15320, 15323, 15327, 15331, 15332, 15338, 15342)],
                    notalloc=[(16071, "__wbindgen_export_2", "(i32)->() export used as `wasm.__wbindgen_export_2(addHeapObject(e))` = __wbindgen_exn_store"),
                              (4187, "dispose_chunk", "dlmalloc internal"), (7301, "unlink_chunk", "dlmalloc internal"),
                              (15334, "Box::new of a fixed 16-byte value", "(i32)->i32 whose parameter is the alignment passed to handle_alloc_error: `malloc(16) or error(param, 16)`")],
                    notes="Browser build of swc (1.16.18), same layout as @swc/wasm: name section with 2 names, anonymised exports. "
                          "Dozens of fixed-size `malloc(N) or handle_alloc_error` helpers (Box::new) are left out: their size is a constant."),
    "one-ini": dict(heap="malloc-like",
                    alloc=[(170, "wbindgen_malloc", "__wbindgen_malloc", "export name"),
                           (212, "wbindgen_free", "__wbindgen_free", "export name; -> 234"),
                           (178, "wbindgen_realloc", "__wbindgen_realloc", "export name; -> 226"),
                           (242, "rust_alloc", "__rust_alloc (wee_alloc)", "8-byte (size, align)->ptr: `call 89(align, size)`; 11 callers"),
                           (89, "memalign", "wee_alloc::WeeAlloc::alloc_impl (align, size)",
                            "179-byte (i32,i32)->i32, parameters (align, size): size 0 -> dangling; align <= 4 and size < 1 KB -> size-class free list, "
                            "else the first-fit list through alloc_with_refill 116 (refills pages through the vtable function 110 that executes memory.grow)"),
                           (234, "rust_dealloc", "__rust_dealloc (wee_alloc)", "10-byte (ptr, size, align)->(): `call 51(ptr, align, size)`; 7 callers"),
                           (51, "free", "wee_alloc::WeeAlloc::dealloc_impl (ptr, align, size)", "402-byte (i32,i32,i32)->(): returns the cell to its free list (merging neighbours)"),
                           (226, "rust_realloc", "__rust_realloc (GlobalAlloc::realloc default)", "50-byte (ptr, old_size, align, new_size)->ptr: "
                            "`q = alloc_impl 89(align, new); if q { memory.copy(q, ptr, min(old, new)); dealloc 51(ptr, align, old) }`")],
                    notalloc=[(110, "wee_alloc page allocator (vtable)", "(i32,i32,i32,i32)->() reached only through call_indirect: executes memory.grow"),
                              (116, "wee_alloc alloc_with_refill / first fit", "(i32 x5)->i32 internal of alloc_impl"),
                              (102, "wee_alloc AllocPolicy::new_cell_for_free_list (vtable)", "table-only (i32 x4)->()"),
                              (211, "__wbindgen_exn_store", "exception store export"),
                              (70, "__externref_table_alloc", "externref table slot allocator"), (114, "__externref_table_dealloc", "externref table slot free")],
                    notes="wee_alloc as #[global_allocator] (one-ini/core v0.2.1 src/lib.rs: `static ALLOC: wee_alloc::WeeAlloc = wee_alloc::WeeAlloc::INIT`). "
                          "No dlmalloc: no function of the module both allocates and executes memory.grow; the only memory.grow is in a vtable function with no direct callers."),
    "lz4-wasm": dict(heap="malloc-like",
                     alloc=[(52, "wbindgen_malloc", "__wbindgen_malloc", "export name; old 1-argument form (size)"),
                            (67, "wbindgen_free", "__wbindgen_free", "export name; old 2-argument form (ptr, len): `if len free 7(ptr)`"),
                            (71, "rust_alloc", "__rust_alloc", "8-byte (size, align) forwarder to 14"),
                            (14, "rdl_alloc", "__rdl_alloc (memalign inlined)", "(size, align): align >= 9 -> aligned path, else malloc 1; 363 bytes"),
                            (53, "rdl_alloc_zeroed", "__rdl_alloc_zeroed", "34-byte (size, align): __rdl_alloc 14 then memset unless the chunk is fresh"),
                            (66, "realloc", "__rust_realloc specialised to (ptr, new_size)", "8-byte (i32,i32)->i32 forwarder to Dlmalloc::realloc 10; called by compress/decompress"),
                            (10, "realloc", "<dlmalloc::Dlmalloc>::realloc (dlmalloc 0.1)", "(ptr, new_size)->ptr, 811 bytes: calls malloc 1, free 7, memcpy"),
                            (1, "malloc", "<dlmalloc::Dlmalloc>::malloc (dlmalloc 0.1)", "4 KB (i32)->i32; reaches memory.grow through 48 (sys::alloc)"),
                            (7, "free", "<dlmalloc::Dlmalloc>::free (dlmalloc 0.1)", "__wbindgen_free forwards to it; 882 bytes")],
                     notalloc=[(48, "dlmalloc::sys::alloc", "(i32,i32)->() that executes memory.grow")],
                     notes="wasm-bindgen 0.2.80 (rustc 1.60), dlmalloc 0.1 with its tiny chunk accessors out of line."),
    "pqc-kyber": dict(heap="malloc-like",
                      alloc=[(100, "wbindgen_malloc", "__wbindgen_malloc", "export name"),
                             (133, "wbindgen_free", "__wbindgen_free", "export name; 11 bytes: `if len free 38(ptr)`"),
                             (104, "wbindgen_realloc", "__wbindgen_realloc", "export name"),
                             (137, "rdl_alloc", "__rust_alloc/__rdl_alloc", "25-byte (size, align): align >= 9 ? memalign 52 : malloc 33; 12 callers"),
                             (33, "malloc", "<dlmalloc::Dlmalloc>::malloc", WBG_CHAIN.format(exp="__wbindgen_malloc", core=33)),
                             (38, "free", "<dlmalloc::Dlmalloc>::free", "__wbindgen_free forwards to it; 932 bytes"),
                             (52, "memalign", "<dlmalloc::Dlmalloc>::memalign", "calls malloc 33 and dispose_chunk 47"),
                             (132, "rdl_realloc", "__rdl_realloc (dlrealloc inlined)", "target of __wbindgen_realloc; 798 bytes")],
                      notalloc=[(47, "dispose_chunk", "dlmalloc internal"), (142, "__wbindgen_exn_store", "exception store export")],
                      notes="wasm-bindgen 0.2.87, opt-level s: dlmalloc's chunk accessors stay out of line (7-16 byte helpers)."),
    "svg2png": dict(heap="malloc-like",
                    alloc=[(1190, "wbindgen_malloc", "__wbindgen_malloc", "export name"),
                           (1326, "wbindgen_free", "__wbindgen_free", "export name; 12 bytes: `if len free 283(ptr)`"),
                           (1219, "wbindgen_realloc", "__wbindgen_realloc", "export name"),
                           (1343, "rdl_alloc", "__rust_alloc/__rdl_alloc", "26-byte (size, align): align >= 9 ? memalign 640 : malloc 74; 133 callers"),
                           (1344, "rdl_alloc_zeroed", "__rdl_alloc_zeroed", "56-byte (size, align): alloc then memset 1453 unless the chunk is fresh; 16 callers"),
                           (74, "malloc", "<dlmalloc::Dlmalloc>::malloc", WBG_CHAIN.format(exp="__wbindgen_malloc", core=74)),
                           (283, "free", "<dlmalloc::Dlmalloc>::free", "__wbindgen_free forwards to it; 271 callers"),
                           (640, "memalign", "<dlmalloc::Dlmalloc>::memalign", "calls malloc 74 and dispose_chunk 483"),
                           (1325, "rdl_realloc", "__rdl_realloc (dlrealloc inlined)", "target of __wbindgen_realloc; 812 bytes")],
                    notalloc=[(483, "dispose_chunk", "dlmalloc internal")],
                    notes="resvg-based SVG rasteriser, wasm-bindgen 0.2.87."),
    "rustbn": dict(heap="malloc-like",
                   alloc=[(79, "wbindgen_malloc", "__wbindgen_malloc", "export name"),
                          (93, "wbindgen_free", "__wbindgen_free", "export name; 11 bytes: `if len free 20(ptr)`"),
                          (85, "wbindgen_realloc", "__wbindgen_realloc", "export name"),
                          (9, "malloc", "<dlmalloc::Dlmalloc>::malloc", WBG_CHAIN.format(exp="__wbindgen_malloc", core=9)),
                          (20, "free", "<dlmalloc::Dlmalloc>::free", "__wbindgen_free forwards to it; 1539 bytes"),
                          (43, "memalign", "<dlmalloc::Dlmalloc>::memalign", "calls malloc 9 and dispose_chunk 25"),
                          (27, "rdl_realloc", "__rdl_realloc (dlrealloc inlined)", "target of __wbindgen_realloc; 1089 bytes")],
                   notalloc=[(25, "dispose_chunk", "dlmalloc internal")],
                   notes="Module base64-embedded in dist/cjs/wasm.js; no imports."),
    "rust-verkle": dict(heap="malloc-like",
                        notalloc=[(890, "<dlmalloc::sys::System as dlmalloc::Allocator>::free_part", "4-byte stub returning 0"),
                                  (891, "<dlmalloc::sys::System as dlmalloc::Allocator>::free", "4-byte (i32,i32,i32)->i32 stub returning 0: wasm memory is never returned")],
                        notes="Name section with legacy-mangled Rust names; wasm-bindgen 0.2.87."),
    "anan-as": dict(heap="gc-runtime",
                    alloc=[(13, "gc_alloc", "__new (export)", "export name: AssemblyScript incremental runtime `__new(size, id)`")],
                    notalloc=[(22, "__pin", "(i32)->i32: pins an object against collection, not an allocator"),
                              (23, "__unpin", "(i32)->(): unpins, free-shaped but not free"),
                              (24, "__collect", "full GC"), (7, "func 7", "(i32,i32)->i32 heap growth (executes memory.grow)")],
                    notes="AssemblyScript >= 0.20 incremental GC runtime (__new/__pin/__unpin/__collect): managed heap, no free."),
    "as-chacha": dict(heap="none",
                      notalloc=[(2, "__alloc (stub runtime)", "(i32,i32)->i32 bump allocator reached only from the start function 33 (static buffers)"),
                                (1, "func 1", "(i32)->() that executes memory.grow for the bump allocator")],
                      notes="AssemblyScript --runtime stub: buffers allocated once at start, no allocation API exported."),
    "webauthn4js": dict(heap="gc-runtime",
                        alloc=[(231, "gc_alloc", "runtime.mallocgc", "name section: the Go GC allocator (no free)")],
                        notalloc=[(1219, "runtime.growMemory", "executes memory.grow"), (322, "runtime.sbrk", "Go runtime page source")],
                        notes="Go 1.21 (GOOS=js GOARCH=wasm) with name section: every function is (i32)->i32; garbage-collected heap, expected refusal."),
    "evan-nacl": dict(heap="none", alloc=[],
                      notes="Zig std.crypto (ed25519, secretbox) with fixed buffers at 131072; the JS grows memory itself. No allocator, no memory.grow in the module."),
    "cwasm-webp": dict(heap="malloc-like",
                       alloc=[(3, "malloc", "malloc (wasi-libc forwarder, export)", "export name; 6-byte forwarder to dlmalloc 4"),
                              (4, "malloc", "dlmalloc", "6 KB (i32)->i32; reaches memory.grow through sbrk 8"),
                              (5, "free", "free (wasi-libc forwarder, export)", "export name; 6-byte forwarder to dlfree 6"),
                              (6, "free", "dlfree", "shares dlmalloc state 16928.. with dlmalloc"),
                              (7, "calloc", "calloc", "dlcore.py (0xffff overflow check)")],
                       notalloc=[(8, "sbrk", "executes memory.grow")],
                       notes="wasi-sdk C (libwebp decoder), imports only wasi_snapshot_preview1; exports neither _start nor _initialize; no realloc."),
    "cwasm-lodepng": dict(heap="malloc-like",
                          alloc=[(1, "malloc", "malloc (wasi-libc forwarder, export)", "export name; 6-byte forwarder to dlmalloc 2"),
                                 (2, "malloc", "dlmalloc", "6.4 KB (i32)->i32; reaches memory.grow through sbrk 7"),
                                 (3, "free", "free (wasi-libc forwarder, export)", "export name; 6-byte forwarder to dlfree 4"),
                                 (4, "free", "dlfree", "shares dlmalloc state 10104.. with dlmalloc"),
                                 (5, "realloc", "realloc (dlrealloc, try_realloc_chunk inlined)", "dlcore.py (calls malloc and free, -64 MAX_REQUEST check first); 2252 bytes")],
                          notalloc=[(7, "sbrk", "executes memory.grow")],
                          notes="wasi-sdk reactor (exports _initialize) with no imports at all."),
})


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
    if out["shared_memory"] and "Shared memory" not in out["notes"]:
        out["notes"] = ("Shared memory: discovery reads it; check does not track threads yet. " + out["notes"]).strip()
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
