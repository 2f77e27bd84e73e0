// The DevTools loop on our wasm-bindgen fixture, in one run: attach(), load the glue (it instantiates its
// module when required, so after attach()), snapshot, then three times K calls of PATTERN and a snapshot;
// print {diff (first → last), report, text} as JSON. A snapshot's iteration is the number of calls so far.
// Usage: node bindgen_snapshot_app.mjs closure_leak|closure_ok K
import { createRequire } from 'node:module';
import { attach } from '../../../js/src/index.mjs';

const [pattern, k] = process.argv.slice(2);
const K = Number(k);
const leak = attach();
const require = createRequire(import.meta.url);
const { leak_closure, Callback } = require('../../../fixtures/wasm/bindgen/bindgen_fixture.js');

const listeners = [];
function action() {
  for (let i = 0; i < K; i++) {
    if (pattern === 'closure_leak') {
      listeners.push(leak_closure(7)); // handed to JS for good: nothing ever drops the Rust closure
    } else {
      const cb = new Callback(7);
      cb.function()();
      cb.free();
    }
  }
}
const snapshots = [await leak.snapshot({ iteration: 0 })];
for (let s = 1; s <= 3; s++) {
  action();
  snapshots.push(await leak.snapshot({ iteration: s * K }));
}
const diff = leak.diff(snapshots[0], snapshots[3]);
console.log(JSON.stringify({ diff: diff.json(), report: leak.report(), text: leak.text(), skipped: leak.skipped }));
