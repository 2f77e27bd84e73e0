// A program with very many allocation stacks: onnxruntime-web creating inference sessions (it registers
// thousands of kernels, each from a function of its own: ~116,000 distinct calling contexts in 224,000
// allocations for two sessions). Not in CI (a 145 MB package): run it from a directory where the package is
// installed, e.g.
//   mkdir /tmp/ort && cd /tmp/ort && npm install onnxruntime-web@1.31.1
//   time node /path/to/scripts/bench/many_contexts.mjs keep 2
//   time wasmleak node /path/to/scripts/bench/many_contexts.mjs keep 2
// `keep N` keeps the N sessions (each holds 696 blocks, 31,416 B, from JS: `host` in the report), `release N`
// releases them (nothing held).
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const [mode = 'keep', n = '2'] = process.argv.slice(2);
const require = createRequire(`${process.cwd()}/`);
const ort = await import(pathToFileURL(require.resolve('onnxruntime-web')).href);
ort.env.wasm.numThreads = 1;
// An ONNX model of one MatMul, c = a · b with a 3×4 and b 4×3 (made with the onnx Python package, opset 13).
const model = Buffer.from(
  'CAg6VgoRCgFhCgFiEgFjIgZNYXRNdWwSAm1tWhMKAWESDgoMCAESCAoCCAMKAggEWhMKAWISDgoMCAESCAoCCAQKAggDYhMKAWMSDgoMCAESCAoCCAMKAggDQgQKABAN',
  'base64',
);
const kept = [];
for (let i = 0; i < Number(n); i++) {
  const session = await ort.InferenceSession.create(model);
  const a = new ort.Tensor('float32', Float32Array.from({ length: 12 }, (_, k) => k), [3, 4]);
  const b = new ort.Tensor('float32', Float32Array.from({ length: 12 }, (_, k) => k), [4, 3]);
  const out = await session.run({ a, b });
  if (i === 0 && out.c.data[0] !== 42) throw new Error(`wrong product: ${out.c.data[0]}`);
  if (mode === 'keep') kept.push(session);
  else await session.release();
}
console.log(`${mode} ${n}: done`);
