//! CI adoption: `--suppressions` (LeakSanitizer's format), `--baseline` (an earlier JSON report) and
//! `--fail-on`, end to end with their exit statuses. c_patterns `lost 3` leaks 3 blocks / 72 B at make_record;
//! `list_lost 3` leaks 3 list heads (lost) and 6 nodes (indirect) at build_list.

mod common;

use common::*;
use serde_json::Value;

fn module() -> std::path::PathBuf {
    fixture("c_patterns.wasm")
}

fn write(name: &str, text: &str) -> String {
    let p = scratch(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

fn decided(r: &Value) -> Vec<String> {
    r["decided_by"].as_array().unwrap().iter().map(|k| k.as_str().unwrap().to_string()).collect()
}

#[test]
fn suppressions_leave_matching_leaks_out_and_count_them() {
    for pattern in ["make_record", "^make_", "patterns.c$", "c_patterns.wasm", "make_*cord"] {
        let supp = write("lsan.supp", &format!("# known leaks\n\nleak:{pattern}\n"));
        let (r, j) = check_json(&module(), &["--suppressions", &supp, "--", "lost", "3"]);
        r.assert_code(0);
        assert_eq!((summary(&j, "leaked_blocks"), summary(&j, "suppressed_blocks"), summary(&j, "suppressed_bytes")), (0, 3, 72), "{pattern}: {}", brief(&j));
        assert!(decided(&j).is_empty());
    }
    // Not matching: the leak stays and fails the run.
    let supp = write("lsan-other.supp", "leak:^record\nleak:zlib\n");
    let (r, j) = check_json(&module(), &["--suppressions", &supp, "--", "lost", "3"]);
    r.assert_code(1);
    assert_eq!(kind_total(&j, "lost"), (3, 72));
    // The text says what was suppressed.
    let supp = write("lsan-text.supp", "leak:make_record\n");
    let t = wasmleak(["check", module().to_str().unwrap(), "--suppressions", &supp, "--", "lost", "3"]);
    t.assert_code(0);
    assert!(t.stdout.contains("suppressed: 3 leaked blocks (72 B) matched the suppressions"), "{}", t.describe());
}

#[test]
fn a_bad_suppressions_file_is_one_clear_error_before_the_run() {
    let supp = write("bad.supp", "leak:ok\nmake_record\n");
    let r = wasmleak(["check", module().to_str().unwrap(), "--suppressions", &supp, "--", "lost", "3"]);
    r.assert_code(2);
    assert!(r.stderr.contains("bad.supp:2: `make_record` is not a suppression: write `leak:PATTERN`"), "{}", r.describe());
    assert!(!r.stdout.contains("lost: done"), "the guest must not run: {}", r.describe());
    let r = wasmleak(["check", module().to_str().unwrap(), "--fail-on", "lost,leaky", "--", "lost", "3"]);
    r.assert_code(2);
    assert!(r.stderr.contains("--fail-on: unknown kind `leaky`"), "{}", r.describe());
    let not_json = write("not.json", "{\"groups\": []}");
    let r = wasmleak(["check", module().to_str().unwrap(), "--baseline", &not_json, "--", "lost", "3"]);
    r.assert_code(2);
    assert!(r.stderr.contains("not a wasmleak JSON report"), "{}", r.describe());
}

#[test]
fn a_baseline_fails_only_on_new_findings() {
    let (r, old) = check_json(&module(), &["--", "lost", "3"]);
    r.assert_code(1);
    assert_eq!(decided(&old), ["lost: make_record (./c/patterns.c)"]);
    let baseline = write("baseline.json", &old.to_string());
    // The same leaks again (and more of them): known, exit 0, still reported.
    let (r, j) = check_json(&module(), &["--baseline", &baseline, "--", "lost", "5"]);
    r.assert_code(0);
    assert!(decided(&j).is_empty());
    assert_eq!(kind_total(&j, "lost"), (5, 120));
    // A new site fails the run, and only it decides.
    let (r, j) = check_json(&module(), &["--baseline", &baseline, "--", "list_lost", "3"]);
    r.assert_code(1);
    assert_eq!(decided(&j), ["lost: build_list (./c/patterns.c)", "indirect: build_list (./c/patterns.c)"]);
    let t = wasmleak(["check", module().to_str().unwrap(), "--baseline", &baseline, "--", "lost", "3"]);
    t.assert_code(0);
    assert!(t.stdout.contains("fails the run: 0 of 1 findings"), "{}", t.describe());
}

#[test]
fn fail_on_picks_the_kinds_that_fail() {
    // Indirect only: the lost heads do not decide, the nodes do.
    let (r, j) = check_json(&module(), &["--fail-on", "indirect", "--", "list_lost", "3"]);
    r.assert_code(1);
    assert_eq!(decided(&j), ["indirect: build_list (./c/patterns.c)"]);
    let (r, _) = check_json(&module(), &["--fail-on", "cycle,host", "--", "list_lost", "3"]);
    r.assert_code(0);
    // A growing cache: reachable, so not a failure by default; `growing` makes it one.
    let lib = fixture("rust_lib.wasm");
    let args = ["--invoke", "cache_insert", "--repeat", "20", "--snapshot-every", "5"];
    let (r, j) = check_json(&lib, &args);
    r.assert_code(0);
    assert!(decided(&j).is_empty());
    let mut with = args.to_vec();
    with.extend(["--fail-on", "growing"]);
    let (r, j) = check_json(&lib, &with);
    r.assert_code(1);
    let keys = decided(&j);
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].starts_with("reachable: cache_insert (rust/src/lib.rs) via "), "{keys:?}");
    // Invalid frees fail by default, not when left out.
    let (r, j) = check_json(&module(), &["--", "double_free", "1"]);
    r.assert_code(1);
    assert!(decided(&j).iter().any(|k| k.starts_with("double-free: ")), "{:?}", decided(&j));
    let (r, _) = check_json(&module(), &["--fail-on", "lost", "--", "double_free", "1"]);
    r.assert_code(0);
}
