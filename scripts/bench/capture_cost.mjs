// Where the JS runtime's time goes on the alloc_heavy workload (rust_patterns.wasm, node:wasi): the same
// instrumented module run with hooks that do nothing (noop), with the runtime's tracker but no stacks
// (nostack), with hooks that only record V8's stack at each allocation and keep the last 1024 (captureN:
// Error.stackTraceLimit = N, nothing formatted), and with the full tracker (full). Prints the wall time of
// the guest run (compiling and the report excluded).
// Usage: node scripts/bench/capture_cost.mjs MODE [N iterations, default 20]
import { readFileSync } from 'node:fs';
import { WASI } from 'node:wasi';
import { instrument } from '../../js/src/index.mjs';

const [mode = 'full', n = '20'] = process.argv.slice(2);
const wasi = new WASI({ version: 'preview1', args: ['rust_patterns.wasm', 'alloc_heavy', n], env: {}, returnOnExit: true });
const ins = await instrument(readFileSync(new URL('../../fixtures/wasm/rust_patterns.wasm', import.meta.url)));
const imports = wasi.getImportObject();
const tracker = ins.track(imports, { stacks: mode === 'full' });
if (mode === 'noop') {
  imports.wasmleak = { alloc() {}, free() {}, realloc() {} };
} else if (mode.startsWith('capture')) {
  Error.stackTraceLimit = Number(mode.slice('capture'.length) || 10);
  const kept = new Array(1024);
  let k = 0;
  const capture = () => { const h = {}; Error.captureStackTrace(h); kept[k++ & 1023] = h; };
  imports.wasmleak = { alloc: capture, free() {}, realloc: capture };
}
const { instance } = await WebAssembly.instantiate(ins.bytes, imports);
tracker.attach(instance);
const t0 = performance.now();
wasi.start(instance);
console.log(`${mode}: ${(performance.now() - t0).toFixed(0)} ms`);
