//! Write the module of one case (with the allocator, before instrumenting) to a file:
//! `cargo run --release -p wasmleak-fuzz --example case -- SEED OUT.wasm`
fn main() {
    let mut a = std::env::args().skip(1);
    let seed: u64 = a.next().and_then(|s| s.parse().ok()).expect("SEED");
    let out = a.next().expect("OUT.wasm");
    let bytes = wasmleak_fuzz::case_module(seed).expect("wasm-smith generates no module for this seed");
    std::fs::write(&out, bytes).expect("writing");
}
