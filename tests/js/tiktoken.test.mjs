// tiktoken 1.0.22's stripped module: its Rust allocator (the dlmalloc crate) is found by code shape, and its
// memalign among a dozen look-alikes — unhooked, every block aligned to 16 (hashbrown's tables) was reported at
// the padded address its inner malloc returned, so freeing it looked invalid (hundreds of false invalid frees,
// withheld from the allocator). Ground truth: used as documented, nothing leaks and no free is invalid.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { runApp } from './apps/run.mjs';

const WASMLEAK = process.env.WASMLEAK || '/var/tmp/wasmleak-target/release/wasmleak';
const wasm = createRequire(import.meta.url).resolve('tiktoken/lite/tiktoken_bg.wasm');

test('tiktoken: inspect hooks malloc, free, realloc and the memalign', () => {
  const j = JSON.parse(execFileSync(WASMLEAK, ['inspect', '--format', 'json', wasm], { encoding: 'utf8' }));
  const roles = j.allocator.entry_points.map((e) => [e.func, e.role]);
  assert.deepEqual(roles, [[25, 'malloc'], [131, 'rust_realloc'], [161, 'free'], [276, 'aligned_alloc']]);
});

test('tiktoken used as documented: no leak, no invalid free', () => {
  const { stdout, out } = runApp('tiktoken_app.mjs', ['3']);
  assert.match(stdout, /tiktoken x3: done/);
  const [r] = out.reports;
  assert.equal(r.summary.invalid_frees, 0, JSON.stringify(r.invalid_frees?.slice(0, 3)));
  assert.equal(r.summary.leaked_blocks, 0, JSON.stringify(r.summary));
  assert.ok(r.summary.allocations > 100000, JSON.stringify(r.summary));
});
