import {DotError} from '../core/errors.js'

/**
 * Classifies anything a command can throw: core errors keep their code, oclif's parse errors (unknown
 * flag, missing argument, bad flag value) are invalid input, anything else is internal.
 */
export function toDotError(err: unknown): DotError {
  if (err instanceof DotError) return err
  const error = err instanceof Error ? err : new Error(String(err))
  if (isParseError(error)) return new DotError('invalid', firstLine(error.message), {}, {cause: err})
  const code = (error as {code?: unknown}).code
  if (code === 'EACCES' || code === 'EPERM') {
    return new DotError('internal', `${firstLine(error.message)} (are you root?)`, {}, {cause: err})
  }
  return new DotError('internal', firstLine(error.message), {}, {cause: err})
}

function isParseError(error: Error): boolean {
  const oclif = (error as {oclif?: {exit?: number}}).oclif
  return error.name.includes('Parse') || error.constructor.name.includes('Parse') || error.name === 'NonExistentFlagsError' || oclif?.exit === 2
}

function firstLine(message: string): string {
  return message.split('\n').find((line) => line.trim() !== '')?.trim() ?? message
}
