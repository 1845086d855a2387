import {closeSync, constants, fstatSync, openSync, readlinkSync, realpathSync, type Stats} from 'node:fs'
import path from 'node:path'

import {checkBase, isInside} from './base-check.js'
import {reachableBase} from './host-paths.js'
import {invalid, wrap} from '../errors.js'

/**
 * The rule: a base is what create accepted only while it still is. Between create and a first mount
 * the path may have become a symlink (to another volume's upper layer, to the root, to /), so every
 * first mount checks it again as create does, then opens it, checks the directory it opened, and
 * mounts that open directory (its fd through the new mount API, `/proc/<pid>/fd/<n>` for mount(2)):
 * a swap of the path after the check cannot redirect the mount. Closed once the mount is made (the
 * overlay holds its own reference).
 */
export interface OpenBase {
  /** What the base path resolved to when it was opened. */
  readonly real: string
  /** The opened directory as a lower layer in mount(2)'s option string. */
  readonly lowerdir: string
  readonly fd: number
  readonly stat: Stats
  close(): void
}

export async function openBase(base: string, root: string): Promise<OpenBase> {
  await checkBase(base, root)
  let fd: number
  try {
    // Synchronous, as checkBase's own calls after its stat answered through the thread pool (a hung
    // filesystem would have stalled a worker there). A plain descriptor, closed by hand after the mount.
    fd = openSync(reachableBase(base), constants.O_RDONLY | constants.O_DIRECTORY)
  } catch (err) {
    throw wrap(`opening base ${JSON.stringify(base)}`, err)
  }
  let open = true
  // Once only: a second close could close a descriptor that reused the number meanwhile.
  const close = () => {
    if (open) closeSync(fd)
    open = false
  }
  try {
    const real = readlinkSync(`/proc/self/fd/${fd}`)
    let realRoot: string
    try {
      realRoot = realpathSync.native(root)
    } catch {
      realRoot = path.resolve(root)
    }
    // Checked again on what was opened: the path may have been swapped after checkBase looked at it.
    if (isInside(real, realRoot) || isInside(realRoot, real)) {
      throw invalid(`base ${JSON.stringify(base)} now resolves to ${real}, which overlaps the docker-on-top root ${realRoot}`, {base})
    }
    // A /proc/<pid> path rather than /proc/self: mount(8), the fallback mounter, runs in a child process.
    return {real, lowerdir: `/proc/${process.pid}/fd/${fd}`, fd, stat: fstatSync(fd), close}
  } catch (err) {
    close()
    throw err
  }
}
