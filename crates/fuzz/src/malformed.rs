//! Malformed input: real modules and a real snapshot, damaged (bytes flipped, cut short, LEB128 counts blown
//! up, bytes inserted), through everything that reads them — the module reader, allocator discovery, the
//! instrumenter, the symbolizer, the `.wlsnap` loader and what `diff`, `report` and `why` do with a loaded
//! snapshot. None may panic or hang; a damaged input that still parses must give a valid instrumented module.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use wasmleak_heap::{SnapBlock, SnapFrame, SnapRegion, SnapValue, Snapshot};
use wasmleak_instrument::{discover, Discovery, InstrumentOptions, ModuleInfo, Overrides};

/// What went wrong with one damaged input.
#[derive(Debug)]
pub struct Failure {
    pub what: String,
    pub input: Vec<u8>,
}

/// `bytes` damaged one way or another (seeded).
pub fn damage(bytes: &[u8], seed: u64) -> Vec<u8> {
    let mut r = crate::Rng::seeded(seed);
    let mut b = bytes.to_vec();
    for _ in 0..1 + r.below(3) {
        if b.is_empty() {
            break;
        }
        match r.below(5) {
            0 => {
                for _ in 0..1 + r.below(8) {
                    let i = r.below(b.len());
                    b[i] ^= 1 << r.below(8);
                }
            }
            1 => b.truncate(r.below(b.len())),
            2 => {
                // A LEB128 (a count or a size) made huge: 0xff bytes over a byte that had its top bit clear.
                let i = r.below(b.len());
                for k in i..(i + 5).min(b.len()) {
                    b[k] = if k + 1 == (i + 5).min(b.len()) { 0x0f } else { 0xff };
                }
            }
            3 => {
                let i = r.below(b.len());
                let n = 1 + r.below(16);
                let junk: Vec<u8> = (0..n).map(|_| r.next() as u8).collect();
                b.splice(i..i, junk);
            }
            _ => {
                let i = r.below(b.len());
                let j = (i + 1 + r.below(64)).min(b.len());
                b.drain(i..j);
            }
        }
    }
    b
}

const SLOW: Duration = Duration::from_secs(5);

fn guarded(what: &str, input: &[u8], f: impl FnOnce()) -> Option<Failure> {
    let started = Instant::now();
    let r = catch_unwind(AssertUnwindSafe(f));
    let took = started.elapsed();
    match r {
        Err(e) => {
            let msg = e.downcast_ref::<String>().cloned().or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default();
            Some(Failure { what: format!("{what} panicked: {msg}"), input: input.to_vec() })
        }
        Ok(()) if took > SLOW => Some(Failure { what: format!("{what} took {took:?}"), input: input.to_vec() }),
        Ok(()) => None,
    }
}

/// A damaged module through the reader, discovery, the instrumenter and the symbolizer.
pub fn module_case(bytes: &[u8]) -> Option<Failure> {
    if let Some(f) = guarded("reading, discovering, instrumenting", bytes, || {
        let Ok(info) = ModuleInfo::parse(bytes) else { return };
        let Ok(found) = discover(bytes, &info, &Default::default(), &Overrides::default(), &Discovery::default()) else { return };
        let options = InstrumentOptions { buffered: true, contexts: true, checked_frees: true, ..Default::default() };
        let Ok(out) = wasmleak_instrument::instrument_with(bytes, &info, &found.entry_points, &options) else { return };
        // What the instrumenter accepted and wrote must be a module, when the input was one.
        let features = wasmparser::WasmFeatures::all();
        if wasmparser::Validator::new_with_features(features).validate_all(bytes).is_ok() {
            if let Err(e) = wasmparser::Validator::new_with_features(features).validate_all(&out.bytes) {
                panic!("a valid module was instrumented into an invalid one: {e}");
            }
        }
    }) {
        return Some(f);
    }
    guarded("symbolizing", bytes, || {
        let Ok(sym) = wasmleak_symbolize::Symbolizer::new(bytes) else { return };
        for func in sym.num_imported_funcs()..sym.num_funcs().min(sym.num_imported_funcs() + 50) {
            let range = sym.function_body_range(func);
            let _ = sym.symbolize(func, range.map(|(lo, _)| lo as u32));
        }
        let _ = sym.statics();
    })
}

/// A snapshot with something of everything, as `check --save` writes them.
pub fn sample_snapshot() -> Snapshot {
    let mut s = Snapshot { module: "m.wasm".into(), index: 2, iteration: 2, allocations: 9, frees: 5, ..Default::default() };
    let frame = |f: &str, line| SnapFrame { function: f.into(), file: Some("src/lib.rs".into()), line: Some(line), column: None, inlined: false };
    s.frames = vec![frame("alloc::alloc::alloc", 10), frame("app::cache_insert", 42), frame("app::main", 7)];
    s.stacks = vec![vec![0, 1, 2], vec![0, 2]];
    let mut contents = Vec::new();
    for (i, (addr, size)) in [(0x1_0000u64, 16u64), (0x1_0020, 24), (0x1_0040, 8)].into_iter().enumerate() {
        s.blocks.push(SnapBlock { addr, size, seq: i as u64 + 1, stack: (i % 2) as u32 });
        let mut bytes = vec![0u8; size as usize];
        bytes[..4].copy_from_slice(&(0x1_0020u32 + 0x20 * (i as u32 % 2)).to_le_bytes());
        contents.extend(bytes);
    }
    s.contents = contents;
    s.regions = vec![SnapRegion { name: "data".into(), start: 0x400, bytes: 0x1_0000u32.to_le_bytes().repeat(4) }];
    s.values = vec![SnapValue { name: "returned by cache_insert (call 1)".into(), value: 0x1_0040, host: true }];
    s
}

/// A damaged `.wlsnap` through the loader and, when it loads, what `report`, `diff` and `export` do with it.
pub fn snapshot_case(bytes: &[u8], good: &Snapshot) -> Option<Failure> {
    guarded("loading and reporting a snapshot", bytes, || {
        let Ok(snap) = Snapshot::from_bytes(bytes) else { return };
        let analysis = snap.analyze();
        let exit = wasmleak_report::Exit { status: "returned", code: None, message: "returned".into() };
        let report = wasmleak_report::build(&snap, &analysis, exit, Vec::new());
        let _ = wasmleak_report::to_text(&report, &Default::default());
        let _ = wasmleak_report::to_json(&report);
        let rows = wasmleak_report::diff(good, &snap, None, wasmleak_report::SortBy::DeltaBytes);
        let _ = wasmleak_report::diff_text(good, &snap, &rows, wasmleak_report::GroupBy::Site);
        let _ = snap.to_bytes();
    })
}
