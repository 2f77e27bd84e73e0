// The JS runtime (js/) against the CLI: the same fixtures, instrumented and analysed by the Rust code compiled
// to wasm32-unknown-unknown, run under Node (node:wasi, or plain WebAssembly.instantiate), must give the same
// leaks as `wasmleak check --format json`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, openSync, closeSync } from 'node:fs';
import { WASI } from 'node:wasi';
import { fileURLToPath } from 'node:url';
import { instrument } from '../../js/src/index.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const fixture = (name) => `${root}fixtures/wasm/${name}`;
const WASMLEAK = process.env.WASMLEAK || '/var/tmp/wasmleak-target/release/wasmleak';

/** The CLI's JSON report (exit status 1 means leaks were found, which these fixtures have). */
function cliReport(args) {
  try {
    return JSON.parse(execFileSync(WASMLEAK, ['check', '--format', 'json', ...args], { stdio: ['ignore', 'pipe', 'ignore'] }));
  } catch (e) {
    if (e.status === 1) return JSON.parse(e.stdout);
    throw e;
  }
}

const KINDS = ['leaked', 'lost', 'indirect', 'cycle', 'host', 'reachable'];

/** The stack without the JS frames around the wasm ones (the CLI has none). */
const wasmFrames = (stack) => stack.filter((f) => !/\.m?js$/.test(f.file ?? ''));

/** What must agree: blocks/bytes per kind, event counts, and the groups by kind and allocating function. */
function essence(report) {
  const summary = {};
  for (const k of KINDS) {
    summary[`${k}_blocks`] = report.summary[`${k}_blocks`];
    summary[`${k}_bytes`] = report.summary[`${k}_bytes`];
  }
  summary.allocations = report.summary.allocations;
  summary.frees = report.summary.frees;
  summary.invalid_frees = report.summary.invalid_frees;
  const groups = report.groups
    .map((g) => `${g.kind} ${g.blocks}/${g.bytes} at ${wasmFrames(g.stack).map((f) => f.function).join(' < ')}`)
    .sort();
  return { summary, groups };
}

const START_LINE = readFileSync(new URL(import.meta.url), 'utf8').split('\n').findIndex((l) => l.endsWith('// START_LINE')) + 1;

async function runWasi(name, args) {
  const original = readFileSync(fixture(name));
  const ins = await instrument(original);
  const imports = {};
  const tracker = ins.track(imports);
  const devnull = openSync('/dev/null', 'w');
  try {
    const wasi = new WASI({ version: 'preview1', args: [name, ...args], env: {}, stdout: devnull, stderr: devnull, returnOnExit: true });
    Object.assign(imports, wasi.getImportObject());
    const { instance } = await WebAssembly.instantiate(ins.bytes, imports);
    tracker.attach(instance);
    const code = wasi.start(instance); // START_LINE
    assert.equal(code, 0, `${name} ${args.join(' ')} exited with ${code}`);
    return tracker.report({ module: name });
  } finally {
    closeSync(devnull);
    ins.release();
  }
}

test('instrument() reports the allocator and the exports a host needs', async () => {
  const ins = await instrument(readFileSync(fixture('c_patterns.wasm')));
  assert.ok(ins.meta.entry_points.some((e) => e.name === 'malloc'), JSON.stringify(ins.meta.entry_points));
  assert.equal(ins.meta.memory_export, 'wasmleak:memory');
  assert.ok(WebAssembly.Module.imports(new WebAssembly.Module(ins.bytes)).some((i) => i.module === 'wasmleak'));
  ins.release();
  await assert.rejects(instrument(new Uint8Array([0, 1, 2])), /wasmleak:/);
});

for (const [name, args, kind] of [
  ['c_patterns.wasm', ['lost', '10'], 'lost'],
  ['rust_patterns.wasm', ['rc_cycle', '10'], 'cycle'],
]) {
  test(`node:wasi ${name} ${args.join(' ')} gives the CLI's report`, async () => {
    const expected = cliReport([fixture(name), '--', ...args]);
    const got = await runWasi(name, args);
    assert.equal(got.version, 1);
    assert.equal(got.module, name);
    assert.ok(got.summary[`${kind}_blocks`] >= 10, JSON.stringify(got.summary));
    assert.deepEqual(essence(got), essence(expected));
    // Frames are symbolized with file:line from the original module's DWARF, not the instrumented offsets.
    const g = got.groups.find((g) => g.kind === kind);
    assert.ok(g.stack.some((f) => f.file && f.line), JSON.stringify(g.stack));
    assert.deepEqual(wasmFrames(g.stack), expected.groups.find((e) => e.kind === kind).stack);
    // ... and the JS that started it: `runWasi` in this file, where it calls wasi.start.
    const js = g.stack.filter((f) => f.file === fileURLToPath(import.meta.url));
    assert.equal(js[0]?.function, 'runWasi', JSON.stringify(g.stack));
    assert.equal(js[0].line, START_LINE);
  });
}

// Checked frees (one host call that checks and records a free): the four bad frees of
// fixtures/edge/c/invalid_frees.c are reported as the CLI reports them, with the first free's stack for the
// double free, and none reaches dlmalloc (the program runs to its end).
test('node:wasi edge/c_invalid_frees.wasm: invalid and double frees as the CLI reports them', async () => {
  const expected = cliReport([fixture('edge/c_invalid_frees.wasm')]);
  const got = await runWasi('edge/c_invalid_frees.wasm', []);
  const frees = (r) => r.invalid_frees.map((f) => [f.kind, wasmFrames(f.stack)[0]?.function, wasmFrames(f.first_free_stack)[0]?.function ?? null, f.interior_of?.offset ?? null]);
  assert.deepEqual(frees(got), frees(expected));
  assert.deepEqual(frees(got), [
    ['double', 'double_free', 'double_free', null],
    ['invalid', 'interior_free', null, 4],
    ['invalid', 'static_free', null, null],
    ['invalid', 'stack_free', null, null],
  ]);
  assert.deepEqual(essence(got), essence(expected));
});

/** The allocation profile by site, JS frames left out (the CLI has none). */
function profileEssence(p) {
  const { sites, ...totals } = p;
  const bySite = sites.map((s) => `${wasmFrames(s.stack).map((f) => f.function).join(' < ')}: ${s.allocated_blocks}/${s.allocated_bytes} temporary ${s.temporary_blocks} peak ${s.peak_blocks}/${s.peak_bytes}`).sort();
  return { totals, bySite };
}

test('node:wasi edge/c_profile.wasm: the allocation profile is the CLI\'s (totals, temporary, peak per site)', async () => {
  const expected = cliReport([fixture('edge/c_profile.wasm')]);
  const got = await runWasi('edge/c_profile.wasm', []);
  assert.deepEqual(profileEssence(got.profile), profileEssence(expected.profile));
  // fixtures/edge/c/profile.c's ground truth
  assert.deepEqual([got.profile.allocated_blocks, got.profile.allocated_bytes, got.profile.temporary_blocks, got.profile.peak_bytes], [120, 24608, 101, 10032]);
  const scratch = got.profile.sites.find((s) => s.site?.function === 'scratch');
  assert.deepEqual([scratch.allocated_blocks, scratch.temporary_blocks, scratch.peak_blocks], [100, 100, 0]);
});

test('rust_lib.wasm create_processor x5 via WebAssembly.instantiate: host-held blocks', async () => {
  const N = 5;
  const expected = cliReport([fixture('rust_lib.wasm'), '--invoke', 'create_processor', '--repeat', String(N)]);
  const ins = await instrument(readFileSync(fixture('rust_lib.wasm')));
  const imports = {};
  const tracker = ins.track(imports);
  const { instance } = await WebAssembly.instantiate(ins.bytes, imports);
  tracker.attach(instance);
  instance.exports._initialize?.();
  const hostValues = [];
  for (let i = 1; i <= N; i++) {
    const p = instance.exports.create_processor(); // CREATE_LINE
    if (p) hostValues.push([`returned by create_processor (call ${i})`, p]);
  }
  const got = tracker.report({ module: 'rust_lib.wasm', hostValues, iteration: N });
  ins.release();
  assert.ok(got.summary.host_blocks > 0, JSON.stringify(got.summary));
  assert.ok(got.groups.every((g) => g.kind === 'host'), JSON.stringify(got.groups.map((g) => g.kind)));
  assert.deepEqual(essence(got), essence(expected));
  // Each stack goes on from the export into the JS that called it: this test, at the create_processor() line.
  const line = readFileSync(new URL(import.meta.url), 'utf8').split('\n').findIndex((l) => l.endsWith('// CREATE_LINE')) + 1;
  for (const g of got.groups) {
    const js = g.stack.find((f) => f.file === fileURLToPath(import.meta.url));
    assert.equal(js?.line, line, JSON.stringify(g.stack));
  }
});
