import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {CRASH_POINTS} from '../../src/core/disk/crash-points.js'
import {VolumeStore} from '../../src/core/volume/store.js'
import {assertRoot, rootOnly} from '../helpers/requirements.js'
import {runDot} from '../helpers/run-dot.js'
import {TempRoot} from '../helpers/temp-root.js'
import {copyTree, copyView, fixtureBase, writeFixture} from './changes-fixture.js'
import {compareTrees, readTree, type Tree} from './recover-tree.js'

const SMALL = {sparseBytes: 8 * 1024 * 1024, many: 50}

/**
 * kill -9 (DOT_CRASH_AT) at each step of commit, import and reset, then `dot gc`: nothing is lost, the
 * merged view is what it was before (or, once the step that decides it has passed, what the command
 * makes of it), nothing is left behind, and running the command again completes it.
 */
describe('commit, import and reset survive a kill -9 at every step', rootOnly(), () => {
  const tmp = new TempRoot('dot-test-changes-crash-')
  let store: VolumeStore
  let n = 0
  const dot = (args: string[], crashAt?: string) => runDot([...args, '--root', tmp.root], {timeoutMs: 120_000, env: crashAt ? {DOT_CRASH_AT: crashAt} : {}})
  const view = async (name: string): Promise<Tree> => {
    const dir = path.join(tmp.dir, `view-${n++}`)
    await copyView(store, name, dir)
    return readTree(dir)
  }
  const same = (a: Tree, b: Tree) => assert.deepEqual(compareTrees(a, b, {ignoreRootMtime: true}), [])
  const crashed = async (args: string[], point: string) => {
    const result = await dot(args, point)
    assert.equal(result.code, 128, `${args.join(' ')} was killed at ${point}: ${result.stderr}`)
    const gc = await dot(['gc'])
    assert.equal(gc.code, 0, gc.stdout + gc.stderr)
    return gc
  }
  const leftovers = () => fs.readdirSync(tmp.root).filter((e) => e.startsWith('.'))
  let volumes = 0
  const fixtureVolume = async () => {
    const name = `c${volumes++}`
    const base = fixtureBase(tmp, name)
    await store.create(name, {base})
    await writeFixture(store, name, base, SMALL)
    return {name, base}
  }

  before(async () => {
    assertRoot()
    store = await VolumeStore.open({root: tmp.root})
  })
  after(() => tmp.cleanup())

  const COMMIT_POINTS = ['commit:after-redirects', 'commit:after-deletions', 'commit:after-copy', 'commit:entry-removed']
  const IMPORT_POINTS = ['import:after-plan', 'import:entry-trashed', 'import:after-apply']
  test('every crash point of reset, commit and import is covered here', () => {
    const covered = [...COMMIT_POINTS, 'import:after-extract', ...IMPORT_POINTS, 'reset:after-backup', 'reset:after-exchange']
    assert.deepEqual(covered.sort(), CRASH_POINTS.filter((p) => /^(import|reset|commit):/.test(p)).sort())
  })

  for (const point of COMMIT_POINTS) {
    test(`commit killed at ${point}: the view is unchanged, and commit again completes it`, async () => {
      const {name, base} = await fixtureVolume()
      const before = await view(name)
      const gc = await crashed(['commit', name, '--yes'], point)
      assert.match(gc.stdout + gc.stderr, new RegExp(`a commit of the volume was cut off.*run dot commit ${name} again`))
      same(before, await view(name))
      assert.ok(fs.existsSync(path.join(tmp.root, name, 'commit.json')), 'the commit is marked as under way')
      const again = await dot(['commit', name, '--yes', '--json'])
      assert.equal(again.code, 0, again.stdout)
      assert.match(again.stdout, /"resumed": true/)
      same(before, await readTree(base))
      assert.deepEqual(fs.readdirSync(store.layout.upper(name)), [])
      same(before, await view(name))
      assert.deepEqual(leftovers(), [])
    })
  }

  // A layer of changes to apply over a volume that has changes of its own (the journal path).
  const importCase = async () => {
    const source = await fixtureVolume()
    const layer = path.join(tmp.dir, `${source.name}.tar`)
    assert.equal((await dot(['export', source.name, '--to', layer])).code, 0)
    // Two volumes alike to the nanosecond: the same base (copied), the same changes of their own.
    const expected = `${source.name}-expected`
    const victim = `${source.name}-crashed`
    const base = fixtureBase(tmp, expected)
    await store.create(expected, {base})
    const mp = await store.mount(expected, 'own')
    fs.writeFileSync(path.join(mp, 'own-change.txt'), 'the volume had changes before the import\n')
    fs.appendFileSync(path.join(mp, 'modify.txt'), 'changed here too\n')
    fs.mkdirSync(path.join(mp, 'newdir'))
    fs.writeFileSync(path.join(mp, 'newdir', 'mine'), 'merged with the layer\n')
    await store.unmount(expected, 'own')
    const victimBase = path.join(tmp.dir, 'bases', victim)
    await copyTree(base, victimBase)
    await store.create(victim, {base: victimBase})
    await copyTree(store.layout.upper(expected), store.layout.upper(victim))
    const args = (name: string) => ['import', name, '--from', layer, '--allow-devices', '--allow-links-out']
    assert.equal((await dot(args(expected))).code, 0)
    return {expected: await view(expected), victim, args: args(victim)}
  }

  test('import killed after the layer is extracted: the volume is unchanged, gc sweeps, import again completes', async () => {
    const {expected, victim, args} = await importCase()
    const before = await view(victim)
    await crashed(args, 'import:after-extract')
    same(before, await view(victim))
    assert.deepEqual(leftovers(), [])
    assert.equal((await dot(args)).code, 0)
    same(expected, await view(victim))
  })

  for (const point of IMPORT_POINTS) {
    test(`import killed at ${point}: dot gc finishes the apply, import again changes nothing more`, async () => {
      const {expected, victim, args} = await importCase()
      const gc = await crashed(args, point)
      if (point !== 'import:after-apply') assert.match(gc.stdout + gc.stderr, /an import cut off while applying its layer/)
      same(expected, await view(victim))
      assert.deepEqual(leftovers(), [])
      assert.equal((await dot(args)).code, 0)
      same(expected, await view(victim))
    })
  }

  test('reset killed after its backup: the volume keeps its changes, the backup is whole; reset again completes', async () => {
    const {name} = await fixtureVolume()
    const before = await view(name)
    const backup = path.join(tmp.dir, `${name}-backup.tar`)
    await crashed(['reset', name, '--backup', backup], 'reset:after-backup')
    same(before, await view(name))
    assert.ok(fs.statSync(backup).size > 0)
    assert.deepEqual(leftovers(), [])
    const again = await dot(['reset', name])
    assert.equal(again.code, 0, again.stderr)
    assert.deepEqual(fs.readdirSync(store.layout.upper(name)), [])
    assert.equal((await dot(['import', name, '--from', backup, '--allow-devices', '--allow-links-out'])).code, 0)
    same(before, await view(name))
  })

  test('reset killed after the swap: the changes are gone, gc deletes the old layer', async () => {
    const {name} = await fixtureVolume()
    await crashed(['reset', name], 'reset:after-exchange')
    assert.deepEqual(fs.readdirSync(store.layout.upper(name)), [])
    assert.deepEqual(leftovers(), [])
    assert.equal((await dot(['diff', name])).stdout, '')
    assert.equal((await dot(['reset', name])).code, 0)
  })
})
