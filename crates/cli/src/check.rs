//! `wasmleak check`: run a module with every allocation tracked, then report leaks.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use wasmleak_heap::{growth, Snapshot};
use wasmleak_host::{tracked_run, Exit, StackMode, Stdout};
use wasmleak_report::{build, build_in_memory, to_json, to_text, SnapshotTaker, TextOptions};

use crate::common::{instrument_options, load, write_file, AllocatorOpts, DebugFile, GuestOpts, PolicyOpts};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Stacks {
    /// Every event's stack, by calling-context id: the real stack is walked once per distinct call stack
    Context,
    /// Walk the real stack at every event (slow; a cross-check of the context ids)
    #[value(alias = "eager")]
    Walk,
    /// No stacks: groups by kind only; the runtime's argv copy is told by its contents, blocks calls running at
    /// exit() may hold cannot be (a note says so)
    Off,
}

/// Run a module with every allocation tracked and report what leaked.
#[derive(Args)]
pub struct Opts {
    /// The module (.wasm)
    module: PathBuf,
    #[command(flatten)]
    guest: GuestOpts,
    #[command(flatten)]
    allocator: AllocatorOpts,
    #[command(flatten)]
    debug: DebugFile,
    #[command(flatten)]
    policy: PolicyOpts,
    /// Report format: text for people, json for CI (docs/contracts.md)
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Write the report here instead of stdout
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// How to capture allocation stacks
    #[arg(long, value_enum, default_value = "context")]
    stacks: Stacks,
    /// List every reachable group in the text report
    #[arg(long)]
    show_reachable: bool,
    /// Also list the N sites that allocated the most bytes over the run, with their temporary allocations and
    /// their share of the peak heap (the JSON report always has every site)
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "10")]
    profile: Option<usize>,
    /// Write the heap snapshots into this directory (`1.wlsnap`, ...; the last one is taken at exit)
    #[arg(long, value_name = "DIR")]
    save: Option<PathBuf>,
    /// With --invoke: take a snapshot every K calls; with --iteration: every K returns of FUNC (three or more
    /// snapshots give a growth verdict)
    #[arg(long, value_name = "K")]
    snapshot_every: Option<u32>,
    /// For a command: take a snapshot every MS milliseconds of the run, wherever the guest is (three or more
    /// give a growth verdict over time for a program with no iteration function to name); at most 32 are kept,
    /// evenly spaced. Its growth rates are per interval
    #[arg(long, value_name = "MS", conflicts_with_all = ["snapshot_every", "iteration"])]
    snapshot_interval: Option<u64>,
    /// The function that runs one iteration of the program's own loop (a request handler, a frame, a line):
    /// snapshots are taken after its returns, inside the run. By name (raw or demangled, or the last path
    /// segment), or func[N] / N for stripped modules. Every iteration unless --snapshot-every K; at most 32
    /// snapshots are kept (then every other one is dropped and the interval doubles)
    #[arg(long, value_name = "FUNC")]
    iteration: Option<String>,
    /// Also write the heap at the end as a Chrome DevTools heap snapshot (Memory → Load)
    #[arg(long, value_name = "FILE")]
    heapsnapshot: Option<PathBuf>,
    /// Also write the HTML report of every snapshot of the run
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
}

const NO_HEAP_NOTE: &str = "the module has no heap allocator: no function is named or shaped as one, it neither grows nor \
     measures its memory, and it exports no allocator — nothing it does can leak heap memory, and nothing was tracked";

impl Opts {
    pub fn run(self) -> Result<i32> {
        let output = self.output.clone();
        let result = self.check();
        // No report: no empty file left where a CI step will look for one (the error is on stderr).
        if result.is_err()
            && let Some(path) = &output
            && std::fs::metadata(path).is_ok_and(|m| m.len() == 0)
        {
            let _ = std::fs::remove_file(path);
        }
        result
    }

    fn check(self) -> Result<i32> {
        // A report that cannot be written should say so before the guest runs, not after.
        if let Some(path) = &self.output {
            std::fs::write(path, b"").with_context(|| format!("cannot write the report to {}", path.display()))?;
        }
        let clock = wasmleak_host::Clock::new();
        // Bad suppressions or a bad baseline fail before the guest runs.
        let policy = self.policy.load()?;
        let m = load(&self.module)?;
        clock.lap("  load");
        let sym = self.debug.symbolizer(&m)?;
        clock.lap("  symbolizer");
        let found = match self.allocator.discover(&m, &sym) {
            Err(e @ wasmleak_instrument::Error::NoAllocator { .. }) if !wasmleak_instrument::has_heap(&m.bytes, &m.info) => {
                // A module with no heap at all runs, and says so: a program that never allocates cannot leak, and
                // failing it would fail a CI job on clean code.
                if !wasmleak_instrument::heapless(&m.bytes, &m.info, &sym) {
                    // Named throughout, the allocator's words among the names: it has one (a bump over a static array).
                    if wasmleak_instrument::names_every_function(&m.info, &sym) {
                        return Err(anyhow::Error::new(e).context(m.path.display().to_string()));
                    }
                    anyhow::bail!(
                        "{}: {e}; it never grows or measures its memory, so it may have no heap: a build with function \
                         names shows that (and runs)",
                        m.path.display()
                    )
                }
                wasmleak_instrument::Discovered::default()
            }
            found => found.with_context(|| format!("{}", m.path.display()))?,
        };
        // What discovery noticed (a module that never frees, say) goes into the report's notes.
        let (entry_points, discovery_notes) = (found.entry_points, found.notes);
        let shape_note = wasmleak_instrument::shape_note(&entry_points);
        if let Some(note) = &shape_note {
            eprintln!("wasmleak: {note}");
        }
        clock.lap("  discover");
        let mut options = instrument_options(&m, &sym, &entry_points, self.iteration.as_deref(), true, true)?;
        // Events buffered in the module unless every stack is to be walked (or none taken). A threaded module's
        // events go to the host one by one: its buffer would be per thread.
        let threaded = m.info.threaded();
        options.buffered = matches!(self.stacks, Stacks::Context) && !threaded;
        options.threads = threaded;
        options.waits = threaded;
        options.fused_free = threaded && options.contexts && options.checked_frees;
        let iteration = options.iteration;
        let instrumented = wasmleak_instrument::instrument_with(&m.bytes, &m.info, &entry_points, &options)
            .with_context(|| format!("instrumenting {}", m.path.display()))?;
        clock.lap("  instrument");
        // With a JSON report on stdout the guest's stdout goes to stderr, never into the JSON.
        let stdout = match (self.format, &self.output) {
            (Format::Json, None) => Stdout::ToStderr,
            _ => Stdout::Inherit,
        };
        let stacks = match self.stacks {
            Stacks::Context => StackMode::Contexts,
            Stacks::Walk => StackMode::Walk,
            Stacks::Off => StackMode::Off,
        };
        let mut cfg = self.guest.config(&self.module, stdout, stacks)?;
        if let Some(k) = self.snapshot_every {
            if k == 0 || (cfg.invoke.is_none() && iteration.is_none()) {
                anyhow::bail!(
                    "--snapshot-every K needs --invoke EXPORT (snapshots between calls) or --iteration FUNC (snapshots \
                     after returns of the function that runs one iteration of the program's loop), and K ≥ 1"
                );
            }
            cfg.snapshot_every = Some(k);
        }
        cfg.per_iteration = iteration.is_some();
        if let Some(ms) = self.snapshot_interval {
            if ms == 0 || cfg.invoke.is_some() {
                anyhow::bail!(
                    "--snapshot-interval MS is for a command (its one call has no other point to take snapshots at), \
                     and MS ≥ 1; with --invoke, take them between calls with --snapshot-every K"
                );
            }
            cfg.snapshot_interval = Some(std::time::Duration::from_millis(ms));
        }
        clock.lap("  run options");
        // A live line on a terminal for runs longer than 2 s (none in JSON mode, none when stderr is a file).
        let progress = (matches!(self.format, Format::Text) && std::io::stderr().is_terminal())
            .then(|| ProgressLine::start(std::sync::Arc::default()));
        cfg.progress = progress.as_ref().map(|p| p.counters.clone());
        // The report's symbols (DWARF line tables, names, statics) are read on another core while the guest
        // runs, not after it, and not while the compiler's threads have both cores.
        let (compiled, wait) = std::sync::mpsc::sync_channel(1);
        cfg.compiled = Some(compiled.clone());
        let statics = std::sync::Arc::new(std::sync::OnceLock::new());
        cfg.statics = Some(statics.clone());
        cfg.keep_memory = true;
        let outcome = std::thread::scope(|sc| {
            let sym = &sym;
            sc.spawn(move || {
                let _ = wait.recv();
                sym.prepare();
                let _ = statics.set(sym.statics().iter().map(|s| s.address..s.address + s.size).collect());
            });
            let outcome = tracked_run(&instrumented, &m.info, &cfg);
            let _ = compiled.try_send(());
            outcome
        });
        drop(progress);
        let mut outcome = outcome?;
        clock.lap("run");
        let module_name = self.module.display().to_string();
        // The snapshots take the states' bytes over (not copies); the last one's once the analysis has read them.
        let mut states = std::mem::take(&mut outcome.states);
        let last = states.pop().context("the run left no heap state")?;
        // The bytes of its blocks, when they were left in the guest's memory (not copied: `keep_memory`).
        let memory = if last.in_memory { Some(outcome.guest.memory().context("the guest's memory is gone")?) } else { None };
        // The analysis of the heap at the end needs no symbolized stacks: run it next to the symbolizing.
        // The pointer scan has both cores first: the snapshots wait for it.
        let (scanned, scan_done) = std::sync::mpsc::sync_channel(1);
        let (mut snaps, analysis) = std::thread::scope(|sc| {
            let analysis = sc.spawn(|| {
                let c = wasmleak_host::Clock::new();
                let clock = &c;
                // (Moved in: a panic before the scan ends drops the sender, and the snapshots go on.)
                let scanned = move || {
                    clock.lap("  (thread) pointer scan");
                    let _ = scanned.send(());
                };
                let a = last.analyze_sorted_scan_first(memory, scanned);
                c.lap("  (thread) analyze");
                a
            });
            let _ = scan_done.recv();
            let c = wasmleak_host::Clock::new();
            let mut taker = SnapshotTaker::new(&sym);
            c.lap("  symbolizer");
            let stacks = &outcome.model.stacks;
            let mut snaps: Vec<Snapshot> = states
                .iter_mut()
                .enumerate()
                .map(|(i, state)| {
                    let contents = std::mem::take(&mut state.contents);
                    taker.take_with(&module_name, i as u32 + 1, state, contents, stacks)
                })
                .collect();
            snaps.push(taker.take_with(&module_name, snaps.len() as u32 + 1, &last, Vec::new(), stacks));
            c.lap("  snapshots");
            (snaps, analysis.join().expect("the analysis thread panicked"))
        });
        let snap = snaps.last_mut().context("the run left no heap state")?;
        snap.contents = last.contents;
        // What is written out holds the blocks' bytes.
        if let Some(memory) = memory.filter(|_| self.save.is_some() || self.html.is_some() || self.heapsnapshot.is_some()) {
            snap.contents = Snapshot::capture_contents(&last.blocks, wasmleak_heap::Memory { bytes: memory }, &last.roots);
        }
        // The analysis' blocks are the heap state's, given the snapshot's stacks (both in address order) in place:
        // not a copy (300,000 blocks are 9.6 MB of fresh pages).
        let mut blocks = last.blocks;
        for (b, s) in blocks.iter_mut().zip(&snap.blocks) {
            b.stack = wasmleak_heap::StackId(s.stack);
        }
        let analysis = analysis.with_blocks(blocks);
        let snap = snaps.last().context("the run left no heap state")?;
        if let Some(dir) = &self.save {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
            for snap in &snaps {
                let path = dir.join(format!("{}.wlsnap", snap.index));
                std::fs::write(&path, snap.to_bytes()).with_context(|| format!("cannot write {}", path.display()))?;
            }
        }
        clock.lap("snapshots and analysis");
        let exit = report_exit(&outcome.exit);
        let mut notes = outcome.notes.clone();
        if !outcome.exit.completed() {
            notes.push(
                "the guest did not finish: blocks its unfinished calls held only in wasm locals (not in memory) cannot \
                 be seen, and count among the leaks"
                    .into(),
            );
        }
        notes.extend(shape_note);
        notes.extend(discovery_notes);
        if !entry_points.is_empty() {
            let names = sym.num_names() > 0;
            notes.extend(wasmleak_report::debug_info_note(sym.has_dwarf(), sym.dwarf_maps_code(), names).map(String::from));
        }
        let mut report = match memory {
            Some(memory) => build_in_memory(snap, memory, &analysis, exit, notes),
            None => build(snap, &analysis, exit, notes),
        };
        if entry_points.is_empty() {
            report.nothing_to_judge(NO_HEAP_NOTE);
        } else if wasmleak_instrument::allocator_known(&m.info, &entry_points) {
            report.allocator_named();
        }
        let mut missed_frees = report.frees_not_seen(if m.info.threaded() { 0 } else { outcome.model.reissued });
        if let Some(free) = &instrumented.empty_free {
            report.free_does_nothing(free);
            missed_frees = true;
        }
        clock.lap("  build");
        // With --iteration the last state is the heap at exit, after the program's own teardown (C++ static
        // destructors empty a global cache): judge growth on the states inside the loop when there are enough.
        let judged = if iteration.is_some() && snaps.len() > 3 { &snaps[..snaps.len() - 1] } else { &snaps[..] };
        report.apply_growth(&growth(judged), judged.len());
        if (iteration.is_some() || self.snapshot_every.is_some() || self.snapshot_interval.is_some()) && judged.len() < 3 {
            let returned = match &self.iteration {
                Some(f) => format!(" (--iteration {f} returned {} time{})", snap.iteration, if snap.iteration == 1 { "" } else { "s" }),
                None => String::new(),
            };
            let why = format!("{} heap state{} taken{returned}, where growth between snapshots needs 3", judged.len(), if judged.len() == 1 { " was" } else { "s were" });
            let sampled = snap.profile.samples.len() >= wasmleak_heap::MIN_SAMPLES;
            report.no_growth_verdict(&why, sampled, policy.fail_on.iter().any(|k| k == "growing"));
        }
        // Iterations are known (--invoke calls, --iteration returns): the event-clock rates per iteration too.
        if cfg.invoke.is_some() || iteration.is_some() {
            report.rates_per_iteration(snap.iteration);
        }
        if let Some(ms) = self.snapshot_interval {
            report.rates_per_interval(ms);
        }
        report.apply_policy(&policy);
        if let Some(path) = &self.heapsnapshot {
            write_file(path, |out| wasmleak_export::heapsnapshot::write(snap, &analysis, out))?;
        }
        if let Some(path) = &self.html {
            write_file(path, |out| wasmleak_export::html::write_series(&snaps, out))?;
        }
        let text = match self.format {
            Format::Json => to_json(&report) + "\n",
            Format::Text => to_text(
                &report,
                &TextOptions { show_reachable: self.show_reachable, profile_sites: self.profile.unwrap_or(0), ..TextOptions::default() },
            ),
        };
        match &self.output {
            Some(path) => std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?,
            None => print!("{text}"),
        }
        clock.lap("report");
        if !outcome.exit.completed() {
            eprintln!("wasmleak: the guest {} — the report covers what it did until then", outcome.exit);
        }
        // Findings decide first: a guest that traps after an invalid free still exits 1 (the trap is in the
        // report); 2 only when the run ended early and found nothing to report.
        let code = if missed_frees {
            eprintln!("wasmleak: no verdict: frees happened that were not seen (the report says why)");
            2
        } else if report.fails() {
            1
        } else if !outcome.exit.completed() {
            2
        } else if let wasmleak_host::Exit::Code(code) = outcome.exit
            && code != 0
        {
            // Nothing found, but the guest failed: its status passes through, as under LeakSanitizer (a cargo
            // runner must not turn a failing test run green).
            code
        } else if report.inconclusive_reason == Some(wasmleak_report::NO_GROWTH_VERDICT_REASON) {
            eprintln!("wasmleak: no verdict: --fail-on growing, and growth could not be judged (the report says why)");
            2
        } else if report.inconclusive.is_some() {
            let hooked: Vec<String> = entry_points.iter().map(|e| format!("{} (func {}) as {}", e.name, e.func, e.role)).collect();
            eprintln!("wasmleak: no allocator call was seen, so no verdict: the hooked entry points were {}", hooked.join(", "));
            2
        } else {
            0
        };
        // The process ends next: its memory goes back to the system whole, not block by block (300,000 live blocks
        // are ~60 MB of copies and tables, 2–4 ms to free).
        std::mem::forget((outcome, snaps, analysis, report, instrumented, sym, m));
        Ok(code)
    }
}

/// `wasmleak: 3.2 s, 1,234,567 allocator events, 12,345 live blocks (3.4 MiB), 2 snapshots` on stderr, redrawn
/// four times a second once the run has taken 2 s, and erased when it ends.
struct ProgressLine {
    counters: std::sync::Arc<wasmleak_host::Progress>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ProgressLine {
    fn start(counters: std::sync::Arc<wasmleak_host::Progress>) -> ProgressLine {
        use std::sync::atomic::Ordering::Relaxed;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (c, halt) = (counters.clone(), stop.clone());
        // WASMLEAK_PROGRESS_AFTER_MS: how long before the line appears (tests set 0).
        let after = std::env::var("WASMLEAK_PROGRESS_AFTER_MS").ok().and_then(|v| v.parse::<u128>().ok()).unwrap_or(2000);
        let thread = std::thread::spawn(move || {
            let start = std::time::Instant::now();
            let mut shown = false;
            while !halt.load(Relaxed) {
                std::thread::sleep(std::time::Duration::from_millis(50));
                let t = start.elapsed();
                if t.as_millis() < after || t.as_millis() % 250 >= 50 {
                    continue;
                }
                let line = progress_text(t.as_secs_f64(), c.events.load(Relaxed), c.live_blocks.load(Relaxed), c.live_bytes.load(Relaxed), c.snapshots.load(Relaxed));
                eprint!("\r{line}\x1b[K");
                shown = true;
            }
            if shown {
                eprint!("\r\x1b[K");
            }
        });
        ProgressLine { counters, stop, thread: Some(thread) }
    }
}

impl Drop for ProgressLine {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn progress_text(secs: f64, events: u64, blocks: u64, bytes: u64, snapshots: u64) -> String {
    use wasmleak_report::grouped;
    let mut s = format!("wasmleak: {secs:.1} s, {} allocator events, {} live blocks ({})", grouped(events), grouped(blocks), wasmleak_report::bytes(bytes));
    if snapshots > 0 {
        s.push_str(&format!(", {snapshots} snapshot{}", if snapshots == 1 { "" } else { "s" }));
    }
    s
}

fn report_exit(e: &Exit) -> wasmleak_report::Exit {
    let (status, code) = match e {
        Exit::Returned => ("returned", None),
        Exit::Code(c) => ("exited", Some(*c)),
        Exit::Trap(_) => ("trap", None),
        Exit::Timeout(_) => ("timeout", None),
        Exit::MemoryLimit { .. } => ("memory-limit", None),
    };
    wasmleak_report::Exit { status, code, message: e.to_string() }
}
