//! Time of reading a module's static variables from its DWARF (what `check` waits for before its report).
//!
//! `cargo run --release -p wasmleak-symbolize --example statics_bench MODULE.wasm [RUNS]`
use std::time::Instant;

fn main() {
    let path = std::env::args().nth(1).expect("a .wasm file");
    let runs: usize = std::env::args().nth(2).map_or(5, |r| r.parse().expect("a number of runs"));
    let bytes = std::fs::read(&path).expect("readable");
    let mut best = f64::MAX;
    let mut n = 0;
    for _ in 0..runs {
        let sym = wasmleak_symbolize::Symbolizer::new(&bytes).expect("a module");
        let t = Instant::now();
        n = sym.statics().len();
        best = best.min(t.elapsed().as_secs_f64() * 1e3);
    }
    println!("{path}: {n} statics in {best:.1} ms (best of {runs})");
}
