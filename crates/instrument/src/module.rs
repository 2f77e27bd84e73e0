//! What the rest of the pipeline needs to know about a module, read once.

use std::collections::HashMap;
use std::ops::Range;

use wasmparser::{
    ConstExpr, DataKind, ExternalKind, KnownCustom, Name, Operator, Parser, Payload, TypeRef, ValType,
};

use crate::Error;

/// wasm-ld's default `--global-base`: static data starts here unless the stack comes first.
pub const WASM_LD_GLOBAL_BASE: u64 = 1024;

#[derive(Clone, Debug, Default)]
pub struct Section {
    pub id: u8,
    /// Custom sections: their name; others: the standard name.
    pub name: String,
    /// Byte range of the section's payload in the file.
    pub range: Range<usize>,
    /// Entries for the standard sections that have a count.
    pub count: Option<u32>,
}

#[derive(Clone, Debug)]
pub struct Import {
    pub module: String,
    pub name: String,
    /// "func", "memory", "global", "table", "tag"
    pub kind: &'static str,
}

#[derive(Clone, Debug)]
pub struct Export {
    pub name: String,
    pub kind: ExternalKind,
    pub index: u32,
}

#[derive(Clone, Debug)]
pub struct Memory {
    pub imported: bool,
    pub initial_pages: u64,
    pub maximum_pages: Option<u64>,
    pub memory64: bool,
    pub shared: bool,
}

#[derive(Clone, Debug)]
pub struct Global {
    pub imported: bool,
    pub ty: ValType,
    pub mutable: bool,
    /// The initial value when it is a constant.
    pub init: Option<i64>,
    pub name: Option<String>,
}

#[derive(Clone, Debug)]
pub struct DataSegment {
    /// Active segments in memory 0 with a constant offset: where they land.
    pub offset: Option<u64>,
    pub len: u64,
    pub name: Option<String>,
    /// The bytes the segment writes at instantiation (shared: a `ModuleInfo` is cloned for each run, and flite's
    /// segments are 20 MB).
    pub init: std::sync::Arc<[u8]>,
}

#[derive(Clone, Debug, Default)]
pub struct ModuleInfo {
    pub sections: Vec<Section>,
    /// Each function type as (params, results).
    pub types: Vec<Option<(Vec<ValType>, Vec<ValType>)>>,
    pub imports: Vec<Import>,
    pub num_imported_funcs: u32,
    /// Type index of every function, imports first.
    pub func_types: Vec<u32>,
    pub memories: Vec<Memory>,
    pub globals: Vec<Global>,
    pub exports: Vec<Export>,
    pub data: Vec<DataSegment>,
    pub start: Option<u32>,
    /// Function names from the name section (raw, as written).
    pub func_names: HashMap<u32, String>,
    pub module_name: Option<String>,
    /// Producers section: (field, [(name, version)]).
    pub producers: Vec<(String, Vec<(String, String)>)>,
    pub code_range: Option<Range<usize>>,
    /// The `build_id` custom section (wasm-ld `--build-id`): identifies the build across stripped copies.
    pub build_id: Option<Vec<u8>>,
    /// The `external_debug_info` custom section: where the DWARF went (Emscripten `-gseparate-dwarf`).
    pub external_debug_info: Option<String>,
    /// Ranges the start function zeroes (`memory.fill` with constant operands): the bss of a module whose data
    /// segments are passive (shared memory: wasm-ld's `__wasm_init_memory`).
    pub bss: Vec<Range<u64>>,
    /// Some type declares a supertype or is not final (GC subtyping): a `call_indirect` of a type may then call
    /// functions of its subtypes.
    pub subtyping: bool,
    /// Some table starts filled by an initializer expression (function references), not only by element segments.
    pub table_init: bool,
    /// Work done once on the module's bytes: the code scan, the validation (statics.rs `Done`).
    pub(crate) done: crate::statics::Done,
}

/// A LEB128-prefixed byte vector.
fn read_vec(data: &[u8]) -> Option<&[u8]> {
    let mut r = wasmparser::BinaryReader::new(data, 0);
    let n = r.read_var_u32().ok()? as usize;
    let at = r.original_position();
    data.get(at..at.checked_add(n)?)
}

impl ModuleInfo {
    /// Validate `bytes`, the module this describes, once: the entry points that read code ([`crate::discover`]…)
    /// find it done (a 45 MB module took 0.3 s to validate).
    pub fn validate(&self, bytes: &[u8]) -> Result<(), crate::Error> {
        self.done.validate(bytes)
    }

    pub fn parse(bytes: &[u8]) -> Result<ModuleInfo, Error> {
        check_header(bytes)?;
        let mut m = ModuleInfo::default();
        let mut code_index = 0;
        let mut placed = Vec::new();
        for payload in Parser::new(0).parse_all(bytes) {
            let payload = payload?;
            if let Some((id, range)) = payload.as_section() {
                let (name, count) = section_label(&payload);
                m.sections.push(Section { id, name, range, count });
            }
            match payload {
                Payload::Version { encoding: wasmparser::Encoding::Component, .. } => {
                    return Err(Error::Component);
                }
                Payload::TypeSection(r) => {
                    for group in r {
                        for sub in group?.into_types() {
                            m.subtyping |= !sub.is_final || sub.supertype_idx.is_some();
                            m.types.push(match &sub.composite_type.inner {
                                wasmparser::CompositeInnerType::Func(f) => {
                                    Some((f.params().to_vec(), f.results().to_vec()))
                                }
                                _ => None,
                            });
                        }
                    }
                }
                Payload::ImportSection(r) => {
                    for imp in r.into_imports() {
                        let imp = imp?;
                        let kind = match imp.ty {
                            TypeRef::Func(t) | TypeRef::FuncExact(t) => {
                                m.num_imported_funcs += 1;
                                m.func_types.push(t);
                                "func"
                            }
                            TypeRef::Memory(t) => {
                                m.memories.push(memory(&t, true));
                                "memory"
                            }
                            TypeRef::Global(g) => {
                                m.globals.push(Global {
                                    imported: true,
                                    ty: g.content_type,
                                    mutable: g.mutable,
                                    init: None,
                                    name: None,
                                });
                                "global"
                            }
                            TypeRef::Table(_) => "table",
                            TypeRef::Tag(_) => "tag",
                        };
                        m.imports.push(Import { module: imp.module.to_string(), name: imp.name.to_string(), kind });
                    }
                }
                Payload::FunctionSection(r) => {
                    for t in r {
                        m.func_types.push(t?);
                    }
                }
                Payload::MemorySection(r) => {
                    for t in r {
                        m.memories.push(memory(&t?, false));
                    }
                }
                Payload::GlobalSection(r) => {
                    for g in r {
                        let g = g?;
                        m.globals.push(Global {
                            imported: false,
                            ty: g.ty.content_type,
                            mutable: g.ty.mutable,
                            init: const_value(&g.init_expr),
                            name: None,
                        });
                    }
                }
                Payload::TableSection(r) => {
                    for t in r {
                        m.table_init |= matches!(t?.init, wasmparser::TableInit::Expr(_));
                    }
                }
                Payload::ExportSection(r) => {
                    for e in r {
                        let e = e?;
                        m.exports.push(Export { name: e.name.to_string(), kind: e.kind, index: e.index });
                    }
                }
                Payload::StartSection { func, .. } => m.start = Some(func),
                Payload::DataSection(r) => {
                    for d in r {
                        let d = d?;
                        let offset = match d.kind {
                            DataKind::Active { memory_index: 0, offset_expr } => {
                                const_value(&offset_expr).map(|v| v as u64)
                            }
                            _ => None,
                        };
                        m.data.push(DataSegment { offset, len: d.data.len() as u64, name: None, init: d.data.into() });
                    }
                }
                Payload::CodeSectionStart { range, .. } => m.code_range = Some(range),
                Payload::CodeSectionEntry(body) => {
                    if m.start == Some(m.num_imported_funcs + code_index) {
                        (placed, m.bss) = start_placements(&body);
                    }
                    code_index += 1;
                }
                Payload::CustomSection(c) => match c.as_known() {
                    KnownCustom::Name(names) => m.read_names(names),
                    KnownCustom::Producers(p) => {
                        for field in p.into_iter().flatten() {
                            let values = field
                                .values
                                .into_iter()
                                .flatten()
                                .map(|v| (v.name.to_string(), v.version.to_string()))
                                .collect();
                            m.producers.push((field.name.to_string(), values));
                        }
                    }
                    // tool-conventions: `build_id` and `external_debug_info` each hold one vec(byte).
                    _ if c.name() == "build_id" => m.build_id = read_vec(c.data()).map(<[u8]>::to_vec),
                    _ if c.name() == "external_debug_info" => {
                        m.external_debug_info = read_vec(c.data()).and_then(|b| std::str::from_utf8(b).ok()).map(str::to_string);
                    }
                    _ => {}
                },
                _ => {}
            }
        }
        // Passive segments land where the start function copies them.
        for (segment, at) in placed {
            if let Some(d) = m.data.get_mut(segment as usize).filter(|d| d.offset.is_none()) {
                d.offset = Some(at);
            }
        }
        Ok(m)
    }

    /// A malformed name section is ignored, as engines do: names are a convenience.
    fn read_names(&mut self, names: wasmparser::NameSectionReader<'_>) {
        for sub in names.into_iter().flatten() {
            match sub {
                Name::Module { name, .. } => self.module_name = Some(name.to_string()),
                Name::Function(map) => {
                    for n in map.into_iter().flatten() {
                        self.func_names.insert(n.index, n.name.to_string());
                    }
                }
                Name::Global(map) => {
                    for n in map.into_iter().flatten() {
                        if let Some(g) = self.globals.get_mut(n.index as usize) {
                            g.name = Some(n.name.to_string());
                        }
                    }
                }
                Name::Data(map) => {
                    for n in map.into_iter().flatten() {
                        if let Some(d) = self.data.get_mut(n.index as usize) {
                            d.name = Some(n.name.to_string());
                        }
                    }
                }
                _ => {}
            }
        }
    }

    pub fn num_funcs(&self) -> u32 {
        self.func_types.len() as u32
    }

    /// (params, results) of function `func`.
    pub fn func_signature(&self, func: u32) -> Option<&(Vec<ValType>, Vec<ValType>)> {
        let ty = *self.func_types.get(func as usize)?;
        self.types.get(ty as usize)?.as_ref()
    }

    pub fn export_name(&self, kind: ExternalKind, index: u32) -> Option<&str> {
        self.exports.iter().find(|e| e.kind == kind && e.index == index).map(|e| e.name.as_str())
    }

    pub fn has_section(&self, name: &str) -> bool {
        self.sections.iter().any(|s| s.name == name)
    }

    pub fn has_dwarf(&self) -> bool {
        self.has_section(".debug_info")
    }

    /// The shadow-stack pointer: the global named `__stack_pointer`, else the first mutable i32 global
    /// with a constant initial value (wasm-ld always makes it global 0).
    /// Where static data starts: the lowest active data segment, else wasm-ld's default `--global-base` (1024),
    /// where a module whose statics are all zero-initialised (bss only: no data segment at all) keeps them.
    pub fn static_start(&self) -> u64 {
        self.data.iter().filter_map(|d| d.offset).min().unwrap_or(WASM_LD_GLOBAL_BASE)
    }

    /// Where the data segments end (the start of bss), [`ModuleInfo::static_start`] when there are none.
    pub fn static_segments_end(&self) -> u64 {
        let segments = self.data.iter().filter_map(|d| Some(d.offset? + d.len));
        segments.chain(self.bss.iter().map(|r| r.end)).max().unwrap_or(WASM_LD_GLOBAL_BASE)
    }

    /// The module's memory is shared: a threaded build (wasi-threads, Emscripten `-pthread`).
    pub fn threaded(&self) -> bool {
        self.memories.first().is_some_and(|m| m.shared)
    }

    pub fn build_id(&self) -> Option<Vec<u8>> {
        self.build_id.clone()
    }

    pub fn external_debug_info(&self) -> Option<&str> {
        self.external_debug_info.as_deref()
    }

    pub fn stack_pointer(&self) -> Option<u32> {
        if let Some(i) = self.globals.iter().position(|g| g.name.as_deref() == Some("__stack_pointer")) {
            return Some(i as u32);
        }
        self.globals
            .iter()
            .position(|g| !g.imported && g.mutable && g.ty == ValType::I32 && g.init.is_some())
            .map(|i| i as u32)
    }

    /// The value of a constant global with this name (`__heap_base`, `__data_end`), from names or exports.
    pub fn const_global(&self, name: &str) -> Option<u64> {
        let by_name = self.globals.iter().position(|g| g.name.as_deref() == Some(name));
        let by_export = || {
            self.exports
                .iter()
                .find(|e| e.kind == ExternalKind::Global && e.name == name)
                .map(|e| e.index as usize)
        };
        let g = self.globals.get(by_name.or_else(by_export)?)?;
        g.init.map(|v| v as u64)
    }
}

pub(crate) fn check_header(bytes: &[u8]) -> Result<(), Error> {
    if bytes.len() < 8 || &bytes[0..4] != b"\0asm" {
        return Err(Error::NotWasm);
    }
    Ok(())
}

fn memory(t: &wasmparser::MemoryType, imported: bool) -> Memory {
    Memory {
        imported,
        initial_pages: t.initial,
        maximum_pages: t.maximum,
        memory64: t.memory64,
        shared: t.shared,
    }
}

/// What a start function (wasm-ld's `__wasm_init_memory`) does with constant operands: `memory.init` of a
/// segment (segment, address of its first byte) and `memory.fill` with zero (the range). Operands are followed
/// through a small value stack; anything else empties it, so only constants count.
fn start_placements(body: &wasmparser::FunctionBody<'_>) -> (Vec<(u32, u64)>, Vec<Range<u64>>) {
    let (mut placed, mut zeroed) = (Vec::new(), Vec::new());
    let Ok(mut ops) = body.get_operators_reader() else { return (placed, zeroed) };
    let mut stack: Vec<Option<i64>> = Vec::new();
    while !ops.eof() {
        let Ok(op) = ops.read() else { break };
        match op {
            Operator::I32Const { value } => stack.push(Some(value as u32 as i64)),
            Operator::GlobalGet { .. } | Operator::LocalGet { .. } => stack.push(None),
            Operator::GlobalSet { .. } | Operator::LocalSet { .. } | Operator::Drop => {
                stack.pop();
            }
            Operator::I32Add => {
                let (b, a) = (stack.pop().flatten(), stack.pop().flatten());
                stack.push(a.zip(b).map(|(a, b)| (a + b) as u32 as i64));
            }
            Operator::MemoryInit { data_index, mem: 0 } => {
                let (_len, src, dest) = (stack.pop().flatten(), stack.pop().flatten(), stack.pop().flatten());
                if let (Some(dest), Some(src)) = (dest, src) {
                    if dest >= src {
                        placed.push((data_index, (dest - src) as u64));
                    }
                }
            }
            Operator::MemoryFill { mem: 0 } => {
                let (len, value, dest) = (stack.pop().flatten(), stack.pop().flatten(), stack.pop().flatten());
                if let (Some(len), Some(0), Some(dest)) = (len, value, dest) {
                    zeroed.push(dest as u64..(dest + len) as u64);
                }
            }
            _ => stack.clear(),
        }
    }
    (placed, zeroed)
}

fn const_value(e: &ConstExpr<'_>) -> Option<i64> {
    let mut r = e.get_operators_reader();
    let v = match r.read().ok()? {
        Operator::I32Const { value } => value as u32 as i64,
        Operator::I64Const { value } => value,
        _ => return None,
    };
    matches!(r.read().ok()?, Operator::End).then_some(v)
}

fn section_label(p: &Payload<'_>) -> (String, Option<u32>) {
    let (name, count) = match p {
        Payload::TypeSection(r) => ("type", Some(r.count())),
        Payload::ImportSection(r) => ("import", Some(r.count())),
        Payload::FunctionSection(r) => ("function", Some(r.count())),
        Payload::TableSection(r) => ("table", Some(r.count())),
        Payload::MemorySection(r) => ("memory", Some(r.count())),
        Payload::TagSection(r) => ("tag", Some(r.count())),
        Payload::GlobalSection(r) => ("global", Some(r.count())),
        Payload::ExportSection(r) => ("export", Some(r.count())),
        Payload::StartSection { .. } => ("start", None),
        Payload::ElementSection(r) => ("element", Some(r.count())),
        Payload::DataCountSection { count, .. } => ("datacount", Some(*count)),
        Payload::CodeSectionStart { count, .. } => ("code", Some(*count)),
        Payload::DataSection(r) => ("data", Some(r.count())),
        Payload::CustomSection(c) => return (c.name().to_string(), None),
        _ => ("unknown", None),
    };
    (name.to_string(), count)
}

#[cfg(test)]
mod tests {
    use super::ModuleInfo;

    /// wasm-ld's `__wasm_init_memory` for shared memory: passive segments copied by `memory.init` (the TLS one
    /// after setting `__tls_base`), the bss zeroed by `memory.fill`. The statics are where it puts them.
    #[test]
    fn passive_segments_land_where_the_start_function_copies_them() {
        let wasm = wat::parse_str(
            r#"(module
              (import "env" "memory" (memory 2 2 shared))
              (global $__tls_base (mut i32) (i32.const 0))
              (func $__wasm_init_memory
                (global.set $__tls_base (i32.const 70000))
                (memory.init $tdata (i32.const 70000) (i32.const 0) (i32.const 8))
                (memory.init $rodata (i32.const 70016) (i32.const 0) (i32.const 4))
                (memory.init $data (i32.add (i32.const 70000) (i32.const 32)) (i32.const 0) (i32.const 4))
                (memory.fill (i32.const 70048) (i32.const 0) (i32.const 100))
                (memory.fill (i32.const 80000) (i32.const 7) (i32.const 100))
                (data.drop $rodata))
              (start $__wasm_init_memory)
              (data $tdata "\01\00\00\00\02\00\00\00")
              (data $rodata "abcd")
              (data $data "\10\00\00\00"))"#,
        )
        .unwrap();
        let info = ModuleInfo::parse(&wasm).unwrap();
        let offsets: Vec<Option<u64>> = info.data.iter().map(|d| d.offset).collect();
        assert_eq!(offsets, [Some(70000), Some(70016), Some(70032)]);
        assert_eq!(info.bss, [70048..70148], "only a fill with zero is bss");
        assert_eq!((info.static_start(), info.static_segments_end()), (70000, 70148));
    }
}
