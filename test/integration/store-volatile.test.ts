import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import {describe, test} from 'node:test'

import {VolumeStore} from '../../src/core/volume/store.js'
import {rootOnly} from '../helpers/requirements.js'
import {TempRoot} from '../helpers/temp-root.js'
import {fingerprint, overlayCount, useStore} from './store-fixtures.js'

describe('store: volatile and normal volumes', rootOnly(), () => {
  let tmp: TempRoot
  let store: VolumeStore
  useStore('dot-test-volatile-', (t, s) => {
    tmp = t
    store = s
  })

  const scratchEntries = () => fs.readdirSync(tmp.root).filter((n) => n.startsWith('.tmp-') || n.startsWith('.trash-'))

  test('volatile: changes survive the last unmount in upper/ and are wiped at the next first mount', async () => {
    const base = tmp.base('vol', {'base.txt': 'base\n'})
    const baseBefore = fingerprint(base)
    const created = await store.create('vol', {base, volatile: 'true'})
    assert.equal(created.volatile, true)
    const upper = store.layout.upper('vol')

    let mp = await store.mount('vol', 'run1')
    fs.writeFileSync(path.join(mp, 'scratch.txt'), 'run 1\n')
    fs.rmSync(path.join(mp, 'base.txt'))
    await store.unmount('vol', 'run1')
    assert.equal(overlayCount(mp), 0)
    // Still salvageable after the last unmount (the wipe is at the next first mount, not now).
    assert.equal(fs.readFileSync(path.join(upper, 'scratch.txt'), 'utf8'), 'run 1\n')
    assert.ok(fs.existsSync(path.join(upper, 'base.txt')), 'the whiteout is kept too')

    mp = await store.mount('vol', 'run2')
    assert.deepEqual(fs.readdirSync(mp), ['base.txt'], 'the view is the base again')
    assert.equal(fs.readFileSync(path.join(mp, 'base.txt'), 'utf8'), 'base\n')
    assert.deepEqual(fs.readdirSync(upper), [], 'upper/ was wiped')
    await store.close() // the old upper is deleted in the background; close waits for it
    assert.deepEqual(scratchEntries(), [], 'no trash left behind')
    await store.unmount('vol', 'run2')
    assert.deepEqual(fingerprint(base), baseBefore)
  })

  test('volatile: a second user joining a mounted volume does not wipe the first one\'s changes', async () => {
    const base = tmp.base('vol-join')
    await store.create('vol-join', {base, volatile: 'YES'})
    const mp = await store.mount('vol-join', 'first')
    fs.writeFileSync(path.join(mp, 'work'), 'in progress')
    await store.mount('vol-join', 'second')
    assert.equal(fs.readFileSync(path.join(mp, 'work'), 'utf8'), 'in progress')
    await store.unmount('vol-join', 'first')
    assert.equal(fs.readFileSync(path.join(mp, 'work'), 'utf8'), 'in progress', 'still mounted for second, nothing wiped')
    await store.unmount('vol-join', 'second')
    assert.equal(overlayCount(mp), 0)
  })

  test('normal: changes are kept across unmount and the next mount', async () => {
    const base = tmp.base('normal', {'base.txt': 'base\n'})
    const created = await store.create('normal', {base, volatile: 'false'})
    assert.equal(created.volatile, false)
    let mp = await store.mount('normal', 'run1')
    fs.writeFileSync(path.join(mp, 'kept.txt'), 'kept\n')
    fs.rmSync(path.join(mp, 'base.txt'))
    await store.unmount('normal', 'run1')
    mp = await store.mount('normal', 'run2')
    assert.deepEqual(fs.readdirSync(mp), ['kept.txt'])
    assert.equal(fs.readFileSync(path.join(mp, 'kept.txt'), 'utf8'), 'kept\n')
    await store.unmount('normal', 'run2')
    assert.equal(fs.readFileSync(path.join(store.layout.upper('normal'), 'kept.txt'), 'utf8'), 'kept\n')
  })
})
