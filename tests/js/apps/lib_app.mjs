// An unmodified app: loads fixtures/wasm/rust_lib.wasm with plain WebAssembly.instantiate and calls one
// export N times. Usage: node lib_app.mjs [EXPORT] [N]   (default create_processor 5)
import { readFileSync } from 'node:fs';

const [fn = 'create_processor', n = '5'] = process.argv.slice(2);
const bytes = readFileSync(new URL('../../../fixtures/wasm/rust_lib.wasm', import.meta.url));
const { instance } = await WebAssembly.instantiate(bytes, {});
instance.exports._initialize?.();
const kept = [];
for (let i = 0; i < Number(n); i++) kept.push(instance.exports[fn]());
console.log(`${fn} x${n}: done`);
