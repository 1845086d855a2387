import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {CRASH_POINTS, type CrashPoint, LIMIT_CRASH_POINTS} from '../../src/core/disk/crash-points.js'
import {parseMountinfo} from '../../src/core/kernel/mountinfo.js'
import type {Finding} from '../../src/core/repair/reconcile.js'
import {assertRoot, rootOnly} from '../helpers/requirements.js'
import {parseJson, runDot} from '../helpers/run-dot.js'
import {loopsBelow, TempRoot} from '../helpers/temp-root.js'
import {assertGcRepairs, prepareVolume} from './crash-fixtures.js'
import {overlayCount} from './store-fixtures.js'

/**
 * kill -9 at every crash point of create, mount, unmount and remove of a size-limited (ext4 image) and
 * of a tmpfs volume, then `dot gc`: it repairs exactly what was left, a second gc finds nothing, no
 * loop device is left without its mount, no scratch entry is left, and the volume mounts again with
 * what it should keep. The cases run concurrently, each in its own root.
 */
type Kind = 'image' | 'volatile-image' | 'tmpfs'
interface Case {
  point: CrashPoint
  kind: Kind
  setup: 'none' | 'changed' | 'mounted'
  command: string[]
  findings: string[]
  exists: boolean
  keepsChange?: boolean
  stillMounted?: boolean
}

const LEFTOVER_CREATE = 'leftover of an interrupted create'
const NO_RECORDS = 'overlay mounted with no mount records'
const TMPFS = 'tmpfs with no overlay (a first mount or last unmount cut off)'
const MOUNT = ['mount', 'v', '--id', 'crash']
const UNMOUNT = ['unmount', 'v', '--id', 'crash']

const imageCases: Case[] = [
  {point: 'create:after-tmp', kind: 'image', setup: 'none', command: ['create'], findings: [LEFTOVER_CREATE], exists: false},
  {point: 'create:after-image', kind: 'image', setup: 'none', command: ['create'], findings: [LEFTOVER_CREATE], exists: false},
  {point: 'create:before-rename', kind: 'image', setup: 'none', command: ['create'], findings: [LEFTOVER_CREATE], exists: false},
  {point: 'create:after-rename', kind: 'image', setup: 'none', command: ['create'], findings: [], exists: true, keepsChange: false},
  {point: 'limit:after-mount', kind: 'image', setup: 'changed', command: ['diff', 'v'], findings: [], exists: true, keepsChange: true},
  {point: 'mount:after-limit', kind: 'image', setup: 'changed', command: MOUNT, findings: [], exists: true, keepsChange: true},
  {point: 'mount:after-wipe', kind: 'image', setup: 'changed', command: MOUNT, findings: [], exists: true, keepsChange: true},
  {point: 'mount:after-wipe', kind: 'volatile-image', setup: 'changed', command: MOUNT, findings: ['leftover of an interrupted volatile wipe or reset'], exists: true, keepsChange: false},
  {point: 'mount:before-mount', kind: 'image', setup: 'changed', command: MOUNT, findings: [], exists: true, keepsChange: true},
  {point: 'mount:after-mount', kind: 'image', setup: 'changed', command: MOUNT, findings: [NO_RECORDS], exists: true, keepsChange: true},
  {point: 'mount:after-record', kind: 'image', setup: 'changed', command: MOUNT, findings: [], exists: true, keepsChange: true, stillMounted: true},
  {point: 'unmount:after-record', kind: 'image', setup: 'mounted', command: UNMOUNT, findings: [NO_RECORDS], exists: true, keepsChange: true},
  {point: 'unmount:after-unmount', kind: 'image', setup: 'mounted', command: UNMOUNT, findings: [], exists: true, keepsChange: true},
  {point: 'remove:after-unmount', kind: 'image', setup: 'changed', command: ['rm', 'v'], findings: [], exists: true, keepsChange: true},
  {point: 'remove:after-limit-unmount', kind: 'image', setup: 'changed', command: ['rm', 'v'], findings: [], exists: true, keepsChange: true},
  {point: 'remove:after-rename', kind: 'image', setup: 'changed', command: ['rm', 'v'], findings: ['leftover of an interrupted delete or volatile wipe'], exists: false},
]
const tmpfsCases: Case[] = [
  {point: 'create:before-rename', kind: 'tmpfs', setup: 'none', command: ['create'], findings: [LEFTOVER_CREATE], exists: false},
  {point: 'mount:after-limit', kind: 'tmpfs', setup: 'changed', command: MOUNT, findings: [TMPFS], exists: true, keepsChange: false},
  {point: 'mount:before-mount', kind: 'tmpfs', setup: 'changed', command: MOUNT, findings: [TMPFS], exists: true, keepsChange: false},
  {point: 'mount:after-mount', kind: 'tmpfs', setup: 'changed', command: MOUNT, findings: [NO_RECORDS, TMPFS], exists: true, keepsChange: false},
  {point: 'mount:after-record', kind: 'tmpfs', setup: 'changed', command: MOUNT, findings: [], exists: true, stillMounted: true},
  {point: 'unmount:after-record', kind: 'tmpfs', setup: 'mounted', command: UNMOUNT, findings: [NO_RECORDS, TMPFS], exists: true, keepsChange: false},
  {point: 'unmount:before-tmpfs', kind: 'tmpfs', setup: 'mounted', command: UNMOUNT, findings: [TMPFS], exists: true, keepsChange: false},
  {point: 'remove:after-limit-unmount', kind: 'tmpfs', setup: 'changed', command: ['rm', 'v'], findings: [], exists: true, keepsChange: false},
  {point: 'remove:after-rename', kind: 'tmpfs', setup: 'mounted', command: ['rm', 'v', '--force'], findings: ['leftover of an interrupted delete or volatile wipe'], exists: false},
]

function createArgs(kind: Kind, base: string): string[] {
  if (kind === 'tmpfs') return ['create', 'v', '--base', base, '--volatile', '--tmpfs', '--size', '16M']
  return ['create', 'v', '--base', base, '--size', '16M', ...(kind === 'volatile-image' ? ['--volatile'] : [])]
}

describe('size limit: crash at each step, then dot gc', {...rootOnly(), concurrency: true}, () => {
  const roots: TempRoot[] = []
  before(assertRoot)
  after(() => roots.forEach((r) => r.cleanup()))

  test('every crash point only a size limit reaches is covered, for an image and for tmpfs where it applies', () => {
    assert.deepEqual([...new Set(imageCases.map((c) => c.point))].filter((p) => LIMIT_CRASH_POINTS.includes(p)).sort(), LIMIT_CRASH_POINTS.filter((p) => p !== 'unmount:before-tmpfs').sort())
    assert.ok(tmpfsCases.some((c) => c.point === 'unmount:before-tmpfs'))
    const store = CRASH_POINTS.filter((p) => /^(create|mount|unmount|remove):/.test(p) && p !== 'unmount:before-tmpfs')
    assert.deepEqual([...new Set(imageCases.map((c) => c.point))].filter((p) => !p.startsWith('limit:')).sort(), [...store].sort())
  })

  for (const c of [...imageCases, ...tmpfsCases]) {
    test(`kill -9 at ${c.point} (${c.kind})`, async () => {
      const tmp = new TempRoot('dot-test-size-crash-')
      roots.push(tmp)
      const base = tmp.base('b', {'base.txt': 'from the base\n'})
      const dot = (args: string[], env: NodeJS.ProcessEnv = {}) => runDot([...args, '--root', tmp.root], {env})
      const ok = async (args: string[]) => {
        const result = await dot(args)
        assert.equal(result.code, 0, `dot ${args.join(' ')}: ${result.stderr}`)
        return result.stdout.trim()
      }
      const create = createArgs(c.kind, base)
      const mountpoint = path.join(tmp.root, 'v', 'mountpoint')
      await prepareVolume(ok, create, mountpoint, c.setup)
      if (c.point === 'limit:after-mount') await unmountImage(path.join(tmp.root, 'v', 'limit'))

      const crashed = await dot(c.command[0] === 'create' ? create : c.command, {DOT_CRASH_AT: c.point})
      assert.equal(crashed.code, 128, `killed by SIGKILL at ${c.point}; stderr: ${crashed.stderr}`)

      await assertGcRepairs((args) => dot(args), tmp.root, c.findings)
      assertNoLeakedLoop(tmp.root)

      if (!c.exists) {
        assert.ok(!fs.existsSync(path.join(tmp.root, 'v')), 'the volume is gone')
        assert.deepEqual(loopsBelow(tmp.root), [])
        await ok(create)
      }
      assert.equal(overlayCount(mountpoint), c.stillMounted ? 1 : 0)
      assert.equal(await ok(['mount', 'v', '--id', 'after']), mountpoint)
      assert.equal(overlayCount(mountpoint), 1, 'exactly one overlay, never stacked')
      assert.equal(fs.readFileSync(path.join(mountpoint, 'base.txt'), 'utf8'), 'from the base\n')
      if (!c.stillMounted) assert.equal(fs.existsSync(path.join(mountpoint, 'change.txt')), c.keepsChange ?? false)
      await ok(['unmount', 'v', '--id', 'after'])
      if (c.stillMounted) await ok(['unmount', 'v', '--id', 'crash'])
      assert.deepEqual((parseJson(await dot(['gc', '--json'])) as {findings: Finding[]}).findings, [])
      await ok(['rm', 'v'])
      assert.deepEqual(tmp.mounts(), [], 'dot rm leaves no mount')
      assert.deepEqual(loopsBelow(tmp.root), [], 'dot rm leaves no loop device')
    })
  }
})

/** As after a reboot: the image no longer mounted (diff then mounts it on demand). */
async function unmountImage(dir: string): Promise<void> {
  const {execFileSync} = await import('node:child_process')
  execFileSync('umount', [dir])
}

/** Every loop device backed by an image below the root is in use by a mount. */
function assertNoLeakedLoop(root: string): void {
  const sources = new Set(parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8')).map((e) => e.source))
  for (const device of loopsBelow(root)) assert.ok(sources.has(device), `${device} is attached with no mount`)
}

describe('size limit: an import into the image survives a kill -9 at every step', rootOnly(), () => {
  const tmp = new TempRoot('dot-test-size-import-crash-')
  let base = ''
  let layer = ''
  let expected = ''
  const dot = (args: string[], env: NodeJS.ProcessEnv = {}) => runDot([...args, '--root', tmp.root], {env})
  const ok = async (args: string[]) => {
    const result = await dot(args)
    assert.equal(result.code, 0, `dot ${args.join(' ')}: ${result.stderr}`)
    return result.stdout.trim()
  }
  before(async () => {
    assertRoot()
    base = tmp.base('b', {'base.txt': 'from the base\n', 'old.txt': 'deleted by the layer\n'})
    await ok(['create', 'src', '--base', base])
    const mp = await ok(['mount', 'src'])
    fs.mkdirSync(path.join(mp, 'dir'))
    fs.writeFileSync(path.join(mp, 'dir', 'new.txt'), 'from the layer\n')
    fs.rmSync(path.join(mp, 'old.txt'))
    await ok(['unmount', 'src'])
    layer = path.join(tmp.dir, 'layer.tar')
    await ok(['export', 'src', '--to', layer])
    expected = await ok(['diff', 'src'])
  })
  after(() => tmp.cleanup())

  const cases: Array<[CrashPoint, string[], 'gc' | 'remount']> = [
    ['import:after-extract', ['leftover of an interrupted import'], 'gc'],
    ['import:after-plan', ['an import cut off while applying its layer'], 'gc'],
    ['import:entry-trashed', ['an import cut off while applying its layer'], 'gc'],
    ['import:after-plan', [], 'remount'],
  ]
  let n = 0
  for (const [point, findings, repairBy] of cases) {
    test(`kill -9 at ${point}, then ${repairBy === 'gc' ? 'dot gc' : 'a reboot and the next mount'}`, async () => {
      const name = `v${n++}`
      await ok(['create', name, '--base', base, '--size', '16M'])
      const mp = await ok(['mount', name])
      fs.writeFileSync(path.join(mp, 'mine.txt'), 'kept\n') // a non-empty upper: the journalled apply
      await ok(['unmount', name])
      const crashed = await dot(['import', name, '--from', layer], {DOT_CRASH_AT: point})
      assert.equal(crashed.code, 128, crashed.stderr)
      const limit = path.join(tmp.root, name, 'limit')
      if (repairBy === 'gc') {
        await assertGcRepairs((args) => dot(args), tmp.root, findings)
      } else {
        await unmountImage(limit) // as a reboot would; the next use mounts it and finishes the import first
        await ok(['mount', name])
        await ok(['unmount', name])
        await assertGcRepairs((args) => dot(args), tmp.root, [])
      }
      const diff = await ok(['diff', name])
      const lines = diff.split('\n')
      assert.ok(lines.includes('A /mine.txt'), diff)
      // Nothing of the layer, or all of it: never a half-applied one.
      for (const line of expected.split('\n')) assert.equal(lines.includes(line), point !== 'import:after-extract', `${line} in ${diff}`)
      assert.deepEqual(fs.readdirSync(limit).filter((e) => e.startsWith('.')), [], 'no scratch left on the image')
      assertNoLeakedLoop(tmp.root)
    })
  }
})
