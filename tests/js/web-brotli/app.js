// An unmodified page using a real wasm-bindgen package: each "leak" click creates a DecompressStream and drops
// it without .free() (the glue of brotli-wasm 3.0.1 has no FinalizationRegistry), each "ok" click frees it.
import init, { DecompressStream } from './pkg/brotli_wasm.js';

await init();
const kept = []; // JS keeps the objects, as an app that forgot .free() would (no GC surprises in the test)
let leaked = 0, freed = 0;
function leak() {
  const s = new DecompressStream();
  kept.push(s);
  leaked++;
  show();
}
function ok() {
  const s = new DecompressStream();
  s.free();
  freed++;
  show();
}
function show() {
  document.getElementById('out').textContent = `leaked ${leaked}, freed ${freed}`;
}
document.getElementById('leak').onclick = leak;
document.getElementById('ok').onclick = ok;
document.body.dataset.ready = 'true';
