//! `wasmleak export`: a snapshot in another tool's format.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use wasmleak_export::{flamegraph, heapsnapshot, html, pprof};
use wasmleak_heap::{analyze, Memory, Snapshot};

use crate::common::write_file;

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
    /// Snapshots written by `check --save DIR`, in order. The last one is exported; `--format html` also
    /// draws the comparison (first → last) and the heap over time from all of them.
    #[arg(num_args = 1.., required = true)]
    snapshot: Vec<PathBuf>,
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
        if let Format::Html = self.format {
            let snaps = self.snapshot.iter().map(load_snapshot).collect::<Result<Vec<_>>>()?;
            write_file(&self.output, |out| html::write_series(&snaps, out))?;
            return Ok(0);
        }
        let snap = load_snapshot(self.snapshot.last().expect("clap requires one"))?;
        let (mem, roots, blocks) = snap.memory_image();
        let analysis = analyze(blocks, Memory { bytes: &mem }, &roots);
        write_file(&self.output, |out| match self.format {
            Format::Heapsnapshot => heapsnapshot::write(&snap, &analysis, out),
            Format::Pprof => pprof::write(&snap, &analysis, out),
            Format::Collapsed => flamegraph::write_collapsed(&snap, &analysis, out),
            Format::Flamegraph => flamegraph::write(&snap, &analysis, out),
            Format::Html => unreachable!("written above"),
        })?;
        Ok(0)
    }
}
