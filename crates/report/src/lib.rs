//! The leak report: blocks grouped by (kind, allocation stack), each group with the pattern it shows and the
//! fix; printed as text for people and as JSON (docs/contracts.md, version 1) for CI.

mod build;
mod diff;
mod hint;
mod json;
mod policy;
mod profile;
mod snapshot;
mod text;
mod types;

pub use build::{build, build_in_memory, debug_info_note, runtime_stacks, NO_DWARF_NOTE, NOTHING_SEEN, NOTHING_SEEN_REASON, FREES_NOT_SEEN_REASON, NO_GROWTH_VERDICT_REASON, Exit, Frame, FreedOwner, Group, Interior, InvalidFree, Report, Summary};
pub use diff::{diff, diff_by, diff_json, diff_text, site_name, DiffRow, GroupBy, SortBy};
pub use json::to_json;
pub use policy::{template_match, Policy, Suppressions, DEFAULT_FAIL_ON, FAIL_KINDS};
pub use profile::{profile, Profile, ProfileSite};
pub use snapshot::{FrameCache, SnapshotTaker, HOST_FRAME};
pub use text::{bytes, grouped, to_text, TextOptions};
pub use types::{short_type, stack_types, type_of};
