//! The DevTools workflow on linear memory: snapshots every K calls, growth verdicts, the comparison view,
//! retainers. Ground truth: fixtures/README.md (rust_lib exports).

mod common;

use std::ffi::OsString;
use std::path::PathBuf;

use common::*;
use serde_json::Value;

/// `check --invoke EXPORT --repeat N --snapshot-every K --save DIR --format json` → (run, report, dir).
fn snapshots(export: &str, repeat: u32, every: u32, tag: &str) -> (Run, Value, PathBuf) {
    let dir = scratch(&format!("snaps-{tag}"));
    let _ = std::fs::remove_dir_all(&dir);
    let (r, j) = check_json(
        &fixture("rust_lib.wasm"),
        &[
            "--invoke",
            export,
            "--repeat",
            &repeat.to_string(),
            "--snapshot-every",
            &every.to_string(),
            "--save",
            dir.to_str().unwrap(),
        ],
    );
    (r, j, dir)
}

fn run(args: &[&str]) -> Run {
    wasmleak(args.iter().map(OsString::from).collect::<Vec<_>>())
}

#[test]
fn snapshot_every_k_calls_writes_one_file_per_snapshot() {
    let (r, _, dir) = snapshots("process_ok", 200, 50, "count");
    r.assert_code(0);
    let mut files: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    files.sort();
    assert_eq!(files, vec!["1.wlsnap", "2.wlsnap", "3.wlsnap", "4.wlsnap"]);
}

#[test]
fn a_growing_cache_is_reachable_and_growing_by_one_entry_per_call() {
    let (r, j, _) = snapshots("cache_insert", 200, 50, "cache");
    r.assert_code(0); // reachable is not a leak
    let gs = groups_at(&j, "reachable", "cache_insert");
    let entries: Vec<&&Value> = gs.iter().filter(|g| g["growing"] == true).collect();
    assert_eq!(entries.len(), 1, "{}", brief(&j));
    let g = entries[0];
    assert_eq!((u(&g["blocks"], "blocks"), u(&g["bytes"], "bytes")), (200, 200 * 64));
    assert_eq!(g["bytes_per_iteration"].as_f64(), Some(64.0));
    assert_eq!(g["blocks_per_iteration"].as_f64(), Some(1.0));
    assert!(g["root"].as_str().unwrap().starts_with("static rust_lib::CACHE (+8), word at 0x"), "{g}");
    assert!(g["hint"].as_str().unwrap().contains("growing"), "{g}");
}

#[test]
fn a_bounded_cache_and_a_leak_free_export_do_not_grow() {
    for export in ["cache_insert_bounded", "process_ok"] {
        let (r, j, _) = snapshots(export, 200, 50, export);
        r.assert_code(0);
        assert!(groups(&j).iter().all(|g| g["growing"] == false), "{export}: {}", brief(&j));
    }
}

#[test]
fn host_held_handles_grow_by_276_bytes_per_call() {
    let (r, j, _) = snapshots("create_processor", 200, 50, "host");
    r.assert_code(1);
    let growing: Vec<&Value> = groups(&j).iter().filter(|g| g["growing"] == true).collect();
    let per_call: f64 = growing.iter().map(|g| g["bytes_per_iteration"].as_f64().unwrap()).sum();
    assert_eq!(per_call, 276.0, "{}", brief(&j));
    assert!(growing.iter().all(|g| g["kind"] == "host"));
}

#[test]
fn two_snapshots_are_not_enough_for_a_verdict() {
    let (_, j, _) = snapshots("cache_insert", 100, 50, "two");
    assert!(groups(&j).iter().all(|g| g["growing"] == false), "{}", brief(&j));
}

#[test]
fn diff_shows_new_and_freed_blocks_per_site() {
    let (_, _, dir) = snapshots("create_processor", 200, 50, "diff");
    let r = run(&["diff", dir.join("1.wlsnap").to_str().unwrap(), dir.join("4.wlsnap").to_str().unwrap(), "--format", "json"]);
    r.assert_code(0);
    let d: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(d["before"]["iteration"], 50);
    assert_eq!(d["after"]["iteration"], 200);
    let rows = d["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{d}");
    // Sorted by delta bytes: the 256-byte buffers first, then the 20-byte boxes; 150 calls in between.
    assert_eq!((rows[0]["delta_bytes"].as_i64(), rows[0]["new_blocks"].as_u64()), (Some(150 * 256), Some(150)));
    assert_eq!((rows[1]["delta_bytes"].as_i64(), rows[1]["new_blocks"].as_u64()), (Some(150 * 20), Some(150)));
    assert!(rows.iter().all(|r| r["freed_blocks"] == 0));
    assert!(rows[0]["site"].as_str().unwrap().contains("create_processor"));
    // A filter that matches nothing.
    let r = run(&["diff", dir.join("1.wlsnap").to_str().unwrap(), dir.join("4.wlsnap").to_str().unwrap(), "--filter", "nosuchfn"]);
    assert!(r.stdout.contains("(no site changed)"), "{}", r.describe());
    assert!(!r.stderr.contains("warning"), "{}", r.describe());
    // The snapshots the wrong way round: said, with the command meant.
    let r = run(&["diff", dir.join("4.wlsnap").to_str().unwrap(), dir.join("1.wlsnap").to_str().unwrap()]);
    r.assert_code(0);
    assert!(r.stderr.contains("1.wlsnap (snapshot 1, ") && r.stderr.contains("was taken before") && r.stderr.contains("did you mean `wasmleak diff "), "{}", r.describe());
}

#[test]
fn diff_of_a_steady_state_shows_freed_and_new_cancelling() {
    let (_, _, dir) = snapshots("cache_insert_bounded", 200, 50, "steady");
    let r = run(&["diff", dir.join("2.wlsnap").to_str().unwrap(), dir.join("4.wlsnap").to_str().unwrap(), "--format", "json"]);
    let d: Value = serde_json::from_str(&r.stdout).unwrap();
    let rows = d["rows"].as_array().unwrap();
    let entries = rows.iter().find(|r| r["site"].as_str().unwrap().contains("cache_insert_bounded")).expect("entry row");
    // 8 entries live at both snapshots, all replaced in between.
    assert_eq!(entries["delta_blocks"], 0, "{d}");
    assert_eq!(entries["new_blocks"], 8);
    assert_eq!(entries["freed_blocks"], 8);
}

#[test]
fn why_names_the_static_root_of_a_cache_entry() {
    let (_, _, dir) = snapshots("cache_insert", 10, 10, "why");
    let r = run(&["why", dir.join("1.wlsnap").to_str().unwrap(), "cache_insert", "--max", "1"]);
    r.assert_code(0);
    assert!(r.stdout.contains("reachable"), "{}", r.describe());
    assert!(r.stdout.contains("root static rust_lib::CACHE (+8), word at 0x"), "{}", r.describe());
    // Through the cache's own buffer: root → Vec buffer → entry.
    assert_eq!(r.stdout.matches("\n      → 0x").count(), 2, "{}", r.describe());
}

#[test]
fn why_lists_the_members_of_a_cycle() {
    let dir = scratch("why-cycle");
    let _ = std::fs::remove_dir_all(&dir);
    run(&["check", fixture("rust_patterns.wasm").to_str().unwrap(), "--save", dir.to_str().unwrap(), "-o", "/dev/null", "--", "rc_cycle", "3"]);
    let r = run(&["why", dir.join("1.wlsnap").to_str().unwrap(), "create_leaky_tree", "--max", "1"]);
    r.assert_code(0);
    assert!(r.stdout.contains("9 block(s) match"), "{}", r.describe());
    assert!(r.stdout.contains("in a cycle of 3 blocks"), "{}", r.describe());
}

#[test]
fn bad_snapshots_get_one_clear_error() {
    let junk = scratch("junk.wlsnap");
    std::fs::write(&junk, b"not a snapshot").unwrap();
    let r = run(&["diff", junk.to_str().unwrap(), junk.to_str().unwrap()]);
    r.assert_code(2);
    assert!(r.stderr.contains("not a wasmleak snapshot"), "{}", r.describe());
    // A future format version.
    let mut future = b"WLSNAP\0\0".to_vec();
    future.extend_from_slice(&99u32.to_le_bytes());
    let f = scratch("future.wlsnap");
    std::fs::write(&f, future).unwrap();
    let r = run(&["why", f.to_str().unwrap(), "x"]);
    r.assert_code(2);
    assert!(r.stderr.contains("version 99"), "{}", r.describe());
    // Truncated.
    let (_, _, dir) = snapshots("cache_insert", 10, 10, "trunc");
    let bytes = std::fs::read(dir.join("1.wlsnap")).unwrap();
    let t = scratch("truncated.wlsnap");
    std::fs::write(&t, &bytes[..bytes.len() / 2]).unwrap();
    let r = run(&["why", t.to_str().unwrap(), "x"]);
    r.assert_code(2);
    assert!(r.stderr.contains("truncated or corrupt"), "{}", r.describe());
}

#[test]
fn snapshot_every_needs_invoke() {
    let r = run(&["check", fixture("rust_patterns.wasm").to_str().unwrap(), "--snapshot-every", "5", "--", "cache", "10"]);
    r.assert_code(2);
    assert!(r.stderr.contains("--snapshot-every K needs --invoke"), "{}", r.describe());
}

/// Warm-up is not growth: the bounded cache fills its 8 entries over the first calls, then stays flat.
/// With a snapshot after every call, the first intervals grow and the later ones do not: no verdict.
#[test]
fn warm_up_then_steady_state_is_not_growing() {
    let (r, j, _) = snapshots("cache_insert_bounded", 20, 1, "warmup");
    r.assert_code(0);
    assert!(groups(&j).iter().all(|g| g["growing"] == false), "{}", brief(&j));
    // While it is still filling up (calls 1..=5), it does grow at every snapshot.
    let (_, j, _) = snapshots("cache_insert_bounded", 5, 1, "filling");
    assert!(groups(&j).iter().any(|g| g["growing"] == true), "{}", brief(&j));
}

#[test]
fn diff_filters_by_regex_and_groups_by_type() {
    let (_, _, dir) = snapshots("create_processor", 200, 50, "regex");
    let (a, b) = (dir.join("1.wlsnap"), dir.join("4.wlsnap"));
    let rows = |extra: &[&str]| -> Vec<Value> {
        let mut args = vec!["diff", a.to_str().unwrap(), b.to_str().unwrap(), "--format", "json"];
        args.extend_from_slice(extra);
        let r = run(&args);
        r.assert_code(0);
        serde_json::from_str::<Value>(&r.stdout).unwrap()["rows"].as_array().unwrap().clone()
    };
    // Only the Box<Processor> row: the regex anchors on the type.
    let boxes = rows(&["--regex", r"^Box<rust_lib::Processor>$"]);
    assert_eq!(boxes.len(), 1, "{boxes:?}");
    assert_eq!(boxes[0]["delta_bytes"], 150 * 20);
    assert_eq!(rows(&["--by", "type", "--filter", "Vec<u8>"])[0]["delta_bytes"], 150 * 256);
    let r = run(&["diff", a.to_str().unwrap(), b.to_str().unwrap(), "--regex", "("]);
    r.assert_code(2);
    assert!(r.stderr.contains("--regex ("), "{}", r.describe());
    // The later snapshot first: a warning, and the span counted backwards (it said "over 0 iterations").
    let r = run(&["diff", b.to_str().unwrap(), a.to_str().unwrap()]);
    r.assert_code(0);
    assert!(r.stderr.contains("was taken before") && r.stderr.contains("): new and freed are reversed"), "{}", r.describe());
    assert!(r.stdout.lines().next().is_some_and(|l| l.ends_with("over -150 iterations")), "{}", r.describe());
}

#[test]
fn check_writes_the_heapsnapshot_and_the_html_report_directly() {
    let hs = scratch("direct.heapsnapshot");
    let html = scratch("direct.html");
    let r = run(&[
        "check",
        fixture("rust_lib.wasm").to_str().unwrap(),
        "--invoke",
        "cache_insert",
        "--repeat",
        "20",
        "--snapshot-every",
        "5",
        "--heapsnapshot",
        hs.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ]);
    r.assert_code(0);
    let snap: Value = serde_json::from_str(&std::fs::read_to_string(&hs).unwrap()).unwrap();
    let fields = snap["snapshot"]["meta"]["node_fields"].as_array().unwrap().len() as u64;
    let nodes = snap["nodes"].as_array().unwrap().len() as u64;
    assert_eq!(snap["snapshot"]["node_count"].as_u64().unwrap() * fields, nodes);
    // 20 entries + the cache's buffer are blocks; the rest are the synthetic root, leaked holder and roots.
    let strings: Vec<&str> = snap["strings"].as_array().unwrap().iter().filter_map(|s| s.as_str()).collect();
    assert!(strings.iter().any(|s| s.starts_with("Vec<u8> from cache_insert")), "{strings:?}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("cache_insert") && page.contains("<svg"), "html report");
}

/// Growth with no snapshot option: the allocation profile samples every site's live bytes on the event clock,
/// and the verdict comes from those samples — a cache, handles left to the host and an Rc cycle per call grow;
/// a bounded cache and steady churn do not.
#[test]
fn growth_by_default_from_the_event_clock() {
    let rust = common::fixture("rust_patterns.wasm");
    let (r, j) = check_json(&rust, &["--", "cache", "10000"]);
    r.assert_code(0);
    let growing: Vec<&Value> = groups(&j).iter().filter(|g| g["growing"] == true).collect();
    // The 64-byte entries (one allocation per event: 64,000 B per 1,000) and the Vec of them, which keeps doubling.
    assert_eq!(growing.len(), 2, "{}", brief(&j));
    let entries = growing.iter().find(|g| g["type"] == "Vec<u8>").expect("the entries grow");
    let rate = entries["bytes_per_1000_events"].as_f64().unwrap();
    assert!((60_000.0..=68_000.0).contains(&rate), "{rate}");
    assert!(growing.iter().any(|g| g["type"] == "Vec<Vec<u8>>"), "the doubling Vec grows: {}", brief(&j));
    // Per second of the run too, once the run lasts long enough for the clock to say: the entries' 64 B per
    // iteration arrive faster than the whole run's average (which counts start-up and the report) and take
    // more than a millisecond in all.
    let (r, j) = check_json(&rust, &["--", "cache", "400000"]);
    let entries = groups(&j).iter().find(|g| g["type"] == "Vec<u8>" && g["growing"] == true).expect("the entries grow");
    let per_s = entries["bytes_per_second"].as_f64().expect("a rate per second");
    let total = 64.0 * 400_000.0;
    assert!(per_s >= total / r.elapsed.as_secs_f64() && per_s <= total / 0.001, "{per_s} B/s over {:?}", r.elapsed);
    let (r, j) = check_json(&rust, &["--", "rc_cycle", "3000"]);
    r.assert_code(1);
    assert!(groups(&j).iter().filter(|g| g["kind"] == "cycle").all(|g| g["growing"] == true), "{}", brief(&j));
    let lib = common::fixture("rust_lib.wasm");
    let (r, j) = check_json(&lib, &["--invoke", "create_processor", "--repeat", "5000"]);
    r.assert_code(1);
    assert!(groups(&j).iter().all(|g| g["kind"] == "host" && g["growing"] == true), "{}", brief(&j));
    // Iterations are known (the calls): 276 B and 2 blocks per call, as the snapshots say (host_held_handles…).
    let per_call: f64 = groups(&j).iter().map(|g| g["bytes_per_iteration"].as_f64().unwrap()).sum();
    assert!((per_call - 276.0).abs() < 0.5, "{per_call}: {}", brief(&j));
    // Steady: a bounded cache, allocation churn.
    let (_, j) = check_json(&lib, &["--invoke", "cache_insert_bounded", "--repeat", "20000"]);
    assert!(groups(&j).iter().all(|g| g["growing"] == false), "{}", brief(&j));
    let (_, j) = check_json(&rust, &["--", "alloc_heavy", "3"]);
    assert!(groups(&j).iter().all(|g| g["growing"] == false), "{}", brief(&j));
    // Too short a run for a verdict (fewer than 8 samples of 1,024 events).
    let (_, j) = check_json(&rust, &["--", "cache", "3000"]);
    assert!(groups(&j).iter().all(|g| g["growing"] == false), "{}", brief(&j));
    // The text says the rate.
    let t = wasmleak([std::ffi::OsStr::new("check"), rust.as_os_str(), "--".as_ref(), "cache".as_ref(), "10000".as_ref()]);
    assert!(t.stdout.contains("GROWING by 62.5 KiB per 1,000 allocator events"), "{}", t.describe());
}

/// On a terminal, a run longer than 2 s shows a live line on stderr (elapsed, allocator events, live blocks),
/// erased at the end; none in JSON mode, none when stderr is not a terminal. `script` gives the run a terminal.
#[test]
fn a_long_run_shows_progress_on_a_terminal() {
    let m = common::fixture("rust_patterns.wasm");
    let on_tty = |extra: &str| {
        // The line appears after 2 s; here at once, so a short run shows it.
        let cmd = format!("{} check {extra} {} -- alloc_heavy 400", common::bin(), m.display());
        let out = std::process::Command::new("script")
            .args(["-qfec", &cmd, "/dev/null"])
            .env("WASMLEAK_PROGRESS_AFTER_MS", "0")
            .output()
            .expect("script (util-linux) runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let text = on_tty("");
    let line = regex::Regex::new(r"\rwasmleak: \d+\.\d s, [\d,]+ allocator events, [\d,]+ live blocks \(").unwrap();
    assert!(line.is_match(&text), "no progress line: {}", text.chars().take(2000).collect::<String>());
    assert!(text.contains("\r\x1b[K"), "the line is erased at the end");
    assert!(!on_tty("--format json").contains("allocator events,"));
    let r = std::process::Command::new(common::bin())
        .args([std::ffi::OsStr::new("check"), m.as_os_str(), "--".as_ref(), "alloc_heavy".as_ref(), "400".as_ref()])
        .env("WASMLEAK_PROGRESS_AFTER_MS", "0")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&r.stderr).contains("allocator events,"), "stderr is not a terminal");
}

/// `check --snapshot-interval MS` for a command with no iteration function to name: heap states on a clock,
/// wherever the guest is (an epoch interruption), at most 32 kept plus the one at exit; the growth between
/// them is a rate per second. The program runs once (its output once), and --invoke is refused (it takes
/// snapshots between calls with --snapshot-every).
#[test]
fn snapshot_interval_in_check() {
    let rust = common::fixture("rust_patterns.wasm");
    // Snapshots on a clock see the guest only while it runs: on a machine loaded by the other tests (two cores),
    // a guest starved through a quarter of its run leaves snapshots with no growth between them, and the
    // verdict cannot be made. Up to three runs (the verdict is about the program, not the machine's load).
    let run = || {
        let dir = scratch("interval-snaps");
        let r = wasmleak([
            "check".as_ref(),
            "--format".as_ref(),
            "json".as_ref(),
            // 5 ms: the guest runs ~45 ms on a quiet machine (3 snapshots at 15 ms were too few); a loaded one
            // makes more, thinned to at most 32.
            "--snapshot-interval".as_ref(),
            "5".as_ref(),
            "--save".as_ref(),
            dir.as_os_str(),
            rust.as_os_str(),
            "--".as_ref(),
            "cache".as_ref(),
            "400000".as_ref(),
        ]);
        r.assert_code(0);
        let j: Value = serde_json::from_str(&r.stdout).unwrap();
        (dir, r, j)
    };
    let growing = |j: &Value| groups(j).iter().any(|g| g["type"] == "Vec<u8>" && g["growing"] == true);
    let (mut dir, mut r, mut j) = run();
    for _ in 0..2 {
        if growing(&j) {
            break;
        }
        let _ = std::fs::remove_dir_all(&dir);
        (dir, r, j) = run();
    }
    assert_eq!(r.stderr.matches("cache: done 400000").count(), 1, "{}", r.stderr);
    let n = std::fs::read_dir(&dir).unwrap().count();
    assert!((4..=33).contains(&n), "{n} snapshots");
    let entries = groups(&j).iter().find(|g| g["type"] == "Vec<u8>").expect("the entries");
    assert_eq!(entries["growing"], true, "{}", brief(&j));
    assert!(entries.get("bytes_per_iteration").is_none(), "{entries}");
    assert!(entries["bytes_per_second"].as_f64().unwrap() > 0.0, "{entries}");
    // The snapshots are in order: the first holds fewer entries than the last.
    let first = wasmleak(["diff".as_ref(), dir.join("1.wlsnap").as_os_str(), dir.join(format!("{n}.wlsnap")).as_os_str()]);
    first.assert_code(0);
    assert!(first.stdout.contains("cache_insert"), "{}", first.stdout);
    let lib = common::fixture("rust_lib.wasm");
    let r = wasmleak(["check".as_ref(), "--snapshot-interval".as_ref(), "10".as_ref(), lib.as_os_str(), "--invoke".as_ref(), "cache_insert".as_ref()]);
    r.assert_code(2);
    assert!(r.stderr.contains("--snapshot-every"), "{}", r.stderr);
    let _ = std::fs::remove_dir_all(&dir); // hundreds of MB (kept when an assertion fails)
}

/// As a cargo runner (`CARGO_TARGET_WASM32_WASIP1_RUNNER="wasmleak check"`): cargo appends the module and
/// then the program's arguments (`cargo test -q` → `--quiet`), which reach the guest untouched from the first
/// argument that is not one of wasmleak's; `wasmleak check --` passes even those that are (`--format`).
#[test]
fn arguments_after_the_module_go_to_the_guest() {
    let rust = common::fixture("rust_patterns.wasm");
    // Without `--`: the same run as with it.
    let (r, j) = check_json(&rust, &["rc_cycle", "5"]);
    r.assert_code(1);
    assert_eq!(summary(&j, "cycle_blocks"), 15, "{}", brief(&j));
    // An argument wasmleak does not know starts the guest's: rust_patterns prints its usage for it.
    let r = wasmleak(["check".as_ref(), rust.as_os_str(), "--quiet".as_ref(), "--nocapture".as_ref()]);
    assert!(r.stderr.contains("usage: rust_patterns") && r.stdout.contains("exited with status 2"), "{}", r.describe());
    assert!(!r.stderr.contains("unexpected argument"), "{}", r.stderr);
    // `check --` then the module: every argument after it is the guest's, `--format json` included.
    let r = wasmleak(["check".as_ref(), "--".as_ref(), rust.as_os_str(), "--format".as_ref(), "json".as_ref()]);
    assert!(r.stderr.contains("usage: rust_patterns") && r.stdout.contains("SUMMARY:"), "{}", r.describe());
}
