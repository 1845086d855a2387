import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {after, afterEach, before, describe, test} from 'node:test'

import {parseMountinfo} from '../../src/core/kernel/mountinfo.js'
import {countOverlays} from '../../src/core/kernel/overlays.js'
import {VolumeStore} from '../../src/core/volume/store.js'
import {assertRoot, rootOnly} from '../helpers/requirements.js'
import {runDot} from '../helpers/run-dot.js'
import {TempRoot} from '../helpers/temp-root.js'
import {ServeProcess, callPlugin} from './plugin-process.js'

const mountId = () => randomBytes(32).toString('hex')

function overlaysOn(mountpoint: string): number {
  return countOverlays(parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8'))).get(mountpoint) ?? 0
}

/** Start, refusal, shutdown and restart of `dot serve` as a process (root: real mounts survive it). */
describe('dot serve: process lifecycle', rootOnly(), () => {
  const tmp = new TempRoot('dot-test-plugin-life-')
  const socket = path.join(tmp.dir, 'plugin.sock')
  const running: ServeProcess[] = []
  let base: string

  const start = async (extra: {socket?: string} = {}) => {
    const proc = await ServeProcess.start({root: tmp.root, socket: extra.socket ?? socket})
    running.push(proc)
    return proc
  }
  const ok = async (proc: ServeProcess, endpoint: string, body: unknown) => {
    const answer = await proc.call(endpoint, body)
    assert.equal(answer.json.Err, undefined, `${endpoint} ${JSON.stringify(body)} failed: ${answer.text}`)
    return answer.json
  }

  before(() => {
    assertRoot()
    base = tmp.base('data', {'hello.txt': 'hello\n'})
  })
  afterEach(async () => {
    await Promise.all(running.splice(0).map((proc) => proc.stop('SIGTERM')))
  })
  after(() => tmp.cleanup())

  test('the socket is owned by root with mode 0660', async () => {
    await start()
    const stat = fs.statSync(socket)
    assert.equal(stat.uid, 0)
    assert.equal(stat.gid, 0)
    assert.equal(stat.mode & 0o777, 0o660)
  })

  test('a second server on the same socket is refused, and the first keeps serving', async () => {
    const first = await start()
    const second = await runDot(['serve', '--socket', socket, '--root', tmp.root], {timeoutMs: 20_000})
    assert.equal(second.code, 7, second.stderr)
    assert.match(second.stderr, /another server is already listening on .*plugin\.sock/)
    assert.equal(second.stdout, '')
    assert.deepEqual((await first.call('/Plugin.Activate')).json, {Implements: ['VolumeDriver']})
  })

  test('a file that is not a socket is never replaced', async () => {
    const file = path.join(tmp.dir, 'not-a-socket')
    fs.writeFileSync(file, 'precious\n')
    const result = await runDot(['serve', '--socket', file, '--root', tmp.root], {timeoutMs: 20_000})
    assert.equal(result.code, 2, result.stderr)
    assert.match(result.stderr, /not-a-socket exists and is not a socket; refusing to replace it/)
    assert.equal(fs.readFileSync(file, 'utf8'), 'precious\n')
  })

  test('a socket on /proc or /sys is refused by name, at once (a recursive mkdir there never returns)', async () => {
    for (const socketPath of ['/proc/x.sock', '/proc/no-such-dir/x.sock', '/sys/fs/no-such-dir/x.sock']) {
      const result = await runDot(['serve', '--socket', socketPath, '--root', tmp.root], {timeoutMs: 20_000})
      assert.equal(result.code, 2, `${socketPath}: ${result.stderr}`)
      assert.match(result.stderr, /the socket's directory "\/(proc|sys)[^"]*" is on (proc|sysfs), a pseudo filesystem of the kernel; choose a directory on real storage/)
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr)
    }
    const unused = path.join(tmp.dir, 'metrics-unused.sock')
    const metrics = await runDot(['serve', '--socket', unused, '--root', tmp.root, '--metrics', '/proc/no-such-dir/m.sock'], {timeoutMs: 20_000})
    assert.equal(metrics.code, 2, metrics.stderr)
    assert.match(metrics.stderr, /--metrics: the directory "\/proc\/no-such-dir" is on proc, a pseudo filesystem/)
    assert.equal(fs.existsSync(unused), false)
  })

  test('a pidfile on /proc is refused before the socket is made; one that cannot be written stops the server', async () => {
    const unused = path.join(tmp.dir, 'pid-unused.sock')
    const onProc = await runDot(['serve', '--socket', unused, '--root', tmp.root, '--pidfile', '/proc/no-such-dir/dot.pid'], {timeoutMs: 20_000})
    assert.equal(onProc.code, 2, onProc.stderr)
    assert.match(onProc.stderr, /the pidfile's directory "\/proc\/no-such-dir" is on proc, a pseudo filesystem of the kernel/)
    assert.equal(fs.existsSync(unused), false)
    const aDirectory = path.join(tmp.dir, 'pid-is-a-dir')
    fs.mkdirSync(path.join(aDirectory, 'inside'), {recursive: true})
    const unwritable = await runDot(['serve', '--socket', unused, '--root', tmp.root, '--pidfile', aDirectory], {timeoutMs: 20_000})
    assert.equal(unwritable.code, 2, unwritable.stderr)
    assert.match(unwritable.stderr, /--pidfile .*pid-is-a-dir is a directory; give the path of a file/)
    assert.deepEqual(fs.readdirSync(tmp.dir).filter((entry) => entry.startsWith('pid-is-a-dir.')), [], 'no temp file is left')
    assert.equal(fs.existsSync(unused), false, 'the socket is removed when the pidfile cannot be written')
  })

  test('bad flags are one-line errors', async () => {
    const unused = path.join(tmp.dir, 'unused.sock')
    const badLevel = await runDot(['serve', '--log-level', 'loud', '--socket', unused, '--root', tmp.root])
    assert.equal(badLevel.code, 2)
    assert.match(badLevel.stderr, /loud/)
    const badName = await runDot(['serve', '--name', '../x', '--socket', unused, '--root', tmp.root])
    assert.equal(badName.code, 2)
    assert.match(badName.stderr, /invalid driver name "..\/x"/)
    assert.equal(fs.existsSync(unused), false)
  })

  test('SIGTERM finishes the request in flight, leaves mounted volumes mounted and removes the socket', async () => {
    const proc = await start()
    await ok(proc, '/VolumeDriver.Create', {Name: 'stays', Opts: {base}})
    const running = mountId()
    const {Mountpoint: mountpoint} = await ok(proc, '/VolumeDriver.Mount', {Name: 'stays', ID: running})

    // A Mount that is still waiting for the volume's lock when SIGTERM arrives must still be answered.
    const store = await VolumeStore.open({root: tmp.root})
    const late = mountId()
    let inFlight: ReturnType<typeof callPlugin> | undefined
    await store.withVolumeLock('stays', async () => {
      inFlight = callPlugin(socket, '/VolumeDriver.Mount', {Name: 'stays', ID: late})
      await new Promise((resolve) => setTimeout(resolve, 200))
      proc.child.kill('SIGTERM')
      await new Promise((resolve) => setTimeout(resolve, 200))
    })
    assert.deepEqual((await inFlight!).json, {Mountpoint: mountpoint})
    assert.deepEqual(await proc.exited, {code: 0, signal: null})

    assert.equal(fs.existsSync(socket), false, 'the socket must be removed')
    assert.equal(overlaysOn(mountpoint as string), 1, 'a mounted volume must stay mounted')
    assert.equal(fs.readFileSync(path.join(mountpoint as string, 'hello.txt'), 'utf8'), 'hello\n')
    assert.match(proc.stderr, /SIGTERM: shutting down/)
    assert.match(proc.stderr, /stopped/)

    // The next server picks the volume up where it was: both IDs still count.
    const next = await start()
    const volume = (await ok(next, '/VolumeDriver.Get', {Name: 'stays'})).Volume as {Mountpoint: string; Status: {activeMounts: object}}
    assert.equal(volume.Mountpoint, mountpoint)
    assert.deepEqual(volume.Status.activeMounts, Object.fromEntries([[running, 1], [late, 1]].sort()))
    await ok(next, '/VolumeDriver.Unmount', {Name: 'stays', ID: running})
    assert.equal(overlaysOn(mountpoint as string), 1)
    await ok(next, '/VolumeDriver.Unmount', {Name: 'stays', ID: late})
    assert.equal(overlaysOn(mountpoint as string), 0)
    await ok(next, '/VolumeDriver.Remove', {Name: 'stays'})
  })

  test('SIGINT (Ctrl-C) stops it the same way', async () => {
    const proc = await start()
    assert.deepEqual(await proc.stop('SIGINT'), {code: 0, signal: null})
    assert.match(proc.stderr, /SIGINT: shutting down/)
    assert.equal(fs.existsSync(socket), false)
  })

  test('after kill -9: the stale socket is removed, state persisted, Get and Mount keep working', async () => {
    const proc = await start()
    await ok(proc, '/VolumeDriver.Create', {Name: 'survivor', Opts: {base}})
    const id = mountId()
    const {Mountpoint: mountpoint} = await ok(proc, '/VolumeDriver.Mount', {Name: 'survivor', ID: id})
    fs.writeFileSync(path.join(mountpoint as string, 'mine.txt'), 'before the crash\n')
    const created = ((await ok(proc, '/VolumeDriver.Get', {Name: 'survivor'})).Volume as {CreatedAt: string}).CreatedAt
    await proc.stop('SIGKILL')
    assert.ok(fs.statSync(socket).isSocket(), 'kill -9 leaves the socket file behind')

    const next = await start()
    assert.match(next.stderr, /removed a stale socket .*plugin\.sock/)
    const volume = (await ok(next, '/VolumeDriver.Get', {Name: 'survivor'})).Volume as Record<string, unknown>
    assert.equal(volume.Name, 'survivor')
    assert.equal(volume.CreatedAt, created)
    assert.equal(volume.Mountpoint, mountpoint)
    assert.deepEqual((volume.Status as {activeMounts: object}).activeMounts, {[id]: 1})
    const second = mountId()
    assert.equal((await ok(next, '/VolumeDriver.Mount', {Name: 'survivor', ID: second})).Mountpoint, mountpoint)
    assert.equal(overlaysOn(mountpoint as string), 1)
    assert.equal(fs.readFileSync(path.join(mountpoint as string, 'mine.txt'), 'utf8'), 'before the crash\n')
    await ok(next, '/VolumeDriver.Unmount', {Name: 'survivor', ID: id})
    await ok(next, '/VolumeDriver.Unmount', {Name: 'survivor', ID: second})
    assert.equal(overlaysOn(mountpoint as string), 0)
    assert.deepEqual(await ok(next, '/VolumeDriver.List', {}), {Volumes: [{Name: 'survivor'}]})
    await ok(next, '/VolumeDriver.Remove', {Name: 'survivor'})
  })

  test('start-up reconciles the root and logs one line per repair', async () => {
    const proc = await start()
    await ok(proc, '/VolumeDriver.Create', {Name: 'lost', Opts: {base}})
    const id = mountId()
    const {Mountpoint: mountpoint} = await ok(proc, '/VolumeDriver.Mount', {Name: 'lost', ID: id})
    await proc.stop('SIGKILL')
    // As after a reboot: the overlay is gone but its record is not.
    execFileSync('umount', [mountpoint as string])
    const next = await start()
    // The socket answers first and the repairs follow (dot serve reconciles in the background).
    const repaired = new RegExp(`info  reconcile: volume "lost": 1 mount record\\(s\\) \\(${id}\\) but no overlay mounted .*: records dropped`)
    for (let waited = 0; !repaired.test(next.stderr) && waited < 10_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20))
    assert.match(next.stderr, repaired)
    const volume = (await ok(next, '/VolumeDriver.Get', {Name: 'lost'})).Volume as Record<string, unknown>
    assert.equal(volume.Mountpoint, undefined)
    assert.deepEqual((volume.Status as {activeMounts: object}).activeMounts, {})
    await ok(next, '/VolumeDriver.Remove', {Name: 'lost'})
  })
})
