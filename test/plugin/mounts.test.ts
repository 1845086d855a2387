import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {parseMountinfo} from '../../src/core/kernel/mountinfo.js'
import {countOverlays} from '../../src/core/kernel/overlays.js'
import {VolumeStore} from '../../src/core/volume/store.js'
import {assertRoot, rootOnly} from '../helpers/requirements.js'
import {TempRoot} from '../helpers/temp-root.js'
import {ServeProcess} from './plugin-process.js'

const mountId = () => randomBytes(32).toString('hex')

/** Overlays stacked on `mountpoint`, as the kernel reports them. */
function overlaysOn(mountpoint: string): number {
  return countOverlays(parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8'))).get(mountpoint) ?? 0
}

/** Mount, Unmount and Remove through a real `dot serve`, with real overlay mounts (root). */
describe('dot serve: volumes through the plugin', rootOnly(), () => {
  const tmp = new TempRoot('dot-test-plugin-mounts-')
  const socket = path.join(tmp.dir, 'plugin.sock')
  let serve: ServeProcess
  let base: string

  before(async () => {
    assertRoot()
    base = tmp.base('data', {'hello.txt': 'from the base\n', 'dir/inner.txt': 'inner\n'})
    serve = await ServeProcess.start({root: tmp.root, socket})
  })
  after(async () => {
    await serve?.stop()
    tmp.cleanup()
  })

  const ok = async (endpoint: string, body: unknown) => {
    const answer = await serve.call(endpoint, body)
    assert.equal(answer.status, 200)
    assert.equal(answer.json.Err, undefined, `${endpoint} ${JSON.stringify(body)} failed: ${answer.text}`)
    return answer.json
  }

  test('Create, Get, List, Mount, Path, Unmount, Remove: the happy path', async () => {
    const id = mountId()
    assert.match((await serve.call('/VolumeDriver.Get', {Name: 'happy'})).json.Err as string, /no such volume/)
    assert.deepEqual(await ok('/VolumeDriver.Create', {Name: 'happy', Opts: {base}}), {})

    const before = (await ok('/VolumeDriver.Get', {Name: 'happy'})).Volume as Record<string, unknown>
    assert.equal(before.Name, 'happy')
    assert.equal(before.Mountpoint, undefined)
    const created = new Date(before.CreatedAt as string)
    assert.ok(Math.abs(Date.now() - created.getTime()) < 60_000, `CreatedAt ${before.CreatedAt} is not now`)
    assert.match(before.CreatedAt as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/)
    assert.deepEqual(await ok('/VolumeDriver.List', {}), {Volumes: [{Name: 'happy'}]})

    const {Mountpoint: mountpoint} = await ok('/VolumeDriver.Mount', {Name: 'happy', ID: id})
    assert.equal(mountpoint, path.join(tmp.root, 'happy', 'mountpoint'))
    assert.ok(path.isAbsolute(mountpoint as string))
    assert.equal(overlaysOn(mountpoint as string), 1)
    assert.equal(fs.readFileSync(path.join(mountpoint as string, 'hello.txt'), 'utf8'), 'from the base\n')
    fs.writeFileSync(path.join(mountpoint as string, 'new.txt'), 'written through the volume\n')

    const mounted = (await ok('/VolumeDriver.Get', {Name: 'happy'})).Volume as Record<string, unknown>
    assert.equal(mounted.Mountpoint, mountpoint)
    assert.equal(mounted.CreatedAt, before.CreatedAt)
    assert.deepEqual(mounted.Status, {base, volatile: false, mounted: true, activeMounts: {[id]: 1}, upper: path.join(tmp.root, 'happy', 'upper'), snapshots: 0})
    assert.deepEqual(await ok('/VolumeDriver.List', {}), {Volumes: [{Name: 'happy', Mountpoint: mountpoint}]})
    assert.deepEqual(await ok('/VolumeDriver.Path', {Name: 'happy'}), {Mountpoint: mountpoint})

    assert.deepEqual(await ok('/VolumeDriver.Unmount', {Name: 'happy', ID: id}), {})
    assert.equal(overlaysOn(mountpoint as string), 0)
    assert.deepEqual(await ok('/VolumeDriver.Path', {Name: 'happy'}), {Mountpoint: ''})
    // The change persisted in the upper layer; the base is untouched.
    assert.equal(fs.readFileSync(path.join(tmp.root, 'happy', 'upper', 'new.txt'), 'utf8'), 'written through the volume\n')
    assert.deepEqual(fs.readdirSync(base).sort(), ['dir', 'hello.txt'])

    assert.deepEqual(await ok('/VolumeDriver.Remove', {Name: 'happy'}), {})
    assert.match((await serve.call('/VolumeDriver.Get', {Name: 'happy'})).json.Err as string, /no such volume: happy/)
    assert.equal(fs.existsSync(path.join(tmp.root, 'happy')), false)
    assert.match(serve.stderr, /info {2}mounted volume "happy" for id [0-9a-f]{64} at /)
  })

  test('the same ID mounted twice (docker cp, moby#47964) needs two Unmounts', async () => {
    const id = mountId()
    await ok('/VolumeDriver.Create', {Name: 'repeat', Opts: {base}})
    const {Mountpoint: mountpoint} = await ok('/VolumeDriver.Mount', {Name: 'repeat', ID: id})
    assert.equal((await ok('/VolumeDriver.Mount', {Name: 'repeat', ID: id})).Mountpoint, mountpoint)
    assert.equal(overlaysOn(mountpoint as string), 1)
    assert.deepEqual(((await ok('/VolumeDriver.Get', {Name: 'repeat'})).Volume as {Status: {activeMounts: unknown}}).Status.activeMounts, {[id]: 2})

    await ok('/VolumeDriver.Unmount', {Name: 'repeat', ID: id})
    assert.equal(overlaysOn(mountpoint as string), 1, 'the first Unmount of a repeated ID must keep the overlay')
    assert.ok(fs.existsSync(path.join(mountpoint as string, 'hello.txt')))
    await ok('/VolumeDriver.Unmount', {Name: 'repeat', ID: id})
    assert.equal(overlaysOn(mountpoint as string), 0)
    await ok('/VolumeDriver.Unmount', {Name: 'repeat', ID: id}) // a third one is a harmless success
    await ok('/VolumeDriver.Remove', {Name: 'repeat'})
  })

  test('concurrent Mounts of one volume share one overlay; concurrent Unmounts take it down once', async () => {
    await ok('/VolumeDriver.Create', {Name: 'crowd', Opts: {base, volatile: 'true'}})
    const ids = Array.from({length: 16}, mountId)
    const answers = await Promise.all(ids.map((ID) => ok('/VolumeDriver.Mount', {Name: 'crowd', ID})))
    const mountpoint = path.join(tmp.root, 'crowd', 'mountpoint')
    assert.deepEqual(new Set(answers.map((a) => a.Mountpoint)), new Set([mountpoint]))
    assert.equal(overlaysOn(mountpoint), 1)
    const status = ((await ok('/VolumeDriver.Get', {Name: 'crowd'})).Volume as {Status: {activeMounts: Record<string, number>}}).Status
    assert.deepEqual(Object.keys(status.activeMounts).sort(), [...ids].sort())

    // Mixed traffic: half unmount while others mount again under new IDs.
    const more = Array.from({length: 8}, mountId)
    await Promise.all([...ids.slice(0, 8).map((ID) => ok('/VolumeDriver.Unmount', {Name: 'crowd', ID})), ...more.map((ID) => ok('/VolumeDriver.Mount', {Name: 'crowd', ID}))])
    assert.equal(overlaysOn(mountpoint), 1)
    await Promise.all([...ids.slice(8), ...more].map((ID) => ok('/VolumeDriver.Unmount', {Name: 'crowd', ID})))
    assert.equal(overlaysOn(mountpoint), 0)
    assert.deepEqual(fs.readdirSync(path.join(tmp.root, 'crowd', 'activemounts')), [])
    await ok('/VolumeDriver.Remove', {Name: 'crowd'})
  })

  test('Remove of a volume mounted by hand is refused and keeps it mounted; it works after the Unmount', async () => {
    // Not one of dockerd's IDs: dockerd vouches only for its own (see remove-after-failed-unmount.test.ts).
    const id = 'manual'
    await ok('/VolumeDriver.Create', {Name: 'busy', Opts: {base}})
    const {Mountpoint: mountpoint} = await ok('/VolumeDriver.Mount', {Name: 'busy', ID: id})
    fs.writeFileSync(path.join(mountpoint as string, 'keep.txt'), 'keep\n')
    const refused = await serve.call('/VolumeDriver.Remove', {Name: 'busy'})
    assert.equal(refused.status, 200)
    assert.match(refused.json.Err as string, /volume "busy" is in use \(1 active mount/)
    assert.equal(overlaysOn(mountpoint as string), 1)
    assert.equal(fs.readFileSync(path.join(mountpoint as string, 'keep.txt'), 'utf8'), 'keep\n')
    await ok('/VolumeDriver.Unmount', {Name: 'busy', ID: id})
    await ok('/VolumeDriver.Remove', {Name: 'busy'})
    assert.equal(fs.existsSync(path.join(tmp.root, 'busy')), false)
  })

  test('an Unmount while the view is busy answers success (§9.20); the overlay stays for the next Mount, never doubled', async () => {
    const first = mountId()
    await ok('/VolumeDriver.Create', {Name: 'held', Opts: {base}})
    const {Mountpoint: mountpoint} = await ok('/VolumeDriver.Mount', {Name: 'held', ID: first})
    const fd = fs.openSync(path.join(mountpoint as string, 'hello.txt'), 'r') // a process that outlived its container
    try {
      assert.deepEqual(await ok('/VolumeDriver.Unmount', {Name: 'held', ID: first}), {})
      const status = ((await ok('/VolumeDriver.Get', {Name: 'held'})).Volume as {Status: {mounted: boolean; activeMounts: object}}).Status
      assert.deepEqual([status.mounted, status.activeMounts], [true, {}])
      assert.match(serve.stderr, /volume "held" is busy.*left mounted with no users/)
      const second = mountId()
      assert.equal((await ok('/VolumeDriver.Mount', {Name: 'held', ID: second})).Mountpoint, mountpoint)
      assert.equal(overlaysOn(mountpoint as string), 1)
      fs.closeSync(fd)
      await ok('/VolumeDriver.Unmount', {Name: 'held', ID: second})
      assert.equal(overlaysOn(mountpoint as string), 0)
    } finally {
      try {
        fs.closeSync(fd)
      } catch {
        // closed above
      }
    }
    await ok('/VolumeDriver.Remove', {Name: 'held'})
  })

  test('Mount after the base was deleted: a clear Err and nothing mounted', async () => {
    const doomed = tmp.base('doomed', {'x.txt': 'x'})
    await ok('/VolumeDriver.Create', {Name: 'orphan', Opts: {base: doomed}})
    fs.rmSync(doomed, {recursive: true})
    const answer = await serve.call('/VolumeDriver.Mount', {Name: 'orphan', ID: mountId()})
    assert.match(answer.json.Err as string, /cannot mount volume "orphan": .*doomed/)
    assert.equal(answer.json.Mountpoint, undefined)
    assert.equal(overlaysOn(path.join(tmp.root, 'orphan', 'mountpoint')), 0)
    await ok('/VolumeDriver.Remove', {Name: 'orphan'})
  })

  test('a client that hangs up before the Mount answer gets its mount rolled back (PROTOCOL §9.8)', async () => {
    await ok('/VolumeDriver.Create', {Name: 'hangup', Opts: {base}})
    const id = mountId()
    const mountpoint = path.join(tmp.root, 'hangup', 'mountpoint')
    // Hold the volume's cross-process lock so the server's Mount waits while the client goes away.
    const store = await VolumeStore.open({root: tmp.root})
    await store.withVolumeLock('hangup', async () => {
      const conn = net.connect({path: socket})
      await new Promise((resolve) => conn.once('connect', resolve))
      const body = JSON.stringify({Name: 'hangup', ID: id}) + '\n'
      conn.write(`POST /VolumeDriver.Mount HTTP/1.1\r\nHost: \r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
      await new Promise((resolve) => setTimeout(resolve, 300))
      conn.destroy()
      await new Promise((resolve) => setTimeout(resolve, 100))
    })
    await waitFor(() => serve.stderr.includes('rolling back (mounted volume "hangup"'), 10_000, () => serve.stderr)
    await waitFor(async () => {
      const volume = (await ok('/VolumeDriver.Get', {Name: 'hangup'})).Volume as {Status: {mounted: boolean; activeMounts: object}}
      return !volume.Status.mounted && Object.keys(volume.Status.activeMounts).length === 0
    }, 10_000)
    assert.equal(overlaysOn(mountpoint), 0)
    await ok('/VolumeDriver.Remove', {Name: 'hangup'})
  })
})

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, describe?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms${describe ? `:\n${describe()}` : ''}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}
