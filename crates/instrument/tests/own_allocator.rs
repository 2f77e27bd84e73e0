//! Functions named for allocating and freeing beside the allocator found: another allocator of the program's own
//! (refused, listed) — unless the allocator found calls them itself: then they are its internals (mimalloc's
//! `_mi_prim_alloc` and `mi_page_extend_free`, also reached from its initialisation: every optimised mimalloc build
//! was refused; crates survey).

use std::collections::HashMap;

use wasmleak_instrument::{find_allocator, Error, ModuleInfo, Overrides};

/// `malloc`/`free`, and `page_alloc`/`page_free`, which reach neither and are also called by `init`. `internal`:
/// `malloc` calls them too, under a function of its own.
fn module(internal: bool) -> Vec<u8> {
    let calls = if internal { "(call $generic (local.get 0))" } else { "" };
    wat::parse_str(format!(
        r#"(module
          (memory (export "memory") 2)
          (global $top (mut i32) (i32.const 4096))
          (func $page_alloc (param i32) (result i32) (i32.store (i32.const 64) (local.get 0)) (i32.const 8192))
          (func $page_free (param i32) (i32.store (i32.const 68) (local.get 0)))
          (func $generic (param i32) (drop (call $page_alloc (local.get 0))) (call $page_free (local.get 0)))
          (func $malloc (export "malloc") (param i32) (result i32)
            {calls}
            (global.get $top)
            (global.set $top (i32.add (global.get $top) (local.get 0))))
          (func $free (export "free") (param i32) (i32.store (i32.const 72) (local.get 0)))
          (func (export "init") (drop (call $page_alloc (i32.const 1))) (call $page_free (i32.const 2))))"#
    ))
    .unwrap()
}

#[test]
fn named_helpers_the_allocator_calls_are_its_own() {
    let bytes = module(true);
    let info = ModuleInfo::parse(&bytes).unwrap();
    let eps = find_allocator(&bytes, &info, &HashMap::new(), &Overrides::default()).unwrap();
    let names: Vec<&str> = eps.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["malloc", "free"]);
}

#[test]
fn named_helpers_beside_the_allocator_are_another() {
    let bytes = module(false);
    let info = ModuleInfo::parse(&bytes).unwrap();
    match find_allocator(&bytes, &info, &HashMap::new(), &Overrides::default()) {
        Err(Error::NoAllocator { why, .. }) => assert!(why.contains("`page_alloc`") && why.contains("`page_free`"), "{why}"),
        other => panic!("{other:?}"),
    }
}
