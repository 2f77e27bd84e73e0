//! Embeds the JS runtime into the binary, so an installed `wasmleak` needs no source tree:
//! - its sources (js/src/*.mjs): `wasmleak node` writes them to a cache directory and imports them from there;
//! - the browser runtime (js/dist/runtime.js, js/src bundled by esbuild): `wasmleak serve`'s `/__wasmleak/runtime.js`;
//! - the analysis compiled to wasm32 (crates/wasm-api), built here by a nested cargo into its own target
//!   directory under OUT_DIR (the outer build holds the lock of its own). Without the wasm32 target
//!   (`rustup target add wasm32-unknown-unknown`), or with `WASMLEAK_NO_EMBED=1`, nothing is embedded and the
//!   binary looks for the module at run time (`$WASMLEAK_WASM`, the cargo target dir).

use std::fmt::Write;
use std::path::Path;

/// The package's directory as cargo says when it runs this script — not `env!`, which is where the script was
/// compiled, and a target directory shared between checkouts (CI's and a local one) reuses a compiled script.
fn manifest_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR for build scripts").into()
}

fn main() {
    let dir = manifest_dir().join("../../js/src");
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
    // The browser runtime, bundled by esbuild (scripts/bundle-js.sh) and committed.
    let runtime = manifest_dir().join("../../js/dist/runtime.js");
    println!("cargo:rerun-if-changed={}", runtime.display());
    let runtime = runtime.canonicalize().expect("js/dist/runtime.js (scripts/bundle-js.sh makes it)");
    let _ = writeln!(out, "/// js/dist/runtime.js at build time.\npub const RUNTIME_JS: &str = include_str!({:?});", runtime.to_string_lossy());
    let out_dir = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let _ = match build_analysis(&out_dir) {
        Ok(wasm) => writeln!(out, "/// The analysis compiled to wasm32.\npub const ANALYSIS_WASM: Option<&[u8]> = Some(include_bytes!({:?}));", wasm.to_string_lossy()),
        Err(why) => {
            println!("cargo:warning=the wasm32 analysis is not embedded ({why}); `wasmleak node` and `serve` will look for it at run time");
            writeln!(out, "/// The analysis compiled to wasm32 (not embedded in this build).\npub const ANALYSIS_WASM: Option<&[u8]> = None;")
        }
    };
    std::fs::write(out_dir.join("js_sources.rs"), out).unwrap();
}

/// `cargo build --release --target wasm32-unknown-unknown -p wasmleak-wasm` into OUT_DIR; the module's path.
fn build_analysis(out_dir: &Path) -> Result<std::path::PathBuf, String> {
    println!("cargo:rerun-if-env-changed=WASMLEAK_NO_EMBED");
    if std::env::var_os("WASMLEAK_NO_EMBED").is_some_and(|v| !v.is_empty() && v != "0") {
        return Err("WASMLEAK_NO_EMBED is set".into());
    }
    let root = manifest_dir().join("../..");
    for dep in ["crates/wasm-api", "crates/heap", "crates/instrument", "crates/report", "crates/symbolize", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(dep).display());
    }
    let target_dir = out_dir.join("wasm-target");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = std::process::Command::new(cargo);
    cmd.args(["build", "--release", "--target", "wasm32-unknown-unknown", "-p", "wasmleak-wasm", "--manifest-path"])
        .arg(root.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir)
        // The outer build's flags are for the host, not for wasm32.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("CARGO_TARGET_DIR");
    let out = cmd.output().map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr.lines().filter(|l| l.starts_with("error")).last().unwrap_or("cargo failed").to_string();
        return Err(last);
    }
    let wasm = target_dir.join("wasm32-unknown-unknown/release/wasmleak_wasm.wasm");
    let bytes = std::fs::read(&wasm).map_err(|e| format!("no {} after the build: {e}", wasm.display()))?;
    // Its DWARF is 5/6 of the file and only slows every `wasmleak node` run (V8 reads the whole module) and
    // every page `serve` instruments: embed the module without it (the name section stays, for traps).
    let stripped = out_dir.join("wasmleak_wasm.wasm");
    std::fs::write(&stripped, without_debug_sections(&bytes)?).map_err(|e| format!("{}: {e}", stripped.display()))?;
    Ok(stripped)
}

/// `bytes` without its `.debug_*` custom sections.
fn without_debug_sections(bytes: &[u8]) -> Result<Vec<u8>, String> {
    fn leb(bytes: &[u8], at: &mut usize) -> Result<usize, String> {
        let (mut v, mut shift) = (0usize, 0);
        loop {
            let b = *bytes.get(*at).ok_or("truncated module")?;
            *at += 1;
            v |= ((b & 0x7f) as usize) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
            shift += 7;
        }
    }
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err("the analysis build is not a wasm module".into());
    }
    let mut out = bytes[..8].to_vec();
    let mut at = 8;
    while at < bytes.len() {
        let start = at;
        let id = bytes[at];
        at += 1;
        let size = leb(bytes, &mut at)?;
        let body = at;
        let end = body.checked_add(size).filter(|&e| e <= bytes.len()).ok_or("truncated module")?;
        at = end;
        if id == 0 {
            let mut p = body;
            let len = leb(bytes, &mut p)?;
            if bytes.get(p..p + len).is_some_and(|name| name.starts_with(b".debug")) {
                continue;
            }
        }
        out.extend_from_slice(&bytes[start..end]);
    }
    Ok(out)
}
