import path from 'node:path'

import {invalid} from '../core/errors.js'

/**
 * Builds the option map the core parses, from `dot create`'s flags: `--base`/`--volatile`, and the
 * docker-style `-o key=value` (repeatable) so an admin can pass exactly what `docker volume create -o`
 * takes. Keys are not checked here: the core refuses unknown ones, naming the allowed ones, for both
 * callers alike. A key given twice is refused rather than silently taking one of the values.
 */
export function createOptionsFromFlags(flags: {base?: string; volatile?: boolean; from?: string; size?: string; tmpfs?: boolean; opt?: string[]}): Record<string, string> {
  const options: Record<string, string> = {}
  for (const pair of flags.opt ?? []) {
    const eq = pair.indexOf('=')
    if (eq <= 0) {
      throw invalid(`option ${JSON.stringify(pair)} is not of the form key=value (e.g. -o base=/srv/data, -o volatile=true)`, {option: pair})
    }
    const key = pair.slice(0, eq)
    if (Object.hasOwn(options, key)) throw invalid(`option "${key}" is given more than once`, {option: key})
    options[key] = pair.slice(eq + 1)
  }
  if (flags.base !== undefined) {
    if (Object.hasOwn(options, 'base')) throw invalid('base is given both as --base and as -o base=; give it once', {option: 'base'})
    options.base = flags.base
  }
  if (flags.volatile) {
    if (Object.hasOwn(options, 'volatile')) throw invalid('volatile is given both as --volatile and as -o volatile=; give it once', {option: 'volatile'})
    options.volatile = 'true'
  }
  for (const key of ['size', 'tmpfs'] as const) {
    const value = flags[key]
    if (value === undefined || value === false) continue
    if (Object.hasOwn(options, key)) throw invalid(`${key} is given both as --${key} and as -o ${key}=; give it once`, {option: key})
    options[key] = String(value)
  }
  if (flags.from !== undefined) {
    if (Object.hasOwn(options, 'from')) throw invalid('from is given both as --from and as -o from=; give it once', {option: 'from'})
    options.from = path.resolve(flags.from)
  }
  return options
}
