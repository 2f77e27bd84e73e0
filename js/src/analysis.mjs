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

/**
 * Load the analysis module synchronously (Node: read the file; elsewhere pass the bytes). On Node's main thread,
 * when node.mjs said where the analysis thread's entry is, the analysis runs on a thread of its own
 * (`RemoteAnalysis`); WASMLEAK_ANALYSIS_THREAD=0 keeps it on the caller's thread.
 */
export function loadAnalysisSync(source) {
  if (engine && !source) return engine;
  const remote = analysisThread();
  let bytes = source;
  if (!bytes || typeof bytes === 'string' || bytes instanceof URL) {
    const fs = globalThis.process?.getBuiltinModule?.('node:fs');
    if (!fs) throw new Error('wasmleak: cannot read the analysis module synchronously here; pass its bytes, or use attach() which loads it asynchronously');
    const path = bytes || analysisPath();
    const file = path instanceof URL || String(path).startsWith('file:') ? new URL(path) : path;
    if (remote) fs.accessSync(file); // a missing file fails here, as reading it would
    bytes = remote ? String(path) : fs.readFileSync(file); // the thread reads the file itself
  }
  engine = remote
    ? new RemoteAnalysis(typeof bytes === 'string' ? bytes : toBytes(bytes).slice())
    : new Analysis(new WA.Instance(new WA.Module(toBytes(bytes)), {}).exports);
  enginePromise = Promise.resolve(engine);
  return engine;
}

/** The analysis thread's entry (node.mjs sets it), when the analysis is to run there. */
function analysisThread() {
  const url = globalThis[Symbol.for('wasmleak.analysisThread')];
  const wt = globalThis.process?.getBuiltinModule?.('node:worker_threads');
  return url && wt?.isMainThread && globalThis.process.env.WASMLEAK_ANALYSIS_THREAD !== '0' ? url : null;
}

const utf8 = new TextEncoder();
export const fromUtf8 = new TextDecoder();

/** The loaded analysis module and the plumbing of its C ABI (crates/wasm-api/src/lib.rs). */
class Analysis {
  constructor(x) {
    this.x = x;
    x?.wl_init?.();
  }

  /** `e` as thrown by a call into the analysis: a trap from a panic gets the panic's message. */
  failure(e) {
    const len = e instanceof WebAssembly.RuntimeError && this.x?.wl_panic_len?.();
    if (!len) return e;
    const text = fromUtf8.decode(new Uint8Array(this.x.memory.buffer, this.x.wl_panic_ptr(), len));
    return new Error(`wasmleak: the analysis failed (a wasmleak bug, please report it with the module): ${text}`);
  }

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
    } catch (e) {
      throw this.failure(e);
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

  /**
   * Hand a session a batch of events (tracker.mjs: the first `words` of `buffer`, a Uint32Array) and the stacks
   * and frames they use. Returns the buffer to fill next: `buffer` again, or one of the same size.
   */
  record(session, rec, buffer, words) {
    this.check('record', session, [rec, new Uint8Array(buffer.buffer, 0, words * 4)]);
    return buffer;
  }

  /** Instrument `src` with `allocator` (wl_instrument_with's options): the handle whose outputs are bytes, meta. */
  instrument(src, allocator) {
    return this.call('instrument_with', [], [src, allocator]);
  }

  /** A new session for an instance of the instrumented module `handle` (0: released). */
  session(handle) {
    return this.x.wl_session(handle);
  }
}

/**
 * The analysis on a thread of its own (analysis_thread.mjs), for Node's main thread: the app's thread only
 * records events and stacks, and the heap model's work on them (a third of a tracked run's time on an
 * allocation-heavy app) happens on another core, as `wasmleak check`'s model thread does; the thread also reads
 * the module's DWARF while the app runs, which the report at exit would otherwise wait for. Batches of events
 * are posted without waiting; every other call waits for its answer (Atomics.wait on the main thread; the
 * answer is taken with receiveMessageOnPort), so the API stays synchronous — and works in an `exit` handler.
 * Sessions get their handle here (`virtual`), so that making one does not wait either.
 */
class RemoteAnalysis extends Analysis {
  constructor(source) {
    super(null);
    const wt = globalThis.process.getBuiltinModule('node:worker_threads');
    this.receive = wt.receiveMessageOnPort;
    const { port1, port2 } = new wt.MessageChannel();
    this.port = port1;
    const spares = new wt.MessageChannel(); // event buffers the thread recorded, for the tracker to fill again
    this.spares = spares.port1;
    this.spares.unref();
    // [0]: the sequence number of the last answer; [1]: 1 once the thread stopped.
    this.flag = new Int32Array(new SharedArrayBuffer(8));
    this.seq = 0;
    this.virtual = 0;
    this.source = source;
    this.hits = new Map(); // virtual handle → the cached module's outputs (bytes, meta)
    const workerData = { url: analysisThread(), port: port2, spares: spares.port2, flag: this.flag, source };
    // No preload (`--import wasmleak/register` would attach wasmleak to its own thread), and not kept alive.
    const worker = new wt.Worker(THREAD_BOOT, { eval: true, execArgv: [], workerData, transferList: [port2, spares.port2] });
    worker.unref();
    port1.unref();
    this.x = {
      wl_session: (module) => this.session(module),
      wl_release: (handle) => {
        this.hits.delete(handle);
        this.port.postMessage({ op: 'fn', fn: 'wl_release', args: [handle] });
      },
    };
  }

  /** Post `m` and wait for the thread's answer; its `error` is thrown. */
  ask(m) {
    m.seq = ++this.seq;
    this.port.postMessage(m);
    const flag = this.flag;
    for (;;) {
      const done = Atomics.load(flag, 0);
      if (done === m.seq) break;
      if (Atomics.load(flag, 1)) throw new Error('wasmleak: the analysis thread stopped');
      Atomics.wait(flag, 0, done, 1000);
    }
    const answer = this.receive(this.port)?.message;
    if (!answer) throw new Error('wasmleak: the analysis thread did not answer');
    if (answer.error) throw new Error(answer.error);
    return answer.value;
  }

  call(name, handles, inputs) {
    return this.ask({ op: 'call', name, handles, inputs });
  }

  out(handle, i) {
    const hit = this.hits.get(handle);
    if (hit) return (i === 0 ? hit.bytes : i === 1 ? hit.meta : new Uint8Array()).slice();
    return this.ask({ op: 'out', handle, i });
  }

  /** The buffer goes to the thread as it is (transferred); the next is one the thread is done with, or new. */
  record(session, rec, buffer, words) {
    const length = buffer.length;
    this.port.postMessage({ op: 'record', session, rec, buffer, words }, [buffer.buffer]);
    for (let m; (m = this.receive(this.spares));) if (m.message.length === length) return m.message;
    return new Uint32Array(length);
  }

  session(module) {
    const virtual = VIRTUAL_HANDLE + ++this.virtual;
    this.port.postMessage({ op: 'session', module, virtual });
    return virtual;
  }

  /**
   * Instrumenting from a cache: the module as an earlier run instrumented the same bytes with the same options and
   * analysis (the file's name says all three). The app's thread then waits for nothing (in the analysis compiled
   * to wasm, instrumenting takes 10× what it does in the CLI: ~0.2 s for a 2 MB module, the start of a short run),
   * and neither does the analysis thread: it takes up the module's session from what the instrumentation found,
   * kept with it (`wl_restore`), where it used to instrument the module again (a 29.5 MB module: 12 s). A miss is
   * written for the next run. WASMLEAK_CACHE=0: no cache.
   */
  instrument(src, allocator) {
    const file = this.cacheFile(src, allocator);
    const hit = file && readCached(file);
    if (hit) return this.restored(src, hit, file, false);
    // A miss: `wasmleak node` instruments natively when it can (2–7× faster, js/README.md), else the analysis does.
    const made = instrumentNatively(src, allocator);
    if (made) return this.restored(src, made, file, true);
    return this.ask({ op: 'call', name: 'instrument_with', handles: [], inputs: [src, allocator], remember: file });
  }

  /** A virtual handle for a module instrumented before (`made`: {bytes, meta, state}), whose session the thread
   *  takes up; `write`: and writes it to the cache `file` (null: no cache). */
  restored(src, made, file, write) {
    const virtual = VIRTUAL_HANDLE + ++this.virtual;
    this.hits.set(virtual, made);
    const fresh = write ? { bytes: made.bytes, meta: made.meta } : null;
    this.port.postMessage({ op: 'restore', virtual, inputs: [src, made.state], file, fresh });
    return virtual;
  }

  /** The cache entry for `src` instrumented with `allocator` (a file path); null without a cache. */
  cacheFile(src, allocator) {
    const env = globalThis.process.env;
    const home = env.XDG_CACHE_HOME || (env.HOME ? `${env.HOME}/.cache` : null);
    if (env.WASMLEAK_CACHE === '0' || !home) return null;
    const crypto = globalThis.process.getBuiltinModule('node:crypto');
    // The analysis: its file's path, size and time, or its bytes.
    this.identity ??= typeof this.source === 'string'
      ? (({ size, mtimeMs }) => `${this.source}:${size}:${mtimeMs}`)(globalThis.process.getBuiltinModule('node:fs').statSync(this.source.startsWith('file:') ? new URL(this.source) : this.source))
      : crypto.createHash('sha256').update(this.source).digest('hex');
    const key = crypto.createHash('sha256').update(`${this.identity}\0${JSON.stringify(allocator)}\0`).update(src).digest('hex');
    return `${home}/wasmleak/instrumented/${key}.v2`;
  }
}

// The analysis thread's scheduling priority (a nice value: 0 is the app's, 19 the lowest).
const ANALYSIS_NICE = 5;

// RemoteAnalysis' own handles (sessions, cached modules), above any the analysis gives: the thread maps them.
const VIRTUAL_HANDLE = 0x40000000;
const MAX_CACHED = 64; // instrumented modules kept in the cache (the oldest go)

// A cache entry is one file (`KEY.v2`), written whole and renamed into place: the SHA-256 of the rest, the
// meta's length and the state's (4 bytes each, little-endian), the meta (JSON), the state (`wl_restore`'s: what
// the instrumentation found), the instrumented module.

/** The cached module at `file` ({bytes, meta, state}), or null: none, or damaged. */
function readCached(file) {
  let data;
  try {
    data = new Uint8Array(globalThis.process.getBuiltinModule('node:fs').readFileSync(file));
  } catch {
    return null;
  }
  if (data.length < 40 || !sameBytes(data.subarray(0, 32), sha256(data.subarray(32)))) return null;
  const view = new DataView(data.buffer, data.byteOffset + 32, 8);
  const metaLen = view.getUint32(0, true), stateLen = view.getUint32(4, true);
  if (40 + metaLen + stateLen > data.length) return null;
  const state = 40 + metaLen;
  return { meta: data.slice(40, state), state: data.slice(state, state + stateLen), bytes: data.slice(state + stateLen) };
}

/** Write an instrumented module to the cache (the analysis thread); a failure only means no entry. */
function remember(file, bytes, meta, state) {
  const fs = globalThis.process.getBuiltinModule('node:fs');
  try {
    const dir = file.slice(0, file.lastIndexOf('/'));
    fs.mkdirSync(dir, { recursive: true });
    const body = new Uint8Array(8 + meta.length + state.length + bytes.length);
    const view = new DataView(body.buffer);
    view.setUint32(0, meta.length, true);
    view.setUint32(4, state.length, true);
    body.set(meta, 8);
    body.set(state, 8 + meta.length);
    body.set(bytes, 8 + meta.length + state.length);
    const tmp = `${file}.${globalThis.process.pid}.tmp`;
    fs.writeFileSync(tmp, sha256(body));
    fs.appendFileSync(tmp, body);
    fs.renameSync(tmp, file);
    const entries = fs.readdirSync(dir).filter((n) => !n.endsWith('.tmp'));
    if (entries.length > MAX_CACHED) {
      const old = entries.map((n) => [n, fs.statSync(`${dir}/${n}`).mtimeMs]).sort((x, y) => x[1] - y[1]);
      for (const [n] of old.slice(0, entries.length - MAX_CACHED)) forget(`${dir}/${n}`);
    }
  } catch {}
}

function forget(file) {
  try { globalThis.process.getBuiltinModule('node:fs').unlinkSync(file); } catch {}
}

/**
 * `src` instrumented by `wasmleak node`'s own binary (`WASMLEAK_CLI`, set only when this runtime's analysis is
 * the one embedded there: the same code, compiled natively) — {bytes, meta, state}, the outputs the analysis
 * would give — or null: not under `wasmleak node`, or refused (the analysis then instruments it, for the reason
 * it gives).
 */
function instrumentNatively(src, allocator) {
  const cli = globalThis.process.env.WASMLEAK_CLI;
  if (!cli) return null;
  const r = globalThis.process.getBuiltinModule('node:child_process').spawnSync(cli, ['__instrument-for-js', JSON.stringify(allocator)], {
    input: src,
    maxBuffer: 4 * src.length + (64 << 20),
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  const out = r.status === 0 && r.stdout ? new Uint8Array(r.stdout.buffer, r.stdout.byteOffset, r.stdout.length) : null;
  if (!out || out.length < 8) return null;
  const view = new DataView(out.buffer, out.byteOffset, 8);
  const meta = 8 + view.getUint32(0, true), state = meta + view.getUint32(4, true);
  if (state > out.length) return null;
  return { meta: out.slice(8, meta), state: out.slice(meta, state), bytes: out.slice(state) };
}

function sha256(bytes) {
  return new Uint8Array(globalThis.process.getBuiltinModule('node:crypto').createHash('sha256').update(bytes).digest());
}

function sameBytes(x, y) {
  return x.length === y.length && globalThis.Buffer.compare(globalThis.Buffer.from(x.buffer, x.byteOffset, x.length), globalThis.Buffer.from(y.buffer, y.byteOffset, y.length)) === 0;
}

// The analysis thread's first code (an eval'd CommonJS script): import the entry and serve; when that fails,
// answer every question with why, and say when the thread stops, so the main thread never waits in vain.
const THREAD_BOOT = `
const { workerData } = process.getBuiltinModule('node:worker_threads');
const { port, flag } = workerData;
process.on('exit', () => { Atomics.store(flag, 1, 1); Atomics.notify(flag, 0); });
import(workerData.url).then((m) => m.serve(workerData), (e) => port.on('message', (m) => {
  if (!m.seq) return;
  port.postMessage({ error: 'wasmleak: the analysis thread could not start: ' + (e && e.message || e) });
  Atomics.store(flag, 0, m.seq);
  Atomics.notify(flag, 0);
}));
`;

/**
 * The analysis thread's side of `RemoteAnalysis` (analysis_thread.mjs): load the analysis, answer in order.
 * A failed batch of events fails every later question with its error.
 */
export function serveAnalysis({ port, spares, flag, source }) {
  let a = null, failed = null;
  // The app's thread first: where the cores are busy (the app's thread, this one, V8's compiler threads on two
  // cores), the app's ran 5% slower beside this thread at the same priority (scripts/bench.sh, node rows). The
  // work here still gets done, and whenever the app waits for it (an answer, the report) the app's thread
  // sleeps. Linux: this thread's id is /proc/thread-self's last part; elsewhere nothing changes.
  try {
    const tid = Number(globalThis.process.getBuiltinModule('node:fs').readlinkSync('/proc/thread-self').split('/').pop());
    globalThis.process.getBuiltinModule('node:os').setPriority(tid, ANALYSIS_NICE);
  } catch {}
  try {
    a = loadAnalysisSync(source);
  } catch (e) {
    failed = `wasmleak: cannot load the analysis module: ${e?.message ?? e}`;
  }
  const handles = new Map(); // RemoteAnalysis' virtual handle → this thread's
  const real = (h) => handles.get(h) ?? h;
  const handle = (m) => {
    switch (m.op) {
      case 'record':
        a.record(real(m.session), m.rec, m.buffer, m.words);
        return void spares.postMessage(m.buffer, [m.buffer.buffer]);
      case 'session': {
        const h = a.x.wl_session(real(m.module));
        handles.set(m.virtual, h);
        // The report's names, lines and statics, read now while the app runs (nobody waits for this).
        if (h) a.x.wl_prepare(real(m.module));
        return;
      }
      case 'restore': {
        // A module the app got from the cache, or that `wasmleak node` instrumented (`fresh`): its session is
        // taken up from what the instrumentation found.
        const h = a.call('restore', [], m.inputs);
        handles.set(m.virtual, h);
        const error = a.outJson(h, 1).error;
        if (error && m.fresh) throw new Error(`wasmleak: the module as \`wasmleak node\` instrumented it cannot be taken up: ${error}`);
        if (error) {
          forget(m.file);
          throw new Error(`wasmleak: the cache entry of this module (${m.file}) cannot be used: ${error}; the entry is removed: run again (WASMLEAK_CACHE=0: no cache)`);
        }
        // Now, not after: nobody waits for this answer, and later messages (the report at exit) would come first.
        if (m.fresh && m.file) remember(m.file, m.fresh.bytes, m.fresh.meta, m.inputs[1]);
        return;
      }
      case 'call': {
        const h = a.call(m.name, m.handles.map(real), m.inputs);
        if (m.remember && !a.outJson(h, 1).error) {
          const bytes = a.out(h, 0), meta = a.out(h, 1), state = a.out(h, 2);
          setImmediate(() => remember(m.remember, bytes, meta, state)); // after the answer
        }
        return h;
      }
      case 'out':
        return a.out(real(m.handle), m.i);
      case 'fn':
        try {
          return a.x[m.fn](...m.args.map(real));
        } finally {
          if (m.fn === 'wl_release') handles.delete(m.args[0]);
        }
    }
  };
  port.on('message', (m) => {
    let answer;
    try {
      if (failed) throw new Error(failed);
      answer = { value: handle(m) };
    } catch (e) {
      const error = String((a?.failure(e) ?? e)?.message ?? e);
      if (!m.seq) failed ??= error;
      answer = { error };
    }
    if (!m.seq) return;
    const v = answer.value;
    port.postMessage(answer, v instanceof Uint8Array ? [v.buffer] : []);
    Atomics.store(flag, 0, m.seq);
    Atomics.notify(flag, 0);
  });
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
  if (!h) h = a.instrument(src, allocator);
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

