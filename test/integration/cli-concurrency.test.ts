import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {assertRoot, rootOnly} from '../helpers/requirements.js'
import {parseJson, runDot} from '../helpers/run-dot.js'
import {TempRoot} from '../helpers/temp-root.js'
import {dotArgs} from './cli-fixtures.js'
import {overlayCount, recordFiles} from './store-fixtures.js'

const N = 20

/**
 * Separate `dot` processes racing on one volume: only the cross-process volume lock keeps them from
 * stacking overlays or losing records. Facts are read from /proc/self/mountinfo and the disk.
 */
describe(`CLI: ${N} concurrent dot processes on one volume`, rootOnly(), () => {
  let tmp: TempRoot
  let volumeDir: string
  let mountpoint: string

  before(async () => {
    assertRoot()
    tmp = new TempRoot('dot-test-cli-race-')
    const base = tmp.base('base', {'hello.txt': 'hello\n'})
    const created = await runDot(dotArgs(tmp.root, ['create', 'shared', '--base', base]))
    assert.equal(created.code, 0, created.stderr)
    volumeDir = path.join(tmp.root, 'shared')
    mountpoint = path.join(volumeDir, 'mountpoint')
  })
  after(() => tmp?.cleanup())

  const run = (command: string[]) => runDot(dotArgs(tmp.root, command), {timeoutMs: 120_000})

  test(`${N} mounts with distinct IDs leave exactly one overlay and ${N} records`, async () => {
    const ids = Array.from({length: N}, (_, i) => `job-${i}`)
    const started = performance.now()
    const results = await Promise.all(ids.map((id) => run(['mount', 'shared', '--id', id])))
    const seconds = ((performance.now() - started) / 1000).toFixed(1)
    for (const r of results) {
      assert.equal(r.code, 0, r.stderr)
      assert.equal(r.stdout, `${mountpoint}\n`)
    }
    assert.equal(overlayCount(mountpoint), 1, 'one overlay, never stacked')
    const records = recordFiles(volumeDir)
    assert.deepEqual(Object.keys(records).sort(), [...ids].sort())
    for (const id of ids) assert.deepEqual(records[id], {UsageCount: 1})
    assert.equal(fs.readFileSync(path.join(mountpoint, 'hello.txt'), 'utf8'), 'hello\n')

    const [report] = parseJson(await run(['inspect', '--json', 'shared'])) as [{state: string; mounts: Record<string, number>}]
    assert.equal(report.state, 'mounted')
    assert.equal(Object.keys(report.mounts).length, N)
    console.log(`# ${N} concurrent dot mount processes: ${seconds} s`)
  })

  test(`${N} unmounts of those IDs leave no overlay and no records`, async () => {
    const ids = Array.from({length: N}, (_, i) => `job-${i}`)
    const results = await Promise.all(ids.map((id) => run(['unmount', 'shared', '--id', id])))
    for (const r of results) {
      assert.equal(r.code, 0, r.stderr)
      assert.equal(r.stderr, '')
    }
    assert.equal(overlayCount(mountpoint), 0)
    assert.deepEqual(recordFiles(volumeDir), {})
    // The empty mountpoint directory stays for the next mount (store.unmount); nothing is mounted on it.
    assert.deepEqual(fs.readdirSync(mountpoint), [])
  })

  test(`the same ID mounted by ${N} processes at once is counted ${N} times and needs ${N} unmounts`, async () => {
    const mounts = await Promise.all(Array.from({length: N}, () => run(['mount', 'shared', '--id', 'same'])))
    for (const r of mounts) assert.equal(r.code, 0, r.stderr)
    assert.equal(overlayCount(mountpoint), 1)
    assert.deepEqual(recordFiles(volumeDir), {same: {UsageCount: N}})

    const unmounts = await Promise.all(Array.from({length: N - 1}, () => run(['unmount', 'shared', '--id', 'same'])))
    for (const r of unmounts) assert.equal(r.code, 0, r.stderr)
    assert.equal(overlayCount(mountpoint), 1, 'one use is left')
    assert.deepEqual(recordFiles(volumeDir), {same: {UsageCount: 1}})

    const last = await run(['unmount', 'shared', '--id', 'same'])
    assert.equal(last.code, 0, last.stderr)
    assert.equal(overlayCount(mountpoint), 0)
    assert.deepEqual(recordFiles(volumeDir), {})
  })
})
