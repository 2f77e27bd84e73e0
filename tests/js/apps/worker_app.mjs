// An app whose wasm runs in a worker thread: the worker loads rust_lib.wasm and calls create_processor N times
// (2 blocks, 276 B each, held by JS); the main thread loads it too and calls process_ok (nothing left).
// Usage: node worker_app.mjs [N, default 3] [terminate: the main thread ends the worker with worker.terminate(),
// which skips the worker's exit, where its report is written]
import { readFileSync } from 'node:fs';
import { Worker, isMainThread, workerData, parentPort, threadId } from 'node:worker_threads';

const bytes = readFileSync(new URL('../../../fixtures/wasm/rust_lib.wasm', import.meta.url));
const { instance } = await WebAssembly.instantiate(bytes, {});
instance.exports._initialize?.();
if (isMainThread) {
  const n = Number(process.argv[2] ?? 3);
  const terminate = process.argv[3] === 'terminate';
  instance.exports.process_ok();
  const w = new Worker(new URL(import.meta.url), { workerData: { n, terminate } });
  w.on('message', (m) => {
    console.log(`worker_app: ${m}`);
    if (terminate) w.terminate();
  });
} else {
  const kept = [];
  for (let i = 0; i < workerData.n; i++) kept.push(instance.exports.create_processor());
  parentPort.postMessage(`worker ${threadId} created ${kept.length}`);
  if (workerData.terminate) setInterval(() => {}, 1000); // alive until terminated
}
