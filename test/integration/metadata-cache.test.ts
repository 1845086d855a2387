import assert from 'node:assert/strict'
import fs from 'node:fs'
import {after, before, describe, test} from 'node:test'

import {VolumeStore} from '../../src/core/volume/store.js'
import {TempRoot} from '../helpers/temp-root.js'

const settle = () => new Promise((resolve) => setTimeout(resolve, 80))

/**
 * `dot serve` keeps each metadata.json parsed while the file is unchanged (disk/metadata-cache.ts):
 * what another process does to the file must still be seen by the next read. No mounts: runs without root.
 */
describe('store: metadata read through the cache is never stale', () => {
  let tmp: TempRoot
  let store: VolumeStore
  before(async () => {
    tmp = new TempRoot('dot-test-metacache-')
    store = await VolumeStore.open({root: tmp.root})
  })
  after(async () => {
    await store?.close()
    tmp?.cleanup()
  })

  test('a volume removed and made again by another process, and an edit of its metadata in place, are read afresh', async () => {
    const [b1, b2, b3] = ['b1', 'b2', 'b3'].map((name) => tmp.base(name))
    await store.create('v', {base: b1})
    await settle()
    assert.equal((await store.get('v')).base, b1)
    assert.equal((await store.get('v')).base, b1) // the cached parse
    // Another process: the volume goes and comes back with another base (same name, same file size).
    const meta = tmp.root + '/v/metadata.json'
    const other = await VolumeStore.open({root: tmp.root})
    await other.remove('v')
    await other.create('v', {base: b2, volatile: 'true'})
    await other.close()
    assert.deepEqual([(await store.get('v')).base, (await store.get('v')).volatile], [b2, true])
    await settle()
    assert.equal((await store.get('v')).base, b2)
    // An administrator's edit in place, same length: the ctime moves, the parse is not reused.
    const text = fs.readFileSync(meta, 'utf8')
    fs.writeFileSync(meta, text.replace(b2, b3))
    assert.equal((await store.get('v')).base, b3)
    await settle()
    fs.writeFileSync(meta, 'not json')
    await assert.rejects(store.get('v'), /unreadable metadata/)
  })
})
