import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {CRASH_POINTS} from '../../src/core/disk/crash-points.js'
import {readLayerIndex} from '../../src/core/disk/layer-index.js'
import {reconcile} from '../../src/core/repair/reconcile.js'
import {VolumeStore} from '../../src/core/volume/store.js'
import {assertRoot, rootOnly} from '../helpers/requirements.js'
import {runDot} from '../helpers/run-dot.js'
import {TempRoot} from '../helpers/temp-root.js'
import {copyView} from './changes-fixture.js'
import {compareTrees, readTree, type Tree} from './recover-tree.js'

/** Points after the index write: the operation has happened, repair finishes it. */
const DECIDED = /:(after-index|after-upper-moved|after-fresh-in)$/

/**
 * kill -9 (DOT_CRASH_AT) at every step of snapshot, rollback and snapshot rm, then `dot gc` or the
 * start-up repair: the view is what it was (or, once the index write decided it, what the command
 * makes of it), nothing is lost or leaked (no mount, no stray layer), and running the command again
 * completes it.
 */
describe('snapshot, rollback and snapshot rm survive a kill -9 at every step', rootOnly(), () => {
  const tmp = new TempRoot('dot-test-snapshots-crash-')
  let store: VolumeStore
  let n = 0
  const dot = (args: string[], crashAt?: string) => runDot([...args, '--root', tmp.root], {timeoutMs: 120_000, env: crashAt ? {DOT_CRASH_AT: crashAt} : {}})
  const view = async (name: string): Promise<Tree> => {
    const dir = path.join(tmp.dir, `view-${n++}`)
    await copyView(store, name, dir)
    return readTree(dir)
  }
  const same = (want: Tree, got: Tree, what: string) => assert.deepEqual(compareTrees(want, got), [], what)
  const tags = (name: string) => readLayerIndex(store.layout, name).layers.map((entry) => entry.tag)
  const write = async (name: string, change: (mp: string) => void) => {
    const mp = await store.mount(name, 'w')
    change(mp)
    await store.unmount(name, 'w')
  }
  /** A volume with snapshots s1 and s2 and changes since; its views at s1 and now. */
  let volumes = 0
  const history = async () => {
    const name = `k${volumes++}`
    await store.create(name, {base: tmp.base(name, {a: 'a\n', 'd/x': 'x\n', 'd/y': 'y\n'})})
    await write(name, (mp) => {
      fs.writeFileSync(path.join(mp, 'f1'), 'one\n')
      fs.rmSync(path.join(mp, 'd/x'))
    })
    assert.equal((await dot(['snapshot', name, 's1'])).code, 0)
    const atS1 = await view(name)
    await write(name, (mp) => {
      fs.writeFileSync(path.join(mp, 'f2'), 'two\n')
      fs.rmSync(path.join(mp, 'a'))
      fs.appendFileSync(path.join(mp, 'f1'), 'more\n')
    })
    assert.equal((await dot(['snapshot', name, 's2'])).code, 0)
    await write(name, (mp) => {
      fs.writeFileSync(path.join(mp, 'f3'), 'three\n')
      fs.rmSync(path.join(mp, 'd'), {recursive: true})
      fs.mkdirSync(path.join(mp, 'd'))
      fs.writeFileSync(path.join(mp, 'd/z'), 'z\n')
    })
    return {name, atS1, now: await view(name)}
  }
  const repairs = {
    'dot gc': async () => {
      const gc = await dot(['gc'])
      assert.equal(gc.code, 0, gc.stdout + gc.stderr)
    },
    'start-up repair': async () => {
      const restarted = await VolumeStore.open({root: tmp.root})
      const findings = await reconcile(restarted.context)
      assert.ok(findings.every((f) => f.status !== 'failed'), JSON.stringify(findings))
    },
  }
  const clean = (name: string) => {
    assert.deepEqual(tmp.mounts(), [], 'no mount leaked')
    assert.deepEqual(fs.readdirSync(tmp.root).filter((e) => e.startsWith('.')), [], 'no scratch entry left')
    const index = readLayerIndex(store.layout, name)
    assert.equal(index.pending, undefined)
    const dirs = fs.existsSync(store.layout.layers(name)) ? fs.readdirSync(store.layout.layers(name)).sort() : []
    assert.deepEqual(dirs, index.layers.length ? ['index.json', ...index.layers.map((e) => e.dir)].sort() : [], 'layers/ holds the index and its layers only')
  }

  before(async () => {
    assertRoot()
    store = await VolumeStore.open({root: tmp.root})
  })
  after(() => tmp.cleanup())

  const SNAPSHOT = CRASH_POINTS.filter((p) => p.startsWith('snapshot:'))
  const ROLLBACK = CRASH_POINTS.filter((p) => p.startsWith('rollback:'))
  const REMOVE = CRASH_POINTS.filter((p) => p.startsWith('snapshot-rm:'))
  test('every snapshot crash point is covered', () => assert.equal(SNAPSHOT.length + ROLLBACK.length + REMOVE.length, 13))

  test('dot gc --dry-run names what a cut-off snapshot left and changes nothing', async () => {
    const {name, now} = await history()
    assert.equal((await dot(['snapshot', name, 's3'], 'snapshot:after-upper-moved')).code, 128)
    const before = fs.readdirSync(store.layout.layers(name)).sort()
    const dry = await dot(['gc', '--dry-run'])
    assert.equal(dry.code, 0, dry.stderr)
    assert.match(dry.stdout, /a snapshot operation .* was cut off after it was decided/)
    assert.deepEqual(fs.readdirSync(store.layout.layers(name)).sort(), before, 'nothing changed')
    assert.equal(fs.existsSync(store.layout.upper(name)), false, 'the upper layer is still where the crash left it')
    await repairs['dot gc']()
    same(now, await view(name), 'view after the repair')
    clean(name)
  })

  for (const [how, runRepair] of Object.entries(repairs)) {
    for (const point of SNAPSHOT) {
      test(`snapshot killed at ${point}, then ${how}: the view is unchanged; snapshot again completes`, async () => {
        const {name, now} = await history()
        assert.equal((await dot(['snapshot', name, 's3'], point)).code, 128)
        await runRepair()
        same(now, await view(name), 'view after the repair')
        assert.deepEqual(tags(name), DECIDED.test(point) ? ['s1', 's2', 's3'] : ['s1', 's2'])
        const again = await dot(['snapshot', name, 's3'])
        assert.equal(again.code, DECIDED.test(point) ? 4 : 0, again.stderr)
        assert.deepEqual(tags(name), ['s1', 's2', 's3'])
        same(now, await view(name), 'view after snapshot again')
        clean(name)
      })
    }
    for (const point of ROLLBACK) {
      test(`rollback killed at ${point}, then ${how}: the old view or s1's; rollback again completes`, async () => {
        const {name, atS1, now} = await history()
        const backup = path.join(tmp.dir, `backup-${n++}.tar`)
        assert.equal((await dot(['rollback', name, 's1', '--backup', backup], point)).code, 128)
        await runRepair()
        same(DECIDED.test(point) ? atS1 : now, await view(name), 'view after the repair')
        const again = await dot(['rollback', name, 's1'])
        assert.equal(again.code, 0, again.stderr)
        same(atS1, await view(name), 'view after rollback again')
        assert.deepEqual(tags(name), ['s1'])
        clean(name)
      })
    }
    for (const [tag, point] of [...REMOVE.map((p) => ['s2', p]), ['s1', 'snapshot-rm:after-merge'], ['s1', 'snapshot-rm:after-index']]) {
      test(`snapshot rm ${tag} killed at ${point}, then ${how}: the view never changes; rm again completes`, async () => {
        const {name, now} = await history()
        assert.equal((await dot(['snapshot', 'rm', name, tag], point)).code, 128)
        await runRepair()
        same(now, await view(name), 'view after the repair')
        const left = ['s1', 's2'].filter((t) => t !== tag)
        assert.deepEqual(tags(name), DECIDED.test(point) ? left : ['s1', 's2'])
        if (!DECIDED.test(point)) assert.equal((await dot(['snapshot', 'rm', name, tag])).code, 0)
        assert.deepEqual(tags(name), left)
        same(now, await view(name), 'view after rm again')
        clean(name)
      })
    }
  }
})
