import {DEFAULT_ROOT} from '../core/volume/store.js'
import {exitCodeFor} from './exit-codes.js'
import {isPlainName} from '../core/disk/names.js'
import {runServe, SERVE_LOG_LEVELS, type ServeFlags, type ServeLogLevel} from './run-serve.js'
import {toDotError} from './to-dot-error.js'

const FLAGS = new Set(['name', 'socket', 'root', 'log-level', 'metrics', 'pidfile'])

/**
 * `dot serve` without loading oclif, for the well-formed command lines a service runs: only --name,
 * --socket, --root, --log-level, --metrics and --pidfile, each as `--flag value` or `--flag=value`,
 * with valid values, plus their environment defaults (DOT_SOCKET, DOT_ROOT, DOT_LOG_LEVEL, DOT_METRICS). oclif's module graph is most of
 * `dot serve`'s start-up, which dockerd waits for when it first uses the plugin.
 * Anything else (help, a typo, a bad or repeated value) returns false: oclif then parses it and
 * reports errors as for every command.
 */
export async function serveWithoutOclif(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const flags = parseServeArgs(args, env)
  if (!flags) return false
  try {
    await runServe(flags)
  } catch (err) {
    // As DotCommand.catch does for a human: one line, the documented exit code.
    const error = toDotError(err)
    process.exitCode = exitCodeFor(error.code)
    process.stderr.write(`dot serve: ${error.message}\n`)
  }
  return true
}

/** The flags of a command line the fast path takes; undefined for anything it leaves to oclif. */
export function parseServeArgs(args: string[], env: NodeJS.ProcessEnv): ServeFlags | undefined {
  const given = new Map<string, string>()
  for (let i = 0; i < args.length; i++) {
    const match = /^--([a-z-]+)(?:=(.*))?$/s.exec(args[i])
    if (!match || !FLAGS.has(match[1]) || given.has(match[1])) return undefined
    const value = match[2] ?? args[++i]
    if (value === undefined || value === '' || (match[2] === undefined && value.startsWith('-'))) return undefined
    given.set(match[1], value)
  }
  // An empty variable: whatever oclif makes of it, let oclif do it.
  if (['DOT_LOG_LEVEL', 'DOT_SOCKET', 'DOT_ROOT', 'DOT_METRICS'].some((key) => env[key] === '')) return undefined
  const fromEnv = (key: string) => env[key]
  const name = given.get('name') ?? 'docker-on-top'
  const logLevel = given.get('log-level') ?? fromEnv('DOT_LOG_LEVEL') ?? 'info'
  if (!isPlainName(name) || !(SERVE_LOG_LEVELS as readonly string[]).includes(logLevel)) return undefined
  const socket = given.get('socket') ?? fromEnv('DOT_SOCKET')
  const metrics = given.get('metrics') ?? fromEnv('DOT_METRICS')
  const pidfile = given.get('pidfile')
  const root = given.get('root') ?? fromEnv('DOT_ROOT') ?? DEFAULT_ROOT
  return {name, root, ...(socket ? {socket} : {}), ...(metrics ? {metrics} : {}), ...(pidfile ? {pidfile} : {}), logLevel: logLevel as ServeLogLevel}
}
