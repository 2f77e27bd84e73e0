//! The language runtime's one-time allocations (wasi-libc's argv copy, allocated in `__main_void` before
//! `main`): the report counts them apart (`runtime_*`), and every export labels them `runtime`, not a leak.

mod common;

use common::{analysis, frame, synthetic};
use serde_json::Value;
use wasmleak_export::{flamegraph, heapsnapshot, pprof};
use wasmleak_heap::{SnapBlock, Snapshot};

/// `synthetic()` plus two lost blocks of the runtime: argv's pointer array (24 B) and its strings (8 B),
/// allocated under `__main_void` ← `_start`.
fn with_runtime() -> Snapshot {
    let mut s = synthetic();
    let f = s.frames.len() as u32;
    s.frames.push(frame("__main_void", "libc-bottom-half/sources/__main_void.c", 41, false));
    s.frames.push(frame("_start", "libc-bottom-half/crt/crt1-command.c", 43, false));
    s.stacks.push(vec![f, f + 1]);
    let stack = s.stacks.len() as u32 - 1;
    for (addr, size, seq) in [(0x900, 24u64, 100u64), (0x980, 8, 101)] {
        s.blocks.push(SnapBlock { addr, size, seq, stack });
        s.contents.extend(std::iter::repeat_n(0u8, size as usize));
    }
    s
}

#[test]
fn flamegraph_puts_runtime_blocks_in_their_own_tower() {
    let s = with_runtime();
    let lines = flamegraph::collapsed_lines(&s, &analysis(&s));
    let runtime: Vec<_> = lines.iter().filter(|l| l.starts_with("runtime;")).collect();
    assert_eq!(runtime, ["runtime;_start;__main_void 32"], "{lines:#?}");
    assert!(!lines.iter().any(|l| l.starts_with("leaked") && l.contains("__main_void")), "{lines:#?}");
    // The program's own lost blocks stay leaks.
    assert!(lines.iter().any(|l| l.starts_with("leaked:lost;")), "{lines:#?}");
}

#[test]
fn pprof_labels_runtime_blocks_kind_runtime() {
    let s = with_runtime();
    let p = pprof::profile(&s, &analysis(&s));
    let kind_of = |sample: &pprof::proto::Sample| p.string_table[sample.label[0].str as usize].clone();
    let runtime: Vec<_> = p.sample.iter().filter(|x| kind_of(x) == "runtime").collect();
    assert_eq!(runtime.len(), 1);
    assert_eq!(runtime[0].value[pprof::INUSE_SPACE], 32);
    assert_eq!(runtime[0].value[pprof::INUSE_OBJECTS], 2);
    let lost: i64 = p.sample.iter().filter(|x| kind_of(x) == "lost").map(|x| x.value[pprof::INUSE_SPACE]).sum();
    assert_eq!(lost, 24 + 32 + 12, "the synthetic heap's own lost blocks, nothing of the runtime's");
}

#[test]
fn heapsnapshot_holds_runtime_blocks_under_a_runtime_node_not_the_leaked_one() {
    let s = with_runtime();
    let mut out = Vec::new();
    heapsnapshot::write(&s, &analysis(&s), &mut out).unwrap();
    let v: Value = serde_json::from_slice(&out).unwrap();
    let strings: Vec<&str> = v["strings"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    let nodes = v["nodes"].as_array().unwrap();
    let edges = v["edges"].as_array().unwrap();
    let n = nodes.len() / 7;
    // node ordinal → (id, name, its edges' target ids)
    let mut first_edge = 0;
    let mut graph = Vec::new();
    for i in 0..n {
        let id = nodes[i * 7 + 2].as_u64().unwrap();
        let name = strings[nodes[i * 7 + 1].as_u64().unwrap() as usize];
        let count = nodes[i * 7 + 4].as_u64().unwrap() as usize;
        let targets: Vec<u64> = (first_edge..first_edge + count)
            .map(|e| nodes[edges[e * 3 + 2].as_u64().unwrap() as usize + 2].as_u64().unwrap())
            .collect();
        first_edge += count;
        graph.push((id, name, targets));
    }
    let node = |name: &str| graph.iter().find(|(_, n, _)| *n == name).unwrap_or_else(|| panic!("no {name} node"));
    let (runtime_id, _, runtime_targets) = node(heapsnapshot::RUNTIME_NAME);
    assert_eq!(*runtime_id, heapsnapshot::RUNTIME_ID);
    let argv = [heapsnapshot::block_node_id(100), heapsnapshot::block_node_id(101)];
    assert_eq!(runtime_targets, &argv);
    let (_, _, leaked_targets) = node(heapsnapshot::LEAKED_NAME);
    assert!(argv.iter().all(|a| !leaked_targets.contains(a)), "{leaked_targets:?}");
    assert!(!leaked_targets.is_empty());
    // A child of the root, so DevTools counts them reachable.
    assert!(graph[0].2.contains(&heapsnapshot::RUNTIME_ID));
    // Without runtime blocks there is no such node.
    let plain = synthetic();
    let mut out = Vec::new();
    heapsnapshot::write(&plain, &analysis(&plain), &mut out).unwrap();
    assert!(!String::from_utf8(out).unwrap().contains(heapsnapshot::RUNTIME_NAME));
}
