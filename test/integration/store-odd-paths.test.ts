import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {VolumeStore} from '../../src/core/store.js'
import {assertRoot, rootOnly} from '../helpers/requirements.js'
import {TempRoot} from '../helpers/temp-root.js'
import {fingerprint, overlayCount} from './store-fixtures.js'

/** overlayfs splits its options at "," and ":" and unescapes "\": such paths must be escaped, not refused. */
describe('store: paths with characters overlayfs and mountinfo treat specially', rootOnly(), () => {
  let tmp: TempRoot
  before(() => {
    assertRoot()
    tmp = new TempRoot('dot-test-odd-')
  })
  after(() => tmp?.cleanup())

  test('a base path containing ",", ":", "\\" and a space works', async () => {
    const store = await VolumeStore.open({root: tmp.root})
    const base = tmp.base('we,ird:base\\with space', {'inside.txt': 'odd base\n'})
    const baseBefore = fingerprint(base)
    const volume = await store.create('oddbase', {base})
    assert.equal(volume.base, base, 'the path is kept as given')
    const mp = await store.mount('oddbase', 'x')
    assert.equal(overlayCount(mp), 1)
    assert.equal(fs.readFileSync(path.join(mp, 'inside.txt'), 'utf8'), 'odd base\n')
    fs.writeFileSync(path.join(mp, 'new.txt'), 'new')
    assert.equal(fs.readFileSync(path.join(store.layout.upper('oddbase'), 'new.txt'), 'utf8'), 'new')
    await store.unmount('oddbase', 'x')
    assert.equal(overlayCount(mp), 0)
    assert.deepEqual(fingerprint(base), baseBefore)
    await store.close()
  })

  test('a store root containing ",", ":", a space and a tab works (upper, workdir and mountinfo escapes)', async () => {
    const root = path.join(tmp.dir, 'odd root,with:colon\tand tab')
    const store = await VolumeStore.open({root})
    const base = tmp.base('plain', {'p.txt': 'plain\n'})
    await store.create('v', {base})
    const mp = await store.mount('v', 'x')
    assert.equal(mp, path.join(root, 'v', 'mountpoint'))
    assert.equal(overlayCount(mp), 1, 'mountinfo shows the escaped mountpoint, and we decode it')
    assert.equal((await store.get('v')).mounted, true)
    assert.deepEqual((await store.listBrief()).map((v) => v.mountpoint), [mp])
    assert.equal(fs.readFileSync(path.join(mp, 'p.txt'), 'utf8'), 'plain\n')
    fs.writeFileSync(path.join(mp, 'w'), 'w')
    // A second user joins rather than stacking: the mountpoint comparison survives the escapes.
    await store.mount('v', 'y')
    assert.equal(overlayCount(mp), 1)
    await store.unmount('v', 'x')
    await store.unmount('v', 'y')
    assert.equal(overlayCount(mp), 0)
    assert.equal(fs.readFileSync(path.join(root, 'v', 'upper', 'w'), 'utf8'), 'w')
    await store.close()
  })
})
