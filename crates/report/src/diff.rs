//! The Comparison view: per allocation site, what two snapshots of one run hold, what was allocated in
//! between and is still live (new), and what was freed.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use wasmleak_heap::{SnapFrame, Snapshot};

use crate::build::Frame;
use crate::hint::site_index;
use crate::types::stack_types;

#[derive(Clone, Debug, Serialize)]
pub struct DiffRow {
    /// The site: the first frame of the program's own code, with the library call it went through; for a
    /// row of [`GroupBy::Type`], the type.
    pub site: String,
    /// What the blocks are ([`crate::type_of`]), when the allocation stack says.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub ty: Option<String>,
    /// Rows of [`GroupBy::Type`]: how many distinct allocation stacks were added up.
    #[serde(skip_serializing_if = "is_one")]
    pub stacks: u64,
    pub stack: Vec<Frame>,
    pub before_blocks: u64,
    pub before_bytes: u64,
    pub after_blocks: u64,
    pub after_bytes: u64,
    /// Blocks live in the second snapshot that were allocated after the first.
    pub new_blocks: u64,
    pub new_bytes: u64,
    /// Blocks live in the first snapshot and freed by the second.
    pub freed_blocks: u64,
    pub freed_bytes: u64,
    pub delta_blocks: i64,
    pub delta_bytes: i64,
}

fn is_one(n: &u64) -> bool {
    *n == 1
}

/// What one row of the comparison adds up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum GroupBy {
    /// One row per allocation stack.
    #[default]
    Site,
    /// One row per type (DevTools' class view); blocks without a known type keep their site's row.
    Type,
}

impl DiffRow {
    /// Whether anything happened at this site between the snapshots.
    pub fn changed(&self) -> bool {
        self.delta_blocks != 0 || self.delta_bytes != 0 || self.new_blocks != 0 || self.freed_blocks != 0
    }

    /// Whether `pred` holds for the row's site, type, or any frame's function or file.
    pub fn matches(&self, pred: impl Fn(&str) -> bool) -> bool {
        pred(&self.site)
            || self.ty.as_deref().is_some_and(&pred)
            || self.stack.iter().any(|f| pred(&f.function) || f.file.as_deref().is_some_and(&pred))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortBy {
    DeltaBytes,
    DeltaBlocks,
    New,
    Freed,
    Size,
}

/// The display name of a stack: `site (file:line) via inner_call`.
pub fn site_name(stack: &[SnapFrame]) -> String {
    let site = site_index(stack.iter().map(|f| (f.function.as_str(), f.file.as_deref())));
    let Some(f) = stack.get(site) else { return "(no stack)".into() };
    let mut s = match (&f.file, f.line) {
        (Some(file), Some(line)) => format!("{} ({file}:{line})", f.function),
        _ => f.function.clone(),
    };
    if site > 0 {
        s.push_str(&format!(" via {}", stack[0].function));
    }
    s
}

/// Rows for every site present in either snapshot, sorted, filtered by a substring of any frame's function
/// or file, or of the type.
pub fn diff(before: &Snapshot, after: &Snapshot, filter: Option<&str>, sort: SortBy) -> Vec<DiffRow> {
    diff_by(before, after, filter, sort, GroupBy::Site)
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum RowKey {
    Stack(Vec<SnapFrame>),
    Type(String),
}

/// [`diff`], one row per site or per type.
pub fn diff_by(before: &Snapshot, after: &Snapshot, filter: Option<&str>, sort: SortBy, by: GroupBy) -> Vec<DiffRow> {
    let before_seqs: HashSet<u64> = before.blocks.iter().map(|b| b.seq).collect();
    let after_seqs: HashSet<u64> = after.blocks.iter().map(|b| b.seq).collect();
    let types_before = stack_types(before);
    let types_after = stack_types(after);
    let mut stacks_seen: HashMap<RowKey, HashSet<Vec<SnapFrame>>> = HashMap::new();
    let mut index: HashMap<RowKey, usize> = HashMap::new();
    let mut table: Vec<DiffRow> = Vec::new();
    // The row of one stack of one snapshot. Called once per distinct stack, not per block: a snapshot has
    // millions of blocks but a few hundred stacks.
    let mut row = |snap: &Snapshot, types: &[Option<String>], stack: u32| -> usize {
        let frames: Vec<SnapFrame> = snap.stack(stack).cloned().collect();
        let ty = types.get(stack as usize).cloned().flatten();
        let key = match (&ty, by) {
            (Some(t), GroupBy::Type) => RowKey::Type(t.clone()),
            _ => RowKey::Stack(frames.clone()),
        };
        let seen = stacks_seen.entry(key.clone()).or_default();
        seen.insert(frames.clone());
        let n = seen.len() as u64;
        let i = *index.entry(key.clone()).or_insert_with(|| {
            table.push(DiffRow {
                site: match &key {
                    RowKey::Type(t) => t.clone(),
                    RowKey::Stack(_) => site_name(&frames),
                },
                ty: ty.clone(),
                stacks: 1,
                stack: frames
                    .iter()
                    .map(|f| Frame { function: f.function.clone(), file: f.file.clone(), line: f.line, column: f.column, inlined: f.inlined })
                    .collect(),
                before_blocks: 0,
                before_bytes: 0,
                after_blocks: 0,
                after_bytes: 0,
                new_blocks: 0,
                new_bytes: 0,
                freed_blocks: 0,
                freed_bytes: 0,
                delta_blocks: 0,
                delta_bytes: 0,
            });
            table.len() - 1
        });
        table[i].stacks = n;
        i
    };
    // Stack index → row, per snapshot (the last slot stands for "no stack").
    let mut rows_of = |snap: &Snapshot, types: &[Option<String>]| -> Vec<usize> {
        let mut by_stack: Vec<Option<usize>> = vec![None; snap.stacks.len() + 1];
        snap.blocks
            .iter()
            .map(|b| {
                let slot = (b.stack as usize).min(snap.stacks.len());
                *by_stack[slot].get_or_insert_with(|| row(snap, types, b.stack))
            })
            .collect()
    };
    let rows_before = rows_of(before, &types_before);
    let rows_after = rows_of(after, &types_after);
    for (b, &i) in before.blocks.iter().zip(&rows_before) {
        let r = &mut table[i];
        r.before_blocks += 1;
        r.before_bytes += b.size;
        if !after_seqs.contains(&b.seq) {
            r.freed_blocks += 1;
            r.freed_bytes += b.size;
        }
    }
    for (b, &i) in after.blocks.iter().zip(&rows_after) {
        let r = &mut table[i];
        r.after_blocks += 1;
        r.after_bytes += b.size;
        if !before_seqs.contains(&b.seq) {
            r.new_blocks += 1;
            r.new_bytes += b.size;
        }
    }
    let mut out: Vec<DiffRow> = table
        .into_iter()
        .map(|mut r| {
            r.delta_blocks = r.after_blocks as i64 - r.before_blocks as i64;
            r.delta_bytes = r.after_bytes as i64 - r.before_bytes as i64;
            r
        })
        .filter(|r| filter.is_none_or(|needle| r.matches(|text| text.contains(needle))))
        .collect();
    let key = |r: &DiffRow| -> i64 {
        match sort {
            SortBy::DeltaBytes => r.delta_bytes,
            SortBy::DeltaBlocks => r.delta_blocks,
            SortBy::New => r.new_bytes as i64,
            SortBy::Freed => r.freed_bytes as i64,
            SortBy::Size => r.after_bytes as i64,
        }
    };
    out.sort_by(|a, b| key(b).cmp(&key(a)).then_with(|| a.site.cmp(&b.site)));
    out
}

/// The comparison as `wasmleak diff --format json` prints it.
pub fn diff_json(before: &Snapshot, after: &Snapshot, rows: &[DiffRow]) -> serde_json::Value {
    let side = |s: &Snapshot| {
        serde_json::json!({"snapshot": s.index, "iteration": s.iteration, "blocks": s.blocks.len(), "bytes": s.live_bytes()})
    };
    serde_json::json!({ "module": after.module, "before": side(before), "after": side(after), "rows": rows })
}

/// The comparison as a table: a headline (live bytes before → after), then one line per row.
pub fn diff_text(before: &Snapshot, after: &Snapshot, rows: &[DiffRow], by: GroupBy) -> String {
    use std::fmt::Write;
    let (a, b) = (before, after);
    let mut out = String::new();
    // Negative when the later snapshot comes first (`diff LATER EARLIER`: the CLI warns).
    let iters = b.iteration as i64 - a.iteration as i64;
    let _ = writeln!(
        out,
        "snapshot {} (iteration {}, {} blocks, {} B) → snapshot {} (iteration {}, {} blocks, {} B): {:+} B over {iters} iterations",
        a.index,
        a.iteration,
        a.blocks.len(),
        a.live_bytes(),
        b.index,
        b.iteration,
        b.blocks.len(),
        b.live_bytes(),
        b.live_bytes() as i64 - a.live_bytes() as i64,
    );
    let what = match by {
        GroupBy::Site => "site",
        GroupBy::Type => "type (or site)",
    };
    let _ = writeln!(out, "{:>10} {:>10} {:>8} {:>8} {:>10} {:>10}  {what}", "Δ bytes", "Δ blocks", "new", "freed", "before", "after");
    for r in rows {
        let name = match (by, &r.ty) {
            (GroupBy::Site, Some(t)) => format!("{t} from {}", r.site),
            (GroupBy::Type, Some(_)) if r.stacks > 1 => format!("{} ({} sites)", r.site, r.stacks),
            _ => r.site.clone(),
        };
        let _ = writeln!(
            out,
            "{:>+10} {:>+10} {:>8} {:>8} {:>10} {:>10}  {name}",
            r.delta_bytes, r.delta_blocks, r.new_blocks, r.freed_blocks, r.before_bytes, r.after_bytes
        );
    }
    if rows.is_empty() {
        out.push_str("(no site changed)\n");
    }
    out
}
