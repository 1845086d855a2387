import {invalid} from '../core/errors.js'
import {toDotError} from './to-dot-error.js'
import {exitCodeFor} from './exit-codes.js'

/** One failed target of a command over several names, as `--json` reports it. */
export interface TargetError {
  name: string
  code: string
  message: string
  exitCode: number
}

export interface TargetResults<T> {
  done: T[]
  errors: TargetError[]
  /** 0 when every target succeeded, else the most severe (highest) exit code among the failures. */
  exitCode: number
}

/**
 * Runs `action` on every name in order, never stopping at a failure (like `docker volume rm a b` and
 * `podman volume rm`): each target is independent, and the exit code tells the worst that happened.
 * A name given twice is processed once.
 */
export async function forEachTarget<T>(names: string[], action: (name: string) => Promise<T>): Promise<TargetResults<T>> {
  const results: TargetResults<T> = {done: [], errors: [], exitCode: 0}
  for (const name of new Set(names)) {
    try {
      results.done.push(await action(name))
    } catch (err) {
      const error = toDotError(err)
      const exitCode = exitCodeFor(error.code)
      results.errors.push({name, code: error.code, message: error.message, exitCode})
      results.exitCode = Math.max(results.exitCode, exitCode)
    }
  }
  return results
}

/**
 * The names of a command taking several (`static strict = false`, where oclif passes unknown flags
 * through as arguments): a leading "-" is a flag we do not have, refused before any target is touched.
 */
export function targetNames(positionals: string[]): string[] {
  const flags = positionals.filter((arg) => arg.startsWith('-'))
  if (flags.length > 0) throw invalid(`Nonexistent flag${flags.length === 1 ? '' : 's'}: ${flags.join(', ')}; see --help`, {flags})
  return positionals
}

/**
 * After forEachTarget: one line per failure through `warn`, the exit code set, and the `errors` of the
 * `--json` document with its top-level `error` (the most severe) when some targets failed.
 */
export function settleTargets(results: TargetResults<unknown>, warn: (message: string) => void): {errors: TargetError[]; error?: TargetError} {
  for (const error of results.errors) warn(error.message)
  process.exitCode = results.exitCode
  const worst = worstError(results.errors)
  return {errors: results.errors, ...(worst ? {error: worst} : {})}
}

/** The top-level `error` of a `--json` document when some targets failed: the most severe one. */
export function worstError(errors: TargetError[]): TargetError | undefined {
  return errors.reduce<TargetError | undefined>((worst, e) => (worst === undefined || e.exitCode > worst.exitCode ? e : worst), undefined)
}
