// A module shipped as base64 inside its JS glue (issue 4, item 1), built by a real toolchain: Emscripten
// 3.1.6, Embind, -sSINGLE_FILE (fixtures/wasm/emscripten_embind_single.js; source fixtures/emscripten/
// embind.cpp). The glue decodes the base64 and compiles it; attach() must see and instrument it.
//
// Ground truth: one `new Module.Parser(100)` is 2 blocks, 112 B — the Parser (a std::vector: three wasm32
// pointers, 12 B) and its 100-byte buffer; `.delete()` frees both. Embind's registration allocates one 8 B
// block (the bound member function's context), held by the glue: reachable, never a leak.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { runApp } from './apps/run.mjs';

const PER_PARSER = { blocks: 2, bytes: 112 };
// The app's line that creates a Parser.
const APP_LINE = readFileSync(new URL('apps/embind_single_app.cjs', import.meta.url), 'utf8').split('\n').findIndex((l) => l.includes('const p = new Module.Parser(100)')) + 1;
const REGISTRATION = { blocks: 1, bytes: 8 };

function report(n, mode) {
  const { stdout, out } = runApp('embind_single_app.cjs', [String(n), mode]);
  assert.match(stdout, new RegExp(`embind ${mode} x${n}: done`));
  assert.deepEqual(out.skipped, []);
  assert.equal(out.reports.length, 1, JSON.stringify(out));
  return out.reports[0];
}

for (const n of [3, 6]) {
  test(`SINGLE_FILE Embind glue: ${n} Parsers never .delete()d → host-held, ${n} × 112 B, rooted at the constructor binding`, () => {
    const r = report(n, 'leak');
    assert.equal(r.summary.allocations, REGISTRATION.blocks + n * PER_PARSER.blocks);
    assert.equal(r.summary.frees, 0);
    assert.equal(r.summary.host_blocks, n * PER_PARSER.blocks);
    assert.equal(r.summary.host_bytes, n * PER_PARSER.bytes);
    assert.equal(r.summary.lost_blocks, 0);
    assert.deepEqual({ blocks: r.summary.reachable_blocks, bytes: r.summary.reachable_bytes }, REGISTRATION);
    for (const g of r.groups.filter((g) => g.kind === 'host')) {
      assert.match(g.root, /^returned by constructor.Parser \(call \d+\)/, g.root);
      assert.match(g.hint, /\.delete\(\)/);
      // The name section names the C++ frames; the app's own line closes the stack.
      assert.ok(g.stack.some((f) => /operator_new<Parser, int>/.test(f.function)), JSON.stringify(g.stack));
      assert.ok(g.stack.some((f) => /embind_single_app\.cjs$/.test(f.file ?? '') && f.line === APP_LINE), JSON.stringify(g.stack));
    }
  });
}

// A Parser C++ passes by value to a JS function (`cb(Parser(size))` through Embind's `_emval_call`): Embind copies
// it to the heap and the callback's handle owns it. Kept and never `.delete()`d, it was called lost (a survey of
// Embind apps): JS holds it.
test('Embind: Parsers passed by value to a JS callback and kept → host-held, not lost; deleted → nothing leaked', () => {
  const n = 4;
  const r = report(n, 'callback_leak');
  assert.equal(r.summary.lost_blocks + r.summary.indirect_blocks, 0, JSON.stringify(r.groups));
  assert.deepEqual({ blocks: r.summary.host_blocks, bytes: r.summary.host_bytes }, { blocks: n * PER_PARSER.blocks, bytes: n * PER_PARSER.bytes });
  for (const g of r.groups.filter((g) => g.kind === 'host')) assert.match(g.root, /^passed to a JS function by Embind/, g.root);
  const ok = report(n, 'callback_delete');
  assert.equal(ok.summary.leaked_blocks, 0, JSON.stringify(ok.groups));
});

test('SINGLE_FILE Embind glue: Parsers .delete()d → nothing leaked, only the registration reachable', () => {
  const r = report(6, 'delete');
  assert.equal(r.summary.allocations, REGISTRATION.blocks + 6 * PER_PARSER.blocks);
  assert.equal(r.summary.frees, 6 * PER_PARSER.blocks);
  assert.equal(r.summary.leaked_blocks, 0);
  assert.deepEqual({ blocks: r.summary.reachable_blocks, bytes: r.summary.reachable_bytes }, REGISTRATION);
  assert.match(r.groups[0].root, /^Embind registration: /);
});
