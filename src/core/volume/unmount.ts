import {validateName} from '../disk/names.js'
import {checkedVolumeStats} from '../disk/planted.js'
import {listRecordIds, readRecord, readRecords, validateMountId, writeRecord} from '../disk/records.js'
import {DotError, wrap} from '../errors.js'
import {overlayMountedOn} from '../kernel/overlays.js'
import type {StoreContext} from './context.js'
import {releaseChangesFs} from './limit.js'
import {teardown} from './teardown.js'

/** What an unmount found and left: whether `id` was mounted, and the volume's state afterwards. */
export interface UnmountResult {
  wasMounted: boolean
  /** Whether the overlay is still mounted (other IDs use it, or it was left mounted busy). */
  mounted: boolean
  /** The mount IDs left and their counts. */
  mounts: Record<string, number>
}

/**
 * Drops one use of mount ID `id`; the last use of the last ID unmounts the overlay. An ID that is not
 * mounted is a success (dockerd retries unmounts, docs/plugin-protocol.md §9.4). The result is read under the
 * same lock, so it is the state this unmount left, not one a concurrent mount made.
 */
export async function unmountVolume(ctx: StoreContext, name: string, id: string): Promise<UnmountResult> {
  return underVolumeLock(ctx, name, id, async () => {
    const {layout} = ctx
    const wasMounted = readRecord(layout, name, id) > 0
    await dropUse(ctx, name, id)
    const mounts = Object.fromEntries([...readRecords(layout, name)].sort(([a], [b]) => a.localeCompare(b)))
    return {wasMounted, mounted: overlayMountedOn(layout.mountpoint(name)), mounts}
  })
}

/**
 * The same unmount without reading the state back: what the plugin needs (dockerd's answer is empty).
 * Reading every record back after each of N concurrent Unmounts made a storm of them quadratic.
 */
export async function dropMountUse(ctx: StoreContext, name: string, id: string): Promise<void> {
  return underVolumeLock(ctx, name, id, () => dropUse(ctx, name, id))
}

async function underVolumeLock<T>(ctx: StoreContext, name: string, id: string, fn: () => Promise<T>): Promise<T> {
  validateName(name)
  validateMountId(id)
  return ctx.locks.withLock(name, async () => {
    checkedVolumeStats(ctx.layout, name) // metadata.json is read opened with O_NOFOLLOW
    return fn()
  })
}

/** The unmount itself, under the volume's lock. */
async function dropUse(ctx: StoreContext, name: string, id: string): Promise<void> {
  const {layout} = ctx
  const count = readRecord(layout, name, id)
  if (count === 0) {
    ctx.logger.debug(`unmount "${name}" id ${id}: not mounted under this ID; nothing to do`)
    return
  }
  // The last use: the metadata decides how to take the overlay down, and is read before anything
  // changes, so a volume whose metadata cannot be read refuses with its records as they were.
  const last = count === 1 && listRecordIds(layout, name).every((other) => other === id)
  const meta = last ? ctx.metadata.read(layout.metadata(name), name) : undefined
  try {
    writeRecord(layout, name, id, count - 1, {inPlace: true})
  } catch (err) {
    throw wrap(`unmounting volume "${name}": updating the record of mount ${id}`, err)
  }
  ctx.crash('unmount:after-record')
  if (meta === undefined) return
  // Busy (a shell or a stray process still inside): a volatile volume's overlay is detached, as its
  // next first mount starts on a fresh upper anyway. A normal volume's stays mounted without records:
  // detached, it would stay alive on the same upper and workdir as the next mount's overlay. Left
  // mounted, the next mount reuses it and `dot gc` unmounts it once free. Either way the unmount
  // succeeds: nobody uses the volume any more. mountpoint/ and workdir/ stay for the next mount, as
  // Docker's overlay2 keeps a layer's work/ (overlayfs empties work/ itself at mount).
  try {
    await teardown(ctx, name, {detachIfBusy: meta.volatile, keepDirs: true})
  } catch (err) {
    if (meta.volatile || !(err instanceof DotError && err.code === 'busy')) throw err
    ctx.logger.warn(`${err.message}; left mounted with no users (the next mount reuses it, dot gc unmounts it once free)`)
    ctx.crash('unmount:after-unmount')
    return
  }
  if (meta.tmpfs) {
    // The changes of a tmpfs volume end with its last use (detached if busy: tmpfs is always volatile).
    ctx.crash('unmount:before-tmpfs')
    await releaseChangesFs(ctx, name, {detach: true})
  }
  ctx.crash('unmount:after-unmount')
}
