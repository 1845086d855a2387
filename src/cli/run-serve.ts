import path from 'node:path'

import {invalid} from '../core/errors.js'
import {LOG_LEVELS, type LogLevel} from '../plugin/logger.js'
import type {ServeFlags} from '../plugin/serve.js'

export const SERVE_LOG_LEVELS = LOG_LEVELS
export type ServeLogLevel = LogLevel
export type {ServeFlags} from '../plugin/serve.js'

/**
 * Runs `dot serve` (plugin/serve.ts, where its lifecycle reads in one place) for the oclif command and
 * for the start-up path that skips oclif. The HTTP server and the FFI load only here, so other
 * commands start fast.
 */
export async function runServe(flags: ServeFlags): Promise<void> {
  checkPropagatedRoot(flags.root)
  const {serve} = await import('../plugin/serve.js')
  await serve(flags)
}

/**
 * In the managed plugin (DOT_PROPAGATED_MOUNT set by its config.json) dockerd sees only mounts made
 * below the propagatedMount: a root elsewhere would hand containers empty directories.
 */
function checkPropagatedRoot(root: string, env: NodeJS.ProcessEnv = process.env): void {
  const propagated = env.DOT_PROPAGATED_MOUNT
  if (!propagated) return
  const rel = path.relative(propagated, path.resolve(root))
  if (rel === '..' || rel.startsWith('../') || path.isAbsolute(rel)) {
    throw invalid(`root ${JSON.stringify(root)} is outside the plugin's propagatedMount ${propagated}; set DOT_ROOT to ${propagated} or a directory below it`)
  }
}
