// A module of a garbage-collected language's runtime (TinyGo-like: it imports `gojs`), which grows its memory:
// wasmleak cannot track its objects (no malloc/free pair). Usage: node gojs_app.mjs MODULE.wasm
import { readFileSync } from 'node:fs';

const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]), { gojs: { 'runtime.ticks': () => 0 } });
instance.exports.run();
console.log('gojs: done');
