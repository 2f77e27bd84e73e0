//! Instrumentation does not change what the guest does: `wasmleak run` (nothing tracked) and
//! `wasmleak check -o FILE` (report to a file, so stdout is only the guest's) print the same guest
//! output, `run` exits with the guest's own status, and `wasmleak instrument` writes a valid module
//! that imports the hooks and keeps every export.

mod common;

use common::*;
use std::collections::BTreeSet;
use std::ffi::OsString;
use wasmparser::{Parser, Payload, TypeRef, Validator};

fn os(v: &[&str]) -> Vec<OsString> {
    v.iter().map(OsString::from).collect()
}

/// `run` and `check -o` on the same guest: returns (run, check).
fn run_and_check(module: &str, guest: &[&str]) -> (Run, Run) {
    let m = fixture(module);
    let mut a = vec![OsString::from("run"), m.clone().into()];
    a.extend(os(guest));
    let run = wasmleak(&a);
    run.assert_no_panic();

    let out = scratch("behaviour-report.json");
    let mut a = vec![OsString::from("check"), "--format".into(), "json".into(), "-o".into(), out.clone().into(), m.into()];
    a.extend(os(guest));
    let check = wasmleak(&a);
    check.assert_no_panic();
    // The report went to the file, and it is a report.
    let j: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).expect("the -o file was written"))
        .unwrap_or_else(|e| panic!("-o file is not one JSON document: {e}\n{}", check.describe()));
    assert_eq!(j["version"], 1);
    std::fs::remove_file(&out).ok();
    (run, check)
}

/// A command pattern: both print exactly `expected_stdout`, `run` exits 0.
fn same_output(module: &str, pattern: &str, n: &str, expected_stdout: &str) {
    let (run, check) = run_and_check(module, &["--", pattern, n]);
    assert_eq!(run.code(), 0, "`run` exits with the guest's own status (0)\n{}", run.describe());
    assert_eq!(run.stdout, expected_stdout, "`run` stdout\n{}", run.describe());
    assert_eq!(check.stdout, run.stdout, "`check -o` prints the guest's stdout unchanged\n{}", check.describe());
    assert!(!run.stderr.contains("error"), "`run` stderr\n{}", run.describe());
}

macro_rules! same_output {
    ($($name:ident: $module:literal $pattern:literal;)*) => {
        $(
            #[test]
            fn $name() {
                same_output($module, $pattern, "10", concat!($pattern, ": done 10\n"));
            }
        )*
    };
}

same_output! {
    rust_rc_cycle: "rust_patterns.wasm" "rc_cycle";
    rust_rc_weak: "rust_patterns.wasm" "rc_weak";
    rust_arc_cycle: "rust_patterns.wasm" "arc_cycle";
    rust_arc_weak: "rust_patterns.wasm" "arc_weak";
    rust_forget: "rust_patterns.wasm" "forget";
    rust_drop: "rust_patterns.wasm" "drop";
    rust_cache: "rust_patterns.wasm" "cache";
    rust_cache_bounded: "rust_patterns.wasm" "cache_bounded";
    rust_noop: "rust_patterns.wasm" "noop";
    c_lost: "c_patterns.wasm" "lost";
    c_error_path: "c_patterns.wasm" "error_path";
    c_error_path_fixed: "c_patterns.wasm" "error_path_fixed";
    c_list_lost: "c_patterns.wasm" "list_lost";
    c_calloc_realloc: "c_patterns.wasm" "calloc_realloc";
    c_posix_memalign: "c_patterns.wasm" "posix_memalign";
    c_double_free: "c_patterns.wasm" "double_free";
    c_invalid_free: "c_patterns.wasm" "invalid_free";
    c_invalid_free_static: "c_patterns.wasm" "invalid_free_static";
    c_ok: "c_patterns.wasm" "ok";
    c_noop: "c_patterns.wasm" "noop";
    cpp_new_no_delete: "cpp_patterns.wasm" "new_no_delete";
    cpp_missing_dtor: "cpp_patterns.wasm" "missing_dtor";
    cpp_shared_ptr_cycle: "cpp_patterns.wasm" "shared_ptr_cycle";
    cpp_weak_ptr: "cpp_patterns.wasm" "weak_ptr";
    cpp_ok: "cpp_patterns.wasm" "ok";
    cpp_noop: "cpp_patterns.wasm" "noop";
}

/// The checksum proves the allocation-heavy computation is unchanged by the hooks.
#[test]
fn rust_alloc_heavy() {
    same_output("rust_patterns.wasm", "alloc_heavy", "10", "alloc_heavy: done 10 checksum 3055364772515\n");
}

#[test]
fn rust_sizes() {
    let (run, check) = run_and_check("rust_patterns.wasm", &["--", "sizes"]);
    run.assert_code(0);
    for line in ["usize 4", "RcBox<RefCell<Node>> 32", "ArcInner<Mutex<ArcNode>> 32", "[u64; 4] 32 align 8"] {
        assert!(run.stdout.lines().any(|l| l == line), "missing {line:?}\n{}", run.describe());
    }
    assert!(run.stdout.ends_with("sizes: done\n"), "{}", run.describe());
    assert_eq!(check.stdout, run.stdout);
}

#[test]
fn cpp_sizes() {
    let (run, check) = run_and_check("cpp_patterns.wasm", &["--", "sizes"]);
    run.assert_code(0);
    for line in ["sizeof(Widget) 8", "sizeof(Holder) 8", "sizeof(Peer) 12", "make_shared<Peer> block (__shared_ptr_emplace) 24"] {
        assert!(run.stdout.lines().any(|l| l == line), "missing {line:?}\n{}", run.describe());
    }
    assert!(run.stdout.ends_with("sizes: done\n"), "{}", run.describe());
    assert_eq!(check.stdout, run.stdout);
}

/// The guest traps inside free() after printing one line: both print it; neither exits 0.
#[test]
fn c_invalid_free_trap() {
    let (run, check) = run_and_check("c_patterns.wasm", &["--", "invalid_free_trap", "10"]);
    assert_eq!(run.stdout, "invalid_free_trap: freeing an interior pointer\n", "{}", run.describe());
    assert_ne!(run.code(), 0, "a trap is not success\n{}", run.describe());
    // The one deliberate difference (as memcheck): the invalid free is reported and not handed to the
    // allocator, so under `check` the program goes on to its end instead of trapping in dlmalloc.
    assert_eq!(check.stdout, format!("{}invalid_free_trap: done 10\n", run.stdout), "{}", check.describe());
    check.assert_code(1);
}

/// An unknown pattern: the guest prints usage on stderr and exits 2 itself; `run` passes that on.
#[test]
fn guest_exit_status_passes_through() {
    for module in ["c_patterns.wasm", "rust_patterns.wasm", "cpp_patterns.wasm"] {
        let r = wasmleak(vec![OsString::from("run"), fixture(module).into(), "--".into(), "no_such_pattern".into()]);
        r.assert_no_panic();
        r.assert_code(2);
        assert!(r.stderr.contains("usage:"), "the guest's usage goes to stderr\n{}", r.describe());
        assert_eq!(r.stdout, "", "{}", r.describe());
    }
}

/// Library exports: nothing printed by either, `run` exits 0 and `check` agrees on what was printed.
#[test]
fn invoke_exports() {
    for (module, export) in [
        ("rust_lib.wasm", "create_processor"),
        ("rust_lib.wasm", "process_ok"),
        ("rust_lib.wasm", "leak_forget"),
        ("rust_lib_lto.wasm", "create_processor"),
        ("rust_lib_lto.wasm", "process_ok"),
        ("rust_lib_lto.wasm", "leak_forget"),
        ("c_lib.wasm", "create_processor"),
        ("c_lib.wasm", "process_ok"),
    ] {
        let (run, check) = run_and_check(module, &["--invoke", export, "--repeat", "10"]);
        assert_eq!(run.code(), 0, "{module} {export}\n{}", run.describe());
        assert_eq!(run.stdout, check.stdout, "{module} {export}\n{}", check.describe());
    }
}

// ---- instrument ----

#[derive(Default)]
struct ModuleFacts {
    imports: BTreeSet<(String, String)>,
    func_imports: BTreeSet<(String, String)>,
    exports: BTreeSet<String>,
}

fn facts(bytes: &[u8]) -> ModuleFacts {
    let mut f = ModuleFacts::default();
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.expect("parse") {
            Payload::ImportSection(s) => {
                for imp in s.into_imports() {
                    let imp = imp.expect("import");
                    f.imports.insert((imp.module.to_string(), imp.name.to_string()));
                    if matches!(imp.ty, TypeRef::Func(_)) {
                        f.func_imports.insert((imp.module.to_string(), imp.name.to_string()));
                    }
                }
            }
            Payload::ExportSection(s) => {
                for e in s {
                    f.exports.insert(e.expect("export").name.to_string());
                }
            }
            _ => {}
        }
    }
    f
}

fn instrument_validates(module: &str) {
    let input = fixture(module);
    let out = scratch(&format!("instrumented-{module}"));
    let r = wasmleak(vec![OsString::from("instrument"), input.clone().into(), "-o".into(), out.clone().into()]);
    r.assert_no_panic();
    r.assert_code(0);
    let orig = std::fs::read(&input).unwrap();
    let new = std::fs::read(&out).unwrap_or_else(|e| panic!("no output written: {e}\n{}", r.describe()));
    Validator::new()
        .validate_all(&new)
        .unwrap_or_else(|e| panic!("instrumented {module} does not validate: {e}"));
    let (fo, fnew) = (facts(&orig), facts(&new));
    for hook in ["alloc", "free", "realloc"] {
        assert!(
            fnew.func_imports.contains(&("wasmleak".to_string(), hook.to_string())),
            "instrumented {module} does not import wasmleak::{hook}; imports: {:?}",
            fnew.imports
        );
    }
    for e in &fo.exports {
        assert!(fnew.exports.contains(e), "instrumented {module} lost the export {e:?}; exports: {:?}", fnew.exports);
    }
    for i in &fo.imports {
        assert!(fnew.imports.contains(i), "instrumented {module} lost the import {i:?}");
    }
    std::fs::remove_file(&out).ok();
}

#[test]
fn instrument_rust_patterns() {
    instrument_validates("rust_patterns.wasm");
}
#[test]
fn instrument_rust_lib() {
    instrument_validates("rust_lib.wasm");
}
#[test]
fn instrument_rust_lib_lto() {
    instrument_validates("rust_lib_lto.wasm");
}
#[test]
fn instrument_c_patterns() {
    instrument_validates("c_patterns.wasm");
}
#[test]
fn instrument_c_lib() {
    instrument_validates("c_lib.wasm");
}
#[test]
fn instrument_cpp_patterns() {
    instrument_validates("cpp_patterns.wasm");
}

/// The hook ABI is extended, never changed: without `--checked-frees` the module imports exactly
/// alloc/free/realloc; with it, also `wasmleak::check: [i32] -> [i32]`, after them.
#[test]
fn instrument_checked_frees_adds_the_check_import() {
    let input = fixture("c_patterns.wasm");
    let imports = |checked: bool| -> Vec<(String, String)> {
        let out = scratch(&format!("checked-{checked}.wasm"));
        let mut args = vec![OsString::from("instrument"), input.clone().into(), "-o".into(), out.clone().into()];
        if checked {
            args.push("--checked-frees".into());
        }
        wasmleak(args).assert_code(0);
        let bytes = std::fs::read(&out).unwrap();
        Validator::new().validate_all(&bytes).unwrap();
        // In import order (the hooks' function indices follow it).
        let mut v = Vec::new();
        for p in wasmparser::Parser::new(0).parse_all(&bytes) {
            if let wasmparser::Payload::ImportSection(r) = p.unwrap() {
                for imp in r.into_imports() {
                    let imp = imp.unwrap();
                    if imp.module == "wasmleak" {
                        v.push((imp.module.to_string(), imp.name.to_string()));
                    }
                }
            }
        }
        v
    };
    let hooks = |names: &[&str]| names.iter().map(|n| ("wasmleak".to_string(), n.to_string())).collect::<Vec<_>>();
    assert_eq!(imports(false), hooks(&["alloc", "free", "realloc"]));
    assert_eq!(imports(true), hooks(&["alloc", "free", "realloc", "check"]));
}

fn instrument_file(input: &std::path::Path, name: &str) -> (Run, std::path::PathBuf) {
    let out = scratch(name);
    let r = wasmleak(vec![OsString::from("instrument"), input.into(), "-o".into(), out.clone().into()]);
    r.assert_no_panic();
    (r, out)
}

/// Instrumenting an already-instrumented module must never write an invalid module: either refuse
/// (exit 2, an `error:` that says the module is already instrumented) or write one that validates.
#[test]
fn instrument_twice() {
    let (r1, once) = instrument_file(&fixture("c_patterns.wasm"), "once.wasm");
    r1.assert_code(0);
    let (r2, twice) = instrument_file(&once, "twice.wasm");
    match r2.code() {
        0 => {
            let bytes = std::fs::read(&twice).unwrap();
            Validator::new().validate_all(&bytes).unwrap_or_else(|e| panic!("instrumenting twice wrote an invalid module: {e}"));
        }
        2 => {
            assert!(r2.stderr.starts_with("error:"), "{}", r2.describe());
            assert!(r2.stderr.to_lowercase().contains("instrumented"), "the error should say why\n{}", r2.describe());
        }
        c => panic!("unexpected exit status {c}\n{}", r2.describe()),
    }
}

/// `check` on the output of `instrument`: either it checks it (the hooks are already there: same
/// ground truth, c_patterns lost 10 → 10 lost blocks, 240 B at make_record) or it refuses with an error
/// that says the module is already instrumented — never "a wasmleak bug".
#[test]
fn check_an_instrumented_module() {
    let (r1, once) = instrument_file(&fixture("c_patterns.wasm"), "check-once.wasm");
    r1.assert_code(0);
    let r = wasmleak(vec![OsString::from("check"), "--format".into(), "json".into(), once.into(), "--".into(), "lost".into(), "10".into()]);
    r.assert_no_panic();
    assert!(!r.stderr.contains("wasmleak bug"), "{}", r.describe());
    match r.code() {
        1 => {
            let j = r.json();
            assert_eq!(site_total(&j, "lost", "make_record"), (10, 240), "{}", brief(&j));
        }
        2 => assert!(r.stderr.to_lowercase().contains("already instrumented"), "{}", r.describe()),
        c => panic!("unexpected exit status {c}\n{}", r.describe()),
    }
}

/// The instrumented module keeps the name section (other hosts symbolize with it) and every function.
#[test]
fn instrument_keeps_names() {
    let (r, out) = instrument_file(&fixture("c_patterns.wasm"), "names.wasm");
    r.assert_code(0);
    let bytes = std::fs::read(&out).unwrap();
    let mut names = BTreeSet::new();
    for p in Parser::new(0).parse_all(&bytes) {
        if let Payload::CustomSection(c) = p.unwrap() {
            if c.name() == "name" {
                let reader = wasmparser::NameSectionReader::new(wasmparser::BinaryReader::new(c.data(), c.data_offset()));
                for sub in reader {
                    if let wasmparser::Name::Function(map) = sub.unwrap() {
                        for n in map {
                            names.insert(n.unwrap().name.to_string());
                        }
                    }
                }
            }
        }
    }
    for f in ["main", "make_record", "parse_item", "build_list", "malloc", "free", "free_twice"] {
        assert!(names.contains(f), "instrumented module lost the name of {f}; has {} names", names.len());
    }
}

/// `--env` reaches the guest; a host directory is visible only when `--dir` shares it.
#[test]
fn env_and_dir_reach_the_guest_only_when_asked() {
    let dir = scratch("io-dir");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("in.txt"), "first line\nsecond\n").unwrap();
    let module = fixture("c_patterns.wasm");
    let shared = format!("{}::/data", dir.display());
    let r = wasmleak(vec![
        OsString::from("check"),
        module.clone().into(),
        "--env".into(),
        "WASMLEAK_TEST=hello".into(),
        "--dir".into(),
        shared.into(),
        "-o".into(),
        scratch("io.json").into(),
        "--".into(),
        "io".into(),
    ]);
    r.assert_code(0);
    assert!(r.stdout.contains("env: hello\n"), "{}", r.describe());
    assert!(r.stdout.contains("file: first line\n"), "{}", r.describe());
    let r = wasmleak(vec![OsString::from("run"), module.into(), "--".into(), "io".into()]);
    r.assert_code(0);
    assert!(r.stdout.contains("env: (unset)\n"), "{}", r.describe());
    assert!(r.stdout.contains("file: (no /data/in.txt)\n"), "{}", r.describe());
}

/// A guest that fails (exit status 3) with nothing found exits 3 under `check`, as it does under `run` and under
/// LeakSanitizer: as a cargo runner, `check` must not turn a failing test green. Findings still decide first.
#[test]
fn guest_failure_passes_through_check_when_nothing_is_found() {
    let wat = |leak: bool| {
        format!(
            r#"(module
              (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
              (memory (export "memory") 1)
              (global $top (mut i32) (i32.const 1024))
              (global $keep (mut i32) (i32.const 0))
              (func $malloc (export "malloc") (param i32) (result i32) (local i32)
                global.get $top local.set 1
                global.get $top local.get 0 i32.add i32.const 7 i32.add i32.const -8 i32.and global.set $top
                local.get 1)
              (func $free (export "free") (param i32))
              (func (export "_start")
                i32.const 16 call $malloc {}
                i32.const 3 call $exit))"#,
            if leak { "drop" } else { "call $free" }
        )
    };
    let clean = common::wat_file("exit3_clean.wasm", &wat(false));
    let leaky = common::wat_file("exit3_leaky.wasm", &wat(true));
    let run = wasmleak(vec![OsString::from("run"), clean.clone().into()]);
    run.assert_code(3);
    let check = wasmleak(vec![OsString::from("check"), clean.into()]);
    check.assert_code(3);
    assert!(check.stdout.contains("exited with status 3"), "{}", check.describe());
    let check = wasmleak(vec![OsString::from("check"), leaky.into()]);
    check.assert_code(1);
}
