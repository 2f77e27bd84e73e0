// `node --import wasmleak/register APP.mjs`: attach before the app runs and write the reports at exit.
// `wasmleak node` uses it with WASMLEAK_REPORT_FILE set (the JSON goes there, never to the app's stdout);
// without it the text report goes to stderr, and findings make the exit status WASMLEAK_EXITCODE (default 1).
// With WASMLEAK_SNAPSHOT_DIR set, every snapshot the app took (`attach().snapshot()`) and one of the heap at
// exit are written there as `.wlsnap` files, per module
// `NAME.N.wlsnap` (listed in the JSON as `snapshots: [{module, files}]`), for `wasmleak diff`, `export`.
// Preloads run in worker threads too: a worker's modules are named `worker-N/module-K.wasm`, and a worker
// that tracked any writes its own report file, `FILE.worker-N`, which `wasmleak node` merges.
import { attach } from './node.mjs';

// A .wasm file the app reads (Emscripten's and wasm-bindgen's Node glue: `fs.readFileSync(path)`, then the bytes to
// WebAssembly) names the module it becomes (index.mjs `nameOfBytes`), by the bytes' ArrayBuffer.
{
  const fs = process.getBuiltinModule('node:fs');
  const names = (globalThis[Symbol.for('wasmleak.fileNames')] ??= new WeakMap());
  const note = (path, data) => {
    const file = typeof path === 'string' ? path : path instanceof URL ? path.pathname : '';
    if (file.endsWith('.wasm') && data?.buffer instanceof ArrayBuffer) names.set(data.buffer, file.split(/[\\/]/).pop());
    return data;
  };
  const readFileSync = fs.readFileSync;
  fs.readFileSync = function (path, ...rest) {
    return note(path, readFileSync.call(this, path, ...rest));
  };
  const readFile = fs.promises.readFile;
  fs.promises.readFile = async function (path, ...rest) {
    return note(path, await readFile.call(this, path, ...rest));
  };
  // ES modules' `import { readFileSync } from 'node:fs'` see the change too.
  process.getBuiltinModule('node:module').syncBuiltinESMExports();
}

const { isMainThread, threadId } = process.getBuiltinModule('node:worker_threads');
// WASMLEAK_OPTIONS: `wasmleak node`'s allocator, report and debug-file options, as JSON ({allocator, showReachable,
// debugFiles: [path]}).
const options = JSON.parse(process.env.WASMLEAK_OPTIONS || '{}');
const leak = attach({
  // WASMLEAK_SNAPSHOT_INTERVAL_MS: a snapshot that often (`wasmleak node --snapshot-interval`).
  snapshotInterval: Number(process.env.WASMLEAK_SNAPSHOT_INTERVAL_MS) || 0,
  namePrefix: isMainThread ? '' : `worker-${threadId}/`,
  allocator: options.allocator ?? {},
  showReachable: options.showReachable ?? false,
  profile: options.profile ?? 0,
  policy: options.policy ?? null,
  debugFiles: (options.debugFiles ?? []).map((f) => process.getBuiltinModule('node:fs').readFileSync(f)),
  // A worker ended by `worker.terminate()` never gets to 'exit': what it tracked would vanish and the run look
  // clean ("nothing tracked", exit 0). Its report file says so until the report replaces it at exit.
  onInstance: isMainThread ? null : (name) => {
    const file = process.env.WASMLEAK_REPORT_FILE;
    if (!file) return;
    const reason = 'tracked in a worker thread that ended without writing its report (worker.terminate() skips its exit): no verdict for it';
    // (A threaded module's threads log into the main thread's report: nothing of theirs is lost with them.)
    const own = leak.instances.filter((r) => !r.tracker.shared);
    if (!own.length) return;
    const pending = { reports: [], skipped: own.map((r) => ({ name: r.name, reason, status: 'unsupported', heap: true })) };
    process.getBuiltinModule('node:fs').writeFileSync(`${file}.worker-${threadId}`, JSON.stringify(pending));
  },
});
// .wasm files imported as ES modules (`node --experimental-wasm-modules`, wasm-bindgen `--target bundler` output):
// Node's loader would compile them out of wasmleak's sight. The hooks (esm_hooks.mjs) load each as JavaScript
// that instantiates it through the `WebAssembly` API, and name it: one the API never saw is listed as not tracked.
const esmWasm = [];
if (process.execArgv.includes('--experimental-wasm-modules') || /--experimental-wasm-modules/.test(process.env.NODE_OPTIONS ?? '')) {
  const { MessageChannel } = process.getBuiltinModule('node:worker_threads');
  const channel = new MessageChannel();
  channel.port1.on('message', (url) => esmWasm.push(url));
  channel.port1.unref();
  process.getBuiltinModule('node:module').register('./esm_hooks.mjs', {
    parentURL: import.meta.url,
    data: { port: channel.port2 },
    transferList: [channel.port2],
  });
}

// How the app ended, for the report: a monitor does not change what Node does with the error.
let failure = null;
// Whether the report was made at an uncaught exception already (and, standalone, went to stderr).
let early = false, printed = false;
process.on('uncaughtExceptionMonitor', (err) => {
  failure = err;
  // An app's own handler may rethrow (Emscripten's glue does, for a trap or abort()): Node then ends at once,
  // status 7, with no 'exit' event. So the report is written now too; 'exit' writes it again if the process
  // lives on. A report is a whole analysis: an app whose handler swallows exceptions pays for it at every trap
  // (wasm traps and Emscripten's aborts are RuntimeErrors), and at the first other exception only.
  if (process.listenerCount('uncaughtException') === 0) return;
  if (early && !(err instanceof WebAssembly.RuntimeError)) return;
  early = true;
  const file = process.env.WASMLEAK_REPORT_FILE;
  const out = collect(7);
  if (file) {
    write(file, out);
  } else {
    process.stderr.write(standaloneText(out));
    printed = true;
  }
});
process.on('exit', (code) => {
  const file = process.env.WASMLEAK_REPORT_FILE;
  const out = collect(code);
  if (file) {
    write(file, out);
  } else {
    if (printed) process.stderr.write('wasmleak: the app lived on after the uncaught exception; the report at exit:\n');
    process.stderr.write(standaloneText(out));
    // On its own (`node --import wasmleak/register`, a test runner's node): findings fail the process, as
    // LeakSanitizer's do — exit status WASMLEAK_EXITCODE (default 1; 0: never), unless the app failed already;
    // 2 when a module's report is inconclusive, or a module with a heap was not tracked (as `wasmleak node`).
    const exitcode = Number(process.env.WASMLEAK_EXITCODE ?? 1);
    if (!code && exitcode && out.reports?.some((r) => r.decided_by?.length)) process.exitCode = exitcode;
    // A module that saw no allocator call has no verdict (its report says why): never a clean exit.
    else if (!code && exitcode && out.reports?.some((r) => r.inconclusive)) process.exitCode = 2;
    else if (!code && exitcode && blind(out).length) process.exitCode = 2;
  }
});

/** Modules of the app with a heap that were not tracked (Node's own wasm is not the app's). */
const blind = (out) => (out.skipped ?? []).filter((s) => s.heap && s.status !== 'runtime');

/**
 * The text on stderr when no `wasmleak node` reads the report: the reports, then what was not tracked (a test
 * runner's suite whose module was left untracked printed nothing at all, and passed).
 */
function standaloneText(out) {
  if (out.error) return `wasmleak: ${out.error}\n`;
  return out.text + blind(out).map((s) => `\nNOT TRACKED: ${s.name}: ${s.reason}\n`).join('');
}

/** The reports, the text and what was not tracked, as of now; `code`: the process's exit status. */
function collect(code) {
  let exit = { status: 'returned', message: 'returned' };
  if (failure) {
    const trap = failure instanceof WebAssembly.RuntimeError;
    exit = { status: trap ? 'trap' : 'exited', code, message: `${trap ? 'wasm trap' : 'uncaught exception'}: ${failure?.message ?? failure}` };
  } else if (code) {
    exit = { status: 'exited', code, message: `exited with status ${code}` };
  }
  try {
    const reports = leak.report({ exit });
    const imported = (leak.instances.length ? [] : esmWasm).map((url) => ({
      name: url.split('/').pop(),
      reason: 'imported as an ES module (node --experimental-wasm-modules), and no module was instantiated through the WebAssembly API: Node\'s loader compiled it out of wasmleak\'s sight; load it with WebAssembly.instantiate (wasm-bindgen --target nodejs or web) to track it',
      status: 'unsupported',
      heap: true,
    }));
    const out = { reports, text: leak.text(reports), skipped: [...leak.skipped, ...imported] };
    const dir = process.env.WASMLEAK_SNAPSHOT_DIR;
    if (dir) out.snapshots = writeSnapshots(dir);
    return out;
  } catch (e) {
    return { error: String(e?.stack ?? e) };
  }
}

/** The report file `wasmleak node` reads (a worker's: `FILE.worker-N`). */
function write(file, out) {
  if (!isMainThread && leak.instances.length === 0) return; // a worker without wasm: nothing to add
  process.getBuiltinModule('node:fs').writeFileSync(isMainThread ? file : `${file}.worker-${threadId}`, JSON.stringify(out));
}

/** The app's snapshots and one at exit, per tracked instance, as files in `dir`. */
function writeSnapshots(dir) {
  const fs = process.getBuiltinModule('node:fs');
  const path = process.getBuiltinModule('node:path');
  fs.mkdirSync(dir, { recursive: true });
  return leak.instances.map((r, i) => {
    const taken = leak.snapshots.map((s) => s.modules.find((m) => m.module === r.name)).filter(Boolean);
    const last = leak.snapshots.at(-1)?.index ?? 0;
    taken.push(r.tracker.snapshot({ module: r.name, instance: r.instance, iteration: last + 1 }));
    const stem = r.name.replace(/\.wasm$/, '').replaceAll('/', '.') || `module-${i + 1}`;
    const files = taken.map((m, k) => {
      const file = path.join(dir, `${stem}.${k + 1}.wlsnap`);
      fs.writeFileSync(file, m.bytes);
      return file;
    });
    return { module: r.name, files };
  });
}
