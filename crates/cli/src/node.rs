//! `wasmleak node`: run a Node.js script with the JS runtime (js/) attached, report at exit.
//!
//! Runs `node --import <js>/src/register.mjs SCRIPT ARGS`; the register module calls `attach()` before the
//! app loads any wasm and, at process exit, writes `{reports, text, skipped}` (or `{error}`) to the file named
//! by `WASMLEAK_REPORT_FILE`. This side prints it, so the app's own stdout never mixes into the JSON (with
//! `--format json` and no `-o`, the app's stdout goes to stderr).

use std::ffi::OsString;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use clap::Args;
use serde_json::Value;

use std::path::PathBuf;


use crate::check::Format;
use crate::common::{js_src_dir, require_wasm_artifact, write_file, AllocatorOpts, PolicyOpts};
use crate::export::load_snapshot;

/// Run a Node.js script with wasmleak attached: every wasm module it loads is tracked, reported at exit.
#[derive(Args)]
pub struct Opts {
    /// Report format: text for people, json for CI (docs/contracts.md; several instances give a JSON array)
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Write the heap snapshots into this directory: every `attach().snapshot()` the app took and one at exit,
    /// per module `NAME.N.wlsnap` (for `wasmleak diff`, `why`, `export`)
    #[arg(long, value_name = "DIR")]
    save: Option<PathBuf>,
    /// Also write the heap at exit as a Chrome DevTools heap snapshot (Memory → Load); with several modules,
    /// one file each (`FILE` gets the module's name before its extension)
    #[arg(long, value_name = "FILE")]
    heapsnapshot: Option<PathBuf>,
    /// Also write the HTML report of the snapshots (the app's and the one at exit)
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Take a heap snapshot every MS milliseconds of the run (between tasks, never inside a wasm call): three
    /// or more give a growth verdict over time for an app that never calls `snapshot()` itself (a server);
    /// at most 32 are kept, evenly spaced
    #[arg(long, value_name = "MS")]
    snapshot_interval: Option<u64>,
    /// List every reachable group in the text report
    #[arg(long)]
    show_reachable: bool,
    /// Also list the N sites that allocated the most bytes over the run, with their temporary allocations and
    /// their share of the peak heap (the JSON report always has every site)
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "10")]
    profile: Option<usize>,
    /// Write the report here instead of stdout
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// The allocator entry points of every module the app loads, when wasmleak cannot find them (`wasmleak
    /// inspect` on the module says what it tried)
    #[command(flatten)]
    allocator: AllocatorOpts,
    #[command(flatten)]
    policy: PolicyOpts,
    /// The unstripped build (or separate DWARF file) of a stripped module the app loads: its names and file:line
    /// for that module's stacks (repeatable; each module takes the one whose code is its own)
    #[arg(long = "debug-file", value_name = "FILE")]
    debug_files: Vec<PathBuf>,
    /// The script (.mjs/.js) and its arguments. wasmleak's own options come first; the first argument it does not
    /// know starts node's command line (`wasmleak node --alloc-fn 25 -- --inspect app.mjs`: node gets `--inspect`)
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true, value_name = "SCRIPT [ARGS]")]
    script: Vec<OsString>,
}

/// A module the app instantiated that has no heap (no allocator found, and it never grows or measures its memory
/// nor exports an allocator: crates/instrument `has_heap`): nothing of it to track.
const NO_HEAP: &str = "it never grows or measures its memory and exports no allocator: it has no heap to leak from";

impl Opts {
    /// `--suppressions`, `--baseline`, `--fail-on` for the analysis in the JS runtime, checked here first.
    fn policy_json(&self) -> Result<serde_json::Value> {
        let p = self.policy.load()?;
        Ok(serde_json::json!({
            "suppressions": p.suppressions.to_text(),
            "baseline": p.baseline.map(|b| { let mut v: Vec<String> = b.into_iter().collect(); v.sort(); v }),
            "fail_on": p.fail_on,
        }))
    }

    pub fn run(self) -> Result<i32> {
        let register = js_src_dir()?.join("register.mjs");
        if !register.is_file() {
            bail!(
                "the wasmleak JS runtime is missing: no {} (set WASMLEAK_JS to the js/ directory of wasmleak)",
                register.display()
            );
        }
        let wasm = require_wasm_artifact()?;
        let register = register.canonicalize().with_context(|| format!("cannot resolve {}", register.display()))?;
        let report_file = std::env::temp_dir().join(format!(
            "wasmleak-node-{}-{}.json",
            std::process::id(),
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos())
        ));
        // Snapshots go to --save, or to a temporary directory when only the exports need them.
        let temp_snaps = (self.save.is_none() && (self.html.is_some() || self.heapsnapshot.is_some()))
            .then(|| report_file.with_extension("snapshots"));
        let snap_dir = self.save.clone().or_else(|| temp_snaps.clone());
        let node = std::env::var_os("WASMLEAK_NODE").unwrap_or_else(|| "node".into());
        let mut cmd = Command::new(&node);
        cmd.arg("--import")
            .arg(format!("file://{}", register.display()))
            .args(&self.script)
            .env("WASMLEAK_WASM", &wasm)
            .env("WASMLEAK_REPORT_FILE", &report_file)
            .env_remove("WASMLEAK_SNAPSHOT_DIR")
            .stdin(Stdio::inherit())
            .stderr(Stdio::inherit());
        // The JSON report on stdout would mix with the app's output: that goes to stderr then — unless the
        // report goes to a file (-o), and the app keeps its stdout.
        if matches!(self.format, Format::Json) && self.output.is_none() {
            cmd.stdout(Stdio::from(std::io::stderr()));
        }
        if let Some(dir) = &snap_dir {
            cmd.env("WASMLEAK_SNAPSHOT_DIR", dir);
        }
        // The runtime instruments a module not in its cache through this binary (`ForJs`), when the analysis it
        // loads is the one embedded here: the same code, so the same module and state.
        match std::env::current_exe() {
            Ok(exe) if std::env::var_os("WASMLEAK_WASM").is_none() && crate::common::embedded::ANALYSIS_WASM.is_some() => {
                cmd.env("WASMLEAK_CLI", exe)
            }
            _ => cmd.env_remove("WASMLEAK_CLI"),
        };
        let a = &self.allocator;
        let options = serde_json::json!({
            "allocator": {
                "alloc": a.alloc, "free": a.free, "realloc": a.realloc, "calloc": a.calloc,
                "aligned_alloc": a.aligned_alloc, "posix_memalign": a.posix_memalign,
            },
            "showReachable": self.show_reachable,
            "policy": self.policy_json()?,
            "profile": self.profile.unwrap_or(0),
            "debugFiles": self.debug_files.iter().map(|p| p.canonicalize().map(|p| p.display().to_string())
                .with_context(|| format!("--debug-file {}", p.display()))).collect::<Result<Vec<_>>>()?,
        });
        cmd.env("WASMLEAK_OPTIONS", options.to_string());
        if let Some(path) = &self.output {
            std::fs::write(path, b"").with_context(|| format!("cannot write the report to {}", path.display()))?;
        }
        match self.snapshot_interval {
            Some(0) => bail!("--snapshot-interval needs a number of milliseconds ≥ 1"),
            Some(ms) => cmd.env("WASMLEAK_SNAPSHOT_INTERVAL_MS", ms.to_string()),
            None => cmd.env_remove("WASMLEAK_SNAPSHOT_INTERVAL_MS"),
        };
        let status = match cmd.status() {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
                "`{}` not found: `wasmleak node` needs Node.js 20 or newer on PATH (or WASMLEAK_NODE set to it)",
                node.to_string_lossy()
            ),
            Err(e) => return Err(e).with_context(|| format!("cannot run {}", node.to_string_lossy())),
        };
        let written = std::fs::read(&report_file);
        let _ = std::fs::remove_file(&report_file);
        let Ok(written) = written else {
            eprintln!("wasmleak: node {status} before wasmleak could write a report");
            return Ok(2);
        };
        let mut out: Value = serde_json::from_slice(&written).context("the register module wrote a bad report")?;
        for worker in worker_reports(&report_file) {
            merge(&mut out, worker);
        }
        if let Some(err) = out.get("error").and_then(Value::as_str) {
            eprintln!("wasmleak: the JS runtime failed: {err}");
            return Ok(2);
        }
        let reports = out["reports"].as_array().cloned().unwrap_or_default();
        let exported = self.write_exports(&out);
        if let Some(dir) = &temp_snaps {
            let _ = std::fs::remove_dir_all(dir);
        }
        exported?;
        // Modules of the app that were not tracked (Node's own wasm is not the app's, and is left out).
        let untracked: Vec<Value> = out["skipped"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|s| s["status"].as_str() != Some("runtime"))
            .map(|s| {
                let name = s["name"].as_str().unwrap_or("a module");
                let reason = s["reason"].as_str().unwrap_or("?");
                if s["heap"].as_bool() == Some(false) {
                    eprintln!("wasmleak: {name} not tracked: {reason}; {NO_HEAP}");
                } else {
                    eprintln!("wasmleak: {name} not tracked: {reason}");
                }
                serde_json::json!({
                    "version": 1, "module": name, "tracked": false,
                    "status": s["status"].as_str().unwrap_or("error"), "reason": reason,
                    "heap": s["heap"].as_bool().unwrap_or(true),
                })
            })
            .collect();
        // A module that grows a heap wasmleak could not track: nothing it reports can be trusted as complete.
        let blind = untracked.iter().any(|u| u["heap"].as_bool() == Some(true));
        let text = match self.format {
            Format::Json => {
                // One tracked module: its report; otherwise an array, untracked modules included as
                // `{"tracked": false, "status", "reason"}` entries.
                let json = if reports.len() == 1 && untracked.is_empty() {
                    reports[0].clone()
                } else {
                    Value::Array(reports.iter().cloned().chain(untracked.iter().cloned()).collect())
                };
                format!("{json}\n")
            }
            Format::Text if reports.is_empty() && untracked.is_empty() => match status.code().filter(|&c| c != 0) {
                // Ended by an error before any module: Emscripten 3.1's glue fails on Node's own fetch of a file path.
                Some(c) => format!(
                    "wasmleak: the script ended (node exit status {c}) before it instantiated a WebAssembly module; nothing \
                     tracked. Its error is above; glue from Emscripten 3.1 and older fails on Node's fetch: \
                     `wasmleak node --no-experimental-fetch SCRIPT` (node's options pass through after wasmleak's)\n"
                ),
                None => "wasmleak: the script instantiated no WebAssembly module; nothing tracked\n".to_string(),
            },
            Format::Text => {
                let mut t = out["text"].as_str().unwrap_or_default().to_string();
                for u in &untracked {
                    let (module, reason) = (u["module"].as_str().unwrap_or("?"), u["reason"].as_str().unwrap_or("?"));
                    if u["heap"].as_bool() == Some(false) {
                        t.push_str(&format!("\nnot tracked, no heap: {module}: {NO_HEAP} ({reason})\n"));
                    } else {
                        t.push_str(&format!("\nNOT TRACKED: {module}: {reason}\n"));
                    }
                }
                t
            }
        };
        match &self.output {
            Some(path) => std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?,
            None => print!("{text}"),
        }
        // The findings that fail the run (every leak and invalid free unless --suppressions, --baseline or
        // --fail-on say otherwise), as the analysis decided them.
        let problems = reports.iter().any(|r| r["decided_by"].as_array().is_some_and(|d| !d.is_empty()));
        // A report whose leaks cannot be trusted (frees that were not seen) is no verdict, whatever it found.
        let unseen_frees = reports.iter().find(|r| r["inconclusive_reason"] == wasmleak_report::FREES_NOT_SEEN_REASON);
        Ok(if let Some(r) = unseen_frees {
            eprintln!("wasmleak: {}: no verdict: {}", r["module"].as_str().unwrap_or("?"), r["inconclusive"].as_str().unwrap_or("?"));
            2
        } else if problems {
            1
        } else if blind {
            // Naming the allocator does not help a module wasmleak cannot track (threads, one Node's own loader
            // compiled, a garbage-collected language's runtime): its reason says so already.
            let unsupported = untracked.iter().all(|u| u["status"] == "unsupported" || u["status"] == "language_runtime");
            if !unsupported {
                eprintln!(
                    "wasmleak: a module with a heap was not tracked: run `wasmleak inspect` on it, or name its allocator \
                     (wasmleak node --alloc-fn N --free-fn N SCRIPT)"
                );
            }
            2
        } else if !status.success() {
            // Nothing found, but the app failed: its status passes through, as `check` passes a guest's (a failing
            // test run stays failing with its own status); 2 when node was killed by a signal.
            eprintln!("wasmleak: node {status}");
            status.code().filter(|&c| c != 0).unwrap_or(2)
        } else if reports.is_empty() && untracked.is_empty() {
            // Nothing was looked at, so nothing was found clean: a tool that runs wasm in a child process
            // (esbuild-wasm runs its Go module in another node) or in a way Node's loader hides.
            eprintln!(
                "wasmleak: no verdict: no WebAssembly module was instantiated in this process or its worker threads \
                 (a child process's are not seen: run `wasmleak node` on the script the child runs)"
            );
            2
        } else if let Some(r) = reports.iter().find(|r| r["inconclusive"].is_string()) {
            eprintln!("wasmleak: {}: no allocator call was seen, so no verdict (the report says why)", r["module"].as_str().unwrap_or("?"));
            2
        } else {
            0
        })
    }

    /// `--html` / `--heapsnapshot` from the snapshot files the register module wrote.
    fn write_exports(&self, out: &Value) -> Result<()> {
        if self.html.is_none() && self.heapsnapshot.is_none() {
            return Ok(());
        }
        let modules = out["snapshots"].as_array().cloned().unwrap_or_default();
        if modules.is_empty() {
            eprintln!("wasmleak: no module was tracked: no --html / --heapsnapshot written");
        }
        for m in &modules {
            let files: Vec<PathBuf> = m["files"].as_array().into_iter().flatten().filter_map(Value::as_str).map(PathBuf::from).collect();
            let snaps = files.iter().map(load_snapshot).collect::<Result<Vec<_>>>()?;
            let Some(last) = snaps.last() else { continue };
            let name = m["module"].as_str().unwrap_or("module");
            let per_module = |path: &PathBuf| if modules.len() == 1 { path.clone() } else { with_module(path, name) };
            if let Some(path) = &self.heapsnapshot {
                let analysis = last.analyze();
                write_file(&per_module(path), |o| wasmleak_export::heapsnapshot::write(last, &analysis, o))?;
            }
            if let Some(path) = &self.html {
                write_file(&per_module(path), |o| wasmleak_export::html::write_series(&snaps, o))?;
            }
        }
        Ok(())
    }
}

/// `report.html` + `module-2.wasm` → `report.module-2.html`.
fn with_module(path: &std::path::Path, module: &str) -> PathBuf {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let module = module.trim_end_matches(".wasm");
    let name = match path.extension() {
        Some(ext) => format!("{stem}.{module}.{}", ext.to_string_lossy()),
        None => format!("{stem}.{module}"),
    };
    path.with_file_name(name)
}

/// The reports worker threads wrote next to the main thread's (`FILE.worker-N`, in thread order), removed.
fn worker_reports(main: &std::path::Path) -> Vec<Value> {
    let (Some(dir), Some(name)) = (main.parent(), main.file_name().and_then(|n| n.to_str())) else { return Vec::new() };
    let prefix = format!("{name}.worker-");
    let mut found: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().to_str()?.strip_prefix(&prefix)?.parse().ok()?;
            Some((n, e.path()))
        })
        .collect();
    found.sort();
    found
        .into_iter()
        .filter_map(|(_, path)| {
            let bytes = std::fs::read(&path).ok();
            let _ = std::fs::remove_file(&path);
            serde_json::from_slice(&bytes?).ok()
        })
        .collect()
}

/// A worker's `{reports, text, skipped, snapshots}` (or `{error}`) added to the main thread's.
fn merge(out: &mut Value, worker: Value) {
    if let Some(err) = worker.get("error") {
        if out.get("error").is_none() {
            out["error"] = err.clone();
        }
        return;
    }
    for key in ["reports", "skipped", "snapshots"] {
        if let Some(items) = worker[key].as_array() {
            match out[key].as_array_mut() {
                Some(list) => list.extend(items.iter().cloned()),
                None => out[key] = Value::Array(items.clone()),
            }
        }
    }
    let text = format!("{}\n{}", out["text"].as_str().unwrap_or_default(), worker["text"].as_str().unwrap_or_default());
    out["text"] = Value::String(text);
}

/// `wasmleak __instrument-for-js OPTIONS`: the module on stdin, instrumented as the JS runtime's analysis would
/// (`wl_instrument_with`, the same code compiled natively: 2–7× faster than a cold analysis in V8, which a first
/// run waits for); on stdout the meta's and the state's lengths (u32 little-endian), the meta, the state and the
/// instrumented module. A module that is refused gets exit status 3 and nothing on stdout: the runtime
/// instruments it itself, for the refusal its analysis words. `wasmleak node` tells the runtime its own path
/// (`WASMLEAK_CLI`) only when the analysis the runtime loads is the one embedded in this binary, built from the
/// same sources.
#[derive(Args)]
pub struct ForJs {
    /// The allocator options, as JSON (`wl_instrument_with`'s)
    options: String,
}

impl ForJs {
    pub fn run(self) -> Result<i32> {
        let mut module = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut module).context("reading the module from stdin")?;
        let Ok((_, [bytes, meta, state])) = wasmleak_wasm::instrument_outputs(module, self.options.as_bytes(), &[]) else {
            return Ok(3);
        };
        let mut out = Vec::with_capacity(8 + meta.len() + state.len() + bytes.len());
        out.extend((meta.len() as u32).to_le_bytes());
        out.extend((state.len() as u32).to_le_bytes());
        for part in [&meta, &state, &bytes] {
            out.extend_from_slice(part);
        }
        std::io::Write::write_all(&mut std::io::stdout().lock(), &out).context("writing the instrumented module")?;
        Ok(0)
    }
}
