import {closeSync, lstatSync} from 'node:fs'
import fs from 'node:fs/promises'

import {makeDirs} from '../disk/make-dirs.js'
import type {Metadata} from '../disk/metadata.js'
import {validateName} from '../disk/names.js'
import {checkedVolumeStats, type VolumeStats} from '../disk/planted.js'
import {createRecord, dropRecords, ensureRecordsDir, listRecordIds, readRecord, validateMountId, writeRecord} from '../disk/records.js'
import {DotError, errnoCode, invalid, wrap} from '../errors.js'
import {overlayMountedGiven} from '../kernel/overlays.js'
import {overlayMount} from '../kernel/overlay-options.js'
import {waitForRecovers} from '../recover/upper-guard.js'
import type {StoreContext} from './context.js'
import {type OpenBase, openBase} from './base-check.js'
import {ensureChangesFs, hasLimit, releaseChangesFs, trashUpperInLimit} from './limit.js'
import {teardown} from './teardown.js'
import {applyNewTop, readBaseTop, syncTop} from './top-dir.js'
import {lowerLayerDirs} from '../disk/layer-index.js'
import {finishPending} from '../snapshot/switch.js'
import {copyDirAttrs, copyTimes} from '../snapshot/tree-clone.js'

/**
 * Mounts the volume for mount ID `id` and returns the mountpoint. All users share one overlay; each ID
 * is counted, so the same ID mounted twice needs two unmounts.
 */
export async function mountVolume(ctx: StoreContext, name: string, id: string): Promise<string> {
  validateName(name)
  validateMountId(id)
  const {layout} = ctx
  return ctx.locks.withLock(name, async () => {
    const stats = checkedVolumeStats(layout, name)
    const mountpoint = layout.mountpoint(name)
    const ids = stats.activemounts ? listRecordIds(layout, name) : []
    let mounted = overlayMountedGiven(mountpoint, stats.mountpoint, stats.dir)
    if (ids.length > 0 && mounted) {
      const count = readRecord(layout, name, id)
      try {
        if (count === 0) createRecord(layout, name, id)
        else writeRecord(layout, name, id, count + 1)
      } catch (err) {
        throw wrap(`recording mount ${id} of volume "${name}"`, err)
      }
      ctx.logger.debug(`mount "${name}" id ${id}: joined the mounted overlay`)
      return mountpoint
    }
    // Read only now: joining a mounted overlay needs nothing of it (as a non-last unmount does not).
    const meta = ctx.metadata.read(layout.metadata(name), name)
    if (ids.length > 0) {
      // Records without an overlay: it was lost (a reboot, an unmount behind our back). Nobody can be
      // using it, so the records are stale; this is a first mount.
      ctx.logger.warn(`volume "${name}": dropping ${ids.length} stale mount record(s) of an overlay that is no longer mounted`)
      dropRecords(layout, name, {recreate: false})
      stats.activemounts = undefined
    }
    if (mounted && meta.volatile) {
      // An overlay without records (a failed unmount) cannot be reused by a volatile volume: its
      // changes must be wiped first. Detach it; never stack a second overlay on the same upper.
      await teardown(ctx, name, {detachIfBusy: true})
      mounted = false
    }
    if (!mounted) await mountOverlay(ctx, name, meta, await openBaseForMount(ctx, name, meta.base), stats)
    else ctx.logger.debug(`mount "${name}": reusing an overlay left mounted without records`)
    await ctx.newVolumes.durable(name)
    try {
      if (!stats.activemounts) ensureRecordsDir(layout, name)
      createRecord(layout, name, id)
    } catch (err) {
      // Without its record the overlay would be garbage; take it down now rather than leave it.
      await teardown(ctx, name, {detachIfBusy: true}).catch(() => {})
      throw wrap(`recording mount ${id} of volume "${name}"`, err)
    }
    ctx.crash('mount:after-record')
    return mountpoint
  })
}

/**
 * A first mount: the volatile wipe, the directories, the view's top, the overlay of the base opened
 * (and checked) before the wipe: a volatile volume's last changes may still be salvaged until a mount
 * succeeds. Under the volume's lock; closes `base`.
 */
async function mountOverlay(ctx: StoreContext, name: string, meta: Metadata, base: OpenBase, stats: VolumeStats): Promise<void> {
  try {
    await mountOverlayOn(ctx, name, meta, base, stats)
  } finally {
    base.close()
  }
}

/** `stats`: the volume's entries as the planted check found them (no layers/: no snapshots to read). */
async function mountOverlayOn(ctx: StoreContext, name: string, meta: Metadata, base: OpenBase, stats: VolumeStats): Promise<void> {
  const {layout} = ctx
  const mountpoint = layout.mountpoint(name)
  const {upper, workdir} = layout.changesOf(name, hasLimit(meta))
  // A snapshot operation cut off after its decision is finished first (snapshot/switch.ts).
  if (stats.layers) finishPending(ctx, name)
  const lowers = stats.layers ? lowerLayerDirs(layout, name) : []
  // Before anything is made in upper/: it must be made on the limit's file system, not below it.
  await ensureChangesFs(ctx, name, meta, {forMount: true})
  ctx.crash('mount:after-limit')
  if (meta.volatile) await wipeChanges(ctx, name, meta)
  ctx.crash('mount:after-wipe')
  // A volume created a moment ago reaches the disk before its first use: its flush (started when
  // its Create was answered) runs on while the overlay is mounted and is awaited before the record
  // and the answer (mountVolume); nothing can write into the overlay before that answer.
  ctx.newVolumes.hurry()
  // A new upper/ (wiped, or never made) takes the base's top as it is; a kept one, the base's changes.
  const fresh = !lstatSync(upper, {throwIfNoEntry: false})
  // makeDirs, not mkdir's recursive mode: a read-only root must say EROFS, not ENOENT.
  if (fresh) makeDirs(upper, 0o700)
  makeDirs(workdir, 0o700)
  makeDirs(mountpoint, 0o700)
  const top = readBaseTop(base.fd, base.stat)
  // Over snapshots a new upper/ (a volatile wipe) keeps the view's top as the newest snapshot left it.
  if (fresh && lowers.length > 0) copyTop(lowers[0], upper)
  else if (fresh) applyNewTop(upper, layout.volume(name), top, ctx.logger)
  else syncTop(upper, layout.volume(name), top, ctx.logger, stats.dir)
  ctx.crash('mount:before-mount')
  const mounter = await ctx.mounter()
  const spec = overlayMount(name, {base, layers: lowers, upper, workdir, mountpoint})
  try {
    await mounter.mount(spec)
  } catch (err) {
    await teardown(ctx, name, {detachIfBusy: true}).catch(() => {})
    if (meta.tmpfs) await releaseChangesFs(ctx, name, {detach: true}).catch(() => {})
    throw new DotError('internal', `mounting volume "${name}": ${(err as Error).message}`, {name}, {cause: err})
  }
  ctx.crash('mount:after-mount')
  ctx.logger.debug(`mount "${name}": mounted the overlay`)
}

/** The base as create would accept it (base-check.ts), or a clear refusal: nothing is mounted then. */
async function openBaseForMount(ctx: StoreContext, name: string, base: string): Promise<OpenBase> {
  return openBase(base, ctx.layout.root).catch((err: Error) => {
    throw invalid(`cannot mount volume "${name}": ${err.message}`, {name, base})
  })
}

/** The volatile wipe: the old upper layer goes to trash (renamed, so a crash keeps it sweepable). */
async function wipeChanges(ctx: StoreContext, name: string, meta: Metadata): Promise<void> {
  const {layout} = ctx
  const upper = layout.upper(name)
  const entries = await fs.readdir(upper).catch(() => undefined)
  if (entries === undefined) return
  // Renamed even when empty: an overlay detached while busy may still be alive on this upper, and
  // overlayfs only warns when a second mount shares upper/work; the fresh run must get its own.
  let trash = layout.scratch('trash', `${name}-upper`)
  const guard = await waitForRecovers(upper, name, 'the volatile wipe of its first mount') // a recover copying it ends first
  try {
    // A limit's upper moves aside on its own file system: a rename cannot leave it.
    if (hasLimit(meta)) trash = trashUpperInLimit(ctx, name)
    else await fs.rename(upper, trash)
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return
    throw wrap(`discarding the changes of volatile volume "${name}"`, err)
  } finally {
    if (guard !== undefined) closeSync(guard)
  }
  await fs.rm(layout.workdir(name), {recursive: true, force: true})
  if (entries.length > 0) ctx.logger.info(`volume "${name}" is volatile: discarded the changes of its previous use`)
  // Deleting a large upper must not hold up the mount; `close` (and gc, after a crash) finishes it.
  ctx.background.deleteTrash(trash)
}

function copyTop(from: string, upper: string): void {
  copyDirAttrs(from, upper, {overlayMarks: false})
  copyTimes(from, upper)
}
