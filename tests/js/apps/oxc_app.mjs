// A real threaded npm package: @oxc-parser/binding-wasm32-wasi (Rust via napi-rs and emnapi, wasm32-wasip1-threads,
// an imported shared memory; its async `parse` runs on emnapi's worker threads, each a wasi-threads instance of
// the same module). Parses N snippets.
//   keep: every result stays referenced by the app;
//   drop: results are dropped, then collected (gc), so emnapi's finalizers free the native results.
// Usage: node oxc_app.mjs [keep|drop] [N] [async|sync]   (default keep 10 async)
import { createRequire } from 'node:module';
import v8 from 'node:v8';
import vm from 'node:vm';

const require = createRequire(import.meta.url);
const { parse, parseSync } = require('@oxc-parser/binding-wasm32-wasi');
const [mode = 'keep', n = '10', api = 'async'] = process.argv.slice(2);
const kept = [];
for (let i = 0; i < Number(n); i++) {
  const src = `const a${i} = [1, 2, 3].map((x) => x * ${i});`;
  const r = api === 'async' ? await parse('f.js', src, {}) : parseSync('f.js', src, {});
  if (!r.program) throw new Error('no program');
  if (mode === 'keep') kept.push(r);
}
if (mode === 'drop') {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc');
  for (let k = 0; k < 3; k++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 10)); // the FinalizationRegistry callbacks run
  }
}
console.log(`oxc ${api} ${mode} x${n}: done (${kept.length} kept)`);
