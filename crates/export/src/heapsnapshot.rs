//! Chrome DevTools heap snapshot (`.heapsnapshot`, V8's JSON format): Memory → Load in DevTools.
//!
//! The graph:
//! - node 0: the synthetic root (id 1, name "");
//! - one synthetic node per root of the analysis (regions first, then values, named like
//!   [`Snapshot::root_names`]), children of the root (`element` edges, index = root number); a region's
//!   edges are `property` edges named by the address of the word holding the pointer (`0x1040`), after the static variable it lies
//!   in when DWARF names one (`rust_lib::CACHE+8 0x100408`), a value's
//!   edge is named by the value;
//! - one synthetic node "(wasmleak: leaked)", reached from the root only through a `weak` edge: DevTools
//!   lists it among the root's children (Containment view), but its targets stay unreachable (no distance)
//!   and it becomes their dominator, so its retained size is the leaked bytes. Its edges go to the lost
//!   blocks and the cycle blocks (`property` edges named `lost`, `cycle 0`, …); indirect blocks hang off
//!   their owners;
//! - when the language runtime's one-time allocations are live (wasi-libc's argv copy, which the report
//!   counts apart), one synthetic node "(wasmleak: runtime)", a child of the root, holding them;
//! - one `object` node per live block: name = `Type from site` when the allocation stack shows the type
//!   ([`wasmleak_report::type_of`] / [`wasmleak_report::stack_types`])
//!   (`Rc<RefCell<Node>>`), else the site (`crate::function (src/main.rs:38)`, the first frame of the
//!   program's own code), id = `2 * seq + 3` (odd, like V8's heap object ids, and the same for a block in
//!   every snapshot of a run, so DevTools' Comparison view matches blocks), self size = requested bytes,
//!   one `property` edge per pointer word found by the scan, named `+offset` (`+8 → +16` for a pointer
//!   into the middle of the target).
//!
//! Synthetic nodes have even ids (V8: odd ids are JS heap objects; DevTools ignores even ids for its
//! allocation-range features). Rc/Arc `Weak` pointers cannot be told apart from strong ones in memory:
//! every pointer is a strong edge.

use std::collections::HashMap;
use std::io::{self, Write};

use wasmleak_heap::{Analysis, Kind, SnapFrame, Snapshot};

use crate::Strings;

// Indices into the `node_types` / `edge_types` lists written in `meta` (V8's order).
const NODE_OBJECT: u32 = 3;
const NODE_SYNTHETIC: u32 = 9;
const EDGE_ELEMENT: u32 = 1;
const EDGE_PROPERTY: u32 = 2;
const EDGE_WEAK: u32 = 6;

const NODE_FIELDS: usize = 7;

/// Id of the synthetic root.
pub const ROOT_ID: u64 = 1;
/// Id of the "(wasmleak: leaked)" node.
pub const LEAKED_ID: u64 = 2;
/// Name of the node that holds the leaked blocks.
pub const LEAKED_NAME: &str = "(wasmleak: leaked)";

/// Id of the "(wasmleak: runtime)" node, present when the language runtime's one-time allocations (wasi-libc's
/// argv copy, counted apart by the report) are live: a root child holding them, so they are not leaks.
pub const RUNTIME_ID: u64 = 4;
/// Name of the node that holds the runtime's one-time allocations.
pub const RUNTIME_NAME: &str = "(wasmleak: runtime)";

/// Id of the node of root number `r` (regions first, then values).
pub fn root_node_id(r: usize) -> u64 {
    6 + 2 * r as u64
}

/// Id of the node of the block with allocation sequence number `seq`.
pub fn block_node_id(seq: u64) -> u64 {
    2 * seq + 3
}

const META: &str = r#"{"node_fields":["type","name","id","self_size","edge_count","trace_node_id","detachedness"],"node_types":[["hidden","array","string","object","code","closure","regexp","number","native","synthetic","concatenated string","sliced string","symbol","bigint","object shape"],"string","number","number","number","number","number"],"edge_fields":["type","name_or_index","to_node"],"edge_types":[["context","element","property","internal","hidden","shortcut","weak"],"string_or_number","node"],"trace_function_info_fields":["function_id","name","script_name","script_id","line","column"],"trace_node_fields":["id","function_info_index","count","size","children"],"sample_fields":["timestamp_us","last_assigned_id"],"location_fields":["object_index","script_id","line","column"]}"#;

/// A string's index in the snapshot's table (V8 stores them as numbers in the node and edge arrays).
fn sid(strings: &mut Strings, s: &str) -> u32 {
    strings.id(s) as u32
}

struct Node {
    ty: u32,
    name: u32,
    id: u64,
    self_size: u64,
    /// `(type, name_or_index, target node ordinal)`
    edges: Vec<(u32, u32, u32)>,
}

/// Source files of the languages' own libraries: the site is the first frame not in one of them.
const LIBRARY_FILES: &[&str] = &[
    "library/alloc/", "library/core/", "library/std/", "/rustc/", "/.cargo/registry/", "libc-bottom-half/",
    "libc-top-half/", "/c++/v1/", "/libcxx/", "/libcxxabi/", "emscripten/system/", "/wasi-libc/", "/dlmalloc-",
];

const LIBRARY_PREFIXES: &[&str] = &[
    "alloc::", "core::", "std::", "<alloc::", "<core::", "<std::", "hashbrown::", "<hashbrown::", "dlmalloc::",
    "<dlmalloc::", "__cxa_", "__cxx", "_start", "__main_void", "__main_argc_argv", "__libc_", "__wasi_", "__rust_",
    "__rustc::", "__rdl_", "__rg_", "malloc", "calloc", "realloc", "operator new",
];

fn is_library_frame(f: &SnapFrame) -> bool {
    match &f.file {
        Some(file) => LIBRARY_FILES.iter().any(|l| file.contains(l)),
        None => LIBRARY_PREFIXES.iter().any(|p| f.function.starts_with(p)),
    }
}

fn frame_text(f: &SnapFrame) -> String {
    match (&f.file, f.line) {
        (Some(file), Some(line)) => format!("{} ({file}:{line})", f.function),
        (Some(file), None) => format!("{} ({file})", f.function),
        _ => f.function.clone(),
    }
}

/// The node name of a block allocated at stack `stack`.
fn block_name(snap: &Snapshot, stack: u32, ty: Option<String>) -> String {
    let frames: Vec<&SnapFrame> = snap.stack(stack).collect();
    let site = frames.iter().find(|f| !is_library_frame(f)).or(frames.first()).map(|f| frame_text(f));
    let name = match (ty, site) {
        (Some(t), Some(s)) => format!("{t} from {s}"),
        (None, Some(s)) => s,
        (Some(t), None) => t,
        (None, None) => "(unknown allocation site)".to_owned(),
    };
    // DevTools cuts names that start with '<' at the first space (it takes them for HTML tags: `<div id=..>`
    // → `<div>`), which would merge `<T as Trait>::f (..)` sites into one class.
    if name.starts_with('<') { format!("fn {name}") } else { name }
}

/// Aligned 32-bit words fully inside `[start, start + bytes.len())`: `(address, value)`.
fn words(start: u64, bytes: &[u8]) -> impl Iterator<Item = (u64, u32)> + '_ {
    let first = ((start + 3) & !3) - start;
    let first = (first as usize).min(bytes.len());
    bytes[first..].chunks_exact(4).enumerate().map(move |(k, c)| {
        (start + first as u64 + 4 * k as u64, u32::from_le_bytes(c.try_into().unwrap()))
    })
}

fn edge_name(offset: u64, value: u64, target_addr: u64) -> String {
    let into = value - target_addr;
    if into == 0 { format!("+{offset}") } else { format!("+{offset} → +{into}") }
}

/// Write `snap` (with `analysis`, the analysis of that same snapshot) as a V8 heap snapshot.
pub fn write(snap: &Snapshot, analysis: &Analysis, out: &mut dyn Write) -> io::Result<()> {
    let blocks = &analysis.blocks;
    let n_blocks = blocks.len();
    let root_names = snap.root_names();
    let n_roots = root_names.len();
    let runtime_stacks = wasmleak_report::runtime_stacks(snap);
    let runtime: Vec<usize> = (0..n_blocks)
        .filter(|&i| crate::is_runtime(analysis.classes[i].kind, blocks[i].stack.0, &runtime_stacks))
        .collect();
    // Ordinals: root, root holders, the leaked node, the runtime node (when there are runtime blocks), blocks.
    let leaked_ordinal = 1 + n_roots;
    let runtime_ordinal = leaked_ordinal + 1;
    let first_block = runtime_ordinal + usize::from(!runtime.is_empty());
    let block_ordinal = |i: usize| (first_block + i) as u32;

    let mut strings = Strings::new();
    let mut nodes: Vec<Node> = Vec::with_capacity(n_blocks + n_roots + 2);

    // The root.
    let mut root_edges: Vec<(u32, u32, u32)> = (0..n_roots).map(|r| (EDGE_ELEMENT, r as u32, (1 + r) as u32)).collect();
    root_edges.push((EDGE_WEAK, sid(&mut strings, LEAKED_NAME), leaked_ordinal as u32));
    if !runtime.is_empty() {
        root_edges.push((EDGE_PROPERTY, sid(&mut strings, RUNTIME_NAME), runtime_ordinal as u32));
    }
    nodes.push(Node { ty: NODE_SYNTHETIC, name: 0, id: ROOT_ID, self_size: 0, edges: root_edges });

    // The roots of the analysis.
    for (r, name) in root_names.iter().enumerate() {
        let mut edges = Vec::new();
        if let Some(region) = snap.regions.get(r) {
            for (at, v) in words(region.start, &region.bytes) {
                if let Some(t) = analysis.block_containing(v as u64) {
                    // The word's address, after the static holding it when DWARF names one.
                    let word = match snap.static_at(at) {
                        Some((s, 0)) => format!("{} {at:#x}", s.name),
                        Some((s, off)) => format!("{}+{off} {at:#x}", s.name),
                        None => format!("{at:#x}"),
                    };
                    let label = if v as u64 == blocks[t].addr {
                        word
                    } else {
                        format!("{word} → +{}", v as u64 - blocks[t].addr)
                    };
                    edges.push((EDGE_PROPERTY, sid(&mut strings, &label), block_ordinal(t)));
                }
            }
        } else {
            let v = snap.values[r - snap.regions.len()].value;
            if let Some(t) = u32::try_from(v).ok().and_then(|v| analysis.block_containing(v as u64)) {
                edges.push((EDGE_PROPERTY, sid(&mut strings, &format!("{v:#x}")), block_ordinal(t)));
            }
        }
        nodes.push(Node { ty: NODE_SYNTHETIC, name: sid(&mut strings, name), id: root_node_id(r), self_size: 0, edges });
    }

    // The leaked blocks' holder.
    let mut leaked_edges = Vec::new();
    for (i, class) in analysis.classes.iter().enumerate() {
        if runtime.binary_search(&i).is_ok() {
            continue;
        }
        let label = match (class.kind, class.cycle) {
            (Kind::Lost, _) => "lost".to_owned(),
            (Kind::Cycle, Some(c)) => format!("cycle {c}"),
            (Kind::Cycle, None) => "cycle".to_owned(),
            _ => continue,
        };
        leaked_edges.push((EDGE_PROPERTY, sid(&mut strings, &label), block_ordinal(i)));
    }
    nodes.push(Node { ty: NODE_SYNTHETIC, name: sid(&mut strings, LEAKED_NAME), id: LEAKED_ID, self_size: 0, edges: leaked_edges });
    if !runtime.is_empty() {
        let edges = runtime.iter().map(|&i| (EDGE_PROPERTY, sid(&mut strings, "runtime"), block_ordinal(i))).collect();
        nodes.push(Node { ty: NODE_SYNTHETIC, name: sid(&mut strings, RUNTIME_NAME), id: RUNTIME_ID, self_size: 0, edges });
    }

    // The blocks: contents from the snapshot (same blocks, same address order as the analysis').
    let mut content_at: HashMap<u64, (usize, usize)> = HashMap::with_capacity(snap.blocks.len());
    let mut at = 0usize;
    for b in &snap.blocks {
        content_at.insert(b.addr, (at, b.size as usize));
        at += b.size as usize;
    }
    let mut names: HashMap<u32, u32> = HashMap::new();
    let types = wasmleak_report::stack_types(snap);
    for (i, b) in blocks.iter().enumerate() {
        let name = match names.get(&b.stack.0) {
            Some(&n) => n,
            None => {
                let ty = types.get(b.stack.0 as usize).cloned().flatten();
                let n = sid(&mut strings, &block_name(snap, b.stack.0, ty));
                names.insert(b.stack.0, n);
                n
            }
        };
        // The analysis' edges, named by where the pointer sits in the holder and, for a pointer into the
        // middle of its target, where it lands.
        let bytes = content_at
            .get(&b.addr)
            .and_then(|&(start, len)| snap.contents.get(start..start + len))
            .unwrap_or(&[]);
        let edges = analysis
            .edges_with_offsets(i)
            .map(|(t, at)| {
                let v = bytes
                    .get(at as usize..at as usize + 4)
                    .map_or(blocks[t as usize].addr, |w| u32::from_le_bytes(w.try_into().unwrap()) as u64);
                let label = edge_name(at as u64, v, blocks[t as usize].addr);
                (EDGE_PROPERTY, sid(&mut strings, &label), block_ordinal(t as usize))
            })
            .collect();
        nodes.push(Node { ty: NODE_OBJECT, name, id: block_node_id(b.seq), self_size: b.size, edges });
    }

    write_json(&nodes, &strings.list, out)
}

fn write_json(nodes: &[Node], strings: &[String], out: &mut dyn Write) -> io::Result<()> {
    let mut w = io::BufWriter::with_capacity(1 << 16, out);
    let edge_count: usize = nodes.iter().map(|n| n.edges.len()).sum();
    write!(
        w,
        "{{\"snapshot\":{{\"meta\":{META},\"node_count\":{},\"edge_count\":{edge_count},\"trace_function_count\":0}},\n\"nodes\":[",
        nodes.len()
    )?;
    for (k, n) in nodes.iter().enumerate() {
        let sep = if k == 0 { "" } else { ",\n" };
        // type, name, id, self_size, edge_count, trace_node_id, detachedness
        write!(w, "{sep}{},{},{},{},{},0,0", n.ty, n.name, n.id, n.self_size, n.edges.len())?;
    }
    w.write_all(b"],\n\"edges\":[")?;
    let mut first = true;
    for n in nodes {
        for &(ty, name, to) in &n.edges {
            let sep = if first { "" } else { ",\n" };
            first = false;
            // `to_node` is the index of the target's first field in `nodes`.
            write!(w, "{sep}{ty},{name},{}", to as usize * NODE_FIELDS)?;
        }
    }
    w.write_all(b"],\n\"trace_function_infos\":[],\n\"trace_tree\":[],\n\"samples\":[],\n\"locations\":[],\n\"strings\":[")?;
    for (k, s) in strings.iter().enumerate() {
        if k > 0 {
            w.write_all(b",\n")?;
        }
        serde_json::to_writer(&mut w, s)?;
    }
    w.write_all(b"]}\n")?;
    w.flush()
}
