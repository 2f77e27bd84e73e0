//! The binary rewrite: three hook imports, one wrapper per allocator entry point, every reference to an entry
//! point (calls, `ref.func`, tables, exports, start) redirected to its wrapper. Everything else is re-encoded
//! unchanged. When asked (`--iteration FUNC`), a fourth hook import, `wasmleak.iteration`, and one more wrapper
//! that calls it after every return of FUNC; without it the output is exactly what it was before. With calling
//! contexts (`context.rs`) the three hooks are their `_ctx` forms, which also take the context id, and the
//! functions that can reach the allocator keep that id up to date.

use std::collections::HashMap;
use std::convert::Infallible;

use wasm_encoder::reencode::Reencode;
use wasm_encoder::{
    CodeSection, ConstExpr, CustomSection, EntityType, ExportKind, ExportSection, Function, FunctionSection,
    GlobalSection, GlobalType, ImportSection, IndirectNameMap, Instruction as I, MemArg, Module, NameMap,
    NameSection, TypeSection, ValType,
};
use wasmparser::{FunctionBody, KnownCustom, Name, Operator, Parser, Payload};

use crate::allocator::{EntryPoint, Role, REALLOC_HEADER};
use crate::codemap::{BodyOffsets, CodeMap};
use crate::buffered::{self, Buffer};
use crate::context::Plan;
use crate::module::ModuleInfo;
use crate::{Error, InstrumentOptions, Instrumented, HOOK_MODULE};

#[derive(Clone)]
struct Shift {
    num_imported_funcs: u32,
    /// Hook imports added (they come first among the functions, after the module's own imports).
    added_imports: u32,
    /// Original entry point → its wrapper's new index.
    redirect: HashMap<u32, u32>,
    /// `memory.atomic.wait32/64` (true: 64) on memory 0 by memarg offset → the function of ours that calls the
    /// wait hook in its place (`InstrumentOptions::waits`).
    waits: HashMap<(bool, u64), u32>,
}

impl Shift {
    fn shifted(&self, f: u32) -> u32 {
        if f < self.num_imported_funcs { f } else { f + self.added_imports }
    }

    /// The call that replaces `op` when it is a wait the host does in the module's place.
    fn wait_call(&self, op: &wasmparser::Operator<'_>) -> Option<I<'static>> {
        let key = match op {
            wasmparser::Operator::MemoryAtomicWait32 { memarg } if memarg.memory == 0 => (false, memarg.offset),
            wasmparser::Operator::MemoryAtomicWait64 { memarg } if memarg.memory == 0 => (true, memarg.offset),
            _ => return None,
        };
        self.waits.get(&key).map(|&f| I::Call(f))
    }
}

impl Reencode for Shift {
    type Error = Infallible;

    fn instruction<'a>(&mut self, op: wasmparser::Operator<'a>) -> Result<I<'a>, wasm_encoder::reencode::Error<Infallible>> {
        match self.wait_call(&op) {
            Some(call) => Ok(call),
            None => wasm_encoder::reencode::utils::instruction(self, op),
        }
    }

    fn function_index(&mut self, f: u32) -> Result<u32, wasm_encoder::reencode::Error<Infallible>> {
        // Every reference the reencoder sees (calls, ref.func, tables, exports, start) goes to the wrapper;
        // the name section is rewritten apart, with `shifted`.
        Ok(self.redirect.get(&f).copied().unwrap_or_else(|| self.shifted(f)))
    }
}

/// The reencoder for the allocator's own code (entry points and what only they call): it only ever runs inside an
/// entry point's wrapper, so its calls to other entry points go straight to them — through their wrappers the
/// guard would make those calls report nothing anyway.
struct Direct<'a>(&'a Shift);

impl Reencode for Direct<'_> {
    type Error = Infallible;

    fn instruction<'a>(&mut self, op: wasmparser::Operator<'a>) -> Result<I<'a>, wasm_encoder::reencode::Error<Infallible>> {
        match self.0.wait_call(&op) {
            Some(call) => Ok(call),
            None => wasm_encoder::reencode::utils::instruction(self, op),
        }
    }

    fn function_index(&mut self, f: u32) -> Result<u32, wasm_encoder::reencode::Error<Infallible>> {
        Ok(self.0.shifted(f))
    }
}

/// A body re-encoded as it is (calls renumbered), and where its instructions went.
fn reencoded(shift: &mut impl Reencode<Error = Infallible>, body: &FunctionBody<'_>) -> Result<(Function, BodyOffsets), Error> {
    let mut f = wasm_encoder::reencode::utils::new_function_with_parsed_locals(shift, body)?;
    let mut offsets = BodyOffsets::default();
    let mut ops = body.get_operators_reader()?;
    while !ops.eof() {
        let (op, old) = ops.read_with_offset()?;
        offsets.kept(f.byte_len(), old);
        f.instruction(&shift.instruction(op)?);
    }
    Ok((f, offsets))
}

/// Binary order of the standard sections (the tag section sits between memory and global).
fn rank(id: u8) -> u8 {
    match id {
        1 => 0,
        2 => 1,
        3 => 2,
        4 => 3,
        5 => 4,
        13 => 5,
        6 => 6,
        7 => 7,
        8 => 8,
        9 => 9,
        12 => 10,
        10 => 11,
        11 => 12,
        _ => 0,
    }
}
const RANK_IMPORT: u8 = 1;
const RANK_MEMORY: u8 = 4;
const RANK_GLOBAL: u8 = 6;
const RANK_EXPORT: u8 = 7;

pub(crate) fn rewrite(
    bytes: &[u8],
    info: &ModuleInfo,
    entry_points: &[EntryPoint],
    options: &InstrumentOptions,
) -> Result<Instrumented, Error> {
    let (iteration, checked) = (options.iteration, options.checked_frees || options.buffered);
    let buffered = options.buffered;
    let nimp = info.num_imported_funcs;
    let ndef = info.num_funcs() - nimp;
    // The hook imports, in order: alloc, free, realloc (their `_ctx` forms, which add ctx_lo and ctx_hi, with
    // calling contexts), iteration, check, then the buffered run's own (docs/contracts.md).
    let ctx_params = if options.contexts || buffered { 2 } else { 0 };
    let i32s = |n: usize| vec![ValType::I32; n];
    let mut hook_list: Vec<(&str, Vec<ValType>, Vec<ValType>)> = if ctx_params > 0 {
        vec![("alloc_ctx", i32s(4), vec![]), ("free_ctx", i32s(3), vec![]), ("realloc_ctx", i32s(5), vec![])]
    } else {
        vec![("alloc", i32s(2), vec![]), ("free", i32s(1), vec![]), ("realloc", i32s(3), vec![])]
    };
    if iteration.is_some() {
        hook_list.push(("iteration", vec![], vec![]));
    }
    if checked {
        hook_list.push(("check", i32s(1), i32s(1)));
    }
    let fused_free = options.fused_free && checked && ctx_params > 0 && !buffered;
    if fused_free {
        hook_list.push(("free_check_ctx", i32s(3), i32s(1)));
    }
    let scan = crate::statics::scan(bytes, info)?;
    let private = crate::statics::allocator_private(&scan, nimp, entry_points);
    // An aligned allocation inlined into a caller splits the block malloc returned (statics.rs): the buffered
    // wrappers look at that block's chunk header again at the next event.
    let splits = crate::statics::splits_after_malloc(bytes, info, entry_points, &private)?;
    let split = buffered && splits;
    if buffered {
        hook_list.push(("flush", vec![], vec![]));
        hook_list.push(("ctx_new", i32s(2), i32s(1)));
        // Not called any more (the host verifies contexts at flushes), kept so the imports after it stay where
        // docs/contracts.md says.
        hook_list.push(("verify", i32s(3), i32s(1)));
    }
    if split {
        hook_list.push(("split", i32s(3), i32s(1)));
    }
    // A threaded module's waits, for a host that wakes a waiting thread to stop it where it is (its frames then
    // bound what it may hold: exit.rs): `wait32(addr, expected, timeout_ns)`, `wait64` the same with an i64
    // expected value; the address is the effective one (i64: base + the memarg's offset, which may pass 4 GiB), the
    // result as the instruction's.
    let waits: Vec<(bool, u64)> =
        if options.waits && options.threads && info.threaded() { scan.waits.iter().copied().collect() } else { Vec::new() };
    let wait_types = [(ValType::I32, vec![ValType::I64, ValType::I32, ValType::I64]), (ValType::I64, vec![ValType::I64, ValType::I64, ValType::I64])];
    if !waits.is_empty() {
        for (name, (_, params)) in ["wait32", "wait64"].into_iter().zip(&wait_types) {
            hook_list.push((name, params.clone(), i32s(1)));
        }
    }
    let hook_index = |name: &str| hook_list.iter().position(|h| h.0 == name).map(|i| nimp + i as u32);
    let added_imports = hook_list.len() as u32;
    let first_wrapper = nimp + added_imports + ndef;
    let mut shift = Shift { num_imported_funcs: nimp, added_imports, redirect: HashMap::new(), waits: HashMap::new() };
    // The wait functions come after the iteration wrapper.
    let first_wait = first_wrapper + entry_points.len() as u32 + iteration.is_some() as u32;
    for (i, &w) in waits.iter().enumerate() {
        shift.waits.insert(w, first_wait + i as u32);
    }
    for (i, ep) in entry_points.iter().enumerate() {
        shift.redirect.insert(ep.func, first_wrapper + i as u32);
    }
    // With calling contexts, each wrapper's variant for direct calls (context.rs), after the wait functions.
    let first_direct = first_wait + waits.len() as u32;
    // The iteration wrapper comes after the allocator wrappers.
    if let Some(f) = iteration {
        shift.redirect.insert(f, first_wrapper + entry_points.len() as u32);
    }
    let hooks = Hooks {
        alloc: nimp,
        free: nimp + 1,
        realloc: nimp + 2,
        check: hook_index("check"),
        free_check: hook_index("free_check_ctx"),
        ctx: None,
    };
    let hook_iteration = nimp + 3;
    let guard = info.globals.len() as u32;
    let contexts = (ctx_params > 0).then(|| {
        let mut plan = Plan::new(info, &scan, &private, guard + 1);
        plan.direct = entry_points.iter().enumerate().map(|(i, ep)| (ep.func, first_direct + i as u32)).collect();
        plan
    });
    let direct_wrappers = contexts.is_some();
    let hooks = Hooks { ctx: contexts.as_ref().map(|p| p.global), ..hooks };
    let num_memories = info.memories.len() as u32;
    let buffer = buffered.then(|| Buffer {
        events: num_memories,
        live: num_memories + 1,
        count: guard + 2,
        // After every other global of ours (the split watch's too): modules instrumented before the ring had none.
        limit: guard + if split { 9 } else { 7 },
        table_base: if options.before_ring { buffered::TABLE_BASE_BEFORE_RING } else { buffered::TABLE_BASE },
        mask: guard + 3,
        last_ctx: guard + 5,
        last_stack: guard + 6,
        flush: hook_index("flush").unwrap(),
        ctx_new: hook_index("ctx_new").unwrap(),
        split: hook_index("split").map(|hook| buffered::Split { hook, last_block: guard + 7, last_head: guard + 8 }),
    });
    // After every other global of ours: the lowest the stack pointer went (see `roots::needs_low_water`).
    let ours = 1 + contexts.is_some() as u32 + if buffered { 6 } else { 0 } + if split { 2 } else { 0 };
    let low_water = crate::roots::needs_low_water(info).map(|(sp, init)| LowWater { sp, global: guard + ours, init });
    let ctx_global = contexts.as_ref().map(|p| p.global);
    let ctx_export = contexts.as_ref().map(|_| buffered::CTX_EXPORT.to_string());
    let num_types = info.types.len() as u32;
    let exported_globals: Vec<(u32, String)> = info
        .globals
        .iter()
        .enumerate()
        .filter(|(_, g)| g.ty == wasmparser::ValType::I32)
        .map(|(i, _)| (i as u32, format!("{HOOK_MODULE}:global:{i}")))
        .chain(low_water.as_ref().map(|l| (l.global, format!("{HOOK_MODULE}:stack_low"))))
        .collect();
    let memory_export = format!("{HOOK_MODULE}:memory");

    let mut out = Module::new();
    let mut done_import = false;
    let mut done_memory = false;
    let mut done_global = false;
    let mut done_export = false;
    let hook_imports = |imports: &mut ImportSection| {
        for (i, (name, _, _)) in hook_list.iter().enumerate() {
            imports.import(HOOK_MODULE, name, EntityType::Function(num_types + i as u32));
        }
    };
    let guard_global = |globals: &mut GlobalSection| {
        let var = |val_type| GlobalType { val_type, mutable: true, shared: false };
        globals.global(var(ValType::I32), &ConstExpr::i32_const(0));
        if ctx_global.is_some() {
            globals.global(var(ValType::I64), &ConstExpr::i64_const(0));
        }
        if buffered {
            globals.global(var(ValType::I32), &ConstExpr::i32_const(0));
            globals.global(var(ValType::I32), &ConstExpr::i32_const(buffered::INITIAL_TABLE as i32 - 1));
            // Was the wrappers' verification countdown; kept so the globals after it stay in place.
            globals.global(var(ValType::I32), &ConstExpr::i32_const(buffered::VERIFY_EVERY as i32));
            globals.global(var(ValType::I64), &ConstExpr::i64_const(buffered::NO_CONTEXT));
            globals.global(var(ValType::I32), &ConstExpr::i32_const(0));
        }
        if split {
            globals.global(var(ValType::I32), &ConstExpr::i32_const(0));
            globals.global(var(ValType::I32), &ConstExpr::i32_const(0));
        }
        if buffered {
            globals.global(var(ValType::I32), &ConstExpr::i32_const(buffered::CAPACITY as i32));
        }
        if let Some(l) = &low_water {
            globals.global(var(ValType::I32), &ConstExpr::i32_const(l.init as i32));
        }
    };
    let our_memories = |memories: &mut wasm_encoder::MemorySection| {
        if buffered {
            buffered::memories(memories, buffer.as_ref().map_or(buffered::TABLE_BASE, |b| b.table_base));
        }
    };
    let our_exports = |exports: &mut ExportSection| {
        if !info.memories.is_empty() {
            exports.export(&memory_export, ExportKind::Memory, 0);
        }
        for (g, name) in &exported_globals {
            exports.export(name, ExportKind::Global, *g);
        }
        if let (Some(g), Some(name)) = (ctx_global, &ctx_export) {
            exports.export(name, ExportKind::Global, g);
        }
        if let Some(b) = &buffer {
            b.exports(exports);
        }
    };
    // Sections this rewrite must add to that the module may not have: emit them where they belong.
    let flush = |out: &mut Module, upcoming: u8, di: &mut bool, dm: &mut bool, dg: &mut bool, de: &mut bool| {
        if !*di && upcoming > RANK_IMPORT {
            let mut s = ImportSection::new();
            hook_imports(&mut s);
            out.section(&s);
            *di = true;
        }
        if !*dm && upcoming > RANK_MEMORY {
            let mut s = wasm_encoder::MemorySection::new();
            our_memories(&mut s);
            if !s.is_empty() {
                out.section(&s);
            }
            *dm = true;
        }
        if !*dg && upcoming > RANK_GLOBAL {
            let mut s = GlobalSection::new();
            guard_global(&mut s);
            out.section(&s);
            *dg = true;
        }
        if !*de && upcoming > RANK_EXPORT {
            let mut s = ExportSection::new();
            our_exports(&mut s);
            out.section(&s);
            *de = true;
        }
    };

    let mut bodies: Vec<FunctionBody<'_>> = Vec::new();
    let mut body_offsets: Vec<BodyOffsets> = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload?;
        if let Some((id, _)) = payload.as_section()
            && id != 0 {
                flush(&mut out, rank(id), &mut done_import, &mut done_memory, &mut done_global, &mut done_export);
            }
        match payload {
            Payload::TypeSection(r) => {
                let mut s = TypeSection::new();
                shift.parse_type_section(&mut s, r)?;
                for (_, params, results) in &hook_list {
                    s.ty().function(params.iter().copied(), results.iter().copied());
                }
                // The wait functions' own: the instruction's operands.
                if !waits.is_empty() {
                    for (expected, _) in &wait_types {
                        s.ty().function([ValType::I32, *expected, ValType::I64], [ValType::I32]);
                    }
                }
                if direct_wrappers {
                    for ep in entry_points {
                        let (mut params, results) = signature_of(info, ep.func, &mut shift)?;
                        params.push(ValType::I64);
                        s.ty().function(params, results);
                    }
                }
                out.section(&s);
            }
            Payload::ImportSection(r) => {
                let mut s = ImportSection::new();
                shift.parse_import_section(&mut s, r)?;
                hook_imports(&mut s);
                out.section(&s);
                done_import = true;
            }
            Payload::FunctionSection(r) => {
                let mut s = FunctionSection::new();
                shift.parse_function_section(&mut s, r)?;
                for ep in entry_points {
                    s.function(info.func_types[ep.func as usize]);
                }
                if let Some(f) = iteration {
                    s.function(info.func_types[f as usize]);
                }
                let wait_type = num_types + hook_list.len() as u32;
                for &(wide, _) in &waits {
                    s.function(wait_type + wide as u32);
                }
                if direct_wrappers {
                    let first = wait_type + if waits.is_empty() { 0 } else { wait_types.len() as u32 };
                    for i in 0..entry_points.len() as u32 {
                        s.function(first + i);
                    }
                }
                out.section(&s);
            }
            Payload::GlobalSection(r) => {
                let mut s = GlobalSection::new();
                shift.parse_global_section(&mut s, r)?;
                guard_global(&mut s);
                out.section(&s);
                done_global = true;
            }
            Payload::ExportSection(r) => {
                let mut s = ExportSection::new();
                shift.parse_export_section(&mut s, r)?;
                our_exports(&mut s);
                out.section(&s);
                done_export = true;
            }
            Payload::CodeSectionStart { count, .. } => bodies = Vec::with_capacity(count as usize),
            Payload::CodeSectionEntry(body) => {
                bodies.push(body);
                if bodies.len() < ndef as usize {
                    continue;
                }
                // Each body on its own, on two cores for a large module: its bytes, and where its instructions went.
                let one = |shift: &mut Shift, func: u32, body: &FunctionBody<'_>| -> Result<(Vec<u8>, BodyOffsets), Error> {
                    let (f, offsets) = match &contexts {
                        Some(plan) if plan.instruments(func) => {
                            let nparams = info.func_signature(func).map_or(0, |sig| sig.0.len() as u32);
                            plan.body(shift, func, nparams, body, low_water.as_ref())?
                        }
                        _ if let Some(l) = &low_water => {
                            if private.contains(&func) { l.body(&mut Direct(shift), body)? } else { l.body(shift, body)? }
                        }
                        _ if private.contains(&func) => reencoded(&mut Direct(shift), body)?,
                        _ => reencoded(shift, body)?,
                    };
                    Ok((f.into_raw_body(), offsets))
                };
                let (first, second) = crate::by_halves(&bodies, |range| -> Result<Vec<(Vec<u8>, BodyOffsets)>, Error> {
                    let mut shift = shift.clone();
                    range.map(|i| one(&mut shift, nimp + i as u32, &bodies[i])).collect()
                });
                let mut s = CodeSection::new();
                for (body, offsets) in first?.into_iter().chain(second?) {
                    s.raw(&body);
                    body_offsets.push(offsets);
                }
                let wrap = |ep: &EntryPoint, site: bool| -> Result<Function, Error> {
                    let sig = info.func_signature(ep.func).ok_or(Error::Internal("entry point type".into()))?;
                    let (wrapped, nparams) = (shift.shifted(ep.func), sig.0.len() as u32);
                    Ok(match &buffer {
                        Some(b) => buffered::wrapper(ep.role, nparams, wrapped, guard, &hooks, b, site),
                        None => wrapper(ep.role, nparams, wrapped, guard, &hooks, site),
                    })
                };
                for ep in entry_points {
                    s.function(&wrap(ep, false)?);
                }
                let direct: Vec<Function> = if direct_wrappers {
                    entry_points.iter().map(|ep| wrap(ep, true)).collect::<Result<_, _>>()?
                } else {
                    Vec::new()
                };
                if let Some(f) = iteration {
                    let (params, results) = signature_of(info, f, &mut shift)?;
                    s.function(&iteration_wrapper(params.len() as u32, &results, shift.shifted(f), hook_iteration));
                }
                for &(wide, offset) in &waits {
                    let hook = hook_index(if wide { "wait64" } else { "wait32" }).expect("wait hooks with waits");
                    s.function(&wait_function(offset, hook));
                }
                for f in &direct {
                    s.function(f);
                }
                out.section(&s);
            }
            Payload::CustomSection(c) => match c.as_known() {
                KnownCustom::Name(names) => {
                    let hook_names: Vec<&str> = hook_list.iter().map(|h| h.0).collect();
                    let direct = direct_wrappers.then_some(first_direct);
                    out.section(&names_section(names, &shift, info, entry_points, iteration, direct, guard, &hook_names));
                }
                // DWARF describes the original code offsets; symbolization uses the original module.
                _ if c.name().starts_with(".debug_") => {}
                _ => {
                    out.section(&CustomSection { name: c.name().into(), data: c.data().into() });
                }
            },
            Payload::TableSection(r) => {
                let mut s = wasm_encoder::TableSection::new();
                shift.parse_table_section(&mut s, r)?;
                out.section(&s);
            }
            Payload::MemorySection(r) => {
                let mut s = wasm_encoder::MemorySection::new();
                shift.parse_memory_section(&mut s, r)?;
                our_memories(&mut s);
                out.section(&s);
                done_memory = true;
            }
            Payload::TagSection(r) => {
                let mut s = wasm_encoder::TagSection::new();
                shift.parse_tag_section(&mut s, r)?;
                out.section(&s);
            }
            Payload::StartSection { func, .. } => {
                out.section(&wasm_encoder::StartSection { function_index: shift.start_section(func)? });
            }
            Payload::ElementSection(r) => {
                let mut s = wasm_encoder::ElementSection::new();
                shift.parse_element_section(&mut s, r)?;
                out.section(&s);
            }
            Payload::DataCountSection { count, .. } => {
                out.section(&wasm_encoder::DataCountSection { count });
            }
            Payload::DataSection(r) => {
                // As it was: only function indices move, and a segment's offset cannot name a function (flite's
                // 20 MB of voice data took 9 ms to re-encode).
                out.section(&wasm_encoder::RawSection { id: wasm_encoder::SectionId::Data as u8, data: &bytes[r.range()] });
            }
            Payload::Version { .. } | Payload::End(_) => {}
            other => {
                return Err(Error::Unsupported(format!(
                    "section {:?} is not supported by the rewriter",
                    other.as_section().map(|(id, _)| id)
                )));
            }
        }
    }
    flush(&mut out, u8::MAX, &mut done_import, &mut done_memory, &mut done_global, &mut done_export);
    let bytes_out = out.finish();
    let map = CodeMap::from_rewrite(&bytes_out, nimp, added_imports, &body_offsets)?;
    Ok(Instrumented {
        context_functions: contexts.as_ref().map_or(0, Plan::count),
        free_edges: contexts.as_ref().map_or(0, Plan::free_count),
        ctx_export,
        buffered,
        splits,
        dlmalloc: crate::is_dlmalloc(info, entry_points, &scan),
        discovery_notes: Vec::new(),
        bytes: bytes_out,
        entry_points: entry_points.to_vec(),
        iteration,
        map,
        exported_globals,
        memory_export,
        allocator_statics: Vec::new(),
        static_bounds: Default::default(),
        stack_low: low_water.map(|l| l.global),
        empty_free: None,
    })
}

/// The lowest the stack pointer went: a global of ours that each `global.set` of the stack pointer that may lower it
/// ([`LowersSp`]) lowers when it goes below (`roots::needs_low_water`).
pub(crate) struct LowWater {
    pub sp: u32,
    pub global: u32,
    /// The stack pointer's initial value: where the global starts.
    pub init: u64,
}

impl LowWater {
    /// After `global.set sp`: `low = sp < low ? sp : low`, branch-free (7 instructions).
    pub fn after_set(&self) -> [I<'static>; 7] {
        let (sp, low) = (self.sp, self.global);
        [I::GlobalGet(sp), I::GlobalGet(low), I::GlobalGet(sp), I::GlobalGet(low), I::I32LtU, I::Select, I::GlobalSet(low)]
    }

    /// `body` re-encoded with [`Self::after_set`] after each set of the stack pointer, and where its instructions
    /// went, for the code map.
    pub fn body(&self, r: &mut impl Reencode<Error = Infallible>, body: &FunctionBody<'_>) -> Result<(Function, BodyOffsets), Error> {
        let mut locals = Vec::new();
        for l in body.get_locals_reader()? {
            let (count, ty) = l?;
            locals.push((count, r.val_type(ty)?));
        }
        let mut f = Function::new(locals);
        let mut ops = body.get_operators_reader()?;
        let mut lowers = LowersSp::default();
        let mut offsets = BodyOffsets::default();
        while !ops.eof() {
            let (op, old) = ops.read_with_offset()?;
            let set = lowers.sets(&op, self.sp);
            offsets.kept(f.byte_len(), old);
            f.instruction(&r.instruction(op)?);
            if set {
                for ins in self.after_set() {
                    f.instruction(&ins);
                }
            }
        }
        Ok((f, offsets))
    }
}

/// Which sets of the stack pointer may lower it: not an epilogue's (`… i32.const N, i32.add, global.set sp`), which
/// gives a frame back — half the sets, kept out of the hot paths' cost.
#[derive(Default)]
pub(crate) struct LowersSp {
    after_add: bool,
}

impl LowersSp {
    pub fn sets(&mut self, op: &Operator<'_>, sp: u32) -> bool {
        let set = matches!(op, Operator::GlobalSet { global_index } if *global_index == sp) && !self.after_add;
        self.after_add = matches!(op, Operator::I32Add);
        set
    }
}

/// The hook imports a wrapper calls (function indices), and the calling-context global when the module keeps one.
pub(crate) struct Hooks {
    pub alloc: u32,
    pub free: u32,
    pub realloc: u32,
    pub check: Option<u32>,
    /// `free_check_ctx`: check and record a free in one call (`InstrumentOptions::fused_free`).
    pub free_check: Option<u32>,
    pub ctx: Option<u32>,
}

/// `W(args) = { guard++; r = F(args); guard--; if guard == 0 { hook(...) }; r }`: only the outermost
/// allocator layer reports (`__rust_alloc` → `malloc`, `operator new` → `malloc`, `realloc` → `free`).
/// Frees report *before* the call: a free of a bad pointer can trap inside the allocator, and the report
/// must still name it. With `check` (the checked-free hook), a free or realloc of a pointer that is not a live
/// block is not handed to the allocator at all: `check(ptr)` records it as an invalid free and returns 0, and the
/// wrapper returns (0 from a realloc) without calling the allocator, as memcheck does. With a context global,
/// its value at entry (the caller's call site) goes to the hook as two i32 halves. `site`: the variant a direct call
/// calls, with its call site's constant as one more (i64) parameter (`context.rs`).
fn wrapper(role: Role, nparams: u32, wrapped: u32, guard: u32, hooks: &Hooks, site: bool) -> Function {
    let (_, nresults) = role.signature();
    let r = nparams + site as u32; // the result local
    let c = r + 1; // the context id at entry
    let mut f = Function::new(if hooks.ctx.is_some() { vec![(1, ValType::I32), (1, ValType::I64)] } else { vec![(1, ValType::I32)] });
    if let Some(g) = hooks.ctx {
        f.instruction(&I::GlobalGet(g));
        if site {
            f.instruction(&I::I64Const(3)).instruction(&I::I64Mul).instruction(&I::LocalGet(nparams)).instruction(&I::I64Add);
        }
        f.instruction(&I::LocalSet(c));
    }
    let ctx_args = |f: &mut Function| {
        if hooks.ctx.is_some() {
            f.instruction(&I::LocalGet(c)).instruction(&I::I32WrapI64);
            f.instruction(&I::LocalGet(c)).instruction(&I::I64Const(32)).instruction(&I::I64ShrU);
            f.instruction(&I::I32WrapI64);
        }
    };
    let if_outermost = |f: &mut Function| {
        f.instruction(&I::GlobalGet(guard)).instruction(&I::I32Eqz);
        f.instruction(&I::If(wasm_encoder::BlockType::Empty));
    };
    let (zig_ptr, zig_size) = role.zig_param(nparams);
    let freed_param = match role {
        Role::Free | Role::RustDealloc => Some(0),
        Role::SelfFree | Role::DlFree | Role::GlobalDealloc => Some(1),
        Role::ZigFree => Some(zig_ptr),
        _ => None,
    };
    // The block a realloc is handed (null: a plain allocation, nothing to check).
    let resized_param = match role {
        Role::Realloc | Role::HeaderRealloc | Role::RustRealloc => Some(0),
        Role::SelfRealloc | Role::DlRealloc | Role::GlobalRealloc => Some(1),
        // (Not a Zig resize's: its pointer may be undefined, see below.)
        Role::ZigRemap => Some(zig_ptr),
        _ => None,
    };
    // `if ptr != 0 && !check(block) { return [0] }`, at the outermost layer.
    let checked = |f: &mut Function, p: u32, header: i32| {
        let Some(check) = hooks.check else { return };
        if_outermost(f);
        f.instruction(&I::LocalGet(p)).instruction(&I::If(wasm_encoder::BlockType::Empty));
        f.instruction(&I::LocalGet(p));
        if header != 0 {
            f.instruction(&I::I32Const(header)).instruction(&I::I32Sub);
        }
        f.instruction(&I::Call(check)).instruction(&I::I32Eqz);
        f.instruction(&I::If(wasm_encoder::BlockType::Empty));
        if nresults == 1 {
            f.instruction(&I::I32Const(0));
        }
        f.instruction(&I::Return).instruction(&I::End).instruction(&I::End).instruction(&I::End);
    };
    match (freed_param, hooks.free_check) {
        (Some(p), Some(free_check)) => {
            // `if guard == 0 { if ptr { if !free_check(ptr) { return } } else { free(0) } }`
            if_outermost(&mut f);
            f.instruction(&I::LocalGet(p)).instruction(&I::If(wasm_encoder::BlockType::Empty));
            f.instruction(&I::LocalGet(p));
            ctx_args(&mut f);
            f.instruction(&I::Call(free_check)).instruction(&I::I32Eqz);
            f.instruction(&I::If(wasm_encoder::BlockType::Empty));
            if nresults == 1 {
                f.instruction(&I::I32Const(0));
            }
            f.instruction(&I::Return).instruction(&I::End);
            f.instruction(&I::Else).instruction(&I::LocalGet(p));
            ctx_args(&mut f);
            f.instruction(&I::Call(hooks.free)).instruction(&I::End).instruction(&I::End);
        }
        (Some(p), None) => {
            checked(&mut f, p, 0);
            if_outermost(&mut f);
            f.instruction(&I::LocalGet(p));
            ctx_args(&mut f);
            f.instruction(&I::Call(hooks.free)).instruction(&I::End);
        }
        (None, _) => {}
    }
    if let Some(p) = resized_param {
        checked(&mut f, p, if role == Role::HeaderRealloc { REALLOC_HEADER } else { 0 });
    }
    f.instruction(&I::GlobalGet(guard)).instruction(&I::I32Const(1)).instruction(&I::I32Add);
    f.instruction(&I::GlobalSet(guard));
    for p in 0..nparams {
        f.instruction(&I::LocalGet(p));
    }
    f.instruction(&I::Call(wrapped));
    if nresults == 1 {
        f.instruction(&I::LocalSet(r));
    }
    f.instruction(&I::GlobalGet(guard)).instruction(&I::I32Const(1)).instruction(&I::I32Sub);
    f.instruction(&I::GlobalSet(guard));
    if freed_param.is_none() {
        if_outermost(&mut f);
        // The hook's own arguments, then the context, then the call.
        // A Zig resize says only whether it resized in place: the new block is the old one, or none (a failure).
        // BrkAllocator's never reads the pointer, and an optimised caller may pass an undefined one: the hosts take
        // an in-place realloc of what is no block for nothing (HeapModel::realloc), so it is not checked first.
        let zig_resize = [I::LocalGet(zig_ptr), I::LocalGet(zig_ptr), I::I32Const(0), I::LocalGet(r), I::Select, I::LocalGet(zig_size)];
        let (hook, args): (u32, &[I<'_>]) = match role {
            Role::ZigAlloc => (hooks.alloc, &[I::LocalGet(r), I::LocalGet(zig_size)]),
            Role::ZigRemap => (hooks.realloc, &[I::LocalGet(zig_ptr), I::LocalGet(r), I::LocalGet(zig_size)]),
            Role::ZigResize => (hooks.realloc, &zig_resize),
            Role::Malloc | Role::RustAlloc => (hooks.alloc, &[I::LocalGet(r), I::LocalGet(0)]),
            Role::AlignedAlloc | Role::SelfAlloc | Role::DlAlloc => (hooks.alloc, &[I::LocalGet(r), I::LocalGet(1)]),
            Role::DlMemalign | Role::GlobalAlloc => (hooks.alloc, &[I::LocalGet(r), I::LocalGet(2)]),
            Role::Calloc => (hooks.alloc, &[I::LocalGet(r), I::LocalGet(0), I::LocalGet(1), I::I32Mul]),
            Role::PosixMemalign => {
                // Only on success (0), and the block is where the first parameter points.
                f.instruction(&I::LocalGet(r)).instruction(&I::I32Eqz);
                f.instruction(&I::If(wasm_encoder::BlockType::Empty));
                (hooks.alloc, &[I::LocalGet(0), I::I32Load(MemArg { offset: 0, align: 2, memory_index: 0 }), I::LocalGet(2)])
            }
            Role::Realloc => (hooks.realloc, &[I::LocalGet(0), I::LocalGet(r), I::LocalGet(1)]),
            Role::HeaderRealloc => {
                // The blocks are 8 bytes below the pointers (0 stays 0), and 8 bytes bigger.
                for p in [0, r] {
                    f.instruction(&I::LocalGet(p)).instruction(&I::I32Const(REALLOC_HEADER)).instruction(&I::I32Sub);
                    f.instruction(&I::I32Const(0)).instruction(&I::LocalGet(p)).instruction(&I::Select);
                }
                (hooks.realloc, &[I::LocalGet(1), I::I32Const(REALLOC_HEADER), I::I32Add])
            }
            Role::RustRealloc => (hooks.realloc, &[I::LocalGet(0), I::LocalGet(r), I::LocalGet(3)]),
            Role::SelfRealloc | Role::GlobalRealloc => (hooks.realloc, &[I::LocalGet(1), I::LocalGet(r), I::LocalGet(4)]),
            Role::DlRealloc => (hooks.realloc, &[I::LocalGet(1), I::LocalGet(r), I::LocalGet(2)]),
            Role::Free | Role::RustDealloc | Role::SelfFree | Role::DlFree | Role::GlobalDealloc | Role::ZigFree => unreachable!(),
        };
        for ins in args {
            f.instruction(ins);
        }
        ctx_args(&mut f);
        f.instruction(&I::Call(hook));
        if role == Role::PosixMemalign {
            f.instruction(&I::End);
        }
        f.instruction(&I::End);
    }
    if nresults == 1 {
        f.instruction(&I::LocalGet(r));
    }
    f.instruction(&I::End);
    f
}

/// Function `func`'s parameter and result types, as the instrumented module writes them.
fn signature_of(info: &ModuleInfo, func: u32, shift: &mut Shift) -> Result<(Vec<ValType>, Vec<ValType>), Error> {
    let sig = info.func_signature(func).ok_or(Error::Internal(format!("function {func} has no type")))?;
    let mut convert = |ts: &[wasmparser::ValType]| ts.iter().map(|t| shift.val_type(*t)).collect::<Result<Vec<ValType>, _>>();
    Ok((convert(&sig.0)?, convert(&sig.1)?))
}

/// In place of a `memory.atomic.wait32/64` with memarg offset `offset`: the same operands to the wait hook, the
/// address made effective.
fn wait_function(offset: u64, hook: u32) -> Function {
    let mut f = Function::new([]);
    for ins in [I::LocalGet(0), I::I64ExtendI32U, I::I64Const(offset as i64), I::I64Add, I::LocalGet(1), I::LocalGet(2), I::Call(hook), I::End] {
        f.instruction(&ins);
    }
    f
}

/// `W(args) = { r = F(args); iteration(); r }`: the host counts a return of F as one iteration of the program's
/// loop (`--iteration F`). A trap or an unwind out of F is not a return, so it does not count.
fn iteration_wrapper(nparams: u32, results: &[ValType], wrapped: u32, hook: u32) -> Function {
    let mut f = Function::new(results.iter().map(|t| (1, *t)));
    for p in 0..nparams {
        f.instruction(&I::LocalGet(p));
    }
    f.instruction(&I::Call(wrapped));
    for i in (0..results.len() as u32).rev() {
        f.instruction(&I::LocalSet(nparams + i));
    }
    f.instruction(&I::Call(hook));
    for i in 0..results.len() as u32 {
        f.instruction(&I::LocalGet(nparams + i));
    }
    f.instruction(&I::End);
    f
}

/// The name section of the instrumented module: original names on their shifted indices (not redirected:
/// `malloc` stays the name of the original body), plus names for what wasmleak added.
fn names_section(
    names: wasmparser::NameSectionReader<'_>,
    shift: &Shift,
    info: &ModuleInfo,
    entry_points: &[EntryPoint],
    iteration: Option<u32>,
    first_direct: Option<u32>,
    guard: u32,
    hooks: &[&str],
) -> NameSection {
    let mut out = NameSection::new();
    let nimp = info.num_imported_funcs;
    let first_wrapper = nimp + shift.added_imports + (info.num_funcs() - nimp);
    for sub in names.into_iter().flatten() {
        match sub {
            Name::Module { name, .. } => out.module(name),
            Name::Function(map) => {
                let mut m = NameMap::new();
                let mut hooks_named = false;
                let name_hooks = |m: &mut NameMap| {
                    for (i, h) in hooks.iter().enumerate() {
                        m.append(nimp + i as u32, &format!("wasmleak.hook.{h}"));
                    }
                };
                for n in map.into_iter().flatten() {
                    if !hooks_named && n.index >= nimp {
                        name_hooks(&mut m);
                        hooks_named = true;
                    }
                    m.append(shift.shifted(n.index), n.name);
                }
                if !hooks_named {
                    name_hooks(&mut m);
                }
                for (i, ep) in entry_points.iter().enumerate() {
                    m.append(first_wrapper + i as u32, &format!("wasmleak.wrap({})", ep.name));
                }
                if let Some(f) = iteration {
                    let name = info.func_names.get(&f).cloned().unwrap_or_else(|| format!("func[{f}]"));
                    m.append(first_wrapper + entry_points.len() as u32, &format!("wasmleak.iteration({name})"));
                }
                if let Some(first) = first_direct {
                    for (i, ep) in entry_points.iter().enumerate() {
                        m.append(first + i as u32, &format!("wasmleak.wrap_direct({})", ep.name));
                    }
                }
                out.functions(&m);
            }
            Name::Global(map) => {
                let mut m = NameMap::new();
                for n in map.into_iter().flatten() {
                    m.append(n.index, n.name);
                }
                m.append(guard, "wasmleak.guard");
                out.globals(&m);
            }
            Name::Data(map) => {
                let mut m = NameMap::new();
                for n in map.into_iter().flatten() {
                    m.append(n.index, n.name);
                }
                out.data(&m);
            }
            Name::Local(map) => {
                let mut m = IndirectNameMap::new();
                for f in map.into_iter().flatten() {
                    let mut locals = NameMap::new();
                    for n in f.names.into_iter().flatten() {
                        locals.append(n.index, n.name);
                    }
                    m.append(shift.shifted(f.index), &locals);
                }
                out.locals(&m);
            }
            _ => {}
        }
    }
    out
}
