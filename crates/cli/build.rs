//! Embeds the JS runtime's sources (js/src/*.mjs) into the binary: `wasmleak serve` bundles them into the
//! browser's `/__wasmleak/runtime.js` (crates/cli/src/serve.rs).

use std::fmt::Write;
use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../js/src");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "mjs"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let mut out = String::from("/// js/src/*.mjs at build time: (file name, source).\npub const JS_SOURCES: &[(&str, &str)] = &[\n");
    for p in names {
        let p = p.canonicalize().expect("js/src file");
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let _ = writeln!(out, "    ({name:?}, include_str!({:?})),", p.to_string_lossy());
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("js_sources.rs");
    std::fs::write(dest, out).unwrap();
}
