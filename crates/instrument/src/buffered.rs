//! Buffered hooks: the allocator wrappers record events into a memory of their own instead of calling the
//! host for each one. A host call costs more than the allocation it reports (wasmtime: ~15 ns, two of them
//! for a checked free), so an allocation-heavy program ran at twice its speed; here an event is a few stores.
//!
//! Two memories are added (multi-memory), after the module's own:
//! - `wasmleak:events`: a ring of [`RING_SEGMENTS`] segments of [`CAPACITY`] event records of 16 bytes at 0 —
//!   `(old block, new block, size, stack)`, read as `realloc(old, new, size)` (an allocation has `old` 0) — or,
//!   with [`FREE_RECORD`] set in `stack`, a free with the block's first four words as they were before the
//!   allocator ran (where the owner of a block that becomes lost keeps its pointer), in two records. The wrappers
//!   write at record `count` up to `limit` (globals), one segment; the host hands a full segment to its heap model
//!   where it lies, no copy, and gives the wrappers the next one free — the ring lets the model read segments while
//!   the guest writes others. Then, at
//!   [`TABLE_BASE`], the calling-context table: 16-byte entries `(ctx: i64, stack + 1: i32, 0)`; stack 0 is
//!   an empty entry, `u32::MAX` a context that stands for more than one stack (the host walks it every time).
//! - `wasmleak:live`: one bit per 4-byte word of the main memory, set for each live block that starts there,
//!   so a free is checked against the live set without leaving the module. It is sized for the whole 4 GiB
//!   address space (128 MiB) so no access needs a bounds check; pages never touched cost no memory.
//!
//! The host is called only when it must be: the buffer is full (`flush`; now and then the host also walks the
//! stack then and compares it with the table's, to catch a collision of ids), a calling context not seen before
//! (`ctx_new`, which walks the real stack once and fills the table), a free of something the bitmap does not hold
//! (`check`: an invalid free, or a block at an address that is not 4-aligned), and events on such addresses
//! (the `_ctx` hooks, per event). Every host call first drains the buffer, so the host sees events in order.

use wasm_encoder::{BlockType, ExportKind, ExportSection, Function, Instruction as I, MemArg, MemorySection, MemoryType, ValType};

use crate::allocator::{Role, REALLOC_HEADER};
use crate::rewrite::Hooks;

/// Set in a record's stack: a free, written as [`FREE_RAW`] says. Modules instrumented before that wrote
/// `(block, a, b, stack)`, `a` and `b` the addresses of live blocks the freed block's first words held, as
/// `address | word index` (0: none), and with [`FREE_MORE`] too, the next record is `(c, d, 0, 0)`, two more.
pub const FREE_RECORD: u32 = 1 << 31;
pub const FREE_MORE: u32 = 1 << 30;
/// Set in a free record's stack (with [`FREE_RECORD`]): `(block, w0, w1, stack)` then `(w2, w3, _, _)`, the
/// freed block's first four words as they were, whether or not they hold a live block's address (the wrappers
/// of modules instrumented before this filtered them; the heap model does now, on its own thread). Stacks are
/// ids below 2²⁹.
pub const FREE_RAW: u32 = 1 << 29;
/// Event records in a segment of the ring (the whole buffer of modules instrumented before the ring).
pub const CAPACITY: u32 = 4096;
/// Segments in the ring: 8 MiB of records, room for the heap model to lag the guest by ~500,000 events.
pub const RING_SEGMENTS: u32 = 128;
/// Bytes per event record and per table entry.
pub const RECORD: u32 = 16;
/// Where the calling-context table starts in the events memory: after the ring.
pub const TABLE_BASE: u32 = RING_SEGMENTS * CAPACITY * RECORD;
/// Where it started in modules instrumented before the ring (no `wasmleak:limit` export): after one segment.
pub const TABLE_BASE_BEFORE_RING: u32 = CAPACITY * RECORD;
/// Table entries at first (the host doubles the table, and grows the memory, past half full).
pub const INITIAL_TABLE: u32 = 4096;
/// One event in about this many has its context's stack verified by a walk (~3 µs): by the host at a flush (the
/// `verify` import, one table lookup in this many, is what modules instrumented before called).
pub const VERIFY_EVERY: u32 = 1 << 16;
/// Pages of the live bitmap: one bit per 4 bytes of a 32-bit address space.
const LIVE_PAGES: u64 = (1 << 32) / 32 / 65536;
/// The declared maximum sizes of the two memories, in pages: odd numbers no toolchain writes, so a host's memory
/// limit (`--max-memory`) can tell them from the guest's own (wasmtime's limiter is not told which memory grows).
pub const LIVE_MAX_PAGES: u64 = LIVE_PAGES + 1;
pub const EVENTS_MAX_PAGES: u64 = 16_411;
/// What the one-entry context cache holds before any lookup (a context id, like any other, is a 64-bit hash).
pub const NO_CONTEXT: i64 = 0x5bd1_e995_7f4a_7c15;

pub const EVENTS_EXPORT: &str = "wasmleak:events";
pub const LIVE_EXPORT: &str = "wasmleak:live";
pub const COUNT_EXPORT: &str = "wasmleak:count";
/// The end of the segment the wrappers write (a record index, as `count` is).
pub const LIMIT_EXPORT: &str = "wasmleak:limit";
pub const MASK_EXPORT: &str = "wasmleak:mask";
/// The one-entry context cache's context, which the host clears when it finds that context ambiguous.
pub const CACHED_EXPORT: &str = "wasmleak:cached";
/// The calling-context global (every module instrumented with contexts exports it).
pub const CTX_EXPORT: &str = "wasmleak:ctx";

/// Indices of what the buffered wrappers use.
pub(crate) struct Buffer {
    pub events: u32,
    pub live: u32,
    /// Globals: records in the buffer, the table's capacity − 1, and the last context looked up with its stack
    /// (consecutive events mostly share one). (The global between `mask` and `last_ctx` was the wrappers'
    /// verification countdown: the host verifies at flushes now.)
    pub count: u32,
    pub limit: u32,
    /// Where the context table starts: [`TABLE_BASE`], or [`TABLE_BASE_BEFORE_RING`] (and no `limit` export).
    pub table_base: u32,
    pub mask: u32,
    pub last_ctx: u32,
    pub last_stack: u32,
    /// Hook imports.
    pub flush: u32,
    pub ctx_new: u32,
    /// When an aligned allocation is inlined into a caller of malloc (statics.rs `splits_after_malloc`).
    pub split: Option<Split>,
}

/// The split watch: `malloc`'s wrapper keeps the block it returned and the chunk header before it (globals); the
/// next wrapper to run compares the header, and a changed one goes to the host (`split(block, header, at) ->
/// leader`: the block moved to its aligned part; 1 when this very event — a free of `at` — is the allocator
/// giving the leader back through the hooked free, which is then not the program's).
#[derive(Clone, Copy)]
pub(crate) struct Split {
    pub hook: u32,
    pub last_block: u32,
    pub last_head: u32,
}

/// The two memories, appended to the module's memory section.
pub(crate) fn memories(s: &mut MemorySection, table_base: u32) {
    let pages = (table_base + INITIAL_TABLE * RECORD).div_ceil(65536) as u64;
    let memory = |minimum, maximum| MemoryType { minimum, maximum: Some(maximum), memory64: false, shared: false, page_size_log2: None };
    s.memory(memory(pages, EVENTS_MAX_PAGES));
    s.memory(memory(LIVE_PAGES, LIVE_MAX_PAGES));
}

impl Buffer {
    pub(crate) fn exports(&self, s: &mut ExportSection) {
        s.export(EVENTS_EXPORT, ExportKind::Memory, self.events);
        s.export(LIVE_EXPORT, ExportKind::Memory, self.live);
        s.export(COUNT_EXPORT, ExportKind::Global, self.count);
        if self.table_base == TABLE_BASE {
            s.export(LIMIT_EXPORT, ExportKind::Global, self.limit);
        }
        s.export(MASK_EXPORT, ExportKind::Global, self.mask);
        s.export(CACHED_EXPORT, ExportKind::Global, self.last_ctx);
    }

    fn mem(&self, memory_index: u32, offset: u64, align: u32) -> MemArg {
        MemArg { offset, align, memory_index }
    }
}

/// The wrapper's locals after its parameters.
#[derive(Clone, Copy)]
struct Locals {
    /// The wrapped function's result.
    r: u32,
    /// The calling context at entry.
    c: u32,
    /// Old block, new block, size: the event.
    o: u32,
    b: u32,
    n: u32,
    /// The event's stack.
    st: u32,
    /// Scratch: table slot, then byte offsets.
    i: u32,
    e: u32,
    /// The split watch's answer (`settle`).
    settled: u32,
    /// A freed block's first and second pairs of words, each loaded and stored as one i64 (i64 locals).
    h01: u32,
    h23: u32,
}

struct Emit<'a> {
    f: Function,
    b: &'a Buffer,
    h: &'a Hooks,
    l: Locals,
    ctx: u32,
    /// The wrapper a direct call calls: the context global holds the caller's id, not the event's (`c`).
    site: bool,
}

impl Emit<'_> {
    fn i(&mut self, ins: I<'_>) -> &mut Self {
        self.f.instruction(&ins);
        self
    }

    fn ctx_halves(&mut self) {
        let c = self.l.c;
        self.i(I::LocalGet(c)).i(I::I32WrapI64);
        self.i(I::LocalGet(c)).i(I::I64Const(32)).i(I::I64ShrU).i(I::I32WrapI64);
    }

    /// Pushes the address of `p`'s byte in the live bitmap.
    fn bit_byte(&mut self, p: u32) {
        self.i(I::LocalGet(p)).i(I::I32Const(5)).i(I::I32ShrU);
    }

    /// Pushes `1 << bit of p`.
    fn bit_mask(&mut self, p: u32) {
        self.i(I::I32Const(1)).i(I::LocalGet(p)).i(I::I32Const(2)).i(I::I32ShrU).i(I::I32Const(7)).i(I::I32And);
        self.i(I::I32Shl);
    }

    /// Pushes non-zero when a live block starts at `p` and `p` is 4-aligned (the bitmap holds no other).
    fn is_live(&mut self, p: u32) {
        let byte = self.b.mem(self.b.live, 0, 0);
        self.i(I::LocalGet(p)).i(I::I32Const(3)).i(I::I32And).i(I::I32Eqz);
        self.bit_byte(p);
        self.i(I::I32Load8U(byte));
        self.i(I::LocalGet(p)).i(I::I32Const(2)).i(I::I32ShrU).i(I::I32Const(7)).i(I::I32And).i(I::I32ShrU);
        self.i(I::I32And);
    }

    /// Pushes non-zero when a live block starts at `p` and `p` is 4-aligned, and leaves what clearing its bit
    /// needs in `i` (the bitmap byte's address), `e` (the byte) and `n` (the bit): a free reads the byte once.
    fn find_bit(&mut self, p: u32) {
        let l = self.l;
        let byte = self.b.mem(self.b.live, 0, 0);
        self.bit_byte(p);
        self.i(I::LocalTee(l.i)).i(I::I32Load8U(byte)).i(I::LocalSet(l.e));
        self.bit_mask(p);
        self.i(I::LocalSet(l.n));
        self.i(I::I32Const(0)).i(I::LocalGet(l.e)).i(I::LocalGet(l.n)).i(I::I32And);
        self.i(I::LocalGet(p)).i(I::I32Const(3)).i(I::I32And).i(I::Select);
    }

    /// Clears the bit [`Self::find_bit`] found.
    fn clear_found_bit(&mut self) {
        let l = self.l;
        self.i(I::LocalGet(l.i)).i(I::LocalGet(l.e)).i(I::LocalGet(l.n)).i(I::I32Xor);
        self.i(I::I32Store8(self.b.mem(self.b.live, 0, 0)));
    }

    /// Clears `p`'s bit (a 4-aligned address the bitmap holds).
    fn clear_bit(&mut self, p: u32) {
        let byte = self.b.mem(self.b.live, 0, 0);
        self.bit_byte(p);
        self.bit_byte(p);
        self.i(I::I32Load8U(byte));
        self.bit_mask(p);
        self.i(I::I32Const(-1)).i(I::I32Xor).i(I::I32And).i(I::I32Store8(byte));
    }

    /// Sets `p`'s bit (4-aligned, non-zero).
    fn set_bit(&mut self, p: u32) {
        let byte = self.b.mem(self.b.live, 0, 0);
        self.bit_byte(p);
        self.bit_byte(p);
        self.i(I::I32Load8U(byte));
        self.bit_mask(p);
        self.i(I::I32Or).i(I::I32Store8(byte));
    }

    /// `st` = the stack of the calling context `c`: the last one's, or from the table, or from the host when
    /// not there.
    fn lookup(&mut self) {
        let (b, l) = (self.b, self.l);
        let ev = b.events;
        self.i(I::LocalGet(l.c)).i(I::GlobalGet(b.last_ctx)).i(I::I64Eq).i(I::If(BlockType::Empty));
        self.i(I::GlobalGet(b.last_stack)).i(I::LocalSet(l.st));
        self.i(I::Else);
        self.i(I::LocalGet(l.c)).i(I::I32WrapI64).i(I::LocalGet(l.c)).i(I::I64Const(32)).i(I::I64ShrU);
        self.i(I::I32WrapI64).i(I::I32Xor).i(I::GlobalGet(b.mask)).i(I::I32And).i(I::LocalSet(l.i));
        self.i(I::Block(BlockType::Empty)).i(I::Loop(BlockType::Empty));
        self.i(I::LocalGet(l.i)).i(I::I32Const(4)).i(I::I32Shl).i(I::I32Const(b.table_base as i32)).i(I::I32Add);
        self.i(I::LocalTee(l.e)).i(I::I32Load(b.mem(ev, 8, 2))).i(I::LocalTee(l.st)).i(I::I32Eqz);
        self.i(I::If(BlockType::Empty));
        self.ctx_halves();
        self.i(I::Call(b.ctx_new)).i(I::LocalSet(l.st)).i(I::Br(2)).i(I::End);
        self.i(I::LocalGet(l.e)).i(I::I64Load(b.mem(ev, 0, 3))).i(I::LocalGet(l.c)).i(I::I64Eq);
        self.i(I::If(BlockType::Empty));
        self.i(I::LocalGet(l.st)).i(I::I32Const(-1)).i(I::I32Eq);
        self.i(I::If(BlockType::Empty));
        self.ctx_halves();
        self.i(I::Call(b.ctx_new)).i(I::LocalSet(l.st));
        self.i(I::Else);
        // Found: remember it for the next event.
        self.i(I::LocalGet(l.st)).i(I::I32Const(1)).i(I::I32Sub).i(I::LocalTee(l.st)).i(I::GlobalSet(b.last_stack));
        self.i(I::LocalGet(l.c)).i(I::GlobalSet(b.last_ctx));
        self.i(I::End);
        self.i(I::Br(2)).i(I::End);
        self.i(I::LocalGet(l.i)).i(I::I32Const(1)).i(I::I32Add).i(I::GlobalGet(b.mask)).i(I::I32And);
        self.i(I::LocalSet(l.i)).i(I::Br(0));
        self.i(I::End).i(I::End);
        self.i(I::End);
    }

    /// `e` = the byte offset of the next record, after draining a buffer with no room for `room` more.
    fn next_record(&mut self, room: u32) {
        let (b, l) = (self.b, self.l);
        self.i(I::GlobalGet(b.count));
        if room > 1 {
            self.i(I::I32Const(room as i32 - 1)).i(I::I32Add);
        }
        self.i(I::GlobalGet(b.limit)).i(I::I32GeU);
        self.i(I::If(BlockType::Empty));
        if self.site {
            // The host verifies the context the global holds during a flush: the event's, for that call.
            let g = self.ctx;
            self.i(I::GlobalGet(g)).i(I::LocalGet(l.c)).i(I::GlobalSet(g));
            self.i(I::Call(b.flush)).i(I::GlobalSet(g));
        } else {
            self.i(I::Call(b.flush));
        }
        self.i(I::End);
        self.i(I::GlobalGet(b.count)).i(I::I32Const(4)).i(I::I32Shl).i(I::LocalSet(l.e));
    }

    /// Stores a record at `e + at`: the locals' values, 0 for `None`.
    fn store_record(&mut self, at: u64, values: [Option<u32>; 4]) {
        let (b, l) = (self.b, self.l);
        for (k, v) in values.into_iter().enumerate() {
            self.i(I::LocalGet(l.e));
            match v {
                Some(v) => self.i(I::LocalGet(v)),
                None => self.i(I::I32Const(0)),
            };
            self.i(I::I32Store(b.mem(b.events, at + 4 * k as u64, 2)));
        }
    }

    /// `count += 1`, or `+=` the value on the stack when `extra`.
    fn count_records(&mut self, extra: bool) {
        let b = self.b;
        self.i(I::GlobalGet(b.count));
        if extra {
            self.i(I::I32Add);
        } else {
            self.i(I::I32Const(1)).i(I::I32Add);
        }
        self.i(I::GlobalSet(b.count));
    }

    /// Appends the event `(o, b, n, st)` to the buffer (the host drains a full one).
    fn record(&mut self) {
        let l = self.l;
        self.next_record(1);
        self.store_record(0, [Some(l.o), Some(l.b), Some(l.n), Some(l.st)]);
        self.count_records(false);
    }

    /// `h01`, `h23` = the first four words of the block at `p` (two i64 loads), 0 past the memory's end (a wrapper
    /// must never trap where the program did not). Which of them hold a live block's address the model decides: it
    /// sees the events in the same order, on its own thread.
    fn head_words(&mut self, p: u32) {
        let (l, main) = (self.l, |offset| MemArg { offset, align: 2, memory_index: 0 });
        let words = [l.h01, l.h23];
        for &w in &words {
            self.i(I::I64Const(0)).i(I::LocalSet(w));
        }
        // p < memory bytes − 16 (at 4 GiB the bytes wrap to 0, and 0 − 16 is the right bound).
        self.i(I::LocalGet(p));
        self.i(I::MemorySize(0)).i(I::I32Const(16)).i(I::I32Shl).i(I::I32Const(16)).i(I::I32Sub);
        self.i(I::I32LeU);
        self.i(I::If(BlockType::Empty));
        for (k, &w) in words.iter().enumerate() {
            self.i(I::LocalGet(p)).i(I::I64Load(main(8 * k as u64))).i(I::LocalSet(w));
        }
        self.i(I::End);
    }

    /// Appends a free with its block's first words: `(o, h01, st | FREE_RECORD | FREE_RAW)`, then `(h23, …)` —
    /// `(block, w0, w1, stack)` then `(w2, w3, _, _)` as [`FREE_RAW`] says (both in one buffer: the host drains
    /// whole buffers).
    fn record_free(&mut self) {
        let l = self.l;
        self.next_record(2);
        let ev = |offset| self.b.mem(self.b.events, offset, 2);
        let (at0, at4, at12, at16) = (ev(0), ev(4), ev(12), ev(16));
        self.i(I::LocalGet(l.e)).i(I::LocalGet(l.o)).i(I::I32Store(at0));
        self.i(I::LocalGet(l.e)).i(I::LocalGet(l.h01)).i(I::I64Store(at4));
        self.i(I::LocalGet(l.e)).i(I::LocalGet(l.st)).i(I::I32Const((FREE_RECORD | FREE_RAW) as i32)).i(I::I32Or);
        self.i(I::I32Store(at12));
        self.i(I::LocalGet(l.e)).i(I::LocalGet(l.h23)).i(I::I64Store(at16));
        self.i(I::I32Const(2));
        self.count_records(true);
    }

    /// The split watch at the start of an event about address `at`: when the last malloc's chunk header changed,
    /// the host decides; leaves its answer (1: the allocator is freeing a leader) in `settled`, 0 otherwise.
    fn settle(&mut self, at: u32) {
        let Some(sp) = self.b.split else { return };
        let l = self.l;
        self.i(I::I32Const(0)).i(I::LocalSet(l.settled));
        self.i(I::GlobalGet(sp.last_block)).i(I::If(BlockType::Empty));
        self.i(I::GlobalGet(sp.last_block)).i(I::I32Const(4)).i(I::I32Sub);
        self.i(I::I32Load(MemArg { offset: 0, align: 2, memory_index: 0 }));
        self.i(I::GlobalGet(sp.last_head)).i(I::I32Ne).i(I::If(BlockType::Empty));
        self.i(I::GlobalGet(sp.last_block)).i(I::GlobalGet(sp.last_head)).i(I::LocalGet(at)).i(I::Call(sp.hook));
        self.i(I::LocalSet(l.settled));
        self.i(I::End);
        self.i(I::I32Const(0)).i(I::GlobalSet(sp.last_block));
        self.i(I::End);
    }

    /// After a malloc recorded block `b` (8-aligned, past the first chunk header): remember it and its header.
    fn watch(&mut self, b: u32) {
        let Some(sp) = self.b.split else { return };
        self.i(I::LocalGet(b)).i(I::I32Const(7)).i(I::I32And).i(I::I32Eqz);
        self.i(I::LocalGet(b)).i(I::I32Const(8)).i(I::I32GeU).i(I::I32And);
        self.i(I::If(BlockType::Empty));
        self.i(I::LocalGet(b)).i(I::I32Const(4)).i(I::I32Sub);
        self.i(I::I32Load(MemArg { offset: 0, align: 2, memory_index: 0 })).i(I::GlobalSet(sp.last_head));
        self.i(I::LocalGet(b)).i(I::GlobalSet(sp.last_block));
        self.i(I::End);
    }

    fn if_outermost(&mut self, guard: u32) {
        self.i(I::GlobalGet(guard)).i(I::I32Eqz).i(I::If(BlockType::Empty));
    }

    /// `local = block address of pointer param/local p`: `p`, or `p - 8` (0 stays 0) with a header.
    fn block_of(&mut self, p: u32, header: bool, to: u32) {
        if header {
            self.i(I::LocalGet(p)).i(I::I32Const(REALLOC_HEADER)).i(I::I32Sub);
            self.i(I::I32Const(0)).i(I::LocalGet(p)).i(I::Select);
        } else {
            self.i(I::LocalGet(p));
        }
        self.i(I::LocalSet(to));
    }

    /// Return from the wrapper without calling the allocator (an invalid free): 0 from a realloc.
    fn skip(&mut self, nresults: usize) {
        if nresults == 1 {
            self.i(I::I32Const(0));
        }
        self.i(I::Return);
    }
}

/// The buffered form of `rewrite::wrapper`: same guard, same outermost-layer rule, same checked frees. `site`: the
/// variant a direct call calls, with its call site's constant as one more (i64) parameter (`context.rs`).
pub(crate) fn wrapper(role: Role, nparams: u32, wrapped: u32, guard: u32, hooks: &Hooks, b: &Buffer, site: bool) -> Function {
    let (_, nresults) = role.signature();
    let p = nparams + site as u32;
    let l = Locals { r: p, c: p + 1, o: p + 2, b: p + 3, n: p + 4, st: p + 5, i: p + 6, e: p + 7, settled: p + 8, h01: p + 9, h23: p + 10 };
    let ctx = hooks.ctx.expect("buffered hooks keep calling contexts");
    let f = Function::new([(1, ValType::I32), (1, ValType::I64), (7, ValType::I32), (2, ValType::I64)]);
    let mut w = Emit { f, b, h: hooks, l, ctx, site };
    // The context is read where the event is recorded: before the call for a free, after it for an allocation —
    // the wrapped function's own call sites restore the global as they return, so it is the caller's still, and
    // not keeping it across the call spares the wrapper a register (a spill and a reload an event).
    let records_after = !role.is_free();
    let read_ctx = |w: &mut Emit<'_>| {
        w.i(I::GlobalGet(w.ctx));
        if site {
            w.i(I::I64Const(3)).i(I::I64Mul).i(I::LocalGet(nparams)).i(I::I64Add);
        }
        w.i(I::LocalSet(l.c));
    };
    if !records_after {
        read_ctx(&mut w);
    }
    let call = |w: &mut Emit<'_>| {
        w.i(I::GlobalGet(guard)).i(I::I32Const(1)).i(I::I32Add).i(I::GlobalSet(guard));
        for k in 0..nparams {
            w.i(I::LocalGet(k));
        }
        w.i(I::Call(wrapped));
        if nresults == 1 {
            w.i(I::LocalSet(l.r));
        }
        w.i(I::GlobalGet(guard)).i(I::I32Const(1)).i(I::I32Sub).i(I::GlobalSet(guard));
        if records_after {
            read_ctx(w);
        }
    };
    let check = w.h.check.expect("buffered hooks check frees");
    match role {
        _ if role.is_free() => {
            let ptr = match role {
                Role::SelfFree | Role::DlFree | Role::GlobalDealloc => 1,
                Role::ZigFree => role.zig_param(nparams).0,
                _ => 0,
            };
            w.if_outermost(guard);
            let split = w.b.split.is_some();
            if split {
                // The allocator giving a split block's leader back: not the program's free, nothing recorded.
                w.settle(ptr);
                w.i(I::LocalGet(l.settled)).i(I::I32Eqz).i(I::If(BlockType::Empty));
            }
            w.i(I::LocalGet(ptr)).i(I::If(BlockType::Empty));
            w.find_bit(ptr);
            w.i(I::If(BlockType::Empty));
            w.clear_found_bit();
            w.i(I::LocalGet(ptr)).i(I::LocalSet(l.o));
            w.head_words(ptr);
            w.lookup();
            w.record_free();
            w.i(I::Else);
            // Not in the bitmap: an invalid free (the host records it; the allocator is not called), or a
            // block at an address that is not 4-aligned, which the host tracks itself.
            w.i(I::LocalGet(ptr)).i(I::Call(check)).i(I::I32Eqz).i(I::If(BlockType::Empty));
            w.skip(nresults);
            w.i(I::End);
            w.i(I::LocalGet(ptr));
            w.ctx_halves();
            w.i(I::Call(w.h.free));
            w.i(I::End).i(I::End);
            if split {
                w.i(I::End);
            }
            w.i(I::End);
            call(&mut w);
        }
        _ if role.is_realloc() => {
            let header = role == Role::HeaderRealloc;
            let (old, size) = match role {
                Role::Realloc | Role::HeaderRealloc => (0, 1),
                Role::RustRealloc => (0, 3),
                Role::DlRealloc => (1, 2),
                Role::ZigResize | Role::ZigRemap => role.zig_param(nparams),
                _ => (1, 4),
            };
            let resize = role == Role::ZigResize;
            w.if_outermost(guard);
            w.block_of(old, header, l.o);
            w.settle(l.o);
            // A Zig resize's pointer may be undefined (BrkAllocator's never reads it: an optimised caller passes
            // anything), so it is not checked: it is recorded only where it is a live block (below).
            if !resize {
                w.i(I::LocalGet(l.o)).i(I::If(BlockType::Empty));
                w.is_live(l.o);
                w.i(I::I32Eqz).i(I::If(BlockType::Empty));
                w.i(I::LocalGet(l.o)).i(I::Call(check)).i(I::I32Eqz).i(I::If(BlockType::Empty));
                w.skip(nresults);
                w.i(I::End).i(I::End).i(I::End);
            }
            w.i(I::End);
            call(&mut w);
            w.if_outermost(guard);
            if resize {
                // It says only whether it resized in place: the new block is the old one when that is a live block
                // and it did; else nothing happened to any block (0 and 0: a failed realloc of nothing).
                w.is_live(l.o);
                w.i(I::LocalGet(l.r)).i(I::I32And).i(I::I32Eqz).i(I::If(BlockType::Empty));
                w.i(I::I32Const(0)).i(I::LocalSet(l.o));
                w.i(I::End);
                w.i(I::LocalGet(l.o)).i(I::LocalSet(l.b));
            } else {
                w.block_of(l.r, header, l.b);
            }
            w.i(I::LocalGet(size));
            if header {
                w.i(I::I32Const(REALLOC_HEADER)).i(I::I32Add);
            }
            w.i(I::LocalSet(l.n));
            w.i(I::LocalGet(l.o)).i(I::LocalGet(l.b)).i(I::I32Or).i(I::I32Const(3)).i(I::I32And).i(I::I32Eqz);
            w.i(I::If(BlockType::Empty));
            // The old block is gone unless the realloc failed (null for a non-zero size).
            w.i(I::LocalGet(l.b)).i(I::LocalGet(l.n)).i(I::I32Eqz).i(I::I32Or).i(I::If(BlockType::Empty));
            w.i(I::LocalGet(l.o)).i(I::If(BlockType::Empty));
            w.clear_bit(l.o);
            w.i(I::End).i(I::End);
            w.i(I::LocalGet(l.b)).i(I::If(BlockType::Empty));
            w.set_bit(l.b);
            w.i(I::End);
            w.lookup();
            w.record();
            w.i(I::Else);
            w.i(I::LocalGet(l.o)).i(I::LocalGet(l.b)).i(I::LocalGet(l.n));
            w.ctx_halves();
            w.i(I::Call(w.h.realloc));
            w.i(I::End).i(I::End);
        }
        _ => {
            call(&mut w);
            w.if_outermost(guard);
            // (The result, as the split watch's `at`: the next malloc may hand out the leader at once.)
            if nresults == 1 {
                w.settle(l.r);
            }
            let posix = role == Role::PosixMemalign;
            if posix {
                // Only on success (0), and the block is where the first parameter points.
                w.i(I::LocalGet(l.r)).i(I::I32Eqz).i(I::If(BlockType::Empty));
                w.i(I::LocalGet(0)).i(I::I32Load(MemArg { offset: 0, align: 2, memory_index: 0 }));
            } else {
                w.i(I::LocalGet(l.r));
            }
            w.i(I::LocalSet(l.b));
            match role {
                Role::Malloc | Role::RustAlloc => w.i(I::LocalGet(0)),
                Role::AlignedAlloc | Role::SelfAlloc | Role::DlAlloc => w.i(I::LocalGet(1)),
                Role::DlMemalign | Role::GlobalAlloc => w.i(I::LocalGet(2)),
                Role::Calloc => w.i(I::LocalGet(0)).i(I::LocalGet(1)).i(I::I32Mul),
                Role::PosixMemalign => w.i(I::LocalGet(2)),
                Role::ZigAlloc => w.i(I::LocalGet(role.zig_param(nparams).1)),
                _ => unreachable!("every role is handled"),
            };
            w.i(I::LocalSet(l.n));
            w.i(I::LocalGet(l.b)).i(I::I32Const(3)).i(I::I32And).i(I::I32Eqz);
            w.i(I::If(BlockType::Empty));
            w.i(I::LocalGet(l.b)).i(I::If(BlockType::Empty));
            w.set_bit(l.b);
            w.i(I::End);
            w.i(I::I32Const(0)).i(I::LocalSet(l.o));
            w.lookup();
            w.record();
            if role == Role::Malloc {
                w.watch(l.b);
            }
            w.i(I::Else);
            w.i(I::LocalGet(l.b)).i(I::LocalGet(l.n));
            w.ctx_halves();
            w.i(I::Call(w.h.alloc));
            w.i(I::End);
            if posix {
                w.i(I::End);
            }
            w.i(I::End);
        }
    }
    if nresults == 1 {
        w.i(I::LocalGet(l.r));
    }
    w.i(I::End);
    w.f
}
