import assert from 'node:assert/strict'
import {spawn, spawnSync} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, describe, test} from 'node:test'

import {Layout} from '../../src/core/disk/layout.js'
import {VolumeStore} from '../../src/core/volume/store.js'
import {tryLockDir} from '../../src/core/kernel/flock.js'
import {VolumeLocks} from '../../src/core/volume/lock.js'

/** Whether some other process could take the flock on `file` right now (util-linux flock(1), non-blocking). */
function lockIsFree(file: string): boolean {
  const result = spawnSync('flock', ['--nonblock', '--exclusive', file, 'true'])
  if (result.error) throw result.error
  return result.status === 0
}

/**
 * A process holding an exclusive flock on `file` while it runs `script` (sh -c); resolves once the lock
 * is taken. --no-fork: the lock is held by that one process (a forked child would keep it past a kill).
 */
async function holdLock(file: string, script: string) {
  const child = spawn('flock', ['--no-fork', '--exclusive', file, 'sh', '-c', `echo held; ${script}`], {stdio: ['ignore', 'pipe', 'inherit']})
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve())
    child.once('error', reject)
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return {child, exited}
}

describe('volume lock (flock(2) on the volume directory)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dot-lock-'))
  after(() => fs.rmSync(dir, {recursive: true, force: true}))
  const layout = new Layout(dir)
  const warnings: string[] = []
  const locks = new VolumeLocks(layout, {warn: (m) => warnings.push(m)})
  const volume = path.join(dir, 'v')
  fs.mkdirSync(volume)
  fs.mkdirSync(path.join(dir, 'w'))

  test('held while the task runs, free after; nothing is created for it', async () => {
    const before = fs.readdirSync(dir).sort()
    await locks.withLock('v', async () => {
      assert.equal(lockIsFree(volume), false, 'another process could take the lock while it was held')
    })
    assert.equal(lockIsFree(volume), true)
    assert.deepEqual(fs.readdirSync(dir).sort(), before)
  })

  test('a volume that does not exist is not found, and leaves nothing behind', async () => {
    await assert.rejects(
      locks.withLock('ghost', async () => assert.fail('ran without a volume')),
      {code: 'not-found', message: 'no such volume: ghost'},
    )
    assert.deepEqual(fs.readdirSync(dir).sort(), ['v', 'w'])
  })

  test('a lock held by another process is waited for, then taken', async () => {
    const holder = await holdLock(volume, 'sleep 0.3')
    const started = Date.now()
    await locks.withLock('v', async () => {})
    assert.ok(Date.now() - started >= 200, 'withLock returned while the other process still held the lock')
    await holder.exited
  })

  test('a holder killed with SIGKILL frees the lock at once (no staleness to wait out)', async () => {
    const holder = await holdLock(volume, 'exec sleep 60')
    holder.child.kill('SIGKILL')
    await holder.exited
    const started = Date.now()
    await locks.withLock('v', async () => {})
    assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`)
  })

  test('a volume removed (renamed away) by the holder while we waited is not found, not locked', async () => {
    fs.mkdirSync(path.join(dir, 'gone'))
    const holder = await holdLock(path.join(dir, 'gone'), `sleep 0.2; mv ${JSON.stringify(path.join(dir, 'gone'))} ${JSON.stringify(path.join(dir, '.trash-gone'))}`)
    await assert.rejects(
      locks.withLock('gone', async () => assert.fail('ran on a removed volume')),
      {code: 'not-found'},
    )
    await holder.exited
  })

  test('in one process: a task queued behind a remove (its volume renamed away) is not found, and the lock is let go', async () => {
    fs.mkdirSync(path.join(dir, 'h'))
    const removing = locks.withLock('h', async () => fs.renameSync(path.join(dir, 'h'), path.join(dir, '.trash-h')))
    const queued = locks.withLock('h', async () => assert.fail('ran on a removed volume'))
    await removing
    await assert.rejects(queued, {code: 'not-found', message: 'no such volume: h'})
    assert.equal(lockIsFree(path.join(dir, '.trash-h')), true, 'the handed-over lock was kept')
    fs.rmdirSync(path.join(dir, '.trash-h'))
  })

  test('tryLockDir does not wait: undefined while another process holds the directory', async () => {
    const holder = await holdLock(volume, 'sleep 0.3')
    assert.equal(tryLockDir(volume), undefined)
    await holder.exited
    const fd = tryLockDir(volume)
    assert.notEqual(fd, undefined)
    assert.equal(lockIsFree(volume), false)
    fs.closeSync(fd!)
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

  test('two lock sets in one process (two stores on one root) exclude each other too', async () => {
    const other = new VolumeLocks(layout, {warn: (m) => warnings.push(m)})
    const order: string[] = []
    const task = (id: string) => async () => {
      order.push(`start ${id}`)
      await new Promise((resolve) => setTimeout(resolve, 30))
      order.push(`end ${id}`)
    }
    await Promise.all([locks.withLock('v', task('a')), other.withLock('v', task('b'))])
    assert.deepEqual(order, ['start a', 'end a', 'start b', 'end b'])
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
