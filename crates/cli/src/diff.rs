//! `wasmleak diff`: the Comparison view of two snapshots.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};
use wasmleak_report::{diff_by, DiffRow, GroupBy, SortBy};

use crate::export::load_snapshot;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Sort {
    DeltaBytes,
    DeltaCount,
    New,
    Freed,
    Size,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum By {
    /// One row per allocation stack
    Site,
    /// One row per type (`Rc<RefCell<app::Node>>`, `Vec<u8>`, `Widget`); blocks of unknown type keep their site
    Type,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// Compare two snapshots of one run: per allocation site, live blocks and bytes before and after, new and freed.
#[derive(Args)]
pub struct Opts {
    /// The earlier snapshot
    before: PathBuf,
    /// The later snapshot
    after: PathBuf,
    /// Only rows whose type, or whose stack's function or file names, contain this text
    #[arg(long)]
    filter: Option<String>,
    /// Only rows whose site, type, function or file names match this regular expression
    #[arg(long, value_name = "REGEX")]
    regex: Option<String>,
    /// Rows per allocation site or per type (like DevTools' class view)
    #[arg(long, value_enum, default_value = "site")]
    by: By,
    #[arg(long, value_enum, default_value = "delta-bytes")]
    sort: Sort,
    /// Also list sites that did not change
    #[arg(long)]
    all: bool,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

impl Opts {
    pub fn run(self) -> Result<i32> {
        let a = load_snapshot(&self.before)?;
        let b = load_snapshot(&self.after)?;
        if a.module != b.module {
            eprintln!("wasmleak: note: the snapshots are of different modules ({} and {}); blocks are matched by allocation number, which only means something within one run", a.module, b.module);
        }
        let sort = match self.sort {
            Sort::DeltaBytes => SortBy::DeltaBytes,
            Sort::DeltaCount => SortBy::DeltaBlocks,
            Sort::New => SortBy::New,
            Sort::Freed => SortBy::Freed,
            Sort::Size => SortBy::Size,
        };
        let by = match self.by {
            By::Site => GroupBy::Site,
            By::Type => GroupBy::Type,
        };
        let re = match &self.regex {
            Some(r) => Some(regex::Regex::new(r).map_err(|e| anyhow::anyhow!("--regex {r}: {e}"))?),
            None => None,
        };
        let rows: Vec<DiffRow> = diff_by(&a, &b, self.filter.as_deref(), sort, by)
            .into_iter()
            .filter(|r| re.as_ref().is_none_or(|re| r.matches(|t| re.is_match(t))))
            .filter(|r| self.all || r.delta_blocks != 0 || r.delta_bytes != 0 || r.new_blocks != 0 || r.freed_blocks != 0)
            .collect();
        match self.format {
            Format::Json => {
                let doc = serde_json::json!({
                    "before": {"snapshot": a.index, "iteration": a.iteration, "blocks": a.blocks.len(), "bytes": a.live_bytes()},
                    "after": {"snapshot": b.index, "iteration": b.iteration, "blocks": b.blocks.len(), "bytes": b.live_bytes()},
                    "rows": rows,
                });
                println!("{}", serde_json::to_string_pretty(&doc)?);
            }
            Format::Text => {
                let iters = b.iteration.saturating_sub(a.iteration);
                println!(
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
                let what = match self.by {
                    By::Site => "site",
                    By::Type => "type (or site)",
                };
                println!("{:>10} {:>10} {:>8} {:>8} {:>10} {:>10}  {what}", "Δ bytes", "Δ blocks", "new", "freed", "before", "after");
                for r in &rows {
                    let name = match (self.by, &r.ty) {
                        (By::Site, Some(t)) => format!("{t} from {}", r.site),
                        (By::Type, Some(_)) if r.stacks > 1 => format!("{} ({} sites)", r.site, r.stacks),
                        _ => r.site.clone(),
                    };
                    println!(
                        "{:>+10} {:>+10} {:>8} {:>8} {:>10} {:>10}  {name}",
                        r.delta_bytes, r.delta_blocks, r.new_blocks, r.freed_blocks, r.before_bytes, r.after_bytes
                    );
                }
                if rows.is_empty() {
                    println!("(no site changed)");
                }
            }
        }
        Ok(0)
    }
}
