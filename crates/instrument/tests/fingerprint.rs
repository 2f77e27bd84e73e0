//! Allocators of stripped modules found from the shape of their code: the same entry points (index and
//! role) as the name section of the unstripped twin finds, with the stated confidence; and a clear error,
//! not a guess, when nothing allocator-shaped is there.

use std::collections::HashMap;

use wasmleak_instrument::{discover, find_allocator, find_allocator_by_name, Confidence, Discovery, Error, Evidence, ModuleInfo, Overrides};

/// The shape analysis alone, for synthetic modules whose functions have the shape of an allocator but do not
/// allocate (experiments refuse them: see `synthetic_shapes_do_not_pass_the_experiments`).
fn by_shape_only(b: &[u8], info: &ModuleInfo) -> Result<Vec<wasmleak_instrument::EntryPoint>, Error> {
    discover(b, info, &HashMap::new(), &Overrides::default(), &Discovery { experiments: false }).map(|d| d.entry_points)
}

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
    // By name, the inner layers only other entry points call dropped (as with the code at hand).
    let by_name = find_allocator(&nb, &ninfo, &HashMap::new(), &Overrides::default()).unwrap();
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
    check("emscripten_patterns.wasm", "emscripten_stripped.wasm", Confidence::High);
}

#[test]
fn emscripten_emmalloc() {
    check("emscripten_emmalloc.wasm", "emscripten_emmalloc_stripped.wasm", Confidence::High);
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
        let by_name = find_allocator(&b, &info, &HashMap::new(), &Overrides::default()).unwrap();
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
    let Error::NoAllocator { detail, .. } = &err else { panic!("{msg}") };
    assert!(msg.contains("no name section"), "{msg}");
    assert!(msg.contains("--alloc-fn"), "{msg}");
    // The candidates are in the detail `inspect` shows, not in the one-line refusal.
    assert!(detail.iter().any(|d| d.contains("memory.grow in func 0")), "{detail:?}");
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
    dl_shaped_with(grow, "")
}

/// [`dl_shaped`] with more functions after `work` (func 5 on), e.g. wrappers of malloc (func 2) and free (3).
fn dl_shaped_with(grow: bool, extra: &str) -> Vec<u8> {
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
          (func (export "work") (param i32) (result i32) local.get 0 call 2 i32.const 20 i32.store i32.const 0)
          {extra})"#,
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
    let eps = by_shape_only(&b, &info).unwrap_or_else(|e| panic!("{e}"));
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
    let eps = by_shape_only(&b, &info).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(roles(&eps), vec![(2, "malloc".to_string()), (3, "free".to_string())]);
    for e in &eps {
        let Evidence::Fingerprint { confidence, reason } = &e.evidence else { panic!("{e:?}") };
        assert_eq!(*confidence, Confidence::Medium, "{reason}");
        assert!(reason.contains("no memory.grow reached"), "{reason}");
    }
}

/// C++ over wasi-libc (libc++ 16, `-fno-exceptions`): `operator new` (the new_handler loop over `malloc`),
/// `operator new[]` (forwards to it) and `operator delete` (passes its pointer to `free`) are found by their
/// code, with the confidence of the allocator they wrap. `operator delete[]` forwards to `operator delete`
/// exactly as a deleting destructor of a class with nothing to destroy does, so it is left alone; `dlmalloc` and
/// `dlfree` are only ever called under the entry points (`malloc`, `calloc`, `free`…), which report, so they
/// need no hook of their own (the name list, which does not look at calls, has them).
#[test]
fn cpp_operator_new_delete() {
    let nb = read("cpp_patterns.wasm");
    let ninfo = ModuleInfo::parse(&nb).unwrap();
    let by_name = roles(&find_allocator_by_name(&ninfo, &HashMap::new(), &Overrides::default()).unwrap());
    let sb = read("cpp_patterns_stripped.wasm");
    let sinfo = ModuleInfo::parse(&sb).unwrap();
    assert!(sinfo.func_names.is_empty());
    let eps = find_allocator(&sb, &sinfo, &HashMap::new(), &Overrides::default()).unwrap_or_else(|e| panic!("{e}"));
    let by_shape = roles(&eps);
    let missing: Vec<u32> = by_name.iter().filter(|r| !by_shape.contains(r)).map(|r| r.0).collect();
    assert!(by_shape.iter().all(|r| by_name.contains(r)), "{by_shape:?} vs {by_name:?}");
    assert_eq!(missing, vec![50, 60, 62], "{by_shape:?} vs {by_name:?}");
    assert_eq!(ninfo.func_names[&50], "operator delete[](void*)");
    assert_eq!(ninfo.func_names[&60], "dlmalloc");
    assert_eq!(ninfo.func_names[&62], "dlfree");
    let reason = |f: u32| match &eps.iter().find(|e| e.func == f).unwrap().evidence {
        Evidence::Fingerprint { confidence, reason } => {
            assert_eq!(*confidence, Confidence::High, "{reason}");
            reason.clone()
        }
        e => panic!("{e:?}"),
    };
    assert!(reason(47).starts_with("operator new-shaped: calls malloc (func 59) with its size and returns its result; new_handler loop"), "{}", reason(47));
    assert!(reason(48).starts_with("forwards to func 47 (operator new-shaped)"), "{}", reason(48));
    assert!(reason(49).starts_with("operator delete-shaped: passes its pointer to free (func 61)"), "{}", reason(49));
    assert_eq!(ninfo.func_names[&47], "operator new(unsigned long)");
    assert_eq!(ninfo.func_names[&48], "operator new[](unsigned long)");
    assert_eq!(ninfo.func_names[&49], "operator delete(void*)");
    // the named module with its names dropped gives the same
    let mut dropped = ninfo.clone();
    dropped.func_names.clear();
    assert_eq!(roles(&find_allocator(&nb, &dropped, &HashMap::new(), &Overrides::default()).unwrap()), by_shape);
}

/// The shapes of `operator new` and `operator delete` in a synthetic dlmalloc module, and functions that
/// call malloc but must not be taken for it: whatever does anything with the pointer but test and return it,
/// changes the size, returns something else, or calls anything else that allocates.
#[test]
fn operator_new_delete_shapes() {
    // func 2 is malloc, func 3 dlfree (25 is free); the extra functions start at 5, all exported (so none is only reached
    // through a forwarder, which would need no hook of its own).
    let extra = r#"
      (table 1 funcref)
      ;; 5: std::get_new_handler()
      (func (result i32) i32.const 5000 i32.load)
      ;; 6: operator new, libc++ 16 (wasi-sdk): size ? size : 1, malloc in a loop, the handler when it fails
      (func (export "f6") (param i32) (result i32) (local i32)
        local.get 0 i32.const 1 local.get 0 select local.set 1
        loop (result i32)
          block
            block
              local.get 1 call 2 local.tee 0 br_if 0
              call 5 local.tee 0 br_if 1
              i32.const 0 local.set 0
            end
            local.get 0 return
          end
          local.get 0 call_indirect
          br 0
        end)
      ;; 7: operator_new_impl, libc++ 18 (Emscripten): max(size, 1), the loop, 0 when there is no handler
      (func (export "f7") (param i32) (result i32) (local i32 i32)
        i32.const 1 local.get 0 local.get 0 i32.const 1 i32.le_u select local.set 0
        loop
          block
            local.get 0 call 2 local.tee 1 br_if 0
            i32.const 5000 i32.load local.tee 2 i32.eqz br_if 0
            local.get 2 call_indirect
            br 1
          end
        end
        local.get 1)
      ;; 8: operator new, libc++ 18: operator_new_impl, and __throw_bad_alloc_shim (9) when it fails
      (func (export "f8") (param i32) (result i32)
        local.get 0 call 7 local.tee 0 i32.eqz if call 9 unreachable end local.get 0)
      ;; 9: __throw_bad_alloc_shim (abort)
      (func nop)
      ;; 10: operator new[] → operator new
      (func (export "f10") (param i32) (result i32) local.get 0 call 6)
      ;; 11: operator delete(void*) → free (25) → dlfree (3)
      (func (export "f11") (param i32) local.get 0 call 25)
      ;; 12: operator delete(void*, size_t)
      (func (export "f12") (param i32 i32) local.get 0 call 25)
      ;; 13: operator delete[] or a deleting destructor: forwards to operator delete — not taken
      (func (export "f13") (param i32) local.get 0 call 11)
      ;; 14: initialises the block
      (func (export "f14") (param i32) (result i32) (local i32)
        local.get 0 call 2 local.tee 1 i32.eqz if unreachable end local.get 1 i32.const 7 i32.store local.get 1)
      ;; 15: returns a pointer past a header
      (func (export "f15") (param i32) (result i32) (local i32)
        local.get 0 call 2 local.tee 1 i32.eqz if unreachable end local.get 1 i32.const 8 i32.add)
      ;; 16: allocates more than asked (a header)
      (func (export "f16") (param i32) (result i32) (local i32)
        local.get 0 i32.const 8 i32.add call 2 local.tee 1 i32.eqz if unreachable end local.get 1)
      ;; 17: strdup-shaped: the size is not the parameter
      (func (export "f17") (param i32) (result i32) (local i32)
        local.get 0 i32.load offset=4 call 2 local.tee 1 i32.eqz if unreachable end local.get 1)
      ;; 18: no failure path: a user function that happens to call malloc
      (func (export "f18") (param i32) (result i32) (local i32)
        local.get 0 call 2 local.set 1 i32.const 5004 i32.const 1 i32.store local.get 1)
      ;; 19: calls something else that allocates (work, func 4) on its failure path
      (func (export "f19") (param i32) (result i32) (local i32)
        local.get 0 call 2 local.tee 1 i32.eqz if i32.const 1 call 4 drop unreachable end local.get 1)
      ;; 20: an emergency buffer when malloc fails: returns a static address
      (func (export "f20") (param i32) (result i32) (local i32)
        local.get 0 call 2 local.tee 1 i32.eqz if i32.const 5008 return end local.get 1)
      ;; 21: a constant size
      (func (export "f21") (param i32) (result i32) (local i32)
        i32.const 16 call 2 local.tee 1 i32.eqz if unreachable end local.get 1)
      ;; 22: passes the pointer on
      (func (export "f22") (param i32) (result i32) (local i32)
        local.get 0 call 2 local.tee 1 i32.eqz if unreachable end local.get 1 call 11 local.get 1)
      ;; 23: two allocations
      (func (export "f23") (param i32) (result i32) (local i32)
        local.get 0 call 2 local.tee 1 i32.eqz if local.get 0 call 2 return end local.get 1)
      ;; 24: a delete that checks its pointer first
      (func (export "f24") (param i32) local.get 0 if local.get 0 call 25 end)
      ;; 25: wasi-libc's free, over dlfree
      (func (export "free") (param i32) local.get 0 call 3)
    "#;
    let b = dl_shaped_with(true, extra);
    let info = ModuleInfo::parse(&b).unwrap();
    assert!(info.func_names.is_empty());
    let eps = by_shape_only(&b, &info).unwrap_or_else(|e| panic!("{e}"));
    let want: Vec<(u32, String)> = [(2, "malloc"), (3, "free"), (6, "malloc"), (7, "malloc"), (8, "malloc"), (10, "malloc"), (11, "free"), (12, "free"), (25, "free")]
        .iter()
        .map(|(f, r)| (*f, r.to_string()))
        .collect();
    assert_eq!(roles(&eps), want);
    let reason = |f: u32| match &eps.iter().find(|e| e.func == f).unwrap().evidence {
        Evidence::Fingerprint { confidence, reason } => {
            assert_eq!(*confidence, Confidence::High, "{reason}");
            reason.clone()
        }
        e => panic!("{e:?}"),
    };
    assert!(reason(6).contains("calls malloc (func 2) with its size and returns its result; new_handler loop"), "{}", reason(6));
    assert!(reason(7).contains("new_handler loop"), "{}", reason(7));
    assert!(reason(8).contains("calls another operator new-shaped function (func 7)"), "{}", reason(8));
    assert!(reason(8).contains("aborts or throws when it fails"), "{}", reason(8));
    assert!(reason(10).starts_with("forwards to func 6"), "{}", reason(10));
    assert!(reason(12).contains("the first of 2 parameters"), "{}", reason(12));
}

/// `operator new(size, align_val_t)` over aligned_alloc(align, size): a (size, align) entry point.
#[test]
fn aligned_operator_new_shape() {
    // 5: internal_memalign(align, size), over malloc and dispose_chunk (8, works on the state);
    // 6: aligned_alloc(align, size); 7: operator new(size, align)
    let extra = r#"
      (table 1 funcref)
      (func (param i32 i32) (result i32) local.get 1 call 2 local.get 0 call 8 local.get 1)
      (func (export "aligned_alloc") (param i32 i32) (result i32)
        local.get 0 i32.const 8 i32.le_u if local.get 1 call 2 return end local.get 0 local.get 1 call 5)
      (func (export "f7") (param i32 i32) (result i32) (local i32)
        local.get 1 i32.const 4 local.get 1 i32.const 4 i32.gt_u select local.set 1
        local.get 0 i32.const 1 local.get 0 select local.set 0
        loop
          block
            local.get 1 local.get 0 call 6 local.tee 2 br_if 0
            i32.const 5000 i32.load local.tee 2 i32.eqz if unreachable end
            local.get 2 call_indirect
            br 1
          end
        end
        local.get 2)
      (func (param i32 i32) i32.const 1024 i32.load drop i32.const 1028 i32.load drop)
    "#;
    let b = dl_shaped_with(true, extra);
    let info = ModuleInfo::parse(&b).unwrap();
    let eps = by_shape_only(&b, &info).unwrap_or_else(|e| panic!("{e}"));
    let got = roles(&eps);
    assert!(got.contains(&(6, "aligned_alloc".to_string())), "{got:?}");
    assert!(got.contains(&(7, "rust alloc".to_string())), "{got:?}");
    let Evidence::Fingerprint { reason, .. } = &eps.iter().find(|e| e.func == 7).unwrap().evidence else { panic!() };
    assert!(reason.contains("aligned operator new-shaped: calls aligned_alloc (func 6)"), "{reason}");
}

/// The synthetic dlmalloc shapes above look right but allocate nothing (their "malloc" returns a word of
/// static data): called in a scratch instance, they are refused with what they did, never hooked.
#[test]
fn synthetic_shapes_do_not_pass_the_experiments() {
    let b = dl_shaped(true);
    let info = ModuleInfo::parse(&b).unwrap();
    let err = find_allocator(&b, &info, &HashMap::new(), &Overrides::default()).unwrap_err();
    let msg = err.to_string();
    let Error::NoAllocator { detail, .. } = &err else { panic!("{msg}") };
    assert!(msg.contains("no function that looks like dlmalloc's malloc behaved as one when called (2 tried: func 2, func 4)"), "{msg}");
    assert!(detail.iter().any(|d| d == "func 2: func 2 returned 0 (NULL) for 24 bytes"), "{detail:?}");
}

/// `Instrumented::dlmalloc` — whether live blocks' sizes may be read from dlmalloc chunk headers — is set for
/// dlmalloc by name (wasi-libc C and Rust's std on it, the Rust `dlmalloc` crate, Emscripten's default) and by shape
/// (stripped), and not for other allocators, even where wasi-libc's dlmalloc is linked beside a Rust
/// `#[global_allocator]` of its own (its blocks have no chunk headers).
#[test]
fn the_dlmalloc_flag_follows_the_allocator() {
    for (name, want) in [
        ("c_patterns.wasm", true),
        ("c_patterns_stripped.wasm", true),
        ("rust_patterns.wasm", true),
        ("emscripten_patterns.wasm", true),
        ("edge/rust_galloc_dlmalloc_o0.wasm", true),
        ("emscripten_emmalloc.wasm", false),
        ("edge/rust_galloc_header_o0.wasm", false),
        ("edge/rust_galloc_wee_o0.wasm", false),
        ("edge/rust_galloc_lol_o0.wasm", false),
    ] {
        let b = read(name);
        let info = ModuleInfo::parse(&b).unwrap();
        let eps = find_allocator(&b, &info, &HashMap::new(), &Overrides::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let ins = wasmleak_instrument::instrument(&b, &info, &eps).unwrap();
        assert_eq!(ins.dlmalloc, want, "{name}: {:?}", eps.iter().map(|e| &e.name).collect::<Vec<_>>());
    }
}

/// A user-named Rust `GlobalAlloc` impl, by its demangled name as `inspect --functions` prints it, or any Rust method
/// that takes a `Layout`: it comes as (align, size), after `self` when it has one, so the size is its last parameter
/// (wee_alloc's `alloc(align, size)`, taken as `(size, align)`, made every block 1 B long: allocator survey).
#[test]
fn a_named_global_alloc_impl_takes_its_size_last() {
    let wat = r#"(module
        (memory 1)
        (func (@name "_ZN72_$LT$wee_alloc..WeeAlloc$u20$as$u20$core..alloc..global..GlobalAlloc$GT$5alloc17h87624012527a7f87E")
            (param i32 i32) (result i32) i32.const 8)
        (func (@name "_ZN72_$LT$wee_alloc..WeeAlloc$u20$as$u20$core..alloc..global..GlobalAlloc$GT$7dealloc17h7f5c3773871c3571E")
            (param i32 i32 i32))
        (func (@name "_ZN4talc4talc13Talc$LT$O$GT$6malloc17hf1dccd91bb0b79faE") (param i32 i32 i32) (result i32) i32.const 8)
        (func (@name "_ZN4talc4talc13Talc$LT$O$GT$4free17h3d56f9a743dfca37E") (param i32 i32 i32 i32))
        (func (@name "_ZN5Arena5allocEmm") (param i32 i32) (result i32) i32.const 8))"#;
    let bytes = wat::parse_str(wat).unwrap();
    let info = ModuleInfo::parse(&bytes).unwrap();
    let name = "<wee_alloc::WeeAlloc as core::alloc::global::GlobalAlloc>::";
    let o = Overrides { alloc: vec![format!("{name}alloc")], free: vec![format!("{name}dealloc")], ..Default::default() };
    let eps = find_allocator_by_name(&info, &HashMap::new(), &o).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(roles(&eps), vec![(0, "aligned_alloc".to_string()), (1, "free".to_string())]);
    // Any Rust method taking a `Layout` too: talc's `malloc(self, align, size)` and `free(self, ptr, align, size)`
    // (refused for their signature, or read with the alignment as size where LTO dropped `self`).
    // (By index as wasmleak's messages write it, and by the last part of one name.)
    let o = Overrides { alloc: vec!["func[2]".into()], free: vec!["Talc<O>::free".into()], ..Default::default() };
    let eps = find_allocator_by_name(&info, &HashMap::new(), &o).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(roles(&eps), vec![(2, "GlobalAlloc alloc".to_string()), (3, "GlobalAlloc dealloc".to_string())]);
    // A C++ method (or a C function) keeps the flag's meaning, (size) or (size, align).
    let o = Overrides { alloc: vec!["4".into()], free: vec!["1".into()], ..Default::default() };
    let eps = find_allocator_by_name(&info, &HashMap::new(), &o).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(roles(&eps), vec![(1, "free".to_string()), (4, "rust alloc".to_string())]);
}

/// An allocator no shape knows (a first-fit free list), its malloc and free exported as Emscripten exports them, its
/// realloc not: the realloc over them — (ptr, size) -> ptr calling both, resizing in place where the block is big
/// enough — is found and confirmed by calling it. Without it the in-place resizes were never seen (a stripped -O2
/// emmalloc build of Lua: leaked bytes +57%, no word said).
#[test]
fn the_realloc_over_an_exported_pair_is_found() {
    let wat = r#"(module
      (memory (export "memory") 1)
      (global (mut i32) (i32.const 4096))
      (global (mut i32) (i32.const 0))
      ;; malloc(n): first fit from the free list, else bump (growing memory); blocks are [size][next] + data.
      (func (export "malloc") (param i32) (result i32) (local i32 i32)
        local.get 0 i32.const 7 i32.add i32.const -8 i32.and local.set 0
        global.get 1 local.set 1
        block loop
          local.get 1 i32.eqz br_if 1
          local.get 1 i32.load local.get 0 i32.ge_u if
            local.get 2 if local.get 2 local.get 1 i32.load offset=4 i32.store offset=4
            else local.get 1 i32.load offset=4 global.set 1 end
            local.get 1 i32.const 8 i32.add return
          end
          local.get 1 local.set 2
          local.get 1 i32.load offset=4 local.set 1
          br 0
        end end
        global.get 0 local.set 1
        global.get 0 local.get 0 i32.add i32.const 8 i32.add global.set 0
        block loop
          global.get 0 memory.size i32.const 16 i32.shl i32.le_u br_if 1
          i32.const 1 memory.grow i32.const -1 i32.eq if i32.const 0 return end
          br 0
        end end
        local.get 1 local.get 0 i32.store
        local.get 1 i32.const 8 i32.add)
      (func (export "free") (param i32) (local i32)
        local.get 0 i32.eqz if return end
        local.get 0 i32.const 8 i32.sub local.set 1
        local.get 1 global.get 1 i32.store offset=4
        local.get 1 global.set 1)
      ;; realloc(p, n): in place when the block is big enough, else malloc, copy, free.
      (func (param i32 i32) (result i32) (local i32)
        local.get 0 i32.eqz if local.get 1 call 0 return end
        local.get 0 i32.const 8 i32.sub i32.load local.get 1 i32.ge_u if local.get 0 return end
        local.get 1 call 0 local.set 2
        local.get 2 local.get 0 local.get 0 i32.const 8 i32.sub i32.load memory.copy
        local.get 0 call 1
        local.get 2)
      (func (export "resize") (param i32 i32) (result i32) local.get 0 local.get 1 call 2))"#;
    let b = wat::parse_str(wat).unwrap();
    let info = ModuleInfo::parse(&b).unwrap();
    let d = discover(&b, &info, &HashMap::new(), &Overrides::default(), &Discovery { experiments: true }).unwrap();
    assert_eq!(roles(&d.entry_points), [(0, "malloc".to_string()), (1, "free".to_string()), (2, "realloc".to_string())], "{:?}", d.entry_points);
    assert!(d.entry_points[2].confirmed.as_deref().is_some_and(|c| c.contains("grew and shrank a block")), "{:?}", d.entry_points[2]);
}
