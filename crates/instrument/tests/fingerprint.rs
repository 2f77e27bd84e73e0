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
