// An app whose wasm traps: two create_processor() calls (2 blocks, 276 B each, held by JS), then
// destroy_processor() on an address past the end of memory: an out-of-bounds access (WebAssembly.RuntimeError)
// that nothing catches. The report must still come, saying so.
import { readFileSync } from 'node:fs';

const { instance } = await WebAssembly.instantiate(readFileSync(new URL('../../../fixtures/wasm/rust_lib.wasm', import.meta.url)), {});
instance.exports._initialize?.();
instance.exports.create_processor();
instance.exports.create_processor();
console.log('trap_app: created');
instance.exports.destroy_processor(0xfffffff0);
