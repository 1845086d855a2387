import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import fs from 'node:fs'
import {after, before, describe, test} from 'node:test'

import type {Finding} from '../../src/core/repair/finding.js'
import {Layout} from '../../src/core/disk/layout.js'
import {assertRoot, rootOnly} from '../helpers/requirements.js'
import {parseJson, runDot} from '../helpers/run-dot.js'
import {TempRoot} from '../helpers/temp-root.js'
import {overlayCount} from './store-fixtures.js'

/**
 * `dot gc --stale NAME...` judges only the named volumes; a record younger than --grace is left alone
 * (its container may be starting); an unknown name is exit 3. No dockerd here: the records are judged
 * from the kernel alone (nothing holds these overlays).
 */
describe('dot gc --stale NAME... and --grace', rootOnly(), () => {
  const tmp = new TempRoot('dot-test-gc-targets-')
  const layout = new Layout(tmp.root)
  const ids = {a: randomBytes(32).toString('hex'), b: randomBytes(32).toString('hex')}
  const dot = (...args: string[]) => runDot([...args, '--root', tmp.root], {env: {DOCKER_HOST: `unix://${tmp.dir}/no-docker.sock`}})
  const gc = async (...args: string[]) => {
    const result = await dot('gc', '--json', ...args)
    assert.equal(result.code, 0, result.stderr)
    return (parseJson(result) as {findings: Finding[]}).findings.map((f) => [f.volume, f.status, f.action])
  }

  before(async () => {
    assertRoot()
    const base = tmp.base('b', {f: 'x'})
    for (const name of ['a', 'b'] as const) {
      assert.equal((await dot('create', name, '--base', base)).code, 0)
      assert.equal((await dot('mount', name, '--id', ids[name])).code, 0)
    }
  })
  after(() => tmp.cleanup())

  test('a record younger than the grace (5 s by default) is reported, not repaired', async () => {
    const findings = await gc('--stale', 'a')
    assert.equal(findings.length, 1)
    assert.deepEqual(findings[0].slice(0, 2), ['a', 'reported'])
    assert.match(findings[0][2] as string, /left alone: mounted \d+ s ago, its container may still be starting/)
    assert.equal(overlayCount(layout.mountpoint('a')), 1)
  })

  test('only the named volume is repaired', async () => {
    assert.deepEqual(await gc('--stale', '--grace', '0', 'a'), [['a', 'repaired', 'records dropped and overlay unmounted']])
    assert.equal(overlayCount(layout.mountpoint('a')), 0)
    assert.deepEqual(fs.readdirSync(layout.activeMounts('b')), [ids.b])
    assert.equal(overlayCount(layout.mountpoint('b')), 1)
  })

  test('an unknown name is exit 3, naming it', async () => {
    const result = await dot('gc', '--stale', '--json', 'b', 'nosuch')
    assert.equal(result.code, 3)
    assert.match((parseJson(result) as {error: {message: string}}).error.message, /no such volume: nosuch/)
    assert.deepEqual(fs.readdirSync(layout.activeMounts('b')), [ids.b], 'nothing was repaired')
  })
})
