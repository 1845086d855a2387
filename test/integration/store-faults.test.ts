import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {DotError} from '../../src/core/errors.js'
import {VolumeStore} from '../../src/core/volume/store.js'
import {assertRoot, rootOnly} from '../helpers/requirements.js'
import {TempRoot} from '../helpers/temp-root.js'
import {overlayCount, recordFiles} from './store-fixtures.js'

/** Faults injected with `chattr +i` (immutable: even root cannot add or remove entries). */
describe('store: faults while recording mounts', rootOnly(), () => {
  let tmp: TempRoot
  let store: VolumeStore
  const immutable: string[] = []
  const freeze = (dir: string) => {
    execFileSync('chattr', ['+i', dir])
    immutable.push(dir)
  }
  const thaw = () => {
    for (const dir of immutable.splice(0)) execFileSync('chattr', ['-i', dir])
  }
  before(async () => {
    assertRoot()
    tmp = new TempRoot('dot-test-faults-')
    store = await VolumeStore.open({root: tmp.root})
  })
  after(async () => {
    thaw()
    await store?.close()
    tmp?.cleanup()
  })

  test('a first mount whose record cannot be written fails and leaves nothing mounted', async () => {
    await store.create('norecord', {base: tmp.base('norecord', {f: 'f'})})
    freeze(store.layout.activeMounts('norecord'))
    try {
      await assert.rejects(store.mount('norecord', 'x'), (err: unknown) => {
        assert.ok(err instanceof DotError)
        assert.equal(err.code, 'internal')
        assert.match(err.message, /^recording mount x of volume "norecord": EPERM/)
        return true
      })
      assert.equal(overlayCount(store.layout.mountpoint('norecord')), 0, 'records mean use: no record, no overlay')
    } finally {
      thaw()
    }
    const mp = await store.mount('norecord', 'x')
    assert.equal(overlayCount(mp), 1)
    await store.unmount('norecord', 'x')
  })

  test('a joining mount whose record cannot be written fails with context and leaves the others mounted', async () => {
    await store.create('nojoin', {base: tmp.base('nojoin', {f: 'f'})})
    const mp = await store.mount('nojoin', 'first')
    freeze(store.layout.activeMounts('nojoin'))
    try {
      await assert.rejects(store.mount('nojoin', 'second'), (err: unknown) => {
        assert.ok(err instanceof DotError, `a DotError, not a raw ${String(err)}`)
        assert.match(err.message, /^recording mount second of volume "nojoin": EPERM/)
        return true
      })
      assert.equal(overlayCount(mp), 1)
    } finally {
      thaw()
    }
    assert.deepEqual(recordFiles(store.layout.volume('nojoin')), {first: {UsageCount: 1}})
    await store.unmount('nojoin', 'first')
    assert.equal(overlayCount(mp), 0)
  })

  test('an unmount whose record cannot be removed fails clearly (EPERM, not ENOTDIR) and keeps the overlay', async () => {
    await store.create('stuck', {base: tmp.base('stuck', {f: 'f'})})
    const mp = await store.mount('stuck', 'x')
    freeze(store.layout.activeMounts('stuck'))
    try {
      await assert.rejects(store.unmount('stuck', 'x'), (err: unknown) => {
        assert.ok(err instanceof DotError, `a DotError, not a raw ${String(err)}`)
        assert.equal(err.code, 'internal')
        assert.match(err.message, /^unmounting volume "stuck": .*EPERM: operation not permitted, unlink/)
        return true
      })
      // The record is still there, so the overlay must be too: never a record without its overlay.
      assert.equal(overlayCount(mp), 1)
      assert.deepEqual((await store.get('stuck')).mounts, {x: 1})
      assert.equal(fs.readFileSync(path.join(mp, 'f'), 'utf8'), 'f')
    } finally {
      thaw()
    }
    await store.unmount('stuck', 'x')
    assert.equal(overlayCount(mp), 0)
    assert.deepEqual(recordFiles(store.layout.volume('stuck')), {})
  })
})
