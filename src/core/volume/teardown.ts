import {rmdirSync, rmSync} from 'node:fs'

import {DotError, errnoCode} from '../errors.js'
import {overlayMountedOn} from '../kernel/overlays.js'
import type {StoreContext} from './context.js'

/** EBUSY on unmount is retried this many times before the overlay is detached lazily. */
const UNMOUNT_BUSY_RETRIES = 3

/**
 * Unmounts every overlay stacked on the volume's mountpoint. "Not mounted" counts as done; EBUSY is
 * retried, then (with `detachIfBusy`) the overlay is detached. Then `mountpoint/` and `workdir/` are
 * removed, unless `keepDirs` (an unmount: the next mount reuses them); a detached overlay's workdir
 * is always kept. Caller must hold the volume's lock and have removed the records.
 */
export async function teardown(ctx: StoreContext, name: string, options: {detachIfBusy: boolean; keepDirs?: boolean}): Promise<void> {
  const mountpoint = ctx.layout.mountpoint(name)
  let detached = false
  for (let attempt = 0; ; attempt++) {
    // Checked again after each unmount: overlays can be stacked on the mountpoint.
    if (!overlayMountedOn(mountpoint)) break
    const mounter = await ctx.mounter()
    try {
      await mounter.unmount(mountpoint, {detach: detached})
    } catch (err) {
      const code = errnoCode(err)
      // EINVAL: not (or no longer) a mount point; checked again, bounded by the attempt count.
      if ((code === 'EINVAL' || code === 'ENOENT') && attempt <= UNMOUNT_BUSY_RETRIES + 2) continue
      if (code !== 'EBUSY' || attempt > UNMOUNT_BUSY_RETRIES + 2) {
        throw new DotError('busy', `unmounting volume "${name}": ${(err as Error).message}`, {name}, {cause: err})
      }
      if (attempt >= UNMOUNT_BUSY_RETRIES) {
        if (!options.detachIfBusy) throw new DotError('busy', `volume "${name}" is busy: its mountpoint is in use`, {name})
        ctx.logger.warn(`volume "${name}": mountpoint busy, detaching the overlay lazily`)
        detached = true
      } else {
        await new Promise((resolve) => setTimeout(resolve, 20 * (attempt + 1)))
      }
    }
  }
  if (options.keepDirs && !detached) return
  // rmdir, never rm -r: if anything were still mounted there it fails instead of deleting through it.
  try {
    rmdirSync(mountpoint)
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') ctx.logger.warn(`volume "${name}": leaving ${mountpoint}: ${(err as Error).message}`)
  }
  // A detached overlay may still be alive in some namespace and use its workdir: keep it then.
  if (!detached) rmSync(ctx.layout.workdir(name), {recursive: true, force: true})
}
