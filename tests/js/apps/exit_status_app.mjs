// An app that runs a leak-free WASI module (rust_patterns.wasm `drop 3`: every block freed) and then fails with a
// status of its own: `wasmleak node` must pass it through, as `check` passes a guest's. Usage: node exit_status_app.mjs CODE
import { readFileSync } from 'node:fs';
import { WASI } from 'node:wasi';

const path = new URL('../../../fixtures/wasm/rust_patterns.wasm', import.meta.url);
const wasi = new WASI({ version: 'preview1', args: ['rust_patterns.wasm', 'drop', '3'], env: {}, returnOnExit: true });
const { instance } = await WebAssembly.instantiate(readFileSync(path), wasi.getImportObject());
wasi.start(instance);
process.exitCode = Number(process.argv[2] ?? 3);
