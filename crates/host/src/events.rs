//! The hook side of a tracked run. A hook does as little as it can on the guest's thread — count the event,
//! capture a stack if this event needs one, append to a batch — and a worker thread applies the batches to
//! the heap model on the other core. Allocation-heavy guests fire an allocator event every ~20 ns; a hash
//! map update per event on the guest's thread would more than double their run time.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

use wasmleak_heap::{Block, HeapModel, InvalidFree, LiveSet, RawFrame, StackId, StackTable};
use wasmleak_instrument::CodeMap;
use wasmtime::Caller;

use crate::stacks::{capture, Capture};

#[derive(Clone, Copy, Debug)]
pub(crate) enum Event {
    Alloc { ptr: u32, size: u32, stack: StackId },
    Free { ptr: u32, stack: StackId },
    Realloc { old: u32, new: u32, size: u32, stack: StackId },
}

const BATCH: usize = 16 * 1024;

enum Msg {
    Batch(Vec<Event>),
    /// Reply with the live heap once every earlier batch is applied.
    Query(SyncSender<HeapNow>),
}

/// The heap model's state at one moment.
pub(crate) struct HeapNow {
    /// Sorted by address.
    pub blocks: Vec<Block>,
    pub allocations: u64,
    pub frees: u64,
    pub invalid_frees: Vec<InvalidFree>,
    pub lowest_block: Option<u64>,
}

pub(crate) struct Recorder {
    seq: u64,
    /// Order-sensitive digest of every event, to tell whether a replay saw the same program run.
    digest: u64,
    capture: Capture,
    map: Arc<CodeMap>,
    frames: Vec<RawFrame>,
    stacks: StackTable,
    /// Replay of a run that was stopped: stop at the same event.
    stop_at: Option<u64>,
    batch: Vec<Event>,
    /// The live blocks as of the last event, on the guest's thread: `wasmleak.check` answers from it.
    live: LiveSet,
    tx: Option<SyncSender<Msg>>,
    spare: Receiver<Vec<Event>>,
    worker: Option<JoinHandle<HeapModel>>,
}

/// What a finished recording hands on.
pub(crate) struct Recorded {
    pub model: HeapModel,
    pub seq: u64,
    pub digest: u64,
}

/// The error a hook returns to end a replay at the event where the first pass was stopped.
#[derive(Debug)]
pub(crate) struct ReplayEnd;
impl std::fmt::Display for ReplayEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("replay reached the end of the first pass")
    }
}
impl std::error::Error for ReplayEnd {}

/// Anything whose store data holds a recorder.
pub(crate) trait HasRecorder {
    fn recorder(&mut self) -> &mut Recorder;
}

impl Recorder {
    pub(crate) fn new(capture: Capture, map: Arc<CodeMap>, stop_at: Option<u64>) -> Recorder {
        let (tx, rx) = sync_channel::<Msg>(4);
        let (spare_tx, spare) = sync_channel::<Vec<Event>>(4);
        let worker = std::thread::Builder::new()
            .name("wasmleak-model".into())
            .spawn(move || {
                let mut model = HeapModel::new();
                for msg in rx {
                    let mut batch = match msg {
                        Msg::Batch(b) => b,
                        Msg::Query(reply) => {
                            let _ = reply.send(HeapNow {
                                blocks: model.live_sorted(),
                                allocations: model.allocations,
                                frees: model.frees,
                                invalid_frees: model.invalid_frees.clone(),
                                lowest_block: model.lowest_block,
                            });
                            continue;
                        }
                    };
                    for e in batch.drain(..) {
                        match e {
                            Event::Alloc { ptr, size, stack } => model.alloc(ptr as u64, size as u64, stack),
                            Event::Free { ptr, stack } => model.free(ptr as u64, stack),
                            Event::Realloc { old, new, size, stack } => {
                                model.realloc(old as u64, new as u64, size as u64, stack)
                            }
                        }
                    }
                    let _ = spare_tx.try_send(batch);
                }
                model
            })
            .expect("spawning the heap model thread");
        Recorder {
            seq: 0,
            digest: 0,
            capture,
            map,
            frames: Vec::new(),
            stacks: StackTable::default(),
            stop_at,
            batch: Vec::with_capacity(BATCH),
            live: LiveSet::default(),
            tx: Some(tx),
            spare,
            worker: Some(worker),
        }
    }

    /// Count the event and capture its stack if it needs one. `ev` carries `StackId::NONE`; the stack is
    /// filled in here.
    pub(crate) fn record<T: HasRecorder>(caller: &mut Caller<'_, T>, ev: Event) -> wasmtime::Result<()> {
        let r = caller.data_mut().recorder();
        let seq = r.seq;
        if r.stop_at.is_some_and(|s| seq >= s) {
            return Err(ReplayEnd.into());
        }
        r.seq += 1;
        let (k, a, b) = match ev {
            Event::Alloc { ptr, size, .. } => {
                r.live.alloc(ptr as u64);
                (1, ptr as u64, size as u64)
            }
            Event::Free { ptr, .. } => {
                r.live.free(ptr as u64);
                (2, ptr as u64, 0)
            }
            Event::Realloc { old, new, size, .. } => {
                r.live.realloc(old as u64, new as u64, size as u64);
                (3, (old as u64) << 32 | new as u64, size as u64)
            }
        };
        r.digest = mix(r.digest, k ^ a << 2, b);
        let mut ev = ev;
        if r.capture.wants(seq) {
            let mut frames = std::mem::take(&mut r.frames);
            let map = r.map.clone();
            capture(&*caller, &map, &mut frames);
            let r = caller.data_mut().recorder();
            let id = r.stacks.intern(&frames);
            r.frames = frames;
            match &mut ev {
                Event::Alloc { stack, .. } | Event::Free { stack, .. } | Event::Realloc { stack, .. } => *stack = id,
            }
        }
        let r = caller.data_mut().recorder();
        r.batch.push(ev);
        if r.batch.len() == BATCH {
            r.flush();
        }
        Ok(())
    }

    /// `wasmleak.check(ptr)`: 1 when `ptr` is a live block; otherwise the free is recorded now (the model reports
    /// it as invalid, with this stack) and the guest's wrapper skips the allocator.
    pub(crate) fn check<T: HasRecorder>(caller: &mut Caller<'_, T>, ptr: u32) -> wasmtime::Result<i32> {
        if caller.data_mut().recorder().live.contains(ptr as u64) {
            return Ok(1);
        }
        Recorder::record(caller, Event::Free { ptr, stack: StackId::NONE })?;
        Ok(0)
    }

    /// A return of the iteration function (`wasmleak::iteration`): part of the digest, so a replay that ran
    /// the loop a different number of times is told apart even when its allocator events are the same.
    pub(crate) fn note_iteration(&mut self) {
        self.digest = mix(self.digest, 4, self.seq);
    }

    fn flush(&mut self) {
        let next = self.spare.try_recv().unwrap_or_else(|_| Vec::with_capacity(BATCH));
        let full = std::mem::replace(&mut self.batch, next);
        if let Some(tx) = &self.tx {
            let _ = tx.send(Msg::Batch(full));
        }
    }

    /// The live heap as of the last event.
    pub(crate) fn query(&mut self) -> HeapNow {
        self.flush();
        let (reply, answer) = sync_channel(1);
        let tx = self.tx.as_ref().expect("not finished");
        tx.send(Msg::Query(reply)).expect("the heap model thread ended early");
        answer.recv().expect("the heap model thread ended early")
    }

    pub(crate) fn finish(mut self) -> Recorded {
        self.flush();
        drop(self.tx.take());
        let mut model = self.worker.take().expect("finished once").join().expect("the heap model thread panicked");
        model.stacks = std::mem::take(&mut self.stacks);
        Recorded { model, seq: self.seq, digest: self.digest }
    }
}

fn mix(h: u64, a: u64, b: u64) -> u64 {
    let x = (h ^ a).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(29) ^ b;
    x.wrapping_mul(0xBF58_476D_1CE4_E5B9)
}
