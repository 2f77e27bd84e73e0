// brotli-wasm: `CompressStream.compress()` returns a `BrotliStreamResult` through wasm-bindgen's return area (the
// export writes the result's pointer to memory the glue passed; the glue reads it from there). N streams, each
// freed, their results dropped without `.free()`. Usage: node brotli_results.mjs N
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const brotli = require('brotli-wasm');

const n = Number(process.argv[2] ?? 10);
const input = Buffer.from('hello world '.repeat(200));
for (let i = 0; i < n; i++) {
  const stream = new brotli.CompressStream(4);
  const result = stream.compress(input, 1 << 16);
  if (result.input_offset !== input.length) throw new Error('short');
  stream.free(); // the result is dropped: no result.free()
}
console.log(`brotli_results x${n}: done`);
