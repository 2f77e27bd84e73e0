//! Shared helpers for the integration tests: run the real `wasmleak` binary, parse its JSON report,
//! and add up groups by kind / site function.
#![allow(dead_code)]

use serde_json::Value;
use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Longest any single wasmleak invocation may take before the test fails (and the process is killed).
pub const HARD_LIMIT: Duration = Duration::from_secs(60);

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_wasmleak")
}

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/wasm")
}

/// A committed fixture module, e.g. `fixture("c_patterns.wasm")`.
pub fn fixture(name: &str) -> PathBuf {
    let p = fixtures_dir().join(name);
    assert!(p.is_file(), "fixture {} is missing", p.display());
    p
}

/// A fresh path in the integration-test scratch directory (unique per call, per process).
///
/// The directory outlives test runs (CI reuses its target directory), so the first call in each test
/// process removes what earlier runs left there: entries older than two hours, longer than any run.
pub fn scratch(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    static PRUNED: std::sync::Once = std::sync::Once::new();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("wasmleak-cli-tests");
    std::fs::create_dir_all(&dir).unwrap();
    PRUNED.call_once(|| prune_older_than(&dir, Duration::from_secs(2 * 3600)));
    let n = N.fetch_add(1, Ordering::SeqCst);
    let path = dir.join(format!("{}-{n}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&path); // a run of two hours ago with this process id
    path
}

fn prune_older_than(dir: &Path, age: Duration) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let old = e.metadata().and_then(|m| m.modified()).is_ok_and(|t| t.elapsed().is_ok_and(|a| a > age));
        if old {
            // Another test process may be pruning the same entry: losing that race is fine.
            let _ = if e.path().is_dir() { std::fs::remove_dir_all(e.path()) } else { std::fs::remove_file(e.path()) };
        }
    }
}

/// Assemble WebAssembly text (module or component) and write it to a scratch file.
pub fn wat_file(name: &str, wat_text: &str) -> PathBuf {
    let bytes = wat::parse_str(wat_text).unwrap_or_else(|e| panic!("test wat for {name} does not assemble: {e}"));
    let p = scratch(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// A trivial allocator for hand-written test modules: a bump-pointer `malloc` and a no-op `free`
/// (named via `$names`, so `wat` emits them in the name section, and exported as well).
pub const BUMP_ALLOCATOR_WAT: &str = r#"
  (global $bump (mut i32) (i32.const 1024))
  (func $malloc (export "malloc") (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $bump))
    (global.set $bump
      (i32.and (i32.add (i32.add (global.get $bump) (local.get $n)) (i32.const 7)) (i32.const -8)))
    (local.get $p))
  (func $free (export "free") (param i32))
"#;

#[derive(Debug)]
pub struct Run {
    pub args: Vec<String>,
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    /// The exit status (panics if the process died from a signal).
    pub fn code(&self) -> i32 {
        self.status
            .unwrap_or_else(|| panic!("wasmleak {:?} was killed by a signal\nstderr:\n{}", self.args, self.stderr))
    }

    pub fn describe(&self) -> String {
        format!(
            "wasmleak {}\nexit: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.args.join(" "),
            self.status,
            truncate(&self.stdout, 4000),
            truncate(&self.stderr, 4000)
        )
    }

    pub fn assert_code(&self, want: i32) {
        assert_eq!(self.code(), want, "unexpected exit status\n{}", self.describe());
    }

    pub fn assert_no_panic(&self) {
        assert!(
            !self.stderr.contains("panicked") && !self.stdout.contains("panicked"),
            "wasmleak panicked\n{}",
            self.describe()
        );
    }

    /// stdout parsed as exactly one JSON document (trailing non-whitespace fails).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not exactly one JSON document: {e}\n{}", self.describe()))
    }
}

fn truncate(s: &str, n: usize) -> &str {
    if s.len() <= n {
        return s;
    }
    let mut end = n;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Run the wasmleak binary with `args` (stdin closed), capturing stdout and stderr, killing it after
/// [`HARD_LIMIT`].
pub fn wasmleak<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    wasmleak_fed(args, None)
}

/// [`wasmleak`] with `input` written to its stdin (a pipe), then closed.
pub fn wasmleak_with_stdin<I, S>(args: I, input: Vec<u8>) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    wasmleak_fed(args, Some(input))
}

fn wasmleak_fed<I, S>(args: I, input: Option<Vec<u8>>) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(|a| a.as_ref().to_os_string()).collect();
    let shown: Vec<String> = args.iter().map(|a| a.to_string_lossy().into_owned()).collect();
    let start = Instant::now();
    let mut child = Command::new(bin())
        .args(&args)
        .stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn wasmleak");
    // Written on a thread of its own: a child that stops reading (an error) must not block the test.
    let feeder = input.map(|bytes| {
        let mut stdin = child.stdin.take().unwrap();
        std::thread::spawn(move || {
            use std::io::Write;
            let _ = stdin.write_all(&bytes);
        })
    });
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        out.read_to_end(&mut v).ok();
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        err.read_to_end(&mut v).ok();
        v
    });
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait for wasmleak") {
            break s;
        }
        if start.elapsed() > HARD_LIMIT {
            child.kill().ok();
            child.wait().ok();
            panic!("wasmleak {} did not finish within {:?}", shown.join(" "), HARD_LIMIT);
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = start.elapsed();
    if let Some(feeder) = feeder {
        feeder.join().unwrap();
    }
    let stdout = String::from_utf8_lossy(&t_out.join().unwrap()).into_owned();
    let stderr = String::from_utf8_lossy(&t_err.join().unwrap()).into_owned();
    Run { args: shown, status: status.code(), stdout, stderr, elapsed }
}

/// `wasmleak check --format json MODULE <rest...>`; returns the run and its parsed report.
pub fn check_json(module: &Path, rest: &[&str]) -> (Run, Value) {
    let mut args: Vec<std::ffi::OsString> = vec!["check".into(), "--format".into(), "json".into(), module.into()];
    args.extend(rest.iter().map(|s| s.into()));
    let run = wasmleak(&args);
    run.assert_no_panic();
    let report = run.json();
    (run, report)
}

// ---------------------------------------------------------------------------------------------
// Report helpers
// ---------------------------------------------------------------------------------------------

pub const KINDS: [&str; 5] = ["lost", "indirect", "cycle", "host", "reachable"];
pub const LEAK_KINDS: [&str; 4] = ["lost", "indirect", "cycle", "host"];

pub fn groups(report: &Value) -> &Vec<Value> {
    report["groups"].as_array().expect("report.groups is an array")
}

pub fn u(v: &Value, what: &str) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("{what} is not an unsigned integer: {v}"))
}

pub fn summary(report: &Value, field: &str) -> u64 {
    u(&report["summary"][field], &format!("summary.{field}"))
}

/// Function names of a stack array (`[{"function": ...}, ...]`).
pub fn frames(stack: &Value) -> Vec<String> {
    stack
        .as_array()
        .unwrap_or_else(|| panic!("stack is not an array: {stack}"))
        .iter()
        .map(|f| f["function"].as_str().unwrap_or_else(|| panic!("frame without a function name: {f}")).to_string())
        .collect()
}

/// The group's site function (`site.function`), or its first stack frame if there is no `site`.
pub fn site_fn(group: &Value) -> String {
    if let Some(s) = group["site"]["function"].as_str() {
        return s.to_string();
    }
    frames(&group["stack"]).into_iter().next().unwrap_or_default()
}

/// Whether `site.function` or any stack frame's function contains `needle`.
pub fn names(group: &Value, needle: &str) -> bool {
    site_fn(group).contains(needle) || frames(&group["stack"]).iter().any(|f| f.contains(needle))
}

/// The one-time argv blocks wasi-libc's `__main_void` allocates (fixtures/README.md: "One-time
/// allocations made by the runtimes"): they have no user frame, so their site is `__main_void`.
pub fn is_runtime_group(group: &Value) -> bool {
    site_fn(group) == "__main_void"
}

/// (blocks, bytes) summed over every group of `kind`.
pub fn kind_total(report: &Value, kind: &str) -> (u64, u64) {
    groups(report)
        .iter()
        .filter(|g| g["kind"] == kind)
        .fold((0, 0), |(b, s), g| (b + u(&g["blocks"], "blocks"), s + u(&g["bytes"], "bytes")))
}

/// (blocks, bytes) summed over the groups of `kind`, leaving out the runtime's one-time groups.
pub fn kind_total_user(report: &Value, kind: &str) -> (u64, u64) {
    groups(report)
        .iter()
        .filter(|g| g["kind"] == kind && !is_runtime_group(g))
        .fold((0, 0), |(b, s), g| (b + u(&g["blocks"], "blocks"), s + u(&g["bytes"], "bytes")))
}

/// The groups of `kind` that name `site` (site function or a stack frame).
pub fn groups_at<'a>(report: &'a Value, kind: &str, site: &str) -> Vec<&'a Value> {
    groups(report).iter().filter(|g| g["kind"] == kind && names(g, site)).collect()
}

/// (blocks, bytes) summed over the groups of `kind` whose *site function* contains `site`.
pub fn site_total(report: &Value, kind: &str, site: &str) -> (u64, u64) {
    groups(report)
        .iter()
        .filter(|g| g["kind"] == kind && site_fn(g).contains(site))
        .fold((0, 0), |(b, s), g| (b + u(&g["blocks"], "blocks"), s + u(&g["bytes"], "bytes")))
}

/// A compact one-line-per-group view of a report, for assertion messages.
pub fn brief(report: &Value) -> String {
    let mut s = format!("summary: {}\n", report["summary"]);
    for g in groups(report) {
        s += &format!(
            "  {} growing={} {} blocks / {} B at {}\n",
            g["kind"],
            g["growing"],
            g["blocks"],
            g["bytes"],
            site_fn(g)
        );
    }
    for f in report["invalid_frees"].as_array().into_iter().flatten() {
        s += &format!("  invalid free {} at {:?}\n", f["kind"], frames(&f["stack"]));
    }
    s += &format!("exit: {}\n", report["exit"]);
    s
}

/// Allocator entry points and their internals: docs/contracts.md says a group's stack drops them.
pub fn is_allocator_frame(f: &str) -> bool {
    matches!(
        f,
        "malloc"
            | "free"
            | "calloc"
            | "realloc"
            | "dlmalloc"
            | "dlfree"
            | "posix_memalign"
            | "aligned_alloc"
            | "internal_memalign"
            | "operator new(unsigned long)"
            | "operator new[](unsigned long)"
            | "operator delete(void*)"
            | "operator delete[](void*)"
    ) || f.contains("__rust_alloc")
        || f.contains("__rust_realloc")
        || f.contains("__rust_dealloc")
        || f.contains("__rdl_")
}

/// Every field of the JSON contract (docs/contracts.md) is present with the right type, and the summary
/// agrees with the groups (`leaked_*` = lost + indirect + cycle + host; `reachable_*` = reachable).
pub fn assert_contract(report: &Value, module_file: &str) {
    let ctx = || brief(report);
    assert_eq!(report["version"], 1, "version\n{}", ctx());
    let module = report["module"].as_str().expect("module is a string");
    assert!(module.ends_with(module_file), "module {module:?} should name {module_file}");

    let s = &report["summary"];
    assert!(s.is_object(), "summary is an object");
    for f in ["leaked_blocks", "leaked_bytes", "reachable_blocks", "reachable_bytes", "invalid_frees", "allocations", "frees"] {
        assert!(s[f].is_u64(), "summary.{f} missing or not an unsigned integer: {s}");
    }

    for g in groups(report) {
        let kind = g["kind"].as_str().unwrap_or_else(|| panic!("group kind is not a string: {g}"));
        assert!(KINDS.contains(&kind), "unknown kind {kind}");
        assert!(g["growing"].is_boolean(), "group.growing is not a bool: {g}");
        assert!(u(&g["blocks"], "blocks") > 0, "a group with 0 blocks: {g}");
        assert!(u(&g["bytes"], "bytes") > 0, "a group with 0 bytes: {g}");
        let fs = frames(&g["stack"]);
        assert!(!fs.is_empty(), "group with an empty stack: {}", g["site"]);
        for f in &fs {
            assert!(!is_allocator_frame(f), "allocator frame {f:?} kept in a group's stack: {fs:?}");
        }
        let hint = g["hint"].as_str().unwrap_or_else(|| panic!("group.hint is not a string: {g}"));
        assert!(!hint.trim().is_empty(), "empty hint");
        if let Some(t) = g.get("type") {
            assert!(t.is_string() || t.is_null(), "group.type is neither a string nor null: {t}");
        }
    }

    let inv = report["invalid_frees"].as_array().expect("invalid_frees is an array");
    for f in inv {
        assert!(f["address"].is_u64(), "invalid_frees[].address: {f}");
        for k in ["stack", "first_free_stack", "alloc_stack"] {
            assert!(f[k].is_array(), "invalid_frees[].{k} is not an array: {f}");
            frames(&f[k]);
        }
    }
    assert_eq!(summary(report, "invalid_frees"), inv.len() as u64, "summary.invalid_frees vs the list");

    let (mut lb, mut ly) = (0, 0);
    for k in LEAK_KINDS {
        let (b, y) = kind_total(report, k);
        lb += b;
        ly += y;
    }
    assert_eq!((summary(report, "leaked_blocks"), summary(report, "leaked_bytes")), (lb, ly), "leaked_* = lost+indirect+cycle+host groups\n{}", ctx());
    assert_eq!(
        (summary(report, "reachable_blocks"), summary(report, "reachable_bytes")),
        kind_total(report, "reachable"),
        "reachable_* = reachable groups\n{}",
        ctx()
    );
}

/// A module whose exports `malloc`/`free` (what JS glue would call) are not what the program allocates with: it
/// calls a bump allocator of its own (`run`, also as `_start`). Hooking the exports sees no allocator call.
pub const GLUE_ONLY_EXPORTS: &str = r#"(module
  (memory (export "memory") 1)
  (global $top (mut i32) (i32.const 4096))
  (global $keep (mut i32) (i32.const 0))
  (func $bump (param i32) (result i32) (local i32)
    global.get $top local.set 1
    global.get $top local.get 0 i32.add global.set $top
    local.get 1)
  (func (export "malloc") (param i32) (result i32) local.get 0 i32.const 8 i32.add call $bump)
  (func (export "free") (param i32))
  (func $run (export "run")
    i32.const 24 call $bump global.set $keep
    i32.const 40 call $bump drop)
  (export "_start" (func $run)))"#;
