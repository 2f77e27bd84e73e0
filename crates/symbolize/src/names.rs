//! Function names: where they come from ([`NameSource`]) and the name table of a module, built from the
//! name section, DWARF, exports and imports.

use std::fmt;

use crate::demangle::demangle;
use crate::dwarf::ModuleDwarf;
use crate::module::Module;

/// Where a function name came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NameSource {
    /// The `name` custom section.
    NameSection,
    /// A DWARF `DW_TAG_subprogram` (linkage name, else name) whose `DW_AT_low_pc` lies in the function.
    Dwarf,
    /// The export name of the function.
    Export,
    /// The field name of an imported function (`module.field` is not used: the field is the symbol).
    Import,
    /// Recognised by what it calls, in a module without names (wasi-libc's `__main_void`).
    Inferred,
}

impl NameSource {
    /// `"name section"`, `"dwarf"`, `"export"`, `"import"` or `"inferred"`.
    pub fn as_str(self) -> &'static str {
        match self {
            NameSource::NameSection => "name section",
            NameSource::Dwarf => "dwarf",
            NameSource::Export => "export",
            NameSource::Import => "import",
            NameSource::Inferred => "inferred",
        }
    }
}

impl fmt::Display for NameSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A function that has a name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NamedFunction {
    /// Index in the module's function index space (imports first).
    pub index: u32,
    /// The name as stored (mangled).
    pub raw: String,
    /// [`demangle`]d.
    pub demangled: String,
    /// Where the name came from.
    pub source: NameSource,
}

#[derive(Debug, Clone)]
pub(crate) struct NameEntry {
    pub(crate) raw: String,
    pub(crate) demangled: String,
    pub(crate) source: NameSource,
    /// Another function's demangled name is the same (Rust's monomorphic copies: every test body of a release
    /// build inlined into its own `core::ops::function::FnOnce::call_once`).
    pub(crate) shared: bool,
}

/// The name of each function (imports included), by index: name section first, then DWARF, then the
/// export name, then (for imports) the import field name.
pub(crate) fn build_name_table(module: &Module, dwarf: &ModuleDwarf) -> Vec<Option<NameEntry>> {
    let entry = |raw: &str, source| NameEntry {
        raw: raw.to_string(),
        demangled: demangle(raw),
        source,
        shared: false,
    };
    let mut table: Vec<Option<NameEntry>> = module
        .name_section_names
        .iter()
        .map(|n| {
            n.as_deref()
                .filter(|s| !s.is_empty())
                .map(|s| entry(s, NameSource::NameSection))
        })
        .collect();
    let missing_defined = table
        .iter()
        .skip(module.num_imported_funcs as usize)
        .any(|e| e.is_none());
    if missing_defined && dwarf.has_dwarf() {
        for (idx, raw) in dwarf_function_names(module, dwarf) {
            if let Some(slot @ None) = table.get_mut(idx as usize) {
                *slot = Some(entry(&raw, NameSource::Dwarf));
            }
        }
    }
    for (idx, name) in &module.export_names {
        if let Some(slot @ None) = table.get_mut(*idx as usize) {
            *slot = Some(entry(name, NameSource::Export));
        }
    }
    for &(idx, name) in &module.inferred_names {
        if let Some(slot @ None) = table.get_mut(idx as usize) {
            *slot = Some(entry(name, NameSource::Inferred));
        }
    }
    for (idx, name) in module.import_names.iter().enumerate() {
        if let Some(slot @ None) = table.get_mut(idx)
            && !name.is_empty()
        {
            *slot = Some(entry(name, NameSource::Import));
        }
    }
    name_c_main(&mut table);
    let mut count: std::collections::HashMap<&str, u32> = std::collections::HashMap::new();
    for e in table.iter().flatten() {
        *count.entry(e.demangled.as_str()).or_default() += 1;
    }
    let shared: std::collections::HashSet<String> =
        count.into_iter().filter(|&(_, n)| n > 1).map(|(name, _)| name.to_string()).collect();
    for e in table.iter_mut().flatten() {
        e.shared = shared.contains(&e.demangled);
    }
    table
}

/// A C `main` is shown as `main`, as the source names it: clang renames `int main(int, char **)` to
/// `__main_argc_argv` and `int main(void)` to `__original_main`. wasi-libc has an `__original_main` of its own
/// (the shim that calls a `main(argc, argv)`), so that one keeps its name when the program's main is there too.
fn name_c_main(table: &mut [Option<NameEntry>]) {
    let raw_is = |e: &Option<NameEntry>, n: &str| e.as_ref().is_some_and(|e| e.raw == n);
    let has_args_main = table.iter().any(|e| raw_is(e, "main") || raw_is(e, "__main_argc_argv"));
    for e in table.iter_mut().flatten() {
        if e.raw == "__main_argc_argv" || (e.raw == "__original_main" && !has_args_main) {
            e.demangled = "main".into();
        }
    }
}

/// `(func_index, raw name)` for each `DW_TAG_subprogram` with a `low_pc` inside a defined function.
fn dwarf_function_names(module: &Module, dwarf: &ModuleDwarf) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    dwarf.for_each_die(gimli::DW_TAG_subprogram, |_| true, |unit, scoped, entry| {
        let Some(low) = entry.attr_value(gimli::DW_AT_low_pc) else {
            return;
        };
        let Ok(Some(addr)) = unit.attr_address(low) else {
            return;
        };
        let Some(off) = u64::from(module.code_payload_start)
            .checked_add(addr)
            .and_then(|o| u32::try_from(o).ok())
        else {
            return;
        };
        let Some(i) = module.body_index_containing(off) else {
            return;
        };
        if let Some((name, _)) = dwarf.die_name(unit, scoped, entry) {
            out.push((module.num_imported_funcs + i as u32, name));
        }
    });
    out
}
