//! Inputs wasmleak cannot work with: exit status 2, exactly one `error:` line on stderr saying what is
//! wrong, never a panic. Guests that overrun --timeout / --max-memory: a report that says so, exit 1 when it
//! found something (a leak found before the guest was stopped is still a finding), else 2.

mod common;

use common::*;
use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

/// Exit 2, stderr is exactly one line starting with `error:`, and that line contains every key word
/// (case-insensitive). Returns the line.
fn assert_one_error(r: &Run, keywords: &[&str]) -> String {
    r.assert_no_panic();
    r.assert_code(2);
    let lines: Vec<&str> = r.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "stderr should be exactly one line\n{}", r.describe());
    let line = lines[0];
    assert!(line.starts_with("error:"), "stderr should start with `error:`\n{}", r.describe());
    let lower = line.to_lowercase();
    for k in keywords {
        assert!(lower.contains(&k.to_lowercase()), "the error should mention {k:?}: {line}");
    }
    line.to_string()
}

fn check(module: &Path, extra: &[&str]) -> Run {
    let mut a = vec![OsString::from("check"), module.into()];
    a.extend(extra.iter().map(OsString::from));
    wasmleak(&a)
}

fn file_name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn missing_file() {
    let p = scratch("does-not-exist.wasm");
    let r = check(&p, &[]);
    assert_one_error(&r, &[&file_name(&p), "no such file"]);
}

#[test]
fn text_file() {
    let p = scratch("notes.txt");
    std::fs::write(&p, "hello, this is not WebAssembly\n").unwrap();
    let r = check(&p, &[]);
    assert_one_error(&r, &[&file_name(&p), "not a webassembly module"]);
}

#[test]
fn truncated_fixture() {
    let bytes = std::fs::read(fixture("c_patterns.wasm")).unwrap();
    let p = scratch("truncated.wasm");
    std::fs::write(&p, &bytes[..100]).unwrap();
    let r = check(&p, &["--", "lost", "1"]);
    let line = assert_one_error(&r, &[&file_name(&p)]);
    let l = line.to_lowercase();
    assert!(l.contains("unexpected end") || l.contains("truncated"), "should say the module is cut short: {line}");
}

#[test]
fn corrupted_bytes() {
    // c_lib.wasm with 200 bytes in the middle of its sections overwritten with 0xff.
    let mut bytes = std::fs::read(fixture("c_lib.wasm")).unwrap();
    for b in &mut bytes[200..400] {
        *b = 0xff;
    }
    let p = scratch("corrupted.wasm");
    std::fs::write(&p, &bytes).unwrap();
    let r = check(&p, &["--invoke", "process_ok"]);
    let line = assert_one_error(&r, &[&file_name(&p)]);
    let l = line.to_lowercase();
    assert!(l.contains("malformed") || l.contains("invalid"), "should say the module is malformed/invalid: {line}");
}

#[test]
fn invalid_module_type_mismatch() {
    // Well-formed binary, but fails validation (returns an i64 where an i32 is declared).
    let p = wat_file(
        "type-mismatch.wasm",
        &format!(r#"(module (memory (export "memory") 1) {BUMP_ALLOCATOR_WAT} (func $_start (export "_start") (result i32) i64.const 0))"#),
    );
    let r = check(&p, &[]);
    assert_one_error(&r, &[&file_name(&p), "type mismatch"]);
}

#[test]
fn component() {
    let p = wat_file("component.wasm", "(component)");
    let r = check(&p, &[]);
    assert_one_error(&r, &[&file_name(&p), "component"]);
}

#[test]
fn memory64() {
    let p = wat_file(
        "memory64.wasm",
        r#"(module
            (memory (export "memory") i64 1)
            (global $bump (mut i64) (i64.const 1024))
            (func $malloc (export "malloc") (param $n i64) (result i64)
              (global.get $bump)
              (global.set $bump (i64.add (global.get $bump) (local.get $n))))
            (func $free (export "free") (param i64))
            (func $_start (export "_start") (call $free (call $malloc (i64.const 16)))))"#,
    );
    let r = check(&p, &[]);
    assert_one_error(&r, &[&file_name(&p), "memory64"]);
}

#[test]
fn shared_memory() {
    let start = r#"(func $_start (export "_start") (call $free (call $malloc (i32.const 16))))"#;
    let p = wat_file(
        "shared-memory.wasm",
        &format!(r#"(module (memory (export "memory") 1 1 shared) {BUMP_ALLOCATOR_WAT} {start})"#),
    );
    // One thread on a shared memory of its own: it runs, tracked like any other.
    let r = check(&p, &["--format", "json"]);
    r.assert_code(0);
    let j = r.json();
    assert_eq!((j["summary"]["allocations"].as_u64(), j["summary"]["frees"].as_u64()), (Some(1), Some(1)), "{}", r.describe());
    // Threads cannot share a memory each instance defines for itself.
    let p = wat_file(
        "shared-memory-spawn.wasm",
        &format!(
            r#"(module
            (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
            (memory (export "memory") 1 1 shared) {BUMP_ALLOCATOR_WAT} {start}
            (func (export "wasi_thread_start") (param i32 i32)))"#
        ),
    );
    let r = check(&p, &[]);
    assert_one_error(&r, &[&file_name(&p), "thread-spawn", "--import-memory"]);
}

#[test]
fn no_allocator() {
    // It grows its memory (a heap of its own, say): a module with no heap at all runs instead (edge.rs).
    let p = wat_file(
        "no-allocator.wasm",
        r#"(module (memory (export "memory") 1) (func $_start (export "_start") (drop (memory.grow (i32.const 1)))))"#,
    );
    let r = check(&p, &[]);
    // Says why in one line, and the way out: where to see what was tried, how to name the allocator.
    let line = assert_one_error(&r, &[&file_name(&p), "no allocator", "wasmleak inspect", "--alloc-fn", "--free-fn"]);
    assert!(line.len() < 400, "the refusal is short: {line}");
    // `inspect` names what was looked for.
    let i = wasmleak(vec![OsString::from("inspect"), p.clone().into()]);
    i.assert_code(0);
    for k in ["malloc", "free", "__rust_alloc", "operator new"] {
        assert!(i.stdout.contains(k), "inspect should say it looked for {k}\n{}", i.describe());
    }
}

#[test]
fn alloc_fn_not_found() {
    let r = check(&fixture("c_patterns.wasm"), &["--alloc-fn", "nosuchfn", "--", "lost", "1"]);
    assert_one_error(&r, &["c_patterns.wasm", "`nosuchfn`"]);
}

#[test]
fn alloc_fn_index_out_of_range() {
    let r = check(&fixture("c_patterns.wasm"), &["--alloc-fn", "99999", "--", "lost", "1"]);
    assert_one_error(&r, &["99999"]);
}

#[test]
fn unknown_host_import() {
    let p = wat_file(
        "js-import.wasm",
        &format!(
            r#"(module
                (import "env" "js_callback" (func $cb (param i32)))
                (memory (export "memory") 1)
                {BUMP_ALLOCATOR_WAT}
                (func $_start (export "_start") (call $cb (call $malloc (i32.const 16)))))"#
        ),
    );
    let r = check(&p, &[]);
    assert_one_error(&r, &["env::js_callback", "wasmleak node"]);
}

/// A wasi-libc emulation the link left out (a Rust crate's C calling `clock()`): which library to link, not a hint at
/// JavaScript glue (crates survey).
#[test]
fn an_unlinked_wasi_emulation_says_what_to_link() {
    let p = wat_file(
        "clock-import.wasm",
        &format!(
            r#"(module
                (import "env" "clock" (func $clock (result i64)))
                (memory (export "memory") 1)
                {BUMP_ALLOCATOR_WAT}
                (func $_start (export "_start") (drop (call $clock)) (drop (call $malloc (i32.const 16)))))"#
        ),
    );
    let r = check(&p, &[]);
    assert_one_error(&r, &["env::clock", "libwasi-emulated-process-clocks.a"]);
}

/// wasm-bindgen output passes `externref`s, which this host does not enable: the same error for the module
/// before and after instrumenting, never "a wasmleak bug", and where to run it instead.
#[test]
fn externref_module_is_not_a_wasmleak_bug() {
    let p = wat_file(
        "externref.wasm",
        &format!(
            r#"(module
                (memory (export "memory") 1)
                {BUMP_ALLOCATOR_WAT}
                (func (export "take_ref") (param externref))
                (func $_start (export "_start") (drop (call $malloc (i32.const 16)))))"#
        ),
    );
    for cmd in ["check", "run"] {
        let r = wasmleak(vec![cmd.into(), p.clone().into_os_string()]);
        let line = assert_one_error(&r, &["does not compile", "wasmleak node"]);
        assert!(!line.contains("wasmleak bug"), "{line}");
    }
}

#[test]
fn invoke_unknown_export() {
    let r = check(&fixture("rust_lib.wasm"), &["--invoke", "nosuch"]);
    // Names the export that is missing and lists the ones there are.
    assert_one_error(&r, &["nosuch", "create_processor", "destroy_processor", "process_ok", "leak_forget"]);
}

#[test]
fn repeat_without_invoke() {
    let r = check(&fixture("rust_lib.wasm"), &["--repeat", "5"]);
    assert_one_error(&r, &["--repeat", "--invoke"]);
}

#[test]
fn run_of_missing_file() {
    let p = scratch("missing-for-run.wasm");
    let r = wasmleak(vec![OsString::from("run"), p.clone().into()]);
    assert_one_error(&r, &[&file_name(&p)]);
}

#[test]
fn inspect_of_text_file() {
    let p = scratch("inspect-notes.txt");
    std::fs::write(&p, "not wasm").unwrap();
    let r = wasmleak(vec![OsString::from("inspect"), p.clone().into()]);
    assert_one_error(&r, &[&file_name(&p), "not a webassembly module"]);
}

fn forever_loop() -> std::path::PathBuf {
    wat_file(
        "forever.wasm",
        &format!(
            r#"(module (memory (export "memory") 1) {BUMP_ALLOCATOR_WAT}
                (func $_start (export "_start") (drop (call $malloc (i32.const 16))) (loop $l (br $l))))"#
        ),
    )
}

#[test]
fn timeout_text() {
    let p = forever_loop();
    let r = check(&p, &["--timeout", "1"]);
    r.assert_no_panic();
    r.assert_code(1);
    assert!(r.elapsed < Duration::from_secs(5), "took {:?} for --timeout 1", r.elapsed);
    assert!(r.elapsed >= Duration::from_millis(900), "stopped before the timeout: {:?}", r.elapsed);
    assert!(r.stdout.contains("longer than the --timeout"), "the report says why it stopped\n{}", r.describe());
    // The report is still printed: the 16 B block allocated before the loop.
    assert!(r.stdout.contains("SUMMARY"), "{}", r.describe());
    assert!(r.stdout.contains("16 B"), "{}", r.describe());
}

#[test]
fn timeout_json() {
    let p = forever_loop();
    let (r, j) = check_json(&p, &["--timeout", "1"]);
    r.assert_code(1);
    assert!(r.elapsed < Duration::from_secs(5), "took {:?} for --timeout 1", r.elapsed);
    assert_contract(&j, "forever.wasm");
    assert_eq!(j["exit"]["status"], "timeout", "{}", brief(&j));
    assert!(j["exit"]["message"].as_str().unwrap_or("").contains("--timeout"), "{}", brief(&j));
    assert_eq!(kind_total(&j, "lost"), (1, 16), "{}", brief(&j));
    assert_eq!(summary(&j, "allocations"), 1);
}

#[test]
fn timeout_run() {
    let p = forever_loop();
    let r = wasmleak(vec![OsString::from("run"), "--timeout".into(), "1".into(), p.into()]);
    r.assert_no_panic();
    r.assert_code(2);
    assert!(r.elapsed < Duration::from_secs(5), "took {:?}", r.elapsed);
    assert!(r.stderr.contains("--timeout"), "{}", r.describe());
}

fn memory_grower() -> std::path::PathBuf {
    wat_file(
        "grower.wasm",
        &format!(
            r#"(module (memory (export "memory") 1) {BUMP_ALLOCATOR_WAT}
                (func $_start (export "_start")
                  (drop (call $malloc (i32.const 16)))
                  (loop $l (br_if $l (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
                  unreachable))"#
        ),
    )
}

#[test]
fn max_memory_text() {
    let p = memory_grower();
    let r = check(&p, &["--max-memory", "2MiB"]);
    r.assert_no_panic();
    r.assert_code(1);
    assert!(r.elapsed < Duration::from_secs(10), "took {:?}", r.elapsed);
    assert!(r.stdout.contains("--max-memory"), "the report says why it stopped\n{}", r.describe());
    assert!(r.stdout.contains("2097152"), "the report names the limit\n{}", r.describe());
    assert!(r.stdout.contains("SUMMARY"), "{}", r.describe());
}

#[test]
fn max_memory_json() {
    let p = memory_grower();
    let (r, j) = check_json(&p, &["--max-memory", "2MiB"]);
    r.assert_code(1);
    assert_contract(&j, "grower.wasm");
    assert_ne!(j["exit"]["status"], "returned", "{}", brief(&j));
    assert!(j["exit"]["message"].as_str().unwrap_or("").contains("--max-memory"), "{}", brief(&j));
    assert_eq!(kind_total(&j, "lost"), (1, 16), "{}", brief(&j));
}

#[test]
fn max_memory_unparsable() {
    let r = check(&fixture("c_patterns.wasm"), &["--max-memory", "lots", "--", "lost", "1"]);
    r.assert_no_panic();
    r.assert_code(2);
    assert!(r.stderr.contains("lots"), "{}", r.describe());
}

#[test]
fn unknown_subcommand() {
    let r = wasmleak(["frobnicate"]);
    r.assert_no_panic();
    r.assert_code(2);
    assert!(r.stderr.contains("frobnicate"), "{}", r.describe());
}

#[test]
fn invoke_wrong_argument_count() {
    let r = check(&fixture("rust_lib.wasm"), &["--invoke", "destroy_processor"]);
    assert_one_error(&r, &["destroy_processor", "1 argument", "0 given"]);
    let r = check(&fixture("c_lib.wasm"), &["--invoke", "create_processor", "--", "5"]);
    assert_one_error(&r, &["create_processor", "0 argument", "1 given"]);
}

#[test]
fn timeout_zero() {
    let r = check(&fixture("c_patterns.wasm"), &["--timeout", "0", "--", "lost", "1"]);
    assert_one_error(&r, &["--timeout"]);
}

#[test]
fn output_to_unwritable_path() {
    let r = check(&fixture("c_patterns.wasm"), &["-o", "/nonexistent-dir/x.json", "--", "lost", "1"]);
    r.assert_no_panic();
    r.assert_code(2);
    let errs: Vec<&str> = r.stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errs.len(), 1, "{}", r.describe());
    assert!(errs[0].contains("/nonexistent-dir/x.json"), "{}", r.describe());
}

/// `wasmleak … | head`: a reader that goes away ends wasmleak by SIGPIPE, as it ends `cat` — never a panic.
#[cfg(unix)]
#[test]
fn a_closed_stdout_is_no_panic() {
    use std::os::unix::process::ExitStatusExt;
    let mut child = std::process::Command::new(bin())
        .args(["inspect", "--functions"])
        .arg(fixture("rust_patterns.wasm"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader is gone before wasmleak writes
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.signal(), Some(13), "{:?}: {stderr}", out.status);
}

/// `-o FILE` and a module wasmleak cannot use: the one error, and no empty FILE left for a CI step to choke on.
#[test]
fn no_empty_report_file_on_error() {
    let out = scratch("no-report.json");
    let bad = scratch("not-a-module.wasm");
    std::fs::write(&bad, b"(module)").unwrap();
    let r = check(&bad, &["--format", "json", "-o", out.to_str().unwrap()]);
    assert_one_error(&r, &["not a WebAssembly module"]);
    assert!(!out.exists(), "{} was left behind", out.display());
}

/// A module importing functions the host does not provide (an Emscripten standalone build's `env::system`, syscalls
/// it never calls) is refused, naming them and `--trap-unknown-imports`; with it, the program runs and is judged,
/// and an import it does call traps — its report still printed.
#[test]
fn unknown_imports_refused_or_trapped_on_request() {
    let wat = |call: &str| {
        format!(
            r#"(module
          (import "env" "system" (func $system (param i32) (result i32)))
          (memory (export "memory") 1)
          (global $top (mut i32) (i32.const 4096))
          (func $malloc (export "malloc") (param i32) (result i32) (local i32)
            global.get $top local.set 1
            global.get $top local.get 0 i32.add global.set $top
            local.get 1)
          (func $free (export "free") (param i32) (i32.store (i32.const 1024) (local.get 0)))
          (func (export "_start") (drop (call $malloc (i32.const 24))) {call}))"#
        )
    };
    let module = scratch("unknown-imports.wasm");
    std::fs::write(&module, wat::parse_str(wat("")).unwrap()).unwrap();
    let r = wasmleak(vec!["check".into(), module.clone().into_os_string()]);
    r.assert_no_panic();
    r.assert_code(2);
    assert!(r.stderr.contains("env::system") && r.stderr.contains("--trap-unknown-imports"), "{}", r.describe());
    let r = wasmleak(vec!["check".into(), "--trap-unknown-imports".into(), module.clone().into_os_string()]);
    r.assert_code(1);
    assert!(r.stdout.contains("SUMMARY: leaked 24 B in 1 block (lost 1 / 24 B)"), "{}", r.describe());
    std::fs::write(&module, wat::parse_str(wat("(drop (call $system (i32.const 0)))")).unwrap()).unwrap();
    let r = wasmleak(vec!["check".into(), "--trap-unknown-imports".into(), module.clone().into_os_string()]);
    r.assert_no_panic();
    assert!(r.stdout.contains("SUMMARY: leaked 24 B in 1 block"), "{}", r.describe());
    assert!(r.stdout.contains("trap") || r.stderr.contains("trap"), "{}", r.describe());
}
