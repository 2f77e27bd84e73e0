// A real threaded npm package under the JS runtime (issue 12): @oxc-parser/binding-wasm32-wasi 0.156.0 — Rust,
// napi-rs + emnapi, wasm32-wasip1-threads with an imported shared memory, no name section; its allocator is
// wasi-libc's dlmalloc behind napi-rs' `wasm-ld --wrap=malloc` wrappers (`__wrap_malloc`…, exported). Its async
// `parse` runs each job on one of emnapi's worker threads (wasi-threads in worker_threads), every one an
// instance of the same module on the same memory: their events meet in the runtime's shared log.
//
// Ground truth, measured by the difference between N = 10 and N = 20 parses (same snippets):
// - on the worker threads, each parse makes exactly 7 allocations, all freed;
// - a result the app keeps holds 2 native blocks (88 B and 16 B, allocated when the job completes, on the main
//   thread), reachable from the binding's static registry: 2 more reachable blocks per kept result;
// - results dropped and collected are freed by emnapi's finalizers: no block per parse remains (V8 may keep the
//   last one alive);
// - nothing is lost and no free is invalid, either way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runApp } from './apps/run.mjs';

const runs = {};
function report(mode, n) {
  return (runs[`${mode}${n}`] ??= (() => {
    const { stdout, out } = runApp('oxc_app.mjs', [mode, String(n), 'async']);
    assert.match(stdout, new RegExp(`oxc async ${mode} x${n}: done`));
    assert.deepEqual(out.skipped, []);
    assert.equal(out.reports.length, 1, JSON.stringify(out.skipped));
    return out.reports[0];
  })());
}
const onWorkers = (r) => r.profile.sites
  .filter((s) => s.stack.some((f) => f.function === 'wasi_thread_start'))
  .reduce((a, s) => a + s.allocated_blocks, 0);

test('oxc-parser (threaded napi-rs/emnapi): the wrapped allocator is hooked and every worker thread feeds the one heap', () => {
  for (const n of [10, 20]) {
    const r = report('keep', n);
    assert.equal(r.inconclusive, undefined);
    assert.equal(r.summary.leaked_blocks, 0, JSON.stringify(r.summary));
    assert.equal(r.summary.invalid_frees, 0);
    assert.equal(onWorkers(r), 7 * n, 'allocations made on the worker threads');
  }
});

test('oxc-parser: each kept result holds exactly 2 reachable blocks; dropped and collected, none', () => {
  const kept = report('keep', 20).summary.reachable_blocks - report('keep', 10).summary.reachable_blocks;
  assert.equal(kept, 2 * 10);
  const dropped = report('drop', 20).summary.reachable_blocks - report('drop', 10).summary.reachable_blocks;
  assert.equal(dropped, 0);
  for (const n of [10, 20]) {
    const d = report('drop', n);
    assert.equal(d.summary.leaked_blocks, 0, JSON.stringify(d.summary));
    assert.equal(d.summary.invalid_frees, 0);
    // The same work either way: the same allocations.
    assert.equal(d.summary.allocations, report('keep', n).summary.allocations);
  }
  // The dropped results' 2 blocks each are freed (V8 may keep the last result alive: compare per parse).
  const freedMore = (n) => report('drop', n).summary.frees - report('keep', n).summary.frees;
  assert.equal(freedMore(20) - freedMore(10), 2 * 10);
});
