// tiktoken 1.0.22 (Rust, wasm-bindgen 0.2.100, stripped, anonymised exports): one encoder built from the
// r50k_base ranks (hash tables aligned to 16: the dlmalloc crate's memalign), N round trips, then `.free()`.
// `mixed`: also builds and frees an encoder per iteration at a second call site, so the constructor's wasm
// calling contexts have two JS callers (the benchmark of BENCHMARKS.md, "mixed contexts").
// Usage: node tiktoken_app.mjs [N] [mixed]   (default 3)
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Tiktoken } = require('tiktoken/lite');
const ranks = require('tiktoken/encoders/r50k_base.json');

const n = Number(process.argv[2] ?? 3);
const enc = new Tiktoken(ranks.bpe_ranks, ranks.special_tokens, ranks.pat_str);
let tokens = 0;
for (let i = 0; i < n; i++) {
  const text = `The quick brown fox jumps over the lazy dog number ${i}.`;
  const encoded = enc.encode(text);
  if (new TextDecoder().decode(enc.decode(encoded)) !== text) throw new Error('round trip');
  tokens += encoded.length;
  if (process.argv[3] === 'mixed') {
    const again = new Tiktoken(ranks.bpe_ranks, ranks.special_tokens, ranks.pat_str);
    tokens += again.encode(text).length;
    again.free();
  }
}
enc.free();
console.log(`tiktoken x${n}: done (${tokens} tokens)`);
