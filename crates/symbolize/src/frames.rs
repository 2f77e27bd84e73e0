//! Frames of a code location: the `addr2line` frame lookup (inlined frames included), with the names DWARF
//! gives qualified, and Rust generic arguments taken from the DIEs.

use std::fmt;

use gimli::Reader as _;

use crate::demangle::{demangle, last_segment, looks_mangled};
use crate::dwarf::{ModuleDwarf, Reader, has_scopes, origin};
use crate::module::Module;

/// One frame of a symbolized code location.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Frame {
    /// Demangled function name; `func[N]` when unknown.
    pub function: String,
    /// Source file as recorded in DWARF (directory joined like addr2line does; absolute or relative as given).
    pub file: Option<String>,
    /// 1-based line; `None` when unknown (DWARF line 0).
    pub line: Option<u32>,
    /// 1-based column; `None` when unknown (DWARF column 0).
    pub column: Option<u32>,
    /// `true` for frames of functions inlined into the physical function; the last frame of a
    /// [`Symbolizer::symbolize`](crate::Symbolizer::symbolize) result is always the physical one (`false`).
    pub inlined: bool,
    /// The physical function (module function index space) this code lives in.
    pub func_index: u32,
}

impl fmt::Display for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.function)?;
        if let Some(file) = &self.file {
            write!(f, " at {file}")?;
            if let Some(line) = self.line {
                write!(f, ":{line}")?;
                if let Some(col) = self.column {
                    write!(f, ":{col}")?;
                }
            }
        }
        if self.inlined {
            f.write_str(" (inlined)")?;
        }
        Ok(())
    }
}

/// (function name, file, line, column) of one frame, before the physical frame is named.
type RawFrame = (Option<String>, Option<String>, Option<u32>, Option<u32>);

/// Frames for one code location, innermost first: see
/// [`Symbolizer::symbolize`](crate::Symbolizer::symbolize). `table_name` is the name-table name of function
/// `func_index`, if any.
pub(crate) fn symbolize(
    module: &Module,
    dwarf: &ModuleDwarf,
    func_index: u32,
    module_offset: Option<u32>,
    table_name: Option<&str>,
) -> Vec<Frame> {
    let name_only = || {
        vec![Frame {
            function: table_name.map_or_else(|| format!("func[{func_index}]"), str::to_string),
            file: None,
            line: None,
            column: None,
            inlined: false,
            func_index,
        }]
    };
    let Some(offset) = module_offset else {
        return name_only();
    };
    if !dwarf.has_dwarf() {
        return name_only();
    }
    let Some(body) = module.body(func_index) else {
        return name_only();
    };
    if offset < body.entry_start || offset >= body.end {
        return name_only();
    }
    let Some(Ok(state)) = dwarf.state() else {
        return name_only();
    };
    let probe = u64::from(offset - module.code_payload_start);

    let mut raw: Vec<RawFrame> = Vec::new();
    {
        let ctx = state.ctx.lock().unwrap_or_else(|e| e.into_inner());
        let Ok(mut iter) = ctx.find_frames(probe).skip_all_loads() else {
            return name_only();
        };
        // Only needed to qualify names that DWARF gives without a linkage name.
        let mut unit: Option<Option<gimli::UnitRef<'_, Reader>>> = None;
        // Bound the walk: a corrupt DWARF inline tree must not make us loop for long.
        while raw.len() < 256 {
            match iter.next() {
                Ok(Some(f)) => {
                    let mut name = None;
                    if let Some(n) = &f.function
                        && let Ok(s) = n.raw_name()
                    {
                        if looks_mangled(&s) {
                            let mut d = demangle(&s);
                            // Rust legacy linkage names keep the generic parameters' names only
                            // (`alloc::sync::Arc<T>::new`): take the instantiation's arguments from the
                            // DIE's `DW_AT_name` (`new<app::Node>`), as line-tables-only DWARF shows them.
                            // (v0 names, `_R...`, already carry them: `<alloc::sync::Arc<app::Node>>::new`.)
                            if n.language == Some(gimli::DW_LANG_Rust)
                                && !s.starts_with("_R")
                                && let Some(off) = f.dw_die_offset
                                && !last_segment(&d).contains('<')
                            {
                                let u = unit.get_or_insert_with(|| {
                                    ctx.find_dwarf_and_unit(probe).skip_all_loads()
                                });
                                if let Some(u) = u
                                    && let Some(args) = rust_generic_args(u, off, last_segment(&d))
                                {
                                    d.push_str(&args);
                                }
                            }
                            name = Some(d);
                        } else if !s.is_empty() {
                            let mut q = None;
                            if let (Some(off), true) = (f.dw_die_offset, has_scopes(n.language)) {
                                let u = unit.get_or_insert_with(|| {
                                    ctx.find_dwarf_and_unit(probe).skip_all_loads()
                                });
                                if let Some(u) = u {
                                    q = dwarf.qualify(u, off, &s);
                                }
                            }
                            name = Some(q.unwrap_or_else(|| s.into_owned()));
                        }
                    }
                    let (file, line, column) = match &f.location {
                        Some(l) => (
                            l.file.map(without_joined_prefix),
                            l.line,
                            l.column.filter(|&c| c != 0),
                        ),
                        None => (None, None, None),
                    };
                    raw.push((name, file, line, column));
                }
                Ok(None) | Err(_) => break,
            }
        }
    }
    if raw.is_empty() {
        return name_only();
    }
    let n = raw.len();
    raw.into_iter()
        .enumerate()
        .map(|(i, (name, file, line, column))| {
            let inlined = i + 1 < n;
            let function = if inlined {
                name.unwrap_or_else(|| format!("func[{func_index}]"))
            } else {
                // The physical function is known for sure by index: prefer its table name so that
                // names agree with the name-only path.
                match table_name {
                    Some(s) => s.to_string(),
                    None => name.unwrap_or_else(|| format!("func[{func_index}]")),
                }
            };
            Frame {
                function,
                file,
                line,
                column,
                inlined,
                func_index,
            }
        })
        .collect()
}

/// The generic arguments, `<...>`, of the Rust function whose DIE (subprogram or inlined subroutine) is at
/// `die`, from the `DW_AT_name` of the DIE or of its abstract origin / specification (`new<app::Node>`, as
/// rustc names instantiations), when that name is `segment` (the last segment of the demangled linkage
/// name; closures: `{closure#0}` for `{{closure}}`) followed by arguments.
fn rust_generic_args(
    unit: &gimli::UnitRef<'_, Reader>,
    die: gimli::UnitOffset,
    segment: &str,
) -> Option<String> {
    let mut entry = unit.entry(die).ok()?;
    if !matches!(
        entry.tag(),
        gimli::DW_TAG_subprogram | gimli::DW_TAG_inlined_subroutine
    ) {
        return None;
    }
    let mut name = None;
    for _ in 0..8 {
        if let Some(v) = entry.attr_value(gimli::DW_AT_name)
            && let Ok(s) = unit.attr_string(v)
            && let Ok(s) = s.to_string_lossy()
        {
            name = Some(s.into_owned());
            break;
        }
        entry = origin(unit, &entry)?;
    }
    let name = name?;
    let open = name.find('<').filter(|&i| i > 0)?;
    let (base, args) = name.split_at(open);
    let same = base == segment
        || (segment == "{{closure}}" && base.starts_with("{closure#"))
        || (segment == "{{constant}}" && base.starts_with("{constant#"));
    (same && args.ends_with('>') && args.len() > 2).then(|| args.to_string())
}

/// A DWARF path as the toolchain wrote it: a directory or file that is a URL (`wasisdk://v14.0/src/…`, as wasi-sdk
/// remaps its sources) is absolute, but path joining only knows `/`, so the compilation directory ends up in front
/// of it (`wasisdk://v14.0/build/…/wasisdk://v14.0/src/…`): keep what follows the last such prefix.
pub(crate) fn without_joined_prefix(path: &str) -> String {
    let Some(at) = path.rfind("://") else { return path.to_string() };
    let scheme = path[..at].rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '+' || c == '-' || c == '.')).map_or(0, |i| i + 1);
    if scheme == 0 || !path[..scheme].ends_with('/') {
        return path.to_string();
    }
    path[scheme..].to_string()
}

#[cfg(test)]
mod path_tests {
    use super::without_joined_prefix;

    #[test]
    fn url_directories_are_absolute() {
        assert_eq!(
            without_joined_prefix("wasisdk://v14.0/build/install/opt/wasi-sdk/share/wasi-sysroot/wasisdk://v14.0/src/wasi-libc/libc-top-half/musl/src/stdio/fwrite.c"),
            "wasisdk://v14.0/src/wasi-libc/libc-top-half/musl/src/stdio/fwrite.c"
        );
        assert_eq!(without_joined_prefix("/home/u/app/src/main.c"), "/home/u/app/src/main.c");
        assert_eq!(without_joined_prefix("wasisdk://v14.0/src/a.c"), "wasisdk://v14.0/src/a.c");
        assert_eq!(without_joined_prefix("/build/dir/wasisdk://v14.0/src/a.c"), "wasisdk://v14.0/src/a.c");
    }
}
