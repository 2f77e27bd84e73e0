//! `wasmleak node`: runs an unmodified Node app with the JS runtime attached (needs `node` and the wasm32
//! analysis artifact, which scripts/test.sh builds before nextest). Without them the tests print a note and
//! pass — unless `CI` is set, where they fail.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn artifact() -> PathBuf {
    if let Some(p) = std::env::var_os("WASMLEAK_WASM") {
        return p.into();
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").filter(|t| !t.is_empty()).map(PathBuf::from);
    target.unwrap_or_else(|| "/var/tmp/wasmleak-target".into()).join("wasm32-unknown-unknown/release/wasmleak_wasm.wasm")
}

/// False (with a note) when node or the artifact is missing outside CI; panics in CI.
fn prerequisites() -> bool {
    let node = Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    let wasm = artifact().is_file();
    if node && wasm {
        return true;
    }
    let what = if node {
        format!("{} is missing (cargo build --release --target wasm32-unknown-unknown -p wasmleak-wasm)", artifact().display())
    } else {
        "node is not installed".to_string()
    };
    assert!(std::env::var_os("CI").is_none(), "wasmleak node tests: {what}");
    eprintln!("note: skipping the `wasmleak node` test: {what}");
    false
}

fn wasmleak_node(args: &[&str]) -> (i32, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_wasmleak"))
        .arg("node")
        .args(args)
        .current_dir(repo())
        .env("WASMLEAK_WASM", artifact())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: stdout {stdout:?}, stderr {stderr}"));
    (out.status.code().unwrap_or(-1), json, stderr)
}

fn host(report: &Value) -> (u64, u64) {
    let groups = report["groups"].as_array().unwrap();
    assert!(groups.iter().all(|g| g["kind"] == "host"), "{report}");
    groups.iter().fold((0, 0), |(b, n), g| (b + g["blocks"].as_u64().unwrap(), n + g["bytes"].as_u64().unwrap()))
}

#[test]
fn node_app_leaking_host_held_blocks_exits_1() {
    if !prerequisites() {
        return;
    }
    for app in ["tests/js/apps/lib_app.mjs", "tests/js/apps/sync_app.mjs"] {
        let (code, report, stderr) = wasmleak_node(&["--format", "json", app, "create_processor", "5"]);
        assert_eq!(code, 1, "{app}: {stderr}");
        assert_eq!(report["version"], 1);
        assert_eq!(host(&report), (10, 1380), "{app}: {report}");
        assert_eq!(report["summary"]["leaked_blocks"], 10);
        // Five processors JS never freed (two blocks each).
        assert_eq!(report["summary"]["host_objects"], 5, "{app}: {report}");
        // The app's own stdout went to stderr, not into the JSON.
        assert!(stderr.contains("create_processor x5: done"), "{stderr}");
    }
}

#[test]
fn node_app_without_leaks_exits_0() {
    if !prerequisites() {
        return;
    }
    let (code, report, stderr) = wasmleak_node(&["--format", "json", "tests/js/apps/lib_app.mjs", "process_ok", "5"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report["summary"]["leaked_blocks"], 0, "{report}");
    assert_eq!(report["summary"]["allocations"], 10, "{report}");
}

/// A garbage-collected language's runtime (TinyGo-like: it imports `gojs`) that grows its memory: not tracked, so
/// no verdict — exit 2, as `check` gives for it (it exited 0 under `node`, "heap": false; toolchains survey:
/// AssemblyScript), and no advice to name an allocator it does not have.
#[test]
fn a_language_runtime_module_has_no_verdict() {
    if !prerequisites() {
        return;
    }
    let module = common::scratch("gojs-like.wasm");
    let wat = r#"(module (import "gojs" "runtime.ticks" (func (result f64))) (memory (export "mem") 1)
      (func (export "run") i32.const 1 memory.grow drop))"#;
    std::fs::write(&module, wat::parse_str(wat).unwrap()).unwrap();
    let (code, json, stderr) = wasmleak_node(&["--format", "json", "tests/js/apps/gojs_app.mjs", module.to_str().unwrap()]);
    assert_eq!(code, 2, "{json}\n{stderr}");
    let entries = json.as_array().unwrap_or_else(|| panic!("an array with the untracked module: {json}"));
    assert_eq!((entries[0]["status"].as_str(), entries[0]["heap"].as_bool()), (Some("language_runtime"), Some(true)), "{json}");
    assert!(!stderr.contains("--alloc-fn"), "{stderr}");
    let _ = std::fs::remove_file(&module);
}

/// A script whose wasm runs in a child process (esbuild-wasm runs its Go module in another node): nothing was
/// looked at, so nothing is called clean — no verdict, and the message says where the wasm went.
#[test]
fn a_script_instantiating_no_module_has_no_verdict() {
    if !prerequisites() {
        return;
    }
    let dir = common::scratch("node-child");
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("child.mjs");
    std::fs::write(
        &script,
        "import { execFileSync } from 'node:child_process';\n\
         const out = execFileSync(process.execPath, ['tests/js/apps/lib_app.mjs', 'process_ok', '5']);\n\
         console.log('child said', out.length, 'bytes');\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_wasmleak"))
        .arg("node")
        .arg(&script)
        .current_dir(repo())
        .env("WASMLEAK_WASM", artifact())
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert!(stdout.contains("child said"), "{stdout}");
    assert!(stdout.contains("instantiated no WebAssembly module; nothing tracked"), "{stdout}");
    assert!(stderr.contains("no verdict") && stderr.contains("child process"), "{stderr}");
}

#[test]
fn node_reports_a_missing_wasm_artifact_clearly() {
    let out = Command::new(env!("CARGO_BIN_EXE_wasmleak"))
        .args(["node", "tests/js/apps/lib_app.mjs"])
        .current_dir(repo())
        .env("WASMLEAK_WASM", "/nonexistent/wasmleak_wasm.wasm")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cargo build --release --target wasm32-unknown-unknown -p wasmleak-wasm"), "{stderr}");
}

/// An installed binary needs no source tree: the JS runtime and the analysis module are embedded (build.rs)
/// and written to the user's cache on first use. Here nothing else could be found: no WASMLEAK_JS /
/// WASMLEAK_WASM, a target dir that does not exist, a fresh cache directory. With its own analysis, the runtime
/// has the binary instrument the app's module (`__instrument-for-js`) and caches it: the second run takes it
/// from the cache, and both report the same.
#[test]
fn node_runs_from_the_embedded_runtime_alone() {
    if !prerequisites() {
        return;
    }
    let cache = common::scratch("cache-test");
    let _ = std::fs::remove_dir_all(&cache);
    // Node through a script that puts a logging wrapper in front of the binary `wasmleak node` names as
    // WASMLEAK_CLI: which runs instrumented natively.
    let bin = common::scratch("cache-test-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = bin.join("cli.log");
    let script = |name: &str, body: String| {
        let path = bin.join(name);
        std::fs::write(&path, body).unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        path
    };
    let cli = script("cli.sh", format!("#!/bin/sh\necho \"$1\" >> {}\nexec \"$REAL_CLI\" \"$@\"\n", log.display()));
    let node = script("node.sh", format!("#!/bin/sh\nexport REAL_CLI=\"$WASMLEAK_CLI\" WASMLEAK_CLI={}\nexec node \"$@\"\n", cli.display()));
    let run = || {
        let out = Command::new(env!("CARGO_BIN_EXE_wasmleak"))
            .args(["node", "--format", "json", "tests/js/apps/lib_app.mjs", "create_processor", "2"])
            .current_dir(repo())
            .env_remove("WASMLEAK_JS")
            .env_remove("WASMLEAK_WASM")
            .env("CARGO_TARGET_DIR", "/nonexistent/wasmleak-target")
            .env("XDG_CACHE_HOME", &cache)
            .env("WASMLEAK_NODE", &node)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["summary"]["host_blocks"], 4, "{report}");
        report
    };
    let first = run();
    let entries = || std::fs::read_dir(cache.join("wasmleak/instrumented")).map_or(0, |d| d.count());
    let calls = || std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(calls(), "__instrument-for-js\n", "the binary instrumented the module");
    assert_eq!(entries(), 1, "the natively instrumented module went to the cache");
    let second = run();
    assert_eq!(first["summary"], second["summary"]);
    assert_eq!((entries(), calls().lines().count()), (1, 1), "the second run took the module from the cache");
    let dirs: Vec<String> = std::fs::read_dir(cache.join("wasmleak"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let js = dirs.iter().find(|d| d.starts_with("js-")).expect("the JS runtime was written to the cache");
    assert!(cache.join("wasmleak").join(js).join("register.mjs").is_file());
    let wasm = dirs.iter().find(|d| d.starts_with("analysis-")).expect("the analysis was written to the cache");
    assert!(cache.join("wasmleak").join(wasm).join("wasmleak_wasm.wasm").is_file());
    std::fs::remove_dir_all(&cache).unwrap();
}

/// `--save` keeps the app's snapshots and one at exit; `--html` / `--heapsnapshot` are written from them, as
/// `check` writes them. The app (tests/js/apps/snapshot_app.mjs) takes 4 snapshots around 3 × 2 calls of
/// create_processor (2 blocks, 276 B each).
#[test]
fn node_saves_snapshots_and_writes_the_exports() {
    if !prerequisites() {
        return;
    }
    let dir = common::scratch("node-save");
    let _ = std::fs::remove_dir_all(&dir);
    let (html, heap) = (dir.join("report.html"), dir.join("heap.heapsnapshot"));
    let out = Command::new(env!("CARGO_BIN_EXE_wasmleak"))
        .arg("node")
        .arg("--save")
        .arg(dir.join("snaps"))
        .arg("--html")
        .arg(&html)
        .arg("--heapsnapshot")
        .arg(&heap)
        .args(["tests/js/apps/snapshot_app.mjs", "base64", "create_processor", "2"])
        .current_dir(repo())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let mut files: Vec<String> = std::fs::read_dir(dir.join("snaps"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, ["module-1.1.wlsnap", "module-1.2.wlsnap", "module-1.3.wlsnap", "module-1.4.wlsnap", "module-1.5.wlsnap"]);
    // Snapshots 2 → 4: two iterations of 2 calls, 4 × 276 B, in the CLI's own diff.
    let diff = Command::new(env!("CARGO_BIN_EXE_wasmleak"))
        .arg("diff")
        .arg(dir.join("snaps/module-1.2.wlsnap"))
        .arg(dir.join("snaps/module-1.4.wlsnap"))
        .args(["--format", "json"])
        .output()
        .unwrap();
    let d: Value = serde_json::from_slice(&diff.stdout).unwrap();
    let delta: i64 = d["rows"].as_array().unwrap().iter().map(|r| r["delta_bytes"].as_i64().unwrap()).sum();
    assert_eq!(delta, 4 * 276, "{d}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("create_processor"));
    let snapshot: Value = serde_json::from_slice(&std::fs::read(&heap).unwrap()).unwrap();
    assert!(snapshot["nodes"].as_array().is_some_and(|n| !n.is_empty()));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// An app that never calls `snapshot()` (a server): `--snapshot-interval` snapshots it over time, and the
/// site it leaks at on every request (create_processor: 2 blocks, 276 B, host-held) is growing.
#[test]
fn node_snapshot_interval_gives_a_growth_verdict_over_time() {
    if !prerequisites() {
        return;
    }
    let dir = common::scratch("node-interval");
    let _ = std::fs::remove_dir_all(&dir);
    let out = Command::new(env!("CARGO_BIN_EXE_wasmleak"))
        .args(["node", "--format", "json", "--snapshot-interval", "100", "--save"])
        .arg(&dir)
        .args(["tests/js/apps/interval_app.mjs", "800"])
        .current_dir(repo())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let host: Vec<&Value> = report["groups"].as_array().unwrap().iter().filter(|g| g["kind"] == "host").collect();
    assert_eq!(host.len(), 2, "{report}");
    for g in &host {
        assert_eq!(g["growing"], true, "{g}");
        assert!(g["bytes_per_iteration"].as_f64().unwrap() > 0.0, "{g}");
    }
    // Every request is 276 B: the host-held bytes are a whole number of requests.
    assert_eq!(report["summary"]["host_bytes"].as_u64().unwrap() % 276, 0, "{report}");
    let files = std::fs::read_dir(&dir).unwrap().count();
    assert!((4..=33).contains(&files), "{files} snapshot files");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Wasm in a worker thread is tracked too (the preload runs there): its report joins the main thread's, its
/// module named after the worker — and after the file the app read it from (`readFileSync`: they were module-1.wasm).
#[test]
fn node_reports_modules_of_worker_threads() {
    if !prerequisites() {
        return;
    }
    let (code, report, stderr) = wasmleak_node(&["--format", "json", "tests/js/apps/worker_app.mjs", "3"]);
    assert_eq!(code, 1, "{stderr}");
    let reports = report.as_array().unwrap_or_else(|| panic!("two reports: {report}"));
    let names: Vec<&str> = reports.iter().map(|r| r["module"].as_str().unwrap()).collect();
    // Named by the worker's threadId, as the app sees it (wasmleak's analysis thread took one before it).
    let id = stderr.split("worker_app: worker ").nth(1).and_then(|s| s.split(' ').next()).unwrap_or_else(|| panic!("{stderr}"));
    assert_eq!(names, ["rust_lib.wasm".to_string(), format!("worker-{id}/rust_lib.wasm")]);
    assert_eq!(reports[0]["summary"]["leaked_blocks"], 0, "{report}");
    assert_eq!(reports[1]["summary"]["host_blocks"], 6, "{report}");
    assert_eq!(reports[1]["summary"]["host_bytes"], 3 * 276, "{report}");

    // Ended by worker.terminate(), the worker never reaches its exit, where the report is written: its module is
    // listed as not tracked, and there is no verdict (was: "nothing tracked" for it, exit 0).
    let (code, report, stderr) = wasmleak_node(&["--format", "json", "tests/js/apps/worker_app.mjs", "3", "terminate"]);
    assert_eq!(code, 2, "{report}\n{stderr}");
    assert!(stderr.contains("tracked in a worker thread that ended without writing its report"), "{stderr}");
}

/// A module whose allocator cannot be recognised (a bump allocator, no names) but which grows a heap: the JSON
/// lists it as not tracked, with the reason, and the exit status is 2 — not `[]` and 0. Named on the command line
/// (`--alloc-fn 0 --free-fn 1`, options that come before the script), it is tracked.
#[test]
fn untracked_module_with_a_heap_exits_2_and_alloc_fn_tracks_it() {
    if !prerequisites() {
        return;
    }
    let module = common::scratch("custom-alloc.wasm");
    let wat = r#"(module
      (memory (export "memory") 1)
      (global $top (mut i32) (i32.const 4096))
      (global $keep (mut i32) (i32.const 0))
      (func $my_alloc (param i32) (result i32) (local i32)
        global.get $top local.set 1
        global.get $top local.get 0 i32.const 7 i32.add i32.const -8 i32.and i32.add global.set $top
        global.get $top memory.size i32.const 16 i32.shl i32.gt_u
        if i32.const 1 memory.grow drop end
        local.get 1)
      (func $my_release (param i32))
      (func (export "run")
        i32.const 16 call $my_alloc call $my_release
        i32.const 16 call $my_alloc global.set $keep
        i32.const 24 call $my_alloc drop))"#;
    std::fs::write(&module, wat::parse_str(wat).unwrap()).unwrap();
    let m = module.to_str().unwrap();
    let (code, json, stderr) = wasmleak_node(&["--format", "json", "tests/js/apps/custom_alloc_app.mjs", m]);
    assert_eq!(code, 2, "{json}\n{stderr}");
    let entries = json.as_array().unwrap_or_else(|| panic!("an array with the untracked module: {json}"));
    assert_eq!(entries.len(), 1, "{json}");
    assert_eq!(entries[0]["tracked"], false);
    assert_eq!(entries[0]["status"], "not_found");
    assert_eq!(entries[0]["heap"], true);
    assert!(entries[0]["reason"].as_str().unwrap().contains("no allocator found"), "{json}");
    assert!(stderr.contains("not tracked"), "{stderr}");
    // The same under `node --import register.mjs` alone (a test runner's node): it said nothing and exited 0.
    let out = Command::new("node")
        .args(["--import", &format!("{}/js/src/register.mjs", repo().display()), "tests/js/apps/custom_alloc_app.mjs", m])
        .current_dir(repo())
        .env("WASMLEAK_WASM", artifact())
        .env_remove("WASMLEAK_REPORT_FILE")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("NOT TRACKED: ") && stderr.contains("no allocator found"), "{stderr}");

    let (code, report, stderr) =
        wasmleak_node(&["--alloc-fn", "0", "--free-fn", "1", "--format", "json", "tests/js/apps/custom_alloc_app.mjs", m]);
    assert_eq!(code, 1, "{report}\n{stderr}");
    assert_eq!(report["summary"]["allocations"], 3, "{report}");
    assert_eq!(report["summary"]["frees"], 1, "{report}");
    assert_eq!(report["summary"]["lost_blocks"], 1, "{report}");
    assert_eq!(report["summary"]["lost_bytes"], 24, "{report}");
    assert_eq!(report["summary"]["reachable_blocks"], 1, "{report}");
    let _ = std::fs::remove_file(&module);
}

/// A script that fails before it instantiates a module (Emscripten 3.1's glue on Node's fetch of a file path) says so,
/// with the way round — it said only "instantiated no WebAssembly module" (Emscripten survey).
#[test]
fn a_script_that_fails_before_any_module_says_so() {
    if !prerequisites() {
        return;
    }
    let script = common::scratch("fails-early.mjs");
    std::fs::write(&script, "throw new Error('TypeError: Failed to parse URL from a.wasm');\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_wasmleak")).arg("node").arg(&script).current_dir(repo()).env("WASMLEAK_WASM", artifact()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "node's own status: {stdout}");
    assert!(stdout.contains("the script ended (node exit status 1) before it instantiated a WebAssembly module"), "{stdout}");
    assert!(stdout.contains("--no-experimental-fetch"), "{stdout}");
}

/// A block handed to JS through a transfer buffer (web-tree-sitter: `_ts_init()` returns a static address, the
/// Parser `_ts_parser_new_wasm` makes is left there for the glue to read) is held by JS, as a returned one is — not
/// lost once the next call overwrites the buffer (the Parser of a clean page read as a leaked cycle).
#[test]
fn a_block_left_in_a_transfer_buffer_is_held_by_js() {
    if !prerequisites() {
        return;
    }
    let module = common::scratch("transfer.wasm");
    let wat = r#"(module
      (memory (export "memory") 1)
      (global $top (mut i32) (i32.const 4096))
      (func $malloc (export "malloc") (param i32) (result i32) (local i32)
        global.get $top local.set 1
        global.get $top local.get 0 i32.const 7 i32.add i32.const -8 i32.and i32.add global.set $top
        local.get 1)
      (func $free (export "free") (param i32) (i32.store (i32.const 1024) (local.get 0)))
      (func (export "init") (result i32) i32.const 2048)
      (func (export "make") (i32.store (i32.const 2048) (call $malloc (i32.const 32))))
      (func (export "clear") (i32.store (i32.const 2048) (i32.const 0))))"#;
    std::fs::write(&module, wat::parse_str(wat).unwrap()).unwrap();
    let (code, report, stderr) = wasmleak_node(&["--format", "json", "tests/js/apps/transfer_app.mjs", module.to_str().unwrap()]);
    assert_eq!(code, 1, "{report}\n{stderr}");
    assert!(stderr.contains("transfer: kept a block"), "{stderr}");
    assert_eq!((report["summary"]["host_blocks"].as_u64(), report["summary"]["lost_blocks"].as_u64()), (Some(1), Some(0)), "{report}");
    let root = report["groups"][0]["root"].as_str().unwrap_or_default();
    assert!(root.starts_with("written by make into the buffer init returned (0x800)"), "{report}");
    let _ = std::fs::remove_file(&module);
}

/// `-o FILE` and `--show-reachable` as `check` has them: the text report goes to the file, reachable groups listed.
#[test]
fn output_file_and_show_reachable() {
    if !prerequisites() {
        return;
    }
    let out = common::scratch("node-report.txt");
    let status = Command::new(env!("CARGO_BIN_EXE_wasmleak"))
        .args(["node", "--show-reachable", "-o", out.to_str().unwrap(), "tests/js/apps/lib_app.mjs", "cache_insert", "3"])
        .current_dir(repo())
        .env("WASMLEAK_WASM", artifact())
        .output()
        .unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("reachable: "), "{text}");
    assert!(text.contains("SUMMARY"), "{text}");
    assert!(!String::from_utf8_lossy(&status.stdout).contains("SUMMARY"), "the report went to the file, not stdout");
    // A JSON report in a file leaves the app its stdout (only a JSON report on stdout moves it to stderr).
    let status = Command::new(env!("CARGO_BIN_EXE_wasmleak"))
        .args(["node", "--format", "json", "-o", out.to_str().unwrap(), "tests/js/apps/lib_app.mjs", "cache_insert", "3"])
        .current_dir(repo())
        .env("WASMLEAK_WASM", artifact())
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&status.stdout), "cache_insert x3: done\n");
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(report["summary"]["allocations"].as_u64().map(|a| a > 0), Some(true), "{report}");
    let _ = std::fs::remove_file(&out);
}

/// `--debug-file`: a stripped module the app loads is named by its unstripped build (the functions of its
/// stacks), and the same report otherwise.
#[test]
fn debug_file_names_a_stripped_module() {
    if !prerequisites() {
        return;
    }
    let app = "tests/js/apps/stripped_lib_app.mjs";
    let (code, plain, stderr) = wasmleak_node(&["--format", "json", app, "create_processor", "3"]);
    assert_eq!(code, 1, "{stderr}");
    let (code, named, stderr) = wasmleak_node(&["--debug-file", "fixtures/wasm/rust_lib.wasm", "--format", "json", app, "create_processor", "3"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(plain["summary"], named["summary"]);
    let functions = |r: &Value| -> Vec<String> {
        r["groups"].as_array().unwrap().iter().flat_map(|g| g["stack"].as_array().unwrap().iter().map(|f| f["function"].as_str().unwrap().to_string())).collect()
    };
    // Stripped: the export and the app's line only. Named by the debug file's DWARF: the inlined frames of
    // std and the program, with their files.
    assert_eq!(functions(&plain), ["create_processor", "(anonymous)"], "{plain}");
    assert!(functions(&named).iter().any(|f| f == "alloc::boxed::Box<T>::new<rust_lib::Processor>"), "{named}");
    let rust_files = named["groups"][0]["stack"].as_array().unwrap().iter().filter(|f| f["file"].as_str().is_some_and(|p| p.ends_with(".rs"))).count();
    assert!(rust_files > 0, "{named}");
}

/// `--profile N` in Node: the allocation profile of every allocation (JS runtime, analysis in wasm32), as the
/// CLI prints it. alloc_heavy 1 allocates 5,976 `Vec<u8>` at main.rs:218 and frees each before the next
/// allocation: all temporary.
#[test]
fn node_prints_the_allocation_profile() {
    if !prerequisites() {
        return;
    }
    let out = Command::new(env!("CARGO_BIN_EXE_wasmleak"))
        .args(["node", "--profile", "2", "scripts/bench/alloc_heavy.mjs", "1"])
        .current_dir(repo())
        .env("WASMLEAK_WASM", artifact())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("allocated: 1.2 MiB (1,225,033 B) in 12531 blocks over the run (6976 temporary"), "{stdout}");
    assert!(
        stdout.contains("  878.8 KiB in 5976 blocks, 5976 temporary — Vec<u8> at rust_patterns::heavy_iteration (rust/src/main.rs:218)"),
        "{stdout}"
    );
    assert!(stdout.contains("... 16 more sites"), "{stdout}");
    let (_, json, _) = wasmleak_node(&["--format", "json", "scripts/bench/alloc_heavy.mjs", "1"]);
    assert_eq!(json["profile"]["allocated_blocks"], 12531, "{}", json["profile"]);
    assert_eq!(json["profile"]["sites"].as_array().unwrap().len(), 18);
}

/// Calling-context ids across unwinding (fixtures/edge/emscripten/unwind.cpp): Emscripten's longjmp (JS, through
/// the glue's `invoke_*`) and C++ exceptions, both as JS exceptions through `invoke_*` (`-fexceptions`) and as
/// wasm exception handling (`-fwasm-exceptions`: the throw unwinds wasm frames inside the module). The blocks
/// allocated after each unwind get their own stacks, the blocks the table calls return to wasm are not
/// host-held, and the temporary allocations of the unwound frames are counted.
#[test]
fn node_contexts_survive_longjmp_and_exceptions() {
    if !prerequisites() {
        return;
    }
    for glue in ["fixtures/wasm/edge/em_unwind.js", "fixtures/wasm/edge/em_unwind_wasm_eh.js"] {
        let (code, r, stderr) = wasmleak_node(&["--format", "json", "--", "--no-experimental-fetch", glue]);
        assert_eq!(code, 1, "{glue}: {stderr}");
        let wasm_frames = |g: &Value| -> Vec<String> {
            g["stack"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| !f["file"].as_str().unwrap_or("").ends_with(".js"))
                .map(|f| f["function"].as_str().unwrap().to_string())
                .collect()
        };
        let mut groups: Vec<(String, u64, u64, Vec<String>)> = r["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| (g["kind"].as_str().unwrap().into(), g["blocks"].as_u64().unwrap(), g["bytes"].as_u64().unwrap(), wasm_frames(g)))
            .collect();
        groups.sort();
        let v = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            groups,
            vec![
                ("lost".into(), 3, 72, v(&["zeroed(unsigned long)", "after_longjmp()", "longjmp_round()", "__original_main", "main"])),
                ("lost".into(), 3, 120, v(&["zeroed(unsigned long)", "after_catch()", "throw_round()", "__original_main", "main"])),
                ("lost".into(), 3, 168, v(&["zeroed(unsigned long)", "plain()", "__original_main", "main"])),
            ],
            "{glue}: {r}"
        );
        // Each level of the unwound recursions is a site of its own (5 stacks, 3 rounds each): its 8-byte
        // malloc/free pairs, all temporary.
        let pairs = |f: &str| -> (usize, u64) {
            let sites: Vec<&Value> = r["profile"]["sites"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|s| wasm_frames(s).first().map(String::as_str) == Some(f) && s["allocated_bytes"] == 24)
                .collect();
            (sites.len(), sites.iter().map(|s| s["temporary_blocks"].as_u64().unwrap()).sum())
        };
        assert_eq!(pairs("jump_from(int)"), (5, 15), "{glue}: {}", r["profile"]);
        assert_eq!(pairs("throw_from(int)"), (5, 15), "{glue}: {}", r["profile"]);
    }
}

/// The same program linked at -O2 (fixtures/edge/build.sh: em_unwind_wasm_eh_O2, no names): wasm-opt inlined
/// dlmalloc's memalign into libc++abi's __cxa_allocate_exception, which splits the block the hooked malloc
/// returned and hands out an aligned block inside it; the next allocation (the runtime_error's string) reuses
/// the leader. The JS runtime follows the block to its aligned address (docs/contracts.md, "Blocks the allocator
/// splits"): the exception objects' frees are not invalid, and the leaks are those of the -g build, with a
/// verdict (before: 1 invalid free and INCONCLUSIVE).
#[test]
fn node_follows_an_aligned_block_the_allocator_split() {
    if !prerequisites() {
        return;
    }
    let glue = "fixtures/wasm/edge/em_unwind_wasm_eh_O2.js";
    let (code, r, stderr) = wasmleak_node(&["--format", "json", "--", "--no-experimental-fetch", glue]);
    assert_eq!(code, 1, "{stderr}");
    assert!(r["inconclusive"].is_null(), "{r}");
    assert_eq!(r["invalid_frees"].as_array().unwrap().len(), 0, "{r}");
    let mut groups: Vec<(String, u64, u64)> = r["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["kind"].as_str().unwrap().into(), g["blocks"].as_u64().unwrap(), g["bytes"].as_u64().unwrap()))
        .collect();
    groups.sort();
    assert_eq!(groups, [("lost".into(), 3, 72), ("lost".into(), 3, 120), ("lost".into(), 3, 168)], "{r}");
    // As in the -g build: 48 allocations, and every block but the 9 lost ones freed.
    assert_eq!((r["summary"]["allocations"].as_u64(), r["summary"]["frees"].as_u64()), (Some(48), Some(39)), "{r}");
    // The same split in a WASI program (edge.rs `an_aligned_block_split_by_an_inlined_memalign_is_followed`):
    // the JS runtime follows it as check does.
    let (code, r, stderr) =
        wasmleak_node(&["--format", "json", "tests/js/apps/wasi_app.mjs", "fixtures/wasm/edge/c_inlined_memalign_O2.wasm"]);
    assert_eq!(code, 1, "{r}\n{stderr}");
    assert_eq!((r["summary"]["lost_blocks"].as_u64(), r["summary"]["lost_bytes"].as_u64()), (Some(5), Some(540)), "{r}");
    assert_eq!(r["summary"]["invalid_frees"], 0, "{r}");
    // -O2 glue calls `main` through a lazy wrapper that replaces itself (`Module._main`), on the first call's
    // stack only: not a frame of the app's (a site's first blocks made a group of their own).
    assert!(!r.to_string().contains("Module._main"), "{r}");
}

/// `--suppressions`, `--baseline` and `--fail-on` in Node: the analysis in the JS runtime applies them and the
/// exit status follows `decided_by`. lib_app `create_processor 5` leaves 10 host-held blocks (two sites).
#[test]
fn node_suppressions_baseline_and_fail_on() {
    if !prerequisites() {
        return;
    }
    let app = "tests/js/apps/lib_app.mjs";
    let (code, old, stderr) = wasmleak_node(&["--format", "json", app, "create_processor", "5"]);
    assert_eq!(code, 1, "{stderr}");
    let keys = old["decided_by"].as_array().unwrap().len();
    assert!(keys >= 1, "{old}");
    let supp = common::scratch("node.supp");
    std::fs::write(&supp, "# the processors are handed to JS on purpose\nleak:create_processor\n").unwrap();
    let (code, r, stderr) = wasmleak_node(&["--format", "json", "--suppressions", supp.to_str().unwrap(), app, "create_processor", "5"]);
    assert_eq!(code, 0, "{stderr}{r}");
    assert_eq!((r["summary"]["leaked_blocks"].as_u64(), r["summary"]["suppressed_blocks"].as_u64()), (Some(0), Some(10)), "{r}");
    let baseline = common::scratch("node.json");
    std::fs::write(&baseline, old.to_string()).unwrap();
    let (code, r, stderr) = wasmleak_node(&["--format", "json", "--baseline", baseline.to_str().unwrap(), app, "create_processor", "7"]);
    assert_eq!(code, 0, "{stderr}{r}");
    assert_eq!(r["summary"]["leaked_blocks"], 14, "{r}");
    assert_eq!(r["decided_by"].as_array().unwrap().len(), 0);
    let (code, _, stderr) = wasmleak_node(&["--format", "json", "--fail-on", "lost,cycle", app, "create_processor", "5"]);
    assert_eq!(code, 0, "{stderr}");
    // Bad input fails before node starts.
    std::fs::write(&supp, "create_processor\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_wasmleak"))
        .args(["node", "--suppressions", supp.to_str().unwrap(), app])
        .current_dir(repo())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(":1: `create_processor` is not a suppression"));
    let _ = std::fs::remove_file(&supp);
    let _ = std::fs::remove_file(&baseline);
}

/// Growth by default in Node: no snapshot option, the verdict from the allocation profile's event-clock
/// samples (lib_app: 100,000 processors handed to JS and never freed, two blocks each).
#[test]
fn node_growth_without_snapshots() {
    if !prerequisites() {
        return;
    }
    let started = std::time::Instant::now();
    // 100,000 calls: long enough for the clock to give a rate per second (the second half of the samples must span
    // 10 ms; 20,000 calls took about that long once the tracker got faster, and the rate came and went).
    let (code, r, stderr) = wasmleak_node(&["--format", "json", "tests/js/apps/lib_app.mjs", "create_processor", "100000"]);
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(code, 1, "{stderr}");
    let groups = r["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2, "{r}");
    for g in groups {
        assert_eq!((g["kind"].as_str(), g["growing"].as_bool()), (Some("host"), Some(true)), "{g}");
        let blocks = g["blocks_per_1000_events"].as_f64().unwrap();
        assert!((blocks - 500.0).abs() < 5.0, "{g}");
        // Per second of the JS clock: faster than the whole run's average, and the growth took over 1 ms.
        let (per_s, bytes) = (g["bytes_per_second"].as_f64().expect("a rate per second"), g["bytes"].as_f64().unwrap());
        assert!(per_s >= bytes / elapsed && per_s <= bytes / 0.001, "{per_s} B/s, {bytes} B in {elapsed} s");
    }
    let (_, r, _) = wasmleak_node(&["--format", "json", "scripts/bench/alloc_heavy.mjs", "3"]);
    assert!(r["groups"].as_array().unwrap().iter().all(|g| g["growing"] == false), "{r}");
}

/// The owner that dropped a block, in Node (fixtures/edge/cpp/no_destructor.cpp built with Emscripten): the
/// JS runtime reads a freed block's first words as the wasmtime host does, and the report at exit scans the
/// freed memory the same way.
#[test]
fn node_names_the_freed_owner() {
    if !prerequisites() {
        return;
    }
    let (code, r, stderr) = wasmleak_node(&["--format", "json", "--", "--no-experimental-fetch", "fixtures/wasm/edge/em_no_destructor.js"]);
    assert_eq!(code, 1, "{stderr}");
    let mut got: Vec<(String, u64, u64, u64, String, String)> = r["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            let o = &g["freed_owner"];
            let free_site = o["free_stack"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["function"].as_str().unwrap())
                .find(|f| !f.contains("std::__2::") && !f.starts_with("operator delete"))
                .unwrap_or("")
                .to_string();
            (
                g["site"]["function"].as_str().unwrap().to_string(),
                g["blocks"].as_u64().unwrap(),
                o["blocks"].as_u64().unwrap_or(0),
                o["offset"].as_u64().unwrap_or(99),
                o["type"].as_str().unwrap_or("").to_string(),
                free_site,
            )
        })
        .collect();
    got.sort();
    let s = String::from;
    assert_eq!(
        got,
        vec![
            (s("DataProcessor::DataProcessor(unsigned long)"), 2, 2, 0, s("DataProcessor"), s("__original_main")),
            (s("make_widgets()"), 5, 4, 0, s("vector<Widget*>"), s("make_widgets()")),
            (s("make_widgets_grow()"), 5, 5, 0, s("vector<Widget*>"), s("make_widgets_grow()")),
        ],
        "{r}"
    );
}

/// A threaded Emscripten app (fixtures/edge/emscripten/threads.c, -pthread: two Node workers on one shared
/// memory): every thread's events reach one model through the shared log (js/src/threads.mjs), in order. The
/// truth: each worker loses 4 of its 5 48-byte blocks (the last stays in `sinks`), frees what it allocates of
/// 100 bytes, and allocates a 64-byte block main frees — no invalid free, and the app runs to its end.
#[test]
fn node_tracks_a_threaded_app_across_its_workers() {
    if !prerequisites() {
        return;
    }
    let (code, r, stderr) = wasmleak_node(&["--format", "json", "--", "--no-experimental-fetch", "fixtures/wasm/edge/em_threads.js"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("threads: done"), "the app ran to its end: {stderr}");
    let report = &r;
    assert_eq!(report["summary"]["invalid_frees"], 0, "{report}");
    let groups = report["groups"].as_array().unwrap();
    let total = |kind: &str, size: u64| {
        groups.iter().filter(|g| g["kind"] == kind && g["bytes"].as_u64() == Some(size * g["blocks"].as_u64().unwrap())).fold(0, |n, g| n + g["blocks"].as_u64().unwrap())
    };
    assert_eq!((report["summary"]["leaked_blocks"].as_u64(), report["summary"]["leaked_bytes"].as_u64()), (Some(8), Some(384)), "{report}");
    // Lost — or, now and then, `cycle`: a block handed out again can hold a stale word equal to its own address
    // (the scan is conservative; which chunk a thread gets depends on the threads' timing).
    assert_eq!(total("lost", 48) + total("cycle", 48), 8, "{report}");
    assert_eq!(total("reachable", 48), 2, "{report}");
    // Blocks of a worker's stack: its frames in the worker's script.
    assert!(groups.iter().any(|g| g["kind"] != "reachable" && g.to_string().contains("em_threads.worker.js")), "{report}");
    // The JS runtime does not stop the other threads (check does): the report says what that means.
    assert!(report["notes"].to_string().contains("the other threads were not stopped"), "{report}");
    // Two workers resizing blocks with realloc (whose hooks report after the allocator returned): nothing changes
    // for the app (no realloc fails), nothing is invalid, nothing leaks. js/ threads.test.mjs drives the race itself.
    let (code, r, stderr) = wasmleak_node(&["--format", "json", "--", "--no-experimental-fetch", "fixtures/wasm/edge/em_threads.js", "realloc"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("threads realloc: done, 0 failed reallocs"), "{stderr}");
    assert_eq!((r["summary"]["invalid_frees"].as_u64(), r["summary"]["leaked_blocks"].as_u64()), (Some(0), Some(0)), "{r}");
}

/// napi-rs' wasm32-wasi layout (fixtures/edge/c/wrapped_malloc.c): malloc wrapped with `wasm-ld --wrap`, the
/// exports `malloc`/`free` forwarders the program never calls, no name section; with an imported shared memory
/// (as @oxc-parser/binding-wasm32-wasi, where only the forwarders were hooked and the report said "0
/// allocations", exit 0) and without. Per round: 3 allocations and a realloc, 3 frees, 40 B lost.
#[test]
fn node_hooks_the_allocator_a_linker_wrapped() {
    if !prerequisites() {
        return;
    }
    for module in ["c_wrapped_threads.wasm", "c_wrapped_threads_hidden.wasm", "c_wrapped_hidden.wasm"] {
        let (code, report, stderr) = wasmleak_node(&["--format", "json", "tests/js/apps/wrapped_app.mjs", module, "5", "3"]);
        assert_eq!(code, 1, "{module}: {report}\n{stderr}");
        assert_eq!(report["summary"]["allocations"], 60, "{module}: {report}");
        assert_eq!(report["summary"]["frees"], 45, "{module}: {report}");
        assert_eq!(report["summary"]["invalid_frees"], 0, "{module}: {report}");
        assert_eq!(report["summary"]["lost_blocks"], 15, "{module}: {report}");
        assert_eq!(report["summary"]["lost_bytes"], 600, "{module}: {report}");
        assert_eq!(report["summary"]["reachable_blocks"], 0, "{module}: {report}");
    }
}

/// A tracked module whose hooked functions never ran while the app allocated through another function: not a
/// clean report but an inconclusive one, exit 2.
#[test]
fn node_run_that_sees_no_allocator_call_is_inconclusive() {
    if !prerequisites() {
        return;
    }
    let module = common::scratch("glue-only-exports.wasm");
    std::fs::write(&module, wat::parse_str(common::GLUE_ONLY_EXPORTS).unwrap()).unwrap();
    let (code, report, stderr) = wasmleak_node(&["--format", "json", "tests/js/apps/custom_alloc_app.mjs", module.to_str().unwrap()]);
    assert_eq!(code, 2, "{report}\n{stderr}");
    assert_eq!(report["summary"]["allocations"], 0, "{report}");
    assert!(report["inconclusive"].as_str().is_some_and(|w| w.contains("no allocation or free was seen")), "{report}");
    assert_eq!(report["inconclusive_reason"], "nothing_seen", "{report}");
    assert!(stderr.contains("no allocator call was seen"), "{stderr}");
    let _ = std::fs::remove_file(&module);

    // A module the app loads but never calls did nothing: that is conclusive (nothing to judge), exit 0.
    let (code, report, stderr) = wasmleak_node(&["--format", "json", "tests/js/apps/lib_app.mjs", "create_processor", "0"]);
    assert_eq!(code, 0, "{report}\n{stderr}");
    assert!(report.get("inconclusive").is_none(), "{report}");
    assert!(report["notes"].to_string().contains("the app never called this module"), "{report}");
}

/// A module whose `free` was inlined into its callers (fixtures/edge/c/own_malloc_inlined_free.c): the allocator hands
/// out addresses wasmleak still counts live, so its leaks cannot be trusted — no verdict, exit 2, as under `check`.
#[test]
fn node_run_with_frees_not_seen_is_inconclusive() {
    if !prerequisites() {
        return;
    }
    let (code, report, stderr) =
        wasmleak_node(&["--format", "json", "tests/js/apps/wasi_app.mjs", "fixtures/wasm/edge/c_own_malloc_inlined_free.wasm"]);
    assert_eq!(code, 2, "{report}\n{stderr}");
    assert_eq!(report["summary"]["allocations"], 8, "{report}");
    let why = report["inconclusive"].as_str().unwrap_or_default();
    assert!(why.starts_with("the allocator handed out 2 addresses that wasmleak still counted as live"), "{report}");
    assert_eq!(report["inconclusive_reason"], "frees_not_seen", "{report}");
    assert!(stderr.contains("no verdict"), "{stderr}");
}

/// A C program that calls exit() inside `main` (fixtures/edge/c/exit_in_main.c, -O2), run as a WASI command
/// under node:wasi (`proc_exit`) and as Emscripten's glue runs it (`env.exit`): the JS runtime reads the wasm
/// frames at the exit call, and the blocks `main` may still hold in its locals count as held by it — the same
/// verdicts as `check` (edge.rs `exit_inside_main_counts_what_its_locals_may_hold`).
#[test]
fn node_run_of_a_guest_that_calls_exit_counts_what_main_may_hold() {
    if !prerequisites() {
        return;
    }
    let held_by_main = |r: &Value| {
        r["groups"].as_array().unwrap().iter()
            .filter(|g| g["root"].as_str().is_some_and(|n| n.starts_with("`main` (on the stack when the guest called exit())")))
            .fold((0, 0), |(b, n), g| (b + g["blocks"].as_u64().unwrap(), n + g["bytes"].as_u64().unwrap()))
    };
    let lost = |r: &Value| (r["summary"]["lost_blocks"].as_u64().unwrap(), r["summary"]["lost_bytes"].as_u64().unwrap());
    // Emscripten -O3 renames its imports (exit() is `a.d`, not `env.exit`): the exit is known by the glue
    // function behind it (`_exit`); it read as "returned", and what `main` held at exit as lost.
    let o3: &[&str] = &["--", "--no-experimental-fetch", "fixtures/wasm/edge/em_exit_in_main_O3.js"];
    let (code, r, stderr) = wasmleak_node(&[&["--format", "json"], o3, &["held"]].concat());
    assert_eq!(code, 0, "{r}\n{stderr}");
    assert_eq!((r["exit"]["status"].as_str(), r["exit"]["code"].as_i64()), (Some("exited"), Some(0)), "{r}");
    assert_eq!((r["summary"]["leaked_blocks"].as_u64(), r["summary"]["thread_held_bytes"].as_u64()), (Some(0), Some(256 + 104)), "{r}");
    let wasi: &[&str] = &["tests/js/apps/wasi_app.mjs", "fixtures/wasm/edge/c_exit_in_main.wasm"];
    let emscripten: &[&str] = &["--", "--no-experimental-fetch", "fixtures/wasm/edge/em_exit_in_main.js"];
    for app in [wasi, emscripten] {
        let run = |mode: &str| wasmleak_node(&[&["--format", "json"], app, &[mode]].concat());

        let (code, r, stderr) = run("held");
        assert_eq!(code, 0, "{app:?}\n{r}\n{stderr}");
        assert_eq!(r["summary"]["leaked_blocks"], 0, "{app:?}\n{r}");
        assert_eq!(held_by_main(&r), (2, 256 + 104), "{app:?}\n{r}");
        assert_eq!((r["exit"]["status"].as_str(), r["exit"]["code"].as_i64()), (Some("exited"), Some(0)), "{app:?}\n{r}");

        // Made by a helper that returns nothing: not in `main`'s locals.
        let (code, r, stderr) = run("helper");
        assert_eq!(code, 1, "{app:?}\n{r}\n{stderr}");
        assert_eq!(lost(&r), (40, 40 * 24), "{app:?}\n{r}");
        assert_eq!(held_by_main(&r), (2, 256 + 104), "{app:?}\n{r}");

        // 40 blocks from one call site in a loop: only the last can still be in the local its results went to.
        let (code, r, stderr) = run("loop");
        assert_eq!(code, 1, "{app:?}\n{r}\n{stderr}");
        assert_eq!(lost(&r), (39, 39 * 24), "{app:?}\n{r}");
        assert_eq!(held_by_main(&r), (3, 256 + 104 + 24), "{app:?}\n{r}");

        let (code, r, stderr) = run("return");
        assert_eq!(code, 1, "{app:?}\n{r}\n{stderr}");
        assert_eq!(lost(&r), (1, 24), "{app:?}\n{r}");
        assert_eq!(r["exit"]["code"], 3, "{app:?}\n{r}");
    }
    // A result `main` passed straight on, its pointer overwritten, a member whose owner `main` freed, and a block a
    // helper forgot (edge.rs `exit_after_overwriting_a_pointer_reports_its_block_lost`): lost here too, at -O2 and
    // -O0.
    for (m, held) in [("c_exit_after_overwrite", Some(256)), ("c_exit_after_overwrite_o0", None)] {
        let module = format!("fixtures/wasm/edge/{m}.wasm");
        let (code, r, stderr) = wasmleak_node(&["--format", "json", "tests/js/apps/wasi_app.mjs", &module]);
        assert_eq!(code, 1, "{m}: {r}\n{stderr}");
        assert_eq!(lost(&r), (3, 260), "{m}: {r}");
        assert_eq!(r["summary"]["thread_held_bytes"].as_u64(), held, "{m}: {r}");
    }
}

/// A trap behind an app's uncaughtException handler that rethrows (Emscripten's Node glue installs one): Node ends
/// at once, status 7, with no 'exit' event — there was no report ("node exit status: 7 before wasmleak could write
/// a report", exit 2). The report is written when the exception is seen: the leak, and the trap.
#[test]
fn node_reports_a_trap_an_app_handler_rethrows() {
    if !prerequisites() {
        return;
    }
    let (code, report, stderr) =
        wasmleak_node(&["--format", "json", "tests/js/apps/rethrow_app.mjs", "fixtures/wasm/edge/c_abort_after_leak.wasm"]);
    assert_eq!(code, 1, "{report}\n{stderr}");
    assert_eq!((report["summary"]["lost_blocks"].as_u64(), report["summary"]["lost_bytes"].as_u64()), (Some(1), Some(20)), "{report}");
    assert_eq!(report["exit"]["status"], "trap", "{report}");
}

/// A .wasm file the app imports as an ES module (wasm-bindgen `--target bundler` glue, `node
/// --experimental-wasm-modules`): Node's own loader would compile it out of wasmleak's sight — it was "nothing
/// tracked", exit 0, while the app kept 5 objects it never freed. The loader hooks hand it to the `WebAssembly`
/// API instead: tracked, the 5 Parsers host-held (2 blocks, 228 B each), exit 1.
#[test]
fn node_tracks_a_wasm_module_imported_as_an_es_module() {
    if !prerequisites() {
        return;
    }
    let (code, report, stderr) =
        wasmleak_node(&["--format", "json", "--", "--experimental-wasm-modules", "tests/js/apps/esm_wasm_app.mjs"]);
    assert_eq!(code, 1, "{report}\n{stderr}");
    assert!(stderr.contains("esm: 5 parsers kept"), "the app ran: {stderr}");
    assert_eq!(report["module"], "bindgen_fixture_bg.wasm", "named by its file: {report}");
    assert_eq!((report["summary"]["host_blocks"].as_u64(), report["summary"]["host_bytes"].as_u64()), (Some(10), Some(5 * 228)), "{report}");
    assert_eq!(report["summary"]["lost_blocks"], 0, "{report}");
    let host = report["groups"].as_array().unwrap().iter().find(|g| g["kind"] == "host").cloned().unwrap_or_default();
    assert_eq!(host["site"]["function"], "parser_new", "{report}");
}

/// Emscripten's dynamic linking (web-tree-sitter crashed at `Parser.init()` under wasmleak): exported functions
/// go into a table (which takes wasm functions only, not wasmleak's wrappers), every export is walked (wasmleak's
/// own are not the app's), and a `GOT.mem` namespace that is a Proxy is asked only for what the module imports, as
/// is an `env` that resolves symbols when asked (no keys of its own).
#[test]
fn node_leaves_dynamic_linking_working() {
    if !prerequisites() {
        return;
    }
    let module = common::scratch("dylink.wasm");
    let wat = r#"(module
      (import "GOT.mem" "__heap_base" (global $heap_base (mut i32)))
      (import "env" "exit" (func $exit (param i32)))
      (import "env" "log" (func $log (param i32)))
      (memory (export "memory") 2)
      (global $hp (mut i32) (i32.const 1024))
      (global $keep (mut i32) (i32.const 0))
      (table (export "table") 4 funcref)
      (func $malloc (export "malloc") (param i32) (result i32) (local i32)
        global.get $hp local.set 1
        global.get $hp local.get 0 i32.add i32.const 7 i32.add i32.const -8 i32.and global.set $hp
        local.get 1)
      (func $free (export "free") (param i32))
      (func (export "answer") (result i32) i32.const 42)
      (func (export "run")
        i32.const 16 call $malloc call $free
        i32.const 24 call $malloc global.set $keep
        i32.const 40 call $malloc drop
        i32.const 7 call $log))"#;
    std::fs::write(&module, wat::parse_str(wat).unwrap()).unwrap();
    let (code, report, stderr) = wasmleak_node(&["--format", "json", "tests/js/apps/dylink_app.mjs", module.to_str().unwrap()]);
    // Only `__heap_base` asked of `GOT.mem` (scanning its keys made globals of `exit` and the table: web-tree-sitter's
    // grammars failed to load, browser survey), and `env`'s names resolved through it though it has no keys (exit()
    // wrapped in a copy of it).
    assert!(stderr.contains("dylink: GOT asked for __heap_base; table calls 42 42; env log(7)"), "{stderr}");
    assert_eq!(code, 1, "{report}\n{stderr}");
    assert_eq!(report["summary"]["allocations"], 3, "{report}");
    assert_eq!(report["summary"]["frees"], 1, "{report}");
    assert_eq!(report["summary"]["lost_blocks"], 1, "{report}");
    assert_eq!(report["summary"]["lost_bytes"], 40, "{report}");
    assert_eq!(report["summary"]["reachable_blocks"], 1, "{report}");
    let _ = std::fs::remove_file(&module);
}

/// One export called from two functions of the app (one wasm calling context, two JS callers): each block's
/// stack has its own caller, also when one call allocates many (they share one capture per call).
#[test]
fn node_blocks_of_one_context_keep_their_js_callers() {
    if !prerequisites() {
        return;
    }
    let (code, report, stderr) = wasmleak_node(&["--format", "json", "tests/js/apps/mixed_app.mjs"]);
    assert_eq!(code, 1, "{report}\n{stderr}");
    let by_caller = |caller: &str| -> (u64, u64) {
        report["groups"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|g| g["kind"] == "lost" && g["stack"].as_array().unwrap().iter().any(|f| f["function"] == caller))
            .fold((0, 0), |(b, n), g| (b + g["blocks"].as_u64().unwrap(), n + g["bytes"].as_u64().unwrap()))
    };
    assert_eq!(by_caller("fromA"), (51, 2040), "{report}");
    assert_eq!(by_caller("fromB"), (31, 1240), "{report}");
    assert_eq!(report["summary"]["lost_blocks"], 82, "{report}");
    // The report says some JS frames are sampled (here the mix showed at the context's 2nd block: all exact).
    let mixed = |r: &Value| {
        r["notes"].as_array().is_some_and(|n| n.iter().any(|n| n.as_str().is_some_and(|n| n.contains("reached from more than one line of JavaScript"))))
    };
    assert!(mixed(&report), "{report}");
    let (_, one_caller, _) = wasmleak_node(&["--format", "json", "tests/js/apps/lib_app.mjs", "process_ok", "5"]);
    assert!(!mixed(&one_caller), "{one_caller}");
}

/// The JS runtime reports what `check` reports of a one-step `clang -O2` build that never frees (edge.rs: its
/// truth, `a_module_that_never_frees_says_so_in_the_report`), and of blocks an inlined realloc resized in
/// place (`blocks_an_inlined_realloc_resized_take_their_chunk_size`): the same counts, and the same notes.
#[test]
fn node_reports_as_check_does_of_one_step_builds() {
    if !prerequisites() {
        return;
    }
    let app = "tests/js/apps/wasi_app.mjs";
    let (code, r, stderr) = wasmleak_node(&["--format", "json", app, "fixtures/wasm/edge/c_nofree_onestep_O2.wasm"]);
    assert_eq!(code, 1, "{stderr}");
    let s = &r["summary"];
    assert_eq!((s["lost_blocks"].as_u64(), s["indirect_blocks"].as_u64(), s["reachable_blocks"].as_u64()), (Some(3), Some(2), Some(10)), "{r}");
    let notes = |r: &Value| r["notes"].as_array().unwrap().iter().map(|n| n.as_str().unwrap().to_string()).collect::<Vec<_>>();
    assert!(notes(&r).iter().any(|n| n.starts_with("no free: ")), "{r}");
    let (code, r, stderr) = wasmleak_node(&["--format", "json", app, "fixtures/wasm/edge/c_realloc_inlined_O2.wasm", "shrink"]);
    assert_eq!(code, 1, "{stderr}");
    let s = &r["summary"];
    assert_eq!((s["lost_blocks"].as_u64(), s["lost_bytes"].as_u64(), s["reachable_bytes"].as_u64()), (Some(1), Some(64), Some(28)), "{r}");
    assert!(notes(&r).iter().any(|n| n.starts_with("1 live block(s) were resized in place")), "{r}");
    // The same program built by Emscripten at -O2: wasm-opt inlines its dlmalloc's realloc into `set_cap` too.
    let glue = "fixtures/wasm/edge/em_realloc_inlined_O2.js";
    let (code, r, stderr) = wasmleak_node(&["--format", "json", "--", "--no-experimental-fetch", glue, "grow"]);
    assert_eq!(code, 0, "{stderr}");
    let s = &r["summary"];
    assert_eq!((s["leaked_blocks"].as_u64(), s["reachable_blocks"].as_u64()), (Some(0), Some(65)), "{r}");
    let (code, r, stderr) = wasmleak_node(&["--format", "json", "--", "--no-experimental-fetch", glue, "shrink"]);
    assert_eq!(code, 1, "{stderr}");
    let s = &r["summary"];
    assert_eq!((s["lost_blocks"].as_u64(), s["lost_bytes"].as_u64(), s["reachable_blocks"].as_u64()), (Some(1), Some(64), Some(1)), "{r}");
}

/// Zig's wasm heap beside its libc malloc (fixtures/edge/zig/page_lc.zig; edge.rs `zig_page_allocator_beside_…`)
/// under Node: the JS hooks see the vtable functions too (a Debug build's hidden first parameter, a ReleaseSafe
/// resize's undefined pointer), with the same numbers as `check`.
#[test]
fn node_zig_page_allocator_beside_libc_malloc_is_hooked() {
    if !prerequisites() {
        return;
    }
    for o in ["Debug", "ReleaseSafe"] {
        let module = format!("fixtures/wasm/edge/zig_page_lc_{o}.wasm");
        let (code, r, stderr) = wasmleak_node(&["--format", "json", "tests/js/apps/wasi_app.mjs", &module]);
        assert_eq!(code, 1, "{o}: {stderr}");
        let s = &r["summary"];
        let got = (s["lost_blocks"].as_u64(), s["lost_bytes"].as_u64(), s["indirect_blocks"].as_u64(), s["invalid_frees"].as_u64());
        assert_eq!(got, (Some(4), Some(340), Some(0), Some(0)), "{o}: {r}");
    }
}

/// A module with no heap (fixtures/edge/c/no_heap.c; edge.rs `a_module_without_a_heap_runs_and_passes…`) under
/// Node: not tracked, with nothing to track — exit 0, the text saying why rather than listing it NOT TRACKED.
#[test]
fn node_module_without_a_heap_passes() {
    if !prerequisites() {
        return;
    }
    let (code, json, stderr) = wasmleak_node(&["--format", "json", "tests/js/apps/wasi_app.mjs", "fixtures/wasm/edge/c_no_heap_O2.wasm"]);
    assert_eq!(code, 0, "{json}\n{stderr}");
    let entries = json.as_array().unwrap_or_else(|| panic!("the untracked module's entry: {json}"));
    assert_eq!((entries.len(), &entries[0]["tracked"], &entries[0]["heap"]), (1, &Value::Bool(false), &Value::Bool(false)), "{json}");
    let text = Command::new(env!("CARGO_BIN_EXE_wasmleak"))
        .args(["node", "tests/js/apps/wasi_app.mjs", "fixtures/wasm/edge/c_no_heap_O2.wasm"])
        .current_dir(repo())
        .env("WASMLEAK_WASM", artifact())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert_eq!(text.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("sum 4950") && stdout.contains("not tracked, no heap: ") && !stdout.contains("NOT TRACKED"), "{stdout}");
}

/// dlmalloc's own state is no root: it keeps a stale pointer in a small bin it emptied (fixtures/edge/c/stale_bin.c,
/// Emscripten -O2). The program passes the number 3000 to a function, and 3000 lies inside `_gm_`: taken for a
/// static of the program, it ended the allocator's state there, and the stale bin pointer past it kept the one
/// leaked block "reachable" (exit 0). dlmalloc's state is found by its fields and kept out whole now.
#[test]
fn a_number_inside_the_allocator_state_does_not_make_its_stale_pointers_roots() {
    if !prerequisites() {
        return;
    }
    let (code, r, stderr) =
        wasmleak_node(&["--format", "json", "--", "--no-experimental-fetch", "fixtures/wasm/edge/em_stale_bin_O2.js"]);
    assert_eq!(code, 1, "{r}\n{stderr}");
    assert_eq!((r["summary"]["lost_blocks"].as_u64(), r["summary"]["lost_bytes"].as_u64()), (Some(1), Some(288)), "{r}");
    assert_eq!((r["summary"]["reachable_blocks"].as_u64(), r["summary"]["allocations"].as_u64()), (Some(0), Some(5)), "{r}");
}

/// Emscripten's `invoke_*` trampolines pass a table call's result back to wasm: not a value JavaScript holds. With
/// `--closure 1` they are renamed (`Aa`) and known by their code (fixtures/edge/cpp/closure_cycle.cpp, -O3 -fexceptions:
/// make_shared's `operator new` goes through one). Every shared_ptr cycle read "host … returned by Aa".
#[test]
fn closure_renamed_invoke_trampolines_hand_nothing_to_js() {
    if !prerequisites() {
        return;
    }
    let (code, r, stderr) =
        wasmleak_node(&["--format", "json", "--", "--no-experimental-fetch", "fixtures/wasm/edge/em_closure_cycle_O3.js", "2"]);
    assert_eq!(code, 1, "{r}\n{stderr}");
    let s = &r["summary"];
    assert_eq!((s["cycle_blocks"].as_u64(), s["cycles"].as_u64(), s["host_blocks"].as_u64()), (Some(4), Some(2), Some(0)), "{r}");
}

/// An app that finds nothing to report but fails with a status of its own passes it through (3 here), as `check`
/// passes a guest's: a failing test run stays failing with its status (it was 2, wasmleak's "no verdict").
#[test]
fn node_passes_the_apps_exit_status_through_when_nothing_is_found() {
    if !prerequisites() {
        return;
    }
    let (code, report, stderr) = wasmleak_node(&["--format", "json", "tests/js/apps/exit_status_app.mjs", "3"]);
    assert_eq!(code, 3, "{report}\n{stderr}");
    assert_eq!((report["summary"]["leaked_blocks"].as_u64(), report["summary"]["allocations"].as_u64().is_some_and(|n| n > 0)), (Some(0), true), "{report}");
    let (code, _, stderr) = wasmleak_node(&["--format", "json", "tests/js/apps/exit_status_app.mjs", "0"]);
    assert_eq!(code, 0, "{stderr}");
}

/// JavaScript that calls an Emscripten module's exported `_malloc` and `_free` itself enters the module with one
/// calling-context id for both: a free showed the first allocation's stack, and a double free's "first freed at" was
/// the malloc's line (browser survey). Frees have contexts of their own (js/src/tracker.mjs `FREE_SALT`). The
/// module is em_unwind.js, whose glue exports both.
#[test]
fn a_double_free_from_js_names_the_first_free_not_the_allocation() {
    if !prerequisites() {
        return;
    }
    let (code, r, stderr) = wasmleak_node(&["--format", "json", "--", "--no-experimental-fetch", "tests/js/apps/js_double_free_app.cjs"]);
    assert_eq!(code, 1, "{r}\n{stderr}");
    let bad = &r["invalid_frees"][0];
    assert_eq!(bad["kind"], "double", "{r}");
    let line = |stack: &Value, f: &str| {
        stack.as_array().unwrap().iter().find(|fr| fr["file"].as_str().is_some_and(|p| p.ends_with("js_double_free_app.cjs")) && fr["function"] == f).map(|fr| fr["line"].clone())
    };
    assert_eq!(line(&bad["stack"], "Module.onRuntimeInitialized"), Some(Value::from(14)), "{bad}");
    assert_eq!(line(&bad["first_free_stack"], "Module.onRuntimeInitialized"), Some(Value::from(13)), "{bad}");
    assert!(line(&bad["first_free_stack"], "grab").is_none(), "{bad}");
    assert_eq!(line(&bad["alloc_stack"], "Module.onRuntimeInitialized"), Some(Value::from(12)), "{bad}");
}
