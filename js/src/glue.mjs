// Conventions of the JS glue generators (wasm-bindgen, Emscripten/Embind): where JS gets hold of pointers
// into linear memory other than an export's return value, so blocks only JS keeps are kind `host`.
//
// `watchInstance(instance, hold)` is called once per tracked instance, right after it is created (its
// `exports` are already wasmleak's wrapped copy). `hold(value, label)` records a number JS now holds.

export function watchInstance(instance, hold) {}
