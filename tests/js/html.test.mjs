// Opens the HTML report the real wasmleak binary writes in headless Chromium (playwright-core driving the
// system's /usr/bin/chromium) and checks what a user sees: the growing cache group, the comparison table
// (values, sort, filter), the heap-over-time chart, no console errors, nothing fetched.
//
//   apt-get install -y chromium; cd tests/js && npm ci && node --test
// The binary: $WASMLEAK, default /var/tmp/wasmleak-target/release/wasmleak. The browser: $CHROMIUM,
// default /usr/bin/chromium. $WASMLEAK_SCREENSHOT: also keep the screenshot there.

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { chromium } from 'playwright-core'

const WASMLEAK = process.env.WASMLEAK || '/var/tmp/wasmleak-target/release/wasmleak'
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium'
const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'wasm')

const tmp = mkdtempSync(join(tmpdir(), 'wasmleak-html-'))
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }))

let browser, page, html
const consoleErrors = []
const requests = []

function run (args) {
  const r = spawnSync(WASMLEAK, args, { encoding: 'utf8', maxBuffer: 1 << 26 })
  assert.ok(r.status === 0 || r.status === 1, `wasmleak ${args.join(' ')} failed (${r.status}): ${r.stderr}`)
  return r
}

before(async () => {
  const dir = join(tmp, 'snaps')
  run(['check', join(FIXTURES, 'rust_lib.wasm'), '--invoke', 'cache_insert', '--repeat', '200',
    '--snapshot-every', '50', '--save', dir])
  html = join(tmp, 'report.html')
  run(['export', ...[1, 2, 3, 4].map(i => join(dir, `${i}.wlsnap`)), '--format', 'html', '-o', html])

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--no-first-run', '--disable-sync']
  })
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  page = await context.newPage()
  page.on('console', m => { if (m.type() === 'error') consoleErrors.push(m.text()) })
  page.on('pageerror', e => consoleErrors.push(String(e)))
  context.on('request', r => requests.push(r.url()))
  await page.goto(pathToFileURL(html).href, { waitUntil: 'load' })
})

after(async () => { await browser?.close() })

/** The comparison table's rows as the user sees them: site and the numbers behind each column. */
async function tableRows () {
  return page.$$eval('#cmp tbody tr', rows => rows.map(r => ({
    site: r.cells[0].textContent,
    deltaBytes: Number(r.cells[1].dataset.v),
    deltaBlocks: Number(r.cells[2].dataset.v),
    newBlocks: Number(r.cells[3].dataset.v),
    freedBlocks: Number(r.cells[4].dataset.v),
    visible: !r.hidden && r.offsetParent !== null
  })))
}

test('the summary names the module, the snapshot and the counts', async () => {
  assert.match(await page.title(), /rust_lib\.wasm/)
  assert.match(await page.textContent('#f-snapshot'), /#4 .*iteration 200/)
  // The cache keeps everything reachable: nothing leaked.
  assert.equal(await page.getAttribute('#kinds tr[data-kind="leaked"] td:nth-child(2)', 'data-v'), '0')
  assert.equal(await page.getAttribute('#kinds tr[data-kind="reachable"] td:nth-child(2)', 'data-v'), '201')
})

test('the growing group names cache_insert and 64 B/iteration', async () => {
  const growing = page.locator('.group[data-growing="true"]')
  assert.equal(await growing.count(), 1)
  const text = await growing.first().textContent()
  assert.match(text, /cache_insert/)
  assert.match(text, /\+64 B\/iteration/)
  assert.match(text, /200 blocks/)
  assert.equal(await growing.first().getAttribute('data-kind'), 'reachable')
  // Its retainer path starts at a root (the static holding the cache).
  const path = await growing.first().locator('details.retainers li').allTextContents()
  assert.ok(path.length >= 2, `retainer path: ${path}`)
  assert.match(path[0], /^root static /)
  // The stack is collapsible and starts closed.
  assert.equal(await growing.first().locator('details.stack').getAttribute('open'), null)
})

test('the comparison table has the cache_insert row with Δ blocks 150', async () => {
  const rows = await tableRows()
  const row = rows.find(r => r.site.startsWith('cache_insert') && r.deltaBlocks === 150)
  assert.ok(row, `no cache_insert row with Δ blocks 150 in ${JSON.stringify(rows)}`)
  assert.equal(row.deltaBytes, 9600)
  assert.equal(row.newBlocks, 150)
  assert.equal(row.freedBlocks, 0)
  // Sorted by Δ bytes, largest first, to begin with.
  const deltas = rows.map(r => r.deltaBytes)
  assert.deepEqual(deltas, [...deltas].sort((a, b) => b - a))
  assert.equal(rows[0].site, row.site)
})

test('clicking the Δ bytes header re-sorts the table', async () => {
  const th = page.locator('#cmp th[data-col="delta-bytes"]')
  await th.click()
  assert.equal(await th.getAttribute('aria-sort'), 'ascending')
  let deltas = (await tableRows()).map(r => r.deltaBytes)
  assert.ok(deltas.length >= 2)
  assert.deepEqual(deltas, [...deltas].sort((a, b) => a - b))
  assert.ok(deltas[0] < deltas[deltas.length - 1])
  await th.click()
  assert.equal(await th.getAttribute('aria-sort'), 'descending')
  deltas = (await tableRows()).map(r => r.deltaBytes)
  assert.deepEqual(deltas, [...deltas].sort((a, b) => b - a))
  // Another column: sorted by it, the old one no longer marked.
  await page.click('#cmp th[data-col="delta-blocks"]')
  assert.equal(await th.getAttribute('aria-sort'), null)
  const blocks = (await tableRows()).map(r => r.deltaBlocks)
  assert.deepEqual(blocks, [...blocks].sort((a, b) => b - a))
})

test('typing in the filter hides the rows that do not match', async () => {
  const all = await tableRows()
  assert.ok(all.some(r => !/try_allocate_in/.test(r.site)), 'the filter needs a row it hides')
  await page.fill('#cmp-filter', 'try_allocate_in')
  const rows = await tableRows()
  assert.equal(rows.length, all.length)
  const shown = rows.filter(r => r.visible)
  assert.ok(shown.length >= 1)
  assert.ok(shown.every(r => /try_allocate_in/.test(r.site)))
  assert.ok(rows.filter(r => !r.visible).every(r => !/try_allocate_in/.test(r.site)))
  assert.match(await page.textContent('#cmp-count'), new RegExp(`^${shown.length} of ${all.length} sites match`))
  await page.fill('#cmp-filter', 'no such function anywhere')
  assert.equal((await tableRows()).filter(r => r.visible).length, 0)
  await page.fill('#cmp-filter', '')
  assert.equal((await tableRows()).filter(r => r.visible).length, all.length)
})

test('the heap-over-time chart has one point per snapshot, rising', async () => {
  const points = await page.$$eval('#heap-chart circle.point', cs => cs.map(c => ({
    iteration: Number(c.dataset.iteration), bytes: Number(c.dataset.bytes), cy: Number(c.getAttribute('cy'))
  })))
  assert.equal(points.length, 4)
  assert.deepEqual(points.map(p => p.iteration), [50, 100, 150, 200])
  for (let i = 1; i < 4; i++) {
    assert.ok(points[i].bytes > points[i - 1].bytes)
    assert.ok(points[i].cy < points[i - 1].cy, 'higher bytes are drawn higher up')
  }
  const sites = await page.$$eval('#heap-chart polyline.site-line', ls => ls.map(l => l.dataset.site))
  assert.ok(sites.some(s => s.startsWith('cache_insert')), `chart sites: ${sites}`)
})

test('the flamegraph is drawn inside the file and its script runs', async () => {
  const src = await page.getAttribute('#flamegraph iframe', 'src')
  assert.match(src, /^data:image\/svg\+xml;base64,/)
  const frame = page.frames().find(f => f.url().startsWith('data:image/svg+xml'))
  assert.ok(frame, 'the flamegraph frame is loaded')
  // inferno's init() ran: it sets its global `svg`.
  await frame.waitForFunction(() => typeof svg !== 'undefined' && svg !== null, null, { polling: 100, timeout: 10000 })
  const titles = await frame.$$eval('#frames title', ts => ts.map(t => t.textContent))
  assert.ok(titles.some(t => t.startsWith('cache_insert')), `flamegraph frames: ${titles.slice(0, 5)}`)
})

test('no console errors, nothing fetched from anywhere', async () => {
  assert.deepEqual(consoleErrors, [])
  const fetched = requests.filter(u => !u.startsWith('file:') && !u.startsWith('data:'))
  assert.deepEqual(fetched, [])
  const text = readFileSync(html, 'utf8')
  assert.doesNotMatch(text, /(src|href)\s*=\s*["']?\s*(https?:)?\/\//i)
})

test('a screenshot of the whole report', async () => {
  const png = join(tmp, 'report.png')
  await page.fill('#cmp-filter', '')
  // Let the flamegraph frame paint (an out-of-view frame may not have yet).
  await page.locator('#flamegraph iframe').scrollIntoViewIfNeeded()
  const frame = page.frames().find(f => f.url().startsWith('data:image/svg+xml'))
  await frame.evaluate(() => new Promise(resolve => requestAnimationFrame(() => requestAnimationFrame(resolve))))
  await page.evaluate(() => window.scrollTo(0, 0))
  await page.screenshot({ path: png, fullPage: true })
  const bytes = readFileSync(png)
  assert.ok(statSync(png).size > 1000)
  assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
  if (process.env.WASMLEAK_SCREENSHOT) copyFileSync(png, process.env.WASMLEAK_SCREENSHOT)
})
