// A module over 8 MB in the browser: Chromium refuses `new WebAssembly.Instance` of such a module on the main
// thread, so wasmleak's `WebAssembly.instantiate` must stay asynchronous all the way (it did not: every app with a
// large module — onnxruntime-web's 20 MB builds — failed to start under `wasmleak serve`). The module is made here:
// a bump allocator exported as malloc/free and a 9 MB data segment; the page keeps 5 blocks of 100 B.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { servedApp } from './apps/serve.mjs'

let served, url, browser

const leb = (n) => { const out = []; do { let b = n & 0x7f; n >>>= 7; if (n) b |= 0x80; out.push(b) } while (n); return out }
const sleb = (n) => { const out = []; for (;;) { const b = n & 0x7f; n >>= 7; if ((n === 0 && !(b & 0x40)) || (n === -1 && (b & 0x40))) { out.push(b); return out } out.push(b | 0x80) } }
const section = (id, body) => [id, ...leb(body.length), ...body]
const vec = (items) => [...leb(items.length), ...items.flat()]
const name = (s) => [...leb(s.length), ...Buffer.from(s)]

/** (memory 170 pages) a bump malloc from 10 MiB, a free that does nothing, 9 MB of data at 1 MiB. */
function largeModule () {
  const DATA = 9 << 20
  const types = section(1, vec([[0x60, 1, 0x7f, 1, 0x7f], [0x60, 1, 0x7f, 0]]))
  const funcs = section(3, vec([[0], [1]]))
  const memory = section(5, vec([[0, ...leb(170)]]))
  const globals = section(6, vec([[0x7f, 1, 0x41, ...sleb(10 << 20), 0x0b]]))
  const exports = section(7, vec([[...name('memory'), 2, 0], [...name('malloc'), 0, 0], [...name('free'), 0, 1]]))
  const malloc = [0, 0x23, 0, 0x23, 0, 0x20, 0, 0x6a, 0x41, 15, 0x6a, 0x41, ...sleb(-16), 0x71, 0x24, 0, 0x0b]
  const free = [0, 0x0b]
  const code = section(10, vec([[...leb(malloc.length), ...malloc], [...leb(free.length), ...free]]))
  const head = [0, 0x41, ...sleb(1 << 20), 0x0b, ...leb(DATA)]
  const dataHead = [0x0b, ...leb(1 + head.length + DATA), 1, ...head]
  const bytes = new Uint8Array(8 + types.length + funcs.length + memory.length + globals.length + exports.length + code.length + dataHead.length + DATA)
  bytes.set([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...types, ...funcs, ...memory, ...globals, ...exports, ...code, ...dataHead])
  bytes.fill(0x5a, bytes.length - DATA)
  return bytes
}

before(async () => {
  served = await servedApp(fill)
  ;({ url, browser } = served)
})

after(() => served?.close())

function fill (app) {
  writeFileSync(join(app, 'large.wasm'), largeModule())
  writeFileSync(join(app, 'index.html'), `<!DOCTYPE html><html><head><title>large</title></head><body><script type="module">
    const { instance } = await WebAssembly.instantiateStreaming(fetch('large.wasm'))
    globalThis.kept = [1, 2, 3, 4, 5].map(() => instance.exports.malloc(100))
    const again = await WebAssembly.instantiate(await (await fetch('large.wasm')).arrayBuffer())
    globalThis.kept.push(again.instance.exports.malloc(100))
    console.log('large: done')
  </script></body></html>`)
}

test('a module over 8 MB starts in the page under wasmleak, and its blocks are tracked', async () => {
  const page = await browser.newPage()
  const errors = []
  page.on('pageerror', e => errors.push(String(e.stack ?? e)))
  page.on('console', m => { if (m.type() === 'error') errors.push(m.text()) })
  const done = page.waitForEvent('console', { predicate: m => m.text().includes('large: done'), timeout: 120_000 })
  await page.goto(url)
  await done
  assert.deepEqual(errors, [])
  const reports = await page.evaluate(() => wasmleak.attach().report().map(r => r.summary))
  // Both instances tracked; the numbers malloc returned are held by JS.
  assert.deepEqual(reports.map(s => [s.allocations, s.host_blocks, s.host_bytes]), [[5, 5, 500], [1, 1, 100]])
  await page.close()
})
