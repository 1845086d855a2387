import {readFileSync} from 'node:fs'
import fs from 'node:fs/promises'

/** One line of /proc/self/mountinfo (proc(5)), with the escaped fields decoded. */
export interface MountEntry {
  id: number
  parentId: number
  /** The filesystem's device, `major:minor`: one overlay has one, in every namespace that holds it. */
  dev: string
  root: string
  mountpoint: string
  options: string
  fstype: string
  source: string
  superOptions: string
}

/** The kernel writes space, tab, newline and backslash in paths as 3-digit octal escapes (\040 ...). */
export function unescapeMountinfo(field: string): string {
  if (!field.includes('\\')) return field
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)))
}

export function parseMountinfo(text: string): MountEntry[] {
  const entries: MountEntry[] = []
  for (const line of text.split('\n')) {
    if (line === '') continue
    const fields = line.split(' ')
    // Optional fields (shared:N, master:N, ...) run up to a lone "-".
    const dash = fields.indexOf('-', 6)
    if (fields.length < 10 || dash < 0) continue
    entries.push({
      id: Number(fields[0]),
      parentId: Number(fields[1]),
      dev: fields[2],
      root: unescapeMountinfo(fields[3]),
      mountpoint: unescapeMountinfo(fields[4]),
      options: fields[5],
      fstype: fields[dash + 1],
      source: unescapeMountinfo(fields[dash + 2]),
      superOptions: fields[dash + 3] ?? '',
    })
  }
  return entries
}

/** Up to this many mounts, the table is read synchronously (see readMountinfo). */
const SYNC_READ_MAX_ENTRIES = 500
/** How many entries the last read found: a hint for the next read, per file. */
const lastSize = new Map<string, number>()

/**
 * Reads the mount table. The kernel renders it as it is read (CPU only, no disk), so a small table is
 * read synchronously, cheaper than the thread-pool round trips of fs.readFile; a large one (many
 * containers) goes through the thread pool, so that rendering it does not hold up other requests.
 */
export async function readMountinfo(file = '/proc/self/mountinfo'): Promise<MountEntry[]> {
  const small = (lastSize.get(file) ?? 0) <= SYNC_READ_MAX_ENTRIES
  const entries = parseMountinfo(small ? readFileSync(file, 'utf8') : await fs.readFile(file, 'utf8'))
  lastSize.set(file, entries.length)
  return entries
}
