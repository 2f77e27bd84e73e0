//! A snapshot as a gzipped pprof profile (`profile.proto`), for `go tool pprof`, speedscope, Pyroscope…
//!
//! - Sample types, in the order Go's heap profiles use (so `pprof -sample_index=…` and the
//!   `-inuse_space`/`-alloc_objects` shortcuts behave as with a Go heap profile): `alloc_objects/count`,
//!   `alloc_space/bytes`, `inuse_objects/count`, `inuse_space/bytes`; the default is `inuse_space`.
//!   `inuse_*` count the blocks live at the snapshot, `alloc_*` every block allocated before it (the
//!   snapshot's allocation profile), freed or not.
//! - Sizes are the requested sizes (what the program asked the allocator for).
//! - One sample per (allocation stack, leak kind) of the live blocks, with the string label `kind` =
//!   `lost|indirect|cycle|host|reachable`, so `pprof -tagfocus kind=lost` shows the lost blocks only
//!   (and `-tagignore kind=reachable` every leak); and one per stack with `kind=freed` for the blocks
//!   allocated there and freed before the snapshot (`alloc_*` only). A snapshot file written before
//!   wasmleak kept the profile has no `freed` samples: its `alloc_*` equal `inuse_*`.
//! - One Location per physical frame: the frames inlined into it come first in `Location.line`, the
//!   physical function last (the proto's convention). Functions are (name, file); lines carry `line` and
//!   `column`. A snapshot has no code addresses, so `Location.address` is 0 and there is one mapping, the
//!   module, with full symbol information.
//! - Blocks without a stack get the single location `[no stack]`.

use std::collections::HashMap;
use std::io::{self, Write};

use flate2::write::GzEncoder;
use flate2::Compression;
use prost::Message;
use wasmleak_heap::{Analysis, Kind, Snapshot};

use crate::Strings;

/// The messages of pprof's `profile.proto` (github.com/google/pprof/blob/main/proto/profile.proto), written
/// by hand with prost's derive. Public so that readers (tests, other tools in this workspace) can decode a
/// profile with `Profile::decode`.
pub mod proto {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Profile {
        #[prost(message, repeated, tag = "1")]
        pub sample_type: Vec<ValueType>,
        #[prost(message, repeated, tag = "2")]
        pub sample: Vec<Sample>,
        #[prost(message, repeated, tag = "3")]
        pub mapping: Vec<Mapping>,
        #[prost(message, repeated, tag = "4")]
        pub location: Vec<Location>,
        #[prost(message, repeated, tag = "5")]
        pub function: Vec<Function>,
        /// `string_table[0]` is always "".
        #[prost(string, repeated, tag = "6")]
        pub string_table: Vec<String>,
        #[prost(int64, tag = "7")]
        pub drop_frames: i64,
        #[prost(int64, tag = "8")]
        pub keep_frames: i64,
        #[prost(int64, tag = "9")]
        pub time_nanos: i64,
        #[prost(int64, tag = "10")]
        pub duration_nanos: i64,
        #[prost(message, optional, tag = "11")]
        pub period_type: Option<ValueType>,
        #[prost(int64, tag = "12")]
        pub period: i64,
        #[prost(int64, repeated, tag = "13")]
        pub comment: Vec<i64>,
        #[prost(int64, tag = "14")]
        pub default_sample_type: i64,
    }

    #[derive(Clone, Copy, PartialEq, prost::Message)]
    pub struct ValueType {
        #[prost(int64, tag = "1")]
        pub r#type: i64,
        #[prost(int64, tag = "2")]
        pub unit: i64,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Sample {
        /// Leaf first.
        #[prost(uint64, repeated, tag = "1")]
        pub location_id: Vec<u64>,
        #[prost(int64, repeated, tag = "2")]
        pub value: Vec<i64>,
        #[prost(message, repeated, tag = "3")]
        pub label: Vec<Label>,
    }

    #[derive(Clone, Copy, PartialEq, prost::Message)]
    pub struct Label {
        #[prost(int64, tag = "1")]
        pub key: i64,
        #[prost(int64, tag = "2")]
        pub str: i64,
        #[prost(int64, tag = "3")]
        pub num: i64,
        #[prost(int64, tag = "4")]
        pub num_unit: i64,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Mapping {
        #[prost(uint64, tag = "1")]
        pub id: u64,
        #[prost(uint64, tag = "2")]
        pub memory_start: u64,
        #[prost(uint64, tag = "3")]
        pub memory_limit: u64,
        #[prost(uint64, tag = "4")]
        pub file_offset: u64,
        #[prost(int64, tag = "5")]
        pub filename: i64,
        #[prost(int64, tag = "6")]
        pub build_id: i64,
        #[prost(bool, tag = "7")]
        pub has_functions: bool,
        #[prost(bool, tag = "8")]
        pub has_filenames: bool,
        #[prost(bool, tag = "9")]
        pub has_line_numbers: bool,
        #[prost(bool, tag = "10")]
        pub has_inline_frames: bool,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Location {
        #[prost(uint64, tag = "1")]
        pub id: u64,
        #[prost(uint64, tag = "2")]
        pub mapping_id: u64,
        #[prost(uint64, tag = "3")]
        pub address: u64,
        /// Inlined functions first; the last entry is the function they were inlined into.
        #[prost(message, repeated, tag = "4")]
        pub line: Vec<Line>,
        #[prost(bool, tag = "5")]
        pub is_folded: bool,
    }

    #[derive(Clone, Copy, PartialEq, prost::Message)]
    pub struct Line {
        #[prost(uint64, tag = "1")]
        pub function_id: u64,
        #[prost(int64, tag = "2")]
        pub line: i64,
        #[prost(int64, tag = "3")]
        pub column: i64,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Function {
        #[prost(uint64, tag = "1")]
        pub id: u64,
        #[prost(int64, tag = "2")]
        pub name: i64,
        #[prost(int64, tag = "3")]
        pub system_name: i64,
        #[prost(int64, tag = "4")]
        pub filename: i64,
        #[prost(int64, tag = "5")]
        pub start_line: i64,
    }
}

use proto::{Function, Label, Line, Location, Mapping, Profile, Sample, ValueType};

/// Index of each sample value, in `sample_type` order.
pub const ALLOC_OBJECTS: usize = 0;
pub const ALLOC_SPACE: usize = 1;
pub const INUSE_OBJECTS: usize = 2;
pub const INUSE_SPACE: usize = 3;

/// Name of a block without a captured stack, as a function.
pub const NO_STACK: &str = "[no stack]";

/// The `kind` label of the language runtime's one-time allocations.
pub const RUNTIME_KIND: &str = "runtime";

/// The `kind` label of the blocks allocated and freed before the snapshot.
pub const FREED_KIND: &str = "freed";

const KINDS: [Kind; 5] = [Kind::Lost, Kind::Indirect, Kind::Cycle, Kind::Host, Kind::Reachable];

/// A string's index in the profile's `string_table`.
fn sid(strings: &mut Strings, s: &str) -> i64 {
    strings.id(s) as i64
}

/// The profile of a snapshot (not yet encoded): see the module documentation.
pub fn profile(snap: &Snapshot, analysis: &Analysis) -> Profile {
    let mut strings = Strings::new();
    let vt = |strings: &mut Strings, t: &str, u: &str| ValueType { r#type: sid(strings, t), unit: sid(strings, u) };
    let sample_type = vec![
        vt(&mut strings, "alloc_objects", "count"),
        vt(&mut strings, "alloc_space", "bytes"),
        vt(&mut strings, "inuse_objects", "count"),
        vt(&mut strings, "inuse_space", "bytes"),
    ];
    let period_type = vt(&mut strings, "space", "bytes");

    // Aggregate the blocks per (stack, kind), in the order the sites first occur (blocks by address).
    // The kind label: a leak kind, or `runtime` for the runtime's one-time allocations (the report's count apart).
    let runtime = wasmleak_report::runtime_stacks(snap);
    let mut groups: Vec<(u32, &str, u64, u64)> = Vec::new();
    let mut group_of: HashMap<(u32, &str), usize> = HashMap::new();
    for (b, c) in analysis.blocks.iter().zip(&analysis.classes) {
        let kind = if crate::is_runtime(c.kind, b.stack.0, &runtime) { RUNTIME_KIND } else { c.kind.as_str() };
        let mut stack = b.stack.0;
        if snap.stacks.get(stack as usize).is_none_or(|s| s.is_empty()) {
            stack = u32::MAX;
        }
        let g = *group_of.entry((stack, kind)).or_insert_with(|| {
            groups.push((stack, kind, 0, 0));
            groups.len() - 1
        });
        groups[g].2 += 1;
        groups[g].3 += b.size;
    }
    // What was allocated and freed before the snapshot, per stack: its allocations less its live blocks.
    let mut live: HashMap<u32, (u64, u64)> = HashMap::new();
    for b in &analysis.blocks {
        let l = live.entry(b.stack.0).or_default();
        l.0 += 1;
        l.1 += b.size;
    }
    for site in &snap.profile.sites {
        let (blocks, bytes) = live.get(&site.stack).copied().unwrap_or_default();
        let freed = (site.allocated_blocks.saturating_sub(blocks), site.allocated_bytes.saturating_sub(bytes));
        if freed.0 > 0 {
            let stack = if snap.stacks.get(site.stack as usize).is_none_or(|s| s.is_empty()) { u32::MAX } else { site.stack };
            groups.push((stack, FREED_KIND, freed.0, freed.1));
        }
    }
    // Biggest first within each kind, leaks first: the order `pprof -traces` lists them in.
    groups.sort_by_key(|&(stack, kind, _, bytes)| {
        (KINDS.iter().position(|k| k.as_str() == kind).unwrap_or(KINDS.len()), std::cmp::Reverse(bytes), stack)
    });

    let mut functions: Vec<Function> = Vec::new();
    let mut function_of: HashMap<(String, Option<String>), u64> = HashMap::new();
    let mut function_id = |strings: &mut Strings, name: &str, file: Option<&str>| -> u64 {
        let key = (name.to_owned(), file.map(str::to_owned));
        *function_of.entry(key).or_insert_with(|| {
            let name = sid(strings, name);
            let id = functions.len() as u64 + 1;
            functions.push(Function {
                id,
                name,
                system_name: name,
                filename: file.map_or(0, |f| sid(strings, f)),
                start_line: 0,
            });
            id
        })
    };

    let mapping_id = 1;
    let mut locations: Vec<Location> = Vec::new();
    // A location is a run of frame indices: the inlined frames, then the physical one.
    let mut location_of: HashMap<Vec<u32>, u64> = HashMap::new();
    let mut no_stack_location: Option<u64> = None;
    let kind_key = sid(&mut strings, "kind");

    let mut samples = Vec::with_capacity(groups.len());
    for &(stack, kind, count, bytes) in &groups {
        let mut location_id = Vec::new();
        if stack == u32::MAX {
            let id = *no_stack_location.get_or_insert_with(|| {
                let f = function_id(&mut strings, NO_STACK, None);
                let id = locations.len() as u64 + 1;
                locations.push(Location {
                    id,
                    mapping_id,
                    address: 0,
                    line: vec![Line { function_id: f, line: 0, column: 0 }],
                    is_folded: false,
                });
                id
            });
            location_id.push(id);
        } else {
            let frames = &snap.stacks[stack as usize];
            let mut run: Vec<u32> = Vec::new();
            for (i, &fi) in frames.iter().enumerate() {
                run.push(fi);
                let frame = &snap.frames[fi as usize];
                // A run ends at a physical frame (or at the end of the stack, should it end inlined).
                if frame.inlined && i + 1 < frames.len() {
                    continue;
                }
                let id = match location_of.get(&run) {
                    Some(&id) => id,
                    None => {
                        let line = run
                            .iter()
                            .map(|&fi| {
                                let f = &snap.frames[fi as usize];
                                Line {
                                    function_id: function_id(&mut strings, &f.function, f.file.as_deref()),
                                    line: f.line.map_or(0, i64::from),
                                    column: f.column.map_or(0, i64::from),
                                }
                            })
                            .collect();
                        let id = locations.len() as u64 + 1;
                        locations.push(Location { id, mapping_id, address: 0, line, is_folded: false });
                        location_of.insert(run.clone(), id);
                        id
                    }
                };
                location_id.push(id);
                run.clear();
            }
        }
        let (count, bytes) = (count as i64, bytes as i64);
        let mut value = vec![0; 4];
        value[ALLOC_OBJECTS] = count;
        value[ALLOC_SPACE] = bytes;
        if kind != FREED_KIND {
            value[INUSE_OBJECTS] = count;
            value[INUSE_SPACE] = bytes;
        }
        samples.push(Sample {
            location_id,
            value,
            label: vec![Label { key: kind_key, str: sid(&mut strings, kind), num: 0, num_unit: 0 }],
        });
    }

    let module = if snap.module.is_empty() { "module.wasm" } else { &snap.module };
    let mapping = Mapping {
        id: mapping_id,
        memory_start: 0,
        memory_limit: 0,
        file_offset: 0,
        filename: sid(&mut strings, module),
        build_id: 0,
        has_functions: true,
        has_filenames: true,
        has_line_numbers: true,
        has_inline_frames: true,
    };
    let comment = vec![
        sid(&mut strings, &format!("wasmleak snapshot {} of {} (iteration {})", snap.index, module, snap.iteration)),
        sid(&mut strings, &format!(
            "allocator events before the snapshot: {} allocations, {} frees; peak heap {} bytes in {} blocks",
            snap.allocations, snap.frees, snap.profile.peak_bytes, snap.profile.peak_blocks
        )),
    ];
    let default_sample_type = sid(&mut strings, "inuse_space");

    Profile {
        sample_type,
        sample: samples,
        mapping: vec![mapping],
        location: locations,
        function: functions,
        string_table: strings.list,
        drop_frames: 0,
        keep_frames: 0,
        time_nanos: 0,
        duration_nanos: 0,
        period_type: Some(period_type),
        period: 1,
        comment,
        default_sample_type,
    }
}

/// Write the snapshot as a gzipped pprof profile.
pub fn write(snap: &Snapshot, analysis: &Analysis, out: &mut dyn Write) -> io::Result<()> {
    let bytes = profile(snap, analysis).encode_to_vec();
    let mut gz = GzEncoder::new(out, Compression::default());
    gz.write_all(&bytes)?;
    gz.finish()?;
    Ok(())
}
