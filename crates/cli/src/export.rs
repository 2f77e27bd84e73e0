//! `wasmleak export`: a snapshot in another tool's format.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use wasmleak_export::{flamegraph, heapsnapshot, html, pprof};
use wasmleak_heap::Snapshot;

use crate::common::write_file;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Measure {
    Live,
    Allocated,
    Peak,
    Temporary,
}

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
    /// What collapsed stacks and flamegraphs measure: the live bytes at the snapshot (leaked and reachable
    /// apart), or from the allocation profile, the bytes allocated over the run, the live bytes at the peak
    /// heap, or the temporary allocations (freed before any other allocation), counted
    #[arg(long, value_enum, default_value = "live")]
    measure: Measure,
    #[command(flatten)]
    names: SnapshotNames,
}

pub fn load_snapshot(path: &PathBuf) -> Result<Snapshot> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Snapshot::from_bytes(&bytes).with_context(|| format!("{}", path.display()))
}

/// `--debug-file` for snapshots of a stripped module (`export`, `why`, `diff`): their unnamed frames (`func[N]`)
/// get the function names of the module's unstripped build. A snapshot keeps no code offsets, so this names
/// functions only; `check`/`node --debug-file` give file:line too.
#[derive(Args, Clone, Debug, Default)]
pub struct SnapshotNames {
    /// Name the `func[N]` frames of a stripped module's snapshots with the names of its unstripped build (checked
    /// against the module the snapshot was taken from: the snapshot's module path, or --module)
    #[arg(long = "debug-file", value_name = "FILE")]
    debug_file: Option<PathBuf>,
    /// With --debug-file: the module the snapshots were taken from, when it is not at the path they record
    #[arg(long, value_name = "MODULE", requires = "debug_file")]
    module: Option<PathBuf>,
}

impl SnapshotNames {
    pub fn load(&self, path: &PathBuf) -> Result<Snapshot> {
        let mut snap = load_snapshot(path)?;
        let Some(debug) = &self.debug_file else { return Ok(snap) };
        let module = self.module.clone().unwrap_or_else(|| PathBuf::from(&snap.module));
        let running = std::fs::read(&module).with_context(|| {
            format!(
                "--debug-file: cannot read {}, the module {} was taken from, to check the debug file against (pass it with --module)",
                module.display(),
                path.display()
            )
        })?;
        let debug_bytes = std::fs::read(debug).with_context(|| format!("--debug-file {}", debug.display()))?;
        let sym = wasmleak_symbolize::Symbolizer::with_debug_file(&running, &debug_bytes, &debug.display().to_string())
            .with_context(|| format!("--debug-file for {}", module.display()))?;
        for f in &mut snap.frames {
            let index = f.function.strip_prefix("func[").and_then(|r| r.strip_suffix(']')).and_then(|n| n.parse::<u32>().ok());
            if let (Some(i), None) = (index, &f.file) {
                if let Some(name) = sym.function_name(i) {
                    f.function = name.to_string();
                }
            }
        }
        Ok(snap)
    }
}

impl Opts {
    pub fn run(self) -> Result<i32> {
        if let Format::Html = self.format {
            let snaps = self.snapshot.iter().map(|p| self.names.load(p)).collect::<Result<Vec<_>>>()?;
            write_file(&self.output, |out| html::write_series(&snaps, out))?;
            return Ok(0);
        }
        let snap = self.names.load(self.snapshot.last().expect("clap requires one"))?;
        let profiled = match self.measure {
            Measure::Live => None,
            Measure::Allocated => Some(flamegraph::Measure::Allocated),
            Measure::Peak => Some(flamegraph::Measure::Peak),
            Measure::Temporary => Some(flamegraph::Measure::Temporary),
        };
        if let Some(measure) = profiled {
            if !matches!(self.format, Format::Collapsed | Format::Flamegraph) {
                bail!("--measure {} is for --format collapsed and flamegraph (pprof has alloc_space and alloc_objects, the HTML report a profile table)", format!("{:?}", self.measure).to_lowercase());
            }
            if snap.profile.sites.is_empty() && snap.allocations > 0 {
                bail!("{} has no allocation profile (taken by a wasmleak that kept none): take it again to draw --measure {}", self.snapshot.last().unwrap().display(), format!("{:?}", self.measure).to_lowercase());
            }
            let lines = flamegraph::profile_lines(&snap, measure);
            write_file(&self.output, |out| match self.format {
                Format::Collapsed => lines.iter().try_for_each(|l| writeln!(out, "{l}")),
                _ => flamegraph::svg_with_unit(&lines, measure.title(), measure.unit(), "nothing allocated", out),
            })?;
            return Ok(0);
        }
        let analysis = snap.analyze();
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
