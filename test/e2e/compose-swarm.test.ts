import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'
import {setTimeout as sleep} from 'node:timers/promises'

import {Layout} from '../../src/core/disk/layout.js'
import {assertRunnable, skipUnlessMandatory, whyNoCommands} from '../helpers/requirements.js'
import {TempRoot} from '../helpers/temp-root.js'
import {TEST_IMAGE} from './harness/docker.js'
import {DotServe} from './harness/dot-serve.js'
import {PLUGIN_DIR} from './harness/e2e.js'
import {OwnDockerd} from './harness/own-dockerd.js'
import {snapshot} from './harness/tree.js'

const why = whyNoCommands(['dockerd', 'docker', 'docker-compose'], 'apt-get install docker.io docker-compose')

/**
 * docker-compose (Debian's, 1.29) with `driver:` and `driver_opts:`, and a single-node swarm service
 * with `--mount type=volume,volume-driver=...,volume-opt=base=...`, both on the legacy plugin
 * (`dot serve`). On a dockerd of the test's own: swarm mode is daemon-wide.
 *
 * Compose looks its volume up by name before creating it, and dockerd asks every plugin in
 * /run/docker/plugins about an unknown name: each dead socket there (a crashed run's) costs ~15 s.
 */
describe('e2e: Compose and Swarm with the docker-on-top driver', skipUnlessMandatory(why), () => {
  const tmp = new TempRoot('dot-test-compose-')
  const dockerd = new OwnDockerd('swarm')
  const driver = `dot-test-${randomBytes(4).toString('hex')}`
  const plugin = new DotServe(driver, tmp.root, `${PLUGIN_DIR}/${driver}.sock`)
  const layout = new Layout(tmp.root)
  const project = `dottest${randomBytes(3).toString('hex')}`
  const service = `${driver}-svc`
  const swarmVolume = `${driver}-swarm`
  let base: string
  let pristine: Record<string, string>
  let swarmJoined = false

  before(async () => {
    assertRunnable(why)
    base = tmp.base('shared', {'hello.txt': 'from the host\n'})
    pristine = snapshot(base)
    fs.mkdirSync(PLUGIN_DIR, {recursive: true})
    await plugin.start()
    await dockerd.start()
  })
  after(async () => {
    const problems: string[] = []
    const note = (what: string) => (err: unknown) => problems.push(`${what}: ${(err as Error).message}`)
    await dockerd.run('docker-compose', ['-p', project, 'down', '-v', '-t', '0'], 120_000, tmp.dir).catch(note('compose down'))
    if (swarmJoined) {
      await dockerd.docker(['service', 'rm', service]).catch(note('service rm'))
      await waitFor('the task container to go', async () => (await taskContainer()) === '', 60_000).catch(note('task container'))
      await dockerd.docker(['swarm', 'leave', '--force']).catch(note('swarm leave'))
      // Swarm made a bridge (docker_gwbridge) on the host: it goes with the daemon's networks.
      await dockerd.docker(['network', 'rm', 'docker_gwbridge']).catch(note('gwbridge'))
    }
    await dockerd.docker(['volume', 'rm', '-f', swarmVolume, `${driver}-activate`]).catch(note('volumes'))
    await dockerd.purge().catch(note('dockerd purge'))
    await plugin.stop()
    fs.rmSync(plugin.socket, {force: true})
    tmp.cleanup()
    if (problems.length > 0) throw new Error(`cleanup: ${problems.join('; ')}`)
  })

  const taskContainer = async () => dockerd.dockerOk(['ps', '-q', '--filter', `label=com.docker.swarm.service.name=${service}`])
  const withLog = (body: () => Promise<void>) => async () => {
    try {
      await body()
    } catch (err) {
      if (err instanceof Error) err.message += `\n--- dot serve log (tail) ---\n${plugin.logTail()}\n--- dockerd log (tail) ---\n${dockerd.logTail()}`
      throw err
    }
  }

  test(
    'docker-compose up creates the volume with driver_opts and runs on it; down -v removes it',
    withLog(async () => {
      fs.writeFileSync(
        path.join(tmp.dir, 'docker-compose.yml'),
        [
          'version: "3.8"',
          'services:',
          '  app:',
          `    image: ${TEST_IMAGE}`,
          '    network_mode: none',
          '    stop_signal: SIGKILL',
          '    command: ["sh", "-c", "echo from-compose > /data/written.txt; exec sleep 600"]',
          '    volumes:',
          '      - data:/data',
          'volumes:',
          '  data:',
          `    driver: ${driver}`,
          '    driver_opts:',
          `      base: ${JSON.stringify(base)}`,
          '',
        ].join('\n'),
      )
      const compose = (...args: string[]) => dockerd.ok('docker-compose', ['-p', project, ...args], 180_000, tmp.dir)
      await compose('up', '-d')
      const volume = `${project}_data`
      await waitFor('the container to write', () => fs.existsSync(path.join(layout.upper(volume), 'written.txt')))
      assert.equal(await compose('exec', '-T', 'app', 'cat', '/data/hello.txt', '/data/written.txt'), 'from the host\nfrom-compose')
      assert.deepEqual(JSON.parse(fs.readFileSync(layout.metadata(volume), 'utf8')).BaseDirPath, base)
      await compose('down', '-v', '-t', '0')
      assert.ok(!fs.existsSync(layout.volume(volume)), 'down -v left the volume')
      assert.deepEqual(snapshot(base), pristine, 'the base changed')
    }),
  )

  test(
    'a swarm service task mounts a volume made from --mount volume-opt=base=... and sees the base',
    withLog(async () => {
      await dockerd.dockerOk(['swarm', 'init', '--advertise-addr', '127.0.0.1'])
      swarmJoined = true
      // The scheduler places a task only on a node that reports the driver, and a legacy plugin is
      // reported once activated: a create activates it.
      await dockerd.dockerOk(['volume', 'create', '--driver', driver, '-o', `base=${base}`, `${driver}-activate`])
      await waitFor('the node to report the driver', async () => (await dockerd.dockerOk(['node', 'inspect', 'self', '--format', '{{json .Description.Engine.Plugins}}'])).includes(`"${driver}"`), 60_000)
      const mount = `type=volume,source=${swarmVolume},target=/data,volume-driver=${driver},volume-opt=base=${base}`
      await dockerd.dockerOk(['service', 'create', '--detach', '--name', service, '--no-resolve-image', '--restart-condition', 'none', '--mount', mount, TEST_IMAGE, 'sh', '-c', 'exec sleep 600'])
      await waitFor('the task to run', async () => (await taskContainer()) !== '', 90_000)
      const container = await taskContainer()
      assert.equal(await dockerd.dockerOk(['exec', container, 'cat', '/data/hello.txt']), 'from the host')
      await dockerd.dockerOk(['exec', container, 'sh', '-c', 'echo from-task > /data/task.txt'])
      assert.equal(fs.readFileSync(path.join(layout.upper(swarmVolume), 'task.txt'), 'utf8'), 'from-task\n')
      assert.equal(JSON.parse(fs.readFileSync(layout.metadata(swarmVolume), 'utf8')).BaseDirPath, base)
      assert.deepEqual(snapshot(base), pristine, 'the base changed')
    }),
  )
})

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(250)
  }
}
