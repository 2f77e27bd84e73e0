// leak.snapshot() / leak.diff() / growth in JS (issue 4), on rust_lib.wasm loaded two ways the CLI never sees:
// embedded as base64 and compiled with the synchronous constructor, and through instantiateStreaming.
//
// Ground truth (fixtures/README.md, and `wasmleak check fixtures/wasm/rust_lib.wasm --invoke create_processor`):
// one create_processor() call allocates a Box<Processor> (20 B) holding a Vec<u8> of 256 B and returns the box
// to JS: 2 blocks, 276 B, kind host. process_ok() frees everything it allocates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const app = fileURLToPath(new URL('apps/snapshot_app.mjs', import.meta.url));
const run = (...args) => JSON.parse(execFileSync(process.execPath, [app, ...args], { encoding: 'utf8' }));
const K = 4; // calls per iteration

for (const mode of ['base64', 'streaming']) {
  test(`${mode}: snapshots are .wlsnap files; diff of snapshots 2 → 4 is 2 × ${K} × 276 B, split Vec<u8> / Box<Processor>`, () => {
    const out = run(mode, 'create_processor', String(K));
    // Response is undici's, whose HTTP parser (llhttp) is a wasm module with a malloc: Node's own, left alone.
    assert.ok(out.skipped.every((s) => /^loaded by node:internal\/deps\/undici/.test(s.reason)), JSON.stringify(out.skipped));
    assert.ok(out.snapshots.every((s) => s.modules.length === 1), JSON.stringify(out.snapshots));
    const name = out.snapshots[0].modules[0].module;
    const live = out.snapshots.map((s) => s.modules[0].summary.bytes);
    assert.deepEqual(live, [0, 1 * K * 276, 2 * K * 276, 3 * K * 276]);
    assert.deepEqual(out.snapshots.map((s) => s.modules[0].summary.blocks), [0, 2 * K, 4 * K, 6 * K]);
    assert.ok(out.snapshots.every((s) => s.modules[0].magic === 'WLSNAP'));
    const [d] = out.diff;
    assert.equal(d.module, name);
    assert.deepEqual([d.before.snapshot, d.after.snapshot], [2, 4]);
    const rows = Object.fromEntries(d.rows.map((r) => [r.type, r]));
    assert.deepEqual(Object.keys(rows).sort(), ['Box<rust_lib::Processor>', 'Vec<u8>']);
    assert.equal(rows['Vec<u8>'].delta_bytes, 2 * K * 256);
    assert.equal(rows['Box<rust_lib::Processor>'].delta_bytes, 2 * K * 20);
    assert.equal(rows['Vec<u8>'].new_blocks, 2 * K);
    assert.match(out.text, /create_processor \(rust\/src\/lib\.rs:22\)/);
    // Three intervals that each grew: both sites are growing, at K × size per snapshot interval.
    const host = out.report[0].groups.filter((g) => g.kind === 'host');
    assert.equal(host.length, 2, JSON.stringify(out.report[0].groups));
    assert.ok(host.every((g) => g.growing), JSON.stringify(host));
    assert.deepEqual(host.map((g) => g.bytes_per_iteration).sort((a, b) => a - b), [K * 20, K * 256]);
    assert.equal(out.report[0].summary.host_bytes, 3 * K * 276);
  });
}

test('process_ok: snapshots stay empty, the diff has no row, nothing grows', () => {
  const out = run('streaming', 'process_ok', String(K));
  assert.deepEqual(out.snapshots.map((s) => s.modules[0].summary.bytes), [0, 0, 0, 0]);
  assert.ok(out.snapshots[3].modules[0].summary.allocations > 0);
  assert.deepEqual(out.diff[0].rows, []);
  assert.match(out.text, /\(no site changed\)/);
  assert.equal(out.report[0].summary.leaked_blocks, 0);
  assert.ok(out.report[0].groups.every((g) => !g.growing));
});
