// wasmleak for JavaScript hosts. The instrumenter and the analysis are the Rust crates of the CLI compiled to
// wasm32-unknown-unknown (crates/wasm-api, package wasmleak-wasm); this runtime only loads that module, records
// the hook events of an instrumented module with their stacks, and hands them over. No analysis lives here.
//   analysis.mjs  loading the analysis, its C ABI, instrument(), diff()
//   tracker.mjs   one instance's events and stacks → the analysis' session: snapshot(), report()
//   stacks.mjs    V8's structured call sites
//   glue.mjs      where glue hands JS pointers (Embind invokers, wasm-bindgen closures, registration data)
//   overlay.mjs   the in-page panel
//   index.mjs     attach(): every WebAssembly entry point patched, every module with an allocator tracked
//
// The browser build (`wasmleak serve`'s /__wasmleak/runtime.js) is this directory bundled by esbuild into one
// classic script (scripts/bundle-js.sh): no `import.meta` here (node.mjs has the Node-only part).
import { ARGUMENT_EXPORTS, BINDGEN_FREE, collectedNote, HARNESS_EXPORTS, trappedNote, watchInstance, wrapImports } from './glue.mjs';
import { showOverlay, workerNote } from './overlay.mjs';
import { appFrame, inWebidlCache, runtimeCaller } from './stacks.mjs';
import { WA, isNode, analysisPath, currentEngine, loadAnalysis, loadAnalysisSync, instrument, instrumentSync, instrumentWith, toBytes, diffSnapshots } from './analysis.mjs';
import { track, framesNow } from './tracker.mjs';
import { reportUntracked, sharedState, untrackedWorkers } from './threads.mjs';

const MAX_KEPT = 32; // snapshots kept for files and growth (crates/wasm-api MAX_KEPT)

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
 * growth verdict keep at most 32 of them, evenly spaced), `namePrefix` (before every module name: a worker's),
 * `allocator` (the entry points to hook in every module, as `{alloc: ['25'], free: ['31']}`: names or indices, as
 * `wasmleak check --alloc-fn` takes them), `showReachable` (the text report lists every reachable group),
 * `profile` (how many sites of the allocation profile the text report lists), `policy` (what fails the run:
 * `{suppressions: text of a LeakSanitizer suppressions file, baseline: [keys], fail_on: [kinds]}`),
 * `debugFiles` (the unstripped builds or separate DWARF files of stripped modules, as bytes: each module is
 * named by the one whose code is its own), `onInstance` (called with each tracked instance's name).
 */
function attach({ analysis, stacks = true, maxFrames = 64, overlay = false, server = false, snapshotInterval = 0, namePrefix = '', allocator = {}, showReachable = false, profile = 0, policy = null, debugFiles = [], onInstance = null } = {}) {
  if (globalThis[ATTACHED]) return globalThis[ATTACHED];
  let timer = null;
  let ready;
  if (isNode && !(typeof analysis === 'string' && /^https?:/.test(analysis))) {
    ready = Promise.resolve(loadAnalysisSync(analysis)); // the synchronous constructors need it at once
  } else if (!analysis && !globalThis.document && sharedState()) {
    // A page's worker that wasmleak started (threads.mjs): its instances of the page's threaded module log to
    // the page; it loads no analysis (a module it compiles itself is listed as not tracked).
    ready = Promise.resolve(null);
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
  // The file the bytes were read from, where the Node preload saw it read (register.mjs): Emscripten's and
  // wasm-bindgen's Node glue read the module with fs and hand the bytes over, so several modules were module-1, -2…
  const FILE_NAMES = Symbol.for('wasmleak.fileNames');
  const nameOfBytes = (bytes) => {
    const buffer = bytes instanceof ArrayBuffer ? bytes : bytes?.buffer;
    return nameOf(buffer && globalThis[FILE_NAMES]?.get(buffer));
  };
  // Threaded modules (Node): the log every thread's hooks share; made now, before the app starts any worker.
  const shared = sharedState();
  const mainThread = !shared || shared.tid === 0;

  /** Instrument when possible; null when the module passes through untouched. */
  function tryInstrument(bytes, name, internal) {
    let src;
    try { src = toBytes(bytes); } catch { return null; } // let the engine throw its own TypeError
    if (internal) {
      skipped.push({ name, reason: `loaded by ${internal} (the runtime's own module, not the app's)`, status: 'runtime', heap: false });
      return null;
    }
    const engine = currentEngine();
    if (!engine && shared && !mainThread && !isNode) {
      // A page's worker (threads.mjs): only the page's threaded module is tracked here; the page lists this worker.
      reportUntracked();
      skipped.push({ name, reason: 'run in a Web Worker (wasmleak tracks the page and its threaded module\'s workers)', status: 'unsupported', heap: true });
      return null;
    }
    if (!engine) {
      skipped.push({ name, reason: 'compiled synchronously before the analysis module was loaded (await leak.ready first)', status: 'too_early', heap: true });
      return null;
    }
    try {
      const ins = instrumentWith(engine, src.slice(), shared && mainThread ? { ...allocator, threads: true } : allocator, debugFiles);
      if (ins.meta.threads && !shared.claim()) {
        ins.release();
        skipped.push({ name, reason: 'shared memory (wasm threads): another threaded module of this process is tracked (one is, for now)', status: 'unsupported', heap: true });
        return null;
      }
      return ins;
    } catch (e) {
      skipped.push({ name, reason: String(e.message ?? e).replace(/^wasmleak: /, ''), status: e.status ?? 'error', heap: e.heap ?? false });
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

  /**
   * Instantiate `module` with the hooks. `make(module, imports)` makes the instance: `new WebAssembly.Instance`
   * for the synchronous constructor, `WebAssembly.instantiate` (a promise) for the asynchronous entry points —
   * browsers refuse the synchronous form on the main thread for modules over 8 MB.
   */
  function instantiateWith(module, imports, make) {
    const then = (made, f) => (made instanceof Promise ? made.then(f) : f(made));
    const m = modules.get(module);
    if (!m) {
      // A worker of a threaded app, instantiating the module the main thread instrumented (posted to it): its
      // hooks log to the shared log the main thread's tracker reads.
      if (shared && !mainThread && WA.Module.imports(module).some((i) => i.module === 'wasmleak')) {
        let instance = null;
        const wasmleak = shared.hooks(() => (stacks ? framesNow(instance, maxFrames) : null));
        return then(make(module, { ...(imports ?? {}), wasmleak }), (made) => (instance = made));
      }
      return make(module, imports);
    }
    // The app's import object is left alone: the hooks go into a copy.
    let imp = { ...(imports ?? {}) };
    const tracker = m.ins.track(imp, { stacks, maxFrames, shared: m.ins.meta.threads ? shared : null, moduleImports: WA.Module.imports(module) });
    // The app's call that instantiates the module (a package's factory): what JS gets inside it is the package's.
    tracker.initFrame = appFrame();
    // A word of the memory when it is the address of a live block (Embind's arguments: most are numbers).
    const word = (address) => {
      let words = tracker.wordsView;
      if (!words || (address >>> 2) >= words.length) words = tracker.words(); // a grown memory detaches the view
      const v = words[address >>> 2] ?? 0;
      return v && tracker.isLive(v) ? v : 0;
    };
    imp = wrapImports(imp, (value, label, opts) => tracker.hold(value, label, opts ?? { runtime: true }), WA.Module.imports(module), word, (value) => tracker.release(value));
    return then(make(module, imp), (instance) => {
      tracker.attach(instance);
      // Two instances of one module (two widgets of a page) are told apart: `app.wasm`, `app.wasm#2`.
      const same = instances.filter((r) => r.module === m).length;
      const rec = { name: same ? `${m.name}#${same + 1}` : m.name, module: m, tracker, instance, calls: new Map(), exportCalls: 0, collected: 0, trapped: 0 };
      wrapExports(instance, rec);
      watchInstance(instance, (value, label) => tracker.hold(value, label));
      instances.push(rec);
      onInstance?.(rec.name);
      return instance;
    });
  }
  const syncInstance = (module, imports) => new WA.Instance(module, imports);
  const asyncInstance = (module, imports) => WA.instantiate(module, imports);

  // Our wrapper of an export → the wasm function it wraps. A table takes only wasm functions: Emscripten's dynamic
  // linking (MAIN_MODULE) puts exports in its table, so `Table.prototype.set`/`grow` get the wasm function back.
  const wrappedExports = new WeakMap();
  const unwrap = (v) => (typeof v === 'function' && wrappedExports.get(v)) || v;
  const tableProto = WA.Table.prototype;
  const tableSaved = { set: WA.tableSet, grow: WA.tableGrow };
  tableProto.set = function set(index, value) {
    return arguments.length < 2 ? tableSaved.set.call(this, index) : tableSaved.set.call(this, index, unwrap(value));
  };
  tableProto.grow = function grow(delta, value) {
    return arguments.length < 2 ? tableSaved.grow.call(this, delta) : tableSaved.grow.call(this, delta, unwrap(value));
  };

  /** Record what exported functions return (pointers JS may now hold). */
  function wrapExports(instance, rec) {
    const raw = instance.exports;
    const wrapped = {};
    // The calling-context id is put back after every call inside the module; an exception that leaves the module
    // skips that, so the next call from JS would start from a stale id: reset it when the outermost call throws.
    const ctx = raw[rec.tracker.instrumented.meta.ctx_export];
    let depth = 0;
    // wasm-bindgen returns two or more values through a return area on the shadow stack: the glue gets its
    // address from `__wbindgen_add_to_stack_pointer(-16)`, passes it as the export's first argument, and reads
    // the results from memory after the call. The words there are values JS got, as a plain return's are.
    let retArea = 0;
    // Transfer buffers: static addresses an export without parameters returned (web-tree-sitter's `_ts_init`), where
    // later calls leave what they give JS for the glue to read (`getValue(TRANSFER_BUFFER)`: the Parser
    // `_ts_parser_new_wasm` makes). A live block's address found there after a call is held by JS, as a returned
    // one is: the Parser of a clean page read as a leaked cycle (browser survey).
    const transfers = [];
    const TRANSFER_WORDS = 8;
    const noteTransfer = (name, v, params) => {
      const memory = params === 0 && transfers.length < 4 && !transfers.some((t) => t.at === v) && rec.tracker.exportsOf(instance)?.[rec.tracker.instrumented.meta.memory_export];
      // Static: below every block the allocator ever gave (a pointer into a block — wasm-bindgen's `parser_new`
      // returns one 8 bytes into its Rc box — is no buffer).
      if (memory && v >= 1024 && (v & 3) === 0 && v + 4 * TRANSFER_WORDS <= memory.buffer.byteLength && v + 4 * TRANSFER_WORDS <= rec.tracker.lowest) transfers.push({ at: v, name });
    };
    const readTransfers = (name) => {
      let words = rec.tracker.wordsView;
      for (const t of transfers) {
        if (!words || (t.at >>> 2) + TRANSFER_WORDS > words.length) words = rec.tracker.words();
        for (let k = 0; k < TRANSFER_WORDS; k++) {
          const w = words[(t.at >>> 2) + k];
          if (w && rec.tracker.isLive(w) && !rec.tracker.hostValues.has(w)) {
            rec.tracker.hold(w, `written by ${name} into the buffer ${t.name} returned (0x${t.at.toString(16)})`);
          }
        }
      }
    };
    // How many calls of an export `inWebidlCache` looks at (the binder's buffer is made at the first array argument).
    const WEBIDL_LOOKS = 32;
    // The values one call of export `name` gave JS.
    const returned = (name, values, how = '', params = -1) => {
      const held = values.filter((v) => typeof v === 'number' && v > 0);
      if (!held.length || ARGUMENT_EXPORTS.has(name)) return;
      if (held.length === 1) noteTransfer(name, held[0], params);
      const call = (rec.calls.get(name) ?? 0) + 1;
      rec.calls.set(name, call);
      // Emscripten's WebIDL binder glue keeps one malloc'd buffer for the array and string arguments of every call
      // (`ensureCache`) and frees it only to grow it: the glue's state while it lives, not an object the app forgot
      // (npm survey: draco3d's clean run read one 96 KB host leak, exit 1), and bytes, not pointers (its copy of a
      // mesh file rooted 1.67 MB of leaked meshes). Looked for in an export's first calls.
      if (params === 1 && held.length === 1 && call <= WEBIDL_LOOKS && inWebidlCache()) {
        return void rec.tracker.hold(held[0], `the WebIDL binder glue's argument buffer (ensureCache, from ${name})`, { strong: true, opaque: true });
      }
      // wasm-bindgen-test's harness: its test context lives until the runner exits (glue.mjs).
      for (const v of held) rec.tracker.hold(v, `returned by ${name} (call ${call})${how}`, { runtime: HARNESS_EXPORTS.has(name) });
    };
    for (const [name, value] of Object.entries(raw)) {
      // wasmleak's own exports (its view of the memory, the context id, the globals) are not the app's: glue that
      // walks every export (Emscripten's dynamic linking relocates them) must not meet them.
      if (name.startsWith('wasmleak:')) continue;
      if (typeof value !== 'function') { wrapped[name] = value; continue; }
      const tracker = rec.tracker;
      // wasm-bindgen (0.2.93 on) frees an object through `__wbg_<class>_free(ptr, 0)` from `.free()`, and with 1
      // from its FinalizationRegistry: the objects JS dropped that a garbage collection happened to free.
      const finalizerFree = BINDGEN_FREE.test(name);
      const f = function (...args) {
        let r;
        rec.exportCalls++;
        if (finalizerFree && args[1] === 1) rec.collected++;
        const area = retArea && args[0] === retArea ? retArea : 0;
        depth++;
        tracker.callDepth++;
        tracker.epoch++;
        try {
          r = value.apply(this, args);
        } catch (e) {
          if (depth === 1 && ctx) ctx.value = 0n;
          // A trap the app catches (a Rust panic aborts on wasm32; a test harness's #[should_panic]): nothing its
          // frames owned was dropped or freed.
          if (depth === 1 && e instanceof WebAssembly.RuntimeError) rec.trapped++;
          throw e;
        } finally {
          depth--;
          tracker.callDepth--;
          tracker.epoch++;
        }
        if (name === '__wbindgen_add_to_stack_pointer') {
          retArea = args[0] < 0 ? r : 0; // a stack address, not a value to hold
          return r;
        }
        if (depth === 0 && transfers.length) readTransfers(name);
        if (typeof r === 'number') {
          if (r > 0) returned(name, [r], '', value.length);
        } else if (Array.isArray(r)) {
          returned(name, r); // multi-value
        }
        if (area) {
          const memory = rec.tracker.exportsOf(instance)?.[rec.tracker.instrumented.meta.memory_export];
          if (memory && (area & 3) === 0 && area + 16 <= memory.buffer.byteLength) {
            returned(name, [...new Int32Array(memory.buffer, area, 4)], ', through its return area');
          }
        }
        return r;
      };
      Object.defineProperty(f, 'name', { value: value.name });
      Object.defineProperty(f, 'length', { value: value.length });
      wrappedExports.set(f, value);
      wrapped[name] = f;
    }
    Object.defineProperty(instance, 'exports', { value: Object.freeze(wrapped), enumerable: true });
  }

  const responseName = (r) => {
    const url = r?.url;
    return url ? nameOf(url.split('/').pop().split('?')[0]) : nameOf();
  };

  // The name of the next module `new WebAssembly.Module` makes, when the caller knows its file (esm_hooks.mjs).
  const NEXT_NAME = Symbol.for('wasmleak.nextModuleName');
  function Module(bytes) {
    if (!new.target) throw new TypeError("WebAssembly.Module must be invoked with 'new'");
    const hint = globalThis[NEXT_NAME];
    delete globalThis[NEXT_NAME];
    return compileSync(bytes, hint ? nameOf(hint) : nameOfBytes(bytes));
  }
  function Instance(module, imports) {
    if (!new.target) throw new TypeError("WebAssembly.Instance must be invoked with 'new'");
    return instantiateWith(module, imports, syncInstance);
  }
  for (const [fake, real] of [[Module, WA.Module], [Instance, WA.Instance]]) {
    fake.prototype = real.prototype; // instanceof keeps working
    Object.setPrototypeOf(fake, real); // Module.imports / exports / customSections
  }

  const patched = {
    Module,
    Instance,
    compile: (bytes) => compileAsync(bytes, nameOfBytes(bytes)),
    instantiate: async (source, imports) => {
      if (source instanceof WA.Module) return instantiateWith(source, imports, asyncInstance);
      const module = await compileAsync(source, nameOfBytes(source));
      return { module, instance: await instantiateWith(module, imports, asyncInstance) };
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
      return { module, instance: await instantiateWith(module, imports, asyncInstance) };
    },
  };
  // Wasm that a page runs in a Web Worker is not tracked (a threaded module's workers are: threads.mjs, `shared`):
  // the workers the page starts are listed, so that a page whose wasm all runs in workers does not read as one
  // with nothing to track.
  // Under --cross-origin-isolated every worker starts with wasmleak (threads.mjs): those that ran wasm of their own.
  const workers = shared && !isNode ? untrackedWorkers : [];
  const NativeWorker = globalThis.document && !shared && typeof globalThis.Worker === 'function' ? globalThis.Worker : null;
  if (NativeWorker) {
    globalThis.Worker = class Worker extends NativeWorker {
      constructor(url, options) {
        super(url, options);
        workers.push(String(url));
      }
    };
  }
  const saved = {};
  for (const [k, v] of Object.entries(patched)) {
    saved[k] = WebAssembly[k];
    Object.defineProperty(WebAssembly, k, { value: v, writable: true, configurable: true, enumerable: false });
  }

  const attached = {
    ready: ready.then(() => attached),
    instances,
    skipped,
    /** The URLs of the Web Workers the page started (browsers): wasm they run is not tracked. */
    workers,
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
     * One JSON report (docs/contracts.md) per tracked instance, in instantiation order. `exit`: how the app ended
     * ({status: 'returned' | 'exited' | 'trap', code, message}), `notes`: lines for every report.
     */
    report({ exit, notes } = {}) {
      return instances.map((r) => {
        const all = [...(notes ?? [])];
        if (r.collected) all.push(collectedNote(r.collected));
        // The trap the app ended with is the report's `exit`; the others were caught and the app went on.
        const caught = r.trapped - (exit?.status === 'trap' ? 1 : 0);
        if (caught > 0) all.push(trappedNote(caught));
        return r.tracker.report({ module: r.name, instance: r.instance, exit, notes: all, show_reachable: showReachable, profile, policy, calls: r.exportCalls });
      });
    },
    /**
     * A short text form of `report()`; called without reports, it also names the modules left untracked (a page
     * that logs it showed nothing at all when the module with the heap was skipped).
     */
    text(reports) {
      if (reports) return reports.map(textOf).join('\n');
      const lines = this.report().map(textOf);
      for (const s of skipped) if (s.heap) lines.push(`NOT TRACKED: ${s.name}: ${s.reason}`);
      if (workers.length) lines.push(`NOT TRACKED: ${workerNote(workers)}`);
      if (!instances.length && !skipped.some((s) => s.heap)) lines.push(`wasmleak: no module with an allocator was instantiated${workers.length ? " on the page's own thread" : ''}; nothing tracked`);
      return lines.join('\n');
    },
    /** Undo the patches (instances already tracked stay tracked). */
    detach() {
      if (timer) clearInterval(timer);
      for (const [k, v] of Object.entries(saved)) {
        Object.defineProperty(WebAssembly, k, { value: v, writable: true, configurable: true, enumerable: false });
      }
      Object.assign(tableProto, tableSaved);
      if (NativeWorker) globalThis.Worker = NativeWorker;
      delete globalThis[ATTACHED];
    },
  };
  globalThis[ATTACHED] = attached;
  // Threads: the main thread moves the shared log into the analysis now and then, so it stays small.
  if (shared && mainThread) {
    const drain = setInterval(() => {
      if (shared.used() < 1 << 20) return;
      for (const r of instances) if (r.tracker.shared) r.tracker.flush();
    }, 200);
    drain.unref?.();
  }
  // Periodic snapshots: between tasks, so never in the middle of a wasm call; the timer keeps no process alive.
  if (snapshotInterval > 0) {
    timer = setInterval(() => { if (instances.length) attached.snapshot().catch(() => {}); }, snapshotInterval);
    timer.unref?.();
  }
  if (overlay) showOverlay(attached, { server });
  return attached;
}

/**
 * One report as text, as `wasmleak check` prints it (rendered by the analysis with the report). A report read
 * back from JSON has no text: its module and summary then.
 */
function textOf(report) {
  return typeof report.text === 'string' ? report.text : `${report.module}: ${JSON.stringify(report.summary)}\n`;
}

export {
  attach, analysisPath, loadAnalysis, loadAnalysisSync, instrument, instrumentSync, track, diffSnapshots as diff,
  textOf,
};
