// Loading the analysis (the Rust crates of the CLI compiled to wasm32-unknown-unknown: crates/wasm-api) and
// the plumbing of its C ABI; instrumenting a module and comparing snapshots through it.
import { track } from './tracker.mjs';

let enginePromise = null;
let engine = null; // the loaded Analysis, once known (synchronous entry points need it at once)

// The engine's own entry points, captured before attach() patches them: the analysis module itself and every
// module wasmleak compiles go through these, never through the patched ones. Kept on globalThis so that a
// second copy of this file (the app imports the runtime while `wasmleak node` loaded its own copy first)
// captures the originals, not the first copy's patches.
export const WA = (globalThis[Symbol.for('wasmleak.WebAssembly')] ??= {
  instantiate: WebAssembly.instantiate,
  instantiateStreaming: WebAssembly.instantiateStreaming,
  compile: WebAssembly.compile,
  compileStreaming: WebAssembly.compileStreaming,
  Module: WebAssembly.Module,
  Instance: WebAssembly.Instance,
  Table: WebAssembly.Table,
  tableSet: WebAssembly.Table.prototype.set,
  tableGrow: WebAssembly.Table.prototype.grow,
});

export const isNode = !!globalThis.process?.versions?.node;

/** The analysis, once loaded (the synchronous entry points of attach() need it at once). */
export function currentEngine() {
  return engine;
}

/**
 * Where the wasm-compiled analysis is in Node: $WASMLEAK_WASM, else the one the npm package ships (its Node
 * entry, node.mjs, says where), else the cargo target dir.
 */
export function analysisPath() {
  const env = globalThis.process?.env ?? {};
  if (env.WASMLEAK_WASM) return env.WASMLEAK_WASM;
  const shipped = globalThis[Symbol.for('wasmleak.shippedAnalysis')];
  if (shipped) return shipped;
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
export function loadAnalysis(source) {
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
export function loadAnalysisSync(source) {
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
export const fromUtf8 = new TextDecoder();

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
export async function instrument(bytes) {
  return instrumentWith(await loadAnalysis(), bytes);
}

/** `instrument` with the analysis already loaded (`loadAnalysisSync`). */
export function instrumentSync(bytes) {
  return instrumentWith(loadAnalysisSync(), bytes);
}

/**
 * `allocator`: the entry points to hook, `{alloc, free, realloc, calloc, aligned_alloc, posix_memalign}`, each a
 * list of function names or indices (as `wasmleak check --alloc-fn` takes them). A refusal throws an Error with
 * `status` ('not_found', 'language_runtime', 'unsupported', 'malformed') and `heap` (the module grows a heap).
 * `debugFiles`: the unstripped builds (or separate DWARF files) of stripped modules, as bytes.
 */
export function instrumentWith(a, bytes, allocator = {}, debugFiles = []) {
  const src = toBytes(bytes);
  // The first debug file whose code is this module's names it (the analysis checks); none: its own names.
  let h = 0;
  for (const dbg of debugFiles) {
    h = a.call('instrument_debug', [], [src, allocator, toBytes(dbg)]);
    if (a.outJson(h, 1).debug_file) break;
    a.x.wl_release(h);
    h = 0;
  }
  if (!h) h = a.call('instrument_with', [], [src, allocator]);
  const meta = a.outJson(h, 1);
  if (meta.error) {
    a.x.wl_release(h);
    throw Object.assign(new Error(`wasmleak: ${meta.error}`), { status: meta.status, heap: meta.heap });
  }
  return new Instrumented(a, h, a.out(h, 0), meta);
}

/** BufferSource → Uint8Array (a view of the same bytes). */
export function toBytes(b) {
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
 * Compare two snapshots of one instance (`.wlsnap` bytes, or what `tracker.snapshot()` returned) like
 * `wasmleak diff`: { module, before, after, rows, text }. Options: by ('site' | 'type'), filter, sort
 * ('delta-bytes' | 'delta-count' | 'new' | 'freed' | 'size'), all.
 */
export function diffSnapshots(before, after, options = {}) {
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

