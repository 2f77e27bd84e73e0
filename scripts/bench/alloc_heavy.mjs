// An allocation-heavy Node app for scripts/bench.sh: rust_patterns.wasm's `alloc_heavy N` (per
// iteration 10,122 allocations, 2,409 reallocs, 10,122 frees; leak-free) under node:wasi, loaded with plain
// WebAssembly.instantiate as any app does. Usage: node alloc_heavy.mjs [N]
import { readFileSync } from 'node:fs';
import { WASI } from 'node:wasi';

const n = process.argv[2] ?? '100';
const wasi = new WASI({ version: 'preview1', args: ['rust_patterns.wasm', 'alloc_heavy', n], env: {}, returnOnExit: true });
const bytes = readFileSync(new URL('../../fixtures/wasm/rust_patterns.wasm', import.meta.url));
const { instance } = await WebAssembly.instantiate(bytes, wasi.getImportObject());
const code = wasi.start(instance);
if (code !== 0) throw new Error(`alloc_heavy exited with ${code}`);
