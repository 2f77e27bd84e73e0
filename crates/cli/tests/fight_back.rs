//! Guests that fight back (fixtures/edge/c/fight_back.c, `c_fight_back.wasm`; ground truth in
//! fixtures/edge/README.md, section 12): a stack overflow that traps after a leak, malloc until it fails under
//! `--max-memory`, 1000 frees of addresses the allocator never returned, an endless loop under `--timeout`.
//! Each run gets its report, the exit status docs/contracts.md promises ("Exit status"), and no panic.
//!
//! `main(int argc, char **argv)`: wasi-libc's argv blocks are there in every mode, counted as the runtime's
//! (`summary.runtime_*`), never as leaks: the argv array, 4 × (argc + 1) = 12 B, and the strings
//! `c_fight_back.wasm\0MODE\0` (wasmleak passes the module's file name as argv[0]).

mod common;

use common::*;
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

const MODULE: &str = "c_fight_back.wasm";
const MIB: u64 = 1 << 20;

fn module() -> PathBuf {
    fixture(&format!("edge/{MODULE}"))
}

/// `check --format json [opts] c_fight_back.wasm -- MODE`, with the checks every mode shares.
fn run(opts: &[&str], mode: &str) -> (Run, Value) {
    let mut rest: Vec<&str> = opts.to_vec();
    rest.extend(["--", mode]);
    let (r, j) = check_json(&module(), &rest);
    r.assert_no_panic();
    assert_contract(&j, MODULE);
    // The argv blocks: 12 B + strlen("c_fight_back.wasm") + 1 + strlen(mode) + 1.
    let argv_bytes = 12 + 18 + mode.len() as u64 + 1;
    assert_eq!(
        (summary(&j, "runtime_blocks"), summary(&j, "runtime_bytes")),
        (2, argv_bytes),
        "{mode}: the runtime's argv blocks\n{}",
        brief(&j)
    );
    (r, j)
}

fn decided_by(j: &Value) -> Vec<&str> {
    j["decided_by"].as_array().expect("decided_by is an array").iter().map(|k| k.as_str().unwrap()).collect()
}

/// `recurse`: leak_one() drops a malloc(48), then unbounded recursion with a 256-byte volatile array per frame
/// runs the shadow stack down through the static data and below address 0: the guest traps. A finding
/// before the trap makes the exit status 1 (docs/contracts.md: "a guest that traps ... after a finding still
/// exits 1; the trap is in the report's `exit`").
#[test]
fn recurse_traps_after_a_leak() {
    let (r, j) = run(&[], "recurse");
    r.assert_code(1);
    assert_eq!(j["exit"]["status"], "trap", "{}", brief(&j));
    assert!(j["exit"]["code"].is_null(), "{}", brief(&j));
    let msg = j["exit"]["message"].as_str().unwrap();
    assert!(msg.contains("out of bounds memory access"), "trap message {msg:?}");
    // The one 48 B block, lost, at its site; nothing else of the program's (3 allocations: it + argv).
    assert_eq!(groups(&j).len(), 1, "{}", brief(&j));
    let g = &groups(&j)[0];
    assert_eq!((g["kind"].as_str(), u(&g["blocks"], "blocks"), u(&g["bytes"], "bytes")), (Some("lost"), 1, 48));
    assert_eq!(g["site"]["function"], "leak_one", "{}", brief(&j));
    assert_eq!(&frames(&g["stack"])[..2], ["leak_one", "main"], "{}", brief(&j));
    for k in ["indirect", "cycle", "host", "reachable"] {
        assert_eq!(kind_total(&j, k), (0, 0), "{k}\n{}", brief(&j));
    }
    assert_eq!((summary(&j, "leaked_blocks"), summary(&j, "leaked_bytes")), (1, 48));
    assert_eq!((summary(&j, "allocations"), summary(&j, "frees"), summary(&j, "invalid_frees")), (3, 0, 0));
    assert_eq!(decided_by(&j), ["lost: leak_one"]);
    // The guest printed nothing; wasmleak says on stderr that the guest trapped.
    assert_eq!(
        r.stderr,
        "wasmleak: the guest trapped: wasm trap: out of bounds memory access — the report covers what it did until then\n",
        "{}",
        r.describe()
    );
}

/// `oom` under `--max-memory 64MiB`: malloc(1 MiB) until it returns NULL, each block filled with 1s and the
/// latest kept in the volatile global `kept`. wasmleak refuses the memory.grow that would pass 64 MiB, so
/// dlmalloc's sbrk fails and malloc returns NULL; the guest handles it, prints its line and returns (the run
/// did not end early: `returned`, not `memory-limit`).
#[test]
fn oom_under_max_memory() {
    let (r, j) = run(&["--max-memory", "64MiB"], "oom");
    // 63: the heap starts above the static data and the 64 KiB stack (the argv blocks at 0x11530, 0x11550),
    // each 1 MiB block takes a 1 MiB + 16 B chunk (the 1st at 0x11560, the 63rd at 0x3E11940..0x3F11940):
    // less than 1 MiB is left below the 64 MiB (0x4000000) allowed.
    assert_eq!(r.stderr, "oom: malloc failed after 63 MiB\n", "the guest's line (its stdout: stderr under --format json)\n{}", r.describe());
    r.assert_code(1);
    assert_eq!(j["exit"]["status"], "returned", "{}", brief(&j));
    assert_eq!(j["exit"]["message"], "returned", "{}", brief(&j));
    // The report says the limit was hit though the guest went on (a grow past 64 MiB, to 67,305,472 bytes).
    let notes: Vec<&str> = j["notes"].as_array().unwrap().iter().filter_map(|n| n.as_str()).collect();
    assert!(notes.iter().any(|n| n.starts_with("--max-memory refused to grow the memory to 67305472 bytes")), "{notes:?}");
    assert_eq!((summary(&j, "allocations"), summary(&j, "frees"), summary(&j, "invalid_frees")), (65, 0, 0));
    // 63 blocks of 1 MiB, all allocated in `main` (oom() is inlined into it): one lost group and one
    // reachable group. The program itself keeps only the last block; the scan is conservative (interior
    // pointers count: docs/contracts.md, "Leak kinds and roots") and two words that are not pointers hold
    // addresses inside two more blocks under 64 MiB:
    //  - the last block (0x3E11940), held by `kept` (static, 0xee0);
    //  - the 16th block (0xF11650..0x1011650): memset(p, 1, …) makes every word of every block 0x01010101,
    //    an address 1,043,121 B into it; the kept block is full of it;
    //  - the 4th block (0x311590..0x411590): stdout's buffer (.bss at 0x10f0) still holds the text
    //    `oom: malloc failed after 63` (printf handed ` MiB\n` to the write directly); the word at 0x1110,
    //    " 63\0" = 0x00333620, is an address 139,408 B into it.
    // Those two are reached through interior pointers only (`interior_only` 2). The other 60 are lost.
    let lost = groups_at(&j, "lost", "main");
    assert_eq!(lost.len(), 1, "{}", brief(&j));
    assert_eq!(site_fn(lost[0]), "main");
    assert_eq!(kind_total(&j, "lost"), (60, 60 * MIB), "{}", brief(&j));
    let reachable = groups_at(&j, "reachable", "main");
    assert_eq!(reachable.len(), 1, "{}", brief(&j));
    assert_eq!(site_fn(reachable[0]), "main");
    assert_eq!(kind_total(&j, "reachable"), (3, 3 * MIB), "{}", brief(&j));
    assert_eq!(reachable[0]["interior_only"], 2, "{}", brief(&j));
    let root = reachable[0]["root"].as_str().unwrap_or_else(|| panic!("a reachable group names a root\n{}", brief(&j)));
    assert!(root.contains("static data") && root.contains("word at 0x1110"), "root {root:?}");
    for k in ["indirect", "cycle", "host"] {
        assert_eq!(kind_total(&j, k), (0, 0), "{k}\n{}", brief(&j));
    }
    assert_eq!(groups(&j).len(), 2, "{}", brief(&j));
    assert_eq!(decided_by(&j), ["lost: main"]);
    // The profile: 63 MiB + the 34 B of argv, all live at the end.
    assert_eq!(u(&j["profile"]["allocated_bytes"], "allocated_bytes"), 63 * MIB + 34);
    assert_eq!(u(&j["profile"]["peak_blocks"], "peak_blocks"), 65);
}

/// `garbage`: free() of 0x12340 + 16·i for i < 1000, addresses the allocator never returned (no live block
/// there: only the argv blocks exist, just above 0x11530). Each is reported and not handed to dlmalloc
/// (`frees` 0: no free reached the allocator); the program goes on and prints its line.
#[test]
fn garbage_frees() {
    let (r, j) = run(&[], "garbage");
    assert!(r.stderr.starts_with("garbage: done\n"), "the guest's line\n{}", r.describe());
    r.assert_code(1);
    assert_eq!(j["exit"]["status"], "returned", "{}", brief(&j));
    assert_eq!(summary(&j, "invalid_frees"), 1000, "{}", brief(&j));
    let inv = j["invalid_frees"].as_array().unwrap();
    assert_eq!(inv.len(), 1000);
    for (i, f) in inv.iter().enumerate() {
        assert_eq!(f["kind"], "invalid", "#{i}: {f}");
        assert_eq!(u(&f["address"], "address"), 0x12340 + 16 * i as u64, "#{i}: in the program's order");
        assert_eq!(frames(&f["stack"]).first().map(String::as_str), Some("main"), "#{i}: {f}");
        assert!(frames(&f["alloc_stack"]).is_empty() && frames(&f["first_free_stack"]).is_empty(), "#{i}: {f}");
        assert!(f.get("interior").is_none(), "#{i}: inside no block: {f}");
        assert_eq!(f["key"], "invalid-free: main");
    }
    // No leak, nothing reachable of the program's: only the argv blocks were allocated.
    assert!(groups(&j).is_empty(), "{}", brief(&j));
    assert_eq!((summary(&j, "allocations"), summary(&j, "frees")), (2, 0), "{}", brief(&j));
    assert_eq!((summary(&j, "leaked_blocks"), summary(&j, "reachable_blocks")), (0, 0));
    assert_eq!(decided_by(&j), ["invalid-free: main"]);
}

/// `forever` under `--timeout 1`: stopped, its report printed; nothing found (the argv blocks are the
/// runtime's, not leaks), so exit 2 (docs/contracts.md: a guest that ended early — `--timeout` — with nothing
/// found).
#[test]
fn forever_times_out() {
    let (r, j) = run(&["--timeout", "1"], "forever");
    r.assert_code(2);
    assert!(r.elapsed < Duration::from_secs(20), "took {:?} for --timeout 1", r.elapsed);
    assert!(r.elapsed >= Duration::from_millis(900), "stopped before the timeout: {:?}", r.elapsed);
    assert_eq!(j["exit"]["status"], "timeout", "{}", brief(&j));
    assert!(j["exit"]["code"].is_null(), "{}", brief(&j));
    assert_eq!(j["exit"]["message"], "ran longer than the --timeout of 1.0s and was stopped", "{}", brief(&j));
    assert!(groups(&j).is_empty(), "{}", brief(&j));
    assert_eq!(
        (summary(&j, "allocations"), summary(&j, "frees"), summary(&j, "invalid_frees"), summary(&j, "leaked_blocks")),
        (2, 0, 0, 0),
        "{}",
        brief(&j)
    );
    assert!(decided_by(&j).is_empty(), "{}", brief(&j));
    assert_eq!(
        r.stderr,
        "wasmleak: the guest ran longer than the --timeout of 1.0s and was stopped — the report covers what it did until then\n",
        "{}",
        r.describe()
    );
}

/// The same in text: the report is printed (with its SUMMARY line) after the guest was stopped.
#[test]
fn forever_times_out_text() {
    let r = wasmleak(["check".as_ref(), "--timeout".as_ref(), "1".as_ref(), module().as_os_str(), "--".as_ref(), "forever".as_ref()]);
    r.assert_no_panic();
    r.assert_code(2);
    assert!(r.elapsed < Duration::from_secs(20), "took {:?} for --timeout 1", r.elapsed);
    assert!(r.stdout.contains("ran longer than the --timeout of 1.0s and was stopped"), "{}", r.describe());
    assert!(r.stdout.contains("not counted: 2 blocks (38 B)"), "the argv blocks, apart\n{}", r.describe());
    assert!(
        r.stdout.contains("SUMMARY: leaked 0 B in 0 blocks; reachable 0 B in 0 blocks; 0 invalid frees; 2 allocations, 0 frees"),
        "{}",
        r.describe()
    );
}

/// The text prints frees alike (kind, stacks, fix) once, with their count and first addresses: 1000 frees of
/// garbage in one loop are one finding, not 7,000 lines (the JSON keeps every one).
#[test]
fn garbage_frees_text_is_one_finding() {
    let r = wasmleak(["check".as_ref(), module().as_os_str(), "--".as_ref(), "garbage".as_ref()]);
    r.assert_no_panic();
    r.assert_code(1);
    assert!(r.stdout.contains("invalid free of 1000 addresses at the same stack (0x12340, 0x12350, 0x12360, …)"), "{}", r.stdout);
    assert_eq!(r.stdout.matches(" free of ").count(), 1, "{}", r.stdout);
}
