import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import fs from 'node:fs'
import {after, before, describe, test} from 'node:test'
import {setTimeout as sleep} from 'node:timers/promises'

import {Layout, MOUNT_SOURCE_PREFIX} from '../../src/core/disk/layout.js'
import {parseMountinfo} from '../../src/core/kernel/mountinfo.js'
import {assertRunnable, skipUnlessMandatory, whyNoCommands} from '../helpers/requirements.js'
import {parseJson, runDot} from '../helpers/run-dot.js'
import {TempRoot} from '../helpers/temp-root.js'
import {TEST_IMAGE} from './harness/docker.js'
import {DotServe} from './harness/dot-serve.js'
import {PLUGIN_DIR} from './harness/e2e.js'
import {OwnDockerd} from './harness/own-dockerd.js'

const why = whyNoCommands(['dockerd', 'docker'], 'apt-get install docker.io')

/** How long `dot gc --stale` leaves a new record alone by default (its container may be starting). */
const GRACE_MS = 5_000

interface GcJson {
  findings: {volume?: string; status: string; action: string; problem: string}[]
  docker: {checked: boolean}
}

/**
 * The mount record a `kill -9` of dockerd leaves: dockerd dies with a running container, so no
 * Unmount ever comes. While the container runs (its shim outlives dockerd) the kernel still shows it
 * holding the overlay, and `dot gc --stale` leaves it alone though dockerd cannot be asked; once the
 * container is gone, gc finds the record stale and repairs it. The test kills a dockerd of its own.
 */
describe('e2e: dot gc --stale after a kill -9 of dockerd', skipUnlessMandatory(why), () => {
  const tmp = new TempRoot('dot-test-gc-killed-')
  const dockerd = new OwnDockerd('killed')
  const driver = `dot-test-${randomBytes(4).toString('hex')}`
  const plugin = new DotServe(driver, tmp.root, `${PLUGIN_DIR}/${driver}.sock`)
  const layout = new Layout(tmp.root)
  const volume = `${driver}-vol`
  let containerPid = 0

  before(async () => {
    assertRunnable(why)
    fs.mkdirSync(PLUGIN_DIR, {recursive: true})
    await plugin.start()
    await dockerd.start()
  })
  after(async () => {
    if (containerPid) {
      try {
        process.kill(containerPid, 'SIGKILL')
      } catch {
        // gone already
      }
    }
    await dockerd.purge().catch(() => {})
    await plugin.stop()
    fs.rmSync(plugin.socket, {force: true})
    tmp.cleanup()
  })

  const overlays = () =>
    parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8')).filter((e) => e.fstype === 'overlay' && e.source === MOUNT_SOURCE_PREFIX + volume && e.mountpoint === layout.mountpoint(volume))
  const records = () => (fs.existsSync(layout.activeMounts(volume)) ? fs.readdirSync(layout.activeMounts(volume)) : [])
  const gcStale = async () => {
    // dockerd is dead: its socket does not answer, so only the kernel can say who uses the volume.
    const result = await runDot(['gc', '--stale', '--json', '--root', tmp.root], {env: {DOCKER_HOST: dockerd.host}})
    assert.equal(result.code, 0, result.stderr)
    return parseJson(result) as GcJson
  }

  test('dockerd killed with a running container: the record stays, and gc leaves it while the container runs', async () => {
    await dockerd.dockerOk(['volume', 'create', '--driver', driver, '-o', `base=${tmp.base('b', {f: 'x'})}`, volume])
    await dockerd.dockerOk(['run', '-d', '--name', `${driver}-c`, '--network', 'none', '-v', `${volume}:/data`, TEST_IMAGE, 'sleep', '600'])
    containerPid = Number(await dockerd.dockerOk(['inspect', '-f', '{{.State.Pid}}', `${driver}-c`]))
    assert.ok(containerPid > 0)
    const [id] = records()
    assert.match(id, /^[0-9a-f]{64}$/)
    const daemon = dockerd.pid!
    dockerd.killHard()
    while (fs.existsSync(`/proc/${daemon}`)) await sleep(50)
    // Past the grace a new record gets, so that gc judges this one.
    const age = Date.now() - fs.statSync(layout.activeMount(volume, id)).mtimeMs
    if (age < GRACE_MS) await sleep(GRACE_MS - age + 200)

    const gc = await gcStale()
    assert.equal(gc.docker.checked, false)
    assert.deepEqual(gc.findings.filter((f) => f.volume === volume), [])
    assert.deepEqual(records(), [id])
    assert.equal(overlays().length, 1)
  })

  test('once the container is gone, gc --stale drops the record and unmounts the overlay', async () => {
    process.kill(containerPid, 'SIGKILL')
    while (fs.existsSync(`/proc/${containerPid}`)) await sleep(50)
    containerPid = 0
    // No Unmount came: dockerd is dead.
    assert.equal(records().length, 1)
    assert.equal(overlays().length, 1)
    const gc = await gcStale()
    const mine = gc.findings.filter((f) => f.volume === volume)
    assert.deepEqual(
      mine.map((f) => [f.status, f.action]),
      [['repaired', 'records dropped and overlay unmounted']],
      JSON.stringify(gc),
    )
    assert.deepEqual(records(), [])
    assert.deepEqual(overlays(), [])
    // Repaired means nothing is left to find.
    assert.deepEqual((await gcStale()).findings.filter((f) => f.volume === volume), [])
  })
})
