// An app that uses an Emscripten module's heap from JavaScript (em_unwind.js, whose glue exports _malloc and _free):
// allocates with _malloc, frees the block twice with _free. The first free is `drop` called from line 13.
const Module = require('../../../fixtures/wasm/edge/em_unwind.js');

Module.onRuntimeInitialized = () => {
  function grab() {
    return Module._malloc(64);
  }
  function drop(p) {
    Module._free(p);
  }
  const p = grab();
  drop(p); // the first free
  drop(p); // the double free
};
