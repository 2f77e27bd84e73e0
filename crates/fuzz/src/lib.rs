//! Differential fuzzing of the instrumenter: a random module (wasm-smith) that calls an allocator runs as it is
//! and instrumented the way `wasmleak check` instruments (buffered hooks, calling contexts, checked frees),
//! in wasmtime, on the same calls; results, traps, the memory's bytes and every global must be the same. Any
//! difference is a bug of the instrumenter — the observer changed what it observes.
//!
//! Odd seeds are instrumented as the JS runtime instruments instead (`InstrumentOptions::fused_free`: a host call
//! per event), with the same hooks wasmtime gives it.
//!
//! The module: wasm-smith generates code that may import `env.malloc`, `env.free` and `env.realloc`; those
//! imports are then turned into functions of the module itself — the first defined ones, so no function index
//! moves — a bump allocator over the module's memory whose state is a global appended after the module's own
//! (no code wasm-smith wrote can touch it). `free` does nothing: the allocator never reuses memory, so random
//! code that frees what it did not allocate changes nothing in the original, as the instrumented module skipping
//! that free changes nothing. A realloc of what is not a block is different on purpose (the instrumented
//! module returns 0 instead of calling the allocator, README.md): such cases are counted, not compared.
//!
//! Every export is called in order with arguments drawn from the case's bytes, under a fuel limit; a case whose
//! original runs out of fuel or stack stops there (how far it got is not comparable). The instrumented module gets far more fuel (its hooks and context
//! upkeep cost instructions) and more stack; it running out of stack where the original did not is counted
//! apart (its frames are bigger by two locals), not as a divergence.

use std::fmt;

use anyhow::{Context as _, Result, anyhow};
use arbitrary::Unstructured;
use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasm_encoder::{Encode, CodeSection, ConstExpr, Function, FunctionSection, GlobalSection, GlobalType, ImportSection, Instruction as I, MemArg, Module, RawSection, ValType};
use wasmleak_host::embed::{self, HasTracker, Tracker};
use wasmleak_instrument::{EntryPoint, Evidence, InstrumentOptions, ModuleInfo, Role};
use wasmparser::{Parser, Payload};
use wasmtime::{Config, Engine, Instance, Linker, Store, Trap, Val, ValType as WT};

/// What one case showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Both ran the same calls with the same results, memory and globals.
    Same { calls: usize, allocator_calls: bool },
    /// Not compared, and why (wasm-smith gave up, the instrumenter refused, an invalid realloc…).
    Skipped(&'static str),
    /// The bug this fuzzer is for.
    Diverged(String),
}

/// Counts over many cases.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub cases: u64,
    pub same: u64,
    /// Of `same`: cases whose module had the allocator and called it.
    pub with_allocator: u64,
    pub calls: u64,
    pub skipped: std::collections::BTreeMap<&'static str, u64>,
    /// The lowest seed of each reason, to look at one.
    pub first_skipped: std::collections::BTreeMap<&'static str, u64>,
    pub diverged: Vec<(u64, String)>,
}

impl Tally {
    /// Add another tally's counts (of other seeds).
    pub fn merge(&mut self, t: Tally) {
        self.cases += t.cases;
        self.same += t.same;
        self.with_allocator += t.with_allocator;
        self.calls += t.calls;
        for (k, v) in t.skipped {
            *self.skipped.entry(k).or_default() += v;
        }
        for (k, seed) in t.first_skipped {
            let first = self.first_skipped.entry(k).or_insert(seed);
            *first = (*first).min(seed);
        }
        self.diverged.extend(t.diverged);
        self.diverged.sort();
    }

    pub fn add(&mut self, seed: u64, v: Verdict) {
        self.cases += 1;
        match v {
            Verdict::Same { calls, allocator_calls } => {
                self.same += 1;
                self.calls += calls as u64;
                self.with_allocator += allocator_calls as u64;
            }
            Verdict::Skipped(why) => {
                *self.skipped.entry(why).or_default() += 1;
                let first = self.first_skipped.entry(why).or_insert(seed);
                *first = (*first).min(seed);
            }
            Verdict::Diverged(d) => self.diverged.push((seed, d)),
        }
    }
}

impl fmt::Display for Tally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} cases: {} compared and the same ({} calling the allocator, {} export calls), {} diverged",
            self.cases,
            self.same,
            self.with_allocator,
            self.calls,
            self.diverged.len()
        )?;
        for (why, n) in &self.skipped {
            writeln!(f, "  not compared: {why}: {n} (seed {} first)", self.first_skipped[why])?;
        }
        for (seed, d) in self.diverged.iter().take(20) {
            writeln!(f, "  DIVERGED seed {seed}: {d}")?;
        }
        Ok(())
    }
}

/// Fuel for one export call of the original module, and how much more the instrumented one gets.
const FUEL: u64 = 100_000;
const FUEL_FACTOR: u64 = 50;

/// The engines both sides run on (the same settings but the stack: the instrumented frames are bigger).
pub struct Engines {
    original: Engine,
    instrumented: Engine,
}

impl Engines {
    pub fn new() -> Result<Engines> {
        let config = |stack: usize| -> Result<Engine> {
            let mut c = Config::new();
            c.consume_fuel(true);
            c.cranelift_opt_level(wasmtime::OptLevel::None);
            c.cranelift_nan_canonicalization(true);
            // A trap's backtrace is not compared, and a stack overflow's is tens of thousands of frames long.
            c.wasm_backtrace_max_frames(None);
            c.max_wasm_stack(stack);
            Ok(Engine::new(&c)?)
        };
        Ok(Engines { original: config(512 << 10)?, instrumented: config(2 << 20)? })
    }
}

/// xorshift64, seeded: the cases' bytes and the damage of malformed inputs, the same for a seed on every run.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn seeded(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// The bytes of case `seed` (wasm-smith's input, then the arguments of the calls).
pub fn case_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut r = Rng::seeded(seed);
    (0..len).map(|_| (r.next() >> 24) as u8).collect()
}

/// Generate, instrument, run and compare case `seed`.
pub fn run_case(engines: &Engines, seed: u64) -> Verdict {
    let data = case_bytes(seed, 8192);
    let mut u = Unstructured::new(&data);
    let Ok(module) = generate(&mut u) else { return Verdict::Skipped("wasm-smith could not generate a module") };
    let (bytes, allocator) = match with_allocator(&module) {
        Ok(x) => x,
        Err(_) => return Verdict::Skipped("the generated module could not take the allocator"),
    };
    if let Err(e) = wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all()).validate_all(&bytes) {
        return Verdict::Diverged(format!("the module with the allocator does not validate (a fuzzer bug): {e}"));
    }
    compare(engines, &bytes, &allocator, &mut u, seed % 2 == 1)
}

fn generate(u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
    let imports = wasm_encoder::Module::new();
    let mut m = imports;
    let mut types = wasm_encoder::TypeSection::new();
    types.ty().function([ValType::I32], [ValType::I32]);
    types.ty().function([ValType::I32], []);
    types.ty().function([ValType::I32, ValType::I32], [ValType::I32]);
    m.section(&types);
    let mut imp = ImportSection::new();
    imp.import("env", "malloc", wasm_encoder::EntityType::Function(0));
    imp.import("env", "free", wasm_encoder::EntityType::Function(1));
    imp.import("env", "realloc", wasm_encoder::EntityType::Function(2));
    m.section(&imp);
    let config = wasm_smith::Config {
        available_imports: Some(m.finish()),
        min_memories: 1,
        max_memories: 1,
        max_memory32_bytes: 4 << 20,
        memory64_enabled: false,
        threads_enabled: false,
        shared_everything_threads_enabled: false,
        gc_enabled: false,
        // wasmleak's wasmtime runs without GC types, which externref needs (wasm-bindgen modules run in JS hosts).
        reference_types_enabled: false,
        exceptions_enabled: false,
        custom_page_sizes_enabled: false,
        wide_arithmetic_enabled: false,
        relaxed_simd_enabled: false,
        export_everything: true,
        min_funcs: 1,
        max_funcs: 12,
        max_instructions: 120,
        min_imports: 3,
        max_imports: 3,
        max_data_segments: 4,
        max_element_segments: 4,
        max_tables: 1,
        max_table_elements: 64,
        max_globals: 8,
        max_types: 12,
        max_tags: 0,
        ..Default::default()
    };
    Ok(wasm_smith::Module::new(config, u)?.to_bytes())
}

/// The allocator's functions, by original function index.
#[derive(Debug, Clone, Default)]
pub struct Allocator {
    pub malloc: Option<u32>,
    pub free: Option<u32>,
    pub realloc: Option<u32>,
}

/// Turn the module's `env` function imports into the bump allocator's functions (see the module docs).
fn with_allocator(bytes: &[u8]) -> Result<(Vec<u8>, Allocator)> {
    let mut re = RoundtripReencoder;
    // The sections as they are, and what is imported (only `env` functions: wasm-smith imports only what it was
    // offered, and it was offered no other kind).
    let mut sections: Vec<(u8, std::ops::Range<usize>)> = Vec::new();
    let mut imported: Vec<(String, u32)> = Vec::new();
    let mut num_globals = 0u32;
    let mut bodies: Vec<std::ops::Range<usize>> = Vec::new();
    for p in Parser::new(0).parse_all(bytes) {
        let p = p?;
        match &p {
            Payload::ImportSection(r) => {
                for imp in r.clone().into_imports() {
                    let imp = imp?;
                    match imp.ty {
                        wasmparser::TypeRef::Func(t) => imported.push((imp.name.to_string(), t)),
                        _ => return Err(anyhow!("an import other than a function")),
                    }
                }
            }
            Payload::GlobalSection(r) => num_globals += r.count(),
            Payload::CodeSectionEntry(body) => bodies.push(body.range()),
            _ => {}
        }
        if let Some((id, range)) = p.as_section() {
            sections.push((id, range));
        }
    }
    let top = num_globals; // the allocator's global, after the module's own
    let mut alloc = Allocator::default();
    for (i, (name, _)) in imported.iter().enumerate() {
        let slot = match name.as_str() {
            "malloc" => &mut alloc.malloc,
            "free" => &mut alloc.free,
            "realloc" => &mut alloc.realloc,
            _ => return Err(anyhow!("unexpected import {name}")),
        };
        *slot = Some(i as u32);
    }
    // Each section by its place in a module's order (custom sections, of which there are none, last).
    let rank = |id: u8| [1u8, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11].iter().position(|&x| x == id).unwrap_or(99);
    let encode = |s: &dyn Encode| {
        let mut v = Vec::new();
        s.encode(&mut v);
        v
    };
    let reader = |range: &std::ops::Range<usize>| wasmparser::BinaryReader::new(&bytes[range.clone()], range.start);
    let mut out: Vec<(usize, Vec<u8>)> = Vec::new();
    let mut functions = FunctionSection::new();
    for (_, t) in &imported {
        functions.function(*t);
    }
    let mut globals = GlobalSection::new();
    let mut code = CodeSection::new();
    for (name, _) in &imported {
        code.function(&allocator_body(name, top, alloc.malloc));
    }
    for b in &bodies {
        code.raw(&bytes[b.clone()]);
    }
    for (id, range) in &sections {
        match id {
            2 => {
                let mut s = ImportSection::new();
                for imp in wasmparser::ImportSectionReader::new(reader(range))?.into_imports() {
                    let imp = imp?;
                    if !matches!(imp.ty, wasmparser::TypeRef::Func(_)) {
                        s.import(imp.module, imp.name, re.entity_type(imp.ty)?);
                    }
                }
                if !s.is_empty() {
                    out.push((rank(2), encode(&SectionOf(&s))));
                }
            }
            3 => {
                for t in wasmparser::FunctionSectionReader::new(reader(range))? {
                    functions.function(t?);
                }
            }
            6 => re.parse_global_section(&mut globals, wasmparser::GlobalSectionReader::new(reader(range))?)?,
            10 => {}
            &id => out.push((rank(id), encode(&SectionOf(&RawSection { id, data: &bytes[range.clone()] })))),
        }
    }
    globals.global(GlobalType { val_type: ValType::I32, mutable: true, shared: false }, &ConstExpr::i32_const(1024));
    out.push((rank(6), encode(&SectionOf(&globals))));
    if !functions.is_empty() {
        out.push((rank(3), encode(&SectionOf(&functions))));
        out.push((rank(10), encode(&SectionOf(&code))));
    }
    out.sort_by_key(|(r, _)| *r);
    let mut module = Module::new().finish();
    for (_, s) in out {
        module.extend_from_slice(&s);
    }
    Ok((module, alloc))
}

/// A section with its id and size, as a module has it.
struct SectionOf<'a, S: wasm_encoder::Section>(&'a S);

impl<S: wasm_encoder::Section> Encode for SectionOf<'_, S> {
    fn encode(&self, sink: &mut Vec<u8>) {
        sink.push(self.0.id());
        self.0.encode(sink);
    }
}

/// A body of the bump allocator (`top`: its global).
fn allocator_body(name: &str, top: u32, malloc: Option<u32>) -> Function {
    let mem = |offset| MemArg { offset, align: 2, memory_index: 0 };
    match name {
        "malloc" => {
            // (n) → p: 8-aligned, a header with n before it; 0 for more than 1 MiB or when memory cannot grow.
            let mut f = Function::new([(2, ValType::I32)]); // p, end
            for ins in [
                I::LocalGet(0), I::I32Const(1 << 20), I::I32GtU, I::If(wasm_encoder::BlockType::Empty), I::I32Const(0), I::Return, I::End,
                I::GlobalGet(top), I::I32Const(7), I::I32Add, I::I32Const(-8), I::I32And, I::LocalSet(1),
                I::LocalGet(1), I::I32Const(8), I::I32Add, I::LocalGet(0), I::I32Add, I::LocalSet(2),
                // Grow when the block does not fit.
                I::LocalGet(2), I::MemorySize(0), I::I32Const(16), I::I32Shl, I::I32GtU, I::If(wasm_encoder::BlockType::Empty),
                I::LocalGet(2), I::MemorySize(0), I::I32Const(16), I::I32Shl, I::I32Sub, I::I32Const(65535), I::I32Add, I::I32Const(16), I::I32ShrU,
                I::MemoryGrow(0), I::I32Const(-1), I::I32Eq, I::If(wasm_encoder::BlockType::Empty), I::I32Const(0), I::Return, I::End,
                I::End,
                I::LocalGet(1), I::LocalGet(0), I::I32Store(mem(0)),
                I::LocalGet(2), I::GlobalSet(top),
                I::LocalGet(1), I::I32Const(8), I::I32Add,
                I::End,
            ] {
                f.instruction(&ins);
            }
            f
        }
        "free" => {
            let mut f = Function::new([]);
            f.instruction(&I::End);
            f
        }
        "realloc" => {
            // (p, n) → q: a new block with min(n, old size) bytes copied, when p is a block within memory.
            let mut f = Function::new([(2, ValType::I32)]); // q, len
            match malloc {
                // realloc without malloc imported: allocate inline through the same code.
                Some(m) => {
                    for ins in [I::LocalGet(1), I::Call(m), I::LocalSet(2)] {
                        f.instruction(&ins);
                    }
                }
                None => {
                    for ins in [I::I32Const(0), I::LocalSet(2)] {
                        f.instruction(&ins);
                    }
                }
            }
            for ins in [
                I::LocalGet(2), I::I32Eqz, I::LocalGet(0), I::I32Const(8), I::I32LtU, I::I32Or,
                I::LocalGet(0), I::MemorySize(0), I::I32Const(16), I::I32Shl, I::I32GeU, I::I32Or,
                I::If(wasm_encoder::BlockType::Empty), I::LocalGet(2), I::Return, I::End,
                I::LocalGet(0), I::I32Load(MemArg { offset: 0, align: 0, memory_index: 0 }), I::LocalSet(3),
                // memory.copy only when p + len stays in memory (len = min(old, n)).
                I::LocalGet(3), I::LocalGet(1), I::LocalGet(3), I::LocalGet(1), I::I32LtU, I::Select, I::LocalSet(3),
                I::LocalGet(0), I::I32Const(8), I::I32Add, I::LocalGet(3), I::I32Add, I::MemorySize(0), I::I32Const(16), I::I32Shl, I::I32LeU,
                I::If(wasm_encoder::BlockType::Empty),
                I::LocalGet(2), I::LocalGet(0), I::LocalGet(3), I::MemoryCopy { src_mem: 0, dst_mem: 0 },
                I::End,
                I::LocalGet(2),
                I::End,
            ] {
                f.instruction(&ins);
            }
            f
        }
        _ => unreachable!("only the allocator's imports are offered"),
    }
}

struct Data {
    tracker: Option<Tracker>,
}

impl HasTracker for Data {
    fn tracker(&mut self) -> &mut Tracker {
        self.tracker.as_mut().expect("tracking until the end of the case")
    }
}

/// One call's outcome, comparable across the two sides.
#[derive(Debug, PartialEq)]
enum Outcome {
    Returned(Vec<String>),
    Trapped(String),
}

fn outcome(r: wasmtime::Result<()>, results: &[Val]) -> (Outcome, bool, bool) {
    match r {
        Ok(()) => (Outcome::Returned(results.iter().map(val_bits).collect()), false, false),
        Err(e) => {
            let trap = e.downcast_ref::<Trap>().copied();
            let fuel = trap == Some(Trap::OutOfFuel);
            let stack = trap == Some(Trap::StackOverflow);
            let what = match trap {
                Some(t) => format!("trap: {t}"),
                None => format!("error: {e:#}"),
            };
            (Outcome::Trapped(what), fuel, stack)
        }
    }
}

fn val_bits(v: &Val) -> String {
    match v {
        Val::I32(x) => format!("i32:{x}"),
        Val::I64(x) => format!("i64:{x}"),
        Val::F32(x) => format!("f32:{x:#x}"),
        Val::F64(x) => format!("f64:{x:#x}"),
        Val::V128(x) => format!("v128:{:#x}", x.as_u128()),
        Val::FuncRef(f) => format!("funcref:{}", if f.is_some() { "some" } else { "null" }),
        Val::ExternRef(r) => format!("externref:{}", if r.is_some() { "some" } else { "null" }),
        _ => "another reference".to_string(),
    }
}

fn arg(u: &mut Unstructured<'_>, t: &WT) -> Option<Val> {
    let small: i64 = *u.choose(&[0i64, 1, -1, 7, 8, 16, 100, 1024, 4096, 65535, 65536, 1 << 20, i32::MAX as i64]).ok()?;
    let pick = u.ratio(3u8, 4u8).unwrap_or(true);
    Some(match t {
        WT::I32 => Val::I32(if pick { small as i32 } else { u.arbitrary().unwrap_or(0) }),
        WT::I64 => Val::I64(if pick { small } else { u.arbitrary().unwrap_or(0) }),
        WT::F32 => Val::F32(if pick { (small as f32).to_bits() } else { u.arbitrary().unwrap_or(0) }),
        WT::F64 => Val::F64(if pick { (small as f64).to_bits() } else { u.arbitrary().unwrap_or(0) }),
        WT::V128 => Val::V128(u.arbitrary::<u128>().unwrap_or(0).into()),
        WT::Ref(r) if r.is_nullable() => Val::null_ref(r.heap_type()),
        _ => return None,
    })
}

fn compare(engines: &Engines, bytes: &[u8], allocator: &Allocator, u: &mut Unstructured<'_>, js_mode: bool) -> Verdict {
    let info = match ModuleInfo::parse(bytes) {
        Ok(i) => i,
        Err(_) => return Verdict::Skipped("the module reader refused the module"),
    };
    let mut eps = Vec::new();
    for (f, role, name) in [(allocator.malloc, Role::Malloc, "malloc"), (allocator.free, Role::Free, "free"), (allocator.realloc, Role::Realloc, "realloc")] {
        if let Some(func) = f {
            eps.push(EntryPoint { func, name: name.into(), role, evidence: Evidence::User, confirmed: None });
        }
    }
    let has_allocator = !eps.is_empty();
    // Every other case as the JS runtime instruments (a host call per event, the free checked and recorded in
    // one), the others as `check` does (buffered).
    let options = if js_mode {
        InstrumentOptions { contexts: true, checked_frees: true, fused_free: true, ..Default::default() }
    } else {
        InstrumentOptions { buffered: true, contexts: true, checked_frees: true, ..Default::default() }
    };
    let plugin = if has_allocator {
        match wasmleak_instrument::instrument_with(bytes, &info, &eps, &options) {
            Ok(instrumented) => Some(embed::Plugin { instrumented, info }),
            Err(e) => return Verdict::Diverged(format!("the instrumenter refused a valid module: {e:#}")),
        }
    } else {
        None
    };
    let ins_bytes: &[u8] = plugin.as_ref().map_or(bytes, |p| &p.instrumented.bytes);
    let mut run = || -> Result<Verdict> {
        let m0 = match wasmtime::Module::new(&engines.original, bytes) {
            Ok(m) => m,
            Err(e) => {
                if std::env::var_os("FUZZ_DEBUG").is_some() {
                    eprintln!("compile: {e:#}");
                }
                return Ok(Verdict::Skipped("wasmtime does not compile the module"));
            }
        };
        let m1 = wasmtime::Module::new(&engines.instrumented, ins_bytes).map_err(|e| anyhow!("the instrumented module does not compile: {e:#}"))?;
        let mut s0 = Store::new(&engines.original, ());
        let mut s1 = Store::new(&engines.instrumented, Data { tracker: plugin.as_ref().map(Tracker::new) });
        s0.set_fuel(FUEL)?;
        s1.set_fuel(FUEL * FUEL_FACTOR + 1_000_000)?;
        let l0: Linker<()> = Linker::new(&engines.original);
        let mut l1: Linker<Data> = Linker::new(&engines.instrumented);
        embed::add_to_linker(&mut l1)?;
        let (i0, i1) = match (l0.instantiate(&mut s0, &m0), l1.instantiate(&mut s1, &m1)) {
            (Ok(a), Ok(b)) => (a, b),
            // A start function that trapped on one side or both: the same trap, or a divergence — unless the
            // original ran out of fuel or either side out of stack (limits the two sides do not share).
            (a, b) => {
                let (a, fuel0, stack0) = outcome(a.map(drop), &[]);
                let (b, fuel1, stack1) = outcome(b.map(drop), &[]);
                if fuel0 || stack0 || stack1 {
                    return Ok(Verdict::Skipped("the start function ran out of fuel or stack"));
                }
                if fuel1 {
                    return Ok(Verdict::Diverged(format!("the instrumented start function ran out of {FUEL_FACTOR}× the original's fuel")));
                }
                return Ok(if a == b { Verdict::Same { calls: 0, allocator_calls: false } } else { Verdict::Diverged(format!("instantiating: {a:?} vs {b:?}")) });
            }
        };
        if let Some(d) = state_difference(&mut s0, &i0, &mut s1, &i1)? {
            return Ok(Verdict::Diverged(format!("after instantiating: {d}")));
        }
        let exports: Vec<String> = m0.exports().filter(|e| e.ty().func().is_some()).map(|e| e.name().to_string()).collect();
        let mut calls = 0;
        for name in &exports {
            let f0 = i0.get_func(&mut s0, name).expect("exported");
            let f1 = i1.get_func(&mut s1, name).context("an export is missing after instrumenting")?;
            let ty = f0.ty(&s0);
            let Some(args) = ty.params().map(|t| arg(u, &t)).collect::<Option<Vec<Val>>>() else { continue };
            let mut r0 = vec![Val::I32(0); ty.results().len()];
            let mut r1 = r0.clone();
            s0.set_fuel(FUEL)?;
            s1.set_fuel(FUEL * FUEL_FACTOR + 1_000_000)?;
            let (a, fuel, stack) = outcome(f0.call(&mut s0, &args, &mut r0), &r0);
            if fuel || stack {
                // The original ran out of fuel or stack in this call: how far it got depends on limits the two
                // sides do not share (the instrumented one has more of both), so from here on nothing compares.
                break;
            }
            let (b, fuel1, stack1) = outcome(f1.call(&mut s1, &args, &mut r1), &r1);
            if std::env::var_os("FUZZ_DEBUG").is_some() {
                eprintln!("{name}({args:?}): {a:?} / {b:?}");
            }
            if stack1 && a != b {
                return Ok(Verdict::Skipped("only the instrumented module ran out of stack"));
            }
            if fuel1 {
                return Ok(Verdict::Diverged(format!("{name}: the instrumented call ran out of {}× the original's fuel", FUEL_FACTOR)));
            }
            calls += 1;
            if a != b {
                if invalid(&mut s1) {
                    return Ok(Verdict::Skipped("an invalid free or realloc (the allocator is skipped on purpose)"));
                }
                return Ok(Verdict::Diverged(format!("{name}({args:?}): {a:?} vs {b:?}")));
            }
            // After every call (the next one may run out of fuel half-way, which leaves nothing to compare).
            if let Some(d) = state_difference(&mut s0, &i0, &mut s1, &i1)? {
                if invalid(&mut s1) {
                    return Ok(Verdict::Skipped("an invalid free or realloc (the allocator is skipped on purpose)"));
                }
                return Ok(Verdict::Diverged(format!("after {name}({args:?}): {d}")));
            }
        }
        let allocator_calls = has_allocator && {
            let tracker = s1.data_mut().tracker.take();
            tracker.is_some() && {
                s1.data_mut().tracker = tracker;
                let model = Tracker::finish(&mut s1, |d: &mut Data| d.tracker.take().expect("present"));
                model.allocations + model.frees > 0
            }
        };
        Ok(Verdict::Same { calls, allocator_calls })
    };
    run().unwrap_or_else(|e| Verdict::Diverged(format!("{e:#}")))
}

fn invalid(s1: &mut Store<Data>) -> bool {
    s1.data().tracker.is_some() && !Tracker::invalid_frees(&mut *s1).is_empty()
}

/// The first difference in memory or globals between the two instances, if any.
fn state_difference(s0: &mut Store<()>, i0: &Instance, s1: &mut Store<Data>, i1: &Instance) -> Result<Option<String>> {
    let exports: Vec<(String, wasmtime::Extern)> = i0.exports(&mut *s0).map(|e| (e.name().to_string(), e.into_extern())).collect();
    let names: Vec<(String, wasmtime::ExternType)> = exports.into_iter().map(|(n, e)| (n, e.ty(&*s0))).collect();
    for (name, ty) in names {
        match ty {
            wasmtime::ExternType::Memory(_) => {
                let m0 = i0.get_memory(&mut *s0, &name).expect("exported");
                let m1 = i1.get_memory(&mut *s1, &name).context("an exported memory is missing after instrumenting")?;
                let (a, b) = (m0.data(&*s0), m1.data(&*s1));
                if a.len() != b.len() {
                    return Ok(Some(format!("memory {name}: {} vs {} bytes", a.len(), b.len())));
                }
                // memcmp first: memories are mostly equal, and megabytes long.
                if a != b && let Some(at) = a.iter().zip(b).position(|(x, y)| x != y) {
                    return Ok(Some(format!("memory {name} differs at {at:#x}: {:#04x} vs {:#04x}", a[at], b[at])));
                }
            }
            wasmtime::ExternType::Global(_) => {
                let a = i0.get_global(&mut *s0, &name).expect("exported").get(&mut *s0);
                let b = i1.get_global(&mut *s1, &name).context("an exported global is missing after instrumenting")?.get(&mut *s1);
                if val_bits(&a) != val_bits(&b) {
                    return Ok(Some(format!("global {name}: {} vs {}", val_bits(&a), val_bits(&b))));
                }
            }
            _ => {}
        }
    }
    Ok(None)
}

/// The module of case `seed` with the allocator, before instrumenting (for a look at a divergence).
pub fn case_module(seed: u64) -> Option<Vec<u8>> {
    let data = case_bytes(seed, 8192);
    let mut u = Unstructured::new(&data);
    with_allocator(&generate(&mut u).ok()?).ok().map(|(b, _)| b)
}

/// Run cases `seeds` on `threads` threads (each with a native stack big enough for the guests' wasm stacks).
pub fn run_cases(seeds: std::ops::Range<u64>, threads: u64) -> Result<Tally> {
    run_all(seeds, threads, run_case)
}

/// Run the mutants of real programs `seeds` ([`mutants`]) on `threads` threads.
pub fn run_mutants(seeds: std::ops::Range<u64>, threads: u64) -> Result<Tally> {
    run_all(seeds, threads, mutants::run_mutant)
}

fn run_all(seeds: std::ops::Range<u64>, threads: u64, case: fn(&Engines, u64) -> Verdict) -> Result<Tally> {
    let threads = threads.max(1);
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let seeds = seeds.clone();
            std::thread::Builder::new().stack_size(64 << 20).spawn(move || -> Result<Tally> {
                let engines = Engines::new()?;
                let mut tally = Tally::default();
                for seed in seeds.filter(|s| s % threads == t) {
                    tally.add(seed, case(&engines, seed));
                }
                Ok(tally)
            })
        })
        .collect::<std::io::Result<_>>()?;
    let mut all = Tally::default();
    for h in handles {
        all.merge(h.join().map_err(|_| anyhow!("a fuzzing thread panicked"))??);
    }
    Ok(all)
}
pub mod malformed;
pub mod mutants;
