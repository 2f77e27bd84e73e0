// Loads a WASI reactor of fixtures/wasm/edge (default c_wrapped_malloc.wasm: malloc wrapped with `wasm-ld --wrap`,
// no name section; c_wrapped_threads*.wasm: the same with an imported shared memory) through node:wasi and calls leak_some(ROUNDS) CALLS times.
// Usage: node wrapped_app.mjs [MODULE] [ROUNDS] [CALLS]   (default c_wrapped_malloc.wasm 5 1)
import { readFileSync } from 'node:fs';
import { WASI } from 'node:wasi';

const [name = 'c_wrapped_malloc.wasm', rounds = '5', calls = '1'] = process.argv.slice(2);
const bytes = readFileSync(new URL(`../../../fixtures/wasm/edge/${name}`, import.meta.url));
const wasi = new WASI({ version: 'preview1' });
const imports = wasi.getImportObject();
// The shared-memory builds (c_wrapped_threads*.wasm) import their memory, as napi-rs modules do.
const module = await WebAssembly.compile(bytes);
if (WebAssembly.Module.imports(module).some((i) => i.kind === 'memory')) {
  imports.env = { memory: new WebAssembly.Memory({ initial: 64, maximum: 1024, shared: true }) };
}
const instance = await WebAssembly.instantiate(module, imports);
wasi.initialize(instance);
for (let i = 0; i < Number(calls); i++) instance.exports.leak_some(Number(rounds));
console.log(`leak_some(${rounds}) x${calls}: done`);
