import path from 'node:path'

import {MIN_IMAGE_SIZE, parseSize} from '../disk/size.js'
import {invalid} from '../errors.js'

/** The options a volume is created with, as `docker volume create -o key=value` passes them. */
export interface CreateOptions {
  /** Absolute path of the host directory the volume sits on (its lower layer). Never written to. */
  base: string
  /** Whether the changes are discarded at the next first mount. */
  volatile: boolean
  /** Bytes the changes may take (`size=`): they live on a file system of that size of their own. */
  size?: number
  /** Changes on a tmpfs, mounted at the first mount and gone after the last unmount (volatile only). */
  tmpfs?: boolean
}

/** `from` (a layer to seed the volume with) is handled by createVolume (core/changes), not the store. */
export const ALLOWED_OPTIONS = ['base', 'volatile', 'from', 'size', 'tmpfs'] as const
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
  const options: CreateOptions = {base: parseBase(map.base), volatile: parseVolatile(map.volatile)}
  if (map.size !== undefined) options.size = parseSize(map.size)
  if (parseVolatile(map.tmpfs, 'tmpfs')) {
    if (!options.volatile) {
      throw invalid('option "tmpfs" needs volatile=true: changes on a tmpfs are gone after the last unmount, which only a volatile volume promises', {
        option: 'tmpfs',
      })
    }
    options.tmpfs = true
  }
  if (options.size !== undefined && !options.tmpfs && options.size < MIN_IMAGE_SIZE) {
    throw invalid(`option "size" is ${JSON.stringify(map.size)}: the smallest limit is 16M (an ext4 image smaller than that is mostly its own journal and tables)`, {option: 'size'})
  }
  if (map.from !== undefined && (options.size !== undefined || options.tmpfs)) {
    throw invalid('option "from" cannot be combined with "size" or "tmpfs" yet: a layer is imported through the root\'s file system', {option: 'from'})
  }
  return options
}

export function parseVolatile(value: string | undefined, option = 'volatile'): boolean {
  if (value === undefined) return false
  const word = value.trim().toLowerCase()
  if (TRUE_WORDS.has(word)) return true
  if (FALSE_WORDS.has(word)) return false
  throw invalid(`invalid value ${JSON.stringify(value)} for option "${option}"; allowed: true, false, yes, no (any case)`, {
    option,
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
