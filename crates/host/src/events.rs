//! The hook side of a tracked run. A hook does as little as it can on the guest's thread — look the event's
//! stack up by calling-context id (walking the real stack only for an id not seen before), append to a batch —
//! and a worker thread applies the batches to the heap model on the other core. Allocation-heavy guests fire
//! an allocator event every ~20 ns, faster than a host call: with buffered hooks (`wasmleak_instrument::buffered`)
//! the module records its events itself, into a ring of segments, and the host hands full segments to the worker,
//! which reads them where they are (copying them out cost ~5% of an allocation-heavy run).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::mpsc::{channel, sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use wasmleak_heap::{AllocProfile, Block, Freed, HeapModel, HEAD_WORDS, InvalidFree, LiveSet, RawFrame, StackId, StackTable};
use wasmleak_instrument::buffered::{
    self, CAPACITY, COUNT_EXPORT, EVENTS_EXPORT, FREE_MORE, FREE_RAW, FREE_RECORD, LIMIT_EXPORT, LIVE_EXPORT, MASK_EXPORT, RECORD,
    RING_SEGMENTS, TABLE_BASE, TABLE_BASE_BEFORE_RING,
};
use wasmleak_instrument::{CodeMap, Instrumented, ModuleInfo};
use wasmtime::{AsContextMut, Caller, Global, Memory, Val};

use crate::run::StackMode;
use crate::stacks::capture;

/// One in this many context lookups also walks the real stack and compares: two call chains whose ids
/// collide (~2⁻⁶⁴ a pair) are found, and their id is walked every time from then on.
const VERIFY_EVERY: u32 = buffered::VERIFY_EVERY;
/// A buffered module's context is verified at one flush of its buffer in this many (every 65,536 events at most).
const VERIFY_FLUSHES: u32 = buffered::VERIFY_EVERY / buffered::CAPACITY;

/// In the module's context table: an id that stands for more than one stack.
const AMBIGUOUS: u32 = u32::MAX;

/// Context ids are already hashes: the identity is a fine hash for them.
#[derive(Default, Clone, Copy)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ b as u64;
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum Event {
    Alloc { ptr: u32, size: u32, stack: StackId },
    /// `head`: the block's first words before the allocator ran, when it was a live block.
    Free { ptr: u32, stack: StackId, head: Option<[u32; HEAD_WORDS]> },
    Realloc { old: u32, new: u32, size: u32, stack: StackId },
    /// The live block at `from` is at `to` now, `size` bytes: the allocator split it (`HeapModel::moved`).
    Moved { from: u32, to: u32, size: u32 },
    /// A thread of a threaded module returned from its entry point, its stack pointer back at `top`: the frames
    /// below it in the heap block that holds its stack (wasi-libc's pthreads allocate thread stacks) are dead.
    StackEnded { top: u32 },
}

const BATCH: usize = 16 * 1024;
/// Records drained from a module without a ring (instrumented before it) are copied, and sent to the model thread
/// in batches of up to this many bytes (64 module buffers), or
/// after [`RECORDS_DELAY`]: the model thread sleeps between batches (it is faster than the guest), and each send
/// to a sleeping thread wakes it, a futex call — ~8 µs here, 3.5% of an allocation-heavy run when every full
/// buffer was sent.
const RECORDS_BATCH: usize = 64 * (buffered::CAPACITY * RECORD) as usize;
/// Events reach the model within this much of the drain that read them (the model stamps growth samples with the
/// time it gets them).
const RECORDS_DELAY: std::time::Duration = std::time::Duration::from_millis(2);
/// A module with a ring: full segments are sent to the model this many at a time (or after [`RECORDS_DELAY`]),
/// 2 MiB of records, a quarter of the ring.
const RING_SEND: usize = (RING_SEGMENTS / 4) as usize;

enum Msg {
    Batch(Vec<Event>),
    /// A drained buffer of the module's own records, as the module wrote them (16 bytes each, little-endian
    /// `old, new, size, stack`), applied as `realloc`.
    Records(Vec<u8>),
    /// Full segments of a module's ring, `(address, bytes)` in the events memory, applied where they lie; the
    /// model then tells the host how many it is done with (`Ring::released`).
    Ring(Vec<(usize, usize)>),
    /// Reply with the live heap once every earlier batch is applied; with what is known of freed blocks when
    /// asked (it sorts every address ever allocated: for the last heap state).
    Query(SyncSender<HeapNow>, bool),
}

/// Apply a buffer of the module's records (buffered.rs; docs/contracts.md, "Buffered events").
fn apply_records(model: &mut HeapModel, buffer: &[u8]) {
    let word = |b: &[u8], k: usize| u32::from_le_bytes(b[4 * k..4 * k + 4].try_into().unwrap()) as u64;
    let mut records = buffer.chunks_exact(RECORD as usize);
    while let Some(r) = records.next() {
        let stack = word(r, 3) as u32;
        if stack & FREE_RECORD == 0 {
            model.realloc(word(r, 0), word(r, 1), word(r, 2), StackId(stack));
            continue;
        }
        // A free with its block's first words: as they were (FREE_RAW; the model keeps those that hold a live
        // block's address) or, from modules instrumented before that, only those, as `address | word index`, two
        // more in a second record (either way in one buffer).
        let mut head = [0u32; HEAD_WORDS];
        if stack & FREE_RAW != 0 {
            let more = records.next().unwrap_or(&[0; RECORD as usize]);
            head = [word(r, 1), word(r, 2), word(more, 0), word(more, 1)].map(|w| w as u32);
        } else {
            let more = if stack & FREE_MORE != 0 { records.next() } else { None };
            let more = more.unwrap_or(&[0; RECORD as usize]);
            for v in [word(r, 1), word(r, 2), word(more, 0), word(more, 1)].map(|w| w as u32) {
                if v != 0 {
                    head[(v & 3) as usize] = v & !3;
                }
            }
        }
        model.free_with_head(word(r, 0), StackId(stack & !(FREE_RECORD | FREE_MORE | FREE_RAW)), head);
    }
}

/// The heap model's state at one moment.
pub(crate) struct HeapNow {
    /// Sorted by address.
    pub blocks: Vec<Block>,
    pub allocations: u64,
    pub frees: u64,
    pub invalid_frees: Vec<InvalidFree>,
    pub lowest_block: Option<u64>,
    pub profile: AllocProfile,
    pub freed: Option<Freed>,
    /// The stacks of the threads that ended, in the order they did.
    pub dead_stacks: Vec<DeadStack>,
}

/// A thread's stack after it ended: below `top`, the block that held it at the time (allocated before event `seq`)
/// holds only dead frames.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DeadStack {
    pub top: u32,
    pub seq: u64,
}

/// The exports of a module instrumented with buffered hooks.
#[derive(Clone, Copy)]
struct BufferView {
    events: Memory,
    live: Memory,
    count: Global,
    mask: Global,
    /// The end of the wrappers' segment: a module instrumented with the ring (`buffered::RING_SEGMENTS`).
    limit: Option<Global>,
    /// The calling-context global (`wasmleak:ctx`), and the context in the wrappers' one-entry cache.
    ctx: Option<Global>,
    cached: Option<Global>,
}

impl BufferView {
    fn of<T>(caller: &mut Caller<'_, T>) -> Option<BufferView> {
        Some(BufferView {
            events: caller.get_export(EVENTS_EXPORT)?.into_memory()?,
            live: caller.get_export(LIVE_EXPORT)?.into_memory()?,
            count: caller.get_export(COUNT_EXPORT)?.into_global()?,
            mask: caller.get_export(MASK_EXPORT)?.into_global()?,
            ctx: caller.get_export(buffered::CTX_EXPORT).and_then(|e| e.into_global()),
            cached: caller.get_export(buffered::CACHED_EXPORT).and_then(|e| e.into_global()),
            limit: caller.get_export(LIMIT_EXPORT).and_then(|e| e.into_global()),
        })
    }

    fn table_base(&self) -> u32 {
        if self.limit.is_some() { TABLE_BASE } else { TABLE_BASE_BEFORE_RING }
    }
}

/// The host's side of a module's ring of segments (`wasmleak_instrument::buffered`). Segments are handed out in
/// order; those handed to the model and not yet released are the `in_use` before the wrappers' `slot`, so the next
/// slot is free while fewer than all are in use. The model reads a segment in the events memory itself while the
/// guest writes another: the memory is not grown (it could move) while any is in use (`Recorder::ring_idle`).
struct Ring {
    slot: u32,
    in_use: u32,
    /// Full segments not sent yet: `(address, bytes)`.
    pending: Vec<(usize, usize)>,
    released: Receiver<u32>,
}

impl Ring {
    /// Take the model's releases so far; with `block`, wait for one.
    fn collect(&mut self, block: bool) {
        if block {
            // The model thread gone (finished or panicked) reads nothing more.
            self.in_use = self.released.recv().map_or(0, |k| self.in_use.saturating_sub(k));
        }
        while let Ok(k) = self.released.try_recv() {
            self.in_use = self.in_use.saturating_sub(k);
        }
    }
}

pub(crate) struct Recorder {
    mode: StackMode,
    map: Arc<CodeMap>,
    frames: Vec<RawFrame>,
    stacks: StackTable,
    /// Calling-context id → its stack; `StackId::NONE` for an id seen with two different stacks (walked
    /// every time).
    contexts: HashMap<u64, StackId, BuildHasherDefault<IdHasher>>,
    /// Context lookups until the next verifying walk (per-event hooks), and buffer flushes (buffered modules).
    verify_in: u32,
    verify_flushes: u32,
    /// Ids found to stand for more than one stack.
    collisions: u32,
    /// Per-event hooks of a single-threaded module whose aligned allocation is inlined into a caller of malloc
    /// ([`Recorder::follow_splits`]): the last block malloc returned and the chunk header before it, looked at
    /// again at the next event ([`Recorder::settle`]; the buffered wrappers do it themselves, with the `split` hook).
    splits: bool,
    split_watch: Option<(u32, u32)>,
    /// The leader of a split block, which `check` let the allocator free: its `free` is the allocator's, not the
    /// program's, and is not recorded.
    leader_free: Option<u32>,
    /// Real stack walks done (first sight of an id, verification, events without an id).
    walks: u64,
    /// The module's memory (export `memory_name`), once a free needed it.
    memory_name: String,
    memory: Option<Memory>,
    /// Buffered hooks: the module's buffer, once a hook has been called.
    view: Option<BufferView>,
    /// Records drained from the module's buffer not yet sent (all older than `batch`'s events), and when the
    /// last were sent.
    records: Vec<u8>,
    records_sent: std::time::Instant,
    spare_records: Receiver<Vec<u8>>,
    /// A module with a ring: its segments.
    ring: Ring,
    batch: Vec<Event>,
    /// The live blocks as of the last event, on the guest's thread: `wasmleak.check` answers from it. With
    /// buffered hooks only the blocks at addresses that are not 4-aligned (the module's bitmap has the rest).
    live: LiveSet,
    tx: Option<SyncSender<Msg>>,
    spare: Receiver<Vec<Event>>,
    worker: Option<JoinHandle<HeapModel>>,
    /// A threaded module's run (events of several threads, through a [`Baton`]).
    threads: bool,
    /// Threads: per address, how many reallocs that moved a block away from it have not reported yet although
    /// the address was handed out again (see [`Recorder::in_allocator_order`]).
    reborn: HashMap<u32, u32>,
    /// Threads: the thread that allocated each live block.
    allocated_by: HashMap<u32, i32>,
    /// Threads: the live blocks a thread was handed at its start ([`Recorder::hand_over`]), by thread.
    handed: HashMap<u32, i32>,
}

/// What a finished recording hands on.
pub(crate) struct Recorded {
    pub model: HeapModel,
    /// Distinct calling-context ids seen, real stack walks, and ids that stood for two stacks.
    pub contexts: usize,
    pub walks: u64,
    pub collisions: u32,
}

/// Anything whose store data holds a recorder.
pub(crate) trait HasRecorder: 'static {
    fn recorder(&mut self) -> &mut Recorder;
    /// Before a hook: a thread of a threaded module takes the one recorder every thread shares ([`Baton`]);
    /// true when it took it (then [`HasRecorder::leave`] gives it back).
    fn enter(&mut self) -> bool {
        false
    }
    fn leave(&mut self) {}
    /// The thread whose hook is running (a threaded module's; 0 is the main thread).
    fn thread(&self) -> i32 {
        0
    }
    /// Blocks the threads still running hold, as far as anyone can tell (see `Recorder::held_by_threads`).
    fn thread_held(&mut self) -> Vec<(u32, i32)> {
        Vec::new()
    }
}

/// The recorder of a threaded module's run, passed from thread to thread: a hook takes it, records, and gives it
/// back, so the events of all threads reach the model one at a time, in the order the hooks ran. That order is
/// the allocator's: an allocation is recorded after the allocator returned it and before the program can hand it
/// to another thread, a free before the allocator can hand the block out again.
pub(crate) struct Baton {
    slot: Mutex<Option<Recorder>>,
    given: Condvar,
}

impl Baton {
    pub(crate) fn new(recorder: Recorder) -> Arc<Baton> {
        Arc::new(Baton { slot: Mutex::new(Some(recorder)), given: Condvar::new() })
    }

    pub(crate) fn take(&self) -> Recorder {
        let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(r) = slot.take() {
                return r;
            }
            slot = self.given.wait(slot).unwrap_or_else(|e| e.into_inner());
        }
    }

    pub(crate) fn give(&self, recorder: Recorder) {
        *self.slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(recorder);
        self.given.notify_one();
    }
}

/// Run hook `f` holding the recorder (see [`HasRecorder::enter`]).
pub(crate) fn hooked<T: HasRecorder, R>(
    c: &mut Caller<'_, T>,
    f: impl FnOnce(&mut Caller<'_, T>) -> wasmtime::Result<R>,
) -> wasmtime::Result<R> {
    let took = c.data_mut().enter();
    let r = f(c);
    if took {
        c.data_mut().leave();
    }
    r
}

impl Recorder {
    pub(crate) fn new(
        mode: StackMode,
        map: Arc<CodeMap>,
        memory_name: String,
        progress: Option<Arc<crate::run::Progress>>,
    ) -> Recorder {
        let (tx, rx) = sync_channel::<Msg>(4);
        let (spare_tx, spare) = sync_channel::<Vec<Event>>(4);
        let (spare_records_tx, spare_records) = sync_channel::<Vec<u8>>(2);
        let (released_tx, released) = channel::<u32>();
        let worker = std::thread::Builder::new()
            .name("wasmleak-model".into())
            .spawn(move || {
                let mut model = HeapModel::new();
                let start = std::time::Instant::now();
                // Time spent on events, for WASMLEAK_STATS: when it is near the guest's time, the guest waited
                // for the model.
                let stats = std::env::var_os("WASMLEAK_STATS").is_some();
                let mut busy = std::time::Duration::ZERO;
                let mut dead_stacks = Vec::new();
                for msg in rx {
                    let t0 = std::time::Instant::now();
                    if stats && matches!(msg, Msg::Query(..)) {
                        eprintln!("wasmleak:   the heap model's work on events so far: {:.1} ms", busy.as_secs_f64() * 1e3);
                    }
                    // Events reach the model within milliseconds: its clock stamps the growth samples.
                    model.set_clock(start.elapsed().as_millis() as u64);
                    match msg {
                        Msg::Batch(mut batch) => {
                            for e in batch.drain(..) {
                                match e {
                                    Event::Alloc { ptr, size, stack } => model.alloc(ptr as u64, size as u64, stack),
                                    Event::Free { ptr, stack, head: None } => model.free(ptr as u64, stack),
                                    Event::Free { ptr, stack, head: Some(head) } => {
                                        model.free_with_head(ptr as u64, stack, head)
                                    }
                                    Event::Realloc { old, new, size, stack } => {
                                        model.realloc(old as u64, new as u64, size as u64, stack)
                                    }
                                    Event::Moved { from, to, size } => model.moved(from as u64, to as u64, size as u64),
                                    Event::StackEnded { top } => dead_stacks.push(DeadStack { top, seq: model.seq }),
                                }
                            }
                            let _ = spare_tx.try_send(batch);
                            report_progress(&progress, &model);
                            busy += t0.elapsed();
                        }
                        Msg::Ring(segments) => {
                            for &(at, len) in &segments {
                                // SAFETY: the segment lies in the events memory, which neither moves nor is freed
                                // while segments are in use (`Recorder::ring_idle`, and the recorder's drop waits for
                                // this thread before its store's memories go), and which nothing writes until the
                                // host hands the segment out again, after the release below.
                                apply_records(&mut model, unsafe { std::slice::from_raw_parts(at as *const u8, len) });
                            }
                            let _ = released_tx.send(segments.len() as u32);
                            report_progress(&progress, &model);
                            busy += t0.elapsed();
                        }
                        Msg::Records(mut buffer) => {
                            apply_records(&mut model, &buffer);
                            buffer.clear();
                            let _ = spare_records_tx.try_send(buffer);
                            report_progress(&progress, &model);
                            busy += t0.elapsed();
                        }
                        Msg::Query(reply, freed) => {
                            let _ = reply.send(HeapNow {
                                blocks: model.live_sorted(),
                                allocations: model.allocations,
                                frees: model.frees,
                                invalid_frees: model.invalid_frees.clone(),
                                lowest_block: model.lowest_block,
                                profile: model.profile(),
                                freed: freed.then(|| model.freed()),
                                dead_stacks: dead_stacks.clone(),
                            });
                        }
                    }
                }
                model
            })
            .expect("spawning the heap model thread");
        Recorder {
            mode,
            map,
            frames: Vec::new(),
            stacks: StackTable::default(),
            contexts: HashMap::default(),
            verify_in: VERIFY_EVERY,
            verify_flushes: VERIFY_FLUSHES,
            collisions: 0,
            splits: false,
            split_watch: None,
            leader_free: None,
            walks: 0,
            memory_name,
            memory: None,
            view: None,
            records: Vec::new(),
            records_sent: std::time::Instant::now(),
            spare_records,
            ring: Ring { slot: 0, in_use: 0, pending: Vec::new(), released },
            batch: Vec::with_capacity(BATCH),
            live: LiveSet::default(),
            tx: Some(tx),
            spare,
            worker: Some(worker),
            threads: false,
            reborn: HashMap::new(),
            allocated_by: HashMap::new(),
            handed: HashMap::new(),
        }
    }

    /// A threaded run's event as the model must apply it. A realloc's hook runs after the allocator returned, so
    /// the old block it moved away from can already be another thread's (handed out again and recorded first,
    /// even several times over): an allocation at an address the model still has live counts one realloc report
    /// still to come for it, and such a late realloc then frees nothing there (it only allocates its new block; a
    /// realloc to size 0, nothing at all). Frees report before the allocator runs, so they are never late.
    fn in_allocator_order(&mut self, ev: Event) -> Event {
        let (born, moved_from) = match ev {
            Event::Alloc { ptr, .. } => (ptr, 0),
            Event::Realloc { old, new, .. } if new != old => (new, old),
            _ => (0, 0),
        };
        let mut ev = ev;
        if let Some(late) = self.reborn.get_mut(&moved_from).filter(|_| moved_from != 0) {
            *late -= 1;
            if *late == 0 {
                self.reborn.remove(&moved_from);
            }
            if let Event::Realloc { new, size, stack, .. } = ev {
                ev = Event::Alloc { ptr: new, size, stack };
            }
        }
        if born != 0 && self.live.contains(born as u64) {
            *self.reborn.entry(born).or_default() += 1;
        }
        ev
    }

    /// The live blocks threads in `running` allocated. A running (or blocked) thread may hold them in its local
    /// variables, which no host can read: the roots of a threaded run's heap states (a block only such a thread
    /// could hold is not called lost without evidence). Of the threads in `bounded` (stopped where they were, their
    /// frames known: `exit::held_at_exit` bounds what those hold), only what they were handed at their start.
    pub(crate) fn held_by_threads(
        &self,
        running: &std::collections::HashSet<i32>,
        bounded: &std::collections::HashSet<i32>,
    ) -> Vec<(u32, i32)> {
        let mut held: Vec<(u32, i32)> = self
            .allocated_by
            .iter()
            .filter(|&(p, t)| running.contains(t) && (!bounded.contains(t) || self.handed.get(p) == Some(t)))
            .map(|(&p, &t)| (p, t))
            .collect();
        held.sort_unstable();
        held
    }

    /// A thread starts with `start_arg` (`wasi::thread-spawn`): the live blocks reachable from it within a few
    /// steps — pthread's start arguments, the closure or argument struct they point to, what that holds — are
    /// the new thread's from now on, as what it allocates is (`held_by_threads`): Rust's `thread::spawn` hands
    /// the thread its closure so, and frees the only pointer to it in memory.
    pub(crate) fn hand_over(&mut self, memory: &[u8], start_arg: u32, thread: i32) {
        const WINDOW: usize = 64;
        let mut frontier = vec![start_arg as usize];
        let mut seen = std::collections::HashSet::new();
        for _ in 0..3 {
            let mut next = Vec::new();
            for at in frontier {
                let Some(bytes) = memory.get(at..(at + WINDOW).min(memory.len())) else { continue };
                for word in bytes.chunks_exact(4).map(|w| u32::from_le_bytes(w.try_into().unwrap())) {
                    if word != 0 && self.live.contains(word as u64) && seen.insert(word) {
                        self.allocated_by.insert(word, thread);
                        self.handed.insert(word, thread);
                        next.push(word as usize);
                    }
                }
            }
            frontier = next;
        }
    }

    /// A thread ended, its stack pointer back at `top` (see [`Event::StackEnded`]).
    pub(crate) fn stack_ended(&mut self, top: u32) {
        self.push(Event::StackEnded { top });
    }

    /// Queue `ev` for the model, sent with the others when the batch is full.
    fn push(&mut self, ev: Event) {
        self.batch.push(ev);
        if self.batch.len() >= BATCH {
            self.flush();
        }
    }

    /// Follow the blocks dlmalloc splits (docs/contracts.md, "Blocks the allocator splits") where the module has
    /// such code (`Instrumented::splits`) and one thread: a threaded module's chunk headers are not read while other
    /// threads may write them (the JS runtime skips shared memories too).
    pub(crate) fn follow_splits(&mut self, instrumented: &Instrumented, info: &ModuleInfo) {
        self.splits = instrumented.splits && !info.threaded();
    }

    /// For a threaded module's run: events of several threads, one at a time.
    pub(crate) fn for_threads(mut self) -> Recorder {
        self.threads = true;
        self
    }

    /// A per-event hook: give the event its stack — by calling-context id (`ctx`, from the `_ctx` hooks) when
    /// there is one, else by walking the stack — and queue it. `ev` carries `StackId::NONE`. With buffered hooks
    /// these are the events on addresses the module's bitmap cannot hold: the buffer is drained first (order),
    /// and the bitmap gets the 4-aligned side of a realloc.
    pub(crate) fn record<T: HasRecorder>(caller: &mut Caller<'_, T>, ev: Event, ctx: Option<u64>) -> wasmtime::Result<()> {
        let view = Recorder::drain_caller(caller);
        if view.is_none() && caller.data_mut().recorder().splits {
            let at = match ev {
                Event::Alloc { ptr, .. } | Event::Free { ptr, .. } => ptr,
                Event::Realloc { new, .. } => new,
                _ => 0,
            };
            let leader = Recorder::settle(caller, at);
            // (`check` let the allocator free a leader: that free is the next event, or nothing is skipped.)
            let checked = caller.data_mut().recorder().leader_free.take();
            if let Event::Free { ptr, .. } = ev
                && (leader || checked == Some(ptr))
            {
                // The allocator giving a split block's leader back through the hooked free: not the program's.
                return Ok(());
            }
            if let Event::Alloc { ptr, .. } = ev
                && ptr != 0
                && ptr % 8 == 0
                && let Some(header) = guest_memory(caller).and_then(|m| word_at(m.data(&*caller), ptr.wrapping_sub(4)))
            {
                caller.data_mut().recorder().split_watch = Some((ptr, header));
            }
        }
        let mut ev = ev;
        let r = caller.data_mut().recorder();
        if r.threads {
            ev = r.in_allocator_order(ev);
            let thread = caller.data().thread();
            let r = caller.data_mut().recorder();
            match ev {
                Event::Alloc { ptr, .. } if ptr != 0 => {
                    r.allocated_by.insert(ptr, thread);
                }
                Event::Free { ptr, .. } => {
                    r.allocated_by.remove(&ptr);
                    r.handed.remove(&ptr);
                }
                Event::Realloc { old, new, size, .. } if new != 0 || size == 0 => {
                    r.allocated_by.remove(&old);
                    r.handed.remove(&old);
                    if new != 0 {
                        r.allocated_by.insert(new, thread);
                    }
                }
                _ => {}
            }
        }
        match (&mut ev, view) {
            (&mut Event::Realloc { old, new, size, .. }, Some(view)) => {
                for (addr, on) in [(old, false), (new, true)] {
                    let touched = addr != 0 && (on || new != 0 || size == 0);
                    if !touched {
                        continue;
                    }
                    if addr % 4 == 0 {
                        set_live_bit(&mut *caller, view, addr, on)?;
                    } else if on {
                        caller.data_mut().recorder().live.insert(addr as u64);
                    } else {
                        caller.data_mut().recorder().live.remove(addr as u64);
                    }
                }
            }
            (&mut Event::Alloc { ptr, .. }, _) => caller.data_mut().recorder().live.alloc(ptr as u64),
            (Event::Free { ptr, head, .. }, _) => {
                let ptr = *ptr;
                // A threaded module's memory is shared: its first words are not read while other threads run.
                let r = caller.data_mut().recorder();
                if !r.threads && r.live.contains(ptr as u64) {
                    *head = head_words(&mut *caller, ptr);
                }
                caller.data_mut().recorder().live.free(ptr as u64)
            }
            (&mut Event::Realloc { old, new, size, .. }, None) => {
                caller.data_mut().recorder().live.realloc(old as u64, new as u64, size as u64)
            }
            (Event::Moved { .. } | Event::StackEnded { .. }, _) => {}
        }
        let r = caller.data_mut().recorder();
        let id = match (r.mode, ctx) {
            (StackMode::Off, _) => StackId::NONE,
            (StackMode::Contexts, Some(ctx)) => Recorder::context_stack(caller, ctx, true),
            _ => Recorder::walk(caller),
        };
        match &mut ev {
            Event::Alloc { stack, .. } | Event::Free { stack, .. } | Event::Realloc { stack, .. } => *stack = id,
            Event::Moved { .. } | Event::StackEnded { .. } => {}
        }
        caller.data_mut().recorder().push(ev);
        Ok(())
    }

    /// The stack of calling context `ctx`: a lookup, or a walk the first time (and, with `verify`, every
    /// `VERIFY_EVERY` lookups, to catch two chains with one id). A new id also goes into the module's table.
    fn context_stack<T: HasRecorder>(caller: &mut Caller<'_, T>, ctx: u64, verify: bool) -> StackId {
        let r = caller.data_mut().recorder();
        match r.contexts.get(&ctx).copied() {
            Some(id) if !id.is_none() => {
                if !verify {
                    return id;
                }
                r.verify_in -= 1;
                if r.verify_in > 0 {
                    return id;
                }
                r.verify_in = VERIFY_EVERY;
                Recorder::verified(caller, ctx, id)
            }
            Some(_) => Recorder::walk(caller),
            None => {
                let id = Recorder::walk(caller);
                caller.data_mut().recorder().contexts.insert(ctx, id);
                if let Some(view) = caller.data_mut().recorder().view {
                    table_insert(caller, view, ctx, id);
                }
                id
            }
        }
    }

    /// The walked stack of context `ctx`, whose known stack is `id`: a different one means two chains share
    /// the id, which is walked at every event from then on.
    fn verified<T: HasRecorder>(caller: &mut Caller<'_, T>, ctx: u64, id: StackId) -> StackId {
        let walked = Recorder::walk(caller);
        if walked != id {
            let r = caller.data_mut().recorder();
            r.collisions += 1;
            r.contexts.insert(ctx, StackId::NONE);
            if let Some(view) = r.view {
                let mask = view_mask(&mut *caller, view);
                table_put(table(&mut *caller, view, mask as usize + 1), mask, ctx, AMBIGUOUS);
                // The module's one-entry cache may hold it.
                if let Some(cached) = view.cached {
                    let _ = cached.set(&mut *caller, Val::I64(buffered::NO_CONTEXT));
                }
            }
        }
        walked
    }

    /// Walk the real stack and intern it.
    fn walk<T: HasRecorder>(caller: &mut Caller<'_, T>) -> StackId {
        let r = caller.data_mut().recorder();
        r.walks += 1;
        let mut frames = std::mem::take(&mut r.frames);
        let map = r.map.clone();
        capture(&*caller, &map, &mut frames);
        let r = caller.data_mut().recorder();
        let id = r.stacks.intern(&frames);
        r.frames = frames;
        id
    }

    /// `wasmleak.check(ptr)`: 1 when `ptr` is a live block; otherwise the free is recorded now (the model reports
    /// it as invalid, with its stack, walked: the check hook carries no context) and the guest's wrapper skips
    /// the allocator.
    pub(crate) fn check<T: HasRecorder>(caller: &mut Caller<'_, T>, ptr: u32) -> wasmtime::Result<i32> {
        let view = Recorder::drain_caller(caller);
        if view.is_none() && caller.data_mut().recorder().splits && Recorder::settle(caller, ptr) {
            // The allocator freeing a split block's leader (moved off it now): let it; its free is not recorded.
            caller.data_mut().recorder().leader_free = Some(ptr);
            return Ok(1);
        }
        if caller.data_mut().recorder().live.contains(ptr as u64) {
            return Ok(1);
        }
        Recorder::record(caller, Event::Free { ptr, stack: StackId::NONE, head: None }, None)?;
        Ok(0)
    }

    /// The per-event hooks' split watch (docs/contracts.md, "Blocks the allocator splits"): when the chunk header
    /// before the last block malloc returned changed since, and dlmalloc split that block ([`split_chunks`]), the
    /// block moved to its aligned part. `at`: the block this event is about. True when this event is the allocator
    /// freeing the leader itself (not the program's free). What [`Recorder::split`] does for buffered wrappers.
    fn settle<T: HasRecorder>(caller: &mut Caller<'_, T>, at: u32) -> bool {
        let Some((block, header)) = caller.data_mut().recorder().split_watch.take() else { return false };
        let Some(memory) = guest_memory(caller) else { return false };
        let found = {
            let mem = memory.data(&*caller);
            if word_at(mem, block.wrapping_sub(4)) == Some(header) {
                return false;
            }
            split_chunks(block, header, at, |a| word_at(mem, a))
        };
        let r = caller.data_mut().recorder();
        let Some((to, size, leader)) = found.filter(|&(to, _, _)| r.live.contains(block as u64) && !r.live.contains(to as u64))
        else {
            return false;
        };
        r.live.remove(block as u64);
        r.live.insert(to as u64);
        r.push(Event::Moved { from: block, to, size });
        leader
    }

    /// `wasmleak.split(block, header, at) -> leader`: the chunk header before `block`, the last block malloc
    /// returned, is no longer `header` (buffered.rs `Split`). When dlmalloc split it ([`split_chunks`]) the block
    /// moved to its aligned part: 1 when this event is the allocator freeing the leader through the hooked free
    /// (not the program's), else 0. docs/contracts.md, "Blocks the allocator splits"; js/src/tracker.mjs `settle`
    /// is the same rule.
    pub(crate) fn split<T: HasRecorder>(caller: &mut Caller<'_, T>, block: u32, header: u32, at: u32) -> wasmtime::Result<i32> {
        let Some(view) = Recorder::drain_caller(caller) else { return Ok(0) };
        let Some(memory) = guest_memory(caller) else { return Ok(0) };
        let live = |cx: &Caller<'_, T>, a: u32| view.live.data(cx).get((a >> 5) as usize).is_some_and(|b| b >> ((a >> 2) & 7) & 1 != 0);
        if !live(caller, block) {
            return Ok(0);
        }
        let found = {
            let mem = memory.data(&*caller);
            split_chunks(block, header, at, |a| word_at(mem, a))
        };
        let Some((to, size, leader)) = found.filter(|&(to, _, _)| !live(caller, to)) else { return Ok(0) };
        set_live_bit(&mut *caller, view, block, false)?;
        set_live_bit(&mut *caller, view, to, true)?;
        caller.data_mut().recorder().push(Event::Moved { from: block, to, size });
        Ok(leader as i32)
    }

    /// `wasmleak.flush()`: the module's buffer is full. It is called from inside an event's wrapper, whose context
    /// is the module's context global: every [`VERIFY_FLUSHES`]th flush walks the stack to check that context's
    /// stack (what `verify` does for modules instrumented before; their wrappers counted table lookups).
    pub(crate) fn flush_hook<T: HasRecorder>(caller: &mut Caller<'_, T>) -> wasmtime::Result<()> {
        let Some(view) = Recorder::drain_caller(caller) else { return Ok(()) };
        let r = caller.data_mut().recorder();
        r.verify_flushes -= 1;
        if r.verify_flushes == 0 {
            r.verify_flushes = VERIFY_FLUSHES;
            if let Some(ctx) = view.ctx.and_then(|g| g.get(&mut *caller).i64()) {
                let ctx = ctx as u64;
                if let Some(&id) = caller.data_mut().recorder().contexts.get(&ctx).filter(|id| !id.is_none()) {
                    Recorder::verified(caller, ctx, id);
                }
            }
        }
        Ok(())
    }

    /// `wasmleak.ctx_new(lo, hi) -> stack`: a context the module's table does not have (or one that is ambiguous).
    pub(crate) fn ctx_new<T: HasRecorder>(caller: &mut Caller<'_, T>, ctx: u64) -> wasmtime::Result<i32> {
        Recorder::drain_caller(caller); // sets the view on the first call
        Ok(Recorder::context_stack(caller, ctx, false).0 as i32)
    }

    /// `wasmleak.verify(lo, hi, stack) -> stack`: the module's periodic check of a table entry.
    pub(crate) fn verify<T: HasRecorder>(caller: &mut Caller<'_, T>, ctx: u64, stack: u32) -> wasmtime::Result<i32> {
        Ok(Recorder::verified(caller, ctx, StackId(stack)).0 as i32)
    }

    /// Move the records in the module's buffer to the worker (after the events queued before them). The view is
    /// looked up on the first call.
    fn drain_caller<T: HasRecorder>(caller: &mut Caller<'_, T>) -> Option<BufferView> {
        let r = caller.data_mut().recorder();
        // A threaded module is never buffered (a buffer would be per instance): no lookup of exports per event.
        if r.threads {
            return None;
        }
        let view = match r.view {
            Some(v) => v,
            None => {
                let v = BufferView::of(caller)?;
                caller.data_mut().recorder().view = Some(v);
                v
            }
        };
        drain(caller, view);
        Some(view)
    }

    /// Queue records drained from the module's buffer (after the events queued before them).
    fn add_records(&mut self, records: &[u8]) {
        if !self.batch.is_empty() {
            self.flush();
        }
        if self.records.capacity() == 0 {
            self.records = self.spare_records.try_recv().unwrap_or_else(|_| Vec::with_capacity(RECORDS_BATCH));
        }
        self.records.extend_from_slice(records);
        if self.records.len() + (buffered::CAPACITY * RECORD) as usize > RECORDS_BATCH || self.records_sent.elapsed() >= RECORDS_DELAY {
            self.send_records();
        }
    }

    /// A segment of the ring, `(address, bytes)`, full (or partly, before a query): queue it for the model, and
    /// return the slot of the wrappers' next segment, waiting for the model to release one when all are in use.
    fn ring_segment(&mut self, segment: (usize, usize)) -> u32 {
        if !self.batch.is_empty() {
            self.flush();
        }
        self.ring.pending.push(segment);
        self.ring.in_use += 1;
        self.ring.collect(false);
        while self.ring.in_use >= RING_SEGMENTS {
            self.send_records();
            self.ring.collect(true);
        }
        if self.ring.pending.len() >= RING_SEND || self.records_sent.elapsed() >= RECORDS_DELAY {
            self.send_records();
        }
        self.ring.slot = (self.ring.slot + 1) % RING_SEGMENTS;
        self.ring.slot
    }

    /// Wait until the model reads no segment of the ring: before the events memory grows.
    fn ring_idle(&mut self) {
        self.send_records();
        while self.ring.in_use > 0 {
            self.ring.collect(true);
        }
    }

    fn send_records(&mut self) {
        if !self.ring.pending.is_empty() {
            let segments = std::mem::take(&mut self.ring.pending);
            self.records_sent = std::time::Instant::now();
            self.send(Msg::Ring(segments));
        }
        if self.records.is_empty() {
            return;
        }
        let records = std::mem::take(&mut self.records);
        self.records_sent = std::time::Instant::now();
        self.send(Msg::Records(records));
    }

    fn send(&self, msg: Msg) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(msg);
        }
    }

    /// Send everything queued, in order.
    fn flush(&mut self) {
        self.send_records();
        if self.batch.is_empty() {
            return;
        }
        let next = self.spare.try_recv().unwrap_or_else(|_| Vec::with_capacity(BATCH));
        let full = std::mem::replace(&mut self.batch, next);
        if let Some(tx) = &self.tx {
            let _ = tx.send(Msg::Batch(full));
        }
    }

    /// The live heap as of the last event. `store`: to drain a buffered module's last records.
    pub(crate) fn query<T: HasRecorder>(mut store: impl AsContextMut<Data = T>, freed: bool) -> HeapNow {
        let mut cx = store.as_context_mut();
        if let Some(view) = cx.data_mut().recorder().view {
            drain(&mut cx, view);
        }
        cx.data_mut().recorder().ask(freed)
    }

    /// The live heap as of the last event recorded (a module without buffered hooks).
    pub(crate) fn ask(&mut self, freed: bool) -> HeapNow {
        self.flush();
        let (reply, answer) = sync_channel(1);
        let tx = self.tx.as_ref().expect("not finished");
        tx.send(Msg::Query(reply, freed)).expect("the heap model thread ended early");
        answer.recv().expect("the heap model thread ended early")
    }

    /// The model after the last event. `store`: to drain a buffered module's last records.
    pub(crate) fn finish<T: HasRecorder>(mut store: impl AsContextMut<Data = T>, take: impl FnOnce(&mut T) -> Recorder) -> Recorded {
        let mut cx = store.as_context_mut();
        if let Some(view) = cx.data_mut().recorder().view {
            drain(&mut cx, view);
        }
        take(cx.data_mut()).finish_here()
    }

    /// [`Recorder::finish`] for a recorder already out of its store (a module without buffered hooks).
    pub(crate) fn finish_here(self) -> Recorded {
        let mut r = self;
        r.flush();
        drop(r.tx.take());
        let mut model = r.worker.take().expect("finished once").join().expect("the heap model thread panicked");
        model.stacks = std::mem::take(&mut r.stacks);
        Recorded { model, contexts: r.contexts.len(), walks: r.walks, collisions: r.collisions }
    }
}

impl Drop for Recorder {
    /// The model may still be reading segments of a ring in the store's memory, which is dropped after the store's
    /// data (this): let it finish first.
    fn drop(&mut self) {
        if let Some(worker) = self.worker.take() {
            drop(self.tx.take());
            let _ = worker.join();
        }
    }
}

/// The module's memory (export `memory_name`), looked up once.
fn guest_memory<T: HasRecorder>(caller: &mut Caller<'_, T>) -> Option<Memory> {
    let r = caller.data_mut().recorder();
    if let Some(m) = r.memory {
        return Some(m);
    }
    let name = r.memory_name.clone();
    let m = caller.get_export(&name)?.into_memory()?;
    caller.data_mut().recorder().memory = Some(m);
    Some(m)
}

/// Where dlmalloc's aligned allocation put the block malloc returned at `block` (its chunk header was `header`):
/// walking its chunks from the start, past chunks that are free (their successor's previous-in-use bit says so)
/// or the very allocation this event is about (`at`, handed out at the leader's address), to the first chunk in
/// use, inside the old chunk — `(its address, its usable size, whether this event is about the leader itself
/// while it is still in use: the allocator freeing it through the hooked free)`. None when the headers do not
/// show such a split (a program cannot write them without corrupting the heap). `word`: the memory's word at an
/// address.
pub(crate) fn split_chunks(block: u32, header: u32, at: u32, word: impl Fn(u32) -> Option<u32>) -> Option<(u32, u32, bool)> {
    const MIN_CHUNK: u32 = 16;
    let start = block.checked_sub(8)?;
    let end = start.checked_add(header & !7)?;
    let mut p = start;
    for _ in 0..4 {
        let size = word(p + 4)? & !7;
        let q = p.checked_add(size)?;
        if size < MIN_CHUNK || q + MIN_CHUNK > end {
            return None;
        }
        let next = word(q + 4)?;
        let p_free = next & 1 == 0;
        if !p_free && !(p == start && at == block) {
            return None; // a chunk in use that is not the one this event handed out
        }
        if next & 2 != 0 {
            let usable = (next & !7).checked_sub(4)?;
            if q + (next & !7) > end {
                return None;
            }
            return Some((q + 8, usable, p == start && !p_free && at == block));
        }
        p = q;
    }
    None
}

/// The little-endian word at `at` of a memory image.
fn word_at(mem: &[u8], at: u32) -> Option<u32> {
    mem.get(at as usize..at as usize + 4).map(|b| u32::from_le_bytes(b.try_into().unwrap()))
}

fn head_words<T: HasRecorder>(caller: &mut Caller<'_, T>, ptr: u32) -> Option<[u32; HEAD_WORDS]> {
    let memory = guest_memory(caller)?;
    let at = ptr as usize;
    let bytes = memory.data(&*caller).get(at..at + 4 * HEAD_WORDS)?;
    Some(std::array::from_fn(|k| u32::from_le_bytes(bytes[4 * k..4 * k + 4].try_into().unwrap())))
}

/// The model's counters for a progress line.
fn report_progress(progress: &Option<Arc<crate::run::Progress>>, model: &HeapModel) {
    if let Some(p) = progress {
        use std::sync::atomic::Ordering::Relaxed;
        p.events.store(model.seq, Relaxed);
        p.live_blocks.store(model.live_count() as u64, Relaxed);
        p.live_bytes.store(model.live_bytes(), Relaxed);
    }
}

/// Hand the module's buffered records to the recorder and empty the buffer.
fn drain<T: HasRecorder>(mut cx: impl AsContextMut<Data = T>, view: BufferView) {
    let n = view.count.get(&mut cx).i32().unwrap_or(0).max(0) as u32;
    if let Some(limit) = view.limit {
        let start = cx.as_context_mut().data_mut().recorder().ring.slot * CAPACITY;
        // The wrappers stop at `limit`, the end of their segment; never read past it whatever the global says.
        let end = n.min(start + CAPACITY);
        if end <= start {
            return;
        }
        let at = view.events.data_ptr(&cx) as usize + (start * RECORD) as usize;
        let next = cx.as_context_mut().data_mut().recorder().ring_segment((at, ((end - start) * RECORD) as usize)) * CAPACITY;
        let _ = view.count.set(&mut cx, Val::I32(next as i32));
        let _ = limit.set(&mut cx, Val::I32((next + CAPACITY) as i32));
        return;
    }
    if n == 0 {
        return;
    }
    let (events, recorder) = view.events.data_and_store_mut(&mut cx);
    recorder.recorder().add_records(&events[..(n * RECORD) as usize]);
    let _ = view.count.set(&mut cx, Val::I32(0));
}

fn view_mask(cx: impl AsContextMut, view: BufferView) -> u32 {
    view.mask.get(cx).i32().unwrap_or(0) as u32
}

/// Set or clear the module's live bit of the 4-aligned `addr`, growing the bitmap to cover it.
fn set_live_bit(mut cx: impl AsContextMut, view: BufferView, addr: u32, on: bool) -> wasmtime::Result<()> {
    let byte = (addr >> 5) as usize;
    let len = view.live.data_size(&cx);
    if byte >= len {
        if !on {
            return Ok(());
        }
        let pages = (byte / 65536 + 1 - len / 65536) as u64;
        view.live.grow(&mut cx, pages)?;
    }
    let data = view.live.data_mut(&mut cx);
    let bit = 1u8 << ((addr >> 2) & 7);
    if on {
        data[byte] |= bit;
    } else {
        data[byte] &= !bit;
    }
    Ok(())
}

/// Put context `ctx` with stack `id` into the module's table, doubling it past half full.
fn table_insert<T: HasRecorder>(caller: &mut Caller<'_, T>, view: BufferView, ctx: u64, id: StackId) {
    let mask = view_mask(&mut *caller, view);
    let entries = caller.data_mut().recorder().contexts.len();
    if entries * 2 > mask as usize + 1 {
        let cap = (mask as usize + 1) * 2;
        let need = view.table_base() as usize + cap * RECORD as usize;
        let have = view.events.data_size(&*caller);
        if need > have {
            caller.data_mut().recorder().ring_idle();
            if view.events.grow(&mut *caller, (need - have).div_ceil(65536) as u64).is_err() {
                return; // the module asks again next time: slower, still right
            }
        }
        let all: Vec<(u64, StackId)> = caller.data_mut().recorder().contexts.iter().map(|(c, s)| (*c, *s)).collect();
        let data = table(&mut *caller, view, cap);
        data.fill(0);
        let mask = cap as u32 - 1;
        for (c, s) in all {
            table_put(data, mask, c, if s.is_none() { AMBIGUOUS } else { s.0 + 1 });
        }
        let _ = view.mask.set(&mut *caller, Val::I32(mask as i32));
        return;
    }
    table_put(table(&mut *caller, view, mask as usize + 1), mask, ctx, id.0 + 1);
}

/// The module's context table of `entries` entries, alone: the model may be reading segments of the ring in the
/// same memory meanwhile, so no reference to the whole memory is made.
fn table(cx: &mut impl AsContextMut, view: BufferView, entries: usize) -> &mut [u8] {
    let base = view.table_base() as usize;
    let len = (entries * RECORD as usize).min(view.events.data_size(&*cx).saturating_sub(base));
    // SAFETY: inside the memory (just measured); the table is written by the host only, between the wrappers' reads
    // on this thread, and the model reads the ring's segments, which lie before it.
    unsafe { std::slice::from_raw_parts_mut(view.events.data_ptr(&*cx).add(base), len) }
}

/// Linear probing, as the module's wrappers look it up: slot `(lo ^ hi) & mask`.
fn table_put(data: &mut [u8], mask: u32, ctx: u64, value: u32) {
    let mut i = (ctx as u32 ^ (ctx >> 32) as u32) & mask;
    loop {
        let at = (i * RECORD) as usize;
        let Some(entry) = data.get_mut(at..at + RECORD as usize) else { return };
        let stored = u32::from_le_bytes(entry[8..12].try_into().unwrap());
        if stored == 0 || u64::from_le_bytes(entry[..8].try_into().unwrap()) == ctx {
            entry[..8].copy_from_slice(&ctx.to_le_bytes());
            entry[8..12].copy_from_slice(&value.to_le_bytes());
            return;
        }
        i = (i + 1) & mask;
    }
}
