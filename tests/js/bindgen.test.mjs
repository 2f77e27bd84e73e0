// Our own wasm-bindgen build (fixtures/wasm/bindgen/, ground truth in fixtures/README.md): wasm-bindgen
// 0.2.130, `--target nodejs` glue, name section kept (no DWARF), dlmalloc found by name. What JS holds is
// kind `host`, each named by what handed it over:
// - closures: `Closure::into_js_value` boxes the closure (data pointer `a`, vtable `b`) and passes (a, b) to the
//   import `__wbindgen_generic_0000000000000001`, whose glue is `makeMutClosure(a, b, invoker)`: the JS
//   function keeps `a` until the closure is dropped. js/src/glue.mjs `wrapImports` holds `a` (host), labelled
//   `closure handed to JS (<import>)`. One `leak_closure(seed)`: 2 blocks, 112 B (the 100-byte captured
//   `Vec<u8>` buffer, 12 B closure box = the Vec header), both `host`, site `leak_closure`.
// - `new Parser()`: `parser_new` returns a pointer into an `Rc<WasmRefCell<Parser>>` box (28 B: strong,
//   weak, borrow flag, Vec header, pos; the pointer is 8 bytes in, so the box is held only by an interior
//   pointer) + its 200-byte buffer: 2 blocks, 228 B, rooted at `returned by parser_new (call N)`.
// The twins (`new Callback(seed)` … `.free()`, `parser.free()`) free everything they allocate. In every run
// the externref table's slab (`__externref_table_alloc`, a 512 B Vec held by a static) is allocated once and
// stays reachable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runApp } from './apps/run.mjs';
import { wrapImports } from '../../js/src/glue.mjs';

const CLOSURE = { blocks: 2, bytes: 112 };
const PARSER = { blocks: 2, bytes: 228 };
const SLAB = { blocks: 1, bytes: 512 };
const GLUE = fileURLToPath(new URL('../../fixtures/wasm/bindgen/bindgen_fixture.js', import.meta.url));
const APP = fileURLToPath(new URL('apps/bindgen_app.mjs', import.meta.url));
const appLine = (needle) => readFileSync(APP, 'utf8').split('\n').findIndex((l) => l.includes(needle)) + 1;
const sum = (groups) => groups.reduce((a, g) => ({ blocks: a.blocks + g.blocks, bytes: a.bytes + g.bytes }), { blocks: 0, bytes: 0 });
const CLOSURE_HINT = /closure handed to JavaScript and never dropped.*Closure::forget.*keep the Closure.*drop it when done/;

const runs = {};
/** The one report of `bindgen_app.mjs PATTERN n` under `node --import register.mjs`. */
function report(pattern, n) {
  return (runs[`${pattern} ${n}`] ??= (() => {
    const { stdout, out } = runApp('bindgen_app.mjs', [pattern, String(n)]);
    assert.match(stdout, new RegExp(`^${pattern} x${n}: done`));
    assert.deepEqual(out.skipped, []);
    assert.equal(out.reports.length, 1, JSON.stringify(out));
    return out.reports[0];
  })());
}

/** The one-time externref slab: reachable, from a static, allocated by `__externref_table_alloc`. */
function assertSlab(g) {
  assert.equal(g.kind, 'reachable', JSON.stringify(g));
  assert.equal(g.growing, false);
  assert.deepEqual({ blocks: g.blocks, bytes: g.bytes }, SLAB);
  assert.equal(g.site.function, '__externref_table_alloc');
  assert.match(g.root, /^static data/);
}

test('the fixture: wasm-bindgen 0.2.130 nodejs glue, the closure intrinsic is an import wrapImports recognises', () => {
  const glue = readFileSync(GLUE, 'utf8');
  // The import that turns a Rust closure into a JS function (the generic intrinsic of this version).
  assert.match(glue, /__wbindgen_generic_0000000000000001: function\(arg0, arg1\) \{[\s\S]{0,300}?const ret = makeMutClosure\(arg0, arg1,/);
  assert.match(glue, /real\._wbg_cb_unref = /);
  const wasm = readFileSync(new URL('../../fixtures/wasm/bindgen/bindgen_fixture_bg.wasm', import.meta.url));
  assert.ok(wasm.includes(Buffer.from('wasm-bindgen\x070.2.130')), 'producers section names wasm-bindgen 0.2.130');
  assert.ok(wasm.includes(Buffer.from('__wbindgen_generic_0000000000000001')));
});

for (const n of [10, 20]) {
  test(`forgotten closures (Closure::into_js_value) x${n} → host, ${CLOSURE.bytes} B in ${CLOSURE.blocks} blocks each, rooted at the closure import, with the fix`, () => {
    const r = report('closure_leak', n);
    assert.equal(r.summary.allocations, CLOSURE.blocks * n + SLAB.blocks, JSON.stringify(r.summary));
    assert.equal(r.summary.frees, 0);
    assert.equal(r.summary.invalid_frees, 0);
    assert.equal(r.summary.lost_blocks, 0, 'JS holds them: not lost');
    assert.deepEqual({ blocks: r.summary.host_blocks, bytes: r.summary.host_bytes }, { blocks: CLOSURE.blocks * n, bytes: CLOSURE.bytes * n });
    assert.deepEqual({ blocks: r.summary.leaked_blocks, bytes: r.summary.leaked_bytes }, { blocks: CLOSURE.blocks * n, bytes: CLOSURE.bytes * n });
    const host = r.groups.filter((g) => g.kind === 'host');
    assert.equal(host.length, 1, JSON.stringify(r.groups));
    const [g] = host;
    assert.deepEqual({ blocks: g.blocks, bytes: g.bytes }, { blocks: CLOSURE.blocks * n, bytes: CLOSURE.bytes * n });
    assert.equal(g.site.function, 'leak_closure');
    assert.match(g.root, /^closure handed to JS \(__wbindgen_generic_0000000000000001\)/);
    assert.match(g.hint, CLOSURE_HINT);
    // wasm frames (the export and its externref shim), then the glue's function, then the app's line
    assert.deepEqual(g.stack.slice(0, 2).map((f) => f.function), ['leak_closure', 'leak_closure externref shim']);
    assert.deepEqual([g.stack[2].function, g.stack[2].file], ['leak_closure', GLUE]);
    assert.deepEqual([g.stack[3].file, g.stack[3].line], [APP, appLine('leak_closure(1 + ')]);
    assertSlab(r.groups.find((x) => x.kind === 'reachable'));
    assert.equal(r.groups.length, 2);
  });
}

test('forgotten closures: exactly 10 × 112 B more host bytes from N=10 to N=20', () => {
  const [a, b] = [report('closure_leak', 10), report('closure_leak', 20)];
  assert.equal(b.summary.host_bytes - a.summary.host_bytes, CLOSURE.bytes * 10);
  assert.equal(b.summary.host_blocks - a.summary.host_blocks, CLOSURE.blocks * 10);
  assert.equal(b.summary.reachable_bytes, a.summary.reachable_bytes);
});

for (const n of [10, 20]) {
  test(`closures kept in a Callback and .free()d x${n} → nothing leaked, only the one-time externref slab`, () => {
    const r = report('closure_ok', n);
    // per call: the 100 B buffer, the closure box, the Callback's Rc box — all freed by `.free()`
    assert.equal(r.summary.allocations, 3 * n + SLAB.blocks, JSON.stringify(r.summary));
    assert.equal(r.summary.frees, 3 * n);
    assert.equal(r.summary.invalid_frees, 0);
    assert.equal(r.summary.leaked_blocks, 0, JSON.stringify(r.groups));
    assert.equal(r.groups.length, 1, JSON.stringify(r.groups));
    assertSlab(r.groups[0]);
  });
}

for (const n of [10, 20]) {
  test(`Parser objects never .free()d x${n} → host, ${PARSER.bytes} B in ${PARSER.blocks} blocks each, rooted at parser_new, .free() hint`, () => {
    const r = report('parser_leak', n);
    assert.equal(r.summary.allocations, PARSER.blocks * n, JSON.stringify(r.summary));
    assert.equal(r.summary.frees, 0);
    assert.equal(r.summary.lost_blocks, 0);
    assert.equal(r.summary.reachable_blocks, 0);
    assert.deepEqual({ blocks: r.summary.host_blocks, bytes: r.summary.host_bytes }, { blocks: PARSER.blocks * n, bytes: PARSER.bytes * n });
    assert.equal(r.groups.length, 1, JSON.stringify(r.groups));
    const [g] = r.groups;
    assert.equal(g.kind, 'host');
    assert.equal(g.site.function, 'parser_new');
    assert.match(g.root, /^returned by parser_new \(call \d+\)/);
    // the pointer parser_new returns is 8 bytes into the Rc box: each box is held by an interior pointer only
    assert.equal(g.interior_only, n);
    assert.match(g.hint, /`parser_new` returned .*\.free\(\)/);
    assert.doesNotMatch(g.hint, /Closure/);
    assert.deepEqual(g.stack.map((f) => f.function).slice(0, 2), ['parser_new', 'new Parser']);
    assert.equal(g.stack[1].file, GLUE);
    assert.deepEqual([g.stack[2].file, g.stack[2].line], [APP, appLine('const p = new Parser()')]);
  });
}

// Objects that reach JS through the glue's import that wraps them (`__wbg_parser_new` → `Parser.__wrap(ptr)`):
// a `Vec<Parser>` returned. They were called lost (a survey of wasm-bindgen apps): JS holds them.
test('Parsers returned in a Vec and never .free()d → host, held by the wrapping import, .free() hint', () => {
  const n = 5;
  const r = report('parsers_leak', n);
  assert.equal(r.summary.lost_blocks + r.summary.indirect_blocks, 0, JSON.stringify(r.groups));
  assert.deepEqual({ blocks: r.summary.host_blocks, bytes: r.summary.host_bytes }, { blocks: PARSER.blocks * n, bytes: PARSER.bytes * n });
  const host = r.groups.filter((g) => g.kind === 'host');
  assert.equal(host.length, 1, JSON.stringify(r.groups));
  assert.equal(host[0].site.function, 'parsers');
  assert.match(host[0].root, /^object handed to JS \(__wbg_parser_new\)/);
  assert.match(host[0].hint, /wasm-bindgen objects .*\.free\(\)/);
  const ok = report('parsers_ok', n);
  assert.equal(ok.summary.leaked_blocks, 0, JSON.stringify(ok.groups));
  assert.equal(ok.summary.frees + 1, ok.summary.allocations, JSON.stringify(ok.summary)); // all but the externref slab
});

// An array JS passes is copied into a block from `__wbindgen_malloc` that Rust takes over: JS keeps nothing, so a
// block Rust forgets is lost — it was called held by JS ("returned by __wbindgen_malloc", the .free() hint).
test('byte arrays passed to Rust and forgotten there → lost, not held by JS; dropped → nothing live', () => {
  const n = 5;
  const r = report('bytes_forget', n);
  assert.deepEqual({ blocks: r.summary.lost_blocks, bytes: r.summary.lost_bytes }, { blocks: n, bytes: 64 * n }, JSON.stringify(r.groups));
  assert.equal(r.summary.host_blocks, 0, JSON.stringify(r.groups));
  const ok = report('bytes_ok', n);
  assert.equal(ok.summary.leaked_blocks, 0, JSON.stringify(ok.groups));
  assert.equal(ok.summary.frees, n);
});

for (const n of [10, 20]) {
  test(`Parser objects .free()d x${n} → nothing live`, () => {
    const r = report('parser_ok', n);
    assert.equal(r.summary.allocations, PARSER.blocks * n);
    assert.equal(r.summary.frees, PARSER.blocks * n);
    assert.equal(r.summary.leaked_blocks + r.summary.reachable_blocks, 0, JSON.stringify(r.groups));
    assert.deepEqual(r.groups, []);
  });
}

/** `bindgen_snapshot_app.mjs PATTERN K` (attach() + four snapshots in one run). */
function snapshotRun(pattern, k) {
  const app = fileURLToPath(new URL('apps/bindgen_snapshot_app.mjs', import.meta.url));
  return JSON.parse(execFileSync(process.execPath, [app, pattern, String(k)], { encoding: 'utf8' }));
}

test('attach() + snapshots: forgotten closures grow by exactly 112 B and 2 blocks per call, host, and the diff names leak_closure', () => {
  const K = 5;
  const out = snapshotRun('closure_leak', K);
  assert.deepEqual(out.skipped, []);
  const [m] = out.diff;
  const row = m.rows.find((x) => x.site === 'leak_closure');
  assert.deepEqual([row.delta_bytes, row.delta_blocks, row.freed_blocks], [CLOSURE.bytes * 3 * K, CLOSURE.blocks * 3 * K, 0]);
  const host = out.report[0].groups.filter((g) => g.kind === 'host');
  assert.equal(host.length, 1, JSON.stringify(out.report[0].groups));
  assert.equal(host[0].growing, true);
  assert.deepEqual([host[0].bytes_per_iteration, host[0].blocks_per_iteration], [CLOSURE.bytes, CLOSURE.blocks]);
  assert.match(host[0].root, /^closure handed to JS/);
  assert.match(out.text, /host: 30 blocks, 1\.6 KiB, GROWING by 112 B\/iteration \(2\.0 blocks\) — allocated at leak_closure/);
  assert.match(out.text, /held by: closure handed to JS \(__wbindgen_generic_0000000000000001\)/);
});

test('attach() + snapshots: the Callback twin → nothing growing, nothing leaked', () => {
  const out = snapshotRun('closure_ok', 5);
  const [m] = out.diff;
  assert.ok(m.rows.every((x) => x.delta_blocks === 0 || x.site.startsWith('__externref_table_alloc')), JSON.stringify(m.rows));
  const [r] = out.report;
  assert.equal(r.summary.leaked_blocks, 0, JSON.stringify(r.groups));
  assert.ok(r.groups.every((g) => !g.growing));
});

// The import conventions of other wasm-bindgen versions, on hand-made import objects (the glue's shapes).
test('wrapImports: wasm-bindgen closure imports of other versions are host holds; other casts are not', () => {
  const held = [];
  const hold = (value, label, opts) => held.push([value, label, opts]);
  const closure = () => {};
  closure._wbg_cb_unref = () => {};
  const older = () => {};
  older.original = { a: 1, b: 2, cnt: 1, dtor: 5 };
  const imports = {
    wbg: {
      // 0.2.8x/0.2.9x: one import per closure type, always a closure
      __wbindgen_closure_wrapper123: function (a, b, dtor) { return older; },
      // 0.2.10x: the cast intrinsic, also for strings: only closure results count
      __wbindgen_cast_2241b6af4c4b2941: function (a, b) { return 'a string'; },
      __wbindgen_cast_0123456789abcdef: function (a, b) { return closure; },
      __wbg_log_0123: function (p) { return undefined; },
    },
    env: { something: () => 1 },
  };
  const w = wrapImports(imports, hold);
  assert.notEqual(w.wbg, imports.wbg, 'the namespace is copied, not modified');
  assert.equal(w.env, imports.env);
  assert.equal(w.wbg.__wbg_log_0123, imports.wbg.__wbg_log_0123);
  assert.equal(w.wbg.__wbindgen_closure_wrapper123(1048592, 1049000, 7), older);
  assert.equal(w.wbg.__wbindgen_cast_2241b6af4c4b2941(1048700, 5), 'a string');
  assert.equal(w.wbg.__wbindgen_cast_0123456789abcdef(1048800, 1049000), closure);
  assert.deepEqual(held, [
    [1048592, 'closure handed to JS (__wbindgen_closure_wrapper123)', { runtime: false }],
    [1048800, 'closure handed to JS (__wbindgen_cast_0123456789abcdef)', { runtime: false }],
  ]);
  assert.equal(w.wbg.__wbindgen_closure_wrapper123.name, imports.wbg.__wbindgen_closure_wrapper123.name);
  assert.equal(w.wbg.__wbindgen_closure_wrapper123.length, 3);
});

test('wrapImports: Embind registration contexts stay runtime holds', () => {
  const held = [];
  const reg = function __embind_register_class_property(...args) { return args.length; };
  const w = wrapImports({ a: { q: reg } }, (value, label, opts) => held.push([value, label, opts]));
  assert.equal(w.a.q(1, 2, 3, 4, 5, 1000, 7, 8, 9, 2000), 10);
  assert.deepEqual(held, [
    [1000, 'Embind registration: _embind_register_class_property context', { runtime: true }],
    [2000, 'Embind registration: _embind_register_class_property context', { runtime: true }],
  ]);
});

// Parsers dropped without .free(), then a forced collection: the glue's FinalizationRegistry frees those the
// collector took, through `__wbg_parser_free(ptr, 1)`. The report says how many (a run where no collection
// happens leaks them); the rest stay host-held. How many a collection takes is V8's choice, not the test's.
test('Parser objects a garbage collection freed are counted in a note; the others stay host-held', () => {
  const n = 10;
  const r = report('parser_gc', n);
  const note = r.notes.find((t) => /wasm-bindgen objects? (was|were) freed by JavaScript's garbage collector/.test(t));
  assert.ok(note, JSON.stringify(r.notes));
  const collected = Number(note.split(' ')[0]);
  assert.ok(collected >= 1, note);
  assert.equal(collected + (r.summary.host_objects ?? 0), n, `${note} ${JSON.stringify(r.summary)}`);
  assert.equal(r.summary.host_blocks, PARSER.blocks * (n - collected), JSON.stringify(r.summary));
  assert.ok(!report('parser_ok', n).notes?.some((t) => /garbage collector/.test(t)));
});
