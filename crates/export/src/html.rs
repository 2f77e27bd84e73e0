//! A self-contained HTML report of a heap snapshot, or of a series of snapshots of one run: summary, the
//! comparison table (first vs last snapshot, click-to-sort columns, a filter box), the leak groups with
//! their stacks, hints and retainer paths (cycle members for cycles), an SVG flamegraph of live bytes and
//! a chart of live bytes over the snapshots.
//!
//! One file, nothing loaded from anywhere: the CSS and the little script are inline, the flamegraph is
//! inferno's SVG in an `<iframe>` with a `data:` URL (its own document, so its zoom/search script works and
//! its styles stay apart), and a Content-Security-Policy forbids every fetch. Every piece of program text
//! (function names with `<`, `&`) is escaped.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, Write};

use wasmleak_heap::{growth, Analysis, Holder, Kind, SnapFrame, Snapshot};
use wasmleak_report::{build, diff, site_name, type_of, DiffRow, Exit, Frame, Group, Profile, Report, SortBy};

use crate::flamegraph;

const CSS: &str = include_str!("html/report.css");
const JS: &str = include_str!("html/report.js");

/// Groups shown in full (the rest are counted); retainer paths and cycle members are drawn for these.
pub const MAX_GROUPS: usize = 100;
/// Comparison rows written (largest |Δ bytes| first); the rest are counted.
pub const MAX_ROWS: usize = 2000;
/// Sites drawn in the chart next to the total.
pub const CHART_SITES: usize = 5;
/// Members listed for a cycle.
const MAX_CYCLE_MEMBERS: usize = 10;

/// The report of one snapshot (`analysis` is of the same snapshot): no comparison, no chart.
pub fn write(snap: &Snapshot, analysis: &Analysis, out: &mut dyn Write) -> io::Result<()> {
    out.write_all(render(std::slice::from_ref(snap), analysis).as_bytes())
}

/// The report of snapshots of one run, in order: the last one is analysed (groups, retainers, flamegraph);
/// the first and last give the comparison table; all of them the heap-over-time chart and the growth
/// verdict (three or more).
pub fn write_series(snaps: &[Snapshot], out: &mut dyn Write) -> io::Result<()> {
    let Some(last) = snaps.last() else {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "the HTML report needs at least one snapshot"));
    };
    let analysis = last.analyze();
    out.write_all(render(snaps, &analysis).as_bytes())
}

/// The whole document. `snaps` is not empty; `analysis` is of its last snapshot.
pub fn render(snaps: &[Snapshot], analysis: &Analysis) -> String {
    let snap = snaps.last().expect("at least one snapshot");
    let exit = Exit { status: "returned", code: None, message: format!("snapshot {} (iteration {})", snap.index, snap.iteration) };
    let mut report = build(snap, analysis, exit, Vec::new());
    let grown = growth(snaps);
    report.apply_growth(&grown, snaps.len());

    let mut h = String::with_capacity(64 * 1024);
    let title = format!("wasmleak report: {}", snap.module);
    let _ = write!(
        h,
        concat!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
            // Nothing may be fetched: inline style and script only, the flamegraph's data: frame.
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; ",
            "script-src 'unsafe-inline'; img-src data:; frame-src data:\">\n",
            "<meta name=\"generator\" content=\"wasmleak\">\n<title>{}</title>\n<style>\n{}</style>\n</head>\n<body>\n"
        ),
        esc(&title),
        CSS
    );
    header(&mut h, snaps, &report);
    h.push_str("<main>\n");
    summary(&mut h, snaps, &report);
    if snaps.len() >= 2 {
        chart(&mut h, snaps, &grown);
        comparison(&mut h, &snaps[0], snap);
    }
    groups(&mut h, snap, analysis, &report);
    invalid_frees(&mut h, &report);
    flame(&mut h, snap, analysis);
    if let Some(p) = &report.profile {
        profile(&mut h, snap, p);
    }
    let _ = write!(h, "</main>\n<script>\n{JS}</script>\n</body>\n</html>\n");
    h
}

// ---- pieces ----

fn header(h: &mut String, snaps: &[Snapshot], r: &Report) {
    let snap = snaps.last().unwrap();
    let _ = write!(
        h,
        "<header>\n<h1>wasmleak report: <span class=\"module\">{}</span></h1>\n<p>snapshot #{} at iteration {}",
        esc(&snap.module),
        snap.index,
        snap.iteration
    );
    if snaps.len() >= 2 {
        let first = &snaps[0];
        let _ = write!(
            h,
            " · {} snapshots of one run, compared: #{} (iteration {}) → #{} (iteration {})",
            snaps.len(),
            first.index,
            first.iteration,
            snap.index,
            snap.iteration
        );
    }
    h.push_str("</p>\n<nav><a href=\"#summary\">Summary</a>");
    if snaps.len() >= 2 {
        h.push_str("<a href=\"#over-time\">Heap over time</a><a href=\"#comparison\">Comparison</a>");
    }
    h.push_str("<a href=\"#groups\">Leak groups</a>");
    if !r.invalid_frees.is_empty() {
        h.push_str("<a href=\"#invalid-frees\">Invalid frees</a>");
    }
    h.push_str("<a href=\"#flamegraph\">Flamegraph</a>");
    if r.profile.is_some() {
        h.push_str("<a href=\"#profile\">Allocation profile</a>");
    }
    h.push_str("</nav>\n</header>\n");
}

fn summary(h: &mut String, snaps: &[Snapshot], r: &Report) {
    let snap = snaps.last().unwrap();
    let s = &r.summary;
    h.push_str("<section id=\"summary\">\n<h2>Summary</h2>\n");
    let growing: Vec<&Group> = r.groups.iter().filter(|g| g.growing).collect();
    let (class, verdict) = if s.leaked_blocks > 0 || s.invalid_frees > 0 {
        let mut v = format!("leaked {} in {} block{}", bytes(s.leaked_bytes), s.leaked_blocks, plural(s.leaked_blocks));
        if s.invalid_frees > 0 {
            v.push_str(&format!("; {} invalid free{}", s.invalid_frees, plural(s.invalid_frees)));
        }
        ("bad", v)
    } else {
        ("ok", "no leaks found".to_string())
    };
    let _ = write!(h, "<p class=\"verdict {class}\" id=\"verdict\">{}", esc(&verdict));
    if !growing.is_empty() {
        let _ = write!(h, "; <span class=\"badge-growing\">{} growing site{}</span>", growing.len(), plural(growing.len() as u64));
    }
    h.push_str("</p>\n<div class=\"summary-grid\">\n");

    h.push_str("<table id=\"kinds\">\n<thead><tr><th>kind</th><th class=\"num\">blocks</th><th class=\"num\">bytes</th></tr></thead>\n<tbody>\n");
    let rows: [(&str, u64, u64); 5] = [
        ("lost", s.lost_blocks, s.lost_bytes),
        ("indirect", s.indirect_blocks, s.indirect_bytes),
        ("cycle", s.cycle_blocks, s.cycle_bytes),
        ("host", s.host_blocks, s.host_bytes),
        ("reachable", s.reachable_blocks, s.reachable_bytes),
    ];
    for (kind, blocks, n) in rows {
        let _ = writeln!(
            h,
            "<tr data-kind=\"{kind}\"><td><span class=\"kind kind-{kind}\">{kind}</span></td><td class=\"num\" data-v=\"{blocks}\">{}</td><td class=\"num\" data-v=\"{n}\">{}</td></tr>",
            count(blocks),
            bytes(n)
        );
    }
    let _ = writeln!(
        h,
        "<tr class=\"totals\" data-kind=\"leaked\"><td>leaked (lost + indirect + cycle + host)</td><td class=\"num\" data-v=\"{}\">{}</td><td class=\"num\" data-v=\"{}\">{}</td></tr>",
        s.leaked_blocks,
        count(s.leaked_blocks),
        s.leaked_bytes,
        bytes(s.leaked_bytes)
    );
    if s.runtime_blocks > 0 {
        let _ = writeln!(
            h,
            "<tr data-kind=\"runtime\"><td>runtime start-up (not counted)</td><td class=\"num\" data-v=\"{}\">{}</td><td class=\"num\" data-v=\"{}\">{}</td></tr>",
            s.runtime_blocks,
            count(s.runtime_blocks),
            s.runtime_bytes,
            bytes(s.runtime_bytes)
        );
    }
    h.push_str("</tbody>\n</table>\n");

    h.push_str("<table class=\"facts\" id=\"facts\">\n<tbody>\n");
    let mut fact = |name: &str, id: &str, value: String| {
        let _ = writeln!(h, "<tr><td>{}</td><td id=\"{id}\">{value}</td></tr>", esc(name));
    };
    fact("module", "f-module", format!("<code>{}</code>", esc(&snap.module)));
    fact("snapshot", "f-snapshot", format!("#{} of this run, at iteration {}", snap.index, snap.iteration));
    fact("live blocks", "f-live", format!("{} ({})", count(snap.blocks.len() as u64), bytes(snap.live_bytes())));
    fact("allocations", "f-allocations", count(s.allocations));
    fact("frees", "f-frees", count(s.frees));
    fact("invalid / double frees", "f-invalid", count(s.invalid_frees));
    if snaps.len() >= 2 {
        let first = &snaps[0];
        let d = snap.live_bytes() as i64 - first.live_bytes() as i64;
        let its = snap.iteration.saturating_sub(first.iteration);
        let mut v = format!("{} B from iteration {} to {}", signed(d), first.iteration, snap.iteration);
        if its > 0 {
            v.push_str(&format!(" ({} B/iteration)", per_iteration(d as f64 / its as f64)));
        }
        fact("live bytes change", "f-change", esc(&v));
    }
    h.push_str("</tbody>\n</table>\n</div>\n</section>\n");
}

/// Live bytes per snapshot, and the top growing sites (the growth verdict's with three or more snapshots;
/// the sites that grew most from first to last with two).
fn chart(h: &mut String, snaps: &[Snapshot], grown: &[wasmleak_heap::Growth]) {
    let n = snaps.len();
    let totals: Vec<u64> = snaps.iter().map(Snapshot::live_bytes).collect();
    // (label, bytes per snapshot, growing per the verdict)
    let mut sites: Vec<(String, Vec<u64>, Option<f64>)> = grown
        .iter()
        .take(CHART_SITES)
        .map(|g| (site_name(&g.stack), g.bytes.clone(), Some(g.bytes_per_iteration)))
        .collect();
    if grown.is_empty() {
        let per_site = site_series(snaps);
        let mut rising: Vec<(String, Vec<u64>, Option<f64>)> =
            per_site.into_iter().filter(|(_, b)| b[n - 1] > b[0]).map(|(s, b)| (s, b, None)).collect();
        rising.sort_by(|a, b| (b.1[n - 1] - b.1[0]).cmp(&(a.1[n - 1] - a.1[0])).then_with(|| a.0.cmp(&b.0)));
        rising.truncate(CHART_SITES);
        sites = rising;
    }

    let (w, ht) = (720.0f64, 300.0f64);
    let (left, right, top, bottom) = (74.0, 20.0, 16.0, 42.0);
    let pw = w - left - right;
    let ph = ht - top - bottom;
    let iters: Vec<u64> = snaps.iter().map(|s| s.iteration).collect();
    let by_iteration = iters.windows(2).all(|p| p[1] > p[0]);
    let xs: Vec<f64> = if by_iteration {
        let (a, b) = (iters[0] as f64, iters[n - 1] as f64);
        iters.iter().map(|&i| left + (i as f64 - a) / (b - a) * pw).collect()
    } else {
        (0..n).map(|k| left + k as f64 / (n - 1) as f64 * pw).collect()
    };
    let ymax = axis_max(totals.iter().copied().max().unwrap_or(0));
    let y = |v: u64| top + ph - v as f64 / ymax as f64 * ph;

    h.push_str("<section id=\"over-time\">\n<h2>Heap over time<span class=\"sub\">live bytes at each snapshot");
    if !sites.is_empty() {
        h.push_str(", with the sites that grew most");
    }
    h.push_str("</span></h2>\n<div class=\"chart-wrap\">\n");
    let _ = writeln!(
        h,
        "<svg id=\"heap-chart\" width=\"{w}\" height=\"{ht}\" viewBox=\"0 0 {w} {ht}\" role=\"img\" aria-label=\"live bytes per snapshot\" xmlns=\"http://www.w3.org/2000/svg\">"
    );
    for k in 0..=4u64 {
        let v = ymax * k / 4;
        let yy = y(v);
        let _ = writeln!(
            h,
            "<line class=\"grid\" x1=\"{left}\" x2=\"{:.1}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            left + pw,
            left - 6.0,
            yy + 4.0,
            esc(&bytes_short(v))
        );
    }
    let _ = writeln!(
        h,
        "<line class=\"axis\" x1=\"{left}\" x2=\"{left}\" y1=\"{top}\" y2=\"{:.1}\"/><line class=\"axis\" x1=\"{left}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/>",
        top + ph,
        left + pw,
        top + ph,
        top + ph
    );
    for (k, x) in xs.iter().enumerate() {
        let label = if by_iteration { iters[k].to_string() } else { format!("#{}", snaps[k].index) };
        let _ = writeln!(h, "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>", top + ph + 16.0, esc(&label));
    }
    let _ = writeln!(
        h,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
        left + pw / 2.0,
        ht - 6.0,
        if by_iteration { "iteration" } else { "snapshot" }
    );
    for (i, (label, series, _)) in sites.iter().enumerate() {
        let pts: Vec<String> = xs.iter().zip(series).map(|(x, &v)| format!("{x:.1},{:.1}", y(v))).collect();
        let _ = writeln!(
            h,
            "<polyline class=\"site-line\" data-site=\"{}\" stroke=\"{}\" points=\"{}\"><title>{}</title></polyline>",
            esc(label),
            PALETTE[i % PALETTE.len()],
            pts.join(" "),
            esc(label)
        );
    }
    let pts: Vec<String> = xs.iter().zip(&totals).map(|(x, &v)| format!("{x:.1},{:.1}", y(v))).collect();
    let _ = writeln!(h, "<polyline class=\"total\" points=\"{}\"/>", pts.join(" "));
    for (k, (x, &v)) in xs.iter().zip(&totals).enumerate() {
        let _ = writeln!(
            h,
            "<circle class=\"point\" cx=\"{x:.1}\" cy=\"{:.1}\" r=\"4\" data-snapshot=\"{}\" data-iteration=\"{}\" data-bytes=\"{v}\"><title>snapshot #{} · iteration {} · {} live in {} blocks</title></circle>",
            y(v),
            snaps[k].index,
            snaps[k].iteration,
            snaps[k].index,
            snaps[k].iteration,
            esc(&bytes(v)),
            snaps[k].blocks.len()
        );
    }
    h.push_str("</svg>\n<ul class=\"legend\" id=\"chart-legend\">\n");
    let _ = writeln!(
        h,
        "<li><span class=\"sw\" style=\"border-color:#1d2330\"></span><span>all live blocks: {}</span></li>",
        esc(&totals.iter().map(|&v| bytes(v)).collect::<Vec<_>>().join(" → "))
    );
    for (i, (label, series, rate)) in sites.iter().enumerate() {
        let rate = match rate {
            Some(r) => format!(" <span class=\"badge-growing\">growing {} B/iteration</span>", per_iteration(*r)),
            None => String::new(),
        };
        let _ = writeln!(
            h,
            "<li><span class=\"sw dashed\" style=\"border-color:{}\"></span><span><span class=\"mono\">{}</span>{rate}<br>{}</span></li>",
            PALETTE[i % PALETTE.len()],
            esc(label),
            esc(&series.iter().map(|&v| bytes(v)).collect::<Vec<_>>().join(" → "))
        );
    }
    h.push_str("</ul>\n</div>\n");
    if !by_iteration {
        h.push_str("<p class=\"note\">The snapshots are not in increasing iteration order: drawn one step apart.</p>\n");
    }
    if n < 3 {
        h.push_str("<p class=\"note\">The growth verdict needs three snapshots or more; the sites drawn are the ones that grew most from the first to the last.</p>\n");
    }
    h.push_str("</section>\n");
}

const PALETTE: [&str; 5] = ["#d84315", "#1565c0", "#7b1fa2", "#2e7d32", "#b8860b"];

/// Live bytes per site name at each snapshot.
fn site_series(snaps: &[Snapshot]) -> Vec<(String, Vec<u64>)> {
    let n = snaps.len();
    let mut by: HashMap<String, Vec<u64>> = HashMap::new();
    for (k, s) in snaps.iter().enumerate() {
        let mut names: HashMap<u32, String> = HashMap::new();
        for b in &s.blocks {
            let name = names.entry(b.stack).or_insert_with(|| site_name(&s.stack(b.stack).cloned().collect::<Vec<SnapFrame>>()));
            by.entry(name.clone()).or_insert_with(|| vec![0; n])[k] += b.size;
        }
    }
    by.into_iter().collect()
}

fn comparison(h: &mut String, first: &Snapshot, last: &Snapshot) {
    let mut rows = diff(first, last, None, SortBy::DeltaBytes);
    let total = rows.len();
    let dropped = total.saturating_sub(MAX_ROWS);
    if dropped > 0 {
        // Keep the largest changes either way, then show them in the usual order.
        rows.sort_by(|a, b| b.delta_bytes.abs().cmp(&a.delta_bytes.abs()).then_with(|| a.site.cmp(&b.site)));
        rows.truncate(MAX_ROWS);
        rows.sort_by(|a, b| b.delta_bytes.cmp(&a.delta_bytes).then_with(|| a.site.cmp(&b.site)));
    }
    let _ = write!(
        h,
        "<section id=\"comparison\">\n<h2>Comparison<span class=\"sub\">snapshot #{} (iteration {}) → #{} (iteration {}), per allocation site</span></h2>\n",
        first.index, first.iteration, last.index, last.iteration
    );
    h.push_str(concat!(
        "<div class=\"toolbar\"><input id=\"cmp-filter\" type=\"search\" placeholder=\"filter: function, file or type\" ",
        "aria-label=\"filter the sites\" autocomplete=\"off\"><span id=\"cmp-count\" class=\"note\"></span></div>\n",
        "<table id=\"cmp\">\n<thead><tr>",
        "<th data-sort=\"text\" data-col=\"site\">site</th>",
        "<th class=\"num\" data-sort=\"num\" data-col=\"delta-bytes\" aria-sort=\"descending\">Δ bytes</th>",
        "<th class=\"num\" data-sort=\"num\" data-col=\"delta-blocks\">Δ blocks</th>",
        "<th class=\"num\" data-sort=\"num\" data-col=\"new\" title=\"live in the last snapshot, allocated after the first\">new</th>",
        "<th class=\"num\" data-sort=\"num\" data-col=\"freed\" title=\"live in the first snapshot, freed by the last\">freed</th>",
        "<th class=\"num\" data-sort=\"num\" data-col=\"before\">before</th>",
        "<th class=\"num\" data-sort=\"num\" data-col=\"after\">after</th>",
        "</tr></thead>\n<tbody>\n"
    ));
    for r in &rows {
        comparison_row(h, r);
    }
    h.push_str("</tbody>\n</table>\n");
    if dropped > 0 {
        let _ = writeln!(h, "<p class=\"note\">{dropped} more sites with smaller changes are not listed (of {total}).</p>");
    }
    h.push_str("<p class=\"note\">new / freed: blocks (bytes). before / after: live bytes (blocks) at each snapshot. The same comparison in a terminal: <code>wasmleak diff FIRST LAST</code>.</p>\n</section>\n");
}

fn comparison_row(h: &mut String, r: &DiffRow) {
    let mut text = r.site.to_lowercase();
    for f in &r.stack {
        text.push('\n');
        text.push_str(&f.function.to_lowercase());
        if let Some(file) = &f.file {
            text.push(' ');
            text.push_str(&file.to_lowercase());
        }
    }
    let stack: Vec<String> = r.stack.iter().map(frame_text).collect();
    let tone = |d: i64| if d > 0 { " pos" } else if d < 0 { " neg" } else { "" };
    let _ = writeln!(
        h,
        concat!(
            "<tr data-text=\"{}\"><td class=\"site\" title=\"{}\">{}</td>",
            "<td class=\"num{}\" data-v=\"{}\">{}</td><td class=\"num{}\" data-v=\"{}\">{}</td>",
            "<td class=\"num\" data-v=\"{}\">{} ({})</td><td class=\"num\" data-v=\"{}\">{} ({})</td>",
            "<td class=\"num\" data-v=\"{}\">{} ({})</td><td class=\"num\" data-v=\"{}\">{} ({})</td></tr>"
        ),
        esc(&text),
        esc(&stack.join("\n")),
        esc(&r.site),
        tone(r.delta_bytes),
        r.delta_bytes,
        esc(&signed(r.delta_bytes)),
        tone(r.delta_blocks),
        r.delta_blocks,
        esc(&signed(r.delta_blocks)),
        r.new_blocks,
        count(r.new_blocks),
        bytes(r.new_bytes),
        r.freed_blocks,
        count(r.freed_blocks),
        bytes(r.freed_bytes),
        r.before_bytes,
        bytes(r.before_bytes),
        count(r.before_blocks),
        r.after_bytes,
        bytes(r.after_bytes),
        count(r.after_blocks),
    );
}

fn groups(h: &mut String, snap: &Snapshot, a: &Analysis, r: &Report) {
    h.push_str("<section id=\"groups\">\n<h2>Leak groups<span class=\"sub\">by kind and allocation stack; leaks first, then what is still reachable</span></h2>\n");
    if r.groups.is_empty() {
        h.push_str("<p class=\"note\">No live blocks.</p>\n</section>\n");
        return;
    }
    // The first block (lowest address) of each shown group.
    let mut index: HashMap<(&str, &[Frame]), usize> = HashMap::new();
    for (gi, g) in r.groups.iter().enumerate().take(MAX_GROUPS) {
        index.entry((g.kind, g.stack.as_slice())).or_insert(gi);
    }
    let mut first: Vec<Option<usize>> = vec![None; r.groups.len().min(MAX_GROUPS)];
    let mut frames_of: HashMap<u32, Vec<Frame>> = HashMap::new();
    for (bi, (b, c)) in a.blocks.iter().zip(&a.classes).enumerate() {
        let frames = frames_of.entry(b.stack.0).or_insert_with(|| report_frames(snap, b.stack.0));
        if let Some(&gi) = index.get(&(c.kind.as_str(), frames.as_slice())) {
            first[gi].get_or_insert(bi);
        }
    }
    for (gi, g) in r.groups.iter().enumerate().take(MAX_GROUPS) {
        group(h, snap, a, g, gi, first[gi]);
    }
    if r.groups.len() > MAX_GROUPS {
        let rest = &r.groups[MAX_GROUPS..];
        let _ = writeln!(
            h,
            "<p class=\"note\">{} more groups ({} blocks, {}) are not shown; <code>wasmleak check --format json</code> lists them all.</p>",
            rest.len(),
            count(rest.iter().map(|g| g.blocks).sum()),
            bytes(rest.iter().map(|g| g.bytes).sum())
        );
    }
    h.push_str("</section>\n");
}

fn group(h: &mut String, snap: &Snapshot, a: &Analysis, g: &Group, gi: usize, first: Option<usize>) {
    let _ = write!(
        h,
        "<div class=\"group k-{kind}\" id=\"group-{gi}\" data-kind=\"{kind}\" data-growing=\"{}\">\n<div class=\"head\"><span class=\"kind kind-{kind}\">{kind}</span>",
        g.growing,
        kind = g.kind
    );
    if g.growing {
        let rate = g.bytes_per_iteration.map(|b| format!(" +{} B/iteration", per_iteration(b))).unwrap_or_default();
        let _ = write!(h, "<span class=\"badge-growing\">growing{rate}</span>");
    }
    let _ = writeln!(
        h,
        "<span class=\"size\">{} block{} · {}</span></div>",
        count(g.blocks),
        plural(g.blocks),
        bytes(g.bytes)
    );
    let site = g.site.as_ref().map_or_else(|| "(no stack)".to_string(), frame_text);
    let _ = writeln!(h, "<div class=\"site\">{}</div>", esc(&site));
    let mut meta = Vec::new();
    if let Some(t) = &g.ty {
        meta.push(format!("type <code>{}</code>", esc(t)));
    }
    if let Some(root) = &g.root {
        meta.push(format!("held by {}", esc(root)));
    }
    if g.cycles > 0 {
        meta.push(format!("{} cycle{}", g.cycles, plural(g.cycles)));
    }
    if g.interior_only > 0 {
        meta.push(format!("{} block{} only pointed at in the middle (possibly leaked)", g.interior_only, plural(g.interior_only)));
    }
    if let Some(b) = g.blocks_per_iteration.filter(|_| g.growing) {
        meta.push(format!("{} blocks/iteration", per_iteration(b)));
    }
    if !meta.is_empty() {
        let _ = writeln!(h, "<div class=\"meta\">{}</div>", meta.join(" · "));
    }
    let _ = writeln!(h, "<p class=\"hint\">{}</p>", esc(&g.hint));
    // The stack.
    let _ = write!(h, "<details class=\"stack\"><summary>allocation stack ({} frame{}, innermost first)</summary>\n<ol class=\"stack\">\n", g.stack.len(), plural(g.stack.len() as u64));
    for f in &g.stack {
        let is_site = g.site.as_ref() == Some(f);
        let _ = writeln!(h, "<li{}>{}</li>", if is_site { " class=\"site-frame\"" } else { "" }, frame_html(f));
    }
    h.push_str("</ol></details>\n");
    if let Some(i) = first {
        retainers(h, snap, a, g, i);
    }
    h.push_str("</div>\n");
}

fn retainers(h: &mut String, snap: &Snapshot, a: &Analysis, g: &Group, i: usize) {
    let class = a.classes[i];
    match class.kind {
        Kind::Reachable | Kind::Host | Kind::Indirect => {
            let path = a.retainer_path(i);
            if path.is_empty() {
                return;
            }
            let what = if class.kind == Kind::Indirect { "owned through" } else { "retainer path" };
            let _ = write!(
                h,
                "<details class=\"retainers\" open><summary>{what} of the first block ({}{})</summary>\n<ol class=\"path\">\n",
                hex(a.blocks[i].addr),
                if g.blocks > 1 { format!(", one of {}", count(g.blocks)) } else { String::new() }
            );
            for step in &path {
                let holder = match step.holder {
                    Holder::Root { index, addr } => format!("<b>root</b> {}", esc(&snap.root_word_name(index, addr))),
                    Holder::Block { index, offset } => format!("{} at +{offset}", describe(snap, a, index)),
                };
                let into = step.value - a.blocks[step.target].addr;
                let interior = if into > 0 { format!(" (+{into} into it)") } else { String::new() };
                let _ = writeln!(h, "<li>{holder} <span class=\"arrow\">→</span> {}{interior}</li>", hex(step.value));
            }
            let _ = writeln!(h, "<li>{}</li>", describe(snap, a, i));
            h.push_str("</ol>");
            if class.kind == Kind::Indirect && class.on_cycle {
                h.push_str("<p class=\"note\">The chain starts at a leaked block, and this one is also on a cycle of leaked blocks: if they are reference-counted, fixing that owner leaves the cycle leaked.</p>");
            } else if class.kind == Kind::Indirect {
                h.push_str("<p class=\"note\">The chain starts at a leaked block: fixing that owner frees this one.</p>");
            }
            h.push_str("</details>\n");
        }
        Kind::Cycle => {
            let members: Vec<usize> = (0..a.blocks.len()).filter(|&j| a.classes[j].cycle == class.cycle).collect();
            let _ = write!(
                h,
                "<details class=\"cycle\" open><summary>cycle of the first block ({}): {} block{} that only point at each other</summary>\n<ol class=\"path\">\n",
                hex(a.blocks[i].addr),
                members.len(),
                plural(members.len() as u64)
            );
            for &j in members.iter().take(MAX_CYCLE_MEMBERS) {
                let mut targets: Vec<String> = a
                    .edges_from(j)
                    .iter()
                    .filter(|&&t| a.classes[t as usize].cycle == class.cycle)
                    .map(|&t| hex(a.blocks[t as usize].addr))
                    .collect();
                targets.dedup();
                let _ = writeln!(h, "<li>{} <span class=\"arrow\">→</span> {}</li>", describe(snap, a, j), targets.join(", "));
            }
            h.push_str("</ol>");
            if members.len() > MAX_CYCLE_MEMBERS {
                let _ = write!(h, "<p class=\"note\">… {} more</p>", members.len() - MAX_CYCLE_MEMBERS);
            }
            h.push_str("</details>\n");
        }
        Kind::Lost => {
            h.push_str("<p class=\"note\">Nothing points to these blocks: no root, no other block (the last pointer was dropped).</p>\n");
        }
    }
}

fn describe(snap: &Snapshot, a: &Analysis, i: usize) -> String {
    let b = &a.blocks[i];
    let stack: Vec<SnapFrame> = snap.stack(b.stack.0).cloned().collect();
    let ty = type_of(&stack).map(|t| format!("<code>{}</code> ", esc(&t))).unwrap_or_default();
    format!(
        "block {} ({} B, {}) {ty}<span class=\"loc\">{}</span>",
        hex(b.addr),
        b.size,
        a.classes[i].kind.as_str(),
        esc(&site_name(&stack))
    )
}

fn invalid_frees(h: &mut String, r: &Report) {
    if r.invalid_frees.is_empty() {
        return;
    }
    let _ = writeln!(h, "<section id=\"invalid-frees\">\n<h2>Invalid and double frees<span class=\"sub\">{}</span></h2>", r.invalid_frees.len());
    for f in &r.invalid_frees {
        let _ = write!(
            h,
            "<div class=\"group k-lost\"><div class=\"head\"><span class=\"kind kind-lost\">{} free</span><span class=\"size mono\">{}</span></div>\n<p class=\"hint\">{}</p>\n",
            f.kind,
            hex(f.address),
            esc(&f.hint)
        );
        for (name, stack) in [("freed at", &f.stack), ("first freed at", &f.first_free_stack), ("allocated at", &f.alloc_stack)] {
            if stack.is_empty() {
                continue;
            }
            let _ = write!(h, "<details open><summary>{name}</summary><ol class=\"stack\">");
            for fr in stack {
                let _ = write!(h, "<li>{}</li>", frame_html(fr));
            }
            h.push_str("</ol></details>\n");
        }
        h.push_str("</div>\n");
    }
    h.push_str("</section>\n");
}

fn flame(h: &mut String, snap: &Snapshot, a: &Analysis) {
    let lines = flamegraph::collapsed_lines(snap, a);
    let mut svg = Vec::new();
    if flamegraph::svg_from_lines(&lines, flamegraph::TITLE, &mut svg).is_err() {
        return;
    }
    h.push_str(concat!(
        "<section id=\"flamegraph\">\n<h2>Flamegraph<span class=\"sub\">live bytes by allocation stack; leaked and reachable bytes in separate towers; ",
        "click a frame to zoom, Ctrl-F to search</span></h2>\n",
    ));
    flame_frame(h, &svg, "flamegraph of live bytes");
    h.push_str("<p class=\"note\">The same picture as a file: <code>wasmleak export SNAPSHOT --format flamegraph -o heap.svg</code>.</p>\n</section>\n");
}

/// An inferno SVG in a sandboxed frame, drawn at its fixed width once the frame has a size.
fn flame_frame(h: &mut String, svg: &[u8], title: &str) {
    let svg = String::from_utf8_lossy(svg)
        .replacen(INFERNO_ONLOAD, DEFERRED_ONLOAD, 1)
        .replacen(INFERNO_FLUID, "var fluiddrawing = false;", 1);
    let _ = writeln!(
        h,
        "<iframe class=\"flame\" title=\"{}\" height=\"{}\" sandbox=\"allow-scripts\" src=\"data:image/svg+xml;base64,{}\"></iframe>",
        esc(title),
        svg_height(&svg).unwrap_or(400) + 4,
        base64(svg.as_bytes())
    );
}

/// Every site that allocated over the run: totals, temporary allocations, share of the peak; and the
/// flamegraph of bytes allocated.
fn profile(h: &mut String, snap: &Snapshot, p: &Profile) {
    let _ = write!(
        h,
        "<section id=\"profile\">\n<h2>Allocation profile<span class=\"sub\">every allocation of the run up to snapshot #{}, freed or not, by allocation site</span></h2>\n",
        snap.index
    );
    let _ = writeln!(
        h,
        concat!(
            "<p id=\"profile-totals\">allocated <b data-v=\"{}\">{}</b> in {} block{}; ",
            "<span title=\"freed before any other allocation\">{} temporary</span>; ",
            "peak heap <b data-v=\"{}\">{}</b> in {} block{} (at allocator event {})</p>"
        ),
        p.allocated_bytes,
        bytes(p.allocated_bytes),
        count(p.allocated_blocks),
        plural(p.allocated_blocks),
        count(p.temporary_blocks),
        p.peak_bytes,
        bytes(p.peak_bytes),
        count(p.peak_blocks),
        plural(p.peak_blocks),
        count(p.peak_event),
    );
    h.push_str(concat!(
        "<div class=\"toolbar\"><input id=\"prof-filter\" type=\"search\" placeholder=\"filter: function, file or type\" ",
        "aria-label=\"filter the sites\" autocomplete=\"off\"><span id=\"prof-count\" class=\"note\"></span></div>\n",
        "<table id=\"prof\">\n<thead><tr>",
        "<th data-sort=\"text\" data-col=\"site\">site</th>",
        "<th class=\"num\" data-sort=\"num\" data-col=\"allocated-bytes\" aria-sort=\"descending\">allocated</th>",
        "<th class=\"num\" data-sort=\"num\" data-col=\"allocated-blocks\">blocks</th>",
        "<th class=\"num\" data-sort=\"num\" data-col=\"temporary\" title=\"blocks freed before any other allocation\">temporary</th>",
        "<th class=\"num\" data-sort=\"num\" data-col=\"peak\" title=\"the site's live bytes (blocks) when the whole heap was at its peak\">at peak</th>",
        "</tr></thead>\n<tbody>\n"
    ));
    for site in p.sites.iter().take(MAX_ROWS) {
        let mut text = site.ty.clone().unwrap_or_default().to_lowercase();
        for f in &site.stack {
            text.push('\n');
            text.push_str(&f.function.to_lowercase());
            if let Some(file) = &f.file {
                text.push(' ');
                text.push_str(&file.to_lowercase());
            }
        }
        let stack: Vec<String> = site.stack.iter().map(frame_text).collect();
        let name = match (&site.site, &site.ty) {
            (Some(f), Some(t)) => format!("{t} at {}", frame_text(f)),
            (Some(f), None) => frame_text(f),
            (None, _) => "(no stack captured)".to_string(),
        };
        let _ = writeln!(
            h,
            concat!(
                "<tr data-text=\"{}\"><td class=\"site\" title=\"{}\">{}</td>",
                "<td class=\"num\" data-v=\"{}\">{}</td><td class=\"num\" data-v=\"{}\">{}</td>",
                "<td class=\"num\" data-v=\"{}\">{}</td><td class=\"num\" data-v=\"{}\">{} ({})</td></tr>"
            ),
            esc(&text),
            esc(&stack.join("\n")),
            esc(&name),
            site.allocated_bytes,
            bytes(site.allocated_bytes),
            site.allocated_blocks,
            count(site.allocated_blocks),
            site.temporary_blocks,
            count(site.temporary_blocks),
            site.peak_bytes,
            bytes(site.peak_bytes),
            count(site.peak_blocks),
        );
    }
    h.push_str("</tbody>\n</table>\n");
    if p.sites.len() > MAX_ROWS {
        let _ = writeln!(h, "<p class=\"note\">{} more sites that allocated less are not listed (of {}).</p>", p.sites.len() - MAX_ROWS, p.sites.len());
    }
    let lines = flamegraph::profile_lines(snap, flamegraph::Measure::Allocated);
    let mut svg = Vec::new();
    let m = flamegraph::Measure::Allocated;
    if !lines.is_empty() && flamegraph::svg_with_unit(&lines, m.title(), m.unit(), "nothing allocated", &mut svg).is_ok() {
        flame_frame(h, &svg, "flamegraph of bytes allocated");
    }
    h.push_str("<p class=\"note\">The same in a terminal: <code>wasmleak check --profile</code>; as files: <code>wasmleak export SNAPSHOT --format flamegraph --measure allocated|peak|temporary</code>, and <code>--format pprof</code> (<code>alloc_space</code>, <code>alloc_objects</code>).</p>\n</section>\n");
}

/// Fluid drawing re-lays the frames out on every resize of the frame's window, and a momentary 0-pixel
/// window (a full-page screenshot resizes it) leaves it blank: keep inferno's fixed 1200-pixel drawing.
const INFERNO_FLUID: &str = "var fluiddrawing = true;";
/// inferno's flamegraph sets itself up on load, fitting its width to the window's.
const INFERNO_ONLOAD: &str = r#"onload="init(evt)""#;
/// In a frame, the window can still be 0 pixels wide at load (the page is not laid out yet), which would
/// make inferno set a negative width: wait for the first real size (no `resize` event comes when a frame
/// first gets its size).
const DEFERRED_ONLOAD: &str =
    r#"onload="(function go(e) { if (innerWidth &gt; 0) init(e); else setTimeout(go, 50, e); })(evt)""#;

/// The `height="N"` of the outer `<svg>` element.
fn svg_height(svg: &str) -> Option<u64> {
    let start = svg.find("<svg")?;
    let tag = &svg[start..start + svg[start..].find('>')?];
    let at = tag.find(" height=\"")? + " height=\"".len();
    let end = tag[at..].find('"')?;
    tag[at..at + end].parse().ok()
}

// ---- formatting ----

fn report_frames(snap: &Snapshot, stack: u32) -> Vec<Frame> {
    snap.stack(stack)
        .map(|f| Frame { function: f.function.clone(), file: f.file.clone(), line: f.line, column: f.column, inlined: f.inlined })
        .collect()
}

fn location(f: &Frame) -> Option<String> {
    let file = f.file.as_ref()?;
    Some(match (f.line, f.column) {
        (Some(l), Some(c)) => format!("{file}:{l}:{c}"),
        (Some(l), None) => format!("{file}:{l}"),
        _ => file.clone(),
    })
}

fn frame_text(f: &Frame) -> String {
    match location(f) {
        Some(loc) => format!("{} ({loc})", f.function),
        None => f.function.clone(),
    }
}

fn frame_html(f: &Frame) -> String {
    let mut s = esc(&f.function);
    if let Some(loc) = location(f) {
        s.push_str(&format!(" <span class=\"loc\">{}</span>", esc(&loc)));
    }
    if f.inlined {
        s.push_str(" <span class=\"inl\">(inlined)</span>");
    }
    s
}

/// Escape text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn hex(v: u64) -> String {
    format!("{v:#x}")
}

/// `1234567` → `1,234,567`.
fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn signed(n: i64) -> String {
    match n {
        n if n > 0 => format!("+{}", count(n as u64)),
        0 => "0".into(),
        n => format!("−{}", count(n.unsigned_abs())),
    }
}

/// `9600` → `9,600 B`; from 10 KiB on with the rounded size: `12,800 B (12.5 KiB)`.
fn bytes(n: u64) -> String {
    if n < 10 * 1024 {
        format!("{} B", count(n))
    } else {
        format!("{} B ({})", count(n), bytes_short(n))
    }
}

fn bytes_short(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if v.fract() == 0.0 {
        format!("{v:.0} {}", UNITS[u])
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// A rate: whole numbers without decimals, others with one or two.
fn per_iteration(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// The top of a byte axis: a round number of B, KiB, MiB… (1, 2, 2.5 or 5 × 10^k of the unit) at or above
/// `max`, so the quarter ticks have round labels.
fn axis_max(max: u64) -> u64 {
    let mut unit = 1u64;
    while max / unit >= 1024 && unit < 1 << 40 {
        unit <<= 10;
    }
    let in_units = max.div_ceil(unit).max(1);
    nice_ceiling(in_units).saturating_mul(unit)
}

/// The smallest 1, 2 or 5 × 10^k at or above `v`, so the axis has round labels.
fn nice_ceiling(v: u64) -> u64 {
    let mut p = 1u64;
    loop {
        for m in [1, 2, 5] {
            if let Some(c) = p.checked_mul(m).filter(|&c| c >= v) {
                return c;
            }
        }
        match p.checked_mul(10) {
            Some(q) => p = q,
            None => return v,
        }
    }
}

fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        out.push(A[(n >> 18) as usize & 63] as char);
        out.push(A[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 { A[(n >> 6) as usize & 63] as char } else { '=' });
        out.push(if chunk.len() > 2 { A[n as usize & 63] as char } else { '=' });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(signed(-9600), "−9,600");
        assert_eq!(bytes(9600), "9,600 B");
        assert_eq!(bytes(12800), "12,800 B (12.5 KiB)");
        assert_eq!(per_iteration(64.0), "64");
        assert_eq!(per_iteration(2.5), "2.50");
        assert_eq!(nice_ceiling(15872), 20000);
        assert_eq!(axis_max(15872), 20 * 1024);
        assert_eq!(axis_max(0), 1);
        assert_eq!(axis_max(900), 1000);
        assert_eq!(axis_max(3 << 20), 5 << 20);
        assert_eq!(nice_ceiling(1), 1);
        assert_eq!(base64(b"Man"), "TWFu");
        assert_eq!(base64(b"Ma"), "TWE=");
        assert_eq!(base64(b"M"), "TQ==");
        assert_eq!(esc("<a & 'b'>\""), "&lt;a &amp; &#39;b&#39;&gt;&quot;");
        let mut svg = Vec::new();
        flamegraph::svg_from_lines(&["all;main 10".to_string()], "t", &mut svg).unwrap();
        let svg = String::from_utf8(svg).unwrap();
        assert_eq!(svg.matches(INFERNO_ONLOAD).count(), 1, "inferno's onload changed");
        assert_eq!(svg.matches(INFERNO_FLUID).count(), 1, "inferno's fluid drawing switch changed");
        assert_eq!(svg_height("<?xml?><svg version=\"1.1\" width=\"1200\" height=\"214\" onload=\"x\">"), Some(214));
    }
}
