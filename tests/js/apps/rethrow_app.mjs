// wasi_app.mjs behind an uncaughtException handler that rethrows, as Emscripten's Node glue installs one: a trap
// then ends node at once (status 7), with no 'exit' event. Usage: node rethrow_app.mjs MODULE.wasm [ARGS...]
process.on('uncaughtException', (e) => {
  throw e;
});
await import('./wasi_app.mjs');
