//! Write the mutant of one `--mutants` case (stripped, before instrumenting) to a file, and print the program's
//! arguments: `cargo run --release -p wasmleak-fuzz --example mutant -- SEED OUT.wasm`, then
//! `wasmleak run OUT.wasm -- ARGS` and `wasmleak check OUT.wasm -- ARGS` to compare.
fn main() {
    let mut a = std::env::args().skip(1);
    let seed: u64 = a.next().and_then(|s| s.parse().ok()).expect("SEED");
    let out = a.next().expect("OUT.wasm");
    let engines = wasmleak_fuzz::Engines::new().expect("engines");
    let (which, bytes) = wasmleak_fuzz::mutants::mutant(&engines, seed).expect("wasm-mutate changes nothing for this seed");
    std::fs::write(&out, bytes).expect("writing");
    let (name, _, args) = wasmleak_fuzz::mutants::PROGRAMS[which];
    println!("{name} {}", args.join(" "));
}
