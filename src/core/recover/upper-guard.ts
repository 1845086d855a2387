import {closeSync, constants, openSync} from 'node:fs'

import {busy, errnoCode} from '../errors.js'
import {tryLockExclusive, tryLockShared} from '../kernel/flock.js'

/**
 * A recover against what deletes the upper layer it copies (the volatile wipe at a first mount, a
 * remove). Rule: a recover holds a shared flock(2) on the volume's `upper/` from before its view is
 * mounted until after it is unmounted, taken under the volume's lock (so no wipe is half done); the
 * wipe and the remove take it exclusively before they rename `upper/` away, waiting up to WAIT_MS for
 * recovers to finish, then answer busy. A recover thus never reads an upper being deleted: it ends
 * first, complete. The kernel drops the lock when its holder dies, however it dies.
 */
const WAIT_MS = 30_000
const POLL_MS = 50

/** The fd holding a shared lock on `upper` (close it to release), or undefined when there is no `upper`. */
export function holdUpperShared(upper: string): number | undefined {
  const fd = openUpper(upper)
  if (fd === undefined) return undefined
  // Under the volume's lock nobody holds it exclusively (the wipe and remove hold that lock too).
  if (tryLockShared(fd)) return fd
  closeSync(fd)
  throw busy(`the changes of this volume are being deleted; try again`)
}

/**
 * Waits until no recover reads `upper`, then returns the fd holding it exclusively (close it once
 * `upper` is renamed away), or undefined when there is no `upper`. Caller holds the volume's lock.
 */
export async function waitForRecovers(upper: string, volume: string, doing: string): Promise<number | undefined> {
  const fd = openUpper(upper)
  if (fd === undefined) return undefined
  const deadline = Date.now() + WAIT_MS
  try {
    while (!tryLockExclusive(fd)) {
      if (Date.now() > deadline) {
        throw busy(`volume "${volume}" is being recovered (dot recover); ${doing} waits until it is done and it did not finish in ${WAIT_MS / 1000} s; try again`, {name: volume})
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS))
    }
  } catch (err) {
    closeSync(fd)
    throw err
  }
  return fd
}

function openUpper(upper: string): number | undefined {
  try {
    return openSync(upper, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW)
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined
    throw err
  }
}
