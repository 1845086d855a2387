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

/** The Docker host the e2e tests use: DOT_TEST_DOCKER_HOST, else DOCKER_HOST, else the default socket. */
export function dockerHost(): string {
  return process.env.DOT_TEST_DOCKER_HOST ?? process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock'
}

export function whyNoDocker(): string | undefined {
  const root = whyNoRoot()
  if (root) return root
  try {
    execFileSync('docker', ['version', '--format', '{{.Server.Version}}'], {
      env: {...process.env, DOCKER_HOST: dockerHost()},
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 15_000,
    })
    return undefined
  } catch {
    return `needs a reachable Docker daemon at ${dockerHost()} (see .ci/run, which installs and starts one)`
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
