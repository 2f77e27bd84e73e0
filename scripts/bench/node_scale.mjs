// Scale of the JS runtime: rust_lib.wasm cache_insert N times, three times over, a snapshot after each round
// (N, 2N, 3N live blocks), then a diff and the report. Prints the wall time of each step.
// Usage: node scripts/bench/node_scale.mjs [N, default 100000]
import { readFileSync } from 'node:fs';
import { attach } from '../../js/src/index.mjs';
const leak = attach();
const { instance } = await WebAssembly.instantiate(readFileSync(new URL('../../fixtures/wasm/rust_lib.wasm', import.meta.url)), {});
instance.exports._initialize?.();
const n = Number(process.argv[2] ?? 100000);
const t = [];
const tick = (label) => { t.push([label, performance.now()]); };
tick('start');
const snaps = [];
for (let s = 0; s < 3; s++) {
  for (let i = 0; i < n; i++) instance.exports.cache_insert(i);
  tick(`work ${s}`);
  snaps.push(await leak.snapshot());
  tick(`snapshot ${s} (${snaps.at(-1).modules[0].summary.blocks} blocks, ${(snaps.at(-1).modules[0].bytes.length/1e6).toFixed(1)} MB)`);
}
const d = leak.diff(snaps[0], snaps[2]);
tick('diff');
const r = leak.report();
tick(`report (${r[0].groups.length} groups, growing ${r[0].groups.filter(g=>g.growing).length})`);
for (let i = 1; i < t.length; i++) console.log(t[i][0], (t[i][1] - t[i-1][1]).toFixed(0), 'ms');
