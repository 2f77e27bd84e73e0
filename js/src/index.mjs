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

import { watchInstance } from './glue.mjs';

const EV_ALLOC = 1, EV_FREE = 2, EV_REALLOC = 3;
const NO_STACK = 0xffffffff;

let enginePromise = null;
let engine = null; // the loaded Analysis, once known (attach() needs it synchronously)

// The engine's own entry points, captured before attach() patches them: the analysis module itself and every
// module wasmleak compiles go through these, never through the patched ones.
const WA = {
  instantiate: WebAssembly.instantiate,
  instantiateStreaming: WebAssembly.instantiateStreaming,
  compile: WebAssembly.compile,
  compileStreaming: WebAssembly.compileStreaming,
  Module: WebAssembly.Module,
  Instance: WebAssembly.Instance,
};

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
      const { instance } = await WA.instantiate(bytes, {});
      engine = new Analysis(instance.exports);
      return engine;
    })();
  }
  return enginePromise;
}

/** Load the analysis module synchronously (Node: read the file; elsewhere pass the bytes). */
export function loadAnalysisSync(source) {
  if (engine && !source) return engine;
  let bytes = source;
  if (!bytes || typeof bytes === 'string') {
    const fs = globalThis.process?.getBuiltinModule?.('node:fs');
    if (!fs) throw new Error('wasmleak: cannot read the analysis module synchronously here; pass its bytes to attach({ analysis })');
    bytes = fs.readFileSync(bytes || analysisPath());
  }
  const instance = new WA.Instance(new WA.Module(bytes), {});
  engine = new Analysis(instance.exports);
  enginePromise = Promise.resolve(engine);
  return engine;
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
  return instrumentWith(await loadAnalysis(), bytes);
}

/** `instrument` with the analysis already loaded (`loadAnalysisSync`). */
export function instrumentSync(bytes) {
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
  const out = a.out(handle, 0);
  return new Instrumented(a, handle, out, meta);
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

// ---------------------------------------------------------------------------------------------------------
// attach(): patch WebAssembly.* so every module with an allocator is instrumented as it loads and every
// instance of it is tracked, without changing the app.

let attached = null;

/**
 * Patch `WebAssembly.instantiate` (bytes and Module forms), `instantiateStreaming`, `compile`,
 * `compileStreaming`, `new WebAssembly.Module` and `new WebAssembly.Instance`. Call it before the app loads
 * its wasm. Modules without an allocator (or that cannot be instrumented) pass through untouched and are
 * listed in `leak.skipped`. Numbers returned by an instance's exported functions count as values the host
 * holds (pointers handed to JS, like `--invoke` in the CLI), so blocks only they keep are kind `host`.
 *
 * Returns { report(), text(), instances, skipped, detach() }. Calling attach() again returns the same object.
 * Options: `analysis` (the analysis module's bytes or path; default `analysisPath()`), `stacks` (default
 * true), `maxFrames`.
 */
export function attach({ analysis, stacks = true, maxFrames = 64 } = {}) {
  if (attached) return attached;
  loadAnalysisSync(analysis); // the synchronous constructors need it at once
  const modules = new WeakMap(); // instrumented WebAssembly.Module → { ins, name }
  const instances = []; // { name, tracker, instance, hostValues: Map<ptr, name> }
  const skipped = []; // { name, reason }
  let count = 0;

  const nameOf = (hint) => hint || `module-${++count}.wasm`;

  /** Instrument when possible; null when the module passes through untouched. */
  function tryInstrument(bytes, name) {
    let src;
    try { src = toBytes(bytes); } catch { return null; } // let the engine throw its own TypeError
    try {
      return instrumentSync(src.slice());
    } catch (e) {
      skipped.push({ name, reason: String(e.message ?? e).replace(/^wasmleak: /, '') });
      return null;
    }
  }

  function compileSync(bytes, name) {
    const ins = tryInstrument(bytes, name);
    const module = new WA.Module(ins ? ins.bytes : bytes);
    if (ins) modules.set(module, { ins, name });
    return module;
  }

  async function compileAsync(bytes, name) {
    const ins = tryInstrument(bytes, name);
    const module = await WA.compile(ins ? ins.bytes : bytes);
    if (ins) modules.set(module, { ins, name });
    return module;
  }

  function instantiateSync(module, imports) {
    const m = modules.get(module);
    if (!m) return new WA.Instance(module, imports);
    // The app's import object is left alone: the hooks go into a copy.
    const imp = { ...(imports ?? {}) };
    const tracker = m.ins.track(imp, { stacks, maxFrames });
    const instance = new WA.Instance(module, imp);
    tracker.attach(instance);
    const rec = { name: m.name, tracker, instance, hostValues: new Map(), calls: new Map() };
    wrapExports(instance, rec);
    watchInstance(instance, (value, label) => rec.hostValues.set(value >>> 0, label));
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
          rec.hostValues.set(r >>> 0, `returned by ${name} (call ${call})`);
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
      const r = await source;
      return compileAsync(new Uint8Array(await r.arrayBuffer()), responseName(r));
    },
    instantiateStreaming: async (source, imports) => {
      const r = await source;
      const module = await compileAsync(new Uint8Array(await r.arrayBuffer()), responseName(r));
      return { module, instance: instantiateSync(module, imports) };
    },
  };
  const saved = {};
  for (const [k, v] of Object.entries(patched)) {
    saved[k] = WebAssembly[k];
    Object.defineProperty(WebAssembly, k, { value: v, writable: true, configurable: true, enumerable: false });
  }

  attached = {
    instances,
    skipped,
    /** One JSON report (DESIGN.md §4) per tracked instance, in instantiation order. */
    report() {
      return instances.map((r) => r.tracker.report({
        module: r.name,
        hostValues: [...r.hostValues].map(([ptr, name]) => [name, ptr]),
      }));
    },
    /** A short text form of `report()`. */
    text(reports = this.report()) {
      return reports.map(textOf).join('\n');
    },
    /** Undo the patches (instances already tracked stay tracked). */
    detach() {
      for (const [k, v] of Object.entries(saved)) {
        Object.defineProperty(WebAssembly, k, { value: v, writable: true, configurable: true, enumerable: false });
      }
      attached = null;
    },
  };
  return attached;
}

const fmtBytes = (n) => (n < 1024 ? `${n} B` : n < 1 << 20 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / (1 << 20)).toFixed(1)} MiB`);

function frameText(f) {
  const at = f.file ? ` (${f.file}${f.line ? `:${f.line}` : ''})` : '';
  return `${f.function ?? '?'}${at}`;
}

/** One report as text: a line per group (allocation site, fix), then the summary. */
export function textOf(report) {
  const lines = [`${report.module}:`];
  for (const g of report.groups) {
    if (g.kind === 'reachable' && !g.growing) continue;
    const top = g.site ?? g.stack?.[0];
    const site = top ? ` allocated at ${frameText(top)}` : '';
    const type = g.type ? ` — ${g.type}` : '';
    lines.push(`  ${g.kind}${g.growing ? ' (growing)' : ''}: ${g.blocks} blocks, ${fmtBytes(g.bytes)}${type}${site}`);
    if (g.root) lines.push(`    held by: ${g.root}`);
    if (g.hint) lines.push(`    fix: ${g.hint}`);
  }
  const s = report.summary;
  lines.push(`  SUMMARY: leaked ${fmtBytes(s.leaked_bytes)} in ${s.leaked_blocks} blocks; reachable ${fmtBytes(s.reachable_bytes)} in ${s.reachable_blocks} blocks; ${s.invalid_frees} invalid frees; ${s.allocations} allocations, ${s.frees} frees`);
  return lines.join('\n') + '\n';
}
