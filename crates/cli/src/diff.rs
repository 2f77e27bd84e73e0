//! `wasmleak diff`: the Comparison view of two snapshots.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};
use wasmleak_report::{diff_by, diff_json, diff_text, DiffRow, GroupBy, SortBy};

use crate::export::SnapshotNames;

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
    #[command(flatten)]
    names: SnapshotNames,
}

impl Opts {
    pub fn run(self) -> Result<i32> {
        let a = self.names.load(&self.before)?;
        let b = self.names.load(&self.after)?;
        if a.module != b.module {
            eprintln!("wasmleak: note: the snapshots are of different modules ({} and {}); blocks are matched by allocation number, which only means something within one run", a.module, b.module);
        } else if b.index < a.index || b.allocations + b.frees < a.allocations + a.frees {
            // Within a run a later snapshot has a higher number and has seen more allocator events.
            eprintln!(
                "wasmleak: warning: {} (snapshot {}, {} allocator events) was taken before {} (snapshot {}, {} events): \
                 new and freed are reversed; did you mean `wasmleak diff {} {}`?",
                self.after.display(),
                b.index,
                b.allocations + b.frees,
                self.before.display(),
                a.index,
                a.allocations + a.frees,
                self.after.display(),
                self.before.display()
            );
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
            .filter(|r| self.all || r.changed())
            .collect();
        match self.format {
            Format::Json => println!("{}", serde_json::to_string_pretty(&diff_json(&a, &b, &rows))?),
            Format::Text => print!("{}", diff_text(&a, &b, &rows, by)),
        }
        Ok(0)
    }
}
