// A real Emscripten C++ package from npm (issue 4, item 7): manifold-3d 3.2.1. Embind bindings, an ES-module
// glue with minified import/export names (`_malloc = wasmExports["N"]`), a stripped .wasm (no name section,
// no DWARF): the allocator is Emscripten's dlmalloc, found by the shape of its code (`wasmleak inspect`:
// malloc func 46 `N`, free func 35 `O`, operator delete func 45, confidence high — the state is used
// through dozens of constant addresses, sbrk grows memory through the imported emscripten_resize_heap, and
// malloc/free are exported for the glue). libc++'s `operator new` is found by its shape too: func 82 is
// `operator_new_impl` (malloc in a loop that calls the new_handler), func 36 `operator new` (calls 82, aborts
// on failure); so the site of a C++ allocation is the function that called `new`, not func 82 (where every
// one of them was before: the 142 init blocks and 40 of the 120 per-cube blocks of N=10; the counts and sizes
// are the same). Embind objects are not garbage-collected: each must be `.delete()`d.
//
// Embind does not create objects through exports: `Manifold.cube()` (the glue's JS) calls the binding
// `_Cube`, whose invoker the glue fetched from the function table (`wasmTable.get`) — js/src/glue.mjs holds
// the integer results of those table functions, labelled `returned by <binding> (call N)`.
//
// Numbers, measured and checked against each other (N cubes; init = the module's own start):
//   init: 142 allocations, never freed — Embind's registration contexts (`getContext()` in emscripten/bind.h
//         `new`s a copy of each bound member/field pointer and passes it to `_embind_register_*`; the JS glue
//         keeps it for the module's lifetime). All allocated under the ctors export `K`
//         (`___wasm_call_ctors=wasmExports["K"]` in the glue). 142 blocks, 856 B.
//   one `Manifold.cube([1, 1, 1])`: 34 allocations, 22 of them freed before it returns, 12 blocks live,
//         3228 B: the 8 B `Manifold` Embind `new`s for the by-value return (a `std::shared_ptr<CsgNode>`:
//         two wasm32 pointers) — the pointer the table function returns — and 11 blocks it reaches (the
//         shared node and the cube's mesh arrays: 8+224+136+136+1104+576+240+240+192+192+92+88 B).
//   `cube.delete()` frees those 12.
// Per iteration is the difference between runs with N and 2N cubes (tests/js/snapshot.test.mjs covers
// snapshots in one run).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { runApp } from './apps/run.mjs';

const PER_OBJECT = { blocks: 12, bytes: 3228, allocations: 34, frees_leaking: 22 };
const PER_OBJECT_SIZES = [8, 88, 92, 136, 136, 192, 192, 224, 240, 240, 576, 1104];
const INIT = { blocks: 142, bytes: 856 };
const sum = (groups) => groups.reduce((a, g) => ({ blocks: a.blocks + g.blocks, bytes: a.bytes + g.bytes }), { blocks: 0, bytes: 0 });
// Allocated while the module's static constructors ran (the ctors export is `K` in this build).
const atInit = (g) => g.stack.some((f) => f.function === 'K');

/** The one report of a run of `app` with `n` iterations. */
function report(app, n) {
  const { stdout, out } = runApp(app, [String(n)]);
  assert.match(stdout, new RegExp(`x${n}: done`));
  assert.equal(out.error, undefined, out.error);
  assert.deepEqual(out.skipped, []);
  assert.equal(out.reports.length, 1, JSON.stringify(out));
  return out.reports[0];
}
const runs = {};
const run = (app, n) => (runs[`${app}:${n}`] ??= report(app, n));

test('manifold-3d 3.2.1: the stripped module\'s dlmalloc is found by code shape, with high confidence', async () => {
  const wasmPath = createRequire(import.meta.url).resolve('manifold-3d/manifold.wasm');
  assert.ok(existsSync(wasmPath));
  const { instrument } = await import('../../js/src/index.mjs');
  const ins = await instrument(readFileSync(wasmPath));
  const eps = ins.meta.entry_points.map((e) => [e.func, e.role]).sort((a, b) => a[0] - b[0]);
  assert.deepEqual(eps, [[35, 'free'], [36, 'malloc'], [45, 'free'], [46, 'malloc'], [82, 'malloc']], JSON.stringify(ins.meta.entry_points));
  for (const e of ins.meta.entry_points) {
    assert.match(e.evidence, /confidence high/, e.evidence);
    assert.match(e.evidence, /dlmalloc-shaped/, e.evidence);
    assert.match(e.evidence, /emscripten_resize_heap/, e.evidence);
  }
  const why = (f) => ins.meta.entry_points.find((e) => e.func === f).evidence;
  assert.match(why(82), /operator new-shaped: calls malloc \(func 46\) with its size and returns its result; new_handler loop/);
  assert.match(why(36), /operator new-shaped: calls another operator new-shaped function \(func 82\).*aborts or throws when it fails/);
});

// The allocator's entry points (malloc 46, operator new 36 and 82) are never a site: their frames are the
// wrappers' own, left out of every stack.
const ALLOCATOR_FRAMES = ['func[36]', 'func[46]', 'func[82]'];

test('manifold-3d 3.2.1: cubes never .delete()d are host-held, 12 blocks / 3228 B each, rooted at the _Cube binding', () => {
  for (const n of [10, 20]) {
    const r = run('manifold_leak.mjs', n);
    assert.equal(r.summary.allocations, INIT.blocks + PER_OBJECT.allocations * n, JSON.stringify(r.summary));
    assert.equal(r.summary.frees, PER_OBJECT.frees_leaking * n);
    assert.equal(r.summary.invalid_frees, 0);
    // Embind's registration data: held by the glue for the module's lifetime, reachable, never a leak
    assert.deepEqual({ blocks: r.summary.reachable_blocks, bytes: r.summary.reachable_bytes }, INIT, JSON.stringify(r.summary));
    assert.ok(r.groups.filter((g) => g.kind === 'reachable').every((g) => atInit(g) && /^Embind registration: /.test(g.root)));
    const perCube = r.groups.filter((g) => !atInit(g));
    // every block of every cube is `host`: the only pointer to the Manifold is the one JS holds, the rest
    // hang from it (not `lost`/`indirect`: JS still has the handle, it just never calls .delete())
    assert.ok(perCube.length > 0);
    for (const g of r.groups) assert.ok(!ALLOCATOR_FRAMES.includes(g.site?.function), JSON.stringify(g));
    for (const g of perCube) {
      assert.equal(g.kind, 'host', JSON.stringify(g));
      assert.match(g.root, /^returned by _Cube \(call \d+\)/, g.root);
      assert.match(g.hint, /\.delete\(\)/, g.hint);
      // The stack's JS frames name the call the app made.
      assert.ok(g.stack.some((f) => f.function === 'Module.Manifold.cube'), JSON.stringify(g.stack));
    }
    assert.deepEqual(sum(perCube), { blocks: PER_OBJECT.blocks * n, bytes: PER_OBJECT.bytes * n });
    assert.equal(r.summary.host_bytes, sum(r.groups.filter((g) => g.kind === 'host')).bytes);
    // Block sizes of one cube: each per-cube group has n blocks of one size, or 2n of one size (240 B).
    const sizes = perCube.flatMap((g) => Array(g.blocks / n).fill(g.bytes / g.blocks)).sort((a, b) => a - b);
    assert.deepEqual(sizes, PER_OBJECT_SIZES);
    // The 8 B block is the pointer the binding returned itself (no "through N other blocks").
    const own = perCube.filter((g) => g.bytes === 8 * n);
    assert.equal(own.length, 1);
    assert.doesNotMatch(own[0].root, /through/);
  }
  // Per iteration: exactly 10 cubes more from N=10 to N=20.
  const host = (r) => sum(r.groups.filter((g) => !atInit(g)));
  const [a, b] = [run('manifold_leak.mjs', 10), run('manifold_leak.mjs', 20)];
  assert.deepEqual({ blocks: host(b).blocks - host(a).blocks, bytes: host(b).bytes - host(a).bytes },
    { blocks: PER_OBJECT.blocks * 10, bytes: PER_OBJECT.bytes * 10 });
});

// What stays after correct usage is Embind's own registration, identical for N and 2N: nothing leaked,
// nothing growing, nothing of the cubes. Nothing in linear memory points at those 142 blocks; the glue's JS
// keeps them (closures over the context argument of the `_embind_register_*` imports), which glue.mjs's
// `wrapImports` sees: they are runtime roots, so the blocks are `reachable`, rooted at the registration.
test('manifold-3d 3.2.1: cubes .delete()d → nothing leaked, nothing growing, only Embind\'s registration reachable (N and 2N)', () => {
  const [a, b] = [run('manifold_ok.mjs', 10), run('manifold_ok.mjs', 20)];
  for (const [n, r] of [[10, a], [20, b]]) {
    assert.equal(r.summary.allocations, INIT.blocks + PER_OBJECT.allocations * n, JSON.stringify(r.summary));
    assert.equal(r.summary.frees, PER_OBJECT.allocations * n);
    assert.equal(r.summary.invalid_frees, 0);
    assert.equal(r.summary.leaked_blocks, 0, JSON.stringify(r.groups));
    for (const g of r.groups) {
      assert.equal(g.kind, 'reachable', JSON.stringify(g));
      assert.ok(atInit(g), `only the module's registration may stay: ${JSON.stringify(g)}`);
      assert.match(g.root, /^Embind registration: _embind_register_\w+ context/);
      assert.equal(g.growing, false);
    }
    assert.deepEqual(sum(r.groups), INIT);
  }
  const shape = (r) => r.groups.map((g) => `${g.kind} ${g.blocks} ${g.bytes}`).sort();
  assert.deepEqual(shape(a), shape(b));
});
