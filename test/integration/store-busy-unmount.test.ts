import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {reconcile} from '../../src/core/repair/reconcile.js'
import {VolumeStore} from '../../src/core/volume/store.js'
import {assertRoot, rootOnly} from '../helpers/requirements.js'
import {TempRoot} from '../helpers/temp-root.js'
import {fingerprint, overlayCount} from './store-fixtures.js'

/** The last unmount of a normal volume while something still holds its view open (real overlays, root). */
describe('store: a busy last unmount', rootOnly(), () => {
  const tmp = new TempRoot('dot-test-busy-unmount-')
  const warnings: string[] = []
  let store: VolumeStore

  before(async () => {
    assertRoot()
    store = await VolumeStore.open({root: tmp.root, logger: {debug() {}, info() {}, warn: (m) => warnings.push(m), error() {}}})
  })
  after(() => tmp.cleanup())

  test('a normal volume succeeds, stays mounted without records, and the next mount reuses it (never two live overlays on one upper)', async () => {
    const base = tmp.base('b', {'b.txt': 'b'})
    const baseBefore = fingerprint(base)
    await store.create('held', {base})
    const mp = await store.mount('held', 'first')
    fs.writeFileSync(path.join(mp, 'kept.txt'), 'first run')
    const fd = fs.openSync(path.join(mp, 'kept.txt'), 'r') // an admin's shell or a stray process
    try {
      await store.unmount('held', 'first')
      assert.equal(overlayCount(mp), 1, 'left mounted, not detached')
      assert.deepEqual((await store.get('held')).mounts, {})
      assert.match(warnings.join('\n'), /volume "held" is busy.*left mounted with no users/)

      const again = await store.mount('held', 'second')
      assert.equal(overlayCount(again), 1, 'reused, not stacked')
      assert.equal(fs.readFileSync(path.join(again, 'kept.txt'), 'utf8'), 'first run')
      fs.writeFileSync(path.join(again, 'second.txt'), 'second run')
      // The old holder sees the same view: one overlay, one upper.
      assert.equal(fs.readFileSync(fd, 'utf8'), 'first run')
    } finally {
      fs.closeSync(fd)
    }
    await store.unmount('held', 'second')
    assert.equal(overlayCount(mp), 0, 'once free, the last unmount takes it down')
    assert.deepEqual(fs.readdirSync(store.layout.upper('held')).sort(), ['kept.txt', 'second.txt'])
    assert.deepEqual(fingerprint(base), baseBefore)
  })

  test('start-up repair leaves a busy overlay without records mounted (never detached), and unmounts it once free', async () => {
    const base = tmp.base('r', {'r.txt': 'r'})
    await store.create('held-at-start', {base})
    const mp = await store.mount('held-at-start', 'gone')
    const fd = fs.openSync(path.join(mp, 'r.txt'), 'r')
    try {
      // As after a crash between unrecording and unmounting: the overlay is up, no record says why.
      fs.rmSync(path.join(store.layout.activeMounts('held-at-start'), 'gone'))
      const findings = (await reconcile(store.context)).filter((f) => f.volume === 'held-at-start')
      assert.equal(findings.length, 1, JSON.stringify(findings))
      assert.equal(findings[0].repaired, false)
      assert.match(findings[0].action, /busy/)
      assert.equal(overlayCount(mp), 1, 'left mounted once, not detached and not stacked')
    } finally {
      fs.closeSync(fd)
    }
    const findings = (await reconcile(store.context)).filter((f) => f.volume === 'held-at-start')
    assert.equal(findings.length, 1)
    assert.equal(findings[0].repaired, true)
    assert.equal(overlayCount(mp), 0)
  })
})
