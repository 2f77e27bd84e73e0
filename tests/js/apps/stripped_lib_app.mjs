// Loads fixtures/wasm/rust_lib_stripped.wasm (no names) and calls one export N times, keeping what it returns.
// Usage: node stripped_lib_app.mjs [EXPORT] [N]   (default create_processor 3)
import { readFileSync } from 'node:fs';

const [fn = 'create_processor', n = '3'] = process.argv.slice(2);
const bytes = readFileSync(new URL('../../../fixtures/wasm/rust_lib_stripped.wasm', import.meta.url));
const { instance } = await WebAssembly.instantiate(bytes, {});
const kept = [];
for (let i = 0; i < Number(n); i++) kept.push(instance.exports[fn]());
console.log(`${fn} x${n}: done`);
