import assert from 'node:assert/strict'
import {after, before, describe, test} from 'node:test'

import {VolumeStore} from '../../src/core/volume/store.js'
import {assertRoot, rootOnly} from '../helpers/requirements.js'
import {TempRoot} from '../helpers/temp-root.js'
import {overlayCount} from './store-fixtures.js'

/**
 * A create answers before its volume is flushed to disk; the flush follows in the background, and the
 * volume's first mount waits for it before it records the mount and answers (no change may land in a volume whose metadata could read empty
 * after a power cut). The store's sync is slowed down here to make the order visible.
 */
describe('store: a new volume is flushed after the create is answered, before its first mount', rootOnly(), () => {
  let tmp: TempRoot
  let store: VolumeStore
  const events: string[] = []
  before(async () => {
    assertRoot()
    tmp = new TempRoot('dot-test-durability-')
    const sync = async (p: string) => {
      await new Promise((resolve) => setTimeout(resolve, 50))
      events.push(`synced ${p.slice(tmp.root.length) || '/'}`)
    }
    store = await VolumeStore.open({root: tmp.root, sync})
  })
  after(async () => {
    await store?.close()
    tmp?.cleanup()
  })

  test('create answers first; the first mount answers only once metadata, volume directory and root are synced', async () => {
    const base = tmp.base('b', {f: 'x'})
    await store.create('v', {base})
    events.push('created')
    const mountpoint = await store.mount('v', 'c1')
    events.push('mounted')
    assert.deepEqual(events, ['created', 'synced /v/metadata.json', 'synced /v', 'synced /', 'mounted'])
    assert.equal(overlayCount(mountpoint), 1)
    await store.unmount('v', 'c1')
    // A volume flushed long ago mounts without waiting for anything.
    events.length = 0
    await store.mount('v', 'c2')
    assert.deepEqual(events, [])
    await store.unmount('v', 'c2')
    assert.equal(overlayCount(mountpoint), 0)
  })
})
