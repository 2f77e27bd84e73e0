//! Growth inside a WASI command: `check MODULE --iteration FUNC [--snapshot-every K] -- ARGS` takes the
//! snapshots after returns of the function that runs one iteration of the program's own loop. Ground truth:
//! fixtures/README.md (rust_patterns `cache` / `cache_bounded`, c_patterns `lost`, "--iteration").

mod common;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

fn run(args: &[&str]) -> Run {
    wasmleak(args.iter().map(OsString::from).collect::<Vec<_>>())
}

/// `check --format json MODULE --iteration FUNC [--snapshot-every K] --save DIR [extra] -- ARGS` → (run, report, dir).
fn iterate(module: &Path, func: &str, every: Option<u32>, extra: &[&str], args: &[&str], tag: &str) -> (Run, Value, PathBuf) {
    let dir = scratch(&format!("iter-{tag}"));
    let _ = std::fs::remove_dir_all(&dir);
    let every = every.map(|k| k.to_string());
    let mut rest: Vec<&str> = vec!["--iteration", func, "--save", dir.to_str().unwrap()];
    if let Some(k) = &every {
        rest.extend(["--snapshot-every", k.as_str()]);
    }
    rest.extend(extra);
    if !args.is_empty() {
        rest.push("--");
        rest.extend(args);
    }
    let (r, j) = check_json(module, &rest);
    (r, j, dir)
}

fn saved(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    files.sort_by_key(|f| f.trim_end_matches(".wlsnap").parse::<u32>().unwrap_or(u32::MAX));
    files
}

fn growing(report: &Value) -> Vec<&Value> {
    groups(report).iter().filter(|g| g["growing"] == true).collect()
}

#[test]
fn a_cache_growing_inside_a_command_is_reachable_and_growing_by_one_entry_per_iteration() {
    let (r, j, dir) =
        iterate(&fixture("rust_patterns.wasm"), "cache_insert", Some(5), &[], &["cache", "20"], "cache");
    r.assert_code(0); // reachable is not a leak
    assert_contract(&j, "rust_patterns.wasm");
    // Snapshots after iterations 5, 10, 15 and at exit (20 iterations: the exit one stands for the 20th).
    assert_eq!(saved(&dir), ["1.wlsnap", "2.wlsnap", "3.wlsnap", "4.wlsnap"]);
    let g = growing(&j);
    assert_eq!(g.len(), 1, "{}", brief(&j));
    let g = g[0];
    assert_eq!(g["kind"], "reachable");
    assert_eq!(site_fn(g), "rust_patterns::cache_insert");
    assert_eq!((u(&g["blocks"], "blocks"), u(&g["bytes"], "bytes")), (20, 20 * 64));
    assert_eq!(g["bytes_per_iteration"].as_f64(), Some(64.0));
    assert_eq!(g["blocks_per_iteration"].as_f64(), Some(1.0));
    assert!(g["root"].as_str().unwrap().starts_with("static rust_patterns::CACHE (+8), word at 0x"), "{g}");
    // The cache's own Vec<Vec<u8>> buffer (capacity 8, 16, 16, 32 → 96, 192, 192, 384 B) is live, not growing
    // at every snapshot.
    let outer: Vec<&Value> = groups_at(&j, "reachable", "cache_insert").into_iter().filter(|g| g["growing"] == false).collect();
    assert_eq!(outer.len(), 1, "{}", brief(&j));
    assert_eq!((u(&outer[0]["blocks"], "blocks"), u(&outer[0]["bytes"], "bytes")), (1, 384));
    assert_eq!(summary(&j, "leaked_bytes"), 0);

    // The Comparison view between snapshots 1 (iteration 5) and 4 (iteration 20): 15 entries of 64 B.
    let d = run(&["diff", dir.join("1.wlsnap").to_str().unwrap(), dir.join("4.wlsnap").to_str().unwrap(), "--format", "json"]);
    d.assert_code(0);
    let d: Value = serde_json::from_str(&d.stdout).unwrap();
    assert_eq!((d["before"]["iteration"].as_u64(), d["after"]["iteration"].as_u64()), (Some(5), Some(20)));
    let rows = d["rows"].as_array().unwrap();
    let entry = rows
        .iter()
        .find(|r| r["site"].as_str().unwrap().starts_with("rust_patterns::cache_insert (rust/src/main.rs:160)"))
        .unwrap_or_else(|| panic!("no entry row: {d}"));
    assert_eq!((entry["delta_bytes"].as_i64(), entry["delta_blocks"].as_i64()), (Some(15 * 64), Some(15)), "{d}");
    assert_eq!((entry["new_blocks"].as_u64(), entry["freed_blocks"].as_u64()), (Some(15), Some(0)));
    // Snapshots 2 (iteration 10) → 3 (iteration 15): 5 entries, and the outer buffer kept its capacity.
    let d = run(&["diff", dir.join("2.wlsnap").to_str().unwrap(), dir.join("3.wlsnap").to_str().unwrap(), "--format", "json"]);
    let d: Value = serde_json::from_str(&d.stdout).unwrap();
    assert_eq!((d["before"]["iteration"].as_u64(), d["after"]["iteration"].as_u64()), (Some(10), Some(15)));
    assert_eq!((d["before"]["bytes"].as_u64(), d["after"]["bytes"].as_u64()), (Some(10 * 64 + 192), Some(15 * 64 + 192)));
    let rows = d["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{d}");
    assert_eq!((rows[0]["delta_bytes"].as_i64(), rows[0]["new_blocks"].as_u64()), (Some(5 * 64), Some(5)));
}

#[test]
fn the_text_report_says_growing_per_iteration() {
    let r = run(&[
        "check",
        fixture("rust_patterns.wasm").to_str().unwrap(),
        "--iteration",
        "rust_patterns::cache_insert",
        "--snapshot-every",
        "5",
        "--",
        "cache",
        "20",
    ]);
    r.assert_code(0);
    assert!(
        r.stdout.contains("reachable: 20 blocks, 1.2 KiB, GROWING by 64 B/iteration (1.0 blocks) — Vec<u8> allocated at rust_patterns::cache_insert"),
        "{}",
        r.describe()
    );
}

#[test]
fn the_bounded_twin_is_not_growing() {
    // cache_bounded keeps the last 8 entries: 5, 8, 8, 8 entries at iterations 5, 10, 15, 20.
    let (r, j, dir) =
        iterate(&fixture("rust_patterns.wasm"), "cache_insert_bounded", Some(5), &[], &["cache_bounded", "20"], "bounded");
    r.assert_code(0);
    assert_eq!(saved(&dir).len(), 4);
    assert!(growing(&j).is_empty(), "{}", brief(&j));
    assert_eq!(site_total(&j, "reachable", "cache_insert_bounded"), (9, 8 * 64 + 96), "{}", brief(&j));
}

/// An iteration function the run never calls (the `cache` mode only calls `cache_insert`) gives one heap state
/// and, in a run this short, no event-clock samples either: growth is not judged, and a note says why. Asked to
/// fail on growth, the run has no verdict (exit 2, `no_growth_verdict`) — it passed before, as if not growing.
#[test]
fn a_run_that_cannot_judge_growth_says_so_and_fails_on_growing_gives_no_verdict() {
    let m = fixture("rust_patterns.wasm");
    let note = "1 heap state was taken (--iteration cache_insert_bounded returned 0 times), where growth between snapshots needs 3";
    let (r, j, _) = iterate(&m, "cache_insert_bounded", Some(5), &[], &["cache", "20"], "never");
    r.assert_code(0);
    assert!(j["notes"].to_string().contains(note), "{}", brief(&j));
    assert!(j["inconclusive"].is_null(), "{}", brief(&j));
    let (r, j, _) = iterate(&m, "cache_insert_bounded", Some(5), &["--fail-on", "growing"], &["cache", "20"], "never-fail");
    r.assert_code(2);
    assert_eq!(j["inconclusive_reason"], "no_growth_verdict", "{}", brief(&j));
    assert!(r.stderr.contains("--fail-on growing, and growth could not be judged"), "{}", r.describe());
    // Where it could judge, the snapshots decide: the growing cache fails the run.
    let (r, _, _) = iterate(&m, "cache_insert", Some(5), &["--fail-on", "growing"], &["cache", "20"], "judged-fail");
    r.assert_code(1);
}

#[test]
fn without_snapshot_every_every_iteration_counts_and_at_most_32_snapshots_are_kept() {
    // 1000 iterations: the interval doubles from 1 until 31 snapshots fit (every 32 iterations: 32 … 992),
    // then the one at exit (1000).
    let (r, j, dir) = iterate(&fixture("rust_patterns.wasm"), "cache_insert", None, &[], &["cache", "1000"], "default");
    r.assert_code(0);
    let files = saved(&dir);
    assert_eq!(files.len(), 32, "{files:?}");
    let d = run(&["diff", dir.join("1.wlsnap").to_str().unwrap(), dir.join("32.wlsnap").to_str().unwrap(), "--format", "json"]);
    let d: Value = serde_json::from_str(&d.stdout).unwrap();
    assert_eq!((d["before"]["iteration"].as_u64(), d["after"]["iteration"].as_u64()), (Some(32), Some(1000)));
    // The entries, 64 B an iteration; and, over 32 snapshots, the buffer that holds them, which doubles now and
    // then (unchanged between most pairs, rising by quarters).
    let g = growing(&j);
    assert_eq!(g.len(), 2, "{}", brief(&j));
    assert_eq!((g[0]["bytes_per_iteration"].as_f64(), u(&g[0]["blocks"], "blocks")), (Some(64.0), 1000));
    assert_eq!(u(&g[1]["blocks"], "blocks"), 1, "{}", brief(&j));
}

#[test]
fn context_and_walked_stacks_see_the_same_snapshots() {
    let (_, ctx, _) = iterate(&fixture("rust_patterns.wasm"), "cache_insert", Some(5), &[], &["cache", "20"], "context");
    let (_, walk, _) =
        iterate(&fixture("rust_patterns.wasm"), "cache_insert", Some(5), &["--stacks", "walk"], &["cache", "20"], "walk");
    assert_eq!(brief(&ctx), brief(&walk));
    let g = growing(&ctx)[0];
    // The wrapper wasmleak added around cache_insert is not a frame of the stack.
    assert!(frames(&g["stack"]).iter().all(|f| !f.contains("wasmleak")), "{g}");
}

#[test]
fn a_stripped_module_takes_the_iteration_function_by_index() {
    // c_patterns `lost`: make_record (func 17, same index in the stripped twin) leaks 24 B per call.
    for spec in ["func[17]", "17"] {
        let (r, j, dir) =
            iterate(&fixture("c_patterns_stripped.wasm"), spec, Some(5), &[], &["lost", "20"], "stripped");
        r.assert_code(1);
        assert_eq!(saved(&dir).len(), 4);
        let g = growing(&j);
        assert_eq!(g.len(), 1, "{spec}: {}", brief(&j));
        assert_eq!(g[0]["kind"], "lost");
        assert_eq!((u(&g[0]["blocks"], "blocks"), u(&g[0]["bytes"], "bytes")), (20, 20 * 24));
        assert_eq!(g[0]["bytes_per_iteration"].as_f64(), Some(24.0));
        assert_eq!(g[0]["blocks_per_iteration"].as_f64(), Some(1.0));
    }
    // The named twin: the same function by name.
    let (r, j, _) = iterate(&fixture("c_patterns.wasm"), "make_record", Some(5), &[], &["lost", "20"], "named");
    r.assert_code(1);
    let g = growing(&j);
    assert_eq!((g.len(), site_fn(g[0])), (1, "make_record".to_string()), "{}", brief(&j));
    assert_eq!(g[0]["bytes_per_iteration"].as_f64(), Some(24.0));
}

#[test]
fn a_bad_iteration_function_gets_one_clear_error() {
    let m = fixture("rust_patterns.wasm");
    let m = m.to_str().unwrap();
    let r = run(&["check", m, "--iteration", "nosuch", "--", "cache", "20"]);
    r.assert_code(2);
    assert!(r.stderr.contains("--iteration nosuch"), "{}", r.describe());
    assert!(r.stderr.contains("no function named `nosuch`"), "{}", r.describe());
    assert!(r.stderr.contains("wasmleak inspect"), "{}", r.describe());
    assert!(!r.stdout.contains("cache: done"), "the guest must not run: {}", r.describe());

    // An import has no body to wrap (function 2 is a WASI import).
    let r = run(&["check", m, "--iteration", "func[2]", "--", "cache", "20"]);
    r.assert_code(2);
    assert!(r.stderr.contains("is imported") && r.stderr.contains("wasi_snapshot_preview1::"), "{}", r.describe());

    // An allocator entry point is not an iteration.
    let r = run(&["check", m, "--iteration", "__rustc::__rust_alloc", "--", "cache", "20"]);
    r.assert_code(2);
    assert!(r.stderr.contains("allocator entry point"), "{}", r.describe());

    let r = run(&["check", m, "--iteration", "func[100000]", "--", "cache", "20"]);
    r.assert_code(2);
    assert!(r.stderr.contains("out of range"), "{}", r.describe());

    // A stripped module: the error says to pass an index.
    let r = run(&["check", fixture("c_patterns_stripped.wasm").to_str().unwrap(), "--iteration", "make_record", "--", "lost", "2"]);
    r.assert_code(2);
    assert!(r.stderr.contains("stripped") && r.stderr.contains("func[N]"), "{}", r.describe());

    // --snapshot-every still needs something to count.
    let r = run(&["check", m, "--snapshot-every", "0", "--iteration", "cache_insert", "--", "cache", "2"]);
    r.assert_code(2);
    assert!(r.stderr.contains("K ≥ 1"), "{}", r.describe());
}

#[test]
fn iteration_counts_inside_invoked_exports_too() {
    // rust_lib: --invoke cache_insert 20 times, the snapshots counted by returns of the same function.
    let (r, j, dir) = iterate(
        &fixture("rust_lib.wasm"),
        "cache_insert",
        Some(5),
        &["--invoke", "cache_insert", "--repeat", "20"],
        &[],
        "invoke",
    );
    r.assert_code(0);
    assert_eq!(saved(&dir).len(), 4);
    let g = growing(&j);
    assert_eq!(g.len(), 1, "{}", brief(&j));
    assert_eq!(g[0]["bytes_per_iteration"].as_f64(), Some(64.0));
}

/// A cache that grows by one 16-byte entry per iteration and is emptied after the loop (as a C++ global's
/// destructor empties it at exit): nothing is live at the end, so no group can carry the verdict; the
/// report's notes say the site grew at every snapshot and was released only at teardown.
#[test]
fn a_cache_emptied_at_exit_is_still_reported_as_grown() {
    let p = wat_file(
        "iteration-teardown.wasm",
        &format!(
            r#"(module
                (memory (export "memory") 1)
                {BUMP_ALLOCATOR_WAT}
                (global $n (mut i32) (i32.const 0))
                (func $cache_insert (i32.store (i32.add (i32.const 256) (i32.shl (global.get $n) (i32.const 2)))
                                              (call $malloc (i32.const 16)))
                                    (global.set $n (i32.add (global.get $n) (i32.const 1))))
                (func $teardown (local $i i32)
                  (loop $l (call $free (i32.load (i32.add (i32.const 256) (i32.shl (local.get $i) (i32.const 2)))))
                           (local.set $i (i32.add (local.get $i) (i32.const 1)))
                           (br_if $l (i32.lt_u (local.get $i) (global.get $n)))))
                (func $_start (export "_start") (local $i i32)
                  (loop $l (call $cache_insert) (local.set $i (i32.add (local.get $i) (i32.const 1)))
                           (br_if $l (i32.lt_u (local.get $i) (i32.const 12))))
                  (call $teardown))
                (export "cache_insert" (func $cache_insert)))"#
        ),
    );
    let (r, j, _) = iterate(&p, "cache_insert", Some(3), &[], &[], "teardown");
    assert_eq!(r.code(), 0, "{}", r.describe());
    assert_eq!(j["summary"]["allocations"], 12);
    assert_eq!(j["summary"]["frees"], 12);
    assert!(groups(&j).is_empty(), "{j}");
    let notes: Vec<&str> = j["notes"].as_array().unwrap().iter().filter_map(|n| n.as_str()).collect();
    assert!(
        notes.iter().any(|n| n.starts_with("cache_insert") && n.contains("grew at every snapshot (by 16 B and 1.0 blocks per iteration) and was freed before the end")),
        "{notes:?}"
    );
}

/// `wasmleak instrument --iteration` writes the module another host runs: the optional hook import is there,
/// the module validates; without the option it is not.
#[test]
fn instrument_adds_the_iteration_hook_only_when_asked() {
    let imports_iteration = |extra: &[&str], tag: &str| -> bool {
        let out = scratch(&format!("instrumented-iteration-{tag}.wasm"));
        let mut args: Vec<OsString> = vec!["instrument".into(), fixture("rust_patterns.wasm").into(), "-o".into(), out.clone().into()];
        args.extend(extra.iter().map(OsString::from));
        let r = wasmleak(args);
        assert_eq!(r.code(), 0, "{}", r.describe());
        let bytes = std::fs::read(&out).unwrap();
        wasmparser::Validator::new().validate_all(&bytes).unwrap();
        let mut found = false;
        for p in wasmparser::Parser::new(0).parse_all(&bytes) {
            if let wasmparser::Payload::ImportSection(s) = p.unwrap() {
                for i in s.into_imports() {
                    let i = i.unwrap();
                    found |= i.module == "wasmleak" && i.name == "iteration";
                }
            }
        }
        std::fs::remove_file(&out).ok();
        found
    };
    assert!(imports_iteration(&["--iteration", "cache_insert"], "yes"));
    assert!(!imports_iteration(&[], "no"));
}
