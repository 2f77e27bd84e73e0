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

