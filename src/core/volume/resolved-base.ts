import {closeSync, constants, fstatSync, open, readlinkSync, realpathSync, type Stats} from 'node:fs'
import path from 'node:path'
import {promisify} from 'node:util'

import {checkBase, isInside} from './base-check.js'
import {invalid, wrap} from '../errors.js'

/**
 * The rule: a base is what create accepted only while it still is. Between create and a first mount
 * the path may have become a symlink (to another volume's upper layer, to the root, to /), so every
 * first mount checks it again as create does, then opens it, checks the directory it opened, and
 * mounts that open directory (`/proc/<pid>/fd/<n>`): a swap of the path after the check cannot
 * redirect the mount. Closed once the mount is made (the overlay holds its own reference).
 */
export interface OpenBase {
  /** What the base path resolved to when it was opened. */
  readonly real: string
  /** The opened directory as a lower layer for overlayfs. */
  readonly lowerdir: string
  readonly fd: number
  readonly stat: Stats
  close(): void
}

const openAsync = promisify(open)

export async function openBase(base: string, root: string): Promise<OpenBase> {
  await checkBase(base, root)
  let fd: number
  try {
    // Through the thread pool: a hung filesystem under the base stalls a worker, not the event loop.
    // A plain descriptor, not a FileHandle: it is closed by hand once the mount is made.
    fd = await openAsync(base, constants.O_RDONLY | constants.O_DIRECTORY)
  } catch (err) {
    throw wrap(`opening base ${JSON.stringify(base)}`, err)
  }
  const close = () => {
    try {
      closeSync(fd)
    } catch {
      // closed already
    }
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
