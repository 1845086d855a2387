import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import {after, describe, test} from 'node:test'

import {VolumeStore} from '../../src/core/volume/store.js'
import {TempRoot} from '../helpers/temp-root.js'
import {fingerprint} from './store-fixtures.js'

const trashEntries = (root: string) => fs.readdirSync(root).filter((n) => n.startsWith('.trash-'))

/** Remove answers once the volume is renamed away, not after deleting its changes (no root: nothing mounts). */
describe('store: remove deletes the changes after answering', () => {
  const tmp = new TempRoot('dot-test-remove-background-')
  after(() => tmp.cleanup())

  test('the volume is gone when remove resolves, its trash is deleted by close', async () => {
    const store = await VolumeStore.open({root: tmp.root})
    const base = tmp.base('b', {'b.txt': 'b'})
    const baseBefore = fingerprint(base)
    await store.create('big', {base})
    // Changes with enough entries that deleting them takes many thread-pool round trips.
    const upper = store.layout.upper('big')
    for (let d = 0; d < 20; d++) {
      fs.mkdirSync(path.join(upper, `d${d}`))
      for (let f = 0; f < 250; f++) fs.writeFileSync(path.join(upper, `d${d}`, `f${f}`), '')
    }

    await store.remove('big')
    await assert.rejects(store.get('big'), {code: 'not-found'})
    assert.equal(fs.existsSync(store.layout.volume('big')), false)
    assert.equal(trashEntries(tmp.root).length, 1, 'the 5,000 changed files are still being deleted after remove answered')

    await store.close()
    assert.deepEqual(trashEntries(tmp.root), [], 'close waits for the deletion')
    assert.deepEqual(fingerprint(base), baseBefore)
  })
})
