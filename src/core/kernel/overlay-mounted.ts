import {statfsSync, statSync} from 'node:fs'
import path from 'node:path'

import {errnoCode, wrap} from '../errors.js'

/** OVERLAYFS_SUPER_MAGIC, include/uapi/linux/magic.h. */
const OVERLAYFS_SUPER_MAGIC = 0x794c7630

/**
 * Whether an overlay is mounted on `mountpoint`, in three syscalls: the directory sits on another
 * device than its parent (it is a mount point) and that filesystem is overlayfs (an overlay's
 * directories always report the overlay's own device). The same answer as looking the path up in
 * /proc/self/mountinfo, which the kernel renders line by line for every mount in the namespace: about
 * 8 µs a mount, 1.7 ms with 200 volumes mounted, on every Get, Mount and Unmount.
 *
 * Only a missing path means "not mounted". Any other failure throws: answering "not mounted" for an
 * overlay we merely failed to stat would drop its users' records and stack a second overlay on it.
 */
export function overlayMountedOn(mountpoint: string): boolean {
  try {
    if (statSync(mountpoint).dev === statSync(path.dirname(mountpoint)).dev) return false
    return statfsSync(mountpoint).type === OVERLAYFS_SUPER_MAGIC
  } catch (err) {
    const code = errnoCode(err)
    if (code === 'ENOENT' || code === 'ENOTDIR') return false // no mountpoint directory: nothing mounted there
    throw wrap(`checking whether an overlay is mounted on ${mountpoint}`, err)
  }
}
