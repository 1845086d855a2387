import {spawn} from 'node:child_process'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {NO_DOCKER_HOST} from './requirements.js'

/** The repository root (this file is compiled to dist/test/helpers/). */
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')
export const DOT_BIN = path.join(REPO, 'bin', 'run.js')

export interface DotResult {
  code: number
  stdout: string
  stderr: string
}

/**
 * Runs the real `dot` CLI as a child process, the way an admin or a script would. `prefix` is a command
 * the CLI is started under (e.g. setpriv to drop capabilities).
 */
export function runDot(
  args: string[],
  options: {env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number; prefix?: string[]; cwd?: string} = {},
): Promise<DotResult> {
  const [command, ...commandArgs] = [...(options.prefix ?? []), process.execPath, DOT_BIN, ...args]
  return new Promise((resolve, reject) => {
    const child = spawn(command, commandArgs, {
      // `dot gc` asks dockerd: only a daemon a test names (options.env) is ever reached.
      env: {...process.env, NO_COLOR: '1', DOCKER_HOST: NO_DOCKER_HOST, ...options.env},
      stdio: ['pipe', 'pipe', 'pipe'],
      cwd: options.cwd,
      timeout: options.timeoutMs ?? 60_000,
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({code: code ?? (signal ? 128 : 1), stdout, stderr}))
    child.stdin.end(options.input ?? '')
  })
}

/** Parses the single JSON document a `--json` run must print. */
export function parseJson(result: DotResult): unknown {
  try {
    return JSON.parse(result.stdout)
  } catch {
    throw new Error(`stdout is not one JSON document:\n${result.stdout}\nstderr:\n${result.stderr}`)
  }
}
