//! `check` on stripped modules (no name section, no DWARF): the allocator is found by its code shape, a
//! one-line note says so, and the report has the same blocks and bytes per kind as on the named twin.

mod common;

use common::*;

fn per_kind(report: &serde_json::Value) -> Vec<(&'static str, (u64, u64))> {
    KINDS.iter().map(|&k| (k, kind_total(report, k))).collect()
}

fn same_report(named: &str, stripped: &str, rest: &[&str]) {
    let (rn, jn) = check_json(&fixture(named), rest);
    let (rs, js) = check_json(&fixture(stripped), rest);
    assert_eq!(rs.code(), rn.code(), "{}\n{}", rs.describe(), rn.describe());
    assert_eq!(per_kind(&js), per_kind(&jn), "{stripped} vs {named}");
    for f in ["allocations", "frees", "leaked_blocks", "leaked_bytes", "invalid_frees"] {
        assert_eq!(summary(&js, f), summary(&jn, f), "summary.{f}");
    }
    let note = "allocator found by its code shape and confirmed by calling it in a scratch instance (confidence high)";
    assert!(rs.stderr.contains(note), "{}", rs.describe());
    assert!(rs.stderr.contains("wasmleak inspect"), "{}", rs.describe());
    assert!(!rn.stderr.contains("code shape"), "{}", rn.describe());
}

/// Per-kind totals of N=20 minus N=10: the per-iteration part, without one-time runtime blocks (wasi-libc's
/// argv blocks are told apart by the name `__main_void`, which a stripped module does not have).
fn per_iteration(module: &str, pattern: &str) -> Vec<(&'static str, (u64, u64))> {
    let (_, a) = check_json(&fixture(module), &["--", pattern, "10"]);
    let (_, b) = check_json(&fixture(module), &["--", pattern, "20"]);
    KINDS.iter().map(|&k| (k, (kind_total(&b, k).0 - kind_total(&a, k).0, kind_total(&b, k).1 - kind_total(&a, k).1))).collect()
}

#[test]
fn emscripten_dlmalloc_lost() {
    same_report("emscripten_patterns.wasm", "emscripten_stripped.wasm", &["--", "lost", "10"]);
    let (_, j) = check_json(&fixture("emscripten_stripped.wasm"), &["--", "lost", "10"]);
    assert_eq!(kind_total(&j, "lost"), (10, 240));
}

#[test]
fn emscripten_dlmalloc_list_lost() {
    same_report("emscripten_patterns.wasm", "emscripten_stripped.wasm", &["--", "list_lost", "10"]);
}

#[test]
fn emscripten_emmalloc_list_lost() {
    same_report("emscripten_emmalloc.wasm", "emscripten_emmalloc_stripped.wasm", &["--", "list_lost", "10"]);
}

/// emmalloc at -O2 (Emscripten 3.1.6): wasm-opt dropped its core's alignment parameter (every caller passed the
/// same constant) and inlined `malloc` and `free` into the program, which calls the core, now `(size) -> ptr`,
/// directly. It was not found ("no allocator-shaped state found"). The same leaks as the -O1 build with names.
#[test]
fn emscripten_emmalloc_at_o2_calls_its_core_directly() {
    for pattern in ["lost", "list_lost", "ok"] {
        let (r, j) = check_json(&fixture("emscripten_emmalloc_O2.wasm"), &["--", pattern, "10"]);
        let (rn, jn) = check_json(&fixture("emscripten_emmalloc.wasm"), &["--", pattern, "10"]);
        assert_eq!(r.code(), rn.code(), "{pattern}: {}", r.describe());
        assert_eq!(per_kind(&j), per_kind(&jn), "{pattern}");
        assert!(r.stderr.contains("allocator found by its code shape and confirmed by calling it"), "{}", r.describe());
    }
    let (_, j) = check_json(&fixture("emscripten_emmalloc_O2.wasm"), &["--", "list_lost", "10"]);
    assert_eq!((kind_total(&j, "lost"), kind_total(&j, "indirect")), ((10, 160), (20, 320)));
}

#[test]
fn wasi_libc_patterns() {
    for p in ["lost", "calloc_realloc", "posix_memalign", "list_lost", "ok"] {
        assert_eq!(per_iteration("c_patterns_stripped.wasm", p), per_iteration("c_patterns.wasm", p), "{p}");
    }
    let (r, j) = check_json(&fixture("c_patterns_stripped.wasm"), &["--", "posix_memalign", "10"]);
    assert!(r.stderr.contains("allocator found by its code shape and confirmed by calling it in a scratch instance (confidence high)"), "{}", r.describe());
    // 10 × (200 + 256) B; wasi-libc's one-time argv copy is the runtime's, as in the named module: its
    // `__main_void` is recognised by the WASI imports it calls (args_sizes_get, args_get).
    assert_eq!(kind_total(&j, "lost"), (20, 4560));
    let (_, named) = check_json(&fixture("c_patterns.wasm"), &["--", "posix_memalign", "10"]);
    for k in ["runtime_blocks", "leaked_blocks", "leaked_bytes", "reachable_blocks"] {
        assert_eq!(j["summary"][k], named["summary"][k], "{k}");
    }
    assert_eq!(j["summary"]["runtime_blocks"], 2);
    // argv[0] is the module's path: "_stripped" is 9 bytes longer.
    assert_eq!(u(&j["summary"]["runtime_bytes"], "runtime") - u(&named["summary"]["runtime_bytes"], "runtime"), 9);
}

#[test]
fn rust_lib_host_and_cache() {
    for (m, s) in [("rust_lib.wasm", "rust_lib_stripped.wasm"), ("rust_lib_lto.wasm", "rust_lib_lto_stripped.wasm")] {
        same_report(m, s, &["--invoke", "create_processor", "--repeat", "5"]);
        same_report(m, s, &["--invoke", "leak_forget", "--repeat", "5"]);
        same_report(m, s, &["--invoke", "cache_insert", "--repeat", "20"]);
    }
}

#[test]
fn bump_allocator_fails_clearly() {
    let path = wat_file(
        "bump_stripped",
        r#"(module (memory (export "memory") 1) (global $top (mut i32) (i32.const 1024))
             (func $alloc (param i32) (result i32) (local i32)
               global.get $top local.set 1
               global.get $top local.get 0 i32.add global.set $top
               i32.const 1 memory.grow drop
               local.get 1)
             (func (export "_start") i32.const 16 call $alloc drop))"#,
    );
    let r = wasmleak(vec!["check".into(), path.clone().into_os_string()]);
    r.assert_no_panic();
    r.assert_code(2);
    assert!(r.stderr.contains("no allocator found"), "{}", r.describe());
    assert!(r.stderr.contains("wasmleak inspect"), "{}", r.describe());
    // The candidates are `inspect`'s to show.
    let i = wasmleak(vec!["inspect".into(), path.into_os_string()]);
    assert!(i.stdout.contains("memory.grow in func 0"), "{}", i.describe());
}

/// (kind, function index of the innermost real frame) → (blocks, bytes), per iteration (N=20 minus N=10, so
/// one-time blocks drop out). Inlined frames
/// (DWARF) belong to the function they were inlined into; named frames are mapped to their index through the
/// name section, stripped ones are `func[N]`.
fn per_iteration_by_top(module: &str, pattern: &str) -> std::collections::BTreeMap<(String, u32), (i64, i64)> {
    let bytes = std::fs::read(fixture(module)).unwrap();
    let info = wasmleak_instrument::ModuleInfo::parse(&bytes).unwrap();
    let index: std::collections::HashMap<&str, u32> = info.func_names.iter().map(|(i, n)| (n.as_str(), *i)).collect();
    let top = |g: &serde_json::Value| -> u32 {
        let f = g["stack"].as_array().unwrap().iter().find(|f| f["inlined"] != true).expect("a real frame");
        let name = f["function"].as_str().unwrap();
        match name.strip_prefix("func[").and_then(|n| n.strip_suffix(']')) {
            Some(n) => n.parse().unwrap(),
            None => *index.get(name).unwrap_or_else(|| panic!("{module}: {name} is not in the name section")),
        }
    };
    let mut m: std::collections::BTreeMap<(String, u32), (i64, i64)> = Default::default();
    for (n, sign) in [("10", -1i64), ("20", 1)] {
        let (_, j) = check_json(&fixture(module), &["--", pattern, n]);
        for g in groups(&j) {
            let e = m.entry((g["kind"].as_str().unwrap().to_string(), top(g))).or_default();
            e.0 += sign * u(&g["blocks"], "blocks") as i64;
            e.1 += sign * u(&g["bytes"], "bytes") as i64;
        }
    }
    m.retain(|_, v| *v != (0, 0));
    m
}

/// C++ (libc++ over wasi-libc's dlmalloc): stripped, `operator new`/`new[]` (func 47/48) and `operator delete`
/// (49) are found by their code shape, so the allocations are counted once, at the outermost call, with the
/// same sizes as with names, and every stack starts at the caller of `operator new` — the same function as
/// in the named module's report (`make_widget` = func 8, `Widget::Widget` = 9, `Holder::Holder` = 11,
/// `make_peer_cycle` = 13), not inside it (func 47, as before operator new was recognised).
#[test]
fn cpp_operator_new_sites() {
    let want_top = [
        ("new_no_delete", vec![("indirect", 9), ("lost", 8)]),
        ("missing_dtor", vec![("lost", 11)]),
        ("shared_ptr_cycle", vec![("cycle", 13)]),
        ("weak_ptr", vec![]),
        ("ok", vec![]),
    ];
    for (p, tops) in want_top {
        let named = per_iteration_by_top("cpp_patterns.wasm", p);
        let stripped = per_iteration_by_top("cpp_patterns_stripped.wasm", p);
        assert_eq!(stripped, named, "{p}");
        let keys: Vec<(&str, u32)> = stripped.keys().map(|(k, i)| (k.as_str(), *i)).collect();
        assert_eq!(keys, tops, "{p}");
        assert_eq!(per_iteration("cpp_patterns_stripped.wasm", p), per_iteration("cpp_patterns.wasm", p), "{p}");
        let (rn, jn) = check_json(&fixture("cpp_patterns.wasm"), &["--", p, "10"]);
        let (rs, js) = check_json(&fixture("cpp_patterns_stripped.wasm"), &["--", p, "10"]);
        // (Leak-free patterns differ in the exit status: without names the runtime's argv blocks are lost.)
        if !tops.is_empty() {
            assert_eq!(rs.code(), rn.code(), "{}\n{}", rs.describe(), rn.describe());
        }
        for f in ["allocations", "frees", "invalid_frees"] {
            assert_eq!(summary(&js, f), summary(&jn, f), "{p}: summary.{f}");
        }
        assert!(rs.stderr.contains("allocator found by its code shape and confirmed by calling it in a scratch instance (confidence high)"), "{}", rs.describe());
        // No stack starts inside an allocator entry point (operator new 47/48, malloc 59, dlmalloc 60).
        for g in groups(&js) {
            let f = frames(&g["stack"]);
            assert!(!["func[47]", "func[48]", "func[59]", "func[60]"].contains(&f[0].as_str()), "{p}: {f:?}");
        }
    }
    // Exactly: 10 × (8 B Widget + 128 B buffer), 10 × 40 B, 10 × 2 × 24 B.
    let n = per_iteration_by_top("cpp_patterns_stripped.wasm", "new_no_delete");
    assert_eq!(n[&("lost".to_string(), 8)], (10, 80));
    assert_eq!(n[&("indirect".to_string(), 9)], (10, 1280));
}

/// `wasm-ld --wrap=malloc` (napi-rs' wasm32-wasi layout): the program allocates through `__wrap_malloc`, and the
/// exports `malloc`/`free` only forward to the wrappers for the JS glue. Whether the wrappers are exported under
/// their names (c_wrapped_malloc) or not (c_wrapped_hidden, found as what the exports forward to, and the
/// wrapped calloc/realloc by shape), every call is seen: per round 3 allocations, a realloc, 2 frees, 40 B lost.
#[test]
fn malloc_wrapped_by_the_linker() {
    // What is hooked: the wrappers, by their export names or as what `malloc`/`free` forward to.
    let hooked = |module: &str| -> Vec<(u64, String)> {
        let run = wasmleak(["inspect", "--format", "json", fixture(module).to_str().unwrap()]);
        run.json()["allocator"]["entry_points"].as_array().unwrap().iter().map(|e| (u(&e["func"], "func"), e["role"].as_str().unwrap().to_string())).collect()
    };
    let roles = |l: &[(u64, &str)]| l.iter().map(|(f, r)| (*f, r.to_string())).collect::<Vec<_>>();
    assert_eq!(
        hooked("edge/c_wrapped_malloc.wasm"),
        roles(&[(2, "malloc"), (3, "free"), (4, "calloc"), (5, "realloc"), (6, "malloc"), (7, "free")])
    );
    assert_eq!(
        hooked("edge/c_wrapped_hidden.wasm"),
        roles(&[(2, "malloc"), (3, "free"), (6, "malloc"), (7, "free"), (14, "calloc"), (15, "realloc")])
    );
    for module in ["edge/c_wrapped_malloc.wasm", "edge/c_wrapped_hidden.wasm", "edge/c_wrapped_threads.wasm", "edge/c_wrapped_threads_hidden.wasm"] {
        let (run, j) = check_json(&fixture(module), &["--invoke", "leak_some", "--repeat", "4", "--", "5"]);
        assert_eq!(run.code(), 1, "{}", run.describe());
        assert_eq!(summary(&j, "allocations"), 80, "{module}: 20 rounds × (malloc, malloc, calloc, realloc)");
        assert_eq!(summary(&j, "frees"), 60, "{module}: 20 rounds × (free, free, realloc's old block)");
        assert_eq!(summary(&j, "invalid_frees"), 0, "{module}");
        assert_eq!(kind_total(&j, "lost"), (20, 800), "{module}");
        assert_eq!(kind_total(&j, "reachable"), (0, 0), "{module}");
        assert!(j.get("inconclusive").is_none(), "{module}");
    }
}

/// The silent miss this guards against: the exports named `malloc` and `free` are hooked, but the program
/// allocates through a function of its own that has no name (a custom allocator layer the shape does not know).
/// A run that saw no allocator call is never a clean report: it says so, exit 2.
#[test]
fn a_run_that_sees_no_allocator_call_is_inconclusive() {
    let module = wat_file("glue_only_exports.wasm", GLUE_ONLY_EXPORTS);
    let (run, j) = check_json(&module, &[]);
    assert_eq!(run.code(), 2, "{}", run.describe());
    assert_eq!(summary(&j, "allocations"), 0);
    assert!(j["inconclusive"].as_str().is_some_and(|w| w.contains("no allocation or free was seen")), "{j}");
    assert_eq!(j["inconclusive_reason"], "nothing_seen", "{j}");
    assert!(run.stderr.contains("no allocator call was seen") && run.stderr.contains("malloc (func 1) as malloc"), "{}", run.describe());
    let text = wasmleak(["check", module.to_str().unwrap()]);
    assert_eq!(text.code(), 2, "{}", text.describe());
    assert!(text.stdout.contains("INCONCLUSIVE: no allocation or free was seen"), "{}", text.describe());

    // An allocator the module names itself (name section) that the program never calls: it did not allocate
    // (a doctest, a tool that exits at once) — clean, with a note.
    let quiet = wat_file(
        "named_quiet.wasm",
        r#"(module
          (memory (export "memory") 1)
          (func $malloc (param i32) (result i32) i32.const 0)
          (func $free (param i32))
          (table 2 funcref) (elem (i32.const 0) $malloc $free)
          (func (export "_start")))"#,
    );
    let (run, j2) = check_json(&quiet, &[]);
    assert_eq!(run.code(), 0, "{}", run.describe());
    assert!(j2.get("inconclusive").is_none(), "{j2}");
    assert!(j2["notes"].to_string().contains("no allocation or free was seen"), "{j2}");
}
