// attach(): an unmodified app loads its wasm with plain WebAssembly.* calls; wasmleak instruments it as it
// loads and tracks every instance. Each app runs in its own `node --import register.mjs` process (the
// patches are process-wide), with the report written to a file.
import { test } from 'node:test';
import { runApp } from './apps/run.mjs';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { attach } from '../../js/src/index.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));


function hostGroups(report) {
  const host = report.groups.filter((g) => g.kind === 'host');
  return {
    blocks: host.reduce((n, g) => n + g.blocks, 0),
    bytes: host.reduce((n, g) => n + g.bytes, 0),
    kinds: [...new Set(report.groups.map((g) => g.kind))],
  };
}

for (const app of ['lib_app.mjs', 'sync_app.mjs']) {
  test(`attach: ${app} create_processor x5 → 10 host-held blocks, 1380 B`, () => {
    const { stdout, out } = runApp(app, ['create_processor', '5']);
    assert.match(stdout, /create_processor x5: done/);
    assert.equal(out.reports.length, 1, JSON.stringify(out));
    const [r] = out.reports;
    assert.equal(r.version, 1);
    assert.deepEqual(hostGroups(r), { blocks: 10, bytes: 1380, kinds: ['host'] });
    assert.equal(r.summary.leaked_blocks, 10);
    assert.equal(r.summary.allocations, 10);
    // grouped by the export that created them, with file:line from the module's DWARF
    assert.ok(r.groups.every((g) => /create_processor/.test(g.root)), JSON.stringify(r.groups.map((g) => g.root)));
    assert.ok(r.groups.some((g) => g.site?.function === 'create_processor' && g.site.line), JSON.stringify(r.groups));
    assert.match(out.text, /host: 5 blocks/);
  });

  test(`attach: ${app} process_ok x5 → nothing leaked`, () => {
    const { out } = runApp(app, ['process_ok', '5']);
    const [r] = out.reports;
    assert.equal(r.summary.leaked_blocks, 0, JSON.stringify(r.summary));
    assert.equal(r.summary.allocations, 10);
    assert.equal(r.summary.frees, 10);
  });
}

test('attach: a module without an allocator passes through untouched', () => {
  const { stdout, out } = runApp('plain_app.mjs');
  assert.match(stdout, /add: 5/);
  assert.deepEqual(out.reports, []);
  assert.equal(out.skipped.length, 1);
  assert.match(out.skipped[0].reason, /no linear memory/);
  // No memory, no heap: not a module whose leaks go unseen (Emscripten's addFunction stubs were "NOT TRACKED").
  assert.equal(out.skipped[0].heap, false, JSON.stringify(out.skipped));
});

test('attach() in-process: text() with nothing tracked says so, and names a module left untracked', async () => {
  const leak = attach();
  try {
    assert.match(leak.text(), /no module with an allocator was instantiated; nothing tracked/);
    // A module with a heap that cannot be tracked (its malloc inlined, only free named) passes through untracked.
    await WebAssembly.compile(readFileSync(`${root}fixtures/wasm/edge/em_inlined_malloc_named.wasm`));
    assert.ok(leak.skipped.some((s) => s.heap), JSON.stringify(leak.skipped));
    assert.match(leak.text(), /^NOT TRACKED: .*malloc seems inlined into it/m);
  } finally {
    leak.detach();
  }
});

test('attach() in-process: instantiate(Module), compile, the app import object is not modified; detach()', async () => {
  const leak = attach();
  try {
    assert.equal(attach(), leak);
    const bytes = readFileSync(`${root}fixtures/wasm/rust_lib.wasm`);
    const module = await WebAssembly.compile(bytes);
    assert.ok(module instanceof WebAssembly.Module);
    assert.ok(WebAssembly.Module.imports(module).some((i) => i.module === 'wasmleak'));
    const imports = {};
    const instance = await WebAssembly.instantiate(module, imports);
    assert.ok(instance instanceof WebAssembly.Instance);
    assert.deepEqual(Object.keys(imports), []);
    instance.exports._initialize?.();
    const p = instance.exports.create_processor();
    instance.exports.destroy_processor(p);
    instance.exports.create_processor();
    const [r] = leak.report();
    assert.deepEqual(hostGroups(r), { blocks: 2, bytes: 276, kinds: ['host'] });
    // A second instance of the same module (two widgets of a page) is told apart by name.
    await WebAssembly.instantiate(module, {});
    assert.deepEqual(leak.report().map((r) => r.module), [r.module, `${r.module}#2`]);
  } finally {
    leak.detach();
  }
  assert.equal(WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(`${root}fixtures/wasm/rust_lib.wasm`)))
    .some((i) => i.module === 'wasmleak'), false);
});

// Emscripten's Node glue rethrows from an uncaughtException handler: Node then ends at once (status 7), with no
// 'exit' event. The register module reports at the exception: to stderr on its own, as here.
test('attach: a trap an app handler rethrows still gets its report on stderr', () => {
  const { spawnSync } = process.getBuiltinModule('node:child_process');
  const register = new URL('../../js/src/register.mjs', import.meta.url).href;
  const app = fileURLToPath(new URL('apps/rethrow_app.mjs', import.meta.url));
  const env = { ...process.env };
  delete env.WASMLEAK_REPORT_FILE;
  const r = spawnSync(process.execPath, ['--import', register, app, `${root}/fixtures/wasm/edge/c_abort_after_leak.wasm`], { env, encoding: 'utf8' });
  assert.equal(r.status, 7, r.stderr);
  assert.match(r.stderr, /lost: 1 block, 20 B/);
  assert.match(r.stderr, /SUMMARY: leaked 20 B in 1 block/);
});

test('attach: a wasm trap nobody catches still gets its report, with exit status trap', () => {
  const { spawnSync } = process.getBuiltinModule('node:child_process');
  const { mkdtempSync, rmSync } = process.getBuiltinModule('node:fs');
  const dir = mkdtempSync('/tmp/wasmleak-trap-');
  try {
    const file = `${dir}/report.json`;
    const register = new URL('../../js/src/register.mjs', import.meta.url).href;
    const r = spawnSync(process.execPath, ['--import', register, fileURLToPath(new URL('apps/trap_app.mjs', import.meta.url))], {
      env: { ...process.env, WASMLEAK_REPORT_FILE: file }, encoding: 'utf8',
    });
    assert.notEqual(r.status, 0, 'node itself still fails');
    assert.match(r.stderr, /RuntimeError: memory access out of bounds/);
    const out = JSON.parse(readFileSync(file, 'utf8'));
    const [rep] = out.reports;
    assert.equal(rep.exit.status, 'trap');
    assert.match(rep.exit.message, /^wasm trap: memory access out of bounds/);
    assert.deepEqual(hostGroups(rep), { blocks: 4, bytes: 552, kinds: ['host'] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// A trap the app catches and survives (a harness's #[should_panic] test): the report at exit says so, and that
// what the trapped call held is reported lost for that reason; an app with no trap gets no such note.
test('attach: a trap the app catches is noted in the report', () => {
  const { stdout, out } = runApp('caught_trap_app.mjs', [`${root}/fixtures/wasm/edge/c_abort_after_leak.wasm`]);
  assert.match(stdout, /caught: a trap/);
  const [r] = out.reports;
  assert.equal(r.exit.status, 'returned');
  assert.ok(r.notes.some((n) => n.startsWith('1 call into the module ended in a trap that JavaScript caught')), JSON.stringify(r.notes));
  const clean = runApp('wasi_app.mjs', [`${root}/fixtures/wasm/edge/c_no_free.wasm`]).out.reports[0];
  assert.ok(!clean.notes?.some((n) => /ended in a trap/.test(n)), JSON.stringify(clean.notes));
});
