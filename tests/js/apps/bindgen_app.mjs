// An app of our own wasm-bindgen fixture (fixtures/wasm/bindgen/: wasm-bindgen 0.2.130, `--target nodejs` glue
// that reads its .wasm with fs and instantiates it with `new WebAssembly.Module/Instance`).
// Usage: node bindgen_app.mjs PATTERN N
//   closure_leak — N × `leak_closure(i)`: a Rust closure capturing a 100-byte buffer, forgotten with
//                  `Closure::into_js_value`; the app registers each as a listener and never removes it
//   closure_ok   — N × `new Callback(i)`: the Closure stays owned by a Rust struct; the app registers its
//                  function, calls it, removes it, then `.free()`s the Callback (which drops the closure)
//   parser_leak  — N × `new Parser()` kept in an array, never `.free()`d
//   parser_ok    — N × `new Parser()`, used, then `.free()`d
//   parser_gc    — N × `new Parser()`, used, dropped without `.free()`; then a forced garbage collection, whose
//                  FinalizationRegistry callbacks free them
//   parsers_leak — `parsers(N)`: N Parsers returned in a Vec, each reaching JS through the glue's import that wraps
//                  it (`Parser.__wrap`), kept, never `.free()`d
//   parsers_ok   — `parsers(N)`, each `.free()`d
//   bytes_forget — N × `forget_bytes(new Uint8Array(64))`: the glue copies each array into a block from
//                  `__wbindgen_malloc` and hands it to Rust, which forgets it: JS keeps nothing (lost)
//   bytes_ok     — N × `sum_bytes(new Uint8Array(64))`: the same, dropped by Rust
// The leaking patterns keep what they leak reachable from JS on purpose: the glue registers closures and
// objects with a FinalizationRegistry, so something JS dropped may be freed at a garbage collection, or never —
// keeping them makes the report the same at every run.
import { createRequire } from 'node:module';
import { EventEmitter } from 'node:events';

const require = createRequire(import.meta.url);
const { leak_closure, Callback, Parser, parsers: makeParsers, forget_bytes, sum_bytes } = require('../../../fixtures/wasm/bindgen/bindgen_fixture.js');

const [pattern, count] = process.argv.slice(2);
const n = Number(count ?? 10);
const bus = new EventEmitter();
bus.setMaxListeners(0);
const parsers = [];
let sum = 0;
if (pattern === 'parsers_leak' || pattern === 'parsers_ok') {
  for (const p of makeParsers(n)) {
    sum += p.step();
    if (pattern === 'parsers_ok') p.free();
    else parsers.push(p); // no p.free()
  }
}
for (let i = 0; i < n && !pattern.startsWith('parsers_'); i++) {
  if (pattern === 'closure_leak') {
    const f = leak_closure(1 + (i % 250)) // never 0: vec![0; n] would take the alloc_zeroed path;
    bus.on('tick', f); // never removed
    sum += f();
  } else if (pattern === 'closure_ok') {
    const cb = new Callback(1 + (i % 250));
    const f = cb.function();
    bus.on('tick', f);
    sum += f();
    bus.off('tick', f);
    cb.free();
  } else if (pattern === 'parser_leak') {
    const p = new Parser();
    sum += p.step();
    parsers.push(p); // no p.free()
  } else if (pattern === 'bytes_forget') {
    sum += forget_bytes(new Uint8Array(64).fill(1));
  } else if (pattern === 'bytes_ok') {
    sum += sum_bytes(new Uint8Array(64).fill(1));
  } else if (pattern === 'parser_gc') {
    const p = new Parser(); // dropped without .free(): the glue's FinalizationRegistry frees it at a collection
    sum += p.step();
  } else if (pattern === 'parser_ok') {
    const p = new Parser();
    sum += p.step();
    p.free();
  } else {
    console.error('usage: bindgen_app.mjs closure_leak|closure_ok|parser_leak|parser_ok|parser_gc|parsers_leak|parsers_ok|bytes_forget|bytes_ok N');
    process.exit(2);
  }
}
if (pattern === 'parser_gc') {
  // A full collection now, and time for the registry's callbacks (they run as tasks after it).
  (await import('node:v8')).setFlagsFromString('--expose-gc');
  (await import('node:vm')).runInNewContext('gc')();
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 10));
}
bus.emit('tick');
console.log(`${pattern} x${n}: done ${sum} (${bus.listenerCount('tick')} listeners, ${parsers.length} parsers)`);
