import {randomBytes} from 'node:crypto'
import path from 'node:path'

import {execa} from 'execa'

import {dockerHost, NO_DOCKER_HOST} from '../../helpers/requirements.js'
import {REPO} from '../../helpers/run-dot.js'

/**
 * The image the e2e tests run: busybox-static in an otherwise empty rootfs, imported locally. The
 * shared tag when the daemon has it (.ci/run imports it up front); else this process imports its own
 * tag and removes it at the end, so parallel test files never remove an image another one uses.
 */
export let TEST_IMAGE = process.env.DOT_TEST_IMAGE ?? 'dot-test-busybox:latest'

export interface CommandResult {
  code: number
  stdout: string
  stderr: string
}

/**
 * The first docker command that timed out, if any. A hung daemon or plugin would otherwise make every
 * later test wait for its own timeout; `E2E.withLog` fails them at once instead.
 */
export let hungCommand: string | undefined

/** Runs the real `docker` CLI against the test daemon; never throws for a non-zero exit. */
export async function docker(args: string[], options: {timeoutMs?: number; input?: string} = {}): Promise<CommandResult> {
  // Below dockerd's own plugin timeouts (1-2 min, docs/plugin-protocol.md §1.4): a hung plugin fails the test, not the run.
  const timeoutMs = options.timeoutMs ?? 60_000
  const result = await execa('docker', args, {
    env: {DOCKER_HOST: dockerHost() ?? NO_DOCKER_HOST},
    reject: false,
    timeout: timeoutMs,
    ...(options.input === undefined ? {stdin: 'ignore' as const} : {input: options.input}),
  })
  if (result.timedOut) {
    hungCommand ??= `docker ${args.join(' ')}`
    throw new Error(`docker ${args.join(' ')}: timed out after ${timeoutMs} ms`)
  }
  return {code: result.exitCode ?? 1, stdout: result.stdout, stderr: result.stderr}
}

/** Runs `docker` and returns its trimmed stdout; throws with docker's stderr if it failed. */
export async function dockerOk(args: string[], options: {timeoutMs?: number; input?: string} = {}): Promise<string> {
  const result = await docker(args, options)
  if (result.code !== 0) {
    throw new Error(`docker ${args.join(' ')} exited ${result.code}:\n${result.stderr || result.stdout}`)
  }
  return result.stdout.trim()
}

/** Whether this process imported the test image (and so must remove it: see `removeTestImage`). */
let importedImage = false

/** Imports the test image if the daemon lacks it (test/e2e/test-image.sh), so a named daemon works too. */
export async function ensureTestImage(): Promise<void> {
  if (importedImage || (await docker(['image', 'inspect', TEST_IMAGE])).code === 0) return
  TEST_IMAGE = `dot-test-busybox:run-${randomBytes(4).toString('hex')}`
  const script = path.join(REPO, 'test', 'e2e', 'test-image.sh')
  const result = await execa('bash', [script], {
    env: {DOCKER_HOST: dockerHost() ?? NO_DOCKER_HOST, DOT_TEST_IMAGE: TEST_IMAGE},
    reject: false,
    stdin: 'ignore',
    timeout: 120_000,
  })
  if (result.exitCode !== 0) throw new Error(`importing the test image failed:\n${result.stderr}${result.stdout}`)
  importedImage = true
}

/** Removes the test image if this process imported it: the daemon is left with the images it had. */
export async function removeTestImage(): Promise<void> {
  if (!importedImage) return
  await dockerOk(['image', 'rm', TEST_IMAGE])
  importedImage = false
}
