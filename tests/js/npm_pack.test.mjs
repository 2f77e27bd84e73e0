// The npm package as a web developer installs it: scripts/npm-pack.sh packs js/ with the analysis inside,
// `npm install` puts the tarball into a fresh project (no network: the package has no dependencies), and
// `node --import wasmleak/register app.mjs` reports the app's leak with no Rust CLI and no WASMLEAK_WASM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

test('npm pack → npm install → node --import wasmleak/register: 10 lost blocks of 48 B, with file:line, exit 1', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasmleak-npm-'));
  try {
    const tgz = execFileSync(join(root, 'scripts/npm-pack.sh'), [join(dir, 'pack')], { encoding: 'utf8' }).trim().split('\n').pop();
    assert.ok(existsSync(tgz), tgz);
    const listing = execFileSync('tar', ['tzf', tgz], { encoding: 'utf8' });
    for (const f of ['package/analysis.wasm', 'package/index.d.ts', 'package/src/register.mjs', 'package/src/node.mjs']) {
      assert.ok(listing.includes(f), `${f} in\n${listing}`);
    }
    const app = join(dir, 'app');
    execFileSync('mkdir', ['-p', app]);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--silent', tgz], { cwd: app });
    copyFileSync(join(root, 'fixtures/wasm/rust_lib.wasm'), join(app, 'rust_lib.wasm'));
    writeFileSync(join(app, 'app.mjs'), [
      "import { readFileSync } from 'node:fs';",
      "const { instance } = await WebAssembly.instantiate(readFileSync(new URL('./rust_lib.wasm', import.meta.url)), {});",
      'for (let i = 0; i < 10; i++) instance.exports.leak_forget();',
      "console.log('done');",
    ].join('\n'));
    const env = { ...process.env };
    delete env.WASMLEAK_WASM;
    delete env.WASMLEAK_REPORT_FILE;
    delete env.CARGO_TARGET_DIR;
    const r = spawnSync(process.execPath, ['--import', 'wasmleak/register', 'app.mjs'], { cwd: app, env, encoding: 'utf8' });
    assert.equal(r.status, 1, `findings fail the process, as LeakSanitizer's do:\n${r.stderr}`);
    assert.equal(r.stdout, 'done\n');
    assert.match(r.stderr, /lost: 10 blocks, 480 B — Vec<u8> allocated at leak_forget \(rust\/src\/lib\.rs:57\)/, r.stderr);
    assert.match(r.stderr, /app\.mjs:3/, r.stderr);
    const quiet = spawnSync(process.execPath, ['--import', 'wasmleak/register', 'app.mjs'], { cwd: app, env: { ...env, WASMLEAK_EXITCODE: '0' }, encoding: 'utf8' });
    assert.equal(quiet.status, 0, quiet.stderr);
    // The package's types name what attach() returns.
    const types = readFileSync(join(app, 'node_modules/wasmleak/index.d.ts'), 'utf8');
    assert.match(types, /export function attach\(options\?: AttachOptions\): Leak;/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
