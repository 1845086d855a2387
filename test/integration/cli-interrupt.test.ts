import assert from 'node:assert/strict'
import {type ChildProcess, spawn} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {assertRoot, rootOnly} from '../helpers/requirements.js'
import {DOT_BIN, runDot} from '../helpers/run-dot.js'
import {mountsBelow, TempRoot} from '../helpers/temp-root.js'
import {dotArgs} from './cli-fixtures.js'
import {scratchEntries} from './trust-fixtures.js'

/**
 * Issue 10, item 8: every long command answers SIGINT/SIGTERM by cleaning up and exiting. `dot export`
 * to a reader that never reads holds its merged view mounted; `dot import` from a stdin that never
 * ends holds its scratch. A signal must leave neither behind (no leftover for `dot gc`), promptly.
 */
describe('CLI: SIGINT and SIGTERM end export and import, cleaned up', rootOnly(), () => {
  let tmp: TempRoot
  before(async () => {
    assertRoot()
    tmp = new TempRoot('dot-test-cli-interrupt-')
    const base = tmp.base('base', {'a.txt': 'a\n'})
    assert.equal((await runDot(dotArgs(tmp.root, ['create', 'v', '--base', base]))).code, 0)
    fs.writeFileSync(path.join(tmp.root, 'v', 'upper', 'big.bin'), Buffer.alloc(4 << 20, 7))
  })
  after(() => tmp?.cleanup())

  const waitFor = async (what: string, ready: () => boolean) => {
    for (let i = 0; i < 200 && !ready(); i++) await new Promise((resolve) => setTimeout(resolve, 50))
    assert.ok(ready(), what)
    await new Promise((resolve) => setTimeout(resolve, 300))
  }
  const interrupt = async (child: ChildProcess, signal: NodeJS.Signals) => {
    let stderr = ''
    child.stderr!.on('data', (d) => (stderr += d))
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    const started = Date.now()
    child.kill(signal)
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    const code = await exited
    clearTimeout(timer)
    return {code, stderr, ms: Date.now() - started}
  }

  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    test(`${signal}: dot export to a stalled reader unmounts its view and exits ${code}`, async () => {
      const child = spawn(process.execPath, [DOT_BIN, ...dotArgs(tmp.root, ['export', 'v'])], {stdio: ['ignore', 'pipe', 'pipe']})
      await waitFor('the export view is mounted', () => mountsBelow(tmp.root).length === 1)
      const result = await interrupt(child, signal)
      child.stdout!.destroy()
      assert.equal(result.code, code, result.stderr)
      assert.ok(result.ms < 5000, `${signal} ended it in ${result.ms} ms`)
      assert.match(result.stderr, /^dot export: interrupted; the layer on stdout is incomplete; volume "v" is unchanged\n$/)
      assert.deepEqual(mountsBelow(tmp.root), [], 'nothing left mounted')
      assert.deepEqual(scratchEntries(tmp.root), [], 'no scratch left')
    })

    test(`${signal}: dot import from a stdin that never ends deletes its scratch and exits ${code}`, async () => {
      const child = spawn(process.execPath, [DOT_BIN, ...dotArgs(tmp.root, ['import', 'v'])], {stdio: ['pipe', 'pipe', 'pipe']})
      await waitFor('the import scratch exists', () => scratchEntries(tmp.root).length === 1)
      const result = await interrupt(child, signal)
      child.stdin!.destroy()
      assert.equal(result.code, code, result.stderr)
      assert.ok(result.ms < 5000, `${signal} ended it in ${result.ms} ms`)
      assert.match(result.stderr, /^dot import: interrupted; volume "v" is unchanged\n$/)
      assert.deepEqual(scratchEntries(tmp.root), [], 'no scratch left')
      assert.equal(fs.readFileSync(path.join(tmp.root, 'v', 'upper', 'big.bin')).length, 4 << 20, 'the changes are kept')
    })
  }
})
