//! Find the allocator of a module without names (stripped production builds) from the shape of its code.
//!
//! dlmalloc (wasi-libc, Emscripten, the Rust `dlmalloc` crate) keeps one static `malloc_state` that its
//! `malloc` and `free` read and write through dozens of constant addresses; emmalloc keeps a smaller
//! static block of list heads that its `memalign` core and `free` use. The finder picks that state, then
//! the entry points around it by signature and call shape (see [`fingerprint`]), then the thin wrappers
//! around those (C++ `operator new` / `operator delete`, see `Finder::wrappers`). Anything it is not sure
//! about makes it give up with the best candidates, never guess.

use std::collections::{HashMap, HashSet};

use wasmparser::ValType;

use crate::allocator::{Confidence, EntryPoint, Evidence, Role};
use crate::confirm::{Candidate, Experiments, Outcome, Shown};
use crate::module::ModuleInfo;
use crate::probe::Lab;
use crate::statics::{scan, Scan};
use crate::Error;

/// What an inlined allocator means for the user.
const INLINED: &str = "there is no function left to hook; wasm-opt inlines a function that has one call site — \
    `clang -O2` runs it at link time when binaryen is installed: compile with -O2 and link without -O, or keep \
    wasm-opt from inlining the allocator (Emscripten: an `-O2 -g` build keeps it a function)";

/// The note of an allocator found without a free: `why` none was found.
fn no_free_note(why: &str) -> String {
    format!("no free: {why}; the module only allocates (wasm-ld drops free when nothing calls it)")
}

/// Addresses closer than this are taken as one structure (as in `statics.rs`).
const GAP: u64 = 64;
/// dlmalloc's malloc uses its state through this many constant addresses at least (measured: 149–237).
const DL_MALLOC_USES: usize = 40;
/// ... and its free (measured: 31–41).
const DL_FREE_USES: usize = 15;
/// dlmalloc's state is one `malloc_state` of about 470 bytes (wasm32), but the constant addresses its code
/// uses leave holes wider than [`GAP`] (the tree bins, 128 bytes, are indexed, not named; older versions of the
/// `dlmalloc` crate unroll the initialisation of the small bins and then skip to the fields after the tree
/// bins): clusters of malloc's no further apart than this are one state.
const STATE_GAP: u64 = 256;
/// ... spanning at most this much.
const STATE_SPAN: u64 = 1024;

/// Why the shape of the code gave no allocator: one sentence, and what was tried (for `inspect`).
#[derive(Clone, Debug)]
pub(crate) struct Refusal {
    pub why: String,
    pub detail: Vec<String>,
}

impl Refusal {
    fn new(why: String) -> Self {
        Refusal { why, detail: Vec::new() }
    }
}

/// What the shape of the code, confirmed by experiment where the module can be run, says the entry points are;
/// `notes` says what looked like an entry point but was left out, and why.
pub(crate) struct Found {
    pub entry_points: Vec<EntryPoint>,
    pub notes: Vec<String>,
    /// For `inspect` only ([`crate::Discovered::details`]).
    pub details: Vec<String>,
}

/// The fingerprinted entry points, or why none were found (with the best candidates, for the error message).
/// With `confirm`, every candidate is called in a scratch instance of the module first (`confirm.rs`), and a
/// module that cannot be run that way is refused: the shape alone is a guess. Without it (tests of the shape
/// analysis) the shape decides.
pub(crate) fn fingerprint(bytes: &[u8], info: &ModuleInfo, confirm: bool) -> Result<Result<Found, Refusal>, Error> {
    let s = scan(bytes, info)?;
    let bodies = bodies(bytes)?;
    let finder = Finder::new(info, &s, &s.sizes, &bodies);
    let mut unavailable = None;
    let lab = if confirm {
        // Every function an experiment may call: the defined (i32...) -> i32? functions.
        let funcs: Vec<u32> = finder
            .defined()
            .filter(|&f| {
                info.func_signature(f).is_some_and(|(p, r)| {
                    p.len() <= 5 && r.len() <= 1 && p.iter().chain(r).all(|t| *t == ValType::I32)
                })
            })
            .collect();
        match Lab::new(bytes, info, &funcs, constructors(info, &bodies)) {
            Ok(lab) => Some(lab),
            Err(why) => {
                unavailable = Some(why);
                None
            }
        }
    } else {
        None
    };
    let judge = lab.as_ref().map(|lab| Experiments {
        lab,
        statics: static_data(info),
        malloc: Default::default(),
        init: std::cell::Cell::new(lab.init()),
        inits: finder.exported_of(0, 0).filter(|&f| Some(f) != lab.init()).take(6).collect(),
        settled: Default::default(),
    });
    let found = finder.find(judge.as_ref());
    // What the shape alone proposes is a guess: without the experiments to confirm it, nothing is hooked.
    if let (Some(why), Ok(Found { entry_points: eps, .. })) = (unavailable, &found) {
        let list: Vec<String> = eps.iter().map(|e| format!("func {} as {}", e.func, e.role)).collect();
        return Ok(Err(Refusal {
            why: format!(
                "its code looks like an allocator ({}), but that cannot be confirmed by calling it: {why}",
                list.join(", ")
            ),
            detail: Vec::new(),
        }));
    }
    Ok(found)
}

/// For a module that names one side of its allocator (`present`: its allocation functions, or its frees) but not
/// the other: a function that is not private to the allocator yet uses its state as much as a free does — the
/// other side inlined into a caller (wasm-opt inlines a function with one call site whatever its size). Its index
/// and its uses of the state.
pub(crate) fn other_side_inlined(bytes: &[u8], info: &ModuleInfo, present: &[u32]) -> Result<Option<(u32, usize)>, Error> {
    let s = scan(bytes, info)?;
    let bodies = bodies(bytes)?;
    Ok(Finder::new(info, &s, &s.sizes, &bodies).other_side_inlined(present))
}

/// The module's constructors, `__wasm_call_ctors` (wasm-ld), to run before any experiment: by name (an export
/// `_initialize` or `__wasm_call_ctors`), else by shape: a `() -> ()` function that only calls other `() -> ()`
/// functions, called first by `_start` (wasi-libc and Emscripten commands) or the only such export (minified
/// Emscripten builds export it for their glue).
fn constructors(info: &ModuleInfo, bodies: &[wasmparser::FunctionBody<'_>]) -> Option<u32> {
    use wasmparser::Operator as O;
    let void = |f: u32| info.func_signature(f).is_some_and(|(p, r)| p.is_empty() && r.is_empty());
    let exported = |name: &str| {
        info.exports.iter().find(|e| e.kind == wasmparser::ExternalKind::Func && e.name == name).map(|e| e.index).filter(|&f| void(f))
    };
    if let Some(f) = exported("_initialize").or_else(|| exported("__wasm_call_ctors")) {
        return Some(f);
    }
    let ops = |f: u32| -> Option<Vec<O<'_>>> {
        let body = bodies.get(f.checked_sub(info.num_imported_funcs)? as usize)?;
        body.get_operators_reader().ok()?.into_iter().collect::<Result<Vec<_>, _>>().ok()
    };
    let only_calls = |f: u32| {
        ops(f).is_some_and(|ops| {
            ops.len() >= 2
                && ops.iter().all(|op| match op {
                    O::Call { function_index } => void(*function_index),
                    O::End => true,
                    _ => false,
                })
        })
    };
    if let Some(start) = exported("_start") {
        let first = ops(start)?.iter().find_map(|op| match op {
            O::Call { function_index } => Some(*function_index),
            _ => None,
        });
        return first.filter(|&f| void(f) && only_calls(f));
    }
    let mut shaped = info
        .exports
        .iter()
        .filter(|e| e.kind == wasmparser::ExternalKind::Func && void(e.index) && only_calls(e.index))
        .map(|e| e.index);
    match (shaped.next(), shaped.next()) {
        (Some(f), None) => Some(f),
        _ => None,
    }
}

/// Memory the module's active data segments initialise.
fn static_data(info: &ModuleInfo) -> Vec<std::ops::Range<u64>> {
    info.data.iter().filter_map(|d| d.offset.map(|o| o..o + d.len)).filter(|r| !r.is_empty()).collect()
}

struct Finder<'a> {
    info: &'a ModuleInfo,
    s: &'a Scan,
    nimp: u32,
    callers: HashMap<u32, HashSet<u32>>,
    /// Per defined function: cluster id → uses.
    uses: Vec<HashMap<usize, usize>>,
    /// Cluster id → (lowest, highest) address.
    extent: Vec<(u64, u64)>,
    reaches_grow: HashSet<u32>,
    /// Functions that grow memory through an import: `memory.size`, then a call to an imported function
    /// (Emscripten's `sbrk` calls `emscripten_resize_heap`, which the JS glue implements with `memory.grow`).
    grows_via_import: HashSet<u32>,
    /// The code of every defined function, for the wrappers' shapes ([`Finder::wrappers`]).
    bodies: &'a [wasmparser::FunctionBody<'a>],
}

/// `f` takes `params` i32s and returns `results` i32s.
pub(crate) fn sig_is(info: &ModuleInfo, f: u32, params: usize, results: usize) -> bool {
    info.func_signature(f).is_some_and(|(p, r)| {
        p.len() == params && r.len() == results && p.iter().chain(r).all(|t| *t == ValType::I32)
    })
}

impl<'a> Finder<'a> {
    fn new(info: &'a ModuleInfo, s: &'a Scan, sizes: &[bool], bodies: &'a [wasmparser::FunctionBody<'a>]) -> Self {
        let nimp = info.num_imported_funcs;
        let mut callers: HashMap<u32, HashSet<u32>> = HashMap::new();
        for (i, cs) in s.callees.iter().enumerate() {
            for &c in cs {
                callers.entry(c).or_default().insert(i as u32 + nimp);
            }
        }
        // Clusters of static addresses, over the whole program.
        let mut all: Vec<u64> = s.touched.iter().flatten().copied().collect();
        all.sort_unstable();
        all.dedup();
        let mut cluster_of: HashMap<u64, usize> = HashMap::new();
        let mut extent: Vec<(u64, u64)> = Vec::new();
        let mut prev: Option<u64> = None;
        for a in all {
            match prev {
                Some(p) if a <= p + GAP => extent.last_mut().unwrap().1 = a,
                _ => extent.push((a, a)),
            }
            cluster_of.insert(a, extent.len() - 1);
            prev = Some(a);
        }
        let uses = s
            .touched
            .iter()
            .map(|t| {
                let mut m: HashMap<usize, usize> = HashMap::new();
                for a in t {
                    *m.entry(cluster_of[a]).or_default() += 1;
                }
                m
            })
            .collect();
        // Functions that grow memory through an import (sbrk → emscripten_resize_heap).
        let grows_via_import: HashSet<u32> = (0..s.callees.len())
            .filter(|&i| sizes.get(i).copied().unwrap_or(false) && s.callees[i].iter().any(|&c| c < nimp))
            .map(|i| i as u32 + nimp)
            .collect();
        // Functions that can reach memory.grow (or such an import) through direct calls.
        let mut reaches_grow: HashSet<u32> =
            s.grows.iter().enumerate().filter(|(_, g)| **g).map(|(i, _)| i as u32 + nimp).collect();
        reaches_grow.extend(grows_via_import.iter().copied());
        let mut todo: Vec<u32> = reaches_grow.iter().copied().collect();
        while let Some(f) = todo.pop() {
            for &c in callers.get(&f).into_iter().flatten() {
                if reaches_grow.insert(c) {
                    todo.push(c);
                }
            }
        }
        Finder { info, s, nimp, callers, uses, extent, reaches_grow, grows_via_import, bodies }
    }

    /// `to` is reachable from `from` through direct calls.
    fn reaches(&self, from: u32, to: u32) -> bool {
        let mut seen: HashSet<u32> = HashSet::from([from]);
        let mut todo = vec![from];
        while let Some(f) = todo.pop() {
            if f == to {
                return true;
            }
            for &(c, _) in self.calls(f) {
                if seen.insert(c) {
                    todo.push(c);
                }
            }
        }
        false
    }

    fn defined(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.s.callees.len() as u32).map(move |i| i + self.nimp)
    }
    fn idx(&self, f: u32) -> Option<usize> {
        f.checked_sub(self.nimp).map(|i| i as usize).filter(|&i| i < self.s.callees.len())
    }
    fn uses_in(&self, f: u32, c: usize) -> usize {
        self.idx(f).map_or(0, |i| self.uses[i].get(&c).copied().unwrap_or(0))
    }
    fn uses_in_all(&self, f: u32, cs: &[usize]) -> usize {
        cs.iter().map(|&c| self.uses_in(f, c)).sum()
    }
    /// The allocator state around cluster `c` of malloc `m`: `c` and the neighbouring clusters `m` (and, once
    /// known, the free `fr`) also use, while the holes between them stay under [`STATE_GAP`] and the whole under
    /// [`STATE_SPAN`]. Requiring the free too keeps neighbours only malloc touches (`errno`, `mparams`) out.
    fn state_around(&self, m: u32, c: usize, fr: Option<u32>) -> Vec<usize> {
        let (mut lo, mut hi) = (c, c);
        let fits = |a: usize, b: usize| self.extent[b].1 - self.extent[a].0 <= STATE_SPAN;
        let used = |k: usize| self.uses_in(m, k) > 0 && fr.is_none_or(|f| self.uses_in(f, k) > 0);
        loop {
            let mut grew = false;
            if lo > 0 && used(lo - 1) && self.extent[lo].0 - self.extent[lo - 1].1 <= STATE_GAP && fits(lo - 1, hi) {
                lo -= 1;
                grew = true;
            }
            if hi + 1 < self.extent.len() && used(hi + 1) && self.extent[hi + 1].0 - self.extent[hi].1 <= STATE_GAP && fits(lo, hi + 1) {
                hi += 1;
                grew = true;
            }
            if !grew {
                return (lo..=hi).collect();
            }
        }
    }
    fn calls(&self, f: u32) -> &[(u32, Option<u32>)] {
        self.idx(f).map_or(&[], |i| &self.s.calls[i])
    }
    fn calls_fn(&self, f: u32, g: u32) -> bool {
        self.calls(f).iter().any(|(c, _)| *c == g)
    }
    /// Calls `g` with `local.get k` as the last argument.
    fn calls_with(&self, f: u32, g: u32, k: u32) -> bool {
        self.calls(f).iter().any(|&(c, l)| c == g && l == Some(k))
    }
    fn ops(&self, f: u32) -> usize {
        self.idx(f).map_or(usize::MAX, |i| self.s.ops[i])
    }
    fn forwarders_of(&self, f: u32) -> Vec<u32> {
        self.defined().filter(|&g| self.idx(g).and_then(|i| self.s.forwards_to[i]) == Some(f)).collect()
    }
    /// memset-shaped: `(i32, i32, i32) -> i32`, a leaf with loads and stores.
    fn is_memset(&self, f: u32) -> bool {
        sig_is(self.info, f, 3, 1) && self.idx(f).is_some_and(|i| self.s.callees[i].is_empty() && self.s.mem_ops[i] >= 4)
    }
    fn zeroes(&self, f: u32) -> bool {
        self.idx(f).is_some_and(|i| self.s.fills[i]) || self.calls(f).iter().any(|&(c, _)| self.is_memset(c))
    }

    /// The best functions of a signature by their uses of a cluster (or of their best cluster), best first.
    fn ranked(&self, params: usize, results: usize, cluster: Option<&[usize]>) -> Vec<(u32, usize, usize)> {
        let mut v: Vec<(u32, usize, usize)> = self
            .defined()
            .filter(|&f| sig_is(self.info, f, params, results))
            .filter_map(|f| {
                let u = &self.uses[self.idx(f)?];
                let (c, n) = match cluster {
                    Some(cs) => (cs[0], cs.iter().map(|c| u.get(c).copied().unwrap_or(0)).sum()),
                    None => u.iter().map(|(c, n)| (*c, *n)).max_by_key(|(c, n)| (*n, std::cmp::Reverse(*c)))?,
                };
                (n > 0).then_some((f, n, c))
            })
            .collect();
        v.sort_by_key(|&(f, n, _)| (std::cmp::Reverse(n), f));
        v
    }

    fn candidates_note(&self) -> String {
        let mut c: Vec<String> = Vec::new();
        for (f, n, _) in self.ranked(1, 1, None).into_iter().take(3) {
            c.push(format!(
                "func {f} (i32)->i32 uses one static structure {n} times{}",
                if self.reaches_grow.contains(&f) { ", grows memory" } else { "" }
            ));
        }
        for (f, n, _) in self.ranked(1, 0, None).into_iter().take(2) {
            c.push(format!("func {f} (i32)->() uses one static structure {n} times"));
        }
        let growers: Vec<String> = self
            .defined()
            .filter(|&f| self.idx(f).is_some_and(|i| self.s.grows[i]))
            .take(5)
            .map(|f| f.to_string())
            .collect();
        if !growers.is_empty() {
            c.push(format!("memory.grow in func {}", growers.join(", ")));
        }
        if c.is_empty() {
            "no function of the module looks like an allocator".into()
        } else {
            format!("best candidates: {}", c.join("; "))
        }
    }

    /// Of the candidates that pass `test`, the one the others build on (a passing candidate that calls
    /// another passing one is a wrapper of it); `Err` lists what failed, or says the choice is ambiguous.
    fn pick(&self, what: &str, cands: &[u32], test: &dyn Fn(u32) -> Outcome) -> Result<(u32, Shown), Refusal> {
        let mut passed: Vec<(u32, Shown)> = Vec::new();
        let mut failed: Vec<String> = Vec::new();
        for &c in cands {
            match test(c) {
                Ok(shown) => passed.push((c, shown)),
                Err(why) => failed.push(format!("func {c}: {why}")),
            }
        }
        let cores: Vec<&(u32, Shown)> =
            passed.iter().filter(|(c, _)| !passed.iter().any(|(o, _)| o != c && self.reaches(*c, *o))).collect();
        match cores.as_slice() {
            [one] => Ok((*one).clone()),
            [] if cands.is_empty() => Err(Refusal::new(format!("no function looks like {what}"))),
            [] => Err(Refusal {
                why: format!(
                    "no function that looks like {what} behaved as one when called ({} tried: func {})",
                    cands.len(),
                    cands.iter().map(u32::to_string).collect::<Vec<_>>().join(", func ")
                ),
                detail: failed,
            }),
            many => Err(Refusal::new(format!(
                "{} unrelated functions behave as {what} (func {}): ambiguous",
                many.len(),
                many.iter().map(|(c, _)| c.to_string()).collect::<Vec<_>>().join(", func ")
            ))),
        }
    }

    fn find(&self, judge: Option<&Experiments<'_>>) -> Result<Found, Refusal> {
        let fail = |r: Refusal| Err(Refusal { why: r.why, detail: r.detail.into_iter().chain([self.candidates_note()]).collect() });
        let mut notes: Vec<String> = Vec::new();
        // What the experiments showed of each core, by function.
        let mut shown: HashMap<u32, Shown> = HashMap::new();
        // 1. dlmalloc: a big (i32)->i32 malloc and an (i32)->() free over the same static state.
        let mallocs = self.ranked(1, 1, None);
        let strong: Vec<(u32, usize, usize)> = mallocs.iter().copied().filter(|m| m.1 >= DL_MALLOC_USES).take(4).collect();
        let dl = match (strong.as_slice(), judge) {
            ([], None) => None,
            ([only], None) => Some(*only),
            ([first, second, ..], None) => {
                if second.1 * 2 >= first.1 {
                    return fail(Refusal::new(format!(
                        "two functions look like dlmalloc's malloc (func {} and func {}): ambiguous",
                        first.0, second.0
                    )));
                }
                Some(*first)
            }
            (_, Some(j)) => {
                // Experiments decide, so look wider than the shape alone could afford: every function that uses
                // one structure as much as dlmalloc's malloc does, those that can grow memory first (a big C++
                // function can use a big static table more than malloc uses its state), and the exported ones
                // that can grow memory (Emscripten exports malloc for its glue).
                let heavy = mallocs.iter().filter(|m| m.1 >= DL_MALLOC_USES);
                let mut funcs: Vec<u32> = heavy.clone().filter(|m| self.reaches_grow.contains(&m.0)).map(|m| m.0).take(8).collect();
                funcs.extend(heavy.filter(|m| !self.reaches_grow.contains(&m.0)).map(|m| m.0).take(4));
                let exported: Vec<u32> =
                    self.exported_of(1, 1).filter(|f| self.reaches_grow.contains(f) && !funcs.contains(f)).take(8).collect();
                funcs.extend(exported);
                if funcs.is_empty() || strong.is_empty() {
                    None
                } else {
                    let (m, why) = match self.pick("dlmalloc's malloc", &funcs, &|f| j.allocator(Candidate::new(f, Role::Malloc))) {
                        Ok(found) => found,
                        Err(r) => return fail(r),
                    };
                    shown.insert(m, why);
                    // The state is the structure the chosen malloc uses most.
                    let c = self.idx(m).and_then(|i| self.uses[i].iter().max_by_key(|(c, n)| (**n, std::cmp::Reverse(**c))).map(|(c, n)| (*c, *n)));
                    c.map(|(c, n)| (m, n, c))
                }
            }
        };
        // emmalloc's core taking the size alone: wasm-opt dropped its alignment parameter, a constant at every call
        // (Emscripten -O2 and up: `emmalloc_memalign` specialised to (size) -> ptr, `malloc` still forwarding to it).
        let mut core_malloc = false;
        let (alloc_core, free_core, state, shape) = if let Some((m, _, c)) = dl {
            let around = self.state_around(m, c, None);
            // Ranked by their uses of the state words malloc itself uses (`own_words`).
            let own = self.own_words(&self.private_code(&[m]), &around);
            let mut frees: Vec<(u32, usize, usize)> = self
                .ranked(1, 0, Some(&around))
                .into_iter()
                .map(|(f, _, c)| (f, self.uses_of_words(f, &own), c))
                .filter(|&(_, n, _)| n > 0)
                .collect();
            frees.sort_by_key(|&(f, n, _)| (std::cmp::Reverse(n), f));
            let strong: Vec<(u32, usize, usize)> = frees.iter().copied().filter(|f| f.1 >= DL_FREE_USES).take(4).collect();
            let fr = match (strong.as_slice(), judge) {
                ([], None) => return fail(Refusal::new(format!("func {m} looks like dlmalloc's malloc, but no free uses its state"))),
                ([only], None) => Some(only.0),
                ([first, second, ..], None) => {
                    if second.1 * 5 >= first.1 * 4 {
                        return fail(Refusal::new(format!(
                            "func {m} looks like dlmalloc's malloc, but two functions look like its free (func {} and func {})",
                            first.0, second.0
                        )));
                    }
                    Some(first.0)
                }
                (cands, Some(j)) => {
                    let mut funcs: Vec<u32> = cands.iter().map(|c| c.0).collect();
                    // None as heavy as dlmalloc's free: an allocator with a leaner free (emmalloc's), or none. The
                    // functions that use the state at all, and the exported ones (Emscripten exports free).
                    if funcs.is_empty() {
                        funcs.extend(frees.iter().filter(|f| f.1 > 0).map(|f| f.0).take(6));
                        funcs.extend(self.exported_of(1, 0).filter(|f| !funcs.contains(f)).take(8).collect::<Vec<_>>());
                    }
                    let malloc = Candidate::new(m, Role::Malloc);
                    // Only a malloc as heavy as dlmalloc's may go without a free (wasm-ld dropped it).
                    let heavy = self.uses_in_all(m, &self.state_around(m, c, None)) >= DL_MALLOC_USES;
                    match self.pick("its free", &funcs, &|f| j.free(malloc, Candidate::new(f, Role::Free))) {
                        Ok((fr, why)) => {
                            shown.insert(fr, why);
                            Some(fr)
                        }
                        // A program that never frees: wasm-ld leaves free out. The allocations are still
                        // tracked (all live until the end).
                        Err(r) if cands.is_empty() && heavy => {
                            if let Some((f, n)) = self.other_side_inlined(&[m]) {
                                return fail(Refusal::new(format!(
                                    "func {m} behaves as malloc and no function looks like its free, but func {f} uses \
                                     the allocator's state {n} times as only a free does: free seems inlined into it, so \
                                     frees could not be seen"
                                )));
                            }
                            notes.push(no_free_note(&r.why));
                            None
                        }
                        Err(r) => {
                            // A free inlined into its one caller (wasm-opt at -O2) uses the state as free does.
                            let inlined = match self.other_side_inlined(&[m]) {
                                Some((f, n)) => format!(
                                    "; func {f} uses the allocator's state {n} times as only a free does: free seems \
                                     inlined into it ({INLINED})"
                                ),
                                None => String::new(),
                            };
                            return fail(Refusal { why: format!("func {m} behaves as malloc, but {}{inlined}", r.why), detail: r.detail });
                        }
                    }
                }
            };
            let state = self.state_around(m, c, fr);
            (m, fr, state, "dlmalloc")
        } else {
            // 2. emmalloc: (align, size) -> ptr core wrapped by malloc(size) = core(const, size), and a free.
            let mut found = None;
            let mut refuted: Vec<String> = Vec::new();
            // Such a core is often called directly, its `malloc` forwarder inlined (a standalone module exports
            // none): without a wrapper only calling it can tell, and only the first few are tried.
            let sized = self.ranked(1, 1, None).into_iter().filter(|&(f, _, _)| self.reaches_grow.contains(&f) || judge.is_some()).take(4);
            for (a, _, c) in self.ranked(2, 1, None).into_iter().chain(sized) {
                let core_role = if sig_is(self.info, a, 2, 1) { Role::AlignedAlloc } else { Role::Malloc };
                let wrappers: Vec<u32> = self
                    .callers
                    .get(&a)
                    .into_iter()
                    .flatten()
                    .copied()
                    .filter(|&w| sig_is(self.info, w, 1, 1) && self.ops(w) <= 6 && self.calls_with(w, a, 0))
                    .collect();
                if wrappers.is_empty() && (core_role != Role::Malloc || judge.is_none()) {
                    continue;
                }
                let frees = self.ranked(1, 0, Some(&[c]));
                let Some(&(first, _, _)) = frees.first() else {
                    // No function frees into the state: a program that never frees (wasm-ld leaves free out; many
                    // leak tests). A core with its malloc wrapper that allocates when called goes alone (Emscripten
                    // survey: -sMALLOC=emmalloc builds without names were refused).
                    if let Some(j) = judge
                        && !wrappers.is_empty()
                        && let Ok(why) = j.allocator(Candidate::new(a, core_role))
                    {
                        shown.insert(a, why);
                        notes.push(no_free_note("no function frees into the allocator's state"));
                        found = Some((a, None, c));
                        core_malloc = core_role == Role::Malloc;
                        break;
                    }
                    continue;
                };
                let mut fr = first;
                if let Some(j) = judge {
                    // The free that uses the state most is not always the free (pthreads builds: a helper that
                    // takes the lock): the first few are tried. A core without a wrapper was a guess: that it is
                    // not one says nothing about the module (the refusal keeps its own reason).
                    let core = Candidate::new(a, core_role);
                    let mut confirmed = None;
                    let mut refute = |why: String| {
                        if !wrappers.is_empty() {
                            refuted.push(why);
                        }
                    };
                    match j.allocator(core) {
                        Ok(why) => {
                            for &(f, _, _) in frees.iter().take(4) {
                                match j.free(core, Candidate::new(f, Role::Free)) {
                                    Ok(free_why) => {
                                        confirmed = Some((f, why, free_why));
                                        break;
                                    }
                                    Err(e) => refute(format!("func {a} with free func {f}: {e}")),
                                }
                            }
                        }
                        Err(e) => refute(format!("func {a} with free func {first}: {e}")),
                    }
                    let Some((f, why, free_why)) = confirmed else { continue };
                    shown.insert(a, why);
                    shown.insert(f, free_why);
                    fr = f;
                }
                found = Some((a, Some(fr), c));
                core_malloc = core_role == Role::Malloc;
                break;
            }
            let Some((a, fr, c)) = found else {
                if let Some(j) = judge {
                    // 3. An exported malloc and free that behave as such (emmalloc with its core inlined).
                    if let Some((entry_points, notes)) = self.exported_pair(j) {
                        return Ok(Found { entry_points, notes, details: Vec::new() });
                    }
                    // 4. Only a free: a program that frees but never allocates (what it frees was never malloc'd).
                    if refuted.is_empty()
                        && let Some((entry_points, notes)) = self.free_only(j)
                    {
                        return Ok(Found { entry_points, notes, details: Vec::new() });
                    }
                }
                if refuted.is_empty() {
                    return fail(Refusal::new(match self.inlined_allocator() {
                        Some(why) => why,
                        None => "no allocator-shaped state found".into(),
                    }));
                }
                return fail(Refusal { why: "emmalloc-shaped functions did not behave as an allocator when called".into(), detail: refuted });
            };
            (a, fr, vec![c], "emmalloc")
        };
        let grows = self.reaches_grow.contains(&alloc_core);
        let confidence = match (shape, grows) {
            ("dlmalloc", true) => Confidence::High,
            ("dlmalloc", false) | ("emmalloc", true) => Confidence::Medium,
            _ => Confidence::Low,
        };
        let state_uses = |f: u32| self.uses_in_all(f, &state);
        let via_import = self.grows_via_import.iter().copied().filter(|g| self.reaches(alloc_core, *g)).min();
        let growth = match (grows, via_import) {
            (true, Some(g)) => format!(
                ", and the allocation path grows memory through an import (func {g}: memory.size, then an imported \
                 function; Emscripten's sbrk → emscripten_resize_heap)"
            ),
            (true, None) => ", and the allocation path reaches memory.grow".into(),
            _ => "; no memory.grow reached (fixed-size heap?)".into(),
        };
        let exported = |f: u32| self.info.exports.iter().any(|e| e.kind == wasmparser::ExternalKind::Func && e.index == f);
        let base_reason = match free_core {
            Some(free_core) => format!(
            "{shape}-shaped: func {alloc_core} and func {free_core} use one static structure {} and {} times{growth}{}",
            state_uses(alloc_core),
            state_uses(free_core),
            if exported(alloc_core) && exported(free_core) {
                "; both exported (as Emscripten exports malloc and free for its JS glue, under minified names)"
            } else {
                ""
            }
        ),
            None => format!("{shape}-shaped: func {alloc_core} uses one static structure {} times{growth}", state_uses(alloc_core)),
        };

        // The roles, as (func, role, why).
        let mut eps: Vec<(u32, Role, String)> = Vec::new();
        let add = |f: u32, role: Role, why: String, eps: &mut Vec<(u32, Role, String)>| {
            if !eps.iter().any(|e| e.0 == f) {
                eps.push((f, role, why));
            }
        };
        // Malloc: the dlmalloc core itself, or emmalloc's wrappers.
        let mut mallocs: Vec<u32> = Vec::new();
        if shape == "dlmalloc" || core_malloc {
            mallocs.push(alloc_core);
        }
        if shape == "emmalloc" {
            for &w in self.callers.get(&alloc_core).into_iter().flatten() {
                if sig_is(self.info, w, 1, 1) && self.ops(w) <= 6 && self.calls_with(w, alloc_core, 0) {
                    mallocs.push(w);
                }
            }
            mallocs.sort_unstable();
        }
        // The allocation functions others build on: malloc(s) and the emmalloc core.
        let alloc_set: HashSet<u32> = mallocs.iter().copied().chain([alloc_core]).collect();
        let calls_alloc = |f: u32| alloc_set.iter().any(|&a| self.calls_fn(f, a));
        // Helpers private to the allocator: use the state (memalign, try_realloc_chunk, …).
        let uses_state = |f: u32| state_uses(f) > 0;
        let mut frees: Vec<u32> = free_core.into_iter().collect();
        frees.extend(free_core.into_iter().flat_map(|f| self.forwarders_of(f)));
        let calls_free = |f: u32| frees.iter().any(|&x| self.calls_fn(f, x));
        for &m in &mallocs {
            add(m, Role::Malloc, "malloc: (i32)->i32 over the allocator state".into(), &mut eps);
            for w in self.forwarders_of(m) {
                add(w, Role::Malloc, format!("forwards to malloc func {m}"), &mut eps);
            }
        }
        if let Some(free_core) = free_core {
            add(free_core, Role::Free, "free: (i32)->() over the allocator state".into(), &mut eps);
            for w in self.forwarders_of(free_core) {
                add(w, Role::Free, format!("forwards to free func {free_core}"), &mut eps);
            }
        }
        // Uses the allocator state itself or through a private helper (try_realloc_chunk, dispose_chunk, …).
        let state_helper = |f: u32| {
            uses_state(f)
                || self.calls(f).iter().any(|&(g, _)| !alloc_set.contains(&g) && !frees.contains(&g) && uses_state(g))
        };
        // realloc: (ptr, size) -> ptr that allocates, frees and works on the state (the in-place path);
        // or a small wrapper of such a function (emmalloc: realloc → emmalloc_aligned_realloc).
        let realloc_body = |f: u32| {
            let helper = |g: u32| self.calls_fn(f, g) && !sig_is(self.info, g, 2, 1);
            let allocs = calls_alloc(f) || self.calls(f).iter().any(|&(g, _)| helper(g) && calls_alloc(g));
            let frees_ = calls_free(f) || self.calls(f).iter().any(|&(g, _)| helper(g) && calls_free(g));
            allocs && frees_ && state_helper(f)
        };
        // Which candidates of a role to propose: the shape alone decides only when it names one; experiments
        // (each candidate is confirmed or dropped below) take up to four.
        let decides = |v: &[u32]| if judge.is_some() { !v.is_empty() && v.len() <= 4 } else { v.len() == 1 };
        let mut realloc_bodies: HashSet<u32> = HashSet::new();
        let mut header_reallocs: Vec<u32> = Vec::new();
        let reallocs: Vec<u32> = self
            .defined()
            .filter(|&f| sig_is(self.info, f, 2, 1) && !alloc_set.contains(&f))
            .filter(|&f| {
                if realloc_body(f) {
                    // realloc(NULL, n) is malloc(n). One that asks malloc for n + 8 and steps its pointer back
                    // 8 bytes works on blocks with a header its callers never see (SQLite's
                    // sqlite3MemRealloc, with dlrealloc inlined into it): hooked as a plain realloc, its
                    // interior pointers would look like invalid frees; it gets the header-aware role.
                    if self.mallocs_its_size(f, &alloc_set) == Some(false) {
                        if self.header_shaped(f) {
                            header_reallocs.push(f);
                        }
                        return false;
                    }
                    return true;
                }
                match self.idx(f).and_then(|i| self.s.wraps[i]) {
                    Some(t) if self.ops(f) <= 8 && realloc_body(t) => {
                        realloc_bodies.insert(t);
                        true
                    }
                    _ => false,
                }
            })
            .collect();
        // More look-alikes than the experiments try (C++ code that allocates and frees through the state's
        // helpers: sharp's eight): the ones that use the state themselves the most, as dlrealloc does.
        let reallocs: Vec<u32> = if judge.is_some() && reallocs.len() > 4 {
            let mut ranked: Vec<u32> = reallocs.into_iter().filter(|&f| state_uses(f) > 0).collect();
            ranked.sort_by_key(|&f| (std::cmp::Reverse(state_uses(f)), f));
            ranked.truncate(4);
            ranked
        } else {
            reallocs
        };
        let header_realloc = match (reallocs.len(), header_reallocs.as_slice()) {
            (0, &[h]) => Some(h),
            _ => None,
        };
        if decides(&reallocs) {
            for &r in &reallocs {
                add(r, Role::Realloc, "realloc: (i32,i32)->i32 that both allocates and frees".into(), &mut eps);
            }
        } else if let Some(h) = header_realloc {
            let reason = "realloc over blocks with an 8-byte header: (i32,i32)->i32 that allocates size + 8, frees, and steps its pointer back 8 bytes (SQLite's sqlite3MemRealloc)";
            add(h, Role::HeaderRealloc, reason.into(), &mut eps);
        }
        // Out of the other roles' way below.
        let reallocs: Vec<u32> = reallocs.into_iter().chain(header_realloc).collect();
        // calloc: (n, size) -> ptr that allocates then zeroes.
        let callocs: Vec<u32> = self
            .defined()
            .filter(|&f| sig_is(self.info, f, 2, 1) && !alloc_set.contains(&f) && !reallocs.contains(&f))
            .filter(|&f| calls_alloc(f) && self.zeroes(f) && !calls_free(f))
            .collect();
        if decides(&callocs) {
            for &c in &callocs {
                add(c, Role::Calloc, "calloc: (i32,i32)->i32 that allocates, then zeroes".into(), &mut eps);
            }
        }
        // memalign-like helpers: (align, size[, …]) functions other than malloc that allocate from the state.
        let memaligns: HashSet<u32> = self
            .defined()
            .filter(|&f| !alloc_set.contains(&f) && !reallocs.contains(&f) && !callocs.contains(&f))
            .filter(|&f| sig_is(self.info, f, 2, 1) || sig_is(self.info, f, 3, 1))
            .filter(|&f| !realloc_bodies.contains(&f) && state_helper(f) && calls_alloc(f))
            .chain((shape == "emmalloc" && !core_malloc).then_some(alloc_core))
            .collect();
        // posix_memalign(ptr*, align, size) -> errno: calls a memalign helper. It can look like one itself (three
        // i32s, allocates, reaches the state through the helper: sharp's), so one that calls another is one too.
        let pms: Vec<u32> = self
            .defined()
            .filter(|&f| sig_is(self.info, f, 3, 1) && !realloc_bodies.contains(&f) && self.ops(f) <= 100)
            .filter(|&f| {
                let helpers = || memaligns.iter().filter(move |&&m| m != f);
                helpers().any(|&m| self.calls_with(f, m, 2)) || (helpers().any(|&m| self.calls_fn(f, m)) && calls_alloc(f))
            })
            .collect();
        // With dlmemalign inlined into it (Emscripten -O2), posix_memalign calls no helper: it is the memalign-like
        // function of its shape itself — a candidate only where experiments confirm it (it writes the block
        // through its first argument and returns 0). Unhooked, its block was the inner malloc's padded request
        // (148 B for a 64-byte posix_memalign; Emscripten survey).
        let pms: Vec<u32> = if pms.is_empty() && judge.is_some() {
            memaligns.iter().copied().filter(|&f| sig_is(self.info, f, 3, 1) && self.ops(f) <= 400).collect()
        } else {
            pms
        };
        if decides(&pms) {
            for &p in &pms {
                add(p, Role::PosixMemalign, "posix_memalign: (i32,i32,i32)->i32 over memalign".into(), &mut eps);
            }
        }
        // aligned_alloc(align, size): small, calls a memalign helper and malloc(size) with its 2nd param.
        let aas: Vec<u32> = self
            .defined()
            .filter(|&f| sig_is(self.info, f, 2, 1) && !alloc_set.contains(&f) && !memaligns.contains(&f) && self.ops(f) <= 40)
            .filter(|&f| !reallocs.contains(&f) && !callocs.contains(&f))
            .filter(|&f| memaligns.iter().any(|&m| self.calls_fn(f, m)) && alloc_set.iter().any(|&a| self.calls_with(f, a, 1)))
            .collect();
        if decides(&aas) {
            for &a in &aas {
                add(a, Role::AlignedAlloc, "aligned_alloc: (i32,i32)->i32 over memalign".into(), &mut eps);
            }
        }
        // A memalign called from outside the allocator (the `dlmalloc` crate's, which Rust's `__rdl_alloc` calls for
        // alignments over 8) is an entry point of its own: hooked, its blocks are the aligned ones the program
        // frees; unhooked, the padded block its inner malloc reports would make that free look invalid.
        if judge.is_some() {
            let inner: HashSet<u32> = alloc_set.iter().chain(&memaligns).chain(&reallocs).chain(&callocs).chain(&realloc_bodies).copied().collect();
            let mut outside: Vec<u32> = memaligns
                .iter()
                .copied()
                .filter(|&m| sig_is(self.info, m, 2, 1) && !pms.contains(&m) && !aas.contains(&m))
                .filter(|&m| self.s.escaping.contains(&m) || self.callers.get(&m).into_iter().flatten().any(|c| !inner.contains(c) && !pms.contains(c) && !aas.contains(c)))
                .collect();
            // dlmalloc's memalign works on the state itself, or through a helper of its own (the `dlmalloc`
            // crate's hands the slack around the aligned block to `dispose_chunk`); the look-alikes reach it
            // through the other entry points (Rust code calling realloc). Uses of the state by the function and
            // the callees that are not entry points, most first.
            let own_uses = |m: u32| {
                state_uses(m)
                    + self.calls(m).iter().filter(|&&(g, _)| !inner.contains(&g) && !frees.contains(&g)).map(|&(g, _)| state_uses(g)).sum::<usize>()
            };
            outside.sort_by_key(|&m| (std::cmp::Reverse(own_uses(m)), m));
            for m in outside.into_iter().take(6) {
                add(m, Role::AlignedAlloc, "memalign: (align, size)->ptr over the allocator state, called from outside it".into(), &mut eps);
            }
        }
        // Rust shims (the `dlmalloc` crate): `__rust_alloc(size, align)` forwards to `__rdl_alloc`, which
        // calls malloc(size) or memalign; `__rust_dealloc(ptr, size, align)` to `__rdl_dealloc`, which frees;
        // `__rust_realloc(ptr, old, align, new)` allocates and frees (LTO leaves no forwarder there).
        for f in self.defined() {
            let i = self.idx(f).unwrap();
            let target = self.s.forwards_to[i];
            if sig_is(self.info, f, 2, 1) && let Some(t) = target
                && sig_is(self.info, t, 2, 1) && self.ops(t) <= 40
                && alloc_set.iter().any(|&a| self.calls_with(t, a, 0)) && !self.zeroes(t)
            {
                add(f, Role::RustAlloc, format!("Rust __rust_alloc-shaped shim over func {t}"), &mut eps);
            }
            // `__rust_alloc_zeroed(size, align)`: the same forwarder over a body that zeroes (calloc, or malloc or
            // memalign then a fill). With experiments only: calloc-shaped functions have the same look.
            if judge.is_some() && sig_is(self.info, f, 2, 1) && let Some(t) = target
                && sig_is(self.info, t, 2, 1) && self.ops(t) <= 120 && self.zeroes(t)
                && self.calls(t).iter().any(|&(c, _)| alloc_set.contains(&c) || calls_alloc(c))
            {
                add(f, Role::RustAlloc, format!("Rust __rust_alloc_zeroed-shaped shim over func {t}"), &mut eps);
            }
            if sig_is(self.info, f, 3, 0) && let Some(t) = target
                && sig_is(self.info, t, 3, 0) && calls_free(t) && !calls_alloc(t)
            {
                add(f, Role::RustDealloc, format!("Rust __rust_dealloc-shaped shim over func {t}"), &mut eps);
            }
        }
        let rust_reallocs: Vec<u32> = self
            .defined()
            .filter(|&f| sig_is(self.info, f, 4, 1))
            .filter_map(|f| {
                let body = self.idx(f).and_then(|i| self.s.forwards_to[i]).filter(|&t| sig_is(self.info, t, 4, 1)).unwrap_or(f);
                (calls_alloc(body) && calls_free(body) && uses_state(body)).then_some(f)
            })
            .collect();
        // The forwarder and its target both match: keep the outer one (its target is then private).
        let outer: Vec<u32> = rust_reallocs
            .iter()
            .copied()
            .filter(|&f| !rust_reallocs.iter().any(|&g| g != f && self.idx(g).and_then(|i| self.s.forwards_to[i]) == Some(f)))
            .collect();
        if decides(&outer) {
            for &r in &outer {
                add(r, Role::RustRealloc, "Rust __rust_realloc-shaped: (i32,i32,i32,i32)->i32 that allocates and frees".into(), &mut eps);
            }
        }

        // emmalloc's core is an entry point only when something other than the entry points calls it.
        let ep_set: HashSet<u32> = eps.iter().map(|e| e.0).collect();
        if shape == "emmalloc" && !core_malloc {
            let outside = self.callers.get(&alloc_core).into_iter().flatten().any(|c| !ep_set.contains(c) && !memaligns.contains(c) && !realloc_bodies.contains(c) || self.s.escaping.contains(&alloc_core));
            if outside {
                add(alloc_core, Role::AlignedAlloc, "emmalloc's (align, size) core, also called directly".into(), &mut eps);
            }
        }
        // C++ `operator new` / `operator delete` and other thin wrappers around the entry points found so far.
        let internal: HashSet<u32> = memaligns.iter().chain(&realloc_bodies).copied().chain([alloc_core]).chain(free_core).collect();
        self.wrappers(&mut eps, &internal, &state);
        // A core reached only through its forwarders needs no hook of its own (the guard reports once anyway).
        let needed = |f: u32| {
            self.s.escaping.contains(&f)
                || self
                    .callers
                    .get(&f)
                    .into_iter()
                    .flatten()
                    .any(|&c| self.idx(c).and_then(|i| self.s.forwards_to[i]) != Some(f))
        };
        let wrapped: HashSet<u32> = eps
            .iter()
            .filter_map(|e| self.idx(e.0).and_then(|i| self.s.forwards_to[i]))
            .collect();
        eps.retain(|e| !wrapped.contains(&e.0) || needed(e.0));

        // Every entry point must then behave as its role when called; what does not is left unhooked (the
        // cores it builds on still see its allocations and frees).
        let mut confirmed: HashMap<u32, Shown> = HashMap::new();
        let mut failed: Vec<(u32, String)> = Vec::new();
        if let Some(j) = judge {
            let malloc = mallocs.first().map(|&m| Candidate::new(m, Role::Malloc)).unwrap_or(Candidate::new(alloc_core, Role::AlignedAlloc));
            let free = free_core.map(|f| Candidate::new(f, Role::Free));
            j.malloc.set(Some(malloc));
            eps.retain(|&(func, role, ref why)| {
                let c = Candidate::new(func, role);
                let outcome = if let Some(done) = shown.get(&func) {
                    Ok(done.clone())
                } else if role.is_free() {
                    j.free(malloc, c)
                } else if role.is_realloc() {
                    match free {
                        Some(free) => j.realloc(malloc, free, c),
                        None => Err("the module has no free to test it with".into()),
                    }
                } else {
                    j.allocator(c).and_then(|a| match free {
                        Some(free) => j.free(c, free).map(|f| format!("{a}; {f}")),
                        None => Ok(a),
                    })
                };
                match outcome {
                    Ok(what) => {
                        confirmed.insert(func, what);
                        true
                    }
                    Err(e) => {
                        let why = why.split(':').next().unwrap_or(why);
                        failed.push((func, format!("func {func} looks like {role} ({why}), but when called {e}: not hooked")));
                        false
                    }
                }
            });
        }
        // In a run's notes only of a function that reaches no entry point kept: one that calls the hooked allocator
        // is seen through it (Emscripten's pthread builds have a memalign that traps in the scratch instance, while
        // their aligned_alloc is hooked and counts exactly: the note was noise there). `inspect` says all.
        let mut details = Vec::new();
        for (func, note) in failed {
            if eps.iter().any(|e| self.reaches(func, e.0)) { details.push(note) } else { notes.push(note) }
        }

        // A confirmed entry point that calls another confirmed one of the same role is a wrapper around it
        // (HarfBuzz's hb_realloc, ICU's uprv_realloc, which gives back a static address for size 0): the inner
        // one sees everything it does, and the wrapper's own conventions stay out of the report.
        if judge.is_some() {
            let kept: Vec<(u32, Role)> = eps.iter().map(|e| (e.0, e.1)).collect();
            eps.retain(|&(f, role, _)| {
                let inner = kept.iter().find(|&&(g, r)| g != f && r == role && !role.is_free() && role != Role::Malloc && self.reaches(f, g));
                if let Some((g, _)) = inner {
                    notes.push(format!("func {f} behaves as {role} but calls func {g}, which is hooked as {role}: not hooked itself"));
                    confirmed.remove(&f);
                }
                inner.is_none()
            });
        }

        let mut out: Vec<EntryPoint> = eps
            .into_iter()
            .map(|(func, role, why)| EntryPoint {
                func,
                name: format!("func[{func}]"),
                role,
                evidence: Evidence::Fingerprint {
                    confidence: if confirmed.contains_key(&func) { Confidence::High } else { confidence },
                    reason: format!("{why}; {base_reason}"),
                },
                confirmed: confirmed.remove(&func),
            })
            .collect();
        out.sort_by_key(|e| e.func);
        Ok(Found { entry_points: out, notes, details })
    }
}

impl Finder<'_> {
    /// For a one-sided allocator (`present`: its malloc, or its free): a function outside the allocator's own
    /// code that uses its state as much as the missing side would — the missing side inlined into a caller
    /// (wasm-opt inlines a function with one call site whatever its size), whose allocations or frees would
    /// never be seen. Its index and its uses of the state.
    fn other_side_inlined(&self, present: &[u32]) -> Option<(u32, usize)> {
        let mut state: Vec<usize> = Vec::new();
        for &a in present {
            let Some(i) = self.idx(a) else { continue };
            if let Some((&c, _)) = self.uses[i].iter().max_by_key(|(c, n)| (**n, std::cmp::Reverse(**c))) {
                state.extend(self.state_around(a, c, None));
            }
        }
        if state.is_empty() {
            return None;
        }
        let private = self.private_code(present);
        let own = self.own_words(&private, &state);
        // dlmalloc's `dispose_chunk` is called by its aligned allocation (`internal_memalign`), which calls malloc
        // and works on chunk headers: allocator code too, not a free inlined into the program (a stripped program
        // that never frees but uses aligned_alloc was refused; LeakSanitizer/valgrind survey).
        let allocator_code = |c: u32| private.contains(&c) || (self.calls(c).iter().any(|(g, _)| present.contains(g)) && self.works_on_chunk_headers(c));
        self.defined()
            .filter(|f| !private.contains(f))
            .filter(|f| !self.callers.get(f).is_some_and(|cs| !cs.is_empty() && cs.iter().all(|&c| allocator_code(c))))
            .map(|f| (f, self.uses_of_words(f, &own)))
            .filter(|&(_, n)| n >= DL_FREE_USES)
            .max_by_key(|&(f, n)| (n, std::cmp::Reverse(f)))
    }

    /// The allocator's own code: `present` and what only it calls.
    fn private_code(&self, present: &[u32]) -> HashSet<u32> {
        let mut private: HashSet<u32> = present.iter().copied().collect();
        loop {
            let before = private.len();
            for f in self.defined() {
                if !private.contains(&f)
                    && !self.s.escaping.contains(&f)
                    && self.callers.get(&f).is_some_and(|cs| !cs.is_empty() && cs.iter().all(|c| private.contains(c)))
                {
                    private.insert(f);
                }
            }
            if private.len() == before {
                break;
            }
        }
        private
    }

    /// The words of the state clusters `state` that the functions `code` use. Only these count as the allocator's
    /// state in another function: a program's zero-initialised globals can sit in the same cluster as dlmalloc's
    /// (one function setting 16 `int`s of .bss read as an inlined free, or was tried as the free, and a program that
    /// never frees was refused; found by the LeakSanitizer/valgrind survey).
    fn own_words(&self, code: &HashSet<u32>, state: &[usize]) -> HashSet<u64> {
        let extents: Vec<(u64, u64)> = state.iter().map(|&c| self.extent[c]).collect();
        code.iter()
            .filter_map(|&f| self.idx(f))
            .flat_map(|i| self.s.touched[i].iter().copied())
            .filter(|a| extents.iter().any(|&(lo, hi)| (lo..=hi).contains(a)))
            .collect()
    }

    /// `f` works on dlmalloc's chunk headers as only the allocator does (statics.rs).
    fn works_on_chunk_headers(&self, f: u32) -> bool {
        self.idx(f).and_then(|i| self.bodies.get(i)).is_some_and(|b| crate::statics::works_on_chunk_headers(b).unwrap_or(false))
    }

    /// How many times function `f` uses the words `words`.
    fn uses_of_words(&self, f: u32, words: &HashSet<u64>) -> usize {
        self.idx(f).map_or(0, |i| self.s.touched[i].iter().filter(|a| words.contains(a)).count())
    }

    /// Exported functions of a signature.
    fn exported_of(&self, params: usize, results: usize) -> impl Iterator<Item = u32> + '_ {
        self.info
            .exports
            .iter()
            .filter(|e| e.kind == wasmparser::ExternalKind::Func)
            .map(|e| e.index)
            .filter(move |&f| sig_is(self.info, f, params, results))
    }

    /// No allocator state the shapes above know, but the module exports functions shaped like malloc and free
    /// (Emscripten exports them for its glue, minified names or not): the pair that behaves as one, when exactly
    /// one does, and the realloc over them that behaves as one. Their calloc, if any, allocates through them.
    fn exported_pair(&self, j: &Experiments<'_>) -> Option<(Vec<EntryPoint>, Vec<String>)> {
        let mallocs: Vec<u32> = self.exported_of(1, 1).filter(|f| self.reaches_grow.contains(f)).take(8).collect();
        let (m, m_shown) = self.pick("malloc", &mallocs, &|f| j.allocator(Candidate::new(f, Role::Malloc))).ok()?;
        let frees: Vec<u32> = self.exported_of(1, 0).take(12).collect();
        let malloc = Candidate::new(m, Role::Malloc);
        let (fr, f_shown) = self.pick("free", &frees, &|f| j.free(malloc, Candidate::new(f, Role::Free))).ok()?;
        let reason = "exported, and behaves as one when called (no allocator state the code shapes know)";
        let ep = |func: u32, role: Role, shown: String| EntryPoint {
            func,
            name: format!("func[{func}]"),
            role,
            evidence: Evidence::Fingerprint { confidence: Confidence::High, reason: format!("{role}: {reason}") },
            confirmed: Some(shown),
        };
        let mut eps = vec![ep(m, Role::Malloc, m_shown), ep(fr, Role::Free, f_shown)];
        // The realloc over them — a (ptr, size) -> ptr that calls both, or what they forward to — when one behaves
        // as one: its in-place resizes never reach them (a stripped -O2 emmalloc build of Lua read 50,032 B for
        // 31,792 leaked, +57%, and said nothing; Emscripten survey).
        let through = |f: u32| {
            let mut v = vec![f];
            while let Some(t) = v.last().and_then(|&g| self.idx(g)).and_then(|i| self.s.forwards_to[i]).filter(|t| !v.contains(t)) {
                v.push(t);
            }
            v
        };
        let (allocs, frees) = (through(m), through(fr));
        let reallocs: Vec<u32> = self
            .defined()
            .filter(|&f| sig_is(self.info, f, 2, 1) && !allocs.contains(&f) && !frees.contains(&f))
            .filter(|&f| allocs.iter().any(|&a| self.calls_fn(f, a)) && frees.iter().any(|&b| self.calls_fn(f, b)))
            .take(4)
            .collect();
        let free = Candidate::new(fr, Role::Free);
        if let Ok((r, shown)) = self.pick("realloc", &reallocs, &|f| j.realloc(malloc, free, Candidate::new(f, Role::Realloc))) {
            let reason = "(i32,i32)->i32 that calls that malloc and free, and behaves as one when called";
            let evidence = Evidence::Fingerprint { confidence: Confidence::High, reason: format!("realloc: {reason}") };
            eps.push(EntryPoint { func: r, name: format!("func[{r}]"), role: Role::Realloc, evidence, confirmed: Some(shown) });
        }
        Some((eps, Vec::new()))
    }

    /// When no function has malloc's shape: a function of another type that uses one static structure as much as
    /// dlmalloc's malloc does — malloc inlined into it (wasm-opt inlines a function that has one call site, and
    /// `clang -O2` runs wasm-opt at link time when binaryen is installed).
    fn inlined_allocator(&self) -> Option<String> {
        let (f, n) = self
            .defined()
            .filter_map(|f| Some((f, self.uses[self.idx(f)?].values().copied().max()?)))
            .filter(|&(f, n)| n >= DL_MALLOC_USES && !sig_is(self.info, f, 1, 1))
            .max_by_key(|&(f, n)| (n, std::cmp::Reverse(f)))?;
        let ty = self.info.func_signature(f).map_or("?".into(), |(p, r)| format!("{p:?} -> {r:?}"));
        Some(format!(
            "no function has malloc's shape, but func {f} ({ty}) uses one static structure {n} times as dlmalloc's \
             malloc does: either the allocator is inlined into it ({INLINED}), or it is an allocator wasmleak does not \
             know by its code (Zig's, a Rust allocator that takes `self`, a custom one: --debug-file with the \
             unstripped build, or --alloc-fn/--free-fn)"
        ))
    }

    /// A module with dlmalloc's free and no allocation function at all (wasm-ld links free alone when nothing
    /// calls malloc): the one function over a static state that frees a chunk laid out as dlmalloc lays them out
    /// (`Experiments::dlmalloc_free`), and its forwarders. Every call of it is then an invalid free.
    fn free_only(&self, j: &Experiments<'_>) -> Option<(Vec<EntryPoint>, Vec<String>)> {
        if !self.ranked(1, 1, None).iter().all(|m| m.1 < DL_MALLOC_USES) {
            return None;
        }
        let frees: Vec<u32> = self.ranked(1, 0, None).iter().filter(|f| f.1 >= DL_FREE_USES).map(|f| f.0).take(4).collect();
        let (fr, shown) = self.pick("dlmalloc's free", &frees, &|f| j.dlmalloc_free(f)).ok()?;
        // malloc inlined into its one caller would allocate unseen, and every free would look invalid.
        if self.other_side_inlined(&[fr]).is_some() {
            return None;
        }
        let mut eps = vec![EntryPoint {
            func: fr,
            name: format!("func[{fr}]"),
            role: Role::Free,
            evidence: Evidence::Fingerprint { confidence: Confidence::High, reason: "free: (i32)->() over a static state, and no allocation function in the module".into() },
            confirmed: Some(shown.clone()),
        }];
        for w in self.forwarders_of(fr) {
            eps.push(EntryPoint {
                func: w,
                name: format!("func[{w}]"),
                role: Role::Free,
                evidence: Evidence::Fingerprint { confidence: Confidence::High, reason: format!("forwards to free func {fr}") },
                confirmed: Some(shown.clone()),
            });
        }
        eps.sort_by_key(|e| e.func);
        let note = "the module has no allocation function (by code shape): every free it makes is of a block it did not allocate".to_string();
        Some((eps, vec![note]))
    }

    /// Thin wrappers of the entry points found: C++ `operator new(size)` (libc++: `malloc` in a loop that calls
    /// the new_handler, or throws / aborts, when it fails), `operator new(size, align)` over aligned_alloc, and
    /// `operator delete(ptr[, size[, align]])` (passes its pointer to free). A wrapper found is an entry point of
    /// its own, so its callers are the allocation sites and the guard reports the allocation once, at the
    /// outermost call. Precise on purpose: a function taken for malloc that is not would swallow the
    /// allocations and frees made inside it (the guard) and misreport the block, so the code must do nothing
    /// else with the pointer than test it and return it (see [`Wrapper`]).
    fn wrappers(&self, eps: &mut Vec<(u32, Role, String)>, internal: &HashSet<u32>, state: &[usize]) {
        // The allocator's own entry points, before any wrapper.
        let base: HashSet<u32> = eps.iter().map(|e| e.0).collect();
        let base_frees: Vec<u32> = eps.iter().filter(|e| e.1 == Role::Free).map(|e| e.0).collect();
        let what = |f: u32, plain: &str, wrapper: &str| format!("{} (func {f})", if base.contains(&f) { plain } else { wrapper });
        for _ in 0..4 {
            let known: HashSet<u32> = eps.iter().map(|e| e.0).chain(internal.iter().copied()).collect();
            // Functions that can reach the allocator through direct calls: a wrapper may not call them (the
            // guard would hide what they allocate or free).
            let mut reaches: HashSet<u32> = known.clone();
            let mut todo: Vec<u32> = known.iter().copied().collect();
            while let Some(f) = todo.pop() {
                for &c in self.callers.get(&f).into_iter().flatten() {
                    if reaches.insert(c) {
                        todo.push(c);
                    }
                }
            }
            let candidates = |targets: &[u32]| -> Vec<u32> {
                let mut v: Vec<u32> = targets
                    .iter()
                    .flat_map(|t| self.callers.get(t).into_iter().flatten().copied())
                    .filter(|&f| !known.contains(&f) && self.ops(f) <= 80 && self.uses_in_all(f, state) == 0)
                    .collect();
                v.sort_unstable();
                v.dedup();
                v
            };
            let mut found: Vec<(u32, Role, String)> = Vec::new();
            // operator new(size): (i32) -> i32 over malloc (or over libc++'s operator_new_impl, itself one).
            let mallocs: Vec<u32> = eps.iter().filter(|e| e.1 == Role::Malloc).map(|e| e.0).collect();
            for f in candidates(&mallocs) {
                if !sig_is(self.info, f, 1, 1) {
                    continue;
                }
                if let Some((m, how)) = self.new_shaped(f, &mallocs, &reaches, &[P0]) {
                    let m = what(m, "malloc", "another operator new-shaped function");
                    found.push((f, Role::Malloc, format!("operator new-shaped: calls {m} with its size and returns its result; {how}")));
                }
            }
            // operator new(size, align): (i32, i32) -> i32 over aligned_alloc(align, size).
            let aligned: Vec<u32> = eps.iter().filter(|e| e.1 == Role::AlignedAlloc).map(|e| e.0).collect();
            for f in candidates(&aligned) {
                if !sig_is(self.info, f, 2, 1) {
                    continue;
                }
                if let Some((m, how)) = self.new_shaped(f, &aligned, &reaches, &[P1, P0]) {
                    let m = what(m, "aligned_alloc", "another aligned operator new-shaped function");
                    found.push((f, Role::RustAlloc, format!(
                        "aligned operator new-shaped: calls {m} with its alignment and size and returns its result; {how}"
                    )));
                }
            }
            // operator delete(ptr[, size[, align]]): only passes its first parameter to free (`local.get 0,
            // call free`). Only to the allocator's own free: `operator delete[]` → `operator delete` has the
            // very shape of every deleting destructor of a class with nothing to destroy.
            for f in candidates(&base_frees) {
                let Some((p, r)) = self.info.func_signature(f) else { continue };
                if !(1..=3).contains(&p.len()) || !r.is_empty() || !p.iter().all(|t| *t == ValType::I32) {
                    continue;
                }
                if let Some(t) = self.passes_first_param(f).filter(|t| base_frees.contains(t)) {
                    let n = p.len();
                    found.push((f, Role::Free, format!(
                        "operator delete-shaped: passes its pointer{} to free (func {t}) and does nothing else",
                        if n > 1 { format!(" (the first of {n} parameters)") } else { String::new() }
                    )));
                }
            }
            // Exact forwarders of an operator new found (operator new[] → operator new).
            for (f, role, _) in found.clone() {
                if role.is_free() {
                    continue;
                }
                for w in self.forwarders_of(f) {
                    if !known.contains(&w) && !found.iter().any(|x| x.0 == w) {
                        found.push((w, role, format!("forwards to func {f} (operator new-shaped)")));
                    }
                }
            }
            found.sort_by_key(|x| x.0);
            found.dedup_by_key(|x| x.0);
            if found.is_empty() {
                return;
            }
            eps.extend(found);
        }
    }

    /// `local.get 0, call X[, return]`: the target X.
    /// Whether some call of one of `allocs` in `f` gets `f`'s second parameter (the size) unchanged — directly,
    /// or through a local copied from it — in code order (the `realloc(NULL, n)` path comes first; later code
    /// may reuse the parameter's local); `None` when `f` calls none of them directly.
    fn mallocs_its_size(&self, f: u32, allocs: &HashSet<u32>) -> Option<bool> {
        use wasmparser::Operator as O;
        let body = self.bodies.get(self.idx(f)?)?;
        let ops: Vec<O> = body.get_operators_reader().ok()?.into_iter().collect::<Result<_, _>>().ok()?;
        let mut copies: HashSet<u32> = HashSet::from([1]); // locals holding the size, so far
        let mut any = false;
        for w in ops.windows(2) {
            match w[1] {
                O::LocalSet { local_index } | O::LocalTee { local_index } => {
                    if matches!(w[0], O::LocalGet { local_index: src } if copies.contains(&src)) {
                        copies.insert(local_index);
                    } else {
                        copies.remove(&local_index);
                    }
                }
                O::Call { function_index } if allocs.contains(&function_index) => {
                    any = true;
                    if matches!(w[0], O::LocalGet { local_index } if copies.contains(&local_index)) {
                        return Some(true);
                    }
                }
                _ => {}
            }
        }
        any.then_some(false)
    }

    /// `f` adds 8 to its size parameter and subtracts 8 from its pointer parameter (a hidden 8-byte header).
    fn header_shaped(&self, f: u32) -> bool {
        use wasmparser::Operator as O;
        let Some(body) = self.idx(f).and_then(|i| self.bodies.get(i)) else { return false };
        let Some(ops) = body.get_operators_reader().ok().and_then(|r| r.into_iter().collect::<Result<Vec<O>, _>>().ok()) else {
            return false;
        };
        let has = |param: u32, add: bool| {
            ops.windows(3).any(|w| match (&w[0], &w[1], &w[2]) {
                (O::LocalGet { local_index }, O::I32Const { value: 8 }, O::I32Add) => *local_index == param && add,
                (O::LocalGet { local_index }, O::I32Const { value: 8 }, O::I32Sub) => *local_index == param && !add,
                (O::LocalGet { local_index }, O::I32Const { value: -8 }, O::I32Add) => *local_index == param && !add,
                _ => false,
            })
        };
        has(1, true) && has(0, false)
    }

    fn passes_first_param(&self, f: u32) -> Option<u32> {
        use wasmparser::Operator as O;
        let body = self.bodies.get(self.idx(f)?)?;
        let ops: Vec<O> = body.get_operators_reader().ok()?.into_iter().collect::<Result<_, _>>().ok()?;
        match ops.as_slice() {
            [O::LocalGet { local_index: 0 }, O::Call { function_index }, O::End]
            | [O::LocalGet { local_index: 0 }, O::Call { function_index }, O::Return, O::End] => Some(*function_index),
            _ => None,
        }
    }

    /// `f` allocates through exactly one call of one of `targets`, whose arguments come from `f`'s parameters
    /// (`params[i]`: the parameter bit the target's argument `i` must carry; constants may replace it, as in
    /// `size ? size : 1`), tests the result, has a failure path (an indirect call of a `() -> ()` function —
    /// the new_handler —, a call of a `() -> ()` function — abort, throw —, or `unreachable`), and returns
    /// that result or 0 and nothing else. The pointer goes nowhere else (no store, no other call), and no other
    /// call reaches the allocator. Returns the target and how the failure is handled.
    fn new_shaped(&self, f: u32, targets: &[u32], reaches: &HashSet<u32>, params: &[u8]) -> Option<(u32, &'static str)> {
        let body = self.bodies.get(self.idx(f)?)?;
        let (p, r) = self.info.func_signature(f)?;
        let (is_target, is_forbidden) = (|g| targets.contains(&g), |g| reaches.contains(&g));
        let w = Wrapper::run(self.info, body, p.len(), r.len(), &is_target, &is_forbidden)?;
        let [(target, args)] = w.allocs.as_slice() else { return None };
        let plain = |a: u8, p: u8| a & p != 0 && a & !(p | CONST | ZERO) == 0;
        let args_ok = args.len() == params.len() && args.iter().zip(params).all(|(&a, &p)| plain(a, p));
        let returns_ok = w.returns & NEW != 0 && w.returns & !(NEW | ZERO) == 0;
        if !(args_ok && returns_ok && w.tested && (w.handler || w.aborts)) {
            return None;
        }
        Some((*target, if w.handler { "new_handler loop (an indirect call when it fails)" } else { "aborts or throws when it fails" }))
    }
}

/// Abstract i32 values of the wrapper analysis: where a value may come from, as a union of these bits.
const P0: u8 = 1;
const P1: u8 = 2;
const ZERO: u8 = 4;
const CONST: u8 = 8;
/// The result of the allocation call.
const NEW: u8 = 16;
const OTHER: u8 = 32;

/// A small abstract interpretation of one function (flow-sensitive over its structured control flow, loops to
/// a fixpoint) that follows where the parameters and the allocation's result go. Anything it does not model
/// (other value types, memory instructions other than i32 loads and stores, tail calls, exceptions) makes
/// it give up: not a wrapper.
struct Wrapper<'b, 'c> {
    info: &'c ModuleInfo,
    ops: Vec<wasmparser::Operator<'b>>,
    /// Block, loop or if at index i → (its `else`, its `end`).
    spans: HashMap<usize, (Option<usize>, usize)>,
    target: &'c dyn Fn(u32) -> bool,
    forbidden: &'c dyn Fn(u32) -> bool,
    frames: Vec<Frame>,
    /// Every call of a target (by position in the code): the target and the union of each argument.
    allocs: Vec<(u32, Vec<u8>)>,
    alloc_at: HashMap<usize, usize>,
    returns: u8,
    tested: bool,
    handler: bool,
    aborts: bool,
    bad: bool,
}

struct Frame {
    is_loop: bool,
    results: usize,
    /// Join of the locals at the branches to this label (and the fallthrough at its end).
    locals: Option<Vec<u8>>,
    value: u8,
}

#[derive(Clone)]
struct St {
    locals: Vec<u8>,
    stack: Vec<u8>,
}

fn pop(st: &mut St) -> u8 {
    st.stack.pop().unwrap_or(OTHER)
}

fn join_into(into: &mut Option<Vec<u8>>, l: &[u8]) {
    match into {
        Some(v) => v.iter_mut().zip(l).for_each(|(a, b)| *a |= b),
        None => *into = Some(l.to_vec()),
    }
}

impl<'b, 'c> Wrapper<'b, 'c> {
    fn run(
        info: &'c ModuleInfo,
        body: &wasmparser::FunctionBody<'b>,
        nparams: usize,
        nresults: usize,
        target: &'c dyn Fn(u32) -> bool,
        forbidden: &'c dyn Fn(u32) -> bool,
    ) -> Option<Self> {
        let mut locals: Vec<u8> = [P0, P1].iter().copied().chain(std::iter::repeat(OTHER)).take(nparams).collect();
        for l in body.get_locals_reader().ok()? {
            let (n, t) = l.ok()?;
            if t != ValType::I32 || locals.len() + n as usize > 64 {
                return None;
            }
            locals.extend(std::iter::repeat_n(ZERO, n as usize));
        }
        let ops: Vec<wasmparser::Operator<'b>> = body.get_operators_reader().ok()?.into_iter().collect::<Result<_, _>>().ok()?;
        let mut spans = HashMap::new();
        let mut open: Vec<(usize, Option<usize>)> = Vec::new();
        for (i, op) in ops.iter().enumerate() {
            use wasmparser::Operator as O;
            match op {
                O::Block { .. } | O::Loop { .. } | O::If { .. } => open.push((i, None)),
                O::Else => open.last_mut()?.1 = Some(i),
                O::End => {
                    if let Some((b, e)) = open.pop() {
                        spans.insert(b, (e, i));
                    }
                }
                _ => {}
            }
        }
        let mut w = Wrapper {
            info, ops, spans, target, forbidden, frames: Vec::new(), allocs: Vec::new(), alloc_at: HashMap::new(),
            returns: 0, tested: false, handler: false, aborts: false, bad: false,
        };
        w.frames.push(Frame { is_loop: false, results: nresults, locals: None, value: 0 });
        let mut st = St { locals, stack: Vec::new() };
        let end = w.ops.len().checked_sub(1)?;
        if w.block(0, end, &mut st) {
            w.branch(0, &st);
        }
        w.returns = w.frames.pop()?.value;
        (!w.bad).then_some(w)
    }


    /// A branch to the label `depth` levels out (the function's own frame for `return`).
    fn branch(&mut self, depth: usize, st: &St) {
        let Some(i) = self.frames.len().checked_sub(depth + 1) else {
            self.bad = true;
            return;
        };
        let top = st.stack.last().copied().unwrap_or(OTHER);
        let f = &mut self.frames[i];
        join_into(&mut f.locals, &st.locals);
        if !f.is_loop && f.results == 1 {
            f.value |= top;
        }
    }

    fn sig(&self, ty: Option<&(Vec<ValType>, Vec<ValType>)>) -> Option<(usize, usize)> {
        let (p, r) = ty?;
        (p.iter().chain(r).all(|t| *t == ValType::I32) && r.len() <= 1).then_some((p.len(), r.len()))
    }

    /// Runs `ops[start..end]` from `st`: whether the end is reached.
    fn block(&mut self, start: usize, end: usize, st: &mut St) -> bool {
        use wasmparser::{BlockType, Operator as O};
        let mut pc = start;
        while pc < end {
            if self.bad {
                return false;
            }
            let op = self.ops[pc].clone();
            match &op {
                O::Nop => {}
                O::Block { blockty } | O::Loop { blockty } | O::If { blockty } => {
                    let results = match blockty {
                        BlockType::Empty => 0,
                        BlockType::Type(ValType::I32) => 1,
                        _ => {
                            self.bad = true;
                            return false;
                        }
                    };
                    let Some(&(els, e)) = self.spans.get(&pc) else {
                        self.bad = true;
                        return false;
                    };
                    let is_if = matches!(self.ops[pc], O::If { .. });
                    let is_loop = matches!(self.ops[pc], O::Loop { .. });
                    if is_if {
                        let c = pop(st);
                        self.tested |= c & NEW != 0;
                    }
                    let h = st.stack.len();
                    if is_loop {
                        let mut header = st.locals.clone();
                        let mut rounds = 0;
                        loop {
                            self.frames.push(Frame { is_loop: true, results, locals: None, value: 0 });
                            let mut inner = St { locals: header.clone(), stack: st.stack.clone() };
                            let reached = self.block(pc + 1, e, &mut inner);
                            let f = self.frames.pop().unwrap();
                            let mut joined = Some(header.clone());
                            join_into(&mut joined, f.locals.as_deref().unwrap_or(&header));
                            let joined = joined.unwrap();
                            if joined == header || self.bad {
                                if !reached {
                                    return false;
                                }
                                *st = inner;
                                break;
                            }
                            header = joined;
                            rounds += 1;
                            if rounds > 8 {
                                self.bad = true;
                                return false;
                            }
                        }
                    } else {
                        self.frames.push(Frame { is_loop: false, results, locals: None, value: 0 });
                        let mut then = st.clone();
                        if self.block(pc + 1, els.unwrap_or(e), &mut then) {
                            self.branch(0, &then);
                        }
                        if is_if {
                            match els {
                                Some(x) => {
                                    let mut other = st.clone();
                                    if self.block(x + 1, e, &mut other) {
                                        self.branch(0, &other);
                                    }
                                }
                                None => self.branch(0, st),
                            }
                        }
                        let f = self.frames.pop().unwrap();
                        let Some(l) = f.locals else { return false };
                        st.locals = l;
                        st.stack.truncate(h);
                        if results == 1 {
                            st.stack.push(f.value);
                        }
                    }
                    pc = e;
                }
                O::Br { relative_depth } => {
                    self.branch(*relative_depth as usize, st);
                    return false;
                }
                O::BrIf { relative_depth } => {
                    let c = pop(st);
                    self.tested |= c & NEW != 0;
                    self.branch(*relative_depth as usize, st);
                }
                O::BrTable { targets } => {
                    pop(st);
                    let ds: Vec<u32> = targets.targets().chain([Ok(targets.default())]).collect::<Result<_, _>>().unwrap_or_default();
                    for d in ds {
                        self.branch(d as usize, st);
                    }
                    return false;
                }
                O::Return => {
                    let d = self.frames.len() - 1;
                    self.branch(d, st);
                    return false;
                }
                O::Unreachable => {
                    self.aborts = true;
                    return false;
                }
                O::Call { function_index } => {
                    let f = *function_index;
                    let Some((np, nr)) = self.sig(self.info.func_signature(f)) else {
                        self.bad = true;
                        return false;
                    };
                    let mut args: Vec<u8> = (0..np).map(|_| pop(st)).collect();
                    args.reverse();
                    if (self.target)(f) {
                        match self.alloc_at.get(&pc) {
                            Some(&i) => self.allocs[i].1.iter_mut().zip(&args).for_each(|(a, b)| *a |= b),
                            None => {
                                self.alloc_at.insert(pc, self.allocs.len());
                                self.allocs.push((f, args));
                            }
                        }
                        st.stack.extend(std::iter::repeat_n(NEW, nr));
                    } else {
                        if args.iter().any(|a| a & NEW != 0) || (self.forbidden)(f) {
                            self.bad = true;
                            return false;
                        }
                        self.aborts |= np == 0 && nr == 0;
                        st.stack.extend(std::iter::repeat_n(OTHER, nr));
                    }
                }
                O::CallIndirect { type_index, .. } => {
                    pop(st);
                    let ty = self.info.types.get(*type_index as usize).and_then(|t| t.as_ref());
                    let Some((np, nr)) = self.sig(ty) else {
                        self.bad = true;
                        return false;
                    };
                    let args: Vec<u8> = (0..np).map(|_| pop(st)).collect();
                    if args.iter().any(|a| a & NEW != 0) {
                        self.bad = true;
                        return false;
                    }
                    self.handler |= np == 0 && nr == 0;
                    st.stack.extend(std::iter::repeat_n(OTHER, nr));
                }
                O::LocalGet { local_index } | O::LocalSet { local_index } | O::LocalTee { local_index } => {
                    let i = *local_index as usize;
                    if i >= st.locals.len() {
                        self.bad = true;
                        return false;
                    }
                    match &op {
                        O::LocalGet { .. } => st.stack.push(st.locals[i]),
                        O::LocalSet { .. } => st.locals[i] = pop(st),
                        _ => st.locals[i] = st.stack.last().copied().unwrap_or(OTHER),
                    }
                }
                O::GlobalGet { .. } => st.stack.push(OTHER),
                O::GlobalSet { .. } => {
                    if pop(st) & NEW != 0 {
                        self.bad = true;
                        return false;
                    }
                }
                O::I32Const { value } => st.stack.push(if *value == 0 { ZERO } else { CONST }),
                O::Drop => {
                    pop(st);
                }
                O::Select | O::TypedSelect { ty: ValType::I32 } => {
                    let c = pop(st);
                    self.tested |= c & NEW != 0;
                    let (b, a) = (pop(st), pop(st));
                    st.stack.push(a | b);
                }
                O::I32Load { .. } | O::I32Load8S { .. } | O::I32Load8U { .. } | O::I32Load16S { .. } | O::I32Load16U { .. } => {
                    if pop(st) & NEW != 0 {
                        self.bad = true;
                        return false;
                    }
                    st.stack.push(OTHER);
                }
                O::I32Store { .. } | O::I32Store8 { .. } | O::I32Store16 { .. } => {
                    if (pop(st) | pop(st)) & NEW != 0 {
                        self.bad = true;
                        return false;
                    }
                }
                O::I32Eqz => {
                    let v = pop(st);
                    self.tested |= v & NEW != 0;
                    st.stack.push(OTHER);
                }
                O::I32Clz | O::I32Ctz | O::I32Popcnt | O::I32Extend8S | O::I32Extend16S => {
                    pop(st);
                    st.stack.push(OTHER);
                }
                O::I32Eq | O::I32Ne | O::I32LtS | O::I32LtU | O::I32GtS | O::I32GtU | O::I32LeS | O::I32LeU
                | O::I32GeS | O::I32GeU => {
                    let v = pop(st) | pop(st);
                    self.tested |= v & NEW != 0;
                    st.stack.push(OTHER);
                }
                O::I32Add | O::I32Sub | O::I32Mul | O::I32DivS | O::I32DivU | O::I32RemS | O::I32RemU | O::I32And
                | O::I32Or | O::I32Xor | O::I32Shl | O::I32ShrS | O::I32ShrU | O::I32Rotl | O::I32Rotr => {
                    pop(st);
                    pop(st);
                    st.stack.push(OTHER);
                }
                _ => {
                    self.bad = true;
                    return false;
                }
            }
            pc += 1;
        }
        true
    }
}

/// The body of every defined function.
fn bodies(bytes: &[u8]) -> Result<Vec<wasmparser::FunctionBody<'_>>, Error> {
    let mut out = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        if let wasmparser::Payload::CodeSectionEntry(body) = payload? {
            out.push(body);
        }
    }
    Ok(out)
}


