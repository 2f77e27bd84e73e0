// A long-running app that never takes a snapshot itself (a server handling requests): every 2 ms a "request"
// calls rust_lib.wasm's create_processor and keeps the result (2 blocks, 276 B that JS never frees), for
// about 800 ms; then it stops and exits. `wasmleak node --snapshot-interval 100` snapshots it over time.
// Usage: node interval_app.mjs [MS, default 800]
import { readFileSync } from 'node:fs';

const { instance } = await WebAssembly.instantiate(readFileSync(new URL('../../../fixtures/wasm/rust_lib.wasm', import.meta.url)), {});
instance.exports._initialize?.();
const kept = [];
const timer = setInterval(() => kept.push(instance.exports.create_processor()), 2);
setTimeout(() => {
  clearInterval(timer);
  console.log(`interval_app: ${kept.length} requests`);
}, Number(process.argv[2] ?? 800));
