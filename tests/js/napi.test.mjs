// Node-API on wasm: lightningcss-wasm 1.33.0 (Rust, napi-rs on napi-wasm 1.1.3). Each transform hands its
// output to JS as an external buffer (`napi_create_external_buffer`: the Vec's 64 B and an 8 B finalize hint)
// that napi-wasm frees from a FinalizationRegistry when the garbage collector collects the Buffer: held by JS
// objects, so still reachable — they were "lost", with advice to free them in the Rust code. napi-wasm also
// copies each input into a block from the module's `napi_wasm_malloc` export, which only a `napi_wasm_free`
// export could free; lightningcss exports none, so those are held by JS for good: a real leak, 1 per transform.
// The 4 KiB block napi-wasm gets at `init` (the app's call that instantiates the module) is the package's own:
// reachable, not a handle the app forgot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runApp } from './apps/run.mjs';

const NAPI = /^a JS object through napi_create_external_buffer \(freed by its finalizer/;
const sum = (groups) => groups.reduce((a, g) => ({ blocks: a.blocks + g.blocks, bytes: a.bytes + g.bytes }), { blocks: 0, bytes: 0 });

test('lightningcss-wasm: external buffers handed to JS are reachable through napi_create_external_buffer, not lost; napi_wasm_malloc copies are host-held', () => {
  const n = 20;
  const { stdout, out } = runApp('lightningcss_app.mjs', [String(n)]);
  assert.match(stdout, /transformed 20:/);
  assert.deepEqual(out.skipped, []);
  const r = out.reports[0];
  assert.equal(r.summary.lost_blocks + r.summary.indirect_blocks + r.summary.cycle_blocks, 0, JSON.stringify(r.summary));
  const napi = r.groups.filter((g) => g.kind === 'reachable' && NAPI.test(g.root ?? ''));
  assert.deepEqual(sum(napi), { blocks: 2 * n, bytes: n * (64 + 8) }, JSON.stringify(r.groups));
  const host = r.groups.filter((g) => g.kind === 'host');
  assert.ok(host.every((g) => /napi_wasm_malloc/.test(g.root)), JSON.stringify(host));
  assert.equal(sum(host).blocks, n, JSON.stringify(host));
  const own = r.groups.filter((g) => g.kind === 'reachable' && /by the package itself/.test(g.root ?? ''));
  assert.equal(sum(own).blocks, 1, JSON.stringify(r.groups));
});
