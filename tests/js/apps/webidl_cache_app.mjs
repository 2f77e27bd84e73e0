// Emscripten's WebIDL binder glue pattern over fixtures/wasm/edge/c_wrapped_malloc.wasm (apps/webidl_cache_glue.cjs):
// its `ensureCache` keeps one malloc'd buffer for the array arguments of every call. The arrays passed hold the
// addresses of the app's own blocks (as a mesh file's bytes may happen to): N blocks the app mallocs and never frees,
// which that buffer must not root. Usage: node webidl_cache_app.mjs [N]
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const n = Number(process.argv[2] ?? 3);
const bytes = readFileSync(new URL('../../../fixtures/wasm/edge/c_wrapped_malloc.wasm', import.meta.url));
const { instance } = await WebAssembly.instantiate(bytes, {});
const glue = createRequire(import.meta.url)('./webidl_cache_glue.cjs')(instance.exports);
const kept = [];
for (let i = 0; i < n; i++) kept.push(instance.exports.malloc(24));
for (let i = 0; i < 5; i++) glue.passArray(new Int8Array(new Uint32Array(kept).buffer));
console.log(`webidl x${n}: done, cache ${glue.cacheSize()}`);
