import {DotError} from '../core/errors.js'

/**
 * Classifies anything a command can throw: core errors keep their code, oclif's parse errors (unknown
 * flag, missing argument, bad flag value) are invalid input, anything else is internal.
 */
export function toDotError(err: unknown, euid: number | undefined = process.geteuid?.()): DotError {
  if (err instanceof DotError) return err.code === 'internal' && isPermissionError(err.cause) ? permissionError(err.message, err, euid) : err
  const error = err instanceof Error ? err : new Error(String(err))
  if (isParseError(error)) return new DotError('invalid', parseErrorMessage(error), {}, {cause: err})
  if (isPermissionError(error)) return permissionError(firstLine(error.message), err, euid)
  return new DotError('internal', firstLine(error.message), {}, {cause: err})
}

function isPermissionError(err: unknown): boolean {
  const code = (err as {code?: unknown} | undefined)?.code
  return code === 'EACCES' || code === 'EPERM'
}

/**
 * EACCES/EPERM on the root, a socket or a mount: for anyone but root that is running the command the
 * wrong way (invalid use, exit 2), not a bug. As root it is the system refusing (a read-only or
 * squashed file system, a security module): internal, with the message as it is.
 */
function permissionError(message: string, cause: unknown, euid: number | undefined): DotError {
  if (euid === 0) return new DotError('internal', `${message} (permission denied although running as root: see dot doctor)`, {}, {cause})
  return new DotError('invalid', `${message}: this command needs root; run it with sudo`, {needsRoot: true}, {cause})
}

function isParseError(error: Error): boolean {
  const oclif = (error as {oclif?: {exit?: number}}).oclif
  return error.name.includes('Parse') || error.constructor.name.includes('Parse') || error.name === 'NonExistentFlagsError' || oclif?.exit === 2
}

/**
 * oclif's parse errors span several lines ("The following error occurred:", a dimmed list, "See more
 * help with --help"); a human gets one line, so keep the facts and drop the furniture.
 */
export function parseErrorMessage(error: Error): string {
  const args = (error as {args?: unknown}).args
  if (error.constructor.name === 'RequiredArgsError' && Array.isArray(args)) {
    const names = args.map((a: {name?: string; description?: string}) => (a.description ? `${a.name?.toUpperCase()} (${a.description})` : a.name?.toUpperCase()))
    return `missing required argument ${names.join(', ')}; see --help`
  }
  const lines = stripAnsi(error.message)
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !/^See more help with --help$/.test(line) && !/^The following errors? occurred:$/.test(line))
  if (lines.length === 0) return firstLine(error.message)
  return `${lines.join('; ')}; see --help`
}

function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001B\[[0-9;]*m/g, '')
}

function firstLine(message: string): string {
  return message.split('\n').find((line) => line.trim() !== '')?.trim() ?? message
}
