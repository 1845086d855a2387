import {invalid} from '../core/errors.js'

export const SERVE_LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const
export type ServeLogLevel = (typeof SERVE_LOG_LEVELS)[number]

/** A driver name becomes a file name under /run/docker/plugins: the volume-name rules keep it one. */
const DRIVER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/

export function isDriverName(name: string): boolean {
  return DRIVER_NAME.test(name) && name.length <= 200
}

export interface ServeFlags {
  name: string
  root: string
  socket?: string
  logLevel: ServeLogLevel
}

/**
 * What `dot serve` does once its flags are parsed, shared by the oclif command and by the start-up
 * path that skips oclif (serve-without-oclif.ts). Resolves when the server has stopped.
 */
export async function runServe(flags: ServeFlags): Promise<void> {
  const {name, root} = flags
  if (!isDriverName(name)) {
    throw invalid(`invalid driver name ${JSON.stringify(name)}: a name starts with a letter or digit and contains only letters, digits, "_", "." and "-"`)
  }
  // The HTTP server and the FFI load only here, so other commands start fast.
  const {serve, defaultSocketPath, stderrLogger} = await import('../plugin/index.js')
  const logger = stderrLogger(flags.logLevel)
  process.on('unhandledRejection', (reason) => logger.error(`unhandled rejection: ${(reason as Error)?.stack ?? String(reason)}`))
  const socket = flags.socket ?? defaultSocketPath(name)
  await serve({name, socket, root, logger, onReady: () => process.stdout.write(`listening on ${socket}\n`)})
}
