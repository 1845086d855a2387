/**
 * The one error type of the core. Each edge maps `code` once: the CLI to an exit code, the plugin to
 * `{"Err": message}`. Messages say what was wrong and what is allowed; they are shown to users as is.
 */
export type ErrorCode = 'invalid' | 'not-found' | 'exists' | 'in-use' | 'busy' | 'unsupported' | 'internal'

export class DotError extends Error {
  readonly code: ErrorCode
  /** Extra facts for `--json` output, e.g. the volume name or the allowed values. */
  readonly details: Record<string, unknown>

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: {cause?: unknown}) {
    super(message, options)
    this.name = 'DotError'
    this.code = code
    this.details = details
  }
}

export const invalid = (message: string, details?: Record<string, unknown>) => new DotError('invalid', message, details)
export const notFound = (message: string, details?: Record<string, unknown>) => new DotError('not-found', message, details)
export const exists = (message: string, details?: Record<string, unknown>) => new DotError('exists', message, details)
export const inUse = (message: string, details?: Record<string, unknown>) => new DotError('in-use', message, details)
export const busy = (message: string, details?: Record<string, unknown>) => new DotError('busy', message, details)
export const unsupported = (message: string, details?: Record<string, unknown>) =>
  new DotError('unsupported', message, details)

export function isDotError(err: unknown): err is DotError {
  return err instanceof DotError
}

/** The errno code of a Node system error (`ENOENT`, ...), or undefined. */
export function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined
}

/** Wraps an unexpected error with a lowercase gerund context, Podman style: `mounting "v": EACCES ...`. */
export function wrap(context: string, err: unknown): DotError {
  if (err instanceof DotError) return err
  const message = err instanceof Error ? err.message : String(err)
  return new DotError('internal', `${context}: ${message}`, {}, {cause: err})
}

/** Input as a message quotes it: JSON, cut to `max` characters, so a hostile megabyte is not echoed back and logged. */
export function quoted(value: unknown, max = 80): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? typeof value)
  if (text.length <= max) return typeof value === 'string' ? JSON.stringify(value) : text
  return `${JSON.stringify(text.slice(0, max))}... (${text.length} characters)`
}
