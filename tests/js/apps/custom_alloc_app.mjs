// An app whose module has an allocator wasmleak cannot recognise (a bump allocator with names stripped): loads
// the module at argv[2] and calls its `run` export once. Usage: node custom_alloc_app.mjs MODULE.wasm
import { readFileSync } from 'node:fs';

const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]), {});
instance.exports.run();
console.log('custom_alloc: done');
