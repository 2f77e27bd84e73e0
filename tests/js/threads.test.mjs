// The shared log of threaded modules (js/src/threads.mjs), driven directly: two threads' hooks in the order a
// race puts them, and what the main thread's tracker makes of the log. The race: thread 1's realloc moves its
// block away from A; the allocator hands A to thread 2 (its realloc of C) — and thread 2's hook runs first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sharedState } from '../../js/src/threads.mjs';
import { track } from '../../js/src/tracker.mjs';

const EV_ALLOC = 1, EV_FREE = 2, EV_REALLOC = 3;

/** The tracker's events so far, as [kind, a, b, c] (stack left out). */
function events(t) {
  const out = [];
  for (let i = 0; i < t.n; i += 5) if (t.events[i] !== 6) out.push([...t.events.subarray(i, i + 4)]); // 6: clock
  return out;
}

test('a realloc that reports after another thread got its old address frees nothing there', () => {
  const shared = sharedState();
  assert.ok(shared, 'Node has growable SharedArrayBuffers');
  shared.take(); // an empty log
  const t1 = shared.hooks(() => null), t2 = shared.hooks(() => null);
  const [A, B, C, D] = [0x1000, 0x2000, 0x3000, 0x4000];
  t1.alloc_ctx(A, 16, 1, 0);
  t2.alloc_ctx(C, 16, 2, 0);
  t2.realloc_ctx(C, A, 32, 2, 0); // thread 2 got A: its hook first
  t1.realloc_ctx(A, B, 32, 1, 0); // thread 1's late report of moving away from A
  // Thread 2 owns A: its free is a free, not an invalid one (the allocator is called).
  assert.equal(t2.check(A), 1);
  assert.equal(t2.free_check_ctx(A, 2, 0), 1);
  // And a real double free is still caught.
  assert.equal(t2.free_check_ctx(A, 2, 0), 0);
  t1.realloc_ctx(B, D, 64, 1, 0);

  const tracker = track({ meta: {} }, {}, { stacks: false, shared });
  tracker.drainShared();
  assert.deepEqual(events(tracker), [
    [EV_ALLOC, A, 16, 0],
    [EV_ALLOC, C, 16, 0],
    [EV_REALLOC, C, A, 32], // the model: C freed, A thread 2's (thread 1's record at A counts as freed)
    [EV_ALLOC, B, 32, 0], // thread 1's late realloc: only its new block
    [EV_FREE, A, 0, 0],
    [EV_FREE, A, 0, 0], // the double free, which the analysis reports
    [EV_REALLOC, B, D, 64],
  ]);
});

test('a value JS gets from a threaded module is numbered after the events logged before it', () => {
  const shared = sharedState();
  shared.take();
  const t1 = shared.hooks(() => null);
  const A = 0x5000;
  t1.alloc_ctx(A, 16, 1, 0);
  t1.free_check_ctx(A, 1, 0);
  t1.alloc_ctx(A, 24, 1, 0); // the address again: the block an export then returns to JS
  const tracker = track({ meta: {} }, {}, { stacks: false, shared });
  tracker.hold(A, 'returned by make (call 1)');
  // Read before the value was recorded: the earlier free of A does not drop it, and it is numbered after the
  // allocation it points to (a value numbered before a block is not taken to point at it).
  assert.equal(tracker.hostValues.get(A)?.seq, 3);
  assert.equal(tracker.seq, 3);
});
