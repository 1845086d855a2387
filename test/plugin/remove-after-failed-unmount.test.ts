import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {parseMountinfo} from '../../src/core/kernel/mountinfo.js'
import {countOverlays} from '../../src/core/kernel/overlays.js'
import {assertRoot, rootOnly} from '../helpers/requirements.js'
import {runDot} from '../helpers/run-dot.js'
import {TempRoot} from '../helpers/temp-root.js'
import {ServeProcess} from './plugin-process.js'

const dockerId = () => randomBytes(32).toString('hex')
const overlaysOn = (mountpoint: string) => countOverlays(parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8'))).get(mountpoint) ?? 0
const chattr = (flag: '+i' | '-i', file: string) => execFileSync('chattr', [flag, file])

/** Every file below `dir` (no symlinks followed). */
function filesBelow(dir: string): string[] {
  const out: string[] = []
  for (const entry of fs.readdirSync(dir, {withFileTypes: true, recursive: true})) if (entry.isFile()) out.push(path.join(entry.parentPath, entry.name))
  return out
}

/**
 * Issue 10, item 2: an Unmount that failed half way (its record could not be removed: `chattr +i`,
 * EPERM) must not make the volume unremovable through the protocol: dockerd sends Remove only once
 * no container of its own references the volume, so records of dockerd's mount IDs do not refuse it;
 * records of mounts made by hand (`dot mount`, ID `manual`) still do, and `dot rm` refuses any.
 */
describe('Remove through the plugin after a failed Unmount', rootOnly(), () => {
  const tmp = new TempRoot('dot-test-plugin-remove-')
  const socket = path.join(tmp.dir, 'plugin.sock')
  let serve: ServeProcess
  let base: string
  /** Immutable files to release in `after`, even when a test failed. */
  const pinned = new Set<string>()

  before(async () => {
    assertRoot()
    base = tmp.base('data', {'base.txt': 'base\n'})
    serve = await ServeProcess.start({root: tmp.root, socket})
  })
  after(async () => {
    for (const file of pinned) for (const candidate of [file, ...findMoved(file)]) fs.existsSync(candidate) && chattr('-i', candidate)
    await serve?.stop()
    tmp.cleanup()
  })
  /** Where a pinned record went when its volume was renamed to trash. */
  const findMoved = (file: string) => filesBelow(tmp.root).filter((f) => path.basename(f) === path.basename(file) && f !== file)

  const ok = async (endpoint: string, body: unknown) => {
    const answer = await serve.call(endpoint, body)
    assert.equal(answer.json.Err, undefined, `${endpoint} ${JSON.stringify(body)} failed: ${answer.text}`)
    return answer.json
  }
  const dot = (...args: string[]) => runDot([args[0], '--root', tmp.root, ...args.slice(1)])

  /** A volume with one change, mounted under `id`, whose Unmount then fails on its pinned record. */
  const failedUnmount = async (name: string, id: string) => {
    await ok('/VolumeDriver.Create', {Name: name, Opts: {base}})
    const {Mountpoint: mountpoint} = await ok('/VolumeDriver.Mount', {Name: name, ID: id})
    fs.writeFileSync(path.join(mountpoint as string, 'change.txt'), 'the change\n')
    const record = path.join(tmp.root, name, 'activemounts', id)
    chattr('+i', record)
    pinned.add(record)
    const failed = await serve.call('/VolumeDriver.Unmount', {Name: name, ID: id})
    assert.match(String(failed.json.Err), /EPERM|not permitted/, `the Unmount fails half way: ${failed.text}`)
    return {mountpoint: mountpoint as string, record}
  }

  test('the record still pinned: Remove succeeds, the overlay goes, the pinned file is left for dot gc', async () => {
    const id = dockerId()
    const {mountpoint, record} = await failedUnmount('pinned', id)
    const cli = await dot('rm', 'pinned')
    assert.equal(cli.code, 5, `dot rm without --force still refuses a volume with records: ${cli.stderr}`)

    await ok('/VolumeDriver.Remove', {Name: 'pinned'})
    assert.match(String((await serve.call('/VolumeDriver.Get', {Name: 'pinned'})).json.Err), /no such volume/)
    assert.equal(overlaysOn(mountpoint), 0, 'nothing left mounted')
    assert.equal(fs.existsSync(path.join(tmp.root, 'pinned')), false)

    // The pinned record went to trash with the volume; once it can be deleted, gc finishes the job.
    const [moved] = findMoved(record)
    assert.ok(moved, 'the pinned record is in a trash entry')
    chattr('-i', moved)
    pinned.delete(record)
    const gc = await dot('gc', '--json')
    assert.equal(gc.code, 0, gc.stdout + gc.stderr)
    assert.deepEqual(fs.readdirSync(tmp.root).filter((e) => e.startsWith('.trash-')), [], 'no trash left')
  })

  test('the record removable again: the next Mount sees the data as it was, and Remove then succeeds', async () => {
    const first = dockerId()
    const {record} = await failedUnmount('again', first)
    chattr('-i', record)
    pinned.delete(record)
    const second = dockerId()
    const {Mountpoint: mountpoint} = await ok('/VolumeDriver.Mount', {Name: 'again', ID: second})
    assert.equal(fs.readFileSync(path.join(mountpoint as string, 'change.txt'), 'utf8'), 'the change\n')
    await ok('/VolumeDriver.Unmount', {Name: 'again', ID: second})
    await ok('/VolumeDriver.Remove', {Name: 'again'})
    assert.equal(overlaysOn(mountpoint as string), 0)
    assert.equal(fs.existsSync(path.join(tmp.root, 'again')), false)
  })

  test('a mount made by hand (dot mount, ID manual) still refuses Remove, alone or beside dockerd\'s', async () => {
    await ok('/VolumeDriver.Create', {Name: 'by-hand', Opts: {base}})
    const mounted = await dot('mount', 'by-hand')
    assert.equal(mounted.code, 0, mounted.stderr)
    const refused = await serve.call('/VolumeDriver.Remove', {Name: 'by-hand'})
    assert.match(String(refused.json.Err), /volume "by-hand" is in use \(1 active mount: manual\)/)
    const id = dockerId()
    await ok('/VolumeDriver.Mount', {Name: 'by-hand', ID: id})
    const stillRefused = await serve.call('/VolumeDriver.Remove', {Name: 'by-hand'})
    assert.match(String(stillRefused.json.Err), /in use .*manual/)
    assert.equal(overlaysOn(path.join(tmp.root, 'by-hand', 'mountpoint')), 1, 'still mounted')
    await ok('/VolumeDriver.Unmount', {Name: 'by-hand', ID: id})
    assert.equal((await dot('unmount', 'by-hand')).code, 0)
    await ok('/VolumeDriver.Remove', {Name: 'by-hand'})
  })

  test('dockerd\'s records with the view still busy on the host: Remove answers busy and deletes nothing', async () => {
    const id = dockerId()
    const {mountpoint, record} = await failedUnmount('held', id)
    const holder = fs.openSync(mountpoint, 'r') // a host process inside the view
    try {
      const refused = await serve.call('/VolumeDriver.Remove', {Name: 'held'})
      assert.match(String(refused.json.Err), /busy/, refused.text)
      assert.equal(fs.readFileSync(path.join(tmp.root, 'held', 'upper', 'change.txt'), 'utf8'), 'the change\n', 'the changes are kept')
    } finally {
      fs.closeSync(holder)
    }
    chattr('-i', record)
    pinned.delete(record)
    await ok('/VolumeDriver.Remove', {Name: 'held'})
    assert.equal(overlaysOn(mountpoint), 0)
  })
})
