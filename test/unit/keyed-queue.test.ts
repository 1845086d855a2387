import assert from 'node:assert/strict'
import {setTimeout as sleep} from 'node:timers/promises'
import {describe, test} from 'node:test'

import {KeyedQueue} from '../../src/core/volume/keyed-queue.js'

describe('keyed queue', () => {
  test('tasks of one key run one at a time, in arrival order', async () => {
    const queue = new KeyedQueue()
    const events: string[] = []
    let running = 0
    const task = (i: number, ms: number) => async () => {
      running++
      assert.equal(running, 1, 'two tasks of one key overlapped')
      events.push(`start ${i}`)
      await sleep(ms)
      events.push(`end ${i}`)
      running--
      return i
    }
    // Later tasks are shorter: without the queue they would finish first.
    const results = await Promise.all([queue.run('k', task(0, 30)), queue.run('k', task(1, 10)), queue.run('k', task(2, 1))])
    assert.deepEqual(results, [0, 1, 2])
    assert.deepEqual(events, ['start 0', 'end 0', 'start 1', 'end 1', 'start 2', 'end 2'])
  })

  test('different keys run in parallel', async () => {
    const queue = new KeyedQueue()
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const a = queue.run('a', () => gate.then(() => 'a'))
    // 'b' completes while 'a' still waits: it is not queued behind it.
    assert.equal(await queue.run('b', async () => 'b'), 'b')
    release()
    assert.equal(await a, 'a')
  })

  test('a failing task rejects its own caller only; the next task still runs', async () => {
    const queue = new KeyedQueue()
    const failing = queue.run('k', async () => {
      throw new Error('boom')
    })
    const next = queue.run('k', async () => 'after')
    await assert.rejects(failing, /boom/)
    assert.equal(await next, 'after')
  })

  test('a drained key is forgotten, so the map does not grow', async () => {
    const queue = new KeyedQueue()
    await Promise.all([queue.run('x', async () => 1), queue.run('y', async () => 2), queue.run('x', async () => 3)])
    await sleep(1)
    assert.equal(queue.size, 0)
  })
})
