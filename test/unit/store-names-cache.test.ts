import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, describe, test} from 'node:test'

import {VolumeStore} from '../../src/core/volume/store.js'

/**
 * store.names() reuses its listing while the root's mtime is unchanged (a stat instead of a readdir
 * on every List). It must still see every volume added or removed behind its back.
 */
describe('store.names(): the cached listing of the root', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dot-test-names-'))
  after(() => fs.rmSync(dir, {recursive: true, force: true}))
  const root = path.join(dir, 'root')
  const volume = (name: string) => fs.mkdirSync(path.join(root, name, 'upper'), {recursive: true})
  // A root untouched for a while, as in production: only then is a listing kept.
  const age = () => fs.utimesSync(root, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000))

  test('sees volumes created and removed by another process after a cached listing', async () => {
    fs.mkdirSync(root)
    volume('a')
    volume('b')
    age()
    const store = await VolumeStore.open({root})
    assert.deepEqual(await store.names(), ['a', 'b'])
    assert.deepEqual(await store.names(), ['a', 'b'], 'a second call answers the same')
    volume('c') // another process: no call through this store
    assert.deepEqual(await store.names(), ['a', 'b', 'c'])
    age()
    assert.deepEqual(await store.names(), ['a', 'b', 'c'])
    fs.rmSync(path.join(root, 'a'), {recursive: true})
    assert.deepEqual(await store.names(), ['b', 'c'])
    age()
    await store.names()
    fs.renameSync(path.join(root, 'b'), path.join(root, 'd'))
    assert.deepEqual(await store.names(), ['c', 'd'])
  })

  test('a listing read within 50 ms of the last change is not kept: a change in the same clock tick is seen', async () => {
    const store = await VolumeStore.open({root})
    // The kernel may stamp two changes within one tick alike; simulate it by restoring the mtime.
    const recent = new Date(Date.now() - 10)
    fs.utimesSync(root, recent, recent)
    const before = await store.names()
    volume('same-tick')
    fs.utimesSync(root, recent, recent)
    assert.deepEqual(await store.names(), [...before, 'same-tick'].sort())
    fs.rmSync(path.join(root, 'same-tick'), {recursive: true})
  })

  test('callers cannot change the cached listing', async () => {
    age()
    const store = await VolumeStore.open({root})
    const first = await store.names()
    first.push('zzz')
    assert.deepEqual(await store.names(), ['c', 'd'])
  })
})
