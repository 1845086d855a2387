import {closeSync, lstatSync} from 'node:fs'
import path from 'node:path'

import {removeTree} from '../disk/deep-tree.js'
import {CHANGE_SCRATCH_OPS, CREATE_SCRATCH_PREFIX, RECOVER_SCRATCH_PREFIX} from '../disk/layout.js'
import {validateName} from '../disk/names.js'
import {tryLockDir} from '../kernel/flock.js'
import type {StoreContext} from '../volume/context.js'
import {type Finding, repair} from './finding.js'

/**
 * One scratch entry of the root. A create's `.tmp-*` and a recover's `.recover-*` are in use while
 * their maker holds the flock on them (the kernel drops it when the maker dies, however it dies):
 * such an entry is skipped, never cut short; otherwise it is swept holding that flock, so a maker
 * that starts meanwhile sees it taken. Trash is committed garbage: deleted as is. Overlays mounted
 * inside (a recover's view) are detached first: never delete through a mount.
 */
export async function sweepScratch(ctx: StoreContext, entryName: string, overlays: Map<string, number>, dryRun: boolean): Promise<Finding | undefined> {
  const full = path.join(ctx.layout.root, entryName)
  const recovering = entryName.startsWith(RECOVER_SCRATCH_PREFIX)
  const creating = entryName.startsWith(CREATE_SCRATCH_PREFIX)
  const {what, volume} = recovering ? {what: 'an interrupted recover'} : creating ? tmpOwner(ctx, entryName) : {what: 'an interrupted delete or volatile wipe'}
  let lock: number | undefined
  if (creating || recovering) {
    try {
      lock = tryLockDir(full)
    } catch {
      return undefined // gone meanwhile: renamed into place, or swept by another gc
    }
    if (lock === undefined) return undefined // in use
  }
  const sweep = async () => {
    await unmountInside(ctx, full, overlays)
    await removeTree(full)
  }
  try {
    return await repair(dryRun, {...(volume ? {volume} : {}), path: full, problem: `leftover of ${what}`, action: 'deleted'}, sweep)
  } finally {
    if (lock !== undefined) closeSync(lock)
  }
}

/** What a `.tmp-*` entry was made for: an operation on an existing volume (CHANGE_SCRATCH_OPS), else a create. */
function tmpOwner(ctx: StoreContext, entryName: string): {what: string; volume?: string} {
  const label = scratchVolumeName(entryName)
  for (const op of CHANGE_SCRATCH_OPS) {
    const volume = label?.startsWith(`${op}-`) ? label.slice(op.length + 1) : undefined
    if (volume && lstatSync(ctx.layout.volume(volume), {throwIfNoEntry: false})?.isDirectory()) return {what: `an interrupted ${op}`, volume}
  }
  return {what: 'an interrupted create', volume: label}
}

/** `.tmp-<name>-<rand>` -> name (rand is base 36, without "-"); undefined if that is no valid name. */
function scratchVolumeName(entryName: string): string | undefined {
  const body = entryName.slice(CREATE_SCRATCH_PREFIX.length, entryName.lastIndexOf('-'))
  try {
    return validateName(body)
  } catch {
    return undefined
  }
}

/** Detaches overlays mounted inside a scratch directory before it is deleted (never delete through a mount). */
async function unmountInside(ctx: StoreContext, dir: string, overlays: Map<string, number>): Promise<void> {
  for (const mountpoint of overlays.keys()) {
    if (mountpoint.startsWith(dir + '/')) await (await ctx.mounter()).unmount(mountpoint, {detach: true})
  }
}
