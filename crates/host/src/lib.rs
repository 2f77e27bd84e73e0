//! The wasmtime host: runs a module (plain, or instrumented with hooks that become heap events) under WASI
//! preview1, then collects what the analysis needs — the heap model, a memory image and the roots.
//!
//! Stacks are expensive (a wasmtime backtrace costs ~0.3 µs a frame), so by default a tracked run is a
//! *replay*: the first pass records events without stacks; the blocks still live at the end (and the bad
//! frees) are the only events whose stacks matter, and a second, identical pass captures just those.
//! A second pass whose events differ from the first (the program read the clock, or its input changed)
//! is detected, and a third pass then captures every stack.

mod events;
mod run;
mod stacks;

pub use run::{plain_run, tracked_run, Exit, Invoke, Outcome, RunConfig, StackMode, Stdout, MAX_ITERATION_SNAPSHOTS};
