import type {ErrorCode} from '../core/errors.js'

/**
 * Exit codes, documented in the README. Stable: scripts branch on them. A command over several targets
 * exits with the most severe code among its failures (the highest).
 */
export const EXIT_CODES: Record<ErrorCode, number> = {
  internal: 1,
  invalid: 2,
  'not-found': 3,
  exists: 4,
  'in-use': 5,
  unsupported: 6,
  busy: 7,
}

export function exitCodeFor(code: ErrorCode): number {
  return EXIT_CODES[code]
}
