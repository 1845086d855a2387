import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {execa} from 'execa'

import type {Finding} from '../../src/core/repair/reconcile.js'
import {assertRoot, rootOnly} from '../helpers/requirements.js'
import {DOT_BIN, parseJson, runDot} from '../helpers/run-dot.js'
import {TempRoot} from '../helpers/temp-root.js'
import {overlayCount} from './store-fixtures.js'

const problems = (findings: Finding[]) => findings.map((f) => `${f.volume ?? '-'}: ${f.problem}`)

describe('gc after a reboot and after a killed recover', {...rootOnly(), concurrency: true}, () => {
  const roots: TempRoot[] = []
  before(assertRoot)
  after(() => roots.forEach((r) => r.cleanup()))
  const setup = () => {
    const tmp = new TempRoot('dot-test-crash-reboot-')
    roots.push(tmp)
    const dot = (...args: string[]) => runDot([...args, '--root', tmp.root])
    const ok = async (...args: string[]) => {
      const result = await dot(...args)
      assert.equal(result.code, 0, `dot ${args.join(' ')}: ${result.stderr}`)
      return result.stdout.trim()
    }
    return {tmp, dot, ok}
  }

  test('overlays unmounted behind our back (a reboot): records dropped, changes kept, volumes mount again', async () => {
    const {tmp, dot, ok} = setup()
    const base = tmp.base('b', {'base.txt': 'base\n'})
    for (const name of ['one', 'two']) {
      await ok('create', name, '--base', base)
      await ok('mount', name, '--id', 'c1')
      fs.writeFileSync(path.join(tmp.root, name, 'mountpoint', 'change.txt'), `${name} changed\n`)
    }
    await ok('mount', 'two', '--id', 'c2')
    // What a reboot does: the overlays vanish, the records and directories stay.
    for (const name of ['one', 'two']) await execa('umount', [path.join(tmp.root, name, 'mountpoint')])

    const dry = await dot('gc', '--dry-run', '--json')
    assert.equal(dry.code, 0)
    const dryFindings = (parseJson(dry) as {findings: Finding[]}).findings
    assert.ok(dryFindings.every((f) => f.status === 'would-repair' && f.action.startsWith('would be ')))
    assert.ok(fs.existsSync(path.join(tmp.root, 'one', 'activemounts', 'c1')), '--dry-run changed nothing')

    const gc = await dot('gc', '--json')
    assert.equal(gc.code, 0, gc.stderr)
    const {findings} = parseJson(gc) as {findings: Finding[]}
    assert.deepEqual(problems(findings), [
      'one: 1 mount record(s) (c1) but no overlay mounted',
      'two: 2 mount record(s) (c1, c2) but no overlay mounted',
    ])
    assert.deepEqual(problems(dryFindings), problems(findings), 'the dry run announced exactly what was then done')
    for (const name of ['one', 'two']) {
      const mountpoint = await ok('mount', name, '--id', 'after')
      assert.equal(overlayCount(mountpoint), 1)
      assert.equal(fs.readFileSync(path.join(mountpoint, 'change.txt'), 'utf8'), `${name} changed\n`)
      assert.deepEqual(fs.readdirSync(path.join(tmp.root, name, 'activemounts')), ['after'])
      await ok('unmount', name, '--id', 'after')
    }
    assert.deepEqual(tmp.mounts(), [])
  })

  test('a running recover is left alone; a killed one is unmounted and swept at once (its flock died with it)', async () => {
    const {tmp, dot, ok} = setup()
    const base = tmp.base('big', {})
    // More than a pipe buffer, so the recover blocks writing to a reader that never reads.
    fs.writeFileSync(path.join(base, 'big.bin'), Buffer.alloc(4 << 20, 7))
    await ok('create', 'v', '--base', base)
    const recover = spawn(process.execPath, [DOT_BIN, 'recover', 'v', '--tar', '--root', tmp.root], {stdio: ['ignore', 'pipe', 'pipe']})
    const exited = new Promise((resolve) => recover.on('close', resolve))
    let view: string | undefined
    for (let i = 0; i < 200 && !view; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      view = tmp.mounts().find((mp) => path.basename(path.dirname(mp)).startsWith('.recover-v-'))
    }
    assert.ok(view, 'the recover mounted its read-only view')

    const whileRunning = await dot('gc', '--json')
    assert.equal(whileRunning.code, 0)
    assert.deepEqual((parseJson(whileRunning) as {findings: Finding[]}).findings, [], 'a running recover is not garbage')
    assert.deepEqual(tmp.mounts(), [view])

    recover.kill('SIGKILL')
    await exited
    const scratch = path.dirname(view)
    const gc = await dot('gc', '--json')
    assert.equal(gc.code, 0, gc.stderr)
    const {findings} = parseJson(gc) as {findings: Finding[]}
    assert.deepEqual(findings.map((f) => [f.path, f.problem, f.status]), [[scratch, 'leftover of an interrupted recover', 'repaired']])
    assert.deepEqual(tmp.mounts(), [])
    assert.ok(!fs.existsSync(scratch))
    assert.equal(fs.readFileSync(path.join(base, 'big.bin')).length, 4 << 20, 'the base is untouched')
  })

  test('SIGINT or SIGTERM stop a recover at once and still unmount its view (even with a stalled reader)', async () => {
    const {tmp, ok} = setup()
    const base = tmp.base('big', {})
    fs.writeFileSync(path.join(base, 'big.bin'), Buffer.alloc(4 << 20, 7))
    await ok('create', 'v', '--base', base)
    for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
      const recover = spawn(process.execPath, [DOT_BIN, 'recover', 'v', '--tar', '--root', tmp.root], {stdio: ['ignore', 'pipe', 'pipe']})
      let stderr = ''
      recover.stderr.on('data', (d) => (stderr += d))
      const exited = new Promise<number | null>((resolve) => recover.on('exit', resolve))
      for (let i = 0; i < 200 && tmp.mounts().length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 50))
      assert.equal(tmp.mounts().length, 1, 'the view is mounted')
      await new Promise((resolve) => setTimeout(resolve, 300)) // the reader never reads: tar is blocked
      const started = Date.now()
      recover.kill(signal)
      assert.equal(await exited, code)
      assert.ok(Date.now() - started < 5000, `${signal} ended it in ${Date.now() - started} ms`)
      assert.match(stderr, /interrupted; the archive on stdout is incomplete and volume "v" is unchanged/)
      assert.deepEqual(tmp.mounts(), [])
      assert.deepEqual(fs.readdirSync(tmp.root).filter((n) => n.startsWith('.')), [])
      recover.stdout.destroy()
    }
  })
})
