// Recording one instance's allocator events and their stacks, and handing them to the analysis (a session of
// crates/wasm-api) for snapshots and the report.
import { appFrame, asCallSites, SELF_DIR } from './stacks.mjs';
import { EV_STACK, OWN_FRAMES } from './threads.mjs';

const EV_ALLOC = 1, EV_FREE = 2, EV_REALLOC = 3, EV_SET_STACK = 4, EV_FREE_HEAD = 5, EV_CLOCK = 6, EV_MOVE = 7; // crates/wasm-api: wl_record
const CLOCK_EVERY = 512; // allocator events between two readings of the clock (samples are 1,024 or more apart)
const NO_STACK = 0xffffffff;
const JS_FRAME = 0xffffffff; // a stack entry [JS_FRAME, i] is js frame i
const FLUSH_EVENTS = 1 << 16; // events buffered before they are handed to the analysis

const fromUtf8 = new TextDecoder();

/**
 * Record the hook events of an instrumented module. `imports` (the object passed to instantiate) gets a
 * `wasmleak` namespace. Call `tracker.attach(instance)` once instantiated (frames of other instances are
 * then dropped); then `tracker.snapshot()` any time and `tracker.report()` at the end.
 */
export function track(instrumented, imports = {}, { stacks = true, maxFrames = 64, shared = null, moduleImports = null } = {}) {
  const t = new Tracker(instrumented, stacks, maxFrames);
  if (shared) {
    // A threaded module (threads.mjs): every thread's hooks log to the shared log, which this tracker reads.
    t.shared = shared;
    imports.wasmleak = shared.hooks(() => (stacks ? framesNow(t.instance, maxFrames) : null));
    t.imports = imports;
    return t;
  }
  // The hooks of a module instrumented with calling contexts (crates/wasm-api: every module is): each event
  // carries its context id as two i32 halves (docs/contracts.md).
  imports.wasmleak = {
    alloc_ctx: (ptr, size, lo, hi) => t.alloc(ptr >>> 0, size >>> 0, lo, hi),
    free_ctx: (ptr, lo, hi) => t.free(ptr >>> 0, lo, hi),
    realloc_ctx: (old, ptr, size, lo, hi) => t.realloc(old >>> 0, ptr >>> 0, size >>> 0, lo, hi),
    // Asked before a realloc of a non-null pointer: 0 (not a live block) makes the module skip its allocator;
    // the invalid free is recorded here, with its stack.
    check: (ptr) => t.check(ptr >>> 0),
    // A free of a non-null pointer, checked and recorded in one call (1: a live block, freed now).
    free_check_ctx: (ptr, lo, hi) => t.freeChecked(ptr >>> 0, lo, hi),
  };
  // A command that calls exit() ends inside its functions: the wasm frames still running then may hold blocks in
  // their locals, which the report counts as held (crates/instrument/src/exit.rs). The call goes on unchanged.
  // WASI's `proc_exit`, and Emscripten's `env.exit` (3.1 imports exit() as that) — by the glue function's name
  // too: at -O3 Emscripten renames the imports (`a.e`), not its JS functions (`_exit`), and an exit that went
  // unseen read as "returned".
  // Only the names the module imports are read (`moduleImports`: WebAssembly.Module.imports): Emscripten's dynamic
  // linking passes Proxies that make an entry for every name asked of them — `GOT.mem` asked for every name of
  // `env` made `__indirect_function_table` a global, and web-tree-sitter's grammars failed to load under wasmleak
  // (browser survey) — and whose own keys are none, so a copy of `env` lost every symbol it resolves.
  const functions = moduleImports
    ? moduleImports.filter((i) => i.kind === 'function').map((i) => [i.module, i.name])
    : Object.entries(imports).flatMap(([ns, fns]) => (fns && typeof fns === 'object' ? Object.keys(fns).map((name) => [ns, name]) : []));
  const exits = [['wasi_snapshot_preview1', 'proc_exit'], ['wasi_unstable', 'proc_exit'], ['env', 'exit']];
  for (const [ns, name] of functions) {
    const f = imports[ns]?.[name];
    if (typeof f === 'function' && EXIT_FUNCTIONS.has(f.name) && !exits.some(([n, m]) => n === ns && m === name)) exits.push([ns, name]);
  }
  for (const [ns, name] of exits) {
    const exit = imports[ns]?.[name];
    if (typeof exit !== 'function') continue;
    const original = imports[ns];
    const copy = moduleImports ? Object.fromEntries(functions.filter(([n]) => n === ns).map(([, f]) => [f, original[f]])) : { ...original };
    if (moduleImports) {
      // The namespace's other kinds of imports (memories, tables, globals) too.
      for (const i of moduleImports) if (i.module === ns && i.kind !== 'function') copy[i.name] = original[i.name];
    }
    imports[ns] = {
      ...copy,
      [name](code, ...rest) {
        t.exited = { code: code | 0, frames: framesNow(t.instance, EXIT_FRAMES).filter(Array.isArray) };
        return exit.call(this, code, ...rest);
      },
    };
  }
  t.imports = imports;
  return t;
}

const EXIT_FRAMES = 1024; // the wasm frames read at exit(): all of them, in any real program
/** Emscripten's JS functions behind exit() (3.1: `_exit`, `_proc_exit`), whatever the import is named. */
const EXIT_FUNCTIONS = new Set(['_exit', '_proc_exit', 'exit', 'proc_exit']);

const THREADS_NOTE =
  "a threaded module: the report was read holding the allocator's log (no thread allocated or freed meanwhile), but the " +
  "other threads were not stopped, and a block a thread still running held only in its wasm locals (not in memory) " +
  'cannot be seen and counts as lost: join or end the threads before the report for exact numbers';
/** Contexts reached from several JS lines: some blocks' JS frames may be another caller's (the class comment). */
const mixedNote = (n) =>
  `${n} calling context${n === 1 ? ' was' : 's were'} reached from more than one line of JavaScript: blocks ` +
  "allocated there before the second caller was noticed (at the context's 2nd, 4th, 8th… allocation) show the " +
  "first caller's JS frames (wasmleak's js/README.md, \"Which stacks are captured\")";
const RESOLVE_AT = 50_000; // captured stacks kept unresolved before they are turned into frames
const NO_CTX = -1; // the context slot of an event whose stack is captured on its own
const FREE_SALT = 0x5bd1e995; // mixed into a free's context id (freeChecked)

// Stacks: the instrumented module hands every event its calling-context id, a hash of the chain of wasm call
// sites from the call into the module down to the allocator. A context's stack (wasm frames and the JS frames
// above them) is captured with V8 the first time it is seen; after that an event's stack is a table lookup.
// The JS frames above the wasm ones are not part of the id: the same export called from two lines of the app
// is one context. So a context is sampled again at its 2nd, 4th, 8th… event; when a sample's stack differs
// from the first one (another JS caller, or two wasm chains sharing an id), the context is "mixed" and from
// then on each of its allocations gets its own capture, made at allocation and turned into frames only for
// blocks still live when a snapshot or the report needs them (formatting is the costly half). Until then,
// and for good once freed, such a block counts under its context's first stack in the allocation profile;
// frees keep the context's first stack too (they matter for double-free reports only).
class Tracker {
  constructor(instrumented, stacks, maxFrames) {
    this.instrumented = instrumented;
    this.stacks = stacks;
    this.maxFrames = maxFrames;
    this.initFrame = '?'; // the app's frame that instantiated the module (index.mjs); '?' matches nothing
    this.lowest = Infinity; // the lowest address a block was ever allocated at: static data lies below
    this.appHeld = false; // the app's own code got a block: the package's initialisation is over (hold)
    this.instance = null;
    this.session = 0; // the analysis' heap of this instance, fed by flush()
    this.events = new Uint32Array(5 * 1024);
    this.n = 0; // words used
    this.wordsView = null; // the memory as words, for the first words of a freed block
    this.lastAlloc = 0; // the last allocation while no allocator event followed, and the word before it (`settle`)
    this.lastHead = 0;
    this.splits = instrumented.meta?.splits !== false;
    this.started = performance.now();
    this.pending = new Map(); // live block of a mixed context → its captured, not yet resolved stack
    // Export calls in progress, and a number moved at each export call and return (index.mjs): what `born`
    // shares a capture within. Context slot → {epoch, captured}.
    this.callDepth = 0;
    this.epoch = 0;
    this.epochCaptures = new Map();
    // Live blocks: a bit per 4-byte word for 4-aligned addresses (every allocator here), a Set for the rest.
    this.bits = new Uint8Array(1 << 16);
    this.odd = new Set();
    // Calling contexts, open addressing on (lo ^ hi): id halves, stack + 1 (0: empty), events seen, mixed.
    this.ctxMask = (1 << 12) - 1;
    this.ctxLo = new Int32Array(this.ctxMask + 1);
    this.ctxHi = new Int32Array(this.ctxMask + 1);
    this.ctxStack = new Int32Array(this.ctxMask + 1);
    this.ctxSeen = new Uint32Array(this.ctxMask + 1);
    this.ctxMixed = new Uint8Array(this.ctxMask + 1);
    this.contexts = 0;
    this.captures = 0; // V8 stack captures made
    this.seq = 0; // allocator events so far (the analysis numbers them the same way)
    this.stackIds = new Map(); // key → stack number
    this.newStacks = []; // interned since the last flush
    this.jsFrameIds = new Map();
    this.newJsFrames = [];
    /** Numbers JS holds that may point into linear memory: value → what handed it over. */
    this.hostValues = new Map();
    this.runtimeValues = new Map();
    this.shared = null; // threads.mjs: the log every thread's hooks write
    this.sharedStacks = new Map(); // "lo,hi" → stack number, from the log's stack records
    this.sharedLive = new Set(); // live blocks as the log has them
    this.sharedLate = new Map(); // address → realloc reports still to come for blocks moved away from it
  }

  /** Threads: move the shared log's records into this tracker's events, in the log's order. */
  drainShared(locked = false) {
    const w = this.shared.take(locked);
    for (let i = 0; i < w.length;) {
      const kind = w[i] & 0xff;
      if (kind === EV_STACK) {
        const len = w[i + 3], key = `${w[i + 1] | 0},${w[i + 2] | 0}`, own = len === OWN_FRAMES;
        if (!this.sharedStacks.has(key)) {
          const frames = own
            ? this.shared.ownFrames.get(key)
            : JSON.parse(fromUtf8.decode(new Uint8Array(w.buffer, w.byteOffset + (i + 4) * 4, len)));
          this.sharedStacks.set(key, this.internFrames(frames));
        }
        if (own) this.shared.ownFrames.delete(key);
        i += 4 + (own ? 0 : (len + 3) >>> 2);
        continue;
      }
      const a = w[i + 1], b = w[i + 2], c = w[i + 3];
      const stack = this.sharedStacks.get(`${w[i + 4] | 0},${w[i + 5] | 0}`) ?? NO_STACK;
      if (kind === EV_ALLOC) {
        this.sharedBorn(a);
        this.event(EV_ALLOC, a, b, 0, stack);
      } else if (kind === EV_FREE) {
        if (a && this.hostValues.size) this.hostValues.delete(a);
        if (!c) this.sharedLive.delete(a);
        this.event(EV_FREE, a, 0, 0, stack);
      } else if (b === 0 && c !== 0) {
        this.event(EV_REALLOC, a, b, c, stack); // failed: the old block stays
      } else {
        if (a !== b && this.hostValues.size) this.hostValues.delete(a);
        // A realloc reports after the allocator returned: the block it moved away from may be another
        // thread's by now (handed out again and logged first, see `born`). Then it frees nothing there.
        const late = a !== b && this.sharedLate.get(a);
        if (late) {
          if (late > 1) this.sharedLate.set(a, late - 1);
          else this.sharedLate.delete(a);
          if (b) {
            this.sharedBorn(b);
            this.event(EV_ALLOC, b, c, 0, stack);
          }
        } else {
          if (a !== b) this.sharedLive.delete(a);
          if (a !== b) this.sharedBorn(b);
          this.event(EV_REALLOC, a, b, c, stack);
        }
      }
      i += 6;
    }
  }

  /** Threads: a block allocated at `ptr`; an address still live counts one late realloc report (drainShared). */
  sharedBorn(ptr) {
    if (!ptr) return;
    if (this.sharedLive.has(ptr)) this.sharedLate.set(ptr, (this.sharedLate.get(ptr) ?? 0) + 1);
    else this.sharedLive.add(ptr);
  }

  /** Intern frames as `framesOf` gives them (this thread's, or another's from the shared log). */
  internFrames(list) {
    const frames = [];
    let key = '';
    for (const f of list) {
      if (Array.isArray(f)) {
        frames.push(f);
        key += `${f[0]}:${f[1]},`;
      } else {
        const id = this.jsFrameId(f);
        frames.push([JS_FRAME, id]);
        key += `j${id},`;
      }
    }
    return this.intern(key, frames);
  }

  attach(instance) {
    this.instance = instance;
    this.open(); // now: an analysis thread reads the module's DWARF while the app runs
    // Its exports as instantiated: the app's view may be wrapped, without wasmleak's own (index.mjs).
    this.exports = instance.exports;
    return this;
  }

  /** The exports of `instance` wasmleak added (memory, globals) included. */
  exportsOf(instance) {
    return instance && instance === this.instance ? this.exports : instance?.exports;
  }

  /**
   * Record a number JS now holds (a pointer an export returned, a glue handle). `runtime`: the glue keeps it
   * for the module's lifetime (Embind's registration data), a root like static data rather than a handle the
   * app should free.
   */
  hold(value, label, { runtime = false, strong = false, opaque = false } = {}) {
    if (!(value > 0)) return;
    // Threads: the events logged so far happened before JS got the value; read them first, so the value is
    // numbered after them (not before every block it points to) and an earlier free of its address does not
    // drop it.
    if (this.shared && this.shared.used() > 1) this.drainShared(); // (an empty log: no lock taken, no copy)
    if (runtime) return void this.runtimeValues.set(value >>> 0, label);
    // A block JS got while only a package's own code ran — its initialisation, after an asynchronous instantiation
    // (no app frame on the JS stack) or inside the app's call that instantiated the module (the same innermost app
    // frame: Emscripten's onRuntimeInitialized, a glue's scratch buffers and singletons) — is the package's state,
    // which the app has no way to free: reachable while it lives, not an object the app forgot (npm survey: every
    // canvaskit user got 18 "host" objects, exit 1, after deleting all it made). Only for a live block's address.
    // A stack capture per hold costs microseconds; its initialisation is over once the app's own code got a block
    // (`appHeld`), and no hold after that looks.
    const frame = !strong && !this.appHeld && this.isLive(value >>> 0) ? appFrame() : '?';
    if (frame === null || (frame !== '?' && frame === this.initFrame)) {
      strong = true;
      label += frame === null ? ', by the package itself (no app code on the JS stack)' : ', by the package itself (while the app instantiated it)';
    } else if (frame !== '?') {
      this.appHeld = true;
    }
    // With the event number: a number JS got before a block was allocated does not point at it (a stale
    // `this` a C++ destructor returned, into an exception object freed since; docs/contracts.md).
    // `strong`: held the way static data holds a block (still reachable), until it is freed. `opaque`: the block
    // holds data, never pointers (its bytes are not scanned) — it, not a later block at its address.
    this.hostValues.set(value >>> 0, { label, seq: this.seq, strong, opaque });
  }

  /** JS no longer holds `value` (the module took it back: napi_remove_wrap). */
  release(value) {
    this.hostValues.delete(value);
  }

  alloc(ptr, size, lo, hi) {
    if (this.lastAlloc) this.settle(ptr);
    if (!ptr) return this.event(EV_ALLOC, 0, size, 0, NO_STACK);
    this.setLive(ptr);
    const slot = this.context(lo, hi);
    this.event(EV_ALLOC, ptr, size, 0, slot !== NO_CTX && this.ctxMixed[slot] ? this.born(ptr, slot) : this.contextStack(slot));
    if (this.pending.size >= RESOLVE_AT) this.resolve();
    // The chunk header before the block, as the allocator left it: `settle` looks again at the next event (only
    // where the instrumenter saw an aligned allocation inlined into a caller of malloc: `meta.splits`).
    if (this.splits && !(ptr & 7) && !this.shared) {
      let words = this.wordsView;
      if (!words || (ptr >>> 2) >= words.length) words = this.words();
      this.lastHead = words[(ptr - 4) >>> 2];
      this.lastAlloc = ptr;
    }
  }

  free(ptr, lo, hi) {
    if (ptr) this.freeChecked(ptr, lo, hi);
    else this.event(EV_FREE, 0, 0, 0, NO_STACK);
  }

  /** Free `ptr` (not null): 1 when it was a live block, 0 (an invalid free, recorded) when not. */
  freeChecked(ptr, lo, hi) {
    if (this.hostValues.size) this.hostValues.delete(ptr); // JS held it; it is gone now (a new block may get the address)
    if (this.lastAlloc && this.settle(ptr) === ptr) return 1; // the allocator freeing the leader: not the program
    if (!this.died(ptr)) {
      this.event(EV_FREE, ptr, 0, 0, this.stackNow()); // invalid: its own stack
      return 0;
    }
    // The live blocks whose addresses the block's first four words held, read before the allocator writes its
    // free lists there: where an owner freed without freeing its members kept them (crates/heap/src/owners.rs).
    const w = ptr >>> 2;
    let words = this.wordsView;
    if (!words || w + 3 >= words.length) words = this.words(); // a grown memory detaches the old view
    // A free's context apart from an allocation's with the same id: JS calling the exported `_malloc` and `_free`
    // directly enters both with the one id the module's context global holds between calls, and every free then
    // showed the first allocation's stack (a double free's "first freed at" was the malloc's JS line).
    const stack = this.contextStack(this.context(lo === undefined ? lo : lo ^ FREE_SALT, hi));
    let a = 0, b = 0, c = 0, d = 0;
    if ((ptr & 3) === 0 && w + 3 < words.length) {
      a = words[w]; b = words[w + 1]; c = words[w + 2]; d = words[w + 3];
      a = a && !(a & 3) && this.isLive(a) ? a : 0;
      b = b && !(b & 3) && this.isLive(b) ? b : 0;
      c = c && !(c & 3) && this.isLive(c) ? c : 0;
      d = d && !(d & 3) && this.isLive(d) ? d : 0;
    }
    if (a | b | c | d) {
      // Two quintuples, in one flush: the second holds the third and fourth words.
      this.room(15); // the free, maybe a clock, the second quintuple
      this.event(EV_FREE_HEAD, ptr, a, b, stack);
      const e = this.events, n = this.n;
      e[n] = c; e[n + 1] = d; e[n + 2] = 0; e[n + 3] = 0; e[n + 4] = 0;
      this.n = n + 5;
    } else {
      this.event(EV_FREE, ptr, 0, 0, stack);
    }
    return 1;
  }

  /**
   * Whether the allocator split the last allocation since: dlmalloc's memalign/posix_memalign, inlined into a
   * caller the hooks cannot see (wasm-opt -O2 puts it into libc++abi's __cxa_allocate_exception), takes a larger
   * block from malloc — hooked: the block at `a` — then gives its leading part back and hands out an aligned
   * block inside it, which the program later frees (without this: an invalid free of an address malloc never
   * returned, and the leader's address handed out again while still "live"). Told by the chunk headers
   * (docs/contracts.md, "Blocks the allocator splits") before any other allocator call could reuse the leader:
   * the word before `a`, the chunk's size when malloc returned, changed; walking the chunks from there, past
   * free ones (their successor's previous-in-use bit says so) or the allocation this very event is about (`at`:
   * malloc handing out the leader at once, or the allocator freeing it through the hooked free), the first chunk
   * in use inside the old one is the block, moved — a move, not an event of the program's. A program cannot
   * write those words without corrupting the heap (crates/host/src/events.rs `split_chunks`, the same rule).
   * Returns `a` when this event is the allocator freeing the leader, else 0.
   */
  settle(at = 0) {
    const a = this.lastAlloc;
    this.lastAlloc = 0;
    let words = this.wordsView;
    if (!words || (a >>> 2) >= words.length) words = this.words();
    const word = (p) => ((p >>> 2) < words.length ? words[p >>> 2] : undefined);
    if (word(a - 4) === this.lastHead || !this.isLive(a)) return 0;
    const start = a - 8, end = start + (this.lastHead & ~7);
    let p = start;
    for (let step = 0; step < 4; step++) {
      const size = word(p + 4) & ~7, q = p + size;
      if (!(size >= 16) || q + 16 > end) return 0;
      const next = word(q + 4);
      if (next === undefined) return 0;
      const free = !(next & 1);
      if (!free && !(p === start && at === a)) return 0;
      if (next & 2) {
        const to = q + 8, bytes = next & ~7;
        if (q + bytes > end || this.isLive(to)) return 0;
        this.died(a);
        this.setLive(to);
        this.event(EV_MOVE, a, to, bytes - 4, NO_STACK);
        return p === start && !free && at === a ? a : 0;
      }
      p = q;
    }
    return 0;
  }

  /** The instance's memory as words, viewed again (after the memory grew). */
  words() {
    const buffer = this.exportsOf(this.instance)?.[this.instrumented.meta.memory_export]?.buffer;
    this.wordsView = buffer ? new Uint32Array(buffer) : new Uint32Array();
    return this.wordsView;
  }

  check(ptr) {
    if (this.lastAlloc) this.settle();
    if (this.isLive(ptr)) return 1;
    this.free(ptr);
    return 0;
  }

  realloc(old, ptr, size, lo, hi) {
    if (this.lastAlloc) this.settle(ptr);
    if (ptr === 0 && size !== 0) return this.event(EV_REALLOC, old, ptr, size, NO_STACK); // failed: old stays
    // In place where no block lives: a Zig resize whose pointer an optimised caller left undefined (HeapModel::realloc).
    if (ptr === old && !this.isLive(old)) return;
    if (old !== ptr && this.hostValues.size) this.hostValues.delete(old);
    if (old !== 0 && !this.died(old)) {
      // Not a live block (the wrapper checked it first, so only a failed check gets here): its own stack.
      this.event(EV_REALLOC, old, ptr, size, this.stackNow());
      if (ptr) this.setLive(ptr);
      return;
    }
    const slot = this.context(lo, hi);
    const mixed = slot !== NO_CTX && this.ctxMixed[slot] && ptr !== 0;
    if (ptr !== 0) this.setLive(ptr);
    this.event(EV_REALLOC, old, ptr, size, mixed ? this.born(ptr, slot) : this.contextStack(slot));
    if (this.pending.size >= RESOLVE_AT) this.resolve();
  }

  isLive(ptr) {
    if (ptr & 3) return this.odd.has(ptr);
    const i = ptr >>> 5;
    return i < this.bits.length && (this.bits[i] >> ((ptr >>> 2) & 7)) & 1;
  }

  setLive(ptr) {
    if (ptr < this.lowest) this.lowest = ptr;
    if (ptr & 3) return void this.odd.add(ptr);
    const i = ptr >>> 5;
    if (i >= this.bits.length) {
      let n = this.bits.length * 2;
      while (n <= i) n *= 2;
      const grown = new Uint8Array(n);
      grown.set(this.bits);
      this.bits = grown;
    }
    this.bits[i] |= 1 << ((ptr >>> 2) & 7);
  }

  /** Forget a live block; false when it is not one (an invalid or double free). */
  died(ptr) {
    if (ptr & 3) return this.odd.delete(ptr);
    const i = ptr >>> 5, bit = 1 << ((ptr >>> 2) & 7);
    if (i >= this.bits.length || !(this.bits[i] & bit)) return false;
    this.bits[i] &= ~bit;
    if (this.pending.size) this.pending.delete(ptr);
    return true;
  }

  /**
   * A mixed context's block: the stack its event gets now. Its own capture, formatted only if a snapshot or the
   * report needs it while the block lives (`pending`; the event has the context's first stack until then).
   * Inside a call of an export (through its wrapper, index.mjs), though, the JS frames above the module cannot
   * change until JS runs again — the next export call or return moves `epoch` — and the wasm frames are the
   * context's: one capture per context and epoch serves every block, formatted once a second block shares it
   * (a loop allocating 200,000 blocks in one call costs one capture, not 200,000). Not seen: an import's JS
   * that calls back into the module through a table function rather than an export (two such callbacks in
   * one call, reaching one context, would share the first's JS frames).
   */
  born(ptr, slot) {
    let captured;
    if (this.callDepth > 0) {
      const cached = this.epochCaptures.get(slot);
      if (cached?.epoch === this.epoch) return (cached.captured.stackId ??= this.stackOf(cached.captured));
      captured = this.capture();
      this.epochCaptures.set(slot, { epoch: this.epoch, captured });
    } else {
      captured = this.capture();
    }
    this.pending.set(ptr, captured); // resolved after the event that makes the block (alloc, realloc)
    return this.ctxStack[slot] - 1;
  }

  /**
   * The table slot of context (lo, hi), seen once more; a new context gets its stack captured now, and a
   * context is sampled again at its 2nd, 4th, 8th… event (see the class comment). NO_CTX without stacks.
   */
  context(lo, hi) {
    if (!this.stacks || lo === undefined) return NO_CTX;
    const mask = this.ctxMask;
    let i = (lo ^ hi) & mask;
    for (;;) {
      const st = this.ctxStack[i];
      if (st === 0) break;
      if (this.ctxLo[i] === lo && this.ctxHi[i] === hi) {
        const seen = ++this.ctxSeen[i];
        if ((seen & (seen - 1)) === 0 && !this.ctxMixed[i]) {
          const now = this.stackNow();
          if (now !== st - 1) this.ctxMixed[i] = 1;
        }
        return i;
      }
      i = (i + 1) & mask;
    }
    this.ctxLo[i] = lo;
    this.ctxHi[i] = hi;
    this.ctxStack[i] = this.stackNow() + 1;
    this.ctxSeen[i] = 1;
    if (++this.contexts * 2 <= mask + 1) return i;
    this.growContexts();
    i = (lo ^ hi) & this.ctxMask;
    while (this.ctxLo[i] !== lo || this.ctxHi[i] !== hi) i = (i + 1) & this.ctxMask;
    return i;
  }

  contextStack(slot) {
    return slot === NO_CTX ? (this.stacks ? this.stackNow() : NO_STACK) : this.ctxStack[slot] - 1;
  }

  growContexts() {
    const old = [this.ctxLo, this.ctxHi, this.ctxStack, this.ctxSeen, this.ctxMixed];
    const size = (this.ctxMask + 1) * 2;
    this.ctxMask = size - 1;
    this.ctxLo = new Int32Array(size);
    this.ctxHi = new Int32Array(size);
    this.ctxStack = new Int32Array(size);
    this.ctxSeen = new Uint32Array(size);
    this.ctxMixed = new Uint8Array(size);
    const [lo, hi, st, seen, mixed] = old;
    for (let k = 0; k < st.length; k++) {
      if (!st[k]) continue;
      let i = (lo[k] ^ hi[k]) & this.ctxMask;
      while (this.ctxStack[i]) i = (i + 1) & this.ctxMask;
      this.ctxLo[i] = lo[k]; this.ctxHi[i] = hi[k]; this.ctxStack[i] = st[k];
      this.ctxSeen[i] = seen[k]; this.ctxMixed[i] = mixed[k];
    }
  }

  /** V8's record of the current stack, formatted later (`stackOf`); null without stacks. */
  capture() {
    if (!this.stacks) return null;
    this.captures++;
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = this.maxFrames;
    const holder = {};
    Error.captureStackTrace(holder);
    Error.stackTraceLimit = limit;
    return holder;
  }

  stackNow() {
    return this.stacks ? this.stackOf(this.capture()) : NO_STACK;
  }

  /** Give every pending block its stack (an EV_SET_STACK event each). */
  resolve() {
    // A capture several blocks share is formatted once.
    for (const [ptr, captured] of this.pending) this.event(EV_SET_STACK, ptr, 0, 0, (captured.stackId ??= this.stackOf(captured)));
    this.pending.clear();
  }

  /** The clock, as an event: milliseconds since the tracker started (the growth samples' times). */
  clock() {
    const e = this.events, n = this.n;
    e[n] = EV_CLOCK; e[n + 1] = Math.round(performance.now() - this.started); e[n + 2] = 0; e[n + 3] = 0; e[n + 4] = 0;
    this.n = n + 5;
  }

  /** Make room for `words` more words of events. */
  room(words) {
    if (this.n + words > this.events.length) {
      if (this.n >= FLUSH_EVENTS * 5) {
        this.flush();
      } else {
        const grown = new Uint32Array(this.events.length * 2);
        grown.set(this.events);
        this.events = grown;
      }
    }
  }

  event(kind, a, b, c, stack) {
    this.room(10);
    if (kind !== EV_SET_STACK && ++this.seq % CLOCK_EVERY === 1) this.clock();
    const e = this.events, n = this.n;
    e[n] = kind; e[n + 1] = a; e[n + 2] = b; e[n + 3] = c; e[n + 4] = stack;
    this.n = n + 5;
  }

  /** A captured stack's frames: wasm as [func_index, module_offset], JS as [JS_FRAME, i]; interned. */
  stackOf(captured) {
    const prepare = Error.prepareStackTrace;
    Error.prepareStackTrace = asCallSites;
    const sites = captured.stack;
    Error.prepareStackTrace = prepare;
    return this.internFrames(framesOf(sites, this.instance));
  }


  intern(key, frames) {
    let id = this.stackIds.get(key);
    if (id === undefined) {
      id = this.stackIds.size;
      this.newStacks.push(frames);
      this.stackIds.set(key, id);
    }
    return id;
  }

  jsFrameId(f) {
    const key = `${f.function}@${f.file}:${f.line}:${f.column}`;
    let id = this.jsFrameIds.get(key);
    if (id === undefined) {
      id = this.jsFrameIds.size;
      this.jsFrameIds.set(key, id);
      this.newJsFrames.push(f);
    }
    return id;
  }

  /** Hand the buffered events, stacks and frames to the analysis. */
  flush(locked = false) {
    if (this.shared) this.drainShared(locked);
    this.open();
    if (this.n === 0 && this.newStacks.length === 0) return;
    const rec = { stacks: this.newStacks, js_frames: this.newJsFrames };
    const words = this.n;
    this.newStacks = [];
    this.newJsFrames = [];
    this.n = 0;
    this.events = this.instrumented.analysis.record(this.session, rec, this.events, words);
  }

  /** The analysis' session of this instance, made on first use. */
  open() {
    if (this.session) return;
    this.session = this.instrumented.analysis.session(this.instrumented.handle);
    if (!this.session) throw new Error('wasmleak: the instrumented module was released');
  }

  /** What the analysis needs besides the events: the memory image and the roots JS knows about. */
  state({ instance = this.instance, memory, globals, hostValues, module = 'module.wasm', ...rest }) {
    const meta = this.instrumented.meta;
    const exports = this.exportsOf(instance);
    if (!memory) memory = exports?.[meta.memory_export];
    const image = memory instanceof WebAssembly.Memory ? new Uint8Array(memory.buffer) : (memory ?? new Uint8Array());
    let globalValues = [];
    if (Array.isArray(globals)) {
      globalValues = globals;
    } else {
      for (const [idx, name] of meta.exported_globals) {
        let v = globals ? globals[name] : exports?.[name];
        if (v instanceof WebAssembly.Global) v = v.value;
        if (typeof v === 'number') globalValues.push([idx, v >>> 0]);
      }
    }
    const runtime = [...this.runtimeValues].map(([ptr, name]) => [name, ptr]);
    const held = [], heldSeqs = [], opaque = [];
    for (const [ptr, h] of this.hostValues) {
      if (h.opaque) opaque.push(ptr);
      if (h.strong) runtime.push([h.label, ptr]);
      else if (!hostValues) held.push([h.label, ptr]), heldSeqs.push(h.seq);
    }
    // No call into the module runs (none of its frames is on the JS stack, and it did not end in exit()): its
    // stack holds only what JS allocated there (crates/wasm-api `js_stack_slots`). Not for threads: another
    // thread may be inside the module.
    const idle = this.callDepth === 0 && !this.exited && !this.shared;
    return [{ module, globals: globalValues, host_values: (hostValues ?? held).map(([name, v]) => [String(name), v >>> 0]), host_value_seqs: heldSeqs, runtime_values: runtime, opaque_values: opaque, idle, ...rest }, image];
  }

  /**
   * A snapshot of the heap now: { module, bytes (a `.wlsnap` file, as `wasmleak check --save` writes),
   * summary: {index, iteration, blocks, bytes, allocations, frees} }. Options as `report()`, plus
   * `iteration` (default: the snapshot's number).
   */
  snapshot(options = {}) {
    return this.consistent(() => {
      const a = this.instrumented.analysis;
      a.check('snapshot', this.session, this.state(options));
      return { module: options.module ?? 'module.wasm', bytes: a.out(this.session, 0), summary: a.outJson(this.session, 1) };
    });
  }

  /** `f` with every event so far in the analysis; a threaded module's threads record none meanwhile. */
  consistent(f) {
    if (this.lastAlloc) this.settle();
    this.resolve();
    this.flush();
    if (!this.shared) return f();
    return this.shared.holding(() => {
      this.flush(true);
      return f();
    });
  }

  /**
   * The JSON report (docs/contracts.md) for the heap now, with growth over the snapshots taken. `memory` (a
   * WebAssembly.Memory or bytes) and `globals` ({exportName: value} or [[index, value]]) default to what
   * `instance` (or the attached one) exports; `hostValues`: [[name, pointer]] the host holds (default: what
   * `hold()` recorded).
   */
  report({ exit = { status: 'returned', message: 'returned' }, notes = [], ...options } = {}) {
    const a = this.instrumented.analysis;
    // The guest called exit(): that is how it ended, unless the app failed after it.
    const exitFrames = this.exited?.frames ?? [];
    if (this.exited && exit.status === 'returned') {
      exit = { status: 'exited', code: this.exited.code, message: `exited with status ${this.exited.code}` };
    }
    // What the JS runtime cannot do that `wasmleak check` does: stop the other threads and read their locals.
    if (this.shared) notes = [...notes, THREADS_NOTE];
    const mixed = this.ctxMixed.reduce((n, m) => n + m, 0);
    if (mixed) notes = [...notes, mixedNote(mixed)];
    this.consistent(() => {
      const [state, image] = this.state(options);
      a.check('report', this.session, [{ ...state, exit, exit_frames: exitFrames, notes }, image]);
    });
    const report = a.outJson(this.session, 0);
    // The CLI's text form of the same report, for textOf (not part of the JSON).
    Object.defineProperty(report, 'text', { value: fromUtf8.decode(a.out(this.session, 1)), enumerable: false });
    return report;
  }
}


/** A JS call site as the analysis takes it. */
function jsFrameOf(s, file) {
  const line = s.getLineNumber(), column = s.getColumnNumber();
  // Not getMethodName(): it names the receiver's property the function was called through, which changes
  // from call to call (a timer's `_onTimeout`, then nothing once optimized) and would split one site in two.
  let fn = s.getFunctionName() || '(anonymous)';
  if (s.isConstructor()) fn = `new ${fn}`;
  // One name per place: V8 stops telling a constructor call once it optimized the caller (`new Resvg2` for the first
  // 15 objects, `Resvg2` after), which split one leak into two groups at every site (browser survey).
  const at = `${file}:${line}:${column}`;
  const named = frameNames.get(at);
  if (named !== undefined) fn = named;
  else if (frameNames.size < 1 << 16) frameNames.set(at, fn);
  return { function: fn, file: file.startsWith('file://') ? decodeURIComponent(file.slice(7)) : file, line, column };
}

/** The name each JS call site was first seen with (`jsFrameOf`). */
const frameNames = new Map();

/**
 * The current stack as frames another thread's tracker can intern (threads.mjs): wasm frames of `instance` as
 * [func, offset], JS frames as {function, file, line, column}; wasmleak's own and Node's frames left out.
 */
export function framesNow(instance, maxFrames) {
  const limit = Error.stackTraceLimit, prepare = Error.prepareStackTrace;
  Error.stackTraceLimit = maxFrames;
  Error.prepareStackTrace = asCallSites;
  const holder = {};
  Error.captureStackTrace(holder);
  const sites = holder.stack;
  Error.prepareStackTrace = prepare;
  Error.stackTraceLimit = limit;
  return framesOf(sites, instance);
}

/** Structured call sites as frames: wasm ones of `instance` (any, without one) and the app's JS ones. */
function framesOf(sites, instance) {
  const frames = [];
  for (const s of Array.isArray(sites) ? sites : []) {
    const inst = s.getThis();
    if (inst instanceof WebAssembly.Instance) {
      if (instance && inst !== instance) continue; // another module's frame
      frames.push([s.getFunction(), s.getPosition()]);
      continue;
    }
    const file = s.getFileName();
    // wasmleak's own frames, natives, Node's internals
    if (!file || file.startsWith('node:') || (SELF_DIR && file.startsWith(SELF_DIR))) continue;
    // Emscripten's lazy export wrapper (`Module._f = function () { return (Module._f = asm.f).apply(...) }`):
    // on the stack of the first call only, right above the export — its blocks made a group of their own, and a
    // site growing by the same bytes per call lost its GROWING verdict.
    if (Array.isArray(frames[frames.length - 1]) && EXPORT_WRAPPER.test(s.getFunctionName() ?? '')) continue;
    frames.push(jsFrameOf(s, file));
  }
  return frames;
}

/** The name V8 gives Emscripten's self-replacing export wrappers. */
const EXPORT_WRAPPER = /^Module\._[A-Za-z0-9_$]+$/;
