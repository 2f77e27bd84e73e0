// wasmleak for JavaScript hosts. The instrumenter and the analysis are the Rust crates of the CLI compiled to
// wasm32-unknown-unknown (crates/wasm-api, package wasmleak-wasm); this file only loads that module, records
// the hook events of an instrumented module with their stacks, and hands them over. No analysis lives here.
//
// Stacks (V8 as in Node 20, V8 11.3): with `Error.prepareStackTrace = (_, callSites) => callSites` and
// `Error.captureStackTrace`, a *wasm* frame's structured call site gives, without parsing any string:
//   getThis()          the WebAssembly.Instance the frame runs in (so frames of other modules can be dropped)
//   getFunction()      the function index (a number; JS frames give a function or undefined)
//   getPosition()      the byte offset of the call in the module (getColumnNumber() is that + 1,
//                      getLineNumber() is 1, getFileName() is `wasm://wasm/<hash>`)
//   getFunctionName()  the name-section name or null; toString() is `name (wasm://wasm/<hash>:wasm-function[IDX]:0xOFF)`
// Index and offset are in the instrumented module; the Rust side maps them back through the rewrite's CodeMap.
// JS frames are not kept yet (first slice of issue 4).

const EV_ALLOC = 1, EV_FREE = 2, EV_REALLOC = 3;
const NO_STACK = 0xffffffff;

let enginePromise = null;

/** Where the wasm-compiled analysis is: $WASMLEAK_WASM, else the cargo target dir. */
export function analysisPath() {
  const env = globalThis.process?.env ?? {};
  if (env.WASMLEAK_WASM) return env.WASMLEAK_WASM;
  const target = env.CARGO_TARGET_DIR || '/var/tmp/wasmleak-target';
  return `${target}/wasm32-unknown-unknown/release/wasmleak_wasm.wasm`;
}

/** Load the analysis module (once). `source`: bytes, a path (Node), or nothing for the default path. */
export function loadAnalysis(source) {
  if (!enginePromise || source) {
    enginePromise = (async () => {
      let bytes = source;
      if (!bytes || typeof bytes === 'string') {
        const { readFile } = await import('node:fs/promises');
        bytes = await readFile(bytes || analysisPath());
      }
      const { instance } = await WebAssembly.instantiate(bytes, {});
      return new Analysis(instance.exports);
    })();
  }
  return enginePromise;
}

class Analysis {
  constructor(x) { this.x = x; }

  /** Copy bytes into the analysis module's memory; returns [ptr, len]. */
  put(bytes) {
    const len = bytes.length;
    const ptr = this.x.wl_alloc(len);
    new Uint8Array(this.x.memory.buffer, ptr, len).set(bytes);
    return [ptr, len];
  }

  out(handle, i) {
    const ptr = this.x.wl_out_ptr(handle, i), len = this.x.wl_out_len(handle, i);
    return new Uint8Array(this.x.memory.buffer, ptr, len).slice();
  }

  outJson(handle, i) {
    return JSON.parse(new TextDecoder().decode(this.out(handle, i)));
  }
}

/**
 * Instrument a module: find its allocator and rewrite it so every allocation and free calls the `wasmleak`
 * hook imports. Returns { bytes, meta: {entry_points, exported_globals, memory_export}, track(imports), release() }.
 */
export async function instrument(bytes) {
  const a = await loadAnalysis();
  const src = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes.buffer ?? bytes);
  const [ptr, len] = a.put(src);
  const handle = a.x.wl_instrument(ptr, len);
  a.x.wl_free(ptr, len);
  const meta = a.outJson(handle, 1);
  if (meta.error) {
    a.x.wl_release(handle);
    throw new Error(`wasmleak: ${meta.error}`);
  }
  const out = a.out(handle, 0);
  return new Instrumented(a, handle, out, meta);
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
 * then dropped), and `tracker.report(...)` at the end.
 */
export function track(instrumented, imports = {}, { stacks = true, maxFrames = 64 } = {}) {
  const t = new Tracker(instrumented, stacks, maxFrames);
  imports.wasmleak = {
    alloc: (ptr, size) => t.event(EV_ALLOC, ptr >>> 0, size >>> 0, 0),
    free: (ptr) => t.event(EV_FREE, ptr >>> 0, 0, 0),
    realloc: (old, ptr, size) => t.event(EV_REALLOC, old >>> 0, ptr >>> 0, size >>> 0),
  };
  t.imports = imports;
  return t;
}

const asCallSites = (_, callSites) => callSites;

class Tracker {
  constructor(instrumented, stacks, maxFrames) {
    this.instrumented = instrumented;
    this.stacks = stacks;
    this.maxFrames = maxFrames;
    this.instance = null;
    this.events = new Uint32Array(5 * 1024);
    this.n = 0; // words used
    this.stackIds = new Map();
    this.stackList = [];
  }

  attach(instance) {
    this.instance = instance;
    return this;
  }

  event(kind, a, b, c) {
    if (this.n + 5 > this.events.length) {
      const grown = new Uint32Array(this.events.length * 2);
      grown.set(this.events);
      this.events = grown;
    }
    const e = this.events, n = this.n;
    e[n] = kind; e[n + 1] = a; e[n + 2] = b; e[n + 3] = c;
    e[n + 4] = this.stacks ? this.captureStack() : NO_STACK;
    this.n = n + 5;
  }

  /** The wasm frames of the current call as [func_index, module_offset] pairs, interned. */
  captureStack() {
    const prepare = Error.prepareStackTrace, limit = Error.stackTraceLimit;
    Error.prepareStackTrace = asCallSites;
    Error.stackTraceLimit = this.maxFrames;
    const holder = {};
    Error.captureStackTrace(holder);
    const sites = holder.stack;
    Error.prepareStackTrace = prepare;
    Error.stackTraceLimit = limit;
    const frames = [];
    let key = '';
    for (const s of sites) {
      const inst = s.getThis();
      if (!(inst instanceof WebAssembly.Instance)) continue; // a JS frame (the hook itself, the caller)
      if (this.instance && inst !== this.instance) continue;
      const func = s.getFunction(), pos = s.getPosition();
      frames.push([func, pos]);
      key += `${func}:${pos},`;
    }
    let id = this.stackIds.get(key);
    if (id === undefined) {
      id = this.stackList.length;
      this.stackList.push(frames);
      this.stackIds.set(key, id);
    }
    return id;
  }

  /**
   * The JSON report (DESIGN.md §4), produced by the Rust analysis. `memory` (a WebAssembly.Memory or bytes)
   * and `globals` ({exportName: value} or [[index, value]]) default to what `instance` (or the attached one)
   * exports; `hostValues`: [[name, pointer]] the host holds (e.g. pointers returned by exports).
   */
  report({ instance = this.instance, memory, globals, hostValues = [], module = 'module.wasm', iteration = 1,
           exit = { status: 'returned', message: 'returned' }, notes = [] } = {}) {
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
    const rec = {
      module, iteration, exit, notes,
      stacks: this.stackList,
      globals: globalValues,
      host_values: hostValues.map(([name, v]) => [String(name), v >>> 0]),
    };
    const a = this.instrumented.analysis;
    const json = a.put(new TextEncoder().encode(JSON.stringify(rec)));
    const events = a.put(new Uint8Array(this.events.buffer, 0, this.n * 4));
    const mem = a.put(image);
    const status = a.x.wl_report(this.instrumented.handle, ...json, ...events, ...mem);
    for (const [p, l] of [json, events, mem]) a.x.wl_free(p, l);
    const out = a.outJson(this.instrumented.handle, 2);
    if (status !== 0) throw new Error(`wasmleak: ${out.error}`);
    return out;
  }
}
