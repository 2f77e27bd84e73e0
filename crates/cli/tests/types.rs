//! Types (issue 3 item 4) and named static roots (item 5), on the fixtures, through the real binary.
//! Ground truth: fixtures/README.md; frame names as `wasmleak check --format json` shows them.

mod common;

use std::ffi::OsString;
use std::path::PathBuf;

use common::*;
use serde_json::Value;
use wasmleak_heap::{SnapBlock, SnapFrame, SnapRegion, SnapStatic, Snapshot};
use wasmleak_report::{build, Exit};

/// (kind, type) of every group, sorted, the runtime's one-time groups left out.
fn kinds_and_types(report: &Value) -> Vec<(String, Option<String>)> {
    let mut v: Vec<(String, Option<String>)> = groups(report)
        .iter()
        .filter(|g| !is_runtime_group(g))
        .map(|g| (g["kind"].as_str().unwrap().to_string(), g["type"].as_str().map(str::to_string)))
        .collect();
    v.sort();
    v
}

fn t(kind: &str, ty: Option<&str>) -> (String, Option<String>) {
    (kind.to_string(), ty.map(str::to_string))
}

#[test]
fn rc_cycle_groups_are_rc_nodes_and_their_children_vec() {
    let (_, j) = check_json(&fixture("rust_patterns.wasm"), &["--", "rc_cycle", "3"]);
    let node = "Rc<RefCell<rust_patterns::Node>>";
    assert_eq!(
        kinds_and_types(&j),
        vec![
            t("cycle", Some(node)),
            t("cycle", Some(node)),
            t("cycle", Some("Vec<Rc<RefCell<rust_patterns::Node>>>")),
        ],
        "{}",
        brief(&j)
    );
    // 3 iterations: parent + child RcInner (32 B each) and the 16-byte children buffer.
    for g in groups(&j).iter().filter(|g| g["type"] == node) {
        assert_eq!((u(&g["blocks"], "blocks"), u(&g["bytes"], "bytes")), (3, 96));
    }
}

#[test]
fn arc_cycle_groups_are_arc_mutex_nodes() {
    let (_, j) = check_json(&fixture("rust_patterns.wasm"), &["--", "arc_cycle", "2"]);
    let node = "Arc<Mutex<rust_patterns::ArcNode>>";
    assert_eq!(
        kinds_and_types(&j),
        vec![t("cycle", Some(node)), t("cycle", Some(node)), t("cycle", Some("Vec<Arc<Mutex<rust_patterns::ArcNode>>>"))],
        "{}",
        brief(&j)
    );
}

#[test]
fn forget_names_the_vec_and_the_leaked_box() {
    let (_, j) = check_json(&fixture("rust_patterns.wasm"), &["--", "forget", "2"]);
    assert_eq!(kinds_and_types(&j), vec![t("lost", Some("Box<[u64; 4]>")), t("lost", Some("Vec<u8>"))], "{}", brief(&j));
}

#[test]
fn rust_lib_processor_is_a_box_and_its_buffer_a_vec() {
    let (_, j) = check_json(&fixture("rust_lib.wasm"), &["--invoke", "create_processor", "--repeat", "4"]);
    let by_type = |ty: &str| {
        let g: Vec<&Value> = groups(&j).iter().filter(|g| g["type"] == ty).collect();
        assert_eq!(g.len(), 1, "one group of {ty}\n{}", brief(&j));
        (g[0]["kind"].as_str().unwrap().to_string(), u(&g[0]["blocks"], "blocks"), u(&g[0]["bytes"], "bytes"))
    };
    assert_eq!(by_type("Box<rust_lib::Processor>"), ("host".to_string(), 4, 4 * 20));
    assert_eq!(by_type("Vec<u8>"), ("host".to_string(), 4, 4 * 256));
}

#[test]
fn cpp_new_widget_is_a_widget_its_char_buffer_has_no_visible_type() {
    // `new Widget(n)` in make_widget: operator new's frame is dropped, but the Widget::Widget stack (the
    // constructor allocating its buffer, called from the same line of make_widget) names the class.
    // `new char[128]` inside Widget::Widget: operator new[] takes only a size, and the stack shows no
    // `char`: no type (the truth, not a guess).
    let (_, j) = check_json(&fixture("cpp_patterns.wasm"), &["--", "new_no_delete", "2"]);
    assert_eq!(kinds_and_types(&j), vec![t("indirect", None), t("lost", Some("Widget"))], "{}", brief(&j));
    let w = groups(&j).iter().find(|g| g["type"] == "Widget").unwrap();
    assert_eq!((u(&w["blocks"], "blocks"), u(&w["bytes"], "bytes")), (2, 16));
}

#[test]
fn cpp_missing_dtor_buffer_is_not_called_a_holder() {
    // `new int[10]` inside Holder::Holder is the Holder's buffer, not a Holder.
    let (_, j) = check_json(&fixture("cpp_patterns.wasm"), &["--", "missing_dtor", "2"]);
    assert_eq!(kinds_and_types(&j), vec![t("lost", None)], "{}", brief(&j));
}

#[test]
fn cpp_make_shared_block_is_the_shared_ptr_control_block_of_peer() {
    // One block per make_shared: libc++'s __shared_ptr_emplace<Peer> (counts + the Peer).
    let (_, j) = check_json(&fixture("cpp_patterns.wasm"), &["--", "shared_ptr_cycle", "2"]);
    let tys = kinds_and_types(&j);
    assert!(!tys.is_empty(), "{}", brief(&j));
    assert!(tys.iter().all(|k| k == &t("cycle", Some("shared_ptr<Peer>"))), "{tys:?}");
}

#[test]
fn c_blocks_have_no_type() {
    let (_, j) = check_json(&fixture("c_patterns.wasm"), &["--", "list_lost", "2"]);
    assert_eq!(kinds_and_types(&j), vec![t("indirect", None), t("lost", None)], "{}", brief(&j));
    assert!(groups(&j).iter().all(|g| g.get("type").is_none()), "no `type` key at all for C");
}

fn run(args: &[&str]) -> Run {
    wasmleak(args.iter().map(OsString::from).collect::<Vec<_>>())
}

fn processor_snapshots(tag: &str) -> PathBuf {
    let dir = scratch(&format!("types-{tag}"));
    let _ = std::fs::remove_dir_all(&dir);
    let (r, _) = check_json(
        &fixture("rust_lib.wasm"),
        &["--invoke", "create_processor", "--repeat", "20", "--snapshot-every", "10", "--save", dir.to_str().unwrap()],
    );
    r.assert_code(1);
    dir
}

#[test]
fn diff_by_type_adds_up_rows_per_type_and_filters_on_the_type() {
    let dir = processor_snapshots("diff");
    let (a, b) = (dir.join("1.wlsnap"), dir.join("2.wlsnap"));
    let r = run(&["diff", a.to_str().unwrap(), b.to_str().unwrap(), "--by", "type", "--format", "json"]);
    r.assert_code(0);
    let j = r.json();
    let rows: Vec<(String, i64, i64, u64)> = j["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["type"].as_str().unwrap().to_string(), r["delta_blocks"].as_i64().unwrap(), r["delta_bytes"].as_i64().unwrap(), r["new_blocks"].as_u64().unwrap()))
        .collect();
    // Sorted by delta bytes: 10 calls between the snapshots.
    assert_eq!(rows, vec![("Vec<u8>".into(), 10, 2560, 10), ("Box<rust_lib::Processor>".into(), 10, 200, 10)]);
    assert_eq!(j["rows"][1]["site"], "Box<rust_lib::Processor>");

    // The DevTools class filter: a substring of the type.
    let r = run(&["diff", a.to_str().unwrap(), b.to_str().unwrap(), "--by", "type", "--filter", "Processor", "--format", "json"]);
    let j = r.json();
    let rows = j["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{j}");
    assert_eq!(rows[0]["type"], "Box<rust_lib::Processor>");
    assert_eq!(rows[0]["delta_bytes"], 200);

    // Per site, the filter matches the type too, and text rows show it.
    let r = run(&["diff", a.to_str().unwrap(), b.to_str().unwrap(), "--filter", "Vec<u8>"]);
    r.assert_code(0);
    assert!(r.stdout.contains("+2560") && r.stdout.contains("Vec<u8> from create_processor"), "{}", r.describe());
    assert!(!r.stdout.contains("Box<rust_lib::Processor>"), "{}", r.describe());
}

/// A snapshot with one static, `app::CACHE` (16 bytes at 0x100), whose word at +8 holds block A (0x1000),
/// which holds block B (0x1100).
fn static_snapshot() -> Snapshot {
    let mut data = vec![0u8; 0x20];
    data[8..12].copy_from_slice(&0x1000u32.to_le_bytes());
    let mut contents = vec![0u8; 16 + 8];
    contents[4..8].copy_from_slice(&0x1100u32.to_le_bytes());
    let frame = |f: &str| SnapFrame { function: f.into(), file: Some("src/lib.rs".into()), line: Some(3), column: None, inlined: false };
    Snapshot {
        module: "app.wasm".into(),
        index: 1,
        iteration: 1,
        allocations: 2,
        blocks: vec![SnapBlock { addr: 0x1000, size: 16, seq: 0, stack: 0 }, SnapBlock { addr: 0x1100, size: 8, seq: 1, stack: 1 }],
        contents,
        frames: vec![frame("app::cache_insert"), frame("app::entry")],
        stacks: vec![vec![0], vec![1]],
        regions: vec![SnapRegion { name: "static data".into(), start: 0x100, bytes: data }],
        statics: vec![SnapStatic { name: "app::CACHE".into(), address: 0x100, size: 16 }],
        ..Default::default()
    }
}

#[test]
fn roots_are_named_by_their_static() {
    let snap = static_snapshot();
    assert_eq!(snap.root_word_name(0, Some(0x108)), "static app::CACHE (+8), word at 0x108");
    assert_eq!(snap.root_word_name(0, Some(0x100)), "static app::CACHE, word at 0x100");
    // Past the static's 16 bytes: the region, as before.
    assert_eq!(snap.root_word_name(0, Some(0x110)), "static data (0x100..0x120), word at 0x110");

    let a = snap.analyze();
    let report = build(&snap, &a, Exit { status: "returned", code: None, message: String::new() }, vec![]);
    let root = |site: &str| report.groups.iter().find(|g| g.stack[0].function == site).unwrap().root.clone().unwrap();
    assert_eq!(root("app::cache_insert"), "static app::CACHE (+8), word at 0x108");
    assert_eq!(root("app::entry"), "static app::CACHE (+8), word at 0x108, through 1 other block");

    // The heapsnapshot's root edge is named by the static too.
    let mut out = Vec::new();
    wasmleak_export::heapsnapshot::write(&snap, &a, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("\"app::CACHE+8 0x108\""), "{}", &text[text.find("\"strings\"").unwrap()..]);

    // `why`, on the saved file.
    let file = scratch("static.wlsnap");
    std::fs::write(&file, snap.to_bytes()).unwrap();
    let r = run(&["why", file.to_str().unwrap(), "app::entry"]);
    r.assert_code(0);
    assert!(r.stdout.contains("root static app::CACHE (+8), word at 0x108"), "{}", r.describe());
}

#[test]
fn snapshots_of_a_c_module_record_its_statics() {
    // c_patterns `invalid_free_static` frees `static char static_buffer[64]`: the invalid free's address
    // (from the run) is where DWARF puts the static. Any snapshot of the run records the statics inside
    // its root regions, so saved files name roots without the module.
    let dir = scratch("c-statics");
    let _ = std::fs::remove_dir_all(&dir);
    let (r, j) = check_json(&fixture("c_patterns.wasm"), &["--save", dir.to_str().unwrap(), "--", "invalid_free_static", "1"]);
    r.assert_no_panic();
    let freed = u(&j["invalid_frees"][0]["address"], "invalid_frees[0].address");
    let file = std::fs::read_dir(&dir).unwrap().next().expect("a snapshot file").unwrap().path();
    let snap = Snapshot::from_bytes(&std::fs::read(file).unwrap()).unwrap();
    let s = snap.statics.iter().find(|s| s.name == "static_buffer").unwrap_or_else(|| panic!("{:?}", snap.statics));
    assert_eq!((s.address, s.size), (freed, 64));
    assert_eq!(snap.static_name(freed + 4).as_deref(), Some("static static_buffer (+4)"));
    let slot = snap.statics.iter().find(|s| s.name == "escape_slot").expect("escape_slot");
    assert_eq!(slot.size, 4);
}
