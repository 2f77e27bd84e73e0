//! `wasmleak instrument`: write the rewritten module for another host.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use wasmleak_symbolize::Symbolizer;

use crate::common::{instrument_options, load, AllocatorOpts};

/// Rewrite a module so every allocation and free calls the `wasmleak` hook imports (for other hosts).
#[derive(Args)]
pub struct Opts {
    /// The module (.wasm)
    module: PathBuf,
    /// Where to write the instrumented module
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
    /// Also call the optional hook import `wasmleak::iteration` each time this function returns (one
    /// iteration of the program's loop; named as `check --iteration` takes it)
    #[arg(long, value_name = "FUNC")]
    iteration: Option<String>,
    /// Also import `wasmleak::check(ptr) -> i32` and ask it before every free and realloc: 0 means the
    /// pointer is not a live block, and the allocator is not called (the host reports an invalid free)
    #[arg(long)]
    checked_frees: bool,
    /// Keep a calling-context id and pass it to the hooks, which become `alloc_ctx`, `free_ctx` and
    /// `realloc_ctx` (two more i32 parameters: the id's low and high halves); equal ids mean the same call
    /// stack, so a host walks each stack once (docs/contracts.md)
    #[arg(long)]
    contexts: bool,
    /// What `check` runs: --contexts and --checked-frees, with the events recorded into a buffer in two added
    /// memories (multi-memory) and the host called only when it fills, for a new context, or for what the
    /// module's live bitmap cannot decide (imports `flush`, `ctx_new`, `verify`; docs/contracts.md)
    #[arg(long)]
    buffered: bool,
    /// What the JS runtime runs: with --contexts and --checked-frees, a free of a non-null pointer makes one host
    /// call, `free_check_ctx(ptr, ctx_lo, ctx_hi) -> i32`, instead of `check` then `free_ctx`
    #[arg(long, requires_all = ["contexts", "checked_frees"], conflicts_with = "buffered")]
    fused_free: bool,
    #[command(flatten)]
    allocator: AllocatorOpts,
}

impl Opts {
    pub fn run(self) -> Result<i32> {
        let m = load(&self.module)?;
        let sym = Symbolizer::new_shared(&m.bytes)?;
        let eps = self.allocator.find(&m, &sym)?;
        let mut options = instrument_options(&m, &sym, &eps, self.iteration.as_deref(), self.checked_frees, self.contexts)?;
        options.buffered = self.buffered;
        options.fused_free = self.fused_free;
        let out = wasmleak_instrument::instrument_with(&m.bytes, &m.info, &eps, &options)?;
        std::fs::write(&self.output, &out.bytes).with_context(|| format!("cannot write {}", self.output.display()))?;
        eprintln!(
            "wasmleak: wrote {} ({} bytes); hooked {}",
            self.output.display(),
            out.bytes.len(),
            eps.iter().map(|e| format!("{} ({})", e.name, e.role)).collect::<Vec<_>>().join(", ")
        );
        if let Some(f) = options.iteration {
            eprintln!("wasmleak: func {f} calls wasmleak::iteration when it returns");
        }
        Ok(0)
    }
}
