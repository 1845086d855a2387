import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import {describe, test} from 'node:test'

import {VolumeStore} from '../../src/core/volume/store.js'
import {rootOnly} from '../helpers/requirements.js'
import {TempRoot} from '../helpers/temp-root.js'
import {fingerprint, overlayCount, useStore} from './store-fixtures.js'

describe('store: remove', rootOnly(), () => {
  let tmp: TempRoot
  let store: VolumeStore
  useStore('dot-test-remove-', (t, s) => {
    tmp = t
    store = s
  })

  const leftovers = () => fs.readdirSync(tmp.root)

  test('refuses while in use (in-use error), changes nothing, and works after the last unmount', async () => {
    const base = tmp.base('busy', {'f.txt': 'base'})
    const baseBefore = fingerprint(base)
    await store.create('busy', {base})
    const mp = await store.mount('busy', 'c1')
    await store.mount('busy', 'c2')
    fs.writeFileSync(path.join(mp, 'change'), 'x')

    await assert.rejects(store.remove('busy'), (err: Error & {code?: string; details?: Record<string, unknown>}) => {
      assert.equal(err.code, 'in-use')
      assert.match(err.message, /volume "busy" is in use \(2 active mounts: c1, c2\); unmount it first, or force/)
      assert.deepEqual(err.details?.mounts, {c1: 1, c2: 1})
      return true
    })
    // Nothing changed: still mounted, records and changes intact.
    assert.equal(overlayCount(mp), 1)
    assert.deepEqual((await store.get('busy')).mounts, {c1: 1, c2: 1})
    assert.equal(fs.readFileSync(path.join(mp, 'change'), 'utf8'), 'x')

    await store.unmount('busy', 'c1')
    await assert.rejects(store.remove('busy'), {code: 'in-use'})
    await store.unmount('busy', 'c2')
    await store.remove('busy')
    assert.equal(fs.existsSync(store.layout.volume('busy')), false)
    await assert.rejects(store.get('busy'), {code: 'not-found'})
    await store.close() // the changes are deleted after remove answers; close waits for that
    assert.deepEqual(leftovers(), [])
    assert.deepEqual(fingerprint(base), baseBefore)
  })

  test('force removes a mounted volume: unmounted, deleted, base untouched', async () => {
    const base = tmp.base('forced', {'f.txt': 'base'})
    const baseBefore = fingerprint(base)
    await store.create('forced', {base})
    const mp = await store.mount('forced', 'c1')
    fs.writeFileSync(path.join(mp, 'change'), 'x')
    fs.rmSync(path.join(mp, 'f.txt'))
    await store.remove('forced', {force: true})
    assert.equal(overlayCount(mp), 0)
    assert.equal(fs.existsSync(store.layout.volume('forced')), false)
    await store.close() // the changes are deleted after remove answers; close waits for that
    assert.deepEqual(leftovers(), [])
    assert.deepEqual(fingerprint(base), baseBefore)
  })

  test('force while a file is held open in the view detaches lazily and still never touches the base', async () => {
    const base = tmp.base('held', {'f.txt': 'base'})
    const baseBefore = fingerprint(base)
    await store.create('held', {base})
    const mp = await store.mount('held', 'c1')
    const fd = fs.openSync(path.join(mp, 'f.txt'), 'r')
    try {
      await store.remove('held', {force: true})
      assert.equal(overlayCount(mp), 0, 'detached from the tree')
      assert.equal(fs.existsSync(store.layout.volume('held')), false)
      assert.equal(fs.readFileSync(fd, 'utf8'), 'base', 'the holder keeps reading')
    } finally {
      fs.closeSync(fd)
    }
    assert.deepEqual(fingerprint(base), baseBefore)
  })

  test('an unknown volume is not found; an existing name cannot be created twice', async () => {
    await assert.rejects(store.remove('nope'), {code: 'not-found', message: 'no such volume: nope'})
    await assert.rejects(store.remove('nope', {force: true}), {code: 'not-found'})
    const base = tmp.base('twice')
    await store.create('twice', {base})
    await assert.rejects(store.create('twice', {base}), {code: 'exists', message: 'volume "twice" already exists'})
    await store.remove('twice')
  })
})
