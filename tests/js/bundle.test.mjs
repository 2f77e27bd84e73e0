// js/dist/runtime.js (what `wasmleak serve` injects) is committed: it must be what scripts/bundle-js.sh makes
// from js/src now, so a change to js/src that was not rebundled fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

test('js/dist/runtime.js is fresh: scripts/bundle-js.sh makes the same bytes from js/src', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasmleak-bundle-'));
  try {
    const out = join(dir, 'runtime.js');
    execFileSync(join(root, 'scripts/bundle-js.sh'), [out]);
    const fresh = readFileSync(out, 'utf8');
    const committed = readFileSync(join(root, 'js/dist/runtime.js'), 'utf8');
    assert.ok(fresh === committed, 'js/dist/runtime.js is stale: run scripts/bundle-js.sh and commit it');
    assert.match(fresh, /globalThis\.wasmleak = Object\.freeze\(/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
