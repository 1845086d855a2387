import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {assertRoot, rootOnly} from '../helpers/requirements.js'
import {DOT_BIN, parseJson, runDot} from '../helpers/run-dot.js'
import {TempRoot} from '../helpers/temp-root.js'
import type {VolumeReport as Report} from '../../src/cli/volume-report.js'
import {dotArgs} from './cli-fixtures.js'
import {fingerprint, overlayCount, recordFiles} from './store-fixtures.js'

const REPORT_KEYS = ['name', 'base', 'volatile', 'createdAt', 'state', 'mounts', 'upper', 'snapshots', 'changesBytes', 'wipeAtNextMount']
const ESC = '\u001B['

/** An admin's session through the real CLI, as root with real overlays; the tests run in order. */
describe('CLI: create, ls, inspect, mount, unmount, rm', rootOnly(), () => {
  let tmp: TempRoot
  let base: string
  let baseBefore: Record<string, string>
  const dot = (...command: string[]) => runDot(dotArgs(tmp.root, command))
  const dotJson = (...command: string[]) => runDot(dotArgs(tmp.root, command, {json: true}))
  const ok = async (...command: string[]) => {
    const result = await dot(...command)
    assert.equal(result.code, 0, `dot ${command.join(' ')}: ${result.stderr}`)
    return result
  }
  const mountpointOf = (name: string) => path.join(tmp.root, name, 'mountpoint')

  before(() => {
    assertRoot()
    tmp = new TempRoot('dot-test-cli-happy-')
    base = tmp.base('dataset', {'readme.txt': 'read me\n', 'data/table.csv': 'a,b\n1,2\n'})
    baseBefore = fingerprint(base)
  })
  after(() => tmp?.cleanup())

  test('create prints the name; --json prints the new volume', async () => {
    assert.equal((await ok('create', 'data', '--base', base)).stdout, 'data\n')
    const created = await dotJson('create', 'scratch', '-o', `base=${base}`, '-o', 'volatile=YES')
    assert.equal(created.code, 0, created.stderr)
    const doc = parseJson(created) as Report
    assert.deepEqual(Object.keys(doc), REPORT_KEYS)
    assert.equal(doc.name, 'scratch')
    assert.equal(doc.base, base)
    assert.equal(doc.volatile, true)
    assert.equal(doc.state, 'idle')
    assert.deepEqual(doc.mounts, {})
    assert.equal(doc.upper, path.join(tmp.root, 'scratch', 'upper'))
    assert.ok(Math.abs(Date.parse(doc.createdAt) - Date.now()) < 60_000)
    const metadata = JSON.parse(fs.readFileSync(path.join(tmp.root, 'scratch', 'metadata.json'), 'utf8'))
    assert.equal(metadata.BaseDirPath, base)
    assert.equal(metadata.Volatile, true)
    assert.equal((await ok('create', 'other', '--base', base, '--volatile')).stdout, 'other\n')
  })

  test('ls -q prints bare names, sorted, one a line', async () => {
    const result = await ok('ls', '-q')
    assert.equal(result.stdout, 'data\nother\nscratch\n')
    assert.equal(result.stderr, '')
  })

  test('mount prints the mountpoint of a real overlay; writes land in upper/, the base is untouched', async () => {
    const result = await ok('mount', 'data')
    assert.equal(result.stdout, `${mountpointOf('data')}\n`)
    assert.equal(overlayCount(mountpointOf('data')), 1)
    assert.deepEqual(recordFiles(path.join(tmp.root, 'data')), {manual: {UsageCount: 1}}, 'the default ID for mounts made by hand')
    assert.equal(fs.readFileSync(path.join(mountpointOf('data'), 'readme.txt'), 'utf8'), 'read me\n')
    fs.writeFileSync(path.join(mountpointOf('data'), 'new.bin'), Buffer.alloc(64 * 1024, 1))
    fs.rmSync(path.join(mountpointOf('data'), 'readme.txt'))
    assert.ok(fs.existsSync(path.join(tmp.root, 'data', 'upper', 'new.bin')))
    assert.deepEqual(fingerprint(base), baseBefore)

    const second = await dotJson('mount', 'data', '--id', 'job')
    assert.equal(second.code, 0, second.stderr)
    assert.deepEqual(parseJson(second), {name: 'data', id: 'job', mountpoint: mountpointOf('data')})
    assert.equal(overlayCount(mountpointOf('data')), 1, 'a second user shares the overlay')
  })

  test('ls shows a table with every column, no colour off a terminal', async () => {
    const result = await ok('ls')
    assert.ok(!result.stdout.includes(ESC))
    const lines = result.stdout.trimEnd().split('\n')
    assert.deepEqual(lines[0].split(/\s{2,}/), ['NAME', 'BASE', 'VOLATILE', 'STATE', 'USERS', 'SNAPSHOTS', 'CHANGES', 'CREATED'])
    const rows = Object.fromEntries(lines.slice(1).map((line) => line.split(/\s{2,}/)).map((cells) => [cells[0], cells]))
    assert.deepEqual(Object.keys(rows), ['data', 'other', 'scratch'])
    const [, dataBase, dataVolatile, dataState, dataUsers, dataSnapshots, dataChanges, dataCreated] = rows.data
    assert.equal(dataSnapshots, '0')
    assert.equal(dataBase, base)
    assert.equal(dataVolatile, 'no')
    assert.equal(dataState, 'mounted')
    assert.equal(dataUsers, 'job, manual')
    assert.match(dataChanges, /^\d+(\.\d)? KiB$/, 'the 64 KiB written, plus directories and a whiteout')
    assert.match(dataCreated, /^\d{4}-\d\d-\d\d \d\d:\d\d UTC$/)
    assert.deepEqual(rows.scratch.slice(2, 5), ['yes', 'idle', '-'])
  })

  test('ls on a terminal is coloured, unless NO_COLOR is set', async () => {
    // script(1) gives the CLI a pseudo-terminal as stdout.
    const onTty = (env: NodeJS.ProcessEnv) =>
      execFileSync('script', ['-qec', `${process.execPath} ${DOT_BIN} ls --root ${tmp.root}`, '/dev/null'], {env, encoding: 'utf8'})
    const {NO_COLOR: _, ...withoutNoColor} = process.env
    assert.ok(onTty(withoutNoColor).includes(ESC), 'colour on a terminal')
    const plain = onTty({...withoutNoColor, NO_COLOR: '1'})
    assert.ok(!plain.includes(ESC), 'no colour with NO_COLOR')
    assert.match(plain, /NAME\s+BASE/)
  })

  test('ls --json is an array of the inspect objects', async () => {
    const result = await dotJson('ls')
    assert.equal(result.code, 0, result.stderr)
    const volumes = parseJson(result) as Report[]
    assert.deepEqual(volumes.map((v) => v.name), ['data', 'other', 'scratch'])
    const data = volumes[0]
    assert.deepEqual(Object.keys(data), ['name', 'base', 'volatile', 'createdAt', 'state', 'mountpoint', 'mounts', 'upper', 'snapshots', 'changesBytes', 'wipeAtNextMount'])
    assert.deepEqual(data.mounts, {job: 1, manual: 1})
    assert.ok(data.changesBytes >= 64 * 1024)
    assert.deepEqual(Object.keys(volumes[2]), REPORT_KEYS, 'no mountpoint while idle')
    assert.deepEqual(parseJson(await dotJson('ls', '-q')), ['data', 'other', 'scratch'])
  })

  test('inspect prints a JSON array like docker volume inspect, with or without --json', async () => {
    const human = await ok('inspect', 'data', 'scratch')
    const array = JSON.parse(human.stdout) as Report[]
    assert.deepEqual(parseJson(await dotJson('inspect', 'data', 'scratch')), array)
    assert.deepEqual(array.map((v) => v.name), ['data', 'scratch'])
    const [data, scratch] = array
    assert.equal(data.state, 'mounted')
    assert.equal(data.mountpoint, mountpointOf('data'))
    assert.deepEqual(data.mounts, {job: 1, manual: 1})
    assert.equal(data.upper, path.join(tmp.root, 'data', 'upper'))
    assert.ok(data.changesBytes >= 64 * 1024)
    assert.equal(scratch.volatile, true)
    assert.equal(scratch.mountpoint, undefined)
  })

  test('inspect with a missing name: the found ones, the error, exit 3', async () => {
    const human = await dot('inspect', 'data', 'nosuch')
    assert.equal(human.code, 3)
    assert.deepEqual((JSON.parse(human.stdout) as Report[]).map((v) => v.name), ['data'])
    assert.equal(human.stderr, 'dot inspect: no such volume: nosuch\n')
    const json = await dotJson('inspect', 'data', 'nosuch')
    assert.equal(json.code, 3)
    const doc = parseJson(json) as {volumes: Report[]; errors: unknown[]; error: unknown}
    assert.deepEqual(doc.volumes.map((v) => v.name), ['data'])
    const error = {name: 'nosuch', code: 'not-found', message: 'no such volume: nosuch', exitCode: 3}
    assert.deepEqual(doc.errors, [error])
    assert.deepEqual(doc.error, error)
  })

  test('unmount drops one use; the last one takes the overlay down and the changes stay', async () => {
    assert.equal((await ok('unmount', 'data')).stdout, 'data\n')
    assert.equal(overlayCount(mountpointOf('data')), 1, 'job still uses it')
    const last = await dotJson('unmount', 'data', '--id', 'job')
    assert.equal(last.code, 0, last.stderr)
    assert.deepEqual(parseJson(last), {name: 'data', id: 'job', wasMounted: true, state: 'idle', mounts: {}})
    assert.equal(overlayCount(mountpointOf('data')), 0)
    assert.deepEqual(recordFiles(path.join(tmp.root, 'data')), {})
    assert.ok(fs.existsSync(path.join(tmp.root, 'data', 'upper', 'new.bin')), 'a normal volume keeps its changes')
    assert.deepEqual(fingerprint(base), baseBefore)
  })

  test('unmount of an ID that is not mounted changes nothing, says so, and succeeds', async () => {
    const result = await ok('unmount', 'data', '--id', 'ghost')
    assert.equal(result.stdout, 'data\n')
    assert.equal(result.stderr, 'dot unmount: volume "data" was not mounted under ID "ghost"; nothing to do\n')
    const json = await dotJson('unmount', 'data', '--id', 'ghost')
    assert.equal(json.stderr, '')
    assert.equal((parseJson(json) as {wasMounted: boolean}).wasMounted, false)
  })

  test('rm --force removes a mounted volume and its overlay', async () => {
    await ok('mount', 'other', '--id', 'c1')
    assert.equal(overlayCount(mountpointOf('other')), 1)
    const result = await ok('rm', '--force', 'other')
    assert.equal(result.stdout, 'other\n')
    assert.equal(overlayCount(mountpointOf('other')), 0)
    assert.ok(!fs.existsSync(path.join(tmp.root, 'other')))
  })

  test('rm of several names removes every one it can and exits with the worst code', async () => {
    const human = await dot('rm', 'data', 'nosuch')
    assert.equal(human.code, 3)
    assert.equal(human.stdout, 'data\n')
    assert.equal(human.stderr, 'dot rm: no such volume: nosuch\n')
    assert.ok(!fs.existsSync(path.join(tmp.root, 'data')))

    await ok('create', 'data', '--base', base)
    await ok('mount', 'data')
    const json = await dotJson('rm', 'nosuch', 'data', 'scratch')
    assert.equal(json.code, 5, 'in use (5) is worse than not found (3)')
    const doc = parseJson(json) as {removed: string[]; errors: {name: string; exitCode: number}[]; error: {name: string}}
    assert.deepEqual(doc.removed, ['scratch'])
    assert.deepEqual(doc.errors.map((e) => [e.name, e.exitCode]), [
      ['nosuch', 3],
      ['data', 5],
    ])
    assert.equal(doc.error.name, 'data')
    assert.equal(overlayCount(mountpointOf('data')), 1, 'the refused volume is still mounted')

    await ok('unmount', 'data')
    const last = await dotJson('rm', 'data')
    assert.equal(last.code, 0)
    assert.deepEqual(parseJson(last), {removed: ['data'], errors: []})
  })

  test('an empty store: ls prints the header only, ls -q nothing, and the base was never touched', async () => {
    assert.equal((await ok('ls', '-q')).stdout, '')
    assert.deepEqual((await ok('ls')).stdout.trimEnd().split('\n').length, 1)
    assert.deepEqual(parseJson(await dotJson('ls')), [])
    assert.deepEqual(fs.readdirSync(tmp.root).filter((e) => !e.startsWith('.')), [])
    assert.deepEqual(fingerprint(base), baseBefore)
  })
})
