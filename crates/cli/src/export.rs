//! `wasmleak export`: a snapshot in another tool's format.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use wasmleak_export::{flamegraph, heapsnapshot, html, pprof};
use wasmleak_heap::{analyze, Memory, Snapshot};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    /// Chrome DevTools heap snapshot (Memory → Load)
    Heapsnapshot,
    /// pprof profile (gzipped protobuf): `go tool pprof`, speedscope
    Pprof,
    /// Collapsed stacks of live bytes (`inferno-flamegraph`, speedscope)
    Collapsed,
    /// SVG flamegraph of live bytes
    Flamegraph,
    /// Self-contained HTML report
    Html,
}

/// Write a snapshot in another tool's format.
#[derive(Args)]
pub struct Opts {
    /// A snapshot written by `check --save DIR`
    snapshot: PathBuf,
    #[arg(long, value_enum)]
    format: Format,
    /// Output file
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
}

pub fn load_snapshot(path: &PathBuf) -> Result<Snapshot> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Snapshot::from_bytes(&bytes).with_context(|| format!("{}", path.display()))
}

impl Opts {
    pub fn run(self) -> Result<i32> {
        let snap = load_snapshot(&self.snapshot)?;
        let (mem, roots, blocks) = snap.memory_image();
        let analysis = analyze(blocks, Memory { bytes: &mem }, &roots);
        let file = std::fs::File::create(&self.output).with_context(|| format!("cannot write {}", self.output.display()))?;
        let mut out = std::io::BufWriter::new(file);
        match self.format {
            Format::Heapsnapshot => heapsnapshot::write(&snap, &analysis, &mut out),
            Format::Pprof => pprof::write(&snap, &analysis, &mut out),
            Format::Collapsed => flamegraph::write_collapsed(&snap, &analysis, &mut out),
            Format::Flamegraph => flamegraph::write(&snap, &analysis, &mut out),
            Format::Html => html::write(&snap, &analysis, &mut out),
        }
        .and_then(|()| out.flush())
        .with_context(|| format!("writing {}", self.output.display()))?;
        Ok(0)
    }
}
