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
  const {serve} = await import('../plugin/serve.js')
  await serve(flags)
}
