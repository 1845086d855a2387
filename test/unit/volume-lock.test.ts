import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, describe, test} from 'node:test'

import {Layout} from '../../src/core/layout.js'
import {VolumeStore} from '../../src/core/store.js'
import {VolumeLocks} from '../../src/core/volume-lock.js'

describe('volume lock (proper-lockfile on a lock file)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dot-lock-'))
  after(() => fs.rmSync(dir, {recursive: true, force: true}))
  const layout = new Layout(dir)
  const warnings: string[] = []
  const locks = new VolumeLocks(layout, {warn: (m) => warnings.push(m)})
  const lockFile = path.join(dir, '.locks', 'v.lock')

  test('the lock is a file under .locks while held, and gone after', async () => {
    await locks.withLock('v', async () => {
      assert.ok(fs.statSync(lockFile).isFile())
    })
    assert.equal(fs.existsSync(lockFile), false)
  })

  test('a lock held by another process is waited for, then taken', async () => {
    fs.writeFileSync(lockFile, '')
    setTimeout(() => fs.rmSync(lockFile), 150)
    const started = Date.now()
    await locks.withLock('v', async () => {})
    assert.ok(Date.now() - started >= 100, 'withLock returned while the other holder still held the lock')
  })

  test('a stale lock (its holder died, mtime older than 10 s) is taken over at once', async () => {
    fs.writeFileSync(lockFile, '')
    const old = new Date(Date.now() - 60_000)
    fs.utimesSync(lockFile, old, old)
    const started = Date.now()
    await locks.withLock('v', async () => {})
    assert.ok(Date.now() - started < 2000)
    assert.equal(fs.existsSync(lockFile), false)
  })

  test('a stale directory lock left by proper-lockfile in its default mode is taken over too', async () => {
    fs.mkdirSync(lockFile)
    const old = new Date(Date.now() - 60_000)
    fs.utimesSync(lockFile, old, old)
    await locks.withLock('v', async () => {})
    assert.equal(fs.existsSync(lockFile), false)
  })

  test('in one process, tasks on one volume run one at a time, in order', async () => {
    const order: string[] = []
    await Promise.all(
      ['a', 'b', 'c'].map((id) =>
        locks.withLock('w', async () => {
          order.push(`start ${id}`)
          await new Promise((resolve) => setTimeout(resolve, 10))
          order.push(`end ${id}`)
        }),
      ),
    )
    assert.deepEqual(order, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c'])
    assert.deepEqual(warnings, [])
  })

  test('with no root directory: not found, and nothing is created (a mistyped --root stays absent)', async () => {
    const missing = path.join(dir, 'no-such-root')
    const store = new VolumeStore({root: missing})
    await assert.rejects(store.mount('v', 'manual'), {code: 'not-found', message: `no such volume: v (there is no store at ${missing})`})
    await assert.rejects(store.remove('v'), {code: 'not-found'})
    await assert.rejects(store.unmount('v', 'manual'), {code: 'not-found'})
    assert.equal(fs.existsSync(missing), false)
  })
})
