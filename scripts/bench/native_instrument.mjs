// `wasmleak __instrument-for-js` against the wasm-compiled analysis, on the modules given: the outputs (module,
// meta, state) must be byte for byte the same, and the times are printed (each module in a fresh process is the
// cold case a first `wasmleak node` run meets). js/README.md quotes them.
//   for m in A.wasm B.wasm; do WASMLEAK=target/release/wasmleak \
//     WASMLEAK_WASM=target/wasm32-unknown-unknown/release/wasmleak_wasm.wasm node scripts/bench/native_instrument.mjs $m; done
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

process.env.WASMLEAK_ANALYSIS_THREAD = '0'; // the analysis on this thread: its time is the instrumenting's
const { loadAnalysisSync } = await import(new URL('../../js/src/analysis.mjs', import.meta.url));
const a = loadAnalysisSync(process.env.WASMLEAK_WASM);
let failed = false;
for (const path of process.argv.slice(2)) {
  const src = readFileSync(path);
  const t0 = performance.now();
  const h = a.call('instrument_with', [], [new Uint8Array(src), {}]);
  const t1 = performance.now();
  const [bytes, meta, state] = [0, 1, 2].map((i) => a.out(h, i));
  const r = spawnSync(process.env.WASMLEAK ?? 'wasmleak', ['__instrument-for-js', '{}'], { input: src, maxBuffer: 1 << 30 });
  const t2 = performance.now();
  const name = path.split('/').pop();
  const refused = !!JSON.parse(new TextDecoder().decode(meta)).error;
  if (r.status !== 0) {
    // Exit 3: refused, which the analysis must refuse too.
    if (r.status !== 3 || !refused) failed = true;
    console.log(`${name}: native exit ${r.status}, analysis ${refused ? 'refused' : 'instrumented'}`);
    continue;
  }
  const out = r.stdout;
  const m = 8 + out.readUInt32LE(0), s = m + out.readUInt32LE(4);
  const same = (x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)) === 0;
  const ok = same(meta, out.subarray(8, m)) && same(state, out.subarray(m, s)) && same(bytes, out.subarray(s));
  if (!ok) failed = true;
  console.log(`${name}: ${ok ? 'same outputs' : 'DIFFERENT outputs'}; analysis ${(t1 - t0).toFixed(0)} ms, native ${(t2 - t1).toFixed(0)} ms`);
}
process.exitCode = failed ? 1 : 0;
