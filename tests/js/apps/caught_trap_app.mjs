// wasi_app.mjs, but the app catches the guest's trap and goes on (a test harness whose #[should_panic] test
// aborted): the report is the app's at exit, with a note on the caught trap. Usage: node caught_trap_app.mjs MODULE.wasm
import { readFileSync } from 'node:fs';
import { WASI } from 'node:wasi';

const path = process.argv[2];
const wasi = new WASI({ version: 'preview1', args: [path], env: {}, returnOnExit: true });
const { instance } = await WebAssembly.instantiate(readFileSync(path), wasi.getImportObject());
try {
  wasi.start(instance);
} catch (e) {
  console.log(`caught: ${e instanceof WebAssembly.RuntimeError ? 'a trap' : e}`);
}
