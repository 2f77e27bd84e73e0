// Correct usage of brotli-wasm: the same N DecompressStream objects as brotli_leak.mjs, each freed with
// `.free()`. Usage: node brotli_ok.mjs N
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const brotli = require('brotli-wasm');

const n = Number(process.argv[2] ?? 10);
for (let i = 0; i < n; i++) {
  const stream = new brotli.DecompressStream();
  stream.total_out();
  stream.free();
}
console.log(`brotli_ok x${n}: done`);
