//! Allocator entry points found by the names allocators give them.

use wasmleak_instrument::ModuleInfo;

/// Emscripten -Oz with emmalloc merges `malloc` and `free` into emmalloc's own functions, the alignment of
/// `emmalloc_memalign` folded into a constant (it takes the size alone): found by those names — a malloc and a free —
/// where only `realloc` was found, and the module refused ("fclose calls emmalloc_free … itself").
#[test]
fn emmallocs_own_names_are_its_entry_points() {
    let wat = r#"(module
      (memory (export "memory") 1)
      (global $top (mut i32) (i32.const 4096))
      (func $emmalloc_memalign (param i32) (result i32) (local i32)
        global.get $top local.set 1
        global.get $top local.get 0 i32.add global.set $top
        local.get 1)
      (func $emmalloc_free (param i32) (i32.store (i32.const 1024) (local.get 0)))
      (func (export "run") (call $emmalloc_free (call $emmalloc_memalign (i32.const 16)))))"#;
    let b = wat::parse_str(wat).unwrap();
    let info = ModuleInfo::parse(&b).unwrap();
    let eps = wasmleak_instrument::find_allocator_by_name(&info, &std::collections::HashMap::new(), &wasmleak_instrument::Overrides::default()).unwrap();
    let roles: Vec<(u32, String)> = eps.iter().map(|e| (e.func, e.role.to_string())).collect();
    assert_eq!(roles, [(0, "malloc".to_string()), (1, "free".to_string())]);
}
