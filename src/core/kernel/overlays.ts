import {type Stats, statfsSync, statSync} from 'node:fs'
import path from 'node:path'

import {errnoCode, wrap} from '../errors.js'
import {type MountEntry, readMountinfo} from './mountinfo.js'

/** OVERLAYFS_SUPER_MAGIC, include/uapi/linux/magic.h. */
const OVERLAYFS_SUPER_MAGIC = 0x794c7630

/*
 * Which overlays are mounted, the one question the core asks the kernel about mounts: on one path
 * (`overlayMountedOn`, a few syscalls, for Get, Mount and Unmount) or all of them below a root, with
 * how many are stacked on each mountpoint (`overlayMountsUnder`, from the mount table, for List and
 * repairs).
 */

/**
 * Whether an overlay is mounted on `mountpoint`, in three syscalls: the directory sits on another
 * device than its parent (it is a mount point) and that filesystem is overlayfs (an overlay's
 * directories always report the overlay's own device). The same answer as looking the path up in
 * the mount table, which the kernel renders line by line for every mount in the namespace.
 *
 * Only a missing path means "not mounted". Any other failure throws: answering "not mounted" for an
 * overlay we merely failed to stat would drop its users' records and stack a second overlay on it.
 */
export function overlayMountedOn(mountpoint: string): boolean {
  try {
    // No mountpoint directory (a volume never mounted): nothing mounted, and no ENOENT error built.
    const stat = statSync(mountpoint, {throwIfNoEntry: false})
    if (stat === undefined || stat.dev === statSync(path.dirname(mountpoint)).dev) return false
    return statfsSync(mountpoint).type === OVERLAYFS_SUPER_MAGIC
  } catch (err) {
    const code = errnoCode(err)
    if (code === 'ENOENT' || code === 'ENOTDIR') return false // no mountpoint directory: nothing mounted there
    throw wrap(`checking whether an overlay is mounted on ${mountpoint}`, err)
  }
}

/**
 * overlayMountedOn from lstats already taken of the mountpoint and its parent (neither a symlink, so
 * they are what stat gives): one statfs, and only when the mountpoint is a mount point.
 */
export function overlayMountedGiven(mountpoint: string, stat: Stats | undefined, parent: Stats | undefined): boolean {
  if (stat === undefined || parent === undefined || stat.dev === parent.dev) return false
  try {
    return statfsSync(mountpoint).type === OVERLAYFS_SUPER_MAGIC
  } catch (err) {
    const code = errnoCode(err)
    if (code === 'ENOENT' || code === 'ENOTDIR') return false // unmounted and removed since the lstat
    throw wrap(`checking whether an overlay is mounted on ${mountpoint}`, err)
  }
}

/** Overlays mounted below `root`: mountpoint -> how many overlays are stacked on it. */
export async function overlayMountsUnder(root: string): Promise<Map<string, number>> {
  return countOverlays(await readMountinfo(), root)
}

/** Mountpoints carrying an overlay (below `root`, if given), each with how many are stacked on it. */
export function countOverlays(entries: MountEntry[], root?: string): Map<string, number> {
  const prefix = root === undefined ? '' : root.endsWith('/') ? root : `${root}/`
  const counts = new Map<string, number>()
  for (const entry of entries) {
    if (entry.fstype === 'overlay' && entry.mountpoint.startsWith(prefix)) counts.set(entry.mountpoint, (counts.get(entry.mountpoint) ?? 0) + 1)
  }
  return counts
}
