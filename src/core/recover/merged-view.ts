import fs from 'node:fs/promises'
import path from 'node:path'

import {closeSync} from 'node:fs'

import {type Metadata, readMetadata} from '../disk/metadata.js'
import {validateName} from '../disk/names.js'
import {busy, DotError, errnoCode, inUse, wrap} from '../errors.js'
import {tryLockDir} from '../kernel/flock.js'
import {readOnlyOverlayMount} from '../kernel/overlay-options.js'
import {checkBase} from '../volume/base-check.js'
import {ensureChangesFs} from '../volume/limit.js'
import type {StoreContext} from '../volume/context.js'
import {getVolume} from '../volume/read.js'
import {lowerLayerDirs} from '../disk/layer-index.js'
import {holdUpperShared} from './upper-guard.js'

export interface MergedView {
  /** The volume as containers last saw it: a read-only overlay of its upper layer over its base. */
  dir: string
  /** The scratch directory holding the view; free for the caller's temp files. */
  scratch: string
  meta: Metadata
  /** Whether the volume was in use when the view was made (only with `force`). */
  wasInUse: boolean
}

/**
 * Runs `task` on a read-only view of the volume: `mount -t overlay -o lowerdir=<upper>:<layers>:<base>` with no
 * upper layer, so the kernel itself applies whiteouts, opaque directories and redirects, and nothing
 * can be written (the volume is not changed). The view is mounted inside a scratch entry of the root,
 * `.recover-*`, flocked while in use: once this process dies, `dot gc` (and `dot serve` at start)
 * unmounts it and deletes the entry. Always unmounted afterwards here.
 *
 * A volume in use is refused unless `force`: its state moves while it is copied. The volume's lock is
 * not held during the copy, which can take minutes, longer than dockerd waits for a Mount.
 */
export async function withMergedView<T>(
  ctx: StoreContext,
  name: string,
  options: {force: boolean},
  task: (view: MergedView) => Promise<T>,
): Promise<T> {
  validateName(name)
  // Held until the view is gone: the volatile wipe and remove wait for it (upper-guard.ts).
  const hold = await ctx.locks.withLock(name, async () => {
    await ensureChangesFs(ctx, name, readMetadata(ctx.layout.metadata(name), name)) // a tmpfs volume not in use: no changes
    return holdUpperShared(ctx.layout.upper(name))
  })
  try {
    return await withHeldView(ctx, name, options, task)
  } finally {
    if (hold !== undefined) closeSync(hold)
  }
}

async function withHeldView<T>(ctx: StoreContext, name: string, options: {force: boolean}, task: (view: MergedView) => Promise<T>): Promise<T> {
  const meta = readMetadata(ctx.layout.metadata(name), name)
  const volume = getVolume(ctx, name)
  const ids = Object.keys(volume.mounts)
  const wasInUse = volume.mounted || ids.length > 0
  if (wasInUse && !options.force) {
    throw inUse(
      `volume "${name}" is mounted (${ids.length} active mount${ids.length === 1 ? '' : 's'}), so its content is changing; stop the containers using it, or use --force to copy it anyway (the copy may be inconsistent)`,
      {name, mounts: volume.mounts},
    )
  }
  await checkBase(meta.base, ctx.layout.root, name)
  const {scratch, lock} = await lockedScratch(ctx, name)
  const dir = path.join(scratch, 'view')
  const mounter = await ctx.mounter()
  let mounted = false
  try {
    await fs.mkdir(dir, {mode: 0o700})
    // overlayfs needs two lower layers when there is no upper; a Go volume never mounted may lack upper/.
    let upper = ctx.layout.upper(name)
    if (!(await isDir(upper))) {
      upper = path.join(scratch, 'empty')
      await fs.mkdir(upper, {mode: 0o755})
    }
    try {
      await mounter.mount(readOnlyOverlayMount(`docker-on-top-recover_${name}`, [upper, ...lowerLayerDirs(ctx.layout, name), meta.base], dir))
    } catch (err) {
      throw new DotError('internal', `mounting a read-only view of volume "${name}": ${(err as Error).message}`, {name}, {cause: err})
    }
    mounted = true
    return await task({dir, scratch, meta, wasInUse})
  } finally {
    if (mounted) await unmountView(ctx, dir)
    await fs.rm(scratch, {recursive: true, force: true}).catch((err: Error) => ctx.logger.warn(`deleting ${scratch}: ${err.message} (dot gc will retry)`))
    closeSync(lock)
  }
}

/** A new scratch entry for the view, flocked: in use for as long as this process holds it. */
async function lockedScratch(ctx: StoreContext, name: string): Promise<{scratch: string; lock: number}> {
  const scratch = ctx.layout.scratch('recover', name)
  await fs.mkdir(scratch, {mode: 0o700})
  let lock: number | undefined
  try {
    lock = tryLockDir(scratch)
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw wrap(`locking ${scratch}`, err)
  }
  // Taken or gone: a concurrent dot gc swept it between the mkdir and here.
  if (lock === undefined) throw busy(`recovering volume "${name}": a concurrent dot gc took its scratch directory; try again`, {name})
  return {scratch, lock}
}

async function unmountView(ctx: StoreContext, dir: string): Promise<void> {
  const mounter = await ctx.mounter()
  try {
    await mounter.unmount(dir)
  } catch (err) {
    // Nothing of ours still reads it; something else (a shell cd'ed into it) may. Detach then.
    if (errnoCode(err) !== 'EBUSY') throw wrap(`unmounting ${dir}`, err)
    await mounter.unmount(dir, {detach: true})
  }
}

function isDir(p: string): Promise<boolean> {
  return fs.stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  )
}
