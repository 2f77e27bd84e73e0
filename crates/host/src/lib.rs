//! The wasmtime host: runs a module (plain, or instrumented with hooks that become heap events) under WASI
//! preview1, then collects what the analysis needs — the heap model, a memory image and the roots.
//!
//! The guest runs once. Every event gets its stack: the instrumented module hands each hook a calling-context
//! id (a hash of the call sites from the entry down), and the host walks the real stack (~0.3 µs a frame) only
//! the first time it sees an id; afterwards a stack is a table lookup.

mod clock;
pub mod embed;
mod events;
mod run;
mod stacks;
mod threads;

pub use clock::Clock;
pub use run::{plain_run, tracked_run, Exit, Finished, Invoke, Outcome, Progress, RunConfig, StackMode, Stdout, MAX_ITERATION_SNAPSHOTS};
