// wasmleak for JavaScript hosts. The instrumenter and the analysis are the Rust crates of the CLI compiled to
// wasm32-unknown-unknown (crates/wasm-api, package wasmleak-wasm); this file only loads that module, records
// the hook events of an instrumented module with their stacks, and hands them over. No analysis lives here.
//
// Stacks (V8 as in Node 20 and Chromium): with `Error.prepareStackTrace = (_, callSites) => callSites` and
// `Error.captureStackTrace`, a *wasm* frame's structured call site gives, without parsing any string:
//   getThis()          the WebAssembly.Instance the frame runs in (so frames of other modules can be dropped)
//   getFunction()      the function index (a number; JS frames give a function or undefined)
//   getPosition()      the byte offset of the call in the module (getColumnNumber() is that + 1)
// Index and offset are in the instrumented module; the Rust side maps them back through the rewrite's CodeMap.
// JS frames (file, line, column, function name) are kept too, except wasmleak's own.
//
// The browser build (`wasmleak serve`'s /__wasmleak/runtime.js) concatenates the files of this directory:
// keep static imports to sibling files on one line each, and no `import.meta`.
import { watchInstance, wrapImports } from './glue.mjs';
import { showOverlay } from './overlay.mjs';

const EV_ALLOC = 1, EV_FREE = 2, EV_REALLOC = 3, EV_SET_STACK = 4; // crates/wasm-api: wl_record
const NO_STACK = 0xffffffff;
const JS_FRAME = 0xffffffff; // a stack entry [JS_FRAME, i] is js frame i
const FLUSH_EVENTS = 1 << 16; // events buffered before they are handed to the analysis
const MAX_KEPT = 32; // snapshots kept for files and growth (crates/wasm-api MAX_KEPT)

let enginePromise = null;
let engine = null; // the loaded Analysis, once known (synchronous entry points need it at once)

// The engine's own entry points, captured before attach() patches them: the analysis module itself and every
// module wasmleak compiles go through these, never through the patched ones. Kept on globalThis so that a
// second copy of this file (the app imports the runtime while `wasmleak node` loaded its own copy first)
// captures the originals, not the first copy's patches.
const WA = (globalThis[Symbol.for('wasmleak.WebAssembly')] ??= {
  instantiate: WebAssembly.instantiate,
  instantiateStreaming: WebAssembly.instantiateStreaming,
  compile: WebAssembly.compile,
  compileStreaming: WebAssembly.compileStreaming,
  Module: WebAssembly.Module,
  Instance: WebAssembly.Instance,
});

const isNode = !!globalThis.process?.versions?.node;

const asCallSites = (_, callSites) => callSites;

/** Structured call sites of the caller, innermost first. */
function callSites(limit) {
  const prepare = Error.prepareStackTrace, oldLimit = Error.stackTraceLimit;
  Error.prepareStackTrace = asCallSites;
  Error.stackTraceLimit = limit;
  const holder = {};
  Error.captureStackTrace(holder, callSites);
  const sites = holder.stack;
  Error.prepareStackTrace = prepare;
  Error.stackTraceLimit = oldLimit;
  return Array.isArray(sites) ? sites : [];
}

// Frames of files in wasmleak's own directory (this file, glue.mjs, the browser bundle) are not the app's.
const SELF_DIR = (() => {
  const file = callSites(1)[0]?.getFileName?.() ?? '';
  return file.slice(0, file.lastIndexOf('/') + 1) || null;
})();

/**
 * When the code compiling a module is Node's own (undici's llhttp, behind fetch and Response), its file
 * (`node:internal/...`); such modules are not the app's and are left alone.
 */
function runtimeCaller() {
  for (const s of callSites(16)) {
    const file = s.getFileName();
    if (!file || (SELF_DIR && file.startsWith(SELF_DIR))) continue;
    return file.startsWith('node:') ? file : null;
  }
  return null;
}

/** Where the wasm-compiled analysis is in Node: $WASMLEAK_WASM, else the cargo target dir. */
function analysisPath() {
  const env = globalThis.process?.env ?? {};
  if (env.WASMLEAK_WASM) return env.WASMLEAK_WASM;
  const target = env.CARGO_TARGET_DIR || '/var/tmp/wasmleak-target';
  return `${target}/wasm32-unknown-unknown/release/wasmleak_wasm.wasm`;
}

/** The analysis module's bytes from `source`: bytes, a Response (or its promise), a path (Node) or a URL. */
async function analysisBytes(source) {
  source = await source;
  if (source && typeof source === 'object' && typeof source.arrayBuffer === 'function') {
    return new Uint8Array(await source.arrayBuffer());
  }
  if (source && typeof source !== 'string' && !(source instanceof URL)) return toBytes(source);
  const where = source ? String(source) : null;
  if (isNode && (!where || !/^(https?|data|blob):/.test(where))) {
    const { readFile } = await import('node:fs/promises');
    return readFile(where?.startsWith('file:') ? new URL(where) : (where || analysisPath()));
  }
  if (!where) throw new Error('wasmleak: pass the analysis module to attach({ analysis: url or bytes })');
  const r = await fetch(where);
  if (!r.ok) throw new Error(`wasmleak: loading the analysis from ${where}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

/** Load the analysis module (once). `source`: bytes, a path (Node), a URL, or nothing for the default path. */
function loadAnalysis(source) {
  if (!enginePromise || source) {
    enginePromise = (async () => {
      const { instance } = await WA.instantiate(await analysisBytes(source), {});
      engine = new Analysis(instance.exports);
      return engine;
    })();
  }
  return enginePromise;
}

/** Load the analysis module synchronously (Node: read the file; elsewhere pass the bytes). */
function loadAnalysisSync(source) {
  if (engine && !source) return engine;
  let bytes = source;
  if (!bytes || typeof bytes === 'string' || bytes instanceof URL) {
    const fs = globalThis.process?.getBuiltinModule?.('node:fs');
    if (!fs) throw new Error('wasmleak: cannot read the analysis module synchronously here; pass its bytes, or use attach() which loads it asynchronously');
    bytes = fs.readFileSync(bytes || analysisPath());
  }
  const instance = new WA.Instance(new WA.Module(toBytes(bytes)), {});
  engine = new Analysis(instance.exports);
  enginePromise = Promise.resolve(engine);
  return engine;
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** The loaded analysis module and the plumbing of its C ABI (crates/wasm-api/src/lib.rs). */
class Analysis {
  constructor(x) { this.x = x; }

  /** Copy bytes into the analysis module's memory; returns [ptr, len]. */
  put(bytes) {
    const len = bytes.length;
    const ptr = this.x.wl_alloc(len);
    new Uint8Array(this.x.memory.buffer, ptr, len).set(bytes);
    return [ptr, len];
  }

  /** Call `wl_<name>(...handles, ...inputs)` with each input copied in (objects as JSON) and freed after. */
  call(name, handles, inputs) {
    const bufs = inputs.map((v) => this.put(v instanceof Uint8Array ? v : utf8.encode(JSON.stringify(v))));
    try {
      return this.x[`wl_${name}`](...handles, ...bufs.flat());
    } finally {
      for (const [p, l] of bufs) this.x.wl_free(p, l);
    }
  }

  out(handle, i) {
    const ptr = this.x.wl_out_ptr(handle, i), len = this.x.wl_out_len(handle, i);
    return new Uint8Array(this.x.memory.buffer, ptr, len).slice();
  }

  outJson(handle, i) {
    return JSON.parse(fromUtf8.decode(this.out(handle, i)));
  }

  /** `call`, then output 0 as an Error when the status says so. */
  check(name, handle, inputs) {
    if (this.call(name, [handle], inputs) !== 0) throw new Error(`wasmleak: ${this.outJson(handle, 0).error}`);
  }
}

/**
 * Instrument a module: find its allocator and rewrite it so every allocation and free calls the `wasmleak`
 * hook imports. Returns { bytes, meta: {entry_points, exported_globals, memory_export}, track(imports), release() }.
 */
async function instrument(bytes) {
  return instrumentWith(await loadAnalysis(), bytes);
}

/** `instrument` with the analysis already loaded (`loadAnalysisSync`). */
function instrumentSync(bytes) {
  return instrumentWith(loadAnalysisSync(), bytes);
}

function instrumentWith(a, bytes) {
  const src = toBytes(bytes);
  const [ptr, len] = a.put(src);
  const handle = a.x.wl_instrument(ptr, len);
  a.x.wl_free(ptr, len);
  const meta = a.outJson(handle, 1);
  if (meta.error) {
    a.x.wl_release(handle);
    throw new Error(`wasmleak: ${meta.error}`);
  }
  return new Instrumented(a, handle, a.out(handle, 0), meta);
}

/** BufferSource → Uint8Array (a view of the same bytes). */
function toBytes(b) {
  if (b instanceof Uint8Array) return b;
  if (ArrayBuffer.isView(b)) return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  if (b instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && b instanceof SharedArrayBuffer)) return new Uint8Array(b);
  throw new TypeError('wasmleak: expected a BufferSource');
}

class Instrumented {
  constructor(analysis, handle, bytes, meta) {
    this.analysis = analysis;
    this.handle = handle;
    this.bytes = bytes;
    this.meta = meta;
  }

  /** Add the `wasmleak` hook imports to `imports` and return the tracker recording their events. */
  track(imports = {}, options) {
    return track(this, imports, options);
  }

  release() {
    this.analysis.x.wl_release(this.handle);
  }
}

/**
 * Record the hook events of an instrumented module. `imports` (the object passed to instantiate) gets a
 * `wasmleak` namespace. Call `tracker.attach(instance)` once instantiated (frames of other instances are
 * then dropped); then `tracker.snapshot()` any time and `tracker.report()` at the end.
 */
function track(instrumented, imports = {}, { stacks = true, maxFrames = 64 } = {}) {
  const t = new Tracker(instrumented, stacks, maxFrames);
  imports.wasmleak = {
    alloc: (ptr, size) => t.alloc(ptr >>> 0, size >>> 0),
    free: (ptr) => t.free(ptr >>> 0),
    realloc: (old, ptr, size) => t.realloc(old >>> 0, ptr >>> 0, size >>> 0),
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

/**
 * Compare two snapshots of one instance (`.wlsnap` bytes, or what `tracker.snapshot()` returned) like
 * `wasmleak diff`: { module, before, after, rows, text }. Options: by ('site' | 'type'), filter, sort
 * ('delta-bytes' | 'delta-count' | 'new' | 'freed' | 'size'), all.
 */
function diffSnapshots(before, after, options = {}) {
  const a = engine;
  if (!a) throw new Error('wasmleak: the analysis is not loaded yet');
  const bytes = (s) => toBytes(s?.bytes ?? s);
  const h = a.call('diff', [], [bytes(before), bytes(after), options]);
  try {
    const json = a.outJson(h, 0);
    if (json.error) throw new Error(`wasmleak: ${json.error}`);
    return { ...json, text: fromUtf8.decode(a.out(h, 1)) };
  } finally {
    a.x.wl_release(h);
  }
}

// ---------------------------------------------------------------------------------------------------------
// attach(): patch WebAssembly.* so every module with an allocator is instrumented as it loads and every
// instance of it is tracked, without changing the app.

// The one attach() of the process or page, whichever copy of this file made it.
const ATTACHED = Symbol.for('wasmleak.attached');

/**
 * Patch `WebAssembly.instantiate` (bytes and Module forms), `instantiateStreaming`, `compile`,
 * `compileStreaming`, `new WebAssembly.Module` and `new WebAssembly.Instance`. Call it before the app loads
 * its wasm. Modules without an allocator (or that cannot be instrumented) pass through untouched and are
 * listed in `leak.skipped`. Numbers returned by an instance's exported functions count as values the host
 * holds (pointers handed to JS, like `--invoke` in the CLI), so blocks only they keep are kind `host`.
 *
 * Node loads the analysis synchronously; a browser cannot compile it synchronously (Chromium forbids it for
 * modules over 4 KB on the main thread), so there the asynchronous entry points wait for `leak.ready` and a
 * module compiled synchronously before that passes through untracked (listed in `skipped`).
 *
 * Returns { ready, instances, skipped, snapshot(), diff(a, b), report(), text(), detach() }. Calling attach()
 * again returns the same object. Options: `analysis` (the analysis module's bytes, path (Node) or URL;
 * default `$WASMLEAK_WASM` or the cargo target dir in Node), `stacks` (default true), `maxFrames`, `overlay`
 * (the in-page panel: snapshot, compare), `server` (overlay: POST snapshots to `wasmleak serve`),
 * `snapshotInterval` (ms: take a snapshot that often, for a growth verdict over time; `leak.snapshots` and the
 * growth verdict keep at most 32 of them, evenly spaced), `namePrefix` (before every module name: a worker's).
 */
function attach({ analysis, stacks = true, maxFrames = 64, overlay = false, server = false, snapshotInterval = 0, namePrefix = '' } = {}) {
  if (globalThis[ATTACHED]) return globalThis[ATTACHED];
  let timer = null;
  let ready;
  if (isNode && !(typeof analysis === 'string' && /^https?:/.test(analysis))) {
    ready = Promise.resolve(loadAnalysisSync(analysis)); // the synchronous constructors need it at once
  } else {
    ready = loadAnalysis(analysis);
  }
  const modules = new WeakMap(); // instrumented WebAssembly.Module → { ins, name }
  const instances = []; // { name, tracker, instance }
  const skipped = []; // { name, reason }
  const snapshots = []; // what leak.snapshot() returned, in order (at most MAX_KEPT, every `stride`-th)
  let taken = 0, stride = 1;
  let count = 0;

  const nameOf = (hint) => namePrefix + (hint || `module-${++count}.wasm`);

  /** Instrument when possible; null when the module passes through untouched. */
  function tryInstrument(bytes, name, internal) {
    let src;
    try { src = toBytes(bytes); } catch { return null; } // let the engine throw its own TypeError
    if (internal) {
      skipped.push({ name, reason: `loaded by ${internal} (the runtime's own module, not the app's)` });
      return null;
    }
    if (!engine) {
      skipped.push({ name, reason: 'compiled synchronously before the analysis module was loaded (await leak.ready first)' });
      return null;
    }
    try {
      return instrumentWith(engine, src.slice());
    } catch (e) {
      skipped.push({ name, reason: String(e.message ?? e).replace(/^wasmleak: /, '') });
      return null;
    }
  }

  function compileSync(bytes, name) {
    const ins = tryInstrument(bytes, name, runtimeCaller());
    const module = new WA.Module(ins ? ins.bytes : bytes);
    if (ins) modules.set(module, { ins, name });
    return module;
  }

  async function compileAsync(bytes, name, internal = runtimeCaller()) {
    await ready.catch(() => {});
    const ins = tryInstrument(bytes, name, internal);
    const module = await WA.compile(ins ? ins.bytes : bytes);
    if (ins) modules.set(module, { ins, name });
    return module;
  }

  function instantiateSync(module, imports) {
    const m = modules.get(module);
    if (!m) return new WA.Instance(module, imports);
    // The app's import object is left alone: the hooks go into a copy.
    let imp = { ...(imports ?? {}) };
    const tracker = m.ins.track(imp, { stacks, maxFrames });
    imp = wrapImports(imp, (value, label, opts) => tracker.hold(value, label, opts ?? { runtime: true }));
    const instance = new WA.Instance(module, imp);
    tracker.attach(instance);
    const rec = { name: m.name, tracker, instance, calls: new Map() };
    wrapExports(instance, rec);
    watchInstance(instance, (value, label) => tracker.hold(value, label));
    instances.push(rec);
    return instance;
  }

  /** Record what exported functions return (pointers JS may now hold). */
  function wrapExports(instance, rec) {
    const raw = instance.exports;
    const wrapped = {};
    for (const [name, value] of Object.entries(raw)) {
      if (typeof value !== 'function') { wrapped[name] = value; continue; }
      const f = function (...args) {
        const r = value.apply(this, args);
        if (typeof r === 'number' && r > 0) {
          const call = (rec.calls.get(name) ?? 0) + 1;
          rec.calls.set(name, call);
          rec.tracker.hold(r, `returned by ${name} (call ${call})`);
        }
        return r;
      };
      Object.defineProperty(f, 'name', { value: value.name });
      Object.defineProperty(f, 'length', { value: value.length });
      wrapped[name] = f;
    }
    Object.defineProperty(instance, 'exports', { value: Object.freeze(wrapped), enumerable: true });
  }

  const responseName = (r) => {
    const url = r?.url;
    return url ? nameOf(url.split('/').pop().split('?')[0]) : nameOf();
  };

  function Module(bytes) {
    if (!new.target) throw new TypeError("WebAssembly.Module must be invoked with 'new'");
    return compileSync(bytes, nameOf());
  }
  function Instance(module, imports) {
    if (!new.target) throw new TypeError("WebAssembly.Instance must be invoked with 'new'");
    return instantiateSync(module, imports);
  }
  for (const [fake, real] of [[Module, WA.Module], [Instance, WA.Instance]]) {
    fake.prototype = real.prototype; // instanceof keeps working
    Object.setPrototypeOf(fake, real); // Module.imports / exports / customSections
  }

  const patched = {
    Module,
    Instance,
    compile: (bytes) => compileAsync(bytes, nameOf()),
    instantiate: async (source, imports) => {
      if (source instanceof WA.Module) return instantiateSync(source, imports);
      const module = await compileAsync(source, nameOf());
      return { module, instance: instantiateSync(module, imports) };
    },
    compileStreaming: async (source) => {
      const internal = runtimeCaller();
      const r = await source;
      return compileAsync(new Uint8Array(await r.arrayBuffer()), responseName(r), internal);
    },
    instantiateStreaming: async (source, imports) => {
      const internal = runtimeCaller();
      const r = await source;
      const module = await compileAsync(new Uint8Array(await r.arrayBuffer()), responseName(r), internal);
      return { module, instance: instantiateSync(module, imports) };
    },
  };
  const saved = {};
  for (const [k, v] of Object.entries(patched)) {
    saved[k] = WebAssembly[k];
    Object.defineProperty(WebAssembly, k, { value: v, writable: true, configurable: true, enumerable: false });
  }

  const attached = {
    ready: ready.then(() => attached),
    instances,
    skipped,
    snapshots,
    /**
     * A snapshot of every tracked instance: { index, modules: [{ module, bytes (.wlsnap), summary }] }.
     * Three or more give the report a growth verdict (sites that grew at every snapshot).
     */
    async snapshot({ iteration } = {}) {
      await ready;
      const index = ++taken;
      const snap = {
        index,
        modules: instances.map((r) => r.tracker.snapshot({ module: r.name, instance: r.instance, iteration: iteration ?? index })),
      };
      // `snapshots` keeps at most MAX_KEPT, evenly spaced (as the analysis keeps them for growth).
      if (index % stride === 0) {
        snapshots.push(snap);
        if (snapshots.length > MAX_KEPT) {
          stride *= 2;
          for (let i = snapshots.length - 1; i >= 0; i--) if (snapshots[i].index % stride !== 0) snapshots.splice(i, 1);
        }
      }
      return snap;
    },
    /**
     * Compare two snapshots (what `snapshot()` returned), module by module, like `wasmleak diff`:
     * { modules: [{ module, before, after, rows }], text(), json() }.
     */
    diff(before, after, options = {}) {
      const modules = [];
      after.modules.forEach((b, i) => {
        const a = before.modules[i];
        if (!a || a.module !== b.module) return; // instantiated in between: nothing to compare with
        modules.push(diffSnapshots(a, b, options));
      });
      return {
        modules,
        text: () => modules.map((m) => `${m.module}:\n${m.text}`).join('\n'),
        json: () => modules.map(({ text, ...m }) => m),
      };
    },
    /**
     * One JSON report (DESIGN.md §4) per tracked instance, in instantiation order. `exit`: how the app ended
     * ({status: 'returned' | 'exited' | 'trap', code, message}), `notes`: lines for every report.
     */
    report({ exit, notes } = {}) {
      return instances.map((r) => r.tracker.report({ module: r.name, instance: r.instance, exit, notes }));
    },
    /** A short text form of `report()`. */
    text(reports = this.report()) {
      return reports.map(textOf).join('\n');
    },
    /** Undo the patches (instances already tracked stay tracked). */
    detach() {
      if (timer) clearInterval(timer);
      for (const [k, v] of Object.entries(saved)) {
        Object.defineProperty(WebAssembly, k, { value: v, writable: true, configurable: true, enumerable: false });
      }
      delete globalThis[ATTACHED];
    },
  };
  globalThis[ATTACHED] = attached;
  // Periodic snapshots: between tasks, so never in the middle of a wasm call; the timer keeps no process alive.
  if (snapshotInterval > 0) {
    timer = setInterval(() => { if (instances.length) attached.snapshot().catch(() => {}); }, snapshotInterval);
    timer.unref?.();
  }
  if (overlay) showOverlay(attached, { server });
  return attached;
}

const fmtBytes = (n) => (n < 1024 ? `${n} B` : n < 1 << 20 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / (1 << 20)).toFixed(1)} MiB`);

function frameText(f) {
  const at = f.file ? ` (${f.file}${f.line ? `:${f.line}` : ''})` : '';
  return `${f.function ?? '?'}${at}`;
}

/**
 * One report as text: as `wasmleak check` prints it when the report came from this runtime, else (a report
 * read back from JSON) a line per group (allocation site, the app's line, root, fix), then the summary.
 */
function textOf(report) {
  if (typeof report.text === 'string') return report.text;
  const lines = [`${report.module}:`];
  for (const g of report.groups) {
    if (g.kind === 'reachable' && !g.growing) continue;
    const top = g.site ?? g.stack?.[0];
    const site = top ? ` allocated at ${frameText(top)}` : '';
    const type = g.type ? ` — ${g.type}` : '';
    lines.push(`  ${g.kind}${g.growing ? ' (growing)' : ''}: ${g.blocks} blocks, ${fmtBytes(g.bytes)}${type}${site}`);
    const js = g.stack?.find((f) => f.file && !/\.(rs|c|cc|cpp|h|hpp)$/.test(f.file) && !f.file.includes('node_modules'));
    if (js && js !== top) lines.push(`    from ${frameText(js)}`);
    if (g.root) lines.push(`    held by: ${g.root}`);
    if (g.hint) lines.push(`    fix: ${g.hint}`);
  }
  const s = report.summary;
  lines.push(`  SUMMARY: leaked ${fmtBytes(s.leaked_bytes)} in ${s.leaked_blocks} blocks; reachable ${fmtBytes(s.reachable_bytes)} in ${s.reachable_blocks} blocks; ${s.invalid_frees} invalid frees; ${s.allocations} allocations, ${s.frees} frees`);
  return lines.join('\n') + '\n';
}

export {
  attach, analysisPath, loadAnalysis, loadAnalysisSync, instrument, instrumentSync, track, diffSnapshots as diff,
  textOf,
};
