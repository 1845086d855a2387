import {type Stats, lstatSync} from 'node:fs'

import {invalid} from '../errors.js'
import type {Layout} from './layout.js'

/**
 * The rule: nothing follows a symbolic link planted inside the root. Every entry docker-on-top reads,
 * writes, mounts on or deletes in the root is a directory or file of its own; a symlink where one
 * should be (a volume directory, metadata.json, activemounts/, upper/, workdir/, mountpoint/, layers/ and each
 * snapshot layer in it, .locks/,
 * a scratch entry) is reported and never followed nor acted on: operations on that volume are refused
 * with its path, and start-up and `dot gc` list it and leave it alone for an administrator to remove.
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
  checkedVolumeStats(layout, name)
}

/**
 * assertNothingPlanted that also hands back the lstats of the volume directory and its mountpoint
 * (undefined: missing), so that a read can tell whether something is mounted without stating them again.
 */
export function checkedVolumeStats(layout: Layout, name: string): {dir?: Stats; mountpoint?: Stats} {
  const dir = layout.volume(name)
  const stats: {dir?: Stats; mountpoint?: Stats} = {}
  for (const entry of ['', ...VOLUME_ENTRIES]) {
    const p = entry === '' ? dir : `${dir}/${entry}`
    const stat = lstatSync(p, {throwIfNoEntry: false})
    if (stat?.isSymbolicLink()) throw plantedError(name, p)
    if (entry === '') stats.dir = stat
    else if (entry === 'mountpoint') stats.mountpoint = stat
  }
  return stats
}

export function plantedError(name: string, planted: string) {
  return invalid(`volume "${name}": ${planted} is a symbolic link; docker-on-top never follows a link inside its root, so it leaves the volume alone: replace the link with what belongs there, or remove it by hand`, {name, path: planted})
}
