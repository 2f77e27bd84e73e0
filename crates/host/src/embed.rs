//! Leak tracking inside your own wasmtime host (a plugin host, a FaaS platform): the module runs in your
//! `Store`, with your imports, called however your host calls it, and wasmleak records its allocator.
//!
//! ```no_run
//! use wasmleak_host::embed::{HasTracker, Tracker};
//! use wasmtime::{Engine, Linker, Module, Store};
//!
//! struct Host { tracker: Tracker }
//! impl HasTracker for Host {
//!     fn tracker(&mut self) -> &mut Tracker { &mut self.tracker }
//! }
//!
//! # fn main() -> anyhow::Result<()> {
//! let bytes = std::fs::read("plugin.wasm")?;
//! let plugin = wasmleak_host::embed::instrument(&bytes)?; // finds the allocator, rewrites the module
//! let engine = Engine::default();
//! let module = Module::new(&engine, &plugin.instrumented.bytes)?;
//! let mut linker: Linker<Host> = Linker::new(&engine);
//! wasmleak_host::embed::add_to_linker(&mut linker)?; // the `wasmleak` hook imports
//! // … your own imports …
//! let mut store = Store::new(&engine, Host { tracker: Tracker::new(&plugin) });
//! let instance = linker.instantiate(&mut store, &module)?;
//! let handle = instance.get_typed_func::<i32, i32>(&mut store, "handle")?;
//! for request in 0..1000 {
//!     handle.call(&mut store, request)?;
//! }
//! let heap = Tracker::heap_state(&mut store, &instance, 1000); // the live blocks, their bytes, the roots
//! println!("{} live blocks", heap.blocks.len());
//! # Ok(()) }
//! ```
//!
//! The instrumented module imports the `wasmleak` hooks (docs/contracts.md, "Hook ABI") and exports what the
//! tracker reads (`wasmleak:*`); everything else about it is the original module's — same imports, exports,
//! memory and behaviour, except that a free of something that is not a live block is recorded and not handed to
//! the allocator.

use std::sync::Arc;

use anyhow::{Context, Result};
use wasmleak_heap::{HeapModel, HeapState, InvalidFree};
use wasmleak_instrument::{discover, Discovery, Instrumented, InstrumentOptions, ModuleInfo, Overrides};
use wasmtime::{AsContextMut, Instance, Linker};

use crate::events::{HasRecorder, Recorder};
use crate::run::{Capturer, StackMode};

/// A module instrumented for tracking, and what the tracker needs to know about it.
pub struct Plugin {
    pub instrumented: Instrumented,
    pub info: ModuleInfo,
}

/// Find the module's allocator (by its names, or by its code when stripped — as `wasmleak check` does) and
/// instrument it with buffered hooks and calling contexts. A module whose allocator is not found is refused,
/// with why: nothing would be tracked.
pub fn instrument(bytes: &[u8]) -> Result<Plugin> {
    let info = ModuleInfo::parse(bytes).context("reading the module")?;
    let found = discover(bytes, &info, &Default::default(), &Overrides::default(), &Discovery::default())
        .context("finding the module's allocator")?;
    instrument_with(bytes, info, &found.entry_points)
}

/// Instrument the module with the allocator entry points given (`wasmleak_instrument::EntryPoint`s).
pub fn instrument_with(bytes: &[u8], info: ModuleInfo, entry_points: &[wasmleak_instrument::EntryPoint]) -> Result<Plugin> {
    let options = InstrumentOptions { buffered: true, checked_frees: true, contexts: true, ..Default::default() };
    let instrumented = wasmleak_instrument::instrument_with(bytes, &info, entry_points, &options).context("instrumenting the module")?;
    Ok(Plugin { instrumented, info })
}

/// The heap of one instance as its allocator events come in (a heap-model thread applies them), in your
/// store's data: implement [`HasTracker`] for that type.
pub struct Tracker {
    recorder: Recorder,
    capturer: Capturer,
    host_values: Vec<(String, u64)>,
}

/// A store data type that holds a [`Tracker`].
pub trait HasTracker: 'static {
    fn tracker(&mut self) -> &mut Tracker;
}

impl<T: HasTracker> HasRecorder for T {
    fn recorder(&mut self) -> &mut Recorder {
        &mut self.tracker().recorder
    }
}

/// Add the `wasmleak` hook imports an instrumented module needs.
pub fn add_to_linker<T: HasTracker>(linker: &mut Linker<T>) -> Result<()> {
    crate::run::add_hooks(linker)
}

impl Tracker {
    /// A tracker for one instance of `plugin` (one per store).
    pub fn new(plugin: &Plugin) -> Tracker {
        let instrumented = Arc::new(plugin.instrumented.clone());
        let mut recorder = Recorder::new(StackMode::Contexts, Arc::new(instrumented.map.clone()), instrumented.memory_export.clone(), None);
        recorder.follow_splits(&instrumented, &plugin.info);
        Tracker {
            recorder,
            capturer: Capturer { info: Arc::new(plugin.info.clone()), instrumented, progress: None, statics: None, keep_memory: false },
            host_values: Vec::new(),
        }
    }

    /// A number your host keeps that points into the module's memory (a handle a call returned): the block
    /// there is held by the host, not lost.
    pub fn hold(&mut self, label: impl Into<String>, value: u32) {
        self.host_values.push((label.into(), value as u64));
    }

    /// The heap now, between calls into the instance: its live blocks with their stacks and bytes, the roots,
    /// the allocation profile. `iteration` numbers it (growth is judged between states in iteration order).
    pub fn heap_state<T: HasTracker>(mut store: impl AsContextMut<Data = T>, instance: &Instance, iteration: u64) -> HeapState {
        let mut cx = store.as_context_mut();
        let tracker = cx.data_mut().tracker();
        let (capturer, values) = (tracker.capturer.clone(), tracker.host_values.clone());
        capturer.capture(&mut cx, Some(instance), iteration, false, &values)
    }

    /// The invalid frees recorded so far (frees and reallocs of what was not a live block).
    pub fn invalid_frees<T: HasTracker>(mut store: impl AsContextMut<Data = T>) -> Vec<InvalidFree> {
        Recorder::query(&mut store.as_context_mut(), false).invalid_frees
    }

    /// End the tracking: the heap model after the last event, with every stack.
    pub fn finish<T: HasTracker>(mut store: impl AsContextMut<Data = T>, take: impl FnOnce(&mut T) -> Tracker) -> HeapModel {
        Recorder::finish(&mut store.as_context_mut(), |data: &mut T| take(data).recorder).model
    }
}
