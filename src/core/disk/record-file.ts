import {closeSync, constants, type Dirent, fstatSync, ftruncateSync, openSync, readdirSync, readSync, type Stats, writeSync} from 'node:fs'
import path from 'node:path'

import {DotError, errnoCode} from '../errors.js'

/**
 * How a mount record file is opened. Rules:
 * - Never block, never follow: O_NONBLOCK|O_NOFOLLOW. A FIFO planted at activemounts/<id> would
 *   otherwise block the open until a writer came, and records are read synchronously, so it would
 *   freeze `dot serve` whole; a symlink would be read through, out of the root.
 * - Only a regular file is a record. Anything else (FIFO, directory, socket, device, symlink) is
 *   refused with a message naming the volume and the path (`NotARecordError`); `dot gc` reports it.
 * - Dropping a use rewrites the count in place (`rewriteRecord`): one pwrite into the file's existing
 *   block, so it needs no new space and works on a full disk. A process killed around it leaves the
 *   old count or the new (one write(2)); records do not outlive a reboot (start-up drops them).
 */
const READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW
const WRITE_FLAGS = constants.O_WRONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW

/** A mount record that is not a regular file. */
export class NotARecordError extends DotError {
  constructor(
    readonly volume: string,
    readonly file: string,
    readonly kind: string,
  ) {
    super('internal', `volume "${volume}": mount record ${file} is ${kind}, not a regular file; move it away (dot gc reports it)`, {name: volume, path: file})
    this.name = 'NotARecordError'
  }
}

/** What a non-regular entry is, for messages: "a FIFO", "a directory", ... */
export function entryKind(stat: Stats | Dirent): string {
  if (stat.isFIFO()) return 'a FIFO'
  if (stat.isDirectory()) return 'a directory'
  if (stat.isSymbolicLink()) return 'a symlink'
  if (stat.isSocket()) return 'a socket'
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return 'a device'
  return 'not a file'
}

/**
 * The record IDs in `dir` (activemounts/), temp files (".*") left out; a missing `dir` has none. An
 * entry that is not a regular file is refused (d_type from the listing: no extra call).
 */
export function recordIdsIn(dir: string, volume: string): string[] {
  let entries: Dirent[]
  try {
    entries = readdirSync(dir, {withFileTypes: true})
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return []
    throw err
  }
  const odd = entries.find((entry) => !entry.name.startsWith('.') && !entry.isFile())
  if (odd) throw new NotARecordError(volume, path.join(dir, odd.name), entryKind(odd))
  return entries.filter((entry) => !entry.name.startsWith('.')).map((entry) => entry.name)
}

/** The entries of `dir` that are not regular files, for `dot gc` to report; none if `dir` cannot be read. */
export function oddRecordEntries(dir: string): {path: string; kind: string}[] {
  try {
    return readdirSync(dir, {withFileTypes: true})
      .filter((entry) => !entry.isFile())
      .map((entry) => ({path: path.join(dir, entry.name), kind: entryKind(entry)}))
  } catch {
    return []
  }
}

/** The record's text; a missing file throws ENOENT as fs does. */
export function readRecordFile(file: string, volume: string): string {
  const fd = openRecord(file, volume, READ_FLAGS)
  try {
    const buffer = Buffer.alloc(4096) // a record is ~20 bytes; anything longer is not one of ours
    const n = readSync(fd, buffer, 0, buffer.length, 0)
    return buffer.subarray(0, n).toString('utf8')
  } finally {
    closeSync(fd)
  }
}

/**
 * Replaces the record's text in place (see the rules): `text` is padded with spaces to the old length
 * (JSON allows trailing whitespace, so Go's reader is content too), then the file is cut to length.
 */
export function rewriteRecord(file: string, volume: string, text: string): void {
  const fd = openRecord(file, volume, WRITE_FLAGS)
  try {
    const size = fstatSync(fd).size
    const body = text.endsWith('\n') ? text.slice(0, -1) : text
    const padded = Buffer.from(body.padEnd(Math.max(size - 1, body.length), ' ') + '\n', 'utf8')
    writeSync(fd, padded, 0, padded.length, 0)
    if (padded.length < size) ftruncateSync(fd, padded.length)
  } finally {
    closeSync(fd)
  }
}

function openRecord(file: string, volume: string, flags: number): number {
  let fd: number
  try {
    fd = openSync(file, flags)
  } catch (err) {
    const code = errnoCode(err)
    if (code === 'ELOOP') throw new NotARecordError(volume, file, 'a symlink')
    if (code === 'EISDIR') throw new NotARecordError(volume, file, 'a directory')
    throw err
  }
  const stat = fstatSync(fd)
  if (!stat.isFile()) {
    closeSync(fd)
    throw new NotARecordError(volume, file, entryKind(stat))
  }
  return fd
}
