//! The pprof export, read back: gunzip, decode `profile.proto`, resolve ids and string indices, and compare
//! with the snapshot.

mod common;

use common::{analysis, fixture_snapshot, synthetic};
use std::collections::BTreeMap;
use std::io::Read;

use prost::Message;
use wasmleak_export::pprof::{self, proto::Profile};
use wasmleak_heap::Snapshot;

// ---- a small snapshot with every kind, inlined frames, a stack-less block ----

fn export(snap: &Snapshot) -> Profile {
    let mut gz = Vec::new();
    pprof::write(snap, &analysis(snap), &mut gz).unwrap();
    assert_eq!(&gz[..2], &[0x1f, 0x8b], "gzip magic");
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(&gz[..]).read_to_end(&mut raw).unwrap();
    Profile::decode(&raw[..]).expect("a profile.proto message")
}

// ---- reading a profile back ----

/// A line of a location: (function, file, line).
type ResolvedLine = (String, String, i64);

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct ResolvedSample {
    kind: String,
    /// Leaf first; each location's lines inlined-first.
    stack: Vec<Vec<ResolvedLine>>,
    /// By sample type name.
    values: BTreeMap<String, i64>,
}

fn resolve(p: &Profile) -> Vec<ResolvedSample> {
    let s = |i: i64| p.string_table[i as usize].clone();
    let function = |id: u64| p.function.iter().find(|f| f.id == id).expect("function id");
    let location = |id: u64| p.location.iter().find(|l| l.id == id).expect("location id");
    let mut out: Vec<ResolvedSample> = p
        .sample
        .iter()
        .map(|smp| {
            assert_eq!(smp.value.len(), p.sample_type.len());
            assert_eq!(smp.label.len(), 1);
            assert_eq!(s(smp.label[0].key), "kind");
            ResolvedSample {
                kind: s(smp.label[0].str),
                stack: smp
                    .location_id
                    .iter()
                    .map(|&id| {
                        location(id)
                            .line
                            .iter()
                            .map(|l| {
                                let f = function(l.function_id);
                                (s(f.name), s(f.filename), l.line)
                            })
                            .collect()
                    })
                    .collect(),
                values: p.sample_type.iter().zip(&smp.value).map(|(t, &v)| (s(t.r#type), v)).collect(),
            }
        })
        .collect();
    out.sort();
    out
}

fn check_well_formed(p: &Profile) {
    assert_eq!(p.string_table[0], "");
    let types: Vec<(String, String)> = p
        .sample_type
        .iter()
        .map(|t| (p.string_table[t.r#type as usize].clone(), p.string_table[t.unit as usize].clone()))
        .collect();
    let types: Vec<(&str, &str)> = types.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    assert_eq!(
        types,
        [("alloc_objects", "count"), ("alloc_space", "bytes"), ("inuse_objects", "count"), ("inuse_space", "bytes")]
    );
    assert_eq!(p.string_table[p.default_sample_type as usize], "inuse_space");
    // Unique non-zero ids, every reference resolves.
    let mut ids: Vec<u64> = p.location.iter().map(|l| l.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), p.location.len());
    assert!(!ids.contains(&0));
    let mut fids: Vec<u64> = p.function.iter().map(|f| f.id).collect();
    fids.sort();
    fids.dedup();
    assert_eq!(fids.len(), p.function.len());
    assert!(!fids.contains(&0));
    assert_eq!(p.mapping.len(), 1);
    assert_ne!(p.mapping[0].id, 0);
    for l in &p.location {
        assert_eq!(l.mapping_id, p.mapping[0].id);
        assert!(!l.line.is_empty());
        for line in &l.line {
            assert!(fids.binary_search(&line.function_id).is_ok());
        }
    }
    for smp in &p.sample {
        for id in &smp.location_id {
            assert!(ids.binary_search(id).is_ok());
        }
    }
    // Every string is used once in the table.
    let mut strings = p.string_table.clone();
    strings.sort();
    strings.dedup();
    assert_eq!(strings.len(), p.string_table.len());
}

fn values(n: i64, bytes: i64) -> BTreeMap<String, i64> {
    [("alloc_objects", n), ("alloc_space", bytes), ("inuse_objects", n), ("inuse_space", bytes)]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

fn l(function: &str, file: &str, line: i64) -> ResolvedLine {
    (function.into(), file.into(), line)
}

#[test]
fn synthetic_snapshot_samples_locations_and_labels() {
    let snap = synthetic();
    let p = export(&snap);
    check_well_formed(&p);

    let main = vec![l("main", "src/main.rs", 30)];
    // alloc_node was inlined into make: one location, inlined function first, caller last.
    let s0 = vec![vec![l("alloc_node", "src/a.rs", 10), l("make", "src/a.rs", 20)], main.clone()];
    let s1 = vec![vec![l("make", "src/a.rs", 20)], main.clone()];
    let s2 = vec![vec![l("make", "src/a.rs", 22)], main.clone()];
    let s3 = vec![vec![l("<[u8; 4] as Fill>::fill", "src/b.rs", 5)], main.clone()];
    let no_stack = vec![vec![l(pprof::NO_STACK, "", 0)]];
    let sample = |kind: &str, stack: &Vec<Vec<ResolvedLine>>, n, bytes| ResolvedSample {
        kind: kind.into(),
        stack: stack.clone(),
        values: values(n, bytes),
    };
    let mut want = vec![
        sample("reachable", &s0, 1, 16),
        sample("host", &s0, 1, 40),
        sample("lost", &s1, 1, 24),
        sample("lost", &s2, 1, 12),
        sample("indirect", &s2, 1, 8),
        sample("cycle", &s3, 2, 32),
        sample("lost", &no_stack, 1, 32),
    ];
    want.sort();
    assert_eq!(resolve(&p), want);

    // Functions are (name, file): `make` once although it appears at two lines; locations are shared
    // between samples of one stack.
    let names: Vec<&str> = p.function.iter().map(|f| p.string_table[f.name as usize].as_str()).collect();
    assert_eq!(names.iter().filter(|&&n| n == "make").count(), 1);
    assert_eq!(p.function.len(), 5);
    // [alloc_node+make], [make:20], [make:22], [fill], [main], [no stack]
    assert_eq!(p.location.len(), 6);
    let totals: i64 = p.sample.iter().map(|s| s.value[pprof::INUSE_SPACE]).sum();
    assert_eq!(totals as u64, snap.live_bytes());
    let columns: Vec<i64> = p.location.iter().flat_map(|l| l.line.iter().map(|l| l.column)).collect();
    assert!(columns.iter().filter(|&&c| c == 5).count() >= 5, "{columns:?}");
    // The counters travel as comments.
    let comments: Vec<&str> = p.comment.iter().map(|&i| p.string_table[i as usize].as_str()).collect();
    assert!(comments.iter().any(|c| c.contains("20 allocations, 12 frees")), "{comments:?}");
    assert_eq!(p.string_table[p.mapping[0].filename as usize], "synthetic.wasm");
}

/// With the allocation profile, `alloc_*` count every allocation of a stack: its live blocks' samples, and
/// one `freed` sample (alloc_* only) for what it allocated and freed before the snapshot.
#[test]
fn allocations_freed_before_the_snapshot() {
    let mut snap = synthetic();
    let site = |stack, allocated_blocks, allocated_bytes| wasmleak_heap::SiteProfile { stack, allocated_blocks, allocated_bytes, ..Default::default() };
    // s0 has 2 live blocks (56 B): 3 more were freed; s3's 2 live blocks are all it allocated.
    snap.profile.sites = vec![site(0, 5, 56 + 300), site(3, 2, 32)];
    let p = export(&snap);
    check_well_formed(&p);
    let freed: Vec<ResolvedSample> = resolve(&p).into_iter().filter(|s| s.kind == pprof::FREED_KIND).collect();
    assert_eq!(freed.len(), 1, "{freed:?}");
    assert_eq!(freed[0].stack[0], vec![l("alloc_node", "src/a.rs", 10), l("make", "src/a.rs", 20)]);
    let want: BTreeMap<String, i64> =
        [("alloc_objects", 3), ("alloc_space", 300), ("inuse_objects", 0), ("inuse_space", 0)].into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    assert_eq!(freed[0].values, want);
    let sum = |i: usize| p.sample.iter().map(|s| s.value[i]).sum::<i64>() as u64;
    assert_eq!(sum(pprof::INUSE_SPACE), snap.live_bytes());
    assert_eq!(sum(pprof::ALLOC_SPACE), snap.live_bytes() + 300);
}

#[test]
fn empty_snapshot_is_a_valid_profile() {
    let snap = Snapshot { module: "empty.wasm".into(), ..Default::default() };
    let p = export(&snap);
    check_well_formed(&p);
    assert!(p.sample.is_empty());
    assert!(p.location.is_empty());
}

#[test]
fn output_is_deterministic() {
    let snap = synthetic();
    let a = analysis(&snap);
    let (mut x, mut y) = (Vec::new(), Vec::new());
    pprof::write(&snap, &a, &mut x).unwrap();
    pprof::write(&snap, &a, &mut y).unwrap();
    assert_eq!(x, y);
}

// ---- real fixtures, through the CLI (skipped when the binary has not been built) ----

#[test]
fn rust_rc_cycle_profile() {
    let Some(snap) = fixture_snapshot("rust_patterns.wasm", &["rc_cycle", "10"]) else { return };
    let p = export(&snap);
    check_well_formed(&p);
    let samples = resolve(&p);
    let cycle: Vec<&ResolvedSample> = samples.iter().filter(|s| s.kind == "cycle").collect();
    let total = |ss: &[&ResolvedSample], t: &str| ss.iter().map(|s| s.values[t]).sum::<i64>();
    assert_eq!(total(&cycle, "inuse_space"), 800, "{samples:#?}");
    assert_eq!(total(&cycle, "inuse_objects"), 30);
    assert_eq!(total(&cycle, "alloc_space"), 800);
    assert_eq!(total(&cycle, "alloc_objects"), 30);
    assert_eq!(cycle.len(), 3, "three allocation sites: {cycle:#?}");
    for s in &cycle {
        let lines: Vec<&ResolvedLine> = s.stack.iter().flatten().collect();
        assert!(
            lines.iter().any(|(f, _, _)| f == "rust_patterns::create_leaky_tree"),
            "every cycle site is in create_leaky_tree: {lines:#?}"
        );
    }
    // The first Rc::new of create_leaky_tree, at main.rs:38.
    assert!(
        cycle.iter().flat_map(|s| s.stack.iter().flatten()).any(|(f, file, line)| f
            == "rust_patterns::create_leaky_tree"
            && file.ends_with("rust/src/main.rs")
            && *line == 38),
        "{cycle:#?}"
    );
    // The profile as a whole matches the snapshot.
    let all: Vec<&ResolvedSample> = samples.iter().collect();
    assert_eq!(total(&all, "inuse_space") as u64, snap.live_bytes());
    assert_eq!(total(&all, "inuse_objects") as usize, snap.blocks.len());
}

#[test]
fn c_list_lost_profile() {
    let Some(snap) = fixture_snapshot("c_patterns.wasm", &["list_lost", "10"]) else { return };
    let p = export(&snap);
    check_well_formed(&p);
    let samples = resolve(&p);
    // The profile shows every live block: besides build_list's, wasi-libc's argv copy (allocated once in
    // `__main_void`, which the text report leaves out of its leak count) is there too, as it is live.
    let at_build_list = |s: &&ResolvedSample| s.stack[0].iter().any(|(f, _, _)| f == "build_list");
    let sum = |kind: &str, t: &str| {
        samples.iter().filter(|s| s.kind == kind).filter(at_build_list).map(|s| s.values[t]).sum::<i64>()
    };
    assert_eq!((sum("lost", "inuse_objects"), sum("lost", "inuse_space")), (10, 160), "{samples:#?}");
    assert_eq!((sum("indirect", "inuse_objects"), sum("indirect", "inuse_space")), (20, 320));
    let build_list: Vec<&ResolvedSample> = samples.iter().filter(at_build_list).collect();
    assert_eq!(build_list.len(), 2, "one lost and one indirect sample: {build_list:#?}");
    for s in &build_list {
        let (_, file, line) = &s.stack[0][0];
        assert!(file.ends_with("c/patterns.c") && *line > 0, "{s:#?}");
        assert!(s.stack.iter().flatten().any(|(f, _, _)| f == "main"), "{s:#?}");
    }
    let others: Vec<&ResolvedSample> = samples.iter().filter(|s| !at_build_list(s)).collect();
    assert!(
        others.iter().all(|s| s.stack.iter().flatten().any(|(f, _, _)| f == "__main_void")),
        "only the runtime's argv copy besides build_list: {others:#?}"
    );
}
