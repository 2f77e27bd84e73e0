use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use wasmleak_heap::{HeapModel, HeapState, Memory, Roots, Snapshot, StackId, THREAD_HELD};
use wasmleak_instrument::{buffered, mask_link_time_words, Instrumented, ModuleInfo, HOOK_MODULE};
use wasmtime::{
    AsContextMut, Caller, Config, Engine, Extern, Instance, Linker, Module, ResourceLimiter, SharedMemory, Store, StoreContextMut, Trap, UpdateDeadline, Val,
    ValType, WasmBacktrace, WasmBacktraceDetails,
};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtxBuilder};

use wasmleak_instrument::exit::Ending;
use crate::events::{hooked, Baton, Event, HasRecorder, HeapNow, Recorded, Recorder};
use crate::threads::Threads;
use wasmleak_instrument::roots;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stdout {
    Inherit,
    /// Keep stdout free for a machine-readable report.
    ToStderr,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StackMode {
    /// Every event's stack, looked up by its calling-context id; the real stack is walked once per id (and
    /// for events of modules instrumented without contexts).
    Contexts,
    /// Walk the real stack at every event (slow; a cross-check of the context ids).
    Walk,
    /// No stacks at all.
    Off,
}

#[derive(Clone, Debug)]
pub struct Invoke {
    pub export: String,
    pub args: Vec<String>,
    pub repeat: u32,
}

#[derive(Clone, Debug)]
pub struct RunConfig {
    /// `argv[0]` as the guest sees it.
    pub program_name: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// (host directory, guest path)
    pub dirs: Vec<(PathBuf, String)>,
    pub invoke: Option<Invoke>,
    pub timeout: Option<Duration>,
    /// Largest linear memory the guest may grow to, in bytes.
    pub max_memory: Option<u64>,
    /// Imports the host does not provide trap when called instead of refusing the module.
    pub trap_unknown_imports: bool,
    pub stdout: Stdout,
    pub stacks: StackMode,
    pub max_frames: usize,
    /// With `invoke`: take a heap state every this many calls. With `per_iteration`: every this many
    /// iterations (1 when not set).
    pub snapshot_every: Option<u32>,
    /// A heap state every this often, wherever the guest is (an epoch interruption); for a command, whose one
    /// call into the module has no other point to take them at. States are numbered by ticks of this clock.
    pub snapshot_interval: Option<Duration>,
    /// Count iterations by the `wasmleak::iteration` hook (a module instrumented with `--iteration FUNC`:
    /// one call per return of FUNC) instead of `--invoke` calls, and take the heap states there, from inside
    /// the guest's own loop.
    pub per_iteration: bool,
    /// With `per_iteration`: keep at most this many states before the one at exit. When one more is taken,
    /// every other one is dropped and the interval doubles (the states stay at multiples of
    /// `snapshot_every`, evenly spaced), so a long loop costs a bounded number of heap copies.
    pub max_snapshots: usize,
    /// Live counters of a tracked run, for a progress line (`wasmleak check` on a terminal).
    pub progress: Option<Arc<Progress>>,
    /// Told (one `()`, when there is room) once the tracked module is compiled: work that can wait for a free
    /// core (the report's symbols) starts then, not beside the compiler's threads.
    pub compiled: Option<std::sync::mpsc::SyncSender<()>>,
    /// The module's static variables (DWARF), as address ranges, set while the guest runs (by the thread that reads
    /// the report's symbols): an allocator over one of them is not a root (`without_static_arena`).
    pub statics: Option<Arc<std::sync::OnceLock<Vec<std::ops::Range<u64>>>>>,
    /// The state at exit leaves its blocks' bytes in the guest's memory, which [`Finished::memory`] then reads,
    /// rather than copying them (`HeapState::in_memory`) — where they are all there to read: a single-threaded
    /// guest, no opaque block. `check`'s last state is analysed once, the run's memory still mapped.
    pub keep_memory: bool,
}

/// What a tracked run has done so far, updated as it goes (by the heap model's thread and at each heap state).
#[derive(Debug, Default)]
pub struct Progress {
    pub events: std::sync::atomic::AtomicU64,
    pub live_blocks: std::sync::atomic::AtomicU64,
    pub live_bytes: std::sync::atomic::AtomicU64,
    pub snapshots: std::sync::atomic::AtomicU64,
}

/// Default of [`RunConfig::max_snapshots`].
pub const MAX_ITERATION_SNAPSHOTS: usize = 32;

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            program_name: "main.wasm".into(),
            args: Vec::new(),
            env: Vec::new(),
            dirs: Vec::new(),
            invoke: None,
            timeout: None,
            max_memory: None,
            trap_unknown_imports: false,
            stdout: Stdout::Inherit,
            stacks: StackMode::Contexts,
            max_frames: 32,
            snapshot_every: None,
            snapshot_interval: None,
            per_iteration: false,
            max_snapshots: MAX_ITERATION_SNAPSHOTS,
            progress: None,
            compiled: None,
            statics: None,
            keep_memory: false,
        }
    }
}

/// How the guest ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Exit {
    /// `_start` or every invoked call returned normally.
    Returned,
    /// `proc_exit(code)`.
    Code(i32),
    Trap(String),
    Timeout(Duration),
    /// The guest asked to grow its memory past `--max-memory`.
    MemoryLimit { limit: u64, requested: u64 },
}

impl Exit {
    /// Whether the guest ran to an end of its own choosing (returned or exited).
    pub fn completed(&self) -> bool {
        matches!(self, Exit::Returned | Exit::Code(_))
    }
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exit::Returned => write!(f, "returned"),
            Exit::Code(c) => write!(f, "exited with status {c}"),
            Exit::Trap(t) => write!(f, "trapped: {t}"),
            Exit::Timeout(d) => write!(f, "ran longer than the --timeout of {:.1}s and was stopped", d.as_secs_f64()),
            Exit::MemoryLimit { limit, requested } => write!(
                f,
                "asked to grow linear memory to {requested} bytes, past the --max-memory limit of {limit} bytes, and was stopped"
            ),
        }
    }
}

/// Everything the analysis needs from a tracked run.
pub struct Outcome {
    pub exit: Exit,
    /// The heap model at the end (its `stacks` serve every state).
    pub model: HeapModel,
    /// The heap every `snapshot_every` iterations, then at the end (always last).
    pub states: Vec<HeapState>,
    /// The roots at the end.
    pub roots: Roots,
    /// Distinct calling contexts seen, and real stack walks done.
    pub contexts: usize,
    pub walks: u64,
    pub notes: Vec<String>,
    pub guest: Finished,
}

struct Limits {
    max: Option<u64>,
    denied: Option<u64>,
}

impl ResourceLimiter for Limits {
    fn memory_growing(&mut self, _current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        // The memories buffered hooks add are wasmleak's, not the guest's.
        let ours = [buffered::LIVE_MAX_PAGES, buffered::EVENTS_MAX_PAGES].map(|p| Some(p as usize * 65536));
        if ours.contains(&maximum) {
            return Ok(true);
        }
        if let Some(max) = self.max {
            if desired as u64 > max {
                self.denied = Some(desired as u64);
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, _desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(true)
    }
}

pub(crate) struct State {
    wasi: WasiP1Ctx,
    limits: Limits,
    recorder: Option<Recorder>,
    /// Values invoked exports returned: roots the host holds.
    host_values: Vec<(String, u64)>,
    /// Invoked calls that returned.
    completed: u64,
    states: Vec<HeapState>,
    /// The instance, once instantiated: the iteration hook takes heap states from inside a call.
    instance: Option<Instance>,
    /// Returns of the iteration function (`wasmleak::iteration` calls).
    iterations: u64,
    /// With `per_iteration`: when the iteration hook takes a heap state, and how.
    schedule: Option<Schedule>,
    /// With `snapshot_interval`: the clock's ticks so far, and how heap states are taken at them.
    timed: Option<(u64, Schedule)>,
    /// A threaded module's run: its threads, and the recorder they pass around (`recorder` holds it during a hook).
    threads: Option<Arc<Threads>>,
    baton: Option<Arc<Baton>>,
    /// The wasi-threads id of the thread this store runs (0: the main thread).
    pub(crate) tid: i32,
}

impl State {
    /// The state of a store that runs the module: the main thread's, or (`threads`) a spawned thread's.
    pub(crate) fn new(
        cfg: &RunConfig,
        recorder: Option<Recorder>,
        baton: Option<Arc<Baton>>,
        threads: Option<Arc<Threads>>,
        tid: i32,
    ) -> Result<State> {
        Ok(State {
            wasi: wasi_ctx(cfg)?,
            limits: Limits { max: cfg.max_memory, denied: None },
            recorder,
            host_values: Vec::new(),
            completed: 0,
            states: Vec::new(),
            instance: None,
            iterations: 0,
            schedule: None,
            timed: None,
            threads,
            baton,
            tid,
        })
    }

    pub(crate) fn limits(&mut self) -> &mut dyn ResourceLimiter {
        &mut self.limits
    }

    pub(crate) fn threads(&self) -> Option<&Arc<Threads>> {
        self.threads.as_ref()
    }

    pub(crate) fn set_instance(&mut self, instance: Instance) {
        self.instance = Some(instance);
    }
}

/// The guest's WASI view: its arguments, environment, directories and stdio. Each thread of a threaded module
/// gets one of its own, made the same way (wasmtime's WASI context cannot be shared between threads): stdio and
/// the --dir directories are the same for all, but a file one thread opens is not open in the others.
fn wasi_ctx(cfg: &RunConfig) -> Result<WasiP1Ctx> {
    let mut b = WasiCtxBuilder::new();
    b.arg(&cfg.program_name);
    for a in &cfg.args {
        b.arg(a);
    }
    for (k, v) in &cfg.env {
        b.env(k, v);
    }
    for (host, guest) in &cfg.dirs {
        b.preopened_dir(host, guest, FsPerms::ReadWrite)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("cannot open --dir {}", host.display()))?;
    }
    b.inherit_stdin();
    match cfg.stdout {
        Stdout::Inherit => b.stdout(std::io::stdout()),
        Stdout::ToStderr => b.stdout(std::io::stderr()),
    };
    b.stderr(std::io::stderr());
    Ok(b.build_p1())
}

/// When the iteration hook takes heap states: every `every` iterations, at most `max` kept (then every
/// other one goes and the interval doubles).
struct Schedule {
    every: u64,
    max: usize,
    capturer: Capturer,
}

impl Schedule {
    fn wants(&self, iteration: u64) -> bool {
        iteration % self.every == 0
    }

    /// Keep `states` (all taken by the hook, in order) within `max`.
    fn thin(&mut self, states: &mut Vec<HeapState>) {
        if self.max > 0 && states.len() > self.max {
            self.every *= 2;
            let every = self.every;
            states.retain(|s| s.iteration % every == 0);
        }
    }
}

/// What taking a heap state needs to know about the module.
#[derive(Clone)]
pub(crate) struct Capturer {
    pub(crate) info: Arc<ModuleInfo>,
    pub(crate) instrumented: Arc<Instrumented>,
    pub(crate) progress: Option<Arc<Progress>>,
    /// See [`RunConfig::statics`].
    pub(crate) statics: Option<Arc<std::sync::OnceLock<Vec<std::ops::Range<u64>>>>>,
    /// See [`RunConfig::keep_memory`].
    pub(crate) keep_memory: bool,
}

impl Capturer {
    /// The heap now. `store` is the Store between calls, or the Caller of a hook in the middle of one. `last`:
    /// the state at exit, which also names the freed owners of blocks (see `wasmleak_heap::owners`).
    /// `host_values`: numbers the host holds that may point into the module's memory (roots).
    pub(crate) fn capture<T: HasRecorder>(
        &self,
        mut store: impl AsContextMut<Data = T>,
        instance: Option<&Instance>,
        iteration: u64,
        last: bool,
        host_values: &[(String, u64)],
    ) -> HeapState {
        let mut cx = store.as_context_mut();
        let took = cx.data_mut().enter();
        // Freed owners (blocks freed while they held the addresses of live ones) are found from the first words
        // of each block at its free, which a threaded run does not read (another thread may be writing them);
        // what a freed block holds at the end is no evidence (a joined thread's stack keeps stale pointers).
        let threaded = self.info.threaded();
        let now = Recorder::query(&mut cx, last && !threaded);
        let thread_held = cx.data_mut().thread_held();
        if took {
            cx.data_mut().leave();
        }
        if let Some(p) = &self.progress {
            p.snapshots.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        let mut globals = Vec::new();
        let mut mem = None;
        let mut shared = None;
        if let Some(instance) = instance {
            for (idx, name) in &self.instrumented.exported_globals {
                if let Some(v) = instance.get_global(&mut cx, name).and_then(|g| g.get(&mut cx).i32()) {
                    globals.push((*idx, v as u32 as i64));
                }
            }
            mem = instance.get_memory(&mut cx, &self.instrumented.memory_export);
            if mem.is_none() {
                shared = instance.get_shared_memory(&mut cx, &self.instrumented.memory_export);
            }
        }
        let memory: &[u8] = match (&mem, &shared) {
            (Some(m), _) => m.data(&cx),
            (None, Some(m)) => shared_bytes(m),
            (None, None) => &[],
        };
        let keep = last && self.keep_memory && !threaded;
        self.build(now, &globals, memory, iteration, host_values, &thread_held, keep)
    }

    /// The heap now, when the thread that ran `_start` cannot be reached (it is blocked, waiting for a thread
    /// that ended the process): its globals are unknown, so the whole of its stack region is scanned (a root
    /// too many can only keep a block reachable, never make a live one lost).
    pub(crate) fn capture_detached(
        &self,
        recorder: &mut Recorder,
        memory: &SharedMemory,
        iteration: u64,
        running: &std::collections::HashSet<i32>,
        bounded: &std::collections::HashSet<i32>,
    ) -> HeapState {
        let now = recorder.ask(false);
        let thread_held = recorder.held_by_threads(running, bounded);
        let info = &self.info;
        let mut globals = Vec::new();
        if let Some(sp) = info.stack_pointer() {
            let top = info.globals.get(sp as usize).and_then(|g| g.init).unwrap_or(0) as u64;
            // rustc puts the stack first, clang after the data.
            let bottom = if top <= info.static_start() {
                0
            } else {
                info.const_global("__data_end").unwrap_or_else(|| info.static_segments_end())
            };
            globals.push((sp, bottom.min(top) as i64));
        }
        self.build(now, &globals, shared_bytes(memory), iteration, &[], &thread_held, false)
    }

    /// `thread_held`: blocks threads still running allocated, (address, thread): roots, as a wasm global is.
    fn build(
        &self,
        mut now: HeapNow,
        globals: &[(u32, i64)],
        memory: &[u8],
        iteration: u64,
        host_values: &[(String, u64)],
        thread_held: &[(u32, i32)],
        keep_memory: bool,
    ) -> HeapState {
        let mut roots = roots(
            &self.info,
            &self.instrumented,
            globals,
            host_values,
            now.lowest_block,
            memory.len() as u64,
        );
        // dlmalloc takes its memory from `sbrk` or `memory.grow`, never from a static array: no arena to look for
        // among the statics, and no waiting for them (flite's 118,780 took longer to read than its guest ran).
        if let Some(statics) = self.statics.as_ref().filter(|_| !self.instrumented.dlmalloc).and_then(|s| wait_for(s, Duration::from_secs(10))) {
            wasmleak_instrument::without_static_arena(&mut roots, statics, now.lowest_block);
        }
        roots.values.extend(thread_held.iter().map(|&(ptr, tid)| wasmleak_heap::RootValue {
            name: format!("thread {tid}, {THREAD_HELD}"),
            value: ptr as u64,
            host: false,
        }));
        let resized = if self.instrumented.dlmalloc { wasmleak_heap::chunk_sizes(&mut now.blocks, Memory { bytes: memory }) } else { 0 };
        let (mut regions, values) = Snapshot::capture_roots(Memory { bytes: memory }, &roots);
        mask_link_time_words(&self.info, &mut regions);
        // Left in memory only where the copy would be the same bytes: nothing zeroed (opaque blocks, dead stacks),
        // nothing past the end.
        let in_memory = keep_memory
            && roots.opaque.is_empty()
            && now.dead_stacks.is_empty()
            && now.blocks.iter().all(|b| b.addr.saturating_add(b.size) <= memory.len() as u64);
        let mut contents = Vec::new();
        if !in_memory {
            contents = Snapshot::capture_contents(&now.blocks, Memory { bytes: memory }, &roots);
            mask_dead_stacks(&now.blocks, &mut contents, &now.dead_stacks);
        }
        let owners = match &now.freed {
            Some(freed) => wasmleak_heap::owners(&now.blocks, freed, Memory { bytes: memory }, &roots),
            None => Vec::new(),
        };
        HeapState {
            owners,
            resized,
            iteration,
            blocks: now.blocks,
            allocations: now.allocations,
            frees: now.frees,
            invalid_frees: now.invalid_frees,
            profile: now.profile,
            roots,
            contents,
            in_memory,
            regions,
            values,
        }
    }
}

/// Zero, in the copied bytes of the blocks (`contents`, in block order), the dead frames of the threads that ended:
/// from the start of the block that held a thread's stack up to the stack's top. The memory itself is left as it
/// is.
fn mask_dead_stacks(blocks: &[wasmleak_heap::Block], contents: &mut [u8], dead: &[crate::events::DeadStack]) {
    if dead.is_empty() {
        return;
    }
    let mut at = Vec::with_capacity(blocks.len());
    let mut offset = 0usize;
    for b in blocks {
        at.push(offset);
        offset += b.size as usize;
    }
    for d in dead {
        let top = d.top as u64;
        let Some(i) = blocks.partition_point(|b| b.addr < top).checked_sub(1) else { continue };
        let b = &blocks[i];
        // The block that held the stack then: allocated before the thread ended, the top inside it.
        if b.seq >= d.seq || top > b.addr + b.size {
            continue;
        }
        let (from, len) = (at[i], (top - b.addr) as usize);
        if let Some(dead) = contents.get_mut(from..from + len) {
            dead.fill(0);
        }
    }
}

/// What another thread sets, once it has (the symbols' statics: read beside the guest, ready by its end); `None`
/// after `limit` (that thread failed).
fn wait_for<T>(cell: &std::sync::OnceLock<T>, limit: Duration) -> Option<&T> {
    let until = Instant::now() + limit;
    loop {
        if let Some(v) = cell.get() {
            return Some(v);
        }
        if Instant::now() >= until {
            return None;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A threaded module's memory as bytes.
pub(crate) fn shared_bytes(m: &SharedMemory) -> &[u8] {
    // SAFETY: a threaded module's heap is read when its other threads are stopped or blocked (writing nothing):
    // nothing changes the bytes while this slice lives.
    unsafe { std::slice::from_raw_parts(m.data().as_ptr() as *const u8, m.data().len()) }
}

impl HasRecorder for State {
    fn recorder(&mut self) -> &mut Recorder {
        self.recorder.as_mut().expect("hooks only exist in tracked runs")
    }

    fn enter(&mut self) -> bool {
        match &self.baton {
            Some(baton) if self.recorder.is_none() => {
                self.recorder = Some(baton.take());
                true
            }
            _ => false,
        }
    }

    fn leave(&mut self) {
        if let (Some(baton), Some(r)) = (&self.baton, self.recorder.take()) {
            baton.give(r);
        }
    }

    fn thread(&self) -> i32 {
        self.tid
    }

    fn thread_held(&mut self) -> Vec<(u32, i32)> {
        let Some(threads) = self.threads.clone() else { return Vec::new() };
        let bounded = threads.stopped_frames().into_iter().map(|(t, ..)| t).collect();
        self.recorder().held_by_threads(&threads.running(false), &bounded)
    }
}

/// `threaded`: the module has shared memory; its threads are stopped by epoch interruption.
fn engine(cfg: &RunConfig, threaded: bool) -> Result<Engine> {
    let mut c = Config::new();
    c.wasm_backtrace_details(WasmBacktraceDetails::Disable);
    c.wasm_backtrace_max_frames(std::num::NonZeroUsize::new(cfg.max_frames.max(1)));
    c.wasm_threads(threaded);
    c.shared_memory(threaded);
    c.epoch_interruption(cfg.timeout.is_some() || cfg.snapshot_interval.is_some() || threaded);
    // For profiling wasmleak itself: `WASMLEAK_PERFMAP=1 perf record …` names the JIT code's functions.
    if std::env::var_os("WASMLEAK_PERFMAP").is_some() {
        c.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    Ok(Engine::new(&c)?)
}

struct Pass {
    exit: Exit,
    /// When a single-threaded guest called `proc_exit`: the frames still running (instrumented function index,
    /// code offset), innermost first (`exit.rs`).
    exit_frames: Vec<(u32, u32)>,
    /// Threads that called exit() or were stopped where they were when another ended the process (0: the main
    /// thread), how, and their frames then.
    stopped: Vec<(i32, Ending, Vec<(u32, u32)>)>,
    recorded: Option<Recorded>,
    states: Vec<HeapState>,
    /// The last memory size `--max-memory` refused (bytes), when the guest went on without it.
    refused: Option<u64>,
    notes: Vec<String>,
    /// The guest's store, ended: dropped by whoever takes the pass ([`Finished`]).
    store: Option<Store<State>>,
    /// Its memory, when the state at exit left its blocks' bytes there (`HeapState::in_memory`).
    memory: Option<wasmtime::Memory>,
}

/// A run's guest, ended: its store (the linear memory; a tracked run's events ring), module and engine. Dropping
/// them unmaps their memory — a heap of 300,000 blocks took 4–14 ms — which `check` and `run`, about to exit, leave
/// to the process's end.
pub struct Finished {
    store: Option<Store<State>>,
    memory: Option<wasmtime::Memory>,
    _module: Module,
    _engine: Engine,
}

impl Finished {
    /// The guest's memory as it ended, when the state at exit left its blocks' bytes there
    /// ([`RunConfig::keep_memory`], `HeapState::in_memory`).
    pub fn memory(&self) -> Option<&[u8]> {
        Some(self.memory?.data(self.store.as_ref()?))
    }
}

/// The one run of the guest. `threaded`: the module has shared memory (wasi-threads).
fn run_pass(
    engine: &Engine,
    module: &Module,
    cfg: &RunConfig,
    recorder: Option<Recorder>,
    capturer: Option<Capturer>,
    threaded: bool,
) -> Result<Pass> {
    let threads = threaded.then(|| Threads::new(engine, module, cfg));
    let (recorder, baton) = match (recorder, &threads) {
        (Some(r), Some(_)) => (None, Some(Baton::new(r.for_threads()))),
        (r, _) => (r, None),
    };
    let mut state = State::new(cfg, recorder, baton.clone(), threads.clone(), 0)?;
    // A threaded run's heap states during the run are the threads' (`Threads::scheduled_state`).
    state.schedule = match &capturer {
        Some(c) if cfg.per_iteration && !threaded => Some(Schedule {
            every: cfg.snapshot_every.unwrap_or(1).max(1) as u64,
            max: cfg.max_snapshots,
            capturer: c.clone(),
        }),
        _ => None,
    };
    state.timed = match (&capturer, cfg.snapshot_interval) {
        (Some(c), Some(_)) if !threaded => Some((0, Schedule { every: 1, max: cfg.max_snapshots, capturer: c.clone() })),
        _ => None,
    };
    let mut store = Store::new(engine, state);
    store.limiter(|s| &mut s.limits);

    let mut linker: Linker<State> = Linker::new(engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |s: &mut State| &mut s.wasi)?;
    if capturer.is_some() {
        add_hooks(&mut linker)?;
        linker.func_wrap(HOOK_MODULE, "iteration", iteration_hook)?;
    }
    if let Some(t) = &threads {
        t.link(&mut linker, &mut store, baton.clone())?;
    }
    if cfg.trap_unknown_imports {
        linker.define_unknown_imports_as_traps(module)?;
    }
    check_imports(&linker, &mut store, module)?;

    // The epoch: a watchdog thread bumps it at the --timeout, which ends the run, and every
    // --snapshot-interval, when a heap state is taken (see `timed_state`).
    let started = Instant::now();
    store.set_epoch_deadline(1);
    match &threads {
        // Interrupted when a thread ends the process (proc_exit or a trap on another thread) or at the --timeout,
        // parked while a heap state is taken.
        Some(t) => {
            let t = t.clone();
            store.epoch_deadline_callback(move |_| Ok(t.at_tick()));
        }
        None if cfg.timeout.is_some() || cfg.snapshot_interval.is_some() => {
            let timeout = cfg.timeout;
            store.epoch_deadline_callback(move |mut cx| {
                if timeout.is_some_and(|t| started.elapsed() >= t) {
                    return Ok(UpdateDeadline::Interrupt);
                }
                timed_state(&mut cx);
                Ok(UpdateDeadline::Continue(1))
            });
        }
        None => {}
    }
    // A threaded run's heap states on the clock are taken on the clock's thread (the main thread may be blocked
    // for the whole run, joining its workers).
    if let (Some(t), Some(c)) = (&threads, &capturer) {
        t.set_capturer(c.clone());
    }
    let all_threads = threads.clone();
    let watchdog = (cfg.timeout.is_some() || cfg.snapshot_interval.is_some()).then(|| {
        let engine = engine.clone();
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let (timeout, tick) = (cfg.timeout, cfg.snapshot_interval);
        let handle = std::thread::spawn(move || loop {
            let wait = match (timeout.map(|t| t.saturating_sub(started.elapsed())), tick) {
                (Some(t), Some(k)) => t.min(k),
                (t, k) => t.or(k).unwrap_or_default(),
            };
            if rx.recv_timeout(wait) != Err(std::sync::mpsc::RecvTimeoutError::Timeout) {
                return; // the run ended
            }
            engine.increment_epoch();
            if timeout.is_some_and(|t| started.elapsed() >= t) {
                // Threads waiting (a deadlock) stop too, woken again and again until the run ends: one may start
                // waiting just after a wake.
                if let Some(threads) = &all_threads {
                    while rx.recv_timeout(Duration::from_millis(5)) == Err(std::sync::mpsc::RecvTimeoutError::Timeout) {
                        threads.time_out();
                    }
                }
                return;
            }
            if let Some(threads) = all_threads.as_ref().filter(|_| tick.is_some()) {
                threads.scheduled_state(false);
            }
        });
        (tx, handle)
    });

    let clock = crate::Clock::new();
    let (mut store, result) = match &threads {
        None => {
            let result = start(&mut store, &linker, module, cfg, capturer.as_ref());
            (store, result)
        }
        // The main thread runs on a thread of its own: when another thread ends the process, it may be blocked
        // for good (joining that thread), and the report must come all the same.
        Some(t) => {
            let (linker, module, main_cfg, main_capturer) = (linker.clone(), module.clone(), cfg.clone(), capturer.clone());
            let main = std::thread::Builder::new()
                .name("wasi-main".into())
                .spawn(move || {
                    let threads = store.data().threads.clone().expect("threaded");
                    threads.set_main_running(true);
                    let result = start(&mut store, &linker, &module, &main_cfg, main_capturer.as_ref());
                    threads.set_main_running(false);
                    (store, result)
                })
                .context("starting the guest's main thread")?;
            match t.wait_for_main(main) {
                Some(joined) => joined,
                None => return Ok(detached_pass(t, capturer.as_ref(), baton)),
            }
        }
    };
    let (mut exit_frames, mut stopped) = (Vec::new(), Vec::new());
    let (mut exit, instance) = match result {
        Ok(instance) => (Exit::Returned, Some(instance)),
        Err((e, instance)) => match threads.as_ref().and_then(|t| t.exit()) {
            // Another thread ended the process, and this one was interrupted: its frames still running may hold
            // blocks in their locals, as at an `exit()` of its own (they were judged lost, while the same blocks
            // were held when the thread was blocked instead, joining the one that ended the process).
            Some(exit) => {
                if let Some(bt) = e.downcast_ref::<WasmBacktrace>() {
                    stopped.push((0, Ending::Stopped { thread: 0 }, frames_of(bt)));
                }
                (exit, instance)
            }
            None => {
                let exit = classify_exit(&e, &store, cfg)?;
                // wasmtime gives the error of a host call (proc_exit's) the wasm frames it left.
                if let (Exit::Code(_), Some(bt)) = (&exit, e.downcast_ref::<WasmBacktrace>()) {
                    exit_frames = frames_of(bt);
                }
                (exit, instance)
            }
        },
    };
    // The process ends with its main thread: the others stop where they are before the heap is read.
    let mut notes = Vec::new();
    if let Some(t) = &threads {
        let stopped = t.stop_all();
        if let Some(first) = t.exit() {
            exit = first;
        }
        notes.extend(stopped.notes());
    }
    // The clock's thread ends before the heap at exit is read (a threaded run's last timed state comes first).
    if let Some((tx, handle)) = watchdog {
        drop(tx);
        let _ = handle.join();
    }
    let mut states = Vec::new();
    let mut kept = None;
    if let Some(c) = capturer {
        clock.lap("  the guest");
        let iteration = if let (Some(t), true) = (&threads, cfg.per_iteration) {
            t.scheduled_count()
        } else if cfg.per_iteration {
            store.data().iterations
        } else if let Some((ticks, _)) = &store.data().timed {
            ticks + 1
        } else if let (Some(t), Some(_)) = (&threads, cfg.snapshot_interval) {
            t.scheduled_count() + 1
        } else if cfg.invoke.is_some() {
            store.data().completed
        } else {
            exit.completed() as u64
        };
        let host_values = store.data().host_values.clone();
        let last = c.capture(&mut store, instance.as_ref(), iteration, true, &host_values);
        if last.in_memory {
            kept = instance.as_ref().and_then(|i| i.get_memory(&mut store, &c.instrumented.memory_export));
        }
        states = std::mem::take(&mut store.data_mut().states);
        if let Some(t) = &threads {
            states.extend(t.take_scheduled());
        }
        // The state at exit stands for the last iteration when none ran since the hook's state of it.
        if cfg.per_iteration && states.last().is_some_and(|s| s.iteration == iteration) {
            states.pop();
        }
        states.push(last);
        clock.lap("  the heap at exit");
    }
    store.data_mut().enter(); // a threaded run's recorder, for good: the other threads are stopped
    let recorded = match store.data().recorder {
        Some(_) => Some(Recorder::finish(&mut store, |s: &mut State| s.recorder.take().expect("checked"))),
        None => None,
    };
    if recorded.is_some() {
        clock.lap("  the heap model's thread finished");
    }
    let refused = store.data().limits.denied.filter(|_| !matches!(exit, Exit::MemoryLimit { .. }));
    if let Some(t) = &threads {
        stopped.extend(t.stopped_frames());
    }
    Ok(Pass { exit, exit_frames, stopped, recorded, states, refused, notes, store: Some(store), memory: kept })
}

/// The wasm frames of a backtrace, innermost first, as `exit.rs` reads them: (function index, code offset).
pub(crate) fn frames_of(bt: &WasmBacktrace) -> Vec<(u32, u32)> {
    bt.frames().iter().map(|f| (f.func_index(), f.module_offset().map_or(u32::MAX, |o| o as u32))).collect()
}

/// Instantiate the module and run it (`_start`, or the --invoke calls).
fn start(
    store: &mut Store<State>,
    linker: &Linker<State>,
    module: &Module,
    cfg: &RunConfig,
    capturer: Option<&Capturer>,
) -> std::result::Result<Instance, GuestError> {
    let instance = linker.instantiate(&mut *store, module).map_err(|e| (e, None))?;
    store.data_mut().instance = Some(instance);
    call_guest(store, &instance, cfg, capturer).map(|()| instance)
}

/// The end of a threaded run whose main thread stayed blocked after another thread ended the process: the heap
/// is read from the shared memory and the recorder, without the main thread's store.
fn detached_pass(threads: &Threads, capturer: Option<&Capturer>, baton: Option<Arc<Baton>>) -> Pass {
    let exit = threads.exit().expect("a thread ended the process");
    let mut notes = threads.stop_all().notes();
    notes.push(format!(
        "the program's main thread was blocked (waiting for another thread) when the process ended ({exit}); its \
         stack is scanned whole"
    ));
    let (mut states, mut recorded) = (Vec::new(), None);
    if let (Some(c), Some(baton), Some(memory)) = (capturer, baton, threads.memory()) {
        let mut recorder = baton.take();
        let bounded = threads.stopped_frames().into_iter().map(|(t, ..)| t).collect();
        states.push(c.capture_detached(&mut recorder, memory, exit.completed() as u64, &threads.running(true), &bounded));
        recorded = Some(recorder.finish_here());
    }
    Pass { exit, exit_frames: Vec::new(), stopped: threads.stopped_frames(), recorded, states, refused: None, notes, store: None, memory: None }
}

/// The `wasmleak` hook imports of an instrumented module (every kind `wasmleak_instrument` writes but the
/// iteration hook), feeding the recorder of the store's data.
pub(crate) fn add_hooks<T: HasRecorder>(linker: &mut Linker<T>) -> Result<()> {
    const NONE: StackId = StackId::NONE;
    let alloc = |ptr: i32, size: i32| Event::Alloc { ptr: ptr as u32, size: size as u32, stack: NONE };
    let free = |ptr: i32| Event::Free { ptr: ptr as u32, stack: NONE, head: None };
    let realloc =
        |old: i32, new: i32, size: i32| Event::Realloc { old: old as u32, new: new as u32, size: size as u32, stack: NONE };
    let ctx = |lo: i32, hi: i32| Some((hi as u32 as u64) << 32 | lo as u32 as u64);
    // The hooks of modules instrumented with calling contexts (`wasmleak instrument --contexts`, and
    // every module check runs), then the plain ones, whose events get a walked stack each.
    linker.func_wrap(HOOK_MODULE, "alloc_ctx", move |mut c: Caller<'_, T>, p: i32, n: i32, lo: i32, hi: i32| {
        hooked(&mut c, |c| Recorder::record(c, alloc(p, n), ctx(lo, hi)))
    })?;
    linker.func_wrap(HOOK_MODULE, "free_ctx", move |mut c: Caller<'_, T>, p: i32, lo: i32, hi: i32| {
        hooked(&mut c, |c| Recorder::record(c, free(p), ctx(lo, hi)))
    })?;
    linker.func_wrap(
        HOOK_MODULE,
        "realloc_ctx",
        move |mut c: Caller<'_, T>, old: i32, new: i32, n: i32, lo: i32, hi: i32| {
            hooked(&mut c, |c| Recorder::record(c, realloc(old, new, n), ctx(lo, hi)))
        },
    )?;
    linker.func_wrap(HOOK_MODULE, "alloc", move |mut c: Caller<'_, T>, p: i32, n: i32| {
        hooked(&mut c, |c| Recorder::record(c, alloc(p, n), None))
    })?;
    linker.func_wrap(HOOK_MODULE, "free", move |mut c: Caller<'_, T>, p: i32| hooked(&mut c, |c| Recorder::record(c, free(p), None)))?;
    linker.func_wrap(HOOK_MODULE, "realloc", move |mut c: Caller<'_, T>, old: i32, new: i32, n: i32| {
        hooked(&mut c, |c| Recorder::record(c, realloc(old, new, n), None))
    })?;
    // Buffered hooks: the module records its events itself (wasmleak_instrument::buffered).
    linker.func_wrap(HOOK_MODULE, "flush", |mut c: Caller<'_, T>| hooked(&mut c, |c| Recorder::flush_hook(c)))?;
    linker.func_wrap(HOOK_MODULE, "ctx_new", move |mut c: Caller<'_, T>, lo: i32, hi: i32| {
        hooked(&mut c, |c| Recorder::ctx_new(c, ctx(lo, hi).unwrap()))
    })?;
    linker.func_wrap(HOOK_MODULE, "verify", move |mut c: Caller<'_, T>, lo: i32, hi: i32, stack: i32| {
        hooked(&mut c, |c| Recorder::verify(c, ctx(lo, hi).unwrap(), stack as u32))
    })?;
    linker.func_wrap(HOOK_MODULE, "check", |mut c: Caller<'_, T>, ptr: i32| hooked(&mut c, |c| Recorder::check(c, ptr as u32)))?;
    linker.func_wrap(HOOK_MODULE, "split", |mut c: Caller<'_, T>, block: i32, header: i32, at: i32| {
        hooked(&mut c, |c| Recorder::split(c, block as u32, header as u32, at as u32))
    })?;
    // A checked free in one call (`InstrumentOptions::fused_free`, what the JS runtime uses): 1 when `ptr` was
    // a live block, freed now; 0 when not (the invalid free is recorded, the allocator skipped).
    linker.func_wrap(HOOK_MODULE, "free_check_ctx", move |mut c: Caller<'_, T>, p: i32, lo: i32, hi: i32| {
        hooked(&mut c, |c| {
            if Recorder::check(c, p as u32)? == 0 {
                return Ok(0);
            }
            Recorder::record(c, free(p), ctx(lo, hi))?;
            Ok(1)
        })
    })?;
    Ok(())
}

type GuestError = (wasmtime::Error, Option<Instance>);

/// A tick of `--snapshot-interval`'s clock (an epoch interruption, anywhere in the guest): a heap state when the
/// schedule says so, numbered by the tick. Allocator events are complete in the model at any such point: the
/// wrappers record an allocation after it returns and a free before it runs.
fn timed_state(cx: &mut StoreContextMut<'_, State>) {
    let data = cx.data_mut();
    let (Some(instance), Some((ticks, schedule))) = (data.instance, data.timed.as_mut()) else { return };
    *ticks += 1;
    let n = *ticks;
    if !schedule.wants(n) {
        return;
    }
    let capturer = schedule.capturer.clone();
    let host_values = cx.data().host_values.clone();
    let state = capturer.capture(&mut *cx, Some(&instance), n, false, &host_values);
    let data = cx.data_mut();
    data.states.push(state);
    if let Some((_, schedule)) = data.timed.as_mut() {
        schedule.thin(&mut data.states);
    }
}

/// `wasmleak::iteration`: one more return of the iteration function; a heap state when the schedule says so.
fn iteration_hook(mut c: Caller<'_, State>) -> wasmtime::Result<()> {
    // A threaded module's iterations are counted over all its threads; the others park for the state.
    if let Some(t) = c.data().threads.clone() {
        t.scheduled_state(true);
        return Ok(());
    }
    let data = c.data_mut();
    data.iterations += 1;
    let n = data.iterations;
    let Some(schedule) = data.schedule.as_ref().filter(|s| s.wants(n)) else { return Ok(()) };
    let capturer = schedule.capturer.clone();
    // Instantiation can run a start function before there is an instance to read memory from.
    let Some(instance) = data.instance else { return Ok(()) };
    let host_values = c.data().host_values.clone();
    let state = capturer.capture(&mut c, Some(&instance), n, false, &host_values);
    let data = c.data_mut();
    data.states.push(state);
    if let Some(schedule) = data.schedule.as_mut() {
        schedule.thin(&mut data.states);
    }
    Ok(())
}

fn call_guest(
    store: &mut Store<State>,
    instance: &Instance,
    cfg: &RunConfig,
    capturer: Option<&Capturer>,
) -> std::result::Result<(), GuestError> {
    let wrap = |e: wasmtime::Error| (e, Some(*instance));
    match &cfg.invoke {
        None => {
            let Some(start) = instance.get_func(&mut *store, "_start") else {
                let exports: Vec<String> = instance
                    .exports(&mut *store)
                    .filter(|e| matches!(e.clone().into_extern(), Extern::Func(_)))
                    .map(|e| e.name().to_string())
                    .take(20)
                    .collect();
                return Err(wrap(wasmtime::format_err!(
                    "the module has no `_start` export, so it is not a WASI command; call one of its exports with \
                     --invoke EXPORT (exported functions: {})",
                    if exports.is_empty() { "none".to_string() } else { exports.join(", ") }
                )));
            };
            store.set_epoch_deadline(1);
            start.call(&mut *store, &[], &mut []).map_err(wrap)
        }
        Some(inv) => {
            if let Some(init) = instance.get_func(&mut *store, "_initialize") {
                init.call(&mut *store, &[], &mut []).map_err(wrap)?;
            }
            let Some(func) = instance.get_func(&mut *store, &inv.export) else {
                let exports: Vec<String> = instance
                    .exports(&mut *store)
                    .filter(|e| matches!(e.clone().into_extern(), Extern::Func(_)))
                    .map(|e| e.name().to_string())
                    .filter(|n| !n.starts_with(HOOK_MODULE))
                    .collect();
                return Err(wrap(wasmtime::format_err!(
                    "--invoke {}: the module exports no function of that name (exported functions: {})",
                    inv.export,
                    exports.join(", ")
                )));
            };
            let ty = func.ty(&*store);
            let params: Vec<ValType> = ty.params().collect();
            if params.len() != inv.args.len() {
                return Err(wrap(wasmtime::format_err!(
                    "--invoke {} takes {} argument(s) ({}), {} given",
                    inv.export,
                    params.len(),
                    params.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(", "),
                    inv.args.len()
                )));
            }
            let args = params
                .iter()
                .zip(&inv.args)
                .map(|(t, a)| parse_arg(t, a))
                .collect::<Result<Vec<Val>>>()
                .map_err(|e| wrap(wasmtime::Error::from_anyhow(e)))?;
            let mut results = vec![Val::I32(0); ty.results().len()];
            for i in 1..=inv.repeat {
                func.call(&mut *store, &args, &mut results).map_err(wrap)?;
                let data = store.data_mut();
                data.completed = i as u64;
                for r in &results {
                    if let Some(v) = r.i32().filter(|&v| v != 0) {
                        data.host_values.push((format!("returned by {} (call {i})", inv.export), v as u32 as u64));
                    }
                }
                // The last state is taken after the run, whatever ends it.
                if let (Some(c), Some(k), false) = (capturer, cfg.snapshot_every, cfg.per_iteration) {
                    if i % k == 0 && i < inv.repeat {
                        let host_values = store.data().host_values.clone();
                        // Between two calls: a threaded module's other threads park while the heap is read.
                        let threads = store.data().threads.clone();
                        let paused = threads.as_ref().map(|t| t.pause_others(true));
                        let state = c.capture(&mut *store, Some(instance), i as u64, false, &host_values);
                        drop(paused);
                        store.data_mut().states.push(state);
                    }
                }
            }
            Ok(())
        }
    }
}

fn parse_arg(t: &ValType, a: &str) -> Result<Val> {
    Ok(match t {
        ValType::I32 => Val::I32(a.parse::<i64>().with_context(|| format!("`{a}` is not an i32"))? as i32),
        ValType::I64 => Val::I64(a.parse().with_context(|| format!("`{a}` is not an i64"))?),
        ValType::F32 => Val::F32(a.parse::<f32>().with_context(|| format!("`{a}` is not an f32"))?.to_bits()),
        ValType::F64 => Val::F64(a.parse::<f64>().with_context(|| format!("`{a}` is not an f64"))?.to_bits()),
        other => bail!("--invoke cannot pass a {other} argument"),
    })
}

fn classify_exit(e: &wasmtime::Error, store: &Store<State>, cfg: &RunConfig) -> Result<Exit> {
    if let Some(exit) = e.downcast_ref::<I32Exit>() {
        return Ok(Exit::Code(exit.0));
    }
    if let Some(requested) = store.data().limits.denied {
        return Ok(Exit::MemoryLimit { limit: cfg.max_memory.unwrap_or(0), requested });
    }
    if let Some(trap) = e.downcast_ref::<Trap>() {
        if *trap == Trap::Interrupt {
            return Ok(Exit::Timeout(cfg.timeout.unwrap_or_default()));
        }
        return Ok(Exit::Trap(trap.to_string()));
    }
    // A call of an import `--trap-unknown-imports` stood in for: the guest's own doing, as a trap is.
    if cfg.trap_unknown_imports
        && let Some(why) = e.chain().map(|c| c.to_string()).find(|m| m.starts_with("unknown import:"))
    {
        return Ok(Exit::Trap(why));
    }
    // Not a guest event: instantiation failures, bad --invoke, host errors.
    Err(anyhow!("{e:#}"))
}

/// Every import must be something this host provides: name the ones it does not.
fn check_imports(linker: &Linker<State>, store: &mut Store<State>, module: &Module) -> Result<()> {
    let missing: Vec<String> = module
        .imports()
        .filter(|i| linker.get_by_import(&mut *store, i).is_none())
        .map(|i| format!("{}::{}", i.module(), i.name()))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    // wasi-libc's emulations, which a link must ask for: a Rust crate's C (zstd's) calling `clock()` leaves
    // `env::clock` undefined (crates survey).
    let emulation = |m: &str| match m {
        "env::clock" | "env::times" | "env::getrusage" => Some("process-clocks"),
        "env::getpid" => Some("getpid"),
        "env::signal" | "env::raise" | "env::sigaction" => Some("signal"),
        "env::mmap" | "env::munmap" | "env::mprotect" | "env::msync" | "env::madvise" => Some("mman"),
        _ => None,
    };
    let emulated: Option<String> = missing.iter().find_map(|m| emulation(m)).map(|lib| {
        format!(
            "`{}` is a wasi-libc emulation the link did not include: link it (/usr/lib/wasm32-wasi/libwasi-emulated-{lib}.a, \
             `-lwasi-emulated-{lib}`; from Rust, RUSTFLAGS=\"-C link-arg=…\"), then check the module again. Otherwise",
            missing.iter().find(|m| emulation(m).is_some()).map_or("", |m| m.as_str())
        )
    });
    let hint = if missing.iter().any(|m| m.starts_with("__wbindgen") || m.contains("_bg.js") || m.starts_with("wbg::")) {
        "It looks like a wasm-bindgen module, which needs its JavaScript glue"
    } else if let Some(emulated) = &emulated {
        emulated.as_str()
    } else if missing.iter().any(|m| m.starts_with("env::")) {
        "Imports from `env` usually come from JavaScript glue (Emscripten) or a host API"
    } else {
        "A module with imports other than WASI's usually runs with JavaScript glue (Emscripten minifies them to `a::a`, `a::b`, …)"
    };
    const SHOWN: usize = 12;
    let list = if missing.len() > SHOWN {
        format!("{}, … ({} in all)", missing[..SHOWN].join(", "), missing.len())
    } else {
        missing.join(", ")
    };
    bail!(
        "the module imports {} that wasmleak's host does not provide (it provides wasi_snapshot_preview1): {list}. \
         {hint}: run the app under Node with `wasmleak node app.mjs`, or serve a web app with `wasmleak serve DIR` \
         (or, if the program never calls them, --trap-unknown-imports).",
        if missing.len() == 1 { "a function" } else { "functions" },
    )
}

/// A compile error of the module wasmleak gives the engine. A module using a WebAssembly feature this host
/// does not enable (reference types / GC: wasm-bindgen's `externref`) fails before and after instrumenting
/// alike, so it is not wasmleak's bug; anything else is.
fn compile_error(e: wasmtime::Error, instrumented: bool) -> anyhow::Error {
    let text = format!("{e:#}");
    if text.contains("disallowed") || text.contains("requires") && text.contains("proposal") {
        anyhow!(
            "the module does not compile here: {text}. wasmleak's wasmtime host does not enable that WebAssembly \
             feature (wasm-bindgen output uses externref); such modules run with their JavaScript glue: \
             `wasmleak node app.mjs` or `wasmleak serve DIR`"
        )
    } else if instrumented {
        anyhow!("the instrumented module does not compile (a wasmleak bug): {text}")
    } else {
        anyhow!("the module does not compile: {text}")
    }
}

/// For profiling wasmleak itself: `WASMLEAK_DUMPCODE=FILE` writes the compiled module (an ELF file: `objdump -d`
/// shows the machine code of each wasm function, which `WASMLEAK_PERFMAP` samples can be matched against).
fn dump_code(module: &Module) -> Result<()> {
    if let Some(path) = std::env::var_os("WASMLEAK_DUMPCODE") {
        std::fs::write(path, module.serialize()?)?;
    }
    Ok(())
}

/// Run the module as is, with nothing tracked (`wasmleak run`): how it ended, and the guest to drop (or not: see
/// [`Finished`]).
pub fn plain_run(module_bytes: &[u8], cfg: &RunConfig) -> Result<(Exit, Finished)> {
    let clock = crate::Clock::new();
    let threaded = ModuleInfo::parse(module_bytes).is_ok_and(|i| i.threaded());
    let engine = engine(cfg, threaded)?;
    let module = Module::new(&engine, module_bytes).map_err(|e| compile_error(e, false))?;
    dump_code(&module)?;
    clock.lap("compile");
    let pass = run_pass(&engine, &module, cfg, None, None, threaded)?;
    clock.lap("the guest");
    Ok((pass.exit, Finished { store: pass.store, memory: pass.memory, _module: module, _engine: engine }))
}

/// Run the instrumented module once, track every allocation with its stack, and gather the heap at the end.
pub fn tracked_run(instrumented: &Instrumented, info: &ModuleInfo, cfg: &RunConfig) -> Result<Outcome> {
    let clock = crate::Clock::new();
    let threaded = info.threaded();
    let engine = engine(cfg, threaded)?;
    let module = Module::new(&engine, &instrumented.bytes).map_err(|e| compile_error(e, true))?;
    dump_code(&module)?;
    clock.lap("  compile the instrumented module");
    if let Some(compiled) = &cfg.compiled {
        let _ = compiled.try_send(());
    }
    let mut recorder = Recorder::new(cfg.stacks, Arc::new(instrumented.map.clone()), instrumented.memory_export.clone(), cfg.progress.clone());
    recorder.follow_splits(instrumented, info);
    let capturer =
        Capturer {
            info: Arc::new(info.clone()),
            // A threaded run's heap states read the code (`Threads`: the red zone's leaf functions).
            instrumented: Arc::new(if threaded { instrumented.clone() } else { instrumented.without_bytes() }),
            progress: cfg.progress.clone(),
            statics: cfg.statics.clone(),
            keep_memory: cfg.keep_memory,
        };
    let pass = run_pass(&engine, &module, cfg, Some(recorder), Some(capturer), threaded)?;
    let Recorded { model, contexts, walks, collisions } = pass.recorded.expect("a tracked run records");
    let mut notes = pass.notes;
    let mut states = pass.states;
    if let Some(last) = states.last_mut() {
        use wasmleak_instrument::exit::held_at_exit;
        let ended = (!pass.exit_frames.is_empty()).then_some((Ending::Exit, &pass.exit_frames[..]));
        let stopped = pass.stopped.iter().map(|(_, ending, frames)| (*ending, &frames[..]));
        let endings: Vec<(Ending, &[(u32, u32)])> = ended.into_iter().chain(stopped).collect();
        if !endings.is_empty() {
            let memory = pass.memory.zip(pass.store.as_ref()).map(|(m, store)| m.data(store));
            notes.extend(held_at_exit(last, memory, &endings, &model.stacks, instrumented, info, &instrumented.bytes));
        }
    }
    let held = states.last().map_or(0, |s| s.roots.values.iter().filter(|v| v.name.ends_with(THREAD_HELD) && v.name.starts_with("thread ")).count());
    if held > 0 {
        notes.push(format!(
            "{held} block(s) handed at start to threads still running at the end (what pthread's argument or Rust's spawn \
             closure reaches), or allocated by such a thread whose frames are unknown (blocked in a WASI call), are \
             roots, so none of them is called lost: a thread may hold them in its local variables, which cannot be read \
             (they are \"held by thread N\" in the report and in `why`); a leak such a blocked thread made is not \
             reported until it ends"
        ));
    }
    if threaded && states.len() > 1 {
        notes.push(
            "the snapshots during the run were taken with every thread parked where it was; in each, what the threads \
             running then allocated or were handed at start counts as held by them (their local variables cannot be \
             read)"
                .into(),
        );
    }
    if let Some(bytes) = pass.refused {
        notes.push(format!(
            "--max-memory refused to grow the memory to {bytes} bytes, and the guest went on (its allocator returned \
             NULL, or it used less): the run is what the program does when memory runs out"
        ));
    }
    if let Some(n) = states.last().map(|s| s.resized).filter(|&n| n > 0) {
        notes.push(wasmleak_heap::resized_note(n));
    }
    if collisions > 0 {
        notes.push(format!(
            "{collisions} calling-context id(s) stood for more than one call stack (a 64-bit hash collision); their \
             stacks were walked at every event from then on, and a few events before may show the other stack"
        ));
    }
    if std::env::var_os("WASMLEAK_STATS").is_some() {
        eprintln!(
            "wasmleak: {contexts} calling contexts, {walks} stack walks, {} events; {} functions keep the id, {} free call edges",
            model.seq, instrumented.context_functions, instrumented.free_edges
        );
        let live = model.live_count().max(1);
        let bytes = model.memory_bytes();
        eprintln!(
            "wasmleak: tracker memory {bytes} bytes for {} live blocks ({:.1} B per live block; {} stacks)",
            model.live_count(),
            bytes as f64 / live as f64,
            model.stacks.len()
        );
    }
    let roots = states.last().map(|s| s.roots.clone()).unwrap_or_default();
    let guest = Finished { store: pass.store, memory: pass.memory, _module: module, _engine: engine };
    Ok(Outcome { exit: pass.exit, model, states, roots, contexts, walks, notes, guest })
}
