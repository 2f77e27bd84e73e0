//! Calling-context ids: a probabilistic calling context (Bond & McKinley, OOPSLA 2007) kept in one mutable i64
//! global, so a hook knows *where* an allocation was made without walking the stack.
//!
//! Every function that can reach the allocator reads the global at entry (`base`) and, before each call that can
//! reach it, sets it to `3·base + R`, where `R` is a random 64-bit constant of that call site; after the call it
//! puts `base` back. At an allocator wrapper the global is then a hash of the chain of call sites from the host's
//! entry down to the allocation: the same chain gives the same id, two chains collide with probability ~2⁻⁶⁴. A
//! host walks the real stack the first time it sees an id and looks it up afterwards.
//!
//! Why it holds under unwinding: every call site computes the id from the caller's own `base` local, never from
//! the global, so after an exception is caught (wasm EH, or a JS `invoke_*` wrapper returning normally) the next
//! call is right again; the global is only stale between a catch and the next call, where no hook fires.
//! Putting `base` back after each call keeps the global at 0 between calls into the module from the host, so the
//! same call from the host gives the same id.
//! A direct call of an allocator entry point sets nothing: it calls the entry point's wrapper variant that takes `R`
//! as one more parameter and works out `3·base + R` itself from the global, which holds the caller's `base` at
//! every call (the wrapper's call sites restore it after each call) — the same id, two stores and their reloads
//! fewer at the commonest kind of site.
//! A free call edge (Sumner et al., PCCE, CGO 2010) sets nothing either: a function the host cannot enter (not
//! exported, not in a table, not the start function) keeps its one call site in the deepest loop as a free edge,
//! and entered there it has its caller's id. Ids stay one per chain of call sites: two chains that differ in a free
//! edge differ in the call sites that follow it (each has its own constant), or end in different functions — as
//! long as free edges make no cycle (recursion through them would give every depth one id), every caller of the
//! callee sets the global as usual (no other way in), and the global holds the caller's id at the free call: its
//! earlier calls put it back (a free callee returns with its own id, which is the caller's) — so neither function
//! may catch an exception (after a catch the global is stale until the next call sets it), and tail calls are
//! never free.
//! Instrumented are the functions that can reach an entry point through direct calls, calls to an import that can
//! call back into the module (anything but WASI), or indirect calls of a type some function that can be in a table
//! and reaches one has (any indirect call, when the host can put its own functions in a table:
//! [`indirect_targets_known`]): compute-bound code pays nothing, a C++ virtual call that cannot allocate included.
//! The allocator's own code is not instrumented: the outermost wrapper reads the id at its entry.

use std::collections::HashSet;
use std::convert::Infallible;

use wasm_encoder::reencode::Reencode;
use wasm_encoder::{Function, Instruction as I, ValType};
use wasmparser::{FunctionBody, Operator};

use crate::codemap::BodyOffsets;
use crate::module::ModuleInfo;
use crate::statics::Scan;
use crate::Error;

/// Import modules whose functions never call back into the guest.
const LEAF_IMPORT_MODULES: &[&str] = &["wasi_snapshot_preview1", "wasi_unstable", "wasi"];

/// Which functions carry the calling context, and which calls get a call-site id.
pub(crate) struct Plan {
    /// The i64 global holding the id (index in the instrumented module).
    pub global: u32,
    nimp: u32,
    /// By original function index: a call to it gets a call-site id (it can reach an entry point).
    reaches: Vec<bool>,
    /// By type index: a `call_indirect` of the type gets a call-site id (it can call a function that reaches an
    /// entry point; every type when the module's tables are open to its host: [`indirect_targets_known`]).
    indirect_reaches: Vec<bool>,
    /// By original function index: its body is instrumented.
    instrumented: Vec<bool>,
    /// Allocator entry points (original index) → their wrapper taking the call site's constant (new index).
    pub direct: std::collections::HashMap<u32, u32>,
    /// The free call edges: (caller, position of the call among its `call`/`return_call` operators).
    free: HashSet<(u32, u32)>,
    /// By defined function: it has a call site that sets the global (neither free nor of an entry point), or an
    /// indirect call.
    sets: Vec<bool>,
}

impl Plan {
    /// `allocator`: the entry points and the code only they call (`statics::allocator_private`).
    pub(crate) fn new(info: &ModuleInfo, scan: &Scan, allocator: &HashSet<u32>, global: u32) -> Plan {
        let nimp = info.num_imported_funcs;
        let n = info.num_funcs() as usize;
        let mut reaches = vec![false; n];
        let mut work: Vec<u32> = Vec::new();
        let imports = info.imports.iter().filter(|i| i.kind == "func");
        for (f, imp) in imports.enumerate() {
            if !LEAF_IMPORT_MODULES.contains(&imp.module.as_str()) {
                reaches[f] = true;
                work.push(f as u32);
            }
        }
        // A call through a table reaches what a function of its type among those that can be in a table (or
        // referenced) reaches — when the host can put no other function there; else anything.
        let known = indirect_targets_known(info);
        let signature = |t: u32| info.types.get(t as usize).and_then(|s| s.as_ref());
        let mut indirect_reaches = vec![!known; info.types.len()];
        for f in nimp..n as u32 {
            if allocator.contains(&f) || calls_through_table(scan, &indirect_reaches, f - nimp) {
                reaches[f as usize] = true;
                work.push(f);
            }
        }
        // Reverse reachability over direct calls, and through tables: until a pass makes no more types reach.
        let mut callers: Vec<Vec<u32>> = vec![Vec::new(); n];
        for (i, cs) in scan.callees.iter().enumerate() {
            for &c in cs {
                if let Some(v) = callers.get_mut(c as usize) {
                    v.push(i as u32 + nimp);
                }
            }
        }
        let mut targets: Vec<u32> = scan.escaping.iter().copied().filter(|&f| (f as usize) < n).collect();
        targets.sort_unstable();
        loop {
            while let Some(f) = work.pop() {
                for &c in &callers[f as usize] {
                    if !reaches[c as usize] {
                        reaches[c as usize] = true;
                        work.push(c);
                    }
                }
            }
            if !known {
                break;
            }
            let reaching: HashSet<&(Vec<wasmparser::ValType>, Vec<wasmparser::ValType>)> = targets
                .iter()
                .filter(|&&f| reaches[f as usize])
                .filter_map(|&f| info.func_types.get(f as usize).and_then(|&t| signature(t)))
                .collect();
            for (t, r) in indirect_reaches.iter_mut().enumerate() {
                *r = signature(t as u32).is_some_and(|s| reaching.contains(&s));
            }
            for f in nimp..n as u32 {
                if !reaches[f as usize] && calls_through_table(scan, &indirect_reaches, f - nimp) {
                    reaches[f as usize] = true;
                    work.push(f);
                }
            }
            if work.is_empty() {
                break;
            }
        }
        let instrumented: Vec<bool> = (0..n as u32)
            .map(|f| f >= nimp && !allocator.contains(&f) && reaches[f as usize] && calls_into(scan, &reaches, &indirect_reaches, f - nimp))
            .collect();
        let free = free_edges(scan, nimp, &reaches, &instrumented, allocator);
        // A call of an entry point goes to its direct wrapper (the entry points are in `allocator`, and nothing
        // else of it is called from outside it), which reads the global itself — but a tail call sets it.
        let sets = scan
            .calls
            .iter()
            .zip(&scan.call_loops)
            .enumerate()
            .map(|(i, (calls, loops))| {
                let f = i as u32 + nimp;
                calls_through_table(scan, &indirect_reaches, i as u32)
                    || calls.iter().zip(loops).enumerate().any(|(k, (&(g, _), &(_, tail)))| {
                        let direct = allocator.contains(&g) && !tail;
                        reaches.get(g as usize).copied().unwrap_or(false) && !direct && !free.contains(&(f, k as u32))
                    })
            })
            .collect();
        Plan { global, nimp, reaches, indirect_reaches, instrumented, direct: Default::default(), free, sets }
    }

    /// Whether a `call_indirect` of type `t` can reach an entry point.
    fn through_table(&self, t: u32) -> bool {
        type_reaches(&self.indirect_reaches, t)
    }

    pub(crate) fn instruments(&self, func: u32) -> bool {
        self.instrumented.get(func as usize).copied().unwrap_or(false)
    }

    /// How many function bodies carry the context.
    pub(crate) fn count(&self) -> usize {
        self.instrumented.iter().filter(|&&b| b).count()
    }

    /// How many calls are free edges.
    pub(crate) fn free_count(&self) -> usize {
        self.free.len()
    }

    /// Whether instrumented function `func` has a call site that sets the global (neither free nor a direct call
    /// of an entry point): only then does it read its id at entry.
    fn sets_global(&self, func: u32) -> bool {
        func.checked_sub(self.nimp).and_then(|d| self.sets.get(d as usize)).copied().unwrap_or(true)
    }

    /// Re-encode `body` of original function `func` with the context kept, and where its instructions went, so code
    /// offsets can be mapped back.
    pub(crate) fn body(
        &self,
        shift: &mut impl Reencode<Error = Infallible>,
        func: u32,
        nparams: u32,
        body: &FunctionBody<'_>,
        low_water: Option<&crate::rewrite::LowWater>,
    ) -> Result<(Function, BodyOffsets), Error> {
        let mut locals = Vec::new();
        let mut nlocals = nparams;
        for l in body.get_locals_reader()? {
            let (count, ty) = l?;
            locals.push((count, shift.val_type(ty)?));
            nlocals += count;
        }
        let (base, base3) = (nlocals, nlocals + 1);
        locals.push((2, ValType::I64));
        let mut f = Function::new(locals);
        let mut offsets = BodyOffsets::default();
        // The id at entry, for the call sites that set the global (a body whose calls are all free or direct has
        // none, and reads nothing).
        if self.sets_global(func) {
            for ins in [I::GlobalGet(self.global), I::LocalTee(base), I::I64Const(3), I::I64Mul, I::LocalSet(base3)] {
                f.instruction(&ins);
            }
        }
        let mut site = 0u32;
        // Position among the body's `call` and `return_call` operators (as the scan's `calls` lists them).
        let mut nth_call = 0u32;
        let mut lowers = crate::rewrite::LowersSp::default();
        let mut ops = body.get_operators_reader()?;
        while !ops.eof() {
            let (op, old) = ops.read_with_offset()?;
            // (gets a call-site id, returns here)
            let call = match &op {
                Operator::Call { function_index } => self.reaches[*function_index as usize].then_some(true),
                Operator::ReturnCall { function_index } => self.reaches[*function_index as usize].then_some(false),
                Operator::CallIndirect { type_index, .. } => self.through_table(*type_index).then_some(true),
                Operator::ReturnCallIndirect { type_index, .. } => self.through_table(*type_index).then_some(false),
                Operator::CallRef { .. } => Some(true),
                Operator::ReturnCallRef { .. } => Some(false),
                _ => None,
            };
            let direct = match &op {
                Operator::Call { function_index } => self.direct.get(function_index).copied(),
                _ => None,
            };
            let free = matches!(op, Operator::Call { .. } | Operator::ReturnCall { .. }) && {
                nth_call += 1;
                self.free.contains(&(func, nth_call - 1))
            };
            let call = call.filter(|_| !free);
            if call.is_some() {
                let r = site_constant(func, site) as i64;
                site += 1;
                if direct.is_some() {
                    f.instruction(&I::I64Const(r));
                } else {
                    for ins in [I::LocalGet(base3), I::I64Const(r), I::I64Add, I::GlobalSet(self.global)] {
                        f.instruction(&ins);
                    }
                }
            }
            let sets_sp = low_water.filter(|l| lowers.sets(&op, l.sp));
            offsets.kept(f.byte_len(), old);
            match direct {
                Some(wrapper) => f.instruction(&I::Call(wrapper)),
                None => f.instruction(&shift.instruction(op)?),
            };
            for ins in sets_sp.iter().flat_map(|l| l.after_set()) {
                f.instruction(&ins);
            }
            if call == Some(true) && direct.is_none() {
                for ins in [I::LocalGet(base), I::GlobalSet(self.global)] {
                    f.instruction(&ins);
                }
            }
        }
        Ok((f, offsets))
    }
}

/// The free call edges (module docs): for each function the host cannot enter, that catches no exception and
/// whose callers all carry the context, its `call` site in the deepest loop of a caller that catches none —
/// hottest edges first, none closing a cycle of free edges.
fn free_edges(scan: &Scan, nimp: u32, reaches: &[bool], instrumented: &[bool], allocator: &HashSet<u32>) -> HashSet<(u32, u32)> {
    let n = reaches.len();
    let catches = |f: u32| crate::statics::of(&scan.catches, f, nimp).copied().unwrap_or(true);
    // Per callee: (loops around the call, caller, position), or None once a caller rules it out.
    let mut best: Vec<Option<(u16, u32, u32)>> = vec![None; n];
    let mut ruled_out = vec![false; n];
    for (i, calls) in scan.calls.iter().enumerate() {
        let f = i as u32 + nimp;
        let loops = &scan.call_loops[i];
        for (k, &(g, _)) in calls.iter().enumerate() {
            let g_ok = (g as usize) < n && reaches[g as usize] && g >= nimp && !allocator.contains(&g);
            if !g_ok {
                continue;
            }
            let (depth, tail) = loops.get(k).copied().unwrap_or((0, true));
            // A caller that does not carry the context (or catches) leaves the callee with a global that is not
            // its own id: no free edge into it at all.
            if !instrumented[f as usize] || catches(f) || tail || f == g {
                if !instrumented[f as usize] {
                    ruled_out[g as usize] = true;
                }
                continue;
            }
            if best[g as usize].is_none_or(|(d, _, _)| depth > d) {
                best[g as usize] = Some((depth, f, k as u32));
            }
        }
    }
    let mut chosen: Vec<(u16, u32, u32, u32)> = (0..n as u32)
        .filter(|&g| !ruled_out[g as usize] && !scan.escaping.contains(&g) && !catches(g))
        .filter_map(|g| best[g as usize].map(|(d, f, k)| (d, g, f, k)))
        .collect();
    chosen.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    // Each function's free caller: a new edge f → g may not make g an ancestor of f.
    let mut parent: Vec<u32> = vec![u32::MAX; n];
    let mut free = HashSet::new();
    for (_, g, f, k) in chosen {
        let mut a = f;
        let mut cycle = false;
        while a != u32::MAX {
            if a == g {
                cycle = true;
                break;
            }
            a = parent[a as usize];
        }
        if !cycle {
            parent[g as usize] = f;
            free.insert((f, k));
        }
    }
    free
}

/// Whether defined function `i` (index among defined functions) makes a call that gets a call-site id.
fn calls_into(scan: &Scan, reaches: &[bool], indirect_reaches: &[bool], i: u32) -> bool {
    calls_through_table(scan, indirect_reaches, i)
        || scan.callees[i as usize].iter().any(|&c| reaches.get(c as usize).copied().unwrap_or(false))
}

/// Whether defined function `i` makes an indirect call that can reach an entry point (`indirect_reaches`, by type;
/// a call through a reference always can).
fn calls_through_table(scan: &Scan, indirect_reaches: &[bool], i: u32) -> bool {
    scan.indirect_types[i as usize].iter().any(|&t| type_reaches(indirect_reaches, t))
}

/// Whether a call through a table of type `t` can reach an entry point; a call through a reference
/// ([`crate::statics::ANY_TYPE`], past every type) always can.
fn type_reaches(indirect_reaches: &[bool], t: u32) -> bool {
    indirect_reaches.get(t as usize).copied().unwrap_or(true)
}

/// Whether every function a call through a table can reach is one of the module's that can be in a table or
/// referenced (`Scan::escaping`), of the call's type exactly: no table or reference-typed global is imported or
/// exported (the host could put its own functions there), no import or export passes function references, no table
/// is filled by an initializer expression, and no type has subtypes (a call of a type may call a subtype's function). Emscripten and wasm-bindgen modules export
/// their table: every indirect call there is taken to reach the allocator.
fn indirect_targets_known(info: &ModuleInfo) -> bool {
    let is_ref = |t: &wasmparser::ValType| matches!(t, wasmparser::ValType::Ref(_));
    let passes_refs = |f: u32| {
        info.func_types.get(f as usize).and_then(|&t| info.types.get(t as usize)).and_then(|s| s.as_ref()).is_none_or(
            |(params, results)| params.iter().chain(results).any(is_ref),
        )
    };
    !info.subtyping
        && !info.table_init
        && !info.imports.iter().any(|i| i.kind == "table")
        && !info.globals.iter().any(|g| is_ref(&g.ty))
        && !info.exports.iter().any(|e| {
            e.kind == wasmparser::ExternalKind::Table || (e.kind == wasmparser::ExternalKind::Func && passes_refs(e.index))
        })
        && !(0..info.num_imported_funcs).any(passes_refs)
}

/// The random constant of call site `site` in function `func` (splitmix64 of both): fixed, so instrumenting the
/// same module twice gives the same bytes.
fn site_constant(func: u32, site: u32) -> u64 {
    let mut z = ((func as u64) << 32 | site as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
