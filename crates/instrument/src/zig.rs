//! Zig's wasm heap in a module without names, found by its `std.mem.Allocator` vtable.
//!
//! Zig programs reach their heap (`std.heap.wasm_allocator`, `page_allocator`: BrkAllocator/WasmAllocator) through a
//! static `VTable` of function pointers — table indices in static data: `alloc, resize, remap, free` (Zig 0.14 on)
//! or `alloc, resize, free` (before). A stripped build keeps the vtable, and its functions keep their signatures:
//! `alloc(ctx, len, alignment, ret_addr) -> ?[*]u8`, `resize`/`remap(ctx, memory.ptr, memory.len, alignment,
//! new_len, ret_addr)`, `free(ctx, memory.ptr, memory.len, alignment, ret_addr)`; Debug builds pass one hidden
//! parameter first. The heap's vtable is the one whose `alloc` grows the memory; its layers (ArenaAllocator,
//! DebugAllocator) call their child through its vtable, and `std.heap.c_allocator`'s calls malloc.

use std::collections::{HashMap, HashSet};

use crate::allocator::{Confidence, EntryPoint, Evidence, Role};
use crate::fingerprint::sig_is;
use crate::module::ModuleInfo;
use crate::statics::Scan;

/// One vtable: where it is, and its functions in the order of its slots.
#[derive(Clone)]
struct Vtable {
    at: u64,
    slots: Vec<(u32, Role)>,
}

/// The entry points of Zig's heap found by its vtable (`Ok(None)`: no vtable that grows the memory), or why
/// the vtables found do not tell one heap (`Err`).
pub(crate) fn vtable_heap(s: &Scan, info: &ModuleInfo) -> Result<Option<Vec<EntryPoint>>, String> {
    let nimp = info.num_imported_funcs;
    let mut heaps: Vec<Vtable> = Vec::new();
    let all = vtables(s, info);
    // What each alloc function reaches through direct calls: its own code, and any allocator it calls.
    let mut reach: HashMap<u32, HashSet<u32>> = HashMap::new();
    for v in &all {
        reach.entry(v.slots[0].0).or_insert_with(|| s.reached(nimp, [v.slots[0].0]));
    }
    for v in &all {
        let alloc = v.slots[0].0;
        // Its own code, not a layer over another allocator: it grows the memory through direct calls only.
        if !reach[&alloc].iter().any(|&f| s.grows_here(f, nimp)) || v.slots.iter().any(|&(f, _)| s.indirect_here(f, nimp)) {
            continue;
        }
        // One heap per alloc function: static words elsewhere may read as a shorter vtable over the same functions
        // (ghostty: `alloc, remap, free` further on, beside the real four); the longest is the vtable.
        match heaps.iter_mut().find(|h| h.slots[0].0 == alloc) {
            Some(h) if h.slots.len() < v.slots.len() => *h = v.clone(),
            Some(_) => {}
            None => heaps.push(v.clone()),
        }
    }
    // A vtable whose alloc calls another's (ArenaAllocator over a page_allocator known at compile time) is a layer.
    let inner: Vec<&Vtable> = heaps
        .iter()
        .filter(|v| {
            let calls = &reach[&v.slots[0].0];
            !heaps.iter().any(|o| o.slots[0].0 != v.slots[0].0 && calls.contains(&o.slots[0].0))
        })
        .collect();
    match inner[..] {
        [] => Ok(None),
        [v] if let Some(o) = own_pool(s, nimp, &all, &reach, v) => Err(format!(
            "the program allocates through a Zig allocator of its own (the std.mem.Allocator vtable at {:#x}, alloc \
             func {}) that neither grows the memory nor calls Zig's heap: a FixedBufferAllocator or pool over static \
             memory, whose blocks would never be seen",
            o.at, o.slots[0].0
        )),
        [v] => Ok(Some(
            v.slots
                .iter()
                .map(|&(func, role)| EntryPoint {
                    func,
                    name: format!("func[{func}]"),
                    role,
                    evidence: Evidence::Fingerprint {
                        confidence: Confidence::High,
                        reason: format!(
                            "slot {} of the Zig std.mem.Allocator vtable at {:#x}, whose alloc grows the memory",
                            v.slots.iter().position(|&(f, _)| f == func).unwrap_or(0),
                            v.at
                        ),
                    },
                    confirmed: None,
                })
                .collect(),
        )),
        _ => Err(format!(
            "Zig std.mem.Allocator vtables at {} each grow the memory on their own: which one is the heap (and \
             whether the others are layers over it) cannot be told without names",
            inner.iter().map(|v| format!("{:#x}", v.at)).collect::<Vec<_>>().join(", ")
        )),
    }
}

/// An allocator beside the heap that neither grows the memory nor calls another (FixedBufferAllocator over a static
/// array): what it hands out is never seen (the Zig survey's stripped FixedBufferAllocator programs saw no call).
/// Not std's `Allocator.failing`, whose alloc returns null without reading anything.
fn own_pool<'a>(s: &Scan, nimp: u32, all: &'a [Vtable], reach: &HashMap<u32, HashSet<u32>>, heap: &Vtable) -> Option<&'a Vtable> {
    all.iter().find(|o| {
        let alloc = o.slots[0].0;
        let r = &reach[&alloc];
        s.reads_here(alloc, nimp) && !r.contains(&heap.slots[0].0) && !r.iter().any(|&f| s.grows_here(f, nimp)) && !o.slots.iter().any(|&(f, _)| s.indirect_here(f, nimp))
    })
}

/// Every run of static words that reads as a Zig allocator vtable: table indices of functions with its slots'
/// signatures, all with or all without Debug's hidden first parameter.
fn vtables(s: &Scan, info: &ModuleInfo) -> Vec<Vtable> {
    let layouts: [&[(Role, usize, usize)]; 2] = [
        &[(Role::ZigAlloc, 4, 1), (Role::ZigResize, 6, 1), (Role::ZigRemap, 6, 1), (Role::ZigFree, 5, 0)],
        &[(Role::ZigAlloc, 4, 1), (Role::ZigResize, 6, 1), (Role::ZigFree, 5, 0)],
    ];
    let mut found = Vec::new();
    for d in &info.data {
        let Some(base) = d.offset else { continue };
        let word = |i: usize| d.init.get(i..i + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
        let mut i = ((4 - base % 4) % 4) as usize;
        while i + 12 <= d.init.len() {
            let hit = layouts.iter().find_map(|layout| {
                (0..2).find_map(|hidden| {
                    let slots: Option<Vec<(u32, Role)>> = layout
                        .iter()
                        .enumerate()
                        .map(|(k, &(role, params, results))| {
                            let f = *s.table.get(&word(i + 4 * k)?)?;
                            sig_is(info, f, params + hidden, results).then_some((f, role))
                        })
                        .collect();
                    slots.filter(|v| v.iter().map(|x| x.0).collect::<HashSet<_>>().len() == v.len())
                })
            });
            match hit {
                Some(slots) => {
                    let n = slots.len();
                    found.push(Vtable { at: base + i as u64, slots });
                    i += 4 * n;
                }
                None => i += 4,
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::vtable_heap;
    use crate::allocator::Role;
    use crate::module::ModuleInfo;
    use crate::statics::scan;

    /// A module whose table holds `funcs` from index 1 and whose static data holds the table indices `slots` at 0x400.
    fn heap_of(funcs: &str, elems: &str, slots: &[u32]) -> Result<Option<Vec<(u32, Role)>>, String> {
        let data: String = slots.iter().flat_map(|s| s.to_le_bytes()).map(|b| format!("\\{b:02x}")).collect();
        let wat = format!(r#"(module (memory 1) (table 8 funcref) {funcs} (elem (i32.const 1) {elems}) (data (i32.const 0x400) "{data}"))"#);
        let bytes = wat::parse_str(wat).unwrap();
        let info = ModuleInfo::parse(&bytes).unwrap();
        let s = scan(&bytes, &info).unwrap();
        vtable_heap(&s, &info).map(|o| o.map(|eps| eps.iter().map(|e| (e.func, e.role)).collect()))
    }

    const HEAP: &str = r#"
        (func $alloc (param i32 i32 i32 i32) (result i32) i32.const 1 memory.grow)
        (func $resize (param i32 i32 i32 i32 i32 i32) (result i32) i32.const 0)
        (func $remap (param i32 i32 i32 i32 i32 i32) (result i32) i32.const 0)
        (func $free (param i32 i32 i32 i32 i32))
        (func $pool (param i32 i32 i32 i32) (result i32) i32.const 0x800 i32.load)"#;

    /// Zig 0.14 on: alloc, resize, remap, free; before: alloc, resize, free. The table indices in static data are the
    /// heap's entry points, the vtable whose alloc grows the memory.
    #[test]
    fn the_heap_is_the_vtable_whose_alloc_grows_the_memory() {
        let elems = "$alloc $resize $remap $free $pool";
        let four = vec![(0, Role::ZigAlloc), (1, Role::ZigResize), (2, Role::ZigRemap), (3, Role::ZigFree)];
        assert_eq!(heap_of(HEAP, elems, &[1, 2, 3, 4]), Ok(Some(four)));
        assert_eq!(heap_of(HEAP, elems, &[1, 2, 4]), Ok(Some(vec![(0, Role::ZigAlloc), (1, Role::ZigResize), (3, Role::ZigFree)])));
        // No vtable (the words are not alloc/resize/free by signature): nothing found.
        assert_eq!(heap_of(HEAP, elems, &[2, 1, 4, 3]), Ok(None));
        // Beside it, an allocator that reads its own state and neither grows the memory nor calls the heap: refused.
        let both = heap_of(HEAP, elems, &[1, 2, 3, 4, 0, 5, 2, 3, 4]);
        assert!(both.as_ref().is_err_and(|e| e.contains("a Zig allocator of its own")), "{both:?}");
    }
}
