import {invalid} from '../errors.js'

const UNITS: Record<string, number> = {'': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40}
/** ext4 with its journal needs room for itself; below this an image could hold almost nothing. */
export const MIN_IMAGE_SIZE = 16 * 2 ** 20

/**
 * Parses a size as `-o size=` takes it: a whole or decimal number, then K, M, G or T (powers of 1024,
 * any case, optionally followed by B or iB: 10G = 10g = 10GB = 10GiB); a bare number is bytes, as in
 * `docker run --memory`. Rounded down to whole 4 KiB blocks, the file system's block size.
 */
export function parseSize(value: string, option = 'size'): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?\s*$/i.exec(value)
  const allowed = 'a number with an optional unit K, M, G or T (powers of 1024; e.g. 64M, 10G, 1.5T; a bare number is bytes)'
  if (!match) {
    const unit = /^\s*-?\d+(?:\.\d+)?\s*([a-z]+)\s*$/i.exec(value)?.[1]
    const why = value.trim().startsWith('-') ? 'a size cannot be negative' : unit ? `unknown unit "${unit}"` : 'not a size'
    throw invalid(`invalid value ${JSON.stringify(value)} for option "${option}": ${why}; give ${allowed}`, {option})
  }
  const [, number, unit] = match
  const bytes = Math.floor((Number(number) * UNITS[unit.toLowerCase()]) / 4096) * 4096
  if (Number(number) === 0) throw invalid(`option "${option}" is ${JSON.stringify(value)}: a size limit must be greater than zero; give ${allowed}`, {option})
  if (bytes <= 0) throw invalid(`option "${option}" is ${JSON.stringify(value)}: less than one 4 KiB block; give ${allowed}`, {option})
  if (!Number.isSafeInteger(bytes)) throw invalid(`option "${option}" is ${JSON.stringify(value)}: too large`, {option})
  return bytes
}
