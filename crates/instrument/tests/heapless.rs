//! A module that keeps no state of its own — no store at a fixed address of its memory, no global set — works only
//! on memory its host hands it (xxhash-wasm: JavaScript writes the input, reads the digest): no allocator can be in
//! it, names or not. Every app that hashed with it got "a module with a heap was not tracked", exit 2 (npm survey).
//! Numbers kept at a fixed address (a hash context in static memory: hash-wasm) are no heap either; an address
//! kept there or in a global, followed or handed out (a bump's `top`, a free list) may be an allocator's: not said.

use wasmleak_instrument::{heapless, ModuleInfo};
use wasmleak_symbolize::Symbolizer;

/// No names (no `$` identifiers): what a stripped module tells.
fn module(state: &str) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module
          (memory (export "mem") 1)
          (global (mut i32) (i32.const 65536))
          (global (mut i32) (i32.const 0))
          (func (export "hash") (param i32 i32) (result i32) (call 1 (local.get 0) (local.get 1)))
          ;; Not exported: a stripped module names it nowhere.
          (func (param i32 i32) (result i32)
            (i32.store (local.get 0) (i32.add (i32.load (local.get 0)) (local.get 1)))
            {state}
            (i32.load (local.get 0))))"#
    ))
    .unwrap()
}

fn is_heapless(bytes: &[u8]) -> bool {
    let info = ModuleInfo::parse(bytes).unwrap();
    heapless(bytes, &info, &Symbolizer::new(bytes).unwrap())
}

#[test]
fn a_module_that_keeps_no_state_has_no_heap() {
    assert!(is_heapless(&module("")));
    assert!(is_heapless(&module("(i32.store (i32.const 2048) (local.get 1))")), "a number at a fixed address");
    assert!(is_heapless(&module("(global.set 0 (global.get 0))")), "the stack pointer (the first mutable global)");
}

/// An allocator's state, wherever it is kept: the address it hands out next, or the head of a free list.
#[test]
fn addresses_kept_and_handed_out_or_followed_may_be_a_heap() {
    let bump = "(drop (local.tee 1 (i32.load (i32.const 2048)))) (i32.store (i32.const 2048) (i32.add (local.get 1) (i32.const 16))) (return (local.get 1))";
    assert!(!is_heapless(&module(bump)), "a bump's top at a fixed address, handed out");
    let free_list = "(i32.store (i32.const 2048) (i32.load offset=4 (i32.load (i32.const 2048))))";
    assert!(!is_heapless(&module(free_list)), "a free list's head, followed");
    assert!(!is_heapless(&module("(global.set 1 (local.get 1)) (return (global.get 1))")), "an address kept in a global, handed out");
    let through_global = "(global.set 1 (i32.add (global.get 1) (i32.const 16))) (i32.store (global.get 1) (local.get 1))";
    assert!(!is_heapless(&module(through_global)), "written through an address kept in a global");
    let pool = "(i32.store (i32.const 2048) (i32.add (i32.const 4096) (local.get 1)))";
    assert!(!is_heapless(&module(pool)), "an address of a static array kept");
}
