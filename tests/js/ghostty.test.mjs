// ghostty-web 0.4.0: Ghostty's terminal core (Zig) in a stripped module — no name section, no malloc: the JS
// allocates through ghostty_wasm_alloc_* exports and the core through Zig's std.mem.Allocator vtable. It was
// "a module with a heap was not tracked"; the vtable in static data names Zig's heap (alloc, resize, remap, free).
// A terminal is 31 allocations; one never freed holds 9 blocks, 3,450,000 B (its screen pages), all rooted at the
// pointer `ghostty_terminal_new` returned to JS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runApp } from './apps/run.mjs';

const PER_TERMINAL = { allocations: 31, blocks: 9, bytes: 3_450_000 };

test('ghostty-web 0.4.0 (stripped Zig): every terminal JS never freed is one host object of 9 blocks, 3,450,000 B', () => {
  for (const n of [4, 8]) {
    const { stdout, out } = runApp('ghostty_app.mjs', [String(n)]);
    assert.match(stdout, new RegExp(`x${n}: done, ${n / 2} kept`));
    assert.deepEqual(out.skipped, []);
    const s = out.reports[0].summary;
    assert.equal(s.allocations, PER_TERMINAL.allocations * n, JSON.stringify(s));
    assert.equal(s.allocations - s.frees, PER_TERMINAL.blocks * (n / 2), JSON.stringify(s));
    assert.equal(s.invalid_frees, 0);
    assert.deepEqual([s.lost_blocks, s.indirect_blocks, s.reachable_blocks], [0, 0, 0], JSON.stringify(s));
    assert.deepEqual([s.host_objects, s.host_blocks, s.host_bytes], [n / 2, PER_TERMINAL.blocks * (n / 2), PER_TERMINAL.bytes * (n / 2)], JSON.stringify(s));
    for (const g of out.reports[0].groups) assert.match(g.root, /^returned by ghostty_terminal_new \(call \d+\)/, g.root);
  }
});
