// Leaking usage of brotli-wasm (a real wasm-bindgen package, Rust, `--target nodejs` glue that reads its .wasm
// with fs): creates N DecompressStream objects and drops them without calling `.free()`. This glue
// (wasm-bindgen 0.2.80, no weak refs) has no FinalizationRegistry, so each object's Rust box stays allocated.
// Usage: node brotli_leak.mjs N
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const brotli = require('brotli-wasm'); // "require" → index.node.js → pkg.node (the "import" entry is the web build)

const n = Number(process.argv[2] ?? 10);
for (let i = 0; i < n; i++) {
  const stream = new brotli.DecompressStream();
  stream.total_out(); // use it, then forget it: no stream.free()
}
console.log(`brotli_leak x${n}: done`);
