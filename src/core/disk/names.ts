import {invalid, quoted} from '../errors.js'

/** The Go original's contract. A leading [a-zA-Z0-9] means no name is a dot-entry of the root (scratch). */
export const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/
/** Longer names overflow NAME_MAX (255) once `.trash-<name>-<suffix>` is built from them. */
export const NAME_MAX_LENGTH = 200

/**
 * Whether `name` is a plain name: the one pattern for volume names, mount IDs and driver names, all of
 * which become file names (in the root, in activemounts/, under /run/docker/plugins).
 */
export function isPlainName(name: string): boolean {
  return name.length <= NAME_MAX_LENGTH && NAME_PATTERN.test(name)
}

/** Throws an `invalid` error saying what is wrong with `name`, so it can never name a path outside the root. */
export function validateName(name: unknown): string {
  if (typeof name !== 'string') throw invalid(`volume name must be a string, got ${typeof name}`)
  if (name === '') throw invalid('volume name is empty; a name matches [a-zA-Z0-9][a-zA-Z0-9_.-]*')
  if (name.includes('/')) {
    throw invalid(
      `volume name ${quoted(name)} contains "/"; a name is not a path: put the host directory in the base option (base=/path/to/dir)`,
      {name},
    )
  }
  if (name.length > NAME_MAX_LENGTH) {
    throw invalid(`volume name is ${name.length} characters long; at most ${NAME_MAX_LENGTH} are allowed`, {name})
  }
  if (!NAME_PATTERN.test(name)) {
    throw invalid(
      `invalid volume name ${quoted(name)}: a name starts with a letter or digit and contains only letters, digits, "_", "." and "-"`,
      {name},
    )
  }
  return name
}
