import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {METADATA_TEMP, METADATA_XATTR} from '../../src/core/disk/metadata-copy.js'
import {getXattr, removeXattr} from '../../src/core/kernel/xattrs.js'
import type {Finding} from '../../src/core/repair/reconcile.js'
import {VolumeStore} from '../../src/core/volume/store.js'
import {assertRoot, rootOnly} from '../helpers/requirements.js'
import {parseJson, runDot} from '../helpers/run-dot.js'
import {TempRoot} from '../helpers/temp-root.js'
import {overlayCount} from './store-fixtures.js'

const LOST = 'metadata.json empty or zero-filled (lost to a power cut)'

/**
 * What a power cut leaves of a new volume on a root that keeps metadata in order but had not written
 * metadata.json's data yet (delayed allocation, docs/rules.md rule 7): the file empty or zero-filled,
 * the xattr copy on the volume's directory intact. The volume stays usable; `dot gc` (and start-up)
 * rewrite the file from the copy. Without a copy (the Go original's volumes, a create without
 * CAP_SYS_ADMIN) it is reported as before and never deleted.
 */
describe('after a power cut: metadata.json lost, its xattr copy kept', rootOnly(), () => {
  let tmp: TempRoot
  let store: VolumeStore
  const warnings: string[] = []
  const dot = (...args: string[]) => runDot([...args, '--root', tmp.root])
  const gcFindings = async (...args: string[]) => {
    const gc = await dot('gc', '--json', ...args)
    assert.equal(gc.code, 0, gc.stderr)
    return (parseJson(gc) as {findings: Finding[]}).findings.map((f) => [f.volume, f.problem.replace(/: .*/, ''), f.status])
  }
  before(async () => {
    assertRoot()
    tmp = new TempRoot('dot-test-power-cut-')
    const logger = {debug() {}, info() {}, warn: (m: string) => warnings.push(m), error: (m: string) => warnings.push(m)}
    store = await VolumeStore.open({root: tmp.root, logger})
  })
  after(async () => {
    await store?.close()
    tmp?.cleanup()
  })

  for (const [name, what, lost] of [
    ['empty', 'truncated to 0 bytes', ''],
    ['zeroed', 'filled with NUL bytes', '\0'.repeat(120)],
  ] as const) {
    test(`metadata.json ${what}: Get, List, inspect and Mount use the copy; dot gc rewrites the file and says so`, async () => {
      const base = tmp.base(name, {'base.txt': 'from the base\n'})
      await store.create(name, {base, volatile: 'true'})
      const file = store.layout.metadata(name)
      const copy = getXattr(store.layout.volume(name), METADATA_XATTR)?.toString('utf8')
      assert.equal(copy, fs.readFileSync(file, 'utf8'))
      fs.writeFileSync(file, lost)

      assert.equal((await store.get(name)).base, base)
      assert.equal((await store.get(name)).volatile, true)
      assert.deepEqual((await store.list()).map((v) => [v.name, v.base]), [[name, base]])
      assert.equal(warnings.filter((w) => w.includes(`volume "${name}"`) && w.includes(`using the copy in ${METADATA_XATTR}`)).length, 1, `warned once: ${warnings.join('\n')}`)
      const inspect = await dot('inspect', name) // a JSON array too; warnings on stderr (none under --json)
      assert.equal(inspect.code, 0, inspect.stderr)
      assert.deepEqual((parseJson(inspect) as {base: string}[]).map((v) => v.base), [base])
      assert.match(inspect.stderr, /^dot inspect: warning: volume ".*": .*metadata\.json is (empty|zero-filled) \(a power cut before it reached the disk\); using the copy[^\n]*\n$/)
      const mountpoint = await store.mount(name, 'c1')
      assert.equal(overlayCount(mountpoint), 1)
      assert.equal(fs.readFileSync(path.join(mountpoint, 'base.txt'), 'utf8'), 'from the base\n')
      await store.unmount(name, 'c1')

      assert.deepEqual(await gcFindings('--dry-run'), [[name, LOST, 'would-repair']])
      assert.equal(fs.readFileSync(file, 'utf8'), lost, '--dry-run changed nothing')
      assert.deepEqual(await gcFindings(), [[name, LOST, 'repaired']])
      assert.equal(fs.readFileSync(file, 'utf8'), copy)
      assert.equal(JSON.parse(fs.readFileSync(file, 'utf8')).BaseDirPath, base)
      assert.equal(fs.statSync(file).mode & 0o777, 0o644)
      assert.deepEqual(fs.readdirSync(store.layout.volume(name)).filter((n) => n.startsWith('.')), [])
      assert.deepEqual(await gcFindings(), [], 'a second gc finds nothing')
      await store.remove(name)
    })
  }

  test('a volume without the copy and an empty metadata.json: reported, never deleted, its changes kept', async () => {
    await store.create('nocopy', {base: tmp.base('b2')})
    removeXattr(store.layout.volume('nocopy'), METADATA_XATTR) // as the Go original or a create without CAP_SYS_ADMIN left it
    fs.writeFileSync(path.join(store.layout.upper('nocopy'), 'precious'), 'keep me')
    fs.writeFileSync(store.layout.metadata('nocopy'), '')
    await assert.rejects(store.get('nocopy'), /volume "nocopy" has unreadable metadata .*not valid JSON/)
    assert.deepEqual(await gcFindings(), [['nocopy', 'unreadable metadata', 'reported']])
    assert.equal(fs.readFileSync(path.join(store.layout.upper('nocopy'), 'precious'), 'utf8'), 'keep me')
    assert.equal(fs.readFileSync(store.layout.metadata('nocopy'), 'utf8'), '')
    fs.rmSync(store.layout.volume('nocopy'), {recursive: true})
  })

  test('torn or hand-broken JSON is not a power cut\'s: reported and left as it is, copy or not', async () => {
    await store.create('torn', {base: tmp.base('b3')})
    fs.writeFileSync(store.layout.metadata('torn'), '{"BaseDirPath": "/tru')
    await assert.rejects(store.get('torn'), /unreadable metadata/)
    assert.deepEqual(await gcFindings(), [['torn', 'unreadable metadata', 'reported']])
    assert.equal(fs.readFileSync(store.layout.metadata('torn'), 'utf8'), '{"BaseDirPath": "/tru')
    fs.rmSync(store.layout.volume('torn'), {recursive: true})
  })

  test('kill -9 of dot gc before the rewrite\'s rename: the file still empty, the next gc rewrites it and drops the temp', async () => {
    await store.create('cut', {base: tmp.base('b4')})
    const file = store.layout.metadata('cut')
    const copy = fs.readFileSync(file, 'utf8')
    fs.writeFileSync(file, '')
    const crashed = await runDot(['gc', '--root', tmp.root], {env: {DOT_CRASH_AT: 'repair:before-metadata-rename'}})
    assert.equal(crashed.code, 128, crashed.stderr)
    assert.equal(fs.readFileSync(file, 'utf8'), '')
    assert.equal(fs.readFileSync(path.join(store.layout.volume('cut'), METADATA_TEMP), 'utf8'), copy)
    assert.deepEqual(await gcFindings(), [['cut', LOST, 'repaired']])
    assert.equal(fs.readFileSync(file, 'utf8'), copy)
    assert.ok(!fs.existsSync(path.join(store.layout.volume('cut'), METADATA_TEMP)))
    assert.deepEqual(await gcFindings(), [])
    await store.remove('cut')
  })
})
