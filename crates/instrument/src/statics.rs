//! The allocator's own static state (dlmalloc's `malloc_state`: bins, `top`, `dv`). It keeps stale pointers
//! to freed chunks, and `top` can point into the last word of a live block; scanned as a root it would make
//! leaked blocks look reachable. We find it as the static addresses the allocator's private code touches.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::{Arc, OnceLock};

use wasmparser::{ElementItems, ElementKind, ExternalKind, FunctionBody, Operator, Parser, Payload};


use crate::allocator::EntryPoint;
use crate::module::ModuleInfo;
use crate::Error;

/// Addresses closer than this are taken as one structure.
const GAP: u64 = 64;
/// How far past its last constant address a structure may run.
const MAX_EXTENSION: u64 = 1024;

/// In [`Scan::indirect_types`]: a call through a function reference, whose target may have any type.
pub(crate) const ANY_TYPE: u32 = u32::MAX;

/// What one pass over the code section tells about every defined function (index − imported functions):
/// shared by the allocator-state finder below and the allocator fingerprints (`fingerprint.rs`).
#[derive(Default)]
pub(crate) struct Scan {
    /// Direct callees.
    pub callees: Vec<HashSet<u32>>,
    /// Constant static addresses used (as `i32.const` or a load/store offset), one entry per use.
    pub touched: Vec<Vec<u64>>,
    /// The same, less the constants an operator takes as a number (`x & 65535`, `n != 65536`): what is
    /// masked as the allocator's own state must be addresses, or it can hide a live block's only pointer.
    pub addressed: Vec<Vec<u64>>,
    /// Functions reachable other than by a direct call: exported, in a table, or taken by ref.func.
    pub escaping: HashSet<u32>,
    /// Table 0's functions by index, as its active segments with a constant offset place them.
    pub table: HashMap<u32, u32>,
    /// The body has `memory.grow`.
    pub grows: Vec<bool>,
    /// The body has `memory.fill`.
    pub fills: Vec<bool>,
    /// The body has `memory.size`.
    pub sizes: Vec<bool>,
    /// Number of operators in the body.
    pub ops: Vec<usize>,
    /// The `memory.atomic.wait32/64` (true: 64) on memory 0 anywhere in the code, by memarg offset.
    pub waits: std::collections::BTreeSet<(bool, u64)>,
    /// Loads and stores in the body.
    pub mem_ops: Vec<usize>,
    /// The body loads from memory (at any address).
    pub reads: Vec<bool>,
    /// The body only passes its parameters on, in order, to one call and returns its result: the target.
    pub forwards_to: Vec<Option<u32>>,
    /// The body is small (a handful of operators) and makes exactly one call: the target.
    pub wraps: Vec<Option<u32>>,
    /// Every direct call: (callee, the local read just before the call when it is a `local.get`, i.e. the
    /// call's last argument).
    pub calls: Vec<Vec<(u32, Option<u32>)>>,
    /// Per entry of `calls`: how many loops enclose the call, and whether it is a tail call (`return_call`).
    pub call_loops: Vec<Vec<(u16, bool)>>,
    /// The body can go on after an exception it caught (`try`, `try_table`): a callee unwound then may have left
    /// what it keeps in globals as it was (context.rs, free call edges).
    pub catches: Vec<bool>,
    /// The types of the body's calls through a table (`call_indirect`, `return_call_indirect`), each once;
    /// [`ANY_TYPE`] for a call through a reference (`call_ref`, `return_call_ref`). Empty: no indirect call.
    pub indirect_types: Vec<Vec<u32>>,
    /// Static addresses the body stores to / loads from at a constant offset (`i32.const 0` … `i32.store offset=A`,
    /// how optimised code writes a global variable) or a constant address (`i32.const A` `i32.load`): one entry per
    /// store or load.
    pub stores: Vec<Vec<u64>>,
    pub loads: Vec<Vec<u64>>,
    /// Some body sets a global other than the stack pointer (state kept outside memory: a bump's `top` in a global).
    pub sets_global: bool,
    /// The body writes its first local (`local.set 0`, `local.tee 0`): a first parameter it passes on may no longer
    /// be what it was given.
    pub sets_first: Vec<bool>,
}

impl Scan {
    /// `other`'s facts after these: its functions follow this one's. (Every field named: one added to `Scan` and
    /// left out here would put the second half's facts under the wrong functions.)
    fn append(&mut self, other: Scan) {
        let Scan {
            mut callees,
            mut touched,
            mut addressed,
            escaping,
            table,
            mut grows,
            mut fills,
            mut sizes,
            mut ops,
            mut waits,
            mut mem_ops,
            mut reads,
            mut forwards_to,
            mut wraps,
            mut calls,
            mut call_loops,
            mut catches,
            mut indirect_types,
            mut stores,
            mut loads,
            sets_global,
            mut sets_first,
        } = other;
        self.callees.append(&mut callees);
        self.touched.append(&mut touched);
        self.addressed.append(&mut addressed);
        self.escaping.extend(escaping);
        self.table.extend(table);
        self.grows.append(&mut grows);
        self.fills.append(&mut fills);
        self.sizes.append(&mut sizes);
        self.ops.append(&mut ops);
        self.waits.append(&mut waits);
        self.mem_ops.append(&mut mem_ops);
        self.reads.append(&mut reads);
        self.forwards_to.append(&mut forwards_to);
        self.wraps.append(&mut wraps);
        self.calls.append(&mut calls);
        self.call_loops.append(&mut call_loops);
        self.catches.append(&mut catches);
        self.indirect_types.append(&mut indirect_types);
        self.stores.append(&mut stores);
        self.loads.append(&mut loads);
        self.sets_global |= sets_global;
        self.sets_first.append(&mut sets_first);
    }

    /// The direct callees of function `func` (an import has none).
    pub(crate) fn callees_of(&self, func: u32, nimp: u32) -> impl Iterator<Item = u32> + '_ {
        func.checked_sub(nimp).and_then(|d| self.callees.get(d as usize)).into_iter().flatten().copied()
    }

    /// Function `func`'s body has `memory.grow`.
    pub(crate) fn grows_here(&self, func: u32, nimp: u32) -> bool {
        of(&self.grows, func, nimp).copied().unwrap_or(false)
    }

    /// Function `func`'s body calls through a table or a reference.
    pub(crate) fn indirect_here(&self, func: u32, nimp: u32) -> bool {
        of(&self.indirect_types, func, nimp).is_some_and(|t| !t.is_empty())
    }

    /// Function `func`'s body loads from memory.
    pub(crate) fn reads_here(&self, func: u32, nimp: u32) -> bool {
        of(&self.reads, func, nimp).copied().unwrap_or(false)
    }

    /// `from` and every function they call directly, transitively.
    pub(crate) fn reached(&self, nimp: u32, from: impl IntoIterator<Item = u32>) -> HashSet<u32> {
        let mut seen: HashSet<u32> = from.into_iter().collect();
        let mut todo: Vec<u32> = seen.iter().copied().collect();
        while let Some(f) = todo.pop() {
            for c in self.callees_of(f, nimp) {
                if seen.insert(c) {
                    todo.push(c);
                }
            }
        }
        seen
    }
}

/// Function `func`'s entry in one of the scan's per-function lists (indexed by defined function); `None` for an
/// import.
pub(crate) fn of<T>(v: &[T], func: u32, nimp: u32) -> Option<&T> {
    v.get(func.checked_sub(nimp)? as usize)
}

/// Function `func`'s addresses in one of the scan's per-function address lists (`stores`, `loads`, `addressed`):
/// none for an import.
pub(crate) fn addresses(v: &[Vec<u64>], func: u32, nimp: u32) -> &[u64] {
    of(v, func, nimp).map_or(&[], Vec::as_slice)
}

/// The scan of `bytes` (the module `info` was parsed from), made once and kept in `info`: discovery, the
/// fingerprints and the rewrite each read it (one pass over a 30 MB module's code took ~0.9 s, and there were four).
pub(crate) fn scan(bytes: &[u8], info: &ModuleInfo) -> Result<Arc<Scan>, Error> {
    let key = Done::key(bytes);
    if let Some((k, s)) = info.done.scan.get()
        && *k == key
    {
        return Ok(s.clone());
    }
    let s = Arc::new(scan_code(bytes, info)?);
    let _ = info.done.scan.set((key, s.clone()));
    Ok(s)
}

/// What [`ModuleInfo`] keeps of the work done on its module's bytes — for the bytes at one address and length
/// (other bytes are done anew): the [`Scan`], and that they validated (discovery and the rewrite each check it).
#[derive(Clone, Default)]
pub struct Done {
    scan: OnceLock<((usize, usize), Arc<Scan>)>,
    validated: OnceLock<(usize, usize)>,
}

impl Done {
    fn key(bytes: &[u8]) -> (usize, usize) {
        (bytes.as_ptr() as usize, bytes.len())
    }

    pub(crate) fn validate(&self, bytes: &[u8]) -> Result<(), Error> {
        let key = Done::key(bytes);
        if self.validated.get() != Some(&key) {
            crate::validate(bytes)?;
            let _ = self.validated.set(key);
        }
        Ok(())
    }
}

impl std::fmt::Debug for Done {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Done")
    }
}

fn scan_code(bytes: &[u8], info: &ModuleInfo) -> Result<Scan, Error> {
    let data_start = info.static_start();
    let mem_end = info.memories.first().map_or(0, |m| m.initial_pages.saturating_mul(65536));
    let mut s = Scan::default();
    s.escaping = info.exports.iter().filter(|e| e.kind == ExternalKind::Func).map(|e| e.index).collect();
    s.escaping.extend(info.start);
    let nimp = info.num_imported_funcs;
    let sp = info.stack_pointer();
    let mut bodies = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        match payload? {
            Payload::ElementSection(r) => {
                for e in r {
                    let e = e?;
                    // Where an active segment of table 0 puts its functions: what `call_indirect` reaches by index.
                    let at = match &e.kind {
                        ElementKind::Active { table_index: None | Some(0), offset_expr } => match offset_expr.get_operators_reader().read() {
                            Ok(Operator::I32Const { value }) => Some(value as u32),
                            _ => None,
                        },
                        _ => None,
                    };
                    match e.items {
                        ElementItems::Functions(fs) => {
                            for (i, f) in fs.into_iter().enumerate() {
                                let f = f?;
                                s.escaping.insert(f);
                                if let Some(at) = at {
                                    s.table.insert(at.wrapping_add(i as u32), f);
                                }
                            }
                        }
                        ElementItems::Expressions(_, exprs) => {
                            for ex in exprs {
                                for op in ex?.get_operators_reader() {
                                    if let Ok(Operator::RefFunc { function_index }) = op {
                                        s.escaping.insert(function_index);
                                    }
                                }
                            }
                        }
                    }
                }
            }
            Payload::CodeSectionEntry(body) => bodies.push(body),
            _ => {}
        }
    }
    // Every body on its own, on two cores for a large module: the second half's facts go after the first's.
    let (first, second) = crate::by_halves(&bodies, |range| -> Result<Scan, Error> {
        let mut p = Scan::default();
        for i in range {
            scan_body(&mut p, &bodies[i], nimp + i as u32, info, sp, data_start, mem_end)?;
        }
        Ok(p)
    });
    s.append(first?);
    s.append(second?);
    Ok(s)
}

/// The facts of one body, function `func`, appended to `s`.
fn scan_body(
    s: &mut Scan,
    body: &FunctionBody<'_>,
    func: u32,
    info: &ModuleInfo,
    sp: Option<u32>,
    data_start: u64,
    mem_end: u64,
) -> Result<(), Error> {
    let nparams = info.func_signature(func).map_or(0, |sig| sig.0.len() as u32);
    let mut calls = HashSet::new();
    let mut addrs = Vec::new();
    let (mut stores, mut loads) = (Vec::new(), Vec::new());
    let (mut grows, mut fills, mut sizes, mut n, mut mem, mut ncalls) = (false, false, false, 0usize, 0usize, 0usize);
    let mut reads = false;
    let mut indirect_types = Vec::new();
    let mut sets_first = false;
    let mut last_call = None;
    let mut call_list = Vec::new();
    let mut call_loops = Vec::new();
    // Enclosing blocks, true for a loop; and how many are loops.
    let (mut blocks, mut loops, mut catches) = (Vec::new(), 0u16, false);
    let mut prev_local: Option<u32> = None;
    let mut pending: Option<u64> = None;
    let mut numbers: Vec<u64> = Vec::new();
    // Forwarder: local.get 0 .. local.get n-1, call X, [return], end.
    let mut fwd_ok = true;
    let in_static = |a: u64| a >= data_start && a < mem_end;
    let has_locals = body.get_locals_reader()?.get_count() > 0;
    for (i, op) in body.get_operators_reader()?.into_iter().enumerate() {
        let op = op?;
        n += 1;
        let i = i as u32;
        // A constant an operator takes as a number (a mask, a bound, a factor) is not an address:
        // dlmalloc's `x & 65535`, a page count `!= 65536`.
        if let Some(a) = pending.take() {
            addrs.push(a);
            if is_numeric_use(&op) {
                numbers.push(a);
            }
            // The address a load takes (-O0 code: `i32.const A`, `i32.load`). Right before a store, the
            // constant is the value stored (a pointer to a static: Zig's `i32.const A`, `i32.store
            // offset=88` of a vtable's address into a stack frame), not where.
            if let Some(offset) = memarg_offset(&op).filter(|_| !is_store(&op)) {
                loads.push(a + offset);
            }
        }
        let this_local = if let Operator::LocalGet { local_index } = &op { Some(*local_index) } else { None };
        match &op {
            Operator::LocalGet { local_index } if i < nparams && *local_index == i => {}
            Operator::Call { .. } | Operator::ReturnCall { .. } if i == nparams => {}
            Operator::Return | Operator::End if i > nparams => {}
            _ => fwd_ok = false,
        }
        match op {
            Operator::Block { .. } | Operator::If { .. } => blocks.push(false),
            Operator::Loop { .. } => {
                blocks.push(true);
                loops += 1;
            }
            Operator::Try { .. } | Operator::TryTable { .. } => {
                blocks.push(false);
                catches = true;
            }
            Operator::End | Operator::Delegate { .. } => loops -= blocks.pop().unwrap_or(false) as u16,
            _ => {}
        }
        match op {
            Operator::Call { function_index } | Operator::ReturnCall { function_index } => {
                calls.insert(function_index);
                call_loops.push((loops, matches!(op, Operator::ReturnCall { .. })));
                call_list.push((function_index, prev_local));
                ncalls += 1;
                last_call = Some(function_index);
            }
            Operator::RefFunc { function_index } => {
                s.escaping.insert(function_index);
            }
            Operator::CallIndirect { type_index, .. } | Operator::ReturnCallIndirect { type_index, .. } => {
                if !indirect_types.contains(&type_index) {
                    indirect_types.push(type_index);
                }
            }
            Operator::CallRef { .. } | Operator::ReturnCallRef { .. } => {
                if !indirect_types.contains(&ANY_TYPE) {
                    indirect_types.push(ANY_TYPE);
                }
            }
            Operator::LocalSet { local_index: 0 } | Operator::LocalTee { local_index: 0 } => sets_first = true,
            Operator::GlobalSet { global_index } if Some(global_index) != sp => s.sets_global = true,
            Operator::MemoryGrow { mem: 0 } => grows = true,
            Operator::MemoryFill { mem: 0 } => fills = true,
            Operator::MemorySize { .. } => sizes = true,
            Operator::MemoryAtomicWait32 { memarg } | Operator::MemoryAtomicWait64 { memarg } if memarg.memory == 0 => {
                s.waits.insert((matches!(op, Operator::MemoryAtomicWait64 { .. }), memarg.offset));
            }
            Operator::I32Const { value } if in_static(value as u32 as u64) => pending = Some(value as u32 as u64),
            op => {
                if let Some(offset) = memarg_offset(&op) {
                    mem += 1;
                    reads |= !is_store(&op);
                    if in_static(offset) {
                        addrs.push(offset);
                        if is_store(&op) {
                            stores.push(offset);
                        } else {
                            loads.push(offset);
                        }
                    }
                }
            }
        }
        prev_local = this_local;
    }
    addrs.extend(pending);
    let forwards = fwd_ok && !has_locals && ncalls == 1 && n >= nparams as usize + 2;
    s.forwards_to.push(if forwards { last_call } else { None });
    s.wraps.push(if ncalls == 1 && n <= 16 { last_call } else { None });
    s.callees.push(calls);
    s.calls.push(call_list);
    s.call_loops.push(call_loops);
    s.catches.push(catches);
    let mut addressed = addrs.clone();
    for a in numbers {
        if let Some(i) = addressed.iter().position(|&x| x == a) {
            addressed.swap_remove(i);
        }
    }
    s.addressed.push(addressed);
    s.touched.push(addrs);
    s.stores.push(stores);
    s.loads.push(loads);
    s.grows.push(grows);
    s.fills.push(fills);
    s.sizes.push(sizes);
    s.ops.push(n);
    s.mem_ops.push(mem);
    s.reads.push(reads);
    s.indirect_types.push(indirect_types);
    s.sets_first.push(sets_first);
    Ok(())
}

/// An operator that takes its last operand as a number, never as a memory address.
fn is_numeric_use(op: &Operator<'_>) -> bool {
    use Operator::*;
    matches!(
        op,
        I32And | I32Or | I32Xor | I32Shl | I32ShrU | I32ShrS | I32Rotl | I32Rotr | I32Mul | I32DivU | I32DivS
            | I32RemU | I32RemS | I32Eq | I32Ne | I32LtU | I32LtS | I32GtU | I32GtS | I32LeU | I32LeS | I32GeU | I32GeS
    )
}

/// Private allocator code: the entry points, and every function only they call (transitively), not reachable
/// otherwise (exported, in a table). It only ever runs inside an entry point.
pub(crate) fn allocator_private(scan: &Scan, nimp: u32, eps: &[EntryPoint]) -> HashSet<u32> {
    let mut callers: HashMap<u32, Vec<u32>> = HashMap::new();
    for (i, cs) in scan.callees.iter().enumerate() {
        for &c in cs {
            callers.entry(c).or_default().push(i as u32 + nimp);
        }
    }
    let mut private: HashSet<u32> = eps.iter().map(|e| e.func).collect();
    loop {
        let before = private.len();
        for (&f, cs) in &callers {
            if f >= nimp && !private.contains(&f) && !scan.escaping.contains(&f) && cs.iter().all(|c| private.contains(c)) {
                private.insert(f);
            }
        }
        if private.len() == before {
            break;
        }
    }
    private
}

/// Whether dlmalloc's aligned allocation seems inlined into a caller of the hooked `malloc`: a function outside
/// the allocator's own code that calls it and then works on chunk headers as only the allocator does — reads the
/// word before a chunk's memory (`p - 4`), masks a header to its size (`& -8`) and reads or sets its in-use bits
/// (`& 3`, `| 2`). wasm-opt puts
/// `posix_memalign` into its one caller (libc++abi's `__cxa_allocate_exception`, a program's aligned buffer),
/// which splits the block malloc returned. The buffered wrappers then watch for that split (buffered.rs).
pub(crate) fn splits_after_malloc(bytes: &[u8], info: &ModuleInfo, eps: &[EntryPoint], private: &HashSet<u32>) -> Result<bool, Error> {
    let nimp = info.num_imported_funcs;
    let mallocs: HashSet<u32> = eps.iter().filter(|e| e.role == crate::allocator::Role::Malloc).map(|e| e.func).collect();
    if mallocs.is_empty() {
        return Ok(false);
    }
    let scan = scan(bytes, info)?;
    let callers: HashSet<u32> = (0..scan.callees.len() as u32)
        .map(|i| i + nimp)
        .filter(|f| !private.contains(f) && scan.callees[(f - nimp) as usize].iter().any(|c| mallocs.contains(c)))
        .collect();
    if callers.is_empty() {
        return Ok(false);
    }
    let mut bodies = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        if let Payload::CodeSectionEntry(body) = payload? {
            bodies.push(body);
        }
    }
    bodies = bodies.into_iter().enumerate().filter(|(i, _)| callers.contains(&(nimp + *i as u32))).map(|(_, b)| b).collect();
    // (A C++ program's callers of malloc are thousands of bodies: on two cores.)
    let (first, second) = crate::by_halves(&bodies, |range| -> Result<bool, Error> {
        for i in range {
            if works_on_chunk_headers(&bodies[i])? {
                return Ok(true);
            }
        }
        Ok(false)
    });
    Ok(first? || second?)
}

/// A function body that works on dlmalloc's chunk headers as only the allocator does: reads the word before a
/// chunk's memory (`p - 4`), masks a header to its size (`& -8`) and reads or sets its in-use bits.
pub(crate) fn works_on_chunk_headers(body: &wasmparser::FunctionBody<'_>) -> Result<bool, Error> {
    let (mut size_masks, mut bit_ops, mut headers) = (0, 0, 0);
    let mut prev: Option<i32> = None;
    for op in body.get_operators_reader()? {
        let op = op?;
        match (&op, prev) {
            (Operator::I32And, Some(-8)) => size_masks += 1,
            (Operator::I32And, Some(3)) | (Operator::I32Or, Some(1..=3)) => bit_ops += 1,
            // The word before a chunk's memory: its header (`p - 4`).
            (Operator::I32Sub, Some(4)) | (Operator::I32Add, Some(-4)) => headers += 1,
            _ => {}
        }
        prev = if let Operator::I32Const { value } = op { Some(value) } else { None };
    }
    Ok(size_masks >= 1 && bit_ops >= 2 && headers >= 1)
}

#[cfg(test)]
pub(crate) fn allocator_statics(bytes: &[u8], info: &ModuleInfo, eps: &[EntryPoint]) -> Result<Vec<Range<u64>>, Error> {
    Ok(allocator_state(bytes, info, eps)?.0)
}

/// The allocator's own static state (see [`allocator_statics`]) and the static addresses of the code ([`Bounds`]),
/// from one walk of which code is the allocator's.
pub(crate) fn allocator_state(bytes: &[u8], info: &ModuleInfo, eps: &[EntryPoint]) -> Result<(Vec<Range<u64>>, Bounds), Error> {
    let nimp = info.num_imported_funcs;
    let scan = scan(bytes, info)?;
    let private = allocator_private(&scan, nimp, eps);
    Ok((state_ranges(&scan, info, eps, &private), bounds(&scan, nimp, &private)))
}

fn state_ranges(scan: &Scan, info: &ModuleInfo, eps: &[EntryPoint], private: &HashSet<u32>) -> Vec<Range<u64>> {
    let nimp = info.num_imported_funcs;
    let mut addrs: Vec<u64> = private
        .iter()
        .filter(|&&f| f >= nimp)
        .filter_map(|&f| scan.addressed.get((f - nimp) as usize))
        .flatten()
        .copied()
        .collect();
    addrs.sort_unstable();
    // How many times the allocator's code uses each: a constant used once, alone, is too little to call a
    // structure — dlmalloc's page size (`i32.const 4096` into a local at -O0) fell inside an Emscripten program's
    // global array, and the 1 KiB hole it opened there made 257 reachable blocks "lost" (Emscripten survey).
    let mut uses: HashMap<u64, usize> = HashMap::new();
    for &a in &addrs {
        *uses.entry(a).or_default() += 1;
    }
    addrs.dedup();
    // The statics the rest of the program uses as addresses. Its numbers do not count: SQLite's flag masks
    // (`& 0xe5ff`) fell inside wasi-libc's `_gm_` at -Oz, and a bin of it left out of the holes held a leaked
    // block's address (5 leaked blocks called reachable).
    let mut others: Vec<u64> = (0..scan.addressed.len() as u32)
        .filter(|i| !private.contains(&(i + nimp)))
        .flat_map(|i| scan.addressed[i as usize].iter().copied())
        .collect();
    others.sort_unstable();
    let used_between = |from: u64, to: u64| others[others.partition_point(|&a| a < from)..].first().is_some_and(|&a| a < to);
    let mut ranges: Vec<(Range<u64>, usize)> = Vec::new();
    for &a in &addrs {
        let n = uses[&a];
        match ranges.last_mut() {
            // Close addresses are one structure, unless the program's own static lies between them (Emscripten
            // puts a C++ `static std::vector` between sbrk's break and dlmalloc's `_gm_`: left out of the roots,
            // its buffer was called lost).
            Some((r, m)) if a <= r.end + GAP && !used_between(r.end, a) => {
                r.end = a + 4;
                *m += n;
            }
            _ => ranges.push((a..a + 4, n)),
        }
    }
    let mut ranges: Vec<Range<u64>> = ranges.into_iter().filter(|(_, n)| *n > 1).map(|(r, _)| r).collect();
    // Arrays inside the state (dlmalloc's bins) are reached through computed addresses, so the last
    // constant is not the structure's end: it runs on until the next static the rest of the program uses as an
    // address.
    for r in &mut ranges {
        let next = others[others.partition_point(|&a| a < r.end)..].first().copied().unwrap_or(u64::MAX);
        r.end = next.min(r.end + MAX_EXTENSION);
    }
    // dlmalloc's own state is known whole: a constant inside it that the program uses (a number passed to a
    // function: `consume(3000)`, the exponent bias 15361 of a long double conversion) ended the range above there,
    // and its small bins past that point, which keep the address of a chunk a bin gave out (dlmalloc leaves it when
    // the bin empties), made a leaked block "reachable": exit 0 (Emscripten survey, -O0 to -Oz).
    if crate::links_dlmalloc(info, eps) {
        ranges.extend(malloc_state(&addrs));
        ranges.sort_by_key(|r| r.start);
    }
    ranges
}

/// Static addresses in the code (sorted, deduplicated): the constants the allocator's private code uses as addresses
/// (`allocator`: an arena's base, `tlsf_create_with_pool(pool, …)`, is among them), and the addresses the rest of
/// the program loads from or stores to at a constant (`program`: its statics). Not every constant of the program:
/// a number it uses (a bound, a count) can fall inside a large pool.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Bounds {
    pub allocator: Vec<u64>,
    pub program: Vec<u64>,
}

impl Bounds {
    /// The arena in static memory that holds `lowest` (the lowest live block), when debug info does not name it: from
    /// the allocator's last constant address at or below the block (its base), or the block itself, up to the next
    /// address the program's own code reads or writes (its statics after the pool). Its control (TLSF's free lists
    /// at the pool's start) and the freed chunks between blocks keep stale addresses inside live blocks: as roots
    /// they held leaked blocks "reachable from static data", exit 0, in a build without DWARF.
    pub fn arena(&self, lowest: u64, static_end: u64) -> Option<Range<u64>> {
        if lowest >= static_end {
            return None;
        }
        let before = |v: &[u64]| v[..v.partition_point(|&a| a <= lowest)].last().copied();
        let program_before = before(&self.program);
        let start = before(&self.allocator).filter(|&a| program_before.is_none_or(|p| a > p)).unwrap_or(lowest);
        let end = self.program[self.program.partition_point(|&a| a <= lowest)..].first().copied().unwrap_or(static_end).min(static_end);
        (start < end).then_some(start..end)
    }
}

fn bounds(scan: &Scan, nimp: u32, private: &HashSet<u32>) -> Bounds {
    let mut b = Bounds::default();
    for (i, addrs) in scan.addressed.iter().enumerate() {
        if private.contains(&(i as u32 + nimp)) {
            b.allocator.extend_from_slice(addrs);
        } else {
            b.program.extend(scan.loads[i].iter().chain(&scan.stores[i]));
        }
    }
    for v in [&mut b.allocator, &mut b.program] {
        v.sort_unstable();
        v.dedup();
    }
    b
}

/// The largest step between two constant addresses dlmalloc's code uses inside its state: its array of small bins
/// (33 pairs of words, reached by computed addresses) lies between the fields it reads at fixed addresses.
const BINS: u64 = 272;

/// Where dlmalloc's state lies among the constant addresses its code uses (sorted): from its first field
/// (`smallmap`), where its fields to `top` (offsets 0 to 24) and the first small bin (40; 44 in newer versions) are
/// each read at a fixed address, on through the allocator's constants as long as each is at most a bin array past
/// the one before — its tree bins, its footprint and segment, `mparams` after it. Never past the allocator's own
/// last constant: no static of the program's after it is covered. (The state's size varies between versions:
/// 472 bytes in Emscripten 3.1's, 480 in sql.js 1.13's; the Rust `dlmalloc` crate orders its fields otherwise.)
fn malloc_state(addrs: &[u64]) -> Option<Range<u64>> {
    let has = |a: u64| addrs.binary_search(&a).is_ok();
    let c = *addrs.iter().find(|&&c| (1..=6).all(|k| has(c + 4 * k)) && (has(c + 40) || has(c + 44)))?;
    let mut end = c + 4;
    for &a in &addrs[addrs.partition_point(|&a| a < c)..] {
        if a > end + BINS {
            break;
        }
        end = a + 4;
    }
    Some(c..end)
}

pub(crate) fn is_store(op: &Operator<'_>) -> bool {
    use Operator::*;
    matches!(
        op,
        I32Store { .. } | I64Store { .. } | F32Store { .. } | F64Store { .. } | I32Store8 { .. } | I32Store16 { .. }
            | I64Store8 { .. } | I64Store16 { .. } | I64Store32 { .. }
    )
}

pub(crate) fn memarg_offset(op: &Operator<'_>) -> Option<u64> {
    use Operator::*;
    let m = match op {
        I32Load { memarg } | I64Load { memarg } | F32Load { memarg } | F64Load { memarg } | I32Load8S { memarg }
        | I32Load8U { memarg } | I32Load16S { memarg } | I32Load16U { memarg } | I64Load8S { memarg }
        | I64Load8U { memarg } | I64Load16S { memarg } | I64Load16U { memarg } | I64Load32S { memarg }
        | I64Load32U { memarg } | I32Store { memarg } | I64Store { memarg } | F32Store { memarg }
        | F64Store { memarg } | I32Store8 { memarg } | I32Store16 { memarg } | I64Store8 { memarg }
        | I64Store16 { memarg } | I64Store32 { memarg } => memarg,
        _ => return None,
    };
    (m.memory == 0).then_some(m.offset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::allocator::{Evidence, Role};

    /// The allocator statics of a module whose functions 0 and 1 are its malloc and free.
    fn statics_of(wat: &str) -> Vec<Range<u64>> {
        let bytes = wat::parse_str(wat).unwrap();
        let info = ModuleInfo::parse(&bytes).unwrap();
        let ep = |func, name: &str, role| EntryPoint { func, name: name.into(), role, evidence: Evidence::NameSection, confirmed: None };
        allocator_statics(&bytes, &info, &[ep(0, "malloc", Role::Malloc), ep(1, "free", Role::Free)]).unwrap()
    }

    /// The allocator's state runs on past its last constant address (its bins are reached through computed
    /// addresses) up to the next static the rest of the program uses as an address; a number the program uses
    /// (a flag mask that falls inside the state) does not end it.
    #[test]
    fn a_mask_in_the_program_does_not_cut_the_allocator_state_short() {
        let wat = r#"(module
            (memory 1)
            (data (i32.const 1024) "state")
            (func $malloc (export "malloc") (param i32) (result i32)
                i32.const 1028 local.get 0 i32.store
                local.get 0 i32.const 3 i32.shl i32.const 1032 i32.add i32.load)
            (func $free (export "free") (param i32)
                i32.const 1024 local.get 0 i32.store)
            (func $user (export "user") (param i32) (result i32)
                local.get 0 i32.const 1100 i32.and
                i32.const 1200 i32.load
                i32.add))"#;
        assert_eq!(statics_of(wat), vec![1024..1200]);
    }

    /// dlmalloc's state is taken whole (from `smallmap`, through its bins, to the allocator's last constant after it)
    /// where its code reads its first fields at fixed addresses: a number the program passes to a function that
    /// falls inside it (`consume(3000)`) does not cut it short, and its bins past that number stay out of the roots.
    #[test]
    fn dlmalloc_state_is_whole_whatever_numbers_fall_inside_it() {
        let fields: String = (0..7).map(|k| format!("i32.const {} i32.load drop ", 2916 + 4 * k)).collect();
        let wat = format!(
            r#"(module
            (memory 1)
            (data (i32.const 1024) "state")
            (func $dlmalloc (param i32) (result i32)
                {fields}
                local.get 0 i32.const 3 i32.shl i32.const 2956 i32.add i32.load)
            (func $dlfree (param i32)
                {fields}
                i32.const 3220 local.get 0 i32.store
                i32.const 3364 local.get 0 i32.store)
            (func $malloc (export "malloc") (param i32) (result i32) local.get 0 call $dlmalloc)
            (func $free (export "free") (param i32) local.get 0 call $dlfree)
            (func $consume (param i32))
            (func $user (export "user") (result i32)
                i32.const 3000 call $consume
                i32.const 3600 i32.load))"#
        );
        let holes = statics_of(&wat);
        // The program's 3000 still ends the range of the first fields; the state's own range covers the rest.
        assert!(holes.contains(&(2916..3000)) && holes.contains(&(2916..3368)), "{holes:?}");
        assert!(holes.iter().all(|h| h.end <= 3600), "the program's static at 3600 stays a root: {holes:?}");
    }

    /// Two of the allocator's statics close together are one structure, unless the program's own static lies
    /// between them (Emscripten: sbrk's break, a C++ `static std::vector`, dlmalloc's `_gm_`).
    #[test]
    fn a_program_static_between_allocator_statics_stays_a_root() {
        let wat = r#"(module
            (memory 1)
            (data (i32.const 1024) "state")
            (func $malloc (export "malloc") (param i32) (result i32)
                i32.const 1100 i32.const 1100 i32.load local.get 0 i32.add i32.store
                i32.const 1124 i32.load)
            (func $free (export "free") (param i32)
                i32.const 1124 local.get 0 i32.store)
            (func $user (export "user") (result i32)
                i32.const 1108 i32.load
                i32.const 2000 i32.load
                i32.add))"#;
        assert_eq!(statics_of(wat), vec![1100..1108, 1124..2000]);
    }

    /// A constant the allocator's code uses once is no structure (dlmalloc's page size, `i32.const 4096` kept in a
    /// local at -O0, fell inside an Emscripten program's global array: a 1 KiB hole in the roots).
    #[test]
    fn a_constant_used_once_is_no_allocator_static() {
        let wat = r#"(module
            (memory 1)
            (data (i32.const 1024) "state")
            (func $malloc (export "malloc") (param i32) (result i32)
                (local i32)
                i32.const 4096 local.set 1
                i32.const 1124 local.get 0 i32.store
                i32.const 1124 i32.load)
            (func $free (export "free") (param i32)
                i32.const 1124 local.get 0 i32.store))"#;
        assert_eq!(statics_of(wat), vec![1124..1124 + MAX_EXTENSION + 4]);
    }
}
