//! `wasmleak inspect` and `wasmleak dis` on the committed fixtures, checked against what wasmparser
//! reads from the same bytes (function indices from the name section, memory sizes, imports/exports).

mod common;

use common::*;
use std::collections::BTreeMap;
use std::ffi::OsString;
use wasmparser::{Name, NameSectionReader, Parser, Payload};

fn inspect(module: &str) -> Run {
    let r = wasmleak(vec![OsString::from("inspect"), fixture(module).into()]);
    r.assert_no_panic();
    r.assert_code(0);
    r
}

fn dis(module: &str, func: &str) -> Run {
    let r = wasmleak(vec![OsString::from("dis"), "--func".into(), func.into(), fixture(module).into()]);
    r.assert_no_panic();
    r
}

/// The lines of one `heading:` block of the inspect output (up to the next blank line).
fn block<'a>(out: &'a str, heading: &str) -> Vec<&'a str> {
    let mut lines = out.lines().skip_while(|l| !l.starts_with(heading));
    assert!(lines.next().is_some(), "inspect output has no {heading:?} block:\n{out}");
    lines.take_while(|l| !l.trim().is_empty()).map(str::trim).collect()
}

/// One line of the `allocator:` block: `KIND  function  INDEX  NAME  (found by HOW)`.
#[derive(Debug)]
struct AllocLine {
    kind: String,
    index: u32,
    name: String,
    how: String,
}

fn allocator_lines(out: &str) -> Vec<AllocLine> {
    block(out, "allocator:")
        .into_iter()
        .map(|l| {
            let (kind, rest) = l.split_once(" function ").unwrap_or_else(|| panic!("allocator line without `function`: {l:?}"));
            let rest = rest.trim_start();
            let (index, rest) = rest.split_once(' ').unwrap_or_else(|| panic!("allocator line: {l:?}"));
            let open = rest.rfind("(found by ").unwrap_or_else(|| panic!("allocator line without `(found by`: {l:?}"));
            AllocLine {
                kind: kind.trim().to_string(),
                index: index.parse().unwrap_or_else(|_| panic!("allocator line index: {l:?}")),
                name: rest[..open].trim().to_string(),
                how: rest[open + "(found by ".len()..].trim_end_matches(')').to_string(),
            }
        })
        .collect()
}

/// Function names from the module's name section (index → raw name), read with wasmparser.
fn name_section(module: &str) -> BTreeMap<u32, String> {
    let bytes = std::fs::read(fixture(module)).unwrap();
    let mut names = BTreeMap::new();
    for p in Parser::new(0).parse_all(&bytes) {
        if let Payload::CustomSection(c) = p.unwrap() {
            if c.name() == "name" {
                let reader = NameSectionReader::new(wasmparser::BinaryReader::new(c.data(), c.data_offset()));
                for sub in reader {
                    if let Name::Function(map) = sub.unwrap() {
                        for n in map {
                            let n = n.unwrap();
                            names.insert(n.index, n.name.to_string());
                        }
                    }
                }
            }
        }
    }
    assert!(!names.is_empty(), "{module} has a name section");
    names
}

fn index_where(names: &BTreeMap<u32, String>, pred: impl Fn(&str) -> bool, what: &str) -> u32 {
    let hits: Vec<u32> = names.iter().filter(|(_, n)| pred(n)).map(|(i, _)| *i).collect();
    assert_eq!(hits.len(), 1, "exactly one function in the name section should be {what}: {hits:?}");
    hits[0]
}

fn memory_min_pages(module: &str) -> u64 {
    let bytes = std::fs::read(fixture(module)).unwrap();
    for p in Parser::new(0).parse_all(&bytes) {
        if let Payload::MemorySection(s) = p.unwrap() {
            return s.into_iter().next().unwrap().unwrap().initial;
        }
    }
    panic!("{module} has no memory section");
}

fn assert_alloc(lines: &[AllocLine], kind: &str, name: &str, index: u32) {
    let l = lines
        .iter()
        .find(|l| l.name == name)
        .unwrap_or_else(|| panic!("allocator block does not list {name:?}: {lines:#?}"));
    assert_eq!(l.kind, kind, "{name}: kind");
    assert_eq!(l.index, index, "{name}: function index (name section says {index})");
    assert_eq!(l.how, "name section", "{name}: how it was found");
}

#[test]
fn inspect_c_patterns() {
    let r = inspect("c_patterns.wasm");
    let out = &r.stdout;

    let sections = block(out, "sections:");
    for s in ["type", "import", "function", "memory", "export", "code", "data", "custom .debug_info", "custom .debug_line", "custom name"] {
        assert!(sections.iter().any(|l| l.starts_with(&format!("{s} "))), "sections should list {s:?}: {sections:#?}");
    }

    let imports = block(out, "imports (14):");
    assert!(imports.contains(&"func   wasi_snapshot_preview1::fd_write"), "{imports:#?}");
    assert!(imports.contains(&"func   wasi_snapshot_preview1::proc_exit"), "{imports:#?}");
    assert_eq!(imports.len(), 14); // fopen/fgets of the `io` pattern add the filesystem calls

    let exports = block(out, "exports (2):");
    assert!(exports.iter().any(|l| l.starts_with("func") && l.contains("_start")), "{exports:#?}");
    assert!(exports.iter().any(|l| l.starts_with("memory") && l.contains("memory")), "{exports:#?}");

    assert_eq!(memory_min_pages("c_patterns.wasm"), 2);
    let mems = block(out, "memories:");
    assert!(mems.iter().any(|l| l.contains("32-bit") && l.contains("min 2 pages")), "{mems:#?}");

    let debug = block(out, "debug info:");
    assert!(debug.iter().any(|l| l.starts_with("name section: yes")), "{debug:#?}");
    assert!(debug.iter().any(|l| l.starts_with("DWARF: yes")), "{debug:#?}");

    let names = name_section("c_patterns.wasm");
    let alloc = allocator_lines(out);
    for (kind, name) in [
        ("malloc", "malloc"),
        ("free", "free"),
        ("calloc", "calloc"),
        ("realloc", "realloc"),
        ("posix_memalign", "posix_memalign"),
        ("aligned_alloc", "aligned_alloc"),
    ] {
        assert_alloc(&alloc, kind, name, index_where(&names, |n| n == name, name));
    }
}

#[test]
fn inspect_rust_patterns() {
    let r = inspect("rust_patterns.wasm");
    let names = name_section("rust_patterns.wasm");
    let alloc = allocator_lines(&r.stdout);
    // v0-mangled `__rustc::__rust_alloc` & co. (fixtures/README.md, "Allocator functions").
    for (kind, shim, mangled) in [
        ("rust alloc", "__rustc::__rust_alloc", "7___rustc12___rust_alloc"),
        ("rust dealloc", "__rustc::__rust_dealloc", "7___rustc14___rust_dealloc"),
        ("rust realloc", "__rustc::__rust_realloc", "7___rustc14___rust_realloc"),
        ("rust alloc", "__rustc::__rust_alloc_zeroed", "7___rustc19___rust_alloc_zeroed"),
    ] {
        let idx = index_where(&names, |n| n.starts_with("_RNv") && n.ends_with(mangled), shim);
        assert_alloc(&alloc, kind, shim, idx);
    }
    assert!(!alloc.iter().any(|l| l.name == "aligned_alloc"), "rust_patterns has no aligned_alloc");
    assert_eq!(memory_min_pages("rust_patterns.wasm"), 17);
    assert!(block(&r.stdout, "memories:").iter().any(|l| l.contains("min 17 pages")), "{}", r.stdout);
    let exports = block(&r.stdout, "exports (3):");
    for e in ["_start", "__main_void", "memory"] {
        assert!(exports.iter().any(|l| l.contains(e)), "{exports:#?}");
    }
}

#[test]
fn inspect_cpp_patterns() {
    let r = inspect("cpp_patterns.wasm");
    let names = name_section("cpp_patterns.wasm");
    let alloc = allocator_lines(&r.stdout);
    for (kind, name) in [
        ("malloc", "operator new(unsigned long)"),
        ("malloc", "operator new[](unsigned long)"),
        ("free", "operator delete(void*)"),
        ("free", "operator delete[](void*)"),
        ("malloc", "malloc"),
        ("free", "free"),
        ("calloc", "calloc"),
    ] {
        assert_alloc(&alloc, kind, name, index_where(&names, |n| n == name, name));
    }
}

#[test]
fn inspect_rust_lib_lto_finds_dlmalloc_without_the_alloc_shims() {
    let r = inspect("rust_lib_lto.wasm");
    let alloc = allocator_lines(&r.stdout);
    // LTO inlined `__rust_alloc`/`__rust_dealloc` away (only the realloc shim survives): the entry points
    // left are the dlmalloc crate's methods.
    for gone in ["__rust_alloc", "__rust_dealloc"] {
        assert!(!alloc.iter().any(|l| l.name.contains(gone)), "LTO inlined {gone} away: {alloc:#?}");
    }
    let names = name_section("rust_lib_lto.wasm");
    let m = index_where(&names, |n| n.contains("Dlmalloc") && n.contains("E6malloc"), "dlmalloc's malloc");
    let f = index_where(&names, |n| n.contains("Dlmalloc") && n.contains("E4free"), "dlmalloc's free");
    assert_alloc(&alloc, "malloc", "<dlmalloc::dlmalloc::Dlmalloc<dlmalloc::sys::System>>::malloc", m);
    assert_alloc(&alloc, "free", "<dlmalloc::dlmalloc::Dlmalloc<dlmalloc::sys::System>>::free", f);
    // No imports; the four exported functions.
    assert!(r.stdout.contains("imports (0)") || !r.stdout.contains("imports ("), "{}", r.stdout);
    for e in ["create_processor", "destroy_processor", "process_ok", "leak_forget"] {
        assert!(block(&r.stdout, "exports (").iter().any(|l| l.starts_with("func") && l.contains(e)), "{}", r.stdout);
    }
}

#[test]
fn inspect_c_lib() {
    let r = inspect("c_lib.wasm");
    let names = name_section("c_lib.wasm");
    let alloc = allocator_lines(&r.stdout);
    assert_alloc(&alloc, "malloc", "malloc", index_where(&names, |n| n == "malloc", "malloc"));
    assert_alloc(&alloc, "free", "free", index_where(&names, |n| n == "free", "free"));
    assert!(block(&r.stdout, "exports (").iter().any(|l| l.contains("_initialize")), "{}", r.stdout);
}

/// A module built without names: inspect says so instead of failing.
#[test]
fn inspect_module_without_name_section() {
    // Binary with no name section: wat only emits one for $names, and this module has none.
    let p = wat_file(
        "nameless.wasm",
        r#"(module (memory 1) (func (export "malloc") (param i32) (result i32) i32.const 1024) (func (export "free") (param i32)))"#,
    );
    let r = wasmleak(vec![OsString::from("inspect"), p.into()]);
    r.assert_no_panic();
    r.assert_code(0);
    assert!(r.stdout.lines().any(|l| l.trim().starts_with("name section: no")), "{}", r.describe());
    assert!(r.stdout.lines().any(|l| l.trim().starts_with("DWARF: no")), "{}", r.describe());
    let alloc = allocator_lines(&r.stdout);
    let m = alloc.iter().find(|l| l.name == "malloc").unwrap_or_else(|| panic!("malloc found by export: {alloc:#?}"));
    assert_eq!(m.index, 0);
    assert!(m.how.contains("export"), "{m:?}");
}

// ---- dis ----

/// Parenthesis depth of WebAssembly text, skipping strings, `(; ;)` block comments and `;;` line comments.
/// Returns None if it ever goes negative.
fn paren_balance(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let (mut i, mut depth) = (0usize, 0i64);
    while i < b.len() {
        match b[i] {
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'(' if b.get(i + 1) == Some(&b';') => {
                let end = text[i..].find(";)").expect("unterminated block comment");
                i += end + 1;
            }
            b';' if b.get(i + 1) == Some(&b';') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth < 0 {
                    return None;
                }
            }
            _ => {}
        }
        i += 1;
    }
    Some(depth)
}

#[test]
fn dis_make_record() {
    let r = dis("c_patterns.wasm", "make_record");
    r.assert_code(0);
    let out = &r.stdout;
    assert_eq!(out.matches("(func").count(), 1, "exactly one function\n{out}");
    assert!(out.contains("(func $make_record"), "{out}");
    assert!(out.lines().any(|l| l.trim() == "call $malloc"), "make_record calls malloc\n{out}");
    assert!(out.contains("i32.const 24"), "malloc(24)\n{out}");
    // Same function by index (from the name section).
    let idx = index_where(&name_section("c_patterns.wasm"), |n| n == "make_record", "make_record");
    let by_index = dis("c_patterns.wasm", &idx.to_string());
    by_index.assert_code(0);
    assert_eq!(by_index.stdout, r.stdout, "--func {idx} and --func make_record print the same");
}

#[test]
fn dis_prints_a_complete_func_form() {
    for (module, func) in [("c_patterns.wasm", "make_record"), ("cpp_patterns.wasm", "make_widget(unsigned int)"), ("c_patterns.wasm", "main")] {
        let r = dis(module, func);
        r.assert_code(0);
        assert_eq!(paren_balance(&r.stdout), Some(0), "{module} {func}: unbalanced parentheses\n{}", r.stdout);
        assert!(r.stdout.trim_end().ends_with(')'), "{module} {func}: the (func …) form is not closed\n{}", r.stdout);
    }
}

#[test]
fn dis_demangled_names() {
    let r = dis("rust_patterns.wasm", "rust_patterns::create_leaky_tree");
    r.assert_code(0);
    assert_eq!(r.stdout.matches("(func").count(), 1, "{}", r.stdout);
    assert!(r.stdout.contains("_ZN13rust_patterns17create_leaky_tree17h"), "{}", r.stdout);
    let r = dis("cpp_patterns.wasm", "make_widget(unsigned int)");
    r.assert_code(0);
    assert_eq!(r.stdout.matches("(func").count(), 1, "{}", r.stdout);
    assert!(r.stdout.contains("call $\"operator new(unsigned long)\""), "make_widget calls operator new\n{}", r.stdout);
}

/// The last path segment of a demangled name is enough when it names one function (as `--iteration` takes it);
/// one that names several is an error that lists them.
#[test]
fn dis_short_names() {
    let r = dis("rust_patterns.wasm", "create_leaky_tree");
    r.assert_code(0);
    assert_eq!(r.stdout.matches("(func").count(), 1, "{}", r.stdout);
    assert!(r.stdout.contains("_ZN13rust_patterns17create_leaky_tree17h"), "{}", r.stdout);
    let r = dis("cpp_patterns.wasm", "make_widget");
    r.assert_code(0);
    assert!(r.stdout.contains("call $\"operator new(unsigned long)\""), "{}", r.stdout);
    assert_dis_error(&dis("rust_patterns.wasm", "fmt"), &["`fmt` names", "core::fmt::Display>::fmt", "func["]);
}

fn assert_dis_error(r: &Run, keywords: &[&str]) {
    r.assert_code(2);
    let lines: Vec<&str> = r.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{}", r.describe());
    assert!(lines[0].starts_with("error:"), "{}", r.describe());
    for k in keywords {
        assert!(lines[0].contains(k), "error should mention {k:?}: {}", lines[0]);
    }
    assert_eq!(r.stdout, "", "nothing on stdout\n{}", r.describe());
}

#[test]
fn dis_index_out_of_range() {
    let n = name_section("c_patterns.wasm").len();
    let r = dis("c_patterns.wasm", "99999");
    assert_dis_error(&r, &["99999", "out of range", &n.to_string()]);
}

#[test]
fn dis_unknown_name() {
    assert_dis_error(&dis("c_patterns.wasm", "no_such_function"), &["no_such_function"]);
}

#[test]
fn dis_imported_function() {
    // Function 0 of c_patterns is its first import (wasi args_get): no body.
    assert_dis_error(&dis("c_patterns.wasm", "0"), &["imported"]);
}

/// An Emscripten side module (a grammar web-tree-sitter loads) has no allocator of its own: inspect says so,
/// instead of suspecting an inlined allocator in its lookup tables.
#[test]
fn inspect_a_side_module() {
    let module = wat_file(
        "side_module.wasm",
        r#"(module
          (@custom "dylink.0" "\01\04\00\00\00\00")
          (import "env" "memory" (memory 1))
          (import "env" "__memory_base" (global i32))
          (import "env" "malloc" (func $malloc (param i32) (result i32)))
          (func (export "make") (result i32) i32.const 16 call $malloc))"#,
    );
    let run = wasmleak(["inspect", module.to_str().unwrap()]);
    assert!(run.stdout.contains("it is a side module") && run.stdout.contains("imports from the main module"), "{}", run.describe());
}

/// A module read from a pipe (`wasmleak check <(curl …)`, here stdin), whose length is not known before it is read,
/// says what the same file says: the module is read whole either way.
#[test]
fn a_module_from_a_pipe_reads_as_the_file() {
    let bytes = std::fs::read(fixture("rust_patterns.wasm")).unwrap();
    let piped = wasmleak_with_stdin(["inspect", "/dev/stdin"], bytes);
    piped.assert_no_panic();
    piped.assert_code(0);
    let file = inspect("rust_patterns.wasm");
    // All but the first line, which names the path.
    let rest = |s: &str| s.lines().skip(1).collect::<Vec<_>>().join("\n");
    assert_eq!(rest(&piped.stdout), rest(&file.stdout));
    assert!(piped.stdout.contains("malloc"), "{}", piped.stdout);
}
