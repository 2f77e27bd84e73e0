//! The edge-case fixtures (fixtures/edge/README.md: ground truth per module): modules that break naive
//! allocator discovery — no free linked, no malloc linked, `main` with realloc's signature, no stdio, one Rust
//! program at every opt-level with and without LTO —, invalid frees the allocator traps on, traps after a
//! finding, C++ members that leak, split debug info, and leak checkers' own test programs. Every module is
//! checked as built (names) and stripped of every custom section at test time: the same report, names aside.

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn edge(name: &str) -> PathBuf {
    fixture(&format!("edge/{name}.wasm"))
}

/// A copy of `module` without custom sections (name, DWARF, producers…): same code, same indices.
fn stripped(module: &Path) -> PathBuf {
    without_sections(module, "stripped", |_| false)
}

/// A copy of `module` without its DWARF (`.debug_*` sections), its name section kept: a release build's shape.
fn without_dwarf(module: &Path) -> PathBuf {
    without_sections(module, "nodwarf", |name| !name.starts_with(b".debug"))
}

/// A copy of `module` keeping the custom sections whose name `keep` accepts.
fn without_sections(module: &Path, suffix: &str, keep: fn(&[u8]) -> bool) -> PathBuf {
    let bytes = std::fs::read(module).unwrap();
    let leb = |mut p: usize| {
        let (mut v, mut shift) = (0usize, 0);
        loop {
            let b = bytes[p];
            v |= ((b & 0x7f) as usize) << shift;
            shift += 7;
            p += 1;
            if b & 0x80 == 0 {
                return (v, p);
            }
        }
    };
    let mut out = bytes[..8].to_vec();
    let mut at = 8;
    while at < bytes.len() {
        let id = bytes[at];
        let (size, p) = leb(at + 1);
        let name = || {
            let (n, q) = leb(p);
            &bytes[q..q + n]
        };
        if id != 0 || keep(name()) {
            out.extend_from_slice(&bytes[at..p + size]);
        }
        at = p + size;
    }
    let path = scratch(&format!("{}-{suffix}.wasm", module.file_stem().unwrap().to_string_lossy()));
    std::fs::write(&path, out).unwrap();
    path
}

/// What a module's report must say: exit status, per-kind totals (the program's own blocks, the runtime's
/// one-time argv copy apart), invalid frees, and where the guest ended.
struct Truth {
    module: &'static str,
    code: i32,
    lost: (u64, u64),
    indirect: (u64, u64),
    cycle: (u64, u64),
    reachable: (u64, u64),
    invalid_frees: u64,
    /// `exit.status` of the report: returned, trap…
    exit: &'static str,
    /// (kind, site function, blocks, bytes) in the named module's report.
    sites: &'static [(&'static str, &'static str, u64, u64)],
}

const NONE: (u64, u64) = (0, 0);

const fn t(module: &'static str, code: i32, lost: (u64, u64)) -> Truth {
    Truth { module, code, lost, indirect: NONE, cycle: NONE, reachable: NONE, invalid_frees: 0, exit: "returned", sites: &[] }
}

fn truths() -> Vec<Truth> {
    let rust = |module| Truth {
        cycle: (2, 40),
        reachable: (2, 88),
        sites: &[
            ("lost", "rust_edge::leak_record", 3, 72),
            ("lost", "rust_edge::forget_buffer", 1, 100),
            ("cycle", "rust_edge::make_cycle", 2, 40),
            ("reachable", "rust_edge::hold", 2, 88),
        ],
        ..t(module, 1, (4, 172))
    };
    let cpp = |module| Truth {
        sites: &[("lost", "Car::Car(int)", 1, 24), ("lost", "parts_list()", 3, 72)],
        ..t(module, 1, (4, 96))
    };
    let dbg = |module| Truth { indirect: (1, 16), reachable: (1, 40), ..t(module, 1, (2, 48)) };
    vec![
        // 1. no free linked, no malloc linked
        Truth { sites: &[("lost", "main", 1, 7)], ..t("c_no_free", 1, (1, 7)) },
        Truth { reachable: (1, 7), sites: &[("reachable", "main", 1, 7)], ..t("c_no_free_global", 0, NONE) },
        Truth { invalid_frees: 2, ..t("c_free_no_malloc", 1, NONE) },
        // 2. Rust, every opt-level, with and without LTO
        rust("rust_edge_o0"),
        rust("rust_edge_o1"),
        rust("rust_edge_o2"),
        rust("rust_edge_o3"),
        rust("rust_edge_o0_lto"),
        rust("rust_edge_o1_lto"),
        rust("rust_edge_o2_lto"),
        rust("rust_edge_o3_lto"),
        rust("rust_edge_o2_unwind"),
        // C++ with global operator new/delete replaced by a size header over malloc: the C layer is hooked
        Truth { sites: &[("lost", "make(int)", 2, 80)], ..t("cpp_global_new_header_O0", 1, (2, 80)) },
        Truth { sites: &[("lost", "make(int)", 2, 80)], ..t("cpp_global_new_header_O2", 1, (2, 80)) },
        // 3. main(argc, argv) that mallocs, reallocs and frees (the realloc-shaped main)
        Truth { sites: &[("lost", "main", 1, 40)], ..t("c_main_alloc_O0", 1, (1, 40)) },
        Truth { sites: &[("lost", "main", 1, 40)], ..t("c_main_alloc_O1", 1, (1, 40)) },
        Truth { sites: &[("lost", "main", 1, 40)], ..t("c_main_alloc_O2", 1, (1, 40)) },
        // 4. no stdio
        Truth { sites: &[("lost", "make", 2, 64)], ..t("c_nostdio_O0", 1, (2, 64)) },
        Truth { sites: &[("lost", "make", 2, 64)], ..t("c_nostdio_O1", 1, (2, 64)) },
        Truth { sites: &[("lost", "make", 2, 64)], ..t("c_nostdio_O2", 1, (2, 64)) },
        // 5. invalid frees, the one dlmalloc traps on among them: reported, not handed on, the program goes on
        Truth { invalid_frees: 4, sites: &[("lost", "leak_after", 1, 24)], ..t("c_invalid_frees", 1, (1, 24)) },
        Truth { invalid_frees: 1, sites: &[("lost", "leak_after", 1, 48)], ..t("c_realloc_after_free", 1, (1, 48)) },
        Truth { invalid_frees: 2, ..t("vg_badfree", 1, NONE) },
        // 6. a trap right after a finding: still exit 1
        Truth { invalid_frees: 1, exit: "trap", sites: &[("lost", "leak_one", 1, 20)], ..t("c_trap_after_double_free", 1, (1, 20)) },
        Truth { reachable: (1, 36), exit: "trap", sites: &[("lost", "leak_one", 1, 20)], ..t("c_abort_after_leak", 1, (1, 20)) },
        // C++: a member no destructor frees, a vector of raw pointers
        cpp("cpp_members_O0"),
        cpp("cpp_members_O1"),
        cpp("cpp_members_O2"),
        dbg("c_dbg"),
        dbg("c_buildid.debug"),
        // Emscripten's standalone command ends with proc_exit(0).
        Truth { indirect: (1, 16), exit: "exited", ..t("em_sepdwarf", 1, (2, 48)) },
        // Valgrind memcheck's test patterns, LeakSanitizer's and AddressSanitizer's test programs
        Truth { indirect: (2, 32), reachable: (10, 160), sites: &[("lost", "new_pair", 3, 48)], ..t("vg_leak_cases", 1, (3, 48)) },
        Truth { indirect: (3, 48), cycle: (15, 240), ..t("vg_leak_cycle", 1, NONE) },
        Truth { indirect: (2, 32), reachable: (3, 48), sites: &[("lost", "grow", 2, 32)], ..t("vg_leak_tree", 1, (2, 32)) },
        t("vg_leak_0", 0, NONE),
        Truth { invalid_frees: 1, ..t("vg_doublefree", 1, NONE) },
        Truth { sites: &[("lost", "main", 1, 49)], ..t("vg_realloc1", 1, (1, 49)) },
        t("vg_realloc2", 0, NONE),
        Truth { sites: &[("lost", "main", 3, 15)], ..t("vg_realloc3", 1, (3, 15)) },
        Truth { sites: &[("lost", "drop_bytes", 1000, 1000)], ..t("vg_trivialleak", 1, (1000, 1000)) },
        Truth { sites: &[("lost", "scribble", 1, 10)], ..t("vg_malloc1", 1, (1, 10)) },
        Truth { sites: &[("lost", "main", 1, 1337)], ..t("lsan_pointer_to_self", 1, (1, 1337)) },
        Truth { sites: &[("lost", "main", 1, 1337)], ..t("lsan_leak_check_at_exit", 1, (1, 1337)) },
        Truth { reachable: (1, 1337), ..t("lsan_use_globals_initialized", 0, NONE) },
        Truth { reachable: (1, 1337), ..t("lsan_use_globals_uninitialized", 0, NONE) },
        // The pointer is on the live stack when the program calls exit(0).
        Truth { reachable: (1, 1337), exit: "exited", ..t("lsan_use_stacks_O0", 0, NONE) },
        Truth { reachable: (1, 1337), exit: "exited", ..t("lsan_use_stacks_O1", 0, NONE) },
        t("lsan_stale_stack_leak", 1, (1, 1337)),
        t("lsan_use_unaligned", 1, (1, 1337)),
        t("lsan_malloc_zero", 1, (1, 0)),
        Truth { invalid_frees: 1, ..t("asan_double_free", 1, NONE) },
        Truth { invalid_frees: 1, sites: &[("lost", "main", 1, 10)], ..t("asan_invalid_free", 1, (1, 10)) },
        // Programs that never free, which discovery took for one with an inlined free: 15 blocks kept in 15
        // `.bss` globals set in one function (c/bss_globals_no_free.c); aligned allocations, whose helper
        // `dispose_chunk` calls malloc and works on chunk headers (c/aligned_no_free.c); valgrind's leak-cases.c
        // built in one step (`clang -O2`: wasm-ld dropped free, the program's `.bss` in dlmalloc's static
        // cluster, a function using it 37 times — an inlined strlen — but none of malloc's words).
        Truth { reachable: (15, 240), ..t("c_bss_globals_no_free", 0, NONE) },
        Truth { reachable: (2, 4224), ..t("c_aligned_no_free", 1, (3, 260)) },
        Truth { indirect: (2, 32), reachable: (10, 160), ..t("c_nofree_onestep_O2", 1, (3, 48)) },
    ]
}

/// Where the report differs from the truth (empty: it does not).
fn mismatches(tr: &Truth, r: &Run, j: &Value, what: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut want = |field: &str, got: String, want: String| {
        if got != want {
            out.push(format!("{what}: {field} is {got}, not {want}\n{}", brief(j)));
        }
    };
    want("exit status", format!("{}", r.code()), format!("{}", tr.code));
    want("exit", j["exit"]["status"].to_string(), format!("\"{}\"", tr.exit));
    for (kind, truth) in [("lost", tr.lost), ("indirect", tr.indirect), ("cycle", tr.cycle), ("reachable", tr.reachable), ("host", NONE)] {
        want(kind, format!("{:?}", kind_total_user(j, kind)), format!("{truth:?}"));
    }
    want("invalid frees", summary(j, "invalid_frees").to_string(), tr.invalid_frees.to_string());
    out
}

/// The named module: exact totals and sites.
#[test]
fn named_modules_give_the_ground_truth() {
    let mut wrong = Vec::new();
    for tr in truths() {
        let (r, j) = check_json(&edge(tr.module), &[]);
        wrong.extend(mismatches(&tr, &r, &j, tr.module));
        for &(kind, site, blocks, bytes) in tr.sites {
            if site_total(&j, kind, site) != (blocks, bytes) {
                wrong.push(format!("{}: {kind} at {site} is {:?}, not {:?}\n{}", tr.module, site_total(&j, kind, site), (blocks, bytes), brief(&j)));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The same module stripped of every custom section gives the same report, names aside: the allocator is found
/// by its code and confirmed by calling it — the free-less, malloc-less, stdio-less, realloc-shaped-`main` and
/// Rust builds included.
#[test]
fn stripped_modules_give_the_same_report() {
    let mut wrong = Vec::new();
    for tr in truths() {
        let named = check_json(&edge(tr.module), &[]);
        let path = stripped(&edge(tr.module));
        let (r, j) = check_json(&path, &[]);
        let what = format!("{} stripped", tr.module);
        wrong.extend(mismatches(&tr, &r, &j, &what));
        let note = "allocator found by its code shape and confirmed by calling it";
        let in_json = has_note(&j, note);
        if !r.stderr.contains(note) || !in_json {
            wrong.push(format!("{what}: the report and stderr say how the allocator was found\n{}", r.describe()));
        }
        // (Not runtime_bytes: argv[0] is the path, and the stripped copy's is longer.)
        for f in ["allocations", "frees", "runtime_blocks"] {
            if summary(&j, f) != summary(&named.1, f) {
                wrong.push(format!("{what}: summary.{f} is {}, named {}", summary(&j, f), summary(&named.1, f)));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// One-step `clang -O2` with binaryen installed runs wasm-opt, which inlines a function that has one call site:
/// the allocator itself. Nothing is left to hook, and the refusal says so (where, and why), exit 2.
#[test]
fn an_inlined_allocator_is_refused_with_the_reason() {
    let r = wasmleak(vec!["check".into(), edge("c_inlined_malloc_O2").into_os_string()]);
    r.assert_no_panic();
    r.assert_code(2);
    assert!(r.stderr.contains("func 13 ") && r.stderr.contains("inlined into it"), "{}", r.describe());
    assert!(r.stderr.contains("wasm-opt"), "{}", r.describe());
}

/// 1024 blocks kept in a global array, Emscripten -O0 (fixtures/edge/c/global_array.c): dlmalloc's page size, a
/// constant it keeps in a local, read as a static of the allocator's inside the array, and the hole left out of the
/// roots made 257 reachable blocks "lost". A constant the allocator's code uses once is no structure of its own.
#[test]
fn a_number_the_allocator_uses_once_opens_no_hole_in_the_roots() {
    let (r, j) = check_json(&edge("em_global_array_O0"), &[]);
    r.assert_code(0);
    assert_eq!((summary(&j, "leaked_blocks"), summary(&j, "reachable_blocks"), summary(&j, "reachable_bytes")), (0, 1024, 4096), "{}", r.describe());
}

/// emmalloc without names in a program that never frees (fixtures/edge/c/emmalloc_no_free.c, Emscripten -O0): the
/// emmalloc shape wanted a free, and the module was refused. A core with its malloc wrapper that allocates when
/// called goes alone now, with the note that the module only allocates.
#[test]
fn emmalloc_without_a_free_is_tracked() {
    let (r, j) = check_json(&edge("em_emmalloc_no_free_O0"), &[]);
    r.assert_code(1);
    assert_eq!((summary(&j, "lost_blocks"), summary(&j, "indirect_blocks"), summary(&j, "reachable_blocks")), (1, 1, 3), "{}", r.describe());
    assert!(has_note(&j, "no free: "), "{}", r.describe());
}

/// What discovery noticed is in the report too, not only in `inspect`: a dlmalloc program that never frees
/// (valgrind's leak-cases.c, one-step `clang -O2`; its truth is in `truths`).
#[test]
fn a_module_that_never_frees_says_so_in_the_report() {
    let (r, j) = check_json(&edge("c_nofree_onestep_O2"), &[]);
    r.assert_code(1);
    assert_eq!((summary(&j, "allocations"), summary(&j, "frees")), (15, 0), "{}", r.describe());
    assert!(has_note(&j, "no free: "), "{}", r.describe());
}

/// The report has a note starting with `prefix`.
fn has_note(report: &Value, prefix: &str) -> bool {
    report["notes"].as_array().is_some_and(|n| n.iter().any(|n| n.as_str().is_some_and(|n| n.starts_with(prefix))))
}

/// realloc inlined into its one caller by wasm-opt (fixtures/edge/c/realloc_inlined.c, one-step `clang -O2`): no
/// realloc to hook, and blocks resized in place kept their recorded size — a vector grown in place hid the
/// pointers past its first 8 bytes (62 strings "lost", exit 1), one shrunk in place covered the block allocated
/// after it (a leaked list head "reachable", exit 0). Their sizes are read from the dlmalloc chunk headers now.
#[test]
fn blocks_an_inlined_realloc_resized_take_their_chunk_size() {
    let (r, j) = check_json(&edge("c_realloc_inlined_O2"), &["--", "grow"]);
    r.assert_code(0);
    assert_eq!((summary(&j, "leaked_blocks"), summary(&j, "reachable_blocks"), summary(&j, "reachable_bytes")), (0, 65, 1292), "{}", r.describe());
    assert!(has_note(&j, "1 live block(s) were resized in place"), "{}", r.describe());
    let (r, j) = check_json(&edge("c_realloc_inlined_O2"), &["--", "shrink"]);
    r.assert_code(1);
    // The leaked list head is empty: it points to itself, which makes no cycle (LeakSanitizer's rule): lost.
    assert_eq!((summary(&j, "lost_blocks"), summary(&j, "lost_bytes"), summary(&j, "cycle_blocks")), (1, 64, 0), "{}", r.describe());
    assert_eq!((summary(&j, "reachable_blocks"), summary(&j, "reachable_bytes")), (1, 28));
}

/// Zig's own libc allocator (fixtures/edge/c/zig_aligned.c, `zig cc -O2`, Zig 0.17, names kept): its aligned entry
/// points go by their Zig paths (`c.malloc.aligned_alloc`, `c.malloc.posix_memalign`, `c.malloc.valloc`) and were
/// not hooked: the aligned blocks went unseen (a program leaking only them was clean, exit 0) and their frees were
/// invalid. Every block is seen now, and the sites are the program's (`c.malloc.reallocarray` is the allocator's).
#[test]
fn zig_libc_aligned_allocations_are_hooked() {
    let (r, j) = check_json(&edge("zig_aligned_O2"), &[]);
    r.assert_code(1);
    assert_eq!((summary(&j, "lost_blocks"), summary(&j, "lost_bytes"), summary(&j, "invalid_frees")), (9, 5508, 0), "{}", brief(&j));
    assert_eq!((summary(&j, "allocations"), summary(&j, "frees")), (12, 3), "{}", brief(&j));
    assert_eq!(site_total(&j, "lost", "main"), (9, 5508), "{}", brief(&j));
}

/// A Zig program linked with libc that allocates through std.heap.page_allocator — Zig's wasm heap, reached through
/// the std.mem.Allocator vtable, not malloc — and std.heap.c_allocator (fixtures/edge/zig/page_lc.zig, Zig 0.17,
/// names kept). Only malloc was hooked: the page_allocator leaks read "leaked 0 B", exit 0. Zig's heap is hooked
/// too (`heap.BrkAllocator.alloc/free/resize/remap`; Debug passes a hidden parameter first, and ReleaseSafe's calls
/// of `resize` pass a pointer it never reads — anything: no invalid free), and each block is counted once.
#[test]
fn zig_page_allocator_beside_libc_malloc_is_hooked() {
    for o in ["Debug", "ReleaseSafe"] {
        let (r, j) = check_json(&edge(&format!("zig_page_lc_{o}")), &[]);
        r.assert_code(1);
        assert_eq!((summary(&j, "lost_blocks"), summary(&j, "lost_bytes"), summary(&j, "invalid_frees")), (4, 340, 0), "{o}: {}", brief(&j));
        assert_eq!((summary(&j, "indirect_blocks"), summary(&j, "reachable_blocks")), (0, 0), "{o}: {}", brief(&j));
        assert!(r.stderr.contains("done 1000"), "{o}: {}", r.describe());
    }
    let (_, j) = check_json(&edge("zig_page_lc_Debug"), &[]);
    assert_eq!(site_total(&j, "lost", "page_lc.main"), (4, 340), "{}", brief(&j));
    // Its 40-byte c_allocator block is as asked; smaller ones would not be (at least 16 bytes): a note says so.
    assert!(j["notes"].to_string().contains("Zig's std.heap.c_allocator"), "{}", j["notes"]);
}

/// Zig's heap in a build with no names (fixtures/edge/zig/page_stripped.zig, ReleaseSmall: stripped by default, no
/// libc) was refused, "no allocator found". Its std.mem.Allocator vtable in static data names the entry points:
/// the table indices of alloc, resize, remap and free, the one whose alloc grows the memory. Exact, as named.
#[test]
fn a_stripped_zig_heap_is_found_by_its_allocator_vtable() {
    let (r, j) = check_json(&edge("zig_page_stripped"), &[]);
    r.assert_code(1);
    assert_eq!((summary(&j, "lost_blocks"), summary(&j, "lost_bytes")), (3, 300), "{}", brief(&j));
    assert_eq!((summary(&j, "cycle_blocks"), summary(&j, "cycle_bytes")), (2, 96), "{}", brief(&j));
    assert_eq!((summary(&j, "indirect_blocks"), summary(&j, "reachable_blocks"), summary(&j, "invalid_frees")), (0, 0, 0), "{}", brief(&j));
    assert_eq!((summary(&j, "allocations"), summary(&j, "frees")), (14, 9), "{}", brief(&j));
    assert!(r.stderr.contains("done 1000"), "{}", r.describe());
    let i = wasmleak(vec!["inspect".into(), edge("zig_page_stripped").into_os_string()]);
    for role in ["Zig alloc", "Zig resize", "Zig remap", "Zig free"] {
        assert!(i.stdout.lines().any(|l| l.contains(role) && l.contains("of the Zig std.mem.Allocator vtable at")), "{role}: {}", i.describe());
    }
}

/// What the vtable cannot tell without names is refused, not half-tracked: Zig's libc malloc, a header over Zig's
/// heap (its blocks would be seen at their headers; named by the unstripped build through --debug-file, exact),
/// a FixedBufferAllocator beside the heap (fixtures/edge/zig/fba_stripped.zig: its blocks never reach it), and a
/// page pool that grows the memory itself (fixtures/edge/zig/second_heap.zig, npm restty's pattern: its page,
/// never returned, read "leaked 0 B", exit 0).
#[test]
fn a_stripped_zig_heap_under_libc_malloc_or_beside_a_fixed_buffer_is_refused() {
    let r = wasmleak(vec!["check".into(), edge("zig_page_lc_ReleaseSafe_stripped").into_os_string()]);
    r.assert_code(2);
    assert!(r.stderr.contains("has a malloc-like caller, func 305, that calls it directly: Zig's libc malloc, which adds a header of its own"), "{}", r.describe());
    let named = edge("zig_page_lc_ReleaseSafe");
    let (r, j) = check_json(&edge("zig_page_lc_ReleaseSafe_stripped"), &["--debug-file", named.to_str().unwrap()]);
    r.assert_code(1);
    assert_eq!((summary(&j, "lost_blocks"), summary(&j, "lost_bytes")), (4, 340), "{}", brief(&j));
    let r = wasmleak(vec!["check".into(), edge("zig_fba_stripped").into_os_string()]);
    r.assert_code(2);
    assert!(r.stderr.contains("a Zig allocator of its own (the std.mem.Allocator vtable at 0x1000018, alloc func 8)"), "{}", r.describe());
    assert!(!r.stderr.contains("done"), "the guest ran: {}", r.describe());
    let r = wasmleak(vec!["check".into(), edge("zig_second_heap").into_os_string()]);
    r.assert_code(2);
    assert!(r.stderr.contains("Zig's heap (func 6) is not the only allocator: func 5 grows the memory itself"), "{}", r.describe());
}

/// Zig's heap inlined into the program (fixtures/edge/zig/inlined_free.zig, ReleaseFast, names kept; npm md4w's
/// pattern): `defer allocator.free(buf)` of a run-time length indexes WasmAllocator's free lists from a computed
/// base, at no constant offset. Its frees were unseen: the run ended with no verdict (md4w: "597 addresses still
/// counted live"). Refused before the run, naming where the heap went.
#[test]
fn zig_heap_inlined_with_a_run_time_size_class_is_refused() {
    let r = wasmleak(vec!["check".into(), edge("zig_inlined_free_ReleaseFast").into_os_string()]);
    r.assert_no_panic();
    r.assert_code(2);
    assert!(r.stderr.contains("Zig's heap (func 28 `heap.BrkAllocator.alloc`) looks inlined into the program's own code: func 21 `start.mainWithoutEnv` works on its state"), "{}", r.describe());
    assert!(!r.stderr.contains("sum "), "the guest ran: {}", r.describe());
}

/// AssemblyScript built with `--use abort=` (fixtures/edge/assemblyscript/libmalloc.ts): no `~lib/rt/` abort messages
/// and no names, so it was not recognised — at -O0 the malloc it exports for its host (over the runtime's TLSF) was
/// hooked, and the objects its collector had not swept yet read lost, exit 1 (AS survey); at -O3 it was refused for a
/// wrong reason ("no allocator found"). Its static data's layout tells it: the AssemblyScript refusal, before the run.
#[test]
fn assemblyscript_without_its_abort_messages_is_told_by_its_static_data() {
    for o in ["O0", "O3"] {
        let r = wasmleak(vec!["check".into(), edge(&format!("as_noabort_{o}")).into_os_string(), "--invoke".into(), "garbage".into(), "--repeat".into(), "5".into()]);
        r.assert_no_panic();
        r.assert_code(2);
        assert!(r.stderr.contains("this is an AssemblyScript module"), "{o}: {}", r.describe());
        assert!(!r.stderr.contains("lost"), "{o}: {}", r.describe());
    }
}

/// Emscripten -O2 --profiling-funcs (fixtures/edge/c/inlined_malloc_named.c): the names are kept, but malloc went
/// into its one caller, `buf_new`, while `dlfree` kept its name. Taken for a module that frees what it never
/// allocated, every free was called invalid (12, exit 1) and withheld from the allocator; now refused, naming
/// where malloc went.
#[test]
fn a_named_free_whose_malloc_was_inlined_is_refused() {
    let r = wasmleak(vec!["check".into(), edge("em_inlined_malloc_named").into_os_string(), "--".into(), "clean".into()]);
    r.assert_no_panic();
    r.assert_code(2);
    assert!(r.stderr.contains("it names only dlfree (free), and func 5 (buf_new)"), "{}", r.describe());
    assert!(r.stderr.contains("malloc seems inlined into it, so allocations could not be seen"), "{}", r.describe());
}

/// posix_memalign inlined into its one caller by wasm-opt (fixtures/edge/c/inlined_memalign.c, stripped): the
/// block the hooked malloc returned is split, its aligned part handed out, and the next malloc reuses the leader.
/// The buffered wrappers look at the block's chunk header again at the next event and follow it (the `split`
/// hook): the 5 leaked buffers, no invalid free, a verdict (before: 5 invalid frees, the leaks missed,
/// INCONCLUSIVE). Sizes are the chunks' usable sizes (what was asked for, 100 + i, is not in memory).
#[test]
fn an_aligned_block_split_by_an_inlined_memalign_is_followed() {
    let (r, j) = check_json(&edge("c_inlined_memalign_O2"), &[]);
    r.assert_code(1);
    assert!(j["inconclusive"].is_null(), "{}", brief(&j));
    assert_eq!((summary(&j, "lost_blocks"), summary(&j, "lost_bytes")), (5, 540), "{}", brief(&j));
    assert_eq!((summary(&j, "invalid_frees"), summary(&j, "allocations"), summary(&j, "frees")), (0, 22, 15), "{}", brief(&j));
    // The per-event hooks (every stack walked, or none taken) follow the split in the host: the same (they read
    // 5 invalid frees and no leak).
    for stacks in ["walk", "off"] {
        let (r, j) = check_json(&edge("c_inlined_memalign_O2"), &["--stacks", stacks]);
        r.assert_code(1);
        assert_eq!((summary(&j, "lost_blocks"), summary(&j, "lost_bytes")), (5, 540), "--stacks {stacks}: {}", brief(&j));
        assert_eq!((summary(&j, "invalid_frees"), summary(&j, "allocations"), summary(&j, "frees")), (0, 22, 15), "--stacks {stacks}: {}", brief(&j));
    }
}

/// A Weak-parent tree whose root Rc was forgotten (fixtures/edge/rust/src/weak_tree.rs, opt-level 0): a pointer
/// scan sees a cycle (a Weak is a pointer), but the back edges are Weak already — the hint said to make them Weak.
/// The parents' weak counts show Weak references: the hint allows a forgotten strong handle. A real Rc cycle
/// (rust_patterns rc_cycle) keeps the plain Rc hint.
#[test]
fn a_forgotten_weak_parent_tree_is_not_told_to_use_weak() {
    let (r, j) = check_json(&edge("rust_weak_tree_o0"), &[]);
    r.assert_code(1);
    assert_eq!((summary(&j, "cycle_blocks"), summary(&j, "cycle_bytes")), (50, 1040), "{}", brief(&j));
    assert!(groups(&j).iter().all(|g| g["hint"].as_str().unwrap().contains("Weak references point at some of them")), "{}", brief(&j));
    let (r, _) = check_json(&edge("rust_weak_tree_o0"), &["--", "drop"]);
    r.assert_code(0);
    let (_, j) = check_json(&fixture("rust_patterns.wasm"), &["--", "rc_cycle", "3"]);
    assert!(groups(&j).iter().all(|g| g["hint"].as_str().unwrap().starts_with("Rc reference cycle")), "{}", brief(&j));
}

/// A lost holder pointing into a ring of three nodes (fixtures/edge/c/ring_behind_owner.c): the nodes are
/// indirect, and on a cycle among themselves — for reference-counted nodes (a Box holding an Rc into an Rc ring),
/// fixing the holder leaves the ring leaked, where the hint and `why` said it would free them (found by a survey
/// of cycles). `on_cycle` counts them; the hint and `why` say so.
#[test]
fn indirect_blocks_on_a_cycle_say_that_fixing_the_owner_may_not_free_them() {
    let m = edge("c_ring_behind_owner");
    let dir = scratch("ring-behind-owner");
    let _ = std::fs::remove_dir_all(&dir);
    let (r, j) = check_json(&m, &["--save", dir.to_str().unwrap()]);
    r.assert_code(1);
    assert_eq!((summary(&j, "lost_blocks"), summary(&j, "lost_bytes")), (1, 8), "{}", brief(&j));
    assert_eq!((summary(&j, "indirect_blocks"), summary(&j, "indirect_bytes")), (3, 36), "{}", brief(&j));
    let ring: Vec<&Value> = groups(&j).iter().filter(|g| g["kind"] == "indirect").collect();
    assert_eq!(ring.iter().map(|g| g["on_cycle"].as_u64().unwrap_or(0)).sum::<u64>(), 3, "{}", brief(&j));
    assert!(ring.iter().all(|g| g["hint"].as_str().unwrap().contains("fixing the owner leaves the cycle leaked")), "{}", brief(&j));
    let w = wasmleak(vec!["why".into(), dir.join("1.wlsnap").into_os_string(), "make_ring".into()]);
    w.assert_code(0);
    assert!(w.stdout.contains("this one is also on a cycle of leaked blocks"), "{}", w.describe());
}

/// A stripped program with an arena that grows the memory itself beside wasi-libc's malloc
/// (fixtures/edge/c/second_heap.c), as a Rust `#[global_allocator]` of its own does: the shape finds dlmalloc,
/// which is not the only allocator — the arena's 3 leaked blocks were never seen. Refused, naming the function.
#[test]
fn a_second_heap_beside_the_allocator_found_by_shape_is_refused() {
    let r = wasmleak(vec!["check".into(), edge("c_second_heap_stripped").into_os_string()]);
    r.assert_no_panic();
    r.assert_code(2);
    assert!(r.stderr.contains("is not the only way in: func 7 grows the memory itself and is reached outside it"), "{}", r.describe());
}

/// A program with no heap at all (fixtures/edge/c/no_heap.c: printf, no malloc; it never grows or measures its
/// memory) cannot leak: it runs, as it would alone, and passes, the report saying why nothing was tracked. Its
/// stripped copy is refused: without names an allocator of its own over static memory cannot be ruled out.
#[test]
fn a_module_without_a_heap_runs_and_passes_and_its_stripped_copy_is_refused() {
    let m = edge("c_no_heap_O2");
    let r = wasmleak(vec!["check".into(), "--format".into(), "json".into(), m.clone().into_os_string()]);
    r.assert_no_panic();
    r.assert_code(0);
    let j = r.json();
    assert_eq!((j["summary"]["allocations"].as_u64(), j["summary"]["leaked_blocks"].as_u64()), (Some(0), Some(0)));
    assert!(j["inconclusive"].is_null(), "{}", r.describe());
    let notes = j["notes"].to_string();
    assert!(notes.contains("the module has no heap allocator") && !notes.contains("no DWARF"), "{notes}");
    assert!(r.stderr.contains("sum 4950"), "the guest's stdout (to stderr under --format json): {}", r.describe());
    let s = wasmleak(vec!["check".into(), stripped(&m).into_os_string()]);
    s.assert_no_panic();
    s.assert_code(2);
    assert!(s.stderr.contains("no allocator found") && s.stderr.contains("it may have no heap"), "{}", s.describe());
}

/// No malloc and a memory that never grows, stripped (nothing names what the code does): a hash over a context in
/// static data (fixtures/edge/c/static_hash.c, as hash-wasm's modules are) has no heap — its code follows no
/// pointer it read from static data and hands none out — and runs and passes, at -O0 (its variables in the stack
/// frame) and -O2; a free list over a static array (fixtures/edge/c/static_pool.c, 3 of 5 blocks never given back)
/// is refused, never called heapless.
#[test]
fn without_names_a_static_context_has_no_heap_and_a_static_pool_is_refused() {
    for o in ["O0", "O2"] {
        let m = stripped(&edge(&format!("c_static_hash_{o}")));
        let r = wasmleak(vec!["check".into(), "--format".into(), "json".into(), m.into_os_string()]);
        r.assert_no_panic();
        r.assert_code(0);
        let j = r.json();
        assert_eq!(j["summary"]["allocations"].as_u64(), Some(0), "{}", r.describe());
        assert!(j["notes"].to_string().contains("the module has no heap allocator"), "{}", r.describe());
        assert!(r.stderr.contains("448d180e"), "the guest's stdout: {}", r.describe());
        let p = stripped(&edge(&format!("c_static_pool_{o}")));
        let r = wasmleak(vec!["check".into(), p.into_os_string()]);
        r.assert_no_panic();
        r.assert_code(2);
        assert!(r.stderr.contains("no allocator found") && !r.stderr.contains("no heap allocator"), "{}", r.describe());
    }
}

/// `main(argc, argv)` has realloc's signature and allocates and frees: the shape alone proposed it as realloc
/// (every allocation inside main was then hidden). Called, it does not behave as one, and `inspect` says so.
#[test]
fn main_is_not_taken_for_realloc() {
    for m in ["c_main_alloc_O0", "c_main_alloc_O1", "c_main_alloc_O2"] {
        let path = stripped(&edge(m));
        let r = wasmleak(vec!["inspect".into(), "--format".into(), "json".into(), path.into_os_string()]);
        r.assert_code(0);
        let j = r.json();
        let eps = j["allocator"]["entry_points"].as_array().unwrap();
        // func 8 is main (`__original_main`/`main` in the named module); 14 is realloc.
        assert!(eps.iter().all(|e| e["func"] != 8), "{m}: {eps:?}");
        assert!(eps.iter().any(|e| e["func"] == 14 && e["role"] == "realloc" && e["confirmed"].is_string()), "{m}: {eps:?}");
        let notes = j["allocator"]["notes"].as_array().unwrap();
        assert!(notes.iter().any(|n| n.as_str().unwrap().starts_with("func 8 looks like realloc")), "{m}: {notes:?}");
    }
}

/// `main` as the source names it: clang calls `int main(void)` `__original_main` in the name section.
#[test]
fn c_main_is_named_main() {
    let (_, j) = check_json(&edge("c_no_free"), &[]);
    let g = &groups(&j)[0];
    assert_eq!(frames(&g["stack"])[0], "main", "{}", brief(&j));
}

/// --debug-file: a stripped build symbolized with its unstripped twin's names and DWARF; refused when the
/// code is not the same; Emscripten's `external_debug_info` followed without asking; build ids compared.
#[test]
fn debug_file() {
    let (_, named) = check_json(&edge("c_dbg"), &[]);
    let (r, j) = check_json(&edge("c_dbg_stripped"), &["--debug-file", edge("c_dbg").to_str().unwrap()]);
    r.assert_code(1);
    let sites = |j: &Value| -> Vec<(String, Option<String>, Option<u64>)> {
        groups(j).iter().map(|g| (site_fn(g), g["site"]["file"].as_str().map(String::from), g["site"]["line"].as_u64())).collect()
    };
    assert_eq!(sites(&j), sites(&named), "{}", brief(&j));
    assert!(sites(&j).iter().all(|s| s.1.is_some() && s.2.is_some()), "file:line from the debug file: {:?}", sites(&j));
    assert!(!r.stderr.contains("code shape"), "the names come from the debug file: {}", r.describe());

    // A debug file of another build: refused, with the reason.
    let r = wasmleak(vec![
        "check".into(),
        edge("c_dbg_stripped").into_os_string(),
        "--debug-file".into(),
        edge("c_buildid.debug").into_os_string(),
    ]);
    r.assert_code(2);
    assert!(r.stderr.contains("not a build of this module") || r.stderr.contains("build id"), "{}", r.describe());

    // build_id: the stripped module and its debug twin carry the same one.
    let (r, j) = check_json(&edge("c_buildid"), &["--debug-file", edge("c_buildid.debug").to_str().unwrap()]);
    r.assert_code(1);
    assert!(groups(&j).iter().all(|g| g["site"]["line"].is_u64()), "{}", brief(&j));

    // Snapshots of the stripped module: export, why and diff name their frames with the debug file's names
    // (checked against the module the snapshot records), and refuse another build's.
    let dir = scratch("dbg-snaps");
    let r = wasmleak(vec![
        "check".into(),
        edge("c_dbg_stripped").into_os_string(),
        "--save".into(),
        dir.clone().into_os_string(),
    ]);
    r.assert_code(1);
    let snap = dir.join("1.wlsnap");
    let out = scratch("dbg.collapsed");
    let export = |debug: &Path| {
        wasmleak(vec![
            "export".into(),
            snap.clone().into_os_string(),
            "--format".into(),
            "collapsed".into(),
            "-o".into(),
            out.clone().into_os_string(),
            "--debug-file".into(),
            debug.into(),
        ])
    };
    export(&edge("c_dbg")).assert_code(0);
    let collapsed = std::fs::read_to_string(&out).unwrap();
    assert!(!collapsed.contains("func["), "{collapsed}");
    let named_sites: Vec<String> = groups(&named).iter().map(site_fn).collect();
    assert!(named_sites.iter().all(|s| collapsed.contains(s.as_str())), "{named_sites:?} in {collapsed}");
    let r = export(&edge("vg_malloc1"));
    r.assert_code(2);
    assert!(r.stderr.contains("not a build of this module"), "{}", r.describe());

    // external_debug_info names em_sepdwarf.debug.wasm, next to the module: followed without --debug-file.
    let (r, j) = check_json(&edge("em_sepdwarf"), &[]);
    r.assert_code(1);
    assert!(groups(&j).iter().all(|g| g["site"]["file"].is_string()), "{}", brief(&j));
    let i = wasmleak(vec!["inspect".into(), "--format".into(), "json".into(), edge("em_sepdwarf").into_os_string()]);
    let ij = i.json();
    assert_eq!(ij["debug"]["external_debug_info"], "em_sepdwarf.debug.wasm");
    assert!(ij["debug"]["names_from"].as_str().unwrap().ends_with("em_sepdwarf.debug.wasm"), "{ij}");
    assert!(ij["debug"]["dwarf"].as_bool().unwrap());
}

/// `inspect --format json`: the documented fields (docs/inspect-json.md), on a stripped Rust module.
#[test]
fn inspect_json_contract() {
    let path = stripped(&edge("rust_edge_o2"));
    let r = wasmleak(vec!["inspect".into(), "--format".into(), "json".into(), path.into_os_string()]);
    r.assert_code(0);
    let j = r.json();
    assert_eq!(j["version"], 1);
    for k in ["module", "bytes", "sections", "memories", "imports", "exports", "producers", "debug", "allocator"] {
        assert!(!j[k].is_null(), "inspect JSON has no {k}: {j}");
    }
    assert_eq!(j["debug"]["name_section"], false);
    assert_eq!(j["allocator"]["status"], "found");
    let eps = j["allocator"]["entry_points"].as_array().unwrap();
    let roles: Vec<(u64, &str)> = eps.iter().map(|e| (e["func"].as_u64().unwrap(), e["role"].as_str().unwrap())).collect();
    // The named build's: 154 malloc, 155 dlmalloc, 157 free, 158 dlfree, 159 calloc, 160 realloc, 162 posix_memalign;
    // dlmalloc and dlfree are only ever called under the others, so those are the ones hooked.
    for want in [(154, "malloc"), (157, "free"), (159, "calloc"), (160, "realloc"), (162, "posix_memalign")] {
        assert!(roles.contains(&want), "{want:?} in {roles:?}");
    }
    for e in eps {
        assert_eq!(e["found_by"], "code shape");
        assert!(e["confirmed"].is_string(), "{e}");
    }
    // A language runtime's module is told apart, in one sentence.
    let go = wat_file(
        "tinygo-like.wasm",
        r#"(module (import "gojs" "runtime.ticks" (func (result f64))) (memory (export "mem") 1)
             (func (export "_start")))"#,
    );
    let r = wasmleak(vec!["inspect".into(), "--format".into(), "json".into(), go.into_os_string()]);
    let j = r.json();
    assert_eq!(j["allocator"]["status"], "language_runtime");
    assert!(j["allocator"]["message"].as_str().unwrap().contains("TinyGo"), "{j}");
}

/// The guest runs exactly once: a program that appends a line to a file in its `--dir` leaves one line (a
/// checker that replayed the program would leave two), prints what it saw itself, and its leak has its stack.
#[test]
fn the_guest_runs_once() {
    let dir = scratch("append-once");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let spec = format!("{}::/out", dir.display());
    let (r, j) = check_json(&edge("c_append_once"), &["--dir", &spec]);
    r.assert_code(1);
    assert_eq!(std::fs::read_to_string(dir.join("log.txt")).unwrap(), "ran\n");
    // With a JSON report the guest's stdout goes to stderr.
    assert!(r.stderr.contains("lines: 1\n"), "{}", r.describe());
    assert_eq!(kind_total(&j, "lost"), (1, 32), "{}", brief(&j));
    assert_eq!(site_fn(&groups_at(&j, "lost", "main")[0]), "main");
}

/// The allocation profile (fixtures/edge/c/profile.c has the ground truth): every site's totals, temporary
/// allocations and share of the peak, freed blocks included; the same with walked stacks; and in the
/// exports: pprof's alloc_* columns, the allocated/peak/temporary flamegraphs, the HTML report.
#[test]
fn allocation_profile() {
    let module = edge("c_profile");
    let site = |p: &Value, f: &str| -> [u64; 5] {
        let s = p["sites"].as_array().unwrap().iter().find(|s| s["site"]["function"] == f).unwrap_or_else(|| panic!("no site {f}: {p}"));
        ["allocated_blocks", "allocated_bytes", "temporary_blocks", "peak_blocks", "peak_bytes"].map(|k| u(&s[k], k))
    };
    let save = scratch("profile-save");
    let _ = std::fs::remove_dir_all(&save);
    for stacks in ["context", "walk"] {
        let (r, j) = check_json(&module, &["--stacks", stacks, "--save", save.to_str().unwrap()]);
        r.assert_code(1);
        let p = &j["profile"];
        assert_eq!(site(p, "keep"), [1, 32, 0, 1, 32], "{stacks}: {p}");
        assert_eq!(site(p, "scratch"), [100, 6400, 100, 0, 0], "{stacks}: {p}");
        assert_eq!(site(p, "build"), [10, 10_000, 0, 10, 10_000], "{stacks}: {p}");
        assert_eq!(site(p, "grow"), [9, 8176, 1, 0, 0], "{stacks}: {p}");
        let totals = ["allocated_blocks", "allocated_bytes", "temporary_blocks", "peak_blocks", "peak_bytes"].map(|k| u(&p[k], k));
        assert_eq!(totals, [120, 24_608, 101, 11, 10_032], "{stacks}: {p}");
        assert_eq!(p["sites"][0]["site"]["function"], "build", "largest first: {p}");
    }
    let text = wasmleak(["check", module.to_str().unwrap(), "--profile", "2"]);
    assert!(text.stdout.contains("allocated: 24.0 KiB (24,608 B) in 120 blocks over the run (101 temporary"), "{}", text.describe());
    assert!(text.stdout.contains("9.8 KiB in 10 blocks, 9.8 KiB at the peak — at build"), "{}", text.describe());
    assert!(text.stdout.contains("... 2 more sites"), "{}", text.describe());

    let snap = save.join("1.wlsnap");
    let out = scratch("profile-alloc.folded");
    let stack = "_start.command_export;_start;main";
    for (measure, lines) in [
        ("allocated", vec![("build", 10_000), ("grow", 8176), ("keep", 32), ("scratch", 6400)]),
        ("peak", vec![("build", 10_000), ("keep", 32)]),
        ("temporary", vec![("grow", 1), ("scratch", 100)]),
    ] {
        let r = wasmleak(["export", snap.to_str().unwrap(), "--format", "collapsed", "--measure", measure, "-o", out.to_str().unwrap()]);
        r.assert_code(0);
        let want: String = lines.iter().map(|(f, n)| format!("{measure};{stack};{f} {n}\n")).collect();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), want, "{measure}");
    }
    let r = wasmleak(["export", snap.to_str().unwrap(), "--format", "pprof", "--measure", "peak", "-o", out.to_str().unwrap()]);
    r.assert_code(2);
    assert!(r.stderr.contains("--measure peak is for --format collapsed and flamegraph"), "{}", r.describe());
    let html = scratch("profile.html");
    wasmleak(["export", snap.to_str().unwrap(), "--format", "html", "-o", html.to_str().unwrap()]).assert_code(0);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("id=\"profile\"") && page.contains("<b data-v=\"24608\">"), "no profile section");
}

/// A module whose `free` was inlined into its callers (its own allocator, -Oz): only `malloc` is hooked, frees
/// happen unseen, and the allocator hands freed addresses out again while wasmleak counts them live. That is
/// evidence the leak counts are wrong (it would say 5 lost; 4 are): no verdict, exit 2, and the report says why.
#[test]
fn unseen_frees_are_no_verdict() {
    let (r, j) = check_json(&edge("c_own_malloc_inlined_free"), &[]);
    r.assert_code(2);
    let why = j["inconclusive"].as_str().unwrap_or_default();
    assert!(why.starts_with("the allocator handed out 2 addresses that wasmleak still counted as live"), "{}", brief(&j));
    assert_eq!(j["inconclusive_reason"], "frees_not_seen", "{}", brief(&j));
    assert_eq!(j["summary"]["allocations"], 8, "{}", brief(&j));
    assert!(r.stderr.contains("no verdict"), "{}", r.describe());
}

/// A leak-free C program linked by `clang -O2` through wasm-opt (fixtures/edge/c/clean_wasm_opt.c): no name
/// section, wasi-libc's `__main_void` inlined into `_start`, so the argv copy is allocated by `_start` itself. It
/// was reported lost + indirect (exit 1); it is the runtime's, told by its contents, and the guest's status passes
/// through (found by a survey of traps and exits).
#[test]
fn the_argv_copy_of_a_module_linked_through_wasm_opt_is_not_a_leak() {
    let (r, j) = check_json(&edge("c_clean_wasm_opt"), &["--", "x", "y"]);
    r.assert_code(3);
    assert_eq!(j["summary"]["leaked_blocks"], 0, "{}", brief(&j));
    // The array of 3 + 1 pointers and "c_clean_wasm_opt.wasm\0x\0y\0".
    assert_eq!((j["summary"]["runtime_blocks"].as_u64(), j["summary"]["runtime_bytes"].as_u64()), (Some(2), Some(16 + 26)), "{}", brief(&j));
    assert_eq!(j["exit"]["code"], 3, "{}", brief(&j));

    // exit(3) from nested calls, two of which hold a buffer in a local. The first of them is the frame right under
    // `_start` (`main` was inlined there): it was skipped as start code, and its buffer called lost.
    let (r, j) = check_json(&edge("c_clean_wasm_opt"), &["--", "nested"]);
    r.assert_code(3);
    assert_eq!(j["summary"]["leaked_blocks"], 0, "{}", brief(&j));
    assert_eq!((j["summary"]["thread_held_blocks"].as_u64(), j["summary"]["thread_held_bytes"].as_u64()), (Some(2), Some(128)), "{}", brief(&j));
}

/// `main` overwrites its only pointer to a block, frees the owner of another and adds up the length a helper
/// returns, which forgot its block, then calls exit() (fixtures/edge/c/exit_after_overwrite.c, -O2):
/// LeakSanitizer reports 260 bytes leaked in 3 allocations. The first result of `make` went straight to `puts`,
/// never into one of `main`'s locals, `make_d` returned `d`, not `d->name`, and `made_length` a length: none can
/// be held there — the first two were called held by `main` before. `line`, kept in a local until exit, stays
/// held (by `__original_main`: clang's name for a `main(void)`). At -O0 the results went through locals only to
/// be stored to the variables' stack slots, and `made_length`'s body ends in a `return` and an `end` not reached
/// (read as "returns anything" before, so its block was held): lost too; `line` is in its slot.
#[test]
fn exit_after_overwriting_a_pointer_reports_its_block_lost() {
    let lost = |j: &Value| {
        let mut sites: Vec<(String, u64)> = groups(j)
            .iter()
            .filter(|g| g["kind"] == "lost")
            .map(|g| (g["site"]["function"].as_str().unwrap_or_default().to_string(), g["bytes"].as_u64().unwrap()))
            .collect();
        sites.sort();
        sites
    };
    let want = vec![("make".to_string(), 100), ("make".to_string(), 100), ("make_d".to_string(), 60)];
    let (r, j) = check_json(&edge("c_exit_after_overwrite_o0"), &[]);
    r.assert_code(1);
    assert_eq!(lost(&j), want, "{}", brief(&j));
    assert_eq!((j["summary"]["reachable_bytes"].as_u64(), j["summary"]["thread_held_bytes"].as_u64()), (Some(256), None), "{}", brief(&j));

    let (r, j) = check_json(&edge("c_exit_after_overwrite"), &[]);
    r.assert_code(1);
    assert_eq!(lost(&j), want, "{}", brief(&j));
    assert_eq!(j["summary"]["leaked_blocks"], 3, "{}", brief(&j));
    let held: Vec<u64> = groups(&j)
        .iter()
        .filter(|g| g["root"].as_str().is_some_and(|n| n.starts_with("`__original_main` (on the stack when the guest called exit())")))
        .map(|g| g["bytes"].as_u64().unwrap())
        .collect();
    assert_eq!(held, vec![256], "{}", brief(&j));
}

/// `main` ends with exit() while two buffers are only in its wasm locals (fixtures/edge/c/exit_in_main.c, -O2):
/// LeakSanitizer reports nothing there, and `check` counts them as held by `main` (crates/instrument/src/exit.rs) — not
/// lost, as it did. Blocks a helper returning nothing made stay lost; more unreachable blocks `main` made than it
/// has locals: all stay lost, with the bound in a note. `main` returning (wasi-libc's `_start` then calls proc_exit itself): its leak is lost, as always.
#[test]
fn exit_inside_main_counts_what_its_locals_may_hold() {
    let m = edge("c_exit_in_main");
    let (r, j) = check_json(&m, &["--", "held"]);
    r.assert_code(0);
    assert_eq!(j["summary"]["leaked_blocks"], 0, "{}", brief(&j));
    let held_by_main = |j: &Value| {
        groups(j)
            .iter()
            .filter(|g| g["root"].as_str().is_some_and(|n| n.starts_with("`main` (on the stack when the guest called exit())")))
            .fold((0, 0), |(b, n), g| (b + g["blocks"].as_u64().unwrap(), n + g["bytes"].as_u64().unwrap()))
    };
    assert_eq!(held_by_main(&j), (2, 256 + 104), "{}", brief(&j));

    // A helper returning nothing made them: they cannot be in `main`'s locals.
    let (r, j) = check_json(&m, &["--", "helper"]);
    r.assert_code(1);
    assert_eq!((j["summary"]["lost_blocks"].as_u64(), j["summary"]["lost_bytes"].as_u64()), (Some(40), Some(40 * 24)), "{}", brief(&j));
    assert_eq!(held_by_main(&j), (2, 256 + 104), "{}", brief(&j));

    let (r, j) = check_json(&m, &["--", "loop"]);
    r.assert_code(1);
    // One call site's results go into one local, each overwriting the last: of the loop's 40 blocks only the
    // last can be there (LeakSanitizer would find at most that one on the stack).
    assert_eq!((j["summary"]["lost_blocks"].as_u64(), j["summary"]["lost_bytes"].as_u64()), (Some(39), Some(39 * 24)), "{}", brief(&j));
    assert_eq!(held_by_main(&j), (3, 256 + 104 + 24), "{}", brief(&j));

    let (r, j) = check_json(&m, &["--", "return"]);
    r.assert_code(1);
    assert_eq!((j["summary"]["lost_blocks"].as_u64(), j["summary"]["lost_bytes"].as_u64()), (Some(1), Some(24)), "{}", brief(&j));
    assert_eq!(j["exit"]["code"], 3, "{}", brief(&j));
}

/// A `#[global_allocator]` (the dlmalloc crate's `GlobalDlmalloc`, fixtures/edge/rust-galloc): with cargo's
/// release defaults its forwarders are inlined into the program, which then calls the crate's inner
/// `dlmalloc::dlmalloc::Dlmalloc::{malloc, free, memalign}` — `(self, size)`, `(self, ptr)`, `(self, align, size)` —
/// while std's own code still calls `__rust_alloc`. Those were taken for `malloc(size)` and `free(ptr)` and read
/// `self`: 248 blocks "leaked" and 245 invalid frees in a program that forgets three boxes.
#[test]
fn a_dlmalloc_global_allocator_inlined_into_the_program() {
    for build in ["o0", "o2", "o3_default"] {
        let module = edge(&format!("rust_galloc_dlmalloc_{build}"));
        let (r, j) = check_json(&module, &[]);
        r.assert_code(1);
        assert_eq!(site_total(&j, "lost", "rust_galloc_dlmalloc::forget_boxes"), (3, 96), "{build}: {}", brief(&j));
        assert_eq!((summary(&j, "lost_blocks"), summary(&j, "lost_bytes")), (3, 96), "{build}: {}", brief(&j));
        assert_eq!((summary(&j, "indirect_blocks"), summary(&j, "invalid_frees")), (0, 0), "{build}: {}", brief(&j));
        assert_eq!((summary(&j, "reachable_blocks"), summary(&j, "reachable_bytes")), (3, 144), "{build}: {}", brief(&j));
        assert_eq!(summary(&j, "allocations") - summary(&j, "frees"), 6, "{build}: {}", brief(&j));
        // Forgotten, not dropped by an owner: std's stdout buffer, freed at exit, has stale words past its text
        // that pointed at earlier blocks at the boxes' addresses (an earlier HashMap's), and was named their owner.
        let lost = j["groups"].as_array().unwrap().iter().find(|g| g["kind"] == "lost").expect("the lost group");
        assert!(lost["freed_owner"].is_null(), "{build}: {}", lost["freed_owner"]);
    }
    // Stripped, nothing names the crate's methods, and the code shape finds wasi-libc's malloc, which the
    // program never calls — while the crate grows the memory itself, outside it: refused (no verdict before, as
    // nothing was seen; a run that reached libc's malloc a few times would have been called clean).
    let r = wasmleak(vec!["check".into(), stripped(&edge("rust_galloc_dlmalloc_o3_default")).into_os_string()]);
    r.assert_code(2);
    assert!(r.stderr.contains("is not the only way in") && r.stderr.contains("grows the memory itself and is reached outside it"), "{}", r.describe());
}

/// emballoc (fixtures/edge/rust-galloc/src/emballoc.rs): a heap in a static array, which never grows the memory.
/// At opt-level 0 the shims are the way in: exact. With cargo's release defaults the allocator is inlined into
/// the program's own code, which then allocates and frees unseen: refused — also where its `GlobalAlloc` impl stays
/// a function of its own that the program calls beside the shims (lib.rs `bypassed_rust_shims`: found by a survey,
/// where every leak was missed and std's blocks the program freed were called lost, exit 1 on a clean program).
#[test]
fn a_static_array_global_allocator_is_tracked_out_of_line_and_refused_inlined() {
    let (r, j) = check_json(&edge("rust_galloc_emballoc_o0"), &[]);
    r.assert_code(1);
    assert_eq!((summary(&j, "lost_blocks"), summary(&j, "lost_bytes")), (3, 96), "{}", brief(&j));
    assert_eq!(summary(&j, "invalid_frees"), 0, "{}", brief(&j));
    let r = wasmleak(vec!["check".into(), edge("rust_galloc_emballoc_o3_default").into_os_string()]);
    r.assert_code(2);
    assert!(r.stderr.contains("Rust's allocator shims (__rustc::__rust_alloc…) are not the only way in"), "{}", r.describe());
}

/// A program's own allocator behind `malloc`/`free` whose body clang inlined into the program (-O2): the program
/// calls `pool_alloc` itself, `malloc` only libc's strdup — refused, naming the way around `malloc`; it read one
/// lost 5-byte block (the strdup's, its free inlined too) instead of the 3 lost 32-byte ones (allocator survey:
/// umm_malloc and TLSF ports, where the frees were also withheld from the allocator as invalid).
#[test]
fn an_allocator_entry_point_inlined_into_the_program_is_refused() {
    let r = wasmleak(vec!["check".into(), edge("c_malloc_body_inlined").into_os_string()]);
    r.assert_code(2);
    assert!(r.stderr.contains("malloc is not the only way into the allocator") && r.stderr.contains("`pool_alloc`"), "{}", r.describe());
    // The program, run plain, is unchanged: it prints and exits 0.
    let plain = wasmleak(vec!["run".into(), edge("c_malloc_body_inlined").into_os_string()]);
    plain.assert_code(0);
    assert!(plain.stdout.contains("made 4"), "{}", plain.describe());
}

/// A 1 MiB stack above the static data, with nothing that says where the static data ends (clang's default layout,
/// `-z stack-size`): the dead stack below the stack pointer is not scanned as static data however deep the program
/// went — the rewrite keeps the lowest the stack pointer went. From 62 frames of 1 KiB down, a stale copy there held
/// the leaked block "reachable", exit 0 (Lua at -O0 without lua_close: 0 leaked). Stripped the same.
#[test]
fn a_deep_dead_stack_holds_nothing() {
    let m = edge("c_deep_stack");
    // `why` names the runtime's argv copy as `check` counts it (it called those blocks "lost").
    let dir = scratch("deep-stack-why");
    let _ = std::fs::remove_dir_all(&dir);
    let (r, _) = check_json(&m, &["--save", dir.to_str().unwrap(), "--", "10"]);
    r.assert_code(1);
    let w = wasmleak(vec!["why".into(), dir.join("1.wlsnap").into_os_string(), "__main_void".into()]);
    assert!(w.stdout.contains("B, runtime) __main_void") && !w.stdout.contains("B, lost) __main_void"), "{}", w.describe());
    assert!(w.stdout.contains("not counted as a leak"), "{}", w.describe());
    for module in [m.clone(), stripped(&m)] {
        for depth in ["10", "62", "500"] {
            let (r, j) = check_json(&module, &[depth]);
            r.assert_code(1);
            assert_eq!((summary(&j, "lost_blocks"), summary(&j, "lost_bytes"), summary(&j, "reachable_blocks")), (1, 100, 0), "{} {depth}: {}", module.display(), brief(&j));
        }
    }
}

/// Stripped Rust programs: one whose #[global_allocator] is a heap in a static array (emballoc, a bump) has only a
/// C malloc, free and calloc to find — Rust's System allocator would bring realloc and an aligned allocation along —
/// and is refused up front (with a C call that mallocs once it read "1 allocation, 0 leaked", exit 0: allocator
/// survey); one whose allocator is a layer over System (a header) is still tracked exactly.
#[test]
fn a_stripped_rust_program_with_another_global_allocator_is_refused() {
    for name in ["rust_galloc_emballoc_o0", "rust_galloc_bump_oz"] {
        let r = wasmleak(vec!["check".into(), stripped(&edge(name)).into_os_string()]);
        r.assert_no_panic();
        r.assert_code(2);
        assert!(r.stderr.contains("are a C allocator's, and nothing of Rust's System allocator goes to it"), "{name}: {}", r.describe());
    }
    let (r, j) = check_json(&stripped(&edge("rust_galloc_header_o3_default")), &[]);
    r.assert_code(1);
    assert_eq!((summary(&j, "lost_blocks"), summary(&j, "lost_bytes")), (3, 144), "{}", brief(&j));
}

/// What stacks can show is said once, as it is: a build whose DWARF wasm-opt left describing code it rewrote (compiled
/// with -g, linked through wasm-opt) maps nothing — `inspect` said "file:line available" and the report said nothing
/// while every frame was `func[N]`; a stripped module names no function (the report said "stacks show function
/// names").
#[test]
fn a_report_says_what_its_stacks_can_show() {
    let notes = |m: &Path, args: &[&str]| check_json(m, args).1["notes"].to_string();
    let stale = edge("c_clean_wasm_opt_g");
    assert!(notes(&stale, &["--", "x"]).contains("the module's DWARF maps none of its code and it names no function"));
    let i = wasmleak(vec!["inspect".into(), stale.into_os_string()]);
    assert!(i.stdout.contains("DWARF: yes, but it maps none of the code"), "{}", i.describe());
    let n = notes(&stripped(&fixture("c_patterns.wasm")), &["malloc_no_free"]);
    assert!(n.contains("no DWARF and no name section (stripped): stacks show func[N] but for its exported functions"), "{n}");
    let n = notes(&without_dwarf(&fixture("c_patterns.wasm")), &["malloc_no_free"]);
    assert!(n.contains("the module has no DWARF: stacks show function names"), "{n}");
    assert!(!notes(&fixture("c_patterns.wasm"), &["malloc_no_free"]).contains("DWARF"));
}

/// Emscripten -O2 standalone, no names (fixtures/edge/emscripten/mix.c): dlmalloc's posix_memalign keeps dlmemalign
/// inlined, so it calls no memalign helper the shape would know it by; found as the memalign-like function of its
/// shape and confirmed by calling it. Unhooked, the 64-byte aligned block read as the inner malloc's padded request,
/// 148 B: 1,882 B leaked for 1,798 (Emscripten survey). Every block and byte exact now.
#[test]
fn a_stripped_posix_memalign_with_memalign_inlined_is_hooked() {
    let m = edge("em_mix_sa_O2");
    let i = wasmleak(vec!["inspect".into(), m.clone().into_os_string()]);
    assert!(i.stdout.contains("posix_memalign      function"), "{}", i.describe());
    let (r, j) = check_json(&m, &["leak"]);
    r.assert_code(1);
    assert_eq!((summary(&j, "leaked_blocks"), summary(&j, "leaked_bytes")), (18, 1798), "{}", brief(&j));
    assert_eq!((summary(&j, "reachable_blocks"), summary(&j, "reachable_bytes")), (1, 123), "{}", brief(&j));
}

/// A cycle's advice follows what its blocks are: rings of plain pointers (Valgrind's leak-cycle pattern in C; a
/// forgotten `new std::list`, whose nodes point back at it) are to be freed as a structure — the advice of a weak back
/// edge was wrong there (C++ survey) — while a ring with a reference count's header is a reference cycle even
/// without names: an `Rc` cycle (Rust) and a `shared_ptr` cycle (C++) in stripped builds. The kinds stay `cycle`.
#[test]
fn a_cycles_advice_tells_plain_pointers_from_reference_counts() {
    let hints = |m: &Path, args: &[&str]| -> Vec<String> {
        let (_, j) = check_json(m, args);
        j["groups"].as_array().unwrap().iter().filter(|g| g["kind"] == "cycle").map(|g| g["hint"].as_str().unwrap().to_string()).collect()
    };
    let plain = hints(&edge("vg_leak_cycle"), &[]);
    assert!(!plain.is_empty() && plain.iter().all(|h| h.starts_with("cycle of plain pointers")), "{plain:?}");
    for (m, args) in [(stripped(&fixture("rust_patterns.wasm")), ["rc_cycle", "3"]), (fixture("cpp_patterns_stripped.wasm"), ["shared_ptr_cycle", ""])] {
        let args: Vec<&str> = args.into_iter().filter(|a| !a.is_empty()).collect();
        let counted = hints(&m, &args);
        assert!(!counted.is_empty() && counted.iter().all(|h| h.starts_with("reference cycle:")), "{}: {counted:?}", m.display());
    }
}

/// A bump allocator of the program's own as `malloc`, inlined whole into the function that allocates (-O2), which then
/// bumps `top` itself and calls nothing of the allocator's: refused, naming that function and the state it writes —
/// it read "1 allocation, 0 leaked", exit 0, while 4 blocks of 48 bytes were lost. Run plain, the program is unchanged.
#[test]
fn a_small_malloc_inlined_whole_is_refused() {
    let m = edge("c_own_bump_inlined");
    let r = wasmleak(vec!["check".into(), m.clone().into_os_string()]);
    r.assert_no_panic();
    r.assert_code(2);
    assert!(r.stderr.contains("malloc looks inlined into the program's own code: func 9 `drop_some` reads and writes the static at 0x490"), "{}", r.describe());
    assert!(!r.stderr.contains("may have no heap"), "its names say it has an allocator: {}", r.describe());
    let plain = wasmleak(vec!["run".into(), m.into_os_string()]);
    plain.assert_code(0);
    assert!(plain.stdout.contains("done"), "{}", plain.describe());
}

/// An allocator of the program's own under its own names beside wasi-libc's malloc (which only strdup uses): refused,
/// listing its functions — it read "1 allocation, 1 free", exit 0, on the 3 lost pool blocks (allocator survey: TLSF,
/// umm_malloc and pool allocators beside libc). Naming them tracks them: exact.
#[test]
fn an_allocator_of_the_programs_own_beside_malloc_is_named_not_passed() {
    let m = edge("c_own_pool_beside_malloc");
    let r = wasmleak(vec!["check".into(), m.clone().into_os_string()]);
    r.assert_code(2);
    assert!(r.stderr.contains("would not see every allocation") && r.stderr.contains("`pool_alloc`") && r.stderr.contains("`pool_free`"), "{}", r.describe());
    let (r, j) = check_json(&m, &["--alloc-fn", "pool_alloc", "--free-fn", "pool_free", "--"]);
    r.assert_code(1);
    assert_eq!(kind_total(&j, "lost"), (3, 96), "{}", brief(&j));
}

/// With LTO the `#[global_allocator]` is inlined past Rust's shims, which are gone: only wasi-libc's named `malloc`
/// is left to hook, and the run saw "0 allocations" — exit 0 on the fixtures' 3 lost blocks (allocator survey: wee_alloc,
/// lol_alloc, rlsf, bump and buddy allocators). wee_alloc's `GlobalAlloc` impl, called from the program's own code,
/// is refused as another allocator; emballoc's, inlined whole, leaves Rust's `alloc` code and no Rust entry point:
/// no allocation seen is no verdict (exit 2), not a clean program.
#[test]
fn a_global_allocator_inlined_by_lto_is_refused_not_passed() {
    let r = wasmleak(vec!["check".into(), edge("rust_galloc_wee_lto").into_os_string()]);
    r.assert_code(2);
    let why = "`<wee_alloc::WeeAlloc as core::alloc::global::GlobalAlloc>::";
    assert!(r.stderr.contains("would not see every allocation") && r.stderr.contains(why), "{}", r.describe());
    let r = wasmleak(vec!["check".into(), edge("rust_galloc_emballoc_lto").into_os_string()]);
    r.assert_code(2);
    assert!(r.stdout.contains("INCONCLUSIVE: no allocation or free was seen"), "{}", r.describe());
}

/// A `#[global_allocator]` over `System` that puts a 16-byte header in front of each block
/// (fixtures/edge/rust-galloc/src/header.rs). With cargo's release defaults it is inlined into the program, which
/// calls `posix_memalign` and `free` itself, while `format!` (std's code) calls `__rust_alloc`: hooked at both
/// layers, a string allocated by one and freed by the other was an invalid free and a leak (13 lost, 10 invalid
/// frees). Every allocation reaches the C layer, so only it is hooked then, and its sizes include the header.
#[test]
fn a_global_allocator_that_moves_pointers_is_hooked_at_one_layer() {
    for (build, bytes) in [("o0", 96), ("o3_default", 3 * (32 + 16))] {
        let (r, j) = check_json(&edge(&format!("rust_galloc_header_{build}")), &[]);
        r.assert_code(1);
        assert_eq!(site_total(&j, "lost", "rust_galloc_header::forget_boxes"), (3, bytes), "{build}: {}", brief(&j));
        assert_eq!((summary(&j, "lost_blocks"), summary(&j, "indirect_blocks"), summary(&j, "invalid_frees")), (3, 0, 0), "{build}: {}", brief(&j));
        assert_eq!(summary(&j, "reachable_blocks"), 3, "{build}: {}", brief(&j));
        assert_eq!((summary(&j, "allocations"), summary(&j, "frees")), (27, 21), "{build}: {}", brief(&j));
    }
    let hooked = |build: &str| {
        let out = wasmleak(&["inspect", "--format", "json", edge(&format!("rust_galloc_header_{build}")).to_str().unwrap()]);
        let j: Value = serde_json::from_str(&out.stdout).unwrap();
        j["allocator"]["entry_points"].as_array().unwrap().iter().map(|e| e["role"].as_str().unwrap().to_string()).collect::<Vec<_>>()
    };
    assert!(hooked("o0").iter().any(|r| r == "rust_alloc"), "{:?}", hooked("o0"));
    assert!(!hooked("o3_default").iter().any(|r| r.starts_with("rust_")), "{:?}", hooked("o3_default"));
}

/// A `#[global_allocator]` inlined into the program's own code (lol_alloc's `LeakingAllocator` with cargo's
/// release defaults, fixtures/edge/rust-galloc/src/lol.rs): the program's allocations never reach a hooked
/// function, and nothing reuses an address to give it away. It used to report the frees made there as leaks
/// (10 "lost") and miss the three forgotten boxes; now it is refused, naming the function that does it. Out of
/// line (opt-level 0), the same program gives its ground truth.
#[test]
fn a_global_allocator_inlined_into_the_program_is_refused() {
    let r = wasmleak(vec!["check".into(), edge("rust_galloc_lol_o3_default").into_os_string()]);
    r.assert_no_panic();
    r.assert_code(2);
    assert!(r.stderr.contains("__rust_alloc") && r.stderr.contains("are not the only way in"), "{}", r.describe());
    assert!(r.stderr.contains("rust_galloc_lol::"), "{}", r.describe());
    let (r, j) = check_json(&edge("rust_galloc_lol_o0"), &[]);
    r.assert_code(1);
    assert_eq!(site_total(&j, "lost", "rust_galloc_lol::forget_boxes"), (3, 96), "{}", brief(&j));
    assert_eq!((summary(&j, "lost_blocks"), summary(&j, "invalid_frees")), (3, 0), "{}", brief(&j));
}

/// TLSF (fixtures/edge/ported/tlsf) as malloc over a static pool (fixtures/edge/c/tlsf_pool.c): the pool is the
/// allocator's arena, not a root — its control at the start and its sentinel at the end held a leaked block "reachable
/// from static pool" (allocator survey: 9 of 10 lost, 0 of 1: exit 0). Without DWARF to name the pool, its extent
/// comes from the code: from the allocator's constant at or below the lowest block (the pool's base) to the next static
/// the program reads or writes (it held 1 of 1 "reachable", exit 0, in the build without DWARF). With malloc inlined into the program, which
/// then calls `tlsf_malloc` itself, those allocations would not be seen: refused (it read "2 allocations", exit 0,
/// once TLSF's own functions counted as the allocator's).
#[test]
fn tlsf_over_a_static_pool_is_judged_by_its_blocks() {
    for m in [edge("c_tlsf_pool"), without_dwarf(&edge("c_tlsf_pool"))] {
        for n in [1u64, 10] {
            let (r, j) = check_json(&m, &["leak", &n.to_string(), "48"]);
            r.assert_code(1);
            assert_eq!(site_total(&j, "lost", "make"), (n, 48 * n), "{}: {}", m.display(), brief(&j));
            assert_eq!((summary(&j, "lost_blocks"), summary(&j, "reachable_blocks")), (n, 0), "{}: {}", m.display(), brief(&j));
        }
    }
    let (r, j) = check_json(&edge("c_tlsf_pool"), &["clean", "10", "48"]);
    r.assert_code(0);
    assert_eq!((summary(&j, "leaked_blocks"), summary(&j, "reachable_blocks"), summary(&j, "frees")), (0, 0, 20), "{}", brief(&j));
    let r = wasmleak(vec!["check".into(), edge("c_tlsf_pool_inlined").into_os_string(), "leak".into(), "10".into(), "48".into()]);
    r.assert_code(2);
    assert!(r.stderr.contains("`make` calls func") && r.stderr.contains("`tlsf_malloc`"), "{}", r.describe());
    // Named by hand, TLSF's own functions, which take their context first: every block, with its size.
    let named = ["--alloc-fn", "tlsf_malloc(ctx, size)", "--free-fn", "tlsf_free(ctx, ptr)"];
    let (r, j) = check_json(&edge("c_tlsf_pool_inlined"), &[&named[..], &["leak", "10", "48"]].concat());
    r.assert_code(1);
    assert_eq!(site_total(&j, "lost", "make"), (10, 480), "{}", brief(&j));
    assert_eq!((summary(&j, "lost_blocks"), summary(&j, "invalid_frees"), summary(&j, "frees")), (10, 0, 10), "{}", brief(&j));
}

/// talc as `#[global_allocator]` (fixtures/edge/rust-galloc/src/talc.rs): with cargo's release defaults the
/// program calls `Talc::malloc(self, layout)` and `Talc::free(self, ptr, layout)` itself — refused, naming them;
/// named by hand, their `Layout` is (align, size) after `self`: the ground truth (they were refused by signature,
/// and a Layout-taking method without `self` read every block as its alignment, 1 B; allocator survey). Out of line
/// (opt-level 0) the shims see it all.
#[test]
fn a_rust_allocators_own_methods_named_by_hand_read_the_layout() {
    let m = edge("rust_galloc_talc_o3_default");
    let r = wasmleak(vec!["check".into(), m.clone().into_os_string()]);
    r.assert_code(2);
    assert!(r.stderr.contains("talc::talc::Talc<O>::malloc"), "{}", r.describe());
    let (r, j) = check_json(&m, &["--alloc-fn", "talc::talc::Talc<O>::malloc", "--free-fn", "talc::talc::Talc<O>::free"]);
    r.assert_code(1);
    assert_eq!(site_total(&j, "lost", "rust_galloc_talc::forget_boxes"), (3, 96), "{}", brief(&j));
    assert_eq!((summary(&j, "lost_blocks"), summary(&j, "invalid_frees"), summary(&j, "allocations")), (3, 0, 24), "{}", brief(&j));
    let (r, j) = check_json(&edge("rust_galloc_talc_o0"), &[]);
    r.assert_code(1);
    assert_eq!((summary(&j, "lost_blocks"), summary(&j, "lost_bytes"), summary(&j, "invalid_frees")), (3, 96, 0), "{}", brief(&j));
}

/// A bump `#[global_allocator]` whose dealloc does nothing (fixtures/edge/rust-galloc/src/bump.rs): at opt-level z
/// `__rust_dealloc` is an empty function and the program's drops call nothing, so the 20 vectors `churn` drops read
/// as 20 lost (exit 1 on a clean program; allocator survey). Now no verdict, saying why; at opt-level 0 the drops
/// reach the hooked shim and the run is clean.
#[test]
fn a_free_that_does_nothing_gives_no_verdict() {
    let (r, j) = check_json(&edge("rust_galloc_bump_oz"), &[]);
    r.assert_code(2);
    assert_eq!(j["inconclusive_reason"], "frees_not_seen", "{}", brief(&j));
    assert!(j["inconclusive"].as_str().is_some_and(|t| t.contains("__rust_dealloc") && t.contains("does nothing")), "{}", j["inconclusive"]);
    assert_eq!(summary(&j, "allocations"), 21, "{}", brief(&j));
    let (r, j) = check_json(&edge("rust_galloc_bump_o0"), &[]);
    r.assert_code(0);
    assert_eq!((summary(&j, "leaked_blocks"), summary(&j, "allocations"), summary(&j, "frees")), (0, 21, 21), "{}", brief(&j));
}

/// wee_alloc as `#[global_allocator]` (fixtures/edge/rust-galloc/src/wee.rs): with cargo's release defaults the
/// program's inlined code calls `<WeeAlloc as GlobalAlloc>::alloc`/`dealloc` itself, and those are hooked as well
/// (their `Layout` as (align, size), as the shims' calls show): the same ground truth as out of line. It was
/// INCONCLUSIVE (addresses handed out again that wasmleak still counted live). Stripped, with the named build as
/// `--debug-file`, the same: the impl was looked for in the name section only, and the module refused (Rust
/// survey: its names came from the debug file, the shims' did).
#[test]
fn a_global_alloc_impl_the_program_calls_itself_is_hooked() {
    let named = edge("rust_galloc_wee_o3_default");
    let with_debug_file = ["--debug-file", named.to_str().unwrap()];
    for (build, module, rest) in [("o0", edge("rust_galloc_wee_o0"), &[][..]), ("o3_default", named.clone(), &[]), ("o3_default stripped", stripped(&named), &with_debug_file)] {
        let (r, j) = check_json(&module, rest);
        r.assert_code(1);
        assert!(j["inconclusive"].is_null(), "{build}: {}", brief(&j));
        assert_eq!(site_total(&j, "lost", "rust_galloc_wee::forget_boxes"), (3, 96), "{build}: {}", brief(&j));
        assert_eq!((summary(&j, "lost_blocks"), summary(&j, "invalid_frees")), (3, 0), "{build}: {}", brief(&j));
        assert_eq!((summary(&j, "allocations"), summary(&j, "frees")), (24, 21), "{build}: {}", brief(&j));
    }
    let out = wasmleak(["inspect", "--format", "json", edge("rust_galloc_wee_o3_default").to_str().unwrap()]);
    let j: Value = serde_json::from_str(&out.stdout).unwrap();
    let roles: Vec<&str> = j["allocator"]["entry_points"].as_array().unwrap().iter().filter_map(|e| e["role"].as_str()).collect();
    assert!(roles.contains(&"global_alloc") && roles.contains(&"global_dealloc"), "{roles:?}");
}

/// `--stacks off` takes no allocation stacks, and what needed them was lost silently (Zig/toolchains survey): the
/// runtime's argv copy is told by what its two blocks hold (LSan's leak_check_at_exit: the same report as with
/// stacks, where its 8 + 29 B were lost and indirect), and a guest that called exit() inside `main` says which
/// blocks `main` may hold cannot be told.
#[test]
fn stacks_off_keeps_the_argv_copy_apart_and_says_what_it_cannot_tell() {
    for rest in [&[][..], &["--stacks", "off"]] {
        let (r, j) = check_json(&edge("lsan_leak_check_at_exit"), rest);
        r.assert_code(1);
        assert_eq!((summary(&j, "lost_blocks"), summary(&j, "lost_bytes"), summary(&j, "indirect_blocks")), (1, 1337, 0), "{rest:?}: {}", brief(&j));
        assert_eq!(summary(&j, "runtime_blocks"), 2, "{rest:?}: {}", brief(&j));
    }
    let (r, j) = check_json(&edge("c_exit_in_main"), &["--stacks", "off", "--", "held"]);
    assert!(has_note(&j, "the guest called exit() while `main` was still running, and no allocation stacks were taken"), "{}", r.describe());
}
