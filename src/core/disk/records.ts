import {mkdirSync, readdirSync, rmSync, unlinkSync, writeFileSync} from 'node:fs'
import path from 'node:path'

import {writeFileAtomic} from './atomic-write.js'
import {errnoCode, invalid, quoted} from '../errors.js'
import type {Layout} from './layout.js'
import {makeDirs} from './make-dirs.js'
import {readRecordFile, recordIdsIn, rewriteRecord} from './record-file.js'
import {isPlainName, NAME_MAX_LENGTH} from './names.js'

/**
 * Mount records: `activemounts/<id>` holds `{"UsageCount": n}`. A count, not a flag, because dockerd
 * reuses a mount ID (`docker cp` into a running container, moby#47964; restarts; retried unmounts).
 * Rule: records mean use. A record is written only after the overlay is mounted, and the overlay is
 * unmounted only after the last record is removed.
 *
 * Records are read and written with synchronous calls: they are tiny files on the root's local disk,
 * where a thread-pool round trip per call would cost more than the call. Every change to activemounts/
 * goes through this file.
 */
/**
 * dockerd's mount IDs are 64 hex digits (moby's stringid). Only records of such IDs are dockerd's to
 * vouch for (Remove, gc --stale); a record made by hand (`dot mount --id ...`) is none of its business.
 */
const DOCKER_MOUNT_ID = /^[0-9a-f]{64}$/

export function isDockerMountId(id: string): boolean {
  return DOCKER_MOUNT_ID.test(id)
}

export function validateMountId(id: unknown): string {
  if (typeof id !== 'string') throw invalid(`mount ID must be a string, got ${quoted(id)}`)
  if (id === '') throw invalid('mount ID is empty; give a non-empty ID')
  if (!isPlainName(id)) {
    throw invalid(`invalid mount ID ${quoted(id)}: an ID starts with a letter or digit and contains only letters, digits, "_", "." and "-" (at most ${NAME_MAX_LENGTH})`)
  }
  return id
}

export function encodeRecord(count: number): string {
  return JSON.stringify({UsageCount: count}) + '\n'
}

/** A record's count. Unparseable or empty files (torn by a crash, or older formats) count as 1: in use. */
export function decodeRecord(text: string): number {
  try {
    const json = JSON.parse(text) as {UsageCount?: unknown}
    const n = json?.UsageCount
    return typeof n === 'number' && Number.isInteger(n) && n > 0 ? n : 1
  } catch {
    return 1
  }
}

/** All records of a volume, id -> count. Tolerates the volume vanishing mid-read (returns what it saw). */
export function readRecords(layout: Layout, name: string): Map<string, number> {
  const records = new Map<string, number>()
  for (const id of recordIdsIn(layout.activeMounts(name), name)) {
    try {
      records.set(id, decodeRecord(readRecordFile(layout.activeMount(name, id), name)))
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err
    }
  }
  return records
}

/** Lists the record IDs only (no reads): what mount/unmount need to decide first/last. */
export function listRecordIds(layout: Layout, name: string): string[] {
  return recordIdsIn(layout.activeMounts(name), name)
}

export function readRecord(layout: Layout, name: string, id: string): number {
  try {
    return decodeRecord(readRecordFile(layout.activeMount(name, id), name))
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return 0
    throw err
  }
}

/**
 * Sets a record's count; 0 removes it. Temp + rename: a crash leaves the old count or the new. With
 * `inPlace` (dropping a use) the existing file is rewritten instead, which needs no new space (see
 * record-file.ts): an unmount works on a full disk.
 */
export function writeRecord(layout: Layout, name: string, id: string, count: number, options: {inPlace?: boolean} = {}): void {
  if (count <= 0) {
    // unlink, not rm: fs.rm retries a refused unlink as a directory and reports a misleading ENOTDIR.
    try {
      unlinkSync(layout.activeMount(name, id))
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err
    }
    return
  }
  if (options.inPlace) rewriteRecord(layout.activeMount(name, id), name, encodeRecord(count))
  else writeFileAtomic(layout.activeMount(name, id), encodeRecord(count), {mode: 0o644})
}

/**
 * Writes the record of an ID that has none yet (count 1), in place: O_CREAT|O_EXCL, no temp file and
 * no rename. A crash mid-write leaves an empty or torn file, which reads as 1 (`decodeRecord`): the
 * count it was being given; a write that fails removes the file. EEXIST (a record appeared after
 * all) falls back to the atomic update.
 */
export function createRecord(layout: Layout, name: string, id: string): void {
  try {
    writeFileSync(layout.activeMount(name, id), encodeRecord(1), {mode: 0o644, flag: 'wx'})
  } catch (err) {
    if (errnoCode(err) !== 'EEXIST') {
      // A failed write (ENOSPC) must not leave an empty file behind: it would count as a user.
      rmSync(layout.activeMount(name, id), {force: true})
      throw err
    }
    writeRecord(layout, name, id, readRecord(layout, name, id) + 1)
  }
}

/**
 * Drops every record of a volume at once (records without an overlay, a forced remove): activemounts/
 * goes, with any temp file of an interrupted write, and comes back empty unless `recreate` is false.
 */
export function dropRecords(layout: Layout, name: string, options: {recreate?: boolean} = {}): void {
  rmSync(layout.activeMounts(name), {recursive: true, force: true})
  if (options.recreate ?? true) mkdirSync(layout.activeMounts(name), {mode: 0o755})
}

/** Makes activemounts/ if it is missing (a Go volume, or one whose records were dropped). */
export function ensureRecordsDir(layout: Layout, name: string): void {
  makeDirs(layout.activeMounts(name), 0o755) // EROFS on a read-only root, not mkdir -p's ENOENT
}

/** Whether activemounts/ holds nothing at all, no record and no temp file (or does not exist). */
export function hasNoRecordFiles(layout: Layout, name: string): boolean {
  try {
    return readdirSync(layout.activeMounts(name)).length === 0
  } catch (err) {
    return errnoCode(err) === 'ENOENT'
  }
}

/** The temp files of interrupted record writes (`.<id>.*`, see writeFileAtomic). */
export function recordTempFiles(layout: Layout, name: string): string[] {
  const dir = layout.activeMounts(name)
  try {
    return readdirSync(dir)
      .filter((n) => n.startsWith('.'))
      .map((n) => path.join(dir, n))
  } catch {
    return []
  }
}

/** Deletes one temp file of an interrupted record write. */
export function deleteRecordTempFile(file: string): void {
  rmSync(file, {force: true})
}
