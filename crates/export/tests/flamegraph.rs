//! Collapsed stacks and the SVG flamegraph, read back.

use std::path::PathBuf;

use wasmleak_export::flamegraph;
use wasmleak_heap::{analyze, Analysis, Memory, SnapBlock, SnapFrame, SnapRegion, SnapValue, Snapshot};

fn frame(function: &str, file: &str, line: u32, inlined: bool) -> SnapFrame {
    SnapFrame { function: function.into(), file: Some(file.into()), line: Some(line), column: None, inlined }
}

/// Blocks (address: size, stack, kind):
/// 0x100: 16 s0 reachable (from `data`) · 0x200: 24 s1 lost, points at 0x300 · 0x300: 8 s2 indirect ·
/// 0x400/0x500: 16+16 s3 cycle · 0x600: 32 no stack, lost · 0x700: 40 s0 host · 0x800: 12 s2 lost.
fn synthetic() -> Snapshot {
    let frames = vec![
        frame("alloc_node", "src/a.rs", 10, true), // 0: inlined into make
        frame("make", "src/a.rs", 20, false),      // 1
        frame("main", "src/main.rs", 30, false),   // 2
        frame("<[u8; 4] as Fill>::fill", "src/b.rs", 5, false), // 3
        frame("make", "src/a.rs", 22, false),      // 4: make again, another line
    ];
    let stacks = vec![vec![0, 1, 2], vec![1, 2], vec![4, 2], vec![3, 2]];
    let spec: [(u64, u64, u32, Option<u32>); 8] = [
        (0x100, 16, 0, None),
        (0x200, 24, 1, Some(0x300)),
        (0x300, 8, 2, None),
        (0x400, 16, 3, Some(0x500)),
        (0x500, 16, 3, Some(0x400)),
        (0x600, 32, u32::MAX, None),
        (0x700, 40, 0, None),
        (0x800, 12, 2, None),
    ];
    let mut blocks = Vec::new();
    let mut contents = Vec::new();
    for (i, &(addr, size, stack, ptr)) in spec.iter().enumerate() {
        blocks.push(SnapBlock { addr, size, seq: i as u64, stack });
        let mut bytes = vec![0u8; size as usize];
        if let Some(p) = ptr {
            bytes[..4].copy_from_slice(&p.to_le_bytes());
        }
        contents.extend_from_slice(&bytes);
    }
    let mut data = vec![0u8; 8];
    data[..4].copy_from_slice(&0x100u32.to_le_bytes());
    Snapshot {
        module: "synthetic.wasm".into(),
        index: 1,
        iteration: 1,
        allocations: 20,
        frees: 12,
        blocks,
        contents,
        frames,
        stacks,
        regions: vec![SnapRegion { name: "data".into(), start: 0, bytes: data }],
        values: vec![SnapValue { name: "host handle".into(), value: 0x700, host: true }],
        invalid_frees: vec![],
        ..Default::default()
    }
}

fn analysis(snap: &Snapshot) -> Analysis {
    let (mem, roots, blocks) = snap.memory_image();
    analyze(blocks, Memory { bytes: &mem }, &roots)
}

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

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn wasmleak_binary() -> Option<PathBuf> {
    let path = std::env::var_os("WASMLEAK")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp/wasmleak-target/release/wasmleak"));
    path.exists().then_some(path)
}

/// Run `wasmleak check FIXTURE --save DIR -- ARGS` and load the snapshot it wrote.
fn fixture_snapshot(fixture: &str, args: &[&str]) -> Option<Snapshot> {
    let Some(bin) = wasmleak_binary() else {
        eprintln!("note: no wasmleak binary (set WASMLEAK or build it in release): skipping {fixture} {args:?}");
        return None;
    };
    let dir = std::env::temp_dir().join(format!("wasmleak-flamegraph-test-{}-{}", std::process::id(), args.join("-")));
    let _ = std::fs::remove_dir_all(&dir);
    let status = std::process::Command::new(&bin)
        .arg("check")
        .arg(root().join("fixtures/wasm").join(fixture))
        .arg("--save")
        .arg(&dir)
        .arg("--")
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(matches!(status.code(), Some(0 | 1)), "{} check {fixture}: {status}", bin.display());
    let bytes = std::fs::read(dir.join("1.wlsnap")).expect("check --save wrote 1.wlsnap");
    let _ = std::fs::remove_dir_all(&dir);
    Some(Snapshot::from_bytes(&bytes).unwrap())
}

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

#[test]
fn c_cache_is_reachable() {
    let Some(snap) = fixture_snapshot("c_patterns.wasm", &["cache", "10"]) else { return };
    let text = collapsed(&snap);
    assert_eq!(total(&text), snap.live_bytes());
    let reachable: u64 = total(&text.lines().filter(|l| l.starts_with("reachable;")).collect::<Vec<_>>().join("\n"));
    assert!(reachable > 0, "{text}");
    // Only wasi-libc's argv copy (live, but allocated once at startup) may sit outside `reachable`.
    for l in text.lines().filter(|l| !l.starts_with("reachable;")) {
        assert!(l.contains("__main_void"), "{l}");
    }
}
