// Module loader hooks (`module.register`), installed by register.mjs only when node runs with
// `--experimental-wasm-modules`: a .wasm file imported as an ES module is compiled by Node's own loader, which
// wasmleak does not see, so its heap is not tracked. These hooks only watch: each such module's URL goes to the
// main thread, which lists it as not tracked (a run that saw nothing must not pass as clean).
let port = null;

export function initialize(data) {
  port = data?.port ?? null;
}

export async function load(url, context, nextLoad) {
  const result = await nextLoad(url, context);
  if (result.format === 'wasm') port?.postMessage(url);
  return result;
}
