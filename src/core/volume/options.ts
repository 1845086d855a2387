import path from 'node:path'

import {invalid} from '../errors.js'

/** The options a volume is created with, as `docker volume create -o key=value` passes them. */
export interface CreateOptions {
  /** Absolute path of the host directory the volume sits on (its lower layer). Never written to. */
  base: string
  /** Whether the changes are discarded at the next first mount. */
  volatile: boolean
}

/** `from` (a layer to seed the volume with) is handled by createVolume (core/changes), not the store. */
export const ALLOWED_OPTIONS = ['base', 'volatile', 'from'] as const
const TRUE_WORDS = new Set(['true', 'yes'])
const FALSE_WORDS = new Set(['false', 'no'])

/**
 * Parses an option map as dockerd sends it (`Opts`, possibly null, values meant to be strings).
 * Pure: whether the base exists is checked by `checkBase`, which needs the file system.
 */
export function parseCreateOptions(opts: unknown): CreateOptions {
  if (opts === null || opts === undefined) opts = {}
  if (typeof opts !== 'object' || Array.isArray(opts)) {
    throw invalid('options must be an object mapping option names to strings')
  }
  const entries = Object.entries(opts as Record<string, unknown>)
  for (const [key, value] of entries) {
    if (!(ALLOWED_OPTIONS as readonly string[]).includes(key)) {
      throw invalid(`unknown option ${JSON.stringify(key)}; allowed options are: ${ALLOWED_OPTIONS.join(', ')}`, {
        option: key,
        allowed: [...ALLOWED_OPTIONS],
      })
    }
    if (typeof value !== 'string') {
      throw invalid(`option ${JSON.stringify(key)} must be a string, got ${value === null ? 'null' : typeof value}`, {
        option: key,
      })
    }
  }
  const map = opts as Record<string, string>
  return {base: parseBase(map.base), volatile: parseVolatile(map.volatile)}
}

export function parseVolatile(value: string | undefined): boolean {
  if (value === undefined) return false
  const word = value.trim().toLowerCase()
  if (TRUE_WORDS.has(word)) return true
  if (FALSE_WORDS.has(word)) return false
  throw invalid(`invalid value ${JSON.stringify(value)} for option "volatile"; allowed: true, false, yes, no (any case)`, {
    option: 'volatile',
  })
}

function parseBase(value: string | undefined): string {
  if (value === undefined) {
    throw invalid('missing required option "base": the absolute path of the host directory to put the volume on (base=/path/to/dir)', {
      option: 'base',
    })
  }
  if (value === '') throw invalid('option "base" is empty; give the absolute path of an existing directory', {option: 'base'})
  if (value.includes('\0')) throw invalid('option "base" contains a NUL byte', {option: 'base'})
  if (!path.isAbsolute(value)) {
    throw invalid(`base ${JSON.stringify(value)} is not an absolute path; give the full path, e.g. ${path.resolve('/', value)}`, {
      option: 'base',
    })
  }
  // Keep the user's spelling (symlinks included), only tidy `//`, `/./` and a trailing slash.
  const normal = path.normalize(value)
  return normal.length > 1 && normal.endsWith('/') ? normal.slice(0, -1) : normal
}
