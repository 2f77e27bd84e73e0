// `wasmleak serve` end to end in headless Chromium (playwright-core driving /usr/bin/chromium): an unmodified
// app (tests/js/web, with fixtures/wasm/rust_lib.wasm copied next to it) gets the runtime and the overlay
// injected; the user takes a snapshot, clicks the leaking button K times, takes another, compares — the
// overlay and the HTML report at /__wasmleak/report name create_processor and K × 276 B (fixtures/README.md:
// a 20 B Processor box + its 256 B buffer per call). Also: a page that includes the runtime by hand.
//
//   apt-get install -y chromium; cd tests/js && npm ci && node --test
// The binary: $WASMLEAK, default /var/tmp/wasmleak-target/release/wasmleak; the analysis: $WASMLEAK_WASM
// (default: the cargo target dir). The browser: $CHROMIUM, default /usr/bin/chromium. $WASMLEAK_SCREENSHOT:
// also keep a screenshot of the page with the overlay's comparison there.

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { startServe } from './apps/serve.mjs'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

const HERE = dirname(fileURLToPath(import.meta.url))
const WASMLEAK = process.env.WASMLEAK || '/var/tmp/wasmleak-target/release/wasmleak'
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium'
const FIXTURES = join(HERE, '..', '..', 'fixtures', 'wasm')
const K = 5 // clicks on the leaking button
const PER_CALL = { box: 20, buffer: 256 } // create_processor: Box<Processor> + its Vec<u8> buffer

const tmp = mkdtempSync(join(tmpdir(), 'wasmleak-serve-'))
const app = join(tmp, 'app')
const saved = join(tmp, 'snaps')

let server, url, browser, context
const errors = [] // console errors and uncaught exceptions of every page

before(async () => {
  mkdirSync(app)
  for (const f of readdirSync(join(HERE, 'web'))) copyFileSync(join(HERE, 'web', f), join(app, f))
  copyFileSync(join(FIXTURES, 'rust_lib.wasm'), join(app, 'rust_lib.wasm'))

  ;({ server, url } = await startServe(app, ['--save', saved]))

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--no-first-run', '--disable-sync']
  })
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  context.on('page', p => {
    p.on('console', m => { if (m.type() === 'error') errors.push(`${p.url()}: ${m.text()}`) })
    p.on('pageerror', e => errors.push(`${p.url()}: ${e.stack ?? e}`))
  })
})

after(async () => {
  await browser?.close()
  server?.kill()
  rmSync(tmp, { recursive: true, force: true })
})

/** The overlay's comparison rows (inside its shadow root; Playwright's CSS locators pierce it). */
async function overlayRows (page) {
  return page.locator('#wasmleak-overlay [data-wasmleak=result] tr[data-site]').evaluateAll(rows => rows.map(r => ({
    site: r.dataset.site,
    text: r.cells[0].textContent,
    deltaBytes: Number(r.dataset.deltaBytes),
    deltaBlocks: Number(r.dataset.deltaBlocks),
    newBlocks: Number(r.dataset.newBlocks)
  })))
}

/** Rows whose site is create_processor, added up. */
function createProcessor (rows) {
  const mine = rows.filter(r => /^create_processor \(rust\/src\/lib\.rs:\d+\)/.test(r.site))
  return {
    rows: mine,
    bytes: mine.reduce((n, r) => n + r.deltaBytes, 0),
    blocks: mine.reduce((n, r) => n + r.deltaBlocks, 0)
  }
}

test('the overlay: snapshot, click the leaking button K times, snapshot, compare names create_processor', async () => {
  const page = await context.newPage()
  await page.goto(url, { waitUntil: 'load' })
  await page.waitForSelector('body[data-ready=true]')
  const status = page.locator('#wasmleak-overlay [data-wasmleak=status]')
  const message = page.locator('#wasmleak-overlay [data-wasmleak=message]')
  await assert.doesNotReject(status.filter({ hasText: /1 module tracked/ }).waitFor({ timeout: 30_000 }),
    'the overlay never reported the app\'s module as tracked')
  // The page's HTML got the runtime once, before the app's script.
  const scripts = await page.$$eval('script', s => s.map(e => e.getAttribute('src') ?? 'inline'))
  assert.deepEqual(scripts.slice(0, 2), ['/__wasmleak/runtime.js', 'inline'])
  assert.equal(scripts.filter(s => s === '/__wasmleak/runtime.js').length, 1)

  await page.click('[data-wasmleak=snapshot]')
  await message.filter({ hasText: /^snapshot 1: rust_lib\.wasm/ }).waitFor()
  for (let i = 0; i < K; i++) {
    await page.click('#create')
    await page.click('#process') // creates and destroys: adds nothing
  }
  assert.equal(await page.textContent('#out'), `created ${K}, processed ${K}`)
  await page.click('#wasmleak-snapshot')
  await message.filter({ hasText: /^snapshot 2: rust_lib\.wasm/ }).waitFor()
  assert.match(await message.textContent(), /sent to the report/)
  assert.match(await status.textContent(), /2 snapshots/)

  await page.click('#wasmleak-compare')
  await page.locator('#wasmleak-overlay [data-wasmleak=result] table[data-module="rust_lib.wasm"]').waitFor()
  const rows = await overlayRows(page)
  const cp = createProcessor(rows)
  assert.equal(cp.bytes, K * (PER_CALL.box + PER_CALL.buffer), JSON.stringify(rows, null, 1))
  assert.equal(cp.blocks, 2 * K)
  assert.deepEqual(cp.rows.map(r => r.deltaBytes).sort((a, b) => a - b), [K * PER_CALL.box, K * PER_CALL.buffer])
  assert.ok(cp.rows.every(r => r.newBlocks === K))
  // Nothing else changed (process_ok frees what it allocates), and the biggest growth comes first.
  assert.equal(rows.length, cp.rows.length, JSON.stringify(rows, null, 1))
  assert.equal(rows[0].deltaBytes, K * PER_CALL.buffer)
  assert.match(rows[0].text, /^Vec<u8> from create_processor/)
  assert.match(await page.textContent('#wasmleak-overlay caption'), new RegExp(`^rust_lib\\.wasm: \\+${K * 276} B`))
  if (process.env.WASMLEAK_SCREENSHOT) await page.screenshot({ path: process.env.WASMLEAK_SCREENSHOT })
  await page.close()
})

test('the server kept both snapshots, saved them, and /__wasmleak/report shows the comparison', async () => {
  const list = await (await fetch(new URL('/__wasmleak/snapshots', url))).json()
  assert.deepEqual(list.map(s => [s.module, s.n]), [['rust_lib.wasm', 1], ['rust_lib.wasm', 2]])
  assert.equal(list[1].bytes - list[0].bytes, K * 276)
  assert.deepEqual(readdirSync(saved).sort(), ['rust_lib.1.wlsnap', 'rust_lib.2.wlsnap'])

  // `wasmleak diff` works on what --save wrote.
  const d = spawnSync(WASMLEAK, ['diff', join(saved, 'rust_lib.1.wlsnap'), join(saved, 'rust_lib.2.wlsnap'), '--format', 'json'],
    { encoding: 'utf8' })
  assert.equal(d.status, 0, d.stderr)
  const diffRows = JSON.parse(d.stdout).rows.map(r => ({ site: r.site, deltaBytes: r.delta_bytes, deltaBlocks: r.delta_blocks }))
  assert.equal(createProcessor(diffRows).bytes, K * 276)

  // The overlay's link opens the report.
  const page = await context.newPage()
  await page.goto(url, { waitUntil: 'load' })
  const link = page.locator('#wasmleak-overlay [data-wasmleak=report]')
  assert.equal(await link.getAttribute('href'), '/__wasmleak/report')
  const [report] = await Promise.all([context.waitForEvent('page'), link.click()])
  await report.waitForLoadState('load')
  assert.equal(new URL(report.url()).pathname, '/__wasmleak/report')
  assert.match(await report.title(), /rust_lib\.wasm/)
  const rows = await report.$$eval('#cmp tbody tr', trs => trs.map(r => ({
    site: r.cells[0].textContent,
    deltaBytes: Number(r.cells[1].dataset.v),
    deltaBlocks: Number(r.cells[2].dataset.v)
  })))
  const mine = rows.filter(r => r.site.includes('create_processor'))
  assert.equal(mine.reduce((n, r) => n + r.deltaBytes, 0), K * 276, JSON.stringify(rows))
  assert.equal(mine.reduce((n, r) => n + r.deltaBlocks, 0), 2 * K)
  // The report is not the app: nothing injected.
  assert.equal(await report.locator('#wasmleak-overlay').count(), 0)
  await report.close()
  await page.close()
})

test('a page that includes the runtime by hand: attach({ overlay: false }), snapshot and diff from page code', async () => {
  const page = await context.newPage()
  const n = 3
  await page.goto(new URL(`manual.html?n=${n}`, url).href, { waitUntil: 'load' })
  await page.waitForFunction(() => window.wasmleakResult, null, { timeout: 30_000 })
  const result = await page.evaluate(() => window.wasmleakResult)
  assert.equal(result.error, undefined, result.error)
  assert.equal(result.instances, 1)
  // Not injected a second time, no overlay.
  assert.equal(await page.locator('script[src="/__wasmleak/runtime.js"]').count(), 1)
  assert.equal(await page.locator('#wasmleak-overlay').count(), 0)
  assert.equal(result.diff.length, 1)
  const m = result.diff[0]
  assert.equal(m.module, 'rust_lib.wasm')
  assert.equal(m.after.bytes - m.before.bytes, n * 276)
  const rows = m.rows.map(r => ({ site: r.site, deltaBytes: r.delta_bytes, deltaBlocks: r.delta_blocks }))
  assert.equal(createProcessor(rows).bytes, n * 276, JSON.stringify(rows))
  assert.match(result.text, /create_processor/)
  await page.close()
})

test('a Web Worker the page starts is named as not tracked (its wasm would otherwise go unmentioned)', async () => {
  const page = await context.newPage()
  await page.goto(url, { waitUntil: 'load' })
  await page.waitForSelector('body[data-ready=true]')
  const status = page.locator('#wasmleak-overlay [data-wasmleak=status]')
  await status.filter({ hasText: /1 module tracked/ }).waitFor({ timeout: 30_000 })
  const text = await page.evaluate(() => {
    const w = new Worker(URL.createObjectURL(new Blob(['postMessage(1)'], { type: 'text/javascript' })))
    return new Promise(resolve => { w.onmessage = () => resolve(window.wasmleak.attach().text()) })
  })
  assert.match(text, /^NOT TRACKED: a Web Worker the page started \(blob:http:\/\/[^)]+\): wasm run in a worker is not tracked/m)
  assert.doesNotMatch(text, /nothing tracked/) // the page's own module is
  await page.click('[data-wasmleak=snapshot]')
  await status.filter({ hasText: /1 worker not tracked/ }).waitFor()
  assert.match(await status.getAttribute('title'), /a Web Worker the page started/)
  await page.close()
})

test('no page logged an error', () => {
  assert.deepEqual(errors, [])
})

test('the server refuses what it must', async () => {
  const get = async (path, init) => {
    const r = await fetch(new URL(path, url), init)
    return { status: r.status, type: r.headers.get('content-type'), body: await r.text() }
  }
  assert.equal((await get('/rust_lib.wasm')).type, 'application/wasm')
  assert.equal((await get('/nope.html')).status, 404)
  assert.equal((await get('/..%2f..%2fetc%2fpasswd')).status, 403) // %2f: not normalized away by URL parsing
  const bad = await get('/__wasmleak/snapshots?module=x.wasm', { method: 'POST', body: 'not a snapshot' })
  assert.equal(bad.status, 400)
  assert.match(bad.body, /\.wlsnap/)
  assert.ok(existsSync(join(saved, 'rust_lib.2.wlsnap')))
})

test('a reloaded page starts a series of its own (page=ID): its snapshots are never compared with the last load\'s', async () => {
  const body = readFileSync(join(saved, 'rust_lib.1.wlsnap'))
  const post = (page) => fetch(new URL(`/__wasmleak/snapshots?module=reload.wasm&page=${page}`, url), { method: 'POST', body })
  for (const page of ['a1', 'a1', 'b2']) assert.equal((await post(page)).status, 201)
  const list = (await (await fetch(new URL('/__wasmleak/snapshots', url))).json()).filter(s => s.module.startsWith('reload'))
  assert.deepEqual(list.map(s => [s.module, s.n]), [['reload.wasm', 1], ['reload.wasm', 2], ['reload.wasm~2', 1]])
})
