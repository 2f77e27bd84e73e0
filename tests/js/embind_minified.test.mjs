// Embind glue compiled by closure (yoga-layout 3.2.1): the registration functions are renamed (`a.a`, `a.h`),
// so they are recognised by their messages and shapes (js/src/glue.mjs): the contexts they get (member-function
// and field accessor pointers, allocated by the module's static constructors) are the runtime's, not leaks.
// Ground truth: used correctly, nothing leaks (the 129 registration blocks are reachable); without
// `freeRecursive()`/`config.free()`, every layout leaves its config and 6 nodes to JS: host-held, per iteration.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runApp } from './apps/run.mjs';
import { readFileSync } from 'node:fs';

function report(n, mode = '') {
  const { stdout, out } = runApp('yoga_app.mjs', [String(n), ...(mode ? [mode] : [])]);
  assert.match(stdout, new RegExp(`yoga x${n}`));
  const reports = out.reports.filter((r) => r.summary.allocations > 0);
  assert.equal(reports.length, 1, JSON.stringify(out.reports.map((r) => r.summary)));
  return reports[0];
}

test('yoga-layout used correctly: no leak, the Embind registration contexts reachable', () => {
  for (const n of [10, 20]) {
    const r = report(n);
    assert.equal(r.summary.leaked_blocks, 0, JSON.stringify(r.groups.filter((g) => g.kind !== 'reachable')));
    assert.equal(r.summary.invalid_frees, 0);
    assert.equal(r.summary.reachable_blocks, 129);
    assert.equal(r.decided_by.length, 0);
  }
});

test('yoga-layout without free(): exactly the nodes and configs JS dropped, held by JS, per iteration', () => {
  const [a, b] = [report(10, 'nofree'), report(20, 'nofree')];
  for (const r of [a, b]) {
    assert.equal(r.summary.lost_blocks, 0, JSON.stringify(r.summary));
    assert.equal(r.summary.reachable_blocks, 129);
  }
  // 15 blocks, 3,260 B per layout (the config, the root, 5 children and what they own); nothing else leaks.
  for (const [r, n] of [[a, 10], [b, 20]]) {
    assert.equal(r.summary.host_blocks, 15 * n);
    assert.equal(r.summary.host_bytes, 3260 * n);
    assert.equal(r.summary.leaked_blocks, r.summary.host_blocks);
    // Seven handles JS dropped per layout: the config, the root and its 5 children.
    assert.equal(r.summary.host_objects, 7 * n);
  }
  // Each group's site is the app's line (Yoga.Config.create, Yoga.Node.create, insertChild), not the package's
  // minified glue in node_modules that called the module (its frames were the site: `(anonymous)
  // yoga-wasm-base64-esm.js:33`).
  const lines = new Set(a.groups.filter((g) => g.kind === 'host').map((g) => {
    assert.match(g.site.file, /tests\/js\/apps\/yoga_app\.mjs$/, JSON.stringify(g.site));
    // Held by what Embind's methods returned, by the method's name (`create`, `createWithConfig`, `getChild`):
    // their invokers are computed-key methods, which V8 names `prototype.<computed>` or nothing (`table[47]`).
    assert.match(g.root, /^returned by [A-Za-z]\w+ \(call \d+\)/, g.root);
    return g.site.line;
  }));
  const line = (text) => readFileSync(new URL('apps/yoga_app.mjs', import.meta.url), 'utf8').split('\n').findIndex((l) => l.includes(text)) + 1;
  assert.deepEqual([...lines].sort((x, y) => x - y), [line('Yoga.Config.create()'), line('const root'), line('const child'), line('root.insertChild')]);
});
