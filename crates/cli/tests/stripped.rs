//! `check` on stripped modules (no name section, no DWARF): the allocator is found by its code shape, a
//! one-line note says so, and the report has the same blocks and bytes per kind as on the named twin.

mod common;

use common::*;

fn per_kind(report: &serde_json::Value) -> Vec<(&'static str, (u64, u64))> {
    KINDS.iter().map(|&k| (k, kind_total(report, k))).collect()
}

fn same_report(named: &str, stripped: &str, rest: &[&str], confidence: &str) {
    let (rn, jn) = check_json(&fixture(named), rest);
    let (rs, js) = check_json(&fixture(stripped), rest);
    assert_eq!(rs.code(), rn.code(), "{}\n{}", rs.describe(), rn.describe());
    assert_eq!(per_kind(&js), per_kind(&jn), "{stripped} vs {named}");
    for f in ["allocations", "frees", "leaked_blocks", "leaked_bytes", "invalid_frees"] {
        assert_eq!(summary(&js, f), summary(&jn, f), "summary.{f}");
    }
    let note = format!("allocator found by its code shape (confidence {confidence})");
    assert!(rs.stderr.contains(&note), "{}", rs.describe());
    assert!(rs.stderr.contains("--alloc-fn"), "{}", rs.describe());
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
    same_report("emscripten_patterns.wasm", "emscripten_stripped.wasm", &["--", "lost", "10"], "medium");
    let (_, j) = check_json(&fixture("emscripten_stripped.wasm"), &["--", "lost", "10"]);
    assert_eq!(kind_total(&j, "lost"), (10, 240));
}

#[test]
fn emscripten_dlmalloc_list_lost() {
    same_report("emscripten_patterns.wasm", "emscripten_stripped.wasm", &["--", "list_lost", "10"], "medium");
}

#[test]
fn emscripten_emmalloc_list_lost() {
    same_report("emscripten_emmalloc.wasm", "emscripten_emmalloc_stripped.wasm", &["--", "list_lost", "10"], "low");
}

#[test]
fn wasi_libc_patterns() {
    for p in ["lost", "calloc_realloc", "posix_memalign", "list_lost", "ok"] {
        assert_eq!(per_iteration("c_patterns_stripped.wasm", p), per_iteration("c_patterns.wasm", p), "{p}");
    }
    let (r, j) = check_json(&fixture("c_patterns_stripped.wasm"), &["--", "posix_memalign", "10"]);
    assert!(r.stderr.contains("allocator found by its code shape (confidence high)"), "{}", r.describe());
    // 10 × (200 + 256) B, plus wasi-libc's one-time argv block (16 B lost; see fixtures/README.md).
    assert_eq!(kind_total(&j, "lost"), (21, 4576));
}

#[test]
fn rust_lib_host_and_cache() {
    for (m, s) in [("rust_lib.wasm", "rust_lib_stripped.wasm"), ("rust_lib_lto.wasm", "rust_lib_lto_stripped.wasm")] {
        same_report(m, s, &["--invoke", "create_processor", "--repeat", "5"], "high");
        same_report(m, s, &["--invoke", "leak_forget", "--repeat", "5"], "high");
        same_report(m, s, &["--invoke", "cache_insert", "--repeat", "20"], "high");
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
    let r = wasmleak(vec!["check".into(), path.into_os_string()]);
    r.assert_no_panic();
    r.assert_code(2);
    assert!(r.stderr.contains("no allocator found"), "{}", r.describe());
    assert!(r.stderr.contains("memory.grow in func 0"), "{}", r.describe());
}
