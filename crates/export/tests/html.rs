//! The HTML report on snapshots built here: self-contained (nothing to fetch), every program name escaped,
//! the summary numbers, groups with retainers and cycles, the comparison table and the chart only with two
//! snapshots or more. (tests/js/html.test.mjs opens a real report in Chromium.)

use wasmleak_export::html;
use wasmleak_heap::{Analysis, SnapBlock, SnapFrame, SnapRegion, SnapValue, Snapshot};

fn frame(function: &str, file: &str, line: u32) -> SnapFrame {
    SnapFrame { function: function.into(), file: Some(file.into()), line: Some(line), column: None, inlined: false }
}

/// Names with every character HTML cares about.
const MAKE: &str = "make_node<T & U>";
const CLONE: &str = "<Vec<T> as Clone>::clone";
const QUOTE: &str = "say\"hi\"'there'";

/// (addr, size, seq, stack, pointer words at offsets 0, 4, …)
type Spec = (u64, u64, u64, u32, Vec<u32>);

fn snapshot(index: u32, iteration: u64, spec: &[Spec], data_ptrs: &[u32], host: &[u64]) -> Snapshot {
    let frames = vec![
        frame(MAKE, "src/a&b.rs", 10),     // 0
        frame("main", "src/main.rs", 30),  // 1
        frame(CLONE, "src/<gen>.rs", 5),   // 2
        frame("cache_insert", "src/lib.rs", 70), // 3
        frame(QUOTE, "src/q.rs", 1),       // 4
        frame("scratch", "src/lib.rs", 90), // 5
    ];
    let stacks = vec![vec![0, 1], vec![2, 1], vec![3, 1], vec![4, 1], vec![5, 1]];
    let mut blocks = Vec::new();
    let mut contents = Vec::new();
    for (addr, size, seq, stack, ptrs) in spec {
        blocks.push(SnapBlock { addr: *addr, size: *size, seq: *seq, stack: *stack });
        let mut bytes = vec![0u8; *size as usize];
        for (k, p) in ptrs.iter().enumerate() {
            bytes[k * 4..k * 4 + 4].copy_from_slice(&p.to_le_bytes());
        }
        contents.extend_from_slice(&bytes);
    }
    let mut data = vec![0u8; 4 * data_ptrs.len().max(1)];
    for (k, p) in data_ptrs.iter().enumerate() {
        data[k * 4..k * 4 + 4].copy_from_slice(&p.to_le_bytes());
    }
    Snapshot {
        module: "app<&>.wasm".into(),
        index,
        iteration,
        allocations: 1000 + iteration,
        frees: 700 + iteration,
        blocks,
        contents,
        frames,
        stacks,
        regions: vec![SnapRegion { name: "data".into(), start: 0x10, bytes: data }],
        values: host.iter().map(|&v| SnapValue { name: "host handle".into(), value: v, host: true }).collect(),
        invalid_frees: vec![],
        ..Default::default()
    }
}

/// Every kind once: 0x100 24 B lost (MAKE) pointing at 0x200 8 B indirect (CLONE); 0x300/0x340 16+16 B
/// cycle (CLONE); 0x400 40 B host (QUOTE); 0x500 64 B reachable from data (cache_insert).
fn every_kind() -> Snapshot {
    snapshot(
        1,
        1,
        &[
            (0x100, 24, 1, 0, vec![0x200]),
            (0x200, 8, 2, 1, vec![]),
            (0x300, 16, 3, 1, vec![0x340]),
            (0x340, 16, 4, 1, vec![0x300]),
            (0x400, 40, 5, 3, vec![]),
            (0x500, 64, 6, 2, vec![]),
        ],
        &[0x500],
        &[0x400],
    )
}

/// Snapshot k of 4 (iteration 50·k): a cache of 2·k 64-byte entries, all pointed at from `data`; one
/// 32-byte scratch block that is freed and allocated again between snapshots; one lost `MAKE` block
/// from iteration 1 on.
fn series() -> Vec<Snapshot> {
    (1..=4u32)
        .map(|k| {
            let mut spec: Vec<Spec> = vec![(0x100, 24, 1, 0, vec![])];
            let mut ptrs = Vec::new();
            for e in 0..2 * k as u64 {
                let addr = 0x1000 + e * 0x40;
                spec.push((addr, 64, 10 + e, 2, vec![]));
                ptrs.push(addr as u32);
            }
            spec.push((0x4000, 32, 100 + k as u64, 4, vec![]));
            ptrs.push(0x4000);
            snapshot(k, 50 * k as u64, &spec, &ptrs, &[])
        })
        .collect()
}

fn analysis(snap: &Snapshot) -> Analysis {
    snap.analyze()
}

fn single(snap: &Snapshot) -> String {
    let mut out = Vec::new();
    html::write(snap, &analysis(snap), &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn of_series(snaps: &[Snapshot]) -> String {
    let mut out = Vec::new();
    html::write_series(snaps, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// The document without the inline script (whose text is code, not escaped content).
fn without_script(html: &str) -> String {
    let start = html.find("<script>").expect("the inline script");
    let end = html.find("</script>").expect("its end");
    format!("{}{}", &html[..start], &html[end + "</script>".len()..])
}

/// Nothing is loaded from anywhere: no `src`/`href` but in-page anchors and the flamegraph's `data:` URL,
/// no CSS `url(`/`@import`, a policy that forbids fetching.
fn assert_self_contained(html: &str) {
    for attr in ["src=", "href="] {
        for (at, _) in html.match_indices(attr) {
            let value = &html[at + attr.len()..];
            assert!(
                value.starts_with("\"#") || value.starts_with("\"data:image/svg+xml;base64,"),
                "{attr} to something outside the file: {}",
                &value[..value.len().min(80)]
            );
        }
    }
    for url in ["http://", "https://"] {
        for (at, _) in html.match_indices(url) {
            // Only as the SVG namespace name, which is never fetched.
            assert!(html[..at].ends_with("xmlns=\""), "a URL in the report: {}", &html[at..(at + 60).min(html.len())]);
        }
    }
    assert!(!html.contains("url(") && !html.contains("@import"));
    assert!(html.contains("content=\"default-src 'none';"));
}

/// Every `&` starts an entity and no program text leaves a raw `<`.
fn assert_escaped(html: &str) {
    let body = without_script(html);
    for (at, _) in body.match_indices('&') {
        let rest = &body[at..];
        assert!(
            ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"].iter().any(|e| rest.starts_with(e)),
            "a bare & at {}",
            &rest[..rest.len().min(40)]
        );
    }
    for raw in [MAKE, CLONE, QUOTE, "src/a&b.rs", "src/<gen>.rs", "app<&>.wasm"] {
        assert!(!body.contains(raw), "{raw} unescaped");
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// The text of the element with this id (up to its first closing tag).
fn by_id<'a>(html: &'a str, id: &str) -> &'a str {
    let at = html.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id}"));
    let start = at + html[at..].find('>').unwrap() + 1;
    &html[start..start + html[start..].find("</").unwrap()]
}

/// The numbers of a summary row: (blocks, bytes).
fn kind_row(html: &str, kind: &str) -> (u64, u64) {
    let at = html.find(&format!("<tr data-kind=\"{kind}\"")).or_else(|| html.find(&format!("data-kind=\"{kind}\"><td")));
    let row = &html[at.unwrap_or_else(|| panic!("no summary row {kind}"))..];
    let row = &row[..row.find("</tr>").unwrap()];
    let vals: Vec<u64> = row.match_indices("data-v=\"").map(|(i, m)| {
        let v = &row[i + m.len()..];
        v[..v.find('"').unwrap()].parse().unwrap()
    }).collect();
    (vals[0], vals[1])
}

/// The `<div class="group …">` blocks, in order.
fn groups(html: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = &html[html.find("id=\"groups\"").unwrap()..];
    while let Some(at) = rest.find("<div class=\"group ") {
        let g = &rest[at..];
        let end = g.find("\n</div>\n").unwrap();
        out.push(&g[..end]);
        rest = &g[end..];
    }
    out
}

#[test]
fn one_snapshot_every_kind() {
    let snap = every_kind();
    let html = single(&snap);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.trim_end().ends_with("</html>"));
    assert_self_contained(&html);
    assert_escaped(&html);

    // Summary.
    assert_eq!(kind_row(&html, "lost"), (1, 24));
    assert_eq!(kind_row(&html, "indirect"), (1, 8));
    assert_eq!(kind_row(&html, "cycle"), (2, 32));
    assert_eq!(kind_row(&html, "host"), (1, 40));
    assert_eq!(kind_row(&html, "reachable"), (1, 64));
    assert_eq!(kind_row(&html, "leaked"), (5, 104));
    assert_eq!(by_id(&html, "f-allocations"), "1,001");
    assert_eq!(by_id(&html, "f-frees"), "701");
    assert_eq!(by_id(&html, "f-live"), "6 (168 B)");
    assert!(by_id(&html, "f-module").contains(&esc("app<&>.wasm")));
    assert!(by_id(&html, "verdict").starts_with("leaked 104 B in 5 blocks"));

    // One snapshot: no chart, no comparison.
    assert!(!html.contains("id=\"heap-chart\""));
    assert!(!html.contains("id=\"cmp\""));
    assert!(!html.contains("<polyline"));

    // Groups: leaks first, each with its site escaped, its stack and its hint.
    let gs = groups(&html);
    let kinds: Vec<&str> = gs.iter().map(|g| &g[g.find("data-kind=\"").unwrap() + 11..][..4]).collect();
    assert_eq!(kinds, ["lost", "cycl", "indi", "host", "reac"]);
    assert!(gs[0].contains(&format!("<div class=\"site\">{} (src/a&amp;b.rs:10)</div>", esc(MAKE))));
    assert!(gs[0].contains("Nothing points to these blocks"));
    assert!(gs[0].contains("<details class=\"stack\">"));
    assert!(gs[0].contains("<p class=\"hint\">"));
    // The cycle: both members, each pointing at the other.
    let cycle = gs[1];
    assert!(cycle.contains(&format!("{} (src/&lt;gen&gt;.rs:5)", esc(CLONE))));
    assert!(cycle.contains("2 blocks that only point at each other"));
    assert!(cycle.contains("block 0x300 (16 B, cycle)") && cycle.contains("→</span> 0x340</li>"), "{cycle}");
    assert!(cycle.contains("block 0x340 (16 B, cycle)") && cycle.contains("→</span> 0x300</li>"), "{cycle}");
    // The indirect block: owned through the lost one.
    assert!(gs[2].contains("owned through") && gs[2].contains("block 0x100 (24 B, lost)"));
    // The host block: held by the host value; the reachable one: by the word in data.
    assert!(gs[3].contains(&esc(QUOTE)));
    assert!(gs[3].contains("<b>root</b> host handle"), "{}", gs[3]);
    assert!(gs[4].contains("retainer path of the first block (0x500)"));
    assert!(gs[4].contains("<b>root</b> data (0x10..0x14), word at 0x10"), "{}", gs[4]);
    assert!(!gs.iter().any(|g| g.contains("data-growing=\"true\"")));

    // The flamegraph, in the file.
    let src = "src=\"data:image/svg+xml;base64,";
    let at = html.find(src).expect("the flamegraph frame") + src.len();
    let svg = String::from_utf8(base64_decode(&html[at..at + html[at..].find('"').unwrap()])).unwrap();
    assert!(svg.starts_with("<?xml") && svg.contains("</svg>"));
    assert!(svg.contains("make_node&lt;T &amp; U&gt;"));

    // write_series of the one snapshot says the same.
    assert_eq!(of_series(std::slice::from_ref(&snap)), html);
}

#[test]
fn series_has_comparison_growth_and_chart() {
    let snaps = series();
    let html = of_series(&snaps);
    assert_self_contained(&html);
    assert_escaped(&html);

    // The last snapshot is the one analysed: 8 cache entries + scratch reachable, one lost block.
    assert_eq!(kind_row(&html, "reachable"), (9, 8 * 64 + 32));
    assert_eq!(kind_row(&html, "lost"), (1, 24));
    assert!(by_id(&html, "f-snapshot").starts_with("#4 of this run, at iteration 200"));
    assert_eq!(by_id(&html, "f-change"), "+384 B from iteration 50 to 200 (2.56 B/iteration)");

    // Growth: the cache grows by 2 entries (128 B) per 50 iterations.
    let gs = groups(&html);
    let growing: Vec<&&str> = gs.iter().filter(|g| g.contains("data-growing=\"true\"")).collect();
    assert_eq!(growing.len(), 1);
    assert!(growing[0].contains("<div class=\"site\">cache_insert (src/lib.rs:70)</div>"));
    assert!(growing[0].contains("growing +2.56 B/iteration"), "{}", growing[0]);
    assert!(growing[0].contains("8 blocks · 512 B"));

    // Comparison #1 → #4: one row per site with exact numbers (Δ bytes, Δ blocks, new, freed, before, after).
    let table = &html[html.find("<table id=\"cmp\">").unwrap()..];
    let table = &table[..table.find("</table>").unwrap()];
    let rows: Vec<(String, Vec<i64>)> = table
        .split("<tr data-text=")
        .skip(1)
        .map(|r| {
            let site = &r[r.find("class=\"site\"").unwrap()..];
            let site = &site[site.find('>').unwrap() + 1..site.find("</td>").unwrap()];
            let vals = r.match_indices("data-v=\"").map(|(i, m)| {
                let v = &r[i + m.len()..];
                v[..v.find('"').unwrap()].parse().unwrap()
            });
            (site.to_string(), vals.collect())
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("cache_insert (src/lib.rs:70)".to_string(), vec![384, 6, 6, 0, 128, 512]),
            (format!("{} (src/a&amp;b.rs:10)", esc(MAKE)), vec![0, 0, 0, 0, 24, 24]),
            ("scratch (src/lib.rs:90)".to_string(), vec![0, 0, 1, 1, 32, 32]),
        ]
    );
    assert!(html.contains("aria-sort=\"descending\">Δ bytes</th>"));
    assert!(html.contains("id=\"cmp-filter\""));

    // The chart: four points at iterations 50..200, total live bytes, and the growing site's line.
    let points: Vec<&str> = html.match_indices("<circle class=\"point\"").map(|(i, _)| &html[i..]).collect();
    assert_eq!(points.len(), 4);
    for (k, p) in points.iter().enumerate() {
        let live = 24 + 32 + 64 * 2 * (k as u64 + 1);
        assert!(p.contains(&format!("data-iteration=\"{}\" data-bytes=\"{live}\"", 50 * (k + 1))), "{}", &p[..200]);
    }
    assert_eq!(html.matches("<polyline class=\"site-line\"").count(), 1);
    assert!(html.contains("data-site=\"cache_insert (src/lib.rs:70)\""));
    assert!(html.contains("128 B → 256 B → 384 B → 512 B"));
}

#[test]
fn two_snapshots_chart_without_verdict() {
    let snaps = series();
    let html = of_series(&[snaps[0].clone(), snaps[3].clone()]);
    assert_self_contained(&html);
    assert_eq!(html.matches("<circle class=\"point\"").count(), 2);
    assert!(html.contains("id=\"cmp\""));
    // No verdict from two snapshots, but the site that grew is drawn.
    assert!(!html.contains("data-growing=\"true\""));
    assert!(html.contains("data-site=\"cache_insert (src/lib.rs:70)\""));
    assert!(html.contains("needs three snapshots or more"));
}

#[test]
fn empty_series_is_an_error() {
    let mut out = Vec::new();
    let err = html::write_series(&[], &mut out).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(out.is_empty());
}

#[test]
fn empty_heap() {
    let snap = snapshot(1, 1, &[], &[], &[]);
    let html = single(&snap);
    assert_self_contained(&html);
    assert_eq!(kind_row(&html, "leaked"), (0, 0));
    assert!(by_id(&html, "verdict").starts_with("no leaks found"));
    assert!(html.contains("No live blocks."));
    assert!(html.contains("src=\"data:image/svg+xml;base64,"));
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    } as u32;
    let mut out = Vec::new();
    for chunk in s.as_bytes().chunks(4) {
        let pad = chunk.iter().filter(|&&c| c == b'=').count();
        let mut n = 0u32;
        for &c in chunk {
            n = n << 6 | if c == b'=' { 0 } else { val(c) };
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    out
}
