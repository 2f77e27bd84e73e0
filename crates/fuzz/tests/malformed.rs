//! Damaged modules and snapshots (crates/fuzz/src/malformed.rs): no panic, no hang, every time.

use wasmleak_fuzz::malformed::{damage, module_case, sample_snapshot, snapshot_case};

fn cases() -> u64 {
    std::env::var("WASMLEAK_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2000)
}

#[test]
fn damaged_modules_give_an_error_not_a_panic() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/wasm");
    // Small real modules of each kind (a large one costs seconds per case to discover and symbolize).
    let modules: Vec<Vec<u8>> = ["c_patterns_stripped.wasm", "edge/c_fight_back.wasm", "emscripten_emmalloc.wasm", "rust_lib_stripped.wasm", "edge/c_owner_freed.wasm"]
        .iter()
        .map(|m| std::fs::read(format!("{dir}/{m}")).unwrap_or_else(|e| panic!("{m}: {e}")))
        .collect();
    let mut failures = Vec::new();
    for seed in 0..cases() / 4 {
        let m = &modules[seed as usize % modules.len()];
        if let Some(f) = module_case(&damage(m, seed)) {
            failures.push((seed, f.what));
        }
    }
    assert!(failures.is_empty(), "{} of {} damaged modules: {:#?}", failures.len(), cases() / 4, &failures[..failures.len().min(10)]);
}

#[test]
fn damaged_snapshots_give_an_error_not_a_panic() {
    let good = sample_snapshot();
    let bytes = good.to_bytes();
    assert!(snapshot_case(&bytes, &good).is_none());
    let mut failures = Vec::new();
    for seed in 0..cases() {
        if let Some(f) = snapshot_case(&damage(&bytes, seed), &good) {
            failures.push((seed, f.what));
        }
    }
    assert!(failures.is_empty(), "{} of {} damaged snapshots: {:#?}", failures.len(), cases(), &failures[..failures.len().min(10)]);
}
