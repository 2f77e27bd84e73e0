//! Run one case and print its verdict: `cargo run --release -p wasmleak-fuzz --example one -- SEED`
//! (FUZZ_DEBUG=1: every call and both outcomes).
fn main() {
    let seed: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).expect("SEED");
    let t = wasmleak_fuzz::run_cases(seed..seed + 1, 1).expect("running");
    print!("{t}");
}
