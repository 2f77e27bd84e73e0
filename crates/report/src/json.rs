use crate::build::Report;

/// The JSON report of docs/contracts.md (version 1), pretty-printed.
pub fn to_json(report: &Report) -> String {
    serde_json::to_string_pretty(report).expect("the report is plain data")
}
