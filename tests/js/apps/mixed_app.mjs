// One export called from two functions of the app: the same wasm calling context under two JS callers (a
// "mixed" context, js/src/tracker.mjs). fixtures/wasm/edge/c_wrapped_malloc.wasm's leak_some(n) loses n blocks
// of 40 B. Calls: fromA(1), fromB(1) (the context is mixed from its second block on), fromA(50), fromB(30).
// Ground truth: 51 lost blocks (2,040 B) under fromA, 31 (1,240 B) under fromB.
import { readFileSync } from 'node:fs';
import { WASI } from 'node:wasi';

const bytes = readFileSync(new URL('../../../fixtures/wasm/edge/c_wrapped_malloc.wasm', import.meta.url));
const wasi = new WASI({ version: 'preview1' });
const { instance } = await WebAssembly.instantiate(bytes, wasi.getImportObject());
wasi.initialize(instance);

function fromA(n) {
  return instance.exports.leak_some(n);
}
function fromB(n) {
  return instance.exports.leak_some(n);
}
fromA(1);
fromB(1);
fromA(50);
fromB(30);
console.log('mixed: done');
