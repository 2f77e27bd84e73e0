// Recording one instance's allocator events and their stacks, and handing them to the analysis (a session of
// crates/wasm-api) for snapshots and the report.
import { asCallSites, SELF_DIR } from './stacks.mjs';

const EV_ALLOC = 1, EV_FREE = 2, EV_REALLOC = 3, EV_SET_STACK = 4; // crates/wasm-api: wl_record
const NO_STACK = 0xffffffff;
const JS_FRAME = 0xffffffff; // a stack entry [JS_FRAME, i] is js frame i
const FLUSH_EVENTS = 1 << 16; // events buffered before they are handed to the analysis

const fromUtf8 = new TextDecoder();

/**
 * Record the hook events of an instrumented module. `imports` (the object passed to instantiate) gets a
 * `wasmleak` namespace. Call `tracker.attach(instance)` once instantiated (frames of other instances are
 * then dropped); then `tracker.snapshot()` any time and `tracker.report()` at the end.
 */
export function track(instrumented, imports = {}, { stacks = true, maxFrames = 64 } = {}) {
  const t = new Tracker(instrumented, stacks, maxFrames);
  imports.wasmleak = {
    alloc: (ptr, size) => t.alloc(ptr >>> 0, size >>> 0),
    free: (ptr) => t.free(ptr >>> 0),
    realloc: (old, ptr, size) => t.realloc(old >>> 0, ptr >>> 0, size >>> 0),
    // Asked before a free or realloc of a non-null pointer: 0 (not a live block) makes the module skip its
    // allocator; the invalid free is recorded here, with its stack.
    check: (ptr) => t.check(ptr >>> 0),
  };
  t.imports = imports;
  return t;
}

const RESOLVE_AT = 50_000; // captured stacks kept unresolved before they are turned into frames

// Stacks are captured when a block is allocated (V8 records the frames: ~1 µs + ~0.6 µs per frame) but turned
// into frames (CallSite objects, interning) only for blocks still live when a snapshot or the report needs
// them, or when too many are waiting: most blocks are freed long before, and formatting is the costly half.
// Frees carry a stack only when they are invalid (JS keeps the live set, so it knows at once).
class Tracker {
  constructor(instrumented, stacks, maxFrames) {
    this.instrumented = instrumented;
    this.stacks = stacks;
    this.maxFrames = maxFrames;
    this.instance = null;
    this.session = 0; // the analysis' heap of this instance, fed by flush()
    this.events = new Uint32Array(5 * 1024);
    this.n = 0; // words used
    this.pending = new Map(); // live block → its captured, not yet resolved stack
    this.live = new Set(); // live blocks whose stack the analysis has
    this.stackIds = new Map(); // key → stack number
    this.newStacks = []; // interned since the last flush
    this.jsFrameIds = new Map();
    this.newJsFrames = [];
    /** Numbers JS holds that may point into linear memory: value → what handed it over. */
    this.hostValues = new Map();
    this.runtimeValues = new Map();
  }

  attach(instance) {
    this.instance = instance;
    return this;
  }

  /**
   * Record a number JS now holds (a pointer an export returned, a glue handle). `runtime`: the glue keeps it
   * for the module's lifetime (Embind's registration data), a root like static data rather than a handle the
   * app should free.
   */
  hold(value, label, { runtime = false } = {}) {
    if (value > 0) (runtime ? this.runtimeValues : this.hostValues).set(value >>> 0, label);
  }

  alloc(ptr, size) {
    this.event(EV_ALLOC, ptr, size, 0, NO_STACK);
    if (ptr) this.born(ptr, this.capture());
  }

  free(ptr) {
    this.hostValues.delete(ptr); // JS held it; it is gone now (a new block may get the address)
    this.event(EV_FREE, ptr, 0, 0, ptr && !this.died(ptr) ? this.stackNow() : NO_STACK);
  }

  check(ptr) {
    if (this.pending.has(ptr) || this.live.has(ptr)) return 1;
    this.free(ptr);
    return 0;
  }

  realloc(old, ptr, size) {
    if (ptr === 0 && size !== 0) return this.event(EV_REALLOC, old, ptr, size, NO_STACK); // failed: old stays
    const invalid = old !== 0 && !this.died(old);
    if (old !== ptr) this.hostValues.delete(old);
    const stack = invalid ? this.stackNow() : NO_STACK;
    this.event(EV_REALLOC, old, ptr, size, stack);
    if (ptr === 0) return;
    if (invalid) this.live.add(ptr); // the event's stack is the new block's
    else this.born(ptr, this.capture());
  }

  born(ptr, captured) {
    if (!captured) return this.live.add(ptr);
    this.pending.set(ptr, captured);
    if (this.pending.size >= RESOLVE_AT) this.resolve();
  }

  /** Forget a live block; false when it is not one (an invalid or double free). */
  died(ptr) {
    return this.pending.delete(ptr) || this.live.delete(ptr);
  }

  /** V8's record of the current stack, formatted later (`stackOf`); null without stacks. */
  capture() {
    if (!this.stacks) return null;
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
    for (const [ptr, captured] of this.pending) {
      this.event(EV_SET_STACK, ptr, 0, 0, this.stackOf(captured));
      this.live.add(ptr);
    }
    this.pending.clear();
  }

  event(kind, a, b, c, stack) {
    if (this.n + 5 > this.events.length) {
      if (this.n >= FLUSH_EVENTS * 5) {
        this.flush();
      } else {
        const grown = new Uint32Array(this.events.length * 2);
        grown.set(this.events);
        this.events = grown;
      }
    }
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
    const frames = [];
    let key = '';
    for (const s of Array.isArray(sites) ? sites : []) {
      const inst = s.getThis();
      if (inst instanceof WebAssembly.Instance) {
        if (this.instance && inst !== this.instance) continue; // another module's frame
        const func = s.getFunction(), pos = s.getPosition();
        frames.push([func, pos]);
        key += `${func}:${pos},`;
        continue;
      }
      const file = s.getFileName();
      // wasmleak's own frames, natives, Node's internals
      if (!file || file.startsWith('node:') || (SELF_DIR && file.startsWith(SELF_DIR))) continue;
      const id = this.jsFrame(s, file);
      frames.push([JS_FRAME, id]);
      key += `j${id},`;
    }
    let id = this.stackIds.get(key);
    if (id === undefined) {
      id = this.stackIds.size;
      this.newStacks.push(frames);
      this.stackIds.set(key, id);
    }
    return id;
  }

  jsFrame(s, file) {
    const line = s.getLineNumber(), column = s.getColumnNumber();
    // Not getMethodName(): it names the receiver's property the function was called through, which changes
    // from call to call (a timer's `_onTimeout`, then nothing once optimized) and would split one site in two.
    let fn = s.getFunctionName() || '(anonymous)';
    if (s.isConstructor()) fn = `new ${fn}`;
    const key = `${fn}@${file}:${line}:${column}`;
    let id = this.jsFrameIds.get(key);
    if (id === undefined) {
      id = this.jsFrameIds.size;
      this.jsFrameIds.set(key, id);
      this.newJsFrames.push({ function: fn, file: file.startsWith('file://') ? decodeURIComponent(file.slice(7)) : file, line, column });
    }
    return id;
  }

  /** Hand the buffered events, stacks and frames to the analysis. */
  flush() {
    const a = this.instrumented.analysis;
    if (!this.session) {
      this.session = a.x.wl_session(this.instrumented.handle);
      if (!this.session) throw new Error('wasmleak: the instrumented module was released');
    }
    if (this.n === 0 && this.newStacks.length === 0) return;
    const rec = { stacks: this.newStacks, js_frames: this.newJsFrames };
    const events = new Uint8Array(this.events.buffer, 0, this.n * 4);
    this.newStacks = [];
    this.newJsFrames = [];
    this.n = 0;
    a.check('record', this.session, [rec, events]);
  }

  /** What the analysis needs besides the events: the memory image and the roots JS knows about. */
  state({ instance = this.instance, memory, globals, hostValues, module = 'module.wasm', ...rest }) {
    const meta = this.instrumented.meta;
    if (!memory) memory = instance?.exports[meta.memory_export];
    const image = memory instanceof WebAssembly.Memory ? new Uint8Array(memory.buffer) : (memory ?? new Uint8Array());
    let globalValues = [];
    if (Array.isArray(globals)) {
      globalValues = globals;
    } else {
      for (const [idx, name] of meta.exported_globals) {
        let v = globals ? globals[name] : instance?.exports[name];
        if (v instanceof WebAssembly.Global) v = v.value;
        if (typeof v === 'number') globalValues.push([idx, v >>> 0]);
      }
    }
    const held = hostValues ?? [...this.hostValues].map(([ptr, name]) => [name, ptr]);
    const runtime = [...this.runtimeValues].map(([ptr, name]) => [name, ptr]);
    return [{ module, globals: globalValues, host_values: held.map(([name, v]) => [String(name), v >>> 0]), runtime_values: runtime, ...rest }, image];
  }

  /**
   * A snapshot of the heap now: { module, bytes (a `.wlsnap` file, as `wasmleak check --save` writes),
   * summary: {index, iteration, blocks, bytes, allocations, frees} }. Options as `report()`, plus
   * `iteration` (default: the snapshot's number).
   */
  snapshot(options = {}) {
    this.resolve();
    this.flush();
    const a = this.instrumented.analysis;
    a.check('snapshot', this.session, this.state(options));
    return { module: options.module ?? 'module.wasm', bytes: a.out(this.session, 0), summary: a.outJson(this.session, 1) };
  }

  /**
   * The JSON report (DESIGN.md §4) for the heap now, with growth over the snapshots taken. `memory` (a
   * WebAssembly.Memory or bytes) and `globals` ({exportName: value} or [[index, value]]) default to what
   * `instance` (or the attached one) exports; `hostValues`: [[name, pointer]] the host holds (default: what
   * `hold()` recorded).
   */
  report({ exit = { status: 'returned', message: 'returned' }, notes = [], ...options } = {}) {
    this.resolve();
    this.flush();
    const a = this.instrumented.analysis;
    const [state, image] = this.state(options);
    a.check('report', this.session, [{ ...state, exit, notes }, image]);
    const report = a.outJson(this.session, 0);
    // The CLI's text form of the same report, for textOf (not part of the JSON).
    Object.defineProperty(report, 'text', { value: fromUtf8.decode(a.out(this.session, 1)), enumerable: false });
    return report;
  }
}

