import {readFileSync, readSync} from 'node:fs'

/** One read fits the files docker-on-top writes (metadata, snapshot index); larger ones are read whole. */
const ONE_READ_BYTES = 16 * 1024

/**
 * The text of the small file open as `fd`, from its start: one read(2) where readFileSync makes two
 * (the second to see the end), on the paths every Get and Mount takes.
 */
export function readSmallFile(fd: number): string {
  const buffer = Buffer.allocUnsafe(ONE_READ_BYTES)
  const n = readSync(fd, buffer, 0, ONE_READ_BYTES, 0)
  if (n < ONE_READ_BYTES) return buffer.toString('utf8', 0, n)
  return readFileSync(fd, 'utf8') // from the file position, which the positioned read left at 0
}
