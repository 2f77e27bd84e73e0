//! What the export tests share: a synthetic snapshot with every kind, and snapshots of real fixtures
//! taken by the built `wasmleak` binary.
#![allow(dead_code)]

use std::path::PathBuf;

use wasmleak_heap::{Analysis, SnapBlock, SnapFrame, SnapRegion, SnapValue, Snapshot};

pub fn frame(function: &str, file: &str, line: u32, inlined: bool) -> SnapFrame {
    SnapFrame { function: function.into(), file: Some(file.into()), line: Some(line), column: Some(5), inlined }
}

/// Blocks (address: size, stack, kind):
/// 0x100: 16 s0 reachable (from `data`) · 0x200: 24 s1 lost, points at 0x300 · 0x300: 8 s2 indirect ·
/// 0x400/0x500: 16+16 s3 cycle · 0x600: 32 no stack, lost · 0x700: 40 s0 host · 0x800: 12 s2 lost.
pub fn synthetic() -> Snapshot {
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

pub fn analysis(snap: &Snapshot) -> Analysis {
    snap.analyze()
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn wasmleak_binary() -> Option<PathBuf> {
    // Else the binary next to this test's own build: `<target>/release/deps/<test>` → `<target>/release/wasmleak`,
    // whatever the target directory (CI's is per checkout).
    let beside_us = || {
        let exe = std::env::current_exe().expect("the test executable's path");
        exe.parent().and_then(|deps| deps.parent()).map(|profile| profile.join("wasmleak")).unwrap_or_default()
    };
    let path = std::env::var_os("WASMLEAK").map(PathBuf::from).unwrap_or_else(beside_us);
    // CI builds the binary before the tests run: there, a missing binary is a failure, not a skip.
    assert!(path.exists() || std::env::var_os("CI").is_none(), "no wasmleak binary at {}", path.display());
    path.exists().then_some(path)
}

/// Run `wasmleak check FIXTURE --save DIR -- ARGS` and load the snapshot it wrote.
pub fn fixture_snapshot(fixture: &str, args: &[&str]) -> Option<Snapshot> {
    let Some(bin) = wasmleak_binary() else {
        eprintln!("note: no wasmleak binary (set WASMLEAK or build it in release): skipping {fixture} {args:?}");
        return None;
    };
    let dir = std::env::temp_dir().join(format!("wasmleak-export-test-{}-{}", std::process::id(), args.join("-")));
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

