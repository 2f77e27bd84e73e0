// Starts `wasmleak serve DIR --port 0 [ARGS]` for the browser tests (serve.test.mjs, serve_realpkg.test.mjs);
// resolves to { server, url } once it prints its URL. The binary: $WASMLEAK, default
// /var/tmp/wasmleak-target/release/wasmleak.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const WASMLEAK = process.env.WASMLEAK || '/var/tmp/wasmleak-target/release/wasmleak';

export function startServe(dir, args = []) {
  const server = spawn(WASMLEAK, ['serve', dir, '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  server.stderr.on('data', (d) => { stderr += d; });
  return new Promise((resolve, reject) => {
    let out = '';
    server.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/^wasmleak: serving .* at (http:\/\/127\.0\.0\.1:\d+\/)$/m);
      if (m) resolve({ server, url: m[1] });
    });
    server.on('exit', (code) => reject(new Error(`wasmleak serve exited (${code}): ${stderr}`)));
    server.on('error', reject);
  });
}

/**
 * An app made by `fill(dir)` in a temporary directory, served (`wasmleak serve DIR ...serveArgs`), and a headless
 * Chromium ($CHROMIUM, default /usr/bin/chromium): { url, browser, close() }.
 */
export async function servedApp(fill, serveArgs = []) {
  const tmp = mkdtempSync(join(tmpdir(), 'wasmleak-app-'));
  const app = join(tmp, 'app');
  mkdirSync(app);
  fill(app);
  const { server, url } = await startServe(app, serveArgs);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu'],
  });
  return {
    url,
    browser,
    async close() {
      await browser.close();
      server.kill();
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}
