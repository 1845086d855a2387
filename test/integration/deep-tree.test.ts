import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {assertRoot, rootOnly} from '../helpers/requirements.js'
import {parseJson, runDot} from '../helpers/run-dot.js'
import {TempRoot} from '../helpers/temp-root.js'
import {dotArgs} from './cli-fixtures.js'
import {makeDeepTree, removeHard, scratchEntries} from './trust-fixtures.js'

/** Nested directories a container can make: 2,500 levels of "dir/" is a path of 10,000 bytes, beyond PATH_MAX (4,096). */
const DEPTH = 2500
const BOTTOM = {name: 'bottom.bin', bytes: 200_000}

interface Report {
  name: string
  changesBytes: number
}

/**
 * A tree deeper than PATH_MAX in a volume's changes (issue 10, item 5): measuring it (`dot ls`,
 * `dot inspect`) and deleting it (`dot rm`, the volatile wipe, `dot gc` sweeping a trash a crash left)
 * must work at any depth, through the real CLI on real overlays.
 */
describe('a tree deeper than PATH_MAX in a volume', rootOnly(), () => {
  let tmp: TempRoot
  let base: string
  const dot = async (...command: string[]) => {
    const result = await runDot(dotArgs(tmp.root, command, {json: true}), {timeoutMs: 120_000})
    return {...result, json: parseJson(result) as Record<string, unknown> & Report[]}
  }
  const deepVolume = async (name: string, volatile: boolean) => {
    assert.equal((await dot('create', name, '--base', base, ...(volatile ? ['--volatile'] : []))).code, 0)
    const mounted = await dot('mount', name)
    assert.equal(mounted.code, 0, mounted.stdout)
    makeDeepTree(path.join(tmp.root, name, 'mountpoint'), DEPTH, BOTTOM)
    assert.equal((await dot('unmount', name)).code, 0)
  }

  before(async () => {
    assertRoot()
    tmp = new TempRoot('dot-test-deep-')
    base = tmp.base('base', {'a.txt': 'from the base\n'})
  })
  after(() => tmp && removeHard(tmp.dir))

  test('dot ls and dot inspect measure every volume, the deep one included', async () => {
    await deepVolume('deep', false)
    assert.equal((await dot('create', 'plain', '--base', base)).code, 0)
    const ls = await dot('ls')
    assert.equal(ls.code, 0, ls.stdout)
    assert.deepEqual(ls.json.map((v) => v.name), ['deep', 'plain'])
    const deep = ls.json.find((v) => v.name === 'deep')!
    assert.ok(deep.changesBytes >= BOTTOM.bytes, `changesBytes ${deep.changesBytes} must count the file at the bottom (${BOTTOM.bytes} bytes)`)
    const inspect = await dot('inspect', 'deep', 'plain')
    assert.equal(inspect.code, 0, inspect.stdout)
    assert.equal(inspect.json[0].changesBytes, deep.changesBytes)
  })

  test('dot rm deletes the deep tree: no .trash-* is left, and dot gc finds nothing failed', async () => {
    const rm = await dot('rm', 'deep')
    assert.equal(rm.code, 0, rm.stdout)
    assert.deepEqual(scratchEntries(tmp.root), [])
    const gc = await dot('gc')
    assert.equal(gc.code, 0, gc.stdout)
    assert.deepEqual((gc.json.findings as {status: string}[]).filter((f) => f.status === 'failed'), [])
  })

  test('the volatile wipe of a deep tree leaves no .trash-* behind', async () => {
    await deepVolume('wiped', true)
    const mounted = await dot('mount', 'wiped')
    assert.equal(mounted.code, 0, mounted.stdout)
    assert.deepEqual(fs.readdirSync(path.join(tmp.root, 'wiped', 'upper')), [], 'the wipe starts the volume afresh')
    assert.deepEqual(scratchEntries(tmp.root), [])
    assert.equal((await dot('unmount', 'wiped')).code, 0)
  })

  test('dot gc deletes a deep .trash-* that a crash left', async () => {
    const trash = path.join(tmp.root, '.trash-gone-0crash0')
    fs.mkdirSync(trash)
    makeDeepTree(trash, DEPTH, BOTTOM)
    const gc = await dot('gc')
    assert.equal(gc.code, 0, gc.stdout)
    const findings = gc.json.findings as {path: string; status: string}[]
    assert.deepEqual(findings.filter((f) => f.path === trash).map((f) => f.status), ['repaired'])
    assert.deepEqual(scratchEntries(tmp.root), [])
  })
})
