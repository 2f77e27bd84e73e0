// lightningcss-wasm (Rust on napi-wasm, Node-API in wasm): N stylesheets transformed, each result dropped.
// Its output buffers are handed to JS as external buffers with finalizers (napi_create_external_buffer):
// held by JS objects until the garbage collector runs, not lost. Usage: node lightningcss_app.mjs N
import init, { transform } from 'lightningcss-wasm';
await init();
const n = Number(process.argv[2] ?? 20);
let bytes = 0;
for (let i = 0; i < n; i++) {
  const { code } = transform({ filename: 'a.css', code: new TextEncoder().encode(`.a${i} { color: red; display: flex; } .b { margin: 0px }`), minify: true });
  bytes += code.length;
}
console.log(`transformed ${n}: ${bytes} bytes`);
