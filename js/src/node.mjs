// The package's entry in Node (package.json "exports", condition "node"): index.mjs, told where the analysis
// module the npm package ships is. Not part of the browser bundle: `import.meta` has no place in a classic
// script.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const shipped = fileURLToPath(new URL('../analysis.wasm', import.meta.url));
if (existsSync(shipped)) globalThis[Symbol.for('wasmleak.shippedAnalysis')] ??= shipped;

// The analysis runs on a thread of its own there (analysis.mjs `RemoteAnalysis`).
globalThis[Symbol.for('wasmleak.analysisThread')] ??= new URL('./analysis_thread.mjs', import.meta.url).href;

export * from './index.mjs';
