//! Differential fuzzing on real programs: the project's WASI fixtures (Rust, C and C++ built by real
//! toolchains, their real allocators), stripped of every custom section and changed by `wasm-mutate`'s
//! semantics-preserving mutations (peephole rewrites, code motion, added and removed functions and types, so
//! indices, code shapes and layouts move), then run as they are and as `wasmleak check` runs them — the
//! allocator found the way `check` finds it in a stripped module (by the shape of its code, confirmed by
//! experiments), instrumented (buffered hooks on even seeds, the JS runtime's fused frees on odd ones) — with
//! the same arguments, clocks and random numbers. Exit status, stdout, stderr and the main memory's bytes must
//! be the same: a hook on a function that is not the allocator, or a wrapper that changes what it wraps, shows
//! up here as a divergence. A mutant whose allocator is not found is counted (refusing is right when evidence is
//! missing), not compared.

use std::time::Duration;

use anyhow::{anyhow, Context as _, Result};
use wasmleak_host::embed::{self, HasTracker, Tracker};
use wasmleak_instrument::{Discovery, EntryPoint, InstrumentOptions, ModuleInfo, Overrides};
use wasmtime::{Linker, Module, Store, Trap};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{I32Exit, WasiCtxBuilder};

use crate::{Engines, Verdict};

/// The programs mutated: (fixture, arguments). Leak-free and leaking ones; none frees what it did not allocate
/// (an invalid free is skipped on purpose by the instrumented module, which would be a difference).
pub const PROGRAMS: &[(&str, &[u8], &[&str])] = &[
    ("rust_patterns", include_bytes!("../../../fixtures/wasm/rust_patterns.wasm"), &["rc_cycle", "3"]),
    ("rust_patterns", include_bytes!("../../../fixtures/wasm/rust_patterns.wasm"), &["cache", "3"]),
    ("rust_patterns", include_bytes!("../../../fixtures/wasm/rust_patterns.wasm"), &["alloc_heavy", "1"]),
    ("rust_patterns", include_bytes!("../../../fixtures/wasm/rust_patterns.wasm"), &["arc_weak", "3"]),
    ("c_patterns", include_bytes!("../../../fixtures/wasm/c_patterns.wasm"), &["list_lost", "3"]),
    ("c_patterns", include_bytes!("../../../fixtures/wasm/c_patterns.wasm"), &["calloc_realloc", "3"]),
    ("c_patterns", include_bytes!("../../../fixtures/wasm/c_patterns.wasm"), &["posix_memalign", "3"]),
    ("cpp_patterns", include_bytes!("../../../fixtures/wasm/cpp_patterns.wasm"), &["shared_ptr_cycle", "3"]),
    ("cpp_patterns", include_bytes!("../../../fixtures/wasm/cpp_patterns.wasm"), &["missing_dtor", "3"]),
    ("cpp_churn", include_bytes!("../../../fixtures/wasm/edge/cpp_churn.wasm"), &["5"]),
    ("rust_edge_o2", include_bytes!("../../../fixtures/wasm/edge/rust_edge_o2.wasm"), &[]),
    ("rust_edge_o0", include_bytes!("../../../fixtures/wasm/edge/rust_edge_o0.wasm"), &[]),
    ("rust_owner_dropped_o1", include_bytes!("../../../fixtures/wasm/edge/rust_owner_dropped_o1.wasm"), &[]),
    ("c_owner_freed_O2", include_bytes!("../../../fixtures/wasm/edge/c_owner_freed_O2.wasm"), &[]),
    ("cpp_members_O2", include_bytes!("../../../fixtures/wasm/edge/cpp_members_O2.wasm"), &[]),
    ("c_profile", include_bytes!("../../../fixtures/wasm/edge/c_profile.wasm"), &[]),
    ("lsan_use_globals_initialized", include_bytes!("../../../fixtures/wasm/edge/lsan_use_globals_initialized.wasm"), &[]),
];

/// Instructions the original may run (the fixtures need well under a tenth of it); the instrumented side gets
/// more, for its hooks.
const FUEL: u64 = 2_000_000_000;

struct Data {
    wasi: WasiP1Ctx,
    tracker: Option<Tracker>,
}

impl HasTracker for Data {
    fn tracker(&mut self) -> &mut Tracker {
        self.tracker.as_mut().expect("tracking until the end of the case")
    }
}

/// A clock that never moves: both sides read the same times.
struct Frozen;

impl wasmtime_wasi::HostWallClock for Frozen {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }
    fn now(&self) -> Duration {
        Duration::from_secs(1_700_000_000)
    }
}

impl wasmtime_wasi::HostMonotonicClock for Frozen {
    fn resolution(&self) -> u64 {
        1
    }
    fn now(&self) -> u64 {
        1_000_000
    }
}

/// What one side did: how it ended, what it wrote, and its memory at the end.
struct Run {
    end: String,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    memory: Vec<u8>,
    out_of_fuel: bool,
    /// Allocations and frees the tracked side saw.
    events: u64,
}

/// The mutant of case `seed`, stripped of custom sections, and its program's index in [`PROGRAMS`] (`None`
/// when wasm-mutate found nothing to change).
pub fn mutant(engines: &Engines, seed: u64) -> Option<(usize, Vec<u8>)> {
    let which = (seed % PROGRAMS.len() as u64) as usize;
    let mut bytes = strip(PROGRAMS[which].1).ok()?;
    // Several mutations in a row: one is often a single peephole rewrite.
    let rounds = 1 + seed / PROGRAMS.len() as u64 % 4;
    let mut mutated = 0;
    // Up to 16 tries: a mutator drawn at random often has nothing to change.
    for round in 0..16u64 {
        // (A mutator borrows its input: one per try.)
        let mut m = wasm_mutate::WasmMutate::default();
        m.seed(seed ^ round << 56).preserve_semantics(true).fuel(10_000);
        let next = m.run(&bytes).ok().and_then(|mut it| it.find_map(Result::ok));
        // wasm-mutate may add types of proposals this wasmtime leaves off (GC): such a mutation is dropped.
        if let Some(b) = next.filter(|b| wasmtime::Module::validate(&engines.original, b).is_ok()) {
            bytes = b;
            mutated += 1;
            if mutated == rounds {
                break;
            }
        }
    }
    (mutated > 0).then_some((which, bytes))
}

/// The module without its custom sections (names, DWARF, producers): what a stripped release build is.
pub fn strip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut out = wasm_encoder::Module::new();
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        if let Some((id, range)) = payload?.as_section()
            && id != 0
        {
            out.section(&wasm_encoder::RawSection { id, data: &bytes[range] });
        }
    }
    Ok(out.finish())
}

/// Run case `seed`: see the module's documentation.
pub fn run_mutant(engines: &Engines, seed: u64) -> Verdict {
    let Some((which, bytes)) = mutant(engines, seed) else {
        return Verdict::Skipped("wasm-mutate did not mutate the program");
    };
    let info = match ModuleInfo::parse(&bytes) {
        Ok(i) => i,
        Err(e) => return Verdict::Diverged(format!("the module reader refused a mutant: {e:#}")),
    };
    let found = match wasmleak_instrument::discover(&bytes, &info, &Default::default(), &Overrides::default(), &Discovery::default()) {
        Ok(f) if !f.entry_points.is_empty() => f,
        _ => return Verdict::Skipped("the allocator of the stripped mutant was not found (refused, nothing run)"),
    };
    compare(engines, which, &bytes, info, &found.entry_points, seed % 2 == 1)
}

/// Program `which` as `bytes`, run as it is and instrumented with `entry_points` (as the JS runtime instruments
/// when `js`, else as `check` does), compared.
pub fn compare(engines: &Engines, which: usize, bytes: &[u8], info: ModuleInfo, entry_points: &[EntryPoint], js: bool) -> Verdict {
    let (name, _, args) = PROGRAMS[which];
    let options = if js {
        InstrumentOptions { contexts: true, checked_frees: true, fused_free: true, ..Default::default() }
    } else {
        InstrumentOptions { buffered: true, contexts: true, checked_frees: true, ..Default::default() }
    };
    let instrumented = match wasmleak_instrument::instrument_with(bytes, &info, entry_points, &options) {
        Ok(i) => i,
        Err(e) => return Verdict::Diverged(format!("the instrumenter refused a module whose allocator it found: {e:#}")),
    };
    let plugin = embed::Plugin { instrumented, info };
    let both = || -> Result<Verdict> {
        let original = run(engines, bytes, args, None, FUEL)?;
        if original.out_of_fuel {
            return Ok(Verdict::Skipped("the mutant ran out of fuel"));
        }
        // wasm-mutate's rewrites are not always equivalent (seen: `x` → `x | x` where `x` is a call, so a malloc
        // wrapper called malloc twice and returned a garbage pointer, which the program later freed): a mutant
        // that does not do what its program does is not compared — instrumented, it would skip the invalid free
        // on purpose.
        let program = baseline(engines, which)?;
        if (&original.end, &original.stdout, &original.stderr) != (&program.end, &program.stdout, &program.stderr) {
            return Ok(Verdict::Skipped("wasm-mutate changed what the program does (a rewrite that was not equivalent)"));
        }
        let tracked = run(engines, &plugin.instrumented.bytes, args, Some(&plugin), FUEL * 4)?;
        if tracked.out_of_fuel {
            return Ok(Verdict::Diverged("the instrumented mutant ran out of 4× the original's fuel".into()));
        }
        Ok(match difference(&original, &tracked) {
            None => Verdict::Same { calls: 1, allocator_calls: tracked.events > 0 },
            Some(d) => Verdict::Diverged(format!("{name} {}: {d}", args.join(" "))),
        })
    };
    both().unwrap_or_else(|e| Verdict::Diverged(format!("{e:#}")))
}

/// How program `which` itself ends and what it writes (stripped, not mutated), once per program.
fn baseline(engines: &Engines, which: usize) -> Result<&'static Run> {
    static RUNS: [std::sync::OnceLock<Run>; PROGRAMS.len()] = [const { std::sync::OnceLock::new() }; PROGRAMS.len()];
    if let Some(r) = RUNS[which].get() {
        return Ok(r);
    }
    let r = run(engines, &strip(PROGRAMS[which].1)?, PROGRAMS[which].2, None, FUEL)?;
    Ok(RUNS[which].get_or_init(|| r))
}

fn difference(a: &Run, b: &Run) -> Option<String> {
    if a.end != b.end {
        return Some(format!("ended {} vs {}", a.end, b.end));
    }
    if a.stdout != b.stdout {
        return Some(format!("stdout {:?} vs {:?}", String::from_utf8_lossy(&a.stdout), String::from_utf8_lossy(&b.stdout)));
    }
    if a.stderr != b.stderr {
        return Some(format!("stderr {:?} vs {:?}", String::from_utf8_lossy(&a.stderr), String::from_utf8_lossy(&b.stderr)));
    }
    if a.memory.len() != b.memory.len() {
        return Some(format!("memory: {} vs {} bytes", a.memory.len(), b.memory.len()));
    }
    if a.memory != b.memory {
        let at = a.memory.iter().zip(&b.memory).position(|(x, y)| x != y).unwrap_or(0);
        return Some(format!("memory differs at {at:#x}: {:#04x} vs {:#04x}", a.memory[at], b.memory[at]));
    }
    None
}

/// One side: the WASI command `bytes` with `args`, tracked when `plugin` is given (its memory under that export).
fn run(engines: &Engines, bytes: &[u8], args: &[&str], plugin: Option<&embed::Plugin>, fuel: u64) -> Result<Run> {
    let engine = if plugin.is_some() { &engines.instrumented } else { &engines.original };
    let module = Module::new(engine, bytes).map_err(|e| anyhow!("compiling: {e:#}"))?;
    let (stdout, stderr) = (MemoryOutputPipe::new(1 << 20), MemoryOutputPipe::new(1 << 20));
    let mut b = WasiCtxBuilder::new();
    b.arg("program").args(args).stdout(stdout.clone()).stderr(stderr.clone());
    b.wall_clock(Frozen).monotonic_clock(Frozen);
    b.secure_random(<rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(7)).insecure_random_seed(7);
    let mut store = Store::new(engine, Data { wasi: b.build_p1(), tracker: plugin.map(Tracker::new) });
    store.set_fuel(fuel)?;
    let mut linker: Linker<Data> = Linker::new(engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |d: &mut Data| &mut d.wasi)?;
    if plugin.is_some() {
        embed::add_to_linker(&mut linker)?;
    }
    let instance = linker.instantiate(&mut store, &module).map_err(|e| anyhow!("instantiating: {e:#}"))?;
    let start = instance.get_typed_func::<(), ()>(&mut store, "_start").map_err(|e| anyhow!("a command's _start: {e:#}"))?;
    let (end, out_of_fuel) = match start.call(&mut store, ()) {
        Ok(()) => ("returned".to_string(), false),
        Err(e) => match (e.downcast_ref::<I32Exit>(), e.downcast_ref::<Trap>()) {
            (Some(exit), _) => (format!("exit {}", exit.0), false),
            (_, Some(trap)) => (format!("trap: {trap}"), *trap == Trap::OutOfFuel),
            _ => (format!("error: {e:#}"), false),
        },
    };
    let name = plugin.map_or("memory", |p| &p.instrumented.memory_export);
    let memory = instance.get_memory(&mut store, name).with_context(|| format!("no memory export {name}"))?.data(&store).to_vec();
    let events = match plugin {
        Some(_) => {
            let model = Tracker::finish(&mut store, |d: &mut Data| d.tracker.take().expect("present"));
            model.allocations + model.frees
        }
        None => 0,
    };
    drop(store);
    Ok(Run { end, stdout: stdout.contents().to_vec(), stderr: stderr.contents().to_vec(), memory, out_of_fuel, events })
}
