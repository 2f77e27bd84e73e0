// A real wasm-bindgen package in the browser under `wasmleak serve`: brotli-wasm 3.0.1's web build (stripped,
// loaded with fetch + WebAssembly.instantiateStreaming by its own glue) in headless Chromium. The page's code
// drives the injected runtime itself (`wasmleak.attach()` returns the attached object): snapshot, K leaking
// clicks and K correct ones, snapshot, diff, report.
//
// Ground truth (tests/js/realpkg.test.mjs, measured in Node): one DecompressStream is 2 blocks, 6792 B (the
// wasm-bindgen box of 2472 B that decompressstream_new returns, and a 4320 B block it points to); .free()
// frees both.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { startServe } from './apps/serve.mjs'
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

const HERE = dirname(fileURLToPath(import.meta.url))
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium'
const K = 4
const PER_OBJECT = { blocks: 2, bytes: 2472 + 4320 }

const tmp = mkdtempSync(join(tmpdir(), 'wasmleak-serve-brotli-'))
let server, url, browser

before(async () => {
  const app = join(tmp, 'app')
  mkdirSync(join(app, 'pkg'), { recursive: true })
  for (const f of readdirSync(join(HERE, 'web-brotli'))) copyFileSync(join(HERE, 'web-brotli', f), join(app, f))
  const pkg = join(HERE, 'node_modules', 'brotli-wasm', 'pkg.web')
  for (const f of ['brotli_wasm.js', 'brotli_wasm_bg.wasm']) copyFileSync(join(pkg, f), join(app, 'pkg', f))
  ;({ server, url } = await startServe(app))
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] })
})

after(async () => {
  await browser?.close()
  server?.kill()
  rmSync(tmp, { recursive: true, force: true })
})

test(`brotli-wasm in Chromium: ${K} DecompressStreams never freed are host-held at decompressstream_new, ${K} freed ones are gone`, async () => {
  const page = await browser.newPage()
  const errors = []
  page.on('pageerror', e => errors.push(String(e)))
  await page.goto(url, { waitUntil: 'load' })
  await page.waitForSelector('body[data-ready=true]')
  const before = await page.evaluate(async () => {
    const leak = window.wasmleak.attach() // the injected runtime's object
    await leak.ready
    window.__snaps = [await leak.snapshot()]
    return { skipped: leak.skipped, modules: leak.instances.map(i => i.name) }
  })
  assert.deepEqual(before.skipped, [])
  assert.deepEqual(before.modules, ['brotli_wasm_bg.wasm'])
  for (let i = 0; i < K; i++) {
    await page.click('#leak')
    await page.click('#ok')
  }
  assert.equal(await page.textContent('#out'), `leaked ${K}, freed ${K}`)
  const { diff, report } = await page.evaluate(async () => {
    const leak = window.wasmleak.attach()
    window.__snaps.push(await leak.snapshot())
    return { diff: leak.diff(window.__snaps[0], window.__snaps[1]).json(), report: leak.report() }
  })
  // The comparison: exactly K objects more, all from decompressstream_new.
  const [d] = diff
  assert.equal(d.module, 'brotli_wasm_bg.wasm')
  const total = d.rows.reduce((a, r) => ({ bytes: a.bytes + r.delta_bytes, blocks: a.blocks + r.delta_blocks }), { bytes: 0, blocks: 0 })
  assert.deepEqual(total, { bytes: K * PER_OBJECT.bytes, blocks: K * PER_OBJECT.blocks }, JSON.stringify(d.rows))
  assert.ok(d.rows.every(r => /^decompressstream_new/.test(r.site)), JSON.stringify(d.rows.map(r => r.site)))
  // The report: host-held, rooted at the export, the page's own line in the stack, the .free() fix.
  const [r] = report
  assert.equal(r.summary.allocations, 2 * K * PER_OBJECT.blocks)
  assert.equal(r.summary.frees, K * PER_OBJECT.blocks)
  assert.equal(r.summary.host_bytes, K * PER_OBJECT.bytes)
  assert.equal(r.summary.lost_blocks, 0)
  for (const g of r.groups.filter(g => g.kind === 'host')) {
    assert.match(g.root, /^returned by decompressstream_new \(call \d+\)/)
    assert.match(g.hint, /\.free\(\)/)
    assert.ok(g.stack.some(f => f.function === 'leak' && /\/app\.js$/.test(f.file ?? '')), JSON.stringify(g.stack))
  }
  assert.deepEqual(errors, [])
})
