// Instrumenting a module in the analysis compiled to wasm32, as the JS runtime does before an app's module can
// start (V8 runs the analysis' code unoptimized at first): the first call and a second one, in ms.
// Usage: node scripts/bench/instrument_wasm32.mjs MODULE.wasm [threads]
// ($WASMLEAK_WASM: the analysis module, default the cargo target dir's; `threads`: a module with shared memory.)
import { readFileSync } from 'node:fs';
import { instrumentWith, loadAnalysisSync } from '../../js/src/analysis.mjs';

const [file, threads] = process.argv.slice(2);
if (!file) throw new Error('usage: node scripts/bench/instrument_wasm32.mjs MODULE.wasm [threads]');
const bytes = readFileSync(file);
const analysis = loadAnalysisSync();
for (const which of ['first', 'second']) {
  const t = performance.now();
  const ins = instrumentWith(analysis, bytes, threads ? { threads: true } : {});
  console.log(`${which}: ${(performance.now() - t).toFixed(0)} ms (${bytes.length} → ${ins.bytes.length} bytes)`);
  ins.release();
}
