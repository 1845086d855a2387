import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {describe, test} from 'node:test'

import {VolumeStore} from '../../src/core/volume/store.js'
import {rootOnly} from '../helpers/requirements.js'
import {TempRoot} from '../helpers/temp-root.js'
import {overlayCount, recordFiles, useStore} from './store-fixtures.js'

const ids = (prefix: string, n: number) => Array.from({length: n}, (_, i) => `${prefix}${i}`)

/** The compiled store, for child processes that use the core directly (no CLI start-up cost). */
const STORE_JS = fileURLToPath(new URL('../../src/core/volume/store.js', import.meta.url))

/** Runs `op` (mount|unmount) for each ID concurrently in a separate node process on the same root. */
function inChildProcess(root: string, op: 'mount' | 'unmount', name: string, mountIds: string[]): Promise<void> {
  const script = `
    const {VolumeStore} = await import(${JSON.stringify(STORE_JS)})
    const store = await VolumeStore.open({root: ${JSON.stringify(root)}})
    await Promise.all(${JSON.stringify(mountIds)}.map((id) => store.${op}(${JSON.stringify(name)}, id)))
    await store.close()`
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {stdio: ['ignore', 'ignore', 'pipe']})
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`child ${op} exited ${code}: ${stderr}`))))
  })
}

describe('store: concurrency', rootOnly(), () => {
  let tmp: TempRoot
  let store: VolumeStore
  useStore('dot-test-concurrency-', (t, s) => {
    tmp = t
    store = s
  })

  test('20 concurrent mounts with distinct IDs: one overlay, 20 records; 20 concurrent unmounts: none', async () => {
    const base = tmp.base('twenty', {'f': 'f'})
    await store.create('twenty', {base})
    const mountIds = ids('c', 20)
    const mountpoints = await Promise.all(mountIds.map((id) => store.mount('twenty', id)))
    const mp = store.layout.mountpoint('twenty')
    assert.ok(mountpoints.every((p) => p === mp))
    assert.equal(overlayCount(mp), 1)
    const records = recordFiles(store.layout.volume('twenty'))
    assert.deepEqual(Object.keys(records).sort(), [...mountIds].sort())
    assert.ok(Object.values(records).every((r) => JSON.stringify(r) === '{"UsageCount":1}'))

    await Promise.all(mountIds.map((id) => store.unmount('twenty', id)))
    assert.equal(overlayCount(mp), 0)
    assert.deepEqual(recordFiles(store.layout.volume('twenty')), {})
    assert.deepEqual(fs.readdirSync(mp), [], 'nothing mounted on the kept mountpoint directory')
  })

  test('the same ID mounted 20 times concurrently counts 20 and needs 20 unmounts', async () => {
    const base = tmp.base('same-id')
    await store.create('sameid', {base})
    await Promise.all(ids('', 20).map(() => store.mount('sameid', 'one')))
    const mp = store.layout.mountpoint('sameid')
    assert.equal(overlayCount(mp), 1)
    assert.deepEqual(recordFiles(store.layout.volume('sameid')), {one: {UsageCount: 20}})
    await Promise.all(ids('', 19).map(() => store.unmount('sameid', 'one')))
    assert.equal(overlayCount(mp), 1)
    assert.deepEqual(recordFiles(store.layout.volume('sameid')), {one: {UsageCount: 1}})
    await store.unmount('sameid', 'one')
    assert.equal(overlayCount(mp), 0)
  })

  test('two stores on one root (two processes, the cross-process lock) mounting and unmounting concurrently stay correct', async () => {
    const other = await VolumeStore.open({root: tmp.root})
    try {
      const base = tmp.base('two-stores', {'f': 'f'})
      await store.create('twostores', {base})
      const mp = store.layout.mountpoint('twostores')
      for (let round = 0; round < 3; round++) {
        const mine = ids(`a${round}-`, 10)
        const theirs = ids(`b${round}-`, 10)
        await Promise.all([...mine.map((id) => store.mount('twostores', id)), ...theirs.map((id) => other.mount('twostores', id))])
        assert.equal(overlayCount(mp), 1, `round ${round}: one overlay`)
        assert.equal(Object.keys(recordFiles(store.layout.volume('twostores'))).length, 20)
        // Each unmounts the other's IDs: records are shared state, not per process.
        await Promise.all([...mine.map((id) => other.unmount('twostores', id)), ...theirs.map((id) => store.unmount('twostores', id))])
        assert.equal(overlayCount(mp), 0, `round ${round}: none left`)
        assert.deepEqual(recordFiles(store.layout.volume('twostores')), {})
      }
    } finally {
      await other.close()
    }
  })

  test('4 processes mounting 5 IDs each, then 4 unmounting them: one overlay, then none', async () => {
    const base = tmp.base('processes', {'f': 'f'})
    await store.create('processes', {base})
    const mp = store.layout.mountpoint('processes')
    const groups = [0, 1, 2, 3].map((p) => ids(`p${p}-`, 5))
    await Promise.all(groups.map((group) => inChildProcess(tmp.root, 'mount', 'processes', group)))
    assert.equal(overlayCount(mp), 1)
    assert.equal(Object.keys(recordFiles(store.layout.volume('processes'))).length, 20)
    // Each process unmounts another one's IDs.
    await Promise.all(groups.map((_, p) => inChildProcess(tmp.root, 'unmount', 'processes', groups[(p + 1) % 4])))
    assert.equal(overlayCount(mp), 0)
    assert.deepEqual(recordFiles(store.layout.volume('processes')), {})
  })

  test('two stores churning mount/unmount on one volume never stack overlays and end clean', async () => {
    const other = await VolumeStore.open({root: tmp.root})
    try {
      const base = tmp.base('churn', {'f': 'f'})
      await store.create('churn', {base})
      const mp = store.layout.mountpoint('churn')
      let maxSeen = 0
      const worker = async (s: VolumeStore, id: string) => {
        for (let i = 0; i < 15; i++) {
          const got = await s.mount('churn', id)
          assert.equal(got, mp)
          const count = overlayCount(mp)
          maxSeen = Math.max(maxSeen, count)
          assert.equal(count, 1, `${id}: mounted while holding a record`)
          assert.equal(fs.readFileSync(path.join(mp, 'f'), 'utf8'), 'f', `${id}: the view works`)
          await s.unmount('churn', id)
        }
      }
      await Promise.all([...ids('x', 4).map((id) => worker(store, id)), ...ids('y', 4).map((id) => worker(other, id))])
      assert.equal(maxSeen, 1)
      assert.equal(overlayCount(mp), 0)
      assert.deepEqual(recordFiles(store.layout.volume('churn')), {})
    } finally {
      await other.close()
    }
  })

  test('concurrent creates of one name from two stores: exactly one wins, the others say exists', async () => {
    const other = await VolumeStore.open({root: tmp.root})
    try {
      const base = tmp.base('race-create')
      const results = await Promise.allSettled(ids('', 10).map((i) => (Number(i) % 2 ? store : other).create('racecreate', {base})))
      const won = results.filter((r) => r.status === 'fulfilled')
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
      assert.equal(won.length, 1)
      assert.ok(lost.every((r) => (r.reason as {code?: string}).code === 'exists'), String(lost.map((r) => r.reason)))
      assert.deepEqual(fs.readdirSync(tmp.root).filter((n) => n.startsWith('.tmp-')), [], 'no half-made volume left')
    } finally {
      await other.close()
    }
  })

  test('remove racing mounts: either the mount wins (remove says in use) or the remove wins (mount says not found)', async () => {
    const other = await VolumeStore.open({root: tmp.root})
    try {
      for (let round = 0; round < 5; round++) {
        const name = `race${round}`
        await store.create(name, {base: tmp.base(`race-${round}`)})
        const [mounted, removed] = await Promise.allSettled([store.mount(name, 'm'), other.remove(name)])
        const mp = store.layout.mountpoint(name)
        if (mounted.status === 'fulfilled') {
          assert.equal(removed.status, 'rejected')
          assert.equal((removed as PromiseRejectedResult).reason.code, 'in-use')
          assert.equal(overlayCount(mp), 1)
          await store.unmount(name, 'm')
          await store.remove(name)
        } else {
          assert.equal(removed.status, 'fulfilled')
          assert.equal(mounted.reason.code, 'not-found')
        }
        assert.equal(overlayCount(mp), 0)
        assert.equal(fs.existsSync(store.layout.volume(name)), false)
      }
    } finally {
      await other.close()
    }
  })
})
