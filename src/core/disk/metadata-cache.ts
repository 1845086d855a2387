import {lstatSync} from 'node:fs'

import {type Metadata, readMetadata} from './metadata.js'

/** How long metadata.json must have been unchanged for its parse to be reused (well over a kernel tick). */
const QUIET_MS = 50

/**
 * metadata.json parsed once per version of the file, for the paths dockerd calls on every container
 * start (Get, Mount, Unmount): an lstat instead of open, read, close and a JSON parse. A version is
 * the file's device, inode, size, mtime and ctime, so a volume removed and made again, a repair that
 * rewrites the file, or an administrator's edit is read afresh. Timestamps come from a coarse clock,
 * so a parse is kept only when the file had not changed for QUIET_MS before it was read: a later
 * change is at least a tick later and gets a newer stamp. The lstat also keeps the planted-link rule:
 * a symlink (or nothing) there goes to readMetadata, which refuses it as it always does.
 */
export class MetadataCache {
  private readonly parsed = new Map<string, {version: string; meta: Metadata}>()

  read(file: string, name: string): Metadata {
    const stat = lstatSync(file, {throwIfNoEntry: false})
    if (stat === undefined || !stat.isFile()) {
      this.parsed.delete(file)
      return readMetadata(file, name)
    }
    const version = `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}`
    const hit = this.parsed.get(file)
    if (hit?.version === version) return hit.meta
    const meta = readMetadata(file, name)
    if (Date.now() - stat.ctimeMs > QUIET_MS) this.parsed.set(file, {version, meta})
    else this.parsed.delete(file)
    return meta
  }
}
