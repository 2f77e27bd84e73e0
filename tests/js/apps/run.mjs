// Runs a test app under `node --import js/src/register.mjs` (the patches are process-wide, so each app gets
// its own process), with the report written to a temporary file.
import { execFileSync } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const apps = fileURLToPath(new URL('.', import.meta.url));
const register = new URL('../../../js/src/register.mjs', import.meta.url).href;

/** Run `tests/js/apps/<app>` (`env`: more variables); returns { stdout, out: {reports, text, skipped} }. */
export function runApp(app, args = [], env = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'wasmleak-app-'));
  try {
    const file = join(dir, 'report.json');
    const stdout = execFileSync(process.execPath, ['--import', register, join(apps, app), ...args], {
      env: { ...process.env, ...env, WASMLEAK_REPORT_FILE: file },
      encoding: 'utf8',
    });
    return { stdout, out: JSON.parse(readFileSync(file, 'utf8')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
