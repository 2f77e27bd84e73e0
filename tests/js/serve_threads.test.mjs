// `wasmleak serve --cross-origin-isolated` with a threaded Emscripten app in headless Chromium: fixtures/edge/
// emscripten/threads.c built for the web (em_threads_web.*: -pthread, a pool of two workers, one shared memory).
// The page's runtime starts every worker with wasmleak (js/src/threads.mjs `wrapWorkers`); each worker's hooks
// log to the page's shared log, and the page's one report has the fixture's truth: each worker loses 4 of its
// 5 48-byte blocks (8 lost, 384 B, allocated on the workers), the last of each stays reachable from `sinks`,
// the 100-byte blocks are freed where they were made and the 64-byte ones by main: no invalid free.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { servedApp } from './apps/serve.mjs'

const EDGE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'wasm', 'edge')
let served, url, browser

before(async () => {
  served = await servedApp(fill, ['--cross-origin-isolated'])
  ;({ url, browser } = served)
})

after(() => served?.close())

function fill (app) {
  for (const f of ['em_threads_web.js', 'em_threads_web.wasm', 'em_threads_web.worker.js']) copyFileSync(join(EDGE, f), join(app, f))
  writeFileSync(join(app, 'index.html'), '<!DOCTYPE html><html><head><title>threads</title></head><body><script src="em_threads_web.js"></script></body></html>')
  // Workers of both kinds, each sent a message the moment it is made: it must reach the worker's own script.
  writeFileSync(join(app, 'workers.html'), `<!DOCTYPE html><html><head><title>workers</title></head><body><script>
    const answer = (w, msg) => new Promise((resolve) => {
      w.onmessage = (e) => resolve(e.data)
      w.onerror = (e) => resolve({ error: e.message || 'the worker failed' })
      w.postMessage(msg)
    })
    // A worker from a blob: URL the app revokes at once (the script must still run).
    const blobUrl = URL.createObjectURL(new Blob(["onmessage = (e) => postMessage({ got: e.data, wasmleak: typeof wasmleak })"]))
    const fromBlob = new Worker(blobUrl)
    URL.revokeObjectURL(blobUrl)
    globalThis.results = Promise.all([
      answer(new Worker('classic.js'), 'to classic'),
      answer(new Worker('module.mjs', { type: 'module' }), 'to module'),
      answer(fromBlob, 'to blob'),
      answer(new Worker('sub/relative.js'), 'relative'),
      answer(new Worker('wasm.js'), 'instantiate'),
    ])
  </script></body></html>`)
  writeFileSync(join(app, 'classic.js'), "onmessage = (e) => postMessage({ got: e.data, wasmleak: typeof wasmleak })")
  // A classic worker in a folder whose script loads and fetches by relative URLs (as Emscripten's glue fetches its
  // .wasm): resolved against its own URL, not the blob: URL wasmleak starts it from.
  mkdirSync(join(app, 'sub'), { recursive: true })
  writeFileSync(join(app, 'sub', 'helper.js'), "self.helper = 'loaded'")
  writeFileSync(join(app, 'sub', 'data.txt'), 'fetched')
  writeFileSync(join(app, 'sub', 'relative.js'), `importScripts('helper.js')
onmessage = async () => {
  const r = new XMLHttpRequest(); r.open('GET', 'data.txt', false); r.send()
  postMessage({ helper: self.helper, fetched: await (await fetch('data.txt')).text(), xhr: r.responseText })
}`)
  // A worker that runs wasm of its own (not the page's threaded module): not tracked, so the page lists it.
  writeFileSync(join(app, 'wasm.js'), `onmessage = async () => {
  const { instance } = await WebAssembly.instantiate(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]))
  postMessage({ instantiated: typeof instance })
}`)
  writeFileSync(join(app, 'module.mjs'), "await new Promise((r) => setTimeout(r, 50))\nonmessage = (e) => postMessage({ got: e.data, wasmleak: typeof wasmleak, url: import.meta.url })")
}

test('a threaded app in the browser: every worker feeds the page\'s one heap, with the fixture\'s exact truth', async () => {
  const page = await browser.newPage()
  const errors = []
  page.on('pageerror', e => errors.push(String(e.stack ?? e)))
  const done = page.waitForEvent('console', { predicate: m => m.text().includes('threads: done'), timeout: 60_000 })
  await page.goto(url)
  await done
  assert.equal(await page.evaluate(() => globalThis.crossOriginIsolated), true)
  const reports = await page.evaluate(() => wasmleak.attach().report().map(r => ({
    module: r.module,
    summary: r.summary,
    groups: r.groups.map(g => ({ kind: g.kind, blocks: g.blocks, bytes: g.bytes, files: (g.stack ?? []).map(f => f.file ?? '').join(' ') }))
  })))
  assert.deepEqual(errors, [])
  assert.equal(reports.length, 1, JSON.stringify(reports))
  const [r] = reports
  const s = r.summary
  assert.deepEqual([s.leaked_blocks, s.leaked_bytes, s.invalid_frees], [8, 384, 0], JSON.stringify(r))
  const count = (kind, size) => r.groups.filter(g => g.kind === kind && g.bytes === size * g.blocks).reduce((n, g) => n + g.blocks, 0)
  // Lost — or, now and then, `cycle`: a block handed out again can hold a stale word equal to its own address
  // (the scan is conservative, and which chunk a thread gets depends on the threads' timing).
  assert.equal(count('lost', 48) + count('cycle', 48), 8, JSON.stringify(r.groups))
  assert.equal(count('reachable', 48), 2, JSON.stringify(r.groups))
  // Allocated on the workers: their stacks run through the worker's script.
  assert.ok(r.groups.some(g => g.kind !== 'reachable' && g.files.includes('em_threads_web.worker.js')), JSON.stringify(r.groups))
  await page.close()
})

test('the page\'s workers start with wasmleak, and the first message the app posts reaches their own script', async () => {
  const page = await browser.newPage()
  const errors = []
  page.on('pageerror', e => errors.push(String(e.stack ?? e)))
  await page.goto(`${url}workers.html`)
  const [classic, module, fromBlob, relative, wasm] = await page.evaluate(() => globalThis.results)
  assert.deepEqual(errors, [])
  assert.deepEqual(classic, { got: 'to classic', wasmleak: 'object' })
  // A module worker's script is imported after wasmleak loaded (asynchronously): the message waited for it.
  assert.deepEqual(module, { got: 'to module', wasmleak: 'object', url: `${url}module.mjs` })
  assert.deepEqual(fromBlob, { got: 'to blob', wasmleak: 'object' })
  assert.deepEqual(relative, { helper: 'loaded', fetched: 'fetched', xhr: 'fetched' })
  // wasmleak's own message from the worker never reached the app; the page lists the worker as not tracked (it
  // read as a clean page: the worker's wasm untracked and unmentioned).
  assert.deepEqual(wasm, { instantiated: 'object' })
  const listed = await page.evaluate(() => ({ workers: wasmleak.attach().workers, text: wasmleak.attach().text() }))
  assert.deepEqual(listed.workers, ['wasm.js'])
  assert.match(listed.text, /^NOT TRACKED: a Web Worker the page started \(wasm\.js\): wasm run in a worker is not tracked/m)
  await page.close()
})
