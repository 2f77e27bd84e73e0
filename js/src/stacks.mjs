// V8's structured call sites (Node, Chromium): how the runtime reads stacks without parsing strings. With
// `Error.prepareStackTrace = (_, callSites) => callSites` and `Error.captureStackTrace`, a *wasm* frame's call
// site gives getThis() = the WebAssembly.Instance it runs in, getFunction() = the function index (a number),
// getPosition() = the byte offset of the call in the module (getColumnNumber() is that + 1).

export const asCallSites = (_, callSites) => callSites;

/** Structured call sites of the caller, innermost first. */
export function callSites(limit) {
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
export const SELF_DIR = (() => {
  const file = callSites(1)[0]?.getFileName?.() ?? '';
  return file.slice(0, file.lastIndexOf('/') + 1) || null;
})();

/**
 * When the code compiling a module is Node's own (undici's llhttp, behind fetch and Response), its file
 * (`node:internal/...`); such modules are not the app's and are left alone.
 */
export function runtimeCaller() {
  for (const s of callSites(16)) {
    const file = s.getFileName();
    if (!file || (SELF_DIR && file.startsWith(SELF_DIR))) continue;
    return file.startsWith('node:') ? file : null;
  }
  return null;
}

/**
 * The app's innermost frame on the JS stack now (`file:line:column`): the first frame of a file outside
 * `node_modules`, other than Node's own (`node:`), a module's wasm code or wasmleak's. None (null): a package's own
 * code runs by itself (its initialisation after an asynchronous instantiation). A stack cut short at `limit` frames
 * may hold the app's further up: '?'.
 */
export function appFrame(limit = 64) {
  const sites = callSites(limit);
  for (const s of sites) {
    const file = s.getFileName?.();
    if (!file || file.startsWith('node:') || file.startsWith('wasm://') || file.includes('/node_modules/')) continue;
    if (SELF_DIR && file.startsWith(SELF_DIR)) continue;
    return `${file}:${s.getLineNumber?.()}:${s.getColumnNumber?.()}`;
  }
  return sites.length >= limit ? '?' : null;
}

/** Per glue file: the spans of its WebIDL `ensureCache` object literals (see `inWebidlCache`), and its line starts. */
const webidlFiles = new Map();
const ENSURE_CACHE = /\{\s*buffer\s*:\s*0\s*,\s*size\s*:\s*0\s*,\s*pos\s*:\s*0\s*,\s*temps\s*:\s*\[\]\s*,\s*needed\s*:\s*0\s*,/g;

function webidlFile(file, fs) {
  let f = webidlFiles.get(file);
  if (f) return f;
  f = { spans: [], lines: [0] };
  webidlFiles.set(file, f);
  let text;
  try {
    text = fs.readFileSync(file.startsWith('file:') ? new URL(file) : file, 'utf8');
  } catch {
    return f;
  }
  for (const m of text.matchAll(ENSURE_CACHE)) {
    // The object's end: its braces balanced (its methods' bodies hold no string with a brace).
    let depth = 0, i = m.index;
    for (; i < text.length; i++) {
      if (text[i] === '{') depth++;
      else if (text[i] === '}' && --depth === 0) break;
    }
    f.spans.push([m.index, i]);
  }
  if (f.spans.length) for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) f.lines.push(i + 1);
  return f;
}

/**
 * Whether the JS code calling into the module now is Emscripten's WebIDL binder glue's `ensureCache` (its `prepare`
 * or `alloc`): one malloc'd buffer the glue keeps for the array and string arguments of every call, and temporaries
 * it frees at the next call. Told by the call site's place in its file (V8 hides `this` below strict frames,
 * wasmleak's own among them): inside the object literal the binder emits, `{buffer: 0, size: 0, pos: 0, temps: [],
 * needed: 0, …}` (names minifiers keep: they are properties). Node only (it reads the file).
 */
export function inWebidlCache() {
  const fs = globalThis.process?.getBuiltinModule?.('fs');
  if (!fs) return false;
  let foreign = 0;
  for (const s of callSites(12)) {
    const file = s.getFileName?.();
    if (!file || (SELF_DIR && file.startsWith(SELF_DIR)) || file.startsWith('wasm://')) continue;
    if (file.startsWith('node:') || ++foreign > 3) return false;
    const f = webidlFile(file, fs);
    const at = (f.lines[(s.getLineNumber?.() ?? 1) - 1] ?? -1) + (s.getColumnNumber?.() ?? 1) - 1;
    if (f.spans.some(([a, b]) => at > a && at < b)) return true;
  }
  return false;
}
