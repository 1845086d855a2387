import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {execa} from 'execa'

import {VolumeStore} from '../../src/core/volume/store.js'
import {assertRoot, rootOnly} from '../helpers/requirements.js'
import {parseJson, runDot} from '../helpers/run-dot.js'
import {TempRoot} from '../helpers/temp-root.js'

/**
 * A volatile volume's changes are kept until its next first mount: `dot export` takes them before
 * that wipe (and the layer brings them into another volume), and after it the layer is empty.
 */
describe('dot export of a volatile volume before its wipe', rootOnly(), () => {
  const tmp = new TempRoot('dot-test-export-volatile-')
  let store: VolumeStore
  const dot = (...args: string[]) => runDot([...args, '--root', tmp.root])
  const members = async (file: string) => (await execa('tar', ['-tf', file])).stdout.split('\n').filter(Boolean).sort()

  before(async () => {
    assertRoot()
    store = await VolumeStore.open({root: tmp.root})
  })
  after(() => tmp.cleanup())

  test('the changes of the last use are exported, until a first mount wipes them', async () => {
    const base = tmp.base('data', {'a.txt': 'a\n', 'b.txt': 'b\n'})
    assert.equal((await dot('create', 'scratch', '--base', base, '--volatile')).code, 0)
    const mp = await store.mount('scratch', 'last-use')
    fs.writeFileSync(path.join(mp, 'result.txt'), 'worth keeping\n')
    fs.rmSync(path.join(mp, 'b.txt'))
    await store.unmount('scratch', 'last-use')

    const layer = path.join(tmp.dir, 'before-wipe.tar')
    const exported = await dot('export', 'scratch', '--to', layer, '--json')
    assert.equal(exported.code, 0, exported.stderr)
    assert.deepEqual((parseJson(exported) as {warnings: string[]}).warnings, [])
    assert.deepEqual(await members(layer), ['./.wh.b.txt', './result.txt'])
    assert.equal((await dot('create', 'kept', '--base', base, '--from', layer)).code, 0)
    assert.equal((await dot('diff', 'kept')).stdout, 'D /b.txt\nA /result.txt\n')

    await store.mount('scratch', 'next-use')
    await store.unmount('scratch', 'next-use')
    const after_ = path.join(tmp.dir, 'after-wipe.tar')
    assert.equal((await dot('export', 'scratch', '--to', after_)).code, 0)
    assert.deepEqual(await members(after_), [])
  })
})
