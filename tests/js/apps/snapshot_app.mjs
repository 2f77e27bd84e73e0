// The DevTools loop from page/app code: attach(), load rust_lib.wasm the way MODE says, take a snapshot, run
// the action K times, snapshot, again, again; print {snapshots, diff, report} as JSON.
// Usage: node snapshot_app.mjs MODE EXPORT K
//   MODE: base64    — the module ships as base64 inside this JS (like wasm-pack --target no-modules bundles or
//                     Emscripten SINGLE_FILE), compiled with the synchronous `new WebAssembly.Module`
//         streaming — `WebAssembly.instantiateStreaming(Response)`, as web glue does with fetch()
import { readFileSync } from 'node:fs';
import { attach } from '../../../js/src/index.mjs';

const [mode, fn, k] = process.argv.slice(2);
const leak = attach();
const file = new URL('../../../fixtures/wasm/rust_lib.wasm', import.meta.url);
let instance;
if (mode === 'base64') {
  const embedded = readFileSync(file).toString('base64'); // what a bundler would inline as a string literal
  const bytes = Uint8Array.from(atob(embedded), (c) => c.charCodeAt(0));
  instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
} else {
  const response = new Response(readFileSync(file), { headers: { 'content-type': 'application/wasm' } });
  ({ instance } = await WebAssembly.instantiateStreaming(response, {}));
}
instance.exports._initialize?.();

function action() {
  for (let i = 0; i < Number(k); i++) instance.exports[fn]();
}
const snapshots = [await leak.snapshot()];
for (let s = 0; s < 3; s++) {
  action();
  snapshots.push(await leak.snapshot());
}
const diff = leak.diff(snapshots[1], snapshots[3]);
console.log(JSON.stringify({
  snapshots: snapshots.map((s) => ({ index: s.index, modules: s.modules.map((m) => ({ module: m.module, size: m.bytes.length, summary: m.summary, magic: new TextDecoder().decode(m.bytes.slice(0, 6)) })) })),
  diff: diff.json(),
  text: diff.text(),
  report: leak.report(),
  skipped: leak.skipped,
}));
