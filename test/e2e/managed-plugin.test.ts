import {execa} from 'execa'
import assert from 'node:assert/strict'
import {type ChildProcess, spawn} from 'node:child_process'
import {randomBytes, randomInt} from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {assertRunnable, skipUnlessMandatory, whyNoCommands} from '../helpers/requirements.js'
import {REPO, runDot} from '../helpers/run-dot.js'
import {TempRoot} from '../helpers/temp-root.js'
import {TEST_IMAGE} from './harness/docker.js'
import {OwnDockerd} from './harness/own-dockerd.js'
import {snapshot} from './harness/tree.js'

const why = whyNoCommands(['dockerd', 'docker', 'ldd', 'chroot', 'docker-registry'], 'apt-get install docker.io docker-registry')
const VERSION = (JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {version: string}).version

/**
 * The managed (v2) plugin as a user gets it: `scripts/build-plugin.sh` (npm run plugin) builds it
 * offline and runs `docker plugin create`; then enable, a volume over a host base, a container on it,
 * disable and enable again with the data kept, an upgrade from a registry (a docker-registry of the
 * test's own on 127.0.0.1) with the data kept, and removal. On a dockerd of the test's own: plugins
 * are daemon-wide, and `docker plugin disable -f` unmounts below the plugin's directory.
 */
describe('e2e: the managed Docker plugin (npm run plugin)', skipUnlessMandatory(why), () => {
  const tmp = new TempRoot('dot-test-managed-')
  const dockerd = new OwnDockerd('managed')
  const plugin = `dot-test-${randomBytes(4).toString('hex')}:${VERSION}`
  const volume = 'managed-vol'
  let base: string
  let pristine: Record<string, string>
  let registry: ChildProcess | undefined
  const registryAddr = `127.0.0.1:${20_000 + randomInt(20_000)}`
  const upgraded = `${registryAddr}/docker-on-top:${VERSION}-next`

  before(async () => {
    assertRunnable(why)
    await dockerd.start()
    base = tmp.base('host-base', {'hello.txt': 'from the host\n', 'sub/old.txt': 'old\n'})
    pristine = snapshot(base)
  })
  after(async () => {
    const problems: string[] = []
    const note = (what: string) => (err: unknown) => problems.push(`${what}: ${(err as Error).message}`)
    await dockerd.docker(['rm', '-f', 'managed-writer']).catch(note('container'))
    await dockerd.docker(['volume', 'rm', '-f', volume]).catch(note('volume'))
    await dockerd.docker(['plugin', 'disable', '-f', plugin]).catch(note('plugin disable'))
    await dockerd.docker(['plugin', 'rm', '-f', plugin]).catch(note('plugin rm'))
    registry?.kill('SIGKILL')
    await dockerd.purge().catch(note('dockerd purge'))
    tmp.cleanup()
    if (problems.length > 0) throw new Error(`cleanup: ${problems.join('; ')}`)
  })

  const run = (script: string, name?: string) =>
    dockerd.dockerOk(['run', '--network', 'none', ...(name ? ['-d', '--name', name] : ['--rm']), '-v', `${volume}:/data`, TEST_IMAGE, 'sh', '-c', script])
  const propagatedRoot = async () => {
    const id = await dockerd.dockerOk(['plugin', 'inspect', '-f', '{{.Id}}', plugin])
    return path.join(dockerd.dataRoot, 'plugins', id, 'propagated-mount')
  }

  test('npm run plugin builds it offline and creates it, disabled', async () => {
    const built = await execa('bash', [path.join(REPO, 'scripts', 'build-plugin.sh'), '--name', plugin, '--dir', path.join(tmp.dir, 'plugin')], {
      env: {...process.env, DOCKER_HOST: dockerd.host},
      reject: false,
      stdin: 'ignore',
      timeout: 600_000,
    })
    assert.equal(built.exitCode, 0, `build-plugin.sh failed:\n${built.stderr}`)
    assert.equal(built.stdout.trim(), plugin)
    const config = JSON.parse(fs.readFileSync(path.join(tmp.dir, 'plugin', 'config.json'), 'utf8')) as Record<string, unknown>
    assert.deepEqual((config.interface as {types: string[]}).types, ['docker.volumedriver/1.0'])
    assert.ok(fs.statSync(path.join(tmp.dir, 'plugin', 'rootfs', 'usr', 'bin', 'node')).isFile())
    assert.equal(await dockerd.dockerOk(['plugin', 'inspect', '-f', '{{.Enabled}}', plugin]), 'false')
  })

  test('enabled, it makes a volume over a host base that a container reads and writes; the base stays as it was', async () => {
    await dockerd.dockerOk(['plugin', 'enable', plugin])
    await dockerd.dockerOk(['volume', 'create', '--driver', plugin, '-o', `base=${base}`, volume])
    const seen = await run('cat /data/hello.txt; echo new > /data/new.txt; rm /data/sub/old.txt; ls /data /data/sub')
    assert.match(seen, /^from the host$/m)
    assert.match(seen, /new\.txt/)
    assert.deepEqual(snapshot(base), pristine, 'the base changed')
  })

  test('the host CLI reads the plugin root below its propagated-mount directory', async () => {
    const root = await propagatedRoot()
    const ls = await runDot(['ls', '--json', '--root', root])
    assert.equal(ls.code, 0, ls.stderr)
    const volumes = JSON.parse(ls.stdout) as {name: string; base: string}[]
    assert.deepEqual(volumes.map((v) => [v.name, v.base]), [[volume, base]])
    const diff = await runDot(['diff', volume, '--root', root])
    assert.equal(diff.code, 0, diff.stderr)
    assert.deepEqual(diff.stdout.trim().split('\n'), ['A /new.txt', 'C /sub', 'D /sub/old.txt'])
  })

  test('disabled (settings changed meanwhile) and enabled again, it keeps the volume and its changes', async () => {
    // Volumes pin a managed plugin: without -f, disable refuses.
    const refused = await dockerd.docker(['plugin', 'disable', plugin])
    assert.notEqual(refused.code, 0)
    assert.match(refused.stderr, /in use/)
    await dockerd.dockerOk(['plugin', 'disable', '-f', plugin])
    await dockerd.dockerOk(['plugin', 'set', plugin, 'DOT_LOG_LEVEL=debug'])
    await dockerd.dockerOk(['plugin', 'enable', plugin])
    const seen = await run('cat /data/new.txt; test -e /data/sub/old.txt && echo old-is-back || echo old-still-deleted')
    assert.deepEqual(seen.split('\n'), ['new', 'old-still-deleted'])
    // The new log level took: dockerd's log carries the plugin's per-request debug lines.
    assert.match(fs.readFileSync(path.join(dockerd.runDir, 'dockerd.log'), 'utf8'), /VolumeDriver\.Mount \{/)
    assert.deepEqual(snapshot(base), pristine, 'the base changed')
  })

  test('start-up repair runs inside the plugin as in dot serve: a record left while it was down is dropped at enable', async () => {
    await dockerd.dockerOk(['plugin', 'disable', '-f', plugin])
    // As a crash leaves it: a record of a mount whose overlay is gone (disable unmounted everything).
    const id = randomBytes(32).toString('hex')
    fs.writeFileSync(path.join(await propagatedRoot(), volume, 'activemounts', id), '{"UsageCount": 1}\n')
    await dockerd.dockerOk(['plugin', 'enable', plugin])
    const repaired = new RegExp(`reconcile: volume \\\\?"${volume}\\\\?": 1 mount record\\(s\\) \\(${id}\\) but no overlay mounted`)
    const log = () => fs.readFileSync(path.join(dockerd.runDir, 'dockerd.log'), 'utf8')
    for (let waited = 0; !repaired.test(log()) && waited < 15_000; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100))
    assert.match(log(), repaired)
    assert.ok(!fs.existsSync(path.join(await propagatedRoot(), volume, 'activemounts', id)), 'the stale record is still there')
    assert.equal(await run('cat /data/new.txt'), 'new')
  })

  test('a base outside the host directory it was given (DOT_HOST_DIR) is refused with the way to widen it', async () => {
    await dockerd.dockerOk(['plugin', 'disable', '-f', plugin])
    const only = path.dirname(base)
    await dockerd.dockerOk(['plugin', 'set', plugin, `bases.source=${only}`, `DOT_HOST_DIR=${only}`])
    await dockerd.dockerOk(['plugin', 'enable', plugin])
    const elsewhere = path.join(tmp.dir, 'elsewhere')
    fs.mkdirSync(elsewhere)
    const refused = await dockerd.docker(['volume', 'create', '--driver', plugin, '-o', `base=${elsewhere}`, 'managed-outside'])
    assert.notEqual(refused.code, 0)
    assert.match(refused.stderr, /outside .*bases\.source=DIR DOT_HOST_DIR=DIR/)
    // The volume below it still works.
    assert.equal(await run('cat /data/new.txt'), 'new')
  })

  test('upgraded from a registry (disable, upgrade, enable), it keeps the name, the volume and its changes', async () => {
    registry = await startRegistry(path.join(tmp.dir, 'registry'), registryAddr)
    // A new build: the same tree with a marker (dockerd refuses a second plugin of identical content).
    const dir = path.join(tmp.dir, 'plugin')
    fs.writeFileSync(path.join(dir, 'rootfs', 'opt', 'docker-on-top', 'BUILD'), 'next\n')
    await dockerd.dockerOk(['plugin', 'create', upgraded, dir])
    await dockerd.dockerOk(['plugin', 'push', upgraded], 300_000)
    await dockerd.dockerOk(['plugin', 'rm', upgraded])
    await dockerd.dockerOk(['plugin', 'disable', '-f', plugin])
    // --skip-remote-check: the plugin was made by `docker plugin create`, under another repository name.
    await dockerd.dockerOk(['plugin', 'upgrade', '--grant-all-permissions', '--skip-remote-check', plugin, upgraded], 300_000)
    // dockerd keeps the env settings but runs the new config's mounts (inspect still shows the old
    // source): a narrowed bases mount is set again, as the README says.
    await dockerd.dockerOk(['plugin', 'set', plugin, `bases.source=${path.dirname(base)}`])
    await dockerd.dockerOk(['plugin', 'enable', plugin])
    assert.equal(await dockerd.dockerOk(['plugin', 'inspect', '-f', '{{.PluginReference}}', plugin]), upgraded)
    assert.equal(fs.readFileSync(path.join(path.dirname(await propagatedRoot()), 'rootfs', 'opt', 'docker-on-top', 'BUILD'), 'utf8'), 'next\n')
    assert.equal(await dockerd.dockerOk(['volume', 'inspect', '-f', '{{.Driver}}', volume]), plugin)
    assert.equal(await run('cat /data/new.txt'), 'new')
  })

  test('removed: volume first, then disable and rm', async () => {
    await dockerd.dockerOk(['volume', 'rm', volume])
    await dockerd.dockerOk(['plugin', 'disable', plugin])
    await dockerd.dockerOk(['plugin', 'rm', plugin])
    const listed = await dockerd.dockerOk(['plugin', 'ls', '--format', '{{.Name}}'])
    assert.ok(!listed.includes(plugin.split(':')[0]), listed)
    assert.deepEqual(snapshot(base), pristine, 'the base changed')
  })
})

/** A docker-registry (Debian's distribution 2.8) on `addr` with its storage in `dir`; resolves once it answers. */
async function startRegistry(dir: string, addr: string): Promise<ChildProcess> {
  fs.mkdirSync(dir, {recursive: true})
  const config = path.join(dir, 'config.yml')
  fs.writeFileSync(config, ['version: 0.1', 'log: {level: warn}', `storage: {filesystem: {rootdirectory: ${JSON.stringify(path.join(dir, 'data'))}}}`, `http: {addr: "${addr}"}`, ''].join('\n'))
  const child = spawn('docker-registry', ['serve', config], {stdio: ['ignore', 'ignore', 'pipe']})
  let log = ''
  child.stderr!.on('data', (d) => (log += d))
  const deadline = Date.now() + 20_000
  for (;;) {
    const answer = await fetch(`http://${addr}/v2/`).catch(() => undefined)
    if (answer?.ok) return child
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`docker-registry did not answer on ${addr}:\n${log}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
