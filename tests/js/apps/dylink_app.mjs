// What Emscripten's dynamic linking (MAIN_MODULE, e.g. web-tree-sitter) does with a module, which wasmleak must
// not break: its `GOT.mem` import namespace is a Proxy that makes an entry for any name it is asked for (the
// loader later fails on entries nobody set), it walks every export (and rejects kinds it does not know), and it
// puts exported functions into a table. Loads the module at argv[2], calls `run` and prints what it saw.
// Usage: node dylink_app.mjs MODULE.wasm
import { readFileSync } from 'node:fs';

const asked = [];
const GOT = new Proxy({}, {
  get(_, name) {
    asked.push(name);
    return new WebAssembly.Global({ value: 'i32', mutable: true }, 0);
  },
});
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]), { 'GOT.mem': GOT });
for (const [name, value] of Object.entries(instance.exports)) {
  const kind = value instanceof WebAssembly.Memory || value instanceof WebAssembly.Table ? 'object' : typeof value;
  if (kind !== 'function' && kind !== 'object') throw new Error(`bad export type for '${name}': ${typeof value}`);
}
const table = instance.exports.table;
table.set(1, instance.exports.answer);
table.grow(1, instance.exports.answer);
instance.exports.run();
console.log(`dylink: GOT asked for ${asked.join(',')}; table calls ${table.get(1)()} ${table.get(4)()}`);
