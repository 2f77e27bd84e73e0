//! Allocators of stripped modules found from the shape of their code: the same entry points (index and
//! role) as the name section of the unstripped twin finds, with the stated confidence; and a clear error,
//! not a guess, when nothing allocator-shaped is there.

use std::collections::HashMap;

use wasmleak_instrument::{find_allocator, find_allocator_by_name, Confidence, Error, Evidence, ModuleInfo, Overrides};

fn read(name: &str) -> Vec<u8> {
    let p = format!("{}/../../fixtures/wasm/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn roles(eps: &[wasmleak_instrument::EntryPoint]) -> Vec<(u32, String)> {
    eps.iter().map(|e| (e.func, e.role.to_string())).collect()
}

fn check(named: &str, stripped: &str, want: Confidence) {
    let nb = read(named);
    let ninfo = ModuleInfo::parse(&nb).unwrap();
    let by_name = find_allocator_by_name(&ninfo, &HashMap::new(), &Overrides::default()).unwrap();
    assert!(by_name.iter().all(|e| e.evidence == Evidence::NameSection), "{named}: {by_name:?}");
    let sb = read(stripped);
    let sinfo = ModuleInfo::parse(&sb).unwrap();
    assert!(sinfo.func_names.is_empty(), "{stripped} still has names");
    // Without the code there is nothing to go on.
    assert!(matches!(find_allocator_by_name(&sinfo, &HashMap::new(), &Overrides::default()), Err(Error::NoAllocator { .. })));
    let by_shape = find_allocator(&sb, &sinfo, &HashMap::new(), &Overrides::default())
        .unwrap_or_else(|e| panic!("{stripped}: {e}"));
    assert_eq!(roles(&by_shape), roles(&by_name), "{stripped} vs {named}");
    for e in &by_shape {
        match &e.evidence {
            Evidence::Fingerprint { confidence, reason } => {
                assert_eq!(*confidence, want, "{stripped}: {reason}");
                assert!(!reason.is_empty());
            }
            other => panic!("{stripped}: func {} found by {other}", e.func),
        }
        assert_eq!(e.name, format!("func[{}]", e.func));
    }
    // With names present the names win: fingerprints never replace them.
    let named_again = find_allocator(&nb, &ninfo, &HashMap::new(), &Overrides::default()).unwrap();
    assert_eq!(named_again, by_name);
}

#[test]
fn emscripten_dlmalloc() {
    // Fixed-size heap: no memory.grow anywhere, so the growth evidence is missing.
    check("emscripten_patterns.wasm", "emscripten_stripped.wasm", Confidence::Medium);
}

#[test]
fn emscripten_emmalloc() {
    check("emscripten_emmalloc.wasm", "emscripten_emmalloc_stripped.wasm", Confidence::Low);
}

#[test]
fn wasi_libc_dlmalloc() {
    check("c_patterns.wasm", "c_patterns_stripped.wasm", Confidence::High);
}

#[test]
fn rust_dlmalloc_crate() {
    check("rust_lib.wasm", "rust_lib_stripped.wasm", Confidence::High);
}

#[test]
fn rust_dlmalloc_crate_lto() {
    check("rust_lib_lto.wasm", "rust_lib_lto_stripped.wasm", Confidence::High);
}

/// The fingerprints also agree with the names on the unstripped modules (names dropped in memory).
#[test]
fn same_on_named_modules_with_names_dropped() {
    for m in ["emscripten_patterns.wasm", "c_patterns.wasm", "rust_lib.wasm", "rust_lib_lto.wasm"] {
        let b = read(m);
        let mut info = ModuleInfo::parse(&b).unwrap();
        let by_name = find_allocator_by_name(&info, &HashMap::new(), &Overrides::default()).unwrap();
        info.func_names.clear();
        let by_shape = find_allocator(&b, &info, &HashMap::new(), &Overrides::default()).unwrap();
        assert_eq!(roles(&by_shape), roles(&by_name), "{m}");
    }
}

/// A bump allocator with no free and no names: allocator territory (it grows memory), but not a shape
/// the finder can be sure of. It must fail with the clear error and point at the candidate.
#[test]
fn bump_allocator_is_not_guessed() {
    let wat = r#"
    (module
      (memory 1)
      (global $top (mut i32) (i32.const 1024))
      (data (i32.const 16) "hello")
      (func (export "alloc") (param i32) (result i32)
        (local i32)
        i32.const 16 i32.load
        drop
        global.get $top
        local.set 1
        global.get $top
        local.get 0
        i32.add
        global.set $top
        global.get $top
        memory.size
        i32.const 16
        i32.shl
        i32.gt_u
        if
          i32.const 1
          memory.grow
          drop
        end
        local.get 1)
      (func (export "work") (param i32) (result i32)
        local.get 0
        call 0
        i32.const 20
        i32.store
        i32.const 0))
    "#;
    let bytes = wat::parse_str(wat).unwrap();
    let info = ModuleInfo::parse(&bytes).unwrap();
    let err = find_allocator(&bytes, &info, &HashMap::new(), &Overrides::default()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::NoAllocator { .. }), "{msg}");
    assert!(msg.contains("no name section"), "{msg}");
    assert!(msg.contains("memory.grow in func 0"), "{msg}");
    assert!(msg.contains("--alloc-fn"), "{msg}");
}

/// A user-named entry point disables the fingerprints: the user's word is final.
#[test]
fn overrides_are_not_second_guessed() {
    let b = read("emscripten_stripped.wasm");
    let info = ModuleInfo::parse(&b).unwrap();
    let o = Overrides { alloc: vec!["69".into()], ..Default::default() };
    assert!(matches!(find_allocator(&b, &info, &HashMap::new(), &o), Err(Error::NoAllocator { .. })));
}

/// A dlmalloc-shaped module: malloc uses the state 45 times in its first part (the small bins, initialised
/// unrolled, as older `dlmalloc` crates do) and 10 times in its fields, 128 bytes further on (past the tree
/// bins, which no constant names); free uses the fields 20 times and the bins 3 times. malloc grows the heap
/// through `sbrk`, which compares with `memory.size` and asks an import to grow (Emscripten's
/// `emscripten_resize_heap`) when `grow` is set, else has no way to grow.
fn dl_shaped(grow: bool) -> Vec<u8> {
    let uses = |base: u32, words: u32, n: u32| -> String {
        (0..n).map(|i| format!("i32.const {} i32.load drop\n", base + 4 * (i % words))).collect()
    };
    let (bins, fields) = (1024, 1024 + 4 * 20 + 128);
    let sbrk = if grow {
        "local.get 0 memory.size i32.const 16 i32.shl i32.gt_u if local.get 0 call 0 drop end"
    } else {
        "local.get 0 memory.size i32.const 16 i32.shl i32.gt_u if i32.const -1 return end"
    };
    let wat = format!(
        r#"(module
          (import "a" "E" (func (param i32) (result i32)))
          (memory 2)
          (data (i32.const 1024) "x")
          (func (param i32) (result i32) {sbrk} i32.const 4000 i32.load)
          (func (export "N") (param i32) (result i32) {} {} local.get 0 call 1)
          (func (export "O") (param i32) {} {})
          (func (export "work") (param i32) (result i32) local.get 0 call 2 i32.const 20 i32.store i32.const 0))"#,
        uses(bins, 20, 45),
        uses(fields, 10, 10),
        uses(fields, 10, 20),
        uses(bins, 20, 3),
    );
    // no `$names` above: the module has no name section, as if stripped
    wat::parse_str(wat).unwrap()
}

/// The state split by a hole wider than one structure's gap is still one state (blake3-wasm 2.1.5, whose
/// `dlmalloc` crate was not recognised before: its free uses the fields, not the bins).
#[test]
fn dlmalloc_state_split_by_the_tree_bins() {
    let b = dl_shaped(true);
    let info = ModuleInfo::parse(&b).unwrap();
    let eps = find_allocator(&b, &info, &HashMap::new(), &Overrides::default()).unwrap_or_else(|e| panic!("{e}"));
    // func 0 is the import: sbrk 1, malloc 2, free 3
    assert_eq!(roles(&eps), vec![(2, "malloc".to_string()), (3, "free".to_string())]);
    for e in &eps {
        let Evidence::Fingerprint { confidence, reason } = &e.evidence else { panic!("{e:?}") };
        assert!(reason.contains("use one static structure 55 and 23 times"), "{reason}");
        // Emscripten conventions: growth through the imported resize function, malloc and free exported.
        assert_eq!(*confidence, Confidence::High, "{reason}");
        assert!(reason.contains("grows memory through an import (func 1"), "{reason}");
        assert!(reason.contains("both exported"), "{reason}");
    }
}

/// Without the import call `memory.size` alone is no growth: a fixed-size heap, medium confidence.
#[test]
fn memory_size_without_an_import_is_not_growth() {
    let b = dl_shaped(false);
    let info = ModuleInfo::parse(&b).unwrap();
    let eps = find_allocator(&b, &info, &HashMap::new(), &Overrides::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(roles(&eps), vec![(2, "malloc".to_string()), (3, "free".to_string())]);
    for e in &eps {
        let Evidence::Fingerprint { confidence, reason } = &e.evidence else { panic!("{e:?}") };
        assert_eq!(*confidence, Confidence::Medium, "{reason}");
        assert!(reason.contains("no memory.grow reached"), "{reason}");
    }
}
