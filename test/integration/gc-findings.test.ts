import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {execa} from 'execa'

import type {Finding} from '../../src/core/repair/reconcile.js'
import {assertRoot, rootOnly} from '../helpers/requirements.js'
import {parseJson, runDot} from '../helpers/run-dot.js'
import {TempRoot} from '../helpers/temp-root.js'

/** What `dot gc` finds besides crash leftovers, how it reports it, and its exit codes. */
describe('dot gc findings and exit codes', rootOnly(), () => {
  const tmp = new TempRoot('dot-test-gc-')
  const dot = (...args: string[]) => runDot([...args, '--root', tmp.root], {env: {DOCKER_HOST: `unix://${tmp.dir}/no-docker.sock`}})
  before(assertRoot)
  after(async () => {
    await execa('chattr', ['-R', '-i', tmp.root], {reject: false})
    tmp.cleanup()
  })

  test('a clean root: nothing to repair, exit 0', async () => {
    const base = tmp.base('b', {f: 'x'})
    assert.equal((await dot('create', 'v', '--base', base)).code, 0)
    const human = await dot('gc')
    assert.equal(human.code, 0)
    assert.equal(human.stdout, 'nothing to repair\n')
    const json = parseJson(await dot('gc', '--json')) as {findings: Finding[]; docker: {checked: boolean; reason: string}}
    assert.deepEqual(json.findings, [])
    assert.equal(json.docker.checked, false)
    assert.match(json.docker.reason, /no Docker socket at .*no-docker\.sock/)
  })

  test('unreadable metadata and foreign directories are reported, never deleted; stale locks and temp files are', async () => {
    const base = tmp.base('b2', {f: 'x'})
    assert.equal((await dot('create', 'broken', '--base', base)).code, 0)
    fs.writeFileSync(path.join(tmp.root, 'broken', 'metadata.json'), '{"BaseDirPath": ')
    fs.writeFileSync(path.join(tmp.root, 'broken', 'upper', 'precious'), 'keep me')
    fs.mkdirSync(path.join(tmp.root, 'nometa', 'upper'), {recursive: true})
    fs.mkdirSync(path.join(tmp.root, 'not a volume!'))
    assert.equal((await dot('create', 'w', '--base', base)).code, 0)
    fs.writeFileSync(path.join(tmp.root, 'w', 'activemounts', '.c1.123.abc'), '{"UsageCount": 1}')
    const lock = path.join(tmp.root, '.locks', 'gone.lock')
    fs.mkdirSync(lock, {recursive: true})
    fs.utimesSync(lock, new Date(Date.now() - 120_000), new Date(Date.now() - 120_000))

    const human = await dot('gc', '--dry-run')
    assert.equal(human.code, 0)
    const [header, ...rows] = human.stdout.trimEnd().split('\n')
    assert.match(header, /^VOLUME\s+PROBLEM\s+ACTION\s+PATH$/)
    assert.equal(rows.length, 5)

    const gc = await dot('gc', '--json')
    assert.equal(gc.code, 0, 'report-only findings do not fail gc')
    const {findings} = parseJson(gc) as {findings: Finding[]}
    const byProblem = Object.fromEntries(findings.map((f) => [f.problem.replace(/: .*/, ''), [f.volume ?? '-', f.status]]))
    assert.deepEqual(byProblem, {
      'unreadable metadata': ['broken', 'reported'],
      'not a docker-on-top volume (invalid name)': ['-', 'reported'],
      'volume directory without metadata.json': ['nometa', 'reported'],
      'temp file of an interrupted record write': ['w', 'repaired'],
      'stale lock left by a process that died': ['-', 'repaired'],
    })
    assert.equal(fs.readFileSync(path.join(tmp.root, 'broken', 'upper', 'precious'), 'utf8'), 'keep me')
    assert.ok(fs.existsSync(path.join(tmp.root, 'nometa', 'upper')))
    assert.ok(!fs.existsSync(lock))
    assert.deepEqual(fs.readdirSync(path.join(tmp.root, 'w', 'activemounts')), [])
    fs.rmSync(path.join(tmp.root, 'broken'), {recursive: true})
    fs.rmSync(path.join(tmp.root, 'nometa'), {recursive: true})
    fs.rmSync(path.join(tmp.root, 'not a volume!'), {recursive: true})
  })

  test('a repair that fails is reported as failed and gc exits 1', async () => {
    const trash = path.join(tmp.root, '.trash-x-stuck')
    fs.mkdirSync(trash)
    fs.writeFileSync(path.join(trash, 'immutable'), 'cannot be deleted')
    await execa('chattr', ['+i', path.join(trash, 'immutable')])
    try {
      const gc = await dot('gc', '--json')
      assert.equal(gc.code, 1)
      const {findings} = parseJson(gc) as {findings: Finding[]}
      assert.equal(findings.length, 1)
      assert.equal(findings[0].status, 'failed')
      assert.match(findings[0].action, /^deleted failed: /)
      const human = await dot('gc')
      assert.equal(human.code, 1)
      assert.match(human.stdout, /\.trash-x-stuck/)
    } finally {
      await execa('chattr', ['-i', path.join(trash, 'immutable')])
    }
    assert.equal((await dot('gc')).code, 0)
    assert.ok(!fs.existsSync(trash))
  })

  test("a create in progress in another process (its scratch directory flocked) is skipped; once its holder is killed, swept", async () => {
    const scratch = path.join(tmp.root, '.tmp-building-k3j9x2aa')
    fs.mkdirSync(path.join(scratch, 'upper'), {recursive: true})
    // The lock a create holds from its mkdir to its rename: flock(2) on the scratch directory.
    const holder = execa('flock', ['--no-fork', '--exclusive', scratch, 'sh', '-c', 'echo held; exec sleep 60'], {reject: false})
    await new Promise<void>((resolve) => holder.stdout!.once('data', () => resolve()))
    try {
      const busy = parseJson(await dot('gc', '--json')) as {findings: Finding[]}
      assert.deepEqual(busy.findings, [], 'gc swept or reported a create that is still running')
      assert.ok(fs.existsSync(scratch))
    } finally {
      holder.kill('SIGKILL')
      await holder
    }
    const swept = parseJson(await dot('gc', '--json')) as {findings: Finding[]}
    assert.deepEqual(swept.findings.map((f) => [f.volume, f.problem, f.status]), [['building', 'leftover of an interrupted create', 'repaired']])
    assert.ok(!fs.existsSync(scratch))
  })

  test('the scratch of an interrupted export, import, reset or commit is named as such, with its volume', async () => {
    const base = tmp.base('ops', {f: 'x'})
    assert.equal((await dot('create', 'opsvol', '--base', base)).code, 0)
    const ops = ['export', 'import', 'reset', 'commit']
    for (const op of ops) fs.mkdirSync(path.join(tmp.root, `.tmp-${op}-opsvol-k3j9x2aa`, 'layer'), {recursive: true})
    // A create of a volume whose name merely starts like one (no volume "gone" exists): still a create.
    fs.mkdirSync(path.join(tmp.root, '.tmp-export-gone-k3j9x2aa'))
    const swept = parseJson(await dot('gc', '--json')) as {findings: Finding[]}
    const rows = swept.findings.map((f) => [path.basename(f.path), f.volume, f.problem, f.status]).sort()
    assert.deepEqual(rows, [
      ...ops.map((op) => [`.tmp-${op}-opsvol-k3j9x2aa`, 'opsvol', `leftover of an interrupted ${op}`, 'repaired']),
      ['.tmp-export-gone-k3j9x2aa', 'export-gone', 'leftover of an interrupted create', 'repaired'],
    ].sort())
  })

  test('two overlays stacked on one mountpoint are reported, not touched; the last unmount clears both', async () => {
    const base = tmp.base('b3', {f: 'x'})
    assert.equal((await dot('create', 's', '--base', base)).code, 0)
    const mountpoint = (await dot('mount', 's')).stdout.trim()
    // A second overlay on top (own upper and work dirs here, so the test itself stays defined behaviour).
    for (const d of ['u2', 'w2']) fs.mkdirSync(path.join(tmp.dir, d))
    await execa('mount', ['-t', 'overlay', 'dot-test-stacked', '-o', `lowerdir=${base},upperdir=${tmp.dir}/u2,workdir=${tmp.dir}/w2`, mountpoint])
    const gc = await dot('gc', '--json')
    assert.equal(gc.code, 0)
    const {findings} = parseJson(gc) as {findings: Finding[]}
    assert.deepEqual(findings.map((f) => [f.volume, f.problem, f.status]), [['s', '2 overlays stacked on the mountpoint (a double mount)', 'reported']])
    assert.equal(tmp.mounts().filter((m) => m === mountpoint).length, 2, 'gc touched neither')
    assert.equal((await dot('unmount', 's')).code, 0)
    assert.deepEqual(tmp.mounts(), [])
    assert.deepEqual((parseJson(await dot('gc', '--json')) as {findings: Finding[]}).findings, [])
  })
})
