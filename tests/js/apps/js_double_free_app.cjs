// An app that uses an Emscripten module's heap from JavaScript (fixtures/edge/c/js_heap.c): allocates with _malloc
// and frees the block twice with _free. The double free's first free is `drop` called from line 13.
const Module = require('../../../fixtures/wasm/edge/em_js_heap_O0.js');

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
