// Real packages written by others (issue 4, item 7): brotli-wasm 3.0.1 (Rust, wasm-bindgen 0.2.80, `--target
// nodejs` glue that reads its .wasm with fs; stripped: no name section, no DWARF, so its dlmalloc is found by
// code shape). Each app runs under `node --import register.mjs`, with N and 2N iterations: "per
// iteration" is the difference between the two reports (snapshot.test.mjs covers snapshots within one run).
//
// One `new DecompressStream()` is 2 allocations, 6792 B: the wasm-bindgen box (2472 B, the pointer
// `decompressstream_new` returns) and a 4320 B block that box points to. Neither ever has an in-wasm root, so
// both are kind `host` (the only pointer is the one JS was handed), not `lost`.
import { test } from 'node:test';
import { runApp } from './apps/run.mjs';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';



/** The line of brotli_leak.mjs that creates the objects. */
const APP_LINE = readFileSync(new URL('apps/brotli_leak.mjs', import.meta.url), 'utf8').split('\n')
  .findIndex((l) => l.includes('new brotli.DecompressStream()')) + 1;

const PER_OBJECT = { blocks: 2, bytes: 2472 + 4320 };
const sum = (groups, kind) => groups.filter((g) => g.kind === kind)
  .reduce((a, g) => ({ blocks: a.blocks + g.blocks, bytes: a.bytes + g.bytes }), { blocks: 0, bytes: 0 });

/** The one report of a run of `app` with `n` iterations. */
function report(app, n) {
  const { stdout, out } = runApp(app, [String(n)]);
  assert.match(stdout, new RegExp(`x${n}: done`));
  assert.deepEqual(out.skipped, []);
  assert.equal(out.reports.length, 1, JSON.stringify(out));
  return out.reports[0];
}

const leak = {};
const runLeak = (n) => (leak[n] ??= report('brotli_leak.mjs', n));

test('brotli-wasm 3.0.1: DecompressStream without .free() — every block the objects allocated is still live, in host groups rooted at decompressstream_new', () => {
  for (const n of [10, 20]) {
    const r = runLeak(n);
    assert.equal(r.summary.allocations, PER_OBJECT.blocks * n, JSON.stringify(r.summary));
    assert.equal(r.summary.frees, 0);
    assert.equal(r.summary.invalid_frees, 0);
    assert.equal(r.summary.lost_blocks, 0);
    // everything allocated is still live: leaked (host) + reachable = n objects
    assert.equal(r.summary.leaked_bytes + r.summary.reachable_bytes, PER_OBJECT.bytes * n, JSON.stringify(r.summary));
    assert.equal(r.summary.leaked_blocks + r.summary.reachable_blocks, PER_OBJECT.blocks * n);
    const host = r.groups.filter((g) => g.kind === 'host');
    assert.ok(host.length > 0);
    // the creating export: in the root (`returned by decompressstream_new (call K)`) and at the top of the stack
    for (const g of host) {
      assert.match(g.root, /^returned by decompressstream_new \(call \d+\)/, g.root);
      // wasm frames, then the JS that called the export: the glue's constructor, then the app's line
      const js = g.stack.findIndex((f) => f.file?.endsWith('.js') || f.file?.endsWith('.mjs'));
      assert.equal(g.stack[js - 1].function, 'decompressstream_new', JSON.stringify(g.stack));
      assert.equal(g.stack[js].function, 'new DecompressStream');
      assert.match(g.stack[js].file, /node_modules\/brotli-wasm\/pkg\.node\/brotli_wasm\.js$/);
      assert.deepEqual([g.stack[js + 1].file, g.stack[js + 1].line], [fileURLToPath(new URL('apps/brotli_leak.mjs', import.meta.url)), APP_LINE]);
      assert.match(g.hint, /\.free\(\)/);
    }
    assert.equal(r.summary.host_bytes, sum(r.groups, 'host').bytes);
    // One object JS never freed per iteration, however its blocks group.
    assert.equal(r.summary.host_objects, n, JSON.stringify(r.summary));
  }
  // Live bytes per iteration, from N=10 to N=20: exactly 10 objects more.
  const live = (r) => r.summary.leaked_bytes + r.summary.reachable_bytes;
  assert.equal(live(runLeak(20)) - live(runLeak(10)), PER_OBJECT.bytes * 10);
});

// The module is stripped, so its read-only data has no `.rodata` segment name. brotli's 127 KB u16 dictionary
// table at 0x12b040 holds pairs that read as u32 heap addresses (0x1c0011 at 0x12b678, 0x1d0095 at 0x12ca98)
// once the heap grows past them: words still holding their link-time value are not roots, so none of the
// abandoned objects may show as `reachable`.
test('brotli-wasm 3.0.1: host-held bytes grow by exactly 10 × 6792 B between N=10 and N=20, nothing reachable', () => {
  const [a, b] = [runLeak(10), runLeak(20)];
  assert.equal(a.summary.reachable_blocks, 0);
  assert.equal(b.summary.reachable_blocks, 0);
  assert.deepEqual(sum(a.groups, 'host'), { blocks: 20, bytes: PER_OBJECT.bytes * 10 });
  assert.equal(sum(b.groups, 'host').bytes - sum(a.groups, 'host').bytes, PER_OBJECT.bytes * 10);
});

for (const n of [10, 20]) {
  test(`brotli-wasm 3.0.1: DecompressStream with .free() x${n} → nothing leaked, nothing growing`, () => {
    const r = report('brotli_ok.mjs', n);
    assert.equal(r.summary.leaked_blocks, 0, JSON.stringify(r.summary));
    assert.equal(r.summary.invalid_frees, 0);
    assert.equal(r.summary.allocations, PER_OBJECT.blocks * n);
    assert.equal(r.summary.frees, PER_OBJECT.blocks * n);
    // one-time allocations of the runtime may stay, as `reachable` only
    assert.ok(r.groups.every((g) => g.kind === 'reachable'), JSON.stringify(r.groups));
  });
}

// A value wasm-bindgen returns through its return area (the export writes it to memory the glue passed as the
// first argument; `Result<BrotliStreamResult, _>` here) is one JS got, as a plain return's: a result dropped
// without `.free()` is held by JS (kind `host`, rooted at the export), not `lost`. One 20 B box per result.
test('brotli-wasm: results returned through the return area and never freed are host-held, 1 block / 20 B each', () => {
  for (const n of [10, 20]) {
    const { stdout, out } = runApp('brotli_results.mjs', [String(n)]);
    assert.match(stdout, new RegExp(`brotli_results x${n}: done`));
    const [r] = out.reports;
    assert.equal(r.summary.lost_blocks, 0, JSON.stringify(r.summary));
    assert.equal(r.summary.invalid_frees, 0);
    assert.deepEqual([r.summary.host_blocks, r.summary.host_bytes], [n, 20 * n]);
    for (const g of r.groups.filter((g) => g.kind === 'host')) {
      assert.match(g.root, /^returned by compressstream_compress \(call \d+\), through its return area/, g.root);
    }
  }
});
