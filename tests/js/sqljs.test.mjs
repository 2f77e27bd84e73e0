// A third real package: sql.js 1.13.0 — SQLite compiled by Emscripten (C, cwrap glue, minified exports, no
// name section). Its handles reach JS through out-parameters (getValue), not return values, and SQLite keeps
// every prepared statement on its connection's list: a statement never `.free()`d is not lost but *held and
// growing*, through the connection JavaScript keeps open (`host`: the glue's stack slot holds its address). It
// read `reachable` "from static data" while dlmalloc's small bins, which keep stale chunk addresses, were scanned
// as a root past a number of SQLite's that falls inside the allocator's state (74621 — 0x1237d, inside `_gm_`).
//
// This module also showed a real wasmleak bug, fixed: SQLite's sqlite3MemRealloc (dlrealloc inlined into it
// by LTO, taking the pointer 8 bytes into the block and asking for size + 8) was taken for a plain realloc,
// and every call looked like an invalid free. It is now recognised as a realloc over blocks with a hidden
// 8-byte header (role `realloc (8-byte header)`): the hook gets the blocks (pointers − 8) and sizes (+ 8), so
// in-place growth is seen too and nothing is left `lost` (without it, pointers stored past a block's stale
// size went unscanned and 2 blocks looked lost).
//
// Ground truth (measured, deterministic): SQLite serves its first small allocations from the connection's
// lookaside slab (inside one block, invisible to any malloc-level tool), so round 1 of K = 50 statements
// exhausts it; from then on each `db.prepare(...)` + bind + step that is never freed keeps 8 blocks,
// 1648 B: rounds 2 and 3 add exactly 2 × 50 × (8 blocks, 1648 B).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runApp } from './apps/run.mjs';

const K = 50;
const PER_STATEMENT = { blocks: 8, bytes: 1648 };
const app = fileURLToPath(new URL('apps/sqljs_app.mjs', import.meta.url));
const run = (mode) => JSON.parse(execFileSync(process.execPath, [app, mode, String(K)], { encoding: 'utf8' }));

const out = {};
const get = (mode) => (out[mode] ??= run(mode));

// The app takes its report with the database still open (it closes it after): what only the connection holds is
// held by JavaScript — sql.js reads every handle from one stack slot its glue allocated for good (stackAlloc),
// which holds the connection's address — so it is `host`, never `lost`. (It was `reachable` "from the stack",
// and a database never closed passed as clean.)
function openDatabaseOnly(r) {
  const leaked = r.groups.filter((g) => g.kind !== 'reachable');
  assert.equal(r.summary.lost_blocks + r.summary.indirect_blocks + r.summary.cycle_blocks, 0, JSON.stringify(leaked));
  assert.ok(leaked.length > 0 && leaked.every((g) => g.kind === 'host' && /^a stack slot JavaScript allocated \(stackAlloc\) at 0x/.test(g.root)), JSON.stringify(leaked.map((g) => [g.kind, g.root])));
  assert.ok(leaked.some((g) => g.site.function === '_sqlite3_open (export Ca)'), JSON.stringify(leaked.map((g) => g.site)));
}

// memalign is exported (as emscripten_builtin_memalign), so JS can reach it from outside the allocator: hooked too.
test('sql.js 1.13.0: the allocator by code shape — dlmalloc with its memalign, and SQLite\'s header realloc', async () => {
  const { instrument } = await import('../../js/src/index.mjs');
  const { readFileSync } = await import('node:fs');
  const ins = await instrument(readFileSync(new URL('node_modules/sql.js/dist/sql-wasm.wasm', import.meta.url)));
  const roles = ins.meta.entry_points.map((e) => e.role).sort();
  assert.deepEqual(roles, ['aligned_alloc', 'free', 'malloc', 'realloc (8-byte header)'], JSON.stringify(ins.meta.entry_points));
  ins.release();
});

test('sql.js 1.13.0: statements never freed are host-held through the open connection and growing, 8 blocks / 1648 B each, no invalid frees', () => {
  const { report: r, diff, skipped } = get('leak');
  assert.deepEqual(skipped, []);
  assert.equal(r.summary.invalid_frees, 0, JSON.stringify(r.invalid_frees?.slice(0, 2)));
  // Held through the connection, which JavaScript holds: nothing lost.
  assert.equal(r.summary.lost_blocks + r.summary.indirect_blocks + r.summary.cycle_blocks, 0, JSON.stringify(r.groups.filter((g) => g.kind !== 'host')));
  const total = diff.rows.reduce((a, row) => ({ blocks: a.blocks + row.delta_blocks, bytes: a.bytes + row.delta_bytes }), { blocks: 0, bytes: 0 });
  assert.deepEqual(total, { blocks: 2 * K * PER_STATEMENT.blocks, bytes: 2 * K * PER_STATEMENT.bytes });
  const growing = r.groups.filter((g) => g.growing);
  assert.ok(growing.length > 0);
  for (const g of growing) {
    assert.equal(g.kind, 'host', JSON.stringify(g));
    assert.match(g.root, /^a stack slot JavaScript allocated \(stackAlloc\) at 0x/);
    assert.match(g.hint, /never closed or freed/);
    // The JS that did it: sql.js's Database.prepare, then this app's line.
    assert.ok(g.stack.some((f) => /sqljs_app\.mjs$/.test(f.file ?? '')), JSON.stringify(g.stack.map((f) => f.function)));
  }
  // The minified exports (sql.js is stripped, its exports renamed `U`, `Ca`…) are named after the glue
  // functions that call them.
  const frames = r.groups.flatMap((g) => g.stack.map((f) => f.function));
  assert.ok(frames.includes('_sqlite3_exec (export U)'), JSON.stringify([...new Set(frames)].slice(0, 40)));
});

test('sql.js 1.13.0: statements freed → nothing grows, the comparison is empty, no invalid frees', () => {
  const { report: r, diff } = get('free');
  assert.equal(r.summary.invalid_frees, 0);
  assert.deepEqual(diff.rows, []);
  assert.ok(r.groups.every((g) => !g.growing), JSON.stringify(r.groups.filter((g) => g.growing)));
  openDatabaseOnly(r);
});

// The new user, again: `wasmleak node` on an app that prepares a statement per request and never frees
// it, with no snapshot option and no wasmleak API in the app (apps/sqljs_requests.mjs). Growth comes from the
// event clock: the statements' sites grow by one block per request (the first few fit SQLite's lookaside
// slab), and `--fail-on growing` fails the run; freeing each statement leaves nothing growing.
test('sql.js 1.13.0 under `wasmleak node`, no options: a statement per request never freed is growing', () => {
  const WASMLEAK = process.env.WASMLEAK || '/var/tmp/wasmleak-target/release/wasmleak';
  const requests = fileURLToPath(new URL('apps/sqljs_requests.mjs', import.meta.url));
  const node = (...args) => {
    try {
      return { code: 0, reports: JSON.parse(execFileSync(WASMLEAK, ['node', '--format', 'json', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) };
    } catch (e) {
      return { code: e.status, reports: JSON.parse(e.stdout) };
    }
  };
  const { code, reports } = node('--fail-on', 'growing', requests, '1000');
  assert.equal(code, 1);
  const r = [reports].flat()[0]; // one report per module, an array only for several
  const growing = r.groups.filter((g) => g.growing);
  assert.ok(growing.length >= 3, JSON.stringify(r.groups.map((g) => [g.kind, g.growing, g.blocks])));
  for (const g of growing) {
    assert.equal(g.kind, 'host');
    // One block per request at most sites (two at one), less the few SQLite's lookaside slab served.
    const perRequest = Math.round(g.blocks / 1000);
    assert.ok(perRequest >= 1 && g.blocks >= 980 * perRequest && g.blocks <= 1000 * perRequest, `${g.blocks}`);
    assert.ok(g.bytes_per_1000_events > 0 && g.bytes_per_second > 0, JSON.stringify(g));
    assert.ok(r.decided_by.includes(g.key));
  }
  assert.ok(growing.some((g) => g.site.function === '_sqlite3_prepare_v2 (export R)'), JSON.stringify(growing.map((g) => g.site)));
  const freed = node('--fail-on', 'growing', requests, '1000', 'free');
  assert.equal(freed.code, 0);
  assert.ok([freed.reports].flat()[0].groups.every((g) => !g.growing));
});

// The owner that dropped a block, on a module we did not build (minified, no names, SQLite's allocator with an
// 8-byte header, so its pointers point 8 bytes into the malloc blocks): statements freed with sqlite3_free instead
// of finalized (apps/sqljs_free_stmt.mjs). What each one owned is lost, 3 blocks per statement, and every lost
// block names the freed statement: allocated by sqlite3_prepare_v2 (minified export `R`), freed by
// `_sqlite3_free` from the app's line.
test('sql.js 1.13.0: statements freed without finalize → their members lost, the freed statement named as owner', () => {
  const WASMLEAK = process.env.WASMLEAK || '/var/tmp/wasmleak-target/release/wasmleak';
  const app = fileURLToPath(new URL('apps/sqljs_free_stmt.mjs', import.meta.url));
  let out;
  try {
    out = execFileSync(WASMLEAK, ['node', '--format', 'json', app], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    assert.fail('leaks must fail the run');
  } catch (e) {
    assert.equal(e.status, 1);
    out = e.stdout;
  }
  const r = [JSON.parse(out)].flat()[0];
  const lost = r.groups.filter((g) => g.kind === 'lost');
  assert.equal(r.summary.lost_blocks, 30);
  assert.equal(r.summary.invalid_frees, 0);
  assert.deepEqual(lost.map((g) => g.blocks), [10, 10, 10]);
  for (const g of lost) {
    const o = g.freed_owner;
    assert.ok(o, JSON.stringify(g));
    assert.equal(o.blocks, 10);
    assert.ok(o.free_stack.some((f) => f.function.startsWith('_sqlite3_free')), JSON.stringify(o.free_stack));
    assert.ok(o.free_stack.some((f) => (f.file ?? '').endsWith('sqljs_free_stmt.mjs')), JSON.stringify(o.free_stack));
  }
});

// Databases never closed: the connection's address reaches JS only through sql.js's stack slot (an out-parameter
// of sqlite3_open), so each connection SQLite allocated — its 48008 B lookaside slab among them — is held by
// JavaScript at exit, one per database left open: a leak (it passed as "reachable from the stack", exit 0).
test('sql.js 1.13.0: databases never closed are host-held leaks, one connection each; closed ones leave nothing', () => {
  const slabs = (r) => r.groups.filter((g) => g.kind === 'host' && g.site.function === '_sqlite3_open (export Ca)')
    .reduce((n, g) => n + (g.bytes % 48008 === 0 ? g.blocks : 0), 0);
  const open = runApp('sqljs_unclosed.mjs', ['4', '1']).out.reports[0];
  assert.equal(open.summary.lost_blocks + open.summary.indirect_blocks, 0, JSON.stringify(open.summary));
  assert.equal(slabs(open), 3, JSON.stringify(open.groups.map((g) => [g.kind, g.blocks, g.bytes, g.site.function])));
  assert.ok(open.groups.filter((g) => g.kind === 'host').every((g) => /^a stack slot JavaScript allocated/.test(g.root) && /never closed or freed/.test(g.hint)));
  const closed = runApp('sqljs_unclosed.mjs', ['4', '4']).out.reports[0];
  assert.equal(closed.summary.leaked_blocks, 0, JSON.stringify(closed.groups.filter((g) => g.kind !== 'reachable')));
});
