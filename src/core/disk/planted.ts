import {type Stats, lstatSync} from 'node:fs'

import {invalid} from '../errors.js'
import type {Layout} from './layout.js'

/**
 * The rule: nothing follows a symbolic link planted inside the root. Every entry docker-on-top reads,
 * writes, mounts on or deletes in the root is a directory or file of its own; a symlink where one
 * should be (a volume directory, metadata.json, activemounts/, upper/, workdir/, mountpoint/, layers/
 * and each snapshot layer in it, .locks/, a scratch entry) is reported and never followed nor acted
 * on: operations on that volume are refused with its path (a read, Get, refuses for the entries it
 * reads), and start-up and `dot gc` list it and leave it alone for an administrator to remove.
 * Entries are checked with lstat under the volume's lock; files are opened with O_NOFOLLOW and the
 * lock's directory with O_NOFOLLOW|O_DIRECTORY.
 */

/** The entries of a volume that are checked, in the order they are checked. */
const VOLUME_ENTRIES = ['metadata.json', 'activemounts', 'upper', 'workdir', 'mountpoint', 'layers'] as const

/** Whether `p` is itself a symbolic link (a missing entry is not). */
export function isSymlink(p: string): boolean {
  return lstatSync(p, {throwIfNoEntry: false})?.isSymbolicLink() ?? false
}

/** The first entry of volume `name` (its directory included) that is a symbolic link, if any. */
export function plantedEntry(layout: Layout, name: string): string | undefined {
  const dir = layout.volume(name)
  if (isSymlink(dir)) return dir
  for (const entry of VOLUME_ENTRIES) {
    const p = `${dir}/${entry}`
    if (isSymlink(p)) return p
  }
  return undefined
}

/** Throws (invalid) when volume `name` has a planted symlink: nothing may act on it. */
export function assertNothingPlanted(layout: Layout, name: string): void {
  const planted = plantedEntry(layout, name)
  if (planted !== undefined) throw plantedError(name, planted)
}

/** The lstats of a volume's directory (`dir`) and entries, as the hot paths check them; undefined: missing. */
export type VolumeStats = Partial<Record<'dir' | (typeof VOLUME_ENTRIES)[number], Stats>>

/**
 * The planted check of the verbs dockerd calls (Get, Mount, Unmount): every entry but metadata.json,
 * which they read opened with O_NOFOLLOW (a link there is refused as ELOOP), handing back the lstats
 * so that they can tell whether the mountpoint is a mount point, and whether there are snapshots,
 * without stating the same paths again.
 */
export function checkedVolumeStats(layout: Layout, name: string, options: {read?: boolean} = {}): VolumeStats {
  const dir = layout.volume(name)
  const stats: VolumeStats = {}
  const dirStat = lstatSync(dir, {throwIfNoEntry: false})
  if (dirStat?.isSymbolicLink()) throw plantedError(name, dir)
  stats.dir = dirStat
  for (const entry of VOLUME_ENTRIES) {
    // A read (Get) checks what it reads; upper/ and workdir/ are only named in its answer.
    if (entry === 'metadata.json' || (options.read && (entry === 'upper' || entry === 'workdir'))) continue
    const p = `${dir}/${entry}`
    const stat = lstatSync(p, {throwIfNoEntry: false})
    if (stat?.isSymbolicLink()) throw plantedError(name, p)
    stats[entry] = stat
  }
  return stats
}

export function plantedError(name: string, planted: string) {
  return invalid(`volume "${name}": ${planted} is a symbolic link; docker-on-top never follows a link inside its root, so it leaves the volume alone: replace the link with what belongs there, or remove it by hand`, {name, path: planted})
}
