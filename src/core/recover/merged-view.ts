import fs from 'node:fs/promises'
import path from 'node:path'

import {DotError, errnoCode, inUse, invalid, wrap} from '../errors.js'
import {type Metadata, readMetadata} from '../disk/metadata.js'
import {validateName} from '../disk/names.js'
import {readOnlyOverlayMount} from '../kernel/overlay-options.js'
import type {StoreContext} from '../volume/context.js'
import {getVolume} from '../volume/read.js'

/** Scratch entries of running recovers: `<root>/.tmp-recover-<name>-<rand>/`, swept by reconcile after a crash. */
export const RECOVER_SCRATCH_PREFIX = '.tmp-recover-'
/** The lock directory inside a recover's scratch entry; reconcile leaves the entry alone while it is fresh. */
export const SCRATCH_LOCK = '.lock'
/** proper-lockfile refreshes the lock every STALE/2; older than this, its holder is dead. */
export const SCRATCH_LOCK_STALE_MS = 10_000

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
 * Runs `task` on a read-only view of the volume: `mount -t overlay -o lowerdir=<upper>:<base>` with no
 * upper layer, so the kernel itself applies whiteouts, opaque directories and redirects, and nothing
 * can be written (the volume is not changed). The view is mounted inside a scratch entry of the root,
 * `.tmp-recover-*`, locked while in use: if this process dies, `dot gc` (and `dot serve` at start)
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
  const meta = await readMetadata(ctx.layout.metadata(name), name)
  const volume = await getVolume(ctx, name)
  const ids = Object.keys(volume.mounts)
  const wasInUse = volume.mounted || ids.length > 0
  if (wasInUse && !options.force) {
    throw inUse(
      `volume "${name}" is mounted (${ids.length} active mount${ids.length === 1 ? '' : 's'}), so its content is changing; stop the containers using it, or use --force to copy it anyway (the copy may be inconsistent)`,
      {name, mounts: volume.mounts},
    )
  }
  await checkBaseDir(name, meta.base)

  const {default: lockfile} = await import('proper-lockfile')
  const scratch = ctx.layout.scratch('tmp', `recover-${name}`)
  const dir = path.join(scratch, 'view')
  await fs.mkdir(dir, {recursive: true, mode: 0o700})
  const release = await lockfile.lock(scratch, {
    realpath: false,
    lockfilePath: path.join(scratch, SCRATCH_LOCK),
    stale: SCRATCH_LOCK_STALE_MS,
    onCompromised: (err) => ctx.logger.warn(`recover of "${name}": lock of ${scratch} compromised: ${err.message}`),
  })
  const mounter = await ctx.mounter()
  let mounted = false
  try {
    // overlayfs needs two lower layers when there is no upper; a Go volume never mounted may lack upper/.
    let upper = ctx.layout.upper(name)
    if (!(await isDir(upper))) {
      upper = path.join(scratch, 'empty')
      await fs.mkdir(upper, {mode: 0o755})
    }
    try {
      await mounter.mount(readOnlyOverlayMount(`docker-on-top-recover_${name}`, [upper, meta.base], dir))
    } catch (err) {
      throw new DotError('internal', `mounting a read-only view of volume "${name}": ${(err as Error).message}`, {name}, {cause: err})
    }
    mounted = true
    return await task({dir, scratch, meta, wasInUse})
  } finally {
    if (mounted) await unmountView(ctx, dir)
    await release().catch(() => {})
    await fs.rm(scratch, {recursive: true, force: true}).catch((err: Error) => ctx.logger.warn(`deleting ${scratch}: ${err.message} (dot gc will retry)`))
  }
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

async function checkBaseDir(name: string, base: string): Promise<void> {
  try {
    if ((await fs.stat(base)).isDirectory()) return
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') throw invalid(`base "${base}" of volume "${name}" does not exist; the volume's changes are in its upper layer only`, {name, base})
    throw wrap(`checking base "${base}" of volume "${name}"`, err)
  }
  throw invalid(`base "${base}" of volume "${name}" is not a directory`, {name, base})
}

async function isDir(p: string): Promise<boolean> {
  return fs.stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  )
}
