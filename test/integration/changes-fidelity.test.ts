import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {execa} from 'execa'

import {VolumeStore} from '../../src/core/volume/store.js'
import {assertRoot, rootOnly} from '../helpers/requirements.js'
import {parseJson, runDot} from '../helpers/run-dot.js'
import {TempRoot} from '../helpers/temp-root.js'
import {copyTree, copyView, fixtureBase, writeFixture} from './changes-fixture.js'
import {compareTrees, readTree, type Tree} from './recover-tree.js'

const MANY = 10_000
const GIB = 1024 ** 3

/**
 * The fidelity fixture, written through a mounted volume: export then import into a second
 * volume on a copy of the base gives the same merged view and the same `dot diff`; commit makes the
 * base equal to the merged view and empties the changes; its --backup, applied, gives the old base back.
 */
describe('export, import and commit keep everything a volume holds', rootOnly(), () => {
  const tmp = new TempRoot('dot-test-changes-')
  let store: VolumeStore
  let base: string
  let reference: Tree
  let baseBefore: Tree
  const file = (name: string) => path.join(tmp.dir, name)
  const dot = (...args: string[]) => runDot([...args, '--root', tmp.root], {timeoutMs: 300_000})
  const lap = (() => {
    const t0 = Date.now()
    return (what: string) => console.log(`${what}: ${Date.now() - t0} ms`)
  })()

  before(async () => {
    assertRoot()
    base = fixtureBase(tmp, 'data')
    store = await VolumeStore.open({root: tmp.root})
    await store.create('v', {base})
    await writeFixture(store, 'v', base, {sparseBytes: GIB, many: MANY})
    lap('fixture written')
    await copyView(store, 'v', file('reference'))
    reference = await readTree(file('reference'))
    baseBefore = await readTree(base)
    await copyTree(base, file('base-copy'))
    lap('reference copied')
  })
  after(() => tmp.cleanup())

  test('the fixture holds a redirect, an opaque directory and whiteouts in its upper layer', async () => {
    const upper = store.layout.upper('v')
    const attr = (p: string, name: string) => execa('getfattr', ['--absolute-names', '-n', name, '--only-values', path.join(upper, p)], {reject: false})
    assert.equal((await attr('renamed-dir', 'trusted.overlay.redirect')).exitCode, 0, 'renamed-dir is a redirect')
    assert.equal((await attr('redo', 'trusted.overlay.opaque')).stdout, 'y')
    assert.ok(fs.lstatSync(path.join(upper, 'delete.txt')).isCharacterDevice())
  })

  test('export, then import into a volume on a copy of the base: same merged view, same dot diff', async () => {
    const exported = await dot('export', 'v', '--to', file('layer.tar'), '--json')
    assert.equal(exported.code, 0, exported.stderr)
    const report = parseJson(exported) as {entries: number; whiteouts: number; opaques: number; warnings: string[]}
    assert.deepEqual(report.warnings, [])
    assert.ok(report.whiteouts >= 4 && report.opaques >= 1, JSON.stringify(report))
    assert.ok(fs.statSync(file('layer.tar')).size < 64 * 1024 * 1024, 'the sparse file stays sparse in the layer')
    lap('exported')
    const members = (await execa('tar', ['-tf', file('layer.tar')])).stdout.split('\n')
    assert.ok(members.includes('./.wh.delete.txt') && members.includes('./redo/.wh..wh..opq') && members.includes('./.wh.moved-dir'), 'OCI markers')
    assert.ok(members.includes('./renamed-dir/inner/kept'), 'a renamed directory carries what it took from the base')

    assert.equal((await dot('create', 'w', '--base', file('base-copy'))).code, 0)
    const imported = await dot('import', 'w', '--from', file('layer.tar'), '--allow-devices', '--allow-links-out', '--json')
    assert.equal(imported.code, 0, imported.stderr)
    lap('imported')
    await copyView(store, 'w', file('imported-view'))
    assert.deepEqual(compareTrees(reference, await readTree(file('imported-view')), {ignoreRootMtime: true}), [])
    const sparse = fs.statSync(path.join(store.layout.upper('w'), 'sparse.img'))
    assert.equal(sparse.size, GIB)
    assert.ok(sparse.blocks * 512 < 1024 * 1024, `the imported sparse file stayed sparse (${sparse.blocks} blocks)`)
    const diffV = await dot('diff', 'v')
    const diffW = await dot('diff', 'w')
    assert.equal(diffV.code, 0)
    assert.equal(diffW.stdout, diffV.stdout)
    lap('compared')
  })

  test('commit --dry-run prints the dot diff and changes nothing', async () => {
    const dry = await dot('commit', 'v', '--dry-run')
    assert.equal(dry.code, 0, dry.stderr)
    assert.equal(dry.stdout, (await dot('diff', 'v')).stdout)
    assert.deepEqual(compareTrees(baseBefore, await readTree(base)), [])
  })

  test('commit writes the merged view into the base, empties the changes; its backup gives the old base back', async () => {
    const committed = await dot('commit', 'v', '--yes', '--backup', file('backup.tar'), '--json')
    assert.equal(committed.code, 0, committed.stdout)
    const report = parseJson(committed) as {committed: boolean; changes: unknown[]; backup: string}
    assert.equal(report.committed, true)
    assert.ok(report.changes.length > MANY)
    lap('committed')
    assert.deepEqual(compareTrees(reference, await readTree(base), {ignoreRootMtime: true}), [])
    const sparse = fs.statSync(path.join(base, 'sparse.img'))
    assert.ok(sparse.blocks * 512 < 1024 * 1024, `the committed sparse file stayed sparse (${sparse.blocks} blocks)`)
    assert.deepEqual(fs.readdirSync(store.layout.upper('v')), [], 'no changes left')
    assert.equal((await dot('diff', 'v')).stdout, '')
    await copyView(store, 'v', file('after-commit'))
    assert.deepEqual(compareTrees(reference, await readTree(file('after-commit')), {ignoreRootMtime: true}), [])

    // Undoing: a volume seeded with the backup layer, committed.
    const undo = await dot('create', 'undo', '--base', base, '--from', file('backup.tar'), '--allow-devices', '--allow-links-out')
    assert.equal(undo.code, 0, undo.stderr)
    const back = await dot('commit', 'undo', '--yes')
    assert.equal(back.code, 0, back.stderr)
    assert.deepEqual(compareTrees(baseBefore, await readTree(base), {ignoreRootMtime: true}), [])
    lap('undone')
  })
})
