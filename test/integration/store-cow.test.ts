import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import {describe, test} from 'node:test'

import {VolumeStore} from '../../src/core/volume/store.js'
import {rootOnly} from '../helpers/requirements.js'
import {TempRoot} from '../helpers/temp-root.js'
import {fingerprint, isWhiteout, overlayCount, recordFiles, useStore} from './store-fixtures.js'

describe('store: copy-on-write over a real overlay', rootOnly(), () => {
  let tmp: TempRoot
  let store: VolumeStore
  useStore('dot-test-cow-', (t, s) => {
    tmp = t
    store = s
  })

  test('writes land in upper/, the base stays byte for byte the same, a deleted file becomes a whiteout', async () => {
    const base = tmp.base('cow', {'keep.txt': 'keep\n', 'edit.txt': 'original\n', 'gone.txt': 'delete me\n', 'dir/nested.txt': 'nested\n', 'dir/gone-too.txt': 'x'})
    fs.symlinkSync('keep.txt', path.join(base, 'link'))
    const baseBefore = fingerprint(base)

    await store.create('cow', {base})
    const mountpoint = await store.mount('cow', 'c1')
    const upper = store.layout.upper('cow')
    assert.equal(mountpoint, store.layout.mountpoint('cow'))
    assert.equal(overlayCount(mountpoint), 1)

    // The view shows the base.
    assert.equal(fs.readFileSync(path.join(mountpoint, 'keep.txt'), 'utf8'), 'keep\n')
    assert.equal(fs.readFileSync(path.join(mountpoint, 'dir/nested.txt'), 'utf8'), 'nested\n')
    assert.equal(fs.readlinkSync(path.join(mountpoint, 'link')), 'keep.txt')

    // Write, modify, append, delete, rename, mkdir through the view.
    fs.writeFileSync(path.join(mountpoint, 'new.txt'), 'new\n')
    fs.writeFileSync(path.join(mountpoint, 'edit.txt'), 'changed\n')
    fs.appendFileSync(path.join(mountpoint, 'dir/nested.txt'), 'more\n')
    fs.rmSync(path.join(mountpoint, 'gone.txt'))
    fs.rmSync(path.join(mountpoint, 'dir/gone-too.txt'))
    fs.mkdirSync(path.join(mountpoint, 'newdir'))
    fs.writeFileSync(path.join(mountpoint, 'newdir/f'), 'f')
    fs.renameSync(path.join(mountpoint, 'keep.txt'), path.join(mountpoint, 'renamed.txt'))
    fs.chmodSync(path.join(mountpoint, 'dir'), 0o700)

    // The view shows the changes.
    assert.equal(fs.readFileSync(path.join(mountpoint, 'edit.txt'), 'utf8'), 'changed\n')
    assert.equal(fs.readFileSync(path.join(mountpoint, 'dir/nested.txt'), 'utf8'), 'nested\nmore\n')
    assert.equal(fs.existsSync(path.join(mountpoint, 'gone.txt')), false)
    assert.equal(fs.existsSync(path.join(mountpoint, 'keep.txt')), false)
    assert.deepEqual(fs.readdirSync(mountpoint).sort(), ['dir', 'edit.txt', 'link', 'new.txt', 'newdir', 'renamed.txt'])

    // The changes are in upper/.
    assert.equal(fs.readFileSync(path.join(upper, 'new.txt'), 'utf8'), 'new\n')
    assert.equal(fs.readFileSync(path.join(upper, 'edit.txt'), 'utf8'), 'changed\n')
    assert.equal(fs.readFileSync(path.join(upper, 'dir/nested.txt'), 'utf8'), 'nested\nmore\n')
    assert.equal(fs.readFileSync(path.join(upper, 'newdir/f'), 'utf8'), 'f')
    assert.ok(isWhiteout(path.join(upper, 'gone.txt')), 'gone.txt is a 0:0 character device in upper/')
    assert.ok(isWhiteout(path.join(upper, 'dir/gone-too.txt')))
    assert.ok(isWhiteout(path.join(upper, 'keep.txt')), 'a renamed base file leaves a whiteout')

    // The base did not change at all.
    assert.deepEqual(fingerprint(base), baseBefore)

    await store.unmount('cow', 'c1')
    assert.equal(overlayCount(mountpoint), 0)
    assert.deepEqual(fingerprint(base), baseBefore)
    // A normal volume keeps its changes after the last unmount; mountpoint/ and workdir/ stay, empty,
    // for the next mount, which reuses them and sees the same changes.
    assert.equal(fs.readFileSync(path.join(upper, 'new.txt'), 'utf8'), 'new\n')
    assert.deepEqual(fs.readdirSync(mountpoint), [])
    assert.ok(fs.statSync(store.layout.workdir('cow')).isDirectory())
    assert.equal(await store.mount('cow', 'c2'), mountpoint)
    assert.equal(overlayCount(mountpoint), 1)
    assert.equal(fs.readFileSync(path.join(mountpoint, 'new.txt'), 'utf8'), 'new\n')
    assert.equal(fs.existsSync(path.join(mountpoint, 'gone.txt')), false)
    fs.writeFileSync(path.join(mountpoint, 'second.txt'), 'second\n')
    await store.unmount('cow', 'c2')
    assert.equal(overlayCount(mountpoint), 0)
    assert.equal(fs.readFileSync(path.join(upper, 'second.txt'), 'utf8'), 'second\n')
    assert.deepEqual(fingerprint(base), baseBefore)
  })

  test('two IDs share one overlay; it goes away with the last of them', async () => {
    const base = tmp.base('shared', {'f.txt': 'base'})
    await store.create('shared', {base})
    const mp1 = await store.mount('shared', 'a')
    const mp2 = await store.mount('shared', 'b')
    assert.equal(mp1, mp2)
    assert.equal(overlayCount(mp1), 1, 'exactly one overlay line for the mountpoint')
    assert.deepEqual(recordFiles(store.layout.volume('shared')), {a: {UsageCount: 1}, b: {UsageCount: 1}})

    // Both see the same view: a write by one is visible to the other at once.
    fs.writeFileSync(path.join(mp1, 'from-a'), 'a')
    assert.equal(fs.readFileSync(path.join(mp2, 'from-a'), 'utf8'), 'a')

    const volume = await store.get('shared')
    assert.equal(volume.mounted, true)
    assert.equal(volume.mountpoint, mp1)
    assert.deepEqual(volume.mounts, {a: 1, b: 1})

    await store.unmount('shared', 'a')
    assert.equal(overlayCount(mp1), 1, 'still used by b')
    assert.equal(fs.readFileSync(path.join(mp1, 'from-a'), 'utf8'), 'a')
    await store.unmount('shared', 'b')
    assert.equal(overlayCount(mp1), 0)
    const idle = await store.get('shared')
    assert.equal(idle.mounted, false)
    assert.equal(idle.mountpoint, undefined)
    assert.deepEqual(idle.mounts, {})
  })

  test('a repeated ID needs as many unmounts as mounts', async () => {
    const base = tmp.base('repeat', {'f.txt': 'base'})
    await store.create('repeat', {base})
    const mp = await store.mount('repeat', 'same')
    await store.mount('repeat', 'same')
    await store.mount('repeat', 'same')
    assert.equal(overlayCount(mp), 1)
    assert.deepEqual(recordFiles(store.layout.volume('repeat')), {same: {UsageCount: 3}})

    await store.unmount('repeat', 'same')
    assert.equal(overlayCount(mp), 1)
    assert.deepEqual((await store.get('repeat')).mounts, {same: 2})
    await store.unmount('repeat', 'same')
    assert.equal(overlayCount(mp), 1)
    await store.unmount('repeat', 'same')
    assert.equal(overlayCount(mp), 0)
    assert.deepEqual(recordFiles(store.layout.volume('repeat')), {})
  })

  test('unmounting an ID that is not mounted succeeds and leaves the others alone', async () => {
    const base = tmp.base('unknown-id')
    await store.create('unknown-id', {base})
    await store.unmount('unknown-id', 'never-mounted')
    const mp = await store.mount('unknown-id', 'real')
    await store.unmount('unknown-id', 'never-mounted')
    assert.equal(overlayCount(mp), 1)
    assert.deepEqual((await store.get('unknown-id')).mounts, {real: 1})
    await store.unmount('unknown-id', 'real')
    await store.unmount('unknown-id', 'real')
    assert.equal(overlayCount(mp), 0)
  })

  test('mount and unmount of an unknown volume say not found', async () => {
    await assert.rejects(store.mount('no-such', 'x'), {code: 'not-found', message: 'no such volume: no-such'})
    await assert.rejects(store.unmount('no-such', 'x'), {code: 'not-found'})
    assert.equal(fs.existsSync(store.layout.volume('no-such')), false, 'nothing was created for it')
  })
})
