import assert from 'node:assert/strict'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {after, describe, test} from 'node:test'

import {FLUSH_PARALLEL, Flusher} from '../../src/core/disk/flusher.js'

describe('Flusher (background fsyncs, in batches)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dot-flush-'))
  after(() => fs.rmSync(dir, {recursive: true, force: true}))

  test('with a delay, a flush waits for more (group commit): three volumes asked for at once are one batch, the root flushed once, last', async () => {
    const calls: string[] = []
    const flusher = new Flusher(() => assert.fail('no error expected'), async (p) => void calls.push(p), 20)
    const started = Date.now()
    await Promise.all([
      flusher.flush(['/r/a/meta', '/r/a', '/r']),
      flusher.flush(['/r/b/meta', '/r/b', '/r']),
      flusher.flush(['/r/c/meta', '/r/c', '/r']),
    ])
    assert.ok(Date.now() - started >= 15, 'the flush did not wait for more paths')
    assert.deepEqual(calls, ['/r/a/meta', '/r/a', '/r/b/meta', '/r/b', '/r/c/meta', '/r/c', '/r'])
  })

  test('hurry() starts the waiting batch at once', async () => {
    const calls: string[] = []
    const flusher = new Flusher(() => assert.fail('no error expected'), async (p) => void calls.push(p), 10_000)
    const started = Date.now()
    const done = flusher.flush(['/r/a/meta', '/r/a', '/r'])
    flusher.hurry()
    await done
    assert.ok(Date.now() - started < 1000, 'the batch waited for its delay anyway')
    assert.deepEqual(calls, ['/r/a/meta', '/r/a', '/r'])
  })

  test('at most FLUSH_PARALLEL fsyncs in flight; what piles up during a batch is the next batch, each path once, a repeated directory last', async () => {
    const calls: string[] = []
    let inFlight = 0
    let maxInFlight = 0
    const flusher = new Flusher(
      () => assert.fail('no error expected'),
      async (p) => {
        inFlight++
        maxInFlight = Math.max(maxInFlight, inFlight)
        calls.push(p)
        await new Promise((resolve) => setTimeout(resolve, 5))
        inFlight--
      },
      0,
    )
    const first = flusher.flush(['/r/a/meta', '/r/a', '/r'])
    await new Promise((resolve) => setImmediate(resolve)) // the first batch has started
    // Asked while the first batch runs: the next batch, with /r once and last.
    const second = flusher.flush(['/r/b/meta', '/r/b', '/r'])
    const third = flusher.flush(['/r/c/meta', '/r/c', '/r'])
    await Promise.all([first, second, third])
    assert.equal(maxInFlight, FLUSH_PARALLEL)
    assert.deepEqual(calls, ['/r/a/meta', '/r/a', '/r', '/r/b/meta', '/r/b', '/r/c/meta', '/r/c', '/r'])
  })

  test('real fsyncs: a path removed meanwhile is skipped silently, one that cannot be opened is reported', async () => {
    const file = path.join(dir, 'metadata.json')
    fs.writeFileSync(file, '{}')
    const socket = path.join(dir, 'not-openable.sock')
    const server = net.createServer()
    await new Promise<void>((resolve) => server.listen(socket, resolve))
    try {
      const errors: string[] = []
      const flusher = new Flusher((p, err) => errors.push(`${p}: ${(err as NodeJS.ErrnoException).code}`))
      await flusher.flush([file, path.join(dir, 'gone'), socket, dir])
      assert.deepEqual(errors, [`${socket}: ENXIO`])
    } finally {
      server.close()
    }
  })
})
