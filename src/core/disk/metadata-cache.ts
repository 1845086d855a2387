import {lstatSync} from 'node:fs'

import type {Logger} from '../logger.js'
import {type Metadata, readMetadata} from './metadata.js'

/** How long metadata.json must have been unchanged for its parse to be reused (well over a kernel tick). */
const QUIET_MS = 50
/** Parses kept at most: the oldest goes first, so names that come and go (CI volumes) never pile up. */
const MAX_ENTRIES = 16_384

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

  constructor(private readonly maxEntries = MAX_ENTRIES) {}

  /** How many parses are kept. */
  get size(): number {
    return this.parsed.size
  }

  /** `logger`: where a metadata.json lost to a power cut is warned of (readMetadata). */
  read(file: string, name: string, logger?: Pick<Logger, 'warn'>): Metadata {
    const stat = lstatSync(file, {throwIfNoEntry: false})
    if (stat === undefined || !stat.isFile()) {
      this.parsed.delete(file)
      return readMetadata(file, name, logger)
    }
    const version = `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}`
    const hit = this.parsed.get(file)
    if (hit?.version === version) return hit.meta
    const meta = readMetadata(file, name, logger)
    this.parsed.delete(file) // re-inserted last: the Map's order is the order of parsing
    if (Date.now() - stat.ctimeMs > QUIET_MS) {
      if (this.parsed.size >= this.maxEntries) this.parsed.delete(this.parsed.keys().next().value as string)
      this.parsed.set(file, {version, meta})
    }
    return meta
  }

  /** A volume removed by this process: its parse goes at once. */
  forget(file: string): void {
    this.parsed.delete(file)
  }
}
