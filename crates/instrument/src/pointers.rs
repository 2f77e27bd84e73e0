//! Whether a module's code uses its static data the way an allocator does: it follows a pointer it loaded from
//! there (a free list, a bin, a chunk's next), or hands out an address loaded from there (a bump's `top`) or
//! computed into a static array (a pool of blocks by index). A module whose memory never grows and that does
//! neither keeps state — a hash context, a codec's tables — but no heap (hash-wasm: its BLAKE3 update uses its
//! static context 79 times, as much as dlmalloc's malloc uses its state, and every app that hashed with it failed
//! with "a module with a heap was not tracked").
//!
//! Each function body is interpreted over abstract values (one pass per change of a local's value, locals
//! flow-insensitive): a 32-bit word loaded from a fixed address, or from an element of a static array, is a
//! [`Value::Pointer`], and stays one through `+`, `-` and `&` (`p + size`, `p & ~7`). Any operator the
//! interpretation does not know (SIMD, GC, exceptions…) makes the answer "it may": only a full reading of every body
//! says a module does not.

use wasmparser::{BlockType, FrameKind, FuncType, ModuleArity, Operator, Parser, Payload, SubType};

use crate::module::ModuleInfo;
use crate::statics::{is_store, memarg_offset};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Value {
    /// A number the code computed from anything but static data (a parameter, a call's result, arithmetic).
    Other,
    Const(u32),
    /// An address inside static data plus a variable: an element of a static array (`table[i]`, `buf + len`).
    Indexed,
    /// A 32-bit word read from static data, or computed from one by `+`, `-`, `&`.
    Pointer,
    /// The stack pointer plus this: a slot of the function's frame in memory, where unoptimised code keeps its
    /// variables (a pointer read from static data goes through one at -O0 before it is followed).
    Frame(i32),
    /// The frame plus a variable: an array on the stack.
    FrameArray,
}

impl Value {
    /// The value of a local that was given both (locals are not followed through the control flow).
    fn join(self, other: Value) -> Value {
        use Value::*;
        match (self, other) {
            (Pointer, _) | (_, Pointer) => Pointer,
            (Indexed, _) | (_, Indexed) => Indexed,
            (Const(a), Const(b)) if a == b => Const(a),
            (Frame(a), Frame(b)) if a == b => Frame(a),
            (Frame(_) | FrameArray, Frame(_) | FrameArray) => FrameArray,
            _ => Other,
        }
    }
}

struct Frame {
    height: usize,
    block: BlockType,
    kind: FrameKind,
}

struct Types {
    subs: Vec<SubType>,
    /// Type index of every function, imported ones first.
    funcs: Vec<u32>,
}

struct Body<'a> {
    types: &'a Types,
    /// Static data: from where the data segments start to the end of the initial memory.
    statics: std::ops::Range<u32>,
    stack: Vec<Value>,
    control: Vec<Frame>,
}

/// A frame slot's key: its offset from the stack pointer; `i64::MIN` for any element of an array on the stack
/// (one value stands for all of them, which every slot's read includes).
fn slot(address: Value, offset: u64) -> Option<i64> {
    match address {
        Value::Frame(k) => Some(k as i64 + offset as i64),
        Value::FrameArray => Some(i64::MIN),
        _ => None,
    }
}

impl ModuleArity for Body<'_> {
    fn sub_type_at(&self, type_idx: u32) -> Option<&SubType> {
        self.types.subs.get(type_idx as usize)
    }
    fn tag_type_arity(&self, _: u32) -> Option<(u32, u32)> {
        None
    }
    fn type_index_of_function(&self, f: u32) -> Option<u32> {
        self.types.funcs.get(f as usize).copied()
    }
    fn func_type_of_cont_type(&self, _: &wasmparser::ContType) -> Option<&FuncType> {
        None
    }
    fn sub_type_of_ref_type(&self, _: &wasmparser::RefType) -> Option<&SubType> {
        None
    }
    fn control_stack_height(&self) -> u32 {
        self.control.len() as u32
    }
    fn label_block(&self, depth: u32) -> Option<(BlockType, FrameKind)> {
        let f = self.control.get(self.control.len().checked_sub(1 + depth as usize)?)?;
        Some((f.block, f.kind))
    }
}

impl Body<'_> {
    fn pop(&mut self) -> Value {
        let floor = self.control.last().map_or(0, |f| f.height);
        if self.stack.len() > floor { self.stack.pop().unwrap_or(Value::Other) } else { Value::Other }
    }

    fn is_static(&self, a: u64) -> bool {
        self.statics.contains(&(a.min(u32::MAX as u64) as u32))
    }

    /// A load or store at `address + offset`: `Err` when it follows a pointer loaded from static data (a small
    /// offset: a field of what the pointer points at, not a static array indexed by it); else whether the
    /// address is in static data (a fixed one, or an element of a static array).
    fn access(&self, address: Value, offset: u64) -> Result<bool, ()> {
        match address {
            Value::Pointer if !self.is_static(offset) => Err(()),
            Value::Frame(_) | Value::FrameArray => Ok(false),
            Value::Const(c) => Ok(self.is_static(c as u64 + offset)),
            Value::Indexed => Ok(true),
            _ => Ok(self.is_static(offset)),
        }
    }

    fn arity(&self, block: BlockType) -> (usize, usize) {
        self.block_type_arity(block).map_or((0, 0), |(p, r)| (p as usize, r as usize))
    }

    fn enter(&mut self, block: BlockType, kind: FrameKind) {
        let (params, _) = self.arity(block);
        let height = self.stack.len().saturating_sub(params);
        self.control.push(Frame { height, block, kind });
    }

    /// An `if`'s `else`: the stack as the `if` found it.
    fn else_branch(&mut self) -> Option<()> {
        let (params, _) = self.arity(self.control.last()?.block);
        let f = self.control.last_mut()?;
        f.kind = FrameKind::Else;
        let height = f.height;
        self.stack.truncate(height);
        self.stack.extend(std::iter::repeat_n(Value::Other, params));
        Some(())
    }

    /// After a branch, `return` or `unreachable`: nothing runs until the frame's `end` (or `else`).
    fn kill(&mut self) {
        if let Some(f) = self.control.last() {
            self.stack.truncate(f.height);
        }
    }
}

/// Whether the module's code may keep a heap in its static data (see the module comment): `Some(why)` when it may,
/// `None` when every function was read and none does.
pub(crate) fn static_heap_use(bytes: &[u8], info: &ModuleInfo) -> Option<String> {
    let statics = info.static_start().min(u32::MAX as u64) as u32
        ..info.memories.first().map_or(0, |m| m.initial_pages.saturating_mul(65536)).min(u32::MAX as u64) as u32;
    let mut types = Types { subs: Vec::new(), funcs: Vec::new() };
    let mut bodies = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        let Ok(payload) = payload else { return Some("the module does not parse".into()) };
        match payload {
            Payload::TypeSection(r) => {
                for group in r.into_iter() {
                    let Ok(group) = group else { return Some("the type section does not parse".into()) };
                    types.subs.extend(group.into_types());
                }
            }
            Payload::ImportSection(r) => {
                for i in r.into_imports() {
                    if let Ok(wasmparser::Import { ty: wasmparser::TypeRef::Func(t), .. }) = i {
                        types.funcs.push(t);
                    }
                }
            }
            Payload::FunctionSection(r) => {
                for t in r {
                    let Ok(t) = t else { return Some("the function section does not parse".into()) };
                    types.funcs.push(t);
                }
            }
            Payload::CodeSectionEntry(body) => bodies.push(body),
            _ => {}
        }
    }
    // What each function's parameters may be, joined over its direct call sites (a pool's state handed to the
    // functions that work on it: umm_malloc's `umm_heap *`); exported and indirectly called ones get numbers.
    let nimp = info.num_imported_funcs;
    let mutable: Vec<bool> = info.globals.iter().map(|g| g.mutable).collect();
    let mut params: Vec<Vec<Value>> = Vec::new();
    for _ in 0..16 {
        let mut calls = Calls { params: params.clone(), changed: false };
        for (i, body) in bodies.iter().enumerate() {
            let func = nimp + i as u32;
            if let Some(why) = function(&types, statics.clone(), info.stack_pointer(), &mutable, func, body, &mut calls) {
                return Some(why);
            }
        }
        if !calls.changed {
            return None;
        }
        params = calls.params;
    }
    Some("the values handed from function to function never settle".into())
}

/// The values direct calls hand each function (by function index, then parameter), as the last pass left them.
struct Calls {
    params: Vec<Vec<Value>>,
    changed: bool,
}

impl Calls {
    fn param(&self, func: u32, i: usize) -> Value {
        self.params.get(func as usize).and_then(|p| p.get(i)).copied().unwrap_or(Value::Other)
    }

    fn call(&mut self, func: u32, args: &[Value]) {
        let f = func as usize;
        if self.params.len() <= f {
            self.params.resize(f + 1, Vec::new());
        }
        let p = &mut self.params[f];
        if p.len() < args.len() {
            // First seen: what this call hands it (numbers from elsewhere are no addresses either way).
            p.resize(args.len(), Value::Const(0));
        }
        for (a, &v) in p.iter_mut().zip(args) {
            let j = if *a == Value::Const(0) && v != Value::Const(0) { v } else { a.join(v) };
            // Only what matters: whether a parameter may be an address of static data.
            let j = match j {
                Value::Pointer | Value::Indexed => j,
                Value::Const(c) => Value::Const(c),
                _ => Value::Other,
            };
            if j != *a {
                *a = j;
                self.changed = true;
            }
        }
    }
}

fn function(
    types: &Types,
    statics: std::ops::Range<u32>,
    sp: Option<u32>,
    mutable: &[bool],
    func: u32,
    body: &wasmparser::FunctionBody<'_>,
    calls: &mut Calls,
) -> Option<String> {
    let unknown = |what: &str| Some(format!("func {func} has code this reading does not follow ({what})"));
    let Some(ty) = types.funcs.get(func as usize).and_then(|&t| types.subs.get(t as usize)) else { return unknown("its type") };
    let wasmparser::CompositeInnerType::Func(fty) = &ty.composite_type.inner else { return unknown("its type") };
    let nresults = fty.results().len();
    let mut start: Vec<Value> = (0..fty.params().len()).map(|i| calls.param(func, i)).collect();
    let Ok(reader) = body.get_locals_reader() else { return unknown("its locals") };
    for l in reader {
        let Ok((n, _)) = l else { return unknown("its locals") };
        // Locals start at zero, which is no address.
        start.extend(std::iter::repeat_n(Value::Const(0), n as usize));
    }
    let returns_address = |v: &[Value]| v.iter().any(|v| matches!(v, Value::Pointer | Value::Indexed));
    // The locals' values where each loop starts (by the loop's operator number), joined over the passes: a pass
    // that raises one runs again (each can only rise: Const → Other → Indexed → Pointer).
    let mut loops: std::collections::HashMap<usize, Vec<Value>> = Default::default();
    // What the frame's slots were given, over the whole body and the passes (unoptimised code gives a slot one
    // variable: it need not be followed through the control flow).
    let mut slots: std::collections::HashMap<i64, Value> = Default::default();
    for _ in 0..64 {
        let mut changed = false;
        let mut b = Body { types, statics: statics.clone(), stack: Vec::new(), control: Vec::new() };
        b.control.push(Frame { height: 0, block: BlockType::FuncType(types.funcs[func as usize]), kind: FrameKind::Block });
        // Per frame: the locals where it was entered (an `if`'s `else` starts from them), what branches to its end
        // carry, and its loop's operator number.
        let mut frames: Vec<(Option<Vec<Value>>, Option<Vec<Value>>, Option<usize>)> = vec![(Some(start.clone()), None, None)];
        // The locals now: None in code no path reaches.
        let mut locals: Option<Vec<Value>> = Some(start.clone());
        let join = |into: &mut Option<Vec<Value>>, from: &[Value]| match into {
            Some(v) => v.iter_mut().zip(from).for_each(|(a, b)| *a = a.join(*b)),
            None => *into = Some(from.to_vec()),
        };
        let Ok(ops) = body.get_operators_reader() else { return unknown("its code") };
        for (at, op) in ops.into_iter().enumerate() {
            let Ok(op) = op else { return unknown("its code") };
            if b.control.is_empty() {
                break;
            }
            // A branch to frame `depth`: its end (a block, an if) or its start again (a loop) gets the locals.
            let mut branch = |depth: u32, locals: &[Value], frames: &mut Vec<(Option<Vec<Value>>, Option<Vec<Value>>, Option<usize>)>| -> Option<()> {
                let i = frames.len().checked_sub(1 + depth as usize)?;
                match frames[i].2 {
                    Some(l) => {
                        let header = loops.get_mut(&l)?;
                        for (a, b) in header.iter_mut().zip(locals) {
                            let j = a.join(*b);
                            changed |= j != *a;
                            *a = j;
                        }
                    }
                    None => join(&mut frames[i].1, locals),
                }
                Some(())
            };
            let Some(now) = locals.as_mut() else {
                // Unreachable code: only its structure matters.
                match op {
                    Operator::Block { blockty } | Operator::Loop { blockty } | Operator::If { blockty } => {
                        b.control.push(Frame { height: b.stack.len(), block: blockty, kind: FrameKind::Block });
                        frames.push((None, None, None));
                    }
                    Operator::Else => {
                        b.else_branch()?;
                        // The `if` was reached: its `else` is.
                        locals = frames.last()?.0.clone();
                    }
                    Operator::End => {
                        let f = b.control.pop()?;
                        let (entry, exit, _) = frames.pop()?;
                        let (_, n) = b.arity(f.block);
                        b.stack.truncate(f.height);
                        b.stack.extend(std::iter::repeat_n(Value::Other, n));
                        // An `if` without `else` that was reached goes on when its condition is false.
                        let mut after = exit;
                        if let (FrameKind::If, Some(entry)) = (f.kind, &entry) {
                            join(&mut after, entry);
                        }
                        locals = after;
                    }
                    _ => {}
                }
                continue;
            };
            match op {
                Operator::I32Const { value } => b.stack.push(Value::Const(value as u32)),
                Operator::GlobalGet { global_index } if Some(global_index) == sp => b.stack.push(Value::Frame(0)),
                // Another mutable global may hold an address the module keeps (a bump's `top`).
                Operator::GlobalGet { global_index } if mutable.get(global_index as usize) == Some(&true) => b.stack.push(Value::Pointer),
                Operator::LocalGet { local_index } => b.stack.push(*now.get(local_index as usize)?),
                Operator::LocalSet { local_index } | Operator::LocalTee { local_index } => {
                    let v = b.pop();
                    *now.get_mut(local_index as usize)? = v;
                    if matches!(op, Operator::LocalTee { .. }) {
                        b.stack.push(v);
                    }
                }
                Operator::I32Load { memarg } => {
                    let a = b.pop();
                    if let Some(k) = slot(a, memarg.offset) {
                        let array = slots.get(&i64::MIN).copied().unwrap_or(Value::Other);
                        b.stack.push(slots.get(&k).copied().unwrap_or(Value::Other).join(array));
                        continue;
                    }
                    match b.access(a, memarg.offset) {
                        Err(()) => return Some(format!("func {func} follows a pointer it read from static data")),
                        // A word of static data, or the next pointer of a chain.
                        Ok(true) => b.stack.push(Value::Pointer),
                        Ok(false) => b.stack.push(Value::Other),
                    }
                }
                Operator::I32Store { memarg } => {
                    let (v, a) = (b.pop(), b.pop());
                    if let Some(k) = slot(a, memarg.offset) {
                        let e = slots.entry(k).or_insert(v);
                        let j = e.join(v);
                        changed |= j != *e;
                        *e = j;
                        continue;
                    }
                    let Ok(to_static) = b.access(a, memarg.offset) else {
                        return Some(format!("func {func} writes through a pointer it read from static data"));
                    };
                    // An address of a static array kept in memory (a pool's free list: `free = &slots[0]`), or a
                    // word of static data written where the code did not name (`block->next = free`); a hash's
                    // state words go back to the state.
                    if v == Value::Indexed || (v == Value::Pointer && !to_static) {
                        return Some(format!("func {func} keeps an address of static data in memory"));
                    }
                }
                // Any other load or store: where it points is checked; what it reads is a number.
                _ if memarg_offset(&op).is_some() => {
                    let store = is_store(&op);
                    if store {
                        b.pop();
                    }
                    let a = b.pop();
                    if b.access(a, memarg_offset(&op).unwrap_or(0)).is_err() {
                        let what = if store { "writes through" } else { "follows" };
                        return Some(format!("func {func} {what} a pointer it read from static data"));
                    }
                    if !store {
                        b.stack.push(Value::Other);
                    }
                }
                Operator::MemoryCopy { .. } | Operator::MemoryFill { .. } => {
                    let (_, src, dst) = (b.pop(), b.pop(), b.pop());
                    let through = |v| v == Value::Pointer;
                    if through(dst) || (matches!(op, Operator::MemoryCopy { .. }) && through(src)) {
                        return Some(format!("func {func} copies through a pointer it read from static data"));
                    }
                }
                Operator::I32Add | Operator::I32Sub | Operator::I32And => {
                    let (y, x) = (b.pop(), b.pop());
                    let stat = |v: Value| matches!(v, Value::Const(c) if statics.contains(&c));
                    let v = match (op, x, y) {
                        (Operator::I32Add, Value::Const(p), Value::Const(q)) => Value::Const(p.wrapping_add(q)),
                        (Operator::I32Sub, Value::Const(p), Value::Const(q)) => Value::Const(p.wrapping_sub(q)),
                        (Operator::I32And, Value::Const(p), Value::Const(q)) => Value::Const(p & q),
                        (Operator::I32Add, Value::Frame(k), Value::Const(c)) | (Operator::I32Add, Value::Const(c), Value::Frame(k)) => {
                            Value::Frame(k.wrapping_add(c as i32))
                        }
                        (Operator::I32Sub, Value::Frame(k), Value::Const(c)) => Value::Frame(k.wrapping_sub(c as i32)),
                        (Operator::I32And, Value::Frame(k), Value::Const(_)) => Value::Frame(k),
                        (Operator::I32Add | Operator::I32Sub, Value::Frame(_) | Value::FrameArray, _)
                        | (Operator::I32Add, _, Value::Frame(_) | Value::FrameArray) => Value::FrameArray,
                        // A static array indexed by whatever (`buf + len`, len a word of static data): no pointer
                        // adds an address to an address.
                        (Operator::I32Add, a, c) if stat(a) || stat(c) => Value::Indexed,
                        // `p + n`, `p - n`, `p & ~7`; not `n - p` (a distance).
                        (_, Value::Pointer, _) => Value::Pointer,
                        (Operator::I32Add | Operator::I32And, _, Value::Pointer) => Value::Pointer,
                        (Operator::I32Add, Value::Indexed, _) | (Operator::I32Add, _, Value::Indexed) => Value::Indexed,
                        (Operator::I32Sub, Value::Indexed, _) => Value::Indexed,
                        _ => Value::Other,
                    };
                    b.stack.push(v);
                }
                Operator::Select | Operator::TypedSelect { .. } => {
                    let (_, y, x) = (b.pop(), b.pop(), b.pop());
                    b.stack.push(x.join(y));
                }
                Operator::Call { function_index } => {
                    let callee = types.funcs.get(function_index as usize).and_then(|&t| types.subs.get(t as usize));
                    let Some(wasmparser::CompositeInnerType::Func(ct)) = callee.map(|c| &c.composite_type.inner) else {
                        return unknown("a call");
                    };
                    let mut args: Vec<Value> = (0..ct.params().len()).map(|_| b.pop()).collect();
                    args.reverse();
                    calls.call(function_index, &args);
                    b.stack.extend(std::iter::repeat_n(Value::Other, ct.results().len()));
                }
                Operator::Block { blockty } | Operator::If { blockty } => {
                    let kind = if matches!(op, Operator::If { .. }) {
                        b.pop();
                        FrameKind::If
                    } else {
                        FrameKind::Block
                    };
                    b.enter(blockty, kind);
                    frames.push((Some(now.clone()), None, None));
                }
                Operator::Loop { blockty } => {
                    b.enter(blockty, FrameKind::Loop);
                    let header = loops.entry(at).or_insert_with(|| now.clone());
                    for (a, c) in header.iter_mut().zip(now.iter_mut()) {
                        *a = a.join(*c);
                        *c = *a;
                    }
                    frames.push((Some(now.clone()), None, Some(at)));
                }
                Operator::Else => {
                    let done = now.clone();
                    let f = frames.last_mut()?;
                    join(&mut f.1, &done);
                    locals = Some(f.0.clone()?);
                    b.else_branch()?;
                }
                Operator::End => {
                    let f = b.control.pop()?;
                    let (entry, exit, _) = frames.pop()?;
                    let (_, n) = b.arity(f.block);
                    let top: Vec<Value> = b.stack[b.stack.len().saturating_sub(n).max(f.height)..].to_vec();
                    if b.control.is_empty() && returns_address(&top) {
                        return Some(format!("func {func} returns an address in static data"));
                    }
                    b.stack.truncate(f.height);
                    b.stack.extend(top.iter().copied().chain(std::iter::repeat(Value::Other)).take(n));
                    let mut after = exit;
                    join(&mut after, now);
                    if let (FrameKind::If, Some(entry)) = (f.kind, &entry) {
                        join(&mut after, entry);
                    }
                    locals = after;
                }
                Operator::Return => {
                    if returns_address(&b.stack[b.stack.len().saturating_sub(nresults)..]) {
                        return Some(format!("func {func} returns an address in static data"));
                    }
                    b.kill();
                    locals = None;
                }
                Operator::Br { relative_depth } | Operator::BrIf { relative_depth } => {
                    if matches!(op, Operator::BrIf { .. }) {
                        b.pop();
                    }
                    // A branch out of the function's own block returns what is on the stack.
                    if relative_depth as usize + 1 == b.control.len() && returns_address(&b.stack[b.stack.len().saturating_sub(nresults)..]) {
                        return Some(format!("func {func} returns an address in static data"));
                    }
                    let here = now.clone();
                    branch(relative_depth, &here, &mut frames)?;
                    if matches!(op, Operator::Br { .. }) {
                        b.kill();
                        locals = None;
                    }
                }
                Operator::BrTable { targets } => {
                    b.pop();
                    if returns_address(&b.stack[b.stack.len().saturating_sub(nresults)..]) {
                        return Some(format!("func {func} may return an address in static data"));
                    }
                    let here = now.clone();
                    for t in targets.targets().chain(std::iter::once(Ok(targets.default()))) {
                        branch(t.ok()?, &here, &mut frames)?;
                    }
                    b.kill();
                    locals = None;
                }
                Operator::Unreachable => {
                    b.kill();
                    locals = None;
                }
                _ => {
                    // Anything else: its operands are consumed, its results are no addresses.
                    if !is_plain(&op) {
                        return unknown(&format!("{op:?}"));
                    }
                    let Some((pops, pushes)) = op.operator_arity(&b) else { return unknown("an operator of unknown arity") };
                    for _ in 0..pops {
                        b.pop();
                    }
                    b.stack.extend(std::iter::repeat_n(Value::Other, pushes as usize));
                }
            }
        }
        if !changed {
            return None;
        }
    }
    unknown("loops whose locals never settle")
}

/// Operators that only compute numbers from their operands, or call: no memory access, no control flow of their own.
fn is_plain(op: &Operator<'_>) -> bool {
    use Operator::*;
    match op {
        Nop | Drop | GlobalGet { .. } | GlobalSet { .. } | Call { .. } | CallIndirect { .. } | MemorySize { .. } | MemoryGrow { .. }
        | I64Const { .. } | F32Const { .. } | F64Const { .. } | RefNull { .. } | RefIsNull | RefFunc { .. } => true,
        // Tail calls return what the callee returns: nothing of this function's static data.
        ReturnCall { .. } | ReturnCallIndirect { .. } => false,
        _ => {
            // Numeric operators: no immediate but their opcode (comparisons, arithmetic, conversions).
            let name = format!("{op:?}");
            let numeric = ["I32", "I64", "F32", "F64"].iter().any(|p| name.starts_with(p));
            numeric && !name.contains("Load") && !name.contains("Store") && !name.contains("Atomic") && !name.contains('{')
        }
    }
}

