import {readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync} from 'node:fs'

import {writeFileAtomic} from './atomic-write.js'
import {errnoCode, invalid} from '../errors.js'
import type {Layout} from './layout.js'

/**
 * Mount records: `activemounts/<id>` holds `{"UsageCount": n}`. A count, not a flag, because dockerd
 * reuses a mount ID (`docker cp` into a running container, moby#47964; restarts; retried unmounts).
 * Rule: records mean use. A record is written only after the overlay is mounted, and the overlay is
 * unmounted only after the last record is removed.
 *
 * Records are read and written with synchronous calls: they are tiny files on the root's local disk,
 * each call takes a few µs, and a thread-pool round trip per call (~50-100 µs) was most of the cost of
 * a Mount or Unmount that joins or leaves an already mounted overlay.
 */
export const MOUNT_ID_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/

export function validateMountId(id: unknown): string {
  if (typeof id !== 'string' || id === '') throw invalid('mount ID is empty; give a non-empty ID')
  if (id.length > 200 || !MOUNT_ID_PATTERN.test(id)) {
    throw invalid(`invalid mount ID ${JSON.stringify(id)}: an ID starts with a letter or digit and contains only letters, digits, "_", "." and "-" (at most 200)`)
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
export async function readRecords(layout: Layout, name: string): Promise<Map<string, number>> {
  const records = new Map<string, number>()
  let ids: string[]
  try {
    ids = readdirSync(layout.activeMounts(name))
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return records
    throw err
  }
  for (const id of ids) {
    if (id.startsWith('.')) continue
    try {
      records.set(id, decodeRecord(readFileSync(layout.activeMount(name, id), 'utf8')))
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err
    }
  }
  return records
}

/** Lists the record IDs only (no reads): what mount/unmount need to decide first/last. */
export async function listRecordIds(layout: Layout, name: string): Promise<string[]> {
  try {
    return readdirSync(layout.activeMounts(name)).filter((id) => !id.startsWith('.'))
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return []
    throw err
  }
}

export async function readRecord(layout: Layout, name: string, id: string): Promise<number> {
  try {
    return decodeRecord(readFileSync(layout.activeMount(name, id), 'utf8'))
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return 0
    throw err
  }
}

/** Sets a record's count; 0 removes it. Temp + rename: a crash leaves the old count or the new. */
export async function writeRecord(layout: Layout, name: string, id: string, count: number): Promise<void> {
  if (count <= 0) {
    // unlink, not rm: fs.rm retries a refused unlink as a directory and reports a misleading ENOTDIR.
    try {
      unlinkSync(layout.activeMount(name, id))
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err
    }
    return
  }
  await writeFileAtomic(layout.activeMount(name, id), encodeRecord(count), {mode: 0o644})
}

/**
 * Writes the record of an ID that has none yet (count 1), in place: O_CREAT|O_EXCL, no temp file and
 * no rename. A crash mid-write leaves an empty or torn file, which reads as 1 (`decodeRecord`): the
 * count it was being given; a write that fails removes the file. EEXIST (a record appeared after
 * all) falls back to the atomic update.
 */
export async function createRecord(layout: Layout, name: string, id: string): Promise<void> {
  try {
    writeFileSync(layout.activeMount(name, id), encodeRecord(1), {mode: 0o644, flag: 'wx'})
  } catch (err) {
    if (errnoCode(err) !== 'EEXIST') {
      // A failed write (ENOSPC) must not leave an empty file behind: it would count as a user.
      rmSync(layout.activeMount(name, id), {force: true})
      throw err
    }
    await writeRecord(layout, name, id, (await readRecord(layout, name, id)) + 1)
  }
}
