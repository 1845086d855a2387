import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {execa} from 'execa'

import {assertRoot, MANDATORY, rootOnly} from '../helpers/requirements.js'
import {REPO} from '../helpers/run-dot.js'

/**
 * The tests leave the user's Docker alone: with a daemon at DOCKER_HOST (standing for the user's
 * default one) and no DOT_TEST_DOCKER_HOST, the test files that drive Docker skip, and the daemon has
 * the same images, plugins and volumes afterwards, and `docker volume ls` is as fast as before (a dead
 * test plugin it had been made to know would cost ~15 s per call). The "user's daemon" is one this test
 * starts with test/e2e/dockerd.sh under its own run dir and data root, and purges at the end.
 */
describe('npm test with a default Docker daemon present leaves it unchanged', rootOnly(), () => {
  const tag = randomBytes(3).toString('hex')
  const daemonEnv = {DOT_E2E_RUN_DIR: `/run/dot-e2e-default-${tag}`, DOT_E2E_DATA_ROOT: `/var/lib/dot-e2e/default-${tag}`}
  const host = `unix://${daemonEnv.DOT_E2E_RUN_DIR}/docker.sock`
  const dockerd = (command: string) => execa('bash', [path.join(REPO, 'test/e2e/dockerd.sh'), command], {env: daemonEnv, stdin: 'ignore', timeout: 120_000})
  const docker = async (...args: string[]) => (await execa('docker', args, {env: {DOCKER_HOST: host}, stdin: 'ignore', timeout: 60_000})).stdout
  const state = async () => ({
    images: await docker('image', 'ls', '-a', '-q', '--no-trunc'),
    plugins: await docker('plugin', 'ls', '-q', '--no-trunc'),
    volumes: await docker('volume', 'ls', '-q'),
  })
  const volumeLsSeconds = async () => {
    const started = performance.now()
    await docker('volume', 'ls')
    return (performance.now() - started) / 1000
  }
  let started = false

  before(async () => {
    assertRoot()
    const available = (await execa('sh', ['-c', 'command -v dockerd'], {reject: false})).exitCode === 0
    if (!available) {
      if (MANDATORY) throw new Error('required test cannot run: needs dockerd (apt-get install docker.io)')
      return
    }
    await dockerd('start')
    started = true
    // Something of the user's own: a volume of the local driver.
    await docker('volume', 'create', `users-own-${tag}`)
  })
  after(async () => {
    if (started) await dockerd('purge')
    fs.rmSync(daemonEnv.DOT_E2E_RUN_DIR, {recursive: true, force: true})
  })

  test('the Docker test files skip, and the daemon keeps its images, plugins, volumes and `docker volume ls` time', async (t) => {
    if (!started) return t.skip('needs dockerd (apt-get install docker.io)')
    const before_ = await state()
    const lsBefore = await volumeLsSeconds()
    const files = ['e2e/docker.test.js', 'integration/gc-docker.test.js'].map((f) => path.join(REPO, 'dist/test', f))
    for (const file of files) assert.ok(fs.existsSync(file), file)
    // NODE_TEST_CONTEXT would make the child a subtest reporter of this run instead of a run of its own.
    const {DOT_TEST_DOCKER_HOST: _named, DOT_TEST_MANDATORY: _mandatory, NODE_TEST_CONTEXT: _context, ...env} = process.env
    const run = await execa(process.execPath, ['--test', ...files], {env: {...env, DOCKER_HOST: host}, extendEnv: false, reject: false, stdin: 'ignore', timeout: 300_000})
    const output = `${run.stdout}\n${run.stderr}`
    assert.equal(run.exitCode, 0, output)
    assert.equal((output.match(/^ok \d+ - .* # SKIP needs DOT_TEST_DOCKER_HOST/gm) ?? []).length, 2, output)
    assert.match(output, /needs DOT_TEST_DOCKER_HOST naming a throw-away Docker daemon/)
    assert.deepEqual(await state(), before_)
    const lsAfter = await volumeLsSeconds()
    // A plugin the daemon had been made to know and that is gone costs it ~15 s on every call.
    assert.ok(lsAfter < Math.max(10, lsBefore * 3), `docker volume ls took ${lsAfter.toFixed(2)} s after the run, ${lsBefore.toFixed(2)} s before`)
  })
})
