import {execFileSync} from 'node:child_process'
import fs from 'node:fs'

/**
 * Tests that need root (real overlay mounts) or a Docker daemon skip with a clear reason on a
 * developer's machine, but CI sets DOT_TEST_MANDATORY=1: then they run and fail with that reason
 * instead of skipping, so a skipped root-only test can never pass CI.
 */
export const MANDATORY = process.env.DOT_TEST_MANDATORY === '1'

export function whyNoRoot(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (real overlayfs mounts); run the tests as root'
  if (!fs.readFileSync('/proc/filesystems', 'utf8').includes('overlay')) return 'needs overlayfs in the kernel'
  return undefined
}

/** For describe()/test() options: skip (with the reason) unless mandatory. */
export function rootOnly(): {skip?: string} {
  const reason = whyNoRoot()
  return reason && !MANDATORY ? {skip: reason} : {}
}

/** Call first in a root-only suite: under DOT_TEST_MANDATORY it fails with the reason instead of skipping. */
export function assertRoot(): void {
  const reason = whyNoRoot()
  if (reason) throw new Error(`required test cannot run: ${reason}`)
}

/**
 * The Docker daemon the e2e tests drive: only one named for them, DOT_TEST_DOCKER_HOST (.ci/run starts
 * a throw-away one with test/e2e/dockerd.sh). Never DOCKER_HOST or the default socket: a daemon the
 * tests did not start is the user's, and after a run it would keep the test image and ask the dead test
 * plugin on every `docker volume ls`, ~15 s each time, until it restarts.
 */
export function dockerHost(): string | undefined {
  return process.env.DOT_TEST_DOCKER_HOST || undefined
}

/** Where the tests point DOCKER_HOST when no daemon is named, so nothing reaches the user's. */
export const NO_DOCKER_HOST = 'unix:///nonexistent/dot-tests-name-no-daemon.sock'

export function whyNoDocker(): string | undefined {
  const root = whyNoRoot()
  if (root) return root
  const host = dockerHost()
  if (!host) return 'needs DOT_TEST_DOCKER_HOST naming a throw-away Docker daemon (test/e2e/dockerd.sh start; .ci/run does it); the tests never use the default one'
  try {
    execFileSync('docker', ['version', '--format', '{{.Server.Version}}'], {
      env: {...process.env, DOCKER_HOST: host},
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 15_000,
    })
    return undefined
  } catch {
    return `needs a reachable Docker daemon at DOT_TEST_DOCKER_HOST=${host} (see .ci/run, which installs and starts one)`
  }
}

export function dockerOnly(): {skip?: string} {
  const reason = whyNoDocker()
  return reason && !MANDATORY ? {skip: reason} : {}
}

export function assertDocker(): void {
  const reason = whyNoDocker()
  if (reason) throw new Error(`required test cannot run: ${reason}`)
}

/** Whether `command` is on PATH. */
export function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => {
    try {
      fs.accessSync(`${dir}/${command}`, fs.constants.X_OK)
      return true
    } catch {
      return false
    }
  })
}

/** Why a root test that runs these programs cannot run here (none missing: undefined). */
export function whyNoCommands(commands: string[], install: string): string | undefined {
  const root = whyNoRoot()
  if (root) return root
  const missing = commands.filter((command) => !onPath(command))
  return missing.length > 0 ? `needs ${missing.join(', ')} on PATH (${install}; .ci/run installs it)` : undefined
}

/** For describe() options: skip with `reason` unless mandatory. */
export function skipUnlessMandatory(reason: string | undefined): {skip?: string} {
  return reason && !MANDATORY ? {skip: reason} : {}
}

/** Call first in such a suite: under DOT_TEST_MANDATORY it fails with the reason instead of skipping. */
export function assertRunnable(reason: string | undefined): void {
  if (reason) throw new Error(`required test cannot run: ${reason}`)
}
