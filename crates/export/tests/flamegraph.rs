//! Collapsed stacks and the SVG flamegraph, read back.

mod common;

use common::{analysis, fixture_snapshot, synthetic};

use wasmleak_export::flamegraph;
use wasmleak_heap::Snapshot;

fn collapsed(snap: &Snapshot) -> String {
    let mut out = Vec::new();
    flamegraph::write_collapsed(snap, &analysis(snap), &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn svg(snap: &Snapshot) -> String {
    let mut out = Vec::new();
    flamegraph::write(snap, &analysis(snap), &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// Sum of the counts of collapsed lines.
fn total(collapsed: &str) -> u64 {
    collapsed.lines().map(|l| l.rsplit_once(' ').unwrap().1.parse::<u64>().unwrap()).sum()
}

#[test]
fn synthetic_collapsed_lines() {
    let snap = synthetic();
    let text = collapsed(&snap);
    // Root first; inlined frames are frames; `make` at lines 20 and 22 collapse into one stack, summed
    // (24 + 12); `;` in a name becomes `；`; sorted.
    assert_eq!(
        text,
        "leaked:cycle;main;<[u8； 4] as Fill>::fill 32\n\
         leaked:host;main;make;alloc_node 40\n\
         leaked:indirect;main;make 8\n\
         leaked:lost;[no stack] 32\n\
         leaked:lost;main;make 36\n\
         reachable;main;make;alloc_node 16\n"
    );
    assert_eq!(total(&text), snap.live_bytes());
}

#[test]
fn synthetic_svg() {
    let snap = synthetic();
    let svg = svg(&snap);
    assert!(svg.starts_with("<?xml"), "{}", &svg[..100.min(svg.len())]);
    assert!(svg.contains("<svg"));
    assert!(svg.trim_end().ends_with("</svg>"));
    assert!(svg.contains(flamegraph::TITLE));
    // inferno's root frame: `all (TOTAL bytes, 100%)`.
    assert!(svg.contains("all (164 bytes, 100%)"), "{svg}");
    for name in ["leaked:cycle", "leaked:lost", "leaked:host", "leaked:indirect", "reachable", "main", "make", "alloc_node"] {
        assert!(svg.contains(&format!("<title>{name} (")), "frame {name} missing");
    }
    // XML-escaped by inferno.
    assert!(svg.contains("&lt;[u8； 4] as Fill&gt;::fill"), "{svg}");
    assert!(svg.contains("reachable (16 bytes, "));
    assert!(svg.contains("leaked:lost (68 bytes, "));
    // Balanced elements: a cheap well-formedness check.
    assert_eq!(svg.matches("<g>").count() + svg.matches("<g ").count(), svg.matches("</g>").count());
    // Same picture for the same snapshot.
    assert_eq!(svg, self::svg(&snap));
}

#[test]
fn empty_snapshot() {
    let snap = Snapshot { module: "empty.wasm".into(), ..Default::default() };
    assert_eq!(collapsed(&snap), "");
    let svg = svg(&snap);
    assert!(svg.contains("<svg") && svg.contains("</svg>") && svg.contains("no live blocks"), "{svg}");
}

// ---- real fixtures, through the CLI (skipped when the binary has not been built) ----

#[test]
fn rust_rc_cycle() {
    let Some(snap) = fixture_snapshot("rust_patterns.wasm", &["rc_cycle", "10"]) else { return };
    let text = collapsed(&snap);
    assert_eq!(total(&text), snap.live_bytes());
    let cycle: Vec<&str> = text.lines().filter(|l| l.starts_with("leaked:cycle;")).collect();
    assert!(!cycle.is_empty(), "{text}");
    assert_eq!(total(&cycle.join("\n")), 800, "{text}");
    for l in &cycle {
        let frames: Vec<&str> = l.rsplit_once(' ').unwrap().0.split(';').collect();
        assert!(frames.contains(&"rust_patterns::create_leaky_tree"), "{l}");
        // Root first: the entry point comes before create_leaky_tree.
        let tree = frames.iter().position(|&f| f == "rust_patterns::create_leaky_tree").unwrap();
        assert!(frames[1..tree].iter().any(|f| f.contains("main")), "{l}");
    }
    // Each line is unique (inferno sums equal stacks, but the file should not depend on it).
    let mut stacks: Vec<&str> = text.lines().map(|l| l.rsplit_once(' ').unwrap().0).collect();
    let n = stacks.len();
    stacks.dedup();
    assert_eq!(stacks.len(), n);

    let svg = svg(&snap);
    assert!(svg.contains("<svg") && svg.contains("rust_patterns::create_leaky_tree"));
    assert!(svg.contains("leaked:cycle (800 bytes, "), "{svg}");
    assert!(svg.contains(&format!("all ({} bytes, 100%)", snap.live_bytes())));
}

/// A C block held by a global (fixtures/edge/c/no_free_global.c: 7 B kept in `keep`) is the one `reachable` stack.
#[test]
fn c_global_is_reachable() {
    let Some(snap) = fixture_snapshot("edge/c_no_free_global.wasm", &[]) else { return };
    let text = collapsed(&snap);
    assert_eq!(total(&text), snap.live_bytes());
    let reachable: u64 = total(&text.lines().filter(|l| l.starts_with("reachable;")).collect::<Vec<_>>().join("\n"));
    assert_eq!(reachable, 7, "{text}");
    // Only wasi-libc's argv copy (live, but allocated once at startup) may sit outside `reachable`.
    for l in text.lines().filter(|l| !l.starts_with("reachable;")) {
        assert!(l.contains("__main_void"), "{l}");
    }
}
