// An unmodified app using the synchronous constructors, as some glue does.
import { readFileSync } from 'node:fs';

const [fn = 'create_processor', n = '5'] = process.argv.slice(2);
const module = new WebAssembly.Module(readFileSync(new URL('../../../fixtures/wasm/rust_lib.wasm', import.meta.url)));
const instance = new WebAssembly.Instance(module, {});
instance.exports._initialize?.();
for (let i = 0; i < Number(n); i++) instance.exports[fn]();
console.log(`${fn} x${n}: done`);
