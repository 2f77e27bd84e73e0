//! `wasmleak node`: run a Node.js script with the JS runtime (js/) attached, report at exit.
//!
//! Runs `node --import <js>/src/register.mjs SCRIPT ARGS`; the register module calls `attach()` before the
//! app loads any wasm and, at process exit, writes `{reports, text, skipped}` (or `{error}`) to the file named
//! by `WASMLEAK_REPORT_FILE`. This side prints it, so the app's own stdout never mixes into the JSON (with
//! `--format json` the app's stdout goes to stderr).

use std::ffi::OsString;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use clap::Args;
use serde_json::Value;

use crate::check::Format;
use crate::common::{js_src_dir, require_wasm_artifact};

/// Run a Node.js script with wasmleak attached: every wasm module it loads is tracked, reported at exit.
#[derive(Args)]
pub struct Opts {
    /// Report format: text for people, json for CI (DESIGN.md §4; several instances give a JSON array)
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// The script (.mjs/.js) and its arguments
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true, value_name = "SCRIPT [ARGS]")]
    script: Vec<OsString>,
}

impl Opts {
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
        let node = std::env::var_os("WASMLEAK_NODE").unwrap_or_else(|| "node".into());
        let mut cmd = Command::new(&node);
        cmd.arg("--import")
            .arg(format!("file://{}", register.display()))
            .args(&self.script)
            .env("WASMLEAK_WASM", &wasm)
            .env("WASMLEAK_REPORT_FILE", &report_file)
            .stdin(Stdio::inherit())
            .stderr(Stdio::inherit());
        if matches!(self.format, Format::Json) {
            cmd.stdout(Stdio::from(std::io::stderr()));
        }
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
        let out: Value = serde_json::from_slice(&written).context("the register module wrote a bad report")?;
        if let Some(err) = out.get("error").and_then(Value::as_str) {
            eprintln!("wasmleak: the JS runtime failed: {err}");
            return Ok(2);
        }
        let reports = out["reports"].as_array().cloned().unwrap_or_default();
        for s in out["skipped"].as_array().into_iter().flatten() {
            eprintln!(
                "wasmleak: {} not tracked: {}",
                s["name"].as_str().unwrap_or("a module"),
                s["reason"].as_str().unwrap_or("?")
            );
        }
        match self.format {
            Format::Json => {
                let json = if reports.len() == 1 { reports[0].clone() } else { Value::Array(reports.clone()) };
                println!("{json}");
            }
            Format::Text => {
                if reports.is_empty() {
                    println!("wasmleak: the script instantiated no module with an allocator; nothing tracked");
                } else {
                    print!("{}", out["text"].as_str().unwrap_or_default());
                }
            }
        }
        let problems = reports.iter().any(|r| {
            r["summary"]["leaked_blocks"].as_u64().unwrap_or(0) > 0
                || r["summary"]["invalid_frees"].as_u64().unwrap_or(0) > 0
        });
        Ok(if problems {
            1
        } else if !status.success() {
            eprintln!("wasmleak: node {status}");
            2
        } else {
            0
        })
    }
}
