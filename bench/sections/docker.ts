import {spawnSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import path from 'node:path'

import {type Bench, REPO} from '../context.js'
import {Scratch} from '../fixtures.js'
import {startServe} from '../serve-process.js'

const IMAGE = process.env.DOT_TEST_IMAGE ?? 'dot-test-busybox:latest'

/**
 * Through a real dockerd (DOT_TEST_DOCKER_HOST, else DOCKER_HOST; see test/e2e/dockerd.sh for a
 * hermetic one): `docker run --rm --network none` of the local busybox image with a docker-on-top
 * volume, with a `local` volume and with no volume, interleaved round by round.
 *
 * Use a throw-away daemon: dockerd keeps every legacy plugin it activated for its lifetime
 * (docs/plugin-protocol.md §1.3), so after the bench stops its `dot serve` each later lookup of an unknown volume
 * name on that daemon probes the dead socket for ~15 s (seen: e2e tests timing out on a daemon that had
 * served four bench runs).
 */
export async function docker(bench: Bench): Promise<void> {
  const host = process.env.DOT_TEST_DOCKER_HOST || process.env.DOCKER_HOST
  if (!host) {
    bench.note('docker: skipped, no daemon given (set DOT_TEST_DOCKER_HOST or DOCKER_HOST; test/e2e/dockerd.sh start runs a hermetic one)')
    return
  }
  const env = {...process.env, DOCKER_HOST: host}
  const run = (args: string[]) => spawnSync('docker', args, {env, encoding: 'utf8'})
  const version = run(['version', '--format', '{{.Server.Version}}'])
  if (version.status !== 0) {
    bench.note(`docker: skipped, the daemon at ${host} does not answer: ${(version.stderr || version.error?.message || '').trim().split('\n')[0]}`)
    return
  }
  const image = spawnSync(path.join(REPO, 'test', 'e2e', 'test-image.sh'), [], {env: {...env, DOT_TEST_IMAGE: IMAGE}, encoding: 'utf8'})
  if (image.status !== 0) throw new Error(`importing ${IMAGE}: ${image.stderr}`)

  const driver = `dot-bench-${randomBytes(4).toString('hex')}`
  const scratch = new Scratch('docker')
  const serve = await startServe(scratch.root, `/run/docker/plugins/${driver}.sock`)
  const dotVolume = `${driver}-vol`
  const localVolume = `${driver}-local`
  const must = (args: string[]) => {
    const result = run(args)
    if (result.status !== 0) throw new Error(`docker ${args.join(' ')}: ${result.stderr.trim()}`)
    return result.stdout
  }
  try {
    must(['volume', 'create', '--driver', driver, '-o', `base=${scratch.base}`, dotVolume])
    must(['volume', 'create', localVolume])
    const variants: {key: string; label: string; args: string[]}[] = [
      {key: 'docker.run-dot', label: 'docker run --rm, docker-on-top volume', args: ['-v', `${dotVolume}:/data`]},
      {key: 'docker.run-local', label: 'docker run --rm, local volume', args: ['-v', `${localVolume}:/data`]},
      {key: 'docker.run-none', label: 'docker run --rm, no volume', args: []},
    ]
    for (const v of variants) must(['run', '--rm', '--network', 'none', ...v.args, IMAGE, 'true']) // warm-up
    const samples = new Map(variants.map((v) => [v.key, [] as number[]]))
    const rounds = bench.n(20, 2)
    for (let round = 0; round < rounds; round++) {
      // Rotate the order each round so no variant always runs right after another.
      for (let k = 0; k < variants.length; k++) {
        const v = variants[(round + k) % variants.length]
        const start = performance.now()
        must(['run', '--rm', '--network', 'none', ...v.args, IMAGE, 'true'])
        samples.get(v.key)!.push(performance.now() - start)
      }
    }
    for (const v of variants) bench.add(v.key, v.label, samples.get(v.key)!)
    bench.note(`docker: daemon ${version.stdout.trim()} at ${host}, image ${IMAGE}, ${rounds} interleaved rounds; the daemon now remembers plugin ${driver} (restart it before other tests)`)
  } finally {
    run(['volume', 'rm', '-f', dotVolume])
    run(['volume', 'rm', '-f', localVolume])
    await serve.stop()
    scratch.cleanup()
  }
}
