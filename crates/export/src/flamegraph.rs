//! Live bytes (or the allocation profile: [`profile_lines`]) by allocation stack as collapsed stacks (Brendan Gregg's folded format, read by
//! `inferno-flamegraph`, `flamegraph.pl`, speedscope) and as an SVG flamegraph (drawn by inferno).
//!
//! One line per (leak kind, allocation stack): `KIND;outermost;…;innermost BYTES`, where the first frame
//! is `leaked:lost`, `leaked:indirect`, `leaked:cycle`, `leaked:host` or `reachable`, so leaked and
//! reachable bytes form separate towers. Frames are function names (inlined frames included, as frames of
//! their own); stacks that end up identical (the same functions called from different lines) are summed
//! into one line. Lines are sorted, as inferno expects. A `;` inside a name (Rust's `[u8; 4]`) would split
//! the frame, so it is written as the full-width `；`.

use std::collections::BTreeMap;
use std::io::{self, Write};

use inferno::flamegraph::{color, Options};
use wasmleak_heap::{Analysis, Kind, Snapshot};

pub const TITLE: &str = "wasmleak: live bytes by allocation stack";

/// The frame the language runtime's one-time allocations start with (counted apart by the report).
pub const RUNTIME_FRAME: &str = "runtime";

/// The frame a kind's stacks start with.
pub fn kind_frame(kind: Kind) -> &'static str {
    match kind {
        Kind::Lost => "leaked:lost",
        Kind::Indirect => "leaked:indirect",
        Kind::Cycle => "leaked:cycle",
        Kind::Host => "leaked:host",
        Kind::Reachable => "reachable",
    }
}

fn push_frame(line: &mut String, name: &str) {
    line.push(';');
    if name.is_empty() {
        line.push_str("[unknown]");
        return;
    }
    for c in name.chars() {
        match c {
            ';' => line.push('；'),
            '\n' | '\r' | '\t' => line.push(' '),
            c => line.push(c),
        }
    }
}

/// The collapsed stacks (without their counts) with their live bytes, sorted by stack, of the blocks whose
/// kind `include` accepts.
pub fn collapsed_stacks(snap: &Snapshot, analysis: &Analysis, include: impl Fn(Kind) -> bool) -> BTreeMap<String, u64> {
    // Per (stack, kind) first, so each distinct stack is spelled out once.
    let runtime = wasmleak_report::runtime_stacks(snap);
    let mut per_site: BTreeMap<(u32, &str), u64> = BTreeMap::new();
    for (b, c) in analysis.blocks.iter().zip(&analysis.classes) {
        if include(c.kind) {
            let frame = if crate::is_runtime(c.kind, b.stack.0, &runtime) { RUNTIME_FRAME } else { kind_frame(c.kind) };
            *per_site.entry((b.stack.0, frame)).or_default() += b.size;
        }
    }
    let mut out: BTreeMap<String, u64> = BTreeMap::new();
    for ((stack, frame), bytes) in per_site {
        let mut line = String::from(frame);
        let frames = snap.stacks.get(stack as usize).map_or(&[][..], Vec::as_slice);
        if frames.is_empty() {
            push_frame(&mut line, crate::pprof::NO_STACK);
        }
        for &f in frames.iter().rev() {
            push_frame(&mut line, &snap.frames[f as usize].function);
        }
        *out.entry(line).or_default() += bytes;
    }
    out
}

/// What an allocation-profile flamegraph measures per stack (see [`profile_lines`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Measure {
    /// Bytes allocated over the run, freed or not.
    Allocated,
    /// Live bytes when the heap was at its peak.
    Peak,
    /// Temporary allocations (freed before any other allocation), counted.
    Temporary,
}

impl Measure {
    fn frame(self) -> &'static str {
        match self {
            Measure::Allocated => "allocated",
            Measure::Peak => "peak",
            Measure::Temporary => "temporary",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Measure::Allocated => "wasmleak: bytes allocated over the run by allocation stack",
            Measure::Peak => "wasmleak: live bytes at the peak heap by allocation stack",
            Measure::Temporary => "wasmleak: temporary allocations by allocation stack",
        }
    }

    pub fn unit(self) -> &'static str {
        if self == Measure::Temporary { "allocations" } else { "bytes" }
    }
}

/// `stack value` lines of the snapshot's allocation profile, sorted: one tower, under the frame `allocated`,
/// `peak` or `temporary`; stacks without a value are left out.
pub fn profile_lines(snap: &Snapshot, measure: Measure) -> Vec<String> {
    let mut out: BTreeMap<String, u64> = BTreeMap::new();
    for site in &snap.profile.sites {
        let value = match measure {
            Measure::Allocated => site.allocated_bytes,
            Measure::Peak => site.peak_bytes,
            Measure::Temporary => site.temporary_blocks,
        };
        if value == 0 {
            continue;
        }
        let mut line = String::from(measure.frame());
        let frames = snap.stacks.get(site.stack as usize).map_or(&[][..], Vec::as_slice);
        if frames.is_empty() {
            push_frame(&mut line, crate::pprof::NO_STACK);
        }
        for &f in frames.iter().rev() {
            push_frame(&mut line, &snap.frames[f as usize].function);
        }
        *out.entry(line).or_default() += value;
    }
    out.into_iter().map(|(s, n)| format!("{s} {n}")).collect()
}

/// `stack bytes` lines of every live block, sorted.
pub fn collapsed_lines(snap: &Snapshot, analysis: &Analysis) -> Vec<String> {
    collapsed_stacks(snap, analysis, |_| true).into_iter().map(|(s, n)| format!("{s} {n}")).collect()
}

/// Write the collapsed stacks of every live block, one `stack bytes` line each.
pub fn write_collapsed(snap: &Snapshot, analysis: &Analysis, out: &mut dyn Write) -> io::Result<()> {
    for line in collapsed_lines(snap, analysis) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// Draw collapsed `stack bytes` lines as an SVG flamegraph with the given title. With no lines, a small
/// SVG that says so (inferno would draw an error message).
pub fn svg_from_lines(lines: &[String], title: &str, out: &mut dyn Write) -> io::Result<()> {
    svg_with_unit(lines, title, "bytes", "no live blocks (0 bytes)", out)
}

/// [`svg_from_lines`] with the values counted in `unit` (`bytes`, `allocations`) and what an empty one says.
pub fn svg_with_unit(lines: &[String], title: &str, unit: &str, empty: &str, out: &mut dyn Write) -> io::Result<()> {
    if lines.is_empty() {
        let title = xml_escape(title);
        return write!(
            out,
            concat!(
                r#"<?xml version="1.0" standalone="no"?>"#,
                "\n",
                r#"<svg version="1.1" width="1200" height="60" viewBox="0 0 1200 60" xmlns="http://www.w3.org/2000/svg">"#,
                r#"<text x="600" y="24" text-anchor="middle" font-family="Verdana" font-size="17">{}</text>"#,
                r#"<text x="600" y="48" text-anchor="middle" font-family="Verdana" font-size="12">{}</text>"#,
                "</svg>\n"
            ),
            title,
            xml_escape(empty)
        );
    }
    let mut opt = Options::default();
    opt.title = title.to_owned();
    opt.count_name = unit.to_owned();
    opt.name_type = "Function:".to_owned();
    opt.colors = color::Palette::Basic(color::BasicPalette::Mem);
    // Colors from the function names: the same picture for the same snapshot.
    opt.hash = true;
    opt.deterministic = true;
    inferno::flamegraph::from_lines(&mut opt, lines.iter().map(String::as_str), out)
}

/// Write an SVG flamegraph of the live bytes by allocation stack (leaked and reachable in separate towers).
pub fn write(snap: &Snapshot, analysis: &Analysis, out: &mut dyn Write) -> io::Result<()> {
    svg_from_lines(&collapsed_lines(snap, analysis), TITLE, out)
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
