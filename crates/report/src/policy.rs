//! What makes a run fail, for CI: suppressions (LeakSanitizer's `leak:PATTERN` files), a baseline of known
//! findings (the `key`s of an earlier JSON report), and the kinds that count (`--fail-on`).

use std::collections::HashSet;

use crate::build::{Frame, Group, Report};

/// Finding kinds `--fail-on` takes.
pub const FAIL_KINDS: [&str; 6] = ["lost", "indirect", "cycle", "host", "growing", "invalid-free"];
/// What fails a run when `--fail-on` is not given: every leak and invalid free, not a growing reachable site.
pub const DEFAULT_FAIL_ON: [&str; 5] = ["lost", "indirect", "cycle", "host", "invalid-free"];

/// LeakSanitizer suppressions: `leak:PATTERN` lines (other types are accepted and ignored: LSan's files carry
/// ASan's too), `#` comments, blank lines. A pattern matches a frame's function, file or module as LSan's do:
/// `*` is any text, a leading `^` / trailing `$` anchor, and otherwise it may match anywhere.
#[derive(Clone, Debug, Default)]
pub struct Suppressions {
    patterns: Vec<String>,
}

impl Suppressions {
    /// Parse a suppressions file (`origin` names it in errors: "file:line: ...").
    pub fn parse(text: &str, origin: &str) -> Result<Suppressions, String> {
        let mut patterns = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((kind, pattern)) = line.split_once(':') else {
                return Err(format!(
                    "{origin}:{}: `{line}` is not a suppression: write `leak:PATTERN` (PATTERN: a function, file or module name, `*` wildcards)",
                    n + 1
                ));
            };
            let pattern = pattern.trim();
            if kind.trim() == "leak" {
                if pattern.is_empty() {
                    return Err(format!("{origin}:{}: `leak:` needs a pattern", n + 1));
                }
                patterns.push(pattern.to_string());
            }
        }
        Ok(Suppressions { patterns })
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The patterns as a suppressions file (`leak:PATTERN` lines), for a host that parses it again.
    pub fn to_text(&self) -> String {
        self.patterns.iter().map(|p| format!("leak:{p}\n")).collect()
    }

    /// The first pattern that matches a frame of `stack` (its function or file) or the module's name.
    pub fn matching(&self, stack: &[Frame], module: &str) -> Option<&str> {
        self.patterns
            .iter()
            .find(|p| {
                template_match(p, module)
                    || stack.iter().any(|f| template_match(p, &f.function) || f.file.as_deref().is_some_and(|file| template_match(p, file)))
            })
            .map(String::as_str)
    }
}

/// LSan's `TemplateMatch` (sanitizer_common), ported as it is: `*` matches any text, a leading `^` anchors at
/// the start, `$` at the end; each literal part is looked for at its first occurrence after the previous one.
pub fn template_match(template: &str, s: &str) -> bool {
    let mut t = template;
    let mut rest = s;
    let mut start = false;
    if let Some(r) = t.strip_prefix('^') {
        start = true;
        t = r;
    }
    let mut asterisk = false;
    while !t.is_empty() {
        if let Some(r) = t.strip_prefix('*') {
            t = r;
            start = false;
            asterisk = true;
            continue;
        }
        if t.starts_with('$') {
            return rest.is_empty() || asterisk;
        }
        if rest.is_empty() {
            return false;
        }
        let end = t.find(['*', '$']).unwrap_or(t.len());
        let part = &t[..end];
        let Some(at) = rest.find(part) else { return false };
        if start && at != 0 {
            return false;
        }
        rest = &rest[at + part.len()..];
        t = &t[end..];
        start = false;
        asterisk = false;
    }
    true
}

/// Suppressions, a baseline and the kinds that fail the run.
#[derive(Clone, Debug)]
pub struct Policy {
    pub suppressions: Suppressions,
    /// Finding keys of an earlier report (`--baseline`): found again, they do not fail the run.
    pub baseline: Option<HashSet<String>>,
    pub fail_on: Vec<String>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy { suppressions: Suppressions::default(), baseline: None, fail_on: DEFAULT_FAIL_ON.map(String::from).to_vec() }
    }
}

impl Policy {
    /// `--fail-on lost,cycle,...`: the kinds, checked.
    pub fn parse_fail_on(list: &str) -> Result<Vec<String>, String> {
        let kinds: Vec<String> = list.split(',').map(|k| k.trim().to_string()).filter(|k| !k.is_empty()).collect();
        if let Some(bad) = kinds.iter().find(|k| !FAIL_KINDS.contains(&k.as_str())) {
            return Err(format!("--fail-on: unknown kind `{bad}` (kinds: {})", FAIL_KINDS.join(", ")));
        }
        Ok(kinds)
    }

    /// The finding keys of a JSON report written by `--format json` (`groups[].key`, `invalid_frees[].key`).
    pub fn baseline_keys(json: &str, origin: &str) -> Result<HashSet<String>, String> {
        let v: serde_json::Value =
            serde_json::from_str(json).map_err(|e| format!("{origin}: not a wasmleak JSON report: {e}"))?;
        let reports: Vec<&serde_json::Value> = match &v {
            serde_json::Value::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        let mut keys = HashSet::new();
        for r in reports {
            if r.get("version").is_none() {
                return Err(format!("{origin}: not a wasmleak JSON report (no `version`)"));
            }
            for list in ["groups", "invalid_frees"] {
                for item in r.get(list).and_then(|g| g.as_array()).into_iter().flatten() {
                    if let Some(k) = item.get("key").and_then(|k| k.as_str()) {
                        keys.insert(k.to_string());
                    }
                }
            }
        }
        Ok(keys)
    }
}

impl Report {
    /// Apply `policy`: suppressed groups leave the report (counted in the summary), and `decided_by` lists the
    /// keys of the findings that fail the run — of a kind in `fail_on`, not in the baseline.
    pub fn apply_policy(&mut self, policy: &Policy) {
        if !policy.suppressions.is_empty() {
            let module = self.module.clone();
            let (kept, dropped): (Vec<Group>, Vec<Group>) = std::mem::take(&mut self.groups)
                .into_iter()
                .partition(|g| g.kind == "reachable" || policy.suppressions.matching(&g.stack, &module).is_none());
            self.groups = kept;
            let s = &mut self.summary;
            for g in &dropped {
                s.suppressed_blocks += g.blocks;
                s.suppressed_bytes += g.bytes;
                let (blocks, bytes) = match g.kind {
                    "lost" => (&mut s.lost_blocks, &mut s.lost_bytes),
                    "indirect" => (&mut s.indirect_blocks, &mut s.indirect_bytes),
                    "cycle" => (&mut s.cycle_blocks, &mut s.cycle_bytes),
                    _ => (&mut s.host_blocks, &mut s.host_bytes),
                };
                *blocks -= g.blocks;
                *bytes -= g.bytes;
            }
            s.leaked_blocks = s.lost_blocks + s.indirect_blocks + s.cycle_blocks + s.host_blocks;
            s.leaked_bytes = s.lost_bytes + s.indirect_bytes + s.cycle_bytes + s.host_bytes;
            s.host_objects = crate::build::host_objects(&self.groups);
        }
        let fails = |kind: &str| policy.fail_on.iter().any(|k| k == kind);
        let known = |key: &str| policy.baseline.as_ref().is_some_and(|b| b.contains(key));
        let mut decided: Vec<String> = Vec::new();
        for g in &self.groups {
            let counts = (g.kind != "reachable" && fails(g.kind)) || (g.growing && fails("growing"));
            if counts && !known(&g.key) {
                decided.push(g.key.clone());
            }
        }
        if fails("invalid-free") {
            decided.extend(self.invalid_frees.iter().filter(|f| !known(&f.key)).map(|f| f.key.clone()));
        }
        let mut seen = HashSet::new();
        decided.retain(|k| seen.insert(k.clone()));
        self.decided_by = decided;
    }

    /// The exit status's verdict: a finding failed the run (see [`Report::apply_policy`]).
    pub fn fails(&self) -> bool {
        !self.decided_by.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lsan_patterns() {
        assert!(template_match("make_widget", "app::make_widget(int)"));
        assert!(template_match("^app::", "app::make"));
        assert!(!template_match("^make", "app::make"));
        assert!(template_match("make$", "app::make"));
        assert!(!template_match("mak$", "app::make"));
        assert!(template_match("std::*::vector", "std::__2::vector<int>"));
        assert!(template_match("^libfoo*.c$", "libfoo/bar.c"));
        assert!(!template_match("^main$", "main2"));
        assert!(template_match("^main$", "main"));
        assert!(template_match("*", "anything"));
    }

    #[test]
    fn parse_errors_name_the_line() {
        let s = Suppressions::parse("# known\n\nleak:third_party\ninterceptor_via_fun:x\nleak:^zlib_*\n", "s.supp").unwrap();
        assert_eq!(s.patterns, ["third_party", "^zlib_*"]);
        let e = Suppressions::parse("leak:a\nthird_party\n", "s.supp").unwrap_err();
        assert!(e.starts_with("s.supp:2: `third_party` is not a suppression"), "{e}");
        assert!(Policy::parse_fail_on("lost,growing").is_ok());
        assert!(Policy::parse_fail_on("lost,leaky").unwrap_err().contains("unknown kind `leaky`"));
    }
}
