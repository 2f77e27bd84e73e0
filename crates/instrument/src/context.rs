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
//! Instrumented are the functions that can reach an entry point through direct calls, plus any with an indirect
//! call or a call to an import that can call back into the module (anything but WASI): compute-bound code pays
//! nothing. The allocator's own code is not instrumented: the outermost wrapper reads the id at its entry.

use std::collections::HashSet;
use std::convert::Infallible;

use wasm_encoder::reencode::Reencode;
use wasm_encoder::{Function, Instruction as I, ValType};
use wasmparser::{FunctionBody, Operator};

use crate::module::ModuleInfo;
use crate::statics::Scan;
use crate::Error;

/// Import modules whose functions never call back into the guest.
const LEAF_IMPORT_MODULES: &[&str] = &["wasi_snapshot_preview1", "wasi_unstable", "wasi"];

/// Which functions carry the calling context, and which calls get a call-site id.
pub(crate) struct Plan {
    /// The i64 global holding the id (index in the instrumented module).
    pub global: u32,
    /// By original function index: a call to it gets a call-site id (it can reach an entry point).
    reaches: Vec<bool>,
    /// By original function index: its body is instrumented.
    instrumented: Vec<bool>,
    /// Allocator entry points (original index) → their wrapper taking the call site's constant (new index).
    pub direct: std::collections::HashMap<u32, u32>,
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
        for f in nimp..n as u32 {
            if allocator.contains(&f) || scan.indirect[(f - nimp) as usize] {
                reaches[f as usize] = true;
                work.push(f);
            }
        }
        // Reverse reachability over direct calls.
        let mut callers: Vec<Vec<u32>> = vec![Vec::new(); n];
        for (i, cs) in scan.callees.iter().enumerate() {
            for &c in cs {
                if let Some(v) = callers.get_mut(c as usize) {
                    v.push(i as u32 + nimp);
                }
            }
        }
        while let Some(f) = work.pop() {
            for &c in &callers[f as usize] {
                if !reaches[c as usize] {
                    reaches[c as usize] = true;
                    work.push(c);
                }
            }
        }
        let instrumented = (0..n as u32)
            .map(|f| f >= nimp && !allocator.contains(&f) && reaches[f as usize] && calls_into(scan, &reaches, f - nimp))
            .collect();
        Plan { global, reaches, instrumented, direct: Default::default() }
    }

    pub(crate) fn instruments(&self, func: u32) -> bool {
        self.instrumented.get(func as usize).copied().unwrap_or(false)
    }

    /// How many function bodies carry the context.
    pub(crate) fn count(&self) -> usize {
        self.instrumented.iter().filter(|&&b| b).count()
    }

    /// Re-encode `body` of original function `func` with the context kept, and the indices (in the new body's
    /// instruction sequence) of the instructions added, so code offsets can be mapped back.
    pub(crate) fn body(
        &self,
        shift: &mut impl Reencode<Error = Infallible>,
        func: u32,
        nparams: u32,
        body: &FunctionBody<'_>,
        low_water: Option<&crate::rewrite::LowWater>,
    ) -> Result<(Function, Vec<u32>), Error> {
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
        let mut added = Vec::new();
        let mut at = 0u32;
        let mut add = |f: &mut Function, ins: &I<'_>, at: &mut u32| {
            f.instruction(ins);
            added.push(*at);
            *at += 1;
        };
        for ins in [I::GlobalGet(self.global), I::LocalTee(base), I::I64Const(3), I::I64Mul, I::LocalSet(base3)] {
            add(&mut f, &ins, &mut at);
        }
        let mut site = 0u32;
        let mut lowers = crate::rewrite::LowersSp::default();
        let mut ops = body.get_operators_reader()?;
        while !ops.eof() {
            let op = ops.read()?;
            // (gets a call-site id, returns here)
            let call = match &op {
                Operator::Call { function_index } => self.reaches[*function_index as usize].then_some(true),
                Operator::ReturnCall { function_index } => self.reaches[*function_index as usize].then_some(false),
                Operator::CallIndirect { .. } | Operator::CallRef { .. } => Some(true),
                Operator::ReturnCallIndirect { .. } | Operator::ReturnCallRef { .. } => Some(false),
                _ => None,
            };
            let direct = match &op {
                Operator::Call { function_index } => self.direct.get(function_index).copied(),
                _ => None,
            };
            if call.is_some() {
                let r = site_constant(func, site) as i64;
                site += 1;
                if direct.is_some() {
                    add(&mut f, &I::I64Const(r), &mut at);
                } else {
                    for ins in [I::LocalGet(base3), I::I64Const(r), I::I64Add, I::GlobalSet(self.global)] {
                        add(&mut f, &ins, &mut at);
                    }
                }
            }
            let sets_sp = low_water.filter(|l| lowers.sets(&op, l.sp));
            match direct {
                Some(wrapper) => f.instruction(&I::Call(wrapper)),
                None => f.instruction(&shift.instruction(op)?),
            };
            at += 1;
            for ins in sets_sp.iter().flat_map(|l| l.after_set()) {
                add(&mut f, &ins, &mut at);
            }
            if call == Some(true) && direct.is_none() {
                for ins in [I::LocalGet(base), I::GlobalSet(self.global)] {
                    add(&mut f, &ins, &mut at);
                }
            }
        }
        Ok((f, added))
    }
}

/// Whether defined function `i` (index among defined functions) makes a call that gets a call-site id.
fn calls_into(scan: &Scan, reaches: &[bool], i: u32) -> bool {
    let i = i as usize;
    scan.indirect[i] || scan.callees[i].iter().any(|&c| reaches.get(c as usize).copied().unwrap_or(false))
}

/// The random constant of call site `site` in function `func` (splitmix64 of both): fixed, so instrumenting the
/// same module twice gives the same bytes.
fn site_constant(func: u32, site: u32) -> u64 {
    let mut z = ((func as u64) << 32 | site as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
