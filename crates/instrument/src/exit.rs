//! A guest that calls `exit()` from inside its functions (WASI `proc_exit`) ends with them still running, and a
//! block they held only in wasm locals — `main`'s buffers at `exit(0)`, at -O2 where pointers live in locals rather
//! than on the stack in memory — has no pointer left in memory. LeakSanitizer scans the stack at exit and counts
//! such blocks reachable; wasm locals cannot be read, so the evidence is bounded instead: a function still running
//! holds at most as many addresses as it has i32 parameters and locals.
//!
//! So, in a single-threaded run that ended in `proc_exit` with frames still running: an unreachable block (lost or
//! in a cycle) whose allocation stack leaves the stack at exit in a running frame — the same functions and call
//! sites down to that frame, another call site there — may be in that frame's locals when that call was the
//! frame's own call of the allocator or a call that returned an i32, the frame set that call's result into a
//! local, and each function on the way down returned the result of its own call that led to the allocator
//! (anything else reached it through memory, which was scanned, or was passed on, stored or dropped: `p = make();
//! puts(p); p = make();` at -O2 passes the first result straight to `puts`, and `d = make_d(); free(d);` kept `d`,
//! not `d->name`; LeakSanitizer calls both blocks leaked). When a frame has no more such blocks than locals, they
//! are all roots, held by it as
//! a running thread holds its own (`THREAD_HELD`); with more, they stay leaks and a note gives the bound. A
//! command's start code is left out (wasi-libc's `_start` holds `main`'s status when it calls `proc_exit` after
//! `main` returned).
//!
//! Both hosts use it: wasmtime's backtrace on the `proc_exit` error gives the frames, and the JS runtime reads
//! them with V8 when the module calls `proc_exit` (or Emscripten's `env.exit`).

use std::collections::{BTreeMap, HashMap, HashSet};

use wasmleak_heap::{HeapState, Kind, RawFrame, RootValue, SnapValue, StackTable, THREAD_HELD};
use crate::{Instrumented, ModuleInfo};
use wasmparser::{ExternalKind, Operator, Parser, Payload, ValType};

/// `endings`: how each thread that was still running at the end stopped (the guest's `proc_exit`, or a thread
/// stopped where it was), with the frames it was running (instrumented function index, code offset), innermost
/// first. Make the blocks they may hold roots of `state` (the heap at exit); returns the notes saying so. `memory`:
/// the guest's memory, where the state left its blocks' bytes (`HeapState::in_memory`). `bodies`: the original
/// module, or the instrumented one (its functions' bodies come in the same order, with only i64 locals added:
/// context.rs).
pub fn held_at_exit(
    state: &mut HeapState,
    memory: Option<&[u8]>,
    endings: &[(Ending, &[(u32, u32)])],
    stacks: &StackTable,
    ins: &Instrumented,
    info: &ModuleInfo,
    bodies: &[u8],
) -> Vec<String> {
    // Once for all the threads that stopped (hundreds of waiting threads, each analysing a heap of their stacks,
    // took minutes): the unreachable blocks only get fewer as the frames of one thread make some roots.
    let code = Code::read(bodies, ins);
    let analysis = state.analyze_in(memory);
    let mut notes = Vec::new();
    for &(ending, frames) in endings {
        notes.extend(held_by_frames(state, ending, frames, &analysis, &code, stacks, ins, info));
    }
    notes
}

/// [`held_at_exit`] for the frames of one thread.
#[allow(clippy::too_many_arguments)]
fn held_by_frames(
    state: &mut HeapState,
    ending: Ending,
    frames: &[(u32, u32)],
    analysis: &wasmleak_heap::Analysis,
    code: &Code<'_>,
    stacks: &StackTable,
    ins: &Instrumented,
    info: &ModuleInfo,
) -> Vec<String> {
    // Root first, in the original module's terms, as allocation stacks are.
    let live: Vec<RawFrame> = frames
        .iter()
        .rev()
        .filter_map(|&(f, at)| Some(RawFrame { func: ins.map.original_func(f)?, offset: ins.map.original_offset(at).unwrap_or(u32::MAX) }))
        .collect();
    // A command's start code is left out: the export `_start` and the start function it calls (wasi-libc's, which
    // holds `main`'s status when it exits after `main` returned). A host that calls `main` or another export
    // itself (Emscripten's glue, `--invoke`) has no start code on the stack. The start function is known by its
    // name: wasm-opt (`clang -O2` at link time) drops the names and inlines `main` into `_start`, where the next
    // frame is the program's own.
    let is_start = |f: u32| info.exports.iter().any(|e| e.name == "_start" && e.kind == wasmparser::ExternalKind::Func && e.index == f);
    let is_libc_start = |f: &RawFrame| {
        info.func_names.get(&f.func).is_some_and(|n| matches!(n.as_str(), "__main_void" | "__main_argc_argv" | "exit" | "_Exit"))
            || copies_argv(&code, info, f.func)
    };
    let first = match live.first() {
        Some(f) if is_start(f.func) => 1 + live.get(1).is_some_and(is_libc_start) as usize,
        _ => 0,
    };
    // Unreachable blocks by the depth of the running frame that may hold them, with the frame's call they came
    // from and their allocation number.
    let mut by_frame: BTreeMap<usize, Vec<(u32, u64, u64)>> = BTreeMap::new();
    // By function: what it does with its calls' results.
    let mut results_of: HashMap<u32, Results> = HashMap::new();
    // Made by the frame's own call of the allocator, or by a call that returned an i32 (the address can reach a
    // local only so: what went through memory was scanned).
    let returned = |callee: Option<u32>| callee.is_none_or(|c| info.func_signature(c).is_some_and(|sig| sig.1.contains(&ValType::I32)));
    // Unreachable blocks without an allocation stack (`check --stacks off`): what made them cannot be told.
    let mut unknown = 0usize;
    for (b, class) in analysis.blocks.iter().zip(&analysis.classes) {
        if !matches!(class.kind, Kind::Lost | Kind::Cycle) {
            continue;
        }
        if b.stack.is_none() {
            unknown += 1;
            continue;
        }
        // The host's frames (the JS runtime's calls into the module) are not in the stack at exit.
        let path: Vec<&RawFrame> = stacks.get(b.stack).iter().rev().filter(|f| f.func < info.num_funcs()).collect();
        if let Some((depth, _)) = holder(&path, &live).filter(|&(d, callee)| d >= first && returned(callee)) {
            for f in &path[depth..] {
                results_of.entry(f.func).or_insert_with(|| results(&code, ins, info, f.func));
            }
            // The frame kept the result of its call in a local, and every function below it returned the result
            // of its own call on the way down to the allocator (a `make_d()` returns `d`, not the `d->name` it
            // also allocated).
            let kept = results_of[&path[depth].func].kept.contains(&path[depth].offset);
            let passed_up = path[depth + 1..]
                .iter()
                .all(|f| results_of[&f.func].returned.as_ref().is_none_or(|r| r.contains(&f.offset)));
            if kept && passed_up {
                by_frame.entry(depth).or_default().push((path[depth].offset, b.seq, b.addr));
            }
        }
    }
    let mut notes = Vec::new();
    // Whose calls were still running: the program's, not libc's start and exit code.
    // (A C `main(void)` is `__original_main`: the program's own; with `main(argc, argv)` it calls `main`, once named.)
    let runtime = ["_start", "__main_void", "__main_argc_argv", "exit", "_Exit", "__wasi_proc_exit"];
    let mut running: Vec<String> = live[first.min(live.len())..]
        .iter()
        .filter_map(|f| match info.func_names.get(&f.func) {
            Some(n) if runtime.contains(&n.as_str()) => None,
            Some(n) if n == "__original_main" => Some("`main`".into()),
            Some(n) => Some(format!("`{}`", wasmleak_symbolize::demangle(n))),
            None => Some(format!("func[{}]", f.func)),
        })
        .collect();
    running.dedup();
    if unknown > 0 && !running.is_empty() {
        notes.push(format!(
            "{} while {} still running, and no allocation stacks were taken (--stacks off): \
             which unreachable blocks those calls made and may hold in their local variables cannot be told, so \
             all are reported (run without --stacks off for that)",
            ending.what(),
            running.join(", ") + if running.len() == 1 { " was" } else { " were" }
        ));
    }
    for (depth, mut made) in by_frame {
        // A call's result goes into one local, which the next result of that call overwrites: of the blocks one
        // call site made (a loop's `doc = new XMLDocument`), only the last can still be there.
        made.sort_unstable();
        made.dedup_by(|later, earlier| later.0 == earlier.0 && {
            *earlier = *later;
            true
        });
        let addrs: Vec<u64> = made.iter().map(|&(_, _, addr)| addr).collect();
        let frame = &live[depth];
        let name = info.func_names.get(&frame.func).map(|n| wasmleak_symbolize::demangle(n)).unwrap_or_else(|| format!("func[{}]", frame.func));
        let locals = i32_slots(&code, info, frame.func);
        let n = addrs.len();
        if n > locals as usize {
            notes.push(format!(
                "{} while `{name}` was still running: {n} unreachable block(s) it made (or got from \
                 calls that returned) may include up to {locals} held in its local variables, which cannot be read; \
                 all are reported",
                ending.what()
            ));
            continue;
        }
        let root = format!("`{name}` (on the stack {}), {THREAD_HELD}", ending.when());
        for addr in addrs {
            state.roots.values.push(RootValue { name: root.clone(), value: addr, host: false });
            state.values.push(SnapValue { name: root.clone(), value: addr, host: false });
        }
        notes.push(format!(
            "{} while `{name}` was still running: {n} block(s) with no pointer left in memory, \
             which it made (or got from calls that returned), may be in its local variables ({locals} i32), which \
             cannot be read — they count as held by it, as LeakSanitizer counts what the stack holds at exit",
            ending.what()
        ));
    }
    notes
}

/// By function index of `bytes` (imported ones false): whether the function keeps a frame below the stack pointer
/// without moving it — it reads the stack pointer global `sp` and never sets it: a leaf with LLVM's wasm red zone
/// (up to 128 bytes). Below a stopped thread's stack pointer only such an innermost frame may still be live.
pub fn red_zone_leaves(bytes: &[u8], sp: u32) -> Vec<bool> {
    let mut out = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        if let Ok(Payload::ImportSection(imports)) = &payload {
            let funcs = imports.clone().into_imports().filter_map(Result::ok).filter(|i| matches!(i.ty, wasmparser::TypeRef::Func(_)));
            out.extend(funcs.map(|_| false));
            continue;
        }
        let Ok(Payload::CodeSectionEntry(body)) = payload else { continue };
        let (mut gets, mut sets) = (false, false);
        if let Ok(ops) = body.get_operators_reader() {
            for op in ops.into_iter().map_while(Result::ok) {
                match op {
                    Operator::GlobalGet { global_index } if global_index == sp => gets = true,
                    Operator::GlobalSet { global_index } if global_index == sp => sets = true,
                    _ => {}
                }
            }
        }
        out.push(gets && !sets);
    }
    out
}

/// How the frames still running came to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// The guest called `exit()` (`proc_exit`) from inside them.
    Exit,
    /// Another thread ended the process and this one (0: the main thread) was stopped where it was.
    Stopped { thread: i32 },
}

impl Ending {
    fn what(self) -> String {
        match self {
            Ending::Exit => "the guest called exit()".into(),
            Ending::Stopped { thread: 0 } => "the program ended on another thread".into(),
            Ending::Stopped { thread } => format!("the program ended while thread {thread} ran"),
        }
    }

    /// For a root's name (docs/contracts.md).
    fn when(self) -> String {
        match self {
            Ending::Exit => "when the guest called exit()".into(),
            Ending::Stopped { thread } => format!("of thread {thread} when the program ended"),
        }
    }
}

/// The depth of the running frame where an allocation stack (root first) leaves the stack at exit — the same
/// functions at the same call sites above it, and in it another call site, or the same one calling another
/// function (a call that returned, then the one still running) — with the function that call went to (None: the
/// frame called the allocator itself). None when the paths part in another way.
fn holder(path: &[&RawFrame], live: &[RawFrame]) -> Option<(usize, Option<u32>)> {
    for (d, (p, l)) in path.iter().zip(live).enumerate() {
        if p.func != l.func {
            return Some((d.checked_sub(1)?, Some(p.func)));
        }
        if p.offset != l.offset {
            return Some((d, path.get(d + 1).map(|f| f.func)));
        }
    }
    None
}

/// What a function does with its calls' results, by the calls' original code offsets.
#[derive(Default)]
struct Results {
    /// Set into a local at once (or after adding a constant: an interior pointer) and used from there, not only
    /// stored to memory (-O0 keeps every variable in the stack in memory, each result passing through a local of
    /// its own on the way there): such a result may still be in the locals of a running call.
    kept: HashSet<u32>,
    /// The calls whose result it may return (`None`: it returns something this cannot follow, so any of them).
    /// A value it read from memory, or a constant, is none of them.
    returned: Option<HashSet<u32>>,
}

/// Whether original function `func` calls WASI's `args_get` or `args_sizes_get` itself: wasi-libc's `__main_void`,
/// which copies argv before it calls `main`, known so without its name.
fn copies_argv(code: &Code<'_>, info: &ModuleInfo, func: u32) -> bool {
    let argv: HashSet<u32> = (info.imports.iter().filter(|i| i.kind == "func").enumerate())
        .filter(|(_, i)| matches!(i.name.as_str(), "args_get" | "args_sizes_get"))
        .map(|(k, _)| k as u32)
        .collect();
    let Some(body) = (!argv.is_empty()).then(|| code.body(info, func)).flatten() else { return false };
    let Ok(ops) = body.get_operators_reader() else { return false };
    ops.into_iter().map_while(Result::ok).any(|op| matches!(op, Operator::Call { function_index } if argv.contains(&function_index)))
}

/// The function bodies of the module the frames are read against — the original module, or the instrumented
/// one (the same bodies in the same order, with wasmleak's context upkeep added: context.rs) — read once.
struct Code<'a> {
    bodies: Vec<wasmparser::FunctionBody<'a>>,
    /// The instrumented module's calling-context global (`None` for the original module).
    ctx: Option<u32>,
    instrumented: bool,
}

impl<'a> Code<'a> {
    fn read(bytes: &'a [u8], ins: &Instrumented) -> Code<'a> {
        let instrumented = std::ptr::eq(bytes.as_ptr(), ins.bytes.as_ptr());
        let mut code = Code { bodies: Vec::new(), ctx: None, instrumented };
        for payload in Parser::new(0).parse_all(bytes) {
            match payload {
                Ok(Payload::ExportSection(exports)) if instrumented => {
                    code.ctx = exports
                        .into_iter()
                        .filter_map(Result::ok)
                        .find(|e| e.kind == ExternalKind::Global && ins.ctx_export.as_deref() == Some(e.name))
                        .map(|e| e.index);
                }
                Ok(Payload::CodeSectionEntry(body)) => code.bodies.push(body),
                _ => {}
            }
        }
        code
    }

    /// The body of original function `func` (a defined one).
    fn body(&self, info: &ModuleInfo, func: u32) -> Option<wasmparser::FunctionBody<'a>> {
        self.bodies.get(func.checked_sub(info.num_imported_funcs)? as usize).cloned()
    }
}

/// [`Results`] of original function `func`; in the instrumented module's code, the instructions wasmleak added
/// around a call (the calling context put back: context.rs) are skipped.
fn results(code: &Code<'_>, ins: &Instrumented, info: &ModuleInfo, func: u32) -> Results {
    let (instrumented, ctx) = (code.instrumented, code.ctx);
    let Some(ops) = code.body(info, func).and_then(|b| b.get_operators_reader().ok()) else { return Results::default() };
    let mut ops: Vec<(Operator<'_>, usize)> = ops.into_iter_with_offsets().map_while(Result::ok).collect();
    // The calling context put back after a call (`local.get base; global.set ctx`) is wasmleak's, not the code's.
    if let Some(g) = ctx {
        let mut i = 0;
        while i + 1 < ops.len() {
            if matches!(ops[i].0, Operator::LocalGet { .. }) && matches!(ops[i + 1].0, Operator::GlobalSet { global_index } if global_index == g) {
                ops.drain(i..i + 2);
            } else {
                i += 1;
            }
        }
    }
    let original = |offset: usize| if instrumented { ins.map.original_offset(offset as u32) } else { Some(offset as u32) };
    let is_call = |op: &Operator<'_>| matches!(op, Operator::Call { .. } | Operator::CallIndirect { .. } | Operator::CallRef { .. });
    let local = |op: Option<&Operator<'_>>| match op {
        Some(Operator::LocalSet { local_index } | Operator::LocalTee { local_index }) => Some(*local_index),
        _ => None,
    };
    // Calls whose result is set into a local: (call, local).
    let mut into: Vec<(u32, u32)> = Vec::new();
    for (k, (op, offset)) in ops.iter().enumerate() {
        if !is_call(op) {
            continue;
        }
        let mut next = ops[k + 1..].iter().map(|(op, _)| op);
        let l = match next.next() {
            Some(Operator::I32Const { .. }) => {
                if matches!(next.next(), Some(Operator::I32Add | Operator::I32Sub)) { local(next.next()) } else { None }
            }
            op => local(op),
        };
        if let (Some(l), Some(at)) = (l, original(*offset)) {
            into.push((at, l));
        }
    }
    let mut used = HashSet::new();
    for w in ops.windows(2) {
        if let Operator::LocalGet { local_index } | Operator::LocalTee { local_index } = w[0].0 {
            if !matches!(w[1].0, Operator::I32Store { .. }) {
                used.insert(local_index);
            }
        }
    }
    let kept = into.iter().filter(|(_, l)| used.contains(l)).map(|&(at, _)| at).collect();
    // The value at each point the function returns: the instruction before `return`, before the body's last
    // `end`, a tail call; a branch out of the body carries a value this does not follow.
    let mut returned = Some(HashSet::new());
    let mut depth = 0u32;
    let source = |k: usize| -> Option<Vec<u32>> {
        let (op, offset) = k.checked_sub(1).map(|j| &ops[j])?;
        match op {
            Operator::LocalGet { local_index } => Some(into.iter().filter(|(_, l)| l == local_index).map(|&(at, _)| at).collect()),
            op if is_call(op) => Some(original(*offset).into_iter().collect()),
            Operator::I32Const { .. } | Operator::GlobalGet { .. } => Some(Vec::new()),
            // Not reached from there (the body's last `end` after a `return`, as -O0 code ends): what was
            // returned or branched to is read where it happens.
            Operator::Unreachable
            | Operator::Return
            | Operator::Br { .. }
            | Operator::BrTable { .. }
            | Operator::ReturnCall { .. }
            | Operator::ReturnCallIndirect { .. }
            | Operator::ReturnCallRef { .. } => Some(Vec::new()),
            op if memarg_load(op) => Some(Vec::new()),
            _ => None,
        }
    };
    for (k, (op, offset)) in ops.iter().enumerate() {
        let found = match op {
            Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } | Operator::Try { .. } | Operator::TryTable { .. } => {
                depth += 1;
                continue;
            }
            Operator::End | Operator::Delegate { .. } if depth > 0 => {
                depth -= 1;
                continue;
            }
            Operator::End | Operator::Return => source(k),
            Operator::ReturnCall { .. } | Operator::ReturnCallIndirect { .. } | Operator::ReturnCallRef { .. } => {
                Some(original(*offset).into_iter().collect())
            }
            Operator::Br { relative_depth } | Operator::BrIf { relative_depth } if *relative_depth == depth => None,
            Operator::BrTable { targets } if targets.targets().filter_map(Result::ok).chain([targets.default()]).any(|d| d == depth) => None,
            _ => continue,
        };
        match (found, returned.as_mut()) {
            (Some(sites), Some(r)) => r.extend(sites),
            (None, _) => returned = None,
            _ => {}
        }
    }
    // A function that returns no i32 returns no address.
    let returns_i32 = info.func_signature(func).is_some_and(|sig| sig.1.contains(&ValType::I32));
    Results { kept, returned: if returns_i32 { returned } else { Some(HashSet::new()) } }
}

fn memarg_load(op: &Operator<'_>) -> bool {
    use Operator::*;
    matches!(op, I32Load { .. } | I32Load8S { .. } | I32Load8U { .. } | I32Load16S { .. } | I32Load16U { .. })
}

/// The i32 parameters and locals of original function `func` (a defined one), read from `code`: the
/// addresses a running call of it can hold outside memory.
fn i32_slots(code: &Code<'_>, info: &ModuleInfo, func: u32) -> u32 {
    let params = info.func_signature(func).map_or(0, |sig| sig.0.iter().filter(|t| **t == ValType::I32).count() as u32);
    let body = code.body(info, func);
    let locals = body.and_then(|b| b.get_locals_reader().ok()).map_or(0, |r| {
        r.into_iter().filter_map(Result::ok).filter(|(_, t)| *t == ValType::I32).map(|(n, _)| n).sum::<u32>()
    });
    params + locals
}
