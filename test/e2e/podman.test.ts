import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {Layout, MOUNT_SOURCE_PREFIX} from '../../src/core/disk/layout.js'
import {parseMountinfo} from '../../src/core/kernel/mountinfo.js'
import {assertRunnable, dockerHost, NO_DOCKER_HOST, skipUnlessMandatory, whyNoCommands} from '../helpers/requirements.js'
import {runDot} from '../helpers/run-dot.js'
import {TempRoot} from '../helpers/temp-root.js'
import {TEST_IMAGE} from './harness/docker.js'
import {DotServe} from './harness/dot-serve.js'
import {callPlugin} from '../plugin/plugin-process.js'
import {Podman} from './harness/podman.js'
import {snapshot} from './harness/tree.js'

const why = whyNoCommands(['podman'], 'apt-get install podman')

/**
 * Rootful Podman with `dot serve` as its volume plugin, configured as the README says
 * (`[engine.volume_plugins]` in a containers.conf the test writes; CONTAINERS_CONF points at it).
 * Podman mounts a plugin volume once, under one mount ID, for all its containers and counts them
 * itself; it reads an error only from a non-200 answer.
 */
describe('e2e: Podman with docker-on-top as its volume plugin', skipUnlessMandatory(why), () => {
  const tmp = new TempRoot('dot-test-podman-')
  const driver = `dot-test-${randomBytes(4).toString('hex')}`
  // Not in /run/docker/plugins: no dockerd on the machine should ever find (and then wait on) it.
  const socket = path.join(tmp.dir, 'plugin.sock')
  const plugin = new DotServe(driver, tmp.root, socket)
  const layout = new Layout(tmp.root)
  const podman = new Podman(path.join(tmp.dir, 'podman'), driver, socket)
  const volume = 'podvol'
  let base: string
  let pristine: Record<string, string>

  before(async () => {
    assertRunnable(why)
    base = tmp.base('shared', {'seed.txt': 'seed\n'})
    pristine = snapshot(base)
    await podman.importTestImage()
    await plugin.start()
  })
  after(async () => {
    await podman.cleanup().catch(() => {})
    await plugin.stop()
    tmp.cleanup()
  })

  const overlays = () =>
    parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8')).filter((e) => e.fstype === 'overlay' && e.source === MOUNT_SOURCE_PREFIX + volume && e.mountpoint.startsWith(tmp.dir))
  const records = () => (fs.existsSync(layout.activeMounts(volume)) ? fs.readdirSync(layout.activeMounts(volume)) : [])
  const withLog = (body: () => Promise<void>) => async () => {
    try {
      await body()
    } catch (err) {
      if (err instanceof Error) err.message += `\n--- dot serve log (tail) ---\n${plugin.logTail()}`
      throw err
    }
  }

  test(
    'podman volume create --driver makes the volume; a refused one fails with the plugin\'s reason',
    withLog(async () => {
      assert.equal(await podman.podmanOk(['volume', 'create', '--driver', driver, '-o', `base=${base}`, volume]), volume)
      assert.ok(fs.existsSync(layout.metadata(volume)))
      const refused = await podman.podman(['volume', 'create', '--driver', driver, '-o', 'bogus=1', 'podbad'])
      assert.notEqual(refused.code, 0, 'podman reported a refused create as made')
      assert.match(refused.stderr, /unknown option "bogus"/)
      assert.ok(!(await podman.podmanOk(['volume', 'ls', '--format', '{{.Name}}'])).split('\n').includes('podbad'))
    }),
  )

  test(
    'two containers at once share their writes through one overlay and one mount ID',
    withLog(async () => {
      for (const name of ['pod-a', 'pod-b']) {
        await podman.podmanOk(['run', '-d', '--name', name, ...podman.runArgs, '-v', `${volume}:/data`, TEST_IMAGE, 'sleep', '600'])
      }
      await podman.podmanOk(['exec', 'pod-a', 'sh', '-c', 'echo from-a > /data/shared.txt'])
      assert.equal(await podman.podmanOk(['exec', 'pod-b', 'cat', '/data/shared.txt', '/data/seed.txt']), 'from-a\nseed')
      assert.equal(overlays().length, 1)
      assert.equal(records().length, 1, `Podman mounts a volume once for all its containers: ${records().join(', ')}`)
    }),
  )

  test(
    'dot gc --stale leaves the volume alone while Podman containers use it (dockerd knows none of them)',
    withLog(async () => {
      const gc = await runDot(['gc', '--stale', '--json', '--root', tmp.root], {env: {DOCKER_HOST: dockerHost() ?? NO_DOCKER_HOST}})
      assert.equal(gc.code, 0, gc.stderr)
      const findings = (JSON.parse(gc.stdout) as {findings: {volume?: string}[]}).findings
      assert.deepEqual(findings.filter((f) => f.volume === volume), [], gc.stdout)
      assert.equal(overlays().length, 1)
      assert.equal(await podman.podmanOk(['exec', 'pod-b', 'cat', '/data/shared.txt']), 'from-a')
    }),
  )

  test(
    'a Remove as dockerd sends it (docker volume rm, which knows no Podman container) is refused while they use it',
    withLog(async () => {
      const answer = await callPlugin(socket, '/VolumeDriver.Remove', {Name: volume})
      assert.match(String(answer.json.Err), new RegExp(`volume "${volume}" is in use: its overlay is mounted in [2-9] other mount namespaces`))
      assert.equal(overlays().length, 1)
      assert.equal(records().length, 1)
      assert.equal(await podman.podmanOk(['exec', 'pod-a', 'cat', '/data/shared.txt']), 'from-a')
    }),
  )

  test(
    'the overlay stays while one container is left, and is gone with the last; the base is unchanged',
    withLog(async () => {
      await podman.podmanOk(['rm', '-f', '-t', '0', 'pod-a'])
      assert.equal(overlays().length, 1)
      assert.equal(await podman.podmanOk(['exec', 'pod-b', 'cat', '/data/shared.txt']), 'from-a')
      await podman.podmanOk(['rm', '-f', '-t', '0', 'pod-b'])
      assert.deepEqual(overlays(), [])
      assert.deepEqual(records(), [])
      assert.deepEqual(snapshot(base), pristine, 'the base changed')
      // The changes outlive the containers, and go with the volume.
      assert.equal(fs.readFileSync(path.join(layout.upper(volume), 'shared.txt'), 'utf8'), 'from-a\n')
      await podman.podmanOk(['volume', 'rm', volume])
      assert.ok(!fs.existsSync(layout.volume(volume)))
    }),
  )
})
