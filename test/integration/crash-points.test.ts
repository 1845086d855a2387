import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {CRASH_POINTS, type CrashPoint, LIMIT_CRASH_POINTS} from '../../src/core/disk/crash-points.js'
import type {Finding} from '../../src/core/repair/reconcile.js'
import {assertRoot, rootOnly} from '../helpers/requirements.js'
import {parseJson, runDot} from '../helpers/run-dot.js'
import {TempRoot} from '../helpers/temp-root.js'
import {assertGcRepairs, prepareVolume} from './crash-fixtures.js'
import {overlayCount} from './store-fixtures.js'

/**
 * kill -9 at every injected crash point of create, remove, mount and unmount (DOT_CRASH_AT makes the
 * real CLI SIGKILL itself there), then `dot gc`: it must report and repair exactly what the crash left,
 * a second gc must find nothing, and the volume must mount again correctly (one overlay, the base and
 * every change the user did not ask to discard). The cases run concurrently, each in its own root.
 */
interface Case {
  point: CrashPoint
  /** What the volume holds before the crashing command. */
  setup: 'none' | 'changed' | 'mounted'
  volatile?: boolean
  /** The command that crashes. */
  command: string[]
  /** The problems gc must report (and repair), in order. */
  findings: string[]
  /** After gc: does the volume exist, does it keep its change, is it still mounted by the crashed command. */
  exists: boolean
  keepsChange?: boolean
  stillMounted?: boolean
}

const CASES: Case[] = [
  {point: 'create:after-tmp', setup: 'none', command: ['create'], findings: ['leftover of an interrupted create'], exists: false},
  {point: 'create:before-rename', setup: 'none', command: ['create'], findings: ['leftover of an interrupted create'], exists: false},
  {point: 'create:after-rename', setup: 'none', command: ['create'], findings: [], exists: true, keepsChange: false},
  {point: 'remove:after-unmount', setup: 'changed', command: ['rm', 'v'], findings: [], exists: true, keepsChange: true},
  {point: 'remove:after-rename', setup: 'changed', command: ['rm', 'v'], findings: ['leftover of an interrupted delete or volatile wipe'], exists: false},
  {point: 'mount:after-wipe', setup: 'changed', command: ['mount', 'v', '--id', 'crash'], findings: [], exists: true, keepsChange: true},
  {
    point: 'mount:after-wipe',
    setup: 'changed',
    volatile: true,
    command: ['mount', 'v', '--id', 'crash'],
    // The wipe was asked for (a volatile first mount); the moved-aside upper is trash now.
    findings: ['leftover of an interrupted delete or volatile wipe'],
    exists: true,
    keepsChange: false,
  },
  {point: 'mount:before-mount', setup: 'changed', command: ['mount', 'v', '--id', 'crash'], findings: [], exists: true, keepsChange: true},
  {point: 'mount:after-mount', setup: 'changed', command: ['mount', 'v', '--id', 'crash'], findings: ['overlay mounted with no mount records'], exists: true, keepsChange: true},
  // The mount completed and was recorded: a legitimate use that outlives the process, not garbage.
  {point: 'mount:after-record', setup: 'changed', command: ['mount', 'v', '--id', 'crash'], findings: [], exists: true, keepsChange: true, stillMounted: true},
  {point: 'unmount:after-record', setup: 'mounted', command: ['unmount', 'v', '--id', 'crash'], findings: ['overlay mounted with no mount records'], exists: true, keepsChange: true},
  {point: 'unmount:after-unmount', setup: 'mounted', command: ['unmount', 'v', '--id', 'crash'], findings: [], exists: true, keepsChange: true},
]

describe('crash at each step, then dot gc', {...rootOnly(), concurrency: true}, () => {
  const roots: TempRoot[] = []
  before(assertRoot)
  after(() => roots.forEach((r) => r.cleanup()))

  test('every crash point of the store is covered', () => {
    // Those of reset, commit and import are covered by changes-crash.test.ts, the snapshot ones by
    // snapshots-crash.test.ts, the size limit's by size-limit-crash.test.ts, the rewrite of a metadata.json
    // lost to a power cut by store-power-cut.test.ts.
    const store = CRASH_POINTS.filter((p) => !/^(import|reset|commit|snapshot|rollback|snapshot-rm|repair):/.test(p) && !LIMIT_CRASH_POINTS.includes(p))
    assert.deepEqual([...new Set(CASES.map((c) => c.point))].sort(), [...store].sort())
  })

  for (const c of CASES) {
    test(`kill -9 at ${c.point}${c.volatile ? ' (volatile)' : ''}`, async () => {
      const tmp = new TempRoot('dot-test-crash-')
      roots.push(tmp)
      const base = tmp.base('b', {'base.txt': 'from the base\n'})
      const dot = async (args: string[], env: NodeJS.ProcessEnv = {}) => runDot([...args, '--root', tmp.root], {env})
      const ok = async (args: string[]) => {
        const result = await dot(args)
        assert.equal(result.code, 0, `dot ${args.join(' ')}: ${result.stderr}`)
        return result.stdout.trim()
      }
      const create = ['create', 'v', '--base', base, ...(c.volatile ? ['--volatile'] : [])]
      const mountpoint = path.join(tmp.root, 'v', 'mountpoint')
      await prepareVolume(ok, create, mountpoint, c.setup)

      const crashed = await dot(c.command[0] === 'create' ? create : c.command, {DOT_CRASH_AT: c.point})
      assert.equal(crashed.code, 128, `killed by SIGKILL at ${c.point}; stderr: ${crashed.stderr}`)

      await assertGcRepairs((args) => dot(args), tmp.root, c.findings)

      if (!c.exists) {
        assert.ok(!fs.existsSync(path.join(tmp.root, 'v')), 'the volume is gone')
        await ok(create) // and its name is free again
      }
      assert.equal(overlayCount(mountpoint), c.stillMounted ? 1 : 0)
      assert.equal(await ok(['mount', 'v', '--id', 'after']), mountpoint)
      assert.equal(overlayCount(mountpoint), 1, 'exactly one overlay, never stacked')
      assert.equal(fs.readFileSync(path.join(mountpoint, 'base.txt'), 'utf8'), 'from the base\n')
      assert.equal(fs.existsSync(path.join(mountpoint, 'change.txt')), c.keepsChange ?? false)
      if (c.keepsChange) assert.equal(fs.readFileSync(path.join(mountpoint, 'change.txt'), 'utf8'), 'a change to keep\n')
      fs.writeFileSync(path.join(mountpoint, 'after.txt'), 'written after the crash\n')

      await ok(['unmount', 'v', '--id', 'after'])
      if (c.stillMounted) await ok(['unmount', 'v', '--id', 'crash'])
      assert.deepEqual(tmp.mounts(), [])
      assert.deepEqual((parseJson(await dot(['gc', '--json'])) as {findings: Finding[]}).findings, [])
      await ok(['mount', 'v', '--id', 'again'])
      // A normal volume keeps what was written after the crash; a volatile one discards it, as asked.
      if (c.volatile) assert.ok(!fs.existsSync(path.join(mountpoint, 'after.txt')))
      else assert.equal(fs.readFileSync(path.join(mountpoint, 'after.txt'), 'utf8'), 'written after the crash\n')
      await ok(['unmount', 'v', '--id', 'again'])
      if (c.point === 'remove:after-unmount') await ok(['rm', 'v']) // the interrupted remove can be finished
    })
  }
})
