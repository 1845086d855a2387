import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {NAME_MAX_LENGTH} from '../../src/core/disk/names.js'
import {VolumeStore} from '../../src/core/volume/store.js'
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

  test('the longest name and mount ID fit every path built from them (trash, locks, record temp files)', async () => {
    const store = await VolumeStore.open({root: tmp.root})
    const name = 'n'.repeat(NAME_MAX_LENGTH)
    const id = 'i'.repeat(200)
    await store.create(name, {base: tmp.base('long', {f: 'f'}), volatile: 'true'})
    let mp = await store.mount(name, id)
    fs.writeFileSync(path.join(mp, 'w'), 'w')
    await store.mount(name, id)
    assert.deepEqual((await store.get(name)).mounts, {[id]: 2})
    await store.unmount(name, id)
    await store.unmount(name, id)
    mp = await store.mount(name, id) // the volatile wipe renames upper/ to a long trash name
    assert.deepEqual(fs.readdirSync(mp), ['f'])
    await assert.rejects(store.remove(name), {code: 'in-use'})
    await store.remove(name, {force: true})
    assert.equal(overlayCount(mp), 0)
    await store.close()
    assert.deepEqual(fs.readdirSync(tmp.root).filter((n) => n.includes(name)), [], 'no volume, tmp or trash left')
  })

  test('a root below a symlink, not yet existing when the store opens, still sees its mounts (no stacking)', async () => {
    const real = path.join(tmp.dir, 'real-disk')
    fs.mkdirSync(real)
    fs.symlinkSync(real, path.join(tmp.dir, 'via-link'))
    // Like `dot serve` started before its root exists, on a /var/lib that is a symlink to another disk.
    const store = await VolumeStore.open({root: path.join(tmp.dir, 'via-link', 'root')})
    await store.create('linked', {base: tmp.base('linked', {f: 'f'})})
    const mp = await store.mount('linked', 'a')
    const realMountpoint = path.join(real, 'root', 'linked', 'mountpoint')
    assert.equal(fs.realpathSync(mp), realMountpoint)
    assert.equal((await store.get('linked')).mounted, true, 'mountinfo shows real paths; the store must compare real paths')
    await store.mount('linked', 'b')
    assert.equal(overlayCount(realMountpoint), 1, 'the second user joins; no second overlay is stacked')
    assert.deepEqual((await store.get('linked')).mounts, {a: 1, b: 1})
    await store.unmount('linked', 'a')
    await store.unmount('linked', 'b')
    assert.equal(overlayCount(realMountpoint), 0)
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
