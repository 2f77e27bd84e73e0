//! `cargo run --release -p wasmleak-instrument --example discover -- MODULE.wasm...`: the allocator entry points
//! each module's discovery finds, how, and its notes (for trying the finder on many modules at once; the
//! CLI's `wasmleak inspect` shows the same with everything else about the module).
use std::collections::HashMap;

fn main() {
    let json = std::env::args().nth(1).as_deref() == Some("--json");
    for path in std::env::args().skip(1 + json as usize) {
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                println!("{path}: {e}");
                continue;
            }
        };
        let t = std::time::Instant::now();
        let info = match wasmleak_instrument::ModuleInfo::parse(&bytes) {
            Ok(i) => i,
            Err(e) => {
                println!("{path}: {e}");
                continue;
            }
        };
        let found = wasmleak_instrument::discover(
            &bytes,
            &info,
            &HashMap::new(),
            &Default::default(),
            &Default::default(),
        );
        if json {
            let v = match &found {
                Ok(d) => serde_json::json!({"module": path, "ms": t.elapsed().as_millis() as u64, "status": "found",
                    "entry_points": d.entry_points.iter().map(|e| serde_json::json!({"func": e.func, "role": e.role.to_string(),
                        "evidence": e.evidence.to_string(), "confirmed": e.confirmed})).collect::<Vec<_>>(),
                    "notes": d.notes}),
                Err(e) => serde_json::json!({"module": path, "ms": t.elapsed().as_millis() as u64, "status": "refused", "message": e.to_string()}),
            };
            println!("{v}");
            continue;
        }
        println!("{path} ({} ms):", t.elapsed().as_millis());
        match found {
            Ok(d) => {
                for e in &d.entry_points {
                    println!("  {:>6} {:<16} {}  [{}]", e.func, e.role.to_string(), e.name, e.evidence);
                    if let Some(c) = &e.confirmed {
                        println!("         confirmed: {c}");
                    }
                }
                for n in &d.notes {
                    println!("  note: {n}");
                }
            }
            Err(e) => println!("  error: {e}"),
        }
    }
}
