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

mod dead_code;
mod demangle;
mod dwarf;
mod error;
mod frames;
mod module;
mod names;
mod scopes;
mod statics;

use std::fmt;
use std::sync::{Arc, OnceLock};

pub use demangle::{demangle, last_segment, without_crate_hashes};
pub use error::Error;
pub use frames::Frame;
pub use names::{NameSource, NamedFunction};
pub use statics::DataSymbol;

use dwarf::ModuleDwarf;
use module::Module;
use names::NameEntry;

/// Symbolizer for one module. `Send + Sync`; share it behind an `Arc`.
pub struct Symbolizer {
    /// What the sections say, apart from the DWARF.
    module: Module,
    /// The DWARF, parsed on first use.
    dwarf: ModuleDwarf,
    names: OnceLock<Vec<Option<NameEntry>>>,
    statics: OnceLock<Vec<DataSymbol>>,
    /// [`Self::dwarf_maps_code`], once: a report asks each time, and a module whose DWARF maps nothing is walked whole.
    maps_code: OnceLock<bool>,
    /// With a separate debug file: where its names and DWARF come from, and how far its Code section sits
    /// from the running module's (module offsets of the running module + `shift` = the debug file's).
    debug_file: Option<(String, i64)>,
}

impl fmt::Debug for Symbolizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Symbolizer")
            .field("num_imported_funcs", &self.module.num_imported_funcs)
            .field("num_defined_funcs", &self.module.bodies.len())
            .field("code_payload_start", &self.module.code_payload_start)
            .field("has_name_section", &self.module.has_name_section)
            .field("has_dwarf", &self.dwarf.has_dwarf())
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
        Symbolizer::parse(module, None)
    }

    /// [`Symbolizer::new`] of a module kept in memory anyway: its DWARF is read where it is, not copied (2.2 MB
    /// of a small Rust debug build, most of a large one).
    pub fn new_shared(module: &Arc<[u8]>) -> Result<Symbolizer, Error> {
        Symbolizer::parse(module, Some(module))
    }

    fn parse(module: &[u8], shared: Option<&Arc<[u8]>>) -> Result<Symbolizer, Error> {
        let (module, debug) = Module::parse(module, shared)?;
        let dwarf = ModuleDwarf::new(debug, module.first_live_address());
        Ok(Symbolizer {
            module,
            dwarf,
            names: OnceLock::new(),
            statics: OnceLock::new(),
            maps_code: OnceLock::new(),
            debug_file: None,
        })
    }

    /// Symbolize `running` (a stripped module) with the names and DWARF of `debug`, its unstripped build or a
    /// separate DWARF file (Emscripten's `-gseparate-dwarf`): the two must have the same code, byte for byte
    /// (custom sections apart; the Code section may sit at another file offset). `label` says where the names
    /// come from (`debug_source`).
    pub fn with_debug_file(running: &[u8], debug: &[u8], label: &str) -> Result<Symbolizer, Error> {
        let run = module::code_section(running)?.ok_or_else(|| Error::DebugMismatch("the module has no code".into()))?;
        let dbg = module::code_section(debug)?.ok_or_else(|| {
            Error::DebugMismatch(format!("{label} has no Code section (a DWARF-only file needs the code too)"))
        })?;
        if running[run.clone()] != debug[dbg.clone()] {
            return Err(Error::DebugMismatch(format!(
                "{label} is not a build of this module: their code differs ({} and {} bytes{}). The stripped module \
                 must be the debug build with its custom sections removed: strip that build itself with llvm-objcopy \
                 --strip-all, wasm-strip or wasm-tools strip, which keep the code byte for byte — not with wasm-opt \
                 (--strip-debug re-encodes the code), and not by building again with other settings (a cargo profile's \
                 strip or debug setting changes the crate's hash, and the code with it)",
                run.len(),
                dbg.len(),
                if run.len() == dbg.len() { ", same size" } else { "" }
            )));
        }
        let mut s = Symbolizer::new(debug)?;
        s.debug_file = Some((label.to_string(), dbg.start as i64 - run.start as i64));
        Ok(s)
    }

    /// Where the names and DWARF come from when they are not the module's own (see [`Self::with_debug_file`]).
    pub fn debug_source(&self) -> Option<&str> {
        self.debug_file.as_ref().map(|(l, _)| l.as_str())
    }

    /// Module offset in the file the names came from, for a module offset of the running module.
    fn to_debug(&self, module_offset: u32) -> u32 {
        let shift = self.debug_file.as_ref().map_or(0, |d| d.1);
        (module_offset as i64 + shift).clamp(0, u32::MAX as i64) as u32
    }

    fn from_debug(&self, offset: u32) -> u32 {
        let shift = self.debug_file.as_ref().map_or(0, |d| d.1);
        (offset as i64 - shift).clamp(0, u32::MAX as i64) as u32
    }

    /// Number of functions with a name in the name section.
    pub fn num_names(&self) -> usize {
        self.module.name_section_names.iter().filter(|n| n.is_some()).count()
    }

    /// The module has a `name` custom section.
    pub fn has_name_section(&self) -> bool {
        self.module.has_name_section
    }

    /// The module has non-empty `.debug_info` and `.debug_line` sections.
    pub fn has_dwarf(&self) -> bool {
        self.dwarf.has_dwarf()
    }

    /// The DWARF gives a line for some function's code: a build optimised after linking (wasm-opt, which clang runs
    /// at link time with -O2 and up) keeps debug sections that describe code it rewrote, and map none of it.
    /// Looks at each function's first instruction until one has a line.
    pub fn dwarf_maps_code(&self) -> bool {
        *self.maps_code.get_or_init(|| {
            self.has_dwarf()
                && (self.num_imported_funcs()..self.num_funcs()).any(|f| {
                    let Some((start, end)) = self.function_body_range(f) else { return false };
                    // Past the size LEB and the locals: any offset inside the body that the line table covers.
                    let probe = [start + (end - start) / 2, end.saturating_sub(1)];
                    probe.iter().any(|&o| self.symbolize(f, Some(o)).iter().any(|fr| fr.line.is_some()))
                })
        })
    }

    /// Number of imported functions (they come first in the function index space).
    pub fn num_imported_funcs(&self) -> u32 {
        self.module.num_imported_funcs
    }

    /// Number of functions defined in the module (bodies in the Code section).
    pub fn num_defined_funcs(&self) -> u32 {
        self.module.bodies.len() as u32
    }

    /// Total number of functions (imported + defined).
    pub fn num_funcs(&self) -> u32 {
        self.module.num_imported_funcs + self.module.bodies.len() as u32
    }

    /// Module offset of the Code section payload: DWARF code addresses are relative to it.
    pub fn code_section_payload_offset(&self) -> u32 {
        self.from_debug(self.module.code_payload_start)
    }

    /// Error met while parsing DWARF, if any (DWARF problems never make the symbolizer fail: it falls back
    /// to names).
    pub fn dwarf_error(&self) -> Option<&str> {
        match self.dwarf.state() {
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

    /// Function names DWARF knows and the name section does not (by index, raw): the allocator finder's
    /// second source of names.
    pub fn dwarf_function_names(&self) -> std::collections::HashMap<u32, String> {
        self.function_names().into_iter().filter(|n| n.source == NameSource::Dwarf).map(|n| (n.index, n.raw)).collect()
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
        let b = self.module.body(func_index)?;
        Some((self.from_debug(b.start), self.from_debug(b.end)))
    }

    /// The defined function whose body (size LEB included) contains module offset `module_offset`.
    pub fn func_index_at_offset(&self, module_offset: u32) -> Option<u32> {
        let i = self.module.body_index_containing(self.to_debug(module_offset))?;
        Some(self.module.num_imported_funcs + i as u32)
    }

    /// Frames for one code location, innermost first; the last one is the physical function
    /// (`inlined == false`). `module_offset` is a byte offset from the start of the module file pointing at
    /// an instruction inside function `func_index`. Without DWARF, or when the offset is missing, outside the
    /// function or not covered by DWARF: a single frame with the function name and no file/line.
    pub fn symbolize(&self, func_index: u32, module_offset: Option<u32>) -> Vec<Frame> {
        let mut frames = frames::symbolize(
            &self.module,
            &self.dwarf,
            func_index,
            module_offset.map(|o| self.to_debug(o)),
            self.function_name(func_index),
        );
        // Without a line to tell them apart, functions of one name (Rust's copies of a generic) are told by their
        // index, as a stripped module's are: distinct tests' leaks made one group "at FnOnce::call_once".
        if let Some(f) = frames.last_mut()
            && f.file.is_none()
            && self.name_entry(func_index).is_some_and(|e| e.shared && e.demangled == f.function)
        {
            f.function = format!("{} (func[{func_index}])", f.function);
        }
        frames
    }

    /// Static variables with a fixed address in linear memory, from DWARF (`DW_TAG_variable` whose
    /// `DW_AT_location` is exactly `DW_OP_addr`/`DW_OP_addrx`; thread-locals, which are relative to
    /// `__tls_base`, and variables the linker dropped are left out), sorted by address. Sizes come from the
    /// type (typedefs, `const`, `volatile` followed; arrays: element size × count). Empty without DWARF
    /// variables (e.g. Rust built with `debug = "line-tables-only"`).
    pub fn statics(&self) -> Vec<DataSymbol> {
        self.static_table().clone()
    }

    /// The static variable whose bytes contain `address` (the smallest, when they nest).
    pub fn static_at(&self, address: u64) -> Option<DataSymbol> {
        statics::static_at(self.static_table(), address)
    }

    /// Do now what the first report would do on first use: load the DWARF (dead code neutralized), build the
    /// line tables' context, the name table and the statics. A host with a core to spare (the JS runtime's
    /// analysis thread) calls it while the program runs, so that the report at exit does not wait for it.
    pub fn prepare(&self) {
        self.name_table();
        self.static_table();
        self.dwarf.state();
    }

    // ---- internals ----

    fn static_table(&self) -> &Vec<DataSymbol> {
        self.statics
            .get_or_init(|| statics::read_statics(&self.dwarf))
    }

    fn name_entry(&self, func_index: u32) -> Option<&NameEntry> {
        self.name_table().get(func_index as usize)?.as_ref()
    }

    fn name_table(&self) -> &Vec<Option<NameEntry>> {
        self.names
            .get_or_init(|| names::build_name_table(&self.module, &self.dwarf))
    }
}
