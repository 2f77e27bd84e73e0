// Loads the `.heapsnapshot` files the real wasmleak binary writes for the fixtures with Chrome DevTools'
// own heap snapshot loader (heap-snapshot-toolkit re-exports devtools-frontend's HeapSnapshotLoader and
// JSHeapSnapshot) and checks what DevTools would show.
//
//   cd tests/js && npm ci && node --test
// The binary: $WASMLEAK, default /var/tmp/wasmleak-target/release/wasmleak.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createReadStream, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse, diff } from 'heap-snapshot-toolkit'

const WASMLEAK = process.env.WASMLEAK || '/var/tmp/wasmleak-target/release/wasmleak'
const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'wasm')
const LEAKED = '(wasmleak: leaked)'
// DevTools' "no distance" marker (HeapSnapshot.#noDistance): not reachable from the root.
const NO_DISTANCE = -5

const tmp = mkdtempSync(join(tmpdir(), 'wasmleak-heapsnapshot-'))
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }))
let runs = 0

/** Run `check` (JSON report + saved snapshot), export the snapshot, load it with DevTools' parser. */
async function load (module, args) {
  const dir = join(tmp, `run${++runs}`)
  const check = spawnSync(WASMLEAK, ['check', join(FIXTURES, module), '--format', 'json', '--save', dir, ...args],
    { encoding: 'utf8', maxBuffer: 1 << 26 })
  assert.ok(check.status === 0 || check.status === 1, `check failed (${check.status}): ${check.stderr}`)
  const report = JSON.parse(check.stdout)
  const file = join(dir, 'out.heapsnapshot')
  const exp = spawnSync(WASMLEAK, ['export', join(dir, '1.wlsnap'), '--format', 'heapsnapshot', '-o', file],
    { encoding: 'utf8' })
  assert.equal(exp.status, 0, `export failed: ${exp.stderr}`)
  const snapshot = await parse(createReadStream(file, 'utf-8'))
  return { report, snapshot, raw: JSON.parse(readFileSync(file, 'utf8')) }
}

function allNodes (snapshot) {
  const out = []
  for (let i = 0; i < snapshot.nodeCount; i++) out.push(snapshot.createNode(i * snapshot.nodeFieldCount))
  return out
}
const blockNodes = (snapshot) => allNodes(snapshot).filter(n => n.type() === 'object')
const siteKey = (f) => `${f.function} (${f.file}:${f.line})`
const reportBlocks = (r) => r.summary.leaked_blocks + r.summary.reachable_blocks + r.summary.runtime_blocks
function retainersOf (node) {
  const out = []
  for (const it = node.retainers(); it.hasNext(); it.next()) out.push({ node: it.item().node(), name: String(it.item().name()) })
  return out
}
/** Ordinals on the dominator chain of `node`, up to the root. */
function dominatorChain (snapshot, node) {
  const chain = []
  let o = node.ordinal()
  while (o !== snapshot.rootNode().ordinal() && chain.length < snapshot.nodeCount) {
    o = snapshot.dominatorsTree[o]
    chain.push(o)
  }
  return chain
}
/** Per site of the report: [blocks, bytes] of the given kinds. */
function reportSites (report, kinds) {
  const sites = new Map()
  for (const g of report.groups) {
    if (!kinds.includes(g.kind) || !g.site) continue
    const k = siteKey(g.site)
    const [n, b] = sites.get(k) ?? [0, 0]
    sites.set(k, [n + g.blocks, b + g.bytes])
  }
  return sites
}
/** [count, self bytes] of the block nodes named after `site` (`Type from site` or `site`). */
function nodesAt (snapshot, site, filter = () => true) {
  const ns = blockNodes(snapshot).filter(n => (n.name() === site || n.name().endsWith(` from ${site}`)) && filter(n))
  return [ns.length, ns.reduce((s, n) => s + n.selfSize(), 0)]
}

test('rc_cycle 10: one node per block, cycle sizes as the report, all unreachable', async () => {
  const { report, snapshot, raw } = await load('rust_patterns.wasm', ['--', 'rc_cycle', '10'])
  const blocks = blockNodes(snapshot)
  assert.equal(blocks.length, reportBlocks(report))
  // root + one node per root (regions and values) + the leaked holder + the blocks
  const synthetic = allNodes(snapshot).filter(n => n.type() === 'synthetic')
  assert.equal(snapshot.nodeCount, blocks.length + synthetic.length)
  assert.equal(snapshot.nodeCount, raw.snapshot.node_count)
  assert.equal(snapshot.rootNode().nodeIndex, 0)
  assert.equal(snapshot.rootNode().id(), 1)

  const cycle = reportSites(report, ['cycle'])
  let [count, bytes] = [0, 0]
  for (const [site, [n, b]] of cycle) {
    assert.deepEqual(nodesAt(snapshot, site, n => n.distance() === NO_DISTANCE), [n, b], site)
    count += n
    bytes += b
  }
  assert.deepEqual([count, bytes], [30, 800])
  // Typed names where the stack shows the constructor: the class filter finds them by type.
  assert.equal(blocks.filter(n => n.name().startsWith('Rc<RefCell<rust_patterns::Node>> from ')).length, 20)

  // Unreachable: no distance, and held in the dominator tree by the leaked holder, not by any root.
  const leaked = allNodes(snapshot).find(n => n.name() === LEAKED)
  for (const n of blocks.filter(n => n.distance() === NO_DISTANCE)) {
    assert.ok(dominatorChain(snapshot, n).includes(leaked.ordinal()), `${n.name()} @${n.id()}`)
  }
  assert.equal(leaked.retainedSize(), report.summary.leaked_bytes)
  // A cycle member's retainers: the other member of its cycle and the leaked holder, no root.
  const member = blocks.find(n => n.distance() === NO_DISTANCE)
  const holders = retainersOf(member)
  assert.ok(holders.some(r => r.node.name() === LEAKED && r.name.startsWith('cycle ')))
  assert.ok(holders.some(r => r.node.type() === 'object'))
  // DevTools' Summary view (aggregates) still lists the unreachable blocks, with no distance.
  const aggregates = snapshot.aggregatesWithFilter({})
  const agg = Object.values(aggregates).find(a => a.name.startsWith('Rc<RefCell<rust_patterns::Node>> from '))
  assert.ok(agg, 'the unreachable class is in the Summary view')
  assert.equal(agg.distance, NO_DISTANCE)
})

test('cache 10: reachable blocks are retained by the static data root', async () => {
  const { report, snapshot } = await load('rust_patterns.wasm', ['--', 'cache', '10'])
  assert.equal(blockNodes(snapshot).length, reportBlocks(report))
  const sites = reportSites(report, ['reachable'])
  assert.ok(sites.size > 0)
  let total = 0
  for (const [site, [n, b]] of sites) {
    assert.deepEqual(nodesAt(snapshot, site, n => n.distance() > 0), [n, b], site)
    total += n
  }
  assert.equal(total, 11)
  // The report's root ("static rust_patterns::CACHE (+8), word at 0x..") is a word of the static data
  // region: the block it holds directly is retained by that region's root node, through an edge named by
  // the static and the word's address.
  const direct = report.groups.find(g => g.kind === 'reachable' && g.root && !g.root.includes('through'))
  assert.ok(direct.root.startsWith('static rust_patterns::CACHE'), direct.root)
  const word = direct.root.split(', word at ')[1]
  const [held] = blockNodes(snapshot).filter(n => n.name().endsWith(siteKey(direct.site)))
  assert.equal(held.distance(), 2, 'root → static root → block')
  const holders = retainersOf(held)
  assert.ok(holders.some(r => r.node.type() === 'synthetic' && r.node.name().startsWith('static data') &&
    r.name.includes('rust_patterns::CACHE') && r.name.endsWith(word)),
    `retainers ${holders.map(r => `${r.node.name()} ${r.name}`)} include the static data root, edge ${word}`)
  // The blocks held "through 1 other block" are at distance 3, retained by a block.
  const through = report.groups.find(g => g.kind === 'reachable' && g.root?.includes('through 1 other block'))
  for (const n of blockNodes(snapshot).filter(n => n.name().endsWith(siteKey(through.site)))) {
    assert.equal(n.distance(), 3)
    assert.ok(retainersOf(n).some(r => r.node.type() === 'object'))
  }
  const cacheNodes = blockNodes(snapshot).filter(n => n.distance() > 0)
  // Every cache block's dominator chain goes through a root node, not the leaked holder.
  const leaked = allNodes(snapshot).find(n => n.name() === LEAKED)
  for (const n of cacheNodes) assert.ok(!dominatorChain(snapshot, n).includes(leaked.ordinal()))
})

test('list_lost 10 (C): lost and indirect blocks are unreachable from the root', async () => {
  const { report, snapshot } = await load('c_patterns.wasm', ['--', 'list_lost', '10'])
  assert.equal(report.summary.lost_blocks, 10)
  assert.equal(report.summary.indirect_blocks, 20)
  const unreachable = blockNodes(snapshot).filter(n => n.distance() === NO_DISTANCE)
  assert.equal(unreachable.length, 30)
  const bytes = unreachable.reduce((s, n) => s + n.selfSize(), 0)
  assert.equal(bytes, report.summary.lost_bytes + report.summary.indirect_bytes)
  // wasi-libc's argv copy (runtime_blocks, not a leak in the report) hangs off "(wasmleak: runtime)", a root
  // child: reachable, dominated by that node; nothing else is reachable at exit.
  assert.ok(report.summary.runtime_blocks > 0)
  const runtimeNode = allNodes(snapshot).find(n => n.name() === '(wasmleak: runtime)')
  const reachable = blockNodes(snapshot).filter(n => n.distance() !== NO_DISTANCE)
  assert.equal(reachable.length, report.summary.runtime_blocks)
  assert.equal(reachable.reduce((s, n) => s + n.selfSize(), 0), report.summary.runtime_bytes)
  for (const n of reachable) assert.ok(dominatorChain(snapshot, n).includes(runtimeNode.ordinal()))
  for (const [site, [n, b]] of reportSites(report, ['lost', 'indirect'])) {
    assert.deepEqual(nodesAt(snapshot, site, n => n.distance() === NO_DISTANCE), [n, b], site)
  }
  // The lost heads are held by the leaked holder (edge "lost"), the indirect ones by their owners.
  const leaked = allNodes(snapshot).find(n => n.name() === LEAKED)
  const lostSites = [...reportSites(report, ['lost']).keys()]
  const heads = unreachable.filter(n => retainersOf(n).some(r => r.node.ordinal() === leaked.ordinal() && r.name === 'lost'))
  assert.equal(heads.filter(n => lostSites.some(s => n.name().endsWith(s))).length, 10)
  for (const n of unreachable) assert.ok(dominatorChain(snapshot, n).includes(leaked.ordinal()))
})

test('create_processor x5: host-held blocks hang off the host root nodes', async () => {
  const { report, snapshot } = await load('rust_lib.wasm', ['--invoke', 'create_processor', '--repeat', '5'])
  assert.equal(report.summary.host_blocks, 10)
  const hostRoots = allNodes(snapshot).filter(n => n.type() === 'synthetic' && n.name().startsWith('returned by create_processor'))
  assert.equal(hostRoots.length, 5)
  for (const [site, [n, b]] of reportSites(report, ['host'])) {
    assert.deepEqual(nodesAt(snapshot, site, n => n.distance() > 0), [n, b], site)
  }
  const boxes = blockNodes(snapshot).filter(n => n.name().startsWith('Box<rust_lib::Processor> from '))
  assert.equal(boxes.length, 5)
  for (const box of boxes) {
    assert.equal(box.distance(), 2)
    assert.ok(retainersOf(box).some(r => hostRoots.some(h => h.ordinal() === r.node.ordinal())))
  }
})

test('ids are stable: two runs of the same program give the same ids, DevTools Comparison finds no change', async () => {
  const a = await load('rust_patterns.wasm', ['--', 'rc_cycle', '10'])
  const b = await load('rust_patterns.wasm', ['--', 'rc_cycle', '10'])
  const ids = (s) => allNodes(s).map(n => `${n.id()} ${n.name()} ${n.selfSize()}`).sort()
  assert.deepEqual(ids(b.snapshot), ids(a.snapshot))
  assert.ok(blockNodes(a.snapshot).every(n => n.id() % 2 === 1), 'blocks have odd (heap object) ids')
  const d = await diff(a.snapshot, b.snapshot)
  for (const [cls, c] of Object.entries(d)) {
    assert.equal(c.addedCount, 0, cls)
    assert.equal(c.removedCount, 0, cls)
  }
})
