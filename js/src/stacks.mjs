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
