//! The `.heapsnapshot` export, checked for the structure DevTools' loader depends on (tests/js/ loads the
//! files of the real binary with DevTools' own parser).

use serde_json::Value;
use wasmleak_export::heapsnapshot;
use wasmleak_heap::{SnapBlock, SnapFrame, SnapRegion, SnapValue, Snapshot};

const NODE_FIELDS: usize = 7;
const EDGE_FIELDS: usize = 3;
const SYNTHETIC: u64 = 9;
const OBJECT: u64 = 3;
const WEAK: u64 = 6;

fn frame(function: &str, file: &str, line: u32) -> SnapFrame {
    SnapFrame { function: function.into(), file: Some(file.into()), line: Some(line), column: None, inlined: false }
}

/// A hand-made heap: `data` → A → C (reachable), host value → H, lost L → I (indirect), cycle X ↔ Y.
fn snapshot(extra_block: bool) -> Snapshot {
    let mut blocks: Vec<(u64, u64, u64)> = vec![
        // (addr, size, seq)
        (0x1000, 16, 10), // A
        (0x1100, 8, 11),  // C
        (0x1200, 12, 12), // L
        (0x1300, 4, 13),  // I
        (0x1400, 8, 14),  // X
        (0x1500, 8, 15),  // Y
        (0x1600, 20, 16), // H
    ];
    if extra_block {
        blocks.push((0x1700, 40, 17));
    }
    let mut mem = vec![0u8; 0x1800];
    let mut put = |at: usize, v: u32| mem[at..at + 4].copy_from_slice(&v.to_le_bytes());
    put(0x100, 0x1000); // data → A
    put(0x108, 0x1108); // data → C (+8: one past its end, not a pointer)
    put(0x1004, 0x1100); // A+4 → C
    put(0x100c, 0x1104); // A+12 → C+4 (interior)
    put(0x1200, 0x1300); // L → I
    put(0x1404, 0x1500); // X+4 → Y
    put(0x1500, 0x1400); // Y → X
    let mut contents = Vec::new();
    for &(addr, size, _) in &blocks {
        contents.extend_from_slice(&mem[addr as usize..(addr + size) as usize]);
    }
    let frames = vec![
        frame("box_new_uninit", "/rustc/abc/library/alloc/src/boxed.rs", 248),
        frame("new<app::Thing>", "/rustc/abc/library/alloc/src/boxed.rs", 286),
        frame("app::make", "src/lib.rs", 7),
        frame("<app::X as app::T>::f", "src/lib.rs", 20),
    ];
    let stacks = vec![vec![0, 1, 2], vec![3]];
    Snapshot {
        module: "app.wasm".into(),
        index: 1,
        iteration: 1,
        allocations: blocks.len() as u64,
        frees: 0,
        blocks: blocks
            .iter()
            .map(|&(addr, size, seq)| SnapBlock { addr, size, seq, stack: if addr == 0x1400 { 1 } else { 0 } })
            .collect(),
        contents,
        frames,
        stacks,
        regions: vec![SnapRegion { name: "data".into(), start: 0x100, bytes: mem[0x100..0x110].to_vec() }],
        values: vec![SnapValue { name: "returned by make (call 1)".into(), value: 0x1600, host: true }],
        invalid_frees: Vec::new(),
        ..Default::default()
    }
}

fn export(snap: &Snapshot) -> String {
    let analysis = snap.analyze();
    let mut out = Vec::new();
    heapsnapshot::write(snap, &analysis, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

struct Parsed {
    json: Value,
    nodes: Vec<u64>,
    edges: Vec<u64>,
    strings: Vec<String>,
}

impl Parsed {
    fn new(text: &str) -> Parsed {
        let json: Value = serde_json::from_str(text).expect("valid JSON");
        let ints = |k: &str| -> Vec<u64> {
            json[k]
                .as_array()
                .unwrap_or_else(|| panic!("{k} is an array"))
                .iter()
                .map(|v| v.as_u64().unwrap_or_else(|| panic!("{k}: {v} is not a non-negative integer")))
                .collect()
        };
        let nodes = ints("nodes");
        let edges = ints("edges");
        let strings = json["strings"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_owned()).collect();
        Parsed { nodes, edges, strings, json }
    }
    fn node_count(&self) -> usize {
        self.nodes.len() / NODE_FIELDS
    }
    fn field(&self, node: usize, f: usize) -> u64 {
        self.nodes[node * NODE_FIELDS + f]
    }
    fn name(&self, node: usize) -> &str {
        &self.strings[self.field(node, 1) as usize]
    }
    fn by_id(&self, id: u64) -> usize {
        (0..self.node_count()).find(|&n| self.field(n, 2) == id).unwrap_or_else(|| panic!("no node with id {id}"))
    }
    /// `(type, name, target ordinal)` of each node's edges.
    fn edges_of(&self) -> Vec<Vec<(u64, u64, usize)>> {
        let mut at = 0;
        (0..self.node_count())
            .map(|n| {
                let k = self.field(n, 4) as usize;
                let e = (at..at + k)
                    .map(|j| {
                        let t = &self.edges[j * EDGE_FIELDS..j * EDGE_FIELDS + 3];
                        (t[0], t[1], t[2] as usize / NODE_FIELDS)
                    })
                    .collect();
                at += k;
                e
            })
            .collect()
    }
    /// Ordinals reachable from the root over non-weak edges (DevTools' distance search).
    fn reachable(&self) -> Vec<bool> {
        let edges = self.edges_of();
        let mut seen = vec![false; self.node_count()];
        seen[0] = true;
        let mut queue = vec![0];
        while let Some(n) = queue.pop() {
            for &(ty, _, t) in &edges[n] {
                if ty != WEAK && !seen[t] {
                    seen[t] = true;
                    queue.push(t);
                }
            }
        }
        seen
    }
}

fn positions(text: &str, keys: &[&str]) -> Vec<usize> {
    keys.iter().map(|k| text.find(&format!("\"{k}\":")).unwrap_or_else(|| panic!("key {k} missing"))).collect()
}

#[test]
fn keys_in_v8_order_and_strings_last() {
    let text = export(&snapshot(false));
    let top = positions(
        &text,
        &["snapshot", "nodes", "edges", "trace_function_infos", "trace_tree", "samples", "locations", "strings"],
    );
    assert!(top.windows(2).all(|w| w[0] < w[1]), "top-level keys out of order: {top:?}");
    assert!(text.starts_with("{\"snapshot\":{\"meta\":{\"node_fields\":"));
    let meta = positions(
        &text,
        &[
            "node_fields", "node_types", "edge_fields", "edge_types", "trace_function_info_fields",
            "trace_node_fields", "sample_fields", "location_fields", "node_count", "edge_count",
            "trace_function_count",
        ],
    );
    assert!(meta.windows(2).all(|w| w[0] < w[1]), "meta keys out of order: {meta:?}");
    // DevTools parses the strings as everything up to the last ']' of the file.
    let tail = &text[text.rfind(']').unwrap() + 1..];
    assert_eq!(tail.trim(), "}");
    let p = Parsed::new(&text);
    let m = &p.json["snapshot"]["meta"];
    assert_eq!(
        m["node_fields"],
        serde_json::json!(["type", "name", "id", "self_size", "edge_count", "trace_node_id", "detachedness"])
    );
    assert_eq!(m["edge_fields"], serde_json::json!(["type", "name_or_index", "to_node"]));
    assert_eq!(m["node_types"][0][SYNTHETIC as usize], "synthetic");
    assert_eq!(m["node_types"][0][OBJECT as usize], "object");
    assert_eq!(m["edge_types"][0][WEAK as usize], "weak");
    assert_eq!(p.json["snapshot"]["trace_function_count"], 0);
}

#[test]
fn counts_are_exact_and_indices_valid() {
    let snap = snapshot(false);
    let p = Parsed::new(&export(&snap));
    let node_count = p.json["snapshot"]["node_count"].as_u64().unwrap() as usize;
    let edge_count = p.json["snapshot"]["edge_count"].as_u64().unwrap() as usize;
    assert_eq!(p.nodes.len(), node_count * NODE_FIELDS);
    assert_eq!(p.edges.len(), edge_count * EDGE_FIELDS);
    // root + one per root (1 region, 1 value) + the leaked holder + the blocks
    assert_eq!(node_count, 1 + 2 + 1 + snap.blocks.len());
    let sum: u64 = (0..node_count).map(|n| p.field(n, 4)).sum();
    assert_eq!(sum as usize, edge_count);
    for n in 0..node_count {
        assert!((p.field(n, 1) as usize) < p.strings.len());
    }
    for e in p.edges.chunks(EDGE_FIELDS) {
        assert_eq!(e[2] as usize % NODE_FIELDS, 0, "to_node is a node's first field");
        assert!((e[2] as usize) < p.nodes.len());
        if e[0] != 1 {
            assert!((e[1] as usize) < p.strings.len(), "named edges name a string");
        }
    }
    let mut ids: Vec<u64> = (0..node_count).map(|n| p.field(n, 2)).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), node_count, "ids are unique");
}

#[test]
fn root_first_then_roots_then_blocks() {
    let snap = snapshot(false);
    let p = Parsed::new(&export(&snap));
    assert_eq!((p.field(0, 0), p.field(0, 2), p.name(0)), (SYNTHETIC, 1, ""));
    assert_eq!(p.name(1), "data (0x100..0x110)");
    assert_eq!(p.name(2), "returned by make (call 1)");
    assert_eq!(p.name(3), heapsnapshot::LEAKED_NAME);
    for b in &snap.blocks {
        let n = p.by_id(2 * b.seq + 3);
        assert_eq!(p.field(n, 0), OBJECT);
        assert_eq!(p.field(n, 3), b.size, "self size is the requested size");
    }
    let a = p.by_id(23);
    assert_eq!(p.name(a), "Box<app::Thing> from app::make (src/lib.rs:7)");
    // A site whose name starts with '<' is prefixed (DevTools cuts '<...' names at the first space).
    assert_eq!(p.name(p.by_id(31)), "fn <app::X as app::T>::f (src/lib.rs:20)");
}

#[test]
fn edges_follow_the_pointer_scan() {
    let p = Parsed::new(&export(&snapshot(false)));
    let edges = p.edges_of();
    let named = |n: usize| -> Vec<(String, u64)> {
        edges[n].iter().map(|&(_, name, t)| (p.strings[name as usize].clone(), p.field(t, 2))).collect()
    };
    let (a, c, l, i, x, y, h) = (23, 25, 27, 29, 31, 33, 35);
    assert_eq!(named(1), vec![("0x100".to_owned(), a)], "data holds A in the word at 0x100");
    assert_eq!(named(2), vec![("0x1600".to_owned(), h)]);
    assert_eq!(named(p.by_id(a)), vec![("+4".to_owned(), c), ("+12 → +4".to_owned(), c)]);
    assert_eq!(named(p.by_id(l)), vec![("+0".to_owned(), i)]);
    assert_eq!(named(p.by_id(x)), vec![("+4".to_owned(), y)]);
    assert_eq!(named(p.by_id(y)), vec![("+0".to_owned(), x)]);
    assert_eq!(named(3), vec![("lost".to_owned(), l), ("cycle 0".to_owned(), x), ("cycle 0".to_owned(), y)]);
    // The leaked holder hangs off the root by a weak edge only.
    assert_eq!(edges[0].last().map(|e| (e.0, e.2)), Some((WEAK, 3)));
}

#[test]
fn leaked_blocks_are_unreachable_from_the_root() {
    let p = Parsed::new(&export(&snapshot(false)));
    let reach = p.reachable();
    for (id, expect) in [(23, true), (25, true), (35, true), (27, false), (29, false), (31, false), (33, false)] {
        assert_eq!(reach[p.by_id(id)], expect, "block id {id}");
    }
    assert!(!reach[3], "the leaked holder itself is only weakly held");
}

#[test]
fn ids_are_stable_across_snapshots_of_a_run() {
    let before = Parsed::new(&export(&snapshot(false)));
    let after = Parsed::new(&export(&snapshot(true)));
    for seq in 10..=16u64 {
        let id = 2 * seq + 3;
        assert_eq!(before.name(before.by_id(id)), after.name(after.by_id(id)));
    }
    assert_eq!(after.node_count(), before.node_count() + 1);
    assert_eq!(after.field(after.by_id(37), 3), 40);
}

#[test]
fn empty_heap() {
    let snap = Snapshot::default();
    let p = Parsed::new(&export(&snap));
    assert_eq!(p.node_count(), 2, "the root and the leaked holder");
    assert_eq!(p.json["snapshot"]["edge_count"], 1);
}
