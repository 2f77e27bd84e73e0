// wasm-bindgen `--target bundler` output of our fixture (fixtures/wasm/bindgen-bundler/), whose glue imports the
// .wasm file as an ES module: Node 20 runs it with --experimental-wasm-modules, where Node's own loader would
// compile the module out of wasmleak's sight (js/src/esm_hooks.mjs hands it to the WebAssembly API instead).
// The app keeps 5 Parsers it never `.free()`s.
import { Parser } from '../../../fixtures/wasm/bindgen-bundler/bindgen_fixture.js';

const keep = [];
for (let i = 0; i < 5; i++) keep.push(new Parser());
console.log(`esm: ${keep.length} parsers kept`);
