import {statfsSync, statSync} from 'node:fs'
import path from 'node:path'

/** OVERLAYFS_SUPER_MAGIC, include/uapi/linux/magic.h. */
const OVERLAYFS_SUPER_MAGIC = 0x794c7630

/**
 * Whether an overlay is mounted on `mountpoint`, in three syscalls: the directory sits on another
 * device than its parent (it is a mount point) and that filesystem is overlayfs (an overlay's
 * directories always report the overlay's own device). The same answer as looking the path up in
 * /proc/self/mountinfo, which the kernel renders line by line for every mount in the namespace: about
 * 8 µs a mount, 1.7 ms with 200 volumes mounted, on every Get, Mount and Unmount.
 */
export function overlayMountedOn(mountpoint: string): boolean {
  try {
    if (statSync(mountpoint).dev === statSync(path.dirname(mountpoint)).dev) return false
    return statfsSync(mountpoint).type === OVERLAYFS_SUPER_MAGIC
  } catch {
    return false // no mountpoint directory: nothing mounted there
  }
}
