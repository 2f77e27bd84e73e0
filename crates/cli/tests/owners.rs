//! The owner that dropped a block (fixtures/edge/README.md §11): every lost block of the missing-destructor
//! fixtures names the freed block that held its address — its type, allocation site and free site, and where
//! in it the pointer was — at every optimisation level, stripped of DWARF or not. The numbers are the
//! fixtures' ground truth; where an owner's memory was reused before the end, only the words read at the
//! free can name it (4 of the 5 pointers of a 20-byte vector buffer).

mod common;

use common::*;
use serde_json::Value;

/// (site, blocks, bytes) of a lost group → (blocks its owner held, offset, owner type, owner site, the
/// innermost program frame of the owner's free stack).
type Owned = ((&'static str, u64, u64), (u64, u64, Option<&'static str>, &'static str, &'static str));

fn owners(report: &Value) -> Vec<((String, u64, u64), Option<(u64, u64, Option<String>, String, String)>)> {
    let mut v: Vec<_> = groups(report)
        .iter()
        .map(|g| {
            let key = (site_fn(g), u(&g["blocks"], "blocks"), u(&g["bytes"], "bytes"));
            let owner = g.get("freed_owner").map(|o| {
                let free_site = frames(&o["free_stack"])
                    .into_iter()
                    .find(|f| !f.contains("std::__2::") && !f.starts_with("core::") && !f.starts_with("<alloc::") && !f.starts_with("alloc::"))
                    .unwrap_or_default();
                (
                    u(&o["blocks"], "owner blocks"),
                    u(&o["offset"], "offset"),
                    o["type"].as_str().map(String::from),
                    o["site"]["function"].as_str().unwrap_or("").to_string(),
                    free_site,
                )
            });
            (key, owner)
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn expect(list: &[Owned]) -> Vec<((String, u64, u64), Option<(u64, u64, Option<String>, String, String)>)> {
    let mut v: Vec<_> = list
        .iter()
        .map(|&((site, b, n), (ob, off, ty, osite, free))| {
            ((site.to_string(), b, n), Some((ob, off, ty.map(String::from), osite.to_string(), free.to_string())))
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn check(module: &str, want: &[Owned]) {
    let (run, report) = check_json(&fixture(&format!("edge/{module}.wasm")), &[]);
    assert_eq!(run.status.unwrap_or(-1), 1, "{module}: {}", run.stderr);
    assert_eq!(owners(&report), expect(want), "{module}");
    for g in groups(&report) {
        assert_eq!(g["kind"], "lost", "{module}: {g}");
    }
}

#[test]
fn c_struct_freed_before_its_buffer() {
    for m in ["c_owner_freed", "c_owner_freed_O2"] {
        check(
            m,
            &[
                // `struct buffer { char *data; ... }` freed by buffer_drop_wrong: the pointer at byte 0, which
                // dlmalloc overwrites at the free (read before it ran).
                (("buffer_new", 3, 600), (3, 0, None, "buffer_new", "buffer_drop_wrong")),
                // `struct node { int id, flags; struct payload *p; ... }`: byte 8, still in freed memory at exit.
                (("node_new", 1, 24), (1, 8, None, "node_new", "node_free_wrong")),
            ],
        );
    }
}

#[test]
fn cpp_class_without_destructor_and_vector_of_raw_pointers() {
    let dp = "DataProcessor::DataProcessor(unsigned long)";
    check(
        "cpp_no_destructor",
        &[
            ((dp, 2, 512), (2, 0, Some("DataProcessor"), "main", "main")),
            // reserve(5): one 20-byte buffer, reused before the end: its first 4 words read at the free.
            (("make_widgets()", 5, 120), (4, 0, Some("vector<Widget*>"), "make_widgets()", "make_widgets()")),
            // Grown 4 → 8 → 16 → 32 bytes: the last buffer, freed by ~vector, holds all 5 at exit; the earlier
            // ones, freed before, do not count.
            (("make_widgets_grow()", 5, 120), (5, 0, Some("vector<Widget*>"), "make_widgets_grow()", "make_widgets_grow()")),
        ],
    );
    // -O2 inlines the vector's code: the owner's type is not on its stack any more.
    check(
        "cpp_no_destructor_O2",
        &[
            ((dp, 2, 512), (2, 0, Some("DataProcessor"), "main", "main")),
            (("make_widgets()", 5, 120), (4, 0, None, "make_widgets()", "make_widgets()")),
            (("make_widgets_grow()", 5, 120), (5, 0, None, "make_widgets_grow()", "make_widgets_grow()")),
        ],
    );
}

#[test]
fn rust_drop_that_forgets_a_raw_pointer() {
    // `Holder { id: u64, raw: *mut Payload }` (#[repr(C)]): the pointer at byte 8, and each Holder's memory is
    // handed out again at once (the words read at the free name it).
    for m in ["rust_owner_dropped_o0", "rust_owner_dropped_o1", "rust_owner_dropped_o2", "rust_owner_dropped_o3", "rust_owner_dropped_o2_lto"] {
        let (run, report) = check_json(&fixture(&format!("edge/{m}.wasm")), &[]);
        assert_eq!(run.status.unwrap_or(-1), 1, "{m}: {}", run.stderr);
        let got = owners(&report);
        assert_eq!(got.len(), 1, "{m}: {got:?}");
        let ((site, blocks, bytes), owner) = &got[0];
        assert_eq!((site.as_str(), *blocks, *bytes), ("rust_owner_dropped::new_payload", 4, 128), "{m}");
        let (held, offset, _, owner_site, freed_in) = owner.clone().unwrap_or_else(|| panic!("{m}: no owner"));
        assert_eq!((held, offset, owner_site.as_str(), freed_in.as_str()), (4, 8, "rust_owner_dropped::new_holder", "rust_owner_dropped::churn_holders"), "{m}");
    }
    // With the names of std's frames (opt-level 0), the type dropped.
    let (_, report) = check_json(&fixture("edge/rust_owner_dropped_o0.wasm"), &[]);
    assert_eq!(groups(&report)[0]["freed_owner"]["type"], "rust_owner_dropped::Holder");
}

/// The text names the owner with both stacks, and the fix names what is missing.
#[test]
fn text_names_the_owner_and_the_missing_destructor() {
    let run = wasmleak(["check".as_ref(), fixture("edge/cpp_no_destructor.wasm").as_os_str()]);
    let out = &run.stdout;
    assert!(out.contains("owner freed first: a DataProcessor held both addresses (at byte 0) and was freed without freeing them"), "{out}");
    assert!(out.contains("    owner allocated at:\n      #0 main\n"), "{out}");
    assert!(out.contains("    owner freed at:\n      #0 main\n"), "{out}");
    assert!(out.contains("DataProcessor lacks the destructor that frees this member — add ~DataProcessor()"), "{out}");
    // The same bytes when a destructor was not called: deleted through a base whose destructor is not virtual.
    assert!(out.contains("if it has one, it was deleted through a pointer to a base class whose destructor is not virtual"), "{out}");
    assert!(out.contains("the std::vector that held these pointers was destroyed in `make_widgets_grow()` without deleting its elements"), "{out}");
    let run = wasmleak(["check".as_ref(), fixture("edge/rust_owner_dropped_o0.wasm").as_os_str()]);
    assert!(run.stdout.contains("its Drop does not reclaim the raw pointer"), "{}", run.stdout);
}

/// A block lost from a local variable had no owner in the heap: none is named.
#[test]
fn no_owner_for_a_block_lost_from_the_stack() {
    let (_, report) = check_json(&fixture("edge/c_no_free.wasm"), &[]);
    assert_eq!(groups(&report).len(), 1, "{report}");
    assert!(groups(&report)[0].get("freed_owner").is_none(), "{report}");
}

/// A callee's scratch vector held the address of the block the caller then lost (nlohmann::json's parser and the
/// object `new json(json::parse(s))` fills): the vector is not named its owner; a vector of raw pointers destroyed
/// by the call that allocated them still is (fixtures/edge/README.md §11).
#[test]
fn no_owner_from_a_callees_scratch() {
    let (run, report) = check_json(&fixture("edge/cpp_scratch_holder.wasm"), &[]);
    assert_eq!(run.status.unwrap_or(-1), 1, "{}", run.stderr);
    let mut got = owners(&report);
    got.retain(|(site, _)| site.0 != "parse_into(Doc*)");
    let mut want = expect(&[(("collect()", 3, 24), (3, 0, Some("vector<Item*>"), "collect()", "collect()"))]);
    want.push((("main".to_string(), 1, 8), None));
    want.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(got, want);
    let items = groups(&report).iter().find(|g| site_fn(g) == "parse_into(Doc*)").cloned().expect("the Doc's items");
    assert_eq!((items["kind"].as_str(), u(&items["blocks"], "blocks"), u(&items["bytes"], "bytes")), (Some("indirect"), 1, 16));
}

/// The per-event hooks (`--stacks walk`, every stack walked) read a freed block's first words in the host,
/// not in the module's wrappers: the same owners.
#[test]
fn per_event_hooks_name_the_same_owners() {
    let module = fixture("edge/cpp_no_destructor.wasm");
    let (_, buffered) = check_json(&module, &[]);
    let (_, walked) = check_json(&module, &["--stacks", "walk"]);
    assert_eq!(owners(&walked), owners(&buffered));
}
