// A module that hands JS a block through a transfer buffer, as web-tree-sitter does: `init()` returns the buffer's
// static address, `make()` allocates and leaves the block's address there (returning nothing), `clear()` overwrites
// it. JS reads the address and keeps it, never freeing it. Usage: node transfer_app.mjs MODULE.wasm
import { readFileSync } from 'node:fs';

const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]), {});
const { init, make, clear, memory } = instance.exports;
const buffer = init();
make();
const kept = new Uint32Array(memory.buffer)[buffer >>> 2];
clear();
console.log(`transfer: kept ${kept ? 'a block' : 'nothing'}`);
