//! Snapshots written in the formats other tools read. Each format is a module with
//! `write(snapshot, analysis, out)`; the analysis is the one of that same snapshot.

pub mod flamegraph;
pub mod heapsnapshot;
pub mod html;
pub mod pprof;
