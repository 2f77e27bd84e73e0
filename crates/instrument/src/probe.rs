//! A scratch instance of a module, to call its functions and watch what they do to memory: the experiments that
//! confirm (or refute) what the code's shape suggests about its allocator (`confirm.rs`).
//!
//! The module is not run as the program: it is rebuilt into a self-contained copy with the same function,
//! global, memory and table indices — every import turned into a definition (imported functions trap, except
//! the few an allocator's growth path calls: Emscripten's `emscripten_resize_heap` grows memory, its memcpy
//! helpers copy) but memory 0, which each instance is given from a pool of buffers (`Lab::fresh`), no start
//! function (but a threaded module's, which puts its data in memory), no custom sections, exports only for the
//! memory and a table of the functions an experiment calls — and run in an interpreter (wasmi, translating a
//! function only when it is first called) with a fuel budget, so the same experiment gives the same answer in every
//! host (the CLI, Node, the browser), whatever the module does when called with arguments it never expected.
//! Exception handling is lowered to plain blocks (nothing is thrown on the paths the experiments take), and a
//! threaded module's shared memory becomes a plain one, its atomic instructions what they do on one thread; a
//! function whose body uses what the interpreter cannot run (GC) fails when called: an experiment that needs it is
//! inconclusive, never a pass.

use std::collections::HashMap;
use std::mem::ManuallyDrop;
use std::sync::{Arc, Mutex};

use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasm_encoder::{
    CodeSection, ConstExpr, ExportKind, ExportSection, Function, FunctionSection, GlobalSection, Instruction as I,
    MemorySection, Module, TableSection, ValType,
};
use wasmparser::{Parser, Payload, TypeRef, Validator, WasmFeatures};

use crate::module::ModuleInfo;

/// Interpreter steps one call may take (dlmalloc's malloc is a few hundred).
const FUEL: u64 = 5_000_000;
/// Largest memory a scratch instance may grow to.
const MAX_MEMORY: usize = 512 << 20;

/// Why a call did not return normally.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    Trap(String),
    OutOfFuel,
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::Trap(t) => write!(f, "trapped ({t})"),
            Fault::OutOfFuel => write!(f, "did not return within {FUEL} steps"),
        }
    }
}

/// The compiled scratch copy of a module; [`Lab::fresh`] gives a new instance for each experiment.
pub(crate) struct Lab {
    engine: wasmi::Engine,
    module: wasmi::Module,
    /// Each function experiments may call → its slot in the copy's exported table [`FUNCS`]: one table, not an
    /// export per function, which each fresh instance had to build a map of (31,917 exports in a 30 MB module:
    /// 16 ms an instance, tens of instances in one discovery).
    slots: Arc<HashMap<u32, u32>>,
    /// Memory 0, which the copy imports: (initial, maximum) in pages.
    memory: (u32, Option<u32>),
    /// Buffers for memory 0 that no instance holds: each fresh instance takes one (wasmi zeroes a memory's bytes
    /// when it makes one, and a fresh allocation of them faulted in every page — 256 MB for an Emscripten module with
    /// pthreads, 0.4 s an instance, 16 s of one discovery); only the pages an instance touched are zeroed again.
    buffers: Arc<Mutex<Vec<Box<[u8]>>>>,
    /// Run in every fresh instance first: the module's constructors (`__wasm_call_ctors`), which set up
    /// allocators that initialise themselves there (emmalloc).
    init: Option<u32>,
}

/// One instance of the scratch copy.
pub(crate) struct Scratch {
    /// Dropped before `buffer` goes back to the pool (see `Drop`).
    store: ManuallyDrop<wasmi::Store<wasmi::StoreLimits>>,
    memory: wasmi::Memory,
    funcs: wasmi::Table,
    slots: Arc<HashMap<u32, u32>>,
    /// Memory 0's bytes, lent to the store as `'static` (a `Box` made raw) until it is dropped.
    buffer: *mut [u8],
    buffers: Arc<Mutex<Vec<Box<[u8]>>>>,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // SAFETY: `buffer` was lent to this store alone (`Lab::fresh`), which is not used after this.
        unsafe { give_back(&mut self.store, self.buffer, &self.buffers) }
    }
}

/// Drop `store`, then put `buffer` (a `Box` made raw for it) back in `pool`.
///
/// # Safety
/// `buffer` came from `Box::into_raw` and only `store` holds it; `store` is not used afterwards.
unsafe fn give_back(store: &mut ManuallyDrop<wasmi::Store<wasmi::StoreLimits>>, buffer: *mut [u8], pool: &Mutex<Vec<Box<[u8]>>>) {
    unsafe {
        ManuallyDrop::drop(store);
        pool.lock().unwrap_or_else(|e| e.into_inner()).push(Box::from_raw(buffer));
    }
}

/// The module of the import that is the copy's memory 0.
const MEMORY_IMPORT: (&str, &str) = ("wasmleak", "memory");

/// The scratch copy's export of the functions experiments may call (see `Lab::slots`).
const FUNCS: &str = "wasmleak:funcs";

fn features() -> WasmFeatures {
    WasmFeatures::WASM2
        | WasmFeatures::TAIL_CALL
        | WasmFeatures::EXTENDED_CONST
        | WasmFeatures::MULTI_MEMORY
        | WasmFeatures::RELAXED_SIMD
}

impl Lab {
    /// The scratch copy of `bytes` with `funcs` exported; `Err` says why the module cannot be run this way.
    pub(crate) fn new(bytes: &[u8], info: &ModuleInfo, funcs: &[u32], init: Option<u32>) -> Result<Lab, String> {
        if info.memories.first().is_none_or(|m| m.memory64) {
            return Err("the module has no 32-bit memory".into());
        }
        let funcs: Vec<u32> = funcs.iter().copied().chain(init).collect();
        let (wasm, slots, memory) = build(bytes, info, &funcs)?;
        // Module-level features the interpreter does not have (GC types, say) end the experiments here; a body
        // it cannot run is only translated, and refused, when an experiment calls it (lazy compilation).
        let mut validator = Validator::new_with_features(features());
        for payload in Parser::new(0).parse_all(&wasm) {
            let payload = payload.map_err(|e| format!("the scratch copy is malformed: {e}"))?;
            if let Payload::CodeSectionStart { .. } = payload {
                break;
            }
            validator.payload(&payload).map_err(|e| format!("it uses features the interpreter does not run ({e})"))?;
        }
        let mut config = wasmi::Config::default();
        config.consume_fuel(true);
        config.compilation_mode(wasmi::CompilationMode::Lazy);
        config.wasm_tail_call(true).wasm_extended_const(true).wasm_multi_memory(true).wasm_simd(true).wasm_relaxed_simd(true);
        let engine = wasmi::Engine::new(&config);
        let module = wasmi::Module::new(&engine, &wasm).map_err(|e| format!("the interpreter cannot load it: {e}"))?;
        Ok(Lab { engine, module, slots: Arc::new(slots), memory, buffers: Arc::default(), init })
    }

    /// The constructors [`Lab::new`] found, if any.
    pub(crate) fn init(&self) -> Option<u32> {
        self.init
    }

    /// A new instance, its constructors run (`init`: [`Lab::init`], or another function that may be them).
    pub(crate) fn fresh(&self, init: Option<u32>) -> Result<Scratch, String> {
        let limits = wasmi::StoreLimitsBuilder::new().memory_size(MAX_MEMORY).build();
        let mut store = wasmi::Store::new(&self.engine, limits);
        store.limiter(|l| l);
        // For a start function (a threaded module's data initialisation).
        store.set_fuel(FUEL).map_err(|e| e.to_string())?;
        // Room for memory 0 to grow as far as the store's limit lets it (the pages untouched cost nothing).
        let (initial, maximum) = self.memory;
        let bytes = |pages: u32| pages as usize * 65536;
        let room = bytes(initial).max(maximum.map_or(MAX_MEMORY, |m| bytes(m).min(MAX_MEMORY)));
        let pooled = self.buffers.lock().unwrap_or_else(|e| e.into_inner()).pop().filter(|b| b.len() == room);
        let raw: *mut [u8] = Box::into_raw(pooled.unwrap_or_else(|| vec![0u8; room].into_boxed_slice()));
        // SAFETY: lent to this store alone until it is dropped (`give_back`); `raw` is not used meanwhile.
        let buffer: &'static mut [u8] = unsafe { &mut *raw };
        let memory = wasmi::Memory::new_static(&mut store, wasmi::MemoryType::new(initial, maximum), buffer);
        let memory = match memory {
            Ok(m) => m,
            Err(e) => {
                // SAFETY: the store did not take the buffer.
                drop(unsafe { Box::from_raw(raw) });
                return Err(format!("the scratch instance's memory cannot be made: {e}"));
            }
        };
        let mut store = ManuallyDrop::new(store);
        let mut linker = wasmi::Linker::<wasmi::StoreLimits>::new(&self.engine);
        let funcs = linker
            .define(MEMORY_IMPORT.0, MEMORY_IMPORT.1, memory)
            .map_err(|e| e.to_string())
            .and_then(|linker| {
                linker
                    .instantiate_and_start(&mut *store, &self.module)
                    .map_err(|e| format!("the scratch instance cannot be created: {e}"))
            })
            .and_then(|instance| instance.get_table(&*store, FUNCS).ok_or("the scratch copy has no table of functions".into()));
        let funcs = match funcs {
            Ok(f) => f,
            Err(e) => {
                // SAFETY: the buffer was lent to this store alone, which goes here.
                unsafe { give_back(&mut store, raw, &self.buffers) };
                return Err(e);
            }
        };
        let mut scratch = Scratch { store, memory, funcs, slots: self.slots.clone(), buffer: raw, buffers: self.buffers.clone() };
        if let Some(init) = init {
            // A constructor that fails (one that does I/O, say) leaves what ran before it done.
            let _ = scratch.call(init, &[]);
        }
        Ok(scratch)
    }
}

impl Scratch {
    /// Function `f` (original index), when experiments may call it.
    fn func(&self, f: u32) -> Option<wasmi::Func> {
        let slot = *self.slots.get(&f)?;
        self.funcs.get(&*self.store, slot as u64)?.as_func()?.val().map(|f| **f)
    }

    /// Calls function `f` (original index) with i32 arguments; its i32 result, if it has one.
    pub(crate) fn call(&mut self, f: u32, args: &[i32]) -> Result<Option<i32>, Fault> {
        let func = self.func(f).ok_or_else(|| Fault::Trap(format!("func {f} is not in the scratch copy")))?;
        let ty = func.ty(&*self.store);
        if ty.params().len() != args.len() {
            return Err(Fault::Trap(format!("func {f} takes {} arguments, not {}", ty.params().len(), args.len())));
        }
        let params: Vec<wasmi::Val> = args.iter().map(|&a| wasmi::Val::I32(a)).collect();
        let mut results: Vec<wasmi::Val> = ty.results().iter().map(|t| wasmi::Val::default_for_ty(*t)).collect();
        self.store.set_fuel(FUEL).map_err(|e| Fault::Trap(e.to_string()))?;
        match func.call(&mut *self.store, &params, &mut results) {
            Ok(()) => Ok(results.first().and_then(|v| v.i32())),
            Err(e) if e.as_trap_code() == Some(wasmi::TrapCode::OutOfFuel) => Err(Fault::OutOfFuel),
            Err(e) => Err(Fault::Trap(e.to_string())),
        }
    }

    pub(crate) fn memory_size(&self) -> u64 {
        self.memory.data_size(&*self.store) as u64
    }

    /// `len` bytes at `addr`, or None when out of bounds.
    pub(crate) fn read(&self, addr: u32, len: u32) -> Option<&[u8]> {
        let data = self.memory.data(&*self.store);
        data.get(addr as usize..(addr as usize).checked_add(len as usize)?)
    }

    pub(crate) fn read_u32(&self, addr: u32) -> Option<u32> {
        self.read(addr, 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Writes `bytes` at `addr`: false when out of bounds.
    pub(crate) fn write(&mut self, addr: u32, bytes: &[u8]) -> bool {
        let data = self.memory.data_mut(&mut *self.store);
        match data.get_mut(addr as usize..(addr as usize).saturating_add(bytes.len())) {
            Some(dst) => {
                dst.copy_from_slice(bytes);
                true
            }
            None => false,
        }
    }

    /// Number of parameters of function `f` (original index), when experiments may call it.
    pub(crate) fn func_params(&self, f: u32) -> Option<usize> {
        self.func(f).map(|func| func.ty(&*self.store).params().len())
    }
}

/// `body` for the interpreter: with `exceptions`, `try` and `try_table` become plain blocks, their handlers
/// (dead code then) are dropped, `delegate` ends the block and a throw traps — the interpreter has no exceptions,
/// and nothing is thrown on the paths the experiments take (Rust built with `panic=unwind` has `try` in its
/// allocator shims); with `atomics` (a module with shared memory: threads), each atomic access becomes the plain
/// access it is on one thread ([`plain_atomic`]).
/// `nparams`: the function's parameters, for the scratch locals the atomics need.
fn lowered(body: &wasmparser::FunctionBody<'_>, exceptions: bool, atomics: bool, nparams: u32) -> Result<Function, String> {
    use wasmparser::Operator as O;
    let mut re = RoundtripReencoder;
    let mut locals = Vec::new();
    let mut nlocals = nparams;
    for l in body.get_locals_reader().map_err(|e| e.to_string())? {
        let (n, t) = l.map_err(|e| e.to_string())?;
        locals.push((n, re.val_type(t).map_err(|e| e.to_string())?));
        nlocals += n;
    }
    let scratch = Scratch32And64 { addr: nlocals, i32s: nlocals + 1, i64s: nlocals + 4 };
    if atomics {
        locals.push((4, ValType::I32));
        locals.push((3, ValType::I64));
    }
    let mut f = Function::new(locals);
    // Per open block: whether it was a `try`; and, while skipping a handler, how deep inside it we are.
    let mut tries: Vec<bool> = Vec::new();
    let mut skipping: Option<usize> = None;
    for op in body.get_operators_reader().map_err(|e| e.to_string())? {
        let op = op.map_err(|e| e.to_string())?;
        if let Some(depth) = skipping.as_mut() {
            match op {
                O::Block { .. } | O::Loop { .. } | O::If { .. } | O::Try { .. } | O::TryTable { .. } => *depth += 1,
                O::End if *depth == 0 => {
                    skipping = None;
                    tries.pop();
                    f.instruction(&I::End);
                }
                O::End => *depth -= 1,
                _ => {}
            }
            continue;
        }
        if atomics && plain_atomic(&mut f, &op, scratch) {
            continue;
        }
        if !exceptions {
            f.instruction(&re.instruction(op).map_err(|e| e.to_string())?);
            continue;
        }
        match op {
            O::Try { blockty } | O::TryTable { try_table: wasmparser::TryTable { ty: blockty, .. } } => {
                tries.push(true);
                f.instruction(&I::Block(re.block_type(blockty).map_err(|e| e.to_string())?));
            }
            O::Block { .. } | O::Loop { .. } | O::If { .. } => {
                tries.push(false);
                f.instruction(&re.instruction(op).map_err(|e| e.to_string())?);
            }
            O::Catch { .. } | O::CatchAll if tries.last() == Some(&true) => skipping = Some(0),
            O::Delegate { .. } => {
                tries.pop();
                f.instruction(&I::End);
            }
            O::End => {
                tries.pop();
                f.instruction(&I::End);
            }
            O::Throw { .. } | O::Rethrow { .. } | O::ThrowRef => {
                f.instruction(&I::Unreachable);
            }
            op => {
                f.instruction(&re.instruction(op).map_err(|e| e.to_string())?);
            }
        }
    }
    Ok(f)
}

/// Locals [`lowered`] adds for atomics: an address, then three of each value type (operand, old, replacement).
#[derive(Clone, Copy)]
struct Scratch32And64 {
    addr: u32,
    i32s: u32,
    i64s: u32,
}

/// An atomic access of the threads proposal, as [`plain_atomic`] rewrites it.
#[derive(Clone, Copy)]
enum Atomic {
    Load,
    Store,
    /// A read-modify-write: the plain operation on the old value and the operand (`None`: exchange).
    Rmw(Option<fn(bool) -> I<'static>>),
    Cmpxchg,
}

/// Emits the single-threaded equivalent of `op` when it is an atomic instruction of the threads proposal, and
/// says whether it did: loads and stores as plain ones; a read-modify-write as load, operate, store, the old
/// value left; a fence as nothing; `wait` as "not equal" and `notify` as "no waiter woken" (one thread never
/// waits). The scratch instance runs on one thread, so this is what the instruction does there.
fn plain_atomic(f: &mut Function, op: &wasmparser::Operator<'_>, l: Scratch32And64) -> bool {
    use wasmparser::Operator as O;
    let add = |w: bool| if w { I::I64Add } else { I::I32Add };
    let sub = |w: bool| if w { I::I64Sub } else { I::I32Sub };
    let and = |w: bool| if w { I::I64And } else { I::I32And };
    let or = |w: bool| if w { I::I64Or } else { I::I32Or };
    let xor = |w: bool| if w { I::I64Xor } else { I::I32Xor };
    // (what, is i64, bytes accessed, memarg)
    let (what, wide, bytes, memarg) = match *op {
        O::AtomicFence => return true,
        O::MemoryAtomicNotify { .. } => {
            f.instruction(&I::Drop).instruction(&I::Drop).instruction(&I::I32Const(0));
            return true;
        }
        O::MemoryAtomicWait32 { .. } | O::MemoryAtomicWait64 { .. } => {
            f.instruction(&I::Drop).instruction(&I::Drop).instruction(&I::Drop).instruction(&I::I32Const(1));
            return true;
        }
        O::I32AtomicLoad { memarg } => (Atomic::Load, false, 4, memarg),
        O::I32AtomicLoad8U { memarg } => (Atomic::Load, false, 1, memarg),
        O::I32AtomicLoad16U { memarg } => (Atomic::Load, false, 2, memarg),
        O::I64AtomicLoad { memarg } => (Atomic::Load, true, 8, memarg),
        O::I64AtomicLoad8U { memarg } => (Atomic::Load, true, 1, memarg),
        O::I64AtomicLoad16U { memarg } => (Atomic::Load, true, 2, memarg),
        O::I64AtomicLoad32U { memarg } => (Atomic::Load, true, 4, memarg),
        O::I32AtomicStore { memarg } => (Atomic::Store, false, 4, memarg),
        O::I32AtomicStore8 { memarg } => (Atomic::Store, false, 1, memarg),
        O::I32AtomicStore16 { memarg } => (Atomic::Store, false, 2, memarg),
        O::I64AtomicStore { memarg } => (Atomic::Store, true, 8, memarg),
        O::I64AtomicStore8 { memarg } => (Atomic::Store, true, 1, memarg),
        O::I64AtomicStore16 { memarg } => (Atomic::Store, true, 2, memarg),
        O::I64AtomicStore32 { memarg } => (Atomic::Store, true, 4, memarg),
        O::I32AtomicRmwAdd { memarg } => (Atomic::Rmw(Some(add)), false, 4, memarg),
        O::I32AtomicRmw8AddU { memarg } => (Atomic::Rmw(Some(add)), false, 1, memarg),
        O::I32AtomicRmw16AddU { memarg } => (Atomic::Rmw(Some(add)), false, 2, memarg),
        O::I64AtomicRmwAdd { memarg } => (Atomic::Rmw(Some(add)), true, 8, memarg),
        O::I64AtomicRmw8AddU { memarg } => (Atomic::Rmw(Some(add)), true, 1, memarg),
        O::I64AtomicRmw16AddU { memarg } => (Atomic::Rmw(Some(add)), true, 2, memarg),
        O::I64AtomicRmw32AddU { memarg } => (Atomic::Rmw(Some(add)), true, 4, memarg),
        O::I32AtomicRmwSub { memarg } => (Atomic::Rmw(Some(sub)), false, 4, memarg),
        O::I32AtomicRmw8SubU { memarg } => (Atomic::Rmw(Some(sub)), false, 1, memarg),
        O::I32AtomicRmw16SubU { memarg } => (Atomic::Rmw(Some(sub)), false, 2, memarg),
        O::I64AtomicRmwSub { memarg } => (Atomic::Rmw(Some(sub)), true, 8, memarg),
        O::I64AtomicRmw8SubU { memarg } => (Atomic::Rmw(Some(sub)), true, 1, memarg),
        O::I64AtomicRmw16SubU { memarg } => (Atomic::Rmw(Some(sub)), true, 2, memarg),
        O::I64AtomicRmw32SubU { memarg } => (Atomic::Rmw(Some(sub)), true, 4, memarg),
        O::I32AtomicRmwAnd { memarg } => (Atomic::Rmw(Some(and)), false, 4, memarg),
        O::I32AtomicRmw8AndU { memarg } => (Atomic::Rmw(Some(and)), false, 1, memarg),
        O::I32AtomicRmw16AndU { memarg } => (Atomic::Rmw(Some(and)), false, 2, memarg),
        O::I64AtomicRmwAnd { memarg } => (Atomic::Rmw(Some(and)), true, 8, memarg),
        O::I64AtomicRmw8AndU { memarg } => (Atomic::Rmw(Some(and)), true, 1, memarg),
        O::I64AtomicRmw16AndU { memarg } => (Atomic::Rmw(Some(and)), true, 2, memarg),
        O::I64AtomicRmw32AndU { memarg } => (Atomic::Rmw(Some(and)), true, 4, memarg),
        O::I32AtomicRmwOr { memarg } => (Atomic::Rmw(Some(or)), false, 4, memarg),
        O::I32AtomicRmw8OrU { memarg } => (Atomic::Rmw(Some(or)), false, 1, memarg),
        O::I32AtomicRmw16OrU { memarg } => (Atomic::Rmw(Some(or)), false, 2, memarg),
        O::I64AtomicRmwOr { memarg } => (Atomic::Rmw(Some(or)), true, 8, memarg),
        O::I64AtomicRmw8OrU { memarg } => (Atomic::Rmw(Some(or)), true, 1, memarg),
        O::I64AtomicRmw16OrU { memarg } => (Atomic::Rmw(Some(or)), true, 2, memarg),
        O::I64AtomicRmw32OrU { memarg } => (Atomic::Rmw(Some(or)), true, 4, memarg),
        O::I32AtomicRmwXor { memarg } => (Atomic::Rmw(Some(xor)), false, 4, memarg),
        O::I32AtomicRmw8XorU { memarg } => (Atomic::Rmw(Some(xor)), false, 1, memarg),
        O::I32AtomicRmw16XorU { memarg } => (Atomic::Rmw(Some(xor)), false, 2, memarg),
        O::I64AtomicRmwXor { memarg } => (Atomic::Rmw(Some(xor)), true, 8, memarg),
        O::I64AtomicRmw8XorU { memarg } => (Atomic::Rmw(Some(xor)), true, 1, memarg),
        O::I64AtomicRmw16XorU { memarg } => (Atomic::Rmw(Some(xor)), true, 2, memarg),
        O::I64AtomicRmw32XorU { memarg } => (Atomic::Rmw(Some(xor)), true, 4, memarg),
        O::I32AtomicRmwXchg { memarg } => (Atomic::Rmw(None), false, 4, memarg),
        O::I32AtomicRmw8XchgU { memarg } => (Atomic::Rmw(None), false, 1, memarg),
        O::I32AtomicRmw16XchgU { memarg } => (Atomic::Rmw(None), false, 2, memarg),
        O::I64AtomicRmwXchg { memarg } => (Atomic::Rmw(None), true, 8, memarg),
        O::I64AtomicRmw8XchgU { memarg } => (Atomic::Rmw(None), true, 1, memarg),
        O::I64AtomicRmw16XchgU { memarg } => (Atomic::Rmw(None), true, 2, memarg),
        O::I64AtomicRmw32XchgU { memarg } => (Atomic::Rmw(None), true, 4, memarg),
        O::I32AtomicRmwCmpxchg { memarg } => (Atomic::Cmpxchg, false, 4, memarg),
        O::I32AtomicRmw8CmpxchgU { memarg } => (Atomic::Cmpxchg, false, 1, memarg),
        O::I32AtomicRmw16CmpxchgU { memarg } => (Atomic::Cmpxchg, false, 2, memarg),
        O::I64AtomicRmwCmpxchg { memarg } => (Atomic::Cmpxchg, true, 8, memarg),
        O::I64AtomicRmw8CmpxchgU { memarg } => (Atomic::Cmpxchg, true, 1, memarg),
        O::I64AtomicRmw16CmpxchgU { memarg } => (Atomic::Cmpxchg, true, 2, memarg),
        O::I64AtomicRmw32CmpxchgU { memarg } => (Atomic::Cmpxchg, true, 4, memarg),
        _ => return false,
    };
    let a = wasm_encoder::MemArg { offset: memarg.offset, align: memarg.align as u32, memory_index: memarg.memory };
    let load = match (wide, bytes) {
        (false, 1) => I::I32Load8U(a),
        (false, 2) => I::I32Load16U(a),
        (false, _) => I::I32Load(a),
        (true, 1) => I::I64Load8U(a),
        (true, 2) => I::I64Load16U(a),
        (true, 4) => I::I64Load32U(a),
        (true, _) => I::I64Load(a),
    };
    let store = match (wide, bytes) {
        (false, 1) => I::I32Store8(a),
        (false, 2) => I::I32Store16(a),
        (false, _) => I::I32Store(a),
        (true, 1) => I::I64Store8(a),
        (true, 2) => I::I64Store16(a),
        (true, 4) => I::I64Store32(a),
        (true, _) => I::I64Store(a),
    };
    let base = if wide { l.i64s } else { l.i32s };
    let (operand, old, replacement) = (base, base + 1, base + 2);
    match what {
        Atomic::Load => {
            f.instruction(&load);
            return true;
        }
        Atomic::Store => {
            f.instruction(&store);
            return true;
        }
        // [addr, operand] → store(addr, old OP operand), leaving old.
        Atomic::Rmw(operation) => {
            f.instruction(&I::LocalSet(operand)).instruction(&I::LocalSet(l.addr));
            f.instruction(&I::LocalGet(l.addr));
            f.instruction(&I::LocalGet(l.addr)).instruction(&load).instruction(&I::LocalTee(old));
            match operation {
                Some(operation) => f.instruction(&I::LocalGet(operand)).instruction(&operation(wide)),
                None => f.instruction(&I::Drop).instruction(&I::LocalGet(operand)),
            };
        }
        // [addr, expected, replacement] → store(addr, old == expected ? replacement : old), leaving old.
        Atomic::Cmpxchg => {
            f.instruction(&I::LocalSet(replacement)).instruction(&I::LocalSet(operand)).instruction(&I::LocalSet(l.addr));
            f.instruction(&I::LocalGet(l.addr));
            f.instruction(&I::LocalGet(l.addr)).instruction(&load).instruction(&I::LocalSet(old));
            f.instruction(&I::LocalGet(replacement)).instruction(&I::LocalGet(old)).instruction(&I::LocalGet(old));
            f.instruction(&I::LocalGet(operand));
            // The old value is zero-extended from `bytes`: compared with the expected value cut the same way.
            if bytes < if wide { 8 } else { 4 } {
                let mask = (1u64 << (8 * bytes)) - 1;
                f.instruction(&if wide { I::I64Const(mask as i64) } else { I::I32Const(mask as i32) });
                f.instruction(&and(wide));
            }
            f.instruction(&if wide { I::I64Eq } else { I::I32Eq }).instruction(&I::Select);
        }
    }
    f.instruction(&store).instruction(&I::LocalGet(old));
    true
}

/// A function that traps.
fn trap() -> Function {
    let mut f = Function::new([]);
    f.instruction(&I::Unreachable).instruction(&I::End);
    f
}

/// The body standing in for an imported function: a trap, except for the imports an allocator's growth path
/// calls, which get their plain meaning.
fn import_body(module: &str, name: &str, params: &[wasmparser::ValType], results: &[wasmparser::ValType]) -> Function {
    use wasmparser::ValType::I32;
    let sig = (params, results);
    match (module, name, sig) {
        // emscripten_resize_heap(requested bytes) -> ok: grow to at least that size.
        ("env", "emscripten_resize_heap", ([I32], [I32])) => {
            let mut f = Function::new([(1, ValType::I32)]);
            f.instruction(&I::MemorySize(0)).instruction(&I::I32Const(16)).instruction(&I::I32Shl);
            f.instruction(&I::LocalSet(1));
            f.instruction(&I::LocalGet(0)).instruction(&I::LocalGet(1)).instruction(&I::I32LeU);
            f.instruction(&I::If(wasm_encoder::BlockType::Empty));
            f.instruction(&I::I32Const(1)).instruction(&I::Return).instruction(&I::End);
            f.instruction(&I::LocalGet(0)).instruction(&I::LocalGet(1)).instruction(&I::I32Sub);
            f.instruction(&I::I32Const(65535)).instruction(&I::I32Add);
            f.instruction(&I::I32Const(16)).instruction(&I::I32ShrU);
            f.instruction(&I::MemoryGrow(0)).instruction(&I::I32Const(-1)).instruction(&I::I32Ne);
            f.instruction(&I::End);
            f
        }
        // Embind's type registrations, which the constructors make before anything else runs: nothing to do here
        // (a trap would end the constructors before the allocator's own set-up).
        ("env", n, (_, [])) if n.starts_with("_embind_register") || n.starts_with("_embind_finalize") => {
            let mut f = Function::new([]);
            f.instruction(&I::End);
            f
        }
        ("env", "emscripten_notify_memory_growth", ([I32], [])) => {
            let mut f = Function::new([]);
            f.instruction(&I::End);
            f
        }
        // memcpy for large sizes in Emscripten's libc (realloc copies through it).
        ("env", "emscripten_memcpy_big" | "emscripten_memcpy_js" | "_emscripten_memcpy_js", ([I32, I32, I32], r))
            if r.is_empty() || r == [I32] =>
        {
            let mut f = Function::new([]);
            f.instruction(&I::LocalGet(0)).instruction(&I::LocalGet(1)).instruction(&I::LocalGet(2));
            f.instruction(&I::MemoryCopy { src_mem: 0, dst_mem: 0 });
            if !r.is_empty() {
                f.instruction(&I::LocalGet(0));
            }
            f.instruction(&I::End);
            f
        }
        _ => trap(),
    }
}

fn zero(ty: wasmparser::ValType) -> Result<ConstExpr, String> {
    Ok(match ty {
        wasmparser::ValType::I32 => ConstExpr::i32_const(0),
        wasmparser::ValType::I64 => ConstExpr::i64_const(0),
        wasmparser::ValType::F32 => ConstExpr::f32_const(0.0.into()),
        wasmparser::ValType::F64 => ConstExpr::f64_const(0.0.into()),
        wasmparser::ValType::V128 => ConstExpr::v128_const(0),
        wasmparser::ValType::Ref(r) if r.is_nullable() => {
            let ht = RoundtripReencoder.heap_type(r.heap_type()).map_err(|e| e.to_string())?;
            ConstExpr::ref_null(ht)
        }
        wasmparser::ValType::Ref(_) => return Err("an imported global holds a non-nullable reference".into()),
    })
}

/// The self-contained copy (see the module docs). Function bodies are copied byte for byte: every index they use
/// is unchanged.
/// The scratch copy, the slot of each of `funcs` in its table [`FUNCS`], and its memory 0's (initial, maximum) pages:
/// the copy imports it ([`MEMORY_IMPORT`]), the others it defines.
fn build(bytes: &[u8], info: &ModuleInfo, funcs: &[u32]) -> Result<(Vec<u8>, HashMap<u32, u32>, (u32, Option<u32>)), String> {
    let err = |e: &dyn std::fmt::Display| format!("cannot rebuild the module for experiments: {e}");
    let mut re = RoundtripReencoder;
    // Imports become definitions at the same indices: imports come first in every index space, so they are
    // defined first.
    let mut types = wasm_encoder::TypeSection::new();
    let mut functions = FunctionSection::new();
    let mut tables = TableSection::new();
    let mut memory_types: Vec<wasm_encoder::MemoryType> = Vec::new();
    let mut globals = GlobalSection::new();
    let mut elements: Option<wasm_encoder::ElementSection> = None;
    let mut data_count: Option<u32> = None;
    let mut codes = CodeSection::new();
    let mut data: Option<wasm_encoder::DataSection> = None;
    let mut import_bodies: Vec<Function> = Vec::new();
    // Exception instructions need tags: a module without any has none to lower.
    let has_tags = info.imports.iter().any(|i| i.kind == "tag") || info.sections.iter().any(|s| s.id == 13);
    // Threads: the copy's memory is not shared (one thread runs it), and its atomics are lowered.
    let shared = info.memories.iter().any(|m| m.shared);
    let mut next_body = info.num_imported_funcs;
    let mut start = None;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.map_err(|e| err(&e))? {
            Payload::TypeSection(r) => re.parse_type_section(&mut types, r).map_err(|e| err(&e))?,
            Payload::ImportSection(r) => {
                for imp in r.into_imports() {
                    let imp = imp.map_err(|e| err(&e))?;
                    match imp.ty {
                        TypeRef::Func(t) | TypeRef::FuncExact(t) => {
                            functions.function(t);
                            let (p, r) = info
                                .types
                                .get(t as usize)
                                .and_then(|t| t.as_ref())
                                .ok_or("an import's type is not a function type")?;
                            import_bodies.push(import_body(imp.module, imp.name, p, r));
                        }
                        TypeRef::Table(t) => {
                            tables.table(re.table_type(t).map_err(|e| err(&e))?);
                        }
                        TypeRef::Memory(m) => {
                            let mut m = re.memory_type(m).map_err(|e| err(&e))?;
                            m.shared = false;
                            memory_types.push(m);
                        }
                        TypeRef::Global(g) => {
                            globals.global(re.global_type(g).map_err(|e| err(&e))?, &zero(g.content_type)?);
                        }
                        // Tags only serve exception instructions, which the interpreter does not run: a body that
                        // throws fails when an experiment calls it (tag indices then mean nothing).
                        TypeRef::Tag(_) => {}
                    }
                }
            }
            Payload::FunctionSection(r) => {
                for t in r {
                    functions.function(t.map_err(|e| err(&e))?);
                }
            }
            Payload::TableSection(r) => {
                for t in r {
                    re.parse_table(&mut tables, t.map_err(|e| err(&e))?).map_err(|e| err(&e))?;
                }
            }
            Payload::MemorySection(r) => {
                for m in r {
                    let mut m = re.memory_type(m.map_err(|e| err(&e))?).map_err(|e| err(&e))?;
                    m.shared = false;
                    memory_types.push(m);
                }
            }
            Payload::GlobalSection(r) => {
                for g in r {
                    re.parse_global(&mut globals, g.map_err(|e| err(&e))?).map_err(|e| err(&e))?;
                }
            }
            Payload::ElementSection(r) => {
                let mut s = wasm_encoder::ElementSection::new();
                re.parse_element_section(&mut s, r).map_err(|e| err(&e))?;
                elements = Some(s);
            }
            Payload::DataCountSection { count, .. } => data_count = Some(count),
            Payload::CodeSectionStart { .. } => {
                for f in import_bodies.drain(..) {
                    codes.function(&f);
                }
            }
            Payload::CodeSectionEntry(body) => {
                let func = next_body;
                next_body += 1;
                // Atomics (0xFE-prefixed) only where the byte is there at all.
                let atomics = shared && bytes[body.range()].contains(&0xFE);
                if has_tags || atomics {
                    let nparams = info.func_signature(func).map_or(0, |(p, _)| p.len() as u32);
                    codes.function(&lowered(&body, has_tags, atomics, nparams).map_err(|e| err(&e))?);
                } else {
                    codes.raw(&bytes[body.range()]);
                }
            }
            Payload::DataSection(r) => {
                let mut s = wasm_encoder::DataSection::new();
                re.parse_data_section(&mut s, r).map_err(|e| err(&e))?;
                data = Some(s);
            }
            // A threaded module's start function is wasm-ld's `__wasm_init_memory`: it copies the (passive) data
            // segments into the memory, the allocator's initial break among them — kept.
            Payload::StartSection { func, .. } if shared => start = Some(func),
            // Dropped: the program's own exports and start, custom sections, exception tags (a body that
            // throws does not validate without them, so it traps).
            Payload::ExportSection(_)
            | Payload::StartSection { .. }
            | Payload::TagSection(_)
            | Payload::CustomSection(_)
            | Payload::Version { .. }
            | Payload::End(_) => {}
            other => {
                let id = other.as_section().map(|(id, _)| id);
                return Err(format!("it has a section the experiments do not know (id {id:?})"));
            }
        }
    }
    // A module with imported functions but no code section of its own.
    for f in import_bodies.drain(..) {
        codes.function(&f);
    }
    let mut slots = HashMap::new();
    let mut listed = Vec::new();
    for &f in funcs {
        if f < info.num_funcs() && !slots.contains_key(&f) {
            slots.insert(f, listed.len() as u32);
            listed.push(f);
        }
    }
    let table = tables.len();
    let n = listed.len() as u64;
    tables.table(wasm_encoder::TableType { element_type: wasm_encoder::RefType::FUNCREF, table64: false, minimum: n, maximum: Some(n), shared: false });
    let elements = elements.get_or_insert_with(wasm_encoder::ElementSection::new);
    elements.active(Some(table), &ConstExpr::i32_const(0), wasm_encoder::Elements::Functions(listed.into()));
    let mut exports = ExportSection::new();
    exports.export("memory", ExportKind::Memory, 0);
    exports.export(FUNCS, ExportKind::Table, table);
    let mut memory_types = memory_types.into_iter();
    let memory0 = memory_types.next().ok_or("the module has no memory")?;
    let pages = |n: u64| u32::try_from(n).map_err(|_| "memory 0 is larger than 4 GiB".to_string());
    let memory = (pages(memory0.minimum)?, memory0.maximum.map(pages).transpose()?);
    let mut imports = wasm_encoder::ImportSection::new();
    imports.import(MEMORY_IMPORT.0, MEMORY_IMPORT.1, memory0);
    let mut memories = MemorySection::new();
    for m in memory_types {
        memories.memory(m);
    }
    let mut out = Module::new();
    out.section(&types);
    out.section(&imports);
    out.section(&functions);
    out.section(&tables);
    if !memories.is_empty() {
        out.section(&memories);
    }
    if !globals.is_empty() {
        out.section(&globals);
    }
    out.section(&exports);
    if let Some(function_index) = start {
        out.section(&wasm_encoder::StartSection { function_index });
    }
    out.section(elements);
    if let Some(count) = data_count {
        out.section(&wasm_encoder::DataCountSection { count });
    }
    out.section(&codes);
    if let Some(d) = &data {
        out.section(d);
    }
    Ok((out.finish(), slots, memory))
}
