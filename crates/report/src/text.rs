use std::fmt::Write;

use crate::build::{Frame, Group, Report};
use crate::profile::Profile;

#[derive(Clone, Debug)]
pub struct TextOptions {
    /// Frames shown per stack.
    pub max_frames: usize,
    /// Also list `reachable` groups in full (otherwise the largest few, briefly).
    pub show_reachable: bool,
    /// Sites of the allocation profile listed (the largest by bytes allocated); 0: its one-line total only.
    pub profile_sites: usize,
}

impl Default for TextOptions {
    fn default() -> Self {
        TextOptions { max_frames: 8, show_reachable: false, profile_sites: 0 }
    }
}

pub fn bytes(n: u64) -> String {
    if n < 1024 {
        format!("{n} B")
    } else if n < 1024 * 1024 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{:.1} MiB", n as f64 / (1024.0 * 1024.0))
    }
}

/// `24.0 KiB (24,608 B)`: rounded, and exact when rounding hid something (the summary lines, which a user
/// compares between runs).
pub fn bytes_exact(n: u64) -> String {
    if n < 1024 {
        return format!("{n} B");
    }
    format!("{} ({} B)", bytes(n), grouped(n))
}

/// 1234567 → `1,234,567`.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn location(f: &Frame) -> String {
    match (&f.file, f.line) {
        (Some(file), Some(line)) => format!("{} ({}:{line})", f.function, short_path(file)),
        (Some(file), None) => format!("{} ({})", f.function, short_path(file)),
        _ => f.function.clone(),
    }
}

/// Paths as a reader wants them: the part after the project or library root.
fn short_path(p: &str) -> &str {
    for marker in ["/library/", "/src/"] {
        if let Some(i) = p.rfind(marker) {
            if marker == "/library/" {
                return &p[i + 1..];
            }
        }
    }
    p
}

/// The stack from the library call that allocated (the frame just inside the site) outwards; the
/// library's own inner frames are in the JSON report.
fn write_site_stack(out: &mut String, g: &Group, opts: &TextOptions) {
    write_site_stack_of(out, &g.stack, g.site.as_ref(), opts)
}

fn write_site_stack_of(out: &mut String, stack: &[Frame], site: Option<&Frame>, opts: &TextOptions) {
    let site = site.and_then(|s| stack.iter().position(|f| f == s)).unwrap_or(0);
    let from = site.saturating_sub(1);
    if from > 0 {
        // In a stripped module the frames inside the (named) site may be the program's own, unnamed.
        let library = stack[..from].iter().all(|f| crate::hint::is_library_frame(&f.function, f.file.as_deref()));
        let what = if library { ("library frame", "library frames") } else { ("frame", "frames") };
        let _ = writeln!(out, "      ({} inside)", plural(from as u64, what.0, what.1));
    }
    write_stack_from(out, stack, from, opts);
}

fn write_stack(out: &mut String, stack: &[Frame], opts: &TextOptions) {
    write_stack_from(out, stack, 0, opts)
}

fn write_stack_from(out: &mut String, stack: &[Frame], from: usize, opts: &TextOptions) {
    // The language runtime's frames every stack ends with (`lang_start`, `_start`) are folded into one line.
    let runtime = stack.iter().rev().take_while(|f| crate::hint::is_runtime_frame(f)).count().min(stack.len().saturating_sub(from + 1));
    let end = stack.len() - runtime;
    for (i, f) in stack.iter().enumerate().take(end).skip(from).take(opts.max_frames) {
        let inl = if f.inlined { " (inlined)" } else { "" };
        let _ = writeln!(out, "      #{i} {}{inl}", location(f));
    }
    if end > from + opts.max_frames {
        let _ = writeln!(out, "      ... {} more frames", end - from - opts.max_frames);
    }
    if runtime > 0 {
        let (inner, outer) = (&stack[end].function, &stack[stack.len() - 1].function);
        let names = if runtime == 1 { short_name(inner).to_string() } else { format!("{} … {}", short_name(inner), short_name(outer)) };
        let _ = writeln!(out, "      ({} of the language runtime: {names})", plural(runtime as u64, "frame", "frames"));
    }
    if stack.is_empty() {
        let _ = writeln!(out, "      (no stack captured)");
    }
}

/// A runtime frame's name without its generic arguments: `core::ops::function::FnOnce::call_once`.
fn short_name(name: &str) -> &str {
    match name.find('<') {
        Some(i) if i > 0 => &name[..i],
        _ => name,
    }
}

fn write_profile(out: &mut String, p: &Profile, opts: &TextOptions) {
    if p.allocated_blocks == 0 {
        return;
    }
    let temporary = if p.temporary_blocks > 0 {
        format!(" ({} temporary: freed before any other allocation)", p.temporary_blocks)
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "allocated: {} in {} over the run{temporary}; peak heap {} in {}",
        bytes_exact(p.allocated_bytes),
        plural(p.allocated_blocks, "block", "blocks"),
        bytes_exact(p.peak_bytes),
        plural(p.peak_blocks, "block", "blocks"),
    );
    if opts.profile_sites == 0 {
        return;
    }
    let _ = writeln!(out, "allocation sites, most bytes allocated first:");
    for site in p.sites.iter().take(opts.profile_sites) {
        let mut line = format!("  {} in {}", bytes(site.allocated_bytes), plural(site.allocated_blocks, "block", "blocks"));
        if site.temporary_blocks > 0 {
            let _ = write!(line, ", {} temporary", site.temporary_blocks);
        }
        if site.peak_bytes > 0 {
            let _ = write!(line, ", {} at the peak", bytes(site.peak_bytes));
        }
        let what = site.ty.as_deref().map(|t| format!(" {t}")).unwrap_or_default();
        match &site.site {
            Some(f) => {
                let _ = write!(line, " —{what} at {}", location(f));
            }
            None => line.push_str(" — (no stack captured)"),
        }
        let _ = writeln!(out, "{line}");
    }
    if p.sites.len() > opts.profile_sites {
        let _ = writeln!(out, "  ... {} more sites (the JSON report lists them all)", p.sites.len() - opts.profile_sites);
    }
}

fn headline(g: &Group) -> String {
    let mut s = format!("{}: {}, {}", g.kind, plural(g.blocks, "block", "blocks"), bytes(g.bytes));
    if g.cycles > 0 {
        let new = g.cycles - g.cycles_listed_before.min(g.cycles);
        if new == 0 {
            let _ = write!(s, " in the {} above", plural(g.cycles, "cycle", "cycles"));
        } else if new < g.cycles {
            let _ = write!(s, " in {} ({} more than above)", plural(g.cycles, "cycle", "cycles"), new);
        } else {
            let _ = write!(s, " in {}", plural(g.cycles, "cycle", "cycles"));
        }
    }
    // A rate under a tenth of a block gets its own digits: "(0.0 blocks)" read as none (a block every ~37
    // iterations).
    let blocks = |n: f64| if n.abs() >= 0.1 || n == 0.0 { format!(" ({n:.1} blocks)") } else { format!(" ({n:.3} blocks)") };
    if let (true, Some(b)) = (g.growing, g.bytes_per_iteration) {
        let _ = write!(s, ", GROWING by {}/iteration", bytes(b.round() as u64));
        if let Some(n) = g.blocks_per_iteration {
            s.push_str(&blocks(n));
        }
    } else if let (true, Some(b)) = (g.growing, g.bytes_per_1000_events) {
        // A slow rate in a run of millions of events read "GROWING by 0 B per 1,000 (0.000 blocks)": per million
        // then (either number would print as zero).
        let n = g.blocks_per_1000_events.unwrap_or(0.0);
        let slow = b.abs() < 0.5 || (n != 0.0 && n.abs() < 0.0005);
        let (scale, per) = if slow { (1000.0, "1,000,000") } else { (1.0, "1,000") };
        let _ = write!(s, ", GROWING by {} per {per} allocator events", bytes((b * scale).max(0.0).round() as u64));
        if let Some(n) = g.blocks_per_1000_events {
            s.push_str(&blocks(n * scale));
        }
        if let Some(b) = g.bytes_per_second {
            let _ = write!(s, ", {}/s", bytes(b.max(0.0).round() as u64));
        }
    } else if let (true, Some(b)) = (g.growing, g.bytes_per_second) {
        let _ = write!(s, ", GROWING by {}/s", bytes(b.max(0.0).round() as u64));
    }
    if let Some(site) = &g.site {
        let what = g.ty.as_deref().map(|t| format!(" {t}")).unwrap_or_default();
        let _ = write!(s, " —{what} allocated at {}", location(site));
        // The library call that did the allocating, if the site is not the innermost frame.
        if let Some(via) = g.stack.first().filter(|f| *f != site) {
            let _ = write!(s, " via {}", via.function);
        }
    }
    if g.interior_only > 0 {
        let _ = write!(s, " [{} only reached through interior pointers]", g.interior_only);
    }
    s
}

/// Host groups printed in full per object JS holds; the rest of that object's are added up in one line.
const HOST_GROUPS_PER_OBJECT: usize = 3;

/// Leak groups that would print alike — the same kind, type, site, fix and shown frames, their stacks parting
/// only past the frames shown (a rayon job's leak, one group per depth of its recursive splitting) — as one, with
/// their blocks and bytes added up and how many stacks they are. Growing groups, cycles and groups with a freed
/// owner or a root print as they are (their rates and counts are their own).
fn alike<'a>(groups: impl Iterator<Item = &'a Group>, opts: &TextOptions) -> Vec<(std::borrow::Cow<'a, Group>, usize)> {
    let foldable = |g: &Group| !g.growing && g.cycles == 0 && g.freed_owner.is_none() && g.root.is_none() && g.interior_only == 0;
    // The text a group prints but for its counts and how many frames it leaves out.
    let look = |g: &Group| {
        let mut stack = String::new();
        write_site_stack(&mut stack, g, opts);
        let stack: Vec<&str> = stack.lines().filter(|l| !l.trim_start().starts_with("... ")).collect();
        (g.kind, g.ty.clone(), g.site.clone(), g.hint.clone(), stack.join("\n"))
    };
    let mut out: Vec<(std::borrow::Cow<'a, Group>, usize)> = Vec::new();
    let mut looks = Vec::new();
    for g in groups {
        if foldable(g) {
            let l = look(g);
            if let Some(&(_, i)) = looks.iter().find(|(other, _)| *other == l) {
                let (first, stacks): &mut (std::borrow::Cow<'a, Group>, usize) = &mut out[i];
                let merged = first.to_mut();
                merged.blocks += g.blocks;
                merged.bytes += g.bytes;
                *stacks += 1;
                continue;
            }
            looks.push((l, out.len()));
        }
        out.push((std::borrow::Cow::Borrowed(g), 1));
    }
    out
}

pub fn to_text(r: &Report, opts: &TextOptions) -> String {
    let mut out = String::new();
    let s = &r.summary;
    let _ = writeln!(out, "wasmleak: {} {}", r.module, r.exit.message);
    for n in &r.notes {
        let _ = writeln!(out, "note: {n}");
    }
    // A reachable group that grows is a finding too: show it with the leaks.
    let leaks = alike(r.groups.iter().filter(|g| g.kind != "reachable" || g.growing), opts);
    let reachable: Vec<&Group> = r.groups.iter().filter(|g| g.kind == "reachable" && !g.growing).collect();
    // One object JS never freed can hold blocks from a hundred sites (an automerge document: 97 groups, 1,335
    // lines): past the first few of an object, its groups are added up in one line.
    let mut per_object: Vec<(&str, usize, u64, u64)> = Vec::new();
    let mut object_at: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (g, stacks) in &leaks {
        let g = g.as_ref();
        // (The object is the value JS holds; how deep the block hangs below it is not.)
        let object = g.root.as_deref().map(|r| r.split_once(", through ").map_or(r, |(o, _)| o));
        if let Some(root) = object.filter(|_| g.kind == "host") {
            match object_at.get(root).map(|&i| &mut per_object[i]) {
                Some((_, n, blocks, bytes)) if *n >= HOST_GROUPS_PER_OBJECT => {
                    *n += 1;
                    *blocks += g.blocks;
                    *bytes += g.bytes;
                    continue;
                }
                Some((_, n, ..)) => *n += 1,
                None => {
                    object_at.insert(root, per_object.len());
                    per_object.push((root, 1, 0, 0));
                }
            }
        }
        let _ = writeln!(out, "\n{}", headline(g));
        if *stacks > 1 {
            let _ = writeln!(
                out,
                "      ({stacks} allocation stacks, alike in the frames below and parting deeper down: the JSON report \
                 lists each)"
            );
        }
        write_site_stack(&mut out, g, opts);
        // What keeps a host-held or growing group alive (the export that returned it, the static it hangs from).
        if let Some(root) = g.root.as_ref().filter(|r| (g.kind == "host" || g.growing) && !g.hint.contains(r.as_str())) {
            let _ = writeln!(out, "    held by: {root}");
        }
        if let Some(owner) = g.root.as_ref().filter(|_| g.kind == "indirect") {
            let _ = writeln!(out, "    owned by: {owner}");
        }
        if let Some(o) = &g.freed_owner {
            let what = o.ty.as_deref().map(|t| format!("a {t}")).unwrap_or_else(|| "a block".into());
            let whose = match (g.blocks, o.blocks) {
                (1, _) => "its address".to_string(),
                (2, 2) => "both addresses".to_string(),
                (n, k) if n == k => format!("the addresses of all {n}"),
                (n, k) => format!("the addresses of {k} of the {n}"),
            };
            let _ = writeln!(out, "    owner freed first: {what} held {whose} (at byte {}) and was freed without freeing them", o.offset);
            let _ = writeln!(out, "    owner allocated at:");
            write_site_stack_of(&mut out, &o.alloc_stack, o.site.as_ref(), opts);
            let _ = writeln!(out, "    owner freed at:");
            write_site_stack_of(&mut out, &o.free_stack, crate::build::site(&o.free_stack).as_ref(), opts);
        }
        let _ = writeln!(out, "    fix: {}", g.hint);
    }
    for (root, n, blocks, bytes) in per_object.iter().filter(|o| o.1 > HOST_GROUPS_PER_OBJECT) {
        let more = n - HOST_GROUPS_PER_OBJECT;
        let _ = writeln!(
            out,
            "\nhost: {more} more group{} of the same object ({root}): {blocks} block{}, {} (the JSON report lists each)",
            if more == 1 { "" } else { "s" },
            if *blocks == 1 { "" } else { "s" },
            bytes_exact(*bytes)
        );
    }
    // Frees alike (kind, stacks, fix) print once, with their addresses: a loop that frees garbage is one finding.
    let mut alike: Vec<(&crate::InvalidFree, Vec<u64>)> = Vec::new();
    for f in &r.invalid_frees {
        let same = |g: &crate::InvalidFree| {
            (g.kind, &g.stack, &g.first_free_stack, &g.alloc_stack, &g.hint) == (f.kind, &f.stack, &f.first_free_stack, &f.alloc_stack, &f.hint)
        };
        match alike.iter_mut().find(|(g, _)| same(g)) {
            Some((_, addrs)) => addrs.push(f.address),
            None => alike.push((f, vec![f.address])),
        }
    }
    for (f, addrs) in alike {
        if addrs.len() == 1 {
            let _ = writeln!(out, "\n{} free of address {:#x}", f.kind, f.address);
        } else {
            let shown: Vec<String> = addrs.iter().take(3).map(|a| format!("{a:#x}")).collect();
            let more = if addrs.len() > 3 { ", …" } else { "" };
            let _ = writeln!(out, "\n{} free of {} addresses at the same stack ({}{more})", f.kind, addrs.len(), shown.join(", "));
        }
        let _ = writeln!(out, "    freed at:");
        write_stack(&mut out, &f.stack, opts);
        if !f.first_free_stack.is_empty() {
            let _ = writeln!(out, "    first freed at:");
            write_stack(&mut out, &f.first_free_stack, opts);
        }
        if !f.alloc_stack.is_empty() {
            match &f.interior_of {
                Some(i) => {
                    let _ = writeln!(out, "    {} bytes into a {}-byte block allocated at:", i.offset, i.block_size);
                }
                None => {
                    let _ = writeln!(out, "    allocated at:");
                }
            }
            write_stack(&mut out, &f.alloc_stack, opts);
        }
        let _ = writeln!(out, "    fix: {}", f.hint);
    }
    if !reachable.is_empty() {
        let shown = if opts.show_reachable { reachable.len() } else { reachable.len().min(3) };
        let _ = writeln!(out, "\nstill reachable at exit (not leaks unless they grow with work done):");
        for g in reachable.iter().take(shown) {
            let _ = writeln!(out, "  {}", headline(g));
            if let Some(root) = &g.root {
                let _ = writeln!(out, "      held by {root}");
            }
            if opts.show_reachable {
                write_site_stack(&mut out, g, opts);
            }
        }
        if shown < reachable.len() {
            let _ = writeln!(out, "  ... {} more groups (--show-reachable lists them)", reachable.len() - shown);
        }
    }
    let _ = writeln!(out);
    let mut parts = Vec::new();
    for (name, b, n) in [
        ("lost", s.lost_blocks, s.lost_bytes),
        ("indirect", s.indirect_blocks, s.indirect_bytes),
        ("cycle", s.cycle_blocks, s.cycle_bytes),
        ("host", s.host_blocks, s.host_bytes),
    ] {
        if b > 0 {
            let mut part = format!("{name} {} / {}", b, bytes_exact(n));
            if name == "cycle" && s.cycles > 0 {
                let _ = write!(part, " in {}", plural(s.cycles, "cycle", "cycles"));
            }
            if name == "host" && s.host_objects > 0 {
                let _ = write!(part, " held by {} the host never freed", plural(s.host_objects, "object", "objects"));
            }
            parts.push(part);
        }
    }
    if s.runtime_blocks > 0 {
        let _ = writeln!(
            out,
            "not counted: {} ({}) the language runtime allocated for itself and never frees (argv, an async task queue, a thread's bookkeeping)",
            plural(s.runtime_blocks, "block", "blocks"),
            bytes(s.runtime_bytes)
        );
    }
    if let Some(p) = &r.profile {
        write_profile(&mut out, p, opts);
    }
    if s.suppressed_blocks > 0 {
        let _ = writeln!(
            out,
            "suppressed: {} ({}) matched the suppressions",
            plural(s.suppressed_blocks, "leaked block", "leaked blocks"),
            bytes(s.suppressed_bytes)
        );
    }
    // Findings by key (groups that differ only in a line share one).
    let findings: std::collections::HashSet<&str> = r
        .groups
        .iter()
        .filter(|g| g.kind != "reachable" || g.growing)
        .map(|g| g.key.as_str())
        .chain(r.invalid_frees.iter().map(|f| f.key.as_str()))
        .collect();
    let findings = findings.len();
    if findings > 0 && r.decided_by.len() < findings {
        let _ = writeln!(
            out,
            "fails the run: {} of {} findings (the others are in the baseline or not in --fail-on)",
            r.decided_by.len(),
            findings
        );
    }
    let detail = if parts.is_empty() { String::new() } else { format!(" ({})", parts.join(", ")) };
    let held = if s.thread_held_blocks == 0 {
        String::new()
    } else {
        format!(" ({} held by threads or calls still running)", plural(s.thread_held_blocks, "block", "blocks"))
    };
    let _ = writeln!(
        out,
        "SUMMARY: leaked {} in {}{detail}; reachable {} in {}{held}; {}; {}, {}",
        bytes_exact(s.leaked_bytes),
        plural(s.leaked_blocks, "block", "blocks"),
        bytes_exact(s.reachable_bytes),
        plural(s.reachable_blocks, "block", "blocks"),
        plural(s.invalid_frees, "invalid free", "invalid frees"),
        plural(s.allocations, "allocation", "allocations"),
        plural(s.frees, "free", "frees")
    );
    if let Some(why) = &r.inconclusive {
        let _ = writeln!(out, "INCONCLUSIVE: {why}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A growth rate under half a byte per 1,000 events is given per million (it read "GROWING by 0 B per 1,000
    /// allocator events (0.000 blocks)" on a run of 4 million events).
    #[test]
    fn a_slow_growth_rate_is_given_per_million_events() {
        let g = |b: f64, n: f64| Group { kind: "host", growing: true, bytes_per_1000_events: Some(b), blocks_per_1000_events: Some(n), ..Default::default() };
        assert!(headline(&g(0.2, 0.0005)).contains("GROWING by 200 B per 1,000,000 allocator events (0.5 blocks)"), "{}", headline(&g(0.2, 0.0005)));
        assert!(headline(&g(1.0, 0.0002)).contains("GROWING by 1000 B per 1,000,000 allocator events (0.2 blocks)"), "{}", headline(&g(1.0, 0.0002)));
        assert!(headline(&g(62.5, 1.0)).contains("GROWING by 63 B per 1,000 allocator events (1.0 blocks)"), "{}", headline(&g(62.5, 1.0)));
    }

    /// A rayon job's leak makes one group per depth of its recursive splitting; the text prints them once, added up,
    /// when they differ only past the frames shown (the JSON keeps each).
    #[test]
    fn groups_alike_in_the_frames_shown_print_once() {
        let frame = |f: &str| Frame { function: f.into(), file: Some("src/main.rs".into()), line: Some(7), column: None, inlined: false };
        let group = |blocks: u64, deep: &str, kind: &'static str| {
            let mut stack: Vec<Frame> = (0..9).map(|i| frame(&format!("app::f{i}"))).collect();
            stack.push(frame(deep));
            Group { kind, blocks, bytes: 48 * blocks, site: Some(stack[0].clone()), stack, hint: "fix it".into(), ..Default::default() }
        };
        let opts = TextOptions { max_frames: 8, ..Default::default() };
        let groups = [group(63, "app::split_a", "lost"), group(31, "app::split_b", "lost"), group(5, "app::split_b", "indirect")];
        let folded = alike(groups.iter(), &opts);
        let got: Vec<(&str, u64, u64, usize)> = folded.iter().map(|(g, n)| (g.kind, g.blocks, g.bytes, *n)).collect();
        assert_eq!(got, [("lost", 94, 94 * 48, 2), ("indirect", 5, 240, 1)]);
        // Shown frames that differ keep the groups apart.
        let mut other = group(4, "app::split_a", "lost");
        other.stack[3] = frame("app::elsewhere");
        let folded = alike([&groups[0], &other].into_iter(), &opts);
        assert_eq!(folded.len(), 2);
        let all = TextOptions { max_frames: 20, ..Default::default() };
        assert_eq!(alike(groups[..2].iter(), &all).len(), 2, "with every frame shown they differ");
    }

    /// One object JS never freed holding blocks from many sites (an automerge document: 97 groups) prints its first
    /// three groups and one line for the rest, however deep they hang below it; another object's are its own.
    #[test]
    fn an_objects_many_host_groups_print_three_and_a_sum() {
        let group = |site: &str, root: &str, blocks: u64| {
            let f = Frame { function: site.into(), file: None, line: None, column: None, inlined: false };
            Group { kind: "host", blocks, bytes: 10 * blocks, site: Some(f.clone()), stack: vec![f], root: Some(root.into()), hint: "free it".into(), ..Default::default() }
        };
        let snap = wasmleak_heap::Snapshot::default();
        let exit = crate::build::Exit { status: "returned", code: None, message: String::new() };
        let mut r = crate::build(&snap, &snap.analyze(), exit, Vec::new());
        for i in 0..6 {
            let root = if i % 2 == 0 { "returned by load (call 1)" } else { "returned by load (call 1), through 2 other blocks" };
            r.groups.push(group(&format!("site{i}"), root, 2));
        }
        r.groups.push(group("other", "returned by load (call 2)", 1));
        let text = to_text(&r, &TextOptions::default());
        assert_eq!(text.matches("\nhost: ").count(), 5, "{text}");
        assert!(text.contains("host: 3 more groups of the same object (returned by load (call 1)): 6 blocks, 60 B"), "{text}");
        assert!(text.contains("other") && !text.contains("site3") && !text.contains("site5"), "{text}");
    }
}
