import {closeSync} from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'

import {validateName} from '../disk/names.js'
import {tryLockDir} from '../kernel/flock.js'
import {RECOVER_SCRATCH_PREFIX, SCRATCH_LOCK, SCRATCH_LOCK_STALE_MS} from '../recover/merged-view.js'
import type {StoreContext} from '../volume/context.js'
import {type Finding, repair} from './finding.js'

/**
 * One scratch entry of the root. A recover's (`.tmp-recover-*`, with a lock inside) is left alone
 * while its lock is fresh: that recover is running. A create's `.tmp-<name>-<rand>` is swept holding
 * its flock, which the create holds from its mkdir until it renamed the entry into place: a create
 * running in another process is skipped, never cut short. Trash is committed garbage: deleted as is.
 * Overlays mounted inside (a recover's view) are detached first: never delete through a mount.
 */
export async function sweepScratch(ctx: StoreContext, entryName: string, overlays: Map<string, number>, dryRun: boolean): Promise<Finding | undefined> {
  const full = path.join(ctx.layout.root, entryName)
  const lockMtime = await fs.stat(path.join(full, SCRATCH_LOCK)).then((s) => s.mtimeMs, () => undefined)
  if (lockMtime !== undefined && Date.now() - lockMtime < SCRATCH_LOCK_STALE_MS) return undefined
  const recovering = entryName.startsWith(RECOVER_SCRATCH_PREFIX) && (lockMtime !== undefined || hasOverlayInside(full, overlays))
  const what = recovering ? 'an interrupted recover' : entryName.startsWith('.tmp-') ? 'an interrupted create' : 'an interrupted delete or volatile wipe'
  const sweep = async () => {
    await unmountInside(ctx, full, overlays)
    await fs.rm(full, {recursive: true, force: true})
  }
  const creating = entryName.startsWith('.tmp-') && !recovering
  const volume = creating ? scratchVolumeName(entryName) : undefined
  let lock: number | undefined
  if (creating) {
    try {
      lock = tryLockDir(full)
    } catch {
      return undefined // gone meanwhile: renamed into place, or swept by another gc
    }
    if (lock === undefined) return undefined // a create is building it
  }
  try {
    return await repair(dryRun, {...(volume ? {volume} : {}), path: full, problem: `leftover of ${what}`, action: 'deleted'}, sweep)
  } finally {
    if (lock !== undefined) closeSync(lock)
  }
}

/** `.tmp-<name>-<rand>` -> name (rand is base 36, without "-"); undefined if that is no valid name. */
function scratchVolumeName(entryName: string): string | undefined {
  const body = entryName.slice('.tmp-'.length, entryName.lastIndexOf('-'))
  try {
    return validateName(body)
  } catch {
    return undefined
  }
}

function hasOverlayInside(dir: string, overlays: Map<string, number>): boolean {
  return [...overlays.keys()].some((mountpoint) => mountpoint.startsWith(dir + '/'))
}

/** Detaches overlays mounted inside a scratch directory before it is deleted (never delete through a mount). */
async function unmountInside(ctx: StoreContext, dir: string, overlays: Map<string, number>): Promise<void> {
  for (const mountpoint of overlays.keys()) {
    if (mountpoint.startsWith(dir + '/')) await (await ctx.mounter()).unmount(mountpoint, {detach: true})
  }
}
