import {DotError, type ErrorCode, wrap} from '../core/errors.js'

/** A request the plugin refuses before reaching the core: bad body, unknown endpoint. */
export class RequestError extends DotError {
  constructor(message: string) {
    super('invalid', message)
    this.name = 'RequestError'
  }
}

/** A path that is no endpoint of the protocol: 404, the status dockerd reads as "not implemented". */
export class UnknownEndpointError extends RequestError {
  constructor(message: string) {
    super(message)
    this.name = 'UnknownEndpointError'
  }
}

/**
 * The one place a failure becomes protocol: `{"Err": message}`, status 200 to dockerd (which shows the
 * message as is). Codes other than `internal` are the caller's mistake or a normal state (not found,
 * in use): logged as one line, never with a stack.
 */
export function toDotError(err: unknown): DotError {
  return err instanceof DotError ? err : wrap('internal error', err)
}

export function isUserError(code: ErrorCode): boolean {
  return code !== 'internal'
}
