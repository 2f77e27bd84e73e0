//! Tests against real modules built by `tests/data/build.sh` (clang-16 + wasi-libc, rustc).
//! Offsets of call instructions are found by parsing the module, not hard-coded.

use std::path::PathBuf;

use wasmleak_symbolize::{Error, Frame, NameSource, Symbolizer, demangle};

fn data(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Module offsets of every `call callee` instruction inside the body of `caller`.
fn call_sites(module: &[u8], caller: u32, callee: u32) -> Vec<u32> {
    let mut imported = 0u32;
    let mut index = 0u32;
    let mut out = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(module) {
        match payload.unwrap() {
            wasmparser::Payload::ImportSection(r) => {
                for imp in r.into_imports() {
                    if matches!(imp.unwrap().ty, wasmparser::TypeRef::Func(_)) {
                        imported += 1;
                    }
                }
                index = imported;
            }
            wasmparser::Payload::CodeSectionStart { .. } => index = imported,
            wasmparser::Payload::CodeSectionEntry(body) => {
                if index == caller {
                    let ops = body
                        .get_operators_reader()
                        .unwrap()
                        .into_iter_with_offsets();
                    for op in ops {
                        let (op, off) = op.unwrap();
                        if let wasmparser::Operator::Call { function_index } = op
                            && function_index == callee
                        {
                            out.push(off as u32);
                        }
                    }
                }
                index += 1;
            }
            _ => {}
        }
    }
    out
}

fn one(sym: &Symbolizer, name: &str) -> u32 {
    let v = sym.find_functions(name);
    assert_eq!(v.len(), 1, "functions named {name}: {v:?}");
    v[0]
}

/// Copy of `module` without its custom section `name`.
fn without_custom_section(module: &[u8], name: &str) -> Vec<u8> {
    let mut out = module[..8].to_vec();
    for payload in wasmparser::Parser::new(0).parse_all(module) {
        let payload = payload.unwrap();
        if let wasmparser::Payload::CustomSection(c) = &payload
            && c.name() == name
        {
            continue;
        }
        if let Some((id, range)) = payload.as_section() {
            out.push(id);
            let mut len = range.len() as u32;
            loop {
                let b = (len & 0x7f) as u8;
                len >>= 7;
                if len == 0 {
                    out.push(b);
                    break;
                }
                out.push(b | 0x80);
            }
            out.extend_from_slice(&module[range]);
        }
    }
    out
}

fn frame(
    function: &str,
    file: Option<&str>,
    line: Option<u32>,
    inlined: bool,
    func_index: u32,
) -> (String, Option<String>, Option<u32>, bool, u32) {
    (
        function.to_string(),
        file.map(str::to_string),
        line,
        inlined,
        func_index,
    )
}

fn key(f: &Frame) -> (String, Option<String>, Option<u32>, bool, u32) {
    (
        f.function.clone(),
        f.file.clone(),
        f.line,
        f.inlined,
        f.func_index,
    )
}

#[test]
fn dwarf_file_and_line_at_call_sites() {
    let m = data("simple.wasm");
    let sym = Symbolizer::new(&m).unwrap();
    assert!(sym.has_dwarf());
    assert!(sym.has_name_section());
    assert!(sym.dwarf_error().is_none());
    let make = one(&sym, "make_buffer");
    let malloc = one(&sym, "malloc");
    // wasi-libc renames `int main(void)` to `__original_main` (the name section says so; DWARF says `main`):
    // found by either name, shown as the source names it.
    let main = one(&sym, "__original_main");
    assert_eq!(one(&sym, "main"), main);
    assert_eq!(sym.function_name(main), Some("main"));
    assert_eq!(sym.raw_function_name(main), Some("__original_main"));
    assert_eq!(
        sym.function_name_source(make),
        Some(NameSource::NameSection)
    );

    let sites = call_sites(&m, make, malloc);
    assert_eq!(sites.len(), 1);
    let frames = sym.symbolize(make, Some(sites[0]));
    assert_eq!(
        frames.iter().map(key).collect::<Vec<_>>(),
        vec![frame(
            "make_buffer",
            Some("/src/simple.c"),
            Some(6),
            false,
            make
        )]
    );
    assert_eq!(frames[0].column, Some(14)); // `malloc(` in `    int *p = malloc(...)`

    let sites = call_sites(&m, main, make);
    assert_eq!(sites.len(), 1);
    let frames = sym.symbolize(main, Some(sites[0]));
    assert_eq!(
        frames.iter().map(key).collect::<Vec<_>>(),
        vec![frame(
            "main",
            Some("/src/simple.c"),
            Some(11),
            false,
            main
        )]
    );
    // Same answer on a second (cached-context) lookup.
    assert_eq!(sym.symbolize(main, Some(sites[0])), frames);
}

#[test]
fn dwarf_paths_are_joined_with_comp_dir() {
    // wasi-libc's own DWARF has comp_dir "./build" and relative file names: kept relative, joined.
    let m = data("simple.wasm");
    let sym = Symbolizer::new(&m).unwrap();
    let start = one(&sym, "_start");
    let (lo, hi) = sym.function_body_range(start).unwrap();
    let frames = (lo..hi)
        .map(|o| sym.symbolize(start, Some(o)))
        .find(|f| f[0].file.is_some())
        .unwrap();
    let file = frames[0].file.as_deref().unwrap();
    assert!(
        file.starts_with("./build/") && file.ends_with("crt1-command.c"),
        "{file}"
    );
}

#[test]
fn inlined_frames_innermost_first() {
    let m = data("inline.wasm");
    let sym = Symbolizer::new(&m).unwrap();
    let build = one(&sym, "build");
    let malloc = one(&sym, "malloc");
    // alloc_node was inlined: it has no function of its own.
    assert!(sym.find_functions("alloc_node").is_empty());
    let sites = call_sites(&m, build, malloc);
    assert_eq!(sites.len(), 1);
    let frames = sym.symbolize(build, Some(sites[0]));
    assert_eq!(
        frames.iter().map(key).collect::<Vec<_>>(),
        vec![
            frame("alloc_node", Some("/src/inline.c"), Some(5), true, build),
            frame("build", Some("/src/inline.c"), Some(9), false, build),
        ]
    );
    assert_eq!(frames[0].column, Some(12));
    assert_eq!(frames[1].column, Some(18)); // call site of alloc_node
}

#[test]
fn dwarf_names_when_name_section_missing() {
    // Drop the name section: names must come from DW_TAG_subprogram low_pc, which only map to the right
    // functions if DWARF addresses are taken relative to the Code section payload.
    let orig = data("simple.wasm");
    let m = without_custom_section(&orig, "name");
    assert!(m.len() < orig.len());
    let sym = Symbolizer::new(&m).unwrap();
    let named = Symbolizer::new(&orig).unwrap();
    assert!(!sym.has_name_section());
    assert!(sym.has_dwarf());
    let make = one(&named, "make_buffer");
    let main = one(&named, "__original_main");
    let malloc = one(&named, "malloc");
    assert_eq!(sym.function_name(make), Some("make_buffer"));
    assert_eq!(sym.function_name_source(make), Some(NameSource::Dwarf));
    // DWARF knows `__original_main` by its source name.
    assert_eq!(sym.function_name(main), Some("main"));
    assert_eq!(sym.function_name_source(main), Some(NameSource::Dwarf));
    // The export wrapper the linker made for `make_buffer` has no DWARF: export name.
    let wrapper = one(&named, "make_buffer.command_export");
    assert_eq!(sym.function_name(wrapper), Some("make_buffer"));
    assert_eq!(sym.function_name_source(wrapper), Some(NameSource::Export));
    // wasi-libc has DWARF too.
    assert_eq!(sym.function_name(malloc), Some("malloc"));
    // Every DWARF name agrees with the name section.
    let dwarf_named: Vec<_> = sym
        .function_names()
        .into_iter()
        .filter(|f| f.source == NameSource::Dwarf)
        .collect();
    assert!(dwarf_named.len() >= 5, "{dwarf_named:?}");
    for f in dwarf_named.iter().filter(|f| f.index != main) {
        assert_eq!(
            Some(f.raw.as_str()),
            named.raw_function_name(f.index),
            "func[{}]",
            f.index
        );
    }
    // Symbolizing works the same.
    let sites = call_sites(&m, make, malloc);
    let frames = sym.symbolize(make, Some(sites[0]));
    assert_eq!(
        frames.iter().map(key).collect::<Vec<_>>(),
        vec![frame(
            "make_buffer",
            Some("/src/simple.c"),
            Some(6),
            false,
            make
        )]
    );
}

#[test]
fn names_only_without_dwarf() {
    let m = data("simple_nodwarf.wasm");
    let sym = Symbolizer::new(&m).unwrap();
    assert!(!sym.has_dwarf());
    assert!(sym.has_name_section());
    let make = one(&sym, "make_buffer");
    let malloc = one(&sym, "malloc");
    let sites = call_sites(&m, make, malloc);
    assert_eq!(sites.len(), 1);
    let frames = sym.symbolize(make, Some(sites[0]));
    assert_eq!(
        frames.iter().map(key).collect::<Vec<_>>(),
        vec![frame("make_buffer", None, None, false, make)]
    );
    assert_eq!(frames[0].column, None);
}

#[test]
fn stripped_module_falls_back_to_exports() {
    let m = data("simple_stripped.wasm");
    let sym = Symbolizer::new(&m).unwrap();
    assert!(!sym.has_dwarf());
    assert!(!sym.has_name_section());
    // The export is the `make_buffer.command_export` wrapper wasm-ld adds to commands.
    let make = one(&sym, "make_buffer");
    assert_eq!(sym.function_name(make), Some("make_buffer"));
    assert_eq!(sym.raw_function_name(make), Some("make_buffer"));
    assert_eq!(sym.function_name_source(make), Some(NameSource::Export));
    // Imports keep their field names.
    assert_eq!(sym.function_name(0), Some("proc_exit"));
    assert_eq!(sym.function_name_source(0), Some(NameSource::Import));
    // A function that is neither exported nor imported has no name: `func[N]`.
    let unnamed = (sym.num_imported_funcs()..sym.num_funcs())
        .find(|&i| sym.function_name(i).is_none())
        .unwrap();
    let frames = sym.symbolize(unnamed, sym.function_body_range(unnamed).map(|r| r.0 + 1));
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].function, format!("func[{unnamed}]"));
}

#[test]
fn import_names_come_from_the_name_section() {
    let m = data("simple.wasm");
    let sym = Symbolizer::new(&m).unwrap();
    assert_eq!(sym.num_imported_funcs(), 1);
    assert_eq!(
        sym.function_name(0),
        Some("__imported_wasi_snapshot_preview1_proc_exit")
    );
    assert_eq!(sym.function_name_source(0), Some(NameSource::NameSection));
    assert_eq!(sym.function_body_range(0), None);
    // An import symbolizes to its name, with or without an offset.
    let f = sym.symbolize(0, Some(123));
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].function, "__imported_wasi_snapshot_preview1_proc_exit");
}

#[test]
fn body_ranges_match_the_module() {
    let m = data("simple.wasm");
    let sym = Symbolizer::new(&m).unwrap();
    let mut i = sym.num_imported_funcs();
    for payload in wasmparser::Parser::new(0).parse_all(&m) {
        match payload.unwrap() {
            wasmparser::Payload::CodeSectionStart { range, .. } => {
                assert_eq!(sym.code_section_payload_offset() as usize, range.start)
            }
            wasmparser::Payload::CodeSectionEntry(body) => {
                let r = body.range();
                assert_eq!(
                    sym.function_body_range(i),
                    Some((r.start as u32, r.end as u32))
                );
                assert_eq!(sym.func_index_at_offset(r.start as u32), Some(i));
                assert_eq!(sym.func_index_at_offset(r.end as u32 - 1), Some(i));
                // The body-size LEB (where DWARF low_pc points) belongs to the function too.
                assert_eq!(sym.func_index_at_offset(r.start as u32 - 1), Some(i));
                i += 1;
            }
            _ => {}
        }
    }
    assert_eq!(i, sym.num_funcs());
    assert_eq!(sym.function_body_range(sym.num_funcs()), None);
    assert_eq!(sym.func_index_at_offset(0), None);
}

#[test]
fn bad_offsets_fall_back_to_the_name() {
    let m = data("simple.wasm");
    let sym = Symbolizer::new(&m).unwrap();
    let make = one(&sym, "make_buffer");
    let (lo, hi) = sym.function_body_range(make).unwrap();
    let name_only = vec![frame("make_buffer", None, None, false, make)];
    for off in [
        None,
        Some(0),
        Some(lo - 10),
        Some(hi),
        Some(hi + 1000),
        Some(u32::MAX),
        Some(m.len() as u32),
    ] {
        let f = sym.symbolize(make, off);
        assert_eq!(
            f.iter().map(key).collect::<Vec<_>>(),
            name_only,
            "offset {off:?}"
        );
    }
    // Unknown function index.
    let f = sym.symbolize(99_999, Some(lo));
    assert_eq!(
        f.iter().map(key).collect::<Vec<_>>(),
        vec![frame("func[99999]", None, None, false, 99_999)]
    );
    // Every byte of every function: never panics, always ends with the physical frame.
    for func in sym.num_imported_funcs()..sym.num_funcs() {
        let (lo, hi) = sym.function_body_range(func).unwrap();
        for off in lo.saturating_sub(2)..hi + 2 {
            let f = sym.symbolize(func, Some(off));
            assert!(!f.is_empty());
            assert!(!f.last().unwrap().inlined);
            assert!(f.iter().all(|f| f.func_index == func));
        }
    }
}

#[test]
fn rust_names_are_demangled() {
    let m = data("rust_leak.wasm");
    let sym = Symbolizer::new(&m).unwrap();
    assert!(sym.has_name_section());
    assert!(!sym.has_dwarf());
    let names = sym.function_names();
    let get = |d: &str| {
        names
            .iter()
            .find(|f| f.demangled == d)
            .unwrap_or_else(|| panic!("no {d}: {names:#?}"))
    };
    // v0 allocator shim.
    let alloc = get("__rustc::__rust_alloc");
    assert!(
        alloc.raw.starts_with("_RNv") && alloc.raw.ends_with("12___rust_alloc"),
        "{}",
        alloc.raw
    );
    assert_eq!(alloc.source, NameSource::NameSection);
    get("__rustc::__rust_dealloc");
    get("__rustc::__rust_realloc");
    // Legacy, hash dropped.
    let make = get("rust_leak::make_node");
    assert!(
        make.raw.starts_with("_ZN9rust_leak9make_node17h") && make.raw.ends_with('E'),
        "{}",
        make.raw
    );
    get("alloc::rc::Rc<T,A>::drop_slow");
    // Unmangled export.
    assert_eq!(get("leak").raw, "leak");
    // function_name / raw_function_name agree with the list.
    assert_eq!(
        sym.function_name(alloc.index),
        Some("__rustc::__rust_alloc")
    );
    assert_eq!(sym.raw_function_name(alloc.index), Some(alloc.raw.as_str()));
    // Call site in make_node of __rust_alloc: name only (no DWARF), demangled.
    let make_idx = make.index;
    let sites = call_sites(&m, make_idx, alloc.index);
    assert!(!sites.is_empty());
    let f = sym.symbolize(make_idx, Some(sites[0]));
    assert_eq!(
        f.iter().map(key).collect::<Vec<_>>(),
        vec![frame("rust_leak::make_node", None, None, false, make_idx)]
    );
}

#[test]
fn demangle_cases() {
    // Rust legacy: `{:#}` drops the hash.
    assert_eq!(
        demangle("_ZN9rust_leak9make_node17h0314f9bd519049beE"),
        "rust_leak::make_node"
    );
    assert_eq!(
        demangle("_ZN5alloc2rc15Rc$LT$T$C$A$GT$9drop_slow17hb297bb4644fd612cE"),
        "alloc::rc::Rc<T,A>::drop_slow"
    );
    // Rust v0, incl. the allocator shims of recent rustc.
    assert_eq!(
        demangle("_RNvCsfLfy6EI15iL_7___rustc12___rust_alloc"),
        "__rustc::__rust_alloc"
    );
    assert_eq!(
        demangle("_RNvCsfLfy6EI15iL_7___rustc14___rust_dealloc"),
        "__rustc::__rust_dealloc"
    );
    assert_eq!(
        demangle(
            "_RNvMs0_NtCsjqx8TIyZbP9_8dlmalloc8dlmallocINtB5_8DlmallocNtNtB7_3sys6SystemE6mallocCsebHcaeoSrxy_3std"
        ),
        "<dlmalloc::dlmalloc::Dlmalloc<dlmalloc::sys::System>>::malloc"
    );
    // C++ Itanium.
    assert_eq!(demangle("_Znwm"), "operator new(unsigned long)");
    assert_eq!(demangle("_Znwj"), "operator new(unsigned int)");
    assert_eq!(demangle("_Znam"), "operator new[](unsigned long)");
    assert_eq!(demangle("_ZdlPv"), "operator delete(void*)");
    assert_eq!(
        demangle("_ZN6shapes6Widget6createEi"),
        "shapes::Widget::create(int)"
    );
    // Everything else unchanged.
    for s in [
        "malloc",
        "i",
        "v",
        "main",
        "__rust_alloc",
        "_start",
        "",
        "_Z",
        "_R",
        "shapes::Widget::create(int)",
    ] {
        assert_eq!(demangle(s), s);
    }
}

#[test]
fn errors_are_clear() {
    let e = Symbolizer::new(b"hello world, not wasm").unwrap_err();
    assert!(matches!(e, Error::NotWasm), "{e}");
    assert!(e.to_string().contains("not a WebAssembly module"));
    assert!(matches!(Symbolizer::new(b"").unwrap_err(), Error::NotWasm));
    // Truncated module.
    let m = data("simple_nodwarf.wasm");
    let e = Symbolizer::new(&m[..m.len() / 2]).unwrap_err();
    assert!(matches!(e, Error::Malformed { .. }), "{e}");
    assert!(
        e.to_string()
            .starts_with("malformed WebAssembly module at byte offset 0x"),
        "{e}"
    );
    // A component.
    let e = Symbolizer::new(b"\0asm\x0d\0\x01\0").unwrap_err();
    assert!(matches!(e, Error::Component), "{e}");
    // Minimal empty module is fine.
    let sym = Symbolizer::new(b"\0asm\x01\0\0\0").unwrap();
    assert_eq!(sym.num_funcs(), 0);
    assert_eq!(sym.symbolize(0, Some(8))[0].function, "func[0]");
}

#[test]
fn shared_between_threads() {
    let m = data("inline.wasm");
    let sym = std::sync::Arc::new(Symbolizer::new(&m).unwrap());
    let build = one(&sym, "build");
    let malloc = one(&sym, "malloc");
    let site = call_sites(&m, build, malloc)[0];
    let expected = sym.symbolize(build, Some(site));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let sym = sym.clone();
            std::thread::spawn(move || {
                (0..50)
                    .map(|_| sym.symbolize(build, Some(site)))
                    .next_back()
                    .unwrap()
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), expected);
    }
}

#[test]
fn frame_display() {
    let f = Frame {
        function: "alloc_node".into(),
        file: Some("/src/inline.c".into()),
        line: Some(5),
        column: Some(12),
        inlined: true,
        func_index: 4,
    };
    assert_eq!(f.to_string(), "alloc_node at /src/inline.c:5:12 (inlined)");
}

/// lld-14 (Emscripten 3.1.6) writes address 0 into the DWARF of functions it dropped: musl's `clock()` keeps a
/// unit and a subprogram claiming `[0, 0x56)`, overlapping `make_record`'s real code at `[0xb, 0x57)`. Such
/// dead ranges must not shadow the live unit.
#[test]
fn dead_code_dwarf_at_address_zero_is_ignored() {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/wasm/emscripten_emmalloc.wasm");
    let m = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let sym = Symbolizer::new(&m).unwrap();
    assert!(sym.has_dwarf());
    assert!(sym.dwarf_error().is_none());
    let make = one(&sym, "make_record");
    let malloc = one(&sym, "malloc");
    let sites = call_sites(&m, make, malloc);
    assert_eq!(sites.len(), 1);
    let frames = sym.symbolize(make, Some(sites[0]));
    assert_eq!(frames.len(), 1, "{frames:?}");
    let f = &frames[0];
    assert_eq!(f.function, "make_record");
    assert!(
        f.file.as_deref().is_some_and(|p| p.ends_with("patterns.c")),
        "{f:?}"
    );
    assert_eq!(f.line, Some(36));
    // No code location anywhere resolves into the dropped `clock()`.
    for func in sym.num_imported_funcs()..sym.num_funcs() {
        let (lo, hi) = sym.function_body_range(func).unwrap();
        for off in lo..hi {
            for f in sym.symbolize(func, Some(off)) {
                assert!(
                    !f.file.as_deref().is_some_and(|p| p.ends_with("/clock.c")),
                    "{off:#x}: {f:?}"
                );
            }
        }
    }
}

/// Smoke test over the project fixtures, when they have been built: no panics, sane frames.
#[test]
fn project_fixtures_if_present() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    let mut files = Vec::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() && !p.ends_with("target") {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "wasm") {
                files.push(p);
            }
        }
    }
    for p in files {
        let m = std::fs::read(&p).unwrap();
        let Ok(sym) = Symbolizer::new(&m) else {
            continue;
        };
        let _ = sym.function_names();
        for func in sym.num_imported_funcs()..sym.num_funcs() {
            let (lo, hi) = sym.function_body_range(func).unwrap();
            for off in [lo, (lo + hi) / 2, hi - 1] {
                let f = sym.symbolize(func, Some(off));
                assert!(
                    !f.is_empty() && !f.last().unwrap().inlined,
                    "{}",
                    p.display()
                );
            }
        }
    }
}

#[test]
fn cpp_names_and_inlined_method() {
    let m = data("widget.wasm");
    let sym = Symbolizer::new(&m).unwrap();
    assert!(sym.has_dwarf());
    // wasm-ld writes C++ names into the name section already demangled: raw == demangled.
    let new = one(&sym, "operator new(unsigned long)");
    assert_eq!(
        sym.raw_function_name(new),
        Some("operator new(unsigned long)")
    );
    let main = one(&sym, "main");
    let sites = call_sites(&m, main, new);
    assert_eq!(sites.len(), 1);
    // Widget::create was inlined into main; its name comes from the DWARF linkage name
    // (`_ZN6shapes6Widget6createEi`, reached through DW_AT_abstract_origin + DW_AT_specification), demangled.
    let frames = sym.symbolize(main, Some(sites[0]));
    assert_eq!(
        frames.iter().map(key).collect::<Vec<_>>(),
        vec![
            frame(
                "shapes::Widget::create(int)",
                Some("/src/widget.cc"),
                Some(10),
                true,
                main
            ),
            frame("main", Some("/src/widget.cc"), Some(17), false, main),
        ]
    );
}

#[test]
fn truncated_and_corrupted_modules_never_panic() {
    let m = data("simple_stripped.wasm");
    for len in 0..m.len() {
        let _ = Symbolizer::new(&m[..len]).map(|s| {
            let _ = s.function_names();
            s.symbolize(s.num_funcs().saturating_sub(1), Some(len as u32))
        });
    }
    // Corrupt the DWARF sections of a module with DWARF: lookups fall back, never panic.
    let m = data("inline.wasm");
    let mut ranges = Vec::new();
    for p in wasmparser::Parser::new(0).parse_all(&m) {
        if let Ok(wasmparser::Payload::CustomSection(c)) = p
            && c.name().starts_with(".debug_")
        {
            ranges.push(c.data_offset()..c.data_offset() + c.data().len());
        }
    }
    assert!(ranges.len() >= 4);
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for round in 0..24 {
        let mut bad = m.clone();
        for r in &ranges {
            for _ in 0..(1 + round * 4) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let at = r.start + (seed as usize) % r.len().max(1);
                bad[at] = (seed >> 32) as u8;
            }
        }
        let sym = Symbolizer::new(&bad).unwrap();
        let _ = sym.function_names();
        for func in sym.num_imported_funcs()..sym.num_funcs() {
            let (lo, hi) = sym.function_body_range(func).unwrap();
            for off in (lo..hi).step_by(7) {
                let f = sym.symbolize(func, Some(off));
                assert!(!f.is_empty() && !f.last().unwrap().inlined);
            }
        }
    }
}

/// A stripped WASI command: wasi-libc's `__main_void` is named by what it calls (both argv imports, through
/// their `__wasi_args_*` wrappers), so reports can still count the argv copy as the runtime's.
#[test]
fn stripped_command_names_main_void_by_its_calls() {
    let fixture = |name: &str| std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/wasm").join(name)).unwrap();
    let sym = Symbolizer::new(&fixture("c_patterns_stripped.wasm")).unwrap();
    let inferred: Vec<_> = sym.function_names().into_iter().filter(|n| n.source == NameSource::Inferred).collect();
    assert_eq!(inferred.len(), 1, "{inferred:?}");
    assert_eq!(inferred[0].raw, "__main_void");
    // The named module's own `__main_void` is the same function.
    let named = Symbolizer::new(&fixture("c_patterns.wasm")).unwrap();
    let main_void = named.function_names().into_iter().find(|n| n.raw == "__main_void").unwrap();
    assert_eq!(main_void.index, inferred[0].index);
    assert_eq!(main_void.source, NameSource::NameSection);
    // Emscripten has no WASI argv imports: nothing is inferred.
    let em = Symbolizer::new(&fixture("emscripten_stripped.wasm")).unwrap();
    assert!(em.function_names().iter().all(|n| n.source != NameSource::Inferred));
}

/// Two functions of one name and no DWARF (Rust's copies of a generic in a release build: every test body inlined
/// into its own `core::ops::function::FnOnce::call_once`) are told apart by index; a name of its own is kept.
#[test]
fn functions_sharing_a_name_are_told_by_their_index() {
    let module = wat::parse_str(
        r#"(module
            (func $a (export "a") call $same1 call $same2)
            (func $same1 (@name "_ZN4core3ops8function6FnOnce9call_once17h0000000000000001E"))
            (func $same2 (@name "_ZN4core3ops8function6FnOnce9call_once17h0000000000000002E")))"#,
    )
    .unwrap();
    let sym = Symbolizer::new(&module).unwrap();
    let name = |f: u32| sym.symbolize(f, None).last().unwrap().function.clone();
    assert_eq!(name(1), "core::ops::function::FnOnce::call_once (func[1])");
    assert_eq!(name(2), "core::ops::function::FnOnce::call_once (func[2])");
    assert_eq!(name(0), "a");
    // The name table itself is unchanged (discovery reads it).
    assert_eq!(sym.function_name(1), Some("core::ops::function::FnOnce::call_once"));
}
