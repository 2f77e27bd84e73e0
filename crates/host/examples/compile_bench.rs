//! How long wasmtime takes to compile modules, side by side (the `compile` phases of `run` and `check`).
//!
//! `cargo run --release -p wasmleak-host --example compile_bench -- A.wasm [B.wasm ...] [--runs N]`
use std::time::Instant;

fn main() {
    let mut paths = Vec::new();
    let mut runs = 9;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--runs" {
            runs = args.next().and_then(|n| n.parse().ok()).expect("--runs N");
        } else {
            paths.push(a);
        }
    }
    let modules: Vec<Vec<u8>> = paths.iter().map(|p| std::fs::read(p).expect("readable")).collect();
    let mut times = vec![Vec::new(); modules.len()];
    for _ in 0..runs {
        for (i, bytes) in modules.iter().enumerate() {
            // A new engine each time, as each run of `wasmleak` has (its creation took under 0.05 ms here).
            let t = Instant::now();
            let mut c = wasmtime::Config::new();
            c.wasm_backtrace_details(wasmtime::WasmBacktraceDetails::Disable);
            let engine = wasmtime::Engine::new(&c).expect("an engine");
            wasmtime::Module::new(&engine, bytes).expect("compiles");
            times[i].push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    for (p, t) in paths.iter().zip(&mut times) {
        t.sort_by(f64::total_cmp);
        println!("{p}: {:.1} ms, median of {runs}", t[t.len() / 2]);
    }
}
