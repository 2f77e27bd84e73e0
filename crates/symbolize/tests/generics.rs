//! Inlined Rust frames keep the instantiation's generic arguments, whichever DWARF the module has:
//! line-tables-only (`DW_AT_name` only: `new<rust_lib::Processor>`) or full (legacy linkage name, demangled,
//! with the `DW_AT_name`'s arguments appended: `alloc::boxed::Box<T>::new<rust_lib::Processor>`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use wasmleak_symbolize::Symbolizer;

/// Module offsets of every call instruction, by function index.
fn calls(module: &[u8]) -> Vec<(u32, u32)> {
    let mut index = 0u32;
    let mut out = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(module) {
        match payload.unwrap() {
            wasmparser::Payload::ImportSection(r) => {
                for imp in r.into_imports() {
                    if matches!(imp.unwrap().ty, wasmparser::TypeRef::Func(_)) {
                        index += 1;
                    }
                }
            }
            wasmparser::Payload::CodeSectionEntry(body) => {
                for op in body
                    .get_operators_reader()
                    .unwrap()
                    .into_iter_with_offsets()
                {
                    let (op, off) = op.unwrap();
                    if matches!(
                        op,
                        wasmparser::Operator::Call { .. }
                            | wasmparser::Operator::CallIndirect { .. }
                    ) {
                        out.push((index, off as u32));
                    }
                }
                index += 1;
            }
            _ => {}
        }
    }
    out
}

/// (inlined frame names, whether every physical frame is named like the name-only path).
fn frames(path: &Path) -> (BTreeSet<String>, bool) {
    let m = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let sym = Symbolizer::new(&m).unwrap();
    assert!(sym.has_dwarf());
    let mut inlined = BTreeSet::new();
    let mut physical_ok = true;
    for (func, off) in calls(&m) {
        let f = sym.symbolize(func, Some(off));
        let last = f.last().unwrap();
        physical_ok &= !last.inlined && last.function == sym.symbolize(func, None)[0].function;
        inlined.extend(f.iter().filter(|f| f.inlined).map(|f| f.function.clone()));
    }
    if std::env::var_os("WASMLEAK_DUMP").is_some() {
        eprintln!("{}:\n{inlined:#?}", path.display());
    }
    (inlined, physical_ok)
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/wasm")
        .join(name)
}

#[test]
fn line_tables_only_inlined_frames_are_bare_names_with_arguments() {
    // fixtures/wasm/rust_lib_lto.wasm as built with `debug = "line-tables-only"`.
    let (names, physical_ok) = frames(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/rust_lib_lto_line_tables.wasm"),
    );
    assert!(physical_ok);
    for n in ["new<rust_lib::Processor>", "with_capacity<u8>"] {
        assert!(names.contains(n), "no {n}: {names:#?}");
    }
}

#[test]
fn full_dwarf_inlined_frames_are_qualified_with_arguments() {
    for file in ["rust_lib.wasm", "rust_lib_lto.wasm"] {
        let p = fixture(file);
        if !p.exists() {
            continue;
        }
        let (names, physical_ok) = frames(&p);
        assert!(physical_ok, "{file}");
        for n in [
            "alloc::boxed::Box<T>::new<rust_lib::Processor>",
            "alloc::vec::Vec<T>::with_capacity<u8>",
        ] {
            assert!(names.contains(n), "{file}: no {n}: {names:#?}");
        }
        // Legacy names whose DIE gives arguments never lose them.
        for n in [
            "alloc::boxed::Box<T>::new",
            "alloc::vec::Vec<T>::with_capacity",
        ] {
            assert!(!names.contains(n), "{file}: {n} without arguments");
        }
        // v0 names (the prebuilt std) are left as they are: no arguments appended after a complete name.
        assert!(
            names
                .iter()
                .all(|n| !n.starts_with("__rustc::") || !n.ends_with('>')),
            "{file}"
        );
    }
}
