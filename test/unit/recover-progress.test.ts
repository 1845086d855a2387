import assert from 'node:assert/strict'
import {describe, test} from 'node:test'

import {ProgressBar} from '../../src/cli/progress-bar.js'

/** The progress bar of `dot recover`, drawn into a stand-in for stderr that records what it gets. */
describe('ProgressBar', () => {
  const terminal = (isTTY: boolean) => {
    const writes: string[] = []
    return {writes, stream: {isTTY, columns: 100, write: (s: string) => writes.push(s) > 0} as unknown as NodeJS.WriteStream}
  }

  test('only on a terminal', () => {
    assert.equal(ProgressBar.enabled(terminal(false).stream), false)
    assert.equal(ProgressBar.enabled(terminal(true).stream), true)
  })

  test('one redrawn line with percentage and sizes, at most 10 times a second, erased at the end', () => {
    const {writes, stream} = terminal(true)
    const bar = new ProgressBar('recovering v', stream)
    bar.update(512 * 1024 * 1024, 1024 * 1024 * 1024)
    bar.update(600 * 1024 * 1024, 1024 * 1024 * 1024) // within 100 ms: not drawn
    assert.equal(writes.length, 1)
    assert.match(writes[0], /^\rrecovering v \[#{20}-{20}\] 50% 512 MiB\/1\.0 GiB\u001B\[K$/)
    bar.finish()
    assert.equal(writes.at(-1), '\r\u001B[K')
  })

  test('an estimate that is passed stays at 100%; nothing drawn means nothing erased', () => {
    const {writes, stream} = terminal(true)
    const bar = new ProgressBar('x', stream)
    bar.finish()
    assert.deepEqual(writes, [])
    bar.update(3000, 1000)
    assert.match(writes[0], /100% /)
  })
})
