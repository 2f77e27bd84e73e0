//! wasi-threads: a module with shared memory that imports `wasi::thread-spawn` (Rust `wasm32-wasip1-threads`,
//! C with `-pthread` for `wasm32-wasi-threads`). Each thread is an instance of the module in a store of its own,
//! on an OS thread, sharing the imported memory; its globals (stack pointer, TLS base, calling-context id) are its
//! own. A tracked run's hooks pass one recorder between the threads (`events::Baton`), so the heap model sees every
//! thread's events in the order the allocator made them.
//!
//! The process is one: `proc_exit` or a trap on any thread ends it, and when the main thread ends the others are
//! stopped (an epoch interruption, at their next loop or call) before the heap is read. A thread blocked in
//! `memory.atomic.wait` cannot be interrupted, so the rewrite makes each wait a call of the host
//! (`InstrumentOptions::waits`), which waits in the module's place: at the end it wakes the waiting threads and
//! stops them there, their frames known (a thread pool's idle workers, a main thread joining the thread that
//! exited). A thread blocked in a WASI call (a sleep) is read while it waits (it writes nothing then).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use wasmtime::{
    Caller, Engine, Extern, ExternType, Linker, Module, SharedMemory, Store, Trap, UpdateDeadline, WaitResult, WasmBacktrace,
};
use wasmtime_wasi::I32Exit;

use crate::events::Baton;
use wasmleak_instrument::HOOK_MODULE;
use wasmleak_instrument::exit::Ending;
use crate::run::{Capturer, Exit, RunConfig, State};
use wasmleak_heap::HeapState;

/// The wasi-threads entry point every spawned thread calls: `wasi_thread_start(tid, start_arg)`.
const ENTRY: &str = "wasi_thread_start";
/// Thread ids are positive and below 2^29 (the wasi-threads ABI).
const MAX_TID: i32 = 0x1FFF_FFFF;
/// How long the main thread's end waits for the other threads to stop.
const GRACE: Duration = Duration::from_millis(500);
/// Taking a heap state while the threads run: when no more thread has parked for this long, the others are
/// blocked.
const PARK_IDLE: Duration = Duration::from_millis(2);
/// The part of a stopped thread's stack below its stack pointer that may still be live when its innermost frame is a
/// leaf that does not move the stack pointer (LLVM's wasm red zone); any other frame reserves what it uses.
const RED_ZONE: u32 = 128;

pub(crate) struct Threads {
    engine: Engine,
    module: Module,
    /// Every import of the module, the shared memory and `thread-spawn` included: set once they are all defined.
    linker: OnceLock<Linker<State>>,
    /// For each thread's WASI context (the same arguments, environment, directories and stdio).
    cfg: RunConfig,
    /// A tracked run's recorder.
    baton: OnceLock<Arc<Baton>>,
    memory: OnceLock<SharedMemory>,
    next_tid: AtomicI32,
    /// Spawned threads whose OS thread has not returned yet.
    running: Mutex<usize>,
    /// Spawned threads still there when the process ends: not ended on their own (running, blocked, stopped, or
    /// the one that ended the process). Their locals may hold blocks (`Recorder::held_by_threads`).
    alive: Mutex<HashSet<i32>>,
    ended: Condvar,
    stop: AtomicBool,
    /// The first end of the process a spawned thread caused (its proc_exit, or its trap).
    exit: Mutex<Option<Exit>>,
    /// Threads that were running wasm, or waiting in `memory.atomic.wait`, when they were stopped.
    interrupted: AtomicUsize,
    /// Of those, the ones stopped in a wait.
    woken: AtomicUsize,
    /// Threads waiting in `memory.atomic.wait` (through the wait hooks), and the address each waits on.
    waiting: Mutex<HashMap<i32, u64>>,
    /// By function of the instrumented module: a leaf that keeps a frame below the stack pointer
    /// (`exit::red_zone_leaves`), computed when the first thread stops.
    red_zone_leaves: OnceLock<Vec<bool>>,
    /// The threads that called exit() or were stopped where they were, how, and their frames then (function index,
    /// code offset), innermost first.
    stopped: Mutex<Vec<(i32, Ending, Vec<(u32, u32)>)>>,
    started: Instant,
    /// Whether the main thread (`_start`, the --invoke calls) is running.
    main_running: AtomicBool,
    /// A heap state being taken while the threads run: they park at their next epoch check.
    pause: Mutex<Pause>,
    paused: Condvar,
    /// Heap states taken during the run (a tracked run's `capturer` takes them, one at a time).
    scheduled: Mutex<Scheduled>,
    capturer: OnceLock<Capturer>,
    taking: Mutex<()>,
}

#[derive(Default)]
struct Pause {
    requested: bool,
    parked: usize,
}

/// Heap states taken during the run — at ticks of `--snapshot-interval`'s clock, or returns of the iteration
/// function — every `every`-th, at most `max` kept: past that every other one goes and the interval doubles.
struct Scheduled {
    count: u64,
    every: u64,
    max: usize,
    states: Vec<HeapState>,
}

/// Threads parked while this lives ([`Threads::pause_others`]).
pub(crate) struct Paused<'a>(&'a Threads);

impl Drop for Paused<'_> {
    fn drop(&mut self) {
        let mut p = self.0.pause.lock().unwrap_or_else(|e| e.into_inner());
        p.requested = false;
        self.0.paused.notify_all();
    }
}

/// What stopping the other threads found.
pub(crate) struct Stopped {
    /// Threads stopped where they were.
    pub interrupted: usize,
    /// Of those, the ones stopped while they waited (in `memory.atomic.wait`).
    pub woken: usize,
    /// Threads still blocked (in `memory.atomic.wait`, or a WASI call such as a sleep) after the grace period.
    pub blocked: usize,
}

impl Stopped {
    pub(crate) fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if self.interrupted > self.woken {
            notes.push(format!(
                "{} thread(s) were still running when the program ended and were stopped where they were before the \
                 heap was read",
                self.interrupted - self.woken
            ));
        }
        if self.woken > 0 {
            notes.push(format!(
                "{} thread(s) were waiting (on a lock, a condition or a join: `memory.atomic.wait`) when the program \
                 ended; each was woken and stopped there before the heap was read, and what it allocated is judged by \
                 the scan and by its frames then",
                self.woken
            ));
        }
        if self.blocked > 0 {
            notes.push(format!(
                "{} thread(s) were blocked (waiting on a lock or condition, or in a WASI call) when the heap was \
                 read; their stacks and thread-locals are scanned with the heap",
                self.blocked
            ));
        }
        notes
    }
}

impl Threads {
    pub(crate) fn new(engine: &Engine, module: &Module, cfg: &RunConfig) -> Arc<Threads> {
        Arc::new(Threads {
            engine: engine.clone(),
            module: module.clone(),
            linker: OnceLock::new(),
            cfg: cfg.clone(),
            baton: OnceLock::new(),
            memory: OnceLock::new(),
            next_tid: AtomicI32::new(1),
            running: Mutex::new(0),
            alive: Mutex::default(),
            ended: Condvar::new(),
            stop: AtomicBool::new(false),
            exit: Mutex::new(None),
            interrupted: AtomicUsize::new(0),
            woken: AtomicUsize::new(0),
            red_zone_leaves: OnceLock::new(),
            waiting: Mutex::default(),
            stopped: Mutex::default(),
            started: Instant::now(),
            main_running: AtomicBool::new(false),
            pause: Mutex::default(),
            paused: Condvar::new(),
            scheduled: Mutex::new(Scheduled {
                count: 0,
                every: if cfg.per_iteration { cfg.snapshot_every.unwrap_or(1).max(1) as u64 } else { 1 },
                max: cfg.max_snapshots,
                states: Vec::new(),
            }),
            capturer: OnceLock::new(),
            taking: Mutex::new(()),
        })
    }

    /// Define the module's shared memory and `wasi::thread-spawn` in `linker` (which has everything else by
    /// now), and keep a copy for the threads' instances. `baton`: a tracked run's recorder.
    pub(crate) fn link(self: &Arc<Self>, linker: &mut Linker<State>, store: &mut Store<State>, baton: Option<Arc<Baton>>) -> Result<()> {
        let mut memories = 0;
        for import in self.module.imports() {
            if let ExternType::Memory(ty) = import.ty() {
                if !ty.is_shared() {
                    bail!(
                        "the module imports memory {}::{} that is not shared, next to threads: wasmleak's host gives a \
                         threaded module one shared memory",
                        import.module(),
                        import.name()
                    );
                }
                let memory = SharedMemory::new(&self.engine, ty)?;
                linker.define(&mut *store, import.module(), import.name(), Extern::SharedMemory(memory.clone()))?;
                let _ = self.memory.set(memory);
                memories += 1;
            }
        }
        // A module that defines its shared memory can run, as one thread: only spawning needs it imported.
        let spawns = self.module.imports().any(|i| i.module() == "wasi" && i.name() == "thread-spawn");
        if memories == 0 && spawns {
            bail!(
                "{}: the module imports `wasi::thread-spawn` but defines its shared memory instead of importing it, so \
                 its threads could not share it (wasi-threads modules import `env::memory`: link with \
                 --import-memory --shared-memory)",
                self.cfg.program_name
            );
        }
        linker.func_wrap("wasi", "thread-spawn", |c: Caller<'_, State>, start_arg: i32| -> i32 {
            c.data().threads().map_or(-1, |t| t.spawn(start_arg))
        })?;
        let hook = |name: &str| self.module.imports().any(|i| i.module() == HOOK_MODULE && i.name() == name);
        if hook("wait32") {
            linker.func_wrap(HOOK_MODULE, "wait32", |mut c: Caller<'_, State>, at: i64, expected: i32, timeout: i64| {
                Threads::wait(&mut c, at, timeout, |m, at, d| m.atomic_wait32(at, expected as u32, d))
            })?;
        }
        if hook("wait64") {
            linker.func_wrap(HOOK_MODULE, "wait64", |mut c: Caller<'_, State>, at: i64, expected: i64, timeout: i64| {
                Threads::wait(&mut c, at, timeout, |m, at, d| m.atomic_wait64(at, expected as u64, d))
            })?;
        }
        if let Some(b) = baton {
            let _ = self.baton.set(b);
        }
        let _ = self.linker.set(linker.clone());
        Ok(())
    }

    /// `memory.atomic.wait32/64` in the module's place (the wait hooks): wait as the instruction does (`wait`), but
    /// stop the thread where it is when the process ends meanwhile ([`Threads::wake_waiting`] wakes it).
    fn wait(
        c: &mut Caller<'_, State>,
        at: i64,
        timeout: i64,
        wait: impl FnOnce(&SharedMemory, u64, Option<Duration>) -> Result<WaitResult, Trap>,
    ) -> wasmtime::Result<i32> {
        let memory = c.get_export(&format!("{HOOK_MODULE}:memory")).and_then(Extern::into_shared_memory);
        let (Some(memory), Some(threads)) = (memory, c.data().threads().cloned()) else {
            // Not shared: the instruction would trap.
            return Err(Trap::AtomicWaitNonSharedMemory.into());
        };
        let tid = c.data().tid;
        let at = at as u64;
        threads.waiting.lock().unwrap_or_else(|e| e.into_inner()).insert(tid, at);
        // Registered before the check, so a stop after it wakes this wait (`wake_waiting` runs again and again).
        let result = if threads.stop.load(SeqCst) {
            None
        } else {
            Some(wait(&memory, at, u64::try_from(timeout).ok().map(Duration::from_nanos)))
        };
        threads.waiting.lock().unwrap_or_else(|e| e.into_inner()).remove(&tid);
        // Woken while a heap state is being taken (the lock's holder let go just before it parked): park here, not
        // at the next epoch check a few instructions on, which may write what the state is reading.
        // (`at_tick` also says when the process is ending.)
        if matches!(threads.at_tick(), UpdateDeadline::Interrupt) {
            threads.woken.fetch_add(1, SeqCst);
            return Err(Trap::Interrupt.into());
        }
        Ok(match result.expect("waited unless stopped")? {
            WaitResult::Ok => 0,
            WaitResult::Mismatch => 1,
            WaitResult::TimedOut => 2,
        })
    }

    /// Wake every thread waiting through the wait hooks (they then stop: the process is ending).
    fn wake_waiting(&self) {
        let Some(memory) = self.memory.get() else { return };
        for &at in self.waiting.lock().unwrap_or_else(|e| e.into_inner()).values() {
            let _ = memory.atomic_notify(at, u32::MAX);
        }
    }

    /// `wasi::thread-spawn(start_arg)`: a new thread running `wasi_thread_start(tid, start_arg)`; its id, or a
    /// negative number when it cannot start.
    fn spawn(self: &Arc<Self>, start_arg: i32) -> i32 {
        let tid = self.next_tid.fetch_add(1, SeqCst);
        if tid > MAX_TID || self.stop.load(SeqCst) {
            return -1;
        }
        let Ok(state) = State::new(&self.cfg, None, self.baton.get().cloned(), Some(self.clone()), tid) else { return -1 };
        if let (Some(baton), Some(memory)) = (self.baton.get(), self.memory.get()) {
            let mut recorder = baton.take();
            recorder.hand_over(crate::run::shared_bytes(memory), start_arg as u32, tid);
            baton.give(recorder);
        }
        *self.running.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.alive.lock().unwrap_or_else(|e| e.into_inner()).insert(tid);
        let me = self.clone();
        let spawned = std::thread::Builder::new().name(format!("wasi-thread-{tid}")).spawn(move || {
            // A thread stopped where it was still counts as running: its locals may hold blocks.
            if !me.run(state, tid, start_arg) {
                me.alive.lock().unwrap_or_else(|e| e.into_inner()).remove(&tid);
            }
            *me.running.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
            me.ended.notify_all();
        });
        if spawned.is_err() {
            self.alive.lock().unwrap_or_else(|e| e.into_inner()).remove(&tid);
            *self.running.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
            return -1;
        }
        tid
    }

    /// Run the thread to its end; true when the process ended first (this thread ended it, or it was stopped).
    fn run(self: &Arc<Self>, state: State, tid: i32, start_arg: i32) -> bool {
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| s.limits());
        store.set_epoch_deadline(1);
        let me = self.clone();
        store.epoch_deadline_callback(move |_| Ok(me.at_tick()));
        let linker = self.linker.get().expect("linked before the module runs");
        let mut instance = None;
        let result = linker.instantiate(&mut store, &self.module).and_then(|i| {
            instance = Some(i);
            store.data_mut().set_instance(i);
            let entry = i.get_typed_func::<(i32, i32), ()>(&mut store, ENTRY)?;
            entry.call(&mut store, (tid, start_arg))
        });
        let e = match result {
            Ok(()) => {
                if let Some(i) = instance {
                    self.stack_ended(&mut store, &i, 0);
                }
                return false;
            }
            Err(e) => e,
        };
        // Where it was when it called exit() or was stopped: what its frames may hold in their locals is bounded as
        // at a single-threaded exit() (wasmleak_instrument's exit.rs), not all it allocated; below its stack
        // pointer (and the red zone) its stack is dead frames.
        let mut keep_frames = |ending: Ending| {
            if let Some(bt) = e.downcast_ref::<WasmBacktrace>() {
                let frames = crate::run::frames_of(bt);
                if let Some(i) = instance {
                    let margin = if self.innermost_is_red_zone_leaf(&frames) { RED_ZONE } else { 0 };
                    self.stack_ended(&mut store, &i, margin);
                }
                self.stopped.lock().unwrap_or_else(|e| e.into_inner()).push((tid, ending, frames));
            }
        };
        let exit = if let Some(code) = e.downcast_ref::<I32Exit>() {
            keep_frames(Ending::Exit);
            Exit::Code(code.0)
        } else if e.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
            if self.stop.load(SeqCst) {
                self.interrupted.fetch_add(1, SeqCst);
                keep_frames(Ending::Stopped { thread: tid });
                return true;
            }
            Exit::Timeout(self.cfg.timeout.unwrap_or_default())
        } else if let Some(trap) = e.downcast_ref::<Trap>() {
            Exit::Trap(format!("{trap} (on thread {tid})"))
        } else {
            Exit::Trap(format!("thread {tid} could not run: {e:#}"))
        };
        // The thread that ends the process is still there when the heap is read (its frames too).
        self.end_process(exit);
        true
    }

    /// A thread returned from its entry point: its stack pointer is back at the top of its stack, and what lies
    /// below in the block wasi-libc allocated for it is dead frames — stale pointers that made a block the thread
    /// leaked "reachable" while libc kept that block (a detached thread's, freed at the next `pthread_create`).
    /// A thread stopped where it was: the same below its stack pointer less `margin`.
    fn stack_ended(&self, store: &mut Store<State>, instance: &wasmtime::Instance, margin: u32) {
        let (Some(c), Some(baton)) = (self.capturer.get(), self.baton.get()) else { return };
        let Some(sp) = c.info.stack_pointer() else { return };
        let Some((_, name)) = c.instrumented.exported_globals.iter().find(|(g, _)| *g == sp) else { return };
        let Some(top) = instance.get_global(&mut *store, name).and_then(|g| g.get(&mut *store).i32()) else { return };
        let mut recorder = baton.take();
        recorder.stack_ended((top as u32).saturating_sub(margin));
        baton.give(recorder);
    }

    /// The --timeout passed: every thread stops, the waiting ones too.
    pub(crate) fn time_out(&self) {
        self.stop.store(true, SeqCst);
        self.engine.increment_epoch();
        self.wake_waiting();
    }

    /// Whether the innermost of a stopped thread's frames that is the module's own (not a wait function the rewrite
    /// added) may keep its frame below the stack pointer: the dead frames of a function it called just before it
    /// waited lie right there (a leak in a helper, then a lock: masking 128 bytes kept such leaks "reachable").
    fn innermost_is_red_zone_leaf(&self, frames: &[(u32, u32)]) -> bool {
        let Some(c) = self.capturer.get() else { return true };
        let Some(sp) = c.info.stack_pointer() else { return true };
        let leaves = self.red_zone_leaves.get_or_init(|| wasmleak_instrument::exit::red_zone_leaves(&c.instrumented.bytes, sp));
        let Some(&(f, _)) = frames.iter().find(|&&(f, _)| c.instrumented.map.original_func(f).is_some()) else { return false };
        leaves.get(f as usize).copied().unwrap_or(true)
    }

    /// A thread ended the process: the first such end is the run's; every other thread stops.
    fn end_process(&self, exit: Exit) {
        self.exit.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(exit);
        self.stop.store(true, SeqCst);
        self.engine.increment_epoch();
        self.wake_waiting();
    }

    pub(crate) fn memory(&self) -> Option<&SharedMemory> {
        self.memory.get()
    }

    /// Wait for the thread running the module's main (`_start`, or the --invoke calls) to end, and take back its
    /// store and result; `None` when another thread ended the process and the main thread did not stop within
    /// [`GRACE`] (blocked in `memory.atomic.wait`, joining that thread).
    pub(crate) fn wait_for_main<R>(&self, main: JoinHandle<R>) -> Option<R> {
        let mut ended_at = None;
        while !main.is_finished() {
            if self.exit().is_some() {
                let at = *ended_at.get_or_insert_with(Instant::now);
                if at.elapsed() >= GRACE {
                    return None;
                }
                self.engine.increment_epoch();
                self.wake_waiting();
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        Some(main.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
    }

    /// The end a spawned thread gave the process, if one did.
    pub(crate) fn exit(&self) -> Option<Exit> {
        self.exit.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// At an epoch check of any thread: stop (the process ended, or the --timeout passed), or park while a heap
    /// state is taken, or go on.
    pub(crate) fn at_tick(&self) -> UpdateDeadline {
        if self.should_stop() {
            return UpdateDeadline::Interrupt;
        }
        let mut p = self.pause.lock().unwrap_or_else(|e| e.into_inner());
        if p.requested {
            p.parked += 1;
            self.paused.notify_all();
            while p.requested {
                p = self.paused.wait(p).unwrap_or_else(|e| e.into_inner());
            }
            p.parked -= 1;
        }
        UpdateDeadline::Continue(1)
    }

    /// The threads that have not ended: the spawned ones, and the main thread (0) when `main` or it is running.
    pub(crate) fn running(&self, main: bool) -> HashSet<i32> {
        let mut threads = self.alive.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if main || self.main_running.load(SeqCst) {
            threads.insert(0);
        }
        threads
    }

    pub(crate) fn set_main_running(&self, running: bool) {
        self.main_running.store(running, SeqCst);
    }

    /// Another tick of `--snapshot-interval`'s clock (on the clock's own thread), or return of the iteration
    /// function (`from_wasm`: on a thread running the module, which does not park itself): when the schedule says
    /// so, the heap state with every other thread parked (see [`Threads::pause_others`]). Allocator events are
    /// complete at any epoch check (hooks are not interrupted); the main thread's stack is scanned whole and a
    /// worker's stack is a heap block.
    pub(crate) fn scheduled_state(&self, from_wasm: bool) {
        if self.stop.load(SeqCst) {
            return;
        }
        let (Some(capturer), Some(baton), Some(memory)) = (self.capturer.get(), self.baton.get(), self.memory.get()) else {
            return;
        };
        let n = {
            let mut t = self.scheduled.lock().unwrap_or_else(|e| e.into_inner());
            t.count += 1;
            if t.count % t.every != 0 {
                return;
            }
            t.count
        };
        // One state at a time: two threads returning from the iteration function at once take turns.
        let _taking = self.taking.lock().unwrap_or_else(|e| e.into_inner());
        let paused = self.pause_others(from_wasm);
        let mut recorder = baton.take();
        let state = capturer.capture_detached(&mut recorder, memory, n, &self.running(false), &HashSet::new());
        baton.give(recorder);
        drop(paused);
        let mut t = self.scheduled.lock().unwrap_or_else(|e| e.into_inner());
        // Another thread's state may have thinned the schedule while this one was taken (keep only what the
        // schedule now wants), or been taken first though its iteration came later (keep them in order).
        if n % t.every != 0 {
            return;
        }
        let at = t.states.partition_point(|s| s.iteration < n);
        t.states.insert(at, state);
        if t.max > 0 && t.states.len() > t.max {
            t.every *= 2;
            let every = t.every;
            t.states.retain(|s| s.iteration % every == 0);
        }
    }

    /// Park every thread running the module (but the caller, `from_wasm`) at its next epoch check, until the
    /// guard is dropped. A thread that does not park within [`PARK_IDLE`] of the last one is blocked (waiting on a
    /// lock or condition, or in a WASI call): it writes nothing meanwhile.
    pub(crate) fn pause_others(&self, from_wasm: bool) -> Paused<'_> {
        let mut p = self.pause.lock().unwrap_or_else(|e| e.into_inner());
        p.requested = true;
        let mut last_change = Instant::now();
        let mut seen = p.parked;
        loop {
            let running = *self.running.lock().unwrap_or_else(|e| e.into_inner()) + self.main_running.load(SeqCst) as usize;
            if p.parked + from_wasm as usize >= running || last_change.elapsed() >= PARK_IDLE {
                break;
            }
            self.engine.increment_epoch();
            p = self.paused.wait_timeout(p, Duration::from_micros(200)).unwrap_or_else(|e| e.into_inner()).0;
            if p.parked != seen {
                (seen, last_change) = (p.parked, Instant::now());
            }
        }
        Paused(self)
    }

    /// The heap states taken during the run, in order.
    /// The threads that called exit() or were stopped where they were, and their frames (see [`Threads::run`]).
    pub(crate) fn stopped_frames(&self) -> Vec<(i32, Ending, Vec<(u32, u32)>)> {
        self.stopped.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn take_scheduled(&self) -> Vec<HeapState> {
        std::mem::take(&mut self.scheduled.lock().unwrap_or_else(|e| e.into_inner()).states)
    }

    /// Clock ticks, or returns of the iteration function, so far.
    pub(crate) fn scheduled_count(&self) -> u64 {
        self.scheduled.lock().unwrap_or_else(|e| e.into_inner()).count
    }

    pub(crate) fn set_capturer(&self, capturer: Capturer) {
        let _ = self.capturer.set(capturer);
    }

    /// At an epoch tick: whether this thread stops (the process ended, or the --timeout passed).
    pub(crate) fn should_stop(&self) -> bool {
        if self.cfg.timeout.is_some_and(|t| self.started.elapsed() >= t) {
            self.stop.store(true, SeqCst);
        }
        self.stop.load(SeqCst)
    }

    /// The main thread has ended: stop the others and wait for them (at most [`GRACE`]).
    pub(crate) fn stop_all(&self) -> Stopped {
        self.stop.store(true, SeqCst);
        let deadline = Instant::now() + GRACE;
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        while *running > 0 {
            // Again and again: a store whose deadline was set after a tick waits for the next one, and a thread
            // may have started waiting just after the last wake.
            self.engine.increment_epoch();
            self.wake_waiting();
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            let wait = (deadline - now).min(Duration::from_millis(5));
            running = self.ended.wait_timeout(running, wait).unwrap_or_else(|e| e.into_inner()).0;
        }
        Stopped { interrupted: self.interrupted.load(SeqCst), woken: self.woken.load(SeqCst), blocked: *running }
    }
}
