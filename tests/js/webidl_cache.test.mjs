// Emscripten's WebIDL binder glue (draco3d, box2d-wasm, ammo.js) keeps one malloc'd buffer for the array and string
// arguments of every call (`ensureCache`): the glue's state, not an object the app forgot — draco3d's clean run read
// it as a 96 KB host leak, exit 1 (npm survey) — and a byte copy of what the app passed, not pointers: scanned, its
// copy of a mesh file rooted 1.67 MB of the leaked meshes. apps/webidl_cache_glue.cjs has the binder's object as its
// glue emits it; the app passes arrays that hold the addresses of 3 blocks of its own it never frees.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runApp } from './apps/run.mjs';
import { track } from '../../js/src/tracker.mjs';

test('the WebIDL binder glue\'s argument buffer is the glue\'s (reachable), and its bytes root nothing', () => {
  for (const n of [3, 6]) {
    const { stdout, out } = runApp('webidl_cache_app.mjs', [String(n)]);
    assert.match(stdout, new RegExp(`webidl x${n}: done, cache 128`));
    const r = out.reports[0];
    const s = r.summary;
    // The app's blocks: held by JS, each one object, whatever the buffer's bytes say.
    assert.deepEqual([s.host_blocks, s.host_bytes, s.host_objects, s.leaked_blocks], [n, 24 * n, n, n], JSON.stringify(s));
    // The buffer: reachable, held by the glue.
    assert.deepEqual([s.reachable_blocks, s.reachable_bytes], [1, 128], JSON.stringify(s));
    const buffer = r.groups.find((g) => g.kind === 'reachable');
    assert.match(buffer.root, /WebIDL binder glue's argument buffer/, JSON.stringify(buffer));
  }
});

// The glue frees its buffer to grow it; the allocator may hand the address to an object the app then holds, whose
// bytes are pointers like any other's (zeroed, what it points to would read lost).
test('a block at the address of a freed glue buffer is not taken for the buffer', () => {
  const imports = {};
  const t = track({ meta: {} }, imports, { stacks: false });
  const h = imports.wasmleak;
  const A = 0x1000;
  const opaque = () => t.state({ memory: new Uint8Array(), globals: [] })[0].opaque_values;
  h.alloc_ctx(A, 128, 1, 0);
  t.hold(A, "the WebIDL binder glue's argument buffer", { strong: true, opaque: true });
  assert.deepEqual(opaque(), [A]);
  assert.equal(h.free_check_ctx(A, 1, 0), 1); // the glue grows its buffer
  h.alloc_ctx(A, 128, 2, 0); // the address again: an object an export returns
  t.hold(A, 'returned by make (call 1)');
  assert.deepEqual(opaque(), []);
});
