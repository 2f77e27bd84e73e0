//! `Symbolizer::statics`: static variables from DWARF, with their demangled names, addresses and sizes.

use std::path::Path;

use wasmleak_symbolize::{DataSymbol, Symbolizer};

fn load(name: &str) -> Symbolizer {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/wasm").join(name);
    Symbolizer::new(&std::fs::read(&p).unwrap()).unwrap()
}

fn find<'a>(all: &'a [DataSymbol], name: &str) -> &'a DataSymbol {
    all.iter().find(|d| d.name == name).unwrap_or_else(|| {
        panic!("no static named {name}; have: {:?}", all.iter().map(|d| &d.name).take(80).collect::<Vec<_>>())
    })
}

#[test]
fn c_statics_by_name_address_and_size() {
    let sym = load("c_patterns.wasm");
    let all = sym.statics();
    if std::env::var_os("WASMLEAK_DUMP").is_some() {
        for d in &all {
            eprintln!("{:#x} {} {}", d.address, d.size, d.name);
        }
    }
    // fixtures/c/patterns.c: `static char static_buffer[64];`, `static volatile uint32_t checksum;`,
    // `static void *volatile escape_slot;` (the addresses move when the fixture is rebuilt: only their
    // order and sizes are fixed here; crates/cli/tests/types.rs checks the address against a run).
    let buffer = find(&all, "static_buffer").clone();
    let checksum = find(&all, "checksum").clone();
    let slot = find(&all, "escape_slot").clone();
    assert_eq!((buffer.size, checksum.size, slot.size), (64, 4, 4));
    assert!(buffer.address >= 1024 && buffer.address % 4 == 0, "{buffer:?}");
    // Any byte inside the array names it.
    assert_eq!(sym.static_at(buffer.address + 63).map(|d| d.name), Some("static_buffer".to_string()));
    assert_eq!(sym.static_at(slot.address + 2).map(|d| d.name), Some("escape_slot".to_string()));
    // Sorted by address; no thread-locals (relative to __tls_base) and no tombstones.
    assert!(all.windows(2).all(|w| w[0].address <= w[1].address));
    assert!(all.iter().all(|d| d.address != 0 && d.address != 0xffff_ffff));
}

#[test]
fn rust_statics_are_demangled_and_qualified() {
    // The fixture's own crate is built with `debug = "full"`; the precompiled std/wasi-libc carry their own
    // DWARF.
    let sym = load("rust_patterns.wasm");
    let all = sym.statics();
    if std::env::var_os("WASMLEAK_DUMP").is_some() {
        for d in &all {
            eprintln!("{:#x} {} {}", d.address, d.size, d.name);
        }
    }
    assert!(!all.is_empty());
    assert!(all.iter().all(|d| !d.name.starts_with("_ZN") && !d.name.starts_with("_R")), "mangled names left");
}

#[test]
fn line_tables_only_rust_has_no_statics() {
    // rust_lib_lto.wasm as built with `debug = "line-tables-only"`: no DW_TAG_variable at all, nothing to
    // name, and no error.
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/rust_lib_lto_line_tables.wasm");
    let sym = Symbolizer::new(&std::fs::read(&p).unwrap()).unwrap();
    assert!(sym.statics().is_empty());
    assert_eq!(sym.dwarf_error(), None);
}

#[test]
fn full_dwarf_rust_names_the_crate_statics() {
    // The fixtures' crate is built with `debug = "full"`: `static CACHE: Mutex<Vec<Vec<u8>>>` in
    // fixtures/rust/src/lib.rs, with or without LTO.
    for file in ["rust_lib.wasm", "rust_lib_lto.wasm"] {
        let all = load(file).statics();
        let cache = find(&all, "rust_lib::CACHE");
        assert!(cache.size > 0 && cache.address >= 1024, "{file}: {cache:?}");
    }
}

/// Statics rustc splits into pieces (crates/symbolize/tests/data/rust_pieces.rs at -O2): the pieces at fixed
/// addresses are named with the bytes of the variable they hold; computed or optimized-out pieces are not.
#[test]
fn statics_in_pieces_are_named_by_piece() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/rust_pieces.wasm");
    let sym = Symbolizer::new(&std::fs::read(&p).unwrap()).unwrap();
    let all: Vec<(String, u64, u64)> = sym.statics().into_iter().map(|d| (d.name, d.address, d.size)).collect();
    // STATE: `DW_OP_addr 0x100008, piece 8, DW_OP_addr 0x100010, piece 4, piece 4 (out), <flag computed>, piece 1`;
    // PAIR: `piece 8 (out), DW_OP_addr 0x100000, piece 8`.
    assert_eq!(
        all,
        vec![
            ("rust_pieces::PAIR[8..16]".to_string(), 0x100000, 8),
            ("rust_pieces::STATE[0..8]".to_string(), 0x100008, 8),
            ("rust_pieces::STATE[8..12]".to_string(), 0x100010, 4),
        ]
    );
    assert_eq!(sym.static_at(0x100012).map(|d| d.name), Some("rust_pieces::STATE[8..12]".to_string()));
}
