//! Threaded modules (shared memory, atomics).
//!
//! - Discovery reads them: `inspect` finds the allocator of an Emscripten `-pthread` build and confirms it by
//!   calling it in a scratch instance where the atomics are what they are on one thread.
//! - `check` tracks wasi-threads commands (fixtures/edge/rust-threads: std::thread on wasm32-wasip1-threads;
//!   fixtures/edge/c/threads.c: pthreads on wasi-libc): every thread's events in one heap model, blocks freed on
//!   another thread than the one that allocated them, the report at exit with every thread stopped — also when a
//!   worker exits or traps while the main thread waits for it.
//! - A threaded module built for a browser (Emscripten: its threads are started by its JavaScript glue) is
//!   refused with where it runs.

mod common;

use common::*;
use serde_json::Value;

fn edge(name: &str) -> std::path::PathBuf {
    fixtures_dir().join("edge").join(name)
}

/// `bytes` as a published build ships: no custom sections, exports renamed (Emscripten minifies them: `ga`, `ha`).
fn minified(bytes: &[u8]) -> Vec<u8> {
    fn leb(out: &mut Vec<u8>, mut v: u32) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(b);
                return;
            }
            out.push(b | 0x80);
        }
    }
    let mut out = bytes[..8].to_vec();
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        let payload = payload.unwrap();
        let Some((id, range)) = payload.as_section() else { continue };
        let body = match &payload {
            wasmparser::Payload::CustomSection(_) => continue,
            wasmparser::Payload::ExportSection(r) => {
                let exports: Vec<_> = r.clone().into_iter().map(|e| e.unwrap()).collect();
                let mut s = Vec::new();
                leb(&mut s, exports.len() as u32);
                for (i, e) in exports.iter().enumerate() {
                    let name = if e.kind == wasmparser::ExternalKind::Memory { e.name.to_string() } else { format!("x{i}") };
                    leb(&mut s, name.len() as u32);
                    s.extend_from_slice(name.as_bytes());
                    s.push(e.kind as u8);
                    leb(&mut s, e.index);
                }
                s
            }
            _ => bytes[range].to_vec(),
        };
        out.push(id);
        leb(&mut out, body.len() as u32);
        out.extend_from_slice(&body);
    }
    out
}

fn inspect(path: &std::path::Path) -> Value {
    let r = wasmleak(vec!["inspect".into(), "--format".into(), "json".into(), path.as_os_str().to_owned()]);
    r.assert_code(0);
    r.json()
}

fn role_funcs(v: &Value, role: &str) -> Vec<u64> {
    v["allocator"]["entry_points"].as_array().unwrap().iter().filter(|e| e["role"] == role).map(|e| e["func"].as_u64().unwrap()).collect()
}

#[test]
fn inspect_finds_the_allocator_of_a_pthread_build() {
    let named = inspect(&edge("em_threads.wasm"));
    assert_eq!(named["memories"][0]["shared"], true, "{named:#}");
    assert_eq!(named["allocator"]["status"], "found", "{named:#}");
    let (malloc, free) = (role_funcs(&named, "malloc"), role_funcs(&named, "free"));
    assert_eq!((malloc.len(), free.len()), (1, 1), "{named:#}");

    // Stripped, exports minified: found by the code's shape, and confirmed by experiments that run dlmalloc's
    // locked paths (atomic compare-exchange, futex wait and wake) in the scratch instance.
    let stripped = scratch("em_threads_min.wasm");
    std::fs::write(&stripped, minified(&std::fs::read(edge("em_threads.wasm")).unwrap())).unwrap();
    let v = inspect(&stripped);
    assert_eq!(v["allocator"]["status"], "found", "{v:#}");
    assert_eq!(role_funcs(&v, "malloc"), malloc, "{v:#}");
    assert!(role_funcs(&v, "free").contains(&free[0]), "{v:#}");
    for e in v["allocator"]["entry_points"].as_array().unwrap() {
        assert!(e["confirmed"].is_string(), "every entry point confirmed by calling it: {e:#}");
    }
}

#[test]
fn check_refuses_an_emscripten_pthread_build_and_says_where_it_runs() {
    let r = wasmleak(vec!["check".into(), edge("em_threads.wasm").into_os_string()]);
    assert_eq!(r.status, Some(2), "{}", r.describe());
    let err = r.stderr.lines().find(|l| l.starts_with("error")).unwrap_or_else(|| panic!("{}", r.describe()));
    for part in ["env::__pthread_create_js", "wasmleak node"] {
        assert!(err.contains(part), "{part:?} in {err}");
    }
}

/// (blocks, bytes) of `kind` whose site or stack names `site`.
fn at(report: &Value, kind: &str, site: &str) -> (u64, u64) {
    groups_at(report, kind, site).iter().fold((0, 0), |(b, s), g| (b + u(&g["blocks"], "blocks"), s + u(&g["bytes"], "bytes")))
}

/// Run a threads fixture under check; its one line of output came once, and the report has no invalid free.
fn check_threads(module: &str, pattern: &str, n: u32) -> Value {
    let (run, report) = check_json(&edge(module), &[pattern, &n.to_string()]);
    assert_eq!(run.stderr.matches(&format!("{pattern}: done {n}")).count(), 1, "{}", run.describe());
    assert_eq!(summary(&report, "invalid_frees"), 0, "{module} {pattern}: {}", brief(&report));
    report
}

/// Rust std::thread, at opt-level 0 and 2: exact per-pattern truth (fixtures/edge/rust-threads/src/main.rs).
#[test]
fn rust_threads_on_one_heap() {
    for module in ["rust_threads_o0.wasm", "rust_threads_o2.wasm"] {
        for n in [5u64, 40] {
            // Four workers each forget n 48-byte boxes: lost, at the worker's function.
            let r = check_threads(module, "worker_leak", n as u32);
            assert_eq!(kind_total(&r, "lost"), (4 * n, 192 * n), "{module}: {}", brief(&r));
            assert_eq!(at(&r, "lost", "leak_on_worker"), (4 * n, 192 * n), "{module}: {}", brief(&r));
            assert_eq!(summary(&r, "leaked_blocks"), 4 * n, "{module}: {}", brief(&r));
            // Blocks sent to another thread and dropped there: nothing leaked, nothing invalid.
            let r = check_threads(module, "cross_free", n as u32);
            assert_eq!(summary(&r, "leaked_blocks"), 0, "{module}: {}", brief(&r));
            // Workers push into a static Mutex<Vec<Box<..>>>: reachable from the static, none lost.
            let r = check_threads(module, "shared_cache", n as u32);
            assert_eq!(summary(&r, "leaked_blocks"), 0, "{module}: {}", brief(&r));
            assert_eq!(at(&r, "reachable", "cache_on_worker").0, 4 * n + 1, "the boxes and the Vec's buffer: {}", brief(&r));
            // A thread-local dropped when its thread exits: nothing of it left.
            let r = check_threads(module, "tls_freed", n as u32);
            assert_eq!(summary(&r, "leaked_blocks"), 0, "{module}: {}", brief(&r));
            assert_eq!(at(&r, "reachable", "fill_thread_local").0, 0, "{module}: {}", brief(&r));
        }
    }
}

/// A pool whose workers outlive main, each waiting for its next job (in `memory.atomic.wait`) when the program
/// ends: the host waits in their place, wakes them at the end and stops them there, so what their jobs leaked is
/// judged — lost — instead of held by threads still running (all 4·n read as reachable, exit 0).
#[test]
fn rust_pool_waiting_at_exit() {
    for module in ["rust_threads_o0.wasm", "rust_threads_o2.wasm"] {
        for n in [5u64, 40] {
            let (run, r) = check_json(&edge(module), &["pool_leak", &n.to_string()]);
            assert_eq!(run.code(), 1, "{}", run.describe());
            // All four stopped: waiting for the next job, or (a worker that had just sent its `done`) on the way there.
            let stopped = |how: &str| {
                r["notes"].as_array().unwrap().iter().filter_map(|n| n.as_str()?.split_once(&format!(" thread(s) were {how}"))?.0.parse::<u32>().ok()).sum::<u32>()
            };
            assert_eq!(stopped("waiting") + stopped("still running"), 4, "{}", r["notes"]);
            assert!(stopped("waiting") >= 1, "{}", r["notes"]);
            let (lost, bytes) = kind_total(&r, "lost");
            assert_eq!(at(&r, "lost", "leak_on_worker"), (lost, bytes), "only the jobs' boxes are lost: {}", brief(&r));
            assert_eq!(bytes, 48 * lost, "{}", brief(&r));
            if module.contains("o2") {
                assert_eq!(lost, 4 * n, "{module}: {}", brief(&r));
            } else {
                // At opt-level 0 a word of the waiting frames, never written by them, may still hold an address
                // from before (a conservative scan's imprecision, as LeakSanitizer's on a native stack).
                assert!((4 * n - 1..=4 * n).contains(&lost), "{module}: {}", brief(&r));
            }
        }
    }
}

/// A worker that leaks in a helper and then waits in its own frame: the helper's dead frame lies right below the
/// waiting thread's stack pointer, and the last block's address with it. The worker does not keep a frame below its
/// stack pointer (not a leaf), so nothing there is scanned: every block is lost (the last one read reachable when
/// the 128 bytes below were scanned, a survey's minimal reproduction; stripped, the frames are read by index).
#[test]
fn the_dead_frame_under_a_waiting_thread_holds_nothing() {
    for module in ["c_threads_O0.wasm", "c_threads_O2.wasm", "c_threads_O2_stripped.wasm"] {
        let (run, r) = check_json(&edge(module), &["leak_then_wait", "3"]);
        run.assert_code(1);
        assert_eq!(kind_total(&r, "lost"), (3, 240), "{module}: {}", brief(&r));
        if !module.contains("stripped") {
            assert_eq!(at(&r, "lost", "leak_then_drop"), (3, 240), "{module}: {}", brief(&r));
        }
    }
}

/// A deadlock (main joins a worker waiting for a message main never sends) under --timeout: both waiting threads
/// are woken and stopped at the timeout (they used to wait for good, and `check` with them), and the worker's
/// job's leak is judged.
#[test]
fn a_deadlock_ends_at_the_timeout() {
    for module in ["rust_threads_o0.wasm", "rust_threads_o2.wasm"] {
        let (run, r) = check_json(&edge(module), &["--timeout", "1", "deadlock", "7"]);
        assert_eq!(r["exit"]["status"], "timeout", "{}", run.describe());
        assert!(run.elapsed < std::time::Duration::from_secs(20), "{}", run.describe());
        assert_eq!(at(&r, "lost", "leak_on_worker"), (7, 336), "{module}: {}", brief(&r));
        assert_eq!(kind_total(&r, "lost"), (7, 336), "{module}: {}", brief(&r));
        assert!(r["notes"].to_string().contains("2 thread(s) were waiting"), "{}", r["notes"]);
    }
}

/// C pthreads at -O0 and -O2, and -O2 stripped (allocator found by its code): fixtures/edge/c/threads.c.
#[test]
fn c_pthreads_on_one_heap() {
    for module in ["c_threads_O0.wasm", "c_threads_O2.wasm", "c_threads_O2_stripped.wasm"] {
        let n = 9u64;
        // Three workers each drop n 24-byte blocks; the last one written stays in the global `sink`.
        let r = check_threads(module, "worker_leak", n as u32);
        assert_eq!(kind_total(&r, "lost"), (3 * n - 1, 24 * (3 * n - 1)), "{module}: {}", brief(&r));
        if !module.contains("stripped") {
            assert_eq!(at(&r, "lost", "leak_on_worker").0, 3 * n - 1, "{module}: {}", brief(&r));
        }
        for pattern in ["cross_free", "key_freed"] {
            let r = check_threads(module, pattern, n as u32);
            assert_eq!(summary(&r, "leaked_blocks"), 0, "{module} {pattern}: {}", brief(&r));
            assert_eq!(summary(&r, "reachable_blocks"), 0, "{module} {pattern}: {}", brief(&r));
        }
        // Enough blocks that the static array of them runs past address 0xffff, a constant dlmalloc uses as a
        // mask: taken for an address of the allocator's own state, the words there were not scanned, and 258
        // reachable blocks were reported lost.
        let big = 20_000u64;
        let r = check_threads(module, "cache", big as u32);
        assert_eq!(summary(&r, "leaked_blocks"), 0, "{module}: {}", brief(&r));
        assert_eq!(kind_total(&r, "reachable"), (3 * big, 96 * big), "{module}: {}", brief(&r));
    }
}

/// `--snapshot-interval` on a threaded run: heap states on the clock while four workers push into a static
/// cache (every thread parked for each), the cache growing from one to the next. In each, every block the
/// workers allocated is reachable but at most one per worker: the box a worker parked between `Box::new` and
/// the push holds only in a local variable (documented: such blocks show as lost in snapshots during the run).
/// The report at exit: nothing leaked.
#[test]
fn snapshots_while_threads_allocate() {
    let dir = scratch("threads-snaps");
    let (run, r) = check_json(
        &edge("rust_threads_o2.wasm"),
        &["--snapshot-interval", "3", "--save", dir.to_str().unwrap(), "shared_cache", "25000"],
    );
    assert_eq!(run.stderr.matches("shared_cache: done 25000").count(), 1, "{}", run.describe());
    assert_eq!(summary(&r, "leaked_blocks"), 0, "{}", brief(&r));
    let cache = groups_at(&r, "reachable", "cache_on_worker");
    let n = std::fs::read_dir(&dir).unwrap().count();
    assert!(n >= 3, "{n} snapshots");
    let mut sizes = Vec::new();
    for i in 1..=n {
        let snap = wasmleak_heap::Snapshot::from_bytes(&std::fs::read(dir.join(format!("{i}.wlsnap"))).unwrap()).unwrap();
        let a = snap.analyze();
        let by_addr: std::collections::HashMap<u64, &wasmleak_heap::SnapBlock> = snap.blocks.iter().map(|b| (b.addr, b)).collect();
        let on_worker = |addr: u64| {
            snap.stacks[by_addr[&addr].stack as usize].iter().any(|&f| snap.frames[f as usize].function.contains("cache_on_worker"))
        };
        let (mut cached, mut in_flight) = (0, 0);
        for (b, class) in a.blocks.iter().zip(&a.classes) {
            if on_worker(b.addr) {
                cached += 1;
                in_flight += (class.kind != wasmleak_heap::Kind::Reachable) as usize;
            }
        }
        assert!(in_flight <= 4, "snapshot {i}: {in_flight} of {cached} cached blocks not reachable");
        sizes.push(cached);
    }
    assert!(sizes.windows(2).all(|w| w[0] <= w[1]) && sizes[0] < *sizes.last().unwrap(), "{sizes:?}");
    // Growth is judged over the snapshots the clock took, a site growing at every one: where the cache grew from
    // each to the next, it is growing. (An interval where the workers waited on the lock leaves it flat: seen with
    // three snapshots and with six, on a loaded machine.)
    if sizes.windows(2).all(|w| w[0] < w[1]) {
        assert!(cache.iter().any(|g| g["growing"] == true), "{sizes:?}: {}", brief(&r));
    }
    let _ = std::fs::remove_dir_all(&dir); // hundreds of MB (kept when an assertion fails)
}

/// Four threads resizing private blocks with realloc while churning small ones: a realloc's hook reports after
/// the allocator returned, so the address it moved away from is often another thread's by then (recorded first).
/// The model must not free that thread's block — it did, and the program's next realloc of it was refused as
/// invalid: realloc returned NULL tens of thousands of times under check, never without it.
#[test]
fn concurrent_reallocs_change_nothing() {
    for module in ["c_threads_O2.wasm", "c_threads_O0.wasm"] {
        let plain = wasmleak(vec!["run".into(), edge(module).into_os_string(), "realloc_race".into(), "20000".into()]);
        plain.assert_code(0);
        assert!(plain.stdout.contains("realloc_race: done 20000, 0 failed"), "{}", plain.describe());
        let (run, r) = check_json(&edge(module), &["realloc_race", "20000"]);
        assert!(run.stderr.contains("realloc_race: done 20000, 0 failed"), "{}", run.describe());
        assert_eq!(summary(&r, "invalid_frees"), 0, "{module}: {}", brief(&r));
        assert_eq!(summary(&r, "leaked_blocks"), 0, "{module}: {}", brief(&r));
        assert_eq!(summary(&r, "allocations"), summary(&r, "frees") + summary(&r, "reachable_blocks") + summary(&r, "runtime_blocks"), "{}", brief(&r));
    }
}

/// A worker ends the process while the main thread waits in pthread_join (blocked in memory.atomic.wait for
/// good): exit(3) gives status 3, a trap is reported as one; either way the report comes. A worker that called
/// exit() is judged as a single-threaded exit() is: its frames still running may hold only what they made
/// (wasmleak_instrument's exit.rs), so the N − 1 blocks its returned helper dropped are lost (the last is in
/// `sink`). After a trap, what the worker allocated it may hold in local variables, which no host can read: its N
/// blocks are counted reachable, held by that thread, with a note — not lost without evidence.
#[test]
fn a_worker_that_exits_or_traps_still_gets_the_report() {
    let n = 6u64;
    let (run, r) = check_json(&edge("c_threads_O2.wasm"), &["exit_on_worker", &n.to_string()]);
    assert_eq!((r["exit"]["status"].as_str(), r["exit"]["code"].as_i64()), (Some("exited"), Some(3)), "{}", run.describe());
    assert_eq!(kind_total(&r, "lost"), (n - 1, 24 * (n - 1)), "{}", brief(&r));
    assert_eq!(at(&r, "lost", "leak_on_worker").0, n - 1, "{}", brief(&r));
    assert_eq!(summary(&r, "leaked_blocks"), n - 1, "{}", brief(&r));
    for (pattern, ends) in [("trap_on_worker", "trap")] {
        let (run, r) = check_json(&edge("c_threads_O2.wasm"), &[pattern, &n.to_string()]);
        assert_eq!(r["exit"]["status"], ends, "{}", run.describe());
        assert_eq!(summary(&r, "leaked_blocks"), 0, "{}", brief(&r));
        let held = groups(&r).iter().filter(|g| g["kind"] == "reachable" && g.to_string().contains("thread 1, still running"));
        assert_eq!(held.fold(0, |b, g| b + u(&g["blocks"], "blocks")), n, "{}", brief(&r));
        assert!(r["notes"].to_string().contains("none of them is called lost"), "{}", r["notes"]);
        // The one in `sink` is held by the static; the other N − 1 only by the worker (and when the main thread
        // is the one blocked for good, the argv blocks only by it).
        let by_main = groups(&r).iter().filter(|g| g["root"].as_str().is_some_and(|r| r.starts_with("thread 0,")));
        let (main_blocks, main_bytes) = by_main.fold((0, 0), |(b, s), g| (b + u(&g["blocks"], "blocks"), s + u(&g["bytes"], "bytes")));
        assert_eq!(
            (summary(&r, "thread_held_blocks") - main_blocks, summary(&r, "thread_held_bytes") - main_bytes),
            (n - 1, 24 * (n - 1)),
            "{}",
            brief(&r)
        );
        assert!(run.elapsed < std::time::Duration::from_secs(30), "{}", run.describe());
        assert!(r["exit"]["message"].as_str().is_some_and(|t| t.contains("unreachable")), "{}", run.describe());
    }
    // Plain runs end the same way.
    let plain = wasmleak(vec!["run".into(), edge("c_threads_O2.wasm").into_os_string(), "exit_on_worker".into(), "3".into()]);
    plain.assert_code(3);
}

/// A thread still running when the program ends (blocked on a condition, a pointer to its buffer only in a local
/// variable at -O2) and one handed its work at spawn (Rust's `thread::spawn` closure, whose only pointer the thread
/// holds): neither block is called lost (both were, after a survey of real threaded programs).
#[test]
fn blocks_a_running_thread_may_hold_are_not_lost() {
    for module in ["c_threads_O2.wasm", "c_threads_O2_stripped.wasm"] {
        let (run, r) = check_json(&edge(module), &["blocked_at_exit", "1"]);
        assert_eq!(summary(&r, "leaked_blocks"), 0, "{module}: {}", brief(&r));
        assert!(run.stderr.contains("blocked_at_exit: done 1"), "{}", run.describe());
    }
    let (run, r) = check_json(&edge("rust_threads_o2.wasm"), &["detached", "1"]);
    assert_eq!(summary(&r, "leaked_blocks"), 0, "{}", brief(&r));
    assert!(run.stderr.contains("detached: done 1"), "{}", run.describe());
}

/// A detached thread that ended: its stack is a heap block libc keeps (freed at the next `pthread_create`), and the
/// blocks it lost are still named in its dead frames. They are lost — the frames below the stack's top once the
/// thread returned are not scanned (they made the blocks "reachable", exit 0, after a survey of threaded Rust
/// programs in debug builds). Run several times: whether the frames kept the addresses depended on timing.
#[test]
fn a_finished_threads_dead_frames_hold_nothing() {
    for module in ["c_threads_O0.wasm", "c_threads_O2.wasm", "c_threads_O2_stripped.wasm"] {
        for _ in 0..3 {
            let r = check_threads(module, "detached_leak", 5);
            assert_eq!(kind_total(&r, "lost"), (5, 240), "{module}: {}", brief(&r));
            assert_eq!(summary(&r, "leaked_blocks"), 5, "{module}: {}", brief(&r));
            if !module.contains("stripped") {
                assert_eq!(at(&r, "lost", "leak_deep").0, 5, "{module}: {}", brief(&r));
            }
        }
    }
}

/// A worker calls exit(3) while main computes, its buffer's address only in a local (-O2): main's frames still
/// running may hold it, as at an exit() of its own — not lost (it was, after a survey's reproduction; when main is
/// blocked joining instead, all it allocated is held). The worker's own N blocks: N − 1 lost (its helper dropped
/// them), the last in `sink`. Stripped too: the frames are read by index.
#[test]
fn a_thread_interrupted_by_anothers_exit_keeps_what_its_frames_hold() {
    for module in ["c_threads_O2.wasm", "c_threads_O2_stripped.wasm"] {
        let (run, r) = check_json(&edge(module), &["exit_while_busy", "4"]);
        run.assert_code(1);
        assert_eq!(r["exit"]["code"], 3, "{}", run.describe());
        assert_eq!(kind_total(&r, "lost"), (3, 72), "{module}: {}", brief(&r));
        if !module.contains("stripped") {
            let held: Vec<u64> = groups(&r)
                .iter()
                .filter(|g| g["root"].as_str().is_some_and(|n| n.starts_with("`exit_while_busy` (on the stack")))
                .map(|g| u(&g["bytes"], "bytes"))
                .collect();
            assert_eq!(held, vec![100], "{module}: {}", brief(&r));
        }
    }
}

/// A threaded reactor called from the host: each `leak_on_workers(10)` call starts 3 threads that lose 10 blocks
/// each (all but the last one `sink` holds); with a snapshot between calls (the other threads parked), the
/// growth is exactly 30 blocks, 1,200 bytes per call, and the 6 calls leave 179 lost.
#[test]
fn invoke_a_threaded_reactor_with_snapshots_between_calls() {
    let (run, r) = check_json(
        &edge("c_threads_lib.wasm"),
        &["--invoke", "leak_on_workers", "--repeat", "6", "--snapshot-every", "1", "10"],
    );
    assert_eq!(r["exit"]["status"], "returned", "{}", run.describe());
    assert_eq!(kind_total(&r, "lost"), (179, 179 * 40), "{}", brief(&r));
    let lost = groups_at(&r, "lost", "leak");
    assert_eq!(lost.len(), 1, "{}", brief(&r));
    assert_eq!((lost[0]["blocks_per_iteration"].as_f64(), lost[0]["bytes_per_iteration"].as_f64()), (Some(30.0), Some(1200.0)), "{}", lost[0]);
}

/// `--iteration FUNC` on a threaded run: returns of FUNC on any thread are the iterations (each worker runs
/// `cache_on_worker` once: 4), a heap state at each with the other threads parked, then the one at exit standing
/// for the last; the cache grows at every one.
///
/// Which boxes a snapshot sees depends on how the threads ran: when a worker fills its share while another one's
/// return is being snapshotted, two snapshots can hold the same count, and the growth verdict (strictly rising at
/// every snapshot) is no (seen once under the full test suite's load). Up to three runs, then.
#[test]
fn iterations_on_worker_threads() {
    let mut last = String::new();
    for _ in 0..3 {
        let dir = scratch("threads-iter");
        let _ = std::fs::remove_dir_all(&dir);
        let (run, r) = check_json(
            &edge("rust_threads_o2.wasm"),
            &["--iteration", "cache_on_worker", "--save", dir.to_str().unwrap(), "shared_cache", "20000"],
        );
        assert_eq!(run.stderr.matches("shared_cache: done 20000").count(), 1, "{}", run.describe());
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 4, "{}", run.describe());
        assert_eq!(summary(&r, "leaked_blocks"), 0, "{}", brief(&r));
        let boxes = groups_at(&r, "reachable", "cache_on_worker").into_iter().find(|g| g["blocks"] == 80_000).expect("the boxes");
        if boxes["growing"] == true {
            return;
        }
        last = brief(&r);
    }
    panic!("the boxes never read as growing in three runs: {last}");
}
