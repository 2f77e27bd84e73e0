// Node's main thread runs the analysis on a thread of its own (js/src/analysis.mjs `RemoteAnalysis`), and takes
// instrumented modules from a cache (~/.cache/wasmleak/instrumented) that the analysis thread checks: the reports
// must be exactly those of the analysis on the app's thread, and a cache entry that is not what the analysis
// makes must fail the run, never be used silently.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runApp } from './apps/run.mjs';

/** The report without what differs from run to run (times). */
const stable = (r) => JSON.stringify({ ...r, growth: undefined, summary: { ...r.summary, elapsed_ms: undefined } });

function withCache(f) {
  const home = mkdtempSync(join(tmpdir(), 'wasmleak-cache-'));
  try {
    return f(home, join(home, 'wasmleak', 'instrumented'));
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

test('the analysis thread gives the report the app thread gives: 10 host-held blocks, 1380 B', () => {
  withCache((home, dir) => {
    const on = runApp('lib_app.mjs', ['create_processor', '5'], { XDG_CACHE_HOME: home }).out.reports;
    assert.equal(readdirSync(dir).length, 1, 'the analysis thread ran (it writes the cache)');
    const off = runApp('lib_app.mjs', ['create_processor', '5'], { XDG_CACHE_HOME: home, WASMLEAK_ANALYSIS_THREAD: '0' }).out.reports;
    assert.equal(on.length, 1);
    assert.equal(on[0].summary.leaked_blocks, 10);
    assert.equal(on[0].summary.leaked_bytes, 1380);
    assert.equal(stable(on[0]), stable(off[0]));
  });
});

test('instrumented modules are cached: the second run uses the entry and reports the same', () => {
  withCache((home, dir) => {
    const first = runApp('lib_app.mjs', ['create_processor', '5'], { XDG_CACHE_HOME: home }).out.reports[0];
    const entries = readdirSync(dir);
    assert.equal(entries.length, 1, entries.join(' '));
    const second = runApp('lib_app.mjs', ['create_processor', '5'], { XDG_CACHE_HOME: home }).out.reports[0];
    assert.equal(stable(second), stable(first));
    assert.deepEqual(readdirSync(dir), entries);
    // WASMLEAK_CACHE=0: none read or written.
    rmSync(dir, { recursive: true });
    runApp('lib_app.mjs', ['create_processor', '5'], { XDG_CACHE_HOME: home, WASMLEAK_CACHE: '0' });
    assert.throws(() => readdirSync(dir), /ENOENT/);
  });
});

test('a cache entry whose state the analysis cannot take up fails the run and is removed; a damaged one is a miss', () => {
  withCache((home, dir) => {
    runApp('lib_app.mjs', ['create_processor', '5'], { XDG_CACHE_HOME: home });
    const [name] = readdirSync(dir);
    assert.match(name, /\.v2$/);
    const file = join(dir, name);
    // Valid checksum, the same module and meta, a state (what the instrumentation found) that is not JSON.
    const entry = readFileSync(file);
    const metaLen = entry.readUInt32LE(32), stateLen = entry.readUInt32LE(36);
    const state = 40 + metaLen;
    const body = Buffer.concat([entry.subarray(32, state), Buffer.alloc(stateLen, 0x7b), entry.subarray(state + stateLen)]);
    writeFileSync(file, Buffer.concat([createHash('sha256').update(body).digest(), body]));
    const { out } = runApp('lib_app.mjs', ['create_processor', '5'], { XDG_CACHE_HOME: home });
    assert.match(out.error, /the cache entry of this module .* cannot be used: restoring a cached module: a bad state/);
    assert.deepEqual(readdirSync(dir), []);
    // Rewritten by the next run, which reports as usual, as does the one after, which takes it up.
    assert.equal(runApp('lib_app.mjs', ['create_processor', '5'], { XDG_CACHE_HOME: home }).out.reports[0].summary.leaked_blocks, 10);
    assert.deepEqual(readdirSync(dir), [name]);
    assert.equal(runApp('lib_app.mjs', ['create_processor', '5'], { XDG_CACHE_HOME: home }).out.reports[0].summary.leaked_blocks, 10);
    // A damaged entry (its checksum fails) is a miss, written anew.
    writeFileSync(file, 'not an entry');
    assert.equal(runApp('lib_app.mjs', ['create_processor', '5'], { XDG_CACHE_HOME: home }).out.reports[0].summary.leaked_blocks, 10);
    assert.ok(readFileSync(file).length > 1000);
  });
});
