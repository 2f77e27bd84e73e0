// lightningcss-wasm (Rust on napi-wasm, Node-API in wasm): N stylesheets transformed, each result kept to the end.
// Its output buffers are handed to JS as external buffers with finalizers (napi_create_external_buffer):
// held by JS objects until the garbage collector collects them, not lost. They are kept here so that no collection
// during the run frees some of them (a dropped result's block was freed, or not, as the collector ran: a test's
// exact count failed once in a loaded run). Usage: node lightningcss_app.mjs N
import init, { transform } from 'lightningcss-wasm';
await init();
const n = Number(process.argv[2] ?? 20);
let bytes = 0;
const kept = [];
for (let i = 0; i < n; i++) {
  const { code } = transform({ filename: 'a.css', code: new TextEncoder().encode(`.a${i} { color: red; display: flex; } .b { margin: 0px }`), minify: true });
  bytes += code.length;
  kept.push(code);
}
globalThis.kept = kept;
console.log(`transformed ${n}: ${bytes} bytes`);
