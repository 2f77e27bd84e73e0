// What Emscripten's dynamic linking (MAIN_MODULE, e.g. web-tree-sitter) does with a module, which wasmleak must
// not break: its `GOT.mem` import namespace is a Proxy that makes an entry for any name it is asked for (the
// loader later fails on entries nobody set), it walks every export (and rejects kinds it does not know), and it
// puts exported functions into a table. Loads the module at argv[2], calls `run` and prints what it saw.
// Usage: node dylink_app.mjs MODULE.wasm
import { readFileSync } from 'node:fs';

const asked = [];
// As Emscripten's: `GOT.mem` wraps the library's symbols (it has their names as keys) and makes a global for any
// name asked of it; `env` resolves every name when asked, and has no keys of its own.
const symbols = { __indirect_function_table: null, exit: null, log: null };
const GOT = new Proxy(symbols, {
  get(_, name) {
    asked.push(name);
    return new WebAssembly.Global({ value: 'i32', mutable: true }, 0);
  },
});
const logged = [];
const env = new Proxy({}, {
  get(_, name) {
    if (name === 'exit') return function _exit(code) { throw new Error(`exit(${code})`); };
    return (v) => logged.push(`${String(name)}(${v})`);
  },
});
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]), { 'GOT.mem': GOT, env });
for (const [name, value] of Object.entries(instance.exports)) {
  const kind = value instanceof WebAssembly.Memory || value instanceof WebAssembly.Table ? 'object' : typeof value;
  if (kind !== 'function' && kind !== 'object') throw new Error(`bad export type for '${name}': ${typeof value}`);
}
const table = instance.exports.table;
table.set(1, instance.exports.answer);
table.grow(1, instance.exports.answer);
instance.exports.run();
console.log(`dylink: GOT asked for ${asked.join(',')}; table calls ${table.get(1)()} ${table.get(4)()}; env ${logged.join(',')}`);
