//! Map code locations of a WebAssembly module to function names, `file:line` (with inlined frames) and
//! demangled names.
//!
//! A [`Symbolizer`] is built once per *original* (uninstrumented) module. It reads:
//! - the `name` custom section (function names, imports included),
//! - DWARF from the `.debug_*` custom sections (via `gimli` + `addr2line`, parsed lazily on first use),
//! - the export section and the import section (last-resort names).
//!
//! ## Addresses
//! In wasm DWARF every code address (`DW_AT_low_pc`, line-program rows, ranges) is an offset relative to the
//! start of the Code section's *payload*: the byte right after the section's size LEB, i.e. where the
//! function-count LEB sits. A function's `DW_AT_low_pc` points at the size LEB of its body. Wasmtime's
//! `FrameInfo::module_offset()` is an offset from the start of the module file, so
//! `dwarf_address = module_offset - code_payload_start`.
//!
//! Everything here compiles for `wasm32-unknown-unknown` (no I/O, no threads needed).

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::sync::{Arc, Mutex, OnceLock};

use gimli::Reader as _;
use gimli::{EndianArcSlice, LittleEndian};

type Reader = EndianArcSlice<LittleEndian>;

/// Errors from [`Symbolizer::new`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input does not start with the wasm magic number.
    #[error("not a WebAssembly module: the input does not start with the `\\0asm` magic number")]
    NotWasm,
    /// The input is a component, not a core module.
    #[error(
        "not a core WebAssembly module: components are not supported, symbolize the core module inside"
    )]
    Component,
    /// The module could not be parsed.
    #[error("malformed WebAssembly module at byte offset {offset:#x}: {message}")]
    Malformed {
        /// Byte offset in the module file where parsing failed.
        offset: usize,
        /// What went wrong.
        message: String,
    },
}

impl From<wasmparser::BinaryReaderError> for Error {
    fn from(e: wasmparser::BinaryReaderError) -> Self {
        Error::Malformed {
            offset: e.offset(),
            message: e.message().to_string(),
        }
    }
}

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
}

impl NameSource {
    /// `"name section"`, `"dwarf"`, `"export"` or `"import"`.
    pub fn as_str(self) -> &'static str {
        match self {
            NameSource::NameSection => "name section",
            NameSource::Dwarf => "dwarf",
            NameSource::Export => "export",
            NameSource::Import => "import",
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

/// A static variable (`DW_TAG_variable` at a fixed address) found in DWARF.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DataSymbol {
    /// Demangled, qualified name (`rust_patterns::CACHE`, `std::io::stdio::STDOUT`, `static_buffer`).
    pub name: String,
    /// Address in linear memory.
    pub address: u64,
    /// Size in bytes from the variable's type (0 when DWARF does not say).
    pub size: u64,
}

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
    /// [`Symbolizer::symbolize`] result is always the physical one (`false`).
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

/// Demangle a symbol: Rust legacy and v0 (printed with `{:#}`, so without the hash suffix), C++ Itanium;
/// anything else is returned unchanged.
pub fn demangle(name: &str) -> String {
    if let Ok(d) = rustc_demangle::try_demangle(name) {
        return format!("{d:#}");
    }
    // Only names that look Itanium-mangled: cpp_demangle also accepts bare type encodings
    // (e.g. "i" -> "int"), which would garble plain C names.
    if (name.starts_with("_Z") || name.starts_with("__Z"))
        && let Ok(sym) = cpp_demangle::Symbol::new(name.as_bytes())
        && let Ok(s) = sym.demangle()
    {
        return s;
    }
    name.to_string()
}

#[derive(Debug, Clone)]
struct Body {
    /// Module offset of the body's size LEB (what DWARF `low_pc` points at).
    entry_start: u32,
    /// Module offset of the body proper (local declarations), right after the size LEB.
    start: u32,
    /// Module offset one past the body's last byte (the `end` opcode).
    end: u32,
}

#[derive(Debug, Clone)]
struct NameEntry {
    raw: String,
    demangled: String,
    source: NameSource,
}

/// (function name, file, line, column) of one frame, before the physical frame is named.
type RawFrame = (Option<String>, Option<String>, Option<u32>, Option<u32>);

struct DwarfState {
    ctx: Mutex<addr2line::Context<Reader>>,
}

/// Symbolizer for one module. `Send + Sync`; share it behind an `Arc`.
pub struct Symbolizer {
    /// A copy of the `.debug_*` section payloads, back to back; taken (and patched, see
    /// [`dead_code_patches`]) when the DWARF is loaded.
    data: Mutex<Option<Arc<[u8]>>>,
    /// Lowest DWARF address where code can live: the first body's size LEB (relative to the Code section
    /// payload). DWARF ranges starting below it describe code the linker dropped.
    first_live_address: u64,
    num_imported_funcs: u32,
    /// Module offset of the Code section payload (0 when there is no Code section).
    code_payload_start: u32,
    bodies: Vec<Body>,
    has_name_section: bool,
    name_section_names: Vec<Option<String>>,
    export_names: Vec<(u32, String)>,
    import_names: Vec<String>,
    /// `.debug_*` custom sections: name and byte range of the payload in `data`.
    debug_sections: Vec<(String, Range<usize>)>,
    has_dwarf: bool,
    names: OnceLock<Vec<Option<NameEntry>>>,
    statics: OnceLock<Vec<DataSymbol>>,
    dwarf_sections: OnceLock<Option<Arc<gimli::Dwarf<Reader>>>>,
    dwarf: OnceLock<Result<DwarfState, String>>,
    /// Per DWARF unit (by `.debug_info` offset): enclosing scopes of DIEs, to qualify bare names.
    scopes: Mutex<HashMap<usize, Arc<UnitScopes>>>,
}

impl fmt::Debug for Symbolizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Symbolizer")
            .field("num_imported_funcs", &self.num_imported_funcs)
            .field("num_defined_funcs", &self.bodies.len())
            .field("code_payload_start", &self.code_payload_start)
            .field("has_name_section", &self.has_name_section)
            .field("has_dwarf", &self.has_dwarf)
            .finish_non_exhaustive()
    }
}

#[allow(dead_code)]
fn assert_send_sync() {
    fn check<T: Send + Sync>() {}
    check::<Symbolizer>();
}

impl Symbolizer {
    /// Parse `module` (the original, uninstrumented module file).
    pub fn new(module: &[u8]) -> Result<Symbolizer, Error> {
        if module.len() < 8 || &module[0..4] != b"\0asm" {
            return Err(Error::NotWasm);
        }
        let mut num_imported_funcs = 0u32;
        let mut import_names = Vec::new();
        let mut code_payload_start = 0u32;
        let mut bodies = Vec::new();
        let mut has_name_section = false;
        let mut name_pairs: Vec<(u32, String)> = Vec::new();
        let mut export_names = Vec::new();
        let mut debug_sections: Vec<(String, Range<usize>)> = Vec::new();
        let mut next_entry_start = 0u32;

        for payload in wasmparser::Parser::new(0).parse_all(module) {
            use wasmparser::Payload::*;
            match payload? {
                Version { encoding, .. } if encoding != wasmparser::Encoding::Module => {
                    return Err(Error::Component);
                }
                ImportSection(reader) => {
                    for imp in reader.into_imports() {
                        let imp = imp?;
                        if matches!(
                            imp.ty,
                            wasmparser::TypeRef::Func(_) | wasmparser::TypeRef::FuncExact(_)
                        ) {
                            num_imported_funcs += 1;
                            import_names.push(imp.name.to_string());
                        }
                    }
                }
                ExportSection(reader) => {
                    for exp in reader {
                        let exp = exp?;
                        if exp.kind == wasmparser::ExternalKind::Func {
                            export_names.push((exp.index, exp.name.to_string()));
                        }
                    }
                }
                CodeSectionStart { range, .. } => {
                    code_payload_start = range.start as u32;
                    // Skip the function-count LEB: the first body's size LEB follows it.
                    let tail = module
                        .get(range.start..range.end.min(module.len()))
                        .unwrap_or(&[]);
                    let mut r = wasmparser::BinaryReader::new(tail, range.start);
                    r.read_var_u32()?;
                    next_entry_start = r.original_position() as u32;
                }
                CodeSectionEntry(body) => {
                    let range = body.range();
                    bodies.push(Body {
                        entry_start: next_entry_start,
                        start: range.start as u32,
                        end: range.end as u32,
                    });
                    next_entry_start = range.end as u32;
                }
                CustomSection(reader) => {
                    let name = reader.name();
                    if name == "name" {
                        has_name_section = true;
                        // A malformed name section is ignored from the bad byte on, not fatal.
                        let r = wasmparser::BinaryReader::new(reader.data(), reader.data_offset());
                        'sub: for sub in wasmparser::NameSectionReader::new(r) {
                            let Ok(wasmparser::Name::Function(map)) = sub else {
                                if sub.is_err() {
                                    break;
                                }
                                continue;
                            };
                            for naming in map {
                                let Ok(naming) = naming else { break 'sub };
                                name_pairs.push((naming.index, naming.name.to_string()));
                            }
                        }
                    } else if name.starts_with(".debug_")
                        && !debug_sections.iter().any(|(n, _)| n == name)
                    {
                        let start = reader.data_offset();
                        debug_sections.push((name.to_string(), start..start + reader.data().len()));
                    }
                }
                _ => {}
            }
        }

        let total = num_imported_funcs as usize + bodies.len();
        let mut name_section_names = vec![None; total];
        for (idx, name) in name_pairs {
            if let Some(slot) = name_section_names.get_mut(idx as usize)
                && slot.is_none()
            {
                *slot = Some(name);
            }
        }
        let nonempty = |n: &str| debug_sections.iter().any(|(s, r)| s == n && !r.is_empty());
        let has_dwarf = nonempty(".debug_info") && nonempty(".debug_line");
        // Keep only the `.debug_*` payloads, back to back; the ranges now point into that copy.
        let mut data = Vec::with_capacity(debug_sections.iter().map(|(_, r)| r.len()).sum());
        for (_, r) in &mut debug_sections {
            let start = data.len();
            data.extend_from_slice(&module[r.clone()]);
            *r = start..data.len();
        }
        let first_live_address = bodies
            .first()
            .map_or(1, |b| u64::from(b.entry_start - code_payload_start));

        Ok(Symbolizer {
            data: Mutex::new(Some(Arc::from(data))),
            first_live_address,
            num_imported_funcs,
            code_payload_start,
            bodies,
            has_name_section,
            name_section_names,
            export_names,
            import_names,
            debug_sections,
            has_dwarf,
            names: OnceLock::new(),
            statics: OnceLock::new(),
            dwarf_sections: OnceLock::new(),
            dwarf: OnceLock::new(),
            scopes: Mutex::new(HashMap::new()),
        })
    }

    /// The module has a `name` custom section.
    pub fn has_name_section(&self) -> bool {
        self.has_name_section
    }

    /// The module has non-empty `.debug_info` and `.debug_line` sections.
    pub fn has_dwarf(&self) -> bool {
        self.has_dwarf
    }

    /// Number of imported functions (they come first in the function index space).
    pub fn num_imported_funcs(&self) -> u32 {
        self.num_imported_funcs
    }

    /// Number of functions defined in the module (bodies in the Code section).
    pub fn num_defined_funcs(&self) -> u32 {
        self.bodies.len() as u32
    }

    /// Total number of functions (imported + defined).
    pub fn num_funcs(&self) -> u32 {
        self.num_imported_funcs + self.bodies.len() as u32
    }

    /// Module offset of the Code section payload: DWARF code addresses are relative to it.
    pub fn code_section_payload_offset(&self) -> u32 {
        self.code_payload_start
    }

    /// Error met while parsing DWARF, if any (DWARF problems never make the symbolizer fail: it falls back
    /// to names).
    pub fn dwarf_error(&self) -> Option<&str> {
        match self.dwarf_state() {
            Some(Err(e)) => Some(e.as_str()),
            _ => None,
        }
    }

    /// Demangled name of function `func_index` (imports included): name section first, then DWARF
    /// (`DW_TAG_subprogram` whose `low_pc` lies in that function), then the export name, then (for imports)
    /// the import field name.
    pub fn function_name(&self, func_index: u32) -> Option<&str> {
        self.name_entry(func_index).map(|e| e.demangled.as_str())
    }

    /// The raw (mangled) name as it appears in the name section / DWARF linkage name / export.
    pub fn raw_function_name(&self, func_index: u32) -> Option<&str> {
        self.name_entry(func_index).map(|e| e.raw.as_str())
    }

    /// Where [`Self::function_name`] comes from.
    pub fn function_name_source(&self, func_index: u32) -> Option<NameSource> {
        self.name_entry(func_index).map(|e| e.source)
    }

    /// All functions with a name, by index.
    pub fn function_names(&self) -> Vec<NamedFunction> {
        self.name_table()
            .iter()
            .enumerate()
            .filter_map(|(i, e)| {
                e.as_ref().map(|e| NamedFunction {
                    index: i as u32,
                    raw: e.raw.clone(),
                    demangled: e.demangled.clone(),
                    source: e.source,
                })
            })
            .collect()
    }

    /// Functions whose raw or demangled name is exactly `name`.
    pub fn find_functions(&self, name: &str) -> Vec<u32> {
        self.name_table()
            .iter()
            .enumerate()
            .filter(|(_, e)| {
                e.as_ref()
                    .is_some_and(|e| e.raw == name || e.demangled == name)
            })
            .map(|(i, _)| i as u32)
            .collect()
    }

    /// `(start, end)` module offsets of the body of defined function `func_index` (start: the local
    /// declarations right after the body-size LEB; end: one past the final `end` opcode). `None` for imports
    /// and out-of-range indices.
    pub fn function_body_range(&self, func_index: u32) -> Option<(u32, u32)> {
        let b = self.body(func_index)?;
        Some((b.start, b.end))
    }

    /// The defined function whose body (size LEB included) contains module offset `module_offset`.
    pub fn func_index_at_offset(&self, module_offset: u32) -> Option<u32> {
        let i = self.body_index_containing(module_offset)?;
        Some(self.num_imported_funcs + i as u32)
    }

    /// Frames for one code location, innermost first; the last one is the physical function
    /// (`inlined == false`). `module_offset` is a byte offset from the start of the module file pointing at
    /// an instruction inside function `func_index`. Without DWARF, or when the offset is missing, outside the
    /// function or not covered by DWARF: a single frame with the function name and no file/line.
    pub fn symbolize(&self, func_index: u32, module_offset: Option<u32>) -> Vec<Frame> {
        let name_only = || {
            vec![Frame {
                function: self.display_name(func_index).into_owned(),
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
        if !self.has_dwarf {
            return name_only();
        }
        let Some(body) = self.body(func_index) else {
            return name_only();
        };
        if offset < body.entry_start || offset >= body.end {
            return name_only();
        }
        let Some(Ok(state)) = self.dwarf_state() else {
            return name_only();
        };
        let probe = u64::from(offset - self.code_payload_start);

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
                                        && let Some(args) =
                                            rust_generic_args(u, off, last_segment(&d))
                                    {
                                        d.push_str(&args);
                                    }
                                }
                                name = Some(d);
                            } else if !s.is_empty() {
                                let mut q = None;
                                if let (Some(off), true) = (f.dw_die_offset, has_scopes(n.language))
                                {
                                    let u = unit.get_or_insert_with(|| {
                                        ctx.find_dwarf_and_unit(probe).skip_all_loads()
                                    });
                                    if let Some(u) = u {
                                        q = self.qualify(u, off, &s);
                                    }
                                }
                                name = Some(q.unwrap_or_else(|| s.into_owned()));
                            }
                        }
                        let (file, line, column) = match &f.location {
                            Some(l) => (
                                l.file.map(str::to_string),
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
                    match self.function_name(func_index) {
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

    /// Static variables with a fixed address in linear memory, from DWARF (`DW_TAG_variable` whose
    /// `DW_AT_location` is exactly `DW_OP_addr`/`DW_OP_addrx`; thread-locals, which are relative to
    /// `__tls_base`, and variables the linker dropped are left out), sorted by address. Sizes come from the
    /// type (typedefs, `const`, `volatile` followed; arrays: element size × count). Empty without DWARF
    /// variables (e.g. Rust built with `debug = "line-tables-only"`).
    pub fn statics(&self) -> Vec<DataSymbol> {
        self.statics.get_or_init(|| self.read_statics()).clone()
    }

    /// The static variable whose bytes contain `address` (the smallest, when they nest).
    pub fn static_at(&self, address: u64) -> Option<DataSymbol> {
        let all = self.statics.get_or_init(|| self.read_statics());
        all.iter()
            .filter(|d| d.address <= address && address < d.address + d.size.max(1))
            .min_by_key(|d| d.size)
            .cloned()
    }

    // ---- internals ----

    fn read_statics(&self) -> Vec<DataSymbol> {
        let mut out = Vec::new();
        let Some(dwarf) = self.sections() else {
            return out;
        };
        let mut units = dwarf.units();
        while let Ok(Some(header)) = units.next() {
            let Ok(unit) = dwarf.unit(header) else {
                continue;
            };
            let unit = unit.unit_ref(dwarf);
            let scoped = has_scopes(unit_language(&unit));
            let encoding = unit.encoding();
            let mut entries = unit.entries();
            while let Ok(Some(entry)) = entries.next_dfs() {
                if entry.tag() != gimli::DW_TAG_variable {
                    continue;
                }
                let Some(gimli::AttributeValue::Exprloc(expr)) = entry.attr_value(gimli::DW_AT_location)
                else {
                    continue;
                };
                let mut ops = expr.operations(encoding);
                let address = match ops.next() {
                    Ok(Some(gimli::Operation::Address { address })) => Some(address),
                    Ok(Some(gimli::Operation::AddressIndex { index })) => unit.address(index).ok(),
                    _ => None,
                };
                // Exactly one operation: `DW_OP_addr X, DW_OP_plus` after a wasm global is a thread-local.
                let Some(address) = address else { continue };
                if !matches!(ops.next(), Ok(None)) {
                    continue;
                }
                let ones = if encoding.address_size >= 8 { u64::MAX } else { (1u64 << (8 * encoding.address_size)) - 1 };
                if address == 0 || address == ones || address == ones - 1 {
                    continue; // dropped by the linker (tombstone)
                }
                let Some((name, linkage, decl)) = subprogram_name(&unit, entry) else {
                    continue;
                };
                let name = if linkage {
                    demangle(&name)
                } else if scoped {
                    self.qualify(&unit, decl, &name).unwrap_or(name)
                } else {
                    name
                };
                let size = var_type(&unit, entry).and_then(|t| type_size(&unit, t, 0)).unwrap_or(0);
                out.push(DataSymbol { name, address, size });
            }
        }
        out.sort_by(|a, b| a.address.cmp(&b.address).then(b.size.cmp(&a.size)).then(a.name.cmp(&b.name)));
        out.dedup();
        out
    }

    fn display_name(&self, func_index: u32) -> Cow<'_, str> {
        match self.function_name(func_index) {
            Some(s) => Cow::Borrowed(s),
            None => Cow::Owned(format!("func[{func_index}]")),
        }
    }

    fn body(&self, func_index: u32) -> Option<&Body> {
        let i = func_index.checked_sub(self.num_imported_funcs)?;
        self.bodies.get(i as usize)
    }

    fn body_index_containing(&self, module_offset: u32) -> Option<usize> {
        let i = self.bodies.partition_point(|b| b.end <= module_offset);
        let b = self.bodies.get(i)?;
        (b.entry_start <= module_offset && module_offset < b.end).then_some(i)
    }

    fn name_entry(&self, func_index: u32) -> Option<&NameEntry> {
        self.name_table().get(func_index as usize)?.as_ref()
    }

    fn name_table(&self) -> &Vec<Option<NameEntry>> {
        self.names.get_or_init(|| self.build_name_table())
    }

    fn build_name_table(&self) -> Vec<Option<NameEntry>> {
        let entry = |raw: &str, source| NameEntry {
            raw: raw.to_string(),
            demangled: demangle(raw),
            source,
        };
        let mut table: Vec<Option<NameEntry>> = self
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
            .skip(self.num_imported_funcs as usize)
            .any(|e| e.is_none());
        if missing_defined && self.has_dwarf {
            for (idx, raw) in self.dwarf_function_names() {
                if let Some(slot @ None) = table.get_mut(idx as usize) {
                    *slot = Some(entry(&raw, NameSource::Dwarf));
                }
            }
        }
        for (idx, name) in &self.export_names {
            if let Some(slot @ None) = table.get_mut(*idx as usize) {
                *slot = Some(entry(name, NameSource::Export));
            }
        }
        for (idx, name) in self.import_names.iter().enumerate() {
            if let Some(slot @ None) = table.get_mut(idx)
                && !name.is_empty()
            {
                *slot = Some(entry(name, NameSource::Import));
            }
        }
        table
    }

    fn sections(&self) -> Option<&Arc<gimli::Dwarf<Reader>>> {
        self.dwarf_sections
            .get_or_init(|| {
                if !self.has_dwarf {
                    return None;
                }
                let mut data = self.data.lock().unwrap_or_else(|e| e.into_inner()).take()?;
                let load = |data: &Arc<[u8]>| {
                    let whole = gimli::EndianReader::new(data.clone(), LittleEndian);
                    let dwarf = gimli::Dwarf::load(|id: gimli::SectionId| {
                        let r = self
                            .debug_sections
                            .iter()
                            .find(|(n, _)| n == id.name())
                            .map(|(_, r)| r.clone())
                            .unwrap_or(0..0);
                        Ok::<_, gimli::Error>(whole.range(r))
                    });
                    dwarf.ok().map(|d| (d, whole))
                };
                let (dwarf, whole) = load(&data)?;
                // Neutralize the DWARF of code the linker dropped, so that it cannot shadow live code.
                let patches = dead_code_patches(&dwarf, &whole, self.first_live_address);
                if patches.is_empty() {
                    return Some(Arc::new(dwarf));
                }
                drop((dwarf, whole));
                let buf = match Arc::get_mut(&mut data) {
                    Some(buf) => buf,
                    None => {
                        data = Arc::from(&data[..]);
                        Arc::get_mut(&mut data)?
                    }
                };
                for (pos, bytes) in patches {
                    if let Some(dst) = buf.get_mut(pos..pos + bytes.len()) {
                        dst.copy_from_slice(&bytes);
                    }
                }
                let (dwarf, _) = load(&data)?;
                Some(Arc::new(dwarf))
            })
            .as_ref()
    }

    fn dwarf_state(&self) -> Option<&Result<DwarfState, String>> {
        if !self.has_dwarf {
            return None;
        }
        Some(self.dwarf.get_or_init(|| {
            let Some(sections) = self.sections() else {
                return Err("could not load the DWARF sections".to_string());
            };
            match addr2line::Context::from_arc_dwarf(sections.clone()) {
                Ok(ctx) => Ok(DwarfState {
                    ctx: Mutex::new(ctx),
                }),
                Err(e) => Err(format!("DWARF: {e}")),
            }
        }))
    }

    /// Qualify the bare DWARF `name` of the DIE at `die` (a subprogram or an inlined subroutine) with its
    /// enclosing namespaces and types: `alloc::rc::{impl#14}::new<T>` instead of `new<T>`.
    fn qualify(
        &self,
        unit: &gimli::UnitRef<'_, Reader>,
        die: gimli::UnitOffset,
        name: &str,
    ) -> Option<String> {
        // The declaration: follow abstract origins / specifications.
        let mut decl = die;
        let mut entry = unit.entry(die).ok()?;
        for _ in 0..8 {
            match origin(unit, &entry) {
                Some(e) => {
                    decl = e.offset();
                    entry = e;
                }
                None => break,
            }
        }
        let key = unit.unit.header.offset().0;
        let scopes = {
            let mut cache = self.scopes.lock().unwrap_or_else(|e| e.into_inner());
            cache
                .entry(key)
                .or_insert_with(|| Arc::new(UnitScopes::build(unit)))
                .clone()
        };
        scopes.qualify(decl.0, name)
    }

    /// `(func_index, raw name)` for each `DW_TAG_subprogram` with a `low_pc` inside a defined function.
    fn dwarf_function_names(&self) -> Vec<(u32, String)> {
        let mut out = Vec::new();
        let Some(dwarf) = self.sections() else {
            return out;
        };
        let mut units = dwarf.units();
        while let Ok(Some(header)) = units.next() {
            let Ok(unit) = dwarf.unit(header) else {
                continue;
            };
            let unit = unit.unit_ref(dwarf);
            let scoped = has_scopes(unit_language(&unit));
            let mut entries = unit.entries();
            while let Ok(Some(entry)) = entries.next_dfs() {
                if entry.tag() != gimli::DW_TAG_subprogram {
                    continue;
                }
                let Some(low) = entry.attr_value(gimli::DW_AT_low_pc) else {
                    continue;
                };
                let Ok(Some(addr)) = unit.attr_address(low) else {
                    continue;
                };
                let Some(off) = u64::from(self.code_payload_start)
                    .checked_add(addr)
                    .and_then(|o| u32::try_from(o).ok())
                else {
                    continue;
                };
                let Some(i) = self.body_index_containing(off) else {
                    continue;
                };
                if let Some((name, linkage, decl)) = subprogram_name(&unit, entry) {
                    let name = if !linkage && scoped {
                        self.qualify(&unit, decl, &name).unwrap_or(name)
                    } else {
                        name
                    };
                    out.push((self.num_imported_funcs + i as u32, name));
                }
            }
        }
        out
    }
}

/// Linkage name (else name) of a subprogram DIE, following `DW_AT_abstract_origin` / `DW_AT_specification`
/// within the unit. Returns the name, whether it is a linkage name, and the offset of the last DIE of the
/// chain (the declaration, whose parents are the enclosing scopes).
fn subprogram_name(
    unit: &gimli::UnitRef<'_, Reader>,
    entry: &gimli::DebuggingInformationEntry<Reader>,
) -> Option<(String, bool, gimli::UnitOffset)> {
    let mut plain: Option<String> = None;
    let mut current = entry.clone();
    for _ in 0..8 {
        for at in [gimli::DW_AT_linkage_name, gimli::DW_AT_MIPS_linkage_name] {
            if let Some(v) = current.attr_value(at)
                && let Ok(s) = unit.attr_string(v)
                && let Ok(s) = s.to_string_lossy()
                && !s.is_empty()
            {
                return Some((s.into_owned(), true, current.offset()));
            }
        }
        if plain.is_none()
            && let Some(v) = current.attr_value(gimli::DW_AT_name)
            && let Ok(s) = unit.attr_string(v)
        {
            plain = s
                .to_string_lossy()
                .ok()
                .map(|s| s.into_owned())
                .filter(|s| !s.is_empty());
        }
        match origin(unit, &current) {
            Some(e) => current = e,
            None => break,
        }
    }
    plain.map(|p| (p, false, current.offset()))
}

/// Byte index where the last `::`-separated segment of a demangled name starts (0 when there is one
/// segment); `::` inside `<...>` (`<alloc::vec::Vec<T,A> as core::ops::drop::Drop>::drop`) does not count.
fn last_segment_start(name: &str) -> usize {
    let b = name.as_bytes();
    let mut depth = 0i32;
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'<' => depth += 1,
            b'>' if i == 0 || b[i - 1] != b'-' => depth -= 1,
            // `name::<T>` (v0 turbofish) is one segment.
            b':' if depth == 0 && b.get(i + 1) == Some(&b':') && b.get(i + 2) != Some(&b'<') => {
                start = i + 2;
                i += 1;
            }
            _ => {}
        }
        i += 1;
    }
    start
}

/// The last `::`-separated segment of a demangled name: `new` in `alloc::sync::Arc<T>::new`.
fn last_segment(name: &str) -> &str {
    &name[last_segment_start(name)..]
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

/// The `DW_AT_type` of a variable, following its declaration (`DW_AT_specification`) when the definition
/// has none.
fn var_type(
    unit: &gimli::UnitRef<'_, Reader>,
    entry: &gimli::DebuggingInformationEntry<Reader>,
) -> Option<gimli::UnitOffset> {
    let mut current = entry.clone();
    for _ in 0..8 {
        if let Some(gimli::AttributeValue::UnitRef(t)) = current.attr_value(gimli::DW_AT_type) {
            return Some(t);
        }
        current = origin(unit, &current)?;
    }
    None
}

/// Byte size of the type at `offset`: `DW_AT_byte_size`, through typedefs and qualifiers; pointers without a
/// size are address-sized; arrays are element size × the product of their dimensions.
fn type_size(unit: &gimli::UnitRef<'_, Reader>, offset: gimli::UnitOffset, depth: u32) -> Option<u64> {
    if depth > 32 {
        return None;
    }
    let entry = unit.entry(offset).ok()?;
    if let Some(n) = entry.attr_value(gimli::DW_AT_byte_size).and_then(|v| v.udata_value()) {
        return Some(n);
    }
    let next = || match entry.attr_value(gimli::DW_AT_type) {
        Some(gimli::AttributeValue::UnitRef(t)) => Some(t),
        _ => None,
    };
    match entry.tag() {
        gimli::DW_TAG_typedef
        | gimli::DW_TAG_const_type
        | gimli::DW_TAG_volatile_type
        | gimli::DW_TAG_restrict_type
        | gimli::DW_TAG_atomic_type
        | gimli::DW_TAG_immutable_type
        | gimli::DW_TAG_shared_type => type_size(unit, next()?, depth + 1),
        gimli::DW_TAG_pointer_type
        | gimli::DW_TAG_reference_type
        | gimli::DW_TAG_rvalue_reference_type
        | gimli::DW_TAG_ptr_to_member_type => Some(u64::from(unit.encoding().address_size)),
        gimli::DW_TAG_array_type => {
            let element = type_size(unit, next()?, depth + 1)?;
            let mut count = 1u64;
            let mut any = false;
            let mut children = unit.entries_at_offset(offset).ok()?;
            let root_depth = children.next_dfs().ok()??.depth();
            while let Ok(Some(child)) = children.next_dfs() {
                if child.depth() <= root_depth {
                    break;
                }
                if child.depth() != root_depth + 1 || child.tag() != gimli::DW_TAG_subrange_type {
                    continue;
                }
                let n = if let Some(c) = child.attr_value(gimli::DW_AT_count).and_then(|v| v.udata_value()) {
                    c
                } else if let Some(u) = child.attr_value(gimli::DW_AT_upper_bound).and_then(|v| v.udata_value()) {
                    let lower = child.attr_value(gimli::DW_AT_lower_bound).and_then(|v| v.udata_value()).unwrap_or(0);
                    (u + 1).saturating_sub(lower)
                } else {
                    return None; // flexible array: unknown
                };
                count = count.saturating_mul(n);
                any = true;
            }
            any.then(|| element.saturating_mul(count))
        }
        _ => None,
    }
}

/// The DIE named by `DW_AT_abstract_origin` or `DW_AT_specification` (same unit only).
fn origin(
    unit: &gimli::UnitRef<'_, Reader>,
    entry: &gimli::DebuggingInformationEntry<Reader>,
) -> Option<gimli::DebuggingInformationEntry<Reader>> {
    [gimli::DW_AT_abstract_origin, gimli::DW_AT_specification]
        .into_iter()
        .find_map(|at| match entry.attr_value(at) {
            Some(gimli::AttributeValue::UnitRef(o)) => unit.entry(o).ok(),
            _ => None,
        })
}

fn unit_language(unit: &gimli::UnitRef<'_, Reader>) -> Option<gimli::DwLang> {
    let mut entries = unit.entries();
    let root = entries.next_dfs().ok()??;
    match root.attr_value(gimli::DW_AT_language) {
        Some(gimli::AttributeValue::Language(l)) => Some(l),
        _ => None,
    }
}

/// Languages whose bare DWARF names (`DW_AT_name`) are qualified by enclosing namespaces/types.
fn has_scopes(lang: Option<gimli::DwLang>) -> bool {
    matches!(
        lang,
        Some(
            gimli::DW_LANG_Rust
                | gimli::DW_LANG_C_plus_plus
                | gimli::DW_LANG_C_plus_plus_03
                | gimli::DW_LANG_C_plus_plus_11
                | gimli::DW_LANG_C_plus_plus_14
                | gimli::DW_LANG_C_plus_plus_17
                | gimli::DW_LANG_C_plus_plus_20
        )
    )
}

fn looks_mangled(name: &str) -> bool {
    name.starts_with("_Z") || name.starts_with("__Z") || name.starts_with("_R")
}

/// Enclosing scopes of the DIEs of one unit.
#[derive(Default)]
struct UnitScopes {
    /// DIE offset -> offset of its parent, for subprograms and scope DIEs.
    parent: HashMap<usize, usize>,
    /// Scope DIE offset -> its name (namespaces, types).
    name: HashMap<usize, String>,
}

impl UnitScopes {
    fn build(unit: &gimli::UnitRef<'_, Reader>) -> UnitScopes {
        let mut scopes = UnitScopes::default();
        let mut stack: Vec<(isize, usize)> = Vec::new();
        let mut entries = unit.entries();
        while let Ok(Some(entry)) = entries.next_dfs() {
            let depth = entry.depth();
            let offset = entry.offset().0;
            while stack.last().is_some_and(|&(d, _)| d >= depth) {
                stack.pop();
            }
            let tag = entry.tag();
            let is_scope = matches!(
                tag,
                gimli::DW_TAG_namespace
                    | gimli::DW_TAG_structure_type
                    | gimli::DW_TAG_class_type
                    | gimli::DW_TAG_union_type
                    | gimli::DW_TAG_enumeration_type
                    | gimli::DW_TAG_interface_type
            );
            if (is_scope || tag == gimli::DW_TAG_subprogram || tag == gimli::DW_TAG_variable)
                && let Some(&(_, p)) = stack.last()
            {
                scopes.parent.insert(offset, p);
            }
            if is_scope {
                let name = entry
                    .attr_value(gimli::DW_AT_name)
                    .and_then(|v| unit.attr_string(v).ok())
                    .and_then(|s| s.to_string_lossy().ok().map(|s| s.into_owned()))
                    .unwrap_or_else(|| {
                        if tag == gimli::DW_TAG_namespace {
                            "(anonymous namespace)".to_string()
                        } else {
                            "(anonymous)".to_string()
                        }
                    });
                scopes.name.insert(offset, name);
            }
            if entry.has_children() {
                stack.push((depth, offset));
            }
        }
        scopes
    }

    /// `a::b::name` from the scopes enclosing `offset`; `None` when there are none.
    fn qualify(&self, offset: usize, name: &str) -> Option<String> {
        let mut parts = Vec::new();
        let mut cur = offset;
        while let Some(&p) = self.parent.get(&cur) {
            match self.name.get(&p) {
                Some(n) => parts.push(n.as_str()),
                // A subprogram encloses it (a nested function): keep walking out.
                None if self.parent.contains_key(&p) => {}
                None => break,
            }
            if parts.len() > 64 {
                break;
            }
            cur = p;
        }
        if parts.is_empty() {
            return None;
        }
        parts.reverse();
        Some(format!("{}::{name}", parts.join("::")))
    }
}

// ---- dead code in DWARF ----
//
// When the linker drops a function (`--gc-sections`, COMDAT folding), its DWARF stays: the linker writes a
// tombstone into every address that pointed at it. lld writes `0xffffffff` (ignored by gimli/addr2line)
// for some sections, but lld-14 (Emscripten 3.1.x) writes 0, and then the dropped function claims
// `[0, size)`, overlapping the first live functions: addr2line may pick the dead unit/function/line
// sequence. In wasm no code can start before the first body (address 0 is the function-count LEB), so
// every range starting below it is dead. We rewrite those ranges, in our private copy of the DWARF, into
// forms gimli/addr2line skip: empty ranges, and the `-1` tombstone for line-program addresses.

/// Byte patches `(position in buf, new bytes)` that neutralize DWARF describing code below `first_live`.
fn dead_code_patches(
    dwarf: &gimli::Dwarf<Reader>,
    whole: &Reader,
    first_live: u64,
) -> Vec<(usize, Vec<u8>)> {
    use gimli::Section as _;
    let buf: &[u8] = whole.bytes();
    let start_of = |r: &Reader| r.offset_from(whole);
    let mut p = Patcher {
        buf,
        first_live,
        debug_info: start_of(dwarf.debug_info.reader()),
        debug_addr: start_of(dwarf.debug_addr.reader()),
        debug_ranges: start_of(dwarf.ranges.debug_ranges().reader()),
        debug_rnglists: start_of(dwarf.ranges.debug_rnglists().reader()),
        out: Vec::new(),
        seen_ranges: std::collections::HashSet::new(),
        seen_lines: std::collections::HashSet::new(),
    };
    let mut units = dwarf.units();
    while let Ok(Some(header)) = units.next() {
        let Ok(unit) = dwarf.unit(header) else {
            continue;
        };
        let unit = unit.unit_ref(dwarf);
        // Errors stop the walk of this unit only; what was found so far is still patched.
        let _ = p.unit(&unit);
        if let Some(lp) = &unit.line_program {
            let h = lp.header();
            let prog = h.raw_program_buf();
            let start = start_of(&prog);
            if p.seen_lines.insert(start) {
                let lengths = h.standard_opcode_lengths().to_slice().unwrap_or_default();
                p.line_program(
                    start,
                    prog.len(),
                    h.opcode_base(),
                    &lengths,
                    h.address_size(),
                );
            }
        }
    }
    p.out
}

struct Patcher<'a> {
    buf: &'a [u8],
    first_live: u64,
    debug_info: usize,
    debug_addr: usize,
    debug_ranges: usize,
    debug_rnglists: usize,
    out: Vec<(usize, Vec<u8>)>,
    seen_ranges: std::collections::HashSet<usize>,
    seen_lines: std::collections::HashSet<usize>,
}

/// A little-endian unsigned value of `size` bytes at `pos`.
fn read_uint(buf: &[u8], pos: usize, size: usize) -> Option<u64> {
    let b = buf.get(pos..pos.checked_add(size)?)?;
    if size > 8 {
        return None;
    }
    Some(
        b.iter()
            .rev()
            .fold(0u64, |acc, &x| (acc << 8) | u64::from(x)),
    )
}

/// ULEB128 at `*pos` (advanced past it); `None` when truncated.
fn read_uleb(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    let mut shift = 0u32;
    loop {
        let b = *buf.get(*pos)?;
        *pos += 1;
        if shift < 64 {
            value |= u64::from(b & 0x7f) << shift;
        }
        shift += 7;
        if b & 0x80 == 0 {
            return Some(value);
        }
    }
}

/// `len` bytes encoding ULEB128 0 (padded with continuation bytes).
fn zero_uleb(len: usize) -> Vec<u8> {
    let mut v = vec![0x80; len];
    if let Some(last) = v.last_mut() {
        *last = 0;
    }
    v
}

impl Patcher<'_> {
    fn dead(&self, address: u64) -> bool {
        address < self.first_live
    }

    fn patch(&mut self, pos: usize, bytes: Vec<u8>) {
        if pos
            .checked_add(bytes.len())
            .is_some_and(|end| end <= self.buf.len())
        {
            self.out.push((pos, bytes));
        }
    }

    /// Make the `low_pc`/`high_pc` of DIEs whose code is dead empty (`[-1, -1)`), and walk their range
    /// lists.
    fn unit(&mut self, unit: &gimli::UnitRef<'_, Reader>) -> gimli::Result<()> {
        let Some(info) = unit.header.debug_info_offset() else {
            return Ok(());
        };
        let unit_start = self.debug_info + info.0;
        let size = usize::from(unit.encoding().address_size);
        let addr_base = self.debug_addr + unit.addr_base.0;
        // Position of the value of an address attribute (in .debug_info or .debug_addr).
        let addr_pos =
            |form: gimli::DwForm, value: &gimli::AttributeValue<Reader>, pos: usize| match value {
                gimli::AttributeValue::Addr(_) if form == gimli::DW_FORM_addr => Some(pos),
                gimli::AttributeValue::DebugAddrIndex(i) => {
                    i.0.checked_mul(size).map(|o| addr_base + o)
                }
                _ => None,
            };
        let mut entries = unit.entries_raw(None)?;
        while !entries.is_empty() {
            let Some(abbrev) = entries.read_abbreviation()? else {
                continue;
            };
            let mut low = None;
            let mut high = None;
            let mut has_ranges = false;
            for spec in abbrev.attributes() {
                let pos = unit_start + entries.next_offset().0;
                let attr = entries.read_attribute(*spec)?;
                let end = unit_start + entries.next_offset().0;
                // DW_FORM_indirect: the value does not start at `pos`; leave such attributes alone.
                let form = if attr.form() == spec.form() {
                    attr.form()
                } else {
                    gimli::DW_FORM_indirect
                };
                match attr.name() {
                    gimli::DW_AT_low_pc => low = Some((form, attr.value(), pos)),
                    gimli::DW_AT_high_pc => high = Some((form, attr.value(), pos, end)),
                    gimli::DW_AT_ranges => {
                        has_ranges = true;
                        if let Ok(Some(off)) = unit.attr_ranges_offset(attr.value()) {
                            self.ranges(unit, off.0);
                        }
                    }
                    _ => {}
                }
            }
            // With DW_AT_ranges, DW_AT_low_pc is the base address of the list, not a range.
            if has_ranges {
                continue;
            }
            let Some((form, value, pos)) = low else {
                continue;
            };
            let begin = match value {
                gimli::AttributeValue::Addr(a) => a,
                gimli::AttributeValue::DebugAddrIndex(i) => match unit.address(i) {
                    Ok(a) => a,
                    Err(_) => continue,
                },
                _ => continue,
            };
            if !self.dead(begin) {
                continue;
            }
            let Some(low_pos) = addr_pos(form, &value, pos) else {
                continue;
            };
            self.patch(low_pos, vec![0xff; size]);
            if let Some((form, value, pos, end)) = high {
                if let Some(p) = addr_pos(form, &value, pos) {
                    self.patch(p, vec![0xff; size]);
                } else if form == gimli::DW_FORM_udata {
                    self.patch(pos, zero_uleb(end - pos));
                } else if matches!(
                    form,
                    gimli::DW_FORM_data1
                        | gimli::DW_FORM_data2
                        | gimli::DW_FORM_data4
                        | gimli::DW_FORM_data8
                ) {
                    self.patch(pos, vec![0; end - pos]);
                }
            }
        }
        Ok(())
    }

    /// Empty the entries of the range list at `offset` that start below the first live address.
    fn ranges(&mut self, unit: &gimli::UnitRef<'_, Reader>, offset: usize) {
        let size = usize::from(unit.encoding().address_size);
        let ones = if size >= 8 {
            u64::MAX
        } else {
            (1u64 << (8 * size)) - 1
        };
        let mut base = unit.low_pc;
        if unit.encoding().version <= 4 {
            let mut pos = self.debug_ranges + offset;
            if !self.seen_ranges.insert(pos) {
                return;
            }
            for _ in 0..1_000_000 {
                let (Some(b), Some(e)) = (
                    read_uint(self.buf, pos, size),
                    read_uint(self.buf, pos + size, size),
                ) else {
                    return;
                };
                if b == 0 && e == 0 {
                    return;
                }
                if b == ones {
                    base = e;
                } else {
                    let begin = base.wrapping_add(b);
                    let end = base.wrapping_add(e);
                    if begin < end && self.dead(begin) {
                        // (1, 1): empty, and neither the end of the list nor a base address selection.
                        let mut one = vec![0; size];
                        one[0] = 1;
                        self.patch(pos, [one.clone(), one].concat());
                    }
                }
                pos += 2 * size;
            }
            return;
        }
        // DWARF 5 .debug_rnglists.
        let mut pos = self.debug_rnglists + offset;
        if !self.seen_ranges.insert(pos) {
            return;
        }
        let addrx = |i: u64| {
            unit.address(gimli::DebugAddrIndex(usize::try_from(i).ok()?))
                .ok()
        };
        for _ in 0..1_000_000 {
            let Some(&kind) = self.buf.get(pos) else {
                return;
            };
            pos += 1;
            match kind {
                0 => return, // DW_RLE_end_of_list
                1 => {
                    // DW_RLE_base_addressx
                    let Some(i) = read_uleb(self.buf, &mut pos) else {
                        return;
                    };
                    base = addrx(i).unwrap_or(ones);
                }
                2 | 3 => {
                    // DW_RLE_startx_endx, DW_RLE_startx_length
                    let Some(i) = read_uleb(self.buf, &mut pos) else {
                        return;
                    };
                    let second = pos;
                    let Some(v) = read_uleb(self.buf, &mut pos) else {
                        return;
                    };
                    let begin = addrx(i);
                    let end = if kind == 2 {
                        addrx(v)
                    } else {
                        begin.map(|b| b.wrapping_add(v))
                    };
                    if kind == 3
                        && let (Some(b), Some(e)) = (begin, end)
                        && b < e
                        && self.dead(b)
                    {
                        self.patch(second, zero_uleb(pos - second));
                    }
                }
                4 => {
                    // DW_RLE_offset_pair
                    let first = pos;
                    let (Some(b), Some(e)) =
                        (read_uleb(self.buf, &mut pos), read_uleb(self.buf, &mut pos))
                    else {
                        return;
                    };
                    let begin = base.wrapping_add(b);
                    if begin < base.wrapping_add(e) && self.dead(begin) {
                        // Both operands 0: an empty range.
                        let mut p = first;
                        read_uleb(self.buf, &mut p);
                        let mid = p;
                        self.patch(first, zero_uleb(mid - first));
                        self.patch(mid, zero_uleb(pos - mid));
                    }
                }
                5 => {
                    // DW_RLE_base_address
                    let Some(a) = read_uint(self.buf, pos, size) else {
                        return;
                    };
                    base = a;
                    pos += size;
                }
                6 => {
                    // DW_RLE_start_end: end := start.
                    let (Some(b), Some(e)) = (
                        read_uint(self.buf, pos, size),
                        read_uint(self.buf, pos + size, size),
                    ) else {
                        return;
                    };
                    if b < e && self.dead(b) {
                        self.patch(pos + size, self.buf[pos..pos + size].to_vec());
                    }
                    pos += 2 * size;
                }
                7 => {
                    // DW_RLE_start_length: length := 0.
                    let Some(b) = read_uint(self.buf, pos, size) else {
                        return;
                    };
                    pos += size;
                    let second = pos;
                    let Some(len) = read_uleb(self.buf, &mut pos) else {
                        return;
                    };
                    if len > 0 && self.dead(b) {
                        self.patch(second, zero_uleb(pos - second));
                    }
                }
                _ => return,
            }
        }
    }

    /// Turn every `DW_LNE_set_address` below the first live address into the `-1` tombstone: gimli then
    /// skips the rows up to the next `DW_LNE_set_address`.
    fn line_program(
        &mut self,
        start: usize,
        len: usize,
        opcode_base: u8,
        lengths: &[u8],
        address_size: u8,
    ) {
        let size = usize::from(address_size);
        let end = start.saturating_add(len).min(self.buf.len());
        let mut pos = start;
        while pos < end {
            let op = self.buf[pos];
            pos += 1;
            if op >= opcode_base {
                continue; // special opcode
            }
            match op {
                0 => {
                    // Extended opcode: ULEB length, sub-opcode, operands.
                    let Some(n) = read_uleb(self.buf, &mut pos) else {
                        return;
                    };
                    let Some(n) = usize::try_from(n).ok().filter(|&n| n <= end - pos) else {
                        return;
                    };
                    if n == 1 + size
                        && self.buf.get(pos) == Some(&0x02) // DW_LNE_set_address
                        && let Some(a) = read_uint(self.buf, pos + 1, size)
                        && self.dead(a)
                    {
                        self.patch(pos + 1, vec![0xff; size]);
                    }
                    pos += n;
                }
                9 => pos += 2, // DW_LNS_fixed_advance_pc: uhalf
                _ => {
                    let operands = lengths.get(usize::from(op) - 1).copied().unwrap_or(0);
                    for _ in 0..operands {
                        if read_uleb(self.buf, &mut pos).is_none() {
                            return;
                        }
                    }
                }
            }
        }
    }
}
